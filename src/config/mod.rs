//! Configuration: the TOML file of CONTRACT §2 read, checked and compiled into settings.
//!
//! `raw` mirrors the file; [`load`] validates it into [`Config`] (durations parsed, rules
//! compiled, `${VAR}` expanded, paths resolved) and reports every problem with its location.

mod diagnostic;
mod raw;
pub mod secrets;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

pub use diagnostic::{ConfigErrors, Diagnostic, Severity};
use raw::{RawConfig, RawDaemon, RawFeed, RawRule, RawSink};
pub use secrets::Secrets;

use crate::rules::{self, RuleOptions};

/// The config file used when neither `--config` nor `$PANTAU_CONFIG` says otherwise.
pub const DEFAULT_PATH: &str = "config/pantau.toml";

/// Where the installed service's config lives (the unit's `PANTAU_CONFIG`, and the default of
/// every command when `config/pantau.toml` is not in the working directory).
pub const INSTALLED_PATH: &str = "/etc/pantau/pantau.toml";

/// The directory of [`INSTALLED_PATH`].
const INSTALLED_CONFIG_DIR: &str = "/etc/pantau";

/// The installed service's state directory (`StateDirectory=pantau`): a relative `database`
/// of the installed config is placed here.
const INSTALLED_STATE_DIR: &str = "/var/lib/pantau";

/// The config file to use when none is given and `$PANTAU_CONFIG` is not set:
/// `config/pantau.toml` in the working directory (a checkout), else [`INSTALLED_PATH`] when
/// it exists (an installed service), else `config/pantau.toml` (to name in the error).
pub fn default_path() -> PathBuf {
    let local = Path::new(DEFAULT_PATH);
    if !local.exists() && Path::new(INSTALLED_PATH).exists() {
        return PathBuf::from(INSTALLED_PATH);
    }
    local.to_path_buf()
}

/// Items older than this (by published/updated date) never alert unless `max_age` says
/// otherwise (`"off"`): a month-old archive in a newly added feed is not news.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 86_400);

/// Requests a webhook sink has in flight at once unless its `concurrency` says otherwise.
pub const DEFAULT_WEBHOOK_CONCURRENCY: usize = 4;

/// Total deadline of one fetch unless `[daemon] timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest feed body accepted unless `[daemon] max_body` says otherwise.
pub const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;

/// The largest `max_items`: more items than this in one document is no news feed.
pub const MAX_ITEMS_LIMIT: usize = 100_000;

/// The most requests one sink may have in flight.
pub const MAX_SINK_CONCURRENCY: usize = 64;

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

pub use crate::identity::IdPolicy;

/// `[daemon]`, with defaults filled in.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// SQLite file, absolute or relative to the working directory (already resolved).
    pub database: PathBuf,
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
    /// Default maximum item age for alerts ([`DEFAULT_MAX_AGE`] unless set); `None` (`"off"`)
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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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
    pub template: Option<Arc<crate::deliver::template::MessageTemplate>>,
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

/// The sink types this version delivers to.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkKind {
    /// Print each alert on stdout.
    Console,
    /// A chat service with its own message format.
    Chat(crate::deliver::chat::Target),
    /// POST the CONTRACT §4 JSON.
    Webhook {
        /// Endpoint.
        url: String,
        /// Standard Webhooks signing secret.
        secret: Option<String>,
        /// Extra request headers.
        headers: Vec<(String, String)>,
    },
}

/// Sink types and the keys each takes (besides name, type, rate, burst and digest).
const SINK_TYPES: &[(&str, &[&str])] = &[
    ("console", &[]),
    ("webhook", &["url", "secret", "headers"]),
    ("slack", &["url"]),
    ("discord", &["url"]),
    ("mattermost", &["url"]),
    ("teams", &["url"]),
    ("googlechat", &["url"]),
    ("telegram", &["token", "chat_id", "api_url"]),
    ("matrix", &["homeserver", "access_token", "room"]),
    ("ntfy", &["url", "topic", "token"]),
    ("gotify", &["url", "token"]),
];

/// Read, validate and compile the config file at `path`, expanding `${VAR}` from the process
/// environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let source = read_source(path)?;
    let config = load_str(path, &source, &|name| std::env::var(name).ok())?;
    // From now on every log line and stored error of this process is scrubbed of them.
    secrets::remember(&config.secrets);
    Ok(config)
}

/// The config file's text, or the error naming it (with a hint when it is missing).
fn read_source(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        let hint =
            if e.kind() == std::io::ErrorKind::NotFound { " (pass --config PATH or set PANTAU_CONFIG)" } else { "" };
        ConfigErrors(vec![Diagnostic::whole_file(path, format!("cannot read config file: {e}{hint}"))])
    })
}

