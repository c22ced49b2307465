// Helpers shared by the e2e tests: start a real `kwhisk serve` on a free
// port and a private data dir, talk to it through the openwhisk npm client
// or plain fetch, and poll (with a deadline) instead of sleeping.

import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import openwhisk from 'openwhisk';

// The well-known guest identity every OpenWhisk deployment bootstraps.
export const GUEST_UUID = '23bc46b1-71f6-4ed5-8c54-816aa4f8c502';
export const GUEST_KEY = '123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP';
export const GUEST_AUTH = `${GUEST_UUID}:${GUEST_KEY}`;
// The other identity every deployment bootstraps; it owns /whisk.system.
export const SYSTEM_AUTH = '789c46b1-71f6-4ed5-8c54-816aa4f8c502:abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP';

export const MSG = {
  notFound: 'The requested resource does not exist.',
  exists: 'resource already exists',
  authInvalid: 'The supplied authentication is invalid',
  authMissing: 'The resource requires authentication, which was not supplied with the request',
  illegalName: 'The name of the entity contains illegal characters.',
  execUndefined: 'exec undefined',
  reserved: 'Request defines parameters that are not allowed (e.g., reserved properties).',
  notAuthorized: 'The supplied authentication is not authorized to access this resource.',
  timeoutParam: 'Timeout must be number of milliseconds up to 60000.',
};

/**
 * PLATFORM is the data plane of the gateways under test: KWHISK_PLATFORM,
 * which `kwhisk serve` reads as its --platform (the gateways inherit this
 * environment), or 'local', its default. test/kube runs this suite with
 * 'knative' on its cluster; tests of one platform's own behaviour check
 * it.
 */
export const PLATFORM = process.env.KWHISK_PLATFORM || 'local';

const here = path.dirname(fileURLToPath(import.meta.url));
const actionsDir = path.resolve(here, '..', '..', 'actions');

/** readAction returns the source of test/actions/<file>. */
export function readAction(file) {
  return readFile(path.join(actionsDir, file), 'utf8');
}

/** kwhiskBin is the binary under test, from KWHISK_BIN. */
export function kwhiskBin() {
  const bin = process.env.KWHISK_BIN;
  if (!bin) {
    throw new Error('KWHISK_BIN is not set: run `make e2e`, or set it to the absolute path of bin/kwhisk');
  }
  return bin;
}

/**
 * gatewayEnv is the environment of a `kwhisk serve` or `kwhisk admin` on
 * dataDir. With KWHISK_E2E_STORE_URL (a PostgreSQL server's URL, set by
 * `make e2e-postgres`) it adds a KWHISK_STORE_URL whose search_path is a
 * schema named after the data dir: each fresh gateway gets a fresh store,
 * a restart and admin commands on the same dir find the same one.
 */
export function gatewayEnv(dataDir) {
  const base = process.env.KWHISK_E2E_STORE_URL;
  if (!base) return process.env;
  const url = new URL(base);
  const dir = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  url.searchParams.set('search_path', `e2e_${dir}`);
  return { ...process.env, KWHISK_STORE_URL: url.toString() };
}

/** freePort asks the kernel for a port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * waitFor calls fn until it returns a value other than undefined (or
 * stops throwing), and gives up after timeout ms with the last error.
 */
