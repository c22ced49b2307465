function main() {
  console.log('about to throw');
  throw new Error('Extraordinary exception');
}
