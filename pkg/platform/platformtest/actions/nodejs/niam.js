// The entry point is neither called main nor exported.
function niam(params) {
  return { entry: 'niam', n: params.n };
}
