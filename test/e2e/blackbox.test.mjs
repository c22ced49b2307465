// Native (--native) and docker (--docker) actions: a native zip's `exec`
// runs with the docker-skeleton convention on either platform; the docker
// skeleton without code answers its stub result on either; another image
// without code needs the knative platform, so local mode refuses it with a
// clear 400 and knative mode accepts it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLATFORM, assertErrorBody, startGateway, uniqueName } from './lib/gateway.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('blackbox actions', { timeout: 60000 }, () => {
  let gw;
  before(async () => { gw = await startGateway(); });
  after(async () => { await gw?.cleanup(); });

  test('a native zip runs its exec: last stdout line is the result, earlier lines are logs', async () => {
    const name = uniqueName('native');
    const code = fs.readFileSync(path.join(here, '../actions/native.zip')).toString('base64');
    const put = await gw.request('PUT', `/api/v1/namespaces/_/actions/${name}`, {
      body: { exec: { kind: 'blackbox', image: 'openwhisk/dockerskeleton', code } },
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.exec.kind, 'blackbox');
    assert.equal(put.body.exec.binary, true);
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: { n: 7 } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.response.result, { native: true, input: { n: 7 } });
    assert.ok(res.body.logs.some((l) => /stdout: native log line$/.test(l)), JSON.stringify(res.body.logs));
  });

  test('a docker image without code is refused in local mode', { skip: PLATFORM !== 'local' && `platform ${PLATFORM}` }, async () => {
    const res = await gw.request('PUT', `/api/v1/namespaces/_/actions/${uniqueName('docker')}`, {
      body: { exec: { kind: 'blackbox', image: 'example/some-image' } },
    });
    assertErrorBody(res, 400, 'docker images need the knative platform');
  });

  test('the docker skeleton without code is accepted and answers its stub result', async () => {
    // wskdeploy's docker example and `wsk action create a --docker openwhisk/dockerskeleton`.
    const name = uniqueName('skeleton');
    const put = await gw.request('PUT', `/api/v1/namespaces/_/actions/${name}`, {
      body: { exec: { kind: 'blackbox', image: 'openwhisk/dockerskeleton' } },
    });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.body.exec, { kind: 'blackbox', image: 'openwhisk/dockerskeleton', binary: false });
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body: {} });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.body.response.status, 'application error');
    assert.deepEqual(res.body.response.result, { error: 'This is a stub action. Replace it with custom logic.' });
  });

  test('a docker image without code is accepted on the knative platform', { skip: PLATFORM !== 'knative' && `platform ${PLATFORM}` }, async () => {
    const name = uniqueName('docker');
    const exec = { kind: 'blackbox', image: 'example/some-image', binary: false };
    const put = await gw.request('PUT', `/api/v1/namespaces/_/actions/${name}`, {
      body: { exec: { kind: 'blackbox', image: 'example/some-image' } },
    });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.body.exec, exec);
    const get = await gw.request('GET', `/api/v1/namespaces/_/actions/${name}`);
    assert.equal(get.status, 200, get.text);
    assert.deepEqual(get.body.exec, exec, 'the stored action keeps the image and has no code');
  });
});
