//! Whole articles end to end: a feed that carries only a headline and a sentence, pages served
//! locally with navigation, a sidebar of other headlines and inline "Baca Juga" teasers; an
//! item alerts exactly when its *article* matches, never because of the page around it.

use std::time::Duration;

use crate::util::{run, show, ConfigBuilder, Daemon, FeedServer, Receiver, Response, TempDir};

/// The furniture of every page: a menu and a sidebar whose headlines hold the rule's words.
fn page(title: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        r#"<!doctype html><html lang="id"><head><meta charset="utf-8"><title>{title} | Berita Contoh</title></head>
<body>
<header><nav class="menu"><ul><li><a href="/">Beranda</a></li><li><a href="/tag/korea-utara">Korea Utara</a></li>
<li><a href="/tag/senjata">Senjata</a></li><li><a href="/ekonomi">Ekonomi</a></li></ul></nav></header>
<main><article class="detail">
<h1>{title}</h1>
<div class="byline">Redaksi Contoh, 25 November 2026</div>
<div class="detail__body">
{body}<p><strong>Baca Juga:</strong> <a href="/a/korut-uji-rudal">Korea Utara Uji Coba Senjata Hipersonik Baru</a></p>
</div>
<div class="share"><a href="https://facebook.example/share">Bagikan</a> <a href="https://x.example/share">Tweet</a></div>
</article></main>
<aside class="sidebar"><h3>Terpopuler</h3><ol>
<li><a href="/a/korut-1">Korea Utara Pamerkan Senjata Nuklir Taktis di Parade Militer</a></li>
<li><a href="/a/korut-2">Kim Jong-un Awasi Uji Senjata Korea Utara</a></li>
<li><a href="/a/bola">Timnas Menang 2-0 atas Vietnam</a></li></ol></aside>
<section class="comments"><h3>Komentar</h3><p>Pembaca: senjata Korea Utara makin berbahaya!</p></section>
<footer><p>Hak cipta 2026 Berita Contoh. Seluruh hak dilindungi.</p><p>Kontak | Pedoman Media Siber | Karier</p></footer>
</body></html>"#
    )
}

const KORUT: [&str; 5] = [
    "Jakarta - Intelijen Amerika Serikat melaporkan bahwa Rusia membeli jutaan roket dan peluru artileri dari Korea Utara untuk mendukung invasinya di Ukraina.",
    "Pejabat yang berbicara secara anonim mengatakan militer Rusia kekurangan pasokan akibat sanksi dan kontrol ekspor, sehingga Moskow mendekat ke Pyongyang.",
    "Resolusi Perserikatan Bangsa-Bangsa melarang Korea Utara mengekspor maupun mengimpor persenjataan, sehingga pembelian itu melanggar aturan internasional.",
    "Korea Utara selama ini menyalahkan Amerika Serikat atas krisis di Ukraina dan menyatakan dukungan terhadap operasi militer Rusia di wilayah tersebut.",
    "Para analis menilai hubungan kedua negara akan semakin erat dalam beberapa bulan ke depan, termasuk dalam bidang teknologi militer dan energi.",
];

const BERAS: [&str; 5] = [
    "Jakarta - Harga beras medium di sejumlah pasar tradisional naik hingga sepuluh persen dalam dua pekan terakhir menjelang akhir tahun.",
    "Pedagang di Pasar Induk Cipinang mengatakan pasokan dari sentra produksi di Jawa Tengah berkurang karena musim tanam yang mundur.",
    "Badan Pangan Nasional berjanji menggelar operasi pasar di lebih dari dua ratus titik untuk menahan kenaikan harga di tingkat konsumen.",
    "Pemerintah juga menyiapkan cadangan beras sebanyak satu juta ton yang dapat dilepas ke pasar apabila harga terus meningkat.",
    "Ekonom memperkirakan inflasi pangan akan kembali melandai pada kuartal pertama tahun depan setelah panen raya dimulai.",
];

