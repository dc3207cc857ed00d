//! Outbound webhooks: endpoints admin API, the outbox, signed deliveries verified by the
//! core at a test receiver, retries, dead letters, 409 duplicate_delivery, the circuit breaker.

use reqwest::Method;
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

const ENDPOINTS: &str = "/api/admin/webhooks/endpoints";

async fn delivered(server: &TestServer, n: usize) {
    wait_until(&format!("{n} deliveries delivered"), || async {
        deliveries(&server.client, &server.base, "?status=delivered")
            .await
            .len()
            == n
    })
    .await;
}

async fn dead_letters(server: &TestServer) -> Vec<Value> {
    let (status, body) = admin(
        &server.client,
        Method::GET,
        &server.base,
        "/api/admin/webhooks/dead-letters",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

async fn history(server: &TestServer, id: &str) -> Vec<Value> {
    let (status, body) = admin(
        &server.client,
        Method::GET,
        &server.base,
        &format!("/api/admin/webhooks/deliveries/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["history"].as_array().unwrap().clone()
}

pub async fn endpoints_admin_api(backend: Backend) {
    let server = start!(backend, &[]);
    let (client, base) = (&server.client, server.base.as_str());
    // Admin key required: none is 401, a write key is 403.
    let response = client.get(server.url(ENDPOINTS)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let response = client
        .get(server.url(ENDPOINTS))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    // URL rules.
    for (url, code) in [
        (json!("http://example.com/hook"), "HTTPS_REQUIRED"),
        (
            json!("https://user:pw@example.com/hook"),
            "URL_HAS_CREDENTIALS",
        ),
        (json!("http://user@127.0.0.1/hook"), "URL_HAS_CREDENTIALS"),
        (json!("ftp://127.0.0.1/hook"), "UNSUPPORTED_SCHEME"),
        (json!("not a url"), "INVALID_URL"),
        (json!(42), "INVALID_TYPE"),
        (Value::Null, "REQUIRED"),
    ] {
        let (status, body) = admin(
            client,
            Method::POST,
            base,
            ENDPOINTS,
            Some(json!({ "url": url })),
        )
        .await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["error"]["details"][0]["code"], code, "{url}: {body}");
    }
    // Register: the secret is answered once.
    let (status, body) = admin(
        client,
        Method::POST,
        base,
        ENDPOINTS,
        Some(json!({ "url": "http://127.0.0.1:9/hook", "description": "test" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    let secret = body["data"]["secret"].as_str().unwrap().to_owned();
    assert!(id.starts_with("whe_") && secret.starts_with("whsec_") && secret.len() == 70);
    assert_eq!(body["data"]["status"], "enabled");
    assert_eq!(body["data"]["circuit"], "closed");
    let (status, body) = admin(client, Method::GET, base, ENDPOINTS, None).await;
    assert_eq!(status, 200);
    let listed = body["data"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["description"], "test");
    assert!(listed[0].get("secret").is_none(), "never listed: {body}");
    assert!(!body.to_string().contains(&secret));
    // Rotate: generated, or the one given (already configured at the receiver).
    let rotate = format!("{ENDPOINTS}/{id}/rotate-secret");
    let (status, body) = admin(client, Method::POST, base, &rotate, None).await;
    assert_eq!(status, 200, "{body}");
    let rotated = body["data"]["secret"].as_str().unwrap();
    assert_ne!(rotated, secret);
    assert!(body["data"]["secretRotatedAt"].is_string());
    let chosen = "whsec_chosen_by_the_operator_0123456789";
    let (status, body) = admin(
        client,
        Method::POST,
        base,
        &rotate,
        Some(json!({ "secret": chosen })),
    )
    .await;
    assert_eq!(
        (status, body["data"]["secret"].as_str()),
        (200, Some(chosen))
    );
    let (status, body) = admin(
        client,
        Method::POST,
        base,
        &rotate,
        Some(json!({ "secret": "short" })),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["details"][0]["code"]),
        (400, &json!("INVALID_SECRET"))
    );
    let (status, _) = admin(
        client,
        Method::POST,
        base,
        &format!("{ENDPOINTS}/whe_none/rotate-secret"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    // Disabled endpoints get no outbox rows.
    let (status, body) = admin(
        client,
        Method::POST,
        base,
        &format!("{ENDPOINTS}/{id}/disable"),
        None,
    )
    .await;
    assert_eq!((status, &body["data"]["status"]), (200, &json!("disabled")));
    create_stream(client, base, 1).await;
    assert!(deliveries(client, base, "").await.is_empty());
    let (status, body) = admin(
        client,
        Method::POST,
        base,
        &format!("{ENDPOINTS}/{id}/enable"),
        None,
    )
    .await;
    assert_eq!((status, &body["data"]["status"]), (200, &json!("enabled")));
    // Delete: with its deliveries.
    let (status, _) = admin(
        client,
        Method::DELETE,
        base,
        &format!("{ENDPOINTS}/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = admin(
        client,
        Method::DELETE,
        base,
        &format!("{ENDPOINTS}/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, body) = admin(client, Method::GET, base, ENDPOINTS, None).await;
    assert_eq!(body["data"], json!([]));
    server.stop().await;
}

pub async fn stream_changes_arrive_signed_and_in_order(backend: Backend) {
    let server = start!(backend, &[]);
    let (client, base) = (&server.client, server.base.as_str());
    let receiver = Receiver::ok().await;
    let (endpoint, secret) = register_endpoint(client, base, &receiver.url).await;
    receiver.set_secret(&secret);
    let stream = create_stream(client, base, 1).await;
    set_stream_status(client, base, &stream, "paused").await;
    set_stream_status(client, base, &stream, "active").await;
    set_stream_status(client, base, &stream, "cancelled").await;
    delivered(&server, 4).await;
    let arrivals = receiver.arrivals();
    assert_eq!(arrivals.len(), 4, "each once");
    let events: Vec<String> = arrivals.iter().map(Arrival::event).collect();
    assert_eq!(
        events,
        [
            "stream.created",
            "stream.updated",
            "stream.updated",
            "stream.cancelled"
        ]
    );
    let statuses: Vec<String> = arrivals
        .iter()
        .map(|a| a.json()["data"]["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["active", "paused", "active", "cancelled"]);
    for arrival in &arrivals {
        assert_eq!(arrival.verified, "ok", "verified by the core");
        assert_eq!(arrival.event_header, arrival.event());
        let body = arrival.json();
        assert_eq!(body["data"]["id"], stream.as_str());
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
        assert!(arrival.delivery_id.starts_with("dlv_"));
    }
    let listed = deliveries(
        client,
        base,
        &format!("?endpointId={endpoint}&streamId={stream}"),
    )
    .await;
    assert_eq!(listed.len(), 4);
    assert!(
        listed
            .iter()
            .all(|d| d["status"] == "delivered" && d["attempts"] == 1)
    );
    let attempts = history(&server, arrivals[0].delivery_id.as_str()).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["statusCode"], 200);
    assert_eq!(attempts[0]["outcome"], "delivered");
    // After a rotation the new secret signs.
    let (status, body) = admin(
        client,
        Method::POST,
        base,
        &format!("{ENDPOINTS}/{endpoint}/rotate-secret"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    receiver.set_secret(body["data"]["secret"].as_str().unwrap());
    create_stream(client, base, 3).await;
    delivered(&server, 5).await;
    assert_eq!(receiver.arrivals()[4].verified, "ok");
    server.stop().await;
}

pub async fn retries_a_failed_attempt_and_keeps_stream_order(backend: Backend) {
    let server = start!(backend, &[]);
    let (client, base) = (&server.client, server.base.as_str());
    // The first arrival of `stream.created` fails with 500; everything else is accepted.
    let receiver = Receiver::start(Box::new(|_, _| (200, "{}".to_owned()))).await;
    let (_, secret) = register_endpoint(client, base, &receiver.url).await;
    receiver.set_secret(&secret);
    receiver.set_script(Box::new(|_, seen| {
        if seen == 1 {
            (500, "{}".to_owned())
        } else {
            (200, "{}".to_owned())
        }
    }));
    let stream = create_stream(client, base, 1).await;
    set_stream_status(client, base, &stream, "cancelled").await;
    delivered(&server, 2).await;
    let arrivals = receiver.arrivals();
    let seen: Vec<(String, u16)> = arrivals.iter().map(|a| (a.event(), a.status)).collect();
    assert_eq!(
        seen,
        [
            ("stream.created".to_owned(), 500),
            ("stream.created".to_owned(), 200),
            ("stream.cancelled".to_owned(), 500),
            ("stream.cancelled".to_owned(), 200),
        ],
        "the cancel waits until the create is accepted"
    );
    assert_eq!(
        arrivals[0].delivery_id, arrivals[1].delivery_id,
        "same delivery id"
    );
    assert!(
        arrivals.iter().all(|a| a.verified == "ok"),
        "each attempt signed"
    );
    let attempts = history(&server, &arrivals[0].delivery_id).await;
    let outcomes: Vec<(&str, i64)> = attempts
        .iter()
        .map(|a| {
            (
                a["outcome"].as_str().unwrap(),
                a["statusCode"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes, [("retryable_status", 500), ("delivered", 200)]);
    assert!(dead_letters(&server).await.is_empty());
    server.stop().await;
}

pub async fn permanent_failures_become_dead_letters_and_replay(backend: Backend) {
    let server = start!(backend, &[]);
    let (client, base) = (&server.client, server.base.as_str());
    let receiver = Receiver::start(Box::new(|_, _| (400, r#"{"error":"bad"}"#.to_owned()))).await;
    let (_, secret) = register_endpoint(client, base, &receiver.url).await;
    receiver.set_secret(&secret);
    create_stream(client, base, 1).await;
    wait_until("a dead letter", || async {
        dead_letters(&server).await.len() == 1
    })
    .await;
    let dead = &dead_letters(&server).await[0];
    assert_eq!(dead["deadReason"], "rejected_by_receiver");
    assert_eq!(dead["attempts"], 1, "4xx is not retried");
    assert_eq!(dead["lastStatusCode"], 400);
    assert_eq!(receiver.arrivals().len(), 1);
    let id = dead["id"].as_str().unwrap().to_owned();
    // Replay once the receiver is fixed.
    receiver.set_script(Box::new(|_, _| (200, "{}".to_owned())));
    let replay = format!("/api/admin/webhooks/dead-letters/{id}/replay");
    let (status, body) = admin(client, Method::POST, base, &replay, None).await;
    assert_eq!(
        (status, &body["data"]["status"]),
        (200, &json!("pending")),
        "{body}"
    );
    delivered(&server, 1).await;
    assert!(dead_letters(&server).await.is_empty());
    let arrivals = receiver.arrivals();
    assert_eq!(arrivals.len(), 2);
    assert_eq!(
        arrivals[1].delivery_id, id,
        "replayed under the same delivery id"
    );
    assert_eq!(arrivals[1].verified, "ok");
    let (status, body) = admin(client, Method::POST, base, &replay, None).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("NOT_DEAD_LETTER"))
    );
    let (status, _) = admin(
        client,
        Method::POST,
        base,
        "/api/admin/webhooks/dead-letters/dlv_none/replay",
        None,
    )
    .await;
    assert_eq!(status, 404);
    server.stop().await;
}

pub async fn exhausted_retries_become_dead_letters(backend: Backend) {
    let server = start!(backend, &[]);
    let (client, base) = (&server.client, server.base.as_str());
    let receiver = Receiver::start(Box::new(|_, _| (503, "{}".to_owned()))).await;
    let metrics_text = || async { server.get("/metrics").await.text().await.unwrap() };
    let (_, secret) = register_endpoint(client, base, &receiver.url).await;
    receiver.set_secret(&secret);
    create_stream(client, base, 1).await;
    wait_until("a dead letter", || async {
        dead_letters(&server).await.len() == 1
    })
    .await;
    let dead = &dead_letters(&server).await[0];
    assert_eq!(dead["deadReason"], "retries_exhausted");
    assert_eq!(dead["attempts"], 5);
    let arrivals = receiver.arrivals();
    assert_eq!(arrivals.len(), 5, "5 attempts");
    assert!(
        arrivals
            .iter()
            .all(|a| a.delivery_id == arrivals[0].delivery_id)
    );
    assert!(arrivals.iter().all(|a| a.verified == "ok"));
    let attempts = history(&server, dead["id"].as_str().unwrap()).await;
    assert_eq!(attempts.len(), 5);
    assert!(
        metrics_text()
            .await
            .contains(r#"fluxora_webhook_delivery_attempts_total{outcome="retryable_status"} 5"#)
    );
    server.stop().await;
}

pub async fn duplicate_delivery_answers_count_as_delivered(backend: Backend) {
    let server = start!(backend, &[]);
    let (client, base) = (&server.client, server.base.as_str());
    // What the SDK's receiver answers when an earlier attempt was accepted.
    let receiver = Receiver::start(Box::new(|_, _| {
        (
            409,
            r#"{"error":"duplicate_delivery","message":"Duplicate delivery id"}"#.to_owned(),
        )
    }))
    .await;
    let (_, secret) = register_endpoint(client, base, &receiver.url).await;
    receiver.set_secret(&secret);
    create_stream(client, base, 1).await;
    delivered(&server, 1).await;
    let listed = deliveries(client, base, "").await;
    assert_eq!(listed[0]["attempts"], 1);
    let attempts = history(&server, listed[0]["id"].as_str().unwrap()).await;
    assert_eq!(attempts[0]["outcome"], "duplicate_delivery");
    assert_eq!(attempts[0]["statusCode"], 409);
    assert!(dead_letters(&server).await.is_empty());
    // Any other 409 is a permanent failure.
    receiver.set_script(Box::new(|_, _| {
        (409, r#"{"error":"replayed_signature"}"#.to_owned())
    }));
    create_stream(client, base, 3).await;
    wait_until("a dead letter", || async {
        dead_letters(&server).await.len() == 1
    })
    .await;
    assert_eq!(receiver.arrivals().len(), 2);
    server.stop().await;
}

pub async fn an_open_circuit_spares_a_dead_endpoint(backend: Backend) {
    let server = start!(
        backend,
        &[
            "--webhook-circuit-failures",
            "2",
            "--webhook-circuit-cooldown-seconds",
            "3600"
        ]
    );
    let (client, base) = (&server.client, server.base.as_str());
    let dead = Receiver::start(Box::new(|_, _| (500, "{}".to_owned()))).await;
    let healthy = Receiver::ok().await;
    let (dead_id, dead_secret) = register_endpoint(client, base, &dead.url).await;
    dead.set_secret(&dead_secret);
    let (_, healthy_secret) = register_endpoint(client, base, &healthy.url).await;
    healthy.set_secret(&healthy_secret);
    for n in 0..3 {
        create_stream(client, base, n * 2).await;
    }
    wait_until("the dead endpoint's circuit opens", || async {
        let (_, body) = admin(client, Method::GET, base, ENDPOINTS, None).await;
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == dead_id.as_str() && e["circuit"] == "open")
    })
    .await;
    let attempts_when_open = dead.arrivals().len();
    for n in 3..6 {
        create_stream(client, base, n * 2).await;
    }
    wait_until("the healthy endpoint gets every event", || async {
        healthy.arrivals().len() == 6
    })
    .await;
    assert_eq!(
        dead.arrivals().len(),
        attempts_when_open,
        "no attempts to an open circuit"
    );
    let pending = deliveries(
        client,
        base,
        &format!("?endpointId={dead_id}&status=pending"),
    )
    .await;
    assert_eq!(pending.len(), 6, "waiting, not dead-lettered");
    server.stop().await;
}

/// The egress policy: registration refuses, with 400 and the reason, every address class the
/// policy refuses and ports other than 80 and 443, on a server whose policy allows nothing
/// extra (not even loopback).
pub async fn egress_policy_refuses_internal_targets(backend: Backend) {
    let server = start!(
        backend,
        &["--egress-allow", "", "--egress-allow-ports", "80,443"]
    );
    let client = &server.client;
    for url in [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/",
        "https://[fd00::1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://0.0.0.0/",
        "https://[::]/",
        "https://192.168.1.20/hook",
        "https://[fe80::1]/",
        "http://127.0.0.1:6379/",
        "http://localhost/hook",
        "https://93.184.216.34:8443/hook",
    ] {
        let response = client
            .post(server.url("/api/admin/webhooks/endpoints"))
            .bearer_auth(ADMIN_KEY)
            .json(&serde_json::json!({ "url": url }))
            .send()
            .await
            .expect("register");
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(status, 400, "{url}: {body}");
        let code = body["error"]["details"][0]["code"]
            .as_str()
            .unwrap_or_default();
        assert!(
            matches!(code, "EGRESS_REFUSED" | "HTTPS_REQUIRED" | "TLS_NOT_BUILT"),
            "{url}: {body}"
        );
    }
    server.stop().await;
}

/// The egress policy is enforced where the connection is made, not only at registration:
/// endpoints registered while loopback was allowed are never connected to once the policy
/// refuses it (a name through the resolver, a literal IP before the attempt).
pub async fn egress_policy_is_enforced_at_connect_time(backend: Backend) {
    let server = start!(backend, &[]);
    let (client, base) = (&server.client, server.base.as_str());
    let receiver = Receiver::ok().await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let (_, secret) = register_endpoint(client, base, &by_name).await;
    register_endpoint(client, base, &receiver.url).await;
    let store = server.stop_keep().await;
    // The same data, now under a policy that allows nothing internal.
    let server = TestServer::start_on(store, &["--egress-allow", ""]).await;
    receiver.set_secret(&secret);
    create_stream(&server.client, &server.base, 1).await;
    // The literal IP is refused before any connection: dead-lettered at once.
    wait_until("the literal-IP delivery dead-lettered", || async {
        dead_letters(&server).await.len() == 1
    })
    .await;
    // The name resolves only to refused addresses: attempted, never connected.
    wait_until("the by-name delivery attempted", || async {
        deliveries(&server.client, &server.base, "?status=pending")
            .await
            .iter()
            .any(|d| d["attempts"].as_i64().unwrap_or(0) >= 1)
    })
    .await;
    let pending = deliveries(&server.client, &server.base, "?status=pending").await;
    assert!(
        pending.iter().all(|d| d["lastError"] == "network_error"),
        "{pending:?}"
    );
    assert!(
        receiver.arrivals().is_empty(),
        "nothing reached the receiver"
    );
    server.stop().await;
}

/// Every admin action on endpoints lands in the audit trail, newest first, with the acting
/// key's fingerprint and never a secret; the trail is admin-only.
pub async fn admin_actions_are_audited(backend: Backend) {
    let server = start!(backend, &[]);
    let (client, base) = (&server.client, server.base.as_str());
    let (id, secret) = register_endpoint(client, base, "http://127.0.0.1:9/hook").await;
    for path in ["rotate-secret", "disable", "enable"] {
        let (status, _) = admin(
            client,
            reqwest::Method::POST,
            base,
            &format!("/api/admin/webhooks/endpoints/{id}/{path}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{path}");
    }
    let (status, _) = admin(
        client,
        reqwest::Method::DELETE,
        base,
        &format!("/api/admin/webhooks/endpoints/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, trail) = admin(client, reqwest::Method::GET, base, "/api/audit", None).await;
    assert_eq!(status, 200);
    let actions = audit_actions(&trail);
    let mut expected = vec![
        "WEBHOOK_ENDPOINT_CREATED",
        "WEBHOOK_ENDPOINT_SECRET_ROTATED",
        "WEBHOOK_ENDPOINT_DISABLED",
        "WEBHOOK_ENDPOINT_ENABLED",
        "WEBHOOK_ENDPOINT_DELETED",
    ];
    expected.reverse();
    // Entries of one millisecond may come in either order: compare as sets, then the ends.
    let mut sorted = actions.clone();
    sorted.sort_unstable();
    let mut wanted = expected.clone();
    wanted.sort_unstable();
    assert_eq!(sorted, wanted);
    assert!(
        trail["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["target"] == id.as_str())
    );
    let text = trail.to_string();
    assert!(
        !text.contains(&secret) && !text.contains(ADMIN_KEY),
        "{text}"
    );
    let (status, one) = admin(
        client,
        reqwest::Method::GET,
        base,
        "/api/audit?action=WEBHOOK_ENDPOINT_DELETED&limit=1",
        None,
    )
    .await;
    assert_eq!((status, one["data"].as_array().unwrap().len()), (200, 1));
    let anonymous = client.get(server.url("/api/audit")).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let (status, _) = admin(
        client,
        reqwest::Method::GET,
        base,
        "/api/audit?action=NOPE",
        None,
    )
    .await;
    assert_eq!(status, 400);
    server.stop().await;
}

/// A claim over more endpoints than one statement takes (SQLite refuses a compound `SELECT`
/// of over 500 terms) claims from all of them, each within its free slots, the earliest due
/// first per endpoint and a stream's versions in order; a second claim finds them leased.
pub async fn claims_span_more_endpoints_than_one_statement_takes(backend: Backend) {
    use fluxora_server::store::outbox::{ENDPOINTS_PER_CLAIM, claim};
    let server = start!(backend, &[]);
    let db = &server.state().db;
    let endpoints: Vec<String> = (0..ENDPOINTS_PER_CLAIM * 5 + 7)
        .map(|n| format!("whe_claim_{n:04}"))
        .collect();
    // Not registered endpoints: the server's own worker never claims these rows.
    let now = fluxora_server::util::unix_millis();
    for (n, endpoint) in endpoints.iter().enumerate() {
        // Two versions of one stream, and a later-due row of another stream.
        for (suffix, stream, version, due) in [
            ("a", "s1", 1, now - 10),
            ("b", "s1", 2, now - 20),
            ("c", "s2", 1, now - 5),
        ] {
            sqlx::query(
                "INSERT INTO webhook_outbox (id, endpoint_id, event_id, event_type, stream_id, \
                 stream_version, payload, status, attempts, next_attempt_at, locked_until, \
                 created_at, updated_at) VALUES ($1, $2, $3, 'stream.updated', $4, $5, '{}', \
                 'pending', 0, $6, 0, $6, $6)",
            )
            .bind(format!("dlv_claim_{n:04}{suffix}"))
            .bind(endpoint.as_str())
            .bind(format!("evt_claim_{n:04}{suffix}"))
            .bind(format!("{stream}_{n}"))
            .bind(version)
            .bind(due)
            .execute(&db.pool)
            .await
            .unwrap();
        }
    }
    let free: Vec<(&str, usize)> = endpoints.iter().map(|e| (e.as_str(), 1)).collect();
    let limit = u32::try_from(endpoints.len()).unwrap();
    let lease = now + 60_000;
    // The overall limit holds across statements.
    let capped = claim(db, "owner-0", now, lease, 3, &free).await.unwrap();
    assert_eq!(capped.len(), 3);
    let early: std::collections::HashSet<&str> =
        capped.iter().map(|row| row.endpoint_id.as_str()).collect();
    let first = claim(db, "owner-1", now, lease, limit, &free)
        .await
        .unwrap();
    assert_eq!(first.len(), endpoints.len(), "one row per endpoint");
    let mut seen = std::collections::HashSet::new();
    for row in &first {
        assert!(seen.insert(row.endpoint_id.as_str()), "one per endpoint");
        // `b` is due first but waits behind version 1 of its stream, `a` is due before `c`;
        // where `a` is already leased, `c` goes.
        let expected = if early.contains(row.endpoint_id.as_str()) {
            'c'
        } else {
            'a'
        };
        assert!(row.id.ends_with(expected), "{} claimed", row.id);
    }
    let again = claim(db, "owner-2", now, lease, limit, &free)
        .await
        .unwrap();
    assert_eq!(again.len(), endpoints.len() - 3);
    assert!(
        again.iter().all(|row| row.id.ends_with('c')),
        "the `a` rows are leased and the `b` rows wait behind them"
    );
    assert!(
        claim(db, "owner-3", now, lease, limit, &free)
            .await
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}
