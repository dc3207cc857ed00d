// verifyRequest with real Fetch-API Request objects.
import test from 'node:test'
import assert from 'node:assert/strict'
import * as w from '../pkg/index.js'
import { REFERENCE, webhookRequest as request } from './helpers.js'

const { SECRET, NOW } = REFERENCE

test('verifyRequest: ok with the delivery, failures with a ready Response', async () => {
  const options = { secret: SECRET, now: () => NOW }
  const body = '{"event":"stream.created"}'
  const headers = w.signDelivery(SECRET, body, { deliveryId: 'f1', event: 'stream.created', timestamp: NOW })
  const ok = await w.verifyRequest(request(body, headers), options)
  assert.equal(ok.ok, true)
  assert.equal(ok.code, 'ok')
  assert.equal(ok.response, undefined)
  assert.deepEqual({ id: ok.delivery.id, event: ok.delivery.event, payload: ok.delivery.payload }, { id: 'f1', event: 'stream.created', payload: { event: 'stream.created' } })
  assert.equal(new TextDecoder().decode(ok.delivery.rawBody), body)

  const dup = await w.verifyRequest(request(body, headers), options)
  assert.equal(dup.code, 'duplicate_delivery', 'the options object keeps one verifier and its replay store')
  assert.equal(dup.response.status, 409)
  assert.equal(dup.response.headers.get('content-type'), 'application/json; charset=utf-8')
  assert.deepEqual(await dup.response.json(), { error: 'duplicate_delivery', message: 'Duplicate delivery id' })

  const bad = await w.verifyRequest(request(body, { ...headers, 'x-fluxora-signature': '00' }), new w.Verifier({ secret: SECRET }))
  assert.equal(bad.response.status, 401)
  assert.equal(bad.code, 'timestamp_outside_tolerance', 'a Verifier without a clock option uses Date.now()')
})

test('verifyRequest: binary bodies, non-JSON payloads, the body is read once', async () => {
  const verifier = new w.Verifier({ secret: SECRET, replay: false })
  const body = new Uint8Array([0xff, 0x00, 0x80, 0x7b])
  const req = request(body, w.signDelivery(SECRET, body))
  const result = await w.verifyRequest(req, verifier)
  assert.equal(result.code, 'ok')
  assert.equal(result.delivery.payload, undefined)
  assert.deepEqual([...result.delivery.rawBody], [...body])
  assert.equal(req.bodyUsed, true)
  await assert.rejects(w.verifyRequest(req, verifier), (e) => e.code === 'ERR_FLUXORA_BODY_CONSUMED' && /already read/.test(e.message), 'a consumed body cannot be read again')
})

test('verifyRequest: oversized body is 413; bad arguments are coded errors', async () => {
  const verifier = new w.Verifier({ secret: SECRET, maxBodyBytes: 16 })
  const body = 'x'.repeat(1000)
  const result = await w.verifyRequest(request(body, w.signDelivery(SECRET, body)), verifier)
  assert.deepEqual([result.status, result.code, result.message], [413, 'payload_too_large', 'Payload exceeds 16 bytes'])
  await assert.rejects(w.verifyRequest(request(body, {}), null), (e) => e.code === 'ERR_FLUXORA_INVALID_ARGUMENT')
  await assert.rejects(w.verifyRequest({}, verifier), (e) => e.code === 'ERR_FLUXORA_INVALID_ARGUMENT')
})

test('fetchWebhook: a thrown error or a 5xx response releases, a 2xx commits, a concurrent attempt is in progress', async () => {
  let runs = 0
  let unblock
  const outcomes = ['throw', 503, 'wait']
  const handle = w.fetchWebhook({ secret: SECRET, now: () => NOW }, async (delivery) => {
    runs += 1
    assert.equal(delivery.id, 'fw1')
    const outcome = outcomes[runs - 1]
    if (outcome === 'throw') throw new Error('boom')
    if (outcome === 'wait') await new Promise((resolve) => { unblock = resolve })
    return new Response(null, { status: outcome === 'wait' ? 200 : outcome })
  })
  const body = '{"event":"stream.updated"}'
  const attempt = (n) => request(body, w.signDelivery(SECRET, body, { deliveryId: 'fw1', timestamp: NOW - n }))
  await assert.rejects(handle(attempt(0)), /boom/)
  assert.equal((await handle(attempt(1))).status, 503)
  const running = handle(attempt(2))
  while (runs < 3) await new Promise((resolve) => setTimeout(resolve, 1))
  const concurrent = await handle(attempt(3))
  assert.deepEqual([concurrent.status, (await concurrent.json()).error], [429, 'delivery_in_progress'])
  unblock()
  assert.equal((await running).status, 200)
  const duplicate = await handle(attempt(4))
  assert.deepEqual([duplicate.status, (await duplicate.json()).error], [409, 'duplicate_delivery'])
  assert.equal(runs, 3)
})
