//! The labelled set of the story grouping, built from text we may use: the bodies of
//! `../shared/articles/ground-truth.json` and the sample article. Shared by `tests/stories.rs`
//! and `benches/stories.rs` (included there by path).
//!
//! Every article gets a reprint as a syndicating outlet makes it (a dateline added, the last
//! paragraph cut, a few words changed, a boilerplate footer added), which must join it. Must
//! not join: any two different articles, and the two halves of one article told as two stories
//! on the same subject; for short texts, the headline and first sentence of those halves under
//! one shared headline.

use std::path::Path;

/// The labelled set: texts, and the pairs that must join (`true`) or must not (`false`).
#[derive(Debug, Clone, Default)]
pub struct Set {
    /// The texts.
    pub texts: Vec<String>,
    /// Whether each text is short (a headline and a sentence).
    pub short: Vec<bool>,
    /// Pairs of text indexes with their label: one story or not.
    pub pairs: Vec<(usize, usize, bool)>,
}

/// The boilerplate footer a reprinting outlet adds.
const FOOTER: &str = "Baca berita dan informasi terkini lainnya dari kami di Google News dan saluran WhatsApp. \
                      Pewarta: Andi Susanto. Editor: Rina Wulandari. COPYRIGHT © ANTARA 2026";

/// Words a copy editor puts in for others.
const SWAPS: &[&str] = &["reportedly", "stated", "kata", "menurut", "however", "namun", "also", "juga"];

/// A small deterministic generator, so the set is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }
}

/// The article bodies of the data set at `articles` and the sample article at `sample`.
pub fn bodies(articles: &Path, sample: Option<&Path>) -> Vec<String> {
    let truth: serde_json::Value = serde_json::from_slice(
        &std::fs::read(articles.join("ground-truth.json")).expect("ground-truth.json is readable"),
    )
    .expect("ground-truth.json is JSON");
    let mut out: Vec<(String, String)> = truth
        .as_object()
        .expect("an object")
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.get("articleBody")?.as_str()?.to_string())))
        .collect();
    out.sort();
    let mut out: Vec<String> = out.into_iter().map(|(_, b)| b).filter(|b| b.split_whitespace().count() >= 80).collect();
    if let Some(text) = sample.and_then(|p| std::fs::read_to_string(p).ok()) {
        // The sample starts with its headline and a deck line; the body follows.
        let body: Vec<&str> = text.split("\n\n").skip(2).collect();
        out.push(body.join("\n\n"));
    }
    out
}

fn paragraphs(body: &str) -> Vec<&str> {
    body.split('\n').map(str::trim).filter(|p| !p.is_empty()).collect()
}

/// A reprint of `body` as a syndicating outlet makes it.
pub fn reprint(body: &str, rng: &mut u64) -> String {
    let mut lcg = Lcg(*rng);
    let mut paras = paragraphs(body);
    if paras.len() >= 3 {
        paras.pop();
    }
    let mut words: Vec<String> = paras.join("\n").split(' ').map(str::to_string).collect();
    for _ in 0..4 {
        let at = lcg.next(words.len());
        words[at] = SWAPS[lcg.next(SWAPS.len())].to_string();
    }
    *rng = lcg.0;
    format!("Jakarta (ANTARA) - {}\n{FOOTER}", words.join(" "))
}

/// The exact Jaccard similarity of two texts' lower-cased three-word shingles (the label's
/// own measure, independent of pantau's signatures).
pub fn exact_jaccard(a: &str, b: &str) -> f64 {
    let shingles = |t: &str| {
        let words: Vec<String> = t.split_whitespace().map(str::to_lowercase).collect();
        words.windows(3).map(|w| w.join(" ")).collect::<std::collections::HashSet<_>>()
    };
    let (x, y) = (shingles(a), shingles(b));
    let common = x.intersection(&y).count();
    common as f64 / (x.len() + y.len() - common).max(1) as f64
}

/// The first sentence of a text.
fn first_sentence(text: &str) -> &str {
    let end = text.find(". ").map(|i| i + 1).unwrap_or(text.len());
    &text[..end]
}

/// The labelled set.
pub fn build(bodies: &[String]) -> Set {
    let mut rng = 42u64;
    let mut set = Set::default();
    let push = |set: &mut Set, text: String, short: bool| {
        set.texts.push(text);
        set.short.push(short);
        set.texts.len() - 1
    };
    let mut originals = Vec::new();
    for body in bodies {
        // The original and its reprint: one story.
        let o = push(&mut set, body.clone(), false);
        let r = push(&mut set, reprint(body, &mut rng), false);
        set.pairs.push((o, r, true));
        originals.push((o, r));
        // Its halves: two stories on one subject, long and short.
        let paras = paragraphs(body);
        if paras.len() >= 4 {
            let (a, b) = paras.split_at(paras.len() / 2);
            let (a, b) = (a.join("\n"), b.join("\n"));
            // Halves that repeat each other's phrases (lists, recipes, refrains) are not two
            // stories: only halves sharing under a fifth of their exact shingles are used.
            if a.split_whitespace().count() >= 40 && b.split_whitespace().count() >= 40 && exact_jaccard(&a, &b) < 0.2 {
                let headline = paras[0].split_whitespace().take(8).collect::<Vec<_>>().join(" ");
                let sa = push(&mut set, format!("{headline}\n{}", first_sentence(&a)), true);
                let sb = push(&mut set, format!("{headline}\n{}", first_sentence(&b)), true);
                set.pairs.push((sa, sb, false));
                let la = push(&mut set, a, false);
                let lb = push(&mut set, b, false);
                set.pairs.push((la, lb, false));
            }
        }
    }
    // Different articles, originals and reprints alike.
    for (x, &(o1, r1)) in originals.iter().enumerate() {
        for &(o2, r2) in &originals[x + 1..] {
            set.pairs.push((o1, o2, false));
            set.pairs.push((r1, o2, false));
            set.pairs.push((o1, r2, false));
        }
    }
    set
}
