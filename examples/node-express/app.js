'use strict'
// A Fluxora webhook receiver on Express.
const express = require('express')
const { expressWebhook, captureRawBody } = require('@fluxora/webhooks')

/**
 * Builds the app. The webhook route reads its raw body itself; the rest of the app parses
 * JSON with a global express.json(). With `globalJsonFirst`, the global parser is mounted
 * before the route and keeps the raw bytes with `captureRawBody`.
 */
function createApp({ secret, previousSecret, now, replay, replayStore, globalJsonFirst = false } = {}) {
  const app = express()
  const received = []
  app.locals.received = received

  if (globalJsonFirst) app.use(express.json({ verify: captureRawBody }))

  app.post(
    '/webhooks/fluxora',
    expressWebhook({ secret, previousSecret, now, replay, replayStore }),
    (req, res) => {
      const { id, event, payload } = req.fluxora
      // The event header is not signed: route on the signed body.
      received.push({ id, event, payload })
      res.json({ received: true, id, event: payload && payload.event })
    },
  )

  if (!globalJsonFirst) app.use(express.json())
  app.post('/api/echo', (req, res) => res.json({ body: req.body }))

  app.use((err, _req, res, _next) => {
    res.status(err.status || 500).json({ error: err.code || 'internal_error', message: err.message })
  })
  return app
}

module.exports = { createApp }
