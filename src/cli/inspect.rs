//! `pantau feeds`, `pantau alerts` and `pantau redeliver`: the operator's view of the database.
//!
//! These commands open the database without the single-instance lock, so they work while the
//! daemon runs (SQLite's WAL mode lets them read and write beside it).

use std::io::Write;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::table;
use crate::config::Config;
use crate::model::{rfc3339, truncate_chars, AlertState, PollStatus};
use crate::secrets::{redact_url, scrub, RedactedUrl};
use crate::store::{ArticleState, Redelivered, Store};

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "never".to_string(), rfc3339)
}

/// Print `value` as pretty JSON on stdout (secrets scrubbed, as everywhere).
fn print_json(value: &serde_json::Value) {
    let raw = serde_json::to_string_pretty(value).unwrap_or_default();
    let text = scrub(&raw);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

fn ts(t: Option<DateTime<Utc>>) -> serde_json::Value {
    t.map_or(serde_json::Value::Null, |t| serde_json::Value::String(rfc3339(t)))
}

/// `pantau feeds`: one row per configured feed (and per feed still in the database); with
/// `json`, one object per feed with every field, errors in full.
pub async fn feeds(config: &Config, store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let statuses = store.feed_statuses().await?;
    if json {
        let mut list = Vec::new();
        let mut names: Vec<&str> = config.feeds.iter().map(|f| f.name.as_str()).collect();
        names.extend(statuses.iter().map(|s| s.name.as_str()).filter(|n| !config.feeds.iter().any(|f| f.name == *n)));
        for name in names {
            let configured = config.feeds.iter().find(|f| f.name == name);
            let s = statuses.iter().find(|s| s.name == name);
            let url = configured.map(|f| f.url.as_str()).or_else(|| s.map(|s| s.url.as_str())).unwrap_or_default();
            list.push(serde_json::json!({
                "name": name,
                "url": redact_url(url).to_string(),
                "configured": configured.is_some(),
                "enabled": configured.is_some_and(|f| f.enabled),
                "last_status": s.and_then(|s| s.last_status).map(|l| l.to_string()),
                "last_attempt_at": ts(s.and_then(|s| s.last_attempt_at)),
                "last_success_at": ts(s.and_then(|s| s.last_success_at)),
                "consecutive_failures": s.map_or(0, |s| s.consecutive_failures),
                "next_poll_at": ts(s.and_then(|s| s.next_poll_at)),
                "items": s.map_or(0, |s| s.items),
                "last_error": s.and_then(|s| s.last_error.clone()),
                "recoveries": s.and_then(|s| s.recoveries.clone()),
                "moved_to": s.and_then(|s| s.moved_to.as_deref().map(|m| redact_url(m).to_string())),
                "fetch_article": configured.is_some_and(|f| f.fetch_article),
                "articles_fetched": s.map_or(0, |s| s.articles_fetched),
                "article_failures": s.map_or(0, |s| s.article_failures),
                "last_article_error": s.and_then(|s| s.last_article_error.clone()),
            }));
        }
        print_json(&serde_json::Value::Array(list));
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    let mut names: Vec<&str> = config.feeds.iter().map(|f| f.name.as_str()).collect();
    for s in &statuses {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    let mut problems = Vec::new();
    for name in names {
        let configured = config.feeds.iter().find(|f| f.name == name);
        let status = statuses.iter().find(|s| s.name == name);
        let url = configured.map(|f| f.url.as_str()).or_else(|| status.map(|s| s.url.as_str())).unwrap_or_default();
        let url = redact_url(url);
        let state = match (configured, status) {
            (None, _) => "removed".to_string(),
            (Some(f), _) if !f.enabled => "disabled".to_string(),
            (_, Some(s)) if s.last_status.is_some_and(PollStatus::is_gone) => "gone".to_string(),
            (_, Some(s)) if s.consecutive_failures > 0 => "failing".to_string(),
            (_, Some(s)) if s.last_success_at.is_some() => "ok".to_string(),
            _ => "new".to_string(),
        };
        let (last, ok, errors, next, items, last_status) = match status {
            Some(s) => (
                when(s.last_attempt_at),
                when(s.last_success_at),
                s.consecutive_failures.to_string(),
                if configured.is_some_and(|f| f.enabled) {
                    when(s.next_poll_at).replace("never", "at start")
                } else {
                    "-".into()
                },
                s.items.to_string(),
                s.last_status.map_or_else(|| "-".into(), |l| l.to_string()),
            ),
            None => ("never".into(), "never".into(), "0".into(), "at start".into(), "0".into(), "-".into()),
        };
        if let Some(s) = status {
            if let Some(err) = &s.last_error {
                problems.push(format!("{name}: {}", scrub(err)));
            }
            if let Some(r) = &s.recoveries {
                problems.push(format!("{name}: read after repairs: {r}"));
            }
            if let Some(m) = &s.moved_to {
                problems.push(format!("{name}: moved permanently to {} (update the config)", RedactedUrl(m)));
            }
            if s.article_failures > 0 {
                let last = s.last_article_error.as_deref().map(|e| format!("; last: {}", scrub(e))).unwrap_or_default();
                problems.push(format!(
                    "{name}: {} of {} article page(s) not read{last}",
                    s.article_failures,
                    s.article_failures + s.articles_fetched
                ));
            }
        }
        let articles = match (configured.is_some_and(|f| f.fetch_article), status) {
            (true, Some(s)) => format!("{}/{}", s.articles_fetched, s.articles_fetched + s.article_failures),
            (true, None) => "0/0".into(),
            (false, _) => "-".into(),
        };
        rows.push(vec![name.to_string(), url, state, last_status, last, ok, errors, next, items, articles]);
    }
    let mut out = std::io::stdout().lock();
    let header =
        ["NAME", "URL", "STATE", "STATUS", "LAST POLL", "LAST SUCCESS", "ERRORS", "NEXT POLL", "ITEMS", "ARTICLES"];
    let _ = out.write_all(table::render(&header, &rows).as_bytes());
    if !problems.is_empty() {
        let _ = writeln!(out);
        for p in problems {
            let _ = writeln!(out, "{p}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `pantau nodes [--json]`: every node that ran on this database, the most recently alive
/// first: when it started and last beat, whether it is live (beat within three leases), the
/// live leases it holds (feeds being polled and sinks being drained; none on SQLite, where one
/// node does all the work) and the hash of its config,
/// with `*` where it differs from the config file read now.
pub async fn nodes(config: &Config, store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let nodes = store.nodes().await?;
    let held = store.leases_held().await?;
    let leases = |n: &crate::store::NodeRow| held.get(&n.name).copied().unwrap_or(0);
    let now = Utc::now();
    let live = |n: &crate::store::NodeRow| crate::daemon::node_alive(n.heartbeat_at, now, config.daemon.lease);
    if json {
        let list = nodes
            .iter()
            .map(|n| {
                serde_json::json!({
                    "name": n.name,
                    "started_at": rfc3339(n.started_at),
                    "heartbeat_at": rfc3339(n.heartbeat_at),
                    "live": live(n),
                    "leases": leases(n),
                    "config_hash": n.config_hash,
                    "same_config": n.config_hash == config.hash,
                })
            })
            .collect();
        print_json(&serde_json::Value::Array(list));
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    if nodes.is_empty() {
        let _ = writeln!(out, "no node has run on this database yet");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = nodes
        .iter()
        .map(|n| {
            let mark = if n.config_hash == config.hash { "" } else { " *" };
            vec![
                n.name.clone(),
                if live(n) { "live" } else { "gone" }.to_string(),
                rfc3339(n.started_at),
                rfc3339(n.heartbeat_at),
                leases(n).to_string(),
                format!("{}{mark}", truncate_chars(&n.config_hash, 12)),
            ]
        })
        .collect();
    let header = ["NODE", "STATE", "STARTED", "LAST HEARTBEAT", "LEASES", "CONFIG"];
    let _ = out.write_all(table::render(&header, &rows).as_bytes());
    if nodes.iter().any(|n| n.config_hash != config.hash) {
        let _ = writeln!(out, "\n* runs another config than {} holds now", config.path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `pantau alerts [--failed] [--limit N] [--json]`; the JSON carries every error in full.
pub async fn alerts(store: &Store, failed: bool, limit: usize, json: bool) -> anyhow::Result<ExitCode> {
    let rows = store.recent_alerts(failed, limit).await?;
    if json {
        let list = rows
            .iter()
            .map(|a| {
                serde_json::json!({
                    "id": a.id, "created_at": rfc3339(a.created_at), "state": a.state.as_str(), "attempts": a.attempts,
                    "rule": a.rule, "sink": a.sink, "feed": a.feed, "title": a.title, "link": a.link,
                    "next_attempt_at": ts(a.next_attempt_at), "last_error": a.last_error.as_deref().map(scrub),
                })
            })
            .collect();
        print_json(&serde_json::Value::Array(list));
        return Ok(ExitCode::SUCCESS);
    }
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|a| {
            let error = a.last_error.as_deref().map(scrub);
            let detail = match (a.state, error, a.next_attempt_at) {
                (AlertState::Pending, Some(e), Some(n)) => {
                    format!("retry at {}: {}", rfc3339(n), truncate_chars(&e, 80))
                }
                (_, Some(e), _) => truncate_chars(&e, 80),
                _ => String::new(),
            };
            vec![
                a.id.clone(),
                rfc3339(a.created_at),
                a.state.to_string(),
                a.attempts.to_string(),
                a.rule.clone(),
                a.sink.clone(),
                a.feed.clone(),
                if a.story == 0 { "-".into() } else { story_cell(a.story, a.copies) },
                truncate_chars(&a.title, 60),
                detail,
            ]
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if rows.is_empty() {
        let _ = writeln!(out, "{}", if failed { "no failed alerts" } else { "no alerts yet" });
    } else {
        let header = ["ID", "CREATED", "STATE", "ATTEMPTS", "RULE", "SINK", "FEED", "STORY", "TITLE", "LAST ERROR"];
        let _ = out.write_all(table::render(&header, &table_rows).as_bytes());
    }
    Ok(ExitCode::SUCCESS)
}

/// A story id, with the number of other copies when there are any: `12 (+2)`.
fn story_cell(story: i64, copies: u32) -> String {
    if copies == 0 {
        story.to_string()
    } else {
        format!("{story} (+{copies})")
    }
}

/// `pantau redeliver ID…|--failed`: 0 when every named alert is queued, 1 when an id is unknown.
pub async fn redeliver(store: &Store, ids: Vec<String>, failed: bool) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut code = ExitCode::SUCCESS;
    let mut queued = 0;
    if failed {
        let n = store.redeliver_dead().await?;
        queued += n;
        let _ = writeln!(out, "{n} dead alert(s) queued for delivery");
    }
    for (id, result) in store.redeliver(ids).await? {
        let msg = match result {
            Redelivered::Requeued => "queued for delivery",
            Redelivered::RequeuedDelivered => "was delivered; queued for delivery again",
            Redelivered::AlreadyPending => "is already pending",
            Redelivered::Unknown => {
                code = ExitCode::from(1);
                "no such alert (see `pantau alerts`)"
            }
        };
        if matches!(result, Redelivered::Requeued | Redelivered::RequeuedDelivered) {
            queued += 1;
        }
        let _ = writeln!(out, "{id}: {msg}");
    }
    // Only when something was queued is there anything for a daemon to pick up.
    if queued > 0 {
        let _ = writeln!(out, "a running daemon picks them up within a minute; `pantau once` delivers them now");
    }
    Ok(code)
}

/// `pantau items [--feed F] [--limit N] [--story ID] [--json]`: the newest stored items, or
/// the copies of one story (its first item first).
pub async fn items(
    store: &Store,
    feed: Option<String>,
    limit: usize,
    story: Option<i64>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let rows = match story {
        Some(id) => store.story_items(id, limit).await?,
        None => store.recent_items(feed, limit).await?,
    };
    if json {
        let list = rows
            .iter()
            .map(|i| {
                let article = match &i.article {
                    ArticleState::None => serde_json::Value::Null,
                    ArticleState::Pending { attempts, error } => {
                        serde_json::json!({ "state": "pending", "attempts": attempts, "error": error })
                    }
                    ArticleState::Fetched { chars } => serde_json::json!({ "state": "fetched", "bytes": chars }),
                    ArticleState::Failed { error } => serde_json::json!({ "state": "failed", "error": error }),
                };
                serde_json::json!({
                    "feed": i.feed, "first_seen_at": rfc3339(i.first_seen_at), "key": i.key, "title": i.title,
                    "link": i.link, "published": ts(i.published), "alerts": i.alerts, "pruned": i.pruned,
                    "article": article,
                })
            })
            .collect();
        print_json(&serde_json::Value::Array(list));
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    if rows.is_empty() {
        let _ = writeln!(out, "no items yet");
        return Ok(ExitCode::SUCCESS);
    }
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|i| {
            vec![
                rfc3339(i.first_seen_at),
                i.feed.clone(),
                i.published.map_or_else(|| "-".into(), rfc3339),
                i.alerts.to_string(),
                story_cell(i.story, i.copies),
                truncate_chars(&i.title, 70) + if i.pruned { " (body pruned)" } else { "" },
                i.link.clone().unwrap_or_default(),
                truncate_chars(&i.article.to_string(), 90),
            ]
        })
        .collect();
    let header = ["FIRST SEEN", "FEED", "PUBLISHED", "ALERTS", "STORY", "TITLE", "LINK", "ARTICLE"];
    let _ = out.write_all(table::render(&header, &table_rows).as_bytes());
    Ok(ExitCode::SUCCESS)
}
