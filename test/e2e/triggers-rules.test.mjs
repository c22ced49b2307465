// Triggers and rules (WskRuleTests, the trigger and rule parts of
// WskRestBasicTests and WskRestBasicUsageTests): trigger CRUD and the rules
// map, fire semantics (204 without an active rule; otherwise 202 and a
// trigger activation with one log entry per linked rule), rule-started
// activations carrying trigger parameters, payload and __ow_headers and
// going through the throttled invoke path, rule CRUD, enable/disable and
// status across updates, and feeds.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  GUEST_AUTH, HEX32, MSG, assertErrorBody, createAction, gatewayEnv, kvObject, kwhiskBin, nextMillisecond, pollActivation,
  rejectsWith, startGateway, uniqueName, waitFor, waitForActivations,
} from './lib/gateway.mjs';

const TRIGGER_KEYS = ['annotations', 'limits', 'name', 'namespace', 'parameters', 'publish', 'updated', 'version'];
const RULE_KEYS = ['action', 'annotations', 'name', 'namespace', 'publish', 'status', 'trigger', 'updated', 'version'];
const TRIGGER_RECORD_KEYS = ['activationId', 'annotations', 'logs', 'name', 'namespace', 'publish', 'response', 'start',
  'subject', 'version'];

function params(obj) {
  return Object.entries(obj).map(([key, value]) => ({ key, value }));
}

