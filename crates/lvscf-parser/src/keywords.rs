//! The keyword table: every keyword of lvs.cf, where it may appear (the
//! global section, a `virtual` or `failover` block, a `server` block), what
//! its value looks like, and where Piranha's GUI places it when it writes a
//! file (its order of keywords within each section).

/// Where a keyword may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Top level.
    Global,
    /// Inside `virtual` or `failover`.
    Virtual,
    /// Inside `server`.
    Server,
}

/// The shape of a keyword's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Decimal integer.
    Int,
    /// 0 or 1.
    Bool,
    /// IP address or host name.
    Host,
    /// IP address or host name, then a device (`10.0.0.1 eth0:1`).
    HostDevice,
    /// IP address only.
    IpOnly,
    /// Contiguous IPv4 netmask.
    Netmask,
    /// Persistence netmask: garbage is ignored with a warning, as Piranha did.
    Pmask,
    /// Port number or service name.
    Port,
    /// Port number only.
    PortNumber,
    /// Seconds, with up to three decimals (extension).
    Seconds,
    /// One word; quoted if it has blanks.
    Word,
    /// Free text; the GUI always writes it in double quotes.
    Text,
    /// A command line whose first word is an absolute path.
    Command,
    /// An absolute path.
    Path,
    /// One of a fixed set of lowercase words.
    Enum(&'static [&'static str]),
    /// `[ a b c ]`.
    List,
    /// One to this many words (`check_query = name type`).
    Words(usize),
}

/// One keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyword {
    /// As written in lvs.cf.
    pub name: &'static str,
    /// Where it appears.
    pub level: Level,
    /// Its value.
    pub kind: ValueKind,
    /// Which keyword, as a type: the analyser matches on it instead of
    /// comparing strings once per line.
    pub key: Key,
}

/// Every keyword name of lvs.cf (one variant for a name used at several
/// levels, such as `address`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each is the keyword of the same name
pub enum Key {
    SerialNo,
    Primary,
    PrimaryPrivate,
    PrimaryShared,
    Service,
    RshCommand,
    BackupActive,
    Backup,
    BackupPrivate,
    BackupShared,
    Heartbeat,
    HeartbeatPort,
    Keepalive,
    Deadtime,
    Network,
    NatRouter,
    NatNmask,
    ReservationConflictAction,
    DebugLevel,
    MonitorLinks,
    Syncdaemon,
    SyncdIface,
    SyncdId,
    TcpTimeout,
    TcpfinTimeout,
    UdpTimeout,
    HeartbeatKey,
    HeartbeatAuth,
    ActiveCmd,
    InactiveCmd,
    HardShutdown,
    Ipvsadm,
    Sync,
    RouterMode,
    AnycastInterface,
    Active,
    Address,
    SorryServer,
    VipNmask,
    Fwmark,
    Port,
    Persistent,
    Pmask,
    Send,
    Expect,
    UseRegex,
    SendProgram,
    LoadMonitor,
    Scheduler,
    Protocol,
    Timeout,
    Reentry,
    QuiesceServer,
    ClientMonitor,
    StartCmd,
    StopCmd,
    Master,
    Dirs,
    Check,
    CheckUrl,
    CheckStatus,
    CheckHost,
    CheckCa,
    CheckCertDays,
    CheckQuery,
    Quorum,
    Hysteresis,
    Weight,
}

macro_rules! table {
    ($($level:ident $key:ident $name:literal $kind:expr;)+) => {
        /// Every keyword, in the order Piranha's GUI writes them within a
        /// level; keywords the GUI never wrote come after the GUI's.
        pub const KEYWORDS: &[Keyword] = &[
            $(Keyword { name: $name, level: Level::$level, kind: $kind, key: Key::$key },)+
        ];
    };
}

use ValueKind::*;

