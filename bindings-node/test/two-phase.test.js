'use strict'
// Two-phase replay: a handler failure never loses a delivery, a success makes every later
// attempt a 409. Through Verifier.reserve, the Express middleware over real HTTP, the Fetch
// handler wrapper, and the Redis store (real Redis on 127.0.0.1:6379, and a process that dies
// between reserve and commit).
const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const path = require('node:path')
const { randomUUID } = require('node:crypto')
const { spawnSync } = require('node:child_process')
const w = require('..')
const { nativeOnly } = require('./helpers.js')

const express = require(require.resolve('express', { paths: [path.join(__dirname, '..', '..', 'examples', 'node-express')] }))

const SECRET = 'topsecret'
const BODY = '{"event":"stream.updated"}'
const NOW = 1710000000
const URL = process.env.FLUXORA_REDIS_URL || 'redis://127.0.0.1:6379'

/** Attempt `n` of one delivery: the sender re-signs every attempt (a new timestamp). */
const attempt = (id, n, now = NOW) => w.signDelivery(SECRET, BODY, { deliveryId: id, timestamp: now + n })

test('Verifier.reserve: release lets the retry through, commit makes it a duplicate, a concurrent attempt is in progress', () => {
  const verifier = new w.Verifier({ secret: SECRET })
  assert.equal(verifier.reservationLeaseSeconds, 60)
  const first = verifier.reserve(attempt('d1', 0), BODY, NOW)
  assert.deepEqual([first.ok, first.deliveryId, first.result.code], [true, 'd1', 'ok'])
  const concurrent = verifier.reserve(attempt('d1', 1), BODY, NOW + 1)
  assert.deepEqual({ ...concurrent.result }, { ok: false, status: 429, code: 'delivery_in_progress', message: 'Delivery is being processed; retry later' })
  assert.equal(verifier.verifyHeaders(attempt('d1', 1), BODY, NOW + 1).code, 'delivery_in_progress', 'one-step verification sees the reservation')
  assert.equal(first.release(NOW + 2), true)
  assert.equal(first.release(NOW + 2), false, 'settled once')
  const retry = verifier.reserve(attempt('d1', 3), BODY, NOW + 3)
  assert.equal(retry.ok, true)
  assert.equal(retry.commit(NOW + 4), true)
  assert.equal(verifier.reserve(attempt('d1', 5), BODY, NOW + 5).result.code, 'duplicate_delivery')
  assert.equal(concurrent.commit(NOW + 6), false, 'a failed verification holds nothing')
})

test('Verifier.reserve: a reservation lapses with its lease; the late commit is refused', () => {
  const verifier = new w.Verifier({ secret: SECRET, reservationLeaseSeconds: 5 })
  const first = verifier.reserve(attempt('d2', 0), BODY, NOW)
  assert.equal(verifier.reserve(attempt('d2', 5), BODY, NOW + 5).result.code, 'delivery_in_progress')
  const second = verifier.reserve(attempt('d2', 6), BODY, NOW + 6)
  assert.equal(second.ok, true, 'the process holding it died: the retry is processed')
  assert.equal(first.commit(NOW + 7), false)
  assert.equal(second.commit(NOW + 7), true)
  assert.throws(() => new w.Verifier({ secret: SECRET, reservationLeaseSeconds: 0 }), (e) => e.code === 'ERR_FLUXORA_INVALID_SETTING' && e.field === 'reservationLeaseSeconds')
  const unstored = new w.Verifier({ secret: SECRET, replay: false }).reserve(attempt('d3', 0), BODY, NOW)
  assert.deepEqual([unstored.ok, unstored.commit(NOW)], [true, true])
})

async function listen(handler) {
  const server = http.createServer(handler)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { base: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) }
}

/** An Express app whose handler does what `script` says for each call, counting its runs. */
function scriptedApp(options, script) {
  const app = express()
  app.locals.runs = 0
  app.post('/hook', w.expressWebhook(options), async (req, res) => {
    app.locals.runs += 1
    const step = script(app.locals.runs)
    if (step === 'throw') throw new Error('handler failed')
    if (typeof step === 'number') return res.status(step).json({ status: step })
    await step
    res.json({ ok: true })
  })
  app.use((error, _req, res, _next) => res.status(500).json({ error: 'internal', message: String(error.message) }))
  return app
}

async function post(base, headers) {
  const response = await fetch(`${base}/hook`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: BODY })
  return [response.status, (await response.json()).error ?? 'ok']
}