/// The config for commands that only read the database (`feeds`, `items`, `alerts`,
/// `redeliver`, `test-rule --history`): as [`load`], but a `${VAR}` that is not set (the
/// service's secrets live in its EnvironmentFile) and invalid rules, sinks or feeds do not stop
/// them. What could not be validated is returned as diagnostics to mention; only a file that
/// cannot be read or is not TOML is an error.
pub fn load_for_inspection(path: &Path) -> Result<(Config, Vec<Diagnostic>), ConfigErrors> {
    let source = read_source(path)?;
    // An unset variable reads as its own reference, which is never a secret and never sent.
    // ($STATE_DIRECTORY is looked up as itself: unset, the database is placed as usual.)
    let env = |name: &str| match std::env::var(name) {
        Ok(v) => Some(v),
        Err(_) if name == "STATE_DIRECTORY" => None,
        Err(_) => Some(format!("${{{name}}}")),
    };
    let (config, errors) = validate(path, &source, &env)?;
    secrets::remember(&config.secrets);
    Ok((config, errors))
}

/// Validate `source` as if read from `path`; `env` looks up `${VAR}` references.
pub fn load_str(path: &Path, source: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
    match validate(path, source, env)? {
        (config, errors) if errors.is_empty() => Ok(config),
        (_, errors) => Err(ConfigErrors(errors)),
    }
}

/// The compiled config and every error found (an error leaves out what it is about: a rule
/// that does not parse is not in `rules`); only TOML that cannot be read is an `Err`.
fn validate(
    path: &Path,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, Vec<Diagnostic>), ConfigErrors> {
    let raw: RawConfig = toml::from_str(source).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        ConfigErrors(vec![Diagnostic::at(Severity::Error, path, source, offset, e.message().trim().to_string())])
    })?;
    let mut v = Validator { path, source, env, errors: Vec::new(), warnings: Vec::new(), secrets: Secrets::default() };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let daemon = v.daemon(&raw.daemon, &base);
    let sinks = v.sinks(&raw.sink);
    for h in raw.daemon.health_sinks.iter().flatten() {
        if !sinks.iter().any(|s| s.name == *h.get_ref()) {
            v.error(h.span().start, format!("no sink named {:?}", h.get_ref()));
        }
    }
    let feeds = v.feeds(&raw.feed, &daemon);
    let rules = v.rules(&raw.rule, &feeds, &sinks);
    // Every rule in one set, indexed by the words each needs, so an item is checked only
    // against the rules it can match; the set shares each rule's compiled tree.
    let compiled = rules.iter().map(|r| (r.name.clone(), Arc::clone(&r.matcher))).collect();
    let rule_set = Arc::new(rules::RuleSet::new(compiled));
    let config = Config {
        path: path.to_path_buf(),
        daemon,
        feeds,
        rules,
        rule_set,
        sinks,
        warnings: v.warnings,
        secrets: v.secrets,
    };
    Ok((config, v.errors))
}

struct Validator<'a> {
    path: &'a Path,
    source: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    secrets: Secrets,
}

