//! Whole-pipeline benchmark of pantau.
//!
//! Generates N synthetic feeds (RSS 2.0, Atom, JSON Feed; Indonesian and English; 20–50 items of
//! 2–8 KB each) with a seeded generator, serves them from a small HTTP server on 127.0.0.1 (ETag /
//! If-None-Match → 304) next to a webhook receiver, writes a config with M watch rules, and drives
//! the real `pantau` binary through three `once` cycles (all new, all 304, 5 % changed) and an
//! idle `run`. It also measures ingest in-process (parse + classify + store, no HTTP, through
//! the library's own `pantau::pipeline::classify`) next to feed-rs parse-only on the same
//! documents. With `--articles`, a share of the feeds read their items' pages
//! (`fetch_article`), which the same server serves as news-site HTML; the bench reports the CPU
//! the article stage adds per item, the pages read and failed, and how much later alerts of
//! those items reach the webhook receiver than alerts of feed-only items.
//!
//! With `--nodes K` it starts K `pantau run --node nK` daemons on one fresh database and times
//! them until every feed was polled once and every alert delivered (items/s, CPU per item, polls
//! per node). With `--postgres URL` that database, and those of the `once` cycles and the idle
//! daemon, are fresh PostgreSQL databases on the server at URL (created and dropped by the
//! bench), and the nodes measurement always runs (K = 1 unless given).
//!
//! Run through `scripts/bench.sh`, or directly:
//! `cargo bench --bench pipeline -- --pantau target/release/pantau --feeds 500 --rules 100 --skip-idle`
//! (`--help` lists every flag). Nothing leaves 127.0.0.1.
//!
//! - `main.rs`: the flags, the measurements in order, and the report.
//! - `corpus.rs`: the seeded generator: vocabulary (`../data/pipeline/`), feeds, rules, config.
//! - `pages.rs`: the article pages of `--articles`, and their rules.
//! - `server.rs`: the local HTTP server (feeds with ETags, article pages, the webhook receiver).
//! - `child.rs`: running the `pantau` binary and measuring its CPU and memory.
//! - `ingest.rs`: the in-process ingest measurement.
//! - `articles.rs`: the article stage measurement (`--articles`).
//! - `nodes.rs`: the nodes measurement (`--nodes`, `--postgres`).
//! - `pg.rs`: fresh PostgreSQL databases, and the CPU of their server processes.

mod articles;
mod child;
mod corpus;
mod ingest;
mod nodes;
mod pages;
mod pg;
mod server;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::net::TcpListener;

use child::{children_usage, pantau_command, proc_kb, run_once, sampler, terminate, RunResult};
use corpus::{feed_meta, gen_rules, render_feed, write_config, DaemonConf, FeedMeta, Format, Lang, Lexicon};
use pages::{article_missing, article_words, gen_article_rules, is_article_feed, render_article};
use server::{serve, Doc, Pages, Server};

// ---------------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------------

