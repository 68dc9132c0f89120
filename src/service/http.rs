//! The `daemon.listen` endpoint: `GET /healthz` (JSON status, 503 when stuck) and
//! `GET /metrics` (Prometheus text). A minimal HTTP/1.1 responder: one request per connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

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

/// The /healthz verdict and JSON body.
pub async fn health(ctx: &Context) -> (bool, String) {
    let mut problems = Vec::new();
    let stuck = ctx.metrics.since_heartbeat();
    if stuck > SCHEDULER_STUCK_AFTER {
        problems.push(format!("scheduler has not run for {stuck} s"));
    }
    // Once any query found the file damaged, this stays (the file will not heal by itself).
    if let Some(damage) = ctx.store.damage() {
        problems.push(damage);
    }
    let (feeds_total, feeds_failing) = match ctx.store.feed_statuses().await {
        Ok(f) => (f.len(), f.iter().filter(|s| s.consecutive_failures > 0).count()),
        Err(e) => {
            // A damaged file is listed once, above.
            if !e.is_damaged() {
                problems.push(format!("database: {e}"));
            }
            (0, 0)
        }
    };
    let (pending, oldest_age) = match ctx.store.pending_summary().await {
        Ok((per_sink, oldest)) => {
            let age = oldest.map(|t| (chrono::Utc::now() - t).num_seconds().max(0));
            (per_sink.iter().map(|(_, n)| n).sum::<u64>(), age)
        }
        Err(e) => {
            // A damaged file is listed once, above.
            if !e.is_damaged() {
                problems.push(format!("database: {e}"));
            }
            (0, None)
        }
    };
    if let Some(age) = oldest_age {
        if age as u64 > ctx.max_outbox_age.as_secs() {
            problems.push(format!("oldest pending alert is {age} s old"));
        }
    }
    let ok = problems.is_empty();
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "unhealthy" },
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": ctx.metrics.uptime().as_secs(),
        "feeds": { "total": feeds_total, "ok": feeds_total - feeds_failing, "failing": feeds_failing },
        "outbox": { "pending": pending, "oldest_pending_age_seconds": oldest_age },
        "problems": problems,
    });
    (ok, body.to_string() + "\n")
}

async fn metrics(ctx: &Context) -> String {
    let mut gauges = Vec::new();
    if let Ok((per_sink, oldest)) = ctx.store.pending_summary().await {
        let values = per_sink.iter().map(|(s, n)| (gauge_labels(&[("sink", s)]), *n as f64)).collect();
        gauges.push(("pantau_outbox_pending", "Alerts waiting for delivery, by sink.", values));
        let age = oldest.map_or(0.0, |t| (chrono::Utc::now() - t).num_seconds().max(0) as f64);
        gauges.push((
            "pantau_outbox_oldest_age_seconds",
            "Age of the oldest pending alert.",
            vec![(String::new(), age)],
        ));
    }
    if let Ok(rows) = ctx.store.alert_counts_by_sink().await {
        let values = rows
            .iter()
            .map(|(sink, state, n)| (gauge_labels(&[("sink", sink), ("state", state)]), *n as f64))
            .collect();
        gauges.push(("pantau_alerts", "Alerts in the database, by sink and state.", values));
    }
    if let Ok(c) = ctx.store.outbox_counts().await {
        gauges.push(("pantau_outbox_dead", "Alerts given up on.", vec![(String::new(), c.dead as f64)]));
    }
    if let Ok(feeds) = ctx.store.feed_statuses().await {
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
