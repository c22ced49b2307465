// conductor.js: OpenWhisk's minimal conductor (tests/dat/actions/conductor.js).
// Errors pass on; otherwise { action, state, params, ...rest } becomes
// { action, state, params: { ...rest, ...params } }.
function main(args) {
  if (args.error) return args;
  const action = args.action;
  const state = args.state;
  const params = args.params;
  delete args.action;
  delete args.state;
  delete args.params;
  return { action, state, params: Object.assign(args, params) };
}
