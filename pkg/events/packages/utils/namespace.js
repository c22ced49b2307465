// /whisk.system/utils/namespace: the namespace of the key that invoked the
// action, not the namespace the action lives in.
function main() {
  return { namespace: process.env.__OW_NAMESPACE };
}
