//! Mattermost incoming webhooks: `{"text"}` in Markdown, at most 16,383 characters. Feed
//! text is backslash-escaped, `@` defanged (so `@channel` or `@all` in a headline cannot
//! notify) and `<`, `>` written as entities: Mattermost turns Slack's `<!channel>`, `<!here>`,
//! `<!all>`, `<@id>` and `<url|label>` in a webhook's text into mentions and masked links before
//! rendering, so feed text must never carry a `<`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::chat::{SecretUrl, digest_heading, Chat, Fields, HttpRequest, Method};
use super::template::Escaper;
use super::text::{self, escape_mattermost as esc, Unit};
use super::{Configured, Transport, Key, Keys, Service, Type};
use crate::model::AlertPayload;

/// The `mattermost` sink type: `url` (the incoming-webhook URL).
pub static TYPE: Type = Type { name: "mattermost", keys: &[Key::text("url")], configure };

fn configure(keys: &mut dyn Keys) -> Configured {
    Configured::new(Mattermost { url: keys.required_url("webhook url").into() })
}

/// A configured Mattermost sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Mattermost {
    /// The webhook URL (a secret).
    pub url: SecretUrl,
}

impl Service for Mattermost {
    fn kind(&self) -> &'static str {
        "mattermost"
    }

    fn transport(&self) -> Transport<'_> {
        Transport::Chat(Arc::new(self.clone()))
    }

    fn default_interval(&self) -> Duration {
        Duration::from_millis(100)
    }

    fn template_escaper(&self) -> Escaper {
        text::escape_mattermost
    }
}

