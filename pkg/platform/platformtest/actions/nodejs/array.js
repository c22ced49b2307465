function main() {
  return [1, 'two', { three: 3 }];
}
