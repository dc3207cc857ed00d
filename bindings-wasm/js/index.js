// @fluxora/webhooks-wasm, default entry: the module is inlined (base64) and instantiated
// synchronously on import, so every function is ready and synchronous (browsers, Node, Deno,
// Bun). Runtimes that forbid compiling wasm from bytes (Cloudflare Workers, Vercel Edge) get
// ./workerd.js through the "workerd" / "edge-light" export conditions instead.
import inline from './wasm-inline.js'
import { initSync } from './api.js'

const text = atob(inline)
const bytes = new Uint8Array(text.length)
for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i)
initSync(bytes)

export * from './api.js'
