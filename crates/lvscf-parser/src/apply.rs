//! Storing a parsed value into the typed configuration, and what only
//! storing can tell: which field a keyword sets at which level, the
//! warnings about host names and numbers Piranha read modulo something or
//! gave a meaning when negative, the ports and weights the kernel cannot
//! take (the entry loads and is not programmed, as ipvsadm refused it
//! under Piranha), and the values that stay refused because Piranha
//! itself could not run with them (a router address of 0.0.0.0, a
//! timeout of 0).

use crate::diag::Code;
use crate::keywords::{Key, Keyword};
use crate::model::*;
use crate::structure::{BlockKind, Structure};
use crate::value::{check_device, Problem, Value};

/// Stores the value of `keyword` read in `block` (`None` = the global
/// section) of `structure` into `config`. Returns warnings, or the problem
/// that stops it.
// Runs once per keyword line; inlined into the analyser's loop, with the
// three functions it calls, as when it lived in the same module (the calls
// cost about 2% of a parse).
#[inline]
pub(crate) fn apply(
    config: &mut Config,
    structure: &Structure,
    keyword: &Keyword,
    block: Option<usize>,
    value: Value<'_>,
) -> Result<Vec<Problem>, Problem> {
    let mut warnings = Vec::new();
    if let Value::Host(Host::Name(name)) = &value {
        warnings.push(host_name_warning(name));
    }
    if let Value::HostDevice(AddressOnDevice {
        host: Host::Name(name),
        ..
    }) = &value
    {
        warnings.push(host_name_warning(name));
    }
    match block {
        None => apply_global(config, keyword.key, value, &mut warnings)?,
        Some(b) => {
            let info = &structure.blocks[b];
            match info.kind {
                BlockKind::Server => {
                    let parent = info.parent.unwrap_or(0);
                    let sindex = info.config_index;
                    let pinfo = &structure.blocks[parent];
                    let list = if pinfo.kind == BlockKind::Failover {
                        &mut config.failovers
                    } else {
                        &mut config.virtuals
                    };
                    let server = &mut list[pinfo.config_index].servers[sindex];
                    apply_server(server, keyword.key, value, &mut warnings)?;
                }
                kind => {
                    let list = if kind == BlockKind::Failover {
                        &mut config.failovers
                    } else {
                        &mut config.virtuals
                    };
                    let v = &mut list[info.config_index];
                    apply_virtual(v, keyword.key, value, &mut warnings)?;
                }
            }
        }
    }
    Ok(warnings)
}

