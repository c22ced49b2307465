// /whisk.system/samples/helloPromises: invokes /whisk.system/samples/greeting
// (blocking, with the invoker's key: provide-api-key) through the openwhisk
// client the Node.js runtime bundles, and answers, through a promise, its
// greeting cut into words.
const openwhisk = require('openwhisk');

async function main(params) {
  const activation = await openwhisk().actions.invoke({
    name: '/whisk.system/samples/greeting', blocking: true, params: { name: params.name, place: params.place },
  });
  console.log('activation:', activation);
  return { lines: activation.response.result.payload.toString().split(' ') };
}
