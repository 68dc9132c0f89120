//! Slack incoming webhooks: `{"text", "blocks"}` in mrkdwn, where only `&`, `<` and `>` are
//! escaped and links are `<url|label>`; a section block holds at most 3,000 characters.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::chat::{SecretUrl, digest_heading, Chat, Fields, HttpRequest, Method};
use super::template::Escaper;
use super::text::{self, escape_slack, Unit};
use super::{Configured, Transport, Key, Keys, Service, Type};
use crate::model::AlertPayload;

/// The `slack` sink type: `url` (the incoming-webhook URL).
pub static TYPE: Type = Type { name: "slack", keys: &[Key::text("url")], configure };

fn configure(keys: &mut dyn Keys) -> Configured {
    Configured::new(Slack { url: keys.required_url("webhook url").into() })
}

/// A configured Slack sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Slack {
    /// The webhook URL (a secret).
    pub url: SecretUrl,
}

impl Service for Slack {
    fn kind(&self) -> &'static str {
        "slack"
    }

    fn transport(&self) -> Transport<'_> {
        Transport::Chat(Arc::new(self.clone()))
    }

    fn default_interval(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn template_escaper(&self) -> Escaper {
        text::escape_slack
    }
}

impl Chat for Slack {
    fn render(&self, _id: &str, _published: Option<&str>, fields: &Fields) -> HttpRequest {
        request(&self.url, fields)
    }

    fn custom_request(&self, _alert: &AlertPayload, message: &str) -> Option<HttpRequest> {
        Some(custom(&self.url, message))
    }

    fn digest(&self, alerts: &[Fields], _digest_id: &str) -> HttpRequest {
        digest(&self.url, alerts)
    }
}

/// Most characters in one section or context block's text.
const BLOCK_MAX: usize = 3000;
/// Most characters of the title line of an alert (title and link).
const HEAD_MAX: usize = BLOCK_MAX / 2;
/// Most section blocks of digest lines (Slack allows 50 blocks; a digest stays readable).
const DIGEST_BLOCKS: usize = 10;

/// A link label: escaped, and without `|`, which would end the label.
fn label(raw: &str) -> String {
    escape_slack(raw).replace('|', "¦")
}

/// `<link|title>`, or the escaped title when there is no link.
fn linked(title: &str, link: Option<&str>) -> String {
    match link {
        Some(link) => format!("<{}|{}>", escape_slack(link), label(title)),
        None => escape_slack(title),
    }
}

