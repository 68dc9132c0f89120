//! The store's error type, and how SQLite's errors become it.

use std::path::{Path, PathBuf};

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
pub(super) fn sqlite_error(path: &Path, source: rusqlite::Error) -> StoreError {
    match damage_of(&source) {
        Some(detail) => StoreError::Damaged { path: path.to_path_buf(), detail },
        None => StoreError::Sqlite { path: path.to_path_buf(), source },
    }
}
