//! The `daemon.listen` endpoint: `GET /healthz` (JSON status, 503 when stuck) and
//! `GET /metrics` (Prometheus text). A minimal HTTP/1.1 responder: one request per connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::health;
use super::metrics::{gauge_labels, Metrics};
use crate::store::Store;

/// When the scheduler loop has not gone round for this long, /healthz says it is stuck.
pub const SCHEDULER_STUCK_AFTER: i64 = 180;

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
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if conns.len() < 64 => {
                    let ctx = ctx.clone();
                    conns.spawn(async move {
                        let _ = tokio::time::timeout(Duration::from_secs(10), handle(stream, &ctx)).await;
                    });
                }
                Ok(_) => tracing::warn!("too many open health/metrics connections; dropping one"),
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a health/metrics connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    conns.abort_all();
}

async fn handle(mut stream: TcpStream, ctx: &Context) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, ctype, body) = match (method, path) {
        ("GET", "/healthz") => {
            let (ok, json) = health(ctx).await;
            (if ok { "200 OK" } else { "503 Service Unavailable" }, "application/json", json)
        }
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics(ctx).await),
        ("GET", _) => {
            ("404 Not Found", "text/plain; charset=utf-8", "not found: try /healthz or /metrics\n".to_string())
        }
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
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
    let degraded = !troubles.is_empty();
    problems.extend(troubles);
    unhealthy |= stuck_tasks;
    let feeds = match tokio::time::timeout(QUERY_BUDGET, ctx.store.feed_statuses()).await {
        Ok(Ok(f)) => {
            let failing = f.iter().filter(|s| s.consecutive_failures > 0).count();
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
            .map(|(sink, state, n)| (gauge_labels(&[("sink", sink), ("state", state)]), *n as f64))
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
