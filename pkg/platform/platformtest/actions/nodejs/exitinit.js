console.log('exiting during init');
process.exit(3);
function main() {
  return {};
}
