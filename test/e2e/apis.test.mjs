// wsk api through the openwhisk npm client's routes (the API management
// calls /whisk.system/apimgmt/{createApi,getApi,deleteApi} that the CLI
// and wskdeploy make too), then the routes themselves, served by the
// gateway at the gwApiUrl it returns: response types, path parameters,
// per-verb routing, CORS, secured web actions, a route to an action that
// is not a web action, other namespaces, and deletion.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GUEST_UUID, MSG, createAction, startGateway, uniqueName } from './lib/gateway.mjs';

describe('wsk api (routes)', { timeout: 120000 }, () => {
  let gw;
  let ow;
  const web = { 'web-export': true };
  const A = {};
  before(async () => {
    // No 202s here: on Knative an action's first run waits for its
    // Service, longer than the default blocking wait.
    gw = await startGateway({ blockingWait: '60s' });
    ow = gw.client();
    A.echo = uniqueName('api-echo');
    A.page = uniqueName('api-page');
    A.secret = uniqueName('api-secret');
    A.plain = uniqueName('api-plain');
    await Promise.all([
      createAction(ow, A.echo, 'echo.js', { annotations: web }),
      createAction(ow, A.page, 'webecho.js', { annotations: web }),
      createAction(ow, A.secret, 'echo.js', { annotations: { ...web, 'require-whisk-auth': 'open sesame' } }),
      createAction(ow, A.plain, 'echo.js'),
    ]);
  });
  after(async () => { await gw?.cleanup(); });

  test('create, list, get and call a route', async () => {
    const created = await ow.routes.create({ basepath: '/hello', relpath: '/world', operation: 'GET', action: A.echo });
    assert.equal(created.gwApiUrl, `${gw.apihost}/api/${GUEST_UUID}/hello`);
    assert.equal(created.gwApiActivated, true);
    assert.equal(created.apidoc.swagger, '2.0');
    assert.equal(created.apidoc.basePath, '/hello');
    const op = created.apidoc.paths['/world'].get;
    assert.equal(op.operationId, 'getWorld');
    assert.deepEqual(op['x-openwhisk'], {
      namespace: 'guest', package: '', action: A.echo, url: `${gw.apihost}/api/v1/web/guest/default/${A.echo}.json`,
    });

    const listed = await ow.routes.list();
    assert.deepEqual(listed.apis.map(a => a.value.apidoc.basePath), ['/hello']);
    const got = await ow.routes.get({ basepath: '/hello' });
    assert.equal(got.apis.length, 1);
    assert.deepEqual(Object.keys(got.apis[0].value.apidoc.paths), ['/world']);

    const res = await fetch(`${created.gwApiUrl}/world?name=Ada`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('x-openwhisk-activation-id'), /^[0-9a-f]{32}$/);
    const body = await res.json();
    assert.equal(body.name, 'Ada');
    assert.equal(body.__ow_method, 'get');

    // Only the defined verb is routed; a preflight gets the CORS headers.
    assert.equal((await fetch(`${created.gwApiUrl}/world`, { method: 'POST', body: '{}' })).status, 404);
    const pre = await fetch(`${created.gwApiUrl}/world`, {
      method: 'OPTIONS', headers: { 'Access-Control-Request-Method': 'GET', Origin: 'http://example.com' },
    });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.equal((await fetch(`${created.gwApiUrl}/mars`)).status, 404);
  });

  test('response types and path parameters', async () => {
    const http = await ow.routes.create({ basepath: '/shop', relpath: '/items/{id}', operation: 'GET', action: A.page, responsetype: 'http' });
    const params = http.apidoc.paths['/items/{id}'].get.parameters;
    assert.deepEqual(params.map(p => [p.name, p.in]), [['id', 'path']]);
    await ow.routes.create({ basepath: '/shop', relpath: '/items/{id}', operation: 'PUT', action: A.page, responsetype: 'http' });
    await ow.routes.create({ basepath: '/shop', relpath: '/greet.html', operation: 'GET', action: A.page, responsetype: 'html' });
    await ow.routes.create({ basepath: '/shop', relpath: '/greet.txt', operation: 'GET', action: A.page, responsetype: 'text' });
    const base = http.gwApiUrl;

    let res = await fetch(`${base}/items/42?color=red`);
    assert.equal(res.status, 200);
    let body = await res.json();
    assert.equal(body.id, '42');
    assert.equal(body.color, 'red');
    assert.equal(body.__ow_path, '/items/42');

    res = await fetch(`${base}/items/7`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ stars: 5 }) });
    assert.equal(res.status, 200);
    body = await res.json();
    assert.deepEqual([body.id, body.stars, body.__ow_method], ['7', 5, 'put']);

    res = await fetch(`${base}/greet.html?name=Ada`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.equal(await res.text(), '<b>hi Ada</b>');
    res = await fetch(`${base}/greet.txt?name=Bo`);
    assert.match(res.headers.get('content-type'), /^text\/plain/);
    assert.equal(await res.text(), 'hi Bo');

    // Path parameters need the http response type, as in OpenWhisk.
    await assert.rejects(
      ow.routes.create({ basepath: '/shop', relpath: '/orders/{id}', operation: 'GET', action: A.page }),
      err => err.statusCode === 502 && /response type of '\.http'/.test(err.error.error),
    );
  });

  test('secured web actions and actions that are not web actions', async () => {
    const secured = await ow.routes.create({ basepath: '/sec', relpath: '/s', operation: 'GET', action: A.secret, secure_key: 'open sesame' });
    const res = await fetch(`${secured.gwApiUrl}/s?x=1`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).x, '1');
    assert.equal((await fetch(`${gw.apihost}/api/v1/web/guest/default/${A.secret}.json`)).status, 401);

    // OpenWhisk's createApi accepts it (the CLI checks web-export before);
    // the route is refused as the action's web URL is.
    await ow.routes.create({ basepath: '/sec', relpath: '/plain', operation: 'GET', action: A.plain });
    const plain = await fetch(`${secured.gwApiUrl}/plain`);
    assert.equal(plain.status, 404);
    assert.equal((await plain.json()).error, MSG.notFound);
  });

  test('APIs are per namespace', async () => {
    const otherKey = await gw.createNamespace(uniqueName('apiother'));
    const other = gw.client(otherKey);
    assert.deepEqual((await other.routes.list()).apis, []);
    // The other namespace may route to guest's web action; its API lives
    // under its own id.
    const created = await other.routes.create({ basepath: '/hello', relpath: '/x', operation: 'GET', action: `/guest/${A.echo}` });
    assert.equal(created.gwApiUrl, `${gw.apihost}/api/${otherKey.split(':')[0]}/hello`);
    assert.equal((await (await fetch(`${created.gwApiUrl}/x?q=1`)).json()).q, '1');
    assert.equal((await fetch(`${gw.apihost}/api/${GUEST_UUID}/hello/x`)).status, 404);
    await other.routes.delete({ basepath: '/hello' });
    assert.deepEqual((await other.routes.list()).apis, []);
  });

  test('delete an operation, then the API', async () => {
    await ow.routes.create({ basepath: '/gone', relpath: '/a', operation: 'GET', action: A.echo });
    const b = await ow.routes.create({ basepath: '/gone', relpath: '/b', operation: 'GET', action: A.echo });
    await ow.routes.delete({ basepath: '/gone', relpath: '/a', operation: 'GET' });
    assert.equal((await fetch(`${b.gwApiUrl}/a`)).status, 404);
    assert.equal((await fetch(`${b.gwApiUrl}/b`)).status, 200);
    await ow.routes.delete({ basepath: '/gone' });
    assert.equal((await fetch(`${b.gwApiUrl}/b`)).status, 404);
    assert.equal((await ow.routes.get({ basepath: '/gone' })).apis.length, 0);
    await assert.rejects(ow.routes.delete({ basepath: '/gone' }),
      err => err.statusCode === 502 && err.error.error === "API deletion failure: API '/gone' does not exist.");
  });
});
