// Next.js App Router: a route handler (`export const POST = fluxoraRoute(...)`) for Fluxora
// webhooks that loses nothing when its handler fails.
//
// It is `fetchWebhook` from @fluxora/webhooks: it reads the raw bytes of the `Request` itself
// (do not call `request.json()` before it), verifies them and *reserves* the delivery while
// `handler(delivery, request)` runs, then settles it by the handler's `Response`: a status
// under 500 commits it (every later attempt is a 409 `duplicate_delivery`), a 5xx answer or a
// thrown error releases it (the sender's retry runs the handler again). A concurrent attempt
// meanwhile gets 429 `delivery_in_progress`.
import { fetchWebhook } from '@fluxora/webhooks'

/**
 * `handler(delivery, request, context)` answers a `Response` (`NextResponse` is one);
 * `delivery` is `{ id, event, payload, rawBody }` (`payload`: the signed body parsed as JSON).
 * `replayStore`: a `RedisReplayStore` when several instances receive the same webhooks.
 *
 * The verifier is built on the first request, not when the module loads: `next build` loads
 * route modules without the runtime secret. A missing secret then makes the request fail
 * (500, so the sender retries) rather than the build.
 */
export function fluxoraRoute({ secret, replayStore, handler, log = console.error }) {
  let handle
  return async function POST(request, context) {
    handle ??= fetchWebhook({ secret, replayStore }, async (delivery, req, ctx) => {
      try {
        return await handler(delivery, req, ctx)
      } catch (error) {
        // Released by fetchWebhook either way; answering the 500 here keeps it JSON.
        log(error)
        return Response.json({ error: 'internal_error', message: 'The delivery was not processed' }, { status: 500 })
      }
    })
    return handle(request, context)
  }
}
