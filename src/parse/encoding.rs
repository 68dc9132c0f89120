//! Bytes → UTF-8 text, before any parser sees the document.
//!
//! The order of evidence: a byte-order mark, then the shape of the first bytes (UTF-16/32
//! without a mark), then the charset of the HTTP Content-Type, then the XML declaration, and
//! for bytes that are neither declared nor valid UTF-8, a guess among the legacy encodings.

use std::borrow::Cow;

use encoding_rs::{
    Encoding, BIG5, EUC_JP, EUC_KR, GBK, KOI8_R, SHIFT_JIS, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1251, WINDOWS_1252,
    WINDOWS_1255, WINDOWS_874,
};

/// A document as UTF-8, with a note when it was not UTF-8 to begin with. Clean UTF-8 input is
/// borrowed, not copied.
#[derive(Debug)]
pub(crate) struct Decoded<'a> {
    pub text: Cow<'a, str>,
    /// What decoding took, for the recoveries; empty for clean UTF-8.
    pub notes: Vec<String>,
}

/// Decode `bytes` to UTF-8 using every clue available. Never fails: undecodable bytes become
/// U+FFFD. The result carries no byte-order mark and no NUL characters.
pub(crate) fn to_utf8<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Decoded<'a> {
    let (mut text, note) = decode(bytes, content_type);
    let mut notes: Vec<String> = note.into_iter().collect();
    if has_c1(text.as_bytes()) {
        // C1 controls never belong in a feed; they are windows-1252 punctuation (curly quotes,
        // dashes, the euro sign) passed through a Latin-1 decoder somewhere upstream.
        text = Cow::Owned(
            text.chars()
                .map(|c| {
                    if is_c1(c) {
                        let byte = [c as u32 as u8];
                        let (s, _) = WINDOWS_1252.decode_without_bom_handling(&byte);
                        s.chars().next().unwrap_or(c)
                    } else {
                        c
                    }
                })
                .collect(),
        );
        notes.push("repaired: windows-1252 punctuation".into());
    }
    if text.starts_with('\u{FEFF}') {
        text = match text {
            Cow::Borrowed(s) => Cow::Borrowed(&s['\u{FEFF}'.len_utf8()..]),
            Cow::Owned(mut s) => {
                s.drain(..'\u{FEFF}'.len_utf8());
                Cow::Owned(s)
            }
        };
    }
    if memchr::memchr(0, text.as_bytes()).is_some() {
        text.to_mut().retain(|c| c != '\0');
    }
    Decoded { text, notes }
}

/// Whether UTF-8 `bytes` hold a C1 control (U+0080..=U+009F, encoded as C2 80..=C2 9F).
fn has_c1(bytes: &[u8]) -> bool {
    memchr::memchr_iter(0xC2, bytes).any(|i| bytes.get(i + 1).is_some_and(|b| (0x80..=0x9F).contains(b)))
}

fn is_c1(c: char) -> bool {
    ('\u{80}'..='\u{9F}').contains(&c)
}

