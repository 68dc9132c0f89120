//! A forgiving, linear XML tokenizer shared by the feed parser (the repairs, the tolerant
//! extractor) and the OPML reader.
//!
//! It never fails and never recurses: every call to `next` moves forward at least one byte,
//! and it yields whatever markup it finds (a tag cut off at the end of input is reported as
//! such). Names are returned as written; callers compare them case-insensitively as needed.

/// One piece of a document. Slices borrow from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Tok<'a> {
    /// `<name attrs>` or `<name attrs/>`; `attrs` is the raw text after the name.
    Start { name: &'a str, attrs: &'a str, self_closing: bool },
    /// `</name>`.
    End { name: &'a str },
    /// Character data between tags, undecoded.
    Text(&'a str),
    /// The inside of `<![CDATA[ … ]]>`; `closed` is false when the input ended first.
    CData { body: &'a str, closed: bool },
    /// `<!-- … -->`, `<? … ?>` and `<!DOCTYPE …>`: markup that carries no content.
    Other,
    /// A tag the input ended in the middle of.
    Cut,
}

#[derive(Debug, Clone)]
pub(crate) struct Scanner<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Scanner { s, pos: 0 }
    }
}

impl<'a> Iterator for Scanner<'a> {
    /// The token and its byte range in the input.
    type Item = (Tok<'a>, usize, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.s;
        let b = s.as_bytes();
        let start = self.pos;
        if start >= b.len() {
            return None;
        }
        if b[start] != b'<' || !starts_markup(b, start) {
            // Text up to the next markup start (a stray `<` is text).
            let mut i = start + 1;
            loop {
                match memchr(b'<', &b[i..]) {
                    Some(off) if starts_markup(b, i + off) => {
                        i += off;
                        break;
                    }
                    Some(off) => i += off + 1,
                    None => {
                        i = b.len();
                        break;
                    }
                }
            }
            self.pos = i;
            return Some((Tok::Text(&s[start..i]), start, i));
        }
        let rest = &s[start..];
        let (tok, end) = if let Some(body) = rest.strip_prefix("<![CDATA[") {
            match body.find("]]>") {
                Some(e) => (Tok::CData { body: &body[..e], closed: true }, start + 9 + e + 3),
                None => (Tok::CData { body, closed: false }, b.len()),
            }
        } else if let Some(comment) = rest.strip_prefix("<!--") {
            match comment.find("-->") {
                Some(e) => (Tok::Other, start + 4 + e + 3),
                None => (Tok::Other, b.len()),
            }
        } else if rest.starts_with("<?") {
            match rest.find("?>") {
                Some(e) => (Tok::Other, start + e + 2),
                None => (Tok::Cut, b.len()),
            }
        } else if rest.starts_with("<!") {
            match declaration_end(b, start) {
                Some(e) => (Tok::Other, e),
                None => (Tok::Cut, b.len()),
            }
        } else if rest.starts_with("</") {
            match memchr(b'>', &b[start..]) {
                Some(e) => {
                    let name = rest[2..e].trim();
                    let name = name.split(|c: char| c.is_whitespace()).next().unwrap_or("");
                    (Tok::End { name }, start + e + 1)
                }
                None => (Tok::Cut, b.len()),
            }
        } else {
            match tag_end(b, start) {
                Some(e) => {
                    let inner = &s[start + 1..e];
                    let name_len =
                        inner.find(|c: char| c.is_whitespace() || c == '/' || c == '>').unwrap_or(inner.len());
                    let name = &inner[..name_len];
                    let mut attrs = &inner[name_len..];
                    let self_closing = attrs.ends_with('/');
                    if self_closing {
                        attrs = &attrs[..attrs.len() - 1];
                    }
                    (Tok::Start { name, attrs, self_closing }, e + 1)
                }
                None => (Tok::Cut, b.len()),
            }
        };
        self.pos = end.max(start + 1);
        Some((tok, start, self.pos))
    }
}

/// Whether `<` at `i` opens markup (a tag, end tag, comment, CDATA, PI or declaration).
fn starts_markup(b: &[u8], i: usize) -> bool {
    match b.get(i + 1) {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' || *c == b'!' || *c == b'?' || *c == b'/' => true,
        Some(c) => *c >= 0x80, // a non-ASCII element name
        None => false,
    }
}

