//! End to end against a real Matrix homeserver: a local Synapse that `scripts/synapse.sh start`
//! runs on 127.0.0.1 (the suite runner `scripts/test` installs and starts it and exports
//! `PANTAU_SYNAPSE_URL` and `PANTAU_SYNAPSE_CONFIG`). pantau posts into a room as one user; a
//! second user reads the room the way a person's client would.
//!
//! By hand: `scripts/synapse.sh install && eval "$(scripts/synapse.sh start)"`, then
//! `cargo test --test tests matrix -- --include-ignored`, then `scripts/synapse.sh stop $PANTAU_SYNAPSE_PID`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::util::{pantau, sample_feed, show, ConfigBuilder, FeedServer, TempDir, KORUT};

const TITLE: &str = "Intelijen AS: Rusia Beli Roket dari Korut untuk Perangi Ukraina";
const LINK: &str = "https://news.example.id/world/intelijen-as-rusia-beli-roket-dari-korut";
const RULE: &str = "korut-senjata";

/// Synapse answers slowly on a busy 2-core machine; nothing here measures time.
const HTTP_TIMEOUT: Duration = Duration::from_secs(120);

/// The homeserver under test, from the environment that `scripts/synapse.sh start` prints.
struct Homeserver {
    /// `http://127.0.0.1:PORT`
    url: String,
    /// `127.0.0.1:PORT`
    addr: String,
    /// Its `homeserver.yaml` (holds the registration shared secret).
    config: PathBuf,
    /// Synapse's `register_new_matrix_user` in the venv that `scripts/synapse.sh install` made.
    register: PathBuf,
}

fn homeserver() -> Homeserver {
    let how = "this test needs a local Synapse: run ./scripts/test, or by hand \
               `scripts/synapse.sh install && eval \"$(scripts/synapse.sh start)\"`";
    let url = std::env::var("PANTAU_SYNAPSE_URL").unwrap_or_default();
    let config = std::env::var("PANTAU_SYNAPSE_CONFIG").unwrap_or_default();
    assert!(!url.is_empty(), "PANTAU_SYNAPSE_URL is not set; {how}");
    assert!(!config.is_empty(), "PANTAU_SYNAPSE_CONFIG is not set; {how}");
    let url = url.trim_end_matches('/').to_string();
    let addr = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("PANTAU_SYNAPSE_URL must be a plain http:// URL, got {url}"))
        .to_string();
    let config = PathBuf::from(config);
    assert!(config.is_file(), "PANTAU_SYNAPSE_CONFIG={} is not a file; {how}", config.display());
    let venv = std::env::var_os("PANTAU_SYNAPSE_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/synapse"));
    let register = venv.join("bin/register_new_matrix_user");
    assert!(register.is_file(), "{} not found (set PANTAU_SYNAPSE_DIR to the Synapse venv); {how}", register.display());
    Homeserver { url, addr, config, register }
}

// ---- a tiny blocking HTTP/1.1 client: one request per connection, JSON in and out ----

/// Status and parsed JSON body of one response (`Null` when the body is empty).
struct Reply {
    status: u16,
    json: Value,
    text: String,
}

/// Percent-encode everything but RFC 3986 unreserved characters (for room ids in paths).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The body of a `Transfer-Encoding: chunked` response.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else { panic!("truncated chunked body") };
        let line = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
        data = &data[eol + 2..];
        if size == 0 {
            return out;
        }
        assert!(data.len() >= size + 2, "truncated chunk");
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn request(hs: &Homeserver, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
    let payload = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nConnection: close\r\nContent-Length: {}\r\n",
        hs.addr,
        payload.len()
    );
    if body.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");

    let what = format!("{method} {}{path}", hs.url);
    let mut conn =
        TcpStream::connect(&hs.addr).unwrap_or_else(|e| panic!("{what}: cannot connect: {e} (is Synapse running?)"));
    conn.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
    conn.set_write_timeout(Some(HTTP_TIMEOUT)).unwrap();
    conn.write_all(head.as_bytes()).and_then(|()| conn.write_all(&payload)).unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).unwrap_or_else(|e| panic!("{what}: reading the response: {e}"));

    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("{what}: no response head"));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{what}: bad status line {status_line:?}"));
    let header = |name: &str| {
        head.split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        dechunk(rest)
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        assert!(rest.len() >= len, "{what}: body shorter than Content-Length");
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    let text = String::from_utf8_lossy(&body).to_string();
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{what}: HTTP {status}, body is not JSON ({e}): {text}"))
    };
    Reply { status, json, text }
}

