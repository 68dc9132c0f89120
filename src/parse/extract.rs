//! The last resort: a tolerant scanner that finds items in documents no parser accepts.
//!
//! XML: `<item>`/`<entry>` blocks in any case and under any prefix, with their title, link
//! (text, `href`, or the item's own `href`/`rdf:about`), guid/id, dates, description/summary,
//! content, authors and categories; items with nothing readable (no title, link, summary or
//! content) are dropped. JSON: the `items` array of anything shaped like a JSON
//! Feed. Work is linear in the input; items (at `max_items`) and field sizes are capped.

use serde_json::Value;
use url::Url;

use super::dates::parse_date;
use super::{absolute, item_key, one_line, reduce};
use crate::markup;
use crate::markup::scan::{attr, local, Scanner, Tok};
use crate::model::{Item, ParsedFeed};

/// Field text beyond this many bytes is cut before it is reduced to plain text.
const MAX_FIELD: usize = 512 * 1024;
/// Open elements tracked; deeper markup is skipped over.
const MAX_DEPTH: usize = 1024;
/// How far down the stack an end tag may close elements left open.
const MAX_UNWIND: usize = 64;

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Other,
    Item,
    Field,
    FeedField,
}

struct Frame<'a> {
    lname: String,
    attrs: &'a str,
    content_start: usize,
    role: Role,
}

struct Field<'a> {
    lname: String,
    attrs: &'a str,
    inner: &'a str,
}

struct OpenItem<'a> {
    depth: usize,
    attrs: &'a str,
    fields: Vec<Field<'a>>,
}

const ROOTS: [&str; 4] = ["rss", "rdf", "feed", "channel"];

/// Items of an XML document read without a parser, or `None` when the document shows no sign
/// of being a feed (no feed root element and no item with a title or link). Reading stops
/// after `max_items` items.
pub(crate) fn extract_xml(text: &str, base: Option<&Url>, max_items: usize) -> Option<ParsedFeed> {
    let mut feed = ParsedFeed::default();
    let mut recognized = false;
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut item: Option<OpenItem<'_>> = None;

    for (tok, start, end) in Scanner::new(text) {
        match tok {
            Tok::Start { name, attrs, self_closing } => {
                let lname = local(name).to_ascii_lowercase();
                let depth = stack.len();
                if depth <= 2 && ROOTS.contains(&lname.as_str()) {
                    recognized = true;
                }
                let role = match &item {
                    None if (lname == "item" || lname == "entry") && !self_closing => {
                        if feed.items.len() >= max_items {
                            break;
                        }
                        item = Some(OpenItem { depth, attrs, fields: Vec::new() });
                        Role::Item
                    }
                    Some(it) if depth == it.depth + 1 => {
                        if self_closing {
                            if let Some(it) = item.as_mut() {
                                it.fields.push(Field { lname, attrs, inner: "" });
                            }
                            continue;
                        }
                        Role::Field
                    }
                    None if depth <= 3
                        && (lname == "title" || lname == "link")
                        && stack.last().is_some_and(|p| ROOTS.contains(&p.lname.as_str())) =>
                    {
                        if self_closing {
                            feed_field(&mut feed, &lname, attrs, "", base);
                            continue;
                        }
                        Role::FeedField
                    }
                    _ => Role::Other,
                };
                if self_closing || stack.len() >= MAX_DEPTH {
                    continue;
                }
                stack.push(Frame { lname, attrs, content_start: end, role });
            }
            Tok::End { name } => {
                let lname = local(name).to_ascii_lowercase();
                let Some(k) = stack.iter().rev().take(MAX_UNWIND).position(|f| f.lname == lname) else {
                    continue;
                };
                for _ in 0..=k {
                    let frame = stack.pop().expect("position is within the stack");
                    finish(text, frame, start, &mut item, &mut feed, base);
                }
            }
            _ => {}
        }
    }
    while let Some(frame) = stack.pop() {
        finish(text, frame, text.len(), &mut item, &mut feed, base);
    }
    if let Some(it) = item.take() {
        push_item(it, &mut feed, base);
    }
    (recognized || !feed.items.is_empty()).then_some(feed)
}

