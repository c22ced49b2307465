// split.js: splits params.payload into lines on params.separator (default
// a newline). Only lines and the payload go on, so other input keys (such
// as "error") stop here.
function main(params) {
  const payload = String(params.payload || '');
  return { payload, lines: payload.split(params.separator || '\n') };
}
