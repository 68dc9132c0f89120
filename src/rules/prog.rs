//! The rules of a [`super::RuleSet`] compiled into one flat program.
//!
//! A rule set evaluates a few hundred candidate rules per document, each read from a cold
//! cache, so the rule trees of [`Expr`] with their nested vectors, boxes and strings cost a
//! cache miss per node. Here every rule becomes a run of small fixed-size nodes in one array,
//! in pre-order: a node's children follow it, and each node records where its subtree ends.
//!
//! The commonest leaf, a single folded word, does not look at the document at all: every such
//! word of every rule is a *term* of one dictionary, and before evaluating anything the rule
//! set records, per term, the scopes of the document words that equal it and of those that
//! are it plus a clitic (see [`TermScopes`]). Other leaves and NEAR groups keep their tree
//! form and are evaluated as in [`Expr::eval`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ast::{folded_matches, Expr, Leaf, REGEX_SIZE_LIMIT};
use super::doc::Texts;
use super::hash::{hash_str, load_partial, SEED_WORD};

/// What a node does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Not,
    /// A single folded word: `arg` is its term, which is also its label.
    Term,
    /// Any other leaf: `arg` indexes `Program::leaves`, whose label is `label`.
    Leaf,
    /// A NEAR group: `arg` indexes `Program::nears`.
    Near,
    /// A regex leaf answered by [`RegexSets`]: `arg` indexes `Program::leaves` and
    /// `Program::regex_slot`, `scope` is the leaf's scope mask.
    Regex,
}

/// One node of the program.
#[derive(Clone, Copy, Debug)]
struct Node {
    /// Index one past the last node of this node's subtree; its children start right after it.
    end: u32,
    arg: u32,
    /// For a leaf other than a term, its label.
    label: u32,
    op: Op,
    /// For a term or a regex leaf, the scope mask of its leaf.
    scope: u8,
    /// For a term, whether Indonesian clitics may follow the word.
    clitics: bool,
    /// Whether evaluating the node only takes index lookups ([`Expr::cheap`]).
    cheap: bool,
}

/// The distinct labels of the leaves of a rule set, by id: what [`super::Match`] reports.
#[derive(Debug, Default)]
pub(crate) struct Labels {
    arena: String,
    spans: Vec<(u32, u32)>,
}

impl Labels {
    /// The label with an id.
    pub(crate) fn get(&self, id: u32) -> &str {
        let (start, end) = self.spans[id as usize];
        &self.arena[start as usize..end as usize]
    }

    /// The label with an id, as bytes.
    fn bytes(&self, id: u32) -> &[u8] {
        let (start, end) = self.spans[id as usize];
        &self.arena.as_bytes()[start as usize..end as usize]
    }

    /// Number of labels.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }
}

/// Per label that is a term (see [`Program::terms`]), the scopes of the document words equal to it (low byte) and of those that are
/// it plus a clitic (high byte); zero for a term the document does not have.
pub(crate) type TermScopes = [u16];

/// All rules of a set as one program.
#[derive(Debug, Default)]
pub(crate) struct Program {
    nodes: Vec<Node>,
    /// Per rule, the index of its root node.
    roots: Vec<u32>,
    /// Labels of all leaves; the terms are the labels of single-word leaves.
    labels: Arc<Labels>,
    /// (label, word-index key) of every term.
    terms: Vec<(u32, u64)>,
    /// Label text → id.
    by_text: HashMap<Box<str>, u32>,
    leaves: Vec<Leaf>,
    /// Per leaf, its pattern's slot in `regexes`, or [`NO_SLOT`].
    regex_slot: Vec<u32>,
    regexes: RegexSets,
    nears: Vec<Expr>,
}

/// No regex slot: the leaf is not a regex, or its pattern could not join a set.
const NO_SLOT: u32 = u32::MAX;

/// Fewer distinct patterns of one case flag than this are searched one by one: each search
/// skips ahead with its pattern's literal prefilter, which beats one pass of the set over
/// every byte until there are about this many (measured on 5 KB news items).
/// (Tests use sets from two patterns on, so that the property tests exercise both paths.)
const REGEX_SET_MIN: usize = if cfg!(test) { 2 } else { 8 };

