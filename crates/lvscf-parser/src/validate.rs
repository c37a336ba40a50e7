//! Semantic checks beyond Piranha's grammar: what each line gets right but
//! the file as a whole gets wrong. The same address given to both routers,
//! two blocks or two servers with one name, two active virtual servers
//! with the same address, port and protocol or the same fwmark (loaded,
//! the later one not programmed, as under Piranha), a
//! persistence mask of the wrong address family, an `expect` that is not a
//! valid regular expression, a deadtime not above the keepalive, and
//! settings that have no effect without another one.

use crate::diag::{Code, Diagnostic, Severity};
use crate::model::*;
pub(crate) use crate::report::Reporter;
use crate::structure::Structure;
use crate::syntax::Lexed;
use std::collections::HashMap as StdHashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: the keys here are short and not attacker-chosen in a way that
/// matters (a file's own names), and SipHash showed up in profiles.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type HashMap<K, V> = StdHashMap<K, V, BuildHasherDefault<Fnv>>;
use std::net::IpAddr;

/// Compiled size limit for `expect` regular expressions.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn same_family(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

/// Runs every semantic check, appending to `diags`.
pub fn validate(
    text: &[u8],
    lexed: &Lexed,
    config: &Config,
    structure: &Structure,
    diags: &mut Vec<Diagnostic>,
) {
    let mut r = Reporter::new(text, lexed, structure, diags);
    use Severity::Warning;
    let had_errors = r.src.diagnostics().iter().any(Diagnostic::is_error);

    if let (Some(p), Some(b)) = (&config.primary, &config.backup) {
        if p == b {
            // Piranha ran this file: the router with that address is the
            // primary and hears its own heartbeats as its partner's; the
            // other cannot bind the backup address and does not start.
            r.at(
                Warning,
                Code::PrimaryIsBackup,
                None,
                "backup",
                format!("backup is the same address as primary ({p}): the router with this address runs as primary with itself as its partner, and the other router cannot start, as under Piranha"),
                Some("the two routers need different addresses".into()),
            );
        }
    }
    if config.heartbeat_auth.is_some() && config.heartbeat_key.is_none() {
        r.at(
            Warning,
            Code::AuthWithoutKey,
            None,
            "heartbeat_auth",
            "heartbeat_auth has no effect without heartbeat_key: heartbeats stay unsigned".into(),
            Some("set `heartbeat_key = /path/to/key` on both routers, or remove the line".into()),
        );
    }
    if config.deadtime <= config.keepalive {
        r.at(
            Warning,
            Code::DeadtimeNotAboveKeepalive,
            None,
            "deadtime",
            format!(
                "deadtime ({} s) is not above keepalive ({} s): the routers will declare each other dead between heartbeats",
                format_seconds(config.deadtime),
                format_seconds(config.keepalive)
            ),
            Some("make deadtime at least 2-3 times keepalive".into()),
        );
    }
    let backup_undefined = match &config.backup {
        None => true,
        Some(Host::Ip(ip)) => ip.is_unspecified(),
        Some(Host::Name(_)) => false,
    };
    if config.backup_active && backup_undefined {
        r.at(
            Warning,
            Code::UndefinedBackup,
            None,
            "backup_active",
            "backup_active = 1 but no backup address is defined; pulse will treat backup_active as 0".into(),
            Some("set `backup` to the backup router's address".into()),
        );
    }
    if config.private_channel().is_some() && config.backup_private.is_none() {
        r.at(
            Warning,
            Code::MissingBackupPrivate,
            None,
            "primary_private",
            "primary_private is set but backup_private is not: the private heartbeat channel has no partner address".into(),
            Some("set `backup_private` too, or remove `primary_private`".into()),
        );
    }
    match config.service {
        ServiceKind::Lvs => {
            if !had_errors && !config.virtuals.iter().any(|v| v.active) {
                r.at(
                    Warning,
                    Code::NoActiveService,
                    None,
                    "service",
                    "no active virtual server: pulse will refuse to start with this file".into(),
                    Some("set `active = 1` in at least one virtual block".into()),
                );
            }
        }
        ServiceKind::Fos => {
            if !had_errors && !config.failovers.iter().any(|f| f.active) {
                r.at(
                    Warning,
                    Code::NoActiveService,
                    None,
                    "service",
                    "service = fos but no active failover block: pulse will refuse to start with this file".into(),
                    Some("set `active = 1` in at least one failover block".into()),
                );
            }
        }
    }

    crate::anycast::check(&mut r, config);
    check_blocks(&mut r, config, false, &config.virtuals);
    check_blocks(&mut r, config, true, &config.failovers);
}

