//! Delivery: one worker per sink drains that sink's rows of the outbox, with retries.
//!
//! At-least-once: a row leaves `pending` only after its sink accepted it (or rejected it for
//! good). Every attempt carries the alert's stable id as the idempotency key, so a receiver
//! can drop the duplicates that a crash between "sent" and "marked delivered" can cause.

mod console;
mod sign;
mod webhook;

use crate::sinks::{chat, template};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{DigestMode, Sink};
use crate::jitter;
use crate::model::{AlertPayload, Delivery, OutboxAlert};
use crate::service::metrics::{Counter, Metrics};
use crate::service::retry;
use crate::sinks::Transport;
use crate::store::{Attempted, Store, StoreError};

/// The longest pause between two attempts of one alert.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How many due rows a worker takes per round trip to the database.
const BATCH: usize = 50;

/// What one delivery attempt came to, as the sink answered: a retry waits no sooner than the
/// sink's own hint (Retry-After and the like) when it gave one. The worker turns it into the
/// [`Attempted`] the store records (the same [`Delivery`] with the delay decided).
pub type Outcome = Delivery<Option<Duration>>;

/// Errors of the delivery stage that stop a worker: the database failed in `pantau once` (the
/// daemon's workers retry instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliverError {
    /// The outbox could not be read or updated.
    #[error("sink {sink}: {source}")]
    Store {
        /// The sink.
        sink: String,
        /// The storage error.
        source: crate::store::StoreError,
    },
}

/// A configured sink, ready to send.
#[derive(Debug, Clone)]
pub struct Sender {
    kind: SenderKind,
    /// Minimum spacing between two messages.
    interval: Duration,
    /// More first-attempt alerts due at once than this become one digest.
    burst: usize,
    digest: DigestMode,
    max_attempts: u32,
    max_age: Option<Duration>,
    template: Option<Arc<template::MessageTemplate>>,
    digest_window: Duration,
    /// Messages in flight at once.
    concurrency: usize,
    /// Until when the service's rate-limit bucket is empty (from its response headers).
    hold: Arc<std::sync::Mutex<Option<tokio::time::Instant>>>,
}

#[derive(Debug, Clone)]
enum SenderKind {
    Console,
    Webhook(webhook::Webhook),
    Chat { client: reqwest::Client, target: chat::Target },
}

impl Sender {
    /// Build the sender of `sink`, sharing `client` for HTTP.
    pub fn new(sink: &Sink, client: reqwest::Client) -> Sender {
        let kind = match sink.kind.transport() {
            Transport::Console => SenderKind::Console,
            Transport::Webhook(w) => {
                SenderKind::Webhook(webhook::Webhook::new(client, w.url.clone(), w.secret.clone(), w.headers.clone()))
            }
            Transport::Chat(target) => SenderKind::Chat { client, target },
        };
        Sender {
            kind,
            interval: sink.interval,
            burst: sink.burst,
            digest: sink.digest,
            max_attempts: sink.max_attempts,
            max_age: sink.max_age,
            template: sink.template.clone(),
            digest_window: sink.digest_window,
            concurrency: sink.concurrency.max(1),
            hold: Arc::default(),
        }
    }

    /// The sink template's rendering of `alert`, if the sink has a template. A template that
    /// fails on this alert (it passed `check` on a sample) falls back to pantau's layout.
    fn templated(&self, alert: &OutboxAlert) -> Option<String> {
        let t = self.template.as_ref()?;
        let payload: serde_json::Value = serde_json::from_str(&alert.payload).ok()?;
        match t.render(&payload) {
            Ok(text) => Some(text),
            Err(e) => {
                tracing::warn!(alert = %alert.id, error = %e, "sink template failed on this alert; using pantau's layout");
                None
            }
        }
    }

