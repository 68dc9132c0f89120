//! A feed's health for operator alerts (failing since when, quiet for how long, its rhythm),
//! and the operator alerts queued with the flags that say the operator was told.

use std::time::Duration;

use super::db::{params, OptionalExtension};
use chrono::{DateTime, Utc};

use super::columns::{from_ms, ms, rhythm};
use super::outbox::insert_operator_alerts;
use super::{Result, Store};
use crate::model::NewAlert;

/// How long a feed has been failing or quiet, for operator alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedHealth {
    /// Since when it fails (its last success, or its creation); `None` while it works.
    pub failing_since: Option<DateTime<Utc>>,
    /// Whether an operator alert about it failing went out and no "recovered" alert yet.
    pub alerted: bool,
    /// When the last poll that brought new items happened (its items' first-seen time).
    pub last_new_items_at: Option<DateTime<Utc>>,
    /// The feed's rhythm: average time between polls that brought new items.
    pub rhythm: Option<Duration>,
    /// Polls that brought new items (still in the database).
    pub batches: u64,
    /// Whether an operator alert about it being quiet went out and no "publishing again" yet.
    pub quiet_alerted: bool,
    /// The error of its last failed poll, while it fails.
    pub last_error: Option<String>,
}

/// Which operator-alert flag of a feed a health alert sets or clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthFlag {
    /// The feed fails to poll.
    Failing,
    /// The feed publishes nothing for much longer than its rhythm.
    Quiet,
}

impl Store {
    /// How long `feed` has been failing or quiet, its rhythm, and whether the operator was told.
    pub async fn feed_health(&self, feed: &str) -> Result<FeedHealth> {
        let feed = feed.to_string();
        self.with(move |c| {
            c.query_row(
                "SELECT f.consecutive_failures, COALESCE(f.last_success_at, f.created_at),
                        f.health_alerted_at IS NOT NULL, f.quiet_alerted_at IS NOT NULL,
                        (SELECT MIN(first_seen_at) FROM items i WHERE i.feed_id = f.id),
                        (SELECT MAX(first_seen_at) FROM items i WHERE i.feed_id = f.id),
                        (SELECT COUNT(DISTINCT first_seen_at) FROM items i WHERE i.feed_id = f.id),
                        f.last_error
                 FROM feeds f WHERE f.name = ?1",
                params![feed],
                |r| {
                    let failures: i64 = r.get(0)?;
                    let (min, max, batches): (Option<i64>, Option<i64>, i64) = (r.get(4)?, r.get(5)?, r.get(6)?);
                    Ok(FeedHealth {
                        failing_since: (failures > 0).then(|| r.get::<_, i64>(1).map(from_ms)).transpose()?,
                        alerted: r.get(2)?,
                        quiet_alerted: r.get(3)?,
                        last_new_items_at: max.map(from_ms),
                        rhythm: rhythm(min, max, batches),
                        batches: batches.max(0) as u64,
                        last_error: r.get(7)?,
                    })
                },
            )
            .optional()
            .map(Option::unwrap_or_default)
        })
        .await
    }

    /// Queue operator alerts about `feed` (no item) and set or clear one of its "operator was
    /// told" flags, in one transaction.
    pub async fn queue_health_alerts(
        &self,
        feed: &str,
        alerts: Vec<NewAlert>,
        flag: HealthFlag,
        alerted: bool,
    ) -> Result<usize> {
        let feed = feed.to_string();
        let now = ms(Utc::now());
        self.with(move |c| {
            let tx = c.transaction()?;
            let feed_id: i64 = tx.query_row("SELECT id FROM feeds WHERE name = ?1", params![feed], |r| r.get(0))?;
            let n = insert_operator_alerts(&tx, &alerts, Some(feed_id), now)?;
            let sql = match flag {
                HealthFlag::Failing => "UPDATE feeds SET health_alerted_at = ?2 WHERE id = ?1",
                HealthFlag::Quiet => "UPDATE feeds SET quiet_alerted_at = ?2 WHERE id = ?1",
            };
            tx.execute(sql, params![feed_id, alerted.then_some(now)])?;
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    /// Queue operator alerts that concern no feed (a refused config reload).
    pub async fn queue_operator_alerts(&self, alerts: Vec<NewAlert>) -> Result<usize> {
        let now = ms(Utc::now());
        self.with(move |c| {
            let tx = c.transaction()?;
            let n = insert_operator_alerts(&tx, &alerts, None, now)?;
            tx.commit()?;
            Ok(n)
        })
        .await
    }
}
