//! A page's HTML → the article's main text. Pure and synchronous: no IO, never panics on any
//! input (the caller bounds the input's size; nesting is bounded here).
//!
//! The boilerplate removal itself is rs-trafilatura's (chosen on measurement, see the article
//! evaluation bench); this layer adds what news sites in Indonesia need and it lacks:
//! teaser lines inside the article body ("Baca Juga: …") are dropped, the links of an article
//! split over several pages are found, and an operator's CSS selector can replace the
//! extractor for a site where it fails.

use url::Url;

/// How deeply elements may nest before the page is refused: past this, a tree walk would risk
/// the stack, and no real article nests this deep.
pub const MAX_NESTING: usize = 2_000;

/// The longest article text kept, in bytes (cut at a character boundary): far more than any
/// article, and a bound on what one item costs to store and match.
pub const MAX_TEXT: usize = 1 << 20;

/// Errors of extraction; the item is still matched on what its feed gave.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The page's elements nest deeper than [`MAX_NESTING`].
    #[error("page nests elements more than {MAX_NESTING} deep")]
    TooDeep,
    /// No article text was found (an empty page, a paywall stub, a page of links).
    #[error("no article text found on the page")]
    Empty,
    /// The extractor failed.
    #[error("extraction failed: {0}")]
    Failed(String),
    /// The article selector matched nothing on the page.
    #[error("article_selector {0:?} matched nothing on the page")]
    SelectorMissed(String),
}

/// What was extracted from one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    /// The page's headline, when it names one.
    pub title: Option<String>,
    /// The article's text: paragraphs separated by blank lines.
    pub text: String,
    /// Links to the article's further pages on the same site, in order, absolute.
    pub next_pages: Vec<String>,
}

/// Extract the article from `html`, the page at `url` (for resolving its pagination links).
/// With `selector`, the text of the elements it selects is the article.
pub fn extract(html: &str, url: Option<&str>, selector: Option<&str>) -> Result<Extracted, ExtractError> {
    if nesting_depth(html) > MAX_NESTING {
        return Err(ExtractError::TooDeep);
    }
    let base = url.and_then(|u| Url::parse(u).ok());
    // The page's links, read once: other stories' headlines and the pagination come from them.
    let links = scan_links(html);
    let (title, raw) = match selector {
        Some(css) => {
            let doc = dom_query::Document::from(html);
            let selection = doc.try_select(css).ok_or_else(|| ExtractError::SelectorMissed(css.to_string()))?;
            let mut text = String::new();
            let chosen: std::collections::HashSet<_> = selection.nodes().iter().map(|n| n.id).collect();
            for node in selection.nodes() {
                // A selected element inside another selected one is already in its text.
                let mut up = node.parent();
                let mut nested = false;
                while let Some(p) = up {
                    if chosen.contains(&p.id) {
                        nested = true;
                        break;
                    }
                    up = p.parent();
                }
                if nested {
                    continue;
                }
                if text.len() > MAX_TEXT {
                    break;
                }
                let piece = crate::markup::html_to_text(&node.html());
                if !piece.trim().is_empty() {
                    if !text.is_empty() {
                        text.push_str("\n\n");
                    }
                    text.push_str(piece.trim());
                }
            }
            let title = doc.select("title").text().trim().to_string();
            (Some(title).filter(|t| !t.is_empty()), text)
        }
        None => {
            // Without the page's URL: given one, the extractor applies URL heuristics that
            // measured worse on the article data set.
            // Its own output cap cuts bytes, not characters, and panics inside a multi-byte
            // character; pantau caps the text itself (MAX_TEXT).
            let options =
                rs_trafilatura::Options { max_extracted_len: usize::MAX, ..rs_trafilatura::Options::default() };
            // The extractor is a large body of code pantau does not own: a panic in it fails
            // this page, never the daemon.
            let result = std::panic::catch_unwind(|| rs_trafilatura::extract_with_options(html, &options))
                .map_err(|_| ExtractError::Failed("the extractor panicked".into()))?
                .map_err(|e| ExtractError::Failed(e.to_string()))?;
            let text = without_link_lines(&confirmed(&result.content_text, html), &links);
            (result.metadata.title.filter(|t| !t.trim().is_empty()), text)
        }
    };
    let mut text = drop_teasers(&raw);
    if text.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    let text = if selector.is_none() { trim_edges(&text, title.as_deref()) } else { text };
    if text.trim().is_empty() {
        return Err(ExtractError::Empty);
    }
    let next_pages = base.as_ref().map(|b| next_pages_of(&links, b)).unwrap_or_default();
    Ok(Extracted { title, text, next_pages })
}

