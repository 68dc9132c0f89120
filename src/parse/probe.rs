//! Temporary corpus probe (removed before hand-off).
use std::io::Write;

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
#[ignore]
fn probe() {
    let root = std::path::Path::new("/work/shared/corpus");
    let mut files = Vec::new();
    walk(root, &mut files);
    let name = std::env::var("PROBE_OUT").unwrap_or_else(|_| "probe".into());
    let mut out = std::fs::File::create(format!("/work/scratch/{name}.tsv")).unwrap();
    let (mut ok, mut with_items, mut items) = (0, 0, 0);
    let start = std::time::Instant::now();
    for p in files {
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
        if rel == "MANIFEST.tsv" || rel == "FINDINGS.md" {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        let t = std::time::Instant::now();
        let r = super::parse_feed(&bytes, None);
        let ms = t.elapsed().as_millis();
        match r {
            Ok(f) => {
                ok += 1;
                if !f.items.is_empty() {
                    with_items += 1;
                }
                items += f.items.len();
                writeln!(out, "{rel}\tok\t{}\t{}\t{ms}", f.items.len(), f.recoveries.join("; ")).unwrap();
            }
            Err(e) => {
                writeln!(out, "{rel}\terr\t0\t{}\t{ms}", e.to_string().replace(['\n', '\t'], " ")).unwrap();
            }
        }
    }
    eprintln!("ok={ok} with_items={with_items} items={items} in {:?}", start.elapsed());
}