    /// Try to deliver one alert.
    pub async fn send(&self, alert: &OutboxAlert) -> Outcome {
        let custom = self.templated(alert);
        match &self.kind {
            SenderKind::Console => console::send(alert, custom.as_deref()),
            SenderKind::Webhook(w) => w.send(alert, custom).await,
            SenderKind::Chat { client, target } => match serde_json::from_str::<AlertPayload>(&alert.payload) {
                Ok(p) => {
                    let request = match custom {
                        Some(text) => target.custom_request(&p, &text).unwrap_or_else(|| {
                            tracing::warn!(alert = %alert.id, sink = target.kind(), "templated message too long for the service; using pantau's layout");
                            target.request(&p)
                        }),
                        None => target.request(&p),
                    };
                    self.send_chat(client, target, request).await
                }
                Err(e) => Outcome::Dead(format!("stored payload is not valid: {e}")),
            },
        }
    }

    /// How long to hold `due` back so that a burst can gather: until `digest_window` has passed
    /// since the oldest first-attempt alert. `None` when nothing needs holding (no window, no
    /// digests, or `pantau once`, which sends what it has).
    fn gather_for(&self, due: &[OutboxAlert], mode: Mode) -> Option<Duration> {
        if self.digest_window.is_zero() || self.digest == DigestMode::Never || mode != Mode::Forever {
            return None;
        }
        if !matches!(self.kind, SenderKind::Chat { .. }) {
            return None;
        }
        let oldest = due.iter().filter(|a| a.attempts == 0).map(|a| a.created_at).min()?;
        let waited = (Utc::now() - oldest).to_std().unwrap_or_default();
        self.digest_window.checked_sub(waited).filter(|d| !d.is_zero())
    }

    /// Whether `due` should go out as one digest message.
    fn wants_digest(&self, due: &[OutboxAlert]) -> bool {
        if !matches!(self.kind, SenderKind::Chat { .. }) {
            return false;
        }
        let fresh = due.iter().filter(|a| a.attempts == 0).count();
        match self.digest {
            DigestMode::Never => false,
            DigestMode::Always => due.len() > 1 || fresh >= 1,
            DigestMode::Auto => fresh > self.burst,
        }
    }

    /// Send `alerts` as one digest message, idempotent by a hash of their ids.
    async fn send_digest(&self, alerts: &[OutboxAlert]) -> Outcome {
        let SenderKind::Chat { client, target } = &self.kind else {
            return Outcome::Dead("digests are only for chat sinks".into());
        };
        let payloads: Vec<AlertPayload> = alerts.iter().filter_map(|a| serde_json::from_str(&a.payload).ok()).collect();
        let mut ids: Vec<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
        ids.sort_unstable();
        let digest_id = crate::model::alert_id("digest", &ids.join(","), "", "");
        self.send_chat(client, target, chat::digest_request(target, &payloads, &digest_id)).await
    }

    /// Send a chat request, and remember the service's rate-limit hold for [`Sender::ready_at`].
    async fn send_chat(&self, client: &reqwest::Client, target: &chat::Target, req: chat::HttpRequest) -> Outcome {
        let (outcome, hold) = send_chat(client, target, req).await;
        // A rate-limit hold is a hint too: no longer than the longest backoff.
        let hold = hold.map(|h| h.min(MAX_BACKOFF));
        if let Some(hold) = hold {
            tracing::debug!(sink = target.kind(), hold = ?hold, "rate-limit bucket empty; holding the next message");
        }
        *self.hold.lock().unwrap_or_else(|e| e.into_inner()) = hold.map(|h| tokio::time::Instant::now() + h);
        outcome
    }

    /// The earliest time the next message may go: `rate` spacing after the last send, and not
    /// before the service's rate-limit bucket has refilled.
    fn ready_at(&self, last: Option<tokio::time::Instant>) -> Option<tokio::time::Instant> {
        let spaced = last.map(|at| at + self.interval);
        let hold = *self.hold.lock().unwrap_or_else(|e| e.into_inner());
        spaced.max(hold)
    }
}

