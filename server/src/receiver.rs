//! The inbound webhook receiver as an extractor: a [`VerifiedDelivery`] exists only for a
//! delivery the core verified and the database recorded as new.
//!
//! The body is streamed through the core's incremental verifier, so a body over the limit
//! is answered 413 as soon as the limit is passed, without being buffered whole. Every
//! failure answers the contract's status with `{ "error": code, "message": message }`.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fluxora_webhooks::{Outcome, ReplayVerdict};
use fluxora_webhooks_facade::{Accepted, ReceivedHeaders};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use std::sync::Arc;

use axum::extract::FromRef;

use crate::app::AppState;
use crate::config::WebhookConfig;
use crate::db::Db;
use crate::error::current_request_id;
use crate::metrics::Metrics;
use crate::store::replay::{self, CapturedEntry};

/// A delivery that passed every check of the contract and is reserved in the replay store
/// (two-phase replay): the handler commits it once handled ([`VerifiedDelivery::settle`]);
/// if it never does (the process died), the reservation expires with its lease and the
/// sender's retry is processed again.
#[derive(Debug, Clone)]
pub struct VerifiedDelivery {
    /// The reservation to commit or release.
    pub reservation: replay::DbReservation,
    /// The delivery id header (lossless text form).
    pub delivery_id: String,
    /// The event type: the signed body's `event` (or `type`) field when present, otherwise
    /// the unsigned `x-fluxora-event` header.
    pub event_type: Option<String>,
    /// The body parsed as JSON, or `null` when it is not JSON.
    pub event: Value,
    /// Only the previous (rotated-out) secret produced the signature.
    pub used_previous_secret: bool,
}

/// Why a delivery was not accepted.
#[derive(Debug, Clone, Copy)]
pub enum ReceiverRejection {
    /// A contract outcome other than `ok`.
    Outcome(Outcome),
    /// The body could not be read (the client went away or sent a broken body).
    UnreadableBody,
    /// The replay store cannot be reached: 503, so the sender retries.
    StoreUnavailable,
}

impl IntoResponse for ReceiverRejection {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Self::Outcome(outcome) => (
                StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::UNAUTHORIZED),
                outcome.code(),
                outcome.message().as_str().to_owned(),
            ),
            Self::UnreadableBody => (
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                "The request body could not be read".to_owned(),
            ),
            Self::StoreUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "The replay store is unavailable; retry later".to_owned(),
            ),
        };
        let mut response = (
            status,
            axum::Json(json!({ "error": code, "message": message })),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

/// The contract headers, by the one lookup every runtime uses (a repeated field is one
/// value joined with `", "`, so it never verifies).
fn contract_headers(parts: &axum::http::request::Parts) -> ReceivedHeaders {
    ReceivedHeaders::from_pairs(
        parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
    )
}

fn event_type(event: &Value, header: Option<&[u8]>) -> Option<String> {
    ["event", "type"]
        .iter()
        .find_map(|field| event.get(field).and_then(Value::as_str))
        .map(str::to_owned)
        .or_else(|| header.map(|h| String::from_utf8_lossy(h).into_owned()))
}

/// Reads the body through the incremental verifier (`Err` as soon as the limit is passed)
/// and runs every check up to the replay step.
async fn verify_streamed(
    state: &Receiving,
    headers: &ReceivedHeaders,
    mut body: Body,
    now: u64,
) -> Result<(Accepted, Vec<u8>), ReceiverRejection> {
    let verifier = state.webhook.verifier.core();
    let mut verification = verifier
        .start(&headers.delivery(), now)
        .map_err(ReceiverRejection::Outcome)?;
    let mut buffered = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ReceiverRejection::UnreadableBody)?;
        if let Ok(data) = frame.into_data() {
            verification
                .update(&data)
                .map_err(ReceiverRejection::Outcome)?;
            buffered.extend_from_slice(&data);
        }
    }
    let checked = verification.check().map_err(ReceiverRejection::Outcome)?;
    Ok((Accepted::from_checked(&checked), buffered))
}

/// A delivery through every check up to the replay step.
struct Checked {
    accepted: Accepted,
    entry: CapturedEntry,
    body: Vec<u8>,
    event_header: Option<Vec<u8>>,
}

impl Checked {
    /// The body as JSON (or `null`) and the event type: parsed only for a delivery the
    /// replay store accepted, never for a duplicate or a replay.
    fn event(&self) -> (Value, Option<String>) {
        let event: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        let kind = event_type(&event, self.event_header.as_deref());
        (event, kind)
    }
}

async fn check(state: &Receiving, request: Request) -> Result<Checked, ReceiverRejection> {
    let (parts, body) = request.into_parts();
    let headers = contract_headers(&parts);
    let now = state.webhook.clock.now();
    let (accepted, body) = verify_streamed(state, &headers, body, now).await?;
    Ok(Checked {
        entry: CapturedEntry::from(&accepted),
        event_header: headers.event().map(<[u8]>::to_vec),
        accepted,
        body,
    })
}

/// The store cannot record the delivery safely: the sender must retry later.
fn store_unavailable(err: &sqlx::Error) -> ReceiverRejection {
    tracing::error!(request_id = %current_request_id(), error = %err, "replay store failed");
    ReceiverRejection::StoreUnavailable
}

