//! Recursive-descent parser: turns lexer tokens into the compiled rule tree, normalising
//! literals and compiling regexes on the way, and collecting warnings.
//!
//! Every error carries the byte offset of the token that caused it, and recursion is bounded
//! by `MAX_DEPTH` so that no input can overflow the stack while parsing or evaluating.

use super::ast::{Expr, Glob, LazyRegex, Leaf, LeafKind, Pat, RuleError, RuleOptions, RuleWarning, Scope, MAX_DEPTH};
use super::lexer::{near_label, tokenize, FieldName, Kind, Mode, Token};
use super::stem::{is_indonesian, Stemmer};
use super::text::{self, fold};

/// Least number of literal characters in a wildcard term; shorter patterns match too much.
const MIN_WILDCARD_LITERALS: usize = 3;

pub(crate) struct Parsed {
    pub expr: Expr,
    pub warnings: Vec<RuleWarning>,
}

/// Parses and compiles a rule.
pub(crate) fn parse(src: &str, opts: &RuleOptions) -> Result<Parsed, RuleError> {
    let lang = opts.lang.as_deref();
    let mut parser = Parser {
        tokens: tokenize(src),
        pos: 0,
        depth: 0,
        clitics: is_indonesian(lang),
        stemmer: Stemmer::for_lang(lang),
        lang_set: lang.is_some_and(|l| !l.trim().is_empty()),
        warnings: Vec::new(),
    };
    let expr = parser.parse_or(Scope::TEXT, "")?;
    let token = parser.peek()?;
    if negative_only(&expr) {
        parser.warnings.push(RuleWarning {
            offset: 0,
            message: "this rule has no word that must occur, so it matches every item without the excluded ones; \
                      add a word it needs (e.g. senjata AND NOT olahraga)"
                .into(),
        });
    }
    match token.kind {
        Kind::End => Ok(Parsed { expr, warnings: parser.warnings }),
        Kind::RParen => {
            Err(err(token.start, "expected a term, operator or end of rule, found ')' without a matching '('".into()))
        }
        _ => Err(err(token.start, format!("expected AND, OR or end of rule, found {}", token.describe()))),
    }
}

fn err(offset: usize, message: String) -> RuleError {
    RuleError { offset, message }
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
    depth: usize,
    /// Whether plain terms accept Indonesian clitics and `2` reduplication.
    clitics: bool,
    stemmer: Stemmer,
    /// Whether the rule names a language (else `~` stems the English way).
    lang_set: bool,
    warnings: Vec<RuleWarning>,
}

/// Whether a rule can only match through NOT: no positive word is needed anywhere.
fn negative_only(expr: &Expr) -> bool {
    match expr {
        Expr::Not(_) => true,
        Expr::And(children) => children.iter().all(negative_only),
        Expr::Or(children) => children.iter().any(negative_only),
        Expr::Leaf(_) | Expr::Near { .. } => false,
    }
}

/// The operator a word looks like a mistyped form of (`NEAR5`, `ONEAR`, `near/5`, `Near/3`),
/// with the form that works.
fn mistyped_operator(raw: &str) -> Option<String> {
    let upper = raw.to_ascii_uppercase();
    let (name, rest) = if let Some(r) = upper.strip_prefix("ONEAR") {
        ("ONEAR", r)
    } else if let Some(r) = upper.strip_prefix("NEAR") {
        ("NEAR", r)
    } else {
        return None;
    };
    let digits = rest.strip_prefix('/').unwrap_or(rest);
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // `NEAR/5` in upper case is the operator itself; `near` alone is a word (and a bare
    // upper-case `NEAR` is already an error of the lexer).
    let exact_operator = raw.starts_with(name) && rest.starts_with('/') && !digits.is_empty();
    if exact_operator || rest.is_empty() {
        return None;
    }
    let n = if digits.is_empty() { "n" } else { digits };
    Some(format!("{name}/{n}"))
}

