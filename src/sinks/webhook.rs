//! The generic `webhook` sink type: the CONTRACT §4 JSON POSTed to an endpoint, signed the
//! Standard Webhooks way with a `secret`. Sending is `deliver`'s; this says what the type takes.

use std::fmt;

use super::template::{json_string_content, Escaper, TemplateError};
use super::{Configured, Transport, Key, Keys, Service, Type};

/// Requests a webhook sink has in flight at once unless its `concurrency` says otherwise: a
/// plain receiver takes several at once (a chat room gets its messages one after the other).
pub const DEFAULT_CONCURRENCY: usize = 4;

/// The `webhook` sink type: `url`, optional `secret` and `headers`.
pub static TYPE: Type = Type {
    name: "webhook",
    keys: &[Key::text("url"), Key::text("secret"), Key::table("headers")],
    configure,
};

fn configure(keys: &mut dyn Keys) -> Configured {
    let url = keys.required_url("sink url");
    let secret = keys.secret("secret");
    let headers = keys.headers("headers");
    Configured::new(Webhook { url, secret, headers })
}

/// A configured webhook sink.
#[derive(Clone, PartialEq)]
pub struct Webhook {
    /// Endpoint.
    pub url: String,
    /// Standard Webhooks signing secret.
    pub secret: Option<String>,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
}

/// Never shows the signing secret or a header's value (either may be a credential).
impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Webhook")
            .field("url", &super::chat::origin(&self.url))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("headers", &headers)
            .finish()
    }
}

impl Service for Webhook {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn transport(&self) -> Transport<'_> {
        Transport::Webhook(self)
    }

    fn default_concurrency(&self) -> usize {
        DEFAULT_CONCURRENCY
    }

    fn template_escaper(&self) -> Escaper {
        json_string_content
    }

    fn check_template(&self, sample: &str) -> Result<(), TemplateError> {
        match serde_json::from_str::<serde_json::Value>(sample) {
            Ok(_) => Ok(()),
            Err(e) => Err(TemplateError::Render {
                line: Some(e.line()),
                message: format!("a webhook template must produce JSON, but the sample alert gives: {e}"),
            }),
        }
    }
}
