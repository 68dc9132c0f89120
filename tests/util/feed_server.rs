//! Throwaway HTTP servers on 127.0.0.1 for tests and benchmarks: [`Server`] (any handler, every
//! request recorded), [`FeedServer`] (documents by path, conditional GETs answered) and
//! [`Receiver`] (a webhook receiver with scripted answers).
//!
//! Self-contained on purpose: it uses only std and serde_json, so a benchmark can include it
//! with `#[path = "../tests/util/feed_server.rs"] mod feed_server;`.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// A response to send.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering (to simulate a hanging server).
    pub delay: Duration,
}

impl Response {
    pub fn status(status: u16) -> Response {
        Response { status, headers: vec![], body: vec![], delay: Duration::ZERO }
    }

    pub fn body(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response { status, headers: vec![], body: body.into(), delay: Duration::ZERO }
    }

    pub fn header(mut self, k: &str, v: &str) -> Response {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn delayed(mut self, d: Duration) -> Response {
        self.delay = d;
        self
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// An HTTP/1.1 server on a random loopback port; one thread per connection.
pub struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (reqs, stop2) = (Arc::clone(&requests), Arc::clone(&stop));
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (handler, reqs) = (Arc::clone(&handler), Arc::clone(&reqs));
                thread::spawn(move || serve(conn, &*handler, &reqs));
            }
        });
        Server { addr, requests, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Requests to `path` with `method`.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.method == method && r.path == path).collect()
    }

    /// Wait until `n` requests arrived, or panic after `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Request> {
        let start = Instant::now();
        loop {
            let r = self.requests();
            if r.len() >= n {
                return r;
            }
            assert!(start.elapsed() < timeout, "expected {n} requests within {timeout:?}, got {}: {r:?}", r.len());
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(mut conn: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    // One request per connection: every response says `Connection: close`.
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let req = Request { method, path, headers, body };
    log.lock().unwrap().push(req.clone());
    let resp = handler(&req);
    if !resp.delay.is_zero() {
        thread::sleep(resp.delay);
    }
    let mut out = format!("HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n", resp.status, resp.body.len());
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let _ = conn.write_all(out.as_bytes());
    let _ = conn.write_all(&resp.body);
    let _ = conn.flush();
}

/// A feed server: paths map to documents that tests can change; answers conditional GETs.
pub struct FeedServer {
    pub server: Server,
    docs: Arc<Mutex<HashMap<String, Response>>>,
}

impl FeedServer {
    pub fn start() -> FeedServer {
        let docs: Arc<Mutex<HashMap<String, Response>>> = Arc::new(Mutex::new(HashMap::new()));
        let d = Arc::clone(&docs);
        let server = Server::start(move |req| {
            let docs = d.lock().unwrap();
            let Some(resp) = docs.get(&req.path) else { return Response::status(404) };
            if resp.status != 200 {
                return resp.clone();
            }
            let etag = format!("\"{:x}\"", fnv(&resp.body));
            if req.header("if-none-match") == Some(etag.as_str()) {
                return Response::status(304).header("ETag", &etag);
            }
            let typed = resp.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
            let resp = resp.clone().header("ETag", &etag);
            if typed {
                resp
            } else {
                resp.header("Content-Type", "application/rss+xml; charset=utf-8")
            }
        });
        FeedServer { server, docs }
    }

    pub fn set(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.docs.lock().unwrap().insert(path.to_string(), Response::body(200, body));
    }

    pub fn set_response(&self, path: &str, resp: Response) {
        self.docs.lock().unwrap().insert(path.to_string(), resp);
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf29ce484222325u64, |h, &x| (h ^ u64::from(x)).wrapping_mul(0x100000001b3))
}

/// A webhook receiver answering with scripted statuses (then 200), recording every request.
pub struct Receiver {
    pub server: Server,
    script: Arc<Mutex<VecDeque<Response>>>,
    default: Arc<Mutex<Response>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let script: Arc<Mutex<VecDeque<Response>>> = Arc::new(Mutex::new(VecDeque::new()));
        let default = Arc::new(Mutex::new(Response::status(200)));
        let (s, d) = (Arc::clone(&script), Arc::clone(&default));
        let server = Server::start(move |_| s.lock().unwrap().pop_front().unwrap_or_else(|| d.lock().unwrap().clone()));
        Receiver { server, script, default }
    }

    /// Answer the next requests with these responses, in order.
    pub fn script(&self, responses: impl IntoIterator<Item = Response>) {
        self.script.lock().unwrap().extend(responses);
    }

    /// Answer every unscripted request with this response.
    pub fn set_default(&self, resp: Response) {
        *self.default.lock().unwrap() = resp;
    }

    pub fn url(&self) -> String {
        self.server.url("/hook")
    }

    pub fn posts(&self) -> Vec<Request> {
        self.server.requests_to("POST", "/hook")
    }
}
