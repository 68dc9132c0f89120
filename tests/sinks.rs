//! Chat sinks end to end against local receivers: each service's request, its retry signals,
//! digests for bursts, and isolation between sinks.

use std::time::Duration;

use crate::util::{
    rss_item, run, sample_feed, sample_with, show, ConfigBuilder, Daemon, FeedServer, Response, Server, TempDir, KORUT,
};

/// A receiver for every chat service at once: answers 200 (Telegram `{"ok":true}`).
fn chat_server() -> Server {
    Server::start(|req| {
        if req.path.contains("/sendMessage") {
            Response::body(200, r#"{"ok":true,"result":{"message_id":1}}"#)
        } else if req.path.contains("/_matrix/") {
            Response::body(200, r#"{"event_id":"$abc"}"#)
        } else {
            Response::body(200, "ok")
        }
    })
}

/// The sample feed "world" (with `feed_extra` in its table) and the rule "korut-senjata".
fn feed_and_rule(feeds: &FeedServer, feed_extra: &str) -> ConfigBuilder {
    ConfigBuilder::new().feed("world", &feeds.url("/world.rss"), feed_extra).rule("korut-senjata", KORUT, "")
}

#[test]
fn every_chat_service_receives_its_own_request() {
    let dir = TempDir::new("chats");
    let feeds = FeedServer::start();
    feeds.set("/world.rss", sample_feed());
    let srv = chat_server();
    let base = srv.url("");
    let config = feed_and_rule(&feeds, "")
        .sink("slack", "slack", &format!("url = \"{base}/slack/T0/B0/x\""))
        .sink("discord", "discord", &format!("url = \"{base}/discord/api/webhooks/1/abc\""))
        .sink("mattermost", "mattermost", &format!("url = \"{base}/mattermost/hooks/x\""))
        .sink("teams", "teams", &format!("url = \"{base}/teams/workflow\""))
        .sink("googlechat", "googlechat", &format!("url = \"{base}/gchat/v1/spaces/S/messages?key=k&token=t\""))
        .sink("telegram", "telegram", &format!("token = \"123:SECRET\"\nchat_id = -100123\napi_url = \"{base}\""))
        .sink(
            "matrix",
            "matrix",
            &format!("homeserver = \"{base}\"\naccess_token = \"syt_secret\"\nroom = \"!room:localhost\""),
        )
        .sink("ntfy", "ntfy", &format!("url = \"{base}/ntfy\"\ntopic = \"pantau-alerts\"\ntoken = \"tk_secret\""))
        .sink("gotify", "gotify", &format!("url = \"{base}/gotify\"\ntoken = \"gotify-secret\""));
    let cfg = dir.config(&config.build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 9, "one message per sink: {reqs:?}");
    let find = |prefix: &str| {
        reqs.iter().find(|r| r.path.starts_with(prefix)).unwrap_or_else(|| panic!("no request to {prefix}: {reqs:?}"))
    };
    let title = "Intelijen AS: Rusia Beli Roket dari Korut untuk Perangi Ukraina";

    let slack = find("/slack/");
    assert!(slack.json()["text"].as_str().unwrap().contains(title));
    let discord = find("/discord/");
    assert!(discord.path.contains("wait=true"), "{}", discord.path);
    assert_eq!(discord.json()["allowed_mentions"]["parse"], serde_json::json!([]));
    let mattermost = find("/mattermost/");
    assert!(mattermost.json()["text"].as_str().unwrap().contains("korut-senjata"));
    let teams = find("/teams/");
    assert_eq!(teams.json()["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    let gchat = find("/gchat/");
    assert!(gchat.path.contains("requestId="), "{}", gchat.path);
    let telegram = find("/bot123:SECRET/sendMessage");
    let tg = telegram.json();
    assert_eq!(tg["parse_mode"], "HTML");
    assert_eq!(tg["chat_id"].to_string().trim_matches('"'), "-100123");
    let matrix = find("/_matrix/client/v3/rooms/");
    assert_eq!(matrix.method, "PUT");
    assert_eq!(matrix.header("authorization"), Some("Bearer syt_secret"));
    assert_eq!(matrix.json()["msgtype"], "m.notice");
    let txn = matrix.path.rsplit('/').next().unwrap();
    let out = run(&cfg, &["alerts"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(txn), "the Matrix txn id is the alert id: {}", show(&out));
    let ntfy = find("/ntfy");
    assert_eq!(ntfy.json()["topic"], "pantau-alerts");
    assert_eq!(ntfy.header("authorization"), Some("Bearer tk_secret"));
    let gotify = find("/gotify/message");
    assert_eq!(gotify.header("x-gotify-key"), Some("gotify-secret"));

    // Secrets never reach the logs.
    let stderr =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&run(&cfg, &["once"]).stderr);
    for secret in ["SECRET", "syt_secret", "tk_secret", "gotify-secret"] {
        assert!(!stderr.contains(secret), "{secret} leaked: {stderr}");
    }
}

#[test]
fn telegram_ok_false_is_dead_and_a_discord_429_waits_for_its_retry_after() {
    let dir = TempDir::new("signals");
    let feeds = FeedServer::start();
    feeds.set("/world.rss", sample_feed());
    let srv = Server::start(|req| {
        if req.path.contains("/sendMessage") {
            Response::body(200, r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#)
        } else {
            Response::body(429, r#"{"message":"You are being rate limited.","retry_after":40.5,"global":false}"#)
        }
    });
    let base = srv.url("");
    let config = feed_and_rule(&feeds, "")
        .sink("tg", "telegram", &format!("token = \"1:x\"\nchat_id = 5\napi_url = \"{base}\""))
        .sink("dc", "discord", &format!("url = \"{base}/api/webhooks/1/x\""));
    let cfg = dir.config(&config.build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(srv.requests().len(), 2, "no quick retry of either: {}", show(&out));
    let out = run(&cfg, &["alerts"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let tg = table.lines().find(|l| l.contains(" tg ")).unwrap();
    assert!(tg.contains(" dead ") && tg.contains("not accepted"), "{table}");
    let dc = table.lines().find(|l| l.contains(" dc ")).unwrap();
    assert!(dc.contains(" pending ") && dc.contains("retry at"), "{table}");
    // The retry is scheduled at least Discord's 40.5 s after creation.
    let created = chrono::DateTime::parse_from_rfc3339(dc.split_whitespace().nth(1).unwrap()).unwrap();
    let retry_at = dc.split("retry at ").nth(1).unwrap().split(':').take(3).collect::<Vec<_>>().join(":");
    let retry_at = chrono::DateTime::parse_from_rfc3339(retry_at.trim_end_matches(':')).unwrap();
    assert!((retry_at - created).num_seconds() >= 39, "{created} → {retry_at}");
}

#[test]
fn a_burst_of_alerts_becomes_one_digest_and_none_is_lost() {
    let dir = TempDir::new("burst");
    let feeds = FeedServer::start();
    let items: Vec<String> =
        (0..30).map(|i| rss_item(&format!("b{i}"), &format!("Korea Utara uji senjata ke-{i}"), "rudal")).collect();
    feeds.set("/world.rss", sample_with(&items));
    let srv = chat_server();
    let cfg = dir.config(
        &feed_and_rule(&feeds, "").sink("chat", "slack", &format!("url = \"{}\"", srv.url("/slack/x"))).build(),
    );
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1, "31 alerts, one digest message: {}", show(&out));
    let body = String::from_utf8_lossy(&reqs[0].body).to_string();
    assert!(body.contains("31 new alerts") && body.contains("Korea Utara uji senjata ke-0"), "{body}");
    let out = run(&cfg, &["alerts", "--limit", "100"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(table.lines().filter(|l| l.contains(" delivered ")).count(), 31, "{table}");
}

#[test]
fn a_hanging_sink_does_not_delay_a_healthy_one() {
    let dir = TempDir::new("isolation");
    let feeds = FeedServer::start();
    feeds.set("/world.rss", sample_feed());
    let slow = Server::start(|_| Response::status(200).delayed(Duration::from_secs(25)));
    let fast = chat_server();
    let config = feed_and_rule(&feeds, "")
        .daemon("shutdown_grace = \"1s\"")
        .webhook("slow", &slow.url("/hook"), "")
        .sink("fast", "mattermost", &format!("url = \"{}\"", fast.url("/mm")));
    let cfg = dir.config(&config.build());
    let mut child = Daemon::run(&cfg);
    slow.wait_for(1, Duration::from_secs(30));
    // The slow sink is still hanging on its request; the healthy sink has its alert already
    // or gets it well before the slow one could answer.
    fast.wait_for(1, Duration::from_secs(15));
    assert!(slow.requests().len() == 1);
    child.kill();
}

#[test]
fn sink_templates_shape_webhook_bodies_and_chat_messages_with_escaped_values() {
    let dir = TempDir::new("templates");
    let feeds = FeedServer::start();
    feeds.set(
        "/world.rss",
        sample_with(&[rss_item("t1", "Korea Utara &amp;lt;uji&amp;gt; senjata &amp;amp; \"rudal\"", "baru")]),
    );
    let srv = chat_server();
    let base = srv.url("");
    let config = feed_and_rule(&feeds, "")
        .webhook(
            "hook",
            &format!("{base}/hook"),
            r#"secret = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"
template = '''{"msg": "{{ rule }}: {{ item.title }}", "terms": "{{ matched|join(', ') }}"}'''"#,
        )
        .sink(
            "slack",
            "slack",
            &format!(
                "url = \"{base}/slack/x\"\ntemplate = '''*{{{{ item.title }}}}* from {{{{ feed.name|upper }}}}'''"
            ),
        )
        .sink(
            "tg",
            "telegram",
            &format!(
                r#"token = "1:x"
chat_id = 5
api_url = "{base}"
template = '''<b>{{{{ item.title }}}}</b>{{% if item.link %}} <a href="{{{{ item.link }}}}">baca</a>{{% endif %}}'''"#
            ),
        );
    let cfg = dir.config(&config.build());
    let out = run(&cfg, &["check"]);
    assert!(out.status.success(), "{}", show(&out));
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let by_path = |p: &str| srv.requests().into_iter().find(|r| r.path.starts_with(p)).unwrap_or_else(|| panic!("{p}"));

    // Webhook requests may arrive in any order (several are in flight at once).
    let hook = srv
        .requests_to("POST", "/hook")
        .into_iter()
        .find(|r| String::from_utf8_lossy(&r.body).contains("uji"))
        .expect("the templated webhook request for the new item");
    let v = hook.json();
    assert_eq!(v["msg"], "korut-senjata: Korea Utara <uji> senjata & \"rudal\"", "{v}");
    assert_eq!(v["terms"], "korea utara, senjata");
    assert!(hook.header("Idempotency-Key").is_some() && hook.header("webhook-signature").is_some());

    let slack = by_path("/slack/x").json();
    assert_eq!(slack["text"], "*Korea Utara &lt;uji&gt; senjata &amp; \"rudal\"* from WORLD", "{slack}");

    let tg = by_path("/bot1:x/sendMessage").json();
    let text = tg["text"].as_str().unwrap();
    assert!(
        text.starts_with("<b>Korea Utara &lt;uji&gt; senjata &amp; &quot;rudal&quot;</b> <a href=\"https://"),
        "{text}"
    );
    assert_eq!(tg["parse_mode"], "HTML");
}

#[test]
fn a_broken_template_is_a_located_check_error() {
    let dir = TempDir::new("template-check");
    let feeds = FeedServer::start();
    let config = feed_and_rule(&feeds, "")
        .sink("slack", "slack", "url = \"https://hooks.slack.com/x\"\ntemplate = \"{{ item.titel }}\"")
        .webhook("hook", "https://example.org/h", "template = \"{{ item.title }}\"");
    let cfg = dir.config_as_is(&config.build());
    let out = run(&cfg, &["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains(&format!("{}:13:12: template cannot render", cfg.display())), "{text}");
    assert!(text.contains("undefined value item.titel; the payload has item.title, "), "{text}");
    assert!(text.contains("a webhook template must produce JSON"), "{text}");
}

#[test]
fn digest_window_gathers_alerts_from_several_polls_into_one_digest() {
    let dir = TempDir::new("digest-window");
    let feeds = FeedServer::start();
    let item = |i: usize| rss_item(&format!("w{i}"), &format!("Korea Utara uji senjata ke-{i}"), "rudal");
    feeds.set("/world.rss", sample_with(&[item(1), item(2)]));
    let srv = chat_server();
    let config = feed_and_rule(&feeds, "interval = \"1s\"").daemon("shutdown_grace = \"1s\"").sink(
        "chat",
        "slack",
        &format!("url = \"{}\"\nburst = 3\ndigest_window = \"5s\"", srv.url("/slack/x")),
    );
    let cfg = dir.config(&config.build());
    let mut child = Daemon::run(&cfg);
    // After the first poll (3 alerts: the two items and the sample's own), two more arrive.
    feeds.server.wait_for(1, Duration::from_secs(30));
    feeds.set("/world.rss", sample_with(&[item(1), item(2), item(3), item(4)]));
    let posts = srv.wait_for(1, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    child.kill();
    let posts_after = srv.requests();
    assert_eq!(posts_after.len(), 1, "one digest, not five messages: {posts:?}");
    let body = String::from_utf8_lossy(&posts_after[0].body).to_string();
    assert!(body.contains("new alerts") && body.contains("ke-4") && body.contains("ke-1"), "{body}");
}

#[test]
fn an_empty_discord_rate_limit_bucket_holds_the_next_message() {
    let dir = TempDir::new("discord-bucket");
    let feeds = FeedServer::start();
    let items: Vec<String> =
        (0..2).map(|i| rss_item(&format!("d{i}"), &format!("Korea Utara uji senjata ke-{i}"), "rudal")).collect();
    feeds.set("/world.rss", sample_with(&items));
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&arrivals);
    let srv = Server::start(move |_| {
        seen.lock().unwrap().push(std::time::Instant::now());
        Response::status(204)
            .header("X-RateLimit-Limit", "5")
            .header("X-RateLimit-Remaining", "0")
            .header("X-RateLimit-Reset-After", "2.5")
    });
    let config = feed_and_rule(&feeds, "").sink(
        "dc",
        "discord",
        &format!("url = \"{}\"\nrate = \"100/s\"", srv.url("/api/webhooks/1/x")),
    );
    let cfg = dir.config(&config.build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let t = arrivals.lock().unwrap().clone();
    assert_eq!(t.len(), 3, "{}", show(&out));
    for pair in t.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(2400), "the bucket said 2.5 s, the next came after {gap:?}");
    }
}

/// Serve a webhook that takes `hold` to answer and count the most requests it had at once.
fn counting_hook(hold: Duration) -> (Server, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen = Arc::clone(&most);
    let srv = Server::start(move |_| {
        let at = now.fetch_add(1, Ordering::SeqCst) + 1;
        most.fetch_max(at, Ordering::SeqCst);
        std::thread::sleep(hold);
        now.fetch_sub(1, Ordering::SeqCst);
        Response::status(204)
    });
    (srv, seen)
}

#[test]
fn a_webhook_sink_keeps_up_to_concurrency_requests_in_flight_and_loses_none() {
    use std::sync::atomic::Ordering;
    let items: Vec<String> =
        (0..15).map(|i| rss_item(&format!("c{i}"), &format!("Korea Utara uji senjata ke-{i}"), "rudal")).collect();
    for (concurrency, expect_most) in [(None, 4), (Some(1), 1), (Some(6), 6)] {
        let dir = TempDir::new("concurrency");
        let feeds = FeedServer::start();
        feeds.set("/world.rss", sample_with(&items));
        let (hook, most) = counting_hook(Duration::from_millis(400));
        let key = concurrency.map(|c| format!("concurrency = {c}")).unwrap_or_default();
        let cfg = dir.config(&feed_and_rule(&feeds, "").webhook("hook", &hook.url("/hook"), &key).build());
        let out = run(&cfg, &["once"]);
        assert!(out.status.success(), "{}", show(&out));
        // 16 alerts (15 added items and the sample's own), each delivered exactly once.
        let mut ids: Vec<String> =
            hook.requests().iter().map(|r| r.header("Idempotency-Key").unwrap_or_default().to_string()).collect();
        assert_eq!(ids.len(), 16, "{}", show(&out));
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 16, "no alert sent twice");
        let most = most.load(Ordering::SeqCst);
        if expect_most == 1 {
            assert_eq!(most, 1, "one request at a time with concurrency = 1");
        } else {
            // Never more than allowed; with 16 alerts due at once and a slow receiver, more
            // than one at a time (how many exactly depends on connection set-up timing).
            assert!(most <= expect_most && most >= 2, "concurrency {concurrency:?}: {most} at once");
        }
        let out = run(&cfg, &["alerts", "--limit", "100"]);
        let table = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(table.lines().filter(|l| l.contains(" delivered ")).count(), 16, "{table}");
    }
}

#[test]
fn concurrency_of_a_sink_is_checked() {
    let dir = TempDir::new("concurrency-check");
    let feeds = FeedServer::start();
    for (value, message) in [("0", "concurrency must be a positive number"), ("65", "concurrency is at most 64")] {
        let config =
            feed_and_rule(&feeds, "").webhook("hook", "http://127.0.0.1:9/h", &format!("concurrency = {value}"));
        let cfg = dir.config_as_is(&config.build());
        let out = run(&cfg, &["check"]);
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        let shown = show(&out);
        assert!(shown.contains(message) && shown.contains("pantau.toml:13:15:"), "{shown}");
    }
}

#[test]
fn rate_spaces_the_starts_of_a_webhook_sink_with_several_requests_in_flight() {
    use std::sync::atomic::Ordering;
    let dir = TempDir::new("rate-concurrency");
    let feeds = FeedServer::start();
    let items: Vec<String> =
        (0..2).map(|i| rss_item(&format!("r{i}"), &format!("Korea Utara uji senjata ke-{i}"), "rudal")).collect();
    feeds.set("/world.rss", sample_with(&items));
    // One request a second, each answered in 300 ms: the default four in flight must never
    // be more than one at a time.
    let (hook, most) = counting_hook(Duration::from_millis(300));
    let cfg = dir.config(&feed_and_rule(&feeds, "").webhook("hook", &hook.url("/hook"), "rate = \"1/s\"").build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(hook.requests().len(), 3, "{}", show(&out));
    assert_eq!(most.load(Ordering::SeqCst), 1, "rate spaces the starts even below the concurrency limit");
}

/// Feed text written to act on whoever shows it: terminal escapes, a chat-wide ping, masked
/// links, and a 5 MB headline.
fn hostile_feed() -> String {
    let ping = "\u{1b}]0;owned\u{7}\u{1b}[31mKorea Utara\u{1b}[0m uji senjata &amp;lt;!channel&amp;gt; @here \
                [Login to bank](http://evil.example/login) &amp;lt;http://evil.example/x|Berita&amp;gt;\u{202e}";
    let huge = format!("Korea Utara senjata {}", "panjang ".repeat(650_000));
    sample_with(&[
        rss_item("hostile", ping, "&amp;lt;!all&amp;gt; isi &amp;#27;[2J\u{9b}"),
        rss_item("huge", &huge, "ringkas"),
    ])
}

/// Whether `bytes` hold an ESC, BEL, CSI or another control a terminal acts on.
fn acts_on_a_terminal(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes).chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
}

#[test]
fn hostile_feed_text_acts_on_no_terminal_and_no_chat_room() {
    let dir = TempDir::new("hostile");
    let feeds = FeedServer::start();
    feeds.set("/world.rss", hostile_feed());
    let srv = chat_server();
    let base = srv.url("");
    let config = feed_and_rule(&feeds, "")
        .sink("console", "console", "")
        .sink("mattermost", "mattermost", &format!("url = \"{base}/mattermost/hooks/x\""))
        .sink("teams", "teams", &format!("url = \"{base}/teams/workflow\""))
        .webhook("hook", &format!("{base}/hook"), "");
    let cfg = dir.config(&config.build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!acts_on_a_terminal(&out.stdout), "console sink: {}", show(&out));
    assert!(!acts_on_a_terminal(&out.stderr), "log: {}", show(&out));
    assert!(out.stderr.len() < 100_000, "the 5 MB title is not logged whole: {} bytes", out.stderr.len());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("] Korea Utara uji senjata <!channel> @here [Login to bank]"), "{stdout}");

    let reqs = srv.requests();
    let to = |prefix: &str| -> Vec<serde_json::Value> {
        reqs.iter().filter(|r| r.path.starts_with(prefix)).map(|r| r.json()).collect()
    };
    // The webhook payload carries the capped title, not 5 MB.
    let hooks = to("/hook");
    assert!(hooks.len() >= 3, "{hooks:?}");
    for h in &hooks {
        let title = h["item"]["title"].as_str().unwrap();
        assert!(title.chars().count() <= 1000, "{}", title.len());
        assert!(!title.chars().any(char::is_control), "{title:?}");
        assert!(h.to_string().len() < 20_000, "{}", h.to_string().len());
    }
    // Mattermost never sees a `<` it could turn into a ping or a masked link.
    for m in to("/mattermost/") {
        let text = m["text"].as_str().unwrap();
        assert!(!text.contains('<') && !text.contains("@here") && !text.contains("@all"), "{text}");
    }
    // Teams shows the feed's Markdown as text: only pantau's own links are links.
    let cards: Vec<String> = to("/teams/").iter().map(|t| t["attachments"][0]["content"].to_string()).collect();
    assert!(cards.iter().all(|card| !card.contains("[Login to bank](http")), "{cards:?}");
    assert!(cards.iter().any(|card| card.contains(r"\\[Login to bank\\]\\(http://evil.example/login\\)")), "{cards:?}");
    let mattermost = to("/mattermost/");
    assert!(mattermost.iter().any(|m| m["text"].as_str().unwrap().contains("&lt;!channel&gt;")), "{mattermost:?}");

    for args in [&["items"][..], &["alerts"], &["parse", &feeds.url("/world.rss")]] {
        let out = run(&cfg, args);
        assert!(out.status.success(), "{args:?}: {}", show(&out));
        assert!(!acts_on_a_terminal(&out.stdout), "{args:?}: {}", show(&out));
        assert!(!acts_on_a_terminal(&out.stderr), "{args:?}: {}", show(&out));
    }
}
