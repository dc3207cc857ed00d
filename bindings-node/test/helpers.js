'use strict'
// The shared conformance plumbing (conformance/js/cases.cjs), with bodies as Buffers for Node.
const shared = require('../../conformance/js/cases.cjs')

/** A case body as a Buffer. */
const bodyBytes = (body) => Buffer.from(shared.bodyBytes(body))

/**
 * A `skip` reason for tests of what only the native addon has (`Verifier.check`, hence the
 * asynchronous replay stores such as Redis), when the package runs its WebAssembly fallback.
 */
const nativeOnly =
  require('..').implementation === 'wasm' &&
  'needs the native addon (Verifier.check for asynchronous replay stores); this run is on the WebAssembly fallback'

module.exports = { ...shared, bodyBytes, nativeOnly }
