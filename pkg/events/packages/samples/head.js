// /whisk.system/samples/head: the first num lines (num is truncated to an
// integer; 1 unless it is a number).
function main(params) {
  if (!Array.isArray(params.lines)) {
    return { error: 'You must specify a lines parameter!' };
  }
  const num = typeof params.num === 'number' ? Math.trunc(params.num) : 1;
  return { lines: params.lines.slice(0, Math.max(num, 0)), num };
}
