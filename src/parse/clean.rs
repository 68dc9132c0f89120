//! Text hygiene for what feeds say. Feed text reaches terminals (logs, `pantau items`, the
//! console sink), chat rooms and rules, so every item leaves the parser without control
//! characters or bidi overrides ([`crate::markup::strip`]) and with every field bounded (see
//! the limits in [`crate::model`]).

use std::borrow::Cow;

use crate::markup::strip;
use crate::model::{self, Item, ParsedFeed};

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
