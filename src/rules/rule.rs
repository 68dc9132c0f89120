//! A single compiled rule: parsing a query into it, and matching it against a document.

use super::ast::{DocFields, Expr, RuleError, RuleOptions, RuleWarning};
use super::doc::{Document, Texts};
use super::parser;
use super::terms::Terms;

/// A parsed, compiled and immutable watch rule.
#[derive(Debug)]
pub struct Rule {
    pub(crate) expr: Expr,
    warnings: Vec<RuleWarning>,
}

/// The result of a successful match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The distinct positive query literals that hit, in query order and folded form, with
    /// phrases written with single spaces; literals under NOT are never listed.
    pub terms: Terms,
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
        let texts = Texts::new(&fields);
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
