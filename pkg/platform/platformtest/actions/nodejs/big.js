function main(params) {
  return { s: 'x'.repeat(params.size) };
}
