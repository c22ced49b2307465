const x = notDefinedAnywhere + 1;
function main() {
  return { x };
}
