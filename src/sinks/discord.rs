//! Discord webhooks: `POST {url}?wait=true` with `content` and one embed, Markdown escaped
//! with backslashes, `@` defanged, and `allowed_mentions` empty so nothing can ping.
//! Limits (UTF-16 units, which never undercount): content 2,000, embed title 256,
//! description 4,096, all embeds together 6,000.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::chat::{SecretUrl, digest_heading, Chat, Fields, HttpRequest, Method};
use super::template::Escaper;
use super::text::{self, escape_markdown, Unit};
use super::{Configured, Transport, Key, Keys, Service, Type};
use crate::model::AlertPayload;

/// The `discord` sink type: `url` (the incoming-webhook URL).
pub static TYPE: Type = Type { name: "discord", keys: &[Key::text("url")], configure };

fn configure(keys: &mut dyn Keys) -> Configured {
    Configured::new(Discord { url: keys.required_url("webhook url").into() })
}

/// A configured Discord sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Discord {
    /// The webhook URL (a secret).
    pub url: SecretUrl,
}

impl Service for Discord {
    fn kind(&self) -> &'static str {
        "discord"
    }

    fn transport(&self) -> Transport<'_> {
        Transport::Chat(Arc::new(self.clone()))
    }

    fn default_interval(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn template_escaper(&self) -> Escaper {
        text::escape_markdown
    }
}

impl Chat for Discord {
    fn render(&self, _id: &str, published: Option<&str>, fields: &Fields) -> HttpRequest {
        request(&self.url, fields, published)
    }

    fn custom_request(&self, _alert: &AlertPayload, message: &str) -> Option<HttpRequest> {
        Some(custom(&self.url, message))
    }

    fn digest(&self, alerts: &[Fields], _digest_id: &str) -> HttpRequest {
        digest(&self.url, alerts)
    }

    fn own_retry_hint(&self, headers: &[(String, String)], body: &str) -> Option<Duration> {
        retry_hint(headers, body)
    }
}

/// Most units in an embed title.
const TITLE_MAX: usize = 256;
/// Most units in an embed description.
const DESCRIPTION_MAX: usize = 4096;
/// Most units in a footer (Discord allows 2,048).
const FOOTER_MAX: usize = 200;

/// The webhook URL asking Discord to answer with the message (so errors are not silent).
fn endpoint(url: &str) -> String {
    text::add_query(url, "wait", "true")
}

/// `raw` escaped, cut so that the escaped text is at most `max` units.
fn escaped_within(raw: &str, max: usize) -> String {
    escape_markdown(&text::fit(raw, max, |s| Unit::Utf16.len(&escape_markdown(s))))
}

/// The request for one alert; `published` becomes the embed's timestamp.
pub(super) fn request(url: &str, f: &Fields, published: Option<&str>) -> HttpRequest {
    let content = format!("New match for rule **{}** in **{}**", escape_markdown(&f.rule), escape_markdown(&f.feed));
    let mut description = String::new();
    if !f.matched.is_empty() {
        description.push_str(&format!("**Matched:** {}", escape_markdown(&f.matched)));
    }
    if !f.summary.is_empty() {
        let sep = if description.is_empty() { "" } else { "\n\n" };
        let room = DESCRIPTION_MAX.saturating_sub(Unit::Utf16.len(&description) + sep.len());
        let summary = escaped_within(&f.summary, room);
        if !summary.is_empty() {
            description.push_str(sep);
            description.push_str(&summary);
        }
    }
    let mut embed = Map::new();
    embed.insert("title".into(), Value::from(escaped_within(&f.title, TITLE_MAX)));
    if let Some(link) = &f.link {
        embed.insert("url".into(), Value::from(link.as_str()));
    }
    if !description.is_empty() {
        embed.insert("description".into(), Value::from(description));
    }
    embed.insert("footer".into(), json!({"text": text::defang(&text::cut(&f.feed, FOOTER_MAX, Unit::Utf16))}));
    if let Some(ts) = published.and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok()) {
        embed.insert("timestamp".into(), Value::from(crate::model::rfc3339(ts.to_utc())));
    }
    let body = json!({
        "content": content,
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    });
    HttpRequest::json(Method::Post, endpoint(url), vec![], &body)
}

/// One digest line: `• [title](link) — feed · rule`.
fn line(f: &Fields) -> String {
    let title = escape_markdown(&f.title);
    let title = match &f.link {
        Some(link) => format!("[{title}]({link})"),
        None => title,
    };
    format!("• {title} — {} · {}", escape_markdown(&f.feed), escape_markdown(&f.rule))
}

/// Most UTF-16 units of a message's `content`.
const CONTENT_MAX: usize = 2000;

/// The request carrying a sink template's output (Markdown) as the message content; mentions
/// stay inert.
pub(super) fn custom(url: &str, message: &str) -> HttpRequest {
    let body = json!({
        "content": text::cut(message, CONTENT_MAX, Unit::Utf16),
        "allowed_mentions": {"parse": []},
    });
    HttpRequest::json(Method::Post, endpoint(url), vec![], &body)
}

