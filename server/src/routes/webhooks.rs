//! `/api/admin/webhooks/...`: webhook endpoints (register, list, rotate the secret, disable,
//! enable, delete), deliveries, dead letters and their replay. Admin API key required.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Principal;
use crate::domain::{MAX_ID_LEN, well_formed_id};
use crate::error::{ApiResponse, AppError};
use crate::extract::JsonBody;
use crate::routes::audit;
use crate::store::audit::Action;
use crate::store::endpoints::{self, Endpoint};
use crate::store::outbox::{self, DeliveryFilter, Replay};
use crate::util::{random_hex, unix_millis};

/// Longest accepted endpoint URL.
pub const MAX_URL_LEN: usize = 2048;
/// Largest page of the delivery lists.
pub const MAX_DELIVERY_LIMIT: u32 = 500;

/// Why a URL is not accepted as an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not an absolute URL.
    Malformed,
    /// Not http or https.
    Scheme,
    /// Carries a user name or password.
    Credentials,
    /// http to a host that is not loopback.
    HttpsRequired,
    /// https, but this build has no TLS.
    TlsNotBuilt,
    /// Longer than [`MAX_URL_LEN`].
    TooLong,
}

impl UrlProblem {
    /// The field error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "INVALID_URL",
            Self::Scheme => "UNSUPPORTED_SCHEME",
            Self::Credentials => "URL_HAS_CREDENTIALS",
            Self::HttpsRequired => "HTTPS_REQUIRED",
            Self::TlsNotBuilt => "TLS_NOT_BUILT",
            Self::TooLong => "URL_TOO_LONG",
        }
    }

    /// What was wrong.
    pub fn message(self) -> &'static str {
        match self {
            Self::Malformed => "must be an absolute http(s) URL",
            Self::Scheme => "must use http or https",
            Self::Credentials => "must not carry a user name or password",
            Self::HttpsRequired => "must use https (plain http only to loopback hosts)",
            Self::TlsNotBuilt => {
                "https needs a server built with the `tls` feature (cargo build --features tls)"
            }
            Self::TooLong => "must be at most 2048 characters",
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks an endpoint URL: http(s), no credentials, https unless the host is loopback.
pub fn validate_endpoint_url(text: &str) -> Result<String, UrlProblem> {
    if text.len() > MAX_URL_LEN {
        return Err(UrlProblem::TooLong);
    }
    let url = reqwest::Url::parse(text.trim()).map_err(|_| UrlProblem::Malformed)?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(UrlProblem::Malformed)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::Credentials);
    }
    match url.scheme() {
        "https" if !cfg!(feature = "tls") => Err(UrlProblem::TlsNotBuilt),
        "https" => Ok(url.to_string()),
        "http" if is_loopback(host) => Ok(url.to_string()),
        "http" => Err(UrlProblem::HttpsRequired),
        _ => Err(UrlProblem::Scheme),
    }
}

/// Refuses, with 400 and the reason, an endpoint the egress policy would never connect to.
async fn check_egress(state: &AppState, url: &str) -> Result<(), AppError> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Err(field_error(
            "url",
            "INVALID_URL",
            UrlProblem::Malformed.message(),
        ));
    };
    state
        .config
        .egress
        .check_endpoint(&parsed)
        .await
        .map_err(|refusal| field_error("url", "EGRESS_REFUSED", refusal.message()))
}

/// A new signing secret: `whsec_` + 64 hex digits (256 bits from the OS).
pub fn new_secret() -> String {
    format!("whsec_{}", random_hex(32))
}

fn field_error(field: &str, code: &str, message: &str) -> AppError {
    AppError::Validation {
        message: format!("{field}: {message}"),
        details: Some(json!([{ "field": field, "code": code, "message": message }])),
    }
}

fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, AppError> {
    path.map(|Path(id)| id)
        .map_err(|e| AppError::validation(format!("Bad path: {e}")))
}

fn endpoint_not_found() -> AppError {
    AppError::NotFound("Webhook endpoint not found".to_owned())
}

async fn with_circuit(state: &AppState, endpoint: &Endpoint) -> Value {
    let mut value = serde_json::to_value(endpoint).unwrap_or(Value::Null);
    value["circuit"] = json!(
        state
            .resilience
            .state_name(&endpoint.id, &endpoint.url)
            .await
    );
    value
}

