//! The OpenAPI 3.1 document, built from the same route table the tests check against
//! the router.

use serde_json::{Map, Value, json};

/// One documented operation.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// Lowercase HTTP method.
    pub method: &'static str,
    /// Path in OpenAPI form (`{id}`), the same as axum's.
    pub path: &'static str,
    /// Summary.
    pub summary: &'static str,
    /// Requires an API key.
    pub auth: bool,
    /// Answers in the `{ success, data, meta }` envelope (the receiver does not).
    pub envelope: bool,
    /// Statuses it can answer, besides 429 and 500.
    pub statuses: &'static [u16],
}

const fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: bool,
    envelope: bool,
    statuses: &'static [u16],
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        summary,
        auth,
        envelope,
        statuses,
    }
}

/// Every route the server serves.
pub const ROUTES: &[RouteDoc] = &[
    route("get", "/", "API info", false, true, &[200]),
    route(
        "get",
        "/health",
        "Health: database check, indexer freshness",
        false,
        true,
        &[200],
    ),
    route("get", "/health/live", "Liveness", false, true, &[200]),
    route(
        "get",
        "/health/ready",
        "Readiness (503 when the database is unreachable)",
        false,
        true,
        &[200, 503],
    ),
    route(
        "get",
        "/metrics",
        "Prometheus text metrics",
        false,
        false,
        &[200],
    ),
    route(
        "get",
        "/openapi.json",
        "This document",
        false,
        false,
        &[200],
    ),
    route(
        "post",
        "/api/streams",
        "Create a stream (Idempotency-Key supported)",
        true,
        true,
        &[201, 400, 401, 403, 409, 413, 415],
    ),
    route(
        "get",
        "/api/streams",
        "List streams (filters status, sender, recipient; cursor pages)",
        false,
        true,
        &[200, 400],
    ),
    route(
        "get",
        "/api/streams/{id}",
        "Get a stream",
        false,
        true,
        &[200, 404],
    ),
    route(
        "delete",
        "/api/streams/{id}",
        "Cancel a stream",
        true,
        true,
        &[200, 401, 403, 404, 409],
    ),
    route(
        "patch",
        "/api/streams/{id}/status",
        "Change a stream's status (allowed transitions only)",
        true,
        true,
        &[200, 400, 401, 403, 404, 409, 413, 415],
    ),
    route(
        "post",
        "/internal/webhooks/receive",
        "Inbound signed webhook receiver",
        false,
        false,
        &[200, 400, 401, 409, 413, 429, 500],
    ),
    route(
        "get",
        "/ws/streams",
        "WebSocket feed of stream updates (subscribe / unsubscribe by streamId)",
        false,
        false,
        &[101, 400, 429, 503],
    ),
    route(
        "post",
        "/internal/indexer/batches",
        "Ingest a batch of chain events (worker token): duplicates ignored, reorgs rolled back",
        true,
        true,
        &[200, 400, 401, 403, 413, 415, 503],
    ),
    route(
        "post",
        "/api/admin/indexer/clear-stall",
        "Clear the latched indexer stall (admin; 409 INDEXER_LAGGING while still behind)",
        true,
        true,
        &[200, 401, 403, 409, 503],
    ),
    route(
        "post",
        "/api/admin/indexer/clear-reorg",
        "Clear the indexer's reorgDetected flag (admin)",
        true,
        true,
        &[200, 401, 403, 503],
    ),
    route(
        "post",
        "/api/admin/webhooks/endpoints",
        "Register a webhook endpoint (admin); the secret is answered once",
        true,
        true,
        &[201, 400, 401, 403, 413, 415],
    ),
    route(
        "get",
        "/api/admin/webhooks/endpoints",
        "List webhook endpoints (admin; never with secrets)",
        true,
        true,
        &[200, 401, 403],
    ),
    route(
        "delete",
        "/api/admin/webhooks/endpoints/{id}",
        "Delete a webhook endpoint with its deliveries (admin)",
        true,
        true,
        &[200, 401, 403, 404],
    ),
    route(
        "post",
        "/api/admin/webhooks/endpoints/{id}/rotate-secret",
        "Rotate an endpoint's signing secret (admin); the new secret is answered once",
        true,
        true,
        &[200, 400, 401, 403, 404],
    ),
    route(
        "post",
        "/api/admin/webhooks/endpoints/{id}/disable",
        "Disable an endpoint: no new deliveries; pending ones wait (admin)",
        true,
        true,
        &[200, 401, 403, 404],
    ),
    route(
        "post",
        "/api/admin/webhooks/endpoints/{id}/enable",
        "Enable an endpoint again (admin)",
        true,
        true,
        &[200, 401, 403, 404],
    ),
    route(
        "get",
        "/api/admin/webhooks/deliveries",
        "List outbound deliveries, newest first (admin; filters status, endpointId, streamId, limit)",
        true,
        true,
        &[200, 400, 401, 403],
    ),
    route(
        "get",
        "/api/admin/webhooks/deliveries/{id}",
        "One delivery with every attempt (admin)",
        true,
        true,
        &[200, 401, 403, 404],
    ),
    route(
        "get",
        "/api/admin/webhooks/dead-letters",
        "List dead letters with their reason codes (admin)",
        true,
        true,
        &[200, 400, 401, 403],
    ),
    route(
        "post",
        "/api/admin/webhooks/dead-letters/{id}/replay",
        "Put a dead letter back in the outbox with a fresh attempt budget (admin)",
        true,
        true,
        &[200, 401, 403, 404, 409],
    ),
];

