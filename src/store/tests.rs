//! Unit tests of the store: migrations, the instance lock, feeds, deduplicating commits, the outbox.
//!
//! One suite, two backends: every test of the store's interface is an `async fn(TestDb)` run
//! once on a SQLite file (`tests::sqlite::<name>`) and once on a fresh PostgreSQL database
//! (`tests::postgres::<name>`, skipped with a loud line when `PANTAU_TEST_PG` is unset); the
//! list at the end ([`on_both_backends!`]) names them, so a test left out of it is an unused
//! function (a warning, an error under clippy's `-D warnings`). Tests look behind the interface
//! through the store's own connection ([`row`], [`query_i64`], [`exec`]), with SQL in SQLite's
//! spelling, translated for PostgreSQL as the store's own is.
//!
//! The tests of what only one engine has stay single: SQLite's file, `user_version`, migrations
//! and error codes, the instance lock (a `flock` on the file) and the page cache; PostgreSQL's
//! advisory-locked migrations, `pantau_schema`, lost connections and several nodes on one
//! database (`postgres_*`).

use super::db::{FromValue, Row};
use super::schema::{MIGRATIONS, POSTGRES_MIGRATIONS};
use super::*;
use rusqlite::Connection;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{TimeZone, Utc};

use crate::model::{alert_id, AlertState, FeedRef, Item, NewAlert, OutboxAlert, PollStatus};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("pantau-store-{}-{n}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("pantau.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The database a test runs on: a SQLite file in a fresh directory, or a fresh PostgreSQL
/// database. Either is removed when the test ends.
enum TestDb {
    Sqlite(TempDir),
    Postgres(PgDatabase),
}

impl TestDb {
    fn sqlite(test: &str) -> TestDb {
        TestDb::Sqlite(TempDir::new(test))
    }

    /// `None` (with a loud line) when no PostgreSQL server is configured for tests.
    fn postgres(test: &str) -> Option<TestDb> {
        PgDatabase::new(test).map(TestDb::Postgres)
    }

    fn database(&self) -> crate::model::Database {
        match self {
            TestDb::Sqlite(dir) => crate::model::Database::Sqlite(dir.db()),
            TestDb::Postgres(pg) => pg.database(),
        }
    }

    /// The database as the store's errors name it.
    fn shown(&self) -> PathBuf {
        PathBuf::from(self.database().shown())
    }

    fn backend(&self) -> Backend {
        match self {
            TestDb::Sqlite(_) => Backend::Sqlite,
            TestDb::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQL of the engine the test runs on, where the two spell a statement differently.
    fn sql<'a>(&self, sqlite: &'a str, postgres: &'a str) -> &'a str {
        match self.backend() {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    /// A store on the database (a second call: a second store, as another node would open).
    async fn open(&self) -> Store {
        let store = Store::open_database(&self.database()).await.expect("open store");
        assert_eq!(store.backend(), self.backend());
        store
    }
}

/// The first row of `sql` (SQLite's spelling), read through the store's own connection: a look
/// behind its interface that works on either backend.
async fn row(store: &Store, sql: &str) -> Row {
    let q = sql.to_string();
    store.with(move |c| c.query_row(&q, [], |r| Ok(r.clone()))).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The first column of the first row of `sql`.
async fn value<T: FromValue>(store: &Store, sql: &str) -> T {
    row(store, sql).await.get(0).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn query_i64(store: &Store, sql: &str) -> i64 {
    value(store, sql).await
}

async fn query_text(store: &Store, sql: &str) -> String {
    value(store, sql).await
}

/// Run statements (separated by `;`, no parameters) on the store's own connection.
async fn exec(store: &Store, sql: &str) {
    let q = sql.to_string();
    store.with(move |c| c.execute_batch(&q)).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A second, raw connection to a SQLite file, for the SQLite-only tests.
fn raw(path: &Path) -> Connection {
    let c = Connection::open(path).expect("raw connection");
    c.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
    c
}

fn raw_i64(path: &Path, sql: &str) -> i64 {
    raw(path).query_row(sql, [], |r| r.get(0)).expect(sql)
}

fn user_version(path: &Path) -> i64 {
    raw(path).pragma_query_value(None, "user_version", |r| r.get(0)).expect("user_version")
}

fn feed(name: &str, url: &str) -> FeedRef {
    FeedRef { name: name.to_string(), url: url.to_string() }
}

fn item(key: &str) -> Item {
    Item {
        id: key.to_string(),
        title: format!("Title {key}"),
        link: Some(format!("https://example.org/{key}")),
        authors: vec!["Ann".to_string()],
        categories: vec!["news".to_string()],
        summary: format!("summary of {key}"),
        content: format!("content of {key}"),
        ..Item::default()
    }
}

fn alert(feed: &str, key: &str, rule: &str, sink: &str) -> NewAlert {
    let id = alert_id(feed, key, rule, sink);
    NewAlert {
        payload: format!(r#"{{"id":"{id}","rule":"{rule}"}}"#),
        id,
        rule: rule.to_string(),
        sink: sink.to_string(),
        matched: vec!["word".to_string()],
        every_copy: false,
    }
}

fn poll(feed: &str, items: Vec<(Item, Vec<NewAlert>)>) -> PollRecord {
    PollRecord {
        feed: feed.to_string(),
        items: items.into_iter().map(|(item, alerts)| Polled::new(item, alerts)).collect(),
        etag: None,
        last_modified: None,
        status: PollStatus::http(200),
        ..PollRecord::default()
    }
}

/// Record one delivery attempt of the alert with `id`.
async fn mark(store: &Store, id: &str, attempted: Attempted) -> Result<()> {
    store.record_deliveries(vec![(id.to_string(), attempted)]).await
}

/// A store on `db` with the named feeds (URL `https://example.org/<name>.xml`) synced.
async fn store_with_feeds(db: &TestDb, names: &[&str]) -> Store {
    let store = db.open().await;
    store
        .sync_feeds(names.iter().map(|n| feed(n, &format!("https://example.org/{n}.xml"))).collect())
        .await
        .expect("sync feeds");
    store
}

fn ids(alerts: &[OutboxAlert]) -> Vec<&str> {
    alerts.iter().map(|a| a.id.as_str()).collect()
}

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| k.to_string()).collect()
}

fn set(list: &[&str]) -> HashSet<String> {
    list.iter().map(|k| k.to_string()).collect()
}

/// Wait until the millisecond clock the store uses has moved on.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

// ---------------------------------------------------------------------------------------------
// SQLite only: the file, `PRAGMA user_version` and its migrations (PostgreSQL has its own
// schema and `pantau_schema`, tested with the postgres_* tests), SQLite's error codes, the
// instance lock (a `flock` on the file) and the page cache.

#[tokio::test]
async fn open_creates_file_and_applies_migrations() {
    let dir = TempDir::new("open_creates");
    let path = dir.0.join("nested").join("pantau.db");
    assert!(!path.exists());

    let store = Store::open(&path).await.expect("open");
    assert!(path.exists(), "the database file is created, with missing parent directories");
    assert!(!MIGRATIONS.is_empty());
    assert_eq!(user_version(&path), MIGRATIONS.len() as i64);
    for table in ["feeds", "items", "alerts"] {
        let n =
            raw_i64(&path, &format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"));
        assert_eq!(n, 1, "table {table} exists");
    }
    store.sync_feeds(vec![feed("a", "https://example.org/a.xml")]).await.unwrap();
    drop(store);

    // Opening again neither re-runs the migration (it would fail on existing tables) nor loses data.
    let store = Store::open(&path).await.expect("reopen");
    assert_eq!(user_version(&path), MIGRATIONS.len() as i64);
    assert_eq!(raw_i64(&path, "SELECT COUNT(*) FROM feeds"), 1);
    store.sync_feeds(vec![feed("b", "https://example.org/b.xml")]).await.unwrap();
    assert_eq!(raw_i64(&path, "SELECT COUNT(*) FROM feeds"), 2);
}

#[tokio::test]
async fn open_refuses_newer_schema() {
    let dir = TempDir::new("too_new");
    let path = dir.db();
    drop(Store::open(&path).await.expect("open"));
    let newer = MIGRATIONS.len() as i64 + 1;
    raw(&path).pragma_update(None, "user_version", newer).unwrap();

    match Store::open(&path).await {
        Err(StoreError::TooNew { path: p, found, known }) => {
            assert_eq!(p, path);
            assert_eq!(found, newer);
            assert_eq!(known, MIGRATIONS.len() as i64);
        }
        Err(e) => panic!("expected TooNew, got {e}"),
        Ok(_) => panic!("a database from a newer pantau must be refused"),
    }
    // Refusing does not touch the version.
    assert_eq!(user_version(&path), newer);
}

#[tokio::test]
async fn open_refuses_newer_schema_of_a_foreign_file() {
    // A file that never saw this pantau but claims a far newer schema: refused, not migrated.
    let dir = TempDir::new("too_new_foreign");
    let path = dir.db();
    raw(&path).pragma_update(None, "user_version", 42i64).unwrap();

    assert!(matches!(Store::open(&path).await, Err(StoreError::TooNew { found: 42, .. })));
    assert_eq!(raw_i64(&path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'feeds'"), 0);
}

#[tokio::test]
async fn every_earlier_schema_version_migrates_and_keeps_its_data() {
    for version in 1..MIGRATIONS.len() {
        let dir = TempDir::new(&format!("migrate_from_{version}"));
        let path = dir.db();
        {
            let mut conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..version] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", version as i64).unwrap();
            let tx = conn.transaction().unwrap();
            tx.execute("INSERT INTO feeds (name, url, created_at) VALUES ('f', 'https://example.org/f.xml', 0)", [])
                .unwrap();
            tx.execute(
                "INSERT INTO items (feed_id, item_key, title, authors, categories, summary, content, first_seen_at)
                 VALUES (1, 'old', 'Old item', '[]', '[]', '', '', 0)",
                [],
            )
            .unwrap();
            // From version 5 on, alerts name their feed themselves (operator alerts have no item).
            let sql = if version >= 5 {
                "INSERT INTO alerts (id, item_id, rule, sink, matched, payload, state, next_attempt_at, created_at, feed_id)
                 VALUES ('a1', 1, 'r', 's', '[]', '{}', 'pending', 0, 0, 1)"
            } else {
                "INSERT INTO alerts (id, item_id, rule, sink, matched, payload, state, next_attempt_at, created_at)
                 VALUES ('a1', 1, 'r', 's', '[]', '{}', 'pending', 0, 0)"
            };
            tx.execute(sql, []).unwrap();
            tx.commit().unwrap();
        }
        let store = Store::open(&path).await.unwrap_or_else(|e| panic!("from version {version}: {e}"));
        assert_eq!(user_version(&path), MIGRATIONS.len() as i64);
        assert_eq!(store.known_keys("f", keys(&["old"])).await.unwrap(), set(&["old"]), "from version {version}");
        assert_eq!(ids(&store.due_alerts("s", Utc::now(), 10).await.unwrap()), vec!["a1"], "from version {version}");
        assert_eq!(store.recent_alerts(false, 10).await.unwrap()[0].feed, "f", "from version {version}");
    }
}

#[test]
fn sqlite_errors_are_reported_by_kind_with_their_message_and_causes() {
    let path = Path::new("/var/lib/pantau/pantau.db");
    let failure = |code, msg: &str| {
        super::error::sqlite_error(
            path,
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(msg.to_string())),
        )
    };

    let busy = failure(rusqlite::ffi::SQLITE_BUSY, "database is locked");
    assert!(matches!(busy, StoreError::Database { kind: ErrorKind::Busy, .. }), "{busy:?}");
    assert_eq!(busy.to_string(), "database /var/lib/pantau/pantau.db: database is locked");
    // The backend's error stays the source, with its own cause behind it.
    let source = std::error::Error::source(&busy).expect("the database's error is the source");
    assert_eq!(source.to_string(), "database is locked");
    assert!(source.source().is_some(), "the chain of causes is kept");
    assert!(!busy.is_damaged());

    let kind = |e: StoreError| match e {
        StoreError::Database { kind, .. } => kind,
        other => panic!("expected a database error, got {other:?}"),
    };
    assert_eq!(kind(failure(rusqlite::ffi::SQLITE_LOCKED, "database table is locked")), ErrorKind::Busy);
    assert_eq!(kind(failure(rusqlite::ffi::SQLITE_FULL, "database or disk is full")), ErrorKind::Full);
    assert_eq!(kind(failure(rusqlite::ffi::SQLITE_CONSTRAINT, "UNIQUE constraint failed")), ErrorKind::Constraint);
    assert_eq!(kind(failure(rusqlite::ffi::SQLITE_ERROR, "no such table: x")), ErrorKind::Other);
    assert_eq!(kind(super::error::sqlite_error(path, rusqlite::Error::QueryReturnedNoRows)), ErrorKind::Other);

    // A damaged file is its own variant, whatever the call was.
    let damaged = failure(rusqlite::ffi::SQLITE_CORRUPT, "database disk image is malformed");
    assert!(damaged.is_damaged(), "{damaged:?}");
    assert!(damaged.to_string().contains("is damaged (database disk image is malformed)"), "{damaged}");
    assert!(failure(rusqlite::ffi::SQLITE_NOTADB, "file is not a database").is_damaged());
}

#[tokio::test]
async fn instance_lock_excludes_a_second_holder_until_dropped() {
    let dir = TempDir::new("lock");
    let path = dir.db();

    let first = lock_instance(&path).expect("first lock");
    match lock_instance(&path) {
        Err(StoreError::Locked { path: p }) => assert_eq!(p, path),
        other => panic!("expected Locked, got {other:?}"),
    }
    // Another database is not affected.
    let other = lock_instance(&dir.0.join("other.db")).expect("lock on another database");

    drop(first);
    let again = lock_instance(&path).expect("lock after the first was released");
    assert!(matches!(lock_instance(&path), Err(StoreError::Locked { .. })));
    drop(again);
    drop(other);
}

/// Bytes of page cache the store's connection holds now.
#[allow(unsafe_code)]
async fn page_cache_bytes(store: &Store) -> usize {
    store
        .with(|c| {
            let (mut current, mut high) = (0, 0);
            // SAFETY: the handle is the live connection's, used on the thread holding its lock,
            // and sqlite3_db_status only reads counters into the two integers passed.
            let rc = unsafe {
                rusqlite::ffi::sqlite3_db_status(
                    c.sqlite().expect("SQLite").handle(),
                    rusqlite::ffi::SQLITE_DBSTATUS_CACHE_USED,
                    &mut current,
                    &mut high,
                    0,
                )
            };
            assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
            Ok(current as usize)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn release_memory_empties_the_page_cache_and_the_store_still_works() {
    let db = TestDb::sqlite("release-memory");
    let store = store_with_feeds(&db, &["f"]).await;
    let items = (0..200)
        .map(|i| {
            let mut it = item(&format!("k{i}"));
            it.content = format!("{i} ").repeat(2_000);
            (it, vec![])
        })
        .collect();
    store.commit_poll(poll("f", items)).await.unwrap();
    assert_eq!(store.recent_items(Some("f".into()), 500).await.unwrap().len(), 200);
    let before = page_cache_bytes(&store).await;
    assert!(before > 500_000, "writing and reading 200 items of ~8 KB fills the page cache ({before} bytes)");
    store.release_memory().await.unwrap();
    let after = page_cache_bytes(&store).await;
    assert!(after < before / 10, "page cache {before} → {after} bytes");
    assert_eq!(store.recent_items(Some("f".into()), 500).await.unwrap().len(), 200);
}

// ---------------------------------------------------------------------------------------------
// Feeds (this and every section below: on both backends, see `on_both_backends!` at the end)

async fn sync_feeds_inserts_and_updates_urls_without_duplicates(db: TestDb) {
    let store = db.open().await;

    store.sync_feeds(vec![feed("a", "https://a.example/1"), feed("b", "https://b.example/1")]).await.unwrap();
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM feeds").await, 2);
    let id_a = query_i64(&store, "SELECT id FROM feeds WHERE name = 'a'").await;

    store.sync_feeds(vec![feed("a", "https://a.example/2"), feed("b", "https://b.example/1")]).await.unwrap();
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM feeds").await, 2, "a changed URL updates, not duplicates");
    assert_eq!(query_i64(&store, "SELECT id FROM feeds WHERE name = 'a'").await, id_a, "the row keeps its id");
    assert_eq!(query_text(&store, "SELECT url FROM feeds WHERE name = 'a'").await, "https://a.example/2");
    assert_eq!(query_text(&store, "SELECT url FROM feeds WHERE name = 'b'").await, "https://b.example/1");
}

async fn sync_feeds_keeps_poll_state(db: TestDb) {
    let store = store_with_feeds(&db, &["a"]).await;
    let mut p = poll("a", vec![(item("x"), vec![])]);
    p.etag = Some("\"v1\"".to_string());
    store.commit_poll(p).await.unwrap();

    store.sync_feeds(vec![feed("a", "https://moved.example/a.xml")]).await.unwrap();
    let state = store.feed_state("a").await.unwrap();
    assert!(state.polled_before);
    assert_eq!(state.etag.as_deref(), Some("\"v1\""));
    assert_eq!(store.known_keys("a", keys(&["x"])).await.unwrap(), set(&["x"]));
}

async fn a_permanent_move_is_kept_until_the_configured_url_changes(db: TestDb) {
    let store = store_with_feeds(&db, &["a"]).await;
    store.set_moved("a", "https://new.example/a.xml").await.unwrap();
    assert_eq!(store.feed_state("a").await.unwrap().moved_to.as_deref(), Some("https://new.example/a.xml"));
    // The same config again keeps the move; a new URL in the config forgets it.
    store.sync_feeds(vec![feed("a", "https://example.org/a.xml")]).await.unwrap();
    assert_eq!(store.feed_state("a").await.unwrap().moved_to.as_deref(), Some("https://new.example/a.xml"));
    let status = store.feed_statuses().await.unwrap();
    assert_eq!(status[0].moved_to.as_deref(), Some("https://new.example/a.xml"));
    store.sync_feeds(vec![feed("a", "https://other.example/a.xml")]).await.unwrap();
    assert_eq!(store.feed_state("a").await.unwrap().moved_to, None);
}

async fn feed_state_of_unknown_or_new_feed_is_default(db: TestDb) {
    let store = store_with_feeds(&db, &["a"]).await;
    assert_eq!(store.feed_state("nope").await.unwrap(), FeedState::default());
    assert_eq!(store.feed_state("a").await.unwrap(), FeedState::default());
}

async fn record_attempt_sets_last_attempt_time(db: TestDb) {
    let store = store_with_feeds(&db, &["a"]).await;
    let before = Utc::now().timestamp_millis();
    store.record_attempt("a").await.unwrap();
    let after = Utc::now().timestamp_millis();

    let state = store.feed_state("a").await.unwrap();
    let at = state.last_attempt_at.expect("attempt recorded").timestamp_millis();
    assert!((before..=after).contains(&at), "{before} <= {at} <= {after}");
    assert!(!state.polled_before, "an attempt is not a success");
}

async fn the_next_poll_keeps_an_adaptive_feeds_interval(db: TestDb) {
    let store = store_with_feeds(&db, &["auto", "fixed"]).await;
    assert_eq!(store.feed_state("auto").await.unwrap().adaptive, None);
    let at = Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap();
    store.set_next_poll("auto", at, Some(Duration::from_millis(1_950_000))).await.unwrap();
    store.set_next_poll("fixed", at, None).await.unwrap();
    let auto = store.feed_state("auto").await.unwrap();
    assert_eq!((auto.next_poll_at, auto.adaptive), (Some(at), Some(Duration::from_millis(1_950_000))));
    assert_eq!(store.feed_state("fixed").await.unwrap().adaptive, None);
}

// ---------------------------------------------------------------------------------------------
// Committing polls

async fn commit_poll_inserts_new_items_with_pending_alerts(db: TestDb) {
    let store = store_with_feeds(&db, &["f", "g"]).await;

    let mut p = poll(
        "f",
        vec![
            (item("a"), vec![alert("f", "a", "r1", "s1")]),
            (item("b"), vec![alert("f", "b", "r1", "s1"), alert("f", "b", "r2", "s2")]),
            (item("c"), vec![]),
        ],
    );
    p.etag = Some("\"e1\"".to_string());
    p.last_modified = Some("Mon, 01 Jan 2024 00:00:00 GMT".to_string());
    let summary = store.commit_poll(p).await.unwrap();
    assert_eq!(summary, PollSummary { new_items: 3, new_alerts: 3, ..PollSummary::default() });

    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items").await, 3);
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM alerts WHERE state = 'pending' AND attempts = 0").await, 3);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 3, delivered: 0, dead: 0 });
    assert_eq!(query_i64(&store, "SELECT items_seen FROM feeds WHERE name = 'f'").await, 3);
    assert_eq!(query_i64(&store, "SELECT items_seen FROM feeds WHERE name = 'g'").await, 0);

    // Each alert hangs off its own item.
    let n = query_i64(
        &store,
        &format!(
            "SELECT COUNT(*) FROM alerts JOIN items ON items.id = alerts.item_id WHERE items.item_key = 'b' AND alerts.id IN ('{}', '{}')",
            alert_id("f", "b", "r1", "s1"),
            alert_id("f", "b", "r2", "s2")
        ),
    )
    .await;
    assert_eq!(n, 2);

    // The item's fields are stored as given.
    let r = row(&store, "SELECT title, link, authors, categories, summary FROM items WHERE item_key = 'a'").await;
    let (title, link, authors, categories, summary_text): (String, Option<String>, String, String, String) =
        (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap(), r.get(3).unwrap(), r.get(4).unwrap());
    assert_eq!(title, "Title a");
    assert_eq!(link.as_deref(), Some("https://example.org/a"));
    assert_eq!(authors, r#"["Ann"]"#);
    assert_eq!(categories, r#"["news"]"#);
    assert_eq!(summary_text, "summary of a");

    let state = store.feed_state("f").await.unwrap();
    assert!(state.polled_before);
    assert_eq!(state.etag.as_deref(), Some("\"e1\""));
    assert_eq!(state.last_modified.as_deref(), Some("Mon, 01 Jan 2024 00:00:00 GMT"));
    assert_eq!(state.consecutive_failures, 0);
    assert!(!store.feed_state("g").await.unwrap().polled_before, "other feeds are untouched");
}

async fn commit_poll_stores_dates_to_the_millisecond(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let published = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
    let updated = Utc.timestamp_millis_opt(1_700_000_100_456).unwrap();
    let it = Item { published: Some(published), updated: Some(updated), ..item("d") };
    let bare = Item { link: None, ..item("e") };
    store.commit_poll(poll("f", vec![(it, vec![]), (bare, vec![])])).await.unwrap();

    assert_eq!(query_i64(&store, "SELECT published FROM items WHERE item_key = 'd'").await, 1_700_000_000_123);
    assert_eq!(query_i64(&store, "SELECT updated FROM items WHERE item_key = 'd'").await, 1_700_000_100_456);
    assert_eq!(
        query_i64(&store, "SELECT COUNT(*) FROM items WHERE item_key = 'e' AND published IS NULL AND updated IS NULL AND link IS NULL").await,
        1
    );
}

async fn commit_poll_again_inserts_nothing_and_raises_no_alert(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let mut p =
        poll("f", vec![(item("a"), vec![alert("f", "a", "r1", "s1")]), (item("b"), vec![alert("f", "b", "r1", "s1")])]);
    p.etag = Some("\"e1\"".to_string());
    p.last_modified = Some("lm1".to_string());
    let first = store.commit_poll(p).await.unwrap();
    assert_eq!(first, PollSummary { new_items: 2, new_alerts: 2, ..PollSummary::default() });
    let first_seen_a = query_i64(&store, "SELECT first_seen_at FROM items WHERE item_key = 'a'").await;

    tick().await;
    // The same items again, now carrying different alerts (another rule, another sink) and changed text.
    let changed_a = Item { title: "Retitled".to_string(), ..item("a") };
    let mut again = poll(
        "f",
        vec![
            (changed_a, vec![alert("f", "a", "r2", "s1"), alert("f", "a", "r1", "s2")]),
            (item("b"), vec![alert("f", "b", "r9", "s9")]),
        ],
    );
    again.etag = Some("\"e2\"".to_string());
    again.last_modified = Some("lm2".to_string());
    let second = store.commit_poll(again).await.unwrap();
    assert_eq!(second, PollSummary { new_items: 0, new_alerts: 0, ..PollSummary::default() });

    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items").await, 2);
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM alerts").await, 2);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 2, delivered: 0, dead: 0 });
    assert_eq!(query_i64(&store, "SELECT first_seen_at FROM items WHERE item_key = 'a'").await, first_seen_a);
    let title = query_text(&store, "SELECT title FROM items WHERE item_key = 'a'").await;
    assert_eq!(title, "Title a", "a stored item is left alone");
    assert!(store.due_alerts("s2", Utc::now(), 10).await.unwrap().is_empty());
    assert!(store.due_alerts("s9", Utc::now(), 10).await.unwrap().is_empty());
    assert_eq!(query_i64(&store, "SELECT items_seen FROM feeds WHERE name = 'f'").await, 2);
    let state = store.feed_state("f").await.unwrap();
    assert_eq!(state.etag.as_deref(), Some("\"e2\""), "validators are replaced even when nothing is new");
    assert_eq!(state.last_modified.as_deref(), Some("lm2"));

    // A mix of old and new items only counts the new one.
    let mixed = store
        .commit_poll(poll(
            "f",
            vec![(item("a"), vec![alert("f", "a", "r3", "s1")]), (item("c"), vec![alert("f", "c", "r1", "s1")])],
        ))
        .await
        .unwrap();
    assert_eq!(mixed, PollSummary { new_items: 1, new_alerts: 1, ..PollSummary::default() });
    let state = store.feed_state("f").await.unwrap();
    assert_eq!((state.etag, state.last_modified), (None, None), "a response without validators clears the old ones");
    assert_eq!(query_i64(&store, "SELECT items_seen FROM feeds WHERE name = 'f'").await, 3);
    let due = store.due_alerts("s1", Utc::now(), 10).await.unwrap();
    assert_eq!(
        ids(&due),
        vec![alert_id("f", "a", "r1", "s1"), alert_id("f", "b", "r1", "s1"), alert_id("f", "c", "r1", "s1")]
    );
}

async fn commit_poll_counts_an_item_repeated_in_one_poll_once(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let summary = store
        .commit_poll(poll(
            "f",
            vec![
                (item("a"), vec![alert("f", "a", "r1", "s1")]),
                (item("a"), vec![alert("f", "a", "r2", "s1")]),
                (item("b"), vec![]),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(summary, PollSummary { new_items: 2, new_alerts: 1, ..PollSummary::default() });
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items WHERE item_key = 'a'").await, 1);
    assert_eq!(query_i64(&store, "SELECT items_seen FROM feeds WHERE name = 'f'").await, 2);
    let due = store.due_alerts("s1", Utc::now(), 10).await.unwrap();
    assert_eq!(ids(&due), vec![alert_id("f", "a", "r1", "s1")]);
}

async fn same_item_key_in_two_feeds_is_two_items(db: TestDb) {
    let store = store_with_feeds(&db, &["f", "g"]).await;
    let s1 = store.commit_poll(poll("f", vec![(item("a"), vec![alert("f", "a", "r", "s")])])).await.unwrap();
    let s2 = store.commit_poll(poll("g", vec![(item("a"), vec![alert("g", "a", "r", "s")])])).await.unwrap();
    assert_eq!(s1, PollSummary { new_items: 1, new_alerts: 1, ..PollSummary::default() });
    // The same link in two feeds is one story: the second feed stores the item but its alert
    // for the same rule and sink is a cross-feed duplicate.
    assert_eq!(s2, PollSummary { new_items: 1, new_alerts: 0, cross_feed_duplicates: 1, ..PollSummary::default() });
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items").await, 2);
    // The waiting alert names the second feed (once, however often the story comes again).
    let rows = store.recent_alerts(false, 10).await.unwrap();
    assert_eq!((rows.len(), rows[0].copies), (1, 1), "{rows:?}");
    let same_story = Item { link: item("a").link, ..item("a-again") };
    let s = store.commit_poll(poll("g", vec![(same_story, vec![alert("g", "a-again", "r", "s")])])).await.unwrap();
    assert_eq!((s.new_items, s.new_alerts, s.cross_feed_duplicates), (1, 0, 1));
    assert_eq!(store.recent_alerts(false, 10).await.unwrap()[0].copies, 1);
    // Another story in the second feed alerts as usual.
    let other = Item { link: Some("https://example.org/elsewhere".into()), ..item("b") };
    let s3 = store.commit_poll(poll("g", vec![(other, vec![alert("g", "b", "r", "s")])])).await.unwrap();
    assert_eq!(s3, PollSummary { new_items: 1, new_alerts: 1, ..PollSummary::default() });
}

async fn known_keys_returns_exactly_the_stored_keys_of_that_feed(db: TestDb) {
    let store = store_with_feeds(&db, &["f", "g"]).await;
    assert!(store.known_keys("f", keys(&["a", "b"])).await.unwrap().is_empty());

    store.commit_poll(poll("f", vec![(item("a"), vec![]), (item("b"), vec![])])).await.unwrap();
    store.commit_poll(poll("g", vec![(item("z"), vec![])])).await.unwrap();

    assert_eq!(store.known_keys("f", keys(&["a", "b", "c", "z"])).await.unwrap(), set(&["a", "b"]));
    assert_eq!(store.known_keys("f", keys(&["b"])).await.unwrap(), set(&["b"]));
    assert!(store.known_keys("f", vec![]).await.unwrap().is_empty());
    assert_eq!(store.known_keys("g", keys(&["a", "b", "z"])).await.unwrap(), set(&["z"]));
    assert!(store.known_keys("unknown", keys(&["a", "z"])).await.unwrap().is_empty());
}

async fn edits_update_the_row_and_realert_and_rekeys_keep_the_item(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    store
        .commit_poll(poll("f", vec![(item("a"), vec![alert("f", "a", "r", "s")]), (item("b"), vec![])]))
        .await
        .unwrap();
    let a = Polled::new(item("a"), vec![]);
    let link = a.identity.link.clone().expect("a has a link");
    let known = store.known_items("f", keys(&["a", "zzz"]), vec![link.clone(), "https://nowhere.example/".into()]);
    let known = known.await.unwrap();
    assert_eq!(known.keys.len(), 1, "{known:?}");
    assert_eq!(known.keys["a"].as_deref(), Some(a.identity.content_hash.as_str()));
    assert_eq!(known.links, HashSet::from([link]));
    assert_eq!(store.known_items("nope", keys(&["a"]), vec![]).await.unwrap(), Known::default());

    // An edit updates the stored row and raises its alert under the edited version's story key.
    let edited = Item { content: "content of a, corrected".into(), ..item("a") };
    let mut record = poll("f", vec![]);
    record.edits = vec![Polled::new(edited, vec![alert("f", "a#2", "r", "s")])];
    // b comes back under a new key: the row takes it, the item is not new.
    let b_link = Polled::new(item("b"), vec![]).identity.link.expect("b has a link");
    record.rekeys = vec![Rekey { link: b_link, new_key: "b2".into() }];
    let s = store.commit_poll(record).await.unwrap();
    assert_eq!((s.edited, s.new_alerts, s.new_items), (1, 1, 0));
    assert_eq!(query_text(&store, "SELECT content FROM items WHERE item_key = 'a'").await, "content of a, corrected");
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items WHERE item_key = 'a' AND edited_at IS NOT NULL").await, 1);
    assert_eq!(store.known_keys("f", keys(&["b", "b2"])).await.unwrap(), set(&["b2"]));
    assert_eq!(store.outbox_counts().await.unwrap().pending, 2);
    // An edit of an item that is not stored changes nothing.
    let mut record = poll("f", vec![]);
    record.edits = vec![Polled::new(item("ghost"), vec![alert("f", "ghost", "r", "s")])];
    let s = store.commit_poll(record).await.unwrap();
    assert_eq!((s.edited, s.new_alerts), (0, 0));
}

// ---------------------------------------------------------------------------------------------
// Failures and health

async fn failures_count_up_and_reset_on_success_or_not_modified(db: TestDb) {
    let store = store_with_feeds(&db, &["f", "g"]).await;

    assert_eq!(store.record_failure("f", PollStatus::http(500), "server error").await.unwrap(), 1);
    assert_eq!(store.record_failure("f", PollStatus::Timeout, "timed out").await.unwrap(), 2);
    assert_eq!(store.record_failure("f", PollStatus::http(502), "bad gateway").await.unwrap(), 3);
    assert_eq!(store.record_failure("nope", PollStatus::http(502), "unknown feed").await.unwrap(), 0);
    assert_eq!(store.feed_state("f").await.unwrap().consecutive_failures, 3);
    assert_eq!(store.feed_state("g").await.unwrap().consecutive_failures, 0, "per feed");
    let r = row(&store, "SELECT last_status, last_error FROM feeds WHERE name = 'f'").await;
    let (status, error): (String, String) = (r.get(0).unwrap(), r.get(1).unwrap());
    assert_eq!((status.as_str(), error.as_str()), ("502", "bad gateway"));
    assert_eq!(store.feed_health("f").await.unwrap().last_error.as_deref(), Some("bad gateway"));

    store.commit_poll(poll("f", vec![(item("a"), vec![])])).await.unwrap();
    assert_eq!(store.feed_state("f").await.unwrap().consecutive_failures, 0);
    assert_eq!(
        query_i64(&store, "SELECT COUNT(*) FROM feeds WHERE name = 'f' AND last_error IS NULL AND last_status = '200'")
            .await,
        1
    );

    assert_eq!(store.record_failure("f", PollStatus::http(500), "again").await.unwrap(), 1);
    assert_eq!(store.record_failure("f", PollStatus::http(500), "again").await.unwrap(), 2);
    store.record_not_modified("f").await.unwrap();
    assert_eq!(store.feed_state("f").await.unwrap().consecutive_failures, 0);
    assert_eq!(
        query_i64(&store, "SELECT COUNT(*) FROM feeds WHERE name = 'f' AND last_error IS NULL AND last_status = '304'")
            .await,
        1
    );
    assert_eq!(store.record_failure("f", PollStatus::http(500), "once more").await.unwrap(), 1);
    let status = store.feed_statuses().await.unwrap();
    assert_eq!((status[0].consecutive_failures, status[0].last_error.as_deref()), (1, Some("once more")));
    assert_eq!(status[0].last_status, Some(PollStatus::http(500)));
}

async fn record_not_modified_keeps_validators_and_items(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let mut p = poll("f", vec![(item("a"), vec![])]);
    p.etag = Some("\"e\"".to_string());
    p.last_modified = Some("lm".to_string());
    store.commit_poll(p).await.unwrap();

    store.record_not_modified("f").await.unwrap();
    let state = store.feed_state("f").await.unwrap();
    assert!(state.polled_before);
    assert_eq!(state.etag.as_deref(), Some("\"e\""));
    assert_eq!(state.last_modified.as_deref(), Some("lm"));
    assert_eq!(store.known_keys("f", keys(&["a"])).await.unwrap(), set(&["a"]));
}

async fn feed_health_measures_the_rhythm_and_keeps_both_operator_flags_apart(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let fresh = store.feed_health("f").await.unwrap();
    assert_eq!((fresh.batches, fresh.rhythm, fresh.last_new_items_at), (0, None, None));
    assert_eq!(store.feed_health("nope").await.unwrap(), FeedHealth::default());

    // Three polls with new items, at known times: first seen 0, 60 and 180 minutes in.
    for k in ["a", "b", "c"] {
        store.commit_poll(poll("f", vec![(item(k), vec![])])).await.unwrap();
        tick().await;
    }
    let base = 1_700_000_000_000i64;
    for (k, minutes) in [("a", 0), ("b", 60), ("c", 180)] {
        let at = base + minutes * 60_000;
        exec(&store, &format!("UPDATE items SET first_seen_at = {at} WHERE item_key = '{k}'")).await;
    }
    let h = store.feed_health("f").await.unwrap();
    assert_eq!(h.batches, 3);
    assert_eq!(h.rhythm, Some(Duration::from_secs(90 * 60)), "180 minutes over two gaps");
    assert_eq!(h.last_new_items_at.map(|t| t.timestamp_millis()), Some(base + 180 * 60_000));
    assert!(!h.alerted && !h.quiet_alerted);
    let status = store.feed_statuses().await.unwrap();
    assert_eq!((status[0].items, status[0].avg_new_item_interval), (3, Some(Duration::from_secs(90 * 60))));

    let quiet = vec![alert("f", "health:quiet:1", "pantau:feed-health", "ops")];
    assert_eq!(store.queue_health_alerts("f", quiet, HealthFlag::Quiet, true).await.unwrap(), 1);
    let h = store.feed_health("f").await.unwrap();
    assert!(h.quiet_alerted && !h.alerted, "the quiet flag is not the failing flag");
    let again = vec![alert("f", "health:quiet:1", "pantau:feed-health", "ops")];
    assert_eq!(store.queue_health_alerts("f", again, HealthFlag::Quiet, true).await.unwrap(), 0, "same id: no twin");
    store.queue_health_alerts("f", vec![], HealthFlag::Quiet, false).await.unwrap();
    assert!(!store.feed_health("f").await.unwrap().quiet_alerted);
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM alerts WHERE item_id IS NULL AND feed_id IS NOT NULL").await, 1);

    // Failing: since its last success, and the failing flag on its own.
    store.record_failure("f", PollStatus::http(500), "down").await.unwrap();
    let failing = vec![alert("f", "health:failing:1", "pantau:feed-health", "ops")];
    store.queue_health_alerts("f", failing, HealthFlag::Failing, true).await.unwrap();
    let h = store.feed_health("f").await.unwrap();
    assert!(h.alerted && !h.quiet_alerted);
    let last_success = query_i64(&store, "SELECT last_success_at FROM feeds WHERE name = 'f'").await;
    assert_eq!(h.failing_since.map(|t| t.timestamp_millis()), Some(last_success));
}

async fn the_publisher_ttl_is_kept_from_the_last_document_that_stated_it(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    assert_eq!(store.feed_state("f").await.unwrap().ttl, None);
    let mut p = poll("f", vec![(item("a"), vec![])]);
    p.ttl = Some(Duration::from_secs(1800));
    p.recoveries = vec!["fixed an entity".into()];
    store.commit_poll(p).await.unwrap();
    store.record_not_modified("f").await.unwrap();
    assert_eq!(store.feed_state("f").await.unwrap().ttl, Some(Duration::from_secs(1800)), "a 304 keeps it");
    assert_eq!(store.feed_statuses().await.unwrap()[0].recoveries.as_deref(), Some("fixed an entity"));
    store.commit_poll(poll("f", vec![])).await.unwrap();
    assert_eq!(store.feed_state("f").await.unwrap().ttl, None, "a document without one clears it");
    assert_eq!(store.feed_statuses().await.unwrap()[0].recoveries, None);
}

async fn operator_alerts_without_a_feed_are_queued_and_delivered_like_any_other(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let a = alert("pantau", "config:refused:1", "pantau:config", "ops");
    assert_eq!(store.queue_operator_alerts(vec![a.clone()]).await.unwrap(), 1);
    assert_eq!(store.queue_operator_alerts(vec![a.clone()]).await.unwrap(), 0, "an id is queued once");
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM alerts WHERE feed_id IS NULL AND item_id IS NULL").await, 1);
    let due = store.due_alerts("ops", Utc::now(), 10).await.unwrap();
    assert_eq!(ids(&due), vec![a.id.as_str()]);
    mark(&store, &a.id, Attempted::Delivered).await.unwrap();
    let rows = store.recent_alerts(false, 10).await.unwrap();
    assert_eq!(rows.len(), 1, "`pantau alerts` lists it");
    assert_eq!((rows[0].feed.as_str(), rows[0].title.as_str(), rows[0].story), ("", "", 0));
    assert_eq!(rows[0].next_attempt_at, None, "delivered");
}

// ---------------------------------------------------------------------------------------------
// Outbox

/// Commit one item per key to feed "f", each with one alert (rule "r") for `sink`, in order.
async fn queue(store: &Store, sink: &str, item_keys: &[&str]) -> Vec<String> {
    let items = item_keys.iter().map(|k| (item(k), vec![alert("f", k, "r", sink)])).collect();
    let summary = store.commit_poll(poll("f", items)).await.unwrap();
    assert_eq!(summary.new_alerts, item_keys.len());
    item_keys.iter().map(|k| alert_id("f", k, "r", sink)).collect()
}

async fn due_alerts_returns_due_pending_rows_oldest_first_and_limited(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let first = queue(&store, "s", &["a", "b"]).await;
    tick().await;
    let later = queue(&store, "s", &["c"]).await;
    let now = Utc::now();

    let due = store.due_alerts("s", now, 10).await.unwrap();
    assert_eq!(ids(&due), vec![first[0].as_str(), first[1].as_str(), later[0].as_str()]);
    let a = &due[0];
    assert_eq!(a.sink, "s");
    assert_eq!(a.attempts, 0);
    assert_eq!(a.payload, alert("f", "a", "r", "s").payload, "payload is stored verbatim");

    assert_eq!(ids(&store.due_alerts("s", now, 2).await.unwrap()), vec![first[0].as_str(), first[1].as_str()]);
    assert!(store.due_alerts("s", now, 0).await.unwrap().is_empty());
    // Nothing was due an hour ago.
    assert!(store.due_alerts("s", now - chrono::Duration::hours(1), 10).await.unwrap().is_empty());

    // A retried alert moves behind the ones that have been waiting.
    tick().await;
    mark(&store, &first[0], Attempted::Retry { after: Duration::ZERO, error: "flaky".into() }).await.unwrap();
    let due = store.due_alerts("s", Utc::now(), 10).await.unwrap();
    assert_eq!(ids(&due), vec![first[1].as_str(), later[0].as_str(), first[0].as_str()]);
    assert_eq!(due[2].attempts, 1);
}

async fn a_retry_defers_the_alert_and_counts_the_attempt(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let ids_ = queue(&store, "s", &["a", "b"]).await;
    let (a, b) = (&ids_[0], &ids_[1]);

    let delay = Duration::from_secs(60);
    let before = Utc::now();
    mark(&store, a, Attempted::Retry { after: delay, error: "HTTP 503".into() }).await.unwrap();
    let after = Utc::now();

    let due = store.due_alerts("s", after, 10).await.unwrap();
    assert_eq!(ids(&due), vec![b.as_str()], "a deferred alert is not due yet");
    let next = store.next_due("s").await.unwrap().expect("b is still pending");
    assert!(next <= after, "b is due now, so the earliest due time is not in the future");

    // Once b is delivered, next_due reports a's retry time.
    mark(&store, b, Attempted::Delivered).await.unwrap();
    let next = store.next_due("s").await.unwrap().expect("a is pending");
    let delay = chrono::Duration::from_std(delay).unwrap();
    let lo = (before + delay).timestamp_millis();
    let hi = (after + delay).timestamp_millis();
    assert!((lo..=hi).contains(&next.timestamp_millis()), "{lo} <= {} <= {hi}", next.timestamp_millis());

    // At the retry time it comes back, with the attempt counted.
    let due = store.due_alerts("s", next, 10).await.unwrap();
    assert_eq!(ids(&due), vec![a.as_str()]);
    assert_eq!(due[0].attempts, 1);
    assert_eq!(
        query_i64(&store, &format!("SELECT COUNT(*) FROM alerts WHERE id = '{a}' AND last_error = 'HTTP 503'")).await,
        1
    );

    mark(&store, a, Attempted::Retry { after: Duration::ZERO, error: "again".into() }).await.unwrap();
    let due = store.due_alerts("s", Utc::now(), 10).await.unwrap();
    assert_eq!(due[0].attempts, 2);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 1, delivered: 1, dead: 0 });
}

async fn delivered_and_dead_alerts_leave_the_queue(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let ids_ = queue(&store, "s", &["a", "b", "c", "d"]).await;
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 4, delivered: 0, dead: 0 });

    mark(&store, &ids_[0], Attempted::Delivered).await.unwrap();
    mark(&store, &ids_[1], Attempted::Dead("HTTP 400".into())).await.unwrap();
    mark(&store, &ids_[2], Attempted::Delivered).await.unwrap();

    let due = store.due_alerts("s", Utc::now(), 10).await.unwrap();
    assert_eq!(ids(&due), vec![ids_[3].as_str()]);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 1, delivered: 2, dead: 1 });
    let delivered =
        format!("SELECT COUNT(*) FROM alerts WHERE id = '{}' AND attempts = 1 AND delivered_at IS NOT NULL", ids_[0]);
    assert_eq!(query_i64(&store, &delivered).await, 1);
    let dead =
        format!("SELECT COUNT(*) FROM alerts WHERE id = '{}' AND attempts = 1 AND last_error = 'HTTP 400'", ids_[1]);
    assert_eq!(query_i64(&store, &dead).await, 1);

    mark(&store, &ids_[3], Attempted::Dead("gave up".into())).await.unwrap();
    assert!(store.due_alerts("s", Utc::now(), 10).await.unwrap().is_empty());
    assert_eq!(store.next_due("s").await.unwrap(), None, "nothing pending, nothing due");
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 0, delivered: 2, dead: 2 });
}

async fn outbox_of_an_empty_store(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts::default());
    assert!(store.due_alerts("s", Utc::now(), 10).await.unwrap().is_empty());
    assert_eq!(store.next_due("s").await.unwrap(), None);
    assert_eq!(store.pending_summary().await.unwrap(), (vec![], None));
    assert!(store.alert_counts_by_sink().await.unwrap().is_empty());
    assert!(store.recent_alerts(false, 10).await.unwrap().is_empty());
    assert!(store.recent_items(None, 10).await.unwrap().is_empty());
    assert_eq!(store.next_article_due().await.unwrap(), None);
}

async fn alerts_of_one_sink_are_not_returned_for_another(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let a = alert("f", "x", "r", "A");
    let b = alert("f", "x", "r", "B");
    store.commit_poll(poll("f", vec![(item("x"), vec![a.clone(), b.clone()])])).await.unwrap();
    let only_a = queue(&store, "A", &["y"]).await;

    let now = Utc::now();
    let due_a = store.due_alerts("A", now, 10).await.unwrap();
    let due_b = store.due_alerts("B", now, 10).await.unwrap();
    assert_eq!(ids(&due_a), vec![a.id.as_str(), only_a[0].as_str()]);
    assert!(due_a.iter().all(|x| x.sink == "A"));
    assert_eq!(ids(&due_b), vec![b.id.as_str()]);
    assert_eq!(due_b[0].sink, "B");
    assert!(store.due_alerts("C", now, 10).await.unwrap().is_empty());
    assert_eq!(store.next_due("C").await.unwrap(), None);

    // Settling B's alert does not touch A's queue, and vice versa.
    mark(&store, &b.id, Attempted::Delivered).await.unwrap();
    assert_eq!(store.next_due("B").await.unwrap(), None);
    assert!(store.next_due("A").await.unwrap().is_some());
    assert_eq!(store.due_alerts("A", Utc::now(), 10).await.unwrap().len(), 2);
}

async fn the_outbox_is_counted_per_sink_and_state(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let before = Utc::now().timestamp_millis();
    let a = queue(&store, "A", &["a", "b", "c"]).await;
    let b = queue(&store, "B", &["d"]).await;
    mark(&store, &a[0], Attempted::Delivered).await.unwrap();
    mark(&store, &a[1], Attempted::Dead("HTTP 400".into())).await.unwrap();
    let (per_sink, oldest) = store.pending_summary().await.unwrap();
    assert_eq!(per_sink, vec![("A".to_string(), 1), ("B".to_string(), 1)]);
    let oldest = oldest.expect("alerts are pending").timestamp_millis();
    assert!((before..=Utc::now().timestamp_millis()).contains(&oldest));
    let counts = store.alert_counts_by_sink().await.unwrap();
    assert_eq!(
        counts,
        vec![
            ("A".to_string(), AlertState::Dead, 1),
            ("A".to_string(), AlertState::Delivered, 1),
            ("A".to_string(), AlertState::Pending, 1),
            ("B".to_string(), AlertState::Pending, 1),
        ]
    );
    // `pantau alerts --failed`: dead ones and pending ones that failed once.
    mark(&store, &b[0], Attempted::Retry { after: Duration::from_secs(60), error: "HTTP 503".into() }).await.unwrap();
    let failed = store.recent_alerts(true, 10).await.unwrap();
    let failed: HashSet<String> = failed.into_iter().map(|r| r.id).collect();
    assert_eq!(failed, HashSet::from([a[1].clone(), b[0].clone()]));
    let all = store.recent_alerts(false, 10).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].id, b[0], "the newest first");
    assert_eq!((all[0].title.as_str(), all[0].feed.as_str(), all[0].attempts), ("Title d", "f", 1));
    assert_eq!(all[0].last_error.as_deref(), Some("HTTP 503"));
    assert!(all[0].next_attempt_at.is_some());
    assert_eq!(store.recent_alerts(false, 2).await.unwrap().len(), 2);
}

async fn redelivery_requeues_dead_and_delivered_alerts(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let ids_ = queue(&store, "s", &["a", "b", "c", "d"]).await;
    mark(&store, &ids_[0], Attempted::Dead("HTTP 400".into())).await.unwrap();
    mark(&store, &ids_[1], Attempted::Delivered).await.unwrap();
    mark(&store, &ids_[2], Attempted::Dead("HTTP 410".into())).await.unwrap();
    let out = store.redeliver(vec![ids_[0].clone(), ids_[1].clone(), ids_[3].clone(), "nope".into()]).await.unwrap();
    assert_eq!(
        out,
        vec![
            (ids_[0].clone(), Redelivered::Requeued),
            (ids_[1].clone(), Redelivered::RequeuedDelivered),
            (ids_[3].clone(), Redelivered::AlreadyPending),
            ("nope".to_string(), Redelivered::Unknown),
        ]
    );
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 3, delivered: 0, dead: 1 });
    let due = store.due_alerts("s", Utc::now(), 10).await.unwrap();
    assert!(due.iter().all(|a| a.attempts == 0), "a fresh attempt budget");
    assert_eq!(store.redeliver_dead().await.unwrap(), 1);
    assert_eq!(store.redeliver_dead().await.unwrap(), 0);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 4, delivered: 0, dead: 0 });
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM alerts WHERE last_error IS NOT NULL").await, 0);
}

async fn record_deliveries_settles_a_mixed_batch_in_one_call(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let ids_ = queue(&store, "s", &["a", "b", "c", "d"]).await;
    store.record_deliveries(Vec::new()).await.unwrap();
    store
        .record_deliveries(vec![
            (ids_[0].clone(), Attempted::Delivered),
            (ids_[1].clone(), Attempted::Retry { after: Duration::from_secs(600), error: "HTTP 503".into() }),
            (ids_[2].clone(), Attempted::Dead("HTTP 400".into())),
        ])
        .await
        .unwrap();
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 2, delivered: 1, dead: 1 });
    // Only d is due now: b waits for its retry.
    assert_eq!(ids(&store.due_alerts("s", Utc::now(), 10).await.unwrap()), vec![ids_[3].as_str()]);
    assert_eq!(query_i64(&store, "SELECT CAST(SUM(attempts) AS BIGINT) FROM alerts").await, 3);
    assert_eq!(
        query_i64(&store, &format!("SELECT COUNT(*) FROM alerts WHERE id = '{}' AND last_error = 'HTTP 503'", ids_[1]))
            .await,
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Atomicity

async fn commit_for_an_unknown_feed_fails_and_stores_nothing(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;

    let mut p = poll("ghost", vec![(item("a"), vec![alert("ghost", "a", "r", "s")])]);
    p.etag = Some("\"e\"".to_string());
    match store.commit_poll(p).await {
        Err(StoreError::Database { path: p, .. }) => assert_eq!(p, db.shown()),
        Err(e) => panic!("expected a database error, got {e}"),
        Ok(s) => panic!("commit for an unknown feed must fail, got {s:?}"),
    }
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items").await, 0);
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM alerts").await, 0);
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM feeds").await, 1);
    assert_eq!(store.feed_state("ghost").await.unwrap(), FeedState::default());
    assert_eq!(store.feed_state("f").await.unwrap(), FeedState::default());

    // The store is still usable afterwards.
    let ok = store.commit_poll(poll("f", vec![(item("a"), vec![alert("f", "a", "r", "s")])])).await.unwrap();
    assert_eq!(ok, PollSummary { new_items: 1, new_alerts: 1, ..PollSummary::default() });
}

async fn commit_failing_midway_rolls_back_everything(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    store.record_failure("f", PollStatus::http(500), "earlier failure").await.unwrap();

    // Make the third item's insert fail, after two items and their alerts went in (a
    // constraint's failure on both engines: RAISE(ABORT) in SQLite, check_violation here).
    let trigger = db.sql(
        "CREATE TRIGGER boom BEFORE INSERT ON items WHEN NEW.item_key = 'boom'
         BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.item_key = 'boom' THEN RAISE EXCEPTION 'boom' USING ERRCODE = 'check_violation'; END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER boom BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION boom();",
    );
    exec(&store, trigger).await;

    let mut p = poll(
        "f",
        vec![
            (item("a"), vec![alert("f", "a", "r", "s")]),
            (item("b"), vec![alert("f", "b", "r", "s")]),
            (item("boom"), vec![alert("f", "boom", "r", "s")]),
        ],
    );
    p.etag = Some("\"e\"".to_string());
    p.last_modified = Some("lm".to_string());
    let failed = store.commit_poll(p.clone()).await;
    assert!(matches!(failed, Err(StoreError::Database { kind: ErrorKind::Constraint, .. })), "{failed:?}");

    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items").await, 0, "no item of the failed poll remains");
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM alerts").await, 0, "no alert of the failed poll remains");
    assert_eq!(query_i64(&store, "SELECT items_seen FROM feeds WHERE name = 'f'").await, 0);
    assert!(store.known_keys("f", keys(&["a", "b"])).await.unwrap().is_empty());
    let state = store.feed_state("f").await.unwrap();
    assert!(!state.polled_before, "a failed commit is not a first success");
    assert_eq!(state.etag, None);
    assert_eq!(state.last_modified, None);
    assert_eq!(state.consecutive_failures, 1, "the failure count is not reset by a failed commit");
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts::default());

    // Without the poison pill the same poll goes through in full: nothing half-written blocks it.
    exec(&store, db.sql("DROP TRIGGER boom;", "DROP TRIGGER boom ON items;")).await;
    let summary = store.commit_poll(p).await.unwrap();
    assert_eq!(summary, PollSummary { new_items: 3, new_alerts: 3, ..PollSummary::default() });
    assert_eq!(store.feed_state("f").await.unwrap().consecutive_failures, 0);
}

