// Activation retention: with --activation-retention, records older than it
// are deleted by the gateway itself, logs and all; newer ones stay.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MSG, createAction, rejectsWith, startGateway, uniqueName, waitFor } from './lib/gateway.mjs';

describe('activation retention', { timeout: 60000 }, () => {
  const gateways = [];
  after(async () => {
    for (const gw of gateways) await gw.cleanup();
  });

  test('records older than --activation-retention are deleted', async () => {
    const gw = await startGateway({ extraArgs: ['--activation-retention', '3s'] });
    gateways.push(gw);
    const ow = gw.client();
    const name = uniqueName('ret');
    await createAction(ow, name, 'hello.js');
    const old = await ow.actions.invoke({ name, blocking: true });
    assert.equal(old.response.status, 'success');
    // still there well within the retention
    assert.equal((await ow.activations.get({ activationId: old.activationId })).activationId, old.activationId);

    await waitFor(async () => {
      try {
        await ow.activations.get({ activationId: old.activationId });
        return undefined;
      } catch (err) {
        return err.statusCode === 404 ? true : undefined;
      }
    }, { timeout: 15000, interval: 250, what: 'the record to expire' });
    await rejectsWith(ow.activations.get({ activationId: old.activationId }), 404, MSG.notFound);
    await rejectsWith(ow.activations.logs({ activationId: old.activationId }), 404, MSG.notFound);

    const fresh = await ow.actions.invoke({ name, blocking: true });
    const list = await ow.activations.list({ name, limit: 10 });
    assert.deepEqual(list.map(a => a.activationId), [fresh.activationId], 'only the record within the retention is listed');
  });
});
