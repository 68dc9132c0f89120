//! `pantau test-rule`: try a query on text, a file, a feed or the stored history, and show
//! which words made it match.

use std::io::Write;
use std::process::ExitCode;

use crate::model::Item;
use crate::rules::{Document, Match, Rule, RuleOptions};
use crate::service::progress;

/// Where the text to test comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Literal text.
    Text(String),
    /// A text or HTML file.
    File(std::path::PathBuf),
    /// A feed URL or file.
    Feed(String),
    /// Items first seen within this long.
    History(std::time::Duration),
    /// An article page, fetched and extracted.
    Url(String),
}

/// A `--history` span: a number of days (`7`), or a duration as in the config (`12h`, `7d`).
pub fn history_span(value: &str) -> Result<std::time::Duration, String> {
    let value = value.trim();
    if let Ok(days) = value.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(days.saturating_mul(86_400)));
    }
    humantime::parse_duration(value)
        .map_err(|e| format!("{value:?} is neither a number of days nor a duration such as 12h or 7d ({e})"))
}

/// Compile `query` or print its error under a caret; `None` means exit 2.
pub fn compile(query: &str, lang: Option<&str>) -> Option<Rule> {
    let opts = RuleOptions { lang: lang.map(str::to_ascii_lowercase) };
    match Rule::parse(query, &opts) {
        Ok(rule) => {
            for w in rule.warnings() {
                eprintln!("warning: {} (at column {})\n{}", w.message, column(query, w.offset), caret(query, w.offset));
            }
            Some(rule)
        }
        Err(e) => {
            println!(
                "error: invalid rule at column {}: {}\n{}",
                column(query, e.offset),
                e.message,
                caret(query, e.offset)
            );
            None
        }
    }
}

fn column(query: &str, offset: usize) -> usize {
    query.get(..offset.min(query.len())).map_or(1, |s| s.chars().count() + 1)
}

fn caret(query: &str, offset: usize) -> String {
    let pad = " ".repeat(column(query, offset) - 1);
    format!("    {query}\n    {pad}^")
}

/// The document for free text (`--text`, `--file`): matched as title+summary+content.
pub fn text_document(text: &str) -> Document {
    Document::from_text(text)
}

pub use crate::pipeline::item_document;

/// Up to three snippets of `text` around the hits, each hit marked «like this».
pub fn snippets(text: &str, hits: &[(usize, usize)]) -> Vec<String> {
    const CONTEXT: usize = 60;
    let mut out = Vec::new();
    let mut i = 0;
    while i < hits.len() && out.len() < 3 {
        let start = floor(text, hits[i].0.saturating_sub(CONTEXT));
        let mut end = ceil(text, hits[i].1 + CONTEXT);
        let mut j = i;
        // Merge hits whose contexts overlap into one snippet.
        while j + 1 < hits.len() && hits[j + 1].0 < end {
            j += 1;
            end = ceil(text, hits[j].1 + CONTEXT);
        }
        let mut s = String::new();
        if start > 0 {
            s.push('…');
        }
        let mut pos = start;
        for &(a, b) in &hits[i..=j] {
            if a < pos {
                continue;
            }
            s.push_str(&text[pos..a]);
            s.push('«');
            s.push_str(&text[a..b]);
            s.push('»');
            pos = b;
        }
        s.push_str(&text[pos..end]);
        if end < text.len() {
            s.push('…');
        }
        out.push(s.split_whitespace().collect::<Vec<_>>().join(" "));
        i = j + 1;
    }
    out
}

fn floor(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Print one match: the terms and where they are in the item's fields, found by the engine
/// itself, so stems (`~senjata` in "persenjataan"), clitics and wildcards are marked too.
pub fn explain(out: &mut impl Write, rule: &Rule, m: &Match, fields: &[(&str, &str)]) {
    let _ = writeln!(out, "  matched: {}", m.terms.join(", "));
    for (name, text) in fields {
        if text.trim().is_empty() {
            continue;
        }
        let (normalised, ranges) = rule.highlight(name, text);
        for s in snippets(&normalised, &ranges) {
            let _ = writeln!(out, "  {name}: {s}");
        }
    }
}

/// Evaluate a rule against free text; 0 match, 1 none.
pub fn on_text(rule: &Rule, text: &str) -> ExitCode {
    let doc = text_document(text);
    let mut out = std::io::stdout().lock();
    match rule.matches(&doc) {
        Some(m) => {
            let _ = writeln!(out, "MATCH");
            explain(&mut out, rule, &m, &[("text", text)]);
            ExitCode::SUCCESS
        }
        None => {
            let _ = writeln!(out, "no match");
            ExitCode::from(1)
        }
    }
}

/// Evaluate a rule against items; prints the matching ones and a count; 0 when any matched.
pub fn on_items<'a>(rule: &Rule, items: impl Iterator<Item = (&'a str, &'a Item)>, what: &str) -> ExitCode {
    on_stories(rule, items.map(|(feed, item)| (feed, item, None)), what)
}

