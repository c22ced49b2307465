// traceparent.js: returns the W3C traceparent the activation runs in, as
// the runtime exposes it (__OW_TRACE_PARENT), or null.
function main(params) {
  return { traceparent: process.env.__OW_TRACE_PARENT ?? null };
}