// ---------------------------------------------------------------------------------------------
// Retention

async fn retention_prunes_bodies_before_keys_and_keeps_pending_alerts(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    store
        .commit_poll(poll(
            "f",
            vec![(item("a"), vec![alert("f", "a", "r", "s")]), (item("b"), vec![]), (item("c"), vec![])],
        ))
        .await
        .unwrap();
    mark(&store, &alert_id("f", "a", "r", "s"), Attempted::Delivered).await.unwrap();
    let far_past = Utc::now() - chrono::Duration::days(1000);
    let future = Utc::now() + chrono::Duration::seconds(5);
    // Nothing is old enough: nothing changes.
    let none = store.prune(far_past, far_past, far_past, 2).await.unwrap();
    assert_eq!(none, PruneStats::default());
    // Bodies and settled alerts older than now go; keys stay.
    let stats = store.prune(future, far_past, future, 2).await.unwrap();
    assert_eq!(stats, PruneStats { alerts: 1, items: 0, bodies: 3 });
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items WHERE content = '' AND pruned = 1").await, 3);
    assert_eq!(store.known_keys("f", keys(&["a", "b", "c"])).await.unwrap().len(), 3, "keys outlive bodies");
    assert!(store.recent_items(None, 10).await.unwrap().iter().all(|i| i.pruned));
    // A pending alert keeps its item whole.
    store.commit_poll(poll("f", vec![(item("d"), vec![alert("f", "d", "r", "s")])])).await.unwrap();
    let stats = store.prune(future, future, future, 2).await.unwrap();
    assert_eq!(stats.items, 3);
    assert_eq!(store.known_keys("f", keys(&["a", "d"])).await.unwrap(), set(&["d"]));
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items WHERE item_key = 'd' AND content != ''").await, 1);
}

