//! pantau on a bad day: a damaged database file, a sink that asks to be left alone for a
//! century, a database reached by a second name, and two daemons started at once on a fresh
//! file.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::service::spawn_run;
use crate::util::{pantau, run, sample_feed, show, FeedServer, Receiver, Response, TempDir};

/// A config with one feed polled every second, the rule "Korea Utara" AND senjata to the sink
/// "hook", `daemon` lines added to `[daemon]`, and `extra` appended.
fn config(feeds: &FeedServer, hook: &Receiver, daemon: &str, extra: &str) -> String {
    format!(
        r#"[daemon]
shutdown_grace = "3s"
{daemon}

[[feed]]
name = "world"
url = "{feed}"
interval = "1s"

[[rule]]
name = "korut-senjata"
query = '"Korea Utara" AND senjata'
sinks = ["hook"]

[[sink]]
name = "hook"
type = "webhook"
url = "{hook}"
{extra}"#,
        feed = feeds.url("/world.rss"),
        hook = hook.url(),
    )
}

// ---------------------------------------------------------------------------------------------
// Point 2: a damaged database.

/// Overwrite four pages in the middle of the file with garbage.
fn damage(db: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let size = std::fs::metadata(db).unwrap().len();
    assert!(size >= 8 * 4096, "a database of {size} bytes is too small to damage in the middle");
    let mut f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    f.seek(SeekFrom::Start(size / 4096 / 2 * 4096)).unwrap();
    f.write_all(&vec![0xff; 4 * 4096]).unwrap();
}

/// A database whose feeds table spans many pages: `feeds` feeds with long URLs.
async fn filled_store(db: &Path, feeds: usize) {
    let store = pantau::store::Store::open(db).await.unwrap();
    let refs = (0..feeds)
        .map(|i| pantau::model::FeedRef {
            name: format!("feed-{i}"),
            url: format!("https://news.example.id/{}/{i}", "x".repeat(100)),
        })
        .collect();
    store.sync_feeds(refs).await.unwrap();
}

