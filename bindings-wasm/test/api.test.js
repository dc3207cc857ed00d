// The public API (mirrors bindings-node/test/api.test.js): the original reference's own cases,
// bodies, errors, replay, signing, decimals and secrecy.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import * as w from '../pkg/index.js'
import { REFERENCE, referenceInput as input } from './helpers.js'

const { SECRET, TS, NOW, BODY, SIG } = REFERENCE
const utf8 = (text) => new TextEncoder().encode(text)

test('reference: uppercase and whitespace-padded signatures verify', () => {
  assert.equal(w.verifyWebhookSignature(input({ signature: SIG.toUpperCase() })).code, 'ok')
  assert.equal(w.verifyWebhookSignature(input({ signature: `  ${SIG}\t` })).code, 'ok')
  assert.equal(w.verifyWebhookSignature(input({ signature: SIG.slice(0, 63) })).code, 'signature_mismatch')
})

test('reference: exact tolerance boundary passes both ways, one more second fails', () => {
  for (const now of [NOW + 300, NOW - 300]) assert.equal(w.verifyWebhookSignature(input({ now })).code, 'ok')
  for (const now of [NOW + 301, NOW - 301]) {
    const result = w.verifyWebhookSignature(input({ now }))
    assert.deepEqual({ ...result }, { ok: false, status: 401, code: 'timestamp_outside_tolerance', message: 'Timestamp is outside the 300 second verification window' })
  }
})

test('reference: exact size boundary passes, one more byte is payload_too_large (bytes and strings)', () => {
  const exact = new Uint8Array(262144).fill(0x61)
  const sig = w.computeWebhookSignature(SECRET, TS, exact)
  assert.equal(w.verifyWebhookSignature(input({ rawBody: exact, signature: sig })).code, 'ok')
  assert.equal(w.verifyWebhookSignature(input({ rawBody: 'a'.repeat(262144), signature: sig })).code, 'ok')
  const over = new Uint8Array(262145).fill(0x61)
  for (const rawBody of [over, 'a'.repeat(262145), 'é'.repeat(131073), 'a'.repeat(10_000_000)]) {
    const result = w.verifyWebhookSignature(input({ rawBody, signature: SIG }))
    assert.deepEqual({ ...result }, { ok: false, status: 413, code: 'payload_too_large', message: 'Payload exceeds 262144 bytes' })
  }
  // A body far over the limit is refused without being copied whole; the header checks still come first.
  const huge = new Uint8Array(64 * 1024 * 1024)
  assert.equal(w.verifyWebhookSignature(input({ rawBody: huge })).code, 'payload_too_large')
  assert.equal(w.verifyWebhookSignature(input({ rawBody: huge, deliveryId: '' })).code, 'missing_delivery_id')
})

test('bodies larger than one copy chunk verify (chunked copy into the module)', () => {
  const body = new Uint8Array(200_000)
  for (let i = 0; i < body.length; i += 1) body[i] = (i * 7) & 0xff
  const signature = w.computeWebhookSignature(SECRET, TS, body)
  assert.equal(w.verifyWebhookSignature(input({ rawBody: body, signature })).code, 'ok')
  assert.equal(w.verifyWebhookSignature(input({ rawBody: body.subarray(1), signature })).code, 'signature_mismatch')
})

test('bodies larger than one copy chunk sign in chunks, equal to node:crypto', () => {
  for (const size of [65535, 65536, 65537, 200_000]) {
    const body = new Uint8Array(size).map((_, i) => (i * 7) % 251)
    const expected = createHmac('sha256', 'topsecret').update('1710000000.').update(body).digest('hex')
    assert.equal(w.computeWebhookSignature('topsecret', '1710000000', body), expected, `size ${size}`)
    assert.equal(w.signDelivery('topsecret', body, { timestamp: 1710000000 })['x-fluxora-signature'], expected)
  }
})

