//! Story grouping: precision and recall on the labelled set of `tests/util/story_set.rs`
//! (reprints of `../shared/articles` and the sample article), and what an item costs: its
//! signature, and finding its story through the store's band index among 100,000 recent items
//! (about a day of 10,000 feeds).
//!
//! `cargo bench --bench stories` (`PANTAU_ARTICLES` overrides `../shared/articles`).

#[path = "../tests/util/story_set.rs"]
mod story_set;

use std::path::PathBuf;
use std::time::Instant;

use pantau::stories::{Signature, Threshold, DEFAULT_THRESHOLD};

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
}
