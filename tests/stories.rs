//! The story grouping on a labelled set (`util/story_set.rs`): reprints of the articles of
//! `../shared/articles` and of the sample article must join their original; different articles,
//! and two stories told from the halves of one article, must not. Prints precision and recall
//! for a range of thresholds; holds the default to precision 1.0 and recall ≥ 0.95.

use pantau::stories::{Signature, Threshold, DEFAULT_THRESHOLD};

use crate::util::story_set;

/// Precision and recall of the grouping at `threshold`: a pair is grouped when the two share a
/// band of the index (as the store finds candidates) and are close enough.
pub fn score(sigs: &[Option<Signature>], pairs: &[(usize, usize, bool)], threshold: f64) -> (f64, f64, usize, usize) {
    let t = Threshold { long: threshold };
    let (mut tp, mut fp, mut positives) = (0usize, 0usize, 0usize);
    for &(a, b, same) in pairs {
        positives += usize::from(same);
        let (Some(x), Some(y)) = (&sigs[a], &sigs[b]) else { continue };
        let candidate = x.bands().iter().zip(y.bands()).any(|(p, q)| *p == q);
        if candidate && t.joins(x, y) {
            if same {
                tp += 1;
            } else {
                fp += 1;
            }
        }
    }
    let precision = if tp + fp == 0 { 1.0 } else { tp as f64 / (tp + fp) as f64 };
    (precision, tp as f64 / positives.max(1) as f64, fp, positives - tp)
}

#[test]
fn story_grouping_on_the_labelled_set() {
    let Some(dir) = crate::util::shared("articles", "ground-truth.json") else { return };
    let sample = dir.join("../samples/idntimes-rusia-korut.txt");
    let bodies = story_set::bodies(&dir, Some(&sample));
    let set = story_set::build(&bodies);
    let sigs: Vec<Option<Signature>> = set.texts.iter().map(|t| Signature::of_text(t)).collect();
    let negatives = set.pairs.iter().filter(|p| !p.2).count();
    eprintln!(
        "story grouping: {} texts ({} short), {} pairs that must join, {negatives} that must not",
        set.texts.len(),
        set.short.iter().filter(|s| **s).count(),
        set.pairs.len() - negatives
    );
    for t in [0.3, 0.4, 0.5, 0.6, 0.7, 0.8] {
        let (p, r, fp, missed) = score(&sigs, &set.pairs, t);
        eprintln!("  threshold {t:.1}: precision {p:.3}, recall {r:.3} ({fp} wrong merges, {missed} reprints missed)");
    }
    let closest = set
        .pairs
        .iter()
        .filter(|p| !p.2)
        .filter_map(|&(a, b, _)| Some(sigs[a].as_ref()?.similarity(sigs[b].as_ref()?)))
        .fold(0.0f64, f64::max);
    eprintln!("  the closest pair that must not join: similarity {closest:.2}");
    let (p, r, _, _) = score(&sigs, &set.pairs, DEFAULT_THRESHOLD);
    assert_eq!(p, 1.0, "a wrong merge at the default threshold");
    assert!(r >= 0.95, "recall {r:.3} below 0.95");
}

/// The body of a wire story (written for this test) and what a reprinting outlet makes of it.
const WIRE: &str = "Pemerintah Korea Utara kembali menguji coba senjata baru berupa rudal jelajah jarak jauh di \
    lepas pantai timur pada Minggu pagi, menurut kantor berita resmi negara itu. Kepala Staf Gabungan Korea \
    Selatan mengatakan militer memantau peluncuran tersebut bersama intelijen Amerika Serikat dan Jepang. \
    Para analis menilai uji coba ini bertujuan menekan Washington menjelang latihan militer gabungan yang \
    dijadwalkan bulan depan. Pyongyang menyebut senjata itu sebagai bagian dari rencana lima tahun untuk \
    memperkuat pertahanan nasional dan menolak tuduhan bahwa peluncuran melanggar resolusi Dewan Keamanan \
    PBB. Tokyo menyampaikan protes melalui jalur diplomatik di Beijing dan meminta kapal nelayan berhati-hati. \
    Seoul memperkirakan Pyongyang akan melanjutkan uji coba dalam beberapa pekan ke depan.";

/// Another report on the same subject the same week: a different story.
const OTHER: &str = "Badan intelijen Korea Selatan melaporkan kepada parlemen di Seoul pada Selasa bahwa Korea Utara \
    telah mengirim ribuan kontainer berisi peluru artileri dan senjata ringan ke Rusia sejak musim panas. \
    Menurut anggota komite intelijen, pengiriman dilakukan melalui pelabuhan Rajin dan jalur kereta di \
    perbatasan. Sebagai imbalannya Pyongyang diduga menerima bantuan pangan serta teknologi satelit. Kremlin \
    membantah laporan itu dan menyebutnya spekulasi tanpa bukti, sementara Washington menyatakan akan \
    membahas sanksi tambahan bersama sekutunya.";

