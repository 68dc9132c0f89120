//! Compiled rule tree, tokenised documents, and evaluation of the former against the latter.
//!
//! Boolean operators combine results over the whole document, while a leaf, a phrase or a
//! NEAR group must be satisfied inside a single field value, so that a phrase never spans
//! the end of the title and the start of the summary.

use std::sync::OnceLock;

use regex::Regex;

use super::stem::Stemmer;
use super::text::{self, Split, Word};

/// A set of document fields, as a bit mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scope(u8);

impl Scope {
    pub(crate) const TITLE: Scope = Scope(1);
    pub(crate) const SUMMARY: Scope = Scope(2);
    pub(crate) const CONTENT: Scope = Scope(4);
    pub(crate) const AUTHOR: Scope = Scope(8);
    pub(crate) const CATEGORY: Scope = Scope(16);
    pub(crate) const LINK: Scope = Scope(32);
    pub(crate) const FEED: Scope = Scope(64);
    /// The default scope: title, summary and content.
    pub(crate) const TEXT: Scope = Scope(1 | 2 | 4);

    fn contains(self, other: Scope) -> bool {
        self.0 & other.0 == other.0
    }

    /// How literals aimed at this scope are split into words; links are split like URLs.
    pub(crate) fn split(self) -> Split {
        if self == Scope::LINK {
            Split::Url
        } else {
            Split::Words
        }
    }
}

/// How one query word is compared with one document word.
#[derive(Debug)]
pub(crate) enum Pat {
    /// Folded equality; with `clitics`, Indonesian clitics and the `2` reduplication may follow.
    Folded { word: String, clitics: bool },
    /// Equality of the NFKC forms.
    Exact(String),
    /// A `*`/`?` pattern, against the folded or the exact form.
    Glob { glob: Glob, exact: bool },
    /// Stem-set intersection.
    Stem {
        candidates: Vec<String>,
        stemmer: Stemmer,
    },
}

/// Endings that an Indonesian plain term may carry and still match: clitics, and the `2`
/// that informal writing uses for reduplication (`senjata2`).
const CLITICS: [&str; 7] = ["nya", "lah", "kah", "pun", "ku", "mu", "2"];

/// A compiled wildcard pattern for one word.
#[derive(Debug)]
pub(crate) struct Glob {
    chars: Vec<char>,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Glob {
        Glob {
            chars: pattern.chars().collect(),
        }
    }

    /// Matches the whole word, where `*` is any run of characters and `?` exactly one.
    pub(crate) fn matches(&self, word: &str) -> bool {
        let p = &self.chars;
        let w: &str = word;
        // Classic linear backtracking over the last star: `star` remembers where the last
        // `*` was and which word position it was last tried to end at.
        let (mut pi, mut wi) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        loop {
            let wc = w[wi..].chars().next();
            match (p.get(pi), wc) {
                (Some('*'), _) => {
                    star = Some((pi, wi));
                    pi += 1;
                    continue;
                }
                (Some('?'), Some(c)) => {
                    pi += 1;
                    wi += c.len_utf8();
                    continue;
                }
                (Some(pc), Some(c)) if *pc == c => {
                    pi += 1;
                    wi += c.len_utf8();
                    continue;
                }
                (None, None) => return true,
                _ => {}
            }
            // Mismatch: let the last star swallow one more character, if there is one.
            match star {
                Some((sp, sw)) => match w[sw..].chars().next() {
                    Some(c) => {
                        let next = sw + c.len_utf8();
                        star = Some((sp, next));
                        pi = sp + 1;
                        wi = next;
                    }
                    None => return false,
                },
                None => return false,
            }
        }
    }
}

impl Pat {
    fn matches(&self, text: &FieldText, pos: usize) -> bool {
        let word = &text.words[pos];
        match self {
            Pat::Folded { word: q, clitics } => {
                let w: &str = &word.folded;
                w == q
                    || (*clitics
                        && w.len() > q.len()
                        && w.starts_with(q.as_str())
                        && CLITICS.contains(&&w[q.len()..]))
            }
            Pat::Exact(q) => &*word.exact == q,
            Pat::Glob { glob, exact } => {
                glob.matches(if *exact { &word.exact } else { &word.folded })
            }
            Pat::Stem {
                candidates,
                stemmer,
            } => text.stems(*stemmer)[pos]
                .iter()
                .any(|s| candidates.contains(s)),
        }
    }
}

/// A leaf of the rule: a sequence of word patterns (term or phrase) or a regex.
#[derive(Debug)]
pub(crate) struct Leaf {
    pub scope: Scope,
    pub kind: LeafKind,
    /// What `Match.terms` reports for this leaf.
    pub label: String,
}

