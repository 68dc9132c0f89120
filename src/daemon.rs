//! Wiring: open the store, start the scheduler, the delivery workers and the health endpoint,
//! apply config reloads, and stop everything through one cancellation token.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::article;
use crate::config::{self, Config};
use crate::deliver::{self, Mode, Sender, Tally};
use crate::fetch::Fetcher;
use crate::model::{FeedRef, NewAlert};
use crate::pipeline::{self, PollOutcome, Poller};
use crate::scheduler::{self, Limits};
use crate::service::{health, http, metrics::Metrics, notify, retry};
use crate::store;
use crate::store::Store;

/// How far ahead `pantau once` waits for a pending retry before leaving it for the next run.
pub const ONCE_RETRY_HORIZON: Duration = Duration::from_secs(15);

/// A pending alert older than this makes /healthz answer 503.
pub const HEALTH_MAX_OUTBOX_AGE: Duration = Duration::from_secs(3600);

/// How long the database check at start may take (`PRAGMA quick_check` reads the whole file).
pub const CHECK_BUDGET: Duration = Duration::from_secs(10);

/// The rule name of operator alerts about tasks that cannot use the database.
pub const DATABASE_RULE: &str = "pantau:database";

/// How often the operator alerts about tasks' troubles are looked at.
const TROUBLE_WATCH_EVERY: Duration = Duration::from_secs(5);

/// A delivery worker that ended unexpectedly (a bug) is started again after this long.
const WORKER_RESTART_AFTER: Duration = Duration::from_secs(5);

/// What the daemon's tasks share, built once at start. No task gets all of it: each is handed
/// the part it uses ([`App::poller`] for the scheduler and its polls, [`App::article_stage`],
/// [`App::delivery`]; retention and the trouble watch take their fields one by one).
#[derive(Clone)]
struct App {
    /// The database.
    store: Store,
    /// The HTTP client of polls, article pages and webhooks.
    fetcher: Fetcher,
    /// The compiled config, replaced as a whole on reload.
    config: watch::Receiver<Arc<Config>>,
    /// Counters for /metrics, and the tasks' troubles for /healthz.
    metrics: Arc<Metrics>,
    /// Woken when alerts are queued, so delivery starts at once.
    wake: Arc<Notify>,
    /// Woken when a poll stored items whose page is to be read (the article stage).
    articles: Arc<Notify>,
    /// This node's name when the database is shared (PostgreSQL): feeds and sinks are then
    /// claimed with leases. `None` on SQLite.
    node: Option<Arc<str>>,
}

impl App {
    /// The config in force now.
    fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.borrow())
    }

    /// What the scheduler and its polls use.
    fn poller(&self) -> Poller {
        Poller {
            store: self.store.clone(),
            fetcher: self.fetcher.clone(),
            config: self.config.clone(),
            wake: Arc::clone(&self.wake),
            metrics: Arc::clone(&self.metrics),
            articles: Arc::clone(&self.articles),
            node: self.node.clone(),
        }
    }

    /// What the article stage uses.
    fn article_stage(&self) -> article::stage::Stage {
        article::stage::Stage {
            store: self.store.clone(),
            fetcher: self.fetcher.clone(),
            config: self.config.clone(),
            metrics: Arc::clone(&self.metrics),
            wake: Arc::clone(&self.wake),
            pending: Arc::clone(&self.articles),
        }
    }

    /// What the delivery workers use.
    fn delivery(&self) -> Delivery {
        Delivery {
            store: self.store.clone(),
            client: self.fetcher.client().clone(),
            wake: Arc::clone(&self.wake),
            metrics: Arc::clone(&self.metrics),
            node: self.node.clone(),
            lease: self.config().daemon.lease,
        }
    }
}

/// What the delivery workers use: the outbox, the HTTP client, the wake-up of new alerts and
/// the counters.
#[derive(Clone)]
struct Delivery {
    store: Store,
    client: reqwest::Client,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    /// This node on a shared database: each sink is drained under a lease.
    node: Option<Arc<str>>,
    lease: Duration,
}

struct Parts {
    app: App,
    limits: Arc<Limits>,
    config_tx: watch::Sender<Arc<Config>>,
    // Dropped last, after the store: closing it earlier would drop SQLite's own locks (see
    // `InstanceLock`).
    _lock: Option<store::InstanceLock>,
}

