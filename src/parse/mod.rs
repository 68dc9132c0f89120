//! Parsing: feed bytes → [`ParsedFeed`] with plain-text fields, absolute links and UTC dates.
//!
//! Pure and synchronous: no IO. feed-rs does the format work (RSS 0.9x/1.0/2.0, Atom, JSON
//! Feed); this module decides item identity, reduces HTML to text and guards against panics.

mod bound;
pub mod clean;
pub mod dates;
mod encoding;
mod extract;
mod repair;

use std::time::Duration;

use feed_rs::model::{Entry, Feed, Text};
use url::Url;

use crate::markup;
use crate::model::{Item, ParsedFeed};

/// Documents longer than this are cut here before parsing (the repairs then close what the
/// cut left open), so no input makes the work unbounded.
pub const MAX_INPUT: usize = 32 * 1024 * 1024;

/// Items read from one document unless `[daemon] max_items` says otherwise.
pub const DEFAULT_MAX_ITEMS: usize = 2000;

/// How much of one document a parse takes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// At most this many items are read: the newest (by date when the items carry one, else
    /// the first in document order), and the cut is noted in the recoveries. The rest of the
    /// document is dropped before feed-rs sees it, so the memory of a parse follows the
    /// document's size, not its item count.
    pub max_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_items: DEFAULT_MAX_ITEMS }
    }
}

/// Errors of the parse stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The document is not a feed pantau can read.
    #[error("not a readable feed: {0}")]
    Invalid(String),
    /// The parser itself failed (a bug in it); the poll of this one feed fails, nothing else.
    #[error("feed parser crashed on this document: {0}")]
    Panicked(String),
}

/// Parse `bytes` as a feed fetched from `base_url` (used to resolve relative links).
pub fn parse_feed(bytes: &[u8], base_url: Option<&str>) -> Result<ParsedFeed, ParseError> {
    parse_feed_with(bytes, None, base_url)
}

/// Parse `bytes` as a feed served with the HTTP `content_type` (its charset, if any, decides
/// the encoding unless a byte-order mark says otherwise) from `base_url`.
///
/// Whatever the bytes, this returns: documents feed-rs rejects are repaired and retried, and
/// as a last resort read by a tolerant scanner; [`ParsedFeed::recoveries`] says which of these
/// the document needed. A panic anywhere inside is contained and reported as
/// [`ParseError::Panicked`].
/// An HTML page's bytes as UTF-8: a byte-order mark first, then the HTTP charset, then the
/// page's own `<meta charset>` (or `http-equiv` Content-Type), then UTF-8 or a legacy guess.
/// Never fails: undecodable bytes become U+FFFD.
pub fn decode_html(bytes: &[u8], content_type: Option<&str>) -> String {
    let declared = content_type.and_then(encoding::http_charset);
    let meta = match declared {
        Some(_) => None,
        None => encoding::html_meta_charset(bytes).map(|c| format!("text/html; charset={c}")),
    };
    encoding::to_utf8(bytes, meta.as_deref().or(content_type)).text.into_owned()
}

pub fn parse_feed_with(
    bytes: &[u8],
    content_type: Option<&str>,
    base_url: Option<&str>,
) -> Result<ParsedFeed, ParseError> {
    parse_feed_limited(bytes, content_type, base_url, Limits::default())
}

/// [`parse_feed_with`] within `limits`.
pub fn parse_feed_limited(
    bytes: &[u8],
    content_type: Option<&str>,
    base_url: Option<&str>,
    limits: Limits,
) -> Result<ParsedFeed, ParseError> {
    contain(|| parse_document(bytes, content_type, base_url, limits))?
}

/// Run `f`, turning a panic into [`ParseError::Panicked`].
fn contain<T>(f: impl FnOnce() -> T) -> Result<T, ParseError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        ParseError::Panicked(msg)
    })
}

