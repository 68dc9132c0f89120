//! Matrix client-server API: `PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}`
//! with an `m.notice` carrying a plain `body` and an HTML `formatted_body`. The alert id is the
//! transaction id, so a retry with the same access token returns the same event instead of
//! posting twice. Feed text is defanged (`@room` cannot notify) and HTML-escaped in the
//! formatted body; each of the two bodies is kept under `FIELD_MAX` bytes, so the event
//! stays well under the 64 KiB limit.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::chat::{digest_heading, Chat, Fields, HttpRequest, Method};
use super::template::Escaper;
use super::text::{self, defang, escape_html, json_len};
use super::{Configured, Transport, Key, Keys, RawValue, Service, Type};
use crate::model::AlertPayload;

/// The `matrix` sink type: `homeserver`, `access_token`, `room` (a room id).
pub static TYPE: Type = Type {
    name: "matrix",
    keys: &[Key::text("homeserver"), Key::text("access_token"), Key::text("room")],
    configure,
};

fn configure(keys: &mut dyn Keys) -> Configured {
    let homeserver = match keys.url("homeserver", "homeserver") {
        Some(url) => url,
        None => keys.required("homeserver"),
    };
    let access_token = keys.required("access_token");
    let room = keys.required("room");
    if let Some(at) = keys.raw("room").map(RawValue::start) {
        if !room.is_empty() && !room.starts_with('!') {
            keys.error(at, "room must be a room id such as \"!abc123:example.org\" (not an alias)".into());
        }
    }
    Configured::new(Matrix { homeserver, access_token, room })
}

/// A configured Matrix sink: the client-server API, one room.
#[derive(Clone, PartialEq)]
pub struct Matrix {
    /// The homeserver's base URL.
    pub homeserver: String,
    /// The access token (a secret; one token, so that transaction ids keep deduplicating).
    pub access_token: String,
    /// The room id, e.g. `!abc:example.org`.
    pub room: String,
}

/// Never shows the access token.
impl fmt::Debug for Matrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matrix")
            .field("homeserver", &self.homeserver)
            .field("access_token", &"<redacted>")
            .field("room", &self.room)
            .finish()
    }
}

impl Service for Matrix {
    fn kind(&self) -> &'static str {
        "matrix"
    }

    fn transport(&self) -> Transport<'_> {
        Transport::Chat(Arc::new(self.clone()))
    }

    fn default_interval(&self) -> Duration {
        Duration::from_millis(200)
    }

    fn template_escaper(&self) -> Escaper {
        escape_html
    }
}

impl Chat for Matrix {
    fn render(&self, id: &str, _published: Option<&str>, fields: &Fields) -> HttpRequest {
        request(&self.homeserver, &self.access_token, &self.room, id, fields)
    }

    fn custom_request(&self, alert: &AlertPayload, message: &str) -> Option<HttpRequest> {
        custom(&self.homeserver, &self.access_token, &self.room, &alert.id, message)
    }

    fn digest(&self, alerts: &[Fields], digest_id: &str) -> HttpRequest {
        digest(&self.homeserver, &self.access_token, &self.room, digest_id, alerts)
    }

    fn own_retry_hint(&self, _headers: &[(String, String)], body: &str) -> Option<Duration> {
        retry_hint(body)
    }
}

/// Most bytes (as JSON) of `body`, and of `formatted_body`.
const FIELD_MAX: usize = 16 * 1024;

/// The send request for `plain` and `html`.
fn send(homeserver: &str, token: &str, room: &str, txn: &str, plain: String, html: String) -> HttpRequest {
    let path =
        format!("/_matrix/client/v3/rooms/{}/send/m.room.message/{}", text::pct_encode(room), text::pct_encode(txn));
    let body = json!({
        "msgtype": "m.notice",
        "body": plain,
        "format": "org.matrix.custom.html",
        "formatted_body": html,
    });
    let auth = vec![("Authorization".to_string(), format!("Bearer {token}"))];
    HttpRequest::json(Method::Put, text::join_path(homeserver, &path), auth, &body)
}