#[inline]
fn apply_global(
    c: &mut Config,
    key: Key,
    value: Value<'_>,
    warnings: &mut Vec<Problem>,
) -> Result<(), Problem> {
    match (key, value) {
        (Key::SerialNo, Value::Int(n)) => c.serial_no = n,
        (Key::SerialNo, Value::Negative(n)) => {
            warnings.push(negative_as(n, "serial_no", "0", "it only orders saves"));
            c.serial_no = 0
        }
        (Key::Primary, Value::Host(h)) => {
            if is_unspecified(&h) {
                return Err(Problem::error(
                    Code::InvalidHost,
                    "invalid host name or ip address: 0.0.0.0 is not a router address",
                ));
            }
            c.primary = Some(h)
        }
        (Key::PrimaryPrivate, Value::Host(h)) => {
            c.primary_private = Some(not_unspecified(h, "primary_private")?)
        }
        (Key::BackupPrivate, Value::Host(h)) => {
            c.backup_private = Some(not_unspecified(h, "backup_private")?)
        }
        (Key::PrimaryShared, Value::Text(s)) => c.primary_shared = Some(s.to_string()),
        (Key::BackupShared, Value::Text(s)) => c.backup_shared = Some(s.to_string()),
        (Key::Service, Value::Text(s)) => {
            c.service = ServiceKind::from_keyword(s).unwrap_or(ServiceKind::Lvs)
        }
        (Key::RshCommand, Value::Text(s)) => c.rsh_command = s.to_string(),
        (Key::BackupActive, Value::Bool(b)) => c.backup_active = b,
        (Key::Backup, Value::Host(h)) => c.backup = Some(h),
        (Key::Heartbeat, Value::Bool(b)) => c.heartbeat = b,
        (Key::HeartbeatPort, Value::Port(p)) => c.heartbeat_port = p,
        (Key::HeartbeatPort, Value::BadPort(n)) => {
            // Piranha put the int into a 16-bit port field.
            let port = n as u16;
            if port == 0 {
                return Err(Problem::error(
                    Code::OutOfRange,
                    format!("heartbeat_port {n} is port 0 in 16 bits: Piranha's pulse could never send a heartbeat to it"),
                )
                .hint("write the port both routers use, e.g. `heartbeat_port = 539`"));
            }
            warnings.push(
                Problem::error(
                    Code::OutOfRange,
                    format!("heartbeat_port {n} is not a port: Piranha used its low 16 bits, port {port}"),
                )
                .hint(format!("write `heartbeat_port = {port}`"))
                .warning(),
            );
            c.heartbeat_port = port
        }
        (Key::HeartbeatKey, Value::Text(s)) => c.heartbeat_key = Some(s.to_string()),
        (Key::HeartbeatAuth, Value::Text(s)) => c.heartbeat_auth = HeartbeatAuth::from_keyword(s),
        (Key::RouterMode, Value::Text(s)) => {
            c.router_mode = RouterMode::from_keyword(s).unwrap_or(RouterMode::Pair)
        }
        (Key::AnycastInterface, Value::Text(s)) => {
            check_device(s)?;
            if s.contains(':') {
                return Err(Problem::error(
                    Code::InvalidDevice,
                    format!(
                        "invalid anycast_interface `{s}`: an interface of its own, not an alias"
                    ),
                )
                .hint("write a name such as `lvs-anycast`"));
            }
            c.anycast_interface = Some(s.to_string())
        }
        (Key::Keepalive, Value::Seconds(d)) => c.keepalive = d,
        (Key::Deadtime, Value::Seconds(d)) => c.deadtime = d,
        (Key::Network, Value::Text(s)) => {
            c.network = Network::from_keyword(s).unwrap_or(Network::Nat)
        }
        (Key::NatRouter, Value::HostDevice(a)) => c.nat_router = Some(a),
        (Key::NatNmask, Value::Netmask(m)) => {
            c.nat_nmask = m;
            c.nat_nmask_noncontiguous = None
        }
        // The prefix the kernel kept is settled once the address is known.
        (Key::NatNmask, Value::OddNetmask(m)) => {
            c.nat_nmask = None;
            c.nat_nmask_noncontiguous = Some(m)
        }
        (Key::ReservationConflictAction, Value::Text(s)) => {
            c.reservation_conflict_action = ReservationConflictAction::from_keyword(s)
        }
        (Key::DebugLevel, Value::Text(s)) => c.debug_level = s.to_string(),
        (Key::MonitorLinks, Value::Int(n)) => c.monitor_links = n != 0,
        (Key::MonitorLinks, Value::Negative(_)) => c.monitor_links = true,
        (Key::Syncdaemon, Value::Bool(b)) => c.syncdaemon = b,
        (Key::SyncdIface, Value::Text(s)) => {
            check_device(s)?;
            c.syncd_iface = s.to_string()
        }
        (Key::SyncdId, Value::Int(n)) => {
            if n > 255 {
                warnings.push(
                    Problem::error(
                        Code::SyncdIdWrapped,
                        format!(
                            "syncd_id {n} is above 255; it is used modulo 256, as {}",
                            n % 256
                        ),
                    )
                    .hint(format!("write `syncd_id = {}`", n % 256))
                    .warning(),
                );
            }
            c.syncd_id = (n % 256) as u8
        }
        (Key::SyncdId, Value::Negative(n)) => {
            // Piranha passed `syncd_id & 255`: the low byte of the int.
            let id = (n & 255) as u8;
            warnings.push(
                Problem::error(
                    Code::SyncdIdWrapped,
                    format!("syncd_id {n} is negative; its low byte is used, {id}, as Piranha did"),
                )
                .hint(format!("write `syncd_id = {id}`"))
                .warning(),
            );
            c.syncd_id = id
        }
        (Key::TcpTimeout, Value::Int(n)) => c.tcp_timeout = to_u32(n)?,
        (Key::TcpfinTimeout, Value::Int(n)) => c.tcpfin_timeout = to_u32(n)?,
        (Key::UdpTimeout, Value::Int(n)) => c.udp_timeout = to_u32(n)?,
        (Key::TcpTimeout | Key::TcpfinTimeout | Key::UdpTimeout, Value::Negative(n)) => {
            // ipvsadm refused a negative timeout; Piranha logged it and ran on.
            let name = match key {
                Key::TcpTimeout => "tcp_timeout",
                Key::TcpfinTimeout => "tcpfin_timeout",
                _ => "udp_timeout",
            };
            warnings.push(negative_as(
                n,
                name,
                "0",
                "the kernel's timeout is left unchanged, as ipvsadm refused it under Piranha",
            ));
            match key {
                Key::TcpTimeout => c.tcp_timeout = 0,
                Key::TcpfinTimeout => c.tcpfin_timeout = 0,
                _ => c.udp_timeout = 0,
            }
        }
        (Key::ActiveCmd, Value::Text(s)) => c.active_cmd = Some(CommandLine::new(s)),
        (Key::InactiveCmd, Value::Text(s)) => c.inactive_cmd = Some(CommandLine::new(s)),
        (Key::HardShutdown, Value::Bool(b)) => c.hard_shutdown = b,
        (Key::Ipvsadm, Value::Text(s)) => c.ipvsadm = s.to_string(),
        (Key::Sync, Value::Bool(b)) => c.sync = b,
        (_, value) => refuse_unmeant(value)?,
    }
    Ok(())
}

