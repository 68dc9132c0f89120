//! Unit tests of the store: migrations, the instance lock, feeds, deduplicating commits, the outbox.

use super::schema::MIGRATIONS;
use super::*;
use rusqlite::Connection;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{TimeZone, Utc};

use crate::model::{alert_id, FeedRef, Item, NewAlert, OutboxAlert, PollStatus};

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

/// A second, raw connection to the database file, for looking behind the store's interface.
fn raw(path: &Path) -> Connection {
    let c = Connection::open(path).expect("raw connection");
    c.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
    c
}

fn query_i64(path: &Path, sql: &str) -> i64 {
    raw(path).query_row(sql, [], |r| r.get(0)).expect(sql)
}

fn query_text(path: &Path, sql: &str) -> String {
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

/// A store at a fresh path with the named feeds (URL `https://example.org/<name>.xml`) synced.
async fn store_with_feeds(dir: &TempDir, names: &[&str]) -> Store {
    let store = Store::open(&dir.db()).await.expect("open store");
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
// Opening and migrations

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
            query_i64(&path, &format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"));
        assert_eq!(n, 1, "table {table} exists");
    }
    store.sync_feeds(vec![feed("a", "https://example.org/a.xml")]).await.unwrap();
    drop(store);

    // Opening again neither re-runs the migration (it would fail on existing tables) nor loses data.
    let store = Store::open(&path).await.expect("reopen");
    assert_eq!(user_version(&path), MIGRATIONS.len() as i64);
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM feeds"), 1);
    store.sync_feeds(vec![feed("b", "https://example.org/b.xml")]).await.unwrap();
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM feeds"), 2);
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
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'feeds'"), 0);
}

// ---------------------------------------------------------------------------------------------
// Errors

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

// ---------------------------------------------------------------------------------------------
// Instance lock

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

// ---------------------------------------------------------------------------------------------
// Feeds

#[tokio::test]
async fn sync_feeds_inserts_and_updates_urls_without_duplicates() {
    let dir = TempDir::new("sync_feeds");
    let path = dir.db();
    let store = Store::open(&path).await.unwrap();

    store.sync_feeds(vec![feed("a", "https://a.example/1"), feed("b", "https://b.example/1")]).await.unwrap();
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM feeds"), 2);
    let id_a = query_i64(&path, "SELECT id FROM feeds WHERE name = 'a'");

    store.sync_feeds(vec![feed("a", "https://a.example/2"), feed("b", "https://b.example/1")]).await.unwrap();
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM feeds"), 2, "a changed URL updates, not duplicates");
    assert_eq!(query_i64(&path, "SELECT id FROM feeds WHERE name = 'a'"), id_a, "the row keeps its id");
    let url: String = raw(&path).query_row("SELECT url FROM feeds WHERE name = 'a'", [], |r| r.get(0)).unwrap();
    assert_eq!(url, "https://a.example/2");
    let url: String = raw(&path).query_row("SELECT url FROM feeds WHERE name = 'b'", [], |r| r.get(0)).unwrap();
    assert_eq!(url, "https://b.example/1");
}

#[tokio::test]
async fn sync_feeds_keeps_poll_state() {
    let dir = TempDir::new("sync_keeps_state");
    let store = store_with_feeds(&dir, &["a"]).await;
    let mut p = poll("a", vec![(item("x"), vec![])]);
    p.etag = Some("\"v1\"".to_string());
    store.commit_poll(p).await.unwrap();

    store.sync_feeds(vec![feed("a", "https://moved.example/a.xml")]).await.unwrap();
    let state = store.feed_state("a").await.unwrap();
    assert!(state.polled_before);
    assert_eq!(state.etag.as_deref(), Some("\"v1\""));
    assert_eq!(store.known_keys("a", keys(&["x"])).await.unwrap(), set(&["x"]));
}

#[tokio::test]
async fn feed_state_of_unknown_or_new_feed_is_default() {
    let dir = TempDir::new("feed_state_default");
    let store = store_with_feeds(&dir, &["a"]).await;
    assert_eq!(store.feed_state("nope").await.unwrap(), FeedState::default());
    assert_eq!(store.feed_state("a").await.unwrap(), FeedState::default());
}

#[tokio::test]
async fn record_attempt_sets_last_attempt_time() {
    let dir = TempDir::new("record_attempt");
    let store = store_with_feeds(&dir, &["a"]).await;
    let before = Utc::now().timestamp_millis();
    store.record_attempt("a").await.unwrap();
    let after = Utc::now().timestamp_millis();

    let state = store.feed_state("a").await.unwrap();
    let at = state.last_attempt_at.expect("attempt recorded").timestamp_millis();
    assert!((before..=after).contains(&at), "{before} <= {at} <= {after}");
    assert!(!state.polled_before, "an attempt is not a success");
}

// ---------------------------------------------------------------------------------------------
// Committing polls

#[tokio::test]
async fn commit_poll_inserts_new_items_with_pending_alerts() {
    let dir = TempDir::new("commit_new");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f", "g"]).await;

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

    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM items"), 3);
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM alerts WHERE state = 'pending' AND attempts = 0"), 3);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 3, delivered: 0, dead: 0 });
    assert_eq!(query_i64(&path, "SELECT items_seen FROM feeds WHERE name = 'f'"), 3);
    assert_eq!(query_i64(&path, "SELECT items_seen FROM feeds WHERE name = 'g'"), 0);

    // Each alert hangs off its own item.
    let n = query_i64(
        &path,
        &format!(
            "SELECT COUNT(*) FROM alerts JOIN items ON items.id = alerts.item_id WHERE items.item_key = 'b' AND alerts.id IN ('{}', '{}')",
            alert_id("f", "b", "r1", "s1"),
            alert_id("f", "b", "r2", "s2")
        ),
    );
    assert_eq!(n, 2);

    // The item's fields are stored as given.
    let (title, link, authors, categories, summary_text): (String, Option<String>, String, String, String) = raw(&path)
        .query_row("SELECT title, link, authors, categories, summary FROM items WHERE item_key = 'a'", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap();
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

#[tokio::test]
async fn commit_poll_stores_dates_to_the_millisecond() {
    let dir = TempDir::new("commit_dates");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f"]).await;
    let published = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
    let updated = Utc.timestamp_millis_opt(1_700_000_100_456).unwrap();
    let it = Item { published: Some(published), updated: Some(updated), ..item("d") };
    let bare = Item { link: None, ..item("e") };
    store.commit_poll(poll("f", vec![(it, vec![]), (bare, vec![])])).await.unwrap();

    assert_eq!(query_i64(&path, "SELECT published FROM items WHERE item_key = 'd'"), 1_700_000_000_123);
    assert_eq!(query_i64(&path, "SELECT updated FROM items WHERE item_key = 'd'"), 1_700_000_100_456);
    assert_eq!(
        query_i64(&path, "SELECT COUNT(*) FROM items WHERE item_key = 'e' AND published IS NULL AND updated IS NULL AND link IS NULL"),
        1
    );
}

#[tokio::test]
async fn commit_poll_again_inserts_nothing_and_raises_no_alert() {
    let dir = TempDir::new("commit_again");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f"]).await;
    let mut p =
        poll("f", vec![(item("a"), vec![alert("f", "a", "r1", "s1")]), (item("b"), vec![alert("f", "b", "r1", "s1")])]);
    p.etag = Some("\"e1\"".to_string());
    p.last_modified = Some("lm1".to_string());
    let first = store.commit_poll(p).await.unwrap();
    assert_eq!(first, PollSummary { new_items: 2, new_alerts: 2, ..PollSummary::default() });
    let first_seen_a = query_i64(&path, "SELECT first_seen_at FROM items WHERE item_key = 'a'");

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

    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM items"), 2);
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM alerts"), 2);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 2, delivered: 0, dead: 0 });
    assert_eq!(query_i64(&path, "SELECT first_seen_at FROM items WHERE item_key = 'a'"), first_seen_a);
    let title: String = raw(&path).query_row("SELECT title FROM items WHERE item_key = 'a'", [], |r| r.get(0)).unwrap();
    assert_eq!(title, "Title a", "a stored item is left alone");
    assert!(store.due_alerts("s2", Utc::now(), 10).await.unwrap().is_empty());
    assert!(store.due_alerts("s9", Utc::now(), 10).await.unwrap().is_empty());
    assert_eq!(query_i64(&path, "SELECT items_seen FROM feeds WHERE name = 'f'"), 2);
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
    assert_eq!(query_i64(&path, "SELECT items_seen FROM feeds WHERE name = 'f'"), 3);
    let due = store.due_alerts("s1", Utc::now(), 10).await.unwrap();
    assert_eq!(
        ids(&due),
        vec![alert_id("f", "a", "r1", "s1"), alert_id("f", "b", "r1", "s1"), alert_id("f", "c", "r1", "s1")]
    );
}

#[tokio::test]
async fn commit_poll_counts_an_item_repeated_in_one_poll_once() {
    let dir = TempDir::new("commit_repeat");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f"]).await;
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
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM items WHERE item_key = 'a'"), 1);
    assert_eq!(query_i64(&path, "SELECT items_seen FROM feeds WHERE name = 'f'"), 2);
    let due = store.due_alerts("s1", Utc::now(), 10).await.unwrap();
    assert_eq!(ids(&due), vec![alert_id("f", "a", "r1", "s1")]);
}

#[tokio::test]
async fn same_item_key_in_two_feeds_is_two_items() {
    let dir = TempDir::new("commit_two_feeds");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f", "g"]).await;
    let s1 = store.commit_poll(poll("f", vec![(item("a"), vec![alert("f", "a", "r", "s")])])).await.unwrap();
    let s2 = store.commit_poll(poll("g", vec![(item("a"), vec![alert("g", "a", "r", "s")])])).await.unwrap();
    assert_eq!(s1, PollSummary { new_items: 1, new_alerts: 1, ..PollSummary::default() });
    // The same link in two feeds is one story: the second feed stores the item but its alert
    // for the same rule and sink is a cross-feed duplicate.
    assert_eq!(s2, PollSummary { new_items: 1, new_alerts: 0, cross_feed_duplicates: 1, ..PollSummary::default() });
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM items"), 2);
    // Another story in the second feed alerts as usual.
    let other = Item { link: Some("https://example.org/elsewhere".into()), ..item("b") };
    let s3 = store.commit_poll(poll("g", vec![(other, vec![alert("g", "b", "r", "s")])])).await.unwrap();
    assert_eq!(s3, PollSummary { new_items: 1, new_alerts: 1, ..PollSummary::default() });
}

#[tokio::test]
async fn known_keys_returns_exactly_the_stored_keys_of_that_feed() {
    let dir = TempDir::new("known_keys");
    let store = store_with_feeds(&dir, &["f", "g"]).await;
    assert!(store.known_keys("f", keys(&["a", "b"])).await.unwrap().is_empty());

    store.commit_poll(poll("f", vec![(item("a"), vec![]), (item("b"), vec![])])).await.unwrap();
    store.commit_poll(poll("g", vec![(item("z"), vec![])])).await.unwrap();

    assert_eq!(store.known_keys("f", keys(&["a", "b", "c", "z"])).await.unwrap(), set(&["a", "b"]));
    assert_eq!(store.known_keys("f", keys(&["b"])).await.unwrap(), set(&["b"]));
    assert!(store.known_keys("f", vec![]).await.unwrap().is_empty());
    assert_eq!(store.known_keys("g", keys(&["a", "b", "z"])).await.unwrap(), set(&["z"]));
    assert!(store.known_keys("unknown", keys(&["a", "z"])).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Failures and health

#[tokio::test]
async fn failures_count_up_and_reset_on_success_or_not_modified() {
    let dir = TempDir::new("failures");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f", "g"]).await;

    assert_eq!(store.record_failure("f", PollStatus::http(500), "server error").await.unwrap(), 1);
    assert_eq!(store.record_failure("f", PollStatus::Timeout, "timed out").await.unwrap(), 2);
    assert_eq!(store.record_failure("f", PollStatus::http(502), "bad gateway").await.unwrap(), 3);
    assert_eq!(store.feed_state("f").await.unwrap().consecutive_failures, 3);
    assert_eq!(store.feed_state("g").await.unwrap().consecutive_failures, 0, "per feed");
    let (status, error): (String, String) = raw(&path)
        .query_row("SELECT last_status, last_error FROM feeds WHERE name = 'f'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((status.as_str(), error.as_str()), ("502", "bad gateway"));
    assert_eq!(store.feed_health("f").await.unwrap().last_error.as_deref(), Some("bad gateway"));

    store.commit_poll(poll("f", vec![(item("a"), vec![])])).await.unwrap();
    assert_eq!(store.feed_state("f").await.unwrap().consecutive_failures, 0);
    assert_eq!(
        query_i64(&path, "SELECT COUNT(*) FROM feeds WHERE name = 'f' AND last_error IS NULL AND last_status = '200'"),
        1
    );

    assert_eq!(store.record_failure("f", PollStatus::http(500), "again").await.unwrap(), 1);
    assert_eq!(store.record_failure("f", PollStatus::http(500), "again").await.unwrap(), 2);
    store.record_not_modified("f").await.unwrap();
    assert_eq!(store.feed_state("f").await.unwrap().consecutive_failures, 0);
    assert_eq!(
        query_i64(&path, "SELECT COUNT(*) FROM feeds WHERE name = 'f' AND last_error IS NULL AND last_status = '304'"),
        1
    );
    assert_eq!(store.record_failure("f", PollStatus::http(500), "once more").await.unwrap(), 1);
}

#[tokio::test]
async fn record_not_modified_keeps_validators_and_items() {
    let dir = TempDir::new("not_modified");
    let store = store_with_feeds(&dir, &["f"]).await;
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

#[tokio::test]
async fn feed_health_measures_the_rhythm_and_keeps_both_operator_flags_apart() {
    let dir = TempDir::new("health_rhythm");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f"]).await;
    let fresh = store.feed_health("f").await.unwrap();
    assert_eq!((fresh.batches, fresh.rhythm, fresh.last_new_items_at), (0, None, None));

    // Three polls with new items, at known times: first seen 0, 60 and 180 minutes in.
    for (k, _) in [("a", 0), ("b", 60), ("c", 180)] {
        store.commit_poll(poll("f", vec![(item(k), vec![])])).await.unwrap();
        tick().await;
    }
    let base = 1_700_000_000_000i64;
    for (k, minutes) in [("a", 0), ("b", 60), ("c", 180)] {
        raw(&path)
            .execute(
                "UPDATE items SET first_seen_at = ?1 WHERE item_key = ?2",
                rusqlite::params![base + minutes * 60_000, k],
            )
            .unwrap();
    }
    let h = store.feed_health("f").await.unwrap();
    assert_eq!(h.batches, 3);
    assert_eq!(h.rhythm, Some(Duration::from_secs(90 * 60)), "180 minutes over two gaps");
    assert_eq!(h.last_new_items_at.map(|t| t.timestamp_millis()), Some(base + 180 * 60_000));
    assert!(!h.alerted && !h.quiet_alerted);

    let quiet = vec![alert("f", "health:quiet:1", "pantau:feed-health", "ops")];
    assert_eq!(store.queue_health_alerts("f", quiet, HealthFlag::Quiet, true).await.unwrap(), 1);
    let h = store.feed_health("f").await.unwrap();
    assert!(h.quiet_alerted && !h.alerted, "the quiet flag is not the failing flag");
    let again = vec![alert("f", "health:quiet:1", "pantau:feed-health", "ops")];
    assert_eq!(store.queue_health_alerts("f", again, HealthFlag::Quiet, true).await.unwrap(), 0, "same id: no twin");
    store.queue_health_alerts("f", vec![], HealthFlag::Quiet, false).await.unwrap();
    assert!(!store.feed_health("f").await.unwrap().quiet_alerted);
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM alerts WHERE item_id IS NULL AND feed_id IS NOT NULL"), 1);
}

#[tokio::test]
async fn the_publisher_ttl_is_kept_from_the_last_document_that_stated_it() {
    let dir = TempDir::new("ttl");
    let store = store_with_feeds(&dir, &["f"]).await;
    assert_eq!(store.feed_state("f").await.unwrap().ttl, None);
    let mut p = poll("f", vec![(item("a"), vec![])]);
    p.ttl = Some(Duration::from_secs(1800));
    store.commit_poll(p).await.unwrap();
    store.record_not_modified("f").await.unwrap();
    assert_eq!(store.feed_state("f").await.unwrap().ttl, Some(Duration::from_secs(1800)), "a 304 keeps it");
    store.commit_poll(poll("f", vec![])).await.unwrap();
    assert_eq!(store.feed_state("f").await.unwrap().ttl, None, "a document without one clears it");
}

#[tokio::test]
async fn operator_alerts_without_a_feed_are_queued_and_delivered_like_any_other() {
    let dir = TempDir::new("operator");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f"]).await;
    let a = alert("pantau", "config:refused:1", "pantau:config", "ops");
    assert_eq!(store.queue_operator_alerts(vec![a.clone()]).await.unwrap(), 1);
    assert_eq!(store.queue_operator_alerts(vec![a.clone()]).await.unwrap(), 0, "an id is queued once");
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM alerts WHERE feed_id IS NULL AND item_id IS NULL"), 1);
    let due = store.due_alerts("ops", Utc::now(), 10).await.unwrap();
    assert_eq!(ids(&due), vec![a.id.as_str()]);
    mark(&store, &a.id, Attempted::Delivered).await.unwrap();
    let rows = store.recent_alerts(false, 10).await.unwrap();
    assert_eq!(rows.len(), 1, "`pantau alerts` lists it");
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

#[tokio::test]
async fn due_alerts_returns_due_pending_rows_oldest_first_and_limited() {
    let dir = TempDir::new("due_order");
    let store = store_with_feeds(&dir, &["f"]).await;
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

#[tokio::test]
async fn a_retry_defers_the_alert_and_counts_the_attempt() {
    let dir = TempDir::new("retry");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f"]).await;
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
        query_i64(&path, &format!("SELECT COUNT(*) FROM alerts WHERE id = '{a}' AND last_error = 'HTTP 503'")),
        1
    );

    mark(&store, a, Attempted::Retry { after: Duration::ZERO, error: "again".into() }).await.unwrap();
    let due = store.due_alerts("s", Utc::now(), 10).await.unwrap();
    assert_eq!(due[0].attempts, 2);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 1, delivered: 1, dead: 0 });
}

#[tokio::test]
async fn delivered_and_dead_alerts_leave_the_queue() {
    let dir = TempDir::new("delivered_dead");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f"]).await;
    let ids_ = queue(&store, "s", &["a", "b", "c", "d"]).await;
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 4, delivered: 0, dead: 0 });

    mark(&store, &ids_[0], Attempted::Delivered).await.unwrap();
    mark(&store, &ids_[1], Attempted::Dead("HTTP 400".into())).await.unwrap();
    mark(&store, &ids_[2], Attempted::Delivered).await.unwrap();

    let due = store.due_alerts("s", Utc::now(), 10).await.unwrap();
    assert_eq!(ids(&due), vec![ids_[3].as_str()]);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 1, delivered: 2, dead: 1 });
    assert_eq!(
        query_i64(
            &path,
            &format!(
                "SELECT COUNT(*) FROM alerts WHERE id = '{}' AND attempts = 1 AND delivered_at IS NOT NULL",
                ids_[0]
            )
        ),
        1
    );
    assert_eq!(
        query_i64(
            &path,
            &format!(
                "SELECT COUNT(*) FROM alerts WHERE id = '{}' AND attempts = 1 AND last_error = 'HTTP 400'",
                ids_[1]
            )
        ),
        1
    );

    mark(&store, &ids_[3], Attempted::Dead("gave up".into())).await.unwrap();
    assert!(store.due_alerts("s", Utc::now(), 10).await.unwrap().is_empty());
    assert_eq!(store.next_due("s").await.unwrap(), None, "nothing pending, nothing due");
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 0, delivered: 2, dead: 2 });
}

