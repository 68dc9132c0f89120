//! Several nodes on one PostgreSQL database (#19): three nodes share 300 feeds and one of them is
//! killed mid-cycle; an SQLite database migrated to PostgreSQL sends nothing again; the server
//! vanishing under a running node (a restart) loses nothing; and the database password is
//! never printed.
//!
//! Every test needs a PostgreSQL server (`PANTAU_TEST_PG`, started by `scripts/test`); without one
//! each says SKIPPED and returns (in CI it fails instead).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{
    fresh_database, pantau, rss_item, run, show, shown_url, without_max_age, ConfigBuilder, Daemon, FeedServer,
    PgProxy, Request, Response, Server, TempDir,
};

// ---------------------------------------------------------------------------------------------
// Helpers.

/// One webhook request as the receiver saw it, and when.
#[derive(Debug, Clone)]
struct Arrival {
    /// The `Idempotency-Key` header.
    key: String,
    /// The payload's `id` (the alert id, which the key must equal).
    id: String,
    /// The payload's `item.id` (the guid of the item that alerted).
    item: String,
    at: Instant,
}

/// A webhook receiver that answers 200 and notes when each alert arrived (the rate check needs
/// the times, which `Receiver` does not keep).
struct Hook {
    server: Server,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
}

impl Hook {
    fn start() -> Hook {
        let arrivals: Arc<Mutex<Vec<Arrival>>> = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&arrivals);
        let server = Server::start(move |req: &Request| {
            if req.method == "POST" {
                let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
                seen.lock().unwrap().push(Arrival {
                    key: req.header("idempotency-key").unwrap_or_default().to_string(),
                    id: body["id"].as_str().unwrap_or_default().to_string(),
                    item: body["item"]["id"].as_str().unwrap_or_default().to_string(),
                    at: Instant::now(),
                });
            }
            Response::status(200)
        });
        Hook { server, arrivals }
    }

    fn url(&self) -> String {
        self.server.url("/hook")
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.lock().unwrap().clone()
    }

    /// The distinct idempotency keys received.
    fn keys(&self) -> BTreeSet<String> {
        self.arrivals().into_iter().map(|a| a.key).collect()
    }

    /// The distinct items alerted.
    fn items(&self) -> BTreeSet<String> {
        self.arrivals().into_iter().map(|a| a.item).collect()
    }
}