/// Send one rendered chat request and read the service's answer, and how long its rate-limit
/// headers ask to wait before the next message.
async fn send_chat(
    client: &reqwest::Client,
    target: &chat::Target,
    req: chat::HttpRequest,
) -> (Outcome, Option<Duration>) {
    let method = match req.method {
        chat::Method::Post => reqwest::Method::POST,
        chat::Method::Put => reqwest::Method::PUT,
    };
    let mut builder = client.request(method, &req.url).timeout(Duration::from_secs(30));
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let resp = match builder.body(req.body).send().await {
        Ok(r) => r,
        // The error text can hold the URL, which for chat webhooks is a secret: keep the kind.
        Err(e) => {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            return (Outcome::Retry { after: None, error: format!("{} {kind}", target.kind()) }, None);
        }
    };
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
        .collect();
    let body = resp.text().await.unwrap_or_default();
    let hold = target.rate_hold(&headers);
    if target.accepted(status, &body) {
        return (Outcome::Delivered, hold);
    }
    let hint = target.retry_hint(status, &headers, &body);
    let outcome = match classify_status(status, hint, &body) {
        // A 2xx that the service itself calls a failure (Telegram "ok": false) is permanent.
        Outcome::Delivered => {
            Outcome::Dead(format!("HTTP {status} but not accepted: {}", body.chars().take(200).collect::<String>()))
        }
        other => other,
    };
    (outcome, hold)
}

/// How long a worker keeps going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Until cancelled, waking when new alerts are committed (the daemon).
    Forever,
    /// Until nothing is due within `horizon` (for `pantau once`): retries that are due soon
    /// are waited for, later ones are left in the outbox for the next run.
    Drain {
        /// How far ahead a pending retry is still waited for.
        horizon: Duration,
    },
}

/// Delivery tallies of one worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Alerts the sink accepted.
    pub delivered: u64,
    /// Attempts that will be retried.
    pub retried: u64,
    /// Alerts given up on.
    pub dead: u64,
}

/// The delay before attempt `attempts + 1`: exponential from 1 s, capped, with ±20 % jitter,
/// and never shorter than the sink's own hint, which counts up to [`MAX_BACKOFF`]: a service
/// asking for more (`Retry-After: 4000000000`) is retried after an hour like any other, and
/// the alert's age keeps counting towards the sink's `max_age` meanwhile.
pub fn backoff(attempts: u32, hint: Option<Duration>, seed: &str) -> Duration {
    let base = Duration::from_secs(1u64 << attempts.min(12)).min(MAX_BACKOFF);
    // The time is part of the key, so many alerts failing together do not retry in lock-step.
    let jittered = jitter::spread(base, 0.2, jitter::fraction((seed, attempts, std::time::SystemTime::now())));
    match hint.map(|h| h.min(MAX_BACKOFF)) {
        Some(h) => h.max(jittered.min(h + Duration::from_secs(1))),
        None => jittered,
    }
}

/// The worker's calls to the outbox. In the daemon a failing call is retried with backoff until
/// it works, and the worker carries on by itself: the sink's alerts wait meanwhile, and the
/// outcomes of sends already made are kept until they are recorded, so nothing is lost and
/// nothing is sent twice. In `pantau once` a failing call ends the worker.
struct Outbox<'a> {
    store: &'a Store,
    sink: &'a str,
    /// The worker's name in `/healthz` and `pantau_store_errors_total`.
    task: String,
    mode: Mode,
    metrics: &'a Metrics,
    cancel: &'a CancellationToken,
}

impl Outbox<'_> {
    /// The result of `op`; `None` when the worker was cancelled while waiting to retry it.
    async fn call<T, F, Fut>(&self, mut op: F) -> Result<Option<T>, DeliverError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        match self.mode {
            Mode::Drain { .. } => {
                op().await.map(Some).map_err(|source| DeliverError::Store { sink: self.sink.to_string(), source })
            }
            Mode::Forever => Ok(retry::store(self.metrics, &self.task, self.cancel, op).await),
        }
    }

    /// Record what became of some attempts; false when cancelled before that worked.
    async fn record(&self, settled: Vec<(String, Attempted)>) -> Result<bool, DeliverError> {
        if settled.is_empty() {
            return Ok(true);
        }
        Ok(self.call(|| self.store.record_deliveries(settled.clone())).await?.is_some())
    }
}

