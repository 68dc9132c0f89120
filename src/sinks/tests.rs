//! Fixtures shared by the renderers' tests, and the properties every service must have.

use std::time::Duration;

use serde_json::Value;

use super::chat::{digest_request, Chat, HttpRequest, Method, Target};
use super::discord::Discord;
use super::googlechat::GoogleChat;
use super::gotify::Gotify;
use super::matrix::Matrix;
use super::mattermost::Mattermost;
use super::ntfy::Ntfy;
use super::slack::Slack;
use super::teams::Teams;
use super::telegram::Telegram;
use super::{KeyValue, Keys, RawValue, Transport, TYPES};
use crate::model::{AlertPayload, PayloadFeed, PayloadItem};

/// The id of the normal alert.
pub(super) const ID: &str = "0123456789abcdef0123456789abcdef";

/// An ordinary alert.
pub(super) fn normal() -> AlertPayload {
    AlertPayload {
        id: ID.to_string(),
        rule: "korut-senjata".to_string(),
        feed: PayloadFeed { name: "suara".to_string(), url: "https://www.suara.com/rss".to_string() },
        item: PayloadItem {
            id: "https://www.suara.com/news/1".to_string(),
            title: "Korea Utara Uji Coba Senjata Baru".to_string(),
            link: Some("https://www.suara.com/news/2024/01/01/korut".to_string()),
            published: Some("2024-01-01T10:00:00Z".to_string()),
            summary: "Pyongyang kembali menguji rudal balistik.".to_string(),
            authors: vec!["Redaksi".to_string()],
            article: false,
        },
        matched: vec!["korea utara".to_string(), "senjata".to_string()],
        created_at: "2024-01-01T10:01:00Z".to_string(),
        matched_in: Default::default(),
    }
}

/// The raw title of the nasty alert.
pub(super) const NASTY_TITLE: &str = r#"<b>&"Korea Utara" @everyone *bold*</b> 🚀 صاروخ"#;

/// An alert built to break renderers: markup in the title, a mention, emoji, RTL text, a link
/// with `&` and quotes, and a 4,000-word summary.
pub(super) fn nasty() -> AlertPayload {
    let words = ["rudal", "🚀", "صاروخ", "<script>", "&amp;", "*x*", "@here", "\"q\""];
    let summary: Vec<&str> = (0..4000).map(|i| words[i % words.len()]).collect();
    AlertPayload {
        id: "nasty/id with space".to_string(),
        rule: "rule_*with*_[marks]".to_string(),
        feed: PayloadFeed { name: "feed <x> & @channel".to_string(), url: "https://ex.id/rss".to_string() },
        item: PayloadItem {
            id: "n1".to_string(),
            title: NASTY_TITLE.to_string(),
            link: Some(r#"https://ex.id/a?b=1&c="x""#.to_string()),
            published: None,
            summary: summary.join(" "),
            authors: vec![],
            article: false,
        },
        matched: vec!["korea utara".to_string(), "صاروخ".to_string()],
        created_at: "2024-01-01T10:01:00Z".to_string(),
        matched_in: Default::default(),
    }
}

/// A long path segment, so that 200 digest lines overflow every service.
pub(super) const SLUG: &str = "uji-coba-rudal-balistik-korea-utara-di-semenanjung-korea-pada-awal-tahun-2024";

/// `n` distinct ordinary alerts.
pub(super) fn many(n: usize) -> Vec<AlertPayload> {
    (0..n)
        .map(|i| {
            let mut a = normal();
            a.id = format!("{i:032x}");
            a.item.title = format!("Berita nomor {i} tentang senjata & <rudal> 🚀");
            a.item.link = Some(format!("https://www.suara.com/news/{SLUG}/{i}?a=1&b=2"));
            a
        })
        .collect()
}

/// The parsed JSON body of a request.
pub(super) fn body(req: &HttpRequest) -> Value {
    serde_json::from_str(&req.body).expect("body is JSON")
}

/// The headers of a request as `(&str, &str)` pairs.
pub(super) fn headers(req: &HttpRequest) -> Vec<(&str, &str)> {
    req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The `Content-Type` header every request carries.
pub(super) const JSON: (&str, &str) = ("Content-Type", "application/json");

/// A configured chat service, as the delivery worker holds it.
pub(super) fn chat(service: impl Chat + 'static) -> Target {
    std::sync::Arc::new(service)
}

/// One target of every kind, with recognisable secrets.
pub(super) fn targets() -> Vec<Target> {
    vec![
        chat(Slack { url: "https://hooks.slack.com/services/T0/B0/SECRETSLACK".into() }),
        chat(Discord { url: "https://discord.com/api/webhooks/1/SECRETDISCORD".into() }),
        chat(Mattermost { url: "https://mm.ex.id/hooks/SECRETMM".into() }),
        chat(Teams { url: "https://prod.westus.logic.azure.com/workflows/x?sig=SECRETTEAMS".into() }),
        chat(GoogleChat { url: "https://chat.googleapis.com/v1/spaces/S/messages?key=K&token=SECRETGCHAT".into() }),
        chat(Telegram {
            api_url: "https://api.telegram.org".into(),
            token: "123:SECRETTG".into(),
            chat_id: "-100123".into(),
        }),
        chat(Matrix {
            homeserver: "https://matrix.ex.id".into(),
            access_token: "SECRETMATRIX".into(),
            room: "!room:ex.id".into(),
        }),
        chat(Ntfy { url: "https://ntfy.sh/".into(), topic: "SECRETTOPIC".into(), token: Some("SECRETNTFY".into()) }),
        chat(Gotify { url: "https://gotify.ex.id".into(), token: "SECRETGOTIFY".into() }),
    ]
}

/// Every string in a JSON value, recursively.
pub(super) fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(o) => o.values().flat_map(strings).collect(),
        _ => vec![],
    }
}

