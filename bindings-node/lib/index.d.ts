// Types of the package entry: the generated native declarations plus the JavaScript helpers.
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  Verifier,
  type VerificationResult,
  type VerifierOptions,
  type OutcomeInfo,
  type HeaderNames,
} from '../index'

export * from '../index'

/** An outcome code string (the values are checked against the native core by the tests). */
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

/** Every outcome code as a constant, e.g. `OutcomeCode.SIGNATURE_MISMATCH`. */
export declare const OutcomeCode: Readonly<{ [K in OutcomeCodeValue as Uppercase<K>]: K }>
/** Every outcome with its status and default message, in check order. */
export declare const OUTCOMES: ReadonlyArray<Readonly<OutcomeInfo>>
/** The wire contract's header names. */
export declare const HEADERS: Readonly<HeaderNames>

/** A replay store that checks and records asynchronously (e.g. `RedisReplayStore`). */
export interface AsyncReplayStore {
  verifyHeaders(
    verifier: Verifier,
    headers: Record<string, string | string[] | undefined>,
    rawBody: Buffer | Uint8Array | string,
    now?: number | Date,
  ): Promise<VerificationResult>
}

/** Options of the Express middleware and the Fetch helper. */
export type WebhookOptions =
  | Verifier
  | (VerifierOptions & {
      /** Use this verifier instead of building one from the options. */
      verifier?: Verifier
      /** An asynchronous replay store shared by several processes. */
      replayStore?: AsyncReplayStore
      /** The clock, in Unix seconds (default: the system clock). */
      now?: () => number
    })

/** A verified delivery, as handed to the next handler. */
export interface VerifiedDelivery {
  id: string
  event: string | undefined
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  payload: unknown
  rawBody: Buffer
  usedPreviousSecret: boolean
}

declare module 'node:http' {
  interface IncomingMessage {
    /** Set by `expressWebhook` for a verified delivery. */
    fluxora?: VerifiedDelivery
    /** The raw body, kept by `expressWebhook` or `captureRawBody`. */
    rawBody?: Buffer
  }
}

/** Route-scoped middleware that reads the raw body itself and verifies the delivery. */
export declare function expressWebhook(
  options: WebhookOptions,
): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void

/** For `express.json({ verify: captureRawBody })`: keeps the raw bytes as `req.rawBody`. */
export declare function captureRawBody(req: IncomingMessage, res: ServerResponse, buf: Buffer): void

/** The result of `verifyRequest`. */
export type RequestVerification = VerificationResult &
  (
    | { ok: true; delivery: Omit<VerifiedDelivery, 'usedPreviousSecret'>; response?: undefined }
    | { ok: false; response: Response; delivery?: undefined }
  )

/** Verifies a Fetch-API `Request` (Next.js route handlers, Hono, Bun, Deno). */
export declare function verifyRequest(request: Request, options: WebhookOptions): Promise<RequestVerification>

/** Minimal shape of an ioredis or node-redis client. */
export type RedisClientLike =
  | { call(...args: unknown[]): Promise<unknown>; evalsha(...args: unknown[]): unknown }
  | { sendCommand(args: string[]): Promise<unknown> }

/** Replay protection shared by several processes through Redis (one atomic Lua script). */
export declare class RedisReplayStore implements AsyncReplayStore {
  constructor(client: RedisClientLike, options?: { prefix?: string; deliveryRetentionSeconds?: number })
  readonly prefix: string
  readonly deliveryRetentionSeconds: number
  verifyHeaders(
    verifier: Verifier,
    headers: Record<string, string | string[] | undefined>,
    rawBody: Buffer | Uint8Array | string,
    now?: number | Date,
  ): Promise<VerificationResult>
  verify(
    verifier: Verifier,
    delivery: {
      deliveryId?: string | null
      timestamp?: string | null
      signature?: string | null
      rawBody: Buffer | Uint8Array | string
      now?: number | Date
    },
  ): Promise<VerificationResult>
}
