//! lvs.cf plus nanny's reports -> the table the kernel should have.
//!
//! A pure function of the configuration (host names already resolved),
//! what nanny said ([`Monitor`]) and the current table (a server nanny has
//! not decided on yet keeps whatever entry it has, so a restarted lvsd or
//! nanny does not drop healthy servers while the first checks run).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipvs::{Destination, Family, Forward, Netmask, Service, ServiceKey, Timeouts};
use lvscf_parser::{Config, Network, Protocol, VirtualServer};

use crate::health::{Health, ServerId, ServerState};
use crate::table::{DestKey, Entry, Table};

/// Where the state of the real servers comes from.
#[derive(Debug, Clone, Copy)]
pub enum Monitor<'a> {
    /// No health checks (`--no-monitor`, `--dry-run`, no nanny): every
    /// active real server is up at its configured weight.
    AssumeUp,
    /// nanny's reports.
    Reports(&'a Health),
}

/// State of a real server as lvsd shows it (status socket, logs): the
/// status document's own type.
pub use lvs_status::lvsd::ServerState as ShownState;

/// A configured real server of a desired service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// `server NAME` (`sorry_server` for the sorry server).
    pub name: String,
    /// Address.
    pub addr: IpAddr,
    /// Real port.
    pub port: u16,
    /// Its state.
    pub state: ShownState,
    /// Whether the desired table has it.
    pub in_table: bool,
    /// Its https check's certificate warning.
    pub certificate: Option<lvs_status::lvsd::Certificate>,
    /// Being drained (weight 0 whatever its health; [`crate::drain`]).
    pub draining: bool,
}

/// What lvs.cf says about a desired service, for logs and the status socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualInfo {
    /// `virtual NAME`.
    pub name: String,
    /// `protocol`.
    pub protocol: Protocol,
    /// The VIP.
    pub vip: Option<IpAddr>,
    /// `port`.
    pub port: u16,
    /// `fwmark`, when non-zero.
    pub fwmark: Option<u32>,
    /// `persistent`.
    pub persistent: u32,
    /// Active real servers in file order, then the sorry server when used.
    pub servers: Vec<ServerInfo>,
    /// The sorry server, when it is in the table.
    pub sorry_active: Option<IpAddr>,
    /// The quorum (`quorum` set and decided).
    pub quorum: Option<lvs_status::lvsd::Quorum>,
}

/// The desired table and its description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// The table.
    pub table: Table,
    /// What each service is, by key.
    pub info: BTreeMap<ServiceKey, VirtualInfo>,
    /// Problems found (duplicate services or servers, unresolved names);
    /// the entries concerned are left out.
    pub warnings: Vec<String>,
}

/// The forwarding method of a `network` type.
pub fn forward_of(n: Network) -> Forward {
    match n {
        Network::Nat => Forward::Masq,
        Network::Direct => Forward::Route,
        Network::Tunnel => Forward::Tunnel,
    }
}

/// The kernel service key of a virtual server: fwmark (non-zero) or
/// protocol + VIP + port. `None` when the VIP is missing or unresolved.
pub fn service_key(v: &VirtualServer) -> Option<ServiceKey> {
    let vip = v.vip();
    if let Some(mark) = v.fwmark.filter(|m| *m != 0) {
        let family = vip.map(|a| Family::of(&a)).unwrap_or(Family::Inet);
        return Some(ServiceKey::Fwmark { mark, family });
    }
    let vip = vip?;
    Some(match v.protocol {
        Protocol::Tcp => ServiceKey::Tcp(vip, v.port),
        Protocol::Udp => ServiceKey::Udp(vip, v.port),
        Protocol::Sctp => ServiceKey::Sctp(vip, v.port),
    })
}

/// Every service key lvs.cf describes, active or not: the services lvsd
/// owns.
pub fn configured_keys(config: &Config) -> BTreeSet<ServiceKey> {
    config.virtuals.iter().filter_map(service_key).collect()
}