impl Validator<'_> {
    fn error(&mut self, offset: usize, message: impl Into<String>) {
        self.errors.push(Diagnostic::at(Severity::Error, self.path, self.source, offset, message));
    }

    fn warn(&mut self, offset: usize, message: impl Into<String>) {
        self.warnings.push(Diagnostic::at(Severity::Warning, self.path, self.source, offset, message));
    }

    /// Expand `${VAR}` references; a missing variable is an error naming it. `$${` stands for
    /// a literal `${` (what `import-opml` writes for a `${` it finds). Each value read from the
    /// environment is remembered as a secret.
    fn expand(&mut self, value: &Spanned<String>) -> String {
        self.expand_with(value, true)
    }

    /// [`Self::expand`] for values that are not secret (a file path), so they stay printable.
    fn expand_plain(&mut self, value: &Spanned<String>) -> String {
        self.expand_with(value, false)
    }

    fn expand_with(&mut self, value: &Spanned<String>, secret: bool) -> String {
        let mut out = String::new();
        let mut rest = value.get_ref().as_str();
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(literal) = after.strip_prefix("${") {
                out.push_str("${");
                rest = literal;
                continue;
            }
            let Some(after) = after.strip_prefix('{') else {
                out.push('$');
                rest = after;
                continue;
            };
            let Some(end) = after.find('}') else {
                self.error(value.span().start, "unterminated ${ in value; write ${NAME} (or $${ for a literal ${)");
                return out;
            };
            let name = &after[..end];
            let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                self.error(value.span().start, format!("invalid environment variable name {name:?} in ${{…}}"));
            } else {
                match (self.env)(name) {
                    Some(v) => {
                        if secret {
                            self.secrets.add(&v);
                        }
                        out.push_str(&v);
                    }
                    None => self.error(
                        value.span().start,
                        format!("environment variable {name} is not set (referenced as ${{{name}}})"),
                    ),
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Expand a value that is a credential even when written literally.
    fn expand_secret(&mut self, value: &Spanned<String>) -> String {
        let out = self.expand(value);
        self.secrets.add(&out);
        out
    }

    fn duration(&mut self, value: &Spanned<String>, what: &str) -> Option<Duration> {
        match humantime::parse_duration(value.get_ref().trim()) {
            Ok(d) if d.is_zero() => {
                self.error(value.span().start, format!("{what} must be longer than zero"));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.error(
                    value.span().start,
                    format!("invalid {what} {:?}: {e} (examples: \"90s\", \"15m\", \"2h\", \"7d\")", value.get_ref()),
                );
                None
            }
        }
    }

    /// An item `max_age`: a duration, or `"off"` for none.
    fn max_age(&mut self, value: &Spanned<String>) -> Option<Duration> {
        if value.get_ref().trim().eq_ignore_ascii_case("off") {
            return None;
        }
        self.duration(value, "max_age")
    }

    fn positive(&mut self, value: &Spanned<i64>, what: &str) -> Option<u64> {
        match u64::try_from(*value.get_ref()) {
            Ok(n) if n > 0 => Some(n),
            _ => {
                self.error(value.span().start, format!("{what} must be a positive number"));
                None
            }
        }
    }

    /// Compile a sink `template` and try it on a sample alert, so a typo is found by `check`.
    fn template(
        &mut self,
        value: &Spanned<String>,
        kind: &SinkKind,
    ) -> Option<Arc<crate::deliver::template::MessageTemplate>> {
        use crate::deliver::template::{self, MessageTemplate};
        let escaper = match kind {
            SinkKind::Console => template::plain,
            SinkKind::Webhook { .. } => template::json_string_content,
            SinkKind::Chat(target) => target.template_escaper(),
        };
        let checked = MessageTemplate::compile(value.get_ref(), escaper).and_then(|t| {
            let sample = t.try_sample()?;
            if matches!(kind, SinkKind::Webhook { .. }) {
                if let Err(e) = serde_json::from_str::<serde_json::Value>(&sample) {
                    return Err(template::TemplateError::Render {
                        line: Some(e.line()),
                        message: format!("a webhook template must produce JSON, but the sample alert gives: {e}"),
                    });
                }
            }
            Ok(t)
        });
        match checked {
            Ok(t) => Some(Arc::new(t)),
            Err(e) => {
                self.error(value.span().start, e.to_string());
                None
            }
        }
    }

    /// `max_items`: a positive count, at most [`MAX_ITEMS_LIMIT`].
    fn max_items(&mut self, value: &Spanned<i64>) -> Option<usize> {
        match usize::try_from(*value.get_ref()) {
            Ok(n) if (1..=MAX_ITEMS_LIMIT).contains(&n) => Some(n),
            _ => {
                self.error(value.span().start, format!("max_items must be a number from 1 to {MAX_ITEMS_LIMIT}"));
                None
            }
        }
    }

    fn non_negative(&mut self, value: &Spanned<i64>, what: &str) -> Option<u64> {
        match u64::try_from(*value.get_ref()) {
            Ok(n) if n <= u64::from(u32::MAX) => Some(n),
            _ => {
                self.error(value.span().start, format!("{what} must be 0 or a positive number"));
                None
            }
        }
    }

    fn first_poll(&mut self, value: &Spanned<String>) -> Option<FirstPoll> {
        match value.get_ref().as_str() {
            "alert" => Some(FirstPoll::Alert),
            "silent" => Some(FirstPoll::Silent),
            other => {
                self.error(value.span().start, format!("first_poll must be \"alert\" or \"silent\", not {other:?}"));
                None
            }
        }
    }

    fn on_update(&mut self, value: &Spanned<String>) -> Option<OnUpdate> {
        match value.get_ref().as_str() {
            "ignore" => Some(OnUpdate::Ignore),
            "realert" => Some(OnUpdate::Realert),
            other => {
                self.error(value.span().start, format!("on_update must be \"ignore\" or \"realert\", not {other:?}"));
                None
            }
        }
    }

    fn proxy(&mut self, value: &Spanned<String>) -> String {
        let url = self.expand(value);
        match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") => {}
            _ => self.error(value.span().start, "proxy must be a URL such as \"http://proxy.example:3128\""),
        }
        self.secrets.add_url_parts(&url);
        url
    }

    /// A CSS selector for article text, checked here so that a typo stops `check`, not a poll.
    fn selector(&mut self, value: &Spanned<String>) -> Option<String> {
        match crate::article::check_selector(value.get_ref()) {
            Ok(()) => Some(value.get_ref().clone()),
            Err(e) => {
                self.error(value.span().start, format!("article_selector is not a CSS selector pantau can use: {e}"));
                None
            }
        }
    }

    fn id_policy(&mut self, value: &Spanned<String>) -> Option<IdPolicy> {
        match value.get_ref().as_str() {
            "auto" => Some(IdPolicy::Auto),
            "guid" => Some(IdPolicy::Guid),
            "link" => Some(IdPolicy::Link),
            "hash" => Some(IdPolicy::Hash),
            other => {
                self.error(
                    value.span().start,
                    format!("id_policy must be \"auto\", \"guid\", \"link\" or \"hash\", not {other:?}"),
                );
                None
            }
        }
    }

    fn daemon(&mut self, raw: &RawDaemon, base: &Path) -> Daemon {
        // Under systemd with StateDirectory= (the shipped unit), a relative database goes into
        // the state directory the unit gives, not beside the config in a read-only /etc; the
        // operator's commands on an installed config (/etc/pantau) find it in the same place.
        let state_dir = (self.env)("STATE_DIRECTORY")
            .and_then(|d| d.split(':').next().map(str::to_string))
            .filter(|d| !d.trim().is_empty())
            .or_else(|| (base == Path::new(INSTALLED_CONFIG_DIR)).then(|| INSTALLED_STATE_DIR.to_string()));
        let relative = |file: &str| -> PathBuf {
            let file = Path::new(file);
            match &state_dir {
                // Leading `..` (the shipped `../pantau.db`) would leave the state directory.
                Some(dir) if file.is_relative() => Path::new(dir).join(
                    file.components()
                        .skip_while(|c| matches!(c, std::path::Component::ParentDir | std::path::Component::CurDir))
                        .collect::<PathBuf>(),
                ),
                _ => base.join(file),
            }
        };
        let database = match &raw.database {
            Some(db) => {
                let expanded = self.expand_plain(db);
                if expanded.trim().is_empty() {
                    self.error(db.span().start, "database must name a file");
                }
                relative(&expanded)
            }
            None => relative("pantau.db"),
        };
        let listen = raw.listen.as_ref().and_then(|l| match SocketAddr::from_str(l.get_ref()) {
            Ok(a) => Some(a),
            Err(_) => {
                self.error(
                    l.span().start,
                    format!("listen must be an address such as \"127.0.0.1:9187\", not {:?}", l.get_ref()),
                );
                None
            }
        });
        Daemon {
            database,
            listen,
            default_interval: raw
                .default_interval
                .as_ref()
                .and_then(|d| self.duration(d, "default_interval"))
                .unwrap_or(Duration::from_secs(15 * 60)),
            concurrency: raw.concurrency.as_ref().and_then(|c| self.positive(c, "concurrency")).unwrap_or(16) as usize,
            per_host: raw.per_host.as_ref().and_then(|c| self.positive(c, "per_host")).unwrap_or(2) as usize,
            first_poll: raw.first_poll.as_ref().and_then(|f| self.first_poll(f)).unwrap_or(FirstPoll::Alert),
            max_age: raw.max_age.as_ref().map_or(Some(DEFAULT_MAX_AGE), |m| self.max_age(m)),
            timeout: raw.timeout.as_ref().and_then(|t| self.duration(t, "timeout")).unwrap_or(DEFAULT_TIMEOUT),
            max_body: raw.max_body.as_ref().and_then(|m| self.positive(m, "max_body")).unwrap_or(DEFAULT_MAX_BODY),
            max_items: raw
                .max_items
                .as_ref()
                .and_then(|m| self.max_items(m))
                .unwrap_or(crate::parse::DEFAULT_MAX_ITEMS),
            shutdown_grace: raw
                .shutdown_grace
                .as_ref()
                .and_then(|g| self.duration(g, "shutdown_grace"))
                .unwrap_or(Duration::from_secs(10)),
            on_update: raw.on_update.as_ref().and_then(|u| self.on_update(u)).unwrap_or(OnUpdate::Ignore),
            proxy: raw.proxy.as_ref().map(|p| self.proxy(p)),
            retention: raw
                .retention
                .as_ref()
                .and_then(|r| self.duration(r, "retention"))
                .unwrap_or(Duration::from_secs(90 * 86400)),
            feed_alert_after: raw
                .feed_alert_after
                .as_ref()
                .and_then(|r| self.duration(r, "feed_alert_after"))
                .unwrap_or(Duration::from_secs(6 * 3600)),
            health_sinks: raw.health_sinks.iter().flatten().map(|s| s.get_ref().clone()).collect(),
            quiet_factor: raw.quiet_factor.as_ref().and_then(|q| self.non_negative(q, "quiet_factor")).unwrap_or(10)
                as u32,
            honor_ttl: raw.honor_ttl.unwrap_or(false),
            watch_config: raw.watch_config.unwrap_or(false),
            fetch_article: raw.fetch_article.unwrap_or(false),
            story_window: raw
                .story_window
                .as_ref()
                .and_then(|w| self.duration(w, "story_window"))
                .unwrap_or(Duration::from_secs(3 * 86400)),
            near_duplicate: match &raw.near_duplicate {
                None => Some(crate::stories::DEFAULT_THRESHOLD),
                Some(v) => self.near_duplicate(v),
            },
        }
    }

    /// `near_duplicate`: a similarity above 0 and at most 1, or `"off"`.
    fn near_duplicate(&mut self, value: &Spanned<toml::Value>) -> Option<f64> {
        let number = match value.get_ref() {
            toml::Value::String(s) if s.trim().eq_ignore_ascii_case("off") => return None,
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(i) => Some(*i as f64),
            _ => None,
        };
        match number {
            Some(n) if n > 0.0 && n <= 1.0 => Some(n),
            _ => {
                self.error(
                    value.span().start,
                    "near_duplicate must be a similarity above 0 and at most 1 (e.g. 0.5), or \"off\"",
                );
                Some(crate::stories::DEFAULT_THRESHOLD)
            }
        }
    }

    fn unique(&mut self, seen: &mut HashSet<String>, name: &Spanned<String>, what: &str) -> bool {
        let n = name.get_ref();
        if n.trim().is_empty() {
            self.error(name.span().start, format!("{what} name must not be empty"));
            return false;
        }
        if !seen.insert(n.clone()) {
            self.error(name.span().start, format!("duplicate {what} name {n:?}; {what} names must be unique"));
            return false;
        }
        true
    }

    fn http_url(&mut self, value: &Spanned<String>, what: &str) -> String {
        let before = self.errors.len();
        let url = self.expand(value);
        if self.errors.len() > before {
            // The missing variable was reported; the URL it would have built is unknown.
            return url;
        }
        match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
            Ok(u) => {
                self.error(value.span().start, format!("{what} must be an http or https URL, not {}:", u.scheme()))
            }
            // Only mention the URL when it holds no expanded secret.
            Err(e) if url == *value.get_ref() => self.error(value.span().start, format!("invalid {what} {url:?}: {e}")),
            Err(e) => self.error(value.span().start, format!("invalid {what} (after expanding ${{…}}): {e}")),
        }
        self.secrets.add_url_parts(&url);
        url
    }

    fn headers(&mut self, raw: &BTreeMap<String, Spanned<String>>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (k, v) in raw {
            let value = self.expand(v);
            if secrets::is_secret_header(k) {
                self.secrets.add(&value);
                // "Bearer abc": the credential without its scheme word, too.
                if let Some((_, credential)) = value.trim().split_once(' ') {
                    self.secrets.add(credential);
                }
            }
            if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err() {
                self.error(v.span().start, format!("invalid HTTP header name {k:?}"));
            } else if reqwest::header::HeaderValue::from_str(&value).is_err() {
                self.error(v.span().start, format!("invalid value for HTTP header {k:?}"));
            }
            out.push((k.clone(), value));
        }
        out
    }

    fn feeds(&mut self, raw: &[RawFeed], daemon: &Daemon) -> Vec<Feed> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for f in raw {
            self.unique(&mut seen, &f.name, "feed");
            let url = self.http_url(&f.url, "feed url");
            let schedule = match (&f.interval, &f.schedule) {
                (Some(i), Some(_)) => {
                    self.error(i.span().start, "set either interval or schedule, not both");
                    Schedule::Every(daemon.default_interval)
                }
                (Some(i), None) if i.get_ref().trim() == "auto" => {
                    let min = f
                        .min_interval
                        .as_ref()
                        .and_then(|m| self.duration(m, "min_interval"))
                        .unwrap_or(Duration::from_secs(120));
                    let max = f
                        .max_interval
                        .as_ref()
                        .and_then(|m| self.duration(m, "max_interval"))
                        .unwrap_or(Duration::from_secs(3 * 3600));
                    if min > max {
                        self.error(i.span().start, "min_interval must not be longer than max_interval");
                    }
                    Schedule::Auto { min, max: max.max(min) }
                }
                (Some(i), None) => Schedule::Every(self.duration(i, "interval").unwrap_or(daemon.default_interval)),
                (None, Some(s)) => match cron::Schedule::from_str(s.get_ref()) {
                    Ok(c) => Schedule::Cron(Box::new(c)),
                    Err(e) => {
                        self.error(
                            s.span().start,
                            format!(
                                "invalid cron schedule {:?}: {e} (six fields, seconds first: \"0 */5 * * * *\")",
                                s.get_ref()
                            ),
                        );
                        Schedule::Every(daemon.default_interval)
                    }
                },
                (None, None) => Schedule::Every(daemon.default_interval),
            };
            if !matches!(schedule, Schedule::Auto { .. }) {
                for key in [&f.min_interval, &f.max_interval].into_iter().flatten() {
                    self.error(key.span().start, "min_interval and max_interval apply to interval = \"auto\" only");
                }
            }
            let headers = self.headers(&f.headers);
            let basic_auth = match (&f.username, &f.password) {
                (Some(u), Some(p)) => Some((self.expand(u), self.expand_secret(p))),
                (Some(u), None) => Some((self.expand(u), String::new())),
                (None, Some(p)) => {
                    self.error(p.span().start, "password needs username");
                    None
                }
                (None, None) => None,
            };
            let proxy = f.proxy.as_ref().map(|p| self.proxy(p)).or_else(|| daemon.proxy.clone());
            out.push(Feed {
                name: f.name.get_ref().clone(),
                url,
                schedule,
                tags: f.tags.iter().map(|t| t.get_ref().clone()).collect(),
                headers,
                enabled: f.enabled.unwrap_or(true),
                first_poll: f.first_poll.as_ref().and_then(|p| self.first_poll(p)).unwrap_or(daemon.first_poll),
                max_age: f.max_age.as_ref().map_or(daemon.max_age, |m| self.max_age(m)),
                id_policy: f.id_policy.as_ref().and_then(|p| self.id_policy(p)).unwrap_or_default(),
                on_update: f.on_update.as_ref().and_then(|u| self.on_update(u)).unwrap_or(daemon.on_update),
                basic_auth,
                proxy,
                honor_ttl: f.honor_ttl.unwrap_or(daemon.honor_ttl),
                fetch_article: f.fetch_article.unwrap_or(daemon.fetch_article),
                article_selector: f.article_selector.as_ref().and_then(|s| self.selector(s)),
                max_items: f.max_items.as_ref().and_then(|m| self.max_items(m)).unwrap_or(daemon.max_items),
            });
        }
        out
    }

    /// A required string key of a sink, expanded; an error naming it when missing.
    fn required(&mut self, s: &RawSink, key: &str, value: &Option<Spanned<String>>) -> String {
        match value {
            Some(v) => {
                let out = self.expand(v);
                if out.trim().is_empty() {
                    self.error(v.span().start, format!("{key} must not be empty"));
                }
                if key.ends_with("token") {
                    self.secrets.add(&out);
                }
                out
            }
            None => {
                self.error(s.kind.span().start, format!("a {} sink needs {key} = \"…\"", s.kind.get_ref()));
                String::new()
            }
        }
    }

    fn sinks(&mut self, raw: &[RawSink]) -> Vec<Sink> {
        use crate::deliver::chat::Target;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for s in raw {
            self.unique(&mut seen, &s.name, "sink");
            let kind = s.kind.get_ref().as_str();
            let Some((_, allowed)) = SINK_TYPES.iter().find(|(t, _)| *t == kind) else {
                let names: Vec<&str> = SINK_TYPES.iter().map(|(t, _)| *t).collect();
                self.error(
                    s.kind.span().start,
                    format!("unknown sink type {kind:?}; expected one of {}", names.join(", ")),
                );
                continue;
            };
            let present: [(&str, Option<usize>); 10] = [
                ("url", s.url.as_ref().map(|v| v.span().start)),
                ("secret", s.secret.as_ref().map(|v| v.span().start)),
                ("headers", s.headers.as_ref().map(|v| v.span().start)),
                ("token", s.token.as_ref().map(|v| v.span().start)),
                ("chat_id", s.chat_id.as_ref().map(|v| v.span().start)),
                ("api_url", s.api_url.as_ref().map(|v| v.span().start)),
                ("homeserver", s.homeserver.as_ref().map(|v| v.span().start)),
                ("access_token", s.access_token.as_ref().map(|v| v.span().start)),
                ("room", s.room.as_ref().map(|v| v.span().start)),
                ("topic", s.topic.as_ref().map(|v| v.span().start)),
            ];
            for (key, at) in present {
                if let Some(at) = at {
                    if !allowed.contains(&key) {
                        self.error(at, format!("key {key:?} does not apply to a sink of type {kind:?}"));
                    }
                }
            }
            let url = |v: &mut Self, what: &str| match &s.url {
                Some(u) => v.http_url(u, what),
                None => {
                    v.error(s.kind.span().start, format!("a {kind} sink needs url = \"https://…\""));
                    String::new()
                }
            };
            let kind = match kind {
                "console" => SinkKind::Console,
                "webhook" => {
                    let url = url(self, "sink url");
                    let secret = s.secret.as_ref().map(|v| self.expand_secret(v));
                    let headers = s.headers.as_ref().map(|h| self.headers(h.get_ref())).unwrap_or_default();
                    SinkKind::Webhook { url, secret, headers }
                }
                "slack" => SinkKind::Chat(Target::Slack { url: url(self, "webhook url") }),
                "discord" => SinkKind::Chat(Target::Discord { url: url(self, "webhook url") }),
                "mattermost" => SinkKind::Chat(Target::Mattermost { url: url(self, "webhook url") }),
                "teams" => SinkKind::Chat(Target::Teams { url: url(self, "webhook url") }),
                "googlechat" => SinkKind::Chat(Target::GoogleChat { url: url(self, "webhook url") }),
                "telegram" => {
                    let token = self.required(s, "token", &s.token);
                    let chat_id = match &s.chat_id {
                        Some(v) => match v.get_ref() {
                            toml::Value::Integer(n) => n.to_string(),
                            toml::Value::String(text) => self.expand(&Spanned::new(v.span(), text.clone())),
                            _ => {
                                self.error(v.span().start, "chat_id must be a number or a string such as \"@channel\"");
                                String::new()
                            }
                        },
                        None => {
                            self.error(s.kind.span().start, "a telegram sink needs chat_id");
                            String::new()
                        }
                    };
                    let api_url = match &s.api_url {
                        Some(u) => self.http_url(u, "api_url"),
                        None => "https://api.telegram.org".to_string(),
                    };
                    SinkKind::Chat(Target::Telegram { api_url, token, chat_id })
                }
                "matrix" => {
                    let homeserver = match &s.homeserver {
                        Some(u) => self.http_url(u, "homeserver"),
                        None => self.required(s, "homeserver", &None),
                    };
                    let access_token = self.required(s, "access_token", &s.access_token);
                    let room = self.required(s, "room", &s.room);
                    if let Some(r) = &s.room {
                        if !room.is_empty() && !room.starts_with('!') {
                            self.error(
                                r.span().start,
                                "room must be a room id such as \"!abc123:example.org\" (not an alias)",
                            );
                        }
                    }
                    SinkKind::Chat(Target::Matrix { homeserver, access_token, room })
                }
                "ntfy" => {
                    let server = url(self, "ntfy server url");
                    let topic = self.required(s, "topic", &s.topic);
                    let token = s.token.as_ref().map(|t| self.expand_secret(t));
                    SinkKind::Chat(Target::Ntfy { url: server, topic, token })
                }
                _ => {
                    let server = url(self, "gotify server url");
                    let token = self.required(s, "token", &s.token);
                    SinkKind::Chat(Target::Gotify { url: server, token })
                }
            };
            let default_interval = match &kind {
                SinkKind::Chat(t) => t.default_interval(),
                _ => Duration::ZERO,
            };
            let interval = match &s.rate {
                Some(r) => match parse_rate(r.get_ref()) {
                    Ok(d) => d,
                    Err(e) => {
                        self.error(r.span().start, format!("invalid rate {:?}: {e}", r.get_ref()));
                        default_interval
                    }
                },
                None => default_interval,
            };
            let is_chat = matches!(kind, SinkKind::Chat(_));
            let digest = match &s.digest {
                Some(d) => match d.get_ref().as_str() {
                    "never" => DigestMode::Never,
                    "auto" | "always" if !is_chat => {
                        self.error(
                            d.span().start,
                            "digests are for chat sinks; webhook and console sinks send one message per alert",
                        );
                        DigestMode::Never
                    }
                    "auto" => DigestMode::Auto,
                    "always" => DigestMode::Always,
                    other => {
                        self.error(
                            d.span().start,
                            format!("digest must be \"auto\", \"never\" or \"always\", not {other:?}"),
                        );
                        DigestMode::Never
                    }
                },
                None if is_chat => DigestMode::Auto,
                None => DigestMode::Never,
            };
            let burst = s.burst.as_ref().and_then(|b| self.positive(b, "burst")).unwrap_or(10) as usize;
            let max_attempts = s
                .max_attempts
                .as_ref()
                .and_then(|m| self.positive(m, "max_attempts"))
                .unwrap_or(u64::from(crate::deliver::MAX_ATTEMPTS))
                .min(1000) as u32;
            let max_age = s.max_age.as_ref().and_then(|m| self.duration(m, "max_age"));
            let template = s.template.as_ref().and_then(|t| self.template(t, &kind));
            let digest_window = match &s.digest_window {
                Some(w) if digest == DigestMode::Never => {
                    self.error(w.span().start, "digest_window needs digest = \"auto\" or \"always\"");
                    Duration::ZERO
                }
                Some(w) => self.duration(w, "digest_window").unwrap_or(Duration::ZERO),
                None => Duration::ZERO,
            };
            // A plain webhook receiver takes several requests at once; a chat room gets its
            // messages one after the other, in order.
            let default_concurrency =
                if matches!(kind, SinkKind::Webhook { .. }) { DEFAULT_WEBHOOK_CONCURRENCY } else { 1 };
            let concurrency = match &s.concurrency {
                Some(c) if *c.get_ref() > MAX_SINK_CONCURRENCY as i64 => {
                    self.error(c.span().start, format!("concurrency is at most {MAX_SINK_CONCURRENCY}"));
                    default_concurrency
                }
                Some(c) => self.positive(c, "concurrency").map_or(default_concurrency, |c| c as usize),
                None => default_concurrency,
            };
            out.push(Sink {
                name: s.name.get_ref().clone(),
                kind,
                interval,
                burst,
                digest,
                max_attempts,
                max_age,
                template,
                digest_window,
                concurrency,
            });
        }
        out
    }

    fn rules(&mut self, raw: &[RawRule], feeds: &[Feed], sinks: &[Sink]) -> Vec<Rule> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for r in raw {
            self.unique(&mut seen, &r.name, "rule");
            let lang = r.lang.as_ref().map(|l| l.get_ref().trim().to_ascii_lowercase());
            if let (Some(code), Some(raw)) = (&lang, &r.lang) {
                if !rules::known_lang(code) {
                    self.warn(
                        raw.span().start,
                        format!(
                            "rule {:?}: unknown lang {code:?}; pantau knows \"id\" (Indonesian; also \"in\", \"ind\", \"id-ID\") and \"en\" (English; also \"eng\", \"en-US\", …); other languages match without clitics or stems",
                            r.name.get_ref()
                        ),
                    );
                }
            }
            let opts = RuleOptions { lang: lang.clone() };
            let query = r.query.get_ref();
            let matcher = match rules::Rule::parse(query, &opts) {
                Ok(m) => {
                    for w in m.warnings() {
                        let at = diagnostic::string_offset(self.source, r.query.span(), w.offset);
                        self.warn(at, format!("rule {:?}: {}", r.name.get_ref(), w.message));
                    }
                    Some(Arc::new(m))
                }
                Err(e) => {
                    let at = diagnostic::string_offset(self.source, r.query.span(), e.offset);
                    self.error(at, format!("rule {:?}: {}", r.name.get_ref(), e.message));
                    None
                }
            };
            let feed_globs: Vec<String> = r.feeds.iter().flatten().map(|f| f.get_ref().clone()).collect();
            for g in r.feeds.iter().flatten() {
                if !feeds.iter().any(|f| glob_match(g.get_ref(), &f.name)) {
                    if is_glob(g.get_ref()) {
                        self.warn(g.span().start, format!("feed pattern {:?} matches no feed", g.get_ref()));
                    } else {
                        self.error(g.span().start, format!("no feed named {:?}", g.get_ref()));
                    }
                }
            }
            let tags: Vec<String> = r.tags.iter().flatten().map(|t| t.get_ref().clone()).collect();
            for t in r.tags.iter().flatten() {
                if !feeds.iter().any(|f| f.tags.contains(t.get_ref())) {
                    self.warn(t.span().start, format!("no feed has the tag {:?}", t.get_ref()));
                }
            }
            let sink_names: Vec<String> = match &r.sinks {
                Some(list) => {
                    for s in list {
                        if !sinks.iter().any(|k| k.name == *s.get_ref()) {
                            self.error(s.span().start, format!("no sink named {:?}", s.get_ref()));
                        }
                    }
                    if list.is_empty() {
                        self.warn(
                            r.name.span().start,
                            format!("rule {:?} sends to no sink (sinks = [])", r.name.get_ref()),
                        );
                    }
                    list.iter().map(|s| s.get_ref().clone()).collect()
                }
                None => sinks.iter().map(|s| s.name.clone()).collect(),
            };
            if r.sinks.is_none() && sinks.is_empty() {
                self.warn(
                    r.name.span().start,
                    format!("rule {:?} has no sink to send to; add a [[sink]]", r.name.get_ref()),
                );
            }
            let every_copy = match r.stories.as_ref() {
                None => false,
                Some(v) => match v.get_ref().as_str() {
                    "first" => false,
                    "every" => true,
                    other => {
                        self.error(v.span().start, format!("stories must be \"first\" or \"every\", not {other:?}"));
                        false
                    }
                },
            };
            if let (Some(matcher), true) = (matcher, r.enabled.unwrap_or(true)) {
                out.push(Rule {
                    name: r.name.get_ref().clone(),
                    query: query.clone(),
                    matcher,
                    feeds: feed_globs,
                    tags,
                    sinks: sink_names,
                    lang,
                    every_copy,
                });
            }
        }
        out
    }
}