#[derive(Debug)]
pub(crate) enum LeafKind {
    Seq(Vec<Pat>),
    Regex(Regex),
}

/// The compiled rule tree.
#[derive(Debug)]
pub(crate) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// Operands are only sequences, OR groups of them, or nested NEARs (checked by the parser).
    Near {
        left: Box<Expr>,
        right: Box<Expr>,
        distance: u32,
        ordered: bool,
    },
    Leaf(Leaf),
}

/// One field value of a document: its NFKC text and words.
#[derive(Debug)]
pub(crate) struct FieldText {
    scope: Scope,
    nfkc: String,
    words: Vec<Word>,
    /// Stem candidates per word, computed on first use by a `~` rule for each stemmer.
    stems: [OnceLock<Vec<Vec<String>>>; 2],
}

impl FieldText {
    fn new(scope: Scope, raw: &str) -> FieldText {
        let nfkc = text::nfkc(raw);
        let words = text::words(&nfkc, scope.split());
        FieldText {
            scope,
            nfkc,
            words,
            stems: [OnceLock::new(), OnceLock::new()],
        }
    }

    fn stems(&self, stemmer: Stemmer) -> &[Vec<String>] {
        self.stems[stemmer.index()].get_or_init(|| {
            self.words
                .iter()
                .map(|w| stemmer.candidates(&w.folded))
                .collect()
        })
    }
}

/// All field values of a document.
#[derive(Debug)]
pub(crate) struct Texts {
    texts: Vec<FieldText>,
}

impl Texts {
    pub(crate) fn new(fields: &super::DocFields<'_>) -> Texts {
        let mut texts = Vec::new();
        let mut push = |scope: Scope, raw: &str| {
            if !raw.trim().is_empty() {
                texts.push(FieldText::new(scope, raw));
            }
        };
        push(Scope::TITLE, fields.title);
        push(Scope::SUMMARY, fields.summary);
        push(Scope::CONTENT, fields.content);
        // Each author and category is its own value, so a phrase cannot join two of them.
        for a in fields.authors {
            push(Scope::AUTHOR, a);
        }
        for c in fields.categories {
            push(Scope::CATEGORY, c);
        }
        push(Scope::LINK, fields.link);
        push(Scope::FEED, fields.feed);
        Texts { texts }
    }
}

/// A run of matched words, inclusive at both ends.
type Span = (usize, usize);

/// Finds every position where a sequence of patterns matches.
fn seq_spans(pats: &[Pat], text: &FieldText) -> Vec<Span> {
    let n = pats.len();
    if n == 0 || text.words.len() < n {
        return Vec::new();
    }
    (0..=text.words.len() - n)
        .filter(|&start| {
            pats.iter()
                .enumerate()
                .all(|(k, p)| p.matches(text, start + k))
        })
        .map(|start| (start, start + n - 1))
        .collect()
}

fn seq_found(pats: &[Pat], text: &FieldText) -> bool {
    let n = pats.len();
    n > 0
        && text.words.len() >= n
        && (0..=text.words.len() - n).any(|start| {
            pats.iter()
                .enumerate()
                .all(|(k, p)| p.matches(text, start + k))
        })
}

impl Expr {
    /// Evaluates the rule against a whole document.
    pub(crate) fn eval(&self, doc: &Texts) -> bool {
        match self {
            Expr::And(children) => children.iter().all(|c| c.eval(doc)),
            Expr::Or(children) => children.iter().any(|c| c.eval(doc)),
            Expr::Not(child) => !child.eval(doc),
            Expr::Near { .. } => doc.texts.iter().any(|t| !self.spans(t).is_empty()),
            Expr::Leaf(leaf) => doc.texts.iter().any(|t| leaf.found_in(t)),
        }
    }

    /// Returns the spans where a proximity operand matches inside one field value.
    fn spans(&self, text: &FieldText) -> Vec<Span> {
        match self {
            Expr::Leaf(leaf) => match &leaf.kind {
                LeafKind::Seq(pats) if leaf.scope.contains(text.scope) => seq_spans(pats, text),
                _ => Vec::new(),
            },
            Expr::Or(children) => {
                let mut all: Vec<Span> = children.iter().flat_map(|c| c.spans(text)).collect();
                all.sort_unstable();
                all.dedup();
                all
            }
            Expr::Near {
                left,
                right,
                distance,
                ordered,
            } => {
                let l = left.spans(text);
                if l.is_empty() {
                    return Vec::new();
                }
                near_spans(&l, &right.spans(text), *distance as usize, *ordered)
            }
            // The parser never puts other nodes under NEAR.
            Expr::And(_) | Expr::Not(_) => Vec::new(),
        }
    }

