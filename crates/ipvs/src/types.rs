//! The IPVS table as types: services, destinations, timeouts, sync daemons.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::consts::*;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// `AF_INET`
    Inet,
    /// `AF_INET6`
    Inet6,
}

impl Family {
    /// The `AF_*` value.
    pub fn raw(self) -> u16 {
        match self {
            Family::Inet => libc::AF_INET as u16,
            Family::Inet6 => libc::AF_INET6 as u16,
        }
    }
    /// From an `AF_*` value.
    pub fn from_raw(af: u16) -> Option<Family> {
        match af as i32 {
            libc::AF_INET => Some(Family::Inet),
            libc::AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    /// TCP virtual address and port.
    Tcp(IpAddr, u16),
    /// UDP virtual address and port.
    Udp(IpAddr, u16),
    /// SCTP virtual address and port.
    Sctp(IpAddr, u16),
    /// Firewall mark service.
    Fwmark {
        /// The mark (non-zero).
        mark: u32,
        /// Address family of the packets it matches.
        family: Family,
    },
}

impl ServiceKey {
    /// The address family of the service.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Tcp(a, _) | ServiceKey::Udp(a, _) | ServiceKey::Sctp(a, _) => Family::of(a),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
    /// The `IPPROTO_*` number (0 for a fwmark service).
    pub fn protocol(&self) -> u16 {
        match self {
            ServiceKey::Tcp(..) => libc::IPPROTO_TCP as u16,
            ServiceKey::Udp(..) => libc::IPPROTO_UDP as u16,
            ServiceKey::Sctp(..) => libc::IPPROTO_SCTP as u16,
            ServiceKey::Fwmark { .. } => 0,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 7` (IPv6: `FWM 7 IPv6`),
    /// like `ipvsadm -Ln`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (proto, addr, port) = match self {
            ServiceKey::Tcp(a, p) => ("TCP", a, p),
            ServiceKey::Udp(a, p) => ("UDP", a, p),
            ServiceKey::Sctp(a, p) => ("SCTP", a, p),
            ServiceKey::Fwmark { mark, family } => {
                return match family {
                    Family::Inet => write!(f, "FWM {mark}"),
                    Family::Inet6 => write!(f, "FWM {mark} IPv6"),
                };
            }
        };
        match addr {
            IpAddr::V4(a) => write!(f, "{proto} {a}:{port}"),
            IpAddr::V6(a) => write!(f, "{proto} [{a}]:{port}"),
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*`). The kernel's internal `HASHED` bit is
/// dropped when a dump is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// Persistent service (`-p`): clients stick to a real server for
    /// [`Service::timeout`] seconds.
    pub const PERSISTENT: ServiceFlags = ServiceFlags(IP_VS_SVC_F_PERSISTENT);
    /// One-packet scheduling (`-o`, UDP).
    pub const ONEPACKET: ServiceFlags = ServiceFlags(IP_VS_SVC_F_ONEPACKET);
    /// Scheduler flag 1 (`sh-fallback`, `mh-fallback`).
    pub const SCHED1: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED1);
    /// Scheduler flag 2 (`sh-port`, `mh-port`).
    pub const SCHED2: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED2);
    /// Scheduler flag 3.
    pub const SCHED3: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED3);
    /// No flag.
    pub const fn empty() -> ServiceFlags {
        ServiceFlags(0)
    }
    /// Whether all flags of `other` are set.
    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | rhs.0)
    }
}

/// Persistence granularity of a service: an IPv4 mask or an IPv6 prefix
/// length (what `ipvsadm -M` sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Netmask {
    /// IPv4 netmask, `255.255.255.255` by default.
    V4(Ipv4Addr),
    /// IPv6 prefix length, 128 by default.
    V6(u8),
}

impl Netmask {
    /// The kernel's default for a family (host granularity).
    pub fn host(family: Family) -> Netmask {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::BROADCAST),
            Family::Inet6 => Netmask::V6(128),
        }
    }
}

