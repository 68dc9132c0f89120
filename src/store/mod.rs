//! Storage: the only home of SQL. Feeds and their poll state, items deduplicated by a UNIQUE
//! constraint, and the alert outbox written in the same transaction as the items it is about.
//!
//! The interface speaks pantau's own types (no rusqlite types leak out), so another backend can
//! slot in behind it. Every call runs on tokio's blocking pool, never on the async runtime.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::model::{AlertState, Delivery, FeedRef, Item, NewAlert, OutboxAlert, PollStatus};

/// Numbered migrations; `PRAGMA user_version` records how many were applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_feed_schedule.sql"),
    include_str!("migrations/0003_identity.sql"),
    include_str!("migrations/0004_recoveries.sql"),
    include_str!("migrations/0005_retention_health.sql"),
    include_str!("migrations/0006_quiet_ttl.sql"),
    include_str!("migrations/0007_articles.sql"),
    include_str!("migrations/0008_stories.sql"),
];

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
    #[error("database {path} is in use by another pantau process (it holds a lock on the file, under this or another name); stop it first, or use another database")]
    Locked {
        /// The database file.
        path: PathBuf,
    },
    /// The database file is damaged (SQLite finds it malformed, or it is no database at all).
    #[error("database {path} is damaged ({detail}); restore it from a backup, or move it aside together with its -wal and -shm files (e.g. to {path}.damaged) so that pantau starts with an empty one")]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What SQLite found.
        detail: String,
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

impl StoreError {
    /// Whether the database file itself is damaged: retrying will not help, the operator must.
    pub fn is_damaged(&self) -> bool {
        matches!(self, StoreError::Damaged { .. })
    }
}

/// What SQLite's error says about the file, if it says it is damaged.
fn damage_of(e: &rusqlite::Error) -> Option<String> {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    match e {
        rusqlite::Error::SqliteFailure(f, msg) if matches!(f.code, DatabaseCorrupt | NotADatabase) => {
            Some(msg.clone().unwrap_or_else(|| f.to_string()))
        }
        _ => None,
    }
}

/// A rusqlite error of the database at `path` as pantau reports it: a damaged file as
/// [`StoreError::Damaged`], anything else as [`StoreError::Sqlite`].
fn sqlite_error(path: &Path, source: rusqlite::Error) -> StoreError {
    match damage_of(&source) {
        Some(detail) => StoreError::Damaged { path: path.to_path_buf(), detail },
        None => StoreError::Sqlite { path: path.to_path_buf(), source },
    }
}

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
}

/// A feed's health, for `pantau feeds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStatus {
    /// Feed name.
    pub name: String,
    /// URL (the configured one).
    pub url: String,
    /// Where a permanent redirect moved it, if anywhere.
    pub moved_to: Option<String>,
    /// Last poll attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Last successful poll (200 or 304).
    pub last_success_at: Option<DateTime<Utc>>,
    /// Last HTTP status or kind of failure.
    pub last_status: Option<PollStatus>,
    /// Last error message, cleared by a success.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Planned next poll.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Items stored for this feed.
    pub items: u64,
    /// Average time between two new items, from their first-seen times.
    pub avg_new_item_interval: Option<Duration>,
    /// What the last successful poll had to repair, if anything.
    pub recoveries: Option<String>,
    /// Items whose article was fetched (`fetch_article`).
    pub articles_fetched: u64,
    /// Items whose article could not be fetched (given up, or failed and waiting to retry).
    pub article_failures: u64,
    /// The newest error among those.
    pub last_article_error: Option<String>,
}

/// One alert as `pantau alerts` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// Stable id.
    pub id: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// Pending, delivered or dead.
    pub state: AlertState,
    /// Attempts so far.
    pub attempts: u32,
    /// Rule name.
    pub rule: String,
    /// Sink name.
    pub sink: String,
    /// Feed name.
    pub feed: String,
    /// Item title.
    pub title: String,
    /// Item link.
    pub link: Option<String>,
    /// Next attempt, for pending alerts.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Last delivery error.
    pub last_error: Option<String>,
    /// The item's story id (see [`ItemRow::story`]); 0 for operator alerts.
    pub story: i64,
    /// Other feeds' copies recorded on the alert (`also_in`).
    pub copies: u32,
}

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

/// A stored item with the feed it came from, for backtests.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredItem {
    /// Feed name.
    pub feed: String,
    /// When pantau first saw it.
    pub first_seen_at: DateTime<Utc>,
    /// The item.
    pub item: Item,
    /// Its story id (see [`ItemRow::story`]).
    pub story: i64,
}

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

/// One stored item as `pantau items` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    /// Feed name.
    pub feed: String,
    /// When pantau first saw it.
    pub first_seen_at: DateTime<Utc>,
    /// Its key.
    pub key: String,
    /// Headline.
    pub title: String,
    /// Link.
    pub link: Option<String>,
    /// Publication date.
    pub published: Option<DateTime<Utc>>,
    /// Alerts it raised.
    pub alerts: u32,
    /// Whether its body was pruned by retention.
    pub pruned: bool,
    /// Where fetching its page stands (`fetch_article`).
    pub article: ArticleState,
    /// Its story: the row id of the story's first item (its own when it is the first).
    pub story: i64,
    /// How many later items joined its story (counted on the story's first item only).
    pub copies: u32,
}

