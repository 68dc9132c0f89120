//! Item identity: which key an item is stored under, its normalised link, its story key for
//! cross-feed deduplication, and a content hash that tells an edit from a new item. Pure.

use std::collections::HashMap;

use url::Url;

use crate::model::Item;

/// How a feed's items are keyed (`id_policy` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdPolicy {
    /// The guid when it can be trusted, else the normalised link, else a hash.
    #[default]
    Auto,
    /// Always the guid (falling back to link, then hash, for items without one).
    Guid,
    /// Always the normalised link (hash when there is none).
    Link,
    /// Always a hash of title, date and content.
    Hash,
}

/// The identity of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The key the item is stored under in its feed.
    pub key: String,
    /// The normalised link, if the item has a link.
    pub link: Option<String>,
    /// The key of the story across feeds: the normalised link, else a title+date fingerprint.
    pub story: String,
    /// Hash of what a reader sees (title, summary, content): changes when the item is edited.
    pub content_hash: String,
}

impl Identity {
    /// The identity of an item whose `id` already is its key.
    pub fn of(item: &Item) -> Identity {
        Identity::derive(item, item.id.clone(), item.link.as_deref().map(normalize_link))
    }

    /// The identity of `item` under `key`, given its normalised link.
    fn derive(item: &Item, key: String, link: Option<String>) -> Identity {
        Identity {
            key,
            story: link.clone().unwrap_or_else(|| fingerprint(item)),
            link,
            content_hash: content_hash(item),
        }
    }
}

/// Query parameters that only track where a click came from.
const TRACKING: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "ref_src",
    "ref_url",
    "cmpid",
    "ito",
    "ncid",
    "spm",
    "__twitter_impression",
    "amp",
    "outputtype",
];

/// Normalise a link so that one story has one URL: lower-case scheme and host, no default
/// port, no fragment, no tracking parameters (`utm_*`, `fbclid`, …), sorted query, no AMP
/// variant (`/amp` path suffix, `amp=1`, `.amp.html`). Non-http(s) or unparsable links come back
/// trimmed as they are.
pub fn normalize_link(link: &str) -> String {
    let link = link.trim();
    let Ok(mut url) = Url::parse(link) else { return link.to_string() };
    if !matches!(url.scheme(), "http" | "https") {
        return link.to_string();
    }
    url.set_fragment(None);
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("utm_") && !TRACKING.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let path = url.path().to_string();
    let trimmed = if let Some(p) = path.strip_suffix("/amp").or_else(|| path.strip_suffix("/amp/")) {
        Some(if p.is_empty() { "/".to_string() } else { p.to_string() })
    } else {
        path.strip_suffix(".amp.html")
            .map(|p| format!("{p}.html"))
            .or_else(|| path.strip_suffix(".amp").map(str::to_string))
    };
    if let Some(p) = trimmed {
        url.set_path(&p);
    }
    // A lone trailing slash is the same page ("/a/" and "/a"), except for the root.
    let p = url.path().to_string();
    if p.len() > 1 && p.ends_with('/') {
        url.set_path(p.trim_end_matches('/'));
    }
    // Hosts are lower-cased by the parser; `www.` is kept: it can be another site.
    url.to_string()
}

use crate::model::hex_hash;

/// The hash of title, summary and content (what an edit changes).
pub fn content_hash(item: &Item) -> String {
    hex_hash(&[&item.title, &item.summary, &item.content])
}

/// A fingerprint of the story for items without a link: folded title and publication day.
pub fn fingerprint(item: &Item) -> String {
    let day = item.date().map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
    format!("fp:{}", hex_hash(&[&crate::rules::fold(&item.title), &day]))
}

/// The key of an item with neither guid nor link: a hash of title, date, summary and content
/// (the `sha256:` prefix is how [`has_guid`] tells it from a real guid).
pub(crate) fn hash_key(item: &Item) -> String {
    let date = item.date().map(|d| d.timestamp().to_string()).unwrap_or_default();
    format!("sha256:{}", hex_hash(&[&item.title, &date, &item.summary, &item.content]))
}

/// Whether the parser's id is a real guid rather than its own fallback (the link or a hash).
fn has_guid(item: &Item) -> bool {
    !item.id.is_empty() && !item.id.starts_with("sha256:") && Some(&item.id) != item.link.as_ref()
}

