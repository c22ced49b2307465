// slowinit.js: spins for 3 seconds while it loads, so it cannot initialize
// within a short time limit.
const until = Date.now() + 3000;
while (Date.now() < until) {
  // busy: loading takes 3 s
}
function main(params) {
  return params;
}
