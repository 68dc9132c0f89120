//! One connection, two backends: SQLite (rusqlite) and PostgreSQL (the blocking `postgres`
//! client). The store's methods are written once against [`Conn`], whose calls have rusqlite's
//! shape (`execute`, `query_row`, `query_map`, `prepare_cached`, `transaction`), with values
//! passed and read as the neutral [`Value`].
//!
//! SQL is written in SQLite's spelling with numbered parameters (`?1`); for PostgreSQL, `?N`
//! becomes `$N` and the word `rowid` the `seq` column (the alerts table's insertion order, which
//! SQLite keeps as its implicit rowid). Statements that the two engines cannot share are chosen
//! with [`Conn::dialect`]. Both run on tokio's blocking pool (the PostgreSQL client blocks on a
//! runtime of its own), so the async runtime is never blocked by either.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use crate::model::{AlertState, PollStatus};

/// Which engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
}

/// A value passed to or read from a statement.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Anything that can be passed as a statement parameter.
pub(super) trait ToValue {
    fn to_value(&self) -> Value;
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_to_value!(i64, i32, u32, u64, usize, u8);

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
}

/// Statement parameters: `params![a, b, c]` (each argument by reference, as rusqlite's macro).
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        &[$($crate::store::db::ToValue::to_value(&$p)),*] as &[$crate::store::db::Value]
    };
}
pub(super) use params;

