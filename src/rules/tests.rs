//! End-to-end tests of the public rule API: matching table, error offsets and messages,
//! matched terms, warnings, and property tests.

use proptest::prelude::*;

use super::*;

const TITLE: &str = "Intelijen AS: Rusia Beli Roket dari Korut untuk Perangi Ukraina";
const SUMMARY: &str = "Intelijen Amerika Serikat (AS) pada Selasa (6/9/2022) melaporkan bahwa Rusia membeli jutaan roket dan peluru artileri dari Korea Utara.";
const CONTENT: &str = "Dalam resolusi Perserikatan Bangsa-Bangsa (PBB), Pyongyang dilarang untuk mengekspor atau mengimpor senjata dari negara lain.\nberapa banyak persenjataan yang ingin dibeli Moskow dari Pyongyang\nRusia gak bebas berbelanja senjata karena sanksi Barat";

/// Which document a table case runs against.
#[derive(Clone, Copy)]
enum Doc {
    /// The Indonesian article, with author, categories, link and feed filled in.
    Article,
    /// A document whose content is the given text and whose other fields are empty.
    Content(&'static str),
}

fn article() -> Document {
    let authors = vec!["Tim CNN Indonesia".to_owned()];
    let categories = vec!["Internasional".to_owned(), "Asia".to_owned()];
    Document::new(&DocFields {
        title: TITLE,
        summary: SUMMARY,
        content: CONTENT,
        authors: &authors,
        categories: &categories,
        link: "https://www.cnnindonesia.com/internasional/20220906-rusia-beli-roket-korut",
        feed: "CNN Indonesia",
        article: "",
    })
}

fn content(text: &str) -> Document {
    Document::from_text(text)
}

fn doc(d: Doc) -> Document {
    match d {
        Doc::Article => article(),
        Doc::Content(t) => content(t),
    }
}

fn opts(lang: Option<&str>) -> RuleOptions {
    RuleOptions { lang: lang.map(str::to_owned) }
}

const ID: Option<&str> = Some("id");
const A: Doc = Doc::Article;
use Doc::Content as C;

#[rustfmt::skip]
const CASES: &[(&str, Option<&str>, Doc, bool)] = &[
    // Boolean operators, juxtaposition and parentheses.
    ("\"Korea Utara\" AND senjata", None, A, true),
    ("\"Korea Utara\" senjata", None, A, true),
    ("\"Korea Selatan\" AND senjata", None, A, false),
    ("\"Korea Selatan\" OR senjata", None, A, true),
    ("rudal OR misil", None, A, false),
    ("senjata -sanksi", None, A, false),
    ("senjata NOT nuklir", None, A, true),
    ("NOT senjata", None, A, false),
    ("-nuklir", None, A, true),
    ("- senjata", None, A, false),
    ("NOT NOT senjata", None, A, true),
    ("(rudal OR roket) AND (Korut OR \"Korea Utara\")", None, A, true),
    ("rudal OR (roket AND nuklir)", None, A, false),
    ("senjata AND nuklir OR roket", None, A, true),
    ("senjata AND (nuklir OR rudal)", None, A, false),
    ("((((roket))))", None, A, true),
    // Lower-case operators are words.
    ("senjata and nuklir", None, A, false),
    ("senjata or nuklir", None, A, false),
    ("rusia dan roket", None, A, true),
    ("rusia atau roket", None, A, true),
    ("senjata not", None, A, false),
    // Whole-word folded matching.
    ("korea utara", None, A, true),
    ("AS", None, A, true),
    ("AS", None, C("Perang di Asia"), false),
    ("senjata", None, C("persenjataan"), false),
    ("Pyongyang", None, C("PYŎNGYANG meluncurkan"), true),
    ("pyŏngyang", None, A, true),
    ("ＡＳ", None, A, true),
    ("strasse", None, C("Die Straße"), true),
    ("2022", None, A, true),
    ("6/9/2022", None, A, true),
    ("Jong-un", None, C("Kim Jong Un tiba"), true),
    ("Jong-un", None, C("Kim Jong-un tiba"), true),
    ("e-mail", None, C("kirim email"), false),
    ("朝鲜", None, C("朝鲜发射导弹"), true),
    ("\"朝鲜\"", None, C("鲜朝发射"), false),
    // Phrases.
    ("\"utara korea\"", None, A, false),
    ("\"negara lain berapa banyak\"", None, A, true),
    ("\"Ukraina Intelijen\"", None, A, false),
    ("\"bangsa bangsa\"", None, A, true),
    ("“Korea Utara”", None, A, true),
    // Exact matching.
    ("=AS", None, A, true),
    ("=AS", None, C("as soon as"), false),
    ("=as", None, A, false),
    ("=\"Korea Utara\"", None, A, true),
    ("=\"korea utara\"", None, A, false),
    ("=Pyŏngyang", None, C("Pyongyang"), false),
    ("=Pyŏngyang", None, C("Pyŏngyang"), true),
    // Wildcards.
    ("senjata*", None, C("senjatanya"), true),
    ("senjata*", None, C("persenjataan"), false),
    ("*senjata*", None, C("persenjataan"), true),
    ("r?ket", None, A, true),
    ("*jata", None, C("senjata"), true),
    ("=Pyong*", None, C("pyongyang"), false),
    ("pyong*", None, C("PYŎNGYANG"), true),
    // Fields.
    ("title:Korut", None, A, true),
    ("title:Pyongyang", None, A, false),
    ("content:Pyongyang", None, A, true),
    ("summary:\"Korea Utara\"", None, A, true),
    ("text:Pyongyang", None, A, true),
    ("title:(rudal OR roket)", None, A, true),
    ("title:(rudal OR Moskow)", None, A, false),
    ("author:CNN", None, A, true),
    ("author:\"Indonesia Internasional\"", None, A, false),
    ("category:Asia", None, A, true),
    ("Asia", None, A, false),
    ("category:\"Internasional Asia\"", None, A, false),
    ("link:cnnindonesia", None, A, true),
    ("link:korut", None, A, true),
    ("feed:\"CNN Indonesia\"", None, A, true),
    ("feed:Rusia", None, A, false),
    ("Title:Korut", None, A, true),
    ("senjata -title:senjata", None, A, true),
    // Proximity.
    ("Rusia NEAR/3 roket", None, A, true),
    ("Rusia NEAR/0 roket", None, A, false),
    ("roket NEAR/1 Rusia", None, A, true),
    ("roket ONEAR/1 Rusia", None, A, false),
    ("Rusia ONEAR/1 roket", None, A, true),
    ("(rudal OR roket) NEAR/5 \"Korea Utara\"", None, A, true),
    ("(rudal OR roket) NEAR/3 \"Korea Utara\"", None, A, false),
    ("\"Korea Utara\" NEAR/4 roket", None, A, true),
    ("Ukraina NEAR/2 Intelijen", None, A, false),
    ("Rusia NEAR/1 beli NEAR/1 roket", None, A, true),
    ("title:Rusia NEAR/1 roket", None, A, true),
    ("summary:Rusia NEAR/1 roket", None, A, false),
    ("NOT Rusia NEAR/1 roket", None, A, false),
    // Indonesian clitics and reduplication.
    ("senjata", ID, C("senjatanya disita"), true),
    ("senjata", None, C("senjatanya disita"), false),
    ("senjata", ID, C("senjata2 ilegal"), true),
    ("senjata", None, C("senjata-senjata ilegal"), true),
    ("senjata", ID, C("persenjataan"), false),
    ("Rusia", ID, C("Rusialah yang membeli"), true),
    ("roket", ID, C("roketan"), false),
    ("\"Korea Utara\"", ID, C("korea utaranya"), true),
    // Stemming.
    ("~senjata", ID, C("persenjataan"), true),
    ("~senjata", ID, C("bersenjata"), true),
    ("~beli", ID, C("pembelian"), true),
    ("~impor", ID, A, true),
    ("impor", ID, A, false),
    ("~lapor", ID, A, true),
    ("~belanja", ID, A, true),
    ("~senjata", ID, C("sanksi"), false),
    ("~missile", None, C("missiles launched"), true),
    ("~launch", None, C("missiles launched"), true),
    ("~\"launch missile\"", None, C("launching missiles"), true),
    // Regexes.
    ("/\\d+\\/\\d+\\/\\d{4}/", None, A, true),
    ("/korea utara/", None, A, false),
    ("/korea utara/i", None, A, true),
    // A wildcard without a literal start, whose literal overlaps itself across two words.
    ("*ana*", None, C("Jalan analisis"), true),
    ("*kak*", None, C("Kakak kakek"), true),
    ("/Pyong/", None, C("PYŎNGYANG"), false),
    ("/PYŎNG/", None, C("PYŎNGYANG"), true),
    ("title:/^Intelijen/", None, A, true),
    ("content:/^Intelijen/", None, A, false),
    ("/roket/ -/nuklir/", None, A, true),
];

#[test]
fn table() {
    assert!(CASES.len() >= 60);
    let mut failures = Vec::new();
    for &(query, lang, d, expected) in CASES {
        let rule = match Rule::parse(query, &opts(lang)) {
            Ok(rule) => rule,
            Err(e) => {
                failures.push(format!("{query:?}: parse error {e:?}"));
                continue;
            }
        };
        let got = rule.matches(&doc(d)).is_some();
        if got != expected {
            failures.push(format!("{query:?} lang={lang:?}: expected {expected}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[rustfmt::skip]
const ERRORS: &[(&str, usize, &str)] = &[
    ("", 0, "expected a term, phrase or '(', found end of rule"),
    ("   ", 3, "expected a term, phrase or '(', found end of rule"),
    ("senjata AND", 11, "expected a term, phrase or '(' after AND, found end of rule"),
    ("OR senjata", 0, "expected a term, phrase or '(', found OR"),
    ("rusia OR OR korut", 9, "expected a term, phrase or '(' after OR, found OR"),
    ("senjata NOT", 11, "expected a term, phrase or '(' after NOT, found end of rule"),
    ("senjata -", 9, "expected a term, phrase or '(' after '-', found end of rule"),
    ("(rusia OR korut", 15, "expected ')' to close the '(' at offset 0, found end of rule"),
    ("rusia)", 5, "expected a term, operator or end of rule, found ')' without a matching '('"),
    ("()", 1, "expected a term, phrase or '(' after '(', found ')'"),
    ("\"Korea Utara", 0, "expected a closing '\"' for the phrase that starts here, found end of rule"),
    ("senjata \"\"", 8, "expected words inside the quotes, found an empty phrase"),
    ("foo:bar", 0, "unknown field 'foo', expected one of title, summary, content, article, text, author, category, link, feed"),
    ("senjata AS: Rusia", 8, "unknown field 'AS', expected one of title, summary, content, article, text, author, category, link, feed"),
    ("title:", 6, "expected a term, phrase or '(' after 'title:', found end of rule"),
    ("rudal NEAR/ roket", 11, "expected a number after NEAR/, found a space"),
    ("rudal NEAR/x roket", 11, "expected a number after NEAR/, found 'x'"),
    ("rudal ONEAR/5x roket", 13, "expected only digits after ONEAR/, found 'x'"),
    ("rudal NEAR roket", 10, "expected '/' and a number after NEAR, e.g. NEAR/5, found a space"),
    ("rudal NEAR/3", 12, "expected a term, phrase or '(' after NEAR/3, found end of rule"),
    ("(a AND b) NEAR/3 c", 0, "expected terms, phrases or OR-groups of them on both sides of NEAR/3, found an AND group"),
    ("a NEAR/3 /x/", 9, "expected terms, phrases or OR-groups of them on both sides of NEAR/3, found a regex"),
    ("se*", 0, "expected at least 3 characters besides '*' and '?' in a wildcard term, found 'se*'"),
    ("senjata *a?", 8, "expected at least 3 characters besides '*' and '?' in a wildcard term, found '*a?'"),
    ("korea-ut*", 0, "expected a single word around '*' and '?', found 'korea-ut*'"),
    ("/(/", 0, "expected a valid regex, found unclosed group"),
    ("a /abc", 2, "expected a closing '/' for the regex that starts here, found end of rule"),
    ("/abc/x", 5, "expected a space, ')' or end of rule after the regex, found 'x'"),
    ("a //", 2, "expected a pattern between the slashes, found an empty regex"),
    ("= senjata", 1, "expected a word or phrase after '=', found a space"),
    ("!!!", 0, "expected a word with letters or digits, found '!!!'"),
    ("~senj*", 0, "expected a word without '*' or '?' after '~', found '~senj*'"),
    ("é AND", 6, "expected a term, phrase or '(' after AND, found end of rule"),
    ("AND \"open", 0, "expected a term, phrase or '(', found AND"),
];

#[test]
fn errors_have_offsets_and_messages() {
    assert!(ERRORS.len() >= 10);
    for &(query, offset, message) in ERRORS {
        match Rule::parse(query, &RuleOptions::default()) {
            Ok(_) => panic!("{query:?} parsed but should fail"),
            Err(e) => assert_eq!((e.offset, e.message.as_str()), (offset, message), "query {query:?}"),
        }
    }
}

#[test]
fn error_display_is_the_message() {
    let e = Rule::parse("senjata AND", &RuleOptions::default()).unwrap_err();
    assert_eq!(e.to_string(), "expected a term, phrase or '(' after AND, found end of rule");
}

#[test]
fn nesting_is_bounded() {
    let ok = format!("{}senjata{}", "(".repeat(MAX_OK), ")".repeat(MAX_OK));
    assert!(Rule::parse(&ok, &RuleOptions::default()).is_ok());
    let deep = format!("{}senjata{}", "(".repeat(64), ")".repeat(64));
    let e = Rule::parse(&deep, &RuleOptions::default()).unwrap_err();
    assert_eq!(e.offset, 63);
    assert!(e.message.starts_with("expected at most 63 nested levels"), "{}", e.message);
    let nots = "NOT ".repeat(10_000) + "x";
    assert!(Rule::parse(&nots, &RuleOptions::default()).is_err());
    let chain = vec!["a"; 10_000].join(" NEAR/1 ");
    assert!(Rule::parse(&chain, &RuleOptions::default()).is_err());
    // Flat operators do not nest, so long flat rules stay legal.
    let flat = vec!["a"; 10_000].join(" OR ");
    assert!(Rule::parse(&flat, &RuleOptions::default()).is_ok());
}

const MAX_OK: usize = 63;

fn terms(query: &str, lang: Option<&str>, d: Doc) -> Option<Vec<String>> {
    let rule = Rule::parse(query, &opts(lang)).unwrap_or_else(|e| panic!("{query:?}: {e:?}"));
    rule.matches(&doc(d)).map(|m| m.terms.to_vec())
}

/// Query, language, document, and the expected `Match.terms` (None for no match).
type TermsCase = (&'static str, Option<&'static str>, Doc, Option<&'static [&'static str]>);

#[test]
fn matched_terms() {
    let cases: &[TermsCase] = &[
        ("\"Korea Utara\" AND senjata", None, A, Some(&["korea utara", "senjata"])),
        ("rudal OR roket OR Korut", None, A, Some(&["roket", "korut"])),
        ("senjata -nuklir", None, A, Some(&["senjata"])),
        ("senjata -(nuklir OR rudal) NOT sanksi", None, C("senjata"), Some(&["senjata"])),
        ("Roket roket ROKET", None, A, Some(&["roket"])),
        ("(rudal OR roket) NEAR/5 \"Korea Utara\"", None, A, Some(&["roket", "korea utara"])),
        ("=AS", None, A, Some(&["as"])),
        ("senjata*", None, C("senjatanya"), Some(&["senjata*"])),
        ("/korea utara/i", None, A, Some(&["/korea utara/i"])),
        ("Pyŏngyang", None, A, Some(&["pyongyang"])),
        ("Jong-un", None, C("Kim Jong-un"), Some(&["jong un"])),
        ("-nuklir", None, A, Some(&[])),
        ("nuklir", None, A, None),
        ("senjata", ID, C("senjatanya"), Some(&["senjata"])),
        ("~senjata", ID, C("persenjataan"), Some(&["senjata"])),
        ("title:senjata OR content:senjata", None, A, Some(&["senjata"])),
        ("(roket AND nuklir) OR Korut", None, A, Some(&["korut"])),
    ];
    for (query, lang, d, expected) in cases {
        let expected = expected.map(|e| e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(terms(query, *lang, *d), expected, "query {query:?}");
    }
}

#[test]
fn warnings() {
    let warn = |q: &str| Rule::parse(q, &RuleOptions::default()).map(|r| r.warnings().to_vec()).unwrap_or_default();
    let w = warn("senjata AND nuklir OR roket");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].offset, 19);
    assert!(w[0].message.contains("parentheses"));
    assert_eq!(warn("senjata nuklir OR roket").len(), 1);
    assert!(warn("(senjata AND nuklir) OR roket").is_empty());
    assert!(warn("senjata OR roket").is_empty());
    assert!(warn("senjata AND roket").is_empty());
    let w = warn("senjata and nuklir");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].offset, 8);
    assert!(w[0].message.contains("AND"));
}

#[test]
fn public_fold() {
    assert_eq!(fold("PYŎNGYANG Straße"), "pyongyang strasse");
}

#[test]
fn rule_and_document_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Rule>();
    check::<Document>();
}

#[test]
fn one_regex_in_several_scopes_of_one_document() {
    // Regex results are remembered per document by label and scope, so the same pattern
    // must still be judged separately for each scope.
    let d = article();
    let title = Rule::parse("title:/^Intelijen/", &opts(None)).unwrap();
    let content = Rule::parse("content:/^Intelijen/", &opts(None)).unwrap();
    let text = Rule::parse("/^Intelijen/", &opts(None)).unwrap();
    let insensitive = Rule::parse("content:/^dalam/i", &opts(None)).unwrap();
    let sensitive = Rule::parse("content:/^dalam/", &opts(None)).unwrap();
    for _ in 0..2 {
        assert!(title.matches(&d).is_some());
        assert!(content.matches(&d).is_none());
        assert!(text.matches(&d).is_some());
        assert!(insensitive.matches(&d).is_some());
        assert!(sensitive.matches(&d).is_none());
    }
}

#[test]
fn document_is_reused_across_rules() {
    let d = article();
    let rules: Vec<Rule> =
        ["senjata", "~senjata", "nuklir"].iter().map(|q| Rule::parse(q, &opts(ID)).expect("valid rule")).collect();
    let hits: Vec<bool> = rules.iter().map(|r| r.matches(&d).is_some()).collect();
    assert_eq!(hits, [true, true, false]);
}

/// A boolean expression over a tiny vocabulary, for comparing against a naive evaluator.
#[derive(Clone, Debug)]
enum Naive {
    Word(usize),
    Not(Box<Naive>),
    And(Box<Naive>, Box<Naive>),
    Or(Box<Naive>, Box<Naive>),
}

const VOCAB: [&str; 5] = ["rusia", "Roket", "KORUT", "senjātā", "pyongyang"];

impl Naive {
    fn render(&self) -> String {
        match self {
            Naive::Word(i) => VOCAB[*i].to_owned(),
            Naive::Not(e) => format!("-({})", e.render()),
            Naive::And(a, b) => format!("({} AND {})", a.render(), b.render()),
            Naive::Or(a, b) => format!("({} OR {})", a.render(), b.render()),
        }
    }

