//! Copying a whole SQLite database into an empty PostgreSQL one (`pantau migrate`): every table
//! column by column with its ids (so the rows that point at each other still do), the outbox in
//! its insertion order, page by page, in one PostgreSQL transaction.
//!
//! The columns are read from both schemas and must be the same on both sides (but alerts' `seq`,
//! which is SQLite's rowid): a column that only one side has refuses the copy before anything is
//! written, so no data is ever left behind unseen.

use std::path::Path;

use super::db::{params, Conn, DbError, DbResult, Value};
use super::error::db_error;
use super::{Backend, Result, Store, StoreError};

/// Rows read (and written) at a time: a large database is never held in memory whole.
const PAGE: usize = 1000;

/// Most parameters one PostgreSQL statement can take (the protocol counts them in 16 bits).
const MAX_PARAMS: usize = 65_535;

/// How long the copy waits for another session's lock on the target's tables.
const LOCK_TIMEOUT: &str = "10s";

/// A table to copy: its name, the key it is read in order of, and where SQLite's rowid goes
/// when that is the key (alerts: PostgreSQL's `seq` keeps the insertion order).
struct Table {
    name: &'static str,
    key: &'static [&'static str],
    rowid_into: Option<&'static str>,
}

/// Every table of the schema, each before the tables whose rows refer to it.
const TABLES: &[Table] = &[
    Table { name: "feeds", key: &["id"], rowid_into: None },
    Table { name: "items", key: &["id"], rowid_into: None },
    Table { name: "alerts", key: &["rowid"], rowid_into: Some("seq") },
    Table { name: "story_bands_new", key: &["band", "item_id"], rowid_into: None },
    Table { name: "story_bands", key: &["band", "item_id"], rowid_into: None },
    Table { name: "nodes", key: &["name"], rowid_into: None },
    Table { name: "sink_leases", key: &["sink"], rowid_into: None },
];

/// The identity columns, whose sequences are moved past the ids copied into them.
const IDENTITIES: &[(&str, &str)] = &[("feeds", "id"), ("items", "id"), ("alerts", "seq")];

/// How many rows [`Store::copy_into`] copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyCounts {
    /// Each table with its rows, in the order copied.
    pub tables: Vec<(&'static str, u64)>,
}

impl CopyCounts {
    /// The rows copied of `table` (`None` for a table that is not copied).
    pub fn get(&self, table: &str) -> Option<u64> {
        self.tables.iter().find(|(t, _)| *t == table).map(|(_, n)| *n)
    }

    /// Every row copied.
    pub fn total(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

impl Store {
    /// Copy this SQLite database whole into `target`, an empty PostgreSQL database (its schema
    /// already migrated, as [`Store::open_database`] leaves it): every row with its ids, the
    /// alerts in their order, then each identity sequence moved past the largest id copied. It
    /// is one transaction on the target, so a failure leaves it empty; the source is read in
    /// one snapshot. Refused ([`StoreError::Refused`]) when the target is not PostgreSQL, holds
    /// any row, or a table's columns differ between the two.
    pub async fn copy_into(&self, target: &Store) -> Result<CopyCounts> {
        if self.backend() != Backend::Sqlite {
            return Err(refused(&self.path, "is not an SQLite database; only an SQLite database is copied"));
        }
        if target.backend() != Backend::Postgres {
            return Err(refused(&target.path, "is not a PostgreSQL database; a copy goes into PostgreSQL only"));
        }
        let (source, target) = (self.clone(), target.clone());
        tokio::task::spawn_blocking(move || {
            let src = source.conns[0].lock().unwrap_or_else(|e| e.into_inner());
            let dst = target.conns[0].lock().unwrap_or_else(|e| e.into_inner());
            copy(&src, &source.path, &dst, &target.path)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

fn refused(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Refused { path: path.to_path_buf(), reason: reason.into() }
}

/// The two sides of a copy: their connections (each in its transaction) and how their
/// failures are reported.
struct Sides<'a> {
    src: &'a Conn,
    src_path: &'a Path,
    dst: &'a Conn,
    dst_path: &'a Path,
}

impl Sides<'_> {
    fn src_err(&self, e: DbError) -> StoreError {
        db_error(self.src_path, e)
    }

    fn dst_err(&self, e: DbError) -> StoreError {
        db_error(self.dst_path, e)
    }
}

fn copy(src: &Conn, src_path: &Path, dst: &Conn, dst_path: &Path) -> Result<CopyCounts> {
    // One snapshot of the source; one transaction on the target, rolled back (when dropped) on
    // any failure.
    let read = src.transaction().map_err(|e| db_error(src_path, e))?;
    let write = dst.transaction().map_err(|e| db_error(dst_path, e))?;
    let s = Sides { src: &read, src_path, dst: &write, dst_path };

    // A node started on the target meanwhile waits for the copy instead of writing beside it.
    let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    s.dst
        .execute_batch(&format!(
            "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; LOCK TABLE {} IN EXCLUSIVE MODE",
            names.join(", ")
        ))
        .map_err(|e| s.dst_err(e))?;
    let mut filled = Vec::new();
    for t in TABLES {
        if s.dst.exists(&format!("SELECT 1 FROM {} LIMIT 1", t.name), []).map_err(|e| s.dst_err(e))? {
            filled.push(t.name);
        }
    }
    if !filled.is_empty() {
        return Err(refused(
            dst_path,
            format!(
                "is not empty ({} already hold rows); a copy goes only into an empty database: create a new one \
                 (CREATE DATABASE) and copy into that",
                filled.join(", ")
            ),
        ));
    }

    // Every table's columns are checked before anything is written.
    let columns = TABLES.iter().map(|t| columns(&s, t)).collect::<Result<Vec<_>>>()?;
    let mut counts = CopyCounts::default();
    for (t, cols) in TABLES.iter().zip(&columns) {
        let copied = copy_table(&s, t, cols)?;
        let held: u64 =
            s.src.query_row(&format!("SELECT COUNT(*) FROM {}", t.name), [], |r| r.get(0)).map_err(|e| s.src_err(e))?;
        if copied != held {
            return Err(refused(
                dst_path,
                format!(
                    "is left as empty as it was: {copied} rows of {} were copied, but {} holds {held}",
                    t.name,
                    src_path.display()
                ),
            ));
        }
        tracing::info!(table = t.name, rows = copied, "copied");
        counts.tables.push((t.name, copied));
    }
    for (table, column) in IDENTITIES {
        s.dst
            .execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), COALESCE(MAX({column}), 0) + 1, \
                     false) FROM {table}"
                ),
                [],
            )
            .map_err(|e| s.dst_err(e))?;
    }
    write.commit().map_err(|e| db_error(dst_path, e))?;
    Ok(counts)
}