/// Share of a paragraph's word 4-grams the second opinion must also have for it to stay.
const CONFIRM_SHARE: f64 = 0.5;

/// Below this share of the first extraction's words, the second opinion is taken to have
/// missed the article (not the first to have kept too much), and is not used.
const CONFIRM_FLOOR: f64 = 0.2;

/// `text` (rs-trafilatura's paragraphs) without the paragraphs that a second, differently built
/// extractor (dom_smoothie's Readability scoring) does not also consider article text. Both
/// keep the article; they disagree mostly on what surrounds it (sidebars of headlines, related
/// posts, tag lists), so a paragraph both keep is article, and one only the first keeps is
/// usually furniture. When the second extractor fails or keeps far less, `text` is returned
/// as it is. Measured on the article data set (see BENCHMARKS.md).
fn confirmed(text: &str, html: &str) -> String {
    let config = dom_smoothie::Config { text_mode: dom_smoothie::TextMode::Formatted, ..Default::default() };
    let reference = std::panic::catch_unwind(|| {
        dom_smoothie::Readability::new(html, None, Some(config)).ok()?.parse().ok().map(|a| a.text_content.to_string())
    });
    let Some(reference) = reference.ok().flatten().filter(|r| !r.trim().is_empty()) else { return text.to_string() };
    let known = shingles(&reference);
    let paragraphs: Vec<&str> = text.split('\n').filter(|p| !p.trim().is_empty()).collect();
    let kept: Vec<&str> = paragraphs
        .iter()
        .copied()
        .filter(|p| {
            let own = shingles(p);
            own.is_empty()
                || own.iter().filter(|s| known.contains(*s)).count() as f64 >= CONFIRM_SHARE * own.len() as f64
        })
        .collect();
    let words = |ps: &[&str]| ps.iter().map(|p| p.split_whitespace().count()).sum::<usize>();
    if (words(&kept) as f64) < CONFIRM_FLOOR * words(&paragraphs) as f64 {
        return text.to_string();
    }
    kept.join("\n")
}

/// The word 4-grams of a text (words: runs of letters, digits and `_`, case kept), hashed.
fn shingles(text: &str) -> std::collections::HashSet<u64> {
    use std::hash::{Hash, Hasher};
    let words: Vec<&str> = text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    words
        .windows(4)
        .map(|w| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            w.hash(&mut h);
            h.finish()
        })
        .collect()
}

/// `text` without the paragraphs that are, word for word, the text of a link on the page: the
/// headlines of other stories in a list that the extractor took for part of the article.
fn without_link_lines(text: &str, links: &[Link]) -> String {
    let texts: std::collections::HashSet<&str> = links
        .iter()
        .filter(|l| l.close.is_some_and(|c| c + 3 <= LINK_LINE_TEXT) && l.text.split(' ').count() >= 2)
        .map(|l| l.text.as_str())
        .collect();
    if texts.is_empty() {
        return text.to_string();
    }
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    text.split('\n').filter(|p| !texts.contains(norm(p).as_str())).collect::<Vec<_>>().join("\n")
}

/// How far after its start tag a link's text may end, in bytes, for a paragraph equal to it to
/// be taken for another story's headline.
const LINK_LINE_TEXT: usize = 1000;

/// How far after its start tag a link's text may end, in bytes, to be read as "next page".
const NEXT_LINK_TEXT: usize = 300;

