// @fluxora/webhooks-wasm/slim: the same API without the inlined module. Instantiate it once
// with `await init()` (fetches fluxora_webhooks_wasm_bg.wasm next to this file, or pass a URL,
// Response or WebAssembly.Module) or `initSync(bytesOrModule)`; then every call is synchronous.
export * from './api.js'
