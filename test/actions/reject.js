// reject.js: fails by rejecting its promise with an object.
function main() {
  return Promise.reject({ msg: 'failed activation on purpose' });
}