/// Where fetching an item's page stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArticleState {
    /// Not wanted (the feed does not fetch articles, or the item could not alert).
    None,
    /// To be fetched; `attempts` failed so far, the last with `error`.
    Pending {
        /// Failed attempts so far.
        attempts: u32,
        /// The last attempt's error.
        error: Option<String>,
    },
    /// Fetched: its text has this many bytes.
    Fetched {
        /// Length of the stored text in bytes.
        chars: u64,
    },
    /// Given up on after the last retry.
    Failed {
        /// Why.
        error: String,
    },
}

impl std::fmt::Display for ArticleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArticleState::None => f.write_str("-"),
            ArticleState::Pending { attempts: 0, .. } => f.write_str("pending"),
            ArticleState::Pending { attempts, error } => {
                write!(f, "retrying after {attempts} failure{}", if *attempts == 1 { "" } else { "s" })?;
                match error {
                    Some(e) => write!(f, ": {e}"),
                    None => Ok(()),
                }
            }
            ArticleState::Fetched { chars } => write!(f, "fetched ({chars} bytes)"),
            ArticleState::Failed { error } => write!(f, "failed: {error}"),
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

/// What became of one delivery attempt, for [`Store::record_deliveries`]: a retry after the
/// delay decided, or given up on (the sink rejected it, or it ran out of attempts or time).
pub type Attempted = Delivery<Duration>;

/// A stored item whose page is to be fetched (`fetch_article`).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingArticle {
    /// The item's row, for [`Store::commit_article`].
    pub item_id: i64,
    /// Feed name.
    pub feed: String,
    /// The item as stored (its `id` is its key).
    pub item: Item,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// What became of fetching one item's page.
#[derive(Debug, Clone, PartialEq)]
pub enum ArticleOutcome {
    /// The article's text was extracted from `pages` pages.
    Fetched {
        /// The text.
        text: String,
        /// How many pages it was joined from.
        pages: u32,
    },
    /// It could not be fetched or extracted; tried again at `retry_at`, or never (`None`).
    Failed {
        /// Why, for `pantau items`.
        error: String,
        /// When to try again.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// Set by the first call that finds the file damaged; it stays set (the file will not heal).
    damage: Arc<Mutex<Option<String>>>,
}

/// The lock that keeps a second pantau off the same database; released on drop.
///
/// It is an exclusive `flock` on the database file itself (std's `File::try_lock` on Linux and
/// the BSDs), so it holds whatever name the file is reached by: a symlink, a hard link, another
/// relative path. SQLite's own locks are POSIX record locks (`fcntl`), which are independent of
/// `flock` on local file systems; but closing *any* descriptor of the file drops all of the
/// process's POSIX locks on it, so this one is opened once, before the store, and kept open
/// until the store is closed (drop it last).
#[derive(Debug)]
pub struct InstanceLock {
    _file: std::fs::File,
}

/// Take the single-instance lock for the database at `path`, creating the (empty) file if
/// there is none yet.
pub fn lock_instance(path: &Path) -> Result<InstanceLock> {
    let io = |source| StoreError::Io { path: path.to_path_buf(), source };
    let file =
        std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(InstanceLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked { path: path.to_path_buf() }),
        Err(std::fs::TryLockError::Error(source)) => Err(io(source)),
    }
}

/// What [`Store::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// `PRAGMA quick_check` found nothing wrong.
    Sound,
    /// The check ran out of time (a large database) and was stopped; nothing wrong so far.
    Unfinished,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

/// `feeds.last_status` read as the type; a text pantau never writes is an error, not a guess.
impl rusqlite::types::FromSql for PollStatus {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<PollStatus> {
        value.as_str()?.parse().map_err(|e: String| rusqlite::types::FromSqlError::Other(e.into()))
    }
}

/// `alerts.state` read as the type; a text pantau never writes is an error, not a guess.
impl rusqlite::types::FromSql for AlertState {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<AlertState> {
        value.as_str()?.parse().map_err(|e: String| rusqlite::types::FromSqlError::Other(e.into()))
    }
}

impl Store {
    /// Open (creating if needed) the database at `path` and bring its schema up to date.
    pub async fn open(path: &Path) -> Result<Store> {
        let path = path.to_path_buf();
        let p = path.clone();
        let conn =
            tokio::task::spawn_blocking(move || open_sync(&p)).await.map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(Store { conn: Arc::new(Mutex::new(conn)), path, damage: Arc::default() })
    }

