// @fluxora/webhooks-wasm: the public API over the wasm-bindgen glue.
//
// This file converts JavaScript arguments for the Rust core and makes every error the package
// throws (in `fail`, and nowhere else). It parses, hashes and compares nothing itself: every
// code, status, message and decision comes from the core. No Node built-ins: it runs in
// browsers, Cloudflare Workers, Deno, Bun, Vercel Edge and Node alike.
import initAsync, * as wasm from './fluxora_webhooks_wasm.js'

let ready = false

/**
 * Instantiates the WebAssembly module from bytes or a compiled `WebAssembly.Module`
 * (synchronously). The default entry point does this on import; `./slim` users call it once.
 */
export function initSync(module) {
  if (!ready) {
    wasm.initSync({ module })
    setUp()
  }
}

/** Instantiates the module asynchronously (e.g. from a URL, a `Response` or a `Promise<Response>`). */
export async function init(moduleOrPath) {
  if (!ready) {
    await initAsync(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath })
    setUp()
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: every error this package throws is made here, as an Error with a `code`.
// ---------------------------------------------------------------------------------------------

const ERR_INVALID_BODY = 'ERR_FLUXORA_INVALID_BODY'
const ERR_INVALID_ARGUMENT = 'ERR_FLUXORA_INVALID_ARGUMENT'
const ERR_ASYNC_CALLBACK = 'ERR_FLUXORA_ASYNC_CALLBACK'
const ERR_NOT_INITIALIZED = 'ERR_FLUXORA_NOT_INITIALIZED'

/** Argument errors are `TypeError`s; decimal errors are plain `Error`s. Never includes a secret. */
function fail(code, message, type = TypeError) {
  const error = new type(message)
  error.code = code
  return error
}

function checkReady() {
  if (!ready) {
    throw fail(ERR_NOT_INITIALIZED, 'the WebAssembly module is not initialized: call init() or initSync() from "@fluxora/webhooks-wasm/slim" first, or import "@fluxora/webhooks-wasm"', Error)
  }
}

// ---------------------------------------------------------------------------------------------
// Tables read from the core once, when the module is instantiated.
// ---------------------------------------------------------------------------------------------

/** Every outcome code as a constant, e.g. `OutcomeCode.SIGNATURE_MISMATCH === 'signature_mismatch'`. */
export const OutcomeCode = {}
/** Every outcome with its status and message under the default configuration, in check order. */
export const OUTCOMES = []
/** The wire contract's header names. */
export const HEADERS = {}

const CODES = [] // outcome index -> code
const STATUSES = [] // outcome index -> status
const DEFAULTS = {}
let OK_BY_PREVIOUS = 0
const DECIMAL_ERRORS = [] // index -> { code, message }

function setUp() {
  const count = wasm.outcomeCount()
  OK_BY_PREVIOUS = wasm.okByPreviousSecret()
  DEFAULTS.tolerance = wasm.defaultSetting(0)
  DEFAULTS.maxBody = wasm.defaultSetting(1)
  DEFAULTS.grace = wasm.defaultSetting(2)
  DEFAULTS.retention = wasm.defaultSetting(3)
  DEFAULTS.capacity = wasm.defaultSetting(4)
  for (let index = 0; index < count; index += 1) {
    CODES.push(wasm.outcomeCode(index))
    STATUSES.push(wasm.outcomeStatus(index))
    if (index === OK_BY_PREVIOUS) continue
    const info = { code: CODES[index], status: STATUSES[index], message: wasm.outcomeMessage(index, DEFAULTS.tolerance, DEFAULTS.maxBody) }
    OUTCOMES.push(Object.freeze(info))
    OutcomeCode[info.code.toUpperCase()] = info.code
  }
  Object.freeze(OUTCOMES)
  Object.freeze(OutcomeCode)
  HEADERS.deliveryId = wasm.headerName(0)
  HEADERS.timestamp = wasm.headerName(1)
  HEADERS.signature = wasm.headerName(2)
  HEADERS.event = wasm.headerName(3)
  Object.freeze(HEADERS)
  for (let index = 0; index < wasm.decimalErrorCount(); index += 1) {
    DECIMAL_ERRORS.push({ code: wasm.decimalErrorCode(index), message: wasm.decimalErrorMessage(index) })
  }
  ready = true
}

/** Every outcome code, in the order the checks run (`ok` first), from the core. */
export function outcomeCodes() {
  checkReady()
  return OUTCOMES.map((info) => ({ ...info }))
}

/** The header names of the wire contract, from the core. */
export function headerNames() {
  checkReady()
  return { ...HEADERS }
}

// ---------------------------------------------------------------------------------------------
// Conversions from JavaScript values.
// ---------------------------------------------------------------------------------------------

const encoder = new TextEncoder()

const BODY_HINT =
  'rawBody must be the raw request body as a Uint8Array, ArrayBuffer or string, exactly as received; ' +
  'a parsed JSON object cannot be verified because re-serializing changes the signed bytes ' +
  '(read the body with await request.arrayBuffer())'

function describe(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  const type = typeof value
  return type === 'object' ? 'an object' : type === 'undefined' ? 'undefined' : `a ${type}`
}

/**
 * The raw body as bytes: a Uint8Array as is, other views and ArrayBuffers as a view of the
 * same memory (no copy), strings as their UTF-8. `limit`: a string longer than `limit`
 * UTF-16 units is also longer than `limit` bytes, so only a prefix is encoded (the core still
 * sees more than `limit` bytes and answers `payload_too_large`).
 */
function bodyBytes(value, limit) {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string') {
    return encoder.encode(limit !== undefined && value.length > limit ? value.slice(0, limit + 1) : value)
  }
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) {
    return new Uint8Array(value)
  }
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  if (value === undefined || value === null) throw fail(ERR_INVALID_BODY, `rawBody is missing: ${BODY_HINT}`)
  throw fail(ERR_INVALID_BODY, `rawBody is ${describe(value)}: ${BODY_HINT}`)
}

