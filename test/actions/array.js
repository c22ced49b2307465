// array.js: returns a JSON array instead of an object.
function main(params) {
  return ['a', 'b', { c: params.c || 3 }];
}
