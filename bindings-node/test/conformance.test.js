'use strict'
// Every case of the shared conformance file, through the Verifier (with a replay store sized
// by the case) and, for cases without replay state, through the verifyWebhookSignature drop-in.
const test = require('node:test')
const assert = require('node:assert/strict')
const w = require('..')
const { CASES, bodyBytes, checkCase, deliveryOf, dropInInput, expectResult, headersOf, verifierOptions } = require('./helpers.js')

const verifierFor = (testCase) => new w.Verifier(verifierOptions(testCase))

test('conformance: every signature case through Verifier.verifyHeaders', () => {
  assert.equal(CASES.signature_cases.length, 95)
  CASES.signature_cases.forEach((testCase, index) => {
    const verifier = verifierFor(testCase)
    checkCase(testCase, index, (d) => verifier.verifyHeaders(headersOf(d.headers), bodyBytes(d.body), d.now))
  })
})

test('conformance: every signature case through Verifier.verify with a string or Uint8Array body', () => {
  CASES.signature_cases.forEach((testCase, index) => {
    const verifier = verifierFor(testCase)
    const toDelivery = (d) => {
      const bytes = bodyBytes(d.body)
      // Valid UTF-8 bodies also go in as strings; others as a plain Uint8Array.
      const text = bytes.toString('utf8')
      const rawBody = Buffer.from(text, 'utf8').equals(bytes) && index % 2 === 0 ? text : new Uint8Array(bytes)
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
  for (const testCase of CASES.signature_cases.filter((c) => c.name === 'duplicate delivery id')) {
    for (const d of [...testCase.prior, testCase]) {
      const result = w.verifyWebhookSignature({ secret: testCase.config.secret, ...deliveryOf(d, bodyBytes(d.body)), isDuplicateDelivery })
      if (result.ok) seen.add(d.headers.delivery_id)
      assert.equal(result.code, (d.expect_code ?? d.expect.code))
    }
  }
})

test('conformance: every known answer', () => {
  for (const [index, ka] of CASES.known_answers.entries()) {
    const body = bodyBytes(ka.body)
    assert.equal(w.computeWebhookSignature(ka.secret, ka.timestamp, body), ka.signature, `known answer ${index}`)
    const headers = w.signDelivery(ka.secret, body, { timestamp: ka.timestamp })
    assert.equal(headers['x-fluxora-signature'], ka.signature)
  }
})

test('conformance: every decimal case', () => {
  CASES.decimal_cases.forEach((testCase, index) => {
    const label = `decimal case ${index}: ${testCase.name}`
    const result = w.validateDecimalString(testCase.input, 'amount', { amount: testCase.amount })
    if (testCase.expect.valid) {
      assert.deepEqual({ ...result }, { valid: true, value: testCase.expect.normalized }, label)
      if (testCase.amount) {
        assert.equal(w.parseToStroops(testCase.input), BigInt(testCase.expect.stroops), label)
        assert.equal(w.formatFromStroops(BigInt(testCase.expect.stroops)).replace(/^\+/, ''), w.formatFromStroops(w.parseToStroops(testCase.input)), label)
      }
    } else {
      assert.equal(result.valid, false, label)
      assert.equal(result.code, testCase.expect.code, label)
      assert.equal(result.field, 'amount', label)
      assert.equal(typeof result.message, 'string', label)
      if (testCase.amount) {
        assert.throws(() => w.parseToStroops(testCase.input), (e) => e.code === testCase.expect.code, label)
      }
    }
  })
})