async fn verify_and_reserve(
    state: &Receiving,
    request: Request,
) -> Result<VerifiedDelivery, ReceiverRejection> {
    let checked = check(state, request).await?;
    let webhook = &*state.webhook;
    let reserved = replay::reserve(
        &state.db,
        &checked.entry,
        webhook.reservation_lease_seconds,
        webhook.max_entries,
    )
    .await
    .map_err(|err| store_unavailable(&err))?;
    let accepted = &checked.accepted;
    let reservation =
        reserved.map_err(|verdict| ReceiverRejection::Outcome(accepted.conclude(verdict)))?;
    let (event, event_type) = checked.event();
    Ok(VerifiedDelivery {
        reservation,
        used_previous_secret: accepted
            .conclude(ReplayVerdict::Fresh)
            .used_previous_secret(),
        delivery_id: checked.entry.delivery_id,
        event_type,
        event,
    })
}

async fn verify_and_record(
    state: &Receiving,
    request: Request,
) -> Result<RecordedDelivery, ReceiverRejection> {
    let checked = check(state, request).await?;
    let webhook = &*state.webhook;
    let verdict = replay::check_and_record(
        &state.db,
        &checked.entry,
        webhook.retention_seconds,
        webhook.max_entries,
    )
    .await
    .map_err(|err| store_unavailable(&err))?;
    let outcome = checked.accepted.conclude(verdict);
    if !outcome.is_ok() {
        return Err(ReceiverRejection::Outcome(outcome));
    }
    let (event, event_type) = checked.event();
    Ok(RecordedDelivery {
        used_previous_secret: outcome.used_previous_secret(),
        delivery_id: checked.entry.delivery_id,
        event_type,
        event,
    })
}

/// A delivery that passed every check of the contract and is recorded as handled in one
/// step (the replay store's [`replay::check_and_record`]): for a handler that only answers,
/// so nothing can fail between the check and the record. A handler with work to do uses
/// [`VerifiedDelivery`], which reserves first and commits after.
#[derive(Debug, Clone)]
pub struct RecordedDelivery {
    /// The delivery id header (lossless text form).
    pub delivery_id: String,
    /// The event type, as in [`VerifiedDelivery::event_type`].
    pub event_type: Option<String>,
    /// The body parsed as JSON, or `null` when it is not JSON.
    pub event: Value,
    /// Only the previous (rotated-out) secret produced the signature.
    pub used_previous_secret: bool,
}

impl VerifiedDelivery {
    /// Settles the reservation: `handled` commits it (every later attempt is a 409
    /// duplicate), otherwise it is released so the sender's retry is processed again. A store
    /// that cannot settle leaves the reservation to expire with its lease (the retry is then
    /// processed again: nothing is lost).
    pub async fn settle(&self, state: &Receiving, handled: bool) {
        let now = state.webhook.clock.now();
        let settled = if handled {
            let retention = state.webhook.retention_seconds;
            replay::commit(&state.db, &self.reservation, now, retention).await
        } else {
            replay::release(&state.db, &self.reservation, now).await
        };
        match settled {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                request_id = %current_request_id(),
                delivery_id = %self.delivery_id,
                "the delivery's reservation had expired before it was settled"
            ),
            Err(err) => tracing::error!(
                request_id = %current_request_id(),
                delivery_id = %self.delivery_id,
                error = %err,
                "cannot settle the delivery's reservation; it expires with its lease"
            ),
        }
    }
}

/// The part of the state the receiver needs: the webhook settings, the replay store (the
/// database) and the metrics.
#[derive(Clone)]
pub struct Receiving {
    /// The webhook settings.
    pub webhook: Arc<WebhookConfig>,
    /// The replay store.
    pub db: Db,
    /// The metrics.
    pub metrics: Arc<Metrics>,
}

impl core::fmt::Debug for Receiving {
    /// The webhook settings hold secrets: never printed.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Receiving")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl FromRef<AppState> for Receiving {
    fn from_ref(state: &AppState) -> Self {
        Self {
            webhook: state.config.webhook.clone(),
            db: state.db.clone(),
            metrics: state.metrics.clone(),
        }
    }
}

/// Counts and logs a receiver answer.
fn observe<T>(state: &Receiving, result: &Result<T, ReceiverRejection>, delivery_id: Option<&str>) {
    let code = match result {
        Ok(_) => "ok",
        Err(ReceiverRejection::Outcome(outcome)) => outcome.code(),
        Err(ReceiverRejection::UnreadableBody) => "unreadable_body",
        Err(ReceiverRejection::StoreUnavailable) => "service_unavailable",
    };
    state.metrics.record_webhook(code);
    match delivery_id {
        Some(delivery_id) => tracing::info!(
            request_id = %current_request_id(),
            delivery_id = %delivery_id,
            outcome = code,
            "webhook accepted"
        ),
        None => tracing::warn!(
            request_id = %current_request_id(),
            outcome = code,
            "webhook rejected"
        ),
    }
}

impl<S: Send + Sync> FromRequest<S> for VerifiedDelivery
where
    Receiving: FromRef<S>,
{
    type Rejection = ReceiverRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let state = &Receiving::from_ref(state);
        let result = verify_and_reserve(state, request).await;
        let delivery_id = result.as_ref().ok().map(|d| d.delivery_id.as_str());
        observe(state, &result, delivery_id);
        result
    }
}

impl<S: Send + Sync> FromRequest<S> for RecordedDelivery
where
    Receiving: FromRef<S>,
{
    type Rejection = ReceiverRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let state = &Receiving::from_ref(state);
        let result = verify_and_record(state, request).await;
        let delivery_id = result.as_ref().ok().map(|d| d.delivery_id.as_str());
        observe(state, &result, delivery_id);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_prefers_the_signed_body() {
        let body = json!({ "event": "stream.created" });
        assert_eq!(
            event_type(&body, Some(b"stream.cancelled")).as_deref(),
            Some("stream.created")
        );
        assert_eq!(
            event_type(&Value::Null, Some(b"stream.cancelled")).as_deref(),
            Some("stream.cancelled")
        );
        assert_eq!(event_type(&Value::Null, None), None);
    }
}
