//! The `console` sink: each alert printed on stdout, so pantau is useful before any chat is set up.

use std::io::Write;

use super::Outcome;
use crate::markup::{printable, printable_line};
use crate::model::{AlertPayload, OutboxAlert};

/// Render an alert as a few readable lines. Every value is shown on its line with control
/// characters as escapes (`\x1b`), so feed text cannot act on the terminal.
pub fn render(p: &AlertPayload) -> String {
    let mut out = format!("[{}] {}\n", printable_line(&p.rule), printable_line(&p.item.title));
    if let Some(link) = &p.item.link {
        out.push_str(&format!("    {}\n", printable_line(link)));
    }
    let date = p.item.published.as_deref().unwrap_or("no date");
    out.push_str(&format!("    feed: {} · {}\n", printable_line(&p.feed.name), printable_line(date)));
    out.push_str(&format!("    matched: {}\n", printable_line(&p.matched.join(", "))));
    out
}

/// Print the alert (or `custom`, the sink template's output, on its own line, control
/// characters as escapes); a closed stdout is a temporary failure (the row stays pending).
pub fn send(alert: &OutboxAlert, custom: Option<&str>) -> Outcome {
    let text = match custom {
        Some(c) => format!("{}\n", printable(c.trim_end_matches('\n'))),
        None => match serde_json::from_str::<AlertPayload>(&alert.payload) {
            Ok(p) => render(&p),
            Err(e) => return Outcome::Dead(format!("stored payload is not valid: {e}")),
        },
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Outcome::Delivered,
        Err(e) => Outcome::Retry { after: None, error: format!("cannot write to stdout: {e}") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PayloadFeed, PayloadItem};

    #[test]
    fn console_lines_show_rule_title_link_feed_and_terms() {
        let p = AlertPayload {
            id: "x".into(),
            rule: "korut".into(),
            feed: PayloadFeed { name: "world".into(), url: "https://e.id/rss".into() },
            item: PayloadItem {
                id: "1".into(),
                title: "Judul".into(),
                link: Some("https://e.id/1".into()),
                published: None,
                summary: String::new(),
                authors: vec![],
                article: false,
            },
            matched: vec!["korea utara".into(), "senjata".into()],
            created_at: "2026-01-01T00:00:00Z".into(),
            matched_in: Default::default(),
        };
        assert_eq!(
            render(&p),
            "[korut] Judul\n    https://e.id/1\n    feed: world · no date\n    matched: korea utara, senjata\n"
        );
    }

    #[test]
    fn feed_text_cannot_act_on_the_terminal() {
        let p = AlertPayload {
            id: "x".into(),
            rule: "r".into(),
            feed: PayloadFeed { name: "f\u{7}".into(), url: "https://e.id/rss".into() },
            item: PayloadItem {
                id: "1".into(),
                title: "\u{1b}]0;owned\u{7}\u{1b}[2JJudul\nbaru\u{202e}".into(),
                link: Some("https://e.id/\u{1b}[8m".into()),
                published: None,
                summary: String::new(),
                authors: vec![],
                article: false,
            },
            matched: vec!["\u{9b}31m".into()],
            created_at: "2026-01-01T00:00:00Z".into(),
            matched_in: Default::default(),
        };
        assert_eq!(
            render(&p),
            "[r] \\x1b]0;owned\\x07\\x1b[2JJudul baru\\u202e\n    https://e.id/\\x1b[8m\n    feed: f\\x07 · no date\n    \
             matched: \\x9b31m\n"
        );
    }
}
