// /whisk.system/samples/curl: fetches the URL (or host) in payload with
// curl, 3 s to connect, and answers {msg} with what curl printed: the
// body, or its error. It needs network access from the action; where the
// curl program is missing (the slim Node.js images) Node's fetch stands in
// and reports failures in curl's words.
const { execFile } = require('child_process');

function main(params) {
  const target = String(params.payload);
  console.log('Curl to ' + target);
  return new Promise(resolve => {
    execFile('curl', ['--connect-timeout', '3', target], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && err.code === 'ENOENT') {
        resolve(withFetch(target));
      } else if (err) {
        console.log(stderr);
        resolve({ msg: stderr });
      } else {
        console.log(stdout);
        resolve({ msg: stdout });
      }
    });
  });
}

async function withFetch(target) {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? target : `http://${target}`;
  let host = target;
  try {
    host = new URL(url).hostname;
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(30000) });
    const msg = await res.text();
    console.log(msg);
    return { msg };
  } catch (err) {
    const code = err.cause && err.cause.code;
    let msg = `curl: ${(err.cause && err.cause.message) || err.message}\n`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      msg = `curl: (6) Could not resolve host: ${host}\n`;
    } else if (code === 'ECONNREFUSED') {
      msg = `curl: (7) Failed to connect to ${host}: Connection refused\n`;
    }
    console.log(msg);
    return { msg };
  }
}
