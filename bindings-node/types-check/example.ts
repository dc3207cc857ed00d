// Type-checked with `tsc --strict -p types-check`: the package's declarations as users see them.
import { createServer } from 'node:http'
import {
  Verifier,
  verifyWebhookSignature,
  computeWebhookSignature,
  buildWebhookSigningPayload,
  signDelivery,
  validateDecimalString,
  parseToStroops,
  formatFromStroops,
  OutcomeCode,
  expressWebhook,
  verifyRequest,
  RedisReplayStore,
  type VerificationResult,
  type OutcomeCodeValue,
} from '@fluxora/webhooks'

const verifier = new Verifier({ secret: 'topsecret', replay: { capacity: 1024, deliveryRetentionSeconds: 86400 } })
const body: Buffer = Buffer.from('{"event":"stream.updated"}')
const headers = signDelivery('topsecret', body, { event: 'stream.updated' })
const result: VerificationResult = verifier.verifyHeaders(headers, body, new Date())
const code: string = result.code
const mismatch: OutcomeCodeValue = OutcomeCode.SIGNATURE_MISMATCH
const dropIn = verifyWebhookSignature({
  secret: 'topsecret',
  deliveryId: headers['x-fluxora-delivery-id'],
  timestamp: headers['x-fluxora-timestamp'],
  signature: headers['x-fluxora-signature'],
  rawBody: new Uint8Array(body),
  now: 1710000000,
  isDuplicateDelivery: (id: string) => id === 'seen',
})
if (dropIn.ok && dropIn.usedPreviousSecret) console.log('rotate soon')
const signature: string = computeWebhookSignature('topsecret', 1710000000, 'body')
const payload: Buffer = buildWebhookSigningPayload('1710000000', body)
const decimal = validateDecimalString('100.50', 'amount', { amount: true })
if (decimal.valid) console.log(decimal.value.toUpperCase())
else console.log(decimal.code, decimal.field)
const stroops: bigint = parseToStroops('1.5')
const text: string = formatFromStroops(stroops)

const middleware = expressWebhook({ secret: 'topsecret' })
createServer((req, res) => middleware(req, res, () => res.end(JSON.stringify(req.fluxora?.payload))))

async function handler(request: Request): Promise<Response> {
  const verified = await verifyRequest(request, verifier)
  if (!verified.ok) return verified.response
  return Response.json({ id: verified.delivery.id })
}

declare const redisClient: { sendCommand(args: string[]): Promise<unknown> }
const store = new RedisReplayStore(redisClient, { prefix: 'app:' })
void store.verifyHeaders(verifier, headers, body).then((r: VerificationResult) => r.status)
void [code, mismatch, signature, payload, text, handler]

// Every header form of the shared declaration, the asynchronous-store step and the settings error.
verifier.verifyHeaders([['X-Fluxora-Delivery-Id', 'dlv_1'], ['x-fluxora-signature', ['a', 'b']]], body)
verifier.verifyHeaders(new Map([['X-Fluxora-Timestamp', '1710000000']]), body)
const pending = verifier.check({ 'X-Fluxora-Delivery-Id': 'dlv_1' }, body, 1710000000)
const settled: VerificationResult = pending.result ?? pending.conclude('ok')
try {
  new Verifier({ secret: '' })
} catch (error) {
  const setting = error as import('@fluxora/webhooks').InvalidSettingError
  console.log(setting.field, setting.problem, settled.code)
}
