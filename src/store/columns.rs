//! How pantau's values sit in columns: times as milliseconds, states as their text, items'
//! lists as JSON, and the rhythm derived from first-seen times.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::db::{DbResult, Row};
use crate::model::Item;

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

/// The average gap between polls that brought new items, from the first and last first-seen
/// times and the number of distinct ones (items first seen in the same poll share a timestamp).
pub(super) fn rhythm(first: Option<i64>, last: Option<i64>, batches: i64) -> Option<Duration> {
    match (first, last) {
        (Some(a), Some(b)) if batches > 1 => Some(Duration::from_millis(((b - a) / (batches - 1)).max(0) as u64)),
        _ => None,
    }
}

/// An item from ten columns starting at `first`: key, title, link, published, updated,
/// authors and categories (JSON lists), summary, content, article.
pub(super) fn item_from_row(r: &Row, first: usize) -> DbResult<Item> {
    let list = |s: String| serde_json::from_str::<Vec<String>>(&s).unwrap_or_default();
    Ok(Item {
        id: r.get(first)?,
        title: r.get(first + 1)?,
        link: r.get(first + 2)?,
        published: r.get::<_, Option<i64>>(first + 3)?.map(from_ms),
        updated: r.get::<_, Option<i64>>(first + 4)?.map(from_ms),
        authors: list(r.get(first + 5)?),
        categories: list(r.get(first + 6)?),
        summary: r.get(first + 7)?,
        content: r.get(first + 8)?,
        article: r.get(first + 9)?,
    })
}
