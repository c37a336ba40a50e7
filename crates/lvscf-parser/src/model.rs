//! The typed view of lvs.cf, with Piranha's defaults applied.
//!
//! Every field holds the value the daemons act on. `Option` means "not
//! configured" where Piranha distinguishes that from a default (for example
//! `nat_router`); plain fields carry Piranha's default when the keyword is
//! absent (keepalive 2, deadtime 5, port 80, scheduler wlc, ...).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

mod address;
pub use address::{device_problem, AddressOnDevice, Host, Netmask, Pmask};

/// The longest interface name the kernel takes (IFNAMSIZ - 1).
pub const MAX_DEVICE_LEN: usize = 15;

/// Default location of the configuration file, as in Piranha.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/sysconfig/ha/lvs.cf";

/// Default `anycast_interface`.
pub const DEFAULT_ANYCAST_INTERFACE: &str = "lvs-anycast";

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// `serial_no`: bumped by the web tool on every save. Default 0.
    pub serial_no: u64,
    /// `primary`: public address of the primary router.
    pub primary: Option<Host>,
    /// `primary_private`: address of the primary on the private heartbeat link.
    pub primary_private: Option<Host>,
    /// `primary_shared`: FOS shared-SCSI device (parsed, never used).
    pub primary_shared: Option<String>,
    /// `service`: which set of blocks pulse runs. Default `lvs`.
    pub service: ServiceKind,
    /// `rsh_command`: used for `load_monitor = uptime`. Default `rsh`.
    pub rsh_command: String,
    /// `backup_active`: heartbeats are exchanged only when this is set.
    pub backup_active: bool,
    /// `backup`: public address of the backup router (0.0.0.0 accepted).
    pub backup: Option<Host>,
    /// `backup_private`: address of the backup on the private link.
    pub backup_private: Option<Host>,
    /// `backup_shared`: FOS shared-SCSI device (parsed, never used).
    pub backup_shared: Option<String>,
    /// `heartbeat`: parsed and ignored, as in Piranha (the GUI writes 1).
    pub heartbeat: bool,
    /// `heartbeat_port`: UDP port of the heartbeat. Default 539.
    pub heartbeat_port: u16,
    /// `heartbeat_key` (extension): path of the shared HMAC key file.
    pub heartbeat_key: Option<String>,
    /// `heartbeat_auth` (extension): how strictly heartbeats are
    /// authenticated while `heartbeat_key` is set; `None` means `enforce`.
    /// The weaker modes exist only to migrate a running pair from Piranha's
    /// unsigned heartbeats without a failover.
    pub heartbeat_auth: Option<HeartbeatAuth>,
    /// `keepalive`: heartbeat send interval. Default 2 s; fractions allowed
    /// (extension).
    #[serde(with = "duration_secs")]
    pub keepalive: Duration,
    /// `deadtime`: partner declared dead after this long without a heartbeat.
    /// Default 5 s; fractions allowed (extension).
    #[serde(with = "duration_secs")]
    pub deadtime: Duration,
    /// `network`: forwarding method of every virtual service. Default `nat`.
    pub network: Network,
    /// `nat_router`: floating gateway address and device for NAT.
    pub nat_router: Option<AddressOnDevice>,
    /// `nat_nmask`: netmask of the NAT floating address. For a mask whose
    /// one bits are not contiguous, the prefix the kernel kept under
    /// Piranha (see [`VirtualServer::vip_nmask`]).
    pub nat_nmask: Option<Netmask>,
    /// `nat_nmask` as written, when its one bits are not contiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_nmask_noncontiguous: Option<Ipv4Addr>,
    /// `reservation_conflict_action`: FOS shared-SCSI (parsed, never used).
    pub reservation_conflict_action: Option<ReservationConflictAction>,
    /// `debug_level`: parsed, unused. Default `NONE`.
    pub debug_level: String,
    /// `monitor_links`: watch the link state of the heartbeat interfaces.
    pub monitor_links: bool,
    /// `syncdaemon`: run the IPVS connection sync daemon.
    pub syncdaemon: bool,
    /// `syncd_iface`: multicast interface of the sync daemon. Default `eth0`.
    pub syncd_iface: String,
    /// `syncd_id`: sync daemon id (0..=255).
    pub syncd_id: u8,
    /// `tcp_timeout`: IPVS TCP timeout in seconds; 0 leaves the kernel's.
    pub tcp_timeout: u32,
    /// `tcpfin_timeout`: IPVS TCP FIN timeout in seconds; 0 = unchanged.
    pub tcpfin_timeout: u32,
    /// `udp_timeout`: IPVS UDP timeout in seconds; 0 = unchanged.
    pub udp_timeout: u32,
    /// `active_cmd`: run (without a shell) when this router becomes active.
    pub active_cmd: Option<CommandLine>,
    /// `inactive_cmd`: run (without a shell) when this router stops being active.
    pub inactive_cmd: Option<CommandLine>,
    /// `hard_shutdown`: a nanny death makes lvsd exit (default 1).
    pub hard_shutdown: bool,
    /// `ipvsadm`: path of ipvsadm. Default `/sbin/ipvsadm` (we use netlink).
    pub ipvsadm: String,
    /// `sync`: legacy, ignored.
    pub sync: bool,
    /// `router_mode` (extension): Piranha's primary/backup pair (the
    /// default) or every router active behind ECMP, announcing the VIPs it
    /// can serve through the routing daemon (docs/ANYCAST.md).
    #[serde(default, skip_serializing_if = "RouterMode::is_pair")]
    pub router_mode: RouterMode,
    /// `anycast_interface` (extension): the interface pulse creates and puts
    /// the announced VIPs on in anycast mode; `None` means
    /// [`DEFAULT_ANYCAST_INTERFACE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anycast_interface: Option<String>,
    /// `virtual` blocks, in file order.
    pub virtuals: Vec<VirtualServer>,
    /// `failover` blocks (service = fos), in file order.
    pub failovers: Vec<VirtualServer>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            serial_no: 0,
            primary: None,
            primary_private: None,
            primary_shared: None,
            service: ServiceKind::Lvs,
            rsh_command: "rsh".to_string(),
            backup_active: false,
            backup: None,
            backup_private: None,
            backup_shared: None,
            heartbeat: false,
            heartbeat_port: 539,
            heartbeat_key: None,
            heartbeat_auth: None,
            keepalive: Duration::from_secs(2),
            deadtime: Duration::from_secs(5),
            network: Network::Nat,
            nat_router: None,
            nat_nmask: None,
            nat_nmask_noncontiguous: None,
            reservation_conflict_action: None,
            debug_level: "NONE".to_string(),
            monitor_links: false,
            syncdaemon: false,
            syncd_iface: "eth0".to_string(),
            syncd_id: 0,
            tcp_timeout: 0,
            tcpfin_timeout: 0,
            udp_timeout: 0,
            active_cmd: None,
            inactive_cmd: None,
            hard_shutdown: true,
            ipvsadm: "/sbin/ipvsadm".to_string(),
            sync: false,
            router_mode: RouterMode::Pair,
            anycast_interface: None,
            virtuals: Vec::new(),
            failovers: Vec::new(),
        }
    }
}