// ---------------------------------------------------------------------------------------------
// Whole articles

async fn a_pending_article_is_claimed_once_recorded_and_its_alerts_written_with_it(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let mut record = poll("f", vec![(item("a"), vec![]), (item("b"), vec![alert("f", "b", "r", "s")])]);
    record.items[0].fetch_article = true;
    let summary = store.commit_poll(record).await.unwrap();
    assert_eq!((summary.new_items, summary.new_alerts, summary.articles_queued), (2, 1, 1));

    let now = Utc::now();
    let claimed = store.claim_articles(now, Duration::from_secs(600), 10).await.unwrap();
    assert_eq!(claimed.iter().map(|c| c.item.id.as_str()).collect::<Vec<_>>(), ["a"]);
    assert_eq!((claimed[0].feed.as_str(), claimed[0].attempts), ("f", 0));
    assert_eq!(claimed[0].item.summary, "summary of a");
    assert!(store.claim_articles(now, Duration::from_secs(600), 10).await.unwrap().is_empty(), "claimed");
    // A restart hands back claims on pages never tried.
    assert_eq!(store.release_article_claims(now).await.unwrap(), 1);
    let again = store.claim_articles(now, Duration::from_secs(600), 10).await.unwrap();
    assert_eq!(again.len(), 1);

    // A failure with a retry: matched on the feed's text now (rule r1), tried again later.
    let retry_at = now + chrono::Duration::minutes(2);
    let failed = ArticleOutcome::Failed { error: "HTTP 503".into(), retry_at: Some(retry_at) };
    let s = store.commit_article(again[0].item_id, failed, vec![alert("f", "a", "r1", "s")], None).await.unwrap();
    assert_eq!(s.new_alerts, 1);
    assert!(store.claim_articles(now, Duration::from_secs(600), 10).await.unwrap().is_empty(), "not due yet");
    assert_eq!(
        store.next_article_due().await.unwrap().map(|d| d.timestamp_millis()),
        Some(retry_at.timestamp_millis())
    );
    let rows = store.recent_items(None, 10).await.unwrap();
    let a = rows.iter().find(|r| r.key == "a").unwrap();
    assert_eq!(a.article, ArticleState::Pending { attempts: 1, error: Some("HTTP 503".into()) });
    assert_eq!(store.release_article_claims(now).await.unwrap(), 0, "a retry's time is kept over a restart");

    // The retry succeeds: the article is stored, and of its alerts only the new rule's is written.
    let later = retry_at + chrono::Duration::seconds(1);
    let retried = store.claim_articles(later, Duration::from_secs(600), 10).await.unwrap();
    assert_eq!(retried.iter().map(|c| c.attempts).collect::<Vec<_>>(), [1]);
    let fetched = ArticleOutcome::Fetched { text: "Korea Utara membeli senjata".into(), pages: 2 };
    let alerts = vec![alert("f", "a", "r1", "s"), alert("f", "a", "r2", "s")];
    let s = store.commit_article(retried[0].item_id, fetched, alerts, None).await.unwrap();
    assert_eq!((s.new_alerts, s.cross_feed_duplicates), (1, 0), "r1 had alerted already");
    assert_eq!(
        query_i64(&store, "SELECT COUNT(*) FROM alerts WHERE item_id = (SELECT id FROM items WHERE item_key = 'a')")
            .await,
        2
    );
    assert_eq!(query_i64(&store, "SELECT article_pages FROM items WHERE item_key = 'a'").await, 2);
    assert_eq!(store.next_article_due().await.unwrap(), None);
    let rows = store.recent_items(None, 10).await.unwrap();
    assert_eq!(rows.iter().find(|r| r.key == "a").unwrap().article, ArticleState::Fetched { chars: 27 });
    assert_eq!(rows.iter().find(|r| r.key == "b").unwrap().article, ArticleState::None);
    let history = store.items_since(now - chrono::Duration::hours(1), 10).await.unwrap();
    assert_eq!(history.iter().find(|s| s.item.id == "a").unwrap().item.article, "Korea Utara membeli senjata");
    let status = store.feed_statuses().await.unwrap();
    assert_eq!((status[0].articles_fetched, status[0].article_failures), (1, 0));

    // Retention empties the article with the other bodies (once its alerts are settled).
    let settled = ["r1", "r2"].iter().map(|r| alert("f", "a", r, "s").id).collect();
    store.mark_all_delivered(settled).await.unwrap();
    let future = Utc::now() + chrono::Duration::days(1);
    store.prune(future, now - chrono::Duration::days(1), now - chrono::Duration::days(1), 100).await.unwrap();
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items WHERE article IS NOT NULL").await, 0);
}

