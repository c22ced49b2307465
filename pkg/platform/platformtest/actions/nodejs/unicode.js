function main(params) {
  const s = params.delimiter + ' ✓ 😀 привет ' + params.delimiter;
  console.log(s);
  return { winter: s };
}