/// `POST /api/admin/webhooks/endpoints` with `{ url, description? }`: 201 with the secret,
/// shown this once.
pub async fn create_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonBody,
) -> Result<Response, AppError> {
    let Some(object) = body.value.as_object() else {
        return Err(AppError::validation("The body must be a JSON object"));
    };
    let url = match object.get("url") {
        Some(Value::String(url)) => {
            validate_endpoint_url(url).map_err(|p| field_error("url", p.code(), p.message()))?
        }
        None | Some(Value::Null) => return Err(field_error("url", "REQUIRED", "is required")),
        Some(_) => return Err(field_error("url", "INVALID_TYPE", "must be a string")),
    };
    check_egress(&state, &url).await?;
    let description = match object.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.chars().count() <= 500 => Some(text.clone()),
        Some(_) => {
            return Err(field_error(
                "description",
                "INVALID_DESCRIPTION",
                "must be a string of at most 500 characters",
            ));
        }
    };
    let secret = new_secret();
    let id = format!("whe_{}", random_hex(12));
    let endpoint = endpoints::create(
        &state.db,
        &id,
        &url,
        description.as_deref(),
        &secret,
        unix_millis(),
    )
    .await?;
    tracing::info!(endpoint_id = %endpoint.id, "webhook endpoint registered");
    audit::note(
        &state.db,
        &principal,
        Action::EndpointCreated,
        Some(&endpoint.id),
        None,
    )
    .await;
    let mut data = with_circuit(&state, &endpoint).await;
    data["secret"] = json!(secret);
    Ok(ApiResponse::with_status(StatusCode::CREATED, data).into_response())
}

/// `GET /api/admin/webhooks/endpoints` (never with secrets).
pub async fn list_endpoints(State(state): State<AppState>) -> Result<Response, AppError> {
    let mut list = Vec::new();
    for endpoint in endpoints::list(&state.db).await? {
        list.push(with_circuit(&state, &endpoint).await);
    }
    Ok(ApiResponse::ok(list).into_response())
}

/// `POST /api/admin/webhooks/endpoints/{id}/rotate-secret`, optionally with `{ "secret" }`
/// (24 to 256 visible ASCII characters) when the receiver was given the new secret first;
/// otherwise a new one is generated. The new secret signs every attempt from now on and is
/// answered this once.
pub async fn rotate_secret(
    State(state): State<AppState>,
    principal: Principal,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, AppError> {
    let id = path_id(path)?;
    let secret = if body.iter().all(u8::is_ascii_whitespace) {
        new_secret()
    } else {
        let value: Value = serde_json::from_slice(&body)
            .map_err(|_| AppError::validation("Malformed JSON body"))?;
        if !value.is_object() {
            return Err(AppError::validation("The body must be a JSON object"));
        }
        match value.get("secret") {
            None | Some(Value::Null) => new_secret(),
            Some(Value::String(secret))
                if (24..=256).contains(&secret.len())
                    && secret.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                secret.clone()
            }
            Some(_) => {
                return Err(field_error(
                    "secret",
                    "INVALID_SECRET",
                    "must be 24 to 256 visible ASCII characters",
                ));
            }
        }
    };
    let Some(endpoint) = endpoints::rotate_secret(&state.db, &id, &secret, unix_millis()).await?
    else {
        return Err(endpoint_not_found());
    };
    tracing::info!(endpoint_id = %endpoint.id, "webhook endpoint secret rotated");
    audit::note(
        &state.db,
        &principal,
        Action::EndpointSecretRotated,
        Some(&endpoint.id),
        None,
    )
    .await;
    let mut data = with_circuit(&state, &endpoint).await;
    data["secret"] = json!(secret);
    Ok(ApiResponse::ok(data).into_response())
}

async fn set_enabled(
    state: &AppState,
    principal: &Principal,
    path: Result<Path<String>, PathRejection>,
    enabled: bool,
) -> Result<Response, AppError> {
    let id = path_id(path)?;
    let Some(endpoint) = endpoints::set_enabled(&state.db, &id, enabled, unix_millis()).await?
    else {
        return Err(endpoint_not_found());
    };
    if enabled {
        state.outbox_wakeup.notify_one();
    }
    let action = if enabled {
        Action::EndpointEnabled
    } else {
        Action::EndpointDisabled
    };
    audit::note(&state.db, principal, action, Some(&endpoint.id), None).await;
    Ok(ApiResponse::ok(with_circuit(state, &endpoint).await).into_response())
}

/// `POST /api/admin/webhooks/endpoints/{id}/disable`: no new rows; pending rows wait.
pub async fn disable_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    set_enabled(&state, &principal, path, false).await
}

/// `POST /api/admin/webhooks/endpoints/{id}/enable`.
pub async fn enable_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    set_enabled(&state, &principal, path, true).await
}

/// `DELETE /api/admin/webhooks/endpoints/{id}`: with its deliveries and their attempts.
pub async fn delete_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let id = path_id(path)?;
    if !endpoints::delete(&state.db, &id).await? {
        return Err(endpoint_not_found());
    }
    tracing::info!(endpoint_id = %id, "webhook endpoint deleted");
    audit::note(
        &state.db,
        &principal,
        Action::EndpointDeleted,
        Some(&id),
        None,
    )
    .await;
    Ok(ApiResponse::ok(json!({ "id": id, "deleted": true })).into_response())
}

