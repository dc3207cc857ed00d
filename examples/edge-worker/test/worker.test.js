// The Workers-style handler called with real Request objects, as the runtime would call it.
import test from 'node:test'
import assert from 'node:assert/strict'
import { signDelivery } from '@fluxora/webhooks-wasm'
import worker from '../src/worker.js'

const env = { FLUXORA_WEBHOOK_SECRET: 'edge-secret' }
const URL_ = 'https://receiver.example/webhooks/fluxora'
const post = (body, headers, url = URL_) => new Request(url, { method: 'POST', headers, body })

test('a signed delivery is accepted and routed on the signed body', async () => {
  const body = JSON.stringify({ event: 'stream.created', id: 'str_1', amount: '100.5' })
  const headers = signDelivery(env.FLUXORA_WEBHOOK_SECRET, body, { deliveryId: 'dlv_edge_1', event: 'stream.cancelled' })
  const response = await worker.fetch(post(body, headers), env)
  assert.equal(response.status, 200)
  assert.deepEqual(await response.json(), { received: true, id: 'dlv_edge_1', event: 'stream.created' })

  const again = await worker.fetch(post(body, headers), env)
  assert.equal(again.status, 409)
  assert.deepEqual(await again.json(), { error: 'duplicate_delivery', message: 'Duplicate delivery id' })
})

test('tampered, stale, unsigned and misrouted requests are refused with the contract answers', async () => {
  const body = JSON.stringify({ event: 'stream.updated' })
  const headers = signDelivery(env.FLUXORA_WEBHOOK_SECRET, body, { deliveryId: 'dlv_edge_2' })

  const tampered = await worker.fetch(post(body.replace('updated', 'cancelled'), headers), env)
  assert.equal(tampered.status, 401)
  assert.equal((await tampered.json()).error, 'signature_mismatch')

  const stale = signDelivery(env.FLUXORA_WEBHOOK_SECRET, body, { deliveryId: 'dlv_edge_3', timestamp: Math.floor(Date.now() / 1000) - 301 })
  const staleResponse = await worker.fetch(post(body, stale), env)
  assert.equal(staleResponse.status, 401)
  assert.equal((await staleResponse.json()).error, 'timestamp_outside_tolerance')

  const unsigned = await worker.fetch(post(body, { 'content-type': 'application/json' }), env)
  assert.equal(unsigned.status, 401)
  assert.equal((await unsigned.json()).error, 'missing_delivery_id')

  const wrongSecret = signDelivery('not-the-secret', body, { deliveryId: 'dlv_edge_4' })
  assert.equal((await worker.fetch(post(body, wrongSecret), env)).status, 401)

  const big = 'x'.repeat(262145)
  const tooLarge = await worker.fetch(post(big, signDelivery(env.FLUXORA_WEBHOOK_SECRET, big)), env)
  assert.equal(tooLarge.status, 413)

  assert.equal((await worker.fetch(new Request(URL_), env)).status, 405)
  assert.equal((await worker.fetch(post(body, headers, 'https://receiver.example/other'), env)).status, 404)
})

test('a missing secret answers 500 so the sender retries; rotation accepts the previous secret', async () => {
  const body = '{"event":"stream.updated"}'
  const missing = await worker.fetch(post(body, signDelivery('x', body)), {})
  assert.equal(missing.status, 500)
  assert.equal((await missing.json()).error, 'missing_secret')

  const rotated = { FLUXORA_WEBHOOK_SECRET: 'new', FLUXORA_WEBHOOK_SECRET_PREVIOUS: 'old', FLUXORA_WEBHOOK_SECRET_ROTATED_AT: String(Math.floor(Date.now() / 1000) - 60) }
  const response = await worker.fetch(post(body, signDelivery('old', body, { deliveryId: 'dlv_edge_5' })), rotated)
  assert.equal(response.status, 200)
})