fn check_blocks(r: &mut Reporter<'_>, config: &Config, failover: bool, list: &[VirtualServer]) {
    use Severity::{Error, Warning};
    let kind = if failover { "failover" } else { "virtual" };
    let blocks: Vec<(&str, Option<usize>)> = list
        .iter()
        .enumerate()
        .map(|(i, v)| (v.name.as_str(), r.structure.virtual_block(failover, i)))
        .collect();
    duplicate_names(r, &blocks, Code::DuplicateVirtualName, |name, line| {
        format!("another {kind} block is also named `{name}` (line {line})")
    });
    let mut services: HashMap<(IpAddr, u16, Protocol), (&str, usize)> = HashMap::default();
    let mut marks: HashMap<u32, (&str, usize)> = HashMap::default();
    for (index, v) in list.iter().enumerate() {
        let Some(block) = r.structure.virtual_block(failover, index) else {
            continue;
        };
        if v.send_program.is_some() && v.send.is_some() {
            r.at(
                Warning,
                Code::SendIgnored,
                Some(block),
                "send",
                "`send` is ignored because `send_program` is set".into(),
                None,
            );
        }
        if v.use_regex {
            if let Some(expect) = &v.expect {
                if let Err(e) = regex::RegexBuilder::new(expect)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                {
                    let first = e.to_string();
                    let first = first.lines().last().unwrap_or("invalid").trim().to_string();
                    r.at(
                        Error,
                        Code::InvalidRegex,
                        Some(block),
                        "expect",
                        format!(
                            "expect is not a valid regular expression (use_regex = 1): {first}"
                        ),
                        None,
                    );
                }
            }
        }
        if failover && v.active && config.service == ServiceKind::Fos {
            for key in ["start_cmd", "stop_cmd"] {
                let missing = if key == "start_cmd" {
                    v.start_cmd.is_none()
                } else {
                    v.stop_cmd.is_none()
                };
                // Piranha's parser loaded such a block; its fos then ran an
                // uninitialised command line for a missing stop_cmd. Ours
                // runs nothing for the missing command, so the file loads
                // with a warning (only what made Piranha itself crash or
                // spin on every run, like `timeout = 0`, stays refused).
                if missing {
                    let what = if key == "start_cmd" {
                        "fos will start nothing for it on the active router"
                    } else {
                        "fos will stop nothing for it when the router relinquishes (Piranha's fos ran garbage here)"
                    };
                    r.at(
                        Warning,
                        Code::MissingFailoverCommand,
                        Some(block),
                        key,
                        format!("active failover `{}` has no `{key}`: {what}", v.name),
                        Some(format!(
                            "add `{key} = \"/path/to/program args\"` to the block"
                        )),
                    );
                }
            }
        }
        for (severity, code, key, message, hint) in crate::native::validate(v, failover) {
            r.at(severity, code, Some(block), key, message, hint);
        }
        check_pmask_family(r, v, block);
        check_servers(r, v, block);
        if !v.active {
            continue;
        }
        let vip = match &v.address {
            None => {
                // Piranha loaded this (the address stayed 0.0.0.0): the
                // file runs, this virtual is not programmed.
                let why = if v.fwmark.is_some() {
                    "there is no VIP to bring up on takeover"
                } else {
                    "it has nothing to listen on; it loads but is not programmed"
                };
                r.at(
                    Warning,
                    Code::MissingAddress,
                    Some(block),
                    "address",
                    format!("active {kind} `{}` has no `address`: {why}", v.name),
                    Some(
                        "add `address = VIP DEVICE`, e.g. `address = 192.168.0.100 eth0:1`".into(),
                    ),
                );
                None
            }
            Some(a) => match a.host {
                Host::Ip(ip) if ip.is_unspecified() => {
                    r.at(
                        Warning,
                        Code::MissingAddress,
                        Some(block),
                        "address",
                        format!(
                            "active {kind} `{}` has the address {ip}; it loads but is not programmed",
                            v.name
                        ),
                        Some("set the virtual IP address".into()),
                    );
                    None
                }
                Host::Ip(ip) => Some(ip),
                Host::Name(_) => None,
            },
        };
        if failover {
            continue;
        }
        if v.unusable_port.is_none() {
            let (first, what) = match v.fwmark {
                Some(mark) => (marks.get(&mark).copied(), format!("fwmark {mark}")),
                None => match vip {
                    Some(ip) => (
                        services.get(&(ip, v.port, v.protocol)).copied(),
                        format!("{ip} port {} {}", v.port, v.protocol),
                    ),
                    None => (None, String::new()),
                },
            };
            match first {
                Some((first, first_block)) => {
                    let line = r.structure.blocks[first_block].header + 1;
                    // Piranha's lvsd added the first; ipvsadm refused the
                    // later one, which was logged and the rest ran on.
                    r.at(
                        Warning,
                        Code::DuplicateService,
                        Some(block),
                        if v.fwmark.is_some() { "fwmark" } else { "address" },
                        format!(
                            "{what} is already the service of active virtual `{first}` (line {line}): `{}` loads but is not programmed, as under Piranha, where ipvsadm refused it",
                            v.name
                        ),
                        Some("give each active virtual server its own fwmark, or address, port and protocol; or set `active = 0`".into()),
                    );
                }
                None => match (v.fwmark, vip) {
                    (Some(mark), _) => {
                        marks.insert(mark, (&v.name, block));
                    }
                    (None, Some(ip)) => {
                        services.insert((ip, v.port, v.protocol), (&v.name, block));
                    }
                    (None, None) => {}
                },
            }
        }
        if let (Some(sorry), Some(ip)) = (v.sorry_server, vip) {
            if sorry == ip {
                r.at(
                    Warning,
                    Code::SorryServerIsVip,
                    Some(block),
                    "sorry_server",
                    "sorry_server is the virtual address itself; it is not used (Piranha's lvsd added it, a destination looping back to the service)".into(),
                    Some("point it at a separate server".into()),
                );
            } else if !same_family(sorry, ip) {
                r.at(
                    Error,
                    Code::AddressFamilyMismatch,
                    Some(block),
                    "sorry_server",
                    format!("sorry_server {sorry} is not in the VIP's address family ({ip})"),
                    None,
                );
            }
        }
        if v.protocol == Protocol::Udp
            && v.port == config.heartbeat_port
            && v.unusable_port.is_none()
        {
            r.at(
                Warning,
                Code::HeartbeatPortCollision,
                Some(block),
                "port",
                format!(
                    "UDP port {} is also the heartbeat port",
                    config.heartbeat_port
                ),
                Some("change `heartbeat_port` on both routers, or the service's port".into()),
            );
        }
        check_active_servers(r, v, block, vip);
    }
}

