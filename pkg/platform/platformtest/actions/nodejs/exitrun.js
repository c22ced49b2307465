function main(params) {
  if (params.exit) process.exit(3);
  return { alive: true };
}
