// The shared JavaScript contract suite (conformance/js/contract.cjs) against the built package.
import { createRequire } from 'node:module'
import * as w from '../pkg/index.js'

createRequire(import.meta.url)('../../conformance/js/contract.cjs').contractSuite(w, '@fluxora/webhooks-wasm')
