//! The local HTTP server of the bench: feeds with ETags (If-None-Match → 304), article pages,
//! and the webhook receiver, all on 127.0.0.1. Kept apart so that it can give way to the
//! integration tests' feed server.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One feed document as served: its body, ETag and content type.
pub struct Doc {
    pub body: Arc<Vec<u8>>,
    pub etag: String,
    pub content_type: &'static str,
}

#[derive(Default)]
pub struct Server {
    pub docs: RwLock<Vec<Arc<Doc>>>,
    pub ok: AtomicU64,
    pub not_modified: AtomicU64,
    pub bytes_out: AtomicU64,
    pub posts: AtomicU64,
    pub keys: Mutex<HashSet<String>>,
    pub first_post: Mutex<Option<Instant>>,
    pub last_post: Mutex<Option<Instant>>,
    /// Article pages by (feed, item); a page not here answers 404.
    pub pages: RwLock<Pages>,
    pub page_ok: AtomicU64,
    pub page_missing: AtomicU64,
    pub page_bytes: AtomicU64,
    pub last_page: Mutex<Option<Instant>>,
    /// Under `--articles`: when each feed was first asked for since the last reset, and what
    /// each webhook call carried and when it arrived.
    pub record: AtomicBool,
    pub polled: Mutex<HashMap<usize, Instant>>,
    pub arrivals: Mutex<Vec<Arrival>>,
}

/// Article pages by (feed index, item index).
pub type Pages = HashMap<(usize, usize), Arc<Vec<u8>>>;

/// One webhook call, as the receiver saw it (recorded under `--articles`).
pub struct Arrival {
    pub at: Instant,
    pub feed: String,
    pub rule: String,
    pub article: bool,
}

impl Server {
    pub fn reset_counters(&self) {
        self.ok.store(0, Ordering::SeqCst);
        self.not_modified.store(0, Ordering::SeqCst);
        self.bytes_out.store(0, Ordering::SeqCst);
        self.posts.store(0, Ordering::SeqCst);
        *self.first_post.lock().unwrap() = None;
        *self.last_post.lock().unwrap() = None;
        self.page_ok.store(0, Ordering::SeqCst);
        self.page_missing.store(0, Ordering::SeqCst);
        self.page_bytes.store(0, Ordering::SeqCst);
        *self.last_page.lock().unwrap() = None;
        self.polled.lock().unwrap().clear();
        self.arrivals.lock().unwrap().clear();
    }
}

/// Answer every connection `listener` accepts, for ever.
pub async fn serve(listener: TcpListener, st: Arc<Server>) {
    loop {
        let Ok((sock, _)) = listener.accept().await else { continue };
        let st = Arc::clone(&st);
        tokio::spawn(async move {
            let _ = connection(sock, st).await;
        });
    }
}

