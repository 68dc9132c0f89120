//! What the inspection commands, `/healthz` and `/metrics` read: feed statuses, items and
//! stories, alerts, stored items for backtests, and outbox counts.

use std::time::Duration;

use super::db::{params, Conn, DbResult, Dialect};
use chrono::{DateTime, Utc};

use super::columns::{from_ms, item_from_row, ms, rhythm};
use super::{ArticleState, Result, Store};
use crate::model::{AlertState, Item, PollStatus};

/// A feed's health, for `pantau feeds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStatus {
    /// Feed name.
    pub name: String,
    /// URL (the configured one).
    pub url: String,
    /// Where a permanent redirect moved it, if anywhere.
    pub moved_to: Option<String>,
    /// Last poll attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Last successful poll (200 or 304).
    pub last_success_at: Option<DateTime<Utc>>,
    /// Last HTTP status or kind of failure.
    pub last_status: Option<PollStatus>,
    /// Last error message, cleared by a success.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Planned next poll.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Items stored for this feed.
    pub items: u64,
    /// Average time between two new items, from their first-seen times.
    pub avg_new_item_interval: Option<Duration>,
    /// What the last successful poll had to repair, if anything.
    pub recoveries: Option<String>,
    /// Items whose article was fetched (`fetch_article`).
    pub articles_fetched: u64,
    /// Items whose article could not be fetched (given up, or failed and waiting to retry).
    pub article_failures: u64,
    /// The newest error among those.
    pub last_article_error: Option<String>,
}

/// One stored item as `pantau items` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    /// Feed name.
    pub feed: String,
    /// When pantau first saw it.
    pub first_seen_at: DateTime<Utc>,
    /// Its key.
    pub key: String,
    /// Headline.
    pub title: String,
    /// Link.
    pub link: Option<String>,
    /// Publication date.
    pub published: Option<DateTime<Utc>>,
    /// Alerts it raised.
    pub alerts: u32,
    /// Whether its body was pruned by retention.
    pub pruned: bool,
    /// Where fetching its page stands (`fetch_article`).
    pub article: ArticleState,
    /// Its story: the row id of the story's first item (its own when it is the first).
    pub story: i64,
    /// How many later items joined its story (counted on the story's first item only).
    pub copies: u32,
}

/// One alert as `pantau alerts` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// Stable id.
    pub id: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// Pending, delivered or dead.
    pub state: AlertState,
    /// Attempts so far.
    pub attempts: u32,
    /// Rule name.
    pub rule: String,
    /// Sink name.
    pub sink: String,
    /// Feed name.
    pub feed: String,
    /// Item title.
    pub title: String,
    /// Item link.
    pub link: Option<String>,
    /// Next attempt, for pending alerts.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Last delivery error.
    pub last_error: Option<String>,
    /// The item's story id (see [`ItemRow::story`]); 0 for operator alerts.
    pub story: i64,
    /// Other feeds' copies recorded on the alert (`also_in`).
    pub copies: u32,
}

/// A stored item with the feed it came from, for backtests.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredItem {
    /// Feed name.
    pub feed: String,
    /// When pantau first saw it.
    pub first_seen_at: DateTime<Utc>,
    /// The item.
    pub item: Item,
    /// Its story id (see [`ItemRow::story`]).
    pub story: i64,
}

/// Count of outbox rows by state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting for (re)delivery.
    pub pending: u64,
    /// Accepted by their sink.
    pub delivered: u64,
    /// Given up on.
    pub dead: u64,
}

