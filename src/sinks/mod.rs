//! The sink types pantau delivers to: one module per service, each describing itself.
//!
//! A service module owns everything particular to its service: the keys of its `[[sink]]`
//! table and their validation, its default `rate` and `concurrency`, how a sink `template`'s
//! values are escaped, and (for chat services, through [`chat::Chat`]) its message format,
//! limits, escaping, retry hints and rate-limit headers. All of it is pure: `config` uses this
//! module to validate a file, `deliver` to send; this module uses neither.
//!
//! Adding a service is one file beside the others and one name in the `registry!` line below.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use template::{Escaper, TemplateError};

pub mod chat;
pub mod template;
mod text;

#[cfg(test)]
mod tests;

/// Declares every sink type: its module and its entry in [`TYPES`], in the order messages
/// list them (and the order the union of their keys is listed in).
macro_rules! registry {
    ($($module:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every sink type, in the order messages list them.
        pub static TYPES: &[&Type] = &[$(&$module::TYPE),*];
    };
}

registry!(console, webhook, slack, discord, mattermost, teams, googlechat, telegram, matrix, ntfy, gotify);

/// One sink type: the name its `[[sink]]` tables give as `type`, the keys of its own, and
/// how a table's values become a configured sink.
pub struct Type {
    /// The `type` value, e.g. `"slack"`.
    pub name: &'static str,
    /// The keys this type takes besides the ones every sink takes.
    pub keys: &'static [Key],
    /// Read and check this type's keys (errors go to `keys`) into a configured sink.
    pub configure: fn(&mut dyn Keys) -> Configured,
}

/// A key of a `[[sink]]` table that only some types take, and what TOML value it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Its name.
    pub name: &'static str,
    /// What it holds.
    pub value: KeyValue,
}

impl Key {
    /// A key holding a string.
    pub const fn text(name: &'static str) -> Key {
        Key { name, value: KeyValue::Text }
    }

    /// A key holding a table of strings.
    pub const fn table(name: &'static str) -> Key {
        Key { name, value: KeyValue::Table }
    }

    /// A key holding any value, which the service checks.
    pub const fn any(name: &'static str) -> Key {
        Key { name, value: KeyValue::Any }
    }
}

/// The TOML value a service key holds. A key has one kind of value whichever type takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyValue {
    /// A string.
    Text,
    /// A table of strings (HTTP headers).
    Table,
    /// Any value; the service checks it.
    Any,
}

/// A service key's value as written in the file, with its place.
#[derive(Debug, Clone)]
pub enum RawValue {
    /// A string.
    Text(Spanned<String>),
    /// A table of strings.
    Table(Spanned<BTreeMap<String, Spanned<String>>>),
    /// Any value.
    Any(Spanned<toml::Value>),
}

impl RawValue {
    /// Where the value starts in the file (a byte offset).
    pub fn start(&self) -> usize {
        match self {
            RawValue::Text(v) => v.span().start,
            RawValue::Table(v) => v.span().start,
            RawValue::Any(v) => v.span().start,
        }
    }
}

/// The sink type called `name`.
pub fn find(name: &str) -> Option<&'static Type> {
    TYPES.iter().copied().find(|t| t.name == name)
}

/// Every service key of every type, each once, in registry order.
pub fn all_keys() -> Vec<Key> {
    let mut out: Vec<Key> = Vec::new();
    for key in TYPES.iter().flat_map(|t| t.keys) {
        if !out.iter().any(|k| k.name == key.name) {
            out.push(*key);
        }
    }
    out
}

/// What a service reads its keys through: the config validator, which expands `${VAR}`,
/// remembers secrets and reports each problem at its place in the file.
pub trait Keys {
    /// The value of `key`, if the table has it.
    fn raw(&self, key: &str) -> Option<&RawValue>;
    /// Report a problem at `offset` in the file.
    fn error(&mut self, offset: usize, message: String);
    /// Report that a key is missing (located at the table's `type`).
    fn missing(&mut self, message: String);
    /// A string as written, `${VAR}` expanded.
    fn expand(&mut self, value: &Spanned<String>) -> String;
    /// A string that is a credential even when written literally, expanded.
    fn secret(&mut self, key: &str) -> Option<String>;
    /// A required string, expanded; empty or missing is an error (`a TYPE sink needs KEY =
    /// "…"`), and a `…token` is remembered as a secret.
    fn required(&mut self, key: &str) -> String;
    /// An http(s) URL in `key`, if present, checked (`what` names it in messages).
    fn url(&mut self, key: &str, what: &str) -> Option<String>;
    /// The `url` key, required: `a TYPE sink needs url = "https://…"` when missing.
    fn required_url(&mut self, what: &str) -> String;
    /// A table of HTTP headers, expanded and checked.
    fn headers(&mut self, key: &str) -> Vec<(String, String)>;
}

/// How a configured sink's messages leave pantau.
pub enum Transport<'a> {
    /// Printed on stdout.
    Console,
    /// POSTed as the alert's JSON payload to an endpoint.
    Webhook(&'a webhook::Webhook),
    /// Rendered as the request of a chat service.
    Chat(chat::Target),
}

/// A configured sink of one type: its settings and what it does with them.
pub trait Service: fmt::Debug + Send + Sync + DynEq {
    /// The type's name, as in the config `type` ("slack", "googlechat", …).
    fn kind(&self) -> &'static str;
    /// How its messages are sent.
    fn transport(&self) -> Transport<'_>;
    /// Safe default minimum spacing between two messages (when `rate` is not set).
    fn default_interval(&self) -> Duration {
        Duration::ZERO
    }
    /// Messages in flight at once unless `concurrency` says otherwise.
    fn default_concurrency(&self) -> usize {
        1
    }
    /// How values printed by a sink `template` are escaped: for the service's markup.
    fn template_escaper(&self) -> Escaper;
    /// Check a template's output for the sample alert (a webhook's must be JSON).
    fn check_template(&self, _sample: &str) -> Result<(), TemplateError> {
        Ok(())
    }
}

/// Comparison of services of any type: equal when of one type with equal settings.
pub trait DynEq {
    /// The service as `Any`, to compare with another of its type.
    fn as_any(&self) -> &dyn Any;
    /// Whether `other` is of the same type and equal.
    fn dyn_eq(&self, other: &dyn Any) -> bool;
}

impl<T: Any + PartialEq> DynEq for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn dyn_eq(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<T>() == Some(self)
    }
}

/// A configured sink of some type, compared by value (so that a reload sees what changed).
#[derive(Clone)]
pub struct Configured(Arc<dyn Service>);

impl Configured {
    /// Wrap a configured service.
    pub fn new(service: impl Service + 'static) -> Configured {
        Configured(Arc::new(service))
    }
}

impl std::ops::Deref for Configured {
    type Target = dyn Service;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl PartialEq for Configured {
    fn eq(&self, other: &Self) -> bool {
        self.0.dyn_eq(other.0.as_any())
    }
}

/// Shows the service's own `Debug`, which never shows a secret.
impl fmt::Debug for Configured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
