'use strict'
// The one JavaScript contract suite: every case of the shared conformance file, run against
// an npm package's public API (`@fluxora/webhooks` and `@fluxora/webhooks-wasm` call it with
// their own module). Registers node:test tests; a package adds only what is its own.
const test = require('node:test')
const assert = require('node:assert/strict')
const {
  CASES,
  bodyBytes,
  checkCase,
  deliveryOf,
  dropInInput,
  expectResult,
  headersOf,
  verifierOptions,
} = require('./cases.cjs')

/** snake_case (the conformance file) to camelCase (the JavaScript option names). */
const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

/** The secret-less cases run only through the drop-in: a Verifier refuses to be built. */
const hasSecret = (testCase) => typeof testCase.config.secret === 'string' && testCase.config.secret !== ''

const decodesAsUtf8 = (bytes) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

/** Fetch `Headers` carry only byte strings and trim surrounding whitespace. */
const sendable = (value) => value === value.trim() && /^[\x20-\x7e]*$/.test(value)

/** Title-Case spelling of a header name, as a log or AWS Lambda's `event.headers` has it. */
const titleCase = (name) => name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('-')

/**
 * The header forms a JavaScript receiver meets, built from a case's `[name, value]` pairs:
 * an array of pairs, a plain object (an exact name repeated becomes an array value, as in
 * Node's `IncomingHttpHeaders`), a `Map` of the same, and a Fetch `Headers` (which combines
 * repeated fields itself) where every value can be sent.
 */
function headerForms(pairs) {
  const object = {}
  for (const [name, value] of pairs) {
    if (object[name] === undefined) object[name] = value
    else object[name] = [].concat(object[name], value)
  }
  const forms = [
    ['array of pairs', pairs.map((pair) => [...pair])],
    ['plain object', object],
    ['Map', new Map(Object.entries(object))],
  ]
  if (pairs.every(([, value]) => sendable(value))) {
    const headers = new Headers()
    for (const [name, value] of pairs) headers.append(name, value)
    forms.push(['Fetch Headers', headers])
  }
  return forms
}

/** The `new Verifier(...)` options of a settings case: only the keys it gives. */
function settingsOptions(config) {
  const options = {}
  for (const [key, value] of Object.entries(config)) {
    if (key === 'replay') {
      options.replay = Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), v]))
    } else options[camel(key)] = value
  }
  return options
}

