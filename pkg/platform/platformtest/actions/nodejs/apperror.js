function main(params) {
  return { error: params.error, other: 'dropped' };
}