/// The name of `sink`'s worker in `/healthz` problems and the `task` label of metrics.
pub fn worker_task(sink: &str) -> String {
    format!("delivery:{sink}")
}

/// Drain the outbox rows of one sink until `mode` says stop or `cancel` fires.
///
/// Every sink failure is recorded on the row. A database failure is retried until the database
/// works again (shown meanwhile by `/healthz` and the metrics); only in [`Mode::Drain`]
/// (`pantau once`) does it end the worker early.
#[allow(clippy::too_many_arguments)]
pub async fn run_worker(
    store: Store,
    sink: String,
    sender: Sender,
    mode: Mode,
    wake: Arc<Notify>,
    cancel: CancellationToken,
    metrics: Arc<Metrics>,
    lease: Option<SinkLease>,
) -> Result<Tally, DeliverError> {
    let outbox =
        Outbox { store: &store, sink: &sink, task: worker_task(&sink), mode, metrics: &metrics, cancel: &cancel };
    let sender = Arc::new(sender);
    let mut tally = Tally::default();
    let mut last_send: Option<tokio::time::Instant> = None;
    let mut held_since: Option<tokio::time::Instant> = None;
    loop {
        // Register interest before looking, so that an alert committed between the query and
        // the wait still wakes us.
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        if let Some(l) = &lease {
            match hold(&outbox, l, &mut held_since, true).await? {
                None => return Ok(tally),
                Some(true) => {}
                Some(false) => {
                    // Another node drains this sink; in `once` that is its work, not ours.
                    if matches!(mode, Mode::Drain { .. }) {
                        tracing::info!(sink = %sink, "another node is delivering to this sink; left to it");
                        return Ok(tally);
                    }
                    tokio::select! {
                        _ = cancel.cancelled() => return Ok(tally),
                        _ = tokio::time::sleep(l.lease / 3) => continue,
                    }
                }
            }
        }

        let Some(due) = outbox.call(|| store.due_alerts(&sink, Utc::now(), BATCH)).await? else { return Ok(tally) };
        if due.is_empty() {
            let Some(next) = outbox.call(|| store.next_due(&sink)).await? else { return Ok(tally) };
            let wait = next.map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO));
            match mode {
                Mode::Drain { horizon } => match wait {
                    Some(w) if w <= horizon => {
                        tokio::select! {
                            _ = cancel.cancelled() => return Ok(tally),
                            _ = tokio::time::sleep(w) => continue,
                        }
                    }
                    _ => return Ok(tally),
                },
                Mode::Forever => {
                    // On a shared database alerts are also queued by other nodes, which cannot
                    // wake this one: look again every third of the lease (renewing it).
                    let idle =
                        lease.as_ref().map_or(Duration::from_secs(60), |l| (l.lease / 3).min(Duration::from_secs(5)));
                    let w = wait.unwrap_or(idle).min(idle);
                    tokio::select! {
                        _ = cancel.cancelled() => return Ok(tally),
                        _ = &mut notified => continue,
                        _ = tokio::time::sleep(w) => continue,
                    }
                }
            }
        }
        if let Some(wait) = sender.gather_for(&due, mode) {
            tracing::debug!(sink = %sink, alerts = due.len(), wait = ?wait, "gathering a burst (digest_window)");
            tokio::select! {
                _ = cancel.cancelled() => return Ok(tally),
                _ = tokio::time::sleep(wait) => continue,
            }
        }
        if sender.wants_digest(&due) {
            pace(sender.ready_at(last_send), &cancel).await;
            let outcome = sender.send_digest(&due).await;
            last_send = Some(tokio::time::Instant::now());
            let label = outcome.label();
            metrics.inc(Counter::Deliveries, &[("sink", &sink), ("outcome", label)], due.len() as u64);
            tracing::info!(sink = %sink, alerts = due.len(), outcome = label, "sent a digest of a burst of alerts");
            let (after, error) = match outcome {
                Outcome::Delivered => {
                    // Every alert of the digest in one transaction.
                    let ids: Vec<String> = due.iter().map(|a| a.id.clone()).collect();
                    if outbox.call(|| store.mark_all_delivered(ids.clone())).await?.is_none() {
                        return Ok(tally);
                    }
                    tally.delivered += due.len() as u64;
                    continue;
                }
                Outcome::Retry { after, error } => (Some(after), error),
                Outcome::Dead(error) => (None, error),
            };
            let mut settled = Vec::with_capacity(due.len());
            for alert in &due {
                let attempted = match after {
                    Some(after) if alert.attempts + 1 < sender.max_attempts => {
                        tally.retried += 1;
                        Attempted::Retry { after: backoff(alert.attempts, after, &alert.id), error: error.clone() }
                    }
                    _ => {
                        tally.dead += 1;
                        Attempted::Dead(error.clone())
                    }
                };
                settled.push((alert.id.clone(), attempted));
            }
            if !outbox.record(settled).await? {
                return Ok(tally);
            }
            continue;
        }
        // Up to `concurrency` messages in flight, their starts spaced by `rate` and the
        // service's holds.
        let mut flight: JoinSet<(OutboxAlert, Outcome)> = JoinSet::new();
        let mut in_flight: HashMap<tokio::task::Id, (String, u32)> = HashMap::new();
        let mut settled: Vec<(String, Attempted)> = Vec::new();
        for alert in due {
            if cancel.is_cancelled() {
                break;
            }
            if let Some(max_age) = sender.max_age {
                let age = (Utc::now() - alert.created_at).to_std().unwrap_or_default();
                if age > max_age {
                    let error = format!("undelivered after {} (sink max_age)", humantime::format_duration(max_age));
                    tracing::error!(sink = %sink, alert = %alert.id, error = %error, "alert is dead");
                    tally.dead += 1;
                    settled.push((alert.id, Attempted::Dead(error)));
                    continue;
                }
            }
            while flight.len() >= sender.concurrency {
                let Some(joined) = flight.join_next_with_id().await else { break };
                settled.push(settle(&sink, &sender, joined, &mut in_flight, &mut tally, &metrics));
                last_send = Some(tokio::time::Instant::now());
            }
            // Whatever came back is recorded before the next send starts, so a crash re-sends
            // at most the alerts in flight.
            if !outbox.record(std::mem::take(&mut settled)).await? {
                return Ok(tally);
            }
            if !pace(sender.ready_at(last_send), &cancel).await {
                break;
            }
            // A long batch (a slow rate) keeps the sink's lease; one lost stops sending here,
            // leaving the rest pending for the node that has the sink now.
            if let Some(l) = &lease {
                match hold(&outbox, l, &mut held_since, false).await? {
                    Some(true) => {}
                    None | Some(false) => break,
                }
            }
            let (id, attempts) = (alert.id.clone(), alert.attempts);
            let s = Arc::clone(&sender);
            let task = flight.spawn(async move {
                let outcome = s.send(&alert).await;
                (alert, outcome)
            });
            in_flight.insert(task.id(), (id, attempts));
            // `rate` spaces the starts; a finished send moves the mark again, so one message
            // at a time is spaced from the end of the previous one.
            last_send = Some(tokio::time::Instant::now());
        }
        // Sends already started finish and are recorded, each as it comes back (a shutdown
        // that stops waiting for a hanging one must not lose the others), even when shutting
        // down.
        if !outbox.record(std::mem::take(&mut settled)).await? {
            return Ok(tally);
        }
        while let Some(joined) = flight.join_next_with_id().await {
            let done = settle(&sink, &sender, joined, &mut in_flight, &mut tally, &metrics);
            last_send = Some(tokio::time::Instant::now());
            if !outbox.record(vec![done]).await? {
                return Ok(tally);
            }
        }
        if cancel.is_cancelled() {
            return Ok(tally);
        }
    }
}

