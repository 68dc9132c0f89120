//! Reduction of HTML (feed-item bodies, article pieces, chat messages) to the text a reader actually sees.
//!
//! Feed bodies (RSS `description` / `content:encoded`, Atom `content`) carry HTML,
//! but watch rules must match visible text only: tag names, attribute values,
//! scripts, styles and comments must never produce a hit.
//!
//! The scanner is a single forward pass over the input bytes. All markup
//! delimiters are ASCII, so every slice taken is on a char boundary. Nothing
//! recurses on nesting depth; open-element state is kept in counters, so
//! arbitrarily deep or malformed markup costs linear time and constant stack.
//!
//! Layout rules, loosely following how browsers render `innerText`:
//! * paragraph-level blocks (`p`, headings, `blockquote`, `pre`, `table`,
//!   top-level lists, …) are separated by one blank line;
//! * line-level blocks (`div`, `li`, `tr`, `dt`, `dd`, `figcaption`, …) and
//!   `<br>` start a new line;
//! * table cells are separated by a space;
//! * whitespace runs collapse to one space outside `pre`; lines are trimmed,
//!   at most one blank line appears in a row, and the result is trimmed;
//! * input without any markup keeps its line structure (runs of blank lines
//!   collapse to one, spaces inside a line collapse).
//!
//! `&nbsp;` (and any decoded U+00A0) becomes an ordinary space, and soft
//! hyphens are removed from [`html_to_text`] output, so "cen&shy;ter" matches
//! "center".

use super::entities::decode_each;
use super::out::{Out, Ws};
use super::tags::{has_markup, raw_text_end, read_markup, Token};

/// Reduce an HTML fragment (or plain text) to the text a reader sees.
///
/// Never panics, runs in time linear in `input.len()` and uses no recursion.
#[must_use]
pub fn html_to_text(input: &str) -> String {
    let mut out = Out::with_capacity(input.len());
    if !has_markup(input.as_bytes()) {
        decode_each(input, &mut |piece| out.text(piece, Ws::Lines));
        return out.finish();
    }
    let mut walker = Walker { src: input, out, list_depth: 0, pre_depth: 0, skip: None };
    walker.run();
    walker.out.finish()
}

/// Longest tag name that any classification below cares about, with margin.
const MAX_NAME: usize = 12;

/// Lower-cased copy of a tag name, or `None` if it is too long to be one we know.
fn lower_name(raw: &[u8]) -> Option<([u8; MAX_NAME], usize)> {
    if raw.len() > MAX_NAME {
        return None;
    }
    let mut buf = [0u8; MAX_NAME];
    for (dst, src) in buf.iter_mut().zip(raw) {
        *dst = src.to_ascii_lowercase();
    }
    Some((buf, raw.len()))
}

/// Elements whose content is raw text (not parsed as markup).
enum RawText {
    /// Content is invisible and dropped.
    Hidden,
    /// Content is visible text with character references (`textarea`).
    Visible,
}

fn raw_text_kind(name: &[u8]) -> Option<RawText> {
    match name {
        b"script" | b"style" | b"iframe" | b"noscript" | b"noembed" | b"noframes" | b"title" => Some(RawText::Hidden),
        b"textarea" => Some(RawText::Visible),
        _ => None,
    }
}

/// Elements whose whole subtree (parsed as markup) is invisible.
fn hidden_subtree(name: &[u8]) -> Option<&'static [u8]> {
    Some(match name {
        b"head" => b"head",
        b"template" => b"template",
        b"svg" => b"svg",
        b"object" => b"object",
        b"applet" => b"applet",
        b"video" => b"video",
        b"audio" => b"audio",
        b"canvas" => b"canvas",
        b"frameset" => b"frameset",
        _ => return None,
    })
}

/// Layout effect of an element boundary.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Inline,
    Cell,
    Line,
    Paragraph,
}