/// The distinct patterns of a program's regex leaves, compiled into one set per case flag, so
/// that a document is searched once for all of them instead of once per pattern.
#[derive(Debug, Default)]
struct RegexSets {
    sets: Vec<RegexSet>,
    /// Number of slots.
    slots: usize,
    /// The scopes any regex leaf looks at.
    scope: u8,
}

/// One compiled set, with the slot of each of its patterns and the search caches of the
/// threads that used it. The lazy DFA's cache grows with the states a search visits (up to
/// a few megabytes); the caches are kept here rather than inside the regex so that an idle
/// daemon can let them go ([`RegexSets::release_caches`]).
#[derive(Debug)]
struct RegexSet {
    regex: regex_automata::meta::Regex,
    slots: Vec<u32>,
    caches: Mutex<Vec<regex_automata::meta::Cache>>,
}

impl RegexSets {
    /// Per slot, the scopes of the field values its pattern matches in.
    fn scan(&self, doc: &Texts) -> Box<[u8]> {
        let mut hits = vec![0u8; self.slots].into_boxed_slice();
        if !doc.fields().iter().any(|f| f.scope.bits() & self.scope != 0) {
            return hits;
        }
        for set in &self.sets {
            // One cache per search at a time: taken from the idle ones, or made anew.
            let taken = set.caches.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut cache = taken.unwrap_or_else(|| set.regex.create_cache());
            let mut found = regex_automata::PatternSet::new(set.regex.pattern_len());
            for field in doc.fields() {
                let bits = field.scope.bits();
                if bits & self.scope == 0 {
                    continue;
                }
                found.clear();
                set.regex.which_overlapping_matches_with(
                    &mut cache,
                    &regex_automata::Input::new(&field.nfkc),
                    &mut found,
                );
                for i in found.iter() {
                    hits[set.slots[i.as_usize()] as usize] |= bits;
                }
            }
            set.caches.lock().unwrap_or_else(|e| e.into_inner()).push(cache);
        }
        hits
    }

    /// Drops the search caches; the next search builds a fresh one.
    fn release_caches(&self) -> usize {
        let mut freed = 0;
        for set in &self.sets {
            let mut caches = set.caches.lock().unwrap_or_else(|e| e.into_inner());
            freed += caches.iter().map(regex_automata::meta::Cache::memory_usage).sum::<usize>();
            *caches = Vec::new();
        }
        freed
    }

    /// Bytes held by the idle search caches.
    #[cfg(test)]
    fn cache_bytes(&self) -> usize {
        let caches = self.sets.iter().map(|s| s.caches.lock().unwrap_or_else(|e| e.into_inner()));
        caches.map(|c| c.iter().map(regex_automata::meta::Cache::memory_usage).sum::<usize>()).sum()
    }
}

/// Builds a [`Program`], interning labels.
#[derive(Default)]
pub(crate) struct Builder {
    prog: Program,
    labels: Labels,
    is_term: Vec<bool>,
    /// Distinct (source, ignores case) regex patterns, by slot.
    patterns: Vec<(String, bool)>,
}

impl Builder {
    /// Appends a rule; rules must be added in set order.
    pub(crate) fn add_rule(&mut self, expr: &Expr) {
        let root = self.prog.nodes.len() as u32;
        self.prog.roots.push(root);
        self.compile(expr);
    }

    /// The id of a label, added when new.
    fn label(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.prog.by_text.get(text) {
            return id;
        }
        let id = self.labels.spans.len() as u32;
        let start = self.labels.arena.len() as u32;
        self.labels.arena.push_str(text);
        self.labels.spans.push((start, self.labels.arena.len() as u32));
        self.is_term.push(false);
        self.prog.by_text.insert(text.into(), id);
        id
    }

    /// The term of a folded word (its label), added when new.
    fn term(&mut self, word: &str) -> u32 {
        let id = self.label(word);
        if !self.is_term[id as usize] {
            self.is_term[id as usize] = true;
            self.prog.terms.push((id, hash_str(SEED_WORD, word)));
        }
        id
    }

