//! The contract-event indexer's batch replay: load historical events
//! (`POST /internal/indexer/events/historical`), replay a contract's ledger range into
//! `contract_events` (`POST /internal/indexer/events/replay`, one at a time) and read the
//! progress (`GET /internal/indexer/status`). All need the indexer's worker token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Principal;
use crate::config::MAX_REPLAY_BATCH_SIZE;
use crate::db::Db;
use crate::domain::{MAX_ID_LEN, well_formed_id};
use crate::error::{ApiResponse, AppError};
use crate::extract::JsonBody;
use crate::routes::audit;
use crate::store::audit::Action;
use crate::store::history::{self, HistoricalEvent, ReplayRequest, Step};
use crate::util::{random_hex, unix_millis};

/// Historical events per load request.
pub const MAX_LOAD_EVENTS: usize = 1000;

fn field(index: Option<usize>, name: &str, code: &str, message: &str) -> Value {
    let mut problem = json!({ "field": name, "code": code, "message": message });
    if let Some(index) = index {
        problem["index"] = json!(index);
    }
    problem
}

fn invalid(problems: Vec<Value>) -> AppError {
    AppError::Validation {
        message: format!("{} fields are invalid", problems.len()),
        details: Some(Value::Array(problems)),
    }
}

fn positive_ledger(value: Option<&Value>) -> Option<i64> {
    value
        .and_then(Value::as_u64)
        .and_then(|l| i64::try_from(l).ok())
        .filter(|l| *l > 0)
}

