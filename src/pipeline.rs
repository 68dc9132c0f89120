//! One poll of one feed, top to bottom: fetch → parse → dedup → match → store items and
//! alerts in one transaction. The scheduler decides when; this module decides what happens.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Notify};

use crate::config::secrets::{redact_url, scrub, RedactedUrl};
use crate::config::{Config, Daemon, Feed, FirstPoll, IdPolicy, OnUpdate};
use crate::fetch::{FetchError, Fetched, Fetcher, Validators};
use crate::identity::identify;
use crate::model::{self, AlertPayload, FeedRef, Item, NewAlert, PayloadFeed, PayloadItem};
use crate::parse::{self, ParseError};
use crate::rules::{DocFields, Document};
use crate::service::metrics::Metrics;
use crate::store::{FeedHealth, HealthFlag, PollRecord, Polled, Rekey, Store, StoreError};

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

/// The rule name of operator alerts about feed health.
pub const HEALTH_RULE: &str = "pantau:feed-health";

/// The rule name of operator alerts about a refused config reload.
pub const CONFIG_RULE: &str = "pantau:config";

/// What the operator should hear about a feed after a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthNews {
    /// It has failed since `since`, for longer than `feed_alert_after`.
    Failing {
        /// Its last success (or its creation).
        since: DateTime<Utc>,
    },
    /// It works again after a "failing" alert.
    Recovered,
    /// It works but has brought nothing new since `since`, for `quiet_factor` times its rhythm.
    Quiet {
        /// When it last brought new items.
        since: DateTime<Utc>,
        /// How often it usually brings new items.
        rhythm: std::time::Duration,
    },
    /// It brings new items again after a "quiet" alert.
    Publishing,
}

/// Polls with new items needed before a feed's rhythm is trusted enough to call it quiet.
const RHYTHM_SAMPLES: u64 = 4;

/// Decide whether a poll's `outcome` is news for the operator, given the feed's `health` as
/// recorded after that poll. Pure, so every transition is unit-tested.
pub fn health_news(
    health: &FeedHealth,
    outcome: &PollOutcome,
    now: DateTime<Utc>,
    daemon: &Daemon,
) -> Option<HealthNews> {
    let elapsed = |t: DateTime<Utc>| (now - t).to_std().unwrap_or_default();
    let new_items = match outcome {
        PollOutcome::Failed { .. } => {
            return match (health.failing_since, health.alerted) {
                (Some(since), false) if elapsed(since) > daemon.feed_alert_after => Some(HealthNews::Failing { since }),
                _ => None,
            };
        }
        PollOutcome::Updated { new_items, .. } => *new_items,
        PollOutcome::NotModified { .. } => 0,
    };
    if health.alerted {
        return Some(HealthNews::Recovered);
    }
    if health.quiet_alerted {
        return (new_items > 0).then_some(HealthNews::Publishing);
    }
    match (health.last_new_items_at, health.rhythm) {
        (Some(since), Some(rhythm)) if daemon.quiet_factor > 0 && health.batches >= RHYTHM_SAMPLES => {
            let threshold = rhythm.saturating_mul(daemon.quiet_factor).max(daemon.feed_alert_after);
            (elapsed(since) > threshold).then_some(HealthNews::Quiet { since, rhythm })
        }
        _ => None,
    }
}

