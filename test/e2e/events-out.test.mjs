// Activation events out: with --events-sink every completed activation
// reaches the sink as a CloudEvent (binary mode) of type
// dev.kwhisk.activation.completed whose data is the activation summary.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, uniqueName, waitFor } from './lib/gateway.mjs';

describe('activation events out', { timeout: 60000 }, () => {
  let gw;
  let sink;
  const received = [];
  before(async () => {
    sink = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(202).end();
      });
    });
    await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve));
    gw = await startGateway({ extraArgs: ['--events-sink', `http://127.0.0.1:${sink.address().port}/`] });
  });
  after(async () => {
    await gw?.cleanup();
    sink?.close();
  });

  test('a completed activation is sent to the sink as a CloudEvent', async () => {
    const name = uniqueName('emitted');
    const put = await gw.request('PUT', `/api/v1/namespaces/_/actions/${name}`, {
      body: { exec: { kind: 'nodejs:default', code: 'function main(p) { return {ok: true} }' } },
    });
    assert.equal(put.status, 200, put.text);
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: {} });
    assert.equal(res.status, 200, res.text);
    const id = res.body.activationId;
    const ev = await waitFor(async () => {
      const e = received.find((r) => r.headers['ce-id'] === id);
      if (!e) throw new Error('not yet');
      return e;
    }, { timeout: 10000, what: `event for ${id}` });
    assert.equal(ev.headers['ce-type'], 'dev.kwhisk.activation.completed');
    assert.equal(ev.headers['ce-source'], `/guest/${name}`);
    assert.equal(ev.headers['ce-specversion'], '1.0');
    const data = JSON.parse(ev.body);
    assert.equal(data.activationId, id);
    assert.equal(data.name, name);
    assert.equal(data.statusCode, 0);
    assert.equal(data.response, undefined, 'the data is the summary, not the full record');
  });
});
