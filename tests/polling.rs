//! Polling: conditional GETs, content encodings, charsets, the body cap, the total deadline,
//! Retry-After, failure backoff and recovery, per-host and global concurrency, and redirects.
//! Every server is started here on 127.0.0.1; nothing touches the internet.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::util::{
    pantau, run, show, ConfigBuilder, Daemon, FeedServer, Receiver, Request, Response, Server, TempDir, KORUT,
};

// ---------------------------------------------------------------------------------------------
// Config and documents
// ---------------------------------------------------------------------------------------------

/// A config with its database under `state/` and `extra` lines in `[daemon]`; tests add feeds,
/// and for alerts the rule "watch" and the webhook sink "hook".
fn daemon(extra: &str) -> ConfigBuilder {
    ConfigBuilder::new().state_dir().daemon(extra)
}

fn rss(items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Uji</title>\
         <link>https://ex.id/</link>{}</channel></rss>",
        items.concat()
    )
}

fn item(guid: &str, title: &str) -> String {
    format!(
        "<item><title>{title}</title><link>https://ex.id/{guid}</link><guid isPermaLink=\"false\">{guid}</guid>\
         <pubDate>Wed, 25 Nov 2026 10:00:00 +0700</pubDate><description>Berita {guid}</description></item>"
    )
}

/// The alerted titles, sorted.
fn titles(rx: &Receiver) -> Vec<String> {
    let mut t: Vec<String> =
        rx.posts().iter().map(|p| p.json()["item"]["title"].as_str().unwrap_or("").to_string()).collect();
    t.sort();
    t
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn once(cfg: &Path) -> std::process::Output {
    let out = run(cfg, &["once"]);
    assert_eq!(out.status.code(), Some(0), "pantau once: {}", show(&out));
    out
}

fn unhex(parts: &[&str]) -> Vec<u8> {
    let s = parts.concat();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

// ---------------------------------------------------------------------------------------------
// `pantau feeds`, read by column
// ---------------------------------------------------------------------------------------------

/// The output of `pantau feeds`: the table and the problem lines under it.
struct FeedsView {
    text: String,
}

impl FeedsView {
    fn read(cfg: &Path) -> FeedsView {
        let out = run(cfg, &["feeds"]);
        assert_eq!(out.status.code(), Some(0), "pantau feeds: {}", show(&out));
        FeedsView { text: String::from_utf8_lossy(&out.stdout).to_string() }
    }

    /// The row of feed `name` as column → cell. Columns are padded to a common width in
    /// characters, so every cell starts where its header starts.
    fn row(&self, name: &str) -> HashMap<&'static str, String> {
        const COLUMNS: [&str; 10] =
            ["NAME", "URL", "STATE", "STATUS", "LAST POLL", "LAST SUCCESS", "ERRORS", "NEXT POLL", "ITEMS", "ARTICLES"];
        let mut lines = self.text.lines();
        let header: Vec<char> = lines.next().expect("a header line").chars().collect();
        let header_s: String = header.iter().collect();
        let starts: Vec<usize> = COLUMNS
            .iter()
            .map(|c| {
                let byte = header_s.find(c).unwrap_or_else(|| panic!("column {c} in {}", self.text));
                header_s[..byte].chars().count()
            })
            .collect();
        for line in lines.take_while(|l| !l.is_empty()) {
            let chars: Vec<char> = line.chars().collect();
            let cell = |i: usize| -> String {
                let from = starts[i].min(chars.len());
                let to = starts.get(i + 1).copied().unwrap_or(chars.len()).min(chars.len());
                chars[from..to].iter().collect::<String>().trim().to_string()
            };
            if cell(0) == name {
                return COLUMNS.iter().enumerate().map(|(i, c)| (*c, cell(i))).collect();
            }
        }
        panic!("no row for feed {name:?} in:\n{}", self.text)
    }

    /// The problem lines (last error, repairs, moves) of feed `name`.
    fn notes(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}: ");
        let body = self.text.split_once("\n\n").map_or("", |(_, b)| b);
        body.lines().filter(|l| l.starts_with(&prefix)).map(str::to_string).collect()
    }
}

fn timestamp(cell: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(cell).unwrap_or_else(|e| panic!("{cell:?} is not RFC 3339: {e}")).with_timezone(&Utc)
}

/// Read `pantau feeds` until `ready` holds for the row of `name`, or panic after `timeout`.
fn wait_for_row(
    cfg: &Path,
    name: &str,
    timeout: Duration,
    ready: impl Fn(&HashMap<&'static str, String>) -> bool,
    log: impl Fn() -> String,
) -> (FeedsView, HashMap<&'static str, String>) {
    let start = Instant::now();
    loop {
        let view = FeedsView::read(cfg);
        let row = view.row(name);
        if ready(&row) {
            return (view, row);
        }
        assert!(
            start.elapsed() < timeout,
            "feed {name} not ready within {timeout:?}:\n{}\n--- daemon log ---\n{}",
            view.text,
            log()
        );
        thread::sleep(Duration::from_millis(200));
    }
}

/// Wait until `server` has seen `n` requests for `path`, or panic with the daemon's log.
fn wait_for_requests(
    server: &Server,
    path: &str,
    n: usize,
    timeout: Duration,
    log: impl Fn() -> String,
) -> Vec<Request> {
    let start = Instant::now();
    loop {
        let r = server.requests_to("GET", path);
        if r.len() >= n {
            return r;
        }
        assert!(
            start.elapsed() < timeout,
            "expected {n} GET {path} within {timeout:?}, got {}\n--- daemon log ---\n{}",
            r.len(),
            log()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// A raw TCP server, for responses util::Server cannot give (no Content-Length, trickling)
// ---------------------------------------------------------------------------------------------

/// Accepts connections on 127.0.0.1, reads each request head, and hands the connection to
/// `respond`, one thread per connection.
struct RawServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl RawServer {
    fn start(respond: impl Fn(&mut TcpStream, &AtomicBool) + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let respond = Arc::new(respond);
        let (count, stop2) = (Arc::clone(&connections), Arc::clone(&stop));
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let (respond, stop3) = (Arc::clone(&respond), Arc::clone(&stop2));
                thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line.trim_end().is_empty() {
                            break;
                        }
                    }
                    respond(&mut conn, &stop3);
                });
            }
        });
        RawServer { addr, connections, stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

// ---------------------------------------------------------------------------------------------
// Legacy encodings, written by hand so that the tests need no encoder
// ---------------------------------------------------------------------------------------------

fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or_else(|_| panic!("{c:?} is not in ISO-8859-1"))).collect()
}

fn windows_1252(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            c if u32::from(c) < 0x80 || (0xA0..=0xFF).contains(&u32::from(c)) => u32::from(c) as u8,
            c => panic!("{c:?} is not in this windows-1252 table"),
        })
        .collect()
}

/// ASCII as is, the other characters through `table`.
fn with_table(table: &[(char, u8)], s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match table.iter().find(|(t, _)| *t == c) {
            Some((_, b)) => *b,
            None if c.is_ascii() => c as u8,
            None => panic!("{c:?} is not in the table"),
        })
        .collect()
}

/// The ISO-8859-2 (Latin-2) bytes of the Polish letters used here.
const LATIN2: &[(char, u8)] = &[('ó', 0xF3), ('ń', 0xF1), ('ę', 0xEA), ('ś', 0xB6), ('ć', 0xE6)];

/// The ISO-8859-7 (Greek) bytes of the letters used here.
const GREEK: &[(char, u8)] = &[
    ('Α', 0xC1),
    ('θ', 0xE8),
    ('ή', 0xDE),
    ('ν', 0xED),
    ('α', 0xE1),
    ('Ε', 0xC5),
    ('λ', 0xEB),
    ('ά', 0xDC),
    ('δ', 0xE4),
];

