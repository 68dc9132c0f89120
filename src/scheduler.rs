//! Scheduling: when each feed is due, with global and per-host concurrency limits, and never
//! two polls of one feed at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{Feed, Schedule};
use crate::model::FeedRef;
use crate::pipeline::{PollOutcome, Poller};
use crate::service::metrics::Counter;
use crate::service::{memory, notify, progress, retry};
use crate::store::{FeedClaim, StoreError};

/// The longest a failing feed waits between attempts (unless its own interval is longer).
pub const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(6 * 3600);

/// Concurrency limits shared by every poll.
#[derive(Debug)]
pub struct Limits {
    global: Arc<Semaphore>,
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Limits {
    /// At most `concurrency` polls in total and `per_host` polls per host at once.
    pub fn new(concurrency: usize, per_host: usize) -> Arc<Limits> {
        Arc::new(Limits {
            global: Arc::new(Semaphore::new(concurrency.max(1))),
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        })
    }

    /// Wait for a slot for a poll of `url`: first the host's, then the global one, so that
    /// a slow host never holds global slots while it queues.
    pub async fn acquire(&self, url: &str) -> (OwnedSemaphorePermit, OwnedSemaphorePermit) {
        let host = host_key(url);
        let sem = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(hosts.entry(host).or_insert_with(|| Arc::new(Semaphore::new(self.per_host))))
        };
        // The semaphores are never closed, so acquiring cannot fail.
        let host_permit = sem.acquire_owned().await.expect("host semaphore is never closed");
        let global = Arc::clone(&self.global).acquire_owned().await.expect("global semaphore is never closed");
        (host_permit, global)
    }
}

/// The host whose `per_host` limit a poll of `url` counts against (lowercase; empty for a URL
/// without one).
fn host_key(url: &str) -> String {
    reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase)).unwrap_or_default()
}

/// How often a poll waiting for one of its host's slots held by other nodes looks again.
const HOST_SLOT_WAIT: Duration = Duration::from_millis(250);

/// When `feed` is next due after a poll that ended at `now` with `failures` consecutive failures.
///
/// Intervals get ±5 % jitter so that feeds sharing an interval drift apart; a failing feed
/// backs off exponentially (never polled more often than its interval) up to six hours.
pub fn next_poll(schedule: &Schedule, now: DateTime<Utc>, failures: u32, seed: &str) -> DateTime<Utc> {
    next_poll_after(schedule, now, failures, None, seed)
}

/// [`next_poll`], no sooner than the server's `Retry-After` when it sent one.
pub fn next_poll_after(
    schedule: &Schedule,
    now: DateTime<Utc>,
    failures: u32,
    retry_after: Option<Duration>,
    seed: &str,
) -> DateTime<Utc> {
    let planned = plan(schedule, now, failures, seed);
    match retry_after.and_then(|r| chrono::Duration::from_std(r.min(Duration::from_secs(7 * 86400))).ok()) {
        Some(r) => planned.max(now + r),
        None => planned,
    }
}

/// How far a planned interval is spread (±5 %), so feeds due together drift apart.
const INTERVAL_SPREAD: f64 = 0.05;

/// How far a failing feed's backoff is spread (±10 %).
const BACKOFF_SPREAD: f64 = 0.1;

fn plan(schedule: &Schedule, now: DateTime<Utc>, failures: u32, seed: &str) -> DateTime<Utc> {
    let jitter = crate::jitter::fraction((seed, now.timestamp_nanos_opt()));
    let spread = |d: Duration| crate::jitter::spread(d, INTERVAL_SPREAD, jitter);
    let normal = match schedule {
        Schedule::Every(d) => now + chrono::Duration::from_std(spread(*d)).unwrap_or_default(),
        Schedule::Cron(c) => c.after(&now).next().unwrap_or(now + chrono::Duration::days(1)),
        // Without a history, an adaptive feed starts in the middle of its range.
        Schedule::Auto { min, max } => now + chrono::Duration::from_std(spread((*min + *max) / 2)).unwrap_or_default(),
    };
    if failures == 0 {
        return normal;
    }
    let interval = (normal - now).to_std().unwrap_or_default();
    let backoff = Duration::from_secs(60u64 << (failures - 1).min(16)).min(MAX_FAILURE_BACKOFF.max(interval));
    let wait = crate::jitter::spread(backoff, BACKOFF_SPREAD, jitter).max(interval);
    now + chrono::Duration::from_std(wait).unwrap_or_default()
}

struct Slot {
    feed: Feed,
    next: DateTime<Utc>,
    running: bool,
    /// Removed from the config while a poll was running: dropped when it ends.
    removed: bool,
    /// The current interval of an adaptive feed.
    adaptive: Option<Duration>,
    /// Changed by a reload while a poll was running: the poll's plan (made with the feed as it
    /// was) is made again with the feed as it is.
    replan: bool,
}

