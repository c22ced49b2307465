// /whisk.system/samples/countdown: logs n, then invokes itself (not
// blocking) with n - 1 through the openwhisk client the Node.js runtime
// bundles, with the invoker's key (provide-api-key), until n is 0. The
// result is the next invocation's {activationId}; at 0 it is empty.
const openwhisk = require('openwhisk');

async function main(params) {
  const n = parseInt(params.n, 10);
  console.log(n);
  if (n === 0) {
    console.log('Happy New Year!');
    return {};
  }
  if (n > 0) {
    return openwhisk().actions.invoke({ name: process.env.__OW_ACTION_NAME, params: { n: n - 1 } });
  }
  return {};
}
