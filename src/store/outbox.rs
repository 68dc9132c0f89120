//! The outbox: alerts written for items and for the operator, the due alerts of a sink, the
//! outcomes of delivery attempts, and redelivery.

use std::time::Duration;

use super::db::{params, Conn, DbResult, Dialect, OptionalExtension};
use chrono::{DateTime, Utc};

use super::columns::{from_ms, ms};
use super::{Result, Store};
use crate::model::{AlertState, Delivery, NewAlert, OutboxAlert};

/// What became of one delivery attempt, for [`Store::record_deliveries`]: a retry after the
/// delay decided, or given up on (the sink rejected it, or it ran out of attempts or time).
pub type Attempted = Delivery<Duration>;

/// What `redeliver` did with one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redelivered {
    /// It was dead and is pending again.
    Requeued,
    /// It is pending already.
    AlreadyPending,
    /// It was delivered; it is queued again all the same (the operator asked).
    RequeuedDelivered,
    /// No alert has that id.
    Unknown,
}

impl Store {
    /// Pending alerts of `sink` whose next attempt is due at `now`, oldest first.
    pub async fn due_alerts(&self, sink: &str, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxAlert>> {
        let sink = sink.to_string();
        self.with(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, sink, payload, attempts, created_at FROM alerts
                 WHERE sink = ?1 AND state = 'pending' AND next_attempt_at <= ?2
                 ORDER BY next_attempt_at, created_at, rowid LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![sink, ms(now), limit as i64], |r| {
                Ok(OutboxAlert {
                    id: r.get(0)?,
                    sink: r.get(1)?,
                    payload: r.get(2)?,
                    attempts: r.get::<_, i64>(3)?.try_into().unwrap_or(u32::MAX),
                    created_at: from_ms(r.get(4)?),
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// When the earliest pending alert of `sink` is due, if any is pending.
    pub async fn next_due(&self, sink: &str) -> Result<Option<DateTime<Utc>>> {
        let sink = sink.to_string();
        self.with(move |c| {
            c.query_row(
                "SELECT MIN(next_attempt_at) FROM alerts WHERE sink = ?1 AND state = 'pending'",
                params![sink],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map(|v| v.map(from_ms))
        })
        .await
    }

    /// Mark several alerts delivered in one transaction (the alerts of one digest message).
    pub async fn mark_all_delivered(&self, ids: Vec<String>) -> Result<()> {
        self.record_deliveries(ids.into_iter().map(|id| (id, Attempted::Delivered)).collect()).await
    }

    /// Record what became of several delivery attempts, in one transaction.
    pub async fn record_deliveries(&self, attempts: Vec<(String, Attempted)>) -> Result<()> {
        if attempts.is_empty() {
            return Ok(());
        }
        let now = ms(Utc::now());
        self.with(move |c| {
            let tx = c.transaction()?;
            {
                let mut delivered = tx.prepare_cached(
                    "UPDATE alerts SET state = 'delivered', attempts = attempts + 1, delivered_at = ?2, last_error = NULL
                     WHERE id = ?1",
                )?;
                let mut retry = tx.prepare_cached(
                    "UPDATE alerts SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
                     WHERE id = ?1 AND state = 'pending'",
                )?;
                let mut dead = tx.prepare_cached(
                    // A late answer of a node that lost the sink never undoes another's delivery.
                    "UPDATE alerts SET state = 'dead', attempts = attempts + 1, last_error = ?2
                     WHERE id = ?1 AND state = 'pending'",
                )?;
                for (id, attempt) in &attempts {
                    match attempt {
                        Attempted::Delivered => delivered.execute(params![id, now])?,
                        Attempted::Retry { after: delay, error } => {
                            let delay = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                            retry.execute(params![id, now.saturating_add(delay), error])?
                        }
                        Attempted::Dead(error) => dead.execute(params![id, error])?,
                    };
                }
            }
            tx.commit()
        })
        .await
    }

    /// Put alerts back into the outbox, due now, with a fresh attempt budget.
    pub async fn redeliver(&self, ids: Vec<String>) -> Result<Vec<(String, Redelivered)>> {
        let now = ms(Utc::now());
        self.with(move |c| {
            let tx = c.transaction()?;
            let mut out = Vec::new();
            for id in ids {
                let state: Option<AlertState> =
                    tx.query_row("SELECT state FROM alerts WHERE id = ?1", params![id], |r| r.get(0)).optional()?;
                let result = match state {
                    None => Redelivered::Unknown,
                    Some(AlertState::Pending) => Redelivered::AlreadyPending,
                    Some(s) => {
                        tx.execute(
                            "UPDATE alerts SET state = 'pending', attempts = 0, next_attempt_at = ?2, delivered_at = NULL,
                                               last_error = NULL
                             WHERE id = ?1",
                            params![id, now],
                        )?;
                        if s == AlertState::Dead {
                            Redelivered::Requeued
                        } else {
                            Redelivered::RequeuedDelivered
                        }
                    }
                };
                out.push((id, result));
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// Put every dead alert back into the outbox; returns how many.
    pub async fn redeliver_dead(&self) -> Result<usize> {
        let now = ms(Utc::now());
        self.with(move |c| {
            c.execute(
                "UPDATE alerts SET state = 'pending', attempts = 0, next_attempt_at = ?1, last_error = NULL, delivered_at = NULL
                 WHERE state = 'dead'",
                params![now],
            )
        })
        .await
    }
}

/// The item (and its feed) that alerts are written for.
pub(super) struct AlertTarget<'a> {
    pub(super) item_id: i64,
    pub(super) story: Option<&'a str>,
    /// The story key of the first item of the story this item joined as a reprint, if any.
    pub(super) root: Option<&'a str>,
    pub(super) feed_id: i64,
    pub(super) feed: &'a str,
    pub(super) feed_url: &'a str,
}

/// An item's alert into the outbox: id, item id, rule, sink, matched terms (JSON), payload,
/// time, story key, feed id. Cross-feed deduplication is the partial UNIQUE(story_key, rule,
/// sink) index: a second feed carrying the same story inserts nothing.
pub(super) const INSERT_ALERT: &str = "INSERT INTO alerts (id, item_id, rule, sink, matched, payload, state,
                                                          next_attempt_at, created_at, story_key, feed_id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7, ?8, ?9)
     ON CONFLICT DO NOTHING";

/// Insert an item's alerts; an alert whose id is there already is left alone, and one whose
/// story another feed already alerted for the same rule and sink is not written (this feed is
/// then named in the waiting alert's `also_in`). Returns the alerts written and the cross-feed
/// duplicates.
pub(super) fn insert_item_alerts(
    tx: &Conn,
    target: &AlertTarget<'_>,
    alerts: &[NewAlert],
    now: i64,
) -> DbResult<(usize, usize, usize)> {
    let mut exists = tx.prepare_cached("SELECT 1 FROM alerts WHERE id = ?1")?;
    let mut insert_alert = tx.prepare_cached(INSERT_ALERT)?;
    // A story already alerted from another feed: name this feed on that alert while it is
    // still waiting to go out.
    let mut also_in = tx.prepare_cached(match tx.dialect() {
        Dialect::Sqlite => {
            "UPDATE alerts SET payload = json_set(payload, '$.also_in',
                    json_insert(COALESCE(json_extract(payload, '$.also_in'), json('[]')), '$[#]',
                                json_object('name', ?4, 'url', ?5)))
             WHERE story_key = ?1 AND rule = ?2 AND sink = ?3 AND state = 'pending' AND json_valid(payload)
               AND NOT EXISTS (SELECT 1 FROM json_each(payload, '$.also_in') WHERE json_extract(value, '$.name') = ?4)"
        }
        // jsonb keeps no key order: the payload's keys come out in jsonb's order (the same
        // JSON object to any reader).
        Dialect::Postgres => {
            "UPDATE alerts SET payload = jsonb_set(payload::jsonb, '{also_in}',
                    COALESCE(payload::jsonb -> 'also_in', '[]'::jsonb)
                        || jsonb_build_array(jsonb_build_object('name', ?4::text, 'url', ?5::text)))::text
             WHERE story_key = ?1 AND rule = ?2 AND sink = ?3 AND state = 'pending'
               AND CASE WHEN pg_input_is_valid(payload, 'jsonb')
                        THEN NOT COALESCE(payload::jsonb -> 'also_in', '[]'::jsonb)
                                 @> jsonb_build_array(jsonb_build_object('name', ?4::text))
                        ELSE false END"
        }
    })?;
    let (mut written, mut duplicates, mut story_duplicates) = (0, 0, 0);
    for a in alerts {
        if exists.exists(params![a.id])? {
            continue;
        }
        // A reprint alerts under its story's key, unless the rule wants every copy.
        let story = match target.root {
            Some(root) if !a.every_copy => Some(root),
            _ => target.story,
        };
        let matched = serde_json::to_string(&a.matched).unwrap_or_else(|_| "[]".into());
        let n = insert_alert.execute(params![
            a.id,
            target.item_id,
            a.rule,
            a.sink,
            matched,
            a.payload,
            now,
            story,
            target.feed_id
        ])?;
        written += n;
        if n == 0 {
            duplicates += 1;
            story_duplicates += usize::from(story != target.story);
            also_in.execute(params![story, a.rule, a.sink, target.feed, target.feed_url])?;
        }
    }
    Ok((written, duplicates, story_duplicates))
}

/// Insert operator alerts (no item) into the outbox; an id already there is left alone.
pub(super) fn insert_operator_alerts(
    tx: &Conn,
    alerts: &[NewAlert],
    feed_id: Option<i64>,
    now: i64,
) -> DbResult<usize> {
    let mut n = 0;
    for a in alerts {
        let matched = serde_json::to_string(&a.matched).unwrap_or_else(|_| "[]".into());
        n += tx.execute(
            "INSERT INTO alerts (id, item_id, rule, sink, matched, payload, state, next_attempt_at, created_at, feed_id)
             VALUES (?1, NULL, ?2, ?3, ?4, ?5, 'pending', ?6, ?6, ?7)
             ON CONFLICT DO NOTHING",
            params![a.id, a.rule, a.sink, matched, a.payload, now, feed_id],
        )?;
    }
    Ok(n)
}
