//! `pantau test-rule`: try a query on text, a file, a feed or the stored history, and show
//! which words made it match.

use std::io::Write;
use std::process::ExitCode;

use unicode_segmentation::UnicodeSegmentation;

use crate::model::Item;
use crate::rules::{self, Document, Match, Rule, RuleOptions};
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
    /// Items stored in the last N days.
    History(u32),
    /// An article page, fetched and extracted.
    Url(String),
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

/// Byte ranges of `text` where the matched terms occur, found again word by word.
pub fn hits(text: &str, m: &Match) -> Vec<(usize, usize)> {
    let words: Vec<(usize, &str, String)> = text
        .split_word_bound_indices()
        .filter(|(_, w)| w.chars().any(char::is_alphanumeric))
        .map(|(i, w)| (i, w, rules::fold(w)))
        .collect();
    let mut out = Vec::new();
    for term in &m.terms {
        if term.starts_with('/') {
            continue;
        }
        let parts: Vec<&str> = term.trim_start_matches(['=', '~']).split_whitespace().collect();
        if parts.is_empty() || parts.len() > words.len() {
            continue;
        }
        for start in 0..=words.len() - parts.len() {
            let all = parts.iter().enumerate().all(|(k, p)| word_matches(p, &words[start + k].2));
            if all {
                let (first, last) = (&words[start], &words[start + parts.len() - 1]);
                out.push((first.0, last.0 + last.1.len()));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn word_matches(pattern: &str, word: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        // Also show clitic and reduplicated forms (senjatanya, senjata2) found by lang = "id".
        return word == pattern
            || word
                .strip_prefix(pattern)
                .is_some_and(|rest| ["nya", "lah", "kah", "pun", "ku", "mu", "2"].contains(&rest));
    }
    crate::config::glob_match(pattern, word)
}

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

/// Print one match: the terms and where they are in the item's fields.
pub fn explain(out: &mut impl Write, m: &Match, fields: &[(&str, &str)]) {
    let _ = writeln!(out, "  matched: {}", m.terms.join(", "));
    for (name, text) in fields {
        let h = hits(text, m);
        for s in snippets(text, &h) {
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
            explain(&mut out, &m, &[("text", text)]);
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
    // Collected first, so results never interleave with the progress bar on a terminal.
    let mut out: Vec<u8> = Vec::new();
    let (mut total, mut matched) = (0usize, 0usize);
    let bar = progress::start("matching", items.size_hint().0 as u64, what);
    for (feed, item) in items {
        total += 1;
        bar.advance(1);
        let doc = item_document(item, feed);
        let Some(m) = rule.matches(&doc) else { continue };
        matched += 1;
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
    fn hits_find_phrases_and_words_case_and_accent_insensitively() {
        let text = "Rusia membeli roket dari KOREA  Utara. Senjatanya banyak; senjata!";
        let rule = Rule::parse(r#""Korea Utara" AND senjata"#, &RuleOptions { lang: Some("id".into()) }).unwrap();
        let m = rule.matches(&text_document(text)).unwrap();
        let h = hits(text, &m);
        let found: Vec<&str> = h.iter().map(|&(a, b)| &text[a..b]).collect();
        assert_eq!(found, ["KOREA  Utara", "Senjatanya", "senjata"]);
        let s = snippets(text, &h);
        assert_eq!(s, ["Rusia membeli roket dari «KOREA Utara». «Senjatanya» banyak; «senjata»!"]);
    }

    #[test]
    fn snippets_are_cut_at_character_boundaries_with_ellipses() {
        let text = format!("{} senjata {}", "é".repeat(100), "ü".repeat(100));
        let h = vec![(text.find("senjata").unwrap(), text.find("senjata").unwrap() + 7)];
        let s = &snippets(&text, &h)[0];
        assert!(s.starts_with('…') && s.ends_with('…') && s.contains("«senjata»"), "{s}");
    }
}
