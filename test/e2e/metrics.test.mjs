// Prometheus metrics: GET /metrics without credentials counts the
// activations made through the openwhisk client, by outcome, with cold
// starts, the 202s of blocking invokes, trigger fires, rules and
// throttles, and the platform's own gauges.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PLATFORM, kvObject, readAction, startGateway, waitFor,
} from './lib/gateway.mjs';

/**
 * parseMetrics reads the Prometheus text format into a list of samples
 * {name, labels, value}; comments (# HELP, # TYPE) are skipped.
 */
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = {};
    for (const [, k, v] of (m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[k] = v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** value sums the samples of name whose labels include labels; undefined if none. */
function value(samples, name, labels = {}) {
  const match = samples.filter(s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return match.length === 0 ? undefined : match.reduce((sum, s) => sum + s.value, 0);
}

describe('metrics', { timeout: 180000 }, () => {
  let gw;
  let ow;
  let kind;
  before(async () => {
    // One fire a minute: the second fire is throttled.
    gw = await startGateway({ extraArgs: ['--fires-per-minute', '1'] });
    ow = gw.client();
    await ow.actions.create({ name: 'echo', action: await readAction('echo.js'), kind: 'nodejs:default' });
    await ow.actions.create({ name: 'fails', action: await readAction('error.js'), kind: 'nodejs:default' });
    await ow.actions.create({ name: 'throws', action: await readAction('throw.js'), kind: 'nodejs:default' });
    await ow.actions.create({ name: 'sleep', action: await readAction('sleep.js'), kind: 'nodejs:default' });
    kind = (await ow.actions.get({ name: 'echo' })).exec.kind;
  });
  after(async () => {
    await gw?.cleanup();
  });

  async function scrape() {
    const res = await gw.request('GET', '/metrics', { auth: false });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type'), /^text\/plain/);
    return parseMetrics(res.text);
  }

  test('counts invokes by outcome, cold starts, 202s, fires, rules and throttles', async () => {
    // A blocking invoke answers 202 when it outlasts the gateway's 3 s
    // blocking wait: the sleep always does; a cold start on Knative may.
    let accepted = 0;
    const invoke = async (name, params = {}) => {
      // The client resolves with the record (200) or the id alone (202),
      // and rejects with the record of a failed activation (502).
      const out = await ow.actions.invoke({ name, blocking: true, params }).catch(err => {
        assert.equal(err.statusCode, 502, `${name}: ${err.stack || err}`);
        return err.error;
      });
      assert.ok(out.activationId, `${name}: ${JSON.stringify(out)}`);
      if (!out.response) accepted++;
      return out.activationId;
    };
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await invoke('echo', { i }));
    await invoke('fails');
    await invoke('throws');
    await invoke('sleep', { ms: 4500 });
    assert.ok(accepted >= 1, 'the sleep was answered 202');

    await ow.triggers.create({ name: 'tick' });
    await ow.rules.create({ name: 'tock', trigger: 'tick', action: 'echo' });
    const fire = await ow.triggers.invoke({ name: 'tick' });
    assert.ok(fire.activationId);
    const throttled = await gw.request('POST', '/api/v1/namespaces/_/triggers/tick', { body: {} });
    assert.equal(throttled.status, 429, throttled.text);

    const echo = outcome => ({ namespace: 'guest', action: 'echo', kind, outcome });
    const samples = await waitFor(async () => {
      const s = await scrape();
      const got = {
        echoSuccess: value(s, 'kwhisk_activations_total', echo('success')),
        applicationError: value(s, 'kwhisk_activations_total', { namespace: 'guest', action: 'fails', outcome: 'application_error' }),
        developerError: value(s, 'kwhisk_activations_total', { namespace: 'guest', action: 'throws', outcome: 'developer_error' }),
        sleep: value(s, 'kwhisk_activations_total', { namespace: 'guest', action: 'sleep', outcome: 'success' }),
        accepted: value(s, 'kwhisk_blocking_invokes_accepted_total', { namespace: 'guest' }),
        fires: value(s, 'kwhisk_trigger_fires_total', { namespace: 'guest' }),
        rules: value(s, 'kwhisk_rule_activations_total', { namespace: 'guest', outcome: 'invoked' }),
        throttled: value(s, 'kwhisk_throttled_requests_total', { namespace: 'guest', reason: 'fires_per_minute' }),
      };
      const want = {
        echoSuccess: 4, applicationError: 1, developerError: 1, sleep: 1, accepted, fires: 1, rules: 1, throttled: 1,
      };
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      return s;
    }, { timeout: 30000, interval: 200, what: 'the counts of the known requests' });

    // Every echo activation was timed; cold starts are the records with
    // an initTime, as the API reports them.
    assert.equal(value(samples, 'kwhisk_activation_duration_seconds_count', { namespace: 'guest', action: 'echo' }), 4);
    assert.equal(value(samples, 'kwhisk_activation_wait_seconds_count', { namespace: 'guest', action: 'echo' }), 4);
    const recs = await waitFor(async () => {
      const list = await ow.activations.list({ name: 'echo', docs: true, limit: 10 });
      return list.length === 4 ? list : undefined;
    }, { what: 'the 4 echo records' });
    const cold = recs.filter(r => 'initTime' in kvObject(r.annotations)).length;
    assert.ok(cold >= 1, 'the first echo was a cold start');
    assert.equal(value(samples, 'kwhisk_cold_starts_total', { namespace: 'guest', action: 'echo' }), cold);
    assert.equal(value(samples, 'kwhisk_activation_init_seconds_count', { namespace: 'guest', action: 'echo' }), cold);

    // Bounded labels: no activation id anywhere.
    const text = (await gw.request('GET', '/metrics', { auth: false })).text;
    for (const id of ids) assert.ok(!text.includes(id), `/metrics names activation ${id}`);
    // The store's group commits.
    assert.ok(value(samples, 'kwhisk_store_commit_batch_size_count') >= 1);
  });

  test('the platform reports its instances or Services', async () => {
    await ow.actions.invoke({ name: 'echo', blocking: true });
    const s = await scrape();
    if (PLATFORM === 'local') {
      const states = ['running', 'starting', 'idle'].map(state => value(s, 'kwhisk_local_instances', { state }));
      assert.ok(states.every(n => typeof n === 'number'), `local instance states ${states}`);
      assert.ok(states[0] + states[2] >= 1, `an echo instance runs or idles: ${states}`);
      assert.equal(value(s, 'kwhisk_knative_services'), undefined);
    } else if (PLATFORM === 'knative') {
      assert.ok(value(s, 'kwhisk_knative_services', { ready: 'true' }) >= 1, 'the echo Service is Ready');
      assert.equal(value(s, 'kwhisk_local_instances'), undefined);
    }
  });
});
