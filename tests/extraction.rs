//! Article extraction quality on the 141 pages of `../shared/articles` with their true body
//! text, scored with the data set's own metric (4-token shingles; see `util/score.rs`).
//! Prints F1, precision and recall; `benches/articles.rs` prints the same with timings.

use crate::util::score;

/// The floor this test holds; the measured figure is in the README (target 0.97). Set a
/// little under the measurement so that an extractor update that costs a point is caught
/// without the test depending on the last digit.
const MIN_F1: f64 = 0.96;

#[test]
fn extraction_quality_on_the_article_data_set() {
    let Some(dir) = crate::util::shared("articles", "ground-truth.json") else { return };
    let pages = score::load(&dir);
    assert!(pages.len() >= 100, "{} pages", pages.len());
    let mut per_page = Vec::new();
    let mut worst: Vec<(f64, String)> = Vec::new();
    for page in &pages {
        let html = pantau::parse::decode_html(&page.html, None);
        let text = pantau::article::extract::extract(&html, Some(&page.url), None).map(|e| e.text).unwrap_or_default();
        let s = score::page_score(&text, &page.truth);
        if let Some((tp, fp, fn_)) = s {
            worst.push((2.0 * tp / (2.0 * tp + fp + fn_), page.key.clone()));
        }
        per_page.push(s);
    }
    let total = score::overall(&per_page);
    worst.sort_by(|a, b| a.0.total_cmp(&b.0));
    eprintln!(
        "article extraction on {} pages: F1 {:.3}, precision {:.3}, recall {:.3}; weakest pages: {:?}",
        pages.len(),
        total.f1,
        total.precision,
        total.recall,
        &worst[..5.min(worst.len())]
    );
    assert!(total.f1 >= MIN_F1, "F1 {:.3} fell below {MIN_F1}", total.f1);
}
