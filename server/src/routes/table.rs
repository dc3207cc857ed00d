//! The route table: every route declared once, with its handler, who may call it, whether it
//! is rate limited, what it reads and answers, and its documentation. [`crate::app()`] builds
//! the router from it and [`crate::openapi::document`] the OpenAPI document, so the two
//! cannot drift apart.

use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::app::AppState;
use crate::auth::{Access, Gate, gate};
use crate::openapi::schema;
use crate::ratelimit::{Throttle, rate_limit};
use crate::routes::{audit, health, history, indexer, keys, meta, receive, streams, webhooks};

/// An HTTP method the API serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Verb {
    /// Lowercase, as OpenAPI writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Patch => "patch",
            Self::Delete => "delete",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// Where a parameter is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// A `{name}` path segment.
    Path,
    /// A query parameter.
    Query,
    /// A request header.
    Header,
}

/// One documented parameter; the handler enforces what `schema` says.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// Where it is.
    pub place: Place,
    /// The JSON Schema of its value.
    pub schema: fn() -> serde_json::Value,
}

/// What a route reads as its body.
#[derive(Clone, Copy, Debug)]
pub enum Body {
    /// Nothing.
    Empty,
    /// A JSON document (415 for another type, 413 over the API limit, 400 when malformed).
    Json {
        /// Whether a body must be sent.
        required: bool,
        /// Its schema.
        schema: fn() -> serde_json::Value,
    },
    /// The raw bytes of a signed webhook (limit from the webhook settings).
    Signed,
}

/// What a route answers on success.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// The `{ success, data, meta }` envelope around `data`.
    Envelope(fn() -> serde_json::Value),
    /// The receiver's own `{ ok, deliveryId, ... }` / `{ error, message }` shapes.
    Receiver,
    /// Prometheus text.
    Text,
    /// A bare JSON document, not in the envelope (health, the OpenAPI document itself).
    Bare(fn() -> serde_json::Value),
    /// A WebSocket upgrade.
    Upgrade,
}

/// Everything declared about one route.
#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    /// The method.
    pub verb: Verb,
    /// The path in axum's and OpenAPI's form (`{id}`).
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// More, where a line is not enough.
    pub description: Option<&'static str>,
    /// Who may call it.
    pub access: Access,
    /// Counted against the per-IP and per-key limits (429).
    pub throttled: bool,
    /// Reads or writes the database (503 `SERVICE_UNAVAILABLE` while it is unreachable).
    pub database: bool,
    /// Its parameters.
    pub params: &'static [Param],
    /// Its body.
    pub body: Body,
    /// Its success answer.
    pub reply: Reply,
    /// Statuses of its own, besides those its access, body, limits and database imply.
    pub statuses: &'static [u16],
    /// Kept for clients of an older name; the summary names the route that replaces it.
    pub deprecated: bool,
}