/// pantau whole-pipeline benchmark
#[derive(Debug, Clone, Parser)]
#[command(name = "pipeline", bin_name = "cargo bench --bench pipeline --", args_override_self = true)]
pub struct Args {
    /// The pantau binary (default: $PANTAU_BIN, else $CARGO_TARGET_DIR/release/pantau, else
    /// target/release/pantau)
    #[arg(long, value_name = "PATH", default_value_os_t = default_pantau())]
    pub pantau: PathBuf,
    /// Feeds served and configured
    #[arg(long, value_name = "N", default_value = "10000", value_parser = whole::<usize>)]
    pub feeds: usize,
    /// Watch rules
    #[arg(long, value_name = "M", default_value = "1000", value_parser = whole::<usize>)]
    pub rules: usize,
    /// Generator seed
    #[arg(long, value_name = "S", default_value = "42", value_parser = whole::<u64>)]
    pub seed: u64,
    /// [daemon] concurrency and per_host
    #[arg(long, value_name = "C", default_value = "64", value_parser = whole::<usize>)]
    pub concurrency: usize,
    /// Share of feeds changed before the third cycle, in percent
    #[arg(long, value_name = "P", default_value = "5")]
    pub changed_pct: f64,
    /// Documents used by the in-process ingest measurement (at most N)
    #[arg(long, value_name = "K", default_value = "1000", value_parser = whole::<usize>)]
    pub ingest_feeds: usize,
    /// Also write those K documents to DIR (for the feedparser comparison)
    #[arg(long, value_name = "DIR")]
    pub write_feeds: Option<PathBuf>,
    /// Where configs, databases and logs go (default: a fresh dir under the temp dir)
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// Also write every figure as key=value lines to FILE
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// Feeds of the idle daemon (at most N)
    #[arg(long, value_name = "F", default_value = "100", value_parser = whole::<usize>)]
    pub idle_feeds: usize,
    /// How long the idle daemon runs before its RSS is read (e.g. 30s)
    #[arg(long, value_name = "D", default_value = "5m", value_parser = humantime::parse_duration)]
    pub idle_wait: Duration,
    /// Skip the idle measurement
    #[arg(long)]
    pub skip_idle: bool,
    /// Skip the three `once` cycles
    #[arg(long)]
    pub skip_cycles: bool,
    /// Skip the in-process ingest measurement
    #[arg(long)]
    pub skip_ingest: bool,
    /// RUST_LOG of the pantau child (info is what users run)
    #[arg(long, value_name = "F", default_value = "info")]
    pub log_filter: String,
    /// Also measure the article stage: P % of the feeds get `fetch_article = true` and their
    /// items link to article pages (20–60 KB of HTML) on the bench server; rules are added that
    /// match words found only in those pages. Runs `once` without and with fetch_article (CPU
    /// per article item) and a `run` daemon (alert latency). Pages are generated up front: about
    /// 1.6 MB of memory per article feed
    #[arg(long)]
    pub articles: bool,
    /// Share of feeds with fetch_article under --articles, in percent
    #[arg(long, value_name = "P", default_value = "10")]
    pub article_pct: f64,
    /// Also run K `pantau run --node nK` daemons on one fresh database until every feed was
    /// polled once and every alert delivered: items/s, CPU per item over the K, polls per node.
    /// More than one needs --postgres
    #[arg(long, value_name = "K", value_parser = whole::<usize>)]
    pub nodes: Option<usize>,
    /// A PostgreSQL server, postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, whose role may
    /// CREATE DATABASE: the `once` cycles, the nodes measurement (always run, K = 1 unless
    /// --nodes) and the idle daemon each get a fresh database there, dropped afterwards. The
    /// in-process ingest and --articles stay on SQLite. Also read from $PANTAU_BENCH_POSTGRES
    /// (empty: none), which keeps a password out of command lines
    #[arg(long, value_name = "URL", env = "PANTAU_BENCH_POSTGRES", hide_env_values = true)]
    pub postgres: Option<String>,
    /// [daemon] per_host (default: --concurrency); on PostgreSQL it holds across the nodes
    #[arg(long, value_name = "P", value_parser = whole::<usize>)]
    pub per_host: Option<usize>,
    /// Passed by `cargo bench` to every bench target; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

impl Args {
    /// The flags of this run, with the bounds and defaults that depend on other flags applied.
    fn get() -> Args {
        let mut a = Args::parse();
        a.concurrency = a.concurrency.max(1);
        a.ingest_feeds = a.ingest_feeds.min(a.feeds);
        a.idle_feeds = a.idle_feeds.min(a.feeds);
        a.postgres = a.postgres.take().filter(|u| !u.is_empty());
        if a.postgres.is_some() {
            a.nodes = Some(a.nodes.unwrap_or(1));
        }
        match a.nodes {
            Some(0) => die("--nodes must be at least 1"),
            Some(k) if k > 1 && a.postgres.is_none() => {
                die("--nodes above 1 needs --postgres: on SQLite one node runs at a time")
            }
            _ => {}
        }
        a
    }

    /// The `[daemon]` settings of a config on `database`.
    fn daemon<'a>(&self, database: &'a str, listen: bool) -> DaemonConf<'a> {
        DaemonConf {
            database,
            concurrency: self.concurrency,
            per_host: self.per_host.unwrap_or(self.concurrency).max(1),
            listen,
        }
    }

    /// A fresh PostgreSQL database for the measurement `tag` under --postgres.
    fn fresh_db(&self, tag: &str) -> Option<pg::FreshDb> {
        self.postgres.as_deref().map(|server| pg::FreshDb::create(server, tag))
    }
}

/// `$PANTAU_BIN`, else the release binary in `$CARGO_TARGET_DIR` (or `target`).
fn default_pantau() -> PathBuf {
    std::env::var_os("PANTAU_BIN").map(PathBuf::from).unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
        target.join("release").join("pantau")
    })
}

