//! The commands of CONTRACT §1 that `main` dispatches to; each returns its exit code.
//!
//! Command output goes to stdout, logs to stderr.

mod inspect;
mod migrate;
mod table;
pub mod test_rule;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::config::{self, Config, ConfigErrors};
use crate::fetch::{Fetched, Fetcher, Validators};
use crate::model::{self, Database, ParsedFeed};
use crate::secrets::scrub;
use crate::store::Store;
use crate::{daemon, opml, parse};

pub use migrate::migrate;

fn load_or_report(path: &Path) -> Option<Config> {
    match config::load(path) {
        Ok(c) => Some(c),
        Err(ConfigErrors(errors)) => {
            for e in &errors {
                eprintln!("{}", scrub(&e.render()));
            }
            eprintln!(
                "pantau: {} error(s) in {}; nothing started (run `pantau check` after fixing)",
                errors.len(),
                path.display()
            );
            None
        }
    }
}

async fn with_store<F, Fut>(path: &Path, f: F) -> ExitCode
where
    F: FnOnce(Config, Store) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    with_store_failing(path, 1, f).await
}

/// [`with_store`], exiting with `failed` when the config or the database cannot be read.
async fn with_store_failing<F, Fut>(path: &Path, failed: u8, f: F) -> ExitCode
where
    F: FnOnce(Config, Store) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    // Only the database is needed: the service's secrets need not be set, and a config with
    // mistakes still names its database.
    let config = match config::load_for_inspection(path) {
        Ok((config, errors)) => {
            if !errors.is_empty() {
                eprintln!(
                    "pantau: note: {} problem(s) in {} (not needed for this command; `pantau check` lists them)",
                    errors.len(),
                    path.display()
                );
            }
            config
        }
        Err(ConfigErrors(errors)) => {
            for e in &errors {
                eprintln!("{}", scrub(&e.render()));
            }
            return ExitCode::from(failed);
        }
    };
    // Inspection reads what a daemon wrote: a database that is not there yet is shown as empty
    // (nothing polled yet) and said so, but never created, so a wrong path (an unset variable,
    // another working directory) leaves no stray empty database behind.
    let database = match &config.daemon.database {
        Database::Sqlite(file) if !file.exists() => {
            eprintln!(
                "pantau: note: no database yet at {} (the `database` of {}); nothing has been polled with this config",
                file.display(),
                path.display()
            );
            Database::Sqlite(std::path::PathBuf::from(":memory:"))
        }
        db => db.clone(),
    };
    let store = match Store::open_database(&database).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pantau: {e}");
            return ExitCode::from(failed);
        }
    };
    match f(config, store).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pantau: {e:#}");
            ExitCode::from(failed)
        }
    }
}

/// What the commands that fetch or parse one thing (`parse`, `article`, `test-rule --feed` and
/// `--url`) take from the config: its fetch deadline and body cap, and `max_items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneOff {
    /// Total deadline of one fetch (`[daemon] timeout`).
    pub timeout: std::time::Duration,
    /// Largest body accepted (`[daemon] max_body`).
    pub max_body: u64,
    /// Most items read from one feed document (`[daemon] max_items`).
    pub max_items: usize,
}

impl Default for OneOff {
    fn default() -> Self {
        OneOff {
            timeout: config::DEFAULT_TIMEOUT,
            max_body: config::DEFAULT_MAX_BODY,
            max_items: parse::DEFAULT_MAX_ITEMS,
        }
    }
}

impl OneOff {
    /// The settings of the config at `path` when it can be read (its other mistakes do not
    /// matter here), else the defaults.
    pub fn from_config(path: &Path) -> OneOff {
        match config::load_for_inspection(path) {
            Ok((c, _)) => {
                OneOff { timeout: c.daemon.timeout, max_body: c.daemon.max_body, max_items: c.daemon.max_items }
            }
            Err(e) => {
                let error = e.0.first().map(|d| scrub(&d.to_string()).into_owned()).unwrap_or_default();
                tracing::debug!(config = %path.display(), %error, "no config read; using the default limits");
                OneOff::default()
            }
        }
    }

    fn fetcher(&self) -> Option<Fetcher> {
        Fetcher::new(self.timeout, self.max_body).map_err(|e| eprintln!("pantau: {e}")).ok()
    }
}

/// `pantau feeds`: the health of every feed.
pub async fn feeds(path: &Path, json: bool) -> ExitCode {
    with_store(path, |config, store| async move { inspect::feeds(&config, &store, json).await }).await
}

/// `pantau nodes [--json]`: the nodes that ran on this database.
pub async fn nodes(path: &Path, json: bool) -> ExitCode {
    with_store(path, |config, store| async move { inspect::nodes(&config, &store, json).await }).await
}

