//! Matching one document against many rules at once.
//!
//! [`RuleSet`] follows the "presearcher" idea of Lucene's Monitor: instead of evaluating every
//! rule against every document, each rule is reduced once to a few *clauses* of literal keys
//! that any matching document must contain (a small conjunctive normal form: the document must
//! hold at least one key of every clause). All keys of all rules go into one hash index, and a
//! document's own keys, computed once in `Document::new`, are looked up in it. Only rules whose
//! every clause was hit are evaluated in full; rules without any extractable clause (a pure
//! NOT, a regex alone) are always evaluated.
//!
//! A clause is always implied by the rule, never the reverse, so the index can only produce
//! extra candidates, never lose a match: `RuleSet::matches` returns exactly what calling
//! `Rule::matches` on every rule would.

use std::cell::RefCell;
use std::sync::Arc;

use super::ast::{Expr, Leaf, LeafKind, Pat};
use super::doc::{Document, Texts};
use super::hash::{hash_str, KeyTable, SEED_PREFIX, SEED_STEM, SEED_SUFFIX};
use super::prog::{Builder, Cx, Program};
use super::rule::{Match, Rule};
use super::stem::Stemmer;
use super::terms::Terms;

/// Per-thread working memory of [`RuleSet::matches`]: which clauses of each rule were hit,
/// the scopes of each term (all zero between calls) and which terms were touched, and the
/// candidates.
#[derive(Default)]
struct Scratch {
    /// Per rule, the epoch of the call that last hit one of its clauses (high five bits) and
    /// the clauses that call hit (low three bits). An entry of another epoch counts as no
    /// clause hit, so nothing needs clearing between calls.
    state: Vec<u8>,
    /// The epoch of the current call, 1..=31; 0 is never current, so new entries count as
    /// unhit.
    epoch: u8,
    scopes: Vec<u16>,
    touched_terms: Vec<u32>,
    /// One bit per rule, set for the candidates (all zero between calls), so that they come
    /// out in set order without sorting.
    chosen: Vec<u64>,
    candidates: Vec<u32>,
    /// The labels of the rule being collected, kept to save an allocation per call.
    labels: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Epochs of [`Scratch::state`]: what fits in the five bits above the three clause bits.
const STATE_EPOCHS: u8 = 31;

/// At most this many clauses are kept per rule; each further one filters less than the last.
const MAX_CLAUSES: usize = 3;

/// Clauses estimated to be satisfied by at least this share of documents are not worth
/// indexing.
const USELESS: f32 = 1.0;

/// Stemmers in the order of `Stemmer::index`.
const STEMMERS: [Stemmer; 2] = [Stemmer::Indonesian, Stemmer::English];

/// A key a document may contain: a word key (of a word or of the base of a word with a
/// clitic), a key of the first or last three characters of a word, or a stem under one stemmer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Word(u64),
    Prefix(u64),
    Suffix(u64),
    Stem(usize, u64),
}

/// A disjunction of keys, with a rough estimate of the share of documents that contain one.
#[derive(Clone, Debug)]
struct Clause {
    keys: Vec<Key>,
    cost: f32,
}

impl Clause {
    fn one(key: Key, cost: f32) -> Clause {
        Clause { keys: vec![key], cost }
    }
}

/// Very common words of the watched languages, which say little about a document.
const COMMON: &[&str] = &[
    "yang", "dan", "di", "ke", "dari", "ini", "itu", "dengan", "untuk", "pada", "dalam", "tidak", "akan", "juga",
    "ada", "atau", "oleh", "sebagai", "karena", "telah", "sudah", "bisa", "saat", "kata", "para", "lebih", "secara",
    "tersebut", "mereka", "kami", "kita", "dia", "ia", "the", "of", "and", "to", "in", "a", "is", "that", "for", "on",
    "it", "with", "as", "was", "at", "by", "be", "are", "from", "this", "has", "have", "said", "an", "not", "but",
    "his", "he", "they", "will", "its", "after", "new", "were", "who", "been", "also", "their", "more",
];

