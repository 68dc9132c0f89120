//! Plain domain types shared by every stage: feeds as parsed, items, alerts. No IO here.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

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

/// What became of one delivery attempt: one vocabulary from the sink's answer to the outbox row.
///
/// `W` is the wait before the next attempt. As the sink answered ([`crate::deliver::Outcome`])
/// it is the sink's own hint if it gave one (`Option<Duration>`); as the store records it
/// ([`crate::store::Attempted`]) it is the delay the worker decided (`Duration`), and an alert
/// out of attempts or time is recorded `Dead` whatever the sink said.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery<W> {
    /// The sink accepted the alert.
    Delivered,
    /// A temporary failure (timeout, 5xx, 408, 429): try again after `after`.
    Retry {
        /// The wait before the next attempt.
        after: W,
        /// What went wrong.
        error: String,
    },
    /// A permanent failure (other 4xx, unusable payload), or given up on: stop trying. The
    /// text says why.
    Dead(String),
}

impl<W> Delivery<W> {
    /// Its name in metrics and logs: `delivered`, `retry` or `dead`.
    pub fn label(&self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Retry { .. } => "retry",
            Delivery::Dead(_) => "dead",
        }
    }
}

/// Where an alert is in the outbox: stored as its [`AlertState::as_str`] text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertState {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Accepted by its sink.
    Delivered,
    /// Given up on.
    Dead,
}

impl AlertState {
    /// Every state, in the order of an alert's life.
    pub const ALL: [AlertState; 3] = [AlertState::Pending, AlertState::Delivered, AlertState::Dead];

    /// The text stored in the database, printed by the CLI and used as a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Delivered => "delivered",
            AlertState::Dead => "dead",
        }
    }
}

impl std::fmt::Display for AlertState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AlertState {
    type Err = String;

    fn from_str(s: &str) -> Result<AlertState, String> {
        AlertState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown alert state {s:?}"))
    }
}

/// What the last poll of a feed came to, for its health record: the HTTP status the server
/// answered, or the kind of failure when there was no usable answer. Stored as its
/// [`PollStatus::as_str`] text ("200", "304", "timeout", …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollStatus {
    /// The server's status (2xx and 304 for a success, any other for a failed poll).
    Http(hyper::StatusCode),
    /// The request or the body took longer than the timeout.
    Timeout,
    /// The body was larger than `max_body`.
    TooLarge,
    /// Redirects went round in a circle or did not end.
    RedirectError,
    /// The document could not be read as a feed.
    ParseError,
    /// Any other failure (connection, parse, …).
    Error,
}

impl PollStatus {
    /// The status the server answered, for a number from the wire; a number outside
    /// 100–999 (which no HTTP client hands on) counts as [`PollStatus::Error`].
    pub fn http(code: u16) -> PollStatus {
        hyper::StatusCode::from_u16(code).map_or(PollStatus::Error, PollStatus::Http)
    }

    /// Whether the server said the feed is gone for good (410).
    pub fn is_gone(self) -> bool {
        self == PollStatus::Http(hyper::StatusCode::GONE)
    }

    /// The text stored and shown: the three digits of the HTTP status, or "timeout",
    /// "too-large", "redirect-error", "parse-error" or "error".
    pub fn as_str(&self) -> &str {
        match self {
            PollStatus::Http(code) => code.as_str(),
            PollStatus::Timeout => "timeout",
            PollStatus::TooLarge => "too-large",
            PollStatus::RedirectError => "redirect-error",
            PollStatus::ParseError => "parse-error",
            PollStatus::Error => "error",
        }
    }
}

/// A poll that brought a document: 200.
impl Default for PollStatus {
    fn default() -> PollStatus {
        PollStatus::Http(hyper::StatusCode::OK)
    }
}

impl std::fmt::Display for PollStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PollStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<PollStatus, String> {
        Ok(match s {
            "timeout" => PollStatus::Timeout,
            "too-large" => PollStatus::TooLarge,
            "redirect-error" => PollStatus::RedirectError,
            "parse-error" => PollStatus::ParseError,
            "error" => PollStatus::Error,
            _ => PollStatus::Http(
                hyper::StatusCode::from_bytes(s.as_bytes()).map_err(|_| format!("unknown poll status {s:?}"))?,
            ),
        })
    }
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

