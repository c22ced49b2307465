// Info endpoints, namespaces, limits, authentication, CORS and request ids.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GUEST_UUID, MSG, assertErrorBody, rejectsWith, startGateway,
} from './lib/gateway.mjs';

const MB = 1024 * 1024;

describe('info, auth and transport', { timeout: 60000 }, () => {
  let gw;
  let ow;
  before(async () => {
    gw = await startGateway({ openwhiskLimits: true }); // the limits test expects OpenWhisk's defaults
    ow = gw.client();
  });
  after(async () => {
    await gw?.cleanup();
  });

  test('GET /ping answers pong', async () => {
    const res = await gw.request('GET', '/ping', { auth: false });
    assert.equal(res.status, 200);
    assert.equal(res.text.trim(), 'pong');
  });

  test('GET /api/v1 needs no auth and carries build and buildno', async () => {
    for (const p of ['/api/v1', '/api/v1/']) {
      const res = await gw.request('GET', p, { auth: false });
      assert.equal(res.status, 200, `${p}: ${res.text}`);
      assert.match(res.headers.get('content-type'), /^application\/json/);
      assert.equal(res.body.description, 'OpenWhisk API');
      assert.equal(res.body.api_version, '1.0.0');
      assert.equal(res.body.api_version_path, 'v1');
      assert.equal(typeof res.body.build, 'string');
      assert.ok(res.body.build.length > 0, 'build is empty');
      assert.equal(typeof res.body.buildno, 'string');
      assert.ok(res.body.buildno.length > 0, 'buildno is empty');
      assert.deepEqual(res.body.swagger_paths, { ui: '/docs', 'api-docs': '/api-docs' });
    }
  });

  test('GET / lists the nodejs and python runtimes and the limits', async () => {
    const res = await gw.request('GET', '/', { auth: false });
    assert.equal(res.status, 200, res.text);
    const info = res.body;
    assert.equal(info.description, 'OpenWhisk');
    assert.deepEqual(info.api_paths, ['/api/v1']);
    assert.equal(typeof info.support, 'object');
    for (const family of ['nodejs', 'python']) {
      const list = info.runtimes[family];
      assert.ok(Array.isArray(list) && list.length > 0, `runtimes.${family} missing in ${JSON.stringify(info.runtimes)}`);
      for (const rt of list) {
        assert.deepEqual(Object.keys(rt).sort(), ['attached', 'default', 'deprecated', 'image', 'kind', 'requireMain'],
          `fields of ${JSON.stringify(rt)}`);
        assert.match(rt.kind, new RegExp(`^${family}:\\d+(\\.\\d+)?$`));
        for (const f of ['attached', 'default', 'deprecated', 'requireMain']) assert.equal(typeof rt[f], 'boolean');
      }
      assert.equal(list.filter(rt => rt.default).length, 1, `exactly one default ${family} kind`);
    }
    const l = info.limits;
    assert.equal(l.min_action_duration, 100);
    assert.equal(l.max_action_duration, 300000);
    assert.equal(l.min_action_memory, 128 * MB);
    assert.equal(l.max_action_memory, 512 * MB);
    assert.equal(l.min_action_logs, 0);
    assert.equal(l.max_action_logs, 10 * MB);
    assert.equal(l.sequence_length, 50);
    assert.equal(l.min_action_concurrency, 1);
    assert.equal(l.max_action_concurrency, 500); // --max-action-concurrency
    for (const f of ['actions_per_minute', 'triggers_per_minute', 'concurrent_actions',
      'default_min_action_duration', 'default_max_action_duration', 'default_min_action_memory',
      'default_max_action_memory', 'default_min_action_logs', 'default_max_action_logs']) {
      assert.equal(typeof l[f], 'number', `limits.${f}`);
    }
  });

  test('namespaces.list returns only the caller\'s namespace', async () => {
    assert.deepEqual(await ow.namespaces.list(), ['guest']);
  });

  test('GET /namespaces/_/limits returns the effective limits', async () => {
    const res = await gw.request('GET', '/api/v1/namespaces/_/limits');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, {
      invocationsPerMinute: 60, concurrentInvocations: 30, firesPerMinute: 60,
      minActionMemory: 128, maxActionMemory: 512, minActionLogs: 0, maxActionLogs: 10,
      minActionTimeout: 100, maxActionTimeout: 300000, minActionConcurrency: 1, maxActionConcurrency: 500,
      maxParameterSize: '1 MB', maxActionInstances: 30,
    });
    const own = await gw.request('GET', '/api/v1/namespaces/guest/limits');
    assert.deepEqual(own.body, res.body);
  });

  test('a wrong key gives 401 The supplied authentication is invalid', async () => {
    const wrongKey = `${GUEST_UUID}:${'x'.repeat(64)}`;
    await rejectsWith(gw.client(wrongKey).actions.list(), 401, MSG.authInvalid);
    await rejectsWith(gw.client(`${GUEST_UUID}:short`).namespaces.list(), 401, MSG.authInvalid);
    await rejectsWith(gw.client(`00000000-0000-0000-0000-000000000000:${'k'.repeat(64)}`).actions.list(), 401, MSG.authInvalid);
    const res = await gw.request('GET', '/api/v1/namespaces/_/actions', { auth: wrongKey });
    assertErrorBody(res, 401, MSG.authInvalid);
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="OpenWhisk secure realm"');
  });

  test('no credentials give 401 with the authentication-required message', async () => {
    for (const p of ['/api/v1/namespaces', '/api/v1/namespaces/_/actions', '/api/v1/namespaces/_/activations']) {
      const res = await gw.request('GET', p, { auth: false });
      assertErrorBody(res, 401, MSG.authMissing);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="OpenWhisk secure realm"');
    }
  });

  test('OPTIONS under /api/v1 answers 200 with the CORS headers and no auth', async () => {
    for (const p of ['/api/v1', '/api/v1/namespaces/_/actions', '/api/v1/namespaces/_/actions/nope']) {
      const res = await gw.request('OPTIONS', p, { auth: false });
      assert.equal(res.status, 200, `${p}: ${res.text}`);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal(res.headers.get('access-control-allow-methods'), 'GET, DELETE, POST, PUT, HEAD');
      assert.equal(res.headers.get('access-control-allow-headers'),
        'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent');
    }
    const get = await gw.request('GET', '/api/v1/namespaces/_/actions');
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('access-control-allow-origin'), '*');
  });

  test('X-Request-ID is generated, echoed, and replaced when it starts with sid_', async () => {
    const gen = await gw.request('GET', '/api/v1/namespaces');
    assert.match(gen.headers.get('x-request-id') || '', /^[A-Za-z0-9]{32}$/);
    const again = await gw.request('GET', '/api/v1/namespaces');
    assert.notEqual(again.headers.get('x-request-id'), gen.headers.get('x-request-id'), 'ids must differ per request');

    const mine = await gw.request('GET', '/api/v1/namespaces/_/actions/missing', { headers: { 'X-Request-ID': 'my-tid-42' } });
    assert.equal(mine.headers.get('x-request-id'), 'my-tid-42');
    assertErrorBody(mine, 404, MSG.notFound);
    assert.equal(mine.body.code, 'my-tid-42');

    const sid = await gw.request('GET', '/api/v1/namespaces', { headers: { 'X-Request-ID': 'sid_abc' } });
    assert.match(sid.headers.get('x-request-id') || '', /^[A-Za-z0-9]{32}$/);

    const unauth = await gw.request('GET', '/api/v1/namespaces', { auth: false });
    assert.match(unauth.headers.get('x-request-id') || '', /^[A-Za-z0-9]{32}$/);
  });
});
