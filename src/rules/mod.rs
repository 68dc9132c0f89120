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
//! * `field:unit` with fields `title`, `summary`, `content`, `text` (the default: title,
//!   summary and content), `author`, `category`, `link`, `feed`
//! * units: `(…)`, `"phrase"`, `=exact` or `="Exact Phrase"`, `~stemmed`, `wild*card`,
//!   `/regex/` or `/regex/i`
//!
//! Operators are recognised in upper case only. Words are compared after NFKC, case folding
//! and accent folding, and must match whole words. With `lang: Some("id")` plain terms also
//! accept Indonesian clitics (`senjatanya`) and `2` reduplication (`senjata2`), and `~` uses
//! an Indonesian stemmer.

mod display;
mod doc;
mod eval;
mod hash;
mod lexer;
mod parser;
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
    pub terms: Vec<String>,
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
}

impl Document {
    /// A document of free text only (as the content field), for tools and tests.
    pub fn from_text(text: &str) -> Document {
        Document::new(&DocFields {
            title: "",
            summary: "",
            content: text,
            authors: &[],
            categories: &[],
            link: "",
            feed: "",
        })
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
        Some(Match { terms })
    }

    /// Warnings found while parsing, such as AND and OR mixed without parentheses.
    pub fn warnings(&self) -> &[RuleWarning] {
        &self.warnings
    }
}

/// Fold text the way the engine does (NFKC + case + accent fold), exposed for other stages.
pub fn fold(text: &str) -> String {
    text::fold(text)
}
