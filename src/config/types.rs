//! The compiled settings the rest of pantau reads: durations parsed, rules compiled, defaults
//! filled in. Compared by value, so a reload knows what changed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::glob::glob_match;
use super::{Diagnostic, IdPolicy, Secrets};
use crate::model::Database;
use crate::rules;
use crate::sinks::template::MessageTemplate;

/// A validated, compiled configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub path: PathBuf,
    /// Process-wide settings.
    pub daemon: Daemon,
    /// Feeds in file order.
    pub feeds: Vec<Feed>,
    /// Enabled rules in file order.
    pub rules: Vec<Rule>,
    /// The same rules compiled into one indexed set (index i is `rules[i]`).
    pub rule_set: Arc<rules::RuleSet>,
    /// Sinks in file order.
    pub sinks: Vec<Sink>,
    /// Problems that do not stop pantau (printed by `check`, logged by `run`).
    pub warnings: Vec<Diagnostic>,
    /// Every secret value the config holds: what `${VAR}` brought in (but a database path),
    /// passwords, tokens, signing secrets, credential headers and URL credentials.
    pub secrets: Secrets,
    /// The hash of the file's text as loaded: what a node says it runs (`pantau nodes`).
    pub hash: String,
}

/// Whether items already present in a newly added feed alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstPoll {
    /// Alert on every matching item, old ones included (subject to `max_age`).
    Alert,
    /// Store what is there and alert only on items that appear later.
    Silent,
}

/// What an edited item (same key, changed title or text) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUpdate {
    /// Update the stored item; no new alert.
    Ignore,
    /// Update the stored item and alert again on the matching rules.
    Realert,
}

/// `[daemon]`, with defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Daemon {
    /// The SQLite file (absolute or relative to the working directory, already resolved) or
    /// the PostgreSQL URL.
    pub database: Database,
    /// Where /healthz and /metrics would be served.
    pub listen: Option<SocketAddr>,
    /// Interval of feeds that set none.
    pub default_interval: Duration,
    /// Feeds fetched at once, in total.
    pub concurrency: usize,
    /// Feeds fetched at once from one host.
    pub per_host: usize,
    /// Default first-poll behaviour.
    pub first_poll: FirstPoll,
    /// Default maximum item age for alerts ([`DEFAULT_MAX_AGE`](super::DEFAULT_MAX_AGE) unless set); `None` (`"off"`)
    /// means no limit.
    pub max_age: Option<Duration>,
    /// Total deadline of one fetch.
    pub timeout: Duration,
    /// Largest accepted feed body in bytes.
    pub max_body: u64,
    /// Most items read from one document (the newest are kept; the cut is recorded).
    pub max_items: usize,
    /// Grace period for in-flight work after SIGTERM.
    pub shutdown_grace: Duration,
    /// How long a node's claim lasts without renewal; a node renews its heartbeat every third
    /// of it, and one silent for three leases is gone (`pantau nodes`).
    pub lease: Duration,
    /// Default behaviour for edited items.
    pub on_update: OnUpdate,
    /// Proxy for every fetch, unless a feed sets its own.
    pub proxy: Option<String>,
    /// How long item bodies and delivered alerts are kept; item keys are kept three times as long.
    pub retention: Duration,
    /// A feed failing for longer than this raises one operator alert.
    pub feed_alert_after: Duration,
    /// Sinks that receive operator alerts.
    pub health_sinks: Vec<String>,
    /// A feed that publishes nothing for this many times its usual rhythm (and for longer than
    /// `feed_alert_after`) raises one operator alert; 0 disables.
    pub quiet_factor: u32,
    /// Default for feeds: honour the feed's own `<ttl>` / `sy:updatePeriod` as a polling floor.
    pub honor_ttl: bool,
    /// Re-read the config file when it changes, as if SIGHUP was sent.
    pub watch_config: bool,
    /// Default for feeds: fetch each new item's page and match its article text too.
    pub fetch_article: bool,
    /// How long after an item is first seen a reprint still joins its story.
    pub story_window: Duration,
    /// The similarity a reprint needs to join a story; `None` (`"off"`) groups no reprints.
    pub near_duplicate: Option<f64>,
}

impl Daemon {
    /// How reprints are grouped into stories, unless that is off.
    pub fn grouping(&self) -> Option<crate::stories::Grouping> {
        self.near_duplicate.map(|long| crate::stories::Grouping {
            window: self.story_window,
            threshold: crate::stories::Threshold { long },
        })
    }
}

/// When a feed is polled.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Every so often.
    Every(Duration),
    /// At the times of a cron expression (with seconds).
    Cron(Box<cron::Schedule>),
    /// Adaptive: faster while the feed publishes, slower while it is quiet, within bounds.
    Auto {
        /// Shortest interval.
        min: Duration,
        /// Longest interval.
        max: Duration,
    },
}

