//! Items: which keys and links are stored, and `commit_poll`, which writes a poll's new items,
//! their alerts, edits and re-keys and the feed's health in one transaction.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::db::{params, retry_conflicts, Conn, DbResult, Dialect, OptionalExtension, Value};
use chrono::Utc;

use super::columns::ms;
use super::outbox::{insert_item_alerts, AlertTarget, INSERT_ALERT};
use super::stories::join_story;
use super::{Result, Store};
use crate::model::{Item, NewAlert, PollStatus};

/// Everything one successful poll writes, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct PollRecord {
    /// The feed.
    pub feed: String,
    /// How reprints join stories; `None`: they do not.
    pub grouping: Option<crate::stories::Grouping>,
    /// Items of the document with the alerts each would raise if it is new. An item whose key
    /// is already stored is left alone and raises nothing.
    pub items: Vec<Polled>,
    /// Stored items whose content changed: the row is updated and the alerts (if the feed
    /// re-alerts on edits) are queued.
    pub edits: Vec<Polled>,
    /// Stored items that came back under a new key (a feed whose guids change): the row with
    /// this normalised link takes the new key, so the item is not new.
    pub rekeys: Vec<Rekey>,
    /// Validators for the next conditional GET.
    pub etag: Option<String>,
    /// Validators for the next conditional GET.
    pub last_modified: Option<String>,
    /// The status for the feed's health record (200 unless said otherwise).
    pub status: PollStatus,
    /// What the parser had to repair to read the document.
    pub recoveries: Vec<String>,
    /// The feed's own minimum polling interval, if the document states one.
    pub ttl: Option<Duration>,
}

/// One item of a poll: the item (its `id` is its key), what identifies it, and its alerts.
#[derive(Debug, Clone)]
pub struct Polled {
    /// The item.
    pub item: Item,
    /// Its normalised link, story key and content hash, as the pipeline derived them.
    pub identity: crate::identity::Identity,
    /// The alerts it raises.
    pub alerts: Vec<NewAlert>,
    /// Whether its page is to be fetched and the item matched once it is (its `alerts` are
    /// then empty: the article stage writes them).
    pub fetch_article: bool,
    /// Its story signature (none for a text too short, or one whose article is still to come).
    pub signature: Option<crate::stories::Signature>,
}

impl Polled {
    /// An item with the identity derived from it and its alerts.
    pub fn new(item: Item, alerts: Vec<NewAlert>) -> Polled {
        Polled {
            identity: crate::identity::Identity::of(&item),
            signature: crate::stories::Signature::of_item(&item),
            item,
            alerts,
            fetch_article: false,
        }
    }
}

/// A stored item found again under another key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rekey {
    /// The normalised link both share.
    pub link: String,
    /// The key it is stored under from now on.
    pub new_key: String,
}

/// What is stored already for some keys and links of one feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// Stored keys with the content hash of what was stored (None for rows from before 0003).
    pub keys: HashMap<String, Option<String>>,
    /// Normalised links stored for the feed.
    pub links: HashSet<String>,
    /// The stored article text of items being edited, when their feed reads articles and
    /// re-alerts on edits ([`Store::stored_articles`]): an edit is matched with it too.
    pub articles: HashMap<String, String>,
}

/// What a committed poll changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollSummary {
    /// Items not seen before.
    pub new_items: usize,
    /// Alerts written to the outbox.
    pub new_alerts: usize,
    /// Stored items updated because their content changed.
    pub edited: usize,
    /// Alerts not written because another feed already alerted the same story.
    pub cross_feed_duplicates: usize,
    /// Of those, the ones found as reprints (near duplicates) of an earlier item's story.
    pub story_duplicates: usize,
    /// New items that joined an earlier item's story.
    pub joined_stories: usize,
    /// New items whose page is to be fetched before they are matched.
    pub articles_queued: usize,
}