test('reference deviations: missing secret is 500; Number()-style timestamps are rejected', () => {
  const missing = w.verifyWebhookSignature(input({ secret: '' }))
  assert.deepEqual([missing.status, missing.code], [500, 'missing_secret'])
  assert.equal(w.verifyWebhookSignature(input({ secret: undefined })).code, 'missing_secret')
  for (const timestamp of ['1710000000.0', '1.71e9', '0x65ED5A80', '   ', '-1710000000']) {
    const result = w.verifyWebhookSignature(input({ timestamp, signature: w.computeWebhookSignature(SECRET, timestamp, BODY) }))
    assert.equal(result.code, 'invalid_timestamp', timestamp)
  }
})

test('result shape: usedPreviousSecret only when ok; rotation with a Date as now', () => {
  const old = w.computeWebhookSignature('oldsecret', TS, BODY)
  const rotated = w.verifyWebhookSignature(input({ signature: old, secretPrevious: 'oldsecret', previousSecretRotatedAt: NOW - 10, now: new Date(NOW * 1000 + 999) }))
  assert.deepEqual({ ...rotated }, { ok: true, status: 200, code: 'ok', message: 'Webhook signature verified', usedPreviousSecret: true })
  const expired = w.verifyWebhookSignature(input({ signature: old, secretPrevious: 'oldsecret', previousSecretRotatedAt: NOW - 86401 }))
  assert.equal(expired.code, 'previous_secret_expired')
  assert.equal('usedPreviousSecret' in expired, false)
})

test('rawBody: Uint8Array, ArrayBuffer, other views, string, non-UTF-8 bytes; a parsed object is a clear error', () => {
  const bytes = utf8(BODY)
  const padded = new Uint8Array(bytes.length + 8)
  padded.set(bytes, 4)
  for (const rawBody of [bytes, bytes.buffer, BODY, padded.subarray(4, 4 + bytes.length), new DataView(padded.buffer, 4, bytes.length)]) {
    assert.equal(w.verifyWebhookSignature(input({ rawBody })).code, 'ok')
  }
  const binary = new Uint8Array([0xff, 0xfe, 0x00, 0x80])
  assert.equal(w.verifyWebhookSignature(input({ rawBody: binary, signature: w.computeWebhookSignature(SECRET, TS, binary) })).code, 'ok')
  for (const rawBody of [JSON.parse(BODY), undefined, 42]) {
    assert.throws(() => w.verifyWebhookSignature(input({ rawBody })), (e) => e instanceof TypeError && e.code === 'ERR_FLUXORA_INVALID_BODY' && /raw/.test(e.message))
    assert.throws(() => new w.Verifier({ secret: SECRET }).verifyHeaders({}, rawBody), (e) => e.code === 'ERR_FLUXORA_INVALID_BODY')
  }
})

test('arguments of the wrong type throw Errors with a code, never crash', () => {
  const bad = [
    () => w.verifyWebhookSignature(input({ now: 'yesterday' })),
    () => w.verifyWebhookSignature(input({ now: -5 })),
    () => w.verifyWebhookSignature(input({ now: new Date(NaN) })),
    () => w.verifyWebhookSignature(input({ timestamp: 1710000000 })),
    () => w.verifyWebhookSignature(input({ isDuplicateDelivery: 'yes' })),
    () => w.verifyWebhookSignature(input({ toleranceSeconds: Infinity })),
    () => w.verifyWebhookSignature(null),
    () => new w.Verifier({ secret: SECRET, toleranceSeconds: -1 }),
    () => new w.Verifier({ secret: SECRET, replay: 'redis' }),
    () => new w.Verifier({ secret: 42 }),
    () => new w.Verifier(),
    () => new w.Verifier({ secret: SECRET }).verifyHeaders(null, BODY),
    () => new w.Verifier({ secret: SECRET }).verify('nope'),
    () => w.formatFromStroops(2n ** 200n),
    () => w.formatFromStroops(5),
    () => w.readHeaders('x-fluxora-delivery-id: 1'),
    () => new w.Verifier({ secret: SECRET, toleranceSeconds: 1.5 }),
    () => w.signDelivery(SECRET, BODY, { timestamp: {} }),
  ]
  for (const [index, call] of bad.entries()) {
    assert.throws(call, (e) => e instanceof Error && typeof e.code === 'string' && e.code.length > 0, `call ${index}`)
  }
})