/** A header value: absent, a string, or (duplicated headers) an array joined with ", ". */
function headerText(name, value) {
  if (typeof value === 'string') return value
  if (value === undefined || value === null) return ''
  if (Array.isArray(value) && value.every((part) => typeof part === 'string')) return value.join(', ')
  throw fail(ERR_INVALID_ARGUMENT, `${name} must be a string`)
}

/** A whole, non-negative number of seconds or bytes; `undefined`/`null` take the default. */
function whole(name, value, fallback) {
  if (value === undefined || value === null) return fallback
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw fail(ERR_INVALID_ARGUMENT, `${name} must be a non-negative number`)
  }
  return Math.floor(value)
}

/** `now` in Unix seconds: absent means the clock (`Date.now() / 1000`); a number or a Date. */
function nowSeconds(value) {
  if (value === undefined || value === null) return Math.floor(Date.now() / 1000)
  if (typeof value === 'number') return whole('now', value, 0)
  if (value instanceof Date) {
    const millis = value.getTime()
    if (Number.isFinite(millis) && millis >= 0) return Math.floor(millis / 1000)
  }
  throw fail(ERR_INVALID_ARGUMENT, 'now must be Unix seconds (a number) or a Date')
}

/** A secret: a string (its UTF-8 bytes are the key, exactly as given), or absent. */
function secretText(name, value) {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  throw fail(ERR_INVALID_ARGUMENT, `${name} must be a string`)
}

function objectArgument(name, value) {
  if (value === null || typeof value !== 'object') throw fail(ERR_INVALID_ARGUMENT, `${name} must be an object`)
  return value
}

// ---------------------------------------------------------------------------------------------
// Results.
// ---------------------------------------------------------------------------------------------

function resultObject(index, message) {
  const ok = CODES[index] === 'ok'
  const result = { ok, status: STATUSES[index], code: CODES[index], message }
  if (ok) result.usedPreviousSecret = index === OK_BY_PREVIOUS
  return result
}