fn decode<'a>(bytes: &'a [u8], content_type: Option<&str>) -> (Cow<'a, str>, Option<String>) {
    // 1. Byte-order marks. UTF-32 first: its little-endian mark starts like UTF-16's.
    if let Some(rest) = bytes.strip_prefix(&[0x00, 0x00, 0xFE, 0xFF]) {
        return (utf32(rest, true).into(), Some("transcoded from UTF-32BE".into()));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE, 0x00, 0x00]) {
        return (utf32(rest, false).into(), Some("transcoded from UTF-32LE".into()));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8_or_lossy(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return with(UTF_16BE, rest, "");
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return with(UTF_16LE, rest, "");
    }
    // 2. UTF-16/32 without a mark: a document starts with `<` (or whitespace), so the NULs
    // around the first ASCII characters give the width and the byte order away.
    match bytes {
        [0, 0, 0, b, ..] if b.is_ascii() && *b != 0 => {
            return (utf32(bytes, true).into(), Some("transcoded from UTF-32BE (no byte-order mark)".into()))
        }
        [b, 0, 0, 0, ..] if b.is_ascii() && *b != 0 => {
            return (utf32(bytes, false).into(), Some("transcoded from UTF-32LE (no byte-order mark)".into()))
        }
        [0, a, 0, b, ..] if a.is_ascii() && b.is_ascii() && *a != 0 => {
            return with(UTF_16BE, bytes, " (no byte-order mark)")
        }
        [a, 0, b, 0, ..] if a.is_ascii() && b.is_ascii() && *a != 0 => {
            return with(UTF_16LE, bytes, " (no byte-order mark)")
        }
        _ => {}
    }
    // 3. What the server and the document say. The bytes are ASCII-compatible here, so a
    // declared UTF-16/32 is a lie; so is the "replacement" pseudo-encoding.
    let usable = |e: &'static Encoding| e != UTF_16BE && e != UTF_16LE;
    let declared = content_type
        .and_then(http_charset)
        .and_then(|l| Encoding::for_label_no_replacement(l.as_bytes()))
        .filter(|e| usable(e))
        .or_else(|| {
            xml_declared_encoding(bytes)
                .and_then(|l| Encoding::for_label_no_replacement(l.as_bytes()))
                .filter(|e| usable(e))
        });
    let utf8 = std::str::from_utf8(bytes).ok();
    if utf8.is_none() && declared.is_none_or(|e| e == UTF_8 || is_single_byte(e)) {
        // UTF-8 but for a few bytes (a stray windows-1252 quote, a truncated character) stays
        // UTF-8: read as a legacy encoding, every correct character would be garbled.
        if let Some(bad) = mostly_utf8(bytes) {
            let mut note = format!("invalid UTF-8: {bad} byte sequence(s) replaced");
            if let Some(e) = declared.filter(|e| *e != UTF_8) {
                note = format!("declared {} but read as UTF-8; {note}", e.name());
            }
            return (String::from_utf8_lossy(bytes), Some(note));
        }
    }
    match (declared, utf8) {
        (None, Some(s)) => (s.into(), None),
        (Some(e), Some(s)) if e == UTF_8 || (e.is_ascii_compatible() && s.is_ascii()) => {
            // ASCII is the same in every declared encoding worth honouring.
            (s.into(), None)
        }
        (Some(e), Some(s)) if is_single_byte(e) => {
            // Valid UTF-8 with multi-byte sequences is almost never a legacy single-byte text:
            // the declaration is stale (a common server or template mistake).
            (s.into(), Some(format!("declared {} but read as UTF-8", e.name())))
        }
        (Some(e), _) if e != UTF_8 => with(e, bytes, ""),
        (Some(_), None) => {
            let (e, _) = guess(bytes);
            with(e, bytes, " (declared UTF-8 but invalid)")
        }
        (None, None) => {
            let (e, _) = guess(bytes);
            with(e, bytes, " (guessed, undeclared)")
        }
        // Unreachable in practice (UTF-8 declared and valid was handled above).
        (Some(_), Some(s)) => (s.into(), None),
    }
}

/// For bytes that are not valid UTF-8: how many invalid sequences they hold, when they are
/// UTF-8 with a few bad bytes rather than a legacy encoding. That is when they hold valid
/// multi-byte UTF-8 characters, and at least as many as invalid sequences. Text in a legacy
/// encoding forms a valid multi-byte sequence only by chance (a lead byte 0xC2–0xF4 followed
/// by the right number of bytes 0x80–0xBF), so nearly all of its non-ASCII bytes are invalid:
/// Western text has none valid, CJK, Thai or Cyrillic text a minority.
fn mostly_utf8(bytes: &[u8]) -> Option<usize> {
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        // Every character of two or more bytes has one lead byte, 0xC2 or above.
        multibyte += chunk.valid().bytes().filter(|b| *b >= 0xC0).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    (multibyte > 0 && invalid <= multibyte).then_some(invalid)
}

fn is_single_byte(e: &'static Encoding) -> bool {
    ![UTF_8, GBK, BIG5, SHIFT_JIS, EUC_JP, EUC_KR, encoding_rs::GB18030, encoding_rs::ISO_2022_JP].contains(&e)
}

