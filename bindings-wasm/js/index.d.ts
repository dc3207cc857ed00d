// Types of @fluxora/webhooks-wasm (every entry point: ".", "./slim", and the workerd/edge build).
// The same API as @fluxora/webhooks (Node), synchronous, minus the Node-only helpers.

/** A raw body, exactly as received (strings are signed as their UTF-8). */
export type RawBody = Uint8Array | ArrayBuffer | ArrayBufferView | string

/** An outcome code string (the values are checked against the core by the tests). */
export type OutcomeCodeValue =
  | 'ok'
  | 'missing_secret'
  | 'missing_delivery_id'
  | 'missing_timestamp'
  | 'missing_signature'
  | 'payload_too_large'
  | 'invalid_timestamp'
  | 'timestamp_outside_tolerance'
  | 'previous_secret_expired'
  | 'signature_mismatch'
  | 'duplicate_delivery'
  | 'replayed_signature'
  | 'consumer_overloaded'

/** The result of a verification, with the same field names as the original TypeScript helper. */
export interface VerificationResult {
  /** True only when every check passed. */
  ok: boolean
  /** The HTTP status to answer with (200 when ok). */
  status: number
  /** The stable outcome code, e.g. `"ok"` or `"signature_mismatch"`. */
  code: OutcomeCodeValue
  /** The contract's human-readable message. */
  message: string
  /** Present when ok: true when only the previous (rotated-out) secret matched. */
  usedPreviousSecret?: boolean
}

/** One outcome code with its HTTP status and its message under the default configuration. */
export interface OutcomeInfo {
  code: OutcomeCodeValue
  status: number
  message: string
}

/** The header names of the wire contract. */
export interface HeaderNames {
  /** `x-fluxora-delivery-id` */
  deliveryId: string
  /** `x-fluxora-timestamp` */
  timestamp: string
  /** `x-fluxora-signature` */
  signature: string
  /** `x-fluxora-event` (not signed) */
  event: string
}

/** Every outcome code as a constant, e.g. `OutcomeCode.SIGNATURE_MISMATCH`. */
export declare const OutcomeCode: Readonly<{ [K in OutcomeCodeValue as Uppercase<K>]: K }>
/** Every outcome with its status and default message, in check order. */
export declare const OUTCOMES: ReadonlyArray<Readonly<OutcomeInfo>>
/** The wire contract's header names. */
export declare const HEADERS: Readonly<HeaderNames>

/** Every outcome code, in the order the checks run (`ok` first), from the core. */
export declare function outcomeCodes(): OutcomeInfo[]
/** The header names of the wire contract, from the core. */
export declare function headerNames(): HeaderNames
/** The result object for a replay verdict reached outside the core (an asynchronous store). */
export declare function replayResult(
  code: 'duplicate_delivery' | 'replayed_signature' | 'consumer_overloaded',
): VerificationResult

/** Input of `verifyWebhookSignature`, with the original TypeScript helper's field names. */
export interface VerifyWebhookSignatureInput {
  /** The current secret; missing or empty answers `missing_secret` (500). */
  secret?: string | null
  /** The previous secret, accepted during rotation. */
  secretPrevious?: string | null
  /** When the previous secret was rotated out (Unix seconds); without it, it never expires. */
  previousSecretRotatedAt?: number
  /** How long the previous secret stays valid after `previousSecretRotatedAt` (default 86400). */
  graceWindowSeconds?: number
  /** The `x-fluxora-delivery-id` header. */
  deliveryId?: string | null
  /** The `x-fluxora-timestamp` header, as received. */
  timestamp?: string | null
  /** The `x-fluxora-signature` header, as received. */
  signature?: string | null
  /** The raw request body, exactly as received. */
  rawBody: RawBody
  /** The freshness window either side of `now` (default 300, boundary inclusive). */
  toleranceSeconds?: number
  /** The verification time: Unix seconds or a `Date` (default: `Date.now() / 1000`). */
  now?: number | Date
  /** The largest accepted body in bytes (default 262144, boundary inclusive). */
  maxBodyBytes?: number
  /** Asked only after the signature matched: true answers `duplicate_delivery` (409). Must not return a promise. */
  isDuplicateDelivery?: (deliveryId: string) => boolean
}

/**
 * Verifies one delivery: a drop-in for the original TypeScript `verifyWebhookSignature`.
 * Prefer a reusable `Verifier` on hot paths: it keys the HMAC once.
 */
export declare function verifyWebhookSignature(input: VerifyWebhookSignatureInput): VerificationResult

/** Options of the in-memory replay store. */
export interface MemoryReplayOptions {
  /** How many deliveries are remembered at once (default 100000); when full: `consumer_overloaded` (429). */
  capacity?: number
  /** How long an accepted delivery id is remembered, in seconds (default 86400). */
  deliveryRetentionSeconds?: number
}

