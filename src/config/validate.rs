//! Checking a parsed file and compiling it into [`Config`]: every problem is reported at its
//! place (`PATH:LINE:COL`), and one error never hides the next.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use super::glob::{glob_match, is_glob};
use super::raw::{RawConfig, RawDaemon, RawFeed, RawRule};
use super::{
    diagnostic, secrets, Config, ConfigErrors, Daemon, Diagnostic, Feed, FirstPoll, IdPolicy, OnUpdate, Rule, Schedule,
    Secrets, Severity, Sink, DEFAULT_MAX_AGE, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, INSTALLED_CONFIG_DIR,
    INSTALLED_STATE_DIR, MAX_ITEMS_LIMIT,
};
use crate::model::Database;
use crate::rules::{self, RuleOptions};

/// The compiled config and every error found (an error leaves out what it is about: a rule
/// that does not parse is not in `rules`); only TOML that cannot be read is an `Err`.
pub(super) fn validate(
    path: &Path,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, Vec<Diagnostic>), ConfigErrors> {
    let raw: RawConfig = toml::from_str(source).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        ConfigErrors(vec![Diagnostic::at(Severity::Error, path, source, offset, e.message().trim().to_string())])
    })?;
    let mut v = Validator {
        path,
        source,
        env,
        errors: Vec::new(),
        warnings: Vec::new(),
        secrets: Secrets::default(),
        unusable_database: false,
    };
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
        hash: crate::model::hex_hash(&[source]),
    };
    if v.unusable_database {
        // Every command needs the database, the inspection commands too: nothing can go on.
        return Err(ConfigErrors(v.errors));
    }
    Ok((config, v.errors))
}

pub(super) struct Validator<'a> {
    pub(super) path: &'a Path,
    pub(super) source: &'a str,
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) errors: Vec<Diagnostic>,
    pub(super) warnings: Vec<Diagnostic>,
    pub(super) secrets: Secrets,
    /// `database` names no file pantau can use (a URL): fatal for every command.
    pub(super) unusable_database: bool,
}