fn with<'a>(e: &'static Encoding, bytes: &'a [u8], how: &str) -> (Cow<'a, str>, Option<String>) {
    let (text, had_errors) = e.decode_without_bom_handling(bytes);
    let mut note = format!("transcoded from {}{how}", e.name());
    if had_errors {
        note.push_str(", with undecodable bytes replaced");
    }
    (text, Some(note))
}

fn utf8_or_lossy(bytes: &[u8]) -> (Cow<'_, str>, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.into(), None),
        Err(_) => (String::from_utf8_lossy(bytes), Some("invalid UTF-8 bytes replaced".into())),
    }
}

fn utf32(bytes: &[u8], big_endian: bool) -> String {
    bytes
        .chunks_exact(4)
        .map(|c| {
            let b = [c[0], c[1], c[2], c[3]];
            let v = if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) };
            char::from_u32(v).unwrap_or('\u{FFFD}')
        })
        .collect()
}

/// The `charset` parameter of a Content-Type header value.
/// The charset an HTML page declares in its first 4 KiB: `<meta charset="…">` or
/// `<meta http-equiv="Content-Type" content="text/html; charset=…">`.
pub(crate) fn html_meta_charset(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = head[from..].find("<meta") {
        let start = from + at;
        let end = head[start..].find('>').map_or(head.len(), |e| start + e);
        let tag = &head[start..end];
        if let Some(c) = tag.find("charset=") {
            let value = tag[c + "charset=".len()..].trim_start_matches(['"', '\'', ' ']);
            let value: String =
                value.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')).collect();
            if !value.is_empty() {
                return Some(value);
            }
        }
        from = end;
    }
    None
}

pub(crate) fn http_charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        (!v.is_empty()).then(|| v.to_string())
    })
}

/// The `encoding` pseudo-attribute of the XML declaration, read from ASCII-compatible bytes.
pub(crate) fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &bytes[start..bytes.len().min(start + 512)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>").unwrap_or(head.len());
    let decl = &head[..end];
    let at = decl.windows(8).position(|w| w.eq_ignore_ascii_case(b"encoding"))?;
    let rest = &decl[at + 8..];
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let rest = rest.strip_prefix(b"=")?;
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let quote = *rest.first()?;
    let value = if quote == b'"' || quote == b'\'' {
        let inner = &rest[1..];
        &inner[..inner.iter().position(|b| *b == quote).unwrap_or(inner.len())]
    } else {
        &rest[..rest.iter().position(|b| b.is_ascii_whitespace() || *b == b'?').unwrap_or(rest.len())]
    };
    let value = std::str::from_utf8(value).ok()?.trim();
    (!value.is_empty()).then(|| value.to_string())
}

/// Guess the encoding of bytes that are not UTF-8 and say nothing about themselves.
///
/// Western text has its few high bytes alone between ASCII letters: windows-1252. Where high
/// bytes come in runs, every candidate decodes the text and the one whose characters look most
/// like a real script of that encoding (and yield no replacement characters) wins.
pub(crate) fn guess(bytes: &[u8]) -> (&'static Encoding, i64) {
    let mut high = 0usize;
    let mut paired = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x80 {
            high += 1;
            let prev = i > 0 && bytes[i - 1] >= 0x80;
            let next = bytes.get(i + 1).is_some_and(|n| *n >= 0x80);
            if prev || next {
                paired += 1;
            }
        }
    }
    if high == 0 || paired * 2 < high {
        return (WINDOWS_1252, 0);
    }
    let candidates =
        [GBK, BIG5, SHIFT_JIS, EUC_JP, EUC_KR, KOI8_R, WINDOWS_1255, WINDOWS_1251, WINDOWS_874, WINDOWS_1252];
    // Ties go to the earlier candidate: Hebrew letters read as windows-1251 are all lower-case
    // Cyrillic, while Russian text read as windows-1255 hits its unassigned bytes.
    let mut best = (WINDOWS_1252, i64::MIN);
    for e in candidates {
        let s = score(e, bytes);
        if s > best.1 {
            best = (e, s);
        }
    }
    best
}