/// A dotted pmask is IPv4 only; a prefix must fit the VIP's family.
fn check_pmask_family(r: &mut Reporter<'_>, v: &VirtualServer, block: usize) {
    let (
        Some(pmask),
        Some(AddressOnDevice {
            host: Host::Ip(vip),
            ..
        }),
    ) = (v.pmask, &v.address)
    else {
        return;
    };
    let problem = match (pmask, vip) {
        (Pmask::Mask(m), IpAddr::V6(_)) => Some((
            format!("pmask {m} is an IPv4 netmask, but the VIP {vip} is IPv6"),
            "write a prefix length for an IPv6 virtual server, e.g. `pmask = 64`",
        )),
        (Pmask::Prefix(p), IpAddr::V4(_)) if p > 32 => Some((
            format!("pmask prefix length {p} is longer than an IPv4 address (VIP {vip})"),
            "use 0 to 32, or a netmask such as 255.255.255.0",
        )),
        _ => None,
    };
    if let Some((message, hint)) = problem {
        r.at(
            Severity::Error,
            Code::AddressFamilyMismatch,
            Some(block),
            "pmask",
            message,
            Some(hint.into()),
        );
    }
}

fn check_servers(r: &mut Reporter<'_>, v: &VirtualServer, vblock: usize) {
    let blocks: Vec<(&str, Option<usize>)> = v
        .servers
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), r.structure.server_block(vblock, i)))
        .collect();
    duplicate_names(r, &blocks, Code::DuplicateServerName, |name, line| {
        format!(
            "another server of `{}` is also named `{name}` (line {line})",
            v.name
        )
    });
}