async fn start(config: Config, node: &str) -> anyhow::Result<Parts> {
    let db = config.daemon.database.clone();
    // SQLite: one node per file, kept by a lock; PostgreSQL: any number, sharing by leases.
    let lock = match db.file() {
        Some(file) => {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create the database directory {}", dir.display()))?;
            }
            Some(store::lock_instance(file)?)
        }
        None => None,
    };
    let store = Store::open_database(&db).await?;
    let started = std::time::Instant::now();
    match store.check(CHECK_BUDGET).await? {
        store::Checked::Sound => {
            tracing::debug!(database = %db, took = ?started.elapsed(), "database checked")
        }
        store::Checked::Unfinished => tracing::warn!(
            database = %db, budget = ?CHECK_BUDGET,
            "database check stopped unfinished (a large database); nothing wrong so far"
        ),
    }
    let feeds: Vec<FeedRef> =
        config.feeds.iter().map(|f| FeedRef { name: f.name.clone(), url: f.url.clone() }).collect();
    store.sync_feeds(feeds).await?;
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let fetcher = Fetcher::new(config.daemon.timeout, config.daemon.max_body)?;
    let limits = Limits::new(config.daemon.concurrency, config.daemon.per_host);
    tracing::info!(
        config = %config.path.display(), database = %db, feeds = config.feeds.len(),
        rules = config.rules.len(), sinks = config.sinks.len(), "pantau starting"
    );
    let (config_tx, config_rx) = watch::channel(Arc::new(config));
    let store_backend = store.backend();
    let app = App {
        store,
        fetcher,
        config: config_rx,
        metrics: Arc::new(Metrics::default()),
        wake: Arc::new(Notify::new()),
        articles: Arc::new(Notify::new()),
        node: (store_backend == store::Backend::Postgres).then(|| Arc::from(node)),
    };
    Ok(Parts { app, limits, config_tx, _lock: lock })
}

type Workers = JoinSet<(String, Result<Tally, deliver::DeliverError>)>;

/// Spawn the delivery worker of `sink`; returns its task id.
fn spawn_worker(
    workers: &mut Workers,
    delivery: &Delivery,
    sink: &config::Sink,
    mode: Mode,
    cancel: &CancellationToken,
) -> tokio::task::Id {
    let sender = Sender::new(sink, delivery.client.clone());
    let (store, name, wake, cancel, metrics) = (
        delivery.store.clone(),
        sink.name.clone(),
        Arc::clone(&delivery.wake),
        cancel.clone(),
        Arc::clone(&delivery.metrics),
    );
    let lease = delivery.node.clone().map(|node| deliver::SinkLease { node, lease: delivery.lease });
    let task = workers.spawn(async move {
        let r = deliver::run_worker(store, name.clone(), sender, mode, wake, cancel, metrics, lease).await;
        (name, r)
    });
    task.id()
}

/// Spawn one delivery worker per configured sink; returns them with the sink of each task.
fn spawn_workers(
    delivery: &Delivery,
    config: &Config,
    mode: Mode,
    cancel: &CancellationToken,
) -> (Workers, HashMap<tokio::task::Id, String>) {
    let mut workers = JoinSet::new();
    let mut owners = HashMap::new();
    for sink in &config.sinks {
        owners.insert(spawn_worker(&mut workers, delivery, sink, mode, cancel), sink.name.clone());
    }
    (workers, owners)
}

/// Wait for workers to stop (they stop between two sends), up to `grace`.
async fn stop_workers(workers: &mut Workers, grace: Duration) {
    let deadline = tokio::time::Instant::now() + grace;
    while !workers.is_empty() {
        match tokio::time::timeout_at(deadline, workers.join_next()).await {
            Ok(Some(Ok((sink, Err(e))))) => tracing::error!(sink = %sink, error = %e, "delivery worker failed"),
            Ok(Some(_)) | Ok(None) => {}
            Err(_) => {
                tracing::warn!(
                    workers = workers.len(),
                    "grace period over; abandoning deliveries in flight (they stay pending)"
                );
                workers.abort_all();
                while workers.join_next().await.is_some() {}
                return;
            }
        }
    }
}

