//! Leases: a node's claim on a feed while it polls it, and on a sink while it drains the sink's
//! outbox. On a shared database (PostgreSQL) they are what lets any number of nodes share the
//! work: a claim is one conditional UPDATE (the row lock makes two claims of one row take turns,
//! and the second finds the first's lease), renewed while the work runs, released when it is
//! done; a node that dies leaves its leases to expire after `[daemon] lease`, and the other
//! nodes take the work over then. Times are the nodes' clocks (keep them in sync, e.g. NTP).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::columns::{from_ms, ms};
use super::db::{params, DbResult, OptionalExtension};
use super::{Result, Store};

/// What became of a claim on a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedClaim {
    /// This node holds the feed until its lease runs out (or it is released).
    Claimed,
    /// Another node holds it until `until`.
    Held {
        /// The node.
        node: String,
        /// When its lease runs out unless renewed.
        until: DateTime<Utc>,
    },
    /// The feed is not due until `next` (another node polled it since this node planned).
    NotDue {
        /// When it is due.
        next: DateTime<Utc>,
    },
    /// The database has no such feed (the config changed meanwhile).
    Unknown,
}

fn until(now: DateTime<Utc>, lease: Duration) -> i64 {
    ms(now) + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

impl Store {
    /// Claim `feed` for `node` for `lease` if no other node holds it and, with `due_by`, if it
    /// is due by then (its recorded next poll is not later); renews the lease when `node`
    /// holds it already.
    pub async fn claim_feed(
        &self,
        feed: &str,
        node: &str,
        lease: Duration,
        due_by: Option<DateTime<Utc>>,
    ) -> Result<FeedClaim> {
        let (feed, node) = (feed.to_string(), node.to_string());
        let now = Utc::now();
        self.with(move |c| {
            let claimed = c.exists(
                "UPDATE feeds SET lease_node = ?2, lease_until = ?3
                 WHERE name = ?1 AND (lease_until IS NULL OR lease_until <= ?4 OR lease_node = ?2)
                   AND (CAST(?5 AS BIGINT) IS NULL OR next_poll_at IS NULL OR next_poll_at <= ?5)
                 RETURNING id",
                params![feed, node, until(now, lease), ms(now), due_by.map(ms)],
            )?;
            if claimed {
                return Ok(FeedClaim::Claimed);
            }
            let row: Option<(Option<String>, Option<i64>, Option<i64>)> = c
                .query_row(
                    "SELECT lease_node, lease_until, next_poll_at FROM feeds WHERE name = ?1",
                    params![feed],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            Ok(match row {
                None => FeedClaim::Unknown,
                Some((Some(holder), Some(t), _)) if t > ms(now) && holder != node => {
                    FeedClaim::Held { node: holder, until: from_ms(t) }
                }
                Some((_, _, next)) => FeedClaim::NotDue { next: next.map_or(now, from_ms) },
            })
        })
        .await
    }

    /// Give up `node`'s lease on `feed` (after recording its next poll).
    pub async fn release_feed(&self, feed: &str, node: &str) -> Result<()> {
        let (feed, node) = (feed.to_string(), node.to_string());
        self.with(move |c| {
            c.execute(
                "UPDATE feeds SET lease_node = NULL, lease_until = NULL WHERE name = ?1 AND lease_node = ?2",
                params![feed, node],
            )?;
            Ok(())
        })
        .await
    }

    /// Claim (or renew) the sink `sink` for `node` for `lease`; false when another node holds
    /// it and its lease has not run out.
    pub async fn claim_sink(&self, sink: &str, node: &str, lease: Duration) -> Result<bool> {
        let (sink, node) = (sink.to_string(), node.to_string());
        let now = Utc::now();
        self.with(move |c| {
            c.exists(
                "INSERT INTO sink_leases (sink, node, lease_until) VALUES (?1, ?2, ?3)
                 ON CONFLICT (sink) DO UPDATE SET node = excluded.node, lease_until = excluded.lease_until
                 WHERE sink_leases.node = excluded.node OR sink_leases.lease_until <= ?4
                 RETURNING sink",
                params![sink, node, until(now, lease), ms(now)],
            )
        })
        .await
    }

    /// Take one of the `slots` polling slots of `host` for `node` for `lease` (`per_host` across
    /// the nodes); the slot taken, or `None` when every slot is held.
    pub async fn claim_host_slot(&self, host: &str, slots: usize, node: &str, lease: Duration) -> Result<Option<i64>> {
        let (host, node) = (host.to_string(), node.to_string());
        let now = Utc::now();
        self.with(move |c| {
            // The slots held now, in one read; then a claim on a free one (another node may
            // take it first: then the next).
            let held: std::collections::HashSet<i64> = c
                .query_map(
                    "SELECT slot FROM host_slots WHERE host = ?1 AND lease_until > ?2",
                    params![host, ms(now)],
                    |r| r.get(0),
                )?
                .collect::<DbResult<_>>()?;
            for slot in (0..slots.max(1) as i64).filter(|s| !held.contains(s)) {
                let taken = c.exists(
                    "INSERT INTO host_slots (host, slot, node, lease_until) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (host, slot) DO UPDATE SET node = excluded.node, lease_until = excluded.lease_until
                     WHERE host_slots.lease_until <= ?5
                     RETURNING slot",
                    params![host, slot, node, until(now, lease), ms(now)],
                )?;
                if taken {
                    return Ok(Some(slot));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Renew `node`'s hold on a host slot; false when it was lost (it ran out).
    pub async fn renew_host_slot(&self, host: &str, slot: i64, node: &str, lease: Duration) -> Result<bool> {
        let (host, node) = (host.to_string(), node.to_string());
        let now = Utc::now();
        self.with(move |c| {
            Ok(c.execute(
                "UPDATE host_slots SET lease_until = ?4 WHERE host = ?1 AND slot = ?2 AND node = ?3",
                params![host, slot, node, until(now, lease)],
            )? > 0)
        })
        .await
    }

    /// Give a host slot back.
    pub async fn release_host_slot(&self, host: &str, slot: i64, node: &str) -> Result<()> {
        let (host, node) = (host.to_string(), node.to_string());
        self.with(move |c| {
            c.execute("DELETE FROM host_slots WHERE host = ?1 AND slot = ?2 AND node = ?3", params![host, slot, node])?;
            Ok(())
        })
        .await
    }

    /// Give up every lease `node` holds (a node shutting down): the others take its work over
    /// at once instead of after the lease.
    pub async fn release_all(&self, node: &str) -> Result<()> {
        let node = node.to_string();
        self.with(move |c| {
            let tx = c.transaction()?;
            tx.execute("UPDATE feeds SET lease_node = NULL, lease_until = NULL WHERE lease_node = ?1", params![node])?;
            tx.execute("DELETE FROM sink_leases WHERE node = ?1", params![node])?;
            tx.execute("DELETE FROM host_slots WHERE node = ?1", params![node])?;
            tx.commit()
        })
        .await
    }

    /// How many live leases (feeds and sinks) each node holds now.
    pub async fn leases_held(&self) -> Result<HashMap<String, u64>> {
        let now = ms(Utc::now());
        self.with(move |c| {
            let mut held = HashMap::new();
            for r in c.rows(
                "SELECT lease_node, COUNT(*) FROM feeds WHERE lease_node IS NOT NULL AND lease_until > ?1 GROUP BY lease_node
                 UNION ALL
                 SELECT node, COUNT(*) FROM sink_leases WHERE lease_until > ?1 GROUP BY node",
                params![now],
            )? {
                *held.entry(r.get::<_, String>(0)?).or_insert(0) += r.get::<_, u64>(1)?;
            }
            Ok(held)
        })
        .await
    }
}