impl Config {
    /// The virtual servers with `active = 1`, in file order.
    pub fn active_virtuals(&self) -> impl Iterator<Item = &VirtualServer> {
        self.virtuals.iter().filter(|v| v.active)
    }

    /// Looks a virtual block up by name (the first one, if names repeat).
    pub fn virtual_named(&self, name: &str) -> Option<&VirtualServer> {
        self.virtuals.iter().find(|v| v.name == name)
    }

    /// The interface of the announced VIPs in anycast mode.
    pub fn anycast_interface_name(&self) -> &str {
        self.anycast_interface
            .as_deref()
            .unwrap_or(DEFAULT_ANYCAST_INTERFACE)
    }

    /// The private heartbeat channel `(primary_private, backup_private)`, which
    /// exists only when `primary_private` is set and differs from `primary`.
    pub fn private_channel(&self) -> Option<(&Host, Option<&Host>)> {
        let private = self.primary_private.as_ref()?;
        if Some(private) == self.primary.as_ref() {
            return None;
        }
        Some((private, self.backup_private.as_ref()))
    }
}

/// A `virtual NAME { ... }` or `failover NAME { ... }` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServer {
    /// The block name.
    pub name: String,
    /// `active`: a virtual that is not active is ignored by every daemon.
    pub active: bool,
    /// `address = IP DEVICE`: the VIP and the device (alias label) it lives on.
    pub address: Option<AddressOnDevice>,
    /// `sorry_server`: used while none of the real servers is up.
    pub sorry_server: Option<IpAddr>,
    /// `vip_nmask`: netmask of the VIP. For a mask whose one bits are not
    /// contiguous (`255.0.255.0`) this is what the kernel ended up with
    /// under Piranha: its `ifconfig DEV VIP netmask MASK` added the address
    /// first, with the prefix of the address's old class (A /8, B /16,
    /// C /24), and the kernel then refused the mask.
    pub vip_nmask: Option<Netmask>,
    /// `vip_nmask` as written, when its one bits are not contiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_nmask_noncontiguous: Option<Ipv4Addr>,
    /// `fwmark`: firewall-mark service instead of address:port (0 = none).
    pub fwmark: Option<u32>,
    /// `protocol`: default `tcp`.
    pub protocol: Protocol,
    /// `port`: default 80.
    pub port: u16,
    /// `port` as read when the kernel cannot take it (0, negative, above
    /// 65535): the virtual server loads but is not programmed, as ipvsadm
    /// refused it under Piranha.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusable_port: Option<i64>,
    /// `scheduler`: default `wlc`.
    pub scheduler: Scheduler,
    /// `persistent`: persistence timeout in seconds (0 = off).
    pub persistent: u32,
    /// `pmask`: persistence netmask (`None` also for a host mask).
    pub pmask: Option<Pmask>,
    /// `client_monitor`: the health-check binary. Default `/usr/sbin/nanny`.
    pub client_monitor: String,
    /// `send_program`: external check, `%h`/`%p` replaced by address and port.
    pub send_program: Option<CommandLine>,
    /// `send`: text sent after connecting (Piranha escapes not yet applied).
    pub send: Option<String>,
    /// `expect`: expected answer (prefix, `*`, or regex with `use_regex`).
    pub expect: Option<String>,
    /// `use_regex`: `expect` is an extended regular expression.
    pub use_regex: bool,
    /// `timeout`: check interval and I/O timeout in seconds. Default 10.
    pub timeout: u32,
    /// `reentry`: seconds of good checks before a failed server returns. Default 180.
    pub reentry: u32,
    /// `load_monitor`: default none.
    pub load_monitor: LoadMonitor,
    /// `quiesce_server`: a failed server stays in the table with weight 0.
    pub quiesce_server: bool,
    /// `start_cmd`: failover blocks only.
    pub start_cmd: Option<String>,
    /// `stop_cmd`: failover blocks only.
    pub stop_cmd: Option<String>,
    /// `master`: legacy, unused.
    pub master: Option<Host>,
    /// `dirs = [ a b ]`: legacy, unused.
    pub dirs: Option<Vec<String>>,
    /// Our extension keywords: native checks, quorum and hysteresis
    /// (absent from the JSON when none is set).
    #[serde(flatten)]
    pub health: crate::health::Health,
    /// `server` blocks, in file order.
    pub servers: Vec<RealServer>,
}

