//! The command line of CONTRACT §1: exit codes, located config errors, `parse` output.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{pantau, run, sample_feed, show, ConfigBuilder, FeedServer, Response, Server, TempDir};

#[test]
fn check_accepts_the_shipped_configs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for cfg in ["config/pantau.toml", "config/examples/console.toml", "config/examples/templates.toml"] {
        let out = run(&root.join(cfg), &["check"]);
        assert_eq!(out.status.code(), Some(0), "{cfg}: {}", show(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains(": ok ("), "{}", show(&out));
    }
    let out = pantau()
        .arg("-c")
        .arg(root.join("config/examples/webhook.toml"))
        .arg("check")
        .env("OPS_WEBHOOK_URL", "https://hooks.example.com/x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn check_reports_every_problem_located_and_exits_2() {
    let dir = TempDir::new("check");
    let cfg = dir.config_as_is(
        r#"[daemon]
databse = "x.db"

[[feed]]
name = "a"
url = "https://a.example/feed"

[[feed]]
name = "a"
url = "${PANTAU_TEST_UNSET_VAR}"

[[rule]]
name = "r"
query = '"Korea Utara" AND (senjata'
"#,
    );
    let out = run(&cfg, &["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // TOML-level errors (the unknown key) come first and alone: the file cannot be typed.
    let p = cfg.display().to_string();
    assert!(stdout.contains(&format!("{p}:2:1: unknown field `databse`")), "{stdout}");

    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap().replace("databse", "database")).unwrap();
    let out = run(&cfg, &["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("{p}:9:8: duplicate feed name \"a\"")), "{stdout}");
    assert!(stdout.contains(&format!("{p}:10:7: environment variable PANTAU_TEST_UNSET_VAR is not set")), "{stdout}");
    assert!(stdout.contains(&format!("{p}:14:")) && stdout.contains("rule \"r\""), "{stdout}");
    assert!(stdout.contains("3 error(s)"), "{stdout}");
}

#[test]
fn run_and_once_refuse_an_invalid_config_with_exit_1() {
    let dir = TempDir::new("badrun");
    let cfg = dir.config_as_is("[[rule]]\nname = \"r\"\nquery = 'AND'\n");
    for cmd in ["run", "once"] {
        let out = run(&cfg, &[cmd]);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("{}:3:", cfg.display())), "{stderr}");
    }
    assert!(!dir.path().join("pantau.db").exists(), "nothing started");
}

#[test]
fn a_missing_config_file_is_a_clear_error() {
    let out = run(Path::new("/nonexistent/pantau.toml"), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cannot read config file"), "{}", show(&out));
}

#[test]
fn parse_prints_the_contract_json_for_a_file_and_a_url() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/world-news.rss");
    let out = pantau().arg("parse").arg(&file).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["title"], "Sample Indonesian world news");
    assert_eq!(v["link"], "https://news.example.id/world");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let first = &items[0];
    for key in ["id", "title", "link", "published", "updated", "authors", "categories", "summary", "content"] {
        assert!(first.get(key).is_some(), "missing {key}: {first}");
    }
    assert_eq!(first["published"], "2022-09-06T07:05:00Z");
    assert!(first["updated"].is_null() || first["updated"] == first["published"], "{first}");
    let content = first["content"].as_str().unwrap();
    assert!(content.contains("Korea Utara") && !content.contains("<p>"), "{content}");

    let feeds = FeedServer::start();
    feeds.set("/f.rss", sample_feed());
    let out = pantau().arg("parse").arg(feeds.url("/f.rss")).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 items") && text.contains("* Intelijen AS: Rusia Beli Roket"), "{text}");
}

