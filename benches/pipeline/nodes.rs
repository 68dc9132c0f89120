//! The nodes measurement (`--nodes K`, and always under `--postgres`): K `pantau run --node nK`
//! daemons on one fresh database, timed from their start until every feed was polled once and
//! every alert they queued reached the webhook receiver. Each node's JSON log says what it
//! polled ("polled feed" lines, with the alerts queued) and where it serves /metrics, whose
//! `pantau_leases_taken_total` is read at the end.

use std::collections::HashMap;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::child::{children_usage, pantau_command, proc_cpu_ticks, proc_kb, terminate, ticks_per_second};
use crate::corpus::{write_config, FeedMeta, RuleSpec};
use crate::pg::{self, BackendCpu, BackendTotals, FreshDb};
use crate::server::Server;
use crate::{die, mb, Args, Report};

/// What one node's log said so far.
struct NodeLog {
    name: String,
    path: PathBuf,
    /// Bytes read so far, and a last line not yet complete.
    offset: u64,
    partial: String,
    polls: usize,
    new_items: u64,
    alerts_queued: u64,
    last_poll: Option<DateTime<Utc>>,
    /// The /metrics address, from "serving /healthz and /metrics".
    address: Option<String>,
    warnings: usize,
    errors: usize,
    /// The first few WARN and ERROR lines, shortened.
    samples: Vec<String>,
}

impl NodeLog {
    fn new(name: String, path: PathBuf) -> NodeLog {
        NodeLog {
            name,
            path,
            offset: 0,
            partial: String::new(),
            polls: 0,
            new_items: 0,
            alerts_queued: 0,
            last_poll: None,
            address: None,
            warnings: 0,
            errors: 0,
            samples: Vec::new(),
        }
    }

    /// Read the lines written since the last call; count each feed polled in `feeds`.
    fn read(&mut self, feeds: &mut HashMap<String, u32>) {
        let Ok(mut f) = std::fs::File::open(&self.path) else { return };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut bytes = Vec::new();
        let Ok(n) = f.read_to_end(&mut bytes) else { return };
        self.offset += n as u64;
        self.partial.push_str(&String::from_utf8_lossy(&bytes));
        let Some(end) = self.partial.rfind('\n') else { return };
        let complete: String = self.partial.drain(..=end).collect();
        for line in complete.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            let fields = &v["fields"];
            let message = fields["message"].as_str().unwrap_or_default();
            if message.starts_with("polled feed") {
                self.polls += 1;
                *feeds.entry(fields["feed"].as_str().unwrap_or_default().to_string()).or_default() += 1;
                self.new_items += fields["new_items"].as_u64().unwrap_or(0);
                self.alerts_queued += fields["new_alerts"].as_u64().unwrap_or(0);
                let at = v["timestamp"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
                self.last_poll = self.last_poll.max(at.map(|t| t.with_timezone(&Utc)));
            } else if message == "serving /healthz and /metrics" {
                self.address = fields["address"].as_str().map(str::to_string);
            }
            let level = v["level"].as_str().unwrap_or_default();
            if level == "WARN" || level == "ERROR" {
                if level == "WARN" {
                    self.warnings += 1;
                } else {
                    self.errors += 1;
                }
                if self.samples.len() < 3 {
                    let text: String = format!("{level} {fields}").chars().take(300).collect();
                    self.samples.push(text);
                }
            }
        }
    }
}

/// One node's figures in the nodes measurement.
pub struct Node {
    pub name: String,
    /// "polled feed" lines in its log.
    pub polls: usize,
    /// User + system CPU seconds until the work was done (`/proc/PID/stat`).
    pub cpu_s: f64,
    /// The largest resident set (VmHWM), in KB.
    pub peak_rss_kb: u64,
    /// `pantau_leases_taken_total` by kind (feed, sink), from its /metrics.
    pub leases_feed: Option<u64>,
    pub leases_sink: Option<u64>,
    /// `pantau_polls_total`, every result, from its /metrics.
    pub metric_polls: Option<u64>,
    pub warnings: usize,
    pub errors: usize,
    pub samples: Vec<String>,
    pub log: PathBuf,
}

