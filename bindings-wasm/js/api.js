// @fluxora/webhooks-wasm: the public API over the wasm-bindgen glue.
//
// Everything that decides an answer (header lookup, settings, verification, signing,
// decimals, every error) is in the Rust module; this file instantiates it, makes sure nothing
// is called before that, and adds the Fetch-API helper. No Node built-ins: it runs in
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

function coded(error, code) {
  error.code = code
  return error
}

function checkReady() {
  if (!ready) {
    throw coded(
      new Error('the WebAssembly module is not initialized: call init() or initSync() from "@fluxora/webhooks-wasm/slim" first, or import "@fluxora/webhooks-wasm"'),
      'ERR_FLUXORA_NOT_INITIALIZED',
    )
  }
}

/** Every outcome code as a constant, e.g. `OutcomeCode.SIGNATURE_MISMATCH === 'signature_mismatch'`. */
export const OutcomeCode = {}
/** Every outcome with its status and message under the default configuration, in check order. */
export const OUTCOMES = []
/** The wire contract's header names. */
export const HEADERS = {}

function setUp() {
  for (const info of wasm.outcomeCodes()) {
    OUTCOMES.push(Object.freeze(info))
    OutcomeCode[info.code.toUpperCase()] = info.code
  }
  Object.freeze(OUTCOMES)
  Object.freeze(OutcomeCode)
  Object.assign(HEADERS, wasm.headerNames())
  Object.freeze(HEADERS)
  ready = true
}

const whenReady = (fn) => (...args) => {
  checkReady()
  return fn(...args)
}

/** Every outcome code, in the order the checks run (`ok` first), from the core. */
export const outcomeCodes = whenReady(() => OUTCOMES.map((info) => ({ ...info })))
/** The header names of the wire contract, from the core. */
export const headerNames = whenReady(() => ({ ...HEADERS }))
/** The contract headers of a request, as the one lookup finds them. */
export const readHeaders = whenReady(wasm.readHeaders)
/** Verifies one delivery: a drop-in for the original TypeScript `verifyWebhookSignature`. */
export const verifyWebhookSignature = whenReady(wasm.verifyWebhookSignature)
/** Computes the `x-fluxora-signature` value: lowercase hex HMAC-SHA256(secret, `timestamp.rawBody`). */
export const computeWebhookSignature = whenReady(wasm.computeWebhookSignature)
/** The exact bytes that are signed: the timestamp, one `.`, then the raw body (a Uint8Array). */
export const buildWebhookSigningPayload = whenReady(wasm.buildWebhookSigningPayload)
/** Signs a delivery and returns its complete header set (for tests and senders). */
export const signDelivery = whenReady(wasm.signDelivery)
/** Validates a decimal string as it crosses the API. */
export const validateDecimalString = whenReady(wasm.validateDecimalString)
/** Converts an amount string to stroops (1 unit = 10^7 stroops). */
export const parseToStroops = whenReady(wasm.parseToStroops)
/** Formats stroops as a normalized amount string. */
export const formatFromStroops = whenReady(wasm.formatFromStroops)
/**
 * Whether a handler's response status settles a reservation as handled (commit: under 500)
 * rather than releasing it for the sender's retry: the rule every helper applies, from the core.
 */
export const commitsOn = whenReady(wasm.commitsOn)
/** A reserved delivery (from `Verifier.reserve`): `commit(now?)` once handled, `release(now?)` otherwise. */
export const Reservation = wasm.Reservation

/**
 * Verifies Fluxora deliveries with a key prepared once: the fast path (see the Rust
 * `Verifier`). `free()` releases the module memory now (otherwise done when the verifier is
 * garbage-collected); a freed verifier throws a coded error.
 */
export class Verifier extends wasm.Verifier {
  constructor(options) {
    checkReady()
    super(options)
  }

  free() {
    if (this.__wbg_ptr !== 0) super.free()
  }

  toString() {
    return this.__wbg_ptr === 0 ? 'Verifier { freed }' : super.toString()
  }

  toJSON() {
    return this.toString()
  }
}
for (const name of ['verifyHeaders', 'verify', 'reserve', 'replayEntries']) {
  const method = wasm.Verifier.prototype[name]
  Object.defineProperty(Verifier.prototype, name, {
    value: function guarded(...args) {
      if (this.__wbg_ptr === 0) throw coded(new Error('this Verifier was freed'), 'ERR_FLUXORA_INVALID_ARGUMENT')
      return method.apply(this, args)
    },
    writable: true,
    configurable: true,
  })
}

