// /whisk.system/utils/sort: the lines in JavaScript's default order (as
// strings), with their count.
function main(params) {
  const lines = params.lines || [];
  console.log('sort input msg: ' + JSON.stringify(params));
  console.log('sort before: ' + lines);
  lines.sort();
  console.log('sort after: ' + lines);
  return { lines, length: lines.length };
}
