//! The parser against the shared corpus of 2,973 feeds and near-feeds (`../shared/corpus`):
//! nothing panics, and at least as many documents and items are read as measured when the
//! recoveries were written (see `FINDINGS.md` there for feedparser's and feed-rs's figures).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pantau::parse::{parse_feed_with, ParseError};

fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    assert!(
        dir.join("MANIFEST.tsv").is_file(),
        "the feed corpus is missing: expected {} (with MANIFEST.tsv) beside the repository",
        dir.display()
    );
    dir
}

/// Every corpus file, in a stable order, without the corpus's own notes.
fn corpus_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("corpus directory is readable") {
            let path = entry.expect("corpus entry is readable").path();
            if path.is_dir() {
                dirs.push(path);
            } else if !(dir == root
                && matches!(path.file_name().and_then(|n| n.to_str()), Some("MANIFEST.tsv" | "FINDINGS.md")))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[derive(Default)]
struct Tally {
    files: usize,
    results: usize,
    with_items: usize,
    items: usize,
}

fn parse(root: &Path, rel: &str) -> Result<pantau::model::ParsedFeed, ParseError> {
    let bytes = std::fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    parse_feed_with(&bytes, None, None)
}

#[test]
fn corpus_is_read_without_panics_and_at_least_as_well_as_measured() {
    let root = corpus_dir();
    let files = corpus_files(&root);
    assert!(files.len() >= 2900, "corpus looks incomplete: {} files", files.len());
    let started = Instant::now();
    let mut by_category: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    let mut panicked = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(&root).expect("file is under the corpus").to_string_lossy().into_owned();
        let category = rel.split('/').next().unwrap_or("").to_string();
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        // parse_feed_with contains panics itself; catch here too so that one escaping is
        // reported with its file rather than aborting the walk.
        let result = std::panic::catch_unwind(|| parse_feed_with(&bytes, None, None));
        let tally = by_category.entry(category).or_default();
        tally.files += 1;
        total.files += 1;
        match result {
            Err(_) | Ok(Err(ParseError::Panicked(_))) => panicked.push(rel),
            Ok(Err(_)) => {}
            Ok(Ok(feed)) => {
                for t in [&mut *tally, &mut total] {
                    t.results += 1;
                    t.items += feed.items.len();
                    t.with_items += usize::from(!feed.items.is_empty());
                }
            }
        }
    }
    let elapsed = started.elapsed();
    for (category, t) in &by_category {
        eprintln!(
            "corpus {category:<10} files {:>5}  with a result {:>5}  with items {:>5}  items {:>6}",
            t.files, t.results, t.with_items, t.items
        );
    }
    eprintln!(
        "corpus {:<10} files {:>5}  with a result {:>5}  with items {:>5}  items {:>6}  in {elapsed:.2?}",
        "total", total.files, total.results, total.with_items, total.items
    );
    assert!(panicked.is_empty(), "the parser panicked on {panicked:?}");
    // Measured: 2,941 files with a result, 1,853 with items, 3,718 items (feed-rs 2.4 alone:
    // 2,641 / 1,507 / 3,326; feedparser: 2,973 / 1,849 / 3,722). The 38 files without a result
    // are not feeds: OPML, HTML pages, .htaccess files, gzip bytes, empty documents.
    assert!(total.results >= 2_930, "files with a result: {}", total.results);
    assert!(total.with_items >= 1_849, "files with items: {} (feedparser reads 1,849)", total.with_items);
    assert!(total.items >= 3_700, "items: {}", total.items);
}

#[test]
fn known_documents_of_the_corpus() {
    let root = corpus_dir();

    // `<rss>` without a version, in windows-1252 without a declaration: a real feed.
    let f = parse(&root, "real/rss-parser/uolNoticias.rss").unwrap();
    assert_eq!(f.items.len(), 15);
    assert!(f.recoveries.iter().any(|r| r == "repaired: rss version"), "{:?}", f.recoveries);
    assert!(f.recoveries.iter().any(|r| r.contains("windows-1252")), "{:?}", f.recoveries);

    // The two files that make feed-rs 3 panic.
    for rel in ["encoding/feedparser/utf-16be-autodetect.xml", "encoding/feedparser/utf-16be-bom.xml"] {
        let f = parse(&root, rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(f.recoveries.iter().any(|r| r.contains("UTF-16BE")), "{rel}: {:?}", f.recoveries);
    }

    // Undeclared legacy encodings are guessed.
    for (rel, encoding) in [
        ("illformed/feedparser/chardet/big5.xml", "Big5"),
        ("illformed/feedparser/chardet/gb2312.xml", "GBK"),
        ("illformed/feedparser/chardet/shiftjis.xml", "Shift_JIS"),
        ("illformed/feedparser/chardet/eucjp.xml", "EUC-JP"),
        ("illformed/feedparser/chardet/euckr.xml", "EUC-KR"),
        ("illformed/feedparser/chardet/koi8r.xml", "KOI8-R"),
        ("illformed/feedparser/chardet/windows1255.xml", "windows-1255"),
    ] {
        let f = parse(&root, rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(f.recoveries.iter().any(|r| r.contains(encoding)), "{rel}: {:?}", f.recoveries);
    }

    // Windows-1252 punctuation declared as ISO-8859-1.
    let f = parse(&root, "encoding/feedparser/demoronize-1.xml").unwrap();
    assert_eq!(f.items[0].summary, "don\u{2019}t");

    // JSON Feed with "version": "1.0".
    let f = parse(&root, "jsonfeed/gofeed/parser_version_json_10.json").unwrap();
    assert!(!f.items.is_empty());
    assert!(f.recoveries.iter().any(|r| r == "repaired: json feed version"), "{:?}", f.recoveries);

    // Not feeds at all.
    for rel in ["illformed/node-feedparser/notafeed.html", "opml/plenary_Indonesia.opml"] {
        assert!(matches!(parse(&root, rel), Err(ParseError::Invalid(_))), "{rel}");
    }
}