/// A digest: the heading as content and embed title, the lines in the embed description.
pub(super) fn digest(url: &str, alerts: &[Fields]) -> HttpRequest {
    let heading = digest_heading(alerts.len());
    let lines: Vec<String> = alerts.iter().map(line).collect();
    let costs: Vec<usize> = lines.iter().map(|l| Unit::Utf16.len(l) + 1).collect();
    let kept = text::pack(&costs, DESCRIPTION_MAX, |n| Unit::Utf16.len(&text::and_more(n)) + 1);
    let mut description = lines[..kept].join("\n");
    if kept < lines.len() {
        if kept > 0 {
            description.push('\n');
        }
        description.push_str(&text::and_more(lines.len() - kept));
    }
    let mut embed = json!({"title": heading});
    if !description.is_empty() {
        // Discord refuses an empty description.
        embed["description"] = Value::from(description);
    }
    let body = json!({
        "content": format!("**{heading}**"),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    });
    HttpRequest::json(Method::Post, endpoint(url), vec![], &body)
}

/// Discord's hint: the JSON `retry_after` (float seconds) of a 429, else the
/// `X-RateLimit-Reset-After` header (float seconds).
pub(super) fn retry_hint(headers: &[(String, String)], body: &str) -> Option<Duration> {
    let from_body =
        text::json_body(body).and_then(|m| m.get("retry_after").and_then(Value::as_f64)).and_then(text::secs_f64);
    from_body.or_else(|| text::header(headers, "x-ratelimit-reset-after")?.parse().ok().and_then(text::secs_f64))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::super::tests::{body, headers, many, nasty, normal, JSON};
    use super::super::chat::{digest_request, Method, Target};
    use super::super::tests::chat;

    fn target() -> Target {
        chat(super::Discord { url: "https://discord.com/api/webhooks/1/tok".into() })
    }

    #[test]
    fn normal_alert() {
        let req = target().request(&normal());
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://discord.com/api/webhooks/1/tok?wait=true");
        assert_eq!(headers(&req), [JSON]);
        assert_eq!(
            body(&req),
            json!({
                "content": "New match for rule **korut-senjata** in **suara**",
                "embeds": [{
                    "title": "Korea Utara Uji Coba Senjata Baru",
                    "url": "https://www.suara.com/news/2024/01/01/korut",
                    "description": "**Matched:** korea utara, senjata\n\nPyongyang kembali menguji rudal balistik.",
                    "footer": {"text": "suara"},
                    "timestamp": "2024-01-01T10:00:00Z",
                }],
                "allowed_mentions": {"parse": []},
            })
        );
    }

    #[test]
    fn wait_is_added_to_an_existing_query() {
        let t = chat(super::Discord { url: "https://discord.com/api/webhooks/1/tok?thread_id=9".into() });
        assert_eq!(t.request(&normal()).url, "https://discord.com/api/webhooks/1/tok?thread_id=9&wait=true");
    }

    #[test]
    fn nasty_alert_is_escaped_and_within_limits() {
        let v = body(&target().request(&nasty()));
        assert_eq!(v["allowed_mentions"], json!({"parse": []}));
        let embed = &v["embeds"][0];
        let title = embed["title"].as_str().unwrap();
        assert_eq!(title, "<b>&\"Korea Utara\" @\u{200B}everyone \\*bold\\*</b> 🚀 صاروخ");
        assert_eq!(embed["url"], "https://ex.id/a?b=1&c=%22x%22");
        let description = embed["description"].as_str().unwrap();
        assert!(description.encode_utf16().count() <= 4096);
        assert!(description.ends_with('…'));
        assert!(!description.contains("@here"));
        assert!(description.contains("\\*x\\*"));
        let content = v["content"].as_str().unwrap();
        assert!(content.encode_utf16().count() <= 2000);
        assert_eq!(
            content,
            "New match for rule **rule\\_\\*with\\*\\_\\[marks\\]** in **feed <x> & @\u{200B}channel**"
        );
        let total: usize = ["title", "description"].iter().map(|k| embed[k].as_str().unwrap().chars().count()).sum();
        assert!(total + embed["footer"]["text"].as_str().unwrap().chars().count() <= 6000);
        assert!(embed.get("timestamp").is_none());
    }

    #[test]
    fn long_title_is_cut_without_breaking_an_escape() {
        let mut a = normal();
        a.item.title = "*".repeat(300);
        let v = body(&target().request(&a));
        let title = v["embeds"][0]["title"].as_str().unwrap();
        assert!(title.chars().count() <= 256);
        assert!(title.ends_with("\\*…"), "{title}");
    }

    #[test]
    fn digest_fits_the_description() {
        let v = body(&digest_request(&target(), &many(200), "d"));
        let d = v["embeds"][0]["description"].as_str().unwrap();
        assert!(d.encode_utf16().count() <= 4096);
        assert!(d.starts_with(
            "• [Berita nomor 0 tentang senjata & <rudal> 🚀](https://www.suara.com/news/uji-coba-rudal-balistik-korea-utara-di-semenanjung-korea-pada-awal-tahun-2024/0?a=1&b=2) — suara · korut-senjata\n"
        ));
        assert!(d.lines().last().unwrap().starts_with("…and "));
        assert_eq!(v["allowed_mentions"], json!({"parse": []}));
    }

    #[test]
    fn retry_hints() {
        let t = target();
        let body = r#"{"message": "You are being rate limited.", "retry_after": 0.65, "global": false}"#;
        assert_eq!(t.retry_hint(429, &[], body), Some(Duration::from_millis(650)));
        let h = vec![("X-RateLimit-Reset-After".to_string(), "2.5".to_string())];
        assert_eq!(t.retry_hint(429, &h, ""), Some(Duration::from_millis(2500)));
        let h = vec![("Retry-After".to_string(), "3".to_string())];
        assert_eq!(t.retry_hint(429, &h, "{}"), Some(Duration::from_secs(3)));
        assert_eq!(t.retry_hint(429, &[], r#"{"retry_after": -1}"#), None);
    }
}
