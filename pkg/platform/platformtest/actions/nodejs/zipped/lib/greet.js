exports.greet = (name) => 'Hello from a zip, ' + name + '!';
