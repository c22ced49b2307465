// Every activation waits until params.n of them are in the process.
let arrived = 0;
let open;
const all = new Promise((resolve) => { open = resolve; });

async function main(params) {
  console.log('start ' + params.i);
  if (++arrived === params.n) open();
  await all;
  if (params.hang) await new Promise(() => {});
  process.stderr.write('end ');
  process.stderr.write(params.i + '\n');
  return { i: params.i, id: process.env.__OW_ACTIVATION_ID };
}
