//! Peak memory of parsing a feed of very many tiny items (#16.11): a 10 MB RSS document of
//! 170,000 items, parsed once and eight times at once, with `max_items` at its default and
//! without a bound.
//!
//! Each case runs in a process of its own (this binary again, with `--case`), because the
//! peak resident set (VmHWM in /proc/self/status) only ever grows. A case reads the document,
//! notes its peak, parses, and reports its peak again; the table shows both and the
//! difference, which is what the parse took. Linux only (elsewhere the figures are 0).
//!
//! `cargo bench --bench max_items` (flags after `--`: `--items N`, default 170000).

use std::process::Command;
use std::thread;

use pantau::parse::{parse_feed_limited, Limits, DEFAULT_MAX_ITEMS};

/// The peak resident set of this process so far, in kB.
fn peak_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// An RSS document of `n` tiny items, newest first; every other one has a date (about 10 MB
/// for 170,000 items, within the default `max_body`).
fn document(n: usize) -> String {
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("a valid date");
    let mut doc =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Banyak</title>");
    for i in 0..n {
        doc.push_str(&format!("<item><guid>{i}</guid>"));
        if i % 2 == 0 {
            let date = start + chrono::Duration::seconds((n - i) as i64);
            doc.push_str(&format!("<pubDate>{}</pubDate>", date.format("%Y-%m-%dT%H:%M:%SZ")));
        }
        doc.push_str("</item>");
    }
    doc + "</channel></rss>"
}

/// One case, in this process: parse the file `parallel` times at once within `max_items`;
/// prints `before after items`.
fn case(file: &str, parallel: usize, max_items: usize) {
    let bytes = std::fs::read(file).expect("the bench's document");
    let before = peak_kb();
    let limits = Limits { max_items };
    let items: usize = thread::scope(|s| {
        let handles: Vec<_> = (0..parallel)
            .map(|_| s.spawn(|| parse_feed_limited(&bytes, None, None, limits).map_or(0, |f| f.items.len())))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    println!("{before} {} {items}", peak_kb());
}

fn main() {
    let mut n = 170_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--items" => n = args.next().and_then(|v| v.parse().ok()).expect("--items N"),
            "--case" => {
                let file = args.next().expect("--case FILE PARALLEL MAX_ITEMS");
                let parallel = args.next().and_then(|v| v.parse().ok()).expect("PARALLEL");
                let max_items = args.next().and_then(|v| v.parse().ok()).expect("MAX_ITEMS");
                return case(&file, parallel, max_items);
            }
            // `cargo bench` passes `--bench`; other harness flags mean nothing here.
            _ => {}
        }
    }
    let doc = document(n);
    let file = std::env::temp_dir().join(format!("pantau-max-items-{}.rss", std::process::id()));
    std::fs::write(&file, &doc).expect("write the bench's document");
    println!("max_items bench: {n} items, {:.1} MB", doc.len() as f64 / 1e6);
    drop(doc);
    println!("{:<34} {:>10} {:>12} {:>12} {:>10}", "case", "items", "before MB", "peak MB", "parse MB");
    let exe = std::env::current_exe().expect("this bench's path");
    for (name, parallel, max_items) in [
        ("one parse, max_items 2000", 1, DEFAULT_MAX_ITEMS),
        ("eight at once, max_items 2000", 8, DEFAULT_MAX_ITEMS),
        ("one parse, unbounded", 1, usize::MAX),
        ("eight at once, unbounded", 8, usize::MAX),
    ] {
        let out = Command::new(&exe)
            .arg("--case")
            .arg(&file)
            .arg(parallel.to_string())
            .arg(max_items.to_string())
            .output()
            .expect("run a case");
        let line = String::from_utf8_lossy(&out.stdout);
        let v: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        let [before, peak, items] = v[..] else {
            println!("{name:<34} failed: {}", String::from_utf8_lossy(&out.stderr));
            continue;
        };
        let mb = |kb: u64| kb as f64 / 1024.0;
        println!(
            "{name:<34} {items:>10} {:>12.1} {:>12.1} {:>10.1}",
            mb(before),
            mb(peak),
            mb(peak.saturating_sub(before))
        );
    }
    let _ = std::fs::remove_file(&file);
}