impl Chat for Mattermost {
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

/// Most characters in a post.
const TEXT_MAX: usize = 16_383;

/// `**[title](link)**`, or the bold title when there is no link.
fn linked(f: &Fields) -> String {
    match &f.link {
        Some(link) => format!("**[{}]({link})**", esc(&f.title)),
        None => format!("**{}**", esc(&f.title)),
    }
}

/// The request carrying `text`.
fn send(url: &str, text: String) -> HttpRequest {
    HttpRequest::json(Method::Post, url.to_string(), vec![], &json!({ "text": text }))
}

/// The request for one alert.
pub(super) fn request(url: &str, f: &Fields) -> HttpRequest {
    let mut text = format!("{}\nFeed: {} · Rule: {}", linked(f), esc(&f.feed), esc(&f.rule));
    if !f.matched.is_empty() {
        text.push_str(&format!("\nMatched: {}", esc(&f.matched)));
    }
    if !f.summary.is_empty() {
        let room = TEXT_MAX.saturating_sub(Unit::Chars.len(&text) + 2);
        let summary = text::fit(&f.summary, room, |s| Unit::Chars.len(&esc(s)));
        if !summary.is_empty() {
            text.push_str(&format!("\n\n{}", esc(&summary)));
        }
    }
    send(url, text)
}

/// The request carrying a sink template's output (Markdown).
pub(super) fn custom(url: &str, message: &str) -> HttpRequest {
    send(url, text::cut(message, TEXT_MAX, Unit::Chars))
}

/// A digest: a bold heading, a list of linked titles with feed and rule, "…and N more".
pub(super) fn digest(url: &str, alerts: &[Fields]) -> HttpRequest {
    let mut text = format!("**{}**", digest_heading(alerts.len()));
    let lines: Vec<String> = alerts
        .iter()
        .map(|f| {
            let title = esc(&f.title);
            let title = match &f.link {
                Some(link) => format!("[{title}]({link})"),
                None => title,
            };
            format!("\n- {title} — {} · {}", esc(&f.feed), esc(&f.rule))
        })
        .collect();
    let costs: Vec<usize> = lines.iter().map(|l| Unit::Chars.len(l)).collect();
    let budget = TEXT_MAX - Unit::Chars.len(&text);
    let kept = text::pack(&costs, budget, |n| Unit::Chars.len(&text::and_more(n)) + 2);
    for l in &lines[..kept] {
        text.push_str(l);
    }
    if kept < lines.len() {
        text.push_str(&format!("\n\n{}", text::and_more(lines.len() - kept)));
    }
    send(url, text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{body, headers, many, nasty, normal, JSON};
    use super::super::chat::{digest_request, Method, Target};
    use super::super::tests::chat;
    use super::TEXT_MAX;

    fn target() -> Target {
        chat(super::Mattermost { url: "https://mm.ex.id/hooks/abc".into() })
    }

    #[test]
    fn normal_alert() {
        let req = target().request(&normal());
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://mm.ex.id/hooks/abc");
        assert_eq!(headers(&req), [JSON]);
        assert_eq!(
            body(&req),
            json!({"text": "**[Korea Utara Uji Coba Senjata Baru](https://www.suara.com/news/2024/01/01/korut)**\n\
                            Feed: suara · Rule: korut-senjata\nMatched: korea utara, senjata\n\n\
                            Pyongyang kembali menguji rudal balistik."})
        );
    }

    #[test]
    fn nasty_alert_is_escaped_and_within_limits() {
        let v = body(&target().request(&nasty()));
        let text = v["text"].as_str().unwrap();
        assert!(text.chars().count() <= TEXT_MAX);
        assert!(
            text.starts_with(
                "**[&lt;b&gt;&\"Korea Utara\" @\u{200B}everyone \\*bold\\*&lt;/b&gt; 🚀 صاروخ](https://ex.id/a?b=1&c=%22x%22)**\n\
             Feed: feed &lt;x&gt; & @\u{200B}channel · Rule: rule\\_\\*with\\*\\_\\[marks\\]\n"
            ),
            "{text}"
        );
        assert!(text.ends_with('…'));
        assert!(!text.contains("@here"));
    }

    /// What a Mattermost server makes of an incoming webhook's text before rendering it: the
    /// Slack forms `<!channel>`, `<!here>`, `<!all>` become mentions, `<url|label>` a link.
    fn as_the_server_reads_it(text: &str) -> String {
        let mut text = text.to_string();
        for (slack, mention) in [("<!channel>", "@channel"), ("<!here>", "@here"), ("<!all>", "@all")] {
            text = text.replace(slack, mention);
        }
        let masked = regex::Regex::new(r"<([^\n<|>]+)\|([^|\n>]+)>").unwrap();
        masked.replace_all(&text, "[$2]($1)").into_owned()
    }

    /// Feed text built to ping the channel and plant a masked link in every field.
    fn hostile() -> crate::model::AlertPayload {
        let mut a = normal();
        a.item.title = "<!channel> Login <http://evil.example/login|your bank> <!here> @all".into();
        a.item.summary = "<!all> see <https://evil.example/x|the report> <@u1d> @here".into();
        a.feed.name = "<!here> feed".into();
        a.rule = "rule <!channel>".into();
        a.matched = vec!["<!all>".into(), "<http://evil.example/|x>".into()];
        a
    }

    fn assert_inert(text: &str) {
        let read = as_the_server_reads_it(text);
        assert_eq!(read, text, "the server rewrote something: {read}");
        for mention in ["@channel", "@here", "@all"] {
            assert!(!read.contains(mention), "{mention} in {read}");
        }
        assert!(!read.contains('<') && !read.contains('>'), "{read}");
    }

    #[test]
    fn announcements_and_masked_links_in_feed_text_stay_text() {
        let text = body(&target().request(&hostile()))["text"].as_str().unwrap().to_string();
        assert_inert(&text);
        assert!(
            text.starts_with(
                "**[&lt;!channel&gt; Login &lt;http://evil.example/login\\|your bank&gt; &lt;!here&gt; @\u{200B}all]\
                 (https://www.suara.com/news/2024/01/01/korut)**\n\
                 Feed: &lt;!here&gt; feed · Rule: rule &lt;!channel&gt;\n\
                 Matched: &lt;!all&gt;, &lt;http://evil.example/\\|x&gt;\n\n\
                 &lt;!all&gt; see &lt;https://evil.example/x\\|the report&gt; &lt;@\u{200B}u1d&gt; @\u{200B}here"
            ),
            "{text}"
        );
        let digest =
            body(&digest_request(&target(), &[hostile(), hostile()], "d"))["text"].as_str().unwrap().to_string();
        assert_inert(&digest);
        assert_eq!(digest.matches("](https://www.suara.com/").count(), 2, "{digest}");
    }

    #[test]
    fn entities_in_feed_text_show_as_written() {
        let mut a = normal();
        a.item.title = "A & B &amp; C &#60;x&#x3E; &lt".into();
        let text = body(&target().request(&a))["text"].as_str().unwrap().to_string();
        assert!(text.starts_with("**[A & B &amp;amp; C &amp;\\#60;x&amp;\\#x3E; &lt](https://"), "{text}");
    }

    #[test]
    fn template_values_cannot_ping_either() {
        let esc = target().template_escaper();
        assert_eq!(esc("<!channel> <a|b>"), "&lt;!channel&gt; &lt;a\\|b&gt;");
    }

    #[test]
    fn digest_fits() {
        let v = body(&digest_request(&target(), &many(200), "d"));
        let text = v["text"].as_str().unwrap();
        assert!(text.chars().count() <= TEXT_MAX);
        assert!(text.starts_with(
            "**200 new alerts**\n- [Berita nomor 0 tentang senjata & &lt;rudal&gt; 🚀](https://www.suara.com/news/uji-coba-rudal-balistik-korea-utara-di-semenanjung-korea-pada-awal-tahun-2024/0?a=1&b=2) — suara · korut-senjata\n"
        ));
        assert!(text.lines().last().unwrap().starts_with("…and "));
    }
}
