//! The seeded generator of the bench's world: deterministic randomness, the vocabulary (word
//! lists in `benches/data/pipeline/`, one entry a line), a Zipf lexicon, feeds in three formats
//! and two languages, watch rules, and the pantau config that ties them to the bench server.

use std::collections::HashSet;
use std::path::Path;
use std::sync::LazyLock;

use crate::die;
use crate::pages::article_path;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

/// SplitMix64: tiny, fast, and good enough for text generation.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut r = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
        r.next();
        r
    }
    pub fn derive(seed: u64, a: u64, b: u64) -> Rng {
        Rng::new(
            seed.wrapping_mul(0x100_0000_01B3)
                ^ a.wrapping_mul(0xD6E8_FEB8_6659_FD93)
                ^ b.wrapping_mul(0xA076_1D64_78BD_642F),
        )
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

/// The entries of a word list of `benches/data/pipeline/`: one a line; `#` starts a comment line.
pub fn word_list(text: &'static str) -> Vec<&'static str> {
    text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// Indonesian function words.
static ID_FUNCTION: LazyLock<Vec<&str>> = LazyLock::new(|| word_list(include_str!("../data/pipeline/id_function.txt")));
/// English function words.
static EN_FUNCTION: LazyLock<Vec<&str>> = LazyLock::new(|| word_list(include_str!("../data/pipeline/en_function.txt")));
/// Indonesian content words, most frequent first.
static ID_CONTENT: LazyLock<Vec<&str>> = LazyLock::new(|| word_list(include_str!("../data/pipeline/id_content.txt")));
/// English content words, most frequent first.
static EN_CONTENT: LazyLock<Vec<&str>> = LazyLock::new(|| word_list(include_str!("../data/pipeline/en_content.txt")));
/// People, places and institutions.
pub static ENTITIES: LazyLock<Vec<&str>> = LazyLock::new(|| word_list(include_str!("../data/pipeline/entities.txt")));
/// Item authors.
static AUTHORS: LazyLock<Vec<&str>> = LazyLock::new(|| word_list(include_str!("../data/pipeline/authors.txt")));
/// Item categories.
pub static CATEGORIES: LazyLock<Vec<&str>> =
    LazyLock::new(|| word_list(include_str!("../data/pipeline/categories.txt")));
/// Syllables of the long-tail words.
static SYLLABLES: LazyLock<Vec<&str>> = LazyLock::new(|| word_list(include_str!("../data/pipeline/syllables.txt")));

/// Ranks per language: the language's content words, then a long tail of synthetic words shared
/// by both languages, sampled with a Zipf law through a quantile table (O(1) per word).
pub struct Lexicon {
    pub id_words: Vec<String>,
    pub en_words: Vec<String>,
    pub id_table: Vec<u32>,
    pub en_table: Vec<u32>,
    pub tail_start_id: usize,
    pub tail_start_en: usize,
}

const ZIPF_TABLE_BITS: u32 = 20;
const TAIL_WORDS: usize = 40_000;
const ZIPF_S: f64 = 1.07;

impl Lexicon {
    pub fn new(seed: u64) -> Lexicon {
        let mut rng = Rng::derive(seed, 0x7a11, 0);
        let mut seen: HashSet<String> = ID_CONTENT
            .iter()
            .chain(EN_CONTENT.iter())
            .chain(ID_FUNCTION.iter())
            .chain(EN_FUNCTION.iter())
            .map(|s| s.to_string())
            .collect();
        let mut tail = Vec::with_capacity(TAIL_WORDS);
        while tail.len() < TAIL_WORDS {
            let n = rng.range(2, 4);
            let w: String = (0..n).map(|_| *rng.pick(&SYLLABLES[..])).collect();
            if w.len() >= 5 && seen.insert(w.clone()) {
                tail.push(w);
            }
        }
        let mut id_words: Vec<String> = ID_CONTENT.iter().map(|s| s.to_string()).collect();
        let tail_start_id = id_words.len();
        id_words.extend(tail.iter().cloned());
        let mut en_words: Vec<String> = EN_CONTENT.iter().map(|s| s.to_string()).collect();
        let tail_start_en = en_words.len();
        en_words.extend(tail);
        let id_table = zipf_table(id_words.len());
        let en_table = zipf_table(en_words.len());
        Lexicon { id_words, en_words, id_table, en_table, tail_start_id, tail_start_en }
    }

    pub fn words(&self, lang: Lang) -> &[String] {
        match lang {
            Lang::Id => &self.id_words,
            Lang::En => &self.en_words,
        }
    }

    fn tail_start(&self, lang: Lang) -> usize {
        match lang {
            Lang::Id => self.tail_start_id,
            Lang::En => self.tail_start_en,
        }
    }

    pub fn content(&self, lang: Lang, rng: &mut Rng) -> &str {
        let (table, words) = match lang {
            Lang::Id => (&self.id_table, &self.id_words),
            Lang::En => (&self.en_table, &self.en_words),
        };
        let q = (rng.next() >> (64 - ZIPF_TABLE_BITS)) as usize;
        &words[table[q] as usize]
    }
}

fn zipf_table(n: usize) -> Vec<u32> {
    let weights: Vec<f64> = (0..n).map(|r| 1.0 / ((r + 2) as f64).powf(ZIPF_S)).collect();
    let total: f64 = weights.iter().sum();
    let size = 1usize << ZIPF_TABLE_BITS;
    let mut table = Vec::with_capacity(size);
    let (mut rank, mut cdf) = (0usize, weights[0] / total);
    for k in 0..size {
        let q = (k as f64 + 0.5) / size as f64;
        while cdf < q && rank + 1 < n {
            rank += 1;
            cdf += weights[rank] / total;
        }
        table.push(rank as u32);
    }
    table
}

// ---------------------------------------------------------------------------------------------
// Feed generation
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Id,
    En,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    pub fn ext(self) -> &'static str {
        match self {
            Format::Rss => "xml",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FeedMeta {
    pub idx: usize,
    pub name: String,
    pub lang: Lang,
    pub format: Format,
    pub host: String,
    /// Items in one version of the document.
    pub count: usize,
    /// Items that a new version adds at the top (and drops at the bottom).
    pub step: usize,
    pub tags: Vec<&'static str>,
    /// Under `--articles`, for feeds with `fetch_article`: the bench server's origin, which the
    /// items' links point to (`{origin}/article/{feed}/{item}/…`).
    pub article_origin: Option<String>,
}

/// The shape of feed `idx`: its format, language, items and tags, drawn from `seed`.
pub fn feed_meta(seed: u64, idx: usize) -> FeedMeta {
    let mut rng = Rng::derive(seed, 0xfeed, idx as u64);
    let lang = if rng.chance(0.55) { Lang::Id } else { Lang::En };
    let f = rng.next() % 100;
    let format = if f < 60 {
        Format::Rss
    } else if f < 85 {
        Format::Atom
    } else {
        Format::Json
    };
    let host = match lang {
        Lang::Id => format!("berita{}.example.id", idx % 211),
        Lang::En => format!("news{}.example.com", idx % 197),
    };
    let section = *rng.pick(&["news", "business", "sport", "tech", "world"]);
    let tags = vec![if lang == Lang::Id { "id" } else { "en" }, section];
    FeedMeta {
        idx,
        name: format!("f{idx:05}"),
        lang,
        format,
        host,
        count: rng.range(20, 50),
        step: rng.range(3, 6),
        tags,
        article_origin: None,
    }
}

/// One generated item, before it is rendered in its feed's format.
pub struct GenItem {
    pub guid: String,
    pub link: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub published: i64,
    pub author: &'static str,
    pub categories: Vec<&'static str>,
}

/// 2025-06-01T00:00:00Z: a fixed clock keeps the documents identical from run to run.
const BASE_TIME: i64 = 1_748_736_000;

/// `s` with its first letter upper-cased.
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Append one word of `lang` to `out`: a function word or a content word of the lexicon.
pub fn word(lex: &Lexicon, lang: Lang, rng: &mut Rng, out: &mut String) {
    if rng.chance(0.42) {
        out.push_str(rng.pick::<&str>(if lang == Lang::Id { &ID_FUNCTION[..] } else { &EN_FUNCTION[..] }));
        return;
    }
    let w = lex.content(lang, rng);
    if lang == Lang::Id {
        // Indonesian morphology: clitics, affixes and informal reduplication.
        let r = rng.next() % 100;
        match r {
            0..=4 => {
                out.push_str(w);
                out.push_str("nya");
            }
            5 => {
                out.push_str(w);
                out.push_str("lah");
            }
            6 => {
                out.push_str(w);
                out.push('2');
            }
            7 => {
                out.push_str("per");
                out.push_str(w);
                out.push_str("an");
            }
            8..=9 => {
                out.push_str(if r == 8 { "ber" } else { "di" });
                out.push_str(w);
            }
            _ => out.push_str(w),
        }
    } else {
        out.push_str(w);
    }
}

/// Append one sentence of `lang` to `out`, as HTML paragraph text when `html`.
pub fn sentence(lex: &Lexicon, lang: Lang, rng: &mut Rng, html: bool, out: &mut String) {
    let n = rng.range(8, 20);
    let start = out.len();
    let entity_at = if rng.chance(0.10) { rng.range(0, n - 1) } else { usize::MAX };
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        if i == entity_at {
            out.push_str(rng.pick::<&str>(&ENTITIES[..]));
            continue;
        }
        let markup = if html { rng.next() % 100 } else { 99 };
        match markup {
            0 => {
                let mut w = String::new();
                word(lex, lang, rng, &mut w);
                out.push_str("<a href=\"https://example.org/tag/");
                out.push_str(&w);
                out.push_str("\">");
                out.push_str(&w);
                out.push_str("</a>");
            }
            1 => {
                out.push_str("<strong>");
                word(lex, lang, rng, out);
                out.push_str("</strong>");
            }
            2 => {
                out.push_str("<em>");
                word(lex, lang, rng, out);
                out.push_str("</em>");
            }
            _ => word(lex, lang, rng, out),
        }
        if i + 1 < n && rng.chance(0.06) {
            out.push(',');
        }
    }
    // Capitalise the first letter of the sentence when it is plain text.
    if let Some(first) = out[start..].chars().next().filter(|c| c.is_ascii_lowercase()) {
        out.replace_range(start..start + 1, &first.to_ascii_uppercase().to_string());
    }
    out.push_str(if rng.chance(0.08) { "?" } else { "." });
}

/// Item `j` of `feed`.
pub fn gen_item(lex: &Lexicon, seed: u64, feed: &FeedMeta, j: usize) -> GenItem {
    let mut rng = Rng::derive(seed, feed.idx as u64 + 1, j as u64 + 1);
    let lang = feed.lang;
    let mut title_words = Vec::new();
    let tn = rng.range(6, 12);
    for i in 0..tn {
        if i == 1 && rng.chance(0.3) {
            title_words.push(rng.pick(&ENTITIES[..]).to_string());
            continue;
        }
        let mut w = String::new();
        word(lex, lang, &mut rng, &mut w);
        title_words.push(if rng.chance(0.5) { capitalize(&w) } else { w });
    }
    let mut title = title_words.join(" ");
    if let Some(f) = title.chars().next() {
        title.replace_range(0..f.len_utf8(), &f.to_uppercase().to_string());
    }
    if rng.chance(0.05) {
        title.push_str(" & More");
    }
    let target = rng.range(2048, 8192);
    let mut body = String::with_capacity(target + 600);
    let mut summary = String::new();
    sentence(lex, lang, &mut rng, false, &mut summary);
    summary.push(' ');
    sentence(lex, lang, &mut rng, false, &mut summary);
    while body.len() < target {
        if rng.chance(0.08) {
            body.push_str("<figure><img src=\"https://cdn.example.org/img/");
            body.push_str(&format!("{}-{}.jpg", feed.idx, j));
            body.push_str("\" alt=\"foto\" width=\"800\" height=\"450\"/><figcaption>");
            sentence(lex, lang, &mut rng, false, &mut body);
            body.push_str("</figcaption></figure>\n");
        }
        body.push_str("<p>");
        for _ in 0..rng.range(2, 5) {
            sentence(lex, lang, &mut rng, true, &mut body);
            body.push(' ');
        }
        if rng.chance(0.1) {
            body.push_str("&quot;Kami&quot; &amp; mereka &#8212; ");
        }
        body.push_str("</p>\n");
    }
    let slug: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .take(8)
        .collect::<Vec<_>>()
        .join("-");
    let published = BASE_TIME + (feed.idx as i64 % 600) * 60 + j as i64 * 1800;
    let ymd = chrono::DateTime::from_timestamp(published, 0).unwrap_or_default().format("%Y/%m/%d").to_string();
    let link = match &feed.article_origin {
        Some(origin) => format!("{origin}{}", article_path(feed, j, &title, published)),
        None => format!("https://{}/{}/{}-{}-{}", feed.host, ymd, slug, feed.idx, j),
    };
    let cats = (0..rng.range(1, 3)).map(|_| *rng.pick(&CATEGORIES[..])).collect();
    GenItem {
        guid: format!("urn:pantau-bench:{}:{}", feed.idx, j),
        link,
        title,
        summary,
        body,
        published,
        author: rng.pick::<&str>(&AUTHORS[..]),
        categories: cats,
    }
}

/// Append `s` to `out` with XML's special characters escaped.
pub fn xml_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

fn rfc2822(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap_or_default().to_rfc2822()
}

/// Unix time `t` as RFC 3339.
pub fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The document of `feed` at `version` (0 = first): items `version*step .. version*step+count`,
/// newest first. An item is generated from (feed, index) alone, so an item kept from one
/// version to the next is byte-identical.
pub fn render_feed(lex: &Lexicon, seed: u64, feed: &FeedMeta, version: usize) -> (Vec<u8>, usize) {
    let first = version * feed.step;
    let items: Vec<GenItem> = (first..first + feed.count).rev().map(|j| gen_item(lex, seed, feed, j)).collect();
    let newest = items.first().map(|i| i.published).unwrap_or(BASE_TIME);
    let lang = if feed.lang == Lang::Id { "id" } else { "en" };
    let home = format!("https://{}/", feed.host);
    let title = format!("{} {}", if feed.lang == Lang::Id { "Berita" } else { "News" }, feed.name);
    let mut out = String::with_capacity(items.iter().map(|i| i.body.len() + 1200).sum());
    match feed.format {
        Format::Rss => {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n");
            out.push_str(&format!("<title>{title}</title>\n<link>{home}</link>\n<description>Synthetic feed {}</description>\n<language>{lang}</language>\n<lastBuildDate>{}</lastBuildDate>\n<atom:link href=\"{home}rss\" rel=\"self\" type=\"application/rss+xml\"/>\n", feed.name, rfc2822(newest)));
            for it in &items {
                out.push_str("<item>\n<title>");
                xml_escape(&it.title, &mut out);
                out.push_str("</title>\n<link>");
                xml_escape(&it.link, &mut out);
                out.push_str("</link>\n<guid isPermaLink=\"false\">");
                out.push_str(&it.guid);
                out.push_str("</guid>\n<pubDate>");
                out.push_str(&rfc2822(it.published));
                out.push_str("</pubDate>\n<dc:creator>");
                xml_escape(it.author, &mut out);
                out.push_str("</dc:creator>\n");
                for c in &it.categories {
                    out.push_str("<category>");
                    out.push_str(c);
                    out.push_str("</category>\n");
                }
                out.push_str("<description><![CDATA[<p>");
                out.push_str(&it.summary);
                out.push_str("</p>]]></description>\n<content:encoded><![CDATA[");
                out.push_str(&it.body);
                out.push_str("]]></content:encoded>\n</item>\n");
            }
            out.push_str("</channel>\n</rss>\n");
        }
        Format::Atom => {
            out.push_str(&format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{lang}\">\n<title>{title}</title>\n<id>tag:{},2025:feed</id>\n<updated>{}</updated>\n<link rel=\"alternate\" href=\"{home}\"/>\n<link rel=\"self\" href=\"{home}atom\"/>\n", feed.host, rfc3339(newest)));
            for it in &items {
                out.push_str("<entry>\n<title type=\"text\">");
                xml_escape(&it.title, &mut out);
                out.push_str("</title>\n<id>");
                out.push_str(&it.guid);
                out.push_str("</id>\n<link rel=\"alternate\" type=\"text/html\" href=\"");
                xml_escape(&it.link, &mut out);
                out.push_str("\"/>\n<published>");
                out.push_str(&rfc3339(it.published));
                out.push_str("</published>\n<updated>");
                out.push_str(&rfc3339(it.published + 300));
                out.push_str("</updated>\n<author><name>");
                xml_escape(it.author, &mut out);
                out.push_str("</name></author>\n");
                for c in &it.categories {
                    out.push_str("<category term=\"");
                    out.push_str(c);
                    out.push_str("\"/>\n");
                }
                out.push_str("<summary type=\"text\">");
                xml_escape(&it.summary, &mut out);
                out.push_str("</summary>\n<content type=\"html\">");
                xml_escape(&it.body, &mut out);
                out.push_str("</content>\n</entry>\n");
            }
            out.push_str("</feed>\n");
        }
        Format::Json => {
            let items_json: Vec<serde_json::Value> = items
                .iter()
                .map(|it| {
                    serde_json::json!({
                        "id": it.guid,
                        "url": it.link,
                        "title": it.title,
                        "summary": it.summary,
                        "content_html": it.body,
                        "date_published": rfc3339(it.published),
                        "authors": [{ "name": it.author }],
                        "tags": it.categories,
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "version": "https://jsonfeed.org/version/1.1",
                "title": title,
                "home_page_url": home,
                "feed_url": format!("{home}feed.json"),
                "language": lang,
                "items": items_json,
            });
            out = serde_json::to_string_pretty(&doc).expect("JSON renders");
        }
    }
    (out.into_bytes(), items.len())
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// Seed salt of the rule generator ("rule").
pub const RULE_SALT: u64 = 0x7275_6c65;

/// One generated watch rule, as written into the config.
pub struct RuleSpec {
    pub name: String,
    pub query: String,
    pub lang: Option<&'static str>,
    pub tags: Vec<&'static str>,
    pub feeds: Vec<String>,
}

/// A word of `lang` between ranks `lo` and `hi` (content ranks; the long tail starts after the
/// hand-written words), chosen uniformly.
fn ranked<'a>(lex: &'a Lexicon, lang: Lang, rng: &mut Rng, lo: usize, hi: usize) -> &'a str {
    let words = lex.words(lang);
    &words[rng.range(lo, hi.min(words.len() - 1))]
}

fn tail<'a>(lex: &'a Lexicon, lang: Lang, rng: &mut Rng, lo: usize, hi: usize) -> &'a str {
    let s = lex.tail_start(lang);
    ranked(lex, lang, rng, s + lo, s + hi)
}

/// `m` watch rules over the lexicon for `n_feeds` feeds, drawn from `seed`.
pub fn gen_rules(lex: &Lexicon, seed: u64, m: usize, n_feeds: usize) -> Vec<RuleSpec> {
    let mut out = Vec::with_capacity(m);
    for r in 0..m {
        let mut rng = Rng::derive(seed, RULE_SALT, r as u64);
        let lang = if rng.chance(0.55) { Lang::Id } else { Lang::En };
        let entity = *rng.pick(&ENTITIES[..]);
        let head = ranked(lex, lang, &mut rng, 0, lex.tail_start(lang) - 1).to_string();
        let mut spec = RuleSpec {
            name: format!("r{r:04}"),
            query: String::new(),
            lang: None,
            tags: Vec::new(),
            feeds: Vec::new(),
        };
        let shape = rng.next() % 100;
        // Word ranks are chosen so that a rule matches roughly one item in 10,000–50,000, as a
        // specific watch rule does on general news.
        spec.query = match shape {
            // A rare name with a topic word.
            0..=14 => {
                format!("{} AND {}", tail(lex, lang, &mut rng, 8_000, 39_000), tail(lex, lang, &mut rng, 0, 2_000))
            }
            // The classic: an entity phrase and a topic word.
            15..=29 => format!("\"{entity}\" AND {}", tail(lex, lang, &mut rng, 5_000, 39_000)),
            // Synonyms in OR, narrowed by a topic.
            30..=39 => {
                let a = tail(lex, lang, &mut rng, 6_000, 39_000);
                let b = tail(lex, lang, &mut rng, 6_000, 39_000);
                let c = tail(lex, lang, &mut rng, 200, 6_000);
                format!(
                    "({a} OR {b} OR \"{c} {}\") AND {}",
                    tail(lex, lang, &mut rng, 0, 300),
                    tail(lex, lang, &mut rng, 500, 3_000)
                )
            }
            // Exclusions.
            40..=49 => {
                let a = tail(lex, lang, &mut rng, 8_000, 39_000);
                let b = tail(lex, lang, &mut rng, 0, 2_000);
                if rng.chance(0.5) {
                    format!("{a} AND {b} AND NOT {head}")
                } else {
                    format!("{a} {b} -olahraga -sport")
                }
            }
            // Proximity.
            50..=59 => format!("{head} NEAR/5 {}", tail(lex, lang, &mut rng, 2_000, 20_000)),
            // Wildcards inside one word.
            60..=69 => {
                let w = tail(lex, lang, &mut rng, 3_000, 39_000);
                let stem: String = w.chars().take(w.chars().count().max(4) - 1).collect();
                if rng.chance(0.5) {
                    format!("{stem}* AND \"{entity}\"")
                } else {
                    format!("*{stem}* AND {}", tail(lex, lang, &mut rng, 500, 3_000))
                }
            }
            // Field-scoped.
            70..=79 => format!("title:{} AND title:\"{entity}\"", tail(lex, lang, &mut rng, 200, 8_000)),
            // Indonesian stemming and clitics.
            80..=89 => {
                spec.lang = Some("id");
                spec.tags = vec!["id"];
                let w = ranked(lex, Lang::Id, &mut rng, 0, lex.tail_start(Lang::Id) - 1);
                let t = tail(lex, Lang::Id, &mut rng, 5_000, 39_000);
                if rng.chance(0.5) {
                    format!("~{w} AND {t}")
                } else {
                    format!("{w} AND \"{entity}\" AND {t}")
                }
            }
            // Regular expressions.
            90..=94 => {
                let a = tail(lex, lang, &mut rng, 0, 3_000);
                let b = tail(lex, lang, &mut rng, 0, 3_000);
                format!("/{head} ({a}|{b})/i")
            }
            // Ordered proximity to a name.
            _ => format!("\"{entity}\" ONEAR/3 {}", tail(lex, lang, &mut rng, 500, 10_000)),
        };
        // Some rules watch a group of feeds only.
        if spec.tags.is_empty() && rng.chance(0.15) {
            spec.tags = vec![*rng.pick(&["news", "business", "sport", "tech", "world"])];
        } else if rng.chance(0.1) && n_feeds >= 10 {
            spec.feeds = vec![format!("f{:04}*", rng.range(0, (n_feeds - 1) / 10))];
        }
        out.push(spec);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// The `[daemon]` settings that differ between the bench's configs.
#[derive(Debug, Clone, Copy)]
pub struct DaemonConf<'a> {
    /// `database`: a SQLite file (relative to the config) or a `postgres://` URL.
    pub database: &'a str,
    pub concurrency: usize,
    pub per_host: usize,
    /// `listen = "127.0.0.1:0"`: /healthz and /metrics on a free port (logged at start).
    pub listen: bool,
}

impl DaemonConf<'static> {
    /// SQLite (`pantau.db` next to the config), per_host = concurrency, nothing served.
    pub fn sqlite(concurrency: usize) -> DaemonConf<'static> {
        DaemonConf { database: "pantau.db", concurrency, per_host: concurrency, listen: false }
    }
}

