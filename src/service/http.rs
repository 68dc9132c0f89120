//! The `daemon.listen` endpoint: `GET /healthz` (JSON status, 503 when stuck) and
//! `GET /metrics` (Prometheus text); `HEAD` answers the same without the body.
//!
//! HTTP/1.1 is hyper's server (keep-alive, pipelining, request bodies, HEAD). What is pantau's:
//! a connection that has not sent a whole request head within [`HEADER_READ_TIMEOUT`] (also
//! between keep-alive requests) is closed, and at most [`MAX_CONNECTIONS`] are held, the oldest
//! closed to make room for the newest: idle connections cannot lock a probe out, because a
//! probe's connection is the newest and answers in milliseconds. Closed connections are counted
//! in `pantau_http_connections_dropped_total` and logged at most once per [`DROP_LOG_EVERY`].

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::health;
use super::metrics::{gauge_labels, Counter, Metrics};
use crate::store::Store;

/// When the scheduler loop has not gone round for this long, /healthz says it is stuck.
pub const SCHEDULER_STUCK_AFTER: i64 = 180;

/// Connections held at once; one more closes the oldest.
pub const MAX_CONNECTIONS: usize = 128;

/// How long a connection may take to send a request head, the first or the next on keep-alive.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Closed connections are logged at most this often (every one is counted).
pub const DROP_LOG_EVERY: Duration = Duration::from_secs(60);

/// The counter of connections pantau closed, by reason: `evicted` (the oldest, for a new one) or
/// `header_timeout` (no request head in time). A keep-alive connection that was answered and then
/// left idle also ends by the header timeout; that is its normal end, not counted.
pub const DROPPED: Counter = Counter::HttpConnectionsDropped;

/// What the endpoints read.
#[derive(Clone)]
pub struct Context {
    /// The database.
    pub store: Store,
    /// The counters.
    pub metrics: Arc<Metrics>,
    /// A pending alert older than this makes /healthz answer 503.
    pub max_outbox_age: Duration,
}

/// Serve until `cancel` fires.
pub async fn serve(listener: TcpListener, ctx: Context, cancel: CancellationToken) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).max_buf_size(64 * 1024);
    let mut conns = JoinSet::new();
    // The connections alive, oldest first.
    let mut alive: VecDeque<(tokio::task::Id, AbortHandle)> = VecDeque::new();
    let mut drops = DropLog::default();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            Some(done) = conns.join_next_with_id(), if !conns.is_empty() => {
                let id = match done {
                    Ok((id, timed_out)) => {
                        if timed_out {
                            ctx.metrics.inc(DROPPED, &[("reason", "header_timeout")], 1);
                        }
                        id
                    }
                    Err(e) => e.id(),
                };
                alive.retain(|(i, _)| *i != id);
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if alive.len() >= MAX_CONNECTIONS {
                        if let Some((_, oldest)) = alive.pop_front() {
                            oldest.abort();
                            ctx.metrics.inc(DROPPED, &[("reason", "evicted")], 1);
                            drops.note();
                        }
                    }
                    let ctx = ctx.clone();
                    // Requests answered on this connection: a timeout after one is an idle end.
                    let answered = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    let seen = Arc::clone(&answered);
                    let conn = http.serve_connection(
                        TokioIo::new(stream),
                        hyper::service::service_fn(move |req| {
                            let ctx = ctx.clone();
                            seen.store(true, std::sync::atomic::Ordering::Relaxed);
                            async move { Ok::<_, Infallible>(respond(&ctx, &req).await) }
                        }),
                    );
                    let handle = conns.spawn(async move {
                        match conn.await {
                            Ok(()) => false,
                            Err(e) => {
                                tracing::debug!(error = %e, "a health/metrics connection ended");
                                e.is_timeout() && !answered.load(std::sync::atomic::Ordering::Relaxed)
                            }
                        }
                    });
                    alive.push_back((handle.id(), handle));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a health/metrics connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    conns.abort_all();
}

