// syntax.js: does not parse, so the action fails to initialize.
function main(params) {
  return { ok: true ;
}