/// Schedulers accepted by `scheduler`.
pub const SCHEDULERS: &[&str] = &[
    "lc", "rr", "wlc", "wrr", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

table! {
    Global SerialNo "serial_no" Int;
    Global Primary "primary" Host;
    Global PrimaryPrivate "primary_private" Host;
    Global PrimaryShared "primary_shared" Word;
    Global Service "service" Enum(&["lvs", "fos"]);
    Global RshCommand "rsh_command" Word;
    Global BackupActive "backup_active" Bool;
    Global Backup "backup" Host;
    Global BackupPrivate "backup_private" Host;
    Global BackupShared "backup_shared" Word;
    Global Heartbeat "heartbeat" Bool;
    Global HeartbeatPort "heartbeat_port" Port;
    Global Keepalive "keepalive" Seconds;
    Global Deadtime "deadtime" Seconds;
    Global Network "network" Enum(&["nat", "direct", "tunnel"]);
    Global NatRouter "nat_router" HostDevice;
    Global NatNmask "nat_nmask" Netmask;
    Global ReservationConflictAction "reservation_conflict_action" Enum(&["nothing", "preempt"]);
    Global DebugLevel "debug_level" Word;
    Global MonitorLinks "monitor_links" Int;
    Global Syncdaemon "syncdaemon" Bool;
    Global SyncdIface "syncd_iface" Word;
    Global SyncdId "syncd_id" Int;
    Global TcpTimeout "tcp_timeout" Int;
    Global TcpfinTimeout "tcpfin_timeout" Int;
    Global UdpTimeout "udp_timeout" Int;
    Global HeartbeatKey "heartbeat_key" Path;
    Global HeartbeatAuth "heartbeat_auth" Enum(&["receive-only", "permissive", "enforce"]);
    Global ActiveCmd "active_cmd" Command;
    Global InactiveCmd "inactive_cmd" Command;
    Global HardShutdown "hard_shutdown" Bool;
    Global Ipvsadm "ipvsadm" Word;
    Global Sync "sync" Bool;
    Global RouterMode "router_mode" Enum(&["pair", "anycast"]);
    Global AnycastInterface "anycast_interface" Word;
    Virtual Active "active" Bool;
    Virtual Address "address" HostDevice;
    Virtual SorryServer "sorry_server" IpOnly;
    Virtual VipNmask "vip_nmask" Netmask;
    Virtual Fwmark "fwmark" Int;
    Virtual Port "port" Port;
    Virtual Persistent "persistent" Int;
    Virtual Pmask "pmask" Pmask;
    Virtual Send "send" Text;
    Virtual Expect "expect" Text;
    Virtual UseRegex "use_regex" Bool;
    Virtual SendProgram "send_program" Command;
    Virtual LoadMonitor "load_monitor" Enum(&["none", "rup", "ruptime", "uptime"]);
    Virtual Scheduler "scheduler" Enum(SCHEDULERS);
    Virtual Protocol "protocol" Enum(&["tcp", "udp", "sctp"]);
    Virtual Timeout "timeout" Int;
    Virtual Reentry "reentry" Int;
    Virtual QuiesceServer "quiesce_server" Bool;
    Virtual ClientMonitor "client_monitor" Path;
    Virtual StartCmd "start_cmd" Command;
    Virtual StopCmd "stop_cmd" Command;
    Virtual Master "master" Host;
    Virtual Dirs "dirs" List;
    Virtual Check "check" Enum(crate::health::CheckType::KEYWORDS);
    Virtual CheckUrl "check_url" Word;
    Virtual CheckStatus "check_status" Word;
    Virtual CheckHost "check_host" Word;
    Virtual CheckCa "check_ca" Path;
    Virtual CheckCertDays "check_cert_days" Int;
    Virtual CheckQuery "check_query" Words(2);
    Virtual Quorum "quorum" Int;
    Virtual Hysteresis "hysteresis" Int;
    Server Address "address" Host;
    Server Active "active" Bool;
    Server Port "port" PortNumber;
    Server Weight "weight" Int;
}

/// Order in which Piranha's GUI writes the keywords of a `failover` block.
pub const FAILOVER_ORDER: &[&str] = &[
    "address",
    "vip_nmask",
    "active",
    "port",
    "timeout",
    "send",
    "expect",
    "send_program",
    "start_cmd",
    "stop_cmd",
];

/// Longest keyword name, in bytes.
const MAX_NAME_LEN: usize = 32;

/// Keywords bucketed by level and name length: the lookup runs once per
/// line of lvs.cf, and a bucket holds at most a few names.
type Buckets = [[Vec<&'static Keyword>; MAX_NAME_LEN + 1]; 3];

fn buckets() -> &'static Buckets {
    static BUCKETS: std::sync::OnceLock<Buckets> = std::sync::OnceLock::new();
    BUCKETS.get_or_init(|| {
        let mut b: Buckets = std::array::from_fn(|_| std::array::from_fn(|_| Vec::new()));
        for k in KEYWORDS {
            b[level_slot(k.level)][k.name.len()].push(k);
        }
        b
    })
}

fn level_slot(level: Level) -> usize {
    match level {
        Level::Global => 0,
        Level::Virtual => 1,
        Level::Server => 2,
    }
}

/// Looks a keyword up at a level.
pub fn lookup(level: Level, name: &str) -> Option<&'static Keyword> {
    buckets()[level_slot(level)]
        .get(name.len())?
        .iter()
        .copied()
        .find(|k| k.name == name)
}

/// Position of a keyword in the GUI's writing order for a block kind
/// (`failover` blocks have their own order).
pub fn gui_rank(level: Level, failover: bool, name: &str) -> usize {
    if failover && level == Level::Virtual {
        if let Some(i) = FAILOVER_ORDER.iter().position(|k| *k == name) {
            return i;
        }
    }
    let base = if failover { FAILOVER_ORDER.len() } else { 0 };
    base + KEYWORDS
        .iter()
        .filter(|k| k.level == level)
        .position(|k| k.name == name)
        .unwrap_or(usize::MAX / 2)
}

/// The names known at a level, for "expected one of" messages.
pub fn names_at(level: Level) -> Vec<&'static str> {
    KEYWORDS
        .iter()
        .filter(|k| k.level == level)
        .map(|k| k.name)
        .collect()
}

