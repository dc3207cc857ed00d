'use strict'
// Property tests against node:crypto's HMAC-SHA256.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fc = require('fast-check')
const w = require('..')

const hmac = (secret, timestamp, body) =>
  crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.`).update(body).digest('hex')

const secretArb = fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' })
const timestampArb = fc.integer({ min: 1, max: 4102444800 }).map(String)
const bodyArb = fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a))

test('computeWebhookSignature equals node:crypto for any secret, timestamp and bytes', () => {
  fc.assert(fc.property(secretArb, timestampArb, bodyArb, (secret, ts, body) => {
    assert.equal(w.computeWebhookSignature(secret, ts, body), hmac(secret, ts, body))
  }), { numRuns: 500 })
})

test('a node:crypto signature verifies in any case and padding; any other tag fails', () => {
  fc.assert(fc.property(secretArb, timestampArb, bodyArb, fc.boolean(), fc.nat(2), (secret, ts, body, upper, pad) => {
    const verifier = new w.Verifier({ secret, replay: false })
    let sig = hmac(secret, ts, body)
    if (upper) sig = sig.toUpperCase()
    sig = ' '.repeat(pad) + sig + '\t'.repeat(pad)
    const headers = { 'x-fluxora-delivery-id': 'd', 'x-fluxora-timestamp': ts, 'x-fluxora-signature': sig }
    assert.equal(verifier.verifyHeaders(headers, body, Number(ts)).code, 'ok')
    const flipped = hmac(secret + 'x', ts, body)
    assert.equal(verifier.verifyHeaders({ ...headers, 'x-fluxora-signature': flipped }, body, Number(ts)).code, 'signature_mismatch')
  }), { numRuns: 300 })
})

test('arbitrary signature headers never throw and only the right tag passes', () => {
  const verifier = new w.Verifier({ secret: 'topsecret', replay: false })
  fc.assert(fc.property(fc.string({ maxLength: 100 }), bodyArb, (sig, body) => {
    const headers = { 'x-fluxora-delivery-id': 'd', 'x-fluxora-timestamp': '1710000000', 'x-fluxora-signature': sig }
    const { code } = verifier.verifyHeaders(headers, body, 1710000000)
    const expected = sig.length === 0 ? 'missing_signature' : sig.trim().toLowerCase() === hmac('topsecret', '1710000000', body) ? 'ok' : 'signature_mismatch'
    assert.equal(code, expected)
  }), { numRuns: 500 })
})

test('buildWebhookSigningPayload is exactly timestamp + "." + body', () => {
  fc.assert(fc.property(timestampArb, bodyArb, (ts, body) => {
    assert.ok(w.buildWebhookSigningPayload(ts, body).equals(Buffer.concat([Buffer.from(`${ts}.`), body])))
  }))
})

test('stroops round-trip for any amount with at most 7 decimals', () => {
  fc.assert(fc.property(fc.bigInt({ min: -92233720368547758079999999n, max: 92233720368547758079999999n }), (stroops) => {
    assert.equal(w.parseToStroops(w.formatFromStroops(stroops)), stroops)
  }))
})
