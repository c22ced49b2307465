// Bad input to packages, triggers, rules and sequences, swept over plain
// HTTP: every request gets the contract's 4xx with an OpenWhisk error body
// (and the contract's message where it names one); none is a 500.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MSG, assertErrorBody, createAction, startGateway, uniqueName } from './lib/gateway.mjs';

const MALFORMED = /^The request content was malformed:\n/;
const EXPECTED = 'The request content was malformed:\nrequest entity expected';
const NS = '/api/v1/namespaces/_';

describe('entity errors', { timeout: 60000 }, () => {
  let gw;
  let ow;
  let pkg;
  let trigger;
  let rule;
  let action;
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
    pkg = uniqueName('pkg');
    trigger = uniqueName('trg');
    rule = uniqueName('rule');
    action = uniqueName('act');
    await ow.packages.create({ name: pkg });
    await ow.triggers.create({ name: trigger });
    await createAction(ow, action, 'echo.js');
    await ow.rules.create({ name: rule, trigger, action });
  });
  after(async () => {
    await gw?.cleanup();
  });

  test('malformed and empty bodies', async () => {
    const cases = [
      ['PUT', `${NS}/packages/${uniqueName('p')}`, '', EXPECTED],
      ['PUT', `${NS}/packages/${uniqueName('p')}`, '[]', MALFORMED],
      ['PUT', `${NS}/packages/${uniqueName('p')}`, '{"parameters":"nope"}', MALFORMED],
      ['PUT', `${NS}/packages/${uniqueName('p')}`, '{"binding":"nope"}', MALFORMED],
      ['PUT', `${NS}/packages/${uniqueName('p')}`, '{"publish":"yes"}', MALFORMED],
      ['PUT', `${NS}/packages/${uniqueName('p')}`, '{"parameters":[{"value":1}]}', undefined],
      ['PUT', `${NS}/packages/${uniqueName('p')}`, '{not json', MALFORMED],
      ['PUT', `${NS}/triggers/${uniqueName('t')}`, '', EXPECTED],
      ['PUT', `${NS}/triggers/${uniqueName('t')}`, '{"parameters":{"a":1}}', MALFORMED],
      ['PUT', `${NS}/triggers/${uniqueName('t')}`, '{"annotations":[{"key":"feed","value":42}]}', 'Feed name is not valid'],
      ['PUT', `${NS}/rules/${uniqueName('r')}`, '', EXPECTED],
      ['PUT', `${NS}/rules/${uniqueName('r')}`, `{"trigger":5,"action":"/_/${action}"}`, MALFORMED],
      ['PUT', `${NS}/rules/${uniqueName('r')}`, '{}', 'rule requires a valid trigger and a valid action'],
      ['PUT', `${NS}/rules/${uniqueName('r')}`, `{"trigger":"/_/${trigger}","action":"/_/bad+name"}`, MSG.illegalName],
      ['POST', `${NS}/rules/${rule}`, '', EXPECTED],
      ['POST', `${NS}/rules/${rule}`, '{"status":1}', undefined],
      ['POST', `${NS}/rules/${rule}`, '{"status":"paused"}', undefined],
      ['POST', `${NS}/triggers/${trigger}`, '[1]', MALFORMED],
      ['POST', `${NS}/triggers/${trigger}`, '"scalar"', MALFORMED],
      ['PUT', `${NS}/actions/${uniqueName('s')}`, '{"exec":{"kind":"sequence","components":"a"}}', MALFORMED],
      ['PUT', `${NS}/actions/${uniqueName('s')}`, '{"exec":{"kind":"sequence","components":["/_/bad+name"]}}', MSG.illegalName],
      ['PUT', `${NS}/actions/${uniqueName('s')}`, '{"exec":{"kind":"sequence","components":["nonamespace"]}}', /The fully qualified name of the entity must contain at least the namespace and the name of the entity\./],
      ['PUT', `${NS}/actions/${uniqueName('s')}`, '{"exec":{"kind":"sequence"}}', 'No component specified for the sequence.'],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await gw.request(method, path, { body, headers: { 'Content-Type': 'application/json' } });
      assert.ok(res.status >= 400 && res.status < 500, `${method} ${path} ${body}: ${res.status} ${res.text}`);
      assertErrorBody(res, 400, message);
    }
  });

  test('illegal and over-long names and namespaces', async () => {
    const long = 'n'.repeat(257);
    for (const collection of ['packages', 'triggers', 'rules']) {
      for (const bad of ['hi+there', '%24hola', 'dora%3F', '%7Cdora%7Cdora%3F', '%20']) {
        assertErrorBody(await gw.request('PUT', `${NS}/${collection}/${bad}`, { body: {} }), 400, MSG.illegalName);
        assertErrorBody(await gw.request('GET', `${NS}/${collection}/${bad}`), 400, MSG.illegalName);
      }
      assertErrorBody(await gw.request('GET', `${NS}/${collection}/${long}`), 400, 'Name segement longer than allowed: 257 > 256.');
      assertErrorBody(await gw.request('GET', `/api/v1/namespaces/bad+ns/${collection}`), 400, 'The namespace contains illegal characters.');
    }
    assertErrorBody(await gw.request('PUT', `${NS}/packages/${uniqueName('b')}`, { body: { binding: { namespace: 'bad+ns', name: 'x' } } }), 400);
    assertErrorBody(await gw.request('PUT', `${NS}/packages/${uniqueName('b')}`, { body: { binding: { namespace: '_', name: 'bad+name' } } }), 400, MSG.illegalName);
  });

  test('list paging is validated for every collection', async () => {
    for (const collection of ['packages', 'triggers', 'rules']) {
      assertErrorBody(await gw.request('GET', `${NS}/${collection}?limit=201`), 400,
        `The value '201' is not in the range of 0 to 200 for ${collection}.`);
      assertErrorBody(await gw.request('GET', `${NS}/${collection}?limit=ten`), 400, `The value 'ten' is not an integer for ${collection}.`);
      assertErrorBody(await gw.request('GET', `${NS}/${collection}?skip=-1`), 400,
        `The value '-1' is not greater than or equal to 0 for ${collection}.`);
      const zero = await gw.request('GET', `${NS}/${collection}?limit=0&skip=0`);
      assert.equal(zero.status, 200, 'limit=0 means the maximum');
      assert.equal(zero.body.length, 1);
      const skipped = await gw.request('GET', `${NS}/${collection}?skip=1`);
      assert.deepEqual(skipped.body, []);
    }
  });

  test('content type, methods, and sizes', async () => {
    const wrongType = await gw.request('PUT', `${NS}/triggers/${uniqueName('t')}`, { body: '{}', headers: { 'Content-Type': 'text/plain' } });
    assertErrorBody(wrongType, 415);
    for (const [method, path] of [['PATCH', `${NS}/triggers/${trigger}`], ['PATCH', `${NS}/rules/${rule}`],
      ['POST', `${NS}/packages/${pkg}`], ['PATCH', `${NS}/packages/${pkg}`]]) {
      assertErrorBody(await gw.request(method, path, { body: {} }), 405, /^HTTP method not allowed, supported methods: /);
    }
    const big = [{ key: 'big', value: 'x'.repeat(1024 * 1024) }];
    for (const collection of ['packages', 'triggers']) {
      assertErrorBody(await gw.request('PUT', `${NS}/${collection}/${uniqueName('big')}`, { body: { parameters: big } }), 413,
        /^parameters larger than allowed: \d+ > 1048576 bytes\.$/);
      assertErrorBody(await gw.request('PUT', `${NS}/${collection}/${uniqueName('big')}`, { body: { annotations: big } }), 413,
        /^annotations larger than allowed: \d+ > 1048576 bytes\.$/);
    }
    const fire = await gw.request('POST', `${NS}/triggers/${trigger}`, { body: JSON.stringify({ p: 'x'.repeat(1024 * 1024) }) });
    assertErrorBody(fire, 413, /^Request larger than allowed: \d+ > 1048576 bytes\.$/);
  });

  test('the refused requests left nothing behind', async () => {
    assert.deepEqual((await ow.packages.list()).map(p => p.name), [pkg]);
    assert.deepEqual((await ow.triggers.list()).map(t => t.name), [trigger]);
    assert.deepEqual((await ow.rules.list()).map(r => r.name), [rule]);
    assert.deepEqual((await ow.actions.list()).map(a => a.name), [action]);
    assert.equal((await ow.rules.get({ name: rule })).status, 'active');
  });
});