/// Feed text for the formatted body.
fn h(raw: &str) -> String {
    escape_html(&defang(raw))
}

/// `title` as an HTML link when there is one.
fn html_link(title: &str, link: Option<&str>) -> String {
    match link {
        Some(link) => format!("<a href=\"{}\">{}</a>", escape_html(link), h(title)),
        None => h(title),
    }
}

/// The request for one alert; `txn` (the alert id) is the transaction id.
pub(super) fn request(homeserver: &str, token: &str, room: &str, txn: &str, f: &Fields) -> HttpRequest {
    let mut plain = defang(&f.title);
    if let Some(link) = &f.link {
        plain.push('\n');
        plain.push_str(link);
    }
    plain.push_str(&format!("\nFeed: {} · Rule: {}", defang(&f.feed), defang(&f.rule)));
    let mut html =
        format!("<b>{}</b><br>Feed: {} · Rule: {}", html_link(&f.title, f.link.as_deref()), h(&f.feed), h(&f.rule));
    if !f.matched.is_empty() {
        plain.push_str(&format!("\nMatched: {}", defang(&f.matched)));
        html.push_str(&format!("<br>Matched: {}", h(&f.matched)));
    }
    if !f.summary.is_empty() {
        let (plain_used, html_used) = (json_len(&plain) + 2, json_len(&html) + 8);
        let cost = |s: &str| (plain_used + json_len(&defang(s))).max(html_used + json_len(&h(s)));
        let summary = text::fit(&f.summary, FIELD_MAX, cost);
        if !summary.is_empty() {
            plain.push_str(&format!("\n\n{}", defang(&summary)));
            html.push_str(&format!("<br><br>{}", h(&summary)));
        }
    }
    send(homeserver, token, room, txn, plain, html)
}

/// The request carrying a sink template's output as `formatted_body` (HTML) with its text as
/// `body`; `None` when either is over the size limit, since a cut could break the HTML.
pub(super) fn custom(homeserver: &str, token: &str, room: &str, txn: &str, message: &str) -> Option<HttpRequest> {
    let plain = crate::markup::html_to_text(message);
    (json_len(message) <= FIELD_MAX && json_len(&plain) <= FIELD_MAX)
        .then(|| send(homeserver, token, room, txn, plain, message.to_string()))
}

/// A digest: a heading, a list of linked titles with feed and rule, then "…and N more".
pub(super) fn digest(homeserver: &str, token: &str, room: &str, txn: &str, alerts: &[Fields]) -> HttpRequest {
    let heading = digest_heading(alerts.len());
    let lines: Vec<(String, String)> = alerts
        .iter()
        .map(|f| {
            let tail = format!(" — {} · {}", defang(&f.feed), defang(&f.rule));
            let link = f.link.as_deref().map(|l| format!(" {l}")).unwrap_or_default();
            let plain = format!("\n• {}{tail}{link}", defang(&f.title));
            let html = format!("<li>{} — {} · {}</li>", html_link(&f.title, f.link.as_deref()), h(&f.feed), h(&f.rule));
            (plain, html)
        })
        .collect();
    let costs: Vec<usize> = lines.iter().map(|(p, x)| json_len(p).max(json_len(x))).collect();
    let fixed = json_len(&heading) + "<b></b><ul></ul>".len();
    let kept = text::pack(&costs, FIELD_MAX - fixed, |n| json_len(&text::and_more(n)) + 4);
    let mut plain = heading.clone();
    let mut html = format!("<b>{heading}</b><ul>");
    for (p, x) in &lines[..kept] {
        plain.push_str(p);
        html.push_str(x);
    }
    html.push_str("</ul>");
    if kept < lines.len() {
        let more = text::and_more(lines.len() - kept);
        plain.push_str(&format!("\n{more}"));
        html.push_str(&more);
    }
    send(homeserver, token, room, txn, plain, html)
}

