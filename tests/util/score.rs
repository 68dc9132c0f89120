//! The article-extraction metric of `../shared/articles/README.md` (the Scrapinghub article
//! extraction benchmark's), shared by the extraction test and `benches/articles.rs`.
//!
//! Tokens are maximal runs of word characters, case kept; each text becomes the multiset of
//! its runs of four consecutive tokens. Per page, true positives are the shingles in both
//! (min of the counts), false positives the extra ones in the extraction, false negatives the
//! missing ones, each divided by their sum. Precision and recall are means over pages; F1 is
//! computed from the two means.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// One page of the data set.
pub struct Page {
    /// Its key in `ground-truth.json`.
    pub key: String,
    /// The page's URL.
    pub url: String,
    /// The page's bytes as served (decompressed).
    pub html: Vec<u8>,
    /// The true article body.
    pub truth: String,
}

/// Load every page of the data set at `dir` (`ground-truth.json` and `html/<key>.html.gz`).
pub fn load(dir: &Path) -> Vec<Page> {
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("ground-truth.json")).expect("ground-truth.json is readable"))
            .expect("ground-truth.json is JSON");
    let mut pages = Vec::new();
    for (key, v) in truth.as_object().expect("ground truth is an object") {
        let gz = std::fs::read(dir.join("html").join(format!("{key}.html.gz"))).expect("page is readable");
        let mut html = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut html).expect("page is gzip");
        pages.push(Page {
            key: key.clone(),
            url: v["url"].as_str().unwrap_or_default().to_string(),
            html,
            truth: v["articleBody"].as_str().unwrap_or_default().to_string(),
        });
    }
    pages.sort_by(|a, b| a.key.cmp(&b.key));
    pages
}

fn shingles(text: &str) -> HashMap<[&str; 4], u32> {
    let tokens: Vec<&str> =
        text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|t| !t.is_empty()).collect();
    let mut out = HashMap::new();
    for w in tokens.windows(4) {
        *out.entry([w[0], w[1], w[2], w[3]]).or_insert(0) += 1;
    }
    out
}

/// Per-page (tp, fp, fn), each divided by their sum; `None` for a page where both are empty.
pub fn page_score(extracted: &str, truth: &str) -> Option<(f64, f64, f64)> {
    let (got, want) = (shingles(extracted), shingles(truth));
    let mut tp = 0u32;
    let mut fp = 0u32;
    for (s, &n) in &got {
        let m = want.get(s).copied().unwrap_or(0);
        tp += n.min(m);
        fp += n.saturating_sub(m);
    }
    let fn_: u32 = want.iter().map(|(s, &m)| m.saturating_sub(got.get(s).copied().unwrap_or(0))).sum();
    let total = f64::from(tp + fp + fn_);
    (total > 0.0).then(|| (f64::from(tp) / total, f64::from(fp) / total, f64::from(fn_) / total))
}

/// Precision, recall and F1 over pages scored with [`page_score`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Score {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// The data set's figures from per-page scores (`None`: both texts empty, precision 1).
pub fn overall(pages: &[Option<(f64, f64, f64)>]) -> Score {
    let (mut p, mut np, mut r, mut nr) = (0.0, 0usize, 0.0, 0usize);
    for page in pages {
        match page {
            None => {
                p += 1.0;
                np += 1;
            }
            Some((tp, fp, fn_)) => {
                if tp + fp > 0.0 {
                    p += tp / (tp + fp);
                    np += 1;
                }
                if tp + fn_ > 0.0 {
                    r += tp / (tp + fn_);
                    nr += 1;
                }
            }
        }
    }
    let precision = if np > 0 { p / np as f64 } else { 0.0 };
    let recall = if nr > 0 { r / nr as f64 } else { 0.0 };
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    Score { precision, recall, f1 }
}

/// The data set beside the repository (`../shared/articles`, or `$PANTAU_ARTICLES`).
pub fn articles_dir() -> PathBuf {
    std::env::var_os("PANTAU_ARTICLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/articles"))
}
