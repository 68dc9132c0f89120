//! Gotify: `POST {url}/message` with the `X-Gotify-Key` header and a Markdown message
//! (`extras.client::display.contentType = text/markdown`). Feed text is backslash-escaped,
//! `<` and `&` included, so that it can neither format nor inject HTML.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::chat::{digest_heading, Chat, Fields, HttpRequest, Method};
use super::template::Escaper;
use super::text::{self, escape_markdown, Unit};
use super::{Configured, Transport, Key, Keys, Service, Type};
use crate::model::AlertPayload;

/// The `gotify` sink type: `url` (the server), `token`.
pub static TYPE: Type = Type { name: "gotify", keys: &[Key::text("url"), Key::text("token")], configure };

fn configure(keys: &mut dyn Keys) -> Configured {
    let url = keys.required_url("gotify server url");
    let token = keys.required("token");
    Configured::new(Gotify { url, token })
}

/// A configured Gotify sink.
#[derive(Clone, PartialEq)]
pub struct Gotify {
    /// The server root.
    pub url: String,
    /// The application token (a secret).
    pub token: String,
}

/// Never shows the token.
impl fmt::Debug for Gotify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gotify").field("url", &self.url).field("token", &"<redacted>").finish()
    }
}

impl Service for Gotify {
    fn kind(&self) -> &'static str {
        "gotify"
    }

    fn transport(&self) -> Transport<'_> {
        Transport::Chat(Arc::new(self.clone()))
    }

    fn default_interval(&self) -> Duration {
        Duration::from_millis(100)
    }

    fn template_escaper(&self) -> Escaper {
        escape_markdown
    }
}

impl Chat for Gotify {
    fn render(&self, _id: &str, _published: Option<&str>, fields: &Fields) -> HttpRequest {
        request(&self.url, &self.token, fields)
    }

    fn custom_request(&self, alert: &AlertPayload, message: &str) -> Option<HttpRequest> {
        Some(custom(&self.url, &self.token, &Fields::of(alert), message))
    }

    fn digest(&self, alerts: &[Fields], _digest_id: &str) -> HttpRequest {
        digest(&self.url, &self.token, alerts)
    }
}

/// Most bytes of a message (Gotify sets no limit; this keeps a digest readable).
const MESSAGE_MAX: usize = 16 * 1024;
/// Most characters of a title.
const TITLE_MAX: usize = 250;
/// The priority of an alert (Gotify's Android app makes a sound from 4 up).
const PRIORITY: u8 = 5;