/// One `[[feed]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// Unique name.
    pub name: String,
    /// http(s) URL.
    pub url: String,
    /// When to poll.
    pub schedule: Schedule,
    /// Labels for rule scoping.
    pub tags: Vec<String>,
    /// Extra request headers, `${VAR}` already expanded.
    pub headers: Vec<(String, String)>,
    /// Whether the feed is polled.
    pub enabled: bool,
    /// First-poll behaviour for this feed.
    pub first_poll: FirstPoll,
    /// Maximum item age for alerts from this feed.
    pub max_age: Option<Duration>,
    /// How items are identified.
    pub id_policy: IdPolicy,
    /// What edited items do.
    pub on_update: OnUpdate,
    /// HTTP basic auth (user, password).
    pub basic_auth: Option<(String, String)>,
    /// Proxy URL, if any (the feed's own or the daemon's).
    pub proxy: Option<String>,
    /// Never poll faster than the feed's own `<ttl>` / `sy:updatePeriod` asks.
    pub honor_ttl: bool,
    /// Fetch each new item's page and match its article text too.
    pub fetch_article: bool,
    /// CSS selector for the article text on this feed's pages (checked at load).
    pub article_selector: Option<String>,
    /// Most items read from one document of this feed.
    pub max_items: usize,
}

/// One enabled `[[rule]]`, compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name.
    pub name: String,
    /// The query as written.
    pub query: String,
    /// The compiled query.
    pub matcher: Arc<rules::Rule>,
    /// Feed-name globs; empty means no restriction by name.
    pub feeds: Vec<String>,
    /// Feed tags; empty means no restriction by tag.
    pub tags: Vec<String>,
    /// Sink names that receive the alerts.
    pub sinks: Vec<String>,
    /// The language hint it was compiled with.
    pub lang: Option<String>,
    /// `stories = "every"`: every copy of a story alerts, not only the first.
    pub every_copy: bool,
}

/// Equal when written alike: the compiled query is a function of the query and the language.
impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.name == other.name
            && self.query == other.query
            && self.lang == other.lang
            && self.feeds == other.feeds
            && self.tags == other.tags
            && self.sinks == other.sinks
            && self.every_copy == other.every_copy
    }
}

impl Rule {
    /// Whether this rule watches `feed` (by name glob and/or tag; no scope means every feed).
    pub fn applies_to(&self, feed: &Feed) -> bool {
        let by_name = self.feeds.is_empty() || self.feeds.iter().any(|g| glob_match(g, &feed.name));
        let by_tag = self.tags.is_empty() || self.tags.iter().any(|t| feed.tags.contains(t));
        by_name && by_tag
    }
}

/// One `[[sink]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sink {
    /// Unique name.
    pub name: String,
    /// Type and its settings.
    pub kind: SinkKind,
    /// Minimum spacing between two messages (from `rate`, else the service's safe default).
    pub interval: Duration,
    /// More due alerts than this are sent as one digest message (chat sinks).
    pub burst: usize,
    /// When to send digests.
    pub digest: DigestMode,
    /// Failed attempts after which an alert is dead.
    pub max_attempts: u32,
    /// Age after which an undelivered alert is dead; `None`: no limit.
    pub max_age: Option<Duration>,
    /// The user's own layout of single-alert messages.
    pub template: Option<Arc<MessageTemplate>>,
    /// How long the first alert of a burst waits for more before the sink decides between a
    /// digest and single messages; zero: only alerts due together count as a burst.
    pub digest_window: Duration,
    /// Messages in flight at once (their starts still spaced by `interval`).
    pub concurrency: usize,
}

/// When a chat sink sends several alerts as one digest message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestMode {
    /// When more than `burst` alerts are due at once.
    Auto,
    /// Never: every alert is its own message.
    Never,
    /// Always, even for a single alert.
    Always,
}

/// Parse a rate such as `"1/s"`, `"20/min"`, `"300/h"` or `"2/10s"` into the spacing it allows.
pub fn parse_rate(text: &str) -> Result<Duration, String> {
    let (count, per) = text.split_once('/').ok_or("expected COUNT/UNIT such as \"1/s\" or \"20/min\"")?;
    let count: u32 = count.trim().parse().map_err(|_| format!("{count:?} is not a whole number"))?;
    if count == 0 {
        return Err("the count must be at least 1".into());
    }
    let per = per.trim();
    let unit = match per {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        other => humantime::parse_duration(other)
            .map_err(|_| format!("unknown unit {other:?}: use s, min, h or a duration"))?,
    };
    Ok(unit / count)
}

/// A sink's type and its settings, compared by value.
pub use crate::sinks::Configured as SinkKind;