/**
 * The result object for a replay verdict reached outside the core (e.g. by an asynchronous
 * store): `"duplicate_delivery"`, `"replayed_signature"` or `"consumer_overloaded"`.
 */
export function replayResult(code) {
  checkReady()
  const index = CODES.indexOf(code)
  if (code !== 'duplicate_delivery' && code !== 'replayed_signature' && code !== 'consumer_overloaded') {
    throw fail(ERR_INVALID_ARGUMENT, 'code must be duplicate_delivery, replayed_signature or consumer_overloaded')
  }
  return resultObject(index, wasm.outcomeMessage(index, DEFAULTS.tolerance, DEFAULTS.maxBody))
}

// ---------------------------------------------------------------------------------------------
// The one-shot drop-in.
// ---------------------------------------------------------------------------------------------

function duplicateCallback(value) {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'function') throw fail(ERR_INVALID_ARGUMENT, 'isDuplicateDelivery must be a function')
  return (deliveryId) => {
    const answer = value(deliveryId)
    if (answer !== null && (typeof answer === 'object' || typeof answer === 'function') && typeof answer.then === 'function') {
      throw fail(
        ERR_ASYNC_CALLBACK,
        'isDuplicateDelivery must return a boolean synchronously; for an asynchronous store, ' +
          'verify first and de-duplicate afterwards',
      )
    }
    return Boolean(answer)
  }
}

/**
 * Verifies one delivery: a drop-in for the original TypeScript `verifyWebhookSignature`.
 * Same input fields and result shape `{ ok, status, code, message, usedPreviousSecret? }`;
 * `isDuplicateDelivery(deliveryId)` is consulted only after the signature matched.
 * Prefer a reusable `Verifier` on hot paths: it keys the HMAC once.
 */
export function verifyWebhookSignature(input) {
  checkReady()
  objectArgument('input', input)
  const secret = headerText('secret', input.secret)
  const previous = headerText('secretPrevious', input.secretPrevious)
  const rotatedAt = whole('previousSecretRotatedAt', input.previousSecretRotatedAt, -1)
  const grace = whole('graceWindowSeconds', input.graceWindowSeconds, DEFAULTS.grace)
  const tolerance = whole('toleranceSeconds', input.toleranceSeconds, DEFAULTS.tolerance)
  const maxBody = whole('maxBodyBytes', input.maxBodyBytes, DEFAULTS.maxBody)
  const deliveryId = headerText('deliveryId', input.deliveryId)
  const timestamp = headerText('timestamp', input.timestamp)
  const signature = headerText('signature', input.signature)
  const body = bodyBytes(input.rawBody, maxBody)
  const now = nowSeconds(input.now)
  const callback = duplicateCallback(input.isDuplicateDelivery)
  const index = wasm.verifyOnce(secret, previous, rotatedAt, grace, tolerance, maxBody, deliveryId, timestamp, signature, body, now, callback)
  const message = wasm.outcomeMessage(index, tolerance, maxBody)
  return resultObject(index, message)
}

// ---------------------------------------------------------------------------------------------
// The reusable verifier.
// ---------------------------------------------------------------------------------------------

/** Reads a header from a Fetch `Headers` (or anything with `get`) or a plain object. */
function readHeaders(headers) {
  if (headers === null || typeof headers !== 'object') {
    throw fail(ERR_INVALID_ARGUMENT, 'headers must be a Headers object or a plain object')
  }
  if (typeof headers.get === 'function') {
    return [
      headerText(HEADERS.deliveryId, headers.get(HEADERS.deliveryId)),
      headerText(HEADERS.timestamp, headers.get(HEADERS.timestamp)),
      headerText(HEADERS.signature, headers.get(HEADERS.signature)),
    ]
  }
  return [
    headerText(HEADERS.deliveryId, headers[HEADERS.deliveryId]),
    headerText(HEADERS.timestamp, headers[HEADERS.timestamp]),
    headerText(HEADERS.signature, headers[HEADERS.signature]),
  ]
}

