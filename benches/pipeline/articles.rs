//! The article stage measurement (`--articles`): `once` without and with `fetch_article`, and a
//! `run` daemon whose alerts are timed from their feed's poll to the webhook receiver.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::child::{children_usage, pantau_command, run_once, terminate};
use crate::corpus::{write_config, DaemonConf, FeedMeta, RuleSpec};
use crate::server::{Arrival, Server};
use crate::{die, Args, Report};

/// How many lines of a JSON log have a message that starts with `prefix`.
fn log_count(log: &Path, prefix: &str) -> usize {
    let Ok(text) = std::fs::read_to_string(log) else { return 0 };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
        .count()
}

/// The `p`-th percentile (nearest rank) of sorted `xs`.
fn percentile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs[((p / 100.0 * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1]
}

/// A fresh directory under `dir` with a config (and so a fresh database).
fn fresh_config(dir: &Path, name: &str, write: impl FnOnce(&Path)) -> PathBuf {
    let d = dir.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| die(&format!("cannot create {}: {e}", d.display())));
    let cfg = d.join("pantau.toml");
    write(&cfg);
    cfg
}

/// The article stage, measured three ways on fresh databases: `once` with the same feeds and
/// rules without and with `fetch_article` (the difference in CPU is the stage's cost), then a
/// `run` daemon with it, whose alerts are timed from their feed's poll to the webhook receiver.
pub fn articles(
    args: &Args,
    server: &Server,
    metas: &[FeedMeta],
    rules: &[RuleSpec],
    port: u16,
    workdir: &Path,
    rep: &mut Report,
) {
    let dir = workdir.join("articles");
    let write = |fetch: bool| {
        move |p: &Path| write_config(p, port, metas, rules, DaemonConf::sqlite(args.concurrency), Some(fetch))
    };
    let plain_cfg = fresh_config(&dir, "plain", write(false));
    let fetch_cfg = fresh_config(&dir, "fetch", write(true));
    let run_cfg = fresh_config(&dir, "run", write(true));
    let article_feeds = metas.iter().filter(|m| m.article_origin.is_some()).count();
    // Every version of a document has `count` items, so this holds after cycle 3 too.
    let article_items: usize = metas.iter().filter(|m| m.article_origin.is_some()).map(|m| m.count).sum();
    let is_article_alert = |a: &Arrival| a.rule.starts_with('a');
    server.record.store(true, Ordering::SeqCst);
    let mut max_seen = 0;

    eprintln!("bench: articles: `once` without fetch_article …");
    server.reset_counters();
    let plain = run_once(args, &plain_cfg, &dir.join("plain").join("once.log"), &mut max_seen);
    let plain_posts = server.posts.load(Ordering::SeqCst);
    let plain_article_rule_alerts = server.arrivals.lock().unwrap().iter().filter(|a| is_article_alert(a)).count();

    eprintln!("bench: articles: `once` with fetch_article on {article_feeds} feeds ({article_items} items) …");
    server.reset_counters();
    let fetch_log = dir.join("fetch").join("once.log");
    let fetch = run_once(args, &fetch_cfg, &fetch_log, &mut max_seen);
    let fetch_posts = server.posts.load(Ordering::SeqCst);
    let (pages, missing, page_bytes) = (
        server.page_ok.load(Ordering::SeqCst),
        server.page_missing.load(Ordering::SeqCst),
        server.page_bytes.load(Ordering::SeqCst),
    );
    let (read, failed) = (log_count(&fetch_log, "read article"), log_count(&fetch_log, "article not read"));
    let (fetch_article_rule_alerts, fetch_with_text) = {
        let arrivals = server.arrivals.lock().unwrap();
        (arrivals.iter().filter(|a| is_article_alert(a)).count(), arrivals.iter().filter(|a| a.article).count())
    };
    let cpu_plain = plain.user + plain.sys;
    let cpu_fetch = fetch.user + fetch.sys;
    let added = cpu_fetch - cpu_plain;
    let per_item_us = 1e6 * added / article_items.max(1) as f64;
    let per_page_us = 1e6 * added / (pages + missing).max(1) as f64;

    eprintln!("bench: articles: `run` daemon with fetch_article, alerts timed from poll to receiver …");
    server.reset_counters();
    let expected_pages = pages + missing;
    let before = children_usage();
    let start = Instant::now();
    // The log's clock, to place its lines on the receiver's.
    let start_utc = chrono::Utc::now();
    let run_log = dir.join("run").join("run.log");
    let mut child = pantau_command(args, &run_cfg, &run_log)
        .arg("run")
        .spawn()
        .unwrap_or_else(|e| die(&format!("cannot start {}: {e}", args.pantau.display())));
    // Done when every feed was polled, every page asked for, and nothing arrived for 3 s; or
    // when nothing happened for 20 s after the polls (some page was not asked for); or after
    // 15 minutes.
    let deadline = start + Duration::from_secs(900);
    let mut timed_out = false;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        if let Ok(Some(_)) = child.try_wait() {
            die("the article daemon exited early; see its log");
        }
        let polled = server.polled.lock().unwrap().len();
        let last = [
            server.polled.lock().unwrap().values().max().copied(),
            *server.last_page.lock().unwrap(),
            *server.last_post.lock().unwrap(),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(start);
        let asked = server.page_ok.load(Ordering::SeqCst) + server.page_missing.load(Ordering::SeqCst);
        let quiet = last.elapsed();
        if polled >= metas.len()
            && ((asked >= expected_pages && quiet >= Duration::from_secs(3)) || quiet >= Duration::from_secs(20))
        {
            break;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
    }
    let run_wall = start.elapsed();
    terminate(&child);
    let status = child.wait().expect("wait for the article daemon");
    let after = children_usage();
    let run_cpu = after.user - before.user + after.sys - before.sys;
    let run_pages = server.page_ok.load(Ordering::SeqCst);
    let (mut with_article, mut feed_only, mut unmatched) = (Vec::new(), Vec::new(), 0usize);
    {
        let polled = server.polled.lock().unwrap();
        for a in server.arrivals.lock().unwrap().iter() {
            let idx = a.feed.strip_prefix('f').and_then(|n| n.parse::<usize>().ok());
            let (Some(idx), Some(meta)) = (idx, idx.and_then(|i| metas.get(i))) else {
                unmatched += 1;
                continue;
            };
            let Some(polled_at) = polled.get(&idx) else {
                unmatched += 1;
                continue;
            };
            let ms = a.at.saturating_duration_since(*polled_at).as_secs_f64() * 1e3;
            if meta.article_origin.is_some() {
                with_article.push(ms);
            } else {
                feed_only.push(ms);
            }
        }
    }
    with_article.sort_by(f64::total_cmp);
    feed_only.sort_by(f64::total_cmp);
    // Poll → "rule matched" in the daemon's log: when the alert was queued, before the webhook
    // worker's queue (which thousands of alerts make long) is waited for.
    let (mut matched_article, mut matched_feed_only) = (Vec::new(), Vec::new());
    {
        let polled = server.polled.lock().unwrap();
        let text = std::fs::read_to_string(&run_log).unwrap_or_default();
        for v in text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
            if v["fields"]["message"] != "rule matched" {
                continue;
            }
            let idx = v["fields"]["feed"].as_str().and_then(|f| f.strip_prefix('f')).and_then(|n| n.parse().ok());
            let at = v["timestamp"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
            let (Some(idx), Some(at)) = (idx, at) else { continue };
            let (Some(meta), Some(polled_at)) = (metas.get(idx), polled.get(&idx)) else { continue };
            let matched_ms = (at.with_timezone(&chrono::Utc) - start_utc).num_microseconds().unwrap_or(0) as f64 / 1e3;
            let polled_ms = polled_at.saturating_duration_since(start).as_secs_f64() * 1e3;
            let ms = (matched_ms - polled_ms).max(0.0);
            if meta.article_origin.is_some() {
                matched_article.push(ms);
            } else {
                matched_feed_only.push(ms);
            }
        }
    }
    matched_article.sort_by(f64::total_cmp);
    matched_feed_only.sort_by(f64::total_cmp);
    server.record.store(false, Ordering::SeqCst);

    let (a50, a95) = (percentile(&with_article, 50.0), percentile(&with_article, 95.0));
    let (f50, f95) = (percentile(&feed_only, 50.0), percentile(&feed_only, 95.0));
    rep.row(
        &format!("articles: {article_feeds} feeds with fetch_article ({article_items} items), `once` without / with"),
        format!(
            "{:.2} s / {:.2} s{}",
            plain.wall.as_secs_f64(),
            fetch.wall.as_secs_f64(),
            if plain.ok && fetch.ok { "" } else { " (exit ≠ 0)" }
        ),
        "",
        None,
    );
    rep.row(
        "  CPU user + sys without / with",
        format!("{:.2} s + {:.2} s / {:.2} s + {:.2} s", plain.user, plain.sys, fetch.user, fetch.sys),
        "",
        None,
    );
    rep.row(
        "  added CPU per article item / per page asked for",
        format!("{per_item_us:.0} µs / {per_page_us:.0} µs"),
        "",
        None,
    );
    rep.row(
        "  pages served / 404 (log: read / not read)",
        format!(
            "{pages} ({:.0} KB each) / {missing} ({read} / {failed})",
            page_bytes as f64 / pages.max(1) as f64 / 1024.0
        ),
        "",
        None,
    );
    rep.row(
        "  alerts without / with (on article-only words; payloads with article text)",
        format!(
            "{plain_posts} / {fetch_posts} ({plain_article_rule_alerts} / {fetch_article_rule_alerts}; {fetch_with_text})"
        ),
        "",
        None,
    );
    rep.row(
        "  `run`: poll → webhook, article items p50 / p95",
        format!("{a50:.0} ms / {a95:.0} ms ({} alerts)", with_article.len()),
        "",
        None,
    );
    rep.row(
        "  `run`: poll → webhook, feed-only items p50 / p95",
        format!("{f50:.0} ms / {f95:.0} ms ({} alerts)", feed_only.len()),
        "",
        None,
    );
    rep.row(
        "  `run`: poll → rule matched (log), article items p50 / p95",
        format!(
            "{:.0} ms / {:.0} ms ({} alerts)",
            percentile(&matched_article, 50.0),
            percentile(&matched_article, 95.0),
            matched_article.len()
        ),
        "",
        None,
    );
    rep.row(
        "  `run`: poll → rule matched (log), feed-only items p50 / p95",
        format!(
            "{:.0} ms / {:.0} ms ({} alerts)",
            percentile(&matched_feed_only, 50.0),
            percentile(&matched_feed_only, 95.0),
            matched_feed_only.len()
        ),
        "",
        None,
    );
    rep.row(
        "  `run`: pages served; wall until quiet; CPU; exit after SIGTERM",
        format!(
            "{run_pages}; {:.1} s{}; {run_cpu:.2} s; {status}{}",
            run_wall.as_secs_f64(),
            if timed_out { " (timed out)" } else { "" },
            if unmatched > 0 { format!(" ({unmatched} alerts of unknown feeds)") } else { String::new() }
        ),
        "",
        None,
    );
    rep.kv("articles_feeds", article_feeds);
    rep.kv("articles_items", article_items);
    rep.kv("articles_pages", pages);
    rep.kv("articles_pages_missing", missing);
    rep.kv("articles_page_kb", format!("{:.1}", page_bytes as f64 / pages.max(1) as f64 / 1024.0));
    rep.kv("articles_read", read);
    rep.kv("articles_failures", failed);
    rep.kv("articles_plain_wall_s", format!("{:.3}", plain.wall.as_secs_f64()));
    rep.kv("articles_once_wall_s", format!("{:.3}", fetch.wall.as_secs_f64()));
    rep.kv("articles_plain_cpu_s", format!("{cpu_plain:.2}"));
    rep.kv("articles_once_cpu_s", format!("{cpu_fetch:.2}"));
    rep.kv("articles_cpu_us_per_item", format!("{per_item_us:.0}"));
    rep.kv("articles_cpu_us_per_page", format!("{per_page_us:.0}"));
    rep.kv("articles_alerts_plain", plain_posts);
    rep.kv("articles_alerts", fetch_posts);
    rep.kv("articles_only_alerts", fetch_article_rule_alerts);
    rep.kv("articles_alerts_with_text", fetch_with_text);
    let mut latency = |key: &str, xs: &[f64]| {
        if !xs.is_empty() {
            rep.kv(&format!("{key}_p50_ms"), format!("{:.0}", percentile(xs, 50.0)));
            rep.kv(&format!("{key}_p95_ms"), format!("{:.0}", percentile(xs, 95.0)));
        }
        rep.kv(&format!("{key}_n"), xs.len());
    };
    latency("articles_alert_latency", &with_article);
    latency("feed_only_alert_latency", &feed_only);
    latency("articles_match_latency", &matched_article);
    latency("feed_only_match_latency", &matched_feed_only);
    rep.kv("articles_run_wall_s", format!("{:.1}", run_wall.as_secs_f64()));
    rep.kv("articles_run_pages", run_pages);
}