    fn eval(&self, present: &[bool]) -> bool {
        match self {
            Naive::Word(i) => present[*i],
            Naive::Not(e) => !e.eval(present),
            Naive::And(a, b) => a.eval(present) && b.eval(present),
            Naive::Or(a, b) => a.eval(present) || b.eval(present),
        }
    }
}

fn naive_expr() -> impl Strategy<Value = Naive> {
    let leaf = (0..VOCAB.len()).prop_map(Naive::Word);
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Naive::Not(Box::new(e))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Naive::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Naive::Or(Box::new(a), Box::new(b))),
        ]
    })
}

proptest! {
    #[test]
    fn parser_never_panics(query in "\\PC{0,60}") {
        let _ = Rule::parse(&query, &RuleOptions::default());
    }

    #[test]
    fn parser_never_panics_on_rule_like_input(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("AND"), Just("OR"), Just("NOT"), Just("-"), Just("("), Just(")"), Just("\""),
                Just("NEAR/2"), Just("ONEAR/"), Just("title:"), Just("foo:"), Just("="), Just("~"),
                Just("/a(/"), Just("/x/i"), Just("se*"), Just("senjata*"), Just("korea"), Just("é"),
                Just("朝"), Just(" "), Just("\\"), Just("?"), Just(":"),
            ],
            0..24,
        ),
        glue in proptest::collection::vec(prop_oneof![Just(""), Just(" ")], 24),
    ) {
        let mut query = String::new();
        for (i, p) in parts.iter().enumerate() {
            query.push_str(p);
            query.push_str(glue[i]);
        }
        for lang in [None, ID] {
            if let Ok(rule) = Rule::parse(&query, &opts(lang)) {
                let _ = rule.matches(&article());
            }
        }
    }

    #[test]
    fn agrees_with_naive_evaluator(expr in naive_expr(), present in proptest::collection::vec(any::<bool>(), VOCAB.len())) {
        let words: Vec<&str> = VOCAB.iter().zip(&present).filter(|(_, p)| **p).map(|(w, _)| *w).collect();
        let text = format!("Berita: {}.", words.join(", "));
        let d = content(&text);
        let query = expr.render();
        let rule = Rule::parse(&query, &RuleOptions::default()).expect("generated rules are valid");
        prop_assert_eq!(rule.matches(&d).is_some(), expr.eval(&present), "query {}", query);
    }
}

