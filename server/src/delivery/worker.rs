//! The delivery worker: claims due outbox rows in batches sized by its free slots, starts
//! one attempt per row and hands the outcomes to the recorder. It claims again as soon as
//! enough slots are free while rows are due, and otherwise when something may have become
//! due: a change made on this instance, a batch of outcomes written (rows waiting behind a
//! delivered one), or the poll interval (retries, other instances' changes).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;

use super::attempt::{Context, after, attempt};
use super::capacity::Capacity;
use super::clients::Clients;
use super::recorder::spawn_recorder;
use super::{DeliveryConfig, Resilience};
use crate::db::{Backend, Db};
use crate::metrics::Metrics;
use crate::store::endpoints::{self, Target};
use crate::store::outbox::{self, Claimed, Settled};
use crate::util::{random_hex, unix_millis};

/// A claim slower than this suggests the planner lacks statistics of the outbox.
const SLOW_CLAIM: Duration = Duration::from_millis(20);
/// While a backlog lasts (or claims are slow), the outbox is vacuumed and its statistics
/// refreshed this often: a backlog is a table that changes faster than autovacuum looks at
/// it, and each delivered row leaves a dead entry at the head of the pending index that
/// every claim would walk again until a vacuum removes it.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(5);

/// Starts the delivery worker; it stops when `shutdown` becomes true, letting attempts in
/// flight finish and their outcomes be written.
pub fn spawn_worker(
    db: Db,
    metrics: Arc<Metrics>,
    config: DeliveryConfig,
    resilience: Arc<Resilience>,
    wakeup: Arc<Notify>,
    egress: Arc<crate::egress::EgressPolicy>,
    shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if config.concurrency == 0 {
            tracing::info!("WEBHOOK_CONCURRENCY is 0: this instance delivers no webhooks");
            return;
        }
        if db.backend == Backend::Sqlite {
            // One instance per SQLite file: a lease still held was held by a process that died.
            match outbox::release_all_leases(&db).await {
                Ok(0) => {}
                Ok(released) => tracing::info!(released, "released leases of a previous run"),
                Err(err) => tracing::warn!(error = %err, "cannot release old leases"),
            }
        }
        let context = Arc::new(Context {
            metrics,
            config,
            resilience,
            egress: egress.clone(),
        });
        let (settled, queue) = mpsc::unbounded_channel();
        let written = Arc::new(Notify::new());
        let recorder = spawn_recorder(db.clone(), queue, written.clone());
        let worker = Worker {
            capacity: Arc::new(Capacity::new(
                config.concurrency,
                config.endpoint_concurrency,
            )),
            clients: Clients::new(config.timeout, config.endpoint_concurrency, egress),
            targets: HashMap::new(),
            maintained: None,
            maintaining: Arc::default(),
            owner: format!("wk_{}", random_hex(8)),
            db,
            context,
            settled,
            rounds: 0,
        };
        worker.run(wakeup, written, shutdown).await;
        let _ = recorder.await;
        tracing::info!("delivery worker stopped");
    })
}

/// The claiming loop's state.
struct Worker {
    db: Db,
    context: Arc<Context>,
    capacity: Arc<Capacity>,
    clients: Clients,
    /// The enabled endpoints as of the last claim.
    targets: HashMap<String, Target>,
    /// When the outbox's maintenance last started, and whether it still runs.
    maintained: Option<Instant>,
    maintaining: Arc<std::sync::atomic::AtomicBool>,
    owner: String,
    settled: mpsc::UnboundedSender<Settled>,
    /// Claim rounds so far (which endpoint leads the next claim).
    rounds: usize,
}

