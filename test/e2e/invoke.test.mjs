// Invoking actions: non-blocking and blocking, record shape, cold and warm
// starts, logs, application and developer errors, array results, final
// parameters, payload size, the blocking wait, and python.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GUEST_AUTH, HEX32, MSG, annotation, assertErrorBody, assertLogLine, createAction, kvObject,
  pollActivation, readAction, rejectsWith, startGateway, uniqueName,
} from './lib/gateway.mjs';

const DEFAULT_LIMITS = { timeout: 60000, memory: 256, logs: 10, concurrency: 1 };
const RECORD_KEYS = ['activationId', 'annotations', 'duration', 'end', 'logs', 'name', 'namespace',
  'publish', 'response', 'start', 'subject', 'version'];
const MARKER = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';
const DEV_ERROR_WARNING = 'The action did not initialize or run as expected. Log data might be missing.';

// checkRecord asserts the shape every completed action activation shares.
function checkRecord(rec, { name, status, kind, cold, t0, t1, version = '0.0.1', limits = DEFAULT_LIMITS }) {
  assert.deepEqual(Object.keys(rec).sort(), RECORD_KEYS, `record keys of ${JSON.stringify(rec)}`);
  assert.match(rec.activationId, HEX32);
  assert.equal(rec.namespace, 'guest');
  assert.equal(rec.subject, 'guest');
  assert.equal(rec.name, name);
  assert.equal(rec.version, version);
  assert.equal(rec.publish, false);
  assert.equal(typeof rec.start, 'number');
  assert.equal(typeof rec.end, 'number');
  assert.ok(rec.start <= rec.end, `start ${rec.start} <= end ${rec.end}`);
  assert.equal(rec.duration, rec.end - rec.start);
  if (t0 !== undefined) assert.ok(rec.start >= t0 - 1, `start ${rec.start} is before the request was sent (${t0})`);
  if (t1 !== undefined) assert.ok(rec.end <= t1 + 1, `end ${rec.end} is after the response arrived (${t1})`);

  assert.equal(rec.response.status, status);
  assert.equal(rec.response.success, status === 'success');
  assert.ok(!('statusCode' in rec.response), 'response.statusCode is internal');
  assert.ok('result' in rec.response);

  assert.ok(Array.isArray(rec.logs));
  for (const line of rec.logs) {
    assertLogLine(line);
    assert.ok(!line.includes(MARKER), `log marker leaked: ${line}`);
  }

  const ann = kvObject(rec.annotations);
  assert.equal(ann.path, `guest/${name}`);
  assert.equal(ann.kind, kind);
  assert.deepEqual(ann.limits, limits);
  assert.equal(typeof ann.waitTime, 'number');
  assert.ok(ann.waitTime >= 0);
  assert.equal(ann.timeout, false);
  if (cold) {
    assert.equal(typeof ann.initTime, 'number', `cold start needs initTime in ${JSON.stringify(rec.annotations)}`);
    assert.ok(ann.initTime >= 0);
  } else {
    assert.ok(!('initTime' in ann), `warm start must not carry initTime: ${JSON.stringify(rec.annotations)}`);
  }
  return ann;
}

// logsOf splits a record's log lines into {stream, text} pairs.
function logsOf(rec) {
  return rec.logs.map(line => {
    const { stream, text } = assertLogLine(line);
    return { stream, text };
  });
}

