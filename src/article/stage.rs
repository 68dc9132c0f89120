//! The article stage of the daemon: items that polls stored as pending (`fetch_article`) have
//! their page read and are matched on title, summary, content *and* article; the outcome and
//! the alerts are written in one transaction, so a crash loses nothing (a claimed page whose
//! outcome was not written is read again).
//!
//! A page that cannot be read does not hold the item back: at the first failure the item is
//! matched on what its feed gave, and the page is tried again ([`super::RETRY_DELAYS`], all
//! within an hour); a later success matches again and alerts only on rules that had not.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{ArticleError, Reader, RETRY_DELAYS};
use crate::config::Config;
use crate::fetch::Fetcher;
use crate::model::NewAlert;
use crate::pipeline::alerts_for;
use crate::scheduler::Limits;
use crate::service::metrics::Metrics;
use crate::service::retry;
use crate::store::{ArticleOutcome, PendingArticle, PollSummary, Store, StoreError};

/// What the article stage uses: the database (its queue), the fetcher and the config in
/// force, the counters, and two signals.
#[derive(Clone)]
pub struct Stage {
    /// The database: pending items are the stage's queue.
    pub store: Store,
    /// The HTTP client, shared with feed polls.
    pub fetcher: Fetcher,
    /// The compiled config, replaced as a whole on reload.
    pub config: watch::Receiver<Arc<Config>>,
    /// Counters for /metrics, and the stage's troubles for /healthz.
    pub metrics: Arc<Metrics>,
    /// Woken by the stage when it queued alerts, so delivery starts at once.
    pub wake: Arc<Notify>,
    /// Woken by polls that stored items whose page is to be read.
    pub pending: Arc<Notify>,
}

impl Stage {
    /// The config in force now.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.borrow())
    }
}

/// How long a claimed page is not handed out again (a fetch is bounded by `timeout` per page).
const CLAIM: Duration = Duration::from_secs(15 * 60);

/// How long a claim lasts: [`CLAIM`], or longer when every page of an article may take the
/// whole `timeout` (a lapsed claim would let a second task read the same page).
fn claim_for(stage: &Stage) -> Duration {
    let per_article = stage.config().daemon.timeout.saturating_mul(super::MAX_PAGES as u32);
    CLAIM.max(per_article.saturating_mul(2))
}

/// How the stage ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// When cancelled (the daemon).
    Cancelled,
    /// When no page is due now (`pantau once`): pages retried later stay pending.
    Drained,
}

/// The stage's name in `/healthz` problems and the `task` label of metrics.
const TASK: &str = "articles";

