//! pantau on a bad day: a sink that asks to be left alone for a century, a database reached by
//! a second name, and two daemons started at once on a fresh file.

use std::path::PathBuf;
use std::process::Stdio;

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