fn parse_document(
    bytes: &[u8],
    content_type: Option<&str>,
    base_url: Option<&str>,
    limits: Limits,
) -> Result<ParsedFeed, ParseError> {
    let mut notes: Vec<String> = Vec::new();
    let bytes = if bytes.len() > MAX_INPUT {
        notes.push(format!("input cut at {MAX_INPUT} bytes"));
        &bytes[..MAX_INPUT]
    } else {
        bytes
    };
    let decoded = encoding::to_utf8(bytes, content_type);
    notes.extend(decoded.notes);
    let text = decoded.text;
    // A base URL that does not parse is ignored rather than failing the feed.
    let base = base_url.and_then(|u| Url::parse(u).ok());
    let base_str = base.as_ref().map(|u| u.as_str().to_string());
    let ctx = Ctx { base: base.as_ref(), base_str: base_str.as_deref(), max_items: limits.max_items };
    let mut result = match text.trim_start().as_bytes().first() {
        Some(b'{') => parse_json(&text, &ctx, &mut notes),
        _ if text.contains('<') => parse_xml(&text, &ctx, &mut notes),
        _ => Err(ParseError::Invalid("neither XML nor JSON".into())),
    }?;
    // Documents the pre-count could not cut (a JSON Feed the repairs had to close) are cut here.
    if let Some(found) = bound::items(&mut result.items, limits.max_items) {
        notes.push(bound::note(limits.max_items, found));
    }
    result.recoveries = notes;
    clean::feed(&mut result);
    if !text.trim_start().starts_with('{') {
        result.ttl = publisher_ttl(&text);
    }
    Ok(result)
}

/// Longest `<ttl>` honoured, so a typo in a feed cannot stop its polling for months.
const MAX_TTL: Duration = Duration::from_secs(7 * 86400);

/// The publisher's own minimum polling interval, from the channel-level RSS `<ttl>` (minutes)
/// or the syndication module's `sy:updatePeriod` × `sy:updateFrequency` (RSS 1.0, and RSS 2.0
/// from many CMSs); the larger when both are given. Only the part of the document before the
/// first item is read.
pub(crate) fn publisher_ttl(doc: &str) -> Option<Duration> {
    let mut open: Option<&str> = None;
    let (mut ttl, mut period, mut frequency) = (None, None, None);
    for (tok, _, _) in markup::scan::Scanner::new(doc) {
        match tok {
            markup::scan::Tok::Start { name, self_closing, .. } => {
                let l = markup::scan::local(name);
                if l.eq_ignore_ascii_case("item") || l.eq_ignore_ascii_case("entry") {
                    break;
                }
                open = (!self_closing).then_some(l);
            }
            markup::scan::Tok::Text(t) | markup::scan::Tok::CData { body: t, .. } => {
                let t = t.trim();
                match open {
                    Some("ttl") => ttl = t.parse::<u64>().ok().filter(|m| *m > 0).map(|m| m.saturating_mul(60)),
                    Some("updatePeriod") => {
                        period = match t.to_ascii_lowercase().as_str() {
                            "hourly" => Some(3600),
                            "daily" => Some(86400),
                            "weekly" => Some(7 * 86400),
                            "monthly" => Some(30 * 86400),
                            "yearly" => Some(365 * 86400),
                            _ => None,
                        }
                    }
                    Some("updateFrequency") => frequency = t.parse::<u64>().ok().filter(|f| *f > 0),
                    _ => {}
                }
            }
            markup::scan::Tok::End { .. } => open = None,
            _ => {}
        }
    }
    let sy = period.map(|p: u64| p / frequency.unwrap_or(1));
    ttl.into_iter().chain(sy).max().map(|s| Duration::from_secs(s).min(MAX_TTL))
}

struct Ctx<'a> {
    base: Option<&'a Url>,
    base_str: Option<&'a str>,
    /// [`Limits::max_items`].
    max_items: usize,
}

/// feed-rs on UTF-8 input, with pantau's date parser and panics contained.
fn feed_rs(doc: &str, ctx: &Ctx<'_>) -> Result<ParsedFeed, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(ctx.base_str)
        // pantau derives its own key for items without an id; an empty id marks them.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .timestamp_parser(dates::parse_date)
        .build();
    match contain(|| parser.parse(doc.as_bytes()))? {
        Ok(feed) => Ok(convert(feed, ctx.base)),
        Err(e) => Err(ParseError::Invalid(e.to_string())),
    }
}

