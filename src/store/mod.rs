//! Storage: the only home of SQL. Feeds and their poll state, items deduplicated by a UNIQUE
//! constraint, and the alert outbox written in the same transaction as the items it is about.
//!
//! The interface speaks pantau's own types (no rusqlite types leak out), so another backend can
//! slot in behind it. Every call runs on tokio's blocking pool, never on the async runtime.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::model::{FeedRef, Item, NewAlert, OutboxAlert};

/// Numbered migrations; `PRAGMA user_version` records how many were applied.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql")];

/// Errors of the storage stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The database was written by a newer pantau.
    #[error("database {path} has schema version {found}, newer than this pantau understands ({known}); upgrade pantau or point it at another database")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// Another pantau process holds the database.
    #[error("database {path} is in use by another pantau process (lock file {lock}); stop it first, or use another database")]
    Locked {
        /// The database file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// A file-system error around the database.
    #[error("database {path}: {source}")]
    Io {
        /// The database file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The blocking task running the query was lost (a panic in it).
    #[error("database task failed: {0}")]
    Task(String),
}

type Result<T> = std::result::Result<T, StoreError>;

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
}

/// Everything one successful poll writes, in one transaction.
#[derive(Debug, Clone)]
pub struct PollRecord {
    /// The feed.
    pub feed: String,
    /// Items of the document with the alerts each would raise if it is new.
    pub items: Vec<(Item, Vec<NewAlert>)>,
    /// Validators for the next conditional GET.
    pub etag: Option<String>,
    /// Validators for the next conditional GET.
    pub last_modified: Option<String>,
    /// Short status such as "200" for the feed's health record.
    pub status: String,
}

/// What a committed poll changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollSummary {
    /// Items not seen before.
    pub new_items: usize,
    /// Alerts written to the outbox.
    pub new_alerts: usize,
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

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

/// The lock that keeps a second pantau off the same database; released on drop.
#[derive(Debug)]
pub struct InstanceLock {
    _file: std::fs::File,
}