/// A node's claim on a sink on a shared database: its outbox is drained by one node at a time,
/// so messages keep their order and the sink's `rate` holds across nodes.
#[derive(Debug, Clone)]
pub struct SinkLease {
    /// This node.
    pub node: Arc<str>,
    /// How long a claim lasts without renewal (`[daemon] lease`).
    pub lease: Duration,
}

/// Claim or renew the sink's lease (at most every third of the lease unless `now`); `None`
/// when cancelled while the database was failing.
async fn hold(
    outbox: &Outbox<'_>,
    l: &SinkLease,
    held_since: &mut Option<tokio::time::Instant>,
    now: bool,
) -> Result<Option<bool>, DeliverError> {
    if !now && held_since.is_some_and(|t| t.elapsed() < l.lease / 3) {
        return Ok(Some(true));
    }
    let Some(held) = outbox.call(|| outbox.store.claim_sink(outbox.sink, &l.node, l.lease)).await? else {
        return Ok(None);
    };
    match (held, held_since.is_some()) {
        (true, false) => {
            tracing::info!(sink = %outbox.sink, node = %l.node, "this node delivers to the sink now (sink lease taken)");
            outbox.metrics.inc(Counter::LeasesTaken, &[("node", &l.node), ("kind", "sink")], 1);
        }
        (false, true) => {
            tracing::warn!(sink = %outbox.sink, node = %l.node, "lost the sink's lease; another node delivers to it now")
        }
        _ => {}
    }
    *held_since = held.then(tokio::time::Instant::now);
    Ok(Some(held))
}

