// /whisk.system/utils/date: the current date and time (an ISO 8601 string
// once serialized).
function main() {
  const now = new Date();
  console.log('It is now ' + now);
  return { date: now };
}