/// A column value read as a Rust type.
pub(super) trait FromValue: Sized {
    fn from_value(v: &Value) -> Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Result<i64, String> {
        match v {
            Value::Int(i) => Ok(*i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}
macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value) -> Result<$t, String> {
                let i = i64::from_value(v)?;
                <$t>::try_from(i).map_err(|_| format!("{i} is out of range"))
            }
        }
    )*};
}
int_from_value!(u32, usize, u64);
impl FromValue for bool {
    fn from_value(v: &Value) -> Result<bool, String> {
        Ok(i64::from_value(v)? != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Result<f64, String> {
        match v {
            Value::Real(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Result<String, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Result<Vec<u8>, String> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            other => Err(format!("expected bytes, found {other:?}")),
        }
    }
}
impl FromValue for PollStatus {
    fn from_value(v: &Value) -> Result<PollStatus, String> {
        String::from_value(v)?.parse()
    }
}
impl FromValue for AlertState {
    fn from_value(v: &Value) -> Result<AlertState, String> {
        String::from_value(v)?.parse()
    }
}
impl FromValue for Value {
    fn from_value(v: &Value) -> Result<Value, String> {
        Ok(v.clone())
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Option<T>, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// A column index (rusqlite's `get` takes the index type first: `get::<_, T>(i)`).
pub(super) trait ColumnIndex {
    fn index(self) -> usize;
}
impl ColumnIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// One row of a result, its values read out of the engine.
#[derive(Debug, Clone)]
pub(super) struct Row(Vec<Value>);

impl Row {
    /// Column `i` as `T`.
    pub(super) fn get<I: ColumnIndex, T: FromValue>(&self, i: I) -> DbResult<T> {
        let i = i.index();
        let v = self.0.get(i).ok_or(DbError::Decode { column: i, detail: "no such column".into() })?;
        T::from_value(v).map_err(|detail| DbError::Decode { column: i, detail })
    }
}

/// What a call on a [`Conn`] can fail with.
#[derive(Debug, thiserror::Error)]
pub(super) enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("the query returned no rows")]
    NoRows,
    #[error("column {column}: {detail}")]
    Decode { column: usize, detail: String },
}

/// PostgreSQL's error with the server's detail and hint, which its `Display` leaves out.
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(&format!(" ({d})"));
            }
            s
        }
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

pub(super) type DbResult<T> = Result<T, DbError>;

impl DbError {
    /// Whether PostgreSQL rolled the transaction back to break a deadlock (or a serialization
    /// conflict) with another connection's: run again, it waits for the other instead.
    pub(super) fn is_conflict(&self) -> bool {
        use postgres::error::SqlState;
        match self {
            DbError::Postgres(e) => e
                .code()
                .is_some_and(|c| *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE),
            _ => false,
        }
    }
}

/// Run the transaction `f`, again (a few times at most) while PostgreSQL ends it to break a
/// deadlock: two nodes writing rows under the same unique keys in different orders (two feeds
/// carrying the same stories) wait on each other, and one of them is rolled back to free the
/// other. Run again at once, it would take its first keys before the other is done and meet it
/// again; it waits a scattered, growing while first. SQLite has one writer at a time, so `f`
/// runs once there.
pub(super) fn retry_conflicts<T>(mut f: impl FnMut() -> DbResult<T>) -> DbResult<T> {
    const ATTEMPTS: u32 = 6;
    let mut attempt = 1;
    loop {
        match f() {
            Err(e) if e.is_conflict() && attempt < ATTEMPTS => {
                let key = (std::thread::current().id(), std::time::SystemTime::now(), attempt);
                let wait = Duration::from_millis(20 * u64::from(attempt)).mul_f64(0.5 + crate::jitter::fraction(key));
                tracing::debug!(attempt, ?wait, error = %e, "transaction rolled back by a conflict with another; running it again");
                std::thread::sleep(wait);
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// rusqlite's `optional()`: no row is `None`, not an error.
pub(super) trait OptionalExtension<T> {
    fn optional(self) -> DbResult<Option<T>>;
}
impl<T> OptionalExtension<T> for DbResult<T> {
    fn optional(self) -> DbResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRows) | Err(DbError::Sqlite(rusqlite::Error::QueryReturnedNoRows)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A PostgreSQL connection: connected on first use and again after it was lost; statements
/// prepared once per connection.
pub(super) struct Pg {
    config: postgres::Config,
    client: Option<postgres::Client>,
    prepared: HashMap<String, postgres::Statement>,
    /// The store's count of lost connections when this one was last known sound.
    checked_at: u64,
}

impl Pg {
    pub(super) fn new(mut config: postgres::Config) -> Pg {
        config.application_name("pantau");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        // A node that vanishes (power, network) must not hold rows for hours: its connection is
        // found dead within about a minute.
        config.keepalives_idle(Duration::from_secs(30));
        config.keepalives_interval(Duration::from_secs(10));
        config.keepalives_retries(3);
        // A transaction left open by a node that vanished ends after 30 s; no call waits for a
        // lock or runs for longer than a minute (then it fails, and is retried).
        let limits = "-c idle_in_transaction_session_timeout=30s -c lock_timeout=30s -c statement_timeout=60s";
        let options = match config.get_options() {
            Some(given) if !given.trim().is_empty() => format!("{given} {limits}"),
            _ => limits.to_string(),
        };
        config.options(&options);
        Pg { config, client: None, prepared: HashMap::new(), checked_at: 0 }
    }

    /// After another connection of the store was lost (`lost` counts them), make sure this one
    /// still works before it is used, so that a restarted server costs one failed call, not
    /// one per connection: a cheap round trip, and a reconnect on the next use if it fails.
    pub(super) fn check_after_loss(&mut self, lost: u64) {
        if lost == self.checked_at {
            return;
        }
        self.checked_at = lost;
        if let Some(c) = &mut self.client {
            if c.is_valid(Duration::from_secs(2)).is_err() {
                self.client = None;
                self.prepared.clear();
            }
        }
    }

    fn client(&mut self) -> DbResult<&mut postgres::Client> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.client = None;
            self.prepared.clear();
            let client = self.config.connect(postgres::NoTls)?;
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    fn statement(&mut self, sql: &str) -> DbResult<postgres::Statement> {
        // Connected (again) first: a reconnect empties the statements of the lost connection.
        self.client()?;
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let text = postgres_sql(sql);
        let stmt = self.client()?.prepare(&text)?;
        self.prepared.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // The client closes by blocking on its own runtime, which panics on a thread that
        // drives async tasks (a store dropped in async code): close it on a thread of its own.
        if let Some(client) = self.client.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new().name("pantau-pg-close".into()).spawn(move || drop(client));
            }
        }
    }
}

/// A connection to either engine. Calls take `&self` (as rusqlite's do), so that several
/// prepared statements and a transaction can be used together.
pub(super) enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<Pg>>),
}

impl Conn {
    pub(super) fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite connection (schema work and SQLite's own features: PRAGMAs, interrupts).
    pub(super) fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) => None,
        }
    }

