//! Running the `pantau` binary and watching it: its CPU time (`getrusage` of the children),
//! its resident memory (sampled from `/proc`), and SIGTERM for a daemon. The bench's only
//! calls into C, through the `libc` crate.
#![allow(unsafe_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{die, Args};

/// CPU time and peak resident memory of the children this process has waited for.
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    /// User CPU seconds.
    pub user: f64,
    /// System CPU seconds.
    pub sys: f64,
    /// The largest resident set of a child, in KB.
    pub maxrss: i64,
}

/// The [`Usage`] of every child waited for so far (`getrusage(RUSAGE_CHILDREN)`).
pub fn children_usage() -> Usage {
    let mut r = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one `struct rusage` through a valid pointer to one; the memory
    // was zeroed first, and all-zero bytes are a valid rusage, so it is initialised even if the
    // call failed.
    let r = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, r.as_mut_ptr());
        r.assume_init()
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage { user: secs(r.ru_utime), sys: secs(r.ru_stime), maxrss: r.ru_maxrss }
}

/// Ask a daemon child to stop (SIGTERM), as systemd does.
pub fn terminate(child: &Child) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else { return };
    // SAFETY: kill(2) takes no pointers; the pid is our own child's, not yet waited for, so it
    // cannot name another process.
    unsafe { libc::kill(pid, libc::SIGTERM) };
}

/// Kilobyte figures of /proc/PID/status.
pub fn proc_kb(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l[key.len()..].trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU time of process `pid` so far, in clock ticks (`/proc/PID/stat`).
pub fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: count the fields after its end.
    // Fields 14 and 15 of stat(5) are utime and stime; after the name come fields 3, 4, …
    let mut rest = s[s.rfind(')')? + 1..].split_whitespace();
    let utime: u64 = rest.nth(11)?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second, the unit of [`proc_cpu_ticks`].
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf takes no pointers and only reads a system setting.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

#[derive(Default, Clone, Copy)]
pub struct Sampled {
    pub max_rss_kb: u64,
    pub last_hwm_kb: u64,
}

/// Poll VmRSS/VmHWM of `pid` every 10 ms until `stop`.
pub fn sampler(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Sampled> {
    std::thread::spawn(move || {
        let mut s = Sampled::default();
        while !stop.load(Ordering::Relaxed) {
            if let Some(rss) = proc_kb(pid, "VmRSS:") {
                s.max_rss_kb = s.max_rss_kb.max(rss);
            }
            if let Some(hwm) = proc_kb(pid, "VmHWM:") {
                s.last_hwm_kb = s.last_hwm_kb.max(hwm);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        s
    })
}

/// What one `pantau once` run took and reported.
pub struct RunResult {
    pub wall: Duration,
    pub user: f64,
    pub sys: f64,
    pub peak_rss_kb: u64,
    pub ok: bool,
    pub report: Option<serde_json::Value>,
}

/// The `pantau` command with `config`, JSON logs to `log`, and no proxy between it and 127.0.0.1.
pub fn pantau_command(args: &Args, config: &Path, log: &Path) -> Command {
    let mut cmd = Command::new(&args.pantau);
    cmd.arg("-c").arg(config).arg("--log-format").arg("json");
    cmd.env("RUST_LOG", &args.log_filter);
    // Only 127.0.0.1 is ever contacted: no proxy may intercept it.
    for k in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        cmd.env_remove(k);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost");
    let log = std::fs::File::create(log).unwrap_or_else(|e| die(&format!("cannot create {}: {e}", log.display())));
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    cmd
}

/// The fields of the last "cycle complete" line of a JSON log.
fn cycle_report(log: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "cycle complete")
        .map(|v| v["fields"].clone())
}

/// Run `pantau once` on `config` and measure it; `max_seen_kb` keeps the largest `ru_maxrss`
/// of the children seen so far.
pub fn run_once(args: &Args, config: &Path, log: &Path, max_seen_kb: &mut i64) -> RunResult {
    let before = children_usage();
    let start = Instant::now();
    let mut child = pantau_command(args, config, log)
        .arg("once")
        .spawn()
        .unwrap_or_else(|e| die(&format!("cannot start {}: {e}", args.pantau.display())));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = sampler(child.id(), Arc::clone(&stop));
    let status = child.wait().expect("wait for pantau");
    let wall = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let sampled = watcher.join().unwrap_or_default();
    let after = children_usage();
    // ru_maxrss of RUSAGE_CHILDREN is not used for the peak: a child started with
    // posix_spawn/vfork inherits the high-water mark of this (large) process until exec, so it
    // reports the bench's own RSS. VmHWM of the exec'd image, sampled, is the child's own.
    *max_seen_kb = (*max_seen_kb).max(after.maxrss);
    RunResult {
        wall,
        user: after.user - before.user,
        sys: after.sys - before.sys,
        peak_rss_kb: sampled.max_rss_kb.max(sampled.last_hwm_kb),
        ok: status.success(),
        report: cycle_report(log),
    }
}