    /// Gives every leaf under a NEAR group its label, which the group may report.
    fn near_labels(&mut self, expr: &Expr) {
        match expr {
            Expr::Leaf(leaf) => {
                self.label(leaf.label());
            }
            Expr::Near { left, right, .. } => {
                self.near_labels(left);
                self.near_labels(right);
            }
            Expr::And(children) | Expr::Or(children) => children.iter().for_each(|c| self.near_labels(c)),
            Expr::Not(child) => self.near_labels(child),
        }
    }

    fn compile(&mut self, expr: &Expr) {
        let at = self.prog.nodes.len();
        let mut node = Node { end: 0, arg: 0, label: 0, op: Op::And, scope: 0, clitics: false, cheap: expr.cheap() };
        self.prog.nodes.push(node);
        match expr {
            Expr::And(children) | Expr::Or(children) => {
                node.op = if matches!(expr, Expr::And(_)) { Op::And } else { Op::Or };
                for c in children {
                    self.compile(c);
                }
            }
            Expr::Not(child) => {
                node.op = Op::Not;
                self.compile(child);
            }
            Expr::Near { .. } => {
                node.op = Op::Near;
                self.near_labels(expr);
                node.arg = self.prog.nears.len() as u32;
                self.prog.nears.push(expr.clone());
            }
            Expr::Leaf(leaf) => match leaf.single_word() {
                Some((word, clitics)) => {
                    node.op = Op::Term;
                    node.arg = self.term(word);
                    node.scope = leaf.scope.bits();
                    node.clitics = clitics;
                }
                None => {
                    node.op = Op::Leaf;
                    node.label = self.label(leaf.label());
                    node.arg = self.prog.leaves.len() as u32;
                    self.prog.leaves.push(leaf.clone());
                    let mut slot = NO_SLOT;
                    if let Some((source, ignore_case)) = leaf.regex_source() {
                        node.op = Op::Regex;
                        node.scope = leaf.scope.bits();
                        self.prog.regexes.scope |= node.scope;
                        let pattern = (source.to_string(), ignore_case);
                        slot = match self.patterns.iter().position(|p| *p == pattern) {
                            Some(at) => at as u32,
                            None => {
                                self.patterns.push(pattern);
                                self.patterns.len() as u32 - 1
                            }
                        };
                    }
                    self.prog.regex_slot.push(slot);
                }
            },
        }
        node.end = self.prog.nodes.len() as u32;
        self.prog.nodes[at] = node;
    }

    /// The finished program.
    pub(crate) fn finish(mut self) -> Program {
        self.prog.labels = Arc::new(self.labels);
        self.prog.regexes.slots = self.patterns.len();
        for ignore_case in [false, true] {
            let (slots, sources): (Vec<u32>, Vec<&str>) = (0..self.patterns.len() as u32)
                .filter(|&s| self.patterns[s as usize].1 == ignore_case)
                .map(|s| (s, self.patterns[s as usize].0.as_str()))
                .unzip();
            if sources.is_empty() {
                continue;
            }
            if sources.len() < REGEX_SET_MIN {
                // A few patterns search faster on their own, each skipping ahead with its
                // literal prefilter, than one pass of the set over every byte.
                self.prog.unset_regexes(&slots);
                continue;
            }
            // Each pattern compiled within the parser's limit; the set may need their sum.
            let limit = REGEX_SIZE_LIMIT.saturating_mul(sources.len()).min(64 << 20);
            // One pass of the lazy DFA over the text finds every pattern; a prefilter would
            // stop at each occurrence of any pattern's literal prefix, which for a set of
            // patterns starting with common words is most of the text.
            let config = regex_automata::meta::Regex::config()
                .match_kind(regex_automata::MatchKind::All)
                .auto_prefilter(false)
                .nfa_size_limit(Some(limit))
                // Per searching thread; ample for the states a news text visits.
                .hybrid_cache_capacity(4 * REGEX_SIZE_LIMIT);
            match regex_automata::meta::Regex::builder()
                .configure(config)
                .syntax(regex_automata::util::syntax::Config::new().case_insensitive(ignore_case))
                .build_many(&sources)
            {
                Ok(regex) => self.prog.regexes.sets.push(RegexSet { regex, slots, caches: Mutex::default() }),
                // Too big together: these leaves search on their own.
                Err(_) => self.prog.unset_regexes(&slots),
            }
        }
        self.prog
    }
}