impl<'a> Parser<'a> {
    /// Returns the next token, or the lexer's error once parsing reaches it.
    fn peek(&self) -> Result<Token<'a>, RuleError> {
        // The lexer always ends with End or Error, and `advance` never moves past it.
        let token = self.tokens[self.pos.min(self.tokens.len().saturating_sub(1))].clone();
        match token.kind {
            Kind::Error(e) => Err(e),
            _ => Ok(token),
        }
    }

    fn advance(&mut self) {
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
    }

    /// Enters one nesting level, failing past the limit.
    fn enter(&mut self, offset: usize) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(err(
                offset,
                format!(
                    "expected at most {} nested levels of parentheses, NOT, fields or NEAR, found more",
                    MAX_DEPTH - 1
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// or_expr = and_expr { "OR" and_expr }
    fn parse_or(&mut self, scope: Scope, after: &str) -> Result<Expr, RuleError> {
        let (first, first_len) = self.parse_and(scope, after)?;
        let mut groups = vec![first];
        let mut mixed = first_len > 1;
        let mut first_or = None;
        while let Kind::Or = self.peek()?.kind {
            let at = self.peek()?.start;
            first_or.get_or_insert(at);
            self.advance();
            let (group, len) = self.parse_and(scope, " after OR")?;
            mixed |= len > 1;
            groups.push(group);
        }
        if let (true, Some(at)) = (mixed, first_or) {
            self.warnings.push(RuleWarning {
                offset: at,
                message: "AND and OR are mixed without parentheses; AND binds tighter, so add parentheses to make the grouping explicit".into(),
            });
        }
        Ok(if groups.len() == 1 { groups.remove(0) } else { Expr::Or(groups) })
    }

    /// and_expr = not_expr { [ "AND" ] not_expr }; also returns the number of operands.
    fn parse_and(&mut self, scope: Scope, after: &str) -> Result<(Expr, usize), RuleError> {
        let mut items = vec![self.parse_not(scope, after)?];
        loop {
            let token = self.peek()?;
            match token.kind {
                Kind::And => {
                    self.advance();
                    items.push(self.parse_not(scope, " after AND")?);
                }
                Kind::LParen
                | Kind::Not
                | Kind::Minus
                | Kind::Field(..)
                | Kind::Term { .. }
                | Kind::Phrase { .. }
                | Kind::Regex { .. } => items.push(self.parse_not(scope, "")?),
                _ => break,
            }
        }
        let len = items.len();
        Ok((if len == 1 { items.remove(0) } else { Expr::And(items) }, len))
    }

    /// not_expr = ( "NOT" | "-" ) not_expr | near_expr
    fn parse_not(&mut self, scope: Scope, after: &str) -> Result<Expr, RuleError> {
        let token = self.peek()?;
        let context = match token.kind {
            Kind::Not => " after NOT",
            Kind::Minus => " after '-'",
            _ => return self.parse_near(scope, after),
        };
        self.enter(token.start)?;
        self.advance();
        let inner = self.parse_not(scope, context)?;
        self.leave();
        Ok(Expr::Not(Box::new(inner)))
    }

    /// near_expr = unit { ( "NEAR/" uint | "ONEAR/" uint ) unit }
    fn parse_near(&mut self, scope: Scope, after: &str) -> Result<Expr, RuleError> {
        let left_at = self.peek()?.start;
        let mut left = self.parse_unit(scope, after)?;
        let entered = self.depth;
        while let Kind::Near { distance, ordered } = self.peek()?.kind {
            let op = self.peek()?;
            let label = near_label(distance, ordered);
            check_near_operand(&left, left_at, &label)?;
            self.enter(op.start)?;
            self.advance();
            let right_at = self.peek()?.start;
            let right = self.parse_unit(scope, &format!(" after {label}"))?;
            check_near_operand(&right, right_at, &label)?;
            left = Expr::Near { left: Box::new(left), right: Box::new(right), distance, ordered };
        }
        self.depth = entered;
        Ok(left)
    }

    /// unit = [ field ":" ] primary
    fn parse_unit(&mut self, scope: Scope, after: &str) -> Result<Expr, RuleError> {
        let token = self.peek()?;
        let Kind::Field(field, name) = token.kind else {
            return self.parse_primary(scope, after);
        };
        self.enter(token.start)?;
        self.advance();
        let inner = self.parse_primary(field_scope(field), &format!(" after '{name}:'"))?;
        self.leave();
        Ok(inner)
    }

    /// primary = "(" or_expr ")" | phrase | regex | term
    fn parse_primary(&mut self, scope: Scope, after: &str) -> Result<Expr, RuleError> {
        let token = self.peek()?;
        match token.kind {
            Kind::LParen => {
                self.enter(token.start)?;
                self.advance();
                let inner = self.parse_or(scope, " after '('")?;
                let close = self.peek()?;
                if close.kind != Kind::RParen {
                    return Err(err(
                        close.start,
                        format!("expected ')' to close the '(' at offset {}, found {}", token.start, close.describe()),
                    ));
                }
                self.advance();
                self.leave();
                Ok(inner)
            }
            Kind::Term { mode, text } => {
                self.advance();
                self.term(text, mode, scope, token.start)
            }
            Kind::Phrase { mode, text } => {
                self.advance();
                self.phrase(text, mode, scope, token.start)
            }
            Kind::Regex { pattern, case_insensitive } => {
                self.advance();
                regex_leaf(pattern, case_insensitive, scope, token.start)
            }
            _ => Err(err(token.start, format!("expected a term, phrase or '('{after}, found {}", token.describe()))),
        }
    }

    /// Builds the leaf for a bare term, which may contain wildcards or several words.
    fn term(&mut self, raw: &str, mode: Mode, scope: Scope, at: usize) -> Result<Expr, RuleError> {
        if raw.contains(['*', '?']) {
            return glob_leaf(raw, mode, scope, at);
        }
        if mode == Mode::Plain {
            if let Some(op) = mistyped_operator(raw) {
                self.warnings.push(RuleWarning {
                    offset: at,
                    message: format!(
                        "'{raw}' is searched as an ordinary word; write {op} (upper case, a slash, the number of words) for the proximity operator"
                    ),
                });
            }
        }
        if mode == Mode::Stem && !self.lang_set {
            self.warnings.push(RuleWarning {
                offset: at,
                message: format!(
                    "'~{raw}' stems the English way because the rule sets no lang; add lang = \"id\" for Indonesian stems"
                ),
            });
        }
        if mode == Mode::Plain
            && matches!(raw.to_lowercase().as_str(), "and" | "or" | "not")
            && raw != raw.to_uppercase()
        {
            self.warnings.push(RuleWarning {
                offset: at,
                message: format!(
                    "'{raw}' is searched as an ordinary word; write {} in upper case to use the operator",
                    raw.to_uppercase()
                ),
            });
        }
        let words = text::words(raw, scope.split());
        if words.is_empty() {
            return Err(err(at, format!("expected a word with letters or digits, found '{raw}'")));
        }
        Ok(self.seq_leaf(words, mode, scope))
    }

    /// Builds the leaf for a quoted phrase.
    fn phrase(&mut self, raw: &str, mode: Mode, scope: Scope, at: usize) -> Result<Expr, RuleError> {
        if raw.trim().is_empty() {
            return Err(err(at, "expected words inside the quotes, found an empty phrase".into()));
        }
        if let Some(i) = raw.find(['*', '?']) {
            let words: Vec<&str> = raw.split_whitespace().collect();
            let hint = if words.len() > 1 { words.join(" ONEAR/0 ") } else { words.join("") };
            let quote = if mode == Mode::Plain { 1 } else { 2 };
            return Err(err(
                at + quote + i,
                format!(
                    "a wildcard works inside one word, not inside a phrase (\"{raw}\" would look for a literal '{}'); write {hint}",
                    &raw[i..i + 1]
                ),
            ));
        }
        if mode == Mode::Stem && !self.lang_set {
            self.warnings.push(RuleWarning {
                offset: at,
                message: format!(
                    "'~\"{raw}\"' stems the English way because the rule sets no lang; add lang = \"id\" for Indonesian stems"
                ),
            });
        }
        let words = text::words(raw, scope.split());
        if words.is_empty() {
            return Err(err(at, format!("expected words with letters or digits inside the quotes, found \"{raw}\"")));
        }
        Ok(self.seq_leaf(words, mode, scope))
    }

    fn seq_leaf(&self, words: Vec<text::Word>, mode: Mode, scope: Scope) -> Expr {
        let label = words.iter().map(|w| &*w.folded).collect::<Vec<_>>().join(" ");
        let pats = words
            .into_iter()
            .map(|w| match mode {
                Mode::Plain => Pat::folded(w.folded.into_string(), self.clitics),
                Mode::Exact => Pat::exact(w.exact.into_string()),
                Mode::Stem => Pat::stem(self.stemmer.candidates(&w.folded), self.stemmer),
            })
            .collect();
        Expr::Leaf(Leaf::new(scope, LeafKind::Seq(pats), label))
    }
}

pub(crate) fn field_scope(field: FieldName) -> Scope {
    match field {
        FieldName::Title => Scope::TITLE,
        FieldName::Summary => Scope::SUMMARY,
        FieldName::Content => Scope::CONTENT,
        FieldName::Text => Scope::TEXT,
        FieldName::Author => Scope::AUTHOR,
        FieldName::Category => Scope::CATEGORY,
        FieldName::Link => Scope::LINK,
        FieldName::Feed => Scope::FEED,
        FieldName::Article => Scope::ARTICLE,
    }
}

/// Checks that a NEAR operand is made of positions: terms, phrases, OR-groups and NEARs.
fn check_near_operand(expr: &Expr, at: usize, label: &str) -> Result<(), RuleError> {
    let found = match expr {
        Expr::Leaf(Leaf { kind: LeafKind::Seq(_), .. }) | Expr::Near { .. } => return Ok(()),
        Expr::Or(children) => {
            for child in children {
                check_near_operand(child, at, label)?;
            }
            return Ok(());
        }
        Expr::Leaf(Leaf { kind: LeafKind::Regex(_), .. }) => "a regex",
        Expr::And(_) => "an AND group",
        Expr::Not(_) => "a NOT",
    };
    Err(err(at, format!("expected terms, phrases or OR-groups of them on both sides of {label}, found {found}")))
}

/// Builds a one-word wildcard leaf.
fn glob_leaf(raw: &str, mode: Mode, scope: Scope, at: usize) -> Result<Expr, RuleError> {
    if mode == Mode::Stem {
        return Err(err(at, format!("expected a word without '*' or '?' after '~', found '~{raw}'")));
    }
    let normalised = if mode == Mode::Exact { text::nfkc(raw) } else { fold(raw) };
    let literals = normalised.chars().filter(|c| !matches!(c, '*' | '?')).count();
    if literals < MIN_WILDCARD_LITERALS {
        return Err(err(
            at,
            format!("expected at least {MIN_WILDCARD_LITERALS} characters besides '*' and '?' in a wildcard term, found '{raw}'"),
        ));
    }
    // Wildcards only apply within one word, so the pattern with its wildcards filled in must
    // still be exactly one word of the field's tokenisation.
    let filled: String = normalised.chars().map(|c| if matches!(c, '*' | '?') { 'x' } else { c }).collect();
    let mut pieces = Vec::new();
    text::for_each_word(&filled, scope.split(), |w| pieces.push(w.len()));
    if pieces.len() != 1 || pieces[0] != filled.len() {
        return Err(err(at, format!("expected a single word around '*' and '?', found '{raw}'")));
    }
    Ok(Expr::Leaf(Leaf::new(
        scope,
        LeafKind::Seq(vec![Pat::Glob { glob: Glob::new(&normalised), exact: mode == Mode::Exact }]),
        fold(raw),
    )))
}

/// Compiles a `/regex/` leaf, reporting syntax errors at the opening slash.
fn regex_leaf(pattern: &str, case_insensitive: bool, scope: Scope, at: usize) -> Result<Expr, RuleError> {
    if pattern.is_empty() {
        return Err(err(at, "expected a pattern between the slashes, found an empty regex".into()));
    }
    // `\/` only exists so that a slash can be written inside the delimiters.
    let source = text::nfkc(&pattern.replace("\\/", "/"));
    let regex = LazyRegex::new(&source, case_insensitive)
        .map_err(|e| err(at, format!("expected a valid regex, found {}", regex_problem(&e))))?;
    let flag = if case_insensitive { "i" } else { "" };
    Ok(Expr::Leaf(Leaf::new(scope, LeafKind::Regex(regex), format!("/{pattern}/{flag}"))))
}

/// Extracts the one-line reason from a regex error, whose display spans several lines.
fn regex_problem(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(text) => {
            text.lines().rev().find_map(|l| l.trim().strip_prefix("error: ")).unwrap_or("a syntax error").to_owned()
        }
        regex::Error::CompiledTooBig(limit) => {
            format!("a pattern larger than the {limit}-byte limit")
        }
        _ => "an unsupported pattern".to_owned(),
    }
}
