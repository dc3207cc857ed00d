'use strict'
// The package-independent plumbing of the JavaScript test suites (bindings-node, bindings-wasm):
// the conformance file, its body encoding, a case's configuration as options, the expected
// result, and the reference delivery of the original TypeScript helper. No dependencies
// beyond Node's own modules; CommonJS so that `require` and `import` both load it.
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const CASES = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cases.json'), 'utf8'))

function hexBytes(hex) {
  const bytes = new Uint8Array(hex.length / 2)
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return bytes
}

/** A case body ({utf8}, {hex} or {repeat_hex, count}) as a plain Uint8Array (never a Buffer). */
function bodyBytes(body) {
  if (typeof body.utf8 === 'string') return new TextEncoder().encode(body.utf8)
  if (typeof body.hex === 'string') return hexBytes(body.hex)
  return hexBytes(body.repeat_hex.repeat(body.count))
}

/** A case's headers as a request's header object; null headers are absent. */
function headersOf(h) {
  const headers = {}
  if (h.delivery_id != null) headers['x-fluxora-delivery-id'] = h.delivery_id
  if (h.timestamp != null) headers['x-fluxora-timestamp'] = h.timestamp
  if (h.signature != null) headers['x-fluxora-signature'] = h.signature
  return headers
}

const pick = (config, key) => (config[key] === undefined ? CASES.defaults[key] : config[key])

/** The `new Verifier(...)` options of a case: missing keys take the defaults, replay sized by the case. */
function verifierOptions(testCase) {
  const { config } = testCase
  const replay = { ...CASES.defaults.replay, ...(testCase.replay || {}) }
  return {
    secret: config.secret ?? undefined,
    previousSecret: config.previous_secret ?? undefined,
    previousSecretRotatedAt: config.previous_secret_rotated_at ?? undefined,
    toleranceSeconds: pick(config, 'tolerance_seconds'),
    maxBodyBytes: pick(config, 'max_body_bytes'),
    graceWindowSeconds: pick(config, 'grace_window_seconds'),
    replay: { capacity: replay.capacity, deliveryRetentionSeconds: replay.delivery_retention_seconds },
  }
}

/** One delivery of a case (the case itself or a prior) as `Verifier.verify` fields. */
function deliveryOf(d, rawBody) {
  return { deliveryId: d.headers.delivery_id, timestamp: d.headers.timestamp, signature: d.headers.signature, rawBody, now: d.now }
}

/** The `verifyWebhookSignature` input of a case without replay state (its config as given). */
function dropInInput(testCase, rawBody) {
  const { config, headers } = testCase
  return {
    secret: config.secret,
    secretPrevious: config.previous_secret,
    previousSecretRotatedAt: config.previous_secret_rotated_at,
    graceWindowSeconds: config.grace_window_seconds,
    toleranceSeconds: config.tolerance_seconds,
    maxBodyBytes: config.max_body_bytes,
    deliveryId: headers.delivery_id,
    timestamp: headers.timestamp,
    signature: headers.signature,
    rawBody,
    now: testCase.now,
  }
}

/** Asserts a result object equals a case's `expect` (usedPreviousSecret only for ok). */
function expectResult(actual, expected, label) {
  const want = { ok: expected.code === 'ok', status: expected.status, code: expected.code, message: expected.message }
  if (expected.code === 'ok') want.usedPreviousSecret = expected.used_previous_secret
  assert.deepEqual({ ...actual }, want, label)
}

/**
 * Runs one signature case through `verify(delivery)` (a package-specific call on a fresh
 * verifier): every prior delivery must answer its `expect_code`, then the case its `expect`.
 */
function checkCase(testCase, index, verify) {
  for (const prior of testCase.prior || []) {
    assert.equal(verify(prior).code, prior.expect_code, `case ${index} (${testCase.name}): prior`)
  }
  expectResult(verify(testCase), testCase.expect, `case ${index}: ${JSON.stringify(testCase.name)}`)
}

/** The reference delivery of the original TypeScript helper (also known answer 0). */
const REFERENCE = {
  SECRET: 'topsecret',
  TS: '1710000000',
  NOW: 1710000000,
  BODY: '{"event":"stream.updated"}',
  SIG: '925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79',
}

/** The reference delivery as `verifyWebhookSignature` input, with fields overridden. */
const referenceInput = (over = {}) => ({
  secret: REFERENCE.SECRET,
  deliveryId: 'dlv_1',
  timestamp: REFERENCE.TS,
  signature: REFERENCE.SIG,
  rawBody: REFERENCE.BODY,
  now: REFERENCE.NOW,
  ...over,
})

/** A Fetch-API POST to the test endpoint. */
const webhookRequest = (body, headers) => new Request('http://localhost/webhooks', { method: 'POST', headers, body })

module.exports = {
  CASES,
  hexBytes,
  bodyBytes,
  headersOf,
  verifierOptions,
  deliveryOf,
  dropInInput,
  expectResult,
  checkCase,
  REFERENCE,
  referenceInput,
  webhookRequest,
}