/// A document being evaluated, with the scopes of its terms.
pub(crate) struct Cx<'d> {
    pub(crate) doc: &'d Texts,
    pub(crate) scopes: &'d TermScopes,
    /// What [`RegexSets::scan`] found, computed when a regex leaf is first evaluated.
    pub(crate) regex_hits: &'d std::cell::OnceCell<Box<[u8]>>,
}

impl Program {
    /// Drops the regex sets' search caches; returns the bytes they held.
    pub(crate) fn release_caches(&self) -> usize {
        self.regexes.release_caches()
    }

    /// Bytes held by the regex sets' idle search caches.
    #[cfg(test)]
    pub(crate) fn cache_bytes(&self) -> usize {
        self.regexes.cache_bytes()
    }

    /// Makes the regex leaves of `slots` search on their own, as `Leaf::found` does.
    fn unset_regexes(&mut self, slots: &[u32]) {
        for node in self.nodes.iter_mut() {
            if node.op == Op::Regex && slots.contains(&self.regex_slot[node.arg as usize]) {
                node.op = Op::Leaf;
                self.regex_slot[node.arg as usize] = NO_SLOT;
            }
        }
    }

    /// (label, word-index key) of every term.
    pub(crate) fn terms(&self) -> &[(u32, u64)] {
        &self.terms
    }

    /// The labels, shared with the matches that report them.
    pub(crate) fn labels(&self) -> &Arc<Labels> {
        &self.labels
    }

    /// The scope bits that a document word adds to a term it is filed under (see
    /// [`TermScopes`]), or 0 when it matches the term neither way.
    pub(crate) fn term_bits(&self, t: u32, folded: &[u8], scopes: u8) -> u16 {
        let word = self.labels.bytes(t);
        if same_bytes(folded, word) {
            u16::from(scopes)
        } else if folded_matches(folded, word, true) {
            u16::from(scopes) << 8
        } else {
            0
        }
    }

    /// Reads the root node of each rule, and returns something of them to pass to
    /// [`std::hint::black_box`]. The reads do not depend on each other, so the processor
    /// overlaps their cache misses instead of meeting them one by one during evaluation.
    pub(crate) fn warm(&self, rules: &[u32]) -> u32 {
        rules.iter().fold(0, |acc, &r| acc ^ self.nodes[self.roots[r as usize] as usize].end)
    }

    /// Whether rule `r` matches.
    pub(crate) fn eval_rule(&self, r: usize, cx: &Cx<'_>) -> bool {
        self.eval(self.roots[r] as usize, cx)
    }

    /// The ids of the labels of rule `r` that contributed to its match, as
    /// [`Expr::collect_terms`] lists them. Must only be called when the rule matched.
    pub(crate) fn collect_rule(&self, r: usize, cx: &Cx<'_>, out: &mut Vec<u32>) {
        self.collect(self.roots[r] as usize, cx, out);
    }

    fn eval(&self, i: usize, cx: &Cx<'_>) -> bool {
        let n = self.nodes[i];
        let end = n.end as usize;
        match n.op {
            Op::Term => term(n, cx),
            // Indexed lookups go first, so that scans and regexes only run when still needed.
            Op::And => {
                let mut rest = false;
                let mut c = i + 1;
                while c < end {
                    let m = self.nodes[c];
                    if !m.cheap {
                        rest = true;
                    } else if !self.child(c, m, cx) {
                        return false;
                    }
                    c = m.end as usize;
                }
                c = i + 1;
                while rest && c < end {
                    let m = self.nodes[c];
                    if !m.cheap && !self.eval(c, cx) {
                        return false;
                    }
                    c = m.end as usize;
                }
                true
            }
            Op::Or => {
                let mut c = i + 1;
                while c < end {
                    let m = self.nodes[c];
                    if self.child(c, m, cx) {
                        return true;
                    }
                    c = m.end as usize;
                }
                false
            }
            Op::Not => !self.eval(i + 1, cx),
            Op::Leaf => self.leaves[n.arg as usize].found(cx.doc),
            Op::Regex => {
                let hits = cx.regex_hits.get_or_init(|| self.regexes.scan(cx.doc));
                hits[self.regex_slot[n.arg as usize] as usize] & n.scope != 0
            }
            Op::Near => self.nears[n.arg as usize].eval(cx.doc),
        }
    }

