//! One poll of one feed, top to bottom: fetch → parse → dedup → match → store items and
//! alerts in one transaction. The scheduler decides when; this module decides what happens.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Notify};

use crate::config::{Config, Feed, FirstPoll, IdPolicy, OnUpdate};
use crate::fetch::{FetchError, Fetched, Fetcher, Validators};
use crate::identity::identify;
use crate::model::{self, AlertPayload, FeedRef, Item, NewAlert, PayloadFeed, PayloadItem};
use crate::parse::{self, ParseError};
use crate::rules::{DocFields, Document};
use crate::service::metrics::Metrics;
use crate::store::{PollRecord, Rekey, Store, StoreError};

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
    NotModified,
    /// A document was read and stored.
    Updated {
        /// Items in the document.
        items: usize,
        /// Items not seen before.
        new_items: usize,
        /// Alerts queued.
        new_alerts: usize,
    },
    /// The poll failed; the feed has failed this many times in a row.
    Failed {
        /// Consecutive failures including this one.
        failures: u32,
        /// The server's Retry-After (429, 503), honoured by the scheduler.
        retry_after: Option<std::time::Duration>,
    },
}

/// The rule name of operator alerts about feed health.
pub const HEALTH_RULE: &str = "pantau:feed-health";

/// Everything a poll needs, shared by all polls.
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
            self.check_health(feed, &config, matches!(outcome, PollOutcome::Failed { .. })).await?;
        }
        Ok(outcome)
    }

    /// Tell the operator (once) when a feed has failed for longer than `feed_alert_after`, and
    /// again when it recovers.
    async fn check_health(&self, feed: &Feed, config: &Config, failed: bool) -> Result<(), StoreError> {
        let health = self.store.feed_health(&feed.name).await?;
        let now = Utc::now();
        let (state, since) = match (failed, health.failing_since, health.alerted) {
            (true, Some(since), false)
                if (now - since).to_std().unwrap_or_default() > config.daemon.feed_alert_after =>
            {
                ("failing", since)
            }
            (false, _, true) => ("recovered", now),
            _ => return Ok(()),
        };
        let error = match self.store.feed_statuses().await?.into_iter().find(|s| s.name == feed.name) {
            Some(s) => s.last_error.unwrap_or_default(),
            None => String::new(),
        };
        let title = if state == "failing" {
            let for_how_long =
                humantime::format_duration(std::time::Duration::from_secs((now - since).num_seconds().max(0) as u64));
            format!("Feed {} has been failing for {for_how_long}", feed.name)
        } else {
            format!("Feed {} works again", feed.name)
        };
        let key = format!("health:{state}:{}", since.timestamp_millis());
        let item = Item {
            id: key.clone(),
            title,
            link: Some(feed.url.clone()),
            summary: error,
            published: Some(now),
            ..Item::default()
        };
        let feed_ref = FeedRef { name: feed.name.clone(), url: feed.url.clone() };
        let alerts: Vec<NewAlert> = config
            .daemon
            .health_sinks
            .iter()
            .map(|sink| {
                let id = model::alert_id(&feed.name, &key, HEALTH_RULE, sink);
                let payload = payload(&id, HEALTH_RULE, &feed_ref, &item, &[], now);
                NewAlert { id, rule: HEALTH_RULE.to_string(), sink: sink.clone(), matched: Vec::new(), payload }
            })
            .collect();
        self.store.queue_health_alerts(&feed.name, alerts, state == "failing").await?;
        self.wake.notify_waiters();
        tracing::warn!(feed = %feed.name, state, "operator alert queued for the health sinks");
        Ok(())
    }

    async fn poll_and_record(&self, feed: &Feed) -> Result<PollOutcome, StoreError> {
        let result = self.try_poll(feed).await;
        let label = match &result {
            Ok(PollOutcome::NotModified) => "not_modified",
            Ok(_) => "ok",
            Err(_) => "error",
        };
        self.metrics.inc("pantau_polls_total", &[("result", label)], 1);
        match result {
            Ok(outcome) => Ok(outcome),
            Err(PollError::Store(e)) => Err(e),
            Err(e) => {
                let (status, retry_after) = match &e {
                    PollError::Fetch(f @ FetchError::Status { retry_after, .. }) => (f.status_label(), *retry_after),
                    PollError::Fetch(f) => (f.status_label(), None),
                    _ => ("parse-error".into(), None),
                };
                let failures = self.store.record_failure(&feed.name, &status, &e.to_string()).await?;
                if status == "410" {
                    tracing::error!(
                        feed = %feed.name, failures, error = %e,
                        "feed is gone (HTTP 410); remove it from the config or fix its url; polling it rarely meanwhile"
                    );
                } else {
                    tracing::warn!(feed = %feed.name, status = %status, failures, retry_after = ?retry_after, error = %e, "poll failed");
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
        };
        let fetched = self.fetcher.fetch_with(url, &opts, &validators).await;
        self.metrics.observe_fetch(started.elapsed());
        let fetched = fetched?;
        let (body, final_url, validators, status, content_type) = match fetched {
            Fetched::NotModified => {
                self.store.record_not_modified(&feed.name).await?;
                tracing::info!(feed = %feed.name, status = 304, "polled feed: not modified");
                return Ok(PollOutcome::NotModified);
            }
            Fetched::Body { body, final_url, validators, status, moved_to, content_type } => {
                self.metrics.inc("pantau_fetch_bytes_total", &[], body.len() as u64);
                if let Some(new) = moved_to.filter(|m| m != url) {
                    tracing::warn!(feed = %feed.name, from = %url, to = %new, "feed moved permanently; polling the new URL from now on (update the config)");
                    self.store.set_moved(&feed.name, &new).await?;
                }
                (body, final_url, validators, status, content_type)
            }
        };
        // Parsing is CPU work: keep it off the async workers.
        let url = feed.url.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            parse::parse_feed_with(&body, content_type.as_deref(), Some(&final_url))
        })
        .await
        .map_err(|e| PollError::Parse { url: url.clone(), source: ParseError::Panicked(e.to_string()) })?
        .map_err(|source| PollError::Parse { url: url.clone(), source })?;

        let total = parsed.items.len();
        if !parsed.recoveries.is_empty() {
            tracing::info!(feed = %feed.name, recoveries = ?parsed.recoveries, "feed needed repairs to be read");
        }
        let mut record = self.classify(feed, state.polled_before, parsed.items, validators, status).await?;
        record.recoveries = parsed.recoveries;
        let queued: Vec<String> =
            record.items.iter().chain(&record.edits).flat_map(|(_, a)| a.iter().map(|a| a.rule.clone())).collect();
        let summary = self.store.commit_poll(record).await?;
        self.metrics.inc("pantau_items_new_total", &[], summary.new_items as u64);
        if summary.new_alerts > 0 {
            for rule in queued {
                self.metrics.inc("pantau_matches_total", &[("rule", &rule)], 1);
            }
        }
        if summary.new_alerts > 0 {
            self.wake.notify_waiters();
        }
        tracing::info!(
            feed = %feed.name, status, items = total, new_items = summary.new_items, edited = summary.edited,
            new_alerts = summary.new_alerts, cross_feed_duplicates = summary.cross_feed_duplicates, "polled feed"
        );
        Ok(PollOutcome::Updated { items: total, new_items: summary.new_items, new_alerts: summary.new_alerts })
    }
}

