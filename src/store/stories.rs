//! Stories in the database: an item's signature, its LSH bands in `story_bands`, and the
//! story it joins (the closest earlier item first seen within the window).

use std::collections::HashSet;

use super::db::{params, Conn, DbResult, Dialect, OptionalExtension};

/// How many item ids apart the new band rows are moved into the big index.
const MERGE_EVERY: i64 = 2000;

/// Store an item's signature and bands and, when an item first seen within the window is close
/// enough, join its story: returns the story key of that story's first item.
pub(super) fn join_story(
    tx: &Conn,
    item_id: i64,
    sig: &crate::stories::Signature,
    grouping: &crate::stories::Grouping,
    now: i64,
) -> DbResult<Option<String>> {
    let since = now - i64::try_from(grouping.window.as_millis()).unwrap_or(i64::MAX / 2);
    // Item ids grow with time: the window is the items from the first one seen since then.
    let first: Option<i64> = tx
        .prepare_cached("SELECT id FROM items WHERE first_seen_at >= ?1 ORDER BY first_seen_at, id LIMIT 1")?
        .query_row(params![since], |r| r.get(0))
        .optional()?;
    let bands = sig.bands();
    let mut best: Option<(f64, i64)> = None;
    if let Some(first) = first {
        let mut lookup = tx.prepare_cached(match tx.dialect() {
            // CROSS JOIN keeps the band index the outer loop: without statistics the planner
            // could otherwise scan the items and probe the index for each.
            Dialect::Sqlite => {
                "SELECT b.item_id, i.signature, COALESCE(i.story_id, i.id)
                 FROM (SELECT item_id FROM story_bands WHERE band = ?1 AND item_id >= ?2
                       UNION ALL SELECT item_id FROM story_bands_new WHERE band = ?1 AND item_id >= ?2) b
                 CROSS JOIN items i
                 WHERE b.item_id <> ?3 AND i.id = b.item_id"
            }
            // PostgreSQL ignores CROSS JOIN's order; lookups by primary key keep it index-driven
            // whatever plan it makes (an item no longer stored reads as no signature: skipped).
            Dialect::Postgres => {
                "SELECT b.item_id, (SELECT signature FROM items WHERE id = b.item_id),
                        COALESCE((SELECT COALESCE(story_id, id) FROM items WHERE id = b.item_id), b.item_id)
                 FROM (SELECT item_id FROM story_bands WHERE band = ?1 AND item_id >= ?2
                       UNION ALL SELECT item_id FROM story_bands_new WHERE band = ?1 AND item_id >= ?2) b
                 WHERE b.item_id <> ?3"
            }
        })?;
        let mut seen = HashSet::new();
        for band in bands {
            let rows = lookup.query_map(params![band, first, item_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<Vec<u8>>>(1)?, r.get::<_, i64>(2)?))
            })?;
            for row in rows {
                let (candidate, bytes, story) = row?;
                if !seen.insert(candidate) {
                    continue;
                }
                let Some(other) = bytes.as_deref().and_then(crate::stories::Signature::from_bytes) else { continue };
                if grouping.threshold.joins(sig, &other) {
                    let s = sig.similarity(&other);
                    // The closest, and among equals the oldest story.
                    if best.is_none_or(|(bs, bstory)| s > bs || (s == bs && story < bstory)) {
                        best = Some((s, story));
                    }
                }
            }
        }
    }
    tx.prepare_cached("UPDATE items SET signature = ?2, story_id = ?3 WHERE id = ?1")?.execute(params![
        item_id,
        sig.to_bytes(),
        best.map(|b| b.1)
    ])?;
    let mut insert =
        tx.prepare_cached("INSERT INTO story_bands_new (band, item_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?;
    for band in bands {
        insert.execute(params![band, item_id])?;
    }
    // Every MERGE_EVERY items, the new rows move into the big index in band order: each of its
    // pages is then written once for many rows.
    if item_id % MERGE_EVERY == 0 {
        tx.execute_batch(match tx.dialect() {
            Dialect::Sqlite => {
                "INSERT INTO story_bands (band, item_id) SELECT band, item_id FROM story_bands_new WHERE true ORDER BY band, item_id
                 ON CONFLICT DO NOTHING;
                 DELETE FROM story_bands_new;"
            }
            // One statement: in READ COMMITTED each statement sees what other nodes committed
            // before it began, so a DELETE of its own would also remove rows committed between
            // the two, which the INSERT never copied. The rows deleted are the rows moved.
            Dialect::Postgres => {
                "WITH moved AS (DELETE FROM story_bands_new RETURNING band, item_id)
                 INSERT INTO story_bands (band, item_id) SELECT band, item_id FROM moved ORDER BY band, item_id
                 ON CONFLICT DO NOTHING"
            }
        })?;
    }
    match best {
        Some((similarity, story)) => {
            tracing::debug!(item = item_id, story, similarity, "item joins an earlier story");
            root_story(tx, story)
        }
        None => Ok(None),
    }
}

/// The story key of the item `story` (the first item of a story).
pub(super) fn root_story(tx: &Conn, story: i64) -> DbResult<Option<String>> {
    tx.prepare_cached("SELECT story_key FROM items WHERE id = ?1")?
        .query_row(params![story], |r| r.get::<_, Option<String>>(0))
        .optional()
        .map(Option::flatten)
}