const AMUNISI: [&str; 4] = [
    "Seoul - Badan intelijen Korea Selatan menyebut Korea Utara telah mengirim ribuan kontainer amunisi dan senjata ke Rusia sejak Agustus.",
    "Pengiriman itu diduga dilakukan lewat jalur kereta api dan kapal dari pelabuhan Rajin menuju wilayah timur jauh Rusia.",
    "Sebagai imbalannya, Pyongyang disebut menerima bantuan pangan dan teknologi satelit dari Moskow dalam beberapa bulan terakhir.",
    "Pemerintah Korea Selatan menyatakan akan membahas temuan tersebut bersama sekutunya di Dewan Keamanan Perserikatan Bangsa-Bangsa.",
];

fn item(path: &str, feeds: &FeedServer, title: &str, description: &str) -> String {
    format!(
        "<item><title>{title}</title><link>{link}</link><guid>{link}</guid>\
         <pubDate>{date}</pubDate><description>{description}</description></item>",
        link = feeds.url(path),
        date = chrono::Utc::now().to_rfc2822(),
    )
}

/// A teaser-only feed of four items: the Korut story (title and one sentence; "Korea Utara"
/// only in its article), the rice story (its page's menu, sidebar and teaser mention Korea
/// Utara and senjata), a story with no description at all, and one whose page is missing.
fn serve(feeds: &FeedServer) {
    let items = [
        item(
            "/a/rusia-beli-roket",
            feeds,
            "Intelijen AS: Rusia Beli Roket dari Korut",
            "Rusia gak bebas berbelanja senjata karena sanksi Barat.",
        ),
        item(
            "/a/harga-beras",
            feeds,
            "Harga Beras Naik Menjelang Akhir Tahun",
            "Pasokan dari sentra produksi berkurang.",
        ),
        item("/a/amunisi", feeds, "Pyongyang Kirim Ribuan Kontainer ke Moskow", ""),
        item("/a/hilang", feeds, "Korea Utara Jual Senjata ke Rusia, Kata Seoul", "Laporan intelijen terbaru."),
    ];
    let rss = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Contoh</title>\
         <link>{}</link><description>teasers</description>{}</channel></rss>",
        feeds.url("/"),
        items.concat()
    );
    feeds.set("/teaser.rss", rss);
    let html = |title: &str, paras: &[&str]| {
        Response::body(200, page(title, paras)).header("Content-Type", "text/html; charset=utf-8")
    };
    feeds.set_response("/a/rusia-beli-roket", html("Intelijen AS: Rusia Beli Roket dari Korut", &KORUT));
    feeds.set_response("/a/harga-beras", html("Harga Beras Naik Menjelang Akhir Tahun", &BERAS));
    feeds.set_response("/a/amunisi", html("Pyongyang Kirim Ribuan Kontainer ke Moskow", &AMUNISI));
}

fn config(feeds: &FeedServer, rx: &Receiver, fetch: &str) -> ConfigBuilder {
    ConfigBuilder::new()
        .state_dir()
        .feed("contoh", &feeds.url("/teaser.rss"), fetch)
        .rule("korut-senjata", crate::util::KORUT, "lang = \"id\"\nsinks = [\"hook\"]")
        .rule("korut-artikel", "article:\"Korea Utara\"", "sinks = [\"hook\"]")
        .webhook("hook", &rx.url(), "")
}

