// sort.js: sorts params.lines.
function main(params) {
  const lines = (params.lines || []).slice().sort();
  return { lines, length: lines.length };
}