impl Store {
    /// Health of every feed pantau has a row for, by name.
    pub async fn feed_statuses(&self) -> Result<Vec<FeedStatus>> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT f.name, f.url, f.moved_to, f.last_attempt_at, f.last_success_at, f.last_status, f.last_error,
                        f.consecutive_failures, f.next_poll_at,
                        (SELECT COUNT(*) FROM items i WHERE i.feed_id = f.id),
                        (SELECT MIN(first_seen_at) FROM items i WHERE i.feed_id = f.id),
                        (SELECT MAX(first_seen_at) FROM items i WHERE i.feed_id = f.id),
                        (SELECT COUNT(DISTINCT first_seen_at) FROM items i WHERE i.feed_id = f.id),
                        f.last_recoveries,
                        (SELECT COUNT(*) FROM items i WHERE i.feed_id = f.id AND i.article_state = 'fetched'),
                        (SELECT COUNT(*) FROM items i WHERE i.feed_id = f.id AND (i.article_state = 'failed'
                            OR (i.article_state = 'pending' AND i.article_attempts > 0))),
                        (SELECT article_error FROM items i WHERE i.feed_id = f.id AND i.article_error IS NOT NULL
                            AND i.article_state != 'fetched' ORDER BY i.id DESC LIMIT 1)
                 FROM feeds f ORDER BY f.name{}",
                bytewise(c)
            ))?;
            let rows = stmt.query_map([], |r| {
                let avg = rhythm(r.get(10)?, r.get(11)?, r.get(12)?);
                Ok(FeedStatus {
                    name: r.get(0)?,
                    url: r.get(1)?,
                    moved_to: r.get(2)?,
                    last_attempt_at: r.get::<_, Option<i64>>(3)?.map(from_ms),
                    last_success_at: r.get::<_, Option<i64>>(4)?.map(from_ms),
                    last_status: r.get(5)?,
                    last_error: r.get(6)?,
                    consecutive_failures: r.get::<_, i64>(7)?.try_into().unwrap_or(0),
                    next_poll_at: r.get::<_, Option<i64>>(8)?.map(from_ms),
                    items: r.get::<_, i64>(9)?.try_into().unwrap_or(0),
                    avg_new_item_interval: avg,
                    recoveries: r.get(13)?,
                    articles_fetched: r.get::<_, i64>(14)?.max(0) as u64,
                    article_failures: r.get::<_, i64>(15)?.max(0) as u64,
                    last_article_error: r.get(16)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// The newest items first, of one feed or all.
    pub async fn recent_items(&self, feed: Option<String>, limit: usize) -> Result<Vec<ItemRow>> {
        self.items_where(feed, None, limit).await
    }

    /// The items of the story `story` (a story id as `pantau items` shows it), first first.
    pub async fn story_items(&self, story: i64, limit: usize) -> Result<Vec<ItemRow>> {
        self.items_where(None, Some(story), limit).await
    }

    async fn items_where(&self, feed: Option<String>, story: Option<i64>, limit: usize) -> Result<Vec<ItemRow>> {
        // A story is listed in the order its copies came; the newest items, newest first.
        let (filter, order) = match story {
            Some(_) => ("(i.id = ?3 OR i.story_id = ?3)", "i.first_seen_at, i.id"),
            None => ("CAST(?3 AS BIGINT) IS NULL", "i.first_seen_at DESC, i.id DESC"),
        };
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT f.name, i.first_seen_at, i.item_key, i.title, i.link, i.published,
                        (SELECT COUNT(*) FROM alerts a WHERE a.item_id = i.id), i.pruned,
                        i.article_state, i.article_error, i.article_attempts, octet_length(i.article),
                        COALESCE(i.story_id, i.id),
                        CASE WHEN i.story_id IS NULL THEN (SELECT COUNT(*) FROM items j WHERE j.story_id = i.id) ELSE 0 END
                 FROM items i JOIN feeds f ON f.id = i.feed_id
                 WHERE (CAST(?1 AS TEXT) IS NULL OR f.name = ?1) AND {filter}
                 ORDER BY {order} LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![feed, limit as i64, story], |r| {
                Ok(ItemRow {
                    feed: r.get(0)?,
                    first_seen_at: from_ms(r.get(1)?),
                    key: r.get(2)?,
                    title: r.get(3)?,
                    link: r.get(4)?,
                    published: r.get::<_, Option<i64>>(5)?.map(from_ms),
                    alerts: r.get::<_, i64>(6)?.try_into().unwrap_or(0),
                    pruned: r.get(7)?,
                    story: r.get(12)?,
                    copies: r.get::<_, i64>(13)?.try_into().unwrap_or(0),
                    article: match r.get::<_, Option<String>>(8)?.as_deref() {
                        None => ArticleState::None,
                        Some("fetched") => {
                            ArticleState::Fetched { chars: r.get::<_, Option<i64>>(11)?.unwrap_or(0).max(0) as u64 }
                        }
                        Some("failed") => {
                            ArticleState::Failed { error: r.get::<_, Option<String>>(9)?.unwrap_or_default() }
                        }
                        Some(_) => ArticleState::Pending {
                            attempts: r.get::<_, i64>(10)?.try_into().unwrap_or(0),
                            error: r.get(9)?,
                        },
                    },
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// The newest alerts first; only dead ones and pending ones that failed at least once when
    /// `failed_only`.
    pub async fn recent_alerts(&self, failed_only: bool, limit: usize) -> Result<Vec<AlertRow>> {
        self.with(move |c| {
            let mut stmt = c.prepare(match c.dialect() {
                Dialect::Sqlite => {
                    "SELECT a.id, a.created_at, a.state, a.attempts, a.rule, a.sink, COALESCE(f.name, ''),
                            COALESCE(i.title, json_extract(a.payload, '$.item.title'), ''),
                            COALESCE(i.link, json_extract(a.payload, '$.item.link')),
                            a.next_attempt_at, a.last_error, COALESCE(i.story_id, i.id, 0),
                            CASE WHEN json_valid(a.payload) THEN COALESCE(json_array_length(a.payload, '$.also_in'), 0) ELSE 0 END
                     FROM alerts a LEFT JOIN items i ON i.id = a.item_id LEFT JOIN feeds f ON f.id = a.feed_id
                     WHERE ?1 = 0 OR a.state = 'dead' OR (a.state = 'pending' AND a.last_error IS NOT NULL)
                     ORDER BY a.created_at DESC, a.rowid DESC LIMIT ?2"
                }
                Dialect::Postgres => {
                    "SELECT a.id, a.created_at, a.state, a.attempts, a.rule, a.sink, COALESCE(f.name, ''),
                            COALESCE(i.title, CASE WHEN pg_input_is_valid(a.payload, 'jsonb')
                                                   THEN a.payload::jsonb -> 'item' ->> 'title' END, ''),
                            COALESCE(i.link, CASE WHEN pg_input_is_valid(a.payload, 'jsonb')
                                                  THEN a.payload::jsonb -> 'item' ->> 'link' END),
                            a.next_attempt_at, a.last_error, COALESCE(i.story_id, i.id, 0),
                            CASE WHEN pg_input_is_valid(a.payload, 'jsonb')
                                      AND jsonb_typeof(a.payload::jsonb -> 'also_in') = 'array'
                                 THEN CAST(jsonb_array_length(a.payload::jsonb -> 'also_in') AS BIGINT) ELSE 0 END
                     FROM alerts a LEFT JOIN items i ON i.id = a.item_id LEFT JOIN feeds f ON f.id = a.feed_id
                     WHERE ?1 = 0 OR a.state = 'dead' OR (a.state = 'pending' AND a.last_error IS NOT NULL)
                     ORDER BY a.created_at DESC, a.rowid DESC LIMIT ?2"
                }
            })?;
            let rows = stmt.query_map(params![failed_only as i64, limit as i64], |r| {
                let state: AlertState = r.get(2)?;
                Ok(AlertRow {
                    id: r.get(0)?,
                    created_at: from_ms(r.get(1)?),
                    attempts: r.get::<_, i64>(3)?.try_into().unwrap_or(0),
                    rule: r.get(4)?,
                    sink: r.get(5)?,
                    feed: r.get(6)?,
                    title: r.get(7)?,
                    link: r.get(8)?,
                    next_attempt_at: if state == AlertState::Pending { Some(from_ms(r.get(9)?)) } else { None },
                    last_error: r.get(10)?,
                    story: r.get(11)?,
                    copies: r.get::<_, i64>(12)?.try_into().unwrap_or(0),
                    state,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Items first seen at or after `since`, oldest first, at most `limit`.
    pub async fn items_since(&self, since: DateTime<Utc>, limit: usize) -> Result<Vec<StoredItem>> {
        self.with(move |c| {
            let mut stmt = c.prepare(
                "SELECT f.name, i.first_seen_at, i.item_key, i.title, i.link, i.published, i.updated, i.authors,
                        i.categories, i.summary, i.content, COALESCE(i.article, ''), COALESCE(i.story_id, i.id)
                 FROM items i JOIN feeds f ON f.id = i.feed_id
                 WHERE i.first_seen_at >= ?1 ORDER BY i.first_seen_at, i.id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![ms(since), limit as i64], |r| {
                Ok(StoredItem {
                    feed: r.get(0)?,
                    first_seen_at: from_ms(r.get(1)?),
                    item: item_from_row(r, 2)?,
                    story: r.get(12)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Pending alerts per sink and the creation time of the oldest pending alert.
    pub async fn pending_summary(&self) -> Result<(Vec<(String, u64)>, Option<DateTime<Utc>>)> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT sink, COUNT(*) FROM alerts WHERE state = 'pending' GROUP BY sink ORDER BY sink{}",
                bytewise(c)
            ))?;
            let per_sink = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.try_into().unwrap_or(0))))?
                .collect::<DbResult<Vec<_>>>()?;
            let oldest: Option<i64> =
                c.query_row("SELECT MIN(created_at) FROM alerts WHERE state = 'pending'", [], |r| r.get(0))?;
            Ok((per_sink, oldest.map(from_ms)))
        })
        .await
    }

    /// How many alerts each sink has in each state: (sink, state, count).
    pub async fn alert_counts_by_sink(&self) -> Result<Vec<(String, AlertState, u64)>> {
        self.with(|c| {
            let by = bytewise(c);
            let mut stmt = c.prepare(&format!(
                "SELECT sink, state, COUNT(*) FROM alerts GROUP BY sink, state ORDER BY sink{by}, state{by}"
            ))?;
            let rows =
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.try_into().unwrap_or(0))))?;
            rows.collect()
        })
        .await
    }

    /// How many alerts are in each state.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
        self.with(|c| {
            let mut counts = OutboxCounts::default();
            for r in c.rows("SELECT state, COUNT(*) FROM alerts GROUP BY state", [])? {
                let n: i64 = r.get(1)?;
                match r.get::<_, AlertState>(0)? {
                    AlertState::Pending => counts.pending = n as u64,
                    AlertState::Delivered => counts.delivered = n as u64,
                    AlertState::Dead => counts.dead = n as u64,
                }
            }
            Ok(counts)
        })
        .await
    }
}

/// What makes `ORDER BY` compare text as SQLite does (bytewise: "B" before "a") on either
/// engine: PostgreSQL compares by the database's collation, which is often a language's
/// (`en_US.UTF-8` puts "a" before "B"), unless told `COLLATE "C"`.
fn bytewise(c: &Conn) -> &'static str {
    match c.dialect() {
        Dialect::Sqlite => "",
        Dialect::Postgres => " COLLATE \"C\"",
    }
}
