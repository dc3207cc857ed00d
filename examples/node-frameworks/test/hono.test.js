// Hono: driven through its own test client, `app.request(...)` (a real Fetch Request through
// the app's router, middleware and error handler).
import test from 'node:test'
import assert from 'node:assert/strict'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { createApp, fluxoraWebhook } from '../hono/app.js'
import { fluxoraScenarios, outcome, HttpError, Script, SECRET, BODY, ODD_BODY, attempt } from './scenarios.js'

const post = (app, headers, body) => app.request('/webhooks/fluxora', { method: 'POST', headers, body })

fluxoraScenarios('hono', async (options, script) => {
  const app = createApp({
    ...options,
    log: () => {}, // the thrown test errors are expected
    handler: async (c) => {
      const status = await script.run(c.get('fluxora')).catch((error) => {
        throw error instanceof HttpError ? new HTTPException(error.status, { message: error.message }) : error
      })
      return c.json(status < 300 ? { received: true } : { status }, status)
    },
  })
  return { post: async (headers, body) => outcome(await post(app, headers, body)), close: async () => {} }
})

test('hono: the example handler answers with the signed body', async () => {
  const response = await post(createApp({ secret: SECRET }), attempt('hono-example', 0, ODD_BODY), ODD_BODY)
  assert.deepEqual([response.status, await response.json()], [200, { received: true, id: 'hono-example', event: 'stream.updated' }])
})

test('hono: the body stays readable: the handler calls c.req.json() and c.req.text() after the verification', async () => {
  const app = new Hono()
  app.post('/webhooks/fluxora', ...fluxoraWebhook({ secret: SECRET }), async (c) => {
    return c.json({ json: await c.req.json(), text: await c.req.text() })
  })
  const response = await post(app, attempt('hono-read-after', 0, ODD_BODY), ODD_BODY)
  assert.equal(response.status, 200)
  assert.deepEqual(await response.json(), { json: JSON.parse(ODD_BODY), text: ODD_BODY })
})

test('hono: a middleware that read c.req.json() first does not break a UTF-8 JSON delivery', async () => {
  const seen = []
  const script = new Script()
  const app = new Hono()
  app.use('*', async (c, next) => {
    seen.push(await c.req.json()) // e.g. an audit log
    await next()
  })
  app.post('/webhooks/fluxora', ...fluxoraWebhook({ secret: SECRET }), async (c) => c.json({ status: await script.run(c.get('fluxora')) }))
  assert.deepEqual(await outcome(await post(app, attempt('hono-read-before', 0, ODD_BODY), ODD_BODY)), [200, 'ok'])
  assert.deepEqual(seen, [JSON.parse(ODD_BODY)])
  assert.ok(Buffer.from(script.seen[0].rawBody).equals(Buffer.from(ODD_BODY)))
})

test('hono: ...but then the bytes are rebuilt from the decoded text: a body with a UTF-8 BOM fails closed (401), never a false accept', async () => {
  const withBom = `\ufeff${BODY}`
  const readFirst = new Hono()
  readFirst.use('*', async (c, next) => {
    await c.req.text()
    await next()
  })
  readFirst.post('/webhooks/fluxora', ...fluxoraWebhook({ secret: SECRET }), (c) => c.json({ received: true }))
  assert.deepEqual(await outcome(await post(readFirst, attempt('hono-bom', 0, withBom), withBom)), [401, 'signature_mismatch'])
  // Verified first (the recipe's order), the same delivery passes.
  assert.deepEqual(await outcome(await post(createApp({ secret: SECRET }), attempt('hono-bom', 0, withBom), withBom)), [200, 'ok'])
})

test('hono: over the limit, the core still answers: missing headers first, then 413 payload_too_large', async () => {
  const app = createApp({ secret: SECRET })
  const big = `{"pad":"${'x'.repeat(300000)}"}`
  assert.deepEqual(await outcome(await post(app, { 'content-type': 'application/json' }, big)), [401, 'missing_delivery_id'])
  assert.deepEqual(await outcome(await post(app, attempt('hono-big', 0, big), big)), [413, 'payload_too_large'])
  const declared = await post(app, { ...attempt('hono-big-declared', 0, big), 'content-length': String(Buffer.byteLength(big)) }, big)
  assert.deepEqual(await outcome(declared), [413, 'payload_too_large'])
})
