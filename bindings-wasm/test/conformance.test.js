// Every case of the shared conformance file, through Verifier.verifyHeaders (plain objects and
// Fetch Headers), Verifier.verify (Uint8Array, ArrayBuffer and string bodies) and, for cases
// without replay state, the verifyWebhookSignature drop-in; every known answer; every decimal case.
import test from 'node:test'
import assert from 'node:assert/strict'
import * as w from '../pkg/index.js'
import { CASES, bodyBytes, checkCase, deliveryOf, dropInInput, expectResult, headersOf, verifierOptions } from './helpers.js'

const verifierFor = (testCase) => new w.Verifier(verifierOptions(testCase))

const decodesAsUtf8 = (bytes) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

test('conformance: every signature case through Verifier.verifyHeaders (plain object headers)', () => {
  assert.equal(CASES.signature_cases.length, 95)
  CASES.signature_cases.forEach((testCase, index) => {
    const verifier = verifierFor(testCase)
    checkCase(testCase, index, (d) => verifier.verifyHeaders(headersOf(d.headers), bodyBytes(d.body), d.now))
  })
})

test('conformance: every signature case through Verifier.verifyHeaders (Fetch Headers, ArrayBuffer body)', () => {
  let ran = 0
  CASES.signature_cases.forEach((testCase, index) => {
    // Fetch Headers carry only byte strings, and trim surrounding whitespace.
    const sendable = (h) => Object.values(headersOf(h)).every((v) => v === v.trim() && /^[\x20-\x7e]*$/.test(v))
    if (![testCase, ...(testCase.prior || [])].every((d) => sendable(d.headers))) return
    const verifier = verifierFor(testCase)
    const asBuffer = (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
    checkCase(testCase, index, (d) => verifier.verifyHeaders(new Headers(headersOf(d.headers)), asBuffer(bodyBytes(d.body)), d.now))
    ran += 1
  })
  assert.ok(ran > 80, `ran ${ran}`)
})

test('conformance: every signature case through Verifier.verify with a string or Uint8Array body', () => {
  CASES.signature_cases.forEach((testCase, index) => {
    const verifier = verifierFor(testCase)
    const toDelivery = (d) => {
      const bytes = bodyBytes(d.body)
      const rawBody = decodesAsUtf8(bytes) && index % 2 === 0 ? new TextDecoder().decode(bytes) : bytes
      return deliveryOf(d, rawBody)
    }
    checkCase(testCase, index, (d) => verifier.verify(toDelivery(d)))
  })
})

test('conformance: cases without replay state through the verifyWebhookSignature drop-in', () => {
  let ran = 0
  CASES.signature_cases.forEach((testCase, index) => {
    if (testCase.prior || testCase.replay) return
    const result = w.verifyWebhookSignature(dropInInput(testCase, bodyBytes(testCase.body)))
    expectResult(result, testCase.expect, `case ${index}: ${JSON.stringify(testCase.name)}`)
    ran += 1
  })
  assert.ok(ran > 70, `ran ${ran}`)
})

test('conformance: duplicate detection through the isDuplicateDelivery callback', () => {
  const seen = new Set()
  const isDuplicateDelivery = (id) => seen.has(id)
  let ran = 0
  for (const testCase of CASES.signature_cases.filter((c) => c.name === 'duplicate delivery id')) {
    for (const d of [...testCase.prior, testCase]) {
      const result = w.verifyWebhookSignature({ secret: testCase.config.secret, ...deliveryOf(d, bodyBytes(d.body)), isDuplicateDelivery })
      if (result.ok) seen.add(d.headers.delivery_id)
      assert.equal(result.code, d.expect_code ?? d.expect.code)
      ran += 1
    }
  }
  assert.ok(ran >= 2)
})

test('conformance: every known answer', () => {
  assert.equal(CASES.known_answers.length, 3)
  for (const [index, ka] of CASES.known_answers.entries()) {
    const body = bodyBytes(ka.body)
    assert.equal(w.computeWebhookSignature(ka.secret, ka.timestamp, body), ka.signature, `known answer ${index}`)
    assert.equal(w.computeWebhookSignature(ka.secret, Number(ka.timestamp), body.buffer), ka.signature, `known answer ${index} (ArrayBuffer)`)
    const headers = w.signDelivery(ka.secret, body, { timestamp: ka.timestamp })
    assert.equal(headers['x-fluxora-signature'], ka.signature)
  }
})

test('conformance: every decimal case', () => {
  assert.equal(CASES.decimal_cases.length, 46)
  CASES.decimal_cases.forEach((testCase, index) => {
    const label = `decimal case ${index}: ${testCase.name}`
    const result = w.validateDecimalString(testCase.input, 'amount', { amount: testCase.amount })
    if (testCase.expect.valid) {
      assert.deepEqual({ ...result }, { valid: true, value: testCase.expect.normalized }, label)
      if (testCase.amount) {
        assert.equal(w.parseToStroops(testCase.input), BigInt(testCase.expect.stroops), label)
        assert.equal(w.parseToStroops(w.formatFromStroops(BigInt(testCase.expect.stroops))), BigInt(testCase.expect.stroops), label)
      }
    } else {
      assert.equal(result.valid, false, label)
      assert.equal(result.code, testCase.expect.code, label)
      assert.equal(result.field, 'amount', label)
      assert.equal(typeof result.message, 'string', label)
      if (testCase.amount) {
        assert.throws(() => w.parseToStroops(testCase.input), (e) => e instanceof Error && e.code === testCase.expect.code, label)
      }
    }
  })
})
