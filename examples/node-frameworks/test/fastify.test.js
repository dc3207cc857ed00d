// Fastify: driven through its own test client, `app.inject` (the whole request lifecycle,
// content-type parsing and hooks included, without a socket).
import test from 'node:test'
import assert from 'node:assert/strict'
import { signDelivery } from '@fluxora/webhooks'
import { createApp } from '../fastify/app.js'
import { fluxoraScenarios, outcomeOf, nowSeconds, SECRET, BODY, ODD_BODY, attempt } from './scenarios.js'

async function post(app, headers, body) {
  const response = await app.inject({ method: 'POST', url: '/webhooks/fluxora', headers, payload: body })
  return outcomeOf(response.statusCode, response.body)
}

fluxoraScenarios('fastify', async (options, script) => {
  const app = createApp({
    ...options,
    handler: async (request, reply) => {
      const status = await script.run(request.fluxora)
      return reply.code(status).send(status < 300 ? { received: true } : { status })
    },
  })
  await app.ready()
  return { post: (headers, body) => post(app, headers, body), close: () => app.close() }
})

test('fastify: the raw-body parser is scoped to the webhook route; the rest of the app still parses JSON', async () => {
  const app = createApp({ secret: SECRET })
  try {
    const echo = await app.inject({ method: 'POST', url: '/api/echo', payload: { a: 1 } })
    assert.deepEqual(echo.json(), { body: { a: 1 } })
    const headers = attempt('fastify-example', 0, ODD_BODY)
    const hook = await app.inject({ method: 'POST', url: '/webhooks/fluxora', headers, payload: ODD_BODY })
    assert.deepEqual([hook.statusCode, hook.json()], [200, { received: true, id: 'fastify-example', event: 'stream.updated' }])
  } finally {
    await app.close()
  }
})

test('fastify: any content type (or none) reaches the verifier as raw bytes', async () => {
  const app = createApp({ secret: SECRET })
  try {
    for (const [n, contentType] of [[0, 'text/plain; charset=utf-8'], [1, 'application/octet-stream'], [2, undefined]]) {
      const headers = signDelivery(SECRET, BODY, { deliveryId: `fastify-ct-${n}`, timestamp: nowSeconds() + n })
      if (contentType) headers['content-type'] = contentType
      const response = await app.inject({ method: 'POST', url: '/webhooks/fluxora', headers, payload: BODY })
      assert.equal(response.statusCode, 200, `${contentType}: ${response.body}`)
    }
    const missing = await app.inject({ method: 'POST', url: '/webhooks/fluxora', headers: { 'content-type': 'application/json' }, payload: BODY })
    assert.deepEqual([missing.statusCode, missing.json().error], [401, 'missing_delivery_id'])
  } finally {
    await app.close()
  }
})
