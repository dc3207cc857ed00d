// Types of @fluxora/webhooks-wasm (every entry point: ".", "./slim", and the workerd/edge build):
// the API shared with @fluxora/webhooks (./common.d.ts, from js-types/common.d.ts), plus what
// only this package has.
import type { VerificationResult, Verifier, VerifierOptions } from './common.js'

export * from './common.js'

declare module './common.js' {
  interface Verifier {
    /** Releases the module memory now (otherwise done when the verifier is garbage-collected). */
    free(): void
    /** The configuration, never a secret. */
    toJSON(): string
  }
}

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

/**
 * A Fetch-API handler that verifies the delivery, runs `handler` and answers its `Response`;
 * the delivery is committed when the response is under 500, released when the handler threw
 * or answered 5xx (so the sender's retry runs it again).
 */
export declare function fetchWebhook(
  options: WebhookOptions,
  handler: (delivery: VerifiedDelivery & { usedPreviousSecret: boolean }, request: Request) => Response | Promise<Response>,
): (request: Request) => Promise<Response>

/** Verifies a Fetch-API `Request`, reading `request.arrayBuffer()` once. */
export declare function verifyRequest(request: Request, options: WebhookOptions): Promise<RequestVerification>

/** Instantiates the module synchronously (only needed with `@fluxora/webhooks-wasm/slim`). */
export declare function initSync(module: BufferSource | WebAssembly.Module): void
/** Instantiates the module asynchronously (only needed with `@fluxora/webhooks-wasm/slim`). */
export declare function init(
  moduleOrPath?: string | URL | Request | Response | Promise<Response> | BufferSource | WebAssembly.Module,
): Promise<void>

/**
 * Whether a handler's response status settles a reservation as handled (commit: under 500)
 * rather than releasing it for the sender's retry: the rule every helper applies, from the core.
 */
export declare function commitsOn(status: number): boolean
