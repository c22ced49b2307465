function main() {
  return {};
}