for (const [label, options] of [
  ['in-memory store', () => ({ secret: SECRET })],
  ['Redis store', () => ({ secret: SECRET, replay: false, replayStore: new w.RedisReplayStore(redisClient(), { prefix: `fluxora:2p:${randomUUID()}:` }) })],
]) {
  for (const failure of ['throw', 503]) {
    test(`express (${label}): a handler that ${failure === 'throw' ? 'throws' : 'answers 503'} loses nothing: 5xx, then the retry runs it again (200), then 409`, { skip: label === 'Redis store' && nativeOnly }, async () => {
      const app = scriptedApp(options(), (run) => (run === 1 ? failure : 200))
      const { base, close } = await listen(app)
      try {
        const now = Math.floor(Date.now() / 1000)
        assert.deepEqual(await post(base, attempt('e1', 0, now)), [failure === 'throw' ? 500 : 503, failure === 'throw' ? 'internal' : 'ok'])
        assert.deepEqual(await post(base, attempt('e1', 1, now)), [200, 'ok'])
        assert.deepEqual(await post(base, attempt('e1', 2, now)), [409, 'duplicate_delivery'])
        assert.equal(app.locals.runs, 2, 'the handler ran once per accepted attempt')
      } finally {
        await close()
      }
    })
  }

  test(`express (${label}): two concurrent attempts of one delivery: one runs, the other gets 429 delivery_in_progress`, { skip: label === 'Redis store' && nativeOnly }, async () => {
    let unblock
    const blocked = new Promise((resolve) => { unblock = resolve })
    const app = scriptedApp(options(), () => blocked)
    const { base, close } = await listen(app)
    try {
      const now = Math.floor(Date.now() / 1000)
      const first = post(base, attempt('e2', 0, now))
      while (app.locals.runs === 0) await new Promise((resolve) => setTimeout(resolve, 5))
      assert.deepEqual(await post(base, attempt('e2', 1, now)), [429, 'delivery_in_progress'])
      unblock()
      assert.deepEqual(await first, [200, 'ok'])
      assert.deepEqual(await post(base, attempt('e2', 2, now)), [409, 'duplicate_delivery'])
      assert.equal(app.locals.runs, 1)
    } finally {
      await close()
    }
  })
}

let clients = []
function redisClient() {
  const Redis = require('ioredis')
  const client = new Redis(URL, { maxRetriesPerRequest: 1 })
  clients.push(client)
  return client
}
test.after(async () => {
  await Promise.all(clients.map((client) => client.quit()))
  clients = []
})

test('fetchWebhook: a thrown error or a 5xx response releases, a 2xx commits; the Request body is read once', async () => {
  let runs = 0
  const outcomes = ['throw', 503, 200]
  const handle = w.fetchWebhook({ secret: SECRET }, async (delivery) => {
    runs += 1
    assert.equal(delivery.id, 'f1')
    assert.deepEqual(delivery.payload, JSON.parse(BODY))
    const outcome = outcomes[runs - 1]
    if (outcome === 'throw') throw new Error('boom')
    return new Response(null, { status: outcome })
  })
  const now = Math.floor(Date.now() / 1000)
  const request = (n) => new Request('http://localhost/hook', { method: 'POST', headers: attempt('f1', n, now), body: BODY })
  await assert.rejects(handle(request(0)), /boom/)
  assert.equal((await handle(request(1))).status, 503)
  assert.equal((await handle(request(2))).status, 200)
  const duplicate = await handle(request(3))
  assert.deepEqual([duplicate.status, (await duplicate.json()).error], [409, 'duplicate_delivery'])
  assert.equal(runs, 3)
  const used = request(4)
  await used.text()
  await assert.rejects(handle(used), (e) => e.code === 'ERR_FLUXORA_BODY_CONSUMED')
})

test('Redis store: a process killed between reserve and commit: the retry after the lease is processed', { skip: nativeOnly }, async () => {
  const prefix = `fluxora:2p:${randomUUID()}:`
  const now = Math.floor(Date.now() / 1000)
  const first = attempt('k1', 0, now)
  const script = `
    const w = require(${JSON.stringify(require.resolve('..'))});
    const Redis = require('ioredis');
    const client = new Redis(${JSON.stringify(URL)});
    const store = new w.RedisReplayStore(client, { prefix: ${JSON.stringify(prefix)} });
    const verifier = new w.Verifier({ secret: 'topsecret', replay: false, reservationLeaseSeconds: 1 });
    store.reserve(verifier, ${JSON.stringify(first)}, ${JSON.stringify(BODY)}).then((r) => {
      console.log(r.result.code);
      process.exit(0); // dies holding the reservation: neither commit nor release
    });`
  const child = spawnSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  assert.equal(child.stdout.trim(), 'ok')
  const store = new w.RedisReplayStore(redisClient(), { prefix })
  const verifier = new w.Verifier({ secret: SECRET, replay: false })
  const during = await store.reserve(verifier, attempt('k1', 1, now), BODY)
  assert.equal(during.result.code, 'delivery_in_progress')
  await new Promise((resolve) => setTimeout(resolve, 2100))
  const retry = await store.reserve(verifier, attempt('k1', 2, now), BODY)
  assert.equal(retry.result.code, 'ok', 'the lease ran out: the retry is processed')
  assert.equal(await retry.commit(), true)
  assert.equal((await store.reserve(verifier, attempt('k1', 3, now), BODY)).result.code, 'duplicate_delivery')
  // The pair of the dead attempt stays its own: a copy under another id is still refused.
  const swapped = { ...first, 'x-fluxora-delivery-id': 'k1-swapped' }
  assert.equal((await store.reserve(verifier, swapped, BODY)).result.code, 'replayed_signature')
})
