// Packages and bindings: CRUD, publish, the reserved name, GET with actions
// and feeds, every binding check, parameter inheritance package → binding
// → action → invoke payload, the binding annotation on activations,
// non-empty and forced delete, writes through a binding, and names shared
// across collections (WskPackageTests, the package parts of
// WskRestBasicTests and WskRestBasicUsageTests).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MSG, annotation, assertErrorBody, createAction, kvObject, nextMillisecond, rejectsWith, startGateway,
  uniqueName, waitForActivations,
} from './lib/gateway.mjs';

const PACKAGE_KEYS = ['annotations', 'binding', 'name', 'namespace', 'parameters', 'publish', 'updated', 'version'];
const CONFLICT = 'Resource by this name exists but is not in this collection.';

// params turns an object into an OpenWhisk key/value list.
function params(obj) {
  return Object.entries(obj).map(([key, value]) => ({ key, value }));
}

describe('packages', { timeout: 90000 }, () => {
  let gw;
  let ow;
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
  });
  after(async () => {
    await gw?.cleanup();
  });

  test('create returns the package document; update bumps the version and keeps unset fields', async () => {
    const name = uniqueName('pkg');
    const t0 = Date.now();
    const created = await ow.packages.create({
      name, package: { parameters: params({ a: 'A', n: 1 }) }, annotations: { description: 'a package' },
    });
    assert.deepEqual(Object.keys(created).sort(), PACKAGE_KEYS);
    assert.equal(created.namespace, 'guest');
    assert.equal(created.name, name);
    assert.deepEqual(created.binding, {});
    assert.equal(created.version, '0.0.1');
    assert.equal(created.publish, false);
    assert.deepEqual(kvObject(created.parameters), { a: 'A', n: 1 });
    assert.deepEqual(kvObject(created.annotations), { description: 'a package' });
    assert.ok(created.updated >= t0, 'updated is an epoch-ms timestamp');

    nextMillisecond(created.updated);
    const updated = await ow.packages.update({ name, package: { publish: true } });
    assert.equal(updated.version, '0.0.2');
    assert.equal(updated.publish, true);
    assert.deepEqual(kvObject(updated.parameters), { a: 'A', n: 1 }, 'parameters are kept when not given');
    assert.deepEqual(kvObject(updated.annotations), { description: 'a package' });
    assert.ok(updated.updated > created.updated);

    // Parameters and annotations given on update replace the old ones.
    const replaced = await ow.packages.update({ name, package: { parameters: params({ b: 'B' }), annotations: [] } });
    assert.equal(replaced.version, '0.0.3');
    assert.deepEqual(replaced.parameters, [{ key: 'b', value: 'B' }]);
    assert.deepEqual(replaced.annotations, []);
    assert.equal(replaced.publish, true);

    const got = await ow.packages.get({ name });
    assert.equal(got.version, '0.0.3');
    assert.deepEqual(got.actions, []);
    assert.deepEqual(got.feeds, []);

    const list = await ow.packages.list();
    const summary = list.find(p => p.name === name);
    assert.ok(summary, `package ${name} is listed`);
    assert.deepEqual(Object.keys(summary).sort(), ['annotations', 'binding', 'name', 'namespace', 'publish', 'updated', 'version']);
    assert.equal(summary.binding, false, 'a plain package lists with binding:false');
    assert.equal(summary.publish, true);
    const { packages: count } = await ow.packages.list({ count: true });
    assert.equal(count, list.length);
  });

  test('duplicate, missing and reserved packages', async () => {
    const name = uniqueName('pkg');
    await ow.packages.create({ name });
    await rejectsWith(ow.packages.create({ name }), 409, MSG.exists);
    const missing = uniqueName('nopkg');
    await rejectsWith(ow.packages.get({ name: missing }), 404, `The requested resource 'guest/${missing}' does not exist.`);
    await rejectsWith(ow.packages.delete({ name: missing }), 404, MSG.notFound);
    await rejectsWith(ow.packages.create({ name: 'default' }), 400, "Package name 'default' is reserved.");

    const post = await gw.request('POST', `/api/v1/namespaces/_/packages/${name}`, { body: {} });
    assertErrorBody(post, 405, /^HTTP method not allowed, supported methods: /);
    const bad = await gw.request('PUT', '/api/v1/namespaces/_/packages/hi+there', { body: {} });
    assertErrorBody(bad, 400, MSG.illegalName);
  });

  test('a package name with spaces works for the package and its actions', async () => {
    const pkg = uniqueName('my pkg');
    await ow.packages.create({ name: pkg, package: { parameters: params({ from: 'package' }) } });
    const got = await ow.packages.get({ name: pkg });
    assert.equal(got.name, pkg);
    const action = `${pkg}/echo me`;
    const created = await createAction(ow, action, 'echo.js');
    assert.equal(created.namespace, `guest/${pkg}`);
    assert.equal(created.name, 'echo me');
    const res = await ow.actions.invoke({ name: action, params: { x: 1 }, blocking: true, result: true });
    assert.deepEqual(res, { from: 'package', x: 1 });
    const listed = await ow.packages.get({ name: pkg });
    assert.deepEqual(listed.actions.map(a => a.name), ['echo me']);
  });

  test('GET lists the package\'s actions, and its feeds apart', async () => {
    const pkg = uniqueName('pkg');
    await ow.packages.create({ name: pkg });
    await createAction(ow, `${pkg}/plain`, 'echo.js', { version: '1.2.3' });
    await createAction(ow, `${pkg}/feed`, 'echo.js', { annotations: { feed: true } });
    const got = await ow.packages.get({ name: pkg });
    assert.equal(got.actions.length, 1);
    assert.equal(got.actions[0].name, 'plain');
    assert.equal(got.actions[0].version, '1.2.3');
    assert.ok(Array.isArray(got.actions[0].annotations));
    assert.equal(annotation(got.actions[0].annotations, 'exec'), (await ow.actions.get({ name: `${pkg}/plain` })).exec.kind);
    assert.deepEqual(got.feeds.map(f => f.name), ['feed']);
    assert.equal(annotation(got.feeds[0].annotations, 'feed'), true);

    // Packaged actions list under the package (trailing slash) and in the
    // namespace list, with namespace ns/pkg.
    const inPkg = await gw.request('GET', `/api/v1/namespaces/_/actions/${pkg}/`);
    assert.equal(inPkg.status, 200);
    assert.deepEqual(inPkg.body.map(a => a.name).sort(), ['feed', 'plain']);
    assert.ok(inPkg.body.every(a => a.namespace === `guest/${pkg}`));
    const all = await ow.actions.list({ limit: 200 });
    assert.deepEqual(all.filter(a => a.namespace === `guest/${pkg}`).map(a => a.name).sort(), ['feed', 'plain']);
  });

  test('delete of a non-empty package is 409 unless forced; force deletes its actions', async () => {
    const pkg = uniqueName('pkg');
    await ow.packages.create({ name: pkg });
    await createAction(ow, `${pkg}/one`, 'echo.js');
    await rejectsWith(ow.packages.delete({ name: pkg }), 409,
      'Package not empty (contains 1 entity). Set force param or delete package contents.');
    await createAction(ow, `${pkg}/two`, 'echo.js');
    const two = await gw.request('DELETE', `/api/v1/namespaces/_/packages/${pkg}?force=false`);
    assertErrorBody(two, 409, 'Package not empty (contains 2 entities). Set force param or delete package contents.');

    const forced = await gw.request('DELETE', `/api/v1/namespaces/_/packages/${pkg}?force=true`);
    assert.equal(forced.status, 200, forced.text);
    assert.equal(forced.body.name, pkg);
    await rejectsWith(ow.packages.get({ name: pkg }), 404);
    await rejectsWith(ow.actions.get({ name: `${pkg}/one` }), 404);
    // A package of the same name starts empty.
    await ow.packages.create({ name: pkg });
    assert.deepEqual((await ow.packages.get({ name: pkg })).actions, []);
    await ow.packages.delete({ name: pkg });
  });

  test('an action cannot be created in a missing package', async () => {
    const pkg = uniqueName('nopkg');
    await rejectsWith(createAction(ow, `${pkg}/a`, 'echo.js'), 404);
  });

  test('bindings: document, server-owned binding annotation, merged GET, and every check', async () => {
    const pkg = uniqueName('pkg');
    const bnd = uniqueName('bnd');
    await ow.packages.create({ name: pkg, package: { parameters: params({ key1a: 'pkg-1a', key1b: 'pkg-1b' }) } });
    await createAction(ow, `${pkg}/a`, 'echo.js');

    const created = await ow.packages.create({
      name: bnd,
      package: {
        binding: { namespace: '_', name: pkg },
        parameters: params({ key2a: 'bnd-2a', key1b: 'bnd-1b' }),
        annotations: [{ key: 'binding', value: { namespace: 'forged', name: 'forged' } }, { key: 'x', value: 1 }],
      },
    });
    assert.deepEqual(created.binding, { namespace: 'guest', name: pkg }, '"_" resolves to the caller');
    assert.deepEqual(kvObject(created.annotations), { binding: { namespace: 'guest', name: pkg }, x: 1 },
      'the server sets the binding annotation and drops a supplied one');
    assert.deepEqual(kvObject(created.parameters), { key2a: 'bnd-2a', key1b: 'bnd-1b' });

    const got = await ow.packages.get({ name: bnd });
    assert.deepEqual(got.binding, { namespace: 'guest', name: pkg });
    assert.deepEqual(kvObject(got.parameters), { key1a: 'pkg-1a', key1b: 'bnd-1b', key2a: 'bnd-2a' },
      'GET of a binding merges the bound package\'s parameters under its own');
    assert.deepEqual(got.actions.map(a => a.name), ['a'], 'a binding shows the bound package\'s actions');

    const summary = (await ow.packages.list()).find(p => p.name === bnd);
    assert.deepEqual(summary.binding, { namespace: 'guest', name: pkg });

    // A binding lists the bound package's actions.
    const listed = await gw.request('GET', `/api/v1/namespaces/_/actions/${bnd}/`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.map(a => a.name), ['a']);
    assert.equal(listed.body[0].namespace, `guest/${pkg}`);

    // The checks.
    const missing = uniqueName('nopkg');
    await rejectsWith(ow.packages.create({ name: uniqueName('bnd'), package: { binding: { namespace: 'guest', name: missing } } }),
      400, 'Binding references a package that does not exist.');
    await rejectsWith(ow.packages.create({ name: uniqueName('bnd'), package: { binding: { namespace: 'guest', name: bnd } } }),
      400, 'Cannot bind to another package binding.');
    const action = uniqueName('act');
    await createAction(ow, action, 'echo.js');
    await rejectsWith(ow.packages.create({ name: uniqueName('bnd'), package: { binding: { namespace: 'guest', name: action } } }),
      409, 'Cannot bind to a resource that is not a package.');
    const plain = uniqueName('pkg');
    await ow.packages.create({ name: plain });
    await rejectsWith(ow.packages.update({ name: plain, package: { binding: { namespace: 'guest', name: pkg } } }),
      409, 'Resource is a package and cannot be converted into a binding.');

    // Writes through a binding are refused; reads and invokes work.
    await rejectsWith(createAction(ow, `${bnd}/new`, 'echo.js'), 400, 'Operation not permitted on package binding.');
    await rejectsWith(ow.actions.delete({ name: `${bnd}/a` }), 400, 'Operation not permitted on package binding.');
    assert.ok(await ow.actions.get({ name: `${pkg}/a` }), 'the bound action is untouched');

    // A binding is always deletable, even while its package has actions.
    const deleted = await ow.packages.delete({ name: bnd });
    assert.deepEqual(deleted.binding, { namespace: 'guest', name: pkg });
    await rejectsWith(ow.packages.get({ name: bnd }), 404);
    assert.ok(await ow.actions.get({ name: `${pkg}/a` }));
  });

  test('parameters are inherited package → binding → action → invoke payload', async () => {
    const pkg = uniqueName('pkg');
    const bnd = uniqueName('bnd');
    await ow.packages.create({ name: pkg, package: { parameters: params({ key1a: 'pkg-1a', key1b: 'pkg-1b', key0: 'pkg-0' }) } });
    await ow.packages.create({ name: bnd, package: { binding: { namespace: 'guest', name: pkg }, parameters: params({ key2a: 'bnd-2a', key1b: 'bnd-1b', key0: 'bnd-0' }) } });
    await createAction(ow, `${pkg}/echo`, 'echo.js', { params: { key0: 'action-0' } });

    // GET of the packaged action and of the action through the binding
    // show the merged parameters.
    const direct = await ow.actions.get({ name: `${pkg}/echo` });
    assert.deepEqual(kvObject(direct.parameters), { key1a: 'pkg-1a', key1b: 'pkg-1b', key0: 'action-0' });
    const viaBinding = await ow.actions.get({ name: `${bnd}/echo` });
    assert.deepEqual(kvObject(viaBinding.parameters), { key1a: 'pkg-1a', key1b: 'bnd-1b', key2a: 'bnd-2a', key0: 'action-0' });
    assert.equal(viaBinding.namespace, `guest/${pkg}`, 'the action reached through a binding is the bound package\'s');
    const viaBindingNoCode = await gw.request('GET', `/api/v1/namespaces/_/actions/${bnd}/echo?code=false`);
    assert.equal(viaBindingNoCode.body.binding, `guest/${bnd}`, 'GET with code=false names the binding');

    // At run time key1b comes from the binding, key0 from the action, and
    // the payload beats them all.
    const since = Date.now();
    const res = await ow.actions.invoke({ name: `${bnd}/echo`, blocking: true, params: { key2a: 'payload-2a' } });
    assert.deepEqual(res.response.result, { key1a: 'pkg-1a', key1b: 'bnd-1b', key2a: 'payload-2a', key0: 'action-0' });
    const ann = kvObject(res.annotations);
    assert.equal(ann.binding, `guest/${bnd}`, 'an activation through a binding carries the binding annotation');
    assert.equal(ann.path, `guest/${pkg}/echo`, 'path names the bound package\'s action');
    assert.equal(res.name, 'echo');

    const plain = await ow.actions.invoke({ name: `${pkg}/echo`, blocking: true });
    assert.deepEqual(plain.response.result, { key1a: 'pkg-1a', key1b: 'pkg-1b', key0: 'action-0' });
    assert.ok(!plain.annotations.some(kv => kv.key === 'binding'), 'a direct invoke has no binding annotation');
    assert.equal(annotation(plain.annotations, 'path'), `guest/${pkg}/echo`);

    // Activation lists filter on binding/action for activations through a
    // binding, and on package/action otherwise.
    const byBinding = await waitForActivations(ow, { name: `${bnd}/echo`, since });
    assert.deepEqual(byBinding.map(a => a.activationId), [res.activationId]);
    const byPackage = await waitForActivations(ow, { name: `${pkg}/echo`, since });
    assert.deepEqual(byPackage.map(a => a.activationId), [plain.activationId]);
  });

  test('names are shared across collections: a clash is 409 in every collection', async () => {
    const name = uniqueName('shared');
    await ow.triggers.create({ name });
    const put = await gw.request('PUT', `/api/v1/namespaces/_/packages/${name}`, { body: {} });
    assertErrorBody(put, 409, CONFLICT);
    await rejectsWith(createAction(ow, name, 'echo.js'), 409, CONFLICT);
    await rejectsWith(ow.packages.get({ name }), 409, CONFLICT);
    await rejectsWith(ow.packages.delete({ name }), 409, CONFLICT);
    await rejectsWith(ow.actions.delete({ name }), 409, CONFLICT);
    assert.equal((await ow.triggers.get({ name })).name, name, 'the trigger is untouched');

    const pkg = uniqueName('pkg');
    await ow.packages.create({ name: pkg });
    await rejectsWith(ow.actions.get({ name: pkg }), 409, CONFLICT);
    await rejectsWith(ow.triggers.create({ name: pkg }), 409, CONFLICT);
    const action = uniqueName('act');
    await createAction(ow, action, 'echo.js');
    await rejectsWith(ow.packages.get({ name: action }), 409, CONFLICT);
  });
});
