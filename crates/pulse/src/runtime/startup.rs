//! Start-up, before daemonizing: lvs.cf loaded, the role decided, the
//! heartbeat key checked, the sockets bound, leftovers of a crashed pulse
//! removed; and the checks of the heartbeat links. Errors go to stderr with
//! the exit code; nothing here runs in the event loop.

use crate::cli::Options;
use crate::codec::{config_digest, Auth, Role};
use crate::keys;
use crate::log::Logger;
use crate::netlink;
use crate::settings::{self, Settings, SettingsError};
use lvscf_parser::{Host, ServiceKind};
use lvscf_store::LoadError;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;
/// The heartbeat policy the settings ask for: Piranha's unsigned
/// heartbeats without `heartbeat_key`, else the key file's keys with the
/// `heartbeat_auth` mode. The error names the key file and what is wrong.
pub fn auth_from(s: &Settings) -> Result<Auth, String> {
    match &s.key_path {
        None => Ok(Auth::Legacy),
        Some(p) => Ok(Auth::Keyed(keys::load(Path::new(p))?, s.auth_mode)),
    }
}

/// One log line describing a policy.
pub fn describe_auth(a: &Auth) -> String {
    match a {
        Auth::Legacy => "heartbeat authentication: none (Piranha's unsigned heartbeats)".into(),
        Auth::Keyed(k, m) => {
            let ids: Vec<String> = k.ids().iter().map(u32::to_string).collect();
            let send = if a.sends_signed() {
                format!("signing with key {}", k.send_id())
            } else {
                "sending unsigned".into()
            };
            format!(
                "heartbeat authentication: {}, {send}, accepting keys {}{}",
                m.name(),
                ids.join(", "),
                if a.accepts_unsigned() {
                    " and unsigned heartbeats"
                } else {
                    ""
                }
            )
        }
    }
}

/// Resolves hosts, remembering names (looked up once per name).
#[derive(Default)]
pub(super) struct Resolver {
    pub(super) cache: Mutex<HashMap<String, IpAddr>>,
}

impl Resolver {
    pub(super) fn resolve(&self, h: &Host) -> Result<IpAddr, SettingsError> {
        if let Host::Name(n) = h {
            if let Ok(c) = self.cache.lock() {
                if let Some(ip) = c.get(n) {
                    return Ok(*ip);
                }
            }
            let ip = settings::resolve_host(h)?;
            if let Ok(mut c) = self.cache.lock() {
                c.insert(n.clone(), ip);
            }
            return Ok(ip);
        }
        settings::resolve_host(h)
    }
}

pub(super) fn load_error_lines(e: &LoadError) -> Vec<String> {
    match e {
        LoadError::Io { path, .. } => vec![format!("failed to open {}", path.display())],
        LoadError::Invalid(d) => d
            .errors()
            .map(|x| format!("{}:{}:{}: error: {}", d.file, x.line, x.column, x.message))
            .collect(),
    }
}

pub(super) struct HbSocket {
    pub(super) sock: tokio::net::UdpSocket,
    pub(super) local: IpAddr,
    pub(super) peer: Option<IpAddr>,
    pub(super) name: &'static str,
    pub(super) last_heard: Option<Instant>,
    pub(super) accepted: u64,
}

