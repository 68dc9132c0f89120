//! One poll of one feed, top to bottom: fetch → parse → classify → store items and alerts in
//! one transaction. The scheduler decides when; this module decides what happens.
//!
//! - `mod.rs` (this file): [`Poller`], what a poll uses, and the poll itself (the IO).
//! - `classify.rs`: the decision, pure: [`classify`] says which items are new, edited or
//!   re-keyed and which alerts follow; [`alerts_for`] matches one item.
//! - `payload.rs`: an alert's webhook [`payload`] and [`alert_summary`], rendered when the
//!   alert is created.
//! - `operator.rs`: operator alerts: [`health_news`] (a feed failing, quiet, recovered or
//!   publishing again), [`feed_health_alert`], and [`operator_alerts`], which the daemon also
//!   queues about itself.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{watch, Notify};

use crate::config::{Config, Feed};
use crate::fetch::{FetchError, Fetched, Fetcher, Validators};
use crate::model::{FeedRef, Item, PollStatus};
use crate::parse::{self, ParseError};
use crate::secrets::{redact_url, scrub, RedactedUrl};
use crate::service::metrics::{Counter, Metrics};
use crate::store::{PollRecord, Store, StoreError};

mod classify;
mod operator;
mod payload;

pub use classify::{alerts_for, classify, item_document, wants_article, Identified};
pub use operator::{
    feed_health_alert, health_news, operator_alerts, FeedHealthAlert, HealthNews, CONFIG_RULE, HEALTH_RULE,
};
pub use payload::{alert_summary, payload};

/// Errors of one poll; each is recorded on the feed and the poll is tried again later.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// The HTTP request failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The document could not be parsed.
    #[error("{url}: {source}")]
    Parse {
        /// The feed URL.
        url: String,
        /// The parse error.
        source: ParseError,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a poll came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// The server said nothing changed.
    NotModified {
        /// The publisher's minimum polling interval, from the last document that stated one.
        ttl: Option<std::time::Duration>,
    },
    /// A document was read and stored.
    Updated {
        /// Items in the document.
        items: usize,
        /// Items not seen before.
        new_items: usize,
        /// Alerts queued.
        new_alerts: usize,
        /// The publisher's minimum polling interval, if the document states one.
        ttl: Option<std::time::Duration>,
    },
    /// The poll failed; the feed has failed this many times in a row.
    Failed {
        /// Consecutive failures including this one.
        failures: u32,
        /// The server's Retry-After (429, 503), honoured by the scheduler.
        retry_after: Option<std::time::Duration>,
    },
}

/// What a poll uses: the database, the fetcher, the config in force, the counters, and the
/// two stages a poll can hand work to. The scheduler holds one and clones it for every poll.
#[derive(Clone)]
pub struct Poller {
    /// The database.
    pub store: Store,
    /// The HTTP client.
    pub fetcher: Fetcher,
    /// The compiled config, replaced as a whole on reload.
    pub config: watch::Receiver<Arc<Config>>,
    /// Woken when alerts are queued, so delivery starts at once.
    pub wake: Arc<Notify>,
    /// Counters for /metrics.
    pub metrics: Arc<Metrics>,
    /// Woken when a poll stored items whose page is to be read (the article stage).
    pub articles: Arc<Notify>,
    /// This node's name when the database is shared (PostgreSQL): feeds are then claimed
    /// (leased) before they are polled. `None` on SQLite (one node, the instance lock).
    pub node: Option<Arc<str>>,
}

