//! Chat sinks: render an alert (or a digest of alerts) as the HTTP request of each chat
//! service, and read each service's answers (accepted? retry when?). No IO here.
//!
//! One module per service holds its message format, escaping and limits; `text` holds what
//! they share. Every cut is made on the
//! raw text and measured on its rendering, so a character, an escape or a tag is never split.

mod discord;
mod googlechat;
mod gotify;
mod matrix;
mod mattermost;
mod ntfy;
mod slack;
mod teams;
mod telegram;
mod text;

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

use crate::model::AlertPayload;

/// A chat service and its settings (secrets included: `Debug` redacts tokens and webhook URLs).
#[derive(Clone, PartialEq)]
pub enum Target {
    /// Slack incoming webhook.
    Slack {
        /// The webhook URL (a secret).
        url: String,
    },
    /// Discord webhook.
    Discord {
        /// The webhook URL (a secret).
        url: String,
    },
    /// Mattermost incoming webhook.
    Mattermost {
        /// The webhook URL (a secret).
        url: String,
    },
    /// Microsoft Teams Workflows webhook.
    Teams {
        /// The webhook URL (a secret).
        url: String,
    },
    /// Google Chat space webhook.
    GoogleChat {
        /// The webhook URL (a secret: it carries the key and token).
        url: String,
    },
    /// Telegram Bot API `sendMessage`.
    Telegram {
        /// The Bot API root, e.g. `https://api.telegram.org`.
        api_url: String,
        /// The bot token (a secret).
        token: String,
        /// The chat: a numeric id (negative for groups) or `@channelname`.
        chat_id: String,
    },
    /// Matrix client-server API, one room.
    Matrix {
        /// The homeserver's base URL.
        homeserver: String,
        /// The access token (a secret; one token, so that transaction ids keep deduplicating).
        access_token: String,
        /// The room id, e.g. `!abc:example.org`.
        room: String,
    },
    /// ntfy server and topic.
    Ntfy {
        /// The server root, e.g. `https://ntfy.sh`.
        url: String,
        /// The topic (on a public server, knowing it is enough to read it: treated as a secret).
        topic: String,
        /// Access token, if the topic is protected (a secret).
        token: Option<String>,
    },
    /// Gotify server.
    Gotify {
        /// The server root.
        url: String,
        /// The application token (a secret).
        token: String,
    },
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
    fn json(method: Method, url: String, extra: Vec<(String, String)>, body: &serde_json::Value) -> HttpRequest {
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        headers.extend(extra);
        HttpRequest { method, url, headers, body: body.to_string() }
    }
}

/// The part of a URL that is safe to log: scheme and host (and port), never path or query.
fn origin(url: &str) -> String {
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

/// Header names whose values are credentials.
fn is_secret_header(name: &str) -> bool {
    ["authorization", "x-gotify-key", "proxy-authorization", "cookie"].iter().any(|h| name.eq_ignore_ascii_case(h))
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), if is_secret_header(k) { "<redacted>" } else { v.as_str() }))
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &origin(&self.url))
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const R: &str = "<redacted>";
        match self {
            Target::Slack { url }
            | Target::Discord { url }
            | Target::Mattermost { url }
            | Target::Teams { url }
            | Target::GoogleChat { url } => f.debug_struct(self.variant()).field("url", &origin(url)).finish(),
            Target::Telegram { api_url, chat_id, .. } => f
                .debug_struct("Telegram")
                .field("api_url", api_url)
                .field("token", &R)
                .field("chat_id", chat_id)
                .finish(),
            Target::Matrix { homeserver, room, .. } => f
                .debug_struct("Matrix")
                .field("homeserver", homeserver)
                .field("access_token", &R)
                .field("room", room)
                .finish(),
            Target::Ntfy { url, token, .. } => f
                .debug_struct("Ntfy")
                .field("url", url)
                .field("topic", &R)
                .field("token", &token.as_ref().map(|_| R))
                .finish(),
            Target::Gotify { url, .. } => f.debug_struct("Gotify").field("url", url).field("token", &R).finish(),
        }
    }
}