impl Validator<'_> {
    pub(super) fn error(&mut self, offset: usize, message: impl Into<String>) {
        self.errors.push(Diagnostic::at(Severity::Error, self.path, self.source, offset, message));
    }

    pub(super) fn warn(&mut self, offset: usize, message: impl Into<String>) {
        self.warnings.push(Diagnostic::at(Severity::Warning, self.path, self.source, offset, message));
    }

    /// Expand `${VAR}` references; a missing variable is an error naming it. `$${` stands for
    /// a literal `${` (what `import-opml` writes for a `${` it finds). Each value read from the
    /// environment is remembered as a secret.
    pub(super) fn expand(&mut self, value: &Spanned<String>) -> String {
        self.expand_with(value, true)
    }

    /// [`Self::expand`] for values that are not secret (a file path), so they stay printable.
    pub(super) fn expand_plain(&mut self, value: &Spanned<String>) -> String {
        self.expand_with(value, false)
    }

    pub(super) fn expand_with(&mut self, value: &Spanned<String>, secret: bool) -> String {
        let expanded = expand_env(value.get_ref(), self.env);
        for problem in expanded.problems {
            self.error(value.span().start, problem);
        }
        if secret {
            for v in &expanded.read {
                self.secrets.add(v);
            }
        }
        expanded.text
    }

    /// Expand a value that is a credential even when written literally.
    pub(super) fn expand_secret(&mut self, value: &Spanned<String>) -> String {
        let out = self.expand(value);
        self.secrets.add(&out);
        out
    }

    /// `[daemon] lease`: a duration of at least [`super::MIN_LEASE`].
    fn lease(&mut self, value: &Spanned<String>) -> Option<Duration> {
        let lease = self.duration(value, "lease")?;
        if lease < super::MIN_LEASE {
            self.error(
                value.span().start,
                format!(
                    "lease must be at least {} (a node renews it every third)",
                    humantime::format_duration(super::MIN_LEASE)
                ),
            );
            return None;
        }
        Some(lease)
    }

    pub(super) fn duration(&mut self, value: &Spanned<String>, what: &str) -> Option<Duration> {
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
    pub(super) fn max_age(&mut self, value: &Spanned<String>) -> Option<Duration> {
        if value.get_ref().trim().eq_ignore_ascii_case("off") {
            return None;
        }
        self.duration(value, "max_age")
    }

    pub(super) fn positive(&mut self, value: &Spanned<i64>, what: &str) -> Option<u64> {
        match u64::try_from(*value.get_ref()) {
            Ok(n) if n > 0 => Some(n),
            _ => {
                self.error(value.span().start, format!("{what} must be a positive number"));
                None
            }
        }
    }

    /// `max_items`: a positive count, at most [`MAX_ITEMS_LIMIT`].
    pub(super) fn max_items(&mut self, value: &Spanned<i64>) -> Option<usize> {
        match usize::try_from(*value.get_ref()) {
            Ok(n) if (1..=MAX_ITEMS_LIMIT).contains(&n) => Some(n),
            _ => {
                self.error(value.span().start, format!("max_items must be a number from 1 to {MAX_ITEMS_LIMIT}"));
                None
            }
        }
    }

    pub(super) fn non_negative(&mut self, value: &Spanned<i64>, what: &str) -> Option<u64> {
        match u64::try_from(*value.get_ref()) {
            Ok(n) if n <= u64::from(u32::MAX) => Some(n),
            _ => {
                self.error(value.span().start, format!("{what} must be 0 or a positive number"));
                None
            }
        }
    }

    pub(super) fn first_poll(&mut self, value: &Spanned<String>) -> Option<FirstPoll> {
        match value.get_ref().as_str() {
            "alert" => Some(FirstPoll::Alert),
            "silent" => Some(FirstPoll::Silent),
            other => {
                self.error(value.span().start, format!("first_poll must be \"alert\" or \"silent\", not {other:?}"));
                None
            }
        }
    }

    pub(super) fn on_update(&mut self, value: &Spanned<String>) -> Option<OnUpdate> {
        match value.get_ref().as_str() {
            "ignore" => Some(OnUpdate::Ignore),
            "realert" => Some(OnUpdate::Realert),
            other => {
                self.error(value.span().start, format!("on_update must be \"ignore\" or \"realert\", not {other:?}"));
                None
            }
        }
    }

    pub(super) fn proxy(&mut self, value: &Spanned<String>) -> String {
        let url = self.expand(value);
        match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") => {}
            _ => self.error(value.span().start, "proxy must be a URL such as \"http://proxy.example:3128\""),
        }
        self.secrets.add_url_parts(&url);
        url
    }

    /// A CSS selector for article text, checked here so that a typo stops `check`, not a poll.
    pub(super) fn selector(&mut self, value: &Spanned<String>) -> Option<String> {
        match crate::markup::check_selector(value.get_ref()) {
            Ok(()) => Some(value.get_ref().clone()),
            Err(e) => {
                self.error(value.span().start, format!("article_selector is not a CSS selector pantau can use: {e}"));
                None
            }
        }
    }

    pub(super) fn id_policy(&mut self, value: &Spanned<String>) -> Option<IdPolicy> {
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

    pub(super) fn daemon(&mut self, raw: &RawDaemon, base: &Path) -> Daemon {
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
                    self.error(db.span().start, "database must name a file or a postgres:// URL");
                    Database::Sqlite(relative("pantau.db"))
                } else if expanded.contains("://") {
                    // Never a path: "mysql://user:pass@host/db" would become a directory named
                    // "mysql:" with a SQLite file in it, and the URL (and its password) would be
                    // printed as a path. The value is not repeated here.
                    self.secrets.add_url_parts(&expanded);
                    if let Some(usable) = postgres_url(&expanded) {
                        if let Err(e) = usable {
                            self.error(
                                db.span().start,
                                format!("database is not a PostgreSQL URL that pantau can use ({e}); write postgres://USER:${{PASSWORD}}@HOST:PORT/DBNAME"),
                            );
                            self.unusable_database = true;
                        }
                        Database::Postgres(expanded)
                    } else {
                        self.error(
                            db.span().start,
                            "database must be a file path (SQLite) or a postgres:// URL (PostgreSQL), not another kind of URL",
                        );
                        self.unusable_database = true;
                        Database::Sqlite(relative("pantau.db"))
                    }
                } else {
                    Database::Sqlite(relative(&expanded))
                }
            }
            None => Database::Sqlite(relative("pantau.db")),
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
            lease: raw.lease.as_ref().and_then(|l| self.lease(l)).unwrap_or(super::DEFAULT_LEASE),
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
    pub(super) fn near_duplicate(&mut self, value: &Spanned<toml::Value>) -> Option<f64> {
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

    pub(super) fn unique(&mut self, seen: &mut HashSet<String>, name: &Spanned<String>, what: &str) -> bool {
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

    pub(super) fn http_url(&mut self, value: &Spanned<String>, what: &str) -> String {
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

    pub(super) fn headers(&mut self, raw: &BTreeMap<String, Spanned<String>>) -> Vec<(String, String)> {
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

    pub(super) fn feeds(&mut self, raw: &[RawFeed], daemon: &Daemon) -> Vec<Feed> {
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

    pub(super) fn rules(&mut self, raw: &[RawRule], feeds: &[Feed], sinks: &[Sink]) -> Vec<Rule> {
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

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`: `Some`), and
/// then whether the driver can use it (`Err` says why not). `None`: another scheme, or no URL.
pub fn postgres_url(url: &str) -> Option<Result<(), String>> {
    let (scheme, _) = url.split_once("://")?;
    let postgres = scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql");
    postgres.then(|| url.parse::<postgres::Config>().map(drop).map_err(|e| e.to_string()))
}

/// A value with its `${NAME}` references replaced ([`expand_env`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expanded {
    /// The text (up to an unterminated `${`, when there is one).
    pub text: String,
    /// The values read from the environment, in order: secrets, for a caller whose value is.
    pub read: Vec<String>,
    /// What was wrong, each as a message (a variable not set, an invalid name, an unterminated
    /// reference).
    pub problems: Vec<String>,
}

/// Replace each `${NAME}` of `value` by `env(NAME)`; `$${` stands for a literal `${` (what
/// `import-opml` writes for a `${` it finds). The config's values and `pantau migrate --to`
/// read the environment this one way.
pub fn expand_env(value: &str, env: &dyn Fn(&str) -> Option<String>) -> Expanded {
    let mut out = Expanded::default();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(literal) = after.strip_prefix("${") {
            out.text.push_str("${");
            rest = literal;
            continue;
        }
        let Some(after) = after.strip_prefix('{') else {
            out.text.push('$');
            rest = after;
            continue;
        };
        let Some(end) = after.find('}') else {
            out.problems.push("unterminated ${ in value; write ${NAME} (or $${ for a literal ${)".into());
            return out;
        };
        let name = &after[..end];
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            out.problems.push(format!("invalid environment variable name {name:?} in ${{…}}"));
        } else {
            match env(name) {
                Some(v) => {
                    out.text.push_str(&v);
                    out.read.push(v);
                }
                None => {
                    out.problems.push(format!("environment variable {name} is not set (referenced as ${{{name}}})"))
                }
            }
        }
        rest = &after[end + 1..];
    }
    out.text.push_str(rest);
    out
}