async fn a_late_outcome_of_a_lapsed_claim_changes_nothing(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let mut record = poll("f", vec![(item("a"), vec![])]);
    record.items[0].fetch_article = true;
    store.commit_poll(record).await.unwrap();
    let now = Utc::now();
    let first = store.claim_articles(now, Duration::from_secs(1), 10).await.unwrap();
    // The claim lapses and a second task takes the same page and reads it.
    let later = now + chrono::Duration::seconds(2);
    let second = store.claim_articles(later, Duration::from_secs(600), 10).await.unwrap();
    assert_eq!(first[0].item_id, second[0].item_id);
    let fetched = ArticleOutcome::Fetched { text: "teks".into(), pages: 1 };
    let s = store.commit_article(second[0].item_id, fetched, vec![alert("f", "a", "r", "s")], None).await.unwrap();
    assert_eq!(s.new_alerts, 1);
    // The first task's failure arrives late: the page stays read, nothing is written.
    let failed = ArticleOutcome::Failed { error: "timeout".into(), retry_at: Some(later) };
    let s = store.commit_article(first[0].item_id, failed, vec![alert("f", "a", "r2", "s")], None).await.unwrap();
    assert_eq!(s.new_alerts, 0);
    let rows = store.recent_items(None, 10).await.unwrap();
    assert_eq!(rows[0].article, ArticleState::Fetched { chars: 4 });
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM alerts").await, 1);
    // An outcome for an item pruned meanwhile records nothing either.
    let gone = ArticleOutcome::Fetched { text: "x".into(), pages: 1 };
    assert_eq!(store.commit_article(999_999, gone, vec![], None).await.unwrap(), PollSummary::default());
}