/// Poll `done` every 100 ms until it holds. Fails at once, with the logs, when one of `nodes`
/// (but the one at `dead`, killed on purpose) has exited; and once `deadline` has passed.
fn wait_for(
    nodes: &mut [(&str, Daemon)],
    dead: Option<usize>,
    deadline: Instant,
    mut done: impl FnMut(&[(&str, Daemon)]) -> bool,
    what: impl Fn(&[(&str, Daemon)]) -> String,
) {
    loop {
        if done(nodes) {
            return;
        }
        for i in (0..nodes.len()).filter(|&i| Some(i) != dead) {
            if let Some(status) = nodes[i].1.try_wait() {
                panic!("node {} exited ({status}) while waiting for: {}\n{}", nodes[i].0, what(nodes), logs(nodes));
            }
        }
        assert!(Instant::now() < deadline, "gave up waiting: {}\n{}", what(nodes), logs(nodes));
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The end of every node's log, for assertion messages.
fn logs(nodes: &[(&str, Daemon)]) -> String {
    let one = |(n, d): &(&str, Daemon)| {
        let log = d.log();
        let (polls, errors) = (polls_logged(&log), log.lines().filter(|l| l.contains(" ERROR ")).count());
        format!("--- {n}: {polls} polls, {errors} ERROR lines; the last 40 lines ---\n{}", tail(&log, 40))
    };
    nodes.iter().map(one).collect::<Vec<_>>().join("\n")
}

/// The feed of each alert, from the `rule matched feed=F … alert=ID` lines of a log.
fn alert_feeds(log: &str) -> BTreeMap<String, String> {
    let field = |line: &str, key: &str| -> Option<String> {
        let at = line.find(&format!(" {key}="))? + key.len() + 2;
        line[at..].split_whitespace().next().map(String::from)
    };
    log.lines()
        .filter(|l| l.contains("rule matched"))
        .filter_map(|l| Some((field(l, "alert")?, field(l, "feed")?)))
        .collect()
}

/// What each node's log says about the feeds of the alerts `missing` (the feeds from `feeds`,
/// the alert → feed map of the SQLite run), for the message of a missing alert.
fn about(missing: &[String], feeds: &BTreeMap<String, String>, nodes: &[(&str, Daemon)]) -> String {
    let mut out = String::new();
    for key in missing.iter().take(5) {
        let feed = feeds.get(key).map_or("?", String::as_str);
        out.push_str(&format!("alert {key} of feed {feed}:\n{}", about_feed(feed, Some(key), nodes)));
    }
    out
}

/// The lines of each node's log about `feed` (and the alert `key`).
fn about_feed(feed: &str, key: Option<&str>, nodes: &[(&str, Daemon)]) -> String {
    let mut out = String::new();
    let (tagged, last) = (format!("feed={feed} "), format!("feed={feed}"));
    for (name, d) in nodes {
        for line in d.log().lines().filter(|l| {
            l.contains(&tagged) || l.ends_with(&last) || key.is_some_and(|k| l.contains(&format!("alert={k}")))
        }) {
            out.push_str(&format!("  {name}: {line}\n"));
        }
    }
    out
}

/// What `pantau alerts --json` says of the alerts `keys`, for assertion messages.
fn stored_alerts(config: &Path, keys: &[String]) -> String {
    let out = run(config, &["alerts", "--json", "--limit", "100000"]);
    let Ok(serde_json::Value::Array(alerts)) = serde_json::from_slice(&out.stdout) else {
        return format!("pantau alerts --json failed: {}", show(&out));
    };
    let found: Vec<String> =
        alerts.iter().filter(|a| keys.iter().any(|k| a["id"] == k.as_str())).map(|a| a.to_string()).collect();
    format!("pantau alerts has {} of them: {found:?}", found.len())
}

/// The path of feed `i` on the feed server.
fn feed_path(i: usize) -> String {
    format!("/f/{i:03}.rss")
}

/// Whether item `j` (0 or 1) of feed `i` mentions senjata: one item in six, spread over the feeds.
fn mentions_senjata(i: usize, j: usize) -> bool {
    (2 * i + j).is_multiple_of(6)
}

/// Words for the generated headlines, so that no two items read alike (stories are off in these
/// configs anyway, but items that look like reprints of each other would test something else).
const WORDS: &[&str] = &[
    "harga", "beras", "naik", "banjir", "jakarta", "pemilu", "kereta", "cepat", "bandung", "pasar", "saham", "rupiah",
    "menguat", "gempa", "sulawesi", "panen", "kopi", "aceh", "sekolah", "libur", "timnas", "menang", "listrik",
    "padam", "bali", "wisata", "nelayan", "laut", "kebun", "sawit",
];

/// A headline for item `j` of feed `i`: a few words picked by a hash of (i, j), and "senjata"
/// when the item is one that alerts.
fn headline(i: usize, j: usize) -> String {
    let mut h = (i as u64 * 1_000_003 + j as u64 * 7919).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut words = Vec::new();
    for _ in 0..4 {
        words.push(WORDS[(h % WORDS.len() as u64) as usize]);
        h = h.rotate_left(17).wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ (h >> 29);
    }
    let topic = if mentions_senjata(i, j) { "uji senjata" } else { "kabar" };
    format!("{} {topic} {} {} nomor {i}-{j}", words[0], words[1], words[2])
}

/// An RSS document titled `title` with `items` (from [`rss_item`]).
fn rss(title: &str, items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>{title}</title>\
         <link>https://news.example.id/</link><description>{title}</description>{}</channel></rss>",
        items.concat()
    )
}

/// Feed `i`: two items with their own guids and links.
fn feed_doc(i: usize) -> String {
    let items: Vec<String> =
        (0..2).map(|j| rss_item(&format!("f{i:03}-{j}"), &headline(i, j), &format!("ringkasan {i} {j}"))).collect();
    rss(&format!("Kanal {i}"), &items)
}

/// How many items of feeds `0..n` mention senjata.
fn senjata_items(n: usize) -> usize {
    (0..n).map(|i| (0..2).filter(|&j| mentions_senjata(i, j)).count()).sum()
}

/// Feeds polled at once (`[daemon] concurrency` of one node, and `per_host`, which holds for
/// all nodes together: every feed is on the one test host).
const NODE_CONCURRENCY: usize = 4;
/// The webhook sink's `rate`, per second.
const RATE: usize = 20;
/// The webhook sink's `concurrency`: requests in flight at once (their starts spaced by `rate`).
const SINK_CONCURRENCY: usize = 4;

/// The config of these tests: feeds `0..feeds` of `server` (each due once an hour), the rule
/// "senjata" (the word) to the webhook sink "hook" at `hook` with [`RATE`] and
/// [`SINK_CONCURRENCY`], a 3 s lease, and stories off (reprint grouping would make "the first
/// item of a story" depend on which node polled first).
fn config(database: &str, server: &FeedServer, feeds: usize, hook: &str) -> String {
    let mut c = ConfigBuilder::new().daemon(&format!(
        "database = \"{database}\"\nlease = \"3s\"\nconcurrency = {NODE_CONCURRENCY}\nper_host = {NODE_CONCURRENCY}\n\
         near_duplicate = \"off\"\nshutdown_grace = \"3s\""
    ));
    for i in 0..feeds {
        c = c.feed(&format!("f{i:03}"), &server.url(&feed_path(i)), "interval = \"1h\"");
    }
    c.rule("senjata", "senjata", "sinks = [\"hook\"]")
        .webhook("hook", hook, &format!("rate = \"{RATE}/s\"\nconcurrency = {SINK_CONCURRENCY}"))
        .build()
}

/// `pantau -c CONFIG run --node NAME` with its stderr in `DIR/NAME.log`.
fn node(config: &Path, dir: &Path, name: &str) -> Daemon {
    let mut cmd = pantau();
    cmd.arg("-c").arg(config).args(["run", "--node", name]).stdout(Stdio::null());
    Daemon::spawn_logged(&mut cmd, &dir.join(format!("{name}.log")))
}

/// The last `n` lines of a log, for assertion messages.
fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// How many feeds a node's log says it polled (one "polled feed" line per committed poll).
fn polls_logged(log: &str) -> usize {
    log.lines().filter(|l| l.contains("polled feed")).count()
}

/// `pantau ARGS --json` on `config`, parsed (exit 0 required).
fn json(config: &Path, args: &[&str]) -> serde_json::Value {
    let out = run(config, args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", show(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", show(&out)))
}

