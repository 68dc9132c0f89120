//! `[[sink]]` tables checked and compiled: the keys every sink takes are read here, each
//! type's own keys by its module in `crate::sinks`, through [`Keys`] on the validator (so a
//! service's messages carry `PATH:LINE:COL` like every other).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use super::raw::RawSink;
use super::validate::Validator;
use super::{parse_rate, DigestMode, Sink, DEFAULT_MAX_ATTEMPTS, MAX_SINK_CONCURRENCY};
use crate::sinks::template::MessageTemplate;
use crate::sinks::{self, Configured, Keys, RawValue, Transport};

impl Validator<'_> {
    pub(super) fn sinks(&mut self, raw: &[RawSink]) -> Vec<Sink> {
        let type_keys = sinks::all_keys();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for s in raw {
            self.unique(&mut seen, &s.name, "sink");
            let kind = s.kind.get_ref().as_str();
            let Some(ty) = sinks::find(kind) else {
                let names: Vec<&str> = sinks::TYPES.iter().map(|t| t.name).collect();
                self.error(
                    s.kind.span().start,
                    format!("unknown sink type {kind:?}; expected one of {}", names.join(", ")),
                );
                continue;
            };
            for key in &type_keys {
                if let Some(value) = s.service(key.name) {
                    if !ty.keys.iter().any(|k| k.name == key.name) {
                        self.error(
                            value.start(),
                            format!("key {:?} does not apply to a sink of type {kind:?}", key.name),
                        );
                    }
                }
            }
            let service = (ty.configure)(&mut SinkKeys { v: self, sink: s });
            let default_interval = service.default_interval();
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
            // Digests are for chat services: a webhook or the console gets one message per alert.
            let is_chat = matches!(service.transport(), Transport::Chat(_));
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
                .unwrap_or(u64::from(DEFAULT_MAX_ATTEMPTS))
                .min(1000) as u32;
            let max_age = s.max_age.as_ref().and_then(|m| self.duration(m, "max_age"));
            let template = s.template.as_ref().and_then(|t| self.template(t, &service));
            let digest_window = match &s.digest_window {
                Some(w) if digest == DigestMode::Never => {
                    self.error(w.span().start, "digest_window needs digest = \"auto\" or \"always\"");
                    Duration::ZERO
                }
                Some(w) => self.duration(w, "digest_window").unwrap_or(Duration::ZERO),
                None => Duration::ZERO,
            };
            let default_concurrency = service.default_concurrency();
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
                kind: service,
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

    /// Compile a sink `template` and try it on a sample alert, so a typo is found by `check`.
    fn template(&mut self, value: &Spanned<String>, service: &Configured) -> Option<Arc<MessageTemplate>> {
        let checked = MessageTemplate::compile(value.get_ref(), service.template_escaper()).and_then(|t| {
            service.check_template(&t.try_sample()?)?;
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
}

/// One `[[sink]]` table's type keys, as its service reads them: through the validator.
struct SinkKeys<'v, 'a, 's> {
    v: &'v mut Validator<'a>,
    sink: &'s RawSink,
}

impl SinkKeys<'_, '_, '_> {
    /// The string in `key`, if the table has one.
    fn text(&self, key: &str) -> Option<Spanned<String>> {
        match self.sink.service(key) {
            Some(RawValue::Text(v)) => Some(v.clone()),
            _ => None,
        }
    }
}

impl Keys for SinkKeys<'_, '_, '_> {
    fn raw(&self, key: &str) -> Option<&RawValue> {
        self.sink.service(key)
    }

    fn error(&mut self, offset: usize, message: String) {
        self.v.error(offset, message);
    }

    fn missing(&mut self, message: String) {
        self.v.error(self.sink.kind.span().start, message);
    }

    fn expand(&mut self, value: &Spanned<String>) -> String {
        self.v.expand(value)
    }

    fn secret(&mut self, key: &str) -> Option<String> {
        let value = self.text(key)?;
        Some(self.v.expand_secret(&value))
    }

    fn required(&mut self, key: &str) -> String {
        let Some(value) = self.text(key) else {
            self.missing(format!("a {} sink needs {key} = \"…\"", self.sink.kind.get_ref()));
            return String::new();
        };
        let out = self.v.expand(&value);
        if out.trim().is_empty() {
            self.v.error(value.span().start, format!("{key} must not be empty"));
        }
        if key.ends_with("token") {
            self.v.secrets.add(&out);
        }
        out
    }

    fn url(&mut self, key: &str, what: &str) -> Option<String> {
        let value = self.text(key)?;
        Some(self.v.http_url(&value, what))
    }

    fn required_url(&mut self, what: &str) -> String {
        match self.url("url", what) {
            Some(url) => url,
            None => {
                self.missing(format!("a {} sink needs url = \"https://…\"", self.sink.kind.get_ref()));
                String::new()
            }
        }
    }

    fn headers(&mut self, key: &str) -> Vec<(String, String)> {
        match self.sink.service(key) {
            Some(RawValue::Table(headers)) => self.v.headers(headers.get_ref()),
            _ => Vec::new(),
        }
    }
}
