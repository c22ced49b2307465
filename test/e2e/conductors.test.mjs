// Conductor actions (WskConductorTests, ConductorsApiTests): an action
// annotated conductor:true drives a composition. No continuation, a
// continuation through components with state carried, invalid
// continuations with OpenWhisk's messages, the composition record (kind
// sequence, conductor, topmost, the ids of every run as logs) and its
// children's cause, the component limit, bindings, nesting, sequences, and
// the non-blocking and result=true forms.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HEX32, createAction, kvObject, pollActivation, startGateway, uniqueName } from './lib/gateway.mjs';

const MAX = 50; // limits.sequence_length of GET /
const CONDUCTOR = { annotations: { conductor: true } };

describe('conductors', { timeout: 240000 }, () => {
  let gw;
  let ow;
  let echo; // echo.js as a conductor: returns its input, so never continues by itself
  let conductor; // conductor.js
  let step; // step.js, n + 1
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
    echo = uniqueName('echo');
    conductor = uniqueName('conductor');
    step = uniqueName('step');
    await createAction(ow, echo, 'echo.js', CONDUCTOR);
    await createAction(ow, conductor, 'conductor.js', CONDUCTOR);
    await createAction(ow, step, 'step.js', { limits: { memory: 320 } });
  });
  after(async () => {
    await gw?.cleanup();
  });

  // invoke invokes blocking with plain fetch, so that 502s show their record.
  function invoke(name, body, query = '') {
    return gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true${query}`, { body });
  }

  // checkComposition checks a composition record as WskConductorTests'
  // checkConductorLogsAndAnnotations does, and that its children are the
  // named actions in order; it returns the children's records.
  async function checkComposition(rec, names) {
    assert.equal(rec.logs.length, names.length, `logs ${JSON.stringify(rec.logs)}`);
    const ann = kvObject(rec.annotations);
    assert.equal(ann.kind, 'sequence');
    assert.equal(ann.conductor, true);
    assert.equal(ann.topmost, rec.cause === undefined);
    assert.equal(typeof ann.waitTime, 'number');
    let total = 0;
    let memory = 0;
    const children = [];
    for (const [i, id] of rec.logs.entries()) {
      assert.match(id, HEX32);
      const child = await pollActivation(ow, id);
      assert.equal(child.name, names[i], `child ${i}`);
      assert.equal(child.cause, rec.activationId, 'a child\'s cause is the composition');
      const cann = kvObject(child.annotations);
      assert.equal(cann.causedBy, 'sequence');
      assert.equal(typeof cann.waitTime, 'number');
      total += child.duration;
      memory = Math.max(memory, cann.limits.memory);
      children.push(child);
    }
    assert.equal(rec.duration, total, 'a composition\'s duration is the sum of its children\'s');
    assert.equal(ann.limits.memory, memory, 'its memory is the largest of its children\'s');
    return children;
  }

  test('no continuation: the conductor\'s result is the result', async () => {
    let res = await invoke(echo, { payload: 'p', state: 's' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.response.result, { payload: 'p', state: 's' });
    const [own] = await checkComposition(res.body, [echo]);
    assert.equal(kvObject(own.annotations).kind, 'nodejs:20', 'the conductor\'s own run is a plain action activation');
    assert.equal(kvObject(own.annotations).conductor, undefined);

    // An error result ends the composition with it.
    res = await invoke(echo, { error: 'e' });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.body.response.status, 'application error');
    assert.deepEqual(res.body.response.result, { error: 'e' });
    await checkComposition(res.body, [echo]);

    // A wrapped result {params} is unwrapped; the other fields are dropped.
    res = await invoke(echo, { params: { payload: 'p' }, result: 'r', state: 's' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.response.result, { payload: 'p' });

    // The openwhisk client sees an ordinary action.
    const result = await ow.actions.invoke({ name: echo, blocking: true, result: true, params: { x: 1 } });
    assert.deepEqual(result, { x: 1 });
  });

  test('a continuation through two components carries state: 5 ids in the logs', async () => {
    const res = await invoke(conductor, { action: step, state: { action: step, state: { witness: 42 } }, n: 1 });
    assert.equal(res.status, 200, res.text);
    const rec = res.body;
    assert.deepEqual(rec.response.result, { n: 3, witness: 42 });
    assert.equal(rec.name, conductor);
    assert.equal(kvObject(rec.annotations).path, `guest/${conductor}`);
    const runs = await checkComposition(rec, [conductor, step, conductor, step, conductor]);
    // What each run got and gave: params to the component, its result plus
    // the state back to the conductor.
    assert.deepEqual(runs[0].response.result, { action: step, state: { action: step, state: { witness: 42 } }, params: { n: 1 } });
    assert.deepEqual(runs[1].response.result, { n: 2 });
    assert.deepEqual(runs[2].response.result, { action: step, state: { witness: 42 }, params: { n: 2 } });
    assert.deepEqual(runs[3].response.result, { n: 3 });
    assert.deepEqual(runs[4].response.result, { params: { n: 3, witness: 42 } });
    assert.equal(kvObject(rec.annotations).limits.memory, 320);

    // A component's error reaches the conductor, which passes it on.
    const failed = await invoke(conductor, { action: step });
    assert.equal(failed.status, 502, failed.text);
    assert.deepEqual(failed.body.response.result, { error: 'missing parameter' });
    await checkComposition(failed.body, [conductor, step, conductor]);
  });

  test('an invalid continuation gives OpenWhisk\'s messages', async () => {
    const ns = uniqueName('ns');
    const other = await gw.createNamespace(ns);
    const theirs = uniqueName('theirs');
    await createAction(gw.client(other), theirs, 'step.js');
    for (const [action, msg] of [
      ['invalid#Action', 'Failed to parse action name from json value "invalid#Action" during composition.'],
      [42, 'Failed to parse action name from json value 42 during composition.'],
      [{ name: step }, `Failed to parse action name from json value {"name":"${step}"} during composition.`],
      ['missingAction', 'Failed to resolve action with name \'guest/missingAction\' during composition.'],
      [`/${ns}/${theirs}`, `Failed entitlement check for action with name '${ns}/${theirs}' during composition.`],
    ]) {
      const res = await invoke(echo, { payload: 'p', action });
      assert.equal(res.status, 502, res.text);
      assert.equal(res.body.response.status, 'application error');
      assert.deepEqual(res.body.response.result, { error: msg }, JSON.stringify(action));
      // The conductor ran twice: once naming the action, once with the error.
      const runs = await checkComposition(res.body, [echo, echo]);
      assert.deepEqual(runs[1].response.result, { error: msg });
    }
  });

  test('the component limit: at most sequence_length components', async () => {
    let chain = {};
    for (let i = 0; i < MAX; i++) chain = { action: step, state: chain };
    // Non-blocking: 101 runs may outlast the blocking wait.
    const { activationId } = await ow.actions.invoke({ name: conductor, params: { ...chain, n: 0 } });
    const rec = await pollActivation(ow, activationId, { timeout: 120000 });
    assert.equal(rec.response.status, 'success', JSON.stringify(rec.response));
    assert.deepEqual(rec.response.result, { n: MAX });
    assert.equal(rec.logs.length, 2 * MAX + 1);

    const over = await ow.actions.invoke({ name: conductor, params: { action: step, state: chain, n: 0 } });
    const overRec = await pollActivation(ow, over.activationId, { timeout: 120000 });
    assert.equal(overRec.response.status, 'application error');
    assert.deepEqual(overRec.response.result, { error: 'Too many actions in the composition.' });
    // 50 components and 52 conductor runs: the 51st names a 51st
    // component, and the 52nd gets the error in its place.
    assert.equal(overRec.logs.length, 2 * MAX + 2);
    const [named, last] = await Promise.all(overRec.logs.slice(-2).map(id => pollActivation(ow, id)));
    assert.equal(named.name, conductor);
    assert.equal(named.response.result.action, step);
    assert.equal(last.name, conductor);
    assert.equal(last.cause, overRec.activationId);
    assert.deepEqual(last.response.result, { error: 'Too many actions in the composition.' });
  });

  test('a conductor reached through a package binding', async () => {
    const pkg = uniqueName('pkg');
    const bnd = uniqueName('bnd');
    await ow.packages.create({ name: pkg, package: { parameters: [{ key: 'fromPkg', value: 1 }] } });
    await ow.packages.create({ name: bnd, package: { binding: { namespace: 'guest', name: pkg }, parameters: [{ key: 'fromBinding', value: 2 }] } });
    await createAction(ow, `${pkg}/conductor`, 'conductor.js', CONDUCTOR);
    await createAction(ow, `${pkg}/step`, 'step.js');

    // The conductor names its component relative to the caller's namespace,
    // here through the binding too.
    const res = await invoke(`${bnd}/conductor`, { action: `${bnd}/step`, n: 1 });
    assert.equal(res.status, 200, res.text);
    const rec = res.body;
    assert.deepEqual(rec.response.result, { n: 2, fromPkg: 1, fromBinding: 2 }, 'the conductor inherits the binding\'s parameters');
    const ann = kvObject(rec.annotations);
    assert.equal(ann.binding, `guest/${bnd}`);
    assert.equal(ann.path, `guest/${pkg}/conductor`);
    const runs = await checkComposition(rec, ['conductor', 'step', 'conductor']);
    assert.equal(kvObject(runs[1].annotations).binding, `guest/${bnd}`);
    assert.equal(kvObject(runs[1].annotations).path, `guest/${pkg}/step`);
  });

  test('nested compositions, sequences as components, conductors in sequences', async () => {
    // A nested composition is one entry of its parent's logs.
    let res = await invoke(conductor, { action: conductor, state: { action: step }, params: { action: step }, n: 1 });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.response.result, { n: 3 });
    const outer = await checkComposition(res.body, [conductor, conductor, conductor, step, conductor]);
    assert.equal(kvObject(outer[1].annotations).conductor, true);
    assert.equal(kvObject(outer[1].annotations).topmost, false);
    await checkComposition(outer[1], [conductor, step, conductor]);

    // A sequence as a component.
    const steps = uniqueName('steps');
    await ow.actions.create({ name: steps, sequence: [`/_/${step}`, `/_/${step}`] });
    res = await invoke(conductor, { action: steps, n: 1 });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.response.result, { n: 3 });
    const runs = await checkComposition(res.body, [conductor, steps, conductor]);
    assert.equal(runs[1].logs.length, 2);

    // A conductor inside a sequence.
    const wrap = uniqueName('wrap');
    await ow.actions.create({ name: wrap, sequence: [`/_/${step}`, `/_/${conductor}`] });
    res = await invoke(wrap, { n: 1 });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.response.result, { n: 2 });
    const comp = await pollActivation(ow, res.body.logs[1]);
    assert.equal(comp.cause, res.body.activationId);
    await checkComposition(comp, [conductor]);
  });

  test('non-blocking (202, then the record) and result=true', async () => {
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${conductor}`, { body: { action: step, n: 1 } });
    assert.equal(res.status, 202, res.text);
    assert.match(res.body.activationId, HEX32);
    const rec = await pollActivation(ow, res.body.activationId);
    assert.deepEqual(rec.response.result, { n: 2 });
    await checkComposition(rec, [conductor, step, conductor]);

    const only = await invoke(conductor, { action: step, n: 1 }, '&result=true');
    assert.equal(only.status, 200, only.text);
    assert.deepEqual(only.body, { n: 2 });
    assert.equal(only.headers.get('x-openwhisk-activation-id')?.length, 32);
  });
});
