// greet.js: builds a greeting from params.greeting (a package parameter in
// the wskdeploy manifest) and params.name, and passes params.place along.
function main(params) {
  const greeting = params.greeting || 'Hello';
  const name = params.name || 'stranger';
  return { message: greeting + ', ' + name + '!', place: params.place || null };
}