/// One operator alert (no item behind it) for every sink in `daemon.health_sinks`. `key` makes
/// the alert id: the same key never alerts twice.
pub fn operator_alerts(
    config: &Config,
    rule: &str,
    about: &FeedRef,
    key: &str,
    title: String,
    text: String,
    now: DateTime<Utc>,
) -> Vec<NewAlert> {
    let item = Item {
        id: key.to_string(),
        title,
        link: Some(about.url.clone()).filter(|u| u.starts_with("http")),
        summary: text,
        published: Some(now),
        ..Item::default()
    };
    config
        .daemon
        .health_sinks
        .iter()
        .map(|sink| {
            let id = model::alert_id(&about.name, key, rule, sink);
            let payload = payload(&id, rule, about, &item, &[], &[], now);
            NewAlert { id, rule: rule.to_string(), sink: sink.clone(), matched: Vec::new(), payload, every_copy: true }
        })
        .collect()
}

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
    /// Woken when a poll stored items whose page is to be read (the article stage).
    pub articles: Arc<Notify>,
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
        let ago = |t: DateTime<Utc>| {
            humantime::format_duration(std::time::Duration::from_secs((now - t).num_seconds().max(0) as u64))
        };
        let (flag, set, key, title, text) = match news {
            HealthNews::Failing { since } => {
                let error = health.last_error.clone().unwrap_or_default();
                let title = format!("Feed {} has been failing for {}", feed.name, ago(since));
                (HealthFlag::Failing, true, format!("failing:{}", since.timestamp_millis()), title, error)
            }
            HealthNews::Recovered => {
                let title = format!("Feed {} works again", feed.name);
                (HealthFlag::Failing, false, format!("recovered:{}", now.timestamp_millis()), title, String::new())
            }
            HealthNews::Quiet { since, rhythm } => {
                let title = format!("Feed {} has published nothing new for {}", feed.name, ago(since));
                let text = format!(
                    "It usually brings new items every {}; its polls succeed, so the publisher may have \
                     stopped updating it or moved it elsewhere.",
                    humantime::format_duration(std::time::Duration::from_secs(rhythm.as_secs()))
                );
                (HealthFlag::Quiet, true, format!("quiet:{}", since.timestamp_millis()), title, text)
            }
            HealthNews::Publishing => {
                let title = format!("Feed {} publishes again", feed.name);
                (HealthFlag::Quiet, false, format!("publishing:{}", now.timestamp_millis()), title, String::new())
            }
        };
        let key = format!("health:{key}");
        let feed_ref = FeedRef { name: feed.name.clone(), url: redact_url(&feed.url) };
        let alerts = operator_alerts(config, HEALTH_RULE, &feed_ref, &key, title, text, now);
        self.store.queue_health_alerts(&feed.name, alerts, flag, set).await?;
        self.wake.notify_waiters();
        tracing::warn!(feed = %feed.name, news = %key, "operator alert queued for the health sinks");
        Ok(())
    }

    async fn poll_and_record(&self, feed: &Feed) -> Result<PollOutcome, StoreError> {
        let result = self.try_poll(feed).await;
        let label = match &result {
            Ok(PollOutcome::NotModified { .. }) => "not_modified",
            Ok(_) => "ok",
            Err(_) => "error",
        };
        self.metrics.inc(crate::service::metrics::Counter::Polls, &[("result", label)], 1);
        match result {
            Ok(outcome) => Ok(outcome),
            Err(PollError::Store(e)) => Err(e),
            Err(e) => {
                let (status, retry_after) = match &e {
                    PollError::Fetch(f @ FetchError::Status { retry_after, .. }) => (f.status_label(), *retry_after),
                    PollError::Fetch(f) => (f.status_label(), None),
                    _ => (crate::model::PollStatus::ParseError, None),
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
                self.metrics.inc(crate::service::metrics::Counter::FetchBytes, &[], body.len() as u64);
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
        let mut record = self.classify(feed, state.polled_before, parsed.items, validators, status).await?;
        record.recoveries = parsed.recoveries;
        record.ttl = ttl;
        let queued: Vec<String> =
            record.items.iter().chain(&record.edits).flat_map(|p| p.alerts.iter().map(|a| a.rule.clone())).collect();
        let summary = self.store.commit_poll(record).await?;
        self.metrics.inc(crate::service::metrics::Counter::ItemsNew, &[], summary.new_items as u64);
        if summary.cross_feed_duplicates > 0 {
            self.metrics.inc(
                crate::service::metrics::Counter::CrossFeedDuplicates,
                &[],
                summary.cross_feed_duplicates as u64,
            );
        }
        if summary.story_duplicates > 0 {
            self.metrics.inc(crate::service::metrics::Counter::StoryDuplicates, &[], summary.story_duplicates as u64);
        }
        if summary.new_alerts > 0 {
            for rule in queued {
                self.metrics.inc(crate::service::metrics::Counter::Matches, &[("rule", &rule)], 1);
            }
        }
        if summary.new_alerts > 0 {
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
            status: crate::model::PollStatus::http(status),
            grouping: config.daemon.grouping(),
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
                        record.edits.push(Polled { item, identity: id, alerts, fetch_article: false, signature: None });
                    }
                    Some(_) => {}
                    None if feed.id_policy == IdPolicy::Auto && id.link.as_ref().is_some_and(|l| known.links.contains(l)) => {
                        // The same link under a new guid: the feed regenerates its ids.
                        tracing::debug!(feed = %feed.name, item = %id.key, "known link under a new key");
                        record.rekeys.push(Rekey { link: id.link.clone().unwrap_or_default(), new_key: id.key });
                    }
                    None => {
                        // With fetch_article, matching waits for the article (the article
                        // stage matches the item once its page is read or has failed).
                        let fetch_article = alerting && wants_article(&config, feed, &item, now);
                        let alerts = if alerting && !fetch_article { alerts_for(&config, feed, &item, now) } else { Vec::new() };
                        for a in &alerts {
                            tracing::info!(feed = %feed.name, rule = %a.rule, sink = %a.sink, alert = %a.id, title = %item.title, matched = ?a.matched, "rule matched");
                        }
                        // The signature of an item whose article is to come is computed on
                        // the article, by the article stage.
                        let signature = if fetch_article || record.grouping.is_none() {
                            None
                        } else {
                            crate::stories::Signature::of_item(&item)
                        };
                        record.items.push(Polled { item, identity: id, alerts, fetch_article, signature });
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

/// Whether the page of a new `item` of `feed` is to be fetched before the item is matched:
/// the feed asks for articles, the item links to a web page, it is young enough to alert at
/// all, and some rule with sinks watches the feed (no page is fetched for nothing).
pub fn wants_article(config: &Config, feed: &Feed, item: &Item, now: DateTime<Utc>) -> bool {
    feed.fetch_article
        && item.link.as_deref().is_some_and(|l| l.starts_with("http://") || l.starts_with("https://"))
        && !too_old(feed, item, now)
        && config.rules.iter().any(|r| r.applies_to(feed) && !r.sinks.is_empty())
}

fn too_old(feed: &Feed, item: &Item, now: DateTime<Utc>) -> bool {
    match (feed.max_age, item.date()) {
        (Some(max_age), Some(date)) => (now - date).to_std().unwrap_or_default() > max_age,
        _ => false,
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
    if too_old(feed, item, now) {
        return Vec::new();
    }
    if !config.rules.iter().any(|r| r.applies_to(feed) && !r.sinks.is_empty()) {
        return Vec::new();
    }
    // The document is built once per item and checked against the indexed rule set, which
    // evaluates only the rules whose required words occur in it.
    let doc = item_document(item, &feed.name);
    let feed_ref = FeedRef { name: feed.name.clone(), url: redact_url(&feed.url) };
    let mut out = Vec::new();
    for (index, hit) in config.rule_set.matches(&doc) {
        let Some(rule) = config.rules.get(index) else { continue };
        // The set is built from `rules` in order; a mismatch would be a bug, never an alert.
        if config.rule_set.rules().get(index).is_none_or(|(name, _)| *name != rule.name) || !rule.applies_to(feed) {
            continue;
        }
        // Where each word hit, for the alert's "why": computed per matching rule only.
        let fields = rule.matcher.hit_fields(&doc);
        for sink in &rule.sinks {
            let id = model::alert_id(&feed.name, version, &rule.name, sink);
            let matched = hit.terms.to_vec();
            let payload = payload(&id, &rule.name, &feed_ref, item, &matched, &fields, now);
            out.push(NewAlert {
                id,
                rule: rule.name.clone(),
                sink: sink.clone(),
                matched,
                payload,
                every_copy: rule.every_copy,
            });
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
        article: &item.article,
    })
}

/// A feed summary this short (in characters, without a sentence end) says little: the alert
/// shows the article's opening instead.
const SHORT_SUMMARY: usize = 80;

/// How much of the article an alert shows when the feed's summary is empty or short.
const ARTICLE_OPENING: usize = 300;

/// The summary an alert shows: the feed's (or its content's), unless that is empty or shorter
/// than a sentence and the article was fetched, then the article's opening cut at a word.
pub fn alert_summary(item: &Item) -> String {
    let source = if item.summary.trim().is_empty() { &item.content } else { &item.summary };
    let summary = source.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = summary.chars().count() >= SHORT_SUMMARY || summary.ends_with(['.', '!', '?', '…']);
    if item.article.trim().is_empty() || (!summary.is_empty() && sentence) {
        return summary;
    }
    let article = item.article.split_whitespace().collect::<Vec<_>>().join(" ");
    if article.chars().count() <= ARTICLE_OPENING {
        return article;
    }
    // Cut at the last space within the limit, so no word is broken.
    let cut: String = article.chars().take(ARTICLE_OPENING).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > ARTICLE_OPENING / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', ' ']))
}

/// The CONTRACT §4 JSON of one alert; `fields` says where each matched word hit.
pub fn payload(
    id: &str,
    rule: &str,
    feed: &FeedRef,
    item: &Item,
    matched: &[String],
    fields: &[(String, Vec<&'static str>)],
    now: DateTime<Utc>,
) -> String {
    let summary = alert_summary(item);
    let matched_in =
        fields.iter().map(|(term, names)| (term.clone(), names.iter().map(|n| n.to_string()).collect())).collect();
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
            article: !item.article.is_empty(),
        },
        matched: matched.to_vec(),
        matched_in,
        created_at: model::rfc3339(now),
    };
    serde_json::to_string(&p).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn daemon() -> Daemon {
        let c = crate::config::load_str(std::path::Path::new("/x/pantau.toml"), "", &|_| None).unwrap();
        c.daemon.clone()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn ok(new_items: usize) -> PollOutcome {
        PollOutcome::Updated { items: 5, new_items, new_alerts: 0, ttl: None }
    }

    fn failed() -> PollOutcome {
        PollOutcome::Failed { failures: 3, retry_after: None }
    }

    /// A feed that brought new items every hour, `quiet_for` ago for the last time.
    fn rhythmic(now: DateTime<Utc>, quiet_for: Duration) -> FeedHealth {
        FeedHealth {
            last_new_items_at: Some(now - chrono::Duration::from_std(quiet_for).unwrap()),
            rhythm: Some(HOUR),
            batches: 12,
            ..FeedHealth::default()
        }
    }

    #[test]
    fn a_feed_failing_longer_than_feed_alert_after_is_news_once() {
        let (d, now) = (daemon(), Utc::now());
        let since = |h: i64| Some(now - chrono::Duration::hours(h));
        let failing = |h, alerted| FeedHealth { failing_since: since(h), alerted, ..FeedHealth::default() };
        assert_eq!(health_news(&failing(5, false), &failed(), now, &d), None, "6 h is the default");
        assert_eq!(
            health_news(&failing(7, false), &failed(), now, &d),
            Some(HealthNews::Failing { since: since(7).unwrap() })
        );
        assert_eq!(health_news(&failing(9, true), &failed(), now, &d), None, "told already");
        let told = FeedHealth { alerted: true, ..FeedHealth::default() };
        assert_eq!(health_news(&told, &PollOutcome::NotModified { ttl: None }, now, &d), Some(HealthNews::Recovered));
    }

    #[test]
    fn a_working_feed_silent_for_many_times_its_rhythm_is_news_and_so_is_its_return() {
        let (d, now) = (daemon(), Utc::now());
        // Every hour, quiet_factor 10: 9 hours of silence is a slow day, 11 hours is news.
        assert_eq!(health_news(&rhythmic(now, 9 * HOUR), &ok(0), now, &d), None);
        let h = rhythmic(now, 11 * HOUR);
        assert_eq!(
            health_news(&h, &PollOutcome::NotModified { ttl: None }, now, &d),
            Some(HealthNews::Quiet { since: h.last_new_items_at.unwrap(), rhythm: HOUR })
        );
        // A failing poll is judged by the failure rules, not as silence.
        assert_eq!(health_news(&h, &failed(), now, &d), None);
        // Told: nothing more until items come again.
        let told = FeedHealth { quiet_alerted: true, ..rhythmic(now, 30 * HOUR) };
        assert_eq!(health_news(&told, &ok(0), now, &d), None);
        assert_eq!(health_news(&told, &ok(2), now, &d), Some(HealthNews::Publishing));
    }

    #[test]
    fn silence_is_not_judged_without_a_rhythm_or_when_disabled_and_never_sooner_than_feed_alert_after() {
        let (mut d, now) = (daemon(), Utc::now());
        let young = FeedHealth { batches: 3, ..rhythmic(now, 100 * HOUR) };
        assert_eq!(health_news(&young, &ok(0), now, &d), None, "three batches are not a rhythm yet");
        // A feed publishing every minute is not news after ten quiet minutes: feed_alert_after
        // (6 h) is the floor.
        let busy = FeedHealth { rhythm: Some(Duration::from_secs(60)), ..rhythmic(now, 5 * HOUR) };
        assert_eq!(health_news(&busy, &ok(0), now, &d), None);
        let busy = FeedHealth { rhythm: Some(Duration::from_secs(60)), ..rhythmic(now, 7 * HOUR) };
        assert!(matches!(health_news(&busy, &ok(0), now, &d), Some(HealthNews::Quiet { .. })));
        d.quiet_factor = 0;
        assert_eq!(health_news(&rhythmic(now, 100 * HOUR), &ok(0), now, &d), None, "quiet_factor = 0 disables it");
    }
}
