//! Tokenised documents: every field value normalised and split into words once, every distinct
//! folded word stored once, and small hash tables from word keys to words and positions.
//!
//! A document is built once per feed item and then read by many rules, often long after it was
//! built and so from a cold cache; it is therefore laid out to take few allocations to build and
//! few cache lines to query: words are ids into one string of distinct folded forms, and one
//! open-addressing table answers both "which words have this key" and "which words are this
//! base plus a clitic".

use std::sync::{Mutex, OnceLock};

use super::ast::{DocFields, Scope, CLITICS};
use super::hash::{
    eq_ascii_lower, hash_ascii_lower, hash_str, KeySet, KeyTable, NONE, SEED_PREFIX, SEED_STEM, SEED_SUFFIX, SEED_WORD,
};
use super::stem::Stemmer;
use super::text;

/// One word of a field value: where its exact (NFKC) form lies in the field's text, and the id
/// of its folded form among the document's distinct words.
#[derive(Clone, Copy, Debug)]
struct Tok {
    start: u32,
    end: u32,
    id: u32,
}

/// One field value of a document: its NFKC text and words.
#[derive(Debug)]
pub(crate) struct FieldText {
    pub(crate) scope: Scope,
    pub(crate) nfkc: String,
    toks: Vec<Tok>,
}

impl FieldText {
    /// Number of words.
    pub(crate) fn len(&self) -> usize {
        self.toks.len()
    }

    /// The byte range in `nfkc` from the start of word `first` to the end of word `last`.
    pub(crate) fn byte_range(&self, first: usize, last: usize) -> (usize, usize) {
        (self.toks[first].start as usize, self.toks[last].end as usize)
    }
}

/// Where a word occurs: which field value, and which word of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Occ {
    pub(crate) field: u32,
    pub(crate) pos: u32,
}

/// A distinct folded word of a document.
#[derive(Clone, Copy, Debug)]
struct Distinct {
    /// Word-index key of the folded form.
    key: u64,
    /// Range of the folded form in `Texts::arena`.
    start: u32,
    end: u32,
    /// Start of its positions in `Texts::occ`; they end where the next word's start. While the
    /// document is being built, the number of its positions instead.
    occ_start: u32,
    /// The scopes of the field values it occurs in.
    scopes: u8,
}

/// All field values of a document, with an index from folded words to their positions.
#[derive(Debug)]
pub(crate) struct Texts {
    texts: Vec<FieldText>,
    /// The folded forms of the distinct words, one after the other, without separators.
    arena: String,
    /// Distinct folded words, by id, in order of first occurrence.
    distinct: Vec<Distinct>,
    /// Word key → (first distinct word with that key, head of its list in `clitic_links` of the
    /// distinct words that are a base with that key plus an Indonesian clitic).
    words: KeyTable,
    /// Per distinct word, the next one with the same key (only on a hash collision), or NONE.
    same_key: Vec<u32>,
    /// (distinct word, next link or NONE).
    clitic_links: Vec<(u32, u32)>,
    /// (word key of the base, distinct word) for every distinct word that is a base plus a
    /// clitic, in order of first occurrence.
    clitic_words: Vec<(u64, u32)>,
    /// Prefix key of the first three characters → first distinct word with that prefix.
    prefixes: KeyTable,
    /// Per distinct word, the next one with the same prefix key, or NONE.
    prefix_next: Vec<u32>,
    /// Prefix keys, each once.
    prefix_keys: Vec<u64>,
    /// Positions grouped by distinct word, each group in document order.
    occ: Vec<Occ>,
    /// Suffix keys of the last three characters of all words, computed on first use.
    suffix_keys: OnceLock<KeySet>,
    /// Stem keys of all words, per stemmer, computed on first use.
    stem_keys: [OnceLock<KeySet>; 2],
    /// Results of regex leaves so far, by label (which fixes pattern and flags) and scope,
    /// because rule sets often repeat one regex in many rules and each run reads every field.
    regexes: Mutex<Vec<(Box<str>, u8, bool)>>,
}