/// Leaves for generated rules: (query text, usable as a NEAR operand).
const LEAVES: &[(&str, bool)] = &[
    ("rusia", true),
    ("Roket", true),
    ("KORUT", true),
    ("senjātā", true),
    ("pyongyang", true),
    ("Jong-un", true),
    ("朝鲜", true),
    ("Straße", true),
    ("2022", true),
    ("AS", true),
    ("yang", true),
    ("\"korea utara\"", true),
    ("“Korea Utara”", true),
    ("=AS", true),
    ("=\"Korea Utara\"", true),
    ("~senjata", true),
    ("~\"launch missile\"", true),
    ("senjata*", true),
    ("*jata", true),
    ("*njat*", true),
    ("r?ket", true),
    ("=Pyong*", true),
    ("korea-ut", true),
    ("/korea utara/i", false),
    ("/\\d+\\/\\d+/", false),
    ("/Rusia/", false),
    ("/rusia/i", false),
    ("/^Intel|(?i)ROKET$/", false),
];

const FIELDS: &[&str] =
    &["", "", "", "title:", "summary:", "content:", "text:", "author:", "category:", "link:", "feed:"];

/// A generated rule, rendered with a mix of spellings for the same operators.
#[derive(Clone, Debug)]
enum Gen {
    Leaf(usize, usize),
    Near(Box<Gen>, Box<Gen>, u32, bool),
    And(Vec<Gen>, bool),
    Or(Vec<Gen>),
    Not(Box<Gen>, bool),
}

