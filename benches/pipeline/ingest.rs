//! Ingest in-process: parse, classify (the library's own `pantau::pipeline::classify`, the
//! daemon's decision of what is new and which alerts follow) and store, without HTTP; next to
//! feed-rs and pantau's parser alone on the same documents.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::corpus::FeedMeta;
use crate::die;

/// The figures of the ingest measurement.
#[derive(Default)]
pub struct Ingest {
    pub docs: usize,
    pub bytes: usize,
    pub items: usize,
    pub alerts: usize,
    pub items_alerting: usize,
    pub total: Duration,
    pub parse: Duration,
    pub matching: Duration,
    pub store: Duration,
    pub parse_only_pantau: Duration,
    pub feed_rs: Duration,
    pub feed_rs_items: usize,
    pub feed_rs_failed: usize,
}

/// Ingest `docs` (each feed's document) into a fresh database in `dir` with the config at
/// `config_path`, timing each step; and parse them with feed-rs and pantau's parser alone.
pub fn ingest(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    config_path: &Path,
    docs: &[(FeedMeta, Arc<Vec<u8>>)],
) -> Ingest {
    let mut r = Ingest { docs: docs.len(), bytes: docs.iter().map(|(_, d)| d.len()).sum(), ..Ingest::default() };

    // feed-rs parse-only, the baseline.
    let t = Instant::now();
    for (_, doc) in docs {
        match feed_rs::parser::parse(&doc[..]) {
            Ok(f) => r.feed_rs_items += f.entries.len(),
            Err(_) => r.feed_rs_failed += 1,
        }
    }
    r.feed_rs = t.elapsed();

    // pantau's parser alone.
    let t = Instant::now();
    for (m, doc) in docs {
        let url = format!("http://127.0.0.1/feed/{}", m.idx);
        let _ = std::hint::black_box(pantau::parse::parse_feed(doc, Some(&url)));
    }
    r.parse_only_pantau = t.elapsed();

    // Parse + match + store, as one poll does it, without HTTP.
    let source = std::fs::read_to_string(config_path).expect("config written");
    let config = pantau::config::load_str(config_path, &source, &|_| None)
        .unwrap_or_else(|e| die(&format!("the generated config is invalid: {e:?}")));
    let db = dir.join("ingest.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    rt.block_on(async {
        let store = pantau::store::Store::open(&db).await.expect("open the ingest database");
        let refs =
            config.feeds.iter().map(|f| pantau::model::FeedRef { name: f.name.clone(), url: f.url.clone() }).collect();
        store.sync_feeds(refs).await.expect("sync feeds");
        let start = Instant::now();
        for (m, doc) in docs {
            let feed = &config.feeds[m.idx];
            let t = Instant::now();
            let parsed = match pantau::parse::parse_feed(doc, Some(&feed.url)) {
                Ok(p) => p,
                Err(e) => die(&format!("pantau cannot parse generated feed {}: {e}", feed.name)),
            };
            r.parse += t.elapsed();
            r.items += parsed.items.len();

            // What a poll asks the store before it decides: whether the feed was polled
            // before, and which of the document's keys and links are known.
            let t = Instant::now();
            let now = chrono::Utc::now();
            let document = pantau::pipeline::Identified::new(feed, parsed.items, now);
            let polled_before = store.feed_state(&feed.name).await.expect("feed state").polled_before;
            let known = store.known_items(&feed.name, document.keys(), document.links()).await.expect("known items");
            r.store += t.elapsed();

            // The decision, as the daemon makes it: new, edited and re-keyed items, and alerts.
            let t = Instant::now();
            let classified = pantau::pipeline::classify(feed, &known, polled_before, document, &config, now);
            for polled in classified.items.iter().chain(&classified.edits) {
                r.alerts += polled.alerts.len();
                r.items_alerting += usize::from(!polled.alerts.is_empty());
            }
            let record = pantau::store::PollRecord {
                etag: Some(format!("\"v0-{}\"", m.idx)),
                status: pantau::model::PollStatus::http(200),
                ..classified
            };
            r.matching += t.elapsed();

            let t = Instant::now();
            store.commit_poll(record).await.expect("commit");
            r.store += t.elapsed();
        }
        r.total = start.elapsed();
    });
    r
}
