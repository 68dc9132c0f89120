//! The config builder: every integration test writes its `pantau.toml` through
//! [`ConfigBuilder`], so the shape of a feed, a rule or a sink table is spelt once.
//!
//! Each method takes the table's identifying fields and then `extra`, further `key = value`
//! lines written into the same table as they are. Configs that must be broken in a precise place
//! (`check`'s located errors) are written as text instead.

/// The watch rule most tests use: `"Korea Utara" AND senjata`.
pub const KORUT: &str = r#""Korea Utara" AND senjata"#;

/// A `pantau.toml` under construction: `[daemon]`, then feeds, rules, sinks, then raw text.
#[derive(Debug, Default, Clone)]
pub struct ConfigBuilder {
    daemon: Vec<String>,
    feeds: Vec<String>,
    rules: Vec<String>,
    sinks: Vec<String>,
    raw: Vec<String>,
}

impl ConfigBuilder {
    /// An empty config (pantau's defaults; `[daemon]` is written only when it has lines).
    pub fn new() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Lines for `[daemon]`.
    pub fn daemon(mut self, lines: &str) -> ConfigBuilder {
        self.daemon.push(lines.to_string());
        self
    }

    /// `database = "state/pantau.db"` in `[daemon]`: a database in a directory pantau creates.
    pub fn state_dir(self) -> ConfigBuilder {
        self.daemon("database = \"state/pantau.db\"")
    }

    /// `listen = "127.0.0.1:0"` in `[daemon]`: the endpoint on a port the system chooses, read
    /// back with `Daemon::port`.
    pub fn listen(self) -> ConfigBuilder {
        self.daemon("listen = \"127.0.0.1:0\"")
    }

    /// A `[[feed]]` table.
    pub fn feed(mut self, name: &str, url: &str, extra: &str) -> ConfigBuilder {
        self.feeds.push(format!("[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n{}", lines(extra)));
        self
    }

    /// A `[[rule]]` table; `query` is written as a literal string, so it may hold any quotes.
    pub fn rule(mut self, name: &str, query: &str, extra: &str) -> ConfigBuilder {
        self.rules.push(format!("[[rule]]\nname = \"{name}\"\nquery = '''{query}'''\n{}", lines(extra)));
        self
    }

    /// A `[[sink]]` table of `kind`.
    pub fn sink(mut self, name: &str, kind: &str, extra: &str) -> ConfigBuilder {
        self.sinks.push(format!("[[sink]]\nname = \"{name}\"\ntype = \"{kind}\"\n{}", lines(extra)));
        self
    }

    /// A webhook `[[sink]]` to `url`.
    pub fn webhook(self, name: &str, url: &str, extra: &str) -> ConfigBuilder {
        self.sink(name, "webhook", &format!("url = \"{url}\"\n{extra}"))
    }

    /// The rule "korut-senjata" (`"Korea Utara" AND senjata`) and the webhook sink "hook" to
    /// `hook_url`, which the rule alerts (the only sink).
    pub fn korut_to_hook(self, hook_url: &str) -> ConfigBuilder {
        self.rule("korut-senjata", KORUT, "").webhook("hook", hook_url, "")
    }

    /// Text appended as it is, after the tables (top-level tables of its own).
    pub fn raw(mut self, text: &str) -> ConfigBuilder {
        self.raw.push(text.to_string());
        self
    }

    /// The TOML text.
    pub fn build(&self) -> String {
        let mut out = String::new();
        if !self.daemon.is_empty() {
            out.push_str("[daemon]\n");
            for l in &self.daemon {
                out.push_str(&lines(l));
            }
        }
        // A blank line between tables, none before the first.
        for text in self.feeds.iter().chain(&self.rules).chain(&self.sinks).chain(&self.raw) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(text);
        }
        out
    }
}

/// `text` as it is (multi-line strings keep their indentation), ending in a newline unless it is
/// blank.
fn lines(text: &str) -> String {
    let text = text.trim_matches('\n');
    if text.trim().is_empty() {
        String::new()
    } else {
        format!("{text}\n")
    }
}