/// Run the delivery workers of the config in force, restarting them when a reload changes the
/// sinks (pending alerts wait in the outbox meanwhile), until `cancel` fires. A worker only
/// ends by itself through a bug (a panic): it is logged, shown in `/healthz`, and started again.
async fn supervise_delivery(
    delivery: Delivery,
    mut updates: watch::Receiver<Arc<Config>>,
    cancel: CancellationToken,
    grace: Duration,
) {
    loop {
        let config = Arc::clone(&updates.borrow_and_update());
        let round = cancel.child_token();
        let (mut workers, mut owners) = spawn_workers(&delivery, &config, Mode::Forever, &round);
        // Workers that ended unexpectedly, with when to start them again.
        let mut restarts: Vec<(String, tokio::time::Instant)> = Vec::new();
        let restart = loop {
            let next_restart = restarts.iter().map(|(_, at)| *at).min();
            tokio::select! {
                _ = cancel.cancelled() => break false,
                changed = updates.changed() => {
                    if changed.is_err() {
                        cancel.cancelled().await;
                        break false;
                    }
                    if updates.borrow().sinks != config.sinks {
                        break true;
                    }
                }
                Some(done) = workers.join_next_with_id(), if !workers.is_empty() => {
                    if round.is_cancelled() {
                        continue;
                    }
                    let (id, error) = match done {
                        Ok((id, (_, Err(e)))) => (id, e.to_string()),
                        Ok((id, (_, Ok(_)))) => (id, "stopped".to_string()),
                        Err(e) => (e.id(), format!("panicked: {e}")),
                    };
                    let Some(sink) = owners.remove(&id) else { continue };
                    tracing::error!(sink = %sink, error = %error, restart_in = ?WORKER_RESTART_AFTER, "delivery worker ended; starting it again");
                    let task = deliver::worker_task(&sink);
                    delivery.metrics.health.failed(&task, &format!("the worker {error}"), chrono::Utc::now());
                    restarts.push((sink, tokio::time::Instant::now() + WORKER_RESTART_AFTER));
                }
                _ = sleep_until(next_restart) => {
                    let now = tokio::time::Instant::now();
                    let (due, later): (Vec<_>, Vec<_>) = restarts.drain(..).partition(|(_, at)| *at <= now);
                    restarts = later;
                    for sink in config.sinks.iter().filter(|s| due.iter().any(|(name, _)| *name == s.name)) {
                        owners.insert(spawn_worker(&mut workers, &delivery, sink, Mode::Forever, &round), sink.name.clone());
                    }
                }
            }
        };
        round.cancel();
        stop_workers(&mut workers, grace).await;
        if !restart {
            return;
        }
        tracing::info!("restarting delivery workers for the new sinks");
    }
}

/// Sleep until `at`; never wakes without one.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// How often retention runs.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// The name a node goes by when `--node` is not given: `hostname:pid`.
pub fn default_node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{host}:{}", std::process::id())
}

/// Whether a node that last beat at `heartbeat` is still alive at `now`: it renews every third
/// of `lease`, so three leases of silence mean it is gone.
pub fn node_alive(
    heartbeat: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    lease: Duration,
) -> bool {
    now - heartbeat <= chrono::Duration::from_std(lease * 3).unwrap_or(chrono::Duration::MAX)
}