/// Turn a finished send into what the outbox records, counting and logging it.
fn settle(
    sink: &str,
    sender: &Sender,
    joined: Result<(tokio::task::Id, (OutboxAlert, Outcome)), tokio::task::JoinError>,
    in_flight: &mut HashMap<tokio::task::Id, (String, u32)>,
    tally: &mut Tally,
    metrics: &Metrics,
) -> (String, Attempted) {
    let (id, attempts, outcome) = match joined {
        Ok((task, (alert, outcome))) => {
            in_flight.remove(&task);
            (alert.id, alert.attempts, outcome)
        }
        // A send that panicked is a bug; the alert is retried like a failed attempt.
        Err(e) => {
            let (id, attempts) = in_flight.remove(&e.id()).unwrap_or_default();
            (id, attempts, Outcome::Retry { after: None, error: format!("delivery task failed: {e}") })
        }
    };
    let attempt = attempts + 1;
    let recorded = match outcome {
        Outcome::Delivered => {
            tally.delivered += 1;
            tracing::info!(sink = %sink, alert = %id, attempt, "alert delivered");
            Attempted::Delivered
        }
        Outcome::Retry { after, error } if attempt < sender.max_attempts => {
            let delay = backoff(attempts, after, &id);
            tally.retried += 1;
            tracing::warn!(
                sink = %sink, alert = %id, attempt, retry_in = ?delay, error = %error,
                "alert delivery failed; will retry"
            );
            Attempted::Retry { after: delay, error }
        }
        Outcome::Retry { error, .. } => {
            let error = format!("gave up after {} attempts: {error}", sender.max_attempts);
            tally.dead += 1;
            tracing::error!(sink = %sink, alert = %id, error = %error, "alert is dead");
            Attempted::Dead(error)
        }
        Outcome::Dead(error) => {
            tally.dead += 1;
            tracing::error!(sink = %sink, alert = %id, error = %error, "alert rejected by sink; marked dead");
            Attempted::Dead(error)
        }
    };
    metrics.inc(Counter::Deliveries, &[("sink", sink), ("outcome", recorded.label())], 1);
    (id, recorded)
}