impl RouteSpec {
    /// Every status the route can answer, sorted: its own plus those its declaration implies.
    pub fn all_statuses(&self) -> Vec<u16> {
        let mut all = self.statuses.to_vec();
        all.push(500);
        if !matches!(self.access, Access::Public) {
            all.extend([401, 403]);
        }
        if matches!(self.access, Access::Indexer) || self.database {
            all.push(503);
        }
        if self.throttled {
            all.push(429);
        }
        if matches!(self.body, Body::Json { .. }) {
            all.extend([400, 413, 415]);
        }
        if self.params.iter().any(|p| p.place != Place::Path) {
            all.push(400);
        }
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// Declares the routes: the enum, the list of all of them, each one's spec and handler.
macro_rules! route_table {
    ($( $(#[$doc:meta])* $name:ident => $handler:expr, $spec:expr; )*) => {
        /// A route of the API.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Route {
            $( $(#[$doc])* $name, )*
        }

        impl Route {
            /// Every route, in the order the document lists them.
            pub const ALL: &'static [Route] = &[$(Route::$name),*];

            /// Its declaration.
            pub fn spec(self) -> &'static RouteSpec {
                match self {
                    $( Route::$name => {
                        const SPEC: RouteSpec = $spec;
                        &SPEC
                    } )*
                }
            }

            fn handler(self) -> MethodRouter<AppState> {
                let filter = self.spec().verb.filter();
                match self {
                    $( Route::$name => on(filter, $handler), )*
                }
            }
        }
    };
}

impl Route {
    /// Its handler behind the gate of its access and, where declared, the rate limits.
    pub fn method_router(self, state: &AppState) -> MethodRouter<AppState> {
        let spec = self.spec();
        let mut router = self.handler();
        if spec.access != Access::Public {
            let gate_state = Gate {
                access: spec.access,
                keys: state.keys.clone(),
                db: state.db.clone(),
            };
            router = router.route_layer(from_fn_with_state(gate_state, gate));
        }
        if spec.throttled {
            router =
                router.route_layer(from_fn_with_state(Throttle::from_state(state), rate_limit));
        }
        router
    }
}

/// A route with no parameters, body or statuses of its own, answering the envelope.
const fn public_get(path: &'static str, summary: &'static str) -> RouteSpec {
    RouteSpec {
        verb: Verb::Get,
        path,
        summary,
        description: None,
        access: Access::Public,
        throttled: false,
        database: false,
        params: &[],
        body: Body::Empty,
        reply: Reply::Envelope(schema::any),
        statuses: &[200],
        deprecated: false,
    }
}

/// An admin route on a webhook endpoint or delivery id.
const fn admin_by_id(verb: Verb, path: &'static str, summary: &'static str) -> RouteSpec {
    RouteSpec {
        verb,
        path,
        summary,
        description: None,
        access: Access::Admin,
        throttled: true,
        database: true,
        params: &[ID],
        body: Body::Empty,
        reply: Reply::Envelope(schema::any),
        statuses: &[200, 404],
        deprecated: false,
    }
}

const ID: Param = Param {
    name: "id",
    place: Place::Path,
    schema: schema::id,
};

const DELIVERY_FILTERS: &[Param] = &[
    Param {
        name: "status",
        place: Place::Query,
        schema: schema::delivery_status,
    },
    Param {
        name: "endpointId",
        place: Place::Query,
        schema: schema::id,
    },
    Param {
        name: "streamId",
        place: Place::Query,
        schema: schema::id,
    },
    Param {
        name: "limit",
        place: Place::Query,
        schema: schema::delivery_limit,
    },
];

/// The dead-letter list has no status filter: its status is `dead`.
const DEAD_LETTER_FILTERS: &[Param] = DELIVERY_FILTERS.split_at(1).1;

route_table! {
    /// `GET /`.
    Info => meta::info, public_get("/", "API info");
    /// `GET /health`.
    Health => health::health, RouteSpec {
        summary: "Health at the top level: ok, or degraded with the reasons in summary",
        description: Some(
            "Always 200 while the process serves. status is degraded while the database does \
            not answer or the indexer is starting, stalled (latched until cleared) or rolled \
            back a reorg (until cleared). The dependencies are measured at most once a second \
            and within a second."
        ),
        reply: Reply::Bare(schema::health),
        ..public_get("/health", "")
    };
    /// `GET /health/live`.
    Live => health::live, public_get("/health/live", "Liveness");
    /// `GET /health/ready`.
    Ready => health::ready, RouteSpec {
        summary: "Readiness: 503 within a second while degraded (database, indexer), with the reasons",
        statuses: &[200, 503],
        ..public_get("/health/ready", "")
    };
    /// `GET /metrics`.
    Metrics => meta::metrics, RouteSpec {
        reply: Reply::Text,
        access: Access::Metrics,
        description: Some("Needs Authorization: Bearer METRICS_TOKEN when one is configured (always in production)."),
        ..public_get("/metrics", "Prometheus text metrics")
    };
    /// `GET /openapi.json`.
    OpenApi => meta::openapi, RouteSpec {
        reply: Reply::Bare(schema::object),
        ..public_get("/openapi.json", "This document")
    };
    /// `POST /api/streams`.
    CreateStream => streams::create, RouteSpec {
        verb: Verb::Post,
        path: "/api/streams",
        summary: "Create a stream (Idempotency-Key supported)",
        description: Some(
            "The account ids carry a CRC16-XModem checksum (StrKey); recipient must differ \
            from sender; endTime, when given, must be after startTime (which defaults to now)."
        ),
        access: Access::Write,
        throttled: true,
        database: true,
        params: &[Param { name: "Idempotency-Key", place: Place::Header, schema: schema::idempotency_key }],
        body: Body::Json { required: true, schema: schema::create_stream },
        reply: Reply::Envelope(schema::stream),
        statuses: &[201, 409],
        deprecated: false,
    };
    /// `GET /api/streams`.
    ListStreams => streams::list, RouteSpec {
        verb: Verb::Get,
        path: "/api/streams",
        summary: "List streams (filters status, sender, recipient; cursor pages)",
        description: None,
        access: Access::Public,
        throttled: true,
        database: true,
        params: &[
            Param { name: "status", place: Place::Query, schema: schema::stream_status },
            Param { name: "sender", place: Place::Query, schema: schema::account_id },
            Param { name: "recipient", place: Place::Query, schema: schema::account_id },
            Param { name: "limit", place: Place::Query, schema: schema::stream_limit },
            Param { name: "cursor", place: Place::Query, schema: schema::cursor },
        ],
        body: Body::Empty,
        reply: Reply::Envelope(schema::stream_list),
        statuses: &[200],
        deprecated: false,
    };
    /// `GET /api/streams/{id}`.
    GetStream => streams::get, RouteSpec {
        verb: Verb::Get,
        path: "/api/streams/{id}",
        summary: "Get a stream",
        description: None,
        access: Access::Public,
        throttled: true,
        database: true,
        params: &[ID],
        body: Body::Empty,
        reply: Reply::Envelope(schema::stream),
        statuses: &[200, 404],
        deprecated: false,
    };
    /// `DELETE /api/streams/{id}`.
    CancelStream => streams::cancel, RouteSpec {
        verb: Verb::Delete,
        path: "/api/streams/{id}",
        summary: "Cancel a stream (409 when already cancelled or completed)",
        description: None,
        access: Access::Write,
        throttled: true,
        database: true,
        params: &[ID],
        body: Body::Empty,
        reply: Reply::Envelope(schema::stream),
        statuses: &[200, 404, 409],
        deprecated: false,
    };
    /// `PATCH /api/streams/{id}/status`.
    SetStreamStatus => streams::set_status, RouteSpec {
        verb: Verb::Patch,
        path: "/api/streams/{id}/status",
        summary: "Change a stream's status (allowed transitions only)",
        description: None,
        access: Access::Write,
        throttled: true,
        database: true,
        params: &[ID],
        body: Body::Json { required: true, schema: schema::status_change },
        reply: Reply::Envelope(schema::stream),
        statuses: &[200, 404, 409],
        deprecated: false,
    };
    /// `POST /internal/webhooks/receive`.
    Receive => receive::receive, RouteSpec {
        verb: Verb::Post,
        path: "/internal/webhooks/receive",
        summary: "Inbound signed webhook receiver",
        description: Some(
            "Verifies HMAC-SHA256(secret, timestamp + \".\" + rawBody) with the core and \
            answers every outcome of the contract with its status (429 delivery_in_progress, \
            409 duplicate_delivery, 503 service_unavailable while the replay store is \
            unreachable). eventType is the signed body's `event` (or `type`) field, else the \
            unsigned x-fluxora-event header. The body limit is the webhook settings' \
            maxBodyBytes (256 KiB by default)."
        ),
        access: Access::Public,
        throttled: false,
        database: true,
        params: &[
            Param { name: "x-fluxora-delivery-id", place: Place::Header, schema: schema::text },
            Param { name: "x-fluxora-timestamp", place: Place::Header, schema: schema::text },
            Param { name: "x-fluxora-signature", place: Place::Header, schema: schema::text },
            Param { name: "x-fluxora-event", place: Place::Header, schema: schema::text },
        ],
        body: Body::Signed,
        reply: Reply::Receiver,
        statuses: &[200, 400, 401, 409, 413, 429],
        deprecated: false,
    };
    /// `GET /ws/streams`.
    StreamFeed => crate::ws::upgrade, RouteSpec {
        verb: Verb::Get,
        path: "/ws/streams",
        summary: "WebSocket feed of stream updates (subscribe / unsubscribe by streamId)",
        description: Some(
            "Upgrade to a WebSocket (a request without the upgrade headers answers 400). \
            Client text messages: {\"type\": \"subscribe\"|\"unsubscribe\", \"streamId\"} \
            (answered subscribed / unsubscribed). Server messages: {\"type\": \"stream_update\", \
            streamId, eventId, payload} (each (streamId, eventId) once per client) and \
            {\"type\": \"error\", code, message} with codes PAYLOAD_TOO_LARGE (over 4096 bytes), \
            RATE_LIMIT_EXCEEDED (over 30 messages in 10 s), BINARY_NOT_SUPPORTED, \
            INVALID_JSON (not JSON), INVALID_MESSAGE (JSON of another shape), UNKNOWN_TYPE; the connection stays open after an error. Pings \
            every 30 s; a client that misses a pong is dropped. 429 when the client IP holds \
            its connection limit, 503 at the server's."
        ),
        access: Access::Public,
        throttled: false,
        database: false,
        params: &[],
        body: Body::Empty,
        reply: Reply::Upgrade,
        statuses: &[101, 400, 429, 503],
        deprecated: false,
    };
    /// `POST /internal/indexer/batches`.
    IngestBatch => indexer::ingest, RouteSpec {
        verb: Verb::Post,
        path: "/internal/indexer/batches",
        summary: "Ingest a batch of chain events (worker token): duplicates ignored, reorgs rolled back",
        description: Some(
            "Known event ids are ignored. A known ledger with a different hash is a reorg: the \
            chain events of that ledger and every later one are deleted, the streams they \
            touched are re-derived from the remaining events (announced as stream.reorged), \
            then the batch is applied. Batches are serialized. A stream.created payload holds \
            the create-stream fields under the same rules as POST /api/streams."
        ),
        access: Access::Indexer,
        throttled: false,
        database: true,
        params: &[],
        body: Body::Json { required: true, schema: schema::chain_batch },
        reply: Reply::Envelope(schema::any),
        statuses: &[200],
        deprecated: false,
    };
    /// `POST /internal/indexer/events/historical`.
    LoadHistory => history::load, RouteSpec {
        verb: Verb::Post,
        path: "/internal/indexer/events/historical",
        summary: "Load historical contract events (worker token; at most 1000; known ids kept)",
        description: None,
        access: Access::Indexer,
        throttled: false,
        database: true,
        params: &[],
        body: Body::Json { required: true, schema: schema::historical_events },
        reply: Reply::Envelope(schema::any),
        statuses: &[200],
        deprecated: false,
    };
    /// `POST /internal/indexer/events/replay`.
    StartReplay => history::start, RouteSpec {
        verb: Verb::Post,
        path: "/internal/indexer/events/replay",
        summary: "Replay a contract's historical events of a ledger range into contract events (worker token)",
        description: Some(
            "Batched (batchSize, else REPLAY_BATCH_SIZE), idempotent (ON CONFLICT DO NOTHING), \
            one replay at a time across instances (409 REPLAY_IN_PROGRESS); 202 with the \
            progress. A replay whose instance stopped resumes from its cursor."
        ),
        access: Access::Indexer,
        throttled: false,
        database: true,
        params: &[],
        body: Body::Json { required: true, schema: schema::replay_request },
        reply: Reply::Envelope(schema::replay_progress),
        statuses: &[202, 409],
        deprecated: false,
    };
    /// `GET /internal/indexer/status`.
    IndexerStatus => history::status, RouteSpec {
        verb: Verb::Get,
        path: "/internal/indexer/status",
        summary: "The indexer's health and the replay's progress (worker token)",
        description: None,
        access: Access::Indexer,
        throttled: false,
        database: true,
        params: &[],
        body: Body::Empty,
        reply: Reply::Envelope(schema::any),
        statuses: &[200],
        deprecated: false,
    };
    /// `POST /api/admin/indexer/stall/clear`.
    StallClear => indexer::clear_stall, RouteSpec {
        summary: "Clear the latched indexer stall (admin; 409 INDEXER_LAGGING while still behind)",
        description: Some("Recorded in the audit trail as INDEXER_STALL_CLEARED."),
        statuses: &[200, 409],
        params: &[],
        ..admin_by_id(Verb::Post, "/api/admin/indexer/stall/clear", "")
    };
    /// `POST /api/admin/indexer/clear-stall`: the old name of [`Route::StallClear`].
    ClearStall => indexer::clear_stall, RouteSpec {
        summary: "Old name of POST /api/admin/indexer/stall/clear (same behaviour)",
        statuses: &[200, 409],
        params: &[],
        deprecated: true,
        ..admin_by_id(Verb::Post, "/api/admin/indexer/clear-stall", "")
    };
    /// `POST /api/admin/indexer/clear-reorg`.
    ClearReorg => indexer::clear_reorg, RouteSpec {
        summary: "Clear the indexer's reorgDetected flag (admin)",
        statuses: &[200],
        params: &[],
        ..admin_by_id(Verb::Post, "/api/admin/indexer/clear-reorg", "")
    };
    /// `POST /api/admin/webhooks/endpoints`.
    CreateEndpoint => webhooks::create_endpoint, RouteSpec {
        summary: "Register a webhook endpoint (admin); the secret is answered once",
        description: Some(
            "The URL must be http(s) without credentials, https unless the host is loopback, \
            and allowed by the egress policy (400 EGRESS_REFUSED names the reason)."
        ),
        body: Body::Json { required: true, schema: schema::new_endpoint },
        statuses: &[201],
        params: &[],
        ..admin_by_id(Verb::Post, "/api/admin/webhooks/endpoints", "")
    };
    /// `GET /api/audit`.
    AuditTrail => audit::list, RouteSpec {
        summary: "The audit trail of admin actions, newest first (admin)",
        params: &[
            Param { name: "action", place: Place::Query, schema: schema::audit_action },
            Param { name: "limit", place: Place::Query, schema: schema::audit_limit },
        ],
        statuses: &[200],
        ..admin_by_id(Verb::Get, "/api/audit", "")
    };
    /// `POST /api/admin/api-keys`.
    CreateApiKey => keys::create, RouteSpec {
        summary: "Create an API key (admin); the key is answered once, only its digest is kept",
        body: Body::Json { required: true, schema: schema::new_api_key },
        statuses: &[201],
        params: &[],
        ..admin_by_id(Verb::Post, "/api/admin/api-keys", "")
    };
    /// `GET /api/admin/api-keys`.
    ListApiKeys => keys::list, RouteSpec {
        summary: "List API keys (admin; never a secret)",
        statuses: &[200],
        params: &[],
        ..admin_by_id(Verb::Get, "/api/admin/api-keys", "")
    };
    /// `DELETE /api/admin/api-keys/{id}`.
    RevokeApiKey => keys::revoke, admin_by_id(
        Verb::Delete,
        "/api/admin/api-keys/{id}",
        "Revoke an API key at once (admin)",
    );
    /// `GET /api/admin/webhooks/endpoints`.
    ListEndpoints => webhooks::list_endpoints, RouteSpec {
        summary: "List webhook endpoints (admin; never with secrets)",
        statuses: &[200],
        params: &[],
        ..admin_by_id(Verb::Get, "/api/admin/webhooks/endpoints", "")
    };
    /// `DELETE /api/admin/webhooks/endpoints/{id}`.
    DeleteEndpoint => webhooks::delete_endpoint, admin_by_id(
        Verb::Delete,
        "/api/admin/webhooks/endpoints/{id}",
        "Delete a webhook endpoint with its deliveries (admin)",
    );
    /// `POST /api/admin/webhooks/endpoints/{id}/rotate-secret`.
    RotateSecret => webhooks::rotate_secret, RouteSpec {
        description: Some(
            "The new secret signs every attempt from the moment of rotation. Receivers keep \
            accepting the previous secret for their grace window (the core's previous secret \
            with rotatedAt; 86400 s by default): configure the receiver with the new secret as \
            current and the old one as previous, ideally before rotating (pass the secret in \
            the body)."
        ),
        body: Body::Json { required: false, schema: schema::rotation },
        ..admin_by_id(
            Verb::Post,
            "/api/admin/webhooks/endpoints/{id}/rotate-secret",
            "Rotate an endpoint's signing secret (admin); the new secret is answered once",
        )
    };
    /// `POST /api/admin/webhooks/endpoints/{id}/disable`.
    DisableEndpoint => webhooks::disable_endpoint, admin_by_id(
        Verb::Post,
        "/api/admin/webhooks/endpoints/{id}/disable",
        "Disable an endpoint: no new deliveries; pending ones wait (admin)",
    );
    /// `POST /api/admin/webhooks/endpoints/{id}/enable`.
    EnableEndpoint => webhooks::enable_endpoint, admin_by_id(
        Verb::Post,
        "/api/admin/webhooks/endpoints/{id}/enable",
        "Enable an endpoint again (admin)",
    );
    /// `GET /api/admin/webhooks/deliveries`.
    ListDeliveries => webhooks::list_deliveries, RouteSpec {
        summary: "List outbound deliveries, newest first (admin)",
        params: DELIVERY_FILTERS,
        statuses: &[200],
        ..admin_by_id(Verb::Get, "/api/admin/webhooks/deliveries", "")
    };
    /// `GET /api/admin/webhooks/deliveries/{id}`.
    GetDelivery => webhooks::get_delivery, admin_by_id(
        Verb::Get,
        "/api/admin/webhooks/deliveries/{id}",
        "One delivery with every attempt's outcome class (admin)",
    );
    /// `GET /api/admin/webhooks/dead-letters`.
    ListDeadLetters => webhooks::list_dead_letters, RouteSpec {
        summary: "List dead letters with their reason codes (admin)",
        params: DEAD_LETTER_FILTERS,
        statuses: &[200],
        ..admin_by_id(Verb::Get, "/api/admin/webhooks/dead-letters", "")
    };
    /// `POST /api/admin/webhooks/dead-letters/{id}/replay`.
    ReplayDeadLetter => webhooks::replay_dead_letter, RouteSpec {
        statuses: &[200, 404, 409],
        ..admin_by_id(
            Verb::Post,
            "/api/admin/webhooks/dead-letters/{id}/replay",
            "Put a dead letter back in the outbox with a fresh attempt budget (admin)",
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_and_path_is_declared_once() {
        let mut seen = std::collections::HashSet::new();
        for route in Route::ALL {
            let spec = route.spec();
            assert!(
                seen.insert((spec.verb, spec.path)),
                "{:?} {} is declared twice",
                spec.verb,
                spec.path
            );
            assert!(!spec.summary.is_empty(), "{route:?} has no summary");
            let braces = spec.path.matches('{').count();
            let path_params = spec
                .params
                .iter()
                .filter(|p| p.place == Place::Path)
                .count();
            assert_eq!(
                braces, path_params,
                "{route:?}: path parameters undocumented"
            );
        }
    }

    #[test]
    fn statuses_follow_from_the_declaration() {
        let create = Route::CreateStream.spec().all_statuses();
        for status in [201, 400, 401, 403, 409, 413, 415, 429, 500, 503] {
            assert!(create.contains(&status), "{status} missing: {create:?}");
        }
        assert_eq!(Route::Live.spec().all_statuses(), vec![200, 500]);
    }
}
