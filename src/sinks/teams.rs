//! Microsoft Teams (Workflows webhooks): a message carrying one Adaptive Card 1.4 of
//! TextBlocks and an "Open" action. The whole body stays under 28 KB (Teams answers 413
//! beyond). TextBlocks render a Markdown subset (bold, italic, lists, `[label](url)` links), so
//! feed text is backslash-escaped in every block: a headline cannot plant a masked link, start
//! a list or break the digest's own `[title](link)`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::chat::{SecretUrl, digest_heading, Chat, Fields, HttpRequest, Method};
use super::template::Escaper;
use super::text::{self, escape_markdown as esc};
use super::{Configured, Transport, Key, Keys, Service, Type};
use crate::model::AlertPayload;

/// The `teams` sink type: `url` (the incoming-webhook URL).
pub static TYPE: Type = Type { name: "teams", keys: &[Key::text("url")], configure };

fn configure(keys: &mut dyn Keys) -> Configured {
    Configured::new(Teams { url: keys.required_url("webhook url").into() })
}

/// A configured Teams sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Teams {
    /// The webhook URL (a secret).
    pub url: SecretUrl,
}

impl Service for Teams {
    fn kind(&self) -> &'static str {
        "teams"
    }

    fn transport(&self) -> Transport<'_> {
        Transport::Chat(Arc::new(self.clone()))
    }

    fn default_interval(&self) -> Duration {
        Duration::from_millis(100)
    }

    fn template_escaper(&self) -> Escaper {
        text::escape_markdown
    }
}