function replaySettings(replay) {
  if (replay === undefined || replay === true) return [DEFAULTS.capacity, DEFAULTS.retention]
  if (replay === false || replay === null) return [-1, -1]
  if (typeof replay === 'object') {
    return [
      whole('replay.capacity', replay.capacity, DEFAULTS.capacity),
      whole('replay.deliveryRetentionSeconds', replay.deliveryRetentionSeconds, DEFAULTS.retention),
    ]
  }
  throw fail(ERR_INVALID_ARGUMENT, 'replay must be false or { capacity, deliveryRetentionSeconds }')
}

/**
 * Verifies Fluxora deliveries with a key prepared once: the fast path.
 *
 * Options: `secret`, `previousSecret`, `previousSecretRotatedAt`, `graceWindowSeconds`,
 * `toleranceSeconds`, `maxBodyBytes`, and `replay`: an in-memory replay store by default
 * (bounded and TTL-aware; `{ capacity, deliveryRetentionSeconds }` to size it), or `false`.
 */
export class Verifier {
  #native
  #results
  #maxBody

  constructor(options) {
    checkReady()
    objectArgument('options', options)
    const secret = secretText('secret', options.secret)
    const previous = secretText('previousSecret', options.previousSecret)
    const rotatedAt = whole('previousSecretRotatedAt', options.previousSecretRotatedAt, -1)
    const grace = whole('graceWindowSeconds', options.graceWindowSeconds, DEFAULTS.grace)
    const tolerance = whole('toleranceSeconds', options.toleranceSeconds, DEFAULTS.tolerance)
    const maxBody = whole('maxBodyBytes', options.maxBodyBytes, DEFAULTS.maxBody)
    const [capacity, retention] = replaySettings(options.replay)
    this.#native = new wasm.NativeVerifier(secret, previous, rotatedAt, grace, tolerance, maxBody, capacity, retention)
    this.#results = new Array(CODES.length)
    this.#maxBody = maxBody
    // The glue frees the module memory when the native object is garbage-collected.
  }

  /** The frozen result object for an outcome index, built once per verifier. */
  #answer(index) {
    let result = this.#results[index]
    if (result === undefined) {
      result = Object.freeze(resultObject(index, this.#native.message(index)))
      this.#results[index] = result
    }
    return result
  }

  #live() {
    if (this.#native === undefined) throw fail(ERR_INVALID_ARGUMENT, 'this Verifier was freed', Error)
    return this.#native
  }

  #run(deliveryId, timestamp, signature, rawBody, now) {
    const native = this.#live()
    const body = bodyBytes(rawBody, this.#maxBody)
    return this.#answer(native.verify(deliveryId, timestamp, signature, body, nowSeconds(now)))
  }

  /**
   * Verifies one delivery from its request headers (a Fetch `Headers` object, or a plain
   * object with the lowercase `x-fluxora-*` keys) and raw body, at `now` (Unix seconds or a
   * `Date`; default: the clock). Returns a frozen result, the same object for the same outcome.
   */
  verifyHeaders(headers, rawBody, now) {
    const [deliveryId, timestamp, signature] = readHeaders(headers)
    return this.#run(deliveryId, timestamp, signature, rawBody, now)
  }

  /** Verifies one delivery given as fields: `{ deliveryId, timestamp, signature, rawBody, now? }`. */
  verify(delivery) {
    objectArgument('delivery', delivery)
    return this.#run(
      headerText('deliveryId', delivery.deliveryId),
      headerText('timestamp', delivery.timestamp),
      headerText('signature', delivery.signature),
      delivery.rawBody,
      delivery.now,
    )
  }

  /** The configured freshness window in seconds. */
  get toleranceSeconds() {
    return this.#live().toleranceSeconds
  }

  /** The configured body limit in bytes. */
  get maxBodyBytes() {
    return this.#live().maxBodyBytes
  }

  /** The configured grace window of the previous secret in seconds. */
  get graceWindowSeconds() {
    return this.#live().graceWindowSeconds
  }

  /** Deliveries the in-memory replay store holds at `now` (0 without a store). */
  replayEntries(now) {
    return this.#live().replayEntries(nowSeconds(now))
  }