fn finish<'a>(
    text: &'a str,
    frame: Frame<'a>,
    end: usize,
    item: &mut Option<OpenItem<'a>>,
    feed: &mut ParsedFeed,
    base: Option<&Url>,
) {
    let inner = &text[frame.content_start.min(end)..end];
    match frame.role {
        Role::Field => {
            if let Some(it) = item.as_mut() {
                it.fields.push(Field { lname: frame.lname, attrs: frame.attrs, inner });
            }
        }
        Role::Item => {
            if let Some(it) = item.take() {
                push_item(it, feed, base);
            }
        }
        Role::FeedField => feed_field(feed, &frame.lname, frame.attrs, inner, base),
        Role::Other => {}
    }
}

fn feed_field(feed: &mut ParsedFeed, lname: &str, attrs: &str, inner: &str, base: Option<&Url>) {
    match lname {
        "title" if feed.title.is_none() => {
            let t = one_line(&text_of(inner, attrs));
            if !t.is_empty() {
                feed.title = Some(t);
            }
        }
        "link" if feed.link.is_none() => {
            let rel = attr(attrs, "rel").unwrap_or("alternate");
            let href = attr(attrs, "href").map(str::to_string).unwrap_or_else(|| raw_value(inner));
            let href = href.trim();
            if !href.is_empty() && rel.eq_ignore_ascii_case("alternate") {
                feed.link = Some(absolute(href, base));
            }
        }
        _ => {}
    }
}

/// The field's content with CDATA unwrapped, character data entity-decoded and inline markup
/// kept as markup: the form a feed parser hands on, before HTML is reduced to text.
fn raw_value(inner: &str) -> String {
    let inner = cut(inner, MAX_FIELD);
    let mut out = String::with_capacity(inner.len());
    for (tok, start, end) in Scanner::new(inner) {
        match tok {
            Tok::Text(t) => out.push_str(&markup::decode_entities(t)),
            Tok::CData { body, .. } => out.push_str(body),
            Tok::Start { .. } | Tok::End { .. } => out.push_str(&inner[start..end]),
            Tok::Other | Tok::Cut => {}
        }
    }
    out
}

