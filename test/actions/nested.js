// nested.js: invokes the action params.target (blocking, through the API
// with the caller's key, so it needs provide-api-key) with params.payload
// and returns what it computed.
async function main(params) {
  const key = process.env.__OW_API_KEY;
  if (!key) {
    return { error: 'no API key: annotate the action with provide-api-key' };
  }
  const url = `${process.env.__OW_API_HOST}/api/v1/namespaces/_/actions/${encodeURIComponent(params.target)}?blocking=true&result=true`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { Authorization: 'Basic ' + Buffer.from(key).toString('base64'), 'Content-Type': 'application/json' },
    body: JSON.stringify(params.payload || {}),
  });
  return { status: res.status, nested: await res.json() };
}
