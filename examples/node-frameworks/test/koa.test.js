// Koa: a real http server on 127.0.0.1 (an ephemeral port), driven with fetch.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createApp } from '../koa/app.js'
import { fluxoraScenarios, SECRET, ODD_BODY, attempt } from './scenarios.js'
import { listen, postTo } from './http.js'

fluxoraScenarios('koa', async (options, script) => {
  const app = createApp({
    ...options,
    handler: async (ctx) => {
      ctx.status = await script.run(ctx.state.fluxora)
      ctx.body = ctx.status < 300 ? { received: true } : { status: ctx.status }
    },
  })
  app.silent = true // the thrown test errors are expected: no stack traces on stderr
  const { base, close } = await listen(app.callback())
  return { post: (headers, body) => postTo(`${base}/webhooks/fluxora`, headers, body), close }
})

test('koa: the example handler answers with the signed body; other routes are left alone', async () => {
  const { base, close } = await listen(createApp({ secret: SECRET }).callback())
  try {
    const response = await fetch(`${base}/webhooks/fluxora`, { method: 'POST', headers: attempt('koa-example', 0, ODD_BODY), body: ODD_BODY })
    assert.deepEqual([response.status, await response.json()], [200, { received: true, id: 'koa-example', event: 'stream.updated' }])
    assert.equal((await fetch(`${base}/elsewhere`, { method: 'POST', body: '{}' })).status, 404)
    assert.equal((await fetch(`${base}/webhooks/fluxora`)).status, 404, 'GET is not the webhook')
  } finally {
    await close()
  }
})