describe('invoke', { timeout: 90000 }, () => {
  let gw;
  let ow;
  let nodeDefault;
  let pythonDefault;
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
    const info = await gw.request('GET', '/', { auth: false });
    nodeDefault = info.body.runtimes.nodejs.find(rt => rt.default).kind;
    pythonDefault = info.body.runtimes.python.find(rt => rt.default).kind;
  });
  after(async () => {
    await gw?.cleanup();
  });

  test('non-blocking invoke answers 202 with an id; the record appears later', async () => {
    const name = uniqueName('async');
    await createAction(ow, name, 'hello.js');
    const t0 = Date.now();
    const res = await ow.actions.invoke({ name, params: { name: 'Async' } });
    assert.deepEqual(Object.keys(res), ['activationId']);
    assert.match(res.activationId, HEX32);
    const rec = await pollActivation(ow, res.activationId);
    assert.equal(rec.activationId, res.activationId);
    checkRecord(rec, { name, status: 'success', kind: nodeDefault, cold: true, t0 });
    assert.deepEqual(rec.response.result, { greeting: 'Hello, Async!' });

    const raw = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}`, { body: { name: 'Raw' } });
    assert.equal(raw.status, 202, raw.text);
    assert.deepEqual(Object.keys(raw.body), ['activationId']);
    assert.match(raw.body.activationId, HEX32);
    assert.equal(raw.headers.get('x-openwhisk-activation-id'), raw.body.activationId);
    const rawRec = await pollActivation(ow, raw.body.activationId);
    assert.deepEqual(rawRec.response.result, { greeting: 'Hello, Raw!' });

    const blockingFalse = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=false`);
    assert.equal(blockingFalse.status, 202, 'an empty body is no parameters');
    const noParams = await pollActivation(ow, blockingFalse.body.activationId);
    assert.deepEqual(noParams.response.result, { greeting: 'Hello, stranger!' });
  });

  test('blocking invoke returns the full record; cold start first, then warm', async () => {
    const name = uniqueName('blocking');
    await createAction(ow, name, 'hello.js');

    let t0 = Date.now();
    const cold = await ow.actions.invoke({ name, params: { name: 'Ada' }, blocking: true });
    let t1 = Date.now();
    checkRecord(cold, { name, status: 'success', kind: nodeDefault, cold: true, t0, t1 });
    assert.deepEqual(cold.response.result, { greeting: 'Hello, Ada!' });
    assert.deepEqual(logsOf(cold).sort((a, b) => a.stream.localeCompare(b.stream)), [
      { stream: 'stderr', text: 'hello stderr Ada' },
      { stream: 'stdout', text: 'hello stdout Ada' },
    ]);
    for (const line of cold.logs) {
      const ts = Date.parse(assertLogLine(line).ts);
      assert.ok(ts >= cold.start - 1 && ts <= cold.end + 2000, `log time ${ts} outside [${cold.start}, ${cold.end}]`);
    }
    assert.deepEqual(await ow.activations.get({ activationId: cold.activationId }), cold,
      'the stored record equals the blocking answer');

    t0 = Date.now();
    const warm = await ow.actions.invoke({ name, params: { name: 'Bob' }, blocking: true });
    t1 = Date.now();
    checkRecord(warm, { name, status: 'success', kind: nodeDefault, cold: false, t0, t1 });
    assert.notEqual(warm.activationId, cold.activationId);
    assert.deepEqual(warm.response.result, { greeting: 'Hello, Bob!' });
    assert.deepEqual(logsOf(warm).map(l => l.text).sort(), ['hello stderr Bob', 'hello stdout Bob'],
      'each activation has only its own logs');

    const raw = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: { name: 'Cy' } });
    assert.equal(raw.status, 200, raw.text);
    assert.equal(raw.headers.get('x-openwhisk-activation-id'), raw.body.activationId);
    assert.ok(!('code' in raw.body), 'an activation never carries code');
    checkRecord(raw.body, { name, status: 'success', kind: nodeDefault, cold: false });
  });

  test('bound parameters and invoke parameters are merged, invoke winning', async () => {
    const name = uniqueName('merge');
    await createAction(ow, name, 'echo.js', { params: { a: 1, b: 2, nested: { x: [1] } } });
    const res = await ow.actions.invoke({ name, params: { b: 3, c: 'four', utf8: 'héllo wörld ✓ 日本' }, blocking: true, result: true });
    assert.deepEqual(res, { a: 1, b: 3, c: 'four', nested: { x: [1] }, utf8: 'héllo wörld ✓ 日本' });
  });

  test('blocking invoke with result returns only the result', async () => {
    const name = uniqueName('result');
    await createAction(ow, name, 'hello.js');
    assert.deepEqual(await ow.actions.invoke({ name, params: { name: 'Res' }, blocking: true, result: true }),
      { greeting: 'Hello, Res!' });
    const raw = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&result=true`, { body: { name: 'Raw' } });
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.body, { greeting: 'Hello, Raw!' });
    assert.match(raw.headers.get('x-openwhisk-activation-id') || '', HEX32);

    const empty = uniqueName('empty-result');
    await ow.actions.create({ name: empty, action: 'function main() { return {} }' });
    const e = await gw.request('POST', `/api/v1/namespaces/_/actions/${empty}?blocking=true&result=true`);
    assert.equal(e.status, 200);
    assert.deepEqual(e.body, {});
  });

  test('an application error is 502 with status application error', async () => {
    const name = uniqueName('apperr');
    await createAction(ow, name, 'error.js');
    await assert.rejects(ow.actions.invoke({ name, blocking: true }), err => {
      assert.equal(err.statusCode, 502, err.message);
      const rec = err.error;
      checkRecord(rec, { name, status: 'application error', kind: nodeDefault, cold: true });
      assert.deepEqual(rec.response.result, { error: 'This error thrown on purpose by the action.' });
      assert.ok(!('code' in rec), 'a 502 activation must not look like a server error');
      assert.ok(err.message.includes('This error thrown on purpose by the action.'), err.message);
      return true;
    });
    for (const value of ['a string', 42, true, { msg: 'failed activation on purpose' }]) {
      const raw = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&result=true`, { body: { error: value } });
      assert.equal(raw.status, 502, raw.text);
      assert.deepEqual(raw.body, { error: value });
      assert.match(raw.headers.get('x-openwhisk-activation-id') || '', HEX32);
      const full = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: { error: value } });
      assert.equal(full.status, 502);
      assert.equal(full.body.response.status, 'application error');
      assert.deepEqual(full.body.response.result, { error: value });
    }
    await rejectsWith(ow.actions.invoke({ name, blocking: true, result: true }), 502);
  });

  test('an uncaught exception is a developer error, 502', async () => {
    const name = uniqueName('throw');
    await createAction(ow, name, 'throw.js');
    await assert.rejects(ow.actions.invoke({ name, blocking: true }), err => {
      assert.equal(err.statusCode, 502, err.message);
      const rec = err.error;
      checkRecord(rec, { name, status: 'action developer error', kind: nodeDefault, cold: true });
      assert.equal(typeof rec.response.result.error, 'string');
      assert.equal(rec.response.result.error, 'An error has occurred: Error: Extraordinary exception');
      const last = logsOf(rec).at(-1);
      assert.deepEqual(last, { stream: 'stderr', text: DEV_ERROR_WARNING }, `logs ${JSON.stringify(rec.logs)}`);
      return true;
    });
    const raw = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&result=true`);
    assert.equal(raw.status, 502);
    assert.match(raw.body.error, /Extraordinary exception/);
  });

  test('an array result comes back bare from a blocking invoke', async () => {
    const name = uniqueName('array');
    await createAction(ow, name, 'array.js');
    const raw = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: { c: 7 } });
    assert.equal(raw.status, 200, raw.text);
    assert.deepEqual(raw.body, ['a', 'b', { c: 7 }]);
    const id = raw.headers.get('x-openwhisk-activation-id');
    assert.match(id || '', HEX32);
    const rec = await ow.activations.get({ activationId: id });
    checkRecord(rec, { name, status: 'success', kind: nodeDefault, cold: true });
    assert.deepEqual(rec.response.result, ['a', 'b', { c: 7 }]);

    const withResult = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&result=true`);
    assert.equal(withResult.status, 200);
    assert.deepEqual(withResult.body, ['a', 'b', { c: 3 }]);

    assert.deepEqual(await ow.actions.invoke({ name, blocking: true }), ['a', 'b', { c: 3 }]);
    // the client expects a record when asked for the result and rejects a bare array
    await assert.rejects(ow.actions.invoke({ name, blocking: true, result: true }),
      v => Array.isArray(v) && v.length === 3);
  });

  test('final:true refuses invoke parameters that override defined ones', async () => {
    const name = uniqueName('final');
    await createAction(ow, name, 'echo.js', { params: { fixed: 'F', open: null }, annotations: { final: true } });
    await rejectsWith(ow.actions.invoke({ name, params: { fixed: 'G' }, blocking: true }), 400, MSG.reserved);
    await rejectsWith(ow.actions.invoke({ name, params: { fixed: 'G' } }), 400, MSG.reserved);
    const raw = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: { other: 1, fixed: 'F' } });
    assertErrorBody(raw, 400, MSG.reserved);
    assert.equal(raw.headers.get('x-openwhisk-activation-id'), null, 'no activation was made');
    assert.deepEqual(await ow.actions.invoke({ name, params: { open: 'ok', other: 1 }, blocking: true, result: true }),
      { fixed: 'F', open: 'ok', other: 1 }, 'null parameters and new keys may be set');

    const notFinal = uniqueName('notfinal');
    await createAction(ow, notFinal, 'echo.js', { params: { fixed: 'F' } });
    assert.deepEqual(await ow.actions.invoke({ name: notFinal, params: { fixed: 'G' }, blocking: true, result: true }), { fixed: 'G' });
  });

  test('a payload over 1 MB is 413; exactly 1 MB is accepted', async () => {
    const name = uniqueName('payload');
    await createAction(ow, name, 'hello.js');
    const sized = n => {
      const body = JSON.stringify({ name: 'Big', p: '' });
      return JSON.stringify({ name: 'Big', p: 'x'.repeat(n - body.length) });
    };
    const over = sized(1048577);
    assert.equal(Buffer.byteLength(over), 1048577);
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: over });
    assertErrorBody(res, 413, 'Request larger than allowed: 1048577 > 1048576 bytes.');
    const big = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: sized(3 * 1048576) });
    assertErrorBody(big, 413, `Request larger than allowed: ${3 * 1048576} > 1048576 bytes.`);
    await assert.rejects(ow.actions.invoke({ name, params: { p: 'y'.repeat(1048576) } }), err => {
      assert.equal(err.statusCode, 413, err.message);
      assert.match(err.error.error, /^Request larger than allowed: \d+ > 1048576 bytes\.$/);
      return true;
    });

    const exact = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&result=true`, { body: sized(1048576) });
    assert.equal(exact.status, 200, exact.text.slice(0, 300));
    assert.deepEqual(exact.body, { greeting: 'Hello, Big!' });

    const echo = uniqueName('echo-big');
    await createAction(ow, echo, 'echo.js');
    const input = { p: 'z'.repeat(1048576 - 1024) };
    assert.deepEqual(await ow.actions.invoke({ name: echo, params: input, blocking: true, result: true }), input,
      'a payload just under 1 MB comes back unchanged');
  });

  test('invoke bodies must be JSON objects', async () => {
    const name = uniqueName('body');
    await createAction(ow, name, 'echo.js');
    const p = `/api/v1/namespaces/_/actions/${name}?blocking=true`;
    assertErrorBody(await gw.request('POST', p, { body: '[1,2]' }), 400, /^The request content was malformed:\n/);
    assertErrorBody(await gw.request('POST', p, { body: '"text"' }), 400, /^The request content was malformed:\n/);
    assertErrorBody(await gw.request('POST', p, { body: '{"a":' }), 400, /^The request content was malformed:\n/);
    assertErrorBody(await gw.request('POST', p, { body: '{}', headers: { 'Content-Type': 'text/plain' } }), 415);
    const ok = await gw.request('POST', `${p}&result=true`, { body: '{"a":1}' });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { a: 1 });
  });

  test('the timeout parameter is validated', async () => {
    const name = uniqueName('timeout-param');
    await createAction(ow, name, 'echo.js');
    for (const t of ['0', '60001', '-5', 'abc', '1.5']) {
      const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&timeout=${t}`, { body: {} });
      assertErrorBody(res, 400, MSG.timeoutParam);
    }
    const ok = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&result=true&timeout=60000`, { body: { t: 1 } });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body, { t: 1 });
  });

  test('a blocking invoke that outlasts --blocking-wait answers 202, and the activation completes', async () => {
    const name = uniqueName('slow');
    await createAction(ow, name, 'sleep.js');
    const t0 = Date.now();
    const res = await ow.actions.invoke({ name, params: { ms: 4500 }, blocking: true });
    const waited = Date.now() - t0;
    assert.deepEqual(Object.keys(res), ['activationId'], `expected a 202 answer, got ${JSON.stringify(res)}`);
    assert.match(res.activationId, HEX32);
    assert.ok(waited >= 2900, `answered after ${waited} ms, before the 3 s blocking wait`);
    assert.ok(waited < 4500, `answered after ${waited} ms, not before the action finished`);
    await rejectsWith(ow.activations.get({ activationId: res.activationId }), 404, MSG.notFound);
    const rec = await pollActivation(ow, res.activationId, { timeout: 15000 });
    checkRecord(rec, { name, status: 'success', kind: nodeDefault, cold: true, t0 });
    assert.deepEqual(rec.response.result, { slept: 4500 });
    assert.ok(rec.duration >= 4500, `duration ${rec.duration}`);

    // ?timeout= shortens the wait below --blocking-wait
    const t2 = Date.now();
    const short = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&timeout=300`, { body: { ms: 1500 } });
    const shortWait = Date.now() - t2;
    assert.equal(short.status, 202, short.text);
    assert.ok(shortWait < 1500, `answered after ${shortWait} ms`);
    assert.deepEqual(Object.keys(short.body), ['activationId']);
    assert.equal(short.headers.get('x-openwhisk-activation-id'), short.body.activationId);
    const shortRec = await pollActivation(ow, short.body.activationId, { timeout: 15000 });
    assert.equal(shortRec.response.status, 'success');
    assert.deepEqual(shortRec.response.result, { slept: 1500 });
  });

  test('updated code runs after an update, on a fresh start', async () => {
    const name = uniqueName('recode');
    await createAction(ow, name, 'hello.js');
    const first = await ow.actions.invoke({ name, params: { name: 'V1' }, blocking: true });
    assert.deepEqual(first.response.result, { greeting: 'Hello, V1!' });
    await ow.actions.update({ name, action: await readAction('hello2.js'), kind: 'nodejs:default' });
    const second = await ow.actions.invoke({ name, params: { name: 'V2' }, blocking: true });
    checkRecord(second, { name, status: 'success', kind: nodeDefault, cold: true, version: '0.0.2' });
    assert.deepEqual(second.response.result, { greeting: 'Hello again, V2!' });

    await ow.actions.delete({ name });
    await createAction(ow, name, 'echo.js');
    assert.deepEqual(await ow.actions.invoke({ name, params: { v: 3 }, blocking: true, result: true }), { v: 3 },
      'a recreated action runs its new code');
  });

  test('limits are reported in the activation', async () => {
    const name = uniqueName('limits');
    const limits = { timeout: 5000, memory: 128, logs: 1 };
    await createAction(ow, name, 'hello.js', { limits });
    const rec = await ow.actions.invoke({ name, blocking: true });
    checkRecord(rec, { name, status: 'success', kind: nodeDefault, cold: true, limits: { ...limits, concurrency: 1 } });
  });

  test('an action past its time limit is a developer error; the next run starts fresh', async () => {
    const name = uniqueName('timeout');
    const limits = { timeout: 500, memory: 256, logs: 10, concurrency: 1 };
    await createAction(ow, name, 'sleep.js', { limits: { timeout: 500 } });
    const t0 = Date.now();
    await assert.rejects(ow.actions.invoke({ name, params: { ms: 5000 }, blocking: true }), err => {
      assert.equal(err.statusCode, 502, err.message);
      const rec = err.error;
      assert.equal(rec.response.status, 'action developer error');
      assert.deepEqual(rec.response.result, { error: 'The action exceeded its time limits of 500 milliseconds.' });
      assert.equal(annotation(rec.annotations, 'timeout'), true);
      assert.deepEqual(annotation(rec.annotations, 'limits'), limits);
      assert.ok(rec.duration >= 500, `duration ${rec.duration}`);
      return true;
    });
    assert.ok(Date.now() - t0 < 4000, 'the run was cut at its time limit');
    const next = await ow.actions.invoke({ name, params: { ms: 1 }, blocking: true });
    checkRecord(next, { name, status: 'success', kind: nodeDefault, cold: true, limits });
    assert.deepEqual(next.response.result, { slept: 1 });
  });

  test('code that does not load is a developer error with initTime', async () => {
    const name = uniqueName('syntax');
    await createAction(ow, name, 'syntax.js');
    await assert.rejects(ow.actions.invoke({ name, blocking: true }), err => {
      assert.equal(err.statusCode, 502, err.message);
      const rec = err.error;
      assert.equal(rec.response.status, 'action developer error');
      assert.equal(rec.response.success, false);
      assert.match(rec.response.result.error, /SyntaxError/);
      assert.equal(typeof annotation(rec.annotations, 'initTime'), 'number');
      assert.equal(annotation(rec.annotations, 'path'), `guest/${name}`);
      return true;
    });
  });

  test('a result over 1 MB is an application error with the truncation message', async () => {
    const name = uniqueName('bigresult');
    await createAction(ow, name, 'bigresult.js');
    const raw = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: { n: 1100000 } });
    assert.equal(raw.status, 502);
    assert.equal(raw.body.response.status, 'application error');
    assert.match(raw.body.response.result.error,
      /^The action produced a response that exceeded the allowed length: 1100008 > 1048576 bytes\. The truncated response was: \{"p":"xxx/);
    const ok = await ow.actions.invoke({ name, params: { n: 1000 }, blocking: true, result: true });
    assert.equal(ok.p.length, 1000);
  });

  test('the action sees its context, and the API key only with provide-api-key', async () => {
    const name = uniqueName('context');
    await createAction(ow, name, 'context.js');
    const rec = await ow.actions.invoke({ name, blocking: true });
    const ctx = rec.response.result;
    assert.equal(ctx.api_host, gw.apihost);
    assert.equal(ctx.api_key, null, 'no API key without provide-api-key');
    assert.equal(ctx.namespace, 'guest');
    assert.equal(ctx.action_name, `/guest/${name}`);
    assert.equal(ctx.action_version, '0.0.1');
    assert.equal(ctx.activation_id, rec.activationId);
    assert.match(ctx.deadline, /^\d+$/);
    assert.ok(Number(ctx.deadline) >= rec.start, `deadline ${ctx.deadline} before start ${rec.start}`);
    assert.ok(Number(ctx.deadline) <= rec.end + 60000 + 1000, `deadline ${ctx.deadline} is past the time limit`);

    await ow.actions.update({ name, annotations: { 'provide-api-key': true } });
    const withKey = await ow.actions.invoke({ name, blocking: true, result: true });
    assert.equal(withKey.api_key, GUEST_AUTH);
    assert.equal(withKey.action_version, '0.0.2');
  });

  test('a python action runs, cold then warm', async () => {
    const name = uniqueName('python');
    await createAction(ow, name, 'hello.py');
    const t0 = Date.now();
    const cold = await ow.actions.invoke({ name, params: { name: 'Py' }, blocking: true });
    checkRecord(cold, { name, status: 'success', kind: pythonDefault, cold: true, t0, t1: Date.now() });
    assert.deepEqual(cold.response.result, { greeting: 'Hello, Py!' });
    assert.deepEqual(logsOf(cold).sort((a, b) => a.stream.localeCompare(b.stream)), [
      { stream: 'stderr', text: 'hello stderr Py' },
      { stream: 'stdout', text: 'hello stdout Py' },
    ]);
    const warm = await ow.actions.invoke({ name, params: { name: 'Thon' }, blocking: true });
    checkRecord(warm, { name, status: 'success', kind: pythonDefault, cold: false });
    assert.deepEqual(warm.response.result, { greeting: 'Hello, Thon!' });
    assert.equal(annotation(warm.annotations, 'path'), `guest/${name}`);
  });
});
