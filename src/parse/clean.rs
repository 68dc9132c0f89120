//! Text hygiene for what feeds say. Feed text reaches terminals (logs, `pantau items`, the
//! console sink), chat rooms and rules, so every item leaves the parser without control
//! characters or bidi overrides and with every field bounded (see the limits in
//! [`crate::model`]). [`printable`] is the terminal's own guard for text from anywhere else.

use std::borrow::Cow;

pub use crate::markup::is_unsafe;
use crate::markup::{has_unsafe, Seq};
use crate::model::{self, Item, ParsedFeed};

/// `s` without terminal escape sequences (see `Seq`) and without the other characters that
/// [`is_unsafe`]; a line break (CR LF or a lone CR) becomes one line feed first, so that old
/// Mac line ends still separate words.
pub fn strip(s: &str) -> Cow<'_, str> {
    if !has_unsafe(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut seq = Seq::Text;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if seq.swallow(c) {
            continue;
        }
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            c if is_unsafe(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `s` made safe to print on a terminal: each character that [`is_unsafe`] is shown as an
/// escape (`\x1b`, `\u202e`), so the operator sees that it was there and the terminal acts
/// on none of it. Tabs and line breaks are kept.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !has_unsafe(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c as u32 {
            _ if !is_unsafe(c) => out.push(c),
            n @ 0..=0xFF => out.push_str(&format!("\\x{n:02x}")),
            n => out.push_str(&format!("\\u{n:04x}")),
        }
    }
    Cow::Owned(out)
}

/// [`printable`] on one line: tabs and line breaks become spaces (a table cell, a log field).
pub fn printable_line(s: &str) -> Cow<'_, str> {
    let s = printable(s);
    if s.contains(['\n', '\t']) {
        Cow::Owned(s.replace(['\n', '\t'], " "))
    } else {
        s
    }
}

/// A one-line field (title, author, category): stripped, white space runs made one space
/// again where a stripped character sat between two, then capped at `max` characters.
/// Returns whether it was cut.
fn line(text: &mut String, max: usize) -> bool {
    if let Cow::Owned(clean) = strip(text) {
        *text = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    model::cap_chars(text, max)
}

/// A text field (summary, content): stripped, then capped at [`model::TEXT_LIMIT`] bytes.
/// Returns whether it was cut.
fn text(text: &mut String) -> bool {
    if let Cow::Owned(clean) = strip(text) {
        *text = clean;
    }
    model::cap_bytes(text, model::TEXT_LIMIT)
}

/// A list of one-line names: each cleaned and capped, empty ones dropped, at most `most`.
/// Returns whether anything was cut.
fn names(list: &mut Vec<String>, most: usize) -> bool {
    let mut cut = false;
    for name in list.iter_mut() {
        cut |= line(name, model::NAME_LIMIT);
    }
    list.retain(|n| !n.is_empty());
    cut |= list.len() > most;
    list.truncate(most);
    cut
}

/// An item's text fields cleaned and bounded: no control characters or bidi overrides, the
/// title at most [`model::TITLE_LIMIT`] characters, summary and content at most
/// [`model::TEXT_LIMIT`] bytes, at most [`model::AUTHORS_MAX`] authors and
/// [`model::CATEGORIES_MAX`] categories of [`model::NAME_LIMIT`] characters each. Every cut
/// ends in `…`. The item key is left alone, so that an item keeps the key it always had.
/// Returns whether anything was cut.
pub(crate) fn item(it: &mut Item) -> bool {
    // Every field is cleaned, whatever the ones before it needed.
    let cut = [
        line(&mut it.title, model::TITLE_LIMIT),
        text(&mut it.summary),
        text(&mut it.content),
        names(&mut it.authors, model::AUTHORS_MAX),
        names(&mut it.categories, model::CATEGORIES_MAX),
    ];
    cut.contains(&true)
}

/// Every item of `feed`, and its title, cleaned and bounded as [`item`] says; how many items
/// had a field cut is noted in the feed's recoveries.
pub(crate) fn feed(feed: &mut ParsedFeed) {
    if let Some(title) = &mut feed.title {
        line(title, model::TITLE_LIMIT);
    }
    feed.title = feed.title.take().filter(|t| !t.is_empty());
    let cut = feed.items.iter_mut().map(item).filter(|&cut| cut).count();
    if cut > 0 {
        feed.recoveries.push(format!("cut overlong fields of {cut} item(s)"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markup::OSC_MAX;

    #[test]
    fn strip_drops_controls_and_keeps_line_breaks() {
        assert_eq!(strip("plain\ttext\n"), Cow::Borrowed("plain\ttext\n"));
        assert_eq!(strip("a\r\nb\rc\u{85}d\u{202E}e\u{2066}f"), "a\nb\ncdef");
    }

    #[test]
    fn strip_drops_whole_escape_sequences() {
        assert_eq!(strip("\u{1b}[31mKorea\u{1b}[0m Utara\u{7}"), "Korea Utara");
        assert_eq!(strip("\u{1b}]0;owned\u{7}x \u{1b}]8;;http://e\u{1b}\\link\u{1b}]8;;\u{1b}\\"), "x link");
        assert_eq!(strip("\u{1b}[?25l\u{9b}2Jy \u{1b}[1;31;40mz"), "y z");
        // What does not fit a sequence is text again: markup, a line, a lone ESC.
        assert_eq!(strip("\u{1b}[<b>"), "<b>");
        assert_eq!(strip("\u{1b}]title\nnext"), "\nnext");
        assert_eq!(strip("a\u{1b}b"), "ab");
        let long = format!("\u{1b}]{}", "t".repeat(300));
        assert_eq!(strip(&long), "t".repeat(300 - usize::from(OSC_MAX)));
    }

    #[test]
    fn printable_shows_each_control_as_an_escape() {
        assert_eq!(printable("Korea Utara"), Cow::Borrowed("Korea Utara"));
        assert_eq!(printable("\u{1b}]0;pwned\u{7}x\u{9b}y\u{202e}z\n"), "\\x1b]0;pwned\\x07x\\x9by\\u202ez\n");
        assert_eq!(printable_line("a\tb\nc\u{0}"), "a b c\\x00");
    }

    #[test]
    fn items_are_cleaned_and_bounded() {
        let mut it = Item {
            title: format!("\u{1b}[2J Judul {}", "x".repeat(5_000_000)),
            summary: "ringkas\u{7}\r\nan".into(),
            content: "é".repeat(model::TEXT_LIMIT),
            authors: (0..80).map(|i| format!("Penulis {i} \u{202E}")).chain(["\u{1b}".to_string()]).collect(),
            categories: vec!["a\u{0}b".into(), "k".repeat(300)],
            ..Item::default()
        };
        assert!(item(&mut it));
        assert!(it.title.starts_with("Judul xxx"), "{}", &it.title[..20]);
        assert_eq!(it.title.chars().count(), model::TITLE_LIMIT);
        assert!(it.title.ends_with('…'));
        assert_eq!(it.summary, "ringkas\nan");
        assert!(it.content.len() <= model::TEXT_LIMIT && it.content.ends_with('…'));
        assert_eq!(it.authors.len(), model::AUTHORS_MAX);
        assert_eq!(it.authors[0], "Penulis 0");
        assert_eq!(it.categories[0], "ab");
        assert_eq!(it.categories[1].chars().count(), model::NAME_LIMIT);
        let mut fine = Item { title: "Judul".into(), authors: vec!["A".into()], ..Item::default() };
        assert!(!item(&mut fine));
        assert_eq!(fine, Item { title: "Judul".into(), authors: vec!["A".into()], ..Item::default() });
    }
}