fn titles_by_rule(rx: &Receiver) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = rx
        .posts()
        .iter()
        .map(|p| {
            let b = p.json();
            (b["rule"].as_str().unwrap_or("").to_string(), b["item"]["title"].as_str().unwrap_or("").to_string())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_article_decides_the_alert_and_the_page_around_it_never_does() {
    let dir = TempDir::new("articles-e2e");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    serve(&feeds);
    let cfg = dir.config(&config(&feeds, &rx, "fetch_article = true").build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        titles_by_rule(&rx),
        [
            ("korut-artikel".to_string(), "Intelijen AS: Rusia Beli Roket dari Korut".to_string()),
            ("korut-artikel".to_string(), "Pyongyang Kirim Ribuan Kontainer ke Moskow".to_string()),
            ("korut-senjata".to_string(), "Intelijen AS: Rusia Beli Roket dari Korut".to_string()),
            ("korut-senjata".to_string(), "Korea Utara Jual Senjata ke Rusia, Kata Seoul".to_string()),
            ("korut-senjata".to_string(), "Pyongyang Kirim Ribuan Kontainer ke Moskow".to_string()),
        ],
        "the rice story's menu, sidebar, teaser and comments never alert; the missing page's item \
         still alerts on its feed text\n{}",
        show(&out)
    );
    let posts = rx.posts();
    let korut = posts
        .iter()
        .map(|p| p.json())
        .find(|b| b["rule"] == "korut-senjata" && b["item"]["title"].as_str().unwrap().starts_with("Intelijen"))
        .unwrap();
    assert_eq!(korut["item"]["article"], true);
    assert_eq!(korut["matched"], serde_json::json!(["korea utara", "senjata"]));
    assert_eq!(korut["matched_in"]["korea utara"], serde_json::json!(["article"]), "{korut}");
    assert_eq!(korut["item"]["summary"], "Rusia gak bebas berbelanja senjata karena sanksi Barat.", "a sentence stays");
    let amunisi =
        posts.iter().map(|p| p.json()).find(|b| b["item"]["title"].as_str().unwrap().starts_with("Pyongyang")).unwrap();
    let summary = amunisi["item"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Seoul - Badan intelijen Korea Selatan"),
        "an empty summary shows the article's opening: {summary}"
    );
    assert!(summary.chars().count() <= 301 && summary.ends_with('…'), "{summary}");
    let missing = posts
        .iter()
        .map(|p| p.json())
        .find(|b| b["item"]["title"].as_str().unwrap().starts_with("Korea Utara Jual"))
        .unwrap();
    assert_eq!(missing["item"]["article"], false);

    // The failure is recorded and shown.
    let items = run(&cfg, &["items"]);
    let text = String::from_utf8_lossy(&items.stdout);
    assert!(text.contains("retrying after 1 failure") && text.contains("HTTP 404"), "{text}");
    assert!(text.contains("fetched ("), "{text}");
    let feeds_out = run(&cfg, &["feeds"]);
    let text = String::from_utf8_lossy(&feeds_out.stdout);
    assert!(text.contains("contoh: 1 of 4 article page(s) not read"), "{text}");
    assert!(text.contains("3/4"), "ARTICLES column: {text}");

    // Every page was read once; a second cycle reads none (the items are not new) and
    // alerts nothing again. The missing page's retry is not due yet.
    let page_requests =
        |feeds: &FeedServer| feeds.server.requests().iter().filter(|r| r.path.starts_with("/a/")).count();
    assert_eq!(page_requests(&feeds), 4);
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(page_requests(&feeds), 4, "no page is read twice");
    assert_eq!(rx.posts().len(), 5);
}

#[test]
fn without_fetch_article_the_teaser_alone_is_matched_and_no_page_is_read() {
    let dir = TempDir::new("articles-off");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    serve(&feeds);
    let cfg = dir.config(&config(&feeds, &rx, "").build());
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        titles_by_rule(&rx),
        [("korut-senjata".to_string(), "Korea Utara Jual Senjata ke Rusia, Kata Seoul".to_string())],
        "today's behaviour: the Korut story is missed"
    );
    assert!(feeds.server.requests().iter().all(|r| !r.path.starts_with("/a/")));
}

#[test]
fn the_daemon_reads_articles_and_alerts_without_delaying_its_polls() {
    let dir = TempDir::new("articles-run");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    serve(&feeds);
    // The Korut page answers slowly; the daemon's article stage waits for it, not the poll.
    feeds.set_response(
        "/a/rusia-beli-roket",
        Response::body(200, page("Intelijen AS", &KORUT))
            .header("Content-Type", "text/html")
            .delayed(Duration::from_millis(1500)),
    );
    let cfg = dir.config(&config(&feeds, &rx, "fetch_article = true\ninterval = \"1h\"").build());
    let mut daemon = Daemon::run(&cfg);
    let posts = rx.server.wait_for(5, Duration::from_secs(30));
    daemon.kill();
    assert_eq!(posts.len(), 5, "{:?}", titles_by_rule(&rx));
    assert!(posts.iter().any(|p| p.json()["rule"] == "korut-artikel" && p.json()["item"]["article"] == true));
}

#[test]
fn pantau_article_prints_the_extracted_text_and_json() {
    let dir = TempDir::new("articles-cli");
    let feeds = FeedServer::start();
    serve(&feeds);
    let cfg = dir.config("");
    let out = run(&cfg, &["article", &feeds.url("/a/harga-beras"), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v["text"].as_str().unwrap();
    assert!(text.contains("Harga beras medium") && text.contains("panen raya"), "{text}");
    for furniture in ["Korea Utara", "Terpopuler", "Baca Juga", "Bagikan", "Hak cipta", "Komentar"] {
        assert!(!text.contains(furniture), "{furniture} in {text}");
    }
    assert_eq!((v["pages"].as_u64(), v["url"].as_str()), (Some(1), Some(feeds.url("/a/harga-beras").as_str())));
    assert!(v["bytes"].as_u64().unwrap() > 1000);

    // A file, with a selector that overrides the extractor.
    let file = dir.path().join("page.html");
    std::fs::write(&file, page("Beras", &BERAS)).unwrap();
    let out = run(&cfg, &["article", file.to_str().unwrap(), "--selector", "aside.sidebar"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Korea Utara Pamerkan"));
    // Failures: a missing page, a page that is not HTML, a bad selector.
    feeds.set_response(
        "/img.png",
        Response::body(200, b"\x89PNG\r\n\x1a\n".to_vec()).header("Content-Type", "image/png"),
    );
    for (args, says) in [
        (vec!["article", &feeds.url("/nope") as &str], "HTTP 404"),
        (vec!["article", &feeds.url("/img.png")], "not an HTML page (image/png)"),
        (vec!["article", file.to_str().unwrap(), "--selector", "div["], "not a CSS selector"),
    ] {
        let out = run(&cfg, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", show(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{args:?}: {}", show(&out));
    }
}

#[test]
fn test_rule_url_matches_an_article_page() {
    let dir = TempDir::new("articles-test-rule");
    let feeds = FeedServer::start();
    serve(&feeds);
    let cfg = dir.config("");
    let yes = run(
        &cfg,
        &["test-rule", "article:\"Korea Utara\" AND persenjataan", "--url", &feeds.url("/a/rusia-beli-roket")],
    );
    assert_eq!(yes.status.code(), Some(0), "{}", show(&yes));
    assert!(String::from_utf8_lossy(&yes.stdout).contains("«Korea Utara»"), "{}", show(&yes));
    let no = run(&cfg, &["test-rule", "\"Korea Utara\"", "--url", &feeds.url("/a/harga-beras")]);
    assert_eq!(no.status.code(), Some(1), "the sidebar is not the article: {}", show(&no));
}

#[test]
fn an_article_selector_is_checked_by_check_with_its_position() {
    let dir = TempDir::new("articles-check");
    let cfg = dir.config_as_is(
        "[[feed]]\nname = \"a\"\nurl = \"https://example.id/rss\"\nfetch_article = true\narticle_selector = \"div[\"\n",
    );
    let out = run(&cfg, &["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(":5:20:") && text.contains("article_selector is not a CSS selector"), "{text}");
}

#[test]
fn hostile_pages_cost_one_recorded_error_each_and_the_items_still_alert() {
    let dir = TempDir::new("articles-hostile");
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    let html = |body: Vec<u8>| Response::body(200, body).header("Content-Type", "text/html");
    let pages: Vec<(&str, Response)> = vec![
        (
            "/h/huge",
            html(format!("<html><body>{}</body></html>", "<p>Korea Utara senjata.</p>".repeat(120_000)).into_bytes()),
        ),
        ("/h/loop", Response::status(302).header("Location", "/h/loop2")),
        ("/h/loop2", Response::status(302).header("Location", "/h/loop")),
        ("/h/binary", html((0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect())),
        (
            "/h/invalid-utf8",
            html(b"<html><body><article><p>Korea \xff\xfe Utara \xc3 senjata</p></article></body></html>".to_vec()),
        ),
        ("/h/deep", html(format!("<html><body>{}senjata</body></html>", "<div>".repeat(100_000)).into_bytes())),
        ("/h/slow", html(b"<html><body><p>late</p></body></html>".to_vec()).delayed(Duration::from_secs(20))),
        ("/h/pdf", Response::body(200, b"%PDF-1.4 ...".to_vec()).header("Content-Type", "application/pdf")),
    ];
    let mut items = String::new();
    for (i, (path, resp)) in pages.into_iter().enumerate() {
        if !path.ends_with("loop2") {
            items.push_str(&item(path, &feeds, &format!("Korea Utara dan senjata {i}"), "Satu kalimat."));
        }
        feeds.set_response(path, resp);
    }
    feeds.set(
        "/teaser.rss",
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>x</title>{items}</channel></rss>"),
    );
    let cfg = config(&feeds, &rx, "fetch_article = true").daemon("timeout = \"3s\"\nmax_body = 1000000");
    let cfg = dir.config(&cfg.build());
    let started = std::time::Instant::now();
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(started.elapsed() < Duration::from_secs(15), "bounded by the timeout: {:?}", started.elapsed());
    let alerted: Vec<String> = rx
        .posts()
        .iter()
        .filter(|p| p.json()["rule"] == "korut-senjata")
        .map(|p| p.json()["item"]["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(alerted.len(), 7, "every item alerts on its feed text: {alerted:?}\n{}", show(&out));
    let listing = String::from_utf8_lossy(&run(&cfg, &["items"]).stdout).to_string();
    for says in ["body larger than", "redirect loop", "nests elements more than", "not an HTML page (application/pdf)"]
    {
        assert!(listing.contains(says), "{says}: {listing}");
    }
}

#[test]
fn an_article_over_two_pages_is_joined_and_parse_article_carries_its_text() {
    let dir = TempDir::new("articles-pages");
    let feeds = FeedServer::start();
    serve(&feeds);
    let html = |body: String| Response::body(200, body).header("Content-Type", "text/html; charset=utf-8");
    let first = page("Intelijen AS: Rusia Beli Roket dari Korut", &KORUT[..3])
        .replace("</head>", &format!("<link rel=\"next\" href=\"{}\"></head>", "/a/rusia-beli-roket/2"));
    feeds.set_response("/a/rusia-beli-roket", html(first));
    feeds.set_response("/a/rusia-beli-roket/2", html(page("Intelijen AS: Rusia Beli Roket dari Korut", &KORUT[3..])));
    let cfg = dir.config("");
    let out = run(&cfg, &["article", &feeds.url("/a/rusia-beli-roket"), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v["text"].as_str().unwrap();
    assert_eq!(v["pages"], 2, "{v}");
    assert!(text.contains("Jakarta - Intelijen Amerika Serikat") && text.contains("Para analis menilai"), "{text}");
    // parse --article --json: items whose page was read carry its text.
    let out = run(&cfg, &["parse", &feeds.url("/teaser.rss"), "--json", "--article"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v["items"].as_array().unwrap();
    let korut = items.iter().find(|i| i["title"].as_str().unwrap().starts_with("Intelijen")).unwrap();
    assert!(korut["article"].as_str().unwrap().contains("Para analis menilai"), "{korut}");
    let missing = items.iter().find(|i| i["title"].as_str().unwrap().starts_with("Korea Utara Jual")).unwrap();
    assert!(missing.get("article").is_none(), "no page, no article field: {missing}");
}
