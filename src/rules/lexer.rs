//! Lexer for watch rules: turns the query string into tokens that carry byte offsets.
//!
//! Lexing stops at the first malformed token and records the error as a final token, so
//! that the parser reports problems in the order they appear in the query.

use super::ast::RuleError;

/// Fields a unit can be restricted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldName {
    Title,
    Summary,
    Content,
    Text,
    Author,
    Category,
    Link,
    Feed,
    Article,
}

/// Field names in the order they are listed to the user.
pub(crate) const FIELD_NAMES: [(&str, FieldName); 9] = [
    ("title", FieldName::Title),
    ("summary", FieldName::Summary),
    ("content", FieldName::Content),
    ("article", FieldName::Article),
    ("text", FieldName::Text),
    ("author", FieldName::Author),
    ("category", FieldName::Category),
    ("link", FieldName::Link),
    ("feed", FieldName::Feed),
];

/// Marker written before a term or phrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Folded matching, the default.
    Plain,
    /// `=`: exact case and accents.
    Exact,
    /// `~`: stemmed matching.
    Stem,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind<'a> {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Minus,
    Near { distance: u32, ordered: bool },
    Field(FieldName, &'a str),
    Term { mode: Mode, text: &'a str },
    Phrase { mode: Mode, text: &'a str },
    Regex { pattern: &'a str, case_insensitive: bool },
    End,
    Error(RuleError),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub kind: Kind<'a>,
    /// Byte offset of the first character of the token.
    pub start: usize,
    /// Byte offset just past the token.
    pub end: usize,
}

impl Token<'_> {
    /// Describes the token for "found ..." in error messages.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            Kind::LParen => "'('".into(),
            Kind::RParen => "')'".into(),
            Kind::And => "AND".into(),
            Kind::Or => "OR".into(),
            Kind::Not => "NOT".into(),
            Kind::Minus => "'-'".into(),
            Kind::Near { distance, ordered } => near_label(*distance, *ordered),
            Kind::Field(_, name) => format!("'{name}:'"),
            Kind::Term { text, .. } => format!("term '{text}'"),
            Kind::Phrase { text, .. } => format!("phrase \"{text}\""),
            Kind::Regex { pattern, .. } => format!("regex /{pattern}/"),
            Kind::End | Kind::Error(_) => "end of rule".into(),
        }
    }
}

/// Spells a proximity operator the way the user wrote it.
pub(crate) fn near_label(distance: u32, ordered: bool) -> String {
    if ordered {
        format!("ONEAR/{distance}")
    } else {
        format!("NEAR/{distance}")
    }
}

/// Characters that end a bare word: whitespace, parentheses and quotes.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')') || is_open_quote(c)
}

fn is_open_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

fn is_close_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}')
}

/// Describes the character at `pos` (or the end of the query) for error messages.
fn found_at(src: &str, pos: usize) -> String {
    match src[pos..].chars().next() {
        None => "end of rule".into(),
        Some(c) if c.is_whitespace() => "a space".into(),
        Some(c) => format!("'{c}'"),
    }
}

fn error(offset: usize, message: String) -> RuleError {
    RuleError { offset, message }
}

/// Splits a query into tokens; the last token is always `End` or `Error`.
pub(crate) fn tokenize(src: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    loop {
        let rest = &src[pos..];
        let trimmed = rest.trim_start();
        pos += rest.len() - trimmed.len();
        if trimmed.is_empty() {
            tokens.push(Token { kind: Kind::End, start: pos, end: pos });
            return tokens;
        }
        match next_token(src, pos) {
            Ok(token) => {
                pos = token.end;
                tokens.push(token);
            }
            Err(e) => {
                tokens.push(Token { kind: Kind::Error(e), start: pos, end: src.len() });
                return tokens;
            }
        }
    }
}