/// The service (without destinations) a virtual describes.
pub fn service_of(v: &VirtualServer, key: ServiceKey, warnings: &mut Vec<String>) -> Service {
    let mut s = Service::new(key, v.scheduler.as_str());
    if v.persistent > 0 {
        s = s.persistent(v.persistent);
        if let Some(mask) = v.pmask {
            // validate.rs refuses a dotted mask on an IPv6 VIP and a prefix
            // beyond 32 on an IPv4 one; the fallbacks only guard API users.
            match (key.family(), mask.ipv4()) {
                (Family::Inet, Some(m)) => s = s.netmask(Netmask::V4(m.addr())),
                (Family::Inet6, _) if matches!(mask, lvscf_parser::Pmask::Prefix(_)) => {
                    s = s.netmask(Netmask::V6(mask.prefix_len().min(128)))
                }
                _ => warnings.push(format!(
                    "virtual {}: pmask {mask} does not fit the service's address family; ignored",
                    v.name
                )),
            }
        }
    }
    s
}

fn weight_i32(w: u32) -> i32 {
    i32::try_from(w).unwrap_or(i32::MAX)
}

/// The active virtual servers that are programmed, with their service
/// keys, in lvs.cf order, and a log line for each one that is not: the
/// kernel cannot take it (the parser says why: a port of 0 or above
/// 65535), it has no usable address, or an earlier active virtual server
/// has its service. Piranha's lvsd added the first of those and ipvsadm
/// refused the later one, which was logged while the rest of the file ran;
/// lvsd does the same without asking the kernel.
pub fn programmed(config: &Config) -> (Vec<(&VirtualServer, ServiceKey)>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut owner: BTreeMap<ServiceKey, &str> = BTreeMap::new();
    for v in config.active_virtuals() {
        if let Some(why) = v.kernel_refusal() {
            warnings.push(format!("virtual {}: {why}; not programmed", v.name));
            continue;
        }
        let Some(key) = service_key(v) else {
            warnings.push(format!(
                "virtual {}: no usable address (missing or unresolved); not programmed",
                v.name
            ));
            continue;
        };
        if let Some(first) = owner.get(&key) {
            warnings.push(format!(
                "virtual {}: same service {key} as virtual {first}; not programmed",
                v.name
            ));
            continue;
        }
        owner.insert(key, &v.name);
        out.push((v, key));
    }
    (out, warnings)
}

/// The table the kernel should have.
pub fn desired(config: &Config, monitor: Monitor<'_>, current: &Table) -> Desired {
    let mut out = Desired::default();
    let forward = forward_of(config.network);
    let (programmed, warnings) = programmed(config);
    out.warnings = warnings;
    for (v, key) in programmed {
        let (entry, info) = desired_service(
            v,
            key,
            forward,
            monitor,
            current.services.get(&key),
            &mut out.warnings,
        );
        out.table.services.insert(key, entry);
        out.info.insert(key, info);
    }
    out
}

