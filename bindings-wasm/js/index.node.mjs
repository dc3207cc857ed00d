// Source of index.cjs, the package's require() entry, which build.sh bundles to CommonJS (Node
// 18 cannot require an ES module). Only Node takes it, so the module is read from the .wasm
// file next to it rather than decoded from the inlined base64 (which this entry leaves out).
// Never run as it is: `__dirname` exists once bundled to CommonJS.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { initSync } from './api.js'

initSync(readFileSync(join(__dirname, 'fluxora_webhooks_wasm_bg.wasm')))

export * from './api.js'
