//! pantau on a bad day: a database locked by another writer, a damaged database file, a sink
//! that asks to be left alone for a century, a database reached by a second name, and two
//! daemons started at once on a fresh file.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{
    get, listen_port, pantau, rss_item, run, sample_feed, sample_with, show, ConfigBuilder, Daemon, FeedServer,
    Receiver, Response, TempDir, KORUT,
};

/// A config with one feed polled every second and the rule "Korea Utara" AND senjata to the
/// sink "hook"; tests add their own lines.
fn config(feeds: &FeedServer, hook: &Receiver) -> ConfigBuilder {
    ConfigBuilder::new()
        .daemon("shutdown_grace = \"3s\"")
        .feed("world", &feeds.url("/world.rss"), "interval = \"1s\"")
        .rule("korut-senjata", KORUT, "sinks = [\"hook\"]")
        .webhook("hook", &hook.url(), "")
}

/// Distinct alert ids among the requests a receiver answered with 2xx.
fn delivered_ids(rx: &Receiver, accepted_from: usize) -> Vec<String> {
    let mut ids: Vec<String> =
        rx.posts().iter().skip(accepted_from).map(|p| p.json()["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids.dedup();
    ids
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "not within {timeout:?}: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn healthz(port: u16) -> (u16, serde_json::Value) {
    let (status, body) = get(port, "/healthz");
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")))
}

// ---------------------------------------------------------------------------------------------
// Point 1: a database error never stops a task for good.

#[test]
fn a_database_locked_for_fifteen_seconds_delays_alerts_but_every_one_is_delivered_afterwards() {
    let dir = TempDir::new("locked");
    let (feeds, rx, ops) = (FeedServer::start(), Receiver::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    // The first attempts fail, so that the alert is pending and retried while the lock is held.
    rx.set_default(Response::status(503));
    let config = config(&feeds, &rx).listen().daemon("health_sinks = [\"ops\"]\nfeed_alert_after = \"5s\"").webhook(
        "ops",
        &ops.url(),
        "",
    );
    let cfg = dir.config(&config.build());
    let log = dir.path().join("log");
    let child = Daemon::run_logged(&cfg, &log, &[]);
    let port = child.port();
    rx.server.wait_for(1, Duration::from_secs(30));

    // Another writer takes the database for 15 s (three times the busy timeout).
    let db = dir.path().join("pantau.db");
    let mut holder = rusqlite::Connection::open(&db).unwrap();
    holder.busy_timeout(Duration::from_secs(20)).unwrap();
    let lock = holder.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive).unwrap();
    let locked_at = Instant::now();
    let accepted_from = rx.posts().len();
    rx.set_default(Response::status(200));
    let news: Vec<String> =
        (1..=3).map(|i| rss_item(&format!("n{i}"), &format!("Korea Utara uji senjata ke-{i}"), "rudal")).collect();
    feeds.set("/world.rss", sample_with(&news));

    // Meanwhile /healthz answers, and names the tasks stuck on the database.
    let mut seen: Vec<String> = Vec::new();
    while locked_at.elapsed() < Duration::from_secs(15) {
        let (status, v) = healthz(port);
        let problems: Vec<String> =
            v["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
        if !problems.is_empty() {
            assert_eq!(status, 200, "stuck for less than 2 minutes is degraded, not down: {v}");
            assert_eq!(v["status"], "degraded", "{v}");
        }
        seen.extend(problems);
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(seen.iter().any(|p| p.contains(": stuck for") && p.contains("database is locked")), "{seen:?}");
    lock.rollback().unwrap();
    drop(holder);

    // Without a restart: the alert sent during the lock is recorded, the new items are polled
    // and matched, and every alert goes out.
    wait_until("four alerts delivered after the lock", Duration::from_secs(120), || {
        delivered_ids(&rx, accepted_from).len() >= 4
    });
    wait_until("/healthz ok again", Duration::from_secs(90), || {
        let (status, v) = healthz(port);
        status == 200 && v["status"] == "ok" && v["problems"].as_array().unwrap().is_empty()
    });
    let (_, metrics) = get(port, "/metrics");
    assert!(metrics.contains("pantau_store_errors_total{task="), "{metrics}");
    // The operator hears about it from the health sink once the database takes the alert.
    let titles = || -> Vec<String> {
        let posts = ops.posts();
        assert!(posts.iter().all(|p| p.json()["rule"] == "pantau:database"), "only operator alerts go to ops");
        posts.iter().map(|p| p.json()["item"]["title"].as_str().unwrap().to_string()).collect()
    };
    let start = Instant::now();
    // Which task meets the lock first (the poll, or the sink's worker recording a send) is a
    // race; whichever it was, the operator hears that it works again.
    while !titles().iter().any(|t| t.starts_with("pantau: ") && t.contains(" works again after being stuck")) {
        assert!(start.elapsed() < Duration::from_secs(90), "no \"works again\" in {:?}\n{}", titles(), child.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(child.sigterm_and_wait(), 0);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains("delivery worker stopped"), "{log}");
    assert!(log.contains("database works again"), "{log}");
}

/// Set the soft limit on the size of files that process `pid` writes (`RLIMIT_FSIZE`), with
/// util-linux `prlimit`; false when that is not possible here.
fn limit_file_size(pid: u32, bytes: Option<u64>) -> bool {
    let limit = bytes.map_or_else(|| "unlimited:".to_string(), |b| format!("{b}:"));
    std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={limit}")])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_disk_that_takes_no_more_writes_for_a_while_delays_alerts_but_every_one_is_delivered_afterwards() {
    // A full disk without root: the daemon's file-size limit is lowered to the size its files
    // have, so every write that would grow one fails (EFBIG, as ENOSPC would), then raised again.
    if !cfg!(target_os = "linux") || std::process::Command::new("prlimit").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "prlimit (util-linux) is missing in CI");
        eprintln!("SKIPPED: needs Linux and prlimit (util-linux)");
        return;
    }
    let dir = TempDir::new("disk-full");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    rx.set_default(Response::status(503));
    let cfg = dir.config(&config(&feeds, &rx).listen().build());
    // Logs go to a pipe (the limit is on files); SIGXFSZ is ignored, so a write past the limit
    // fails instead of killing the process.
    let mut child = Daemon::spawn(
        std::process::Command::new("sh")
            .arg("-c")
            .arg("trap '' XFSZ; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_pantau"))
            .arg("-c")
            .arg(&cfg)
            .arg("run")
            .env_remove("PANTAU_CONFIG")
            .env("RUST_LOG", "pantau=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    {
        let (log, stderr) = (std::sync::Arc::clone(&log), child.take_stderr());
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                log.lock().unwrap().push_str(&(line + "\n"));
            }
        });
    }
    let mut port = None;
    wait_until("the endpoint's address in the log", Duration::from_secs(30), || {
        port = listen_port(&log.lock().unwrap());
        port.is_some()
    });
    let port = port.unwrap();
    rx.server.wait_for(1, Duration::from_secs(30));

    let files = ["pantau.db", "pantau.db-wal"].map(|f| dir.path().join(f));
    let full = files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).max().unwrap();
    assert!(limit_file_size(child.id(), Some(full)), "prlimit failed");
    let full_at = Instant::now();
    let accepted_from = rx.posts().len();
    rx.set_default(Response::status(200));
    let news: Vec<String> =
        (1..=3).map(|i| rss_item(&format!("d{i}"), &format!("Korea Utara uji senjata ke-{i}"), "rudal")).collect();
    feeds.set("/world.rss", sample_with(&news));
    let mut seen = None;
    while full_at.elapsed() < Duration::from_secs(12) {
        let (status, v) = healthz(port);
        if seen.is_none() && !v["problems"].as_array().unwrap().is_empty() {
            assert_eq!(status, 200, "{v}");
            seen = Some(v);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let seen = seen.unwrap_or_else(|| panic!("/healthz listed no problem:\n{}", log.lock().unwrap()));
    assert!(seen.to_string().contains("stuck for"), "{seen}");
    assert!(limit_file_size(child.id(), None), "prlimit failed");

    let start = Instant::now();
    while delivered_ids(&rx, accepted_from).len() < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not every alert delivered after the disk had room again:\n{}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_until("/healthz ok again", Duration::from_secs(90), || {
        let (status, v) = healthz(port);
        status == 200 && v["status"] == "ok"
    });
    assert_eq!(child.sigterm_and_wait(), 0);
    let log = log.lock().unwrap();
    assert!(log.contains("database works again"), "{log}");
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
    let cfg = dir.config(&config(&feeds, &rx).build());
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
    let mut child = Daemon::run_logged(&cfg, &log, &[]);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "run kept going on a damaged database:\n{}", child.log());
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
    let cfg = dir.config(&config(&feeds, &rx).build());
    let out = run(&cfg, &["once"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(rx.posts().len(), 1, "{}", show(&out));

    let rows = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = pantau::store::Store::open(&dir.path().join("pantau.db")).await.unwrap();
        store.recent_alerts(false, 10).await.unwrap()
    });
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, pantau::model::AlertState::Pending);
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
        let cfg = dir.config(&config(&feeds, &rx).daemon(&format!("database = \"{name}\"")).build());
        let out = run(&cfg, &["once"]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", show(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another pantau process"), "{}", show(&out));
    }
    assert!(rx.posts().is_empty());
    drop(held);
    let out = run(&dir.config(&config(&feeds, &rx).daemon("database = \"link.db\"").build()), &["once"]);
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
        let by_name: PathBuf = dir.config(&config(&feeds, &rx).build());
        let by_link = dir.path().join("link.toml");
        std::fs::write(&by_link, config(&feeds, &rx).daemon("database = \"link.db\"").build()).unwrap();
        let children: Vec<_> = [&by_name, &by_link]
            .iter()
            .map(|cfg| {
                Daemon::spawn(pantau().arg("-c").arg(cfg).arg("once").stdout(Stdio::null()).stderr(Stdio::piped()))
            })
            .collect();
        let outs: Vec<_> = children.into_iter().map(|c| c.wait_with_output()).collect();
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
