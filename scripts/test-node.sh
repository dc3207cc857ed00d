#!/usr/bin/env bash
# Node: installs what is missing, builds the napi-rs addon (release), runs the whole Node suite
# (conformance, API, properties, Express over HTTP, Fetch, Redis), the conformance suite again on
# the WebAssembly fallback, the `tsc --strict` check of
# the declarations, and a pack-and-install of the npm tarball into a fresh project.
. "$(dirname "$0")/lib.sh"

NODE_DIR="$ROOT/bindings-node"
EXAMPLE_DIR="$ROOT/examples/node-express"
export FLUXORA_REDIS_URL="${FLUXORA_REDIS_URL:-redis://127.0.0.1:6379}"

node_toolchain

step "redis on 127.0.0.1:6379"
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --save '' --appendonly no
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.1; done
fi

step "npm ci (bindings-node)"
npm_ci "$NODE_DIR"

step "the WebAssembly fallback: @fluxora/webhooks-wasm built and linked into node_modules"
# The package depends on it once published (scripts/dist-manifest.cjs); here the built
# package stands in for the registry's.
bash "$ROOT/bindings-wasm/build.sh"
mkdir -p "$NODE_DIR/node_modules/@fluxora"
ln -sfn "$ROOT/bindings-wasm/pkg" "$NODE_DIR/node_modules/@fluxora/webhooks-wasm"

step "napi build --platform --release (and the shared API declaration)"
cp "$ROOT/js-types/common.d.ts" "$NODE_DIR/lib/common.d.ts"
(cd "$NODE_DIR" && npx napi build --platform --release)

step "npm ci (examples/node-express)"
npm_ci "$EXAMPLE_DIR"

step "node --test"
# The cross-runtime Redis test drives the Python package from the test venv when
# scripts/test-python.sh has built and installed it there.
venv_python="$CARGO_TARGET_DIR/venv/bin/python"
if [ -z "${FLUXORA_PYTHON:-}" ] && [ -x "$venv_python" ] && "$venv_python" -c "import fluxora_webhooks, redis" 2>/dev/null; then
  export FLUXORA_PYTHON="$venv_python"
fi
(cd "$NODE_DIR" && node --test test/*.test.js)

step "node --test on the WebAssembly fallback (FLUXORA_WEBHOOKS_FORCE_WASM=1)"
# The whole contract suite and the API, property, Fetch, Express and two-phase tests, with the
# native addon present but passed over: the same answers from the WebAssembly build. Skipped
# (each says why): what needs `Verifier.check` (asynchronous replay stores: Redis), which only
# the addon has.
(cd "$NODE_DIR" && FLUXORA_WEBHOOKS_FORCE_WASM=1 node --test \
  test/conformance.test.js test/fallback.test.js test/api.test.js test/property.test.js \
  test/fetch.test.js test/express.test.js test/two-phase.test.js)

step "examples/node-frameworks (Fastify, Koa, NestJS, Hono, Next.js route handlers)"
npm_ci "$ROOT/examples/node-frameworks"
(cd "$ROOT/examples/node-frameworks" && node --test test/*.test.js)

step "tsc --strict (types-check/example.ts)"
(cd "$NODE_DIR" && npx tsc -p types-check)

step "npm pack, then install the tarball into a fresh project"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$NODE_DIR" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball="$(ls "$work"/fluxora-webhooks-*.tgz)"
mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund "$tarball" >/dev/null
cat >check.cjs <<'JS'
const w = require('@fluxora/webhooks')
const body = '{"event":"stream.updated"}'
const headers = w.signDelivery('topsecret', body, { timestamp: 1710000000 })
const result = new w.Verifier({ secret: 'topsecret' }).verifyHeaders(headers, Buffer.from(body), 1710000000)
if (result.code !== 'ok' || headers['x-fluxora-signature'] !== '925006549b879c8d9e91c10a153254fb4b6e2241820a1b072e28aa2fa8caeb79') process.exit(1)
console.log('require: ok')
JS
cat >check.mjs <<'JS'
import { verifyWebhookSignature, OutcomeCode } from '@fluxora/webhooks'
const result = verifyWebhookSignature({ secret: 'topsecret', deliveryId: 'd', timestamp: '1710000000',
  signature: 'a58f63482c493d44f954ec6c03e39ba650afb13861ab782835c1e08aa7d56366', rawBody: '', now: 1710000000 })
if (result.code !== OutcomeCode.OK) process.exit(1)
console.log('import: ok')
JS
node check.cjs
node check.mjs
echo "node suite: all checks passed"
