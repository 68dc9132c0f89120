//! The article queue (`fetch_article`): the item table is the queue; items are claimed for a
//! lease, and `commit_article` records the outcome with the alerts of the match in one
//! transaction.

use std::time::Duration;

use super::db::{params, retry_conflicts, Conn, DbResult, Dialect, OptionalExtension};
use chrono::{DateTime, Utc};

use super::columns::{from_ms, item_from_row, ms};
use super::outbox::{insert_item_alerts, AlertTarget};
use super::stories::{join_story, root_story};
use super::{PollSummary, Result, Store};
use crate::model::{Item, NewAlert};

/// A stored item whose page is to be fetched (`fetch_article`).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingArticle {
    /// The item's row, for [`Store::commit_article`].
    pub item_id: i64,
    /// Feed name.
    pub feed: String,
    /// The item as stored (its `id` is its key).
    pub item: Item,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// What became of fetching one item's page.
#[derive(Debug, Clone, PartialEq)]
pub enum ArticleOutcome {
    /// The article's text was extracted from `pages` pages.
    Fetched {
        /// The text.
        text: String,
        /// How many pages it was joined from.
        pages: u32,
    },
    /// It could not be fetched or extracted; tried again at `retry_at`, or never (`None`).
    Failed {
        /// Why, for `pantau items`.
        error: String,
        /// When to try again.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Where fetching an item's page stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArticleState {
    /// Not wanted (the feed does not fetch articles, or the item could not alert).
    None,
    /// To be fetched; `attempts` failed so far, the last with `error`.
    Pending {
        /// Failed attempts so far.
        attempts: u32,
        /// The last attempt's error.
        error: Option<String>,
    },
    /// Fetched: its text has this many bytes.
    Fetched {
        /// Length of the stored text in bytes.
        chars: u64,
    },
    /// Given up on after the last retry.
    Failed {
        /// Why.
        error: String,
    },
}

impl std::fmt::Display for ArticleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArticleState::None => f.write_str("-"),
            ArticleState::Pending { attempts: 0, .. } => f.write_str("pending"),
            ArticleState::Pending { attempts, error } => {
                write!(f, "retrying after {attempts} failure{}", if *attempts == 1 { "" } else { "s" })?;
                match error {
                    Some(e) => write!(f, ": {e}"),
                    None => Ok(()),
                }
            }
            ArticleState::Fetched { chars } => write!(f, "fetched ({chars} bytes)"),
            ArticleState::Failed { error } => write!(f, "failed: {error}"),
        }
    }
}

impl Store {
    /// Items whose page is due to be fetched at `now`, oldest first, at most `limit`; each is
    /// claimed for `lease` (not handed out again meanwhile, unless pantau restarts).
    pub async fn claim_articles(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<PendingArticle>> {
        let until = ms(now + chrono::Duration::from_std(lease).unwrap_or_default());
        self.with(move |c| {
            let tx = c.transaction()?;
            let claimed = {
                // On a shared database, rows another node is claiming right now are skipped, not
                // waited for (and then claimed twice).
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT i.id, f.name, i.item_key, i.title, i.link, i.published, i.updated, i.authors,
                            i.categories, i.summary, i.content, COALESCE(i.article, ''), i.article_attempts
                     FROM items i JOIN feeds f ON f.id = i.feed_id
                     WHERE i.article_state = 'pending' AND i.article_next_at <= ?1
                     ORDER BY i.article_next_at, i.id LIMIT ?2{}",
                    if tx.dialect() == Dialect::Postgres { " FOR UPDATE OF i SKIP LOCKED" } else { "" }
                ))?;
                let rows = stmt.query_map(params![ms(now), limit as i64], |r| {
                    Ok(PendingArticle {
                        item_id: r.get(0)?,
                        feed: r.get(1)?,
                        item: item_from_row(r, 2)?,
                        attempts: r.get::<_, i64>(12)?.try_into().unwrap_or(0),
                    })
                })?;
                rows.collect::<DbResult<Vec<_>>>()?
            };
            // A row is claimed only while it is still due: another node may have claimed it
            // since the SELECT (on PostgreSQL this UPDATE then waits for that node's commit and
            // finds the row no longer due).
            let mut lease = tx.prepare_cached(
                "UPDATE items SET article_next_at = ?2
                 WHERE id = ?1 AND article_state = 'pending' AND article_next_at <= ?3",
            )?;
            let mut mine = Vec::with_capacity(claimed.len());
            for a in claimed {
                if lease.execute(params![a.item_id, until, ms(now)])? > 0 {
                    mine.push(a);
                }
            }
            drop(lease);
            tx.commit()?;
            Ok(mine)
        })
        .await
    }

    /// Hand back the claims of a previous run on pages never tried (a restart while they were
    /// being fetched), so they are fetched now rather than when the claim would have ended.
    pub async fn release_article_claims(&self, now: DateTime<Utc>) -> Result<usize> {
        let now = ms(now);
        self.with(move |c| {
            c.execute(
                "UPDATE items SET article_next_at = ?1
                 WHERE article_state = 'pending' AND article_attempts = 0 AND article_next_at > ?1",
                params![now],
            )
        })
        .await
    }

    /// When the next pending page is due, if any is pending.
    pub async fn next_article_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.with(|c| {
            c.query_row("SELECT MIN(article_next_at) FROM items WHERE article_state = 'pending'", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map(|v| v.map(from_ms))
        })
        .await
    }

    /// Record what fetching an item's page came to and write the alerts its (re-)match raised,
    /// in one transaction. Alerts already written for the item (by an earlier match on the
    /// feed's text) are left alone, so a later success alerts only on rules that had not.
    pub async fn commit_article(
        &self,
        item_id: i64,
        outcome: ArticleOutcome,
        alerts: Vec<NewAlert>,
        stories: Option<(crate::stories::Signature, crate::stories::Grouping)>,
    ) -> Result<PollSummary> {
        let now = ms(Utc::now());
        // As commit_poll: a transaction PostgreSQL rolled back to break a deadlock runs again.
        self.with(move |c| retry_conflicts(|| commit_article_tx(c, item_id, &outcome, &alerts, stories.as_ref(), now)))
            .await
    }
}

