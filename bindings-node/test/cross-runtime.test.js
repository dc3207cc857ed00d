'use strict'
// A Node receiver and a Python receiver sharing one Redis (127.0.0.1:6379) catch each other's
// duplicates and replayed signatures, in both orders: the two packages load the same script
// and keys from the Rust facade. The Python side is the built wheel in the test venv
// (FLUXORA_PYTHON, set by scripts/test-node.sh when scripts/test-python.sh has run);
// FLUXORA_REQUIRE_CROSS=1 (the full test command) turns its absence into a failure.
const test = require('node:test')
const assert = require('node:assert/strict')
const { randomUUID } = require('node:crypto')
const { spawnSync } = require('node:child_process')
const w = require('..')

const SECRET = 'topsecret'
const BODY = '{"event":"stream.updated"}'
const NOW = 1710000000
const URL = process.env.FLUXORA_REDIS_URL || 'redis://127.0.0.1:6379'
const PYTHON = process.env.FLUXORA_PYTHON

// Verifies each delivery (headers as a JSON list) through Python's RedisReplayStore; prints codes.
const PYTHON_RECEIVER = `
import json, sys, redis
from fluxora_webhooks import RedisReplayStore, Verifier
prefix, url, body, now, deliveries = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4]), json.loads(sys.argv[5])
client = redis.Redis.from_url(url)
verifier = Verifier("${SECRET}", replay_store=RedisReplayStore(client, prefix=prefix))
print(json.dumps([verifier.verify(body, headers, now=now).code for headers in deliveries]))
`

function python(prefix, deliveries) {
  const child = spawnSync(PYTHON, ['-c', PYTHON_RECEIVER, prefix, URL, BODY, String(NOW), JSON.stringify(deliveries)], { encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  return JSON.parse(child.stdout)
}

async function withNode(prefix, run) {
  const client = require('redis').createClient({ url: URL })
  await client.connect()
  try {
    const store = new w.RedisReplayStore(client, { prefix })
    const verifier = new w.Verifier({ secret: SECRET, replay: false })
    return await run((headers) => store.verifyHeaders(verifier, headers, BODY, NOW).then((r) => r.code))
  } finally {
    await client.quit()
  }
}

const available = Boolean(PYTHON)
if (!available && process.env.FLUXORA_REQUIRE_CROSS === '1') {
  test('cross-runtime Redis: the Python package is required here', () => assert.fail('FLUXORA_PYTHON is not set'))
}

test('cross-runtime Redis: accepted by Node, then a duplicate and a replay for Python', { skip: available ? false : 'NOT RUN: FLUXORA_PYTHON (a Python with fluxora_webhooks) is not set; run scripts/test-python.sh first' }, async () => {
  const prefix = `fluxora:cross:${randomUUID()}:`
  const headers = w.signDelivery(SECRET, BODY, { timestamp: NOW })
  assert.equal(await withNode(prefix, (verify) => verify(headers)), 'ok')
  const swapped = { ...headers, 'x-fluxora-delivery-id': `${headers['x-fluxora-delivery-id']}-swapped` }
  assert.deepEqual(python(prefix, [headers, swapped]), ['duplicate_delivery', 'replayed_signature'])
})

test('cross-runtime Redis: accepted by Python, then a duplicate and a replay for Node', { skip: available ? false : 'NOT RUN: FLUXORA_PYTHON is not set' }, async () => {
  const prefix = `fluxora:cross:${randomUUID()}:`
  // Title-Case names on the Python side, a Fetch Headers on the Node side: the one lookup.
  const signed = w.signDelivery(SECRET, BODY, { timestamp: NOW })
  const titled = Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase()), v]))
  assert.deepEqual(python(prefix, [titled]), ['ok'])
  const codes = await withNode(prefix, async (verify) => [
    await verify(new Headers(signed)),
    await verify({ ...signed, 'x-fluxora-delivery-id': 'another-id' }),
  ])
  assert.deepEqual(codes, ['duplicate_delivery', 'replayed_signature'])
})

// Two-phase replay across runtimes: a reservation held by one runtime is in progress for the
// other; released, the other processes the retry; committed, every later attempt is a duplicate.
const PYTHON_RESERVER = `
import json, sys, redis
from fluxora_webhooks import RedisReplayStore, Verifier
prefix, url, body, headers, action = sys.argv[1], sys.argv[2], sys.argv[3].encode(), json.loads(sys.argv[4]), sys.argv[5]
verifier = Verifier("${SECRET}", replay_store=RedisReplayStore(redis.Redis.from_url(url), prefix=prefix))
reservation = verifier.reserve(body, headers)
settled = reservation.commit() if action == "commit" else reservation.release() if action == "release" else None
print(json.dumps([reservation.code, settled]))
`

function pythonReserve(prefix, headers, action) {
  const child = spawnSync(PYTHON, ['-c', PYTHON_RESERVER, prefix, URL, BODY, JSON.stringify(headers), action], { encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  return JSON.parse(child.stdout)
}

test('cross-runtime Redis: reservations are shared: in progress, released, committed', { skip: available ? false : 'NOT RUN: FLUXORA_PYTHON is not set' }, async () => {
  const prefix = `fluxora:cross:${randomUUID()}:`
  const now = Math.floor(Date.now() / 1000)
  const attempt = (n) => w.signDelivery(SECRET, BODY, { deliveryId: 'cross-2p', timestamp: now + n })
  const client = require('redis').createClient({ url: URL })
  await client.connect()
  try {
    const store = new w.RedisReplayStore(client, { prefix })
    const verifier = new w.Verifier({ secret: SECRET, replay: false })
    const held = await store.reserve(verifier, attempt(0), BODY)
    assert.equal(held.result.code, 'ok')
    assert.deepEqual(pythonReserve(prefix, attempt(1), 'none'), ['delivery_in_progress', null])
    assert.equal(await held.release(), true, 'the Node handler failed')
    assert.deepEqual(pythonReserve(prefix, attempt(2), 'commit'), ['ok', true], 'Python processes the retry')
    assert.equal((await store.reserve(verifier, attempt(3), BODY)).result.code, 'duplicate_delivery')
  } finally {
    await client.quit()
  }
})