/// The negative numbers and bad ports of keys that give them no meaning
/// are refused; every other value was matched by its key.
fn refuse_unmeant(value: Value<'_>) -> Result<(), Problem> {
    match value {
        Value::Negative(n) => Err(Problem::error(
            Code::OutOfRange,
            format!("negative value `{n}`: only 0 and positive numbers are accepted"),
        )),
        Value::BadPort(n) => Err(Problem::error(
            Code::OutOfRange,
            format!("port {n} is out of range: ports are 1 to 65535"),
        )),
        _ => Ok(()),
    }
}

/// A warning for a negative number read as `as_value`.
fn negative_as(n: i64, name: &str, as_value: &str, why: &str) -> Problem {
    Problem::error(
        Code::OutOfRange,
        format!("{name} {n} is negative: it counts as {as_value}; {why}"),
    )
    .hint(format!("write `{name} = {as_value}`"))
    .warning()
}

#[inline]
fn apply_virtual(
    v: &mut VirtualServer,
    key: Key,
    value: Value<'_>,
    warnings: &mut Vec<Problem>,
) -> Result<(), Problem> {
    if crate::native::apply(v, key, &value)? {
        return Ok(());
    }
    match (key, value) {
        (Key::Active, Value::Bool(b)) => v.active = b,
        (Key::Address, Value::HostDevice(a)) => v.address = Some(a),
        (Key::SorryServer, Value::Ip(ip)) => v.sorry_server = Some(ip),
        (Key::VipNmask, Value::Netmask(m)) => {
            v.vip_nmask = m;
            v.vip_nmask_noncontiguous = None
        }
        // The prefix the kernel kept is settled once the address is known.
        (Key::VipNmask, Value::OddNetmask(m)) => {
            v.vip_nmask = None;
            v.vip_nmask_noncontiguous = Some(m)
        }
        (Key::Fwmark, Value::Int(n)) => {
            let n = to_u32(n)?;
            v.fwmark = (n != 0).then_some(n)
        }
        (Key::Port, Value::Port(p)) => {
            // Piranha gave a server without `port` the virtual's port as it
            // was when the server line was read. Keep that meaning.
            let earlier: Vec<String> = v
                .servers
                .iter()
                .filter(|s| s.port.is_none())
                .map(|s| s.name.clone())
                .collect();
            if !earlier.is_empty() && p != v.port {
                let old = v.port;
                for s in v.servers.iter_mut().filter(|s| s.port.is_none()) {
                    s.port = Some(old);
                }
                warnings.push(
                    Problem::error(
                        Code::PortAfterServers,
                        format!(
                            "`port` comes after server block(s) {}: they keep port {old}, as Piranha read them",
                            earlier.join(", ")
                        ),
                    )
                    .hint("move `port` above the server blocks, or give each server its own `port`")
                    .warning(),
                );
            }
            v.port = p;
            v.unusable_port = None
        }
        (Key::Port, Value::BadPort(n)) => {
            warnings.push(
                Problem::error(
                    Code::NotProgrammed,
                    format!(
                        "port {n} is not a port the kernel takes (1 to 65535): virtual `{}` loads but is not programmed, as ipvsadm refused it under Piranha",
                        v.name
                    ),
                )
                .hint("write the service's port")
                .warning(),
            );
            v.unusable_port = Some(n)
        }
        (Key::Persistent, Value::Int(n)) => v.persistent = to_u32(n)?,
        (Key::Persistent, Value::Negative(n)) => {
            warnings.push(negative_as(
                n,
                "persistent",
                "0",
                "persistence is off, as Piranha passed it only when above 0",
            ));
            v.persistent = 0
        }
        (Key::Pmask, Value::Pmask(m)) => v.pmask = m,
        (Key::Send, Value::Text(s)) => v.send = Some(s.to_string()),
        (Key::Expect, Value::Text(s)) => v.expect = Some(s.to_string()),
        (Key::UseRegex, Value::Bool(b)) => v.use_regex = b,
        (Key::SendProgram, Value::Text(s)) => v.send_program = Some(CommandLine::new(s)),
        (Key::LoadMonitor, Value::Text(s)) => v.load_monitor = LoadMonitor::from_value(s),
        (Key::Scheduler, Value::Text(s)) => {
            v.scheduler = Scheduler::from_keyword(s).unwrap_or(Scheduler::Wlc)
        }
        (Key::Protocol, Value::Text(s)) => {
            v.protocol = Protocol::from_keyword(s).unwrap_or(Protocol::Tcp)
        }
        (Key::Timeout, Value::Int(n)) => {
            if n == 0 {
                return Err(Problem::error(
                    Code::OutOfRange,
                    "timeout must be at least 1 second (0 made Piranha's nanny divide by zero)",
                ));
            }
            v.timeout = to_u32(n)?
        }
        (Key::Timeout, Value::Negative(n)) => {
            return Err(Problem::error(
                Code::OutOfRange,
                format!("timeout {n} is negative: it must be at least 1 second (Piranha's nanny could not check with it)"),
            ));
        }
        (Key::Reentry, Value::Int(n)) => v.reentry = to_u32(n)?,
        (Key::Reentry, Value::Negative(n)) => {
            // Piranha's nanny then readmitted a server at its first good
            // check; reentry 1 does the same (0 means the default, 180).
            warnings.push(negative_as(
                n,
                "reentry",
                "1",
                "a failed server returns at its first good check, as in Piranha",
            ));
            v.reentry = 1
        }
        (Key::QuiesceServer, Value::Bool(b)) => v.quiesce_server = b,
        (Key::ClientMonitor, Value::Text(s)) => v.client_monitor = s.to_string(),
        (Key::StartCmd, Value::Text(s)) => v.start_cmd = Some(s.to_string()),
        (Key::StopCmd, Value::Text(s)) => v.stop_cmd = Some(s.to_string()),
        (Key::Master, Value::Host(h)) => v.master = Some(h),
        (Key::Dirs, Value::List(l)) => v.dirs = Some(l),
        (_, value) => refuse_unmeant(value)?,
    }
    Ok(())
}