async fn an_article_given_up_on_is_failed_and_counted_for_its_feed(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let mut record = poll("f", vec![(item("a"), vec![])]);
    record.items[0].fetch_article = true;
    store.commit_poll(record).await.unwrap();
    let claimed = store.claim_articles(Utc::now(), Duration::from_secs(60), 10).await.unwrap();
    let failed = ArticleOutcome::Failed { error: "not an HTML page (image/png)".into(), retry_at: None };
    store.commit_article(claimed[0].item_id, failed, vec![], None).await.unwrap();
    assert_eq!(store.next_article_due().await.unwrap(), None);
    let rows = store.recent_items(None, 10).await.unwrap();
    assert_eq!(rows[0].article, ArticleState::Failed { error: "not an HTML page (image/png)".into() });
    assert_eq!(rows[0].article.to_string(), "failed: not an HTML page (image/png)");
    let status = store.feed_statuses().await.unwrap();
    assert_eq!((status[0].articles_fetched, status[0].article_failures), (0, 1));
    assert_eq!(status[0].last_article_error.as_deref(), Some("not an HTML page (image/png)"));
}

async fn stored_articles_gives_the_text_read_for_the_items_asked_for(db: TestDb) {
    let store = store_with_feeds(&db, &["f", "g"]).await;
    let mut record = poll("f", vec![(item("a"), vec![]), (item("b"), vec![])]);
    record.items[0].fetch_article = true;
    record.items[1].fetch_article = true;
    store.commit_poll(record).await.unwrap();
    let claimed = store.claim_articles(Utc::now(), Duration::from_secs(600), 10).await.unwrap();
    let a = claimed.iter().find(|c| c.item.id == "a").unwrap();
    let fetched = ArticleOutcome::Fetched { text: "Gempa mengguncang Cianjur".into(), pages: 1 };
    store.commit_article(a.item_id, fetched, vec![], None).await.unwrap();
    let texts = store.stored_articles("f", keys(&["a", "b", "zzz"])).await.unwrap();
    assert_eq!(texts.len(), 1, "b has no article yet, zzz is unknown: {texts:?}");
    assert_eq!(texts["a"], "Gempa mengguncang Cianjur");
    assert!(store.stored_articles("g", keys(&["a"])).await.unwrap().is_empty(), "another feed's item a");
}

// ---------------------------------------------------------------------------------------------
// Stories