impl Gen {
    fn render(&self) -> String {
        match self {
            Gen::Leaf(l, f) => format!("{}{}", FIELDS[*f], LEAVES[*l].0),
            Gen::Near(a, b, d, o) => {
                format!("({} {}NEAR/{d} {})", a.render(), if *o { "O" } else { "" }, b.render())
            }
            Gen::And(items, keyword) => {
                let parts: Vec<String> = items.iter().map(Gen::render).collect();
                format!("({})", parts.join(if *keyword { " AND " } else { " " }))
            }
            Gen::Or(items) => {
                let parts: Vec<String> = items.iter().map(Gen::render).collect();
                format!("({})", parts.join(" OR "))
            }
            Gen::Not(e, minus) => format!("{}{}", if *minus { "-" } else { "NOT " }, e.render()),
        }
    }
}

fn gen_near_operand() -> impl Strategy<Value = Gen> {
    let near_leaves: Vec<usize> = (0..LEAVES.len()).filter(|&i| LEAVES[i].1).collect();
    let leaf = (proptest::sample::select(near_leaves), 0..FIELDS.len()).prop_map(|(l, f)| Gen::Leaf(l, f));
    leaf.prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Gen::Or),
            (inner.clone(), inner, 0u32..4, any::<bool>()).prop_map(|(a, b, d, o)| Gen::Near(
                Box::new(a),
                Box::new(b),
                d,
                o
            )),
        ]
    })
}