  /** The in-memory replay store's configuration, or `null` without one. */
  get replay() {
    const native = this.#live()
    const capacity = native.replayCapacity
    if (capacity < 0) return null
    return { capacity, deliveryRetentionSeconds: native.deliveryRetentionSeconds }
  }

  /** Releases the module memory now (otherwise done when the verifier is garbage-collected). */
  free() {
    if (this.#native !== undefined) {
      this.#native.free()
      this.#native = undefined
    }
  }

  /** A description without secrets. */
  toString() {
    return this.#native === undefined ? 'Verifier { freed }' : this.#native.describe()
  }

  /** `JSON.stringify(verifier)` shows the configuration, never a secret. */
  toJSON() {
    return this.toString()
  }
}

// ---------------------------------------------------------------------------------------------
// Signing.
// ---------------------------------------------------------------------------------------------


function timestampText(value) {
  if (value === undefined || value === null) return String(Math.floor(Date.now() / 1000))
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(whole('timestamp', value, 0))
  throw fail(ERR_INVALID_ARGUMENT, 'timestamp must be a string or a number of Unix seconds')
}

/** Computes the `x-fluxora-signature` value: lowercase hex HMAC-SHA256(secret, `timestamp.rawBody`). */
export function computeWebhookSignature(secret, timestamp, rawBody) {
  checkReady()
  const key = secretText('secret', secret)
  const text = timestampText(timestamp)
  return wasm.sign(key, text, bodyBytes(rawBody))
}

/** The exact bytes that are signed: the timestamp, one `.`, then the raw body (a Uint8Array). */
export function buildWebhookSigningPayload(timestamp, rawBody) {
  const prefix = encoder.encode(`${timestampText(timestamp)}.`)
  const body = bodyBytes(rawBody)
  const payload = new Uint8Array(prefix.length + body.length)
  payload.set(prefix, 0)
  payload.set(body, prefix.length)
  return payload
}

let deliveryCounter = 0

function freshDeliveryId() {
  deliveryCounter = (deliveryCounter + 1) % 0x10000
  return `dlv_${Date.now().toString(16)}${deliveryCounter.toString(16).padStart(4, '0')}`
}

/**
 * Signs a delivery and returns its complete header set (for tests and senders):
 * `x-fluxora-delivery-id`, `x-fluxora-timestamp`, `x-fluxora-signature` and, when given,
 * `x-fluxora-event`.
 */
export function signDelivery(secret, rawBody, options) {
  checkReady()
  const { deliveryId, event, timestamp } = options === undefined || options === null ? {} : objectArgument('options', options)
  if (deliveryId !== undefined && deliveryId !== null && typeof deliveryId !== 'string') {
    throw fail(ERR_INVALID_ARGUMENT, 'deliveryId must be a string')
  }
  if (event !== undefined && event !== null && typeof event !== 'string') throw fail(ERR_INVALID_ARGUMENT, 'event must be a string')
  const key = secretText('secret', secret)
  const text = timestampText(timestamp)
  const signature = wasm.sign(key, text, bodyBytes(rawBody))
  const headers = {
    [HEADERS.deliveryId]: deliveryId ?? freshDeliveryId(),
    [HEADERS.timestamp]: text,
    [HEADERS.signature]: signature,
  }
  if (event !== undefined && event !== null) headers[HEADERS.event] = event
  return headers
}

// ---------------------------------------------------------------------------------------------
// Decimals.
// ---------------------------------------------------------------------------------------------

const DECIMAL_EMPTY_VALUE = 0 // DecimalError::ALL order: EmptyValue, InvalidType, ...
const DECIMAL_INVALID_TYPE = 1

function decimalFailure(index) {
  const { code, message } = DECIMAL_ERRORS[index]
  return fail(code, message, Error)
}

/**
 * Validates a decimal string as it crosses the API: `{ valid: true, value }` with the
 * normalized value, or `{ valid: false, code, message, field }` with a `DECIMAL_*` code.
 */