/// What the nodes measurement found.
pub struct Outcome {
    /// From the start of the nodes until the last feed was polled and the last alert arrived.
    pub wall: Duration,
    /// Gave up after 15 minutes, or stopped because nothing happened for 20 s.
    pub timed_out: bool,
    pub stalled: bool,
    pub nodes: Vec<Node>,
    /// Feeds polled (logs), and polls beyond one per feed.
    pub feeds_polled: usize,
    pub duplicate_polls: usize,
    /// Feed requests the server answered (200 and 304).
    pub requests: u64,
    /// New items stored (logs).
    pub new_items: u64,
    /// Alerts queued (logs), webhook calls received, and distinct idempotency keys among them.
    pub alerts_queued: u64,
    pub posts: u64,
    pub unique_alerts: usize,
    /// CPU seconds of every node together, until done (`/proc`), and user / system as
    /// `getrusage` counts them after the nodes exited (shutdown included).
    pub cpu_s: f64,
    pub cpu_user_exit: f64,
    pub cpu_sys_exit: f64,
    /// The PostgreSQL backends of the database (None on SQLite).
    pub backends: Option<BackendTotals>,
}

impl Outcome {
    /// The most polls of a node over the fewest.
    pub fn spread(&self) -> f64 {
        let max = self.nodes.iter().map(|n| n.polls).max().unwrap_or(0);
        let min = self.nodes.iter().map(|n| n.polls).min().unwrap_or(0);
        if min == 0 {
            f64::INFINITY
        } else {
            max as f64 / min as f64
        }
    }
}

/// `GET /metrics` of a node at `address`: (name, labels, value) of every sample.
fn scrape(address: &str) -> Vec<(String, HashMap<String, String>, f64)> {
    let Ok(addr) = address.parse::<std::net::SocketAddr>() else { return Vec::new() };
    let Ok(mut sock) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else { return Vec::new() };
    let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
    if sock.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return Vec::new();
    }
    let mut text = String::new();
    let _ = sock.read_to_string(&mut text);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let value: f64 = value.parse().ok()?;
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
                .collect();
            Some((name.to_string(), labels, value))
        })
        .collect()
}

/// Stop every node (SIGTERM), wait for them, and stop the bench with `msg`.
fn abandon(children: &mut [Child], msg: &str) -> ! {
    for c in children.iter() {
        terminate(c);
    }
    for c in children.iter_mut() {
        let _ = c.wait();
    }
    die(msg)
}

