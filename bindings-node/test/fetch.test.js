'use strict'
// The Fetch-API helper with real Request objects.
const test = require('node:test')
const assert = require('node:assert/strict')
const w = require('..')
const { REFERENCE, webhookRequest: request } = require('./helpers.js')

const { SECRET, NOW } = REFERENCE

test('verifyRequest: ok with the delivery, failures with a ready Response', async () => {
  const options = { secret: SECRET, now: () => NOW }
  const body = '{"event":"stream.created"}'
  const headers = w.signDelivery(SECRET, body, { deliveryId: 'f1', event: 'stream.created', timestamp: NOW })
  const ok = await w.verifyRequest(request(body, headers), options)
  assert.equal(ok.ok, true)
  assert.equal(ok.code, 'ok')
  assert.deepEqual({ id: ok.delivery.id, event: ok.delivery.event, payload: ok.delivery.payload }, { id: 'f1', event: 'stream.created', payload: { event: 'stream.created' } })
  assert.ok(Buffer.from(ok.delivery.rawBody).equals(Buffer.from(body)))

  const dup = await w.verifyRequest(request(body, headers), options)
  assert.equal(dup.code, 'duplicate_delivery', 'the options object keeps one verifier and its replay store')
  assert.equal(dup.response.status, 409)
  assert.deepEqual(await dup.response.json(), { error: 'duplicate_delivery', message: 'Duplicate delivery id' })

  const bad = await w.verifyRequest(request(body, { ...headers, 'x-fluxora-signature': '00' }), new w.Verifier({ secret: SECRET }))
  assert.equal(bad.response.status, 401)
})

test('verifyRequest: oversized streamed body is 413', async () => {
  const verifier = new w.Verifier({ secret: SECRET, maxBodyBytes: 16 })
  const body = 'x'.repeat(1000)
  const result = await w.verifyRequest(request(body, w.signDelivery(SECRET, body)), verifier)
  assert.deepEqual([result.status, result.code, result.message], [413, 'payload_too_large', 'Payload exceeds 16 bytes'])
})
