//! The store's error type, and how SQLite's errors become it.
//!
//! [`StoreError`] names no type of the database library: a failed call is
//! [`StoreError::Database`] with an [`ErrorKind`] to branch on and the backend's own error as
//! an opaque source (its message and chain of causes, for people), so another backend can
//! report its failures in the same terms.

use std::path::{Path, PathBuf};

/// Errors of the storage stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed a call.
    #[error("database {path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// What kind of failure it is, for callers that tell them apart.
        kind: ErrorKind,
        /// What the database said: the backend's own error, for its message and causes only
        /// (branch on `kind`, never on this).
        source: Box<dyn std::error::Error + Send + Sync>,
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
    /// A copy between two databases (`pantau migrate`) was refused before anything was
    /// written: the target is not an empty PostgreSQL database, or the two schemas differ.
    #[error("database {path} {reason}")]
    Refused {
        /// The database refused (as messages name it: no password).
        path: PathBuf,
        /// Why, and what to do, as the rest of a sentence that begins with the database
        /// ("is not empty; …").
        reason: String,
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

/// What kind of failure a [`StoreError::Database`] is. A damaged file is not among them: it is
/// [`StoreError::Damaged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Another connection held a lock the call needed for longer than the call waits ("database
    /// is locked"); a later try may work.
    Busy,
    /// The disk, or the database's own size limit, is full.
    Full,
    /// A constraint (a unique key, a foreign key, a trigger) refused the write.
    Constraint,
    /// The database server cannot be reached, or it is shutting down (PostgreSQL); a later
    /// try, on a new connection, may work.
    Unavailable,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The kind of a rusqlite error.
    fn of(e: &rusqlite::Error) -> ErrorKind {
        use rusqlite::ErrorCode::{ConstraintViolation, DatabaseBusy, DatabaseLocked, DiskFull};
        match e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                DatabaseBusy | DatabaseLocked => ErrorKind::Busy,
                DiskFull => ErrorKind::Full,
                ConstraintViolation => ErrorKind::Constraint,
                _ => ErrorKind::Other,
            },
            _ => ErrorKind::Other,
        }
    }
}

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

/// A failed call of either backend as pantau reports it.
pub(super) fn db_error(path: &Path, source: super::db::DbError) -> StoreError {
    use super::db::DbError;
    match source {
        DbError::Sqlite(e) => sqlite_error(path, e),
        DbError::Postgres(e) => {
            let kind = postgres_kind(&e);
            StoreError::Database { path: path.to_path_buf(), kind, source: Box::new(DbError::Postgres(e)) }
        }
        other => StoreError::Database { path: path.to_path_buf(), kind: ErrorKind::Other, source: Box::new(other) },
    }
}

/// The kind of a PostgreSQL error, by its SQLSTATE; an error without one is the connection's.
fn postgres_kind(e: &postgres::Error) -> ErrorKind {
    let Some(code) = e.code() else {
        return ErrorKind::Unavailable;
    };
    match code.code() {
        // serialization failure, deadlock, lock not available, query canceled
        "40001" | "40P01" | "55P03" | "57014" => ErrorKind::Busy,
        // admin or crash shutdown, cannot connect now, too many connections
        "57P01" | "57P02" | "57P03" | "53300" => ErrorKind::Unavailable,
        "53100" => ErrorKind::Full,
        c if c.starts_with("23") => ErrorKind::Constraint,
        c if c.starts_with("08") => ErrorKind::Unavailable,
        _ => ErrorKind::Other,
    }
}

/// A rusqlite error of the database at `path` as pantau reports it: a damaged file as
/// [`StoreError::Damaged`], anything else as [`StoreError::Database`] of its kind.
pub(super) fn sqlite_error(path: &Path, source: rusqlite::Error) -> StoreError {
    match damage_of(&source) {
        Some(detail) => StoreError::Damaged { path: path.to_path_buf(), detail },
        None => {
            StoreError::Database { path: path.to_path_buf(), kind: ErrorKind::of(&source), source: Box::new(source) }
        }
    }
}
