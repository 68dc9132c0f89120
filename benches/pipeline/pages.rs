//! The article pages of `--articles`: news-site HTML for the items of feeds with
//! `fetch_article`, carrying words no feed has, and the rules that watch those words.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::corpus::{
    capitalize, gen_item, rfc3339, sentence, word, word_list, xml_escape, FeedMeta, Lang, Lexicon, Rng, RuleSpec,
    CATEGORIES, ENTITIES, RULE_SALT,
};

/// Seed salt of article pages and their rules ("arti").
const ARTICLE_SALT: u64 = 0x6172_7469;

/// Syllables of the words that only article pages carry. The lexicon's syllables have no q, x
/// or z, so none of these words can occur in a feed: a rule on one matches an article's text
/// or nothing.
static ARTICLE_SYLLABLES: LazyLock<Vec<&str>> =
    LazyLock::new(|| word_list(include_str!("../data/pipeline/article_syllables.txt")));

/// How many article-only words there are (each page carries one to three of them).
const ARTICLE_WORDS: usize = 2_000;

/// Share of article links that answer 404 (a page that cannot be read).
const ARTICLE_MISSING: f64 = 0.02;

/// The words only article pages carry, drawn from `seed`.
pub fn article_words(seed: u64) -> Vec<String> {
    let mut rng = Rng::derive(seed, ARTICLE_SALT, 0);
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(ARTICLE_WORDS);
    while out.len() < ARTICLE_WORDS {
        let w: String = (0..3).map(|_| *rng.pick(&ARTICLE_SYLLABLES[..])).collect();
        if seen.insert(w.clone()) {
            out.push(w);
        }
    }
    out
}

/// Whether feed `idx` reads its articles under `--articles` with `pct` % of the feeds doing so.
pub fn is_article_feed(idx: usize, pct: f64) -> bool {
    if pct <= 0.0 {
        return false;
    }
    let every = (100.0 / pct).round().max(1.0) as usize;
    idx % every == every / 3
}

/// Whether the page of item `j` of feed `idx` is missing (the server answers 404).
pub fn article_missing(seed: u64, idx: usize, j: usize) -> bool {
    Rng::derive(seed, ARTICLE_SALT ^ 0x404, ((idx as u64) << 24) | j as u64).chance(ARTICLE_MISSING)
}

/// The path of item `j`'s page as the feed links it, without the origin.
pub fn article_path(feed: &FeedMeta, j: usize, title: &str, published: i64) -> String {
    let ymd = chrono::DateTime::from_timestamp(published, 0).unwrap_or_default().format("%Y/%m/%d").to_string();
    let slug: String = title
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .take(8)
        .collect::<Vec<_>>()
        .join("-");
    format!("/article/{}/{j}/{ymd}/{slug}", feed.idx)
}

/// A headline for the sidebar, teasers and lists: 6–11 words, most capitalised.
fn headline(lex: &Lexicon, lang: Lang, rng: &mut Rng) -> String {
    let n = rng.range(6, 11);
    let mut words = Vec::with_capacity(n);
    for i in 0..n {
        if i == 1 && rng.chance(0.25) {
            words.push(rng.pick(&ENTITIES[..]).to_string());
            continue;
        }
        let mut w = String::new();
        word(lex, lang, rng, &mut w);
        words.push(if i == 0 || rng.chance(0.6) { capitalize(&w) } else { w });
    }
    words.join(" ")
}

