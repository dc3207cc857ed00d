'use strict'
// Preloaded by fallback.test.js: makes @fluxora/webhooks-wasm unloadable, as on an install
// without it, so the loader's last error can be seen.
const Module = require('node:module')

const resolve = Module._resolveFilename
Module._resolveFilename = function hideWasm(request, ...rest) {
  if (request === '@fluxora/webhooks-wasm') throw new Error('hidden by the test')
  return resolve.call(this, request, ...rest)
}