    /// Evaluates child `c`, whose node is `m`, deciding terms in place.
    #[inline(always)]
    fn child(&self, c: usize, m: Node, cx: &Cx<'_>) -> bool {
        if m.op == Op::Term {
            term(m, cx)
        } else {
            self.eval(c, cx)
        }
    }

    fn collect(&self, i: usize, cx: &Cx<'_>, out: &mut Vec<u32>) {
        let n = self.nodes[i];
        match n.op {
            Op::Term => push_id(out, n.arg),
            Op::And => self.children(i).for_each(|c| self.collect_child(c, self.nodes[c], cx, out)),
            Op::Or => {
                for c in self.children(i) {
                    let m = self.nodes[c];
                    if self.child(c, m, cx) {
                        self.collect_child(c, m, cx, out);
                    }
                }
            }
            Op::Not => {}
            Op::Leaf | Op::Regex => push_id(out, n.label),
            Op::Near => {
                let mut texts = Vec::new();
                self.nears[n.arg as usize].collect_terms(cx.doc, &mut texts);
                // Every leaf label under the group was interned when it was compiled.
                texts.iter().filter_map(|t| self.by_text.get(*t)).for_each(|&id| push_id(out, id));
            }
        }
    }

    /// Collects child `c`, whose node is `m`, listing a term in place rather than through a
    /// call.
    #[inline(always)]
    fn collect_child(&self, c: usize, m: Node, cx: &Cx<'_>, out: &mut Vec<u32>) {
        if m.op == Op::Term {
            push_id(out, m.arg);
        } else {
            self.collect(c, cx, out);
        }
    }

    /// The indices of the children of node `i`.
    fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let end = self.nodes[i].end as usize;
        let mut c = i + 1;
        std::iter::from_fn(move || {
            (c < end).then(|| {
                let this = c;
                c = self.nodes[c].end as usize;
                this
            })
        })
    }
}

/// Whether two byte strings are equal, comparing the short ones, which nearly all words are,
/// with two overlapping loads each instead of a call to `memcmp`.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let u8s = |s: &[u8], i: usize| s[i..i + 8].try_into().map_or(0, u64::from_ne_bytes);
    match n {
        0..=8 => load_partial(a) == load_partial(b),
        9..=16 => u8s(a, 0) == u8s(b, 0) && u8s(a, n - 8) == u8s(b, n - 8),
        _ => a == b,
    }
}

/// Appends a label id unless it is already listed; labels are interned, so equal ids mean
/// equal labels.
#[inline(always)]
fn push_id(out: &mut Vec<u32>, id: u32) {
    if !out.contains(&id) {
        out.push(id);
    }
}

/// Whether a term node matches: the document has its word, or with `clitics` the word plus a
/// clitic, in a field value of the node's scope.
#[inline(always)]
fn term(n: Node, cx: &Cx<'_>) -> bool {
    let s = cx.scopes[n.arg as usize];
    let s = if n.clitics { s | s >> 8 } else { s };
    s as u8 & n.scope != 0
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    #[test]
    fn same_bytes_agrees_with_slice_equality() {
        let base: Vec<u8> = (0u8..40).map(|i| b'a' + i % 26).collect();
        for n in 0..base.len() {
            let a = &base[..n];
            assert!(same_bytes(a, a), "{n}");
            for m in 0..base.len() {
                assert_eq!(same_bytes(a, &base[..m]), n == m, "{n} {m}");
            }
            // One differing byte anywhere must be seen.
            for i in 0..n {
                let mut b = a.to_vec();
                b[i] ^= 0x20;
                assert!(!same_bytes(a, &b), "{n} {i}");
            }
        }
    }
}