impl Texts {
    pub(crate) fn new(fields: &DocFields<'_>) -> Texts {
        let bytes = fields.title.len() + fields.summary.len() + fields.content.len();
        // Guesses from news text: about one word per seven bytes, a third to a half distinct.
        let distinct = bytes / 16 + 16;
        let mut doc = Texts {
            texts: Vec::new(),
            arena: String::with_capacity(bytes / 3 + 16),
            distinct: Vec::with_capacity(distinct),
            words: KeyTable::with_capacity(distinct),
            same_key: Vec::with_capacity(distinct),
            clitic_links: Vec::new(),
            clitic_words: Vec::new(),
            prefixes: KeyTable::with_capacity(distinct),
            prefix_next: Vec::with_capacity(distinct),
            prefix_keys: Vec::with_capacity(distinct),
            occ: Vec::new(),
            suffix_keys: OnceLock::new(),
            stem_keys: [OnceLock::new(), OnceLock::new()],
            regexes: Mutex::new(Vec::new()),
        };
        let push = |doc: &mut Texts, scope: Scope, raw: &str| {
            if !raw.trim().is_empty() {
                doc.add_field(scope, raw);
            }
        };
        push(&mut doc, Scope::TITLE, fields.title);
        push(&mut doc, Scope::SUMMARY, fields.summary);
        push(&mut doc, Scope::CONTENT, fields.content);
        push(&mut doc, Scope::ARTICLE, fields.article);
        // Each author and category is its own value, so a phrase cannot join two of them.
        for a in fields.authors {
            push(&mut doc, Scope::AUTHOR, a);
        }
        for c in fields.categories {
            push(&mut doc, Scope::CATEGORY, c);
        }
        push(&mut doc, Scope::LINK, fields.link);
        push(&mut doc, Scope::FEED, fields.feed);
        doc.index_positions();
        doc
    }

    /// Tokenises one field value and interns its folded words, counting their occurrences.
    fn add_field(&mut self, scope: Scope, raw: &str) {
        let nfkc = text::nfkc(raw);
        let mut toks = Vec::with_capacity(nfkc.len() / 6 + 1);
        let base = nfkc.as_ptr() as usize;
        if nfkc.is_ascii() {
            // Most values are all ASCII, and then no word needs checking on its own.
            text::for_each_ascii_word(&nfkc, scope.split(), |w| {
                let id = self.intern_ascii(w);
                toks.push(self.occurrence(scope, id, w.as_ptr() as usize - base, w.len()));
            });
        } else {
            let mut folded = String::new();
            text::for_each_word(&nfkc, scope.split(), |w| {
                let id = if w.is_ascii() { self.intern_ascii(w) } else { self.intern_unicode(w, &mut folded) };
                toks.push(self.occurrence(scope, id, w.as_ptr() as usize - base, w.len()));
            });
        }
        self.texts.push(FieldText { scope, nfkc, toks });
    }

    /// Counts one occurrence of a word in a field value of a scope, returning its token.
    #[inline(always)]
    fn occurrence(&mut self, scope: Scope, id: u32, start: usize, len: usize) -> Tok {
        let d = &mut self.distinct[id as usize];
        d.occ_start += 1;
        d.scopes |= scope.bits();
        Tok { start: start as u32, end: (start + len) as u32, id }
    }

    /// The id of an ASCII word's folded (lower-case) form, which is never built unless new.
    ///
    /// Most words repeat one seen before, the first word filed under their key; only that
    /// case is handled here, which keeps this small enough to inline into the segmenting loop.
    #[inline(always)]
    fn intern_ascii(&mut self, word: &str) -> u32 {
        let key = hash_ascii_lower(SEED_WORD, word);
        let first = self.words.get(key).map_or(NONE, |s| s.a);
        if first != NONE && eq_ascii_lower(self.folded_bytes_and_scopes(first).0, word.as_bytes()) {
            return first;
        }
        self.intern_ascii_rest(word, key, first)
    }