/// One `<a …>` or `<link …>` start tag of a page, as the article layer reads it.
#[derive(Debug)]
struct Link {
    /// Whether it is an `<a>` (else a `<link>`).
    anchor: bool,
    /// Its `href`, unquoted.
    href: Option<String>,
    /// Its `rel` says `next`.
    rel_next: bool,
    /// An anchor's text up to its `</a` (whitespace collapsed, lower case); empty when the
    /// `</a` is not within [`LINK_LINE_TEXT`] bytes, or for a `<link>`.
    text: String,
    /// Where that `</a` starts, in bytes after the start tag, when found.
    close: Option<usize>,
}

/// Every `<a …>` and `<link …>` start tag of `html`, in one linear scan of the markup (not a
/// DOM): the next `>` is remembered between tags, and a "tag" running on for more than
/// [`MAX_TAG`] bytes is text, not markup.
fn scan_links(html: &str) -> Vec<Link> {
    let lower = html.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut next_gt = NextByte::new(b'>');
    let mut out = Vec::new();
    for at in memchr::memchr_iter(b'<', bytes) {
        let rest = &bytes[at + 1..];
        let name_len = if rest.starts_with(b"a") {
            1
        } else if rest.starts_with(b"link") {
            4
        } else {
            continue;
        };
        if !rest.get(name_len).is_some_and(|b| b.is_ascii_whitespace() || *b == b'>') {
            continue;
        }
        let gt = next_gt.at_or_after(bytes, at + 1);
        if gt >= bytes.len() {
            break;
        }
        if gt - at > MAX_TAG {
            continue;
        }
        let tag = &html[at + 1 + name_len..gt];
        let rel_next =
            attribute(tag, "rel").is_some_and(|r| r.split_ascii_whitespace().any(|v| v.eq_ignore_ascii_case("next")));
        let mut link =
            Link { anchor: name_len == 1, href: attribute(tag, "href"), rel_next, text: String::new(), close: None };
        if link.anchor {
            let start = gt + 1;
            let mut end = (start + LINK_LINE_TEXT).min(lower.len());
            while !lower.is_char_boundary(end) {
                end -= 1;
            }
            if let Some(close) = lower[start..end].find("</a") {
                let text = crate::markup::html_to_text(&html[start..start + close]);
                link.text = text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
                link.close = Some(close);
            }
        }
        out.push(link);
    }
    out
}

pub use crate::markup::check_selector;

/// Openings of a line that only points to another story: the teasers Indonesian (and other)
/// news sites put inside the article body.
const TEASER_OPENINGS: &[&str] = &[
    "baca juga",
    "baca:",
    "simak juga",
    "simak:",
    "lihat juga",
    "lihat:",
    "tonton juga",
    "saksikan juga",
    "artikel terkait",
    "berita terkait",
    "baca berita",
    "baca selengkapnya",
    "read also",
    "read more:",
    "also read",
    "related:",
    "see also:",
];

/// Lines that are page furniture whatever follows them.
const FURNITURE: &[&str] =
    &["advertisement", "scroll to continue with content", "iklan", "gulir untuk melanjutkan", "loading...", "loading"];

/// A teaser line is short: a headline behind a label, not a paragraph that starts so.
const TEASER_MAX_CHARS: usize = 220;

/// The text without teaser lines ("Baca Juga: …"), page furniture ("ADVERTISEMENT") and the
/// blank lines they leave; paragraphs stay separated by one blank line.
pub fn drop_teasers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || is_teaser(line) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(line);
    }
    out
}

/// Words the first paragraph an article keeps must have: shorter lines before it are
/// labels, bylines, dates and tags ("BREAKING NEWS", "05/10/2018 - Publicado por: …").
const LEAD_WORDS: usize = 5;

/// Words the last paragraph an article keeps must have: shorter lines after it are the
/// headlines, bylines and dates of other stories, share prompts and footers.
const TRAIL_WORDS: usize = 15;