/// A long news text, `n` sentences of one story.
fn story_text(topic: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("Sentence {i} of the report on {topic} says the ministry confirmed detail number {i} to reporters today."))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn a_reprint_in_another_feed_joins_the_story_and_alerts_once_unless_the_rule_wants_every_copy(db: TestDb) {
    let store = store_with_feeds(&db, &["f", "g", "h"]).await;
    let grouping = Some(crate::stories::Grouping {
        window: std::time::Duration::from_secs(3 * 86400),
        threshold: crate::stories::Threshold::default(),
    });
    let text = story_text("missiles", 12);
    let original = Item { content: text.clone(), ..item("a") };
    let reprint = Item {
        title: "Another headline".into(),
        link: Some("https://other.example/reprint".into()),
        content: format!("Jakarta (ANTARA) - {text} Read more news on our site."),
        ..item("b")
    };
    let other = Item {
        link: Some("https://other.example/c".into()),
        content: "North Korea fired another ballistic missile towards the sea on Thursday morning, \
        the South Korean military said, its third launch this month after joint drills of the United States and \
        South Korea. Japan protested through diplomatic channels and its coast guard warned ships in the area. \
        Analysts in Seoul expect more tests before the party congress."
            .into(),
        ..item("c")
    };
    let with = |feed: &str, it: Item, alerts: Vec<NewAlert>| PollRecord { grouping, ..poll(feed, vec![(it, alerts)]) };
    let every = |a: NewAlert| NewAlert { every_copy: true, ..a };
    let s1 = store.commit_poll(with("f", original, vec![alert("f", "a", "r", "s")])).await.unwrap();
    assert_eq!((s1.new_alerts, s1.joined_stories), (1, 0));
    // The original's rows are found in the big index too, where the merge moves them.
    exec(&store, "INSERT INTO story_bands SELECT band, item_id FROM story_bands_new; DELETE FROM story_bands_new;")
        .await;
    let s2 = store
        .commit_poll(with("g", reprint, vec![alert("g", "b", "r", "s"), every(alert("g", "b", "r2", "s"))]))
        .await
        .unwrap();
    assert_eq!((s2.new_alerts, s2.cross_feed_duplicates, s2.story_duplicates, s2.joined_stories), (1, 1, 1, 1));
    let also_in = db.sql(
        "SELECT json_extract(payload, '$.also_in[0].name') FROM alerts WHERE id = '{id}'",
        "SELECT payload::jsonb -> 'also_in' -> 0 ->> 'name' FROM alerts WHERE id = '{id}'",
    );
    let also = query_text(&store, &also_in.replace("{id}", &alert_id("f", "a", "r", "s"))).await;
    assert_eq!(also, "g");
    let s3 = store.commit_poll(with("h", other, vec![alert("h", "c", "r", "s")])).await.unwrap();
    assert_eq!((s3.new_alerts, s3.joined_stories), (1, 0), "another story on the same subject alerts");
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items WHERE story_id IS NOT NULL").await, 1);
    assert_eq!(
        query_i64(&store, "SELECT (SELECT COUNT(*) FROM story_bands) + (SELECT COUNT(*) FROM story_bands_new)").await,
        3 * crate::stories::BANDS as i64
    );

    // `pantau items --story`: the story's items in the order they came, the copy counted on the first.
    let first = store.recent_items(Some("f".into()), 10).await.unwrap();
    assert_eq!(first[0].copies, 1);
    let story = store.story_items(first[0].story, 10).await.unwrap();
    assert_eq!(story.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(story.iter().all(|r| r.story == first[0].story));
    let alerts = store.recent_alerts(false, 10).await.unwrap();
    let original_alert = alerts.iter().find(|a| a.id == alert_id("f", "a", "r", "s")).unwrap();
    assert_eq!((original_alert.copies, original_alert.story), (1, first[0].story));
    let since = store.items_since(Utc::now() - chrono::Duration::hours(1), 10).await.unwrap();
    assert_eq!(since.iter().map(|s| s.story == first[0].story).collect::<Vec<_>>(), [true, true, false]);
}

async fn every_2000th_item_moves_the_new_band_rows_into_the_big_index(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let grouping = Some(crate::stories::Grouping {
        window: std::time::Duration::from_secs(86400),
        threshold: crate::stories::Threshold::default(),
    });
    let with = |it: Item| PollRecord { grouping, ..poll("f", vec![(it, vec![])]) };
    let bands = crate::stories::BANDS as i64;
    let harbour = (0..12)
        .map(|i| format!("Harbour crane {i} was repaired overnight and the port authority reopened berth {i} at dawn."))
        .collect::<Vec<_>>()
        .join(" ");
    store.commit_poll(with(Item { content: harbour, ..item("x") })).await.unwrap();
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM story_bands_new").await, bands);
    // The next item is number 2000.
    let next_is_2000 = db.sql(
        "INSERT INTO items (id, feed_id, item_key, title, authors, categories, summary, content, first_seen_at)
         VALUES (1999, 1, 'placeholder', '', '[]', '[]', '', '', 0)",
        "ALTER TABLE items ALTER COLUMN id RESTART WITH 2000",
    );
    exec(&store, next_is_2000).await;
    store.commit_poll(with(Item { content: story_text("floods", 12), ..item("y") })).await.unwrap();
    assert_eq!(query_i64(&store, "SELECT id FROM items WHERE item_key = 'y'").await, 2000);
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM story_bands_new").await, 0, "moved");
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM story_bands").await, 2 * bands);
    // Item 2001's rows wait in the small table again, and as a reprint of 2000 it finds that in
    // the big one.
    let reprint =
        Item { content: story_text("floods", 12), link: Some("https://other.example/reprint".into()), ..item("z") };
    assert_eq!(store.commit_poll(with(reprint)).await.unwrap().joined_stories, 1);
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM story_bands_new").await, bands);
    assert_eq!(query_i64(&store, "SELECT story_id FROM items WHERE item_key = 'z'").await, 2000);
}

// ---------------------------------------------------------------------------------------------
// Nodes

async fn a_heartbeat_keeps_one_row_per_node_and_rows_silent_for_a_week_are_forgotten(db: TestDb) {
    let store = db.open().await;
    assert!(store.nodes().await.unwrap().is_empty());
    let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
    store.heartbeat("old:1".into(), t0, "aaa".into(), t0).await.unwrap();
    let t1 = t0 + chrono::Duration::days(3);
    store.heartbeat("web1:42".into(), t1, "bbb".into(), t1).await.unwrap();
    store.heartbeat("web1:42".into(), t1, "ccc".into(), t1 + chrono::Duration::seconds(10)).await.unwrap();
    let nodes = store.nodes().await.unwrap();
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert_eq!(nodes[0].name, "web1:42", "the most recently alive first");
    assert_eq!(nodes[0].started_at, t1);
    assert_eq!(nodes[0].heartbeat_at, t1 + chrono::Duration::seconds(10));
    assert_eq!(nodes[0].config_hash, "ccc", "a reload's new config replaces the hash");
    assert_eq!(nodes[1].name, "old:1");
    // Eight days after old:1 last beat, the next heartbeat of another node forgets it.
    let t2 = t0 + chrono::Duration::days(8);
    store.heartbeat("web1:42".into(), t1, "ccc".into(), t2).await.unwrap();
    let names: Vec<String> = store.nodes().await.unwrap().into_iter().map(|n| n.name).collect();
    assert_eq!(names, ["web1:42"]);
}

// ---------------------------------------------------------------------------------------------
// Leases (several nodes)

async fn a_feed_is_claimed_by_one_node_until_released_or_its_lease_runs_out(db: TestDb) {
    let (a, b) = (db.open().await, db.open().await);
    a.sync_feeds(vec![feed("f", "https://example.org/f.xml")]).await.unwrap();
    let lease = Duration::from_secs(30);
    assert_eq!(a.claim_feed("f", "n1", lease, None).await.unwrap(), FeedClaim::Claimed);
    match b.claim_feed("f", "n2", lease, None).await.unwrap() {
        FeedClaim::Held { node, until } => {
            assert_eq!(node, "n1");
            assert!(until > Utc::now() + chrono::Duration::seconds(25), "{until}");
        }
        other => panic!("n2 got {other:?}"),
    }
    assert_eq!(a.claim_feed("f", "n1", lease, None).await.unwrap(), FeedClaim::Claimed, "a renewal");
    assert_eq!(b.leases_held().await.unwrap().get("n1"), Some(&1));
    // Released after its next poll is recorded: n2 finds it not due until then.
    let next = Utc::now() + chrono::Duration::minutes(5);
    a.set_next_poll("f", next, None).await.unwrap();
    a.release_feed("f", "n1").await.unwrap();
    match b.claim_feed("f", "n2", lease, Some(Utc::now() + chrono::Duration::seconds(1))).await.unwrap() {
        FeedClaim::NotDue { next: n } => assert_eq!(n.timestamp_millis(), next.timestamp_millis()),
        other => panic!("n2 got {other:?}"),
    }
    // Without a due check (`pantau once`) it is n2's; n1's release does not undo n2's claim.
    assert_eq!(b.claim_feed("f", "n2", lease, None).await.unwrap(), FeedClaim::Claimed);
    a.release_feed("f", "n1").await.unwrap();
    assert!(matches!(a.claim_feed("f", "n1", lease, None).await.unwrap(), FeedClaim::Held { .. }));
    // A lease that runs out (a dead node) is anyone's.
    b.release_feed("f", "n2").await.unwrap();
    assert_eq!(b.claim_feed("f", "dead", Duration::from_millis(1), None).await.unwrap(), FeedClaim::Claimed);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(a.claim_feed("f", "n1", lease, None).await.unwrap(), FeedClaim::Claimed);
    assert_eq!(a.claim_feed("gone", "n1", lease, None).await.unwrap(), FeedClaim::Unknown);
}

async fn concurrent_claims_of_one_feed_give_it_to_exactly_one_node(db: TestDb) {
    let stores = [db.open().await, db.open().await, db.open().await];
    stores[0].sync_feeds((0..20).map(|i| feed(&format!("f{i}"), "https://example.org/x.xml")).collect()).await.unwrap();
    let lease = Duration::from_secs(30);
    for i in 0..20 {
        let name = format!("f{i}");
        let claims = futures_join3(
            stores[0].claim_feed(&name, "n0", lease, None),
            stores[1].claim_feed(&name, "n1", lease, None),
            stores[2].claim_feed(&name, "n2", lease, None),
        )
        .await;
        let won = claims.iter().filter(|c| matches!(c, Ok(FeedClaim::Claimed))).count();
        assert_eq!(won, 1, "{name}: {claims:?}");
    }
}

/// Three futures at once (the store's calls run on the blocking pool, so they truly overlap).
async fn futures_join3<T>(
    a: impl std::future::Future<Output = T>,
    b: impl std::future::Future<Output = T>,
    c: impl std::future::Future<Output = T>,
) -> [T; 3] {
    let (a, b, c) = tokio::join!(a, b, c);
    [a, b, c]
}

async fn a_sink_is_drained_by_one_node_and_host_slots_bound_polls_per_host(db: TestDb) {
    let (a, b) = (db.open().await, db.open().await);
    let lease = Duration::from_secs(30);
    assert!(a.claim_sink("chat", "n1", lease).await.unwrap());
    assert!(!b.claim_sink("chat", "n2", lease).await.unwrap(), "held by n1");
    assert!(a.claim_sink("chat", "n1", lease).await.unwrap(), "a renewal");
    assert!(b.claim_sink("other", "n2", lease).await.unwrap(), "another sink is free");
    // per_host = 2 across the nodes: a third poll of the host waits.
    assert_eq!(a.claim_host_slot("example.org", 2, "n1", lease).await.unwrap(), Some(0));
    assert_eq!(b.claim_host_slot("example.org", 2, "n2", lease).await.unwrap(), Some(1));
    assert_eq!(a.claim_host_slot("example.org", 2, "n1", lease).await.unwrap(), None);
    assert_eq!(a.claim_host_slot("example.net", 2, "n1", lease).await.unwrap(), Some(0), "another host");
    assert!(b.renew_host_slot("example.org", 1, "n2", lease).await.unwrap());
    assert!(!b.renew_host_slot("example.org", 0, "n2", lease).await.unwrap(), "not n2's slot");
    b.release_host_slot("example.org", 1, "n2").await.unwrap();
    assert_eq!(a.claim_host_slot("example.org", 2, "n1", lease).await.unwrap(), Some(1));
    let held = a.leases_held().await.unwrap();
    assert_eq!((held.get("n1"), held.get("n2")), (Some(&1), Some(&1)), "sinks and feeds: {held:?}");
    // A node that stops gives everything back at once.
    a.release_all("n1").await.unwrap();
    assert!(b.claim_sink("chat", "n2", lease).await.unwrap());
    assert_eq!(b.claim_host_slot("example.org", 2, "n2", lease).await.unwrap(), Some(0));
    // A dead node's sink is taken over once its lease runs out.
    assert!(a.claim_sink("s", "dead", Duration::from_millis(1)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(b.claim_sink("s", "n2", lease).await.unwrap());
}

// ---------------------------------------------------------------------------------------------
// Reopening

async fn a_second_open_finds_the_schema_current_and_the_data_kept(db: TestDb) {
    let store = store_with_feeds(&db, &["f"]).await;
    let s = store.commit_poll(poll("f", vec![(item("a"), vec![alert("f", "a", "r1", "s1")])])).await.unwrap();
    assert_eq!((s.new_items, s.new_alerts), (1, 1));
    assert_eq!(store.check(Duration::from_secs(10)).await.unwrap(), Checked::Sound);
    store.release_memory().await.unwrap();
    drop(store);
    let again = db.open().await;
    assert!(again.feed_state("f").await.unwrap().polled_before);
    let due = again.due_alerts("s1", Utc::now(), 10).await.unwrap();
    assert_eq!(ids(&due), vec![alert_id("f", "a", "r1", "s1")]);
    again.mark_all_delivered(vec![due[0].id.clone()]).await.unwrap();
    assert!(again.due_alerts("s1", Utc::now(), 10).await.unwrap().is_empty());
    assert_eq!(again.damage(), None);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// A fresh database on the server `PANTAU_TEST_PG` names (dropped when done), or `None` with a
/// loud line when there is none (a failure in CI, where scripts/test starts one).
struct PgDatabase {
    admin: String,
    name: String,
}

impl PgDatabase {
    fn new(test: &str) -> Option<PgDatabase> {
        let Ok(admin) = std::env::var("PANTAU_TEST_PG") else {
            assert!(std::env::var_os("CI").is_none(), "CI needs PANTAU_TEST_PG (scripts/test starts a server)");
            eprintln!("SKIPPED: {test} on PostgreSQL (set PANTAU_TEST_PG or run ./scripts/test, which starts one)");
            return None;
        };
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("pantau_s_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let db = PgDatabase { admin, name };
        db.admin(&format!("CREATE DATABASE {}", db.name));
        Some(db)
    }

    /// Run statements on the server's own database; the first column of the last row returned.
    fn admin(&self, sql: &str) -> Option<String> {
        Self::run(self.admin.clone(), sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Run statements on the test's database, beside any store; as [`PgDatabase::admin`].
    fn inside(&self, sql: &str) -> Option<String> {
        match self.database() {
            crate::model::Database::Postgres(url) => Self::run(url, sql).unwrap_or_else(|e| panic!("{sql}: {e}")),
            crate::model::Database::Sqlite(_) => unreachable!(),
        }
    }

    /// Run statements on the database at `url` from a thread of its own (the blocking client
    /// cannot run on the test's runtime thread); the first column of the last row returned.
    fn run(url: String, sql: &str) -> std::result::Result<Option<String>, ::postgres::Error> {
        let sql = sql.to_string();
        std::thread::spawn(move || {
            let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("connect to PANTAU_TEST_PG");
            let mut last = None;
            for m in c.simple_query(&sql)? {
                if let ::postgres::SimpleQueryMessage::Row(r) = m {
                    last = r.get(0).map(str::to_string);
                }
            }
            Ok(last)
        })
        .join()
        .expect("admin thread")
    }

    fn database(&self) -> crate::model::Database {
        let mut url = url::Url::parse(&self.admin).expect("PANTAU_TEST_PG is a URL");
        url.set_path(&self.name);
        crate::model::Database::Postgres(url.to_string())
    }

    /// End every connection to the database from the server's side (a restart, a failover, an
    /// idle timeout of a proxy) and wait until they are gone.
    /// Have the server look for deadlocks after 20 ms of waiting rather than a second, for
    /// stores opened from now on (a superuser's setting: without one, tests only wait longer).
    fn find_deadlocks_fast(&self) {
        let sql = format!("ALTER DATABASE {} SET deadlock_timeout = '20ms'", self.name);
        if let Err(e) = Self::run(self.admin.clone(), &sql) {
            eprintln!("{sql}: {e} (deadlocks are found after the server's deadlock_timeout)");
        }
    }

    fn drop_connections(&self) {
        let others = format!("FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()", self.name);
        self.admin(&format!("SELECT pg_terminate_backend(pid) {others}"));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.admin(&format!("SELECT COUNT(*) {others}")).as_deref() != Some("0") {
            assert!(std::time::Instant::now() < deadline, "the connections did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        self.admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

#[tokio::test]
async fn postgres_nodes_opening_a_fresh_database_together_apply_each_migration_once() {
    for round in 0..3 {
        let Some(pg) = PgDatabase::new("postgres_nodes_opening_a_fresh_database_together") else { return };
        let database = pg.database();
        // Without the advisory lock the later ones would find no schema yet, run the migration
        // too and fail on its CREATE TABLEs.
        let (a, b, c) = tokio::join!(
            Store::open_database(&database),
            Store::open_database(&database),
            Store::open_database(&database)
        );
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        let r = row(&a, "SELECT COUNT(*), MAX(version) FROM pantau_schema").await;
        let (rows, version): (i64, i64) = (r.get(0).unwrap(), r.get(1).unwrap());
        assert_eq!((rows, version), (1, POSTGRES_MIGRATIONS.len() as i64), "round {round}");
        b.sync_feeds(vec![feed("f", "https://example.org/f.xml")]).await.unwrap();
        assert!(c.feed_state("f").await.is_ok());
        assert_eq!(query_i64(&a, "SELECT COUNT(*) FROM feeds").await, 1);
    }
}

#[tokio::test]
async fn postgres_open_refuses_a_newer_schema() {
    let Some(pg) = PgDatabase::new("postgres_open_refuses_a_newer_schema") else { return };
    let db = TestDb::Postgres(pg);
    let store = db.open().await;
    let newer = POSTGRES_MIGRATIONS.len() as i64 + 1;
    exec(&store, &format!("UPDATE pantau_schema SET version = {newer}")).await;
    drop(store);
    match Store::open_database(&db.database()).await {
        Err(StoreError::TooNew { path, found, known }) => {
            assert_eq!((path, found, known), (db.shown(), newer, POSTGRES_MIGRATIONS.len() as i64));
        }
        Err(e) => panic!("expected TooNew, got {e}"),
        Ok(_) => panic!("a database from a newer pantau must be refused"),
    }
    // Refusing does not touch the version.
    let TestDb::Postgres(pg) = &db else { unreachable!() };
    assert_eq!(pg.inside("SELECT version FROM pantau_schema"), Some(newer.to_string()));
}

#[tokio::test]
async fn postgres_a_lost_connection_is_unavailable_and_the_store_reconnects() {
    let Some(pg) = PgDatabase::new("postgres_a_lost_connection") else { return };
    let db = TestDb::Postgres(pg);
    let TestDb::Postgres(pg) = &db else { unreachable!() };
    let store = store_with_feeds(&db, &["f"]).await;
    // Every connection of the pool in use once (calls take them in turn).
    for _ in 0..2 * POSTGRES_CONNECTIONS {
        store.feed_state("f").await.unwrap();
    }
    pg.drop_connections();
    // The call that finds its connection lost fails, as Unavailable (a later try may work);
    // the pool's other connections are checked before their next use, so no other call fails.
    let mut lost = 0;
    for i in 0..2 * POSTGRES_CONNECTIONS {
        let k = format!("k{i}");
        match store.commit_poll(poll("f", vec![(item(&k), vec![alert("f", &k, "r", "s")])])).await {
            Ok(s) => assert_eq!(s.new_items, 1),
            Err(StoreError::Database { kind: ErrorKind::Unavailable, path, .. }) => {
                assert_eq!(path, db.shown());
                lost += 1;
            }
            Err(e) => panic!("a lost connection is Unavailable, got {e:?}"),
        }
    }
    assert_eq!(lost, 1, "{lost} calls failed");
    // Then every call works, and nothing of the failed commits was half written.
    for _ in 0..2 * POSTGRES_CONNECTIONS {
        assert_eq!(store.outbox_counts().await.unwrap().pending as usize, 2 * POSTGRES_CONNECTIONS - lost);
    }
    assert_eq!(query_i64(&store, "SELECT COUNT(*) FROM items").await as usize, 2 * POSTGRES_CONNECTIONS - lost);
    assert_eq!(query_i64(&store, "SELECT items_seen FROM feeds").await as usize, 2 * POSTGRES_CONNECTIONS - lost);
}

/// `n` items of `feed` for round `round`, each with one alert (rule "r", sink "s").
fn batch(feed: &str, round: usize, n: usize) -> Vec<(Item, Vec<NewAlert>)> {
    (0..n)
        .map(|i| {
            let k = format!("r{round}-{i}");
            (item(&k), vec![alert(feed, &k, "r", "s")])
        })
        .collect()
}

#[tokio::test]
async fn postgres_statistics_are_refreshed_as_a_new_database_fills() {
    let Some(pg) = PgDatabase::new("postgres_statistics") else { return };
    let db = TestDb::Postgres(pg);
    let store = store_with_feeds(&db, &["f"]).await;
    let analyzed = |pg: &PgDatabase| {
        pg.inside("SELECT COUNT(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL AND relname = 'items'")
    };
    let TestDb::Postgres(pg) = &db else { unreachable!() };
    store.commit_poll(poll("f", batch("f", 0, 1999))).await.unwrap();
    assert_eq!(analyzed(pg), Some("0".into()), "not before the 2000th item");
    store.commit_poll(poll("f", batch("f", 1, 1))).await.unwrap();
    assert_eq!(analyzed(pg), Some("1".into()), "the 2000th item's commit refreshes the statistics");
}

#[tokio::test]
async fn postgres_two_nodes_committing_the_same_poll_at_once_store_it_once() {
    let Some(pg) = PgDatabase::new("postgres_two_nodes_same_poll") else { return };
    let db = TestDb::Postgres(pg);
    let one = store_with_feeds(&db, &["f"]).await;
    let two = store_with_feeds(&db, &["f"]).await;
    let (rounds, n) = (20, 10);
    for round in 0..rounds {
        let (a, b) = tokio::join!(
            one.commit_poll(poll("f", batch("f", round, n))),
            two.commit_poll(poll("f", batch("f", round, n)))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.new_items + b.new_items, a.new_alerts + b.new_alerts), (n, n), "round {round}: {a:?} {b:?}");
    }
    assert_eq!(query_i64(&one, "SELECT COUNT(*) FROM items").await, (rounds * n) as i64);
    assert_eq!(query_i64(&one, "SELECT COUNT(*) FROM alerts").await, (rounds * n) as i64);
    assert_eq!(query_i64(&one, "SELECT items_seen FROM feeds").await, (rounds * n) as i64);
}

#[tokio::test]
async fn postgres_two_nodes_committing_one_story_from_two_feeds_at_once_alert_once() {
    let Some(pg) = PgDatabase::new("postgres_two_nodes_two_feeds") else { return };
    pg.find_deadlocks_fast();
    let db = TestDb::Postgres(pg);
    let one = store_with_feeds(&db, &["f", "g"]).await;
    let two = db.open().await;
    let (rounds, n) = (20, 10);
    for round in 0..rounds {
        // The same keys (so the same links, the same stories) in two feeds, polled by two nodes;
        // every other round the second feed lists them the other way round, so that the two
        // transactions wait on each other's alerts (a deadlock PostgreSQL breaks by rolling one
        // back, which commit_poll then runs again).
        let mut other = batch("g", round, n);
        if round % 2 == 1 {
            other.reverse();
        }
        let (a, b) = tokio::join!(one.commit_poll(poll("f", batch("f", round, n))), two.commit_poll(poll("g", other)));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.new_items, b.new_items), (n, n), "round {round}");
        assert_eq!(a.new_alerts + b.new_alerts, n, "round {round}: {a:?} {b:?}");
        assert_eq!(a.cross_feed_duplicates + b.cross_feed_duplicates, n, "round {round}: {a:?} {b:?}");
    }
    assert_eq!(query_i64(&one, "SELECT COUNT(*) FROM items").await, (2 * rounds * n) as i64);
    assert_eq!(query_i64(&one, "SELECT COUNT(*) FROM alerts").await, (rounds * n) as i64);
    // Every alert names the other feed once.
    let copies = one.recent_alerts(false, 1000).await.unwrap();
    assert!(copies.iter().all(|a| a.copies == 1), "{copies:?}");
}

#[tokio::test]
async fn postgres_two_nodes_claiming_articles_at_once_claim_each_once() {
    let Some(pg) = PgDatabase::new("postgres_two_nodes_claiming_articles") else { return };
    let db = TestDb::Postgres(pg);
    let one = store_with_feeds(&db, &["f"]).await;
    let two = db.open().await;
    let n = 40;
    let mut record = poll("f", (0..n).map(|i| (item(&format!("k{i}")), vec![])).collect());
    record.items.iter_mut().for_each(|p| p.fetch_article = true);
    one.commit_poll(record).await.unwrap();
    let now = Utc::now();
    let mut claimed = HashSet::new();
    for _ in 0..n {
        let lease = Duration::from_secs(600);
        let (a, b) = tokio::join!(one.claim_articles(now, lease, 3), two.claim_articles(now, lease, 3));
        for c in a.unwrap().into_iter().chain(b.unwrap()) {
            assert!(claimed.insert(c.item_id), "item {} claimed twice", c.item.id);
        }
        if claimed.len() == n {
            break;
        }
    }
    assert_eq!(claimed.len(), n);
}

// ---------------------------------------------------------------------------------------------
// One suite, two backends

/// The tests above that take a [`TestDb`], each made into `sqlite::<name>` and
/// `postgres::<name>` (the latter returns at once, after a SKIPPED line, without a server).
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        /// The store on a SQLite file in a fresh directory.
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::TestDb::sqlite(stringify!($test))).await;
                }
            )*
        }

        /// The store on a fresh database of the PostgreSQL server `PANTAU_TEST_PG` names.
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    if let Some(db) = super::TestDb::postgres(stringify!($test)) {
                        super::$test(db).await;
                    }
                }
            )*
        }
    };
}

