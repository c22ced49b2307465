function main(params) {
  const line = 'y'.repeat(params.size);
  for (let i = 0; i < params.lines; i++) console.log(line);
  return { lines: params.lines };
}
