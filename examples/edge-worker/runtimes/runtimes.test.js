// The edge-worker example served by the real runtimes it is written for: workerd (the
// Cloudflare Workers runtime, through the package's "workerd" entry and a precompiled wasm
// module), Deno and Bun (the default entry, inlined wasm), each with its own Request,
// Response and HTTP server. Deliveries are signed here with node:crypto, independently of
// the package, and sent over real HTTP.
//
// Run: npm ci (here and in ..), then node --test runtimes/runtimes.test.js from the example.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const EXAMPLE = join(HERE, '..')
const PKG = join(EXAMPLE, 'node_modules', '@fluxora', 'webhooks-wasm')
const BIN = join(HERE, 'node_modules', '.bin')
const SECRET = 'edge-runtime-secret'

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

function signed(body, deliveryId, timestamp = Math.floor(Date.now() / 1000)) {
  const signature = createHmac('sha256', SECRET).update(`${timestamp}.`).update(body).digest('hex')
  return {
    'content-type': 'application/json',
    'x-fluxora-delivery-id': deliveryId,
    'x-fluxora-timestamp': String(timestamp),
    'x-fluxora-signature': signature,
  }
}

/** Starts a server process and resolves once its port answers HTTP; `stop()` ends it. */
async function serve(command, args, { cwd, env, port }) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} exited (${child.exitCode}) before listening:\n${output}`)
    try {
      await fetch(`${base}/`)
      break
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error(`${command} did not listen on ${port} within 60 s:\n${output}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return {
    base,
    async stop() {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}

async function post(base, body, headers) {
  const response = await fetch(`${base}/webhooks/fluxora`, { method: 'POST', headers, body })
  return { status: response.status, json: await response.json() }
}

/** The contract answers, as a receiver on that runtime gives them. */
async function checkReceiver(base, runtime) {
  const body = JSON.stringify({ event: 'stream.created', id: 'str_1', amount: '100.5', runtime })
  const headers = signed(body, `dlv_${runtime}_1`)
  assert.deepEqual(await post(base, body, headers), {
    status: 200,
    json: { received: true, id: `dlv_${runtime}_1`, event: 'stream.created' },
  })
  assert.deepEqual(await post(base, body, headers), {
    status: 409,
    json: { error: 'duplicate_delivery', message: 'Duplicate delivery id' },
  })
  const tampered = await post(base, body.replace('100.5', '999'), signed(body, `dlv_${runtime}_2`))
  assert.deepEqual([tampered.status, tampered.json.error], [401, 'signature_mismatch'])
  const stale = await post(base, body, signed(body, `dlv_${runtime}_3`, Math.floor(Date.now() / 1000) - 301))
  assert.deepEqual([stale.status, stale.json.error], [401, 'timestamp_outside_tolerance'])
  const unsigned = await post(base, body, { 'content-type': 'application/json' })
  assert.deepEqual([unsigned.status, unsigned.json.error], [401, 'missing_delivery_id'])
  // One byte over the 256 KiB default limit, correctly signed: refused on size.
  const large = JSON.stringify({ event: 'stream.updated', pad: 'x'.repeat(262_145 - 35) })
  assert.equal(Buffer.byteLength(large), 262_145)
  const tooLarge = await post(base, large, signed(large, `dlv_${runtime}_4`))
  assert.deepEqual([tooLarge.status, tooLarge.json.error], [413, 'payload_too_large'])
  // A body whose bytes are not what a JSON re-serialization would give still verifies.
  const spaced = '{ "event" : "stream.updated",\n  "note": "caf\u00e9" }'
  assert.equal((await post(base, spaced, signed(spaced, `dlv_${runtime}_5`))).status, 200)
}

test('workerd: the "workerd" entry with a precompiled wasm module', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fluxora-workerd-'))
  try {
    await mkdir(join(dir, 'pkg'))
    await cp(join(EXAMPLE, 'src', 'worker.js'), join(dir, 'worker.js'))
    for (const file of ['workerd.js', 'api.js', 'fluxora_webhooks_wasm.js', 'fluxora_webhooks_wasm_bg.wasm']) {
      await cp(join(PKG, file), join(dir, 'pkg', file))
    }
    const port = await freePort()
    const config = (await readFile(join(HERE, 'workerd.capnp'), 'utf8'))
      .replace('@PORT@', String(port))
      .replace('@SECRET@', SECRET)
    await writeFile(join(dir, 'config.capnp'), config)
    const server = await serve(join(BIN, 'workerd'), ['serve', join(dir, 'config.capnp')], { cwd: dir, port })
    try {
      await checkReceiver(server.base, 'workerd')
    } finally {
      await server.stop()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

for (const [runtime, args] of [
  ['deno', ['run', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', 'runtimes/serve.js']],
  ['bun', ['runtimes/serve.js']],
]) {
  test(`${runtime}: the default entry (inlined wasm)`, async () => {
    const port = await freePort()
    const server = await serve(join(BIN, runtime), args, {
      cwd: EXAMPLE,
      port,
      env: { PORT: String(port), FLUXORA_WEBHOOK_SECRET: SECRET, NO_COLOR: '1' },
    })
    try {
      await checkReceiver(server.base, runtime)
    } finally {
      await server.stop()
    }
  })
}
