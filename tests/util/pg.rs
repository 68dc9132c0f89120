//! PostgreSQL for the tests of several nodes (#19): the test server's URL (`PANTAU_TEST_PG`,
//! which `scripts/test` sets after starting a throwaway server with `scripts/postgres.sh`), a
//! fresh database for each test, and [`PgProxy`], a TCP proxy in front of the server whose
//! [`PgProxy::cut`] makes the server vanish for a while, as a restart does, under a running node.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The variable that names the test server.
const VAR: &str = "PANTAU_TEST_PG";

/// The test server's URL (a database on it that the role may connect to; the role may create
/// databases), or `None` with a loud SKIPPED line when `PANTAU_TEST_PG` is unset. In CI (`CI`
/// set), where `scripts/test` always starts a server, its absence fails the test instead.
pub fn pg_url() -> Option<String> {
    if let Some(url) = std::env::var(VAR).ok().filter(|u| !u.trim().is_empty()) {
        return Some(url);
    }
    let msg = format!(
        "SKIPPED: {} needs a PostgreSQL server (set {VAR} or run ./scripts/test, which starts one)",
        std::thread::current().name().unwrap_or("this test")
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}; in CI the server must be there");
    eprintln!("{msg}");
    println!("{msg}");
    None
}

/// A new, empty database `pantau_t_<pid>_<n>_<hint>` on the test server, and its URL (the
/// server's URL with this database name); `None` (said loudly) when there is no test server.
/// The databases are left behind: the server of `scripts/test` is thrown away after the run.
pub fn fresh_database(name_hint: &str) -> Option<String> {
    let server = pg_url()?;
    static N: AtomicUsize = AtomicUsize::new(0);
    let hint: String =
        name_hint.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let mut name = format!("pantau_t_{}_{}_{hint}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    // PostgreSQL cuts identifiers at 63 bytes; cut it here so the URL names what was created.
    name.truncate(63);
    let mut client = postgres::Client::connect(&server, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to {VAR} ({}): {e}", shown(&server)));
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .unwrap_or_else(|e| panic!("cannot create database {name} on {VAR} ({}): {e}", shown(&server)));
    Some(with_database(&server, &name))
}

/// `url` naming database `name` instead of its own.
pub fn with_database(url: &str, name: &str) -> String {
    let mut u = url::Url::parse(url).unwrap_or_else(|e| panic!("{VAR} is not a URL ({e}): {}", shown(url)));
    u.set_path(&format!("/{name}"));
    u.to_string()
}

/// `url` without its password, for messages.
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(not a URL)".to_string(),
    }
}

/// The host and port a PostgreSQL URL points at (5432 when it gives none).
pub fn server_addr(url: &str) -> (String, u16) {
    let u = url::Url::parse(url).unwrap_or_else(|e| panic!("not a URL ({e}): {}", shown(url)));
    let host = u.host_str().unwrap_or("127.0.0.1").trim_start_matches('[').trim_end_matches(']').to_string();
    (host, u.port().unwrap_or(5432))
}

/// The proxy's shared state.
struct ProxyState {
    /// Where connections are forwarded.
    upstream: (String, u16),
    /// Until when the server "is down" (connections refused), if it is.
    cut_until: Mutex<Option<Instant>>,
    /// Both ends of every open forwarded connection, by connection number, so a cut can close
    /// them. A new connection is checked against the cut and registered under this lock.
    open: Mutex<HashMap<u64, (TcpStream, TcpStream)>>,
    /// Connections accepted and closed at once because of a cut.
    refused: AtomicUsize,
    /// Connections forwarded so far.
    forwarded: AtomicUsize,
    next_id: AtomicU64,
    stop: AtomicBool,
}

impl ProxyState {
    fn is_cut(&self) -> bool {
        self.cut_until.lock().unwrap().is_some_and(|until| Instant::now() < until)
    }

    fn close_all(&self) {
        for (_, (a, b)) in self.open.lock().unwrap().drain() {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
    }
}

/// A TCP proxy on 127.0.0.1 in front of the PostgreSQL server: nodes connect through it, and
/// [`PgProxy::cut`] drops every connection and refuses new ones for a while, which is what a
/// node sees when the server restarts. Stops (closing everything) when dropped.
pub struct PgProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
}

impl PgProxy {
    /// A proxy to the server `url` points at.
    pub fn start(url: &str) -> PgProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ProxyState {
            upstream: server_addr(url),
            cut_until: Mutex::new(None),
            open: Mutex::new(HashMap::new()),
            refused: AtomicUsize::new(0),
            forwarded: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let st = Arc::clone(&state);
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                let st = Arc::clone(&st);
                // Connecting upstream may take a moment; the accept loop goes on meanwhile.
                thread::spawn(move || forward(client, &st));
            }
        });
        PgProxy { addr, state }
    }

    /// `url` going through the proxy: the same user, password, database and parameters, with
    /// the proxy's address as host and port.
    pub fn url(&self, url: &str) -> String {
        let mut u = url::Url::parse(url).unwrap_or_else(|e| panic!("not a URL ({e}): {}", shown(url)));
        u.set_host(Some("127.0.0.1")).unwrap();
        u.set_port(Some(self.addr.port())).unwrap();
        u.to_string()
    }

    /// The server "restarts": every open connection is closed now, and connections made in the
    /// next `duration` are accepted and closed at once. Returns immediately.
    pub fn cut(&self, duration: Duration) {
        *self.state.cut_until.lock().unwrap() = Some(Instant::now() + duration);
        self.state.close_all();
    }

    /// Whether a cut is in force now.
    pub fn is_cut(&self) -> bool {
        self.state.is_cut()
    }

    /// Connections refused because of a cut, so far.
    pub fn refused(&self) -> usize {
        self.state.refused.load(Ordering::SeqCst)
    }

    /// Connections forwarded to the server, so far.
    pub fn forwarded(&self) -> usize {
        self.state.forwarded.load(Ordering::SeqCst)
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        self.state.close_all();
    }
}

/// Forward one accepted connection until either side closes it or a cut closes both.
fn forward(client: TcpStream, st: &Arc<ProxyState>) {
    if st.is_cut() {
        st.refused.fetch_add(1, Ordering::SeqCst);
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let (host, port) = &st.upstream;
    let Ok(server) = TcpStream::connect((host.as_str(), *port)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let id = st.next_id.fetch_add(1, Ordering::SeqCst);
    {
        // A cut that began while connecting upstream refuses this connection too.
        let mut open = st.open.lock().unwrap();
        if st.is_cut() || st.stop.load(Ordering::SeqCst) {
            st.refused.fetch_add(1, Ordering::SeqCst);
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
            return;
        }
        let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) else { return };
        open.insert(id, (c, s));
    }
    st.forwarded.fetch_add(1, Ordering::SeqCst);
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else { return };
    let up = thread::spawn(move || pump(client2, server2));
    pump(server, client);
    let _ = up.join();
    st.open.lock().unwrap().remove(&id);
}

/// Copy `from` to `to` until `from` ends or fails; then close both, so the other direction
/// ends too.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