    /// Run `f` with the connection on the blocking pool.
    async fn with<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let path = self.path.clone();
        let result = tokio::task::spawn_blocking(move || {
            // A panic while holding the lock poisons it; the connection itself is still sound
            // (SQLite rolls back the open transaction), so keep using it.
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard).map_err(|source| sqlite_error(&path, source))
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
        if let Err(e @ StoreError::Damaged { detail, .. }) = &result {
            self.note_damage(detail, e);
        }
        result
    }

    /// Remember that the file is damaged; the first time, say so loudly.
    fn note_damage(&self, detail: &str, e: &StoreError) {
        let mut damage = self.damage.lock().unwrap_or_else(|e| e.into_inner());
        if damage.is_none() {
            tracing::error!(db = %self.path.display(), detail, "{e}");
            *damage = Some(e.to_string());
        }
    }

    /// Why the database file is damaged, once any call found it so (for `/healthz`): the
    /// message names the file and what to do.
    pub fn damage(&self) -> Option<String> {
        self.damage.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Check the file's structure with `PRAGMA quick_check`, for at most `budget` (it reads the
    /// whole file, so a very large database is checked only as far as the budget goes).
    /// A damaged file is [`StoreError::Damaged`].
    pub async fn check(&self, budget: Duration) -> Result<Checked> {
        let checked = self
            .with(move |c| {
                let interrupt = c.get_interrupt_handle();
                let (done, finished) = std::sync::mpsc::channel::<()>();
                let timer = std::thread::spawn(move || {
                    if finished.recv_timeout(budget) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                        interrupt.interrupt();
                    }
                });
                let found = {
                    let mut stmt = c.prepare("PRAGMA quick_check(5)")?;
                    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                    rows.collect::<rusqlite::Result<Vec<String>>>()
                };
                drop(done);
                let _ = timer.join();
                match found {
                    Ok(lines) => Ok(Ok(lines)),
                    Err(rusqlite::Error::SqliteFailure(f, _))
                        if f.code == rusqlite::ErrorCode::OperationInterrupted =>
                    {
                        Ok(Err(Checked::Unfinished))
                    }
                    Err(e) => Err(e),
                }
            })
            .await?;
        match checked {
            Err(unfinished) => Ok(unfinished),
            Ok(lines) if lines.iter().all(|l| l == "ok") => Ok(Checked::Sound),
            Ok(lines) => {
                let e = StoreError::Damaged { path: self.path.clone(), detail: lines.join("; ") };
                self.note_damage(&lines.join("; "), &e);
                Err(e)
            }
        }
    }

    /// Hand SQLite's page cache and the cached prepared statements of the connection back to
    /// the allocator (both are rebuilt on demand); for an idle daemon.
    pub async fn release_memory(&self) -> Result<()> {
        self.with(|c| {
            c.flush_prepared_statement_cache();
            c.release_memory()
        })
        .await
    }

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
                        next_poll_at, moved_to, ttl_secs
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

