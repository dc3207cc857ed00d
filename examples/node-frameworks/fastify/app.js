// A Fluxora webhook receiver on Fastify that loses nothing when its handler fails.
//
// The webhook route lives in its own plugin (an encapsulation context), where every body is
// kept as the raw Buffer (`parseAs: 'buffer'`): the signature is over those exact bytes. The
// rest of the app keeps Fastify's JSON parser.
//
// Two-phase replay: the delivery is *reserved* before the handler runs and settled in the
// route's hooks, before the answer leaves: a status under 500 commits it (every later attempt
// is a 409 `duplicate_delivery`), a thrown error (whatever status it is answered with) or a
// 5xx answer releases it (the sender's retry runs the handler again). A concurrent attempt meanwhile gets 429
// `delivery_in_progress`.
import Fastify from 'fastify'
import { Verifier } from '@fluxora/webhooks'

/**
 * The webhook plugin: `app.register(fluxoraWebhook, { secret, handler })`.
 * `handler(request, reply)` is an ordinary Fastify handler; `request.fluxora` is the verified
 * delivery `{ id, payload, rawBody }` (`payload`: the signed body parsed as JSON).
 * `replayStore`: a `RedisReplayStore` when several processes receive the same webhooks.
 */
export async function fluxoraWebhook(scope, { secret, replayStore, handler, path = '/webhooks/fluxora' }) {
  const verifier = new Verifier(replayStore ? { secret, replay: false } : { secret })
  const reserve = (headers, rawBody) =>
    replayStore ? replayStore.reserve(verifier, headers, rawBody) : verifier.reserve(headers, rawBody)

  // Only inside this plugin: whatever the content type, the body is the raw Buffer.
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  scope.decorateRequest('fluxora', null)
  const held = new WeakMap() // request -> its reservation, until the answer settles it

  const settle = async (request, handled) => {
    const reservation = held.get(request)
    if (!reservation) return
    held.delete(request)
    await (handled ? reservation.commit() : reservation.release())
  }

  scope.post(path, {
    preHandler: async (request, reply) => {
      const rawBody = request.body ?? Buffer.alloc(0) // no body at all: the core answers
      const reservation = await reserve(request.headers, rawBody)
      if (!reservation.ok) {
        const { status, code, message } = reservation.result
        return reply.code(status).send({ error: code, message })
      }
      held.set(request, reservation)
      request.fluxora = { id: reservation.deliveryId, payload: parseJson(rawBody), rawBody }
    },
    // The handler threw: release, whatever status the error handler answers.
    onError: async (request) => settle(request, false),
    // Runs for every answer before it is sent: settle by its status.
    onSend: async (request, reply, payload) => {
      await settle(request, reply.statusCode < 500)
      return payload
    },
    handler,
  })
}

/** An example handler: record the event, answer 200. Throw (or answer 5xx) to have it retried. */
export async function recordEvent(request) {
  const { id, payload } = request.fluxora
  // ... store or enqueue the event here; route on the signed body (payload.event) ...
  return { received: true, id, event: payload?.event }
}

/** The app: the webhook route, plus the rest of the app with Fastify's usual JSON parsing. */
export function createApp({ secret, replayStore, handler = recordEvent, logger = false } = {}) {
  const app = Fastify({ logger })
  app.register(fluxoraWebhook, { secret, replayStore, handler })
  app.post('/api/echo', async (request) => ({ body: request.body }))
  return app
}

function parseJson(rawBody) {
  try {
    return JSON.parse(new TextDecoder().decode(rawBody))
  } catch {
    return undefined
  }
}