fn utf16le_with_bom(s: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for unit in s.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 1. Conditional GET
// ---------------------------------------------------------------------------------------------

const MODIFIED_1: &str = "Wed, 25 Nov 2026 03:00:00 GMT";
const MODIFIED_2: &str = "Thu, 26 Nov 2026 03:00:00 GMT";

/// A document with the validators its server sends.
struct Doc {
    body: String,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// A feed server that sends the documents' validators and answers 304 when a request's
/// validators match (If-None-Match wins over If-Modified-Since, as in RFC 9110 §13.2.2).
fn validating_server(docs: Arc<Mutex<HashMap<String, Doc>>>) -> Server {
    Server::start(move |req| {
        let docs = docs.lock().unwrap();
        let Some(doc) = docs.get(&req.path) else { return Response::status(404) };
        let fresh = match (req.header("if-none-match"), &doc.etag) {
            (Some(sent), Some(etag)) => sent == etag,
            (Some(_), None) => false,
            (None, _) => {
                matches!((req.header("if-modified-since"), &doc.last_modified), (Some(sent), Some(lm)) if sent == lm)
            }
        };
        let mut resp = if fresh {
            Response::status(304)
        } else {
            Response::body(200, doc.body.clone()).header("Content-Type", "application/rss+xml; charset=utf-8")
        };
        if let Some(etag) = &doc.etag {
            resp = resp.header("ETag", etag);
        }
        if let Some(lm) = &doc.last_modified {
            resp = resp.header("Last-Modified", lm);
        }
        resp
    })
}

#[test]
fn the_second_poll_is_conditional_and_a_304_neither_reparses_nor_realerts() {
    let dir = TempDir::new("poll-conditional");
    let rx = Receiver::start();
    let docs = Arc::new(Mutex::new(HashMap::new()));
    docs.lock().unwrap().insert(
        "/both.rss".to_string(),
        Doc {
            body: rss(&[item("both-1", "Korea Utara uji senjata (both)")]),
            etag: Some("\"v1\"".into()),
            last_modified: Some(MODIFIED_1.into()),
        },
    );
    // A document whose server sends only Last-Modified, no ETag.
    docs.lock().unwrap().insert(
        "/lm.rss".to_string(),
        Doc {
            body: rss(&[item("lm-1", "Korea Utara uji senjata (lm)")]),
            etag: None,
            last_modified: Some(MODIFIED_1.into()),
        },
    );
    let server = validating_server(Arc::clone(&docs));
    let cfg = dir.config(
        &daemon("")
            .feed("both", &server.url("/both.rss"), "")
            .feed("lm", &server.url("/lm.rss"), "")
            .rule("watch", KORUT, "")
            .webhook("hook", &rx.url(), "")
            .build(),
    );

    let first = once(&cfg);
    assert_eq!(titles(&rx), ["Korea Utara uji senjata (both)", "Korea Utara uji senjata (lm)"], "{}", show(&first));
    for path in ["/both.rss", "/lm.rss"] {
        let r = &server.requests_to("GET", path)[0];
        assert!(
            r.header("if-none-match").is_none() && r.header("if-modified-since").is_none(),
            "the first poll is unconditional: {r:?}"
        );
    }

    // Second poll: conditional, answered 304.
    let second = once(&cfg);
    let both = server.requests_to("GET", "/both.rss");
    assert_eq!(both.len(), 2);
    assert_eq!(both[1].header("if-none-match"), Some("\"v1\""), "{:?}", both[1]);
    assert_eq!(both[1].header("if-modified-since"), Some(MODIFIED_1), "{:?}", both[1]);
    let lm = server.requests_to("GET", "/lm.rss");
    assert_eq!(lm.len(), 2);
    assert_eq!(lm[1].header("if-modified-since"), Some(MODIFIED_1), "{:?}", lm[1]);
    assert!(lm[1].header("if-none-match").is_none(), "no ETag was given, so none is sent: {:?}", lm[1]);
    assert_eq!(rx.posts().len(), 2, "a 304 does not alert again: {}", show(&second));
    // Not parsed: each feed logs the 304, and no "polled feed … items=" line (the parse path).
    let log = stderr(&second);
    for name in ["both", "lm"] {
        assert!(
            log.lines().any(|l| l.contains("not modified") && l.contains(&format!("feed={name}"))),
            "{name} logged as not modified: {log}"
        );
    }
    assert!(!log.lines().any(|l| l.contains("polled feed") && l.contains("items=")), "a 304 is not parsed: {log}");
    let view = FeedsView::read(&cfg);
    for name in ["both", "lm"] {
        let row = view.row(name);
        assert_eq!(
            (row["STATE"].as_str(), row["STATUS"].as_str(), row["ERRORS"].as_str(), row["ITEMS"].as_str()),
            ("ok", "304", "0", "1"),
            "{}",
            view.text
        );
    }

    // The document changes: the stale validators get a 200, the new item alerts, and the
    // next poll sends the new validators.
    docs.lock().unwrap().insert(
        "/both.rss".to_string(),
        Doc {
            body: rss(&[
                item("both-2", "Korea Utara uji senjata lagi (both)"),
                item("both-1", "Korea Utara uji senjata (both)"),
            ]),
            etag: Some("W/\"v2\"".into()),
            last_modified: Some(MODIFIED_2.into()),
        },
    );
    let third = once(&cfg);
    assert_eq!(rx.posts().len(), 3, "{}", show(&third));
    assert_eq!(rx.posts()[2].json()["item"]["title"], "Korea Utara uji senjata lagi (both)");
    let view = FeedsView::read(&cfg);
    assert_eq!(
        (view.row("both")["STATUS"].as_str(), view.row("both")["ITEMS"].as_str()),
        ("200", "2"),
        "{}",
        view.text
    );

    let fourth = once(&cfg);
    let both = server.requests_to("GET", "/both.rss");
    assert_eq!(both.len(), 4);
    assert_eq!(
        both[3].header("if-none-match"),
        Some("W/\"v2\""),
        "the new (weak) ETag is sent back verbatim: {:?}",
        both[3]
    );
    assert_eq!(both[3].header("if-modified-since"), Some(MODIFIED_2), "{:?}", both[3]);
    assert_eq!(rx.posts().len(), 3, "{}", show(&fourth));
}

// ---------------------------------------------------------------------------------------------
// 2. Content encodings
// ---------------------------------------------------------------------------------------------

// Feeds compressed at authoring time (flate2 1.1 and brotli 9.1 at their best levels), as hex.

/// gzip.
const GZIP_FEED: &[&str] = &[
    "1f8b08000000000002ff7d50bb0ec2400cfb95a8130c25c084503806c4c4cc079c7aa104dab4ba4b11e2eb2994d7c468",
    "cbb66cd3fa5a5770e198a4d155369b4c33602d9a205aaeb2ce0ef9225b3b8a297d45f35ee4a8387a55ae1c9958c56ed7",
    "d46de4443840aa44cfee68d6a625225f271290f0499218d75f5b640f7bf3d143771248ac276f1e46e54ddaf1bfb487e0",
    "9d587612dc83c867844f40815311a5b5beb10b7296283504d6d22b6c1a3556cbb7af9d3044fd3a088792f85989fd05ee",
    "0ee9d9eeba2e010000",
];

/// brotli.
const BROTLI_FEED: &[&str] = &[
    "1b3501201c05eeda4d1afbf9e54db8d73c314b6457e794ad3cb05e6adce38778cc9734b975c707b5effb0fad9f0aa404",
    "cb92c2c0c24c02b09c9bc78e7732ad641574657a58362a1d75a36be3f075d5c191d1408682fd722c4d5e44042e2cf8bf",
    "d346fe8b152bf8a55b46e6a79ba470deb451789c854b26476f0a1d6bf90eb697e42a15a6268d88d6399099114fbcf5b6",
    "d90842264d1358ebf35b17d337829698af5b3026a55d1702",
];

/// deflate (zlib).
const DEFLATE_FEED: &[&str] = &[
    "78da7d50bb0ec2400cfb95a8130c25c084503806c4c4cc079c7aa104ae697597223e9f0aca6362b4655bb6697b6f22dc",
    "38656975532c66f30258ab3688d69ba2b753b92ab68e52ce5fd1721039aace5e95a323138bec0e6dd325ce842f4851f4",
    "eace665d5e23f27d2601099f248971f3b525f670349f3cf41781cc7af1e66112f814bdf1f45fe0a879e7d6bd043772e5",
    "82f0892970ae927436547741ae92a481c05a7b855dabc66ae57e1c0c9fc05f13e1ab307e16e370877b002b9b6f32",
];

/// gzip; 200 kB of spaces once decoded.
const GZIP_BOMB: &[&str] = &[
    "1f8b08000000000002ffedceb16edb301006e057113cb583cda6531130cc5074cadc07502cd6662c518644177efc26f6",
    "d0aeddbf6fe21dff3b5c7cbe4e63f73b2f6b99ebd3e661f765d3e5ba9f87520f4f9b4bfbb5fdb6794e7159d7bfa1afef",
    "a114f7c7bed63ca6d84a1b737a99a7f392d718ee651c4b3da5636be7f531847cdd9521c4706b76000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000c07f8ba5e529c556",
    "da98d3cbbce4befbd9faa5ef2e6fa55b737deb5bdf7d7a9da7d7cf31dc53712cf5948ead9dd7c710f2755786f01188e1",
    "f6110f9732a48fc6f621865b1187bcee97726e65ae6928a7b294a91b723df4b5fb3ed7966bdbfea8fb7928f5d0dd57fd",
    "3b11c3fdc8b03ff6b5e6f1fdb5ac6bfa030fdc33b66e0e0300",
];

#[test]
fn gzip_brotli_and_deflate_bodies_are_decoded_and_their_items_alert() {
    let dir = TempDir::new("poll-encodings");
    let rx = Receiver::start();
    let bodies: HashMap<&str, (&str, Vec<u8>)> = HashMap::from([
        ("/gzip.rss", ("gzip", unhex(GZIP_FEED))),
        ("/brotli.rss", ("br", unhex(BROTLI_FEED))),
        ("/deflate.rss", ("deflate", unhex(DEFLATE_FEED))),
    ]);
    let server = Server::start(move |req| match bodies.get(req.path.as_str()) {
        Some((encoding, body)) => Response::body(200, body.clone())
            .header("Content-Type", "application/rss+xml; charset=utf-8")
            .header("Content-Encoding", encoding)
            .header("Vary", "Accept-Encoding"),
        None => Response::status(404),
    });
    let cfg = dir.config(
        &daemon("")
            .feed("gz", &server.url("/gzip.rss"), "")
            .feed("br", &server.url("/brotli.rss"), "")
            .feed("zlib", &server.url("/deflate.rss"), "")
            .rule("watch", KORUT, "")
            .webhook("hook", &rx.url(), "")
            .build(),
    );
    let out = once(&cfg);
    assert_eq!(
        titles(&rx),
        ["Korea Utara uji senjata (brotli)", "Korea Utara uji senjata (deflate)", "Korea Utara uji senjata (gzip)"],
        "{}",
        show(&out)
    );
    for r in server.requests() {
        let accept = r.header("accept-encoding").unwrap_or("").to_ascii_lowercase();
        for enc in ["gzip", "br", "deflate"] {
            assert!(accept.split(',').any(|e| e.trim() == enc), "Accept-Encoding offers {enc}: {r:?}");
        }
    }
    let view = FeedsView::read(&cfg);
    for name in ["gz", "br", "zlib"] {
        let row = view.row(name);
        assert_eq!(
            (row["STATE"].as_str(), row["STATUS"].as_str(), row["ITEMS"].as_str()),
            ("ok", "200", "1"),
            "{}",
            view.text
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Charsets
// ---------------------------------------------------------------------------------------------

fn legacy_rss(declaration: &str, guid: &str, title: &str) -> String {
    format!(
        "<?xml version=\"1.0\"{declaration}?>\n<rss version=\"2.0\"><channel><title>Warta</title><link>https://ex.id/</link>\
         <item><title>{title}</title><link>https://ex.id/{guid}</link><guid>{guid}</guid><description>Laporan dari Eropa</description></item>\
         </channel></rss>"
    )
}

#[test]
fn legacy_and_utf16_feeds_are_transcoded_and_match_with_accent_folding() {
    let dir = TempDir::new("poll-charsets");
    let rx = Receiver::start();
    let cp1252_title = "Café Société: “senjata” Korea Utara dibahas di Genève — 2 €";
    let latin1_title = "Genève: café à la Société, senjata Korea Utara";
    let utf16_title = "Café di Genève: senjata Korea Utara — 朝鮮民主主義人民共和国";
    // Encodings that pantau's guess for undeclared bytes would not pick: only the declaration
    // gives them away, so these two fail if the HTTP charset or the XML declaration is ignored.
    let latin2_title = "Kraków, Poznań i Gdańsk: wieść o senjata Korea Utara";
    let greek_title = "Αθήνα, Ελλάδα: senjata Korea Utara";
    let docs: HashMap<&str, (&str, Vec<u8>)> = HashMap::from([
        // Declared only in the XML declaration; the server names no charset.
        (
            "/cp1252.rss",
            ("application/rss+xml", windows_1252(&legacy_rss(" encoding=\"windows-1252\"", "cp1252", cp1252_title))),
        ),
        ("/greek.rss", ("text/xml", with_table(GREEK, &legacy_rss(" encoding=\"ISO-8859-7\"", "greek", greek_title)))),
        // Declared only in the HTTP header; the XML declaration names no encoding.
        ("/latin1.rss", ("application/rss+xml; charset=iso-8859-1", latin1(&legacy_rss("", "latin1", latin1_title)))),
        (
            "/latin2.rss",
            (
                "application/rss+xml; charset=\"ISO-8859-2\"",
                with_table(LATIN2, &legacy_rss("", "latin2", latin2_title)),
            ),
        ),
        // UTF-16LE with a byte-order mark.
        (
            "/utf16.rss",
            ("application/rss+xml", utf16le_with_bom(&legacy_rss(" encoding=\"UTF-16\"", "utf16", utf16_title))),
        ),
    ]);
    // The legacy bodies are not UTF-8: a reader that skipped transcoding would see U+FFFD.
    for path in ["/cp1252.rss", "/greek.rss", "/latin1.rss", "/latin2.rss"] {
        assert!(std::str::from_utf8(&docs[path].1).is_err(), "{path}");
    }
    let server = Server::start(move |req| match docs.get(req.path.as_str()) {
        Some((ct, body)) => Response::body(200, body.clone()).header("Content-Type", ct),
        None => Response::status(404),
    });
    let mut cfg = daemon("");
    for name in ["cp1252", "greek", "latin1", "latin2", "utf16"] {
        cfg = cfg.feed(name, &server.url(&format!("/{name}.rss")), "");
    }
    // Accent-folded terms: "cafe" matches "Café", "krakow" "Kraków", "αθηνα" "Αθήνα".
    let cfg = cfg.rule("watch", "(cafe AND geneve) OR (krakow AND poznan) OR αθηνα", "").webhook("hook", &rx.url(), "");
    let cfg = dir.config(&cfg.build());
    let out = once(&cfg);
    let mut expected: Vec<String> =
        [cp1252_title, latin1_title, utf16_title, latin2_title, greek_title].map(String::from).to_vec();
    expected.sort();
    assert_eq!(titles(&rx), expected, "{}", show(&out));
    for post in rx.posts() {
        let body = post.json();
        let title = body["item"]["title"].as_str().unwrap().to_string();
        let expected = match body["feed"]["name"].as_str().unwrap() {
            "latin2" => serde_json::json!(["krakow", "poznan"]),
            "greek" => serde_json::json!(["αθηνα"]),
            _ => serde_json::json!(["cafe", "geneve"]),
        };
        assert_eq!(body["matched"], expected, "{title}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. The body cap
// ---------------------------------------------------------------------------------------------

#[test]
fn a_body_over_max_body_fails_that_poll_and_the_other_feeds_still_alert() {
    let dir = TempDir::new("poll-max-body");
    let rx = Receiver::start();
    let padding = "panjang ".repeat(1000);
    let big = rss(&[item("big-1", &format!("Korea Utara uji senjata (big) {padding}"))]);
    let small = rss(&[item("small-1", "Korea Utara uji senjata (small)")]);
    assert!(big.len() > 5000 && small.len() < 1000);
    let feeds = FeedServer::start();
    // With a Content-Length that gives the size away before the body is read.
    feeds.set("/big.rss", big.clone());
    feeds.set("/small.rss", small);
    // Without a Content-Length: the body runs until the connection closes.
    let streamed = RawServer::start(move |conn, _| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n";
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(big.as_bytes());
    });
    // A 914-byte gzip body that decodes to 200 kB: the cap applies to what is read.
    let bomb = Server::start(|_| {
        Response::body(200, unhex(GZIP_BOMB))
            .header("Content-Type", "application/rss+xml")
            .header("Content-Encoding", "gzip")
    });
    let cfg = dir.config(
        &daemon("max_body = 2000")
            .feed("big", &feeds.url("/big.rss"), "")
            .feed("streamed", &streamed.url("/feed.rss"), "")
            .feed("bomb", &bomb.url("/feed.rss"), "")
            .feed("small", &feeds.url("/small.rss"), "")
            .rule("watch", KORUT, "")
            .webhook("hook", &rx.url(), "")
            .build(),
    );
    let out = once(&cfg);
    assert_eq!(titles(&rx), ["Korea Utara uji senjata (small)"], "only the feed under the cap alerts: {}", show(&out));
    let view = FeedsView::read(&cfg);
    for (name, url) in
        [("big", feeds.url("/big.rss")), ("streamed", streamed.url("/feed.rss")), ("bomb", bomb.url("/feed.rss"))]
    {
        let row = view.row(name);
        assert_eq!(
            (row["STATE"].as_str(), row["STATUS"].as_str(), row["ERRORS"].as_str(), row["ITEMS"].as_str()),
            ("failing", "too-large", "1", "0"),
            "{name}: {}",
            view.text
        );
        assert_eq!(
            view.notes(name),
            [format!("{name}: {url}: body larger than 2000 bytes (daemon.max_body)")],
            "{name}: {}",
            view.text
        );
    }
    let small = view.row("small");
    assert_eq!((small["STATE"].as_str(), small["STATUS"].as_str()), ("ok", "200"), "{}", view.text);
    assert!(stderr(&out).contains("poll failed"), "{}", show(&out));
}

#[test]
fn a_feed_of_170000_tiny_items_is_cut_to_its_newest_max_items_and_the_cut_is_shown() {
    let dir = TempDir::new("poll-max-items");
    let rx = Receiver::start();
    // The newest items come last in this document, and only they say "Korea Utara … senjata".
    let n = 170_000;
    let mut doc = String::from("<rss version=\"2.0\"><channel><title>Banyak</title>");
    let start = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap();
    for i in 0..n {
        let date = (start + chrono::Duration::seconds(i as i64)).to_rfc2822();
        let title = if i >= n - 3 { format!("Korea Utara uji senjata {i}") } else { format!("J{i}") };
        doc.push_str(&format!("<item><title>{title}</title><guid>{i}</guid><pubDate>{date}</pubDate></item>"));
    }
    doc.push_str("</channel></rss>");
    assert!(doc.len() < 20 * 1024 * 1024);
    let feeds = FeedServer::start();
    feeds.set("/many.rss", doc);
    let cfg = dir.config(
        &daemon("max_items = 300\nmax_body = 20000000\nmax_age = \"off\"")
            .feed("many", &feeds.url("/many.rss"), "max_items = 5")
            .rule("watch", KORUT, "")
            .webhook("hook", &rx.url(), "")
            .build(),
    );
    let out = once(&cfg);
    let mut expected: Vec<String> = (n - 3..n).map(|i| format!("Korea Utara uji senjata {i}")).collect();
    expected.sort();
    assert_eq!(titles(&rx), expected, "{}", show(&out));
    let view = FeedsView::read(&cfg);
    assert_eq!(view.row("many")["ITEMS"], "5", "{}", view.text);
    assert_eq!(
        view.notes("many"),
        ["many: read after repairs: kept the newest 5 of 170000 items (max_items)"],
        "{}",
        view.text
    );
    assert!(
        stderr(&out).lines().any(|l| l.contains("feed=many") && l.contains("kept the newest 5 of 170000 items")),
        "the cut is logged: {}",
        show(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// 5. The total deadline
// ---------------------------------------------------------------------------------------------

#[test]
fn a_server_that_trickles_its_body_is_cut_off_at_the_timeout() {
    let dir = TempDir::new("poll-trickle");
    let rx = Receiver::start();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    // Headers at once, then one byte a second: every read makes progress, only a total
    // deadline ends it.
    let trickle = RawServer::start(move |conn, stop| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n<";
        if conn.write_all(head.as_bytes()).is_err() {
            return;
        }
        for _ in 0..120 {
            thread::sleep(Duration::from_secs(1));
            if stop.load(Ordering::SeqCst) || conn.write_all(b" ").and_then(|_| conn.flush()).is_err() {
                return;
            }
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let feeds = FeedServer::start();
    feeds.set("/good.rss", rss(&[item("good-1", "Korea Utara uji senjata (good)")]));
    let cfg = dir.config(
        &daemon("timeout = \"3s\"")
            .feed("trickle", &trickle.url("/feed.rss"), "")
            .feed("good", &feeds.url("/good.rss"), "")
            .rule("watch", KORUT, "")
            .webhook("hook", &rx.url(), "")
            .build(),
    );
    let started = Instant::now();
    let out = once(&cfg);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(60), "pantau once took {took:?}: {}", show(&out));
    assert_eq!(trickle.connections.load(Ordering::SeqCst), 1);
    assert!(sent.load(Ordering::SeqCst) >= 1, "the body had started to arrive before the deadline");
    assert_eq!(titles(&rx), ["Korea Utara uji senjata (good)"], "{}", show(&out));
    let view = FeedsView::read(&cfg);
    let row = view.row("trickle");
    assert_eq!(
        (row["STATE"].as_str(), row["STATUS"].as_str(), row["ERRORS"].as_str()),
        ("failing", "timeout", "1"),
        "{}",
        view.text
    );
    let notes = view.notes("trickle");
    assert!(
        notes.len() == 1 && notes[0].contains(&trickle.url("/feed.rss")),
        "the error names the feed URL: {}",
        view.text
    );
    assert!(stderr(&out).lines().any(|l| l.contains("poll failed") && l.contains("feed=trickle")), "{}", show(&out));
}

// ---------------------------------------------------------------------------------------------
// 6. Retry-After
// ---------------------------------------------------------------------------------------------

fn seconds_between(row: &HashMap<&'static str, String>) -> i64 {
    (timestamp(&row["NEXT POLL"]) - timestamp(&row["LAST POLL"])).num_seconds()
}

#[test]
fn retry_after_on_503_and_429_pushes_the_next_poll_and_survives_a_restart() {
    let dir = TempDir::new("poll-retry-after");
    let feeds = FeedServer::start();
    feeds.set_response("/busy.rss", Response::status(503).header("Retry-After", "3600"));
    // An HTTP date two hours ahead.
    let date = (Utc::now() + chrono::Duration::hours(2)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    feeds.set_response("/limited.rss", Response::status(429).header("Retry-After", &date));
    feeds.set("/fine.rss", rss(&[item("fine-1", "Kabar baik")]));
    feeds.set("/added.rss", rss(&[item("added-1", "Kabar baru")]));
    let base = daemon("")
        .feed("busy", &feeds.url("/busy.rss"), "interval = \"1m\"")
        .feed("limited", &feeds.url("/limited.rss"), "interval = \"1m\"")
        .feed("fine", &feeds.url("/fine.rss"), "interval = \"1m\"");
    let cfg = dir.config(&base.build());
    let daemon1 = Daemon::run_logged(&cfg, &dir.path().join("run-1.log"), &[]);
    let log = || daemon1.log();
    wait_for_requests(&feeds.server, "/busy.rss", 1, Duration::from_secs(30), log);
    let recorded = |r: &HashMap<&'static str, String>| r["NEXT POLL"] != "at start" && r["LAST POLL"] != "never";
    let (view, busy) =
        wait_for_row(&cfg, "busy", Duration::from_secs(30), |r| recorded(r) && r["STATUS"] == "503", log);
    let d = seconds_between(&busy);
    assert!(
        (3590..=3900).contains(&d),
        "busy: next poll {d} s after the last, not at least Retry-After 3600 s:\n{}",
        view.text
    );
    assert_eq!(busy["STATE"], "failing", "{}", view.text);
    let (view, limited) =
        wait_for_row(&cfg, "limited", Duration::from_secs(30), |r| recorded(r) && r["STATUS"] == "429", log);
    let d = seconds_between(&limited);
    assert!(
        (7000..=7500).contains(&d),
        "limited: next poll {d} s after the last, not at least the Retry-After date 2 h ahead:\n{}",
        view.text
    );
    // The control: without a hint the 1-minute interval (±5 %) applies.
    let (view, fine) =
        wait_for_row(&cfg, "fine", Duration::from_secs(30), |r| recorded(r) && r["STATUS"] == "200", log);
    let d = seconds_between(&fine);
    assert!((55..=65).contains(&d), "fine: next poll {d} s after the last:\n{}", view.text);
    daemon1.stop();
    assert_eq!(feeds.server.requests_to("GET", "/busy.rss").len(), 1);
    assert_eq!(feeds.server.requests_to("GET", "/limited.rss").len(), 1);

    // A restart keeps the plan: a new feed is polled at once, the others are not yet due.
    let cfg = dir.config(&base.clone().feed("added", &feeds.url("/added.rss"), "interval = \"1m\"").build());
    let daemon2 = Daemon::run_logged(&cfg, &dir.path().join("run-2.log"), &[]);
    let log = || daemon2.log();
    wait_for_requests(&feeds.server, "/added.rss", 1, Duration::from_secs(30), log);
    thread::sleep(Duration::from_secs(2));
    let log = daemon2.stop();
    for (path, n) in [("/busy.rss", 1), ("/limited.rss", 1), ("/fine.rss", 1)] {
        assert_eq!(feeds.server.requests_to("GET", path).len(), n, "{path} polled again after a restart:\n{log}");
    }
}

#[test]
fn after_once_feeds_shows_the_next_poll_and_run_keeps_to_it() {
    let dir = TempDir::new("poll-once-then-run");
    let feeds = FeedServer::start();
    feeds.set("/hourly.rss", rss(&[item("hourly-1", "Kabar")]));
    feeds.set_response("/down.rss", Response::status(500));
    feeds.set("/added.rss", rss(&[item("added-1", "Kabar baru")]));
    let base = daemon("").feed("hourly", &feeds.url("/hourly.rss"), "interval = \"1h\"").feed(
        "down",
        &feeds.url("/down.rss"),
        "interval = \"1h\"",
    );
    let cfg = dir.config(&base.build());
    let before = Utc::now();
    once(&cfg);
    let view = FeedsView::read(&cfg);
    let hourly = view.row("hourly");
    let next = timestamp(&hourly["NEXT POLL"]);
    assert!(next > Utc::now(), "a concrete time in the future, not \"at start\":\n{}", view.text);
    let d = seconds_between(&hourly);
    assert!((3400..=3800).contains(&d), "hourly: next poll {d} s after the last (1 h ± 5 %):\n{}", view.text);
    // A failing feed waits its backoff, never less than its interval, as the daemon plans it.
    let down = view.row("down");
    assert!((3400..=4000).contains(&seconds_between(&down)), "{}", view.text);
    assert!(timestamp(&down["LAST POLL"]) >= before - chrono::Duration::seconds(1));

    // The daemon started right after polls a new feed at once and keeps to the shown plan for
    // the others.
    let cfg = dir.config(&base.clone().feed("added", &feeds.url("/added.rss"), "interval = \"1h\"").build());
    let d = Daemon::run_logged(&cfg, &dir.path().join("run.log"), &[]);
    let log = || d.log();
    wait_for_requests(&feeds.server, "/added.rss", 1, Duration::from_secs(30), log);
    thread::sleep(Duration::from_secs(2));
    let log = d.stop();
    for path in ["/hourly.rss", "/down.rss"] {
        assert_eq!(feeds.server.requests_to("GET", path).len(), 1, "{path} polled again by run:\n{log}");
    }
    // … at exactly the time `feeds` showed.
    let scheduled = log
        .lines()
        .find(|l| l.contains("scheduled feed") && l.contains("feed=hourly"))
        .and_then(|l| l.split("next=").nth(1))
        .map(|t| t.trim().trim_end_matches(" UTC").replace(' ', "T") + "Z")
        .unwrap_or_else(|| panic!("no plan for hourly in the log:\n{log}"));
    let planned = timestamp(&scheduled);
    assert!((planned - next).num_milliseconds().abs() < 1000, "run plans {planned}, feeds showed {next}:\n{log}");
    let view = FeedsView::read(&cfg);
    assert_eq!(view.row("hourly")["NEXT POLL"], hourly["NEXT POLL"], "{}", view.text);
}

// ---------------------------------------------------------------------------------------------
// 7. Failures: counted, backed off, recovered
// ---------------------------------------------------------------------------------------------

#[test]
fn repeated_failures_are_counted_and_a_recovery_clears_them() {
    let dir = TempDir::new("poll-recover");
    let rx = Receiver::start();
    let feeds = FeedServer::start();
    feeds.set_response("/flaky.rss", Response::body(500, "database on fire"));
    let url = feeds.url("/flaky.rss");
    let cfg =
        dir.config(&daemon("").feed("flaky", &url, "").rule("watch", KORUT, "").webhook("hook", &rx.url(), "").build());
    for n in 1..=2 {
        let out = once(&cfg);
        assert!(stderr(&out).lines().any(|l| l.contains("poll failed") && l.contains("feed=flaky")), "{}", show(&out));
        let view = FeedsView::read(&cfg);
        let row = view.row("flaky");
        assert_eq!(
            (row["STATE"].as_str(), row["STATUS"].as_str(), row["ERRORS"].as_str(), row["LAST SUCCESS"].as_str()),
            ("failing", "500", n.to_string().as_str(), "never"),
            "{}",
            view.text
        );
        assert_eq!(view.notes("flaky"), [format!("flaky: {url}: HTTP 500")], "{}", view.text);
    }
    assert_eq!(rx.posts().len(), 0);

    feeds.set("/flaky.rss", rss(&[item("flaky-1", "Korea Utara uji senjata (pulih)")]));
    let out = once(&cfg);
    assert_eq!(titles(&rx), ["Korea Utara uji senjata (pulih)"], "{}", show(&out));
    let view = FeedsView::read(&cfg);
    let row = view.row("flaky");
    assert_eq!(
        (row["STATE"].as_str(), row["STATUS"].as_str(), row["ERRORS"].as_str(), row["ITEMS"].as_str()),
        ("ok", "200", "0", "1"),
        "{}",
        view.text
    );
    assert_eq!(row["LAST SUCCESS"], row["LAST POLL"], "{}", view.text);
    assert!(view.notes("flaky").is_empty(), "the old error is cleared: {}", view.text);
}

#[test]
fn a_failing_feed_is_retried_after_a_backoff_not_at_its_interval() {
    let dir = TempDir::new("poll-backoff");
    let feeds = FeedServer::start();
    feeds.set_response("/down.rss", Response::status(500));
    feeds.set("/up.rss", rss(&[item("up-1", "Kabar baik")]));
    let cfg = dir.config(
        &daemon("")
            .feed("down", &feeds.url("/down.rss"), "interval = \"2s\"")
            .feed("up", &feeds.url("/up.rss"), "interval = \"2s\"")
            .build(),
    );
    let d = Daemon::run_logged(&cfg, &dir.path().join("run.log"), &[]);
    let log = || d.log();
    // The healthy feed keeps its 2-second rhythm …
    wait_for_requests(&feeds.server, "/up.rss", 3, Duration::from_secs(30), log);
    let (view, down) = wait_for_row(
        &cfg,
        "down",
        Duration::from_secs(30),
        |r| r["NEXT POLL"] != "at start" && r["STATUS"] == "500",
        log,
    );
    // … while the failing one waits about a minute (1 min × 2^0, ±10 %) after its first failure.
    let gap = seconds_between(&down);
    assert!((50..=70).contains(&gap), "down: next poll {gap} s after the first failure:\n{}", view.text);
    let log = d.stop();
    assert_eq!(
        feeds.server.requests_to("GET", "/down.rss").len(),
        1,
        "the failing feed was not polled at its 2 s interval:\n{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Concurrency limits
// ---------------------------------------------------------------------------------------------

/// Six feeds on one server whose answers take 500 ms; returns the most requests that were in
/// flight at once during `pantau once`.
fn peak_concurrency(concurrency: usize, per_host: usize) -> usize {
    let dir = TempDir::new(&format!("poll-limits-{concurrency}-{per_host}"));
    let (in_flight, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (now, max) = (Arc::clone(&in_flight), Arc::clone(&peak));
    let server = Server::start(move |req| {
        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
        max.fetch_max(n, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(500));
        now.fetch_sub(1, Ordering::SeqCst);
        Response::body(200, rss(&[item(req.path.trim_start_matches('/'), "Kabar")]))
            .header("Content-Type", "application/rss+xml")
    });
    let mut cfg = daemon(&format!("concurrency = {concurrency}\nper_host = {per_host}"));
    for i in 0..6 {
        cfg = cfg.feed(&format!("f{i}"), &server.url(&format!("/f{i}")), "");
    }
    let cfg = dir.config(&cfg.build());
    let out = once(&cfg);
    assert_eq!(server.requests().len(), 6, "{}", show(&out));
    assert!(!stderr(&out).contains("poll failed"), "{}", show(&out));
    peak.load(Ordering::SeqCst)
}

#[test]
fn per_host_and_global_limits_bound_the_polls_in_flight() {
    assert_eq!(peak_concurrency(16, 2), 2, "per_host = 2: two at once from one host, in parallel but no more");
    assert_eq!(peak_concurrency(16, 1), 1, "per_host = 1: one at a time");
    assert_eq!(peak_concurrency(3, 16), 3, "concurrency = 3 caps the total");
}

// ---------------------------------------------------------------------------------------------
// 9. Redirects
// ---------------------------------------------------------------------------------------------

#[test]
fn a_chain_of_permanent_redirects_moves_the_feed_to_its_end() {
    let dir = TempDir::new("poll-moved-chain");
    let rx = Receiver::start();
    let feeds = FeedServer::start();
    feeds.set_response("/old.rss", Response::status(301).header("Location", "/middle.rss"));
    feeds.set_response("/middle.rss", Response::status(308).header("Location", "/new.rss"));
    feeds.set("/new.rss", rss(&[item("moved-1", "Korea Utara uji senjata (pindah)")]));
    let cfg = dir.config(
        &daemon("")
            .feed("moved", &feeds.url("/old.rss"), "")
            .rule("watch", KORUT, "")
            .webhook("hook", &rx.url(), "")
            .build(),
    );
    let out = once(&cfg);
    assert_eq!(titles(&rx), ["Korea Utara uji senjata (pindah)"], "{}", show(&out));
    let view = FeedsView::read(&cfg);
    assert_eq!(
        view.notes("moved"),
        [format!("moved: moved permanently to {} (update the config)", feeds.url("/new.rss"))],
        "{}",
        view.text
    );
    assert_eq!(view.row("moved")["STATE"], "ok", "{}", view.text);
    once(&cfg);
    let hits = |p: &str| feeds.server.requests_to("GET", p).len();
    assert_eq!((hits("/old.rss"), hits("/middle.rss"), hits("/new.rss")), (1, 1, 2), "the new URL is polled directly");
    assert_eq!(rx.posts().len(), 1);
}

#[test]
fn a_temporary_redirect_anywhere_in_the_chain_does_not_move_the_feed() {
    let dir = TempDir::new("poll-temporary");
    let feeds = FeedServer::start();
    feeds.set_response("/302.rss", Response::status(302).header("Location", "/a.rss"));
    feeds.set_response("/307.rss", Response::status(307).header("Location", "/b.rss"));
    // Permanent then temporary: the end of the chain is not the feed's new home.
    feeds.set_response("/mixed.rss", Response::status(301).header("Location", "/hop.rss"));
    feeds.set_response("/hop.rss", Response::status(302).header("Location", "/c.rss"));
    for (path, guid) in [("/a.rss", "a"), ("/b.rss", "b"), ("/c.rss", "c")] {
        feeds.set(path, rss(&[item(guid, "Kabar")]));
    }
    let cfg = dir.config(
        &daemon("")
            .feed("found", &feeds.url("/302.rss"), "")
            .feed("temporary", &feeds.url("/307.rss"), "")
            .feed("mixed", &feeds.url("/mixed.rss"), "")
            .build(),
    );
    once(&cfg);
    let out = once(&cfg);
    assert!(!stderr(&out).contains("moved permanently"), "{}", show(&out));
    let hits = |p: &str| feeds.server.requests_to("GET", p).len();
    assert_eq!(
        (hits("/302.rss"), hits("/307.rss"), hits("/mixed.rss")),
        (2, 2, 2),
        "the configured URLs are still polled"
    );
    let view = FeedsView::read(&cfg);
    assert!(!view.text.contains("moved permanently"), "{}", view.text);
    for name in ["found", "temporary", "mixed"] {
        let row = view.row(name);
        assert_eq!((row["STATE"].as_str(), row["ITEMS"].as_str()), ("ok", "1"), "{}", view.text);
    }
}

#[test]
fn ten_redirects_are_followed_and_an_eleventh_or_a_loop_is_an_error() {
    let dir = TempDir::new("poll-redirect-limit");
    let feeds = FeedServer::start();
    // /ok0 → … → /ok10 is ten redirects; /far0 → … → /far11 is eleven.
    for i in 0..10 {
        feeds.set_response(&format!("/ok{i}"), Response::status(302).header("Location", &format!("/ok{}", i + 1)));
    }
    feeds.set("/ok10", rss(&[item("ok", "Kabar")]));
    for i in 0..11 {
        feeds.set_response(&format!("/far{i}"), Response::status(302).header("Location", &format!("/far{}", i + 1)));
    }
    feeds.set("/far11", rss(&[item("far", "Kabar")]));
    feeds.set_response("/loop-a", Response::status(307).header("Location", "/loop-b"));
    feeds.set_response("/loop-b", Response::status(302).header("Location", "/loop-a"));
    let cfg = dir.config(
        &daemon("")
            .feed("ten", &feeds.url("/ok0"), "")
            .feed("eleven", &feeds.url("/far0"), "")
            .feed("loop", &feeds.url("/loop-a"), "")
            .build(),
    );
    let out = once(&cfg);
    let view = FeedsView::read(&cfg);
    let ten = view.row("ten");
    assert_eq!(
        (ten["STATE"].as_str(), ten["STATUS"].as_str(), ten["ITEMS"].as_str()),
        ("ok", "200", "1"),
        "{}\n{}",
        view.text,
        show(&out)
    );
    for (name, message) in [("eleven", "more than 10 redirects"), ("loop", "redirect loop")] {
        let row = view.row(name);
        assert_eq!((row["STATE"].as_str(), row["STATUS"].as_str()), ("failing", "redirect-error"), "{}", view.text);
        let notes = view.notes(name);
        assert!(notes.len() == 1 && notes[0].contains(message), "{name}: {}", view.text);
    }
    assert_eq!(feeds.server.requests_to("GET", "/far11").len(), 0, "the eleventh redirect is not followed");
    assert_eq!(feeds.server.requests_to("GET", "/loop-a").len(), 1, "a loop is noticed when it closes");
}

#[test]
fn a_feed_ttl_is_a_polling_floor_only_where_the_operator_allows_it() {
    let dir = TempDir::new("poll-ttl");
    let feeds = FeedServer::start();
    let doc = rss(&[item("ttl-1", "Berita biasa")]).replace("<link>https://ex.id/</link>", "<ttl>60</ttl>");
    feeds.set("/polite.rss", doc.clone());
    feeds.set("/eager.rss", doc);
    let cfg = dir.config(
        &daemon("")
            .feed("polite", &feeds.url("/polite.rss"), "interval = \"1s\"\nhonor_ttl = true")
            .feed("eager", &feeds.url("/eager.rss"), "interval = \"1s\"")
            .build(),
    );
    let d = Daemon::run_logged(&cfg, &dir.path().join("log"), &[]);
    // The feed that ignores its <ttl> is polled every second ...
    wait_for_requests(&feeds.server, "/eager.rss", 4, Duration::from_secs(30), || d.log());
    // ... while the one that honours it waits the 60 minutes the publisher asked for.
    assert_eq!(feeds.server.requests_to("GET", "/polite.rss").len(), 1, "{}", d.log());
    let log = d.stop();
    let (view, row) = wait_for_row(&cfg, "polite", Duration::from_secs(5), |_| true, || log.clone());
    let next = timestamp(&row["NEXT POLL"]);
    let last = timestamp(&row["LAST POLL"]);
    let gap = (next - last).num_seconds();
    assert!((3590..=3700).contains(&gap), "next poll {gap} s after the last: {}", view.text);
}

// ---------------------------------------------------------------------------------------------
// 10. Credentials stay with their origin
// ---------------------------------------------------------------------------------------------

/// The credentials a request carried: its Authorization and custom header.
fn credentials(r: &Request) -> (Option<String>, Option<String>) {
    (r.header("authorization").map(str::to_string), r.header("x-feed-key").map(str::to_string))
}

#[test]
fn headers_and_basic_auth_go_only_to_the_configured_origin_and_a_move_elsewhere_drops_them() {
    let dir = TempDir::new("poll-credential-origin");
    // Two servers on one host, different ports: two origins.
    let other = FeedServer::start();
    other.set("/feed.rss", rss(&[item("o-1", "Kabar lain")]));
    other.set("/new.rss", rss(&[item("n-1", "Kabar pindah")]));
    let elsewhere = other.url("");
    let own = FeedServer::start();
    own.set_response("/hop.rss", Response::status(302).header("Location", &format!("{elsewhere}/feed.rss")));
    own.set_response("/moving.rss", Response::status(301).header("Location", &format!("{elsewhere}/new.rss")));
    own.set_response("/here.rss", Response::status(302).header("Location", "/final.rss"));
    own.set("/final.rss", rss(&[item("h-1", "Kabar sendiri")]));
    let secret = "extra = \"x\"\nheaders = { Authorization = \"Bearer ${FEED_TOKEN}\", X-Feed-Key = \"k-42\" }";
    let basic = "username = \"desk\"\npassword = \"${FEED_PASSWORD}\"";
    let cfg = dir.config(
        &daemon("")
            .feed("hop", &own.url("/hop.rss"), secret)
            .feed("moving", &own.url("/moving.rss"), basic)
            .feed("here", &own.url("/here.rss"), secret)
            .build()
            .replace("extra = \"x\"\n", ""),
    );
    let with_env = |command: &str| {
        let out = pantau()
            .arg("-c")
            .arg(&cfg)
            .arg(command)
            .env("FEED_TOKEN", "tok-9d1")
            .env("FEED_PASSWORD", "pw-7c2")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        out
    };
    let out = with_env("once");
    let bearer = || (Some("Bearer tok-9d1".to_string()), Some("k-42".to_string()));
    let none = || (None, None);
    let got = |s: &FeedServer, p: &str| s.server.requests_to("GET", p).iter().map(credentials).collect::<Vec<_>>();
    // The configured origin gets the headers, on the first hop and after a same-origin redirect.
    assert_eq!(got(&own, "/hop.rss"), [bearer()], "{}", show(&out));
    assert_eq!(got(&own, "/here.rss"), [bearer()]);
    assert_eq!(got(&own, "/final.rss"), [bearer()], "the same origin keeps its credentials");
    // Another port of the same host is another origin: neither the headers nor basic auth.
    assert_eq!(got(&other, "/feed.rss"), [none()], "{}", show(&out));
    let basic_auth = Some("Basic ZGVzazpwdy03YzI=".to_string());
    assert_eq!(got(&own, "/moving.rss"), [(basic_auth, None)]);
    assert_eq!(got(&other, "/new.rss"), [none()], "{}", show(&out));
    let log = stderr(&out);
    let warning = log.lines().find(|l| l.contains("moved permanently to another origin")).unwrap_or_default();
    assert!(warning.contains(&format!("new_origin={elsewhere}")), "the warning names the new origin:\n{log}");
    // The moved feed is polled at its new home from now on, still without credentials.
    let out = with_env("once");
    assert_eq!(got(&other, "/new.rss"), [none(), none()], "{}", show(&out));
    assert_eq!(own.server.requests_to("GET", "/moving.rss").len(), 1, "{}", show(&out));
    let view = FeedsView { text: String::from_utf8_lossy(&with_env("feeds").stdout).to_string() };
    assert_eq!(view.row("moving")["STATE"], "ok", "{}", view.text);
}

// ---------------------------------------------------------------------------------------------
// 11. SOCKS5 proxies
// ---------------------------------------------------------------------------------------------

/// What the SOCKS5 server saw: the targets it was asked to CONNECT to (a name as sent, or an
/// IPv4 address with its port), and the user names it refused.
#[derive(Default)]
struct SocksLog {
    targets: Vec<String>,
    refused: Vec<String>,
}

/// A minimal SOCKS5 server (RFC 1928, with RFC 1929 username/password when `login` is set):
/// CONNECT to an IPv4 address or a domain name. Names are resolved through `hosts` only, so a
/// name that reaches it proves that the client left resolving to the proxy (socks5h).
fn socks5_server(
    login: Option<(&'static str, &'static str)>,
    hosts: HashMap<String, SocketAddr>,
) -> (SocketAddr, Arc<Mutex<SocksLog>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(SocksLog::default()));
    let seen = Arc::clone(&log);
    let hosts = Arc::new(hosts);
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let (log, hosts) = (Arc::clone(&seen), Arc::clone(&hosts));
            thread::spawn(move || {
                let _ = socks5_session(conn, login, &hosts, &log);
            });
        }
    });
    (addr, log)
}

fn socks5_session(
    mut conn: TcpStream,
    login: Option<(&str, &str)>,
    hosts: &HashMap<String, SocketAddr>,
    log: &Mutex<SocksLog>,
) -> std::io::Result<()> {
    use std::io::Read;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let byte = |conn: &mut TcpStream, n: usize| -> std::io::Result<Vec<u8>> {
        let mut b = vec![0; n];
        conn.read_exact(&mut b)?;
        Ok(b)
    };
    // Greeting: VER, NMETHODS, METHODS.
    let head = byte(&mut conn, 2)?;
    assert_eq!(head[0], 5, "SOCKS version 5");
    let methods = byte(&mut conn, usize::from(head[1]))?;
    let wanted = if login.is_some() { 2 } else { 0 };
    if !methods.contains(&wanted) {
        conn.write_all(&[5, 0xff])?;
        return Ok(());
    }
    conn.write_all(&[5, wanted])?;
    if let Some((user, pass)) = login {
        // Username/password: VER 1, ULEN, UNAME, PLEN, PASSWD.
        let ver_len = byte(&mut conn, 2)?;
        let name = String::from_utf8_lossy(&byte(&mut conn, usize::from(ver_len[1]))?).to_string();
        let plen = byte(&mut conn, 1)?;
        let given = String::from_utf8_lossy(&byte(&mut conn, usize::from(plen[0]))?).to_string();
        if name != user || given != pass {
            log.lock().unwrap().refused.push(name);
            conn.write_all(&[1, 1])?;
            return Ok(());
        }
        conn.write_all(&[1, 0])?;
    }
    // Request: VER, CMD (1 = CONNECT), RSV, ATYP, address, port.
    let req = byte(&mut conn, 4)?;
    assert_eq!((req[0], req[1]), (5, 1), "a CONNECT request");
    let host = match req[3] {
        1 => byte(&mut conn, 4)?.iter().map(u8::to_string).collect::<Vec<_>>().join("."),
        3 => {
            let len = byte(&mut conn, 1)?;
            String::from_utf8_lossy(&byte(&mut conn, usize::from(len[0]))?).to_string()
        }
        other => panic!("address type {other} is not used by these tests"),
    };
    let port_bytes = byte(&mut conn, 2)?;
    let port = u16::from_be_bytes([port_bytes[0], port_bytes[1]]);
    log.lock().unwrap().targets.push(format!("{host}:{port}"));
    let target = match host.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => Some(SocketAddr::from((ip, port))),
        Err(_) => hosts.get(&host).copied(),
    };
    let Some(upstream) = target.and_then(|t| TcpStream::connect(t).ok()) else {
        // Host unreachable.
        conn.write_all(&[5, 4, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Ok(());
    };
    conn.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;
    conn.set_read_timeout(None)?;
    let (mut up_read, mut down_write) = (upstream.try_clone()?, conn.try_clone()?);
    let back = thread::spawn(move || std::io::copy(&mut up_read, &mut down_write));
    let (mut down_read, mut up_write) = (conn, upstream);
    let _ = std::io::copy(&mut down_read, &mut up_write);
    let _ = up_write.shutdown(std::net::Shutdown::Write);
    let _ = back.join();
    Ok(())
}

#[test]
fn feeds_are_fetched_through_socks5_and_socks5h_proxies_with_their_credentials_checked() {
    let dir = TempDir::new("poll-socks5");
    let rx = Receiver::start();
    let feeds = FeedServer::start();
    feeds.set("/plain.rss", rss(&[item("s-1", "Korea Utara uji senjata lewat socks5")]));
    feeds.set("/named.rss", rss(&[item("s-2", "Korea Utara uji senjata lewat socks5h")]));
    feeds.set("/refused.rss", rss(&[item("s-3", "Korea Utara uji senjata tanpa izin")]));
    let feed_addr: SocketAddr = feeds.url("").trim_start_matches("http://").parse().unwrap();
    // Only the proxy knows where feeds.invalid is.
    let hosts = HashMap::from([("feeds.invalid".to_string(), feed_addr)]);
    let (open, open_log) = socks5_server(None, HashMap::new());
    let (locked, locked_log) = socks5_server(Some(("desk", "px-5e8")), hosts);
    let named = format!("http://feeds.invalid:{}/named.rss", feed_addr.port());
    let cfg = dir.config(
        &daemon(&format!("proxy = \"socks5://{open}\""))
            .feed("plain", &feeds.url("/plain.rss"), "")
            .feed("named", &named, &format!("proxy = \"socks5h://desk:${{SOCKS_PASSWORD}}@{locked}\""))
            .feed("refused", &feeds.url("/refused.rss"), &format!("proxy = \"socks5h://desk:wrong-pw@{locked}\""))
            .rule("watch", KORUT, "")
            .webhook("hook", &rx.url(), "")
            .build(),
    );
    let with_env = |command: &str| {
        let out = pantau().arg("-c").arg(&cfg).arg(command).env("SOCKS_PASSWORD", "px-5e8").output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        out
    };
    with_env("check");
    let out = with_env("once");
    assert_eq!(
        titles(&rx),
        ["Korea Utara uji senjata lewat socks5", "Korea Utara uji senjata lewat socks5h"],
        "{}",
        show(&out)
    );
    // socks5: pantau resolved the name and asked for an address; socks5h: the proxy got the name.
    assert_eq!(open_log.lock().unwrap().targets, [format!("{feed_addr}")]);
    assert_eq!(locked_log.lock().unwrap().targets, [format!("feeds.invalid:{}", feed_addr.port())]);
    // The wrong password was refused by the proxy and the feed was never reached.
    assert_eq!(locked_log.lock().unwrap().refused, ["desk"]);
    assert!(feeds.server.requests_to("GET", "/refused.rss").is_empty());
    let view = FeedsView { text: String::from_utf8_lossy(&with_env("feeds").stdout).to_string() };
    assert_eq!(view.row("refused")["STATE"], "failing", "{}", view.text);
    assert_eq!(view.row("named")["STATE"], "ok", "{}", view.text);
    let log = stderr(&out);
    assert!(!log.contains("unsupported scheme"), "{log}");
    assert!(
        !log.contains("px-5e8") && !log.contains("wrong-pw") && !view.text.contains("wrong-pw"),
        "{log}\n{}",
        view.text
    );
}

// ---------------------------------------------------------------------------------------------
// Adaptive intervals across runs

/// The planned gap after the last poll of feed `name`, from `pantau feeds --json`.
fn planned_gap(cfg: &Path, name: &str) -> Duration {
    let out = run(cfg, &["feeds", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let feeds: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let feed = feeds.as_array().unwrap().iter().find(|f| f["name"] == name).unwrap().clone();
    let at = |k: &str| DateTime::parse_from_rfc3339(feed[k].as_str().unwrap()).unwrap().with_timezone(&Utc);
    (at("next_poll_at") - at("last_attempt_at")).to_std().unwrap()
}

#[test]
fn an_adaptive_feed_goes_on_from_the_interval_it_learned_in_an_earlier_run() {
    let dir = TempDir::new("adaptive-runs");
    let feeds = FeedServer::start();
    feeds.set("/a.rss", crate::util::sample_feed());
    let cfg = dir.config(
        &ConfigBuilder::new()
            .feed("a", &feeds.url("/a.rss"), "interval = \"auto\"\nmin_interval = \"10m\"\nmax_interval = \"2h\"")
            .sink("out", "console", "")
            .build(),
    );
    // New items: from the middle of the range (65 min) the interval halves to 32.5 min.
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let first = planned_gap(&cfg, "a").as_secs_f64() / 60.0;
    assert!((30.0..=35.0).contains(&first), "{first} min");
    // Nothing new in the next run: it stretches what was learned (to ~48.75 min), not the
    // middle of the range again (which would give ~97.5 min).
    let out = run(&cfg, &["once"]);
    assert!(out.status.success(), "{}", show(&out));
    let second = planned_gap(&cfg, "a").as_secs_f64() / 60.0;
    assert!((45.0..=52.0).contains(&second), "{second} min");
}