impl Target {
    /// The service's name as in the config `type` ("slack", "googlechat", …).
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Slack { .. } => "slack",
            Target::Discord { .. } => "discord",
            Target::Mattermost { .. } => "mattermost",
            Target::Teams { .. } => "teams",
            Target::GoogleChat { .. } => "googlechat",
            Target::Telegram { .. } => "telegram",
            Target::Matrix { .. } => "matrix",
            Target::Ntfy { .. } => "ntfy",
            Target::Gotify { .. } => "gotify",
        }
    }

    /// The variant's name, for `Debug`.
    fn variant(&self) -> &'static str {
        match self {
            Target::Slack { .. } => "Slack",
            Target::Discord { .. } => "Discord",
            Target::Mattermost { .. } => "Mattermost",
            Target::Teams { .. } => "Teams",
            Target::GoogleChat { .. } => "GoogleChat",
            Target::Telegram { .. } => "Telegram",
            Target::Matrix { .. } => "Matrix",
            Target::Ntfy { .. } => "Ntfy",
            Target::Gotify { .. } => "Gotify",
        }
    }

    /// The request that delivers `alert`; `alert.id` is the stable idempotency key (Matrix
    /// transaction id, Google Chat `requestId`).
    pub fn request(&self, alert: &AlertPayload) -> HttpRequest {
        self.render(&alert.id, alert.item.published.as_deref(), &text::Fields::of(alert))
    }

    /// The request showing `fields`, idempotent by `id`; `published` is an RFC 3339 date.
    fn render(&self, id: &str, published: Option<&str>, fields: &text::Fields) -> HttpRequest {
        match self {
            Target::Slack { url } => slack::request(url, fields),
            Target::Discord { url } => discord::request(url, fields, published),
            Target::Mattermost { url } => mattermost::request(url, fields),
            Target::Teams { url } => teams::request(url, fields),
            Target::GoogleChat { url } => googlechat::request(url, fields, id),
            Target::Telegram { api_url, token, chat_id } => telegram::request(api_url, token, chat_id, fields),
            Target::Matrix { homeserver, access_token, room } => {
                matrix::request(homeserver, access_token, room, id, fields)
            }
            Target::Ntfy { url, topic, token } => ntfy::request(url, topic, token.as_deref(), fields),
            Target::Gotify { url, token } => gotify::request(url, token, fields),
        }
    }

    /// How values printed by a sink `template` are escaped: for the service's markup.
    pub fn template_escaper(&self) -> crate::deliver::template::Escaper {
        match self {
            Target::Slack { .. } => text::escape_slack,
            Target::Discord { .. } | Target::Teams { .. } | Target::Gotify { .. } => text::escape_markdown,
            Target::Mattermost { .. } => text::escape_mattermost,
            Target::GoogleChat { .. } => googlechat::inert,
            Target::Telegram { .. } | Target::Matrix { .. } => text::escape_html,
            Target::Ntfy { .. } => crate::deliver::template::plain,
        }
    }

    /// The request carrying `message`, a sink template's output for `alert`, in the service's
    /// markup; `None` when it is too long for a service whose markup a cut could break
    /// (Telegram, Matrix), so the caller falls back to pantau's own layout.
    pub fn custom_request(&self, alert: &AlertPayload, message: &str) -> Option<HttpRequest> {
        Some(match self {
            Target::Slack { url } => slack::custom(url, message),
            Target::Discord { url } => discord::custom(url, message),
            Target::Mattermost { url } => mattermost::custom(url, message),
            Target::Teams { url } => teams::custom(url, message),
            Target::GoogleChat { url } => googlechat::custom(url, message, &alert.id),
            Target::Telegram { api_url, token, chat_id } => return telegram::custom(api_url, token, chat_id, message),
            Target::Matrix { homeserver, access_token, room } => {
                return matrix::custom(homeserver, access_token, room, &alert.id, message)
            }
            Target::Ntfy { url, topic, token } => {
                ntfy::custom(url, topic, token.as_deref(), &text::Fields::of(alert), message)
            }
            Target::Gotify { url, token } => gotify::custom(url, token, &text::Fields::of(alert), message),
        })
    }

    /// The service's own retry hint in a failed response, if any: Discord's JSON `retry_after`
    /// (float seconds) or `X-RateLimit-Reset-After`, Telegram's `parameters.retry_after`,
    /// Matrix's `retry_after_ms`, else the `Retry-After` header (seconds or an HTTP date).
    /// A successful (2xx) response has no hint.
    pub fn retry_hint(&self, status: u16, headers: &[(String, String)], body: &str) -> Option<Duration> {
        if (200..300).contains(&status) {
            return None;
        }
        let from_body = match self {
            Target::Discord { .. } => discord::retry_hint(headers, body),
            Target::Telegram { .. } => telegram::retry_hint(body),
            Target::Matrix { .. } => matrix::retry_hint(body),
            _ => None,
        };
        from_body.or_else(|| text::retry_after_header(headers))
    }

    /// How long to send nothing more after a response, from the service's rate-limit bucket
    /// headers, whatever the status: when the bucket is empty (`X-RateLimit-Remaining: 0`),
    /// until it refills (`X-RateLimit-Reset-After`, float seconds: Discord; or the IETF
    /// `RateLimit-Remaining` / `RateLimit-Reset`). `None` while the bucket has room.
    pub fn rate_hold(&self, headers: &[(String, String)]) -> Option<Duration> {
        let number = |name: &str| text::header(headers, name).and_then(|v| v.trim().parse::<f64>().ok());
        let (remaining, reset) = match number("x-ratelimit-remaining") {
            Some(r) => (r, number("x-ratelimit-reset-after")),
            None => (number("ratelimit-remaining")?, number("ratelimit-reset")),
        };
        // A bucket that says it is empty but not when it refills: one second is Discord's
        // usual window, and a guess errs on the side of the service.
        (remaining <= 0.0).then(|| reset.and_then(text::secs_f64).unwrap_or(Duration::from_secs(1)))
    }

    /// Whether a response means "accepted": any 2xx; Telegram also requires `"ok": true`.
    pub fn accepted(&self, status: u16, body: &str) -> bool {
        if !(200..300).contains(&status) {
            return false;
        }
        match self {
            Target::Telegram { .. } => telegram::ok(body),
            _ => true,
        }
    }

    /// Safe default minimum spacing between two messages: Slack, Discord and Google Chat 1 s,
    /// Telegram 1 s (3 s for a group, whose chat id starts with `-`), Matrix 0.2 s, others 0.1 s.
    pub fn default_interval(&self) -> Duration {
        match self {
            Target::Slack { .. } | Target::Discord { .. } | Target::GoogleChat { .. } => Duration::from_secs(1),
            Target::Telegram { chat_id, .. } if chat_id.trim_start().starts_with('-') => Duration::from_secs(3),
            Target::Telegram { .. } => Duration::from_secs(1),
            Target::Matrix { .. } => Duration::from_millis(200),
            Target::Mattermost { .. } | Target::Teams { .. } | Target::Ntfy { .. } | Target::Gotify { .. } => {
                Duration::from_millis(100)
            }
        }
    }
}

