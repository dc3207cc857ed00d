// The checks every recipe passes, against its real framework: a failing handler loses nothing
// (a throw or a 5xx answer, then the retry runs the handler again, then 409), two concurrent
// attempts of one delivery (one runs, the other gets 429 delivery_in_progress), a tampered
// body (401 signature_mismatch), the raw bytes are what is verified (JSON with unusual
// whitespace and non-ASCII text), and the body limit. Each runs with the verifier's in-memory
// replay store and with a RedisReplayStore (real Redis on 127.0.0.1:6379).
import test from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { randomUUID } from 'node:crypto'
import { signDelivery, RedisReplayStore } from '@fluxora/webhooks'
import { Redis } from 'ioredis'

export const SECRET = 'topsecret'
export const BODY = '{"event":"stream.updated","streamId":"s_1"}'
/** JSON as it may come over the wire: odd spacing, tabs, CRLF, escapes and non-ASCII UTF-8. */
export const ODD_BODY =
  '{ "event" :\t"stream.updated" ,\r\n  "amount":"12.5000000",  "memo" : "caf\u00e9 \u2713 \\u00e9\\n" ,"n": 1.50e1 }\n'
export const MAX_BODY_BYTES = 262144

export const nowSeconds = () => Math.floor(Date.now() / 1000)

/**
 * The headers of attempt `n` of one delivery: a sender re-signs every attempt (a new
 * timestamp) under the same delivery id.
 */
export function attempt(id, n, body = BODY, base = nowSeconds()) {
  return { ...signDelivery(SECRET, body, { deliveryId: id, timestamp: base + n }), 'content-type': 'application/json' }
}

/** An error that carries the status a framework should answer it with (Koa, Fastify: `status` / `statusCode`). */
export class HttpError extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
    this.statusCode = status
    this.expose = true
  }
}

/**
 * What the handler does on each of its runs, counting them: `steps(run)` returns 'throw', an
 * `HttpError` with status 422 to throw ('throw-422'), a status to answer, a Promise to wait
 * for before answering 200, or nothing (answer 200).
 * `run(delivery)` resolves to the status the framework handler should answer, or throws.
 */
export class Script {
  constructor(steps = () => undefined) {
    this.steps = steps
    this.runs = 0
    this.seen = []
  }

  async run(delivery) {
    this.runs += 1
    this.seen.push(delivery)
    const step = this.steps(this.runs)
    if (step === 'throw') throw new Error('handler failed')
    if (step === 'throw-422') throw new HttpError(422, 'unprocessable')
    if (step && typeof step.then === 'function') await step
    return typeof step === 'number' ? step : 200
  }
}

/**
 * An answer as `[status, code]`: the JSON body's `error`, 'ok' for a JSON body without one,
 * the text of any other body.
 */
export function outcomeOf(status, text) {
  let json
  try {
    json = JSON.parse(text)
  } catch {
    return [status, text]
  }
  return [status, json && typeof json.error === 'string' ? json.error : 'ok']
}

/** A fetch or Fetch-API `Response` as `[status, code]`. */
export async function outcome(response) {
  return outcomeOf(response.status, await response.text())
}

const redisUrl = process.env.FLUXORA_REDIS_URL
const redisRequired = Boolean(redisUrl)
const redisAvailable = await reachable(redisUrl || 'redis://127.0.0.1:6379')
const clients = []

function reachable(url) {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379) })
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500)
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.once('timeout', () => done(false))
  })
}

function redisStore() {
  const client = new Redis(redisUrl || 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 })
  clients.push(client)
  return new RedisReplayStore(client, { prefix: `fluxora:examples:${randomUUID()}:` })
}

test.after(async () => {
  await Promise.all(clients.splice(0).map((client) => client.quit()))
})

const STORES = [
  ['in-memory store', () => ({ secret: SECRET })],
  ['Redis store', () => ({ secret: SECRET, replayStore: redisStore() })],
]

/**
 * Registers the shared tests for one recipe. `start(options, script)` builds the recipe's app
 * with `options` (`{ secret, replayStore? }`) and a handler that answers what `script.run`
 * says, and resolves to `{ post(headers, body) -> Promise<[status, code]>, close() }`, and
 * `thrownHttpErrorStatus` when the framework does not answer a thrown `HttpError(422)` with 422,
 * `coreAnswersOverLimit: false` when a body parser answers 413 before the verifier sees the body.
 */
