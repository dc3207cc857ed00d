// Module hooks for register-wasm-modules.mjs.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.wasm')) return nextLoad(url, context)
  const base64 = readFileSync(fileURLToPath(url)).toString('base64')
  return {
    format: 'module',
    shortCircuit: true,
    source: `const b = atob(${JSON.stringify(base64)}); const u = new Uint8Array(b.length);
for (let i = 0; i < b.length; i += 1) u[i] = b.charCodeAt(i);
export default new WebAssembly.Module(u);`,
  }
}
