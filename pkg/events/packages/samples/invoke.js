// /whisk.system/samples/invoke: invokes /whisk.system/utils/date (blocking,
// with the invoker's key: provide-api-key), logs the date it answered, and
// returns that activation.
async function main() {
  const activation = await invoke('/whisk.system/utils/date', {}, true);
  const date = activation && activation.response && activation.response.result && activation.response.result.date;
  if (typeof date === 'string') {
    console.log(`It is now ${date}`);
  } else {
    console.log('Could not parse date of of the response.');
  }
  return activation;
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