/// Memory is handed back once no poll has run for this long, and once more this long later
/// (when the HTTP client has closed its idle connections); then not again until a poll ran.
const RELEASE_EVERY: Duration = Duration::from_secs(20);

/// Hand-backs of memory per quiet spell (see [`RELEASE_EVERY`]).
const RELEASES_PER_QUIET_SPELL: u8 = 2;

/// The code's pages are unmapped only when the next poll is at least this far away.
const UNMAP_CODE_QUIET: Duration = Duration::from_secs(120);

/// `next`, or later when the publisher asks not to be polled more often than `ttl` (its `<ttl>`
/// or `sy:updatePeriod`; honoured only for feeds whose operator set `honor_ttl`).
pub fn ttl_floor(next: DateTime<Utc>, now: DateTime<Utc>, ttl: Option<Duration>) -> DateTime<Utc> {
    match ttl.and_then(|t| chrono::Duration::from_std(t).ok()) {
        Some(t) if now + t > next => now + t,
        _ => next,
    }
}

/// The next interval of an adaptive feed: halved after a poll that brought new items,
/// stretched by half after one that did not, always within `min..=max`.
pub fn adapt(current: Duration, new_items: usize, min: Duration, max: Duration) -> Duration {
    let next = if new_items > 0 { current / 2 } else { current.mul_f64(1.5) };
    next.clamp(min, max)
}

/// What one finished poll tells the planner: consecutive failures, the server's Retry-After,
/// new items (for adaptive feeds) and the publisher's `<ttl>`.
#[derive(Debug, Clone, Copy, Default)]
struct Facts {
    failures: u32,
    retry_after: Option<Duration>,
    new_items: usize,
    ttl: Option<Duration>,
}

impl Facts {
    fn of(outcome: &PollOutcome) -> Facts {
        match outcome {
            PollOutcome::Updated { new_items, ttl, .. } => {
                Facts { new_items: *new_items, ttl: *ttl, ..Facts::default() }
            }
            PollOutcome::NotModified { ttl } => Facts { ttl: *ttl, ..Facts::default() },
            PollOutcome::Failed { failures, retry_after } => {
                Facts { failures: *failures, retry_after: *retry_after, ..Facts::default() }
            }
        }
    }
}

/// When `feed` is next due after a poll that ended at `now`, as the scheduler plans it: its
/// schedule (an adaptive feed's interval, `adaptive`, adapted to the poll first), failure
/// backoff, Retry-After, and with `honor_ttl` the publisher's floor.
fn plan_after(feed: &Feed, adaptive: &mut Option<Duration>, facts: Facts, now: DateTime<Utc>) -> DateTime<Utc> {
    let schedule = match (&feed.schedule, *adaptive) {
        (Schedule::Auto { min, max }, Some(current)) if facts.failures == 0 => {
            let next = adapt(current, facts.new_items, *min, *max);
            *adaptive = Some(next);
            tracing::debug!(feed = %feed.name, interval = ?next, new_items = facts.new_items, "adaptive interval");
            Schedule::Every(next)
        }
        (Schedule::Auto { .. }, Some(current)) => Schedule::Every(current),
        (other, _) => other.clone(),
    };
    let next = next_poll_after(&schedule, now, facts.failures, facts.retry_after, &feed.name);
    if feed.honor_ttl && facts.failures == 0 {
        ttl_floor(next, now, facts.ttl)
    } else {
        next
    }
}

/// The interval an adaptive feed goes on from: the one its last plan left (`stored`), within
/// the range the config gives now, else the middle of the range; `None` for other feeds.
fn starting_adaptive(schedule: &Schedule, stored: Option<Duration>) -> Option<Duration> {
    match schedule {
        Schedule::Auto { min, max } => Some(stored.map_or((*min + *max) / 2, |d| d.clamp(*min, *max))),
        _ => None,
    }
}

/// The latest time the current schedule of `feed` could plan after a poll that started at
/// `started` and took at most `slack`: for a plan recorded by an older config, whether the
/// schedule has become shorter since.
fn latest_plan(feed: &Feed, started: DateTime<Utc>, slack: Duration, ttl: Option<Duration>) -> DateTime<Utc> {
    let ended = started + chrono::Duration::from_std(slack).unwrap_or_default();
    let longest =
        |d: Duration| ended + chrono::Duration::from_std(d.mul_f64(1.0 + INTERVAL_SPREAD)).unwrap_or_default();
    let latest = match &feed.schedule {
        Schedule::Every(d) => longest(*d),
        Schedule::Auto { max, .. } => longest(*max),
        Schedule::Cron(c) => c.after(&ended).next().unwrap_or(ended + chrono::Duration::days(1)),
    };
    if feed.honor_ttl {
        ttl_floor(latest, ended, ttl)
    } else {
        latest
    }
}