/// Where pantau stores: an SQLite file (one node) or a PostgreSQL server (any number of nodes).
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file.
    Sqlite(std::path::PathBuf),
    /// A `postgres://` (or `postgresql://`) URL, password included: shown only through
    /// [`Database::shown`], which leaves the password out.
    Postgres(String),
}

impl Database {
    /// The SQLite file, if the database is one.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            Database::Sqlite(p) => Some(p),
            Database::Postgres(_) => None,
        }
    }

    /// The database as messages name it: the file, or the URL with its password (and any
    /// `password=` parameter) replaced by `***`.
    pub fn shown(&self) -> String {
        match self {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(url) => redact_url(url),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

/// A database URL without its secrets, as [`crate::secrets::redact_url`] shows every URL (the
/// password and credential parameters such as `password=` masked); one that does not parse as
/// a URL, whose parts are then unknown, names its scheme only.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(_) => crate::secrets::redact_url(url),
        Err(_) => format!("{}://***", url.split("://").next().unwrap_or("postgres")),
    }
}

/// The stable id of the alert for (feed, item key, rule, sink): a hex SHA-256 prefix.
///
/// It only depends on names and the item key, so a restart, a re-poll or a retry always
/// produces the same id, which receivers use to drop duplicates.
pub fn alert_id(feed: &str, item_key: &str, rule: &str, sink: &str) -> String {
    hex_hash(&[feed, item_key, rule, sink])
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

/// pantau's one content hash: SHA-256 over `parts`, each prefixed with its length (so
/// `["ab", "c"]` and `["a", "bc"]` differ), as hex of its first 16 bytes. Item keys, content
/// hashes, story fingerprints and alert ids are all made by it.
pub fn hex_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_is_shown_without_its_password() {
        let shown = |url: &str| Database::Postgres(url.into()).shown();
        assert_eq!(shown("postgres://pantau:hunter2@db:5432/p"), "postgres://pantau:***@db:5432/p");
        assert_eq!(
            shown("postgres://pantau@db/p?password=hunter2&sslmode=disable"),
            "postgres://pantau@db/p?password=***&sslmode=disable"
        );
        assert_eq!(shown("postgres://pantau@db/p"), "postgres://pantau@db/p");
        assert_eq!(shown("postgres://pan tau:hunter2@[db/p"), "postgres://***", "a URL that does not parse");
        assert_eq!(format!("{:?}", Database::Postgres("postgres://u:hunter2@db/p".into())), "postgres://u:***@db/p");
        assert_eq!(Database::Sqlite("/var/lib/pantau/pantau.db".into()).shown(), "/var/lib/pantau/pantau.db");
    }

    #[test]
    fn states_and_statuses_read_back_what_they_store() {
        for state in AlertState::ALL {
            assert_eq!(state.as_str().parse::<AlertState>(), Ok(state));
        }
        assert!("gone".parse::<AlertState>().is_err());
        for text in ["200", "304", "410", "503", "timeout", "too-large", "redirect-error", "parse-error", "error"] {
            assert_eq!(text.parse::<PollStatus>().map(|s| s.to_string()).as_deref(), Ok(text));
        }
        assert!("teapot".parse::<PollStatus>().is_err());
        assert!(PollStatus::http(410).is_gone() && !PollStatus::http(404).is_gone());
        assert_eq!(PollStatus::http(7), PollStatus::Error);
    }

    #[test]
    fn alert_id_is_stable_and_distinguishes_each_part() {
        let a = alert_id("f", "k", "r", "s");
        assert_eq!(a, alert_id("f", "k", "r", "s"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, alert_id("f", "k", "r", "t"));
        assert_ne!(a, alert_id("f", "k", "rs", ""));
        assert_ne!(alert_id("ab", "c", "r", "s"), alert_id("a", "bc", "r", "s"));
        // The id is on the wire (the idempotency key): its value never changes between versions.
        assert_eq!(
            alert_id("world", "https://news.example.id/a", "korut-senjata", "hook"),
            "60a9997527100b0d3ac70a4fc06761e4"
        );
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