/// A client-server API call that must answer 200; waits out `M_LIMIT_EXCEEDED` a few times.
fn call(hs: &Homeserver, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Value {
    for _ in 0..10 {
        let r = request(hs, method, path, token, body);
        if r.status == 429 {
            let ms = r.json["retry_after_ms"].as_u64().unwrap_or(1000).min(10_000);
            thread::sleep(Duration::from_millis(ms));
            continue;
        }
        assert_eq!(r.status, 200, "{method} {}{path}: HTTP {}: {}", hs.url, r.status, r.text);
        return r.json;
    }
    panic!("{method} {}{path}: still rate limited after 10 tries", hs.url);
}

// ---- users, rooms, messages ----

struct User {
    id: String,
    token: String,
}

/// Register `name` with the shared secret (Synapse's own tool) and log in with a password.
fn user(hs: &Homeserver, name: &str) -> User {
    let password = format!("{name}-secret-pw");
    let out = Command::new(&hs.register)
        .arg("-c")
        .arg(&hs.config)
        .args(["-u", name, "-p", &password, "--no-admin", &hs.url])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", hs.register.display()));
    assert!(out.status.success(), "registering {name}: {}", show(&out));
    let login = call(
        hs,
        "POST",
        "/_matrix/client/v3/login",
        None,
        Some(&json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": name},
            "password": password,
            "initial_device_display_name": "pantau e2e test",
        })),
    );
    let field =
        |k: &str| login[k].as_str().unwrap_or_else(|| panic!("login of {name} has no {k}: {login}")).to_string();
    User { id: field("user_id"), token: field("access_token") }
}

/// `sender` creates a private room and invites `reader`, who joins; returns the room id.
fn room(hs: &Homeserver, sender: &User, reader: &User) -> String {
    let created = call(
        hs,
        "POST",
        "/_matrix/client/v3/createRoom",
        Some(&sender.token),
        Some(&json!({"preset": "private_chat", "name": "pantau alerts (e2e)", "invite": [reader.id]})),
    );
    let room = created["room_id"].as_str().unwrap_or_else(|| panic!("createRoom: {created}")).to_string();
    let joined =
        call(hs, "POST", &format!("/_matrix/client/v3/join/{}", enc(&room)), Some(&reader.token), Some(&json!({})));
    assert_eq!(joined["room_id"], room.as_str(), "join: {joined}");
    room
}

/// The latest `m.room.message` events in `room` sent by `sender`, as `viewer` sees them.
fn messages_from(hs: &Homeserver, viewer: &User, room: &str, sender: &User) -> Vec<Value> {
    let page = call(
        hs,
        "GET",
        &format!("/_matrix/client/v3/rooms/{}/messages?dir=b&limit=20", enc(room)),
        Some(&viewer.token),
        None,
    );
    let chunk = page["chunk"].as_array().unwrap_or_else(|| panic!("/messages without chunk: {page}"));
    chunk.iter().filter(|e| e["type"] == "m.room.message" && e["sender"] == sender.id.as_str()).cloned().collect()
}

// ---- pantau ----

fn config(feeds: &FeedServer, hs: &Homeserver, token: &str, room: &str) -> String {
    ConfigBuilder::new()
        .state_dir()
        .feed("world", &feeds.url("/world.rss"), "tags = [\"id\"]")
        .rule(RULE, KORUT, "lang = \"id\"\nsinks = [\"room\"]")
        .sink("room", "matrix", &format!("homeserver = \"{}\"\naccess_token = \"{token}\"\nroom = \"{room}\"", hs.url))
        .build()
}

/// `pantau -c CONFIG ARGS…`, asserting exit 0 and that the access token appears nowhere in
/// what pantau printed (it logs at debug level here).
fn pantau_ok(cfg: &Path, args: &[&str], token: &str) -> Output {
    let out = pantau().arg("-c").arg(cfg).args(args).output().expect("run pantau");
    assert_eq!(out.status.code(), Some(0), "pantau {args:?}: {}", show(&out));
    assert!(!show(&out).contains(token), "pantau {args:?} printed the Matrix access token: {}", show(&out));
    out
}