#[test]
fn a_damaged_database_is_refused_at_start_with_the_file_named_and_what_to_do() {
    let dir = TempDir::new("damaged");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    let cfg = dir.config(&config(&feeds, &rx, "", ""));
    let db = dir.path().join("pantau.db");
    tokio::runtime::Runtime::new().unwrap().block_on(filled_store(&db, 2000));
    damage(&db);

    let out = run(&cfg, &["once"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let named = format!("database {} is damaged", db.display());
    for needle in [named.as_str(), "restore it from a backup", "move it aside"] {
        assert!(err.contains(needle), "{needle:?} not in {}", show(&out));
    }
    assert!(rx.posts().is_empty(), "nothing polled or sent from a damaged database");

    // `run` refuses the same way instead of logging "malformed" on every poll.
    let log = dir.path().join("log");
    let mut child = spawn_run(&cfg, &log, &[]);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("run kept going on a damaged database:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(1));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("is damaged") && text.contains("restore it from a backup"), "{text}");

    // Moved aside as the message says, pantau starts afresh.
    std::fs::rename(&db, dir.path().join("pantau.db.damaged")).unwrap();
    let out = run(&cfg, &["once"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[tokio::test]
async fn a_database_found_damaged_at_run_time_is_a_persistent_health_problem() {
    let dir = TempDir::new("damaged-later");
    let db = dir.path().join("pantau.db");
    filled_store(&db, 2000).await;
    damage(&db);
    // Opening reads only the header and the schema: the damage shows at the first query that
    // reads the damaged pages.
    let store = pantau::store::Store::open(&db).await.unwrap();
    assert_eq!(store.damage(), None);
    let ctx = pantau::service::http::Context {
        store: store.clone(),
        metrics: std::sync::Arc::default(),
        max_outbox_age: Duration::from_secs(3600),
    };
    let e = store.feed_statuses().await.expect_err("the damaged pages are read");
    assert!(e.is_damaged(), "{e}");
    let damage = store.damage().expect("the damage is remembered");
    assert!(damage.contains(&db.display().to_string()) && damage.contains("restore it from a backup"), "{damage}");
    // /healthz says so, with 503, and keeps saying so even when other queries work.
    for _ in 0..2 {
        let (ok, body) = pantau::service::http::health(&ctx).await;
        assert!(!ok, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "unhealthy", "{v}");
        assert!(v["problems"].as_array().unwrap().iter().any(|p| p.as_str().unwrap().contains("is damaged")), "{v}");
        let _ = store.outbox_counts().await;
    }
    // The check at start finds it too.
    let fresh = pantau::store::Store::open(&db).await.unwrap();
    assert!(fresh.check(Duration::from_secs(10)).await.expect_err("quick_check finds the damage").is_damaged());
}

// ---------------------------------------------------------------------------------------------
// Point 3: a sink's Retry-After is capped.

#[test]
fn a_sink_asking_to_wait_until_2153_is_tried_again_within_the_hour() {
    let dir = TempDir::new("retry-after");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    rx.set_default(Response::status(429).header("Retry-After", "4000000000"));
    let cfg = dir.config(&config(&feeds, &rx, "", ""));
    let out = run(&cfg, &["once"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(rx.posts().len(), 1, "{}", show(&out));

    let rows = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = pantau::store::Store::open(&dir.path().join("pantau.db")).await.unwrap();
        store.recent_alerts(false, 10).await.unwrap()
    });
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, "pending");
    let next = rows[0].next_attempt_at.expect("a pending alert has a next attempt");
    let wait = next - chrono::Utc::now();
    assert!(
        wait <= chrono::Duration::seconds(3600 + 5) && wait >= chrono::Duration::minutes(55),
        "next attempt at {next}, in {wait}"
    );
}

// ---------------------------------------------------------------------------------------------
// Point 13: one daemon per database, whatever its name.

#[test]
fn a_database_in_use_is_refused_through_a_symlink_and_a_hard_link() {
    let dir = TempDir::new("links");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    let db = dir.path().join("pantau.db");
    std::fs::write(&db, b"").unwrap();
    // Another pantau (this test, through the library) holds the database.
    let held = pantau::store::lock_instance(&db).unwrap();
    std::os::unix::fs::symlink(&db, dir.path().join("link.db")).unwrap();
    std::fs::hard_link(&db, dir.path().join("hard.db")).unwrap();
    for name in ["link.db", "hard.db"] {
        let cfg = dir.config(&config(&feeds, &rx, &format!("database = \"{name}\""), ""));
        let out = run(&cfg, &["once"]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", show(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another pantau process"), "{}", show(&out));
    }
    assert!(rx.posts().is_empty());
    drop(held);
    let out = run(&dir.config(&config(&feeds, &rx, "database = \"link.db\"", "")), &["once"]);
    assert_eq!(out.status.code(), Some(0), "free again: {}", show(&out));
}

#[test]
fn two_first_opens_of_a_fresh_database_at_once_both_succeed() {
    for round in 0..20 {
        let dir = TempDir::new(&format!("fresh-{round}"));
        let db = dir.path().join("pantau.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let opens: Vec<_> = (0..2)
            .map(|_| {
                let (db, barrier) = (db.clone(), std::sync::Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    barrier.wait();
                    rt.block_on(async {
                        let store = pantau::store::Store::open(&db).await?;
                        store.outbox_counts().await
                    })
                })
            })
            .collect();
        for open in opens {
            let r = open.join().unwrap();
            assert!(r.is_ok(), "round {round}: {:?}", r.err().map(|e| e.to_string()));
        }
    }
}

#[test]
fn two_daemons_started_at_once_on_a_fresh_file_never_fail_on_a_migration() {
    // One by its name, one through a symlink: the same fresh file, two names.
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    for round in 0..3 {
        let dir = TempDir::new(&format!("twins-{round}"));
        std::os::unix::fs::symlink(dir.path().join("pantau.db"), dir.path().join("link.db")).unwrap();
        let by_name: PathBuf = dir.config(&config(&feeds, &rx, "", ""));
        let by_link = dir.path().join("link.toml");
        std::fs::write(&by_link, config(&feeds, &rx, "database = \"link.db\"", "")).unwrap();
        let children: Vec<_> = [&by_name, &by_link]
            .iter()
            .map(|cfg| {
                pantau().arg("-c").arg(cfg).arg("once").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
            })
            .collect();
        let outs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
        for out in &outs {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!err.contains("already exists"), "round {round}: {}", show(out));
            let refused = err.contains("in use by another pantau process");
            assert!(out.status.success() || refused, "round {round}: {}", show(out));
        }
        assert!(outs.iter().any(|o| o.status.success()), "one of them ran");
    }
}

#[test]
fn the_instance_lock_is_a_flock_that_sqlite_connections_of_the_same_process_do_not_release() {
    // SQLite locks with fcntl; closing any descriptor of the file drops a process's fcntl locks.
    // The instance lock is a flock, which survives that, and does not get in SQLite's way.
    let dir = TempDir::new("flock");
    let db = dir.path().join("pantau.db");
    let held = pantau::store::lock_instance(&db).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for _ in 0..3 {
        rt.block_on(async {
            let store = pantau::store::Store::open(&db).await.unwrap();
            store.outbox_counts().await.unwrap();
        });
    }
    let second = std::fs::File::open(&db).unwrap();
    drop(second);
    assert!(matches!(pantau::store::lock_instance(&db), Err(pantau::store::StoreError::Locked { .. })));
    // `flock -n` (util-linux) from another process agrees, when it is installed.
    if let Ok(out) = std::process::Command::new("flock").arg("-n").arg(&db).arg("true").output() {
        assert!(!out.status.success(), "flock -n got the lock pantau holds");
    }
    drop(held);
    assert!(pantau::store::lock_instance(&db).is_ok());
}
