// agate is gate.js without blocking the event loop, for activations that
// share an instance: the FIFOs are opened on libuv's thread pool.
const fs = require('fs');

async function main(params) {
  if (params.started) await fs.promises.writeFile(params.started, 'started');
  if (params.release) await fs.promises.readFile(params.release);
  return { gated: Boolean(params.release) };
}
