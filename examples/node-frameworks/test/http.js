// A node:http server on 127.0.0.1 (an ephemeral port) and a fetch client for it.
import http from 'node:http'
import { outcome } from './scenarios.js'

/** Listens on 127.0.0.1:0; resolves to `{ base, server, close() }`. */
export async function listen(requestListener) {
  const server = http.createServer(requestListener)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { base: `http://127.0.0.1:${server.address().port}`, server, close: () => closeServer(server) }
}

export function closeServer(server) {
  server.closeAllConnections?.()
  return new Promise((resolve) => server.close(() => resolve()))
}

/** POSTs `body` with `headers` to `url`; resolves to `[status, code]`. */
export async function postTo(url, headers, body) {
  return outcome(await fetch(url, { method: 'POST', headers, body }))
}