export function validateDecimalString(value, field, options) {
  checkReady()
  const amount = Boolean(options && options.amount)
  let index
  if (value === undefined || value === null) index = DECIMAL_EMPTY_VALUE
  else if (typeof value !== 'string') index = DECIMAL_INVALID_TYPE
  else {
    const normalized = wasm.normalizeDecimal(value, amount)
    if (normalized !== '') return { valid: true, value: normalized }
    index = wasm.decimalError(value, amount)
  }
  const { code, message } = DECIMAL_ERRORS[index]
  return { valid: false, code, message, field: typeof field === 'string' ? field : 'value' }
}

/**
 * Converts an amount string to stroops (1 unit = 10^7 stroops): `"1.5"` is `15000000n`.
 * Throws an `Error` whose `code` is the `DECIMAL_*` code for an invalid amount.
 */
export function parseToStroops(value) {
  checkReady()
  if (value === undefined || value === null) throw decimalFailure(DECIMAL_EMPTY_VALUE)
  if (typeof value !== 'string') throw decimalFailure(DECIMAL_INVALID_TYPE)
  try {
    return wasm.toStroops(value)
  } catch (index) {
    if (typeof index === 'number') throw decimalFailure(index)
    throw index
  }
}

const I128_MIN = -(2n ** 127n)
const I128_MAX = 2n ** 127n - 1n

/** Formats stroops as a normalized amount string: `15000000n` is `"1.5"`. */
export function formatFromStroops(stroops) {
  checkReady()
  if (typeof stroops !== 'bigint') throw fail(ERR_INVALID_ARGUMENT, 'stroops must be a bigint')
  if (stroops < I128_MIN || stroops > I128_MAX) {
    throw fail(ERR_INVALID_ARGUMENT, 'stroops must fit in a signed 128-bit integer')
  }
  return wasm.formatStroops(stroops)
}

// ---------------------------------------------------------------------------------------------
// Fetch-API handlers (Cloudflare Workers, Deno, Bun, Vercel Edge, service workers).
// ---------------------------------------------------------------------------------------------

const built = new WeakMap()

/** A ready `Verifier`, `{ verifier }`, or options (one Verifier, and replay store, per options object). */
function verifierFor(options) {
  if (options instanceof Verifier) return options
  if (options && options.verifier instanceof Verifier) return options.verifier
  if (!options || typeof options !== 'object') throw fail(ERR_INVALID_ARGUMENT, 'pass a Verifier or Verifier options ({ secret, ... })')
  let verifier = built.get(options)
  if (!verifier) {
    verifier = new Verifier(options)
    built.set(options, verifier)
  }
  return verifier
}

const decoder = new TextDecoder('utf-8', { fatal: true })

function parsePayload(rawBody) {
  if (rawBody.length === 0) return undefined
  try {
    return JSON.parse(decoder.decode(rawBody))
  } catch {
    return undefined
  }
}

/**
 * Verifies a Fetch-API `Request`: reads `request.arrayBuffer()` once, then verifies. Resolves
 * to the result plus, when ok, `delivery: { id, event, payload, rawBody }`, and when not,
 * `response`: a ready JSON `Response` with the outcome's status and `{ error: code, message }`.
 */
export async function verifyRequest(request, options) {
  checkReady()
  const verifier = verifierFor(options)
  if (!request || typeof request.arrayBuffer !== 'function' || !request.headers) {
    throw fail(ERR_INVALID_ARGUMENT, 'request must be a Fetch API Request')
  }
  const rawBody = new Uint8Array(await request.arrayBuffer())
  const now = options && typeof options.now === 'function' ? options.now() : undefined
  const result = verifier.verifyHeaders(request.headers, rawBody, now)
  if (!result.ok) {
    const response = new Response(JSON.stringify({ error: result.code, message: result.message }), {
      status: result.status,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
    return { ...result, response }
  }
  const delivery = {
    id: request.headers.get(HEADERS.deliveryId) ?? undefined,
    event: request.headers.get(HEADERS.event) ?? undefined,
    payload: parsePayload(rawBody),
    rawBody,
  }
  return { ...result, delivery }
}