/// A digest: one message listing several alerts (used when a burst exceeds a sink's limit).
///
/// `alerts` share the same sink; the message lists each title as a link with its feed and
/// rule, as many as the service's limit allows, then "…and N more". `digest_id` is the
/// idempotency key (Matrix transaction id, Google Chat `requestId`).
pub fn digest_request(target: &Target, alerts: &[AlertPayload], digest_id: &str) -> HttpRequest {
    let fields: Vec<text::Fields> = alerts.iter().map(text::Fields::of).collect();
    match target {
        Target::Slack { url } => slack::digest(url, &fields),
        Target::Discord { url } => discord::digest(url, &fields),
        Target::Mattermost { url } => mattermost::digest(url, &fields),
        Target::Teams { url } => teams::digest(url, &fields),
        Target::GoogleChat { url } => googlechat::digest(url, &fields, digest_id),
        Target::Telegram { api_url, token, chat_id } => telegram::digest(api_url, token, chat_id, &fields),
        Target::Matrix { homeserver, access_token, room } => {
            matrix::digest(homeserver, access_token, room, digest_id, &fields)
        }
        Target::Ntfy { url, topic, token } => ntfy::digest(url, topic, token.as_deref(), &fields),
        Target::Gotify { url, token } => gotify::digest(url, token, &fields),
    }
}

/// The heading of a digest of `n` alerts.
fn digest_heading(n: usize) -> String {
    if n == 1 {
        "1 new alert".to_string()
    } else {
        format!("{n} new alerts")
    }
}
