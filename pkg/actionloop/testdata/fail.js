// An exported main that fails in the two ways OpenWhisk tells apart.
exports.main = function (params) {
  if (params.throw) throw new Error('Extraordinary exception');
  return { error: 'bad input: ' + params.input, ignored: true };
};
