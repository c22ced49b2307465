function main() {
  return 'a string';
}
