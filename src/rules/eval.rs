//! Compiled rule tree, tokenised documents, and evaluation of the former against the latter.
//!
//! Boolean operators combine results over the whole document, while a leaf, a phrase or a
//! NEAR group must be satisfied inside a single field value, so that a phrase never spans
//! the end of the title and the start of the summary.

use std::sync::{Arc, OnceLock};

use regex::Regex;

use super::doc::Occ;
pub(crate) use super::doc::Texts;
use super::hash::{hash_str, SEED_PREFIX, SEED_STEM, SEED_WORD};
use super::stem::Stemmer;
use super::text::{self, Split};

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
    /// The text of the item's own page, fetched and extracted (`fetch_article`).
    pub(crate) const ARTICLE: Scope = Scope(128);
    /// The default scope: title, summary, content and the fetched article.
    pub(crate) const TEXT: Scope = Scope(1 | 2 | 4 | 128);

    /// The field names of a single-field scope, for telling where a rule hit.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scope::TITLE => "title",
            Scope::SUMMARY => "summary",
            Scope::CONTENT => "content",
            Scope::AUTHOR => "author",
            Scope::CATEGORY => "category",
            Scope::LINK => "link",
            Scope::FEED => "feed",
            Scope::ARTICLE => "article",
            _ => "text",
        }
    }

    /// The mask itself.
    pub(crate) fn bits(self) -> u8 {
        self.0
    }

    pub(crate) fn contains(self, other: Scope) -> bool {
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
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Pat {
    /// Folded equality; with `clitics`, Indonesian clitics and the `2` reduplication may follow.
    /// `key` is the word-index key of `word`.
    Folded { word: String, clitics: bool, key: u64 },
    /// Equality of the NFKC forms; `key` is the word-index key of the folded form.
    Exact { word: String, key: u64 },
    /// A `*`/`?` pattern, against the folded or the exact form.
    Glob { glob: Glob, exact: bool },
    /// Stem-set intersection; `keys` are the stem-index keys of the candidates.
    Stem { candidates: Vec<String>, stemmer: Stemmer, keys: Vec<u64> },
}

impl Pat {
    /// A plain folded word.
    pub(crate) fn folded(word: String, clitics: bool) -> Pat {
        let key = hash_str(SEED_WORD, &word);
        Pat::Folded { word, clitics, key }
    }

    /// An exact (NFKC) word.
    pub(crate) fn exact(word: String) -> Pat {
        let key = hash_str(SEED_WORD, &text::fold(&word));
        Pat::Exact { word, key }
    }

    /// A stemmed word, from the candidate stems of its folded form.
    pub(crate) fn stem(candidates: Vec<String>, stemmer: Stemmer) -> Pat {
        let seed = SEED_STEM[stemmer.index()];
        let keys = candidates.iter().map(|c| hash_str(seed, c)).collect();
        Pat::Stem { candidates, stemmer, keys }
    }

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

    /// The word-index key under which every document word this pattern can match is filed,
    /// if there is one.
    pub(crate) fn key(&self) -> Option<u64> {
        match self {
            Pat::Folded { key, .. } | Pat::Exact { key, .. } => Some(*key),
            Pat::Glob { .. } | Pat::Stem { .. } => None,
        }
    }

    /// Length of the literal, as a guess at how rare it is.
    fn weight(&self) -> usize {
        match self {
            Pat::Folded { word, .. } | Pat::Exact { word, .. } => word.len(),
            Pat::Glob { .. } | Pat::Stem { .. } => 0,
        }
    }
}

/// Endings that an Indonesian plain term may carry and still match: clitics, and the `2`
/// that informal writing uses for reduplication (`senjata2`).
pub(crate) const CLITICS: [&str; 7] = ["nya", "lah", "kah", "pun", "ku", "mu", "2"];

/// A compiled wildcard pattern for one word.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Glob {
    chars: Vec<char>,
    /// The literal characters before the first wildcard, which every match starts with.
    prefix: String,
    prefix_key: Option<u64>,
    /// The longest run of literal characters, which every match contains.
    infix: String,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Glob {
        let prefix: String = pattern.chars().take_while(|c| !matches!(c, '*' | '?')).collect();
        let three: String = prefix.chars().take(3).collect();
        let infix = pattern.split(['*', '?']).max_by_key(|run| run.len()).unwrap_or_default().to_string();
        Glob {
            chars: pattern.chars().collect(),
            prefix_key: (three.chars().count() == 3).then(|| hash_str(SEED_PREFIX, &three)),
            prefix,
            infix,
        }
    }

    /// The longest run of literal characters of the pattern.
    pub(crate) fn infix(&self) -> &str {
        &self.infix
    }

    /// The prefix key of the first three characters, when they are all literal.
    pub(crate) fn prefix_key(&self) -> Option<u64> {
        self.prefix_key
    }

    /// The pattern, wildcards included.
    pub(crate) fn pattern(&self) -> &[char] {
        &self.chars
    }

    /// Matches the whole word, where `*` is any run of characters and `?` exactly one.
    pub(crate) fn matches(&self, word: &str) -> bool {
        if !word.starts_with(self.prefix.as_str()) {
            return false;
        }
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

/// Whether a folded document word matches a folded query word, allowing a clitic after it.
pub(crate) fn folded_matches(w: &[u8], q: &[u8], clitics: bool) -> bool {
    w == q
        || (clitics && w.len() > q.len() && w.starts_with(q) && CLITICS.iter().any(|c| &w[q.len()..] == c.as_bytes()))
}

/// A leaf of the rule: a sequence of word patterns (term or phrase) or a regex.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Leaf {
    pub scope: Scope,
    pub kind: LeafKind,
    /// What `Match.terms` reports for this leaf.
    pub label: String,
    /// For a sequence, the index of the pattern whose occurrences are looked up in the
    /// document's word index (the longest indexable one); None means scanning.
    anchor: Option<usize>,
    /// For the most common leaf, one short folded word, what evaluating it needs, kept inside
    /// the leaf so that a rule set reading many cold rules follows no pointer to do it.
    quick: Option<Quick>,
}

/// Longest word that [`Quick`] holds.
const QUICK_LEN: usize = 22;

/// A single folded word: its key, whether clitics may follow, and its bytes (also its label).
#[derive(Clone, Debug, PartialEq)]
struct Quick {
    key: u64,
    clitics: bool,
    len: u8,
    word: [u8; QUICK_LEN],
}

impl Quick {
    fn word(&self) -> &[u8] {
        &self.word[..self.len as usize]
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LeafKind {
    Seq(Vec<Pat>),
    Regex(LazyRegex),
}

/// The pattern of a regex leaf, compiled when first searched with. A rule set searches most
/// regex leaves through one combined automaton (see `prog::RegexSets`), so the leaf's own
/// compiled form, tens of kilobytes each, is often never needed; the parser compiles it once
/// to check it and lets it go.
#[derive(Clone)]
pub(crate) struct LazyRegex {
    source: Arc<str>,
    ignore_case: bool,
    compiled: Arc<OnceLock<Regex>>,
}

impl LazyRegex {
    /// Checks that `source` compiles (within the size limits) and keeps it for later.
    pub(crate) fn new(source: &str, ignore_case: bool) -> Result<LazyRegex, regex::Error> {
        drop(Self::build(source, ignore_case)?);
        Ok(LazyRegex { source: source.into(), ignore_case, compiled: Arc::default() })
    }

    fn build(source: &str, ignore_case: bool) -> Result<Regex, regex::Error> {
        regex::RegexBuilder::new(source)
            .case_insensitive(ignore_case)
            .size_limit(super::parser::REGEX_SIZE_LIMIT)
            .dfa_size_limit(super::parser::REGEX_SIZE_LIMIT)
            .build()
    }

    /// The compiled regex.
    pub(crate) fn get(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            // The same pattern with the same options compiled when the rule was parsed.
            Self::build(&self.source, self.ignore_case).expect("a regex that compiled once compiles again")
        })
    }

    /// Whether it matches somewhere in `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.get().is_match(text)
    }

    /// Whether it has been compiled for searching.
    #[cfg(test)]
    pub(crate) fn is_compiled(&self) -> bool {
        self.compiled.get().is_some()
    }

    /// The pattern as compiled (after NFKC), without the case flag.
    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }
}

