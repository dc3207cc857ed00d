//! The HTTP API: envelopes, headers, auth, validation, pagination, idempotency, limits.

use serde_json::{Value, json};

use crate::common::*;

macro_rules! start {
    ($backend:expr, $extra:expr) => {
        match TestServer::start($backend, $extra).await {
            Some(server) => server,
            None => return,
        }
    };
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(
        body["error"]["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{body}"
    );
}

pub async fn info_health_and_readiness(backend: Backend) {
    let server = start!(backend, &[]);
    let (status, body) = json_of(server.get("/").await).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["service"], "fluxora-server");
    assert!(body["meta"]["timestamp"].is_string() && body["meta"]["requestId"].is_string());

    let (status, body) = json_of(server.get("/health").await).await;
    assert_eq!(status, 200);
    // At the top level, where monitors read it.
    let data = &body;
    assert_eq!(data["status"], "ok");
    assert_eq!(data["summary"], "all checks passed");
    assert_eq!(data["wsConnections"], 0);
    assert!(data["lagMs"].is_null());
    assert_eq!(data["service"], "fluxora-server");
    assert!(data["timestamp"].is_string());
    assert_eq!(data["checks"]["database"]["status"], "ok");
    let expected = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(data["checks"]["database"]["backend"], expected);
    assert_eq!(data["checks"]["indexer"]["status"], "not_configured");
    assert_eq!(server.get("/health/live").await.status().as_u16(), 200);
    let (status, body) = json_of(server.get("/health/ready").await).await;
    assert_eq!((status, &body["data"]["status"]), (200, &json!("ready")));
    server.stop().await;
}

