//! Storage: the only home of SQL. Feeds and their poll state, items deduplicated by a UNIQUE
//! constraint, and the alert outbox written in the same transaction as the items it is about.
//!
//! The interface speaks pantau's own types (no rusqlite or postgres types leak out) and runs on
//! SQLite (one node) or PostgreSQL (several). Every call runs on tokio's blocking pool, never on
//! the async runtime.
//!
//! This file holds the [`Store`] handle (opening, the one connection and how calls reach it,
//! `quick_check`) and the single-instance lock; each concern has its own file of `impl Store`
//! methods and the types they speak:
//!
//! - `db.rs`: `Conn`, one connection type for SQLite and PostgreSQL, so each method below is
//!   written once for both;
//! - `schema.rs`: opening the file and the migrations runner (`migrations/*.sql`; PostgreSQL's
//!   own in `migrations/postgres/`);
//! - `leases.rs`: several nodes' claims on feeds, host slots and sinks;
//! - `copy.rs`: copying SQLite into an empty PostgreSQL database (`pantau migrate`);
//! - `feeds.rs`: feeds and their poll state;
//! - `items.rs`: known items and `commit_poll`;
//! - `articles.rs`: the article queue;
//! - `stories.rs`: signatures, bands and the story an item joins;
//! - `outbox.rs`: writing alerts, due alerts, delivery outcomes, redelivery;
//! - `health.rs`: feed health and operator alerts;
//! - `retention.rs`: pruning;
//! - `views.rs`: what the inspection commands, `/healthz` and `/metrics` read;
//! - `columns.rs`: how values sit in columns; `error.rs`: [`StoreError`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use db::{Conn, DbError, DbResult};

mod articles;
mod columns;
mod copy;
mod db;
mod error;
mod feeds;
mod health;
mod items;
mod leases;
mod nodes;
mod outbox;
mod retention;
mod schema;
mod stories;
mod views;

pub use articles::{ArticleOutcome, ArticleState, PendingArticle};
pub use copy::CopyCounts;
pub use error::{ErrorKind, StoreError};
pub use feeds::FeedState;
pub use health::{FeedHealth, HealthFlag};
pub use items::{Known, PollRecord, PollSummary, Polled, Rekey};
pub use leases::FeedClaim;
pub use nodes::{NodeRow, NODE_KEPT};
pub use outbox::{Attempted, Redelivered};
pub use retention::PruneStats;
pub use views::{AlertRow, FeedStatus, ItemRow, OutboxCounts, StoredItem};

use error::db_error;
use schema::open_sync;

type Result<T> = std::result::Result<T, StoreError>;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// The connections: one for SQLite (one writer at a time anyway), a few for PostgreSQL.
    conns: Arc<[Mutex<Conn>]>,
    /// Where the next call looks for a free connection first.
    next: Arc<AtomicUsize>,
    /// How many calls found their PostgreSQL connection lost: the others check theirs.
    lost: Arc<AtomicU64>,
    /// The engine, known at open (asking a connection would wait for its lock).
    backend: Backend,
    /// The database as messages name it: the file, or the URL without its password.
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

/// How many connections a node opens to PostgreSQL: polls, the article stage, delivery and
/// `/healthz` each get one without waiting for the others.
const POSTGRES_CONNECTIONS: usize = 4;

/// The engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one node (the single-instance lock).
    Sqlite,
    /// A PostgreSQL server, any number of nodes.
    Postgres,
}

/// What [`Store::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// `PRAGMA quick_check` found nothing wrong.
    Sound,
    /// The check ran out of time (a large database) and was stopped; nothing wrong so far.
    Unfinished,
}

impl Store {
    /// Open (creating if needed) the database at `path` and bring its schema up to date.
    pub async fn open(path: &Path) -> Result<Store> {
        let path = path.to_path_buf();
        let p = path.clone();
        let conn =
            tokio::task::spawn_blocking(move || open_sync(&p)).await.map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(Store::with_conns(vec![Conn::Sqlite(conn)], path))
    }

    /// Open the database `db` names: the SQLite file, or the PostgreSQL server (a few
    /// connections, migrations applied under an advisory lock).
    pub async fn open_database(db: &crate::model::Database) -> Result<Store> {
        match db {
            crate::model::Database::Sqlite(path) => Store::open(path).await,
            crate::model::Database::Postgres(url) => {
                let url = url.clone();
                let shown = PathBuf::from(db.shown());
                let name = shown.clone();
                let conns =
                    tokio::task::spawn_blocking(move || schema::open_postgres(&url, &name, POSTGRES_CONNECTIONS))
                        .await
                        .map_err(|e| StoreError::Task(e.to_string()))??;
                Ok(Store::with_conns(conns, shown))
            }
        }
    }

    fn with_conns(conns: Vec<Conn>, path: PathBuf) -> Store {
        let backend = match conns.first().map(Conn::dialect) {
            Some(db::Dialect::Postgres) => Backend::Postgres,
            _ => Backend::Sqlite,
        };
        let conns: Vec<Mutex<Conn>> = conns.into_iter().map(Mutex::new).collect();
        Store { conns: conns.into(), next: Arc::default(), lost: Arc::default(), backend, path, damage: Arc::default() }
    }

    /// Which engine the store is on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Run `f` with a connection on the blocking pool: a free one if there is one, else the
    /// next in turn once it is free.
    async fn with<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Conn) -> DbResult<T> + Send + 'static,
    {
        let conns = Arc::clone(&self.conns);
        let lost = Arc::clone(&self.lost);
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.path.clone();
        let result = tokio::task::spawn_blocking(move || {
            let n = conns.len();
            let free = (0..n).find_map(|i| conns[(start + i) % n].try_lock().ok());
            // A panic while holding the lock poisons it; the connection itself is still sound
            // (SQLite rolls back the open transaction, PostgreSQL's is rolled back by Tx's
            // drop), so keep using it.
            let guard = match free {
                Some(g) => g,
                None => conns[start % n].lock().unwrap_or_else(|e| e.into_inner()),
            };
            if let Conn::Postgres(pg) = &*guard {
                pg.borrow_mut().check_after_loss(lost.load(Ordering::Relaxed));
            }
            let result = f(&guard).map_err(|source| db_error(&path, source));
            if matches!(result, Err(StoreError::Database { kind: ErrorKind::Unavailable, .. })) {
                lost.fetch_add(1, Ordering::Relaxed);
            }
            result
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
            .with(move |conn| {
                let Some(c) = conn.sqlite() else {
                    // PostgreSQL checks its own pages (and has its replicas); nothing to do here.
                    return Ok(Ok(vec!["ok".to_string()]));
                };
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
                    Err(e) => Err(DbError::from(e)),
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
        self.with(|conn| match conn.sqlite() {
            Some(c) => {
                c.flush_prepared_statement_cache();
                Ok(c.release_memory()?)
            }
            None => Ok(()),
        })
        .await
    }
}

#[cfg(test)]
mod tests;