impl Chat for Teams {
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

/// Most bytes of the request body.
const BODY_MAX: usize = 27 * 1024;

/// A TextBlock.
fn block(text: &str) -> Value {
    json!({"type": "TextBlock", "text": text, "wrap": true})
}

/// The message carrying a card of `body` blocks, with an "Open" action when there is a link.
fn message(body: Vec<Value>, link: Option<&str>) -> Value {
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if let Some(link) = link {
        card["actions"] = json!([{"type": "Action.OpenUrl", "title": "Open", "url": link}]);
    }
    json!({
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
    })
}

/// The request carrying `msg`.
fn send(url: &str, msg: &Value) -> HttpRequest {
    HttpRequest::json(Method::Post, url.to_string(), vec![], msg)
}

/// The request for one alert.
pub(super) fn request(url: &str, f: &Fields) -> HttpRequest {
    let mut blocks = vec![
        json!({"type": "TextBlock", "text": esc(&f.title), "weight": "Bolder", "size": "Medium", "wrap": true}),
        json!({"type": "TextBlock", "text": format!("Feed: {} · Rule: {}", esc(&f.feed), esc(&f.rule)), "isSubtle": true, "spacing": "None", "wrap": true}),
    ];
    if !f.matched.is_empty() {
        blocks.push(block(&format!("Matched: {}", esc(&f.matched))));
    }
    let link = f.link.as_deref();
    if !f.summary.is_empty() {
        // The summary's block adds its JSON-escaped text to the card without it.
        let with_empty = {
            let mut b = blocks.clone();
            b.push(block(""));
            message(b, link).to_string().len()
        };
        let summary = text::fit(&f.summary, BODY_MAX, |s| with_empty + text::json_len(&esc(s)));
        if !summary.is_empty() {
            blocks.push(block(&esc(&summary)));
        }
    }
    send(url, &message(blocks, link))
}

/// The request carrying a sink template's output (Markdown) in one TextBlock.
pub(super) fn custom(url: &str, markdown: &str) -> HttpRequest {
    let body = text::fit(markdown, BODY_MAX, text::json_len);
    send(url, &message(vec![block(&body)], None))
}

/// A digest: a heading block, one block per alert (`[title](link) — feed · rule`), then
/// "…and N more".
pub(super) fn digest(url: &str, alerts: &[Fields]) -> HttpRequest {
    let heading = json!({"type": "TextBlock", "text": digest_heading(alerts.len()), "weight": "Bolder", "size": "Medium", "wrap": true});
    let lines: Vec<Value> = alerts
        .iter()
        .map(|f| {
            let title = match &f.link {
                Some(link) => format!("[{}]({link})", esc(&f.title)),
                None => esc(&f.title),
            };
            json!({"type": "TextBlock", "text": format!("{title} — {} · {}", esc(&f.feed), esc(&f.rule)), "spacing": "None", "wrap": true})
        })
        .collect();
    let base = message(vec![heading.clone()], None).to_string().len();
    let costs: Vec<usize> = lines.iter().map(|l| l.to_string().len() + 1).collect();
    let kept = text::pack(&costs, BODY_MAX - base, |n| block(&text::and_more(n)).to_string().len() + 1);
    let mut blocks = vec![heading];
    blocks.extend_from_slice(&lines[..kept]);
    if kept < lines.len() {
        blocks.push(block(&text::and_more(lines.len() - kept)));
    }
    send(url, &message(blocks, None))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{body, headers, many, nasty, normal, JSON, NASTY_TITLE};
    use super::super::chat::{digest_request, Method, Target};
    use super::super::tests::chat;
    use super::BODY_MAX;

    fn target() -> Target {
        chat(super::Teams {
            url: "https://prod.westus.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=S".into(),
        })
    }

    #[test]
    fn normal_alert() {
        let req = target().request(&normal());
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://prod.westus.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=S");
        assert_eq!(headers(&req), [JSON]);
        assert_eq!(
            body(&req),
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "text": "Korea Utara Uji Coba Senjata Baru", "weight": "Bolder", "size": "Medium", "wrap": true},
                            {"type": "TextBlock", "text": "Feed: suara · Rule: korut-senjata", "isSubtle": true, "spacing": "None", "wrap": true},
                            {"type": "TextBlock", "text": "Matched: korea utara, senjata", "wrap": true},
                            {"type": "TextBlock", "text": "Pyongyang kembali menguji rudal balistik.", "wrap": true},
                        ],
                        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://www.suara.com/news/2024/01/01/korut"}],
                    },
                }],
            })
        );
    }

    #[test]
    fn nasty_alert_within_limits() {
        let req = target().request(&nasty());
        assert!(req.body.len() < BODY_MAX);
        let v = body(&req);
        let card = &v["attachments"][0]["content"];
        assert_eq!(card["body"][0]["text"], super::esc(NASTY_TITLE));
        assert_eq!(card["body"][0]["text"], "<b>&\"Korea Utara\" @\u{200B}everyone \\*bold\\*</b> 🚀 صاروخ");
        assert_eq!(card["actions"][0]["url"], "https://ex.id/a?b=1&c=%22x%22");
        assert!(card["body"][3]["text"].as_str().unwrap().ends_with('…'));
    }

    /// The `[label](url)` links a Markdown renderer finds in `text`, backslash escapes honoured.
    fn links(text: &str) -> Vec<(String, String)> {
        let c: Vec<char> = text.chars().collect();
        let escaped = |i: usize| i > 0 && c[..i].iter().rev().take_while(|&&b| b == '\\').count() % 2 == 1;
        let mut out = vec![];
        for open in (0..c.len()).filter(|&i| c[i] == '[' && !escaped(i)) {
            let Some(close) = (open + 1..c.len()).find(|&i| c[i] == ']' && !escaped(i)) else { continue };
            if c.get(close + 1) != Some(&'(') {
                continue;
            }
            let Some(end) = (close + 2..c.len()).find(|&i| c[i] == ')' && !escaped(i)) else { continue };
            out.push((c[open + 1..close].iter().collect(), c[close + 2..end].iter().collect()));
        }
        out
    }

    /// An alert whose feed text is Markdown: a masked link, emphasis, a list, a numbered list.
    fn markdown_alert() -> crate::model::AlertPayload {
        let mut a = normal();
        a.item.title = "[Login to bank](http://evil.example/login) **now**".into();
        a.item.summary = "1. Step one: [verify](http://evil.example/v) _here_".into();
        a.feed.name = "- feed [x](http://evil.example/f)".into();
        a.rule = "rule](http://evil.example/r)".into();
        a.matched = vec!["[m](http://evil.example/m)".into()];
        a
    }

    #[test]
    fn markdown_in_feed_text_is_shown_not_rendered() {
        let v = body(&target().request(&markdown_alert()));
        let blocks = v["attachments"][0]["content"]["body"].as_array().unwrap().clone();
        for b in &blocks {
            let text = b["text"].as_str().unwrap();
            assert_eq!(links(text), vec![], "{text}");
        }
        assert_eq!(blocks[0]["text"], "\\[Login to bank\\]\\(http://evil.example/login\\) \\*\\*now\\*\\*");
        assert_eq!(
            blocks[1]["text"],
            "Feed: \\- feed \\[x\\]\\(http://evil.example/f\\) · Rule: rule\\]\\(http://evil.example/r\\)"
        );
        assert_eq!(blocks[3]["text"], "1\\. Step one: \\[verify\\]\\(http://evil.example/v\\) \\_here\\_");
    }

    #[test]
    fn a_digest_links_each_title_to_its_own_link_only() {
        let mut plain = normal();
        plain.item.link = None;
        plain.item.title = "2024. [x](http://evil.example/p)".into();
        let v = body(&digest_request(&target(), &[markdown_alert(), plain], "d"));
        let blocks = v["attachments"][0]["content"]["body"].as_array().unwrap().clone();
        let line = blocks[1]["text"].as_str().unwrap();
        assert_eq!(
            links(line),
            vec![(
                "\\[Login to bank\\]\\(http://evil.example/login\\) \\*\\*now\\*\\*".to_string(),
                "https://www.suara.com/news/2024/01/01/korut".to_string()
            )],
            "{line}"
        );
        assert_eq!(links(blocks[2]["text"].as_str().unwrap()), vec![]);
        assert!(blocks[2]["text"].as_str().unwrap().starts_with("2024\\. \\[x\\]"), "{}", blocks[2]["text"]);
    }

    #[test]
    fn a_huge_summary_fills_the_card_exactly_to_the_limit() {
        let mut a = normal();
        a.item.summary = "\"quoted\" ".repeat(10_000);
        // Fields cap the summary first; lift the cap by calling the renderer directly.
        let mut f = super::super::text::Fields::of(&a);
        f.summary = a.item.summary.clone();
        let req = super::request("https://t.example/x", &f);
        assert!(req.body.len() <= BODY_MAX, "{}", req.body.len());
        assert!(req.body.len() > BODY_MAX - 20, "{}", req.body.len());
    }

    #[test]
    fn digest_fits() {
        let req = digest_request(&target(), &many(200), "d");
        assert!(req.body.len() <= BODY_MAX);
        let v = body(&req);
        let blocks = v["attachments"][0]["content"]["body"].as_array().unwrap();
        assert_eq!(blocks[0]["text"], "200 new alerts");
        assert_eq!(
            blocks[1]["text"],
            "[Berita nomor 0 tentang senjata & <rudal> 🚀](https://www.suara.com/news/uji-coba-rudal-balistik-korea-utara-di-semenanjung-korea-pada-awal-tahun-2024/0?a=1&b=2) — suara · korut-senjata"
        );
        assert!(blocks.last().unwrap()["text"].as_str().unwrap().starts_with("…and "));
        assert!(v["attachments"][0]["content"].get("actions").is_none());
    }
}
