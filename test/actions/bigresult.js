// bigresult.js: returns a result of about params.n bytes.
function main(params) {
  return { p: 'x'.repeat(Number(params.n) || 0) };
}
