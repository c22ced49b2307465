// A full disk: on a data dir of 40 MB, invokes of an action with a 300 KB
// result fill it. The gateway must then refuse new work with a 503 naming
// the cause, keep serving reads, lose none of the activations it
// answered, survive a SIGTERM and a restart, and take work again by itself
// once space is freed. The data dir is a real small filesystem (tmpfs),
// which needs root to mount: make test runs as root.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startGateway, uniqueName, waitFor } from './lib/gateway.mjs';

const run = promisify(execFile);
const FULL = 'The database or disk is full: kwhisk accepts no new activations or changes until space is freed.';
const root = process.getuid && process.getuid() === 0;

const BIG = `function main() { return { data: 'x'.repeat(300 * 1024) }; }`;

// fillUp writes file until the filesystem refuses more.
function fillUp(file) {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 << 10);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if (err.code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

// The guard is the SQLite store's: with --store-url the data dir holds no
// store (make e2e-postgres), and a PostgreSQL server's disk is its own.
const skip = !root ? 'mounting a small tmpfs needs root'
  : process.env.KWHISK_E2E_STORE_URL ? 'the store is PostgreSQL, not in the data dir' : false;

describe('full disk', { timeout: 180000, skip }, () => {
  let dir;
  let gw;
  after(async () => {
    if (gw) await gw.stop().catch(() => {});
    if (dir) {
      await run('umount', [dir]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('refuses new work with 503, keeps what it answered, recovers when space is freed', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kwhisk-disk-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'kwhisk-e2e', dir]);
    const filler = path.join(dir, 'filler');
    await writeFile(filler, Buffer.alloc(8 << 20));
    gw = await startGateway({ dataDir: path.join(dir, 'data') });
    let ow = gw.client();
    const name = uniqueName('big');
    await ow.actions.create({ name, action: BIG });

    const answered = [];
    const refused = [];
    for (let i = 0; i < 200; i++) {
      try {
        const a = await ow.actions.invoke({ name, blocking: true });
        assert.equal(a.response.status, 'success');
        answered.push(a.activationId);
      } catch (err) {
        assert.equal(err.statusCode, 503, `invoke #${i}: ${err.message}`);
        assert.equal(err.error.error, FULL);
        refused.push(i);
        if (refused.length === 5) break; // it stays full: enough said
      }
    }
    assert.ok(answered.length > 0, 'some invokes ran before the disk filled');
    assert.ok(refused.length > 0, `the disk never filled: ${answered.length} answered`);

    // The gateway stopped short of the reserve it keeps; another writer
    // now takes every block left. Writes are refused, reads work.
    const brim = path.join(dir, 'brim');
    fillUp(brim);
    await assert.rejects(ow.actions.create({ name: uniqueName('more'), action: BIG }),
      err => err.statusCode === 503 && err.error.error === FULL);
    await assert.rejects(ow.actions.invoke({ name, blocking: true }),
      err => err.statusCode === 503 && err.error.error === FULL);
    assert.equal((await ow.activations.get({ activationId: answered[0] })).activationId, answered[0]);
    assert.ok((await ow.activations.list({ limit: 5 })).length > 0);
    await unlink(brim);

    // a SIGTERM on a nearly full disk exits cleanly, and nothing
    // answered is lost
    const exit = await gw.restart();
    assert.deepEqual(exit, { code: 0, signal: null }, `kwhisk exit after SIGTERM\n${gw.output}`);
    ow = gw.client();
    for (const id of answered) {
      const a = await ow.activations.get({ activationId: id });
      assert.equal(a.response.status, 'success', `activation ${id} after restart`);
    }

    // space comes back: the gateway takes work again by itself
    await unlink(filler);
    await waitFor(async () => {
      const a = await ow.actions.invoke({ name, blocking: true });
      return a.response.status === 'success' ? true : undefined;
    }, { timeout: 15000, interval: 250, what: 'an invoke succeeding once space is freed' });
  });
});
