//! Plain domain types shared by every stage: feeds as parsed, items, alerts. No IO here.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A feed document after parsing: its own metadata and the items it carried, in document order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFeed {
    /// The feed's title as plain text, if it has one.
    pub title: Option<String>,
    /// The feed's home page, if it names one.
    pub link: Option<String>,
    /// Every item found in the document.
    pub items: Vec<Item>,
    /// Which recoveries the document needed before it could be read (transcoding, repairs,
    /// the tolerant extractor), for logs and feed health; empty for a clean document.
    pub recoveries: Vec<String>,
    /// The publisher's minimum polling interval (`<ttl>`, `sy:updatePeriod`), if it states one.
    pub ttl: Option<std::time::Duration>,
}

/// One story as pantau sees it: plain text fields, absolute links, UTC dates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    /// The item's identity within its feed (see [`crate::parse::item_key`]): the guid/id when the feed
    /// gives one, else the link, else a hash of title, date and content.
    pub id: String,
    /// Headline as plain text.
    pub title: String,
    /// The item's link, absolute.
    pub link: Option<String>,
    /// When the item was first published, if the feed says.
    pub published: Option<DateTime<Utc>>,
    /// When the item was last updated, if the feed says.
    pub updated: Option<DateTime<Utc>>,
    /// Author names.
    pub authors: Vec<String>,
    /// Category or tag labels.
    pub categories: Vec<String>,
    /// Short description as plain text (HTML reduced to what a reader sees).
    pub summary: String,
    /// Full content as plain text (HTML reduced to what a reader sees).
    pub content: String,
    /// The article's main text, fetched from the item's link (`fetch_article`); empty when
    /// none was fetched.
    pub article: String,
}

impl Item {
    /// The best date the feed gives for this item: published, else updated.
    pub fn date(&self) -> Option<DateTime<Utc>> {
        self.published.or(self.updated)
    }
}

/// A configured feed as the pipeline refers to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRef {
    /// The unique name from the config.
    pub name: String,
    /// The URL pantau polls.
    pub url: String,
}

/// An alert still to be written: one (item, rule, sink) with its rendered CONTRACT §4 payload.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    /// Stable id: the same item, rule and sink always give the same id (see [`alert_id`]).
    pub id: String,
    /// The rule that matched.
    pub rule: String,
    /// The sink that receives the alert.
    pub sink: String,
    /// The words and phrases of the rule that hit, folded.
    pub matched: Vec<String>,
    /// The JSON body of CONTRACT §4, rendered once so that delivery never depends on a later
    /// config (a renamed rule or feed must not change what an already queued alert says).
    pub payload: String,
    /// The rule alerts on every copy of a story (`stories = "every"`), not only the first.
    pub every_copy: bool,
}

/// An alert taken from the outbox for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxAlert {
    /// The stable alert id, sent as the idempotency key.
    pub id: String,
    /// The sink it is for.
    pub sink: String,
    /// The CONTRACT §4 JSON body.
    pub payload: String,
    /// How many delivery attempts were made before this one.
    pub attempts: u32,
    /// When the alert was queued.
    pub created_at: DateTime<Utc>,
}

/// The CONTRACT §4 payload, as serialised for webhooks and stored in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct AlertPayload {
    /// Stable alert id.
    pub id: String,
    /// Rule name.
    pub rule: String,
    /// The feed that carried the item.
    pub feed: PayloadFeed,
    /// The item itself.
    pub item: PayloadItem,
    /// The words and phrases that hit, folded.
    pub matched: Vec<String>,
    /// For each matched word or phrase, the fields it occurs in (`title`, `summary`,
    /// `content`, `article`, …): why the alert fired.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub matched_in: std::collections::BTreeMap<String, Vec<String>>,
    /// When the alert was created, RFC 3339.
    pub created_at: String,
}

/// The `feed` object of the payload.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct PayloadFeed {
    /// Feed name from the config.
    pub name: String,
    /// Feed URL.
    pub url: String,
}

/// The `item` object of the payload.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct PayloadItem {
    /// Item guid or derived key.
    pub id: String,
    /// Headline.
    pub title: String,
    /// Link, if any.
    pub link: Option<String>,
    /// RFC 3339 publication date or null.
    pub published: Option<String>,
    /// Plain-text summary, at most [`SUMMARY_LIMIT`] characters.
    pub summary: String,
    /// Author names.
    pub authors: Vec<String>,
    /// Whether the article's text was fetched from the item's page and matched.
    #[serde(default)]
    pub article: bool,
}

/// How many characters of summary an alert carries.
pub const SUMMARY_LIMIT: usize = 500;

