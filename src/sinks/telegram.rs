//! Telegram Bot API: `POST {api_url}/bot{token}/sendMessage` with `parse_mode: "HTML"`.
//! Feed text is HTML-escaped (`&`, `<`, `>`, `"`) and defanged (`@`); the 4,096 limit counts
//! the visible text after entity parsing, so tags are free and an entity counts once. Cuts
//! are made on the raw text, so a tag or an entity is never split.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use toml::Spanned;

use super::chat::{digest_heading, Chat, Fields, HttpRequest, Method};
use super::template::Escaper;
use super::text::{self, defang, escape_html, Unit};
use super::{Configured, Transport, Key, Keys, RawValue, Service, Type};
use crate::model::AlertPayload;

/// The Telegram Bot API's default root.
const API_URL: &str = "https://api.telegram.org";

/// The `telegram` sink type: `token`, `chat_id`, optional `api_url`.
pub static TYPE: Type = Type {
    name: "telegram",
    keys: &[Key::text("token"), Key::any("chat_id"), Key::text("api_url")],
    configure,
};

fn configure(keys: &mut dyn Keys) -> Configured {
    let token = keys.required("token");
    let chat_id = match keys.raw("chat_id").cloned() {
        Some(RawValue::Any(v)) => match v.get_ref() {
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::String(text) => keys.expand(&Spanned::new(v.span(), text.clone())),
            _ => {
                keys.error(v.span().start, "chat_id must be a number or a string such as \"@channel\"".into());
                String::new()
            }
        },
        _ => {
            keys.missing("a telegram sink needs chat_id".into());
            String::new()
        }
    };
    let api_url = keys.url("api_url", "api_url").unwrap_or_else(|| API_URL.to_string());
    Configured::new(Telegram { api_url, token, chat_id })
}

/// A configured Telegram sink: Bot API `sendMessage` to one chat.
#[derive(Clone, PartialEq)]
pub struct Telegram {
    /// The Bot API root, e.g. `https://api.telegram.org`.
    pub api_url: String,
    /// The bot token (a secret).
    pub token: String,
    /// The chat: a numeric id (negative for groups) or `@channelname`.
    pub chat_id: String,
}

/// Never shows the token.
impl fmt::Debug for Telegram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telegram")
            .field("api_url", &self.api_url)
            .field("token", &"<redacted>")
            .field("chat_id", &self.chat_id)
            .finish()
    }
}

impl Service for Telegram {
    fn kind(&self) -> &'static str {
        "telegram"
    }

    fn transport(&self) -> Transport<'_> {
        Transport::Chat(Arc::new(self.clone()))
    }

    /// 1 s; 3 s for a group, whose chat id starts with `-` (20 messages a minute).
    fn default_interval(&self) -> Duration {
        if self.chat_id.trim_start().starts_with('-') {
            Duration::from_secs(3)
        } else {
            Duration::from_secs(1)
        }
    }

    fn template_escaper(&self) -> Escaper {
        escape_html
    }
}

impl Chat for Telegram {
    fn render(&self, _id: &str, _published: Option<&str>, fields: &Fields) -> HttpRequest {
        request(&self.api_url, &self.token, &self.chat_id, fields)
    }

    fn custom_request(&self, _alert: &AlertPayload, message: &str) -> Option<HttpRequest> {
        custom(&self.api_url, &self.token, &self.chat_id, message)
    }

    fn digest(&self, alerts: &[Fields], _digest_id: &str) -> HttpRequest {
        digest(&self.api_url, &self.token, &self.chat_id, alerts)
    }

    fn own_retry_hint(&self, _headers: &[(String, String)], body: &str) -> Option<Duration> {
        retry_hint(body)
    }

    fn accepts_body(&self, body: &str) -> bool {
        ok(body)
    }
}

/// Most visible units (UTF-16, as Telegram counts entity offsets) in a message.
const TEXT_MAX: usize = 4096;

/// A message being written: its HTML and the length of what a reader will see.
#[derive(Default)]
struct Html {
    /// The markup sent.
    html: String,
    /// Visible length in UTF-16 units.
    visible: usize,
}

