//! Watch-rule engine: parses boolean watch rules such as `"Korea Utara" AND senjata` and matches them against news items.
//!
//! A rule is parsed and compiled once with [`Rule::parse`]; each feed item is normalised and
//! tokenised once into a [`Document`]; [`Rule::matches`] then compares the two without
//! touching the document text again, so one document can be checked against many rules.
//!
//! Rule syntax, loosest binding first:
//!
//! * `a OR b`
//! * `a AND b`, or just `a b`
//! * `NOT a`, `-a`
//! * `a NEAR/n b` (at most n words between, either order), `a ONEAR/n b` (a first)
//! * `field:unit` with fields `title`, `summary`, `content`, `article` (the text fetched from
//!   the item's page), `text` (the default: title, summary, content and article), `author`,
//!   `category`, `link`, `feed`
//! * units: `(…)`, `"phrase"`, `=exact` or `="Exact Phrase"`, `~stemmed`, `wild*card`,
//!   `/regex/` or `/regex/i`
//!
//! Operators are recognised in upper case only. Words are compared after NFKC, case folding
//! and accent folding, and must match whole words. With `lang: Some("id")` plain terms also
//! accept Indonesian clitics (`senjatanya`) and `2` reduplication (`senjata2`), and `~` uses
//! an Indonesian stemmer.

use std::sync::Arc;

mod display;
mod doc;
mod eval;
mod hash;
mod lexer;
mod parser;
mod prog;
mod set;
mod stem;
#[cfg(test)]
mod tests;
mod text;

pub use set::RuleSet;

/// Options that change how a rule is compiled.
#[derive(Clone, Debug, Default)]
pub struct RuleOptions {
    /// Language of the watched text as a BCP 47 tag such as `id`; selects Indonesian
    /// clitic handling and stemming.
    pub lang: Option<String>,
}

/// A parsed, compiled and immutable watch rule.
#[derive(Debug)]
pub struct Rule {
    expr: eval::Expr,
    warnings: Vec<RuleWarning>,
}

/// The result of a successful match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The distinct positive query literals that hit, in query order and folded form, with
    /// phrases written with single spaces; literals under NOT are never listed.
    pub terms: Terms,
}

/// The matched terms of a [`Match`], a list of strings.
///
/// A [`RuleSet`] reports most matches without allocating: the list then holds a few ids
/// into the set's shared label table, and the strings are only copied when asked for with
/// [`Terms::to_vec`]. Compares equal to any list with the same strings.
#[derive(Clone)]
pub struct Terms(TermsRepr);

/// Labels a [`Terms`] holds inline before it falls back to owned strings.
const INLINE_TERMS: usize = 6;

#[derive(Clone)]
enum TermsRepr {
    Shared { labels: Arc<prog::Labels>, len: u8, ids: [u32; INLINE_TERMS] },
    Owned(Vec<String>),
}

impl Terms {
    /// Terms that are labels of a rule set, by id.
    fn shared(labels: &Arc<prog::Labels>, ids: &[u32]) -> Terms {
        if ids.len() > INLINE_TERMS {
            return Terms(TermsRepr::Owned(ids.iter().map(|&id| labels.get(id).to_owned()).collect()));
        }
        let mut inline = [0; INLINE_TERMS];
        inline[..ids.len()].copy_from_slice(ids);
        Terms(TermsRepr::Shared { labels: Arc::clone(labels), len: ids.len() as u8, ids: inline })
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        match &self.0 {
            TermsRepr::Shared { len, .. } => usize::from(*len),
            TermsRepr::Owned(v) => v.len(),
        }
    }

    /// Whether there are no terms (a rule can match through NOT alone).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The term at an index.
    pub fn get(&self, i: usize) -> Option<&str> {
        match &self.0 {
            TermsRepr::Shared { labels, len, ids } => (i < usize::from(*len)).then(|| labels.get(ids[i])),
            TermsRepr::Owned(v) => v.get(i).map(String::as_str),
        }
    }

    /// The terms in order.
    pub fn iter(&self) -> TermsIter<'_> {
        TermsIter { terms: self, next: 0 }
    }

    /// The terms as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// The terms joined with a separator, like [`slice::join`].
    pub fn join(&self, sep: &str) -> String {
        let mut out = String::new();
        for (i, t) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(t);
        }
        out
    }
}

impl From<Vec<String>> for Terms {
    fn from(terms: Vec<String>) -> Terms {
        Terms(TermsRepr::Owned(terms))
    }
}

impl From<Terms> for Vec<String> {
    fn from(terms: Terms) -> Vec<String> {
        match terms.0 {
            TermsRepr::Owned(v) => v,
            TermsRepr::Shared { .. } => terms.to_vec(),
        }
    }
}

