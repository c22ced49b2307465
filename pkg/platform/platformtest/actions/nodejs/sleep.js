function main(params) {
  const ms = params.ms || 0;
  return new Promise(resolve => setTimeout(() => resolve({ slept: ms }), ms));
}