fn gen_rule() -> impl Strategy<Value = Gen> {
    let leaf = prop_oneof![
        3 => (0..LEAVES.len(), 0..FIELDS.len()).prop_map(|(l, f)| Gen::Leaf(l, f)),
        1 => gen_near_operand(),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (proptest::collection::vec(inner.clone(), 2..4), any::<bool>()).prop_map(|(v, k)| Gen::And(v, k)),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Gen::Or),
            (inner, any::<bool>()).prop_map(|(e, m)| Gen::Not(Box::new(e), m)),
        ]
    })
}

/// Words for generated documents, including inflected and differently written forms.
const DOC_WORDS: &[&str] = &[
    "rusia",
    "Rusialah",
    "roket",
    "ROKET",
    "korut",
    "senjata",
    "senjatanya",
    "senjata2",
    "persenjataan",
    "bersenjata",
    "Pyongyang",
    "PYŎNGYANG",
    "Jong-un",
    "Jong",
    "un",
    "朝鲜发射",
    "Straße",
    "strasse",
    "6/9/2022",
    "2022",
    "AS",
    "as",
    "Asia",
    "yang",
    "Korea",
    "Utara",
    "utaranya",
    "korea-utara",
    "launching",
    "missiles",
    "launch",
    "rocket",
    "raket",
    "jata",
    "anjatx",
    "Pyongchang",
    "dan",
    "sanksi",
];