/// Traffic counters and rates (the 64-bit set when the kernel has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub conns: u64,
    pub in_pkts: u64,
    pub out_pkts: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    pub cps: u64,
    pub in_pps: u64,
    pub out_pps: u64,
    pub in_bps: u64,
    pub out_bps: u64,
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wlc`, ...): the kernel loads `ip_vs_<name>`.
    pub scheduler: String,
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with
    /// [`ServiceFlags::PERSISTENT`]).
    pub timeout: u32,
    pub netmask: Netmask,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
    /// Counters; filled by dumps, ignored when writing.
    pub stats: Stats,
}

impl Service {
    /// A service with a scheduler, no persistence, host netmask.
    pub fn new(key: ServiceKey, scheduler: impl Into<String>) -> Service {
        Service {
            key,
            scheduler: scheduler.into(),
            flags: ServiceFlags::empty(),
            timeout: 0,
            netmask: Netmask::host(key.family()),
            pe_name: None,
            stats: Stats::default(),
        }
    }
    /// Makes the service persistent for `timeout` seconds.
    pub fn persistent(mut self, timeout: u32) -> Service {
        self.flags = self.flags | ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self
    }
    /// Sets the persistence netmask.
    pub fn netmask(mut self, netmask: Netmask) -> Service {
        self.netmask = netmask;
        self
    }
    /// Whether the service is persistent.
    pub fn is_persistent(&self) -> bool {
        self.flags.contains(ServiceFlags::PERSISTENT)
    }
}

/// How packets reach a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forward {
    /// NAT (`-m`, lvs.cf `nat`).
    Masq,
    /// Direct routing / gatewaying (`-g`, lvs.cf `direct`).
    Route,
    /// IP-in-IP tunnelling (`-i`, lvs.cf `tunnel`).
    Tunnel,
    /// The kernel's "local node" method (the real server is this host).
    Local,
    /// The kernel's bypass method.
    Bypass,
}

impl Forward {
    /// The `IP_VS_CONN_F_*` value.
    pub fn raw(self) -> u32 {
        match self {
            Forward::Masq => IP_VS_CONN_F_MASQ,
            Forward::Local => IP_VS_CONN_F_LOCALNODE,
            Forward::Tunnel => IP_VS_CONN_F_TUNNEL,
            Forward::Route => IP_VS_CONN_F_DROUTE,
            Forward::Bypass => IP_VS_CONN_F_BYPASS,
        }
    }
    /// From `conn_flags` (only the forwarding bits are looked at).
    pub fn from_raw(flags: u32) -> Option<Forward> {
        match flags & IP_VS_CONN_F_FWD_MASK {
            IP_VS_CONN_F_MASQ => Some(Forward::Masq),
            IP_VS_CONN_F_LOCALNODE => Some(Forward::Local),
            IP_VS_CONN_F_TUNNEL => Some(Forward::Tunnel),
            IP_VS_CONN_F_DROUTE => Some(Forward::Route),
            IP_VS_CONN_F_BYPASS => Some(Forward::Bypass),
            _ => None,
        }
    }
}

/// A real server of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub addr: IpAddr,
    pub port: u16,
    pub forward: Forward,
    /// Weight; 0 quiesces the server (no new connections).
    pub weight: i32,
    /// Upper connection threshold (0 = none).
    pub upper_threshold: u32,
    /// Lower connection threshold (0 = none).
    pub lower_threshold: u32,
    /// Filled by dumps, ignored when writing.
    pub active_conns: u32,
    /// Filled by dumps, ignored when writing.
    pub inactive_conns: u32,
    /// Filled by dumps, ignored when writing.
    pub persist_conns: u32,
    /// Filled by dumps, ignored when writing.
    pub stats: Stats,
}

impl Destination {
    /// A destination with weight 1 and no thresholds.
    pub fn new(addr: IpAddr, port: u16, forward: Forward) -> Destination {
        Destination {
            addr,
            port,
            forward,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            active_conns: 0,
            inactive_conns: 0,
            persist_conns: 0,
            stats: Stats::default(),
        }
    }
    /// Sets the weight.
    pub fn weight(mut self, weight: i32) -> Destination {
        self.weight = weight;
        self
    }
    /// Sets the thresholds (upper, lower).
    pub fn thresholds(mut self, upper: u32, lower: u32) -> Destination {
        self.upper_threshold = upper;
        self.lower_threshold = lower;
        self
    }
}

/// Connection timeouts in seconds (`ipvsadm --set`). When setting, 0 means
/// "leave unchanged", as in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcpfin: u32,
    pub udp: u32,
}

/// Role of a connection synchronisation daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncState {
    Master,
    Backup,
}

impl SyncState {
    /// The `IP_VS_STATE_*` value.
    pub fn raw(self) -> u32 {
        match self {
            SyncState::Master => IP_VS_STATE_MASTER,
            SyncState::Backup => IP_VS_STATE_BACKUP,
        }
    }
    /// From an `IP_VS_STATE_*` value.
    pub fn from_raw(v: u32) -> Option<SyncState> {
        match v {
            IP_VS_STATE_MASTER => Some(SyncState::Master),
            IP_VS_STATE_BACKUP => Some(SyncState::Backup),
            _ => None,
        }
    }
}

impl fmt::Display for SyncState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncState::Master => "master",
            SyncState::Backup => "backup",
        })
    }
}

/// A connection synchronisation daemon (`ipvsadm --start-daemon`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    pub state: SyncState,
    /// Multicast interface (at most 15 bytes).
    pub mcast_ifn: String,
    pub syncid: u32,
    /// Maximum sync message length; `None` lets the kernel choose.
    pub sync_maxlen: Option<u16>,
    /// Multicast group; `None` is the kernel's 224.0.0.81.
    pub mcast_group: Option<IpAddr>,
    /// Multicast port; `None` is the kernel's 8848.
    pub mcast_port: Option<u16>,
    /// Multicast TTL; `None` is the kernel's 1.
    pub mcast_ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon with the kernel's defaults for group, port, TTL and length.
    pub fn new(state: SyncState, mcast_ifn: impl Into<String>, syncid: u32) -> SyncDaemon {
        SyncDaemon {
            state,
            mcast_ifn: mcast_ifn.into(),
            syncid,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }
    }
}

/// What `IPVS_CMD_GET_INFO` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// `IP_VS_VERSION_CODE`, e.g. `0x010201` for 1.2.1.
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_tab_size: u32,
}

impl Info {
    /// The version as `major.minor.patch`.
    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff
        )
    }
}

/// One change to the IPVS table, for [`crate::Ipvs::apply`] and
/// [`crate::Ipvs::execute`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    AddService(Service),
    /// Changes scheduler, flags, timeout, netmask of an existing service.
    EditService(Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, Destination),
    /// Changes forwarding method, weight and thresholds of a destination.
    EditDest(ServiceKey, Destination),
    DelDest {
        service: ServiceKey,
        addr: IpAddr,
        port: u16,
    },
    /// Removes every service (and their destinations).
    Flush,
    SetTimeouts(Timeouts),
    StartDaemon(SyncDaemon),
    StopDaemon(SyncState),
    /// Zeroes counters of one service, or of all.
    Zero(Option<ServiceKey>),
}

fn dest_str(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::AddService(s) => write!(f, "add service {} ({})", s.key, s.scheduler),
            Operation::EditService(s) => write!(f, "edit service {} ({})", s.key, s.scheduler),
            Operation::DelService(k) => write!(f, "delete service {k}"),
            Operation::AddDest(k, d) => {
                write!(f, "add real server {} to {k}", dest_str(&d.addr, d.port))
            }
            Operation::EditDest(k, d) => {
                write!(f, "edit real server {} of {k}", dest_str(&d.addr, d.port))
            }
            Operation::DelDest {
                service,
                addr,
                port,
            } => write!(
                f,
                "delete real server {} from {service}",
                dest_str(addr, *port)
            ),
            Operation::Flush => write!(f, "flush"),
            Operation::SetTimeouts(t) => {
                write!(f, "set timeouts {} {} {}", t.tcp, t.tcpfin, t.udp)
            }
            Operation::StartDaemon(d) => write!(
                f,
                "start sync daemon {} on {} (syncid {})",
                d.state, d.mcast_ifn, d.syncid
            ),
            Operation::StopDaemon(s) => write!(f, "stop sync daemon {s}"),
            Operation::Zero(None) => write!(f, "zero counters"),
            Operation::Zero(Some(k)) => write!(f, "zero counters of {k}"),
        }
    }
}
