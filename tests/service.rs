//! The daemon as a service: SIGHUP reload, /healthz and /metrics, systemd notifications.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::util::{get, rss_item, sample_feed, sample_with, ConfigBuilder, Daemon, FeedServer, Receiver, TempDir};

/// One feed "world", the rule "korut-senjata" to the webhook "hook", the endpoint on a port the
/// system chooses.
fn base_config(feeds: &FeedServer, rx: &Receiver) -> ConfigBuilder {
    ConfigBuilder::new()
        .listen()
        .daemon("shutdown_grace = \"3s\"")
        .feed("world", &feeds.url("/world.rss"), "")
        .korut_to_hook(&rx.url())
}

#[test]
fn healthz_and_metrics_describe_the_running_daemon() {
    let dir = TempDir::new("health");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    let cfg = dir.config(&base_config(&feeds, &rx).build());
    let log = dir.path().join("log");
    let child = Daemon::run_logged(&cfg, &log, &[]);
    let port = child.port();
    rx.server.wait_for(1, Duration::from_secs(30));
    child.wait_for_log("alert delivered");

    let (status, body) = get(port, "/healthz");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["feeds"]["ok"], 1);
    assert_eq!(v["outbox"]["pending"], 0);

    let (status, text) = get(port, "/metrics");
    assert_eq!(status, 200);
    assert!(text.contains("pantau_polls_total{result=\"ok\"} 1"), "{text}");
    assert!(text.contains("pantau_items_new_total 3"), "{text}");
    assert!(text.contains("pantau_matches_total{rule=\"korut-senjata\"} 1"), "{text}");
    assert!(
        text.contains("pantau_deliveries_total{outcome=\"delivered\",sink=\"hook\"} 1")
            || text.contains("pantau_deliveries_total{sink=\"hook\",outcome=\"delivered\"} 1"),
        "{text}"
    );
    assert!(text.contains("# TYPE pantau_fetch_seconds histogram"), "{text}");
    assert!(text.contains("pantau_alerts{sink=\"hook\",state=\"delivered\"} 1"), "{text}");
    assert!(text.contains("pantau_feed_consecutive_failures{feed=\"world\"} 0"), "{text}");
    assert_eq!(get(port, "/nope").0, 404);

    assert_eq!(child.sigterm_and_wait(), 0);
}

/// One response read off a keep-alive connection: the head (status line and headers) and the
/// body of its Content-Length.
fn read_response(s: &mut TcpStream) -> (String, String) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "connection closed inside a response head: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let len = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (head, String::from_utf8(body).unwrap())
}

