// error.js: returns an application error (a result with a top-level error).
function main(params) {
  return { error: params.error || 'This error thrown on purpose by the action.' };
}
