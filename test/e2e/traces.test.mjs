// Trace context: a W3C traceparent on an invoke or a fire reaches the
// action (__OW_TRACE_PARENT) and is recorded as the activation's
// "traceparent" annotation, a sequence's components share it; with
// --otlp-endpoint each activation gets a span of its own, a child of the
// caller's, and the spans are exported over OTLP/HTTP.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  annotation, createAction, pollActivation, startGateway, uniqueName, waitFor,
} from './lib/gateway.mjs';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const INCOMING = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

// invoke invokes name blocking with the traceparent header and returns
// the record.
async function invoke(gw, name, traceparent) {
  const headers = traceparent ? { traceparent } : {};
  const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: {}, headers });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

describe('trace context without tracing', { timeout: 120000 }, () => {
  let gw;
  let ow;
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
  });
  after(async () => {
    await gw?.cleanup();
  });

  test('the traceparent reaches the action and is recorded, on every component of a sequence', async () => {
    const name = uniqueName('tp');
    await createAction(ow, name, 'traceparent.js');
    const rec = await invoke(gw, name, INCOMING);
    assert.deepEqual(rec.response.result, { traceparent: INCOMING });
    assert.equal(annotation(rec.annotations, 'traceparent'), INCOMING);

    const seq = uniqueName('tpseq');
    await ow.actions.create({ name: seq, action: { exec: { kind: 'sequence', components: [`/_/${name}`, `/_/${name}`] } } });
    const srec = await invoke(gw, seq, INCOMING);
    assert.equal(annotation(srec.annotations, 'traceparent'), INCOMING);
    assert.equal(srec.logs.length, 2);
    for (const id of srec.logs) {
      const c = await pollActivation(ow, id);
      assert.equal(annotation(c.annotations, 'traceparent'), INCOMING, `component ${id}`);
    }

    const plain = await invoke(gw, name, '');
    assert.deepEqual(plain.response.result, { traceparent: null });
    assert.equal(annotation(plain.annotations, 'traceparent'), undefined);
  });

  test('a fired trigger passes the traceparent to its rules\' activations', async () => {
    const action = uniqueName('tpr');
    const trigger = uniqueName('tpt');
    await createAction(ow, action, 'traceparent.js');
    await ow.triggers.create({ name: trigger });
    await ow.rules.create({ name: uniqueName('tprule'), trigger, action });
    const res = await gw.request('POST', `/api/v1/namespaces/_/triggers/${trigger}`, { body: {}, headers: { traceparent: INCOMING } });
    assert.equal(res.status, 202, res.text);
    const trig = await pollActivation(ow, res.body.activationId);
    assert.equal(annotation(trig.annotations, 'traceparent'), INCOMING);
    const ruled = await pollActivation(ow, JSON.parse(trig.logs[0]).activationId);
    assert.deepEqual(ruled.response.result, { traceparent: INCOMING });
  });
});

describe('tracing with --otlp-endpoint', { timeout: 120000 }, () => {
  let gw;
  let ow;
  let collector;
  const bodies = [];
  before(async () => {
    // An OTLP/HTTP receiver that keeps the raw protobuf bodies: the ids
    // of the spans appear in them as bytes.
    collector = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', c => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces' && req.headers['content-type'] === 'application/x-protobuf') {
          bodies.push(Buffer.concat(chunks));
          res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
        } else {
          res.writeHead(400);
        }
        res.end();
      });
    });
    await new Promise(resolve => collector.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${collector.address().port}`;
    gw = await startGateway({ extraArgs: ['--otlp-endpoint', endpoint] });
    ow = gw.client();
  });
  after(async () => {
    await gw?.cleanup();
    collector?.close();
  });

  test('each activation is a span under the caller\'s, the action sees its own, and the spans are exported', async () => {
    const name = uniqueName('otel');
    await createAction(ow, name, 'traceparent.js');
    const seq = uniqueName('otelseq');
    await ow.actions.create({ name: seq, action: { exec: { kind: 'sequence', components: [`/_/${name}`] } } });
    const srec = await invoke(gw, seq, INCOMING);
    const [, seqTrace, seqSpan] = annotation(srec.annotations, 'traceparent').match(TRACEPARENT);
    assert.equal(seqTrace, TRACE_ID);
    assert.notEqual(seqSpan, CALLER_SPAN);
    const comp = await pollActivation(ow, srec.logs[0]);
    const compTP = annotation(comp.annotations, 'traceparent');
    const [, compTrace, compSpan] = compTP.match(TRACEPARENT);
    assert.equal(compTrace, TRACE_ID);
    assert.notEqual(compSpan, seqSpan);
    assert.deepEqual(comp.response.result, { traceparent: compTP }, 'the action runs in its own span');

    const has = hex => bodies.some(b => b.includes(Buffer.from(hex, 'hex')));
    await waitFor(() => (has(seqSpan) && has(compSpan) ? true : undefined),
      { timeout: 20000, what: 'the spans of the sequence and its component at the collector' });
    assert.ok(bodies.some(b => b.includes(Buffer.from(TRACE_ID, 'hex'))), 'the caller\'s trace id is exported');
  });
});
