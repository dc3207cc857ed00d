//! The OpenAPI 3.1 document, rendered from the [route table](crate::routes::table): every
//! served route appears once, with the statuses, parameters and bodies its declaration gives.

use serde_json::{Map, Value, json};

use crate::auth::Access;
use crate::routes::table::{Body, Place, Reply, Route, RouteSpec};

/// The JSON Schemas of parameters and bodies, with the constraints the handlers enforce.
pub mod schema {
    use serde_json::{Value, json};

    use crate::domain::{ID_PATTERN, MAX_ID_LEN};

    /// Any value.
    pub fn any() -> Value {
        json!({})
    }

    /// Any object.
    pub fn object() -> Value {
        json!({ "type": "object" })
    }

    /// The health document.
    pub fn health() -> Value {
        json!({
            "type": "object",
            "required": ["status", "service", "timestamp", "wsConnections", "lagMs", "summary", "checks"],
            "properties": {
                "status": { "type": "string", "enum": ["ok", "degraded"] },
                "service": { "type": "string" },
                "version": { "type": "string" },
                "timestamp": { "type": "string", "format": "date-time" },
                "uptimeSeconds": { "type": "integer", "minimum": 0 },
                "wsConnections": { "type": "integer", "minimum": 0 },
                "lagMs": { "type": ["integer", "null"] },
                "summary": { "type": "string" },
                "checks": { "type": "object" }
            }
        })
    }

    /// Any string.
    pub fn text() -> Value {
        json!({ "type": "string" })
    }

    /// An id: a path segment or a filter.
    pub fn id() -> Value {
        json!({ "type": "string", "pattern": ID_PATTERN, "maxLength": MAX_ID_LEN })
    }

    /// A Stellar account id. Its CRC16-XModem checksum cannot be written in JSON Schema: the
    /// format names it, and the description says so.
    pub fn account_id() -> Value {
        json!({
            "type": "string",
            "pattern": "^G[A-D][A-Z2-7]{54}$",
            "format": "stellar-account-id",
            "description": "Stellar account id (StrKey G..., 56 characters, CRC16-XModem checksum)"
        })
    }

    /// A decimal amount at Stellar precision: at most 7 fractional digits written, the whole
    /// part at most 2^63 - 1.
    pub fn amount(positive: bool) -> Value {
        let whole = at_most("9223372036854775807");
        let fraction = r"(\.[0-9]{1,7})?";
        let pattern = if positive {
            let nonzero_whole = format!("(?:[1-9][0-9]{{0,17}}|{})", at_most_19_digits());
            let small = (0..7)
                .map(|zeros| format!("0{{{zeros}}}[1-9][0-9]{{0,{}}}", 6 - zeros))
                .collect::<Vec<_>>()
                .join("|");
            format!(r"^\+?0*(?:{nonzero_whole}{fraction}|0\.(?:{small}))$")
        } else {
            format!(r"^(?:\+?0*(?:{whole}){fraction}|-0+(\.0{{1,7}})?)$")
        };
        json!({ "type": "string", "pattern": pattern })
    }

    /// The whole numbers 0 ..= `bound` without leading zeros, as a regular expression.
    fn at_most(bound: &str) -> String {
        format!(
            "0|[1-9][0-9]{{0,{}}}|{}",
            bound.len() - 2,
            at_most_same_length(bound)
        )
    }

    fn at_most_19_digits() -> String {
        at_most_same_length("9223372036854775807")
    }

    /// Numbers with exactly as many digits as `bound` (no leading zero) that do not exceed it.
    fn at_most_same_length(bound: &str) -> String {
        let digits = bound.as_bytes();
        let mut options = Vec::new();
        for (i, &digit) in digits.iter().enumerate() {
            let lowest = if i == 0 { b'1' } else { b'0' };
            if digit > lowest {
                let rest = digits.len() - i - 1;
                options.push(format!(
                    "{}[{}-{}][0-9]{{{rest}}}",
                    &bound[..i],
                    char::from(lowest),
                    char::from(digit - 1)
                ));
            }
        }
        options.push(bound.to_owned());
        options.join("|")
    }

    /// A unix time in seconds.
    pub fn unix_seconds() -> Value {
        json!({ "type": "integer", "minimum": 0, "maximum": i64::MAX })
    }

