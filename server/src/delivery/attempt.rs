//! One attempt of one claimed row: admitted by the endpoint's circuit (and retry rate),
//! signed afresh, posted under the egress policy, its answer classified. What it came to is
//! returned for the recorder to write; nothing here touches the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fluxora_webhooks::{
    HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, Signer,
};

use super::{
    DeliveryConfig, MAX_ATTEMPTS, REASON_REJECTED, REASON_RETRIES_EXHAUSTED, Resilience, Verdict,
    backoff, classify, error_code, random_unit,
};
use crate::metrics::Metrics;
use crate::store::endpoints::Target;
use crate::store::outbox::{Attempt, AttemptResult, Claimed, Settled};
use crate::util::{unix_millis, unix_seconds};

/// What every attempt shares.
#[derive(Debug)]
pub(super) struct Context {
    pub(super) metrics: Arc<Metrics>,
    pub(super) config: DeliveryConfig,
    pub(super) resilience: Arc<Resilience>,
    pub(super) egress: Arc<crate::egress::EgressPolicy>,
}

/// Unix ms `wait` from now.
pub(super) fn after(wait: Duration) -> i64 {
    unix_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2)
}

/// Makes one attempt of `row` to `target` with `client`.
pub(super) async fn attempt(
    context: &Context,
    row: Claimed,
    target: &Target,
    client: &reqwest::Client,
) -> Settled {
    let retry = row.attempts > 0;
    if let Err(wait) = context
        .resilience
        .admit(&row.endpoint_id, &target.url, retry)
        .await
    {
        return Settled::Released(row, after(wait));
    }
    let number = row.attempts + 1;
    let timestamp = unix_seconds().to_string();
    let signature =
        Signer::new(target.secret.as_bytes()).sign(timestamp.as_bytes(), row.payload.as_bytes());
    let at_ms = unix_millis();
    let started = Instant::now();
    // A literal IP host never goes through the resolver: the policy checks it here.
    let refused = reqwest::Url::parse(&target.url)
        .map_err(|_| crate::egress::Refusal::NoAllowedAddress)
        .and_then(|url| context.egress.check_url(&url))
        .err();
    let sent = match refused {
        Some(_) => None,
        None => Some(
            client
                .post(target.url.as_str())
                .header("content-type", "application/json")
                .header(HEADER_DELIVERY_ID, row.id.as_str())
                .header(HEADER_TIMESTAMP, timestamp.as_str())
                .header(HEADER_SIGNATURE, signature.as_str())
                .header(HEADER_EVENT, row.event_type.as_str())
                .body(row.payload.clone())
                .send()
                .await,
        ),
    };
    let (status_code, verdict, outcome, error) = match sent {
        None => (
            None,
            Verdict::Permanent,
            "egress_refused",
            Some("egress_refused"),
        ),
        Some(Ok(mut response)) => {
            let status = response.status().as_u16();
            let code = if status == 409 {
                let mut body = Vec::new();
                while let Ok(Some(chunk)) = response.chunk().await {
                    body.extend_from_slice(&chunk);
                    if body.len() > 65_536 {
                        break;
                    }
                }
                error_code(&body)
            } else {
                // Read to the end, so the connection goes back to the pool.
                while let Ok(Some(_)) = response.chunk().await {}
                None
            };
            let verdict = classify(status, code.as_deref());
            let outcome = match verdict {
                Verdict::Delivered => "delivered",
                Verdict::AlreadyDelivered => "duplicate_delivery",
                Verdict::Retryable => "retryable_status",
                Verdict::Permanent => "permanent_status",
            };
            (Some(status), verdict, outcome, None)
        }
        Some(Err(err)) if err.is_timeout() => {
            (None, Verdict::Retryable, "timeout", Some("timeout"))
        }
        Some(Err(err)) if err.is_connect() => (
            None,
            Verdict::Retryable,
            "network_error",
            Some("connect_error"),
        ),
        Some(Err(_)) => (
            None,
            Verdict::Retryable,
            "network_error",
            Some("request_error"),
        ),
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    context.metrics.record_delivery_attempt(outcome);
    let result = match verdict {
        Verdict::Delivered | Verdict::AlreadyDelivered => {
            context
                .resilience
                .success(&row.endpoint_id, &target.url)
                .await;
            AttemptResult::Delivered
        }
        Verdict::Permanent => {
            context
                .resilience
                .success(&row.endpoint_id, &target.url)
                .await;
            AttemptResult::Dead(REASON_REJECTED)
        }
        Verdict::Retryable => {
            context
                .resilience
                .failure(&row.endpoint_id, &target.url)
                .await;
            if number >= MAX_ATTEMPTS {
                AttemptResult::Dead(REASON_RETRIES_EXHAUSTED)
            } else {
                AttemptResult::Retry(after(backoff(
                    context.config.retry_base,
                    number,
                    random_unit(),
                )))
            }
        }
    };
    tracing::info!(
        delivery_id = %row.id,
        event_type = %row.event_type,
        attempt = number,
        status_code = status_code.map_or(0, i64::from),
        "webhook delivery attempt"
    );
    if let AttemptResult::Dead(reason) = &result {
        tracing::warn!(
            delivery_id = %row.id,
            event_type = %row.event_type,
            attempt = number,
            status_code = status_code.map_or(0, i64::from),
            reason,
            "webhook delivery dead-lettered"
        );
    }
    let attempt = Attempt {
        number,
        at_ms,
        duration_ms,
        status_code,
        outcome,
        error,
        result,
    };
    Settled::Attempted(row, attempt)
}