    /// Run `sql` with `params`; the number of rows changed.
    pub(super) fn execute(&self, sql: &str, params: impl AsRef<[Value]>) -> DbResult<usize> {
        let params = params.as_ref();
        match self {
            Conn::Sqlite(c) => Ok(c.prepare_cached(sql)?.execute(rusqlite::params_from_iter(params))?),
            Conn::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let stmt = pg.statement(sql)?;
                let n = pg.client()?.execute(&stmt, &pg_params(params))?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    /// All rows of `sql`.
    pub(super) fn rows(&self, sql: &str, params: impl AsRef<[Value]>) -> DbResult<Vec<Row>> {
        let params = params.as_ref();
        match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let width = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(Row((0..width).map(|i| r.get_ref(i).map(sqlite_value)).collect::<Result<_, _>>()?));
                }
                Ok(out)
            }
            Conn::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let stmt = pg.statement(sql)?;
                let rows = pg.client()?.query(&stmt, &pg_params(params))?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    /// The first row of `sql` through `f`; [`DbError::NoRows`] when there is none.
    pub(super) fn query_row<T>(
        &self,
        sql: &str,
        params: impl AsRef<[Value]>,
        f: impl FnOnce(&Row) -> DbResult<T>,
    ) -> DbResult<T> {
        let rows = self.rows(sql, params)?;
        f(rows.first().ok_or(DbError::NoRows)?)
    }

    /// Every row of `sql` through `f`, collected as rusqlite's `query_map` is.
    pub(super) fn query_map<T>(
        &self,
        sql: &str,
        params: impl AsRef<[Value]>,
        f: impl FnMut(&Row) -> DbResult<T>,
    ) -> DbResult<std::vec::IntoIter<DbResult<T>>> {
        Ok(self.rows(sql, params)?.iter().map(f).collect::<Vec<_>>().into_iter())
    }

    /// Whether `sql` returns a row.
    pub(super) fn exists(&self, sql: &str, params: impl AsRef<[Value]>) -> DbResult<bool> {
        Ok(!self.rows(sql, params)?.is_empty())
    }

    /// Statements without parameters, separated by `;`.
    pub(super) fn execute_batch(&self, sql: &str) -> DbResult<()> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Postgres(pg) => Ok(pg.borrow_mut().client()?.batch_execute(&postgres_sql(sql))?),
        }
    }

    /// A statement to run several times (statements are cached per connection anyway).
    pub(super) fn prepare_cached(&self, sql: &str) -> DbResult<Stmt<'_>> {
        Ok(Stmt { conn: self, sql: sql.to_string() })
    }

    /// [`Conn::prepare_cached`]: every statement is cached.
    pub(super) fn prepare(&self, sql: &str) -> DbResult<Stmt<'_>> {
        self.prepare_cached(sql)
    }

    /// Begin a transaction; it rolls back when dropped without [`Tx::commit`].
    pub(super) fn transaction(&self) -> DbResult<Tx<'_>> {
        self.execute_batch("BEGIN")?;
        Ok(Tx { conn: self, open: true })
    }
}

/// A statement bound to its connection, with rusqlite's statement calls.
pub(super) struct Stmt<'c> {
    conn: &'c Conn,
    sql: String,
}

impl Stmt<'_> {
    pub(super) fn execute(&mut self, params: impl AsRef<[Value]>) -> DbResult<usize> {
        self.conn.execute(&self.sql, params)
    }
    pub(super) fn exists(&mut self, params: impl AsRef<[Value]>) -> DbResult<bool> {
        self.conn.exists(&self.sql, params)
    }
    pub(super) fn query_row<T>(
        &mut self,
        params: impl AsRef<[Value]>,
        f: impl FnOnce(&Row) -> DbResult<T>,
    ) -> DbResult<T> {
        self.conn.query_row(&self.sql, params, f)
    }
    pub(super) fn query_map<T>(
        &mut self,
        params: impl AsRef<[Value]>,
        f: impl FnMut(&Row) -> DbResult<T>,
    ) -> DbResult<std::vec::IntoIter<DbResult<T>>> {
        self.conn.query_map(&self.sql, params, f)
    }
}

/// An open transaction; derefs to its connection.
pub(super) struct Tx<'c> {
    conn: &'c Conn,
    open: bool,
}

impl Tx<'_> {
    pub(super) fn commit(mut self) -> DbResult<()> {
        // Marked closed only once COMMIT worked: a failed one (a busy or full SQLite file) is
        // rolled back by the drop, never left open on the connection.
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            // The error that ended the transaction is what the caller reports; a rollback
            // that fails too (a lost connection) leaves nothing open on the server either.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

fn sqlite_value(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// A PostgreSQL row as values, by the type of each column.
fn pg_row(r: &postgres::Row) -> DbResult<Row> {
    use postgres::types::Type;
    let mut out = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let t = col.type_();
        let v = if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(v.into()))
        } else if *t == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(v.into()))
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?.map(|v| Value::Int(v.into()))
        } else if *t == Type::FLOAT8 {
            r.try_get::<_, Option<f64>>(i)?.map(Value::Real)
        } else if *t == Type::FLOAT4 {
            r.try_get::<_, Option<f32>>(i)?.map(|v| Value::Real(v.into()))
        } else if *t == Type::BYTEA {
            r.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob)
        } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(t) {
            r.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else {
            return Err(DbError::Decode {
                column: i,
                detail: format!("column {} has type {t}, which the store does not read (cast it)", col.name()),
            });
        };
        out.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(out))
}

