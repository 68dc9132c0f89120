//! Feeds and their poll state: the configured rows, validators, attempts and failures, the
//! planned next poll and permanent moves.

use std::time::Duration;

use super::db::{params, OptionalExtension};
use chrono::{DateTime, Utc};

use super::columns::{from_ms, ms};
use super::{Result, Store};
use crate::model::{FeedRef, PollStatus};

/// What pantau remembers about a feed between polls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedState {
    /// Whether a poll of this feed ever succeeded (first_poll applies while it has not).
    pub polled_before: bool,
    /// ETag of the last good response, for If-None-Match.
    pub etag: Option<String>,
    /// Last-Modified of the last good response, for If-Modified-Since.
    pub last_modified: Option<String>,
    /// When the last poll attempt started.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// When the next poll was planned, if the scheduler recorded it.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Where a permanent redirect moved the feed, if it did (polled instead of the config URL).
    pub moved_to: Option<String>,
    /// The feed's own minimum polling interval from its last document (`<ttl>`, `sy:updatePeriod`).
    pub ttl: Option<Duration>,
    /// An adaptive feed's current interval, as the last plan left it.
    pub adaptive: Option<Duration>,
}

impl Store {
    /// Make sure every configured feed has a row, updating URLs that changed in the config.
    pub async fn sync_feeds(&self, feeds: Vec<FeedRef>) -> Result<()> {
        let now = ms(Utc::now());
        self.with(move |c| {
            let tx = c.transaction()?;
            for f in &feeds {
                tx.execute(
                    "INSERT INTO feeds (name, url, created_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(name) DO UPDATE SET
                         moved_to = CASE WHEN feeds.url = excluded.url THEN feeds.moved_to END,
                         url = excluded.url",
                    params![f.name, f.url, now],
                )?;
            }
            tx.commit()
        })
        .await
    }

    /// What is remembered about `feed` (defaults for a feed never seen).
    pub async fn feed_state(&self, feed: &str) -> Result<FeedState> {
        let feed = feed.to_string();
        self.with(move |c| {
            c.query_row(
                "SELECT first_success_at IS NOT NULL, etag, last_modified, last_attempt_at, consecutive_failures,
                        next_poll_at, moved_to, ttl_secs, adaptive_ms
                 FROM feeds WHERE name = ?1",
                params![feed],
                |r| {
                    Ok(FeedState {
                        polled_before: r.get(0)?,
                        etag: r.get(1)?,
                        last_modified: r.get(2)?,
                        last_attempt_at: r.get::<_, Option<i64>>(3)?.map(from_ms),
                        consecutive_failures: r.get::<_, i64>(4)?.try_into().unwrap_or(0),
                        next_poll_at: r.get::<_, Option<i64>>(5)?.map(from_ms),
                        moved_to: r.get(6)?,
                        ttl: r.get::<_, Option<i64>>(7)?.map(|s| Duration::from_secs(s.max(0) as u64)),
                        adaptive: r.get::<_, Option<i64>>(8)?.map(|m| Duration::from_millis(m.max(0) as u64)),
                    })
                },
            )
            .optional()
            .map(Option::unwrap_or_default)
        })
        .await
    }

    /// Note the start of a poll attempt.
    pub async fn record_attempt(&self, feed: &str) -> Result<()> {
        let feed = feed.to_string();
        let now = ms(Utc::now());
        self.with(move |c| {
            c.execute("UPDATE feeds SET last_attempt_at = ?2 WHERE name = ?1", params![feed, now]).map(drop)
        })
        .await
    }

    /// Record a poll that found the feed unchanged (HTTP 304).
    pub async fn record_not_modified(&self, feed: &str) -> Result<()> {
        let feed = feed.to_string();
        let now = ms(Utc::now());
        self.with(move |c| {
            c.execute(
                "UPDATE feeds SET last_success_at = ?2, last_status = '304', last_error = NULL, consecutive_failures = 0
                 WHERE name = ?1",
                params![feed, now],
            )
            .map(drop)
        })
        .await
    }

    /// Record a failed poll with its error; returns the number of consecutive failures.
    pub async fn record_failure(&self, feed: &str, status: PollStatus, error: &str) -> Result<u32> {
        let (feed, status, error) = (feed.to_string(), status.to_string(), error.to_string());
        self.with(move |c| {
            c.query_row(
                "UPDATE feeds SET last_status = ?2, last_error = ?3, consecutive_failures = consecutive_failures + 1
                 WHERE name = ?1 RETURNING consecutive_failures",
                params![feed, status, error],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|n| n.unwrap_or(0).try_into().unwrap_or(u32::MAX))
        })
        .await
    }

    /// Remember when `feed` is next due, and (an adaptive feed) the interval it goes on from.
    pub async fn set_next_poll(&self, feed: &str, at: DateTime<Utc>, adaptive: Option<Duration>) -> Result<()> {
        let feed = feed.to_string();
        let adaptive = adaptive.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.with(move |c| {
            c.execute(
                "UPDATE feeds SET next_poll_at = ?2, adaptive_ms = ?3 WHERE name = ?1",
                params![feed, ms(at), adaptive],
            )
            .map(drop)
        })
        .await
    }

    /// Remember that a permanent redirect moved `feed` to `url`.
    pub async fn set_moved(&self, feed: &str, url: &str) -> Result<()> {
        let (feed, url) = (feed.to_string(), url.to_string());
        self.with(move |c| c.execute("UPDATE feeds SET moved_to = ?2 WHERE name = ?1", params![feed, url]).map(drop))
            .await
    }
}
