// Shared test helpers: the conformance plumbing (conformance/js/cases.cjs, bodies as plain
// Uint8Arrays: the package must not need a Buffer) and the built package's location. Tests
// run against the BUILT package in ../pkg (build it with ../build.sh or scripts/test-wasm.sh).
export {
  CASES,
  bodyBytes,
  checkCase,
  deliveryOf,
  dropInInput,
  expectResult,
  headersOf,
  hexBytes,
  REFERENCE,
  referenceInput,
  verifierOptions,
  webhookRequest,
} from '../../conformance/js/cases.cjs'

export const PKG = new URL('../pkg/', import.meta.url)
