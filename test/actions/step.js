// step.js: OpenWhisk's step action (tests/dat/actions/step.js): n + 1.
function main({ n }) {
  if (n === undefined) return { error: 'missing parameter' };
  return { n: n + 1 };
}
