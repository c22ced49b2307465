// Reading activations: get, list (filters, paging, docs, count,
// summaries), logs, result, unknown ids and id validation.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HEX32, MSG, annotation, assertErrorBody, assertLogLine, createAction, rejectsWith,
  startGateway, uniqueName,
} from './lib/gateway.mjs';

const SUMMARY_KEYS = ['activationId', 'annotations', 'duration', 'end', 'name', 'namespace', 'publish',
  'start', 'statusCode', 'subject', 'version'];

describe('activations', { timeout: 60000 }, () => {
  let gw;
  let ow;
  let slow; // name of an action with three activations
  let other; // name of an action with one failed activation
  let records; // slow's records, newest first
  let failed; // other's record

  before(async () => {
    gw = await startGateway();
    ow = gw.client();
    slow = uniqueName('act-slow');
    other = uniqueName('act-other');
    await createAction(ow, slow, 'sleep.js');
    await createAction(ow, other, 'error.js');
    records = [];
    // sequential blocking runs of at least 5 ms each: distinct start times
    for (let i = 0; i < 3; i++) {
      records.unshift(await ow.actions.invoke({ name: slow, params: { ms: 5, i }, blocking: true }));
    }
    await assert.rejects(ow.actions.invoke({ name: other, blocking: true }), err => {
      failed = err.error;
      return err.statusCode === 502;
    });
  });
  after(async () => {
    await gw?.cleanup();
  });

  test('get returns the record', async () => {
    for (const r of [...records, failed]) {
      assert.deepEqual(await ow.activations.get({ activationId: r.activationId }), r);
    }
    // ids are case-insensitive in the path
    const upper = await gw.request('GET', `/api/v1/namespaces/_/activations/${records[0].activationId.toUpperCase()}`);
    assert.equal(upper.status, 200);
    assert.equal(upper.body.activationId, records[0].activationId);
    const byName = await gw.request('GET', `/api/v1/namespaces/guest/activations/${records[0].activationId}`);
    assert.deepEqual(byName.body, records[0]);
  });

  test('list is newest first and its elements are summaries with statusCode', async () => {
    const all = await ow.activations.list({ limit: 200 });
    assert.deepEqual(all.map(a => a.activationId), [failed, ...records].map(r => r.activationId),
      'newest first');
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].start >= all[i].start);
    for (const s of all) {
      assert.deepEqual(Object.keys(s).sort(), SUMMARY_KEYS, `summary keys of ${JSON.stringify(s)}`);
      assert.match(s.activationId, HEX32);
      assert.equal(s.namespace, 'guest');
      assert.equal(typeof annotation(s.annotations, 'kind'), 'string');
    }
    const bySummary = Object.fromEntries(all.map(s => [s.activationId, s]));
    assert.equal(bySummary[failed.activationId].statusCode, 1, 'application error');
    for (const r of records) {
      const s = bySummary[r.activationId];
      assert.equal(s.statusCode, 0);
      assert.equal(s.name, slow);
      assert.equal(s.start, r.start);
      assert.equal(s.end, r.end);
      assert.equal(s.duration, r.duration);
      assert.deepEqual(s.annotations, r.annotations);
    }
  });

  test('list filters by name', async () => {
    const mine = await ow.activations.list({ name: slow });
    assert.deepEqual(mine.map(a => a.activationId), records.map(r => r.activationId));
    const theirs = await ow.activations.list({ name: other });
    assert.deepEqual(theirs.map(a => a.activationId), [failed.activationId]);
    assert.deepEqual(await ow.activations.list({ name: 'nobody-ran-this' }), []);
    const all = await gw.request('GET', '/api/v1/namespaces/_/activations?name=');
    assert.equal(all.body.length, 4, 'an empty name is ignored');
  });

  test('list filters by since and upto, both inclusive', async () => {
    const starts = records.map(r => r.start);
    const expect = (since, upto) => records
      .filter(r => (since === undefined || r.start >= since) && (upto === undefined || r.start <= upto))
      .map(r => r.activationId);
    const cases = [
      [starts[1], undefined],
      [undefined, starts[1]],
      [starts[1], starts[1]],
      [starts[2], starts[0]],
      [starts[0] + 1, undefined],
      [undefined, starts[2] - 1],
    ];
    for (const [since, upto] of cases) {
      const opts = { name: slow };
      if (since !== undefined) opts.since = since;
      if (upto !== undefined) opts.upto = upto;
      const got = await ow.activations.list(opts);
      assert.deepEqual(got.map(a => a.activationId), expect(since, upto), `since=${since} upto=${upto}`);
    }
    assert.equal(expect(starts[1], starts[1]).length, 1, 'the fixture has distinct start times');
  });

  test('list pages with skip and limit', async () => {
    const ids = records.map(r => r.activationId);
    assert.deepEqual((await ow.activations.list({ name: slow, limit: 1 })).map(a => a.activationId), ids.slice(0, 1));
    assert.deepEqual((await ow.activations.list({ name: slow, limit: 1, skip: 1 })).map(a => a.activationId), ids.slice(1, 2));
    assert.deepEqual((await ow.activations.list({ name: slow, skip: 1 })).map(a => a.activationId), ids.slice(1));
    assert.deepEqual(await ow.activations.list({ name: slow, skip: 3 }), []);
    assert.deepEqual((await ow.activations.list({ name: slow, limit: 0 })).map(a => a.activationId), ids,
      'limit=0 means the maximum');
  });

  test('docs=true returns full records; count=true counts', async () => {
    const docs = await ow.activations.list({ name: slow, docs: true });
    assert.deepEqual(docs, records);
    for (const d of docs) {
      assert.equal(d.response.status, 'success');
      assert.ok(Array.isArray(d.logs));
    }
    assert.deepEqual(await ow.activations.list({ name: slow, count: true }), { activations: 3 });
    assert.deepEqual(await ow.activations.list({ count: true }), { activations: 4 });
    assert.deepEqual(await ow.activations.list({ name: slow, count: true, since: records[0].start }), { activations: 1 });
  });

  test('list parameters are validated', async () => {
    const cases = [
      ['docs=true&count=true', "The parameter 'docs' is not permitted with 'count'."],
      ['name=a/b/c', "Parameter may be a 'simple' name or 'package-name/simple' name: a/b/c"],
      ['since=yesterday', 'Parameter is not a valid value for epoch seconds: yesterday'],
      ['upto=12x', 'Parameter is not a valid value for epoch seconds: 12x'],
      ['limit=201', "The value '201' is not in the range of 0 to 200 for activations."],
      ['skip=-2', "The value '-2' is not greater than or equal to 0 for activations."],
    ];
    for (const [qs, msg] of cases) {
      assertErrorBody(await gw.request('GET', `/api/v1/namespaces/_/activations?${qs}`), 400, msg);
    }
  });

  test('logs returns the record\'s log lines', async () => {
    const name = uniqueName('act-logs');
    await createAction(ow, name, 'hello.js');
    const rec = await ow.actions.invoke({ name, params: { name: 'Logs' }, blocking: true });
    const logs = await ow.activations.logs({ activationId: rec.activationId });
    assert.deepEqual(logs, { logs: rec.logs });
    const parsed = logs.logs.map(assertLogLine);
    assert.ok(parsed.some(l => l.stream === 'stdout' && l.text === 'hello stdout Logs'), JSON.stringify(logs));
    assert.ok(parsed.some(l => l.stream === 'stderr' && l.text === 'hello stderr Logs'), JSON.stringify(logs));
    assert.deepEqual(await ow.activations.logs({ activationId: records[0].activationId }), { logs: [] });
  });

  test('result returns result, success and status', async () => {
    const ok = await ow.activations.result({ activationId: records[0].activationId });
    assert.deepEqual({ ...ok, size: undefined }, { result: { slept: 5 }, success: true, status: 'success', size: undefined });
    const bad = await ow.activations.result({ activationId: failed.activationId });
    assert.deepEqual({ ...bad, size: undefined }, {
      result: { error: 'This error thrown on purpose by the action.' }, success: false, status: 'application error', size: undefined,
    });
    assert.ok(!('statusCode' in ok));
  });

  test('an unknown id is 404 for the record, logs and result', async () => {
    const id = '0'.repeat(32);
    await rejectsWith(ow.activations.get({ activationId: id }), 404, MSG.notFound);
    await rejectsWith(ow.activations.logs({ activationId: id }), 404, MSG.notFound);
    await rejectsWith(ow.activations.result({ activationId: id }), 404, MSG.notFound);
    for (const sub of ['', '/logs', '/result']) {
      assertErrorBody(await gw.request('GET', `/api/v1/namespaces/_/activations/${'ab'.repeat(16)}${sub}`), 404, MSG.notFound);
    }
  });

  test('malformed ids are 400', async () => {
    for (const sub of ['', '/logs', '/result']) {
      assertErrorBody(await gw.request('GET', `/api/v1/namespaces/_/activations/abc${sub}`), 400,
        'Activation id length is 3 but must be 32.');
      assertErrorBody(await gw.request('GET', `/api/v1/namespaces/_/activations/${'0'.repeat(33)}${sub}`), 400,
        'Activation id length is 33 but must be 32.');
      assertErrorBody(await gw.request('GET', `/api/v1/namespaces/_/activations/${'g'.repeat(32)}${sub}`), 400,
        'The activation id is not valid.');
    }
    await rejectsWith(ow.activations.get({ activationId: 'short' }), 400, 'Activation id length is 5 but must be 32.');
  });

  test('only GET is routed for activations', async () => {
    const id = records[0].activationId;
    for (const method of ['PUT', 'DELETE', 'POST']) {
      const res = await gw.request(method, `/api/v1/namespaces/_/activations/${id}`, { body: {} });
      assert.ok(res.status === 404 || res.status === 405, `${method} answered ${res.status}`);
      assert.ok(res.body && 'error' in res.body && 'code' in res.body, res.text);
    }
    assert.deepEqual(await ow.activations.get({ activationId: id }), records[0], 'the record is untouched');
  });
});