/// The entry and description of one active virtual server under `key`.
/// `have`: the kernel's entry for the key, whose weights stand for servers
/// nanny has not decided on yet.
pub fn desired_service(
    v: &VirtualServer,
    key: ServiceKey,
    forward: Forward,
    monitor: Monitor<'_>,
    have: Option<&Entry>,
    warnings: &mut Vec<String>,
) -> (Entry, VirtualInfo) {
    let mut entry = Entry::new(service_of(v, key, warnings));
    let mut info = VirtualInfo {
        name: v.name.clone(),
        protocol: v.protocol,
        vip: v.vip(),
        port: v.port,
        fwmark: v.fwmark.filter(|m| *m != 0),
        persistent: v.persistent,
        servers: Vec::new(),
        sorry_active: None,
        quorum: None,
    };
    let mut up = 0usize;
    let mut undecided = false;
    for s in v.active_servers() {
        if let Some(why) = s.kernel_refusal() {
            warnings.push(format!(
                "virtual {}: server {}: {why}; not programmed",
                v.name, s.name
            ));
            continue;
        }
        let Some(addr) = s.ip() else {
            warnings.push(format!(
                "virtual {}: server {} has no usable address; not programmed",
                v.name, s.name
            ));
            continue;
        };
        let port = v.server_port(s);
        let dk: DestKey = (addr, port);
        if entry.dests.contains_key(&dk) || info.servers.iter().any(|i| (i.addr, i.port) == dk) {
            warnings.push(format!(
                "virtual {}: server {} repeats {addr} port {port}; not programmed a second time",
                v.name, s.name
            ));
            continue;
        }
        let mut certificate = None;
        let (state, weight) = match monitor {
            Monitor::AssumeUp => (ShownState::Up, Some(weight_i32(s.weight))),
            Monitor::Reports(h) => {
                let id = ServerId {
                    virtual_name: v.name.clone(),
                    server: s.name.clone(),
                    addr,
                    port,
                };
                certificate = h.certificate(&id).map(|c| lvs_status::lvsd::Certificate {
                    not_after: c.not_after,
                    days_left: c.days_left,
                });
                match h.state(&id) {
                    Some(ServerState::Up(w)) => (ShownState::Up, Some(weight_i32(w))),
                    Some(ServerState::Down) if v.quiesce_server => (ShownState::Down, Some(0)),
                    Some(ServerState::Down) => (ShownState::Down, None),
                    None => {
                        undecided = true;
                        // Keep what the kernel has until nanny decides.
                        let kept = have.and_then(|e| e.dests.get(&dk)).map(|d| d.weight);
                        (ShownState::Unknown, kept)
                    }
                }
            }
        };
        if state == ShownState::Up || (state == ShownState::Unknown && weight.is_some()) {
            up += 1;
        }
        if let Some(w) = weight {
            entry
                .dests
                .insert(dk, Destination::new(addr, port, forward).weight(w));
        }
        info.servers.push(ServerInfo {
            name: s.name.clone(),
            addr,
            port,
            state,
            in_table: weight.is_some(),
            certificate,
            draining: false,
        });
    }
    let round_done = match monitor {
        Monitor::AssumeUp => true,
        Monitor::Reports(h) => h.initial_done(&v.name) || !undecided,
    };
    if let Some(q) = v.health.quorum {
        let hysteresis = v.health.hysteresis.unwrap_or(0);
        let (live, has) = match monitor {
            Monitor::AssumeUp => {
                let live: u64 = v.active_servers().map(|s| u64::from(s.weight)).sum();
                (live, Some(crate::quorum::decide(None, live, q, hysteresis)))
            }
            Monitor::Reports(h) => (h.live_weight(v), h.has_quorum(&v.name)),
        };
        if let Some(up) = has {
            info.quorum = Some(lvs_status::lvsd::Quorum {
                quorum: q,
                hysteresis,
                live_weight: live,
                up,
            });
        }
    }
    let quorum_lost = info.quorum.is_some_and(|q| !q.up);
    if let Some(sorry) = v.usable_sorry_server() {
        let dk = (sorry, v.port);
        if quorum_lost && !entry.dests.contains_key(&dk) {
            // Below quorum the sorry server serves alone (keepalived).
            entry.dests.clear();
            for s in info.servers.iter_mut() {
                s.in_table = false;
            }
        }
        if (up == 0 || quorum_lost) && round_done && !entry.dests.contains_key(&dk) {
            entry
                .dests
                .insert(dk, Destination::new(sorry, v.port, forward).weight(1));
            info.sorry_active = Some(sorry);
            info.servers.push(ServerInfo {
                name: "sorry_server".to_string(),
                addr: sorry,
                port: v.port,
                state: ShownState::Sorry,
                in_table: true,
                certificate: None,
                draining: false,
            });
        }
    }
    (entry, info)
}

/// The `SetTimeouts` lvs.cf asks for, if any: only the configured
/// (non-zero) timeouts that differ from the kernel's; the others are sent
/// as 0 (the kernel leaves them unchanged).
pub fn timeouts_change(config: &Config, current: Timeouts) -> Option<Timeouts> {
    let pick = |want: u32, have: u32| if want != 0 && want != have { want } else { 0 };
    let t = Timeouts {
        tcp: pick(config.tcp_timeout, current.tcp),
        tcpfin: pick(config.tcpfin_timeout, current.tcpfin),
        udp: pick(config.udp_timeout, current.udp),
    };
    if t == Timeouts::default() {
        None
    } else {
        Some(t)
    }
}