#[test]
fn a_thousand_idle_connections_do_not_keep_a_probe_from_its_answer_and_head_and_keep_alive_work() {
    let dir = TempDir::new("idle-conns");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    let cfg = dir.config(&base_config(&feeds, &rx).build());
    let log = dir.path().join("log");
    let child = Daemon::run_logged(&cfg, &log, &[]);
    let port = child.port();
    assert_eq!(get(port, "/healthz").0, 200);

    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let idle: Vec<TcpStream> = (0..1000)
        .map(|i| {
            TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap_or_else(|e| panic!("connection {i}: {e}"))
        })
        .collect();

    // A probe right behind them is answered (the bound is generous: the point is an answer, not speed).
    let start = Instant::now();
    let mut probe = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
    probe.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    probe.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (head, body) = read_response(&mut probe);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}{body}");
    assert!(start.elapsed() < Duration::from_secs(10), "the probe took {:?}", start.elapsed());
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["status"].is_string(), "{body}");

    // Keep-alive: the same connection answers a second request, and HEAD is GET without the body.
    probe.write_all(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(probe.read(&mut byte).unwrap(), 1, "{head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
    probe.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut rest = String::new();
    probe.read_to_string(&mut rest).unwrap();
    assert!(rest.starts_with("HTTP/1.1 200"), "HEAD sent a body, or keep-alive failed: {rest}");
    assert!(rest.contains("pantau_http_connections_dropped_total{reason=\"evicted\"}"), "{rest}");
    drop(idle);

    assert_eq!(child.sigterm_and_wait(), 0);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines = text.lines().filter(|l| l.contains("health/metrics connection")).count();
    assert!(lines < 10, "{lines} log lines about health/metrics connections:\n{text}");
}

#[test]
fn sighup_applies_a_valid_config_and_refuses_an_invalid_one() {
    let dir = TempDir::new("reload");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    feeds.set("/extra.rss", sample_with(&[rss_item("x1", "Kapal selam Korea Utara", "nuklir")]));
    let original = base_config(&feeds, &rx);
    let cfg = dir.config(&original.build());
    let log = dir.path().join("log");
    let child = Daemon::run_logged(&cfg, &log, &[]);
    let port = child.port();
    rx.server.wait_for(1, Duration::from_secs(30));

    // A new feed and a new rule: the feed is polled at once and its item alerts the new rule.
    dir.config(
        &original.clone().feed("extra", &feeds.url("/extra.rss"), "").rule("kapal", "\"kapal selam\"", "").build(),
    );
    child.sighup();
    let text = child.wait_for_log("config reloaded");
    assert!(text.contains("feeds_added=[\"extra\"]") && text.contains("rules_added=[\"kapal\"]"), "{text}");
    let posts = rx.server.wait_for(2, Duration::from_secs(30));
    let rules: Vec<String> = posts.iter().map(|p| p.json()["rule"].as_str().unwrap().to_string()).collect();
    assert!(rules.contains(&"kapal".to_string()), "{rules:?}");

    // An invalid config is refused with a located error; the daemon keeps running.
    dir.config(&original.rule("bad", "(senjata", "").build());
    child.sighup();
    let text = child.wait_for_log("new config refused");
    assert!(text.contains(&format!("{}:", cfg.display())), "the refusal names the file: {text}");
    assert_eq!(get(port, "/healthz").0, 200, "still serving after a refused reload");
    let (_, metrics) = get(port, "/metrics");
    assert!(metrics.contains("pantau_reloads_total{result=\"refused\"} 1"), "{metrics}");
    assert!(metrics.contains("pantau_reloads_total{result=\"applied\"} 1"), "{metrics}");

    assert_eq!(child.sigterm_and_wait(), 0);
}

#[test]
fn with_watch_config_an_edit_reloads_and_a_broken_edit_is_refused_and_reported_to_the_health_sinks() {
    let dir = TempDir::new("watch");
    let (feeds, rx, ops) = (FeedServer::start(), Receiver::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    feeds.set("/extra.rss", sample_with(&[rss_item("x1", "Kapal selam Korea Utara", "nuklir")]));
    let original = ConfigBuilder::new()
        .daemon("max_age = \"off\"\nshutdown_grace = \"3s\"\nwatch_config = true\nhealth_sinks = [\"ops\"]")
        .feed("world", &feeds.url("/world.rss"), "")
        .rule("korut-senjata", crate::util::KORUT, "sinks = [\"hook\"]")
        .webhook("hook", &rx.url(), "")
        .webhook("ops", &ops.url(), "");
    let cfg = dir.config_as_is(&original.build());
    let log = dir.path().join("log");
    let child = Daemon::run_logged(&cfg, &log, &[]);
    rx.server.wait_for(1, Duration::from_secs(30));

    // No SIGHUP: saving the file is enough.
    let extended = original.clone().feed("extra", &feeds.url("/extra.rss"), "").rule(
        "kapal",
        "\"kapal selam\"",
        "sinks = [\"hook\"]",
    );
    dir.config_as_is(&extended.build());
    let text = child.wait_for_log("config reloaded");
    assert!(text.contains("config file changed"), "{text}");
    assert!(text.contains("rules_added=[\"kapal\"]"), "{text}");
    let posts = rx.server.wait_for(2, Duration::from_secs(30));
    assert!(posts.iter().any(|p| p.json()["rule"] == "kapal"), "the new rule alerts");

    // A typo is refused; the operator hears about it in the health sink, with the located error.
    dir.config_as_is(&original.rule("bad", "(senjata", "").build());
    child.wait_for_log("new config refused");
    let alert = ops.server.wait_for(1, Duration::from_secs(30))[0].json();
    assert_eq!(alert["rule"], "pantau:config", "{alert}");
    let title = alert["item"]["title"].as_str().unwrap();
    assert!(title.starts_with("Config reload refused: 1 error in "), "{title}");
    let summary = alert["item"]["summary"].as_str().unwrap();
    assert!(summary.contains(&format!("{}:", cfg.display())) && summary.contains("expected ')'"), "{summary}");
    // The running config stays in force: the hook got nothing from the "bad" rule and the
    // daemon still stops cleanly.
    assert!(rx.posts().iter().all(|p| p.json()["rule"] != "bad"));
    assert_eq!(child.sigterm_and_wait(), 0);
    assert_eq!(ops.posts().len(), 1, "one refusal, one operator alert");
}

#[test]
fn systemd_is_told_when_pantau_is_ready_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = TempDir::new("notify");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    let sock: PathBuf = dir.path().join("notify.sock");
    let server = UnixDatagram::bind(&sock).unwrap();
    server.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let cfg = dir.config(&base_config(&feeds, &rx).build());
    let log = dir.path().join("log");
    let child = Daemon::run_logged(&cfg, &log, &[("NOTIFY_SOCKET", sock.to_str().unwrap())]);
    let mut buf = [0u8; 256];
    let n = server.recv(&mut buf).expect("a notification");
    assert_eq!(&buf[..n], b"READY=1");
    assert_eq!(child.sigterm_and_wait(), 0);
    let n = server.recv(&mut buf).expect("a notification");
    assert_eq!(&buf[..n], b"STOPPING=1");
}

#[test]
fn the_systemd_unit_verifies_and_is_rated_ok_by_systemd_analyze() {
    let have =
        std::process::Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success());
    if !have {
        // CI installs systemd (scripts/test), so this only skips on machines without it.
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-analyze is missing in CI: scripts/test should install systemd"
        );
        eprintln!("SKIPPED: systemd-analyze is not installed; install systemd to check the unit file");
        return;
    }
    let dir = TempDir::new("unit");
    let unit = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/pantau.service")).unwrap();
    // verify checks that ExecStart's binary exists: point it at the one under test.
    let unit = unit.replace("/usr/local/bin/pantau", env!("CARGO_BIN_EXE_pantau"));
    let path = dir.path().join("pantau.service");
    std::fs::write(&path, unit).unwrap();
    let out = std::process::Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", crate::util::show(&out));
    assert!(out.stderr.is_empty(), "no warnings: {}", crate::util::show(&out));
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let level: f64 = text
        .split("Overall exposure level for pantau.service:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {text}"));
    assert!(level <= 2.0, "exposure {level} is above 2.0 (OK): {text}");
}

