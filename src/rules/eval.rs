//! Compiled rule tree, tokenised documents, and evaluation of the former against the latter.
//!
//! Boolean operators combine results over the whole document, while a leaf, a phrase or a
//! NEAR group must be satisfied inside a single field value, so that a phrase never spans
//! the end of the title and the start of the summary.

use std::sync::OnceLock;

use regex::Regex;

use super::hash::{hash_str, KeyMap, KeySet, SEED_PREFIX, SEED_STEM, SEED_SUFFIX, SEED_WORD};
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
#[derive(Debug, PartialEq)]
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

    /// Cheap test of whether the pattern can match anywhere in the document; false means it
    /// cannot, true that it may.
    fn may_occur(&self, doc: &Texts) -> bool {
        match self {
            Pat::Stem { stemmer, keys, .. } => {
                let present = doc.stem_keys(*stemmer);
                keys.iter().any(|k| present.contains(k))
            }
            _ => true,
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
#[derive(Debug, PartialEq)]
pub(crate) struct Glob {
    chars: Vec<char>,
    /// The literal characters before the first wildcard, which every match starts with.
    prefix: String,
    prefix_key: Option<u64>,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Glob {
        let prefix: String = pattern.chars().take_while(|c| !matches!(c, '*' | '?')).collect();
        let three: String = prefix.chars().take(3).collect();
        Glob {
            chars: pattern.chars().collect(),
            prefix_key: (three.chars().count() == 3).then(|| hash_str(SEED_PREFIX, &three)),
            prefix,
        }
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
    fn matches(&self, text: &FieldText, pos: usize) -> bool {
        let word = &text.words[pos];
        match self {
            Pat::Folded { word: q, clitics, .. } => {
                let w: &str = &word.folded;
                w == q
                    || (*clitics && w.len() > q.len() && w.starts_with(q.as_str()) && CLITICS.contains(&&w[q.len()..]))
            }
            Pat::Exact { word: q, .. } => &*word.exact == q,
            Pat::Glob { glob, exact } => glob.matches(if *exact { &word.exact } else { &word.folded }),
            Pat::Stem { candidates, stemmer, .. } => text.stems(*stemmer)[pos].iter().any(|s| candidates.contains(s)),
        }
    }
}

/// A leaf of the rule: a sequence of word patterns (term or phrase) or a regex.
#[derive(Debug, PartialEq)]
pub(crate) struct Leaf {
    pub scope: Scope,
    pub kind: LeafKind,
    /// What `Match.terms` reports for this leaf.
    pub label: String,
    /// For a sequence, the index of the pattern whose occurrences are looked up in the
    /// document's word index (the longest indexable one); None means scanning.
    anchor: Option<usize>,
}

#[derive(Debug)]
pub(crate) enum LeafKind {
    Seq(Vec<Pat>),
    Regex(Regex),
}

impl PartialEq for LeafKind {
    fn eq(&self, other: &LeafKind) -> bool {
        match (self, other) {
            (LeafKind::Seq(a), LeafKind::Seq(b)) => a == b,
            // The label keeps the flag, so the source decides equality.
            (LeafKind::Regex(a), LeafKind::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

/// The compiled rule tree.
#[derive(Debug, PartialEq)]
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
    pub(crate) scope: Scope,
    nfkc: String,
    pub(crate) words: Vec<Word>,
    /// Stem candidates per word, computed on first use by a `~` rule for each stemmer.
    stems: [OnceLock<Vec<Vec<String>>>; 2],
}

impl FieldText {
    fn new(scope: Scope, raw: &str) -> FieldText {
        let nfkc = text::nfkc(raw);
        let words = text::words(&nfkc, scope.split());
        FieldText { scope, nfkc, words, stems: [OnceLock::new(), OnceLock::new()] }
    }

    fn stems(&self, stemmer: Stemmer) -> &[Vec<String>] {
        self.stems[stemmer.index()].get_or_init(|| self.words.iter().map(|w| stemmer.candidates(&w.folded)).collect())
    }
}

/// Where a word occurs: which field value, and which word of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Occ {
    field: u32,
    pos: u32,
}

/// All field values of a document, with an index from folded words to their positions.
#[derive(Debug)]
pub(crate) struct Texts {
    texts: Vec<FieldText>,
    /// Word key → every position whose folded word has that key, in document order.
    occ: KeyMap<Vec<Occ>>,
    /// Word key of a base → positions of words that are the base plus an Indonesian clitic.
    clitic_occ: KeyMap<Vec<Occ>>,
    /// The key and first position of each distinct folded word.
    distinct: Vec<(u64, Occ)>,
    /// Prefix key of the first three characters → indices into `distinct`.
    by_prefix: KeyMap<Vec<u32>>,
    /// Every key a rule set's presearcher may look for: words, clitic bases, and the
    /// three-character prefixes and suffixes of words.
    keys: KeySet,
    /// Stem keys of all words, per stemmer, computed on first use.
    stem_keys: [OnceLock<KeySet>; 2],
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
        Texts::index(texts)
    }

    fn index(texts: Vec<FieldText>) -> Texts {
        let total: usize = texts.iter().map(|t| t.words.len()).sum();
        let mut occ: KeyMap<Vec<Occ>> = KeyMap::default();
        occ.reserve(total / 2);
        let mut clitic_occ: KeyMap<Vec<Occ>> = KeyMap::default();
        let mut distinct = Vec::new();
        let mut by_prefix: KeyMap<Vec<u32>> = KeyMap::default();
        let mut keys = KeySet::default();
        keys.reserve(total);
        for (f, t) in texts.iter().enumerate() {
            for (p, w) in t.words.iter().enumerate() {
                let here = Occ { field: f as u32, pos: p as u32 };
                let folded: &str = &w.folded;
                let key = hash_str(SEED_WORD, folded);
                let list = occ.entry(key).or_default();
                let same = |o: &Occ| &*texts[o.field as usize].words[o.pos as usize].folded == folded;
                // Different words under one key only happen on a hash collision, so the full
                // scan is almost never needed.
                let new = match list.first() {
                    None => true,
                    Some(first) => !same(first) && !list.iter().any(same),
                };
                list.push(here);
                if new {
                    let id = distinct.len() as u32;
                    distinct.push((key, here));
                    keys.insert(key);
                    let chars = folded.chars().count();
                    if chars >= 3 {
                        let cut = folded.char_indices().nth(3).map_or(folded.len(), |(i, _)| i);
                        let prefix_key = hash_str(SEED_PREFIX, &folded[..cut]);
                        keys.insert(prefix_key);
                        by_prefix.entry(prefix_key).or_default().push(id);
                        let from = folded.char_indices().nth(chars - 3).map_or(0, |(i, _)| i);
                        keys.insert(hash_str(SEED_SUFFIX, &folded[from..]));
                    }
                }
                for clitic in CLITICS {
                    if let Some(base) = folded.strip_suffix(clitic) {
                        if !base.is_empty() {
                            let base_key = hash_str(SEED_WORD, base);
                            clitic_occ.entry(base_key).or_default().push(here);
                            keys.insert(base_key);
                        }
                    }
                }
            }
        }
        Texts { texts, occ, clitic_occ, distinct, by_prefix, keys, stem_keys: [OnceLock::new(), OnceLock::new()] }
    }

    /// The presearcher keys present in the document (see [`Texts::keys`]).
    pub(crate) fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The stem keys of every word of the document for one stemmer.
    pub(crate) fn stem_keys(&self, stemmer: Stemmer) -> &KeySet {
        self.stem_keys[stemmer.index()].get_or_init(|| {
            let seed = SEED_STEM[stemmer.index()];
            let mut set = KeySet::default();
            for (_, o) in &self.distinct {
                for c in stemmer.candidates(&self.word(*o).folded) {
                    set.insert(hash_str(seed, &c));
                }
            }
            set
        })
    }

    fn word(&self, o: Occ) -> &Word {
        &self.texts[o.field as usize].words[o.pos as usize]
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
fn seq_at(pats: &[Pat], text: &FieldText, start: usize) -> bool {
    start + pats.len() <= text.words.len() && pats.iter().enumerate().all(|(k, p)| p.matches(text, start + k))
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
        Leaf { scope, kind, label, anchor }
    }

    /// Calls `visit(field, start)` for matches of the leaf's sequence in field values within
    /// scope (only in field `only` when given), stopping as soon as `visit` returns true.
    /// Returns whether it was stopped. A start may be reported more than once.
    fn each_start(&self, doc: &Texts, only: Option<usize>, visit: &mut dyn FnMut(usize, usize) -> bool) -> bool {
        let LeafKind::Seq(pats) = &self.kind else {
            return false;
        };
        let in_scope = |f: usize| only.is_none_or(|o| o == f) && self.scope.contains(doc.texts[f].scope);
        if let Some(k) = self.anchor.filter(|_| !scan_only()) {
            let anchor = &pats[k];
            let key = anchor.key().unwrap_or_default();
            let clitics = matches!(anchor, Pat::Folded { clitics: true, .. });
            let lists = [doc.occ.get(&key), if clitics { doc.clitic_occ.get(&key) } else { None }];
            for list in lists.into_iter().flatten() {
                for o in list {
                    let (f, p) = (o.field as usize, o.pos as usize);
                    if p < k || !in_scope(f) {
                        continue;
                    }
                    if seq_at(pats, &doc.texts[f], p - k) && visit(f, p - k) {
                        return true;
                    }
                }
            }
            return false;
        }
        if let ([Pat::Glob { glob, exact: false }], false) = (pats.as_slice(), scan_only()) {
            // One folded wildcard: test each distinct word once (only those sharing its first
            // three characters when it starts with three literal ones), then visit positions.
            let all: Vec<u32>;
            let ids: &[u32] = match glob.prefix_key() {
                Some(k) => doc.by_prefix.get(&k).map_or(&[], Vec::as_slice),
                None => {
                    all = (0..doc.distinct.len() as u32).collect();
                    &all
                }
            };
            for &id in ids {
                let (key, first) = &doc.distinct[id as usize];
                if !glob.matches(&doc.word(*first).folded) {
                    continue;
                }
                for o in doc.occ.get(key).into_iter().flatten() {
                    let (f, p) = (o.field as usize, o.pos as usize);
                    if in_scope(f) && seq_at(pats, &doc.texts[f], p) && visit(f, p) {
                        return true;
                    }
                }
            }
            return false;
        }
        if !pats.iter().all(|p| p.may_occur(doc)) {
            return false;
        }
        for (f, text) in doc.texts.iter().enumerate() {
            if !in_scope(f) || text.words.len() < pats.len() {
                continue;
            }
            for start in 0..=text.words.len() - pats.len() {
                if seq_at(pats, text, start) && visit(f, start) {
                    return true;
                }
            }
        }
        false
    }

    /// Whether the leaf matches anywhere in the document.
    fn found(&self, doc: &Texts) -> bool {
        match &self.kind {
            LeafKind::Seq(_) => self.each_start(doc, None, &mut |_, _| true),
            LeafKind::Regex(re) => doc.texts.iter().any(|t| self.scope.contains(t.scope) && re.is_match(&t.nfkc)),
        }
    }

    /// Whether the leaf matches in one field value.
    fn found_in(&self, doc: &Texts, field: usize) -> bool {
        match &self.kind {
            LeafKind::Seq(_) => self.each_start(doc, Some(field), &mut |_, _| true),
            LeafKind::Regex(re) => {
                let t = &doc.texts[field];
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
    fn cheap(&self) -> bool {
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
                let mut fields: Vec<usize> = self.spans(doc).iter().map(|(f, _)| *f).collect();
                fields.dedup();
                for f in fields {
                    self.collect_near_leaves(doc, f, out);
                }
            }
            Expr::Leaf(leaf) => push_label(out, &leaf.label),
        }
    }

    /// Reports the leaves under a matching NEAR that occur in the field value where it matched.
    fn collect_near_leaves(&self, doc: &Texts, field: usize, out: &mut Vec<String>) {
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

fn push_label(out: &mut Vec<String>, label: &str) {
    if !out.iter().any(|l| l == label) {
        out.push(label.to_owned());
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
