// /whisk.system/samples/helloPromises: invokes /whisk.system/samples/greeting
// (blocking, with the invoker's key: provide-api-key) and answers, through
// a promise, its greeting cut into words.
async function main(params) {
  const activation = await invoke('/whisk.system/samples/greeting', { name: params.name, place: params.place }, true);
  console.log('activation:', activation);
  return { lines: activation.response.result.payload.toString().split(' ') };
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
