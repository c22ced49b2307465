// sleep.js: resolves after params.ms milliseconds (default 0).
function main(params) {
  const ms = Number(params.ms) || 0;
  return new Promise(resolve => setTimeout(() => resolve({ slept: ms }), ms));
}
