// /whisk.system/utils/split: the payload cut at each separator (a string;
// by default any line break) into lines.
function main(params) {
  const separator = params.separator || /\r?\n/;
  const lines = params.payload.toString().split(separator);
  const result = { lines, payload: params.payload };
  console.log('split: returning ' + JSON.stringify(result));
  return result;
}