test('isDuplicateDelivery: consulted only after a signature match; errors propagate; promises are refused', () => {
  const calls = []
  const isDuplicateDelivery = (id) => { calls.push(id); return true }
  assert.equal(w.verifyWebhookSignature(input({ signature: '0'.repeat(64), isDuplicateDelivery })).code, 'signature_mismatch')
  assert.deepEqual(calls, [])
  const dup = w.verifyWebhookSignature(input({ isDuplicateDelivery }))
  assert.deepEqual([dup.status, dup.code, dup.message], [409, 'duplicate_delivery', 'Duplicate delivery id'])
  assert.deepEqual(calls, ['dlv_1'])
  assert.equal(w.verifyWebhookSignature(input({ isDuplicateDelivery: () => false })).code, 'ok')
  const boom = new Error('store down')
  assert.throws(() => w.verifyWebhookSignature(input({ isDuplicateDelivery: () => { throw boom } })), (e) => e === boom)
  assert.throws(() => w.verifyWebhookSignature(input({ isDuplicateDelivery: async () => false })), (e) => e.code === 'ERR_FLUXORA_ASYNC_CALLBACK')
  // The module is still healthy after errors thrown through it, and re-entrant calls work.
  const nested = w.verifyWebhookSignature(input({ isDuplicateDelivery: () => w.verifyWebhookSignature(input()).ok }))
  assert.equal(nested.code, 'duplicate_delivery')
  assert.equal(w.verifyWebhookSignature(input()).code, 'ok')
})

test('Verifier: in-memory replay by default, cached frozen results, overload without eviction', () => {
  const verifier = new w.Verifier({ secret: SECRET, replay: { capacity: 2, deliveryRetentionSeconds: 60 } })
  const deliver = (id, ts, now = Number(ts)) => {
    const headers = w.signDelivery(SECRET, BODY, { deliveryId: id, timestamp: ts })
    return verifier.verifyHeaders(headers, BODY, now)
  }
  const first = deliver('a', '1710000000')
  assert.equal(first.code, 'ok')
  assert.ok(Object.isFrozen(first))
  assert.equal(deliver('a', '1710000001').code, 'duplicate_delivery')
  assert.equal(deliver('b', '1710000002').code, 'ok')
  assert.strictEqual(deliver('b', '1710000002'), deliver('b', '1710000002'), 'same outcome, same object')
  const swapped = w.signDelivery(SECRET, BODY, { deliveryId: 'b', timestamp: '1710000002' })
  assert.equal(verifier.verifyHeaders({ ...swapped, 'x-fluxora-delivery-id': 'b2' }, BODY, 1710000002).code, 'replayed_signature')
  const full = deliver('c', '1710000003')
  assert.deepEqual([full.status, full.code, full.message], [429, 'consumer_overloaded', 'Replay store is full; retry later'])
  assert.equal(verifier.replayEntries(1710000003), 2)
  // After the id retention (60 s) and the signature window (300 s) both pass, room frees up.
  assert.equal(deliver('c', '1710000400').code, 'ok')
  assert.deepEqual({ ...verifier.replay }, { capacity: 2, deliveryRetentionSeconds: 60 })
  assert.equal(new w.Verifier({ secret: SECRET, replay: false }).replay, null)
  assert.equal(new w.Verifier({ secret: SECRET }).replay.capacity, 100000)
})

