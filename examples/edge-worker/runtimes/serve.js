// Serves src/worker.js over HTTP under Deno or Bun, each with its own Request/Response and
// server: `deno run --allow-net --allow-env --allow-read runtimes/serve.js` or
// `bun runtimes/serve.js`. PORT and FLUXORA_WEBHOOK_SECRET come from the environment; the
// line "listening on <port>" tells the test runner it is up.
import worker from '../src/worker.js'

const read = (name) => (globalThis.Deno ? Deno.env.get(name) : process.env[name])
const port = Number(read('PORT'))
const env = { FLUXORA_WEBHOOK_SECRET: read('FLUXORA_WEBHOOK_SECRET') }
const fetch = (request) => worker.fetch(request, env)

if (globalThis.Deno) {
  Deno.serve({ hostname: '127.0.0.1', port, onListen: () => console.log(`listening on ${port}`) }, fetch)
} else if (globalThis.Bun) {
  Bun.serve({ hostname: '127.0.0.1', port, fetch })
  console.log(`listening on ${port}`)
} else {
  throw new Error('serve.js runs under Deno or Bun; workerd uses runtimes/workerd.capnp')
}