impl VirtualServer {
    /// A block with every keyword at Piranha's default.
    pub fn new(name: impl Into<String>) -> Self {
        VirtualServer {
            name: name.into(),
            active: false,
            address: None,
            sorry_server: None,
            vip_nmask: None,
            vip_nmask_noncontiguous: None,
            fwmark: None,
            protocol: Protocol::Tcp,
            port: 80,
            unusable_port: None,
            scheduler: Scheduler::Wlc,
            persistent: 0,
            pmask: None,
            client_monitor: "/usr/sbin/nanny".to_string(),
            send_program: None,
            send: None,
            expect: None,
            use_regex: false,
            timeout: 10,
            reentry: 180,
            load_monitor: LoadMonitor::None,
            quiesce_server: false,
            start_cmd: None,
            stop_cmd: None,
            master: None,
            dirs: None,
            health: crate::health::Health::default(),
            servers: Vec::new(),
        }
    }

    /// The real servers with `active = 1`, in file order.
    pub fn active_servers(&self) -> impl Iterator<Item = &RealServer> {
        self.servers.iter().filter(|s| s.active)
    }

    /// The port a real server is checked and reached on.
    pub fn server_port(&self, server: &RealServer) -> u16 {
        server.port.unwrap_or(self.port)
    }

    /// The VIP, when it is an address (not an unresolved host name).
    pub fn vip(&self) -> Option<IpAddr> {
        self.address.as_ref().and_then(|a| a.host.ip())
    }

    /// Why the kernel cannot take this virtual server, when it cannot: it
    /// is then not programmed (and logged), as under Piranha, where
    /// ipvsadm refused it and the rest of the file ran.
    pub fn kernel_refusal(&self) -> Option<String> {
        if let Some(p) = self.unusable_port {
            return Some(format!(
                "port {p} is not a port the kernel takes (1 to 65535)"
            ));
        }
        if self.fwmark.is_some_and(|m| m != 0) {
            // A firewall-mark service needs no address.
            return None;
        }
        unaddressed(self.address.as_ref().map(|a| &a.host))
    }

