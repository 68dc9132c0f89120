//! End to end: config → poll → SQLite → rule → alert → webhook, across cycles and restarts.

use std::time::Duration;

use crate::util::{
    rss_item, run, sample_feed, sample_with, show, ConfigBuilder, Daemon, FeedServer, Receiver, Response, TempDir,
    KORUT,
};

/// The config most tests use: a database under `state/`, the sample feed "world", the rule
/// "korut-senjata" (Indonesian) and the webhook sink "hook".
fn config(feeds: &FeedServer, receiver: &Receiver) -> ConfigBuilder {
    config_with(feeds, receiver, "", "")
}

/// [`config`] with lines added to the feed's table and to the sink's.
fn config_with(feeds: &FeedServer, receiver: &Receiver, feed_extra: &str, sink_extra: &str) -> ConfigBuilder {
    ConfigBuilder::new()
        .state_dir()
        .feed("world", &feeds.url("/world.rss"), &format!("tags = [\"id\"]\n{feed_extra}"))
        .rule("korut-senjata", KORUT, "lang = \"id\"\nsinks = [\"hook\"]")
        .webhook("hook", &receiver.url(), sink_extra)
}

fn setup(name: &str) -> (TempDir, FeedServer, Receiver) {
    let dir = TempDir::new(name);
    let feeds = FeedServer::start();
    feeds.set("/world.rss", sample_feed());
    (dir, feeds, Receiver::start())
}

#[test]
fn once_alerts_exactly_the_matching_item_with_the_contract_payload() {
    let (dir, feeds, rx) = setup("payload");
    let cfg = dir.config(&config(&feeds, &rx).build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));

    let posts = rx.posts();
    assert_eq!(posts.len(), 1, "exactly one alert: {}", show(&out));
    let post = &posts[0];
    assert_eq!(post.header("content-type"), Some("application/json"));
    let body = post.json();
    assert_eq!(post.header("idempotency-key"), body["id"].as_str(), "Idempotency-Key is the alert id");
    assert_eq!(body["rule"], "korut-senjata");
    assert_eq!(body["feed"]["name"], "world");
    assert_eq!(body["feed"]["url"], feeds.url("/world.rss"));
    let item = &body["item"];
    assert_eq!(item["id"], "https://news.example.id/world/intelijen-as-rusia-beli-roket-dari-korut");
    assert_eq!(item["title"], "Intelijen AS: Rusia Beli Roket dari Korut untuk Perangi Ukraina");
    assert_eq!(item["link"], "https://news.example.id/world/intelijen-as-rusia-beli-roket-dari-korut");
    assert_eq!(item["published"], "2022-09-06T07:05:00Z");
    assert_eq!(item["summary"], "Rusia gak bebas berbelanja senjata karena sanksi Barat");
    assert_eq!(item["authors"], serde_json::json!(["Syahreza Zanskie"]));
    assert_eq!(body["matched"], serde_json::json!(["korea utara", "senjata"]));
    let created = body["created_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(created).is_ok(), "created_at is RFC 3339: {created}");
    assert!(post.header("user-agent").unwrap_or("").starts_with("pantau/"));

    // The feed was fetched with pantau's User-Agent.
    let get = &feeds.server.requests_to("GET", "/world.rss")[0];
    assert!(get.header("user-agent").unwrap().starts_with("pantau/"), "{get:?}");
}

#[test]
fn repeated_cycles_and_restarts_alert_once_and_new_items_alert() {
    let (dir, feeds, rx) = setup("cycles");
    let cfg = dir.config(&config(&feeds, &rx).build());
    for _ in 0..3 {
        let out = run(&cfg, &["once"]);
        assert!(out.status.success(), "{}", show(&out));
    }
    assert_eq!(rx.posts().len(), 1, "repeated cycles must not alert again");
    // The second cycle used a conditional GET and was answered 304.
    let gets = feeds.server.requests_to("GET", "/world.rss");
    assert!(gets[1].header("if-none-match").is_some(), "{:?}", gets[1]);

    // A new matching item and a new non-matching item are added to the feed.
    feeds.set(
        "/world.rss",
        sample_with(&[
            rss_item("baru-1", "Korea Utara uji senjata baru", "Pyongyang menembakkan rudal balistik"),
            rss_item("baru-2", "Harga beras naik", "Tidak ada hubungannya dengan Korea"),
        ]),
    );
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let posts = rx.posts();
    assert_eq!(posts.len(), 2, "{}", show(&out));
    assert_eq!(posts[1].json()["item"]["id"], "baru-1");
    assert_ne!(posts[0].header("idempotency-key"), posts[1].header("idempotency-key"));

    let out = run(&cfg, &["once"]);
    assert!(out.status.success());
    assert_eq!(rx.posts().len(), 2);
}