#[test]
fn parse_fails_with_exit_1_on_garbage_and_missing_files() {
    let dir = TempDir::new("parsebad");
    let f = dir.path().join("junk.xml");
    std::fs::write(&f, "<html><body>not a feed</body></html>").unwrap();
    let out = pantau().arg("parse").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let out = pantau().arg("parse").arg(dir.path().join("nope.xml")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"), "{}", show(&out));
}

#[test]
fn one_off_fetches_follow_the_configs_timeout_body_cap_and_max_items() {
    let dir = TempDir::new("oneoff-limits");
    // Answers after 20 s: within the default 30 s, far beyond the configured 1 s.
    let slow = Server::start(|_| {
        std::thread::sleep(Duration::from_secs(20));
        Response::body(200, sample_feed()).header("Content-Type", "application/rss+xml")
    });
    let feeds = FeedServer::start();
    feeds.set("/f.rss", sample_feed());
    let cfg = dir.config(&ConfigBuilder::new().daemon("timeout = \"1s\"\nmax_body = 1000\nmax_items = 2").build());
    let url = slow.url("/slow.rss");
    let commands: [&[&str]; 4] = [
        &["parse", &url],
        &["article", &url],
        &["test-rule", "Korea", "--feed", &url],
        &["test-rule", "Korea", "--url", &url],
    ];
    for args in commands {
        let started = Instant::now();
        let out = run(&cfg, args);
        let took = started.elapsed();
        // test-rule's "could not read its input" is 3, the other commands' failure 1.
        let failed = if args[0] == "test-rule" { 3 } else { 1 };
        assert_eq!(out.status.code(), Some(failed), "{args:?}: {}", show(&out));
        assert!(took < Duration::from_secs(15), "{args:?} waited {took:?}, not the configured 1 s: {}", show(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("timed out"), "{args:?}: {}", show(&out));
    }
    // The body cap: the sample feed is larger than 1000 bytes.
    let out = run(&cfg, &["parse", &feeds.url("/f.rss")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("body larger than 1000 bytes"), "{}", show(&out));
    // max_items, on a file: the newest 2 of the sample's 3 items.
    let file = dir.path().join("f.rss");
    std::fs::write(&file, sample_feed()).unwrap();
    let out = run(&cfg, &["parse", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\n2 items\n"), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("kept the newest 2 of 3 items (max_items)"),
        "{}",
        show(&out)
    );
    // Without a readable config the defaults apply.
    let out = run(&dir.path().join("missing.toml"), &["parse", &feeds.url("/f.rss")]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\n3 items\n"), "{}", show(&out));
}

#[test]
fn the_config_path_comes_from_pantau_config_when_not_given() {
    let dir = TempDir::new("envcfg");
    let cfg = dir.config(&ConfigBuilder::new().sink("t", "console", "").build());
    let out = pantau().arg("check").env("PANTAU_CONFIG", &cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&cfg.display().to_string()));
}

#[test]
fn help_lists_the_commands() {
    let out = pantau().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["run", "once", "check", "parse"] {
        assert!(text.contains(cmd), "{text}");
    }
}

#[test]
fn test_rule_exit_codes_and_explanations() {
    let q = r#""Korea Utara" AND senjata"#;
    let out = pantau()
        .args(["test-rule", q, "--lang", "id", "--text", "Pyongyang: Korea Utara menjual senjatanya."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("matched: korea utara, senjata"), "{text}");
    assert!(text.contains("«Korea Utara»") && text.contains("«senjatanya»"), "{text}");

    let out = pantau().args(["test-rule", q, "--text", "Korea Selatan membeli senjata"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));

    let out = pantau().args(["test-rule", r#""Korea Utara" AND (senjata"#, "--text", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("column 27") && text.contains('^'), "{text}");

    let feed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/world-news.rss");
    let out = pantau().args(["test-rule", q]).arg("--feed").arg(&feed).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("* Intelijen AS: Rusia Beli Roket") && text.contains("1 of 3 items matched"), "{text}");

    let dir = TempDir::new("testrule");
    let f = dir.path().join("a.html");
    std::fs::write(&f, "<div class=\"senjata\">Korea Utara</div>").unwrap();
    let out = pantau().args(["test-rule", q]).arg("--file").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "markup is not text: {}", show(&out));
}

/// The sample feed "world", its first poll silent.
fn silent_world(feeds: &FeedServer) -> ConfigBuilder {
    ConfigBuilder::new().daemon("first_poll = \"silent\"").feed("world", &feeds.url("/world.rss"), "")
}

#[test]
fn test_rule_history_backtests_stored_items() {
    let dir = TempDir::new("history");
    let feeds = FeedServer::start();
    feeds.set("/world.rss", sample_feed());
    let cfg = dir.config(&silent_world(&feeds).build());
    assert!(run(&cfg, &["once"]).status.success());
    let out = run(&cfg, &["test-rule", "Korut OR \"Korea Utara\"", "--history", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("backtest over 3 items") && text.contains("2 of 3 stored items matched"), "{text}");
    assert!(text.contains("feed: world"), "{text}");
    let out = run(&cfg, &["test-rule", "kapal", "--history", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // Durations as in the config; a stem match is marked in context.
    let out = run(&cfg, &["test-rule", "~senjata", "--lang", "id", "--history", "12h"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("first seen in the last 12h") && text.contains("«persenjataan»"), "{text}");
}

/// Run `pantau -c CONFIG ARGS…` with a pseudo-terminal as stdout and stderr (through
/// util-linux `script`); `None` where `script` is missing.
fn run_on_a_terminal(config: &Path, args: &[&str]) -> Option<String> {
    let mut cmd = vec![env!("CARGO_BIN_EXE_pantau").to_string(), "-c".into(), config.display().to_string()];
    cmd.extend(args.iter().map(|a| format!("'{a}'")));
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd.join(" "), "/dev/null"])
        .env_remove("PANTAU_CONFIG")
        .env("RUST_LOG", "pantau=info")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).to_string())
}

#[test]
fn long_cli_work_shows_a_progress_bar_on_a_terminal_and_none_when_piped() {
    let dir = TempDir::new("progress");
    let feeds = FeedServer::start();
    feeds.set("/world.rss", sample_feed());
    let cfg = dir.config(&silent_world(&feeds).feed("copy", &feeds.url("/world.rss?copy"), "").build());
    let Some(tty) = run_on_a_terminal(&cfg, &["once"]) else {
        eprintln!("SKIPPED: util-linux `script` is not installed, so no terminal can be faked");
        return;
    };
    assert!(tty.contains("polling [") && tty.contains("2/2 feeds 100%"), "{tty}");
    assert!(tty.contains("\x1b[2K"), "the bar is cleared, not left behind: {tty:?}");
    let piped = run(&cfg, &["once"]);
    assert!(piped.status.success(), "{}", show(&piped));
    assert!(!show(&piped).contains("polling ["), "no bar when piped: {}", show(&piped));

    let tty = run_on_a_terminal(&cfg, &["test-rule", "senjata", "--history", "1"]).unwrap();
    assert!(tty.contains("matching [") && tty.contains("stored items 100%"), "{tty}");
    assert!(tty.contains("1 of 3 stored items matched"), "{tty}");
    let piped = run(&cfg, &["test-rule", "senjata", "--history", "1"]);
    assert!(!show(&piped).contains("matching ["), "{}", show(&piped));
}

#[test]
fn import_opml_prints_feed_tables_that_check_accepts() {
    let Some(corpus) = crate::util::shared("corpus", "MANIFEST.tsv") else { return };
    let opml = corpus.join("opml/plenary_Indonesia.opml");
    let out = pantau().arg("import-opml").arg(&opml).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let tables = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(tables.contains("url = \"https://www.republika.co.id/rss/\""), "{tables}");
    let dir = TempDir::new("opml");
    let cfg = dir.config(&tables);
    let out = run(&cfg, &["check"]);
    assert_eq!(out.status.code(), Some(0), "imported feeds form a valid config: {}", show(&out));

    // Every OPML file of the shared corpus imports into a config that `check` accepts.
    for entry in std::fs::read_dir(opml.parent().unwrap()).unwrap() {
        let path = entry.unwrap().path();
        let out = pantau().arg("import-opml").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}: {}", path.display(), show(&out));
        let cfg = dir.config(&String::from_utf8_lossy(&out.stdout));
        let out = run(&cfg, &["check"]);
        assert_eq!(out.status.code(), Some(0), "{}: {}", path.display(), show(&out));
    }

    let bad = dir.path().join("x.opml");
    std::fs::write(&bad, "<opml><body></body></opml>").unwrap();
    let out = pantau().arg("import-opml").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn inspection_needs_only_the_database_not_the_services_secrets_or_valid_rules() {
    let dir = TempDir::new("inspect-no-secrets");
    let feeds = FeedServer::start();
    feeds.set("/world.rss", sample_feed());
    let cfg = dir.config(&silent_world(&feeds).build());
    assert!(run(&cfg, &["once"]).status.success());
    // On the server, the config names secrets only the service's environment has, and
    // someone's half-written rule is in it.
    let cfg = dir.config(
        &silent_world(&feeds)
            .rule("wip", "(senjata", "sinks = [\"hook\"]")
            .webhook("hook", "https://hooks.example/${HOOK_SECRET_UNSET_HERE}", "")
            .build(),
    );
    assert_eq!(run(&cfg, &["check"]).status.code(), Some(2), "check still refuses it");
    for args in [
        vec!["feeds"],
        vec!["items"],
        vec!["alerts"],
        vec!["alerts", "--failed"],
        vec!["test-rule", "senjata", "--history", "7d"],
    ] {
        let out = run(&cfg, &args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", show(&out));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("nothing started"), "{args:?}: {}", show(&out));
    }
    let items = String::from_utf8_lossy(&run(&cfg, &["items"]).stdout).to_string();
    assert!(items.contains("Intelijen AS"), "{items}");
    let out = run(&cfg, &["redeliver", "0000"]);
    assert_eq!(out.status.code(), Some(1), "an unknown id, not a config error: {}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0000: no such alert"), "{}", show(&out));
    // A database path that names nothing (an unset variable, another directory) is said so,
    // and no empty database is created there.
    let elsewhere = TempDir::new("inspect-no-db");
    let cfg =
        elsewhere.config(&ConfigBuilder::new().daemon("database = \"${STATE_DIR_UNSET_HERE}/pantau.db\"").build());
    let out = run(&cfg, &["items"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database yet at"), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no items yet"), "{}", show(&out));
    assert!(!elsewhere.path().join("${STATE_DIR_UNSET_HERE}").exists(), "no stray database is created");
}

#[test]
fn exit_codes_mean_one_thing_each_and_help_lists_them() {
    let dir = TempDir::new("exit-codes");
    let cfg = dir.config("");
    let code = |args: &[&str]| run(&cfg, args).status.code();
    assert_eq!(code(&["test-rule", "senjata", "--text", "senjata api"]), Some(0));
    assert_eq!(code(&["test-rule", "senjata", "--text", "damai"]), Some(1), "no match");
    assert_eq!(code(&["test-rule", "(senjata", "--text", "x"]), Some(2), "invalid query");
    assert_eq!(code(&["test-rule", "senjata", "--file", "/nonexistent/file.txt"]), Some(3), "unreadable input");
    assert_eq!(code(&["test-rule", "senjata", "--feed", "/nonexistent/feed.xml"]), Some(3));
    assert_eq!(code(&["test-rule", "senjata", "--bogus"]), Some(64), "usage error");
    assert_eq!(code(&["check", "--bogus"]), Some(64), "not check's 'invalid' (2)");
    assert_eq!(code(&["frobnicate"]), Some(64));
    for command in [
        "run",
        "once",
        "check",
        "parse",
        "article",
        "test-rule",
        "feeds",
        "items",
        "alerts",
        "redeliver",
        "import-opml",
        "migrate",
    ] {
        let out = run(&cfg, &[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Exit codes: 0") && text.contains("64 usage error"), "{command}: {text}");
    }
    let help = String::from_utf8_lossy(&run(&cfg, &["test-rule", "--help"]).stdout).to_string();
    assert!(help.contains("NEAR/5") && help.contains("title:senjata") && help.contains("Precedence"), "{help}");
}

#[test]
fn feeds_items_and_alerts_speak_json_with_errors_in_full() {
    let dir = TempDir::new("json-views");
    let (feeds, rx) = (FeedServer::start(), crate::util::Receiver::start());
    feeds.set("/world.rss", sample_feed());
    // The receiver rejects the alert with a long reason, so the alert is dead with an error.
    let reason = format!("rejected: {}", "the payload does not fit this receiver's schema; ".repeat(4));
    rx.script([crate::util::Response::body(400, reason.clone())]);
    let cfg =
        dir.config(&ConfigBuilder::new().feed("world", &feeds.url("/world.rss"), "").korut_to_hook(&rx.url()).build());
    assert!(run(&cfg, &["once"]).status.success());
    let json = |args: &[&str]| -> serde_json::Value {
        let out = run(&cfg, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", show(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", show(&out)))
    };
    let f = json(&["feeds", "--json"]);
    assert_eq!(
        (f[0]["name"].as_str(), f[0]["items"].as_u64(), f[0]["last_status"].as_str()),
        (Some("world"), Some(3), Some("200"))
    );
    let i = json(&["items", "--json"]);
    assert_eq!(i.as_array().unwrap().len(), 3);
    assert!(i
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["alerts"] == 1 && x["title"].as_str().unwrap().starts_with("Intelijen")));
    let a = json(&["alerts", "--failed", "--json"]);
    assert_eq!(a[0]["state"], "dead");
    let error = a[0]["last_error"].as_str().unwrap();
    assert!(error.len() > 150 && error.contains("schema; the payload"), "the whole error: {error}");
    // An unknown id says so, and nothing about a daemon picking anything up.
    let out = run(&cfg, &["redeliver", "0000"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0000: no such alert") && !text.contains("picks them up"), "{text}");
    let id = a[0]["id"].as_str().unwrap();
    let text = String::from_utf8_lossy(&run(&cfg, &["redeliver", id]).stdout).to_string();
    assert!(text.contains("queued for delivery") && text.contains("picks them up"), "{text}");
}