    /// The sorry server, unless it is the VIP itself (Piranha added it
    /// anyway, a destination that loops back to the service; it is not
    /// used).
    pub fn usable_sorry_server(&self) -> Option<IpAddr> {
        self.sorry_server.filter(|s| Some(*s) != self.vip())
    }
}

/// Why an entry with this address cannot serve: none written (Piranha's
/// 0.0.0.0) or 0.0.0.0 itself, which no packet is addressed to.
fn unaddressed(host: Option<&Host>) -> Option<String> {
    match host {
        None => Some("it has no address".to_string()),
        Some(Host::Ip(ip)) if ip.is_unspecified() => Some(format!("its address is {ip}")),
        Some(_) => None,
    }
}

/// A `server NAME { ... }` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServer {
    /// The block name.
    pub name: String,
    /// `address`: the real server.
    pub address: Option<Host>,
    /// `active`: an inactive server is never checked nor added.
    pub active: bool,
    /// `weight`: default 1 (0..=65535).
    pub weight: u32,
    /// `port`: `None` means the virtual's `port`.
    pub port: Option<u16>,
    /// `port` as read when the kernel cannot take it: the server is not
    /// programmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusable_port: Option<i64>,
    /// `weight` as read when the kernel cannot take it (below 0 or above
    /// 65535): the server is not programmed, as ipvsadm refused it under
    /// Piranha.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusable_weight: Option<i64>,
}

impl RealServer {
    /// A block with every keyword at Piranha's default.
    pub fn new(name: impl Into<String>) -> Self {
        RealServer {
            name: name.into(),
            address: None,
            active: false,
            weight: 1,
            port: None,
            unusable_port: None,
            unusable_weight: None,
        }
    }

    /// Why the kernel cannot take this real server, when it cannot: it is
    /// then not programmed (and logged), as under Piranha.
    pub fn kernel_refusal(&self) -> Option<String> {
        if let Some(w) = self.unusable_weight {
            return Some(format!(
                "weight {w} is not a weight the kernel takes (0 to 65535)"
            ));
        }
        if let Some(p) = self.unusable_port {
            return Some(format!(
                "port {p} is not a port the kernel takes (1 to 65535)"
            ));
        }
        unaddressed(self.address.as_ref())
    }

    /// The server's address, when it is an address (not a host name).
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.as_ref().and_then(Host::ip)
    }
}

/// A command line from lvs.cf, split on blanks; run without a shell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommandLine {
    /// The text as configured (without the surrounding quotes).
    pub text: String,
}

impl CommandLine {
    /// The text as configured.
    pub fn new(text: impl Into<String>) -> Self {
        CommandLine { text: text.into() }
    }