    /// The four stream statuses.
    pub fn stream_status() -> Value {
        json!({ "type": "string", "enum": ["active", "paused", "completed", "cancelled"] })
    }

    /// A page size of the stream list.
    pub fn stream_limit() -> Value {
        json!({ "type": "integer", "minimum": 1, "maximum": crate::routes::streams::MAX_LIMIT, "default": crate::routes::streams::DEFAULT_LIMIT })
    }

    /// An opaque cursor from a previous page.
    pub fn cursor() -> Value {
        json!({ "type": "string", "description": "nextCursor of the previous page" })
    }

    /// The `Idempotency-Key` header.
    pub fn idempotency_key() -> Value {
        json!({ "type": "string", "pattern": "^[!-~]{1,255}$" })
    }

    /// The body of `POST /api/streams`.
    pub fn create_stream() -> Value {
        json!({
            "type": "object",
            "required": ["sender", "recipient", "depositAmount", "ratePerSecond"],
            "properties": {
                "sender": account_id(),
                "recipient": account_id(),
                "depositAmount": amount(true),
                "ratePerSecond": amount(false),
                "startTime": unix_seconds(),
                "endTime": { "anyOf": [unix_seconds(), { "type": "null" }] }
            }
        })
    }

    /// A stream.
    pub fn stream() -> Value {
        json!({
            "type": "object",
            "required": ["id", "sender", "recipient", "depositAmount", "ratePerSecond", "startTime", "status", "createdAt", "updatedAt"],
            "properties": {
                "id": id(),
                "sender": account_id(),
                "recipient": account_id(),
                "depositAmount": { "type": "string" },
                "ratePerSecond": { "type": "string" },
                "startTime": unix_seconds(),
                "endTime": { "anyOf": [unix_seconds(), { "type": "null" }] },
                "status": stream_status(),
                "createdAt": { "type": "string", "format": "date-time" },
                "updatedAt": { "type": "string", "format": "date-time" }
            }
        })
    }

    /// A page of streams.
    pub fn stream_list() -> Value {
        json!({ "type": "array", "items": stream() })
    }

    /// The body of a status change.
    pub fn status_change() -> Value {
        json!({ "type": "object", "required": ["status"], "properties": { "status": stream_status() } })
    }

    /// The delivery states.
    pub fn delivery_status() -> Value {
        json!({ "type": "string", "enum": ["pending", "delivered", "dead"] })
    }

    /// A page size of the delivery lists.
    pub fn delivery_limit() -> Value {
        json!({ "type": "integer", "minimum": 1, "maximum": crate::routes::webhooks::MAX_DELIVERY_LIMIT, "default": 50 })
    }

    /// The audit trail's action filter.
    pub fn audit_action() -> Value {
        let codes: Vec<&str> = crate::routes::audit::ACTIONS
            .iter()
            .map(|a| a.code())
            .collect();
        json!({ "type": "string", "enum": codes })
    }

    /// A page size of the audit trail.
    pub fn audit_limit() -> Value {
        json!({ "type": "integer", "minimum": 1, "maximum": crate::routes::audit::MAX_AUDIT_LIMIT, "default": 50 })
    }

    /// The body of an API key's creation.
    pub fn new_api_key() -> Value {
        json!({
            "type": "object",
            "required": ["name", "scope"],
            "properties": {
                "name": { "type": "string", "minLength": 1, "maxLength": crate::routes::keys::MAX_NAME_CHARS },
                "scope": { "type": "string", "enum": ["write", "admin"] }
            }
        })
    }

