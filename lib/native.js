'use strict';
// Loads the compiled addon (built by `npm install` through the napi CLI) and initialises it.
let binding;
try {
  binding = require('../binding.js');
} catch (e) {
  const err = new Error(
    'ferrograd: the native addon is not built or failed to load. Run `npm install` (or `npm run build`) ' +
      'in the package directory; building needs a Rust toolchain.\nCause: ' + e.message,
  );
  err.cause = e;
  throw err;
}
binding.init();
module.exports = binding;
