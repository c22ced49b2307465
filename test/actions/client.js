// client.js: uses the openwhisk client the Node.js runtime bundles, as
// OpenWhisk's does, with the caller's key (openwhisk() with no arguments
// reads __OW_API_HOST and __OW_API_KEY: the action needs provide-api-key).
// It invokes params.target (blocking), reads that activation back, fires
// params.trigger, and returns what each answered.
const openwhisk = require('openwhisk');

async function main(params) {
  const ow = openwhisk();
  const invoked = await ow.actions.invoke({ name: params.target, blocking: true, params: { name: 'client' } });
  // A blocking invoke answers {activationId} alone when the action outlasts
  // the gateway's blocking wait; the record comes later.
  let read;
  for (let i = 0; read === undefined; i++) {
    try {
      read = await ow.activations.get({ name: invoked.activationId });
    } catch (err) {
      if (err.statusCode !== 404 || i >= 300) throw err;
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }
  const fired = await ow.triggers.invoke({ name: params.trigger, params: { name: 'trigger' } });
  return {
    invoked: invoked.activationId,
    read: { activationId: read.activationId, name: read.name, result: read.response.result },
    fired: fired.activationId,
  };
}
