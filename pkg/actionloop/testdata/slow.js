function main(params) {
  console.log('working');
  for (;;) {}
}