/// Beat for node `node` now and every third of `daemon.lease`: its row in the database says it
/// is alive and which config (by hash) it runs. When the config it runs changes (at start and
/// after a reload), a warning names every other live node that runs another config.
async fn heartbeat(
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    metrics: Arc<Metrics>,
    node: String,
    cancel: CancellationToken,
) {
    let started = chrono::Utc::now();
    let mut compared: Option<String> = None;
    let (mut beaten, mut told_twin) = (false, false);
    loop {
        let (hash, lease) = {
            let c = config.borrow();
            (c.hash.clone(), c.daemon.lease)
        };
        let look_for_twin = beaten && !told_twin;
        let compare = compared.as_deref() != Some(hash.as_str());
        if look_for_twin || compare {
            // Read before beating: our row names our start until another process beats under
            // this name (leases are held by name, so both would poll and send the same).
            let Some(nodes) = retry::store(&metrics, "heartbeat", &cancel, || store.nodes()).await else { return };
            let now = chrono::Utc::now();
            let twin = nodes
                .iter()
                .find(|n| n.name == node)
                .filter(|n| look_for_twin && n.started_at.timestamp_millis() != started.timestamp_millis());
            if let Some(twin) = twin {
                told_twin = true;
                tracing::error!(
                    node = %node, other_started = %crate::model::rfc3339(twin.started_at),
                    "another live process runs as this node (the same --node name): give each node its own name, or they poll and send the same work"
                );
            }
            let others: Vec<&str> = nodes
                .iter()
                .filter(|n| n.name != node && n.config_hash != hash && node_alive(n.heartbeat_at, now, lease))
                .map(|n| n.name.as_str())
                .collect();
            if compare && !others.is_empty() {
                tracing::warn!(
                    node = %node, others = ?others,
                    "other live nodes run a different config; give every node the same file"
                );
            }
        }
        let beat = retry::store(&metrics, "heartbeat", &cancel, || {
            store.heartbeat(node.clone(), started, hash.clone(), chrono::Utc::now())
        })
        .await;
        if beat.is_none() {
            return;
        }
        beaten = true;
        compared = Some(hash);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(lease / 3) => {}
        }
    }
}

/// Prune old bodies, keys and settled alerts now and every hour (`daemon.retention`). A failing
/// prune is retried with backoff until it works.
async fn retention(
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    loop {
        let keep = config.borrow().daemon.retention;
        let pruned = retry::store(&metrics, "retention", &cancel, || {
            let now = chrono::Utc::now();
            let before = |d: Duration| now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
            // Keys outlive bodies, so a story that reappears after its body was pruned stays known.
            store.prune(before(keep), before(keep * 3), before(keep), 500)
        })
        .await;
        let Some(stats) = pruned else { return };
        if stats != store::PruneStats::default() {
            tracing::info!(
                bodies = stats.bodies,
                items = stats.items,
                alerts = stats.alerts,
                "retention pruned old data"
            );
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(RETENTION_EVERY) => {}
        }
    }
}

/// Tell the health sinks about tasks that are stuck (on the database, or a worker that ended and
/// is being restarted): once a trouble has lasted
/// longer than `feed_alert_after` or [`health::STUCK_AFTER`], whichever is shorter (queued as
/// soon as the database takes it), and once it is over if it lasted that long; and once about
/// a damaged database file. An alert that cannot be queued yet is tried again at the next look.
async fn watch_troubles(
    store: Store,
    config_rx: watch::Receiver<Arc<Config>>,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    // Alerts not queued yet, by key.
    let mut owed: Vec<(String, Vec<NewAlert>)> = Vec::new();
    let mut damage_told = false;
    let mut tick = tokio::time::interval(TROUBLE_WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let config = Arc::clone(&config_rx.borrow());
        let health = &metrics.health;
        let now = chrono::Utc::now();
        let patience = config.daemon.feed_alert_after.min(health::STUCK_AFTER);
        let patience = chrono::Duration::from_std(patience).unwrap_or(chrono::Duration::MAX);
        let about = FeedRef { name: "pantau".into(), url: config.daemon.database.shown() };
        let ago = |since: chrono::DateTime<chrono::Utc>, until: chrono::DateTime<chrono::Utc>| {
            humantime::format_duration(Duration::from_secs((until - since).num_seconds().max(0) as u64)).to_string()
        };
        for (task, t) in health.troubles() {
            if !t.alerted && now - t.since > patience {
                let title = format!("pantau: {task} has been stuck for {}", ago(t.since, now));
                let text = format!(
                    "{} failures; the last: {}. It keeps trying by itself; the database is {}.",
                    t.failures, t.error, config.daemon.database
                );
                let key = format!("database:{task}:failing:{}", t.since.timestamp_millis());
                let alerts = pipeline::operator_alerts(&config, DATABASE_RULE, &about, &key, title, text, now);
                owed.push((key, alerts));
                health.mark_alerted(&task);
            }
        }
        for ended in health.take_ended() {
            let (task, t) = (&ended.task, &ended.trouble);
            if !t.alerted && ended.at - t.since <= patience {
                continue;
            }
            // An outage that ended before its first alert could be queued is told once, here.
            let failing = format!("database:{task}:failing:{}", t.since.timestamp_millis());
            owed.retain(|(key, _)| *key != failing);
            let title = format!("pantau: {task} works again after being stuck for {}", ago(t.since, ended.at));
            let text =
                format!("{} failures; the last: {}. It carried on by itself; nothing was lost.", t.failures, t.error);
            let key = format!("database:{task}:recovered:{}", t.since.timestamp_millis());
            let alerts = pipeline::operator_alerts(&config, DATABASE_RULE, &about, &key, title, text, now);
            owed.push((key, alerts));
        }
        if let Some(damage) = store.damage().filter(|_| !damage_told) {
            damage_told = true;
            let title = format!("pantau: the database {} is damaged", config.daemon.database);
            let key = format!("database:damaged:{}", now.timestamp_millis());
            let alerts = pipeline::operator_alerts(&config, DATABASE_RULE, &about, &key, title, damage, now);
            owed.push((key, alerts));
        }
        let alerts: Vec<NewAlert> = owed.iter().flat_map(|(_, a)| a.iter().cloned()).collect();
        if alerts.is_empty() {
            owed.clear();
            continue;
        }
        match store.queue_operator_alerts(alerts).await {
            Ok(_) => {
                owed.clear();
                wake.notify_waiters();
                tracing::warn!("operator alert about the database queued for the health sinks");
            }
            Err(e) => tracing::debug!(error = %e, "operator alert about the database not queued yet; trying again"),
        }
    }
}