    /// Appends the labels of the positive leaves that contributed to a match, in query order.
    /// Must only be called on a node that evaluated to true.
    pub(crate) fn collect_terms(&self, doc: &Texts, out: &mut Vec<String>) {
        match self {
            Expr::And(children) => {
                for c in children {
                    c.collect_terms(doc, out);
                }
            }
            Expr::Or(children) => {
                for c in children {
                    if c.eval(doc) {
                        c.collect_terms(doc, out);
                    }
                }
            }
            Expr::Not(_) => {}
            Expr::Near { .. } => {
                for t in doc.texts.iter().filter(|t| !self.spans(t).is_empty()) {
                    self.collect_near_leaves(t, out);
                }
            }
            Expr::Leaf(leaf) => push_label(out, &leaf.label),
        }
    }

    /// Reports the leaves under a matching NEAR that occur in the field value where it matched.
    fn collect_near_leaves(&self, text: &FieldText, out: &mut Vec<String>) {
        match self {
            Expr::Leaf(leaf) => {
                if leaf.found_in(text) {
                    push_label(out, &leaf.label);
                }
            }
            Expr::Or(children) => children
                .iter()
                .for_each(|c| c.collect_near_leaves(text, out)),
            Expr::Near { left, right, .. } => {
                left.collect_near_leaves(text, out);
                right.collect_near_leaves(text, out);
            }
            Expr::And(_) | Expr::Not(_) => {}
        }
    }
}

fn push_label(out: &mut Vec<String>, label: &str) {
    if !out.iter().any(|l| l == label) {
        out.push(label.to_owned());
    }
}

impl Leaf {
    fn found_in(&self, text: &FieldText) -> bool {
        if !self.scope.contains(text.scope) {
            return false;
        }
        match &self.kind {
            LeafKind::Seq(pats) => seq_found(pats, text),
            LeafKind::Regex(re) => re.is_match(&text.nfkc),
        }
    }
}

/// Pairs left and right spans that are at most `distance` words apart (right after left
/// when `ordered`), and returns the spans covering each pair.
fn near_spans(left: &[Span], right: &[Span], distance: usize, ordered: bool) -> Vec<Span> {
    if right.is_empty() {
        return Vec::new();
    }
    let mut right_sorted = right.to_vec();
    right_sorted.sort_unstable();
    let longest = right_sorted.iter().map(|(s, e)| e - s).max().unwrap_or(0);
    let mut out = Vec::new();
    for &(ls, le) in left {
        // Only right spans starting in this window can be close enough, so binary search
        // narrows the candidates instead of trying every pair.
        let lo = if ordered {
            le + 1
        } else {
            ls.saturating_sub(distance.saturating_add(1).saturating_add(longest))
        };
        let hi = le.saturating_add(1).saturating_add(distance);
        let from = right_sorted.partition_point(|&(s, _)| s < lo);
        for &(rs, re) in right_sorted[from..].iter().take_while(|&&(s, _)| s <= hi) {
            let gap = if rs > le {
                rs - le - 1
            } else if !ordered && re < ls {
                ls - re - 1
            } else {
                // Overlapping spans are the same words, not two words near each other.
                continue;
            };
            if gap <= distance {
                out.push((ls.min(rs), le.max(re)));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matching() {
        let g = Glob::new("senjata*");
        assert!(g.matches("senjata"));
        assert!(g.matches("senjatanya"));
        assert!(!g.matches("persenjataan"));
        let g = Glob::new("*senjata*");
        assert!(g.matches("persenjataan"));
        let g = Glob::new("r?ket");
        assert!(g.matches("roket"));
        assert!(!g.matches("rket"));
        let g = Glob::new("*a*b*c");
        assert!(g.matches("xaxbxc"));
        assert!(!g.matches("xaxbxcx"));
        assert!(Glob::new("pyöng*").matches("pyöngyang"));
    }

    #[test]
    fn near_spans_respect_distance_and_order() {
        assert_eq!(near_spans(&[(0, 0)], &[(3, 3)], 2, false), vec![(0, 3)]);
        assert!(near_spans(&[(0, 0)], &[(4, 4)], 2, false).is_empty());
        assert_eq!(near_spans(&[(5, 5)], &[(3, 3)], 2, false), vec![(3, 5)]);
        assert!(near_spans(&[(5, 5)], &[(3, 3)], 2, true).is_empty());
        assert!(near_spans(&[(3, 4)], &[(4, 4)], 2, false).is_empty());
        assert_eq!(near_spans(&[(10, 11)], &[(2, 5)], 4, false), vec![(2, 11)]);
    }
}
