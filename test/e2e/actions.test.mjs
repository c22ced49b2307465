// Action CRUD through the openwhisk client, and the error contract of the
// action routes through plain fetch.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MSG, annotation, assertErrorBody, createAction, kvObject, nextMillisecond, readAction,
  rejectsWith, startGateway, uniqueName,
} from './lib/gateway.mjs';

const DEFAULT_LIMITS = { timeout: 60000, memory: 256, logs: 10, concurrency: 1 };

describe('actions', { timeout: 60000 }, () => {
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

  test('create returns the full document with defaults and server annotations', async () => {
    const name = uniqueName('create');
    const code = await readAction('hello.js');
    const a = await ow.actions.create({
      name, action: code, kind: 'nodejs:default',
      params: { greeting: 'hi', nested: { a: [1, 2, { b: null }] } },
      annotations: { description: 'says hello', 'web-export': false },
    });
    assert.equal(a.name, name);
    assert.equal(a.namespace, 'guest');
    assert.equal(a.version, '0.0.1');
    assert.equal(a.publish, false);
    assert.deepEqual(a.limits, DEFAULT_LIMITS);
    assert.equal(a.exec.kind, nodeDefault, 'nodejs:default resolves to the default kind');
    assert.equal(a.exec.code, code);
    assert.equal(a.exec.binary, false);
    assert.equal(typeof a.updated, 'number');
    assert.deepEqual(kvObject(a.parameters), { greeting: 'hi', nested: { a: [1, 2, { b: null }] } });
    assert.deepEqual(kvObject(a.annotations), {
      description: 'says hello', 'web-export': false, exec: nodeDefault, 'provide-api-key': false,
    });
  });

  test('get with code=true (the default) and code=false', async () => {
    const name = uniqueName('get');
    const created = await createAction(ow, name, 'hello.js', { params: { p: 1 } });
    const full = await ow.actions.get({ name });
    assert.deepEqual(full, created, 'GET returns what PUT returned');
    assert.equal(typeof full.exec.code, 'string');

    const withCode = await ow.actions.get({ name, code: true });
    assert.deepEqual(withCode, created);

    const noCode = await ow.actions.get({ name, code: false });
    assert.deepEqual(noCode.exec, { kind: nodeDefault, binary: false });
    assert.deepEqual(noCode.parameters, created.parameters);
    assert.deepEqual(noCode.annotations, created.annotations);
    assert.equal(noCode.version, '0.0.1');

    // the raw route too: ?code=false has no "code" anywhere in exec
    const raw = await gw.request('GET', `/api/v1/namespaces/_/actions/${name}?code=false`);
    assert.equal(raw.status, 200);
    assert.ok(!('code' in raw.body.exec), `exec of ${raw.text}`);
    const ns = await gw.request('GET', `/api/v1/namespaces/guest/actions/${name}`);
    assert.equal(ns.status, 200);
    assert.deepEqual(ns.body, created, 'the namespace by name works like _');
  });

  test('a python action is created with the python default kind', async () => {
    const name = uniqueName('py');
    const a = await createAction(ow, name, 'hello.py');
    assert.equal(a.exec.kind, pythonDefault);
    assert.equal(annotation(a.annotations, 'exec'), pythonDefault);
    const explicit = await createAction(ow, uniqueName('py'), 'hello.py', { kind: pythonDefault });
    assert.equal(explicit.exec.kind, pythonDefault);
  });

  test('list is newest first, has summaries without parameters or code, and counts', async () => {
    const prefix = uniqueName('list');
    const names = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    let last = 0;
    for (const n of names) {
      nextMillisecond(last);
      const a = await createAction(ow, n, 'echo.js', { params: { secret: 's' } });
      last = a.updated;
    }
    let all = await ow.actions.list({ limit: 200 });
    let ours = all.filter(a => a.name.startsWith(prefix)).map(a => a.name);
    assert.deepEqual(ours, [...names].reverse(), 'newest first');
    for (let i = 1; i < all.length; i++) {
      assert.ok(all[i - 1].updated >= all[i].updated, 'sorted by updated, descending');
    }

    // updating the oldest moves it to the front
    nextMillisecond(last);
    await ow.actions.update({ name: names[0], params: { secret: 't' } });
    all = await ow.actions.list({ limit: 200 });
    ours = all.filter(a => a.name.startsWith(prefix)).map(a => a.name);
    assert.deepEqual(ours, [names[0], names[2], names[1]], 'most recently updated first');
    assert.equal(all[0].name, names[0]);

    const s = all[0];
    assert.deepEqual(Object.keys(s).sort(),
      ['annotations', 'exec', 'limits', 'name', 'namespace', 'publish', 'updated', 'version']);
    assert.deepEqual(s.exec, { binary: false });
    assert.equal(s.namespace, 'guest');
    assert.equal(s.version, '0.0.2');
    assert.equal(s.publish, false);
    assert.deepEqual(s.limits, DEFAULT_LIMITS);
    assert.equal(annotation(s.annotations, 'exec'), nodeDefault);

    const count = await ow.actions.list({ count: true });
    assert.deepEqual(count, { actions: all.length });

    const page = await ow.actions.list({ limit: 1, skip: 1 });
    assert.equal(page.length, 1);
    assert.deepEqual(page[0], all[1]);
    const two = await ow.actions.list({ limit: 2 });
    assert.deepEqual(two, all.slice(0, 2));
    const rest = await ow.actions.list({ skip: all.length });
    assert.deepEqual(rest, []);
  });

  test('list paging parameters are validated', async () => {
    const cases = [
      ['limit=201', "The value '201' is not in the range of 0 to 200 for actions."],
      ['limit=-1', "The value '-1' is not in the range of 0 to 200 for actions."],
      ['limit=abc', "The value 'abc' is not an integer for actions."],
      ['skip=-1', "The value '-1' is not greater than or equal to 0 for actions."],
    ];
    for (const [qs, msg] of cases) {
      assertErrorBody(await gw.request('GET', `/api/v1/namespaces/_/actions?${qs}`), 400, msg);
    }
    const zero = await gw.request('GET', '/api/v1/namespaces/_/actions?limit=0');
    assert.equal(zero.status, 200, 'limit=0 means the maximum');
    assert.ok(Array.isArray(zero.body));
  });

  test('update bumps the version, replaces parameters and merges annotations', async () => {
    const name = uniqueName('update');
    const created = await createAction(ow, name, 'hello.js', {
      params: { a: 'A', b: 'B' }, annotations: { x: 1, y: 'Y' },
    });
    assert.equal(created.version, '0.0.1');

    const u1 = await ow.actions.update({ name, params: { b: 'B2' }, annotations: { y: 'Y2', z: true } });
    assert.equal(u1.version, '0.0.2');
    assert.deepEqual(u1.parameters, [{ key: 'b', value: 'B2' }], 'parameters are replaced wholesale');
    assert.deepEqual(kvObject(u1.annotations), {
      x: 1, y: 'Y2', z: true, exec: nodeDefault, 'provide-api-key': false,
    }, 'annotations are merged, new values win');
    assert.deepEqual(u1.exec, created.exec, 'exec is kept when not given');
    assert.ok(u1.updated >= created.updated);

    const u2 = await ow.actions.update({ name, action: { delAnnotations: ['x', 'provide-api-key'] } });
    assert.equal(u2.version, '0.0.3');
    assert.deepEqual(u2.parameters, u1.parameters, 'parameters are kept when not given');
    assert.deepEqual(kvObject(u2.annotations), { y: 'Y2', z: true, exec: nodeDefault },
      'delAnnotations removes only the listed keys and provide-api-key is not re-added');

    const u3 = await ow.actions.update({ name, limits: { memory: 512 } });
    assert.equal(u3.version, '0.0.4');
    assert.deepEqual(u3.limits, { ...DEFAULT_LIMITS, memory: 512 }, 'limits are patched per field');

    const u4 = await ow.actions.update({ name, action: { version: '1.2.3', publish: true } });
    assert.equal(u4.version, '1.2.3', 'a given version wins');
    assert.equal(u4.publish, true);

    const code2 = await readAction('hello2.js');
    const u5 = await ow.actions.update({ name, action: code2, kind: 'nodejs:default' });
    assert.equal(u5.version, '1.2.4');
    assert.equal(u5.exec.code, code2);
    assert.deepEqual(u5.parameters, u1.parameters);

    assert.deepEqual(await ow.actions.get({ name }), u5, 'GET shows the last update');
  });

  test('update of a missing action creates it', async () => {
    const name = uniqueName('upsert');
    const a = await ow.actions.update({ name, action: await readAction('echo.js'), kind: 'nodejs:default' });
    assert.equal(a.version, '0.0.1');
    assert.equal(annotation(a.annotations, 'provide-api-key'), false);
  });

  test('delete returns the document and the action is gone', async () => {
    const name = uniqueName('delete');
    const created = await createAction(ow, name, 'echo.js', { params: { k: 'v' } });
    const deleted = await ow.actions.delete({ name });
    assert.equal(deleted.name, name);
    assert.equal(deleted.namespace, 'guest');
    assert.equal(deleted.version, created.version);
    assert.equal(deleted.exec.kind, created.exec.kind);
    assert.deepEqual(deleted.parameters, created.parameters);
    assert.deepEqual(deleted.annotations, created.annotations);
    await rejectsWith(ow.actions.get({ name }), 404, MSG.notFound);
    await rejectsWith(ow.actions.delete({ name }), 404, MSG.notFound);
    const list = await ow.actions.list({ limit: 200 });
    assert.ok(!list.some(a => a.name === name), 'deleted action still listed');
    // the name is free again
    const again = await createAction(ow, name, 'hello.js');
    assert.equal(again.version, '0.0.1');
  });

  test('a missing action is 404 for get, delete and invoke', async () => {
    await rejectsWith(ow.actions.get({ name: 'no-such-action' }), 404, MSG.notFound);
    await rejectsWith(ow.actions.delete({ name: 'no-such-action' }), 404, MSG.notFound);
    await rejectsWith(ow.actions.invoke({ name: 'no-such-action' }), 404, MSG.notFound);
    await rejectsWith(ow.actions.invoke({ name: 'no-such-action', blocking: true }), 404, MSG.notFound);
    for (const method of ['GET', 'DELETE', 'POST']) {
      assertErrorBody(await gw.request(method, '/api/v1/namespaces/_/actions/no-such-action'), 404, MSG.notFound);
    }
  });

  test('a duplicate create is 409 resource already exists', async () => {
    const name = uniqueName('dup');
    await createAction(ow, name, 'echo.js');
    await rejectsWith(createAction(ow, name, 'echo.js'), 409, MSG.exists);
    const res = await gw.request('PUT', `/api/v1/namespaces/_/actions/${name}?overwrite=false`,
      { body: { exec: { kind: 'nodejs:default', code: 'function main(){return {}}' } } });
    assertErrorBody(res, 409, MSG.exists);
    assert.equal((await ow.actions.get({ name })).version, '0.0.1', 'the failed create changed nothing');
  });

  test('names are case-sensitive and may contain spaces', async () => {
    const upper = await createAction(ow, 'TWICE', 'echo.js');
    const lower = await createAction(ow, 'twice', 'echo.js');
    assert.equal(upper.name, 'TWICE');
    assert.equal(lower.name, 'twice');
    const spaced = await createAction(ow, 'hello Async', 'echo.js');
    assert.equal(spaced.name, 'hello Async');
    assert.equal((await ow.actions.get({ name: 'hello Async' })).name, 'hello Async');
  });

  test('illegal names are 400', async () => {
    const body = { exec: { kind: 'nodejs:default', code: 'function main(){return {}}' } };
    for (const bad of ['hi+there', '$hola', ' ', 'dora?', '|dora|dora?', 'trailing ']) {
      const p = `/api/v1/namespaces/_/actions/${encodeURIComponent(bad)}`;
      assertErrorBody(await gw.request('PUT', p, { body }), 400, MSG.illegalName);
      assertErrorBody(await gw.request('GET', p), 400, MSG.illegalName);
      assertErrorBody(await gw.request('POST', p, { body: {} }), 400, MSG.illegalName);
    }
    // the empty name addresses the collection, where PUT is not routed
    const empty = await gw.request('PUT', '/api/v1/namespaces/_/actions/', { body });
    assertErrorBody(empty, 404);
    const long = 'a'.repeat(257);
    assertErrorBody(await gw.request('PUT', `/api/v1/namespaces/_/actions/${long}`, { body }), 400,
      'Name segement longer than allowed: 257 > 256.');
    assertErrorBody(await gw.request('GET', '/api/v1/namespaces/%24bad/actions'), 400,
      'The namespace contains illegal characters.');
    const list = await ow.actions.list({ limit: 200 });
    assert.ok(!list.some(a => a.name.includes('hola') || a.name.includes('there')), 'nothing was created');
  });

  test('limits outside the allowed range are 400 allowed threshold; the bounds themselves are fine', async () => {
    const cases = [
      [{ memory: 1024 }, 'memory 1024 MB exceeds allowed threshold of 512 MB'],
      [{ memory: 127 }, 'memory 127 MB below allowed threshold of 128 MB'],
      [{ timeout: 50 }, 'duration 50 milliseconds below allowed threshold of 100 milliseconds'],
      [{ timeout: 300001 }, 'duration 300001 milliseconds exceeds allowed threshold of 300000 milliseconds'],
      [{ logs: 20 }, 'log 20 MB exceeds allowed threshold of 10 MB'],
      [{ concurrency: 501 }, 'concurrency 501 exceeds allowed threshold of 500'], // --max-action-concurrency
      [{ concurrency: 0 }, 'concurrency 0 below allowed threshold of 1'],
    ];
    for (const [limits, msg] of cases) {
      const name = uniqueName('limits');
      await assert.rejects(createAction(ow, name, 'echo.js', { limits }), err => {
        assert.equal(err.statusCode, 400, err.message);
        assert.match(err.error.error, /allowed threshold/);
        assert.ok(err.error.error.includes(msg), `${JSON.stringify(err.error.error)} should include ${JSON.stringify(msg)}`);
        return true;
      });
      await rejectsWith(ow.actions.get({ name }), 404, MSG.notFound);
    }
    for (const limits of [{ timeout: 100, memory: 128, logs: 0 }, { timeout: 300000, memory: 512, logs: 10 }]) {
      const a = await createAction(ow, uniqueName('limits-ok'), 'echo.js', { limits });
      assert.deepEqual(a.limits, { ...limits, concurrency: 1 });
    }
    const many = await createAction(ow, uniqueName('limits-ok'), 'echo.js', { limits: { concurrency: 500 } });
    assert.equal(many.limits.concurrency, 500);
    // an update out of range is refused and leaves the action as it was
    const name = uniqueName('limits-upd');
    const a = await createAction(ow, name, 'echo.js');
    await rejectsWith(ow.actions.update({ name, limits: { memory: 4096 } }), 400);
    assert.deepEqual(await ow.actions.get({ name }), a);
  });

  test('create without exec is 400 exec undefined', async () => {
    const name = uniqueName('noexec');
    await rejectsWith(ow.actions.create({ name, action: {} }), 400, MSG.execUndefined);
    await rejectsWith(ow.actions.create({ name, action: { parameters: [{ key: 'a', value: 1 }] } }), 400, MSG.execUndefined);
    await rejectsWith(ow.actions.get({ name }), 404, MSG.notFound);
  });

  test('an unknown kind is 400 and names the valid kinds', async () => {
    const name = uniqueName('kind');
    await assert.rejects(createAction(ow, name, 'echo.js', { kind: 'bogus:1' }), err => {
      assert.equal(err.statusCode, 400, err.message);
      const msg = err.error.error;
      assert.ok(msg.startsWith('The request content was malformed:\n'), JSON.stringify(msg));
      assert.ok(msg.includes("The specified runtime 'bogus:1' is not supported by this platform. Valid values are: '"), JSON.stringify(msg));
      assert.ok(msg.includes(`'${nodeDefault}'`) && msg.includes(`'${pythonDefault}'`), `valid kinds listed in ${JSON.stringify(msg)}`);
      return true;
    });
    await rejectsWith(createAction(ow, name, 'echo.js', { kind: 'nodejs:1' }), 400);
    await rejectsWith(ow.actions.get({ name }), 404, MSG.notFound);
  });

  test('malformed and empty PUT bodies are 400', async () => {
    const p = `/api/v1/namespaces/_/actions/${uniqueName('body')}`;
    assertErrorBody(await gw.request('PUT', p, { body: '' }), 400);
    assertErrorBody(await gw.request('PUT', p, { body: '{"exec":' }), 400, /^The request content was malformed:\n/);
    assertErrorBody(await gw.request('PUT', p, { body: '[]' }), 400, /^The request content was malformed:\n/);
    assertErrorBody(await gw.request('PUT', p, { body: { exec: { kind: 'nodejs:default', code: 42 } } }), 400,
      /^The request content was malformed:\n/);
    const ct = await gw.request('PUT', p, { body: '{}', headers: { 'Content-Type': 'text/plain' } });
    assertErrorBody(ct, 415);
  });
});