/** Options of a `Verifier`. */
export interface VerifierOptions {
  /** The current secret (its UTF-8 bytes are the HMAC key, exactly as given). */
  secret?: string
  /** The previous secret, accepted during rotation. */
  previousSecret?: string
  /** When the previous secret was rotated out (Unix seconds); without it, it never expires. */
  previousSecretRotatedAt?: number
  /** How long the previous secret stays valid after `previousSecretRotatedAt` (default 86400). */
  graceWindowSeconds?: number
  /** The freshness window either side of `now` (default 300, boundary inclusive). */
  toleranceSeconds?: number
  /** The largest accepted body in bytes (default 262144, boundary inclusive). */
  maxBodyBytes?: number
  /** The replay store: in-memory by default; `false` for none. */
  replay?: boolean | MemoryReplayOptions
}

/** One delivery as fields, for `Verifier.verify`. */
export interface DeliveryInput {
  deliveryId?: string | null
  timestamp?: string | null
  signature?: string | null
  rawBody: RawBody
  now?: number | Date
}

/** Request headers: a Fetch `Headers` object or a plain object with lowercase keys. */
export type HeadersLike =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>

/** Verifies Fluxora deliveries with a key prepared once: the fast path. */
export declare class Verifier {
  constructor(options: VerifierOptions)
  /** Verifies one delivery from its headers; returns a frozen result, the same object per outcome. */
  verifyHeaders(headers: HeadersLike, rawBody: RawBody, now?: number | Date): VerificationResult
  /** Verifies one delivery given as fields. */
  verify(delivery: DeliveryInput): VerificationResult
  readonly toleranceSeconds: number
  readonly maxBodyBytes: number
  readonly graceWindowSeconds: number
  /** Deliveries the in-memory replay store holds at `now` (0 without a store). */
  replayEntries(now?: number | Date): number
  /** The in-memory replay store's configuration, or `null` without one. */
  readonly replay: { capacity: number; deliveryRetentionSeconds: number } | null
  /** Releases the module memory now (otherwise done when the verifier is garbage-collected). */
  free(): void
  /** A description without secrets. */
  toString(): string
  toJSON(): string
}

/** Computes the `x-fluxora-signature` value: lowercase hex HMAC-SHA256(secret, `timestamp.rawBody`). */
export declare function computeWebhookSignature(secret: string, timestamp: string | number, rawBody: RawBody): string
/** The exact bytes that are signed: the timestamp, one `.`, then the raw body. */
export declare function buildWebhookSigningPayload(timestamp: string | number, rawBody: RawBody): Uint8Array

/** Options of `signDelivery`. */
export interface SignOptions {
  /** The delivery id (default: a fresh `dlv_...` id). */
  deliveryId?: string
  /** The event name, sent as `x-fluxora-event` (not signed). */
  event?: string
  /** The timestamp to sign (default: now). */
  timestamp?: string | number
}

/** Signs a delivery and returns its complete header set (for tests and senders). */
export declare function signDelivery(
  secret: string,
  rawBody: RawBody,
  options?: SignOptions,
): {
  'x-fluxora-delivery-id': string
  'x-fluxora-timestamp': string
  'x-fluxora-signature': string
  'x-fluxora-event'?: string
}

/** Options of `validateDecimalString`. */
export interface DecimalOptions {
  /** Also require Stellar precision (at most 7 fractional digits), as for amount fields. */
  amount?: boolean
}

/** Validates a decimal string as it crosses the API. */
export declare function validateDecimalString(
  value: unknown,
  field?: string,
  options?: DecimalOptions,
): { valid: true; value: string } | { valid: false; code: string; message: string; field: string }
/** Converts an amount string to stroops: `"1.5"` is `15000000n`; throws an Error with a `DECIMAL_*` code. */
export declare function parseToStroops(value: string): bigint
/** Formats stroops as a normalized amount string: `15000000n` is `"1.5"`. */
export declare function formatFromStroops(stroops: bigint): string

/** Options of `verifyRequest`: a Verifier, or its options plus a clock. */
export type WebhookOptions =
  | Verifier
  | (VerifierOptions & {
      /** Use this verifier instead of building one from the options. */
      verifier?: Verifier
      /** The clock, in Unix seconds (default: `Date.now() / 1000`). */
      now?: () => number
    })

/** A verified delivery. */
export interface VerifiedDelivery {
  id: string | undefined
  event: string | undefined
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  payload: unknown
  rawBody: Uint8Array
}

/** The result of `verifyRequest`. */
export type RequestVerification = VerificationResult &
  (
    | { ok: true; delivery: VerifiedDelivery; response?: undefined }
    | { ok: false; response: Response; delivery?: undefined }
  )

/** Verifies a Fetch-API `Request`, reading `request.arrayBuffer()` once. */
export declare function verifyRequest(request: Request, options: WebhookOptions): Promise<RequestVerification>

/** Instantiates the module synchronously (only needed with `@fluxora/webhooks-wasm/slim`). */
export declare function initSync(module: BufferSource | WebAssembly.Module): void
/** Instantiates the module asynchronously (only needed with `@fluxora/webhooks-wasm/slim`). */
export declare function init(
  moduleOrPath?: string | URL | Request | Response | Promise<Response> | BufferSource | WebAssembly.Module,
): Promise<void>