/// The text without what extractors keep around an article's edges: a first paragraph that
/// repeats the page's headline, short lines before the first paragraph of at least
/// `LEAD_WORDS` (5) words, and short lines after the last paragraph of at least `TRAIL_WORDS` (15)
/// words. Short lines between (subheadings) stay. Measured on the article data set: precision
/// 0.928 → 0.945 for recall 0.989 → 0.976, F1 0.958 → 0.960.
pub fn trim_edges(text: &str, title: Option<&str>) -> String {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let mut paras: Vec<&str> = text.split("\n\n").filter(|p| !p.trim().is_empty()).collect();
    if let (Some(first), Some(t)) = (paras.first(), title) {
        let head = norm(first);
        if !head.is_empty() && norm(t).contains(&head) {
            paras.remove(0);
        }
    }
    let words = |p: &&str| p.split_whitespace().count();
    if let Some(first) = paras.iter().position(|p| words(p) >= LEAD_WORDS) {
        paras.drain(..first);
    }
    if let Some(last) = paras.iter().rposition(|p| words(p) >= TRAIL_WORDS) {
        paras.truncate(last + 1);
    }
    paras.join("\n\n")
}

fn is_teaser(line: &str) -> bool {
    let head: String = line.chars().take(40).collect::<String>().to_lowercase();
    let head = head.trim_start_matches(|c: char| !c.is_alphanumeric());
    if FURNITURE.iter().any(|f| head.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '.') == *f) {
        return true;
    }
    line.chars().count() <= TEASER_MAX_CHARS && TEASER_OPENINGS.iter().any(|t| head.starts_with(t))
}

/// The deepest nesting of elements, counted on the raw markup: every start tag that is not
/// void or self-closed opens a level, every end tag closes one. Elements often left open (p,
/// li, td, …) are not counted, so well-formed pages and sloppy ones read alike. Linear time.
pub fn nesting_depth(html: &str) -> usize {
    const UNCOUNTED: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "p",
        "li", "td", "th", "tr", "dt", "dd", "option", "tbody", "thead", "colgroup", "html", "head", "body",
    ];
    let bytes = html.as_bytes();
    let (mut depth, mut deepest) = (0usize, 0usize);
    // The next `>` at or after some position, found once and reused by every tag before it, so
    // a page of `<` without `>` costs one scan, not one per `<`.
    let mut next_gt = NextByte::new(b'>');
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &bytes[i..]) {
        let start = i + off + 1;
        let closing = bytes.get(start) == Some(&b'/');
        let name_start = if closing { start + 1 } else { start };
        let name_end =
            bytes[name_start..].iter().position(|b| !b.is_ascii_alphanumeric()).map_or(bytes.len(), |n| name_start + n);
        i = name_end.max(start);
        if name_end == name_start {
            continue;
        }
        let name = &html[name_start..name_end];
        if UNCOUNTED.iter().any(|u| u.eq_ignore_ascii_case(name)) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        let tag_end = next_gt.at_or_after(bytes, name_end);
        if tag_end > 0 && bytes.get(tag_end - 1) == Some(&b'/') {
            continue;
        }
        depth += 1;
        deepest = deepest.max(depth);
        if deepest > MAX_NESTING {
            // Past the limit the page is refused; counting further is wasted work.
            return deepest;
        }
        // The text of scripts and styles is not markup: skip to their end tag, found by one
        // scan of the `</` that follow.
        if name.eq_ignore_ascii_case("script") || name.eq_ignore_ascii_case("style") {
            let from = tag_end.min(bytes.len());
            let end = memchr::memmem::find_iter(&bytes[from..], b"</").map(|n| from + n).find(|&at| {
                bytes.get(at + 2..at + 2 + name.len()).is_some_and(|b| b.eq_ignore_ascii_case(name.as_bytes()))
            });
            i = end.unwrap_or(bytes.len());
        }
    }
    deepest
}

/// The next occurrence of a byte at or after a position, remembered between calls with
/// growing positions, so that many questions about one text cost one scan of it.
struct NextByte {
    byte: u8,
    /// The last answer (the text's length: none left).
    found: Option<usize>,
}

