function main(params) {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      if (params.reject) reject({ msg: 'failed activation on purpose' });
      else resolve({ done: true });
    }, 10);
  });
}
