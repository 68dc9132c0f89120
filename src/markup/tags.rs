//! Markup recognised at a `<`: start and end tags (attributes skipped, quoted `>` included),
//! comments, CDATA, doctypes and processing instructions, and the end of raw-text elements.
//! All delimiters are ASCII, so every index returned is on a char boundary.

/// True if some `<` could open a tag, comment, doctype or processing instruction.
pub(super) fn has_markup(b: &[u8]) -> bool {
    memchr::memchr_iter(b'<', b)
        .any(|i| b.get(i + 1).is_some_and(|&c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?')))
}

fn is_html_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0C')
}

/// First index `>= from` where `needle` occurs in `hay`.
fn find_bytes(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// Index just past the next `>` at or after `from`, or the end of input.
fn past_next_gt(b: &[u8], from: usize) -> usize {
    find_bytes(b, from, b">").map_or(b.len(), |p| p + 1)
}

/// End of a tag name starting at `from`.
fn tag_name_end(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < b.len() && !is_html_space(b[i]) && b[i] != b'/' && b[i] != b'>' {
        i += 1;
    }
    i
}

/// Skip the attribute part of a tag, starting right after its name.
/// Returns the index just past the closing `>` and whether the tag ended in
/// `/>`, or `None` if the tag (or a quoted value in it) never closes.
fn skip_attributes(b: &[u8], from: usize) -> Option<(usize, bool)> {
    let mut i = from;
    let mut self_closing = false;
    loop {
        match *b.get(i)? {
            b'>' => return Some((i + 1, self_closing)),
            b'/' => {
                self_closing = true;
                i += 1;
            }
            b'=' => {
                self_closing = false;
                i += 1;
                while b.get(i).is_some_and(|&c| is_html_space(c)) {
                    i += 1;
                }
                if let Some(&quote @ (b'"' | b'\'')) = b.get(i) {
                    let close = find_bytes(b, i + 1, &[quote])?;
                    i = close + 1;
                }
                // An unquoted value simply continues through the main loop.
            }
            _ => {
                self_closing = false;
                i += 1;
            }
        }
    }
}

/// One piece of markup recognised at a `<`.
pub(super) enum Token {
    Start {
        name: (usize, usize),
        self_closing: bool,
    },
    End {
        name: (usize, usize),
    },
    /// CDATA section content (byte range), kept as literal text.
    Cdata(usize, usize),
    /// Comment, doctype, processing instruction, bogus or unterminated markup.
    Ignored,
}

/// Recognise markup at `b[at] == b'<'`. Returns the token and the index
/// just past it, or `None` if this `<` is ordinary text.
pub(super) fn read_markup(b: &[u8], at: usize) -> Option<(Token, usize)> {
    let rest = b.get(at + 1..).unwrap_or(&[]);
    match *rest.first()? {
        c if c.is_ascii_alphabetic() => {
            let name_end = tag_name_end(b, at + 1);
            Some(match skip_attributes(b, name_end) {
                Some((end, self_closing)) => (Token::Start { name: (at + 1, name_end), self_closing }, end),
                None => (Token::Ignored, b.len()),
            })
        }
        b'/' => match *rest.get(1)? {
            c if c.is_ascii_alphabetic() => {
                let name_end = tag_name_end(b, at + 2);
                Some(match skip_attributes(b, name_end) {
                    Some((end, _)) => (Token::End { name: (at + 2, name_end) }, end),
                    None => (Token::Ignored, b.len()),
                })
            }
            b'>' => Some((Token::Ignored, at + 3)),
            _ => Some((Token::Ignored, past_next_gt(b, at + 2))),
        },
        b'!' => {
            let after = &rest[1..];
            if after.starts_with(b"--") {
                let body = at + 4;
                let end = if b.get(body) == Some(&b'>') {
                    body + 1
                } else if b.get(body..).is_some_and(|s| s.starts_with(b"->")) {
                    body + 2
                } else {
                    find_bytes(b, body, b"-->").map_or(b.len(), |p| p + 3)
                };
                Some((Token::Ignored, end))
            } else if after.starts_with(b"[CDATA[") {
                let body = at + 9;
                Some(match find_bytes(b, body, b"]]>") {
                    Some(p) => (Token::Cdata(body, p), p + 3),
                    None => (Token::Cdata(body, b.len()), b.len()),
                })
            } else {
                Some((Token::Ignored, past_next_gt(b, at + 2)))
            }
        }
        b'?' => Some((Token::Ignored, past_next_gt(b, at + 2))),
        _ => None,
    }
}

/// Find the end tag `</name` closing a raw-text element whose content starts
/// at `from`. Returns (content end, index just past the end tag).
pub(super) fn raw_text_end(b: &[u8], from: usize, name: &[u8]) -> (usize, usize) {
    let mut search = from;
    while let Some(p) = find_bytes(b, search, b"</") {
        let name_start = p + 2;
        let name_end = name_start + name.len();
        let name_matches = b.get(name_start..name_end).is_some_and(|s| s.eq_ignore_ascii_case(name));
        let boundary = b.get(name_end).is_none_or(|&c| is_html_space(c) || c == b'/' || c == b'>');
        if name_matches && boundary {
            let after = skip_attributes(b, name_end).map_or(b.len(), |(end, _)| end);
            return (p, after);
        }
        search = name_start;
    }
    (b.len(), b.len())
}