impl Html {
    /// Add feed text (escaped and defanged).
    fn text(&mut self, raw: &str) -> &mut Self {
        let shown = defang(raw);
        self.visible += Unit::Utf16.len(&shown);
        self.html.push_str(&escape_html(&shown));
        self
    }

    /// Add markup of our own (a tag, or literal text with nothing to escape).
    fn markup(&mut self, tag: &str) -> &mut Self {
        self.html.push_str(tag);
        self
    }

    /// Add `title` as a link when there is one.
    fn link(&mut self, title: &str, link: Option<&str>) -> &mut Self {
        match link {
            Some(link) => self.markup(&format!("<a href=\"{}\">", escape_html(link))).text(title).markup("</a>"),
            None => self.text(title),
        }
    }
}

/// How many visible units `raw` takes once defanged.
fn visible(raw: &str) -> usize {
    Unit::Utf16.len(&defang(raw))
}

/// The `sendMessage` request carrying `html`.
fn send(api_url: &str, token: &str, chat_id: &str, html: String) -> HttpRequest {
    let body = json!({
        "chat_id": chat_id,
        "text": html,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": true},
    });
    HttpRequest::json(Method::Post, text::join_path(api_url, &format!("/bot{token}/sendMessage")), vec![], &body)
}

/// The request for one alert.
pub(super) fn request(api_url: &str, token: &str, chat_id: &str, f: &Fields) -> HttpRequest {
    let mut m = Html::default();
    m.markup("<b>").link(&f.title, f.link.as_deref()).markup("</b>");
    m.text("\nFeed: ").text(&f.feed).text(" · Rule: ").text(&f.rule);
    if !f.matched.is_empty() {
        m.text("\nMatched: ").text(&f.matched);
    }
    if !f.summary.is_empty() {
        let room = TEXT_MAX.saturating_sub(m.visible + 2);
        let summary = text::fit(&f.summary, room, visible);
        if !summary.is_empty() {
            m.text("\n\n").text(&summary);
        }
    }
    send(api_url, token, chat_id, m.html)
}

/// The request carrying a sink template's output (Telegram HTML); `None` when it is longer
/// than a message may be, since cutting HTML could leave a tag open and Telegram would reject it.
pub(super) fn custom(api_url: &str, token: &str, chat_id: &str, message: &str) -> Option<HttpRequest> {
    (Unit::Utf16.len(message) <= TEXT_MAX).then(|| send(api_url, token, chat_id, message.to_string()))
}

/// A digest: a bold heading, then one line per alert, then "…and N more".
pub(super) fn digest(api_url: &str, token: &str, chat_id: &str, alerts: &[Fields]) -> HttpRequest {
    let mut m = Html::default();
    m.markup("<b>").text(&digest_heading(alerts.len())).markup("</b>");
    let lines: Vec<Html> = alerts
        .iter()
        .map(|f| {
            let mut l = Html::default();
            l.text("\n• ").link(&f.title, f.link.as_deref()).text(" — ").text(&f.feed).text(" · ").text(&f.rule);
            l
        })
        .collect();
    let costs: Vec<usize> = lines.iter().map(|l| l.visible).collect();
    let more = |n: usize| visible(&text::and_more(n)) + 1;
    let kept = text::pack(&costs, TEXT_MAX.saturating_sub(m.visible), more);
    for l in &lines[..kept] {
        m.markup(&l.html);
        m.visible += l.visible;
    }
    if kept < lines.len() {
        m.text("\n").text(&text::and_more(lines.len() - kept));
    }
    send(api_url, token, chat_id, m.html)
}

/// Whether the body says `"ok": true`.
pub(super) fn ok(body: &str) -> bool {
    text::json_body(body).is_some_and(|m| m.get("ok") == Some(&Value::Bool(true)))
}

