// Verification throughput in one Node process: @fluxora/webhooks-wasm vs WebCrypto (key imported
// once, then `await crypto.subtle.verify` per message), standardwebhooks (JS) and the native
// Node package (@fluxora/webhooks, napi-rs). Prints a markdown table of ops/s and ratios.
// Run: cd benches/wasm && npm ci && npm run bench
//   (after scripts/test-wasm.sh built bindings-wasm/pkg and scripts/test-node.sh built the addon)
import * as wasm from '@fluxora/webhooks-wasm'
import * as native from '@fluxora/webhooks'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import { checkBeforeHmac } from '../shared/contract.mjs'

const SECRET = 'whsec_' + btoa('fluxora-benchmark-secret-32-bytes')
const now = Math.floor(Date.now() / 1000)
const encoder = new TextEncoder()
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5)
const ROUND_MS = Number(process.env.BENCH_ROUND_MS || 400)

/** Best ops/s over ROUNDS rounds of about ROUND_MS each (after a warm-up round). */
async function measure(fn, isAsync) {
  let batch = 1
  for (;;) {
    const start = performance.now()
    for (let i = 0; i < batch; i += 1) isAsync ? await fn() : fn()
    if (performance.now() - start > 20) break
    batch *= 2
  }
  let best = 0
  for (let round = 0; round <= ROUNDS; round += 1) {
    let ops = 0
    const start = performance.now()
    let elapsed = 0
    while (elapsed < ROUND_MS) {
      for (let i = 0; i < batch; i += 1) isAsync ? await fn() : fn()
      ops += batch
      elapsed = performance.now() - start
    }
    if (round > 0) best = Math.max(best, (ops * 1000) / elapsed)
  }
  return best
}

/** WebCrypto, same contract: the checks in order, then HMAC verify over `timestamp.body`. */
async function webCryptoVerifier(secret) {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
  return async (headers, body, nowSeconds, tolerance = 300, maxBytes = 262144) => {
    const failed = checkBeforeHmac(headers, body.length, nowSeconds, tolerance, maxBytes)
    if (failed) return failed
    const ts = headers['x-fluxora-timestamp']
    const hex = headers['x-fluxora-signature'].trim()
    const tag = new Uint8Array(32)
    for (let i = 0; i < 32; i += 1) tag[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
    const prefix = encoder.encode(`${ts}.`)
    const message = new Uint8Array(prefix.length + body.length)
    message.set(prefix)
    message.set(body, prefix.length)
    return (await crypto.subtle.verify('HMAC', key, tag, message)) ? 'ok' : 'signature_mismatch'
  }
}

const rows = []
for (const size of [1024, 65536]) {
  const text = '{"event":"stream.updated","pad":"' + 'a'.repeat(size - 35) + '"}'
  const body = encoder.encode(text)
  if (body.length !== size) throw new Error(`body is ${body.length} bytes`)
  const headers = wasm.signDelivery(SECRET, body, { deliveryId: 'dlv_bench', timestamp: now })
  const wasmVerifier = new wasm.Verifier({ secret: SECRET, replay: false })
  const nativeVerifier = new native.Verifier({ secret: SECRET, replay: false })
  const nodeBody = Buffer.from(body)
  const webCrypto = await webCryptoVerifier(SECRET)
  const swh = new StandardWebhook(SECRET)
  const swhHeaders = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now), 'webhook-signature': swh.sign('msg_1', new Date(now * 1000), text) }
  const fetchHeaders = new Headers(headers)

  // Every candidate must accept its own valid input before it is timed.
  if (wasmVerifier.verifyHeaders(headers, body, now).code !== 'ok') throw new Error('wasm Verifier')
  if (wasmVerifier.verifyHeaders(fetchHeaders, body, now).code !== 'ok') throw new Error('wasm Verifier (Headers)')
  if (nativeVerifier.verifyHeaders(headers, nodeBody, now).code !== 'ok') throw new Error('native Verifier')
  if ((await webCrypto(headers, body, now)) !== 'ok') throw new Error('WebCrypto')
  swh.verify(text, swhHeaders)
  if (native.computeWebhookSignature(SECRET, headers['x-fluxora-timestamp'], nodeBody) !== headers['x-fluxora-signature']) throw new Error('signatures differ')

  const input = { secret: SECRET, deliveryId: 'dlv_bench', timestamp: headers['x-fluxora-timestamp'], signature: headers['x-fluxora-signature'], rawBody: body, now }
  const candidates = [
    ['wasm Verifier.verifyHeaders', () => wasmVerifier.verifyHeaders(headers, body, now)],
    ['wasm Verifier.verifyHeaders (Fetch Headers)', () => wasmVerifier.verifyHeaders(fetchHeaders, body, now)],
    ['wasm verifyWebhookSignature', () => wasm.verifyWebhookSignature(input)],
    ['WebCrypto, awaited (same contract)', () => webCrypto(headers, body, now), true],
    ['standardwebhooks (JS)', () => swh.verify(text, swhHeaders)],
    ['native Node Verifier.verifyHeaders (napi-rs)', () => nativeVerifier.verifyHeaders(headers, nodeBody, now)],
  ]
  const label = size === 1024 ? '1 KiB' : '64 KiB'
  const results = []
  for (const [name, fn, isAsync] of candidates) results.push([name, await measure(fn, isAsync)])
  const base = results[0][1]
  rows.push(`\n| ${label} body | ops/s | wasm Verifier is |\n|---|---:|---:|`)
  for (const [name, ops] of results) rows.push(`| ${name} | ${Math.round(ops).toLocaleString('en-US')} | ${(base / ops).toFixed(2)}x |`)
}
console.log(`Node ${process.version}, ${ROUNDS} rounds of ${ROUND_MS} ms, best round per candidate`)
console.log(rows.join('\n'))