pub async fn security_headers_and_request_ids_everywhere(backend: Backend) {
    let server = start!(backend, &[]);
    let client = &server.client;
    let responses = [
        client.get(server.url("/health")).send().await.unwrap(),
        client
            .get(server.url("/no/such/route"))
            .send()
            .await
            .unwrap(),
        client
            .post(server.url("/api/streams"))
            .send()
            .await
            .unwrap(),
        client
            .post(server.url("/internal/webhooks/receive"))
            .send()
            .await
            .unwrap(),
    ];
    for response in &responses {
        let h = response.headers();
        for name in [
            "content-security-policy",
            "strict-transport-security",
            "x-content-type-options",
            "x-frame-options",
            "referrer-policy",
        ] {
            assert!(
                h.contains_key(name),
                "{name} missing on {}",
                response.status()
            );
        }
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(!h.contains_key("server"), "no server banner");
        assert!(!h.contains_key("x-powered-by"));
        assert!(h.contains_key("x-request-id") && h.contains_key("x-correlation-id"));
    }
    // A well-formed id is echoed, in the header and the envelope.
    let response = client
        .get(server.url("/nope"))
        .header("x-request-id", "req-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-abc.123");
    let (_, body) = json_of(response).await;
    assert_eq!(body["error"]["requestId"], "req-abc.123");
    // A correlation id alone becomes the request id.
    let response = client
        .get(server.url("/health"))
        .header("x-correlation-id", "corr-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "corr-42");
    assert_eq!(response.headers()["x-correlation-id"], "corr-42");
    // A malformed one is replaced.
    let response = client
        .get(server.url("/health"))
        .header("x-request-id", "bad id <script>")
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(id, "bad id <script>");
    assert_eq!(id.len(), 36);
    server.stop().await;
}

pub async fn unknown_routes_methods_media_types_and_malformed_json(backend: Backend) {
    let server = start!(backend, &[]);
    let (status, body) = json_of(server.get("/api/nothing").await).await;
    assert_error(status, &body, 404, "NOT_FOUND");
    let response = server
        .client
        .put(server.url("/api/streams"))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_error(status, &body, 405, "METHOD_NOT_ALLOWED");
    let response = server
        .client
        .post(server.url("/api/streams"))
        .bearer_auth(API_KEY)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_error(status, &body, 415, "UNSUPPORTED_MEDIA_TYPE");
    let response = server
        .client
        .post(server.url("/api/streams"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body("{\"sender\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(262_144));
    let response = server
        .client
        .post(server.url("/api/streams"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_error(status, &body, 413, "PAYLOAD_TOO_LARGE");
    server.stop().await;
}

pub async fn writes_need_an_api_key(backend: Backend) {
    let server = start!(backend, &[]);
    let body = stream_body(&account(1), &account(2));
    let (status, answer) = json_of(server.post_json("/api/streams", &body, None).await).await;
    assert_error(status, &answer, 401, "UNAUTHORIZED");
    let (status, answer) = json_of(
        server
            .post_json("/api/streams", &body, Some("wrong-key-0000000000"))
            .await,
    )
    .await;
    assert_error(status, &answer, 403, "FORBIDDEN");
    let (status, created) =
        json_of(server.post_json("/api/streams", &body, Some(API_KEY)).await).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    // X-Api-Key works too; reads are public.
    let response = server
        .client
        .delete(server.url(&format!("/api/streams/{id}")))
        .header("x-api-key", OTHER_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = server
        .client
        .delete(server.url(&format!("/api/streams/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let response = server
        .client
        .patch(server.url(&format!("/api/streams/{id}/status")))
        .header("x-api-key", "nope-nope-nope-nope")
        .json(&json!({ "status": "active" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(
        server
            .get(&format!("/api/streams/{id}"))
            .await
            .status()
            .as_u16(),
        200
    );
    server.stop().await;
}

pub async fn creates_with_normalized_amounts(backend: Backend) {
    let server = start!(backend, &[]);
    let (status, body) = json_of(
        server
            .post_json(
                "/api/streams",
                &stream_body(&account(1), &account(2)),
                Some(API_KEY),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let data = &body["data"];
    assert_eq!(data["depositAmount"], "100.5");
    assert_eq!(data["ratePerSecond"], "0.000001");
    assert_eq!(data["status"], "active");
    assert_eq!(data["sender"], account(1));
    assert_eq!(data["startTime"], 1_710_000_000u64);
    let id = data["id"].as_str().unwrap();
    let (status, fetched) = json_of(server.get(&format!("/api/streams/{id}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["data"], *data);
    server.stop().await;
}

pub async fn rejects_each_invalid_field(backend: Backend) {
    let server = start!(backend, &[]);
    let valid = stream_body(&account(1), &account(2));
    let mut bad_checksum = account(1).into_bytes();
    bad_checksum[20] = if bad_checksum[20] == b'A' { b'B' } else { b'A' };
    let bad_checksum = String::from_utf8(bad_checksum).unwrap();
    let seed_like = {
        // A valid StrKey with the secret-seed version byte (S...).
        let mut id = account(1).into_bytes();
        id[0] = b'S';
        String::from_utf8(id).unwrap()
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("sender", json!(null), "REQUIRED"),
        ("sender", json!(42), "INVALID_TYPE"),
        ("sender", json!("GABC"), "STELLAR_ADDRESS_LENGTH"),
        (
            "sender",
            json!(account(1).to_lowercase()),
            "STELLAR_ADDRESS_ENCODING",
        ),
        ("sender", json!(bad_checksum), "STELLAR_ADDRESS_CHECKSUM"),
        ("sender", json!(seed_like), "STELLAR_ADDRESS_VERSION"),
        ("recipient", json!(account(1)), "SAME_AS_SENDER"),
        ("depositAmount", json!(null), "DECIMAL_EMPTY_VALUE"),
        ("depositAmount", json!("   "), "DECIMAL_EMPTY_VALUE"),
        ("depositAmount", json!(100), "DECIMAL_INVALID_TYPE"),
        ("depositAmount", json!(".5"), "DECIMAL_INVALID_FORMAT"),
        ("depositAmount", json!("1e10"), "DECIMAL_INVALID_FORMAT"),
        (
            "depositAmount",
            json!("9223372036854775808"),
            "DECIMAL_OUT_OF_RANGE",
        ),
        (
            "depositAmount",
            json!("1.00000001"),
            "DECIMAL_PRECISION_EXCEEDED",
        ),
        ("depositAmount", json!("0"), "AMOUNT_NOT_POSITIVE"),
        ("depositAmount", json!("-1"), "AMOUNT_NEGATIVE"),
        ("ratePerSecond", json!("-0.5"), "AMOUNT_NEGATIVE"),
        ("ratePerSecond", json!(true), "DECIMAL_INVALID_TYPE"),
        ("startTime", json!(-1), "INVALID_INTEGER"),
        ("startTime", json!("10"), "INVALID_INTEGER"),
        ("endTime", json!(1.5), "INVALID_INTEGER"),
        ("endTime", json!(1_600_000_000u64), "END_BEFORE_START"),
    ];
    for (field, value, code) in cases {
        let mut body = valid.clone();
        body[field] = value.clone();
        let (status, answer) =
            json_of(server.post_json("/api/streams", &body, Some(API_KEY)).await).await;
        assert_error(status, &answer, 400, "VALIDATION_ERROR");
        let details = answer["error"]["details"].as_array().expect("details");
        assert!(
            details
                .iter()
                .any(|d| d["field"] == field && d["code"] == code),
            "{field}={value}: want {code}, got {answer}"
        );
    }
    // Several errors at once are all listed; a zero rate is fine.
    let (status, answer) = json_of(
        server
            .post_json(
                "/api/streams",
                &json!({ "ratePerSecond": "0" }),
                Some(API_KEY),
            )
            .await,
    )
    .await;
    assert_error(status, &answer, 400, "VALIDATION_ERROR");
    assert_eq!(
        answer["error"]["details"].as_array().unwrap().len(),
        3,
        "{answer}"
    );
    let (status, answer) = json_of(
        server
            .post_json("/api/streams", &json!([1, 2]), Some(API_KEY))
            .await,
    )
    .await;
    assert_error(status, &answer, 400, "VALIDATION_ERROR");
    server.stop().await;
}

pub async fn paginates_with_an_opaque_cursor(backend: Backend) {
    let server = start!(backend, &[]);
    let sender = account(10);
    let mut created = Vec::new();
    for n in 0..7u8 {
        let (status, body) = json_of(
            server
                .post_json(
                    "/api/streams",
                    &stream_body(&sender, &account(20 + n)),
                    Some(API_KEY),
                )
                .await,
        )
        .await;
        assert_eq!(status, 201);
        created.push(body["data"]["id"].as_str().unwrap().to_owned());
    }
    // Another sender's stream is not listed under the filter.
    server
        .post_json(
            "/api/streams",
            &stream_body(&account(11), &account(12)),
            Some(API_KEY),
        )
        .await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/api/streams?sender={sender}&limit=3");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, body) = json_of(server.get(&path).await).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        let items = body["data"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|s| s["id"].as_str().unwrap().to_owned()));
        let pagination = &body["meta"]["pagination"];
        assert_eq!(pagination["limit"], 3);
        match pagination["nextCursor"].as_str() {
            Some(next) => {
                assert_eq!(pagination["hasMore"], true);
                cursor = Some(next.to_owned());
            }
            None => {
                assert_eq!(pagination["hasMore"], false);
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every stream once, in creation order");
    // Filters combine; an empty result is a 200 with an empty list.
    let (status, body) = json_of(
        server
            .get(&format!("/api/streams?sender={sender}&status=cancelled"))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["data"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    let (status, body) = json_of(
        server
            .get(&format!("/api/streams?recipient={}", account(21)))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["data"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let (_, body) = json_of(server.get("/api/streams").await).await;
    assert_eq!(
        body["data"].as_array().unwrap().len(),
        8,
        "default limit 20 covers all"
    );
    server.stop().await;
}

pub async fn rejects_bad_list_parameters(backend: Backend) {
    let server = start!(backend, &[]);
    for (query, field, code) in [
        ("status=running", "status", "INVALID_STATUS"),
        ("sender=GNOTVALID", "sender", "STELLAR_ADDRESS_LENGTH"),
        ("recipient=xyz", "recipient", "STELLAR_ADDRESS_LENGTH"),
        ("limit=0", "limit", "INVALID_LIMIT"),
        ("limit=101", "limit", "INVALID_LIMIT"),
        ("limit=ten", "limit", "INVALID_LIMIT"),
        ("cursor=%21%21%21", "cursor", "INVALID_CURSOR"),
    ] {
        let (status, body) = json_of(server.get(&format!("/api/streams?{query}")).await).await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
        let details = body["error"]["details"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|d| d["field"] == field && d["code"] == code),
            "{query}: {body}"
        );
    }
    let (status, _) = json_of(server.get("/api/streams?limit=100").await).await;
    assert_eq!(status, 200);
    server.stop().await;
}

pub async fn idempotency_keys_replay_or_conflict(backend: Backend) {
    let server = start!(backend, &[]);
    let body = stream_body(&account(30), &account(31));
    let send = |body: String, key: &'static str, api_key: &'static str| {
        server
            .client
            .post(server.url("/api/streams"))
            .bearer_auth(api_key)
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body)
            .send()
    };
    let first = send(body.to_string(), "idem-1", API_KEY).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let (_, first) = json_of(first).await;
    // Same key, same document (other spacing): the first answer again.
    let again = send(
        serde_json::to_string_pretty(&body).unwrap(),
        "idem-1",
        API_KEY,
    )
    .await
    .unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let (_, again) = json_of(again).await;
    assert_eq!(again["data"], first["data"]);
    assert_ne!(again["meta"]["requestId"], first["meta"]["requestId"]);
    // Same key, another body: 409.
    let mut other = body.clone();
    other["depositAmount"] = json!("7");
    let (status, answer) = json_of(send(other.to_string(), "idem-1", API_KEY).await.unwrap()).await;
    assert_error(status, &answer, 409, "IDEMPOTENCY_KEY_REUSED");
    // Keys are scoped per API key.
    let (status, third) = json_of(
        send(body.to_string(), "idem-1", OTHER_API_KEY)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    assert_ne!(third["data"]["id"], first["data"]["id"]);
    // Only one stream was created under the first key.
    let (_, list) = json_of(
        server
            .get(&format!("/api/streams?sender={}", account(30)))
            .await,
    )
    .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    // A malformed key is a 400.
    let (status, answer) = json_of(send(body.to_string(), "bad key", API_KEY).await.unwrap()).await;
    assert_error(status, &answer, 400, "VALIDATION_ERROR");
    server.stop().await;
}

pub async fn status_transitions_and_cancel(backend: Backend) {
    let server = start!(backend, &[]);
    let (status, body) = json_of(server.get("/api/streams/str_missing").await).await;
    assert_error(status, &body, 404, "NOT_FOUND");
    let create = || async {
        let (_, body) = json_of(
            server
                .post_json(
                    "/api/streams",
                    &stream_body(&account(40), &account(41)),
                    Some(API_KEY),
                )
                .await,
        )
        .await;
        body["data"]["id"].as_str().unwrap().to_owned()
    };
    let patch = |id: String, status: &'static str| {
        server
            .client
            .patch(server.url(&format!("/api/streams/{id}/status")))
            .bearer_auth(API_KEY)
            .json(&json!({ "status": status }))
            .send()
    };
    let delete = |id: String| {
        server
            .client
            .delete(server.url(&format!("/api/streams/{id}")))
            .bearer_auth(API_KEY)
            .send()
    };
    let id = create().await;
    for (to, want) in [
        ("paused", 200),
        ("completed", 409),
        ("paused", 409),
        ("active", 200),
        ("active", 409),
        ("completed", 200),
        ("active", 409),
        ("cancelled", 409),
    ] {
        let (status, body) = json_of(patch(id.clone(), to).await.unwrap()).await;
        assert_eq!(status, want, "-> {to}: {body}");
        if want == 200 {
            assert_eq!(body["data"]["status"], to);
        } else {
            assert_eq!(
                body["error"]["code"],
                if to == "cancelled" {
                    "STREAM_NOT_CANCELLABLE"
                } else {
                    "INVALID_TRANSITION"
                }
            );
            assert!(body["error"]["details"]["currentStatus"].is_string());
        }
    }
    let (status, body) = json_of(delete(id.clone()).await.unwrap()).await;
    assert_error(status, &body, 409, "STREAM_NOT_CANCELLABLE");

    let id = create().await;
    let (status, body) = json_of(delete(id.clone()).await.unwrap()).await;
    assert_eq!(
        (status, &body["data"]["status"]),
        (200, &json!("cancelled"))
    );
    let (status, body) = json_of(delete(id.clone()).await.unwrap()).await;
    assert_error(status, &body, 409, "STREAM_NOT_CANCELLABLE");
    let (status, body) = json_of(patch(id.clone(), "active").await.unwrap()).await;
    assert_error(status, &body, 409, "INVALID_TRANSITION");

    let id = create().await;
    let (status, _) = json_of(patch(id.clone(), "paused").await.unwrap()).await;
    assert_eq!(status, 200);
    let (status, body) = json_of(delete(id.clone()).await.unwrap()).await;
    assert_eq!(
        (status, &body["data"]["status"]),
        (200, &json!("cancelled")),
        "paused -> cancelled"
    );

    let (status, body) = json_of(patch(id.clone(), "running").await.unwrap()).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    let (status, body) = json_of(patch("str_missing".into(), "paused").await.unwrap()).await;
    assert_error(status, &body, 404, "NOT_FOUND");
    let (status, body) = json_of(delete("str_missing".into()).await.unwrap()).await;
    assert_error(status, &body, 404, "NOT_FOUND");
    server.stop().await;
}

pub async fn rate_limits_per_ip_and_per_key(backend: Backend) {
    let server = start!(backend, &["--rate-limit-per-minute", "3"]);
    for remaining in ["2", "1", "0"] {
        let response = server.get("/api/streams").await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["x-ratelimit-limit"], "3");
        assert_eq!(response.headers()["x-ratelimit-remaining"], remaining);
        assert!(response.headers().contains_key("x-ratelimit-reset"));
    }
    let response = server.get("/api/streams").await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    let (status, body) = json_of(response).await;
    assert_error(status, &body, 429, "RATE_LIMIT_EXCEEDED");
    // Health and the signed receiver are exempt.
    assert_eq!(server.get("/health").await.status().as_u16(), 200);
    server.stop().await;

    let server = start!(backend, &["--api-key-rate-limit-per-minute", "2"]);
    let body = stream_body(&account(50), &account(51));
    for _ in 0..2 {
        let response = server.post_json("/api/streams", &body, Some(API_KEY)).await;
        assert_eq!(response.status().as_u16(), 201);
    }
    let (status, answer) =
        json_of(server.post_json("/api/streams", &body, Some(API_KEY)).await).await;
    assert_error(status, &answer, 429, "RATE_LIMIT_EXCEEDED");
    // Another key has its own budget.
    let response = server
        .post_json("/api/streams", &body, Some(OTHER_API_KEY))
        .await;
    assert_eq!(response.status().as_u16(), 201);
    server.stop().await;
}

pub async fn metrics_and_openapi(backend: Backend) {
    let server = start!(backend, &[]);
    let body = b"{}".to_vec();
    deliver(
        &server,
        &signed(SECRET, &body, now(), "dlv_metrics"),
        body.clone(),
    )
    .await;
    deliver(&server, &signed(SECRET, &body, now(), "dlv_metrics"), body).await;
    let response = server.get("/metrics").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(text.contains("# TYPE fluxora_http_requests_total counter"));
    assert!(text.contains(r#"fluxora_http_requests_total{method="POST",route="/internal/webhooks/receive",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"fluxora_webhook_deliveries_total{outcome="duplicate_delivery"} 1"#));
    assert!(text.contains("fluxora_database_up 1"));

    routes_and_document_agree(&server).await;
    server.stop().await;
}

/// The document lists exactly the route table; every documented operation is served and
/// answers one of its documented statuses; every other method on a documented path is 405.
async fn routes_and_document_agree(server: &TestServer) {
    let (status, doc) = json_of(server.get("/openapi.json").await).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            documented.insert((method.clone(), path.clone()));
            let concrete = path.replace("{id}", "none");
            let response = server
                .client
                .request(
                    method.to_uppercase().parse().unwrap(),
                    server.url(&concrete),
                )
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert!(
                status != 405 && !text.contains("No route for"),
                "{method} {path} is documented but not served: {status} {text}"
            );
            assert!(
                operation["responses"].get(status.to_string()).is_some(),
                "{method} {path} answered {status}, which it does not document: {text}"
            );
        }
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if item.get(method.to_lowercase()).is_none() {
                let concrete = path.replace("{id}", "none");
                let response = server
                    .client
                    .request(method.parse().unwrap(), server.url(&concrete))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    response.status().as_u16(),
                    405,
                    "{method} {path} is served but undocumented"
                );
            }
        }
    }
    let table: std::collections::BTreeSet<_> = fluxora_server::routes::table::Route::ALL
        .iter()
        .map(|r| (r.spec().verb.as_str().to_owned(), r.spec().path.to_owned()))
        .collect();
    assert_eq!(documented, table);
}

/// CORS: preflights answered from the route table for allowed origins only; answers carry
/// the CORS headers for allowed origins only. `/metrics` needs its token once configured.
pub async fn cors_allow_list_and_the_metrics_token(backend: Backend) {
    let allowed = "http://localhost:5173";
    let server = start!(
        backend,
        &[
            "--cors-allowed-origins",
            allowed,
            "--metrics-token",
            "metrics-token-0123456789"
        ]
    );
    let client = &server.client;
    let preflight = |origin: &'static str, path: &str| {
        client
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let response = preflight(allowed, "/api/streams").await.unwrap();
    assert_eq!(response.status().as_u16(), 204);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], allowed);
    assert_eq!(headers["access-control-allow-methods"], "POST, GET");
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    assert_eq!(
        preflight(allowed, "/api/streams/str_1")
            .await
            .unwrap()
            .headers()["access-control-allow-methods"],
        "GET, DELETE"
    );
    let refused = preflight("http://localhost:9999", "/api/streams")
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(
        preflight(allowed, "/no/such/route")
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    let simple = client
        .get(server.url("/api/streams"))
        .header("origin", allowed)
        .send()
        .await
        .unwrap();
    assert_eq!(simple.headers()["access-control-allow-origin"], allowed);
    assert!(
        simple.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("x-request-id")
    );
    let other = client
        .get(server.url("/api/streams"))
        .header("origin", "http://localhost:9999")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 200);
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let metrics = |token: Option<&'static str>| {
        let request = client.get(server.url("/metrics"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    assert_eq!(metrics(None).await.unwrap().status().as_u16(), 401);
    assert_eq!(
        metrics(Some("wrong-token-0123456789"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        metrics(Some("metrics-token-0123456789"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    server.stop().await;
}

/// API keys made at run time: created by an admin (shown once, listed without secrets),
/// usable for their scope only, refused once revoked; both actions audited.
pub async fn runtime_api_keys(backend: Backend) {
    let server = start!(backend, &[]);
    let (client, base) = (&server.client, server.base.as_str());
    let create = |scope: &'static str| {
        admin(
            client,
            reqwest::Method::POST,
            base,
            "/api/admin/api-keys",
            Some(json!({ "name": format!("ci {scope}"), "scope": scope })),
        )
    };
    let (status, created) = create("write").await;
    assert_eq!(status, 201, "{created}");
    let key = created["data"]["key"].as_str().unwrap().to_owned();
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with(created["data"]["prefix"].as_str().unwrap()));
    let body = stream_body(&account(80), &account(81));
    let response = server.post_json("/api/streams", &body, Some(&key)).await;
    assert_eq!(response.status().as_u16(), 201);
    // A write key is not an admin key.
    let response = client
        .get(server.url("/api/admin/api-keys"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let (status, admin_key) = create("admin").await;
    assert_eq!(status, 201);
    let admin_key = admin_key["data"]["key"].as_str().unwrap().to_owned();
    let response = client
        .get(server.url("/api/admin/api-keys"))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let listed: Value = response.json().await.unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains(&key) && !listed.to_string().contains(&admin_key));
    // A forged key with a real prefix is refused.
    let forged = format!(
        "{}_{}",
        created["data"]["prefix"].as_str().unwrap(),
        "0".repeat(40)
    );
    let response = server.post_json("/api/streams", &body, Some(&forged)).await;
    assert_eq!(response.status().as_u16(), 403);

    let (status, _) = admin(
        client,
        reqwest::Method::DELETE,
        base,
        &format!("/api/admin/api-keys/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let response = server
        .post_json(
            "/api/streams",
            &stream_body(&account(82), &account(83)),
            Some(&key),
        )
        .await;
    assert_eq!(response.status().as_u16(), 403);
    let (status, _) = admin(
        client,
        reqwest::Method::DELETE,
        base,
        "/api/admin/api-keys/key_none",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, trail) = admin(client, reqwest::Method::GET, base, "/api/audit", None).await;
    let actions = audit_actions(&trail);
    assert_eq!(
        actions.iter().filter(|a| **a == "API_KEY_CREATED").count(),
        2
    );
    assert!(actions.contains(&"API_KEY_REVOKED"));
    assert!(!trail.to_string().contains(&key));
    server.stop().await;
}