/// `pantau alerts [--failed] [--limit N]`: recent alerts and their delivery state.
pub async fn alerts(path: &Path, failed: bool, limit: usize, json: bool) -> ExitCode {
    with_store(path, |_, store| async move { inspect::alerts(&store, failed, limit, json).await }).await
}

/// `pantau items [--feed F] [--limit N] [--story ID] [--json]`: the newest stored items, or one story's.
pub async fn items(path: &Path, feed: Option<String>, limit: usize, story: Option<i64>, json: bool) -> ExitCode {
    with_store(path, |_, store| async move { inspect::items(&store, feed, limit, story, json).await }).await
}

/// `pantau redeliver ID…|--failed`: put alerts back into the outbox.
pub async fn redeliver(path: &Path, ids: Vec<String>, failed: bool) -> ExitCode {
    with_store(path, |_, store| async move { inspect::redeliver(&store, ids, failed).await }).await
}

/// `pantau import-opml FILE`: `[[feed]]` tables for every feed outline; 0 on success, 1 when
/// the file cannot be read or holds no feed.
pub fn import_opml(file: &Path) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("pantau: cannot read {}: {e}", file.display());
            return ExitCode::from(1);
        }
    };
    let doc = String::from_utf8_lossy(&bytes);
    let feeds = opml::parse(&doc);
    if feeds.is_empty() {
        eprintln!("pantau: {}: no <outline> with an xmlUrl found; is this an OPML file?", file.display());
        return ExitCode::from(1);
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(opml::to_toml(&feeds, &file.display().to_string()).as_bytes());
    ExitCode::SUCCESS
}

/// Exit code of `test-rule` when what it was to match could not be read (a file, a feed, a
/// page, stdin or the database): not "no match" (1), not "invalid query" (2).
pub const INPUT_FAILED: u8 = 3;

/// Exit code of a command line that clap rejects (an unknown flag, a missing argument), as
/// sysexits' EX_USAGE: never confused with a command's own codes.
pub const USAGE: u8 = 64;

/// `pantau test-rule QUERY …`: 0 something matched, 1 nothing matched, 2 the query is invalid,
/// 3 the input could not be read.
pub async fn test_rule(path: &Path, query: &str, lang: Option<&str>, source: test_rule::Source) -> ExitCode {
    use test_rule::Source;
    let Some(rule) = test_rule::compile(query, lang) else { return ExitCode::from(2) };
    match source {
        Source::Text(t) => test_rule::on_text(&rule, &t),
        Source::File(f) => match std::fs::read(&f) {
            Ok(b) => {
                let raw = String::from_utf8_lossy(&b);
                let text = if raw.contains('<') { crate::markup::html_to_text(&raw) } else { raw.into_owned() };
                test_rule::on_text(&rule, &text)
            }
            Err(e) => {
                eprintln!("pantau: cannot read {}: {e}", f.display());
                ExitCode::from(INPUT_FAILED)
            }
        },
        Source::Feed(src) => {
            let Some(feed) = read_feed(&src, &OneOff::from_config(path)).await else {
                return ExitCode::from(INPUT_FAILED);
            };
            test_rule::on_items(&rule, feed.items.iter().map(|i| ("", i)), "items")
        }
        Source::Url(url) => {
            let Some(article) = read_article(&url, None, &OneOff::from_config(path)).await else {
                return ExitCode::from(INPUT_FAILED);
            };
            let item = crate::model::Item {
                title: article.title.clone().unwrap_or_default(),
                link: Some(article.url.clone()),
                article: article.text,
                ..crate::model::Item::default()
            };
            test_rule::on_items(&rule, std::iter::once(("", &item)), "pages")
        }
        Source::History(span) => {
            with_store_failing(path, INPUT_FAILED, |_, store| async move {
                let now = chrono::Utc::now();
                let since = chrono::Duration::from_std(span)
                    .ok()
                    .and_then(|d| now.checked_sub_signed(d))
                    .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
                let items = store.items_since(since, 1_000_000).await?;
                let span = humantime::format_duration(span);
                println!("backtest over {} items first seen in the last {span}\n", items.len());
                Ok(test_rule::on_stories(
                    &rule,
                    items.iter().map(|s| (s.feed.as_str(), &s.item, Some(s.story))),
                    "stored items",
                ))
            })
            .await
        }
    }
}

/// `pantau check`: 0 valid, 2 invalid; every problem printed as `PATH:LINE:COL: message`.
pub fn check(path: &Path) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match config::load(path) {
        Ok(c) => {
            for w in &c.warnings {
                let _ = writeln!(out, "{}", scrub(&w.render()));
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
                let _ = writeln!(out, "{}", scrub(&e.render()));
            }
            let _ = writeln!(out, "{}: {} error(s)", path.display(), errors.len());
            ExitCode::from(2)
        }
    }
}

