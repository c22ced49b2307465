// The openwhisk npm client inside Node.js actions, as OpenWhisk's Node.js
// runtime bundles it: require('openwhisk') with no package of the action's
// own, and openwhisk() with no arguments reaching this gateway with the
// caller's key (provide-api-key).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HEX32, createAction, pollActivation, startGateway, uniqueName, waitForActivations,
} from './lib/gateway.mjs';

describe('openwhisk client in Node.js actions', { timeout: 180000 }, () => {
  let gw;
  let ow;
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
  });
  after(async () => {
    await gw?.cleanup();
  });

  test('an action invokes an action, reads its activation and fires a trigger', async () => {
    const target = uniqueName('target');
    await createAction(ow, target, 'greet.js');
    const trigger = uniqueName('trig');
    await ow.triggers.create({ name: trigger });
    const rule = uniqueName('rule');
    await ow.rules.create({ name: rule, trigger, action: target });
    const caller = uniqueName('caller');
    await createAction(ow, caller, 'client.js', { annotations: { 'provide-api-key': true } });

    const since = Date.now();
    const first = await ow.actions.invoke({ name: caller, blocking: true, params: { target, trigger } });
    const record = first.response ? first : await pollActivation(ow, first.activationId, { timeout: 120000 });
    assert.equal(record.response.success, true, JSON.stringify(record.response));
    const res = record.response.result;
    assert.match(res.invoked, HEX32);
    assert.deepEqual(res.read, {
      activationId: res.invoked, name: target, result: { message: 'Hello, client!', place: null },
    });
    assert.match(res.fired, HEX32);

    // What the action did is there for its namespace to see: the invoked
    // activation, caused by nothing (a direct invoke), the trigger's, and
    // the rule's activation of the target with the trigger's parameters.
    const invoked = await ow.activations.get({ name: res.invoked });
    assert.equal(invoked.namespace, 'guest');
    assert.deepEqual(invoked.response.result, { message: 'Hello, client!', place: null });
    const fired = await pollActivation(ow, res.fired, { timeout: 60000 });
    assert.equal(fired.name, trigger);
    const acts = await waitForActivations(ow, { name: target, since, count: 2, timeout: 120000 });
    const results = acts.map(a => a.response.result.message).sort();
    assert.deepEqual(results, ['Hello, client!', 'Hello, trigger!']);
  });

  test('with limits.concurrency 3, activations invoked at once each reach the gateway', async () => {
    // An instance may run them together (the launcher's concurrent mode),
    // each with its own __OW_* variables.
    const target = uniqueName('target');
    await createAction(ow, target, 'greet.js');
    const trigger = uniqueName('trig');
    await ow.triggers.create({ name: trigger });
    // A trigger with no active rule records no activation (204).
    await ow.rules.create({ name: uniqueName('rule'), trigger, action: target });
    const caller = uniqueName('concurrent');
    await createAction(ow, caller, 'client.js', { annotations: { 'provide-api-key': true }, limits: { concurrency: 3 } });
    const ids = await Promise.all([1, 2, 3].map(() => ow.actions.invoke({ name: caller, params: { target, trigger } })));
    for (const { activationId } of ids) {
      const record = await pollActivation(ow, activationId, { timeout: 120000 });
      assert.equal(record.response.success, true, JSON.stringify(record.response));
      assert.deepEqual(record.response.result.read.result, { message: 'Hello, client!', place: null });
      assert.match(record.response.result.fired, HEX32);
    }
  });

  test('without provide-api-key, openwhisk() finds no key', async () => {
    const caller = uniqueName('keyless');
    await createAction(ow, caller, 'client.js');
    // A failed blocking invoke is a 502 carrying the activation; a slow
    // one a 202 with its id.
    let record;
    try {
      const first = await ow.actions.invoke({ name: caller, blocking: true, params: { target: 'x', trigger: 'y' } });
      record = await pollActivation(ow, first.activationId, { timeout: 120000 });
    } catch (err) {
      assert.equal(err.statusCode, 502, err.message);
      record = err.error;
    }
    assert.equal(record.response.success, false);
    assert.equal(record.response.status, 'application error');
    assert.match(record.response.result.error.message, /Missing api_key parameter/);
  });
});