/// When a feed that pantau has polled before is next due, resuming the previous rhythm: a feed
/// polled a minute ago is not due again because pantau restarted, and a feed whose time
/// passed is due now. The plan recorded after the last poll (by `run` or `once`, and the one
/// `pantau feeds` shows) is kept as it is, unless the schedule has been shortened since.
/// Also the interval an adaptive feed goes on from.
async fn resume(
    poller: &Poller,
    feed: &Feed,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, Option<Duration>), StoreError> {
    let state = poller.store.feed_state(&feed.name).await?;
    let adaptive = starting_adaptive(&feed.schedule, state.adaptive);
    let next = match (state.last_attempt_at, state.next_poll_at) {
        // A failing feed's plan carries its backoff and any Retry-After.
        (Some(last), Some(p)) if p > last && state.consecutive_failures > 0 => p.max(now),
        (Some(last), Some(p)) if p > last => {
            let slack = poller.config().daemon.timeout + Duration::from_secs(60);
            p.min(latest_plan(feed, last, slack, state.ttl)).max(now)
        }
        // Never polled; or an attempt after which no plan was recorded, which did not finish
        // (pantau stopped or died during it; on a shared database another node may still be
        // polling, and the claim then waits for its lease, or takes a dead node's): due now.
        _ => now,
    };
    Ok((next, adaptive))
}

/// Bring the slots in line with the feeds of the config in force.
async fn sync_slots(poller: &Poller, slots: &mut BTreeMap<String, Slot>) -> Result<(), StoreError> {
    let config = poller.config();
    let refs = config.feeds.iter().map(|f| FeedRef { name: f.name.clone(), url: f.url.clone() }).collect();
    poller.store.sync_feeds(refs).await?;
    let now = Utc::now();
    let wanted: Vec<&Feed> = config.feeds.iter().filter(|f| f.enabled).collect();
    for (name, slot) in slots.iter_mut() {
        slot.removed = !wanted.iter().any(|f| &f.name == name);
    }
    slots.retain(|_, s| !s.removed || s.running);
    for feed in wanted {
        match slots.get_mut(&feed.name) {
            Some(slot) => {
                if slot.feed != *feed {
                    // A changed schedule applies from now: never later than the new plan.
                    let fresh = next_poll(&feed.schedule, now, 0, &feed.name);
                    if !slot.running {
                        slot.next = slot.next.min(fresh);
                    }
                    slot.replan = slot.running;
                    slot.feed = feed.clone();
                }
            }
            None => {
                let (next, adaptive) = resume(poller, feed, now).await?;
                tracing::debug!(feed = %feed.name, next = %next, "scheduled feed");
                slots.insert(
                    feed.name.clone(),
                    Slot { feed: feed.clone(), next, running: false, removed: false, adaptive, replan: false },
                );
            }
        }
    }
    Ok(())
}

/// What an idle daemon can give back: the search caches of the rule set's regexes, SQLite's
/// page cache, whatever the allocator holds free, and with `unmap_code` the resident pages of
/// its own code. All of it is rebuilt or mapped back on demand.
async fn release_idle_memory(poller: &Poller, unmap_code: bool) {
    let regex_caches = poller.config().rule_set.release_caches();
    if let Err(e) = poller.store.release_memory().await {
        tracing::warn!(error = %e, "could not release the database's page cache");
    }
    let trimmed = memory::release_free_memory();
    let code_unmapped = if unmap_code {
        let unmapped = tokio::task::spawn_blocking(memory::unmap_code).await.map_err(std::io::Error::other);
        unmapped.and_then(|r| r).unwrap_or_else(|e| {
            tracing::debug!(error = %e, "could not unmap the code's pages");
            0
        })
    } else {
        0
    };
    tracing::debug!(regex_caches, trimmed, code_unmapped, "released idle memory");
}

/// [`sync_slots`], with a store error recorded as the scheduler's trouble: `Err` holds how many
/// times in a row it failed (the loop tries again after [`retry::delay`]).
async fn resync(poller: &Poller, slots: &mut BTreeMap<String, Slot>) -> Result<(), u64> {
    let started = Utc::now();
    match sync_slots(poller, slots).await {
        Ok(()) => {
            poller.metrics.store_ok(SCHEDULER_TASK);
            Ok(())
        }
        Err(e) => Err(poller.metrics.store_failed(SCHEDULER_TASK, &e, started)),
    }
}

