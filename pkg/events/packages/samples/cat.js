// /whisk.system/samples/cat: each line followed by a newline, like the Unix
// command.
function main(params) {
  if (!Array.isArray(params.lines)) {
    return { error: 'You must specify a lines parameter!' };
  }
  const payload = params.lines.map(line => `${line}\n`).join('');
  return { lines: params.lines, payload };
}
