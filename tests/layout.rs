//! The crate's rooms import each other in one direction only: among the top-level modules of
//! `src/`, and among the files of each module directory, no two modules import each other,
//! directly or in a loop (ARCHITECTURE.md's invariant; issue #18).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module name → the names it refers to (`crate::NAME` for top-level modules; `super::NAME` or
/// `crate::DIR::NAME` for the files of one directory). Test code and comments are left out.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The text of a source file without its `#[cfg(test)] mod tests` and its comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines().map(|l| l.find("//").map_or(l, |i| &l[..i])).collect::<Vec<_>>().join("\n")
}

/// Every name following `prefix` in `text` (the identifier after it).
fn names_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            let rest = &text[i + prefix.len()..];
            let end =
                rest.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')).unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// The names inside `super::{…}` groups (`use super::{a, b::X}` refers to `a` and `b`).
fn grouped_after_super(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("super::{") {
        let rest = &text[i + "super::{".len()..];
        let group = &rest[..rest.find('}').unwrap_or(rest.len())];
        for part in group.split(',') {
            let first = part.trim().split("::").next().unwrap_or("").trim();
            out.push(first.to_string());
        }
    }
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// A loop in `graph`, as the names along it, if there is one.
fn find_loop(graph: &Graph) -> Option<Vec<String>> {
    // Depth-first search; a name met again while still on the path closes a loop.
    fn visit(n: &str, g: &Graph, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut cycle = path[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for next in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

fn is_test_file(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "tests.rs")
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "main" || name == "lib" {
            continue;
        }
        let files = if path.is_dir() { rust_files(&path) } else { vec![path] };
        modules.insert(name, files);
    }
    assert!(modules.len() > 10, "read the modules of src/: {:?}", modules.keys());
    let mut graph = Graph::new();
    for (name, files) in &modules {
        let edges = graph.entry(name.clone()).or_default();
        for file in files.iter().filter(|f| !is_test_file(f)) {
            let text = code(file);
            for used in names_after(&text, "crate::") {
                if used != name && modules.contains_key(used) {
                    edges.insert(used.to_string());
                }
            }
        }
    }
    assert!(graph["deliver"].contains("config"), "the scan sees imports: {graph:?}");
    assert_eq!(find_loop(&graph), None, "modules importing each other (in a loop); graph: {graph:#?}");
}

#[test]
fn no_two_files_of_one_module_import_each_other() {
    let mut checked = 0;
    for entry in std::fs::read_dir(src()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let dir_name = dir.file_name().unwrap().to_string_lossy().to_string();
        // The files (and sub-directories) of the module, besides its mod.rs and tests.
        let mut kids: BTreeMap<String, PathBuf> = BTreeMap::new();
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            if p.is_dir() && p.join("mod.rs").exists() {
                kids.insert(stem, p.join("mod.rs"));
            } else if p.extension().is_some_and(|x| x == "rs") && stem != "mod" && stem != "tests" {
                kids.insert(stem, p);
            }
        }
        let mut graph = Graph::new();
        for (name, file) in &kids {
            let text = code(file);
            let mut used: Vec<String> = names_after(&text, "super::").into_iter().map(str::to_string).collect();
            used.extend(names_after(&text, &format!("crate::{dir_name}::")).into_iter().map(str::to_string));
            used.extend(grouped_after_super(&text));
            let edges = graph.entry(name.clone()).or_default();
            edges.extend(used.into_iter().filter(|u| u != name && kids.contains_key(u)));
        }
        assert_eq!(find_loop(&graph), None, "files of src/{dir_name}/ importing each other (in a loop): {graph:#?}");
        checked += 1;
    }
    assert!(checked >= 8, "module directories checked: {checked}");
}

#[test]
fn the_loop_finder_finds_loops() {
    let g = |edges: &[(&str, &str)]| -> Graph {
        let mut g = Graph::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert_eq!(find_loop(&g(&[("a", "b"), ("b", "c")])), None);
    assert_eq!(find_loop(&g(&[("a", "b"), ("b", "a")])), Some(vec!["a".into(), "b".into(), "a".into()]));
    assert!(find_loop(&g(&[("a", "b"), ("b", "c"), ("c", "a")])).is_some());
    assert_eq!(names_after("use crate::config::Feed; crate::store::Store", "crate::"), ["config", "store"]);
    assert_eq!(grouped_after_super("use super::{ast::Expr, doc};"), ["ast", "doc"]);
}
