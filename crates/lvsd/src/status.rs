//! The status socket's answer: the live table with names and per-server
//! state. Request: one line `{"cmd":"status"}`. Answer: one JSON line
//!
//! ```json
//! {"services":[{"virtual":"web","protocol":"tcp","address":"10.0.0.100","port":80,
//!   "fwmark":null,"scheduler":"wlc","persistent":0,
//!   "stats":{"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0},
//!   "servers":[{"server":"r1","address":"10.0.1.11","port":80,"state":"up","weight":1,
//!     "active_conns":0,"inactive_conns":0,"stats":{...}}]}]}
//! ```
//!
//! Services are the active virtuals of lvs.cf in file order (those lvsd
//! programs); servers are their active real servers in file order (state
//! `up`, `down` or `unknown`; weight and counters from the kernel, 0 when
//! the server is not in the table), then the sorry server (`sorry_server`,
//! state `sorry`) while it is in use. An unknown request gets
//! `{"error":"..."}`.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use crate::desired::Desired;
use crate::table::Table;

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsOut {
    /// Connections.
    pub conns: u64,
    /// Incoming packets.
    pub inpkts: u64,
    /// Outgoing packets.
    pub outpkts: u64,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
}

impl From<&ipvs::Stats> for StatsOut {
    fn from(s: &ipvs::Stats) -> Self {
        StatsOut {
            conns: s.conns,
            inpkts: s.in_pkts,
            outpkts: s.out_pkts,
            inbytes: s.in_bytes,
            outbytes: s.out_bytes,
        }
    }
}

/// One real server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerOut {
    /// `server NAME`.
    pub server: String,
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// `up`, `down`, `unknown`, `sorry`.
    pub state: String,
    /// Kernel weight (0 when not in the table).
    pub weight: i32,
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Counters.
    pub stats: StatsOut,
}

/// One virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceOut {
    /// `virtual NAME`.
    #[serde(rename = "virtual")]
    pub virtual_name: String,
    /// tcp, udp, sctp.
    pub protocol: String,
    /// VIP.
    pub address: Option<IpAddr>,
    /// Port.
    pub port: u16,
    /// Firewall mark.
    pub fwmark: Option<u32>,
    /// Scheduler in the kernel (the configured one if missing there).
    pub scheduler: String,
    /// Persistence timeout (0 = off).
    pub persistent: u32,
    /// Whether the kernel has the service.
    #[serde(default)]
    pub in_kernel: bool,
    /// Counters.
    pub stats: StatsOut,
    /// Real servers.
    pub servers: Vec<ServerOut>,
}

/// The whole answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusOut {
    /// Services.
    pub services: Vec<ServiceOut>,
}

/// Builds the answer from the live table (with counters) and the desired
/// table's description, in lvs.cf order (`order` = virtual names).
pub fn status(live: &Table, desired: &Desired, order: &[String]) -> StatusOut {
    let mut infos: Vec<_> = desired.info.iter().collect();
    infos.sort_by_key(|(_, i)| {
        order
            .iter()
            .position(|n| *n == i.name)
            .unwrap_or(usize::MAX)
    });
    let mut out = StatusOut::default();
    for (key, info) in infos {
        let kernel = live.services.get(key);
        let want = desired.table.services.get(key);
        let scheduler = kernel
            .map(|e| e.service.scheduler.clone())
            .or_else(|| want.map(|e| e.service.scheduler.clone()))
            .unwrap_or_default();
        let mut servers = Vec::new();
        for s in &info.servers {
            let d = kernel.and_then(|e| e.dests.get(&(s.addr, s.port)));
            servers.push(ServerOut {
                server: s.name.clone(),
                address: s.addr,
                port: s.port,
                state: s.state.as_str().to_string(),
                weight: d.map(|d| d.weight).unwrap_or(0),
                active_conns: d.map(|d| d.active_conns).unwrap_or(0),
                inactive_conns: d.map(|d| d.inactive_conns).unwrap_or(0),
                stats: d.map(|d| StatsOut::from(&d.stats)).unwrap_or_default(),
            });
        }
        out.services.push(ServiceOut {
            virtual_name: info.name.clone(),
            protocol: info.protocol.as_str().to_string(),
            address: info.vip,
            port: info.port,
            fwmark: info.fwmark,
            scheduler,
            persistent: kernel
                .map(|e| {
                    if e.service.is_persistent() {
                        e.service.timeout
                    } else {
                        0
                    }
                })
                .unwrap_or(info.persistent),
            in_kernel: kernel.is_some(),
            stats: kernel
                .map(|e| StatsOut::from(&e.service.stats))
                .unwrap_or_default(),
            servers,
        });
    }
    out
}

/// A parsed request line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Request {
    /// The command; only `status` exists.
    pub cmd: String,
}

/// Parses a request line; `Err` carries the error answer.
pub fn parse_request(line: &str) -> Result<Request, String> {
    let req: Request =
        serde_json::from_str(line.trim()).map_err(|e| error_line(&format!("bad request: {e}")))?;
    if req.cmd != "status" {
        return Err(error_line(&format!("unknown command {:?}", req.cmd)));
    }
    Ok(req)
}

/// `{"error":"..."}`.
pub fn error_line(msg: &str) -> String {
    serde_json::json!({ "error": msg }).to_string()
}
