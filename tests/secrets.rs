//! Secrets never appear in output (#16.5): unique secret values in a feed URL (from `${VAR}`,
//! as userinfo, as query tokens, in the path), in a feed header, in a webhook URL token, a
//! webhook header and a sink signing secret; servers that fail so that every error path logs and
//! stores its message; then every log line at `RUST_LOG=trace`, every inspection command's
//! output and every operator alert is searched for them.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::{
    pantau, rss_item, sample_with, show, ConfigBuilder, Daemon, FeedServer, Receiver, Response, TempDir, KORUT,
};

/// Environment variables and their unique values.
const ENV: &[(&str, &str)] = &[
    ("FEED_EDITION", "sq-edition-1f07"),
    ("FEED_URL_PASSWORD", "sq-userinfo-8e41"),
    ("PATH_TOKEN", "sq-pathtok-61e5"),
    ("FEED_HEADER_TOKEN", "sq-header-2b9f"),
    ("HOOK_SIG", "sq-hooksig-4a77"),
    ("HOOK_SECRET", "sq-sinksecret-90ad"),
    ("HOOK_TOKEN", "sq-hooktoken-c3d1"),
];

/// Secrets written literally in the config file.
const LITERAL: &[&str] = &["sq-literal-q-5d20", "sq-literal-pw-3310", "sq-literal-tok-77aa"];

fn secrets() -> Vec<&'static str> {
    ENV.iter().map(|(_, v)| *v).chain(LITERAL.iter().copied()).collect()
}

fn with_env(mut c: Command) -> Command {
    for (k, v) in ENV {
        c.env(k, v);
    }
    c.env("RUST_LOG", "trace");
    c
}

fn command(cfg: &Path, args: &[&str]) -> Output {
    let mut c = with_env(pantau());
    c.arg("-c").arg(cfg).args(args);
    let out = c.output().expect("run pantau");
    assert_eq!(out.status.code(), Some(0), "pantau {args:?}: {}", show(&out));
    out
}

/// A loopback port that nothing listens on: the discard port, which the system never hands out
/// for a bind to port 0, so no server of another test can take it meanwhile (a port bound and
/// released could be).
const CLOSED_PORT: u16 = 9;

/// Every secret found in `text`, with where.
fn leaks(place: &str, text: &str) -> Vec<String> {
    secrets().into_iter().filter(|s| text.contains(s)).map(|s| format!("{s} in {place}")).collect()
}