#[test]
fn kinds_are_the_config_types() {
    let kinds: Vec<&str> = targets().iter().map(|t| t.kind()).collect();
    assert_eq!(
        kinds,
        ["slack", "discord", "mattermost", "teams", "googlechat", "telegram", "matrix", "ntfy", "gotify"]
    );
}

#[test]
fn debug_never_shows_secrets() {
    for t in targets() {
        let shown = format!("{t:?} {t:#?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        let req = t.request(&normal());
        let shown = format!("{req:?}");
        assert!(!shown.contains("SECRET") || shown.contains("SECRETTOPIC"), "{shown}");
        let shown = format!("{:?}", digest_request(&t, &many(3), "d1"));
        assert!(!shown.contains("SECRET") || shown.contains("SECRETTOPIC"), "{shown}");
    }
    let t = chat(Slack { url: "https://hooks.slack.com/services/T0/B0/SECRETSLACK".into() });
    assert_eq!(format!("{t:?}"), r#"Slack { url: "https://hooks.slack.com/…" }"#);
    let t = chat(Ntfy { url: "https://ntfy.sh".into(), topic: "SECRET".into(), token: None });
    assert_eq!(format!("{t:?}"), r#"Ntfy { url: "https://ntfy.sh", topic: "<redacted>", token: None }"#);
}

#[test]
fn every_request_is_json_with_its_content_type() {
    for t in targets() {
        for req in [t.request(&normal()), t.request(&nasty()), digest_request(&t, &many(200), "digest-1")] {
            assert!(headers(&req).contains(&JSON), "{}", t.kind());
            let v = body(&req);
            assert!(v.is_object(), "{}", t.kind());
            let expected = if t.kind() == "matrix" { Method::Put } else { Method::Post };
            assert_eq!(req.method, expected);
        }
    }
}

#[test]
fn nasty_alert_cannot_ping_everyone() {
    // Slack, Google Chat, Teams, ntfy and Gotify have no plain-text mentions; the others do.
    for t in targets().into_iter().filter(|t| !matches!(t.kind(), "slack" | "googlechat" | "teams" | "ntfy" | "gotify"))
    {
        let req = t.request(&nasty());
        for s in strings(&body(&req)) {
            for mention in ["@everyone", "@here", "@channel", "@room"] {
                assert!(!s.contains(mention), "{}: {s}", t.kind());
            }
        }
    }
}

#[test]
fn requests_are_deterministic() {
    for t in targets() {
        assert_eq!(t.request(&nasty()), t.request(&nasty()));
        assert_eq!(digest_request(&t, &many(50), "d"), digest_request(&t, &many(50), "d"));
    }
}

#[test]
fn digest_of_200_is_one_request_saying_how_many_more() {
    for t in targets() {
        let req = digest_request(&t, &many(200), "digest-1");
        let all = strings(&body(&req)).join("\n");
        assert!(all.contains("200 new alerts"), "{}: {all}", t.kind());
        assert!(all.contains("Berita nomor 0 "), "{}", t.kind());
        let more = all.split("…and ").nth(1).unwrap_or_else(|| panic!("{}: no …and N more", t.kind()));
        let n: usize = more.split(' ').next().unwrap().parse().unwrap();
        let listed = (0..200).filter(|i| all.contains(&format!("Berita nomor {i} "))).count();
        assert_eq!(listed + n, 200, "{}", t.kind());
        assert!(listed >= 5, "{}: only {listed}", t.kind());
    }
}

#[test]
fn digest_that_fits_lists_everything() {
    for t in targets() {
        let req = digest_request(&t, &many(3), "digest-1");
        let all = strings(&body(&req)).join("\n");
        assert!(!all.contains("…and"), "{}: {all}", t.kind());
        for i in 0..3 {
            assert!(all.contains(&format!("Berita nomor {i} ")), "{}", t.kind());
        }
    }
}

#[test]
fn accepted_means_2xx_and_telegram_ok() {
    for t in targets() {
        assert!(!t.accepted(429, "{}"), "{}", t.kind());
        assert!(!t.accepted(500, ""), "{}", t.kind());
        assert!(!t.accepted(302, ""), "{}", t.kind());
        let ok = t.accepted(200, r#"{"ok":true,"result":{}}"#);
        assert!(ok, "{}", t.kind());
        if t.kind() == "telegram" {
            assert!(!t.accepted(200, r#"{"ok":false,"description":"Bad Request"}"#));
            assert!(!t.accepted(200, "not json"));
            assert!(!t.accepted(200, ""));
        } else {
            assert!(t.accepted(204, ""), "{}", t.kind());
            assert!(t.accepted(200, "ok"), "{}", t.kind());
        }
    }
}

#[test]
fn retry_after_header_is_honoured_by_every_service() {
    let h = vec![("Retry-After".to_string(), "12".to_string())];
    for t in targets() {
        assert_eq!(t.retry_hint(429, &h, ""), Some(Duration::from_secs(12)), "{}", t.kind());
        assert_eq!(t.retry_hint(429, &[], ""), None, "{}", t.kind());
        assert_eq!(t.retry_hint(200, &h, ""), None, "{}", t.kind());
    }
}

#[test]
fn default_intervals() {
    let ms = |t: &Target| t.default_interval().as_millis();
    let got: Vec<(&str, u128)> = targets().iter().map(|t| (t.kind(), ms(t))).collect();
    assert_eq!(
        got,
        [
            ("slack", 1000),
            ("discord", 1000),
            ("mattermost", 100),
            ("teams", 100),
            ("googlechat", 1000),
            ("telegram", 3000),
            ("matrix", 200),
            ("ntfy", 100),
            ("gotify", 100)
        ]
    );
    let private =
        chat(Telegram { api_url: "https://api.telegram.org".into(), token: "t".into(), chat_id: "42".into() });
    assert_eq!(private.default_interval(), Duration::from_secs(1));
}

#[test]
fn alert_without_link_shows_a_plain_title() {
    let mut a = normal();
    a.item.link = None;
    for t in targets() {
        let all = strings(&body(&t.request(&a))).join("\n");
        assert!(all.contains("Korea Utara Uji Coba Senjata Baru"), "{}", t.kind());
        assert!(!all.contains("https://www.suara.com/news/2024"), "{}", t.kind());
    }
    a.item.link = Some("javascript:alert(1)".into());
    for t in targets() {
        assert!(!t.request(&a).body.contains("javascript:"), "{}", t.kind());
    }
}

/// The size of a request as its service counts it, and that service's limit.
fn measured(t: &Target, req: &HttpRequest) -> Vec<(&'static str, usize, usize)> {
    let v = body(req);
    let s = |x: &Value| x.as_str().unwrap_or_default().to_string();
    match t.kind() {
        "slack" => v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let text = if b["type"] == "section" { s(&b["text"]["text"]) } else { s(&b["elements"][0]["text"]) };
                ("block", text.chars().count(), 3000)
            })
            .collect(),
        "discord" => {
            let e = &v["embeds"][0];
            let total = ["title", "description"].iter().map(|k| s(&e[k]).encode_utf16().count()).sum::<usize>()
                + s(&e["footer"]["text"]).encode_utf16().count();
            vec![
                ("content", s(&v["content"]).encode_utf16().count(), 2000),
                ("title", s(&e["title"]).encode_utf16().count(), 256),
                ("description", s(&e["description"]).encode_utf16().count(), 4096),
                ("embeds", total, 6000),
            ]
        }
        "mattermost" => vec![("text", s(&v["text"]).chars().count(), 16_383)],
        "teams" => vec![("body", req.body.len(), 28 * 1024)],
        "googlechat" => vec![("text", s(&v["text"]).len(), 32_000)],
        "telegram" => {
            // Visible text: tags dropped, entities counted once.
            let html = s(&v["text"]);
            let mut shown = String::new();
            let mut in_tag = false;
            for c in html.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' if in_tag => in_tag = false,
                    c if !in_tag => shown.push(c),
                    _ => {}
                }
            }
            let shown = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
            vec![("text", shown.encode_utf16().count(), 4096)]
        }
        "matrix" => vec![("event", req.body.len(), 40 * 1024)],
        "ntfy" => vec![("message", s(&v["message"]).len(), 4096)],
        "gotify" => vec![("message", s(&v["message"]).len(), 16 * 1024)],
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn limits_hold_even_for_uncapped_fields() {
    let a = nasty();
    let mut f = super::text::Fields::of(&a);
    // Lift every cap Fields applies: only the services' own limits remain.
    f.summary = a.item.summary.repeat(3);
    f.title = a.item.title.repeat(40);
    f.matched = "kata & <kunci> *x* ".repeat(30);
    for t in targets() {
        let req = t.render(&a.id, None, &f);
        let v = body(&req);
        let all = strings(&v).join("\n");
        assert!(all.contains('…'), "{}: nothing was cut", t.kind());
        for (what, len, max) in measured(&t, &req) {
            assert!(len <= max, "{} {what}: {len} > {max}", t.kind());
        }
    }
}

#[test]
fn limits_hold_for_every_digest() {
    for t in targets() {
        for n in [1, 2, 30, 200, 1000] {
            let req = digest_request(&t, &many(n), "d");
            for (what, len, max) in measured(&t, &req) {
                assert!(len <= max, "{} {what} ({n} alerts): {len} > {max}", t.kind());
            }
        }
    }
}

#[test]
fn an_empty_rate_limit_bucket_holds_the_next_send_until_it_refills() {
    let discord = chat(Discord { url: "https://discord.com/api/webhooks/1/tok".into() });
    let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let room = h(&[("X-RateLimit-Limit", "5"), ("X-RateLimit-Remaining", "3"), ("X-RateLimit-Reset-After", "1.5")]);
    assert_eq!(discord.rate_hold(&room), None);
    let empty = h(&[("X-RateLimit-Limit", "5"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset-After", "1.75")]);
    assert_eq!(discord.rate_hold(&empty), Some(Duration::from_millis(1750)));
    let no_reset = h(&[("x-ratelimit-remaining", "0")]);
    assert_eq!(discord.rate_hold(&no_reset), Some(Duration::from_secs(1)));
    let ietf = h(&[("RateLimit-Remaining", "0"), ("RateLimit-Reset", "7")]);
    assert_eq!(discord.rate_hold(&ietf), Some(Duration::from_secs(7)));
    assert_eq!(discord.rate_hold(&[]), None, "no headers, no hold");
}

#[test]
fn templated_messages_land_where_each_service_shows_text() {
    let p = normal();
    let cases: Vec<(Target, &str)> = vec![
        (chat(Slack { url: "https://hooks.slack.com/services/x".into() }), "/text"),
        (chat(Discord { url: "https://discord.com/api/webhooks/1/tok".into() }), "/content"),
        (chat(Mattermost { url: "https://mm.example/hooks/x".into() }), "/text"),
        (chat(Teams { url: "https://teams.example/x".into() }), "/attachments/0/content/body/0/text"),
        (chat(GoogleChat { url: "https://chat.googleapis.com/v1/spaces/x/messages?key=k".into() }), "/text"),
        (
            chat(Telegram { api_url: "https://api.telegram.org".into(), token: "t".into(), chat_id: "1".into() }),
            "/text",
        ),
        (
            chat(Matrix { homeserver: "https://m.example".into(), access_token: "t".into(), room: "!r:m".into() }),
            "/formatted_body",
        ),
        (chat(Ntfy { url: "https://ntfy.sh".into(), topic: "t".into(), token: None }), "/message"),
        (chat(Gotify { url: "https://g.example".into(), token: "t".into() }), "/message"),
    ];
    for (target, pointer) in cases {
        let req = target.custom_request(&p, "<b>mine</b>").unwrap_or_else(|| panic!("{}", target.kind()));
        let v: serde_json::Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(v.pointer(pointer).and_then(|t| t.as_str()), Some("<b>mine</b>"), "{}: {v}", target.kind());
        // The same endpoint and idempotency as the built-in layout.
        assert_eq!(req.url, target.request(&p).url, "{}", target.kind());
    }
    let matrix = chat(Matrix { homeserver: "https://m.example".into(), access_token: "t".into(), room: "!r:m".into() });
    let v: serde_json::Value = serde_json::from_str(&matrix.custom_request(&p, "<b>mine</b>").unwrap().body).unwrap();
    assert_eq!(v["body"], "mine", "Matrix's plain body is the text of the HTML");
    let telegram =
        chat(Telegram { api_url: "https://api.telegram.org".into(), token: "t".into(), chat_id: "1".into() });
    assert!(telegram.custom_request(&p, &"<b>x</b>".repeat(1000)).is_none(), "HTML is never cut");
    let discord = chat(Discord { url: "https://discord.com/api/webhooks/1/tok".into() });
    let v: serde_json::Value =
        serde_json::from_str(&discord.custom_request(&p, &"é".repeat(5000)).unwrap().body).unwrap();
    assert_eq!(v["content"].as_str().unwrap().chars().count(), 2000, "cut to Discord's content limit");
    assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));
}

#[test]
fn template_values_are_escaped_for_each_service() {
    let nasty = "<b>&*_";
    let esc = |t: Target| (t.template_escaper())(nasty);
    assert_eq!(esc(chat(Telegram { api_url: "a".into(), token: "t".into(), chat_id: "1".into() })), "&lt;b&gt;&amp;*_");
    assert_eq!(esc(chat(Slack { url: "u".into() })), "&lt;b&gt;&amp;*_");
    assert_eq!(esc(chat(Discord { url: "u".into() })), "<b>&\\*\\_");
    assert_eq!(esc(chat(Ntfy { url: "u".into(), topic: "t".into(), token: None })), nasty);
}

/// A `[[sink]]` table holding a plausible value for every key its type takes.
struct Sample(Vec<(&'static str, RawValue)>, Vec<String>);

impl Sample {
    fn of(keys: &[super::Key]) -> Sample {
        let values = keys
            .iter()
            .map(|k| {
                let span = 0..0;
                let value = match (k.value, k.name) {
                    (KeyValue::Any, _) => RawValue::Any(toml::Spanned::new(span, toml::Value::Integer(42))),
                    (KeyValue::Table, _) => RawValue::Table(toml::Spanned::new(span, Default::default())),
                    (KeyValue::Text, "room") => RawValue::Text(toml::Spanned::new(span, "!room:ex.id".into())),
                    (KeyValue::Text, _) => RawValue::Text(toml::Spanned::new(span, "https://sample.ex.id/x".into())),
                };
                (k.name, value)
            })
            .collect();
        Sample(values, Vec::new())
    }

    fn text(&self, key: &str) -> Option<String> {
        match self.raw(key) {
            Some(RawValue::Text(v)) => Some(v.get_ref().clone()),
            _ => None,
        }
    }
}

impl Keys for Sample {
    fn raw(&self, key: &str) -> Option<&RawValue> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
    fn error(&mut self, _offset: usize, message: String) {
        self.1.push(message);
    }
    fn missing(&mut self, message: String) {
        self.1.push(message);
    }
    fn expand(&mut self, value: &toml::Spanned<String>) -> String {
        value.get_ref().clone()
    }
    fn secret(&mut self, key: &str) -> Option<String> {
        self.text(key)
    }
    fn required(&mut self, key: &str) -> String {
        self.text(key).unwrap_or_else(|| {
            self.1.push(format!("missing {key}"));
            String::new()
        })
    }
    fn url(&mut self, key: &str, _what: &str) -> Option<String> {
        self.text(key)
    }
    fn required_url(&mut self, what: &str) -> String {
        self.url("url", what).unwrap_or_else(|| {
            self.1.push("missing url".into());
            String::new()
        })
    }
    fn headers(&mut self, _key: &str) -> Vec<(String, String)> {
        Vec::new()
    }
}

#[test]
fn every_registered_type_configures_from_its_keys_and_chat_types_render() {
    let mut chats = 0;
    for ty in TYPES {
        let mut keys = Sample::of(ty.keys);
        let service = (ty.configure)(&mut keys);
        assert!(keys.1.is_empty(), "{}: {:?}", ty.name, keys.1);
        assert_eq!(service.kind(), ty.name);
        assert!(service.default_concurrency() >= 1, "{}", ty.name);
        if let Transport::Chat(t) = service.transport() {
            chats += 1;
            assert_eq!(t.kind(), ty.name);
            for req in [t.request(&normal()), digest_request(&t, &many(3), "d")] {
                assert!(headers(&req).contains(&JSON), "{}", ty.name);
                assert!(body(&req).is_object(), "{}", ty.name);
            }
        }
        let configured_again = (ty.configure)(&mut Sample::of(ty.keys));
        assert_eq!(service, configured_again, "{}: equal settings compare equal", ty.name);
    }
    assert_eq!(chats, targets().len(), "every chat type is in targets()");
}

#[test]
fn a_missing_key_is_reported_by_its_service() {
    for ty in TYPES.iter().filter(|t| !t.keys.is_empty()) {
        let mut keys = Sample::of(&[]);
        let _ = (ty.configure)(&mut keys);
        assert!(!keys.1.is_empty(), "{} takes keys but needs none", ty.name);
    }
}

#[test]
fn a_key_holds_one_kind_of_value_whichever_type_takes_it() {
    for key in super::all_keys() {
        for ty in TYPES {
            if let Some(k) = ty.keys.iter().find(|k| k.name == key.name) {
                assert_eq!(k.value, key.value, "{} of {}", key.name, ty.name);
            }
        }
    }
}
