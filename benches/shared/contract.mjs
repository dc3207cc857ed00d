// The Fluxora contract's checks before the HMAC, in order, shared by the hand-written baselines
// of benches/node (node:crypto) and benches/wasm (WebCrypto). No dependencies.

/**
 * The failure code of the first header, size or timestamp check that fails, or '' when the
 * delivery may go on to the signature check (the signature header is then 64 hex digits
 * once trimmed).
 */
export function checkBeforeHmac(headers, bodyLength, nowSeconds, tolerance = 300, maxBytes = 262144) {
  const ts = headers['x-fluxora-timestamp']
  const sig = headers['x-fluxora-signature']
  if (!headers['x-fluxora-delivery-id']) return 'missing_delivery_id'
  if (!ts) return 'missing_timestamp'
  if (!sig) return 'missing_signature'
  if (bodyLength > maxBytes) return 'payload_too_large'
  const trimmed = ts.trim()
  if (!/^[0-9]+$/.test(trimmed) || Number(trimmed) === 0) return 'invalid_timestamp'
  if (Math.abs(nowSeconds - Number(trimmed)) > tolerance) return 'timestamp_outside_tolerance'
  if (!/^[0-9a-fA-F]{64}$/.test(sig.trim())) return 'signature_mismatch'
  return ''
}
