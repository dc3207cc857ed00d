// A Fluxora webhook receiver for Cloudflare Workers (module syntax); the same handler runs on
// Deno (`Deno.serve(handler.fetch)`), Bun (`export default handler`) and Vercel Edge.
//
// POST /webhooks/fluxora: verifies the delivery (raw body read once, signature, freshness
// window, size limit, replay store), then routes on the SIGNED body's event, never on the
// unsigned x-fluxora-event header.
import { OUTCOMES, Verifier, verifyRequest } from '@fluxora/webhooks-wasm'

// One verifier per isolate: the secret is keyed once and the replay store lives as long as the
// isolate. Several isolates do not share it; put a Durable Object or your database behind
// de-duplication when that matters (a duplicate is answered 409, which senders treat as delivered).
let cached

function verifierFor(env) {
  const key = `${env.FLUXORA_WEBHOOK_SECRET}\u0000${env.FLUXORA_WEBHOOK_SECRET_PREVIOUS ?? ''}`
  if (!cached || cached.key !== key) {
    cached = {
      key,
      verifier: new Verifier({
        secret: env.FLUXORA_WEBHOOK_SECRET,
        previousSecret: env.FLUXORA_WEBHOOK_SECRET_PREVIOUS,
        previousSecretRotatedAt: env.FLUXORA_WEBHOOK_SECRET_ROTATED_AT ? Number(env.FLUXORA_WEBHOOK_SECRET_ROTATED_AT) : undefined,
        replay: { capacity: 10_000 },
      }),
    }
  }
  return cached.verifier
}

const json = (status, value) =>
  new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json; charset=utf-8' } })

// A Verifier refuses to be built without a secret. Answer the contract's missing_secret (500),
// never a 2xx or 4xx, so the sender retries until the secret is configured.
const MISSING_SECRET = OUTCOMES.find((outcome) => outcome.code === 'missing_secret')
const misconfigured = () => json(MISSING_SECRET.status, { error: MISSING_SECRET.code, message: MISSING_SECRET.message })

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url)
    if (pathname !== '/webhooks/fluxora') return json(404, { error: 'not_found' })
    if (request.method !== 'POST') return json(405, { error: 'method_not_allowed' })

    let verifier
    try {
      verifier = verifierFor(env)
    } catch (error) {
      if (error.code === 'ERR_FLUXORA_INVALID_SETTING') return misconfigured()
      throw error
    }
    const verified = await verifyRequest(request, verifier)
    if (!verified.ok) return verified.response // { error: code, message } with the outcome's status

    const { id, payload } = verified.delivery
    switch (payload?.event) {
      case 'stream.created':
      case 'stream.updated':
      case 'stream.cancelled':
        // Hand off to a queue or database here (ctx.waitUntil for background work).
        return json(200, { received: true, id, event: payload.event })
      default:
        return json(202, { received: true, id, event: null })
    }
  },
}
