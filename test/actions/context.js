// context.js: returns the activation context the runtime exposes as
// __OW_* environment variables.
function main(params) {
  const env = process.env;
  return {
    api_host: env.__OW_API_HOST,
    api_key: env.__OW_API_KEY === undefined ? null : env.__OW_API_KEY,
    namespace: env.__OW_NAMESPACE,
    action_name: env.__OW_ACTION_NAME,
    action_version: env.__OW_ACTION_VERSION,
    activation_id: env.__OW_ACTIVATION_ID,
    deadline: env.__OW_DEADLINE,
  };
}
