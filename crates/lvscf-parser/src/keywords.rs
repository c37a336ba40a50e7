//! The keyword table: every keyword of lvs.cf, where it may appear, what its
//! value looks like, and where Piranha's GUI places it (spec 1.3-1.5, 1.10).

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
}

macro_rules! table {
    ($($level:ident $name:literal $kind:expr;)+) => {
        /// Every keyword, in the order Piranha's GUI writes them within a
        /// level; keywords the GUI never wrote come after the GUI's.
        pub const KEYWORDS: &[Keyword] = &[
            $(Keyword { name: $name, level: Level::$level, kind: $kind },)+
        ];
    };
}

use ValueKind::*;

/// Schedulers accepted by `scheduler`.
pub const SCHEDULERS: &[&str] = &[
    "lc", "rr", "wlc", "wrr", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

table! {
    Global "serial_no" Int;
    Global "primary" Host;
    Global "primary_private" Host;
    Global "primary_shared" Word;
    Global "service" Enum(&["lvs", "fos"]);
    Global "rsh_command" Word;
    Global "backup_active" Bool;
    Global "backup" Host;
    Global "backup_private" Host;
    Global "backup_shared" Word;
    Global "heartbeat" Bool;
    Global "heartbeat_port" Port;
    Global "keepalive" Seconds;
    Global "deadtime" Seconds;
    Global "network" Enum(&["nat", "direct", "tunnel"]);
    Global "nat_router" HostDevice;
    Global "nat_nmask" Netmask;
    Global "reservation_conflict_action" Enum(&["nothing", "preempt"]);
    Global "debug_level" Word;
    Global "monitor_links" Int;
    Global "syncdaemon" Bool;
    Global "syncd_iface" Word;
    Global "syncd_id" Int;
    Global "tcp_timeout" Int;
    Global "tcpfin_timeout" Int;
    Global "udp_timeout" Int;
    Global "heartbeat_key" Path;
    Global "heartbeat_auth" Enum(&["receive-only", "permissive", "enforce"]);
    Global "active_cmd" Command;
    Global "inactive_cmd" Command;
    Global "hard_shutdown" Bool;
    Global "ipvsadm" Word;
    Global "sync" Bool;
    Virtual "active" Bool;
    Virtual "address" HostDevice;
    Virtual "sorry_server" IpOnly;
    Virtual "vip_nmask" Netmask;
    Virtual "fwmark" Int;
    Virtual "port" Port;
    Virtual "persistent" Int;
    Virtual "pmask" Pmask;
    Virtual "send" Text;
    Virtual "expect" Text;
    Virtual "use_regex" Bool;
    Virtual "send_program" Command;
    Virtual "load_monitor" Enum(&["none", "rup", "ruptime", "uptime"]);
    Virtual "scheduler" Enum(SCHEDULERS);
    Virtual "protocol" Enum(&["tcp", "udp", "sctp"]);
    Virtual "timeout" Int;
    Virtual "reentry" Int;
    Virtual "quiesce_server" Bool;
    Virtual "client_monitor" Path;
    Virtual "start_cmd" Command;
    Virtual "stop_cmd" Command;
    Virtual "master" Host;
    Virtual "dirs" List;
    Server "address" Host;
    Server "active" Bool;
    Server "port" PortNumber;
    Server "weight" Int;
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

/// Looks a keyword up at a level.
pub fn lookup(level: Level, name: &str) -> Option<&'static Keyword> {
    // Hot path of parsing: compare lengths before bytes.
    KEYWORDS
        .iter()
        .find(|k| k.name.len() == name.len() && k.level == level && k.name == name)
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