export function fluxoraScenarios(framework, start) {
  for (const [store, options] of STORES) {
    const skip = store === 'Redis store' && !redisAvailable && !redisRequired && 'no Redis on 127.0.0.1:6379'
    const scenario = (name, body) =>
      test(`${framework} (${store}): ${name}`, { skip }, async () => {
        const id = `dlv_${randomUUID().replaceAll('-', '')}`
        await body(id)
      })
    const withApp = async (script, body) => {
      const app = await start(options(), script)
      try {
        await body(app)
      } finally {
        await app.close()
      }
    }

    for (const failure of ['throw', 503]) {
      scenario(
        `a handler that ${failure === 'throw' ? 'throws' : 'answers 503'} loses nothing: ${failure === 'throw' ? 500 : 503}, the retry runs it again (200), the next retry 409 duplicate_delivery`,
        (id) => {
          const script = new Script((run) => (run === 1 ? failure : undefined))
          return withApp(script, async (app) => {
            const base = nowSeconds()
            const [status] = await app.post(attempt(id, 0, BODY, base), BODY)
            assert.equal(status, failure === 'throw' ? 500 : 503)
            assert.deepEqual(await app.post(attempt(id, 1, BODY, base), BODY), [200, 'ok'])
            assert.deepEqual(await app.post(attempt(id, 2, BODY, base), BODY), [409, 'duplicate_delivery'])
            assert.equal(script.runs, 2, 'the handler ran for the failed attempt and for its retry, not for the duplicate')
            assert.deepEqual(script.seen.map((delivery) => delivery.id), [id, id])
          })
        },
      )
    }

    scenario('a thrown error releases even when the framework answers it with a 4xx: the retry runs the handler again', (id) => {
      const script = new Script((run) => (run === 1 ? 'throw-422' : undefined))
      return withApp(script, async (app) => {
        const base = nowSeconds()
        const [status] = await app.post(attempt(id, 0, BODY, base), BODY)
        assert.equal(status, app.thrownHttpErrorStatus ?? 422)
        assert.deepEqual(await app.post(attempt(id, 1, BODY, base), BODY), [200, 'ok'])
        assert.deepEqual(await app.post(attempt(id, 2, BODY, base), BODY), [409, 'duplicate_delivery'])
        assert.equal(script.runs, 2)
      })
    })

    scenario('two concurrent attempts of one delivery: one runs, the other gets 429 delivery_in_progress', (id) => {
      let unblock
      const blocked = new Promise((resolve) => { unblock = resolve })
      const script = new Script(() => blocked)
      return withApp(script, async (app) => {
        const base = nowSeconds()
        const first = app.post(attempt(id, 0, BODY, base), BODY)
        for (let i = 0; script.runs === 0; i += 1) {
          assert.ok(i < 1000, 'the first attempt reached the handler')
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        assert.deepEqual(await app.post(attempt(id, 1, BODY, base), BODY), [429, 'delivery_in_progress'])
        unblock()
        assert.deepEqual(await first, [200, 'ok'])
        assert.deepEqual(await app.post(attempt(id, 2, BODY, base), BODY), [409, 'duplicate_delivery'])
        assert.equal(script.runs, 1)
      })
    })

    scenario('a tampered body is 401 signature_mismatch and never reaches the handler, nor blocks the genuine delivery', (id) => {
      const script = new Script()
      return withApp(script, async (app) => {
        const base = nowSeconds()
        const headers = attempt(id, 0, BODY, base)
        const changed = BODY.replace('s_1', 's_2')
        assert.deepEqual(await app.post(headers, changed), [401, 'signature_mismatch'])
        // Same JSON value, other bytes: the signature is over the bytes.
        assert.deepEqual(await app.post(headers, JSON.stringify(JSON.parse(BODY), null, 1)), [401, 'signature_mismatch'])
        assert.equal(script.runs, 0)
        assert.deepEqual(await app.post(headers, BODY), [200, 'ok'])
        assert.equal(script.runs, 1)
      })
    })

    scenario('the bytes verified are the raw bytes: JSON with unusual whitespace and non-ASCII text verifies, and the handler gets them unchanged', (id) => {
      const script = new Script()
      return withApp(script, async (app) => {
        assert.deepEqual(await app.post(attempt(id, 0, ODD_BODY), ODD_BODY), [200, 'ok'])
        assert.equal(script.runs, 1)
        const [delivery] = script.seen
        assert.equal(delivery.id, id)
        assert.ok(Buffer.from(delivery.rawBody).equals(Buffer.from(ODD_BODY, 'utf8')), 'rawBody is the bytes sent')
        assert.deepEqual(delivery.payload, JSON.parse(ODD_BODY))
      })
    })

    scenario(`a body of exactly ${MAX_BODY_BYTES} bytes is accepted, one byte more is 413`, (id) => {
      const script = new Script()
      const sized = (length) => {
        const open = '{"event":"stream.updated","pad":"'
        return `${open}${'x'.repeat(length - open.length - 2)}"}`
      }
      return withApp(script, async (app) => {
        const atLimit = sized(MAX_BODY_BYTES)
        assert.equal(Buffer.byteLength(atLimit), MAX_BODY_BYTES)
        assert.deepEqual(await app.post(attempt(id, 0, atLimit), atLimit), [200, 'ok'])
        const over = sized(MAX_BODY_BYTES + 1)
        const [status, code] = await app.post(attempt(`${id}_over`, 0, over), over)
        assert.equal(status, 413)
        if (app.coreAnswersOverLimit !== false) assert.equal(code, 'payload_too_large')
        assert.equal(script.runs, 1)
      })
    })
  }
}