/// Run `k` nodes on the config at `config` (its database fresh: `db` on PostgreSQL) until
/// every one of `n_feeds` feeds was polled and every alert queued arrived, and measure them.
pub fn run_nodes(
    args: &Args,
    server: &Server,
    n_feeds: usize,
    config: &Path,
    dir: &Path,
    k: usize,
    db: Option<&FreshDb>,
) -> Outcome {
    server.reset_counters();
    server.keys.lock().unwrap().clear();
    // The server notes each feed's first request (to tell polls of no feed from slow ones).
    server.record.store(true, Ordering::SeqCst);
    let watcher = db.map(|d| BackendCpu::watch(&d.server, &d.name));
    let before = children_usage();
    let start = Instant::now();
    let start_utc = Utc::now();
    let mut logs: Vec<NodeLog> = Vec::new();
    let mut children: Vec<Child> = Vec::new();
    for i in 1..=k {
        let name = format!("n{i}");
        let log = dir.join(format!("{name}.log"));
        let child = pantau_command(args, config, &log).arg("run").arg("--node").arg(&name).spawn();
        match child {
            Ok(c) => children.push(c),
            Err(e) => abandon(&mut children, &format!("cannot start {}: {e}", args.pantau.display())),
        }
        logs.push(NodeLog::new(name, log));
    }
    let mut feeds: HashMap<String, u32> = HashMap::new();
    let deadline = start + Duration::from_secs(900);
    let (mut timed_out, mut stalled) = (false, false);
    let mut last_change = Instant::now();
    let mut last_seen = (0usize, 0u64);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        for (i, c) in children.iter_mut().enumerate() {
            if let Ok(Some(status)) = c.try_wait() {
                let log = logs[i].path.display().to_string();
                abandon(&mut children, &format!("node n{} exited early ({status}); see {log}", i + 1));
            }
        }
        for l in &mut logs {
            l.read(&mut feeds);
        }
        let queued: u64 = logs.iter().map(|l| l.alerts_queued).sum();
        let posts = server.posts.load(Ordering::SeqCst);
        if feeds.len() >= n_feeds && posts >= queued {
            break;
        }
        let polls: usize = logs.iter().map(|l| l.polls).sum();
        if (polls, posts) != last_seen {
            (last_seen, last_change) = ((polls, posts), Instant::now());
        } else if last_change.elapsed() >= Duration::from_secs(20) && server.polled.lock().unwrap().len() >= n_feeds {
            // Every feed was asked for, but some poll or alert never came: stop and report.
            stalled = true;
            break;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
    }
    let done = Instant::now();
    // The end of the work: the last alert's arrival, or the last poll's log line if later.
    let last_post = server.last_post.lock().unwrap().unwrap_or(start);
    let last_poll = logs
        .iter()
        .filter_map(|l| l.last_poll)
        .max()
        .and_then(|t| (t - start_utc).to_std().ok())
        .map_or(start, |d| start + d);
    let wall = if timed_out || stalled { done - start } else { last_post.max(last_poll).min(done) - start };
    let tps = ticks_per_second();
    let mut nodes: Vec<Node> = children
        .iter()
        .zip(&logs)
        .map(|(c, l)| Node {
            name: l.name.clone(),
            polls: 0,
            cpu_s: proc_cpu_ticks(c.id()).unwrap_or(0) as f64 / tps,
            peak_rss_kb: proc_kb(c.id(), "VmHWM:").unwrap_or(0),
            leases_feed: None,
            leases_sink: None,
            metric_polls: None,
            warnings: 0,
            errors: 0,
            samples: Vec::new(),
            log: l.path.clone(),
        })
        .collect();
    for (node, l) in nodes.iter_mut().zip(&logs) {
        let Some(address) = &l.address else { continue };
        let samples = scrape(address);
        let sum = |name: &str, kind: Option<&str>| {
            let matching = samples.iter().filter(|(n, labels, _)| {
                n == name && kind.is_none_or(|k| labels.get("kind").map(String::as_str) == Some(k))
            });
            let v: Vec<f64> = matching.map(|(_, _, v)| *v).collect();
            (!samples.is_empty()).then(|| v.iter().sum::<f64>() as u64)
        };
        node.leases_feed = sum("pantau_leases_taken_total", Some("feed"));
        node.leases_sink = sum("pantau_leases_taken_total", Some("sink"));
        node.metric_polls = sum("pantau_polls_total", None);
    }
    let backends = watcher.map(BackendCpu::finish);
    let (posts, unique_alerts, requests) = (
        server.posts.load(Ordering::SeqCst),
        server.keys.lock().unwrap().len(),
        server.ok.load(Ordering::SeqCst) + server.not_modified.load(Ordering::SeqCst),
    );
    server.record.store(false, Ordering::SeqCst);
    for c in &children {
        terminate(c);
    }
    for (i, c) in children.iter_mut().enumerate() {
        let status = c.wait().expect("wait for a node");
        if !status.success() {
            eprintln!("bench: node n{} exited with {status} after SIGTERM; see {}", i + 1, logs[i].path.display());
        }
    }
    let after = children_usage();
    // The shutdown's lines too (a lease not released, say).
    for l in &mut logs {
        l.read(&mut feeds);
    }
    for (node, l) in nodes.iter_mut().zip(&logs) {
        node.polls = l.polls;
        node.warnings = l.warnings;
        node.errors = l.errors;
        node.samples = l.samples.clone();
    }
    let polls: usize = logs.iter().map(|l| l.polls).sum();
    Outcome {
        wall,
        timed_out,
        stalled,
        feeds_polled: feeds.len(),
        duplicate_polls: polls.saturating_sub(feeds.len()),
        requests,
        new_items: logs.iter().map(|l| l.new_items).sum(),
        alerts_queued: logs.iter().map(|l| l.alerts_queued).sum(),
        posts,
        unique_alerts,
        cpu_s: nodes.iter().map(|n| n.cpu_s).sum(),
        cpu_user_exit: after.user - before.user,
        cpu_sys_exit: after.sys - before.sys,
        backends,
        nodes,
    }
}