impl NextByte {
    fn new(byte: u8) -> NextByte {
        NextByte { byte, found: None }
    }

    fn at_or_after(&mut self, bytes: &[u8], from: usize) -> usize {
        match self.found {
            Some(f) if f >= from => f,
            _ => {
                let f = memchr::memchr(self.byte, &bytes[from.min(bytes.len())..]).map_or(bytes.len(), |n| from + n);
                self.found = Some(f);
                f
            }
        }
    }
}

/// The longest `<a …>` or `<link …>` start tag read for pagination links, in bytes.
const MAX_TAG: usize = 4096;

/// Link texts that lead to an article's next page (compared lower-cased and trimmed).
const NEXT_TEXTS: &[&str] = &[
    "halaman selanjutnya",
    "halaman berikutnya",
    "selanjutnya",
    "berikutnya",
    "lanjut",
    "next page",
    "next",
    "»",
    "›",
    "next »",
    "selanjutnya »",
];

/// Links to the article's further pages: `rel="next"` (a `<link>` or an `<a>`), an anchor
/// whose text says "next page" ("Halaman selanjutnya"), or one that names page 2..5
/// ("Halaman 2", "2"). Only links on the same site whose path continues the article's own
/// (the same path with another query or a page number appended) count, so a "next story"
/// link is never taken for a next page.
pub fn next_pages(html: &str, base: &Url) -> Vec<String> {
    next_pages_of(&scan_links(html), base)
}

/// [`next_pages`] from the links of a page already scanned.
fn next_pages_of(links: &[Link], base: &Url) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for link in links {
        let Some(href) = &link.href else { continue };
        let next = link.rel_next || {
            // An anchor's text, if it ends near: "Halaman selanjutnya", "Halaman 2", "2", …
            let text = &link.text;
            let near = link.anchor && link.close.is_some_and(|c| c + 3 <= NEXT_LINK_TEXT);
            let numbered = text
                .strip_prefix("halaman ")
                .or_else(|| text.strip_prefix("page "))
                .unwrap_or(text)
                .parse::<u32>()
                .is_ok_and(|n| (2..=5).contains(&n));
            near && (numbered || NEXT_TEXTS.contains(&text.as_str()))
        };
        if !next {
            continue;
        }
        let Ok(mut url) = base.join(crate::markup::decode_entities(href.trim()).as_str()) else { continue };
        url.set_fragment(None);
        if continues(base, &url) && !out.iter().any(|u| u == url.as_str()) {
            out.push(url.to_string());
        }
    }
    out.truncate(crate::article::MAX_PAGES - 1);
    out
}

/// The value of attribute `name` in the inside of a start tag (after its name), unquoted.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let b = tag.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let key_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let key = &tag[key_start..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let start = i + 1;
                    let end = memchr::memchr(q, &b[start..]).map_or(b.len(), |n| start + n);
                    i = end + 1;
                    &tag[start..end.min(tag.len())]
                }
                _ => {
                    let start = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    &tag[start..i]
                }
            }
        } else {
            ""
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(value.to_string());
        }
        if i == key_start {
            i += 1;
        }
    }
    None
}

