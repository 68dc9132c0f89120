//! ntfy: JSON published to the server root (`{"topic", "title", "message", …}`; JSON rather
//! than headers so non-ASCII titles need no encoding), with `Authorization: Bearer` when the
//! topic is protected. Plain text (`markdown: false`), message at most 4,096 bytes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::chat::{digest_heading, Chat, Fields, HttpRequest, Method};
use super::template::Escaper;
use super::text::{self, Unit};
use super::{Configured, Transport, Key, Keys, Service, Type};
use crate::model::AlertPayload;

/// The `ntfy` sink type: `url` (the server), `topic`, optional `token`.
pub static TYPE: Type =
    Type { name: "ntfy", keys: &[Key::text("url"), Key::text("topic"), Key::text("token")], configure };

fn configure(keys: &mut dyn Keys) -> Configured {
    let url = keys.required_url("ntfy server url");
    let topic = keys.required("topic");
    let token = keys.secret("token");
    Configured::new(Ntfy { url, topic, token })
}

/// A configured ntfy sink: one topic of one server.
#[derive(Clone, PartialEq)]
pub struct Ntfy {
    /// The server root, e.g. `https://ntfy.sh`.
    pub url: String,
    /// The topic (on a public server, knowing it is enough to read it: treated as a secret).
    pub topic: String,
    /// Access token, if the topic is protected (a secret).
    pub token: Option<String>,
}

/// Never shows the topic or the token.
impl fmt::Debug for Ntfy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const R: &str = "<redacted>";
        f.debug_struct("Ntfy")
            .field("url", &self.url)
            .field("topic", &R)
            .field("token", &self.token.as_ref().map(|_| R))
            .finish()
    }
}

impl Service for Ntfy {
    fn kind(&self) -> &'static str {
        "ntfy"
    }

    fn transport(&self) -> Transport<'_> {
        Transport::Chat(Arc::new(self.clone()))
    }

    fn default_interval(&self) -> Duration {
        Duration::from_millis(100)
    }

    fn template_escaper(&self) -> Escaper {
        crate::sinks::template::plain
    }
}

impl Chat for Ntfy {
    fn render(&self, _id: &str, _published: Option<&str>, fields: &Fields) -> HttpRequest {
        request(&self.url, &self.topic, self.token.as_deref(), fields)
    }

    fn custom_request(&self, alert: &AlertPayload, message: &str) -> Option<HttpRequest> {
        Some(custom(&self.url, &self.topic, self.token.as_deref(), &Fields::of(alert), message))
    }

    fn digest(&self, alerts: &[Fields], _digest_id: &str) -> HttpRequest {
        digest(&self.url, &self.topic, self.token.as_deref(), alerts)
    }
}

/// Most bytes of a message (beyond it ntfy turns the message into an attachment).
const MESSAGE_MAX: usize = 4096;
/// Most characters of a title.
const TITLE_MAX: usize = 250;
/// Default priority.
const PRIORITY: u8 = 3;
/// The tag ntfy shows as 📰.
const TAG: &str = "newspaper";

/// The publish request.
fn send(
    url: &str,
    topic: &str,
    token: Option<&str>,
    title: &str,
    message: String,
    tags: Vec<String>,
    click: Option<&str>,
) -> HttpRequest {
    let mut body = Map::new();
    body.insert("topic".into(), Value::from(topic));
    body.insert("title".into(), Value::from(text::cut(title, TITLE_MAX, Unit::Chars)));
    body.insert("message".into(), Value::from(message));
    body.insert("tags".into(), Value::from(tags));
    body.insert("priority".into(), Value::from(PRIORITY));
    if let Some(link) = click {
        body.insert("click".into(), Value::from(link));
    }
    body.insert("markdown".into(), Value::from(false));
    let auth = token.map(|t| ("Authorization".to_string(), format!("Bearer {t}"))).into_iter().collect();
    HttpRequest::json(Method::Post, format!("{}/", url.trim_end_matches('/')), auth, &Value::Object(body))
}

/// The request for one alert.
pub(super) fn request(url: &str, topic: &str, token: Option<&str>, f: &Fields) -> HttpRequest {
    let mut message = format!("Feed: {} · Rule: {}", f.feed, f.rule);
    if !f.matched.is_empty() {
        message.push_str(&format!("\nMatched: {}", f.matched));
    }
    if !f.summary.is_empty() {
        let room = MESSAGE_MAX.saturating_sub(message.len() + 2);
        let summary = text::cut(&f.summary, room, Unit::Bytes);
        if !summary.is_empty() {
            message.push_str(&format!("\n\n{summary}"));
        }
    }
    let tags = vec![TAG.to_string(), text::cut(&f.rule, 64, Unit::Chars)];
    send(url, topic, token, &f.title, message, tags, f.link.as_deref())
}