/// Take the single-instance lock for the database at `path`.
pub fn lock_instance(path: &Path) -> Result<InstanceLock> {
    let mut lock = path.as_os_str().to_owned();
    lock.push(".lock");
    let lock = PathBuf::from(lock);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    match file.try_lock() {
        Ok(()) => Ok(InstanceLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked { path: path.to_path_buf(), lock }),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Io { path: path.to_path_buf(), source }),
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

impl Store {
    /// Open (creating if needed) the database at `path` and bring its schema up to date.
    pub async fn open(path: &Path) -> Result<Store> {
        let path = path.to_path_buf();
        let p = path.clone();
        let conn = tokio::task::spawn_blocking(move || open_sync(&p))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(Store { conn: Arc::new(Mutex::new(conn)), path })
    }

    /// Run `f` with the connection on the blocking pool.
    async fn with<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock poisons it; the connection itself is still sound
            // (SQLite rolls back the open transaction), so keep using it.
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard).map_err(|source| StoreError::Sqlite { path, source })
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Make sure every configured feed has a row, updating URLs that changed in the config.
    pub async fn sync_feeds(&self, feeds: Vec<FeedRef>) -> Result<()> {
        let now = ms(Utc::now());
        self.with(move |c| {
            let tx = c.transaction()?;
            for f in &feeds {
                tx.execute(
                    "INSERT INTO feeds (name, url, created_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(name) DO UPDATE SET url = excluded.url",
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
                "SELECT first_success_at IS NOT NULL, etag, last_modified, last_attempt_at, consecutive_failures
                 FROM feeds WHERE name = ?1",
                params![feed],
                |r| {
                    Ok(FeedState {
                        polled_before: r.get(0)?,
                        etag: r.get(1)?,
                        last_modified: r.get(2)?,
                        last_attempt_at: r.get::<_, Option<i64>>(3)?.map(from_ms),
                        consecutive_failures: r.get::<_, i64>(4)?.try_into().unwrap_or(0),
                    })
                },
            )
            .optional()
            .map(Option::unwrap_or_default)
        })
        .await
    }

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

    /// Note the start of a poll attempt.
    pub async fn record_attempt(&self, feed: &str) -> Result<()> {
        let feed = feed.to_string();
        let now = ms(Utc::now());
        self.with(move |c| c.execute("UPDATE feeds SET last_attempt_at = ?2 WHERE name = ?1", params![feed, now]).map(drop))
            .await
    }

    /// Write a successful poll: new items and their alerts in one transaction, with the feed's
    /// health and validators. Items already stored are left alone and raise no alert.
    pub async fn commit_poll(&self, poll: PollRecord) -> Result<PollSummary> {
        let now = ms(Utc::now());
        self.with(move |c| {
            let tx = c.transaction()?;
            let feed_id: i64 = tx.query_row("SELECT id FROM feeds WHERE name = ?1", params![poll.feed], |r| r.get(0))?;
            let mut summary = PollSummary::default();
            {
                let mut insert_item = tx.prepare_cached(
                    "INSERT INTO items (feed_id, item_key, title, link, published, updated, authors, categories,
                                        summary, content, first_seen_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT(feed_id, item_key) DO NOTHING",
                )?;
                let mut insert_alert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO alerts (id, item_id, rule, sink, matched, payload, state, next_attempt_at, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7)",
                )?;
                for (item, alerts) in &poll.items {
                    let inserted = insert_item.execute(params![
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
                    ])?;
                    if inserted == 0 {
                        continue;
                    }
                    summary.new_items += 1;
                    let item_id = tx.last_insert_rowid();
                    for a in alerts {
                        let matched = serde_json::to_string(&a.matched).unwrap_or_else(|_| "[]".into());
                        summary.new_alerts += insert_alert.execute(params![a.id, item_id, a.rule, a.sink, matched, a.payload, now])?;
                    }
                }
            }
            tx.execute(
                "UPDATE feeds SET first_success_at = COALESCE(first_success_at, ?2), last_success_at = ?2,
                        last_status = ?3, last_error = NULL, consecutive_failures = 0,
                        etag = ?4, last_modified = ?5, items_seen = items_seen + ?6
                 WHERE id = ?1",
                params![feed_id, now, poll.status, poll.etag, poll.last_modified, summary.new_items as i64],
            )?;
            tx.commit()?;
            Ok(summary)
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
    pub async fn record_failure(&self, feed: &str, status: &str, error: &str) -> Result<u32> {
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

    /// Pending alerts of `sink` whose next attempt is due at `now`, oldest first.
    pub async fn due_alerts(&self, sink: &str, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxAlert>> {
        let sink = sink.to_string();
        self.with(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, sink, payload, attempts FROM alerts
                 WHERE sink = ?1 AND state = 'pending' AND next_attempt_at <= ?2
                 ORDER BY next_attempt_at, created_at, rowid LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![sink, ms(now), limit as i64], |r| {
                Ok(OutboxAlert {
                    id: r.get(0)?,
                    sink: r.get(1)?,
                    payload: r.get(2)?,
                    attempts: r.get::<_, i64>(3)?.try_into().unwrap_or(u32::MAX),
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

    /// The sink accepted the alert.
    pub async fn mark_delivered(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        let now = ms(Utc::now());
        self.with(move |c| {
            c.execute(
                "UPDATE alerts SET state = 'delivered', attempts = attempts + 1, delivered_at = ?2, last_error = NULL
                 WHERE id = ?1",
                params![id, now],
            )
            .map(drop)
        })
        .await
    }

    /// The attempt failed in a way worth retrying after `delay`.
    pub async fn mark_retry(&self, id: &str, delay: Duration, error: &str) -> Result<()> {
        let (id, error) = (id.to_string(), error.to_string());
        let next = ms(Utc::now()) + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        self.with(move |c| {
            c.execute(
                "UPDATE alerts SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
                params![id, next, error],
            )
            .map(drop)
        })
        .await
    }

    /// The alert cannot be delivered (the sink rejected it, or it ran out of attempts).
    pub async fn mark_dead(&self, id: &str, error: &str) -> Result<()> {
        let (id, error) = (id.to_string(), error.to_string());
        self.with(move |c| {
            c.execute(
                "UPDATE alerts SET state = 'dead', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
                params![id, error],
            )
            .map(drop)
        })
        .await
    }

    /// How many alerts are in each state.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
        self.with(|c| {
            let mut counts = OutboxCounts::default();
            let mut stmt = c.prepare("SELECT state, COUNT(*) FROM alerts GROUP BY state")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let n: i64 = r.get(1)?;
                match r.get::<_, String>(0)?.as_str() {
                    "pending" => counts.pending = n as u64,
                    "delivered" => counts.delivered = n as u64,
                    _ => counts.dead = n as u64,
                }
            }
            Ok(counts)
        })
        .await
    }
}

fn open_sync(path: &Path) -> Result<Connection> {
    let err = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    }
    let mut conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let err = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
    if found > known {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(err)?;
        tx.commit().map_err(err)?;
        tracing::info!(db = %path.display(), version = i + 1, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
