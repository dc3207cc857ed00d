// The baseline: what users run today. A minimal Express receiver that verifies the Fluxora
// contract with node:crypto (raw body, strict timestamp, 300 s window, HMAC-SHA256 over
// `timestamp.rawBody`, constant-time compare, 256 KiB limit) and an in-memory replay store
// (delivery ids and (timestamp, signature) pairs). Listens on 127.0.0.1:$PORT (0 = free port)
// and prints `listening <port>`.
'use strict';
const crypto = require('node:crypto');
const express = require('express');

const secret = process.env.WEBHOOK_SECRET || '';
const TOLERANCE = 300;
const seenIds = new Map();
const seenPairs = new Map();

function fail(res, status, error, message) {
  res.status(status).json({ error, message });
}

const app = express();
app.disable('x-powered-by');
app.post(
  '/internal/webhooks/receive',
  express.raw({ type: () => true, limit: 262144 }),
  (req, res) => {
    if (!secret) return fail(res, 500, 'missing_secret', 'Webhook secret is required');
    const id = req.get('x-fluxora-delivery-id');
    const ts = req.get('x-fluxora-timestamp');
    const sig = req.get('x-fluxora-signature');
    if (!id) return fail(res, 401, 'missing_delivery_id', 'Missing x-fluxora-delivery-id header');
    if (!ts) return fail(res, 401, 'missing_timestamp', 'Missing x-fluxora-timestamp header');
    if (!sig) return fail(res, 401, 'missing_signature', 'Missing x-fluxora-signature header');
    const t = ts.trim();
    if (!/^[0-9]+$/.test(t) || Number(t) <= 0 || !Number.isSafeInteger(Number(t))) {
      return fail(res, 400, 'invalid_timestamp', 'Timestamp must be a positive Unix seconds value');
    }
    const now = Math.floor(Date.now() / 1000);
    if (Math.abs(now - Number(t)) > TOLERANCE) {
      return fail(res, 401, 'timestamp_outside_tolerance', `Timestamp is outside the ${TOLERANCE} second verification window`);
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const expected = crypto.createHmac('sha256', secret).update(ts).update('.').update(body).digest();
    const received = sig.trim();
    const given = /^[0-9a-fA-F]{64}$/.test(received) ? Buffer.from(received, 'hex') : null;
    if (!given || !crypto.timingSafeEqual(expected, given)) {
      return fail(res, 401, 'signature_mismatch', 'Webhook signature verification failed');
    }
    const pair = `${Number(t)}:${given.toString('hex')}`;
    if (seenIds.has(id)) return fail(res, 409, 'duplicate_delivery', 'Duplicate delivery id');
    if (seenPairs.has(pair)) return fail(res, 409, 'replayed_signature', 'Signature was already used by another delivery');
    seenIds.set(id, now + 86400);
    seenPairs.set(pair, Number(t) + TOLERANCE);
    let event = null;
    try { event = JSON.parse(body.toString('utf8')); } catch { event = null; }
    const eventType = (event && (event.event || event.type)) || req.get('x-fluxora-event') || null;
    res.json({ ok: true, deliveryId: id, eventType, event });
  },
);
app.use((err, req, res, _next) => {
  if (err && err.type === 'entity.too.large') return fail(res, 413, 'payload_too_large', 'Payload exceeds 262144 bytes');
  return fail(res, 400, 'bad_request', 'Bad request');
});

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
