//! lvsd's status document: the live table, by the names lvs.cf gives.
//!
//! ```json
//! {"services":[{"virtual":"web","protocol":"tcp","address":"10.0.0.100","port":80,
//!   "fwmark":null,"scheduler":"wlc","persistent":0,"in_kernel":true,
//!   "stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,
//!     "cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0},
//!   "servers":[{"server":"r1","address":"10.0.1.11","port":80,"state":"up","weight":1,
//!     "in_kernel":true,"reason":null,"since_ms":5000,"report_age_ms":5000,
//!     "active_conns":0,"inactive_conns":0,"stats":{...},"draining":false}]}]}
//! ```
//!
//! Services are the active virtuals of lvs.cf in file order (those lvsd
//! programs); servers are their active real servers in file order, then
//! the sorry server (state `sorry`) while it is in use. Weights and
//! counters are the kernel's, 0 for a server not in the table. The rates
//! are the kernel's estimates (per second, averaged over a few seconds).
//!
//! nanny reports a server only when its state or weight changes, so
//! `report_age_ms` is the age of the latest result nanny sent about it
//! (a check that keeps passing sends nothing new), and `since_ms` how long
//! it has been up or down; both are absent while nanny has not decided and
//! when lvsd runs without health checks.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Packet and byte counters of a service or a real server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets in.
    pub inpkts: u64,
    /// Packets out.
    pub outpkts: u64,
    /// Bytes in.
    pub inbytes: u64,
    /// Bytes out.
    pub outbytes: u64,
    /// Connections per second.
    pub cps: u64,
    /// Packets in per second.
    pub inpps: u64,
    /// Packets out per second.
    pub outpps: u64,
    /// Bytes in per second.
    pub inbps: u64,
    /// Bytes out per second.
    pub outbps: u64,
}

/// What the health checks say of a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerState {
    /// Passing its checks (or not monitored).
    Up,
    /// Failing its checks.
    Down,
    /// Not decided yet (no check result since lvsd started it).
    Unknown,
    /// The sorry server, in the table because every real server is down.
    Sorry,
}

impl ServerState {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerState::Up => "up",
            ServerState::Down => "down",
            ServerState::Unknown => "unknown",
            ServerState::Sorry => "sorry",
        }
    }
}

/// One real server (or the sorry server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Server {
    /// `server NAME` (the sorry server: `sorry_server`).
    pub server: String,
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// Health.
    pub state: ServerState,
    /// Weight in the kernel (0 when not in the table).
    pub weight: i32,
    /// Whether the kernel has it (a quiesced server is there at weight 0).
    pub in_kernel: bool,
    /// Why nanny last said it is down (none while up).
    pub reason: Option<String>,
    /// Milliseconds it has been in its state (up or down) as nanny
    /// reported it; none while undecided or unmonitored.
    pub since_ms: Option<u64>,
    /// Milliseconds since nanny's latest report about it.
    pub report_age_ms: Option<u64>,
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Counters.
    pub stats: Stats,
    /// An https check's warning: the server's certificate expires soon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Certificate>,
    /// Being drained (`lvscf drain`): weight 0 whatever its health, until
    /// its active connections end and lvsd deactivates it in lvs.cf.
    pub draining: bool,
}

/// A TLS certificate that expires within `check_cert_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// End of validity, seconds since the epoch.
    pub not_after: i64,
    /// Whole days left (negative once expired).
    pub days_left: i64,
}

/// A virtual server's quorum (lvs.cf `quorum`, keepalived's meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quorum {
    /// `quorum`: the live weight needed.
    pub quorum: u32,
    /// `hysteresis`.
    pub hysteresis: u32,
    /// The sum of the configured weights of the real servers that are up.
    pub live_weight: u64,
    /// Whether the service has its quorum; `false` = the sorry server (if
    /// any) serves alone.
    pub up: bool,
}

/// One virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// `virtual NAME`.
    #[serde(rename = "virtual")]
    pub name: String,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// The VIP (none for a firewall-mark service).
    pub address: Option<IpAddr>,
    /// Port.
    pub port: u16,
    /// Firewall mark, if the service is one.
    pub fwmark: Option<u32>,
    /// Scheduler in the kernel (the configured one while not there).
    pub scheduler: String,
    /// Persistence timeout in seconds (0 = off).
    pub persistent: u32,
    /// Whether the kernel has the service.
    pub in_kernel: bool,
    /// Counters.
    pub stats: Stats,
    /// Real servers.
    pub servers: Vec<Server>,
    /// The quorum, for a virtual server with `quorum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<Quorum>,
}

/// lvsd's answer to `{"cmd":"status"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsdStatus {
    /// The services lvsd programs, in lvs.cf order.
    pub services: Vec<Service>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let text = r#"{"services":[{"virtual":"web","protocol":"tcp","address":"10.0.0.100","port":80,"fwmark":null,"scheduler":"wlc","persistent":0,"in_kernel":true,"stats":{"conns":1,"inpkts":2,"outpkts":3,"inbytes":4,"outbytes":5,"cps":6,"inpps":7,"outpps":8,"inbps":9,"outbps":10},"servers":[{"server":"r1","address":"10.0.1.11","port":80,"state":"up","weight":1,"in_kernel":true,"reason":null,"since_ms":1200,"report_age_ms":1200,"active_conns":0,"inactive_conns":0,"stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0},"draining":false}]}]}"#;
        let s: LvsdStatus = serde_json::from_str(text).expect("parse");
        assert_eq!(s.services[0].servers[0].state, ServerState::Up);
        assert_eq!(serde_json::to_string(&s).expect("write"), text);
        // A field missing is an error, not a silent default: the two sides
        // cannot drift apart unnoticed.
        let missing = text.replace(r#""in_kernel":true,"#, "");
        assert!(serde_json::from_str::<LvsdStatus>(&missing).is_err());
        let bad_state = text.replace(r#""state":"up""#, r#""state":"maybe""#);
        assert!(serde_json::from_str::<LvsdStatus>(&bad_state).is_err());
        let no_rate = text.replacen(r#""cps":6,"#, "", 1);
        assert!(serde_json::from_str::<LvsdStatus>(&no_rate).is_err());
        let no_in_kernel = text.replace(r#""in_kernel":true,"reason""#, r#""reason""#);
        assert!(serde_json::from_str::<LvsdStatus>(&no_in_kernel).is_err());
    }
}
