//! systemd's readiness protocol (`sd_notify`): `READY=1` once the role is
//! known, `WATCHDOG=1` from the main loop, `STOPPING=1` on shutdown.
//!
//! Does nothing unless systemd set `NOTIFY_SOCKET`, so pulse behaves the same
//! under the SysV-style `pulse` start of Piranha's init script.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// A connection to systemd's notification socket, if there is one.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`.
    pub fn from_env() -> Notifier {
        let socket = std::env::var_os("NOTIFY_SOCKET");
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        Notifier::new(
            socket.as_deref().and_then(|s| s.to_str()),
            usec.as_deref(),
            pid.as_deref(),
            std::process::id(),
        )
    }

    /// The same from explicit values (for tests).
    pub fn new(
        socket: Option<&str>,
        watchdog_usec: Option<&str>,
        watchdog_pid: Option<&str>,
        own_pid: u32,
    ) -> Notifier {
        let target = socket.and_then(|path| {
            let addr = if let Some(name) = path.strip_prefix('@') {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name.as_bytes()).ok()?
            } else {
                SocketAddr::from_pathname(path).ok()?
            };
            Some((UnixDatagram::unbound().ok()?, addr))
        });
        let for_us = watchdog_pid
            .map(|p| p.trim().parse::<u32>().ok() == Some(own_pid))
            .unwrap_or(true);
        let watchdog = watchdog_usec
            .and_then(|u| u.trim().parse::<u64>().ok())
            .filter(|u| *u > 0 && for_us)
            // Ping at half the interval, as systemd recommends.
            .map(|u| Duration::from_micros(u / 2));
        Notifier { target, watchdog }
    }

    /// How often to send `WATCHDOG=1`, when systemd asked for it.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.filter(|_| self.target.is_some())
    }

    /// Sends one notification (`KEY=VALUE` lines). Failures are ignored:
    /// systemd going away must not take pulse down.
    pub fn send(&self, state: &str) {
        if let Some((sock, addr)) = &self.target {
            let _ = sock.send_to_addr(state.as_bytes(), addr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_a_path_socket_and_halves_the_watchdog() {
        let dir = std::env::temp_dir().join(format!("pulse-notify-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).expect("bind");
        let n = Notifier::new(path.to_str(), Some("30000000"), None, 1);
        n.send("READY=1\nSTATUS=master");
        let mut buf = [0u8; 64];
        let len = rx.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=master");
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(15)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn abstract_sockets_and_foreign_watchdog_pids() {
        let name = format!("pulse-notify-test-{}", std::process::id());
        use std::os::linux::net::SocketAddrExt;
        let rx = UnixDatagram::bind_addr(
            &SocketAddr::from_abstract_name(name.as_bytes()).expect("addr"),
        )
        .expect("bind");
        let n = Notifier::new(
            Some(&format!("@{name}")),
            Some("1000000"),
            Some("999999"),
            1,
        );
        n.send("WATCHDOG=1");
        let mut buf = [0u8; 16];
        let len = rx.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..len], b"WATCHDOG=1");
        assert_eq!(
            n.watchdog_interval(),
            None,
            "WATCHDOG_PID names another process"
        );
        let none = Notifier::new(None, Some("1000000"), None, 1);
        assert_eq!(none.watchdog_interval(), None);
        none.send("READY=1");
    }
}