/// The request for one alert.
pub(super) fn request(url: &str, f: &Fields) -> HttpRequest {
    // The title line never takes more than half the block, whatever the title and link.
    let short = text::fit(&f.title, HEAD_MAX - 2, |s| Unit::Chars.len(&label(s)));
    let head = format!("*{}*", linked(&short, f.link.as_deref()));
    let title = if Unit::Chars.len(&head) <= HEAD_MAX { head } else { format!("*{}*", escape_slack(&short)) };
    let mut section = title.clone();
    if !f.summary.is_empty() {
        let room = BLOCK_MAX.saturating_sub(Unit::Chars.len(&title) + 1);
        let summary = text::fit(&f.summary, room, |s| Unit::Chars.len(&escape_slack(s)));
        if !summary.is_empty() {
            section.push('\n');
            section.push_str(&escape_slack(&summary));
        }
    }
    let mut context = format!("Feed: {} · Rule: {}", escape_slack(&f.feed), escape_slack(&f.rule));
    if !f.matched.is_empty() {
        context.push_str(&format!(" · Matched: {}", escape_slack(&f.matched)));
    }
    let fallback = format!("{} ({} · {})", escape_slack(&f.title), escape_slack(&f.feed), escape_slack(&f.rule));
    let body = json!({
        "text": fallback,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": section}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    });
    HttpRequest::json(Method::Post, url.to_string(), vec![], &body)
}

/// One digest line: `• <link|title> — feed · rule`.
fn line(f: &Fields) -> String {
    let tail = format!(" — {} · {}", escape_slack(&f.feed), escape_slack(&f.rule));
    let with_link = format!("• {}{tail}", linked(&f.title, f.link.as_deref()));
    if Unit::Chars.len(&with_link) <= BLOCK_MAX {
        with_link
    } else {
        format!("• {}{tail}", escape_slack(&f.title))
    }
}

/// Most characters of a templated message's `text` (Slack truncates longer ones).
const CUSTOM_MAX: usize = 40_000;

/// The request carrying a sink template's output (mrkdwn) as the message text.
pub(super) fn custom(url: &str, message: &str) -> HttpRequest {
    HttpRequest::json(
        Method::Post,
        url.to_string(),
        vec![],
        &json!({ "text": text::cut(message, CUSTOM_MAX, Unit::Chars) }),
    )
}

/// A digest: a heading, up to [`DIGEST_BLOCKS`] sections of lines, then "…and N more".
pub(super) fn digest(url: &str, alerts: &[Fields]) -> HttpRequest {
    let heading = digest_heading(alerts.len());
    let mut blocks: Vec<Value> =
        vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{heading}*")}})];
    let mut pages: Vec<String> = vec![];
    let mut page = String::new();
    let mut listed = 0;
    for f in alerts {
        let l = line(f);
        let need = Unit::Chars.len(&page) + usize::from(!page.is_empty()) + Unit::Chars.len(&l);
        if need > BLOCK_MAX {
            if pages.len() + 1 == DIGEST_BLOCKS {
                break;
            }
            pages.push(std::mem::take(&mut page));
        }
        if !page.is_empty() {
            page.push('\n');
        }
        page.push_str(&l);
        listed += 1;
    }
    if !page.is_empty() {
        pages.push(page);
    }
    for p in pages {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": p}}));
    }
    if listed < alerts.len() {
        let more = text::and_more(alerts.len() - listed);
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]}));
    }
    let body = json!({"text": heading, "blocks": blocks});
    HttpRequest::json(Method::Post, url.to_string(), vec![], &body)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{body, headers, many, nasty, normal, strings, JSON};
    use super::super::chat::{digest_request, Method, Target};
    use super::super::tests::chat;
    use super::BLOCK_MAX;

    fn target() -> Target {
        chat(super::Slack { url: "https://hooks.slack.com/services/T0/B0/X".into() })
    }

    #[test]
    fn normal_alert() {
        let req = target().request(&normal());
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://hooks.slack.com/services/T0/B0/X");
        assert_eq!(headers(&req), [JSON]);
        assert_eq!(
            body(&req),
            json!({
                "text": "Korea Utara Uji Coba Senjata Baru (suara · korut-senjata)",
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text":
                        "*<https://www.suara.com/news/2024/01/01/korut|Korea Utara Uji Coba Senjata Baru>*\nPyongyang kembali menguji rudal balistik."}},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text":
                        "Feed: suara · Rule: korut-senjata · Matched: korea utara, senjata"}]},
                ]
            })
        );
    }

    #[test]
    fn nasty_alert_is_escaped_and_within_limits() {
        let v = body(&target().request(&nasty()));
        let section = v["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(section.chars().count() <= BLOCK_MAX);
        assert!(section.starts_with(
            "*<https://ex.id/a?b=1&amp;c=%22x%22|&lt;b&gt;&amp;\"Korea Utara\" @everyone *bold*&lt;/b&gt; 🚀 صاروخ>*\n"
        ));
        assert!(section.ends_with('…'));
        assert!(!section.contains("<script>") && section.contains("&lt;script&gt;"));
        let context = v["blocks"][1]["elements"][0]["text"].as_str().unwrap();
        assert!(context.starts_with("Feed: feed &lt;x&gt; &amp; @channel · Rule: rule_*with*_[marks]"), "{context}");
        assert!(v["text"].as_str().unwrap().starts_with("&lt;b&gt;&amp;"));
    }

    #[test]
    fn a_pipe_cannot_end_the_label() {
        let mut a = normal();
        a.item.title = "A | B > C".into();
        let v = body(&target().request(&a));
        assert!(v["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("*<https://www.suara.com/news/2024/01/01/korut|A ¦ B &gt; C>*"));
    }

    #[test]
    fn huge_title_and_link_stay_within_the_block() {
        let mut a = normal();
        a.item.title = "<&>".repeat(2000);
        a.item.link = Some(format!("https://ex.id/?{}", "a=1&".repeat(450)));
        let v = body(&target().request(&a));
        let section = v["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(section.chars().count() <= BLOCK_MAX);
        assert!(section.starts_with("*&lt;&amp;&gt;") && section.contains("…*\nPyongyang"), "{section}");
    }

    #[test]
    fn digest_uses_blocks_within_limits() {
        let v = body(&digest_request(&target(), &many(200), "d"));
        let blocks = v["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50);
        for s in strings(&v) {
            assert!(s.chars().count() <= BLOCK_MAX);
        }
        assert_eq!(blocks[0]["text"]["text"], "*200 new alerts*");
        assert!(blocks[1]["text"]["text"].as_str().unwrap().starts_with(
            "• <https://www.suara.com/news/uji-coba-rudal-balistik-korea-utara-di-semenanjung-korea-pada-awal-tahun-2024/0?a=1&amp;b=2|Berita nomor 0 tentang senjata &amp; &lt;rudal&gt; 🚀> — suara · korut-senjata\n"
        ));
        let last = blocks.last().unwrap();
        assert_eq!(last["type"], "context");
        assert!(last["elements"][0]["text"].as_str().unwrap().starts_with("…and "));
    }
}