/// The most arrivals within any one second (half-open windows starting at each arrival).
fn busiest_second(arrivals: &[Arrival]) -> usize {
    let mut times: Vec<Instant> = arrivals.iter().map(|a| a.at).collect();
    times.sort();
    let mut most = 0;
    let mut end = 0;
    for start in 0..times.len() {
        while end < times.len() && times[end] < times[start] + Duration::from_secs(1) {
            end += 1;
        }
        most = most.max(end - start);
    }
    most
}

// ---------------------------------------------------------------------------------------------
// (a) Three nodes, 300 feeds, one node killed.

/// Feeds in the shared-work test.
const FEEDS: usize = 300;
/// How long the feed server takes to answer each poll, so that one cycle takes seconds and the
/// kill lands in the middle of it: `per_host` holds across the nodes and every feed is on one
/// host, so 300 polls at 4 at a time take about 4 s.
const FEED_DELAY: Duration = Duration::from_millis(50);
/// The victim is killed once its log shows this many polls.
const KILL_AFTER_POLLS: usize = 10;

#[test]
fn three_nodes_share_300_feeds_and_survive_a_killed_node() {
    let Some(url) = fresh_database("share") else { return };
    let feeds = FeedServer::start();
    for i in 0..FEEDS {
        feeds.set_response(&feed_path(i), Response::body(200, feed_doc(i)).delayed(FEED_DELAY));
    }
    let alerting = senjata_items(FEEDS);

    // What should arrive: the same config on SQLite, one `pantau once`, gives the alert ids (an
    // id is a hash of feed, item, rule and sink, so it does not depend on the database).
    let oracle_dir = TempDir::new("share-sqlite");
    let oracle = Hook::start();
    let oracle_cfg = oracle_dir.config(&config("oracle.db", &feeds, FEEDS, &oracle.url()));
    let out = run(&oracle_cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let expected = oracle.keys();
    let oracle_feeds = alert_feeds(&String::from_utf8_lossy(&out.stderr));
    assert_eq!(expected.len(), alerting, "one alert per item that says senjata, on SQLite");
    assert_eq!(oracle.arrivals().len(), alerting, "one `once` on SQLite sends each alert once");
    let polls_before = feeds.server.requests().len();

    // Three nodes on a fresh PostgreSQL database, started together.
    let dir = TempDir::new("share-pg");
    let hook = Hook::start();
    let cfg = dir.config(&config(&url, &feeds, FEEDS, &hook.url()));
    let mut nodes: Vec<(&str, Daemon)> =
        ["n1", "n2", "n3"].into_iter().map(|n| (n, node(&cfg, dir.path(), n))).collect();
    let started = Instant::now();

    // The first node seen polling (KILL_AFTER_POLLS committed polls) is killed mid-cycle.
    let mut victim = None;
    wait_for(
        &mut nodes,
        None,
        started + Duration::from_secs(60),
        |nodes| {
            victim = nodes.iter().position(|(_, d)| polls_logged(&d.log()) >= KILL_AFTER_POLLS);
            victim.is_some()
        },
        |_| format!("a node that polled {KILL_AFTER_POLLS} feeds"),
    );
    let victim = victim.unwrap();
    nodes[victim].1.kill();
    let killed = nodes[victim].0;
    let killed_at = Instant::now();
    let polled_when_killed = feeds.server.requests().len() - polls_before;
    assert!(
        polled_when_killed < FEEDS,
        "the cycle was over ({polled_when_killed} polls) before {killed} could be killed: nothing to take over"
    );

    // Every alert arrives: the victim's feeds are taken over once its leases expire.
    wait_for(
        &mut nodes,
        Some(victim),
        started + Duration::from_secs(120),
        |_| hook.keys().is_superset(&expected),
        |nodes| {
            let missing: Vec<String> = expected.difference(&hook.keys()).cloned().collect();
            format!(
                "every alert; {} of {} still missing ({killed} was killed {:?} after the start)\n{}{}",
                missing.len(),
                expected.len(),
                killed_at - started,
                about(&missing, &oracle_feeds, nodes),
                stored_alerts(&cfg, &missing)
            )
        },
    );
    let polled = |feeds: &FeedServer| -> BTreeMap<String, usize> {
        let mut hits = BTreeMap::new();
        for r in &feeds.server.requests()[polls_before..] {
            *hits.entry(r.path.clone()).or_insert(0) += 1;
        }
        hits
    };
    wait_for(
        &mut nodes,
        Some(victim),
        started + Duration::from_secs(120),
        |_| polled(&feeds).len() == FEEDS,
        |_| format!("every feed polled; {} of {FEEDS} were", polled(&feeds).len()),
    );

    // From here on every broken promise is collected, so one run reports them all.
    let mut broken: Vec<String> = Vec::new();

    // Nothing but the expected alerts, each under its own id.
    let arrivals = hook.arrivals();
    let unexpected: Vec<&Arrival> = arrivals.iter().filter(|a| !expected.contains(&a.key)).collect();
    if !unexpected.is_empty() {
        broken.push(format!("{} alerts that SQLite did not raise: {unexpected:?}", unexpected.len()));
    }
    if let Some(a) = arrivals.iter().find(|a| a.key != a.id) {
        broken.push(format!("the Idempotency-Key is not the alert id: {a:?}"));
    }
    // A repeat is a send the victim had in flight (at most the sink's concurrency) whose outcome
    // it could not record before it died; the node taking the sink over sends it again under
    // the same key. Two nodes never create one alert twice (the keys are all expected), and a
    // sink drained by one node at a time repeats nothing else.
    let repeats = arrivals.len() - hook.keys().len();
    let mut by_key: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &arrivals {
        *by_key.entry(&a.key).or_insert(0) += 1;
    }
    let repeated: Vec<(&str, usize)> = by_key.into_iter().filter(|&(_, n)| n > 1).collect();
    if repeats > SINK_CONCURRENCY {
        broken.push(format!(
            "{repeats} repeated deliveries (at most the {SINK_CONCURRENCY} in flight on the killed node): {repeated:?}"
        ));
    }

    // Who stored each poll ("polled feed" is logged once a poll is stored).
    let mut recorded: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, d) in &nodes {
        for line in d.log().lines().filter(|l| l.contains("polled feed")) {
            if let Some(feed) = line.split(" feed=").nth(1).and_then(|r| r.split_whitespace().next()) {
                recorded.entry(feed.to_string()).or_default().push(name);
            }
        }
    }
    let feed_of = |path: &str| format!("f{}", path.trim_start_matches("/f/").trim_end_matches(".rss"));
    // What the nodes said about some feeds, for the messages.
    let said = |feeds: &[&String]| -> String {
        feeds.iter().take(6).map(|f| format!("{f}:\n{}", about_feed(f, None, &nodes))).collect()
    };

    // Each feed polled once, and never more than twice: a second poll repeats one of the killed
    // node's polls, either one it had fetched but not stored (at most its NODE_CONCURRENCY polls
    // in flight), or one it had stored but had not yet recorded the next poll time of (the
    // lease is given back only after that; again at most NODE_CONCURRENCY polls just finished).
    // A feed stored by two nodes that lived, or twice by one, was polled again although nothing
    // was in doubt.
    let hits = polled(&feeds);
    let over: Vec<(&String, &usize)> = hits.iter().filter(|&(_, &n)| n > 2).collect();
    if !over.is_empty() {
        broken.push(format!("{} feeds polled more than twice in one cycle: {over:?}", over.len()));
    }
    let twice: Vec<String> = hits.iter().filter(|&(_, &n)| n == 2).map(|(p, _)| feed_of(p)).collect();
    let (stored_by_killed, not_stored_by_killed): (Vec<&String>, Vec<&String>) =
        twice.iter().partition(|f| recorded.get(*f).is_some_and(|by| by.contains(&killed)));
    if not_stored_by_killed.len() > NODE_CONCURRENCY {
        broken.push(format!(
            "{} feeds polled twice and stored once, by a node that lived (at most the {NODE_CONCURRENCY} polls \
             in flight on the killed node): {not_stored_by_killed:?}\n{}",
            not_stored_by_killed.len(),
            said(&not_stored_by_killed)
        ));
    }
    if stored_by_killed.len() > NODE_CONCURRENCY {
        broken.push(format!(
            "{} feeds stored by the killed node and polled again (at most the {NODE_CONCURRENCY} it had just \
             polled): {stored_by_killed:?}\n{}",
            stored_by_killed.len(),
            said(&stored_by_killed)
        ));
    }
    let by_survivors: Vec<&String> =
        recorded.iter().filter(|(_, by)| by.iter().filter(|n| **n != killed).count() > 1).map(|(f, _)| f).collect();
    if !by_survivors.is_empty() {
        broken.push(format!(
            "{} feeds polled and stored more than once by nodes that lived: {by_survivors:?}\n{}",
            by_survivors.len(),
            said(&by_survivors)
        ));
    }

    // The survivors shared the rest: each polled something.
    for (i, (name, d)) in nodes.iter().enumerate() {
        if i != victim && polls_logged(&d.log()) == 0 {
            broken.push(format!("{name} polled nothing: the work was not shared"));
        }
    }

    // The sink's rate holds across nodes. One node spaces the starts of its sends 1/RATE apart,
    // so a one-second window holds at most RATE starts (half-open window); the receiver sees
    // arrivals, which jitter around the starts by the time a request takes, so one more start
    // can fall into a window when the jitter reaches one spacing (50 ms), and one more again on
    // a loaded machine (2 cores shared by three nodes, PostgreSQL and the test). Two nodes
    // draining the sink at once would show about twice RATE.
    let busiest = busiest_second(&arrivals);
    if busiest > RATE + 2 {
        broken.push(format!("{busiest} alerts arrived within one second; the sink's rate is {RATE}/s"));
    }

    // The survivors are listed, live; the victim too (gone only after three leases of silence).
    let listed = json(&cfg, &["nodes", "--json"]);
    let listed = listed.as_array().unwrap_or_else(|| panic!("nodes --json is not an array: {listed}"));
    for (i, (name, _)) in nodes.iter().enumerate() {
        match listed.iter().find(|n| n["name"] == *name) {
            None => broken.push(format!("{name} missing from pantau nodes: {listed:?}")),
            Some(n) if i != victim && n["live"] != true => broken.push(format!("{name} is not live: {n}")),
            Some(_) => {}
        }
    }
    eprintln!(
        "three nodes: {killed} killed after {:?} ({polled_when_killed} polls in); {} alerts, {repeats} repeated; \
         {} feeds polled twice {:?}; busiest second {busiest}; polls per node {:?}",
        killed_at - started,
        expected.len(),
        twice.len(),
        twice
            .iter()
            .map(|f| format!("{f} stored by {:?}", recorded.get(f).cloned().unwrap_or_default()))
            .collect::<Vec<_>>(),
        nodes.iter().map(|(n, d)| (*n, polls_logged(&d.log()))).collect::<Vec<_>>()
    );
    assert!(
        broken.is_empty(),
        "{} broken ({killed} was killed {:?} after the start, {polled_when_killed} polls in):\n- {}\n{}",
        broken.len(),
        killed_at - started,
        broken.join("\n- "),
        logs(&nodes)
    );

    for (i, (name, d)) in nodes.into_iter().enumerate() {
        if i != victim {
            let log = d.log();
            assert_eq!(d.sigterm_and_wait(), 0, "{name} stops cleanly:\n{}", tail(&log, 40));
        }
    }
}

