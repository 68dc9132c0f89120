//! Parsing: feed bytes → [`ParsedFeed`] with plain-text fields, absolute links and UTC dates.
//!
//! Pure and synchronous: no IO. feed-rs does the format work (RSS 0.9x/1.0/2.0, Atom, JSON
//! Feed); this module decides item identity, reduces HTML to text and guards against panics.

pub mod html;
#[cfg(test)]
mod probe;

use feed_rs::model::{Entry, Feed, Text};
use url::Url;

use crate::model::{Item, ParsedFeed};

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
    let base = base_url.and_then(|u| Url::parse(u).ok());
    let parser = feed_rs::parser::Builder::new()
        .base_uri(base_url)
        // pantau derives its own key for items without an id; an empty id marks them.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .build();
    // A parser bug must cost one poll of one feed, never the daemon.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(bytes)));
    let feed = match result {
        Ok(Ok(feed)) => feed,
        Ok(Err(e)) => return Err(ParseError::Invalid(e.to_string())),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            return Err(ParseError::Panicked(msg));
        }
    };
    Ok(convert(feed, base.as_ref()))
}

fn convert(feed: Feed, base: Option<&Url>) -> ParsedFeed {
    let link = feed.links.first().map(|l| absolute(&l.href, base));
    ParsedFeed {
        title: feed.title.as_ref().map(text_of).map(|t| one_line(&t)).filter(|t| !t.is_empty()),
        link,
        items: feed.entries.into_iter().map(|e| item(e, base)).collect(),
        recoveries: Vec::new(),
    }
}

fn item(e: Entry, base: Option<&Url>) -> Item {
    let title = e.title.as_ref().map(text_of).map(|t| one_line(&t)).unwrap_or_default();
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
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let date = item.date().map(|d| d.timestamp().to_string()).unwrap_or_default();
    for part in [item.title.as_str(), date.as_str(), item.summary.as_str(), item.content.as_str()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let hex: String = h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn text_of(t: &Text) -> String {
    reduce(&t.content, t.content_type.as_str())
}

/// Reduce a text construct to plain text; only explicitly plain text is left as written.
fn reduce(body: &str, content_type: &str) -> String {
    if content_type.eq_ignore_ascii_case("text/plain") && !looks_like_markup(body) {
        html::decode_entities(body).trim().to_string()
    } else {
        html::html_to_text(body)
    }
}

/// RSS calls every field text/plain, yet most carry escaped HTML: look before trusting the label.
fn looks_like_markup(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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

    const SAMPLE: &[u8] = include_bytes!("../../tests/data/world-news.rss");

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
}
