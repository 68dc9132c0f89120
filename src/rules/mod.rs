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
//!
//! Module layout, each depending only on the ones listed before it (no two import each
//! other): `hash` (word keys), `text` (normalisation), `stem`, `ast` (the syntax tree, limits,
//! options, diagnostics and an item's fields), `lexer`, `parser`, `doc` (tokenised
//! documents), `eval` (a tree against a document), `prog` (a rule set's flat program),
//! `terms`, `rule` ([`Rule`]), `set` ([`RuleSet`]) and `display` (canonical printing). This
//! file defines no types: it re-exports, and offers three helpers to other stages.

mod ast;
mod display;
mod doc;
mod eval;
mod hash;
mod lexer;
mod parser;
mod prog;
mod rule;
mod set;
mod stem;
mod terms;
#[cfg(test)]
mod tests;
mod text;

pub use ast::{DocFields, RuleError, RuleOptions, RuleWarning};
pub use doc::Document;
pub use rule::{Match, Rule};
pub use set::RuleSet;
pub use terms::{Terms, TermsIter};

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
