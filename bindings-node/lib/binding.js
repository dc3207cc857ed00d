'use strict'
// Which build of the Rust core backs the package. First the native addon for this platform
// (../index.js, napi-rs's loader: a `.node` file next to it, else the per-platform package
// such as @fluxora/webhooks-linux-x64-gnu). Where none loads (a platform without a prebuilt
// addon, an install that skipped optional dependencies, a libc too old), the WebAssembly build
// of the same Rust (@fluxora/webhooks-wasm): the same API and the same answers, slower, with a
// one-time warning that names why. FLUXORA_WEBHOOKS_FORCE_WASM=1 takes the WebAssembly build
// on purpose (the test command runs the Node suite that way too).

/** `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`, ...: the napi-rs platform name. */
function platformName() {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`
  let glibc = true
  try {
    glibc = Boolean(process.report.getReport().header.glibcVersionRuntime)
  } catch {
    // no report: assume glibc, as napi-rs's loader does
  }
  return `${process.platform}-${process.arch}-${glibc ? 'gnu' : 'musl'}`
}

/**
 * Why nothing native loaded: the distinct first lines of an error's causes, in the order the
 * loader tried (napi-rs chains the last attempt outermost). Left out: napi-rs's own headline,
 * which blames npm whatever happened, and its WASI candidates, which this package does not ship.
 */
function reasons(error) {
  const lines = []
  for (let e = error, depth = 0; e && depth < 20; e = e.cause, depth += 1) {
    const line = String(e.message ?? e).split('\n')[0]
    if (!lines.includes(line)) lines.unshift(line)
  }
  return lines.filter((line) => !line.startsWith('Cannot find native binding.') && !/wasi/i.test(line)).join('; ')
}

function loadNative() {
  if (process.env.FLUXORA_WEBHOOKS_FORCE_WASM === '1') {
    return { reason: 'FLUXORA_WEBHOOKS_FORCE_WASM=1 is set' }
  }
  try {
    return { binding: require('../index.js'), kind: 'native' }
  } catch (error) {
    return { reason: `no native addon for ${platformName()} loaded (${reasons(error) || error.message})` }
  }
}

/**
 * The Node-only entry points the WebAssembly build does not carry: `Verifier.check` (what
 * asynchronous replay stores build on) and the Redis script's pieces. Each throws a coded error.
 */
function nativeOnly(binding, why) {
  const unavailable = (name) => () => {
    const error = new Error(`${name} needs the native addon, which did not load: ${why}`)
    error.code = 'ERR_FLUXORA_NATIVE_REQUIRED'
    throw error
  }
  for (const name of ['redisScript', 'redisDefaultPrefix', 'checkDeliveryRetention']) {
    if (typeof binding[name] !== 'function') binding[name] = unavailable(name)
  }
  if (typeof binding.Verifier.prototype.check !== 'function') {
    const check = unavailable('Verifier.check')
    binding.Verifier = class Verifier extends binding.Verifier {
      check() {
        return check()
      }
    }
  }
  return binding
}

function loadWasm(reason) {
  let wasm
  try {
    wasm = require('@fluxora/webhooks-wasm')
  } catch (error) {
    const failure = new Error(
      `@fluxora/webhooks cannot run here: ${reason}, and its WebAssembly fallback ` +
        `@fluxora/webhooks-wasm did not load either (${reasons(error)}). ` +
        `Reinstall with optional dependencies enabled, or report ${platformName()} with Node ${process.version}.`,
    )
    failure.code = 'ERR_FLUXORA_NO_BINDING'
    failure.cause = error
    throw failure
  }
  process.emitWarning(
    `${reason}; using the WebAssembly build (@fluxora/webhooks-wasm): same API and answers, slower.`,
    { type: 'FluxoraWebhooksWarning', code: 'FLUXORA_WASM_FALLBACK' },
  )
  const binding = {
    ...wasm,
    // The Node package hands out bytes as Buffers (the WebAssembly build: Uint8Array).
    buildWebhookSigningPayload: (...args) => {
      const bytes = wasm.buildWebhookSigningPayload(...args)
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    },
  }
  return { binding: nativeOnly(binding, reason), kind: 'wasm', reason }
}

const loaded = loadNative()
const { binding, kind, reason } = loaded.binding ? loaded : loadWasm(loaded.reason)

module.exports = { binding, kind, reason }