/// Re-read the config file; apply it if valid, else keep the running one, log why and tell
/// the health sinks.
async fn reload(path: &Path, parts: &Parts) {
    notify::reloading();
    let current = Arc::clone(&parts.config_tx.borrow());
    match config::load(path) {
        Ok(new) => {
            let d = config::diff(&current, &new);
            for w in &new.warnings {
                tracing::warn!("{w}");
            }
            for setting in &d.needs_restart {
                tracing::warn!(setting, "changed in [daemon]; takes effect after a restart");
            }
            parts.config_tx.send_replace(Arc::new(new));
            parts.app.metrics.set_reload_refused(None);
            parts.app.metrics.inc(crate::service::metrics::Counter::Reloads, &[("result", "applied")], 1);
            // Logged last, so that whoever reads this line finds the new config in force and
            // no refusal left in /healthz.
            tracing::info!(
                feeds_added = ?d.feeds.added, feeds_removed = ?d.feeds.removed, feeds_changed = ?d.feeds.changed,
                rules_added = ?d.rules.added, rules_removed = ?d.rules.removed, rules_changed = ?d.rules.changed,
                sinks_added = ?d.sinks.added, sinks_removed = ?d.sinks.removed, sinks_changed = ?d.sinks.changed,
                "config reloaded"
            );
        }
        Err(errors) => {
            for e in &errors.0 {
                tracing::error!("{e}");
            }
            let first = errors.0.first().map(ToString::to_string).unwrap_or_default();
            parts.app.metrics.set_reload_refused(Some(format!(
                "config reload refused at {} ({} error(s); first: {}); the previous config stays in force",
                crate::model::rfc3339(chrono::Utc::now()),
                errors.0.len(),
                crate::secrets::scrub(&first)
            )));
            parts.app.metrics.inc(crate::service::metrics::Counter::Reloads, &[("result", "refused")], 1);
            // After the refusal is in /healthz, so that whoever reads this line finds it there.
            tracing::error!(errors = errors.0.len(), "new config refused; the running config stays in force");
            refusal_alert(&current, &errors.0.iter().map(ToString::to_string).collect::<Vec<_>>(), &parts.app).await;
        }
    }
    notify::notify("READY=1");
}

/// Queue one operator alert per health sink about a refused reload.
async fn refusal_alert(current: &Config, errors: &[String], app: &App) {
    if current.daemon.health_sinks.is_empty() {
        return;
    }
    let now = chrono::Utc::now();
    let about = FeedRef { name: "pantau".into(), url: current.path.display().to_string() };
    let title = format!(
        "Config reload refused: {} error{} in {}; the running config stays in force",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        current.path.display()
    );
    let key = format!("config:refused:{}", now.timestamp_millis());
    let alerts = pipeline::operator_alerts(current, pipeline::CONFIG_RULE, &about, &key, title, errors.join("\n"), now);
    match app.store.queue_operator_alerts(alerts).await {
        Ok(_) => app.wake.notify_waiters(),
        Err(e) => tracing::error!(error = %e, "cannot queue the operator alert about the refused reload"),
    }
}

