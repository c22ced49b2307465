// drive-launcher.js drives one kwhisk launcher (runtimes/<family>/launcher)
// over its pipes with back-to-back no-op runs and prints the launcher
// process's CPU per run (utime + stime from /proc) and the wall time per
// run: the runtime's own cost, without a gateway. docs/benchmarks.md
// ("Invoke CPU from outside") records what it gave.
//
//   node test/bench/drive-launcher.js nodejs|python [runs] [launcher file]
//
// PROF=<dir> runs a Node.js launcher under --cpu-prof into <dir>.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const family = process.argv[2] || 'nodejs';
const runs = Number(process.argv[3]) || 20000;
const repo = path.join(__dirname, '..', '..');
const code = fs.mkdtempSync(path.join(os.tmpdir(), 'kwhisk-drive-'));
let argv;
if (family === 'nodejs') {
  fs.writeFileSync(path.join(code, 'index.js'), 'function main(params) { return params }\n');
  const script = process.argv[4] || path.join(repo, 'runtimes/nodejs/launcher/launcher.js');
  argv = ['node', (process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.PROF] : []).concat([script])];
} else if (family === 'python') {
  fs.writeFileSync(path.join(code, '__main__.py'), 'def main(args):\n    return args\n');
  const script = process.argv[4] || path.join(repo, 'runtimes/python/launcher/launcher.py');
  argv = ['python3', ['-s', '-E', '-u', '-B', '-X', 'utf8', script]]; // as runtimes/python/launcher.Command
} else {
  throw new Error('family must be nodejs or python');
}
const child = spawn(argv[0], argv[1], {
  cwd: code,
  stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  env: { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: code, __OW_CODE: code, __OW_MAIN: 'main' },
});
child.stdout.resume();
child.stderr.resume();

const request = (i) => JSON.stringify({
  value: { n: 1 }, namespace: 'guest', action_name: '/guest/noop', action_version: '0.0.1',
  activation_id: i.toString(16).padStart(32, '0'), transaction_id: 'tid', deadline: String(Date.now() + 60000),
}) + '\n';

function cpu(pid) {
  const f = fs.readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10000; // µs, from 100 Hz ticks
}

let buf = '';
let done = -1; // the first line is the init's ack
let start;
let cpu0;
child.stdio[3].setEncoding('utf8');
child.stdio[3].on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (done === -1 && line !== '{"ok":true}') throw new Error('init failed: ' + line);
    if (++done === 0) {
      start = process.hrtime.bigint();
      cpu0 = cpu(child.pid);
    } else if (done === runs) {
      const wall = Number(process.hrtime.bigint() - start) / 1e3 / runs;
      const used = (cpu(child.pid) - cpu0) / runs;
      console.log(`${family}: ${runs} runs, launcher CPU ${used.toFixed(1)} µs/run, wall ${wall.toFixed(1)} µs/run`);
      child.stdin.end();
      child.on('exit', () => fs.rmSync(code, { recursive: true, force: true }));
      return;
    }
    child.stdin.write(request(done));
  }
});