impl Poller {
    /// Sort the document's items into new, edited and re-keyed ones and build their alerts.
    async fn classify(
        &self,
        feed: &Feed,
        polled_before: bool,
        mut items: Vec<Item>,
        validators: crate::fetch::Validators,
        status: u16,
    ) -> Result<PollRecord, StoreError> {
        let now = Utc::now();
        let config = self.config();
        // A date in the future is a publisher's clock or time-zone error: treat it as now.
        for item in &mut items {
            item.published = item.published.map(|d| d.min(now));
            item.updated = item.updated.map(|d| d.min(now));
        }
        let ids = identify(&items, feed.id_policy);
        let keys = ids.iter().map(|i| i.key.clone()).collect();
        let links = ids.iter().filter_map(|i| i.link.clone()).collect();
        let known = self.store.known_items(&feed.name, keys, links).await?;
        let alerting = polled_before || feed.first_poll == FirstPoll::Alert;
        if !alerting {
            tracing::info!(feed = %feed.name, "first poll of this feed: storing its items without alerting (first_poll = \"silent\")");
        }
        let record = PollRecord {
            feed: feed.name.clone(),
            etag: validators.etag,
            last_modified: validators.last_modified,
            status: status.to_string(),
            ..PollRecord::default()
        };
        // Matching is CPU work: run it on the blocking pool, off the async workers.
        let feed = feed.clone();
        let record = tokio::task::spawn_blocking(move || {
            let mut record = record;
            let feed = &feed;
            let mut seen = HashSet::new();
            for (mut item, id) in items.into_iter().zip(ids) {
                // A document can list the same item twice; the first one wins.
                if !seen.insert(id.key.clone()) {
                    continue;
                }
                item.id = id.key.clone();
                match known.keys.get(&id.key) {
                    Some(Some(hash)) if *hash != id.content_hash => {
                        let realert = feed.on_update == OnUpdate::Realert;
                        let alerts = if realert {
                            let version = format!("{}#{}", id.key, id.content_hash);
                            alerts_for_version(&config, feed, &item, &version, now)
                        } else {
                            Vec::new()
                        };
                        tracing::info!(feed = %feed.name, item = %id.key, title = %item.title, realert, "item edited");
                        record.edits.push((item, alerts));
                    }
                    Some(_) => {}
                    None if feed.id_policy == IdPolicy::Auto && id.link.as_ref().is_some_and(|l| known.links.contains(l)) => {
                        // The same link under a new guid: the feed regenerates its ids.
                        tracing::debug!(feed = %feed.name, item = %id.key, "known link under a new key");
                        record.rekeys.push(Rekey { link: id.link.clone().unwrap_or_default(), new_key: id.key });
                    }
                    None => {
                        let alerts = if alerting { alerts_for(&config, feed, &item, now) } else { Vec::new() };
                        for a in &alerts {
                            tracing::info!(feed = %feed.name, rule = %a.rule, sink = %a.sink, alert = %a.id, title = %item.title, matched = ?a.matched, "rule matched");
                        }
                        record.items.push((item, alerts));
                    }
                }
            }
            record
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
        Ok(record)
    }
}

/// The alerts a new `item` of `feed` raises: one per (matching rule in scope, sink of the rule),
/// none when the item is older than the feed's `max_age`.
pub fn alerts_for(config: &Config, feed: &Feed, item: &Item, now: DateTime<Utc>) -> Vec<NewAlert> {
    alerts_for_version(config, feed, item, &item.id, now)
}

/// [`alerts_for`] with the alert ids derived from `version` (the item key, or for a re-alert
/// of an edited item the key and content hash, so the new alert has an id of its own).
fn alerts_for_version(config: &Config, feed: &Feed, item: &Item, version: &str, now: DateTime<Utc>) -> Vec<NewAlert> {
    if let (Some(max_age), Some(date)) = (feed.max_age, item.date()) {
        let age = (now - date).to_std().unwrap_or_default();
        if age > max_age {
            return Vec::new();
        }
    }
    if !config.rules.iter().any(|r| r.applies_to(feed) && !r.sinks.is_empty()) {
        return Vec::new();
    }
    // The document is built once per item and checked against the indexed rule set, which
    // evaluates only the rules whose required words occur in it.
    let doc = item_document(item, &feed.name);
    let feed_ref = FeedRef { name: feed.name.clone(), url: feed.url.clone() };
    let mut out = Vec::new();
    for (index, hit) in config.rule_set.matches(&doc) {
        let Some(rule) = config.rules.get(index) else { continue };
        // The set is built from `rules` in order; a mismatch would be a bug, never an alert.
        if config.rule_set.rules().get(index).is_none_or(|(name, _)| *name != rule.name) || !rule.applies_to(feed) {
            continue;
        }
        for sink in &rule.sinks {
            let id = model::alert_id(&feed.name, version, &rule.name, sink);
            let payload = payload(&id, &rule.name, &feed_ref, item, &hit.terms, now);
            out.push(NewAlert { id, rule: rule.name.clone(), sink: sink.clone(), matched: hit.terms.clone(), payload });
        }
    }
    out
}

/// The rule engine's view of an item of the feed named `feed`.
pub fn item_document(item: &Item, feed: &str) -> Document {
    Document::new(&DocFields {
        title: &item.title,
        summary: &item.summary,
        content: &item.content,
        authors: &item.authors,
        categories: &item.categories,
        link: item.link.as_deref().unwrap_or(""),
        feed,
    })
}

/// The CONTRACT §4 JSON of one alert.
pub fn payload(id: &str, rule: &str, feed: &FeedRef, item: &Item, matched: &[String], now: DateTime<Utc>) -> String {
    let summary_source = if item.summary.is_empty() { &item.content } else { &item.summary };
    let summary = summary_source.split_whitespace().collect::<Vec<_>>().join(" ");
    let p = AlertPayload {
        id: id.to_string(),
        rule: rule.to_string(),
        feed: PayloadFeed { name: feed.name.clone(), url: feed.url.clone() },
        item: PayloadItem {
            id: item.id.clone(),
            title: item.title.clone(),
            link: item.link.clone(),
            published: item.date().map(model::rfc3339),
            summary: model::truncate_chars(&summary, model::SUMMARY_LIMIT),
            authors: item.authors.clone(),
        },
        matched: matched.to_vec(),
        created_at: model::rfc3339(now),
    };
    serde_json::to_string(&p).unwrap_or_else(|_| "{}".to_string())
}
