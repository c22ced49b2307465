// wskdeploy: test/wskdeploy/manifest.yaml deployed, redeployed and
// undeployed through the exact REST calls wskdeploy makes for it (same
// order, paths, query strings and bodies, down to the whisk-managed
// annotation of a --managed deployment), recorded from a real wskdeploy run
// against kwhisk through a logging proxy. wskdeploy itself is not
// available here, so this replays its calls, and checks in between that
// the deployed entities work: the sequence runs, the trigger's rule runs
// it, the web action answers, and undeploy leaves nothing behind.
//
// To re-record after changing the manifest: run `wskdeploy -m
// test/wskdeploy/manifest.yaml --managed`, `wskdeploy undeploy -m ...` and
// `wskdeploy undeploy --projectname kwhisk-demo` from the repository root
// against a `kwhisk serve` behind a proxy that logs requests, and update
// the call lists below (the manifest check at the top fails until then).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GUEST_AUTH, HEX32, MSG, annotation, authHeader, kvObject, pollActivation, readAction, startGateway, waitForActivations,
} from './lib/gateway.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const MANIFEST_PATH = path.resolve(here, '..', 'wskdeploy', 'manifest.yaml');
const PROJECT = 'kwhisk-demo';
// The manifest's hash as wskdeploy computes it for whisk-managed:
// SHA1("OpenWhisk" + the size as one character + "golang\0" + contents).
const PROJECT_HASH = '9f202160a16d6efd2a46c32089afa61b555d5421';

// The annotation wskdeploy --managed puts on every entity it deploys; file
// is the manifest path as given on its command line.
const MANAGED = {
  key: 'whisk-managed',
  value: { file: 'test/wskdeploy/manifest.yaml', projectDeps: [], projectHash: PROJECT_HASH, projectName: PROJECT },
};

const NS = '/api/v1/namespaces/_';

// deployCalls are the calls of `wskdeploy -m manifest.yaml --managed`, in
// order. A body is sent exactly as wskdeploy's Go client encodes it: keys
// in this order, then a newline.
function deployCalls(code) {
  return [
    { method: 'GET', path: '/', anonymous: true },
    {
      method: 'PUT', path: `${NS}/packages/kwdemo?overwrite=true`,
      body: {
        name: 'kwdemo', version: '1.0.0', publish: false, annotations: [MANAGED],
        parameters: [{ key: 'greeting', value: 'Howdy' }, { key: 'place', value: 'kwhisk' }],
      },
    },
    {
      method: 'PUT', path: `${NS}/actions/kwdemo/webecho?overwrite=true`,
      body: {
        name: 'kwdemo/webecho', exec: { kind: 'nodejs:default', code: code.echo },
        annotations: [MANAGED, { key: 'web-export', value: true }, { key: 'raw-http', value: false }, { key: 'final', value: true }],
        publish: false,
      },
    },
    {
      method: 'PUT', path: `${NS}/actions/kwdemo/greet?overwrite=true`,
      body: {
        name: 'kwdemo/greet', exec: { kind: 'nodejs:default', code: code.greet }, annotations: [MANAGED],
        parameters: [{ key: 'name', value: 'partner' }], publish: false,
      },
    },
    {
      method: 'PUT', path: `${NS}/actions/kwdemo/shout?overwrite=true`,
      body: { name: 'kwdemo/shout', exec: { kind: 'python:default', code: code.shout }, annotations: [MANAGED], publish: false },
    },
    {
      method: 'PUT', path: `${NS}/actions/kwdemo/greet-shout?overwrite=true`,
      body: {
        namespace: '_', name: 'kwdemo/greet-shout',
        exec: { kind: 'sequence', components: ['/_/kwdemo/greet', '/_/kwdemo/shout'] }, annotations: [MANAGED], publish: false,
      },
    },
    {
      method: 'PUT', path: `${NS}/triggers/kwdemo-trigger?overwrite=true`,
      body: { name: 'kwdemo-trigger', annotations: [MANAGED], parameters: [{ key: 'name', value: 'trigger' }], publish: false },
    },
    {
      method: 'PUT', path: `${NS}/rules/kwdemo-rule?overwrite=true`,
      body: {
        name: 'kwdemo-rule', annotations: [MANAGED], status: '', trigger: '/_/kwdemo-trigger', action: '/_/kwdemo/greet-shout',
        publish: false,
      },
    },
    { method: 'POST', path: `${NS}/rules/kwdemo-rule`, body: { status: 'active', trigger: null, action: null } },
    // A managed deployment then looks for entities of the project that the
    // manifest no longer has, to remove them.
    { method: 'GET', path: `${NS}/triggers?limit=0&skip=0` },
    { method: 'GET', path: `${NS}/rules?limit=0&skip=0` },
    { method: 'GET', path: `${NS}/packages?limit=0&skip=0` },
    { method: 'GET', path: `${NS}/actions/kwdemo/?limit=0&skip=0` },
    {
      method: 'PUT', path: `${NS}/packages/kwdemo?overwrite=true`,
      body: {
        name: 'kwdemo', version: '1.0.0', publish: false, annotations: [MANAGED],
        parameters: [{ key: 'greeting', value: 'Howdy' }, { key: 'place', value: 'kwhisk' }],
      },
    },
  ];
}