/// The pattern and its flag only: whether it has been compiled yet is no part of the rule (a
/// reload compares rules by their debug form).
impl std::fmt::Debug for LazyRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyRegex").field("source", &self.source).field("ignore_case", &self.ignore_case).finish()
    }
}

impl PartialEq for LazyRegex {
    fn eq(&self, other: &LazyRegex) -> bool {
        self.source == other.source && self.ignore_case == other.ignore_case
    }
}

/// The compiled rule tree.
#[derive(Clone, Debug, PartialEq)]
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
    pub(crate) fn new(scope: Scope, kind: LeafKind, label: String) -> Leaf {
        let anchor = match &kind {
            LeafKind::Seq(pats) => pats
                .iter()
                .enumerate()
                .filter(|(_, p)| p.key().is_some())
                .max_by_key(|(k, p)| (p.weight(), usize::MAX - k))
                .map(|(k, _)| k),
            LeafKind::Regex(_) => None,
        };
        let quick = match &kind {
            LeafKind::Seq(pats) => match pats.as_slice() {
                [Pat::Folded { word, clitics, key }] if word.len() <= QUICK_LEN && *word == label => {
                    let mut bytes = [0; QUICK_LEN];
                    bytes[..word.len()].copy_from_slice(word.as_bytes());
                    Some(Quick { key: *key, clitics: *clitics, len: word.len() as u8, word: bytes })
                }
                _ => None,
            },
            LeafKind::Regex(_) => None,
        };
        Leaf { scope, kind, label, anchor, quick }
    }

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
            if let Some(k) = self.anchor {
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
        if let (Some(q), false) = (&self.quick, scan_only()) {
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

    /// The word of a leaf that is one folded word reported under its own spelling, and
    /// whether clitics may follow it; None for any other leaf.
    pub(crate) fn single_word(&self) -> Option<(&str, bool)> {
        match &self.kind {
            LeafKind::Seq(pats) => match pats.as_slice() {
                [Pat::Folded { word, clitics, .. }] if *word == self.label => Some((word, *clitics)),
                _ => None,
            },
            LeafKind::Regex(_) => None,
        }
    }

    /// For a regex leaf, its source as compiled and whether it ignores case.
    pub(crate) fn regex_source(&self) -> Option<(&str, bool)> {
        match &self.kind {
            LeafKind::Regex(re) => Some((re.as_str(), re.ignore_case)),
            LeafKind::Seq(_) => None,
        }
    }

    /// The label, read from the leaf itself when it holds it.
    pub(crate) fn label(&self) -> &str {
        match &self.quick {
            Some(q) => std::str::from_utf8(q.word()).unwrap_or(&self.label),
            None => &self.label,
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
            Expr::Leaf(leaf) => leaf.anchor.is_some(),
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
