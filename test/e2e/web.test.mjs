// Web actions (WskWebActionsTests and §5 of the API contract), over plain
// HTTP: routing and extensions, the __ow_* inputs, query and body merging,
// raw mode, final protection, response shaping with base64 bodies and
// repeated headers, status defaults, Accept, default CORS and OPTIONS,
// web-custom-options, require-whisk-auth, __ow_user, and the 202 after the
// blocking wait.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GUEST_AUTH, HEX32, MSG, assertErrorBody, authHeader, createAction, kvObject, pollActivation, startGateway, uniqueName,
} from './lib/gateway.mjs';

const DEFAULT_ALLOW_HEADERS = 'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent';
const ALLOW_METHODS = 'OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH';
const PROCESSING = 'There was an error processing your request.';
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==', 'base64');

describe('web actions', { timeout: 120000 }, () => {
  let gw;
  let ow;
  let otherAuth;
  // Web-exported actions, by role.
  const A = {};
  before(async () => {
    gw = await startGateway();
    ow = gw.client();
    otherAuth = await gw.createNamespace('webcaller');
    const web = { 'web-export': true };
    A.echo = uniqueName('echo');
    A.raw = uniqueName('raw');
    A.resp = uniqueName('resp');
    A.custom = uniqueName('custom');
    A.final = uniqueName('final');
    A.hidden = uniqueName('hidden');
    A.stringy = uniqueName('stringy');
    A.authTrue = uniqueName('auth-true');
    A.authSecret = uniqueName('auth-secret');
    A.authNumber = uniqueName('auth-number');
    A.authFalse = uniqueName('auth-false');
    A.failing = uniqueName('failing');
    A.throwing = uniqueName('throwing');
    A.sleepy = uniqueName('sleepy');
    await Promise.all([
      createAction(ow, A.echo, 'echo.js', { annotations: web }),
      createAction(ow, A.raw, 'echo.js', { annotations: { ...web, 'raw-http': true } }),
      createAction(ow, A.resp, 'webresponse.js', { annotations: web }),
      createAction(ow, A.custom, 'webresponse.js', { annotations: { ...web, 'web-custom-options': true, 'require-whisk-auth': true } }),
      createAction(ow, A.final, 'echo.js', { annotations: { ...web, final: true }, params: { fixed: 'bound', open: null } }),
      createAction(ow, A.hidden, 'echo.js'),
      createAction(ow, A.stringy, 'echo.js', { annotations: { 'web-export': 'true' } }),
      createAction(ow, A.authTrue, 'echo.js', { annotations: { ...web, 'require-whisk-auth': true } }),
      createAction(ow, A.authSecret, 'echo.js', { annotations: { ...web, 'require-whisk-auth': 'open sesame' } }),
      createAction(ow, A.authNumber, 'echo.js', { annotations: { ...web, 'require-whisk-auth': 4242 } }),
      createAction(ow, A.authFalse, 'echo.js', { annotations: { ...web, 'require-whisk-auth': false } }),
      createAction(ow, A.failing, 'error.js', { annotations: web }),
      createAction(ow, A.throwing, 'throw.js', { annotations: web }),
      createAction(ow, A.sleepy, 'sleep.js', { annotations: web, params: { ms: 3300 } }),
    ]);
  });
  after(async () => {
    await gw?.cleanup();
  });

  // web sends a request to /api/v1/web/<path> and returns status, headers,
  // the raw bytes, the text, and the parsed JSON body if any.
  async function web(method, path, { body, headers = {}, auth } = {}) {
    const h = { ...headers };
    if (auth) h.Authorization = authHeader(auth === true ? GUEST_AUTH : auth);
    let payload = body;
    if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
      payload = JSON.stringify(body);
      if (!Object.keys(h).some(k => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    }
    const res = await fetch(`${gw.apihost}/api/v1/web/${path}`, { method, headers: h, body: payload });
    const buf = Buffer.from(await res.arrayBuffer());
    const text = buf.toString('utf8');
    let parsed;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, buf, text, body: parsed };
  }

  // input strips what every web input carries and returns the rest.
  function input(res) {
    assert.equal(res.status, 200, `web call: ${res.status} ${res.text}`);
    const { __ow_method: method, __ow_headers: headers, __ow_path: path, ...rest } = res.body;
    return { method, headers, path, rest };
  }

  test('.json: the __ow_* inputs, query strings, body merging and the response type', async () => {
    let res = await web('GET', `guest/default/${A.echo}.json?a=1&b=two`);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.match(res.headers.get('x-openwhisk-activation-id'), HEX32);
    let { method, headers, path, rest } = input(res);
    assert.equal(method, 'get');
    assert.equal(path, '');
    assert.deepEqual(rest, { a: '1', b: 'two' }, 'query parameters arrive as strings');
    assert.ok(!('content-type' in headers), 'a GET without a body has no content-type');
    assert.equal(headers['user-agent'] !== undefined, true);

    res = await web('POST', `guest/default/${A.echo}.json/some/where?a=1&b=query`, { body: { b: 'body', c: [1] }, headers: { 'X-Custom-Header': 'Custom' } });
    ({ method, headers, path, rest } = input(res));
    assert.equal(method, 'post');
    assert.equal(path, '/some/where');
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['x-custom-header'], 'Custom', 'header names are lower-cased');
    assert.deepEqual(rest, { a: '1', b: 'body', c: [1] }, 'body keys win over query keys');

    res = await web('PUT', `guest/default/${A.echo}.json`, { body: 'k1=v1&k2=v2', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    ({ method, rest } = input(res));
    assert.equal(method, 'put');
    assert.deepEqual(rest, { k1: 'v1', k2: 'v2' }, 'form fields are merged as strings');

    res = await web('POST', `guest/default/${A.echo}.json`, { body: 'key=value', headers: { 'Content-Type': 'text/html' } });
    assert.deepEqual(input(res).rest, { __ow_body: 'key=value' }, 'a text body arrives raw');
    res = await web('PATCH', `guest/default/${A.echo}.json`, { body: [1, 'two'] });
    assert.equal(input(res).method, 'patch');
    assert.deepEqual(input(res).rest, { __ow_body: [1, 'two'] }, 'a JSON array arrives as __ow_body');
    res = await web('POST', `guest/default/${A.echo}.json`, { body: Buffer.from([0, 1, 2, 255]), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.deepEqual(input(res).rest, { __ow_body: Buffer.from([0, 1, 2, 255]).toString('base64') }, 'binary arrives base64');
    res = await web('DELETE', `guest/default/${A.echo}.json`);
    assert.equal(input(res).method, 'delete');

    // A URL without an extension is .http: a JSON object result is served
    // as application/json.
    res = await web('GET', `guest/default/${A.resp}?case=json-body`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(res.body, { a: 1, list: [true, null] });
  });

  test('the activation is the owner\'s; __ow_user names an authenticated caller', async () => {
    let res = await web('GET', `guest/default/${A.echo}.json`);
    assert.ok(!('__ow_user' in res.body), 'anonymous: no __ow_user');
    const rec = await pollActivation(ow, res.headers.get('x-openwhisk-activation-id'));
    assert.equal(rec.namespace, 'guest');
    assert.equal(rec.name, A.echo);

    res = await web('GET', `guest/default/${A.echo}.json`, { auth: true });
    assert.equal(res.body.__ow_user, 'guest');
    res = await web('GET', `guest/default/${A.echo}.json`, { auth: otherAuth });
    assert.equal(res.body.__ow_user, 'webcaller');
    res = await web('GET', `guest/default/${A.echo}.json`, { headers: { Authorization: authHeader('nobody:' + 'x'.repeat(64)) } });
    assert.equal(res.status, 200, 'invalid credentials fall back to anonymous');
    assert.ok(!('__ow_user' in res.body));
  });

  test('404 for unknown namespaces, missing or unexported actions, and "_"', async () => {
    for (const path of [
      `nosuchns/default/${A.echo}.json`,
      `guest/default/${uniqueName('missing')}.json`,
      `guest/default/${A.hidden}.json`,
      `guest/default/${A.stringy}.json`,
      `_/default/${A.echo}.json`,
      `guest/${uniqueName('nopkg')}/${A.echo}.json`,
    ]) {
      const res = await web('GET', path);
      assertErrorBody(res, 404, MSG.notFound);
    }
  });

  test('packaged web actions get package parameters, through bindings too', async () => {
    const pkg = uniqueName('webpkg');
    const bnd = uniqueName('webbnd');
    await ow.packages.create({ name: pkg, package: { parameters: [{ key: 'from', value: 'package' }, { key: 'p', value: 1 }] } });
    await ow.packages.create({ name: bnd, package: { binding: { namespace: 'guest', name: pkg }, parameters: [{ key: 'from', value: 'binding' }] } });
    await createAction(ow, `${pkg}/echo`, 'echo.js', { annotations: { 'web-export': true } });
    let res = await web('GET', `guest/${pkg}/echo.json?q=1`);
    assert.deepEqual(input(res).rest, { from: 'package', p: 1, q: '1' });
    res = await web('GET', `guest/${bnd}/echo.json`);
    assert.deepEqual(input(res).rest, { from: 'binding', p: 1 });
    const rec = await pollActivation(ow, res.headers.get('x-openwhisk-activation-id'));
    assert.equal(rec.annotations.find(kv => kv.key === 'binding')?.value, `guest/${bnd}`);
  });

  test('reserved __ow_ names and final parameters cannot be overridden', async () => {
    assertErrorBody(await web('GET', `guest/default/${A.echo}.json?__ow_method=put`), 400, MSG.reserved);
    assertErrorBody(await web('POST', `guest/default/${A.echo}.json`, { body: { __ow_path: '/x' } }), 400, MSG.reserved);
    assertErrorBody(await web('GET', `guest/default/${A.final}.json?fixed=mine`), 400, MSG.reserved);
    assertErrorBody(await web('POST', `guest/default/${A.final}.json`, { body: { fixed: 'mine' } }), 400, MSG.reserved);
    const res = await web('GET', `guest/default/${A.final}.json?open=mine&other=x`);
    assert.deepEqual(input(res).rest, { fixed: 'bound', open: 'mine', other: 'x' }, 'a parameter without a value may be set');
  });

  test('raw-http: __ow_query and __ow_body carry the request as it came', async () => {
    let res = await web('GET', `${'guest'}/default/${A.raw}.json?a=1&b=x%20y&__ow_method=ignored`);
    let { rest } = input(res);
    assert.deepEqual(rest, { __ow_query: 'a=1&b=x%20y&__ow_method=ignored', __ow_body: '' }, 'no merging, no override check');
    const json = JSON.stringify({ k: 'v' });
    res = await web('POST', `guest/default/${A.raw}.json`, { body: json, headers: { 'Content-Type': 'application/json' } });
    ({ rest } = input(res));
    assert.deepEqual(rest, { __ow_query: '', __ow_body: Buffer.from(json).toString('base64') }, 'a JSON body arrives base64');
    res = await web('POST', `guest/default/${A.raw}.json?q`, { body: 'plain text', headers: { 'Content-Type': 'text/plain' } });
    assert.deepEqual(input(res).rest, { __ow_query: 'q', __ow_body: 'plain text' });
  });

  test('.http responses: headers, arrays of cookies, status defaults, base64 bodies, redirects', async () => {
    let res = await web('GET', `guest/default/${A.resp}.http?case=html`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.equal(res.text, '<html><body>hi</body></html>');

    res = await web('GET', `guest/default/${A.resp}.http?case=cookies`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/'], 'an array gives repeated headers');
    assert.equal(res.headers.get('x-number'), '42');
    assert.equal(res.headers.get('x-flag'), 'true');
    assert.match(res.headers.get('content-type'), /^text\/html/, 'a string body defaults to text/html');
    assert.equal(res.text, 'cookies');

    res = await web('GET', `guest/default/${A.resp}.http?case=png`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.deepEqual(res.buf, PNG, 'a binary type\'s body is base64-decoded');

    res = await web('GET', `guest/default/${A.resp}.http?case=empty`);
    assert.equal(res.status, 204, 'no body: 204');
    assert.equal(res.headers.get('x-custom'), 'empty');
    assert.equal(res.text, '');

    res = await web('GET', `guest/default/${A.resp}.http?case=status`);
    assert.equal(res.status, 201, 'a numeric string status works');
    assert.equal(res.text, 'created');

    res = await fetch(`${gw.apihost}/api/v1/web/guest/default/${A.resp}.http?case=redirect`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'https://example.com/');

    res = await web('GET', `guest/default/${A.resp}.http?case=json-string`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(res.body, { a: 1 }, 'a JSON string body with a JSON type is served as JSON');

    // An application error's error value is the response.
    res = await web('GET', `guest/default/${A.resp}.http?case=error`);
    assert.equal(res.status, 418);
    assert.equal(res.headers.get('x-error'), 'yes');
    assert.equal(res.text, 'short and stout');

    assertErrorBody(await web('GET', `guest/default/${A.resp}.http?case=mismatch`), 400,
      'Response type in header did not match generated content type.');
    assertErrorBody(await web('GET', `guest/default/${A.resp}.http?case=bad-status`), 400, 'Response is not valid \'message/http\'.');
    assertErrorBody(await web('GET', `guest/default/${A.throwing}.http`), 400, PROCESSING);
    assertErrorBody(await web('GET', `guest/default/${A.failing}.json?error=oops`), 400, 'Response is not valid \'application/json\'.');
  });

  test('Accept is honoured: HTML to a JSON-only client is 406', async () => {
    const res = await web('GET', `guest/default/${A.resp}.http?case=html`, { headers: { Accept: 'application/json' } });
    assert.equal(res.status, 406);
    const ok = await web('GET', `guest/default/${A.resp}.http?case=html`, { headers: { Accept: 'text/*' } });
    assert.equal(ok.status, 200);
  });

  test('.html, .svg and .text take their property; a missing one is 404', async () => {
    let res = await web('GET', `guest/default/${A.resp}.html?case=fields`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.equal(res.text, '<p>html</p>');
    res = await web('GET', `guest/default/${A.resp}.svg?case=fields`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    assert.equal(res.text, '<svg xmlns="http://www.w3.org/2000/svg"/>');
    res = await web('GET', `guest/default/${A.resp}.text?case=fields`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain/);
    assert.deepEqual(JSON.parse(res.text), { pretty: [1, 2] }, 'an object is printed as JSON text');
    res = await web('GET', `guest/default/${A.resp}.text?case=html`);
    assert.equal(res.text, '<html><body>hi</body></html>', 'body wins over the named property');
    assertErrorBody(await web('GET', `guest/default/${A.echo}.text`), 404, 'Response does not include requested property.');
    assertErrorBody(await web('GET', `guest/default/${A.echo}.html`), 404, 'Response does not include requested property.');
  });

  test('HEAD runs the action and returns its headers without a body', async () => {
    const res = await web('HEAD', `guest/default/${A.resp}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-default'), 'yes');
    assert.equal(res.text, '');
    const id = res.headers.get('x-openwhisk-activation-id');
    assert.match(id, HEX32);
    assert.equal((await pollActivation(ow, id)).response.result.body, 'default');
  });

  test('default CORS: OPTIONS answers 200 without running the action; every response has the headers', async () => {
    let res = await web('OPTIONS', `guest/default/${A.echo}.json`);
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-methods'), ALLOW_METHODS);
    assert.equal(res.headers.get('access-control-allow-headers'), DEFAULT_ALLOW_HEADERS);
    assert.equal(res.headers.get('x-openwhisk-activation-id'), null, 'nothing ran');

    res = await web('OPTIONS', `guest/default/${A.echo}.json`, { headers: { 'Access-Control-Request-Headers': 'x-one, x-two' } });
    assert.equal(res.headers.get('access-control-allow-headers'), 'x-one, x-two');

    res = await web('GET', `guest/default/${A.echo}.json`);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-methods'), ALLOW_METHODS);
    assert.equal(res.headers.get('access-control-allow-headers'), DEFAULT_ALLOW_HEADERS);
  });

  test('web-custom-options: OPTIONS runs the action, even with require-whisk-auth, and sets no CORS of its own', async () => {
    let res = await web('OPTIONS', `guest/default/${A.custom}.http?case=options`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://example.com');
    assert.equal(res.headers.get('access-control-allow-methods'), 'OPTIONS, GET');
    assert.equal(res.headers.get('location'), 'https://example.com/options');
    assert.deepEqual(res.headers.getSetCookie(), ['opt=1']);
    assert.match(res.headers.get('x-openwhisk-activation-id'), HEX32);

    res = await web('GET', `guest/default/${A.custom}.http?case=options`, { auth: true });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'not options');
    assert.equal(res.headers.get('access-control-allow-origin'), null, 'no default CORS headers');
    assertErrorBody(await web('GET', `guest/default/${A.custom}.http?case=options`), 401);
  });

  test('require-whisk-auth: true needs credentials; a secret needs the header; false is open', async () => {
    let res = await web('GET', `guest/default/${A.authTrue}.json`);
    assertErrorBody(res, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="OpenWhisk secure realm"');
    assertErrorBody(await web('GET', `guest/default/${A.authTrue}.json`, { headers: { Authorization: authHeader('nobody:' + 'x'.repeat(64)) } }), 401);
    res = await web('GET', `guest/default/${A.authTrue}.json`, { auth: true });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.__ow_user, 'guest');
    res = await web('GET', `guest/default/${A.authTrue}.json`, { auth: otherAuth });
    assert.equal(res.body.__ow_user, 'webcaller', 'any valid identity will do');

    assertErrorBody(await web('GET', `guest/default/${A.authSecret}.json`), 401);
    assertErrorBody(await web('GET', `guest/default/${A.authSecret}.json`, { headers: { 'X-Require-Whisk-Auth': 'wrong' } }), 401);
    assertErrorBody(await web('GET', `guest/default/${A.authSecret}.json`, { auth: true }), 401, undefined);
    res = await web('GET', `guest/default/${A.authSecret}.json`, { headers: { 'X-Require-Whisk-Auth': 'open sesame' } });
    assert.equal(res.status, 200, res.text);
    assert.ok(!('__ow_user' in res.body));

    assertErrorBody(await web('GET', `guest/default/${A.authNumber}.json`, { headers: { 'X-Require-Whisk-Auth': '4243' } }), 401);
    res = await web('GET', `guest/default/${A.authNumber}.json`, { headers: { 'X-Require-Whisk-Auth': '4242' } });
    assert.equal(res.status, 200, res.text);

    res = await web('GET', `guest/default/${A.authFalse}.json`);
    assert.equal(res.status, 200, res.text);
  });

  test('the annotations of the CLI\'s --web and --web-secure flags; an update with --web creates the action', async () => {
    const name = uniqueName('cliweb');
    const code = `function main(p) { return { body: 'cli ' + (p.who || 'web') }; }`;
    // `wsk action update NAME FILE --web true` on a new action: a GET that
    // may be 404, then a PUT with overwrite.
    const get = await gw.request('GET', `/api/v1/namespaces/_/actions/${name}?code=false`);
    assert.equal(get.status, 404);
    const flags = (web, raw, final) => [{ key: 'web-export', value: web }, { key: 'raw-http', value: raw }, { key: 'final', value: final }];
    const put = async (annotations, extra = {}) => {
      const res = await gw.request('PUT', `/api/v1/namespaces/_/actions/${name}?overwrite=true`,
        { body: { exec: { kind: 'nodejs:default', code }, annotations, ...extra } });
      assert.equal(res.status, 200, res.text);
      return kvObject(res.body.annotations);
    };
    let ann = await put(flags(true, false, true));
    const kind = ann.exec;
    assert.deepEqual(ann, { 'web-export': true, 'raw-http': false, final: true, 'provide-api-key': false, exec: kind });
    let res = await web('GET', `guest/default/${name}?who=x`);
    assert.equal(res.status, 200);
    assert.equal(res.text, 'cli x');

    ann = await put(flags(true, true, true));
    assert.deepEqual(ann, { 'web-export': true, 'raw-http': true, final: true, 'provide-api-key': false, exec: kind });
    res = await web('GET', `guest/default/${name}?who=x`);
    assert.equal(res.text, 'cli web', 'raw: the query is not merged');

    ann = await put([{ key: 'require-whisk-auth', value: 7 }]);
    assert.equal(ann['require-whisk-auth'], 7);
    assertErrorBody(await web('GET', `guest/default/${name}`), 401);
    ann = await put([], { delAnnotations: ['require-whisk-auth'] });
    assert.ok(!('require-whisk-auth' in ann), '--web-secure false deletes the annotation');
    assert.equal((await web('GET', `guest/default/${name}`)).status, 200);

    ann = await put(flags(false, false, false));
    assert.deepEqual(ann, { 'web-export': false, 'raw-http': false, final: false, 'provide-api-key': false, exec: kind });
    assertErrorBody(await web('GET', `guest/default/${name}`), 404, MSG.notFound);
  });

  test('a long URL is fine', async () => {
    const pad = 'a'.repeat(7000);
    const res = await web('GET', `guest/default/${A.echo}.json?a=${pad}`);
    assert.equal(input(res).rest.a, pad);
  });

  test('a request body over 1 MB is 413', async () => {
    const res = await web('POST', `guest/default/${A.echo}.json`, { body: 'x'.repeat(1024 * 1024 + 1), headers: { 'Content-Type': 'text/plain' } });
    assertErrorBody(res, 413);
  });

  test('a web action still running after the blocking wait answers 202 and completes', async () => {
    const res = await web('GET', `guest/default/${A.sleepy}.json`);
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.error, 'Response not yet ready.');
    assert.equal(res.body.code, res.headers.get('x-request-id'));
    const id = res.headers.get('x-openwhisk-activation-id');
    assert.match(id, HEX32);
    const rec = await pollActivation(ow, id);
    assert.equal(rec.response.status, 'success');
    assert.equal(rec.response.result.slept, 3300);
  });
});
