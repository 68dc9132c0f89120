//! OPML: subscription lists read into feeds and written back out as `[[feed]]` tables.
//!
//! Pure and synchronous. It reads the `<outline>` elements and their nesting with the parser's
//! forgiving XML tokenizer, since OPML files in the wild are often not well-formed XML.

use std::collections::HashSet;

use crate::markup::decode_entities;
use crate::markup::scan::{attributes, Scanner, Tok};

/// One feed found in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    /// The outline's `title` (or `text`).
    pub title: String,
    /// The feed URL (`xmlUrl`).
    pub url: String,
    /// The site (`htmlUrl`), if given.
    pub site: Option<String>,
    /// Titles of the enclosing outlines and the `category` attribute's parts, outermost first.
    pub categories: Vec<String>,
}

/// Every outline with an `xmlUrl`, in document order.
pub fn parse(doc: &str) -> Vec<OpmlFeed> {
    let mut feeds = Vec::new();
    // Titles of the open (non-self-closing) outlines enclosing the current position.
    let mut stack: Vec<Option<String>> = Vec::new();
    for (tok, _, _) in Scanner::new(doc) {
        let (attrs, self_closing) = match tok {
            Tok::End { name } if name.eq_ignore_ascii_case("outline") => {
                stack.pop();
                continue;
            }
            Tok::Start { name, attrs, self_closing } if name.eq_ignore_ascii_case("outline") => {
                (attributes(attrs), self_closing)
            }
            _ => continue,
        };
        let get = |name: &str| {
            attrs
                .iter()
                .find(|(k, _, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v, _)| decode_entities(v).trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let title = get("title").or_else(|| get("text"));
        if let Some(url) = get("xmlUrl") {
            let mut categories: Vec<String> = stack.iter().flatten().cloned().collect();
            for c in get("category").iter().flat_map(|c| c.split([',', '/'])) {
                let c = c.trim();
                if !c.is_empty() && !categories.iter().any(|x| x == c) {
                    categories.push(c.to_string());
                }
            }
            feeds.push(OpmlFeed {
                title: title.clone().unwrap_or_else(|| url.clone()),
                url,
                site: get("htmlUrl"),
                categories,
            });
            if !self_closing {
                // A feed outline with children: its children are not in its category.
                stack.push(None);
            }
        } else if !self_closing {
            stack.push(title);
        }
    }
    feeds
}

/// A config-safe name: folded to ASCII letters, digits and dashes.
pub fn slug(text: &str) -> String {
    let folded = crate::rules::fold(text);
    let mut out = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let mut cut: String = out.chars().take(48).collect();
    cut.truncate(cut.trim_end_matches('-').len());
    cut
}

/// A value for the config with every `${` written `$${`, which config loading reads back as a
/// literal `${`: an imported file never makes pantau read the operator's environment.
pub fn escape_references(value: &str) -> String {
    value.replace("${", "$${")
}

/// Text for a TOML comment: one line, without the control characters a comment cannot hold.
fn comment(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// `[[feed]]` tables for `feeds`, with unique names and categories as tags. The output always
/// parses as TOML, and every `${` taken from the file is escaped ([`escape_references`]).
pub fn to_toml(feeds: &[OpmlFeed], source: &str) -> String {
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut out = format!("# {} feeds imported from {} by pantau import-opml\n", feeds.len(), comment(source));
    let mut names = HashSet::new();
    for f in feeds {
        let mut base = slug(&f.title);
        if base.is_empty() {
            base = url::Url::parse(&f.url).ok().and_then(|u| u.host_str().map(slug)).unwrap_or_default();
        }
        if base.is_empty() {
            base = "feed".into();
        }
        let mut name = base.clone();
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        out.push_str(&format!("\n# {}\n", comment(&f.title)));
        if let Some(site) = &f.site {
            out.push_str(&format!("# {}\n", comment(site)));
        }
        out.push_str(&format!("[[feed]]\nname = {}\nurl = {}\n", quote(&name), quote(&escape_references(&f.url))));
        let mut tags: Vec<String> = f.categories.iter().map(|c| slug(c)).filter(|t| !t.is_empty()).collect();
        tags.dedup();
        if !tags.is_empty() {
            let list: Vec<String> = tags.iter().map(|t| quote(t)).collect();
            out.push_str(&format!("tags = [{}]\n", list.join(", ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0"?>
<opml version="2.0"><head><title>Subs</title></head><body>
  <outline text="Berita Indonesia" title="Berita Indonesia">
    <outline type="rss" text="Republika" title="Republika &amp; Co" xmlUrl="https://www.republika.co.id/rss/" htmlUrl="https://www.republika.co.id"/>
    <outline type="rss" text="Suara" xmlUrl='https://www.suara.com/rss' category="/politik,ekonomi" />
  </outline>
  <!-- <outline text="hidden" xmlUrl="https://hidden.example/"/> -->
  <outline text="BBC World" xmlurl="http://feeds.bbci.co.uk/news/world/rss.xml"></outline>
  <outline text="No feed here"/>
  <outline text="Republika &amp; Co" xmlUrl="https://www.republika.co.id/rss/other"/>
</body></opml>"#;

    #[test]
    fn feeds_keep_their_titles_urls_and_categories() {
        let feeds = parse(DOC);
        assert_eq!(feeds.len(), 4, "{feeds:?}");
        assert_eq!(feeds[0].title, "Republika & Co");
        assert_eq!(feeds[0].url, "https://www.republika.co.id/rss/");
        assert_eq!(feeds[0].site.as_deref(), Some("https://www.republika.co.id"));
        assert_eq!(feeds[0].categories, ["Berita Indonesia"]);
        assert_eq!(feeds[1].categories, ["Berita Indonesia", "politik", "ekonomi"]);
        assert_eq!(feeds[2].title, "BBC World");
        assert!(feeds[2].categories.is_empty(), "the closed outline no longer encloses it");
    }

    #[test]
    fn toml_output_is_valid_with_unique_names() {
        let text = to_toml(&parse(DOC), "subs.opml");
        let v: toml::Table = toml::from_str(&text).unwrap();
        let feeds = v["feed"].as_array().unwrap();
        let names: Vec<&str> = feeds.iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["republika-co", "suara", "bbc-world", "republika-co-2"]);
        assert_eq!(feeds[1]["tags"].as_array().unwrap().len(), 3);
        assert!(text.starts_with("# 4 feeds imported from subs.opml"));
    }

    /// An OPML outline with these (already XML-escaped) attribute values.
    fn outline(title: &str, url: &str) -> String {
        format!("<opml><body><outline title=\"{title}\" xmlUrl=\"{url}\" htmlUrl=\"{url}\"/></body></opml>")
    }

    #[test]
    fn hostile_titles_and_urls_still_give_toml_that_parses() {
        let titles = [
            "Bell\u{7}and\u{1b}[31mescape",
            "NUL\u{0}inside",
            "line\rbreak\u{b}\u{c}\u{85}\u{2028}",
            "&#1;&#31;&#127;&#x9f;",
            "\"quoted\" 'single' \\back\\slash",
            "&quot;]]\n[[feed]]\nname = &quot;x",
            "${HOME} and $${HOME}",
        ];
        for title in titles {
            let url = format!("https://ex.id/rss?t={title}");
            let doc = outline(title, &url);
            let feeds = parse(&doc);
            assert_eq!(feeds.len(), 1, "{title:?}");
            for source in ["subs.opml", "sub\ns\u{7}.opml"] {
                let text = to_toml(&feeds, source);
                let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
                let tables = parsed["feed"].as_array().unwrap();
                assert_eq!(tables.len(), 1, "{text}");
                // What config loading would read: the URL exactly as the file had it.
                let written = tables[0]["url"].as_str().unwrap();
                assert_eq!(written.replace("$${", "${"), feeds[0].url, "{text}");
            }
        }
    }

    #[test]
    fn references_to_the_environment_are_escaped() {
        let feeds = parse(&outline("Home ${HOME}", "https://ex.id/${HOME}/rss?k=${SECRET_TOKEN}&x=$$"));
        let text = to_toml(&feeds, "shared.opml");
        assert!(text.contains(r#"url = "https://ex.id/$${HOME}/rss?k=$${SECRET_TOKEN}&x=$$""#), "{text}");
        assert_eq!(escape_references("a$${b"), "a$$${b");
    }

    #[test]
    fn slugs_fold_accents_and_punctuation() {
        assert_eq!(slug("Tempo.co — Berita Nasional"), "tempo-co-berita-nasional");
        assert_eq!(slug("Ñandú Café"), "nandu-cafe");
        assert_eq!(slug("!!!"), "");
    }

    #[test]
    fn broken_markup_does_not_panic() {
        for doc in ["<outline", "<outline xmlUrl=\"x", "<outline xmlUrl=x>", "</outline></outline>", "<outline a= >"] {
            let _ = parse(doc);
        }
        assert_eq!(parse("<outline xmlUrl=x>")[0].url, "x");
    }
}
