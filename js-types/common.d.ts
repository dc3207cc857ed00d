// The API both npm packages share (@fluxora/webhooks and @fluxora/webhooks-wasm): one
// declaration, copied into each package by its build (bindings-node: lib/common.d.ts;
// bindings-wasm: pkg/common.d.ts). Each package's index.d.ts re-exports it and adds its own.

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
  | 'delivery_in_progress'

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
  /** The current secret (its UTF-8 bytes are the HMAC key, exactly as given). Required. */
  secret: string
  /** The previous secret, accepted during rotation. */
  previousSecret?: string | null
  /** When the previous secret was rotated out (Unix seconds); without it, it never expires. */
  previousSecretRotatedAt?: number | null
  /** How long the previous secret stays valid after `previousSecretRotatedAt` (default 86400). */
  graceWindowSeconds?: number
  /** The freshness window either side of `now` (default 300, boundary inclusive). */
  toleranceSeconds?: number
  /** The largest accepted body in bytes (default 262144, boundary inclusive). */
  maxBodyBytes?: number
  /** The replay store: in-memory by default; `false` for none. */
  replay?: boolean | null | MemoryReplayOptions
  /** How long `reserve` holds a delivery before it expires unsettled (default 60 s). */
  reservationLeaseSeconds?: number | null
}

/** One delivery as fields, for `Verifier.verify`. */
export interface DeliveryInput {
  deliveryId?: string | null
  timestamp?: string | null
  signature?: string | null
  rawBody: RawBody
  now?: number | Date
}

/**
 * A request's headers in any form: a plain object in any name case (`IncomingHttpHeaders`,
 * AWS Lambda's `event.headers`), a Fetch `Headers`, a `Map`, or an array of `[name, value]`
 * pairs. Names are case-insensitive; a repeated field is one value, joined with `", "`.
 */
export type HeaderInput =
  | Record<string, string | ReadonlyArray<string> | undefined | null>
  | Headers
  | ReadonlyMap<string, string | ReadonlyArray<string>>
  | ReadonlyArray<readonly [string, string | ReadonlyArray<string>]>

/** The contract headers of a request, as the one lookup finds them (`readHeaders`). */
export interface ContractHeaderValues {
  deliveryId?: string
  timestamp?: string
  signature?: string
  /** Not signed: route on the signed body. */
  event?: string
}

/** The contract headers of a request, as the one lookup finds them. */
export declare function readHeaders(headers: HeaderInput): ContractHeaderValues

/** What a setting rejected by the verifier throws (`RangeError` for numbers out of range, else `TypeError`). */
export interface InvalidSettingError extends Error {
  code: 'ERR_FLUXORA_INVALID_SETTING'
  /** The option, as spelled in JavaScript, e.g. `toleranceSeconds`. */
  field: string
  problem: 'missing' | 'wrong_type' | 'not_whole' | 'out_of_range' | 'invalid_text'
}

/** Verifies Fluxora deliveries with a key prepared once: the fast path. */
export declare class Verifier {
  constructor(options: VerifierOptions)
  /** Verifies one delivery from its headers; returns a frozen result, the same object per outcome. */
  verifyHeaders(headers: HeaderInput, rawBody: RawBody, now?: number | Date): VerificationResult
  /** Verifies one delivery given as fields. */
  verify(delivery: DeliveryInput): VerificationResult
  /**
   * Two-phase replay: verifies and, when it passed, reserves the delivery. Commit the
   * reservation once handled (2xx or 4xx), release it when the handler failed (threw or 5xx).
   */
  reserve(headers: HeaderInput, rawBody: RawBody, now?: number | Date): Reservation
  /** The configured reservation lease in seconds. */
  readonly reservationLeaseSeconds: number
  readonly toleranceSeconds: number
  readonly maxBodyBytes: number
  readonly graceWindowSeconds: number
  /** Deliveries the in-memory replay store holds at `now` (0 without a store). */
  replayEntries(now?: number | Date): number
  /** The in-memory replay store's configuration, or `null` without one. */
  readonly replay: { capacity: number; deliveryRetentionSeconds: number } | null
  /** A description without secrets. */
  toString(): string
}

/** A verified delivery held in the replay store until committed or released (`Verifier.reserve`). */
export declare class Reservation {
  private constructor()
  /** The verification's result; when not ok, nothing is held. */
  readonly result: VerificationResult
  readonly ok: boolean
  readonly deliveryId: string | undefined
  /** Handled: every later attempt is a 409 duplicate. False when nothing was held or the lease had run out. */
  commit(now?: number | Date): boolean
  /** Failed: the sender's retry is processed again. False when nothing was held or the lease had run out. */
  release(now?: number | Date): boolean
}

/** Computes the `x-fluxora-signature` value: lowercase hex HMAC-SHA256(secret, `timestamp.rawBody`). */
export declare function computeWebhookSignature(secret: string, timestamp: string | number, rawBody: RawBody): string
/** The exact bytes that are signed: the timestamp, one `.`, then the raw body. */
export declare function buildWebhookSigningPayload(timestamp: string | number, rawBody: RawBody): Uint8Array

/** Options of `signDelivery`. */
export interface SignOptions {
  /** The delivery id (default: a fresh `dlv_` id of 32 hex digits). */
  deliveryId?: string
  /** The event name, sent as `x-fluxora-event` (not signed). */
  event?: string
  /** The timestamp to sign (default: now). */
  timestamp?: string | number
}

/** A complete signed header set; the delivery id is `dlv_` and 32 hex digits unless given. */
export type SignedHeaders = {
  'x-fluxora-delivery-id': string
  'x-fluxora-timestamp': string
  'x-fluxora-signature': string
  'x-fluxora-event'?: string
}

/** Signs a delivery and returns its complete header set (for tests and senders). */
export declare function signDelivery(secret: string, rawBody: RawBody, options?: SignOptions): SignedHeaders

/** Options of `validateDecimalString`. */
export interface DecimalOptions {
  /** Also require Stellar precision (at most 7 fractional digits), as for amount fields. */
  amount?: boolean
}

/** The result of `validateDecimalString`. */
export type DecimalValidation =
  | { valid: true; value: string }
  | { valid: false; code: string; message: string; field: string }

/** Validates a decimal string as it crosses the API. */
export declare function validateDecimalString(
  value: unknown,
  field?: string,
  options?: DecimalOptions,
): DecimalValidation
/** Converts an amount string to stroops: `"1.5"` is `15000000n`; throws an Error with a `DECIMAL_*` code. */
export declare function parseToStroops(value: string): bigint
/** Formats stroops as a normalized amount string: `15000000n` is `"1.5"`. */
export declare function formatFromStroops(stroops: bigint): string