/// The scheduler's name in `/healthz` problems and the `task` label of metrics.
const SCHEDULER_TASK: &str = "scheduler";

/// The name of the feed polls in `/healthz` problems and the `task` label of metrics.
const POLLS_TASK: &str = "polls";

/// Poll every feed on its schedule until `cancel` fires, following config reloads; then let
/// in-flight polls finish within `grace` and name those that did not. A database failure
/// never stops it: the schedule is synced again and polls are tried again with backoff (a
/// poll that could not be recorded is not the feed's failure), until the database works.
pub async fn run(
    poller: Poller,
    limits: Arc<Limits>,
    cancel: CancellationToken,
    grace: Duration,
) -> Result<(), StoreError> {
    let mut slots: BTreeMap<String, Slot> = BTreeMap::new();
    let mut updates = poller.config.clone();
    updates.borrow_and_update();
    // When to sync the slots with the config again after a failed sync.
    let mut resync_at = match resync(&poller, &mut slots).await {
        Ok(()) => None,
        Err(failures) => Some(tokio::time::Instant::now() + retry::delay(failures)),
    };
    tracing::info!(feeds = slots.len(), "scheduler started");
    notify::notify("READY=1");
    let watchdog = notify::watchdog_interval();
    // Wake at least this often: for the watchdog ping and the /healthz heartbeat.
    let tick = watchdog.map_or(Duration::from_secs(30), |w| (w / 2).min(Duration::from_secs(30)));
    let mut tasks: JoinSet<Result<Ran, StoreError>> = JoinSet::new();
    // Which feed each task polls, so that even a panicking poll frees its feed's slot.
    let mut owners: HashMap<tokio::task::Id, String> = HashMap::new();
    // Memory freed by finished polls is handed back once polling goes quiet: when the last poll
    // finished (or the last release) is RELEASE_EVERY ago, and releases are left for this spell.
    let mut quiet_since = tokio::time::Instant::now();
    let mut releases_left = 0u8;
    loop {
        poller.metrics.heartbeat();
        if watchdog.is_some() {
            notify::notify("WATCHDOG=1");
        }
        if tasks.is_empty() && releases_left > 0 && quiet_since.elapsed() >= RELEASE_EVERY {
            releases_left -= 1;
            // The code is unmapped once per quiet spell, at its last release, and only when
            // the next poll is a while away: the poll that follows maps back what it runs.
            let next_poll = slots.values().filter(|s| !s.removed).map(|s| s.next).min();
            let quiet = chrono::Duration::from_std(UNMAP_CODE_QUIET).unwrap_or_default();
            let long_quiet = next_poll.is_none_or(|t| t - Utc::now() >= quiet);
            release_idle_memory(&poller, releases_left == 0 && long_quiet).await;
            quiet_since = tokio::time::Instant::now();
        }
        if let Some(at) = resync_at.filter(|at| *at <= tokio::time::Instant::now()) {
            resync_at = match resync(&poller, &mut slots).await {
                Ok(()) => {
                    tracing::info!(
                        feeds = slots.values().filter(|s| !s.removed).count(),
                        "schedule synced with the config"
                    );
                    None
                }
                Err(failures) => Some(at.max(tokio::time::Instant::now()) + retry::delay(failures)),
            };
        }
        let now = Utc::now();
        for (name, slot) in slots.iter_mut() {
            if !slot.running && !slot.removed && slot.next <= now {
                slot.running = true;
                let (poller, feed, limits) = (poller.clone(), slot.feed.clone(), Arc::clone(&limits));
                // Another node may have polled it since this one planned: due by now (with a
                // second's slack for the plans' rounding), or skipped.
                let due_by = now + chrono::Duration::seconds(1);
                let adaptive = slot.adaptive;
                let handle = tasks.spawn(async move {
                    let _permits = limits.acquire(&feed.url).await;
                    poll_and_plan(&poller, &feed, Some(due_by), adaptive).await
                });
                owners.insert(handle.id(), name.clone());
            }
        }
        let earliest = slots.values().filter(|s| !s.running && !s.removed).map(|s| s.next).min();
        let mut wait = earliest.map_or(tick, |t| (t - now).to_std().unwrap_or_default()).min(tick);
        if tasks.is_empty() && releases_left > 0 {
            // Wake for the next release of memory too.
            wait = wait.min((quiet_since + RELEASE_EVERY).saturating_duration_since(tokio::time::Instant::now()));
        }
        if let Some(at) = resync_at {
            wait = wait.min(at.saturating_duration_since(tokio::time::Instant::now()));
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            changed = updates.changed() => {
                if changed.is_err() {
                    // The config can no longer change; keep going with the one in force.
                    updates = poller.config.clone();
                    tokio::select! { _ = cancel.cancelled() => break, _ = tokio::time::sleep(wait) => {} }
                    continue;
                }
                updates.borrow_and_update();
                match resync(&poller, &mut slots).await {
                    Ok(()) => {
                        resync_at = None;
                        tracing::info!(feeds = slots.values().filter(|s| !s.removed).count(), "schedule updated from the new config");
                    }
                    Err(failures) => resync_at = Some(tokio::time::Instant::now() + retry::delay(failures)),
                }
            }
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (id, result) = match done {
                    Ok((id, r)) => (id, Some(r)),
                    Err(e) => (e.id(), None),
                };
                let Some(name) = owners.remove(&id) else { continue };
                (quiet_since, releases_left) = (tokio::time::Instant::now(), RELEASES_PER_QUIET_SPELL);
                // A poll that could not be recorded is tried again soon (with backoff while the
                // database keeps failing), never later than the feed's own schedule.
                let mut store_retry = None;
                if let Some(Ok(Ran::Skipped(at))) = result {
                    // Another node holds or polled the feed: look again when it is due.
                    let Some(slot) = slots.get_mut(&name) else { continue };
                    if slot.removed {
                        slots.remove(&name);
                        continue;
                    }
                    slot.running = false;
                    slot.next = at.max(Utc::now() + chrono::Duration::milliseconds(100));
                    tracing::debug!(feed = %name, next = %slot.next, "polled by another node; next look planned");
                    continue;
                }
                if let Some(Ok(Ran::Polled { outcome, next, adaptive })) = result {
                    // The poll's task planned the next poll, recorded it and gave the lease back.
                    poller.metrics.store_ok(POLLS_TASK);
                    let Some(slot) = slots.get_mut(&name) else { continue };
                    if slot.removed {
                        slots.remove(&name);
                        continue;
                    }
                    slot.running = false;
                    if std::mem::take(&mut slot.replan) {
                        slot.next = plan_after(&slot.feed, &mut slot.adaptive, Facts::of(&outcome), Utc::now());
                        record_plan(&poller, &slot.feed.name, slot.next, slot.adaptive).await;
                    } else {
                        (slot.next, slot.adaptive) = (next, adaptive);
                    }
                    log_plan(&slot.feed.name, Facts::of(&outcome).failures, slot.next);
                    continue;
                }
                let facts = match result {
                    Some(Ok(_)) => unreachable!("handled above"),
                    Some(Err(e)) => {
                        tracing::error!(feed = %name, error = %e, "poll could not be recorded");
                        // The poll started when it was due.
                        let started = slots.get(&name).map_or_else(Utc::now, |s| s.next.min(Utc::now()));
                        let in_a_row = poller.metrics.store_failed(POLLS_TASK, &e, started);
                        store_retry = Some(retry::delay(in_a_row));
                        Facts::default()
                    }
                    None => {
                        // A panic loses this one poll; the feed stays on its schedule.
                        tracing::error!(feed = %name, "poll task panicked");
                        Facts { failures: 1, ..Facts::default() }
                    }
                };
                let failures = facts.failures;
                let Some(slot) = slots.get_mut(&name) else { continue };
                if slot.removed {
                    slots.remove(&name);
                    continue;
                }
                slot.running = false;
                let now = Utc::now();
                slot.next = plan_after(&slot.feed, &mut slot.adaptive, facts, now);
                if let Some(soon) = store_retry.and_then(|d| chrono::Duration::from_std(d).ok()) {
                    slot.next = slot.next.min(now + soon);
                }
                log_plan(&slot.feed.name, failures, slot.next);
                if poller.node.is_none() {
                    record_plan(&poller, &slot.feed.name, slot.next, slot.adaptive).await;
                } else {
                    // On a shared database the failed call may have been the claim (this node
                    // never held the feed): the plan stays in memory, another node's recorded
                    // plan is left alone, and only a lease of this node's is given back.
                    release(&poller, &slot.feed.name).await;
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
    drain(&mut tasks, &mut owners, grace).await;
    Ok(())
}

/// What a scheduled poll came to.
enum Ran {
    /// This node polled the feed, and recorded its next poll planned with this adaptive interval.
    Polled { outcome: PollOutcome, next: DateTime<Utc>, adaptive: Option<Duration> },
    /// Another node holds the feed, or polled it since this node planned: look again then.
    Skipped(DateTime<Utc>),
}

/// What [`poll_leased`] came to: the poll's outcome, or `Err(at)` when another node holds the
/// feed or polled it since this node planned (look again at `at`).
type Leased = Result<PollOutcome, DateTime<Utc>>;

/// Poll `feed`; on a shared database first take one of its host's `per_host` slots (held
/// across the nodes) and claim the feed (due by `due_by`, when given), renewing both every
/// third of the lease while the poll runs.
async fn poll_leased(poller: &Poller, feed: &Feed, due_by: Option<DateTime<Utc>>) -> Result<Leased, StoreError> {
    let Some(node) = &poller.node else { return poller.poll(feed).await.map(Ok) };
    let config = poller.config();
    let lease = config.daemon.lease;
    let host = host_key(&feed.url);
    let mut tries = 0u32;
    let slot = loop {
        if let Some(slot) = poller.store.claim_host_slot(&host, config.daemon.per_host, node, lease).await? {
            break slot;
        }
        // Spread (±80 %) so that the nodes' waiting polls take turns rather than whoever
        // released last winning again.
        tries += 1;
        let fraction = crate::jitter::fraction((node, &feed.name, tries, Utc::now().timestamp_micros()));
        tokio::time::sleep(crate::jitter::spread(HOST_SLOT_WAIT, 0.8, fraction)).await;
    };
    let ran = poll_claimed(poller, feed, due_by, node, lease, &host, slot).await;
    if let Err(e) = poller.store.release_host_slot(&host, slot, node).await {
        tracing::warn!(host = %host, error = %e, "cannot release a host slot; it runs out by itself");
    }
    ran
}

/// [`poll_leased`] once the host slot is held.
async fn poll_claimed(
    poller: &Poller,
    feed: &Feed,
    due_by: Option<DateTime<Utc>>,
    node: &str,
    lease: Duration,
    host: &str,
    slot: i64,
) -> Result<Leased, StoreError> {
    let look_again = |d: Duration| Utc::now() + chrono::Duration::from_std(d).unwrap_or_default();
    match poller.store.claim_feed(&feed.name, node, lease, due_by).await? {
        FeedClaim::Claimed => {}
        FeedClaim::Held { node: other, until } => {
            tracing::debug!(feed = %feed.name, node = %other, until = %until, "feed is being polled by another node");
            return Ok(Err(until));
        }
        FeedClaim::NotDue { next } => return Ok(Err(next)),
        FeedClaim::Unknown => return Ok(Err(look_again(lease))),
    }
    poller.metrics.inc(Counter::LeasesTaken, &[("node", node), ("kind", "feed")], 1);
    let poll = poller.poll(feed);
    tokio::pin!(poll);
    let mut renew = tokio::time::interval(lease / 3);
    renew.tick().await;
    loop {
        tokio::select! {
            r = &mut poll => return r.map(Ok),
            _ = renew.tick() => {
                match poller.store.claim_feed(&feed.name, node, lease, None).await {
                    Ok(FeedClaim::Claimed) => {}
                    Ok(other) => tracing::warn!(
                        feed = %feed.name, claim = ?other,
                        "lost the lease on a feed while polling it (a poll longer than the lease, or a clock out of step)"
                    ),
                    Err(e) => tracing::warn!(feed = %feed.name, error = %e, "cannot renew the lease on a feed"),
                }
                if let Err(e) = poller.store.renew_host_slot(host, slot, node, lease).await {
                    tracing::warn!(host = %host, error = %e, "cannot renew a host slot");
                }
            }
        }
    }
}

/// Poll `feed` ([`poll_leased`]) and, when it was polled, plan its next poll from `adaptive`,
/// record the plan and give the feed's lease back, all in the poll's own task: a node that
/// finished many polls at once never leaves one leased but unplanned while the scheduler works
/// through the others (its lease could run out and another node poll the feed again).
async fn poll_and_plan(
    poller: &Poller,
    feed: &Feed,
    due_by: Option<DateTime<Utc>>,
    mut adaptive: Option<Duration>,
) -> Result<Ran, StoreError> {
    match poll_leased(poller, feed, due_by).await? {
        Ok(outcome) => {
            let next = plan_after(feed, &mut adaptive, Facts::of(&outcome), Utc::now());
            record_plan(poller, &feed.name, next, adaptive).await;
            Ok(Ran::Polled { outcome, next, adaptive })
        }
        Err(at) => Ok(Ran::Skipped(at)),
    }
}

/// Record `feed`'s next poll, then (a shared database) give its lease back: released only now,
/// a node that claims the feed meanwhile finds it not due. Not critical: the plan in memory
/// holds; a failure counts as one of the polls'.
async fn record_plan(poller: &Poller, feed: &str, next: DateTime<Utc>, adaptive: Option<Duration>) {
    if let Err(e) = poller.store.set_next_poll(feed, next, adaptive).await {
        tracing::error!(feed = %feed, error = %e, "cannot record the next poll time");
        poller.metrics.store_failed(POLLS_TASK, &e, Utc::now());
    }
    release(poller, feed).await;
}

/// Say when a feed is polled next: loudly for a failing one.
fn log_plan(feed: &str, failures: u32, next: DateTime<Utc>) {
    if failures > 0 {
        // To the nearest second: planned a moment ago, "in 2m" rather than "in 1m 59s".
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        let wait = humantime::format_duration(Duration::from_secs(((wait.as_millis() + 500) / 1000) as u64));
        tracing::info!(
            feed = %feed, failures, next_try = %crate::model::rfc3339(next), in_ = %wait,
            "failing feed: next try planned (backoff, never sooner than the server asks)"
        );
    } else {
        tracing::debug!(feed = %feed, next = %next, "next poll");
    }
}

/// Give up this node's lease on `feed`, if the database is shared; a failure only delays the
/// other nodes until the lease runs out.
async fn release(poller: &Poller, feed: &str) {
    if let Some(node) = &poller.node {
        if let Err(e) = poller.store.release_feed(feed, node).await {
            tracing::warn!(feed = %feed, error = %e, "cannot release the lease on a feed; it runs out by itself");
        }
    }
}

async fn drain(
    tasks: &mut JoinSet<Result<Ran, StoreError>>,
    owners: &mut HashMap<tokio::task::Id, String>,
    grace: Duration,
) {
    if tasks.is_empty() {
        return;
    }
    tracing::info!(in_flight = tasks.len(), grace = ?grace, "waiting for in-flight polls");
    let deadline = tokio::time::Instant::now() + grace;
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline, tasks.join_next_with_id()).await {
            Ok(Some(done)) => {
                let id = done.as_ref().map_or_else(|e| e.id(), |(id, _)| *id);
                owners.remove(&id);
            }
            Ok(None) => {}
            Err(_) => {
                let names: Vec<&String> = owners.values().collect();
                tracing::warn!(feeds = ?names, "grace period over; abandoning polls still running");
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                return;
            }
        }
    }
}

/// Poll every enabled feed once, now, within the limits; returns each feed's outcome. After
/// each poll its next poll is recorded as [`run`] would plan it, so that `pantau feeds` shows
/// when the daemon will poll the feed next, and the daemon does.
pub async fn poll_all(
    poller: &Poller,
    feeds: &[Feed],
    limits: Arc<Limits>,
) -> Vec<(String, Result<PollOutcome, StoreError>)> {
    let mut tasks = JoinSet::new();
    for feed in feeds.iter().filter(|f| f.enabled).cloned() {
        let (poller, limits) = (poller.clone(), Arc::clone(&limits));
        tasks.spawn(async move {
            let _permits = limits.acquire(&feed.url).await;
            // The interval an adaptive feed learned so far (by `run` or earlier `once`s).
            let stored = match feed.schedule {
                Schedule::Auto { .. } => poller.store.feed_state(&feed.name).await.ok().and_then(|s| s.adaptive),
                _ => None,
            };
            let adaptive = starting_adaptive(&feed.schedule, stored);
            let r = match poll_and_plan(&poller, &feed, None, adaptive).await {
                Ok(Ran::Polled { outcome, .. }) => Ok(outcome),
                Ok(Ran::Skipped(_)) => {
                    tracing::info!(feed = %feed.name, "another node is polling this feed now; skipped");
                    return None;
                }
                Err(e) => {
                    release(&poller, &feed.name).await;
                    Err(e)
                }
            };
            Some((feed.name, r))
        });
    }
    let mut out = Vec::new();
    let bar = progress::start("polling", tasks.len() as u64, "feeds");
    while let Some(done) = tasks.join_next().await {
        bar.advance(1);
        match done {
            Ok(Some(v)) => out.push(v),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "poll task failed"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn intervals_are_jittered_by_at_most_five_percent() {
        let now = Utc::now();
        let s = Schedule::Every(Duration::from_secs(600));
        for i in 0..50 {
            let d = (next_poll(&s, now, 0, &format!("f{i}")) - now).num_seconds();
            assert!((570..=630).contains(&d), "{d}");
        }
    }

    #[test]
    fn failures_back_off_but_never_poll_faster_than_the_interval() {
        let now = Utc::now();
        let s = Schedule::Every(Duration::from_secs(600));
        let first = (next_poll(&s, now, 1, "f") - now).num_seconds();
        assert!(first >= 540, "{first}");
        let many = (next_poll(&s, now, 12, "f") - now).num_seconds();
        assert!((5 * 3600..=7 * 3600).contains(&many), "{many}");
        let fast = Schedule::Every(Duration::from_secs(60));
        let third = (next_poll(&fast, now, 3, "f") - now).num_seconds();
        assert!((216..=264).contains(&third), "{third}");
    }

    #[test]
    fn a_publisher_ttl_delays_an_earlier_poll_but_never_advances_a_later_one() {
        let now = Utc::now();
        let soon = now + chrono::Duration::minutes(5);
        let hour = Some(Duration::from_secs(3600));
        assert_eq!(ttl_floor(soon, now, hour), now + chrono::Duration::hours(1));
        let later = now + chrono::Duration::hours(3);
        assert_eq!(ttl_floor(later, now, hour), later);
        assert_eq!(ttl_floor(soon, now, None), soon);
    }

    #[test]
    fn an_adaptive_feed_goes_on_from_its_stored_interval_within_todays_range() {
        let (min, max) = (Duration::from_secs(600), Duration::from_secs(7200));
        let auto = Schedule::Auto { min, max };
        assert_eq!(starting_adaptive(&auto, None), Some(Duration::from_secs(3900)), "the middle without a history");
        assert_eq!(starting_adaptive(&auto, Some(Duration::from_secs(900))), Some(Duration::from_secs(900)));
        // The range changed in the config since: the stored interval is brought into it.
        assert_eq!(starting_adaptive(&auto, Some(Duration::from_secs(60))), Some(min));
        assert_eq!(starting_adaptive(&auto, Some(Duration::from_secs(86_400))), Some(max));
        assert_eq!(starting_adaptive(&Schedule::Every(min), Some(Duration::from_secs(900))), None);
    }

    #[test]
    fn adaptive_intervals_speed_up_on_news_and_slow_down_in_quiet_within_bounds() {
        let (min, max) = (Duration::from_secs(120), Duration::from_secs(3600));
        let mut d = Duration::from_secs(1800);
        d = adapt(d, 3, min, max);
        assert_eq!(d, Duration::from_secs(900));
        for _ in 0..10 {
            d = adapt(d, 1, min, max);
        }
        assert_eq!(d, min);
        for _ in 0..20 {
            d = adapt(d, 0, min, max);
        }
        assert_eq!(d, max);
    }

    #[test]
    fn cron_schedules_give_the_next_matching_second() {
        let c = cron::Schedule::from_str("0 */5 * * * *").unwrap();
        let now = DateTime::parse_from_rfc3339("2026-01-01T10:02:30Z").unwrap().with_timezone(&Utc);
        let next = next_poll(&Schedule::Cron(Box::new(c)), now, 0, "f");
        assert_eq!(next.to_rfc3339(), "2026-01-01T10:05:00+00:00");
    }

    fn feed(keys: &str) -> Feed {
        let src = format!("[[feed]]\nname = \"f\"\nurl = \"https://f.example/\"\n{keys}\n");
        let config = crate::config::load_str(std::path::Path::new("/x/p.toml"), &src, &|_| None).unwrap();
        config.feeds[0].clone()
    }

    #[test]
    fn a_recorded_plan_holds_unless_the_schedule_became_shorter_than_it() {
        let started = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z").unwrap().with_timezone(&Utc);
        let slack = Duration::from_secs(90);
        let hourly = feed("interval = \"1h\"");
        // Whatever the jitter and however long the poll took, a plan of this schedule holds.
        for i in 0..50 {
            let ended = started + chrono::Duration::seconds(i);
            let plan = plan_after(&hourly, &mut None, Facts::default(), ended);
            assert!(plan <= latest_plan(&hourly, started, slack, None), "{plan}");
        }
        // A plan of an older, longer interval does not.
        let old = started + chrono::Duration::hours(3);
        let latest = latest_plan(&hourly, started, slack, None);
        assert!(old > latest && latest < started + chrono::Duration::minutes(65), "{latest}");
        // Unless the publisher's ttl asks for it and the feed honours that.
        let ttl = Some(Duration::from_secs(4 * 3600));
        assert!(latest_plan(&feed("interval = \"1h\"\nhonor_ttl = true"), started, slack, ttl) > old);
        let cron = feed("schedule = \"0 0 * * * *\"");
        assert_eq!(latest_plan(&cron, started, slack, None).to_rfc3339(), "2026-01-01T11:00:00+00:00");
    }

    #[tokio::test]
    async fn per_host_limit_queues_the_second_poll_of_a_host() {
        let limits = Limits::new(4, 1);
        let a = limits.acquire("https://a.example/1").await;
        // Another host is not held up.
        let _b = limits.acquire("https://b.example/1").await;
        let second = tokio::time::timeout(Duration::from_millis(50), limits.acquire("https://A.example/2")).await;
        assert!(second.is_err(), "same host must wait");
        drop(a);
        let third = tokio::time::timeout(Duration::from_millis(500), limits.acquire("https://a.example/2")).await;
        assert!(third.is_ok());
    }
}
