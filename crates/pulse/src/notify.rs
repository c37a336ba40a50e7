//! systemd's readiness protocol (`sd_notify`): `READY=1` once the role is
//! known, `WATCHDOG=1` from the main loop, `STOPPING=1` on shutdown, and a
//! `STATUS=` line for `systemctl status` kept up to date
//! ([`publish_status`]): `active, 1 virtual, 3/3 real servers up, partner
//! standby` or `standby (backup), partner active`.
//!
//! Does nothing unless systemd set `NOTIFY_SOCKET`, so pulse behaves the same
//! under the SysV-style `pulse` start of Piranha's init script.

use crate::codec::{PeerState, Role};
use crate::status::Shared;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::sync::{Arc, Mutex};
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

/// Real servers as lvsd reports them on its status socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerCounts {
    /// Virtual services lvsd programs.
    pub virtuals: usize,
    /// Their real servers that are up.
    pub up: usize,
    /// Their real servers (the sorry server not counted).
    pub total: usize,
}

/// The `STATUS=` text. It starts with `active` exactly when this router
/// holds the VIPs (the package scripts read it: `systemctl show -P
/// StatusText pulse`).
pub fn status_text(
    active: bool,
    role: Role,
    partner: Option<PeerState>,
    servers: Option<ServerCounts>,
) -> String {
    let partner = match partner {
        Some(PeerState::Active) => "partner active",
        Some(PeerState::Inactive) => "partner standby",
        Some(PeerState::Leaving) => "partner leaving",
        None => "partner not heard",
    };
    if active {
        match servers {
            Some(c) => format!(
                "active, {} virtual{}, {}/{} real servers up, {partner}",
                c.virtuals,
                if c.virtuals == 1 { "" } else { "s" },
                c.up,
                c.total
            ),
            None => format!("active, lvsd not answering, {partner}"),
        }
    } else {
        let role = match role {
            Role::Master => "primary",
            Role::Backup => "backup",
        };
        format!("standby ({role}), {partner}")
    }
}

/// The counts in lvsd's status answer (`{"services":[{"servers":[...]}]}`).
pub fn counts_from_lvsd(v: &serde_json::Value) -> Option<ServerCounts> {
    let services = v.get("services")?.as_array()?;
    let mut c = ServerCounts {
        virtuals: services.len(),
        up: 0,
        total: 0,
    };
    for s in services {
        for srv in s
            .get("servers")
            .and_then(|x| x.as_array())
            .into_iter()
            .flatten()
        {
            match srv.get("state").and_then(|x| x.as_str()) {
                Some("sorry") => {}
                Some("up") => {
                    c.up += 1;
                    c.total += 1;
                }
                _ => c.total += 1,
            }
        }
    }
    Some(c)
}

/// Asks lvsd's status socket, within a second.
async fn lvsd_counts(socket: &Path) -> Option<ServerCounts> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let ask = async {
        let mut s = tokio::net::UnixStream::connect(socket).await.ok()?;
        s.write_all(b"{\"cmd\":\"status\"}\n").await.ok()?;
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).await.ok()?;
        counts_from_lvsd(&serde_json::from_str(&line).ok()?)
    };
    tokio::time::timeout(Duration::from_secs(1), ask)
        .await
        .ok()?
}

/// Keeps `STATUS=` current: every second, from what the main loop
/// publishes and, while lvsd runs, lvsd's status socket; sent only when
/// the text changes. Runs beside the main loop (a slow lvsd never delays
/// heartbeats).
pub async fn publish_status(
    notifier: Notifier,
    shared: Arc<Mutex<Shared>>,
    lvsd_socket: std::path::PathBuf,
    mut last: String,
) {
    if notifier.target.is_none() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some((active, role, partner, lvsd)) = shared.lock().ok().map(|g| {
            (
                g.active,
                g.role,
                g.partner_state,
                g.lvsd_pid.load(std::sync::atomic::Ordering::SeqCst) > 0,
            )
        }) else {
            return;
        };
        let servers = if active && lvsd {
            lvsd_counts(&lvsd_socket).await
        } else {
            None
        };
        let text = status_text(active, role, partner, servers);
        if text != last {
            notifier.send(&format!("STATUS={text}"));
            last = text;
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

    #[test]
    fn status_lines_for_systemctl_status() {
        let v = serde_json::json!({"services":[{"virtual":"web","servers":[
            {"server":"s1","state":"up"},{"server":"s2","state":"down"},
            {"server":"s3","state":"up"},{"server":"sorry","state":"sorry"}]}]});
        let c = counts_from_lvsd(&v).expect("counts");
        assert_eq!(
            c,
            ServerCounts {
                virtuals: 1,
                up: 2,
                total: 3
            }
        );
        assert_eq!(
            status_text(true, Role::Master, Some(PeerState::Inactive), Some(c)),
            "active, 1 virtual, 2/3 real servers up, partner standby"
        );
        assert_eq!(
            status_text(true, Role::Backup, None, None),
            "active, lvsd not answering, partner not heard"
        );
        assert_eq!(
            status_text(false, Role::Backup, Some(PeerState::Active), None),
            "standby (backup), partner active"
        );
        assert!(counts_from_lvsd(&serde_json::json!({"error":"x"})).is_none());
    }
}
