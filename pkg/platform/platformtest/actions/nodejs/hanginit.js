for (;;) {}
function main() {
  return {};
}