/// The case behind a rare failure of the test above, made certain: a node that starts while
/// another is polling a feed must not take that unfinished poll for a finished one. When the
/// polling node then dies, the feed is polled again once its lease has run out, not one
/// interval (an hour here) after the dead node's attempt.
#[test]
fn a_node_started_during_another_nodes_poll_takes_the_feed_over_when_that_node_dies() {
    let Some(url) = fresh_database("takeover") else { return };
    let feeds = FeedServer::start();
    // The first poll hangs, so that n1 is in the middle of it while n2 starts.
    feeds.set_response(&feed_path(0), Response::body(200, feed_doc(0)).delayed(Duration::from_secs(20)));
    let hook = Hook::start();
    let dir = TempDir::new("takeover");
    let cfg = dir.config(&config(&url, &feeds, 1, &hook.url()));
    let mut nodes = vec![("n1", node(&cfg, dir.path(), "n1"))];
    wait_for(
        &mut nodes,
        None,
        Instant::now() + Duration::from_secs(30),
        |_| !feeds.server.requests().is_empty(),
        |_| "n1 polling the feed".to_string(),
    );
    nodes.push(("n2", node(&cfg, dir.path(), "n2")));
    nodes[1].1.wait_for_log("scheduler started");

    // n1 dies in the middle of its poll; the feed answers at once from now on.
    feeds.set(&feed_path(0), feed_doc(0));
    nodes[0].1.kill();
    let killed_at = Instant::now();
    wait_for(
        &mut nodes,
        Some(0),
        killed_at + Duration::from_secs(30),
        |_| hook.arrivals().len() >= senjata_items(1),
        |nodes| {
            format!(
                "the alert of f000 within 30 s of n1's death (lease 3 s, interval 1 h); pantau feeds says:\n{}\n{}",
                String::from_utf8_lossy(&run(&cfg, &["feeds"]).stdout),
                about_feed("f000", None, nodes)
            )
        },
    );
    let (_, n2) = nodes.pop().unwrap();
    assert_eq!(n2.sigterm_and_wait(), 0);
}

