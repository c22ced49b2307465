// head.js: keeps the first params.num (default 1) of params.lines.
function main(params) {
  const num = Number(params.num) || 1;
  return { lines: (params.lines || []).slice(0, num) };
}