/// Lexes one token starting at a non-space character.
fn next_token(src: &str, start: usize) -> Result<Token<'_>, RuleError> {
    let rest = &src[start..];
    let Some(first) = rest.chars().next() else {
        return Ok(Token { kind: Kind::End, start, end: start });
    };
    let one = |kind| Ok(Token { kind, start, end: start + first.len_utf8() });
    match first {
        '(' => one(Kind::LParen),
        ')' => one(Kind::RParen),
        '-' => one(Kind::Minus),
        '/' => lex_regex(src, start),
        c if is_open_quote(c) => lex_phrase(src, start, start, Mode::Plain),
        '=' | '~' => {
            let mode = if first == '=' { Mode::Exact } else { Mode::Stem };
            let after = start + 1;
            match src[after..].chars().next() {
                Some(c) if is_open_quote(c) => lex_phrase(src, start, after, mode),
                Some(c) if !ends_word(c) && c != '=' && c != '~' => {
                    let end = word_end(src, after);
                    Ok(Token { kind: Kind::Term { mode, text: &src[after..end] }, start, end })
                }
                _ => Err(error(
                    after,
                    format!("expected a word or phrase after '{first}', found {}", found_at(src, after)),
                )),
            }
        }
        _ => lex_word(src, start),
    }
}

/// Byte offset where a bare word starting at `start` ends.
fn word_end(src: &str, start: usize) -> usize {
    src[start..].find(ends_word).map_or(src.len(), |i| start + i)
}

/// Lexes a phrase whose opening quote is at `quote`; `start` includes any `=`/`~` marker.
fn lex_phrase(src: &str, start: usize, quote: usize, mode: Mode) -> Result<Token<'_>, RuleError> {
    let open_len = src[quote..].chars().next().map_or(1, char::len_utf8);
    let body_start = quote + open_len;
    let Some(rel) = src[body_start..].find(is_close_quote) else {
        return Err(error(quote, "expected a closing '\"' for the phrase that starts here, found end of rule".into()));
    };
    let body_end = body_start + rel;
    let close_len = src[body_end..].chars().next().map_or(1, char::len_utf8);
    Ok(Token { kind: Kind::Phrase { mode, text: &src[body_start..body_end] }, start, end: body_end + close_len })
}

/// Lexes `/pattern/` or `/pattern/i`; a backslash escapes the next character, including `/`.
fn lex_regex(src: &str, start: usize) -> Result<Token<'_>, RuleError> {
    let body_start = start + 1;
    let mut escaped = false;
    let mut close = None;
    for (i, c) in src[body_start..].char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '/' {
            close = Some(body_start + i);
            break;
        }
    }
    let Some(close) = close else {
        return Err(error(start, "expected a closing '/' for the regex that starts here, found end of rule".into()));
    };
    let pattern = &src[body_start..close];
    let mut end = close + 1;
    let mut case_insensitive = false;
    if src[end..].starts_with('i') {
        case_insensitive = true;
        end += 1;
    }
    match src[end..].chars().next() {
        Some(c) if !ends_word(c) => Err(error(
            end,
            format!("expected a space, ')' or end of rule after the regex, found {}", found_at(src, end)),
        )),
        _ => Ok(Token { kind: Kind::Regex { pattern, case_insensitive }, start, end }),
    }
}

/// Lexes a bare word: an operator, a field prefix or a term.
fn lex_word(src: &str, start: usize) -> Result<Token<'_>, RuleError> {
    let end = word_end(src, start);
    let word = &src[start..end];
    let kind = match word {
        "AND" => Kind::And,
        "OR" => Kind::Or,
        "NOT" => Kind::Not,
        "NEAR" | "ONEAR" => {
            return Err(error(
                end,
                format!("expected '/' and a number after {word}, e.g. {word}/5, found {}", found_at(src, end)),
            ));
        }
        _ => {
            if let Some(near) = lex_near(src, start, word)? {
                near
            } else if let Some(field) = lex_field(start, word)? {
                return Ok(field);
            } else {
                Kind::Term { mode: Mode::Plain, text: word }
            }
        }
    };
    Ok(Token { kind, start, end })
}