    /// `intern_ascii` for a new word, or one that is not the first under its key (which only
    /// happens on a hash collision); `first` is that first word, if any.
    #[inline(never)]
    fn intern_ascii_rest(&mut self, word: &str, key: u64, first: u32) -> u32 {
        let mut last = NONE;
        let mut id = first;
        while id != NONE {
            if eq_ascii_lower(self.folded_bytes_and_scopes(id).0, word.as_bytes()) {
                return id;
            }
            last = id;
            id = self.same_key[id as usize];
        }
        let start = self.arena.len();
        self.arena.push_str(word);
        self.arena[start..].make_ascii_lowercase();
        self.add_distinct(key, start, last)
    }

    /// The id of a non-ASCII word's folded form, built in `folded`; kept out of line, as few
    /// words take it.
    #[inline(never)]
    fn intern_unicode(&mut self, word: &str, folded: &mut String) -> u32 {
        folded.clear();
        text::fold_into(word, folded);
        self.intern(folded)
    }

    /// The id of a folded word.
    fn intern(&mut self, folded: &str) -> u32 {
        let key = hash_str(SEED_WORD, folded);
        let mut last = NONE;
        if let Some(slot) = self.words.get(key) {
            let mut id = slot.a;
            while id != NONE {
                if self.folded(id) == folded {
                    return id;
                }
                last = id;
                id = self.same_key[id as usize];
            }
        }
        let start = self.arena.len();
        self.arena.push_str(folded);
        self.add_distinct(key, start, last)
    }

    /// Files the word just appended to the arena at `start` as a new distinct word; `last` is
    /// the final word of the chain with the same key, if any.
    fn add_distinct(&mut self, key: u64, start: usize, last: u32) -> u32 {
        let id = self.distinct.len() as u32;
        self.distinct.push(Distinct {
            key,
            start: start as u32,
            end: self.arena.len() as u32,
            occ_start: 0,
            scopes: 0,
        });
        self.same_key.push(NONE);
        if last == NONE {
            self.words.slot(key).a = id;
        } else {
            // Different words under one key only happen on a hash collision.
            self.same_key[last as usize] = id;
        }
        let folded = &self.arena[start..];
        let mut prefix_next = NONE;
        if let Some(cut) = char_cut(folded, 3) {
            let prefix_key = hash_str(SEED_PREFIX, &folded[..cut]);
            let slot = self.prefixes.slot(prefix_key);
            prefix_next = slot.a;
            slot.a = id;
            if prefix_next == NONE {
                self.prefix_keys.push(prefix_key);
            }
        }
        self.prefix_next.push(prefix_next);
        // At most one clitic fits, as no clitic ends another.
        if let Some(base) = CLITICS.iter().find_map(|c| folded.strip_suffix(c)).filter(|b| !b.is_empty()) {
            let base_key = hash_str(SEED_WORD, base);
            let link = self.clitic_links.len() as u32;
            let slot = self.words.slot(base_key);
            let next = slot.b;
            slot.b = link;
            self.clitic_links.push((id, next));
            self.clitic_words.push((base_key, id));
        }
        id
    }

    /// Files every position under its word, grouped by word and in document order.
    fn index_positions(&mut self) {
        // Each word's count becomes the end of its group, and filling the groups from the back
        // with the positions in reverse order leaves it at the start.
        let mut total = 0u32;
        for d in &mut self.distinct {
            total += d.occ_start;
            d.occ_start = total;
        }
        self.occ = vec![Occ { field: 0, pos: 0 }; total as usize];
        for (f, t) in self.texts.iter().enumerate().rev() {
            for (p, tok) in t.toks.iter().enumerate().rev() {
                let d = &mut self.distinct[tok.id as usize];
                d.occ_start -= 1;
                self.occ[d.occ_start as usize] = Occ { field: f as u32, pos: p as u32 };
            }
        }
    }