    /// The body of an endpoint registration.
    pub fn new_endpoint() -> Value {
        json!({
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {
                    "type": "string",
                    "format": "uri",
                    "maxLength": crate::routes::webhooks::MAX_URL_LEN,
                    "description": "http(s) without credentials; https unless the host is loopback; allowed by the egress policy"
                },
                "description": { "type": ["string", "null"], "maxLength": 500 }
            }
        })
    }

    /// The optional body of a secret rotation.
    pub fn rotation() -> Value {
        json!({
            "type": "object",
            "properties": { "secret": {
                "type": ["string", "null"],
                "pattern": "^[!-~]{24,256}$",
                "description": "Use this secret (already given to the receiver) instead of generating one"
            } }
        })
    }

    /// A load of historical contract events.
    pub fn historical_events() -> Value {
        let id = |max: usize| json!({ "type": "string", "pattern": ID_PATTERN, "maxLength": max });
        json!({
            "type": "object",
            "required": ["events"],
            "properties": { "events": {
                "type": "array",
                "maxItems": crate::routes::history::MAX_LOAD_EVENTS,
                "items": {
                    "type": "object",
                    "required": ["contractId", "eventId", "ledger", "type", "payload"],
                    "properties": {
                        "contractId": id(MAX_ID_LEN),
                        "eventId": id(128),
                        "ledger": { "type": "integer", "minimum": 1, "maximum": i64::MAX },
                        "type": id(MAX_ID_LEN),
                        "payload": { "type": "object" }
                    }
                }
            } }
        })
    }

    /// The body of a replay.
    pub fn replay_request() -> Value {
        let ledger = json!({ "type": "integer", "minimum": 1, "maximum": i64::MAX });
        json!({
            "type": "object",
            "required": ["contractId", "fromLedger", "toLedger"],
            "description": "toLedger must not be below fromLedger",
            "properties": {
                "contractId": id(),
                "fromLedger": ledger,
                "toLedger": ledger,
                "batchSize": { "type": ["integer", "null"], "minimum": 1, "maximum": crate::config::MAX_REPLAY_BATCH_SIZE }
            }
        })
    }

    /// A replay's progress.
    pub fn replay_progress() -> Value {
        json!({
            "type": "object",
            "required": ["status", "totalRows", "rowsReplayed", "rowsRemaining", "rowsInserted"],
            "properties": {
                "status": { "type": "string", "enum": ["idle", "running", "completed", "failed"] },
                "totalRows": { "type": "integer" },
                "rowsReplayed": { "type": "integer" },
                "rowsRemaining": { "type": "integer" },
                "rowsInserted": { "type": "integer" },
                "startedAt": { "type": ["string", "null"] },
                "estimatedCompletionAt": { "type": ["string", "null"] }
            }
        })
    }

    /// A batch of chain events.
    pub fn chain_batch() -> Value {
        let chain_id = |max: usize| json!({ "type": "string", "pattern": format!("^[A-Za-z0-9_.:-]{{1,{max}}}$") });
        json!({
            "type": "object",
            "required": ["events"],
            "properties": { "events": {
                "type": "array",
                "maxItems": crate::routes::indexer::MAX_BATCH_EVENTS,
                "items": {
                    "type": "object",
                    "required": ["eventId", "ledger", "ledgerHash", "streamId", "type", "payload"],
                    "properties": {
                        "eventId": chain_id(128),
                        "ledger": { "type": "integer", "minimum": 1, "maximum": i64::MAX },
                        "ledgerHash": chain_id(128),
                        "streamId": chain_id(MAX_ID_LEN),
                        "type": { "type": "string", "enum": ["stream.created", "stream.paused", "stream.resumed", "stream.completed", "stream.cancelled"] },
                        "payload": { "type": "object", "description": "stream.created: the create-stream fields" }
                    }
                }
            } }
        })
    }
}

fn error_schema() -> Value {
    json!({
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
    })
}

fn envelope(data: Value) -> Value {
    json!({
        "type": "object",
        "required": ["success", "data", "meta"],
        "properties": {
            "success": { "const": true },
            "data": data,
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
    })
}

fn receiver_schema(ok: bool) -> Value {
    if ok {
        return json!({
            "type": "object",
            "required": ["ok", "deliveryId", "eventType", "event"],
            "properties": {
                "ok": { "const": true },
                "deliveryId": { "type": "string" },
                "eventType": { "type": ["string", "null"] },
                "event": {},
                "usedPreviousSecret": { "type": "boolean" }
            }
        });
    }
    let mut codes: Vec<&str> = fluxora_webhooks::OutcomeCode::ALL
        .iter()
        .skip(1)
        .map(|c| c.as_str())
        .collect();
    codes.push("service_unavailable");
    json!({
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": { "type": "string", "enum": codes },
            "message": { "type": "string" }
        }
    })
}

