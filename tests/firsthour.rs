//! What a newcomer meets in the first hour (issue #17): logs that say what happens next.

use std::time::{Duration, Instant};

use crate::util::{get, ConfigBuilder, Daemon, FeedServer, Response, TempDir};

#[test]
fn a_failed_poll_logs_when_the_next_try_is_in_plain_words() {
    let dir = TempDir::new("next-try");
    let feeds = FeedServer::start();
    feeds.set_response("/down.rss", Response::status(503).header("Retry-After", "120"));
    let cfg = dir.config(&ConfigBuilder::new().feed("down", &feeds.url("/down.rss"), "interval = \"1m\"").build());
    let log = dir.path().join("log");
    let mut child = Daemon::run_logged(&cfg, &log, &[("RUST_LOG", "pantau=info")]);
    let text = child.wait_for_log("next try planned");
    child.kill();
    assert!(text.contains("server_asks_to_wait=2m"), "{text}");
    assert!(text.contains("next_try=") && text.contains("in_=2m"), "{text}");
    assert!(!text.contains("None") && !text.contains("Some("), "no Rust debug forms in the log: {text}");
}

#[test]
fn healthz_lists_a_failing_feed_and_a_refused_reload_as_problems() {
    let dir = TempDir::new("healthz-problems");
    let feeds = FeedServer::start();
    feeds.set("/ok.rss", crate::util::sample_feed());
    feeds.set_response("/down.rss", Response::status(503));
    let original = ConfigBuilder::new()
        .listen()
        .daemon("shutdown_grace = \"3s\"")
        .feed("ok", &feeds.url("/ok.rss"), "")
        .feed("down", &feeds.url("/down.rss"), "");
    let cfg = dir.config(&original.build());
    let log = dir.path().join("log");
    let child = Daemon::run_logged(&cfg, &log, &[]);
    let port = child.port();
    let started = Instant::now();
    let body = loop {
        let (status, body) = get(port, "/healthz");
        if body.contains("feed down failing") || started.elapsed() > Duration::from_secs(30) {
            assert_eq!(status, 200, "a failing feed degrades, it does not down the service: {body}");
            break body;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "degraded", "{v}");
    let problems = v["problems"].to_string();
    assert!(problems.contains("feed down failing (1 in a row, last 503)") && problems.contains("HTTP 503"), "{v}");
    assert!(!problems.contains("feed ok"), "{v}");

    // A refused reload stays a problem until a good config is applied.
    dir.config(&original.clone().rule("bad", "(senjata", "").build());
    child.sighup();
    child.wait_for_log("new config refused");
    let (_, body) = get(port, "/healthz");
    assert!(body.contains("config reload refused") && body.contains("1 error(s)"), "{body}");
    dir.config(&original.build());
    child.sighup();
    child.wait_for_log("config reloaded");
    // The daemon logs "config reloaded" once the refusal is cleared.
    let (_, body) = get(port, "/healthz");
    assert!(!body.contains("config reload refused"), "{body}");
    assert_eq!(child.sigterm_and_wait(), 0);
}
