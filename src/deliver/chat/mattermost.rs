//! Mattermost incoming webhooks: `{"text"}` in Markdown, feed text backslash-escaped and
//! `@` defanged (so `@channel` or `@all` in a headline cannot notify), at most 16,383
//! characters.

use serde_json::json;

use super::text::{self, escape_markdown, Fields, Unit};
use super::{digest_heading, HttpRequest, Method};

/// Most characters in a post.
const TEXT_MAX: usize = 16_383;

/// `**[title](link)**`, or the bold title when there is no link.
fn linked(f: &Fields) -> String {
    match &f.link {
        Some(link) => format!("**[{}]({link})**", escape_markdown(&f.title)),
        None => format!("**{}**", escape_markdown(&f.title)),
    }
}

/// The request carrying `text`.
fn send(url: &str, text: String) -> HttpRequest {
    HttpRequest::json(Method::Post, url.to_string(), vec![], &json!({ "text": text }))
}

/// The request for one alert.
pub(super) fn request(url: &str, f: &Fields) -> HttpRequest {
    let mut text = format!("{}\nFeed: {} · Rule: {}", linked(f), escape_markdown(&f.feed), escape_markdown(&f.rule));
    if !f.matched.is_empty() {
        text.push_str(&format!("\nMatched: {}", escape_markdown(&f.matched)));
    }
    if !f.summary.is_empty() {
        let room = TEXT_MAX.saturating_sub(Unit::Chars.len(&text) + 2);
        let summary = text::fit(&f.summary, room, |s| Unit::Chars.len(&escape_markdown(s)));
        if !summary.is_empty() {
            text.push_str(&format!("\n\n{}", escape_markdown(&summary)));
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
            let title = escape_markdown(&f.title);
            let title = match &f.link {
                Some(link) => format!("[{title}]({link})"),
                None => title,
            };
            format!("\n- {title} — {} · {}", escape_markdown(&f.feed), escape_markdown(&f.rule))
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
    use super::super::{digest_request, Method, Target};
    use super::TEXT_MAX;

    fn target() -> Target {
        Target::Mattermost { url: "https://mm.ex.id/hooks/abc".into() }
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
                "**[<b>&\"Korea Utara\" @\u{200B}everyone \\*bold\\*</b> 🚀 صاروخ](https://ex.id/a?b=1&c=%22x%22)**\n\
             Feed: feed <x> & @\u{200B}channel · Rule: rule\\_\\*with\\*\\_\\[marks\\]\n"
            ),
            "{text}"
        );
        assert!(text.ends_with('…'));
        assert!(!text.contains("@here"));
    }

    #[test]
    fn digest_fits() {
        let v = body(&digest_request(&target(), &many(200), "d"));
        let text = v["text"].as_str().unwrap();
        assert!(text.chars().count() <= TEXT_MAX);
        assert!(text.starts_with(
            "**200 new alerts**\n- [Berita nomor 0 tentang senjata & <rudal> 🚀](https://www.suara.com/news/uji-coba-rudal-balistik-korea-utara-di-semenanjung-korea-pada-awal-tahun-2024/0?a=1&b=2) — suara · korut-senjata\n"
        ));
        assert!(text.lines().last().unwrap().starts_with("…and "));
    }
}