fn stream_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": { "type": "string", "example": "str_0123456789abcdef01234567" },
            "sender": { "$ref": "#/components/schemas/AccountId" },
            "recipient": { "$ref": "#/components/schemas/AccountId" },
            "depositAmount": { "$ref": "#/components/schemas/Amount" },
            "ratePerSecond": { "$ref": "#/components/schemas/Amount" },
            "startTime": { "type": "integer", "minimum": 0 },
            "endTime": { "type": ["integer", "null"], "minimum": 0 },
            "status": { "type": "string", "enum": ["active", "paused", "completed", "cancelled"] },
            "createdAt": { "type": "string", "format": "date-time" },
            "updatedAt": { "type": "string", "format": "date-time" }
        }
    })
}

fn operation(route: &RouteDoc) -> Value {
    let mut responses = Map::new();
    for status in route.statuses.iter().chain(&[429, 500]) {
        let schema = match (route.envelope, *status) {
            (_, 429) if route.path == "/internal/webhooks/receive" => {
                "#/components/schemas/ReceiverError"
            }
            (true, s) if s < 300 => "#/components/schemas/Success",
            (true, _) => "#/components/schemas/Error",
            (false, 200) if route.path == "/internal/webhooks/receive" => {
                "#/components/schemas/ReceiverOk"
            }
            (false, _) if route.path == "/internal/webhooks/receive" => {
                "#/components/schemas/ReceiverError"
            }
            (false, _) => "#/components/schemas/Error",
        };
        let content = if route.path == "/metrics" && *status == 200 {
            json!({ "text/plain": { "schema": { "type": "string" } } })
        } else {
            json!({ "application/json": { "schema": { "$ref": schema } } })
        };
        responses.insert(
            status.to_string(),
            json!({ "description": status.to_string(), "content": content }),
        );
    }
    let mut op = json!({ "summary": route.summary, "responses": responses });
    let mut parameters = Vec::new();
    if route.path.contains("{id}") {
        parameters.push(
            json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }),
        );
    }
    if route.method == "get" && route.path == "/api/streams" {
        parameters.extend([
            json!({ "name": "status", "in": "query", "schema": { "type": "string", "enum": ["active", "paused", "completed", "cancelled"] } }),
            json!({ "name": "sender", "in": "query", "schema": { "$ref": "#/components/schemas/AccountId" } }),
            json!({ "name": "recipient", "in": "query", "schema": { "$ref": "#/components/schemas/AccountId" } }),
            json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 20 } }),
            json!({ "name": "cursor", "in": "query", "schema": { "type": "string" } }),
        ]);
    }
    if route.method == "post" && route.path == "/api/streams" {
        parameters.push(json!({ "name": "Idempotency-Key", "in": "header", "schema": { "type": "string", "maxLength": 255 } }));
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/CreateStream" } } } });
    }
    if route.path == "/api/streams/{id}/status" {
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": {
            "type": "object", "required": ["status"],
            "properties": { "status": { "type": "string", "enum": ["active", "paused", "completed", "cancelled"] } }
        } } } });
    }
    if route.path == "/internal/webhooks/receive" {
        for name in [
            "x-fluxora-delivery-id",
            "x-fluxora-timestamp",
            "x-fluxora-signature",
            "x-fluxora-event",
        ] {
            parameters
                .push(json!({ "name": name, "in": "header", "schema": { "type": "string" } }));
        }
        op["requestBody"] = json!({ "required": true, "content": { "*/*": { "schema": { "type": "string", "format": "binary", "maxLength": 262144 } } } });
        op["description"] = json!(
            "Verifies HMAC-SHA256(secret, timestamp + \".\" + rawBody) with the core; \
            answers every outcome of the contract with its status. eventType is the signed body's \
            `event` (or `type`) field, else the unsigned x-fluxora-event header."
        );
    }
    if route.method == "post" && route.path == "/api/admin/webhooks/endpoints" {
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": {
            "type": "object", "required": ["url"],
            "properties": {
                "url": { "type": "string", "format": "uri", "maxLength": 2048, "description": "http(s) without credentials; https unless the host is loopback" },
                "description": { "type": "string", "maxLength": 500 }
            }
        } } } });
    }
    if route.path.ends_with("/rotate-secret") {
        op["requestBody"] = json!({ "required": false, "content": { "application/json": { "schema": {
            "type": "object",
            "properties": { "secret": { "type": "string", "minLength": 24, "maxLength": 256, "description": "Use this secret (already given to the receiver) instead of generating one" } }
        } } } });
        op["description"] = json!(
            "The new secret signs every attempt from the moment of rotation. Receivers keep \
            accepting the previous secret for their grace window (the core's previous secret with \
            rotatedAt; 86400 s by default): configure the receiver with the new secret as current \
            and the old one as previous, ideally before rotating (pass the secret in the body)."
        );
    }
    if route.path == "/ws/streams" {
        op["description"] = json!(
            "Upgrade to a WebSocket. Client text messages: {\"type\": \"subscribe\"|\"unsubscribe\", \"streamId\"} \
            (answered subscribed / unsubscribed). Server messages: {\"type\": \"stream_update\", streamId, eventId, payload} \
            (each (streamId, eventId) once per client) and {\"type\": \"error\", code, message} with codes \
            PAYLOAD_TOO_LARGE (over 4096 bytes), RATE_LIMIT_EXCEEDED (over 30 messages in 10 s), BINARY_NOT_SUPPORTED, \
            INVALID_MESSAGE, UNKNOWN_TYPE; the connection stays open after an error. Pings every 30 s; a client that \
            misses a pong is dropped. 429 when the client IP holds its connection limit."
        );
    }
    if route.path == "/internal/indexer/batches" {
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": {
            "type": "object", "required": ["events"],
            "properties": { "events": { "type": "array", "maxItems": 1000, "items": {
                "type": "object",
                "required": ["eventId", "ledger", "ledgerHash", "streamId", "type", "payload"],
                "properties": {
                    "eventId": { "type": "string" },
                    "ledger": { "type": "integer", "minimum": 1 },
                    "ledgerHash": { "type": "string" },
                    "streamId": { "type": "string" },
                    "type": { "type": "string", "enum": ["stream.created", "stream.paused", "stream.resumed", "stream.completed", "stream.cancelled"] },
                    "payload": { "type": "object", "description": "stream.created: the create-stream fields" }
                }
            } } }
        } } } });
        op["description"] = json!(
            "Known event ids are ignored. A known ledger with a different hash is a reorg: the \
            chain events of that ledger and every later one are deleted, the streams they touched \
            are re-derived from the remaining events (announced as stream.reorged), then the batch \
            is applied. Batches are serialized."
        );
    }
    let delivery_list = route.path == "/api/admin/webhooks/deliveries"
        || route.path == "/api/admin/webhooks/dead-letters";
    if route.method == "get" && delivery_list {
        if route.path.ends_with("/deliveries") {
            parameters.push(json!({ "name": "status", "in": "query", "schema": { "type": "string", "enum": ["pending", "delivered", "dead"] } }));
        }
        parameters.extend([
            json!({ "name": "endpointId", "in": "query", "schema": { "type": "string" } }),
            json!({ "name": "streamId", "in": "query", "schema": { "type": "string" } }),
            json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 50 } }),
        ]);
    }
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    if route.auth {
        op["security"] = json!([{ "bearer": [] }, { "apiKey": [] }]);
    }
    op
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        item[route.method] = operation(route);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Fluxora API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Fluxora reference server. Amounts are decimal strings (at most 7 fractional digits)."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "apiKey": { "type": "apiKey", "in": "header", "name": "X-Api-Key" }
            },
            "schemas": {
                "AccountId": { "type": "string", "pattern": "^G[A-Z2-7]{55}$", "description": "Stellar account id (StrKey, CRC16-XModem checked)" },
                "Amount": { "type": "string", "pattern": "^[+-]?[0-9]+(\\.[0-9]+)?$" },
                "Stream": stream_schema(),
                "CreateStream": {
                    "type": "object",
                    "required": ["sender", "recipient", "depositAmount", "ratePerSecond"],
                    "properties": {
                        "sender": { "$ref": "#/components/schemas/AccountId" },
                        "recipient": { "$ref": "#/components/schemas/AccountId" },
                        "depositAmount": { "$ref": "#/components/schemas/Amount" },
                        "ratePerSecond": { "$ref": "#/components/schemas/Amount" },
                        "startTime": { "type": "integer", "minimum": 0 },
                        "endTime": { "type": "integer", "minimum": 0 }
                    }
                },
                "Success": {
                    "type": "object",
                    "required": ["success", "data", "meta"],
                    "properties": {
                        "success": { "const": true },
                        "data": {},
                        "meta": { "type": "object", "properties": {
                            "timestamp": { "type": "string", "format": "date-time" },
                            "requestId": { "type": "string" },
                            "pagination": { "type": "object", "properties": {
                                "limit": { "type": "integer" },
                                "hasMore": { "type": "boolean" },
                                "nextCursor": { "type": ["string", "null"] }
                            } }
                        } }
                    }
                },
                "Error": {
                    "type": "object",
                    "required": ["success", "error"],
                    "properties": {
                        "success": { "const": false },
                        "error": { "type": "object", "required": ["code", "message", "requestId"], "properties": {
                            "code": { "type": "string" },
                            "message": { "type": "string" },
                            "details": {},
                            "requestId": { "type": "string" }
                        } }
                    }
                },
                "ReceiverOk": {
                    "type": "object",
                    "required": ["ok", "deliveryId", "eventType", "event"],
                    "properties": {
                        "ok": { "const": true },
                        "deliveryId": { "type": "string" },
                        "eventType": { "type": ["string", "null"] },
                        "event": {},
                        "usedPreviousSecret": { "type": "boolean" }
                    }
                },
                "ReceiverError": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": { "type": "string", "enum": fluxora_webhooks::OutcomeCode::ALL.iter().skip(1).map(|c| c.as_str()).collect::<Vec<_>>() },
                        "message": { "type": "string" }
                    }
                }
            }
        }
    })
}