/// The request carrying a sink template's output as the message, with the item's title and
/// link as title and click target.
pub(super) fn custom(url: &str, topic: &str, token: Option<&str>, f: &Fields, message: &str) -> HttpRequest {
    let tags = vec![TAG.to_string(), text::cut(&f.rule, 64, Unit::Chars)];
    send(url, topic, token, &f.title, text::cut(message, MESSAGE_MAX, Unit::Bytes), tags, f.link.as_deref())
}

/// A digest: the heading as title, one line per alert (with its link below), "…and N more".
pub(super) fn digest(url: &str, topic: &str, token: Option<&str>, alerts: &[Fields]) -> HttpRequest {
    let lines: Vec<String> = alerts
        .iter()
        .map(|f| {
            let link = f.link.as_deref().map(|l| format!("\n  {l}")).unwrap_or_default();
            format!("• {} ({} · {}){link}\n", f.title, f.feed, f.rule)
        })
        .collect();
    let costs: Vec<usize> = lines.iter().map(String::len).collect();
    let kept = text::pack(&costs, MESSAGE_MAX, |n| text::and_more(n).len());
    let mut message = lines[..kept].concat();
    if kept < lines.len() {
        message.push_str(&text::and_more(lines.len() - kept));
    }
    let message = message.trim_end().to_string();
    send(url, topic, token, &digest_heading(alerts.len()), message, vec![TAG.to_string()], None)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{body, headers, many, nasty, normal, JSON, NASTY_TITLE};
    use super::super::chat::{digest_request, Method, Target};
    use super::super::tests::chat;
    use super::MESSAGE_MAX;

    fn target(token: Option<&str>) -> Target {
        chat(super::Ntfy { url: "https://ntfy.sh/".into(), topic: "pantau-ops".into(), token: token.map(String::from) })
    }

    #[test]
    fn normal_alert() {
        let req = target(Some("tk_abc")).request(&normal());
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://ntfy.sh/");
        assert_eq!(headers(&req), [JSON, ("Authorization", "Bearer tk_abc")]);
        assert_eq!(
            body(&req),
            json!({
                "topic": "pantau-ops",
                "title": "Korea Utara Uji Coba Senjata Baru",
                "message": "Feed: suara · Rule: korut-senjata\nMatched: korea utara, senjata\n\nPyongyang kembali menguji rudal balistik.",
                "tags": ["newspaper", "korut-senjata"],
                "priority": 3,
                "click": "https://www.suara.com/news/2024/01/01/korut",
                "markdown": false,
            })
        );
        let req = chat(super::Ntfy { url: "https://ex.id/ntfy".into(), topic: "t".into(), token: None }).request(&normal());
        assert_eq!(req.url, "https://ex.id/ntfy/");
        assert_eq!(headers(&req), [JSON]);
    }

    #[test]
    fn nasty_alert_is_plain_and_within_limits() {
        let v = body(&target(None).request(&nasty()));
        assert_eq!(v["title"], NASTY_TITLE);
        assert_eq!(v["click"], "https://ex.id/a?b=1&c=%22x%22");
        let message = v["message"].as_str().unwrap();
        assert!(message.len() <= MESSAGE_MAX);
        assert!(message.ends_with('…'));
        assert!(message.starts_with("Feed: feed <x> & @channel · Rule: rule_*with*_[marks]\n"));
    }

    #[test]
    fn digest_fits() {
        let v = body(&digest_request(&target(None), &many(200), "d"));
        assert_eq!(v["title"], "200 new alerts");
        let message = v["message"].as_str().unwrap();
        assert!(message.len() <= MESSAGE_MAX);
        assert!(message.starts_with(
            "• Berita nomor 0 tentang senjata & <rudal> 🚀 (suara · korut-senjata)\n  https://www.suara.com/news/uji-coba-rudal-balistik-korea-utara-di-semenanjung-korea-pada-awal-tahun-2024/0?a=1&b=2\n"
        ));
        assert!(message.lines().last().unwrap().starts_with("…and "));
        assert!(v.get("click").is_none());
    }
}
