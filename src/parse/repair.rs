//! Rewrites that turn a document feed-rs rejects into one it reads, without changing what a
//! reader of the feed would see. Every function is a single linear pass and reports which
//! repairs it made (as notes for [`crate::model::ParsedFeed::recoveries`]).

use serde_json::{Map, Value};

use crate::markup::scan::{attributes, local, Scanner, Tok};

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
const ATOM03_NS: &str = "http://purl.org/atom/ns#";
const RSS10_NS: &str = "http://purl.org/rss/1.0/";
const RSS090_NS: &str = "http://my.netscape.com/rdf/simple/0.9/";

/// Cap on open elements tracked by the tag balancer; deeper markup is left as it is.
const MAX_DEPTH: usize = 4096;
/// How far down the stack an end tag may close elements left open.
const MAX_UNWIND: usize = 64;

/// The document from its root element on: the XML declaration (whose encoding no longer
/// applies after transcoding), the DOCTYPE with any internal subset (entity declarations are
/// never expanded, so entity bombs are inert), comments, PIs and junk before the root dropped.
/// Returns the remainder and whether an internal DTD subset was removed.
pub(crate) fn strip_prolog(text: &str) -> (&str, bool) {
    let mut subset = false;
    for (tok, start, end) in Scanner::new(text) {
        match tok {
            Tok::Start { .. } => return (&text[start..], subset),
            Tok::Other if text[start..end].starts_with("<!") && !text[start..].starts_with("<!--") => {
                subset |= text[start..end].contains('[');
            }
            Tok::End { .. } | Tok::Cut | Tok::CData { .. } => return (&text[start..], subset),
            _ => {}
        }
    }
    (text.trim_start(), subset)
}

/// Notes of repairs, each once, in the order first used.
#[derive(Default, Debug)]
pub(crate) struct Notes(pub Vec<&'static str>);

impl Notes {
    fn add(&mut self, note: &'static str) {
        if !self.0.contains(&note) {
            self.0.push(note);
        }
    }
}

/// An element left open: its name as written and as emitted.
struct Open<'a> {
    name: &'a str,
    out: String,
}

