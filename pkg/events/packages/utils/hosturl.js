// /whisk.system/utils/hosturl: the URL that invokes an action (or fires a
// trigger, or calls a web action) of the invoking namespace.
//   path    the action as <action> or <package>/<action>; none: the collection
//   web     true for the web action URL
//   ext     the web action's extension: .html, .http, .json, .svg or .text
//   trigger true for a trigger's URL instead of an action's
const webExtensions = ['.html', '.http', '.json', '.svg', '.text'];

function main(params) {
  const host = process.env.__OW_API_HOST;
  const ns = process.env.__OW_NAMESPACE;
  const web = params.web === true;
  const inPackage = typeof params.path === 'string' && params.path.includes('/');

  if (web && params.trigger) {
    return { error: 'triggers are not allowed for web actions.' };
  }
  if (web && params.ext && !webExtensions.includes(params.ext)) {
    return { error: 'extension for web action must be one of [".html", ".http", ".json", ".svg", ".text"].' };
  }
  if (!web && params.trigger && inPackage) {
    return { error: 'triggers are not allowed in packages.' };
  }

  const base = web
    ? `${host}/api/v1/web/${ns}`
    : `${host}/api/v1/namespaces/${ns}/${params.trigger === true ? 'triggers' : 'actions'}`;
  if (!params.path) {
    return { url: base };
  }
  // A web action outside any package is in the "default" package.
  const path = web && !inPackage ? `default/${params.path}` : params.path;
  const ext = web ? (params.ext || '') : '';
  return { url: `${base}/${path}${ext}` };
}