/// Estimated share of documents containing a folded word: common and short words are frequent.
fn word_cost(word: &str) -> f32 {
    if COMMON.contains(&word) {
        return 0.9;
    }
    if word.chars().all(|c| c.is_ascii_digit()) {
        return 0.1;
    }
    match word.chars().count() {
        0..=2 => 0.5,
        3 => 0.25,
        4 => 0.12,
        5 => 0.07,
        6 => 0.05,
        7 => 0.035,
        _ => 0.025,
    }
}

/// Estimated share of documents with some word starting or ending in given three characters.
const AFFIX_COST: f32 = 0.3;

/// Stem keys are only available after stemming the whole document, so they are made to look
/// worse than word keys and chosen only when nothing else is required.
const STEM_COST: f32 = 0.6;

/// Sorts clauses best first, drops duplicates and useless ones, and keeps the best few.
fn select(mut clauses: Vec<Clause>) -> Vec<Clause> {
    for c in &mut clauses {
        c.keys.sort_unstable();
        c.keys.dedup();
    }
    clauses.retain(|c| c.cost < USELESS);
    clauses.sort_by(|a, b| a.cost.total_cmp(&b.cost).then_with(|| a.keys.cmp(&b.keys)));
    clauses.dedup_by(|a, b| a.keys == b.keys);
    clauses.truncate(MAX_CLAUSES);
    clauses
}

/// Clauses implied by a subtree: whenever it is true in a document, every returned clause has
/// a key in that document.
fn clauses(expr: &Expr) -> Vec<Clause> {
    match expr {
        Expr::And(children) => select(children.iter().flat_map(clauses).collect()),
        Expr::Near { left, right, .. } => {
            let mut all = clauses(left);
            all.extend(clauses(right));
            select(all)
        }
        Expr::Or(children) => {
            let per_child: Vec<Vec<Clause>> = children.iter().map(clauses).collect();
            if per_child.iter().any(Vec::is_empty) {
                return Vec::new();
            }
            // Clause j of the OR joins clause j of every child (or its last one): whichever
            // child is true satisfies all of its own clauses, hence every joined clause.
            let width = per_child.iter().map(Vec::len).max().unwrap_or(0);
            let joined = (0..width)
                .map(|j| {
                    let mut keys = Vec::new();
                    let mut cost = 0.0;
                    for child in &per_child {
                        let c = &child[j.min(child.len() - 1)];
                        keys.extend_from_slice(&c.keys);
                        cost += c.cost;
                    }
                    Clause { keys, cost }
                })
                .collect();
            select(joined)
        }
        Expr::Not(_) => Vec::new(),
        Expr::Leaf(leaf) => select(leaf_clauses(leaf)),
    }
}

fn leaf_clauses(leaf: &Leaf) -> Vec<Clause> {
    let LeafKind::Seq(pats) = &leaf.kind else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for pat in pats {
        match pat {
            // Documents file words with a clitic under their base too, so one key serves both.
            Pat::Folded { word, key, .. } => out.push(Clause::one(Key::Word(*key), word_cost(word))),
            Pat::Exact { word, key } => out.push(Clause::one(Key::Word(*key), word_cost(&super::text::fold(word)))),
            Pat::Glob { glob, exact: false } => {
                let chars = glob.pattern();
                let wild = |c: &char| matches!(c, '*' | '?');
                let prefix: String = chars.iter().take_while(|c| !wild(c)).take(3).collect();
                if prefix.chars().count() == 3 {
                    let key = Key::Prefix(hash_str(SEED_PREFIX, &prefix));
                    out.push(Clause::one(key, AFFIX_COST));
                }
                let tail: Vec<char> = chars.iter().rev().take_while(|c| !wild(c)).take(3).copied().collect();
                if tail.len() == 3 {
                    let suffix: String = tail.iter().rev().collect();
                    let key = Key::Suffix(hash_str(SEED_SUFFIX, &suffix));
                    out.push(Clause::one(key, AFFIX_COST));
                }
            }
            // An exact wildcard sees unfolded words, whose affixes the document does not file.
            Pat::Glob { exact: true, .. } => {}
            Pat::Stem { candidates, stemmer, .. } => {
                let i = stemmer.index();
                let keys = candidates.iter().map(|c| Key::Stem(i, hash_str(SEED_STEM[i], c))).collect();
                out.push(Clause { keys, cost: STEM_COST });
            }
        }
    }
    out
}

