//! The parser against the shared corpus of 2,973 feeds and near-feeds (`../shared/corpus`):
//! nothing panics, and at least as many documents and items are read as measured when the
//! recoveries were written (see `FINDINGS.md` there for feedparser's and feed-rs's figures).
//!
//! Per file, the number of items must not fall below the one recorded in
//! `tests/data/corpus-baseline.tsv` (every corpus file that yields at least one item, with its
//! item count). After a change that reads more items, or when the corpus grows, regenerate the
//! baseline with
//!
//! ```text
//! PANTAU_BLESS_CORPUS=1 cargo test --release --test tests corpus
//! ```
//!
//! and review its diff before committing it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pantau::parse::{parse_feed_with, ParseError};

/// The corpus beside the repository (or `$PANTAU_CORPUS`); `None` with a SKIPPED line in a
/// clone without it, a failure in CI.
fn corpus_dir() -> Option<PathBuf> {
    crate::util::shared("corpus", "MANIFEST.tsv")
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
    /// Files that yield fewer items than their baseline.
    dropped: usize,
}

fn parse(root: &Path, rel: &str) -> Result<pantau::model::ParsedFeed, ParseError> {
    let bytes = std::fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    parse_feed_with(&bytes, None, None)
}

/// The environment variable that rewrites the baseline from this run instead of checking it.
const BLESS: &str = "PANTAU_BLESS_CORPUS";

fn baseline_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus-baseline.tsv")
}

/// The recorded item counts: corpus path → items, for every file that yielded any.
fn read_baseline() -> BTreeMap<String, usize> {
    let path = baseline_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with {BLESS}=1, see tests/corpus.rs)", path.display()));
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line.rsplit_once('\t').and_then(|(rel, count)| Some((rel, count.parse::<usize>().ok()?)));
        let Some((rel, count)) = parsed else {
            panic!("{}:{}: expected `path<TAB>items`, found {line:?}", path.display(), n + 1);
        };
        out.insert(rel.to_string(), count);
    }
    out
}

fn write_baseline(counts: &BTreeMap<String, usize>) {
    let mut text = format!(
        "# Items pantau reads from each corpus file (../shared/corpus) that yields any; tests/corpus.rs fails\n\
         # when a file yields fewer. Regenerate: {BLESS}=1 cargo test --release --test tests corpus\n"
    );
    for (rel, items) in counts.iter().filter(|(_, n)| **n > 0) {
        writeln!(text, "{rel}\t{items}").expect("writing to a String");
    }
    let path = baseline_path();
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    eprintln!("corpus baseline written to {}", path.display());
}

#[test]
fn corpus_is_read_without_panics_and_at_least_as_well_as_measured() {
    let Some(root) = corpus_dir() else { return };
    let files = corpus_files(&root);
    assert!(files.len() >= 2900, "corpus looks incomplete: {} files", files.len());
    let bless = std::env::var_os(BLESS).is_some_and(|v| !v.is_empty() && v != "0");
    let baseline = if bless { BTreeMap::new() } else { read_baseline() };
    let started = Instant::now();
    let mut by_category: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    let mut panicked = Vec::new();
    // Items per file (0 for files without a result), and the files below their baseline.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut dropped: Vec<(String, usize, usize)> = Vec::new();
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
        let mut items = 0;
        match result {
            Err(_) | Ok(Err(ParseError::Panicked(_))) => panicked.push(rel.clone()),
            Ok(Err(_)) => {}
            Ok(Ok(feed)) => {
                items = feed.items.len();
                for t in [&mut *tally, &mut total] {
                    t.results += 1;
                    t.items += items;
                    t.with_items += usize::from(items > 0);
                }
            }
        }
        if let Some(&was) = baseline.get(&rel) {
            if items < was {
                tally.dropped += 1;
                total.dropped += 1;
                dropped.push((rel.clone(), was, items));
            }
        }
        counts.insert(rel, items);
    }
    let elapsed = started.elapsed();
    for (category, t) in &by_category {
        eprintln!(
            "corpus {category:<10} files {:>5}  with a result {:>5}  with items {:>5}  items {:>6}  below baseline {:>3}",
            t.files, t.results, t.with_items, t.items, t.dropped
        );
    }
    eprintln!(
        "corpus {:<10} files {:>5}  with a result {:>5}  with items {:>5}  items {:>6}  below baseline {:>3}  in \
         {elapsed:.2?}",
        "total", total.files, total.results, total.with_items, total.items, total.dropped
    );
    for (rel, was, now) in &dropped {
        eprintln!("corpus regression: {rel}: {now} items, baseline {was}");
    }
    let missing: Vec<&String> = baseline.keys().filter(|rel| !counts.contains_key(*rel)).collect();
    for rel in &missing {
        eprintln!("corpus file missing: {rel} (in the baseline, not in {})", root.display());
    }
    let gained = counts.iter().filter(|(rel, n)| **n > baseline.get(*rel).copied().unwrap_or(0)).count();
    if gained > 0 && !bless {
        eprintln!("corpus: {gained} files yield more items than their baseline; record them with {BLESS}=1");
    }
    assert!(panicked.is_empty(), "the parser panicked on {panicked:?}");
    if bless {
        write_baseline(&counts);
    }
    assert!(
        missing.is_empty(),
        "{} files of the baseline are missing from the corpus at {}: {missing:?}",
        missing.len(),
        root.display()
    );
    assert!(
        dropped.is_empty(),
        "{} files yield fewer items than their baseline (tests/data/corpus-baseline.tsv): {:?}",
        dropped.len(),
        dropped.iter().map(|(rel, was, now)| format!("{rel}: {was} -> {now}")).collect::<Vec<_>>()
    );
    // Measured: 2,941 files with a result, 1,853 with items, 3,718 items (feed-rs 2.4 alone:
    // 2,641 / 1,507 / 3,326; feedparser: 2,973 / 1,849 / 3,722). The 38 files without a result
    // are not feeds: OPML, HTML pages, .htaccess files, gzip bytes, empty documents.
    assert!(total.results >= 2_930, "files with a result: {}", total.results);
    assert!(total.with_items >= 1_849, "files with items: {} (feedparser reads 1,849)", total.with_items);
    assert!(total.items >= 3_700, "items: {}", total.items);
}

#[test]
fn known_documents_of_the_corpus() {
    let Some(root) = corpus_dir() else { return };

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
