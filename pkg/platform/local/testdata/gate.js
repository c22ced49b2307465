// gate blocks on FIFOs the test controls: it writes to params.started when
// main begins and reads params.release before returning.
const fs = require('fs');

function main(params) {
  if (params.started) fs.writeFileSync(params.started, 'started');
  if (params.release) fs.readFileSync(params.release);
  return { gated: Boolean(params.release) };
}
