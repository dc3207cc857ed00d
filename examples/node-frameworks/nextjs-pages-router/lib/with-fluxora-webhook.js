// Next.js Pages Router: an API route for Fluxora webhooks that loses nothing when its handler
// fails. The route must turn Next's body parser off (`export const config = { api: {
// bodyParser: false } }`) so that the raw bytes are still in the request stream.
//
// The delivery is *reserved* while `handler(req, res)` runs, then settled by the status it
// answered: under 500 commits it (every later attempt is a 409 `duplicate_delivery`), a 5xx
// answer or a thrown error releases it (the sender's retry runs the handler again). A
// concurrent attempt meanwhile gets 429 `delivery_in_progress`. Only Node's own `req` / `res`
// API is used here, so it runs the same under Next's API resolver and a plain node:http server.
import { Verifier } from '@fluxora/webhooks'

/**
 * `export default withFluxoraWebhook({ secret }, async (req, res) => { ... })`; in the handler
 * `req.fluxora` is the verified delivery `{ id, payload, rawBody }` (`payload`: the signed body
 * parsed as JSON). `replayStore`: a `RedisReplayStore` when several instances receive the same
 * webhooks. The verifier is built on the first request (`next build` loads the route without
 * the runtime secret).
 */
export function withFluxoraWebhook({ secret, replayStore, log = console.error }, handler) {
  let verifier
  return async function fluxoraApiRoute(req, res) {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST')
      return sendJson(res, 405, { error: 'method_not_allowed', message: 'Use POST' })
    }
    verifier ??= new Verifier(replayStore ? { secret, replay: false } : { secret })
    const rawBody = await readRawBody(req, verifier.maxBodyBytes)
    const reservation = await (replayStore
      ? replayStore.reserve(verifier, req.headers, rawBody)
      : verifier.reserve(req.headers, rawBody))
    if (!reservation.ok) {
      const { status, code, message } = reservation.result
      if (rawBody.truncated) res.setHeader('connection', 'close') // the rest was never read
      return sendJson(res, status, { error: code, message })
    }
    req.fluxora = { id: reservation.deliveryId, payload: parseJson(rawBody), rawBody }
    try {
      await handler(req, res) // await everything before answering: the status settles it
    } catch (error) {
      await reservation.release()
      log(error)
      if (!res.headersSent) sendJson(res, 500, { error: 'internal_error', message: 'The delivery was not processed' })
      else res.destroy()
      return
    }
    await (res.statusCode < 500 ? reservation.commit() : reservation.release())
  }
}

function sendJson(res, status, body) {
  res.statusCode = status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.end(JSON.stringify(body))
}

/**
 * Reads the request body as a Buffer, stopping as soon as it passes `limit` bytes (enough for
 * the verifier to answer 413 `payload_too_large`; the result is then marked `truncated`).
 */
function readRawBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let length = 0
    const finish = (error, body) => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      if (error) reject(error)
      else resolve(body)
    }
    const onData = (chunk) => {
      chunks.push(chunk)
      length += chunk.length
      if (length > limit) {
        req.pause()
        finish(null, Object.assign(Buffer.concat(chunks, length), { truncated: true }))
      }
    }
    const onEnd = () => finish(null, Buffer.concat(chunks, length))
    const onError = (error) => finish(error)
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}

function parseJson(rawBody) {
  try {
    return JSON.parse(new TextDecoder().decode(rawBody))
  } catch {
    return undefined
  }
}
