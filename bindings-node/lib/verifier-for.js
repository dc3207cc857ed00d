'use strict'
// Helpers accept a ready `Verifier` or its options; options objects get one Verifier each.
const native = require('./binding.js').binding

const built = new WeakMap()

function verifierFor(options) {
  if (options instanceof native.Verifier) return options
  if (options && options.verifier instanceof native.Verifier) return options.verifier
  if (!options || typeof options !== 'object') {
    const error = new TypeError('pass a Verifier or Verifier options ({ secret, ... })')
    error.code = 'ERR_FLUXORA_INVALID_ARGUMENT'
    throw error
  }
  let verifier = built.get(options)
  if (!verifier) {
    const { replayStore, verifier: _ignored, ...verifierOptions } = options
    if (replayStore && verifierOptions.replay === undefined) verifierOptions.replay = false
    verifier = new native.Verifier(verifierOptions)
    built.set(options, verifier)
  }
  return verifier
}

/** Runs the verification, through an asynchronous replay store when one is configured. */
function verifyWith(options, headers, rawBody, now) {
  const verifier = verifierFor(options)
  const store = options && !(options instanceof native.Verifier) ? options.replayStore : undefined
  if (store) return store.verifyHeaders(verifier, headers, rawBody, now)
  return verifier.verifyHeaders(headers, rawBody, now)
}

/**
 * Two-phase replay: verifies and reserves, through an asynchronous replay store when one is
 * configured. Resolves to `{ ok, result, deliveryId, commit(), release() }`.
 */
async function reserveWith(options, headers, rawBody, now) {
  const verifier = verifierFor(options)
  const store = options && !(options instanceof native.Verifier) ? options.replayStore : undefined
  if (store) return store.reserve(verifier, headers, rawBody, now)
  const reservation = verifier.reserve(headers, rawBody, now)
  return {
    ok: reservation.ok,
    result: reservation.result,
    deliveryId: reservation.deliveryId ?? undefined,
    commit: async (at) => reservation.commit(at),
    release: async (at) => reservation.release(at),
  }
}

/**
 * Settles a reservation once, by the application's answer: a status under 500 means the
 * delivery was handled (commit: later attempts are duplicates), 500 and above or a failure
 * means it was not (release: the sender's retry is processed again).
 */
function settleOnce(reservation, report, options) {
  let settled = false
  // Settled on the same clock that reserved it.
  const now = options && typeof options.now === 'function' ? options.now : () => undefined
  return (handled) => {
    if (settled) return Promise.resolve(undefined)
    settled = true
    const settling = handled ? reservation.commit(now()) : reservation.release(now())
    // A store that cannot settle leaves the reservation to expire with its lease: the
    // sender's retry is then processed again, so nothing is lost.
    return Promise.resolve(settling).catch(report)
  }
}

function parsePayload(rawBody) {
  if (rawBody.length === 0) return undefined
  try {
    return JSON.parse(Buffer.from(rawBody).toString('utf8'))
  } catch {
    return undefined
  }
}

module.exports = { verifierFor, verifyWith, reserveWith, settleOnce, parsePayload }
