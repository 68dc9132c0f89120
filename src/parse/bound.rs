//! Bounding the work per document: a feed of 170,000 tiny items fits in 10 MB, and every item
//! that reaches feed-rs becomes an entry of a kilobyte or more. So the items of a document are
//! counted first, with the scanner and without building anything, and when there are more
//! than `max_items` only the newest are left in the document that is parsed: by date when the
//! items carry one, else in document order (feeds list their newest first). What this keeps
//! in memory beyond the document is a few words per item.

use std::cmp::Ordering;
use std::ops::Range;

use chrono::{DateTime, Utc};

use super::dates::parse_date;
use crate::markup::scan::{local, Scanner, Tok};
use crate::model::Item;

/// The note recorded in the recoveries when a document was cut to its newest items.
pub(crate) fn note(kept: usize, found: usize) -> String {
    format!("kept the newest {kept} of {found} items (max_items)")
}

fn is_item(name: &str) -> bool {
    let l = local(name);
    l.eq_ignore_ascii_case("item") || l.eq_ignore_ascii_case("entry")
}

/// The byte range of every `<item>` and `<entry>` element that is not inside another one.
/// An item the document ends in runs to the end.
fn xml_items(doc: &str) -> Vec<Range<usize>> {
    let mut items = Vec::new();
    let mut open: Option<(usize, u32)> = None;
    for (tok, start, end) in Scanner::new(doc) {
        match tok {
            Tok::Start { name, self_closing, .. } if is_item(name) => match (&mut open, self_closing) {
                (None, true) => items.push(start..end),
                (None, false) => open = Some((start, 1)),
                (Some((_, depth)), false) => *depth += 1,
                (Some(_), true) => {}
            },
            Tok::End { name } if is_item(name) => {
                if let Some((from, depth)) = &mut open {
                    *depth -= 1;
                    if *depth == 0 {
                        items.push(*from..end);
                        open = None;
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((from, _)) = open {
        items.push(from..doc.len());
    }
    items
}

/// An XML item's date as [`Item::date`] reads it: published (RSS `pubDate`, Atom `published`,
/// Dublin Core `date`), else updated.
fn xml_date(item: &str) -> Option<DateTime<Utc>> {
    let (mut published, mut updated) = (None, None);
    let mut field: Option<bool> = None;
    for (tok, _, _) in Scanner::new(item) {
        match tok {
            Tok::Start { name, self_closing: false, .. } => {
                let l = local(name);
                let is = |names: &[&str]| names.iter().any(|n| l.eq_ignore_ascii_case(n));
                field = if is(&["pubDate", "published", "issued", "date", "created"]) {
                    Some(true)
                } else if is(&["updated", "modified"]) {
                    Some(false)
                } else {
                    None
                };
            }
            Tok::Text(t) if t.trim().is_empty() => {}
            Tok::Text(t) | Tok::CData { body: t, .. } => {
                let slot = match field.take() {
                    Some(true) => &mut published,
                    Some(false) => &mut updated,
                    None => continue,
                };
                if slot.is_none() {
                    *slot = parse_date(&crate::markup::decode_entities(t));
                }
                if published.is_some() {
                    break;
                }
            }
            _ => field = None,
        }
    }
    published.or(updated)
}

/// Which of `dates` (one per item, in document order) are the `max` newest: dated items by
/// date, newest first, then the undated ones; document order breaks ties.
fn newest(dates: &[Option<DateTime<Utc>>], max: usize) -> Vec<bool> {
    let mut order: Vec<usize> = (0..dates.len()).collect();
    let rank = |a: &usize, b: &usize| -> Ordering {
        match (dates[*a], dates[*b]) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
        .then(a.cmp(b))
    };
    if max < order.len() {
        order.select_nth_unstable_by(max, rank);
    }
    let mut keep = vec![false; dates.len()];
    for &i in order.iter().take(max) {
        keep[i] = true;
    }
    keep
}

/// `doc` with only its `max` newest items, and how many it had; `None` when it has no more
/// than `max` (nothing is copied then).
pub(crate) fn xml(doc: &str, max: usize) -> Option<(String, usize)> {
    // Every item starts at a `<` of its own: a document with no more of them than `max` cannot
    // have too many items, and is not scanned.
    if doc.len() / 7 <= max || memchr::memchr_iter(b'<', doc.as_bytes()).count() <= max {
        return None;
    }
    let items = xml_items(doc);
    if items.len() <= max {
        return None;
    }
    let dates: Vec<_> = items.iter().map(|r| xml_date(&doc[r.clone()])).collect();
    let keep = newest(&dates, max);
    let dropped: usize = items.iter().zip(&keep).filter(|(_, k)| !**k).map(|(r, _)| r.len()).sum();
    let mut out = String::with_capacity(doc.len() - dropped);
    let mut from = 0;
    for (r, _) in items.iter().zip(&keep).filter(|(_, k)| !**k) {
        out.push_str(&doc[from..r.start]);
        from = r.end;
    }
    out.push_str(&doc[from..]);
    Some((out, items.len()))
}

/// The range of the top-level `"items"` array of a JSON document (without its brackets) and
/// the ranges of its elements; `None` when there is no such array or it is not closed.
fn json_items(text: &str) -> Option<(Range<usize>, Vec<Range<usize>>)> {
    let b = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    // The last string that ended at depth 1, and whether a `:` followed it (it was a key).
    let mut key: Option<Range<usize>> = None;
    let mut array: Option<usize> = None;
    let mut elements = Vec::new();
    let mut element: Option<usize> = None;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 && array.is_none() {
                    key = Some(start + 1..i.min(b.len()));
                }
                if array.is_some() && depth == 2 {
                    element.get_or_insert(start);
                }
            }
            b'{' | b'[' => {
                if array.is_some() && depth == 2 {
                    element.get_or_insert(i);
                }
                depth += 1;
                if c == b'['
                    && depth == 2
                    && array.is_none()
                    && key.as_ref().is_some_and(|k| &text[k.clone()] == "items")
                {
                    array = Some(i + 1);
                }
            }
            b'}' | b']' => {
                if let Some(open) = array.filter(|_| depth == 2 && c == b']') {
                    if let Some(s) = element.take() {
                        elements.push(s..trim_end(b, s, i));
                    }
                    return Some((open..i, elements));
                }
                depth = depth.saturating_sub(1);
            }
            b',' if array.is_some() && depth == 2 => {
                if let Some(s) = element.take() {
                    elements.push(s..trim_end(b, s, i));
                }
            }
            b':' if depth == 1 => {}
            b',' if depth == 1 => key = None,
            c if !c.is_ascii_whitespace() && array.is_some() && depth == 2 => {
                element.get_or_insert(i);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The end of `b[start..end]` without trailing white space.
fn trim_end(b: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    end
}

/// A JSON Feed item's date: `date_published`, else `date_modified`.
fn json_date(item: &str) -> Option<DateTime<Utc>> {
    #[derive(serde::Deserialize)]
    struct Dates {
        date_published: Option<String>,
        date_modified: Option<String>,
    }
    let d: Dates = serde_json::from_str(item).ok()?;
    d.date_published.as_deref().and_then(parse_date).or_else(|| d.date_modified.as_deref().and_then(parse_date))
}

/// A JSON Feed with only the `max` newest elements of its `items` array, and how many it had;
/// `None` when it has no more than `max`, or no `items` array the scanner can find.
pub(crate) fn json(text: &str, max: usize) -> Option<(String, usize)> {
    let (array, items) = json_items(text)?;
    if items.len() <= max {
        return None;
    }
    let dates: Vec<_> = items.iter().map(|r| json_date(&text[r.clone()])).collect();
    let keep = newest(&dates, max);
    let kept: usize = items.iter().zip(&keep).filter(|(_, k)| **k).map(|(r, _)| r.len() + 1).sum();
    let mut out = String::with_capacity(text.len() - array.len() + kept);
    out.push_str(&text[..array.start]);
    for (n, (r, _)) in items.iter().zip(&keep).filter(|(_, k)| **k).enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&text[r.clone()]);
    }
    out.push_str(&text[array.end..]);
    Some((out, items.len()))
}

/// Keep the `max` newest of `items` (in their order), as [`xml`] does with a document; returns
/// how many there were when some were dropped.
pub(crate) fn items(items: &mut Vec<Item>, max: usize) -> Option<usize> {
    let found = items.len();
    if found <= max {
        return None;
    }
    let dates: Vec<_> = items.iter().map(Item::date).collect();
    let mut keep = newest(&dates, max).into_iter();
    items.retain(|_| keep.next().unwrap_or(false));
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(doc: &str) -> Vec<String> {
        doc.split("<title>").skip(1).map(|s| s.split('<').next().unwrap_or("").to_string()).collect()
    }

    #[test]
    fn xml_items_are_counted_without_their_nested_markup() {
        let doc = "<rss><channel><title>c</title><item><title>a</title><entry>x</entry></item>\
                   <ITEM/><a:entry><b/></a:entry><item><title>cut";
        let items = xml_items(doc);
        let texts: Vec<&str> = items.iter().map(|r| &doc[r.clone()]).collect();
        assert_eq!(
            texts,
            ["<item><title>a</title><entry>x</entry></item>", "<ITEM/>", "<a:entry><b/></a:entry>", "<item><title>cut"]
        );
        assert!(xml(doc, 4).is_none(), "at the limit nothing is copied");
    }

    #[test]
    fn the_newest_items_are_kept_by_date_else_in_document_order() {
        let item = |t: &str, date: &str| format!("<item><title>{t}</title>{date}</item>");
        let doc = format!(
            "<rss><channel><title>c</title>{}{}{}{}{}</channel></rss>",
            item("undated", ""),
            item("old", "<pubDate>Mon, 01 Jan 2024 10:00:00 +0000</pubDate>"),
            item("new", "<dc:date>2025-06-01T00:00:00Z</dc:date>"),
            item("updated", "<updated><![CDATA[2025-01-01T00:00:00Z]]></updated>"),
            item("later undated", ""),
        );
        let (cut, found) = xml(&doc, 2).unwrap();
        assert_eq!(found, 5);
        assert_eq!(titles(&cut), ["c", "new", "updated"], "{cut}");
        assert!(cut.ends_with("</channel></rss>"));
        let (cut, _) = xml(&doc, 4).unwrap();
        assert_eq!(titles(&cut), ["c", "undated", "old", "new", "updated"], "{cut}");
        let undated = "<feed><entry><title>1</title></entry><entry><title>2</title></entry><entry><title>3</title></entry></feed>";
        assert_eq!(titles(&xml(undated, 2).unwrap().0), ["1", "2"]);
    }

    #[test]
    fn json_feed_items_are_cut_to_the_newest() {
        let text = r#"{"version":"https://jsonfeed.org/version/1.1","title":"j, [x]","items" : [
            {"id":"1","title":"a \"]\" b","date_published":"2024-01-01T00:00:00Z"} ,
            {"id":"2","tags":["x,y"],"date_modified":"2025-01-01T00:00:00Z"},
            {"id":"3","date_published":"2025-06-01T00:00:00Z"}, "junk"
        ], "after": {"items": [1, 2, 3, 4, 5]}}"#;
        let (cut, found) = json(text, 2).unwrap();
        assert_eq!(found, 4);
        let v: serde_json::Value = serde_json::from_str(&cut).unwrap_or_else(|e| panic!("{e}: {cut}"));
        let ids: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["2", "3"]);
        assert_eq!(v["after"]["items"].as_array().unwrap().len(), 5);
        assert_eq!(v["title"], "j, [x]");
        assert!(json(text, 4).is_none());
        assert!(json(r#"{"items":[{"id":"1"},{"id":"2"}"#, 1).is_none(), "not closed: left to the repairs");
        assert!(json(r#"{"entries":[1,2,3]}"#, 1).is_none());
    }

    #[test]
    fn parsed_items_are_cut_the_same_way() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc));
        let mut list: Vec<Item> = ["x", "y", "z"]
            .iter()
            .zip([None, at("2024-01-01T00:00:00Z"), at("2025-01-01T00:00:00Z")])
            .map(|(t, d)| Item { title: t.to_string(), published: d, ..Item::default() })
            .collect();
        assert_eq!(items(&mut list, 3), None);
        assert_eq!(items(&mut list, 2), Some(3));
        assert_eq!(list.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(), ["y", "z"]);
    }
}