#[tokio::test]
async fn outbox_of_an_empty_store() {
    let dir = TempDir::new("outbox_empty");
    let store = store_with_feeds(&dir, &["f"]).await;
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts::default());
    assert!(store.due_alerts("s", Utc::now(), 10).await.unwrap().is_empty());
    assert_eq!(store.next_due("s").await.unwrap(), None);
}

#[tokio::test]
async fn alerts_of_one_sink_are_not_returned_for_another() {
    let dir = TempDir::new("sinks");
    let store = store_with_feeds(&dir, &["f"]).await;
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

// ---------------------------------------------------------------------------------------------
// Atomicity

#[tokio::test]
async fn commit_for_an_unknown_feed_fails_and_stores_nothing() {
    let dir = TempDir::new("atomic_unknown_feed");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f"]).await;

    let mut p = poll("ghost", vec![(item("a"), vec![alert("ghost", "a", "r", "s")])]);
    p.etag = Some("\"e\"".to_string());
    match store.commit_poll(p).await {
        Err(StoreError::Database { path: p, .. }) => assert_eq!(p, path),
        Err(e) => panic!("expected a database error, got {e}"),
        Ok(s) => panic!("commit for an unknown feed must fail, got {s:?}"),
    }
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM items"), 0);
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM alerts"), 0);
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM feeds"), 1);
    assert_eq!(store.feed_state("ghost").await.unwrap(), FeedState::default());
    assert_eq!(store.feed_state("f").await.unwrap(), FeedState::default());

    // The store is still usable afterwards.
    let ok = store.commit_poll(poll("f", vec![(item("a"), vec![alert("f", "a", "r", "s")])])).await.unwrap();
    assert_eq!(ok, PollSummary { new_items: 1, new_alerts: 1, ..PollSummary::default() });
}

#[tokio::test]
async fn commit_failing_midway_rolls_back_everything() {
    let dir = TempDir::new("atomic_midway");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f"]).await;
    store.record_failure("f", PollStatus::http(500), "earlier failure").await.unwrap();

    // Make the third item's insert fail, after two items and their alerts went in.
    raw(&path)
        .execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON items WHEN NEW.item_key = 'boom'
             BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        )
        .unwrap();

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
    assert!(matches!(
        store.commit_poll(p.clone()).await,
        Err(StoreError::Database { kind: ErrorKind::Constraint, .. })
    ));

    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM items"), 0, "no item of the failed poll remains");
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM alerts"), 0, "no alert of the failed poll remains");
    assert_eq!(query_i64(&path, "SELECT items_seen FROM feeds WHERE name = 'f'"), 0);
    assert!(store.known_keys("f", keys(&["a", "b"])).await.unwrap().is_empty());
    let state = store.feed_state("f").await.unwrap();
    assert!(!state.polled_before, "a failed commit is not a first success");
    assert_eq!(state.etag, None);
    assert_eq!(state.last_modified, None);
    assert_eq!(state.consecutive_failures, 1, "the failure count is not reset by a failed commit");
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts::default());

    // Without the poison pill the same poll goes through in full: nothing half-written blocks it.
    raw(&path).execute_batch("DROP TRIGGER boom;").unwrap();
    let summary = store.commit_poll(p).await.unwrap();
    assert_eq!(summary, PollSummary { new_items: 3, new_alerts: 3, ..PollSummary::default() });
    assert_eq!(store.feed_state("f").await.unwrap().consecutive_failures, 0);
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

