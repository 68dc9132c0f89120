//! The schema: opening the file (WAL, busy timeout, foreign keys) and the migrations runner.
//! The numbered migrations live in `migrations/`; `PRAGMA user_version` counts those applied.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::db::{params, Conn, DbError, Pg};
use super::error::{db_error, sqlite_error};
use super::{Result, StoreError};

/// Numbered migrations; `PRAGMA user_version` records how many were applied.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_feed_schedule.sql"),
    include_str!("migrations/0003_identity.sql"),
    include_str!("migrations/0004_recoveries.sql"),
    include_str!("migrations/0005_retention_health.sql"),
    include_str!("migrations/0006_quiet_ttl.sql"),
    include_str!("migrations/0007_articles.sql"),
    include_str!("migrations/0008_stories.sql"),
    include_str!("migrations/0009_nodes.sql"),
    include_str!("migrations/0010_adaptive.sql"),
    include_str!("migrations/0011_leases.sql"),
];

/// PostgreSQL's numbered migrations; the table `pantau_schema` records how many were applied.
pub(super) const POSTGRES_MIGRATIONS: &[&str] = &[include_str!("migrations/postgres/0001_init.sql")];

/// The advisory lock that serialises migrations of nodes starting together (any fixed number;
/// this one spells "pantau").
const MIGRATION_LOCK: i64 = 0x7061_6e74_6175;

/// Connect to PostgreSQL at `url` and bring its schema up to date: `conns` connections (the
/// first is opened now, so that a wrong URL or an unreachable server is an error at start).
pub(super) fn open_postgres(url: &str, shown: &Path, conns: usize) -> Result<Vec<Conn>> {
    let err = |source| db_error(shown, source);
    let config: postgres::Config = url.parse().map_err(|e: postgres::Error| err(DbError::Postgres(e)))?;
    let first = Conn::Postgres(Box::new(std::cell::RefCell::new(Pg::new(config.clone()))));
    migrate_postgres(&first, shown)?;
    let mut all = vec![first];
    all.extend((1..conns.max(1)).map(|_| Conn::Postgres(Box::new(std::cell::RefCell::new(Pg::new(config.clone()))))));
    Ok(all)
}

/// Apply the migrations the database lacks, under an advisory lock (nodes starting together
/// apply each once), each in its own transaction.
fn migrate_postgres(c: &Conn, shown: &Path) -> Result<()> {
    let err = |source| db_error(shown, source);
    let known = POSTGRES_MIGRATIONS.len() as i64;
    c.execute("SELECT pg_advisory_lock(?1)", params![MIGRATION_LOCK]).map_err(err)?;
    let result = (|| {
        c.execute_batch("CREATE TABLE IF NOT EXISTS pantau_schema (version BIGINT NOT NULL)").map_err(err)?;
        loop {
            let found: i64 =
                c.query_row("SELECT COALESCE(MAX(version), 0) FROM pantau_schema", [], |r| r.get(0)).map_err(err)?;
            if found == known {
                return Ok(());
            }
            let Some(sql) = usize::try_from(found).ok().and_then(|i| POSTGRES_MIGRATIONS.get(i)) else {
                return Err(StoreError::TooNew { path: shown.to_path_buf(), found, known });
            };
            let tx = c.transaction().map_err(err)?;
            tx.execute_batch(sql).map_err(err)?;
            tx.execute("DELETE FROM pantau_schema", []).map_err(err)?;
            tx.execute("INSERT INTO pantau_schema (version) VALUES (?1)", params![found + 1]).map_err(err)?;
            tx.commit().map_err(err)?;
            tracing::info!(db = %shown.display(), version = found + 1, "applied database migration");
        }
    })();
    let _ = c.execute("SELECT pg_advisory_unlock(?1)", params![MIGRATION_LOCK]);
    result
}

pub(super) fn open_sync(path: &Path) -> Result<Connection> {
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
        if path == Path::new(":memory:") {
            // The inspection commands' stand-in for a database not created yet: not news.
            tracing::debug!(db = %path.display(), version = found + 1, "applied database migration");
        } else {
            tracing::info!(db = %path.display(), version = found + 1, "applied database migration");
        }
    }
}
