'use strict'
// The package entry: the Rust core (the native addon, else its WebAssembly build: see
// ./binding.js) plus the few helpers that must be JavaScript. Codes, statuses and messages all
// come from the core.
const { binding: native, kind } = require('./binding.js')
const { expressWebhook, captureRawBody } = require('./express.js')
const { verifyRequest, fetchWebhook } = require('./fetch.js')
const { RedisReplayStore } = require('./redis.js')

const OUTCOMES = Object.freeze(native.outcomeCodes().map((info) => Object.freeze(info)))
/** Every outcome code as a constant, e.g. `OutcomeCode.SIGNATURE_MISMATCH === 'signature_mismatch'`. */
const OutcomeCode = Object.freeze(
  Object.fromEntries(OUTCOMES.map((info) => [info.code.toUpperCase(), info.code])),
)
/** The wire contract's header names. */
const HEADERS = Object.freeze(native.headerNames())

// `util.inspect(verifier)` shows the configuration, never a secret.
native.Verifier.prototype[Symbol.for('nodejs.util.inspect.custom')] = function inspect() {
  return this.toString()
}

module.exports = {
  Verifier: native.Verifier,
  verifyWebhookSignature: native.verifyWebhookSignature,
  computeWebhookSignature: native.computeWebhookSignature,
  buildWebhookSigningPayload: native.buildWebhookSigningPayload,
  signDelivery: native.signDelivery,
  validateDecimalString: native.validateDecimalString,
  parseToStroops: native.parseToStroops,
  formatFromStroops: native.formatFromStroops,
  readHeaders: native.readHeaders,
  redisScript: native.redisScript,
  Checked: native.Checked,
  outcomeCodes: native.outcomeCodes,
  headerNames: native.headerNames,
  OutcomeCode,
  OUTCOMES,
  HEADERS,
  expressWebhook,
  captureRawBody,
  verifyRequest,
  fetchWebhook,
  Reservation: native.Reservation,
  RedisReplayStore,
  implementation: kind,
}