/// [`Store::commit_article`]'s transaction.
fn commit_article_tx(
    c: &Conn,
    item_id: i64,
    outcome: &ArticleOutcome,
    alerts: &[NewAlert],
    stories: Option<&(crate::stories::Signature, crate::stories::Grouping)>,
    now: i64,
) -> DbResult<PollSummary> {
    let tx = c.transaction()?;
    let row: Option<(i64, Option<String>, String, String)> = tx
        .query_row(
            "SELECT i.feed_id, i.story_key, f.name, f.url FROM items i JOIN feeds f ON f.id = i.feed_id
             WHERE i.id = ?1",
            params![item_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    // Pruned meanwhile: nothing to record.
    let Some((feed_id, story, feed, feed_url)) = row else { return Ok(PollSummary::default()) };
    // Only a page still pending is recorded: a claim that lapsed while its fetch ran
    // must not turn a page another task has read back into a pending one.
    let updated = match outcome {
        ArticleOutcome::Fetched { text, pages } => tx.execute(
            "UPDATE items SET article = ?2, article_state = 'fetched', article_error = NULL,
                    article_next_at = NULL, article_pages = ?3 WHERE id = ?1 AND article_state = 'pending'",
            params![item_id, text, pages],
        )?,
        ArticleOutcome::Failed { error, retry_at } => tx.execute(
            "UPDATE items SET article_state = CASE WHEN CAST(?3 AS BIGINT) IS NULL THEN 'failed' ELSE 'pending' END,
                    article_error = ?2, article_next_at = ?3, article_attempts = article_attempts + 1
             WHERE id = ?1 AND article_state = 'pending'",
            params![item_id, error, retry_at.map(ms)],
        )?,
    };
    if updated == 0 {
        return Ok(PollSummary::default());
    }
    // The story is found once, on the text the item is first matched on; a later match
    // (the article after a failure) keeps it.
    let known: Option<i64> = tx
        .query_row(
            "SELECT story_id FROM items WHERE id = ?1 AND (signature IS NOT NULL OR story_id IS NOT NULL)",
            params![item_id],
            |r| r.get::<_, Option<i64>>(0).map(|s| s.unwrap_or(item_id)),
        )
        .optional()?;
    let root = match (known, stories) {
        (Some(root), _) if root != item_id => root_story(&tx, root)?,
        (Some(_), _) | (None, None) => None,
        (None, Some((sig, g))) => join_story(&tx, item_id, sig, g, now)?,
    };
    let target = AlertTarget {
        item_id,
        story: story.as_deref(),
        root: root.as_deref(),
        feed_id,
        feed: &feed,
        feed_url: &feed_url,
    };
    let (new_alerts, cross_feed_duplicates, story_duplicates) = insert_item_alerts(&tx, &target, alerts, now)?;
    tx.commit()?;
    Ok(PollSummary {
        new_alerts,
        cross_feed_duplicates,
        story_duplicates,
        joined_stories: usize::from(root.is_some() && known.is_none()),
        ..PollSummary::default()
    })
}
