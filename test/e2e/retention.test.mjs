// Activation retention (--activation-retention): records older than the
// retention are deleted by the gateway, records within it stay readable.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAction, pollActivation, startGateway, uniqueName, waitFor } from './lib/gateway.mjs';

describe('activation retention', { timeout: 90000 }, () => {
  let gw;
  let ow;

  before(async () => {
    gw = await startGateway({ extraArgs: ['--activation-retention', '10s'] });
    ow = gw.client();
  });
  after(async () => {
    await gw?.cleanup();
  });

  test('a record older than the retention is deleted; a newer one is kept', async () => {
    const name = uniqueName('kept-briefly');
    await createAction(ow, name, 'echo.js');
    // Warm the action first, so that no invoke below takes a good part of
    // the retention (a cold start on Knative can take seconds).
    await ow.actions.invoke({ name, blocking: true, params: { n: 0 } });
    const first = await ow.actions.invoke({ name, blocking: true, params: { n: 1 } });
    const got = await pollActivation(ow, first.activationId, { timeout: 5000 });
    assert.deepEqual(got.response.result, { n: 1 });

    // Gone once it is 10 s old: neither readable nor listed.
    await waitFor(async () => {
      const r = await gw.request('GET', `/api/v1/namespaces/_/activations/${first.activationId}`);
      return r.status === 404 ? true : undefined;
    }, { timeout: 50000, what: `activation ${first.activationId} to expire` });
    const listed = await gw.request('GET', `/api/v1/namespaces/_/activations?name=${name}`);
    assert.equal(listed.status, 200, listed.text);
    assert.ok(!listed.body.some(a => a.activationId === first.activationId), 'the expired record is not listed');

    // A record made now is within the retention.
    const second = await ow.actions.invoke({ name, blocking: true, params: { n: 2 } });
    const rec = await pollActivation(ow, second.activationId, { timeout: 5000 });
    assert.deepEqual(rec.response.result, { n: 2 });
  });
});