test('Verifier.verifyHeaders: plain objects, Fetch Headers, duplicate headers, missing headers in order', () => {
  const verifier = new w.Verifier({ secret: SECRET, replay: false })
  const headers = w.signDelivery(SECRET, BODY, { deliveryId: 'x', timestamp: TS })
  assert.equal(verifier.verifyHeaders({ ...headers, 'content-type': 'application/json' }, BODY, NOW).code, 'ok')
  assert.equal(verifier.verifyHeaders(new Headers(headers), BODY, NOW).code, 'ok')
  const upper = new Headers({ 'X-Fluxora-Delivery-Id': 'x', 'X-Fluxora-Timestamp': TS, 'X-Fluxora-Signature': SIG })
  assert.equal(verifier.verifyHeaders(upper, BODY, NOW).code, 'ok', 'Headers lookups are case-insensitive')
  const doubled = new Headers(headers)
  doubled.append('x-fluxora-signature', 'dup')
  assert.equal(verifier.verifyHeaders(doubled, BODY, NOW).code, 'signature_mismatch')
  assert.equal(verifier.verifyHeaders({ ...headers, 'x-fluxora-signature': [headers['x-fluxora-signature'], 'dup'] }, BODY, NOW).code, 'signature_mismatch')
  assert.equal(verifier.verifyHeaders({}, BODY, NOW).code, 'missing_delivery_id')
  assert.equal(verifier.verifyHeaders(new Headers(), BODY, NOW).code, 'missing_delivery_id')
  assert.equal(verifier.verifyHeaders({ 'x-fluxora-delivery-id': 'x' }, BODY, NOW).code, 'missing_timestamp')
  assert.equal(verifier.verifyHeaders({ 'x-fluxora-delivery-id': 'x', 'x-fluxora-timestamp': TS }, BODY, NOW).code, 'missing_signature')
  assert.equal(verifier.verifyHeaders(headers, BODY).code, 'timestamp_outside_tolerance', 'default now is the clock')
  const fresh = w.signDelivery(SECRET, BODY)
  assert.equal(verifier.verifyHeaders(fresh, BODY).code, 'ok')
  assert.match(fresh['x-fluxora-delivery-id'], /^dlv_/)
  assert.notEqual(w.signDelivery(SECRET, BODY)['x-fluxora-delivery-id'], w.signDelivery(SECRET, BODY)['x-fluxora-delivery-id'])
  assert.equal(verifier.toleranceSeconds, 300)
  assert.equal(verifier.maxBodyBytes, 262144)
  assert.equal(verifier.graceWindowSeconds, 86400)
  const small = new w.Verifier({ secret: SECRET, maxBodyBytes: 16, toleranceSeconds: 5 })
  assert.equal(small.verifyHeaders(headers, BODY, NOW).message, 'Payload exceeds 16 bytes')
  assert.equal(small.verifyHeaders(headers, '', NOW + 6).message, 'Timestamp is outside the 5 second verification window')
})

test('Verifier.free releases the module memory; a freed verifier throws a coded error', () => {
  const verifier = new w.Verifier({ secret: SECRET })
  verifier.free()
  verifier.free()
  assert.throws(() => verifier.verifyHeaders({}, BODY, NOW), (e) => e.code === 'ERR_FLUXORA_INVALID_ARGUMENT')
  assert.match(String(verifier), /freed/)
})

test('signing helpers', () => {
  const payload = w.buildWebhookSigningPayload(TS, utf8(BODY))
  assert.ok(payload instanceof Uint8Array)
  assert.equal(new TextDecoder().decode(payload), `${TS}.${BODY}`)
  assert.equal(w.computeWebhookSignature(SECRET, Number(TS), BODY), SIG)
  const headers = w.signDelivery(SECRET, BODY, { deliveryId: 'dlv_9', event: 'stream.updated', timestamp: NOW })
  assert.deepEqual(headers, { 'x-fluxora-delivery-id': 'dlv_9', 'x-fluxora-timestamp': TS, 'x-fluxora-signature': SIG, 'x-fluxora-event': 'stream.updated' })
})

test('outcome constants come from the core and match the TypeScript union', () => {
  const codes = w.outcomeCodes()
  assert.equal(codes.length, 14)
  assert.deepEqual(Object.values(w.OutcomeCode), codes.map((o) => o.code))
  assert.equal(w.OutcomeCode.REPLAYED_SIGNATURE, 'replayed_signature')
  assert.deepEqual(w.OUTCOMES.find((o) => o.code === 'payload_too_large'), { code: 'payload_too_large', status: 413, message: 'Payload exceeds 262144 bytes' })
  const dts = readFileSync(new URL('../pkg/common.d.ts', import.meta.url), 'utf8')
  const union = dts.match(/export type OutcomeCodeValue =([^]*?)\n\n/)[1]
  assert.deepEqual([...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]), codes.map((o) => o.code))
  assert.deepEqual({ ...w.HEADERS }, { deliveryId: 'x-fluxora-delivery-id', timestamp: 'x-fluxora-timestamp', signature: 'x-fluxora-signature', event: 'x-fluxora-event' })
})

