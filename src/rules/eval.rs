//! Evaluation of a compiled rule tree ([`super::ast`]) against a tokenised document.
//!
//! Boolean operators combine results over the whole document, while a leaf, a phrase or a
//! NEAR group must be satisfied inside a single field value, so that a phrase never spans
//! the end of the title and the start of the summary.

use super::ast::{folded_matches, Expr, Leaf, LeafKind, Pat};
use super::doc::{Occ, Texts};

impl Pat {
    /// The distinct words of the document that this pattern matches, for the patterns that
    /// can list them without looking at every position; None for the others.
    fn matching_words(&self, doc: &Texts) -> Option<Vec<u32>> {
        match self {
            Pat::Glob { glob, exact: false } => {
                // Only words sharing the first three characters need a look, when those are literal.
                // Otherwise only the words holding its longest literal run.
                let mut ids = match glob.prefix_key() {
                    Some(k) => doc.with_prefix(k),
                    None if !glob.infix().is_empty() => {
                        let mut ids = Vec::new();
                        doc.words_containing(glob.infix(), &mut ids);
                        ids
                    }
                    None => (0..doc.distinct_len() as u32).collect(),
                };
                ids.retain(|&id| glob.matches(doc.folded(id)));
                Some(ids)
            }
            Pat::Stem { candidates, stemmer, .. } => Some(doc.stem_matches(candidates, *stemmer)),
            Pat::Folded { .. } | Pat::Exact { .. } | Pat::Glob { exact: true, .. } => None,
        }
    }

