//! The status socket: a Unix stream socket (default
//! `/run/piranha/pulse.sock`). On connect the server writes one JSON line
//! with the current status. The client may then write one request line:
//! `{"cmd":"status"}` (answered with the status again) or
//! `{"cmd":"reload"}` (re-read lvs.cf, as SIGHUP; allowed only for peers
//! whose uid is 0 or whose gid is the `piranha` group, by SO_PEERCRED),
//! answered with `{"ok":true}` or `{"ok":false,"error":"..."}`.

use crate::codec::{hex, DropReason, PeerState, Role};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::mpsc;

/// One heartbeat channel (public, private).
#[derive(Debug, Clone)]
pub struct Channel {
    /// `public` or `private`.
    pub name: &'static str,
    /// Our address.
    pub local: std::net::IpAddr,
    /// The partner's.
    pub peer: Option<std::net::IpAddr>,
    /// Last valid heartbeat on this channel.
    pub last_heard: Option<Instant>,
    /// Valid heartbeats on this channel.
    pub accepted: u64,
}

/// What the main loop publishes.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Our role.
    pub role: Role,
    /// Active or not.
    pub active: bool,
    /// LINKFAIL.
    pub link_fail: bool,
    /// CHILDFAIL.
    pub child_fail: bool,
    /// Partner state (None = unknown/dead).
    pub partner_state: Option<PeerState>,
    /// When the last valid heartbeat arrived.
    pub last_heard: Option<Instant>,
    /// `legacy`, `receive-only`, `permissive` or `enforce`.
    pub auth_mode: &'static str,
    /// The ids of the keys accepted.
    pub key_ids: Vec<u32>,
    /// The key id we sign with (None: we send unsigned).
    pub send_key: Option<u32>,
    /// Accepted heartbeats.
    pub accepted: u64,
    /// Of which signed.
    pub accepted_signed: u64,
    /// The partner's last heartbeat said it cannot take over.
    pub partner_unwilling: bool,
    /// Our boot id (the freshness rule of signed heartbeats).
    pub boot_id: u64,
    /// The partner's latest boot id seen in a valid signed heartbeat (0:
    /// none).
    pub partner_boot_id: u64,
    /// Drop counters in [`DropReason::ALL`] order.
    pub drops: [u64; DropReason::ALL.len()],
    /// Our config digest.
    pub digest: [u8; 8],
    /// The partner's (v2 only).
    pub partner_digest: Option<[u8; 8]>,
    /// lvsd pid (0 when not running), read live.
    pub lvsd_pid: std::sync::Arc<std::sync::atomic::AtomicI32>,
    /// Per-channel view (a stale channel while another is fresh is a
    /// degraded path, P02).
    pub channels: Vec<Channel>,
    /// Timers.
    pub keepalive: f64,
    /// Timers.
    pub deadtime: f64,
}

impl Shared {
    /// The JSON document.
    pub fn to_json(&self, now: Instant) -> Value {
        let drops: serde_json::Map<String, Value> = DropReason::ALL
            .iter()
            .map(|r| (r.name().to_string(), json!(self.drops[r.index()])))
            .collect();
        let dead_ms = (self.deadtime * 1000.0) as u64;
        let age =
            |t: Option<Instant>| t.map(|t| now.saturating_duration_since(t).as_millis() as u64);
        let channels: Vec<Value> = self
            .channels
            .iter()
            .map(|c| {
                let a = age(c.last_heard);
                json!({
                    "name": c.name,
                    "local": c.local.to_string(),
                    "peer": c.peer.map(|p| p.to_string()),
                    "accepted": c.accepted,
                    "last_heartbeat_age_ms": a,
                    "up": a.is_some_and(|a| a <= dead_ms),
                })
            })
            .collect();
        let pid = self.lvsd_pid.load(std::sync::atomic::Ordering::SeqCst);
        let lvsd_pid = (pid > 0).then_some(pid);
        json!({
            "daemon": "pulse",
            "pid": std::process::id(),
            "role": match self.role { Role::Master => "master", Role::Backup => "backup" },
            "state": if self.active { "active" } else { "inactive" },
            "link_failure": self.link_fail,
            "child_failure": self.child_fail,
            "partner": {
                "state": match self.partner_state {
                    None => "unknown",
                    Some(PeerState::Active) => "active",
                    Some(PeerState::Inactive) => "inactive",
                    Some(PeerState::Leaving) => "leaving",
                },
                "last_heartbeat_age_ms": self.last_heard.map(|t| now.saturating_duration_since(t).as_millis() as u64),
                "unwilling": self.partner_unwilling,
            },
            "heartbeat": {
                "mode": self.auth_mode,
                "key_ids": self.key_ids,
                "send_key": self.send_key,
                "keepalive": self.keepalive,
                "deadtime": self.deadtime,
                "accepted": self.accepted,
                "accepted_signed": self.accepted_signed,
                "accepted_unsigned": self.accepted - self.accepted_signed,
                "boot_id": self.boot_id,
                "partner_boot_id": (self.partner_boot_id > 0).then_some(self.partner_boot_id),
                "drops": drops,
                "channels": channels,
            },
            "config_digest": {
                "ours": hex(&self.digest),
                "partner": self.partner_digest.map(|d| hex(&d)),
                "match": self.partner_digest.map(|d| d == self.digest),
            },
            "lvsd_pid": lvsd_pid,
        })
    }
}