// ---------------------------------------------------------------------------------------------
// (b) SQLite migrated to PostgreSQL.

#[test]
fn migrate_then_once_sends_nothing_again() {
    let Some(url) = fresh_database("migrate") else { return };
    const N: usize = 12;
    let feeds = FeedServer::start();
    for i in 0..N {
        feeds.set(&feed_path(i), feed_doc(i));
    }
    let hook = Hook::start();
    let dir = TempDir::new("migrate");
    let sqlite_cfg = dir.config(&config("state.db", &feeds, N, &hook.url()));

    // On SQLite: one cycle delivers the alerts.
    let out = run(&sqlite_cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let delivered = hook.keys();
    assert_eq!(delivered.len(), senjata_items(N), "{}", show(&out));
    let sent = hook.arrivals().len();

    // Copied into the empty PostgreSQL database, with counts.
    let out = run(&sqlite_cfg, &["migrate", "--to", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for (count, what) in [(2 * N, "items"), (delivered.len(), "alerts")] {
        assert!(
            said.contains(&count.to_string()) && said.to_lowercase().contains(what),
            "migrate reports how many {what} it copied ({count}): {}",
            show(&out)
        );
    }
    // The target is no longer empty: a second migrate is refused.
    let out = run(&sqlite_cfg, &["migrate", "--to", &url]);
    assert_eq!(out.status.code(), Some(1), "a second migrate into the same database: {}", show(&out));
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(said.to_lowercase().contains("empty"), "the refusal says the target is not empty: {}", show(&out));

    // The same config on the PostgreSQL database: a cycle knows every item and alert.
    let pg_text = config(&url, &feeds, N, &hook.url());
    let pg_cfg = dir.path().join("pg.toml");
    std::fs::write(&pg_cfg, without_max_age(&pg_text)).unwrap();
    let out = run(&pg_cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let after = hook.arrivals();
    let new_keys: Vec<&str> = after.iter().map(|a| a.key.as_str()).filter(|k| !delivered.contains(*k)).collect();
    assert!(new_keys.is_empty(), "alerts raised again after migrate: {new_keys:?}\n{}", show(&out));
    assert_eq!(after.len(), sent, "delivered alerts sent again after migrate: {:?}\n{}", &after[sent..], show(&out));

    // The inspection commands read the copied rows from PostgreSQL.
    let alerts = json(&pg_cfg, &["alerts", "--json", "--limit", "1000"]);
    let alerts = alerts.as_array().unwrap();
    let ids: BTreeSet<String> = alerts.iter().map(|a| a["id"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(ids, delivered, "pantau alerts lists the copied alerts: {alerts:?}");
    assert!(alerts.iter().all(|a| a["state"] == "delivered"), "still delivered: {alerts:?}");
    let items = json(&pg_cfg, &["items", "--json", "--limit", "1000"]);
    assert_eq!(items.as_array().unwrap().len(), 2 * N, "pantau items lists the copied items: {items}");
    let listed = json(&pg_cfg, &["feeds", "--json"]);
    let names: BTreeSet<String> =
        listed.as_array().unwrap().iter().filter_map(|f| f["name"].as_str().map(String::from)).collect();
    assert_eq!(names, (0..N).map(|i| format!("f{i:03}")).collect(), "pantau feeds lists the copied feeds");
    let stored: u64 = listed.as_array().unwrap().iter().filter_map(|f| f["items"].as_u64()).sum();
    assert_eq!(stored, 2 * N as u64, "{listed}");
}

// ---------------------------------------------------------------------------------------------
// (c) The server restarts under a running node.

/// Matching items of round `r`: guid `r{r}-{k}`.
fn round(r: usize, n: usize) -> Vec<String> {
    (0..n)
        .map(|k| rss_item(&format!("r{r}-{k}"), &format!("Putaran {r}: uji senjata ke-{k} di wilayah {r}{k}"), "rudal"))
        .collect()
}

#[test]
fn postgres_cut_under_a_running_node_loses_nothing() {
    let Some(url) = fresh_database("cut") else { return };
    let proxy = PgProxy::start(&url);
    let feeds = FeedServer::start();
    let quiet = rss_item("q-0", "Harga beras naik lagi", "pasar");
    let mut published = vec![quiet];
    published.extend(round(1, 2));
    feeds.set("/world.rss", rss("Dunia", &published));
    let hook = Hook::start();
    let dir = TempDir::new("pg-cut");
    let text = ConfigBuilder::new()
        .daemon(&format!(
            "database = \"{}\"\nlease = \"3s\"\nnear_duplicate = \"off\"\nshutdown_grace = \"3s\"",
            proxy.url(&url)
        ))
        .feed("world", &feeds.url("/world.rss"), "interval = \"1s\"")
        .rule("senjata", "senjata", "sinks = [\"hook\"]")
        .webhook("hook", &hook.url(), "")
        .build();
    let cfg = dir.config(&text);
    let mut nodes = [("solo", node(&cfg, dir.path(), "solo"))];
    let want = |rounds: &[(usize, usize)]| -> BTreeSet<String> {
        rounds.iter().flat_map(|&(r, n)| (0..n).map(move |k| format!("r{r}-{k}"))).collect()
    };
    let arrived = |want: &BTreeSet<String>, nodes: &mut [(&str, Daemon)]| {
        let deadline = Instant::now() + Duration::from_secs(60);
        let what = |_: &[(&str, Daemon)]| format!("alerts for {want:?}, got {:?}", hook.items());
        wait_for(nodes, None, deadline, |_| hook.items().is_superset(want), what)
    };
    arrived(&want(&[(1, 2)]), &mut nodes);

    // The server goes away for 5 s; meanwhile the feed publishes new matching items.
    let forwarded = proxy.forwarded();
    proxy.cut(Duration::from_secs(5));
    published.extend(round(2, 3));
    feeds.set("/world.rss", rss("Dunia", &published));
    nodes[0].1.wait_for_log("database call failed");

    // Once it is back, the node goes on by itself and every alert arrives.
    arrived(&want(&[(1, 2), (2, 3)]), &mut nodes);
    assert!(!proxy.is_cut(), "round 2 arrived while the server was away?");
    let log = nodes[0].1.wait_for_log("database works again");
    assert!(proxy.refused() > 0, "the node never tried the server during the cut:\n{}", tail(&log, 60));
    assert!(proxy.forwarded() > forwarded, "the node reconnected through the proxy");

    // And it keeps working: a later item alerts too.
    published.extend(round(3, 1));
    feeds.set("/world.rss", rss("Dunia", &published));
    arrived(&want(&[(1, 2), (2, 3), (3, 1)]), &mut nodes);

    // Nothing else alerted, and each item under one key (a repeat, if any, keeps its key).
    let arrivals = hook.arrivals();
    let mut keys_by_item: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for a in &arrivals {
        keys_by_item.entry(&a.item).or_default().insert(&a.key);
    }
    assert_eq!(
        keys_by_item.keys().map(|k| k.to_string()).collect::<BTreeSet<_>>(),
        want(&[(1, 2), (2, 3), (3, 1)]),
        "only the matching items alerted"
    );
    assert!(keys_by_item.values().all(|k| k.len() == 1), "one key per item: {keys_by_item:?}");
    let [(_, node)] = nodes;
    assert_eq!(node.sigterm_and_wait(), 0);
}

/// The proxy itself: it forwards, a cut breaks the open connection and refuses new ones, and
/// after the cut connections work again (so test (c) tests pantau, not the proxy).
#[test]
fn the_postgres_proxy_forwards_and_cuts() {
    let Some(url) = fresh_database("proxy") else { return };
    let proxy = PgProxy::start(&url);
    let through = proxy.url(&url);
    let one = |client: &mut postgres::Client| client.query_one("SELECT 1::INT4", &[]).map(|r| r.get::<_, i32>(0));
    let mut client = postgres::Client::connect(&through, postgres::NoTls).expect("connect through the proxy");
    assert_eq!(one(&mut client).unwrap(), 1);
    proxy.cut(Duration::from_secs(2));
    assert!(one(&mut client).is_err(), "the open connection is closed by the cut");
    assert!(postgres::Client::connect(&through, postgres::NoTls).is_err(), "a new connection is refused");
    assert!(proxy.refused() >= 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut client = loop {
        match postgres::Client::connect(&through, postgres::NoTls) {
            Ok(c) => break c,
            Err(e) => assert!(Instant::now() < deadline, "no connection after the cut: {e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!proxy.is_cut());
    assert_eq!(one(&mut client).unwrap(), 1);
}

// ---------------------------------------------------------------------------------------------
// (d) The password of the database URL.

/// Run `cmd` to completion with `RUST_LOG=debug` (every crate, the PostgreSQL client's too)
/// and return stdout and stderr together.
fn output_of(cmd: &mut Command) -> String {
    let out = cmd.env("RUST_LOG", "debug").output().expect("run pantau");
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn postgres_url_with_password_is_never_logged() {
    let Some(url) = fresh_database("secret") else { return };
    // The test server trusts loopback, so any password is accepted and the URL still works.
    let password = format!("Pw{}x9QzSecret", std::process::id());
    let u = url::Url::parse(&url).unwrap();
    let (user, host, port, db) = (u.username(), u.host_str().unwrap(), u.port().unwrap_or(5432), u.path());
    let feeds = FeedServer::start();
    feeds.set(&feed_path(0), feed_doc(0));
    let hook = Hook::start();
    let dir = TempDir::new("pg-secret");
    let write = |file: &str, database: &str| -> PathBuf {
        let p = dir.path().join(file);
        std::fs::write(&p, without_max_age(&config(database, &feeds, 1, &hook.url()))).unwrap();
        p
    };
    // The password from the environment, written in the URL, and on a server that is not there
    // (the connection error is where a URL most often leaks).
    let from_env = write("env.toml", &format!("postgres://{user}:${{PANTAU_TEST_PG_PASSWORD}}@{host}:{port}{db}"));
    let literal = write("literal.toml", &format!("postgres://{user}:{password}@{host}:{port}{db}"));
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nowhere =
        write("nowhere.toml", &format!("postgres://{user}:${{PANTAU_TEST_PG_PASSWORD}}@127.0.0.1:{closed_port}{db}"));

    let cmd = |config: &Path, args: &[&str]| -> Command {
        let mut c = pantau();
        c.arg("-c").arg(config).args(args).env("PANTAU_TEST_PG_PASSWORD", &password);
        c
    };
    let mut said: Vec<(String, String)> = Vec::new();
    for (name, config) in [("env", &from_env), ("literal", &literal), ("nowhere", &nowhere)] {
        for args in
            [&["check"][..], &["nodes"], &["nodes", "--json"], &["once", "--node", "once"], &["alerts"], &["feeds"]]
        {
            said.push((format!("{name}: {}", args.join(" ")), output_of(&mut cmd(config, args))));
        }
    }
    // `check` accepts the URL with its password from the environment.
    let out = cmd(&from_env, &["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // `run`, until it has started (or, on the missing server, for a few seconds).
    for (name, config) in [("env", &from_env), ("literal", &literal), ("nowhere", &nowhere)] {
        let log = dir.path().join(format!("run-{name}.log"));
        let stdout = dir.path().join(format!("run-{name}.out"));
        let mut c = cmd(config, &["run", "--node", name]);
        c.env("RUST_LOG", "debug").stdout(Stdio::from(File::create(&stdout).unwrap()));
        let mut daemon = Daemon::spawn_logged(&mut c, &log);
        let until = Instant::now() + Duration::from_secs(if name == "nowhere" { 5 } else { 30 });
        while Instant::now() < until && daemon.try_wait().is_none() && !daemon.log().contains("node started") {
            std::thread::sleep(Duration::from_millis(100));
        }
        if name != "nowhere" {
            let text = daemon.log();
            assert!(text.contains("node started"), "run on {name} never started:\n{}", tail(&text, 40));
            // A little more: the first polls and deliveries are logged too.
            std::thread::sleep(Duration::from_secs(2));
        }
        if daemon.try_wait().is_none() {
            daemon.sigterm();
            let until = Instant::now() + Duration::from_secs(15);
            while daemon.try_wait().is_none() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let text = daemon.stop();
        said.push((
            format!("{name}: run"),
            format!("{}\n{text}", std::fs::read_to_string(&stdout).unwrap_or_default()),
        ));
    }

    let leaks: Vec<&String> = said.iter().filter(|(_, text)| text.contains(&password)).map(|(what, _)| what).collect();
    assert!(
        leaks.is_empty(),
        "the database password was printed by: {leaks:?}\n{}",
        said.iter()
            .filter(|(_, text)| text.contains(&password))
            .map(|(what, text)| format!("--- {what} ---\n{}", tail(&text.replace(&password, "<PASSWORD>"), 30)))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The commands did reach the database (so the check is not vacuous): the nodes of `once`
    // and `run` are listed.
    let out = cmd(&from_env, &["nodes", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert!(
        listed.as_array().is_some_and(|a| a.iter().any(|n| n["name"] == "env")),
        "{listed} (url {})",
        shown_url(&url)
    );
}

#[test]
fn two_live_processes_under_one_node_name_are_told() {
    let Some(url) = fresh_database("twin") else { return };
    let feeds = FeedServer::start();
    feeds.set(&feed_path(0), feed_doc(0));
    let hook = Hook::start();
    let dir = TempDir::new("pg-twin");
    let cfg = dir.path().join("pantau.toml");
    std::fs::write(&cfg, without_max_age(&config(&url, &feeds, 1, &hook.url()))).unwrap();
    let spawn = |log: &str| {
        let mut cmd = pantau();
        cmd.arg("-c").arg(&cfg).args(["run", "--node", "twin"]).stdout(Stdio::null());
        Daemon::spawn_logged(&mut cmd, &dir.path().join(log))
    };
    let first = spawn("first.log");
    first.wait_for_log("scheduler started");
    let second = spawn("second.log");
    second.wait_for_log("scheduler started");
    // Each beats every second (lease 3s); whichever beats after the other's start says so.
    let said = "another live process runs as this node";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !(first.log().contains(said) || second.log().contains(said)) {
        assert!(
            std::time::Instant::now() < deadline,
            "no node told: {}\n{}",
            tail(&first.log(), 20),
            tail(&second.log(), 20)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A node that restarts under its name (the old processes gone) is not a twin.
    drop((first, second));
    let again = spawn("again.log");
    again.wait_for_log("scheduler started");
    std::thread::sleep(Duration::from_secs(4));
    assert!(!again.log().contains(said), "{}", tail(&again.log(), 20));
}
