function main(params) {
  if (params.hang) {
    console.log('hanging');
    for (;;) {}
  }
  return { hung: false };
}
