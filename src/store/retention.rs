//! Retention: bodies emptied, items and old alerts deleted, in small transactions.

use super::db::params;
use chrono::{DateTime, Utc};

use super::columns::ms;
use super::{Result, Store};

/// What one retention pass removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneStats {
    /// Delivered or dead alerts deleted.
    pub alerts: usize,
    /// Items (with their keys) deleted.
    pub items: usize,
    /// Item bodies emptied.
    pub bodies: usize,
}

impl Store {
    /// Retention: empty the bodies of items first seen before `bodies_before`, delete items
    /// (and so their keys) first seen before `keys_before`, and delete delivered or dead alerts
    /// created before `alerts_before`, `batch` rows per transaction so polling is never held up
    /// for long.
    pub async fn prune(
        &self,
        bodies_before: DateTime<Utc>,
        keys_before: DateTime<Utc>,
        alerts_before: DateTime<Utc>,
        batch: usize,
    ) -> Result<PruneStats> {
        let mut stats = PruneStats::default();
        let batch = batch.max(1) as i64;
        loop {
            let (b, k, a) = (ms(bodies_before), ms(keys_before), ms(alerts_before));
            let round = self
                .with(move |c| {
                    let tx = c.transaction()?;
                    let alerts = tx.execute(
                        "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts
                            WHERE state IN ('delivered', 'dead') AND created_at < ?1 LIMIT ?2)",
                        params![a, batch],
                    )?;
                    // Items with a pending alert are kept whole until it is delivered.
                    let items = tx.execute(
                        "DELETE FROM items WHERE id IN (SELECT i.id FROM items i WHERE i.first_seen_at < ?1
                            AND NOT EXISTS (SELECT 1 FROM alerts p WHERE p.item_id = i.id AND p.state = 'pending') LIMIT ?2)",
                        params![k, batch],
                    )?;
                    let bodies = tx.execute(
                        "UPDATE items SET summary = '', content = '', article = NULL, signature = NULL, pruned = 1 WHERE id IN (SELECT i.id FROM items i
                            WHERE i.pruned = 0 AND i.first_seen_at < ?1
                            AND NOT EXISTS (SELECT 1 FROM alerts p WHERE p.item_id = i.id AND p.state = 'pending') LIMIT ?2)",
                        params![b, batch],
                    )?;
                    tx.commit()?;
                    Ok((alerts, items, bodies))
                })
                .await?;
            stats.alerts += round.0;
            stats.items += round.1;
            stats.bodies += round.2;
            if round.0 < batch as usize && round.1 < batch as usize && round.2 < batch as usize {
                // The band index goes with the bodies: item ids grow with time, so the rows of
                // items first seen before `bodies_before` are those below the first id since.
                self.with(move |c| {
                    let first =
                        "COALESCE((SELECT id FROM items WHERE first_seen_at >= ?1 ORDER BY first_seen_at, id LIMIT 1),
                                          (SELECT MAX(id) + 1 FROM items), 0)";
                    c.execute(&format!("DELETE FROM story_bands WHERE item_id < {first}"), params![b])?;
                    c.execute(&format!("DELETE FROM story_bands_new WHERE item_id < {first}"), params![b])
                })
                .await?;
                return Ok(stats);
            }
            tokio::task::yield_now().await;
        }
    }
}
