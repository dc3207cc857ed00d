'use strict'
// The public API, the original reference's own cases, errors and secrecy.
const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const fs = require('node:fs')
const path = require('node:path')
const w = require('..')
const { REFERENCE, referenceInput: input, nativeOnly } = require('./helpers.js')

const { SECRET, TS, NOW, BODY, SIG } = REFERENCE

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

test('reference: exact size boundary passes, one more byte is payload_too_large', () => {
  const exact = Buffer.alloc(262144, 0x61)
  const sig = w.computeWebhookSignature(SECRET, TS, exact)
  assert.equal(w.verifyWebhookSignature(input({ rawBody: exact, signature: sig })).code, 'ok')
  const over = Buffer.alloc(262145, 0x61)
  const result = w.verifyWebhookSignature(input({ rawBody: over, signature: w.computeWebhookSignature(SECRET, TS, over) }))
  assert.deepEqual({ ...result }, { ok: false, status: 413, code: 'payload_too_large', message: 'Payload exceeds 262144 bytes' })
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

test('rawBody: Buffer, Uint8Array, string and non-UTF-8 bytes; a parsed object is a clear error', () => {
  const bytes = Buffer.from(BODY)
  for (const rawBody of [bytes, new Uint8Array(bytes), BODY, bytes.subarray(0)]) {
    assert.equal(w.verifyWebhookSignature(input({ rawBody })).code, 'ok')
  }
  const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80])
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
    () => w.verifyWebhookSignature(input({ timestamp: 1710000000 })),
    () => w.verifyWebhookSignature(input({ isDuplicateDelivery: 'yes' })),
    () => new w.Verifier({ secret: SECRET, toleranceSeconds: -1 }),
    () => new w.Verifier({ secret: SECRET, replay: 'redis' }),
    () => w.formatFromStroops(2n ** 200n),
    ...(nativeOnly ? [] : [() => new w.Verifier({ secret: SECRET }).check({}, BODY, NOW).conclude('ok')]),
    () => new w.Verifier({ secret: SECRET }).verifyHeaders('x-fluxora-delivery-id: 1', BODY, NOW),
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
  const full = deliver('c', '1710000003')
  assert.deepEqual([full.status, full.code, full.message], [429, 'consumer_overloaded', 'Replay store is full; retry later'])
  assert.equal(verifier.replayEntries(1710000003), 2)
  // After the id retention (60 s) and the signature window (300 s) both pass, room frees up.
  assert.equal(deliver('c', '1710000400').code, 'ok')
  assert.deepEqual({ ...verifier.replay }, { capacity: 2, deliveryRetentionSeconds: 60 })
  assert.equal(new w.Verifier({ secret: SECRET, replay: false }).replay, null)
  assert.equal(new w.Verifier({ secret: SECRET }).replay.capacity, 100000)
})

test('Verifier.verifyHeaders: Node header objects, duplicate headers, missing headers in order', () => {
  const verifier = new w.Verifier({ secret: SECRET, replay: false })
  const headers = w.signDelivery(SECRET, BODY, { deliveryId: 'x', timestamp: TS })
  assert.equal(verifier.verifyHeaders({ ...headers, 'content-type': 'application/json' }, BODY, NOW).code, 'ok')
  assert.equal(verifier.verifyHeaders({ ...headers, 'x-fluxora-signature': [headers['x-fluxora-signature'], 'dup'] }, BODY, NOW).code, 'signature_mismatch')
  assert.equal(verifier.verifyHeaders({}, BODY, NOW).code, 'missing_delivery_id')
  assert.equal(verifier.verifyHeaders({ 'x-fluxora-delivery-id': 'x' }, BODY, NOW).code, 'missing_timestamp')
  assert.equal(verifier.verifyHeaders({ 'x-fluxora-delivery-id': 'x', 'x-fluxora-timestamp': TS }, BODY, NOW).code, 'missing_signature')
  assert.equal(verifier.verifyHeaders(headers, BODY).code, 'timestamp_outside_tolerance', 'default now is the system clock')
  const fresh = w.signDelivery(SECRET, BODY)
  assert.equal(verifier.verifyHeaders(fresh, BODY).code, 'ok')
  assert.match(fresh['x-fluxora-delivery-id'], /^dlv_[0-9a-f]{32}$/)
  assert.equal(verifier.toleranceSeconds, 300)
  assert.equal(verifier.maxBodyBytes, 262144)
  assert.equal(verifier.graceWindowSeconds, 86400)
})