function contractSuite(w, label) {
  const verifierFor = (testCase) => new w.Verifier(verifierOptions(testCase))

  test(`${label}: every signature case through Verifier.verifyHeaders, in three header forms`, () => {
    let ran = 0
    CASES.signature_cases.forEach((testCase, index) => {
      if (!hasSecret(testCase)) return
      const forms = [
        (h) => headersOf(h),
        (h) => Object.fromEntries(Object.entries(headersOf(h)).map(([k, v]) => [titleCase(k), v])),
        (h) => Object.entries(headersOf(h)),
      ]
      for (const form of forms) {
        const verifier = verifierFor(testCase)
        checkCase(testCase, index, (d) => verifier.verifyHeaders(form(d.headers), bodyBytes(d.body), d.now))
      }
      ran += 1
    })
    assert.ok(ran > 90, `ran ${ran}`)
  })

  test(`${label}: every signature case through Verifier.verify with string, Uint8Array and ArrayBuffer bodies`, () => {
    CASES.signature_cases.forEach((testCase, index) => {
      if (!hasSecret(testCase)) return
      const verifier = verifierFor(testCase)
      const toDelivery = (d) => {
        const bytes = bodyBytes(d.body)
        const choice = index % 3
        if (choice === 0 && decodesAsUtf8(bytes)) return deliveryOf(d, new TextDecoder().decode(bytes))
        if (choice === 1) return deliveryOf(d, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
        return deliveryOf(d, bytes)
      }
      checkCase(testCase, index, (d) => verifier.verify(toDelivery(d)))
    })
  })

  test(`${label}: cases without replay state through the verifyWebhookSignature drop-in`, () => {
    let ran = 0
    CASES.signature_cases.forEach((testCase, index) => {
      if (testCase.prior || testCase.replay) return
      const result = w.verifyWebhookSignature(dropInInput(testCase, bodyBytes(testCase.body)))
      expectResult(result, testCase.expect, `case ${index}: ${JSON.stringify(testCase.name)}`)
      ran += 1
    })
    assert.ok(ran > 70, `ran ${ran}`)
  })

  test(`${label}: a Verifier without a secret is a configuration error`, () => {
    for (const testCase of CASES.signature_cases.filter((c) => !hasSecret(c))) {
      assert.throws(() => verifierFor(testCase), (error) => error.code === 'ERR_FLUXORA_INVALID_SETTING' && error.field === 'secret' && error.problem === 'missing', testCase.name)
    }
  })

  test(`${label}: every reservation case through Verifier.reserve`, () => {
    assert.ok(CASES.reservation_cases.length >= 8)
    for (const testCase of CASES.reservation_cases) {
      const verifier = new w.Verifier({ ...verifierOptions(testCase), reservationLeaseSeconds: testCase.lease_seconds })
      const held = []
      testCase.steps.forEach((step, index) => {
        const label = `${testCase.name}: step ${index}`
        const d = step.delivery
        if (step.op === 'reserve') {
          const reservation = verifier.reserve(headersOf(d.headers), bodyBytes(d.body), d.now)
          expectResult(reservation.result, step.expect, label)
          held.push(reservation)
        } else if (step.op === 'verify') {
          expectResult(verifier.verifyHeaders(headersOf(d.headers), bodyBytes(d.body), d.now), step.expect, label)
          held.push(undefined)
        } else {
          assert.equal(held[step.of][step.op](step.now), step.expect, label)
          held.push(undefined)
        }
      })
    }
  })

  test(`${label}: every header case in every header form`, () => {
    let ran = 0
    CASES.header_cases.forEach((testCase, index) => {
      for (const [form, headers] of headerForms(testCase.header_pairs)) {
        const verifier = verifierFor(testCase)
        expectResult(verifier.verifyHeaders(headers, bodyBytes(testCase.body), testCase.now), testCase.expect, `header case ${index} (${form}): ${JSON.stringify(testCase.name)}`)
        ran += 1
      }
    })
    assert.ok(ran >= CASES.header_cases.length * 3, `ran ${ran}`)
  })

  test(`${label}: every settings case fails with its field and problem`, () => {
    assert.ok(CASES.settings_cases.length > 20)
    for (const testCase of CASES.settings_cases) {
      assert.throws(
        () => new w.Verifier(settingsOptions(testCase.config)),
        (error) => {
          assert.equal(error.code, 'ERR_FLUXORA_INVALID_SETTING', testCase.name)
          assert.equal(error.field, camel(testCase.expect.field), testCase.name)
          assert.equal(error.problem, testCase.expect.problem, testCase.name)
          assert.ok(error instanceof (error.problem === 'not_whole' || error.problem === 'out_of_range' ? RangeError : TypeError), testCase.name)
          assert.match(error.message, new RegExp(`^${error.field} `), testCase.name)
          return true
        },
        testCase.name,
      )
    }
  })

  test(`${label}: duplicate detection through the isDuplicateDelivery callback`, () => {
    let ran = 0
    const seen = new Set()
    const isDuplicateDelivery = (id) => seen.has(id)
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

  test(`${label}: every known answer, and signed header sets in the one delivery-id format`, () => {
    assert.equal(CASES.known_answers.length, 3)
    for (const [index, ka] of CASES.known_answers.entries()) {
      const body = bodyBytes(ka.body)
      assert.equal(w.computeWebhookSignature(ka.secret, ka.timestamp, body), ka.signature, `known answer ${index}`)
      assert.equal(w.computeWebhookSignature(ka.secret, Number(ka.timestamp), body), ka.signature, `known answer ${index} (number)`)
      const headers = w.signDelivery(ka.secret, body, { timestamp: ka.timestamp, event: 'stream.updated' })
      assert.equal(headers['x-fluxora-signature'], ka.signature)
      assert.match(headers['x-fluxora-delivery-id'], /^dlv_[0-9a-f]{32}$/)
      assert.deepEqual(Object.keys(headers), ['x-fluxora-delivery-id', 'x-fluxora-timestamp', 'x-fluxora-signature', 'x-fluxora-event'])
      const verifier = new w.Verifier({ secret: ka.secret })
      assert.equal(verifier.verifyHeaders(headers, body, Number(ka.timestamp)).code, 'ok')
    }
  })

  test(`${label}: every decimal case`, () => {
    assert.ok(CASES.decimal_cases.length >= 46)
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
}

module.exports = { contractSuite, headerForms, settingsOptions, camel }