on_both_backends! {
    sync_feeds_inserts_and_updates_urls_without_duplicates,
    sync_feeds_keeps_poll_state,
    a_permanent_move_is_kept_until_the_configured_url_changes,
    feed_state_of_unknown_or_new_feed_is_default,
    record_attempt_sets_last_attempt_time,
    the_next_poll_keeps_an_adaptive_feeds_interval,
    commit_poll_inserts_new_items_with_pending_alerts,
    commit_poll_stores_dates_to_the_millisecond,
    commit_poll_again_inserts_nothing_and_raises_no_alert,
    commit_poll_counts_an_item_repeated_in_one_poll_once,
    same_item_key_in_two_feeds_is_two_items,
    known_keys_returns_exactly_the_stored_keys_of_that_feed,
    edits_update_the_row_and_realert_and_rekeys_keep_the_item,
    failures_count_up_and_reset_on_success_or_not_modified,
    record_not_modified_keeps_validators_and_items,
    feed_health_measures_the_rhythm_and_keeps_both_operator_flags_apart,
    the_publisher_ttl_is_kept_from_the_last_document_that_stated_it,
    operator_alerts_without_a_feed_are_queued_and_delivered_like_any_other,
    due_alerts_returns_due_pending_rows_oldest_first_and_limited,
    a_retry_defers_the_alert_and_counts_the_attempt,
    delivered_and_dead_alerts_leave_the_queue,
    outbox_of_an_empty_store,
    alerts_of_one_sink_are_not_returned_for_another,
    the_outbox_is_counted_per_sink_and_state,
    redelivery_requeues_dead_and_delivered_alerts,
    record_deliveries_settles_a_mixed_batch_in_one_call,
    commit_for_an_unknown_feed_fails_and_stores_nothing,
    commit_failing_midway_rolls_back_everything,
    retention_prunes_bodies_before_keys_and_keeps_pending_alerts,
    a_pending_article_is_claimed_once_recorded_and_its_alerts_written_with_it,
    a_late_outcome_of_a_lapsed_claim_changes_nothing,
    an_article_given_up_on_is_failed_and_counted_for_its_feed,
    stored_articles_gives_the_text_read_for_the_items_asked_for,
    a_reprint_in_another_feed_joins_the_story_and_alerts_once_unless_the_rule_wants_every_copy,
    every_2000th_item_moves_the_new_band_rows_into_the_big_index,
    a_heartbeat_keeps_one_row_per_node_and_rows_silent_for_a_week_are_forgotten,
    a_second_open_finds_the_schema_current_and_the_data_kept,
    a_feed_is_claimed_by_one_node_until_released_or_its_lease_runs_out,
    concurrent_claims_of_one_feed_give_it_to_exactly_one_node,
    a_sink_is_drained_by_one_node_and_host_slots_bound_polls_per_host,
}

