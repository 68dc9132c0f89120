//! Story grouping: precision and recall on the labelled set of `tests/util/story_set.rs`
//! (reprints of `../shared/articles` and the sample article), and what an item costs: its
//! signature, and storing it with its bands after looking its story up in the store's band
//! index among 45,000 recent items.
//!
//! `cargo bench --bench stories` (`PANTAU_ARTICLES` overrides `../shared/articles`).

#[path = "../tests/util/story_set.rs"]
mod story_set;

use std::path::PathBuf;
use std::time::Instant;

use pantau::model::{FeedRef, Item};
use pantau::store::{PollRecord, Polled, Store};
use pantau::stories::{Grouping, Signature, Threshold, DEFAULT_THRESHOLD};

fn main() {
    let dir = std::env::var_os("PANTAU_ARTICLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/articles"));
    if !dir.join("ground-truth.json").is_file() {
        println!("SKIPPED: the stories bench needs {}", dir.display());
        return;
    }
    let bodies = story_set::bodies(&dir, Some(&dir.join("../samples/idntimes-rusia-korut.txt")));
    let set = story_set::build(&bodies);

    // Signatures: every text of the set, several rounds; the cost per text and per word.
    let words: usize = set.texts.iter().map(|t| t.split_whitespace().count()).sum();
    let rounds = 20;
    let started = Instant::now();
    let mut sigs = Vec::new();
    for _ in 0..rounds {
        sigs = set.texts.iter().map(|t| Signature::of_text(t)).collect::<Vec<_>>();
    }
    let per_text = started.elapsed().as_secs_f64() / (rounds * set.texts.len()) as f64;
    println!(
        "signature: {:.1} µs per text ({} texts, {:.0} words on average), {:.0} ns per word",
        per_text * 1e6,
        set.texts.len(),
        words as f64 / set.texts.len() as f64,
        per_text * 1e9 * set.texts.len() as f64 / words as f64
    );

    for t in [0.4, DEFAULT_THRESHOLD, 0.6] {
        let th = Threshold { long: t };
        let (mut tp, mut fp, mut pos) = (0, 0, 0);
        for &(a, b, same) in &set.pairs {
            pos += usize::from(same);
            let (Some(x), Some(y)) = (&sigs[a], &sigs[b]) else { continue };
            if x.bands().iter().zip(y.bands()).any(|(p, q)| *p == q) && th.joins(x, y) {
                if same {
                    tp += 1
                } else {
                    fp += 1
                }
            }
        }
        println!(
            "threshold {t:.2}: precision {:.3}, recall {:.3} ({} pairs that must join, {} that must not)",
            if tp + fp == 0 { 1.0 } else { tp as f64 / (tp + fp) as f64 },
            tp as f64 / pos as f64,
            pos,
            set.pairs.len() - pos
        );
    }

    store_cost(&bodies);
}

/// The store's cost per item with and without grouping: 50,000 items of a dozen sentences
/// drawn from the set's articles are committed in polls of 50 items; the last 5,000 are timed, each run
/// on its own database.
fn store_cost(bodies: &[String]) {
    // News-like text: each item is a dozen sentences drawn from the set's articles, so it has
    // the phrases (and phrase frequencies) of real news without being a copy of one article.
    let sentences: Vec<&str> =
        bodies.iter().flat_map(|b| b.split(". ")).filter(|s| s.split_whitespace().count() >= 5).collect();
    let mut seed = 7u64;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) % n as u64) as usize
    };
    let total = 50_000;
    let items: Vec<Item> = (0..total)
        .map(|i| Item {
            id: format!("item-{i}"),
            title: format!("Headline {i}"),
            content: (0..12).map(|_| sentences[next(sentences.len())]).collect::<Vec<_>>().join(". "),
            ..Item::default()
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    for grouping in
        [None, Some(Grouping { window: std::time::Duration::from_secs(3 * 86400), threshold: Threshold::default() })]
    {
        let dir =
            std::env::temp_dir().join(format!("pantau-bench-stories-{}-{}", std::process::id(), grouping.is_some()));
        let _ = std::fs::remove_dir_all(&dir);
        let (signing, storing) = rt.block_on(async {
            let store = Store::open(&dir.join("bench.db")).await.expect("open");
            store.sync_feeds(vec![FeedRef { name: "f".into(), url: "https://ex.id/rss".into() }]).await.expect("feeds");
            let (mut signing, mut storing) = (0.0, 0.0);
            for (n, chunk) in items.chunks(50).enumerate() {
                let timed = n * 50 >= total - 5_000;
                let started = Instant::now();
                let polled: Vec<Polled> = chunk
                    .iter()
                    .map(|item| {
                        let mut p = Polled::new(item.clone(), Vec::new());
                        if grouping.is_none() {
                            p.signature = None;
                        }
                        p
                    })
                    .collect();
                let signed = started.elapsed().as_secs_f64();
                let started = Instant::now();
                let record = PollRecord {
                    feed: "f".into(),
                    items: polled,
                    grouping,
                    status: pantau::model::PollStatus::http(200),
                    ..PollRecord::default()
                };
                store.commit_poll(record).await.expect("commit");
                if timed {
                    signing += signed;
                    storing += started.elapsed().as_secs_f64();
                }
            }
            (signing / 5_000.0, storing / 5_000.0)
        });
        let _ = std::fs::remove_dir_all(&dir);
        println!(
            "store, {}: {:.1} µs per item to build it (identity{}), {:.1} µs per item to commit it ({total} items stored)",
            if grouping.is_some() { "grouping on" } else { "grouping off" },
            signing * 1e6,
            if grouping.is_some() { " + signature" } else { " + signature, dropped" },
            storing * 1e6
        );
    }
}