/// Warns at every block whose name an earlier block of the same list has.
fn duplicate_names(
    r: &mut Reporter<'_>,
    blocks: &[(&str, Option<usize>)],
    code: Code,
    message: impl Fn(&str, usize) -> String,
) {
    // Most lists are short (a virtual's servers): a scan beats a hash map,
    // and comparing hashes first avoids a string compare per pair.
    let mut first_seen: HashMap<&str, Option<usize>> = HashMap::default();
    let small = blocks.len() <= 16;
    let mut hashes = [0u64; 16];
    if small {
        for (h, (name, _)) in hashes.iter_mut().zip(blocks) {
            let mut f = Fnv::default();
            f.write(name.as_bytes());
            *h = f.finish();
        }
    }
    for (index, &(name, block)) in blocks.iter().enumerate() {
        let earlier = if small {
            (0..index)
                .find(|&i| hashes[i] == hashes[index] && blocks[i].0 == name)
                .map(|i| blocks[i].1)
        } else {
            first_seen.get(name).copied()
        };
        match earlier {
            None => {
                if !small {
                    first_seen.insert(name, block);
                }
            }
            Some(first) => {
                let line = first.map(|b| r.structure.blocks[b].header + 1).unwrap_or(0);
                r.at(
                    Severity::Warning,
                    code,
                    block,
                    "",
                    message(name, line),
                    Some("give each block its own name; tools address blocks by name".into()),
                );
            }
        }
    }
}

fn check_active_servers(
    r: &mut Reporter<'_>,
    v: &VirtualServer,
    vblock: usize,
    vip: Option<IpAddr>,
) {
    use Severity::{Error, Warning};
    let mut seen: HashMap<(IpAddr, u16), &str> = HashMap::default();
    for (i, s) in v.servers.iter().enumerate() {
        if !s.active {
            continue;
        }
        let Some(block) = r.structure.server_block(vblock, i) else {
            continue;
        };
        let ip = match &s.address {
            None => {
                r.at(
                    Warning,
                    Code::MissingAddress,
                    Some(block),
                    "address",
                    format!(
                        "active server `{}` of `{}` has no `address`; it loads but is not programmed",
                        s.name, v.name
                    ),
                    None,
                );
                continue;
            }
            Some(Host::Name(_)) => continue,
            Some(Host::Ip(ip)) if ip.is_unspecified() => {
                r.at(
                    Warning,
                    Code::MissingAddress,
                    Some(block),
                    "address",
                    format!(
                        "active server `{}` has the address {ip}; it loads but is not programmed",
                        s.name
                    ),
                    None,
                );
                continue;
            }
            Some(Host::Ip(ip)) => *ip,
        };
        if let Some(vip) = vip {
            if !same_family(ip, vip) {
                r.at(
                    Error,
                    Code::AddressFamilyMismatch,
                    Some(block),
                    "address",
                    format!("server {ip} is not in the address family of its VIP {vip}"),
                    None,
                );
            } else if ip == vip {
                r.at(
                    Warning,
                    Code::VipIsRealServer,
                    Some(block),
                    "address",
                    format!("server `{}` has the virtual address {vip} itself", s.name),
                    None,
                );
            }
        }
        let port = v.server_port(s);
        let earlier = if v.servers.len() <= 16 {
            // A few servers: scan the earlier ones instead of hashing.
            v.servers[..i]
                .iter()
                .find(|o| o.active && o.ip() == Some(ip) && v.server_port(o) == port)
                .map(|o| o.name.as_str())
        } else {
            seen.insert((ip, port), &s.name)
        };
        if let Some(first) = earlier {
            // Piranha's lvsd started one nanny for both; the entry is
            // programmed once.
            r.at(
                Warning,
                Code::DuplicateRealServer,
                Some(block),
                "address",
                format!(
                    "{ip} port {port} is already active server `{first}` of `{}`: `{}` loads but is not programmed a second time, as under Piranha",
                    v.name, s.name
                ),
                Some("IPVS holds each real server once per service; remove one of the two".into()),
            );
        }
    }
}