fn pg_params(params: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect()
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ => i.to_string().as_str().to_sql(ty, out),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::FLOAT8 => f.to_sql(ty, out),
                _ => f.to_string().as_str().to_sql(ty, out),
            },
            // PostgreSQL's text cannot hold NUL (SQLite's can): a NUL from a feed or a server's
            // error body becomes U+FFFD rather than a write refused forever.
            Value::Text(s) if s.contains('\0') => s.replace('\0', "\u{FFFD}").as_str().to_sql(ty, out),
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// SQLite's spelling of a statement in PostgreSQL's: `?N` → `$N`, a bare `?` → the next
/// number, and the implicit `rowid` → the `seq` column. Quoted text is left alone.
pub(super) fn postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 1;
    let mut chars = sql.char_indices().peekable();
    let mut quote = None::<char>;
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
            }
            '?' => {
                let mut digits = String::new();
                while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                    digits.push(d);
                    chars.next();
                }
                let n = if digits.is_empty() { next } else { digits.parse().unwrap_or(next) };
                next = n + 1;
                out.push_str(&format!("${n}"));
            }
            'r' | 'R' if sql[i..].len() >= 5 && sql[i..i + 5].eq_ignore_ascii_case("rowid") => {
                let before = sql[..i].chars().next_back();
                let after = sql[i + 5..].chars().next();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                if !word(before) && !word(after) {
                    out.push_str("seq");
                    for _ in 0..4 {
                        chars.next();
                    }
                } else {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_spelling_becomes_postgres_spelling() {
        assert_eq!(
            postgres_sql("SELECT a FROM t WHERE b = ?1 AND c = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = $12"
        );
        assert_eq!(postgres_sql("VALUES (?, ?)"), "VALUES ($1, $2)");
        assert_eq!(
            postgres_sql("SELECT '?1', \"rowid\" FROM a ORDER BY rowid"),
            "SELECT '?1', \"rowid\" FROM a ORDER BY seq"
        );
        assert_eq!(postgres_sql("SELECT a.rowid, rowids, my_rowid"), "SELECT a.seq, rowids, my_rowid");
    }

    #[test]
    fn values_round_trip_through_sqlite() {
        let c = Conn::Sqlite(rusqlite::Connection::open_in_memory().unwrap());
        c.execute_batch("CREATE TABLE t (i INTEGER, s TEXT, b BLOB, n INTEGER)").unwrap();
        let none: Option<i64> = None;
        c.execute("INSERT INTO t VALUES (?1, ?2, ?3, ?4)", params![7i64, "x", vec![1u8, 2], none]).unwrap();
        let (i, s, b, n): (i64, String, Vec<u8>, Option<i64>) =
            c.query_row("SELECT i, s, b, n FROM t", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap();
        assert_eq!((i, s.as_str(), b, n), (7, "x", vec![1, 2], None));
        assert!(matches!(c.query_row("SELECT i FROM t WHERE i = 8", [], |r| r.get::<_, i64>(0)), Err(DbError::NoRows)));
        assert_eq!(c.query_row("SELECT i FROM t WHERE i = 8", [], |r| r.get::<_, i64>(0)).optional().unwrap(), None);
        let err = c.query_row("SELECT s FROM t", [], |r| r.get::<_, i64>(0)).unwrap_err();
        assert!(err.to_string().contains("column 0: expected an integer"), "{err}");
    }

    #[test]
    fn a_dropped_transaction_rolls_back() {
        let c = Conn::Sqlite(rusqlite::Connection::open_in_memory().unwrap());
        c.execute_batch("CREATE TABLE t (i INTEGER)").unwrap();
        {
            let tx = c.transaction().unwrap();
            tx.execute("INSERT INTO t VALUES (1)", []).unwrap();
        }
        let tx = c.transaction().unwrap();
        tx.execute("INSERT INTO t VALUES (2)", []).unwrap();
        tx.commit().unwrap();
        let all: Vec<i64> = c.query_map("SELECT i FROM t", [], |r| r.get(0)).unwrap().collect::<DbResult<_>>().unwrap();
        assert_eq!(all, vec![2]);
    }
}
