//! pantau on a bad day: a sink that asks to be left alone for a century.

use crate::util::{run, sample_feed, show, FeedServer, Receiver, Response, TempDir};

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
