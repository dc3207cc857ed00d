'use strict'
// Fetch-API helper for Request-based frameworks (Next.js route handlers, Hono, Bun, Deno).
const native = require('../index.js')
const { verifierFor, verifyWith, parsePayload } = require('./verifier-for.js')

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

/**
 * Verifies a Fetch-API `Request`. Resolves to the verification result plus, when ok,
 * `delivery: { id, event, payload, rawBody }`, and when not, `response`: a ready JSON
 * `Response` with the outcome's status and `{ error: code, message }`.
 */
async function verifyRequest(request, options) {
  const verifier = verifierFor(options)
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
  const headers = request.headers
  const rawBody = await readBody(request, verifier.maxBodyBytes)
  const now = options && typeof options.now === 'function' ? options.now() : undefined
  const result = await verifyWith(options, headers, rawBody, now)
  if (!result.ok) {
    const response = new Response(JSON.stringify({ error: result.code, message: result.message }), {
      status: result.status,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
    return { ...result, response }
  }
  const found = native.readHeaders(headers)
  const delivery = {
    id: found.deliveryId,
    event: found.event,
    payload: parsePayload(rawBody),
    rawBody,
  }
  return { ...result, delivery }
}

module.exports = { verifyRequest }
