//! Parses arbitrary UTF-8 as a watch rule, with and without Indonesian options, and
//! evaluates whatever parses against a fixed document, alone, printed back and re-parsed, and
//! through a `RuleSet`. Any panic is a bug.
//!
//! Run with `cargo +nightly fuzz run rule_parser` from the repository root.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pantau::rules::{DocFields, Document, Rule, RuleOptions, RuleSet};

fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| {
        let authors = vec!["Tim CNN Indonesia".to_owned()];
        let categories = vec!["Internasional".to_owned(), "Asia".to_owned()];
        Document::new(&DocFields {
            title: "Intelijen AS: Rusia Beli Roket dari Korut untuk Perangi Ukraina",
            summary: "Intelijen Amerika Serikat (AS) pada Selasa (6/9/2022) melaporkan bahwa \
                      Rusia membeli jutaan roket dan peluru artileri dari Korea Utara.",
            content: "Pyongyang dilarang mengekspor senjata2; persenjataannya disita. \
                      PYŎNGYANG 朝鲜发射导弹 Straße e-mail senjatanya launching missiles",
            authors: &authors,
            categories: &categories,
            link: "https://www.cnnindonesia.com/internasional/20220906-rusia-beli-roket-korut",
            feed: "CNN Indonesia",
            article: "",
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    for lang in [None, Some("id".to_owned())] {
        let opts = RuleOptions { lang };
        let Ok(rule) = Rule::parse(query, &opts) else {
            continue;
        };
        let _ = rule.warnings();
        let single = rule.matches(document());
        // The canonical form must at least be parseable input that does not panic.
        if let Ok(again) = Rule::parse(&rule.to_string(), &opts) {
            let _ = again.matches(document());
        }
        let set = RuleSet::new(vec![(query.to_owned(), rule)]);
        let hits = set.matches(document());
        assert_eq!(hits.first().map(|(_, m)| m.clone()), single);
    }
});
