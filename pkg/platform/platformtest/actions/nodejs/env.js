function main() {
  const env = {};
  for (const k of Object.keys(process.env)) {
    if (k.startsWith('__OW_') || k === 'SECRET' || k === 'JSONISH') env[k] = process.env[k];
  }
  return env;
}