#[test]
fn no_secret_reaches_logs_command_output_stored_errors_or_operator_alerts() {
    let dir = TempDir::new("secrets");
    let feeds = FeedServer::start();
    feeds.set("/good.rss", sample_with(&[rss_item("leak-1", "Korea Utara uji senjata", "rahasia tidak bocor")]));
    // The broken feed's path is not served: it fails with 404 on every poll.
    let closed = CLOSED_PORT;
    let failing = Receiver::start();
    failing.set_default(Response::body(500, "try again later"));
    let ops = Receiver::start();
    let feed_base = feeds.url("");
    let broken = format!(
        "{}/feeds/${{PATH_TOKEN}}/broken.rss?edition=${{FEED_EDITION}}&api_key=sq-literal-q-5d20",
        feed_base.replace("http://", "http://desk:${FEED_URL_PASSWORD}@")
    );
    let refused = format!("http://u:sq-literal-pw-3310@127.0.0.1:{closed}/rss?token=sq-literal-tok-77aa");
    let hook = failing.url().replace("/hook", "/hook?sig=${HOOK_SIG}");
    let config = ConfigBuilder::new()
        .state_dir()
        .daemon("feed_alert_after = \"1s\"\nhealth_sinks = [\"ops\"]")
        .feed("broken", &broken, "interval = \"1s\"\nheaders = { Authorization = \"Bearer ${FEED_HEADER_TOKEN}\" }")
        .feed("refused", &refused, "interval = \"1s\"")
        .feed("good", &format!("{feed_base}/good.rss"), "interval = \"1s\"")
        .rule("watch", KORUT, "sinks = [\"hook\", \"gone\"]")
        .webhook(
            "hook",
            &hook,
            "secret = \"${HOOK_SECRET}\"\nheaders = { Authorization = \"Bearer ${HOOK_TOKEN}\" }\nmax_attempts = 1",
        )
        .webhook("gone", &format!("http://127.0.0.1:{closed}/hook?sig=${{HOOK_SIG}}"), "max_attempts = 1")
        .webhook("ops", &ops.url(), "")
        .build();
    let cfg = dir.config(&config);
    let mut found = Vec::new();
    let seen = |found: &mut Vec<String>, place: &str, out: &Output| {
        found.extend(leaks(&format!("{place} stdout"), &String::from_utf8_lossy(&out.stdout)));
        found.extend(leaks(&format!("{place} stderr"), &String::from_utf8_lossy(&out.stderr)));
    };

    let out = command(&cfg, &["check"]);
    seen(&mut found, "check", &out);

    // The daemon on a fresh database: every feed polled at start, both failing feeds and both
    // failing sinks logged.
    let log_file = dir.path().join("run.log");
    let mut c = with_env(pantau());
    c.arg("-c").arg(&cfg).arg("run");
    let daemon = Daemon::spawn_logged(
        c.stdout(Stdio::from(std::fs::File::create(dir.path().join("run.out")).unwrap())),
        &log_file,
    );
    let start = Instant::now();
    let read_log = || std::fs::read_to_string(&log_file).unwrap_or_default();
    while start.elapsed() < Duration::from_secs(20)
        && (read_log().matches("poll failed").count() < 2 || read_log().matches("alert is dead").count() < 2)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon.sigterm_and_wait();
    let run_log = read_log();
    assert!(run_log.contains(" TRACE "), "the log is verbose:\n{run_log}");
    assert!(run_log.matches("poll failed").count() >= 2, "{run_log}");
    assert!(run_log.matches("alert is dead").count() >= 2, "{run_log}");
    assert!(!failing.server.requests().is_empty(), "the failing sink was tried");
    found.extend(leaks("run stderr", &run_log));
    found.extend(leaks("run stdout", &std::fs::read_to_string(dir.path().join("run.out")).unwrap()));

    // Failing for longer than feed_alert_after: `once` tells the operator.
    std::thread::sleep(Duration::from_millis(1200));
    let out = command(&cfg, &["once"]);
    seen(&mut found, "once", &out);
    assert_eq!(ops.posts().len(), 2, "one operator alert per failing feed: {}", show(&out));
    for post in ops.posts() {
        found.extend(leaks("an operator alert", &String::from_utf8_lossy(&post.body)));
    }

    for args in [&["feeds"][..], &["items"], &["alerts"], &["alerts", "--failed"], &["check"]] {
        let out = command(&cfg, args);
        seen(&mut found, &format!("{args:?}"), &out);
    }
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));

    // What is shown instead: the URLs and errors, redacted.
    let table = String::from_utf8_lossy(&command(&cfg, &["feeds"]).stdout).to_string();
    assert!(table.contains("http://desk:***@127.0.0.1:"), "{table}");
    assert!(table.contains("/feeds/***/broken.rss?edition=***&api_key=***"), "{table}");
    assert!(table.contains("refused: http://u:***@127.0.0.1:"), "the stored error names the redacted URL: {table}");
    let dead = String::from_utf8_lossy(&command(&cfg, &["alerts", "--failed"]).stdout).to_string();
    assert!(dead.contains("error sending request for url (http://127.0.0.1:") && dead.contains("HTTP 500"), "{dead}");
    assert!(run_log.contains("/hook?sig=***)"), "the logged error names the redacted URL:\n{run_log}");
}

#[test]
fn import_opml_prints_toml_that_parses_and_never_reads_the_environment() {
    let dir = TempDir::new("opml-hostile");
    let doc = "<?xml version=\"1.0\"?>\n<opml version=\"2.0\"><body>\n\
        <outline text=\"Bell\u{7} and &#27;[31m escape\" xmlUrl=\"https://ex.id/a.rss\"/>\n\
        <outline text=\"CR\rhere&#13;and VT\u{b}\" xmlUrl=\"https://ex.id/b.rss\" htmlUrl=\"https://ex.id/\u{1}\"/>\n\
        <outline text='&quot;Quotes&quot; and \\back\\slashes\\' xmlUrl='https://ex.id/c.rss?q=\"x\"&amp;b=\\\\'/>\n\
        <outline text=\"Home ${HOME}\" xmlUrl=\"https://ex.id/${HOME}/rss?key=${OPML_SECRET}\"/>\n\
        </body></opml>";
    let file = dir.path().join("shared.opml");
    std::fs::write(&file, doc).unwrap();
    let out = pantau().arg("import-opml").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("invalid TOML: {e}\n{text}"));
    assert_eq!(parsed["feed"].as_array().unwrap().len(), 4, "{text}");
    assert!(!text.contains('\u{7}') && !text.contains('\r') && !text.contains('\u{1b}'), "{text:?}");

    // The imported tables as a config: `${HOME}` stays text, nothing is read from the
    // environment, and `feeds` shows the URL as the OPML file had it.
    let cfg = dir.config(&ConfigBuilder::new().daemon("database = \"pantau.db\"").raw(&text).build());
    let mut c = pantau();
    c.arg("-c").arg(&cfg).arg("feeds").env("HOME", "/home/sq-opml-home").env("OPML_SECRET", "sq-opml-secret-0b5");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("https://ex.id/${HOME}/rss?key="), "{table}");
    assert!(!table.contains("sq-opml"), "{table}");
}