/// One paragraph of 40–80 words in sentences of 8–20, with `inserts` placed at random words.
fn article_paragraph(lex: &Lexicon, lang: Lang, rng: &mut Rng, inserts: &[&str], out: &mut String) {
    let n = rng.range(40, 80);
    let at: Vec<usize> = inserts.iter().map(|_| rng.range(0, n - 1)).collect();
    let (mut in_sentence, mut sentence_len) = (0, rng.range(8, 20));
    out.push_str("<p>");
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        let start = out.len();
        if let Some(k) = at.iter().position(|&p| p == i) {
            out.push_str(inserts[k]);
        } else if rng.chance(0.03) {
            out.push_str(rng.pick::<&str>(&ENTITIES[..]));
        } else if rng.chance(0.01) {
            out.push_str("<strong>");
            word(lex, lang, rng, out);
            out.push_str("</strong>");
        } else {
            word(lex, lang, rng, out);
        }
        if in_sentence == 0 {
            if let Some(first) = out[start..].chars().next().filter(|c| c.is_ascii_lowercase()) {
                out.replace_range(start..start + 1, &first.to_ascii_uppercase().to_string());
            }
        }
        in_sentence += 1;
        if in_sentence >= sentence_len || i + 1 == n {
            out.push(if rng.chance(0.06) { '?' } else { '.' });
            in_sentence = 0;
            sentence_len = rng.range(8, 20);
        } else if rng.chance(0.05) {
            out.push(',');
        }
    }
    out.push_str("</p>\n");
}

