'use strict'
// The shared JavaScript contract suite (conformance/js/contract.cjs) against this package.
require('../../conformance/js/contract.cjs').contractSuite(require('..'), '@fluxora/webhooks')
