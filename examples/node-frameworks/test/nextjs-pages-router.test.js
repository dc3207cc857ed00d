// Next.js Pages Router: the API route's default export is served by a real node:http server on
// 127.0.0.1 (an ephemeral port), driven with fetch. Installing `next` itself is too heavy for
// this suite, so the server stands in for Next's API resolver: with `bodyParser: false` Next
// hands the route the untouched IncomingMessage, adds `res.status()` / `res.json()`, and
// answers 500 when the route throws; the stand-in does the same, and nothing more.
import test from 'node:test'
import assert from 'node:assert/strict'
import { withFluxoraWebhook } from '../nextjs-pages-router/lib/with-fluxora-webhook.js'
import { fluxoraScenarios, SECRET, ODD_BODY, attempt } from './scenarios.js'
import { listen, postTo } from './http.js'

/** What Next's API resolver does around a route with `bodyParser: false`, in brief. */
function nextApiServer(route) {
  return listen((req, res) => {
    res.status = (code) => {
      res.statusCode = code
      return res
    }
    res.json = (body) => {
      res.setHeader('content-type', 'application/json; charset=utf-8')
      res.end(JSON.stringify(body))
    }
    Promise.resolve(route(req, res)).catch(() => {
      if (!res.headersSent) res.status(500).json({ error: 'internal_error', message: 'Internal Server Error' })
    })
  })
}

fluxoraScenarios('next.js pages router', async (options, script) => {
  const route = withFluxoraWebhook({ ...options, log: () => {} }, async (req, res) => {
    const status = await script.run(req.fluxora)
    res.status(status).json(status < 300 ? { received: true } : { status })
  })
  const { base, close } = await nextApiServer(route)
  return {
    post: (headers, body) => postTo(`${base}/api/webhooks/fluxora`, headers, body),
    close,
    thrownHttpErrorStatus: 500, // an API route has no error-to-status mapping: every throw is a 500
  }
})

test('next.js pages router: pages/api/webhooks/fluxora.js turns the body parser off and verifies the raw body', async () => {
  process.env.FLUXORA_WEBHOOK_SECRET = SECRET
  try {
    const page = await import('../nextjs-pages-router/pages/api/webhooks/fluxora.js')
    assert.deepEqual(page.config, { api: { bodyParser: false } })
    const { base, close } = await nextApiServer(page.default)
    try {
      const url = `${base}/api/webhooks/fluxora`
      const response = await fetch(url, { method: 'POST', headers: attempt('next-pages-example', 0, ODD_BODY), body: ODD_BODY })
      assert.deepEqual([response.status, await response.json()], [200, { received: true, id: 'next-pages-example', event: 'stream.updated' }])
      assert.deepEqual(await postTo(url, attempt('next-pages-example', 1, ODD_BODY), ODD_BODY), [409, 'duplicate_delivery'])
      const get = await fetch(url)
      assert.deepEqual([get.status, get.headers.get('allow')], [405, 'POST'])
    } finally {
      await close()
    }
  } finally {
    delete process.env.FLUXORA_WEBHOOK_SECRET
  }
})