#[test]
fn a_failing_receiver_gets_the_alert_once_with_the_same_idempotency_key() {
    let (dir, feeds, rx) = setup("retry");
    rx.script([Response::status(500), Response::body(503, "busy")]);
    let cfg = dir.config(&config(&feeds, &rx).build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let posts = rx.posts();
    assert_eq!(posts.len(), 3, "500, 503, then 200: {}", show(&out));
    let key = posts[0].header("idempotency-key").unwrap().to_string();
    assert!(posts.iter().all(|p| p.header("idempotency-key") == Some(key.as_str())));
    assert!(posts.iter().all(|p| p.body == posts[0].body), "every attempt sends the same payload");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("will retry"), "{stderr}");

    let out = run(&cfg, &["once"]);
    assert!(out.status.success());
    assert_eq!(rx.posts().len(), 3, "a delivered alert is not sent again");
}

#[test]
fn a_rejected_alert_is_dead_and_not_retried() {
    let (dir, feeds, rx) = setup("dead");
    rx.script([Response::body(400, "bad payload")]);
    let cfg = dir.config(&config(&feeds, &rx).build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("marked dead"), "{stderr}");
    let out = run(&cfg, &["once"]);
    assert!(out.status.success());
    assert_eq!(rx.posts().len(), 1);
}

