// throw.js: fails with an uncaught exception (a developer error).
function main(params) {
  throw new Error('Extraordinary exception');
}