/// Well-known service names accepted where Piranha called
/// `getservbyname(name, "tcp")`. Fixed here so that loading a file never
/// depends on the machine's /etc/services.
pub const SERVICES: &[(&str, u16)] = &[
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("gopher", 70),
    ("finger", 79),
    ("http", 80),
    ("www", 80),
    ("kerberos", 88),
    ("pop3", 110),
    ("sunrpc", 111),
    ("nntp", 119),
    ("ntp", 123),
    ("imap", 143),
    ("imap2", 143),
    ("snmp", 161),
    ("ldap", 389),
    ("https", 443),
    ("microsoft-ds", 445),
    ("syslog", 514),
    ("printer", 515),
    ("submission", 587),
    ("ldaps", 636),
    ("rsync", 873),
    ("imaps", 993),
    ("pop3s", 995),
    ("ms-sql-s", 1433),
    ("openvpn", 1194),
    ("radius", 1812),
    ("nfs", 2049),
    ("mysql", 3306),
    ("postgresql", 5432),
    ("http-alt", 8080),
    ("webcache", 8080),
];

/// The port of a well-known service name.
pub fn service_port(name: &str) -> Option<u16> {
    SERVICES.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reliability catalogue CFG-S07 (docs/RELIABILITY.md).
    #[test]
    fn every_keyword_is_found_at_its_level_only() {
        for k in KEYWORDS {
            assert!(k.name.len() <= MAX_NAME_LEN, "{} is too long", k.name);
            assert_eq!(lookup(k.level, k.name), Some(k));
            for other in [Level::Global, Level::Virtual, Level::Server] {
                if other != k.level {
                    let found = lookup(other, k.name);
                    assert!(found.is_none_or(|f| f.level == other && f.name == k.name));
                }
            }
        }
        assert_eq!(lookup(Level::Global, ""), None);
        assert_eq!(lookup(Level::Global, &"x".repeat(100)), None);
        assert_eq!(lookup(Level::Server, "weigh"), None);
    }
}
