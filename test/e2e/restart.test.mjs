// Durability: everything survives a graceful restart on the same data dir,
// a SIGTERM drains activations in flight, and an activation cut short by
// SIGKILL is reported as a whisk internal error after the restart.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HEX32, MSG, PLATFORM, annotation, createAction, pollActivation, rejectsWith, startGateway, uniqueName, waitFor,
} from './lib/gateway.mjs';

describe('restart', { timeout: 90000 }, () => {
  const gateways = [];
  after(async () => {
    for (const gw of gateways) await gw.cleanup();
  });

  test('actions and activations survive SIGTERM and a restart; in-flight work is drained', async () => {
    const gw = await startGateway();
    gateways.push(gw);
    let ow = gw.client();

    const js = uniqueName('keep-js');
    const py = uniqueName('keep-py');
    const slow = uniqueName('keep-slow');
    await createAction(ow, js, 'hello.js', { params: { name: 'Kept' }, annotations: { note: 'kept' } });
    await createAction(ow, py, 'hello.py');
    await ow.actions.update({ name: py, params: { name: 'Updated' } });
    await createAction(ow, slow, 'sleep.js');

    const blocking = await ow.actions.invoke({ name: js, blocking: true });
    assert.equal(blocking.response.status, 'success');
    const queued = await ow.actions.invoke({ name: py });
    const pyRec = await pollActivation(ow, queued.activationId);
    assert.deepEqual(pyRec.response.result, { greeting: 'Hello, Updated!' });
    const third = await ow.actions.invoke({ name: js, params: { name: 'x' }, blocking: true, result: true });
    assert.deepEqual(third, { greeting: 'Hello, x!' });

    const actionsBefore = await ow.actions.list({ limit: 200 });
    const docsBefore = {};
    for (const n of [js, py, slow]) docsBefore[n] = await ow.actions.get({ name: n });
    const activationsBefore = await ow.activations.list({ docs: true, limit: 200 });
    assert.equal(activationsBefore.length, 3);

    // in flight when SIGTERM arrives: the gateway finishes it before exiting
    const inflight = await ow.actions.invoke({ name: slow, params: { ms: 1500 } });
    assert.match(inflight.activationId, HEX32);
    await rejectsWith(ow.activations.get({ activationId: inflight.activationId }), 404, MSG.notFound);

    const exit = await gw.restart();
    assert.deepEqual(exit, { code: 0, signal: null }, `kwhisk exit after SIGTERM\n${gw.output}`);
    ow = gw.client();

    assert.deepEqual(await ow.actions.list({ limit: 200 }), actionsBefore, 'the action list is unchanged');
    for (const n of [js, py, slow]) {
      assert.deepEqual(await ow.actions.get({ name: n }), docsBefore[n], `action ${n} is unchanged`);
    }
    for (const a of activationsBefore) {
      assert.deepEqual(await ow.activations.get({ activationId: a.activationId }), a, `activation ${a.activationId}`);
    }
    const drained = await ow.activations.get({ activationId: inflight.activationId });
    assert.equal(drained.response.status, 'success', `the in-flight activation was drained: ${JSON.stringify(drained)}`);
    assert.deepEqual(drained.response.result, { slept: 1500 });

    const listAfter = await ow.activations.list({ docs: true, limit: 200 });
    assert.deepEqual(listAfter.map(a => a.activationId), [inflight.activationId, ...activationsBefore.map(a => a.activationId)]);
    assert.deepEqual(await ow.activations.list({ count: true }), { activations: 4 });

    // the restarted gateway runs the stored actions: in local mode from a
    // cold start (the runtimes ended with the gateway); on Knative on the
    // revision that ran them before, which outlives the gateway (and which
    // the restart's reconcile must leave alone), so warm
    const again = await ow.actions.invoke({ name: js, blocking: true });
    assert.deepEqual(again.response.result, { greeting: 'Hello, Kept!' });
    if (PLATFORM === 'local') {
      assert.equal(typeof annotation(again.annotations, 'initTime'), 'number', 'a fresh process after restart');
    } else if (PLATFORM === 'knative') {
      assert.equal(annotation(again.annotations, 'initTime'), undefined, 'the revision outlived the gateway: a warm run after restart');
    }
    assert.deepEqual(await ow.actions.invoke({ name: py, blocking: true, result: true }), { greeting: 'Hello, Updated!' });

    // the names are still taken, and versions keep counting
    await rejectsWith(createAction(ow, js, 'hello.js'), 409, MSG.exists);
    assert.equal((await ow.actions.update({ name: py, params: { name: 'Third' } })).version, '0.0.3');

    // a graceful stop leaves no action runtime behind
    await gw.stop();
    await waitFor(() => (gw.leftovers().length === 0 ? true : undefined),
      { timeout: 3000, what: 'action runtimes to exit with the gateway' });
  });

  test('an activation cut short by SIGKILL is a whisk internal error after restart', async () => {
    const gw = await startGateway();
    gateways.push(gw);
    let ow = gw.client();

    const slow = uniqueName('killed');
    await createAction(ow, slow, 'sleep.js');
    const done = await ow.actions.invoke({ name: slow, params: { ms: 1 }, blocking: true });
    assert.equal(done.response.status, 'success');

    const t0 = Date.now();
    const cut = await ow.actions.invoke({ name: slow, params: { ms: 60000 } });
    assert.match(cut.activationId, HEX32);
    // blocking: acknowledged with 202 after the wait, then cut short too
    const raw = await gw.request('POST', `/api/v1/namespaces/_/actions/${slow}?blocking=true&timeout=200`, { body: { ms: 60000 } });
    assert.equal(raw.status, 202, raw.text);
    const cutBlocking = raw.body;
    assert.match(cutBlocking.activationId, HEX32);
    await rejectsWith(ow.activations.get({ activationId: cut.activationId }), 404, MSG.notFound);

    const killed = await gw.kill();
    assert.equal(killed.signal, 'SIGKILL');
    // the runtimes die with the gateway
    await waitFor(() => (gw.leftovers().length === 0 ? true : undefined),
      { timeout: 5000, what: 'action runtimes to die with the gateway' });
    await gw.start();
    ow = gw.client();

    for (const id of [cut.activationId, cutBlocking.activationId]) {
      const rec = await pollActivation(ow, id, { timeout: 10000 });
      assert.equal(rec.activationId, id);
      assert.equal(rec.name, slow);
      assert.equal(rec.namespace, 'guest');
      assert.equal(rec.subject, 'guest');
      assert.equal(rec.version, '0.0.1');
      assert.equal(rec.response.status, 'whisk internal error');
      assert.equal(rec.response.success, false);
      assert.equal(typeof rec.response.result.error, 'string', JSON.stringify(rec.response));
      assert.ok(rec.start >= t0 - 1, `start ${rec.start} before the invoke (${t0})`);
      assert.ok(rec.end >= rec.start);
      assert.equal(annotation(rec.annotations, 'path'), `guest/${slow}`);
      assert.equal(typeof annotation(rec.annotations, 'kind'), 'string');
      const result = await ow.activations.result({ activationId: id });
      assert.equal(result.status, 'whisk internal error');
      assert.equal(result.success, false);
    }
    const summaries = await ow.activations.list({ name: slow });
    assert.deepEqual(summaries.map(s => s.statusCode).sort(), [0, 3, 3]);
    assert.deepEqual(await ow.activations.get({ activationId: done.activationId }), done,
      'the completed activation is intact');

    // and the gateway keeps working
    assert.deepEqual(await ow.actions.invoke({ name: slow, params: { ms: 1 }, blocking: true, result: true }), { slept: 1 });
  });
});