test('check stops before the replay step and concludes with an asynchronous store\'s answer', { skip: nativeOnly }, () => {
  const verifier = new w.Verifier({ secret: SECRET })
  const headers = { 'X-Fluxora-Delivery-Id': 'p', 'x-fluxora-timestamp': TS, 'x-fluxora-signature': ` ${SIG.toUpperCase()} ` }
  const checked = verifier.check(headers, BODY, NOW)
  assert.equal(checked.result, null)
  assert.deepEqual([checked.deliveryId, checked.timestamp, checked.signature], ['p', NOW, SIG])
  assert.equal(checked.conclude('ok').code, 'ok')
  assert.equal(checked.conclude('duplicate_delivery').code, 'duplicate_delivery')
  assert.equal(checked.concludeRedis(2).code, 'replayed_signature')
  assert.throws(() => checked.concludeRedis(7), (e) => e.code === 'ERR_FLUXORA_REPLAY_STORE')
  assert.throws(() => checked.conclude('signature_mismatch'), (e) => e.code === 'ERR_FLUXORA_REPLAY_STORE')
  const { keys, args } = checked.redisEval('p:', 60)
  assert.match(keys[0], /^p:id:[0-9a-f]{64}$/)
  assert.equal(keys[1], `p:sig:${NOW}:${SIG}`)
  const idDigest = require('node:crypto').createHash('sha256').update('p').digest('hex')
  assert.deepEqual(args, ['record', '-', '60', '301', idDigest])
  assert.equal(keys[0], `p:id:${idDigest}`)
  assert.throws(() => checked.redisEval('p:', 0), (e) => e.code === 'ERR_FLUXORA_INVALID_SETTING' && e.field === 'deliveryRetentionSeconds')
  assert.equal(verifier.verifyHeaders(headers, BODY, NOW).code, 'ok', 'check does not touch the in-memory store')
  const failed = verifier.check({ ...headers, 'x-fluxora-signature': 'bad' }, BODY, NOW)
  assert.equal(failed.result.code, 'signature_mismatch')
  assert.equal(failed.deliveryId, null)
})

test('readHeaders: the one lookup, in every header form', () => {
  const pairs = [['X-Fluxora-Delivery-Id', 'a'], ['x-fluxora-event', 'e1'], ['X-FLUXORA-EVENT', 'e2']]
  for (const headers of [pairs, new Map(pairs.slice(0, 2)), { 'X-Fluxora-Delivery-Id': 'a', 'x-fluxora-event': ['e1', 'e2'] }]) {
    const found = w.readHeaders(headers)
    assert.equal(found.deliveryId, 'a')
    assert.equal(found.timestamp, undefined)
  }
  assert.equal(w.readHeaders(pairs).event, 'e1, e2')
  assert.throws(() => w.readHeaders([['x-fluxora-delivery-id']]), (e) => e.code === 'ERR_FLUXORA_INVALID_ARGUMENT')
  assert.throws(() => w.readHeaders({ 'x-fluxora-delivery-id': 5 }), (e) => e.code === 'ERR_FLUXORA_INVALID_ARGUMENT')
})

test('signing helpers', () => {
  const payload = w.buildWebhookSigningPayload(TS, Buffer.from(BODY))
  assert.ok(Buffer.isBuffer(payload))
  assert.equal(payload.toString(), `${TS}.${BODY}`)
  assert.equal(w.computeWebhookSignature(SECRET, Number(TS), BODY), SIG)
  const headers = w.signDelivery(SECRET, BODY, { deliveryId: 'dlv_9', event: 'stream.updated', timestamp: NOW })
  assert.deepEqual(headers, { 'x-fluxora-delivery-id': 'dlv_9', 'x-fluxora-timestamp': TS, 'x-fluxora-signature': SIG, 'x-fluxora-event': 'stream.updated' })
})

test('outcome constants come from the native core and match the TypeScript union', () => {
  const native = w.outcomeCodes()
  assert.equal(native.length, 14)
  assert.deepEqual(Object.values(w.OutcomeCode), native.map((o) => o.code))
  assert.equal(w.OutcomeCode.REPLAYED_SIGNATURE, 'replayed_signature')
  assert.deepEqual(w.OUTCOMES.find((o) => o.code === 'payload_too_large'), { code: 'payload_too_large', status: 413, message: 'Payload exceeds 262144 bytes' })
  const dts = fs.readFileSync(path.join(__dirname, '..', 'lib', 'common.d.ts'), 'utf8')
  const union = dts.match(/export type OutcomeCodeValue =([^]*?)\n\n/)[1]
  assert.deepEqual([...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]), native.map((o) => o.code))
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
  assert.equal(w.formatFromStroops(15000000n), '1.5')
  assert.equal(w.formatFromStroops(-1n), '-0.0000001')
  assert.equal(w.formatFromStroops(0n), '0')
  assert.throws(() => w.parseToStroops('1e10'), (e) => e.code === 'DECIMAL_INVALID_FORMAT')
  assert.throws(() => w.parseToStroops(null), (e) => e.code === 'DECIMAL_EMPTY_VALUE')
  assert.throws(() => w.parseToStroops(5), (e) => e.code === 'DECIMAL_INVALID_TYPE')
})

test('secrets never appear in inspect output or errors', () => {
  const secret = 'hunter2-very-secret'
  const verifier = new w.Verifier({ secret, previousSecret: `${secret}-old`, previousSecretRotatedAt: NOW })
  for (const shown of [util.inspect(verifier), String(verifier), JSON.stringify(verifier) ?? '']) {
    assert.ok(!shown.includes(secret), shown)
  }
  assert.match(util.inspect(verifier), /redacted/)
  for (const call of [
    () => w.verifyWebhookSignature({ secret, rawBody: {} }),
    () => new w.Verifier({ secret, maxBodyBytes: -1 }),
    () => verifier.verifyHeaders({}, null),
  ]) {
    try { call(); assert.fail('should throw') } catch (e) { assert.ok(!String(e.message).includes(secret) && !util.inspect(e).includes(secret)) }
  }
})

test('works from import as well as require', async () => {
  const esm = await import('@fluxora/webhooks')
  assert.equal(esm.Verifier, w.Verifier)
  assert.equal(esm.verifyWebhookSignature, w.verifyWebhookSignature)
  assert.equal(esm.default.OutcomeCode, w.OutcomeCode)
})