/// Marks an entry of the word postings that names a term of the program, not a rule.
const TERM: u32 = 1 << 31;

/// Rules are numbered below this, so that a posting fits in a `u32` under `TERM`.
const MAX_RULES: usize = 1 << 26;

/// The posting of clause `clause` of rule `rule`, whose clauses together form the bit mask
/// `full`: `rule << 5 | full << 2 | clause`, so that checking a rule needs no other memory.
fn posting(rule: usize, full: u8, clause: usize) -> u32 {
    (rule as u32) << 5 | u32::from(full) << 2 | clause as u32
}

/// Postings of one class of keys: key → the postings that contain it.
#[derive(Debug)]
struct Postings {
    /// Key → range in `list`, as (start, length).
    table: KeyTable,
    /// The same entries as `table`, for walking the rule side when it is the smaller one.
    entries: Vec<(u64, u32, u32)>,
    list: Vec<u32>,
    /// One bit per value of some high bits of a key, set for the keys of `table`: a small,
    /// cache-resident first test that most of a document's keys, which no rule has, fail.
    filter: Vec<u64>,
    /// How far a key is shifted right to give its bit in `filter`.
    shift: u32,
}

impl Postings {
    fn build(mut pairs: Vec<(u64, u32)>) -> Postings {
        pairs.sort_unstable();
        pairs.dedup();
        let mut keys = pairs.iter().map(|p| p.0).collect::<Vec<_>>();
        keys.dedup();
        // About sixteen bits per key, so that few absent keys pass the filter.
        let bits = (keys.len() * 16).next_power_of_two().max(64);
        let mut p = Postings {
            table: KeyTable::with_capacity(keys.len()),
            entries: Vec::new(),
            list: Vec::new(),
            filter: vec![0; bits / 64],
            shift: 64 - bits.trailing_zeros(),
        };
        for &key in &keys {
            let bit = key >> p.shift;
            p.filter[(bit / 64) as usize] |= 1 << (bit % 64);
        }
        let mut i = 0;
        while i < pairs.len() {
            let key = pairs[i].0;
            let start = p.list.len() as u32;
            while i < pairs.len() && pairs[i].0 == key {
                p.list.push(pairs[i].1);
                i += 1;
            }
            let len = p.list.len() as u32 - start;
            let slot = p.table.slot(key);
            (slot.a, slot.b) = (start, len);
            p.entries.push((key, start, len));
        }
        p
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The postings of a key; empty when it has none.
    #[inline(always)]
    fn get(&self, key: u64) -> &[u32] {
        let bit = key >> self.shift;
        if self.filter[(bit / 64) as usize] & 1 << (bit % 64) == 0 {
            return &[];
        }
        match self.table.get(key) {
            Some(s) => &self.list[s.a as usize..(s.a + s.b) as usize],
            None => &[],
        }
    }

    /// Calls `hit` with every posting whose key the document has, walking whichever side
    /// is smaller: the document's `count` keys `doc_keys` (which may repeat), or the
    /// postings' keys, tested with `doc_has`.
    fn probe(
        &self,
        count: usize,
        doc_keys: impl Iterator<Item = u64>,
        doc_has: impl Fn(u64) -> bool,
        hit: &mut impl FnMut(u32),
    ) {
        if self.is_empty() {
            return;
        }
        if count <= self.entries.len() {
            for key in doc_keys {
                self.get(key).iter().for_each(|&p| hit(p));
            }
        } else {
            for &(key, start, len) in &self.entries {
                if doc_has(key) {
                    self.list[start as usize..(start + len) as usize].iter().for_each(|&p| hit(p));
                }
            }
        }
    }
}

/// A compiled set of named rules, matched against a document in one pass.
///
/// ```
/// use pantau::rules::{DocFields, Document, Rule, RuleOptions, RuleSet};
/// let opts = RuleOptions::default();
/// let set = RuleSet::new(vec![
///     ("korea".to_owned(), Rule::parse("\"Korea Utara\" AND senjata", &opts).unwrap()),
///     ("iklim".to_owned(), Rule::parse("iklim OR cuaca", &opts).unwrap()),
/// ]);
/// let doc = Document::new(&DocFields {
///     title: "Korea Utara uji senjata baru",
///     summary: "",
///     content: "",
///     authors: &[],
///     categories: &[],
///     link: "",
///     feed: "",
///     article: "",
/// });
/// let hits = set.matches(&doc);
/// assert_eq!(hits.len(), 1);
/// assert_eq!(hits[0].0, 0);
/// assert_eq!(hits[0].1.terms, ["korea utara", "senjata"]);
/// ```
#[derive(Debug)]
pub struct RuleSet {
    /// Shared with the config's own copy of each rule.
    rules: Vec<(String, Arc<Rule>)>,
    /// Every rule compiled into one flat program.
    prog: Program,
    /// Rules without clauses, in set order.
    always: Vec<u32>,
    /// Word keys → postings of rules, and of the program's terms (marked with `TERM`).
    word_postings: Postings,
    prefix_postings: Postings,
    suffix_postings: Postings,
    stem_postings: [Postings; 2],
}

impl RuleSet {
    /// Compiles the presearcher index over a list of named rules (owned, or shared with their
    /// other users through an `Arc`).
    pub fn new<R: Into<Arc<Rule>>>(rules: Vec<(String, R)>) -> RuleSet {
        let rules: Vec<(String, Arc<Rule>)> = rules.into_iter().map(|(name, rule)| (name, rule.into())).collect();
        assert!(rules.len() < MAX_RULES, "too many rules in one set");
        let mut always = Vec::new();
        let mut builder = Builder::default();
        let (mut word_pairs, mut prefix_pairs, mut suffix_pairs) = (Vec::new(), Vec::new(), Vec::new());
        let mut stem_pairs = [Vec::new(), Vec::new()];
        for (r, (_, rule)) in rules.iter().enumerate() {
            builder.add_rule(&rule.expr);
            let mut cl = clauses(&rule.expr);
            // Stem keys make every document stem all its words, so they are only used by
            // rules that require nothing else.
            let has_stem = |c: &Clause| c.keys.iter().any(|k| matches!(k, Key::Stem(..)));
            if cl.iter().any(|c| !has_stem(c)) {
                cl.retain(|c| !has_stem(c));
            }
            if cl.is_empty() {
                always.push(r as u32);
            }
            let full = ((1u16 << cl.len()) - 1) as u8;
            for (c, clause) in cl.iter().enumerate() {
                let posting = posting(r, full, c);
                for key in &clause.keys {
                    match *key {
                        Key::Word(k) => word_pairs.push((k, posting)),
                        Key::Prefix(k) => prefix_pairs.push((k, posting)),
                        Key::Suffix(k) => suffix_pairs.push((k, posting)),
                        Key::Stem(i, k) => stem_pairs[i].push((k, posting)),
                    }
                }
            }
        }
        let prog = builder.finish();
        word_pairs.extend(prog.terms().iter().map(|&(id, key)| (key, TERM | id)));
        let [id, en] = stem_pairs;
        RuleSet {
            rules,
            prog,
            always,
            word_postings: Postings::build(word_pairs),
            prefix_postings: Postings::build(prefix_pairs),
            suffix_postings: Postings::build(suffix_pairs),
            stem_postings: [Postings::build(id), Postings::build(en)],
        }
    }

