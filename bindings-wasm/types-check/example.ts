// Compiled with `tsc --strict` against the built package's declarations (pkg/index.d.ts).
import {
  Verifier,
  verifyWebhookSignature,
  verifyRequest,
  computeWebhookSignature,
  buildWebhookSigningPayload,
  signDelivery,
  validateDecimalString,
  parseToStroops,
  formatFromStroops,
  OutcomeCode,
  HEADERS,
  type VerificationResult,
  type OutcomeCodeValue,
} from '../pkg/index.js'

const verifier = new Verifier({ secret: 'topsecret', replay: { capacity: 1000 } })
const headers = signDelivery('topsecret', new Uint8Array([1, 2]), { event: 'stream.updated' })
const result: VerificationResult = verifier.verifyHeaders(new Headers(headers), new ArrayBuffer(2), new Date())
const code: OutcomeCodeValue = result.code
if (code === OutcomeCode.DUPLICATE_DELIVERY) console.log(HEADERS.deliveryId)
verifyWebhookSignature({ secret: 'a', deliveryId: 'd', timestamp: '1', signature: 's', rawBody: 'x', isDuplicateDelivery: (id) => id === 'd' })
const sig: string = computeWebhookSignature('a', 1710000000, 'body')
const payload: Uint8Array = buildWebhookSigningPayload('1710000000', sig)
const stroops: bigint = parseToStroops('1.5')
const text: string = formatFromStroops(stroops + BigInt(payload.length))
const checked = validateDecimalString(text, 'amount', { amount: true })
if (checked.valid) console.log(checked.value.length)
else console.log(checked.code, checked.field)

export async function handle(request: Request): Promise<Response> {
  const verified = await verifyRequest(request, { secret: 'topsecret', now: () => Date.now() / 1000 })
  if (!verified.ok) return verified.response
  return new Response(JSON.stringify({ id: verified.delivery.id, payload: verified.delivery.payload }))
}

// Every header form of the shared declaration, and the settings error's shape.
verifier.verifyHeaders([['X-Fluxora-Delivery-Id', 'dlv_1'], ['x-fluxora-signature', ['a', 'b']]], 'x')
verifier.verifyHeaders(new Map([['X-Fluxora-Timestamp', '1710000000']]), 'x')
verifier.verifyHeaders({ 'X-Fluxora-Delivery-Id': 'dlv_1', 'x-fluxora-event': undefined }, 'x')
try {
  new Verifier({ secret: '' })
} catch (error) {
  const setting = error as import('../pkg/index.js').InvalidSettingError
  console.log(setting.field, setting.problem)
}
