// /whisk.system/utils/cat: the lines joined by newlines, like the Unix
// command. Every other parameter is dropped.
function main(params) {
  const lines = params.lines || [];
  const result = { lines, payload: lines.join('\n') };
  console.log('cat: returning ' + JSON.stringify(result));
  return result;
}
