//! Nodes: each running pantau process's heartbeat and the config it runs.

use super::db::params;
use chrono::{DateTime, Utc};

use super::columns::{from_ms, ms};
use super::{Result, Store};

/// How long the row of a node that stopped beating is kept.
pub const NODE_KEPT: chrono::Duration = chrono::Duration::days(7);

/// One node as the database knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// Its name (`--node`, default hostname:pid).
    pub name: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub heartbeat_at: DateTime<Utc>,
    /// The hash of the config text it runs.
    pub config_hash: String,
}

impl Store {
    /// Record that node `name` (started at `started_at`, running the config of hash
    /// `config_hash`) is alive at `now`, and forget nodes silent for longer than [`NODE_KEPT`].
    pub async fn heartbeat(
        &self,
        name: String,
        started_at: DateTime<Utc>,
        config_hash: String,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.with(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO nodes (name, started_at, heartbeat_at, config_hash) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET started_at = ?2, heartbeat_at = ?3, config_hash = ?4",
                params![name, ms(started_at), ms(now), config_hash],
            )?;
            tx.execute("DELETE FROM nodes WHERE heartbeat_at < ?1", params![ms(now - NODE_KEPT)])?;
            tx.commit()
        })
        .await
    }

    /// Every node the database knows, the most recently alive first.
    pub async fn nodes(&self) -> Result<Vec<NodeRow>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT name, started_at, heartbeat_at, config_hash FROM nodes ORDER BY heartbeat_at DESC, name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(NodeRow {
                    name: r.get(0)?,
                    started_at: from_ms(r.get(1)?),
                    heartbeat_at: from_ms(r.get(2)?),
                    config_hash: r.get(3)?,
                })
            })?;
            rows.collect()
        })
        .await
    }
}