#[test]
fn an_idle_daemon_gives_back_its_regex_search_caches_and_then_unmaps_its_code() {
    // Nine regex rules: enough for pantau to search them as one set, whose lazy-DFA cache
    // grows while items are matched and is dropped once polling goes quiet.
    let dir = TempDir::new("idle-release");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    let mut config = base_config(&feeds, &rx);
    for (i, word) in
        ["Korea", "Utara", "senjata", "rudal", "Rusia", "Pyongyang", "uji", "AS", "nuklir"].iter().enumerate()
    {
        config = config.rule(&format!("re{i}"), &format!("/{word}\\b/i"), "");
    }
    let cfg = dir.config(&config.build());
    let log = dir.path().join("log");
    let child = Daemon::run_logged(&cfg, &log, &[("RUST_LOG", "pantau=debug")]);
    rx.server.wait_for(1, Duration::from_secs(30));
    // The scheduler hands memory back once no poll has finished for 20 s, and again 20 s
    // later, then also unmaps its code (the next poll is 15 minutes away).
    let start = Instant::now();
    let releases = loop {
        let text = child.log();
        let lines: Vec<String> =
            text.lines().filter(|l| l.contains("released idle memory")).map(str::to_string).collect();
        if lines.len() >= 2 {
            break lines;
        }
        assert!(start.elapsed() < Duration::from_secs(100), "not two idle releases in the log:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let field = |line: &str, key: &str| -> usize {
        line.split(&format!("{key}="))
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {key}=N in {line:?}"))
    };
    assert!(
        field(&releases[0], "regex_caches") > 0,
        "the regex set's cache was in use and is given back: {}",
        releases[0]
    );
    assert_eq!(field(&releases[0], "code_unmapped"), 0, "not at the first release: {}", releases[0]);
    assert_eq!(field(&releases[1], "regex_caches"), 0, "nothing searched since: {}", releases[1]);
    if cfg!(target_os = "linux") {
        assert!(field(&releases[1], "code_unmapped") > 1 << 20, "the code's pages are unmapped: {}", releases[1]);
    }
    assert_eq!(child.sigterm_and_wait(), 0);
}

/// `pantau nodes --json`, parsed.
fn nodes_json(cfg: &Path) -> Vec<serde_json::Value> {
    let out = crate::util::run(cfg, &["nodes", "--json"]);
    assert!(out.status.success(), "{}", crate::util::show(&out));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap().as_array().unwrap().clone()
}

#[test]
fn nodes_lists_each_node_with_its_heartbeat_and_config_and_warns_of_another_config() {
    let dir = TempDir::new("nodes");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    let original = base_config(&feeds, &rx).daemon("lease = \"3s\"");
    let cfg = dir.config(&original.build());

    // Nothing has run yet.
    let out = crate::util::run(&cfg, &["nodes"]);
    assert!(out.status.success(), "{}", crate::util::show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no node has run on this database yet"));

    // A `once` without --node goes by hostname:pid, and one with it by its name.
    assert!(crate::util::run(&cfg, &["once"]).status.success());
    let out = crate::util::run(&cfg, &["once", "--node", "beta"]);
    assert!(out.status.success(), "{}", crate::util::show(&out));
    let nodes = nodes_json(&cfg);
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert_eq!(nodes[0]["name"], "beta", "the most recent first: {nodes:?}");
    let default = nodes[1]["name"].as_str().unwrap();
    let (host, pid) = default.rsplit_once(':').unwrap();
    assert!(!host.is_empty() && pid.parse::<u32>().is_ok(), "{default}");
    assert!(nodes.iter().all(|n| n["same_config"] == true && n["leases"] == 0), "{nodes:?}");
    let first_hash = nodes[0]["config_hash"].as_str().unwrap().to_string();
    assert_eq!(first_hash.len(), 32, "{first_hash}");

    // alpha starts on another config while beta beat less than three leases ago: alpha says so.
    let changed = original.clone().rule("kapal", "\"kapal selam\"", "");
    dir.config(&changed.build());
    let log = dir.path().join("log");
    let child = Daemon::run_logged(&cfg, &log, &[("PANTAU_NODE", "alpha")]);
    let text = child.wait_for_log("node started");
    assert!(text.contains("node=alpha"), "{text}");
    let text = child.wait_for_log("other live nodes run a different config");
    assert!(text.contains("beta"), "{text}");
    let alpha = |nodes: &[serde_json::Value]| nodes.iter().find(|n| n["name"] == "alpha").cloned();
    let a = alpha(&nodes_json(&cfg)).expect("alpha beats at start");
    assert_eq!(a["live"], true, "{a}");
    assert_eq!(a["same_config"], true, "{a}");
    assert_ne!(a["config_hash"], first_hash.as_str(), "{a}");

    // Its heartbeat goes on (every second with a 3 s lease).
    let beat = a["heartbeat_at"].as_str().unwrap().to_string();
    let start = Instant::now();
    while alpha(&nodes_json(&cfg)).unwrap()["heartbeat_at"] == beat.as_str() {
        assert!(start.elapsed() < Duration::from_secs(30), "no second heartbeat");
        std::thread::sleep(Duration::from_millis(300));
    }

    // The file changes without a reload: the table marks alpha as running another config.
    dir.config(&original.build());
    let out = crate::util::run(&cfg, &["nodes"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && table.contains("NODE") && table.contains("LAST HEARTBEAT"), "{table}");
    let alpha_line = table.lines().find(|l| l.starts_with("alpha")).unwrap_or_default().to_string();
    assert!(alpha_line.contains("live") && alpha_line.ends_with('*'), "{table}");
    assert!(table.contains("runs another config than"), "{table}");
    // After a reload alpha runs the file's config again.
    child.sighup();
    child.wait_for_log("config reloaded");
    let start = Instant::now();
    while alpha(&nodes_json(&cfg)).unwrap()["same_config"] != true {
        assert!(start.elapsed() < Duration::from_secs(30), "the reload's hash never reached the nodes table");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(child.sigterm_and_wait(), 0);
}

#[test]
fn an_idle_keep_alive_connection_ends_without_counting_as_dropped_but_a_silent_one_counts() {
    let dir = TempDir::new("idle-conns");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", sample_feed());
    let cfg = dir.config(&base_config(&feeds, &rx).build());
    let child = Daemon::run_logged(&cfg, &dir.path().join("log"), &[]);
    let port = child.port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));

    // One connection is answered, then left idle; another never sends a request.
    let mut answered = TcpStream::connect(addr).unwrap();
    answered.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    answered.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (head, _) = read_response(&mut answered);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut silent = TcpStream::connect(addr).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // Both are closed by the 2 s header timeout.
    let mut buf = [0u8; 64];
    assert_eq!(answered.read(&mut buf).unwrap_or(0), 0, "the idle connection is closed");
    let _ = silent.read(&mut buf);

    // Only the silent one counts as dropped.
    let start = Instant::now();
    let metrics = loop {
        let (_, metrics) = get(port, "/metrics");
        if metrics.contains("reason=\"header_timeout\"") || start.elapsed() > Duration::from_secs(10) {
            break metrics;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        metrics.contains("pantau_http_connections_dropped_total{reason=\"header_timeout\"} 1\n"),
        "one drop, not two: {metrics}"
    );
    assert_eq!(child.sigterm_and_wait(), 0);
}
