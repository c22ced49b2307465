// /whisk.system/samples/wordCount: the number of space-separated words in
// the payload.
function main(params) {
  const text = params.payload.toString();
  const count = text.split(' ').length;
  console.log(`The message '${text}' has`, count, 'words');
  return { count };
}
