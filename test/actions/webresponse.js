// webresponse.js: answers a web request with the canned response that
// params.case names (a query parameter), to exercise response shaping.
// A 1x1 grey PNG, base64-encoded.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==';

function main(params) {
  switch (params.case) {
    case 'html':
      return { headers: { 'Content-Type': 'text/html' }, body: '<html><body>hi</body></html>' };
    case 'cookies':
      return { headers: { 'Set-Cookie': ['a=1; Path=/', 'b=2; Path=/'], 'X-Number': 42, 'X-Flag': true }, body: 'cookies' };
    case 'png':
      return { headers: { 'Content-Type': 'image/png' }, body: PNG };
    case 'empty':
      return { headers: { 'X-Custom': 'empty' } };
    case 'status':
      return { statusCode: '201', body: 'created' };
    case 'redirect':
      return { headers: { Location: 'https://example.com/' }, statusCode: 302 };
    case 'json-body':
      return { body: { a: 1, list: [true, null] } };
    case 'json-string':
      return { headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' };
    case 'mismatch':
      return { headers: { 'Content-Type': 'text/plain' }, body: { a: 1 } };
    case 'bad-status':
      return { statusCode: 'teapot', body: 'x' };
    case 'error':
      return { error: { statusCode: 418, headers: { 'X-Error': 'yes' }, body: 'short and stout' } };
    case 'fields':
      return { html: '<p>html</p>', svg: '<svg xmlns="http://www.w3.org/2000/svg"/>', text: { pretty: [1, 2] } };
    case 'options':
      if (params.__ow_method === 'options') {
        return {
          headers: {
            'Access-Control-Allow-Origin': 'https://example.com',
            'Access-Control-Allow-Methods': 'OPTIONS, GET',
            Location: 'https://example.com/options',
            'Set-Cookie': 'opt=1',
          },
          statusCode: 200,
        };
      }
      return { body: 'not options' };
    default:
      return { headers: { 'X-Default': 'yes', 'Content-Type': 'text/plain' }, body: 'default' };
  }
}