#[inline]
fn apply_server(
    s: &mut RealServer,
    key: Key,
    value: Value,
    warnings: &mut Vec<Problem>,
) -> Result<(), Problem> {
    let not_programmed = |what: String, hint: &str| {
        Problem::error(
            Code::NotProgrammed,
            format!(
                "{what}: server `{}` loads but is not programmed, as ipvsadm refused it under Piranha",
                s.name
            ),
        )
        .hint(hint.to_string())
        .warning()
    };
    match (key, value) {
        (Key::Address, Value::Host(h)) => s.address = Some(h),
        (Key::Active, Value::Bool(b)) => s.active = b,
        (Key::Port, Value::Port(p)) => {
            s.port = Some(p);
            s.unusable_port = None
        }
        (Key::Port, Value::BadPort(n)) => {
            warnings.push(not_programmed(
                format!("port {n} is not a port the kernel takes (1 to 65535)"),
                "write the server's port, or remove the line to use the virtual's",
            ));
            s.unusable_port = Some(n)
        }
        (Key::Weight, Value::Int(n)) if n <= 65535 => {
            s.weight = n as u32;
            s.unusable_weight = None
        }
        (Key::Weight, Value::Int(n)) => {
            warnings.push(not_programmed(
                format!("weight {n} is above 65535, the largest IPVS weight"),
                "write a weight from 0 to 65535",
            ));
            s.unusable_weight = Some(n as i64)
        }
        (Key::Weight, Value::Negative(n)) => {
            warnings.push(not_programmed(
                format!("weight {n} is negative"),
                "write a weight from 0 to 65535 (0 takes no new connections)",
            ));
            s.unusable_weight = Some(n)
        }
        (_, value) => refuse_unmeant(value)?,
    }
    Ok(())
}

fn host_name_warning(name: &str) -> Problem {
    Problem::error(
        Code::HostName,
        format!("`{name}` is a host name: it is resolved once when a daemon loads the file"),
    )
    .hint("write the address instead, so that loading never depends on DNS")
    .warning()
}

fn is_unspecified(h: &Host) -> bool {
    matches!(h, Host::Ip(ip) if ip.is_unspecified())
}

fn not_unspecified(h: Host, key: &str) -> Result<Host, Problem> {
    if is_unspecified(&h) {
        Err(Problem::error(
            Code::InvalidHost,
            format!("invalid host name or ip address: {key} cannot be 0.0.0.0"),
        ))
    } else {
        Ok(h)
    }
}

fn to_u32(n: u64) -> Result<u32, Problem> {
    u32::try_from(n).map_err(|_| {
        Problem::error(
            Code::OutOfRange,
            format!("{n} is out of range (at most {})", u32::MAX),
        )
    })
}