fn parse_xml(text: &str, ctx: &Ctx<'_>, notes: &mut Vec<String>) -> Result<ParsedFeed, ParseError> {
    let (doc, had_subset) = repair::strip_prolog(text);
    if had_subset {
        notes.push("removed the DTD internal subset".into());
    }
    let cut = bound::xml(doc, ctx.max_items).map(|(cut, found)| {
        notes.push(bound::note(ctx.max_items, found));
        cut
    });
    let doc = cut.as_deref().unwrap_or(doc);
    let mut best: Option<ParsedFeed> = None;
    let mut error = match feed_rs(doc, ctx) {
        Ok(f) if !f.items.is_empty() || !has_items(doc) => return Ok(f),
        Ok(f) => {
            best = Some(f);
            None
        }
        Err(e) => Some(e),
    };
    let (fixed, fixes) = repair::repair_xml(doc);
    if !fixes.0.is_empty() {
        match feed_rs(&fixed, ctx) {
            Ok(f) if best.as_ref().is_none_or(|b| f.items.len() > b.items.len()) => {
                notes.extend(fixes.0.iter().map(|n| n.to_string()));
                if !f.items.is_empty() || !has_items(doc) {
                    return Ok(f);
                }
                best = Some(f);
            }
            Ok(_) => {}
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    if let Some(f) = extract::extract_xml(doc, ctx.base, ctx.max_items) {
        let found = f.items.len();
        if best.as_ref().is_none_or(|b| found > b.items.len()) {
            notes.push("extracted with the tolerant scanner".into());
            return Ok(f);
        }
    }
    best.ok_or_else(|| error.unwrap_or_else(|| ParseError::Invalid("no feed found".into())))
}

/// Whether the document has an `<item>` or `<entry>` element anywhere.
fn has_items(doc: &str) -> bool {
    markup::scan::Scanner::new(doc).any(|(t, _, _)| match t {
        markup::scan::Tok::Start { name, .. } => {
            let l = markup::scan::local(name);
            l.eq_ignore_ascii_case("item") || l.eq_ignore_ascii_case("entry")
        }
        _ => false,
    })
}

fn parse_json(text: &str, ctx: &Ctx<'_>, notes: &mut Vec<String>) -> Result<ParsedFeed, ParseError> {
    let cut = bound::json(text, ctx.max_items).map(|(cut, found)| {
        notes.push(bound::note(ctx.max_items, found));
        cut
    });
    let text = cut.as_deref().unwrap_or(text);
    let error = match feed_rs(text, ctx) {
        Ok(f) => return Ok(f),
        Err(e) => e,
    };
    let Some((value, fixes)) = repair::repair_json(text) else {
        return Err(error);
    };
    if let Ok(doc) = serde_json::to_string(&value) {
        if let Ok(f) = feed_rs(&doc, ctx) {
            notes.extend(fixes.0.iter().map(|n| n.to_string()));
            return Ok(f);
        }
    }
    match extract::extract_json(&value, ctx.base, ctx.max_items) {
        Some(f) => {
            notes.extend(fixes.0.iter().map(|n| n.to_string()));
            notes.push("extracted with the tolerant scanner".into());
            Ok(f)
        }
        None => Err(error),
    }
}

fn convert(feed: Feed, base: Option<&Url>) -> ParsedFeed {
    let link = feed.links.first().map(|l| absolute(&l.href, base));
    ParsedFeed {
        title: feed.title.as_ref().map(|t| one_line_owned(text_of(t))).filter(|t| !t.is_empty()),
        link,
        items: feed.entries.into_iter().map(|e| item(e, base)).collect(),
        recoveries: Vec::new(),
        ttl: None,
    }
}

fn item(e: Entry, base: Option<&Url>) -> Item {
    let title = e.title.as_ref().map(|t| one_line_owned(text_of(t))).unwrap_or_default();
    let link = e
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| e.links.first())
        .map(|l| absolute(l.href.trim(), base))
        .filter(|l| !l.is_empty());
    let summary = e.summary.as_ref().map(text_of).unwrap_or_default();
    let content = e
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref().map(|b| reduce(b, c.content_type.as_str())))
        .unwrap_or_default();
    let mut it = Item {
        id: String::new(),
        title,
        link,
        published: e.published,
        updated: e.updated,
        authors: e.authors.iter().map(|p| one_line(&p.name)).filter(|n| !n.is_empty()).collect(),
        categories: e
            .categories
            .iter()
            .map(|c| one_line(c.label.as_deref().unwrap_or(&c.term)))
            .filter(|c| !c.is_empty())
            .collect(),
        summary,
        content,
        article: String::new(),
    };
    it.id = item_key(e.id.trim(), &it);
    it
}

/// The item's identity: its guid/id, else its link, else a hash of title, date and content.
pub fn item_key(guid: &str, item: &Item) -> String {
    if !guid.is_empty() {
        return guid.to_string();
    }
    if let Some(link) = &item.link {
        return link.clone();
    }
    crate::identity::hash_key(item)
}