impl Worker {
    async fn run(
        mut self,
        wakeup: Arc<Notify>,
        written: Arc<Notify>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut tasks = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            while tasks.try_join_next().is_some() {}
            let more_due = self.claim_round(&mut tasks).await;
            let poll = self.context.config.poll_interval;
            tokio::select! {
                _ = shutdown.changed() => {}
                () = wakeup.notified() => {}
                () = written.notified() => {}
                // Rows are due: claim again as slots free up, without waiting for a poll.
                Some(_) = tasks.join_next(), if more_due => {}
                () = tokio::time::sleep(poll), if !more_due => {}
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Claims what the free slots allow, if worth it, and starts the attempts. True when the
    /// claim was full (more rows are likely due) or too small to be worth making yet.
    async fn claim_round(&mut self, tasks: &mut JoinSet<()>) -> bool {
        let plan = self.capacity.plan(self.targets.keys());
        let floor = self.capacity.batch_floor(self.targets.len().max(1));
        let idle = self.capacity.in_flight() == 0;
        if !self.targets.is_empty() && !idle && plan.limit < floor {
            return true;
        }
        match endpoints::enabled_targets(&self.db).await {
            Ok(targets) => self.targets = targets.into_iter().collect(),
            Err(err) => {
                tracing::warn!(error = %err, "cannot load the endpoints");
                return false;
            }
        }
        let targets = &self.targets;
        self.clients
            .retain(|endpoint| targets.contains_key(endpoint));
        let plan = self.capacity.plan(self.targets.keys());
        if plan.limit == 0 {
            return !idle;
        }
        let now = unix_millis();
        let lease = i64::try_from(self.context.config.lease().as_millis()).unwrap_or(60_000);
        let mut endpoints: Vec<(&str, usize)> = plan
            .endpoints
            .iter()
            .map(|(endpoint, free)| (endpoint.as_str(), *free))
            .collect();
        // Claims take endpoints in turn past `ENDPOINTS_PER_CLAIM`: a different one leads
        // each round, so no endpoint waits behind the same others every time.
        endpoints.sort_unstable();
        if !endpoints.is_empty() {
            let lead = self.rounds % endpoints.len();
            endpoints.rotate_left(lead);
        }
        self.rounds = self.rounds.wrapping_add(1);
        let started = Instant::now();
        let claimed = {
            let _turn = self.db.write_turn().await;
            let limit = u32::try_from(plan.limit).unwrap_or(u32::MAX);
            outbox::claim(&self.db, &self.owner, now, now + lease, limit, &endpoints).await
        };
        let full = claimed.as_ref().is_ok_and(|rows| rows.len() == plan.limit);
        if (full || started.elapsed() > SLOW_CLAIM)
            && self
                .maintained
                .is_none_or(|at| at.elapsed() > MAINTENANCE_EVERY)
            && !self
                .maintaining
                .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            self.maintained = Some(Instant::now());
            // Beside the claims, not in their way: it takes no lock they wait on.
            let (db, maintaining) = (self.db.clone(), self.maintaining.clone());
            tokio::spawn(async move {
                if let Err(err) = outbox::maintain(&db).await {
                    tracing::warn!(error = %err, "cannot vacuum the outbox");
                }
                maintaining.store(false, std::sync::atomic::Ordering::SeqCst);
            });
        }
        match claimed {
            Ok(rows) => {
                let full = rows.len() == plan.limit;
                for row in rows {
                    self.start(row, tasks);
                }
                full
            }
            Err(err) => {
                tracing::warn!(error = %err, "claiming deliveries failed");
                false
            }
        }
    }

    /// Starts the attempt of `row`, or hands it back when it cannot go now.
    fn start(&mut self, row: Claimed, tasks: &mut JoinSet<()>) {
        let poll = self.context.config.poll_interval;
        let Some(target) = self.targets.get(&row.endpoint_id).cloned() else {
            // Disabled or deleted since the claim began.
            let _ = self.settled.send(Settled::Released(row, after(poll)));
            return;
        };
        if !self.capacity.take(&row.endpoint_id) {
            let _ = self.settled.send(Settled::Released(row, unix_millis()));
            return;
        }
        let client = match self.clients.get(&row.endpoint_id, &target.url) {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(error = %err, "cannot build a delivery client");
                self.capacity.give_back(&row.endpoint_id);
                let _ = self.settled.send(Settled::Released(row, after(poll)));
                return;
            }
        };
        let (context, capacity, settled) = (
            self.context.clone(),
            self.capacity.clone(),
            self.settled.clone(),
        );
        tasks.spawn(async move {
            let endpoint = row.endpoint_id.clone();
            let outcome = attempt(&context, row, &target, &client).await;
            capacity.give_back(&endpoint);
            let _ = settled.send(outcome);
        });
    }
}
