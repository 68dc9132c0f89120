//! Google Chat space webhooks: `{"text"}` with `*bold*` and `<url|label>` links, at most
//! 32,000 bytes. The alert id goes out as the `requestId` query parameter, so a retry returns
//! the message already created instead of posting twice. Google Chat has no escape syntax, so
//! feed text gets a zero-width space after every `<` (no `<users/all>` mention, no forged
//! link can form), and a link label loses the `|` and `>` that would end it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::chat::{SecretUrl, digest_heading, Chat, Fields, HttpRequest, Method};
use super::template::Escaper;
use super::text::{self, Unit, ZWSP};
use super::{Configured, Transport, Key, Keys, Service, Type};
use crate::model::AlertPayload;

/// The `googlechat` sink type: `url` (the incoming-webhook URL).
pub static TYPE: Type = Type { name: "googlechat", keys: &[Key::text("url")], configure };

fn configure(keys: &mut dyn Keys) -> Configured {
    Configured::new(GoogleChat { url: keys.required_url("webhook url").into() })
}

/// A configured GoogleChat sink.
#[derive(Debug, Clone, PartialEq)]
pub struct GoogleChat {
    /// The webhook URL (a secret).
    pub url: SecretUrl,
}

impl Service for GoogleChat {
    fn kind(&self) -> &'static str {
        "googlechat"
    }

    fn transport(&self) -> Transport<'_> {
        Transport::Chat(Arc::new(self.clone()))
    }

    fn default_interval(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn template_escaper(&self) -> Escaper {
        inert
    }
}

impl Chat for GoogleChat {
    fn render(&self, id: &str, _published: Option<&str>, fields: &Fields) -> HttpRequest {
        request(&self.url, fields, id)
    }

    fn custom_request(&self, alert: &AlertPayload, message: &str) -> Option<HttpRequest> {
        Some(custom(&self.url, message, &alert.id))
    }

    fn digest(&self, alerts: &[Fields], digest_id: &str) -> HttpRequest {
        digest(&self.url, alerts, digest_id)
    }
}

/// Most bytes of a message's text.
const TEXT_MAX: usize = 32_000;

/// Feed text made inert: a zero-width space after every `<`.
pub(super) fn inert(raw: &str) -> String {
    raw.replace('<', &format!("<{ZWSP}"))
}

/// `<link|title>`, or the inert title when there is no link.
fn linked(title: &str, link: Option<&str>) -> String {
    match link {
        Some(link) => format!("<{link}|{}>", inert(title).replace('|', "¦").replace('>', "›")),
        None => inert(title),
    }
}

/// The request carrying `text`, idempotent by `request_id`.
fn send(url: &str, request_id: &str, text: String) -> HttpRequest {
    let body = json!({ "text": text });
    HttpRequest::json(Method::Post, text::add_query(url, "requestId", request_id), vec![], &body)
}

/// The request for one alert.
pub(super) fn request(url: &str, f: &Fields, alert_id: &str) -> HttpRequest {
    let mut text =
        format!("*{}*\nFeed: {} · Rule: {}", linked(&f.title, f.link.as_deref()), inert(&f.feed), inert(&f.rule));
    if !f.matched.is_empty() {
        text.push_str(&format!("\nMatched: {}", inert(&f.matched)));
    }
    if !f.summary.is_empty() {
        let room = TEXT_MAX.saturating_sub(text.len() + 2);
        let summary = text::fit(&f.summary, room, |s| inert(s).len());
        if !summary.is_empty() {
            text.push_str(&format!("\n\n{}", inert(&summary)));
        }
    }
    send(url, alert_id, text)
}

/// The request carrying a sink template's output, idempotent by `request_id`.
pub(super) fn custom(url: &str, message: &str, request_id: &str) -> HttpRequest {
    send(url, request_id, text::cut(message, TEXT_MAX, Unit::Bytes))
}

/// A digest: a bold heading, one line per alert, "…and N more".
pub(super) fn digest(url: &str, alerts: &[Fields], digest_id: &str) -> HttpRequest {
    let mut text = format!("*{}*", digest_heading(alerts.len()));
    let lines: Vec<String> = alerts
        .iter()
        .map(|f| format!("\n• {} — {} · {}", linked(&f.title, f.link.as_deref()), inert(&f.feed), inert(&f.rule)))
        .collect();
    let costs: Vec<usize> = lines.iter().map(|l| Unit::Bytes.len(l)).collect();
    let kept = text::pack(&costs, TEXT_MAX - text.len(), |n| text::and_more(n).len() + 1);
    for l in &lines[..kept] {
        text.push_str(l);
    }
    if kept < lines.len() {
        text.push_str(&format!("\n{}", text::and_more(lines.len() - kept)));
    }
    send(url, digest_id, text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{body, headers, many, nasty, normal, JSON};
    use super::super::chat::{digest_request, Method, Target};
    use super::super::tests::chat;
    use super::TEXT_MAX;

    fn target() -> Target {
        chat(super::GoogleChat { url: "https://chat.googleapis.com/v1/spaces/S/messages?key=K&token=T".into() })
    }

    #[test]
    fn normal_alert() {
        let req = target().request(&normal());
        assert_eq!(req.method, Method::Post);
        assert_eq!(
            req.url,
            "https://chat.googleapis.com/v1/spaces/S/messages?key=K&token=T&requestId=0123456789abcdef0123456789abcdef"
        );
        assert_eq!(headers(&req), [JSON]);
        assert_eq!(
            body(&req),
            json!({"text": "*<https://www.suara.com/news/2024/01/01/korut|Korea Utara Uji Coba Senjata Baru>*\n\
                            Feed: suara · Rule: korut-senjata\nMatched: korea utara, senjata\n\n\
                            Pyongyang kembali menguji rudal balistik."})
        );
    }

    #[test]
    fn request_id_without_a_query() {
        let t = chat(super::GoogleChat { url: "https://chat.example/hook".into() });
        assert_eq!(t.request(&normal()).url, "https://chat.example/hook?requestId=0123456789abcdef0123456789abcdef");
        assert_eq!(t.request(&nasty()).url, "https://chat.example/hook?requestId=nasty%2Fid%20with%20space");
    }

    #[test]
    fn nasty_alert_is_inert_and_within_limits() {
        let mut a = nasty();
        a.item.title.push_str(" <users/all> a|b");
        let v = body(&target().request(&a));
        let text = v["text"].as_str().unwrap();
        assert!(text.len() <= TEXT_MAX);
        assert!(text.starts_with(
            "*<https://ex.id/a?b=1&c=%22x%22|<\u{200B}b›&\"Korea Utara\" @everyone *bold*<\u{200B}/b› 🚀 صاروخ <\u{200B}users/all› a¦b>*\n"
        ), "{text}");
        assert!(!text.contains("<users/all>") && !text.contains("<script>"));
        assert!(text.ends_with('…'));
    }

    #[test]
    fn digest_fits() {
        let req = digest_request(&target(), &many(200), "digest-9");
        assert!(req.url.ends_with("&requestId=digest-9"));
        let v = body(&req);
        let text = v["text"].as_str().unwrap();
        assert!(text.len() <= TEXT_MAX);
        assert!(text.starts_with(
            "*200 new alerts*\n• <https://www.suara.com/news/uji-coba-rudal-balistik-korea-utara-di-semenanjung-korea-pada-awal-tahun-2024/0?a=1&b=2|Berita nomor 0 tentang senjata & <\u{200B}rudal› 🚀> — suara · korut-senjata\n"
        ));
        assert!(text.lines().last().unwrap().starts_with("…and "));
    }
}