fn gen_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (proptest::sample::select(DOC_WORDS), prop_oneof![Just(" "), Just(", "), Just(". "), Just("\n")]),
        0..14,
    )
    .prop_map(|parts| parts.into_iter().map(|(w, s)| format!("{w}{s}")).collect())
}

#[derive(Debug, Clone)]
struct GenDoc {
    title: String,
    summary: String,
    content: String,
    authors: Vec<String>,
    categories: Vec<String>,
    link: String,
    feed: String,
}

impl GenDoc {
    fn document(&self) -> Document {
        Document::new(&DocFields {
            title: &self.title,
            summary: &self.summary,
            content: &self.content,
            authors: &self.authors,
            categories: &self.categories,
            link: &self.link,
            feed: &self.feed,
            article: "",
        })
    }
}

fn gen_doc() -> impl Strategy<Value = GenDoc> {
    (
        gen_text(),
        gen_text(),
        gen_text(),
        proptest::collection::vec(gen_text(), 0..2),
        proptest::collection::vec(gen_text(), 0..2),
        gen_text(),
        gen_text(),
    )
        .prop_map(|(title, summary, content, authors, categories, link, feed)| GenDoc {
            title,
            summary,
            content,
            authors,
            categories,
            link: format!("https://news.example/{}", link.replace(' ', "-")),
            feed,
        })
}

fn parse_gen(g: &Gen, lang: Option<&str>) -> Rule {
    let query = g.render();
    Rule::parse(&query, &opts(lang)).unwrap_or_else(|e| panic!("{query:?}: {e:?}"))
}

#[test]
fn display_is_canonical() {
    let show = |q: &str| Rule::parse(q, &RuleOptions::default()).unwrap().to_string();
    assert_eq!(
        show("\"Korea Utara\" senjata OR title:(rudal OR =AS) -~beli"),
        "(\"korea utara\" AND \"senjata\") OR ((title:\"rudal\" OR title:=\"AS\") AND NOT ~\"beli\")"
    );
    assert_eq!(
        show("Rusia NEAR/3 roket ONEAR/1 Pyŏng* /a\\/b/i"),
        "((\"rusia\" NEAR/3 \"roket\") ONEAR/1 pyong*) AND /a\\/b/i"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn display_round_trips(g in gen_rule(), indonesian in any::<bool>()) {
        let lang = if indonesian { ID } else { None };
        let rule = parse_gen(&g, lang);
        let printed = rule.to_string();
        let again = Rule::parse(&printed, &opts(lang))
            .unwrap_or_else(|e| panic!("{:?} printed as {printed:?}: {e:?}", g.render()));
        prop_assert_eq!(&rule.expr, &again.expr, "{} printed as {}", g.render(), printed);
        prop_assert_eq!(again.to_string(), printed);
    }

    #[test]
    fn rule_set_agrees_with_each_rule(
        gens in proptest::collection::vec(gen_rule(), 0..12),
        docs in proptest::collection::vec(gen_doc(), 1..4),
        indonesian in any::<bool>(),
    ) {
        let lang = if indonesian { ID } else { None };
        let rules: Vec<(String, Rule)> = gens.iter().map(|g| (g.render(), parse_gen(g, lang))).collect();
        let expected_rules: Vec<Rule> = gens.iter().map(|g| parse_gen(g, lang)).collect();
        let set = RuleSet::new(rules);
        for d in &docs {
            let doc = d.document();
            let expected: Vec<(usize, Match)> = expected_rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.matches(&doc).map(|m| (i, m)))
                .collect();
            prop_assert_eq!(set.matches(&doc), expected, "doc {:?}", d);
        }
    }

    #[test]
    fn word_index_agrees_with_scanning(g in gen_rule(), d in gen_doc(), indonesian in any::<bool>()) {
        let lang = if indonesian { ID } else { None };
        let rule = parse_gen(&g, lang);
        let doc = d.document();
        let indexed = rule.matches(&doc);
        eval::SCAN_ONLY.with(|s| s.set(true));
        let scanned = rule.matches(&d.document());
        eval::SCAN_ONLY.with(|s| s.set(false));
        prop_assert_eq!(indexed, scanned, "rule {}", g.render());
    }
}