    /// Number of rules in the set.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the set has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The named rules, in set order.
    pub fn rules(&self) -> &[(String, Arc<Rule>)] {
        &self.rules
    }

    /// Lets go of memory that searches rebuild on demand (the lazy-DFA caches of the regex
    /// sets, up to a few megabytes); returns the bytes freed. For an idle daemon.
    pub fn release_caches(&self) -> usize {
        self.prog.release_caches()
    }

    /// Bytes held by caches that [`RuleSet::release_caches`] would free.
    #[cfg(test)]
    pub(crate) fn cache_bytes(&self) -> usize {
        self.prog.cache_bytes()
    }

    /// Number of rules that have no required literal and are evaluated for every document.
    pub fn always_evaluated(&self) -> usize {
        self.always.len()
    }

    /// Fills `scratch.candidates` with the indices of the rules that may match, in set order:
    /// those whose every clause a document key hit, plus those that are always evaluated.
    /// Fills `scratch.scopes` with the scopes of the terms, listing them in `touched_terms`.
    fn candidates_into(&self, d: &Texts, scratch: &mut Scratch) {
        let Scratch { state, epoch, scopes, touched_terms, chosen, candidates: out, .. } = scratch;
        // The per-rule and per-term state is kept between calls, and only its touched term
        // entries are cleared, so a call costs what it hits, not what the set holds.
        if state.len() < self.rules.len() {
            state.resize(self.rules.len(), 0);
        }
        // A new epoch makes every rule entry stale at once; only when the five bits run out
        // is the state cleared for real.
        *epoch = if *epoch >= STATE_EPOCHS {
            state.fill(0);
            1
        } else {
            *epoch + 1
        };
        let tag = *epoch << 3;
        if scopes.len() < self.prog.labels().len() {
            scopes.resize(self.prog.labels().len(), 0);
        }
        // Normally empty; not if an earlier call on this thread was unwound half-way.
        for t in touched_terms.drain(..) {
            scopes[t as usize] = 0;
        }
        let chunks = self.rules.len().div_ceil(64);
        if chosen.len() < chunks {
            chosen.resize(chunks, 0);
        }
        // Normally all zero already, as reading the candidates clears them.
        chosen.fill(0);
        for &r in &self.always {
            chosen[r as usize / 64] |= 1 << (r % 64);
        }
        let mut hit = |posting: u32| {
            let r = (posting >> 5) as usize;
            let full = (posting >> 2 & 7) as u8;
            // A rule of one clause, a third of most sets, needs no state: its hit decides.
            if full == 1 {
                chosen[r / 64] |= 1 << (r % 64);
                return;
            }
            let s = &mut state[r];
            let was = if *s & !7 == tag { *s & 7 } else { 0 };
            let now = was | 1 << (posting & 3);
            *s = tag | now;
            // Setting the bit again when the rule already was a candidate changes nothing.
            if now == full {
                chosen[r / 64] |= 1 << (r % 64);
            }
        };
        let prog = &self.prog;
        let mut term = |t: u32, id: u32| {
            let (folded, word_scopes) = d.folded_bytes_and_scopes(id);
            let bits = prog.term_bits(t, folded, word_scopes);
            let s = &mut scopes[t as usize];
            if *s == 0 && bits != 0 {
                touched_terms.push(t);
            }
            *s |= bits;
        };
        let words = &self.word_postings;
        if d.distinct_len() + d.clitic_words().len() <= words.entries.len() {
            // Each distinct word under its own key, then each word with a clitic under the key
            // of its base: together the words `visit_key` would report for each key.
            // Two plain loops rather than one over a chained iterator, whose every step
            // tests which half it is in; a macro keeps both bodies inline.
            macro_rules! visit {
                ($key:expr, $id:expr) => {
                    for &p in words.get($key) {
                        if p & TERM != 0 {
                            term(p & !TERM, $id);
                        } else {
                            hit(p);
                        }
                    }
                };
            }
            for (id, key) in d.distinct_keys().enumerate() {
                visit!(key, id as u32);
            }
            for &(key, id) in d.clitic_words() {
                visit!(key, id);
            }
        } else {
            for &(key, start, len) in &words.entries {
                let list = &words.list[start as usize..(start + len) as usize];
                // Terms sort after rules.
                let split = list.partition_point(|&p| p & TERM == 0);
                let present = if split < list.len() {
                    d.visit_key(key, |id| list[split..].iter().for_each(|&p| term(p & !TERM, id)))
                } else {
                    d.has_word_key(key)
                };
                if present {
                    list[..split].iter().for_each(|&p| hit(p));
                }
            }
        }
        let prefixes = d.prefix_keys();
        self.prefix_postings.probe(prefixes.len(), prefixes.iter().copied(), |k| d.has_prefix_key(k), &mut hit);
        if !self.suffix_postings.is_empty() {
            let suffixes = d.suffix_keys();
            self.suffix_postings.probe(suffixes.len(), suffixes.iter().copied(), |k| suffixes.contains(&k), &mut hit);
        }
        for (i, postings) in self.stem_postings.iter().enumerate() {
            if !postings.is_empty() {
                let stems = d.stem_keys(STEMMERS[i]);
                postings.probe(stems.len(), stems.iter().copied(), |k| stems.contains(&k), &mut hit);
            }
        }
        out.clear();
        for (w, bits) in chosen[..chunks].iter_mut().enumerate() {
            while *bits != 0 {
                out.push((w * 64) as u32 + bits.trailing_zeros());
                *bits &= *bits - 1;
            }
        }
    }

