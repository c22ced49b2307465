// The remaining WskActionTests / WskBasicTests scenarios that the actions
// and invoke suites do not cover: empty code, promises resolved and
// rejected, names with spaces, UTF-8 in logs, delete and recreate, nested
// invokes with provide-api-key, code of nearly the maximum size, and
// copying an action out of a shared package (`wsk action create --copy`).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  annotation, assertLogLine, createAction, kvObject, pollActivation, readAction, startGateway, uniqueName,
} from './lib/gateway.mjs';

describe('basic actions', { timeout: 90000 }, () => {
  let gw;
  let ow;
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
  });
  after(async () => {
    await gw?.cleanup();
  });

  test('an action from an empty file is created; invoking it is a developer error', async () => {
    const name = uniqueName('empty');
    const created = await ow.actions.create({ name, action: '' });
    assert.equal(created.exec.code, '');
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: {} });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.body.response.status, 'action developer error');
    assert.equal(typeof res.body.response.result.error, 'string');
  });

  test('a promise: success, its result, and no logs; a rejected one is an application error', async () => {
    const name = uniqueName('promise');
    await createAction(ow, name, 'promise.js');
    const rec = await ow.actions.invoke({ name, blocking: true });
    assert.equal(rec.response.status, 'success');
    assert.deepEqual(rec.response.result, { done: true });
    assert.deepEqual(rec.logs, []);

    const rejecting = uniqueName('reject');
    await createAction(ow, rejecting, 'reject.js');
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${rejecting}?blocking=true`, { body: {} });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.body.response.status, 'application error');
    assert.deepEqual(res.body.response.result, { error: { msg: 'failed activation on purpose' } });
  });

  test('a name with a space; UTF-8 payloads reach the logs unchanged', async () => {
    const name = uniqueName('hello Async');
    await createAction(ow, name, 'hello.js');
    const who = 'Ünïcödé ✓ 日本語';
    const rec = await ow.actions.invoke({ name, blocking: true, params: { name: who } });
    assert.equal(rec.name, name);
    assert.deepEqual(rec.response.result, { greeting: `Hello, ${who}!` });
    const lines = rec.logs.map(l => assertLogLine(l));
    assert.ok(lines.some(l => l.stream === 'stdout' && l.text === `hello stdout ${who}`), JSON.stringify(rec.logs));
    assert.ok(lines.some(l => l.stream === 'stderr' && l.text === `hello stderr ${who}`), JSON.stringify(rec.logs));
  });

  test('delete and recreate under the same name runs the new code', async () => {
    const name = uniqueName('recreate');
    await createAction(ow, name, 'hello.js');
    assert.deepEqual(await ow.actions.invoke({ name, blocking: true, result: true, params: { name: 'A' } }), { greeting: 'Hello, A!' });
    await ow.actions.delete({ name });
    const again = await createAction(ow, name, 'hello2.js');
    assert.equal(again.version, '0.0.1');
    assert.deepEqual(await ow.actions.invoke({ name, blocking: true, result: true, params: { name: 'A' } }), { greeting: 'Hello again, A!' });
  });

  test('nested blocking invokes with provide-api-key', async () => {
    const inner = uniqueName('inner');
    await createAction(ow, inner, 'greet.js');
    const outer = uniqueName('outer');
    await createAction(ow, outer, 'nested.js', { annotations: { 'provide-api-key': true } });
    const res = await ow.actions.invoke({
      name: outer, blocking: true, result: true, params: { target: inner, payload: { greeting: 'Hi', name: 'nest' } },
    });
    assert.deepEqual(res, { status: 200, nested: { message: 'Hi, nest!', place: null } });

    const keyless = uniqueName('keyless');
    await createAction(ow, keyless, 'nested.js');
    const denied = await gw.request('POST', `/api/v1/namespaces/_/actions/${keyless}?blocking=true&result=true`,
      { body: { target: inner } });
    assert.equal(denied.status, 502);
    assert.match(denied.body.error, /no API key/);
  });

  test('code of nearly the maximum size is created and runs; over 48 MB is 413', async () => {
    const name = uniqueName('big');
    const code = '// ' + 'x'.repeat(47 * 1024 * 1024) + '\nfunction main(p) { return { ok: true, n: p.n }; }\n';
    const put = await gw.request('PUT', `/api/v1/namespaces/_/actions/${name}`, { body: { exec: { kind: 'nodejs:default', code } } });
    assert.equal(put.status, 200, put.text.slice(0, 300));
    assert.equal(put.body.exec.code.length, code.length);
    // Loading 47 MB of code may outlast the 3 s blocking wait on a busy
    // machine; the invoke then answers 202 with the id, as OpenWhisk does,
    // and the activation's record must hold the same result.
    const first = await ow.actions.invoke({ name, blocking: true, params: { n: 1 } });
    const record = first.response ? first : await pollActivation(ow, first.activationId, { timeout: 60000 });
    assert.deepEqual(record.response.result, { ok: true, n: 1 });

    const over = 'x'.repeat(48 * 1024 * 1024 + 1);
    const res = await gw.request('PUT', `/api/v1/namespaces/_/actions/${uniqueName('toobig')}`, { body: { exec: { kind: 'nodejs:default', code: over } } });
    assert.equal(res.status, 413, res.text.slice(0, 300));
    assert.match(res.body.error, /^exec larger than allowed: \d+ > 50331648 bytes\.$/);
  });

  test('copy an action out of another namespace\'s shared package', async () => {
    const otherAuth = await gw.createNamespace('copier');
    const other = gw.client(otherAuth);
    const pkg = uniqueName('lib');
    await ow.packages.create({ name: pkg, package: { publish: true } });
    const source = await createAction(ow, `${pkg}/greet`, 'greet.js', {
      params: { greeting: 'Ahoy' }, annotations: { description: 'greets' }, version: '1.4.2',
    });

    // `wsk action create copy /guest/pkg/greet --copy -p name X -a extra 1`:
    // GET with code, then PUT the exec, parameters and annotations.
    const got = await gw.request('GET', `/api/v1/namespaces/guest/actions/${pkg}/greet?code=true`, { auth: otherAuth });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.exec.code, await readAction('greet.js'));
    const copy = uniqueName('copy');
    const put = await gw.request('PUT', `/api/v1/namespaces/_/actions/${copy}?overwrite=false`, {
      auth: otherAuth,
      body: {
        exec: got.body.exec,
        parameters: [...got.body.parameters, { key: 'name', value: 'copier' }],
        annotations: [...got.body.annotations, { key: 'extra', value: 1 }],
      },
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.namespace, 'copier');
    assert.equal(put.body.version, '0.0.1', 'a copy starts at 0.0.1');
    assert.deepEqual(put.body.exec, source.exec);
    assert.deepEqual(kvObject(put.body.parameters), { greeting: 'Ahoy', name: 'copier' });
    const ann = kvObject(put.body.annotations);
    assert.equal(ann.description, 'greets');
    assert.equal(ann.extra, 1);
    assert.match(ann.exec, /^nodejs:/);
    assert.equal(ann['provide-api-key'], false);
    assert.equal(annotation(source.annotations, 'extra'), undefined, 'the source is untouched');

    const res = await other.actions.invoke({ name: copy, blocking: true });
    assert.equal(res.namespace, 'copier');
    assert.deepEqual(res.response.result, { message: 'Ahoy, copier!', place: null });
  });
});