#[test]
fn a_rule_set_with_many_regexes_agrees_with_each_rule() {
    // Nine patterns per case flag: enough for the set search outside tests too.
    let words = ["korea", "utara", "senjata", "rudal", "Rusia", "roket", "uji", "Pyong", "AS"];
    let mut rules = Vec::new();
    for (i, w) in words.iter().enumerate() {
        rules.push((format!("cs{i}"), format!("/{w}\\b/")));
        rules.push((format!("ci{i}"), format!("title:/{w} [a-z]+/i")));
    }
    rules.push(("mixed".into(), "/rusia/i AND NOT /^Intel/".into()));
    let parse = || -> Vec<(String, Rule)> {
        rules
            .iter()
            .map(|(n, q)| (n.clone(), Rule::parse(q, &opts(None)).unwrap_or_else(|e| panic!("{q}: {e:?}"))))
            .collect()
    };
    let (parsed, set) = (parse(), RuleSet::new(parse()));
    let titled =
        |title: &str, text: &str| Document::new(&DocFields { title, content: text, ..DocFields::text_only("") });
    let docs = [
        titled("Korea Utara uji rudal", "Rusia beli roket dari Korut"),
        titled("Intelijen AS: Rusia Beli Roket", "senjata baru di Pyongyang"),
        titled("", "nothing relevant here at all"),
        article(),
    ];
    let mut matched = 0;
    for d in &docs {
        let expected: Vec<(usize, Match)> =
            parsed.iter().enumerate().filter_map(|(i, (_, r))| r.matches(d).map(|m| (i, m))).collect();
        matched += expected.len();
        assert_eq!(set.matches(d), expected);
    }
    assert!(matched > 5, "the documents exercise the patterns ({matched} matches)");
    // The set searched for every pattern itself: no leaf needed its own compiled regex.
    use super::ast::{Expr, Leaf, LeafKind};
    fn compiled_regexes(e: &Expr) -> usize {
        match e {
            Expr::Leaf(Leaf { kind: LeafKind::Regex(re), .. }) => usize::from(re.is_compiled()),
            Expr::Leaf(_) => 0,
            Expr::And(c) | Expr::Or(c) => c.iter().map(compiled_regexes).sum(),
            Expr::Not(c) => compiled_regexes(c),
            Expr::Near { left, right, .. } => compiled_regexes(left) + compiled_regexes(right),
        }
    }
    assert_eq!(set.rules().iter().map(|(_, r)| compiled_regexes(&r.expr)).sum::<usize>(), 0);
    assert!(parsed.iter().map(|(_, r)| compiled_regexes(&r.expr)).sum::<usize>() > 0, "the rules on their own did");

    // The searches left their lazy-DFA caches with the set; an idle daemon lets them go, and
    // the next search builds a fresh one and finds the same.
    assert!(set.cache_bytes() > 0, "a search keeps its cache for the next one");
    let held = set.cache_bytes();
    assert_eq!(set.release_caches(), held);
    assert_eq!(set.cache_bytes(), 0);
    for d in &docs {
        let expected: Vec<(usize, Match)> =
            parsed.iter().enumerate().filter_map(|(i, (_, r))| r.matches(d).map(|m| (i, m))).collect();
        assert_eq!(set.matches(d), expected, "after the caches were released");
    }
    assert!(set.cache_bytes() > 0);
}

#[test]
fn the_article_is_part_of_the_text_and_has_a_scope_of_its_own() {
    let opts = RuleOptions { lang: Some("id".into()) };
    let doc = Document::new(&DocFields {
        title: "Intelijen AS: Rusia Beli Roket dari Korut",
        summary: "Rusia membeli senjata untuk perang di Ukraina.",
        article: "Rusia membeli jutaan roket dari Korea Utara, kata pejabat AS. Senjata itu ...",
        ..DocFields::text_only("")
    });
    let rule = |q: &str| Rule::parse(q, &opts).unwrap();
    assert!(rule("\"Korea Utara\" AND senjata").matches(&doc).is_some(), "the article is part of the default text");
    assert!(rule("article:\"Korea Utara\"").matches(&doc).is_some());
    assert!(rule("article:Korut").matches(&doc).is_none(), "article: sees only the fetched text");
    assert!(rule("title:\"Korea Utara\"").matches(&doc).is_none());
    assert_eq!(rule("article:roket").to_string(), "article:\"roket\"");
    // Where each word hit, in document order of the fields.
    let hits = rule("\"Korea Utara\" AND senjata AND NOT damai").hit_fields(&doc);
    assert_eq!(
        hits,
        [("korea utara".to_string(), vec!["article"]), ("senjata".to_string(), vec!["summary", "article"])]
    );
}