fn delivery_filter(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    status: Option<&str>,
) -> Result<(DeliveryFilter, u32), AppError> {
    let Query(params) = query.map_err(|e| AppError::validation(format!("Bad query: {e}")))?;
    for field in ["endpointId", "streamId"] {
        if params
            .get(field)
            .is_some_and(|id| !well_formed_id(id, MAX_ID_LEN))
        {
            return Err(field_error(
                field,
                "INVALID_ID",
                "must be 1 to 64 characters of [A-Za-z0-9_.:-]",
            ));
        }
    }
    let mut filter = DeliveryFilter {
        status: status.map(str::to_owned),
        endpoint_id: params.get("endpointId").cloned(),
        stream_id: params.get("streamId").cloned(),
    };
    if status.is_none()
        && let Some(wanted) = params.get("status")
    {
        if !["pending", "delivered", "dead"].contains(&wanted.as_str()) {
            return Err(field_error(
                "status",
                "INVALID_STATUS",
                "must be one of pending, delivered, dead",
            ));
        }
        filter.status = Some(wanted.clone());
    }
    let limit = match params.get("limit") {
        None => 50,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_DELIVERY_LIMIT).contains(&n) => n,
            _ => {
                return Err(field_error(
                    "limit",
                    "INVALID_LIMIT",
                    "must be an integer from 1 to 500",
                ));
            }
        },
    };
    Ok((filter, limit))
}

/// `GET /api/admin/webhooks/deliveries` (filters `status`, `endpointId`, `streamId`, `limit`),
/// newest first.
pub async fn list_deliveries(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, AppError> {
    let (filter, limit) = delivery_filter(query, None)?;
    Ok(ApiResponse::ok(outbox::list(&state.db, &filter, limit).await?).into_response())
}

/// `GET /api/admin/webhooks/deliveries/{id}`: the delivery and every attempt.
pub async fn get_delivery(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let id = path_id(path)?;
    let Some((delivery, history)) = outbox::get(&state.db, &id).await? else {
        return Err(AppError::NotFound("Delivery not found".to_owned()));
    };
    let mut data = serde_json::to_value(delivery).unwrap_or(Value::Null);
    data["history"] = serde_json::to_value(history).unwrap_or(Value::Null);
    Ok(ApiResponse::ok(data).into_response())
}

/// `GET /api/admin/webhooks/dead-letters` (filters `endpointId`, `streamId`, `limit`).
pub async fn list_dead_letters(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, AppError> {
    let (filter, limit) = delivery_filter(query, Some("dead"))?;
    Ok(ApiResponse::ok(outbox::list(&state.db, &filter, limit).await?).into_response())
}

/// `POST /api/admin/webhooks/dead-letters/{id}/replay`: pending again with a fresh attempt
/// budget (409 `NOT_DEAD_LETTER` when it is not one).
pub async fn replay_dead_letter(
    State(state): State<AppState>,
    principal: Principal,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let id = path_id(path)?;
    match outbox::replay(&state.db, &id, unix_millis()).await? {
        Replay::Queued(delivery) => {
            tracing::info!(delivery_id = %delivery.id, "dead letter replayed");
            audit::note(
                &state.db,
                &principal,
                Action::DeadLetterReplayed,
                Some(&delivery.id),
                None,
            )
            .await;
            state.outbox_wakeup.notify_one();
            Ok(ApiResponse::ok(*delivery).into_response())
        }
        Replay::NotFound => Err(AppError::NotFound("Delivery not found".to_owned())),
        Replay::NotDead(status) => Err(AppError::Conflict {
            code: "NOT_DEAD_LETTER",
            message: format!("The delivery is {status}, not a dead letter"),
            details: Some(json!({ "currentStatus": status })),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls() {
        assert!(validate_endpoint_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(validate_endpoint_url("http://localhost/hook").is_ok());
        assert!(validate_endpoint_url("http://[::1]:9000/").is_ok());
        assert_eq!(
            validate_endpoint_url("http://example.com/hook"),
            Err(UrlProblem::HttpsRequired)
        );
        assert_eq!(
            validate_endpoint_url("https://user:pw@example.com/"),
            Err(UrlProblem::Credentials)
        );
        assert_eq!(
            validate_endpoint_url("http://user@127.0.0.1/"),
            Err(UrlProblem::Credentials)
        );
        assert_eq!(
            validate_endpoint_url("ftp://example.com/"),
            Err(UrlProblem::Scheme)
        );
        assert_eq!(
            validate_endpoint_url("not a url"),
            Err(UrlProblem::Malformed)
        );
        let https = validate_endpoint_url("https://example.com/hook");
        if cfg!(feature = "tls") {
            assert!(https.is_ok());
        } else {
            assert_eq!(https, Err(UrlProblem::TlsNotBuilt));
        }
    }

    #[test]
    fn secrets_are_long_and_distinct() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 6 + 64);
        assert_ne!(a, b);
    }
}
