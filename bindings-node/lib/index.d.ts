// Types of the package entry: the API shared with @fluxora/webhooks-wasm (./common.d.ts,
// copied from js-types/common.d.ts by the build) plus the Node-only helpers.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HeaderInput, RawBody, VerificationResult, Verifier, VerifierOptions } from './common'

export * from './common'

declare module './common' {
  interface Verifier {
    /**
     * Every check up to the replay step, for an asynchronous replay store: `result` is set
     * when the delivery failed before it; otherwise the `Checked` concludes with the store's answer.
     */
    check(headers: HeaderInput, rawBody: RawBody, now?: number | Date): Checked
  }
}

/** The arguments of one `EVAL` of the Redis replay script. */
export interface RedisEval {
  keys: string[]
  args: string[]
}

/** A delivery checked up to the replay step (from `Verifier.check`). */
export declare class Checked {
  private constructor()
  /** The result when the delivery failed before the replay step, otherwise `null`. */
  readonly result: VerificationResult | null
  readonly deliveryId: string | null
  readonly signature: string | null
  readonly timestamp: number | null
  /** The `EVAL` arguments of `redisScript()` for this delivery. */
  redisEval(prefix: string, deliveryRetentionSeconds: number): RedisEval
  /** The result for the Redis script's reply. */
  concludeRedis(reply: number): VerificationResult
  /** The result for a store's answer given as an outcome code (`"ok"`, `"duplicate_delivery"`, ...). */
  conclude(code: string): VerificationResult
}

/** The Redis replay script shared with the Python package. */
export declare function redisScript(): string

/** What `RedisReplayStore.reserve` resolves to: `Reservation`'s shape, settled asynchronously. */
export interface AsyncReservation {
  readonly ok: boolean
  readonly result: VerificationResult
  readonly deliveryId: string | undefined
  commit(now?: number | Date): Promise<boolean>
  release(): Promise<boolean>
}

/** A replay store that checks and records asynchronously (e.g. `RedisReplayStore`). */
export interface AsyncReplayStore {
  reserve(verifier: Verifier, headers: HeaderInput, rawBody: RawBody, now?: number | Date): Promise<AsyncReservation>
  verifyHeaders(
    verifier: Verifier,
    headers: HeaderInput,
    rawBody: RawBody,
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

/**
 * A Fetch-API handler (Next.js route handlers, Hono, Bun, Deno) that verifies the delivery,
 * runs `handler` and answers its `Response`; the delivery is committed when the response is
 * under 500, released when the handler threw or answered 5xx (so the sender's retry runs it again).
 */
export declare function fetchWebhook(
  options: WebhookOptions,
  handler: (delivery: VerifiedDelivery, request: Request) => Response | Promise<Response>,
): (request: Request) => Promise<Response>

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
  /** Two-phase replay in Redis: verifies, then reserves for the verifier's `reservationLeaseSeconds`. */
  reserve(verifier: Verifier, headers: HeaderInput, rawBody: RawBody, now?: number | Date): Promise<AsyncReservation>
  verifyHeaders(
    verifier: Verifier,
    headers: HeaderInput,
    rawBody: RawBody,
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

/** The exact bytes that are signed, as a Buffer: the timestamp, one `.`, then the raw body. */
export declare function buildWebhookSigningPayload(timestamp: string | number, rawBody: RawBody): Buffer

/**
 * Which build of the Rust core answers: `'native'` (this platform's addon) or `'wasm'` (the
 * WebAssembly fallback, taken with a one-time `FLUXORA_WASM_FALLBACK` warning when no addon
 * loads, or when `FLUXORA_WEBHOOKS_FORCE_WASM=1` is set). Both give the same answers.
 */
export declare const implementation: 'native' | 'wasm'