    /// Note the start of a poll attempt.
    pub async fn record_attempt(&self, feed: &str) -> Result<()> {
        let feed = feed.to_string();
        let now = ms(Utc::now());
        self.with(move |c| {
            c.execute("UPDATE feeds SET last_attempt_at = ?2 WHERE name = ?1", params![feed, now]).map(drop)
        })
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
                                        summary, content, first_seen_at, link_norm, story_key, content_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                     ON CONFLICT(feed_id, item_key) DO NOTHING",
                )?;
                let mut update_item = tx.prepare_cached(
                    "UPDATE items SET title = ?3, link = ?4, published = ?5, updated = ?6, authors = ?7, categories = ?8,
                                      summary = ?9, content = ?10, edited_at = ?11, link_norm = ?12, content_hash = ?14
                     WHERE feed_id = ?1 AND item_key = ?2 AND ?13 IS NOT NULL
                     RETURNING id, story_key",
                )?;
                // Cross-feed deduplication is the partial UNIQUE(story_key, rule, sink) index:
                // a second feed carrying the same story inserts nothing.
                let mut insert_alert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO alerts (id, item_id, rule, sink, matched, payload, state, next_attempt_at,
                                                   created_at, story_key, feed_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7, ?8, ?9)",
                )?;
                let feed_url: String = tx.query_row("SELECT url FROM feeds WHERE id = ?1", params![feed_id], |r| r.get(0))?;
                let mut want_article = tx.prepare_cached(
                    "UPDATE items SET article_state = 'pending', article_next_at = ?2 WHERE id = ?1",
                )?;
                for Polled { item, identity: derived, alerts, fetch_article, signature } in &poll.items {
                    let inserted = insert_item.execute(rusqlite::params_from_iter(item_params(feed_id, item, now, derived)))?;
                    if inserted == 0 {
                        continue;
                    }
                    summary.new_items += 1;
                    let item_id = tx.last_insert_rowid();
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
                        .query_row(rusqlite::params_from_iter(item_params(feed_id, item, now, derived)), |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?;
                    let Some((item_id, story)) = row else { continue };
                    summary.edited += 1;
                    // A re-alert is about this version of the story: its own story key.
                    let story = story.map(|s| format!("{s}#{}", derived.content_hash));
                    for a in alerts {
                        let matched = serde_json::to_string(&a.matched).unwrap_or_else(|_| "[]".into());
                        summary.new_alerts +=
                            insert_alert.execute(params![a.id, item_id, a.rule, a.sink, matched, a.payload, now, story, feed_id])?;
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
            Ok(summary)
        })
        .await
    }

    /// Items whose page is due to be fetched at `now`, oldest first, at most `limit`; each is
    /// claimed for `lease` (not handed out again meanwhile, unless pantau restarts).
    pub async fn claim_articles(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<PendingArticle>> {
        let until = ms(now + chrono::Duration::from_std(lease).unwrap_or_default());
        self.with(move |c| {
            let tx = c.transaction()?;
            let claimed = {
                let mut stmt = tx.prepare_cached(
                    "SELECT i.id, f.name, i.item_key, i.title, i.link, i.published, i.updated, i.authors,
                            i.categories, i.summary, i.content, COALESCE(i.article, ''), i.article_attempts
                     FROM items i JOIN feeds f ON f.id = i.feed_id
                     WHERE i.article_state = 'pending' AND i.article_next_at <= ?1
                     ORDER BY i.article_next_at, i.id LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![ms(now), limit as i64], |r| {
                    Ok(PendingArticle {
                        item_id: r.get(0)?,
                        feed: r.get(1)?,
                        item: item_from_row(r, 2)?,
                        attempts: r.get::<_, i64>(12)?.try_into().unwrap_or(0),
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            let mut lease = tx.prepare_cached("UPDATE items SET article_next_at = ?2 WHERE id = ?1")?;
            for a in &claimed {
                lease.execute(params![a.item_id, until])?;
            }
            drop(lease);
            tx.commit()?;
            Ok(claimed)
        })
        .await
    }

    /// Hand back the claims of a previous run on pages never tried (a restart while they were
    /// being fetched), so they are fetched now rather than when the claim would have ended.
    pub async fn release_article_claims(&self, now: DateTime<Utc>) -> Result<usize> {
        let now = ms(now);
        self.with(move |c| {
            c.execute(
                "UPDATE items SET article_next_at = ?1
                 WHERE article_state = 'pending' AND article_attempts = 0 AND article_next_at > ?1",
                params![now],
            )
        })
        .await
    }

    /// When the next pending page is due, if any is pending.
    pub async fn next_article_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.with(|c| {
            c.query_row("SELECT MIN(article_next_at) FROM items WHERE article_state = 'pending'", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map(|v| v.map(from_ms))
        })
        .await
    }

    /// Record what fetching an item's page came to and write the alerts its (re-)match raised,
    /// in one transaction. Alerts already written for the item (by an earlier match on the
    /// feed's text) are left alone, so a later success alerts only on rules that had not.
    pub async fn commit_article(
        &self,
        item_id: i64,
        outcome: ArticleOutcome,
        alerts: Vec<NewAlert>,
        stories: Option<(crate::stories::Signature, crate::stories::Grouping)>,
    ) -> Result<PollSummary> {
        let now = ms(Utc::now());
        self.with(move |c| {
            let tx = c.transaction()?;
            let row: Option<(i64, Option<String>, String, String)> = tx
                .query_row(
                    "SELECT i.feed_id, i.story_key, f.name, f.url FROM items i JOIN feeds f ON f.id = i.feed_id
                     WHERE i.id = ?1",
                    params![item_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            // Pruned meanwhile: nothing to record.
            let Some((feed_id, story, feed, feed_url)) = row else { return Ok(PollSummary::default()) };
            // Only a page still pending is recorded: a claim that lapsed while its fetch ran
            // must not turn a page another task has read back into a pending one.
            let updated = match &outcome {
                ArticleOutcome::Fetched { text, pages } => tx.execute(
                    "UPDATE items SET article = ?2, article_state = 'fetched', article_error = NULL,
                            article_next_at = NULL, article_pages = ?3 WHERE id = ?1 AND article_state = 'pending'",
                    params![item_id, text, pages],
                )?,
                ArticleOutcome::Failed { error, retry_at } => tx.execute(
                    "UPDATE items SET article_state = CASE WHEN ?3 IS NULL THEN 'failed' ELSE 'pending' END,
                            article_error = ?2, article_next_at = ?3, article_attempts = article_attempts + 1
                     WHERE id = ?1 AND article_state = 'pending'",
                    params![item_id, error, retry_at.map(ms)],
                )?,
            };
            if updated == 0 {
                return Ok(PollSummary::default());
            }
            // The story is found once, on the text the item is first matched on; a later match
            // (the article after a failure) keeps it.
            let known: Option<i64> = tx
                .query_row(
                    "SELECT story_id FROM items WHERE id = ?1 AND (signature IS NOT NULL OR story_id IS NOT NULL)",
                    params![item_id],
                    |r| r.get::<_, Option<i64>>(0).map(|s| s.unwrap_or(item_id)),
                )
                .optional()?;
            let root = match (known, &stories) {
                (Some(root), _) if root != item_id => root_story(&tx, root)?,
                (Some(_), _) | (None, None) => None,
                (None, Some((sig, g))) => join_story(&tx, item_id, sig, g, now)?,
            };
            let target = AlertTarget {
                item_id,
                story: story.as_deref(),
                root: root.as_deref(),
                feed_id,
                feed: &feed,
                feed_url: &feed_url,
            };
            let (new_alerts, cross_feed_duplicates, story_duplicates) = insert_item_alerts(&tx, &target, &alerts, now)?;
            tx.commit()?;
            Ok(PollSummary {
                new_alerts,
                cross_feed_duplicates,
                story_duplicates,
                joined_stories: usize::from(root.is_some() && known.is_none()),
                ..PollSummary::default()
            })
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

    /// The newest items first, of one feed or all.
    pub async fn recent_items(&self, feed: Option<String>, limit: usize) -> Result<Vec<ItemRow>> {
        self.items_where(feed, None, limit).await
    }

    /// The items of the story `story` (a story id as `pantau items` shows it), first first.
    pub async fn story_items(&self, story: i64, limit: usize) -> Result<Vec<ItemRow>> {
        self.items_where(None, Some(story), limit).await
    }

    async fn items_where(&self, feed: Option<String>, story: Option<i64>, limit: usize) -> Result<Vec<ItemRow>> {
        // A story is listed in the order its copies came; the newest items, newest first.
        let (filter, order) = match story {
            Some(_) => ("(i.id = ?3 OR i.story_id = ?3)", "i.first_seen_at, i.id"),
            None => ("?3 IS NULL", "i.first_seen_at DESC, i.id DESC"),
        };
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT f.name, i.first_seen_at, i.item_key, i.title, i.link, i.published,
                        (SELECT COUNT(*) FROM alerts a WHERE a.item_id = i.id), i.pruned,
                        i.article_state, i.article_error, i.article_attempts, length(CAST(i.article AS BLOB)),
                        COALESCE(i.story_id, i.id),
                        CASE WHEN i.story_id IS NULL THEN (SELECT COUNT(*) FROM items j WHERE j.story_id = i.id) ELSE 0 END
                 FROM items i JOIN feeds f ON f.id = i.feed_id
                 WHERE (?1 IS NULL OR f.name = ?1) AND {filter}
                 ORDER BY {order} LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![feed, limit as i64, story], |r| {
                Ok(ItemRow {
                    feed: r.get(0)?,
                    first_seen_at: from_ms(r.get(1)?),
                    key: r.get(2)?,
                    title: r.get(3)?,
                    link: r.get(4)?,
                    published: r.get::<_, Option<i64>>(5)?.map(from_ms),
                    alerts: r.get::<_, i64>(6)?.try_into().unwrap_or(0),
                    pruned: r.get(7)?,
                    story: r.get(12)?,
                    copies: r.get::<_, i64>(13)?.try_into().unwrap_or(0),
                    article: match r.get::<_, Option<String>>(8)?.as_deref() {
                        None => ArticleState::None,
                        Some("fetched") => {
                            ArticleState::Fetched { chars: r.get::<_, Option<i64>>(11)?.unwrap_or(0).max(0) as u64 }
                        }
                        Some("failed") => {
                            ArticleState::Failed { error: r.get::<_, Option<String>>(9)?.unwrap_or_default() }
                        }
                        Some(_) => ArticleState::Pending {
                            attempts: r.get::<_, i64>(10)?.try_into().unwrap_or(0),
                            error: r.get(9)?,
                        },
                    },
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Remember when `feed` is next due.
    pub async fn set_next_poll(&self, feed: &str, at: DateTime<Utc>) -> Result<()> {
        let feed = feed.to_string();
        self.with(move |c| {
            c.execute("UPDATE feeds SET next_poll_at = ?2 WHERE name = ?1", params![feed, ms(at)]).map(drop)
        })
        .await
    }

    /// Remember that a permanent redirect moved `feed` to `url`.
    pub async fn set_moved(&self, feed: &str, url: &str) -> Result<()> {
        let (feed, url) = (feed.to_string(), url.to_string());
        self.with(move |c| c.execute("UPDATE feeds SET moved_to = ?2 WHERE name = ?1", params![feed, url]).map(drop))
            .await
    }

    /// Health of every feed pantau has a row for, by name.
    pub async fn feed_statuses(&self) -> Result<Vec<FeedStatus>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT f.name, f.url, f.moved_to, f.last_attempt_at, f.last_success_at, f.last_status, f.last_error,
                        f.consecutive_failures, f.next_poll_at,
                        (SELECT COUNT(*) FROM items i WHERE i.feed_id = f.id),
                        (SELECT MIN(first_seen_at) FROM items i WHERE i.feed_id = f.id),
                        (SELECT MAX(first_seen_at) FROM items i WHERE i.feed_id = f.id),
                        (SELECT COUNT(DISTINCT first_seen_at) FROM items i WHERE i.feed_id = f.id),
                        f.last_recoveries,
                        (SELECT COUNT(*) FROM items i WHERE i.feed_id = f.id AND i.article_state = 'fetched'),
                        (SELECT COUNT(*) FROM items i WHERE i.feed_id = f.id AND (i.article_state = 'failed'
                            OR (i.article_state = 'pending' AND i.article_attempts > 0))),
                        (SELECT article_error FROM items i WHERE i.feed_id = f.id AND i.article_error IS NOT NULL
                            AND i.article_state != 'fetched' ORDER BY i.id DESC LIMIT 1)
                 FROM feeds f ORDER BY f.name",
            )?;
            let rows = stmt.query_map([], |r| {
                let avg = rhythm(r.get(10)?, r.get(11)?, r.get(12)?);
                Ok(FeedStatus {
                    name: r.get(0)?,
                    url: r.get(1)?,
                    moved_to: r.get(2)?,
                    last_attempt_at: r.get::<_, Option<i64>>(3)?.map(from_ms),
                    last_success_at: r.get::<_, Option<i64>>(4)?.map(from_ms),
                    last_status: r.get(5)?,
                    last_error: r.get(6)?,
                    consecutive_failures: r.get::<_, i64>(7)?.try_into().unwrap_or(0),
                    next_poll_at: r.get::<_, Option<i64>>(8)?.map(from_ms),
                    items: r.get::<_, i64>(9)?.try_into().unwrap_or(0),
                    avg_new_item_interval: avg,
                    recoveries: r.get(13)?,
                    articles_fetched: r.get::<_, i64>(14)?.max(0) as u64,
                    article_failures: r.get::<_, i64>(15)?.max(0) as u64,
                    last_article_error: r.get(16)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// The newest alerts first; only dead ones and pending ones that failed at least once when
    /// `failed_only`.
    pub async fn recent_alerts(&self, failed_only: bool, limit: usize) -> Result<Vec<AlertRow>> {
        self.with(move |c| {
            let mut stmt = c.prepare(
                "SELECT a.id, a.created_at, a.state, a.attempts, a.rule, a.sink, COALESCE(f.name, ''),
                        COALESCE(i.title, json_extract(a.payload, '$.item.title'), ''),
                        COALESCE(i.link, json_extract(a.payload, '$.item.link')),
                        a.next_attempt_at, a.last_error, COALESCE(i.story_id, i.id, 0),
                        CASE WHEN json_valid(a.payload) THEN COALESCE(json_array_length(a.payload, '$.also_in'), 0) ELSE 0 END
                 FROM alerts a LEFT JOIN items i ON i.id = a.item_id LEFT JOIN feeds f ON f.id = a.feed_id
                 WHERE ?1 = 0 OR a.state = 'dead' OR (a.state = 'pending' AND a.last_error IS NOT NULL)
                 ORDER BY a.created_at DESC, a.rowid DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![failed_only as i64, limit as i64], |r| {
                let state: AlertState = r.get(2)?;
                Ok(AlertRow {
                    id: r.get(0)?,
                    created_at: from_ms(r.get(1)?),
                    attempts: r.get::<_, i64>(3)?.try_into().unwrap_or(0),
                    rule: r.get(4)?,
                    sink: r.get(5)?,
                    feed: r.get(6)?,
                    title: r.get(7)?,
                    link: r.get(8)?,
                    next_attempt_at: if state == AlertState::Pending { Some(from_ms(r.get(9)?)) } else { None },
                    last_error: r.get(10)?,
                    story: r.get(11)?,
                    copies: r.get::<_, i64>(12)?.try_into().unwrap_or(0),
                    state,
                })
            })?;
            rows.collect()
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

    /// Items first seen at or after `since`, oldest first, at most `limit`.
    pub async fn items_since(&self, since: DateTime<Utc>, limit: usize) -> Result<Vec<StoredItem>> {
        self.with(move |c| {
            let mut stmt = c.prepare(
                "SELECT f.name, i.first_seen_at, i.item_key, i.title, i.link, i.published, i.updated, i.authors,
                        i.categories, i.summary, i.content, COALESCE(i.article, ''), COALESCE(i.story_id, i.id)
                 FROM items i JOIN feeds f ON f.id = i.feed_id
                 WHERE i.first_seen_at >= ?1 ORDER BY i.first_seen_at, i.id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![ms(since), limit as i64], |r| {
                Ok(StoredItem {
                    feed: r.get(0)?,
                    first_seen_at: from_ms(r.get(1)?),
                    item: item_from_row(r, 2)?,
                    story: r.get(12)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

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
                    "UPDATE alerts SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
                )?;
                let mut dead = tx.prepare_cached(
                    "UPDATE alerts SET state = 'dead', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
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

    /// Pending alerts per sink and the creation time of the oldest pending alert.
    pub async fn pending_summary(&self) -> Result<(Vec<(String, u64)>, Option<DateTime<Utc>>)> {
        self.with(|c| {
            let mut stmt =
                c.prepare("SELECT sink, COUNT(*) FROM alerts WHERE state = 'pending' GROUP BY sink ORDER BY sink")?;
            let per_sink = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.try_into().unwrap_or(0))))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let oldest: Option<i64> =
                c.query_row("SELECT MIN(created_at) FROM alerts WHERE state = 'pending'", [], |r| r.get(0))?;
            Ok((per_sink, oldest.map(from_ms)))
        })
        .await
    }

    /// How many alerts each sink has in each state: (sink, state, count).
    pub async fn alert_counts_by_sink(&self) -> Result<Vec<(String, AlertState, u64)>> {
        self.with(|c| {
            let mut stmt =
                c.prepare("SELECT sink, state, COUNT(*) FROM alerts GROUP BY sink, state ORDER BY sink, state")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.try_into().unwrap_or(0))))?;
            rows.collect()
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
                match r.get::<_, AlertState>(0)? {
                    AlertState::Pending => counts.pending = n as u64,
                    AlertState::Delivered => counts.delivered = n as u64,
                    AlertState::Dead => counts.dead = n as u64,
                }
            }
            Ok(counts)
        })
        .await
    }
}

/// The average gap between polls that brought new items, from the first and last first-seen
/// times and the number of distinct ones (items first seen in the same poll share a timestamp).
fn rhythm(first: Option<i64>, last: Option<i64>, batches: i64) -> Option<Duration> {
    match (first, last) {
        (Some(a), Some(b)) if batches > 1 => Some(Duration::from_millis(((b - a) / (batches - 1)).max(0) as u64)),
        _ => None,
    }
}

/// An item from ten columns starting at `first`: key, title, link, published, updated,
/// authors and categories (JSON lists), summary, content, article.
fn item_from_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Item> {
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

/// The item (and its feed) that alerts are written for.
struct AlertTarget<'a> {
    item_id: i64,
    story: Option<&'a str>,
    /// The story key of the first item of the story this item joined as a reprint, if any.
    root: Option<&'a str>,
    feed_id: i64,
    feed: &'a str,
    feed_url: &'a str,
}

/// Insert an item's alerts; an alert whose id is there already is left alone, and one whose
/// story another feed already alerted for the same rule and sink is not written (this feed is
/// then named in the waiting alert's `also_in`). Returns the alerts written and the cross-feed
/// duplicates.
fn insert_item_alerts(
    tx: &rusqlite::Transaction<'_>,
    target: &AlertTarget<'_>,
    alerts: &[NewAlert],
    now: i64,
) -> rusqlite::Result<(usize, usize, usize)> {
    let mut exists = tx.prepare_cached("SELECT 1 FROM alerts WHERE id = ?1")?;
    // Cross-feed deduplication is the partial UNIQUE(story_key, rule, sink) index: a second
    // feed carrying the same story inserts nothing.
    let mut insert_alert = tx.prepare_cached(
        "INSERT OR IGNORE INTO alerts (id, item_id, rule, sink, matched, payload, state, next_attempt_at,
                                       created_at, story_key, feed_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7, ?8, ?9)",
    )?;
    // A story already alerted from another feed: name this feed on that alert while it is
    // still waiting to go out.
    let mut also_in = tx.prepare_cached(
        "UPDATE alerts SET payload = json_set(payload, '$.also_in',
                json_insert(COALESCE(json_extract(payload, '$.also_in'), json('[]')), '$[#]',
                            json_object('name', ?4, 'url', ?5)))
         WHERE story_key = ?1 AND rule = ?2 AND sink = ?3 AND state = 'pending' AND json_valid(payload)
           AND NOT EXISTS (SELECT 1 FROM json_each(payload, '$.also_in') WHERE json_extract(value, '$.name') = ?4)",
    )?;
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

/// How many item ids apart the new band rows are moved into the big index.
const MERGE_EVERY: i64 = 2000;

/// Store an item's signature and bands and, when an item first seen within the window is close
/// enough, join its story: returns the story key of that story's first item.
fn join_story(
    tx: &rusqlite::Transaction<'_>,
    item_id: i64,
    sig: &crate::stories::Signature,
    grouping: &crate::stories::Grouping,
    now: i64,
) -> rusqlite::Result<Option<String>> {
    let since = now - i64::try_from(grouping.window.as_millis()).unwrap_or(i64::MAX / 2);
    // Item ids grow with time: the window is the items from the first one seen since then.
    let first: Option<i64> = tx
        .prepare_cached("SELECT id FROM items WHERE first_seen_at >= ?1 ORDER BY first_seen_at, id LIMIT 1")?
        .query_row(params![since], |r| r.get(0))
        .optional()?;
    let bands = sig.bands();
    let mut best: Option<(f64, i64)> = None;
    if let Some(first) = first {
        let mut lookup = tx.prepare_cached(
            // CROSS JOIN keeps the band index the outer loop: without statistics the planner
            // could otherwise scan the items and probe the index for each.
            "SELECT b.item_id, i.signature, COALESCE(i.story_id, i.id)
             FROM (SELECT item_id FROM story_bands WHERE band = ?1 AND item_id >= ?2
                   UNION ALL SELECT item_id FROM story_bands_new WHERE band = ?1 AND item_id >= ?2) b
             CROSS JOIN items i
             WHERE b.item_id <> ?3 AND i.id = b.item_id",
        )?;
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
    let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO story_bands_new (band, item_id) VALUES (?1, ?2)")?;
    for band in bands {
        insert.execute(params![band, item_id])?;
    }
    // Every MERGE_EVERY items, the new rows move into the big index in band order: each of its
    // pages is then written once for many rows.
    if item_id % MERGE_EVERY == 0 {
        tx.execute_batch(
            "INSERT OR IGNORE INTO story_bands (band, item_id) SELECT band, item_id FROM story_bands_new ORDER BY band, item_id;
             DELETE FROM story_bands_new;",
        )?;
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
fn root_story(tx: &rusqlite::Transaction<'_>, story: i64) -> rusqlite::Result<Option<String>> {
    tx.prepare_cached("SELECT story_key FROM items WHERE id = ?1")?
        .query_row(params![story], |r| r.get::<_, Option<String>>(0))
        .optional()
        .map(Option::flatten)
}

/// Insert operator alerts (no item) into the outbox; an id already there is left alone.
fn insert_operator_alerts(
    tx: &rusqlite::Transaction<'_>,
    alerts: &[NewAlert],
    feed_id: Option<i64>,
    now: i64,
) -> rusqlite::Result<usize> {
    let mut n = 0;
    for a in alerts {
        let matched = serde_json::to_string(&a.matched).unwrap_or_else(|_| "[]".into());
        n += tx.execute(
            "INSERT OR IGNORE INTO alerts (id, item_id, rule, sink, matched, payload, state, next_attempt_at, created_at, feed_id)
             VALUES (?1, NULL, ?2, ?3, ?4, ?5, 'pending', ?6, ?6, ?7)",
            params![a.id, a.rule, a.sink, matched, a.payload, now, feed_id],
        )?;
    }
    Ok(n)
}

/// The 14 parameters shared by the item INSERT and UPDATE statements.
fn item_params<'a>(
    feed_id: i64,
    item: &'a Item,
    now: i64,
    d: &'a crate::identity::Identity,
) -> Vec<Box<dyn rusqlite::ToSql + 'a>> {
    vec![
        Box::new(feed_id),
        Box::new(&item.id),
        Box::new(&item.title),
        Box::new(&item.link),
        Box::new(item.published.map(ms)),
        Box::new(item.updated.map(ms)),
        Box::new(serde_json::to_string(&item.authors).unwrap_or_else(|_| "[]".into())),
        Box::new(serde_json::to_string(&item.categories).unwrap_or_else(|_| "[]".into())),
        Box::new(&item.summary),
        Box::new(&item.content),
        Box::new(now),
        Box::new(&d.link),
        Box::new(&d.story),
        Box::new(&d.content_hash),
    ]
}

fn open_sync(path: &Path) -> Result<Connection> {
    let err = |source| sqlite_error(path, source);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    }
    let mut conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    // Refuse a newer database before changing anything in it (WAL mode is persistent).
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
    if found > MIGRATIONS.len() as i64 {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found, known: MIGRATIONS.len() as i64 });
    }
    set_wal(&conn).map_err(err)?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// How long a call waits for another connection's write lock before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `PRAGMA journal_mode = WAL`, tried again for up to [`BUSY_TIMEOUT`] while another connection
/// is in the way: the switch needs the file to itself, and SQLite reports a clash at once
/// instead of waiting (two processes opening a fresh file at the same moment).
fn set_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            done => return done,
        }
    }
}

/// Apply the migrations the file lacks, one transaction each. Every step takes the write lock
/// first (`BEGIN IMMEDIATE`) and reads the version again under it, so two processes opening a
/// fresh file at once apply each migration once: the second waits, then finds it applied.
fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let err = |source| sqlite_error(path, source);
    let known = MIGRATIONS.len() as i64;
    loop {
        let version = |c: &Connection| c.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0));
        // Most opens find the schema current: no write lock for them.
        if version(conn).map_err(err)? == known {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
        let found = version(&tx).map_err(err)?;
        if found == known {
            return Ok(());
        }
        // A version beyond ours (or a foreign negative one) matches no migration.
        let Some(sql) = usize::try_from(found).ok().and_then(|i| MIGRATIONS.get(i)) else {
            return Err(StoreError::TooNew { path: path.to_path_buf(), found, known });
        };
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", found + 1).map_err(err)?;
        tx.commit().map_err(err)?;
        tracing::info!(db = %path.display(), version = found + 1, "applied database migration");
    }
}

#[cfg(test)]
mod tests;
