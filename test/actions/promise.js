// promise.js: resolves asynchronously with {done: true} and logs nothing.
function main() {
  return new Promise(resolve => setTimeout(() => resolve({ done: true }), 10));
}