impl Poller {
    /// The config in force now.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.borrow())
    }

    /// Poll `feed` once, record the result on the feed, and log it. Never panics on bad input;
    /// only a database failure is returned as an error.
    pub async fn poll(&self, feed: &Feed) -> Result<PollOutcome, StoreError> {
        let outcome = self.poll_and_record(feed).await?;
        let config = self.config();
        if !config.daemon.health_sinks.is_empty() {
            self.check_health(feed, &config, &outcome).await?;
        }
        Ok(outcome)
    }

    /// Tell the operator (once) when a feed has failed for longer than `feed_alert_after` or has
    /// been quiet for much longer than its rhythm, and again when it is back.
    async fn check_health(&self, feed: &Feed, config: &Config, outcome: &PollOutcome) -> Result<(), StoreError> {
        let health = self.store.feed_health(&feed.name).await?;
        let now = Utc::now();
        let Some(news) = health_news(&health, outcome, now, &config.daemon) else { return Ok(()) };
        let alert = feed_health_alert(&feed.name, news, &health, now);
        let feed_ref = FeedRef { name: feed.name.clone(), url: redact_url(&feed.url) };
        let alerts = operator_alerts(config, HEALTH_RULE, &feed_ref, &alert.key, alert.title, alert.text, now);
        self.store.queue_health_alerts(&feed.name, alerts, alert.flag, alert.set).await?;
        self.wake.notify_waiters();
        tracing::warn!(feed = %feed.name, news = %alert.key, "operator alert queued for the health sinks");
        Ok(())
    }

    async fn poll_and_record(&self, feed: &Feed) -> Result<PollOutcome, StoreError> {
        let result = self.try_poll(feed).await;
        let label = match &result {
            Ok(PollOutcome::NotModified { .. }) => "not_modified",
            Ok(_) => "ok",
            Err(_) => "error",
        };
        match &self.node {
            Some(node) => self.metrics.inc(Counter::Polls, &[("result", label), ("node", node)], 1),
            None => self.metrics.inc(Counter::Polls, &[("result", label)], 1),
        }
        match result {
            Ok(outcome) => Ok(outcome),
            Err(PollError::Store(e)) => Err(e),
            Err(e) => {
                let (status, retry_after) = match &e {
                    PollError::Fetch(f @ FetchError::Status { retry_after, .. }) => (f.status_label(), *retry_after),
                    PollError::Fetch(f) => (f.status_label(), None),
                    _ => (PollStatus::ParseError, None),
                };
                let failures = self.store.record_failure(&feed.name, status, &scrub(&e.to_string())).await?;
                if status.is_gone() {
                    tracing::error!(
                        feed = %feed.name, failures, error = %e,
                        "feed is gone (HTTP 410); remove it from the config or fix its url; polling it rarely meanwhile"
                    );
                } else {
                    match retry_after {
                        Some(wait) => tracing::warn!(
                            feed = %feed.name, status = %status, failures, error = %e,
                            server_asks_to_wait = %humantime::format_duration(wait),
                            "poll failed; the next try honours the server's Retry-After"
                        ),
                        None => {
                            tracing::warn!(feed = %feed.name, status = %status, failures, error = %e, "poll failed")
                        }
                    }
                }
                Ok(PollOutcome::Failed { failures, retry_after })
            }
        }
    }

    async fn try_poll(&self, feed: &Feed) -> Result<PollOutcome, PollError> {
        let state = self.store.feed_state(&feed.name).await?;
        self.store.record_attempt(&feed.name).await?;
        let validators = Validators { etag: state.etag.clone(), last_modified: state.last_modified.clone() };
        let url = state.moved_to.as_deref().unwrap_or(&feed.url);
        let started = std::time::Instant::now();
        let opts = crate::fetch::RequestOptions {
            headers: &feed.headers,
            basic_auth: feed.basic_auth.as_ref(),
            proxy: feed.proxy.as_deref(),
            configured: Some(&feed.url),
        };
        let fetched = self.fetcher.fetch_with(url, &opts, &validators).await;
        self.metrics.observe_fetch(started.elapsed());
        let fetched = fetched?;
        let (body, final_url, validators, status, content_type) = match fetched {
            Fetched::NotModified => {
                self.store.record_not_modified(&feed.name).await?;
                tracing::info!(feed = %feed.name, status = 304, "polled feed: not modified");
                return Ok(PollOutcome::NotModified { ttl: state.ttl });
            }
            Fetched::Body { body, final_url, validators, status, moved_to, content_type } => {
                self.metrics.inc(Counter::FetchBytes, &[], body.len() as u64);
                if let Some(new) = moved_to.filter(|m| m != url) {
                    tracing::warn!(feed = %feed.name, from = %RedactedUrl(url), to = %RedactedUrl(&new), "feed moved permanently; polling the new URL from now on (update the config)");
                    self.store.set_moved(&feed.name, &new).await?;
                }
                (body, final_url, validators, status, content_type)
            }
        };
        // Parsing is CPU work: keep it off the async workers.
        let url = feed.url.clone();
        let limits = parse::Limits { max_items: feed.max_items };
        let parsed = tokio::task::spawn_blocking(move || {
            parse::parse_feed_limited(&body, content_type.as_deref(), Some(&final_url), limits)
        })
        .await
        .map_err(|e| PollError::Parse { url: url.clone(), source: ParseError::Panicked(e.to_string()) })?
        .map_err(|source| PollError::Parse { url: url.clone(), source })?;

        let total = parsed.items.len();
        let ttl = parsed.ttl;
        if !parsed.recoveries.is_empty() {
            tracing::info!(feed = %feed.name, recoveries = ?parsed.recoveries, "feed needed repairs to be read");
        }
        let classified = self.classify(feed, state.polled_before, parsed.items).await?;
        let record = PollRecord {
            etag: validators.etag,
            last_modified: validators.last_modified,
            status: PollStatus::http(status),
            recoveries: parsed.recoveries,
            ttl,
            ..classified
        };
        let queued: Vec<String> =
            record.items.iter().chain(&record.edits).flat_map(|p| p.alerts.iter().map(|a| a.rule.clone())).collect();
        let summary = self.store.commit_poll(record).await?;
        self.metrics.inc(Counter::ItemsNew, &[], summary.new_items as u64);
        if summary.cross_feed_duplicates > 0 {
            self.metrics.inc(Counter::CrossFeedDuplicates, &[], summary.cross_feed_duplicates as u64);
        }
        if summary.story_duplicates > 0 {
            self.metrics.inc(Counter::StoryDuplicates, &[], summary.story_duplicates as u64);
        }
        if summary.new_alerts > 0 {
            for rule in queued {
                self.metrics.inc(Counter::Matches, &[("rule", &rule)], 1);
            }
            self.wake.notify_waiters();
        }
        if summary.articles_queued > 0 {
            self.articles.notify_one();
        }
        tracing::info!(
            feed = %feed.name, status, items = total, new_items = summary.new_items, edited = summary.edited,
            new_alerts = summary.new_alerts, cross_feed_duplicates = summary.cross_feed_duplicates,
            joined_stories = summary.joined_stories, story_duplicates = summary.story_duplicates,
            articles_queued = summary.articles_queued, "polled feed"
        );
        Ok(PollOutcome::Updated { items: total, new_items: summary.new_items, new_alerts: summary.new_alerts, ttl })
    }
}

impl Poller {
    /// Ask the store what it knows of the document's items, then [`classify`] them (CPU work:
    /// on the blocking pool, off the async workers).
    async fn classify(&self, feed: &Feed, polled_before: bool, items: Vec<Item>) -> Result<PollRecord, StoreError> {
        let now = Utc::now();
        let config = self.config();
        let document = Identified::new(feed, items, now);
        let mut known = self.store.known_items(&feed.name, document.keys(), document.links()).await?;
        if feed.fetch_article && feed.on_update == crate::config::OnUpdate::Realert {
            let edited = document.edited_keys(&known);
            if !edited.is_empty() {
                known.articles = self.store.stored_articles(&feed.name, edited).await?;
            }
        }
        let feed = feed.clone();
        tokio::task::spawn_blocking(move || classify(&feed, &known, polled_before, document, &config, now))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))
    }
}