// ---------------------------------------------------------------------------------------------
// Copying into PostgreSQL (`pantau migrate`)

#[tokio::test]
async fn copy_refuses_a_target_that_is_not_postgresql() {
    let db = TestDb::sqlite("copy_to_sqlite");
    let source = store_with_feeds(&db, &["f"]).await;
    let TestDb::Sqlite(dir) = &db else { unreachable!("a SQLite test database") };
    let other = Store::open(&dir.0.join("other.db")).await.unwrap();
    let err = source.copy_into(&other).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("is not a PostgreSQL database"), "{err}");
}

/// The first column of every row of `sql` as text, read from the PostgreSQL database `db` on a
/// thread of its own (the blocking client cannot run on the test's runtime thread).
fn pg_texts(db: &crate::model::Database, sql: &str) -> Vec<String> {
    let crate::model::Database::Postgres(url) = db else { panic!("{db} is not PostgreSQL") };
    let (url, sql) = (url.clone(), sql.to_string());
    std::thread::spawn(move || {
        let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("connect");
        if sql.starts_with("SELECT") {
            c.query(&sql, &[]).expect(&sql).iter().map(|r| r.get::<_, String>(0)).collect()
        } else {
            c.batch_execute(&sql).expect(&sql);
            Vec::new()
        }
    })
    .join()
    .expect("query thread")
}

/// The first column of every row of `sql` as text, from the SQLite file at `path`.
fn sqlite_texts(path: &Path, sql: &str) -> Vec<String> {
    let c = raw(path);
    let mut stmt = c.prepare(sql).expect(sql);
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).expect(sql);
    rows.collect::<rusqlite::Result<_>>().expect(sql)
}

/// Everything the daemon and the inspection commands read, for comparing two stores.
async fn everything(store: &Store) -> String {
    let names = ["f", "g", "h"];
    let keys = ["a", "b", "c", "d", "e", "zz"];
    let links: Vec<String> = keys.iter().filter_map(|k| crate::identity::Identity::of(&item(k)).link).collect();
    let mut out = Vec::new();
    for n in names {
        out.push(format!("{:?}", store.feed_state(n).await.unwrap()));
        let known = store.known_items(n, self::keys(&keys), links.clone()).await.unwrap();
        let mut known_keys: Vec<_> = known.keys.into_iter().collect();
        known_keys.sort();
        let mut known_links: Vec<_> = known.links.into_iter().collect();
        known_links.sort();
        out.push(format!("{known_keys:?} {known_links:?}"));
        out.push(format!("{:?}", store.feed_health(n).await.unwrap()));
    }
    let far = Utc::now() + chrono::Duration::days(1);
    for sink in ["s", "t", "ops"] {
        out.push(format!("{:?}", store.due_alerts(sink, far, 100).await.unwrap()));
    }
    out.push(format!("{:?}", store.recent_alerts(false, 100).await.unwrap()));
    out.push(format!("{:?}", store.recent_items(None, 100).await.unwrap()));
    out.push(format!("{:?}", store.feed_statuses().await.unwrap()));
    out.push(format!("{:?}", store.nodes().await.unwrap()));
    out.push(format!("{:?}", store.outbox_counts().await.unwrap()));
    out.join("\n")
}

#[tokio::test]
async fn copy_into_postgres_keeps_every_row_with_its_ids_states_and_order() {
    let Some(pg) = PgDatabase::new("copy_into_postgres_keeps_every_row_with_its_ids_states_and_order") else {
        return;
    };
    let db = TestDb::sqlite("copy_to_postgres");
    let TestDb::Sqlite(dir) = &db else { unreachable!("a SQLite test database") };
    let path = dir.db();
    let source = store_with_feeds(&db, &["f", "g", "h"]).await;

    // Polls with validators; a story reprinted in another feed; alerts in every state.
    let grouping = Some(crate::stories::Grouping {
        window: std::time::Duration::from_secs(3 * 86400),
        threshold: crate::stories::Threshold::default(),
    });
    let with = |feed: &str, items: Vec<(Item, Vec<NewAlert>)>| PollRecord {
        grouping,
        etag: Some(format!("\"{feed}-1\"")),
        last_modified: Some("Tue, 01 Dec 2026 08:00:00 GMT".into()),
        ..poll(feed, items)
    };
    let text = story_text("missiles", 12);
    let original = Item { content: text.clone(), ..item("a") };
    let reprint = Item {
        title: "Another headline".into(),
        link: Some("https://other.example/reprint".into()),
        content: format!("Jakarta (ANTARA) - {text} Read more news on our site."),
        ..item("b")
    };
    let f_items = vec![
        (original, vec![alert("f", "a", "r", "s")]),
        (item("c"), vec![alert("f", "c", "r", "s"), alert("f", "c", "r", "t")]),
        (item("d"), vec![alert("f", "d", "r", "s")]),
    ];
    source.commit_poll(with("f", f_items)).await.unwrap();
    // The original's band rows in the big index, the reprint's in the new one: both tables hold rows.
    raw(&path)
        .execute_batch(
            "INSERT INTO story_bands SELECT band, item_id FROM story_bands_new; DELETE FROM story_bands_new;",
        )
        .unwrap();
    tick().await;
    let every = NewAlert { every_copy: true, ..alert("g", "b", "r2", "s") };
    let s = source.commit_poll(with("g", vec![(reprint, vec![alert("g", "b", "r", "s"), every])])).await.unwrap();
    assert_eq!(s.joined_stories, 1);
    tick().await;
    source.commit_poll(poll("g", vec![(item("e"), vec![alert("g", "e", "r", "s")])])).await.unwrap();
    source.queue_operator_alerts(vec![alert("pantau", "config:refused:1", "pantau:config", "ops")]).await.unwrap();
    mark(&source, &alert_id("f", "a", "r", "s"), Attempted::Delivered).await.unwrap();
    mark(&source, &alert_id("f", "c", "r", "s"), Attempted::Dead("HTTP 400".into())).await.unwrap();
    let retry = Attempted::Retry { after: Duration::from_secs(600), error: "HTTP 503".into() };
    mark(&source, &alert_id("f", "c", "r", "t"), retry).await.unwrap();
    // Schedule, adaptive interval, a move, failures, a node, leases.
    let at = Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap();
    source.set_next_poll("f", at, Some(Duration::from_millis(1_950_000))).await.unwrap();
    source.set_next_poll("g", at, None).await.unwrap();
    source.set_moved("g", "https://moved.example/g.xml").await.unwrap();
    source.record_attempt("h").await.unwrap();
    source.record_failure("h", PollStatus::http(503), "HTTP 503").await.unwrap();
    source.heartbeat("web1:42".into(), at, "abc".into(), at).await.unwrap();
    raw(&path)
        .execute_batch(
            "INSERT INTO sink_leases (sink, node, lease_until) VALUES ('s', 'web1:42', 1234);
             UPDATE feeds SET lease_node = 'web1:42', lease_until = 5678 WHERE name = 'h';
             WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2500)
             INSERT INTO story_bands (band, item_id) SELECT x % 7 - 3, 100000 + x FROM n;
             WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1500)
             INSERT INTO alerts (id, rule, sink, matched, payload, state, next_attempt_at, created_at)
             SELECT 'bulk' || (x * 7919 % 1500), 'pantau:bulk', 'bulk', '[]', '{}', 'delivered', 0, 0 FROM n;",
        )
        .unwrap();
    let before = everything(&source).await;

    let db = pg.database();
    let target = Store::open_database(&db).await.unwrap();
    // A column the SQLite side lacks refuses the copy, and nothing is written.
    pg_texts(&db, "ALTER TABLE items ADD COLUMN extra TEXT");
    let err = source.copy_into(&target).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused { .. }) && err.to_string().contains("extra"), "{err}");
    assert_eq!(pg_texts(&db, "SELECT COUNT(*)::text FROM feeds"), ["0"]);
    pg_texts(&db, "ALTER TABLE items DROP COLUMN extra");

    let counts = source.copy_into(&target).await.unwrap();
    let tables = ["feeds", "items", "alerts", "story_bands_new", "story_bands", "nodes", "sink_leases"];
    assert_eq!(counts.tables.iter().map(|(t, _)| *t).collect::<Vec<_>>(), tables);
    for t in tables {
        let held = query_i64(&source, &format!("SELECT COUNT(*) FROM {t}")).await as u64;
        assert!(held > 0, "the source's {t} has rows");
        assert_eq!(counts.get(t), Some(held), "{t}");
        assert_eq!(pg_texts(&db, &format!("SELECT COUNT(*)::text FROM {t}")), [held.to_string()], "{t}");
    }
    assert_eq!((counts.get("feeds"), counts.get("items"), counts.get("alerts")), (Some(3), Some(5), Some(1507)));

    // The PostgreSQL store sees what the SQLite one did: states, validators, keys, the outbox,
    // story ids, nodes.
    assert_eq!(everything(&target).await, before);
    assert!(before.contains("HTTP 503") && before.contains("\\\"f-1\\\""), "{before}");
    // Ids, and the outbox in SQLite's insertion order.
    let order = "SELECT id || ' ' || COALESCE(item_id, 0) || ' ' || COALESCE(feed_id, 0) FROM alerts ORDER BY rowid";
    assert_eq!(pg_texts(&db, &order.replace("rowid", "seq")), sqlite_texts(&path, order));
    let items = "SELECT id || ' ' || feed_id || ' ' || item_key || ' ' || COALESCE(story_id, 0) FROM items ORDER BY id";
    assert_eq!(pg_texts(&db, items), sqlite_texts(&path, items));
    assert_eq!(pg_texts(&db, "SELECT COUNT(*)::text FROM items WHERE story_id IS NOT NULL"), ["1"]);
    assert_eq!(
        pg_texts(&db, "SELECT encode(signature, 'hex') FROM items WHERE item_key = 'a'"),
        sqlite_texts(&path, "SELECT lower(hex(signature)) FROM items WHERE item_key = 'a'")
    );
    assert_eq!(pg_texts(&db, "SELECT lease_node || ' ' || lease_until FROM feeds WHERE name = 'h'"), ["web1:42 5678"]);
    assert_eq!(pg_texts(&db, "SELECT sink || ' ' || node || ' ' || lease_until FROM sink_leases"), ["s web1:42 1234"]);

    // A second copy is refused, naming the database without its password.
    let err = source.copy_into(&target).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Refused { .. }) && text.contains("is not empty"), "{text}");
    assert!(text.contains(&db.shown()), "{text}");
    let admin = url::Url::parse(&std::env::var("PANTAU_TEST_PG").unwrap()).unwrap();
    if let Some(password) = admin.password().filter(|p| !p.is_empty()) {
        assert!(!text.contains(password), "{text}");
    }

    // New rows get ids past the copied ones.
    target
        .sync_feeds(["f", "g", "h", "new"].iter().map(|n| feed(n, &format!("https://example.org/{n}"))).collect())
        .await
        .unwrap();
    // (An upsert of an existing feed takes a number of the sequence too: "past", not "next".)
    let id = |sql: &str| pg_texts(&db, sql).concat().parse::<i64>().unwrap();
    assert!(id("SELECT id::text FROM feeds WHERE name = 'new'") > 3);
    let s = target.commit_poll(poll("new", vec![(item("z"), vec![alert("new", "z", "r", "s")])])).await.unwrap();
    assert_eq!((s.new_items, s.new_alerts), (1, 1));
    assert!(id("SELECT id::text FROM items WHERE item_key = 'z'") > 5);
    assert_eq!(pg_texts(&db, "SELECT id FROM alerts ORDER BY seq DESC LIMIT 1"), [alert_id("new", "z", "r", "s")]);
    let due = target.due_alerts("s", Utc::now() + chrono::Duration::days(1), 100).await.unwrap();
    assert_eq!(due.last().map(|a| a.id.clone()), Some(alert_id("new", "z", "r", "s")));
}