/// Recognises `NEAR/n` and `ONEAR/n`.
fn lex_near<'a>(src: &str, start: usize, word: &str) -> Result<Option<Kind<'a>>, RuleError> {
    let (ordered, digits) = if let Some(d) = word.strip_prefix("ONEAR/") {
        (true, d)
    } else if let Some(d) = word.strip_prefix("NEAR/") {
        (false, d)
    } else {
        return Ok(None);
    };
    let digits_at = start + (word.len() - digits.len());
    let name = if ordered { "ONEAR" } else { "NEAR" };
    if let Some((i, c)) = digits.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        let what = if i == 0 { "a number" } else { "only digits" };
        return Err(error(digits_at + i, format!("expected {what} after {name}/, found '{c}'")));
    }
    if digits.is_empty() {
        return Err(error(digits_at, format!("expected a number after {name}/, found {}", found_at(src, digits_at))));
    }
    let distance = digits
        .parse::<u32>()
        .map_err(|_| error(digits_at, format!("expected a number up to {} after {name}/, found {digits}", u32::MAX)))?;
    Ok(Some(Kind::Near { distance, ordered }))
}

/// Recognises `field:` at the start of a word; the token ends just after the colon so that the
/// rest of the word is lexed as the unit the field applies to.
fn lex_field(start: usize, word: &str) -> Result<Option<Token<'_>>, RuleError> {
    let Some(colon) = word.find(':') else {
        return Ok(None);
    };
    let name = &word[..colon];
    // Only an alphabetic prefix is a field; `10:30` or `:x` stay ordinary words.
    if name.is_empty() || !name.chars().all(char::is_alphabetic) {
        return Ok(None);
    }
    let lower = name.to_lowercase();
    match FIELD_NAMES.iter().find(|(n, _)| *n == lower) {
        Some((_, field)) => Ok(Some(Token { kind: Kind::Field(*field, name), start, end: start + colon + 1 })),
        None => {
            let known: Vec<&str> = FIELD_NAMES.iter().map(|(n, _)| *n).collect();
            Err(error(start, format!("unknown field '{name}', expected one of {}", known.join(", "))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Kind<'_>> {
        tokenize(src).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn operators_words_and_fields() {
        assert_eq!(
            kinds("title:(a OR b) -c NEAR/3 =AS"),
            vec![
                Kind::Field(FieldName::Title, "title"),
                Kind::LParen,
                Kind::Term { mode: Mode::Plain, text: "a" },
                Kind::Or,
                Kind::Term { mode: Mode::Plain, text: "b" },
                Kind::RParen,
                Kind::Minus,
                Kind::Term { mode: Mode::Plain, text: "c" },
                Kind::Near { distance: 3, ordered: false },
                Kind::Term { mode: Mode::Exact, text: "AS" },
                Kind::End,
            ]
        );
        assert_eq!(
            kinds("and or"),
            vec![
                Kind::Term { mode: Mode::Plain, text: "and" },
                Kind::Term { mode: Mode::Plain, text: "or" },
                Kind::End
            ]
        );
    }

    #[test]
    fn phrases_and_regexes() {
        let t = tokenize("=\"Korea Utara\" /a\\/b/i “kim jong”");
        assert_eq!(t[0].kind, Kind::Phrase { mode: Mode::Exact, text: "Korea Utara" });
        assert_eq!((t[0].start, t[0].end), (0, 14));
        assert_eq!(t[1].kind, Kind::Regex { pattern: "a\\/b", case_insensitive: true });
        assert_eq!(t[2].kind, Kind::Phrase { mode: Mode::Plain, text: "kim jong" });
    }

    #[test]
    fn offsets_are_bytes() {
        let t = tokenize("é OR x");
        assert_eq!((t[1].start, t[1].end), (3, 5));
    }
}
