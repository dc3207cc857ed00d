'use strict'
// The shared conformance plumbing (conformance/js/cases.cjs), with bodies as Buffers for Node.
const shared = require('../../conformance/js/cases.cjs')

/** A case body as a Buffer. */
const bodyBytes = (body) => Buffer.from(shared.bodyBytes(body))

module.exports = { ...shared, bodyBytes }
