//! The delivery worker: claims due outbox rows, signs each attempt afresh, posts it under the
//! egress policy and records the outcome.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fluxora_webhooks::{
    HEADER_DELIVERY_ID, HEADER_EVENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, Signer,
};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use super::{
    CONCURRENCY, DeliveryConfig, MAX_ATTEMPTS, REASON_REJECTED, REASON_RETRIES_EXHAUSTED,
    Resilience, Verdict, backoff, classify, error_code, random_unit,
};
use crate::db::{Backend, Db};
use crate::metrics::Metrics;
use crate::store::endpoints;
use crate::store::outbox::{self, Attempt, AttemptResult, Claimed};
use crate::util::{random_hex, unix_millis, unix_seconds};

/// What the worker shares with its tasks.
#[derive(Debug)]
struct Worker {
    db: Db,
    metrics: Arc<Metrics>,
    config: DeliveryConfig,
    client: reqwest::Client,
    resilience: Arc<Resilience>,
    egress: Arc<crate::egress::EgressPolicy>,
}

/// Starts the delivery worker; it stops when `shutdown` becomes true, letting attempts in
/// flight finish.
pub fn spawn_worker(
    db: Db,
    metrics: Arc<Metrics>,
    config: DeliveryConfig,
    resilience: Arc<Resilience>,
    wakeup: Arc<Notify>,
    egress: Arc<crate::egress::EgressPolicy>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Names resolve to the addresses the egress policy allows, and no others.
            .dns_resolver(Arc::new(crate::egress::PolicyResolver(egress.clone())))
            .user_agent(concat!("fluxora-server/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(error = %err, "cannot build the delivery client; deliveries stop");
                return;
            }
        };
        if db.backend == Backend::Sqlite {
            // One instance per SQLite file: a lease still held was held by a process that died.
            match outbox::release_all_leases(&db).await {
                Ok(0) => {}
                Ok(released) => tracing::info!(released, "released leases of a previous run"),
                Err(err) => tracing::warn!(error = %err, "cannot release old leases"),
            }
        }
        let worker = Arc::new(Worker {
            db,
            metrics,
            config,
            client,
            resilience,
            egress,
        });
        let owner = format!("wk_{}", random_hex(8));
        let slots = Arc::new(Semaphore::new(CONCURRENCY));
        let mut tasks = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = slots.available_permits();
            let mut claimed_all = false;
            if free > 0 {
                let now = unix_millis();
                let lease = i64::try_from(config.lease().as_millis()).unwrap_or(60_000);
                match outbox::claim(&worker.db, &owner, now, now + lease, free as u32).await {
                    Ok(rows) => {
                        claimed_all = !rows.is_empty() && rows.len() == free;
                        for row in rows {
                            let Ok(permit) = slots.clone().acquire_owned().await else {
                                break;
                            };
                            let worker = worker.clone();
                            tasks.spawn(async move {
                                worker.deliver(row).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "claiming deliveries failed"),
                }
            }
            if claimed_all {
                // Every slot is busy: wait for one to free up.
                tokio::select! {
                    _ = shutdown.changed() => {}
                    _ = tasks.join_next() => {}
                }
                continue;
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                () = wakeup.notified() => {}
                () = tokio::time::sleep(config.poll_interval) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!("delivery worker stopped");
    })
}

impl Worker {
    async fn deliver(&self, row: Claimed) {
        let defer = |wait: Duration| {
            unix_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2)
        };
        let target = match endpoints::target(&self.db, &row.endpoint_id).await {
            Ok(Some(target)) if target.enabled => target,
            Ok(_) => {
                let _ = outbox::release(&self.db, &row.id, defer(self.config.poll_interval)).await;
                return;
            }
            Err(err) => {
                tracing::warn!(delivery_id = %row.id, error = %err, "cannot load the endpoint");
                let _ = outbox::release(&self.db, &row.id, defer(self.config.poll_interval)).await;
                return;
            }
        };
        let retry = row.attempts > 0;
        if let Err(wait) = self
            .resilience
            .admit(&row.endpoint_id, &target.url, retry)
            .await
        {
            let _ = outbox::release(&self.db, &row.id, defer(wait)).await;
            return;
        }
        let number = row.attempts + 1;
        let timestamp = unix_seconds().to_string();
        let signature = Signer::new(target.secret.as_bytes())
            .sign(timestamp.as_bytes(), row.payload.as_bytes());
        let at_ms = unix_millis();
        let started = Instant::now();
        // A literal IP host never goes through the resolver: the policy checks it here.
        let refused = reqwest::Url::parse(&target.url)
            .map_err(|_| crate::egress::Refusal::NoAllowedAddress)
            .and_then(|url| self.egress.check_url(&url))
            .err();
        let sent = match refused {
            Some(_) => None,
            None => Some(
                self.client
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
        self.metrics.record_delivery_attempt(outcome);
        let result = match verdict {
            Verdict::Delivered | Verdict::AlreadyDelivered => {
                self.resilience.success(&row.endpoint_id, &target.url).await;
                AttemptResult::Delivered
            }
            Verdict::Permanent => {
                self.resilience.success(&row.endpoint_id, &target.url).await;
                AttemptResult::Dead(REASON_REJECTED)
            }
            Verdict::Retryable => {
                self.resilience.failure(&row.endpoint_id, &target.url).await;
                if number >= MAX_ATTEMPTS {
                    AttemptResult::Dead(REASON_RETRIES_EXHAUSTED)
                } else {
                    AttemptResult::Retry(defer(backoff(
                        self.config.retry_base,
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
            id: &row.id,
            number,
            at_ms,
            duration_ms,
            status_code,
            outcome,
            error,
            result,
        };
        if let Err(err) = outbox::record(&self.db, &attempt).await {
            // The lease runs out and the row is attempted again: at least once.
            tracing::warn!(delivery_id = %row.id, error = %err, "cannot record a delivery attempt");
        }
    }
}