/// Matrix's hint: `retry_after_ms` in the error body (the `Retry-After` header is read by the
/// caller when it is absent).
pub(super) fn retry_hint(body: &str) -> Option<Duration> {
    let ms = text::json_body(body)?.get("retry_after_ms")?.as_u64()?;
    Some(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::super::tests::{body, headers, many, nasty, normal, JSON};
    use super::super::chat::{digest_request, Method, Target};
    use super::super::tests::chat;
    use super::FIELD_MAX;

    fn target() -> Target {
        chat(super::Matrix {
            homeserver: "https://matrix.ex.id/".into(),
            access_token: "syt_tok".into(),
            room: "!abc:ex.id".into(),
        })
    }

    #[test]
    fn normal_alert() {
        let req = target().request(&normal());
        assert_eq!(req.method, Method::Put);
        assert_eq!(
            req.url,
            "https://matrix.ex.id/_matrix/client/v3/rooms/%21abc%3Aex.id/send/m.room.message/0123456789abcdef0123456789abcdef"
        );
        assert_eq!(headers(&req), [JSON, ("Authorization", "Bearer syt_tok")]);
        assert_eq!(
            body(&req),
            json!({
                "msgtype": "m.notice",
                "body": "Korea Utara Uji Coba Senjata Baru\nhttps://www.suara.com/news/2024/01/01/korut\n\
                         Feed: suara · Rule: korut-senjata\nMatched: korea utara, senjata\n\n\
                         Pyongyang kembali menguji rudal balistik.",
                "format": "org.matrix.custom.html",
                "formatted_body": "<b><a href=\"https://www.suara.com/news/2024/01/01/korut\">Korea Utara Uji Coba Senjata Baru</a></b>\
                                   <br>Feed: suara · Rule: korut-senjata<br>Matched: korea utara, senjata<br><br>\
                                   Pyongyang kembali menguji rudal balistik.",
            })
        );
    }

    #[test]
    fn nasty_alert_is_escaped_and_within_limits() {
        let req = target().request(&nasty());
        assert!(req.url.ends_with("/send/m.room.message/nasty%2Fid%20with%20space"), "{}", req.url);
        assert!(req.body.len() < 64 * 1024 / 2);
        let v = body(&req);
        let html = v["formatted_body"].as_str().unwrap();
        assert!(html.starts_with(
            "<b><a href=\"https://ex.id/a?b=1&amp;c=%22x%22\">&lt;b&gt;&amp;&quot;Korea Utara&quot; @\u{200B}everyone *bold*&lt;/b&gt; 🚀 صاروخ</a></b><br>"
        ));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        let plain = v["body"].as_str().unwrap();
        assert!(plain
            .starts_with("<b>&\"Korea Utara\" @\u{200B}everyone *bold*</b> 🚀 صاروخ\nhttps://ex.id/a?b=1&c=%22x%22\n"));
        assert!(plain.ends_with('…') && html.ends_with('…'));
    }

    #[test]
    fn digest_stays_well_under_64_kib() {
        let req = digest_request(&target(), &many(200), "digest/7");
        assert!(req.url.ends_with("/send/m.room.message/digest%2F7"));
        assert!(req.body.len() <= 2 * FIELD_MAX + 200, "{}", req.body.len());
        let v = body(&req);
        let html = v["formatted_body"].as_str().unwrap();
        assert!(html.starts_with("<b>200 new alerts</b><ul><li><a href=\"https://www.suara.com/news/uji-coba-rudal-balistik-korea-utara-di-semenanjung-korea-pada-awal-tahun-2024/0?a=1&amp;b=2\">Berita nomor 0 tentang senjata &amp; &lt;rudal&gt; 🚀</a> — suara · korut-senjata</li>"));
        assert!(html.contains("</ul>…and "));
        assert!(v["body"].as_str().unwrap().lines().last().unwrap().starts_with("…and "));
    }

    #[test]
    fn retry_hints() {
        let t = target();
        let body = r#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":2000}"#;
        assert_eq!(t.retry_hint(429, &[], body), Some(Duration::from_secs(2)));
        let h = vec![("Retry-After".to_string(), "4".to_string())];
        assert_eq!(t.retry_hint(429, &h, r#"{"errcode":"M_LIMIT_EXCEEDED"}"#), Some(Duration::from_secs(4)));
    }
}