    /// The field values.
    pub(crate) fn fields(&self) -> &[FieldText] {
        &self.texts
    }

    /// Number of distinct folded words.
    pub(crate) fn distinct_len(&self) -> usize {
        self.distinct.len()
    }

    /// The folded form of a distinct word.
    pub(crate) fn folded(&self, id: u32) -> &str {
        let d = &self.distinct[id as usize];
        &self.arena[d.start as usize..d.end as usize]
    }

    /// The folded form of a distinct word as bytes, with the scopes it occurs in: one read of
    /// the word's entry and no character-boundary checks.
    pub(crate) fn folded_bytes_and_scopes(&self, id: u32) -> (&[u8], u8) {
        let d = &self.distinct[id as usize];
        (&self.arena.as_bytes()[d.start as usize..d.end as usize], d.scopes)
    }

    /// The word-index keys of the distinct words, in id order.
    pub(crate) fn distinct_keys(&self) -> impl ExactSizeIterator<Item = u64> + '_ {
        self.distinct.iter().map(|d| d.key)
    }

    /// (word key of the base, distinct word) for every distinct word that is a base plus an
    /// Indonesian clitic.
    pub(crate) fn clitic_words(&self) -> &[(u64, u32)] {
        &self.clitic_words
    }

    /// Whether a distinct word occurs in a field value of one of the scopes.
    pub(crate) fn occurs_in(&self, id: u32, scope: Scope) -> bool {
        self.distinct[id as usize].scopes & scope.bits() != 0
    }

    /// The folded form of the word at a position.
    pub(crate) fn folded_at(&self, field: usize, pos: usize) -> &str {
        self.folded(self.texts[field].toks[pos].id)
    }

    /// The exact (NFKC) form of the word at a position.
    pub(crate) fn exact_at(&self, field: usize, pos: usize) -> &str {
        let t = &self.texts[field];
        let tok = t.toks[pos];
        &t.nfkc[tok.start as usize..tok.end as usize]
    }

    /// The positions of a distinct word, in document order.
    pub(crate) fn occurrences(&self, id: u32) -> &[Occ] {
        let start = self.distinct[id as usize].occ_start as usize;
        let end = self.distinct.get(id as usize + 1).map_or(self.occ.len(), |d| d.occ_start as usize);
        &self.occ[start..end]
    }

    /// Calls `f` with the distinct words filed under a word key (with `clitics`, also those
    /// that are a base with that key plus a clitic) until it returns true; returns whether it did.
    pub(crate) fn any_with_key(&self, key: u64, clitics: bool, mut f: impl FnMut(u32) -> bool) -> bool {
        let Some(slot) = self.words.get(key) else {
            return false;
        };
        let mut id = slot.a;
        while id != NONE {
            if f(id) {
                return true;
            }
            id = self.same_key[id as usize];
        }
        let mut link = if clitics { slot.b } else { NONE };
        while link != NONE {
            let (id, next) = self.clitic_links[link as usize];
            if f(id) {
                return true;
            }
            link = next;
        }
        false
    }

    /// Whether a word key is filed, calling `f` with every distinct word filed under it,
    /// both those with that key and those that are a base with that key plus a clitic.
    pub(crate) fn visit_key(&self, key: u64, mut f: impl FnMut(u32)) -> bool {
        let Some(slot) = self.words.get(key) else {
            return false;
        };
        let mut id = slot.a;
        while id != NONE {
            f(id);
            id = self.same_key[id as usize];
        }
        let mut link = slot.b;
        while link != NONE {
            let (id, next) = self.clitic_links[link as usize];
            f(id);
            link = next;
        }
        true
    }

    /// Calls `f` with the distinct words whose first three characters have a prefix key
    /// until it returns true; returns whether it did.
    pub(crate) fn any_with_prefix(&self, key: u64, mut f: impl FnMut(u32) -> bool) -> bool {
        let mut id = self.prefixes.get(key).map_or(NONE, |s| s.a);
        while id != NONE {
            if f(id) {
                return true;
            }
            id = self.prefix_next[id as usize];
        }
        false
    }

    /// The distinct words whose first three characters have a prefix key.
    pub(crate) fn with_prefix(&self, key: u64) -> Vec<u32> {
        let mut ids = Vec::new();
        let mut id = self.prefixes.get(key).map_or(NONE, |s| s.a);
        while id != NONE {
            ids.push(id);
            id = self.prefix_next[id as usize];
        }
        ids
    }

    /// Whether a word key is filed, as the key of a word or of the base of a word with a clitic.
    pub(crate) fn has_word_key(&self, key: u64) -> bool {
        self.words.get(key).is_some()
    }

    /// The prefix keys of the first three characters of the words, each once.
    pub(crate) fn prefix_keys(&self) -> &[u64] {
        &self.prefix_keys
    }

    /// Whether `prefix_keys` holds a key.
    pub(crate) fn has_prefix_key(&self, key: u64) -> bool {
        self.prefixes.get(key).is_some()
    }

    /// The suffix keys of the last three characters of the words.
    pub(crate) fn suffix_keys(&self) -> &KeySet {
        self.suffix_keys.get_or_init(|| {
            let mut set = KeySet::default();
            for id in 0..self.distinct.len() as u32 {
                let w = self.folded(id);
                let chars = w.chars().count();
                if chars >= 3 {
                    let from = w.char_indices().nth(chars - 3).map_or(0, |(i, _)| i);
                    set.insert(hash_str(SEED_SUFFIX, &w[from..]));
                }
            }
            set
        })
    }

    /// The stem keys of every word of the document for one stemmer.
    pub(crate) fn stem_keys(&self, stemmer: Stemmer) -> &KeySet {
        self.stem_keys[stemmer.index()].get_or_init(|| {
            let seed = SEED_STEM[stemmer.index()];
            let mut set = KeySet::default();
            for id in 0..self.distinct.len() as u32 {
                for c in stemmer.candidates(self.folded(id)) {
                    set.insert(hash_str(seed, &c));
                }
            }
            set
        })
    }

    /// Whether the regex leaf with a label matches in a scope, running `search` only the first
    /// time it is asked.
    pub(crate) fn regex_found(&self, label: &str, scope: Scope, search: impl FnOnce() -> bool) -> bool {
        let known = |memo: &[(Box<str>, u8, bool)]| {
            memo.iter().find(|(l, s, _)| *s == scope.bits() && &**l == label).map(|(_, _, found)| *found)
        };
        if let Some(found) = self.regexes.lock().ok().and_then(|m| known(&m)) {
            return found;
        }
        // The search runs unlocked, so at worst two threads both run it.
        let found = search();
        if let Ok(mut memo) = self.regexes.lock() {
            if known(&memo).is_none() {
                memo.push((label.into(), scope.bits(), found));
            }
        }
        found
    }

    /// Appends the distinct words that contain `needle`, each once, in id order.
    pub(crate) fn words_containing(&self, needle: &str, ids: &mut Vec<u32>) {
        // Most needles are absent, which the vectorised `contains` tells much faster than
        // walking the hits can.
        if needle.is_empty() || !self.arena.contains(needle) {
            return;
        }
        let arena = self.arena.as_bytes();
        let finder = memchr::memmem::Finder::new(needle);
        let mut from = 0;
        while let Some(found) = finder.find(&arena[from..]) {
            let at = from + found;
            let id = self.distinct.partition_point(|d| d.start as usize <= at) - 1;
            let end = self.distinct[id].end as usize;
            if at + needle.len() <= end {
                ids.push(id as u32);
                // One hit is enough for a word: go on with the next one.
                from = end;
            } else {
                // The arena has no separators, so this hit straddles two words; a hit inside
                // the next word may overlap it ("jalan|analisis" for "ana"), so look again
                // from the next byte rather than after the hit.
                from = at + 1;
            }
        }
    }

    /// The distinct words that share a stem with one of `candidates`, found by looking for
    /// each candidate's needle in the folded words before stemming any of them.
    pub(crate) fn stem_matches(&self, candidates: &[String], stemmer: Stemmer) -> Vec<u32> {
        let mut ids = Vec::new();
        if self.distinct.is_empty() {
            return ids;
        }
        // A word holding a needle also holds every needle inside it, so only the needles
        // without a shorter one inside need looking for.
        let mut needles: Vec<&str> = candidates.iter().map(|c| stemmer.needle(c)).collect();
        needles.sort_unstable_by_key(|n| n.len());
        let mut kept: Vec<&str> = Vec::with_capacity(needles.len());
        for n in needles {
            if !kept.iter().any(|k| n.contains(k)) {
                kept.push(n);
            }
        }
        for needle in kept {
            self.words_containing(needle, &mut ids);
        }
        ids.sort_unstable();
        ids.dedup();
        ids.retain(|&id| stemmer.shares_candidate(self.folded(id), candidates));
        ids
    }
}

