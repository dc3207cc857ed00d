'use strict'
// Fetch-API helper for Request-based frameworks (Next.js route handlers, Hono, Bun, Deno).
const native = require('./binding.js').binding
const { verifierFor, verifyWith, reserveWith, settleOnce, parsePayload } = require('./verifier-for.js')

/** Reads a Request body, stopping as soon as it passes `limit` bytes. */
async function readBody(request, limit) {
  if (!request.body) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    length += value.length
    if (length > limit) {
      await reader.cancel().catch(() => {})
      break
    }
  }
  return Buffer.concat(chunks, length)
}

function checkRequest(request) {
  if (!request || !request.headers || typeof request.arrayBuffer !== 'function') {
    const error = new TypeError('request must be a Fetch API Request')
    error.code = 'ERR_FLUXORA_INVALID_ARGUMENT'
    throw error
  }
  if (request.bodyUsed) {
    const error = new Error(
      'The Request body was already read, so its raw bytes are gone and the signature cannot be ' +
        'checked: call verifyRequest before request.json() / request.text(), or pass request.clone().',
    )
    error.code = 'ERR_FLUXORA_BODY_CONSUMED'
    throw error
  }
}

function failureResponse(result) {
  return new Response(JSON.stringify({ error: result.code, message: result.message }), {
    status: result.status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  })
}

function deliveryOf(headers, rawBody) {
  const found = native.readHeaders(headers)
  return { id: found.deliveryId, event: found.event, payload: parsePayload(rawBody), rawBody }
}

/**
 * Verifies a Fetch-API `Request` in one step (the delivery is recorded at once). Resolves to
 * the verification result plus, when ok, `delivery: { id, event, payload, rawBody }`, and when
 * not, `response`: a ready JSON `Response` with the outcome's status and `{ error: code, message }`.
 * Prefer `fetchWebhook` when the handling can fail: it records the delivery only once handled.
 */
async function verifyRequest(request, options) {
  const verifier = verifierFor(options)
  checkRequest(request)
  const rawBody = await readBody(request, verifier.maxBodyBytes)
  const now = options && typeof options.now === 'function' ? options.now() : undefined
  const result = await verifyWith(options, request.headers, rawBody, now)
  if (!result.ok) return { ...result, response: failureResponse(result) }
  return { ...result, delivery: deliveryOf(request.headers, rawBody) }
}

/**
 * A Fetch-API handler (Next.js route handlers, Hono, Bun, Deno, Workers) that verifies the
 * delivery, then runs `handler(delivery, request)` and answers its `Response`. The delivery is
 * reserved while the handler runs: a response under 500 commits it (later attempts answer 409
 * `duplicate_delivery`); a 5xx response or a thrown error releases it, so the sender's retry
 * runs the handler again. Failed verifications answer `{ error: code, message }`.
 */
function fetchWebhook(options, handler) {
  if (typeof handler !== 'function') {
    const error = new TypeError('fetchWebhook(options, handler): handler must be a function')
    error.code = 'ERR_FLUXORA_INVALID_ARGUMENT'
    throw error
  }
  const verifier = verifierFor(options)
  return async function fluxoraWebhook(request, ...rest) {
    checkRequest(request)
    const rawBody = await readBody(request, verifier.maxBodyBytes)
    const now = options && typeof options.now === 'function' ? options.now() : undefined
    const reservation = await reserveWith(options, request.headers, rawBody, now)
    if (!reservation.ok) return failureResponse(reservation.result)
    const settle = settleOnce(reservation, (error) => process.emitWarning(error), options)
    const delivery = { ...deliveryOf(request.headers, rawBody), usedPreviousSecret: reservation.result.usedPreviousSecret === true }
    let response
    try {
      response = await handler(delivery, request, ...rest)
    } catch (error) {
      await settle(false)
      throw error
    }
    await settle(response instanceof Response && native.commitsOn(response.status))
    return response
  }
}

module.exports = { verifyRequest, fetchWebhook }