    fn matches(&self, doc: &Texts, field: usize, pos: usize) -> bool {
        match self {
            Pat::Folded { word, clitics, .. } => {
                folded_matches(doc.folded_at(field, pos).as_bytes(), word.as_bytes(), *clitics)
            }
            Pat::Exact { word: q, .. } => doc.exact_at(field, pos) == q,
            Pat::Glob { glob, exact } => {
                glob.matches(if *exact { doc.exact_at(field, pos) } else { doc.folded_at(field, pos) })
            }
            Pat::Stem { candidates, stemmer, .. } => {
                let w = doc.folded_at(field, pos);
                // Every stem of a word leaves its needle in the word, so most words are
                // rejected without stemming them.
                candidates.iter().any(|c| w.contains(stemmer.needle(c)))
                    && stemmer.candidates(w).iter().any(|s| candidates.contains(s))
            }
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Makes leaves ignore the word index and scan every position, for differential tests.
    pub(crate) static SCAN_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn scan_only() -> bool {
    SCAN_ONLY.with(|s| s.get())
}

#[cfg(not(test))]
#[inline(always)]
fn scan_only() -> bool {
    false
}

/// A run of matched words, inclusive at both ends.
type Span = (usize, usize);

/// Tells whether every pattern of a sequence matches from `start` on.
fn seq_at(pats: &[Pat], doc: &Texts, field: usize, start: usize) -> bool {
    start + pats.len() <= doc.fields()[field].len()
        && pats.iter().enumerate().all(|(k, p)| p.matches(doc, field, start + k))
}

impl Leaf {
    /// Calls `visit(field, start)` for matches of the leaf's sequence in field values within
    /// scope (only in field `only` when given), stopping as soon as `visit` returns true.
    /// Returns whether it was stopped. A start may be reported more than once.
    fn each_start(&self, doc: &Texts, only: Option<usize>, visit: &mut dyn FnMut(usize, usize) -> bool) -> bool {
        let LeafKind::Seq(pats) = &self.kind else {
            return false;
        };
        let fields = doc.fields();
        let in_scope = |f: usize| only.is_none_or(|o| o == f) && self.scope.contains(fields[f].scope);
        // Tries the sequence with pattern `k` at one occurrence of a word it may match;
        // `known` says that the whole sequence is already known to match there.
        let mut try_at = |k: usize, o: &Occ, known: bool| {
            let (f, p) = (o.field as usize, o.pos as usize);
            p >= k && in_scope(f) && (known || seq_at(pats, doc, f, p - k)) && visit(f, p - k)
        };
        if !scan_only() {
            if let Some(k) = self.anchor() {
                let anchor = &pats[k];
                let key = anchor.key().unwrap_or_default();
                let clitics = matches!(anchor, Pat::Folded { clitics: true, .. });
                return doc.any_with_key(key, clitics, |id| {
                    if let Pat::Folded { word, clitics, .. } = anchor {
                        // A folded pattern depends on the word only, so one test per distinct
                        // word replaces one per position.
                        if !folded_matches(doc.folded(id).as_bytes(), word.as_bytes(), *clitics) {
                            return false;
                        }
                        if pats.len() == 1 {
                            return doc.occurs_in(id, self.scope)
                                && doc.occurrences(id).iter().any(|o| try_at(0, o, true));
                        }
                    }
                    doc.occurrences(id).iter().any(|o| try_at(k, o, false))
                });
            }
            // Without a word key, a pattern that can list the words it matches serves as anchor.
            if let Some((k, ids)) = pats.iter().enumerate().find_map(|(k, p)| Some((k, p.matching_words(doc)?))) {
                return ids.iter().any(|&id| doc.occurrences(id).iter().any(|o| try_at(k, o, false)));
            }
        }
        for (f, text) in fields.iter().enumerate() {
            if !in_scope(f) || text.len() < pats.len() {
                continue;
            }
            for start in 0..=text.len() - pats.len() {
                if seq_at(pats, doc, f, start) && visit(f, start) {
                    return true;
                }
            }
        }
        false
    }

    /// Whether the leaf matches anywhere in the document.
    pub(crate) fn found(&self, doc: &Texts) -> bool {
        if let (Some(q), false) = (self.quick(), scan_only()) {
            // The word decides the match, and the document knows the scopes each word occurs in.
            return doc.any_with_key(q.key, q.clitics, |id| {
                folded_matches(doc.folded(id).as_bytes(), q.word(), q.clitics) && doc.occurs_in(id, self.scope)
            });
        }
        match &self.kind {
            // A lone pattern that lists its words decides by the words and their scopes alone.
            LeafKind::Seq(pats) if pats.len() == 1 && !scan_only() => match &pats[0] {
                Pat::Glob { glob, exact: false } if glob.prefix_key().is_some() => doc
                    .any_with_prefix(glob.prefix_key().unwrap_or_default(), |id| {
                        doc.occurs_in(id, self.scope) && glob.matches(doc.folded(id))
                    }),
                Pat::Stem { candidates, stemmer, .. } => {
                    doc.stem_matches(candidates, *stemmer).iter().any(|&id| doc.occurs_in(id, self.scope))
                }
                _ => self.each_start(doc, None, &mut |_, _| true),
            },
            LeafKind::Seq(_) => self.each_start(doc, None, &mut |_, _| true),
            LeafKind::Regex(re) => doc.regex_found(&self.label, self.scope, || {
                doc.fields().iter().any(|t| self.scope.contains(t.scope) && re.is_match(&t.nfkc))
            }),
        }
    }

    /// Whether the leaf matches in one field value.
    fn found_in(&self, doc: &Texts, field: usize) -> bool {
        match &self.kind {
            LeafKind::Seq(_) => self.each_start(doc, Some(field), &mut |_, _| true),
            LeafKind::Regex(re) => {
                let t = &doc.fields()[field];
                self.scope.contains(t.scope) && re.is_match(&t.nfkc)
            }
        }
    }

    /// The spans where the leaf's sequence matches, with their field values, sorted.
    fn spans(&self, doc: &Texts) -> Vec<FieldSpan> {
        let LeafKind::Seq(pats) = &self.kind else {
            return Vec::new();
        };
        let n = pats.len();
        let mut out = Vec::new();
        self.each_start(doc, None, &mut |f, s| {
            out.push((f, (s, s + n - 1)));
            false
        });
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A span inside one field value, identified by its index.
type FieldSpan = (usize, Span);

impl Expr {
    /// Evaluates the rule against a whole document.
    pub(crate) fn eval(&self, doc: &Texts) -> bool {
        match self {
            // Indexed lookups go first, so that scans and regexes only run when still needed.
            Expr::And(children) => {
                children.iter().filter(|c| c.cheap()).all(|c| c.eval(doc))
                    && children.iter().filter(|c| !c.cheap()).all(|c| c.eval(doc))
            }
            Expr::Or(children) => children.iter().any(|c| c.eval(doc)),
            Expr::Not(child) => !child.eval(doc),
            Expr::Near { .. } => !self.spans(doc).is_empty(),
            Expr::Leaf(leaf) => leaf.found(doc),
        }
    }

    /// Whether evaluating the node only takes index lookups.
    pub(crate) fn cheap(&self) -> bool {
        match self {
            Expr::Leaf(leaf) => leaf.anchor().is_some(),
            Expr::Not(child) => child.cheap(),
            Expr::And(children) | Expr::Or(children) => children.iter().all(Expr::cheap),
            Expr::Near { left, right, .. } => left.cheap() && right.cheap(),
        }
    }

    /// Returns the spans where a proximity operand matches, each inside one field value.
    fn spans(&self, doc: &Texts) -> Vec<FieldSpan> {
        match self {
            Expr::Leaf(leaf) => leaf.spans(doc),
            Expr::Or(children) => {
                let mut all: Vec<FieldSpan> = children.iter().flat_map(|c| c.spans(doc)).collect();
                all.sort_unstable();
                all.dedup();
                all
            }
            Expr::Near { left, right, distance, ordered } => {
                let l = left.spans(doc);
                if l.is_empty() {
                    return Vec::new();
                }
                let r = right.spans(doc);
                let mut out = Vec::new();
                // Both lists are sorted by field value, so each value's spans are one run.
                let mut rest_l = l.as_slice();
                while let Some(&(f, _)) = rest_l.first() {
                    let run = rest_l.partition_point(|(g, _)| *g == f);
                    let (lf, tail) = rest_l.split_at(run);
                    rest_l = tail;
                    let from = r.partition_point(|(g, _)| *g < f);
                    let to = r.partition_point(|(g, _)| *g <= f);
                    if from == to {
                        continue;
                    }
                    let ls: Vec<Span> = lf.iter().map(|(_, s)| *s).collect();
                    let rs: Vec<Span> = r[from..to].iter().map(|(_, s)| *s).collect();
                    out.extend(near_spans(&ls, &rs, *distance as usize, *ordered).into_iter().map(|s| (f, s)));
                }
                out
            }
            // The parser never puts other nodes under NEAR.
            Expr::And(_) | Expr::Not(_) => Vec::new(),
        }
    }

    /// Appends the labels of the positive leaves that contributed to a match, in query order.
    /// Must only be called on a node that evaluated to true.
    pub(crate) fn collect_terms<'a>(&'a self, doc: &Texts, out: &mut Vec<&'a str>) {
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
                let mut fields: Vec<usize> = self.spans(doc).iter().map(|(f, _)| *f).collect();
                fields.dedup();
                for f in fields {
                    self.collect_near_leaves(doc, f, out);
                }
            }
            Expr::Leaf(leaf) => push_label(out, leaf.label()),
        }
    }

    /// For every positive leaf (not under NOT) that occurs in the document, the names of the
    /// fields it occurs in, in document order: what an alert shows as "where it hit".
    pub(crate) fn collect_fields<'a>(&'a self, doc: &Texts, out: &mut Vec<(&'a str, Vec<&'static str>)>) {
        match self {
            Expr::Not(_) => {}
            Expr::And(children) | Expr::Or(children) => children.iter().for_each(|c| c.collect_fields(doc, out)),
            Expr::Near { left, right, .. } => {
                left.collect_fields(doc, out);
                right.collect_fields(doc, out);
            }
            Expr::Leaf(leaf) => {
                if out.iter().any(|(label, _)| *label == leaf.label) {
                    return;
                }
                let mut names: Vec<&'static str> = Vec::new();
                for (i, field) in doc.fields().iter().enumerate() {
                    let name = field.scope.name();
                    if leaf.scope.contains(field.scope) && !names.contains(&name) && leaf.found_in(doc, i) {
                        names.push(name);
                    }
                }
                if !names.is_empty() {
                    out.push((&leaf.label, names));
                }
            }
        }
    }

    /// Every place where a positive word or phrase leaf (not under NOT) matches: field value
    /// and word span. Regular expressions are left out.
    pub(crate) fn collect_spans(&self, doc: &Texts, out: &mut Vec<FieldSpan>) {
        match self {
            Expr::Not(_) => {}
            Expr::And(children) | Expr::Or(children) => children.iter().for_each(|c| c.collect_spans(doc, out)),
            Expr::Near { left, right, .. } => {
                left.collect_spans(doc, out);
                right.collect_spans(doc, out);
            }
            Expr::Leaf(leaf) => out.extend(leaf.spans(doc)),
        }
    }

    /// Reports the leaves under a matching NEAR that occur in the field value where it matched.
    fn collect_near_leaves<'a>(&'a self, doc: &Texts, field: usize, out: &mut Vec<&'a str>) {
        match self {
            Expr::Leaf(leaf) => {
                if leaf.found_in(doc, field) {
                    push_label(out, &leaf.label);
                }
            }
            Expr::Or(children) => children.iter().for_each(|c| c.collect_near_leaves(doc, field, out)),
            Expr::Near { left, right, .. } => {
                left.collect_near_leaves(doc, field, out);
                right.collect_near_leaves(doc, field, out);
            }
            Expr::And(_) | Expr::Not(_) => {}
        }
    }
}

/// Appends a label unless it is already listed.
pub(crate) fn push_label<'a>(out: &mut Vec<&'a str>, label: &'a str) {
    if !out.contains(&label) {
        out.push(label);
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
        let lo = if ordered { le + 1 } else { ls.saturating_sub(distance.saturating_add(1).saturating_add(longest)) };
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
    fn near_spans_respect_distance_and_order() {
        assert_eq!(near_spans(&[(0, 0)], &[(3, 3)], 2, false), vec![(0, 3)]);
        assert!(near_spans(&[(0, 0)], &[(4, 4)], 2, false).is_empty());
        assert_eq!(near_spans(&[(5, 5)], &[(3, 3)], 2, false), vec![(3, 5)]);
        assert!(near_spans(&[(5, 5)], &[(3, 3)], 2, true).is_empty());
        assert!(near_spans(&[(3, 4)], &[(4, 4)], 2, false).is_empty());
        assert_eq!(near_spans(&[(10, 11)], &[(2, 5)], 4, false), vec![(2, 11)]);
    }
}
