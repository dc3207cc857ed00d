'use strict'
// The loader's choice between the native addon and the WebAssembly build (lib/binding.js):
// each case runs in a child process, because the choice is made once, when the package loads.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync, spawnSync } = require('node:child_process')
const path = require('node:path')

const PACKAGE = path.join(__dirname, '..')

/** Runs `script` in a fresh Node with `env` added; returns its stdout (JSON) and stderr. */
function inChild(script, env = {}, preload = []) {
  const child = spawnSync(process.execPath, [...preload.flatMap((file) => ['--require', file]), '-e', script], {
    cwd: PACKAGE,
    env: { ...process.env, FLUXORA_WEBHOOKS_FORCE_WASM: '', NAPI_RS_NATIVE_LIBRARY_PATH: '', ...env },
    encoding: 'utf8',
  })
  return { status: child.status, stdout: child.stdout, stderr: child.stderr }
}

// Answers of both builds for the same inputs: signatures, verification (every outcome class),
// decimals, a verifier's configuration and reservations.
const ANSWERS = `
const w = require('.')
const body = '{"event":"stream.updated"}'
const headers = w.signDelivery('topsecret', body, { timestamp: 1710000000, deliveryId: 'dlv_1' })
const v = new w.Verifier({ secret: 'topsecret', toleranceSeconds: 60 })
const results = [1710000000, 1710000000, 1710000061].map((now) => ({ ...v.verifyHeaders(headers, body, now) }))
const reservation = new w.Verifier({ secret: 'topsecret' }).reserve(headers, body, 1710000000)
const decimals = ['1.5', '-0', '1e5', '0.00000001'].map((value) => ({ ...w.validateDecimalString(value, 'amount') }))
console.log(JSON.stringify({
  implementation: w.implementation,
  headers,
  results,
  reservation: { ok: reservation.ok, id: reservation.deliveryId, committed: reservation.commit(1710000001) },
  decimals,
  stroops: String(w.parseToStroops('12.3456789')),
  dropIn: { ...w.verifyWebhookSignature({ secret: 'topsecret', deliveryId: 'd', timestamp: '1710000000',
    signature: headers['x-fluxora-signature'], rawBody: body, now: 1710000000 }) },
  outcomes: w.OUTCOMES.length,
  verifier: String(v),
}))
`

test('the WebAssembly build gives the native addon\'s answers', () => {
  const native = inChild(ANSWERS)
  const wasm = inChild(ANSWERS, { FLUXORA_WEBHOOKS_FORCE_WASM: '1' })
  assert.equal(native.status, 0, native.stderr)
  assert.equal(wasm.status, 0, wasm.stderr)
  const a = JSON.parse(native.stdout)
  const b = JSON.parse(wasm.stdout)
  assert.equal(a.implementation, 'native')
  assert.equal(b.implementation, 'wasm')
  assert.deepEqual({ ...b, implementation: 'native' }, a)
  assert.deepEqual(a.results.map((r) => r.code), ['ok', 'duplicate_delivery', 'timestamp_outside_tolerance'])
})

test('a forced fallback warns once, naming the reason', () => {
  const child = inChild("require('.'); require('./lib/express.js'); require('.')", { FLUXORA_WEBHOOKS_FORCE_WASM: '1' })
  assert.equal(child.status, 0, child.stderr)
  const warnings = child.stderr.split('\n').filter((line) => line.includes('FLUXORA_WASM_FALLBACK'))
  assert.equal(warnings.length, 1, child.stderr)
  assert.match(warnings[0], /FLUXORA_WEBHOOKS_FORCE_WASM=1 is set; using the WebAssembly build/)
})

test('an addon that does not load falls back, and the warning says why', () => {
  const missing = path.join(PACKAGE, 'no-such-addon.node')
  const child = inChild("console.log(require('.').implementation)", { NAPI_RS_NATIVE_LIBRARY_PATH: missing })
  assert.equal(child.status, 0, child.stderr)
  assert.equal(child.stdout.trim(), 'wasm')
  assert.match(child.stderr, /no native addon for linux-x64-(gnu|musl) loaded \(Cannot find module '.*no-such-addon\.node'/)
  assert.doesNotMatch(child.stderr, /npm has a bug/)
})

test('without either build the error names both causes', () => {
  const preload = path.join(__dirname, 'support', 'hide-wasm.cjs')
  const missing = path.join(PACKAGE, 'no-such-addon.node')
  const child = inChild("require('.')", { NAPI_RS_NATIVE_LIBRARY_PATH: missing }, [preload])
  assert.notEqual(child.status, 0)
  assert.match(child.stderr, /@fluxora\/webhooks cannot run here: no native addon for \S+ loaded \(Cannot find module '.*no-such-addon\.node'/)
  assert.match(child.stderr, /@fluxora\/webhooks-wasm did not load either \(hidden by the test\)/)
  assert.match(child.stderr, /ERR_FLUXORA_NO_BINDING/)
})

test('Verifier.check and Redis need the native addon: coded errors on the fallback, not wrong answers', () => {
  const child = inChild(
    `const w = require('.')
    for (const call of [() => new w.RedisReplayStore({ call() {}, evalsha() {} }), () => new w.Verifier({ secret: 's' }).check({}, '')]) {
      try { call() } catch (e) { console.log(e.code, e.message) }
    }`,
    { FLUXORA_WEBHOOKS_FORCE_WASM: '1' },
  )
  assert.equal(child.status, 0, child.stderr)
  const lines = child.stdout.trim().split('\n')
  assert.match(lines[0], /^ERR_FLUXORA_NATIVE_REQUIRED redisDefaultPrefix needs the native addon, which did not load: FLUXORA_WEBHOOKS_FORCE_WASM=1 is set/)
  assert.match(lines[1], /^ERR_FLUXORA_NATIVE_REQUIRED Verifier.check needs the native addon/)
})

test('the ESM entry takes the same build', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', "import { implementation } from '@fluxora/webhooks'; console.log(implementation)"], {
    cwd: path.join(PACKAGE, 'test'),
    env: { ...process.env, FLUXORA_WEBHOOKS_FORCE_WASM: '1' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  assert.equal(out.trim(), 'wasm')
})