describe('triggers and rules', { timeout: 120000 }, () => {
  let gw;
  let ow;
  let echo; // an echo action outside packages
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
    echo = uniqueName('echo');
    await createAction(ow, echo, 'echo.js');
  });
  after(async () => {
    await gw?.cleanup();
  });

  // fire POSTs to a trigger with plain fetch and returns the response.
  function fire(trigger, body = {}, headers = {}) {
    return gw.request('POST', `/api/v1/namespaces/_/triggers/${encodeURIComponent(trigger)}`, { body, headers });
  }

  // fired fires, expects 202, and returns the trigger activation with its
  // log entries parsed.
  async function fired(trigger, body = {}, headers = {}) {
    const res = await fire(trigger, body, headers);
    assert.equal(res.status, 202, `fire ${trigger}: ${res.status} ${res.text}`);
    assert.match(res.body.activationId, HEX32);
    assert.equal(res.headers.get('x-openwhisk-activation-id'), res.body.activationId);
    const rec = await pollActivation(ow, res.body.activationId);
    return { rec, entries: rec.logs.map(l => JSON.parse(l)) };
  }

  // entryFor finds the log entry of rule (a simple name) in entries.
  function entryFor(entries, rule) {
    const e = entries.find(x => x.rule === `guest/${rule}`);
    assert.ok(e, `no log entry for rule ${rule} in ${JSON.stringify(entries)}`);
    return e;
  }

  test('trigger create, update, get, list and delete; the rules map', async () => {
    const name = uniqueName('trg');
    const created = await ow.triggers.create({ name, trigger: { parameters: params({ tp: 'T' }) } });
    assert.deepEqual(Object.keys(created).sort(), TRIGGER_KEYS);
    assert.equal(created.namespace, 'guest');
    assert.equal(created.version, '0.0.1');
    assert.equal(created.publish, false);
    assert.deepEqual(created.parameters, [{ key: 'tp', value: 'T' }]);
    assert.deepEqual(created.annotations, []);

    nextMillisecond(created.updated);
    const updated = await ow.triggers.update({ name });
    assert.equal(updated.version, '0.0.2');
    assert.deepEqual(updated.parameters, [{ key: 'tp', value: 'T' }], 'an empty update keeps the parameters');
    assert.equal(updated.publish, false);
    assert.ok(updated.updated > created.updated);

    const rule = uniqueName('rule');
    await ow.rules.create({ name: rule, trigger: name, action: echo });
    const got = await ow.triggers.get({ name });
    assert.deepEqual(got.rules, { [`guest/${rule}`]: { action: { path: 'guest', name: echo }, status: 'active' } });
    await ow.rules.disable({ name: rule });
    assert.equal((await ow.triggers.get({ name })).rules[`guest/${rule}`].status, 'inactive');

    const list = await ow.triggers.list();
    const summary = list.find(t => t.name === name);
    assert.deepEqual(Object.keys(summary).sort(), ['annotations', 'name', 'namespace', 'publish', 'updated', 'version']);
    assert.equal((await ow.triggers.list({ count: true })).triggers, list.length);

    await rejectsWith(ow.triggers.create({ name }), 409, MSG.exists);
    const deleted = await ow.triggers.delete({ name });
    assert.equal(deleted.name, name);
    await rejectsWith(ow.triggers.get({ name }), 404, MSG.notFound);
    await rejectsWith(ow.triggers.delete({ name }), 404, MSG.notFound);
    assertErrorBody(await fire(name), 404, MSG.notFound);
    // Its rule stays, and now reads inactive and cannot be enabled.
    assert.equal((await ow.rules.get({ name: rule })).status, 'inactive');
    await rejectsWith(ow.rules.enable({ name: rule }), 404, 'Only rules with existing triggers can be activated');
    await ow.rules.delete({ name: rule });
  });

  test('a trigger\'s feed annotation must name an entity', async () => {
    const res = await gw.request('PUT', `/api/v1/namespaces/_/triggers/${uniqueName('trg')}`, {
      body: { annotations: [{ key: 'feed', value: 'no such thing' }] },
    });
    assertErrorBody(res, 400, 'Feed name is not valid');
  });

  test('fire without an active rule is 204 with no record; with one, 202 and a trigger activation', async () => {
    const trigger = uniqueName('trg');
    const since = Date.now();
    await ow.triggers.create({ name: trigger, trigger: { parameters: params({ tp: 'T', shared: 'trigger' }) } });
    const none = await fire(trigger, { a: 1 });
    assert.equal(none.status, 204);
    assert.equal(none.text, '');
    assert.equal(none.headers.get('x-openwhisk-activation-id'), null);

    const rule = uniqueName('rule');
    await ow.rules.create({ name: rule, trigger, action: echo });
    const payload = { shared: 'payload', p: { nested: [1, 2] } };
    const { rec, entries } = await fired(trigger, payload, { Foo: 'Bar' });
    assert.deepEqual(Object.keys(rec).sort(), TRIGGER_RECORD_KEYS, `no end, duration or cause: ${JSON.stringify(rec)}`);
    assert.equal(rec.namespace, 'guest');
    assert.equal(rec.subject, 'guest');
    assert.equal(rec.name, trigger);
    assert.equal(rec.version, '0.0.1');
    assert.equal(rec.publish, false);
    assert.deepEqual(rec.annotations, []);
    assert.ok(rec.start >= since);
    assert.equal(rec.response.status, 'success');
    assert.equal(rec.response.success, true);
    assert.deepEqual(rec.response.result, payload, 'the trigger result is the raw payload');
    assert.equal(entries.length, 1);
    const [entry] = entries;
    assert.deepEqual(Object.keys(entry).sort(), ['action', 'activationId', 'rule', 'statusCode', 'success']);
    assert.deepEqual({ ...entry, activationId: undefined },
      { statusCode: 0, success: true, rule: `guest/${rule}`, action: `guest/${echo}`, activationId: undefined });
    assert.match(entry.activationId, HEX32);

    const action = await pollActivation(ow, entry.activationId);
    assert.ok(!('cause' in action), 'a rule-started activation has no cause');
    assert.equal(action.name, echo);
    assert.equal(action.response.status, 'success');
    const { __ow_headers: headers, ...args } = action.response.result;
    assert.deepEqual(args, { tp: 'T', shared: 'payload', p: { nested: [1, 2] } }, 'trigger parameters merged with the payload');
    assert.equal(headers.foo, 'Bar', 'request headers reach the action lower-cased');
    assert.equal(headers['content-type'], 'application/json');

    // Only the one fire with an active rule left a trigger record.
    const records = await waitForActivations(ow, { name: trigger, since });
    assert.deepEqual(records.map(r => r.activationId), [rec.activationId]);

    // Fire through the client, without parameters: the result is {}.
    const viaClient = await ow.triggers.invoke({ name: trigger });
    assert.match(viaClient.activationId, HEX32);
    const bare = await pollActivation(ow, viaClient.activationId);
    assert.deepEqual(bare.response.result, {});
    const ran = await pollActivation(ow, JSON.parse(bare.logs[0]).activationId);
    const { __ow_headers: h2, ...args2 } = ran.response.result;
    assert.deepEqual(args2, { tp: 'T', shared: 'trigger' });
    assert.equal(typeof h2, 'object');
  });

  test('every linked rule is logged: active, inactive, and one whose action is gone', async () => {
    const trigger = uniqueName('trg');
    await ow.triggers.create({ name: trigger });
    const doomed = uniqueName('doomed');
    await createAction(ow, doomed, 'echo.js');
    const live = uniqueName('live');
    const dead = uniqueName('dead');
    const off = uniqueName('off');
    await ow.rules.create({ name: live, trigger, action: echo });
    await ow.rules.create({ name: dead, trigger, action: doomed });
    await ow.rules.create({ name: off, trigger, action: echo });
    await ow.rules.disable({ name: off });
    await ow.actions.delete({ name: doomed });

    const { entries } = await fired(trigger, { n: 1 });
    assert.equal(entries.length, 3, JSON.stringify(entries));
    const ok = entryFor(entries, live);
    assert.equal(ok.statusCode, 0);
    assert.equal(ok.success, true);
    assert.deepEqual(entryFor(entries, dead), {
      statusCode: 1, success: false, error: MSG.notFound, rule: `guest/${dead}`, action: `guest/${doomed}`,
    });
    assert.deepEqual(entryFor(entries, off), {
      statusCode: 1, success: false,
      error: `Rule 'guest/${off}' is inactive, action 'guest/${echo}' was not activated.`,
      rule: `guest/${off}`, action: `guest/${echo}`,
    });
    const rec = await pollActivation(ow, ok.activationId);
    assert.equal(rec.response.result.n, 1);
  });

  test('rule create, get, update, list and the errors', async () => {
    const trigger = uniqueName('trg');
    await ow.triggers.create({ name: trigger });
    const rule = uniqueName('rule');
    const created = await ow.rules.create({ name: rule, trigger, action: echo });
    assert.deepEqual(Object.keys(created).sort(), RULE_KEYS);
    assert.equal(created.status, 'active', 'a new rule is active');
    assert.equal(created.version, '0.0.1');
    assert.deepEqual(created.trigger, { path: 'guest', name: trigger });
    assert.deepEqual(created.action, { path: 'guest', name: echo });

    const got = await ow.rules.get({ name: rule });
    assert.deepEqual(got, created);

    nextMillisecond(created.updated);
    const updated = await ow.rules.update({ name: rule, trigger, action: echo });
    assert.equal(updated.version, '0.0.2');
    assert.equal(updated.trigger.name, trigger);
    assert.equal(updated.action.name, echo);
    assert.equal(updated.status, 'active');

    const list = await ow.rules.list();
    const listed = list.find(r => r.name === rule);
    assert.ok(listed, 'the rule is listed');
    assert.ok(!('status' in listed), `rule list elements carry no status: ${JSON.stringify(listed)}`);
    assert.deepEqual(listed.trigger, { path: 'guest', name: trigger });
    assert.equal((await ow.rules.list({ count: true })).rules, list.length);

    await rejectsWith(ow.rules.create({ name: rule, trigger, action: echo }), 409, MSG.exists);
    const missingTrigger = uniqueName('notrg');
    await rejectsWith(ow.rules.create({ name: uniqueName('rule'), trigger: missingTrigger, action: echo }),
      400, `trigger /guest/${missingTrigger} does not exist`);
    const missingAction = uniqueName('noact');
    await rejectsWith(ow.rules.create({ name: uniqueName('rule'), trigger, action: missingAction }),
      400, `action /guest/${missingAction} does not exist`);
    const noAction = await gw.request('PUT', `/api/v1/namespaces/_/rules/${uniqueName('rule')}`, { body: { trigger: `/_/${trigger}` } });
    assertErrorBody(noAction, 400, 'rule requires a valid trigger and a valid action');
    const badStatus = await gw.request('POST', `/api/v1/namespaces/_/rules/${rule}`, { body: { status: 'sleeping' } });
    assertErrorBody(badStatus, 400);

    const missing = uniqueName('norule');
    await rejectsWith(ow.rules.get({ name: missing }), 404, MSG.notFound);
    await rejectsWith(ow.rules.enable({ name: missing }), 404, MSG.notFound);
    await rejectsWith(ow.rules.disable({ name: missing }), 404, MSG.notFound);
    await rejectsWith(ow.rules.delete({ name: missing }), 404, MSG.notFound);

    // The wsk CLI's bodies: {name, status:"", trigger, action} and the
    // enable POST with null trigger and action.
    const cli = uniqueName('cli rule');
    const put = await gw.request('PUT', `/api/v1/namespaces/_/rules/${encodeURIComponent(cli)}?overwrite=false`,
      { body: { name: cli, status: '', trigger: `/_/${trigger}`, action: `/_/${echo}` } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.status, 'active');
    const disable = await gw.request('POST', `/api/v1/namespaces/_/rules/${encodeURIComponent(cli)}`,
      { body: { status: 'inactive', trigger: null, action: null } });
    assert.equal(disable.status, 200, disable.text);
    assert.equal((await ow.rules.get({ name: cli })).status, 'inactive');
    const again = await gw.request('POST', `/api/v1/namespaces/_/rules/${encodeURIComponent(cli)}`, { body: { status: 'inactive' } });
    assert.equal(again.status, 200, 'setting the status it has is fine');
  });

  test('rule references: {path,name} objects, "_", and ns/pkg/name without a leading slash', async () => {
    const pkg = uniqueName('pkg');
    await ow.packages.create({ name: pkg });
    await createAction(ow, `${pkg}/echo`, 'echo.js');
    const trigger = uniqueName('trg');
    await ow.triggers.create({ name: trigger });
    const r1 = uniqueName('rule');
    const obj = await gw.request('PUT', `/api/v1/namespaces/_/rules/${r1}`,
      { body: { trigger: { path: '_', name: trigger }, action: { path: `guest/${pkg}`, name: 'echo' } } });
    assert.equal(obj.status, 200, obj.text);
    assert.deepEqual(obj.body.trigger, { path: 'guest', name: trigger });
    assert.deepEqual(obj.body.action, { path: `guest/${pkg}`, name: 'echo' });
    const r2 = uniqueName('rule');
    const three = await gw.request('PUT', `/api/v1/namespaces/guest/rules/${r2}`,
      { body: { trigger: `guest/${trigger}`, action: `guest/${pkg}/echo` } });
    assert.equal(three.status, 200, three.text);
    assert.deepEqual(three.body.action, { path: `guest/${pkg}`, name: 'echo' });
    const bare = await gw.request('PUT', `/api/v1/namespaces/_/rules/${uniqueName('rule')}`,
      { body: { trigger, action: echo } });
    assertErrorBody(bare, 400, /The fully qualified name of the entity must contain at least the namespace and the name of the entity\./);

    // A 3-part name without a leading slash also works for actions.
    const created = await createAction(ow, `guest/${pkg}/three`, 'echo.js');
    assert.equal(created.namespace, `guest/${pkg}`);
    assert.deepEqual(await ow.actions.invoke({ name: `guest/${pkg}/three`, params: { t: 3 }, blocking: true, result: true }), { t: 3 });
    const { entries } = await fired(trigger, { k: 'v' });
    assert.equal(entries.length, 2);
    for (const e of entries) {
      assert.equal(e.success, true, JSON.stringify(e));
      assert.equal(e.action, `guest/${pkg}/echo`);
    }
  });

  test('disable, fire, enable, fire: only enabled fires run the action; delete while active', async () => {
    const action = uniqueName('counted');
    await createAction(ow, action, 'echo.js');
    const trigger = uniqueName('trg');
    await ow.triggers.create({ name: trigger });
    const rule = uniqueName('rule');
    await ow.rules.create({ name: rule, trigger, action });
    const since = Date.now();

    const first = await fired(trigger, { n: 1 });
    await ow.rules.disable({ name: rule });
    assert.equal((await fire(trigger, { n: 2 })).status, 204, 'no active rule');
    await ow.rules.enable({ name: rule });
    const third = await fired(trigger, { n: 3 });
    const runs = await waitForActivations(ow, { name: action, since, count: 2 });
    assert.deepEqual(runs.map(r => r.response.result.n).sort(), [1, 3]);
    assert.deepEqual(runs.map(r => r.activationId).sort(),
      [first.entries[0].activationId, third.entries[0].activationId].sort());

    // An active rule can be deleted; the response says inactive and the
    // trigger forgets it, so the next fire is 204.
    const deleted = await ow.rules.delete({ name: rule });
    assert.equal(deleted.status, 'inactive');
    assert.deepEqual((await ow.triggers.get({ name: trigger })).rules ?? {}, {});
    assert.equal((await fire(trigger, { n: 4 })).status, 204);
    const after = await ow.activations.list({ name: trigger, since, docs: true });
    assert.equal(after.length, 2, 'only the fires with an active rule were recorded');
  });

  test('rule status survives updates, enables, disables and a change of trigger', async () => {
    const t1 = uniqueName('trg');
    const t2 = uniqueName('trg');
    await ow.triggers.create({ name: t1 });
    await ow.triggers.create({ name: t2 });
    const rule = uniqueName('rule');
    await ow.rules.create({ name: rule, trigger: t1, action: echo });
    const status = async () => (await ow.rules.get({ name: rule })).status;

    await ow.rules.disable({ name: rule });
    let up = await ow.rules.update({ name: rule, trigger: t1, action: echo });
    assert.equal(up.status, 'inactive');
    assert.equal(await status(), 'inactive');
    await ow.rules.enable({ name: rule });
    up = await ow.rules.update({ name: rule, trigger: t1, action: echo });
    assert.equal(up.status, 'active');
    assert.equal(await status(), 'active');
    await ow.rules.disable({ name: rule });
    up = await ow.rules.update({ name: rule, trigger: t2, action: echo });
    assert.equal(up.status, 'inactive');
    assert.deepEqual(up.trigger, { path: 'guest', name: t2 });
    assert.equal(await status(), 'inactive');
    assert.equal((await ow.triggers.get({ name: t2 })).rules[`guest/${rule}`].status, 'inactive');
    assert.ok(!((await ow.triggers.get({ name: t1 })).rules ?? {})[`guest/${rule}`], 'unlinked from the old trigger');
    await ow.rules.enable({ name: rule });
    up = await ow.rules.update({ name: rule, trigger: t1, action: echo });
    assert.equal(up.status, 'active');
    assert.equal((await ow.triggers.get({ name: t1 })).rules[`guest/${rule}`].status, 'active');
    assert.equal(up.version, '0.0.5', 'four updates');

    // The rule list never knows the status; GET of each rule does.
    const names = (await ow.rules.list()).map(r => r.name);
    assert.ok(names.includes(rule));
  });

  test('a rule recreated under the same name on another trigger works', async () => {
    const t1 = uniqueName('trg');
    const t2 = uniqueName('trg');
    await ow.triggers.create({ name: t1 });
    await ow.triggers.create({ name: t2 });
    const rule = uniqueName('rule');
    await ow.rules.create({ name: rule, trigger: t1, action: echo });
    await ow.rules.delete({ name: rule });
    const again = await ow.rules.create({ name: rule, trigger: t2, action: echo });
    assert.equal(again.status, 'active');
    assert.equal(again.version, '0.0.1');
    assert.equal((await fire(t1)).status, 204);
    const { entries } = await fired(t2, { again: true });
    assert.equal(entries.length, 1);
    assert.equal(entries[0].rule, `guest/${rule}`);
    assert.equal((await pollActivation(ow, entries[0].activationId)).response.result.again, true);
  });

  test('two triggers to one action, one trigger to two actions: every action runs', async () => {
    const a1 = uniqueName('a1');
    const a2 = uniqueName('a2');
    await createAction(ow, a1, 'echo.js');
    await createAction(ow, a2, 'echo.js');
    const t1 = uniqueName('t1');
    const t2 = uniqueName('t2');
    await ow.triggers.create({ name: t1 });
    await ow.triggers.create({ name: t2 });
    await ow.rules.create({ name: uniqueName('r'), trigger: t1, action: a1 });
    await ow.rules.create({ name: uniqueName('r'), trigger: t1, action: a2 });
    await ow.rules.create({ name: uniqueName('r'), trigger: t2, action: a1 });
    const since = Date.now();
    const f1 = await fired(t1, { from: 't1' });
    const f2 = await fired(t2, { from: 't2' });
    assert.equal(f1.entries.length, 2);
    assert.equal(f2.entries.length, 1);
    const runs1 = await waitForActivations(ow, { name: a1, since, count: 2 });
    assert.deepEqual(runs1.map(r => r.response.result.from).sort(), ['t1', 't2']);
    const runs2 = await waitForActivations(ow, { name: a2, since });
    assert.deepEqual(runs2.map(r => r.response.result.from), ['t1']);
  });

  test('rules to a packaged action and through a binding, with spaces in the names', async () => {
    const pkg = uniqueName('rule pkg');
    const bnd = uniqueName('rule bnd');
    await ow.packages.create({ name: pkg, package: { parameters: params({ from: 'package' }) } });
    await ow.packages.create({ name: bnd, package: { binding: { namespace: 'guest', name: pkg }, parameters: params({ from: 'binding' }) } });
    await createAction(ow, `${pkg}/echo it`, 'echo.js');
    const trigger = uniqueName('a trigger');
    await ow.triggers.create({ name: trigger });
    const direct = uniqueName('direct rule');
    const viaBinding = uniqueName('binding rule');
    const created = await ow.rules.create({ name: direct, trigger, action: `${pkg}/echo it` });
    assert.deepEqual(created.action, { path: `guest/${pkg}`, name: 'echo it' });
    const bound = await ow.rules.create({ name: viaBinding, trigger, action: `${bnd}/echo it` });
    assert.deepEqual(bound.action, { path: `guest/${bnd}`, name: 'echo it' });

    const { entries } = await fired(trigger, { x: 1 });
    assert.equal(entries.length, 2);
    const d = await pollActivation(ow, entryFor(entries, direct).activationId);
    assert.equal(d.response.result.from, 'package');
    assert.equal(d.response.result.x, 1);
    const b = await pollActivation(ow, entryFor(entries, viaBinding).activationId);
    assert.equal(b.response.result.from, 'binding');
    assert.equal(kvObject(b.annotations).binding, `guest/${bnd}`);
    assert.equal(entryFor(entries, viaBinding).action, `guest/${bnd}/echo it`);
  });

  test('a rule to a sequence passes the trigger parameters and the payload', async () => {
    const seq = uniqueName('seq');
    await ow.actions.create({ name: seq, sequence: [`/_/${echo}`, `/_/${echo}`] });
    const trigger = uniqueName('trg');
    await ow.triggers.create({ name: trigger, trigger: { parameters: params({ tp: 'T' }) } });
    await ow.rules.create({ name: uniqueName('rule'), trigger, action: seq });
    const { entries } = await fired(trigger, { p: 'P' });
    const rec = await pollActivation(ow, entries[0].activationId);
    assert.equal(rec.name, seq);
    assert.equal(rec.logs.length, 2, 'two component activations');
    const { __ow_headers: headers, ...result } = rec.response.result;
    assert.deepEqual(result, { tp: 'T', p: 'P' });
    assert.equal(typeof headers, 'object');
  });

  test('a rule\'s invoke goes through the throttled invoke path', async () => {
    // A namespace allowed 2 invokes a minute (its own limits, set with
    // `kwhisk admin namespace limits` before its first request).
    const key = await gw.createNamespace('throttled');
    await new Promise((resolve, reject) => {
      execFile(kwhiskBin(), ['admin', 'namespace', 'limits', 'throttled', '--invocations-per-minute', '2', '--data-dir', gw.dataDir],
        { timeout: 20000, env: gatewayEnv(gw.dataDir) }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    });
    const tow = gw.client(key);
    await createAction(tow, 'counted', 'echo.js');
    await tow.triggers.create({ name: 'busy' });
    await tow.rules.create({ name: 'busy-rule', trigger: 'busy', action: 'counted' });
    // Use up the minute's invokes, then fire: the rule's invoke is refused.
    // The calendar minute may turn in between; then go again.
    const entry = await waitFor(async () => {
      let admitted = 0;
      for (;;) {
        const r = await gw.request('POST', '/api/v1/namespaces/_/actions/counted', { auth: key, body: {} });
        if (r.status === 429) break;
        assert.equal(r.status, 202, r.text);
        admitted += 1;
        assert.ok(admitted <= 2, 'at most 2 invokes a minute are admitted');
      }
      const res = await gw.request('POST', '/api/v1/namespaces/_/triggers/busy', { auth: key, body: {} });
      assert.equal(res.status, 202, 'a fire is not an invoke');
      const rec = await pollActivation(tow, res.body.activationId);
      const e = JSON.parse(rec.logs[0]);
      return e.success ? undefined : e;
    }, { timeout: 15000, what: 'a throttled rule invoke' });
    assert.deepEqual({ ...entry, error: undefined },
      { statusCode: 1, success: false, rule: 'throttled/busy-rule', action: 'throttled/counted', error: undefined });
    assert.match(entry.error, /^Too many requests in the last minute \(count: \d+, allowed: 2\)\.$/);
  });

  test('the alarm feed: a 6-field cron with seconds fires; READ answers the alarms package\'s config and status', async () => {
    const trigger = uniqueName('tick');
    const feed = '/whisk.system/alarms/alarm';
    await ow.triggers.create({ name: trigger, annotations: { feed } });
    const action = uniqueName('tock');
    await createAction(ow, action, 'echo.js');
    const rule = uniqueName('tickrule');
    await ow.rules.create({ name: rule, trigger, action }); // a trigger without rules records no fires
    const before = Date.now();
    const created = await ow.feeds.create({ name: feed, trigger, params: { cron: '*/2 * * * * *', trigger_payload: { beat: 1 } } });
    assert.equal(created.response.status, 'success', JSON.stringify(created.response));
    const read = await ow.feeds.get({ name: feed, trigger });
    const { config, status } = read.response.result;
    assert.deepEqual(config, { name: trigger, namespace: 'guest', cron: '*/2 * * * * *', payload: { beat: 1 } });
    assert.equal(status.active, true);
    assert.ok(status.dateChanged >= before - 1000 && status.dateChanged <= Date.now(), `dateChanged ${status.dateChanged}`);
    assert.equal(status.dateChangedISO, new Date(status.dateChanged).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    assert.equal(status.reason, undefined);
    // Every 2 seconds: a fire soon. On Knative the scheduler runs only
    // while this gateway holds the alarms Lease, which an earlier
    // gateway of the suite may hold until it expires (15 s).
    let fires = [];
    for (const end = Date.now() + 30000; fires.length === 0 && Date.now() < end;) {
      await new Promise(r => setTimeout(r, 200));
      fires = await ow.activations.list({ name: trigger, limit: 1 });
    }
    assert.equal(fires.length, 1, 'no fire of a */2 seconds alarm within 30 s');
    await ow.feeds.delete({ name: feed, trigger });
    await ow.rules.delete({ name: rule });
    await ow.triggers.delete({ name: trigger });
    await ow.actions.delete({ name: action });
  });

  test('feeds: the client-side protocol with an echo feed, and a failing feed leaves no trigger', async () => {
    const pkg = uniqueName('feeds');
    await ow.packages.create({ name: pkg });
    const feed = `/guest/${pkg}/feed`;
    await createAction(ow, `${pkg}/feed`, 'echo.js', { annotations: { feed: true } });
    assert.deepEqual((await ow.packages.get({ name: pkg })).feeds.map(f => f.name), ['feed']);

    // `wsk trigger create T --feed F -p k v`: the trigger with the feed
    // annotation, then the feed invoked with CREATE.
    const trigger = uniqueName('fed');
    const created = await ow.triggers.create({ name: trigger, annotations: { feed } });
    assert.deepEqual(created.annotations, [{ key: 'feed', value: feed }]);
    for (const event of ['CREATE', 'READ', 'UPDATE', 'DELETE']) {
      const method = { CREATE: 'create', READ: 'get', UPDATE: 'update', DELETE: 'delete' }[event];
      const rec = await ow.feeds[method]({ name: feed, trigger, params: { k: 'v' } });
      assert.equal(rec.response.status, 'success');
      assert.deepEqual(rec.response.result, {
        lifecycleEvent: event, triggerName: `/_/${trigger}`, authKey: GUEST_AUTH, k: 'v',
      });
    }
    await ow.triggers.delete({ name: trigger });

    // A feed that does not exist: the CLI deletes the trigger it made.
    const orphan = uniqueName('orphan');
    const missingFeed = `/guest/${pkg}/${uniqueName('nofeed')}`;
    await ow.triggers.create({ name: orphan, annotations: { feed: missingFeed } });
    await rejectsWith(ow.feeds.create({ name: missingFeed, trigger: orphan }), 404, MSG.notFound);
    await ow.triggers.delete({ name: orphan });
    await rejectsWith(ow.triggers.get({ name: orphan }), 404);

    // A feed that fails (an application error): the same.
    const failing = uniqueName('failing');
    await createAction(ow, `${pkg}/${failing}`, 'error.js', { annotations: { feed: true } });
    const t2 = uniqueName('fails');
    await ow.triggers.create({ name: t2, annotations: { feed: `/guest/${pkg}/${failing}` } });
    await rejectsWith(ow.feeds.create({ name: `/guest/${pkg}/${failing}`, trigger: t2 }), 502);
    await ow.triggers.delete({ name: t2 });
    await rejectsWith(ow.triggers.get({ name: t2 }), 404);
  });
});
