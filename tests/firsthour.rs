//! What a newcomer meets in the first hour (issue #17): logs that say what happens next.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{pantau, FeedServer, Response, TempDir};

#[test]
fn a_failed_poll_logs_when_the_next_try_is_in_plain_words() {
    let dir = TempDir::new("next-try");
    let feeds = FeedServer::start();
    feeds.set_response("/down.rss", Response::status(503).header("Retry-After", "120"));
    let cfg =
        dir.config(&format!("[[feed]]\nname = \"down\"\nurl = \"{}\"\ninterval = \"1m\"\n", feeds.url("/down.rss")));
    let log = dir.path().join("log");
    let mut child = pantau()
        .arg("-c")
        .arg(&cfg)
        .arg("run")
        .env("RUST_LOG", "pantau=info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("next try planned") || started.elapsed() > Duration::from_secs(20) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("server_asks_to_wait=2m"), "{text}");
    assert!(text.contains("next_try=") && text.contains("in_=2m"), "{text}");
    assert!(!text.contains("None") && !text.contains("Some("), "no Rust debug forms in the log: {text}");
}
