//! The commands of CONTRACT §1 that `main` dispatches to; each returns its exit code.
//!
//! Command output goes to stdout, logs to stderr.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::config::{self, Config, ConfigErrors};
use crate::fetch::{Fetched, Fetcher, Validators};
use crate::model::{self, ParsedFeed};
use crate::{daemon, parse};

fn load_or_report(path: &Path) -> Option<Config> {
    match config::load(path) {
        Ok(c) => Some(c),
        Err(ConfigErrors(errors)) => {
            for e in &errors {
                eprintln!("{}", e.render());
            }
            eprintln!("pantau: {} error(s) in {}; nothing started (run `pantau check` after fixing)", errors.len(), path.display());
            None
        }
    }
}

/// `pantau check`: 0 valid, 2 invalid; every problem printed as `PATH:LINE:COL: message`.
pub fn check(path: &Path) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match config::load(path) {
        Ok(c) => {
            for w in &c.warnings {
                let _ = writeln!(out, "{}", w.render());
            }
            let _ = writeln!(
                out,
                "{}: ok ({} feeds, {} rules, {} sinks{})",
                path.display(),
                c.feeds.len(),
                c.rules.len(),
                c.sinks.len(),
                if c.warnings.is_empty() { String::new() } else { format!(", {} warnings", c.warnings.len()) }
            );
            ExitCode::SUCCESS
        }
        Err(ConfigErrors(errors)) => {
            for e in &errors {
                let _ = writeln!(out, "{}", e.render());
            }
            let _ = writeln!(out, "{}: {} error(s)", path.display(), errors.len());
            ExitCode::from(2)
        }
    }
}

/// `pantau run`: the daemon until SIGTERM/SIGINT; 0 after a clean shutdown, 1 on a fatal error.
pub async fn run(path: &Path) -> ExitCode {
    let Some(config) = load_or_report(path) else { return ExitCode::from(1) };
    let shutdown = CancellationToken::new();
    let daemon = daemon::run(config, shutdown.clone());
    tokio::pin!(daemon);
    let result = loop {
        tokio::select! {
            r = &mut daemon => break r,
            sig = shutdown_signal(), if !shutdown.is_cancelled() => {
                tracing::info!(signal = sig, "shutting down");
                shutdown.cancel();
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "pantau stopped on a fatal error");
            ExitCode::from(1)
        }
    }
}

/// Wait for SIGTERM or SIGINT and name it.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// `pantau once`: one cycle of every feed, then delivery; 0 when the cycle completed.
pub async fn once(path: &Path) -> ExitCode {
    let Some(config) = load_or_report(path) else { return ExitCode::from(1) };
    match daemon::once(config).await {
        Ok(r) => {
            tracing::info!(
                feeds_ok = r.feeds_ok, feeds_failed = r.feeds_failed.len(), new_items = r.new_items,
                new_alerts = r.new_alerts, delivered = r.delivered, dead = r.dead, pending = r.pending,
                "cycle complete"
            );
            if !r.feeds_failed.is_empty() {
                tracing::warn!(feeds = ?r.feeds_failed, "some feeds failed; see the warnings above");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "cycle failed");
            ExitCode::from(1)
        }
    }
}

/// `pantau parse URL_OR_FILE [--json]`: 0 parsed, 1 failed.
pub async fn parse(source: &str, json: bool) -> ExitCode {
    let (bytes, base) = if source.starts_with("http://") || source.starts_with("https://") {
        let fetcher = match Fetcher::new(std::time::Duration::from_secs(30), 10 * 1024 * 1024) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("pantau: {e}");
                return ExitCode::from(1);
            }
        };
        match fetcher.fetch(source, &[], &Validators::default()).await {
            Ok(Fetched::Body { body, final_url, .. }) => (body, Some(final_url)),
            Ok(Fetched::NotModified) => {
                eprintln!("pantau: {source}: unexpected 304 Not Modified");
                return ExitCode::from(1);
            }
            Err(e) => {
                eprintln!("pantau: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        let path = source.strip_prefix("file://").unwrap_or(source);
        match std::fs::read(path) {
            Ok(b) => (b, None),
            Err(e) => {
                eprintln!("pantau: cannot read {path}: {e}");
                return ExitCode::from(1);
            }
        }
    };
    let feed = match parse::parse_feed(&bytes, base.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pantau: {source}: {e}");
            return ExitCode::from(1);
        }
    };
    let text = if json { to_json(&feed) } else { to_text(&feed) };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    ExitCode::SUCCESS
}

/// The `parse --json` object of CONTRACT §1.
pub fn to_json(feed: &ParsedFeed) -> String {
    let items: Vec<serde_json::Value> = feed
        .items
        .iter()
        .map(|i| {
            serde_json::json!({
                "id": i.id,
                "title": i.title,
                "link": i.link,
                "published": i.published.map(model::rfc3339),
                "updated": i.updated.map(model::rfc3339),
                "authors": i.authors,
                "categories": i.categories,
                "summary": i.summary,
                "content": i.content,
            })
        })
        .collect();
    let v = serde_json::json!({ "title": feed.title, "link": feed.link, "items": items });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

fn to_text(feed: &ParsedFeed) -> String {
    let mut s = format!(
        "{} ({})\n{} items\n",
        feed.title.as_deref().unwrap_or("(untitled feed)"),
        feed.link.as_deref().unwrap_or("no link"),
        feed.items.len()
    );
    for i in &feed.items {
        s.push_str(&format!("\n* {}\n", if i.title.is_empty() { "(no title)" } else { &i.title }));
        s.push_str(&format!("  id:        {}\n", i.id));
        if let Some(l) = &i.link {
            s.push_str(&format!("  link:      {l}\n"));
        }
        if let Some(d) = i.published.or(i.updated) {
            s.push_str(&format!("  date:      {}\n", model::rfc3339(d)));
        }
        if !i.authors.is_empty() {
            s.push_str(&format!("  authors:   {}\n", i.authors.join(", ")));
        }
        if !i.categories.is_empty() {
            s.push_str(&format!("  categories: {}\n", i.categories.join(", ")));
        }
        let text = if i.summary.is_empty() { &i.content } else { &i.summary };
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !flat.is_empty() {
            s.push_str(&format!("  summary:   {}\n", model::truncate_chars(&flat, 200)));
        }
    }
    s
}
