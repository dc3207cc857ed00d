// The built package as consumers see it: its export map (default, ./slim, and the workerd
// condition with a precompiled WebAssembly.Module), types, and no Node built-ins inside.
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PKG } from './helpers.js'

const pkgDir = fileURLToPath(PKG)
const LOADER = fileURLToPath(new URL('./support/register-wasm-modules.mjs', import.meta.url))

test('no Node built-ins, Buffer or require anywhere in the package', () => {
  for (const file of readdirSync(pkgDir).filter((f) => f.endsWith('.js') && f !== 'wasm-inline.js')) {
    const source = readFileSync(join(pkgDir, file), 'utf8')
    for (const forbidden of [/\bnode:/, /\bBuffer\b/, /\brequire\(/, /\bprocess\./, /\bcrypto\.subtle\b/]) {
      assert.doesNotMatch(source, forbidden, `${file} uses ${forbidden}`)
    }
  }
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
  assert.equal(manifest.type, 'module')
  assert.equal(manifest.name, '@fluxora/webhooks-wasm')
  for (const file of manifest.files) assert.ok(readdirSync(pkgDir).includes(file), `${file} is built`)
})

function consumer() {
  const dir = mkdtempSync(join(tmpdir(), 'fluxora-wasm-consumer-'))
  mkdirSync(join(dir, 'node_modules', '@fluxora'), { recursive: true })
  symlinkSync(pkgDir, join(dir, 'node_modules', '@fluxora', 'webhooks-wasm'))
  writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}')
  return dir
}

const CHECK = `
import * as w from '@fluxora/webhooks-wasm'
const sig = w.computeWebhookSignature('topsecret', '1710000000', '{"event":"stream.updated"}')
const result = new w.Verifier({ secret: 'topsecret' }).verifyHeaders(
  { 'x-fluxora-delivery-id': 'd', 'x-fluxora-timestamp': '1710000000', 'x-fluxora-signature': sig }, '{"event":"stream.updated"}', 1710000000)
console.log(JSON.stringify({ sig, code: result.code }))
`

test('import "@fluxora/webhooks-wasm" resolves and works synchronously on import', () => {
  const dir = consumer()
  try {
    writeFileSync(join(dir, 'check.mjs'), CHECK)
    const out = JSON.parse(execFileSync(process.execPath, ['check.mjs'], { cwd: dir, encoding: 'utf8' }))
    assert.deepEqual(out, { sig: '925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79', code: 'ok' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('require("@fluxora/webhooks-wasm") gets the CommonJS entry: the same API and answers', () => {
  const dir = consumer()
  try {
    writeFileSync(join(dir, 'check.cjs'), `
const w = require('@fluxora/webhooks-wasm')
if (!require.resolve('@fluxora/webhooks-wasm').endsWith('/index.cjs')) throw new Error('not the CommonJS entry')
${CHECK.replace("import * as w from '@fluxora/webhooks-wasm'", '')}`)
    const out = JSON.parse(execFileSync(process.execPath, ['check.cjs'], { cwd: dir, encoding: 'utf8' }))
    assert.deepEqual(out, { sig: '925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79', code: 'ok' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the "workerd" condition imports the .wasm file as a compiled WebAssembly.Module (as wrangler does)', () => {
  const dir = consumer()
  try {
    writeFileSync(join(dir, 'check.mjs'), CHECK + `
import { readFileSync } from 'node:fs'
const entry = import.meta.resolve('@fluxora/webhooks-wasm')
if (!entry.endsWith('/workerd.js')) throw new Error('resolved ' + entry)
`)
    const out = JSON.parse(execFileSync(process.execPath, ['--conditions=workerd', '--import', LOADER, 'check.mjs'], { cwd: dir, encoding: 'utf8' }))
    assert.equal(out.code, 'ok')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('"./slim" needs init first: a coded error before, synchronous calls after initSync', () => {
  const dir = consumer()
  try {
    writeFileSync(join(dir, 'check.mjs'), `
import { readFileSync } from 'node:fs'
import { initSync, computeWebhookSignature } from '@fluxora/webhooks-wasm/slim'
let before
try { computeWebhookSignature('topsecret', '1710000000', '') } catch (e) { before = e.code }
initSync(readFileSync(new URL(import.meta.resolve('@fluxora/webhooks-wasm/fluxora_webhooks_wasm_bg.wasm'))))
console.log(JSON.stringify({ before, sig: computeWebhookSignature('topsecret', '1710000000', '') }))
`)
    const out = JSON.parse(execFileSync(process.execPath, ['check.mjs'], { cwd: dir, encoding: 'utf8' }))
    assert.deepEqual(out, { before: 'ERR_FLUXORA_NOT_INITIALIZED', sig: 'a58f63482c493d44f954ec6c03e39ba650afb13861ab782835c1e08aa7d56366' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
