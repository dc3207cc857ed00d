// A Fluxora webhook receiver on Koa that loses nothing when its handler fails.
//
// The webhook middleware reads the raw body from the request stream itself (no koa-bodyparser
// on this route: a parser would consume the stream and keep only the parsed value, whose bytes
// are not the signed ones).
//
// Two-phase replay: the delivery is *reserved* before the handler runs and settled once the
// handler returned, before Koa sends the answer: a status under 500 commits it (every later
// attempt is a 409 `duplicate_delivery`), a thrown error or a 5xx status releases it (the
// sender's retry runs the handler again). A concurrent attempt meanwhile gets 429
// `delivery_in_progress`.
import Koa from 'koa'
import { Verifier } from '@fluxora/webhooks'

/**
 * Middleware for the webhook route, e.g. `router.post('/webhooks/fluxora', fluxoraWebhook({ secret }), handler)`
 * with @koa/router. Downstream, `ctx.state.fluxora` is the verified delivery
 * `{ id, payload, rawBody }` (`payload`: the signed body parsed as JSON).
 * `replayStore`: a `RedisReplayStore` when several processes receive the same webhooks.
 */
export function fluxoraWebhook({ secret, replayStore }) {
  const verifier = new Verifier(replayStore ? { secret, replay: false } : { secret })
  const reserve = (headers, rawBody) =>
    replayStore ? replayStore.reserve(verifier, headers, rawBody) : verifier.reserve(headers, rawBody)

  return async function fluxoraWebhookMiddleware(ctx, next) {
    const rawBody = await readRawBody(ctx.req, verifier.maxBodyBytes)
    const reservation = await reserve(ctx.headers, rawBody)
    if (!reservation.ok) {
      const { status, code, message } = reservation.result
      if (rawBody.truncated) ctx.set('connection', 'close') // the rest of the body was never read
      ctx.status = status
      ctx.body = { error: code, message }
      return
    }
    ctx.state.fluxora = { id: reservation.deliveryId, payload: parseJson(rawBody), rawBody }
    try {
      await next()
    } catch (error) {
      await reservation.release() // Koa answers the error with a 500 (or its own status): retry
      throw error
    }
    await (ctx.status < 500 ? reservation.commit() : reservation.release())
  }
}

/** An example handler: record the event, answer 200. Throw (or answer 5xx) to have it retried. */
export async function recordEvent(ctx) {
  const { id, payload } = ctx.state.fluxora
  // ... store or enqueue the event here; route on the signed body (payload.event) ...
  ctx.body = { received: true, id, event: payload?.event }
}

/** The app: `POST /webhooks/fluxora` through the webhook middleware, then `handler(ctx)`. */
export function createApp({ secret, replayStore, handler = recordEvent } = {}) {
  const app = new Koa()
  const webhook = fluxoraWebhook({ secret, replayStore })
  app.use(async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== '/webhooks/fluxora') return next()
    return webhook(ctx, () => handler(ctx))
  })
  return app
}

/**
 * Reads the request body as a Buffer, stopping as soon as it passes `limit` bytes (enough for
 * the verifier to answer 413 `payload_too_large`; the result is then marked `truncated`).
 */
export function readRawBody(req, limit) {
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