/// Read pending articles until `until`; `cancel` stops it (pages in flight are abandoned and
/// read again after a restart). At most half of `daemon.concurrency` pages are fetched at once,
/// so feed polls always keep the other half of the shared slots.
///
/// In the daemon a database failure is retried with backoff until the database works again (a
/// page already read is not read again for it); with [`Until::Drained`] it is returned.
pub async fn run(stage: Stage, limits: Arc<Limits>, cancel: CancellationToken, until: Until) -> Result<(), StoreError> {
    // On a shared database (PostgreSQL) the claims may be other live nodes' pages in flight:
    // they are left to run out.
    let shared = stage.store.backend() == crate::store::Backend::Postgres;
    let released = match until {
        _ if shared => 0,
        Until::Drained => stage.store.release_article_claims(Utc::now()).await?,
        Until::Cancelled => {
            let release = || stage.store.release_article_claims(Utc::now());
            let Some(released) = retry::store(&stage.metrics, TASK, &cancel, release).await else { return Ok(()) };
            released
        }
    };
    if released > 0 {
        tracing::info!(pages = released, "reading article pages left unread by the previous run");
    }
    let slots = Arc::new(Semaphore::new((stage.config().daemon.concurrency / 2).max(1)));
    let mut tasks: JoinSet<Result<(), StoreError>> = JoinSet::new();
    loop {
        let started = Utc::now();
        let free = slots.available_permits();
        let claimed = if free > 0 {
            stage.store.claim_articles(Utc::now(), claim_for(&stage), free).await
        } else {
            Ok(Vec::new())
        };
        let next = match claimed {
            Ok(claimed) => {
                for pending in claimed {
                    let permit = Arc::clone(&slots).acquire_owned().await.expect("the slots are never closed");
                    let (stage, limits, cancel) = (stage.clone(), Arc::clone(&limits), cancel.clone());
                    tasks.spawn(async move {
                        let r = process(&stage, &limits, pending, until, &cancel).await;
                        drop(permit);
                        r
                    });
                }
                stage.store.next_article_due().await
            }
            Err(e) => Err(e),
        };
        let sleep = match next {
            Ok(next) => {
                if until == Until::Drained && tasks.is_empty() {
                    if next.is_none_or(|d| d > Utc::now()) {
                        return Ok(());
                    }
                    continue;
                }
                if until == Until::Cancelled {
                    stage.metrics.store_ok(TASK);
                }
                next.map(|d| (d - Utc::now()).to_std().unwrap_or_default())
                    .unwrap_or(Duration::from_secs(3600))
                    .clamp(Duration::from_millis(50), Duration::from_secs(60))
            }
            Err(e) if until == Until::Drained => return Err(e),
            Err(e) => retry::delay(stage.metrics.store_failed(TASK, &e, started)),
        };
        tokio::select! {
            _ = cancel.cancelled() => {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                return Ok(());
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => match done {
                Ok(Err(e)) if until == Until::Drained => return Err(e),
                Ok(Err(e)) => tracing::error!(error = %e, "article task failed; the page will be read again"),
                Ok(Ok(())) => {}
                Err(e) if e.is_panic() => tracing::error!(error = %e, "article task panicked; the page will be read again"),
                Err(_) => {}
            },
            _ = stage.pending.notified() => {}
            _ = tokio::time::sleep(sleep), if slots.available_permits() > 0 => {}
        }
    }
}

/// Record what became of an item's page, and its alerts: once with [`Until::Drained`], else
/// retried until it works (`None` when cancelled meanwhile).
async fn commit(
    stage: &Stage,
    item_id: i64,
    outcome: ArticleOutcome,
    alerts: Vec<NewAlert>,
    stories: Option<(crate::stories::Signature, crate::stories::Grouping)>,
    until: Until,
    cancel: &CancellationToken,
) -> Result<Option<PollSummary>, StoreError> {
    match until {
        Until::Drained => stage.store.commit_article(item_id, outcome, alerts, stories).await.map(Some),
        Until::Cancelled => Ok(retry::store(&stage.metrics, TASK, cancel, || {
            stage.store.commit_article(item_id, outcome.clone(), alerts.clone(), stories.clone())
        })
        .await),
    }
}

/// Read one item's page, match the item and record both.
async fn process(
    stage: &Stage,
    limits: &Limits,
    pending: PendingArticle,
    until: Until,
    cancel: &CancellationToken,
) -> Result<(), StoreError> {
    let config = stage.config();
    let Some(feed) = config.feeds.iter().find(|f| f.name == pending.feed) else {
        // The feed left the config: match on what it gave, as a failure would.
        let outcome = ArticleOutcome::Failed { error: "feed no longer configured".into(), retry_at: None };
        return commit(stage, pending.item_id, outcome, Vec::new(), None, until, cancel).await.map(drop);
    };
    let link = pending.item.link.clone().unwrap_or_default();
    let started = std::time::Instant::now();
    let reader = Reader {
        fetcher: &stage.fetcher,
        proxy: feed.proxy.as_deref(),
        selector: feed.article_selector.as_deref(),
        limits: Some(limits),
    };
    let result = reader.read(&link).await;
    stage.metrics.observe_fetch(started.elapsed());
    let mut item = pending.item;
    let (outcome, match_now) = match result {
        Ok(article) => {
            stage.metrics.inc(crate::service::metrics::Counter::Articles, &[("result", "fetched")], 1);
            stage.metrics.inc(crate::service::metrics::Counter::FetchBytes, &[], article.bytes);
            tracing::info!(
                feed = %feed.name, item = %item.id, url = %article.url, pages = article.pages,
                chars = article.text.len(), "read article"
            );
            item.article = article.text.clone();
            (ArticleOutcome::Fetched { text: article.text, pages: article.pages }, true)
        }
        Err(e) => {
            stage.metrics.inc(crate::service::metrics::Counter::Articles, &[("result", "failed")], 1);
            let retry_at = next_try(pending.attempts).filter(|_| e.is_transient());
            match retry_at {
                Some(at) => tracing::warn!(
                    feed = %feed.name, item = %item.id, error = %e, attempt = pending.attempts + 1, next_try = %at,
                    "article not read; matching on the feed's text for now, trying the page again later"
                ),
                None => tracing::warn!(
                    feed = %feed.name, item = %item.id, error = %e, attempt = pending.attempts + 1,
                    "article not read; giving up on this page, the item is matched on the feed's text"
                ),
            }
            // The feed's text is matched once, at the first failure; retries match again only
            // when they succeed.
            (ArticleOutcome::Failed { error: failure_text(&e), retry_at }, pending.attempts == 0)
        }
    };
    let (alerts, stories) = if match_now {
        let feed = feed.clone();
        let config = Arc::clone(&config);
        let matched = tokio::task::spawn_blocking(move || {
            let alerts = alerts_for(&config, &feed, &item, Utc::now());
            for a in &alerts {
                tracing::info!(feed = %feed.name, rule = %a.rule, sink = %a.sink, alert = %a.id, title = %item.title, matched = ?a.matched, article = !item.article.is_empty(), "rule matched");
            }
            // The story is found on the text the item is matched on: the article, else the feed's.
            let stories =
                config.daemon.grouping().and_then(|g| crate::stories::Signature::of_item(&item).map(|s| (s, g)));
            (alerts, stories)
        })
        .await;
        match matched {
            Ok(matched) => matched,
            Err(e) => {
                // Matching panicked on this item: record it as a failure (so it is not tried for
                // ever) and let the retries decide; nothing is alerted from a broken match.
                tracing::error!(item_id = pending.item_id, error = %e, "matching an item panicked; recorded as a failed article");
                let retry_at = next_try(pending.attempts);
                let outcome = ArticleOutcome::Failed { error: format!("matching failed: {e}"), retry_at };
                return stage.store.commit_article(pending.item_id, outcome, Vec::new(), None).await.map(drop);
            }
        }
    } else {
        (Vec::new(), None)
    };
    let rules: Vec<String> = alerts.iter().map(|a| a.rule.clone()).collect();
    let Some(summary) = commit(stage, pending.item_id, outcome, alerts, stories, until, cancel).await? else {
        return Ok(());
    };
    if summary.story_duplicates > 0 {
        stage.metrics.inc(crate::service::metrics::Counter::StoryDuplicates, &[], summary.story_duplicates as u64);
    }
    if summary.new_alerts > 0 {
        for rule in rules {
            stage.metrics.inc(crate::service::metrics::Counter::Matches, &[("rule", &rule)], 1);
        }
        stage.wake.notify_waiters();
    }
    Ok(())
}

/// When a page that has failed `attempts` times before this failure is tried again, if at all.
fn next_try(attempts: u32) -> Option<chrono::DateTime<Utc>> {
    RETRY_DELAYS.get(attempts as usize).map(|d| Utc::now() + chrono::Duration::from_std(*d).unwrap_or_default())
}

/// The error as stored for `pantau items` and `pantau feeds`: the message, one line.
fn failure_text(e: &ArticleError) -> String {
    e.to_string().replace(['\n', '\r'], " ")
}