/// The id of the one alert that `pantau alerts` lists (first column of its only row).
fn only_alert(cfg: &Path, token: &str) -> (String, String) {
    let out = pantau_ok(cfg, &["alerts"], token);
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    let rows: Vec<&str> = listing.lines().skip(1).filter(|l| !l.trim().is_empty()).collect();
    assert!(listing.starts_with("ID ") && rows.len() == 1, "one alert expected:\n{listing}");
    let id = rows[0].split_whitespace().next().unwrap().to_string();
    (id, rows[0].to_string())
}

#[test]
#[ignore = "needs a local Synapse: run ./scripts/test, which installs and starts one"]
fn matrix_room_gets_one_notice_per_alert_even_when_redelivered() {
    let hs = homeserver();
    // Unique per run, so re-runs against the same homeserver work.
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let run_id = format!("{}-{secs}", std::process::id());
    let sender = user(&hs, &format!("pantau-{run_id}"));
    let reader = user(&hs, &format!("reader-{run_id}"));
    let room = room(&hs, &sender, &reader);

    let dir = TempDir::new("matrix");
    let feeds = FeedServer::start();
    feeds.set("/world.rss", sample_feed());
    let cfg = dir.config(&config(&feeds, &hs, &sender.token, &room));
    pantau_ok(&cfg, &["once"], &sender.token);

    // The reader sees exactly one notice from pantau's user.
    let start = Instant::now();
    let mut events = messages_from(&hs, &reader, &room, &sender);
    while events.is_empty() && start.elapsed() < Duration::from_secs(60) {
        thread::sleep(Duration::from_millis(500));
        events = messages_from(&hs, &reader, &room, &sender);
    }
    assert_eq!(events.len(), 1, "exactly one message from {} in {room}: {events:#?}", sender.id);
    let event = &events[0];
    let content = &event["content"];
    assert_eq!(content["msgtype"], "m.notice", "{event:#}");
    let body = content["body"].as_str().unwrap_or_else(|| panic!("no body: {event:#}"));
    for want in [TITLE, RULE, "korea utara", "senjata"] {
        assert!(body.contains(want), "body lacks {want:?}: {body}");
    }
    assert_eq!(content["format"], "org.matrix.custom.html", "{event:#}");
    let html = content["formatted_body"].as_str().unwrap_or_else(|| panic!("no formatted_body: {event:#}"));
    assert!(html.contains(&format!("<a href=\"{LINK}\"")), "formatted_body lacks the link to the article: {html}");
    assert!(html.contains(TITLE), "formatted_body lacks the title: {html}");
    let event_id = event["event_id"].as_str().unwrap().to_string();

    // The alert is delivered, and its id went out as the transaction id (Synapse shows a
    // message's transaction id to the device that sent it).
    let (alert, row) = only_alert(&cfg, &sender.token);
    assert!(row.contains("delivered"), "{row}");
    let own = messages_from(&hs, &sender, &room, &sender);
    assert_eq!(own.len(), 1, "{own:#?}");
    assert_eq!(own[0]["unsigned"]["transaction_id"], alert.as_str(), "txnId is the alert id: {:#}", own[0]);

    // After a crash pantau cannot know whether its last send arrived, so it sends the same
    // transaction again: force that with `redeliver`. The homeserver answers with the same
    // event, and the room still holds one notice.
    let out = pantau_ok(&cfg, &["redeliver", &alert], &sender.token);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{alert}: was delivered; queued")),
        "{}",
        show(&out)
    );
    pantau_ok(&cfg, &["once"], &sender.token);
    let (again, row) = only_alert(&cfg, &sender.token);
    assert_eq!(again, alert);
    assert!(row.contains("delivered"), "the resend succeeded: {row}");
    let events = messages_from(&hs, &reader, &room, &sender);
    assert_eq!(events.len(), 1, "the resend must not post a second message: {events:#?}");
    assert_eq!(events[0]["event_id"], event_id.as_str());

    // A later cycle with nothing new posts nothing.
    pantau_ok(&cfg, &["once"], &sender.token);
    assert_eq!(messages_from(&hs, &reader, &room, &sender).len(), 1);
}