/// Repair an XML feed in one pass: root element names and versions feed-rs knows, Atom 0.3
/// and RSS 0.90 namespaces, Atom text constructs with unknown `type`, `<content src>` with a
/// body, bare `&` and `<`, unquoted or duplicated attributes, end tags that are missing,
/// misplaced or stray, an unterminated CDATA section, and anything after the root element.
pub(crate) fn repair_xml(text: &str) -> (String, Notes) {
    let mut notes = Notes::default();
    let mut out = String::with_capacity(text.len() + text.len() / 16 + 64);
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut seen_root = false;
    let mut atom03 = false;
    let mut scanner = Scanner::new(text);
    while let Some((tok, start, end)) = scanner.next() {
        match tok {
            Tok::Start { name, attrs, self_closing } => {
                if seen_root && stack.is_empty() {
                    notes.add("repaired: content after the root element");
                    break;
                }
                let is_root = !seen_root;
                seen_root = true;
                let lname = local(name);
                let mut out_name = name.to_string();
                let mut attrs_out = rebuild_attributes(attrs, &mut notes);
                if is_root {
                    root_fixes(name, &mut out_name, &mut attrs_out, &mut atom03, &mut notes);
                } else {
                    if atom03 && !name.contains(':') {
                        let renamed = match lname {
                            "issued" => Some("published"),
                            "modified" => Some("updated"),
                            "tagline" => Some("subtitle"),
                            "copyright" => Some("rights"),
                            _ => None,
                        };
                        if let Some(r) = renamed {
                            out_name = r.to_string();
                            notes.add("repaired: atom 0.3 element names");
                        }
                    }
                    namespace_fixes(&mut attrs_out, &mut atom03, &mut notes);
                    text_construct_fixes(name, &mut attrs_out, &mut notes);
                    if lname == "content" && !self_closing && attrs_out.iter().any(|(n, _)| n == "src") {
                        let mut peek = scanner.clone();
                        let empty = loop {
                            match peek.next() {
                                Some((Tok::Text(t), _, _)) if t.trim().is_empty() => continue,
                                Some((Tok::End { .. }, _, _)) | None => break true,
                                Some(_) => break false,
                            }
                        };
                        if !empty {
                            attrs_out.retain(|(n, _)| n != "src");
                            notes.add("repaired: atom content with src and a body");
                        }
                    }
                }
                out.push('<');
                out.push_str(&out_name);
                for (n, v) in &attrs_out {
                    out.push(' ');
                    out.push_str(n);
                    out.push_str("=\"");
                    out.push_str(v);
                    out.push('"');
                }
                if self_closing || stack.len() >= MAX_DEPTH {
                    out.push_str("/>");
                } else {
                    out.push('>');
                    stack.push(Open { name, out: out_name });
                }
            }
            Tok::End { name } => {
                let found =
                    stack.iter().rev().take(MAX_UNWIND).position(|o| o.name == name).or_else(|| {
                        stack.iter().rev().take(MAX_UNWIND).position(|o| o.name.eq_ignore_ascii_case(name))
                    });
                match found {
                    Some(k) => {
                        if k > 0 {
                            notes.add("repaired: unclosed tags");
                        }
                        for _ in 0..=k {
                            let open = stack.pop().expect("position is within the stack");
                            close(&mut out, &open.out);
                        }
                    }
                    None => notes.add("repaired: stray end tag"),
                }
                if seen_root && stack.is_empty() {
                    let rest = text[end..].trim_start();
                    if !rest.is_empty() && !rest.starts_with("<!--") {
                        notes.add("repaired: content after the root element");
                    }
                    break;
                }
            }
            Tok::Text(t) => {
                if stack.is_empty() {
                    continue; // whitespace or junk outside the root
                }
                escape_text(t, &mut out, &mut notes);
            }
            Tok::CData { closed, .. } => {
                if stack.is_empty() {
                    continue;
                }
                out.push_str(&text[start..end]);
                if !closed {
                    out.push_str("]]>");
                    notes.add("repaired: unterminated CDATA");
                }
            }
            Tok::Other => {
                let raw = &text[start..end];
                // Comments are kept (harmless); an unterminated one would hide the end tags.
                if raw.starts_with("<!--") && !raw.ends_with("-->") {
                    notes.add("repaired: unterminated comment");
                } else if raw.starts_with("<!--") && !stack.is_empty() {
                    out.push_str(raw);
                }
            }
            Tok::Cut => notes.add("repaired: truncated tag"),
        }
    }
    if !stack.is_empty() {
        notes.add("repaired: unclosed tags at the end");
        while let Some(open) = stack.pop() {
            close(&mut out, &open.out);
        }
    }
    (out, notes)
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn root_fixes(
    name: &str,
    out_name: &mut String,
    attrs: &mut Vec<(String, String)>,
    atom03: &mut bool,
    notes: &mut Notes,
) {
    let lname = local(name);
    let prefix = &name[..name.len() - lname.len()];
    match lname.to_ascii_lowercase().as_str() {
        "rss" => {
            if lname != "rss" {
                *out_name = format!("{prefix}rss");
                notes.add("repaired: root element case");
            }
            let version = attrs.iter().find(|(n, _)| n == "version").map(|(_, v)| v.trim().to_string());
            if !matches!(version.as_deref(), Some("2.0" | "0.91" | "0.92")) {
                attrs.retain(|(n, _)| n != "version");
                attrs.push(("version".into(), "2.0".into()));
                notes.add("repaired: rss version");
            }
        }
        "rdf" if lname != "RDF" => {
            *out_name = format!("{prefix}RDF");
            notes.add("repaired: rdf root element case");
        }
        "feed" if lname != "feed" => {
            *out_name = format!("{prefix}feed");
            notes.add("repaired: root element case");
        }
        _ => {}
    }
    namespace_fixes(attrs, atom03, notes);
}

/// Atom 0.3 and mis-cased Atom namespaces become Atom 1.0; RSS 0.90 becomes RSS 1.0.
fn namespace_fixes(attrs: &mut [(String, String)], atom03: &mut bool, notes: &mut Notes) {
    for (n, v) in attrs.iter_mut() {
        if n != "xmlns" && !n.starts_with("xmlns:") {
            continue;
        }
        let t = v.trim();
        if t == ATOM03_NS {
            *v = ATOM_NS.into();
            *atom03 = true;
            notes.add("repaired: atom 0.3 namespace");
        } else if t != ATOM_NS && t.eq_ignore_ascii_case(ATOM_NS) {
            *v = ATOM_NS.into();
            notes.add("repaired: atom namespace case");
        } else if t == RSS090_NS {
            *v = RSS10_NS.into();
            notes.add("repaired: rss 0.90 namespace");
        }
    }
}

/// Atom text constructs accept `text`, `html` and `xhtml` only; feeds write MIME types, other
/// cases or nothing. `content` also takes a real MIME type, so only invalid ones are mapped.
fn text_construct_fixes(name: &str, attrs: &mut [(String, String)], notes: &mut Notes) {
    let lname = local(name);
    let prefix = &name[..name.len() - lname.len()];
    if !(prefix.is_empty() || prefix == "atom:") {
        return;
    }
    let is_content = lname == "content";
    if !matches!(lname, "title" | "subtitle" | "summary" | "rights" | "content") {
        return;
    }
    let Some((_, ty)) = attrs.iter_mut().find(|(n, _)| n == "type") else {
        return;
    };
    let t = ty.trim().to_ascii_lowercase();
    if matches!(t.as_str(), "text" | "html" | "xhtml" | "text/html") && *ty == t {
        return;
    }
    let xmlish = t.ends_with("+xml") || t.ends_with("/xml");
    if is_content && is_mime(&t) && t != "text/plain" && !xmlish {
        return;
    }
    let mapped = match t.as_str() {
        "text" | "html" | "xhtml" => t.clone(),
        _ if t.contains("xhtml") => "xhtml".into(),
        _ if t.contains("html") => "html".into(),
        _ if xmlish => "xhtml".into(),
        _ => "text".into(),
    };
    *ty = mapped;
    notes.add("repaired: atom text type");
}

fn is_mime(t: &str) -> bool {
    match t.split_once('/') {
        Some((a, b)) => {
            let ok =
                |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || b"+-.!#$&^_".contains(&c));
            ok(a) && ok(b.split(';').next().unwrap_or("").trim())
        }
        None => false,
    }
}