#[tokio::test]
async fn retention_prunes_bodies_before_keys_and_keeps_pending_alerts() {
    let dir = TempDir::new("prune");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f"]).await;
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
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM items WHERE content = '' AND pruned = 1"), 3);
    assert_eq!(store.known_keys("f", keys(&["a", "b", "c"])).await.unwrap().len(), 3, "keys outlive bodies");
    // A pending alert keeps its item whole.
    store.commit_poll(poll("f", vec![(item("d"), vec![alert("f", "d", "r", "s")])])).await.unwrap();
    let stats = store.prune(future, future, future, 2).await.unwrap();
    assert_eq!(stats.items, 3);
    assert_eq!(store.known_keys("f", keys(&["a", "d"])).await.unwrap(), set(&["d"]));
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM items WHERE item_key = 'd' AND content != ''"), 1);
}

#[tokio::test]
async fn record_deliveries_settles_a_mixed_batch_in_one_call() {
    let dir = TempDir::new("record_deliveries");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f"]).await;
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
    assert_eq!(query_i64(&path, "SELECT SUM(attempts) FROM alerts"), 3);
    assert_eq!(
        query_i64(&path, &format!("SELECT COUNT(*) FROM alerts WHERE id = '{}' AND last_error = 'HTTP 503'", ids_[1])),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Memory

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
    let dir = TempDir::new("release-memory");
    let store = store_with_feeds(&dir, &["f"]).await;
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
// Whole articles

#[tokio::test]
async fn a_pending_article_is_claimed_once_recorded_and_its_alerts_written_with_it() {
    let dir = TempDir::new("articles");
    let store = store_with_feeds(&dir, &["f"]).await;
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
        query_i64(&dir.db(), "SELECT COUNT(*) FROM alerts WHERE item_id = (SELECT id FROM items WHERE item_key = 'a')"),
        2
    );
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
    assert_eq!(query_i64(&dir.db(), "SELECT COUNT(*) FROM items WHERE article IS NOT NULL"), 0);
}

#[tokio::test]
async fn a_late_outcome_of_a_lapsed_claim_changes_nothing() {
    let dir = TempDir::new("articles-lapsed");
    let store = store_with_feeds(&dir, &["f"]).await;
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
    assert_eq!(query_i64(&dir.db(), "SELECT COUNT(*) FROM alerts"), 1);
}

#[tokio::test]
async fn an_article_given_up_on_is_failed_and_counted_for_its_feed() {
    let dir = TempDir::new("articles-failed");
    let store = store_with_feeds(&dir, &["f"]).await;
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

/// A long news text, `n` sentences of one story.
fn story_text(topic: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("Sentence {i} of the report on {topic} says the ministry confirmed detail number {i} to reporters today."))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_reprint_in_another_feed_joins_the_story_and_alerts_once_unless_the_rule_wants_every_copy() {
    let dir = TempDir::new("stories");
    let path = dir.db();
    let store = store_with_feeds(&dir, &["f", "g", "h"]).await;
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
    raw(&path)
        .execute_batch(
            "INSERT INTO story_bands SELECT band, item_id FROM story_bands_new; DELETE FROM story_bands_new;",
        )
        .unwrap();
    let s2 = store
        .commit_poll(with("g", reprint, vec![alert("g", "b", "r", "s"), every(alert("g", "b", "r2", "s"))]))
        .await
        .unwrap();
    assert_eq!((s2.new_alerts, s2.cross_feed_duplicates, s2.story_duplicates, s2.joined_stories), (1, 1, 1, 1));
    let also: String = query_text(
        &path,
        &format!(
            "SELECT json_extract(payload, '$.also_in[0].name') FROM alerts WHERE id = '{}'",
            alert_id("f", "a", "r", "s")
        ),
    );
    assert_eq!(also, "g");
    let s3 = store.commit_poll(with("h", other, vec![alert("h", "c", "r", "s")])).await.unwrap();
    assert_eq!((s3.new_alerts, s3.joined_stories), (1, 0), "another story on the same subject alerts");
    assert_eq!(query_i64(&path, "SELECT COUNT(*) FROM items WHERE story_id IS NOT NULL"), 1);
    assert_eq!(
        query_i64(&path, "SELECT (SELECT COUNT(*) FROM story_bands) + (SELECT COUNT(*) FROM story_bands_new)"),
        3 * crate::stories::BANDS as i64
    );
}

// ---------------------------------------------------------------------------------------------
// Nodes

#[tokio::test]
async fn a_heartbeat_keeps_one_row_per_node_and_rows_silent_for_a_week_are_forgotten() {
    let dir = TempDir::new("nodes");
    let store = Store::open(&dir.db()).await.unwrap();
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

#[tokio::test]
async fn the_next_poll_keeps_an_adaptive_feeds_interval() {
    let dir = TempDir::new("adaptive");
    let store = store_with_feeds(&dir, &["auto", "fixed"]).await;
    assert_eq!(store.feed_state("auto").await.unwrap().adaptive, None);
    let at = Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap();
    store.set_next_poll("auto", at, Some(Duration::from_millis(1_950_000))).await.unwrap();
    store.set_next_poll("fixed", at, None).await.unwrap();
    let auto = store.feed_state("auto").await.unwrap();
    assert_eq!((auto.next_poll_at, auto.adaptive), (Some(at), Some(Duration::from_millis(1_950_000))));
    assert_eq!(store.feed_state("fixed").await.unwrap().adaptive, None);
}

#[tokio::test]
async fn stored_articles_gives_the_text_read_for_the_items_asked_for() {
    let dir = TempDir::new("stored-articles");
    let store = store_with_feeds(&dir, &["f", "g"]).await;
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

    /// Run one statement on the server's own database, from a thread of its own (the blocking
    /// client cannot run on the test's runtime thread).
    fn admin(&self, sql: &str) {
        let (url, sql) = (self.admin.clone(), sql.to_string());
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect to PANTAU_TEST_PG");
            c.batch_execute(&sql).expect(&sql);
        })
        .join()
        .expect("admin thread");
    }

    fn database(&self) -> crate::model::Database {
        let mut url = url::Url::parse(&self.admin).expect("PANTAU_TEST_PG is a URL");
        url.set_path(&self.name);
        crate::model::Database::Postgres(url.to_string())
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        self.admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

#[tokio::test]
async fn postgres_smoke_commit_and_deliver() {
    let Some(pg) = PgDatabase::new("postgres_smoke_commit_and_deliver") else { return };
    let store = Store::open_database(&pg.database()).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    store.sync_feeds(vec![feed("f", "https://example.org/f.xml")]).await.unwrap();
    let s = store.commit_poll(poll("f", vec![(item("a"), vec![alert("f", "a", "r1", "s1")])])).await.unwrap();
    assert_eq!((s.new_items, s.new_alerts), (1, 1));
    let s = store.commit_poll(poll("f", vec![(item("a"), vec![alert("f", "a", "r1", "s1")])])).await.unwrap();
    assert_eq!((s.new_items, s.new_alerts), (0, 0));
    let due = store.due_alerts("s1", Utc::now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    store.mark_all_delivered(vec![due[0].id.clone()]).await.unwrap();
    assert!(store.due_alerts("s1", Utc::now(), 10).await.unwrap().is_empty());
    assert_eq!(store.feed_statuses().await.unwrap().len(), 1);
    assert_eq!(store.recent_items(None, 10).await.unwrap().len(), 1);
    assert_eq!(store.recent_alerts(false, 10).await.unwrap().len(), 1);
    // A second open finds the schema current.
    let again = Store::open_database(&pg.database()).await.unwrap();
    assert!(again.feed_state("f").await.unwrap().polled_before);
}

// ---------------------------------------------------------------------------------------------
// Copying into PostgreSQL (`pantau migrate`)

#[tokio::test]
async fn copy_refuses_a_target_that_is_not_postgresql() {
    let dir = TempDir::new("copy_to_sqlite");
    let source = store_with_feeds(&dir, &["f"]).await;
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
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
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
    let dir = TempDir::new("copy_to_postgres");
    let path = dir.db();
    let source = store_with_feeds(&dir, &["f", "g", "h"]).await;

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
        let held = query_i64(&path, &format!("SELECT COUNT(*) FROM {t}")) as u64;
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