    /// Indices of the rules that may match, in set order.
    #[cfg(test)]
    fn candidates(&self, doc: &Document) -> Vec<u32> {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            self.candidates_into(&doc.texts, &mut scratch);
            scratch.candidates.clone()
        })
    }

    /// Every rule that matches the document, as (index into the set, match), in set order.
    /// Equal to calling [`Rule::matches`] on each rule, only faster.
    pub fn matches(&self, doc: &Document) -> Vec<(usize, Match)> {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let scratch = &mut *scratch;
            self.candidates_into(&doc.texts, scratch);
            std::hint::black_box(self.prog.warm(&scratch.candidates));
            let regex_hits = std::cell::OnceCell::new();
            let cx = Cx { doc: &doc.texts, scopes: &scratch.scopes, regex_hits: &regex_hits };
            // Most candidates match, so this is rarely much too big and never grows.
            let mut out = Vec::with_capacity(scratch.candidates.len());
            let labels = &mut scratch.labels;
            for &r in &scratch.candidates {
                let r = r as usize;
                if self.prog.eval_rule(r, &cx) {
                    labels.clear();
                    self.prog.collect_rule(r, &cx, labels);
                    out.push((r, Match { terms: Terms::shared(self.prog.labels(), labels) }));
                }
            }
            for t in scratch.touched_terms.drain(..) {
                scratch.scopes[t as usize] = 0;
            }
            out
        })
    }
}

