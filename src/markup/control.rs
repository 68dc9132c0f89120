//! Characters no reader should get: controls, terminal escape sequences and bidi overrides.
//! Text from feeds and pages reaches terminals (logs, `pantau items`, the console sink), so
//! the parser's hygiene (`parse::clean`) and the HTML reader ([`super::html_to_text`]) drop
//! them ([`strip`]), by these definitions, and what prints text from anywhere else shows them
//! as escapes ([`printable`]).

use std::borrow::Cow;

/// Whether `c` must never reach a terminal from feed text: C0 controls but tab and line feed
/// (ESC starts terminal escape sequences, BEL rings, CR overwrites the line), DEL, C1 controls
/// (U+009B is a one-character CSI on some terminals), and the bidi embeddings, overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069), which reorder what is shown after them.
pub fn is_unsafe(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{B}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `s` holds a character that [`is_unsafe`], found by looking at bytes (UTF-8 lead
/// bytes of the ranges), so that clean text of any length costs one quick pass.
fn has_unsafe(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| match c {
        b'\t' | b'\n' => false,
        0..=0x1F | 0x7F => true,
        // U+0080–U+009F: C2 80–C2 9F.
        0xC2 => b.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n)),
        // U+202A–U+202E: E2 80 AA–AE; U+2066–U+2069: E2 81 A6–A9.
        0xE2 => match (b.get(i + 1), b.get(i + 2)) {
            (Some(0x80), Some(n)) => (0xAA..=0xAE).contains(n),
            (Some(0x81), Some(n)) => (0xA6..=0xA9).contains(n),
            _ => false,
        },
        _ => false,
    })
}

/// Where a text is in a terminal escape sequence, so that a whole sequence is dropped and not
/// only its ESC: `ESC[31m` must leave nothing, or "`ESC[31mKorea`" would read as the word
/// "31mKorea" and no rule would find "Korea".
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seq {
    /// Ordinary text.
    #[default]
    Text,
    /// Just after an ESC.
    Esc,
    /// In a control sequence (`ESC [` or U+009B): parameters, then one final character.
    Csi,
    /// In an operating-system command (`ESC ]`, e.g. a window title), with how many characters
    /// it has taken; it ends at BEL or `ESC \`.
    Osc(u16),
    /// An ESC inside an operating-system command.
    OscEsc,
}

/// Longest operating-system command dropped whole; past it, the text is text again.
const OSC_MAX: u16 = 256;

impl Seq {
    /// Whether `c`, the next character, belongs to an escape sequence (and is dropped); moves
    /// on to the state after `c`. A character that does not fit the sequence ends it and is
    /// text. Other unsafe characters are the caller's to drop.
    pub(crate) fn swallow(&mut self, c: char) -> bool {
        let (next, taken) = match (*self, c) {
            (Seq::Text, '\u{1B}') => (Seq::Esc, true),
            (Seq::Text, '\u{9B}') | (Seq::Esc, '[') => (Seq::Csi, true),
            (Seq::Text, _) => (Seq::Text, false),
            (Seq::Esc, ']') => (Seq::Osc(0), true),
            (Seq::Esc, '\u{1B}') => (Seq::Esc, true),
            // Parameters and intermediates (not `<` or `>`: never eat markup), then the final.
            (Seq::Csi, '0'..='9' | ':' | ';' | '=' | '?' | ' '..='/') => (Seq::Csi, true),
            (Seq::Csi, '@'..='~') => (Seq::Text, true),
            (Seq::Osc(_), '\u{7}') | (Seq::OscEsc, '\\') => (Seq::Text, true),
            (Seq::Osc(_), '\u{1B}') => (Seq::OscEsc, true),
            (Seq::Osc(n), c) if n < OSC_MAX && c != '<' && c != '\n' => (Seq::Osc(n + 1), true),
            _ => (Seq::Text, false),
        };
        *self = next;
        taken
    }
}

/// `s` without terminal escape sequences (see `Seq`) and without the other characters that
/// [`is_unsafe`]; a line break (CR LF or a lone CR) becomes one line feed first, so that old
/// Mac line ends still separate words.
pub fn strip(s: &str) -> Cow<'_, str> {
    if !has_unsafe(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut seq = Seq::Text;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if seq.swallow(c) {
            continue;
        }
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            c if is_unsafe(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `s` made safe to print on a terminal: each character that [`is_unsafe`] is shown as an
/// escape (`\x1b`, `\u202e`), so the operator sees that it was there and the terminal acts
/// on none of it. Tabs and line breaks are kept.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !has_unsafe(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c as u32 {
            _ if !is_unsafe(c) => out.push(c),
            n @ 0..=0xFF => out.push_str(&format!("\\x{n:02x}")),
            n => out.push_str(&format!("\\u{n:04x}")),
        }
    }
    Cow::Owned(out)
}

/// [`printable`] on one line: tabs and line breaks become spaces (a table cell, a log field).
pub fn printable_line(s: &str) -> Cow<'_, str> {
    let s = printable(s);
    if s.contains(['\n', '\t']) {
        Cow::Owned(s.replace(['\n', '\t'], " "))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_drops_controls_and_keeps_line_breaks() {
        assert_eq!(strip("plain\ttext\n"), Cow::Borrowed("plain\ttext\n"));
        assert_eq!(strip("a\r\nb\rc\u{85}d\u{202E}e\u{2066}f"), "a\nb\ncdef");
    }

    #[test]
    fn strip_drops_whole_escape_sequences() {
        assert_eq!(strip("\u{1b}[31mKorea\u{1b}[0m Utara\u{7}"), "Korea Utara");
        assert_eq!(strip("\u{1b}]0;owned\u{7}x \u{1b}]8;;http://e\u{1b}\\link\u{1b}]8;;\u{1b}\\"), "x link");
        assert_eq!(strip("\u{1b}[?25l\u{9b}2Jy \u{1b}[1;31;40mz"), "y z");
        // What does not fit a sequence is text again: markup, a line, a lone ESC.
        assert_eq!(strip("\u{1b}[<b>"), "<b>");
        assert_eq!(strip("\u{1b}]title\nnext"), "\nnext");
        assert_eq!(strip("a\u{1b}b"), "ab");
        let long = format!("\u{1b}]{}", "t".repeat(300));
        assert_eq!(strip(&long), "t".repeat(300 - usize::from(OSC_MAX)));
    }

    #[test]
    fn printable_shows_each_control_as_an_escape() {
        assert_eq!(printable("Korea Utara"), Cow::Borrowed("Korea Utara"));
        assert_eq!(printable("\u{1b}]0;pwned\u{7}x\u{9b}y\u{202e}z\n"), "\\x1b]0;pwned\\x07x\\x9by\\u202ez\n");
        assert_eq!(printable_line("a\tb\nc\u{0}"), "a b c\\x00");
    }

    #[test]
    fn unsafe_characters_are_found_by_their_bytes() {
        for c in ('\0'..='\u{2100}').chain(['\u{FEFF}', '\u{1F600}']) {
            let s = format!("a{c}b");
            assert_eq!(has_unsafe(&s), is_unsafe(c), "U+{:04X}", c as u32);
        }
        assert!(!is_unsafe('\t') && !is_unsafe('\n') && is_unsafe('\r'));
        assert!(is_unsafe('\u{1B}') && is_unsafe('\u{7}') && is_unsafe('\u{9B}') && is_unsafe('\u{202E}'));
        assert!(!is_unsafe('\u{200F}'), "a right-to-left mark reorders nothing after its word");
    }
}