fn layout_of(name: &[u8]) -> Layout {
    match name {
        b"p" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"blockquote" | b"pre" | b"listing" | b"hr"
        | b"table" | b"figure" | b"dl" | b"address" | b"article" | b"section" | b"aside" | b"header" | b"footer"
        | b"nav" | b"main" | b"fieldset" | b"form" | b"details" | b"hgroup" => Layout::Paragraph,
        b"div" | b"li" | b"dt" | b"dd" | b"tr" | b"thead" | b"tbody" | b"tfoot" | b"caption" | b"figcaption"
        | b"summary" | b"legend" | b"option" | b"optgroup" | b"center" | b"body" | b"html" | b"dialog" | b"search"
        | b"dir" => Layout::Line,
        b"td" | b"th" => Layout::Cell,
        _ => Layout::Inline,
    }
}

fn is_list(name: &[u8]) -> bool {
    matches!(name, b"ul" | b"ol" | b"menu")
}

fn is_preformatted(name: &[u8]) -> bool {
    matches!(name, b"pre" | b"listing")
}

/// Single forward pass over markup, tracking only counters for open elements.
struct Walker<'a> {
    src: &'a str,
    out: Out,
    /// Open `ul`/`ol`/`menu` elements; nested lists get line rather than paragraph breaks.
    list_depth: usize,
    /// Open `pre`/`listing` elements.
    pre_depth: usize,
    /// Inside a hidden subtree: the element name and how many of it are open.
    skip: Option<(&'static [u8], usize)>,
}