// ---------------------------------------------------------------------------------------------
// Fetch-API handlers (Cloudflare Workers, Deno, Bun, Vercel Edge, service workers).
// ---------------------------------------------------------------------------------------------

const built = new WeakMap()

/** A ready `Verifier`, `{ verifier }`, or options (one Verifier per options object). */
function verifierFor(options) {
  if (options instanceof Verifier) return options
  if (options && options.verifier instanceof Verifier) return options.verifier
  if (!options || typeof options !== 'object') {
    throw coded(new TypeError('pass a Verifier or Verifier options ({ secret, ... })'), 'ERR_FLUXORA_INVALID_ARGUMENT')
  }
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

function checkRequest(request) {
  if (!request || typeof request.arrayBuffer !== 'function' || !request.headers) {
    throw coded(new TypeError('request must be a Fetch API Request'), 'ERR_FLUXORA_INVALID_ARGUMENT')
  }
  if (request.bodyUsed) {
    throw coded(
      new Error('The Request body was already read, so its raw bytes are gone and the signature cannot be checked: call verifyRequest before request.json() / request.text(), or pass request.clone().'),
      'ERR_FLUXORA_BODY_CONSUMED',
    )
  }
}

function failureResponse(result) {
  return new Response(JSON.stringify({ error: result.code, message: result.message }), {
    status: result.status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  })
}

function deliveryOf(headers, rawBody) {
  const found = wasm.readHeaders(headers)
  return { id: found.deliveryId, event: found.event, payload: parsePayload(rawBody), rawBody }
}

/**
 * Verifies a Fetch-API `Request` in one step (the delivery is recorded at once): reads
 * `request.arrayBuffer()` once, then verifies. Resolves to the result plus, when ok,
 * `delivery: { id, event, payload, rawBody }`, and when not, `response`: a ready JSON
 * `Response` with the outcome's status and `{ error: code, message }`. Prefer `fetchWebhook`
 * when the handling can fail: it records the delivery only once handled.
 */
export async function verifyRequest(request, options) {
  checkReady()
  const verifier = verifierFor(options)
  checkRequest(request)
  const rawBody = new Uint8Array(await request.arrayBuffer())
  const now = options && typeof options.now === 'function' ? options.now() : undefined
  const result = verifier.verifyHeaders(request.headers, rawBody, now)
  if (!result.ok) return { ...result, response: failureResponse(result) }
  return { ...result, delivery: deliveryOf(request.headers, rawBody) }
}

/**
 * A Fetch-API handler (Workers, Deno, Bun, Vercel Edge, Next.js route handlers) that verifies
 * the delivery, then runs `handler(delivery, request)` and answers its `Response`. The
 * delivery is reserved while the handler runs: a response under 500 commits it (later
 * attempts answer 409 `duplicate_delivery`); a 5xx response or a thrown error releases it, so
 * the sender's retry runs the handler again.
 */
export function fetchWebhook(options, handler) {
  checkReady()
  if (typeof handler !== 'function') {
    throw coded(new TypeError('fetchWebhook(options, handler): handler must be a function'), 'ERR_FLUXORA_INVALID_ARGUMENT')
  }
  const verifier = verifierFor(options)
  return async function fluxoraWebhook(request, ...rest) {
    checkRequest(request)
    const rawBody = new Uint8Array(await request.arrayBuffer())
    const now = options && typeof options.now === 'function' ? options.now() : undefined
    const reservation = verifier.reserve(request.headers, rawBody, now)
    if (!reservation.ok) return failureResponse(reservation.result)
    const delivery = { ...deliveryOf(request.headers, rawBody), usedPreviousSecret: reservation.result.usedPreviousSecret === true }
    // Settled on the same clock that reserved it.
    const at = () => (options && typeof options.now === 'function' ? options.now() : undefined)
    let response
    try {
      response = await handler(delivery, request, ...rest)
    } catch (error) {
      reservation.release(at())
      throw error
    }
    if (response instanceof Response && wasm.commitsOn(response.status)) reservation.commit(at())
    else reservation.release(at())
    return response
  }
}