/// Everything decided before daemonizing.
pub struct Prepared {
    pub(super) opts: Options,
    pub(super) settings: Settings,
    pub(super) digest: [u8; 8],
    pub(super) auth: Auth,
    pub(super) sockets: Vec<(UdpSocket, IpAddr, Option<IpAddr>, &'static str)>,
    pub(super) resolver: Resolver,
}

/// Start-up steps 1-5: options are parsed; load, decide the role, check the
/// key, bind. Errors are `(message for stderr, exit code)`.
pub fn prepare(opts: Options) -> Result<Prepared, String> {
    let loaded = lvscf_store::load_file(&opts.config).map_err(|e| {
        load_error_lines(&e)
            .into_iter()
            .map(|l| format!("pulse: {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let config = loaded.config;
    let digest = config_digest(loaded.document.as_bytes());
    if config.keepalive < settings::MIN_KEEPALIVE || config.deadtime <= config.keepalive {
        return Err(format!(
            "pulse: keepalive ({} s) must be at least 0.01 s and below deadtime ({} s)",
            config.keepalive.as_secs_f64(),
            config.deadtime.as_secs_f64()
        ));
    }
    let resolver = Resolver::default();
    let primary = config
        .primary
        .as_ref()
        .ok_or("pulse: no primary address in the configuration")?;
    let primary = resolver
        .resolve(primary)
        .map_err(|e| format!("pulse: {e}"))?;
    let addrs =
        netlink::addresses().map_err(|e| format!("pulse: cannot list interface addresses: {e}"))?;
    let links = netlink::links().map_err(|e| format!("pulse: cannot list interfaces: {e}"))?;
    let master = settings::is_master(primary, &addrs, |i| {
        links.iter().find(|l| l.index == i).map(|l| l.name.clone())
    });
    let s = settings::settings_from(&config, master, &|h| resolver.resolve(h))
        .map_err(|e| format!("pulse: {e}"))?;
    if config.service == ServiceKind::Fos {
        if !config.failovers.iter().any(|f| f.active) {
            return Err(format!(
                "pulse: no active fos services defined in {}",
                opts.config.display()
            ));
        }
    } else if s.vips.is_empty() && config.active_virtuals().next().is_none() {
        return Err("pulse: no active virtual servers defined -- exiting".into());
    }
    let auth = auth_from(&s).map_err(|e| format!("pulse: {e}"))?;
    let mut sockets = Vec::new();
    let bind = |addr: IpAddr| -> Result<UdpSocket, String> {
        UdpSocket::bind(SocketAddr::new(addr, s.port)).map_err(|e| {
            format!(
                "pulse: failed to bind to heartbeat address: {e}\npulse: cannot create heartbeat socket. running as root?"
            )
        })
    };
    let is_backup_without_heartbeat = s.role == Role::Backup && !s.sends_heartbeats;
    if !is_backup_without_heartbeat {
        sockets.push((bind(s.own)?, s.own, s.partner, "public"));
        if let Some((mine, peer)) = s.private {
            sockets.push((bind(mine)?, mine, peer, "private"));
        }
    }
    Ok(Prepared {
        opts,
        settings: s,
        digest,
        auth,
        sockets,
        resolver,
    })
}

/// Removes addresses left by a crashed run (before any role is taken).
pub(super) fn remove_leftovers(s: &Settings, log: &Logger) {
    let (Ok(addrs), Ok(links)) = (netlink::addresses(), netlink::links()) else {
        return;
    };
    let index_of = |n: &str| links.iter().find(|l| l.name == n).map(|l| l.index);
    for (vip, a) in settings::leftovers(s, &addrs, index_of) {
        log.info(&format!(
            "removing leftover address {}/{} from {}",
            a.addr, a.prefix, vip.device
        ));
        let spec = netlink::AddrSpec {
            index: a.index,
            addr: a.addr,
            prefix: a.prefix,
            label: a.label.clone(),
        };
        if let Err(e) = netlink::del_address(&spec) {
            log.info(&format!("failed to remove leftover {}: {e}", a.addr));
        }
    }
    // lvsd's services of a run that was killed (systemd's watchdog, a
    // crash: KillMode=mixed SIGKILLs lvsd before it can remove them). No
    // lvsd runs yet, so a service on one of our VIPs is stale; the next
    // takeover's lvsd builds the table again.
    let vips: Vec<IpAddr> = s.vips.iter().map(|v| v.addr).collect();
    let Ok(mut ipvs) = ipvs::Ipvs::connect() else {
        return;
    };
    for svc in ipvs.services().unwrap_or_default() {
        let addr = match svc.key {
            ipvs::ServiceKey::Tcp(a, _)
            | ipvs::ServiceKey::Udp(a, _)
            | ipvs::ServiceKey::Sctp(a, _) => a,
            ipvs::ServiceKey::Fwmark { .. } => continue,
        };
        if vips.contains(&addr) {
            log.info(&format!("removing leftover IPVS service {:?}", svc.key));
            if let Err(e) = ipvs.del_service(&svc.key) {
                log.info(&format!("failed to remove leftover IPVS service: {e}"));
            }
        }
    }
}

/// Link check (lvs.cf `monitor_links`, as Piranha did): the interfaces
/// carrying our public and private addresses must be up and running; an
/// address not found counts as up.
pub(super) fn link_check(s: &Settings) -> Vec<String> {
    let (Ok(addrs), Ok(links)) = (netlink::addresses(), netlink::links()) else {
        return Vec::new();
    };
    let mut down = Vec::new();
    let mut check = |ip: IpAddr, what: &str| {
        if let Some(a) = addrs.iter().find(|a| a.addr == ip) {
            if let Some(l) = links.iter().find(|l| l.index == a.index) {
                if !l.is_up() {
                    down.push(format!("{what} NIC: link down"));
                }
            }
        }
    };
    check(s.own, "Primary");
    if let Some((p, _)) = s.private {
        check(p, "Private");
    }
    down
}