/// Telegram's hint: `parameters.retry_after` (seconds).
pub(super) fn retry_hint(body: &str) -> Option<Duration> {
    let m = text::json_body(body)?;
    let secs = m.get("parameters")?.get("retry_after")?.as_f64()?;
    text::secs_f64(secs)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::super::tests::{body, headers, many, nasty, normal, JSON, NASTY_TITLE};
    use super::super::chat::{digest_request, Method, Target};
    use super::super::tests::chat;
    use super::TEXT_MAX;

    fn target(chat_id: &str) -> Target {
        chat(super::Telegram {
            api_url: "https://api.telegram.org/".into(),
            token: "123:ABC".into(),
            chat_id: chat_id.into(),
        })
    }

    /// What a reader sees of Telegram HTML: tags dropped, the four entities decoded.
    fn visible(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
    }

    /// Every `<` and `&` in `html` starts one of our tags or one of the four entities.
    fn well_formed(html: &str) -> bool {
        let tags = ["<b>", "</b>", "<a href=\"", "</a>"];
        let entities = ["&lt;", "&gt;", "&amp;", "&quot;"];
        html.char_indices().all(|(i, c)| match c {
            '<' => tags.iter().any(|t| html[i..].starts_with(t)),
            '&' => entities.iter().any(|e| html[i..].starts_with(e)),
            _ => true,
        })
    }

    #[test]
    fn normal_alert() {
        let req = target("42").request(&normal());
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://api.telegram.org/bot123:ABC/sendMessage");
        assert_eq!(headers(&req), [JSON]);
        assert_eq!(
            body(&req),
            json!({
                "chat_id": "42",
                "text": "<b><a href=\"https://www.suara.com/news/2024/01/01/korut\">Korea Utara Uji Coba Senjata Baru</a></b>\n\
                         Feed: suara · Rule: korut-senjata\nMatched: korea utara, senjata\n\n\
                         Pyongyang kembali menguji rudal balistik.",
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": true},
            })
        );
    }

    #[test]
    fn nasty_alert_is_escaped_and_within_limits() {
        let v = body(&target("-100").request(&nasty()));
        let html = v["text"].as_str().unwrap();
        assert!(well_formed(html), "{html}");
        assert!(html.starts_with(
            "<b><a href=\"https://ex.id/a?b=1&amp;c=%22x%22\">&lt;b&gt;&amp;&quot;Korea Utara&quot; @\u{200B}everyone *bold*&lt;/b&gt; 🚀 صاروخ</a></b>\n"
        ));
        assert!(!html.contains("<script>"));
        let shown = visible(html);
        assert!(shown.encode_utf16().count() <= TEXT_MAX, "{}", shown.encode_utf16().count());
        assert!(shown.starts_with(&NASTY_TITLE.replace('@', "@\u{200B}")));
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn digest_fits_the_visible_limit() {
        let v = body(&digest_request(&target("42"), &many(200), "d"));
        let html = v["text"].as_str().unwrap();
        assert!(well_formed(html));
        let shown = visible(html);
        assert!(shown.encode_utf16().count() <= TEXT_MAX);
        assert!(html.starts_with(
            "<b>200 new alerts</b>\n• <a href=\"https://www.suara.com/news/uji-coba-rudal-balistik-korea-utara-di-semenanjung-korea-pada-awal-tahun-2024/0?a=1&amp;b=2\">Berita nomor 0 tentang senjata &amp; &lt;rudal&gt; 🚀</a> — suara · korut-senjata\n"
        ));
        assert!(shown.lines().last().unwrap().starts_with("…and "));
    }

    #[test]
    fn accepted_needs_ok_true() {
        let t = target("42");
        assert!(t.accepted(200, r#"{"ok":true,"result":{"message_id":1}}"#));
        assert!(!t.accepted(200, r#"{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities"}"#));
        assert!(!t.accepted(400, r#"{"ok":false}"#));
    }

    #[test]
    fn retry_hints() {
        let t = target("42");
        let body = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 35","parameters":{"retry_after":35}}"#;
        assert_eq!(t.retry_hint(429, &[], body), Some(Duration::from_secs(35)));
        assert_eq!(t.retry_hint(429, &[], r#"{"ok":false}"#), None);
    }
}
