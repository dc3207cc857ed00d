// A Fluxora webhook receiver on NestJS (Express platform) that loses nothing when its handler fails.
//
// `NestFactory.create(AppModule, { rawBody: true })` keeps the exact bytes of every JSON body as
// `req.rawBody` (Nest's body parser still fills `req.body`). The interceptor verifies
// `req.rawBody` and *reserves* the delivery; it settles it once the handler is done, before Nest
// sends the answer: a status under 500 commits it (every later attempt is a 409
// `duplicate_delivery`), a thrown exception (whatever status Nest answers it with) or a 5xx
// status releases it (the sender's retry runs the handler again). A concurrent attempt
// meanwhile gets 429 `delivery_in_progress`.
//
// Plain JavaScript: the decorators are applied with `Reflect.decorate`, exactly as TypeScript
// compiles `@Controller(...)`, `@Post(...)` and parameter decorators. In TypeScript write:
//
//   @Controller('webhooks')
//   export class WebhooksController {
//     @Post('fluxora') @HttpCode(200) @UseInterceptors(new FluxoraWebhookInterceptor({ secret }))
//     receive(@FluxoraDelivery() delivery, @Res({ passthrough: true }) res) { ... }
//   }
import 'reflect-metadata'
import {
  Controller,
  HttpCode,
  HttpException,
  InternalServerErrorException,
  Module,
  Post,
  Res,
  UseInterceptors,
  createParamDecorator,
} from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { catchError, concatMap } from 'rxjs'
import { Verifier } from '@fluxora/webhooks'

/**
 * Verifies and reserves the delivery before the handler, settles it after. The handler gets
 * the verified delivery `{ id, payload, rawBody }` through `@FluxoraDelivery()`.
 * `replayStore`: a `RedisReplayStore` when several processes receive the same webhooks.
 */
export class FluxoraWebhookInterceptor {
  constructor({ secret, replayStore }) {
    this.verifier = new Verifier(replayStore ? { secret, replay: false } : { secret })
    this.replayStore = replayStore
  }

  async intercept(context, next) {
    const req = context.switchToHttp().getRequest()
    const res = context.switchToHttp().getResponse()
    const rawBody = await rawBodyOf(req, this.verifier.maxBodyBytes)
    const reservation = await (this.replayStore
      ? this.replayStore.reserve(this.verifier, req.headers, rawBody)
      : this.verifier.reserve(req.headers, rawBody))
    if (!reservation.ok) {
      const { status, code, message } = reservation.result
      throw new HttpException({ error: code, message }, status)
    }
    req.fluxora = { id: reservation.deliveryId, payload: parseJson(rawBody), rawBody }
    return next.handle().pipe(
      // The handler returned: Nest has already set the status (@HttpCode, or the handler's own).
      concatMap(async (body) => {
        await (res.statusCode < 500 ? reservation.commit() : reservation.release())
        return body
      }),
      catchError(async (error) => {
        await reservation.release()
        throw error
      }),
    )
  }
}

/** The verified delivery, for a handler parameter: `receive(@FluxoraDelivery() delivery)`. */
export const FluxoraDelivery = createParamDecorator((_data, context) => context.switchToHttp().getRequest().fluxora)

/** An example handler: record the event, answer 200. Throw (or answer 5xx) to have it retried. */
export async function recordEvent(delivery) {
  // ... store or enqueue the event here; route on the signed body (payload.event) ...
  return { received: true, id: delivery.id, event: delivery.payload?.event }
}

/**
 * The app module: `POST /webhooks/fluxora`, answered by `handler(delivery, res)` (`res`: the
 * Express response, in passthrough mode, e.g. to answer `res.status(503)`).
 */
export function createAppModule({ secret, replayStore, handler = recordEvent }) {
  const fluxora = new FluxoraWebhookInterceptor({ secret, replayStore })

  class WebhooksController {
    receive(delivery, res) {
      return handler(delivery, res)
    }
  }
  Reflect.decorate([Controller('webhooks')], WebhooksController)
  Reflect.decorate(
    [
      Post('fluxora'),
      HttpCode(200),
      UseInterceptors(fluxora),
      param(0, FluxoraDelivery()),
      param(1, Res({ passthrough: true })),
    ],
    WebhooksController.prototype,
    'receive',
    Object.getOwnPropertyDescriptor(WebhooksController.prototype, 'receive'),
  )

  class AppModule {}
  Reflect.decorate([Module({ controllers: [WebhooksController] })], AppModule)
  return { AppModule, maxBodyBytes: fluxora.verifier.maxBodyBytes }
}

/** The Nest application (Express platform), with the raw JSON bytes kept as `req.rawBody`. */
export async function createApp({ secret, replayStore, handler, logger } = {}) {
  const { AppModule, maxBodyBytes } = createAppModule({ secret, replayStore, handler })
  const app = await NestFactory.create(AppModule, { rawBody: true, ...(logger === undefined ? {} : { logger }) })
  // Nest's JSON parser stops at 100 KiB by default: let it take every body the verifier accepts.
  app.useBodyParser('json', { limit: maxBodyBytes })
  return app
}

/** How TypeScript applies a parameter decorator (`__param`). */
function param(index, decorator) {
  return (target, key) => decorator(target, key, index)
}

/**
 * `req.rawBody` (Nest kept it: a JSON or urlencoded body); otherwise, when no parser took the
 * body (another content type), read it from the request stream.
 */
async function rawBodyOf(req, limit) {
  if (Buffer.isBuffer(req.rawBody)) return req.rawBody
  if (req.readableEnded || req.readableDidRead) {
    throw new InternalServerErrorException(
      'req.rawBody is missing and the body was consumed: create the app with NestFactory.create(AppModule, { rawBody: true })',
    )
  }
  return new Promise((resolve, reject) => {
    const chunks = []
    let length = 0
    const finish = (error, body) => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      if (error) reject(error)
      else resolve(body)
    }
    const onData = (chunk) => {
      chunks.push(chunk)
      length += chunk.length
      if (length > limit) {
        req.pause() // enough for the verifier to answer 413 payload_too_large
        finish(null, Buffer.concat(chunks, length))
      }
    }
    const onEnd = () => finish(null, Buffer.concat(chunks, length))
    const onError = (error) => finish(error)
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}

function parseJson(rawBody) {
  try {
    return JSON.parse(new TextDecoder().decode(rawBody))
  } catch {
    return undefined
  }
}
