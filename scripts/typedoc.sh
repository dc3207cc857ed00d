#!/usr/bin/env bash
# The TypeScript API reference of one package, from its published declarations:
#   bash scripts/typedoc.sh PATH/TO/index.d.ts OUTPUT_DIR
# TypeDoc (pinned, installed once under ~/.cache/fluxora-tools) with warnings as errors: an
# undocumented export, a broken {@link} or a type error in the declarations fails the build.
. "$(dirname "$0")/lib.sh"

entry="$1"
out="$2"
tools="${FLUXORA_TOOLS:-$HOME/.cache/fluxora-tools}/typedoc-0.28.20"
if [ ! -x "$tools/node_modules/.bin/typedoc" ]; then
  mkdir -p "$tools"
  [ -f "$tools/package.json" ] || echo '{"private":true}' >"$tools/package.json"
  npm install --prefix "$tools" --no-audit --no-fund --save-exact \
    typedoc@0.28.20 typescript@5.9.3 @types/node@20.19.43 >&2
fi
config="$(mktemp -d)"
trap 'rm -rf "$config"' EXIT
cat >"$config/tsconfig.json" <<JSON
{
  "compilerOptions": {
    "strict": true,
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "target": "es2022",
    "lib": ["es2022", "dom"],
    "typeRoots": ["$tools/node_modules/@types"],
    "types": ["node"],
    "noEmit": true
  },
  "files": ["$entry"]
}
JSON
"$tools/node_modules/.bin/typedoc" --tsconfig "$config/tsconfig.json" --entryPoints "$entry" \
  --out "$out" --treatWarningsAsErrors --readme none --disableSources
