'use strict'
// The example Express receiver (examples/node-express), over real HTTP.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const w = require('..')

const { createApp } = require(path.join(__dirname, '..', '..', 'examples', 'node-express', 'app.js'))
const express = require(require.resolve('express', { paths: [path.join(__dirname, '..', '..', 'examples', 'node-express')] }))

const SECRET = 'topsecret'

async function listen(app) {
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  const base = `http://127.0.0.1:${server.address().port}`
  return { base, close: () => new Promise((resolve) => server.close(resolve)) }
}

function signed(body, over = {}) {
  const headers = w.signDelivery(SECRET, body, { event: 'stream.updated', ...over })
  return { ...headers, 'content-type': 'application/json' }
}

for (const globalJsonFirst of [false, true]) {
  test(`express: JSON delivery verified with a global express.json() ${globalJsonFirst ? 'before the route (captureRawBody)' : 'after the route'}`, async () => {
    const app = createApp({ secret: SECRET, globalJsonFirst })
    const { base, close } = await listen(app)
    try {
      // Whitespace and key order a JSON parser would not preserve: the raw bytes are signed.
      const body = '{ "event" : "stream.updated",\n  "amount": "100.50" }'
      const headers = signed(body, { deliveryId: 'dlv_http_1' })
      const ok = await fetch(`${base}/webhooks/fluxora`, { method: 'POST', headers, body })
      assert.equal(ok.status, 200)
      assert.deepEqual(await ok.json(), { received: true, id: 'dlv_http_1', event: 'stream.updated' })
      assert.deepEqual(app.locals.received, [{ id: 'dlv_http_1', event: 'stream.updated', payload: { event: 'stream.updated', amount: '100.50' } }])

      const again = await fetch(`${base}/webhooks/fluxora`, { method: 'POST', headers, body })
      assert.equal(again.status, 409)
      assert.deepEqual(await again.json(), { error: 'duplicate_delivery', message: 'Duplicate delivery id' })

      const tampered = await fetch(`${base}/webhooks/fluxora`, { method: 'POST', headers: signed(body), body: body.replace('100.50', '999') })
      assert.equal(tampered.status, 401)
      assert.deepEqual(await tampered.json(), { error: 'signature_mismatch', message: 'Webhook signature verification failed' })

      const missing = await fetch(`${base}/webhooks/fluxora`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      assert.equal(missing.status, 401)
      assert.equal((await missing.json()).error, 'missing_delivery_id')

      // The rest of the app still gets parsed JSON.
      const echo = await fetch(`${base}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
      assert.deepEqual(await echo.json(), { body: { a: 1 } })
    } finally {
      await close()
    }
  })
}

test('express: oversized body answered 413 from the core without reading it all', async () => {
  const { base, close } = await listen(createApp({ secret: SECRET }))
  try {
    const body = Buffer.alloc(262145, 0x61)
    const res = await fetch(`${base}/webhooks/fluxora`, { method: 'POST', headers: signed(body), body })
    assert.equal(res.status, 413)
    assert.deepEqual(await res.json(), { error: 'payload_too_large', message: 'Payload exceeds 262144 bytes' })
  } finally {
    await close()
  }
})

test('express: non-JSON and binary bodies verify; stale timestamps get 401', async () => {
  const { base, close } = await listen(createApp({ secret: SECRET }))
  try {
    const body = Buffer.from([0x00, 0xff, 0x10, 0x80])
    const ok = await fetch(`${base}/webhooks/fluxora`, { method: 'POST', headers: { ...signed(body), 'content-type': 'application/octet-stream' }, body })
    assert.equal(ok.status, 200)
    const stale = await fetch(`${base}/webhooks/fluxora`, { method: 'POST', headers: signed('{}', { timestamp: Math.floor(Date.now() / 1000) - 301 }), body: '{}' })
    assert.equal(stale.status, 401)
    assert.equal((await stale.json()).error, 'timestamp_outside_tolerance')
  } finally {
    await close()
  }
})

test('express: a body consumed by an earlier plain express.json() is a clear 500, never a false 401', async () => {
  const app = express()
  app.use(express.json())
  app.post('/hook', w.expressWebhook({ secret: SECRET }), (_req, res) => res.json({ ok: true }))
  app.use((err, _req, res, _next) => res.status(err.status).json({ error: err.code, message: err.message }))
  const { base, close } = await listen(app)
  try {
    const body = '{"event":"stream.updated"}'
    const res = await fetch(`${base}/hook`, { method: 'POST', headers: signed(body), body })
    assert.equal(res.status, 500)
    const json = await res.json()
    assert.equal(json.error, 'ERR_FLUXORA_BODY_CONSUMED')
    assert.match(json.message, /captureRawBody/)
  } finally {
    await close()
  }
})