/// The stable id of the alert for (feed, item key, rule, sink): a hex SHA-256 prefix.
///
/// It only depends on names and the item key, so a restart, a re-poll or a retry always
/// produces the same id, which receivers use to drop duplicates.
pub fn alert_id(feed: &str, item_key: &str, rule: &str, sink: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [feed, item_key, rule, sink] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Cut `text` to at most `max` characters, on a character boundary, marking the cut with `…`.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// Longest item or feed title kept, in characters. Items are capped where they are parsed, so
/// storage, matching, logs and every message see at most this.
pub const TITLE_LIMIT: usize = 1_000;
/// Longest author name or category label kept, in characters.
pub const NAME_LIMIT: usize = 200;
/// Most author names kept per item.
pub const AUTHORS_MAX: usize = 50;
/// Most category labels kept per item.
pub const CATEGORIES_MAX: usize = 50;
/// Longest summary or content kept, in bytes of UTF-8: whole articles fit, and rules match all
/// of them, yet no item holds more than this however large its feed.
pub const TEXT_LIMIT: usize = 1024 * 1024;

/// Cut `text` in place to at most `max` characters, marking the cut with `…` (which counts);
/// untouched when it fits. Returns whether it was cut.
pub fn cap_chars(text: &mut String, max: usize) -> bool {
    // The byte offset of the first character past the limit, if there is one.
    let Some((over, _)) = text.char_indices().nth(max) else { return false };
    if max == 0 {
        text.clear();
        return true;
    }
    let keep = text[..over].char_indices().nth(max.saturating_sub(1)).map_or(over, |(i, _)| i);
    mark_cut(text, keep);
    true
}

/// Cut `text` in place to at most `max` bytes, on a character boundary, marking the cut with
/// `…` (which counts); untouched when it fits. Returns whether it was cut.
pub fn cap_bytes(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let room = max.checked_sub('…'.len_utf8());
    let mut keep = room.unwrap_or(max);
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    match room {
        Some(_) => mark_cut(text, keep),
        // No room for the mark.
        None => text.truncate(keep),
    }
    true
}

/// Keep the first `keep` bytes of `text` (a character boundary), without trailing white space,
/// then `…`.
fn mark_cut(text: &mut String, keep: usize) {
    text.truncate(keep);
    text.truncate(text.trim_end().len());
    text.push('…');
}

/// A date as RFC 3339 with seconds and a `Z` zone, the one format pantau prints.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_id_is_stable_and_distinguishes_each_part() {
        let a = alert_id("f", "k", "r", "s");
        assert_eq!(a, alert_id("f", "k", "r", "s"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, alert_id("f", "k", "r", "t"));
        assert_ne!(a, alert_id("f", "k", "rs", ""));
        assert_ne!(alert_id("ab", "c", "r", "s"), alert_id("a", "bc", "r", "s"));
    }

    #[test]
    fn truncate_respects_characters() {
        assert_eq!(truncate_chars("abc", 5), "abc");
        assert_eq!(truncate_chars("héllo wörld", 6), "héllo…");
        assert_eq!(truncate_chars("😀😀😀😀", 3).chars().count(), 3);
    }

    #[test]
    fn caps_cut_on_character_boundaries_and_mark_the_cut() {
        let cap = |s: &str, max: usize, f: fn(&mut String, usize) -> bool| {
            let mut s = s.to_string();
            let cut = f(&mut s, max);
            (s, cut)
        };
        assert_eq!(cap("abc", 3, cap_chars), ("abc".into(), false));
        assert_eq!(cap("abcd", 3, cap_chars), ("ab…".into(), true));
        assert_eq!(cap("héllo wörld", 7, cap_chars), ("héllo…".into(), true));
        assert_eq!(cap("😀😀😀😀", 3, cap_chars), ("😀😀…".into(), true));
        assert_eq!(cap("abc", 1, cap_chars), ("…".into(), true));
        assert_eq!(cap("abc", 0, cap_chars), ("".into(), true));
        assert_eq!(cap("abc", 3, cap_bytes), ("abc".into(), false));
        // "é" is two bytes and "…" three: 6 bytes leave room for "hé" only.
        assert_eq!(cap("héllo", 5, cap_bytes), ("h…".into(), true));
        assert_eq!(cap("héllo!", 6, cap_bytes), ("hé…".into(), true));
        let (s, _) = cap(&"é".repeat(1000), 1001, cap_bytes);
        assert!(s.len() <= 1001 && s.ends_with('…'), "{}", s.len());
        assert_eq!(cap("abcdef", 3, cap_bytes), ("…".into(), true));
        assert_eq!(cap("abcdef", 2, cap_bytes), ("ab".into(), true));
    }
}
