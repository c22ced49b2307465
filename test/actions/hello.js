// hello.js: greets params.name and writes one line to each stream.
function main(params) {
  const name = params.name || 'stranger';
  console.log('hello stdout ' + name);
  console.error('hello stderr ' + name);
  return { greeting: 'Hello, ' + name + '!' };
}
