'use strict'
// Express (and plain node:http) middleware that reads the raw body itself.
const native = require('./binding.js').binding
const { verifierFor, reserveWith, settleOnce, parsePayload } = require('./verifier-for.js')

function consumedError() {
  const error = new Error(
    'The request body was already consumed by another body parser (e.g. a global express.json()), ' +
      'so its raw bytes are gone and the signature cannot be checked. Mount the webhook route before ' +
      'the global parser, or capture the raw body with express.json({ verify: captureRawBody }).',
  )
  error.code = 'ERR_FLUXORA_BODY_CONSUMED'
  error.status = 500
  return error
}

/** For `express.json({ verify: captureRawBody })`: keeps the raw bytes as `req.rawBody`. */
function captureRawBody(req, _res, buf) {
  req.rawBody = buf
}

/**
 * Reads the body (stopping as soon as it passes the verifier's limit), or the raw bytes an
 * earlier raw parser left. Resolves to a Buffer, or rejects when the bytes are gone.
 */
function rawBodyOf(req, limit) {
  if (Buffer.isBuffer(req.rawBody)) return Promise.resolve(req.rawBody)
  if (Buffer.isBuffer(req.body)) return Promise.resolve(req.body)
  if (req._body || req.readableEnded) return Promise.reject(consumedError())
  return new Promise((resolve, reject) => {
    const chunks = []
    let length = 0
    const done = (result, error) => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      if (error) reject(error)
      else resolve(result)
    }
    const onData = (chunk) => {
      chunks.push(chunk)
      length += chunk.length
      if (length > limit) {
        // Enough to be answered payload_too_large by the core; drop the rest unread.
        req.pause()
        done(Object.assign(Buffer.concat(chunks, length), { truncated: true }))
      }
    }
    const onEnd = () => done(Buffer.concat(chunks, length))
    const onError = (error) => done(undefined, error)
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}

function answer(res, result, truncated) {
  res.statusCode = result.status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  if (truncated) res.setHeader('connection', 'close')
  res.end(JSON.stringify({ error: result.code, message: result.message }))
}

/**
 * Route-scoped middleware: `app.post('/webhooks', expressWebhook({ secret }), handler)`.
 * Failures are answered with the outcome's status and `{ error: code, message }`; a verified
 * delivery is handed on as `req.fluxora = { id, event, payload, rawBody, usedPreviousSecret }`
 * (and `req.body = payload`).
 *
 * Nothing is lost when the handler fails: the delivery is reserved (not yet recorded) while
 * the handler runs. An answer under 500 commits it (every later attempt is a 409 duplicate);
 * a thrown error, a 5xx answer or a connection closed before the answer releases it, so the
 * sender's retry runs the handler again. A concurrent attempt meanwhile gets 429
 * `delivery_in_progress`.
 */
function expressWebhook(options) {
  const verifier = verifierFor(options)
  const now = options && typeof options.now === 'function' ? options.now : undefined
  return function fluxoraWebhook(req, res, next) {
    rawBodyOf(req, verifier.maxBodyBytes)
      .then(async (rawBody) => {
        req._body = true
        req.rawBody = rawBody
        const reservation = await reserveWith(options, req.headers, rawBody, now ? now() : undefined)
        if (!reservation.ok) return answer(res, reservation.result, rawBody.truncated)
        const settle = settleOnce(reservation, (error) => process.emitWarning(error), options)
        res.on('finish', () => settle(native.commitsOn(res.statusCode)))
        res.on('close', () => settle(res.writableFinished && native.commitsOn(res.statusCode)))
        const payload = parsePayload(rawBody)
        const found = native.readHeaders(req.headers)
        req.fluxora = {
          id: found.deliveryId,
          event: found.event,
          payload,
          rawBody,
          usedPreviousSecret: reservation.result.usedPreviousSecret === true,
        }
        req.body = payload
        next()
      })
      .catch(next)
  }
}

module.exports = { expressWebhook, captureRawBody }