/// Wait until `ready` (if set); false when cancelled meanwhile.
async fn pace(ready: Option<tokio::time::Instant>, cancel: &CancellationToken) -> bool {
    // A time already reached must not go to the timer: it rounds the deadline up to its next
    // millisecond tick, and so would cost up to a millisecond per message.
    let Some(ready) = ready.filter(|at| *at > tokio::time::Instant::now()) else { return true };
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep_until(ready) => true,
    }
}

/// Classify an HTTP response status for retrying: 2xx delivered; 408, 429 and 5xx retried;
/// any other status is permanent.
pub fn classify_status(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let snippet: String = body.chars().take(200).collect();
    match status {
        200..=299 => Outcome::Delivered,
        408 | 429 | 500..=599 => {
            Outcome::Retry { after: retry_after, error: format!("HTTP {status} {snippet}").trim().to_string() }
        }
        410 => Outcome::Dead(format!("HTTP 410 Gone: the endpoint no longer exists {snippet}").trim().to_string()),
        _ => Outcome::Dead(format!("HTTP {status} {snippet}").trim().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_hints() {
        let d0 = backoff(0, None, "a");
        assert!(d0 >= Duration::from_millis(800) && d0 <= Duration::from_millis(1200), "{d0:?}");
        let d3 = backoff(3, None, "a");
        assert!(d3 >= Duration::from_millis(6400) && d3 <= Duration::from_millis(9600), "{d3:?}");
        assert!(backoff(30, None, "a") <= MAX_BACKOFF.mul_f64(1.2));
        assert!(backoff(0, Some(Duration::from_secs(30)), "a") >= Duration::from_secs(30));
    }

    #[test]
    fn a_hint_beyond_the_longest_backoff_counts_as_the_longest_backoff() {
        // `429, Retry-After: 4000000000` would otherwise park an alert until 2153.
        for hint in [Duration::from_secs(4_000_000_000), Duration::MAX, MAX_BACKOFF + Duration::from_secs(1)] {
            let d = backoff(3, Some(hint), "a");
            assert!(d >= MAX_BACKOFF && d <= MAX_BACKOFF + Duration::from_secs(1), "{hint:?} -> {d:?}");
        }
    }

    #[tokio::test]
    async fn pacing_to_a_time_already_reached_does_not_wait_for_the_timer() {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let cancel = CancellationToken::new();
        // The spacing of a sink without `rate`: the last send plus zero, i.e. now.
        for ready in [None, Some(tokio::time::Instant::now())] {
            let fut = pace(ready, &cancel);
            let mut fut = std::pin::pin!(fut);
            assert_eq!(fut.as_mut().poll(&mut Context::from_waker(Waker::noop())), Poll::Ready(true), "{ready:?}");
        }
        // A time still ahead is waited for, unless cancelled.
        let ahead = tokio::time::Instant::now() + Duration::from_secs(60);
        let fut = pace(Some(ahead), &cancel);
        let mut fut = std::pin::pin!(fut);
        assert_eq!(fut.as_mut().poll(&mut Context::from_waker(Waker::noop())), Poll::Pending);
        cancel.cancel();
        assert_eq!(fut.as_mut().poll(&mut Context::from_waker(Waker::noop())), Poll::Ready(false));
    }

    #[test]
    fn statuses_are_classified_like_lychee() {
        assert_eq!(classify_status(204, None, ""), Outcome::Delivered);
        assert!(matches!(classify_status(500, None, ""), Outcome::Retry { .. }));
        assert!(matches!(classify_status(503, None, ""), Outcome::Retry { .. }));
        assert!(matches!(classify_status(408, None, ""), Outcome::Retry { .. }));
        assert_eq!(
            classify_status(429, Some(Duration::from_secs(7)), "slow down"),
            Outcome::Retry { after: Some(Duration::from_secs(7)), error: "HTTP 429 slow down".into() }
        );
        assert!(matches!(classify_status(400, None, "bad"), Outcome::Dead(e) if e == "HTTP 400 bad"));
        assert!(matches!(classify_status(410, None, ""), Outcome::Dead(_)));
    }
}