/// The HTML page of item `j` of `feed`, shaped like an Indonesian or English news site: head
/// with meta tags, styles and JSON-LD; header and navigation; breadcrumb, headline, byline and
/// date; a figure; 5–10 paragraphs of 40–80 words with a "Baca Juga:" / "Read also:" teaser
/// line among them; tags and a share bar; comments; a sidebar of other headlines; a footer; and
/// inline scripts (ad slots, page state) up to a size of 20–60 KB. One to three article-only
/// words (see [`article_words`]) occur in the paragraphs, and nowhere in the feed.
pub fn render_article(lex: &Lexicon, art_words: &[String], seed: u64, feed: &FeedMeta, j: usize) -> Vec<u8> {
    let item = gen_item(lex, seed, feed, j);
    let mut rng = Rng::derive(seed, ARTICLE_SALT ^ (feed.idx as u64 + 1), j as u64 + 1);
    let lang = feed.lang;
    let id = lang == Lang::Id;
    let target = rng.range(20_000, 60_000);
    let site = format!("{} {}", if id { "Berita" } else { "News" }, feed.name);
    let origin = feed.article_origin.as_deref().unwrap_or("");
    let url = format!("{origin}{}", article_path(feed, j, &item.title, item.published));
    let category = item.categories.first().copied().unwrap_or("News");
    let when = chrono::DateTime::from_timestamp(item.published + 7 * 3600, 0).unwrap_or_default();
    let mut out = String::with_capacity(target + 8192);

    // Head.
    out.push_str(&format!("<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", if id { "id" } else { "en" }));
    xml_escape(&item.title, &mut out);
    out.push_str(&format!(" - {site}</title>\n<meta name=\"description\" content=\""));
    xml_escape(&item.summary, &mut out);
    out.push_str("\">\n<meta property=\"og:title\" content=\"");
    xml_escape(&item.title, &mut out);
    out.push_str(&format!("\">\n<meta property=\"og:type\" content=\"article\">\n<meta property=\"og:url\" content=\"{url}\">\n<meta property=\"og:image\" content=\"https://cdn.example.org/img/{}-{j}.jpg\">\n<link rel=\"canonical\" href=\"{url}\">\n", feed.idx));
    out.push_str("<style>body{margin:0;font-family:Helvetica,Arial,sans-serif;color:#222}.site-header{background:#0b3d91;color:#fff}.main-nav ul{display:flex;list-style:none;margin:0;padding:0 16px}.main-nav a{color:#fff;padding:12px;display:block;text-decoration:none}.container{display:flex;max-width:1160px;margin:0 auto}main{flex:1 1 760px;padding:16px}.sidebar{flex:0 0 340px;padding:16px}.detail__title{font-size:32px;line-height:1.2}.detail__body-text p{font-size:18px;line-height:1.6}.baca-juga{border-left:4px solid #0b3d91;padding-left:8px}.site-footer{background:#111;color:#aaa;padding:24px}.ads{min-height:250px;background:#f4f4f4}</style>\n");
    let ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": item.title,
        "datePublished": rfc3339(item.published),
        "author": { "@type": "Person", "name": item.author },
        "publisher": { "@type": "Organization", "name": site },
        "mainEntityOfPage": url,
    });
    out.push_str(&format!("<script type=\"application/ld+json\">{ld}</script>\n</head>\n"));

    // Header and navigation.
    out.push_str(&format!("<body class=\"page-article\">\n<header class=\"site-header\">\n<a class=\"logo\" href=\"{origin}/\">{site}</a>\n<nav class=\"main-nav\"><ul>\n<li><a href=\"{origin}/\">Home</a></li>\n"));
    for _ in 0..rng.range(12, 20) {
        let c = *rng.pick(&CATEGORIES[..]);
        out.push_str(&format!("<li><a href=\"{origin}/kanal/{}\">{c}</a></li>\n", c.to_lowercase()));
    }
    out.push_str("</ul></nav>\n<div class=\"ads ads--top\" id=\"div-gpt-ad-top\"></div>\n</header>\n");

    // The article.
    out.push_str(&format!("<div class=\"container\">\n<main>\n<div class=\"breadcrumb\"><a href=\"{origin}/\">Home</a> › <a href=\"{origin}/kanal/{}\">{category}</a></div>\n<article class=\"detail\">\n<h1 class=\"detail__title\">", category.to_lowercase()));
    xml_escape(&item.title, &mut out);
    out.push_str(&format!(
        "</h1>\n<div class=\"detail__author\">{} - {site}</div>\n<div class=\"detail__date\">{}</div>\n",
        item.author,
        when.format(if id { "%d/%m/%Y, %H:%M WIB" } else { "%B %-d, %Y %H:%M" })
    ));
    out.push_str(&format!("<figure class=\"detail__media\"><img src=\"https://cdn.example.org/img/{}-{j}.jpg\" alt=\"foto\" width=\"800\" height=\"450\"><figcaption>", feed.idx));
    sentence(lex, lang, &mut rng, false, &mut out);
    out.push_str("</figcaption></figure>\n<div class=\"detail__body-text\">\n");
    let paragraphs = rng.range(5, 10);
    let mut inserts: Vec<Vec<&str>> = vec![Vec::new(); paragraphs];
    for _ in 0..rng.range(1, 3) {
        let p = rng.range(0, paragraphs - 1);
        inserts[p].push(rng.pick(art_words).as_str());
    }
    let teaser_after = rng.range(1, paragraphs.min(4) - 1);
    for (p, words) in inserts.iter().enumerate() {
        article_paragraph(lex, lang, &mut rng, words, &mut out);
        if p == teaser_after {
            let other = rng.range(0, j + feed.count);
            let title = headline(lex, lang, &mut rng);
            out.push_str(&format!(
                "<p class=\"baca-juga\"><strong>{}</strong> <a href=\"{origin}{}\">",
                if id { "Baca Juga:" } else { "Read also:" },
                article_path(feed, other, &title, item.published - 3600)
            ));
            xml_escape(&title, &mut out);
            out.push_str("</a></p>\n");
        }
    }
    out.push_str("</div>\n<div class=\"detail__tags\">Tag: ");
    for _ in 0..rng.range(3, 6) {
        let mut w = String::new();
        word(lex, lang, &mut rng, &mut w);
        out.push_str(&format!("<a href=\"{origin}/tag/{w}\">{w}</a> "));
    }
    out.push_str(&format!("</div>\n<div class=\"share-bar\">{} <a href=\"https://www.facebook.com/sharer.php?u={url}\">Facebook</a> <a href=\"https://twitter.com/intent/tweet?url={url}\">X</a> <a href=\"https://wa.me/?text={url}\">WhatsApp</a> <a href=\"https://t.me/share/url?url={url}\">Telegram</a></div>\n</article>\n", if id { "Bagikan:" } else { "Share:" }));
    out.push_str(&format!(
        "<section class=\"comments\"><h3>{}</h3><p>{}</p></section>\n</main>\n",
        if id { "Komentar" } else { "Comments" },
        if id { "Silakan login untuk berkomentar." } else { "Log in to comment." }
    ));

    // The sidebar: other headlines, until the page has about 60 % of its size in markup.
    out.push_str(&format!(
        "<aside class=\"sidebar\">\n<h3>{}</h3>\n<ul class=\"list-berita\">\n",
        if id { "Berita Terkini" } else { "Latest" }
    ));
    let mut listed = 0;
    while listed < 10 || (out.len() < target * 3 / 5 && listed < 80) {
        let other = rng.range(0, j + feed.count);
        let title = headline(lex, lang, &mut rng);
        let t = item.published - 60 * rng.range(1, 600) as i64;
        out.push_str(&format!(
            "<li class=\"list-berita__item\"><a href=\"{origin}{}\"><img src=\"https://cdn.example.org/thumb/{}-{other}.jpg\" alt=\"\" width=\"120\" height=\"80\" loading=\"lazy\"><h4>",
            article_path(feed, other, &title, t),
            feed.idx
        ));
        xml_escape(&title, &mut out);
        out.push_str(&format!("</h4></a><span class=\"time\">{}</span></li>\n", rfc3339(t)));
        listed += 1;
    }
    out.push_str(&format!("</ul>\n<h3>{}</h3>\n<ol class=\"popular\">\n", if id { "Terpopuler" } else { "Most read" }));
    for _ in 0..10 {
        let other = rng.range(0, j + feed.count);
        let title = headline(lex, lang, &mut rng);
        out.push_str(&format!("<li><a href=\"{origin}{}\">", article_path(feed, other, &title, item.published)));
        xml_escape(&title, &mut out);
        out.push_str("</a></li>\n");
    }
    out.push_str("</ol>\n<div class=\"ads ads--sidebar\" id=\"div-gpt-ad-side\"></div>\n</aside>\n</div>\n");

    // Footer.
    out.push_str("<footer class=\"site-footer\">\n<ul>\n");
    let footer: &[&str] = if id {
        &[
            "Tentang Kami",
            "Redaksi",
            "Pedoman Media Siber",
            "Kontak",
            "Karir",
            "Info Iklan",
            "Kebijakan Privasi",
            "Syarat & Ketentuan",
            "Disclaimer",
            "Indeks Berita",
        ]
    } else {
        &[
            "About us",
            "Newsroom",
            "Editorial standards",
            "Contact",
            "Careers",
            "Advertise",
            "Privacy policy",
            "Terms of use",
            "Corrections",
            "Archive",
        ]
    };
    for f in footer {
        out.push_str(&format!("<li><a href=\"{origin}/{}\">", f.to_lowercase().replace(' ', "-")));
        xml_escape(f, &mut out);
        out.push_str("</a></li>\n");
    }
    out.push_str(&format!("</ul>\n<p>Copyright © 2025 {site}. All rights reserved.</p>\n</footer>\n"));

    // Inline scripts up to the page's size: ad slots and the page's state, as news sites have.
    out.push_str("<script>window.dataLayer=window.dataLayer||[];window.__PAGE_STATE__={\"ads\":[");
    let mut slot = 0;
    while out.len() + 40 < target {
        let mut kw = String::new();
        word(lex, lang, &mut rng, &mut kw);
        out.push_str(&format!(
            "{}{{\"slot\":\"div-gpt-ad-{}-{slot}\",\"sizes\":[[300,250],[336,280]],\"targeting\":{{\"kw\":\"{kw}\",\"pos\":{slot},\"kanal\":\"{}\"}}}}",
            if slot > 0 { "," } else { "" },
            feed.idx,
            category.to_lowercase()
        ));
        slot += 1;
    }
    out.push_str("]};</script>\n</body>\n</html>\n");
    out.into_bytes()
}

/// Rules on article-only words (named `a0000`…): plain, scoped with `article:`, or in OR.
pub fn gen_article_rules(art_words: &[String], seed: u64, m: usize) -> Vec<RuleSpec> {
    (0..m)
        .map(|r| {
            let mut rng = Rng::derive(seed, ARTICLE_SALT ^ RULE_SALT, r as u64);
            let a = rng.pick(art_words).clone();
            let query = match rng.next() % 3 {
                0 => a,
                1 => format!("article:{a}"),
                _ => format!("{a} OR {}", rng.pick(art_words)),
            };
            RuleSpec { name: format!("a{r:04}"), query, lang: None, tags: Vec::new(), feeds: Vec::new() }
        })
        .collect()
}