// UNDEPLOY are the calls of `wskdeploy undeploy -m manifest.yaml`.
const UNDEPLOY = [
  { method: 'GET', path: '/', anonymous: true },
  { method: 'GET', path: `${NS}/rules/kwdemo-rule` },
  { method: 'DELETE', path: `${NS}/rules/kwdemo-rule` },
  { method: 'GET', path: `${NS}/triggers/kwdemo-trigger` },
  { method: 'DELETE', path: `${NS}/triggers/kwdemo-trigger` },
  { method: 'GET', path: `${NS}/actions/kwdemo/greet-shout?code=false` },
  { method: 'DELETE', path: `${NS}/actions/kwdemo/greet-shout` },
  { method: 'GET', path: `${NS}/actions/kwdemo/shout?code=false` },
  { method: 'DELETE', path: `${NS}/actions/kwdemo/shout` },
  { method: 'GET', path: `${NS}/actions/kwdemo/webecho?code=false` },
  { method: 'DELETE', path: `${NS}/actions/kwdemo/webecho` },
  { method: 'GET', path: `${NS}/actions/kwdemo/greet?code=false` },
  { method: 'DELETE', path: `${NS}/actions/kwdemo/greet` },
  { method: 'GET', path: `${NS}/packages/kwdemo` },
  { method: 'DELETE', path: `${NS}/packages/kwdemo` },
];

// UNDEPLOY_PROJECT are the calls of `wskdeploy undeploy --projectname
// kwhisk-demo`: it finds the project's entities by their whisk-managed
// annotation, then deletes them.
const UNDEPLOY_PROJECT = [
  { method: 'GET', path: '/', anonymous: true },
  { method: 'GET', path: `${NS}/packages?limit=0&skip=0` },
  { method: 'GET', path: `${NS}/packages/kwdemo` },
  { method: 'GET', path: `${NS}/actions/kwdemo/?limit=0&skip=0` },
  { method: 'GET', path: `${NS}/actions/kwdemo/greet-shout?code=false` },
  { method: 'GET', path: `${NS}/actions/kwdemo/greet?code=false` },
  { method: 'GET', path: `${NS}/actions/kwdemo/webecho?code=false` },
  { method: 'GET', path: `${NS}/actions/kwdemo/shout?code=false` },
  { method: 'GET', path: `${NS}/triggers?limit=0&skip=0` },
  { method: 'GET', path: `${NS}/triggers/kwdemo-trigger` },
  { method: 'GET', path: `${NS}/rules?limit=0&skip=0` },
  { method: 'GET', path: `${NS}/rules/kwdemo-rule` },
  { method: 'GET', path: `${NS}/rules/kwdemo-rule` },
  { method: 'DELETE', path: `${NS}/rules/kwdemo-rule` },
  { method: 'GET', path: `${NS}/triggers/kwdemo-trigger` },
  { method: 'DELETE', path: `${NS}/triggers/kwdemo-trigger` },
  { method: 'GET', path: `${NS}/actions/kwdemo/greet-shout?code=false` },
  { method: 'DELETE', path: `${NS}/actions/kwdemo/greet-shout` },
  { method: 'GET', path: `${NS}/actions/kwdemo/greet?code=false` },
  { method: 'DELETE', path: `${NS}/actions/kwdemo/greet` },
  { method: 'GET', path: `${NS}/actions/kwdemo/webecho?code=false` },
  { method: 'DELETE', path: `${NS}/actions/kwdemo/webecho` },
  { method: 'GET', path: `${NS}/actions/kwdemo/shout?code=false` },
  { method: 'DELETE', path: `${NS}/actions/kwdemo/shout` },
  { method: 'GET', path: `${NS}/packages/kwdemo` },
  { method: 'DELETE', path: `${NS}/packages/kwdemo` },
];

// isManaged tells whether an entity carries this project's annotation, as
// wskdeploy decides it.
function isManaged(entity) {
  const v = annotation(entity.annotations, 'whisk-managed');
  return v !== undefined && v.projectName === PROJECT && v.projectHash === PROJECT_HASH;
}