/// Where `needle` first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decode a complete chunked body at the start of `buf`: (body, bytes consumed), or None when
/// more bytes are needed.
fn chunked(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut pos = 0;
    let mut body = Vec::new();
    loop {
        let line_end = pos + find(&buf[pos..], b"\r\n")?;
        let size_text = std::str::from_utf8(&buf[pos..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        pos = line_end + 2;
        if size == 0 {
            let end = pos + find(&buf[pos..], b"\r\n")?;
            return Some((body, end + 2));
        }
        if buf.len() < pos + size + 2 {
            return None;
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        pos += size + 2;
    }
}

async fn connection(mut sock: TcpStream, st: Arc<Server>) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut tmp = vec![0u8; 64 * 1024];
    loop {
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            let n = sock.read(&mut tmp).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&tmp[..n]);
            if buf.len() > 1 << 20 {
                return Ok(());
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request = lines.next().unwrap_or("").split(' ');
        let method = request.next().unwrap_or("").to_string();
        let path = request.next().unwrap_or("").to_string();
        let (mut length, mut is_chunked, mut if_none_match, mut close) = (0usize, false, None::<String>, false);
        for line in lines {
            let Some((k, v)) = line.split_once(':') else { continue };
            let v = v.trim();
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.parse().unwrap_or(0),
                "transfer-encoding" => is_chunked = v.eq_ignore_ascii_case("chunked"),
                "if-none-match" => if_none_match = Some(v.to_string()),
                "connection" => close = v.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let (body, consumed) = loop {
            let rest = &buf[head_end..];
            if is_chunked {
                if let Some((b, used)) = chunked(rest) {
                    break (b, head_end + used);
                }
            } else if rest.len() >= length {
                break (rest[..length].to_vec(), head_end + length);
            }
            let n = sock.read(&mut tmp).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&tmp[..n]);
        };
        buf.drain(..consumed);

        if method == "POST" && path == "/hook" {
            let key = head
                .split("\r\n")
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("idempotency-key"))
                        .map(|(_, v)| v.trim().to_string())
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(64)]).into_owned());
            let now = Instant::now();
            st.first_post.lock().unwrap().get_or_insert(now);
            *st.last_post.lock().unwrap() = Some(now);
            st.posts.fetch_add(1, Ordering::Relaxed);
            st.keys.lock().unwrap().insert(key);
            if st.record.load(Ordering::Relaxed) {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                st.arrivals.lock().unwrap().push(Arrival {
                    at: now,
                    feed: v["feed"]["name"].as_str().unwrap_or_default().to_string(),
                    rule: v["rule"].as_str().unwrap_or_default().to_string(),
                    article: v["item"]["article"].as_bool().unwrap_or(false),
                });
            }
            sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok").await?;
        } else if let Some(doc) = path
            .strip_prefix("/feed/")
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| st.docs.read().unwrap().get(i).cloned())
            .filter(|_| method == "GET")
        {
            if st.record.load(Ordering::Relaxed) {
                let idx = path["/feed/".len()..].parse::<usize>().unwrap_or(usize::MAX);
                st.polled.lock().unwrap().entry(idx).or_insert_with(Instant::now);
            }
            if if_none_match.as_deref() == Some(doc.etag.as_str()) {
                st.not_modified.fetch_add(1, Ordering::Relaxed);
                let head = format!("HTTP/1.1 304 Not Modified\r\nETag: {}\r\n\r\n", doc.etag);
                sock.write_all(head.as_bytes()).await?;
            } else {
                st.ok.fetch_add(1, Ordering::Relaxed);
                st.bytes_out.fetch_add(doc.body.len() as u64, Ordering::Relaxed);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nETag: {}\r\nContent-Length: {}\r\n\r\n",
                    doc.content_type,
                    doc.etag,
                    doc.body.len()
                );
                sock.write_all(head.as_bytes()).await?;
                sock.write_all(&doc.body).await?;
            }
        } else if let Some(key) = path.strip_prefix("/article/").filter(|_| method == "GET").and_then(|rest| {
            let mut parts = rest.split('/');
            Some((parts.next()?.parse::<usize>().ok()?, parts.next()?.parse::<usize>().ok()?))
        }) {
            let page = st.pages.read().unwrap().get(&key).cloned();
            *st.last_page.lock().unwrap() = Some(Instant::now());
            match page {
                Some(page) => {
                    st.page_ok.fetch_add(1, Ordering::Relaxed);
                    st.page_bytes.fetch_add(page.len() as u64, Ordering::Relaxed);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                        page.len()
                    );
                    sock.write_all(head.as_bytes()).await?;
                    sock.write_all(&page).await?;
                }
                None => {
                    st.page_missing.fetch_add(1, Ordering::Relaxed);
                    let body = "<!DOCTYPE html><html><body><h1>404</h1><p>Halaman tidak ditemukan</p></body></html>";
                    let head = format!(
                        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    sock.write_all(head.as_bytes()).await?;
                    sock.write_all(body.as_bytes()).await?;
                }
            }
        } else {
            sock.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").await?;
        }
        if close {
            return Ok(());
        }
    }
}