export async function waitFor(fn, { timeout = 20000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last ? `: ${last.message || last}` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${why}`);
    }
    await new Promise(r => setTimeout(r, interval));
  }
}

// Every gateway started by this process, so none outlives a crashed test.
const running = new Set();
process.on('exit', () => {
  for (const gw of running) {
    try {
      process.kill(-gw.proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Gateway is one `kwhisk serve` process. start() launches it, stop()
 * sends SIGTERM and waits for a clean exit, kill() SIGKILLs its whole
 * process group (gateway and action runtimes, like a power cut), and
 * restart() starts it again on the same port and data dir. It runs with
 * throttles no suite reaches, or OpenWhisk's with openwhiskLimits.
 */
export class Gateway {
  constructor({ dataDir, port, blockingWait = '3s', extraArgs = [], openwhiskLimits = false }) {
    this.dataDir = dataDir;
    this.port = port;
    this.blockingWait = blockingWait;
    this.extraArgs = extraArgs;
    this.openwhiskLimits = openwhiskLimits;
    this.apihost = `http://127.0.0.1:${port}`;
    this.proc = null;
    this.output = '';
  }

  async start() {
    assert.equal(this.proc, null, 'gateway already running');
    // The suites invoke and fire far more than OpenWhisk's per-namespace
    // defaults (60 a minute, 30 in flight) allow: they get high limits,
    // unless they ask for OpenWhisk's; extraArgs may set others.
    const limits = this.openwhiskLimits ? []
      : ['--invocations-per-minute', '1000000', '--concurrent-invocations', '100000', '--fires-per-minute', '1000000'];
    const args = ['serve', '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir,
      '--blocking-wait', this.blockingWait, ...limits, ...this.extraArgs];
    // detached: its own process group, so kill() can take the action
    // runtimes down with it and leave nothing behind.
    const proc = spawn(kwhiskBin(), args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: gatewayEnv(this.dataDir) });
    this.proc = proc;
    running.add(this);
    const collect = chunk => {
      this.output += chunk.toString();
      if (this.output.length > 200000) this.output = this.output.slice(-100000);
    };
    proc.stdout.on('data', collect);
    proc.stderr.on('data', collect);
    proc.exited = new Promise(resolve => proc.on('exit', (code, signal) => resolve({ code, signal })));
    let exit;
    proc.exited.then(e => { exit = e; });
    try {
      const up = await waitFor(async () => {
        if (exit) return { exit };
        const res = await fetch(`${this.apihost}/ping`);
        if (res.status === 200) return { ok: true };
        throw new Error(`/ping answered ${res.status}`);
      }, { timeout: 20000, interval: 50, what: `kwhisk on ${this.apihost}` });
      if (up.exit) throw new Error(`kwhisk exited (${JSON.stringify(up.exit)}) before answering /ping`);
    } catch (err) {
      err.message += `\n--- kwhisk output ---\n${this.output}`;
      await this.kill();
      throw err;
    }
    return this;
  }

  /** stop sends SIGTERM and resolves with the exit once the process is gone. */
  async stop({ timeout = 40000 } = {}) {
    const proc = this.proc;
    if (!proc) return null;
    proc.kill('SIGTERM');
    const timer = new Promise(resolve => setTimeout(() => resolve(null), timeout).unref());
    const exit = await Promise.race([proc.exited, timer]);
    if (!exit) {
      await this.kill();
      throw new Error(`kwhisk did not exit within ${timeout} ms of SIGTERM\n--- kwhisk output ---\n${this.output}`);
    }
    this.proc = null;
    running.delete(this);
    return exit;
  }

  /**
   * leftovers lists the pids of processes whose working directory lies in
   * this gateway's data dir: action runtimes it started and did not stop.
   * Linux only (it reads /proc); elsewhere it returns [].
   */
  leftovers() {
    let entries;
    try {
      entries = readdirSync('/proc');
    } catch {
      return [];
    }
    let root;
    try {
      root = realpathSync(this.dataDir);
    } catch {
      root = path.resolve(this.dataDir); // removed already
    }
    const pids = [];
    for (const e of entries) {
      if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
      let cwd;
      try {
        cwd = readlinkSync(`/proc/${e}/cwd`);
      } catch {
        continue; // gone, or not ours to read
      }
      if (cwd === root || cwd.startsWith(root + path.sep)) pids.push(Number(e));
    }
    return pids;
  }

  /** killLeftovers SIGKILLs the processes leftovers() finds. */
  killLeftovers() {
    for (const pid of this.leftovers()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** kill SIGKILLs the gateway's process group and waits for the gateway to go. */
  async kill() {
    const proc = this.proc;
    if (!proc) return null;
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      proc.kill('SIGKILL');
    }
    const exit = await proc.exited;
    this.proc = null;
    running.delete(this);
    return exit;
  }

  async restart() {
    const exit = await this.stop();
    await this.start();
    return exit;
  }

  /**
   * createNamespace runs `kwhisk admin namespace create NAME` on this
   * gateway's data dir (the gateway may be running) and returns the new
   * namespace's "uuid:key".
   */
  async createNamespace(name) {
    const out = await new Promise((resolve, reject) => {
      execFile(kwhiskBin(), ['admin', 'namespace', 'create', name, '--data-dir', this.dataDir],
        { timeout: 20000, env: gatewayEnv(this.dataDir) }, (err, stdout, stderr) => {
          if (err) reject(new Error(`kwhisk admin namespace create ${name} failed: ${err.message}\n${stderr}`));
          else resolve(stdout.trim());
        });
    });
    assert.match(out, /^[0-9a-f-]{36}:[A-Za-z0-9]{64}$/, `admin namespace create printed ${JSON.stringify(out)}`);
    return out;
  }

  /** client returns an openwhisk npm client for this gateway. */
  client(apiKey = GUEST_AUTH) {
    return openwhisk({ apihost: this.apihost, api_key: apiKey });
  }

  /**
   * request sends a raw HTTP request to path (below the host) and returns
   * {status, headers, text, body}; body is the parsed JSON or undefined.
   * auth: true (guest), false (none) or a "uuid:key" string.
   */
  async request(method, urlPath, { body, headers = {}, auth = true } = {}) {
    const h = { ...headers };
    if (auth) {
      const key = auth === true ? GUEST_AUTH : auth;
      h.Authorization = 'Basic ' + Buffer.from(key).toString('base64');
    }
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(h).some(k => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    }
    const res = await fetch(this.apihost + urlPath, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  }
}

/**
 * startGateway starts a gateway on a free port and a fresh data dir, and
 * returns it; cleanup() stops it and removes the data dir.
 */
export async function startGateway(opts = {}) {
  const dataDir = opts.dataDir || await mkdtemp(path.join(os.tmpdir(), 'kwhisk-e2e-'));
  const port = opts.port || await freePort();
  const gw = new Gateway({ ...opts, dataDir, port });
  await gw.start();
  gw.cleanup = async () => {
    try {
      const exit = await gw.stop();
      if (exit && (exit.code !== 0 || exit.signal !== null)) {
        throw new Error(`kwhisk did not stop cleanly on SIGTERM: ${JSON.stringify(exit)}\n--- kwhisk output ---\n${gw.output}`);
      }
    } finally {
      gw.killLeftovers();
      if (!process.env.KWHISK_E2E_KEEP) await rm(dataDir, { recursive: true, force: true });
    }
  };
  return gw;
}

/**
 * rejectsWith asserts that promise (an openwhisk client call) rejects with
 * HTTP status and, when message is given, exactly that error text in an
 * OpenWhisk error body ({error, code}).
 */
export async function rejectsWith(promise, status, message) {
  await assert.rejects(promise, err => {
    assert.equal(err.name, 'OpenWhiskError', `expected an OpenWhiskError, got ${err.stack || err}`);
    assert.equal(err.statusCode, status, `status of ${err.message}`);
    if (message !== undefined) {
      assert.equal(err.error?.error, message, `error text of ${JSON.stringify(err.error)}`);
      assert.equal(typeof err.error?.code, 'string', `code of ${JSON.stringify(err.error)}`);
    }
    return true;
  });
}

/**
 * assertErrorBody checks a raw response: the status, the OpenWhisk error
 * shape with both error and code, the message (exact string or RegExp),
 * and that code is the X-Request-ID of the response.
 */
export function assertErrorBody(res, status, message) {
  assert.equal(res.status, status, `status (body ${res.text})`);
  assert.ok(res.body && typeof res.body === 'object', `JSON body expected, got ${res.text}`);
  assert.deepEqual(Object.keys(res.body).sort(), ['code', 'error'], `error body keys of ${res.text}`);
  assert.equal(typeof res.body.error, 'string');
  if (message instanceof RegExp) {
    assert.match(res.body.error, message);
  } else if (message !== undefined) {
    assert.equal(res.body.error, message);
  }
  const tid = res.headers.get('x-request-id');
  assert.ok(tid, 'X-Request-ID header missing');
  assert.equal(res.body.code, tid, 'error code is the transaction id');
}

/** uniqueName returns a fresh entity name with the given prefix. */
let counter = 0;
export function uniqueName(prefix) {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/** nextMillisecond busy-waits (at most a few ms) until Date.now() > t. */
export function nextMillisecond(t) {
  while (Date.now() <= t) {
    // spin: entity timestamps have millisecond resolution
  }
}

/** annotation returns the value of key in an OpenWhisk key/value list. */
export function annotation(list, key) {
  const e = (list || []).find(kv => kv.key === key);
  return e === undefined ? undefined : e.value;
}

/** kvObject turns a key/value list into an object, failing on duplicate keys. */
export function kvObject(list) {
  const out = {};
  for (const { key, value } of list) {
    assert.ok(!(key in out), `duplicate key ${key} in ${JSON.stringify(list)}`);
    out[key] = value;
  }
  return out;
}

export const HEX32 = /^[0-9a-f]{32}$/;

// One log line: an RFC3339 UTC timestamp with fractional seconds,
// left-justified to 30 characters, a space, the stream, ": ", the text.
export const LOG_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) *(stdout|stderr): (.*)$/;

/** assertLogLine checks one line's format and returns {ts, stream, text}. */
export function assertLogLine(line) {
  const m = LOG_LINE.exec(line);
  assert.ok(m, `log line ${JSON.stringify(line)} does not match <timestamp> <stream>: <text>`);
  assert.equal(line.slice(0, 30).trimEnd(), m[1], `timestamp of ${JSON.stringify(line)} is not left-justified to 30 chars`);
  assert.equal(line[30], ' ', `column 31 of ${JSON.stringify(line)} must be a space`);
  assert.ok(!Number.isNaN(Date.parse(m[1])), `timestamp of ${JSON.stringify(line)} does not parse`);
  return { ts: m[1], stream: m[2], text: m[3] };
}

/** createAction creates (or replaces) an action from test/actions/<file>. */
export async function createAction(ow, name, file, extra = {}) {
  const code = await readAction(file);
  const kind = extra.kind || (file.endsWith('.py') ? 'python:default' : 'nodejs:default');
  return ow.actions.create({ name, action: code, kind, ...extra });
}

/** authHeader returns the Basic Authorization header value for "uuid:key". */
export function authHeader(key = GUEST_AUTH) {
  return 'Basic ' + Buffer.from(key).toString('base64');
}

/**
 * waitForActivations polls the full records (docs=true) of the caller's
 * activations named name (`action` or `pkg/action`) started at or after
 * since, until at least count exist, and returns them newest first.
 */
export function waitForActivations(ow, { name, since, count = 1, timeout = 20000 }) {
  return waitFor(async () => {
    const list = await ow.activations.list({ name, since, docs: true, limit: 200 });
    return list.length >= count ? list : undefined;
  }, { timeout, what: `${count} activation(s) of ${name} since ${since}` });
}

/** pollActivation polls activations.get until the record exists. */
export function pollActivation(ow, id, { timeout = 20000 } = {}) {
  return waitFor(async () => {
    try {
      return await ow.activations.get({ activationId: id });
    } catch (err) {
      if (err.statusCode === 404) return undefined;
      throw err;
    }
  }, { timeout, what: `activation ${id}` });
}
