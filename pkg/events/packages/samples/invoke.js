// /whisk.system/samples/invoke: invokes /whisk.system/utils/date (blocking,
// with the invoker's key: provide-api-key) through the openwhisk client
// the Node.js runtime bundles, logs the date it answered, and returns that
// activation.
const openwhisk = require('openwhisk');

async function main() {
  const activation = await openwhisk().actions.invoke({ name: '/whisk.system/utils/date', blocking: true });
  const date = activation && activation.response && activation.response.result && activation.response.result.date;
  if (typeof date === 'string') {
    console.log(`It is now ${date}`);
  } else {
    console.log('Could not parse date of of the response.');
  }
  return activation;
}
