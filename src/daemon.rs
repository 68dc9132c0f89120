//! Wiring: open the store, start the scheduler and one delivery worker per sink, and stop them
//! all through one cancellation token.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::deliver::{self, Mode, Sender, Tally};
use crate::fetch::Fetcher;
use crate::model::FeedRef;
use crate::pipeline::{PollOutcome, Poller};
use crate::scheduler::{self, Limits};
use crate::store::{self, Store};

/// How far ahead `pantau once` waits for a pending retry before leaving it for the next run.
pub const ONCE_RETRY_HORIZON: Duration = Duration::from_secs(15);

struct Parts {
    _lock: store::InstanceLock,
    poller: Poller,
    limits: Arc<Limits>,
}

async fn start(config: Config) -> anyhow::Result<Parts> {
    let db = config.daemon.database.clone();
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create the database directory {}", dir.display()))?;
    }
    let lock = store::lock_instance(&db)?;
    let store = Store::open(&db).await?;
    let feeds: Vec<FeedRef> = config.feeds.iter().map(|f| FeedRef { name: f.name.clone(), url: f.url.clone() }).collect();
    store.sync_feeds(feeds).await?;
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let fetcher = Fetcher::new(config.daemon.timeout, config.daemon.max_body)?;
    let limits = Limits::new(config.daemon.concurrency, config.daemon.per_host);
    tracing::info!(
        config = %config.path.display(), database = %db.display(), feeds = config.feeds.len(),
        rules = config.rules.len(), sinks = config.sinks.len(), "pantau starting"
    );
    let poller = Poller { store, fetcher, config: Arc::new(config), wake: Arc::new(Notify::new()) };
    Ok(Parts { _lock: lock, poller, limits })
}

/// Spawn one delivery worker per sink that some rule sends to, or that has pending alerts.
fn spawn_workers(parts: &Parts, mode: Mode, cancel: &CancellationToken) -> JoinSet<(String, Result<Tally, deliver::DeliverError>)> {
    let mut workers = JoinSet::new();
    let config = &parts.poller.config;
    let mut seen = HashSet::new();
    for sink in &config.sinks {
        if !seen.insert(sink.name.clone()) {
            continue;
        }
        let sender = Sender::new(sink, parts.poller.fetcher.client().clone());
        let (store, name, wake, cancel) =
            (parts.poller.store.clone(), sink.name.clone(), Arc::clone(&parts.poller.wake), cancel.clone());
        workers.spawn(async move {
            let r = deliver::run_worker(store, name.clone(), sender, mode, wake, cancel).await;
            (name, r)
        });
    }
    workers
}

/// The daemon: poll on schedule, match, deliver, until `shutdown` fires; then finish in-flight
/// work within the grace period.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let grace = config.daemon.shutdown_grace;
    let parts = start(config).await?;
    let mut workers = spawn_workers(&parts, Mode::Forever, &shutdown);
    let feeds = parts.poller.config.feeds.clone();
    let sched = scheduler::run(parts.poller.clone(), feeds, Arc::clone(&parts.limits), shutdown.clone(), grace);
    let result = sched.await;
    // The scheduler returns on shutdown (or a database failure): stop delivery too.
    shutdown.cancel();
    let deadline = tokio::time::Instant::now() + grace;
    while !workers.is_empty() {
        match tokio::time::timeout_at(deadline, workers.join_next()).await {
            Ok(Some(Ok((sink, Err(e))))) => tracing::error!(sink = %sink, error = %e, "delivery worker failed"),
            Ok(Some(_)) | Ok(None) => {}
            Err(_) => {
                tracing::warn!(workers = workers.len(), "grace period over; abandoning deliveries in flight (they stay pending)");
                workers.abort_all();
                break;
            }
        }
    }
    result?;
    let counts = parts.poller.store.outbox_counts().await?;
    tracing::info!(pending = counts.pending, delivered = counts.delivered, dead = counts.dead, "pantau stopped");
    Ok(())
}

/// What `pantau once` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OnceReport {
    /// Feeds polled without error (including 304s).
    pub feeds_ok: usize,
    /// Feeds whose poll failed.
    pub feeds_failed: Vec<String>,
    /// New items stored.
    pub new_items: usize,
    /// Alerts queued by this run.
    pub new_alerts: usize,
    /// Delivery tallies over every sink.
    pub delivered: u64,
    /// Alerts given up on in this run.
    pub dead: u64,
    /// Alerts left pending for a later run.
    pub pending: u64,
}

/// Poll every enabled feed now, store and match, deliver everything due, then return.
pub async fn once(config: Config) -> anyhow::Result<OnceReport> {
    let parts = start(config).await?;
    let mut report = OnceReport::default();
    let feeds = parts.poller.config.feeds.clone();
    for (name, outcome) in scheduler::poll_all(&parts.poller, &feeds, Arc::clone(&parts.limits)).await {
        match outcome? {
            PollOutcome::Failed { .. } => report.feeds_failed.push(name),
            PollOutcome::NotModified => report.feeds_ok += 1,
            PollOutcome::Updated { new_items, new_alerts, .. } => {
                report.feeds_ok += 1;
                report.new_items += new_items;
                report.new_alerts += new_alerts;
            }
        }
    }
    report.feeds_failed.sort();
    let cancel = CancellationToken::new();
    let mut workers = spawn_workers(&parts, Mode::Drain { horizon: ONCE_RETRY_HORIZON }, &cancel);
    while let Some(done) = workers.join_next().await {
        match done {
            Ok((_, Ok(t))) => {
                report.delivered += t.delivered;
                report.dead += t.dead;
            }
            Ok((sink, Err(e))) => return Err(anyhow::Error::new(e).context(format!("delivery to sink {sink} failed"))),
            Err(e) => return Err(anyhow::anyhow!("delivery worker failed: {e}")),
        }
    }
    report.pending = parts.poller.store.outbox_counts().await?.pending;
    Ok(report)
}
