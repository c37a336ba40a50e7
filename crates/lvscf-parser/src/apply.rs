//! Storing a parsed value into the typed configuration, and what only
//! storing can tell: which field a keyword sets at which level, the
//! warnings about host names and numbers Piranha read modulo something,
//! and the values the field refuses (a router address of 0.0.0.0, a
//! weight above 65535, a timeout of 0).

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
                    apply_server(server, keyword.key, value)?;
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
        (Key::HeartbeatKey, Value::Text(s)) => c.heartbeat_key = Some(s.to_string()),
        (Key::HeartbeatAuth, Value::Text(s)) => c.heartbeat_auth = HeartbeatAuth::from_keyword(s),
        (Key::Keepalive, Value::Seconds(d)) => c.keepalive = d,
        (Key::Deadtime, Value::Seconds(d)) => c.deadtime = d,
        (Key::Network, Value::Text(s)) => {
            c.network = Network::from_keyword(s).unwrap_or(Network::Nat)
        }
        (Key::NatRouter, Value::HostDevice(a)) => c.nat_router = Some(a),
        (Key::NatNmask, Value::Netmask(m)) => c.nat_nmask = m,
        (Key::ReservationConflictAction, Value::Text(s)) => {
            c.reservation_conflict_action = ReservationConflictAction::from_keyword(s)
        }
        (Key::DebugLevel, Value::Text(s)) => c.debug_level = s.to_string(),
        (Key::MonitorLinks, Value::Int(n)) => c.monitor_links = n != 0,
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
        (Key::TcpTimeout, Value::Int(n)) => c.tcp_timeout = to_u32(n)?,
        (Key::TcpfinTimeout, Value::Int(n)) => c.tcpfin_timeout = to_u32(n)?,
        (Key::UdpTimeout, Value::Int(n)) => c.udp_timeout = to_u32(n)?,
        (Key::ActiveCmd, Value::Text(s)) => c.active_cmd = Some(CommandLine::new(s)),
        (Key::InactiveCmd, Value::Text(s)) => c.inactive_cmd = Some(CommandLine::new(s)),
        (Key::HardShutdown, Value::Bool(b)) => c.hard_shutdown = b,
        (Key::Ipvsadm, Value::Text(s)) => c.ipvsadm = s.to_string(),
        (Key::Sync, Value::Bool(b)) => c.sync = b,
        _ => {}
    }
    Ok(())
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
        (Key::VipNmask, Value::Netmask(m)) => v.vip_nmask = m,
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
            v.port = p
        }
        (Key::Persistent, Value::Int(n)) => v.persistent = to_u32(n)?,
        (Key::Pmask, Value::Pmask(m)) => v.pmask = m,
        (Key::Send, Value::Text(s)) => v.send = Some(s.to_string()),
        (Key::Expect, Value::Text(s)) => v.expect = Some(s.to_string()),
        (Key::UseRegex, Value::Bool(b)) => v.use_regex = b,
        (Key::SendProgram, Value::Text(s)) => v.send_program = Some(CommandLine::new(s)),
        (Key::LoadMonitor, Value::Text(s)) => {
            v.load_monitor = LoadMonitor::from_keyword(s).unwrap_or(LoadMonitor::None)
        }
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
        (Key::Reentry, Value::Int(n)) => v.reentry = to_u32(n)?,
        (Key::QuiesceServer, Value::Bool(b)) => v.quiesce_server = b,
        (Key::ClientMonitor, Value::Text(s)) => v.client_monitor = s.to_string(),
        (Key::StartCmd, Value::Text(s)) => v.start_cmd = Some(s.to_string()),
        (Key::StopCmd, Value::Text(s)) => v.stop_cmd = Some(s.to_string()),
        (Key::Master, Value::Host(h)) => v.master = Some(h),
        (Key::Dirs, Value::List(l)) => v.dirs = Some(l),
        _ => {}
    }
    Ok(())
}

#[inline]
fn apply_server(s: &mut RealServer, key: Key, value: Value) -> Result<(), Problem> {
    match (key, value) {
        (Key::Address, Value::Host(h)) => s.address = Some(h),
        (Key::Active, Value::Bool(b)) => s.active = b,
        (Key::Port, Value::Port(p)) => s.port = Some(p),
        (Key::Weight, Value::Int(n)) => {
            if n > 65535 {
                return Err(Problem::error(
                    Code::OutOfRange,
                    format!("weight {n} is out of range: IPVS weights are 0 to 65535"),
                ));
            }
            s.weight = n as u32
        }
        _ => {}
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
