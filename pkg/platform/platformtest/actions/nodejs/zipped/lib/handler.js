const { greet } = require('./greet');
exports.main = (params) => ({ zipped: greet(params.name) });