/// `pantau run`: the daemon until SIGTERM/SIGINT; 0 after a clean shutdown, 1 on a fatal error.
pub async fn run(path: &Path, node: Option<String>) -> ExitCode {
    let Some(config) = load_or_report(path) else { return ExitCode::from(1) };
    let shutdown = CancellationToken::new();
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
    let daemon = daemon::run(config, node.unwrap_or_else(daemon::default_node_name), shutdown.clone(), reload_rx);
    tokio::pin!(daemon);
    let mut hup = hangups();
    let result = loop {
        tokio::select! {
            r = &mut daemon => break r,
            sig = shutdown_signal(), if !shutdown.is_cancelled() => {
                tracing::info!(signal = sig, "shutting down");
                shutdown.cancel();
            }
            Some(()) = next_hangup(&mut hup) => {
                tracing::info!(signal = "SIGHUP", config = %path.display(), "reloading the config");
                let _ = reload_tx.try_send(());
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

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

/// The SIGHUP stream (installed once, so that a SIGHUP never kills the daemon).
fn hangups() -> Hangups {
    #[cfg(unix)]
    {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The next SIGHUP; never resolves when there is no SIGHUP stream.
async fn next_hangup(h: &mut Hangups) -> Option<()> {
    #[cfg(unix)]
    if let Some(s) = h {
        return s.recv().await;
    }
    let _ = h;
    std::future::pending().await
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
pub async fn once(path: &Path, node: Option<String>) -> ExitCode {
    let Some(config) = load_or_report(path) else { return ExitCode::from(1) };
    match daemon::once(config, node.unwrap_or_else(daemon::default_node_name)).await {
        Ok(r) => {
            tracing::info!(
                feeds_ok = r.feeds_ok,
                feeds_failed = r.feeds_failed.len(),
                new_items = r.new_items,
                new_alerts = r.new_alerts,
                delivered = r.delivered,
                dead = r.dead,
                pending = r.pending,
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

/// `pantau parse URL_OR_FILE [--json]`: 0 parsed, 1 failed. The config at `path`, when
/// readable, gives the fetch limits and `max_items`.
pub async fn parse(path: &Path, source: &str, json: bool, articles: bool) -> ExitCode {
    let limits = OneOff::from_config(path);
    let Some(mut feed) = read_feed(source, &limits).await else { return ExitCode::from(1) };
    if articles {
        let Some(fetcher) = limits.fetcher() else { return ExitCode::from(1) };
        let reader = crate::article::Reader { fetcher: &fetcher, proxy: None, selector: None, limits: None };
        for item in &mut feed.items {
            let Some(link) = item.link.clone().filter(|l| l.starts_with("http")) else { continue };
            match reader.read(&link).await {
                Ok(a) => item.article = a.text,
                Err(e) => eprintln!("pantau: article of {:?} not read: {e}", item.title),
            }
        }
    }
    let text = if json { to_json(&feed) } else { to_text(&feed) };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    ExitCode::SUCCESS
}

/// `pantau article`: print the main text pantau extracts from one page; 0 extracted, 1 failed.
/// The config at `path`, when readable, gives the fetch limits.
pub async fn article(path: &Path, source: &str, json: bool, selector: Option<&str>) -> ExitCode {
    if let Some(css) = selector {
        if let Err(e) = crate::article::check_selector(css) {
            eprintln!("pantau: --selector {css:?} is not a CSS selector pantau can use: {e}");
            return ExitCode::from(1);
        }
    }
    let Some(article) = read_article(source, selector, &OneOff::from_config(path)).await else {
        return ExitCode::from(1);
    };
    let mut out = std::io::stdout().lock();
    let text = if json {
        let v = serde_json::json!({
            "url": article.url,
            "title": article.title,
            "text": article.text,
            "pages": article.pages,
            "bytes": article.bytes,
        });
        format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
    } else {
        format!(
            "{}\n{}\n{} page{}, {} bytes of HTML, {} characters of text\n\n{}\n",
            article.title.as_deref().unwrap_or("(no title)"),
            article.url,
            article.pages,
            if article.pages == 1 { "" } else { "s" },
            article.bytes,
            article.text.chars().count(),
            article.text
        )
    };
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    ExitCode::SUCCESS
}

/// Fetch (http/https) or read (a path) one article page and extract it; errors are printed.
async fn read_article(source: &str, selector: Option<&str>, limits: &OneOff) -> Option<crate::article::Article> {
    let result = if source.starts_with("http://") || source.starts_with("https://") {
        let fetcher = limits.fetcher()?;
        crate::article::Reader { fetcher: &fetcher, proxy: None, selector, limits: None }.read(source).await
    } else {
        let path = std::path::PathBuf::from(source.strip_prefix("file://").unwrap_or(source));
        let selector = selector.map(str::to_string);
        tokio::task::spawn_blocking(move || crate::article::read_file(&path, selector.as_deref()))
            .await
            .unwrap_or_else(|e| Err(crate::article::ArticleError::Task(e.to_string())))
    };
    match result {
        Ok(a) => Some(a),
        Err(e) => {
            eprintln!("pantau: {e}");
            None
        }
    }
}

/// Fetch (http/https) or read (a path) one feed and parse it; errors are printed.
async fn read_feed(source: &str, limits: &OneOff) -> Option<ParsedFeed> {
    let (bytes, base, content_type) = if source.starts_with("http://") || source.starts_with("https://") {
        let fetcher = limits.fetcher()?;
        match fetcher.fetch(source, &[], &Validators::default()).await {
            Ok(Fetched::Body { body, final_url, content_type, .. }) => (body, Some(final_url), content_type),
            Ok(Fetched::NotModified) => {
                eprintln!("pantau: {source}: unexpected 304 Not Modified");
                return None;
            }
            Err(e) => {
                eprintln!("pantau: {e}");
                return None;
            }
        }
    } else {
        let path = source.strip_prefix("file://").unwrap_or(source);
        match std::fs::read(path) {
            Ok(b) => (b, None, None),
            Err(e) => {
                eprintln!("pantau: cannot read {path}: {e}");
                return None;
            }
        }
    };
    let parse_limits = parse::Limits { max_items: limits.max_items };
    match parse::parse_feed_limited(&bytes, content_type.as_deref(), base.as_deref(), parse_limits) {
        Ok(f) => {
            if !f.recoveries.is_empty() {
                eprintln!("pantau: {source}: read after repairs: {}", f.recoveries.join("; "));
            }
            Some(f)
        }
        Err(e) => {
            eprintln!("pantau: {source}: {e}");
            None
        }
    }
}

/// The `parse --json` object of CONTRACT §1.
pub fn to_json(feed: &ParsedFeed) -> String {
    let items: Vec<serde_json::Value> = feed
        .items
        .iter()
        .map(|i| {
            let mut v = serde_json::json!({
                "id": i.id,
                "title": i.title,
                "link": i.link,
                "published": i.published.map(model::rfc3339),
                "updated": i.updated.map(model::rfc3339),
                "authors": i.authors,
                "categories": i.categories,
                "summary": i.summary,
                "content": i.content,
            });
            if !i.article.is_empty() {
                v["article"] = serde_json::Value::String(i.article.clone());
            }
            v
        })
        .collect();
    let v = serde_json::json!({ "title": feed.title, "link": feed.link, "items": items });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

fn to_text(feed: &ParsedFeed) -> String {
    // Every value is printed through `printable_line`: what a feed says cannot act on the
    // terminal (the parser already drops control characters from text; ids and links are
    // printed as the feed wrote them).
    use crate::markup::printable_line as p;
    let mut s = format!(
        "{} ({})\n{} items\n",
        p(feed.title.as_deref().unwrap_or("(untitled feed)")),
        p(feed.link.as_deref().unwrap_or("no link")),
        feed.items.len()
    );
    for i in &feed.items {
        s.push_str(&format!("\n* {}\n", if i.title.is_empty() { "(no title)".into() } else { p(&i.title) }));
        s.push_str(&format!("  id:        {}\n", p(&i.id)));
        if let Some(l) = &i.link {
            s.push_str(&format!("  link:      {}\n", p(l)));
        }
        if let Some(d) = i.published.or(i.updated) {
            s.push_str(&format!("  date:      {}\n", model::rfc3339(d)));
        }
        if !i.authors.is_empty() {
            s.push_str(&format!("  authors:   {}\n", p(&i.authors.join(", "))));
        }
        if !i.categories.is_empty() {
            s.push_str(&format!("  categories: {}\n", p(&i.categories.join(", "))));
        }
        let text = if i.summary.is_empty() { &i.content } else { &i.summary };
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !flat.is_empty() {
            s.push_str(&format!("  summary:   {}\n", p(&model::truncate_chars(&flat, 200))));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_text_output_cannot_act_on_the_terminal() {
        let doc = "<rss version=\"2.0\"><channel><title>Feed\u{1b}[2J</title><item><guid>g\u{1b}]0;x\u{7}</guid>\
                   <title>\u{1b}[31mMerah</title><link>http://e.id/\u{1b}[8m</link><author>x@y (A\u{9b}B)</author>\
                   <description>isi\u{7}</description></item></channel></rss>";
        let text = to_text(&parse::parse_feed(doc.as_bytes(), None).unwrap());
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert!(text.starts_with("Feed (no link)\n1 items\n\n* Merah\n  id:        g\\x1b]0;x\\x07\n"), "{text}");
    }
}
