// The built package in a real headless Chromium: the page is served on 127.0.0.1 (with .wasm as
// application/wasm), loads the package, and writes its checks into the DOM, read with --dump-dom.
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PKG } from './helpers.js'

const PAGE = fileURLToPath(new URL('./browser/index.html', import.meta.url))
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json' }

function findChromium() {
  for (const candidate of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    try {
      if (candidate && statSync(candidate).isFile()) return candidate
    } catch {}
  }
  return undefined
}

function serve() {
  const root = fileURLToPath(PKG)
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname
    let file
    if (path === '/' || path === '/index.html') file = PAGE
    else if (path.startsWith('/pkg/')) file = join(root, normalize(path.slice('/pkg/'.length)).replace(/^(\.\.[/\\])+/, ''))
    try {
      const data = readFileSync(file)
      res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream' })
      res.end(data)
    } catch {
      res.writeHead(404).end('not found')
    }
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

test('headless Chromium loads the package and checks known answers, a mismatch and verifyRequest', { timeout: 120_000 }, async () => {
  const chromium = findChromium()
  assert.ok(chromium, 'chromium is not installed (scripts/test-wasm.sh installs it with apt-get install chromium)')
  const server = await serve()
  const profile = mkdtempSync(join(tmpdir(), 'fluxora-chromium-'))
  try {
    const { port } = server.address()
    const args = [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`, '--virtual-time-budget=10000', '--dump-dom', `http://127.0.0.1:${port}/index.html`,
    ]
    const dom = await new Promise((resolve, reject) => {
      execFile(chromium, args, { timeout: 90_000, maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout))
    })
    const text = dom.match(/<pre id="result">([^<]*)<\/pre>/)?.[1]
    assert.ok(text, `no result element in the dumped DOM:\n${dom.slice(0, 2000)}`)
    assert.ok(text.startsWith('RESULT '), `the page failed: ${text}`)
    const checks = JSON.parse(text.slice('RESULT '.length).replaceAll('&quot;', '"'))
    assert.deepEqual(checks, {
      knownJson: true, knownEmpty: true, knownBytes: true, verifyOk: true, duplicate: true,
      mismatch: true, verifyRequest: true, stroops: true, invalidBody: true, slim: true, noBuffer: true,
    })
  } finally {
    server.close()
    rmSync(profile, { recursive: true, force: true })
  }
})
