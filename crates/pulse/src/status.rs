//! The status socket (default `/run/piranha/pulse.sock`, mode 0660, group
//! piranha): the exchange of [`lvs_status::wire`]. `{"cmd":"status"}` is
//! answered with [`lvs_status::PulseStatus`]; `{"cmd":"reload"}` re-reads
//! lvs.cf as SIGHUP does (allowed only for peers whose uid is 0 or whose
//! gid is the `piranha` group, by SO_PEERCRED) and is answered, once the
//! reload was tried, with its result: `{"ok":true}`, or `{"ok":false,
//! "error":"..."}` with the parser's messages for an invalid file.

use crate::codec::{hex, DropReason, PeerState, Role};
use lvs_status::pulse as doc;
use lvs_status::{ReloadResult, Request};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;
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
    /// The status document.
    pub fn document(&self, now: Instant) -> doc::PulseStatus {
        let drops = DropReason::ALL
            .iter()
            .map(|r| (r.name().to_string(), self.drops[r.index()]))
            .collect();
        let dead_ms = (self.deadtime * 1000.0) as u64;
        let age =
            |t: Option<Instant>| t.map(|t| now.saturating_duration_since(t).as_millis() as u64);
        let channels = self
            .channels
            .iter()
            .map(|c| {
                let a = age(c.last_heard);
                doc::Channel {
                    name: c.name.to_string(),
                    local: c.local,
                    peer: c.peer,
                    accepted: c.accepted,
                    last_heartbeat_age_ms: a,
                    up: a.is_some_and(|a| a <= dead_ms),
                }
            })
            .collect();
        let pid = self.lvsd_pid.load(std::sync::atomic::Ordering::SeqCst);
        doc::PulseStatus {
            daemon: "pulse".into(),
            pid: std::process::id(),
            role: match self.role {
                Role::Master => doc::Role::Master,
                Role::Backup => doc::Role::Backup,
            },
            state: if self.active {
                doc::RouterState::Active
            } else {
                doc::RouterState::Inactive
            },
            link_failure: self.link_fail,
            child_failure: self.child_fail,
            partner: doc::Partner {
                state: match self.partner_state {
                    None => doc::PartnerState::Unknown,
                    Some(PeerState::Active) => doc::PartnerState::Active,
                    Some(PeerState::Inactive) => doc::PartnerState::Inactive,
                    Some(PeerState::Leaving) => doc::PartnerState::Leaving,
                },
                last_heartbeat_age_ms: age(self.last_heard),
                unwilling: self.partner_unwilling,
            },
            heartbeat: doc::Heartbeat {
                mode: self.auth_mode.to_string(),
                key_ids: self.key_ids.clone(),
                send_key: self.send_key,
                keepalive: self.keepalive,
                deadtime: self.deadtime,
                accepted: self.accepted,
                accepted_signed: self.accepted_signed,
                accepted_unsigned: self.accepted - self.accepted_signed,
                boot_id: self.boot_id,
                partner_boot_id: (self.partner_boot_id > 0).then_some(self.partner_boot_id),
                drops,
                channels,
            },
            config_digest: doc::ConfigDigest {
                ours: hex(&self.digest),
                partner: self.partner_digest.map(|d| hex(&d)),
                matches: self.partner_digest.map(|d| d == self.digest),
            },
            lvsd_pid: (pid > 0).then_some(pid),
        }
    }
}

/// A reload request from the socket; the main loop answers on the oneshot.
pub type ReloadRequest = tokio::sync::oneshot::Sender<Result<(), String>>;

/// Whether a peer may ask for a reload.
pub fn may_reload(uid: u32, gid: u32, piranha: Option<u32>) -> bool {
    daemon_kit::socket::may_control(uid, gid, piranha)
}

/// Binds the socket (replacing a stale one), mode 0660, group piranha.
pub fn bind(path: &Path) -> Result<(UnixListener, Option<String>), daemon_kit::socket::BindError> {
    daemon_kit::socket::bind_status_socket(path)
}

/// Serves connections until the listener fails.
pub async fn serve(
    listener: UnixListener,
    shared: Arc<Mutex<Shared>>,
    reload: mpsc::UnboundedSender<ReloadRequest>,
) {
    let piranha = daemon_kit::socket::status_gid();
    lvs_status::server::serve(listener, move |req, peer| {
        let shared = shared.clone();
        let reload = reload.clone();
        async move {
            match req {
                Request::Status => match shared.lock() {
                    Ok(g) => serde_json::to_string(&g.document(Instant::now()))
                        .unwrap_or_else(|e| lvs_status::ErrorAnswer::new(e.to_string()).line()),
                    Err(_) => lvs_status::ErrorAnswer::new("pulse is stopping").line(),
                },
                Request::Reload => {
                    if !peer.is_some_and(|p| may_reload(p.uid, p.gid, piranha)) {
                        return ReloadResult::failed("permission denied").line();
                    }
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    if reload.send(tx).is_err() {
                        return ReloadResult::failed("shutting down").line();
                    }
                    match rx.await {
                        Ok(Ok(())) => ReloadResult::done().line(),
                        Ok(Err(e)) => ReloadResult::failed(e).line(),
                        Err(_) => ReloadResult::failed("shutting down").line(),
                    }
                }
                Request::Drain(_) => {
                    lvs_status::ErrorAnswer::new("drain is lvsd's: ask /run/piranha/lvsd.sock")
                        .line()
                }
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reliability catalogue PRIV-06 (docs/RELIABILITY.md).
    #[test]
    fn reload_authorization() {
        assert!(may_reload(0, 0, None));
        assert!(may_reload(1000, 977, Some(977)));
        assert!(!may_reload(1000, 1000, Some(977)));
        assert!(!may_reload(1000, 1000, None));
    }
}