impl Store {
    /// Which of `keys` are already stored for `feed`.
    pub async fn known_keys(&self, feed: &str, keys: Vec<String>) -> Result<HashSet<String>> {
        let feed = feed.to_string();
        self.with(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT 1 FROM items JOIN feeds ON feeds.id = items.feed_id WHERE feeds.name = ?1 AND items.item_key = ?2",
            )?;
            let mut known = HashSet::new();
            for k in keys {
                if stmt.exists(params![feed, k])? {
                    known.insert(k);
                }
            }
            Ok(known)
        })
        .await
    }

    /// Which of `keys` and `links` are stored for `feed`.
    pub async fn known_items(&self, feed: &str, keys: Vec<String>, links: Vec<String>) -> Result<Known> {
        let feed = feed.to_string();
        self.with(move |c| {
            let feed_id: Option<i64> =
                c.query_row("SELECT id FROM feeds WHERE name = ?1", params![feed], |r| r.get(0)).optional()?;
            let mut known = Known::default();
            let Some(feed_id) = feed_id else { return Ok(known) };
            let mut by_key = c.prepare_cached("SELECT content_hash FROM items WHERE feed_id = ?1 AND item_key = ?2")?;
            for k in keys {
                if let Some(hash) =
                    by_key.query_row(params![feed_id, k], |r| r.get::<_, Option<String>>(0)).optional()?
                {
                    known.keys.insert(k, hash);
                }
            }
            let mut by_link = c.prepare_cached("SELECT 1 FROM items WHERE feed_id = ?1 AND link_norm = ?2")?;
            for l in links {
                if by_link.exists(params![feed_id, l])? {
                    known.links.insert(l);
                }
            }
            Ok(known)
        })
        .await
    }

    /// The stored article text of `feed`'s items with these keys, where one was read.
    pub async fn stored_articles(&self, feed: &str, keys: Vec<String>) -> Result<HashMap<String, String>> {
        let feed = feed.to_string();
        self.with(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT i.article FROM items i JOIN feeds f ON f.id = i.feed_id
                 WHERE f.name = ?1 AND i.item_key = ?2 AND i.article IS NOT NULL AND i.article != ''",
            )?;
            let mut out = HashMap::new();
            for k in keys {
                if let Some(text) = stmt.query_row(params![feed, k], |r| r.get::<_, String>(0)).optional()? {
                    out.insert(k, text);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Write a successful poll: new items and their alerts in one transaction, with the feed's
    /// health and validators. Items already stored are left alone and raise no alert.
    pub async fn commit_poll(&self, poll: PollRecord) -> Result<PollSummary> {
        let now = ms(Utc::now());
        // Two nodes committing polls that share stories can deadlock on PostgreSQL (see
        // retry_conflicts); everything the transaction wrote is rolled back, so it runs again.
        self.with(move |c| retry_conflicts(|| commit_poll_tx(c, &poll, now))).await
    }
}

/// [`Store::commit_poll`]'s transaction.
fn commit_poll_tx(c: &Conn, poll: &PollRecord, now: i64) -> DbResult<PollSummary> {
    let tx = c.transaction()?;
    let feed_id: i64 = tx.query_row("SELECT id FROM feeds WHERE name = ?1", params![poll.feed], |r| r.get(0))?;
    let mut summary = PollSummary::default();
    let mut refresh_statistics = false;
    {
        let mut insert_item = tx.prepare_cached(
            "INSERT INTO items (feed_id, item_key, title, link, published, updated, authors, categories,
                                summary, content, first_seen_at, link_norm, story_key, content_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT(feed_id, item_key) DO NOTHING
             RETURNING id",
        )?;
        let mut update_item = tx.prepare_cached(
            "UPDATE items SET title = ?3, link = ?4, published = ?5, updated = ?6, authors = ?7, categories = ?8,
                              summary = ?9, content = ?10, edited_at = ?11, link_norm = ?12, content_hash = ?14
             WHERE feed_id = ?1 AND item_key = ?2 AND CAST(?13 AS TEXT) IS NOT NULL
             RETURNING id, story_key",
        )?;
        let mut insert_alert = tx.prepare_cached(INSERT_ALERT)?;
        let feed_url: String = tx.query_row("SELECT url FROM feeds WHERE id = ?1", params![feed_id], |r| r.get(0))?;
        let mut want_article =
            tx.prepare_cached("UPDATE items SET article_state = 'pending', article_next_at = ?2 WHERE id = ?1")?;
        for Polled { item, identity: derived, alerts, fetch_article, signature } in &poll.items {
            let inserted: Option<i64> =
                insert_item.query_row(item_params(feed_id, item, now, derived), |r| r.get(0)).optional()?;
            let Some(item_id) = inserted else { continue };
            summary.new_items += 1;
            refresh_statistics |=
                item_id % ANALYZE_EVERY == 0 && (item_id as u64 / ANALYZE_EVERY as u64).is_power_of_two();
            if *fetch_article {
                want_article.execute(params![item_id, now])?;
                summary.articles_queued += 1;
            }
            let root = match (signature, &poll.grouping) {
                (Some(sig), Some(g)) => join_story(&tx, item_id, sig, g, now)?,
                _ => None,
            };
            summary.joined_stories += usize::from(root.is_some());
            let target = AlertTarget {
                item_id,
                story: Some(derived.story.as_str()),
                root: root.as_deref(),
                feed_id,
                feed: &poll.feed,
                feed_url: &feed_url,
            };
            let (n, dup, story_dup) = insert_item_alerts(&tx, &target, alerts, now)?;
            summary.new_alerts += n;
            summary.cross_feed_duplicates += dup;
            summary.story_duplicates += story_dup;
        }
        for Polled { item, identity: derived, alerts, .. } in &poll.edits {
            let row: Option<(i64, Option<String>)> = update_item
                .query_row(item_params(feed_id, item, now, derived), |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((item_id, story)) = row else { continue };
            summary.edited += 1;
            // A re-alert is about this version of the story: its own story key.
            let story = story.map(|s| format!("{s}#{}", derived.content_hash));
            for a in alerts {
                let matched = serde_json::to_string(&a.matched).unwrap_or_else(|_| "[]".into());
                summary.new_alerts += insert_alert
                    .execute(params![a.id, item_id, a.rule, a.sink, matched, a.payload, now, story, feed_id])?;
            }
        }
        let mut rekey = tx.prepare_cached(
            "UPDATE items SET item_key = ?3
             WHERE id = (SELECT id FROM items WHERE feed_id = ?1 AND link_norm = ?2 ORDER BY id DESC LIMIT 1)
               AND NOT EXISTS (SELECT 1 FROM items WHERE feed_id = ?1 AND item_key = ?3)",
        )?;
        for r in &poll.rekeys {
            rekey.execute(params![feed_id, r.link, r.new_key])?;
        }
    }
    tx.execute(
        "UPDATE feeds SET first_success_at = COALESCE(first_success_at, ?2), last_success_at = ?2,
                last_status = ?3, last_error = NULL, consecutive_failures = 0,
                etag = ?4, last_modified = ?5, items_seen = items_seen + ?6, last_recoveries = ?7,
                ttl_secs = ?8
         WHERE id = ?1",
        params![
            feed_id,
            now,
            poll.status.as_str(),
            poll.etag,
            poll.last_modified,
            summary.new_items as i64,
            (!poll.recoveries.is_empty()).then(|| poll.recoveries.join("; ")),
            poll.ttl.map(|t| t.as_secs().min(i64::MAX as u64) as i64)
        ],
    )?;
    tx.commit()?;
    if refresh_statistics && c.dialect() == Dialect::Postgres {
        // Statements are prepared once per connection, and PostgreSQL plans them by the
        // statistics it has: made while the tables were small, its plans scan them (a story
        // lookup, `pantau feeds`). Fresh statistics as a new database doubles in size (at 2,000,
        // 4,000, 8,000 … items) make it plan them again; autovacuum, which keeps them fresh
        // after that, comes too late while it fills. Only the columns that lookups filter and
        // join on (the texts would cost most). After the commit, and not an error of the poll
        // when it fails (an ANALYZE of another session at once).
        let analyze = "ANALYZE feeds, items (id, feed_id, item_key, first_seen_at, link_norm, story_key, story_id,
                               article_state, article_next_at),
                       alerts (id, item_id, sink, state, story_key, next_attempt_at, created_at), story_bands, story_bands_new";
        if let Err(e) = c.execute_batch(analyze) {
            tracing::debug!(error = %e, "could not refresh the database's statistics");
        }
    }
    Ok(summary)
}

/// The first mark at which PostgreSQL's statistics are refreshed, then at every doubling (see
/// `commit_poll_tx`).
const ANALYZE_EVERY: i64 = 2000;

/// The 14 parameters shared by the item INSERT and UPDATE statements.
fn item_params(feed_id: i64, item: &Item, now: i64, d: &crate::identity::Identity) -> Vec<Value> {
    params![
        feed_id,
        item.id,
        item.title,
        item.link,
        item.published.map(ms),
        item.updated.map(ms),
        serde_json::to_string(&item.authors).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&item.categories).unwrap_or_else(|_| "[]".into()),
        item.summary,
        item.content,
        now,
        d.link,
        d.story,
        d.content_hash
    ]
    .to_vec()
}
