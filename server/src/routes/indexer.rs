//! Chain-event ingestion (`POST /internal/indexer/batches`, worker token), the indexer's
//! health, and the admin routes that clear its latched flags.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Principal;
use crate::domain::stream::chain_stream;
use crate::domain::{MAX_ID_LEN, well_formed_id};
use crate::error::{ApiResponse, AppError};
use crate::extract::JsonBody;
use crate::routes::audit;
use crate::store::audit::Action;
use crate::store::chain::{self, ChainEvent, ChainKind, IndexerState};
use crate::util::unix_millis;

/// Events per batch.
pub const MAX_BATCH_EVENTS: usize = 1000;

fn problem(index: usize, field: &str, code: &str, message: &str) -> Value {
    json!({ "index": index, "field": field, "code": code, "message": message })
}

/// Validates the batch body into events, or the field errors.
fn parse_batch(body: &Value, now_ms: i64) -> Result<Vec<ChainEvent>, AppError> {
    let Some(list) = body.get("events").and_then(Value::as_array) else {
        return Err(AppError::validation(
            "The body must be { \"events\": [...] }",
        ));
    };
    if list.len() > MAX_BATCH_EVENTS {
        return Err(AppError::validation(format!(
            "A batch holds at most {MAX_BATCH_EVENTS} events"
        )));
    }
    let mut problems = Vec::new();
    let mut events = Vec::new();
    let mut hashes: HashMap<i64, String> = HashMap::new();
    for (index, item) in list.iter().enumerate() {
        let text = |field: &str| item.get(field).and_then(Value::as_str);
        let event_id = text("eventId").filter(|id| well_formed_id(id, 128));
        let ledger = item
            .get("ledger")
            .and_then(Value::as_u64)
            .and_then(|l| i64::try_from(l).ok())
            .filter(|l| *l > 0);
        let ledger_hash = text("ledgerHash").filter(|h| well_formed_id(h, 128));
        let stream_id = text("streamId").filter(|id| well_formed_id(id, MAX_ID_LEN));
        let kind = text("type").and_then(ChainKind::parse);
        let payload = item.get("payload").filter(|p| p.is_object());
        for (ok, field, code, message) in [
            (
                event_id.is_some(),
                "eventId",
                "INVALID_EVENT_ID",
                "must be 1 to 128 characters of [A-Za-z0-9_.:-]",
            ),
            (
                ledger.is_some(),
                "ledger",
                "INVALID_LEDGER",
                "must be a positive integer",
            ),
            (
                ledger_hash.is_some(),
                "ledgerHash",
                "INVALID_LEDGER_HASH",
                "must be 1 to 128 characters of [A-Za-z0-9_.:-]",
            ),
            (
                stream_id.is_some(),
                "streamId",
                "INVALID_STREAM_ID",
                "must be 1 to 64 characters of [A-Za-z0-9_.:-]",
            ),
            (
                kind.is_some(),
                "type",
                "UNKNOWN_EVENT_TYPE",
                "must be stream.created, stream.paused, stream.resumed, stream.completed or stream.cancelled",
            ),
            (
                payload.is_some(),
                "payload",
                "INVALID_PAYLOAD",
                "must be an object",
            ),
        ] {
            if !ok {
                problems.push(problem(index, field, code, message));
            }
        }
        let (
            Some(event_id),
            Some(ledger),
            Some(ledger_hash),
            Some(stream_id),
            Some(kind),
            Some(payload),
        ) = (event_id, ledger, ledger_hash, stream_id, kind, payload)
        else {
            continue;
        };
        if kind == ChainKind::Created && chain_stream(stream_id, payload, now_ms).is_none() {
            problems.push(problem(
                index,
                "payload",
                "INVALID_STREAM",
                "must hold valid create-stream fields (sender, recipient, depositAmount, ratePerSecond, ...)",
            ));
            continue;
        }
        if let Some(hash) = hashes.insert(ledger, ledger_hash.to_owned())
            && hash != ledger_hash
        {
            problems.push(problem(
                index,
                "ledgerHash",
                "CONFLICTING_LEDGER_HASH",
                "differs from another event of the same ledger in this batch",
            ));
            continue;
        }
        events.push(ChainEvent {
            event_id: event_id.to_owned(),
            ledger,
            ledger_hash: ledger_hash.to_owned(),
            stream_id: stream_id.to_owned(),
            kind,
            payload: payload.to_string(),
        });
    }
    if !problems.is_empty() {
        return Err(AppError::Validation {
            message: format!("{} event fields are invalid", problems.len()),
            details: Some(Value::Array(problems)),
        });
    }
    Ok(events)
}

fn safe_ledger(state: &AppState, last_ledger: i64) -> Option<i64> {
    let depth = i64::try_from(state.config.indexer.finality_ledgers).unwrap_or(i64::MAX);
    (last_ledger > 0).then(|| last_ledger.saturating_sub(depth).max(0))
}

