// app/api/webhooks/fluxora/route.js: POST /api/webhooks/fluxora
import { fluxoraRoute } from '../../../../lib/fluxora-webhook.js'

export const runtime = 'nodejs' // @fluxora/webhooks is a native addon: not the Edge runtime
export const dynamic = 'force-dynamic'

export const POST = fluxoraRoute({
  secret: process.env.FLUXORA_WEBHOOK_SECRET,
  handler: async (delivery) => {
    const { id, payload } = delivery
    // ... store or enqueue the event here; route on the signed body (payload.event).
    // Throw, or answer a 5xx, when it could not be processed: the sender retries.
    return Response.json({ received: true, id, event: payload?.event })
  },
})