/// Byte offset just past the first `n` characters, if the text has at least `n`.
fn char_cut(s: &str, n: usize) -> Option<usize> {
    if s.len() >= n && s.as_bytes()[..n].is_ascii() {
        return Some(n);
    }
    let mut ends = s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len()));
    ends.nth(n)
}

/// A news item prepared for matching: every field normalised and split into words once.
#[derive(Debug)]
pub struct Document {
    pub(crate) texts: Texts,
}

impl Document {
    /// A document of free text only (as the content field), for tools and tests.
    pub fn from_text(text: &str) -> Document {
        Document::new(&DocFields::text_only(text))
    }

    /// Normalises and tokenises the fields of an item.
    pub fn new(fields: &DocFields<'_>) -> Document {
        Document { texts: Texts::new(fields) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Texts {
        Texts::new(&DocFields::text_only(text))
    }

    #[test]
    fn ascii_and_general_interning_agree() {
        // ASCII words are folded and hashed in place; others go through `fold`. Both must
        // land on the same distinct word.
        let d = doc("Straße STRASSE strasse Ｓｔｒａｓｓｅ Pyŏngyang PYONGYANG pyongyang");
        assert_eq!(d.distinct_len(), 2);
        assert_eq!(d.folded(0), "strasse");
        assert_eq!(d.folded(1), "pyongyang");
        assert_eq!(d.occurrences(0).len(), 4);
        assert_eq!(d.occurrences(1).len(), 3);
        assert!(d.has_word_key(hash_str(SEED_WORD, "strasse")));
        assert!(!d.has_word_key(hash_str(SEED_WORD, "Strasse")));
    }

    #[test]
    fn clitic_bases_and_prefixes_are_filed() {
        let d = doc("senjatanya senjata2 Rusialah persenjataan");
        let mut found = Vec::new();
        d.any_with_key(hash_str(SEED_WORD, "senjata"), true, |id| {
            found.push(d.folded(id).to_owned());
            false
        });
        found.sort();
        assert_eq!(found, ["senjata2", "senjatanya"]);
        assert!(!d.any_with_key(hash_str(SEED_WORD, "senjata"), false, |_| true));
        assert!(d.has_word_key(hash_str(SEED_WORD, "rusia")));
        let per: Vec<&str> = d.with_prefix(hash_str(SEED_PREFIX, "per")).iter().map(|&id| d.folded(id)).collect();
        assert_eq!(per, ["persenjataan"]);
        assert_eq!(d.prefix_keys().len(), 3);
    }

    #[test]
    fn stem_matches_finds_exactly_the_stemmed_words() {
        let d = doc("persenjataan bersenjata senjatanya sanksi menyerang serangan");
        for (query, stemmer) in [("senjata", Stemmer::Indonesian), ("serang", Stemmer::Indonesian)] {
            let candidates = stemmer.candidates(query);
            let expected: Vec<u32> = (0..d.distinct_len() as u32)
                .filter(|&id| stemmer.candidates(d.folded(id)).iter().any(|c| candidates.contains(c)))
                .collect();
            assert!(!expected.is_empty());
            assert_eq!(d.stem_matches(&candidates, stemmer), expected, "{query}");
        }
        assert!(doc("").stem_matches(&["x".to_owned()], Stemmer::English).is_empty());
    }

    #[test]
    fn words_containing_lists_each_holder_once_and_never_a_straddle() {
        // "jata" + "tah" in the arena would straddle "senjata|tahun"; "ata" occurs twice in
        // "persenjataan" and once in "senjata".
        let d = doc("senjata tahun persenjataan Jakarta senjata");
        let words = |needle: &str| {
            let mut ids = Vec::new();
            d.words_containing(needle, &mut ids);
            ids.iter().map(|&id| d.folded(id).to_owned()).collect::<Vec<_>>()
        };
        assert_eq!(words("ata"), ["senjata", "persenjataan"]);
        assert_eq!(words("atat"), Vec::<String>::new(), "senjata|tahun is two words");
        assert_eq!(words("kar"), ["jakarta"]);
        // A straddling hit ("jalan|an…") overlaps the real one inside the next word.
        let d = doc("Jalan analisis banana");
        let mut ids = Vec::new();
        d.words_containing("ana", &mut ids);
        assert_eq!(ids.iter().map(|&id| d.folded(id)).collect::<Vec<_>>(), ["analisis", "banana"]);
        assert!(words("").is_empty() && words("zzz").is_empty());
    }

    /// Checks everything `Texts::new` files against the same computed the obvious way: every
    /// field value split by `text::words`, distinct words numbered by first occurrence.
    fn check_against_reference(fields: &DocFields<'_>) {
        let d = Texts::new(fields);
        let mut values =
            vec![(Scope::TITLE, fields.title), (Scope::SUMMARY, fields.summary), (Scope::CONTENT, fields.content)];
        values.push((Scope::ARTICLE, fields.article));
        values.extend(fields.authors.iter().map(|a| (Scope::AUTHOR, a.as_str())));
        values.extend(fields.categories.iter().map(|c| (Scope::CATEGORY, c.as_str())));
        values.extend([(Scope::LINK, fields.link), (Scope::FEED, fields.feed)]);
        values.retain(|(_, v)| !v.trim().is_empty());
        assert_eq!(d.fields().len(), values.len());
        let mut folded: Vec<String> = Vec::new();
        let mut occ: Vec<Vec<Occ>> = Vec::new();
        let mut scopes: Vec<u8> = Vec::new();
        for (f, (scope, value)) in values.iter().enumerate() {
            let words = text::words(value, scope.split());
            assert_eq!(d.fields()[f].scope, *scope);
            assert_eq!(d.fields()[f].nfkc, text::nfkc(value));
            assert_eq!(d.fields()[f].len(), words.len(), "{value:?}");
            for (p, w) in words.iter().enumerate() {
                assert_eq!(d.exact_at(f, p), &*w.exact);
                assert_eq!(d.folded_at(f, p), &*w.folded);
                let id = folded.iter().position(|x| **x == *w.folded).unwrap_or_else(|| {
                    folded.push(w.folded.to_string());
                    occ.push(Vec::new());
                    scopes.push(0);
                    folded.len() - 1
                });
                occ[id].push(Occ { field: f as u32, pos: p as u32 });
                scopes[id] |= scope.bits();
            }
        }
        assert_eq!(d.distinct_len(), folded.len());
        let keys: Vec<u64> = d.distinct_keys().collect();
        let mut prefix_keys = Vec::new();
        let mut clitic_words = Vec::new();
        for (id, w) in folded.iter().enumerate() {
            let id = id as u32;
            assert_eq!(d.folded(id), w);
            assert_eq!(d.folded_bytes_and_scopes(id), (w.as_bytes(), scopes[id as usize]));
            assert_eq!(d.occurrences(id), occ[id as usize]);
            assert_eq!(keys[id as usize], hash_str(SEED_WORD, w));
            let mut with_key = Vec::new();
            d.any_with_key(keys[id as usize], false, |i| {
                with_key.push(i);
                false
            });
            assert_eq!(with_key, [id]);
            if let Some(cut) = char_cut(w, 3) {
                let key = hash_str(SEED_PREFIX, &w[..cut]);
                assert!(d.with_prefix(key).contains(&id));
                if !prefix_keys.contains(&key) {
                    prefix_keys.push(key);
                }
            }
            if let Some(base) = CLITICS.iter().find_map(|c| w.strip_suffix(c)).filter(|b| !b.is_empty()) {
                clitic_words.push((hash_str(SEED_WORD, base), id));
            }
        }
        assert_eq!(d.prefix_keys(), prefix_keys);
        assert_eq!(d.clitic_words(), clitic_words);
    }

    #[test]
    fn documents_agree_with_reference() {
        let authors = ["Tim Kompas".to_owned(), "  ".to_owned(), "Ｍａｒｉａ Łódź".to_owned()];
        let categories = ["Politik".to_owned()];
        check_against_reference(&DocFields {
            title: "Senjata nuklir: Korea Utara uji rudal",
            summary: "KOREA utara, senjatanya; 3.14 persen. Straße STRASSE café CAFE\u{301}",
            content: "Rusialah Senjata2 senjata-senjata can't e.g. x_y __ 1,000,000 朝鲜 Pyŏngyang\n\tkorea",
            authors: &authors,
            categories: &categories,
            link: "https://www.kompas.com/berita/2024-senjata_nuklir?id=12",
            feed: "Kompas",
            article: "",
        });
    }

    use proptest::prelude::*;

    /// Field values of words, ASCII and not, that repeat within and across fields.
    fn value() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            4 => proptest::sample::select(vec![
                "senjata", "Senjata", "SENJATANYA", "rusialah", "persenjataan", "a", "x_y", "_", "2", "3.14", "can't",
                "ab:cd", "abcdefghijklmnopq", "ABCDEFGHIJKLMNOPQ",
            ]),
            1 => proptest::sample::select(vec!["Straße", "ＡＢＣ", "朝鲜", "e\u{301}", "naïve", "ΣΑΣ", "\u{200D}"]),
        ];
        let glue = proptest::sample::select(vec![" ", " ", ", ", ". ", "\n", "-", "", "/", " \u{301}"]);
        proptest::collection::vec((word, glue), 0..12)
            .prop_map(|parts| parts.into_iter().flat_map(|(w, g)| [w, g]).collect())
    }

    proptest! {
        #[test]
        fn any_document_agrees_with_reference(
            title in value(),
            content in value(),
            authors in proptest::collection::vec(value(), 0..3),
            link in value(),
        ) {
            check_against_reference(&DocFields {
                title: &title,
                summary: "",
                content: &content,
                authors: &authors,
                categories: &[],
                link: &link,
                feed: "Kompas",
                article: "",
            });
        }
    }

    #[test]
    fn char_cut_counts_characters() {
        assert_eq!(char_cut("senjata", 3), Some(3));
        assert_eq!(char_cut("éab", 3), Some(4));
        assert_eq!(char_cut("éa", 3), None);
        assert_eq!(char_cut("ab", 3), None);
        assert_eq!(char_cut("abc", 3), Some(3));
    }
}