/// Whether `next` continues the article at `base`: same scheme and host, a different URL, and
/// a path equal to the article's or extending it by a page segment (`/2`, `/page/2`), or with
/// a trailing page number swapped.
fn continues(base: &Url, next: &Url) -> bool {
    if next.scheme() != base.scheme() || next.host_str() != base.host_str() || next.port() != base.port() {
        return false;
    }
    if next == base {
        return false;
    }
    let stem = |p: &str| {
        let p = p.trim_end_matches('/');
        let trimmed = p.trim_end_matches(|c: char| c.is_ascii_digit());
        let trimmed = trimmed.trim_end_matches(['/', '-', '_']);
        let trimmed = trimmed.strip_suffix("/page").or_else(|| trimmed.strip_suffix("/halaman")).unwrap_or(trimmed);
        trimmed.to_string()
    };
    let (bp, np) = (base.path().trim_end_matches('/'), next.path().trim_end_matches('/'));
    bp == np || stem(np) == bp || stem(np) == stem(bp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teaser_lines_and_furniture_go_and_paragraphs_stay() {
        let text = "Paragraf pertama tentang Korea Utara.\n\nBaca Juga: Rusia Beli Roket dari Korut\n\
                    ADVERTISEMENT\nSCROLL TO CONTINUE WITH CONTENT\nbaca juga: Harga BBM naik\n\
                    Simak juga video ini\nLihat Juga : Foto-foto\nRead also: Something else\n\
                    Paragraf kedua tentang senjata.";
        assert_eq!(drop_teasers(text), "Paragraf pertama tentang Korea Utara.\n\nParagraf kedua tentang senjata.");
        // A real paragraph that happens to start with the words stays: it is long.
        let long = format!("Baca juga pernyataan lengkapnya, kata dia, {}", "yang panjang sekali ".repeat(15));
        assert_eq!(drop_teasers(&long), long.trim());
    }

    #[test]
    fn the_headline_and_short_lines_around_the_article_go_and_subheadings_stay() {
        let prose = "Rusia membeli jutaan roket dan peluru artileri dari Korea Utara untuk perang di Ukraina, kata pejabat intelijen Amerika Serikat pada hari Selasa.";
        let text = format!(
            "Rusia Beli Roket dari Korut\n\nBREAKING NEWS\n\n06/09/2022 - oleh Redaksi\n\n{prose}\n\nSenjata dari Pyongyang\n\n{prose}\n\nBerita lain: harga beras naik lagi\n\nBy REUTERS\n\n11/20/2019 10:08 AM"
        );
        assert_eq!(
            trim_edges(&text, Some("Rusia Beli Roket dari Korut | Berita")),
            format!("{prose}\n\nSenjata dari Pyongyang\n\n{prose}")
        );
        // Nothing long enough: left as it is, but for the headline.
        assert_eq!(trim_edges("Judul\n\nsatu dua", Some("Judul")), "satu dua");
        assert_eq!(trim_edges("satu dua\n\ntiga", None), "satu dua\n\ntiga");
    }

    #[test]
    fn a_paragraph_that_is_a_links_text_is_another_storys_headline() {
        let html = "<p>Isi berita.</p><ul><li><a href='/a/2'>Korea Utara Uji Rudal Baru</a></li>\
                    <li><a href=\"/a/3\" class=x>Harga <b>Beras</b> Naik</a></li></ul><a href=/x>OK</a>";
        let text = "Isi berita yang panjang.\nKorea Utara uji rudal baru\nHarga Beras Naik\nOK";
        assert_eq!(
            without_link_lines(text, &scan_links(html)),
            "Isi berita yang panjang.\nOK",
            "a one-word link text stays"
        );
        assert_eq!(without_link_lines(text, &scan_links("<p>no links</p>")), text);
    }

    #[test]
    fn nesting_depth_counts_open_elements_not_void_or_sloppy_ones() {
        assert_eq!(nesting_depth("<div><div><span>x</span></div></div>"), 3);
        assert_eq!(nesting_depth("<p>a<p>b<p>c<br><img src=x><hr/>"), 0);
        assert_eq!(nesting_depth("<script>if (a<b) { x = '<div><div>' }</script><div></div>"), 1);
        let deep = "<div>".repeat(100_000);
        assert_eq!(nesting_depth(&deep), MAX_NESTING + 1, "counting stops past the limit");
        assert_eq!(extract(&deep, None, None), Err(ExtractError::TooDeep));
    }

    #[test]
    fn next_pages_follow_the_article_not_the_next_story() {
        let base = Url::parse("https://news.example.id/berita/d-123/judul-berita").unwrap();
        let html = r#"<html><head><link rel="next" href="/berita/d-123/judul-berita/2"></head><body>
            <a href="/berita/d-999/cerita-lain">Selanjutnya</a>
            <a href="?page=3">Halaman 3</a>
            <a href="https://other.example/berita/d-123/judul-berita/2">Next</a>
            <a href="/berita/d-123/judul-berita/2#top">2</a>
            </body></html>"#;
        assert_eq!(
            next_pages(html, &base),
            [
                "https://news.example.id/berita/d-123/judul-berita/2",
                "https://news.example.id/berita/d-123/judul-berita?page=3",
            ]
        );
        // From page 2, page 3 continues the same article.
        let page2 = Url::parse("https://news.example.id/berita/d-123/judul-berita/2").unwrap();
        assert!(continues(&page2, &Url::parse("https://news.example.id/berita/d-123/judul-berita/3").unwrap()));
        assert!(!continues(&page2, &Url::parse("https://news.example.id/berita/d-124/lain").unwrap()));
    }

    #[test]
    fn a_selector_replaces_the_extractor_and_a_bad_one_is_refused() {
        let html = "<html><body><nav>Menu Utama</nav><div class='isi'><p>Satu.</p><p>Baca juga: X</p><p>Dua.</p></div>\
                    <aside>Populer: Korea Utara</aside></body></html>";
        let got = extract(html, None, Some("div.isi")).unwrap();
        assert_eq!(got.text, "Satu.\n\nDua.");
        assert_eq!(extract(html, None, Some("article.none")), Err(ExtractError::SelectorMissed("article.none".into())));
        assert!(check_selector("div.isi > p").is_ok());
        assert!(check_selector("div[").is_err());
        assert!(check_selector("  ").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Tag soup from a small alphabet of markup pieces never panics the extractor, the
        /// selector path or the pagination scan.
        #[test]
        fn tag_soup_never_panics(pieces in proptest::collection::vec(0usize..16, 0..400)) {
            const ALPHABET: [&str; 16] = [
                "<div>", "</div>", "<p>", "</p>", "<article>", "</article>", "<a href='?page=2'>", "</a>",
                "Korea Utara ", "senjata, ", "<script>var a='<div>';</script>", "<!--", "-->", "&amp;&#0;&#xD800;",
                "<table><tr><td>", "\u{0}\u{FFFD}\u{202E}",
            ];
            let html: String = pieces.iter().map(|&i| ALPHABET[i]).collect();
            let _ = extract(&html, Some("https://example.id/berita/1"), None);
            let _ = extract(&html, None, Some("article p"));
            let _ = nesting_depth(&html);
        }
    }

    #[test]
    fn the_markup_scans_are_linear_on_pages_built_to_make_them_quadratic() {
        // Each of these took hours when every tag rescanned or copied the rest of the page.
        let base = Url::parse("https://example.id/berita/1").unwrap();
        let styles = "<style></style>".repeat(200_000);
        assert_eq!(nesting_depth(&styles), 1);
        let open_anchors = "<a ".repeat(1_000_000);
        assert!(next_pages(&open_anchors, &base).is_empty());
        assert!(nesting_depth(&open_anchors) > MAX_NESTING, "a million unclosed <a> nest too deep");
        let far_gt = format!("{}{}>", "teks ".repeat(1000), "<link ".repeat(500_000));
        assert!(next_pages(&far_gt, &base).is_empty());
        // A selector over nested selected elements reads each text once.
        let nested = format!("{}{}{}", "<div class=\"c\">".repeat(1500), "isi ".repeat(100_000), "</div>".repeat(1500));
        let got = extract(&nested, None, Some("div.c")).unwrap();
        assert_eq!(got.text.matches("isi").count(), 100_000);
    }

    #[test]
    fn hostile_pages_give_an_error_or_text_never_a_panic() {
        for page in [
            String::new(),
            "\u{0}\u{1}\u{FFFD}garbage".repeat(1000),
            "<".repeat(10_000),
            "<p>".repeat(50_000),
            "<div><span>".repeat(900),
            "<table><tr><td>".repeat(3000),
            // Over a megabyte of text with a multi-byte character where a byte cut would fall.
            format!("<article>{}</article>", "<p>é Korea Utara senjata é</p>".repeat(60_000)),
        ] {
            let _ = extract(&page, Some("https://example.id/a"), None);
        }
    }
}
