// A Fluxora webhook receiver on Hono that loses nothing when its handler fails.
//
// The middleware verifies `await c.req.arrayBuffer()`: Hono caches the body, so the handler
// and any later middleware can still call `c.req.json()` or `c.req.text()`. (`fetchWebhook`
// from @fluxora/webhooks fits Hono too, as `(c) => handle(c.req.raw)`, but it reads the raw
// Request stream itself, so nothing may read the body before it, and nothing after it can.)
//
// Two-phase replay: the delivery is *reserved* before the handler runs and settled once the
// handler returned, by its Response: a status under 500 commits it (every later attempt is a
// 409 `duplicate_delivery`), a thrown error or a 5xx answer releases it (the sender's retry
// runs the handler again). A concurrent attempt meanwhile gets 429 `delivery_in_progress`.
//
// The package is a native addon: this runs on Node (e.g. @hono/node-server), Bun or Deno with
// Node-API, not on Workers or other edge runtimes.
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { bodyLimit } from 'hono/body-limit'
import { Verifier } from '@fluxora/webhooks'

/**
 * Middleware for the webhook route: `app.post('/webhooks/fluxora', ...fluxoraWebhook({ secret }), handler)`.
 * Downstream, `c.get('fluxora')` is the verified delivery `{ id, payload, rawBody }`
 * (`payload`: the signed body parsed as JSON). `replayStore`: a `RedisReplayStore` when several
 * processes receive the same webhooks.
 */
export function fluxoraWebhook({ secret, replayStore }) {
  const verifier = new Verifier(replayStore ? { secret, replay: false } : { secret })
  const reserve = (headers, rawBody) =>
    replayStore ? replayStore.reserve(verifier, headers, rawBody) : verifier.reserve(headers, rawBody)
  const answer = (c, { status, code, message }) => c.json({ error: code, message }, status)

  // Stop reading past the verifier's limit. The core still gives the answer: checked (no store
  // involved) with a body one byte over the limit, it reports the missing headers first, as it
  // would for the whole body, then 413 payload_too_large. When an earlier middleware already
  // read the body, it is in memory (hono/body-limit would fail on the used stream): the core
  // answers from its real length.
  const bodyLimited = bodyLimit({
    maxSize: verifier.maxBodyBytes,
    onError: (c) => answer(c, verifier.check(c.req.header(), new Uint8Array(verifier.maxBodyBytes + 1)).result),
  })
  const limit = (c, next) => (c.req.raw.bodyUsed ? next() : bodyLimited(c, next))

  async function verifyAndReserve(c, next) {
    const rawBody = await c.req.arrayBuffer() // cached by Hono: c.req.json() still works downstream
    const reservation = await reserve(c.req.header(), rawBody)
    if (!reservation.ok) return answer(c, reservation.result)
    c.set('fluxora', { id: reservation.deliveryId, payload: parseJson(rawBody), rawBody: new Uint8Array(rawBody) })
    await next() // a handler's thrown error is already c.error and the onError answer here
    await (c.res.status < 500 && !c.error ? reservation.commit() : reservation.release())
  }

  return [limit, verifyAndReserve]
}

/** An example handler: record the event, answer 200. Throw (or answer 5xx) to have it retried. */
export async function recordEvent(c) {
  const { id, payload } = c.get('fluxora')
  // ... store or enqueue the event here; route on the signed body (payload.event) ...
  return c.json({ received: true, id, event: payload?.event })
}

/** The app: `POST /webhooks/fluxora`; a failing handler answers 500 JSON. */
export function createApp({ secret, replayStore, handler = recordEvent, log = console.error } = {}) {
  const app = new Hono()
  app.post('/webhooks/fluxora', ...fluxoraWebhook({ secret, replayStore }), handler)
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse()
    log(error)
    return c.json({ error: 'internal_error', message: 'Internal Server Error' }, 500)
  })
  return app
}

function parseJson(rawBody) {
  try {
    return JSON.parse(new TextDecoder().decode(rawBody))
  } catch {
    return undefined
  }
}
