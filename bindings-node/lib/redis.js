'use strict'
// A replay store shared by several processes through Redis. The script, its keys and expiries
// are the facade's (the Python package's RedisReplayStore loads the same), so Node and Python
// receivers sharing one Redis catch each other's duplicates.
const native = require('./binding.js').binding

function evaluatorFor(client) {
  const script = native.redisScript()
  if (client && typeof client.call === 'function' && typeof client.evalsha === 'function') {
    // ioredis
    return (keys, args) => client.call('EVAL', script, keys.length, ...keys, ...args)
  }
  if (client && typeof client.sendCommand === 'function') {
    // node-redis v4/v5
    return (keys, args) => client.sendCommand(['EVAL', script, String(keys.length), ...keys, ...args])
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
    this.prefix = options.prefix ?? native.redisDefaultPrefix()
    this.deliveryRetentionSeconds = native.checkDeliveryRetention(options.deliveryRetentionSeconds)
    Object.defineProperty(this, 'evaluate', { value: evaluatorFor(client) })
  }

  /** Verifies a delivery from its headers and records it in Redis when it is fresh. */
  async verifyHeaders(verifier, headers, rawBody, now) {
    const checked = verifier.check(headers, rawBody, now)
    if (checked.result) return checked.result
    const { keys, args } = checked.redisEval(this.prefix, this.deliveryRetentionSeconds)
    return checked.concludeRedis(Number(await this.evaluate(keys, args)))
  }

  /**
   * Two-phase replay: verifies a delivery and, when it passed, reserves it in Redis for the
   * verifier's `reservationLeaseSeconds`. Resolves to `{ ok, result, deliveryId, commit(now?),
   * release() }`: commit once the application handled the delivery, release when it failed
   * (so the sender's retry is processed again). Both resolve to false when the reservation
   * was lost (its lease ran out, or it was already settled).
   */
  async reserve(verifier, headers, rawBody, now) {
    const checked = verifier.check(headers, rawBody, now)
    if (checked.result) return unheld(checked.result)
    const reserve = checked.redisReserve(this.prefix, verifier.reservationLeaseSeconds)
    const result = checked.concludeRedis(Number(await this.evaluate(reserve.keys, reserve.args)))
    if (!result.ok) return unheld(result)
    const settle = async (call) => checked.redisSettled(Number(await this.evaluate(call.keys, call.args)))
    return {
      ok: true,
      result,
      deliveryId: checked.deliveryId,
      commit: (at) => settle(checked.redisCommit(this.prefix, this.deliveryRetentionSeconds, at)),
      release: () => settle(checked.redisRelease(this.prefix)),
    }
  }

  /** Verifies a delivery given as fields (`{ deliveryId, timestamp, signature, rawBody, now }`). */
  verify(verifier, delivery) {
    const { deliveryId: id, timestamp: ts, signature: sig } = native.headerNames()
    const headers = [[id, delivery.deliveryId], [ts, delivery.timestamp], [sig, delivery.signature]]
    return this.verifyHeaders(verifier, headers, delivery.rawBody, delivery.now)
  }
}

/** A reservation that holds nothing: the delivery failed verification or the store's check. */
function unheld(result) {
  const settled = async () => false
  return { ok: false, result, deliveryId: undefined, commit: settled, release: settled }
}

module.exports = { RedisReplayStore }
