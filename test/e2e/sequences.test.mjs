// Sequences (WskSequenceTests, WskActionSequenceTests): every create check,
// chaining of results (arrays too), stop at the first error, component
// records with cause and causedBy, the sequence record (component ids as
// logs, summed duration, max memory), nesting, the runtime length check,
// packages and bindings, and the blocking wait.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HEX32, annotation, assertErrorBody, createAction, kvObject, pollActivation, rejectsWith, startGateway,
  uniqueName,
} from './lib/gateway.mjs';

const SEQ_RECORD_KEYS = ['activationId', 'annotations', 'duration', 'end', 'logs', 'name', 'namespace', 'publish',
  'response', 'start', 'subject', 'version'];
const MAX = 50; // limits.sequence_length of GET /

function params(obj) {
  return Object.entries(obj).map(([key, value]) => ({ key, value }));
}

describe('sequences', { timeout: 120000 }, () => {
  let gw;
  let ow;
  let echo;
  let split;
  let sort;
  let head;
  let cat;
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
    const info = await gw.request('GET', '/', { auth: false });
    assert.equal(info.body.limits.sequence_length, MAX);
    echo = uniqueName('echo');
    split = uniqueName('split');
    sort = uniqueName('sort');
    head = uniqueName('head');
    cat = uniqueName('cat');
    await createAction(ow, echo, 'echo.js');
    await createAction(ow, split, 'split.js');
    await createAction(ow, sort, 'sort.js', { limits: { memory: 320 } });
    await createAction(ow, head, 'head.js', { params: { num: 2 } });
    await createAction(ow, cat, 'cat.js');
  });
  after(async () => {
    await gw?.cleanup();
  });

  // putSequence PUTs a sequence with plain fetch and returns the response.
  function putSequence(name, components, overwrite = false) {
    return gw.request('PUT', `/api/v1/namespaces/_/actions/${name}?overwrite=${overwrite}`,
      { body: { exec: { kind: 'sequence', components } } });
  }

  test('split→sort→head→cat: result, logs, component records, duration and memory', async () => {
    const seq = uniqueName('seq');
    const created = await ow.actions.create({ name: seq, sequence: [`/_/${split}`, `/_/${sort}`, `/_/${head}`, `/guest/${cat}`] });
    assert.deepEqual(created.exec, {
      kind: 'sequence', binary: false,
      components: [`/guest/${split}`, `/guest/${sort}`, `/guest/${head}`, `/guest/${cat}`],
    }, '"_" resolves to the caller; components are fully qualified');
    assert.equal(annotation(created.annotations, 'exec'), 'sequence');
    assert.deepEqual(created.parameters, [{ key: '_actions', value: created.exec.components }]);
    const got = await ow.actions.get({ name: seq });
    assert.deepEqual(got.exec.components, created.exec.components);
    assert.equal(got.exec.kind, 'sequence');

    // An "error" key in the initial payload does not stop the sequence.
    const rec = await ow.actions.invoke({ name: seq, blocking: true, params: { payload: 'b\nd\na\nc', error: 'not a failure' } });
    assert.deepEqual(Object.keys(rec).sort(), SEQ_RECORD_KEYS, `topmost: no cause: ${JSON.stringify(rec)}`);
    assert.equal(rec.name, seq);
    assert.equal(rec.response.status, 'success');
    assert.deepEqual(rec.response.result, { payload: 'a\nb', lines: ['a', 'b'] });
    assert.equal(rec.logs.length, 4);
    for (const id of rec.logs) assert.match(id, HEX32);

    const ann = kvObject(rec.annotations);
    assert.equal(ann.kind, 'sequence');
    assert.equal(ann.topmost, true);
    assert.equal(ann.path, `guest/${seq}`);
    assert.equal(typeof ann.waitTime, 'number');
    assert.deepEqual(ann.limits, { timeout: 60000, memory: 320, logs: 10, concurrency: 1 }, 'memory is the components\' max');
    assert.ok(!('causedBy' in ann));

    let total = 0;
    const names = [split, sort, head, cat];
    for (const [i, id] of rec.logs.entries()) {
      const comp = await pollActivation(ow, id);
      assert.equal(comp.name, names[i]);
      assert.equal(comp.cause, rec.activationId, 'a component\'s cause is the sequence');
      const cann = kvObject(comp.annotations);
      assert.equal(cann.causedBy, 'sequence');
      assert.equal(typeof cann.waitTime, 'number');
      assert.equal(cann.path, `guest/${names[i]}`);
      assert.equal(comp.response.status, 'success');
      total += comp.duration;
    }
    assert.equal(rec.duration, total, 'a sequence\'s duration is the sum of its components\'');

    // Update to two components.
    const updated = await ow.actions.update({ name: seq, sequence: [`/_/${split}`, `/_/${cat}`] });
    assert.equal(updated.version, '0.0.2');
    assert.deepEqual(updated.exec.components, [`/guest/${split}`, `/guest/${cat}`]);
    const two = await ow.actions.invoke({ name: seq, blocking: true, params: { payload: 'x y', separator: ' ' } });
    assert.deepEqual(two.response.result, { payload: 'x\ny', lines: ['x', 'y'] });
    assert.equal(two.logs.length, 2);
  });

  test('the payload goes to the first component only; the sequence\'s own parameters are not used', async () => {
    const greet = uniqueName('greet');
    await createAction(ow, greet, 'greet.js');
    const seq = uniqueName('seq');
    const created = await ow.actions.create({ name: seq, sequence: [`/_/${greet}`, `/_/${echo}`], params: { ignored: true } });
    assert.deepEqual(created.parameters.map(p => p.key), ['_actions']);
    const res = await ow.actions.invoke({ name: seq, blocking: true, result: true, params: { name: 'Ann', extra: 1 } });
    assert.deepEqual(res, { message: 'Hello, Ann!', place: null });
  });

  test('nested sequences: the outer logs hold the inner one as one id', async () => {
    const inner = uniqueName('inner');
    await ow.actions.create({ name: inner, sequence: [`/_/${sort}`, `/_/${head}`] });
    const outer = uniqueName('outer');
    await ow.actions.create({ name: outer, sequence: [`/_/${split}`, `/_/${inner}`, `/_/${cat}`] });
    const rec = await ow.actions.invoke({ name: outer, blocking: true, params: { payload: 'z\ny\nx' } });
    assert.deepEqual(rec.response.result, { payload: 'x\ny', lines: ['x', 'y'] });
    assert.equal(rec.logs.length, 3);
    const innerRec = await pollActivation(ow, rec.logs[1]);
    assert.equal(innerRec.name, inner);
    assert.equal(innerRec.cause, rec.activationId);
    const iann = kvObject(innerRec.annotations);
    assert.equal(iann.kind, 'sequence');
    assert.equal(iann.topmost, false);
    assert.equal(iann.causedBy, 'sequence');
    assert.equal(innerRec.logs.length, 2);
    const sortRec = await pollActivation(ow, innerRec.logs[0]);
    assert.equal(sortRec.cause, innerRec.activationId, 'an inner component\'s cause is the inner sequence');
  });

  test('create checks: empty, missing component, self reference, too many actions', async () => {
    assertErrorBody(await putSequence(uniqueName('seq'), []), 400, 'No component specified for the sequence.');
    assertErrorBody(await putSequence(uniqueName('seq'), [`/_/${uniqueName('missing')}`]), 400, 'Sequence component does not exist.');

    const self = uniqueName('self');
    assertErrorBody(await putSequence(self, [`/_/${self}`]), 400, /Sequence (may not refer to itself|component does not exist)\./);
    const created = await putSequence(self, [`/_/${echo}`]);
    assert.equal(created.status, 200, created.text);
    assertErrorBody(await putSequence(self, [`/_/${echo}`, `/_/${self}`], true), 400, 'Sequence may not refer to itself.');
    const wrapper = uniqueName('wrapper');
    assert.equal((await putSequence(wrapper, [`/_/${self}`])).status, 200);
    assertErrorBody(await putSequence(self, [`/_/${wrapper}`], true), 400, 'Sequence may not refer to itself.');

    const many = Array.from({ length: MAX + 1 }, () => `/_/${echo}`);
    const long = uniqueName('long');
    assertErrorBody(await putSequence(long, many), 400, 'Too many actions in the sequence.');
    await rejectsWith(ow.actions.get({ name: long }), 404);
    assert.equal((await putSequence(uniqueName('full'), many.slice(1))).status, 200, `${MAX} components are fine`);
    const half = uniqueName('half');
    assert.equal((await putSequence(half, many.slice(0, MAX / 2 + 1))).status, 200);
    // Inner sequences count with their atomic actions.
    assertErrorBody(await putSequence(uniqueName('twohalves'), [`/_/${half}`, `/_/${half}`]), 400,
      'Too many actions in the sequence.');
  });

  test('an inner sequence grown past the limit ends the outer run with an application error', async () => {
    const inner = uniqueName('inner');
    await ow.actions.create({ name: inner, sequence: [`/_/${echo}`] });
    const outer = uniqueName('outer');
    await ow.actions.create({ name: outer, sequence: [`/_/${echo}`, `/_/${inner}`] });
    await ow.actions.update({ name: inner, sequence: Array.from({ length: MAX }, () => `/_/${echo}`) });

    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${outer}?blocking=true`, { body: { n: 1 } });
    assert.equal(res.status, 502, res.text);
    const rec = res.body;
    assert.equal(rec.response.status, 'application error');
    assert.deepEqual(rec.response.result, { error: 'Too many actions in the sequence.' });
    assert.equal(rec.logs.length, 2);
    const innerRec = await pollActivation(ow, rec.logs[1]);
    assert.equal(innerRec.cause, rec.activationId);
    assert.equal(innerRec.logs.length, MAX - 1, 'the inner sequence ran until the limit of atomic actions');
    assert.equal(innerRec.response.status, 'application error');
  });

  test('a component\'s error stops the sequence', async () => {
    const failing = uniqueName('failing');
    await createAction(ow, failing, 'error.js');
    const seq = uniqueName('seq');
    await ow.actions.create({ name: seq, sequence: [`/_/${failing}`, `/_/${echo}`] });
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${seq}?blocking=true`, { body: {} });
    assert.equal(res.status, 502);
    assert.equal(res.body.response.status, 'application error');
    assert.equal(res.body.response.success, false);
    assert.deepEqual(res.body.response.result, { error: 'This error thrown on purpose by the action.' });
    assert.equal(res.body.logs.length, 1, 'the second component never ran');
    const resultOnly = await gw.request('POST', `/api/v1/namespaces/_/actions/${seq}?blocking=true&result=true`, { body: {} });
    assert.equal(resultOnly.status, 502);
    assert.deepEqual(resultOnly.body, { error: 'This error thrown on purpose by the action.' });
  });

  test('a component that cannot initialize in time fails the sequence', async () => {
    const slow = uniqueName('slowinit');
    await createAction(ow, slow, 'slowinit.js', { limits: { timeout: 500 } });
    const seq = uniqueName('seq');
    await ow.actions.create({ name: seq, sequence: [`/_/${echo}`, `/_/${slow}`, `/_/${echo}`] });
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${seq}?blocking=true`, { body: {} });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.body.response.success, false);
    assert.equal(res.body.response.status, 'action developer error');
    assert.match(res.body.response.result.error, /time limits of 500 milliseconds during initialization|initialize/);
    assert.equal(res.body.logs.length, 2);
  });

  test('array results flow through a sequence and come back bare', async () => {
    const array = uniqueName('array');
    await createAction(ow, array, 'array.js');
    const seq = uniqueName('seq');
    await ow.actions.create({ name: seq, sequence: [`/_/${array}`, `/_/${echo}`] });
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${seq}?blocking=true`, { body: { c: 7 } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, ['a', 'b', { c: 7 }]);
    const id = res.headers.get('x-openwhisk-activation-id');
    const rec = await pollActivation(ow, id);
    assert.deepEqual(rec.response.result, ['a', 'b', { c: 7 }]);
  });

  test('packaged components: action beats package, invoke beats both; bindings are named', async () => {
    const pkg = uniqueName('pkg');
    const bnd = uniqueName('bnd');
    await ow.packages.create({ name: pkg, package: { parameters: params({ a: 'package', b: 'package', c: 'package' }) } });
    await ow.packages.create({ name: bnd, package: { binding: { namespace: 'guest', name: pkg }, parameters: params({ a: 'binding' }) } });
    await createAction(ow, `${pkg}/echo`, 'echo.js', { params: { b: 'action', c: 'action' } });

    const seq = uniqueName('seq');
    await ow.actions.create({ name: seq, sequence: [`/_/${pkg}/echo`] });
    assert.deepEqual(await ow.actions.invoke({ name: seq, blocking: true, result: true, params: { c: 'invoke' } }),
      { a: 'package', b: 'action', c: 'invoke' });

    // A component addressed through a binding inherits the binding's
    // parameters, and its record names the binding.
    const viaBinding = uniqueName('seq');
    await ow.actions.create({ name: viaBinding, sequence: [`/_/${bnd}/echo`] });
    const rec = await ow.actions.invoke({ name: viaBinding, blocking: true });
    assert.deepEqual(rec.response.result, { a: 'binding', b: 'action', c: 'action' });
    const comp = await pollActivation(ow, rec.logs[0]);
    assert.equal(annotation(comp.annotations, 'binding'), `guest/${bnd}`);
    assert.equal(annotation(comp.annotations, 'path'), `guest/${pkg}/echo`);

    // A sequence inside the package, run through the binding.
    await ow.actions.create({ name: `${pkg}/seq`, sequence: [`/_/${bnd}/echo`] });
    const inPkg = await ow.actions.invoke({ name: `${bnd}/seq`, blocking: true });
    assert.equal(inPkg.response.status, 'success');
    assert.equal(annotation(inPkg.annotations, 'binding'), `guest/${bnd}`);
    assert.equal(annotation(inPkg.annotations, 'path'), `guest/${pkg}/seq`);
    const direct = await ow.actions.invoke({ name: `${pkg}/seq`, blocking: true });
    assert.equal(annotation(direct.annotations, 'binding'), undefined);
  });

  test('a blocking sequence past the blocking wait answers 202 and still completes', async () => {
    const sleepy = uniqueName('sleepy');
    await createAction(ow, sleepy, 'sleep.js', { params: { ms: 1800 } });
    const seq = uniqueName('seq');
    await ow.actions.create({ name: seq, sequence: [`/_/${sleepy}`, `/_/${sleepy}`] });
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${seq}?blocking=true`, { body: {} });
    assert.equal(res.status, 202, res.text);
    assert.match(res.body.activationId, HEX32);
    assert.equal(res.headers.get('x-openwhisk-activation-id'), res.body.activationId);
    const rec = await pollActivation(ow, res.body.activationId, { timeout: 30000 });
    assert.equal(rec.response.status, 'success');
    assert.deepEqual(rec.response.result, { slept: 1800 });
    assert.equal(rec.logs.length, 2);
  });

  test('updating a component while the sequence runs does not break the run', async () => {
    const sleepy = uniqueName('sleepy');
    await createAction(ow, sleepy, 'sleep.js', { params: { ms: 800 } });
    const last = uniqueName('last');
    await createAction(ow, last, 'echo.js');
    const seq = uniqueName('seq');
    await ow.actions.create({ name: seq, sequence: [`/_/${sleepy}`, `/_/${last}`] });
    const { activationId } = await ow.actions.invoke({ name: seq, params: { x: 1 } });
    await createAction(ow, last, 'hello2.js', { overwrite: true });
    const rec = await pollActivation(ow, activationId);
    assert.equal(rec.response.status, 'success', JSON.stringify(rec.response));
    assert.equal(rec.logs.length, 2);
  });
});
