function main(params) {
  console.log('hello ' + params.name);
  console.error('a line on stderr');
  return { greeting: 'Hello, ' + params.name + '!' };
}
