// /whisk.system/samples/wordCountAsync: wordCount, answered through a
// promise that settles a little later.
function main(params) {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      try {
        const text = params.payload;
        const count = text.split(' ').length;
        console.log(`The message '${text}' has`, count, 'words');
        resolve({ count });
      } catch (err) {
        reject(err);
      }
    }, 100);
  });
}