/// `POST /internal/indexer/events/historical` with `{ events: [{ contractId, eventId, ledger,
/// type, payload }] }` (at most 1000, within the 256 KiB body limit): loads the archive; known event ids are kept as they are.
pub async fn load(State(db): State<Db>, body: JsonBody) -> Result<Response, AppError> {
    let Some(list) = body.value.get("events").and_then(Value::as_array) else {
        return Err(AppError::validation(
            "The body must be { \"events\": [...] }",
        ));
    };
    if list.len() > MAX_LOAD_EVENTS {
        return Err(AppError::validation(format!(
            "A load holds at most {MAX_LOAD_EVENTS} events"
        )));
    }
    let mut problems = Vec::new();
    let mut events = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let text = |name: &str, max: usize| {
            item.get(name)
                .and_then(Value::as_str)
                .filter(|t| well_formed_id(t, max))
        };
        let contract_id = text("contractId", MAX_ID_LEN);
        let event_id = text("eventId", 128);
        let event_type = text("type", MAX_ID_LEN);
        let ledger = positive_ledger(item.get("ledger"));
        let payload = item.get("payload").filter(|p| p.is_object());
        for (ok, name, code) in [
            (contract_id.is_some(), "contractId", "INVALID_CONTRACT_ID"),
            (event_id.is_some(), "eventId", "INVALID_EVENT_ID"),
            (event_type.is_some(), "type", "INVALID_EVENT_TYPE"),
        ] {
            if !ok {
                problems.push(field(
                    Some(index),
                    name,
                    code,
                    "must be an id of [A-Za-z0-9_.:-]",
                ));
            }
        }
        if ledger.is_none() {
            problems.push(field(
                Some(index),
                "ledger",
                "INVALID_LEDGER",
                "must be a positive integer",
            ));
        }
        if payload.is_none() {
            problems.push(field(
                Some(index),
                "payload",
                "INVALID_PAYLOAD",
                "must be an object",
            ));
        }
        if let (Some(contract_id), Some(event_id), Some(event_type), Some(ledger), Some(payload)) =
            (contract_id, event_id, event_type, ledger, payload)
        {
            events.push(HistoricalEvent {
                event_id: event_id.to_owned(),
                contract_id: contract_id.to_owned(),
                ledger,
                event_type: event_type.to_owned(),
                payload: payload.to_string(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let loaded = history::load(&db, &events).await?;
    Ok(ApiResponse::ok(json!({
        "loaded": loaded,
        "duplicates": events.len() as u64 - loaded,
    }))
    .into_response())
}

fn replay_request(body: &Value, default_batch: i64) -> Result<ReplayRequest, AppError> {
    let contract_id = body
        .get("contractId")
        .and_then(Value::as_str)
        .filter(|t| well_formed_id(t, MAX_ID_LEN));
    let from_ledger = positive_ledger(body.get("fromLedger"));
    let to_ledger = positive_ledger(body.get("toLedger"));
    let batch_size = match body.get("batchSize") {
        None | Some(Value::Null) => Some(default_batch),
        Some(value) => value
            .as_i64()
            .filter(|n| (1..=i64::from(MAX_REPLAY_BATCH_SIZE)).contains(n)),
    };
    let mut problems = Vec::new();
    if contract_id.is_none() {
        problems.push(field(
            None,
            "contractId",
            "INVALID_CONTRACT_ID",
            "must be 1 to 64 characters of [A-Za-z0-9_.:-]",
        ));
    }
    for (value, name) in [(from_ledger, "fromLedger"), (to_ledger, "toLedger")] {
        if value.is_none() {
            problems.push(field(
                None,
                name,
                "INVALID_LEDGER",
                "must be a positive integer",
            ));
        }
    }
    if let (Some(from), Some(to)) = (from_ledger, to_ledger)
        && to < from
    {
        problems.push(field(
            None,
            "toLedger",
            "INVALID_RANGE",
            "must not be below fromLedger",
        ));
    }
    if batch_size.is_none() {
        problems.push(field(
            None,
            "batchSize",
            "INVALID_BATCH_SIZE",
            "must be an integer from 1 to 10000",
        ));
    }
    match (contract_id, from_ledger, to_ledger, batch_size) {
        (Some(contract_id), Some(from_ledger), Some(to_ledger), Some(batch_size))
            if problems.is_empty() =>
        {
            Ok(ReplayRequest {
                contract_id: contract_id.to_owned(),
                from_ledger,
                to_ledger,
                batch_size,
            })
        }
        _ => Err(invalid(problems)),
    }
}

/// `POST /internal/indexer/events/replay` with `{ contractId, fromLedger, toLedger,
/// batchSize? }`: 202 and the progress; 409 `REPLAY_IN_PROGRESS` while another runs.
pub async fn start(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonBody,
) -> Result<Response, AppError> {
    let request = replay_request(&body.value, state.config.indexer.replay_batch_size)?;
    let replay_id = format!("rpl_{}", random_hex(12));
    if !history::start(&state.db, &replay_id, &request, unix_millis()).await? {
        let running = history::progress(&state.db).await?;
        return Err(AppError::Conflict {
            code: "REPLAY_IN_PROGRESS",
            message: "A replay is already running; one runs at a time".to_owned(),
            details: Some(serde_json::to_value(running).unwrap_or(Value::Null)),
        });
    }
    tracing::info!(
        replay_id = %replay_id,
        contract_id = %request.contract_id,
        from_ledger = request.from_ledger,
        to_ledger = request.to_ledger,
        batch_size = request.batch_size,
        "historical replay started"
    );
    audit::note(
        &state.db,
        &principal,
        Action::IndexerReplayStarted,
        Some(&request.contract_id),
        Some(json!({
            "replayId": replay_id,
            "fromLedger": request.from_ledger,
            "toLedger": request.to_ledger,
            "batchSize": request.batch_size,
        })),
    )
    .await;
    spawn_replay(state.db.clone(), replay_id);
    let progress = history::progress(&state.db).await?;
    Ok(ApiResponse::with_status(StatusCode::ACCEPTED, progress).into_response())
}

/// `GET /internal/indexer/status`: the indexer's health and the replay's progress.
pub async fn status(State(state): State<AppState>) -> Result<Response, AppError> {
    let replay = history::progress(&state.db).await?;
    Ok(ApiResponse::ok(json!({
        "indexer": crate::routes::indexer::health_check(&state).await,
        "replay": replay,
    }))
    .into_response())
}

/// Runs replay `replay_id` batch by batch until it finishes, fails or another replay takes
/// its row.
pub fn spawn_replay(db: Db, replay_id: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match history::step(&db, &replay_id, unix_millis()).await {
                Ok(Step::Copied) => {}
                Ok(Step::Finished) => {
                    tracing::info!(replay_id = %replay_id, "historical replay completed");
                    break;
                }
                Ok(Step::Lost) => {
                    tracing::warn!(replay_id = %replay_id, "historical replay taken over");
                    break;
                }
                Err(err) => {
                    tracing::error!(replay_id = %replay_id, error = %err, "historical replay failed");
                    let reason = err.to_string();
                    let failed = history::fail(&db, &replay_id, &reason, unix_millis());
                    if let Err(err) = failed.await {
                        tracing::error!(error = %err, "cannot record the replay's failure");
                    }
                    break;
                }
            }
        }
    })
}

/// Resumes a replay whose instance stopped mid-way (no progress for
/// [`history::STALE_AFTER_MS`]), from its cursor.
pub async fn resume_stale(db: &Db) -> Result<bool, sqlx::Error> {
    let now = unix_millis();
    if !history::progress(db).await?.is_stale(now) {
        return Ok(false);
    }
    let replay_id = format!("rpl_{}", random_hex(12));
    if !history::take_over(db, &replay_id, now).await? {
        return Ok(false);
    }
    tracing::info!(replay_id = %replay_id, "resuming a stopped historical replay");
    spawn_replay(db.clone(), replay_id);
    Ok(true)
}