/// [`on_items`] for stored items with their story ids: also says how many alerts grouping
/// reprints into stories saved (matching copies of a story already matched).
pub fn on_stories<'a>(
    rule: &Rule,
    items: impl Iterator<Item = (&'a str, &'a Item, Option<i64>)>,
    what: &str,
) -> ExitCode {
    // Collected first, so results never interleave with the progress bar on a terminal.
    let mut out: Vec<u8> = Vec::new();
    let (mut total, mut matched) = (0usize, 0usize);
    let mut stories = std::collections::HashSet::new();
    let mut copies = 0usize;
    let bar = progress::start("matching", items.size_hint().0 as u64, what);
    for (feed, item, story) in items {
        total += 1;
        bar.advance(1);
        let doc = item_document(item, feed);
        let Some(m) = rule.matches(&doc) else { continue };
        matched += 1;
        if let Some(story) = story {
            if !stories.insert(story) {
                copies += 1;
            }
        }
        let title = if item.title.is_empty() { "(no title)" } else { &item.title };
        let _ = writeln!(out, "* {title}");
        if !feed.is_empty() {
            let _ = writeln!(out, "  feed: {feed}");
        }
        if let Some(link) = &item.link {
            let _ = writeln!(out, "  link: {link}");
        }
        if let Some(d) = item.date() {
            let _ = writeln!(out, "  date: {}", crate::model::rfc3339(d));
        }
        explain(
            &mut out,
            rule,
            &m,
            &[
                ("title", &item.title),
                ("summary", &item.summary),
                ("content", &item.content),
                ("article", &item.article),
            ],
        );
        let _ = writeln!(out);
    }
    drop(bar);
    let _ = writeln!(out, "{matched} of {total} {what} matched");
    if copies > 0 {
        let _ = writeln!(
            out,
            "story grouping saved {copies} alert(s) per sink: {copies} of the matches were copies of a story already matched ({} stories)",
            stories.len()
        );
    }
    let _ = std::io::stdout().lock().write_all(&out);
    if matched > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_takes_days_or_durations() {
        assert_eq!(history_span("7"), Ok(std::time::Duration::from_secs(7 * 86_400)));
        assert_eq!(history_span("12h"), Ok(std::time::Duration::from_secs(12 * 3600)));
        assert_eq!(history_span("2d"), Ok(std::time::Duration::from_secs(2 * 86_400)));
        assert!(history_span("soon").unwrap_err().contains("neither a number of days"));
    }

    #[test]
    fn highlights_find_phrases_and_words_case_and_accent_insensitively() {
        let text = "Rusia membeli roket dari KOREA  Utara. Senjatanya banyak; senjata!";
        let rule = Rule::parse(r#""Korea Utara" AND senjata"#, &RuleOptions { lang: Some("id".into()) }).unwrap();
        assert!(rule.matches(&text_document(text)).is_some());
        let (norm, h) = rule.highlight("text", text);
        let found: Vec<&str> = h.iter().map(|&(a, b)| &norm[a..b]).collect();
        assert_eq!(found, ["KOREA  Utara", "Senjatanya", "senjata"]);
        let s = snippets(&norm, &h);
        assert_eq!(s, ["Rusia membeli roket dari «KOREA Utara». «Senjatanya» banyak; «senjata»!"]);
    }

    #[test]
    fn highlights_mark_stems_wildcards_and_possessives_the_engine_matched() {
        let rule = Rule::parse("~senjata OR rudal* OR trump", &RuleOptions { lang: Some("id".into()) }).unwrap();
        let text = "Persenjataan baru, rudalnya diuji; kata Trump’s juru bicara. Bersenjata!";
        let (norm, h) = rule.highlight("text", text);
        let found: Vec<&str> = h.iter().map(|&(a, b)| &norm[a..b]).collect();
        assert_eq!(found, ["Persenjataan", "rudalnya", "Trump", "Bersenjata"]);
        // A scoped word is found in its own field only.
        let titled = Rule::parse("title:senjata", &RuleOptions::default()).unwrap();
        assert_eq!(titled.highlight("title", "senjata api").1, [(0, 7)]);
        assert!(titled.highlight("summary", "senjata api").1.is_empty());
    }

    #[test]
    fn snippets_are_cut_at_character_boundaries_with_ellipses() {
        let text = format!("{} senjata {}", "é".repeat(100), "ü".repeat(100));
        let h = vec![(text.find("senjata").unwrap(), text.find("senjata").unwrap() + 7)];
        let s = &snippets(&text, &h)[0];
        assert!(s.starts_with('…') && s.ends_with('…') && s.contains("«senjata»"), "{s}");
    }
}
