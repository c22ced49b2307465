function helper(n) {
  return n * 2;
}
module.exports = { main: (params) => ({ doubled: helper(params.n) }) };
