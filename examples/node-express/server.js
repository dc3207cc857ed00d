'use strict'
// Runs the example receiver: FLUXORA_WEBHOOK_SECRET=... PORT=3000 node server.js
const { createApp } = require('./app.js')

const secret = process.env.FLUXORA_WEBHOOK_SECRET
if (!secret) {
  console.error('set FLUXORA_WEBHOOK_SECRET')
  process.exit(1)
}
const port = Number(process.env.PORT || 3000)
createApp({ secret }).listen(port, () => console.log(`listening on http://127.0.0.1:${port}/webhooks/fluxora`))