#[test]
fn invisible_format_characters_never_hide_a_word() {
    let opts = RuleOptions::default();
    for (text, query) in [
        ("Pope\u{200E} Francis visits Jakarta", "pope"),
        ("Pope\u{200F} Francis", "\"pope francis\""),
        ("Kim\u{200D} Jong-un", "kim"),
        ("Kim\u{2060}", "kim"),
        ("\u{FEFF}Korea Utara", "korea"),
        ("Die Bundes\u{00AD}regierung", "bundesregierung"),
        ("Rusia\u{202E} membeli", "rusia"),
    ] {
        let rule = Rule::parse(query, &opts).unwrap();
        assert!(rule.matches(&Document::from_text(text)).is_some(), "{query} in {text:?}");
        let title = Document::new(&DocFields { title: text, ..DocFields::text_only("") });
        assert!(rule.matches(&title).is_some(), "{query} in the title {text:?}");
    }
}

#[test]
fn apostrophes_are_one_and_a_possessive_finds_its_word() {
    let opts = RuleOptions::default();
    let m = |q: &str, t: &str| Rule::parse(q, &opts).unwrap().matches(&Document::from_text(t)).is_some();
    assert!(m("don't", "I don’t know"), "typographic apostrophe");
    assert!(m("\"don’t know\"", "I don't know"));
    for text in ["Trump's plan", "Trump’s plan", "TRUMP'S PLAN", "kata Trump’s", "Trumpʼs plan"] {
        assert!(m("trump", text), "{text}");
        assert!(m("\"trump's plan\"", text) || text.starts_with("kata"), "{text}");
    }
    assert!(m("=Trump's", "Trump’s plan"), "exact keeps the possessive");
    assert!(!m("=Trump's", "Trump plan"), "and needs it");
    assert!(!m("trump", "Trumps plan"), "a plural is another word");
    assert!(m("it's", "it’s late") && m("o'neill", "O’Neill said"), "other apostrophes still join");
}

#[test]
fn suspicious_rules_get_a_warning_at_the_right_place() {
    let warn = |q: &str, lang: Option<&str>| -> Vec<(usize, String)> {
        let r = Rule::parse(q, &RuleOptions { lang: lang.map(String::from) }).unwrap();
        r.warnings().iter().map(|w| (w.offset, w.message.clone())).collect()
    };
    for (q, at, op) in [
        ("rudal NEAR5 korea", 6, "NEAR/5"),
        ("rudal ONEAR3 korea", 6, "ONEAR/3"),
        ("rudal near/5 korea", 6, "NEAR/5"),
        ("rudal Near/3 korea", 6, "NEAR/3"),
    ] {
        let w = warn(q, Some("id"));
        assert_eq!(w.len(), 1, "{q}: {w:?}");
        assert_eq!(w[0].0, at, "{q}");
        assert!(w[0].1.contains(&format!("write {op}")), "{q}: {}", w[0].1);
    }
    assert!(warn("rudal NEAR/5 korea", None).is_empty(), "the operator itself");
    assert!(warn("near miss", None).is_empty(), "a lower-case word alone is a word");
    assert!(Rule::parse("rudal ONEAR korea", &RuleOptions::default()).is_err(), "a bare operator is an error");
    let stem = warn("senjata ~rudal", None);
    assert!(stem.len() == 1 && stem[0].0 == 8 && stem[0].1.contains("lang = \"id\""), "{stem:?}");
    assert!(warn("~rudal", Some("id")).is_empty());
    for q in ["NOT olahraga", "-olahraga -bola", "senjata OR NOT damai"] {
        let w = warn(q, Some("id"));
        assert!(w.iter().any(|(_, m)| m.contains("no word that must occur")), "{q}: {w:?}");
    }
    assert!(warn("senjata AND NOT damai", Some("id")).is_empty());
    assert!(known_lang("id-ID") && known_lang("en") && known_lang("IND") && !known_lang("fr"));
}

#[test]
fn a_wildcard_inside_a_phrase_is_an_error_that_says_what_to_write() {
    let e = Rule::parse("\"harga ema*\"", &RuleOptions::default()).unwrap_err();
    assert_eq!(e.offset, 10, "{e:?}");
    assert!(e.message.contains("write harga ONEAR/0 ema*"), "{}", e.message);
    let e = Rule::parse("x =\"Harga Em?s\"", &RuleOptions::default()).unwrap_err();
    assert_eq!(e.offset, 12, "{e:?}");
    // The suggested form works.
    let r = Rule::parse("harga ONEAR/0 ema*", &RuleOptions::default()).unwrap();
    assert!(r.matches(&Document::from_text("harga emas naik")).is_some());
    assert!(r.matches(&Document::from_text("emas harga naik")).is_none());
}
