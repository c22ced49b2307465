exports.main = async function (params) {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { awaited: params.n };
};
