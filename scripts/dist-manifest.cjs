'use strict'
// Prepares a staged copy of @fluxora/webhooks for `npm pack` (scripts/dist.sh, and the release
// workflow): the workspace's version on the main package and on every platform package that
// `napi create-npm-dirs` wrote under npm/, those packages as optionalDependencies (npm installs
// only the one whose os/cpu/libc match), and the WebAssembly build as a dependency (the loader's
// fallback). The committed package.json lists neither: nothing by those names is installed from
// the registry while developing.
// Usage: node scripts/dist-manifest.cjs STAGED_PACKAGE_DIR VERSION
const fs = require('node:fs')
const path = require('node:path')

const [dir, version] = process.argv.slice(2)
if (!dir || !/^\d+\.\d+\.\d+/.test(version ?? '')) {
  console.error('usage: dist-manifest.cjs STAGED_PACKAGE_DIR VERSION')
  process.exit(2)
}
const read = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))
const write = (file, json) => fs.writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`)

// npm packs LICENSE and LICENCE files by itself, but not these names.
const LICENSES = ['LICENSE-MIT', 'LICENSE-APACHE']
const mainFile = path.join(dir, 'package.json')
const main = read(mainFile)
const optional = {}
for (const platform of fs.readdirSync(path.join(dir, 'npm')).sort()) {
  const file = path.join(dir, 'npm', platform, 'package.json')
  const manifest = read(file)
  for (const field of ['os', 'cpu']) {
    if (!Array.isArray(manifest[field])) throw new Error(`${manifest.name}: no ${field}`)
  }
  manifest.version = version
  Object.assign(manifest, { homepage: main.homepage, bugs: main.bugs, keywords: main.keywords })
  manifest.files = [...manifest.files, ...LICENSES]
  // The page the registry shows: install the main package; npm picks this one by os/cpu/libc.
  fs.writeFileSync(
    path.join(dir, 'npm', platform, 'README.md'),
    `# ${manifest.name}\n\n\`\`\`sh\nnpm install ${main.name}\n\`\`\`\n\n` +
      `The ${platform} native addon of [\`${main.name}\`](${main.homepage}). Install \`${main.name}\`, ` +
      `not this package: npm installs the one addon whose \`os\`/\`cpu\`/\`libc\` match the machine.\n`,
  )
  write(file, manifest)
  optional[manifest.name] = version
}
if (Object.keys(optional).length !== main.napi.targets.length) {
  throw new Error(`npm/ holds ${Object.keys(optional).length} platform packages for ${main.napi.targets.length} napi.targets`)
}
main.version = version
// The addons live in the platform packages, never in the main one.
main.files = [...main.files.filter((entry) => !entry.endsWith('.node')), ...LICENSES]
// Building and testing happen in the repository, not in an installed copy.
for (const field of ['scripts', 'devDependencies', 'overrides', '//']) delete main[field]
main.dependencies = { ...main.dependencies, '@fluxora/webhooks-wasm': version }
main.optionalDependencies = optional
write(mainFile, main)
console.log(`${main.name}@${version}: ${Object.keys(optional).length} optionalDependencies`)
