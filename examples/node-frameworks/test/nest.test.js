// NestJS (Express platform): the real Nest application listening on 127.0.0.1 (an ephemeral
// port), driven with fetch.
import test from 'node:test'
import assert from 'node:assert/strict'
import { HttpException, ServiceUnavailableException } from '@nestjs/common'
import { createApp } from '../nest/app.js'
import { fluxoraScenarios, HttpError, Script, SECRET, BODY, ODD_BODY, attempt, nowSeconds } from './scenarios.js'
import { postTo } from './http.js'

async function start(options) {
  const app = await createApp({ logger: false, ...options })
  await app.listen(0, '127.0.0.1')
  const base = `http://127.0.0.1:${app.getHttpServer().address().port}`
  return { app, base, close: () => app.close() }
}

fluxoraScenarios('nest', async (options, script) => {
  const { base, close } = await start({
    ...options,
    handler: async (delivery, res) => {
      const status = await script.run(delivery).catch((error) => {
        throw error instanceof HttpError ? new HttpException({ error: 'unprocessable' }, error.status) : error
      })
      res.status(status)
      return status < 300 ? { received: true } : { status }
    },
  })
  return {
    post: (headers, body) => postTo(`${base}/webhooks/fluxora`, headers, body),
    close,
    // Over the limit, Nest's JSON body parser (Express) answers 413 before the interceptor runs.
    coreAnswersOverLimit: false,
  }
})

test('nest: the example handler answers with the signed body', async () => {
  const { base, close } = await start({ secret: SECRET })
  try {
    const response = await fetch(`${base}/webhooks/fluxora`, { method: 'POST', headers: attempt('nest-example', 0, ODD_BODY), body: ODD_BODY })
    assert.deepEqual([response.status, await response.json()], [200, { received: true, id: 'nest-example', event: 'stream.updated' }])
  } finally {
    await close()
  }
})

test("nest: a handler throwing Nest's ServiceUnavailableException (503) releases too", async () => {
  const script = new Script()
  const { base, close } = await start({
    secret: SECRET,
    handler: async (delivery) => {
      await script.run(delivery)
      if (script.runs === 1) throw new ServiceUnavailableException()
      return { received: true }
    },
  })
  try {
    const base0 = nowSeconds()
    const url = `${base}/webhooks/fluxora`
    assert.equal((await postTo(url, attempt('nest-503', 0, BODY, base0), BODY))[0], 503)
    assert.deepEqual(await postTo(url, attempt('nest-503', 1, BODY, base0), BODY), [200, 'ok'])
    assert.deepEqual(await postTo(url, attempt('nest-503', 2, BODY, base0), BODY), [409, 'duplicate_delivery'])
    assert.equal(script.runs, 2)
  } finally {
    await close()
  }
})

test('nest: a body no JSON parser took (another content type) is read from the request stream', async () => {
  const { base, close } = await start({ secret: SECRET })
  try {
    const headers = { ...attempt('nest-text', 0, ODD_BODY), 'content-type': 'text/plain; charset=utf-8' }
    assert.deepEqual(await postTo(`${base}/webhooks/fluxora`, headers, ODD_BODY), [200, 'ok'])
    const tampered = { ...attempt('nest-text-2', 0, ODD_BODY), 'content-type': 'application/octet-stream' }
    assert.deepEqual(await postTo(`${base}/webhooks/fluxora`, tampered, `${ODD_BODY} `), [401, 'signature_mismatch'])
  } finally {
    await close()
  }
})