impl std::fmt::Debug for Terms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Terms {
    fn eq(&self, other: &Terms) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Terms {}

impl<S: AsRef<str>> PartialEq<[S]> for Terms {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Terms {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Terms {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl<'a> IntoIterator for &'a Terms {
    type Item = &'a str;
    type IntoIter = TermsIter<'a>;

    fn into_iter(self) -> TermsIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Terms`].
#[derive(Clone, Debug)]
pub struct TermsIter<'a> {
    terms: &'a Terms,
    next: usize,
}

impl<'a> Iterator for TermsIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let t = self.terms.get(self.next)?;
        self.next += 1;
        Some(t)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.terms.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for TermsIter<'_> {}

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

/// A news item prepared for matching: every field normalised and split into words once.
#[derive(Debug)]
pub struct Document {
    texts: eval::Texts,
}

/// The plain-text fields of a news item, as given to [`Document::new`].
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

impl Document {
    /// A document of free text only (as the content field), for tools and tests.
    pub fn from_text(text: &str) -> Document {
        Document::new(&DocFields::text_only(text))
    }

    /// Normalises and tokenises the fields of an item.
    pub fn new(fields: &DocFields<'_>) -> Document {
        Document { texts: eval::Texts::new(fields) }
    }
}

impl Rule {
    /// Parses and compiles a rule, returning the first error with its byte offset.
    pub fn parse(query: &str, opts: &RuleOptions) -> Result<Rule, RuleError> {
        let parsed = parser::parse(query, opts)?;
        Ok(Rule { expr: parsed.expr, warnings: parsed.warnings })
    }

    /// None when the rule does not match; Some with the hits when it does.
    pub fn matches(&self, doc: &Document) -> Option<Match> {
        if !self.expr.eval(&doc.texts) {
            return None;
        }
        let mut terms = Vec::new();
        self.expr.collect_terms(&doc.texts, &mut terms);
        Some(Match { terms: Terms::from(terms.into_iter().map(str::to_owned).collect::<Vec<_>>()) })
    }

    /// Where the rule's words hit: for each positive query literal found in `doc` (folded, as
    /// in [`Match::terms`]), the fields it occurs in (`title`, `summary`, `content`, `article`,
    /// …). Meant for a document the rule matched; costs a scan per literal, so call it per alert.
    pub fn hit_fields(&self, doc: &Document) -> Vec<(String, Vec<&'static str>)> {
        let mut out = Vec::new();
        self.expr.collect_fields(&doc.texts, &mut out);
        out.into_iter().map(|(label, fields)| (label.to_string(), fields)).collect()
    }

    /// Where the rule's words and phrases occur in `text` taken as the field `field` (`title`,
    /// `summary`, `content`, `article`, …; anything else is content): the text as the engine
    /// reads it (NFKC, invisible characters removed) and the byte ranges in it of every
    /// occurrence of a positive word or phrase, as the engine matches them (stems, clitics,
    /// wildcards and exact forms included). For showing why a rule matched.
    pub fn highlight(&self, field: &str, text: &str) -> (String, Vec<(usize, usize)>) {
        let mut fields = DocFields::text_only("");
        match field {
            "title" => fields.title = text,
            "summary" => fields.summary = text,
            "article" => fields.article = text,
            "link" => fields.link = text,
            "feed" => fields.feed = text,
            _ => fields.content = text,
        }
        let texts = eval::Texts::new(&fields);
        let Some(value) = texts.fields().first() else { return (String::new(), Vec::new()) };
        let mut spans = Vec::new();
        self.expr.collect_spans(&texts, &mut spans);
        let mut ranges: Vec<(usize, usize)> = spans.iter().map(|&(_, (a, b))| value.byte_range(a, b)).collect();
        ranges.sort_unstable();
        ranges.dedup();
        (value.nfkc.clone(), ranges)
    }

    /// Warnings found while parsing, such as AND and OR mixed without parentheses.
    pub fn warnings(&self) -> &[RuleWarning] {
        &self.warnings
    }
}

/// Whether `lang` is a language the engine has rules for: Indonesian (`id`, `in`, `ind`, with
/// any region: `id-ID`) or English (`en`, `eng`, with any region).
pub fn known_lang(lang: &str) -> bool {
    let primary = lang.split(['-', '_']).next().unwrap_or("").trim().to_ascii_lowercase();
    matches!(primary.as_str(), "id" | "in" | "ind" | "en" | "eng")
}

/// Fold text the way the engine does (NFKC + case + accent fold), exposed for other stages.
pub fn fold(text: &str) -> String {
    text::fold(text)
}

/// Calls `emit` with every word of `text` as the engine splits and folds it (UAX #29 words,
/// NFKC, case and accent folding), exposed for other stages.
pub fn for_each_folded_word(text: &str, emit: impl FnMut(&str)) {
    text::for_each_folded_word(text, emit)
}
