//! The process guard: every `pantau` a test starts in the background is a [`Daemon`], which kills
//! and reaps its child when dropped, so a failed assertion never leaves a daemon running; and
//! the address its `/healthz` and `/metrics` endpoint really listens on, read from its log.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use super::pantau;

/// How long a test waits for a log line, an exit or an answer before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// The line pantau logs once its endpoint listens, with the bound address in `address=`.
const SERVING: &str = "serving /healthz and /metrics";

/// A child process, killed (SIGKILL) and reaped on drop unless it was already waited for.
pub struct Daemon {
    child: Option<Child>,
    /// The file its stderr goes to, when it has one.
    log: Option<PathBuf>,
}

impl Daemon {
    /// Start `cmd` under the guard.
    pub fn spawn(cmd: &mut Command) -> Daemon {
        Daemon { child: Some(cmd.spawn().expect("start the process")), log: None }
    }

    /// Start `cmd` under the guard with its stderr written to `log`.
    pub fn spawn_logged(cmd: &mut Command, log: &Path) -> Daemon {
        let file = std::fs::File::create(log).unwrap();
        let mut daemon = Daemon::spawn(cmd.stderr(Stdio::from(file)));
        daemon.log = Some(log.to_path_buf());
        daemon
    }

    /// `pantau -c CONFIG run`, its output discarded.
    pub fn run(config: &Path) -> Daemon {
        Daemon::spawn(pantau().arg("-c").arg(config).arg("run").stdout(Stdio::null()).stderr(Stdio::null()))
    }

    /// `pantau -c CONFIG run` with `envs` set and its stderr (the log) written to `log`.
    pub fn run_logged(config: &Path, log: &Path, envs: &[(&str, &str)]) -> Daemon {
        let mut cmd = pantau();
        cmd.arg("-c").arg(config).arg("run").stdout(Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        Daemon::spawn_logged(&mut cmd, log)
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("the process was already waited for")
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.as_ref().expect("the process was already waited for").id()
    }

    /// Its stderr, when it was started with `Stdio::piped()`.
    pub fn take_stderr(&mut self) -> std::process::ChildStderr {
        self.child().stderr.take().expect("stderr is piped")
    }

    /// The log written so far (empty when there is none yet).
    pub fn log(&self) -> String {
        self.log.as_ref().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default()
    }

    /// Wait until the log contains `needle` and return the log, or panic with it after 30 s.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.log();
            if text.contains(needle) {
                return text;
            }
            assert!(start.elapsed() < PATIENCE, "log never said {needle:?}:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The port of the `/healthz` and `/metrics` endpoint, read from the log (the config says
    /// `listen = "127.0.0.1:0"`, so the system chose a free one and no test can race for it).
    pub fn port(&self) -> u16 {
        let start = Instant::now();
        loop {
            let text = self.log();
            if let Some(port) = listen_port(&text) {
                return port;
            }
            assert!(start.elapsed() < PATIENCE, "the log never said where the endpoint listens:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its exit status if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child().try_wait().unwrap()
    }

    /// Wait up to 30 s for it to exit by itself; panic (and kill it) otherwise.
    pub fn wait(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                self.child = None;
                return status;
            }
            assert!(start.elapsed() < PATIENCE, "the process did not exit:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kill it with SIGKILL (no chance to clean up) and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kill it (SIGKILL) and return its log.
    pub fn stop(mut self) -> String {
        self.kill();
        self.log()
    }

    /// Send SIGTERM.
    pub fn sigterm(&self) {
        let kill = Command::new("kill").args(["-TERM", &self.id().to_string()]).status().unwrap();
        assert!(kill.success());
    }

    /// Send SIGHUP (reload the config).
    pub fn sighup(&self) {
        let kill = Command::new("kill").args(["-HUP", &self.id().to_string()]).status().unwrap();
        assert!(kill.success());
    }

    /// Send SIGTERM and return the exit code once it stopped (-1 for a signal), or panic after
    /// 30 s (the guard then kills it).
    pub fn sigterm_and_wait(mut self) -> i32 {
        self.sigterm();
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                self.child = None;
                return status.code().unwrap_or(-1);
            }
            assert!(start.elapsed() < PATIENCE, "pantau did not stop after SIGTERM:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait for it to exit and collect its piped output.
    pub fn wait_with_output(mut self) -> Output {
        self.child.take().expect("the process was already waited for").wait_with_output().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The port pantau's log says its endpoint listens on, if it says so yet.
pub fn listen_port(log: &str) -> Option<u16> {
    let line = log.lines().find(|l| l.contains(SERVING))?;
    let at = line.find("address=")? + "address=".len();
    let addr: SocketAddr = line[at..].split_whitespace().next()?.trim_matches('"').parse().ok()?;
    Some(addr.port())
}

/// `GET path` on 127.0.0.1:`port` (retried until something listens, up to 30 s): status and body.
pub fn get(port: u16, path: &str) -> (u16, String) {
    let start = Instant::now();
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            let status = out.split_whitespace().nth(1).unwrap_or("0").parse().unwrap();
            let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
            return (status, body);
        }
        assert!(start.elapsed() < PATIENCE, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