    /// argv: the text split on runs of blanks (no quoting, as Piranha).
    pub fn argv(&self) -> Vec<&str> {
        self.text
            .split([' ', '\t'])
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The program: the first word.
    pub fn program(&self) -> Option<&str> {
        self.argv().first().copied()
    }
}

macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the order lvs.cf documents them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The lvs.cf spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the lvs.cf spelling (case-sensitive, as Piranha).
            pub fn from_keyword(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum!(
    /// `heartbeat_auth` (extension): the steps from Piranha's unsigned
    /// heartbeats to authenticated ones, taken router by router.
    HeartbeatAuth {
        /// Send unsigned heartbeats; accept unsigned and valid signed ones.
        #[serde(rename = "receive-only")]
        ReceiveOnly => "receive-only",
        /// Send signed heartbeats; accept unsigned and valid signed ones.
        Permissive => "permissive",
        /// Send signed heartbeats; accept only valid signed ones (the default).
        Enforce => "enforce",
    }
);

keyword_enum!(
    /// `router_mode` (extension).
    RouterMode {
        /// Piranha's primary and backup, with heartbeats (the default).
        Pair => "pair",
        /// Every router active, VIPs announced over BGP (docs/ANYCAST.md).
        Anycast => "anycast",
    }
);

impl RouterMode {
    /// The default, left out of the JSON so that pair-mode files dump as before.
    pub fn is_pair(&self) -> bool {
        *self == RouterMode::Pair
    }
}

// The macro derives no Default; a derive cannot mark a variant through it.
#[allow(clippy::derivable_impls)]
impl Default for RouterMode {
    fn default() -> Self {
        RouterMode::Pair
    }
}

keyword_enum!(
    /// `service`.
    ServiceKind {
        /// Virtual servers (lvsd).
        Lvs => "lvs",
        /// Failover services (fos, legacy).
        Fos => "fos",
    }
);

keyword_enum!(
    /// `network`: the forwarding method.
    Network {
        /// Masquerading (ipvsadm `-m`).
        Nat => "nat",
        /// Direct routing (ipvsadm `-g`).
        Direct => "direct",
        /// IP-in-IP tunnelling (ipvsadm `-i`).
        Tunnel => "tunnel",
    }
);

keyword_enum!(
    /// `protocol`.
    Protocol {
        /// TCP.
        Tcp => "tcp",
        /// UDP.
        Udp => "udp",
        /// SCTP (extension).
        Sctp => "sctp",
    }
);

keyword_enum!(
    /// `reservation_conflict_action` (FOS shared SCSI, parsed only).
    ReservationConflictAction {
        /// Do nothing.
        Nothing => "nothing",
        /// Pre-empt the reservation.
        Preempt => "preempt",
    }
);

keyword_enum!(
    /// `scheduler`: Piranha's eight, then the kernel's newer ones (extension).
    Scheduler {
        /// Least-connection.
        Lc => "lc",
        /// Round robin.
        Rr => "rr",
        /// Weighted least-connection.
        Wlc => "wlc",
        /// Weighted round robin.
        Wrr => "wrr",
        /// Locality-based least-connection.
        Lblc => "lblc",
        /// Locality-based least-connection with replication.
        Lblcr => "lblcr",
        /// Destination hashing.
        Dh => "dh",
        /// Source hashing.
        Sh => "sh",
        /// Shortest expected delay (extension).
        Sed => "sed",
        /// Never queue (extension).
        Nq => "nq",
        /// Weighted failover (extension).
        Fo => "fo",
        /// Weighted overflow (extension).
        Ovf => "ovf",
        /// Maglev hashing (extension).
        Mh => "mh",
        /// Weighted random twos choice (extension).
        Twos => "twos",
    }
);

impl Scheduler {
    /// Whether Piranha 0.8.6 knew this scheduler.
    pub fn is_piranha(self) -> bool {
        matches!(
            self,
            Scheduler::Lc
                | Scheduler::Rr
                | Scheduler::Wlc
                | Scheduler::Wrr
                | Scheduler::Lblc
                | Scheduler::Lblcr
                | Scheduler::Dh
                | Scheduler::Sh
        )
    }
}

/// `load_monitor`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadMonitor {
    /// No load monitoring (also when absent).
    None,
    /// `rup HOST`.
    Rup,
    /// `ruptime HOST`.
    Ruptime,
    /// `RSH_COMMAND HOST uptime`.
    Uptime,
    /// Any other value: Piranha's lvsd passed it to nanny (`-U`), which ran
    /// it as a command, `VALUE HOST` (`rsh HOST uptime` and `ssh HOST
    /// uptime` for `rsh` and `ssh`). It runs under the allowlist like every
    /// program lvs.cf names (`exec_policy::load_monitor_template`).
    Command(String),
}

impl LoadMonitor {
    /// Parses the lvs.cf value: one of the four keywords, else a command.
    pub fn from_keyword(text: &str) -> Option<LoadMonitor> {
        match text {
            "none" => Some(LoadMonitor::None),
            "rup" => Some(LoadMonitor::Rup),
            "ruptime" => Some(LoadMonitor::Ruptime),
            "uptime" => Some(LoadMonitor::Uptime),
            _ => None,
        }
    }

    /// The value as lvs.cf gives it (a keyword, or the command).
    pub fn from_value(text: &str) -> LoadMonitor {
        LoadMonitor::from_keyword(text).unwrap_or_else(|| LoadMonitor::Command(text.to_string()))
    }

    /// The lvs.cf spelling.
    pub fn as_str(&self) -> &str {
        match self {
            LoadMonitor::None => "none",
            LoadMonitor::Rup => "rup",
            LoadMonitor::Ruptime => "ruptime",
            LoadMonitor::Uptime => "uptime",
            LoadMonitor::Command(c) => c,
        }
    }
}

impl fmt::Display for LoadMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serde helper: durations as (fractional) seconds.
pub mod duration_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Serializes as seconds (a float when it has a fraction).
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        if d.subsec_nanos() == 0 {
            s.serialize_u64(d.as_secs())
        } else {
            s.serialize_f64(d.as_secs_f64())
        }
    }

    /// Deserializes from seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// Formats a duration as lvs.cf writes it: whole seconds, or a decimal
/// fraction with at most three digits (`0.25`).
pub fn format_seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        let text = format!("{}.{:03}", d.as_secs(), d.subsec_millis());
        text.trim_end_matches('0').to_string()
    }
}
