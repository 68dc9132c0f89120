//! The syntax tree of a compiled rule and the vocabulary every stage of the engine shares:
//! field scopes, word patterns, leaves, the tree itself, the limits that bound it, the
//! options, errors and warnings of compiling a rule, and the fields of an item to match.
//!
//! Nothing here reads a document: the lexer and parser build these types, `eval` and `prog`
//! run them against a document, `set` indexes them, `display` prints them.

use std::sync::{Arc, OnceLock};

use regex::Regex;

use super::hash::{hash_str, SEED_PREFIX, SEED_STEM, SEED_WORD};
use super::stem::Stemmer;
use super::text::{self, Split};

/// Nesting limit for parentheses, NOT/-, field prefixes and NEAR chains together.
pub(crate) const MAX_DEPTH: usize = 64;

/// Compiled-size cap for one regex, so that a rule cannot make the daemon allocate without bound.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Options that change how a rule is compiled.
#[derive(Clone, Debug, Default)]
pub struct RuleOptions {
    /// Language of the watched text as a BCP 47 tag such as `id`; selects Indonesian
    /// clitic handling and stemming.
    pub lang: Option<String>,
}

/// Why a rule could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    /// Byte offset into the query of the offending character, or its length for an unexpected end.
    pub offset: usize,
    /// Lower-case description of what was expected and what was found.
    pub message: String,
}

/// Something legal but probably unintended in a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleWarning {
    /// Byte offset into the query of the construct the warning is about.
    pub offset: usize,
    /// Lower-case explanation.
    pub message: String,
}

/// The plain-text fields of a news item, as given to [`Document::new`](super::Document::new).
#[derive(Clone, Copy, Debug)]
pub struct DocFields<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    pub content: &'a str,
    pub authors: &'a [String],
    pub categories: &'a [String],
    pub link: &'a str,
    pub feed: &'a str,
    /// The article text fetched from the item's page (`fetch_article`); empty when none.
    pub article: &'a str,
}

impl<'a> DocFields<'a> {
    /// Free text only, as the content field; every other field empty.
    pub fn text_only(text: &'a str) -> DocFields<'a> {
        DocFields {
            title: "",
            summary: "",
            content: text,
            authors: &[],
            categories: &[],
            link: "",
            feed: "",
            article: "",
        }
    }
}

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
pub(crate) struct Quick {
    pub(crate) key: u64,
    pub(crate) clitics: bool,
    len: u8,
    word: [u8; QUICK_LEN],
}

impl Quick {
    pub(crate) fn word(&self) -> &[u8] {
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
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
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

    /// The index of the pattern looked up in the document's word index, if any (see `anchor`).
    pub(crate) fn anchor(&self) -> Option<usize> {
        self.anchor
    }

    /// The single short folded word the leaf is, held inline, if it is one.
    pub(crate) fn quick(&self) -> Option<&Quick> {
        self.quick.as_ref()
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
}
