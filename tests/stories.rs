//! The story grouping on a labelled set (`util/story_set.rs`): reprints of the articles of
//! `../shared/articles` and of the sample article must join their original; different articles,
//! and two stories told from the halves of one article, must not. Prints precision and recall
//! for a range of thresholds; holds the default to precision 1.0 and recall ≥ 0.95.

use pantau::stories::{Signature, Threshold, DEFAULT_THRESHOLD};

use crate::util::story_set;

/// Precision and recall of the grouping at `threshold`: a pair is grouped when the two share a
/// band of the index (as the store finds candidates) and are close enough.
pub fn score(sigs: &[Option<Signature>], pairs: &[(usize, usize, bool)], threshold: f64) -> (f64, f64, usize, usize) {
    let t = Threshold { long: threshold };
    let (mut tp, mut fp, mut positives) = (0usize, 0usize, 0usize);
    for &(a, b, same) in pairs {
        positives += usize::from(same);
        let (Some(x), Some(y)) = (&sigs[a], &sigs[b]) else { continue };
        let candidate = x.bands().iter().zip(y.bands()).any(|(p, q)| *p == q);
        if candidate && t.joins(x, y) {
            if same {
                tp += 1;
            } else {
                fp += 1;
            }
        }
    }
    let precision = if tp + fp == 0 { 1.0 } else { tp as f64 / (tp + fp) as f64 };
    (precision, tp as f64 / positives.max(1) as f64, fp, positives - tp)
}

#[test]
fn story_grouping_on_the_labelled_set() {
    let Some(dir) = crate::util::shared("articles", "ground-truth.json") else { return };
    let sample = dir.join("../samples/idntimes-rusia-korut.txt");
    let bodies = story_set::bodies(&dir, Some(&sample));
    let set = story_set::build(&bodies);
    let sigs: Vec<Option<Signature>> = set.texts.iter().map(|t| Signature::of_text(t)).collect();
    let negatives = set.pairs.iter().filter(|p| !p.2).count();
    eprintln!(
        "story grouping: {} texts ({} short), {} pairs that must join, {negatives} that must not",
        set.texts.len(),
        set.short.iter().filter(|s| **s).count(),
        set.pairs.len() - negatives
    );
    for t in [0.3, 0.4, 0.5, 0.6, 0.7, 0.8] {
        let (p, r, fp, missed) = score(&sigs, &set.pairs, t);
        eprintln!("  threshold {t:.1}: precision {p:.3}, recall {r:.3} ({fp} wrong merges, {missed} reprints missed)");
    }
    let closest = set
        .pairs
        .iter()
        .filter(|p| !p.2)
        .filter_map(|&(a, b, _)| Some(sigs[a].as_ref()?.similarity(sigs[b].as_ref()?)))
        .fold(0.0f64, f64::max);
    eprintln!("  the closest pair that must not join: similarity {closest:.2}");
    let (p, r, _, _) = score(&sigs, &set.pairs, DEFAULT_THRESHOLD);
    assert_eq!(p, 1.0, "a wrong merge at the default threshold");
    assert!(r >= 0.95, "recall {r:.3} below 0.95");
}

#[test]
#[ignore]
fn story_grouping_diagnose() {
    let Some(dir) = crate::util::shared("articles", "ground-truth.json") else { return };
    let bodies = story_set::bodies(&dir, Some(&dir.join("../samples/idntimes-rusia-korut.txt")));
    let set = story_set::build(&bodies);
    let sigs: Vec<Option<Signature>> = set.texts.iter().map(|t| Signature::of_text(t)).collect();
    let t = Threshold::default();
    for &(a, b, same) in &set.pairs {
        let (Some(x), Some(y)) = (&sigs[a], &sigs[b]) else { continue };
        let j = t.joins(x, y);
        if j != same {
            eprintln!(
                "same={same} sim={:.2} shingles {} {}\n A: {:.300}\n B: {:.300}\n",
                x.similarity(y),
                x.shingles,
                y.shingles,
                set.texts[a],
                set.texts[b]
            );
        }
    }
}
