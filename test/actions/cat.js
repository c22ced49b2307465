// cat.js: joins params.lines with newlines.
function main(params) {
  const lines = params.lines || [];
  return { payload: lines.join('\n'), lines };
}
