'use strict'
// The Redis replay store against a real Redis on 127.0.0.1:6379, with both common clients.
const test = require('node:test')
const assert = require('node:assert/strict')
const { createHash, randomUUID } = require('node:crypto')
const { spawnSync } = require('node:child_process')
const w = require('..')

const SECRET = 'topsecret'
const NOW = 1710000000
const BODY = '{"event":"stream.updated"}'
const URL = process.env.FLUXORA_REDIS_URL || 'redis://127.0.0.1:6379'

const clients = {
  'node-redis': async () => {
    const client = require('redis').createClient({ url: URL })
    await client.connect()
    return { client, close: () => client.quit() }
  },
  ioredis: async () => {
    const Redis = require('ioredis')
    const client = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
    await client.connect()
    return { client, close: () => client.quit() }
  },
}

for (const [name, connect] of Object.entries(clients)) {
  test(`redis store (${name}): duplicate id first, then replayed signature, shared by two processes' stores`, async () => {
    const a = await connect()
    const b = await connect()
    try {
      const prefix = `fluxora:test:${randomUUID()}:`
      const verifier = new w.Verifier({ secret: SECRET, replay: false })
      const storeA = new w.RedisReplayStore(a.client, { prefix, deliveryRetentionSeconds: 60 })
      const storeB = new w.RedisReplayStore(b.client, { prefix, deliveryRetentionSeconds: 60 })
      const headers = w.signDelivery(SECRET, BODY, { deliveryId: 'r1', timestamp: NOW })

      // The same delivery raced through two connections: exactly one wins.
      const raced = await Promise.all([storeA.verifyHeaders(verifier, headers, BODY, NOW), storeB.verifyHeaders(verifier, headers, BODY, NOW)])
      assert.deepEqual(raced.map((r) => r.code).sort(), ['duplicate_delivery', 'ok'])

      const swapped = await storeB.verifyHeaders(verifier, { ...headers, 'x-fluxora-delivery-id': 'r2' }, BODY, NOW)
      assert.deepEqual({ ...swapped }, { ok: false, status: 409, code: 'replayed_signature', message: 'Signature was already used by another delivery' })

      const upper = await storeA.verify(verifier, { deliveryId: 'r3', timestamp: String(NOW), signature: headers['x-fluxora-signature'].toUpperCase(), rawBody: BODY, now: NOW })
      assert.equal(upper.code, 'replayed_signature')

      const unsigned = await storeA.verifyHeaders(verifier, { ...headers, 'x-fluxora-delivery-id': 'r4', 'x-fluxora-signature': '0'.repeat(64) }, BODY, NOW)
      assert.equal(unsigned.code, 'signature_mismatch')
      const r4 = w.signDelivery(SECRET, BODY, { deliveryId: 'r4', timestamp: NOW + 1 })
      assert.equal((await storeA.verifyHeaders(verifier, r4, BODY, NOW)).code, 'ok', 'unsigned requests never poison the store')

      // The keys, computed here independently: the id by its SHA-256, the pair as it is.
      const idKey = `${prefix}id:${createHash('sha256').update('r1').digest('hex')}`
      const ttl = Number(await a.client.ttl(idKey))
      assert.ok(ttl > 0 && ttl <= 60, `id ttl ${ttl}`)
      const pairTtl = Number(await a.client.ttl(`${prefix}sig:${NOW}:${headers['x-fluxora-signature']}`))
      assert.ok(pairTtl > 0 && pairTtl <= 301, `pair ttl ${pairTtl}`)
    } finally {
      await a.close()
      await b.close()
    }
  })
}

test('redis store: a separate Node process sees deliveries recorded here', async () => {
  const { client, close } = await clients['node-redis']()
  try {
    const prefix = `fluxora:test:${randomUUID()}:`
    const verifier = new w.Verifier({ secret: SECRET, replay: false })
    const headers = w.signDelivery(SECRET, BODY, { deliveryId: 'cross', timestamp: NOW })
    assert.equal((await new w.RedisReplayStore(client, { prefix }).verifyHeaders(verifier, headers, BODY, NOW)).code, 'ok')
    const script = `
      const w = require(${JSON.stringify(require.resolve('..'))});
      const client = require('redis').createClient({ url: ${JSON.stringify(URL)} });
      client.connect().then(async () => {
        const store = new w.RedisReplayStore(client, { prefix: ${JSON.stringify(prefix)} });
        const result = await store.verifyHeaders(new w.Verifier({ secret: 'topsecret', replay: false }), ${JSON.stringify(headers)}, ${JSON.stringify(BODY)}, ${NOW});
        console.log(result.code); await client.quit();
      });`
    const child = spawnSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8' })
    assert.equal(child.status, 0, child.stderr)
    assert.equal(child.stdout.trim(), 'duplicate_delivery')
  } finally {
    await close()
  }
})

test('redis store: a client that is not a Redis client is refused with a code', () => {
  assert.throws(() => new w.RedisReplayStore({}), (e) => e.code === 'ERR_FLUXORA_INVALID_ARGUMENT')
})
