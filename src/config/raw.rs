//! The config file exactly as written: serde structs that mirror the TOML, with source spans.
//!
//! Nothing here is validated beyond types and unknown keys; `config::load` turns these into the
//! compiled settings the rest of pantau uses, so downstream code never sees raw strings.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::sinks::{self, KeyValue, RawValue};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[daemon]`: process-wide settings.
    #[serde(default)]
    pub daemon: RawDaemon,
    /// `[[feed]]` tables.
    #[serde(default)]
    pub feed: Vec<RawFeed>,
    /// `[[rule]]` tables.
    #[serde(default)]
    pub rule: Vec<RawRule>,
    /// `[[sink]]` tables.
    #[serde(default)]
    pub sink: Vec<RawSink>,
}

/// `[daemon]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDaemon {
    /// SQLite file, relative to the config file's directory.
    pub database: Option<Spanned<String>>,
    /// Address for /healthz and /metrics.
    pub listen: Option<Spanned<String>>,
    /// Poll interval of feeds that set none (humantime).
    pub default_interval: Option<Spanned<String>>,
    /// Feeds fetched at once, in total.
    pub concurrency: Option<Spanned<i64>>,
    /// Feeds fetched at once from one host.
    pub per_host: Option<Spanned<i64>>,
    /// "alert" or "silent": whether items already in a newly added feed alert.
    pub first_poll: Option<Spanned<String>>,
    /// Items older than this never alert (humantime).
    pub max_age: Option<Spanned<String>>,
    /// Total deadline of one fetch (humantime).
    pub timeout: Option<Spanned<String>>,
    /// Largest feed body accepted, in bytes.
    pub max_body: Option<Spanned<i64>>,
    /// Most items read from one document (the newest are kept).
    pub max_items: Option<Spanned<i64>>,
    /// How long in-flight work may finish after SIGTERM (humantime).
    pub shutdown_grace: Option<Spanned<String>>,
    /// How long a node's claim on a feed or a sink lasts without renewal (humantime).
    pub lease: Option<Spanned<String>>,
    /// "ignore" or "realert": what an edited item does.
    pub on_update: Option<Spanned<String>>,
    /// Proxy URL for every fetch (http, https or socks5).
    pub proxy: Option<Spanned<String>>,
    /// How long item bodies and delivered alerts are kept (humantime).
    pub retention: Option<Spanned<String>>,
    /// A feed failing for longer than this raises one operator alert (humantime).
    pub feed_alert_after: Option<Spanned<String>>,
    /// Sinks that receive operator alerts (feed broken / recovered).
    pub health_sinks: Option<Vec<Spanned<String>>>,
    /// A feed silent for this many times its usual rhythm raises one operator alert; 0 disables.
    pub quiet_factor: Option<Spanned<i64>>,
    /// Whether feeds honour their own `<ttl>` / `sy:updatePeriod` as a polling floor.
    pub honor_ttl: Option<bool>,
    /// Re-read the config file when it changes, as if SIGHUP was sent.
    pub watch_config: Option<bool>,
    /// Default for feeds: fetch each new item's page and match its article text too.
    pub fetch_article: Option<bool>,
    /// How long after an item is first seen a reprint still joins its story (humantime).
    pub story_window: Option<Spanned<String>>,
    /// The similarity a reprint needs to join a story (0 to 1), or "off".
    pub near_duplicate: Option<Spanned<toml::Value>>,
}

/// `[[feed]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeed {
    /// Unique name.
    pub name: Spanned<String>,
    /// What to poll.
    pub url: Spanned<String>,
    /// Poll interval (humantime).
    pub interval: Option<Spanned<String>>,
    /// Cron expression with seconds, instead of `interval`.
    pub schedule: Option<Spanned<String>>,
    /// Labels that rules can scope on.
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    /// Extra request headers; values may use `${VAR}`.
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    /// Set to false to keep a feed in the file without polling it.
    pub enabled: Option<bool>,
    /// Overrides `daemon.first_poll` for this feed.
    pub first_poll: Option<Spanned<String>>,
    /// Overrides `daemon.max_age` for this feed.
    pub max_age: Option<Spanned<String>>,
    /// Shortest interval of an adaptive (`interval = "auto"`) feed.
    pub min_interval: Option<Spanned<String>>,
    /// Longest interval of an adaptive feed.
    pub max_interval: Option<Spanned<String>>,
    /// HTTP basic auth user name (`${VAR}` allowed).
    pub username: Option<Spanned<String>>,
    /// HTTP basic auth password (`${VAR}` allowed).
    pub password: Option<Spanned<String>>,
    /// Proxy URL for this feed, overriding `daemon.proxy`.
    pub proxy: Option<Spanned<String>>,
    /// How items are identified: "auto", "guid", "link" or "hash".
    pub id_policy: Option<Spanned<String>>,
    /// Overrides `daemon.on_update` for this feed.
    pub on_update: Option<Spanned<String>>,
    /// Overrides `daemon.honor_ttl` for this feed.
    pub honor_ttl: Option<bool>,
    /// Overrides `daemon.fetch_article` for this feed.
    pub fetch_article: Option<bool>,
    /// Overrides `daemon.max_items` for this feed.
    pub max_items: Option<Spanned<i64>>,
    /// A CSS selector for the article's text on this feed's pages, instead of the extractor.
    pub article_selector: Option<Spanned<String>>,
}