#[test]
fn a_short_retry_after_hint_is_waited_for_within_once() {
    let (dir, feeds, rx) = setup("later");
    rx.script([Response::status(429).header("Retry-After", "2")]);
    let cfg = dir.config(&config(&feeds, &rx).build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    // The 2 s hint is within the horizon, so the same run retried and delivered.
    let posts = rx.posts();
    assert_eq!(posts.len(), 2, "{}", show(&out));
    assert_eq!(posts[0].header("idempotency-key"), posts[1].header("idempotency-key"));
}

#[test]
fn a_crash_during_delivery_is_resumed_after_restart_with_the_same_key() {
    let (dir, feeds, rx) = setup("crash");
    // The receiver hangs on the first delivery; pantau is killed while it waits.
    rx.script([Response::status(200).delayed(Duration::from_secs(20))]);
    let cfg = dir.config(&config(&feeds, &rx).build());
    let mut child = Daemon::run(&cfg);
    rx.server.wait_for(1, Duration::from_secs(30));
    child.kill();

    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let posts = rx.posts();
    assert_eq!(posts.len(), 2, "the unacknowledged alert is sent again: {}", show(&out));
    assert_eq!(posts[0].header("idempotency-key"), posts[1].header("idempotency-key"));
    assert_eq!(posts[0].body, posts[1].body);
}

#[test]
fn the_daemon_polls_delivers_and_stops_cleanly_on_sigterm() {
    let (dir, feeds, rx) = setup("daemon");
    let cfg = dir.config(&config(&feeds, &rx).daemon("shutdown_grace = \"5s\"").build());
    let child = Daemon::spawn(
        crate::util::pantau()
            .arg("-c")
            .arg(&cfg)
            .arg("run")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    );
    rx.server.wait_for(1, Duration::from_secs(30));
    child.sigterm();
    let out = child.wait_with_output();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    assert!(stderr.contains("pantau stopped"), "{stderr}");
    assert_eq!(rx.posts().len(), 1);
}

#[test]
fn a_second_instance_on_the_same_database_is_refused() {
    let (dir, feeds, rx) = setup("lock");
    let cfg = dir.config(&config(&feeds, &rx).build());
    let mut child = Daemon::run(&cfg);
    rx.server.wait_for(1, Duration::from_secs(30));
    let out = run(&cfg, &["once"]);
    child.kill();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another pantau process"), "{}", show(&out));
    assert_eq!(rx.posts().len(), 1);
}

#[test]
fn broken_feeds_are_reported_and_do_not_stop_the_others() {
    let (dir, feeds, rx) = setup("broken");
    feeds.set("/garbage.rss", "this is not a feed <<<");
    feeds.set_response("/down.rss", Response::status(500));
    let mut cfg = config(&feeds, &rx);
    for (name, path) in [("garbage", "/garbage.rss"), ("down", "/down.rss"), ("missing", "/missing.rss")] {
        cfg = cfg.feed(name, &feeds.url(path), "");
    }
    let cfg = dir.config(&cfg.feed("refused", "http://127.0.0.1:9/feed", "").build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in ["garbage", "down", "missing", "refused"] {
        assert!(stderr.contains(&format!("feed={name}")) && stderr.contains("poll failed"), "{name}: {stderr}");
    }
    assert!(stderr.contains("HTTP 500") && stderr.contains("HTTP 404"), "{stderr}");
    assert_eq!(rx.posts().len(), 1, "the good feed still alerts");
}

#[test]
fn first_poll_silent_stores_without_alerting_then_alerts_on_new_items() {
    let (dir, feeds, rx) = setup("silent");
    let cfg = dir.config(&config(&feeds, &rx).daemon("first_poll = \"silent\"").build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(rx.posts().len(), 0);
    feeds.set("/world.rss", sample_with(&[rss_item("baru", "Senjata Korea Utara", "Uji coba")]));
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let posts = rx.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].json()["item"]["id"], "baru");
}

#[test]
fn max_age_keeps_old_items_from_alerting() {
    let (dir, feeds, rx) = setup("maxage");
    let cfg = dir.config(&config(&feeds, &rx).daemon("max_age = \"7d\"").build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(rx.posts().len(), 0, "the sample's items are from 2022");
}

#[test]
fn by_default_a_month_old_item_in_a_new_feed_never_alerts_and_off_lets_it() {
    let (dir, feeds, rx) = setup("maxage-default");
    let date = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc2822();
    let item = |guid: &str, days: i64| {
        format!(
            "<item><title>Korea Utara uji senjata {guid}</title><link>https://news.example.id/{guid}</link>\
             <guid>{guid}</guid><pubDate>{}</pubDate><description>x</description></item>",
            date(days)
        )
    };
    feeds.set(
        "/world.rss",
        format!(
            "<rss version=\"2.0\"><channel><title>t</title>{}{}</channel></rss>",
            item("baru", 1),
            item("arsip", 30)
        ),
    );
    // No max_age anywhere: the default of a week applies.
    let cfg = dir.config_as_is(&config(&feeds, &rx).build());
    assert!(run(&cfg, &["once"]).status.success());
    let titles: Vec<String> =
        rx.posts().iter().map(|p| p.json()["item"]["title"].as_str().unwrap().to_string()).collect();
    assert_eq!(titles, ["Korea Utara uji senjata baru"]);
    // "off" for the feed lets the archive alert (a feed-level override of the default).
    let dir2 = TempDir::new("maxage-off");
    let cfg = config_with(&feeds, &rx, "max_age = \"off\"", "").build();
    let cfg = dir2.config_as_is(&cfg);
    assert!(run(&cfg, &["once"]).status.success());
    assert_eq!(rx.posts().len(), 3, "both items of the second database alert");
}

#[test]
fn a_webhook_secret_signs_requests_the_standard_webhooks_way() {
    let (dir, feeds, rx) = setup("signed");
    let cfg = dir.config(&config_with(&feeds, &rx, "", "secret = \"${HOOK_SECRET}\"").build());
    let out = crate::util::pantau()
        .arg("-c")
        .arg(&cfg)
        .arg("once")
        .env("HOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let post = &rx.posts()[0];
    assert_eq!(post.header("webhook-id"), post.header("idempotency-key"));
    let ts: i64 = post.header("webhook-timestamp").unwrap().parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 120);
    let sig = post.header("webhook-signature").unwrap();
    assert!(sig.starts_with("v1,") && sig.len() == 3 + 44, "{sig}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("MfKQ9r8G"), "secrets are never logged");
}

#[test]
fn console_sink_prints_alerts_on_stdout() {
    let dir = TempDir::new("console");
    let feeds = FeedServer::start();
    feeds.set("/world.rss", sample_feed());
    let cfg = dir.config(
        &ConfigBuilder::new()
            .feed("world", &feeds.url("/world.rss"), "")
            .rule("korut-senjata", KORUT, "")
            .sink("terminal", "console", "")
            .build(),
    );
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("[korut-senjata] Intelijen AS: Rusia Beli Roket dari Korut untuk Perangi Ukraina\n"),
        "{stdout}"
    );
    assert!(stdout.contains("matched: korea utara, senjata"), "{stdout}");
    assert_eq!(stdout.matches("[korut-senjata]").count(), 1);
    // The database defaults to pantau.db beside the config file.
    assert!(dir.path().join("pantau.db").exists());
}

#[test]
fn dead_alerts_are_listed_and_redeliver_revives_them() {
    let (dir, feeds, rx) = setup("redeliver");
    rx.script([Response::body(400, "no such channel")]);
    let cfg = dir.config(&config(&feeds, &rx).build());
    assert!(run(&cfg, &["once"]).status.success());
    assert_eq!(rx.posts().len(), 1);

    let out = run(&cfg, &["alerts", "--failed"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    let id = rx.posts()[0].header("idempotency-key").unwrap().to_string();
    assert!(
        listing.contains(&id) && listing.contains("dead") && listing.contains("HTTP 400 no such channel"),
        "{listing}"
    );

    let out = run(&cfg, &["redeliver", "--failed"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 dead alert(s) queued"), "{}", show(&out));
    assert!(run(&cfg, &["once"]).status.success());
    let posts = rx.posts();
    assert_eq!(posts.len(), 2, "revived alert is sent again");
    assert_eq!(posts[1].header("idempotency-key"), Some(id.as_str()));

    let out = run(&cfg, &["alerts"]);
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(listing.contains("delivered") && !listing.contains("dead"), "{listing}");
    let out = run(&cfg, &["alerts", "--failed"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no failed alerts"), "{}", show(&out));

    // A named id works too; an unknown one is an error.
    let out = run(&cfg, &["redeliver", &id, "0000"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains(&format!("{id}: was delivered; queued")) && text.contains("0000: no such alert"), "{text}");
}

#[test]
fn feeds_shows_health_of_good_and_failing_feeds() {
    let (dir, feeds, rx) = setup("feeds");
    feeds.set_response("/down.rss", Response::status(503).header("Retry-After", "120"));
    let cfg = dir.config(&config(&feeds, &rx).feed("down", &feeds.url("/down.rss"), "").build());
    let out = run(&cfg, &["feeds"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let before = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(before.contains("world") && before.contains("never") && before.contains("new"), "{before}");

    assert!(run(&cfg, &["once"]).status.success());
    assert!(run(&cfg, &["once"]).status.success());
    let out = run(&cfg, &["feeds"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let world = table.lines().find(|l| l.starts_with("world ")).unwrap();
    assert!(
        world.contains(" ok ") && world.contains(" 304 ") && world.split_whitespace().rev().nth(1) == Some("3"),
        "{table}"
    );
    let down = table.lines().find(|l| l.starts_with("down ")).unwrap();
    assert!(down.contains(" failing ") && down.contains(" 503 ") && down.contains(" 2 "), "{table}");
    assert!(table.contains("down: ") && table.contains("HTTP 503"), "the last error is shown: {table}");
}

#[test]
fn a_permanent_redirect_moves_the_feed_and_a_loop_is_an_error() {
    let (dir, feeds, rx) = setup("moved");
    feeds.set_response("/old.rss", Response::status(301).header("Location", "/world.rss"));
    feeds.set_response("/loop-a", Response::status(302).header("Location", "/loop-b"));
    feeds.set_response("/loop-b", Response::status(302).header("Location", "/loop-a"));
    let cfg = config(&feeds, &rx).feed("loop", &feeds.url("/loop-a"), "").build().replace("/world.rss", "/old.rss");
    let cfg = dir.config(&cfg);
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(rx.posts().len(), 1, "the moved feed is read: {}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(stderr.contains("feed moved permanently"), "{stderr}");
    assert!(stderr.contains("redirect loop"), "{stderr}");

    let out = run(&cfg, &["once"]);
    assert!(out.status.success());
    let old_hits = feeds.server.requests_to("GET", "/old.rss").len();
    assert_eq!(old_hits, 1, "after a 301 the new URL is polled directly");
}

fn two_feeds_config(feeds: &FeedServer, rx: &Receiver, feed_extra: &str) -> String {
    ConfigBuilder::new()
        .feed("wire", &feeds.url("/wire.rss"), feed_extra)
        .feed("outlet", &feeds.url("/outlet.rss"), feed_extra)
        .korut_to_hook(&rx.url())
        .build()
}

fn rss(items: &[String]) -> String {
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>https://ex.id/</link>{}</channel></rss>", items.concat())
}

fn rss_item_at(guid: &str, link: &str, title: &str, body: &str) -> String {
    format!(
        "<item><title>{title}</title><link>{link}</link><guid isPermaLink=\"false\">{guid}</guid>\
         <pubDate>Wed, 25 Nov 2026 10:00:00 +0700</pubDate><description>{body}</description></item>"
    )
}

#[test]
fn a_story_syndicated_by_two_feeds_alerts_once() {
    let dir = TempDir::new("crossfeed");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/wire.rss", rss(&[rss_item_at("w-1", "https://ex.id/berita/1", "Korea Utara jual senjata", "x")]));
    feeds.set(
        "/outlet.rss",
        rss(&[rss_item_at(
            "o-77",
            "https://EX.id/berita/1/?utm_source=rss&amp;utm_medium=feed#top",
            "Korea Utara jual senjata",
            "x",
        )]),
    );
    let cfg = dir.config(&two_feeds_config(&feeds, &rx, ""));
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let posts = rx.posts();
    assert_eq!(posts.len(), 1, "one story, one alert: {}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cross_feed_duplicates=1"), "{}", show(&out));
    // The alert names both feeds: its own and, in `also_in`, the other one.
    let body = posts[0].json();
    let mut names = vec![body["feed"]["name"].as_str().unwrap().to_string()];
    names.extend(body["also_in"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()));
    names.sort();
    assert_eq!(names, ["outlet", "wire"], "{body}");
}

#[test]
fn edited_items_update_silently_or_realert_when_asked() {
    for (policy, expected) in [("ignore", 1), ("realert", 2)] {
        let dir = TempDir::new(&format!("edit-{policy}"));
        let (feeds, rx) = (FeedServer::start(), Receiver::start());
        feeds.set("/wire.rss", rss(&[rss_item_at("w-1", "https://ex.id/1", "Korea Utara jual senjata", "versi 1")]));
        feeds.set("/outlet.rss", rss(&[]));
        let cfg = dir.config(&two_feeds_config(&feeds, &rx, &format!("on_update = \"{policy}\"")));
        assert!(run(&cfg, &["once"]).status.success());
        feeds.set(
            "/wire.rss",
            rss(&[rss_item_at("w-1", "https://ex.id/1", "Korea Utara jual senjata (diperbarui)", "versi 2")]),
        );
        let out = run(&cfg, &["once"]);
        assert!(out.status.success(), "{}", show(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("item edited"), "{}", show(&out));
        let posts = rx.posts();
        assert_eq!(posts.len(), expected, "{policy}: {}", show(&out));
        if expected == 2 {
            assert_eq!(posts[1].json()["item"]["title"], "Korea Utara jual senjata (diperbarui)");
            assert_ne!(posts[0].header("idempotency-key"), posts[1].header("idempotency-key"));
        }
        // Polling the edited version again changes nothing.
        assert!(run(&cfg, &["once"]).status.success());
        assert_eq!(rx.posts().len(), expected);
    }
}

#[test]
fn guids_that_change_on_every_poll_do_not_duplicate_alerts() {
    let dir = TempDir::new("guids");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/outlet.rss", rss(&[]));
    for poll in 0..3 {
        feeds.set(
            "/wire.rss",
            rss(&[rss_item_at(
                &format!("session-{poll}"),
                "https://ex.id/1?utm_campaign=x",
                "Korea Utara jual senjata",
                "x",
            )]),
        );
        let cfg = dir.config(&two_feeds_config(&feeds, &rx, ""));
        let out = run(&cfg, &["once"]);
        assert!(out.status.success(), "{}", show(&out));
    }
    assert_eq!(rx.posts().len(), 1);
}

#[test]
fn a_guid_repeated_across_stories_does_not_hide_one() {
    let dir = TempDir::new("repeated");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set(
        "/wire.rss",
        rss(&[
            rss_item_at("same", "https://ex.id/1", "Korea Utara jual senjata", "satu"),
            rss_item_at("same", "https://ex.id/2", "Korea Utara beli senjata", "dua"),
        ]),
    );
    feeds.set("/outlet.rss", rss(&[]));
    let cfg = dir.config(&two_feeds_config(&feeds, &rx, ""));
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let posts = rx.posts();
    assert_eq!(posts.len(), 2, "{}", show(&out));
    let mut links: Vec<String> = posts.iter().map(|p| p.json()["item"]["link"].as_str().unwrap().to_string()).collect();
    links.sort();
    assert_eq!(links, ["https://ex.id/1", "https://ex.id/2"]);
}

#[test]
fn future_dates_are_treated_as_now() {
    let dir = TempDir::new("future");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    let item = rss_item_at("f", "https://ex.id/f", "Korea Utara jual senjata", "x")
        .replace("Wed, 25 Nov 2026", "Fri, 25 Nov 2039");
    feeds.set("/wire.rss", rss(&[item]));
    feeds.set("/outlet.rss", rss(&[]));
    let cfg = dir.config(&two_feeds_config(&feeds, &rx, "max_age = \"1h\""));
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let post = &rx.posts()[0];
    let published = post.json()["item"]["published"].as_str().unwrap().to_string();
    assert!(published.starts_with("2026-"), "clamped to now, not 2039: {published}");
}

#[test]
fn a_broken_but_readable_feed_alerts_and_its_repairs_are_reported() {
    let dir = TempDir::new("repairs");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    // No rss version, a bare ampersand, an unclosed channel: feed-rs alone rejects this.
    let doc = "<rss><channel><title>Rusak & kuat</title>\
        <item><title>Korea Utara uji senjata</title><link>https://ex.id/r</link><guid>r1</guid></item>";
    feeds.set("/wire.rss", doc);
    feeds.set("/outlet.rss", rss(&[]));
    let cfg = dir.config(&two_feeds_config(&feeds, &rx, ""));
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(rx.posts().len(), 1, "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("feed needed repairs"), "{}", show(&out));
    let out = run(&cfg, &["feeds"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(table.contains("wire: read after repairs: "), "{table}");
}

#[test]
fn basic_auth_and_a_proxy_are_used_for_feeds() {
    let dir = TempDir::new("auth");
    let rx = Receiver::start();
    let feed = sample_feed();
    // A server that wants credentials, and an HTTP proxy that serves any absolute URL.
    let private = crate::util::Server::start(move |req| {
        if req.header("authorization") == Some("Basic ZGVzazpzM2NyZXQ=") {
            Response::body(200, feed.clone())
        } else {
            Response::status(401)
        }
    });
    let feed2 = sample_with(&[rss_item("via-proxy", "Korea Utara lewat proxy senjata", "x")]);
    let proxy = crate::util::Server::start(move |req| {
        if req.path.starts_with("http://feeds.invalid/") {
            Response::body(200, feed2.clone())
        } else {
            Response::status(502)
        }
    });
    let cfg = ConfigBuilder::new()
        .feed("private", &private.url("/feed.rss"), "username = \"desk\"\npassword = \"${FEED_PASSWORD}\"")
        .feed("proxied", "http://feeds.invalid/world.rss", &format!("proxy = \"{}\"", proxy.url("")))
        .korut_to_hook(&rx.url())
        .build();
    let cfg = dir.config(&cfg);
    let out = crate::util::pantau().arg("-c").arg(&cfg).arg("once").env("FEED_PASSWORD", "s3cret").output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("poll failed"), "{}", show(&out));
    let ids: Vec<String> = rx.posts().iter().map(|p| p.json()["item"]["id"].as_str().unwrap().to_string()).collect();
    assert!(ids.contains(&"via-proxy".to_string()), "{ids:?}");
    assert_eq!(proxy.requests().len(), 1);
    assert_eq!(private.requests().len(), 1);
}

#[test]
fn max_attempts_moves_an_alert_to_dead() {
    let (dir, feeds, rx) = setup("maxattempts");
    rx.set_default(Response::status(500));
    let cfg = dir.config(&config_with(&feeds, &rx, "", "max_attempts = 2").build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(rx.posts().len(), 2, "{}", show(&out));
    let out = run(&cfg, &["alerts", "--failed"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(table.contains(" dead ") && table.contains("gave up after 2 attempts"), "{table}");
}

#[test]
fn kill_9_during_a_burst_loses_nothing_and_duplicates_at_most_the_ones_in_flight() {
    // One request at a time, and the webhook default of four at once.
    for (concurrency, in_flight) in [("concurrency = 1", 1), ("", 4)] {
        let (dir, feeds, rx) = setup("burst-crash");
        let items: Vec<String> =
            (0..100).map(|i| rss_item(&format!("burst-{i}"), &format!("Korea Utara uji senjata {i}"), "x")).collect();
        feeds.set("/world.rss", sample_with(&items));
        // Slow enough that the burst is still going when the process is killed.
        rx.set_default(Response::status(200).delayed(Duration::from_millis(30)));
        let cfg = dir.config(&config_with(&feeds, &rx, "", concurrency).build());
        let mut child = Daemon::run(&cfg);
        rx.server.wait_for(20, Duration::from_secs(60));
        child.kill(); // SIGKILL: no chance to clean up.
        let before = rx.posts().len();
        assert!(before < 101, "the burst was interrupted ({before} sent)");

        rx.set_default(Response::status(200));
        let out = run(&cfg, &["once"]);
        assert!(out.status.success(), "{}", show(&out));
        let posts = rx.posts();
        let mut keys: Vec<String> = posts.iter().map(|p| p.header("idempotency-key").unwrap().to_string()).collect();
        let total = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 101, "every alert delivered: 100 new items and the sample's article");
        assert!(
            total - keys.len() <= in_flight,
            "only the alerts in flight at the kill ({in_flight}) may be sent twice ({total} requests)"
        );
    }
}

#[test]
fn a_feed_broken_for_too_long_tells_the_operator_once_and_again_when_it_recovers() {
    let (dir, feeds, rx) = setup("health");
    feeds.set_response("/world.rss", Response::status(500));
    let cfg = dir.config(&config(&feeds, &rx).daemon("feed_alert_after = \"1s\"\nhealth_sinks = [\"hook\"]").build());
    assert!(run(&cfg, &["once"]).status.success());
    assert_eq!(rx.posts().len(), 0, "not failing for long enough yet");
    std::thread::sleep(Duration::from_millis(1200));
    for _ in 0..2 {
        let out = run(&cfg, &["once"]);
        assert!(out.status.success(), "{}", show(&out));
    }
    let posts = rx.posts();
    assert_eq!(posts.len(), 1, "one operator alert, not one per failed poll");
    let body = posts[0].json();
    assert_eq!(body["rule"], "pantau:feed-health");
    assert!(body["item"]["title"].as_str().unwrap().starts_with("Feed world has been failing for"), "{body}");
    assert!(body["item"]["summary"].as_str().unwrap().contains("HTTP 500"), "{body}");

    feeds.set("/world.rss", sample_feed());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let titles: Vec<String> =
        rx.posts().iter().map(|p| p.json()["item"]["title"].as_str().unwrap().to_string()).collect();
    assert!(titles.contains(&"Feed world works again".to_string()), "{titles:?}");
    assert!(titles.iter().any(|t| t.starts_with("Intelijen AS")), "the feed's own alert too: {titles:?}");
    let out = run(&cfg, &["alerts"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("pantau:feed-health"), "{}", show(&out));
}

#[test]
fn items_lists_the_stored_items_newest_first() {
    let (dir, feeds, rx) = setup("items");
    let cfg = dir.config(&config(&feeds, &rx).build());
    assert!(run(&cfg, &["once"]).status.success());
    let out = run(&cfg, &["items", "--feed", "world", "--limit", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(text.lines().count(), 3, "header and two rows: {text}");
    assert!(text.lines().next().unwrap().starts_with("FIRST SEEN"), "{text}");
    let out = run(&cfg, &["items", "--feed", "nope"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no items yet"));
}

#[test]
fn a_feed_that_stops_publishing_tells_the_operator_once_and_again_when_it_publishes() {
    let (dir, feeds, rx) = setup("quiet");
    // A rhythm needs four polls that brought new items; the feed then falls silent for longer
    // than quiet_factor × its rhythm and feed_alert_after.
    let cfg = dir.config(
        &config(&feeds, &rx)
            .daemon("feed_alert_after = \"1s\"\nquiet_factor = 2\nhealth_sinks = [\"hook\"]\nfirst_poll = \"silent\"")
            .build(),
    );
    let mut items = Vec::new();
    for i in 0..4 {
        items.push(rss_item(&format!("q{i}"), &format!("Berita biasa {i}"), "tanpa kata kunci"));
        feeds.set("/world.rss", sample_with(&items));
        let out = run(&cfg, &["once"]);
        assert!(out.status.success(), "{}", show(&out));
        std::thread::sleep(Duration::from_millis(150));
    }
    assert_eq!(rx.posts().len(), 0, "publishing steadily is no news");
    std::thread::sleep(Duration::from_millis(1500));
    for _ in 0..2 {
        let out = run(&cfg, &["once"]);
        assert!(out.status.success(), "{}", show(&out));
    }
    let titles = || -> Vec<String> {
        rx.posts().iter().map(|p| p.json()["item"]["title"].as_str().unwrap_or_default().to_string()).collect()
    };
    let quiet = titles();
    assert_eq!(quiet.len(), 1, "one operator alert for the silence, not one per poll: {quiet:?}");
    assert!(quiet[0].starts_with("Feed world has published nothing new for"), "{quiet:?}");
    assert_eq!(rx.posts()[0].json()["rule"], "pantau:feed-health");

    items.push(rss_item("q-back", "Berita baru lagi", "tanpa kata kunci"));
    feeds.set("/world.rss", sample_with(&items));
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let all = titles();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[1], "Feed world publishes again");
}

#[test]
fn sends_that_came_back_are_recorded_while_another_still_hangs() {
    let (dir, feeds, rx) = setup("hanging-one");
    let items: Vec<String> =
        (0..3).map(|i| rss_item(&format!("hang-{i}"), &format!("Korea Utara uji senjata {i}"), "x")).collect();
    feeds.set("/world.rss", sample_with(&items));
    // Four alerts go out at once (webhook concurrency 4): three are answered, the fourth hangs.
    rx.script([Response::status(200), Response::status(200), Response::status(200)]);
    rx.set_default(Response::status(200).delayed(Duration::from_secs(30)));
    let cfg = dir.config(&config(&feeds, &rx).build());
    let mut child = Daemon::run(&cfg);
    rx.server.wait_for(4, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(800));
    child.kill(); // SIGKILL while the fourth is still hanging.

    rx.set_default(Response::status(200));
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let mut keys: Vec<String> = rx.posts().iter().map(|p| p.header("idempotency-key").unwrap().to_string()).collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 4, "every alert delivered");
    assert_eq!(total, 5, "only the hanging one is sent again; the three answered ones were recorded");
}