/// Attributes parsed tolerantly and written back double-quoted, escaped, without duplicates.
fn rebuild_attributes(attrs: &str, notes: &mut Notes) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (n, v, _) in attributes(attrs) {
        if !n.bytes().all(|c| c.is_ascii_alphanumeric() || b":-_.".contains(&c)) && !n.bytes().any(|c| c >= 0x80) {
            notes.add("repaired: malformed attribute");
            continue;
        }
        if out.iter().any(|(o, _)| o == n) {
            notes.add("repaired: duplicate attribute");
            continue;
        }
        let mut value = String::with_capacity(v.len());
        escape_into(v, &mut value, true, notes);
        out.push((n.to_string(), value));
    }
    out
}

fn escape_text(t: &str, out: &mut String, notes: &mut Notes) {
    escape_into(t, out, false, notes);
}

/// Copy `t`, escaping `&` that starts no valid reference, `<`, and in attributes `"`.
fn escape_into(t: &str, out: &mut String, in_attr: bool, notes: &mut Notes) {
    let b = t.as_bytes();
    let mut last = 0;
    for (i, &c) in b.iter().enumerate() {
        let rep = match c {
            b'&' if !valid_reference(&b[i..]) => {
                notes.add("repaired: bare ampersand");
                "&amp;"
            }
            b'<' => {
                notes.add("repaired: bare <");
                "&lt;"
            }
            b'"' if in_attr => "&quot;",
            _ => continue,
        };
        out.push_str(&t[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&t[last..]);
}

/// Whether `s` (starting at `&`) begins a well-formed character or entity reference.
fn valid_reference(s: &[u8]) -> bool {
    let body = &s[1..s.len().min(40)];
    let Some(semi) = body.iter().position(|c| *c == b';') else {
        return false;
    };
    let r = &body[..semi];
    if let Some(num) = r.strip_prefix(b"#") {
        let (digits, radix) = match num.first() {
            Some(b'x') | Some(b'X') => (&num[1..], 16),
            _ => (num, 10),
        };
        let Ok(d) = std::str::from_utf8(digits) else {
            return false;
        };
        return u32::from_str_radix(d, radix).ok().and_then(char::from_u32).is_some_and(|c| c != '\0');
    }
    !r.is_empty()
        && (r[0].is_ascii_alphabetic() || r[0] == b'_')
        && r.iter().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

/// Make a JSON Feed acceptable to feed-rs: parse (closing a truncated document), then fix the
/// version, a missing title or items, and item fields of the wrong JSON type.
pub(crate) fn repair_json(text: &str) -> Option<(Value, Notes)> {
    let mut notes = Notes::default();
    let mut value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => {
            let v = close_truncated_json(text)?;
            notes.add("repaired: truncated JSON");
            v
        }
    };
    let obj = value.as_object_mut()?;
    if !["version", "items", "title", "feed_url", "home_page_url"].iter().any(|k| obj.contains_key(*k)) {
        return None;
    }
    let version_ok =
        obj.get("version").and_then(Value::as_str).is_some_and(|v| v.starts_with("https://jsonfeed.org/version/1"));
    if !version_ok {
        obj.insert("version".into(), Value::String("https://jsonfeed.org/version/1.1".into()));
        notes.add("repaired: json feed version");
    }
    if !obj.get("title").is_some_and(Value::is_string) {
        let t = obj.get("title").map(scalar_string).unwrap_or_default();
        obj.insert("title".into(), Value::String(t));
        notes.add("repaired: json feed title");
    }
    if !obj.get("items").is_some_and(Value::is_array) {
        obj.insert("items".into(), Value::Array(Vec::new()));
        notes.add("repaired: json feed items");
    }
    for key in ["home_page_url", "feed_url", "language", "description", "icon", "favicon", "author", "authors"] {
        if let Some(v) = obj.get(key) {
            let ok = match key {
                "author" => v.is_object(),
                "authors" => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
                _ => v.is_string(),
            };
            if !ok {
                obj.remove(key);
                notes.add("repaired: json feed field types");
            }
        }
    }
    if let Some(items) = obj.get_mut("items").and_then(Value::as_array_mut) {
        items.retain(Value::is_object);
        for item in items.iter_mut() {
            if let Some(o) = item.as_object_mut() {
                if fix_json_item(o) {
                    notes.add("repaired: json feed field types");
                }
            }
        }
    }
    Some((value, notes))
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Coerce the fields feed-rs deserialises strictly; returns whether anything changed.
fn fix_json_item(o: &mut Map<String, Value>) -> bool {
    let mut changed = false;
    for key in [
        "id",
        "url",
        "external_url",
        "title",
        "content_html",
        "content_text",
        "summary",
        "date_published",
        "date_modified",
    ] {
        match o.get(key) {
            None | Some(Value::String(_)) => {}
            Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                let s = scalar_string(v);
                o.insert(key.into(), Value::String(s));
                changed = true;
            }
            Some(_) => {
                o.remove(key);
                changed = true;
            }
        }
    }
    if o.get("author").is_some_and(|a| !a.is_object()) {
        let name = o.get("author").and_then(Value::as_str).map(str::to_string);
        o.remove("author");
        if let Some(n) = name {
            o.insert("author".into(), serde_json::json!({ "name": n }));
        }
        changed = true;
    }
    if let Some(a) = o.get_mut("authors") {
        match a.as_array_mut() {
            Some(arr) => {
                let before = arr.len();
                arr.retain(Value::is_object);
                changed |= arr.len() != before;
            }
            None => {
                o.remove("authors");
                changed = true;
            }
        }
    }
    if let Some(t) = o.get_mut("tags") {
        match t.as_array_mut() {
            Some(arr) => {
                let before = arr.len();
                arr.retain(Value::is_string);
                changed |= arr.len() != before;
            }
            None => {
                o.remove("tags");
                changed = true;
            }
        }
    }
    if let Some(att) = o.get("attachments") {
        let valid = att.as_array().is_some_and(|a| {
            a.iter()
                .all(|x| x.get("url").is_some_and(Value::is_string) && x.get("mime_type").is_some_and(Value::is_string))
        });
        if !valid {
            o.remove("attachments");
            changed = true;
        }
    }
    changed
}

/// Parse a JSON document cut off part-way: cut back to one of the last places where a value
/// ended and close the open strings, arrays and objects. Bounded: at most 64 attempts.
fn close_truncated_json(text: &str) -> Option<Value> {
    let b = text.as_bytes();
    // Positions after which the document could be cut: just after a closing bracket or a
    // complete string, or just before a comma.
    let mut cuts: Vec<usize> = Vec::new();
    let mut in_str = false;
    let mut escaped = false;
    for (i, &c) in b.iter().enumerate() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_str = false;
                cuts.push(i + 1);
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'}' | b']' => cuts.push(i + 1),
            b',' => cuts.push(i),
            _ => {}
        }
    }
    for &cut in cuts.iter().rev().take(64) {
        let head = &text[..cut];
        let mut doc = head.to_string();
        let mut stack = Vec::new();
        let mut in_str = false;
        let mut escaped = false;
        for &c in head.as_bytes() {
            if in_str {
                if escaped {
                    escaped = false;
                } else if c == b'\\' {
                    escaped = true;
                } else if c == b'"' {
                    in_str = false;
                }
                continue;
            }
            match c {
                b'"' => in_str = true,
                b'{' => stack.push(b'}'),
                b'[' => stack.push(b']'),
                b'}' | b']' => {
                    stack.pop();
                }
                _ => {}
            }
        }
        if in_str || stack.is_empty() {
            continue;
        }
        while let Some(c) = stack.pop() {
            doc.push(c as char);
        }
        if let Ok(v) = serde_json::from_str::<Value>(&doc) {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(s: &str) -> (String, Vec<&'static str>) {
        let (t, n) = repair_xml(s);
        (t, n.0)
    }

    #[test]
    fn prolog_and_internal_subset_are_dropped() {
        let doc = "\u{20}\n<?xml version='1.0' encoding='big5'?>\n<!DOCTYPE rss [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>\n<!-- c --><rss/>";
        assert_eq!(strip_prolog(doc), ("<rss/>", true));
        assert_eq!(strip_prolog("<!DOCTYPE rss PUBLIC \"-//x\" \"y.dtd\"><rss/>"), ("<rss/>", false));
    }

    #[test]
    fn rss_version_is_set() {
        for root in [
            "<rss>",
            "<rss version=\"0.93\">",
            "<rss version='2.01'>",
            "<rss version=\"2.1\">",
            "<RSS version=\"0.94\">",
        ] {
            let (t, n) = fix(&format!("{root}<channel><title>x</title></channel></rss>"));
            assert!(t.starts_with("<rss version=\"2.0\"><channel>"), "{t}");
            assert!(n.contains(&"repaired: rss version"), "{n:?}");
        }
        let (t, n) = fix("<rss version=\"2.0\"><channel/></rss>");
        assert_eq!(t, "<rss version=\"2.0\"><channel/></rss>");
        assert!(n.is_empty());
    }

    #[test]
    fn atom_text_types_are_mapped() {
        let (t, n) = fix("<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"text/plain\">a</title><summary type=\"application/xhtml+xml\">b</summary><rights type=\"\">c</rights><subtitle type=\"HTML\">d</subtitle><content type=\"image/png\">e</content><content type=\"invalid\">f</content><content type=\"application/xhtml+xml\"><div/></content></feed>");
        assert!(t.contains("<title type=\"text\">"), "{t}");
        assert!(t.contains("<summary type=\"xhtml\">"));
        assert!(t.contains("<rights type=\"text\">"));
        assert!(t.contains("<subtitle type=\"html\">"));
        assert!(t.contains("<content type=\"image/png\">"));
        assert!(t.contains("<content type=\"text\">f"));
        assert!(t.contains("<content type=\"xhtml\"><div/>"));
        assert_eq!(n, ["repaired: atom text type"]);
    }

    #[test]
    fn atom_content_src_with_body_loses_src() {
        let (t, n) = fix("<feed><entry><content src=\"http://x/\" type=\"text/html\">body</content><content src=\"http://y/\"> </content></entry></feed>");
        assert!(t.contains("<content type=\"text/html\">body"), "{t}");
        assert!(t.contains("<content src=\"http://y/\">"));
        assert_eq!(n, ["repaired: atom content with src and a body"]);
    }

    #[test]
    fn atom03_becomes_atom10() {
        let (t, n) = fix("<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><tagline>s</tagline><entry><issued>2004-01-01T00:00:00Z</issued><modified>2004-01-02T00:00:00Z</modified></entry></feed>");
        assert!(t.contains("xmlns=\"http://www.w3.org/2005/Atom\""), "{t}");
        assert!(t.contains("<subtitle>s</subtitle>"));
        assert!(t.contains("<published>2004-01-01T00:00:00Z</published><updated>"));
        assert!(n.contains(&"repaired: atom 0.3 namespace"));
    }

    #[test]
    fn bare_ampersands_and_brackets_are_escaped() {
        let (t, n) = fix("<rss version=\"2.0\"><channel><title>A & B &amp; C &#38; &#x26; &copy; &#0; &</title><link>http://x/?a=1&b=2</link><x a=\"1&2\" b='say \"hi\"'/><description><![CDATA[R&D]]> 1 < 2</description></channel></rss>");
        assert!(t.contains("<title>A &amp; B &amp; C &#38; &#x26; &copy; &amp;#0; &amp;</title>"), "{t}");
        assert!(t.contains("<link>http://x/?a=1&amp;b=2</link>"));
        assert!(t.contains("<x a=\"1&amp;2\" b=\"say &quot;hi&quot;\"/>"));
        assert!(t.contains("<![CDATA[R&D]]> 1 &lt; 2"));
        assert_eq!(n, ["repaired: bare ampersand", "repaired: bare <"]);
    }

    #[test]
    fn tags_are_balanced() {
        let (t, n) = fix("<rss version=\"2.0\"><channel><item><title>a</title><description>x<br>y</description></item><item><title>b");
        assert_eq!(t, "<rss version=\"2.0\"><channel><item><title>a</title><description>x<br>y</br></description></item><item><title>b</title></item></channel></rss>");
        assert_eq!(n, ["repaired: unclosed tags", "repaired: unclosed tags at the end"]);

        let (t, n) = fix("<feed><rights>r</copyright></rights><x></feed>trailing<junk/>");
        assert_eq!(t, "<feed><rights>r</rights><x></x></feed>");
        assert_eq!(
            n,
            ["repaired: stray end tag", "repaired: unclosed tags", "repaired: content after the root element"]
        );

        let (t, n) = fix("<rss version=\"2.0\"><channel><description><![CDATA[cut");
        assert_eq!(t, "<rss version=\"2.0\"><channel><description><![CDATA[cut]]></description></channel></rss>");
        assert!(n.contains(&"repaired: unterminated CDATA"));
        let (t, _) = fix("<rss version=\"2.0\"><channel><title>t</title><ite");
        assert_eq!(t, "<rss version=\"2.0\"><channel><title>t</title></channel></rss>");
    }

    #[test]
    fn deep_nesting_is_linear_and_bounded() {
        let doc = "<a>".repeat(100_000) + &"</a>".repeat(100_000);
        let (t, _) = fix(&doc);
        assert!(t.len() <= doc.len() + 10);
    }

    #[test]
    fn rdf_root_case_and_rss090_namespace() {
        let (t, n) = fix("<rdf:rdf xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><item/></rdf:rdf>");
        assert!(t.starts_with("<rdf:RDF "), "{t}");
        assert!(t.contains("xmlns=\"http://purl.org/rss/1.0/\""));
        assert!(t.ends_with("</rdf:RDF>"));
        assert_eq!(n, ["repaired: rdf root element case", "repaired: rss 0.90 namespace"]);
    }

    #[test]
    fn json_feed_version_title_and_types() {
        let (v, n) =
            repair_json(r#"{"version":"1.0","items":[{"id":1,"title":"a","tags":"x","author":"Ani"}, 3]}"#).unwrap();
        assert_eq!(v["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(v["title"], "");
        assert_eq!(v["items"][0]["id"], "1");
        assert_eq!(v["items"][0]["author"]["name"], "Ani");
        assert!(v["items"][0].get("tags").is_none());
        assert_eq!(v["items"].as_array().unwrap().len(), 1);
        assert_eq!(
            n.0,
            ["repaired: json feed version", "repaired: json feed title", "repaired: json feed field types"]
        );
    }

    #[test]
    fn truncated_json_is_closed() {
        let (v, n) = repair_json(r#"{"version":"https://jsonfeed.org/version/1","title":"t","items":[{"id":"1","title":"a"},{"id":"2","title":"b"},{"id":"3","ti"#).unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 3);
        assert!(n.0.contains(&"repaired: truncated JSON"));
        assert!(repair_json(r#"{"verion": "1.0""#).is_none(), "not shaped like a feed");
        assert!(repair_json("[1,2").is_none());
        assert!(repair_json("not json").is_none());
    }
}