/// The index of the `>` closing the start tag at `start`, skipping quoted attribute values.
/// A quote left open until the next line break of a new tag is treated as a typo: the first `>`
/// after it wins, so one bad attribute never swallows the document.
fn tag_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    let mut quote: Option<(u8, usize)> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some((q, _)) if c == q => quote = None,
            Some((_, opened)) if c == b'<' => {
                // An unterminated quote: retry from the quote, ignoring quotes.
                return memchr(b'>', &b[opened..]).map(|e| opened + e);
            }
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some((c, i)),
            None if c == b'>' => return Some(i),
            None => {}
        }
        i += 1;
    }
    if let Some((_, opened)) = quote {
        return memchr(b'>', &b[opened..]).map(|e| opened + e);
    }
    None
}

/// The end (exclusive) of `<!DOCTYPE …>` or another declaration, with its `[ … ]` subset.
fn declaration_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 2;
    let mut in_subset = false;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else if in_subset && b[i..].starts_with(b"<!--") {
            let e = find(&b[i + 4..], b"-->")?;
            i += 4 + e + 2;
        } else {
            match c {
                b'"' | b'\'' => quote = Some(c),
                b'[' => in_subset = true,
                b']' => in_subset = false,
                b'>' if !in_subset => return Some(i + 1),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

pub(crate) fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|b| *b == needle)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The part of a qualified name after its prefix.
pub(crate) fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Attributes of a start tag as (name, value, range of the value in `attrs`), tolerant of
/// unquoted values and missing values.
pub(crate) fn attributes(attrs: &str) -> Vec<(&str, &str, (usize, usize))> {
    let b = attrs.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let ns = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' {
            i += 1;
        }
        if ns == i {
            if i < b.len() {
                i += 1;
            }
            continue;
        }
        let name = &attrs[ns..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                let ve = memchr(q, &b[vs..]).map_or(b.len(), |e| vs + e);
                out.push((name, &attrs[vs..ve], (vs, ve)));
                i = (ve + 1).min(b.len());
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                out.push((name, &attrs[vs..i], (vs, i)));
            }
        } else {
            out.push((name, "", (i, i)));
        }
    }
    out
}

/// The value of attribute `want` (compared case-insensitively, with or without a prefix).
pub(crate) fn attr<'a>(attrs: &'a str, want: &str) -> Option<&'a str> {
    let all = attributes(attrs);
    all.iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(want))
        .or_else(|| all.iter().find(|(n, _, _)| local(n).eq_ignore_ascii_case(want)))
        .map(|(_, v, _)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok<'_>> {
        Scanner::new(s).map(|(t, _, _)| t).collect()
    }

    #[test]
    fn tokens_of_a_small_document() {
        let t =
            toks("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b>'>]><rss a='1>2'><x/>t &amp; <![CDATA[<b>]]></rss>");
        assert_eq!(t[0], Tok::Other);
        assert_eq!(t[1], Tok::Other);
        assert_eq!(t[2], Tok::Start { name: "rss", attrs: " a='1>2'", self_closing: false });
        assert_eq!(t[3], Tok::Start { name: "x", attrs: "", self_closing: true });
        assert_eq!(t[4], Tok::Text("t &amp; "));
        assert_eq!(t[5], Tok::CData { body: "<b>", closed: true });
        assert_eq!(t[6], Tok::End { name: "rss" });
        assert_eq!(t.len(), 7);
    }

    #[test]
    fn cut_input_and_stray_brackets() {
        assert_eq!(toks("a < b <c"), vec![Tok::Text("a < b "), Tok::Cut]);
        assert_eq!(toks("<![CDATA[x"), vec![Tok::CData { body: "x", closed: false }]);
        assert_eq!(
            toks("<a title=\"oops><b>x</b>"),
            vec![
                Tok::Start { name: "a", attrs: " title=\"oops", self_closing: false },
                Tok::Start { name: "b", attrs: "", self_closing: false },
                Tok::Text("x"),
                Tok::End { name: "b" },
            ]
        );
    }

    #[test]
    fn attribute_parsing() {
        let a = attributes(" href=\"/x\" rel='alternate' checked data=v");
        let kv: Vec<_> = a.iter().map(|(n, v, _)| (*n, *v)).collect();
        assert_eq!(kv, [("href", "/x"), ("rel", "alternate"), ("checked", ""), ("data", "v")]);
        assert_eq!(attr(" rdf:about='u'", "about"), Some("u"));
        assert_eq!(local("atom:link"), "link");
    }
}