/// What a route answers with `status`: the media type and its schema.
fn answer(spec: &RouteSpec, status: u16) -> Value {
    let json_of = |schema: Value| json!({ "application/json": { "schema": schema } });
    let success = status < 300;
    match spec.reply {
        Reply::Receiver if status == 200 => json_of(receiver_schema(true)),
        // Refused before the receiver ran (the connection and body limits) answer the API's
        // error shape; every verification outcome answers the receiver's.
        Reply::Receiver => {
            json!({ "application/json": { "schema": { "anyOf": [receiver_schema(false), error_schema()] } } })
        }
        Reply::Text if success => json!({ "text/plain": { "schema": { "type": "string" } } }),
        Reply::Bare(body) if success => json_of(body()),
        Reply::Upgrade if status == 101 => Value::Null,
        Reply::Envelope(data) if success => json_of(envelope(data())),
        _ => json_of(error_schema()),
    }
}

fn parameters(spec: &RouteSpec) -> Vec<Value> {
    spec.params
        .iter()
        .map(|param| {
            let place = match param.place {
                Place::Path => "path",
                Place::Query => "query",
                Place::Header => "header",
            };
            let mut value = json!({ "name": param.name, "in": place, "schema": (param.schema)() });
            if param.place == Place::Path {
                value["required"] = json!(true);
            }
            value
        })
        .collect()
}

fn operation(route: Route, spec: &RouteSpec) -> Value {
    let mut responses = Map::new();
    for status in spec.all_statuses() {
        let mut response = json!({ "description": status.to_string() });
        let content = answer(spec, status);
        if !content.is_null() {
            response["content"] = content;
        }
        responses.insert(status.to_string(), response);
    }
    let mut op = json!({
        "operationId": format!("{route:?}"),
        "summary": spec.summary,
        "responses": responses,
    });
    if let Some(description) = spec.description {
        op["description"] = json!(description);
    }
    if spec.deprecated {
        op["deprecated"] = json!(true);
    }
    let parameters = parameters(spec);
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    match spec.body {
        Body::Empty => {}
        Body::Json { required, schema } => {
            op["requestBody"] = json!({ "required": required, "content": { "application/json": { "schema": schema() } } });
        }
        Body::Signed => {
            op["requestBody"] = json!({ "required": true, "content": { "*/*": { "schema": { "type": "string", "format": "binary" } } } });
        }
    }
    match spec.access {
        Access::Public => {}
        // Required only once a metrics token is configured (always in production).
        Access::Metrics => op["security"] = json!([{ "bearer": [] }, {}]),
        _ => op["security"] = json!([{ "bearer": [] }, { "apiKey": [] }]),
    }
    op
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in Route::ALL {
        let spec = route.spec();
        let item = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        item[spec.verb.as_str()] = operation(*route, spec);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Fluxora API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Fluxora reference server. Amounts are decimal strings (at most 7 significant fractional digits)."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "apiKey": { "type": "apiKey", "in": "header", "name": "X-Api-Key" }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::schema;
    use crate::domain::stream::amount;

    fn pattern_of(schema: &Value) -> regex::Regex {
        regex::Regex::new(schema["pattern"].as_str().unwrap()).unwrap()
    }

    /// The documented pattern and the server's rule agree on `text`.
    fn agree(text: &str) {
        let value = Value::String(text.to_owned());
        for positive in [true, false] {
            let documented = pattern_of(&schema::amount(positive)).is_match(text);
            let accepted = amount("a", Some(&value), positive).is_ok();
            assert_eq!(documented, accepted, "{text:?} (positive: {positive})");
        }
    }

    #[test]
    fn amount_patterns_on_the_edges() {
        for text in [
            "1",
            "+0001.5000000000",
            "0.0000001",
            "0.00000001",
            "0",
            "-0.000",
            "-1",
            ".5",
            "9223372036854775807.9999999",
            "9223372036854775808",
            "0009223372036854775807",
            "1e5",
            "-0",
            "+0",
            "10.10000000",
            "0.1000000001",
        ] {
            agree(text);
        }
    }

    proptest! {
        #[test]
        fn amount_patterns_agree_with_the_server(text in "[-+]?[0-9]{0,21}(\\.[0-9]{0,10})?") {
            agree(&text);
        }

        #[test]
        fn amount_patterns_agree_on_noise(text in "[-+0-9.e ]{0,12}") {
            agree(&text);
        }
    }
}
