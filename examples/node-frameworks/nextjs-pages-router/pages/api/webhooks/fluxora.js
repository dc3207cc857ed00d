// pages/api/webhooks/fluxora.js: POST /api/webhooks/fluxora
import { withFluxoraWebhook } from '../../../lib/with-fluxora-webhook.js'

// Keep the raw bytes: Next's body parser would consume the stream and keep only the parsed value.
export const config = { api: { bodyParser: false } }

export default withFluxoraWebhook({ secret: process.env.FLUXORA_WEBHOOK_SECRET }, async (req, res) => {
  const { id, payload } = req.fluxora
  // ... store or enqueue the event here; route on the signed body (payload.event).
  // Throw, or answer a 5xx, when it could not be processed: the sender retries.
  res.status(200).json({ received: true, id, event: payload?.event })
})