/// Identities for every item of one document under `policy`.
///
/// In `Auto`, a guid that the document gives to two different stories is not trusted: those
/// items are keyed by link (or hash) instead, so that a repeated guid never hides an item.
pub fn identify(items: &[Item], policy: IdPolicy) -> Vec<Identity> {
    let mut guid_stories: HashMap<&str, Vec<Option<String>>> = HashMap::new();
    let links: Vec<Option<String>> = items.iter().map(|i| i.link.as_deref().map(normalize_link)).collect();
    if policy == IdPolicy::Auto {
        for (item, link) in items.iter().zip(&links) {
            if has_guid(item) {
                guid_stories
                    .entry(item.id.as_str())
                    .or_default()
                    .push(link.clone().or_else(|| Some(item.title.clone())));
            }
        }
    }
    items
        .iter()
        .zip(links)
        .map(|(item, link)| {
            let by_link_or_hash = || link.clone().unwrap_or_else(|| hash_key(item));
            let key = match policy {
                IdPolicy::Hash => hash_key(item),
                IdPolicy::Link => by_link_or_hash(),
                IdPolicy::Guid if has_guid(item) => item.id.clone(),
                IdPolicy::Guid => by_link_or_hash(),
                IdPolicy::Auto if has_guid(item) => {
                    let stories = &guid_stories[item.id.as_str()];
                    let conflicting = stories.iter().any(|s| s != &stories[0]);
                    if conflicting {
                        by_link_or_hash()
                    } else {
                        item.id.clone()
                    }
                }
                IdPolicy::Auto => by_link_or_hash(),
            };
            Identity::derive(item, key, link)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_lose_tracking_fragments_default_ports_and_amp() {
        let cases = [
            ("HTTPS://News.Example.ID:443/a/b?utm_source=x&utm_medium=y#top", "https://news.example.id/a/b"),
            ("http://ex.id:80/a?b=2&a=1&fbclid=zz", "http://ex.id/a?a=1&b=2"),
            ("https://ex.id/berita/123/amp", "https://ex.id/berita/123"),
            ("https://ex.id/berita/123/amp/", "https://ex.id/berita/123"),
            ("https://ex.id/berita/123.amp.html", "https://ex.id/berita/123.html"),
            ("https://ex.id/berita/123?amp=1", "https://ex.id/berita/123"),
            ("https://ex.id/berita/123/", "https://ex.id/berita/123"),
            ("https://ex.id/", "https://ex.id/"),
            ("https://ex.id/?gclid=1", "https://ex.id/"),
            ("  not a url ", "not a url"),
            ("mailto:a@b.c", "mailto:a@b.c"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_link(input), want, "{input}");
        }
    }

    fn item(id: &str, link: Option<&str>, title: &str) -> Item {
        Item { id: id.into(), link: link.map(Into::into), title: title.into(), ..Item::default() }
    }

    #[test]
    fn auto_trusts_unique_guids_and_distrusts_repeated_ones() {
        let items = [
            item("g1", Some("https://ex.id/a?utm_source=rss"), "A"),
            item("same", Some("https://ex.id/b"), "B"),
            item("same", Some("https://ex.id/c"), "C"),
            item("https://ex.id/d", Some("https://ex.id/d"), "D"),
        ];
        let ids = identify(&items, IdPolicy::Auto);
        assert_eq!(ids[0].key, "g1");
        assert_eq!(ids[0].story, "https://ex.id/a");
        assert_eq!(ids[1].key, "https://ex.id/b", "a repeated guid must not hide an item");
        assert_eq!(ids[2].key, "https://ex.id/c");
        assert_eq!(ids[3].key, "https://ex.id/d");
        // The same item listed twice (same guid, same link) keeps its guid.
        let twice = [item("g", Some("https://ex.id/a"), "A"), item("g", Some("https://ex.id/a"), "A")];
        assert!(identify(&twice, IdPolicy::Auto).iter().all(|i| i.key == "g"));
    }

    #[test]
    fn explicit_policies() {
        let items = [item("g1", Some("https://ex.id/a#x"), "A"), item("", None, "B")];
        assert_eq!(identify(&items, IdPolicy::Guid)[0].key, "g1");
        assert_eq!(identify(&items, IdPolicy::Link)[0].key, "https://ex.id/a");
        assert!(identify(&items, IdPolicy::Hash)[0].key.starts_with("sha256:"));
        let no_link = &identify(&items, IdPolicy::Link)[1];
        assert!(no_link.key.starts_with("sha256:"));
        assert!(no_link.story.starts_with("fp:"));
    }

    #[test]
    fn content_hash_changes_with_edits_and_fingerprint_ignores_case() {
        let a = item("g", None, "Korea Utara");
        let mut b = a.clone();
        b.content = "edited".into();
        assert_ne!(content_hash(&a), content_hash(&b));
        assert_eq!(fingerprint(&a), fingerprint(&item("x", None, "KOREA utara")));
    }
}