fn text_of(t: &Text) -> String {
    reduce(&t.content, t.content_type.as_str())
}

/// Reduce a text construct to plain text; only explicitly plain text is left as written.
fn reduce(body: &str, content_type: &str) -> String {
    if content_type.eq_ignore_ascii_case("text/plain") && !looks_like_markup(body) {
        let text = markup::decode_entities(body);
        match text.trim() {
            t if t.len() == text.len() => text,
            t => t.to_string(),
        }
    } else {
        markup::html_to_text(body)
    }
}

/// RSS calls every field text/plain, yet most carry escaped HTML: look before trusting the label.
fn looks_like_markup(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr_iter(b'<', b)
        .any(|i| b.get(i + 1).is_some_and(|&c| c.is_ascii_alphabetic() || c == b'/' || c == b'!'))
}

/// `s` with its whitespace runs made single spaces, and trimmed.
fn one_line(s: &str) -> String {
    if is_one_line(s) {
        return s.to_string();
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// [`one_line`] without a copy when `s` is one line already.
fn one_line_owned(s: String) -> String {
    if is_one_line(&s) {
        s
    } else {
        one_line(&s)
    }
}

/// Whether [`one_line`] would leave `s` as it is: no whitespace but single inner spaces.
fn is_one_line(s: &str) -> bool {
    let mut after_space = true;
    for c in s.chars() {
        if c == ' ' {
            if after_space {
                return false;
            }
            after_space = true;
        } else if c.is_whitespace() {
            return false;
        } else {
            after_space = false;
        }
    }
    s.is_empty() || !after_space
}

fn absolute(href: &str, base: Option<&Url>) -> String {
    match base.map(|b| b.join(href)) {
        Some(Ok(u)) => u.to_string(),
        _ => href.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    const SAMPLE: &[u8] = include_bytes!("../../tests/data/world-news.rss");

    #[test]
    fn the_publisher_ttl_comes_from_rss_ttl_or_the_syndication_module() {
        let rss = |channel: &str| {
            format!(
                "<rss version=\"2.0\" xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\"><channel>\
                 <title>t</title>{channel}<item><title>a</title><ttl>999</ttl></item></channel></rss>"
            )
        };
        let ttl = |channel: &str| parse_feed(rss(channel).as_bytes(), None).unwrap().ttl.map(|d| d.as_secs());
        assert_eq!(ttl("<ttl>30</ttl>"), Some(1800));
        assert_eq!(
            ttl("<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>"),
            Some(1800)
        );
        assert_eq!(ttl("<sy:updatePeriod> daily </sy:updatePeriod>"), Some(86400));
        // Both: the larger floor wins.
        assert_eq!(ttl("<ttl>5</ttl><sy:updatePeriod>hourly</sy:updatePeriod>"), Some(3600));
        // Nonsense is ignored; an item's own <ttl> is not the channel's; absurd values are capped.
        assert_eq!(ttl("<ttl>soon</ttl><sy:updatePeriod>often</sy:updatePeriod>"), None);
        assert_eq!(ttl(""), None);
        assert_eq!(ttl("<ttl>999999</ttl>"), Some(7 * 86400));
        assert_eq!(ttl("<ttl>99999999999999999999</ttl>"), None, "not a u64: ignored");
        assert_eq!(ttl("<ttl>18446744073709551615</ttl>"), Some(7 * 86400), "no overflow");
    }

    #[test]
    fn sample_feed_items_are_plain_text_with_guid_keys() {
        let f = parse_feed(SAMPLE, Some("https://news.example.id/world.rss")).unwrap();
        assert_eq!(f.title.as_deref(), Some("Sample Indonesian world news"));
        assert_eq!(f.items.len(), 3);
        let first = &f.items[0];
        assert_eq!(first.title, "Intelijen AS: Rusia Beli Roket dari Korut untuk Perangi Ukraina");
        assert_eq!(first.id, "https://news.example.id/world/intelijen-as-rusia-beli-roket-dari-korut");
        assert_eq!(first.authors, ["Syahreza Zanskie"]);
        assert_eq!(first.published.unwrap().to_rfc3339(), "2022-09-06T07:05:00+00:00");
        assert!(first.content.starts_with("Tangerang Selatan, IDN Times"), "{}", first.content);
        assert!(!first.content.contains("<p>"));
        assert!(first.content.contains("\n\n"), "paragraphs are kept apart");
    }

    #[test]
    fn missing_guid_falls_back_to_link_then_hash() {
        let rss = br#"<rss version="2.0"><channel><title>t</title>
            <item><title>A</title><link>/a</link></item>
            <item><title>B</title><description>&lt;b&gt;bold&lt;/b&gt; text</description></item>
            </channel></rss>"#;
        let f = parse_feed(rss, Some("https://ex.id/feed")).unwrap();
        assert_eq!(f.items[0].id, "https://ex.id/a");
        assert_eq!(f.items[0].link.as_deref(), Some("https://ex.id/a"));
        assert!(f.items[1].id.starts_with("sha256:"));
        assert_eq!(f.items[1].summary, "bold text");
        // The hash is stable across parses.
        assert_eq!(parse_feed(rss, Some("https://ex.id/feed")).unwrap().items[1].id, f.items[1].id);
    }

    /// Whether `s` holds a character no terminal should be sent.
    fn dirty(s: &str) -> bool {
        s.chars().any(markup::is_unsafe)
    }

    fn assert_clean(f: &ParsedFeed) {
        assert!(!f.items.is_empty());
        assert!(!dirty(f.title.as_deref().unwrap_or("")), "{:?}", f.title);
        for it in &f.items {
            let fields = [&it.title, &it.summary, &it.content].into_iter().chain(&it.authors).chain(&it.categories);
            for field in fields {
                assert!(!dirty(field), "{field:?}");
            }
        }
    }

    #[test]
    fn control_characters_never_reach_item_text() {
        // Raw, as numeric references, and as references inside escaped HTML; in RSS, Atom and
        // JSON Feed; read by feed-rs and by the tolerant scanner.
        let rss = "<rss version=\"2.0\"><channel><title>F\u{1b}]0;x\u{7}</title><item><guid>g1</guid>\
                   <title>\u{1b}[31mMerah&#27;[0m\u{202E}</title><author>a@b (Nama\u{7})</author>\
                   <category>k&#x1b;at</category><description>&lt;b&gt;isi&amp;#27;[2J&lt;/b&gt;\u{9b}</description>\
                   </item></channel></rss>";
        let f = parse_feed(rss.as_bytes(), None).unwrap();
        assert_clean(&f);
        let it = &f.items[0];
        assert_eq!(it.title, "Merah");
        assert_eq!(it.summary, "isi\u{203A}", "C1 bytes of the document are windows-1252 punctuation");
        assert_eq!(it.categories, ["kat"]);
        assert_eq!(f.title.as_deref(), Some("F"));

        let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title><id>a</id><entry><id>e</id>\
                    <title type=\"html\">&lt;i&gt;x&lt;/i&gt;&amp;#7;y</title><author><name>N\u{1b}c</name></author>\
                    <content type=\"text\">baris\r\nkedua\u{8}</content></entry></feed>";
        let f = parse_feed(atom.as_bytes(), None).unwrap();
        assert_clean(&f);
        assert_eq!((f.items[0].title.as_str(), f.items[0].content.as_str()), ("xy", "baris\nkedua"));
        assert_eq!(f.items[0].authors, ["Nc"]);

        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1",
            "title":"\u001b[1mTebal","content_text":"a\u0007b","tags":["\u202et"],"authors":[{"name":"\u0000z"}]}]}"#;
        let f = parse_feed(json.as_bytes(), None).unwrap();
        assert_clean(&f);
        assert_eq!((f.items[0].title.as_str(), f.items[0].content.as_str()), ("Tebal", "ab"));

        let scanned = "<CHANNEL><TITLE>C</TITLE><ITEM HREF=\"http://c/1\"><TITLE>\u{1b}[5mOne</TITLE></ITEM></CHANNEL>";
        let f = parse_feed(scanned.as_bytes(), None).unwrap();
        assert_clean(&f);
        assert_eq!(f.items[0].title, "One");
    }

    #[test]
    fn every_item_field_is_bounded_where_items_are_built() {
        let big = "Judul ".repeat(1_000_000);
        let authors: String =
            (0..80).map(|i| format!("<author><name>{i}{}</name></author>", "n".repeat(500))).collect();
        let categories: String = (0..80).map(|i| format!("<category term=\"c{i}\"/>")).collect();
        let atom = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{big}</title><id>a</id><entry><id>e</id>\
             <title>{big}</title>{authors}{categories}<summary>{big}</summary><content>{big}</content></entry></feed>"
        );
        let f = parse_feed(atom.as_bytes(), None).unwrap();
        let it = &f.items[0];
        assert_eq!(it.id, "e");
        assert_eq!(it.title.chars().count(), crate::model::TITLE_LIMIT);
        assert!(it.title.starts_with("Judul Judul") && it.title.ends_with("Jud…"), "{}", it.title);
        assert_eq!(f.title.as_deref().map(|t| t.chars().count()), Some(crate::model::TITLE_LIMIT));
        for text in [&it.summary, &it.content] {
            assert!(text.len() <= crate::model::TEXT_LIMIT && text.len() > crate::model::TEXT_LIMIT - 10);
            assert!(text.ends_with('…'));
        }
        assert_eq!(it.authors.len(), crate::model::AUTHORS_MAX);
        assert!(it.authors.iter().all(|a| a.chars().count() == crate::model::NAME_LIMIT && a.ends_with('…')));
        assert_eq!(it.categories.len(), crate::model::CATEGORIES_MAX);
        assert!(f.recoveries.contains(&"cut overlong fields of 1 item(s)".to_string()), "{:?}", f.recoveries);
        // A title at the limit is kept whole; one character more is cut.
        let title = |n: usize| {
            let doc = format!(
                "<rss version=\"2.0\"><channel><title>t</title><item><title>{}</title></item></channel></rss>",
                "é".repeat(n)
            );
            parse_feed(doc.as_bytes(), None).unwrap().items[0].title.clone()
        };
        assert!(!title(crate::model::TITLE_LIMIT).contains('…'));
        assert!(title(crate::model::TITLE_LIMIT + 1).ends_with("é…"));
    }

    #[test]
    fn one_invalid_byte_leaves_the_rest_of_a_utf8_feed_readable() {
        let mut doc = "<rss version=\"2.0\"><channel><title>t</title><item><title>Rudal dari Pyŏngyang</title>\
                       <description>Kim \u{2013} "
            .as_bytes()
            .to_vec();
        doc.push(0x96);
        doc.extend_from_slice(b" Jong-un</description></item></channel></rss>");
        let f = parse_feed(&doc, None).unwrap();
        assert_eq!(f.items[0].title, "Rudal dari Pyŏngyang");
        assert_eq!(f.items[0].summary, "Kim \u{2013} \u{FFFD} Jong-un");
        assert_eq!(f.recoveries, ["invalid UTF-8: 1 byte sequence(s) replaced"]);
    }

    /// A feed of `n` tiny items, the newest last in document order; every third item undated.
    fn tiny_items(n: usize) -> String {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let mut doc = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for i in 0..n {
            doc.push_str(&format!("<item><title>T{i}</title><guid>g{i}</guid>"));
            if i % 3 != 0 {
                let date = start + chrono::Duration::seconds(i as i64);
                doc.push_str(&format!("<pubDate>{}</pubDate>", date.to_rfc2822()));
            }
            doc.push_str("</item>");
        }
        doc + "</channel></rss>"
    }

    #[test]
    fn a_document_of_170000_tiny_items_gives_its_newest_max_items() {
        let doc = tiny_items(170_000);
        let f = parse_feed_limited(doc.as_bytes(), None, None, Limits { max_items: 2000 }).unwrap();
        assert_eq!(f.items.len(), 2000);
        assert_eq!(f.recoveries, ["kept the newest 2000 of 170000 items (max_items)"]);
        // The newest by date: the dated items among the last 3000 of the document.
        let ids: Vec<usize> = f.items.iter().map(|i| i.id[1..].parse().unwrap()).collect();
        let newest: Vec<usize> = (167_000..170_000).filter(|i| i % 3 != 0).collect();
        assert!(ids == newest, "kept the newest dated items, in document order: {:?}…", &ids[..10]);
        // The default bound, and the tolerant scanner's own.
        assert_eq!(parse_feed(doc.as_bytes(), None).unwrap().items.len(), DEFAULT_MAX_ITEMS);
        let broken = doc.replace("<rss version=\"2.0\">", "<rss version=\"2.0\"><x a=1 a=2>");
        let f = parse_feed_limited(broken.as_bytes(), None, None, Limits { max_items: 50 }).unwrap();
        assert_eq!(f.items.len(), 50);
        assert_eq!(f.recoveries[0], "kept the newest 50 of 170000 items (max_items)");
        // Below the bound nothing is cut or noted.
        let f = parse_feed_limited(tiny_items(10).as_bytes(), None, None, Limits { max_items: 10 }).unwrap();
        assert_eq!((f.items.len(), f.recoveries.len()), (10, 0));
    }

    #[test]
    fn a_json_feed_is_cut_to_its_newest_items_too() {
        let items: Vec<String> = (0..500)
            .map(|i| {
                format!(
                    r#"{{"id":"{i}","title":"T{i}","date_published":"2026-01-01T00:{:02}:{:02}Z"}}"#,
                    i / 60,
                    i % 60
                )
            })
            .collect();
        let doc =
            format!(r#"{{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{}]}}"#, items.join(","));
        let f = parse_feed_limited(doc.as_bytes(), None, None, Limits { max_items: 3 }).unwrap();
        assert_eq!(f.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["497", "498", "499"]);
        assert_eq!(f.recoveries, ["kept the newest 3 of 500 items (max_items)"]);
        // Truncated: the repairs close it, then the parsed items are cut the same way.
        let cut = &doc[..doc.len() - 30];
        let f = parse_feed_limited(cut.as_bytes(), None, None, Limits { max_items: 3 }).unwrap();
        assert_eq!(f.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["496", "497", "498"]);
        assert!(f.recoveries.contains(&"kept the newest 3 of 500 items (max_items)".to_string()), "{:?}", f.recoveries);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_feed(b"hello", None).is_err());
        assert!(parse_feed(b"<html><body>nope</body></html>", None).is_err());
        assert!(parse_feed(b"", None).is_err());
    }

    #[test]
    fn json_feed_and_atom_are_read() {
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","content_html":"<p>Korea Utara</p>","url":"https://j.example/1"}]}"#;
        let f = parse_feed(json, None).unwrap();
        assert_eq!(f.items[0].id, "1");
        assert_eq!(f.items[0].content, "Korea Utara");
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>x</id><updated>2024-01-01T00:00:00Z</updated>
            <entry><id>tag:a,1</id><title type="html">&lt;i&gt;Hi&lt;/i&gt; there</title><updated>2024-01-01T00:00:00Z</updated></entry></feed>"#;
        let f = parse_feed(atom, None).unwrap();
        assert_eq!(f.items[0].title, "Hi there");
        assert_eq!(f.items[0].id, "tag:a,1");
    }

    #[test]
    fn http_charset_is_honoured_and_noted() {
        let mut doc =
            b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title><item><title>".to_vec();
        doc.extend_from_slice(&encoding_rs::ISO_8859_2.encode("Łódź").0);
        doc.extend_from_slice(b"</title></item></channel></rss>");
        let f = parse_feed_with(&doc, Some("application/rss+xml; charset=ISO-8859-2"), None).unwrap();
        assert_eq!(f.items[0].title, "Łódź");
        assert_eq!(f.recoveries, ["transcoded from ISO-8859-2"]);
        assert!(parse_feed(SAMPLE, None).unwrap().recoveries.is_empty(), "a clean feed needs nothing");
    }

    #[test]
    fn utf16_documents_reach_feed_rs_as_utf8() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss version=\"2.0\"><channel><title>Ü</title><item><title>Berita</title><link>https://x.id/1</link></item></channel></rss>";
        let mut be = vec![0xFE, 0xFF];
        let mut le = Vec::new();
        for u in xml.encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
            le.extend_from_slice(&u.to_le_bytes());
        }
        for doc in [be, le] {
            let f = parse_feed(&doc, None).unwrap();
            assert_eq!(f.title.as_deref(), Some("Ü"));
            assert_eq!(f.items[0].title, "Berita");
            assert!(f.recoveries[0].starts_with("transcoded from UTF-16"), "{:?}", f.recoveries);
        }
    }

    #[test]
    fn rejected_documents_are_repaired_and_noted() {
        let f = parse_feed(b"<rss version=\"0.94\"><channel><title>t</title><item><title>A & B</title><pubDate>Senin, 06 Agu 2024 10:00:00 WIB</pubDate></item></channel></rss>", None).unwrap();
        assert_eq!(f.items[0].title, "A & B");
        assert_eq!(f.items[0].published.unwrap().to_rfc3339(), "2024-08-06T03:00:00+00:00");
        assert_eq!(f.recoveries, ["repaired: rss version", "repaired: bare ampersand"]);

        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="text/plain">F</title><id>f</id>
            <entry><id>e1</id><title type="application/xhtml+xml">E</title><summary type="">S</summary></entry></feed>"#;
        let f = parse_feed(atom, None).unwrap();
        assert_eq!((f.title.as_deref(), f.items[0].title.as_str(), f.items[0].summary.as_str()), (Some("F"), "E", "S"));
        assert_eq!(f.recoveries, ["repaired: atom text type"]);

        let json = br#"{"version":"1.0","items":[{"id":"1","title":"J","url":"https://j.id/1"}]}"#;
        let f = parse_feed(json, None).unwrap();
        assert_eq!(f.items[0].title, "J");
        assert_eq!(f.recoveries, ["repaired: json feed version", "repaired: json feed title"]);

        let cut = b"<rss version=\"2.0\"><channel><title>t</title><item><title>One</title></item><item><title>Two</ti";
        let f = parse_feed(cut, None).unwrap();
        assert_eq!(f.items.len(), 2);
        assert!(f.recoveries.contains(&"repaired: unclosed tags at the end".to_string()), "{:?}", f.recoveries);
    }

    #[test]
    fn atom03_feeds_give_their_entries() {
        let doc = br#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>old</title>
            <entry><title>E</title><link rel="alternate" type="text/html" href="http://x/e"/><id>tag:e</id>
            <issued>2004-01-02T03:04:05Z</issued><content type="text/html" mode="escaped">&lt;b&gt;hi&lt;/b&gt;</content></entry></feed>"#;
        let f = parse_feed(doc, None).unwrap();
        assert_eq!(f.items.len(), 1);
        let e = &f.items[0];
        assert_eq!((e.title.as_str(), e.link.as_deref(), e.id.as_str()), ("E", Some("http://x/e"), "tag:e"));
        assert_eq!(e.published.unwrap().to_rfc3339(), "2004-01-02T03:04:05+00:00");
        assert!(f.recoveries.contains(&"repaired: atom 0.3 namespace".to_string()));
    }

    #[test]
    fn tolerant_scanner_is_the_last_resort() {
        let doc = b"<CHANNEL HREF=\"http://c/\"><TITLE>C</TITLE><ITEM HREF=\"http://c/1\"><TITLE>One</TITLE></ITEM></CHANNEL>";
        let f = parse_feed(doc, None).unwrap();
        assert_eq!(f.items[0].link.as_deref(), Some("http://c/1"));
        assert_eq!(f.recoveries.last().map(String::as_str), Some("extracted with the tolerant scanner"));
    }

    #[test]
    fn entity_bombs_are_inert() {
        let mut doc = String::from("<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"aaaaaaaaaa\">");
        let mut prev = "a".to_string();
        for i in 0..10 {
            let name = format!("e{i}");
            doc.push_str(&format!("<!ENTITY {name} \"{}\">", format!("&{prev};").repeat(10)));
            prev = name;
        }
        doc.push_str(&format!(
            "]><rss version=\"2.0\"><channel><title>t</title><item><title>&{prev};</title></item></channel></rss>"
        ));
        let f = parse_feed(doc.as_bytes(), None).unwrap();
        assert!(f.items[0].title.len() < 100, "{}", f.items[0].title);
        assert!(f.recoveries.contains(&"removed the DTD internal subset".to_string()));
    }

    #[test]
    fn deep_nesting_and_large_inputs_are_bounded() {
        let deep = "<rss version=\"2.0\"><channel><title>t</title><item><title>x</title><description>".to_string()
            + &"<div>".repeat(100_000)
            + &"</div>".repeat(100_000)
            + "</description></item></channel></rss>";
        assert_eq!(parse_feed(deep.as_bytes(), None).unwrap().items.len(), 1);
        let unclosed = "<rss><channel><item><title>x</title>".to_string() + &"<div>".repeat(100_000);
        assert!(!parse_feed(unclosed.as_bytes(), None).unwrap().items.is_empty());
        let garbage: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let _ = parse_feed(&garbage, None);
        let _ = parse_feed(&[0xFE, 0xFF, 0xD8, 0x00], None);
        let _ = parse_feed(&[0x00, 0x00, 0xFE, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF], None);
    }
}
