// Verification throughput, one process: @fluxora/webhooks vs node:crypto and webhook libraries.
// Run: cd benches/node && npm ci && npm run bench   (build bindings-node first: scripts/test-node.sh)
import crypto from 'node:crypto'
import { bench, group, run, summary } from 'mitata'
import { Verifier, verifyWebhookSignature, signDelivery } from '@fluxora/webhooks'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import { Webhook as SvixWebhook } from 'svix'
import Stripe from 'stripe'
import { verify as octokitVerify, sign as octokitSign } from '@octokit/webhooks-methods'
import { checkBeforeHmac } from '../shared/contract.mjs'

const SECRET = 'whsec_' + Buffer.from('fluxora-benchmark-secret-32-bytes').toString('base64')
const now = Math.floor(Date.now() / 1000)
const stripe = new Stripe('sk_test_unused')

/** The same contract with node:crypto: HMAC-SHA256 over `timestamp.body`, window, constant-time compare. */
function nodeCryptoVerify(secret, headers, body, nowSeconds, tolerance = 300, maxBytes = 262144) {
  if (!secret) return 'missing_secret'
  const failed = checkBeforeHmac(headers, body.length, nowSeconds, tolerance, maxBytes)
  if (failed) return failed
  const ts = headers['x-fluxora-timestamp']
  const hex = headers['x-fluxora-signature'].trim()
  const expected = crypto.createHmac('sha256', secret).update(ts).update('.').update(body).digest()
  return crypto.timingSafeEqual(expected, Buffer.from(hex, 'hex')) ? 'ok' : 'signature_mismatch'
}

const results = []
for (const size of [1024, 65536]) {
  const body = Buffer.alloc(size, 0x61)
  body.write('{"event":"stream.updated","pad":"')
  body.write('"}', size - 2)
  const text = body.toString('utf8')

  const fluxHeaders = signDelivery(SECRET, body, { deliveryId: 'dlv_bench', timestamp: now })
  const verifier = new Verifier({ secret: SECRET, replay: false })
  const fluxInput = {
    secret: SECRET,
    deliveryId: fluxHeaders['x-fluxora-delivery-id'],
    timestamp: fluxHeaders['x-fluxora-timestamp'],
    signature: fluxHeaders['x-fluxora-signature'],
    rawBody: body,
    now,
  }
  const delivery = { deliveryId: fluxInput.deliveryId, timestamp: fluxInput.timestamp, signature: fluxInput.signature, rawBody: body, now }

  const swh = new StandardWebhook(SECRET)
  const swhHeaders = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now), 'webhook-signature': swh.sign('msg_1', new Date(now * 1000), text) }
  const svix = new SvixWebhook(SECRET)
  const svixHeaders = { 'svix-id': 'msg_1', 'svix-timestamp': String(now), 'svix-signature': swhHeaders['webhook-signature'] }
  const stripeHeader = stripe.webhooks.generateTestHeaderString({ payload: text, secret: SECRET, timestamp: now })
  const octokitSignature = await octokitSign(SECRET, text)

  // Every candidate must accept its own valid input before it is timed.
  if (verifier.verify(delivery).code !== 'ok') throw new Error('Verifier.verify')
  if (verifyWebhookSignature(fluxInput).code !== 'ok') throw new Error('verifyWebhookSignature')
  if (nodeCryptoVerify(SECRET, fluxHeaders, body, now) !== 'ok') throw new Error('node:crypto')
  swh.verify(text, swhHeaders)
  svix.verify(text, svixHeaders)
  stripe.webhooks.signature.verifyHeader(text, stripeHeader, SECRET, 300)
  if (!(await octokitVerify(SECRET, text, octokitSignature))) throw new Error('octokit')

  const label = size === 1024 ? '1 KiB' : '64 KiB'
  group(label, () => {
    summary(() => {
      bench(`Verifier.verify (${label})`, () => verifier.verify(delivery))
      bench(`Verifier.verifyHeaders (${label})`, () => verifier.verifyHeaders(fluxHeaders, body, now))
      bench(`verifyWebhookSignature (${label})`, () => verifyWebhookSignature(fluxInput))
      bench(`node:crypto, same contract (${label})`, () => nodeCryptoVerify(SECRET, fluxHeaders, body, now))
      bench(`standardwebhooks (${label})`, () => swh.verify(text, swhHeaders))
      bench(`svix (${label})`, () => svix.verify(text, svixHeaders))
      bench(`stripe verifyHeader (${label})`, () => stripe.webhooks.signature.verifyHeader(text, stripeHeader, SECRET, 300))
      bench(`@octokit/webhooks-methods verify (${label})`, async () => await octokitVerify(SECRET, text, octokitSignature))
    })
  })
  results.push(label)
}

const report = await run({ format: 'quiet' })
// A compact table: ops/s and the ratio of Verifier.verify to each candidate, per size.
for (const label of results) {
  const rows = []
  for (const b of report.benchmarks) {
    const name = b.alias
    if (!name.endsWith(`(${label})`)) continue
    const avgNs = b.runs[0].stats.avg
    rows.push({ name: name.replace(` (${label})`, ''), ops: 1e9 / avgNs })
  }
  const ours = rows.find((r) => r.name === 'Verifier.verify').ops
  console.log(`\n${label} body`)
  console.log('| implementation | ops/s | Verifier.verify is |')
  console.log('|---|---:|---:|')
  for (const r of rows) {
    console.log(`| ${r.name} | ${Math.round(r.ops).toLocaleString('en-US')} | ${(ours / r.ops).toFixed(2)}x |`)
  }
}