impl Walker<'_> {
    fn run(&mut self) {
        let src = self.src;
        let b = src.as_bytes();
        let mut text_start = 0;
        let mut i = 0;
        while i < b.len() {
            match memchr::memchr(b'<', &b[i..]) {
                Some(off) => i += off,
                None => break,
            }
            let Some((token, mut next)) = read_markup(b, i) else {
                i += 1;
                continue;
            };
            self.flow_text(&src[text_start..i]);
            match token {
                Token::Start { name, self_closing } => {
                    let raw = &b[name.0..name.1];
                    let lowered = lower_name(raw);
                    let name = lowered.as_ref().map_or(&[][..], |(buf, len)| &buf[..*len]);
                    self.start_tag(name, self_closing);
                    if !self_closing {
                        if let Some(kind) = raw_text_kind(name) {
                            let (content_end, after) = raw_text_end(b, next, name);
                            if matches!(kind, RawText::Visible) {
                                self.flow_text(&src[next..content_end]);
                                self.out.soft_space();
                            }
                            next = after;
                        }
                    }
                }
                Token::End { name } => {
                    let raw = &b[name.0..name.1];
                    if let Some((buf, len)) = lower_name(raw) {
                        self.end_tag(&buf[..len]);
                    }
                }
                Token::Cdata(start, end) => {
                    if self.skip.is_none() {
                        let ws = self.ws();
                        self.out.text(&src[start..end], ws);
                    }
                }
                Token::Ignored => {}
            }
            i = next;
            text_start = next;
        }
        self.flow_text(&src[text_start..]);
    }

    fn ws(&self) -> Ws {
        if self.pre_depth > 0 {
            Ws::Pre
        } else {
            Ws::Collapse
        }
    }

    /// Ordinary text between tags: decode references and append unless hidden.
    fn flow_text(&mut self, text: &str) {
        if text.is_empty() || self.skip.is_some() {
            return;
        }
        let ws = self.ws();
        let out = &mut self.out;
        decode_each(text, &mut |piece| out.text(piece, ws));
    }

    fn start_tag(&mut self, name: &[u8], self_closing: bool) {
        if let Some((skipped, depth)) = &mut self.skip {
            if name == *skipped && !self_closing {
                *depth += 1;
            } else if *skipped == b"head" && name == b"body" {
                // A body start tag implicitly closes an unterminated head.
                self.skip = None;
                self.out.block_break(1);
            }
            return;
        }
        if !self_closing {
            if let Some(hidden) = hidden_subtree(name) {
                self.skip = Some((hidden, 1));
                return;
            }
        }
        if name == b"br" {
            self.out.line_break();
        } else if is_list(name) {
            self.out.block_break(if self.list_depth > 0 { 1 } else { 2 });
            if !self_closing {
                self.list_depth += 1;
            }
        } else {
            self.apply_layout(layout_of(name));
            if is_preformatted(name) && !self_closing {
                self.pre_depth += 1;
            }
        }
    }

    fn end_tag(&mut self, name: &[u8]) {
        if let Some((skipped, depth)) = &mut self.skip {
            if name == *skipped {
                *depth -= 1;
                if *depth == 0 {
                    self.skip = None;
                }
            }
            return;
        }
        if name == b"br" {
            // Browsers treat a stray </br> as <br>.
            self.out.line_break();
        } else if is_list(name) {
            self.list_depth = self.list_depth.saturating_sub(1);
            self.out.block_break(if self.list_depth > 0 { 1 } else { 2 });
        } else {
            if is_preformatted(name) {
                self.pre_depth = self.pre_depth.saturating_sub(1);
            }
            self.apply_layout(layout_of(name));
        }
    }

    fn apply_layout(&mut self, layout: Layout) {
        match layout {
            Layout::Inline => {}
            Layout::Cell => self.out.soft_space(),
            Layout::Line => self.out.block_break(1),
            Layout::Paragraph => self.out.block_break(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markup::decode_entities;

    fn t(input: &str) -> String {
        html_to_text(input)
    }

    /// Invariants every output must satisfy, whatever the input.
    fn assert_normalised(out: &str) {
        assert_eq!(out, out.trim(), "result must be trimmed: {out:?}");
        assert!(!out.contains("\n\n\n"), "more than one blank line: {out:?}");
        for line in out.lines() {
            assert_eq!(line, line.trim_end(), "line not trimmed: {line:?}");
        }
    }

    #[test]
    fn whitespace_anywhere_in_long_runs_is_collapsed() {
        // Runs of plain ASCII are copied block by block; breaks at every offset around a block
        // edge must still collapse, in flow text, in markup-free text and inside <pre>.
        for at in 0..40 {
            for ws in ["  ", "\t", "\n", " \n ", "\u{A0}", " é "] {
                let words = format!("{}{ws}{}", "x y".repeat(at / 3 + 1).get(..at).unwrap_or(""), "z w".repeat(8));
                let collapsed = words.split_whitespace().collect::<Vec<_>>().join(" ");
                assert_eq!(t(&format!("<p>{words}</p>")), collapsed, "{words:?}");
                let lines: Vec<String> =
                    words.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
                assert_eq!(t(&words), lines.join("\n").trim(), "{words:?}");
                let pre = t(&format!("<pre>{words}</pre>"));
                let kept: Vec<&str> = words.lines().map(str::trim_end).collect();
                assert_eq!(pre, kept.join("\n").replace('\u{A0}', " ").trim(), "{words:?}");
            }
        }
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_not_text() {
        let esc = "\u{1b}[31mMerah\u{1b}[0m \u{7}Korea\u{0}\u{9b}1m Utara\u{202E}kiri\u{2066}x\u{2069}";
        let want = "Merah Korea Utarakirix";
        assert_eq!(t(esc), want, "markup-free text");
        assert_eq!(t(&format!("<p>{esc}</p>")), want, "flow text");
        assert_eq!(t(&format!("<pre>{esc}</pre>")), want, "preformatted text");
        assert_eq!(t("<b>a&#27;[2J&#7;b&#x81;c&#x202e;d&#x9B;</b>"), "abcd›", "references (0x9B is windows-1252)");
        assert_eq!(t("<p>\u{1b}]0;title\u{7}Judul</p><p>\u{1b}[1mTebal\u{1b}[0m teks</p>"), "Judul\n\nTebal teks");
        // Vertical tab and form feed are white space, not nothing.
        assert_eq!(t("a\u{b}b\u{c}c"), "a b c");
        assert_eq!(decode_entities("&#27;"), "\u{1b}", "decoding alone keeps what it decodes");
    }

    #[test]
    fn sample_feed_paragraphs() {
        let input = "<p>Tangerang Selatan, IDN Times - Intelijen Amerika Serikat (AS) ...</p>\
                     <p>Berbicara secara anonim ...</p>";
        assert_eq!(
            t(input),
            "Tangerang Selatan, IDN Times - Intelijen Amerika Serikat (AS) ...\n\n\
             Berbicara secara anonim ..."
        );
    }

    #[test]
    fn attributes_do_not_leak() {
        assert_eq!(t(r#"<div class="center-wrap">x</div>"#), "x");
        assert_eq!(t(r#"<a href="https://e.com/center" title='center'>link</a>"#), "link");
        assert!(!t("<span data-x=center>y</span>").contains("center"));
    }

    #[test]
    fn quoted_attribute_may_contain_gt() {
        assert_eq!(t(r#"<a title="a > b" href='x>y'>link</a> after"#), "link after");
    }

    #[test]
    fn script_dropped_even_with_markup_inside() {
        let input = "<p>a</p><script type=\"text/javascript\">if (a<b) { x = \"</p><p>leak\"; }</script><p>b</p>";
        assert_eq!(t(input), "a\n\nb");
    }

    #[test]
    fn style_dropped_case_insensitive() {
        assert_eq!(t("<STYLE>.center{color:red}</StYlE>Visible"), "Visible");
        assert_eq!(t("x<style>p{}</style >y"), "xy");
    }

    #[test]
    fn other_hidden_elements_dropped() {
        let input = "<noscript>enable js</noscript>\
                     <template><p>tpl</p></template>\
                     <svg><svg><text>inner</text></svg><text>outer</text></svg>\
                     <iframe src=x>frame text</iframe>\
                     <object data=x><p>fallback</p></object>\
                     <p>kept</p>";
        assert_eq!(t(input), "kept");
    }

    #[test]
    fn full_document_head_and_title_dropped() {
        let input = "<!DOCTYPE html><html><head><title>Page title</title>\
                     <meta charset=utf-8><style>body{}</style></head>\
                     <body><h1>Heading</h1><p>Body text</p></body></html>";
        assert_eq!(t(input), "Heading\n\nBody text");
    }

    #[test]
    fn unclosed_head_ends_at_body() {
        assert_eq!(t("<head><meta name=x><body><p>hi</p>"), "hi");
    }

    #[test]
    fn unclosed_script_drops_rest() {
        assert_eq!(t("before<script>var x = 1; <p>never"), "before");
    }

    #[test]
    fn self_closing_hidden_elements_hide_nothing() {
        assert_eq!(t("<svg/>a <script src=x /> b"), "a b");
    }

    #[test]
    fn entities_in_html_text_and_escaped_markup_stays_text() {
        assert_eq!(t("<p>Fish &amp; Chips &lt;b&gt;</p>"), "Fish & Chips <b>");
        assert_eq!(t("<p>caf&eacute; &#x2014; 5&nbsp;&euro;</p>"), "café — 5 €");
    }

    #[test]
    fn nbsp_is_plain_space_and_collapses() {
        assert_eq!(t("<p>a&nbsp;&nbsp; &#160;b</p>"), "a b");
        assert_eq!(decode_entities("a&nbsp;b&#xA0;c"), "a b c");
        assert_eq!(t("a\u{A0}\u{A0}b"), "a b");
    }

    #[test]
    fn lone_less_than_is_text() {
        assert_eq!(t("a < b"), "a < b");
        assert_eq!(t("x<3"), "x<3");
        assert_eq!(t("<p>a <= b and 3<4, see <></p>"), "a <= b and 3<4, see <>");
        assert_eq!(t("ends with <"), "ends with <");
        assert_eq!(t("<b>bold</b> x<ä>"), "bold x<ä>");
    }

    #[test]
    fn unclosed_tag_dropped_to_end() {
        assert_eq!(t("<p>Hello</p><p class=\"x"), "Hello");
        assert_eq!(t("<p>Hello</p><p class=x"), "Hello");
        assert_eq!(t("Hello <a href=\"x>unterminated quote"), "Hello");
        assert_eq!(t("Hello </p"), "Hello");
    }

    #[test]
    fn comments_removed() {
        assert_eq!(t("a<!-- <p>hidden</p> -->b"), "ab");
        assert_eq!(t("a<!---->b<!-->c<!--->d"), "abcd");
        assert_eq!(t("keep<!-- never closed <p>gone"), "keep");
        assert_eq!(t("<p>x</p><!-- c1 --><!-- c2 --><p>y</p>"), "x\n\ny");
    }

    #[test]
    fn cdata_text_kept_literally() {
        assert_eq!(t("<p><![CDATA[a &amp; <b>not a tag</b>]]> z</p>"), "a &amp; <b>not a tag</b> z");
        assert_eq!(t("x <![CDATA[unterminated"), "x unterminated");
    }

    #[test]
    fn doctype_and_processing_instructions_dropped() {
        assert_eq!(t("<?xml version=\"1.0\"?><!DOCTYPE html><p>hi</p>"), "hi");
        assert_eq!(t("a</ bogus>b</>c"), "abc");
    }

    #[test]
    fn br_and_paragraph_layout() {
        assert_eq!(t("line1<br>line2<BR/>line3<br />line4"), "line1\nline2\nline3\nline4");
        assert_eq!(t("a<br><br>b"), "a\n\nb");
        assert_eq!(t("<p>a<br></p><p>b</p>"), "a\n\nb");
        assert_eq!(t("a</br>b"), "a\nb");
    }

    #[test]
    fn list_items_on_own_lines() {
        assert_eq!(
            t("<p>Intro</p><ul><li>one</li><li>two</li><li>three</ul><p>End</p>"),
            "Intro\n\none\ntwo\nthree\n\nEnd"
        );
        // Unclosed <li> (legal HTML) still splits lines.
        assert_eq!(t("<ol><li>a<li>b</ol>"), "a\nb");
    }

    #[test]
    fn nested_lists() {
        let input = "<ul><li>fruit<ul><li>apple</li><li>pear</li></ul></li><li>veg</li></ul>after";
        assert_eq!(t(input), "fruit\napple\npear\nveg\n\nafter");
    }

    #[test]
    fn headings_blockquote_divs_and_tables() {
        assert_eq!(t("<h2>Title</h2>text<blockquote>quote</blockquote>"), "Title\n\ntext\n\nquote");
        assert_eq!(t("<div>a</div><div>b</div>"), "a\nb");
        assert_eq!(t("<table><tr><th>k</th><th>v</th></tr><tr><td>x</td><td>1</td></tr></table>"), "k v\nx 1");
        assert_eq!(t("<dl><dt>term</dt><dd>def</dd></dl>"), "term\ndef");
        assert_eq!(t("a<hr>b"), "a\n\nb");
    }

    #[test]
    fn inline_tags_do_not_split_words() {
        assert_eq!(t("foo<b>bar</b><i>baz</i> <em>qux</em>"), "foobarbaz qux");
        assert_eq!(t("<span>a</span><span> b</span>"), "a b");
    }

    #[test]
    fn whitespace_collapses_and_lines_trim() {
        assert_eq!(t("<p>  lots \n\t of   \r\n space  </p>\n\n  <p>\n next </p>"), "lots of space\n\nnext");
        assert_eq!(t("  <div>  </div>  <p> </p> "), "");
        assert_eq!(t("<p></p><p></p><p>x</p><p></p><br><br><br><br><p>y</p>"), "x\n\ny");
    }

    #[test]
    fn pre_preserves_whitespace() {
        let input = "<p>code:</p><pre>fn main() {\n    let  x = 1;\n\n\n\n}  </pre><p>done</p>";
        assert_eq!(t(input), "code:\n\nfn main() {\n    let  x = 1;\n\n}\n\ndone");
        assert_eq!(t("<PRE>a\tb</PRE> c   d"), "a\tb\n\nc d");
    }

    #[test]
    fn plain_text_unchanged_apart_from_whitespace() {
        assert_eq!(t("Hello, world."), "Hello, world.");
        assert_eq!(t("  Breaking:   quake   hits   "), "Breaking: quake hits");
        assert_eq!(t("line one  \r\nline two\n\n\n\n  para two"), "line one\nline two\n\npara two");
        assert_eq!(t("Q&amp;A: 2 &lt; 3"), "Q&A: 2 < 3");
        assert_eq!(t(""), "");
    }

    #[test]
    fn emoji_and_rtl_preserved() {
        let family = "👨\u{200D}👩\u{200D}👧";
        assert_eq!(t(&format!("<p>{family} 🇮🇩 ok</p>")), format!("{family} 🇮🇩 ok"));
        let arabic = "مرحبا بالعالم";
        let hebrew = "שלום עולם";
        assert_eq!(
            t(&format!("<p dir=\"rtl\">{arabic}</p><div>\u{200F}{hebrew}</div>")),
            format!("{arabic}\n\n\u{200F}{hebrew}")
        );
        assert_eq!(t("<p>日本語<b>テキスト</b></p>"), "日本語テキスト");
    }

    #[test]
    fn images_dropped_without_alt() {
        assert_eq!(
            t(r#"before<img src="https://t.example/pixel.gif" alt="tracking center" width=1 height=1>after"#),
            "beforeafter"
        );
    }

    #[test]
    fn soft_hyphen_removed_for_matching() {
        assert_eq!(t("cen&shy;ter cen\u{AD}ter"), "center center");
    }

    #[test]
    fn textarea_content_is_visible_text() {
        assert_eq!(t("<textarea>1 <b> &amp; 2</textarea>x"), "1 <b> & 2 x");
    }

    #[test]
    fn uppercase_and_odd_tag_syntax() {
        assert_eq!(t("<P CLASS=X>a</P><DIV\n  id=y\n>b</DIV>"), "a\n\nb");
        assert_eq!(t("<p/>x"), "x");
    }

    #[test]
    fn megabyte_input() {
        let para = "<p class=\"c\">Berita hari ini &amp; besok <b>penting</b></p>\n";
        let mut input = String::new();
        while input.len() < 1_000_000 {
            input.push_str(para);
        }
        let count = input.len() / para.len();
        let out = t(&input);
        let expected_para = "Berita hari ini & besok penting";
        assert_eq!(out.split("\n\n").count(), count);
        assert!(out.split("\n\n").all(|p| p == expected_para));

        // Plain text of a megabyte is handled too.
        let plain = "kata ".repeat(200_000);
        assert_eq!(t(&plain).len(), plain.len() - 1);
    }

    #[test]
    fn deep_nesting() {
        let depth = 100_000;
        let mut input = "<div><b>".repeat(depth);
        input.push_str("deep &amp; text");
        input.push_str(&"</b></div>".repeat(depth));
        assert_eq!(t(&input), "deep & text");

        let lists = format!("{}x{}", "<ul><li>".repeat(depth), "</li></ul>".repeat(depth));
        assert_eq!(t(&lists), "x");

        let hidden = format!("a{}b{}c", "<svg>".repeat(depth), "</svg>".repeat(depth));
        assert_eq!(t(&hidden), "ac");
    }

    #[test]
    fn pathological_inputs_complete() {
        let n = 200_000;
        // Many unterminated constructs: each must not rescan the tail.
        assert_eq!(t(&"<a".repeat(n)), "");
        assert_eq!(t(&format!("x{}", "<!--".repeat(n))), "x");
        assert_eq!(t(&format!("x<script>{}", "</scrip".repeat(n))), "x");
        assert_eq!(decode_entities(&"&amp".repeat(n)), "&".repeat(n));
        let ampersands = "&".repeat(n) + &"a".repeat(n);
        assert_eq!(decode_entities(&ampersands), ampersands);
        assert_eq!(t(&"a < ".repeat(n)).len(), 4 * n - 1);
    }

    #[test]
    fn arbitrary_fragments_never_panic() {
        let pieces = [
            "<",
            ">",
            "</",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "&",
            "&#",
            "&#x",
            ";",
            "&amp",
            "\"",
            "'",
            "=",
            "/",
            "<p",
            "</p>",
            "<script>",
            "</script>",
            "<svg>",
            "</svg>",
            "<pre>",
            "</pre>",
            "<ul>",
            "</ul>",
            "<li>",
            "<br>",
            "é",
            "😀",
            "日",
            " ",
            "\n",
            "\r",
            "\t",
            "x",
            "\u{A0}",
            "<head>",
            "<body>",
            "<?",
            "<!x",
            "<textarea>",
            "&eacute;",
            "&#xD800;",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3_000 {
            let mut input = String::new();
            for _ in 0..24 {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                input.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            }
            let out = t(&input);
            assert_normalised(&out);
            let _ = decode_entities(&input);
        }
    }

    #[test]
    fn output_invariants_on_mixed_markup() {
        let input = "  <div>\n <p> a </p>\n\n<br><br><br>\n<p>b <br> </p> <pre>\n  c  \n\n\n</pre> </div>  ";
        let out = t(input);
        assert_normalised(&out);
        assert_eq!(out, "a\n\nb\n\n  c");
    }
}
