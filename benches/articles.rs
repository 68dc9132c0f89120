//! Article extraction: quality and speed on `../shared/articles` (141 real pages with their true
//! body text), the same figures as tests/extraction.rs plus timings.
//!
//!     cargo bench --bench articles                 # F1 / precision / recall, pages/s, MB/s
//!     scripts/bench-articles.sh                    # the same, side by side with Python trafilatura
//!
//! Flags: `--repeat N` (timed passes over all pages; the fastest counts, default 5),
//! `--data DIR` (default `$PANTAU_ARTICLES`, else `../shared/articles`), `--results FILE`
//! (key=value lines for the script).

#[path = "../tests/util/score.rs"]
#[allow(dead_code)]
mod score;

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let repeat: usize = flag("--repeat").and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    let dir = flag("--data").map(std::path::PathBuf::from).unwrap_or_else(score::articles_dir);
    if !dir.join("ground-truth.json").is_file() {
        eprintln!("SKIPPED: the article data set is not at {} (set PANTAU_ARTICLES or --data)", dir.display());
        return;
    }
    let pages = score::load(&dir);
    let bytes: usize = pages.iter().map(|p| p.html.len()).sum();
    // Quality, once.
    let per_page: Vec<_> = pages
        .iter()
        .map(|p| {
            let html = pantau::parse::decode_html(&p.html, None);
            let text = pantau::article::extract::extract(&html, Some(&p.url), None).map(|e| e.text).unwrap_or_default();
            score::page_score(&text, &p.truth)
        })
        .collect();
    let s = score::overall(&per_page);
    // Speed: decoding and extraction of every page, the fastest of `repeat` passes.
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        let started = Instant::now();
        for p in &pages {
            let html = pantau::parse::decode_html(&p.html, None);
            std::hint::black_box(pantau::article::extract::extract(&html, Some(&p.url), None).ok());
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    let pages_per_s = pages.len() as f64 / best;
    println!("article extraction on {} pages ({:.1} MB of HTML)", pages.len(), bytes as f64 / 1e6);
    println!("  F1 {:.3}  precision {:.3}  recall {:.3}", s.f1, s.precision, s.recall);
    println!(
        "  {:.1} pages/s, {:.2} MB/s, {:.2} ms/page (best of {repeat} passes, one thread)",
        pages_per_s,
        bytes as f64 / 1e6 / best,
        best * 1000.0 / pages.len() as f64
    );
    if let Some(path) = flag("--results") {
        let out = format!(
            "pages={}\nf1={:.4}\nprecision={:.4}\nrecall={:.4}\nseconds={best:.4}\npages_per_s={pages_per_s:.1}\n",
            pages.len(),
            s.f1,
            s.precision,
            s.recall
        );
        if let Err(e) = std::fs::write(&path, out) {
            eprintln!("cannot write {path}: {e}");
        }
    }
}
