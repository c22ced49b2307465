// kwhisk ActionLoop launcher for Node.js.
//
// The protocol is documented in pkg/actionloop/doc.go. In short: load the
// action's code from $__OW_CODE, call its $__OW_MAIN (default "main"), answer
// {"ok":true} on fd 3 when ready or {"error":...} and exit when loading fails;
// then read one JSON request per line on stdin and write one JSON result per
// line on fd 3 once everything the activation wrote on stdout and stderr is
// in their pipes (no sentinels: the gateway reads the pipes up to the moment
// the result came). Keep this file free of heavy requires: it is on the
// cold-start path.
'use strict';

const fs = require('fs');
const path = require('path');
const Module = require('module');

const RESULT_FD = 3;
const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n';

function writeAll(fd, s) {
  const b = Buffer.from(s, 'utf8');
  let off = 0;
  while (off < b.length) {
    try {
      off += fs.writeSync(fd, b, off, b.length - off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

function fail(msg) {
  writeAll(RESULT_FD, JSON.stringify({ error: msg }) + '\n');
  process.exit(1);
}

function message(e) {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null) {
    try { return JSON.stringify(e); } catch (_) { /* fall through */ }
  }
  return String(e);
}

// thrown renders what main threw as OpenWhisk's Node.js runtime does, by
// concatenation: a thrown Error reads "Error: boom", a string as itself.
function thrown(e) {
  try { return String(e); } catch (_) { return message(e); }
}

// describe renders an init error with its stack, minus the frames of this
// launcher and of Node's internals, which say nothing to the developer.
function describe(e) {
  if (!(e instanceof Error) || typeof e.stack !== 'string') return message(e);
  const keep = [];
  for (const line of e.stack.split('\n')) {
    if (/^\s+at /.test(line) && (line.includes(__filename) || /\(?node:/.test(line))) continue;
    keep.push(line);
  }
  return keep.join('\n');
}

// serializeError renders a rejected promise's reason as the value of the
// result's "error" field, the way OpenWhisk's Node.js runtime does.
function serializeError(e) {
  if (!e) return {};
  if (e instanceof Error) {
    const o = {};
    for (const k of Object.keys(e)) o[k] = e[k];
    o.name = e.name;
    o.message = e.message;
    o.stack = e.stack;
    return o;
  }
  return e;
}

// syntaxError compiles the code alone, without running it, so the error
// points into the developer's code rather than into the trailer.
function syntaxError(src, file, e) {
  try {
    require('vm').compileFunction(src, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
  } catch (e2) {
    return e2;
  }
  return e;
}

function load() {
  const dir = process.env.__OW_CODE || process.cwd();
  const name = process.env.__OW_MAIN || 'main';
  delete process.env.__OW_CODE;
  delete process.env.__OW_MAIN;

  let entry;
  try {
    entry = require.resolve(dir.endsWith('/') ? dir : dir + '/');
  } catch (e) {
    fail('Zipped actions must contain either package.json or index.js at the root.');
  }
  let src;
  try {
    src = fs.readFileSync(entry, 'utf8');
  } catch (e) {
    fail('Initialization has failed due to: ' + message(e));
  }
  if (src.trim() === '') fail('Missing main/no code to execute.');

  // Compile the file as a CommonJS module with a trailer that exports a
  // top-level function named like the entry point when the code declares
  // it without exporting it, as OpenWhisk allows. Direct eval sees the
  // module's scope; names that are not identifiers just fail quietly.
  const key = JSON.stringify(name);
  const trailer = '\n;try { if (module.exports[' + key + '] === undefined) { const __ow_f = eval(' + key +
    '); if (typeof __ow_f === "function") module.exports[' + key + '] = __ow_f; } } catch (__ow_e) {}\n';
  const m = new Module(entry, null);
  m.filename = entry;
  m.paths = Module._nodeModulePaths(path.dirname(entry));
  Module._cache[entry] = m;
  try {
    m._compile(src + trailer, entry);
    m.loaded = true;
  } catch (e) {
    fail('Initialization has failed due to: ' + describe(e instanceof SyntaxError ? syntaxError(src, entry, e) : e));
  }
  const exp = m.exports;
  let fn = exp == null ? undefined : exp[name];
  if (typeof fn !== 'function' && name === 'main') {
    if (typeof exp === 'function') fn = exp; // module.exports = function ...
    else if (exp != null && typeof exp.default === 'function') fn = exp.default; // export default
  }
  if (typeof fn !== 'function') fail("Action entrypoint '" + name + "' is not a function.");
  return fn;
}

// Stem cells (local mode's prewarmed launchers, pkg/platform/local/stem.go):
// started with __OW_STEM=1, the launcher loads no code until its first
// request, {"value":{"main":"<entry point>","env":{<init parameters>}}},
// which sets the environment and loads the code as at start, answering
// {"ok":true} once its output is written, or failing as at start.
const stem = process.env.__OW_STEM === '1';
delete process.env.__OW_STEM;
let main = stem ? null : load();

function loadStem(req) {
  const v = req.value || {};
  for (const [k, val] of Object.entries(v.env || {})) process.env[k] = String(val);
  if (typeof v.main === 'string' && v.main !== '') process.env.__OW_MAIN = v.main;
  main = load();
  finish({ ok: true });
}
const concurrent = process.env.__OW_ALLOW_CONCURRENT === 'true';
let owKeys = [];

const envNames = new Map(); // request key -> __OW_<KEY>

// setEnv exposes every non-value key of the request as __OW_<KEY> and
// removes those the previous request had and this one lacks. Writing the
// environment costs twice what reading it does, and most keys (namespace,
// action name and version) keep their value from one run to the next.
function setEnv(req) {
  const env = process.env;
  const keys = [];
  for (const k in req) {
    if (k === 'value') continue;
    const v = req[k];
    let ek = envNames.get(k);
    if (ek === undefined) {
      ek = '__OW_' + k.toUpperCase();
      envNames.set(k, ek);
    }
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    if (env[ek] !== s) env[ek] = s;
    keys.push(ek);
  }
  for (const k of owKeys) if (!keys.includes(k)) delete process.env[k];
  owKeys = keys;
}

function developerError(msg) {
  return { error: msg, __ow_developer_error: true };
}

function serialize(result) {
  let out;
  try {
    out = JSON.stringify(result === undefined ? {} : result);
  } catch (e) {
    out = JSON.stringify(developerError('An error has occurred: ' + message(e)));
  }
  return out === undefined ? '' : out;
}

// finish writes the result once the activation's output is in the pipes.
// Writes to a pipe are synchronous in Node.js on Linux unless the pipe is
// full: then they queue, and the result waits for the queue to drain.
function finish(result) {
  const out = serialize(result) + '\n';
  const queued = process.stdout.writableLength > 0 || process.stderr.writableLength > 0;
  if (!queued) {
    writeAll(RESULT_FD, out);
    return undefined;
  }
  return new Promise((resolve) => {
    let waiting = 2;
    const flushed = () => {
      if (--waiting === 0) {
        writeAll(RESULT_FD, out);
        resolve();
      }
    };
    process.stdout.write('', flushed);
    process.stderr.write('', flushed);
  });
}

// call runs main on the request's value and hands what it returns, throws
// or resolves to done; it returns a promise when main did.
function call(req, done) {
  let r;
  try {
    r = main(req.value === undefined ? {} : req.value);
  } catch (e) {
    process.stderr.write(describe(e) + '\n');
    done(developerError('An error has occurred: ' + thrown(e)));
    return undefined;
  }
  if (r !== null && (typeof r === 'object' || typeof r === 'function') && typeof r.then === 'function') {
    return Promise.resolve(r).then(done, (e) => done({ error: serializeError(e) }));
  }
  done(r);
  return undefined;
}

// run handles one request line; it returns a promise when main did.
function run(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    finish(developerError('The action input is not valid JSON: ' + message(e)));
    return undefined;
  }
  if (main === null) return loadStem(req);
  setEnv(req);
  return call(req, finish);
}

const pending = [];
let busy = false;

function pump() {
  while (!busy && pending.length > 0) {
    const p = run(pending.shift());
    if (p !== undefined) {
      busy = true;
      p.finally(() => {
        busy = false;
        pump();
      });
    }
  }
}

// The concurrent protocol (pkg/actionloop/concurrent.go): requests and
// results carry a number, "<n> <json>", and every line an activation writes
// on stdout or stderr starts with \x1f<n>\x1f. AsyncLocalStorage tells
// which activation is writing, and gives each its own __OW_* variables.
let store;

function concurrentMode() {
  const { AsyncLocalStorage } = require('async_hooks');
  const { StringDecoder } = require('string_decoder');
  store = new AsyncLocalStorage();

  // tagged cuts what an activation writes into tagged lines; the rest of a
  // line waits for its newline or the activation's end.
  const tag = (act, fd, s, flush) => {
    const text = act.part[fd] + s;
    const lines = text.split('\n');
    act.part[fd] = flush ? '' : lines.pop();
    if (flush && lines[lines.length - 1] === '') lines.pop();
    let out = '';
    for (const l of lines) out += act.tag + l + '\n';
    return out;
  };
  for (const [stream, fd] of [[process.stdout, 0], [process.stderr, 1]]) {
    const write = stream.write.bind(stream);
    stream.__owWrite = write;
    stream.write = function (chunk, encoding, cb) {
      const act = store.getStore();
      if (act === undefined) return write(chunk, encoding, cb);
      if (typeof encoding === 'function') {
        cb = encoding;
        encoding = undefined;
      }
      let s;
      if (typeof chunk === 'string') {
        s = encoding && encoding !== 'utf8' && encoding !== 'utf-8' ? Buffer.from(chunk, encoding).toString('utf8') : chunk;
      } else {
        if (!act.dec[fd]) act.dec[fd] = new StringDecoder('utf8');
        s = act.dec[fd].write(Buffer.from(chunk.buffer ? chunk : String(chunk)));
      }
      const out = tag(act, fd, s, false);
      if (out === '') {
        if (cb) process.nextTick(cb);
        return true;
      }
      return write(out, cb);
    };
  }

  // Each activation sees its own __OW_* variables through process.env.
  const env = process.env;
  const own = (k) => {
    const act = store.getStore();
    return act !== undefined && typeof k === 'string' && Object.prototype.hasOwnProperty.call(act.env, k) ? act : undefined;
  };
  process.env = new Proxy(env, {
    get: (t, k) => (own(k) ? own(k).env[k] : t[k]),
    set: (t, k, v) => {
      const act = own(k);
      if (act) act.env[k] = String(v);
      else t[k] = v;
      return true;
    },
    has: (t, k) => own(k) !== undefined || k in t,
    deleteProperty: (t, k) => {
      const act = own(k);
      if (act) delete act.env[k];
      else delete t[k];
      return true;
    },
    ownKeys: (t) => {
      const keys = Reflect.ownKeys(t);
      const act = store.getStore();
      if (act !== undefined) for (const k of Object.keys(act.env)) if (!keys.includes(k)) keys.push(k);
      return keys;
    },
    getOwnPropertyDescriptor: (t, k) => {
      const act = own(k);
      if (act) return { value: act.env[k], writable: true, enumerable: true, configurable: true };
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
  });

  const end = (act, result) => {
    const out = serialize(result);
    const outs = [process.stdout, process.stderr];
    for (let fd = 0; fd < 2; fd++) {
      let rest = act.dec[fd] ? act.dec[fd].end() : '';
      const text = tag(act, fd, rest, true);
      outs[fd].__owWrite(text + act.tag + SENTINEL);
    }
    writeAll(RESULT_FD, act.id + ' ' + out + '\n');
  };

  return (line) => {
    const sp = line.indexOf(' ');
    const id = line.slice(0, sp);
    const act = { id, tag: '\x1f' + id + '\x1f', part: ['', ''], dec: [null, null], env: {}, done: false };
    const done = (result) => {
      if (act.done) return;
      act.done = true;
      end(act, result);
    };
    let req;
    try {
      req = JSON.parse(line.slice(sp + 1));
    } catch (e) {
      done(developerError('The action input is not valid JSON: ' + message(e)));
      return;
    }
    for (const k in req) {
      if (k === 'value') continue;
      const v = req[k];
      act.env['__OW_' + k.toUpperCase()] = typeof v === 'string' ? v : JSON.stringify(v);
    }
    store.run(act, () => call(req, done));
  };
}

const dispatch = concurrent ? concurrentMode() : (line) => {
  pending.push(line);
  pump();
};

let parts = [];
process.stdin.on('data', (chunk) => {
  let start = 0;
  let i;
  while ((i = chunk.indexOf(10, start)) !== -1) {
    if (parts.length > 0) {
      parts.push(chunk.subarray(start, i));
      dispatch(Buffer.concat(parts).toString('utf8'));
      parts = [];
    } else {
      dispatch(chunk.toString('utf8', start, i));
    }
    start = i + 1;
  }
  if (start < chunk.length) parts.push(chunk.subarray(start));
});
process.stdin.on('end', () => process.exit(0));

writeAll(RESULT_FD, '{"ok":true}\n');