/// Watches the config file for `daemon.watch_config`: a change is acted on once the file
/// has stayed the same for one more check, so a half-written file is not loaded.
struct ConfigWatch {
    path: PathBuf,
    applied: Option<Vec<u8>>,
    seen: Option<Vec<u8>>,
}

/// How often `daemon.watch_config` looks at the config file.
const WATCH_EVERY: Duration = Duration::from_secs(2);

impl ConfigWatch {
    fn new(path: &Path) -> ConfigWatch {
        let now = std::fs::read(path).ok();
        ConfigWatch { path: path.to_path_buf(), applied: now.clone(), seen: now }
    }

    /// Whether the file changed since the last reload and has settled; if so, the settled
    /// file counts as the one in force (or refused) from now on.
    fn changed(&mut self) -> bool {
        let now = std::fs::read(&self.path).ok();
        let settled = now == self.seen;
        self.seen = now;
        let changed = settled && self.seen.is_some() && self.seen != self.applied;
        if changed {
            self.applied = self.seen.clone();
        }
        changed
    }

    /// Remember the file as it is now as the one in force (or refused).
    fn mark_applied(&mut self) {
        self.applied = std::fs::read(&self.path).ok();
        self.seen = self.applied.clone();
    }
}

/// The daemon: poll on schedule, match, deliver, until `shutdown` fires; a message on
/// `reloads` re-reads the config file. In-flight work finishes within the grace period.
pub async fn run(
    config: Config,
    node: String,
    shutdown: CancellationToken,
    mut reloads: mpsc::Receiver<()>,
) -> anyhow::Result<()> {
    let grace = config.daemon.shutdown_grace;
    let path = config.path.clone();
    let listen = config.daemon.listen;
    let parts = start(config, &node).await?;
    let mut tasks: JoinSet<(&'static str, anyhow::Result<()>)> = JoinSet::new();
    if let Some(addr) = listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (daemon.listen)"))?;
        tracing::info!(address = %listener.local_addr().unwrap_or(addr), "serving /healthz and /metrics");
        let ctx = http::Context {
            store: parts.app.store.clone(),
            metrics: Arc::clone(&parts.app.metrics),
            max_outbox_age: HEALTH_MAX_OUTBOX_AGE,
        };
        let cancel = shutdown.clone();
        tasks.spawn(async move {
            http::serve(listener, ctx, cancel).await;
            ("health endpoint", Ok(()))
        });
    }
    {
        let (delivery, config, cancel) = (parts.app.delivery(), parts.app.config.clone(), shutdown.clone());
        tasks.spawn(async move {
            supervise_delivery(delivery, config, cancel, grace).await;
            ("delivery", Ok(()))
        });
    }
    {
        let app = &parts.app;
        let (store, config, metrics) = (app.store.clone(), app.config.clone(), Arc::clone(&app.metrics));
        let cancel = shutdown.clone();
        tasks.spawn(async move {
            retention(store, config, metrics, cancel).await;
            ("retention", Ok(()))
        });
    }
    {
        let app = &parts.app;
        let (store, config, metrics) = (app.store.clone(), app.config.clone(), Arc::clone(&app.metrics));
        let cancel = shutdown.clone();
        tracing::info!(node = %node, "node started");
        tasks.spawn(async move {
            heartbeat(store, config, metrics, node, cancel).await;
            ("heartbeat", Ok(()))
        });
    }
    {
        let app = &parts.app;
        let (store, config, metrics) = (app.store.clone(), app.config.clone(), Arc::clone(&app.metrics));
        let (wake, cancel) = (Arc::clone(&app.wake), shutdown.clone());
        tasks.spawn(async move {
            watch_troubles(store, config, metrics, wake, cancel).await;
            ("trouble watch", Ok(()))
        });
    }
    {
        let (poller, limits, cancel) = (parts.app.poller(), Arc::clone(&parts.limits), shutdown.clone());
        tasks.spawn(
            async move { ("scheduler", scheduler::run(poller, limits, cancel, grace).await.map_err(Into::into)) },
        );
    }
    {
        let (stage, limits, cancel) = (parts.app.article_stage(), Arc::clone(&parts.limits), shutdown.clone());
        tasks.spawn(async move {
            let r = article::stage::run(stage, limits, cancel, article::stage::Until::Cancelled).await;
            ("article stage", r.map_err(Into::into))
        });
    }
    let mut failure = None;
    let mut watch = ConfigWatch::new(&path);
    let mut watch_tick = tokio::time::interval(WATCH_EVERY);
    watch_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(()) = reloads.recv() => {
                watch.mark_applied();
                reload(&path, &parts).await;
            }
            _ = watch_tick.tick(), if parts.config_tx.borrow().daemon.watch_config => {
                if watch.changed() {
                    tracing::info!(config = %path.display(), "config file changed; reloading");
                    reload(&path, &parts).await;
                }
            }
            Some(done) = tasks.join_next() => {
                // A stage returned before shutdown: only a fatal error does that.
                if let Ok((stage, Err(e))) = done {
                    failure = Some(e.context(format!("{stage} failed")));
                }
                break;
            }
        }
    }
    notify::notify("STOPPING=1");
    shutdown.cancel();
    // Each stage enforces the grace period itself; this bound only guards against a bug.
    let deadline = tokio::time::Instant::now() + grace + Duration::from_secs(5);
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(Ok((stage, Err(e))))) if failure.is_none() => failure = Some(e.context(format!("{stage} failed"))),
            Ok(Some(_)) | Ok(None) => {}
            Err(_) => {
                tasks.abort_all();
                break;
            }
        }
    }
    release_leases(&parts.app).await;
    if let Some(e) = failure {
        return Err(e);
    }
    let counts = parts.app.store.outbox_counts().await?;
    tracing::info!(pending = counts.pending, delivered = counts.delivered, dead = counts.dead, "pantau stopped");
    Ok(())
}

