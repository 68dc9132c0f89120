//! Chat sinks: the [`Chat`] trait through which a chat service renders an alert (or a digest
//! of alerts) as its HTTP request and reads its answers (accepted? retry when? rate-limit
//! headers), and the request type the delivery worker sends. No IO here.
//!
//! Each service's module (a sibling of this one) holds its message format, escaping and limits;
//! `text` holds what they share. Every cut is made on the raw text and measured on its
//! rendering, so a character, an escape or a tag is never split.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use super::text::Fields;
use super::{text, Service};
use crate::model::AlertPayload;

/// A configured chat sink, as the delivery worker holds it.
pub type Target = Arc<dyn Chat>;

/// What a chat service renders and reads: its requests (message format, escaping and limits)
/// and its answers (accepted? retry when? rate-limit headers). Pure: no IO.
pub trait Chat: Service {
    /// The request showing `fields`, idempotent by `id`; `published` is an RFC 3339 date.
    fn render(&self, id: &str, published: Option<&str>, fields: &Fields) -> HttpRequest;

    /// The request carrying `message`, a sink template's output for `alert`, in the service's
    /// markup; `None` when it is too long for a service whose markup a cut could break
    /// (Telegram, Matrix), so the caller falls back to pantau's own layout.
    fn custom_request(&self, alert: &AlertPayload, message: &str) -> Option<HttpRequest>;

    /// A digest of `alerts` (see [`digest_request`]), idempotent by `digest_id`.
    fn digest(&self, alerts: &[Fields], digest_id: &str) -> HttpRequest;

    /// The service's own retry hint in the body or headers of a failed response, before the
    /// `Retry-After` header every service may send.
    fn own_retry_hint(&self, _headers: &[(String, String)], _body: &str) -> Option<Duration> {
        None
    }

    /// Whether the body of a 2xx response means "accepted" (Telegram also says `"ok": true`).
    fn accepts_body(&self, _body: &str) -> bool {
        true
    }

    /// The request that delivers `alert`; `alert.id` is the stable idempotency key (Matrix
    /// transaction id, Google Chat `requestId`).
    fn request(&self, alert: &AlertPayload) -> HttpRequest {
        self.render(&alert.id, alert.item.published.as_deref(), &Fields::of(alert))
    }

    /// The service's own retry hint in a failed response, if any: Discord's JSON `retry_after`
    /// (float seconds) or `X-RateLimit-Reset-After`, Telegram's `parameters.retry_after`,
    /// Matrix's `retry_after_ms`, else the `Retry-After` header (seconds or an HTTP date).
    /// A successful (2xx) response has no hint.
    fn retry_hint(&self, status: u16, headers: &[(String, String)], body: &str) -> Option<Duration> {
        if (200..300).contains(&status) {
            return None;
        }
        self.own_retry_hint(headers, body).or_else(|| text::retry_after_header(headers))
    }

    /// How long to send nothing more after a response, from the service's rate-limit bucket
    /// headers, whatever the status: when the bucket is empty (`X-RateLimit-Remaining: 0`),
    /// until it refills (`X-RateLimit-Reset-After`, float seconds: Discord; or the IETF
    /// `RateLimit-Remaining` / `RateLimit-Reset`). `None` while the bucket has room.
    fn rate_hold(&self, headers: &[(String, String)]) -> Option<Duration> {
        let number = |name: &str| text::header(headers, name).and_then(|v| v.trim().parse::<f64>().ok());
        let (remaining, reset) = match number("x-ratelimit-remaining") {
            Some(r) => (r, number("x-ratelimit-reset-after")),
            None => (number("ratelimit-remaining")?, number("ratelimit-reset")),
        };
        // A bucket that says it is empty but not when it refills: one second is Discord's
        // usual window, and a guess errs on the side of the service.
        (remaining <= 0.0).then(|| reset.and_then(text::secs_f64).unwrap_or(Duration::from_secs(1)))
    }

    /// Whether a response means "accepted": any 2xx whose body the service accepts.
    fn accepted(&self, status: u16, body: &str) -> bool {
        (200..300).contains(&status) && self.accepts_body(body)
    }
}

/// An HTTP request ready to send. `Debug` shows only the URL's origin and hides credential
/// headers, since the URL or headers of a chat request usually carry a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The full URL (may contain a secret: webhook URL, Telegram bot token).
    pub url: String,
    /// Headers, `Content-Type` included.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: String,
}

/// The HTTP methods chat services use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// POST.
    Post,
    /// PUT (Matrix, whose transaction id in the path makes the request idempotent).
    Put,
}

impl Method {
    /// The method's name as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

impl HttpRequest {
    /// A request with a JSON `body` and the `Content-Type` header, then `extra` headers.
    pub(super) fn json(
        method: Method,
        url: String,
        extra: Vec<(String, String)>,
        body: &serde_json::Value,
    ) -> HttpRequest {
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        headers.extend(extra);
        HttpRequest { method, url, headers, body: body.to_string() }
    }
}

/// A URL that is itself a secret (a chat service's incoming-webhook URL): used as the string it
/// is, printed (`Debug`) as its origin only.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl std::ops::Deref for SecretUrl {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> SecretUrl {
        SecretUrl(url)
    }
}

impl From<&str> for SecretUrl {
    fn from(url: &str) -> SecretUrl {
        SecretUrl(url.to_string())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&origin(&self.0), f)
    }
}

/// The part of a URL that is safe to log: scheme and host (and port), never path or query.
pub(super) fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match u.host_str() {
            Some(host) => match u.port() {
                Some(port) => format!("{}://{host}:{port}/…", u.scheme()),
                None => format!("{}://{host}/…", u.scheme()),
            },
            None => "<redacted>".to_string(),
        },
        Err(_) => "<redacted>".to_string(),
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), if crate::secrets::is_secret_header(k) { "<redacted>" } else { v.as_str() }))
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &origin(&self.url))
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
}

/// A digest: one message listing several alerts (used when a burst exceeds a sink's limit).
///
/// `alerts` share the same sink; the message lists each title as a link with its feed and
/// rule, as many as the service's limit allows, then "…and N more". `digest_id` is the
/// idempotency key (Matrix transaction id, Google Chat `requestId`).
pub fn digest_request(target: &Target, alerts: &[AlertPayload], digest_id: &str) -> HttpRequest {
    let fields: Vec<Fields> = alerts.iter().map(Fields::of).collect();
    target.digest(&fields, digest_id)
}

/// The heading of a digest of `n` alerts.
pub(super) fn digest_heading(n: usize) -> String {
    if n == 1 {
        "1 new alert".to_string()
    } else {
        format!("{n} new alerts")
    }
}