/// The columns of `t` to copy, as the SQLite side names them (with `rowid` first where it is
/// copied); refused when one side has a column (or the table) that the other lacks.
fn columns(s: &Sides<'_>, t: &Table) -> Result<Vec<String>> {
    let names = |conn: &Conn, sql: &str| -> DbResult<Vec<String>> {
        conn.query_map(sql, params![t.name], |r| r.get(0))?.collect()
    };
    let sqlite = names(s.src, "SELECT name FROM pragma_table_info(?1) ORDER BY cid").map_err(|e| s.src_err(e))?;
    let postgres = names(
        s.dst,
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
    )
    .map_err(|e| s.dst_err(e))?;
    if sqlite.is_empty() {
        return Err(refused(s.src_path, format!("has no table {}; nothing copied", t.name)));
    }
    if postgres.is_empty() {
        return Err(refused(s.dst_path, format!("has no table {}; nothing copied", t.name)));
    }
    let only_sqlite: Vec<&str> = sqlite.iter().filter(|c| !postgres.contains(c)).map(String::as_str).collect();
    if !only_sqlite.is_empty() {
        return Err(refused(
            s.dst_path,
            format!(
                "has no column {} in table {}, which {} has; nothing copied (this pantau's PostgreSQL schema \
                 lags behind its SQLite one)",
                only_sqlite.join(", "),
                t.name,
                s.src_path.display()
            ),
        ));
    }
    let only_postgres: Vec<&str> = postgres
        .iter()
        .filter(|c| !sqlite.contains(c) && t.rowid_into != Some(c.as_str()))
        .map(String::as_str)
        .collect();
    if !only_postgres.is_empty() {
        return Err(refused(
            s.src_path,
            format!(
                "has no column {} in table {}, which {} has; nothing copied",
                only_postgres.join(", "),
                t.name,
                s.dst_path.display()
            ),
        ));
    }
    let mut cols = Vec::with_capacity(sqlite.len() + 1);
    if t.rowid_into.is_some() {
        cols.push("rowid".to_string());
    }
    cols.extend(sqlite);
    Ok(cols)
}

/// Copy the rows of `t` page by page in key order; the number of rows written.
fn copy_table(s: &Sides<'_>, t: &Table, cols: &[String]) -> Result<u64> {
    let width = cols.len();
    let Some(key_at) = t.key.iter().map(|k| cols.iter().position(|c| c == k)).collect::<Option<Vec<usize>>>() else {
        return Err(refused(
            s.src_path,
            format!("has no column {} in table {}; nothing copied", t.key.join(", "), t.name),
        ));
    };
    let select = cols.join(", ");
    let order = t.key.join(", ");
    let first = format!("SELECT {select} FROM {} ORDER BY {order} LIMIT {PAGE}", t.name);
    let after = (1..=t.key.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let next = format!("SELECT {select} FROM {} WHERE ({order}) > ({after}) ORDER BY {order} LIMIT {PAGE}", t.name);
    let mut insert_cols = cols.to_vec();
    if let Some(into) = t.rowid_into {
        insert_cols[0] = into.to_string();
    }
    let per_insert = (MAX_PARAMS / width).clamp(1, PAGE);

    let mut copied = 0u64;
    let mut last: Option<Vec<Value>> = None;
    loop {
        let rows = match &last {
            None => s.src.rows(&first, []),
            Some(key) => s.src.rows(&next, key),
        }
        .map_err(|e| s.src_err(e))?;
        let page = rows.len();
        if page == 0 {
            break;
        }
        let mut batch = Vec::with_capacity(per_insert.min(page) * width);
        let mut in_batch = 0;
        for (i, row) in rows.iter().enumerate() {
            let values = (0..width).map(|c| row.get::<_, Value>(c)).collect::<DbResult<Vec<Value>>>();
            let values = values.map_err(|e| s.src_err(e))?;
            if i + 1 == page {
                last = Some(key_at.iter().map(|&k| values[k].clone()).collect());
            }
            batch.extend(values);
            in_batch += 1;
            if in_batch == per_insert || i + 1 == page {
                let sql = insert_sql(t.name, &insert_cols, in_batch);
                copied += s.dst.execute(&sql, std::mem::take(&mut batch)).map_err(|e| s.dst_err(e))? as u64;
                in_batch = 0;
            }
        }
        if page < PAGE {
            break;
        }
    }
    Ok(copied)
}

/// `INSERT INTO table (cols) VALUES (?1, …), (…)` for `rows` rows.
fn insert_sql(table: &str, cols: &[String], rows: usize) -> String {
    let width = cols.len();
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("?{}", r * width + c + 1));
        }
        sql.push(')');
    }
    sql
}
