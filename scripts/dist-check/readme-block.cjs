'use strict'
// Prints a README's first fenced code block in a language (`node readme-block.cjs README.md js`),
// after checking that the README's first block is its install command (`pip install` /
// `npm install` / `cargo add`): the page a registry shows starts with how to get the package.
const fs = require('node:fs')

const [file, language] = process.argv.slice(2)
const blocks = [...fs.readFileSync(file, 'utf8').matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)]
const [first] = blocks
if (!first || first[1] !== 'sh' || !/^(pip install|npm install|cargo add) \S+\n$/.test(first[2])) {
  console.error(`${file}: the first code block is not an install command`)
  process.exit(1)
}
const block = blocks.find((match) => match[1] === language)
if (!block) {
  console.error(`${file}: no ${language} block`)
  process.exit(1)
}
process.stdout.write(block[2])