/// `[[rule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Unique name.
    pub name: Spanned<String>,
    /// The watch-rule query (CONTRACT §3).
    pub query: Spanned<String>,
    /// Scope by feed name; globs allowed.
    pub feeds: Option<Vec<Spanned<String>>>,
    /// Scope by feed tag.
    pub tags: Option<Vec<Spanned<String>>>,
    /// Language hint for matching, e.g. "id".
    pub lang: Option<Spanned<String>>,
    /// Sinks that receive this rule's alerts; all sinks when absent.
    pub sinks: Option<Vec<Spanned<String>>>,
    /// Set to false to keep a rule in the file without matching it.
    pub enabled: Option<bool>,
    /// "first" (only a story's first item alerts) or "every".
    pub stories: Option<Spanned<String>>,
}

/// `[[sink]]`: the keys every sink takes, and the keys of its type as written (the type's
/// module in `crate::sinks` reads and checks them; `config::load` checks which apply).
#[derive(Debug)]
pub struct RawSink {
    /// Unique name.
    pub name: Spanned<String>,
    /// The sink type.
    pub kind: Spanned<String>,
    /// Delivery rate limit such as "1/s" or "20/min".
    pub rate: Option<Spanned<String>>,
    /// More alerts than this from one poll are sent as one digest message (chat sinks).
    pub burst: Option<Spanned<i64>>,
    /// "auto", "never" or "always": when to send digests.
    pub digest: Option<Spanned<String>>,
    /// Attempts before an alert is given up on.
    pub max_attempts: Option<Spanned<i64>>,
    /// Age after which an undelivered alert is given up on (humantime).
    pub max_age: Option<Spanned<String>>,
    /// Own layout of single-alert messages (minijinja).
    pub template: Option<Spanned<String>>,
    /// How long a burst is collected before it is sent as one digest (humantime).
    pub digest_window: Option<Spanned<String>>,
    /// Messages in flight at once.
    pub concurrency: Option<Spanned<i64>>,
    /// The keys of sink types (`url`, `token`, …), in file order.
    pub service: Vec<(String, RawValue)>,
}

impl RawSink {
    /// The value of the type key `key`, if the table has it.
    pub fn service(&self, key: &str) -> Option<&RawValue> {
        self.service.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// The keys every sink takes besides its type's: before (`name`, `type`) and after the
/// types' keys in the list an unknown key's message gives.
const FIRST: [&str; 2] = ["name", "type"];
const LAST: [&str; 8] =
    ["rate", "burst", "digest", "max_attempts", "max_age", "template", "digest_window", "concurrency"];

/// Every key a `[[sink]]` table may have: the ones every sink takes and every type's own.
fn sink_keys() -> &'static [&'static str] {
    static KEYS: OnceLock<Vec<&'static str>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let types = sinks::all_keys().into_iter().map(|k| k.name);
        FIRST.into_iter().chain(types).chain(LAST).collect()
    })
}

/// A `[[sink]]` key, refused (at its place in the file) unless some sink takes it.
struct SinkKey;

impl<'de> DeserializeSeed<'de> for SinkKey {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        let key = String::deserialize(deserializer)?;
        match sink_keys().contains(&key.as_str()) {
            true => Ok(key),
            false => Err(de::Error::unknown_field(&key, sink_keys())),
        }
    }
}

/// Reads a `[[sink]]` table as `#[serde(deny_unknown_fields)]` would, keeping the keys of
/// sink types aside with the value kind their type declares.
struct SinkVisitor;

impl<'de> Visitor<'de> for SinkVisitor {
    type Value = RawSink;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct RawSink")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawSink, A::Error> {
        let (mut name, mut kind) = (None, None);
        let mut sink = RawSink {
            name: Spanned::new(0..0, String::new()),
            kind: Spanned::new(0..0, String::new()),
            rate: None,
            burst: None,
            digest: None,
            max_attempts: None,
            max_age: None,
            template: None,
            digest_window: None,
            concurrency: None,
            service: Vec::new(),
        };
        while let Some(key) = map.next_key_seed(SinkKey)? {
            match key.as_str() {
                "name" => name = Some(map.next_value()?),
                "type" => kind = Some(map.next_value()?),
                "rate" => sink.rate = Some(map.next_value()?),
                "burst" => sink.burst = Some(map.next_value()?),
                "digest" => sink.digest = Some(map.next_value()?),
                "max_attempts" => sink.max_attempts = Some(map.next_value()?),
                "max_age" => sink.max_age = Some(map.next_value()?),
                "template" => sink.template = Some(map.next_value()?),
                "digest_window" => sink.digest_window = Some(map.next_value()?),
                "concurrency" => sink.concurrency = Some(map.next_value()?),
                _ => {
                    let declared = sinks::all_keys().into_iter().find(|k| k.name == key).map(|k| k.value);
                    let value = match declared {
                        Some(KeyValue::Table) => RawValue::Table(map.next_value()?),
                        Some(KeyValue::Any) => RawValue::Any(map.next_value()?),
                        _ => RawValue::Text(map.next_value()?),
                    };
                    sink.service.push((key, value));
                }
            }
        }
        sink.name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        sink.kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        Ok(sink)
    }
}

impl<'de> Deserialize<'de> for RawSink {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawSink, D::Error> {
        deserializer.deserialize_struct("RawSink", sink_keys(), SinkVisitor)
    }
}