impl From<Vec<(String, Rule)>> for RuleSet {
    fn from(rules: Vec<(String, Rule)>) -> RuleSet {
        RuleSet::new(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ast::DocFields;
    use crate::rules::ast::RuleOptions;

    fn rule(q: &str) -> Rule {
        Rule::parse(q, &RuleOptions { lang: Some("id".into()) }).unwrap()
    }

    fn doc(text: &str) -> Document {
        Document::from_text(text)
    }

    #[test]
    fn clauses_follow_the_tree() {
        let n = |q: &str| clauses(&rule(q).expr).len();
        assert_eq!(n("senjata"), 1);
        assert_eq!(n("\"korea utara\" senjata"), 3);
        assert_eq!(n("korea OR utara"), 1);
        assert_eq!(n("korea OR NOT utara"), 0);
        assert_eq!(n("-korea"), 0);
        assert_eq!(n("/korea/"), 0);
        assert_eq!(n("/korea/ AND pyongyang"), 1);
        assert_eq!(n("senjata*"), 1);
        assert_eq!(n("*senjata*"), 0);
        assert_eq!(n("yang"), 1);
        assert_eq!(n("yang dan"), 2);
        assert_eq!(n("~senjata"), 1);
    }

    fn fields_doc(title: &str, content: &str) -> Document {
        Document::new(&DocFields {
            title,
            summary: "",
            content,
            authors: &[],
            categories: &["Senjata".to_owned()],
            link: "https://berita.example/rudal-korea",
            feed: "Kompas",
            article: "",
        })
    }

    /// Rules that exercise every kind of program node and term scope.
    const QUERIES: &[&str] = &[
        "senjata",
        "title:senjata",
        "content:senjata OR category:rudal",
        "=Senjata",
        "rusia -korea",
        "NOT (rudal OR roket)",
        "\"korea utara\" rusia",
        "rusia NEAR/2 senjata",
        "(rusia OR korea) ONEAR/3 (senjata OR rudal)",
        "senj* AND korea",
        "~beli korea",
        "/ru[a-z]+/ AND korea",
        "link:rudal feed:kompas",
        "a b c d e f g h",
        "korea utara rusia senjata rudal roket beli pyongyang moskow",
        "pyongyang OR moskow OR senjata OR rudal OR roket OR rusia OR korea OR utara",
    ];

    fn docs() -> Vec<Document> {
        vec![
            fields_doc("Korea Utara uji senjata", "Rusia membeli senjatanya, rudal dan roket dari Pyongyang."),
            fields_doc("Rusia", "senjata2 Korea-Utara; roketnya. Moskow pun diam. A b c d e f g h"),
            fields_doc("", "Senjata SENJATA senjata"),
            fields_doc("Rudallah", ""),
            // Many words, so that small sets walk their own keys rather than the document's.
            fields_doc(
                "Korea Utara: senjata",
                &format!("Rusia membeli rudal. {}", (0..200).map(|i| format!("isi{i}")).collect::<Vec<_>>().join(" ")),
            ),
            Document::from_text(""),
        ]
    }

    /// The rule set must agree with evaluating each rule, whichever language the rules use,
    /// and whether the word index is walked from the document's side (a big set) or from the
    /// set's side (a small one).
    #[test]
    fn program_agrees_with_each_rule_on_both_walks() {
        for lang in [Some("id"), None] {
            let opts = RuleOptions { lang: lang.map(str::to_owned) };
            let parse = |q: &str| Rule::parse(q, &opts).unwrap();
            let small = RuleSet::new(QUERIES.iter().map(|q| (q.to_string(), parse(q))).collect());
            // Padding with rules on other words makes the set's keys outnumber the document's.
            let mut padded: Vec<(String, Rule)> = QUERIES.iter().map(|q| (q.to_string(), parse(q))).collect();
            padded.extend((0..3000).map(|i| (format!("w{i}"), parse(&format!("kata{i} OR lain{i}")))));
            let big = RuleSet::new(padded);
            assert!(big.word_postings.entries.len() > 1000 && small.word_postings.entries.len() < 100);
            for d in docs() {
                let expected: Vec<(usize, Match)> =
                    QUERIES.iter().enumerate().filter_map(|(i, q)| parse(q).matches(&d).map(|m| (i, m))).collect();
                assert_eq!(small.matches(&d), expected, "small set, lang {lang:?}");
                for (i, q) in QUERIES.iter().enumerate() {
                    let one = RuleSet::new(vec![(q.to_string(), parse(q))]);
                    let alone: Vec<Match> = expected.iter().filter(|(j, _)| *j == i).map(|(_, m)| m.clone()).collect();
                    let got: Vec<Match> = one.matches(&d).into_iter().map(|(_, m)| m).collect();
                    assert_eq!(got, alone, "{q} alone, lang {lang:?}");
                }
                assert_eq!(big.matches(&d), expected, "big set, lang {lang:?}");
            }
        }
    }

    #[test]
    fn terms_share_labels_and_compare_as_strings() {
        let set = RuleSet::new(vec![
            ("a".to_owned(), rule("korea utara rusia senjata rudal roket beli pyongyang moskow")),
            ("b".to_owned(), rule("\"korea utara\" OR senjata")),
        ]);
        let d = fields_doc("Korea Utara", "Rusia membeli senjata, rudal dan roket dari Pyongyang ke Moskow; beli");
        let hits = set.matches(&d);
        assert_eq!(hits.len(), 2);
        // More terms than fit inline fall back to owned strings.
        let many = &hits[0].1.terms;
        assert_eq!(many.len(), 9);
        assert_eq!(*many, ["korea", "utara", "rusia", "senjata", "rudal", "roket", "beli", "pyongyang", "moskow"]);
        let few = &hits[1].1.terms;
        assert_eq!(*few, ["korea utara", "senjata"]);
        assert_eq!(*few, vec!["korea utara".to_owned(), "senjata".to_owned()]);
        assert_eq!(few.get(1), Some("senjata"));
        assert_eq!(few.get(2), None);
        assert_eq!(few.join(", "), "korea utara, senjata");
        assert_eq!(few.iter().len(), 2);
        assert_eq!(few.into_iter().collect::<Vec<_>>(), ["korea utara", "senjata"]);
        assert_eq!(format!("{few:?}"), r#"["korea utara", "senjata"]"#);
        let owned = Terms::from(few.to_vec());
        assert_eq!(owned, *few);
        assert_eq!(Vec::<String>::from(few.clone()), few.to_vec());
        assert_ne!(owned, *many);
        assert!(!few.is_empty());
    }

    /// Rule state outlives calls and is only reset when its epochs run out, so many calls on
    /// one thread, alternating documents and sets of different sizes, must keep agreeing with
    /// the first call of each.
    #[test]
    fn state_epochs_wrap_without_leaking_hits() {
        let small = RuleSet::new(QUERIES.iter().map(|q| (q.to_string(), rule(q))).collect());
        let mut padded: Vec<(String, Rule)> = QUERIES.iter().map(|q| (q.to_string(), rule(q))).collect();
        padded.extend((0..300).map(|i| (format!("w{i}"), rule(&format!("korea AND kata{i}")))));
        let big = RuleSet::new(padded);
        let docs = docs();
        let expected: Vec<_> = docs.iter().map(|d| (small.matches(d), big.matches(d))).collect();
        for round in 0..5 * usize::from(STATE_EPOCHS) {
            let i = round % docs.len();
            // Half-hit rules of one call must not count towards the next.
            assert_eq!(small.matches(&docs[i]), expected[i].0, "round {round}");
            assert_eq!(big.matches(&docs[i]), expected[i].1, "round {round}");
            assert_eq!(big.candidates(&docs[i]), big.candidates(&docs[i]), "round {round}");
        }
        // A rule with two clauses whose words come from two different documents.
        let split = RuleSet::new(vec![("r".to_owned(), rule("pyongyang AND moskow"))]);
        for round in 0..3 * usize::from(STATE_EPOCHS) {
            let text = if round % 2 == 0 { "pyongyang" } else { "moskow" };
            assert!(split.candidates(&doc(text)).is_empty(), "round {round}");
        }
        assert_eq!(split.candidates(&doc("moskow pyongyang")), [0]);
    }

    #[test]
    fn only_rules_with_hit_clauses_are_candidates() {
        let set = RuleSet::new(
            ["senjata", "rudal AND nuklir", "-sanksi", "senjata* AND korea", "~beli", "/x+/", "*njat*", "nuklir"]
                .iter()
                .map(|q| (q.to_string(), rule(q)))
                .collect(),
        );
        let d = doc("Korea Utara membeli senjatanya dan rudal");
        assert_eq!(set.candidates(&d), [0, 2, 3, 4, 5, 6]);
        let hits: Vec<usize> = set.matches(&d).into_iter().map(|(i, _)| i).collect();
        assert_eq!(hits, [0, 2, 3, 4, 6]);
    }
}