/// The pantau config: `feeds` served by the bench server, every rule, one webhook sink.
///
/// `max_age` is off: the generated items are dated 2025, and the default of a week would keep
/// every one of them from alerting (and from having its page read). With `articles` set to
/// `Some(true)` the feeds whose items link to the bench's article pages read them.
pub fn write_config(
    path: &Path,
    port: u16,
    metas: &[FeedMeta],
    rules: &[RuleSpec],
    daemon: DaemonConf,
    articles: Option<bool>,
) {
    let DaemonConf { database, concurrency, per_host, listen } = daemon;
    let mut s = String::new();
    if per_host == concurrency {
        s.push_str("# Written by benches/pipeline/. Every feed is on 127.0.0.1, so per_host = concurrency.\n");
    } else {
        s.push_str("# Written by benches/pipeline/. Every feed is on 127.0.0.1 (per_host set by --per-host).\n");
    }
    s.push_str(&format!(
        "[daemon]\ndatabase = {}\ndefault_interval = \"15m\"\nconcurrency = {concurrency}\nper_host = {per_host}\ntimeout = \"60s\"\nfirst_poll = \"alert\"\nshutdown_grace = \"5s\"\n",
        toml_str(database)
    ));
    if listen {
        s.push_str("listen = \"127.0.0.1:0\"\n");
    }
    s.push_str("max_age = \"off\"\n");
    s.push('\n');
    for m in metas {
        s.push_str(&format!(
            "[[feed]]\nname = \"{}\"\nurl = \"http://127.0.0.1:{port}/feed/{}\"\ntags = [{}]\n\n",
            m.name,
            m.idx,
            m.tags.iter().map(|t| toml_str(t)).collect::<Vec<_>>().join(", ")
        ));
        if articles == Some(true) && m.article_origin.is_some() {
            s.truncate(s.len() - 1);
            s.push_str("fetch_article = true\n\n");
        }
    }
    for r in rules {
        s.push_str(&format!("[[rule]]\nname = \"{}\"\nquery = '''{}'''\n", r.name, r.query));
        if let Some(l) = r.lang {
            s.push_str(&format!("lang = \"{l}\"\n"));
        }
        if !r.tags.is_empty() {
            s.push_str(&format!("tags = [{}]\n", r.tags.iter().map(|t| toml_str(t)).collect::<Vec<_>>().join(", ")));
        }
        if !r.feeds.is_empty() {
            s.push_str(&format!("feeds = [{}]\n", r.feeds.iter().map(|t| toml_str(t)).collect::<Vec<_>>().join(", ")));
        }
        s.push('\n');
    }
    s.push_str(&format!("[[sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{port}/hook\"\n"));
    std::fs::write(path, s).unwrap_or_else(|e| die(&format!("cannot write {}: {e}", path.display())));
}