/// Plain text of a field, honouring an Atom-style `type` attribute.
fn text_of(inner: &str, attrs: &str) -> String {
    let ty = attr(attrs, "type").unwrap_or("").to_ascii_lowercase();
    let ct = if ty.contains("html") { "text/html" } else { "text/plain" };
    reduce(&raw_value(inner), ct)
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn push_item(it: OpenItem<'_>, feed: &mut ParsedFeed, base: Option<&Url>) {
    let mut title = String::new();
    let mut text_link: Option<String> = None;
    let mut alt_link: Option<String> = None;
    let mut other_link: Option<String> = None;
    let mut guid = String::new();
    let mut guid_permalink = true;
    let mut published = None;
    let mut updated = None;
    let mut summary = String::new();
    let mut content = String::new();
    let mut authors: Vec<String> = Vec::new();
    let mut categories: Vec<String> = Vec::new();

    for f in &it.fields {
        match f.lname.as_str() {
            "title" if title.is_empty() => title = one_line(&text_of(f.inner, f.attrs)),
            "link" => {
                let value = raw_value(f.inner);
                let value = value.trim();
                if let Some(href) = attr(f.attrs, "href").map(str::trim).filter(|h| !h.is_empty()) {
                    let rel = attr(f.attrs, "rel").unwrap_or("alternate");
                    if rel.eq_ignore_ascii_case("alternate") {
                        alt_link.get_or_insert_with(|| href.to_string());
                    } else {
                        other_link.get_or_insert_with(|| href.to_string());
                    }
                } else if !value.is_empty() && !value.contains('<') {
                    text_link.get_or_insert_with(|| value.to_string());
                }
            }
            "guid" | "id" if guid.is_empty() => {
                guid = one_line(&raw_value(f.inner));
                guid_permalink = !attr(f.attrs, "isPermaLink").is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
            }
            "pubdate" | "published" | "issued" | "date" | "created" if published.is_none() => {
                published = parse_date(&raw_value(f.inner));
            }
            "updated" | "modified" if updated.is_none() => updated = parse_date(&raw_value(f.inner)),
            "description" | "summary" | "abstract" if summary.is_empty() => summary = text_of(f.inner, f.attrs),
            "encoded" | "content" | "body" | "fulltext" if content.is_empty() => {
                content = reduce(&raw_value(f.inner), "text/html");
            }
            "author" | "creator" => {
                let name = author_name(f.inner);
                if !name.is_empty() && !authors.contains(&name) {
                    authors.push(name);
                }
            }
            "category" | "subject" => {
                let label = attr(f.attrs, "label")
                    .or_else(|| attr(f.attrs, "term"))
                    .map(|s| one_line(&markup::decode_entities(s)))
                    .unwrap_or_else(|| one_line(&text_of(f.inner, "")));
                if !label.is_empty() && !categories.contains(&label) {
                    categories.push(label);
                }
            }
            _ => {}
        }
    }
    let own = attr(it.attrs, "href").or_else(|| attr(it.attrs, "about")).map(str::trim).filter(|s| !s.is_empty());
    let guid_link =
        (guid_permalink && (guid.starts_with("http://") || guid.starts_with("https://"))).then(|| guid.clone());
    let link = text_link
        .or(alt_link)
        .or(other_link)
        .or_else(|| own.map(str::to_string))
        .or(guid_link)
        .map(|l| absolute(&markup::decode_entities(&l), base))
        .filter(|l| !l.is_empty());
    // RSS allows an item with nothing but a description; an item with nothing readable at all
    // is noise.
    if title.is_empty() && link.is_none() && summary.is_empty() && content.is_empty() {
        return;
    }
    let mut item = Item {
        id: String::new(),
        title,
        link,
        published,
        updated,
        authors,
        categories,
        summary,
        content,
        article: String::new(),
    };
    item.id = item_key(guid.trim(), &item);
    feed.items.push(item);
}

/// An author element's name: its `<name>` child (Atom) or its text (RSS, Dublin Core).
fn author_name(inner: &str) -> String {
    let mut in_name = None;
    for (tok, start, end) in Scanner::new(inner) {
        match tok {
            Tok::Start { name, self_closing: false, .. } if local(name).eq_ignore_ascii_case("name") => {
                in_name = Some(end);
            }
            Tok::End { name } if local(name).eq_ignore_ascii_case("name") => {
                if let Some(s) = in_name {
                    return one_line(&reduce(&raw_value(&inner[s..start]), "text/plain"));
                }
            }
            _ => {}
        }
    }
    if in_name.is_some()
        || inner.contains('<') && inner.trim_start().starts_with('<') && !inner.trim_start().starts_with("<![CDATA[")
    {
        // Markup without a name child (e.g. only an email): take its text.
        return one_line(&markup::html_to_text(&raw_value(inner)));
    }
    one_line(&reduce(&raw_value(inner), "text/plain"))
}

/// Items of a JSON document shaped like a JSON Feed (or close to one), at most `max_items`,
/// or `None`.
pub(crate) fn extract_json(v: &Value, base: Option<&Url>, max_items: usize) -> Option<ParsedFeed> {
    let obj = v.as_object()?;
    let items = obj.get("items").or_else(|| obj.get("entries")).and_then(Value::as_array);
    let looks_like_feed = items.is_some() || obj.contains_key("version") || obj.contains_key("feed_url");
    if !looks_like_feed {
        return None;
    }
    let mut feed = ParsedFeed {
        title: obj
            .get("title")
            .and_then(Value::as_str)
            .map(|t| one_line(&reduce(t, "text/plain")))
            .filter(|t| !t.is_empty()),
        link: ["home_page_url", "link", "url"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_str))
            .map(|l| absolute(l.trim(), base)),
        ..ParsedFeed::default()
    };
    for it in items.into_iter().flatten().filter_map(Value::as_object).take(max_items) {
        let s = |keys: &[&str]| -> Option<String> {
            keys.iter().find_map(|k| match it.get(*k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(Value::Object(o)) => o.get("href").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
        };
        let title = s(&["title"]).map(|t| one_line(&reduce(cut(&t, MAX_FIELD), "text/plain"))).unwrap_or_default();
        let link = s(&["url", "link", "external_url", "permalink"]).map(|l| absolute(l.trim(), base));
        let content = match s(&["content_html"]) {
            Some(h) => reduce(cut(&h, MAX_FIELD), "text/html"),
            None => {
                s(&["content_text", "content"]).map(|t| reduce(cut(&t, MAX_FIELD), "text/plain")).unwrap_or_default()
            }
        };
        let summary =
            s(&["summary", "description"]).map(|t| reduce(cut(&t, MAX_FIELD), "text/plain")).unwrap_or_default();
        if title.is_empty() && link.is_none() && summary.is_empty() && content.is_empty() {
            continue;
        }
        let mut authors = Vec::new();
        let mut add_author = |a: &Value| {
            let name = match a {
                Value::String(n) => Some(n.as_str()),
                Value::Object(o) => o.get("name").and_then(Value::as_str),
                _ => None,
            };
            if let Some(n) = name.map(one_line).filter(|n| !n.is_empty()) {
                if !authors.contains(&n) {
                    authors.push(n);
                }
            }
        };
        if let Some(a) = it.get("author") {
            add_author(a);
        }
        for a in it.get("authors").and_then(Value::as_array).into_iter().flatten() {
            add_author(a);
        }
        let categories = ["tags", "categories"]
            .iter()
            .filter_map(|k| it.get(*k).and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_str)
            .map(one_line)
            .filter(|c| !c.is_empty())
            .collect();
        let mut item = Item {
            id: String::new(),
            title,
            link,
            published: s(&["date_published", "published", "pubDate", "date"]).and_then(|d| parse_date(&d)),
            updated: s(&["date_modified", "updated", "modified"]).and_then(|d| parse_date(&d)),
            authors,
            categories,
            summary,
            content,
            article: String::new(),
        };
        item.id = item_key(s(&["id", "guid"]).unwrap_or_default().trim(), &item);
        feed.items.push(item);
    }
    Some(feed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_rss_items_are_found() {
        let doc = "<rss><channel><title>Berita &amp; Kabar</title><link>https://ex.id/</link>
            <ITEM><TITLE>Satu</TITLE><LINK>/satu</LINK><pubDate>Senin, 06 Agu 2024 10:00:00 +0700</pubDate>
            <description>&lt;p&gt;Isi &amp;amp; lain&lt;/p&gt;</description><dc:creator><![CDATA[Ani]]></dc:creator>
            <category>Politik</category><guid isPermaLink=\"false\">id-1</guid></ITEM>
            <item><title>Dua <b>tebal</title><link>https://ex.id/dua?a=1&b=2</link>
            <content:encoded><![CDATA[<p>Hello</p><p>World</p>]]></content:encoded>";
        let f = extract_xml(doc, Url::parse("https://ex.id/rss").ok().as_ref(), 100).unwrap();
        assert_eq!(f.title.as_deref(), Some("Berita & Kabar"));
        assert_eq!(f.link.as_deref(), Some("https://ex.id/"));
        assert_eq!(f.items.len(), 2);
        let a = &f.items[0];
        assert_eq!(a.title, "Satu");
        assert_eq!(a.link.as_deref(), Some("https://ex.id/satu"));
        assert_eq!(a.id, "id-1");
        assert_eq!(a.published.unwrap().to_rfc3339(), "2024-08-06T03:00:00+00:00");
        assert_eq!(a.summary, "Isi & lain");
        assert_eq!(a.authors, ["Ani"]);
        assert_eq!(a.categories, ["Politik"]);
        let b = &f.items[1];
        assert_eq!(b.title, "Dua tebal");
        assert_eq!(b.link.as_deref(), Some("https://ex.id/dua?a=1&b=2"));
        assert_eq!(b.id, "https://ex.id/dua?a=1&b=2");
        assert!(b.content.contains("Hello") && b.content.contains("World"));
    }

    #[test]
    fn atom_like_entries_with_prefixes_and_hrefs() {
        let doc = r#"<a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:title type="html">&lt;i&gt;F&lt;/i&gt;</a:title>
            <a:entry><a:title type="text/plain">T</a:title><a:link rel="enclosure" href="/e.mp3"/><a:link href="/t"/>
            <a:id>tag:x,1</a:id><a:updated>2024-01-01T00:00:00Z</a:updated><a:author><a:name>Budi</a:name><a:email>b@x</a:email></a:author>
            <a:category term="tech"/><a:summary type="xhtml"><div>S <b>s</b></div></a:summary></a:entry></a:feed>"#;
        let f = extract_xml(doc, Url::parse("https://x.id/").ok().as_ref(), 100).unwrap();
        assert_eq!(f.title.as_deref(), Some("F"));
        let e = &f.items[0];
        assert_eq!((e.title.as_str(), e.link.as_deref(), e.id.as_str()), ("T", Some("https://x.id/t"), "tag:x,1"));
        assert_eq!(e.updated.unwrap().to_rfc3339(), "2024-01-01T00:00:00+00:00");
        assert_eq!(e.authors, ["Budi"]);
        assert_eq!(e.categories, ["tech"]);
        assert_eq!(e.summary, "S s");
    }

    #[test]
    fn cdf_items_use_their_href_and_empty_items_are_dropped() {
        let doc = r#"<CHANNEL HREF="http://c/"><TITLE>C</TITLE><ITEM HREF="http://c/1"><TITLE>One</TITLE></ITEM><ITEM><ABSTRACT>no title</ABSTRACT></ITEM><ITEM LASTMOD="2004-04-06T23:05:43-05:00"></ITEM></CHANNEL>"#;
        let f = extract_xml(doc, None, 100).unwrap();
        assert_eq!(f.items.len(), 2, "the empty item is dropped");
        assert_eq!(f.items[0].link.as_deref(), Some("http://c/1"));
        assert_eq!(f.items[1].summary, "no title");
    }

    #[test]
    fn non_feeds_give_none_and_items_are_capped() {
        assert!(extract_xml("<html><body><p>hi</p></body></html>", None, 100).is_none());
        assert!(extract_xml("plain text", None, 100).is_none());
        assert!(extract_xml("<rss><channel><title>empty</title></channel></rss>", None, 100).unwrap().items.is_empty());
        let many = "<rss><channel>".to_string() + &"<item><title>x</title></item>".repeat(12);
        assert_eq!(extract_xml(&many, None, 7).unwrap().items.len(), 7);
    }

    #[test]
    fn deep_nesting_inside_an_item() {
        let doc = "<rss><channel><item><title>t</title><description>".to_string()
            + &"<div>".repeat(50_000)
            + "x"
            + &"</div>".repeat(50_000)
            + "</description></item></channel></rss>";
        let f = extract_xml(&doc, None, 100).unwrap();
        assert_eq!(f.items.len(), 1);
        assert_eq!(f.items[0].title, "t");
    }

    #[test]
    fn json_items_from_a_loose_json_feed() {
        let v: Value = serde_json::from_str(r#"{"version":"1.0","title":"J","items":[{"id":7,"title":"A","url":"/a","content_text":"x","date_published":"2024-08-06T10:00:00","author":{"name":"Ani"},"tags":["t"]},{"image":"nothing readable"}]}"#).unwrap();
        let f = extract_json(&v, Url::parse("https://j.id/").ok().as_ref(), 100).unwrap();
        assert_eq!(f.title.as_deref(), Some("J"));
        assert_eq!(f.items.len(), 1);
        let i = &f.items[0];
        assert_eq!((i.id.as_str(), i.link.as_deref(), i.content.as_str()), ("7", Some("https://j.id/a"), "x"));
        assert_eq!(i.authors, ["Ani"]);
        assert_eq!(i.published.unwrap().to_rfc3339(), "2024-08-06T10:00:00+00:00");
        assert!(extract_json(&serde_json::json!({"a": 1}), None, 100).is_none());
    }
}
