//! Located config problems: `PATH:LINE:COL: message`, with the offending line and a caret.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a problem is: errors stop pantau from starting, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The config cannot be used.
    Error,
    /// The config works but probably not as intended.
    Warning,
}

/// One problem at one place of the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The config file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
    /// The source line, for the caret excerpt.
    pub source_line: String,
}

impl Diagnostic {
    /// A problem at byte `offset` of `source`.
    pub fn at(severity: Severity, path: &Path, source: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = floor_char_boundary(source, offset.min(source.len()));
        let before = &source[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.matches('\n').count() + 1;
        let col = source[line_start..offset].chars().count() + 1;
        let line_end = source[offset..].find('\n').map_or(source.len(), |i| offset + i);
        Diagnostic {
            severity,
            path: path.to_path_buf(),
            line,
            col,
            message: message.into(),
            source_line: source[line_start..line_end].trim_end_matches('\r').to_string(),
        }
    }

    /// A problem with no useful position (the file cannot be read, say): reported at 1:1.
    pub fn whole_file(path: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            path: path.to_path_buf(),
            line: 1,
            col: 1,
            message: message.into(),
            source_line: String::new(),
        }
    }

    /// The `PATH:LINE:COL: message` line followed by the source line and a caret under the column.
    pub fn render(&self) -> String {
        let mut out = self.to_string();
        if !self.source_line.is_empty() {
            let pad: String =
                self.source_line.chars().take(self.col - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            out.push_str(&format!("\n    {}\n    {pad}^", self.source_line));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        write!(f, "{}:{}:{}: {kind}{}", self.path.display(), self.line, self.col, self.message)
    }
}

/// Every error found in a config file (pantau reports all of them, not just the first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<Diagnostic>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", d.render())?;
        }
        Ok(())
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Map a byte offset inside the *decoded* value of a TOML string to a byte offset in the file.
///
/// `span` is the span of the string literal including its quotes. Literal strings (`'…'`,
/// `'''…'''`) map one to one; basic strings are walked so that escapes such as `\"` or `\u00e9`
/// count as the characters they decode to.
pub fn string_offset(source: &str, span: std::ops::Range<usize>, decoded_offset: usize) -> usize {
    let Some(raw) = source.get(span.clone()) else { return span.start };
    let (delim, literal) = if raw.starts_with("'''") {
        (3, true)
    } else if raw.starts_with("\"\"\"") {
        (3, false)
    } else if raw.starts_with('\'') {
        (1, true)
    } else if raw.starts_with('"') {
        (1, false)
    } else {
        return span.start;
    };
    let mut start = span.start + delim;
    // A newline right after an opening triple quote is not part of the value.
    if delim == 3 {
        if source[start..].starts_with("\r\n") {
            start += 2;
        } else if source[start..].starts_with('\n') {
            start += 1;
        }
    }
    if literal {
        return (start + decoded_offset).min(span.end);
    }
    let body = &source[start..span.end.saturating_sub(delim).max(start)];
    let mut decoded = 0usize;
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if decoded >= decoded_offset {
            return start + i;
        }
        if c == '\\' {
            match chars.next() {
                Some((_, 'u')) => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, c)| c)).collect();
                    decoded += u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).map_or(1, char::len_utf8);
                }
                Some((_, 'U')) => {
                    let hex: String = (0..8).filter_map(|_| chars.next().map(|(_, c)| c)).collect();
                    decoded += u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).map_or(1, char::len_utf8);
                }
                Some((_, '\n' | '\r' | ' ' | '\t')) => {
                    // A line-ending backslash swallows the following whitespace.
                    while let Some((_, c)) = chars.peek() {
                        if c.is_whitespace() {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
                Some(_) => decoded += 1,
                None => {}
            }
        } else {
            decoded += c.len_utf8();
        }
    }
    start + body.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let src = "a = 1\nbé = \"x\"\n";
        let off = src.find('"').unwrap();
        let d = Diagnostic::at(Severity::Error, Path::new("c.toml"), src, off, "bad");
        assert_eq!((d.line, d.col), (2, 6));
        assert_eq!(d.to_string(), "c.toml:2:6: bad");
        assert_eq!(d.render(), "c.toml:2:6: bad\n    bé = \"x\"\n         ^");
    }

    #[test]
    fn offsets_inside_strings_follow_escapes_and_delimiters() {
        let src = r#"q = "\"Korea\" AND (""#;
        let start = src.find('"').unwrap();
        let span = start..src.len();
        // Decoded value: "Korea" AND (   — offset 12 is the '(' .
        let off = string_offset(src, span, 12);
        assert_eq!(&src[off..off + 1], "(");

        let src = "q = '''\nabc def'''";
        let start = src.find('\'').unwrap();
        let off = string_offset(src, start..src.len(), 4);
        assert_eq!(&src[off..off + 3], "def");
    }
}
