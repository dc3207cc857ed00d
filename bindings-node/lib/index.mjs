// ESM entry: the same objects as the CommonJS entry.
import cjs from './index.js'

export const {
  Verifier,
  verifyWebhookSignature,
  computeWebhookSignature,
  buildWebhookSigningPayload,
  signDelivery,
  validateDecimalString,
  parseToStroops,
  formatFromStroops,
  readHeaders,
  redisScript,
  Checked,
  outcomeCodes,
  headerNames,
  OutcomeCode,
  OUTCOMES,
  HEADERS,
  expressWebhook,
  captureRawBody,
  verifyRequest,
  fetchWebhook,
  Reservation,
  RedisReplayStore,
  implementation,
} = cjs
export default cjs