/// A whole number, with `_` allowed between digits (`10_000`).
fn whole<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.replace('_', "").parse().map_err(|_| format!("{s:?} is not a whole number"))
}

/// Stop the bench with a message (exit status 2).
pub fn die(msg: &str) -> ! {
    eprintln!("bench: {msg}");
    pg::drop_created();
    std::process::exit(2)
}

// ---------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------

/// The figures of a run: rows of the markdown table, and key=value lines for `--results`.
pub struct Report {
    rows: Vec<(String, String, String, String)>,
    kv: Vec<(String, String)>,
}

impl Report {
    pub fn row(&mut self, what: &str, value: String, target: &str, verdict: Option<bool>) {
        let v = match verdict {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "",
        };
        self.rows.push((what.into(), value, target.into(), v.into()));
    }
    pub fn kv(&mut self, k: &str, v: impl ToString) {
        self.kv.push((k.into(), v.to_string()));
    }
}

fn machine() -> (usize, String, String) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let ram = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().map(|l| l.trim_start_matches("MemTotal:").trim().trim_end_matches("kB").trim().to_string())
        })
        .and_then(|k| k.parse::<f64>().ok())
        .map(|k| format!("{:.1} GiB", k / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    (cores, cpu, ram)
}

/// Kilobytes as megabytes.
pub fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

fn main() {
    let args = Args::get();
    let workdir = args
        .workdir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("pantau-bench-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).unwrap_or_else(|e| die(&format!("cannot create {}: {e}", workdir.display())));
    if (!args.skip_cycles || !args.skip_idle) && !args.pantau.is_file() {
        die(&format!(
            "no pantau binary at {} (build it with `cargo build --release`, or pass --pantau / $PANTAU_BIN)",
            args.pantau.display()
        ));
    }
    let (cores, cpu, ram) = machine();
    eprintln!("bench: {} feeds, {} rules, seed {}, workdir {}", args.feeds, args.rules, args.seed, workdir.display());

    // The server's port comes first: under --articles, the links of items point to it.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();

    // Generate every document (both cores; each feed is independent).
    let t = Instant::now();
    let lex = Arc::new(Lexicon::new(args.seed));
    let metas: Vec<FeedMeta> = (0..args.feeds)
        .map(|i| {
            let mut m = feed_meta(args.seed, i);
            if args.articles && is_article_feed(i, args.article_pct) {
                m.article_origin = Some(format!("http://127.0.0.1:{port}"));
            }
            m
        })
        .collect();
    let generated: Vec<(Vec<u8>, usize)> = {
        let threads = cores.max(1);
        let chunk = args.feeds.div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = metas
                .chunks(chunk)
                .map(|part| {
                    let lex = Arc::clone(&lex);
                    s.spawn(move || part.iter().map(|m| render_feed(&lex, args.seed, m, 0)).collect::<Vec<_>>())
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("generator thread")).collect()
        })
    };
    let total_items: usize = generated.iter().map(|(_, n)| n).sum();
    let total_bytes: usize = generated.iter().map(|(d, _)| d.len()).sum();
    let formats = [Format::Rss, Format::Atom, Format::Json].map(|f| metas.iter().filter(|m| m.format == f).count());
    let id_feeds = metas.iter().filter(|m| m.lang == Lang::Id).count();
    eprintln!(
        "bench: generated {} feeds ({} RSS, {} Atom, {} JSON; {} Indonesian), {} items, {:.1} MB in {:.1} s",
        args.feeds,
        formats[0],
        formats[1],
        formats[2],
        id_feeds,
        total_items,
        total_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let docs: Vec<Arc<Doc>> = generated
        .iter()
        .zip(&metas)
        .map(|((d, _), m)| {
            Arc::new(Doc {
                body: Arc::new(d.clone()),
                etag: format!("\"v0-{}\"", m.idx),
                content_type: m.format.content_type(),
            })
        })
        .collect();
    drop(generated);
    let mut rules = gen_rules(&lex, args.seed, args.rules, args.feeds);
    let mut pages = Pages::new();
    if args.articles {
        // Pages of every item of the first two versions of each article feed (cycle 3 serves
        // the second), but the missing ones.
        let t = Instant::now();
        let art_words = article_words(args.seed);
        rules.extend(gen_article_rules(&art_words, args.seed, (args.rules / 10).max(5)));
        let article_feeds: Vec<&FeedMeta> = metas.iter().filter(|m| m.article_origin.is_some()).collect();
        let chunk = article_feeds.len().div_ceil(cores.max(1)).max(1);
        pages = std::thread::scope(|s| {
            let handles: Vec<_> = article_feeds
                .chunks(chunk)
                .map(|part| {
                    let (lex, art_words) = (Arc::clone(&lex), &art_words);
                    s.spawn(move || {
                        let mut out = Vec::new();
                        for m in part {
                            for j in (0..m.count + m.step).filter(|&j| !article_missing(args.seed, m.idx, j)) {
                                out.push(((m.idx, j), Arc::new(render_article(&lex, art_words, args.seed, m, j))));
                            }
                        }
                        out
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("article generator thread")).collect()
        });
        let bytes: usize = pages.values().map(|p| p.len()).sum();
        eprintln!(
            "bench: generated {} article pages for {} feeds ({:.0} KB each on average, {} rules on article-only words) in {:.1} s",
            pages.len(),
            article_feeds.len(),
            bytes as f64 / pages.len().max(1) as f64 / 1024.0,
            (args.rules / 10).max(5),
            t.elapsed().as_secs_f64()
        );
    }

    if let Some(dir) = &args.write_feeds {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap_or_else(|e| die(&format!("cannot create {}: {e}", dir.display())));
        for (m, d) in metas.iter().zip(&docs).take(args.ingest_feeds) {
            std::fs::write(dir.join(format!("{}.{}", m.name, m.format.ext())), &d.body[..]).expect("write feed file");
        }
        eprintln!("bench: wrote {} documents to {}", args.ingest_feeds, dir.display());
    }

    let server = Arc::new(Server { docs: RwLock::new(docs), pages: RwLock::new(pages), ..Server::default() });
    rt.spawn(serve(listener, Arc::clone(&server)));

    let config_path = workdir.join("pantau.toml");
    write_config(&config_path, port, &metas, &rules, args.daemon("pantau.db", false), None);

    let mut rep = Report { rows: Vec::new(), kv: Vec::new() };
    rep.kv("machine_cores", cores);
    rep.kv("machine_cpu", &cpu);
    rep.kv("machine_ram", &ram);
    rep.kv("feeds", args.feeds);
    rep.kv("rules", args.rules);
    rep.kv("items", total_items);
    rep.kv("bytes", total_bytes);
    rep.kv("concurrency", args.concurrency);
    rep.kv("per_host", args.per_host.unwrap_or(args.concurrency));
    rep.kv("database", if args.postgres.is_some() { "postgres" } else { "sqlite" });
    let big = args.feeds >= 10_000 && args.rules >= 1_000;
    let verdict = |ok: bool| if big { Some(ok) } else { None };

    // 4. Ingest in-process, next to feed-rs.
    if !args.skip_ingest && args.ingest_feeds > 0 {
        eprintln!("bench: ingest in-process on {} documents …", args.ingest_feeds);
        let sample: Vec<(FeedMeta, Arc<Vec<u8>>)> = metas
            .iter()
            .take(args.ingest_feeds)
            .map(|m| (m.clone(), Arc::clone(&server.docs.read().unwrap()[m.idx].body)))
            .collect();
        let ing = ingest::ingest(&rt, &workdir, &config_path, &sample);
        let ips = ing.items as f64 / ing.total.as_secs_f64();
        let frs = ing.feed_rs_items as f64 / ing.feed_rs.as_secs_f64();
        let pps = ing.items as f64 / ing.parse_only_pantau.as_secs_f64();
        let share = |d: Duration| 100.0 * d.as_secs_f64() / ing.total.as_secs_f64();
        rep.row(
            &format!(
                "ingest in-process, 1 thread ({} docs, {} items, {:.0} MB)",
                ing.docs,
                ing.items,
                ing.bytes as f64 / 1e6
            ),
            format!("{ips:.0} items/s"),
            "≥ feed-rs/2; ≥ 40× feedparser",
            Some(ips >= frs / 2.0),
        );
        rep.row(
            "  of which parse / match+alerts / store",
            format!("{:.0}% / {:.0}% / {:.0}%", share(ing.parse), share(ing.matching), share(ing.store)),
            "",
            None,
        );
        rep.row(
            "  alerts per item (items with ≥1 alert)",
            format!(
                "{:.3} ({:.1}%)",
                ing.alerts as f64 / ing.items.max(1) as f64,
                100.0 * ing.items_alerting as f64 / ing.items.max(1) as f64
            ),
            "",
            None,
        );
        rep.row("pantau parse-only (parse_feed), 1 thread", format!("{pps:.0} items/s"), "", None);
        rep.row(
            &format!(
                "feed-rs parse-only, 1 thread ({} items, {} rejected docs)",
                ing.feed_rs_items, ing.feed_rs_failed
            ),
            format!("{frs:.0} items/s"),
            "",
            None,
        );
        rep.row("ingest / feed-rs", format!("{:.2}×", ips / frs), "≥ 0.5×", Some(ips >= frs / 2.0));
        rep.kv("ingest_items", ing.items);
        rep.kv("ingest_docs", ing.docs);
        rep.kv("ingest_items_per_s", format!("{ips:.0}"));
        rep.kv("ingest_parse_pct", format!("{:.1}", share(ing.parse)));
        rep.kv("ingest_match_pct", format!("{:.1}", share(ing.matching)));
        rep.kv("ingest_store_pct", format!("{:.1}", share(ing.store)));
        rep.kv("ingest_alerts", ing.alerts);
        rep.kv("pantau_parse_items_per_s", format!("{pps:.0}"));
        rep.kv("feed_rs_items_per_s", format!("{frs:.0}"));
    }

    // 1–3. Three `once` cycles against the local server.
    if !args.skip_cycles {
        // Under --postgres the three cycles share a fresh database of their own.
        let cycles_db = args.fresh_db("cycles");
        let config_path = match &cycles_db {
            Some(db) => {
                let p = workdir.join("cycles-postgres.toml");
                write_config(&p, port, &metas, &rules, args.daemon(&db.url, false), None);
                p
            }
            None => config_path.clone(),
        };
        let mut max_seen = children_usage().maxrss;
        eprintln!("bench: cycle 1 (all new) …");
        server.reset_counters();
        let c1 = run_once(&args, &config_path, &workdir.join("cycle1.log"), &mut max_seen);
        let (ok1, nm1, posts1) = (
            server.ok.load(Ordering::SeqCst),
            server.not_modified.load(Ordering::SeqCst),
            server.posts.load(Ordering::SeqCst),
        );
        let poll_phase = server.first_post.lock().unwrap().map(|_| ());
        let _ = poll_phase;
        let delivery = match (*server.first_post.lock().unwrap(), *server.last_post.lock().unwrap()) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        let field = |r: &RunResult, k: &str| r.report.as_ref().and_then(|v| v[k].as_u64()).unwrap_or(0);
        let ips = total_items as f64 / c1.wall.as_secs_f64();
        rep.row(
            &format!(
                "cycle 1 `once`, all new ({} feeds, {} items, {:.0} MB)",
                args.feeds,
                total_items,
                total_bytes as f64 / 1e6
            ),
            format!("{:.2} s{}", c1.wall.as_secs_f64(), if c1.ok { "" } else { " (exit ≠ 0)" }),
            "≤ 10 s",
            verdict(c1.wall <= Duration::from_secs(10)),
        );
        rep.row("  items/s", format!("{ips:.0}"), "", None);
        rep.row(
            "  peak RSS",
            format!("{:.1} MB", mb(c1.peak_rss_kb)),
            "≤ 150 MB",
            verdict(c1.peak_rss_kb <= 150 * 1024),
        );
        rep.row(
            "  CPU user + sys",
            format!(
                "{:.2} s + {:.2} s ({:.0}% of {cores} cores)",
                c1.user,
                c1.sys,
                100.0 * (c1.user + c1.sys) / c1.wall.as_secs_f64() / cores as f64
            ),
            "",
            None,
        );
        rep.row(
            "  new items / alerts queued / delivered (receiver)",
            format!(
                "{} / {} / {} ({} unique keys)",
                field(&c1, "new_items"),
                field(&c1, "new_alerts"),
                posts1,
                server.keys.lock().unwrap().len()
            ),
            "",
            None,
        );
        if let Some(d) = delivery {
            rep.row(
                "  delivery phase (first → last webhook)",
                format!("{:.2} s ({:.0} alerts/s)", d.as_secs_f64(), posts1 as f64 / d.as_secs_f64().max(1e-3)),
                "",
                None,
            );
            rep.kv("cycle1_delivery_s", format!("{:.3}", d.as_secs_f64()));
        }
        rep.row("  server: 200 / 304 answers", format!("{ok1} / {nm1}"), "", None);
        rep.kv("cycle1_wall_s", format!("{:.3}", c1.wall.as_secs_f64()));
        rep.kv("cycle1_items_per_s", format!("{ips:.0}"));
        rep.kv("cycle1_peak_rss_mb", format!("{:.1}", mb(c1.peak_rss_kb)));
        rep.kv("cycle1_cpu_user_s", format!("{:.2}", c1.user));
        rep.kv("cycle1_cpu_sys_s", format!("{:.2}", c1.sys));
        rep.kv("cycle1_new_items", field(&c1, "new_items"));
        rep.kv("cycle1_alerts", posts1);

        eprintln!("bench: cycle 2 (all 304) …");
        server.reset_counters();
        let c2 = run_once(&args, &config_path, &workdir.join("cycle2.log"), &mut max_seen);
        let (ok2, nm2) = (server.ok.load(Ordering::SeqCst), server.not_modified.load(Ordering::SeqCst));
        rep.row(
            "cycle 2 `once`, all 304",
            format!("{:.2} s{}", c2.wall.as_secs_f64(), if c2.ok { "" } else { " (exit ≠ 0)" }),
            "≤ 2 s",
            verdict(c2.wall <= Duration::from_secs(2)),
        );
        rep.row(
            "  peak RSS; CPU user + sys",
            format!("{:.1} MB; {:.2} s + {:.2} s", mb(c2.peak_rss_kb), c2.user, c2.sys),
            "",
            None,
        );
        rep.row("  server: 200 / 304 answers", format!("{ok2} / {nm2}"), "", None);
        rep.kv("cycle2_wall_s", format!("{:.3}", c2.wall.as_secs_f64()));
        rep.kv("cycle2_peak_rss_mb", format!("{:.1}", mb(c2.peak_rss_kb)));

        // Change every k-th feed: a new version adds items at the top.
        let every = (100.0 / args.changed_pct.max(0.01)).round().max(1.0) as usize;
        let changed: Vec<&FeedMeta> = metas.iter().filter(|m| m.idx % every == every / 2).collect();
        let mut added = 0;
        for m in &changed {
            let (body, _) = render_feed(&lex, args.seed, m, 1);
            added += m.step;
            let doc = Arc::new(Doc {
                body: Arc::new(body),
                etag: format!("\"v1-{}\"", m.idx),
                content_type: m.format.content_type(),
            });
            server.docs.write().unwrap()[m.idx] = doc;
        }
        eprintln!("bench: cycle 3 ({} feeds changed, {added} new items) …", changed.len());
        server.reset_counters();
        let c3 = run_once(&args, &config_path, &workdir.join("cycle3.log"), &mut max_seen);
        let (ok3, nm3, posts3) = (
            server.ok.load(Ordering::SeqCst),
            server.not_modified.load(Ordering::SeqCst),
            server.posts.load(Ordering::SeqCst),
        );
        rep.row(
            &format!("cycle 3 `once`, {} feeds changed ({added} new items)", changed.len()),
            format!("{:.2} s{}", c3.wall.as_secs_f64(), if c3.ok { "" } else { " (exit ≠ 0)" }),
            "",
            None,
        );
        rep.row("  new items / alerts at the receiver", format!("{} / {posts3}", field(&c3, "new_items")), "", None);
        rep.row(
            "  peak RSS; CPU user + sys",
            format!("{:.1} MB; {:.2} s + {:.2} s", mb(c3.peak_rss_kb), c3.user, c3.sys),
            "",
            None,
        );
        rep.row("  server: 200 / 304 answers", format!("{ok3} / {nm3}"), "", None);
        rep.kv("cycle3_wall_s", format!("{:.3}", c3.wall.as_secs_f64()));
        rep.kv("cycle3_changed_feeds", changed.len());
        rep.kv("cycle3_new_items", field(&c3, "new_items"));
        rep.kv("cycle3_alerts", posts3);
        drop(cycles_db);
    }

    // 7. K nodes of `run`.
    if let Some(k) = args.nodes {
        nodes::measure(&args, &server, &metas, &rules, port, &workdir, k, total_items, &mut rep);
    }

    // 6. The article stage.
    if args.articles {
        articles::articles(&args, &server, &metas, &rules, port, &workdir, &mut rep);
    }

    // 5. The idle daemon.
    if !args.skip_idle {
        let dir = workdir.join("idle");
        std::fs::create_dir_all(&dir).expect("idle dir");
        let cfg = dir.join("pantau.toml");
        let idle_db = args.fresh_db("idle");
        let database = idle_db.as_ref().map_or("pantau.db", |db| db.url.as_str());
        write_config(&cfg, port, &metas[..args.idle_feeds], &rules, args.daemon(database, false), None);
        eprintln!(
            "bench: idle daemon with {} feeds for {} …",
            args.idle_feeds,
            humantime::format_duration(args.idle_wait)
        );
        let mut child = pantau_command(&args, &cfg, &dir.join("run.log"))
            .arg("run")
            .spawn()
            .unwrap_or_else(|e| die(&format!("cannot start pantau: {e}")));
        let pid = child.id();
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = sampler(pid, Arc::clone(&stop));
        let deadline = Instant::now() + args.idle_wait;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                die("the idle daemon exited early; see its log");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let rss = proc_kb(pid, "VmRSS:").unwrap_or(0);
        let hwm = proc_kb(pid, "VmHWM:").unwrap_or(0);
        // Anonymous memory (heap, stacks) apart from file pages (the binary's code and
        // read-only data, shared libraries: clean, and reclaimable by the kernel).
        let (anon, file) = (proc_kb(pid, "RssAnon:").unwrap_or(0), proc_kb(pid, "RssFile:").unwrap_or(0));
        stop.store(true, Ordering::Relaxed);
        let _ = watcher.join();
        terminate(&child);
        let status = child.wait().expect("wait for the daemon");
        rep.row(
            &format!("idle `run`, {} feeds, after {}", args.idle_feeds, humantime::format_duration(args.idle_wait)),
            format!("{:.1} MB RSS (peak {:.1} MB)", mb(rss), mb(hwm)),
            "≤ 15 MB",
            Some(rss <= 15 * 1024),
        );
        rep.row("  of which anonymous / file-backed", format!("{:.1} MB / {:.1} MB", mb(anon), mb(file)), "", None);
        rep.row("  exit after SIGTERM", format!("{status}"), "0", Some(status.success()));
        rep.kv("idle_rss_mb", format!("{:.1}", mb(rss)));
        rep.kv("idle_anon_mb", format!("{:.1}", mb(anon)));
        rep.kv("idle_file_mb", format!("{:.1}", mb(file)));
        rep.kv("idle_peak_mb", format!("{:.1}", mb(hwm)));
        drop(idle_db);
    }

    // The table.
    let mut out = String::new();
    out.push_str(&format!(
        "\n### pantau pipeline benchmark\n\nmachine: {cores} cores ({cpu}), {ram} RAM; {} feeds, {} rules, seed {}\n",
        args.feeds, args.rules, args.seed
    ));
    let per_host = args.per_host.unwrap_or(args.concurrency);
    if per_host == args.concurrency {
        out.push_str(&format!(
            "[daemon] concurrency = per_host = {}: every feed is served by one host (127.0.0.1), so per_host must equal concurrency or it would be the limit.\n",
            args.concurrency
        ));
    } else {
        out.push_str(&format!(
            "[daemon] concurrency = {}, per_host = {per_host}: every feed is served by one host (127.0.0.1).\n",
            args.concurrency
        ));
    }
    match &args.postgres {
        Some(url) => out.push_str(&format!(
            "database: PostgreSQL at {} (a fresh database per measurement; on PostgreSQL per_host holds across the nodes); the in-process ingest and the article stage on SQLite.\n\n",
            pg::redacted(url)
        )),
        None => out.push_str("database: SQLite.\n\n"),
    }
    out.push_str("| measurement | value | target | |\n|---|---|---|---|\n");
    for (a, b, c, d) in &rep.rows {
        out.push_str(&format!("| {a} | {b} | {c} | {d} |\n"));
    }
    if !big {
        out.push_str("\n(Cycle targets apply to 10,000 feeds and 1,000 rules; not judged at this size.)\n");
    }
    println!("{out}");
    let _ = std::io::stdout().flush();
    if let Some(path) = &args.results {
        let text: String = rep.kv.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(path, text).unwrap_or_else(|e| die(&format!("cannot write {}: {e}", path.display())));
    }
    eprintln!("bench: logs and databases in {}", workdir.display());
}
