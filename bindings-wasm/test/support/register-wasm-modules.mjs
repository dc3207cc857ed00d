// `node --import` this file to load `import x from './y.wasm'` the way wrangler (Cloudflare
// Workers) and Vercel Edge do: the default export is a compiled WebAssembly.Module.
import { register } from 'node:module'

register('./wasm-module-hooks.mjs', import.meta.url)