fn score(e: &'static Encoding, bytes: &[u8]) -> i64 {
    let (text, _) = e.decode_without_bom_handling(bytes);
    let japanese = e == SHIFT_JIS || e == EUC_JP;
    let multibyte = !is_single_byte(e);
    // Points are per byte of input, so that a two-byte character counts as much as two
    // single-byte letters: a plausible character of the encoding's script earns more than
    // one point per byte, anything implausible costs.
    let mut score = 0i64;
    for c in text.chars() {
        let c = c as u32;
        score += match c {
            0..=0x7F => 0,
            0xFFFD => -10,
            0xAC00..=0xD7A3 if e == EUC_KR => 4,
            0x3040..=0x30FF if japanese => 4,
            0x4E00..=0x9FFF if e == EUC_KR => -2,
            0x4E00..=0x9FFF => 3,
            0x3000..=0x303F | 0xFF01..=0xFF5E if multibyte => 2,
            0x2000..=0x206F => 0,
            // Cyrillic small letters, Russian and the others (Ukrainian і ї є, Serbian ј љ њ, …).
            0x0430..=0x045F => 1,
            0x0400..=0x042F => 0,
            0x0E01..=0x0E5B => 1,
            0x05D0..=0x05EA => 1,
            _ => -1,
        };
    }
    // Big5's most frequent characters have trail bytes 0x40-0x7E; GB2312 text never does, and
    // GBK reads such pairs as rare characters. Reward Big5 for them.
    if e == BIG5 {
        let mut i = 0;
        while i + 1 < bytes.len() {
            if (0xA1..=0xF9).contains(&bytes[i]) {
                if (0x40..=0x7E).contains(&bytes[i + 1]) {
                    score += 1;
                }
                i += 2;
            } else {
                i += 1;
            }
        }
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(e: &'static Encoding, s: &str) -> Vec<u8> {
        e.encode(s).0.into_owned()
    }

    #[test]
    fn utf8_passes_through_without_note() {
        let d = to_utf8("<rss>héllo</rss>".as_bytes(), None);
        assert_eq!(d.text, "<rss>héllo</rss>");
        assert!(d.notes.is_empty());
    }

    #[test]
    fn boms_are_honoured_and_stripped() {
        let mut b = vec![0xEF, 0xBB, 0xBF];
        b.extend_from_slice("<a>é</a>".as_bytes());
        assert_eq!(to_utf8(&b, None).text, "<a>é</a>");

        let mut b = vec![0xFE, 0xFF];
        for u in "<a>é</a>".encode_utf16() {
            b.extend_from_slice(&u.to_be_bytes());
        }
        let d = to_utf8(&b, None);
        assert_eq!(d.text, "<a>é</a>");
        assert_eq!(d.notes, ["transcoded from UTF-16BE"]);

        let mut b = vec![0xFF, 0xFE];
        for u in "<a>é</a>".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(to_utf8(&b, None).text, "<a>é</a>");

        let mut b = vec![0x00, 0x00, 0xFE, 0xFF];
        for c in "<a>€</a>".chars() {
            b.extend_from_slice(&(c as u32).to_be_bytes());
        }
        assert_eq!(to_utf8(&b, None).text, "<a>€</a>");
        let mut b = vec![0xFF, 0xFE, 0x00, 0x00];
        for c in "<a>€</a>".chars() {
            b.extend_from_slice(&(c as u32).to_le_bytes());
        }
        assert_eq!(to_utf8(&b, None).text, "<a>€</a>");
    }

    #[test]
    fn utf16_and_utf32_without_bom_are_detected() {
        let mut be = Vec::new();
        let mut le = Vec::new();
        let mut be32 = Vec::new();
        for u in "<?xml version='1.0'?><a>ü</a>".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
            le.extend_from_slice(&u.to_le_bytes());
            be32.extend_from_slice(&(u as u32).to_be_bytes());
        }
        assert_eq!(to_utf8(&be, None).text, "<?xml version='1.0'?><a>ü</a>");
        assert_eq!(to_utf8(&le, None).text, "<?xml version='1.0'?><a>ü</a>");
        assert_eq!(to_utf8(&be32, None).text, "<?xml version='1.0'?><a>ü</a>");
    }

    #[test]
    fn xml_declaration_and_http_charset_are_honoured() {
        let mut b = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>".to_vec();
        b.extend_from_slice(&[0xE9, 0x92]);
        b.extend_from_slice(b"</a>");
        let d = to_utf8(&b, None);
        assert!(d.text.ends_with("<a>é\u{2019}</a>"), "{}", d.text);
        assert_eq!(d.notes, ["transcoded from windows-1252"]);

        // The HTTP charset wins over the declaration.
        let mut b = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><a>".to_vec();
        b.extend_from_slice(&enc(encoding_rs::ISO_8859_2, "ł"));
        b.extend_from_slice(b"</a>");
        let d = to_utf8(&b, Some("application/rss+xml; charset=\"iso-8859-2\""));
        assert!(d.text.ends_with("<a>ł</a>"), "{}", d.text);

        let mut b = b"<?xml version='1.0' encoding='Shift_JIS'?><a>".to_vec();
        b.extend_from_slice(&enc(SHIFT_JIS, "ニュース"));
        assert!(to_utf8(&b, None).text.ends_with("<a>ニュース"));
    }

    #[test]
    fn stale_single_byte_declaration_on_utf8_is_ignored() {
        let b = "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><a>Jakarta – Surabaya</a>".as_bytes();
        let d = to_utf8(b, None);
        assert!(d.text.contains("Jakarta – Surabaya"));
        assert!(d.notes[0].contains("read as UTF-8"));
    }

    #[test]
    fn bogus_labels_fall_back_to_the_bytes() {
        let b = b"<?xml version='1.0' encoding='x-bogus-enc'?><a>ok</a>";
        assert!(to_utf8(b, None).notes.is_empty());
        let mut b = b"<?xml version='1.0' encoding='x-bogus-enc'?><a>caf".to_vec();
        b.push(0xE9);
        assert!(to_utf8(&b, None).text.ends_with("café"));
    }

    #[test]
    fn undeclared_legacy_bytes_are_guessed() {
        let mut b = b"<a>don".to_vec();
        b.push(0x92);
        b.extend_from_slice(b"t</a>");
        let d = to_utf8(&b, None);
        assert_eq!(d.text, "<a>don\u{2019}t</a>");
        assert!(d.notes[0].contains("windows-1252"));

        for (e, s) in [
            (BIG5, "<title>中文新聞標題，今天的天氣很好</title>"),
            (GBK, "<title>中文新闻标题，今天的天气很好，我们在这里</title>"),
            (SHIFT_JIS, "<title>日本語のニュースです。今日はいい天気ですね</title>"),
            (EUC_JP, "<title>日本語のニュースです。今日はいい天気ですね</title>"),
            (EUC_KR, "<title>한국어 뉴스 제목입니다 오늘 날씨가 좋습니다</title>"),
            (KOI8_R, "<title>Новости дня: сегодня хорошая погода в городе</title>"),
            (WINDOWS_1251, "<title>Новости дня: Сегодня хорошая погода. Мы рады, я тоже</title>"),
            (WINDOWS_1255, "<title>חדשות היום: מזג האוויר טוב היום בעיר</title>"),
            (WINDOWS_874, "<title>ข่าววันนี้ อากาศดีมากในเมือง</title>"),
        ] {
            let bytes = enc(e, s);
            let d = to_utf8(&bytes, None);
            assert_eq!(d.text, s, "{}", e.name());
            assert!(d.notes[0].contains(e.name()));
        }
    }

    #[test]
    fn utf8_with_a_few_invalid_bytes_stays_utf8() {
        // One stray byte in an otherwise UTF-8 document used to make it windows-874 whole.
        let mut b = "<rss><item><title>Pyŏngyang menguji rudal</title><description>Kim Jong-un di Pyŏngyang"
            .as_bytes()
            .to_vec();
        b.push(0xFF);
        b.extend_from_slice("</description></item></rss>".as_bytes());
        for declared in [None, Some("text/xml; charset=utf-8"), Some("text/xml; charset=iso-8859-1")] {
            let d = to_utf8(&b, declared);
            assert_eq!(
                d.text,
                "<rss><item><title>Pyŏngyang menguji rudal</title><description>Kim Jong-un di Pyŏngyang\u{FFFD}</description></item></rss>",
                "{declared:?}"
            );
            assert!(d.notes[0].contains("invalid UTF-8: 1 byte sequence(s) replaced"), "{:?}", d.notes);
        }
        assert!(to_utf8(&b, Some("text/xml; charset=iso-8859-1")).notes[0]
            .starts_with("declared windows-1252 but read as UTF-8"));
        // A truncated last character, and a windows-1252 quote among UTF-8 quotes.
        let mut cut = "<a>Berita “terkini” – ".as_bytes().to_vec();
        cut.extend_from_slice(&"€".as_bytes()[..2]);
        assert_eq!(to_utf8(&cut, None).text, "<a>Berita “terkini” – \u{FFFD}");
        let mut mixed = "<a>“Korea” don".as_bytes().to_vec();
        mixed.extend_from_slice(b"\x92t</a>");
        assert_eq!(to_utf8(&mixed, None).text, "<a>“Korea” don\u{FFFD}t</a>");
        // A multi-byte legacy declaration is still honoured.
        let mut gbk = b"<?xml version='1.0' encoding='gbk'?><a>".to_vec();
        gbk.extend_from_slice(&enc(GBK, "中文新闻"));
        assert!(to_utf8(&gbk, None).text.ends_with("<a>中文新闻"));
    }

    #[test]
    fn legacy_text_with_chance_utf8_sequences_is_still_guessed() {
        // Ukrainian in windows-1251: a capital before "і" makes a valid two-byte UTF-8 sequence.
        let s = "<a>Рівне: Ірина і Олена пішли на річку. Сьогодні гарна погода</a>";
        let b = enc(WINDOWS_1251, s);
        assert!(mostly_utf8(&b).is_none());
        assert_eq!(to_utf8(&b, None).text, s);
        // Western text in windows-1252 has no valid multi-byte sequence at all.
        let b = enc(WINDOWS_1252, "<a>Café, crème brûlée – naïve</a>");
        assert_eq!(mostly_utf8(&b), None);
        assert_eq!(to_utf8(&b, None).text, "<a>Café, crème brûlée – naïve</a>");
    }

    #[test]
    fn c1_controls_become_windows_1252_punctuation() {
        let d = to_utf8("<a>don\u{92}t \u{93}x\u{94} \u{80}5</a>".as_bytes(), None);
        assert_eq!(d.text, "<a>don\u{2019}t \u{201C}x\u{201D} \u{20AC}5</a>");
        assert_eq!(d.notes, ["repaired: windows-1252 punctuation"]);
    }

    #[test]
    fn invalid_utf8_with_bom_is_replaced_not_fatal() {
        let b = [0xEF, 0xBB, 0xBF, b'<', b'a', b'>', 0xFF, b'<', b'/', b'a', b'>'];
        let d = to_utf8(&b, None);
        assert_eq!(d.text, "<a>\u{FFFD}</a>");
        assert!(!d.notes.is_empty());
    }

    #[test]
    fn charset_parameter_parsing() {
        assert_eq!(http_charset("text/xml; charset=UTF-8").as_deref(), Some("UTF-8"));
        assert_eq!(http_charset("text/xml;Charset='gbk' ; q=1").as_deref(), Some("gbk"));
        assert_eq!(http_charset("text/xml"), None);
        assert_eq!(xml_declared_encoding(b"  <?xml version='1.0' encoding = \"big5\" ?>").as_deref(), Some("big5"));
        assert_eq!(xml_declared_encoding(b"<?xml version='1.0'?><encoding/>"), None);
    }
}
