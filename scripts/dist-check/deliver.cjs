'use strict'
// Sends signed deliveries to a receiver and checks its answers, signing with node:crypto alone
// (the wire contract, not the SDK under test): a fresh delivery answers 200 `ok`, the same
// delivery again 409 `duplicate_delivery`, a tampered body 401 `signature_mismatch`.
//   node deliver.cjs http://127.0.0.1:PORT/ SECRET      a receiver listening on a port
//   node deliver.cjs --worker FILE.mjs SECRET           a Fetch-API module: `default.fetch(request, env)`
const crypto = require('node:crypto')
const { pathToFileURL } = require('node:url')

const args = process.argv.slice(2)
const worker = args[0] === '--worker' ? args[1] : undefined
const [target, secret] = worker ? [undefined, args[2]] : args
if (!(worker || target) || !secret) {
  console.error('usage: deliver.cjs URL SECRET | deliver.cjs --worker FILE SECRET')
  process.exit(2)
}

function signed(body, deliveryId) {
  const timestamp = String(Math.floor(Date.now() / 1000))
  const signature = crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
  return {
    'content-type': 'application/json',
    'x-fluxora-delivery-id': deliveryId,
    'x-fluxora-timestamp': timestamp,
    'x-fluxora-signature': signature,
  }
}

async function main() {
  const send = worker
    ? await import(pathToFileURL(worker).href).then((module) => (request) =>
        module.default.fetch(request, { FLUXORA_WEBHOOK_SECRET: secret }))
    : (request) => fetch(request)
  const url = target ?? 'http://receiver.test/webhooks'
  const body = JSON.stringify({ event: 'stream.updated', id: crypto.randomUUID() })
  const headers = signed(body, `dlv_${crypto.randomBytes(16).toString('hex')}`)
  const attempts = [
    ['fresh delivery', body, headers, 200, 'ok'],
    ['the same delivery again', body, headers, 409, 'duplicate_delivery'],
    ['tampered body', body.replace('stream.updated', 'stream.cancelled'), signed(body, 'dlv_tampered'), 401, 'signature_mismatch'],
  ]
  let failed = 0
  for (const [label, sent, sentHeaders, status, code] of attempts) {
    const response = await send(new Request(url, { method: 'POST', headers: sentHeaders, body: sent }))
    const text = await response.text()
    const good = response.status === status && text.includes(code)
    if (!good) failed += 1
    console.log(`${good ? 'ok  ' : 'FAIL'} ${label}: ${response.status} ${text.slice(0, 80)} (expected ${status} ${code})`)
  }
  process.exit(failed === 0 ? 0 : 1)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
