// @fluxora/webhooks-wasm for Cloudflare Workers and Vercel Edge ("workerd" / "edge-light"
// export conditions): these runtimes compile wasm only at deploy time, so the module is
// imported as a precompiled `WebAssembly.Module` (wrangler's and Vercel's default for
// `.wasm` imports) and instantiated synchronously.
import module from './fluxora_webhooks_wasm_bg.wasm'
import { initSync } from './api.js'

initSync(module)

export * from './api.js'
