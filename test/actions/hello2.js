// hello2.js: a second version of hello.js, to check that new code runs.
function main(params) {
  return { greeting: 'Hello again, ' + (params.name || 'stranger') + '!' };
}