/// Feed text escaped for Gotify's Markdown renderer.
fn md(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in escape_markdown(raw).chars() {
        if matches!(c, '<' | '&') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The request carrying `title` and `message`, with a click target when there is a link.
fn send(url: &str, token: &str, title: &str, message: String, click: Option<&str>) -> HttpRequest {
    let mut extras = Map::new();
    extras.insert("client::display".into(), json!({"contentType": "text/markdown"}));
    if let Some(link) = click {
        extras.insert("client::notification".into(), json!({"click": {"url": link}}));
    }
    let body = json!({
        "title": text::cut(title, TITLE_MAX, Unit::Chars),
        "message": message,
        "priority": PRIORITY,
        "extras": Value::Object(extras),
    });
    let key = vec![("X-Gotify-Key".to_string(), token.to_string())];
    HttpRequest::json(Method::Post, text::join_path(url, "/message"), key, &body)
}

/// The request for one alert.
pub(super) fn request(url: &str, token: &str, f: &Fields) -> HttpRequest {
    // Two trailing spaces make a Markdown line break.
    let mut message = match &f.link {
        Some(link) => format!("**[{}]({link})**  \n", md(&f.title)),
        None => String::new(),
    };
    message.push_str(&format!("Feed: {} · Rule: {}", md(&f.feed), md(&f.rule)));
    if !f.matched.is_empty() {
        message.push_str(&format!("  \nMatched: {}", md(&f.matched)));
    }
    if !f.summary.is_empty() {
        let room = MESSAGE_MAX.saturating_sub(message.len() + 2);
        let summary = text::fit(&f.summary, room, |s| md(s).len());
        if !summary.is_empty() {
            message.push_str(&format!("\n\n{}", md(&summary)));
        }
    }
    send(url, token, &f.title, message, f.link.as_deref())
}

/// The request carrying a sink template's output (Markdown), with the item's title and link.
pub(super) fn custom(url: &str, token: &str, f: &Fields, message: &str) -> HttpRequest {
    send(url, token, &f.title, text::cut(message, MESSAGE_MAX, Unit::Chars), f.link.as_deref())
}

/// A digest: the heading as title, a list of linked titles with feed and rule, "…and N more".
pub(super) fn digest(url: &str, token: &str, alerts: &[Fields]) -> HttpRequest {
    let lines: Vec<String> = alerts
        .iter()
        .map(|f| {
            let title = md(&f.title);
            let title = match &f.link {
                Some(link) => format!("[{title}]({link})"),
                None => title,
            };
            format!("- {title} — {} · {}\n", md(&f.feed), md(&f.rule))
        })
        .collect();
    let costs: Vec<usize> = lines.iter().map(String::len).collect();
    let kept = text::pack(&costs, MESSAGE_MAX, |n| text::and_more(n).len() + 1);
    let mut message = lines[..kept].concat();
    if kept < lines.len() {
        message.push('\n');
        message.push_str(&text::and_more(lines.len() - kept));
    }
    send(url, token, &digest_heading(alerts.len()), message.trim_end().to_string(), None)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{body, headers, many, nasty, normal, JSON, NASTY_TITLE};
    use super::super::chat::{digest_request, Method, Target};
    use super::super::tests::chat;
    use super::MESSAGE_MAX;

    fn target() -> Target {
        chat(super::Gotify { url: "https://gotify.ex.id/".into(), token: "AppTok".into() })
    }

    #[test]
    fn normal_alert() {
        let req = target().request(&normal());
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://gotify.ex.id/message");
        assert_eq!(headers(&req), [JSON, ("X-Gotify-Key", "AppTok")]);
        assert_eq!(
            body(&req),
            json!({
                "title": "Korea Utara Uji Coba Senjata Baru",
                "message": "**[Korea Utara Uji Coba Senjata Baru](https://www.suara.com/news/2024/01/01/korut)**  \n\
                            Feed: suara · Rule: korut-senjata  \nMatched: korea utara, senjata\n\n\
                            Pyongyang kembali menguji rudal balistik.",
                "priority": 5,
                "extras": {
                    "client::display": {"contentType": "text/markdown"},
                    "client::notification": {"click": {"url": "https://www.suara.com/news/2024/01/01/korut"}},
                },
            })
        );
    }

    #[test]
    fn nasty_alert_is_escaped_and_within_limits() {
        let v = body(&target().request(&nasty()));
        assert_eq!(v["title"], NASTY_TITLE, "the title is plain text");
        let message = v["message"].as_str().unwrap();
        assert!(message.len() <= MESSAGE_MAX);
        assert!(message.starts_with(
            "**[\\<b>\\&\"Korea Utara\" @\u{200B}everyone \\*bold\\*\\</b> 🚀 صاروخ](https://ex.id/a?b=1&c=%22x%22)**  \n"
        ), "{message}");
        assert!(message.ends_with('…'));
        // Every `<` and `&` of feed text is backslash-escaped, so no HTML can form.
        let text = message.replace("https://ex.id/a?b=1&c=%22x%22", "");
        assert!(text.match_indices(['<', '&']).all(|(i, _)| text[..i].ends_with('\\')));
    }

    #[test]
    fn digest_fits() {
        let v = body(&digest_request(&target(), &many(200), "d"));
        assert_eq!(v["title"], "200 new alerts");
        let message = v["message"].as_str().unwrap();
        assert!(message.len() <= MESSAGE_MAX);
        assert!(message.starts_with(
            "- [Berita nomor 0 tentang senjata \\& \\<rudal> 🚀](https://www.suara.com/news/uji-coba-rudal-balistik-korea-utara-di-semenanjung-korea-pada-awal-tahun-2024/0?a=1&b=2) — suara · korut-senjata\n"
        ));
        assert!(message.lines().last().unwrap().starts_with("…and "));
        assert!(v["extras"].get("client::notification").is_none());
    }
}
