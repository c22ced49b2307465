// webecho.js: a web action for every response type: given a name, a
// greeting as html and text; else its parameters as the http body.
function main(params) {
  if (params.name) return { html: `<b>hi ${params.name}</b>`, text: `hi ${params.name}` };
  return { body: params };
}
