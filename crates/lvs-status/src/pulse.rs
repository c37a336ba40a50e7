//! pulse's status document.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The configured role of the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `primary` in lvs.cf.
    Master,
    /// `backup`.
    Backup,
}

/// Whether the router holds the VIPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouterState {
    /// It holds the VIPs and runs lvsd.
    Active,
    /// Standing by.
    Inactive,
}

/// What this router last heard the partner say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartnerState {
    /// Nothing heard within deadtime (or never).
    Unknown,
    /// "running".
    Active,
    /// "stopped".
    Inactive,
    /// Stopping cleanly: this router takes over.
    Leaving,
}

/// The partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    /// Its state.
    pub state: PartnerState,
    /// Milliseconds since its last accepted heartbeat.
    pub last_heartbeat_age_ms: Option<u64>,
    /// It said it cannot take over (link or child failure).
    pub unwilling: bool,
}

/// One heartbeat path (public, private).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// `public` or `private`.
    pub name: String,
    /// Our address.
    pub local: IpAddr,
    /// The partner's.
    pub peer: Option<IpAddr>,
    /// Heartbeats accepted on it.
    pub accepted: u64,
    /// Milliseconds since the last one.
    pub last_heartbeat_age_ms: Option<u64>,
    /// Heard within deadtime.
    pub up: bool,
}

/// The heartbeat exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// `legacy`, `receive-only`, `permissive` or `enforce`.
    pub mode: String,
    /// The ids of the keys accepted.
    pub key_ids: Vec<u32>,
    /// The key heartbeats are signed with (none: unsigned).
    pub send_key: Option<u32>,
    /// Seconds.
    pub keepalive: f64,
    /// Seconds.
    pub deadtime: f64,
    /// Heartbeats accepted.
    pub accepted: u64,
    /// Of which signed.
    pub accepted_signed: u64,
    /// Of which unsigned.
    pub accepted_unsigned: u64,
    /// This run's boot id.
    pub boot_id: u64,
    /// The partner's latest boot id in a valid signed heartbeat.
    pub partner_boot_id: Option<u64>,
    /// Datagrams dropped, by reason (`bad_hmac`, `replay`, `unconfirmed`, ...).
    pub drops: BTreeMap<String, u64>,
    /// The paths.
    pub channels: Vec<Channel>,
}

impl Heartbeat {
    /// All drops, whatever the reason.
    pub fn total_drops(&self) -> u64 {
        self.drops.values().sum()
    }
}

/// The two routers' lvs.cf, compared through the digest in the signed
/// heartbeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigDigest {
    /// Ours (hex).
    pub ours: String,
    /// The partner's (hex; unsigned heartbeats carry none).
    pub partner: Option<String>,
    /// Whether they are the same file (none: unknown).
    #[serde(rename = "match")]
    pub matches: Option<bool>,
}

/// pulse's answer to `{"cmd":"status"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PulseStatus {
    /// Always `pulse`.
    pub daemon: String,
    /// pulse's pid.
    pub pid: u32,
    /// Configured role.
    pub role: Role,
    /// Current state.
    pub state: RouterState,
    /// A monitored link is down.
    pub link_failure: bool,
    /// lvsd failed.
    pub child_failure: bool,
    /// The partner.
    pub partner: Partner,
    /// The heartbeats.
    pub heartbeat: Heartbeat,
    /// The lvs.cf comparison.
    pub config_digest: ConfigDigest,
    /// lvsd's pid while it runs.
    pub lvsd_pid: Option<i32>,
}

impl PulseStatus {
    /// The partner's lvs.cf is known to differ from ours.
    pub fn partner_config_differs(&self) -> bool {
        self.config_digest.matches == Some(false)
    }
}