/// The nodes measurement with its report: `k` nodes on a fresh database (PostgreSQL under
/// `--postgres`, else a SQLite file) with the bench's feeds and rules, /metrics served.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    args: &Args,
    server: &Server,
    metas: &[FeedMeta],
    rules: &[RuleSpec],
    port: u16,
    workdir: &Path,
    k: usize,
    total_items: usize,
    rep: &mut Report,
) {
    let dir = workdir.join("nodes");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| die(&format!("cannot create {}: {e}", dir.display())));
    let db = args.fresh_db("nodes");
    let database = db.as_ref().map_or("pantau.db", |d| d.url.as_str());
    let config = dir.join("pantau.toml");
    write_config(&config, port, metas, rules, args.daemon(database, true), None);
    let kind = if db.is_some() { "PostgreSQL" } else { "SQLite" };
    eprintln!("bench: {k} node(s) of `run` on {kind} until every feed was polled and every alert delivered …");
    let o = run_nodes(args, server, metas.len(), &config, &dir, k, db.as_ref());
    let stats = db.as_ref().and_then(pg::db_stats);
    drop(db);

    let wall = o.wall.as_secs_f64().max(1e-3);
    let items = total_items.max(1) as f64;
    let ips = total_items as f64 / wall;
    let per_item_us = 1e6 * o.cpu_s / items;
    let plural = if k == 1 { "" } else { "s" };
    let stopped = if o.timed_out {
        " (**timed out** after 15 min)"
    } else if o.stalled {
        " (**stalled**: nothing for 20 s)"
    } else {
        ""
    };
    rep.row(
        &format!("`run`, {k} node{plural} on {kind}: until every feed was polled once and every alert delivered"),
        format!("{wall:.2} s{stopped}"),
        "",
        None,
    );
    rep.row("  items/s (feeds/s)", format!("{ips:.0} ({:.0})", metas.len() as f64 / wall), "", None);
    rep.row(
        "  CPU of the nodes until done; per item",
        format!(
            "{:.2} s; {per_item_us:.0} µs (user + sys at exit: {:.2} s + {:.2} s)",
            o.cpu_s, o.cpu_user_exit, o.cpu_sys_exit
        ),
        "",
        None,
    );
    if let Some(b) = o.backends {
        let v = match b.cpu_s {
            Some(s) => format!(
                "{s:.2} s; {:.0} µs ({} backends); nodes + server: {:.0} µs per item",
                1e6 * s / items,
                b.backends,
                1e6 * (o.cpu_s + s) / items
            ),
            None => "not measured (the server's processes are not on this machine)".into(),
        };
        rep.row("  PostgreSQL server processes of the database: CPU; per item", v, "", None);
        if let Some(s) = b.cpu_s {
            rep.kv("nodes_pg_cpu_s", format!("{s:.2}"));
            rep.kv("nodes_pg_cpu_us_per_item", format!("{:.0}", 1e6 * s / items));
            rep.kv("nodes_total_cpu_us_per_item", format!("{:.0}", 1e6 * (o.cpu_s + s) / items));
        }
    }
    if let Some(st) = &stats {
        let polls: usize = o.nodes.iter().map(|n| n.polls).sum();
        let busiest: Vec<String> =
            st.tables.iter().map(|(t, changed, idx, seq)| format!("{t} {changed}/{idx}/{seq}")).collect();
        rep.row(
            "  PostgreSQL transactions (per poll); busiest tables: rows changed / index scans / sequential scans",
            format!(
                "{} ({:.0}); {}",
                st.transactions,
                st.transactions as f64 / polls.max(1) as f64,
                busiest.join(", ")
            ),
            "",
            None,
        );
        rep.kv("nodes_pg_transactions", st.transactions);
        rep.kv("nodes_pg_transactions_per_poll", format!("{:.0}", st.transactions as f64 / polls.max(1) as f64));
    }
    let spread = o.spread();
    let polls: Vec<String> = o.nodes.iter().map(|n| format!("{} {}", n.name, n.polls)).collect();
    rep.row(
        "  polls per node (most / fewest)",
        format!("{} ({spread:.2})", polls.join(", ")),
        if k > 1 { "≤ 1.5" } else { "" },
        (k > 1).then_some(spread <= 1.5),
    );
    rep.row(
        "  feeds polled / polls beyond one per feed / feed requests served",
        format!("{} of {} / {} / {}", o.feeds_polled, metas.len(), o.duplicate_polls, o.requests),
        "",
        None,
    );
    rep.row(
        "  items stored / alerts queued / delivered (distinct)",
        format!("{} of {total_items} / {} / {} ({})", o.new_items, o.alerts_queued, o.posts, o.unique_alerts),
        "",
        None,
    );
    let leases = |f: fn(&Node) -> Option<u64>| {
        o.nodes.iter().map(|n| f(n).map_or("?".to_string(), |v| v.to_string())).collect::<Vec<_>>().join(" / ")
    };
    rep.row(
        "  /metrics: leases taken on feeds; on the sink; polls (per node)",
        format!("{}; {}; {}", leases(|n| n.leases_feed), leases(|n| n.leases_sink), leases(|n| n.metric_polls)),
        "",
        None,
    );
    let peak = o.nodes.iter().map(|n| n.peak_rss_kb).max().unwrap_or(0);
    rep.row("  peak RSS of a node", format!("{:.1} MB", mb(peak)), "", None);
    let (warnings, errors): (usize, usize) = o.nodes.iter().fold((0, 0), |(w, e), n| (w + n.warnings, e + n.errors));
    rep.row("  WARN / ERROR lines in the nodes' logs", format!("{warnings} / {errors}"), "", None);
    for n in &o.nodes {
        for line in &n.samples {
            eprintln!("bench: {} ({}): {line}", n.name, n.log.display());
        }
    }

    rep.kv("nodes_k", k);
    rep.kv("nodes_db", kind);
    rep.kv("nodes_wall_s", format!("{wall:.3}"));
    rep.kv(
        "nodes_stopped",
        if o.timed_out {
            "timed_out"
        } else if o.stalled {
            "stalled"
        } else {
            "done"
        },
    );
    rep.kv("nodes_items_per_s", format!("{ips:.0}"));
    rep.kv("nodes_feeds_per_s", format!("{:.1}", metas.len() as f64 / wall));
    rep.kv("nodes_cpu_s", format!("{:.2}", o.cpu_s));
    rep.kv("nodes_cpu_us_per_item", format!("{per_item_us:.0}"));
    rep.kv("nodes_polls", o.nodes.iter().map(|n| format!("{}={}", n.name, n.polls)).collect::<Vec<_>>().join(","));
    rep.kv("nodes_spread", format!("{spread:.2}"));
    rep.kv("nodes_feeds_polled", o.feeds_polled);
    rep.kv("nodes_duplicate_polls", o.duplicate_polls);
    rep.kv("nodes_requests", o.requests);
    rep.kv("nodes_new_items", o.new_items);
    rep.kv("nodes_alerts_queued", o.alerts_queued);
    rep.kv("nodes_alerts_delivered", o.posts);
    rep.kv("nodes_alerts_unique", o.unique_alerts);
    rep.kv("nodes_leases_feed", leases(|n| n.leases_feed));
    rep.kv("nodes_leases_sink", leases(|n| n.leases_sink));
    rep.kv("nodes_peak_rss_mb", format!("{:.1}", mb(peak)));
    rep.kv("nodes_warnings", warnings);
    rep.kv("nodes_errors", errors);
}
