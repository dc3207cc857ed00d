'use strict'
// A replay store shared by several processes through Redis.
const native = require('../index.js')

// Checks the delivery id, then the (timestamp, signature) pair, and records both, atomically.
const SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2])
return 0
`

function evaluatorFor(client) {
  if (client && typeof client.call === 'function' && typeof client.evalsha === 'function') {
    // ioredis
    return (keys, args) => client.call('EVAL', SCRIPT, keys.length, ...keys, ...args)
  }
  if (client && typeof client.sendCommand === 'function') {
    // node-redis v4/v5
    return (keys, args) => client.sendCommand(['EVAL', SCRIPT, String(keys.length), ...keys, ...args])
  }
  const error = new TypeError('RedisReplayStore needs a connected ioredis or node-redis client')
  error.code = 'ERR_FLUXORA_INVALID_ARGUMENT'
  throw error
}

/**
 * Replay protection for several processes: verification runs synchronously in the core,
 * then one Lua script checks and records the delivery id and the (timestamp, signature)
 * pair atomically, answering `duplicate_delivery` or `replayed_signature` in that order.
 */
class RedisReplayStore {
  constructor(client, options = {}) {
    this.prefix = options.prefix ?? 'fluxora:replay:'
    this.deliveryRetentionSeconds = options.deliveryRetentionSeconds ?? 86400
    Object.defineProperty(this, 'evaluate', { value: evaluatorFor(client) })
  }

  /** Verifies a delivery from its headers and records it in Redis when it is fresh. */
  async verifyHeaders(verifier, headers, rawBody, now) {
    const { result, entry } = verifier.verifyPending(headers, rawBody, now)
    if (!entry) return result
    const keys = [
      `${this.prefix}id:${entry.deliveryId}`,
      `${this.prefix}sig:${entry.timestamp}:${entry.signature}`,
    ]
    const idTtl = Math.max(1, this.deliveryRetentionSeconds + 1)
    const pairTtl = Math.max(1, entry.signatureExpiresAt - entry.now + 1)
    const verdict = Number(await this.evaluate(keys, [String(idTtl), String(pairTtl), entry.deliveryId]))
    if (verdict === 1) return native.replayResult('duplicate_delivery')
    if (verdict === 2) return native.replayResult('replayed_signature')
    return result
  }

  /** Verifies a delivery given as fields (`{ deliveryId, timestamp, signature, rawBody, now }`). */
  verify(verifier, delivery) {
    const { deliveryId: id, timestamp: ts, signature: sig } = native.headerNames()
    const headers = { [id]: delivery.deliveryId, [ts]: delivery.timestamp, [sig]: delivery.signature }
    return this.verifyHeaders(verifier, headers, delivery.rawBody, delivery.now)
  }
}

module.exports = { RedisReplayStore }