/// Names added, removed and changed between two versions of one kind of config entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// In the new config only.
    pub added: Vec<String>,
    /// In the old config only.
    pub removed: Vec<String>,
    /// In both, with different settings.
    pub changed: Vec<String>,
}

impl Changes {
    fn between<T>(old: &[T], new: &[T], name: impl Fn(&T) -> &str, same: impl Fn(&T, &T) -> bool) -> Changes {
        let mut c = Changes::default();
        for n in new {
            match old.iter().find(|o| name(o) == name(n)) {
                None => c.added.push(name(n).to_string()),
                Some(o) if !same(o, n) => c.changed.push(name(n).to_string()),
                Some(_) => {}
            }
        }
        for o in old {
            if !new.iter().any(|n| name(n) == name(o)) {
                c.removed.push(name(o).to_string());
            }
        }
        c
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// What a reload changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Feeds.
    pub feeds: Changes,
    /// Rules.
    pub rules: Changes,
    /// Sinks.
    pub sinks: Changes,
    /// `[daemon]` settings that only take effect after a restart.
    pub needs_restart: Vec<&'static str>,
}

/// Compare two configs (for reload logs and to know what to restart).
pub fn diff(old: &Config, new: &Config) -> Diff {
    // Debug output covers every setting, secrets included; it is compared, never logged.
    let same_debug = |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") == format!("{b:?}");
    let mut needs_restart = Vec::new();
    let (o, n) = (&old.daemon, &new.daemon);
    if o.database != n.database {
        needs_restart.push("database");
    }
    if o.listen != n.listen {
        needs_restart.push("listen");
    }
    if o.concurrency != n.concurrency || o.per_host != n.per_host {
        needs_restart.push("concurrency/per_host");
    }
    if o.timeout != n.timeout || o.max_body != n.max_body {
        needs_restart.push("timeout/max_body");
    }
    Diff {
        feeds: Changes::between(&old.feeds, &new.feeds, |f| &f.name, |a, b| same_debug(a, b)),
        rules: Changes::between(
            &old.rules,
            &new.rules,
            |r| &r.name,
            |a, b| {
                a.query == b.query
                    && a.feeds == b.feeds
                    && a.tags == b.tags
                    && a.sinks == b.sinks
                    && same_debug(&a.matcher, &b.matcher)
            },
        ),
        sinks: Changes::between(&old.sinks, &new.sinks, |s| &s.name, |a, b| a == b),
        needs_restart,
    }
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?'])
}

/// Shell-style glob with `*` (any run) and `?` (one character), matched on whole names.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matcher with one backtrack point: linear-ish and never recursive.
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests;