/// A reload request from the socket; the main loop answers on the oneshot.
pub type ReloadRequest = tokio::sync::oneshot::Sender<Result<(), String>>;

fn piranha_gid() -> Option<u32> {
    let name = std::ffi::CString::new("piranha").ok()?;
    // SAFETY: getgrnam returns a pointer to static data or null; we read one
    // field immediately on this (single) thread.
    let g = unsafe { libc::getgrnam(name.as_ptr()) };
    if g.is_null() {
        None
    } else {
        // SAFETY: non-null group entry.
        Some(unsafe { (*g).gr_gid })
    }
}

/// Whether a peer may ask for a reload.
pub fn may_reload(uid: u32, gid: u32, piranha: Option<u32>) -> bool {
    uid == 0 || piranha == Some(gid)
}

/// Binds the socket (replacing a stale one) with mode 0666: reading is open
/// to local users (the web tool runs unprivileged); reload is checked per peer.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::create_dir_all(dir)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        }
    }
    let l = UnixListener::bind(path)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(l)
}

/// Serves connections until the listener fails.
pub async fn serve(
    listener: UnixListener,
    shared: Arc<Mutex<Shared>>,
    reload: mpsc::UnboundedSender<ReloadRequest>,
) {
    let piranha = piranha_gid();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let shared = shared.clone();
        let reload = reload.clone();
        tokio::spawn(async move {
            let cred = stream.peer_cred().ok();
            let (rd, mut wr) = stream.into_split();
            let snapshot = |s: &Arc<Mutex<Shared>>| -> String {
                match s.lock() {
                    Ok(g) => g.to_json(Instant::now()).to_string(),
                    Err(_) => "{}".to_string(),
                }
            };
            let mut line = snapshot(&shared);
            line.push('\n');
            if wr.write_all(line.as_bytes()).await.is_err() {
                return;
            }
            let mut reader = BufReader::new(rd.take_limited());
            let mut req = String::new();
            let read = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                reader.read_line(&mut req),
            )
            .await;
            let Ok(Ok(n)) = read else { return };
            if n == 0 {
                return;
            }
            let cmd = serde_json::from_str::<Value>(req.trim())
                .ok()
                .and_then(|v| v.get("cmd").and_then(Value::as_str).map(str::to_string));
            let answer = match cmd.as_deref() {
                Some("status") => snapshot(&shared),
                Some("reload") => {
                    let allowed = cred.is_some_and(|c| may_reload(c.uid(), c.gid(), piranha));
                    if !allowed {
                        json!({"ok": false, "error": "permission denied"}).to_string()
                    } else {
                        let (tx, rx) = tokio::sync::oneshot::channel();
                        if reload.send(tx).is_err() {
                            json!({"ok": false, "error": "shutting down"}).to_string()
                        } else {
                            match rx.await {
                                Ok(Ok(())) => json!({"ok": true}).to_string(),
                                Ok(Err(e)) => json!({"ok": false, "error": e}).to_string(),
                                Err(_) => {
                                    json!({"ok": false, "error": "shutting down"}).to_string()
                                }
                            }
                        }
                    }
                }
                _ => json!({"ok": false, "error": "unknown request"}).to_string(),
            };
            let _ = wr.write_all(format!("{answer}\n").as_bytes()).await;
        });
    }
}

trait TakeLimited {
    fn take_limited(self) -> tokio::io::Take<tokio::net::unix::OwnedReadHalf>;
}

impl TakeLimited for tokio::net::unix::OwnedReadHalf {
    fn take_limited(self) -> tokio::io::Take<tokio::net::unix::OwnedReadHalf> {
        use tokio::io::AsyncReadExt;
        self.take(4096)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_authorization() {
        assert!(may_reload(0, 0, None));
        assert!(may_reload(1000, 977, Some(977)));
        assert!(!may_reload(1000, 1000, Some(977)));
        assert!(!may_reload(1000, 1000, None));
    }
}