test('decimals and stroops', () => {
  assert.deepEqual({ ...w.validateDecimalString('100.50') }, { valid: true, value: '100.5' })
  assert.deepEqual({ ...w.validateDecimalString(100, 'amount') }, { valid: false, code: 'DECIMAL_INVALID_TYPE', message: 'Decimal value must be a string', field: 'amount' })
  assert.equal(w.validateDecimalString('0.00000001').valid, true)
  assert.equal(w.validateDecimalString('0.00000001', 'amount', { amount: true }).code, 'DECIMAL_PRECISION_EXCEEDED')
  assert.equal(w.parseToStroops('1.5'), 15000000n)
  assert.equal(w.parseToStroops('0.0000001'), 1n)
  assert.equal(w.parseToStroops('-1.5'), -15000000n)
  assert.equal(w.parseToStroops('-9223372036854775807.9999999'), -92233720368547758079999999n)
  assert.equal(w.formatFromStroops(15000000n), '1.5')
  assert.equal(w.formatFromStroops(-1n), '-0.0000001')
  assert.equal(w.formatFromStroops(0n), '0')
  assert.equal(typeof w.formatFromStroops(2n ** 127n - 1n), 'string')
  assert.equal(typeof w.formatFromStroops(-(2n ** 127n)), 'string')
  assert.throws(() => w.parseToStroops('1e10'), (e) => e.code === 'DECIMAL_INVALID_FORMAT' && !(e instanceof TypeError))
  assert.throws(() => w.parseToStroops(null), (e) => e.code === 'DECIMAL_EMPTY_VALUE')
  assert.throws(() => w.parseToStroops(5), (e) => e.code === 'DECIMAL_INVALID_TYPE')
})

test('secrets never appear in string, JSON or error output', () => {
  const secret = 'hunter2-very-secret'
  const verifier = new w.Verifier({ secret, previousSecret: `${secret}-old`, previousSecretRotatedAt: NOW })
  for (const shown of [String(verifier), JSON.stringify(verifier), JSON.stringify({ verifier })]) {
    assert.ok(!shown.includes(secret), shown)
  }
  assert.match(String(verifier), /redacted/)
  for (const call of [
    () => w.verifyWebhookSignature({ secret, rawBody: {} }),
    () => new w.Verifier({ secret, maxBodyBytes: -1 }),
    () => verifier.verifyHeaders({}, null),
  ]) {
    try { call(); assert.fail('should throw') } catch (e) { assert.ok(!String(e.message).includes(secret) && !String(e.stack).includes(secret)) }
  }
})

test('adversarial inputs never trap the module', () => {
  const verifier = new w.Verifier({ secret: SECRET, replay: { capacity: 4 } })
  const odd = ['', ' ', '\u0000', '\ud800', '😀'.repeat(1000), 'x'.repeat(100_000), '9'.repeat(400), '-0', '１７１', SIG + SIG]
  for (const a of odd) {
    for (const b of odd) {
      const result = verifier.verifyHeaders({ 'x-fluxora-delivery-id': a, 'x-fluxora-timestamp': b, 'x-fluxora-signature': a }, b, NOW)
      assert.equal(typeof result.code, 'string')
    }
    assert.equal(typeof w.validateDecimalString(a).valid, 'boolean')
    assert.equal(typeof w.computeWebhookSignature(a, a, a), 'string')
  }
  for (const now of [0, Number.MAX_SAFE_INTEGER]) {
    assert.equal(typeof verifier.verifyHeaders(w.signDelivery(SECRET, BODY), BODY, now).code, 'string')
  }
  for (const now of [1e300, -1, Number.NaN]) {
    assert.throws(() => verifier.verifyHeaders(w.signDelivery(SECRET, BODY), BODY, now), (e) => e instanceof RangeError && e.code === 'ERR_FLUXORA_INVALID_SETTING' && e.field === 'now')
  }
  assert.equal(w.verifyWebhookSignature(input()).code, 'ok', 'the module still answers after all of that')
})