/// Logs closed connections at most once per [`DROP_LOG_EVERY`]: the first at once, the rest
/// summed into the next line.
#[derive(Default)]
struct DropLog {
    last: Option<Instant>,
    unlogged: u64,
}

impl DropLog {
    fn note(&mut self) {
        self.unlogged += 1;
        if self.last.is_none_or(|t| t.elapsed() >= DROP_LOG_EVERY) {
            tracing::warn!(
                closed = self.unlogged,
                limit = MAX_CONNECTIONS,
                "too many open health/metrics connections: closed the oldest to make room \
                 (at most one such line per minute; all are counted in {DROPPED})"
            );
            self.last = Some(Instant::now());
            self.unlogged = 0;
        }
    }
}

/// The answer to one request. `HEAD` is answered as `GET`; hyper leaves the body out.
async fn respond(ctx: &Context, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    const TEXT: &str = "text/plain; charset=utf-8";
    let read = req.method() == Method::GET || req.method() == Method::HEAD;
    let (status, ctype, body) = match (read, req.uri().path()) {
        (true, "/healthz") => {
            let (ok, json) = health(ctx).await;
            (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, "application/json", json)
        }
        (true, "/metrics") => (StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8", metrics(ctx).await),
        (true, _) => (StatusCode::NOT_FOUND, TEXT, "not found: try /healthz or /metrics\n".to_string()),
        (false, _) => (StatusCode::METHOD_NOT_ALLOWED, TEXT, "only GET and HEAD\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response.headers_mut().insert(hyper::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    response
}

/// How long /healthz waits for each of its database queries: a busy database must not keep the
/// probe from its answer (what the tasks cannot do is known without asking the database).
pub const QUERY_BUDGET: Duration = Duration::from_secs(2);

/// The /healthz verdict and JSON body. `status` is "ok"; "degraded" while a task cannot use the
/// database (still 200: it retries by itself); "unhealthy" (503) when the scheduler has stopped,
/// the oldest pending alert is too old, the database file is damaged, or a task has failed for
/// longer than [`health::STUCK_AFTER`].
pub async fn health(ctx: &Context) -> (bool, String) {
    let mut problems = Vec::new();
    let mut unhealthy = false;
    let stuck = ctx.metrics.since_heartbeat();
    if stuck > SCHEDULER_STUCK_AFTER {
        problems.push(format!("scheduler has not run for {stuck} s"));
        unhealthy = true;
    }
    if let Some(damage) = ctx.store.damage() {
        problems.push(damage);
        unhealthy = true;
    }
    let (troubles, stuck_tasks) = health::verdict(&ctx.metrics.health.troubles(), chrono::Utc::now());
    let mut degraded = !troubles.is_empty();
    problems.extend(troubles);
    unhealthy |= stuck_tasks;
    if let Some(refused) = ctx.metrics.reload_refused() {
        problems.push(refused);
        degraded = true;
    }
    let feeds = match tokio::time::timeout(QUERY_BUDGET, ctx.store.feed_statuses()).await {
        Ok(Ok(f)) => {
            let failing = f.iter().filter(|s| s.consecutive_failures > 0).count();
            // A failing feed is retried by itself, so it degrades the service, never downs it.
            for s in f.iter().filter(|s| s.consecutive_failures > 0) {
                let error = s.last_error.as_deref().map(crate::secrets::scrub).unwrap_or_default();
                problems.push(format!(
                    "feed {} failing ({} in a row, last {}): {}",
                    s.name,
                    s.consecutive_failures,
                    s.last_status.unwrap_or(crate::model::PollStatus::Error),
                    crate::model::truncate_chars(&error, 200)
                ));
                degraded = true;
            }
            serde_json::json!({ "total": f.len(), "ok": f.len() - failing, "failing": failing })
        }
        Ok(Err(e)) => {
            // A damaged file is listed once, above.
            if !e.is_damaged() {
                problems.push(format!("database: {e}"));
            }
            unhealthy = true;
            serde_json::json!({ "total": null, "ok": null, "failing": null })
        }
        Err(_) => serde_json::json!({ "total": null, "ok": null, "failing": null }),
    };
    let outbox = match tokio::time::timeout(QUERY_BUDGET, ctx.store.pending_summary()).await {
        Ok(Ok((per_sink, oldest))) => {
            let age = oldest.map(|t| (chrono::Utc::now() - t).num_seconds().max(0));
            if let Some(age) = age.filter(|a| *a as u64 > ctx.max_outbox_age.as_secs()) {
                problems.push(format!("oldest pending alert is {age} s old"));
                unhealthy = true;
            }
            let pending = per_sink.iter().map(|(_, n)| n).sum::<u64>();
            serde_json::json!({ "pending": pending, "oldest_pending_age_seconds": age })
        }
        Ok(Err(e)) => {
            // A damaged file is listed once, above.
            if !e.is_damaged() {
                problems.push(format!("database: {e}"));
            }
            unhealthy = true;
            serde_json::json!({ "pending": null, "oldest_pending_age_seconds": null })
        }
        Err(_) => serde_json::json!({ "pending": null, "oldest_pending_age_seconds": null }),
    };
    let status = if unhealthy {
        "unhealthy"
    } else if degraded {
        "degraded"
    } else {
        "ok"
    };
    let body = serde_json::json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": ctx.metrics.uptime().as_secs(),
        "feeds": feeds,
        "outbox": outbox,
        "problems": problems,
    });
    (!unhealthy, body.to_string() + "\n")
}

/// A database query of /metrics, given up after [`QUERY_BUDGET`] (its gauges are left out).
async fn bounded<T>(query: impl std::future::Future<Output = Result<T, crate::store::StoreError>>) -> Option<T> {
    tokio::time::timeout(QUERY_BUDGET, query).await.ok()?.ok()
}

async fn metrics(ctx: &Context) -> String {
    let mut gauges = Vec::new();
    if let Some((per_sink, oldest)) = bounded(ctx.store.pending_summary()).await {
        let values = per_sink.iter().map(|(s, n)| (gauge_labels(&[("sink", s)]), *n as f64)).collect();
        gauges.push(("pantau_outbox_pending", "Alerts waiting for delivery, by sink.", values));
        let age = oldest.map_or(0.0, |t| (chrono::Utc::now() - t).num_seconds().max(0) as f64);
        gauges.push((
            "pantau_outbox_oldest_age_seconds",
            "Age of the oldest pending alert.",
            vec![(String::new(), age)],
        ));
    }
    if let Some(rows) = bounded(ctx.store.alert_counts_by_sink()).await {
        let values = rows
            .iter()
            .map(|(sink, state, n)| (gauge_labels(&[("sink", sink), ("state", state.as_str())]), *n as f64))
            .collect();
        gauges.push(("pantau_alerts", "Alerts in the database, by sink and state.", values));
    }
    if let Some(c) = bounded(ctx.store.outbox_counts()).await {
        gauges.push(("pantau_outbox_dead", "Alerts given up on.", vec![(String::new(), c.dead as f64)]));
    }
    if let Some(feeds) = bounded(ctx.store.feed_statuses()).await {
        let values =
            feeds.iter().map(|f| (gauge_labels(&[("feed", &f.name)]), f64::from(f.consecutive_failures))).collect();
        gauges.push(("pantau_feed_consecutive_failures", "Failed polls since the last success, by feed.", values));
        let values = feeds
            .iter()
            .filter_map(|f| f.last_success_at.map(|t| (gauge_labels(&[("feed", &f.name)]), t.timestamp() as f64)))
            .collect();
        gauges.push((
            "pantau_feed_last_success_timestamp_seconds",
            "Unix time of the last successful poll, by feed.",
            values,
        ));
    }
    ctx.metrics.render(&gauges)
}
