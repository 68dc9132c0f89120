//! HTML character references: `&amp;`, `&eacute;`, `&#233;`, `&#x4F60;`, decoded the way
//! browsers read text.
//!
//! The names and what they stand for are the HTML standard's table of named character
//! references (2,231 entries, some of two characters) and its Windows-1252 reading of C1
//! numbers, both from `markup5ever`, which the article extractor's HTML parser already
//! builds on. What pantau decides itself: which references may lack their semicolon, how
//! invalid numbers read, and that a non-breaking space becomes an ordinary space.

use markup5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};

/// Substitute for numeric references that name no valid scalar value.
const REPLACEMENT: char = '\u{FFFD}';

/// Decode HTML character references (named, decimal, hex) in plain text.
///
/// Markup is left alone; only `&…` references are replaced. Unknown or
/// malformed references are kept verbatim. Numeric references to zero,
/// surrogates or values above U+10FFFF decode to U+FFFD; references in the
/// 0x80–0x9F range are read as Windows-1252, as browsers do. Non-breaking
/// spaces (`&nbsp;`, `&#160;`) become ordinary spaces.
#[must_use]
pub fn decode_entities(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    decode_each(input, &mut |piece| out.push_str(piece));
    out
}

/// What one reference decodes to: one character, or two for a few names of the table
/// (`&NotEqualTilde;` is U+2242 U+0338).
type Decoded = (char, Option<char>);

/// Walk `input`, handing literal runs and decoded references to `emit` in order.
pub(super) fn decode_each(input: &str, emit: &mut impl FnMut(&str)) {
    let b = input.as_bytes();
    let mut literal_start = 0;
    let mut i = 0;
    let mut utf8 = [0u8; 8];
    while i < b.len() {
        match memchr::memchr(b'&', &b[i..]) {
            Some(off) => i += off,
            None => break,
        }
        if let Some(((first, second), next)) = reference_at(b, i) {
            if literal_start < i {
                emit(&input[literal_start..i]);
            }
            let first = if first == '\u{A0}' { ' ' } else { first };
            let mut len = first.encode_utf8(&mut utf8).len();
            if let Some(second) = second {
                len += second.encode_utf8(&mut utf8[len..]).len();
            }
            // Both characters were written whole into the buffer, so it holds UTF-8.
            emit(std::str::from_utf8(&utf8[..len]).unwrap_or_default());
            i = next;
            literal_start = next;
        } else {
            // Skip the '&' and any name run after it: none of it can start a
            // reference, and skipping keeps the scan linear.
            i += 1;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
        }
    }
    if literal_start < b.len() {
        emit(&input[literal_start..]);
    }
}

/// Try to read a character reference starting at the `&` at `b[at]`.
/// Returns what it decodes to and the index just past the reference.
fn reference_at(b: &[u8], at: usize) -> Option<(Decoded, usize)> {
    let mut i = at + 1;
    if b.get(i) == Some(&b'#') {
        i += 1;
        let hex = matches!(b.get(i), Some(b'x' | b'X'));
        if hex {
            i += 1;
        }
        let digits_start = i;
        let mut value: u32 = 0;
        while let Some(&d) = b.get(i) {
            let digit = match (hex, d) {
                (_, b'0'..=b'9') => u32::from(d - b'0'),
                (true, b'a'..=b'f') => u32::from(d - b'a' + 10),
                (true, b'A'..=b'F') => u32::from(d - b'A' + 10),
                _ => break,
            };
            let radix = if hex { 16 } else { 10 };
            // Saturate just above the Unicode range; the exact value no longer matters.
            value = value.saturating_mul(radix).saturating_add(digit).min(0x11_0000);
            i += 1;
        }
        if i == digits_start {
            return None;
        }
        if b.get(i) == Some(&b';') {
            i += 1;
        }
        return Some(((numeric_char(value), None), i));
    }

    let name_start = i;
    while i < b.len() && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    if i == name_start {
        return None;
    }
    let name = &b[name_start..i];
    if b.get(i) == Some(&b';') {
        if let Some(decoded) = lookup_entity(name) {
            return Some((decoded, i + 1));
        }
    }
    // Legacy references that browsers also accept without the semicolon,
    // matched as a prefix of the name run ("&ampx" reads as "&x").
    LEGACY_NO_SEMICOLON
        .iter()
        .find(|(legacy, _)| name.starts_with(legacy.as_bytes()))
        .map(|&(legacy, c)| ((c, None), name_start + legacy.len()))
}

/// Map a numeric reference value to the char a browser would show.
fn numeric_char(value: u32) -> char {
    match value {
        0 | 0xD800..=0xDFFF => REPLACEMENT,
        // Read as Windows-1252, except the five bytes it leaves undefined.
        0x80..=0x9F => {
            C1_REPLACEMENTS[(value - 0x80) as usize].unwrap_or_else(|| char::from_u32(value).unwrap_or(REPLACEMENT))
        }
        _ => char::from_u32(value).unwrap_or(REPLACEMENT),
    }
}

/// Longest name in the table of named references, without its semicolon.
const LONGEST_NAME: usize = 31;

