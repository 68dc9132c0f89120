//! The `console` sink: each alert printed on stdout, so pantau is useful before any chat is set up.

use std::io::Write;

use super::Outcome;
use crate::model::{AlertPayload, OutboxAlert};

/// Render an alert as a few readable lines.
pub fn render(p: &AlertPayload) -> String {
    let mut out = format!("[{}] {}\n", p.rule, p.item.title);
    if let Some(link) = &p.item.link {
        out.push_str(&format!("    {link}\n"));
    }
    let date = p.item.published.as_deref().unwrap_or("no date");
    out.push_str(&format!("    feed: {} · {date}\n", p.feed.name));
    out.push_str(&format!("    matched: {}\n", p.matched.join(", ")));
    out
}

/// Print the alert (or `custom`, the sink template's output, on its own line); a closed
/// stdout is a temporary failure (the row stays pending).
pub fn send(alert: &OutboxAlert, custom: Option<&str>) -> Outcome {
    let text = match custom {
        Some(c) => format!("{}\n", c.trim_end_matches('\n')),
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
}
