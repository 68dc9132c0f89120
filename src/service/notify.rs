//! systemd's notify protocol: READY, RELOADING, STOPPING and watchdog pings over the datagram
//! socket named by `$NOTIFY_SOCKET`. Without that variable every call is a no-op.

use std::time::Duration;

/// Send one notification (e.g. `"READY=1"`); false when there is no socket or sending failed.
pub fn notify(state: &str) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::net::UnixDatagram;
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return false };
        let Ok(sock) = UnixDatagram::unbound() else { return false };
        let bytes = path.as_encoded_bytes();
        let sent = if let Some(name) = bytes.strip_prefix(b"@") {
            // An abstract socket: '@' stands for the leading NUL byte.
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name)
                .and_then(|addr| sock.send_to_addr(state.as_bytes(), &addr))
        } else {
            sock.send_to(state.as_bytes(), std::path::Path::new(&path))
        };
        sent.is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = state;
        false
    }
}

/// Tell systemd a reload started (`Type=notify` with `ExecReload` sending SIGHUP); READY=1
/// follows when it is done.
pub fn reloading() -> bool {
    notify("RELOADING=1")
}

/// The watchdog period systemd asked for (`WatchdogSec`), if it is meant for this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Some(pid) = std::env::var("WATCHDOG_PID").ok().and_then(|p| p.parse::<u32>().ok()) {
        if pid != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_reach_the_socket() {
        use std::os::unix::net::UnixDatagram;
        let dir = std::env::temp_dir().join(format!("pantau-notify-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        // Tests share the process environment; this is the only test that sets NOTIFY_SOCKET.
        std::env::set_var("NOTIFY_SOCKET", &path);
        assert!(notify("READY=1"));
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::env::remove_var("NOTIFY_SOCKET");
        assert!(!notify("READY=1"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
