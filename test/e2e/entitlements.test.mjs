// Entitlements across namespaces (WskEntitlementTests): another
// namespace's private entities are 403 (never 404, so existence does not
// leak); shared packages are readable, bindable and invocable by others but
// never writable; activations of a shared action are recorded in the
// caller's namespace, which is also the action's __OW_NAMESPACE.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MSG, SYSTEM_AUTH, annotation, assertErrorBody, createAction, kvObject, pollActivation, readAction, rejectsWith,
  startGateway, uniqueName,
} from './lib/gateway.mjs';

const OTHER = 'other';

// notAuthorized is the 403 text naming one resource.
function notAuthorized(resource) {
  return `The supplied authentication is not authorized to access '${resource}'.`;
}

describe('entitlements', { timeout: 90000 }, () => {
  let gw;
  let guest; // client of the owner, "guest"
  let other; // client of a second namespace
  let otherAuth;
  let shared; // a published package of guest with actions echo and context
  let secret; // a private package of guest with action echo
  let privateAction; // a guest action outside packages
  before(async () => {
    gw = await startGateway();
    guest = gw.client();
    otherAuth = await gw.createNamespace(OTHER);
    other = gw.client(otherAuth);
    shared = uniqueName('shared');
    secret = uniqueName('secret');
    privateAction = uniqueName('mine');
    await guest.packages.create({ name: shared, package: { publish: true, parameters: [{ key: 'owner', value: 'guest' }] } });
    await createAction(guest, `${shared}/echo`, 'echo.js');
    await createAction(guest, `${shared}/context`, 'context.js');
    await guest.packages.create({ name: secret });
    await createAction(guest, `${secret}/echo`, 'echo.js');
    await createAction(guest, privateAction, 'echo.js');
  });
  after(async () => {
    await gw?.cleanup();
  });

  test('a new namespace sees only itself', async () => {
    assert.deepEqual(await other.namespaces.list(), [OTHER]);
    assert.deepEqual(await other.actions.list(), []);
  });

  test('another namespace\'s private action is 403 for get, update, delete and invoke', async () => {
    const name = `/guest/${privateAction}`;
    const msg = notAuthorized(`guest/${privateAction}`);
    await rejectsWith(other.actions.get({ name }), 403, msg);
    await rejectsWith(other.actions.invoke({ name, blocking: true }), 403, msg);
    await rejectsWith(other.actions.delete({ name }), 403, msg);
    const code = await readAction('echo.js');
    await rejectsWith(other.actions.update({ name, action: code }), 403, msg);
    // A missing action in another namespace is 403 as well.
    await rejectsWith(other.actions.get({ name: `/guest/${uniqueName('nothing')}` }), 403);
    // The owner still has it, unchanged.
    assert.equal((await guest.actions.get({ name: privateAction })).version, '0.0.1');
  });

  test('another namespace\'s collections are 403 to list', async () => {
    for (const collection of ['actions', 'triggers', 'rules', 'activations']) {
      const res = await gw.request('GET', `/api/v1/namespaces/guest/${collection}`, { auth: otherAuth });
      assertErrorBody(res, 403, MSG.notAuthorized);
    }
  });

  test('a sequence over another namespace\'s private action is 403 at create', async () => {
    const res = await gw.request('PUT', `/api/v1/namespaces/_/actions/${uniqueName('seq')}`, {
      auth: otherAuth, body: { exec: { kind: 'sequence', components: [`/guest/${privateAction}`] } },
    });
    assertErrorBody(res, 403, notAuthorized(`guest/${privateAction}`));
  });

  test('a shared package and its actions are readable and invocable by others', async () => {
    const pkg = await other.packages.get({ name: `/guest/${shared}` });
    assert.equal(pkg.namespace, 'guest');
    assert.equal(pkg.publish, true);
    assert.deepEqual(pkg.actions.map(a => a.name).sort(), ['context', 'echo']);

    const action = await other.actions.get({ name: `/guest/${shared}/echo` });
    assert.equal(action.namespace, `guest/${shared}`);
    assert.deepEqual(kvObject(action.parameters), { owner: 'guest' });

    const listed = await gw.request('GET', `/api/v1/namespaces/guest/actions/${shared}/`, { auth: otherAuth });
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(listed.body.map(a => a.name).sort(), ['context', 'echo']);

    // The activation is the caller's: recorded in its namespace with the
    // action's own path, and __OW_NAMESPACE is the caller's.
    const rec = await other.actions.invoke({ name: `/guest/${shared}/echo`, blocking: true, params: { x: 1 } });
    assert.equal(rec.namespace, OTHER);
    assert.equal(rec.subject, OTHER);
    assert.deepEqual(rec.response.result, { owner: 'guest', x: 1 });
    assert.equal(annotation(rec.annotations, 'path'), `guest/${shared}/echo`);
    assert.equal((await other.activations.get({ activationId: rec.activationId })).activationId, rec.activationId);
    await rejectsWith(guest.activations.get({ activationId: rec.activationId }), 404);

    const ctx = await other.actions.invoke({ name: `/guest/${shared}/context`, blocking: true, result: true });
    assert.equal(ctx.namespace, OTHER, '__OW_NAMESPACE is the caller\'s');
    assert.equal(ctx.action_name, `/guest/${shared}/context`);
  });

  test('a shared package is never writable by others', async () => {
    const code = await readAction('echo.js');
    await rejectsWith(other.actions.create({ name: `/guest/${shared}/new`, action: code }), 403);
    await rejectsWith(other.actions.update({ name: `/guest/${shared}/echo`, action: code }), 403);
    await rejectsWith(other.actions.delete({ name: `/guest/${shared}/echo` }), 403);
    await rejectsWith(other.packages.update({ name: `/guest/${shared}`, package: { publish: false } }), 403);
    await rejectsWith(other.packages.delete({ name: `/guest/${shared}` }), 403);
    const pkg = await guest.packages.get({ name: shared });
    assert.equal(pkg.version, '0.0.1');
    assert.equal(pkg.publish, true);
    assert.deepEqual(pkg.actions.map(a => a.name).sort(), ['context', 'echo']);
  });

  test('private and missing packages of others are 403, not 404', async () => {
    await rejectsWith(other.packages.get({ name: `/guest/${secret}` }), 403, notAuthorized(`guest/${secret}`));
    await rejectsWith(other.actions.get({ name: `/guest/${secret}/echo` }), 403);
    await rejectsWith(other.actions.invoke({ name: `/guest/${secret}/echo`, blocking: true }), 403);
    const list = await gw.request('GET', `/api/v1/namespaces/guest/actions/${secret}/`, { auth: otherAuth });
    assertErrorBody(list, 403);
    await rejectsWith(other.packages.get({ name: `/guest/${uniqueName('nopkg')}` }), 403);
    await rejectsWith(other.packages.get({ name: `/${uniqueName('nons')}/${uniqueName('pkg')}` }), 403);
    const system = gw.client(SYSTEM_AUTH);
    await rejectsWith(system.packages.get({ name: `/guest/${uniqueName('nopkg')}` }), 403);
    await rejectsWith(guest.packages.get({ name: `/whisk.system/${uniqueName('nopkg')}` }), 403);
  });

  test('listing another namespace\'s packages shows shared ones only; publish flips it', async () => {
    const flip = uniqueName('flip');
    await guest.packages.create({ name: flip });
    const bnd = uniqueName('bnd');
    await guest.packages.create({ name: bnd, package: { binding: { namespace: 'guest', name: shared } } });

    const names = async () => (await other.packages.list({ namespace: 'guest' })).map(p => p.name);
    let seen = await names();
    assert.ok(seen.includes(shared), `shared package listed: ${seen}`);
    assert.ok(!seen.includes(secret), 'a private package is hidden');
    assert.ok(!seen.includes(flip));
    assert.ok(!seen.includes(bnd), 'bindings are never listed to others');
    assert.ok((await other.packages.list({ namespace: 'guest' })).every(p => p.publish === true && p.binding === false));

    await guest.packages.update({ name: flip, package: { publish: true } });
    seen = await names();
    assert.ok(seen.includes(flip), 'published now');
    const { packages: count } = await other.packages.list({ namespace: 'guest', count: true });
    assert.equal(count, seen.length);
    await guest.packages.update({ name: flip, package: { publish: false } });
    assert.ok(!(await names()).includes(flip), 'private again');
    assert.ok((await guest.packages.list()).some(p => p.name === bnd), 'the owner sees its bindings');
  });

  test('others can bind to a shared package but not to a private one', async () => {
    const bnd = uniqueName('bnd');
    const created = await other.packages.create({
      name: bnd,
      package: {
        binding: { namespace: 'guest', name: shared },
        parameters: [{ key: 'by', value: OTHER }],
        annotations: [{ key: 'binding', value: 'user supplied' }],
      },
    });
    assert.equal(created.namespace, OTHER);
    assert.deepEqual(created.binding, { namespace: 'guest', name: shared });
    assert.deepEqual(annotation(created.annotations, 'binding'), { namespace: 'guest', name: shared });
    assert.equal(created.annotations.filter(kv => kv.key === 'binding').length, 1);

    const got = await other.packages.get({ name: bnd });
    assert.deepEqual(kvObject(got.parameters), { owner: 'guest', by: OTHER });
    assert.deepEqual(got.actions.map(a => a.name).sort(), ['context', 'echo']);

    const rec = await other.actions.invoke({ name: `${bnd}/echo`, blocking: true, params: { x: 2 } });
    assert.deepEqual(rec.response.result, { owner: 'guest', by: OTHER, x: 2 });
    assert.equal(rec.namespace, OTHER);
    assert.equal(annotation(rec.annotations, 'binding'), `${OTHER}/${bnd}`);
    assert.equal(annotation(rec.annotations, 'path'), `guest/${shared}/echo`);

    await rejectsWith(other.packages.create({ name: uniqueName('bnd'), package: { binding: { namespace: 'guest', name: secret } } }),
      403, notAuthorized(`guest/${secret}`));
    await rejectsWith(other.packages.create({ name: uniqueName('bnd'), package: { binding: { namespace: 'guest', name: uniqueName('nopkg') } } }),
      403);
  });

  test('a sequence over shared actions runs; once the package is private it is 403', async () => {
    const pkg = uniqueName('seqpkg');
    await guest.packages.create({ name: pkg, package: { publish: true, parameters: [{ key: 'p', value: 'P' }] } });
    await createAction(guest, `${pkg}/echo`, 'echo.js');
    const seq = uniqueName('seq');
    const created = await other.actions.create({ name: seq, sequence: [`/guest/${pkg}/echo`, `/guest/${shared}/echo`] });
    assert.deepEqual(created.exec.components, [`/guest/${pkg}/echo`, `/guest/${shared}/echo`]);

    const ok = await other.actions.invoke({ name: seq, blocking: true, params: { x: 3 } });
    assert.equal(ok.response.status, 'success');
    assert.deepEqual(ok.response.result, { p: 'P', owner: 'guest', x: 3 });
    assert.equal(ok.namespace, OTHER);
    assert.equal(ok.logs.length, 2);
    const first = await pollActivation(other, ok.logs[0]);
    assert.equal(first.namespace, OTHER, 'components are recorded in the caller\'s namespace');

    await guest.packages.update({ name: pkg, package: { publish: false } });
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${seq}?blocking=true`, { auth: otherAuth, body: {} });
    assertErrorBody(res, 403, notAuthorized(`guest/${pkg}/echo`));
    assert.equal(res.headers.get('x-openwhisk-activation-id'), null, 'nothing ran');
  });

  test('rules: another namespace\'s private action is 403; a shared one runs for the rule\'s owner', async () => {
    const trigger = uniqueName('trg');
    await other.triggers.create({ name: trigger });
    const bad = await gw.request('PUT', `/api/v1/namespaces/_/rules/${uniqueName('rule')}`, {
      auth: otherAuth, body: { trigger: `/_/${trigger}`, action: `/guest/${privateAction}` },
    });
    assertErrorBody(bad, 403, notAuthorized(`guest/${privateAction}`));

    const rule = uniqueName('rule');
    const created = await other.rules.create({ name: rule, trigger, action: `/guest/${shared}/echo` });
    assert.deepEqual(created.action, { path: `guest/${shared}`, name: 'echo' });
    const since = Date.now();
    const fired = await other.triggers.invoke({ name: trigger, params: { y: 1 } });
    const trec = await pollActivation(other, fired.activationId);
    const entry = JSON.parse(trec.logs[0]);
    assert.equal(entry.success, true, trec.logs[0]);
    const arec = await pollActivation(other, entry.activationId);
    assert.equal(arec.namespace, OTHER);
    assert.equal(arec.response.result.y, 1);
    assert.equal(arec.response.result.owner, 'guest');
    assert.ok(arec.start >= since);

    // Others cannot touch guest's triggers and rules.
    const gtrigger = uniqueName('gtrg');
    await guest.triggers.create({ name: gtrigger });
    await rejectsWith(other.triggers.get({ name: `/guest/${gtrigger}` }), 403);
    await rejectsWith(other.triggers.invoke({ name: `/guest/${gtrigger}` }), 403);
    await rejectsWith(other.triggers.delete({ name: `/guest/${gtrigger}` }), 403);
    assert.equal((await guest.triggers.get({ name: gtrigger })).name, gtrigger);

    // Nor name guest's trigger in a rule of their own: 403, nothing written.
    const stolen = uniqueName('rule');
    await rejectsWith(
      other.rules.create({ name: stolen, trigger: `/guest/${gtrigger}`, action: `/guest/${shared}/echo` }),
      403, notAuthorized(`guest/${gtrigger}`));
    await rejectsWith(other.rules.get({ name: stolen }), 404);
    assert.deepEqual((await guest.triggers.get({ name: gtrigger })).rules ?? {}, {});
  });

  test('a web action runs as its owner whoever calls it', async () => {
    const name = uniqueName('web');
    await createAction(guest, name, 'context.js', { annotations: { 'web-export': true } });
    const res = await gw.request('GET', `/api/v1/web/guest/default/${name}.json`, { auth: otherAuth });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.namespace, 'guest', 'a web action runs in its owner\'s namespace');
    const id = res.headers.get('x-openwhisk-activation-id');
    assert.equal((await pollActivation(guest, id)).namespace, 'guest');
    await rejectsWith(other.activations.get({ activationId: id }), 404);
  });
});
