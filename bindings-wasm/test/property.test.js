// Randomised checks against node:crypto's HMAC-SHA256 (seeded, so a failure reproduces).
import test from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import * as w from '../pkg/index.js'

function prng(seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const random = prng(20240501)
const int = (max) => Math.floor(random() * max)
const bytes = (max) => Uint8Array.from({ length: int(max) }, () => int(256))
const secretOf = () => String.fromCodePoint(...Array.from({ length: 1 + int(40) }, () => (random() < 0.8 ? 32 + int(95) : 0xa0 + int(0x2000))))
const hmac = (secret, ts, body) => crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${ts}.`).update(body).digest('hex')

test('computeWebhookSignature equals node:crypto for random secrets, timestamps and bytes', () => {
  for (let i = 0; i < 400; i += 1) {
    const secret = secretOf()
    const ts = String(1 + int(4102444800))
    const body = bytes(i % 50 === 0 ? 300_000 : 4096)
    assert.equal(w.computeWebhookSignature(secret, ts, body), hmac(secret, ts, body), `iteration ${i}`)
  }
})

test('a node:crypto signature verifies in any case and padding; any other tag fails', () => {
  for (let i = 0; i < 300; i += 1) {
    const secret = secretOf()
    const ts = String(1 + int(4102444800))
    const body = bytes(4096)
    const verifier = new w.Verifier({ secret, replay: false })
    let sig = hmac(secret, ts, body)
    if (random() < 0.5) sig = sig.toUpperCase()
    const pad = int(3)
    sig = ' '.repeat(pad) + sig + '\t'.repeat(pad)
    const headers = { 'x-fluxora-delivery-id': 'd', 'x-fluxora-timestamp': ts, 'x-fluxora-signature': sig }
    assert.equal(verifier.verifyHeaders(headers, body, Number(ts)).code, 'ok', `iteration ${i}`)
    const other = hmac(secret + 'x', ts, body)
    assert.equal(verifier.verifyHeaders({ ...headers, 'x-fluxora-signature': other }, body, Number(ts)).code, 'signature_mismatch')
  }
})

test('arbitrary signature headers never throw and only the right tag passes', () => {
  const verifier = new w.Verifier({ secret: 'topsecret', replay: false })
  for (let i = 0; i < 500; i += 1) {
    const body = bytes(512)
    const right = hmac('topsecret', '1710000000', body)
    const sig = i % 5 === 0 ? right.slice(0, int(65)) : String.fromCharCode(...Array.from({ length: int(100) }, () => int(128)))
    const headers = { 'x-fluxora-delivery-id': 'd', 'x-fluxora-timestamp': '1710000000', 'x-fluxora-signature': sig }
    const expected = sig.length === 0 ? 'missing_signature' : sig.trim().toLowerCase() === right ? 'ok' : 'signature_mismatch'
    assert.equal(verifier.verifyHeaders(headers, body, 1710000000).code, expected)
  }
})

test('buildWebhookSigningPayload is exactly timestamp + "." + body', () => {
  for (let i = 0; i < 100; i += 1) {
    const ts = String(1 + int(4102444800))
    const body = bytes(1024)
    assert.deepEqual(Buffer.from(w.buildWebhookSigningPayload(ts, body)), Buffer.concat([Buffer.from(`${ts}.`), body]))
  }
})

test('stroops round-trip for random amounts with at most 7 decimals', () => {
  const max = 92233720368547758079999999n
  for (let i = 0; i < 500; i += 1) {
    let stroops = 0n
    for (let d = 0; d < 1 + int(26); d += 1) stroops = stroops * 10n + BigInt(int(10))
    if (stroops > max) stroops %= max
    if (random() < 0.5) stroops = -stroops
    assert.equal(w.parseToStroops(w.formatFromStroops(stroops)), stroops)
  }
})
