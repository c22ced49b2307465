// /whisk.system/samples/helloWorld: greets the payload in the activation's
// log; the result is empty.
function main(params) {
  console.log('hello', params.payload + '!');
}