/// The characters a name stands for when it is followed by a semicolon.
fn lookup_entity(name: &[u8]) -> Option<Decoded> {
    if name.len() > LONGEST_NAME {
        return None;
    }
    // The table's keys carry their semicolon; the name is ASCII letters and digits.
    let mut key = [0u8; LONGEST_NAME + 1];
    key[..name.len()].copy_from_slice(name);
    key[name.len()] = b';';
    let key = std::str::from_utf8(&key[..=name.len()]).ok()?;
    let &(first, second) = NAMED_ENTITIES.get(key)?;
    // The table also holds every prefix of a name, as zero, for tokenizers that read a
    // character at a time; zero is no character here.
    let first = char::from_u32(first).filter(|&c| c != '\0')?;
    Some((first, char::from_u32(second).filter(|&c| c != '\0')))
}

/// References browsers decode even when the terminating `;` is missing.
const LEGACY_NO_SEMICOLON: [(&str, char); 9] = [
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("nbsp", '\u{A0}'),
    ("AMP", '&'),
    ("LT", '<'),
    ("GT", '>'),
    ("QUOT", '"'),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_entities() {
        assert_eq!(
            decode_entities("&amp; &lt; &gt; &quot; &apos; &copy; &reg; &trade; &euro; &bull; &middot;"),
            "& < > \" ' © ® ™ € • ·"
        );
        assert_eq!(decode_entities("&ndash;&mdash;&lsquo;&rsquo;&ldquo;&rdquo;&hellip;&laquo;&raquo;"), "–—‘’“”…«»");
        assert_eq!(decode_entities("&Alpha;&omega;&eacute;&Uuml;&szlig;&yuml;"), "ΑωéÜßÿ");
        assert_eq!(decode_entities("&lang;x&rang; &ccaron;&Lstrok;"), "⟨x⟩ čŁ");
    }

    #[test]
    fn numeric_entities() {
        assert_eq!(decode_entities("&#65;&#1234;&#x4F60;&#X597D;&#x1F600;"), "AӒ你好😀");
        assert_eq!(decode_entities("&#0065;&#x000041;"), "AA");
        // Missing semicolon is accepted for numeric references.
        assert_eq!(decode_entities("&#65 &#x42z"), "A Bz");
    }

    #[test]
    fn invalid_numeric_entities_become_replacement() {
        assert_eq!(decode_entities("&#0;"), "\u{FFFD}");
        assert_eq!(decode_entities("&#xD800;&#xDFFF;"), "\u{FFFD}\u{FFFD}");
        assert_eq!(decode_entities("&#x110000;"), "\u{FFFD}");
        assert_eq!(decode_entities("&#99999999999999999999999;"), "\u{FFFD}");
    }

    #[test]
    fn c1_numeric_references_read_as_windows_1252() {
        assert_eq!(decode_entities("&#150;&#151;&#147;x&#148;&#128;"), "–—“x”€");
        assert_eq!(decode_entities("&#x81;"), "\u{81}");
    }

    #[test]
    fn entities_without_semicolon() {
        assert_eq!(decode_entities("a &amp b &lt c &gt d &quot e"), "a & b < c > d \" e");
        assert_eq!(decode_entities("x&nbspy"), "x y");
        assert_eq!(decode_entities("&AMP &LT;"), "& <");
        // Only the classic ones: other names need the semicolon.
        assert_eq!(decode_entities("&copy 2024 &eacute"), "&copy 2024 &eacute");
        // Browsers read the legacy prefix of a longer name.
        assert_eq!(decode_entities("&ampx;"), "&x;");
    }

    #[test]
    fn unknown_and_malformed_entities_kept() {
        assert_eq!(decode_entities("&foo; AT&T & &; &#; &#x; &#xZ;"), "&foo; AT&T & &; &#; &#x; &#xZ;");
        // Names are case-sensitive; a longer unknown name still yields its
        // legacy "amp" prefix, exactly as browsers decode it.
        assert_eq!(decode_entities("&Amp; &ampere;"), "&Amp; &ere;");
        assert_eq!(decode_entities("tail &"), "tail &");
        assert_eq!(decode_entities("q?a=1&b=2"), "q?a=1&b=2");
    }

    #[test]
    fn decode_entities_leaves_markup_alone() {
        assert_eq!(decode_entities("<b>&amp;</b>  x"), "<b>&</b>  x");
    }

    #[test]
    fn names_of_the_whole_standard_table() {
        // Names past HTML 4 and the few that once were pantau's own table alike.
        assert_eq!(decode_entities("&lang;&rang;&ccaron;&NewLine;&Tab;&bigstar;"), "⟨⟩č\n\t★");
        assert_eq!(decode_entities("&Cconint; &bernou; &ffllig; &CounterClockwiseContourIntegral;"), "∰ ℬ ﬄ ∳");
        // Two characters for one name.
        assert_eq!(decode_entities("&NotEqualTilde;&acE;"), "\u{2242}\u{338}\u{223E}\u{333}");
        // The table's keys carry the semicolon: a prefix of a name is no name.
        assert_eq!(decode_entities("&Ccon; &b; &Counter;"), "&Ccon; &b; &Counter;");
        // Longer than any name, and a name that does not exist.
        assert_eq!(decode_entities(&format!("&{};", "a".repeat(40))), format!("&{};", "a".repeat(40)));
    }
}
