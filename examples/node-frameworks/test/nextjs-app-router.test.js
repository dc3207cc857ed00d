// Next.js App Router: the route handler is called the way Next calls it, with a real Fetch
// `Request`, and answers a real `Response`. Installing `next` itself (and building an app) is
// too heavy for this suite, so Next's own server is not in the loop: what Next adds around a
// route handler (routing, turning a thrown error into a 500) is not exercised here.
import test from 'node:test'
import assert from 'node:assert/strict'
import { fluxoraRoute } from '../nextjs-app-router/lib/fluxora-webhook.js'
import { fluxoraScenarios, outcome, SECRET, ODD_BODY, attempt } from './scenarios.js'

const request = (headers, body) =>
  new Request('http://localhost:3000/api/webhooks/fluxora', { method: 'POST', headers, body })

fluxoraScenarios('next.js app router', async (options, script) => {
  const POST = fluxoraRoute({
    ...options,
    log: () => {}, // the thrown test errors are expected
    handler: async (delivery) => {
      const status = await script.run(delivery)
      return Response.json(status < 300 ? { received: true } : { status }, { status })
    },
  })
  return {
    post: async (headers, body) => outcome(await POST(request(headers, body), { params: Promise.resolve({}) })),
    close: async () => {},
    thrownHttpErrorStatus: 500, // a route handler has no error-to-status mapping: every throw is a 500
  }
})

test('next.js app router: app/api/webhooks/fluxora/route.js loads without the secret (as `next build` does) and verifies with it', async () => {
  delete process.env.FLUXORA_WEBHOOK_SECRET
  const route = await import('../nextjs-app-router/app/api/webhooks/fluxora/route.js?no-secret')
  assert.equal(route.runtime, 'nodejs')
  assert.equal(typeof route.POST, 'function')
  await assert.rejects(route.POST(request(attempt('next-app-none', 0, ODD_BODY), ODD_BODY)), (error) => error.code === 'ERR_FLUXORA_INVALID_SETTING')

  process.env.FLUXORA_WEBHOOK_SECRET = SECRET
  try {
    const { POST } = await import('../nextjs-app-router/app/api/webhooks/fluxora/route.js')
    const response = await POST(request(attempt('next-app-example', 0, ODD_BODY), ODD_BODY))
    assert.deepEqual([response.status, await response.json()], [200, { received: true, id: 'next-app-example', event: 'stream.updated' }])
    const duplicate = await POST(request(attempt('next-app-example', 1, ODD_BODY), ODD_BODY))
    assert.deepEqual(await outcome(duplicate), [409, 'duplicate_delivery'])
  } finally {
    delete process.env.FLUXORA_WEBHOOK_SECRET
  }
})
