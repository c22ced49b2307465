// The standard catalog packages /whisk.system/utils and /whisk.system/samples
// (OpenWhisk's openwhisk-catalog): installed at start, published, their
// actions ordinary Node.js actions that any namespace reads, invokes,
// chains in sequences and fires through rules, with OpenWhisk's results.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { annotation, rejectsWith, startGateway, uniqueName, waitForActivations } from './lib/gateway.mjs';

const UTILS = ['cat', 'date', 'echo', 'head', 'hosturl', 'namespace', 'smash', 'sort', 'split'];
const SAMPLES = ['cat', 'countdown', 'curl', 'greeting', 'head', 'helloPromises', 'helloWorld', 'invoke',
  'printParams', 'wordCount', 'wordCountAsync'];

describe('catalog', { timeout: 180000 }, () => {
  let gw;
  let ow;
  let apiHost; // __OW_API_HOST as the actions see it
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
  });
  after(async () => {
    await gw?.cleanup();
  });

  // run invokes a catalog action blocking and returns its result.
  function run(name, params = {}, client = ow) {
    return client.actions.invoke({ name: `/whisk.system/${name}`, params, blocking: true, result: true });
  }

  test('/whisk.system lists utils and samples, published, with descriptions', async () => {
    const pkgs = await ow.packages.list({ namespace: 'whisk.system' });
    const byName = Object.fromEntries(pkgs.map(p => [p.name, p]));
    assert.equal(annotation(byName.utils?.annotations, 'description'), 'Building blocks that format and assemble data');
    assert.equal(annotation(byName.samples?.annotations, 'description'),
      'A suite of simple actions to help you get started with OpenWhisk');
    assert.equal(byName.utils.publish, true);
    assert.equal(byName.samples.publish, true);
  });

  test('packages.get lists the utils actions with their annotations', async () => {
    const pkg = await ow.packages.get({ name: '/whisk.system/utils' });
    assert.deepEqual(pkg.actions.map(a => a.name).sort(), UTILS);
    const head = pkg.actions.find(a => a.name === 'head');
    assert.equal(annotation(head.annotations, 'description'), 'Extract prefix of an array');
    assert.deepEqual(annotation(head.annotations, 'parameters').map(p => [p.name, p.required]),
      [['lines', true], ['num', false]]);
    for (const a of pkg.actions) {
      assert.equal(typeof annotation(a.annotations, 'description'), 'string', `description of ${a.name}`);
      assert.match(annotation(a.annotations, 'exec'), /^nodejs:\d+$/, `exec of ${a.name}`);
    }
    const samples = await ow.packages.get({ name: '/whisk.system/samples' });
    assert.deepEqual(samples.actions.map(a => a.name).sort(), SAMPLES);
    const countdown = samples.actions.find(a => a.name === 'countdown');
    assert.equal(annotation(countdown.annotations, 'provide-api-key'), true);
  });

  test('an action\'s code is readable and a Node.js action', async () => {
    const a = await ow.actions.get({ name: '/whisk.system/utils/split' });
    assert.match(a.exec.kind, /^nodejs:\d+$/);
    assert.match(a.exec.code, /function main\(/);
    assert.equal(a.namespace, 'whisk.system/utils');
  });

  test('utils: echo, cat, sort, head, split, smash', async () => {
    const lines = ['seven', 'eight', 'nine'];
    assert.deepEqual(await run('utils/echo', { a: 1, b: { c: [2] } }), { a: 1, b: { c: [2] } });
    assert.deepEqual(await run('utils/cat', { lines, x: 1 }), { lines, payload: 'seven\neight\nnine' });
    assert.deepEqual(await run('utils/sort', { lines }), { length: 3, lines: ['eight', 'nine', 'seven'] });
    assert.deepEqual(await run('utils/head', { lines, num: 2 }), { lines: ['seven', 'eight'], num: 2 });
    assert.deepEqual(await run('utils/head', { lines }), { lines: ['seven'], num: 1 });
    assert.deepEqual(await run('utils/split', { payload: 'seven,eight,nine', separator: ',' }),
      { lines, payload: 'seven,eight,nine' });
    assert.deepEqual(await run('utils/split', { payload: 'a\nb' }), { lines: ['a', 'b'], payload: 'a\nb' });
    assert.deepEqual(await run('utils/smash', { $fieldName: 'x', a: 1, c: { d: 3 } }), { x: { a: 1, c: { d: 3 } } });
    // An {error} result is an application error.
    await rejectsWith(run('utils/smash', { a: 1 }), 502);
    const act = await ow.actions.invoke({ name: '/whisk.system/utils/smash', params: { a: 1 }, blocking: true })
      .catch(err => err.error);
    assert.deepEqual(act.response.result, { error: "Expected an argument '$fieldName' of type 'string'." });
    assert.equal(act.response.status, 'application error');
  });

  test('utils: date, namespace, hosturl', async () => {
    const { date } = await run('utils/date');
    assert.match(date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(date) - Date.now()) < 60000, `date ${date} is now`);
    assert.deepEqual(await run('utils/namespace'), { namespace: 'guest' });
    const { url } = await run('utils/hosturl');
    assert.match(url, /^https?:\/\/.+\/api\/v1\/namespaces\/guest\/actions$/);
    apiHost = url.replace(/\/api\/v1\/namespaces\/guest\/actions$/, '');
    if (process.env.KWHISK_PLATFORM === undefined || process.env.KWHISK_PLATFORM === 'local') {
      assert.equal(apiHost, gw.apihost);
    }
    assert.deepEqual(await run('utils/hosturl', { path: 'utils/echo' }),
      { url: `${apiHost}/api/v1/namespaces/guest/actions/utils/echo` });
    assert.deepEqual(await run('utils/hosturl', { trigger: true, path: 't' }),
      { url: `${apiHost}/api/v1/namespaces/guest/triggers/t` });
    assert.deepEqual(await run('utils/hosturl', { web: true, path: 'echo', ext: '.text' }),
      { url: `${apiHost}/api/v1/web/guest/default/echo.text` });
    await rejectsWith(run('utils/hosturl', { web: true, trigger: true }), 502);
  });

  test('a guest sequence of split, sort, head and cat', async () => {
    const name = uniqueName('lines');
    await ow.actions.create({
      name,
      action: {
        exec: {
          kind: 'sequence',
          components: ['split', 'sort', 'head', 'cat'].map(a => `/whisk.system/utils/${a}`),
        },
      },
    });
    const act = await ow.actions.invoke({ name, params: { payload: 'zebra\napple\nmango' }, blocking: true });
    assert.deepEqual(act.response.result, { lines: ['apple'], payload: 'apple' });
    assert.equal(act.logs.length, 4, 'one activation per component');
    assert.equal(annotation(act.annotations, 'kind'), 'sequence');
  });

  test('samples: greeting, helloWorld, wordCount, cat, head, printParams', async () => {
    assert.deepEqual(await run('samples/greeting', { dummy: 'dummy' }), { payload: 'Hello, stranger from somewhere!' });
    assert.deepEqual(await run('samples/greeting', { name: 'Mork' }), { payload: 'Hello, Mork from somewhere!' });
    assert.deepEqual(await run('samples/greeting', { name: 'Mork', place: 'Ork' }), { payload: 'Hello, Mork from Ork!' });
    const hello = await ow.actions.invoke({ name: '/whisk.system/samples/helloWorld', params: { payload: 'Cat' }, blocking: true });
    assert.deepEqual(hello.response.result, {});
    assert.ok(hello.logs.some(l => l.endsWith('stdout: hello Cat!')), `logs ${JSON.stringify(hello.logs)}`);
    assert.deepEqual(await run('samples/wordCount', { payload: 'Five fuzzy felines' }), { count: 3 });
    assert.deepEqual(await run('samples/wordCountAsync', { payload: 'Five fuzzy felines' }), { count: 3 });
    assert.deepEqual(await run('samples/cat', { lines: [1, 2, 3] }), { lines: [1, 2, 3], payload: '1\n2\n3\n' });
    assert.deepEqual(await run('samples/head', { lines: [1, 2, 3, 4], num: 2 }), { lines: [1, 2], num: 2 });
    const printed = await run('samples/printParams', { x: 1, b: 5, z: 2 });
    assert.deepEqual(Object.keys(printed.params), ['b', 'x', 'z']);
    assert.deepEqual(printed.params, { b: 5, x: 1, z: 2 });
    // No payload: the TypeError of OpenWhisk's wordCount.
    await rejectsWith(run('samples/wordCount'), 502);
  });

  test('samples that call the API with the invoker\'s key: helloPromises, invoke, countdown', async () => {
    assert.deepEqual(await run('samples/helloPromises', { name: 'Mork', place: 'Ork' }),
      { lines: ['Hello,', 'Mork', 'from', 'Ork!'] });
    const dated = await run('samples/invoke');
    assert.equal(dated.name, 'date');
    assert.equal(dated.namespace, 'guest');
    assert.match(dated.response.result.date, /Z$/);
    const since = Date.now();
    const first = await run('samples/countdown', { n: 2 });
    assert.match(first.activationId, /^[0-9a-f]{32}$/);
    const acts = await waitForActivations(ow, { name: 'samples/countdown', since, count: 3, timeout: 60000 });
    const logs = acts.flatMap(a => a.logs.map(l => l.replace(/^\S+\s+stdout: /, '')));
    for (const line of ['2', '1', '0', 'Happy New Year!']) {
      assert.ok(logs.includes(line), `countdown logs ${JSON.stringify(logs)} lack ${line}`);
    }
  });

  test('samples: curl fetches a URL and reports a host it cannot resolve', async () => {
    if (!apiHost) apiHost = (await run('utils/hosturl')).url.replace(/\/api\/v1\/namespaces\/guest\/actions$/, '');
    assert.deepEqual(await run('samples/curl', { payload: `${apiHost}/ping` }), { msg: 'pong' });
    const { msg } = await run('samples/curl', {});
    assert.match(msg, /Could not resolve host: undefined/);
  });

  describe('from a second namespace', () => {
    let other;
    const NS = 'catalogue';
    before(async () => {
      other = gw.client(await gw.createNamespace(NS));
    });

    test('invokes utils as itself, and its records are its own', async () => {
      assert.deepEqual(await run('utils/namespace', {}, other), { namespace: NS });
      const act = await other.actions.invoke({ name: '/whisk.system/utils/echo', params: { a: 1 }, blocking: true });
      assert.deepEqual(act.response.result, { a: 1 });
      assert.equal(act.namespace, NS);
      assert.equal(annotation(act.annotations, 'path'), 'whisk.system/utils/echo');
      assert.deepEqual(await run('samples/greeting', { name: 'Mindy' }, other), { payload: 'Hello, Mindy from somewhere!' });
    });

    test('chains utils in its own sequence', async () => {
      const name = uniqueName('words');
      await other.actions.create({
        name,
        action: { exec: { kind: 'sequence', components: ['/whisk.system/utils/split', '/whisk.system/utils/sort'] } },
      });
      const res = await other.actions.invoke({ name, params: { payload: 'b a c', separator: ' ' }, blocking: true, result: true });
      assert.deepEqual(res, { length: 3, lines: ['a', 'b', 'c'] });
    });

    test('fires utils/echo through its own rule', async () => {
      const trigger = uniqueName('tick');
      const rule = uniqueName('echoTick');
      await other.triggers.create({ name: trigger });
      await other.rules.create({ name: rule, trigger, action: '/whisk.system/utils/echo' });
      const since = Date.now();
      await other.triggers.invoke({ name: trigger, params: { tick: 42 } });
      const [act] = await waitForActivations(other, { name: 'utils/echo', since, timeout: 60000 });
      // A rule's activation gets the trigger's payload and, as in
      // OpenWhisk, the fire's __ow_headers.
      const { __ow_headers: headers, ...args } = act.response.result;
      assert.deepEqual(args, { tick: 42 });
      assert.equal(typeof headers, 'object');
      assert.equal(act.namespace, NS);
      assert.equal(annotation(act.annotations, 'path'), 'whisk.system/utils/echo');
    });

    test('cannot change the catalog', async () => {
      await rejectsWith(other.actions.update({ name: '/whisk.system/utils/echo', action: 'function main(){}' }), 403);
      await rejectsWith(other.packages.delete({ name: '/whisk.system/samples' }), 403);
    });
  });
});