fn item_xml(guid: &str, title: &str, body: &str) -> String {
    format!(
        "<item><title>{title}</title><link>https://news{guid}.example.id/{guid}</link><guid>{guid}</guid>\
         <pubDate>Wed, 25 Nov 2026 10:00:00 +0700</pubDate><description>{body}</description></item>"
    )
}

fn rss(items: &[String]) -> String {
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>https://ex.id/</link>{}</channel></rss>", items.concat())
}

#[test]
fn a_story_reprinted_by_three_feeds_under_three_headlines_alerts_once_per_rule_and_sink() {
    use crate::util::{run, show, ConfigBuilder, FeedServer, Receiver, TempDir, KORUT};
    let dir = TempDir::new("stories_e2e");
    let (feeds, rx, rx2) = (FeedServer::start(), Receiver::start(), Receiver::start());
    let cut = &WIRE[..WIRE.rfind("Seoul memperkirakan").unwrap()];
    feeds.set("/a.rss", rss(&[item_xml("a1", "Korea Utara Uji Coba Senjata Baru", WIRE)]));
    feeds.set(
        "/b.rss",
        rss(&[item_xml(
            "b1",
            "Pyongyang Kembali Luncurkan Rudal Jelajah, Seoul Waspada",
            &format!("Jakarta (ANTARA) - {cut} Baca berita terkini lainnya di Google News. Editor: Rina"),
        )]),
    );
    feeds.set(
        "/c.rss",
        rss(&[
            item_xml(
                "c1",
                "Rudal Jelajah Korut Meluncur Lagi",
                &format!("Seoul - {}", WIRE.replace("Minggu pagi", "Minggu")),
            ),
            item_xml("c2", "Korea Utara Kirim Senjata ke Rusia, Kata Intelijen Seoul", OTHER),
        ]),
    );
    let mut config = ConfigBuilder::new();
    for name in ["a", "b", "c"] {
        config = config.feed(name, &feeds.url(&format!("/{name}.rss")), "");
    }
    let config = config
        .rule("korut", KORUT, "sinks = [\"hook\", \"hook2\"]")
        .rule("korut-every", KORUT, "sinks = [\"hook\"]\nstories = \"every\"")
        .webhook("hook", &rx.url(), "")
        .webhook("hook2", &rx2.url(), "");
    let cfg = dir.config(&config.build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let bodies = |r: &Receiver| r.posts().iter().map(|p| p.json()).collect::<Vec<_>>();
    let (one, two) = (bodies(&rx), bodies(&rx2));
    let of = |b: &[serde_json::Value], rule: &str| b.iter().filter(|p| p["rule"] == rule).cloned().collect::<Vec<_>>();
    // Rule "korut": the story once per sink, the other story once per sink.
    for (sink, posts) in [("hook", &one), ("hook2", &two)] {
        let korut = of(posts, "korut");
        assert_eq!(korut.len(), 2, "{sink}: {korut:#?}\n{}", show(&out));
        let story = korut.iter().find(|p| p["item"]["id"] != "c2").expect("the story");
        let mut feeds: Vec<String> = vec![story["feed"]["name"].as_str().unwrap().to_string()];
        feeds.extend(
            story["also_in"].as_array().expect("also_in").iter().map(|f| f["name"].as_str().unwrap().to_string()),
        );
        feeds.sort();
        assert_eq!(feeds, ["a", "b", "c"], "{sink}: {story}");
        assert!(korut.iter().any(|p| p["item"]["id"] == "c2"), "the other story alerts");
    }
    // Rule "korut-every" (stories = "every"): every copy alerts.
    assert_eq!(of(&one, "korut-every").len(), 4, "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).matches("story_duplicates=2").count() == 2, "{}", show(&out));

    // `pantau items` shows the story and its copies; `--story` lists them.
    let items = run(&cfg, &["items"]);
    let text = String::from_utf8_lossy(&items.stdout).to_string();
    let story = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[1] == "(+2)")
        .map(|w| w[0].to_string())
        .unwrap_or_else(|| panic!("a story with two copies: {text}"));
    let listed = run(&cfg, &["items", "--story", &story]);
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert_eq!(listed.lines().count(), 4, "a header and three copies: {listed}");
    assert!(!listed.contains("Kirim Senjata"), "{listed}");
    // The backtest says what the grouping saved.
    let history = run(&cfg, &["test-rule", "--history", "1", "\"Korea Utara\" AND senjata"]);
    let said = String::from_utf8_lossy(&history.stdout).to_string();
    assert!(said.contains("4 of 4 stored items matched"), "{said}");
    assert!(said.contains("story grouping saved 2 alert(s) per sink"), "{said}");
}