/// `POST /internal/indexer/batches` with `{ events: [{ eventId, ledger, ledgerHash, streamId,
/// type, payload }] }` and the worker token (`Authorization: Bearer` or `X-Api-Key`).
pub async fn ingest(State(state): State<AppState>, body: JsonBody) -> Result<Response, AppError> {
    let now = unix_millis();
    let events = parse_batch(&body.value, now)?;
    let threshold_ms = i64::try_from(
        state
            .config
            .indexer
            .stall_threshold_seconds
            .saturating_mul(1000),
    )
    .unwrap_or(i64::MAX);
    let outcome = chain::ingest(&state.db, &events, chain_stream, now, threshold_ms).await?;
    state.health.invalidate().await;
    if let Some(reorg) = &outcome.reorg {
        tracing::warn!(
            from_ledger = reorg.from_ledger,
            rolled_back_events = reorg.rolled_back_events,
            streams = reorg.streams,
            existingHash = %reorg.existing_hash,
            incomingHash = %reorg.incoming_hash,
            "chain reorg: orphaned ledgers rolled back"
        );
    }
    if !outcome.published.is_empty() {
        state.outbox_wakeup.notify_one();
    }
    for (stream_id, record) in &outcome.published {
        state.hub.publish(stream_id, record);
    }
    Ok(ApiResponse::ok(json!({
        "accepted": outcome.accepted,
        "duplicates": outcome.duplicates,
        "withoutEffect": outcome.without_effect,
        "streamEvents": outcome.published.len(),
        "reorg": outcome.reorg.as_ref().map(|r| json!({
            "fromLedger": r.from_ledger,
            "rolledBackEvents": r.rolled_back_events,
            "streams": r.streams,
        })),
        "lastLedger": outcome.last_ledger,
        "lastSafeLedger": safe_ledger(&state, outcome.last_ledger),
    }))
    .into_response())
}

/// Whether the indexer is behind: no batch for longer than the threshold (or none at all
/// since the threshold passed after start).
fn lagging(state: &AppState, stored: &IndexerState, now_ms: i64) -> bool {
    let threshold = i64::try_from(
        state
            .config
            .indexer
            .stall_threshold_seconds
            .saturating_mul(1000),
    )
    .unwrap_or(i64::MAX);
    if stored.last_batch_at > 0 {
        now_ms - stored.last_batch_at > threshold
    } else {
        i64::try_from(state.started.elapsed().as_millis()).unwrap_or(i64::MAX) > threshold
    }
}

/// The `checks.indexer` object of `/health`: `not_configured`, `starting`, `healthy` or
/// `stalled` (latched: it stays until an admin clears it), `lastSafeLedger`, `reorgDetected`.
pub async fn health_check(state: &AppState) -> Value {
    if state.config.indexer.token.is_none() {
        return json!({ "status": "not_configured" });
    }
    let Ok(stored) = chain::state(&state.db).await else {
        return json!({ "status": "unknown" });
    };
    let now = unix_millis();
    let lagging = lagging(state, &stored, now);
    if lagging && !stored.stall_latched {
        let _ = chain::set_stall_latched(&state.db, true).await;
    }
    let status = if lagging || stored.stall_latched {
        "stalled"
    } else if stored.last_batch_at == 0 {
        "starting"
    } else {
        "healthy"
    };
    json!({
        "status": status,
        "lastSafeLedger": safe_ledger(state, stored.last_ledger),
        "lastLedger": (stored.last_ledger > 0).then_some(stored.last_ledger),
        "reorgDetected": stored.reorg_detected,
        "lastReorgLedger": (stored.last_reorg_ledger > 0).then_some(stored.last_reorg_ledger),
        "lastBatchAgeSeconds": (stored.last_batch_at > 0).then(|| (now - stored.last_batch_at) / 1000),
        "lagMs": (stored.last_batch_at > 0).then(|| now - stored.last_batch_at),
        "stallThresholdSeconds": state.config.indexer.stall_threshold_seconds,
    })
}

/// `POST /api/admin/indexer/stall/clear` (and its old path `clear-stall`): 409
/// `INDEXER_LAGGING` while still behind; recorded as `INDEXER_STALL_CLEARED`.
pub async fn clear_stall(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, AppError> {
    if state.config.indexer.token.is_none() {
        return Err(AppError::Unavailable(
            "Chain-event ingestion is not configured",
        ));
    }
    let stored = chain::state(&state.db).await?;
    if lagging(&state, &stored, unix_millis()) {
        return Err(AppError::Conflict {
            code: "INDEXER_LAGGING",
            message: "The indexer is still behind; the stall stays latched".to_owned(),
            details: Some(json!({
                "stallThresholdSeconds": state.config.indexer.stall_threshold_seconds,
            })),
        });
    }
    chain::set_stall_latched(&state.db, false).await?;
    state.health.invalidate().await;
    tracing::info!("indexer stall cleared");
    audit::note(
        &state.db,
        &principal,
        Action::IndexerStallCleared,
        None,
        None,
    )
    .await;
    Ok(ApiResponse::ok(health_check(&state).await).into_response())
}

/// `POST /api/admin/indexer/clear-reorg`: resets `reorgDetected`.
pub async fn clear_reorg(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, AppError> {
    if state.config.indexer.token.is_none() {
        return Err(AppError::Unavailable(
            "Chain-event ingestion is not configured",
        ));
    }
    chain::clear_reorg(&state.db).await?;
    state.health.invalidate().await;
    audit::note(
        &state.db,
        &principal,
        Action::IndexerReorgCleared,
        None,
        None,
    )
    .await;
    Ok(ApiResponse::ok(health_check(&state).await).into_response())
}
