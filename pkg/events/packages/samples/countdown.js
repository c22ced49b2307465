// /whisk.system/samples/countdown: logs n, then invokes itself (not
// blocking) with n - 1 through the REST API, with the invoker's key
// (provide-api-key), until n is 0. The result is the next invocation's
// {activationId}; at 0 it is empty.
async function main(params) {
  const n = parseInt(params.n, 10);
  console.log(n);
  if (n === 0) {
    console.log('Happy New Year!');
    return {};
  }
  if (n > 0) {
    return invoke(process.env.__OW_ACTION_NAME, { n: n - 1 }, false);
  }
  return {};
}

// invoke posts params to the action named /namespace[/package]/action.
async function invoke(name, params, blocking) {
  const [ns, ...rest] = name.replace(/^\//, '').split('/');
  const url = `${process.env.__OW_API_HOST}/api/v1/namespaces/${encodeURIComponent(ns)}/actions/` +
    `${rest.map(encodeURIComponent).join('/')}?blocking=${blocking}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      Authorization: 'Basic ' + Buffer.from(process.env.__OW_API_KEY || '').toString('base64'),
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(params),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok && res.status !== 202) {
    throw new Error(`invoke ${name}: ${res.status} ${body.error || JSON.stringify(body)}`);
  }
  return body;
}