describe('wskdeploy', { timeout: 90000 }, () => {
  let gw;
  let ow;
  let code;
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
    code = { echo: await readAction('echo.js'), greet: await readAction('greet.js'), shout: await readAction('shout.py') };
  });
  after(async () => {
    await gw?.cleanup();
  });

  // replay sends calls as wskdeploy does, expects 200 for each, and
  // returns the parsed response bodies by "METHOD path".
  async function replay(calls) {
    const seen = new Map();
    for (const call of calls) {
      const headers = call.anonymous
        ? { 'User-Agent': 'Go-http-client/1.1', 'Content-Type': 'application/json; charset=UTF-8' }
        : { 'User-Agent': 'OpenWhisk-Go-Client linux amd64', Authorization: authHeader(GUEST_AUTH) };
      let body;
      if (call.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(call.body) + '\n';
      }
      const res = await fetch(gw.apihost + call.path, { method: call.method, headers, body });
      const text = await res.text();
      assert.equal(res.status, 200, `${call.method} ${call.path}: ${res.status} ${text}`);
      let parsed = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // the rule status POST answers plain OK
      }
      seen.set(`${call.method} ${call.path}`, parsed);
    }
    return seen;
  }

  // gone asserts nothing of the project is left.
  async function gone() {
    assert.deepEqual(await ow.packages.list(), []);
    assert.deepEqual(await ow.actions.list(), []);
    assert.deepEqual(await ow.triggers.list(), []);
    assert.deepEqual(await ow.rules.list(), []);
    const fire = await gw.request('POST', `${NS}/triggers/kwdemo-trigger`, { body: {} });
    assert.equal(fire.status, 404);
    const invoke = await gw.request('POST', `${NS}/actions/kwdemo/greet-shout?blocking=true`, { body: {} });
    assert.equal(invoke.status, 404);
    const web = await gw.request('GET', '/api/v1/web/guest/kwdemo/webecho.json', { auth: false });
    assert.equal(web.status, 404);
  }

  test('the recorded calls belong to test/wskdeploy/manifest.yaml', async () => {
    const manifest = await readFile(MANIFEST_PATH);
    const hash = createHash('sha1')
      .update(Buffer.concat([Buffer.from(`OpenWhisk${String.fromCodePoint(manifest.length)}golang\0`), manifest]))
      .digest('hex');
    assert.equal(hash, PROJECT_HASH, 'the manifest changed since the calls were recorded: re-record them (see the top of this file)');
    const text = manifest.toString();
    for (const needle of [`name: ${PROJECT}`, 'kwdemo:', 'greet:', 'shout:', 'webecho:', 'greet-shout:', 'kwdemo-trigger:',
      'kwdemo-rule:', '../actions/greet.js', '../actions/shout.py', '../actions/echo.js']) {
      assert.ok(text.includes(needle), `manifest mentions ${needle}`);
    }
  });

  test('deploy: every call succeeds and the entities carry whisk-managed', async () => {
    const seen = await replay(deployCalls(code));
    // wskdeploy reads the runtimes to resolve nodejs:default and python:default.
    const info = seen.get('GET /');
    assert.ok(info.runtimes.nodejs.some(r => r.default), 'a default nodejs kind');
    assert.ok(info.runtimes.python.some(r => r.default), 'a default python kind');

    const pkg = seen.get(`PUT ${NS}/packages/kwdemo?overwrite=true`);
    assert.equal(pkg.version, '1.0.0');
    assert.deepEqual(annotation(pkg.annotations, 'whisk-managed'), MANAGED.value, 'whisk-managed round-trips exactly');
    const seq = seen.get(`PUT ${NS}/actions/kwdemo/greet-shout?overwrite=true`);
    assert.deepEqual(seq.exec.components, ['/guest/kwdemo/greet', '/guest/kwdemo/shout']);
    assert.equal(seen.get(`PUT ${NS}/actions/kwdemo/shout?overwrite=true`).exec.kind.startsWith('python:'), true);
    const rule = seen.get(`PUT ${NS}/rules/kwdemo-rule?overwrite=true`);
    assert.equal(rule.status, 'active');
    assert.deepEqual(rule.action, { path: 'guest/kwdemo', name: 'greet-shout' });
    assert.equal(seen.get(`POST ${NS}/rules/kwdemo-rule`), 'OK');

    // What the managed refresh reads: every entity of the project is found
    // by its annotation.
    assert.deepEqual(seen.get(`GET ${NS}/triggers?limit=0&skip=0`).filter(isManaged).map(t => t.name), ['kwdemo-trigger']);
    assert.deepEqual(seen.get(`GET ${NS}/rules?limit=0&skip=0`).filter(isManaged).map(r => r.name), ['kwdemo-rule']);
    assert.deepEqual(seen.get(`GET ${NS}/packages?limit=0&skip=0`).filter(isManaged).map(p => p.name), ['kwdemo']);
    assert.deepEqual(seen.get(`GET ${NS}/actions/kwdemo/?limit=0&skip=0`).filter(isManaged).map(a => a.name).sort(),
      ['greet', 'greet-shout', 'shout', 'webecho']);

    const got = await ow.packages.get({ name: 'kwdemo' });
    assert.deepEqual(kvObject(got.parameters), { greeting: 'Howdy', place: 'kwhisk' });
    assert.deepEqual(got.actions.map(a => a.name).sort(), ['greet', 'greet-shout', 'shout', 'webecho']);
    const web = await ow.actions.get({ name: 'kwdemo/webecho' });
    assert.deepEqual(kvObject(web.annotations), {
      'whisk-managed': MANAGED.value, 'web-export': true, 'raw-http': false, final: true, 'provide-api-key': false, exec: web.exec.kind,
    });
  });

  test('the deployed project works: sequence, trigger → rule → sequence, web action', async () => {
    const rec = await ow.actions.invoke({ name: 'kwdemo/greet-shout', blocking: true, params: { name: 'Ann' } });
    assert.equal(rec.response.status, 'success');
    assert.deepEqual(rec.response.result, { message: 'HOWDY, ANN!', place: 'kwhisk', by: 'python' },
      'package parameters reach the nodejs component; its result reaches the python one');
    assert.equal(rec.logs.length, 2);

    const since = Date.now();
    const fired = await ow.triggers.invoke({ name: 'kwdemo-trigger' });
    assert.match(fired.activationId, HEX32);
    const trec = await pollActivation(ow, fired.activationId);
    const [entry] = trec.logs.map(l => JSON.parse(l));
    assert.deepEqual({ ...entry, activationId: undefined },
      { statusCode: 0, success: true, rule: 'guest/kwdemo-rule', action: 'guest/kwdemo/greet-shout', activationId: undefined });
    const [run] = await waitForActivations(ow, { name: 'kwdemo/greet-shout', since });
    assert.equal(run.activationId, entry.activationId);
    assert.equal(run.response.result.message, 'HOWDY, TRIGGER!', 'the trigger\'s parameter reached the sequence');

    const web = await gw.request('GET', '/api/v1/web/guest/kwdemo/webecho.json?x=1', { auth: false });
    assert.equal(web.status, 200, web.text);
    assert.equal(web.body.greeting, 'Howdy');
    assert.equal(web.body.x, '1');
    const override = await gw.request('GET', '/api/v1/web/guest/kwdemo/webecho.json?greeting=Hi', { auth: false });
    assert.equal(override.status, 400, 'web: true is final: package parameters cannot be overridden');
    assert.equal(override.body.error, MSG.reserved);
  });

  test('a second deploy of the same manifest updates in place and keeps the rule active', async () => {
    const seen = await replay(deployCalls(code));
    assert.equal(seen.get(`PUT ${NS}/triggers/kwdemo-trigger?overwrite=true`).version, '0.0.2');
    assert.equal(seen.get(`PUT ${NS}/rules/kwdemo-rule?overwrite=true`).status, 'active');
    assert.equal(seen.get(`PUT ${NS}/actions/kwdemo/greet?overwrite=true`).version, '0.0.2');
    assert.equal((await ow.actions.list()).length, 4);
    const res = await ow.actions.invoke({ name: 'kwdemo/greet-shout', blocking: true, result: true });
    assert.equal(res.message, 'HOWDY, PARTNER!');
  });

  test('undeploy -m removes everything cleanly', async () => {
    const seen = await replay(UNDEPLOY);
    assert.equal(seen.get(`DELETE ${NS}/rules/kwdemo-rule`).status, 'inactive');
    assert.equal(seen.get(`DELETE ${NS}/packages/kwdemo`).name, 'kwdemo');
    await gone();
  });

  test('undeploy --projectname finds the project by its annotation and removes it', async () => {
    await replay(deployCalls(code));
    const seen = await replay(UNDEPLOY_PROJECT);
    assert.deepEqual(seen.get(`GET ${NS}/packages?limit=0&skip=0`).filter(isManaged).map(p => p.name), ['kwdemo']);
    assert.ok(isManaged(seen.get(`GET ${NS}/packages/kwdemo`)));
    for (const a of ['greet', 'greet-shout', 'shout', 'webecho']) {
      assert.ok(isManaged(seen.get(`GET ${NS}/actions/kwdemo/${a}?code=false`)), `${a} is managed`);
    }
    assert.ok(isManaged(seen.get(`GET ${NS}/triggers/kwdemo-trigger`)));
    assert.ok(isManaged(seen.get(`GET ${NS}/rules/kwdemo-rule`)));
    await gone();
  });
});
