//! Parse throughput of pantau against bare feed-rs on the real feeds of the shared corpus.
//!
//! Reads every file under `../shared/corpus/real` into memory, then times, round by round,
//! `feed_rs::parser::parse` and `pantau::parse::parse_feed_with(bytes, None, None)` over all of
//! them (the two alternate which goes first). Prints, for each, the files read, the items found,
//! the median seconds of a round and items per second, then pantau's share of feed-rs's speed.
//!
//! `cargo bench --bench parse` (flags after `--`: `--rounds N`, default 5; `--dir PATH`, default
//! the corpus's `real` directory; `--only pantau|feed-rs` to run one side, e.g. under `perf`).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One parser's figures for one pass over every file.
#[derive(Clone, Copy, Default)]
struct Pass {
    /// Files the parser returned a feed for.
    files: usize,
    /// Items in those feeds.
    items: usize,
    /// Wall-clock seconds of the pass.
    seconds: f64,
}

fn main() {
    let mut rounds = 5usize;
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real");
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).expect("--rounds N"),
            "--dir" => dir = PathBuf::from(args.next().expect("--dir PATH")),
            "--only" => only = Some(args.next().expect("--only pantau|feed-rs")),
            // `cargo bench` passes `--bench`; other harness flags mean nothing here.
            _ => {}
        }
    }
    let rounds = rounds.max(1);
    let docs = read_all(&dir);
    let bytes: usize = docs.iter().map(Vec::len).sum();
    println!("parse bench: {} files, {:.2} MB from {}, {rounds} rounds", docs.len(), bytes as f64 / 1e6, dir.display());

    let run_feed_rs = only.as_deref().is_none_or(|o| o == "feed-rs");
    let run_pantau = only.as_deref().is_none_or(|o| o == "pantau");
    // A warm-up pass of each, so the first timed round does not pay for page faults.
    if run_feed_rs {
        feed_rs_pass(&docs);
    }
    if run_pantau {
        pantau_pass(&docs);
    }
    let mut feed_rs = Vec::new();
    let mut pantau = Vec::new();
    for round in 0..rounds {
        if round % 2 == 0 {
            if run_feed_rs {
                feed_rs.push(feed_rs_pass(&docs));
            }
            if run_pantau {
                pantau.push(pantau_pass(&docs));
            }
        } else {
            if run_pantau {
                pantau.push(pantau_pass(&docs));
            }
            if run_feed_rs {
                feed_rs.push(feed_rs_pass(&docs));
            }
        }
    }
    let feed_rs = median(&feed_rs);
    let pantau = median(&pantau);
    if let Some(p) = feed_rs {
        report("feed-rs", p);
    }
    if let Some(p) = pantau {
        report("pantau", p);
    }
    if let (Some(f), Some(p)) = (feed_rs, pantau) {
        let rate = |p: Pass| p.items as f64 / p.seconds;
        println!(
            "pantau/feed-rs  items/s ratio {:.3}  time ratio {:.3} (target: items/s ratio >= 0.8, time ratio <= 1.25)",
            rate(p) / rate(f),
            p.seconds / f.seconds
        );
    }
}

fn report(name: &str, p: Pass) {
    println!(
        "{name:<8} files {:>4}  items {:>6}  median {:>8.4} s  {:>10.0} items/s",
        p.files,
        p.items,
        p.seconds,
        p.items as f64 / p.seconds
    );
}

/// The pass with the median time (counts are the same in every pass).
fn median(passes: &[Pass]) -> Option<Pass> {
    let mut sorted = passes.to_vec();
    sorted.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    sorted.get(sorted.len() / 2).copied()
}

fn feed_rs_pass(docs: &[Vec<u8>]) -> Pass {
    let started = Instant::now();
    let mut pass = Pass::default();
    for doc in docs {
        // feed-rs may panic on hostile input; such a file counts as unread.
        let parsed = std::panic::catch_unwind(|| feed_rs::parser::parse(doc.as_slice()));
        if let Ok(Ok(feed)) = parsed {
            pass.files += 1;
            pass.items += black_box(feed).entries.len();
        }
    }
    pass.seconds = started.elapsed().as_secs_f64();
    pass
}

fn pantau_pass(docs: &[Vec<u8>]) -> Pass {
    let started = Instant::now();
    let mut pass = Pass::default();
    for doc in docs {
        if let Ok(feed) = pantau::parse::parse_feed_with(doc, None, None) {
            pass.files += 1;
            pass.items += black_box(feed).items.len();
        }
    }
    pass.seconds = started.elapsed().as_secs_f64();
    pass
}

/// Every file under `dir`, recursively, in path order.
fn read_all(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("{}: {e}", d.display())).path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                paths.push(path);
            }
        }
    }
    paths.sort();
    assert!(!paths.is_empty(), "no files under {}", dir.display());
    paths.iter().map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).collect()
}