/// A node leaving a shared database gives up its leases, so that the other nodes take its
/// feeds and sinks over at once rather than when the leases run out.
async fn release_leases(app: &App) {
    if let Some(node) = &app.node {
        match app.store.release_all(node).await {
            Ok(()) => tracing::info!(node = %node, "released this node's leases"),
            Err(e) => {
                tracing::warn!(node = %node, error = %e, "cannot release this node's leases; they run out by themselves")
            }
        }
    }
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
pub async fn once(config: Config, node: String) -> anyhow::Result<OnceReport> {
    let parts = start(config, &node).await?;
    // One beat: `pantau nodes` shows when this node last ran and with which config.
    let hash = parts.app.config().hash.clone();
    let now = chrono::Utc::now();
    parts.app.store.heartbeat(node, now, hash, now).await?;
    let mut report = OnceReport::default();
    let config = parts.app.config();
    for (name, outcome) in scheduler::poll_all(&parts.app.poller(), &config.feeds, Arc::clone(&parts.limits)).await {
        match outcome? {
            PollOutcome::Failed { .. } => report.feeds_failed.push(name),
            PollOutcome::NotModified { .. } => report.feeds_ok += 1,
            PollOutcome::Updated { new_items, new_alerts, .. } => {
                report.feeds_ok += 1;
                report.new_items += new_items;
                report.new_alerts += new_alerts;
            }
        }
    }
    report.feeds_failed.sort();
    // Pages of new items are read (and the items matched) before delivery starts.
    let before = parts.app.store.outbox_counts().await?.pending;
    article::stage::run(
        parts.app.article_stage(),
        Arc::clone(&parts.limits),
        CancellationToken::new(),
        article::stage::Until::Drained,
    )
    .await?;
    report.new_alerts += parts.app.store.outbox_counts().await?.pending.saturating_sub(before) as usize;
    let cancel = CancellationToken::new();
    let (mut workers, _) =
        spawn_workers(&parts.app.delivery(), &config, Mode::Drain { horizon: ONCE_RETRY_HORIZON }, &cancel);
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
    release_leases(&parts.app).await;
    report.pending = parts.app.store.outbox_counts().await?.pending;
    Ok(report)
}
