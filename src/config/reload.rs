//! What a reload changes: feeds, rules and sinks added, removed or changed (compared by value),
//! and the `[daemon]` settings that need a restart.

use super::Config;

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
        feeds: Changes::between(&old.feeds, &new.feeds, |f| &f.name, |a, b| a == b),
        rules: Changes::between(&old.rules, &new.rules, |r| &r.name, |a, b| a == b),
        sinks: Changes::between(&old.sinks, &new.sinks, |s| &s.name, |a, b| a == b),
        needs_restart,
    }
}
