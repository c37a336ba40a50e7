//! What pulse acts on, resolved once from lvs.cf: role, addresses, timers,
//! the VIPs to carry. Pure except [`resolve_host`] (name lookup, done once at
//! load, so that a resolver failing later cannot change what pulse carries).

use crate::codec::{AuthMode, Role, ServiceMode};
use crate::machine::Timing;
use crate::netlink::IfAddr;
use lvscf_parser::{CommandLine, Config, HeartbeatAuth, Host, Network, ServiceKind, VirtualServer};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// A floating address pulse brings up on takeover.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (vip_nmask / nat_nmask; /32 or /128 by default).
    pub prefix: u8,
    /// The configured device, used as the label (`eth0:1`).
    pub device: String,
    /// The device without its alias (`eth0`).
    pub base: String,
}

impl Vip {
    /// The IPv4 label: the configured device, when it names the base device
    /// or an alias of it.
    pub fn label(&self) -> Option<String> {
        match self.addr {
            IpAddr::V4(_) => Some(self.device.clone()),
            IpAddr::V6(_) => None,
        }
    }
}

/// Everything pulse needs from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Our role.
    pub role: Role,
    /// Our public address (bound for heartbeats).
    pub own: IpAddr,
    /// The partner's public address, if any.
    pub partner: Option<IpAddr>,
    /// Private channel: (our address, partner's address).
    pub private: Option<(IpAddr, Option<IpAddr>)>,
    /// UDP port.
    pub port: u16,
    /// keepalive/deadtime.
    pub timing: Timing,
    /// backup_active (after clearing it for a 0.0.0.0 backup).
    pub sends_heartbeats: bool,
    /// lvs.cf `service`: which magics, and lvsd or fos.
    pub service: ServiceMode,
    /// Distinct active VIPs (of the failover blocks with `service = fos`),
    /// in file order.
    pub vips: Vec<Vip>,
    /// The NAT router address (network = nat with nat_router set).
    pub nat: Option<Vip>,
    /// heartbeat_key path.
    pub key_path: Option<String>,
    /// heartbeat_auth (enforce when not configured); used only with a key.
    pub auth_mode: AuthMode,
    /// active_cmd.
    pub active_cmd: Option<CommandLine>,
    /// inactive_cmd.
    pub inactive_cmd: Option<CommandLine>,
    /// syncdaemon.
    pub syncdaemon: bool,
    /// syncd_iface.
    pub syncd_iface: String,
    /// syncd_id.
    pub syncd_id: u8,
    /// monitor_links.
    pub monitor_links: bool,
    /// Addresses lvs.cf names on a device that cannot be an interface name
    /// (loaded with a warning): not brought up, one log line each. lvsd
    /// still programs their virtual servers, as Piranha's did when its
    /// ifconfig failed.
    pub not_brought_up: Vec<String>,
}

impl Settings {
    /// The addresses that must never be removed (our own role addresses).
    pub fn own_addresses(&self) -> Vec<IpAddr> {
        let mut v = vec![self.own];
        if let Some((p, _)) = self.private {
            v.push(p);
        }
        v
    }

    /// VIPs and the NAT address.
    pub fn floating(&self) -> Vec<Vip> {
        let mut v = self.vips.clone();
        if let Some(n) = &self.nat {
            if !v.iter().any(|x| x.addr == n.addr) {
                v.push(n.clone());
            }
        }
        v
    }
}

/// Why the configuration cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError(pub String);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Resolves a host (IP literal or name). Names are looked up once, here.
pub fn resolve_host(h: &Host) -> Result<IpAddr, SettingsError> {
    match h {
        Host::Ip(ip) => Ok(*ip),
        Host::Name(name) => {
            daemon_kit::host::lookup(name).map_err(|e| SettingsError(e.to_string()))
        }
    }
}

/// Spec 2.3: master iff some interface has `primary` as its primary address
/// (IPv4: the address labelled with the plain interface name and not
/// secondary; IPv6: any non-secondary address).
pub fn is_master(
    primary: IpAddr,
    addrs: &[IfAddr],
    link_name: impl Fn(u32) -> Option<String>,
) -> bool {
    addrs.iter().any(|a| {
        if a.addr != primary || !a.is_primary() {
            return false;
        }
        match (a.addr, &a.label) {
            (IpAddr::V4(_), Some(label)) => link_name(a.index).is_none_or(|n| &n == label),
            _ => true,
        }
    })
}

fn vip_of(
    v: &VirtualServer,
    resolve: &dyn Fn(&Host) -> Result<IpAddr, SettingsError>,
    skipped: &mut Vec<String>,
) -> Result<Option<Vip>, SettingsError> {
    let Some(a) = &v.address else { return Ok(None) };
    let addr = resolve(&a.host)?;
    if addr.is_unspecified() {
        // Loaded with a warning (Piranha's default address): nothing to
        // bring up.
        return Ok(None);
    }
    if let Some(why) = a.device_problem() {
        skipped.push(format!(
            "virtual {}: not bringing up VIP {addr}: device `{}` is not an interface name ({why}); the virtual server is still programmed",
            v.name, a.device
        ));
        return Ok(None);
    }
    let prefix = match addr {
        IpAddr::V4(_) => v
            .vip_nmask
            .map(|m| m.prefix_len())
            .filter(|&p| p > 0)
            .unwrap_or(32),
        IpAddr::V6(_) => 128,
    };
    Ok(Some(Vip {
        addr,
        prefix,
        device: a.device.clone(),
        base: a.base_device().to_string(),
    }))
}

/// Builds the settings; `master` is the outcome of role detection.
pub fn settings_from(
    cfg: &Config,
    master: bool,
    resolve: &dyn Fn(&Host) -> Result<IpAddr, SettingsError>,
) -> Result<Settings, SettingsError> {
    let primary = cfg
        .primary
        .as_ref()
        .ok_or_else(|| SettingsError("no primary address configured".into()))
        .and_then(resolve)?;
    let backup = cfg.backup.as_ref().map(resolve).transpose()?;
    let backup = backup.filter(|b| !b.is_unspecified());
    let role = if master { Role::Master } else { Role::Backup };
    let (own, partner) = match role {
        Role::Master => (primary, backup),
        Role::Backup => (
            backup.ok_or_else(|| {
                SettingsError("this node is not the primary and no backup is configured".into())
            })?,
            Some(primary),
        ),
    };
    let private = match cfg.private_channel() {
        None => None,
        Some((pp, bp)) => {
            let pp = resolve(pp)?;
            let bp = bp.map(resolve).transpose()?;
            match role {
                Role::Master => Some((pp, bp)),
                Role::Backup => match bp {
                    Some(b) => Some((b, Some(pp))),
                    None => {
                        return Err(SettingsError(
                            "primary_private is set but backup_private is not".into(),
                        ))
                    }
                },
            }
        }
    };
    let service = match cfg.service {
        ServiceKind::Lvs => ServiceMode::Lvs,
        ServiceKind::Fos => ServiceMode::Fos,
    };
    let mut vips: Vec<Vip> = Vec::new();
    let mut not_brought_up = Vec::new();
    let blocks: Vec<&VirtualServer> = match service {
        ServiceMode::Lvs => cfg.active_virtuals().collect(),
        ServiceMode::Fos => cfg.failovers.iter().filter(|f| f.active).collect(),
    };
    for v in blocks {
        if let Some(vip) = vip_of(v, resolve, &mut not_brought_up)? {
            if !vips.iter().any(|x| x.addr == vip.addr) {
                vips.push(vip);
            }
        }
    }
    let nat = match (&cfg.nat_router, cfg.network) {
        (Some(n), Network::Nat) if n.device_problem().is_some() => {
            not_brought_up.push(format!(
                "not bringing up the NAT router address {}: device `{}` is not an interface name ({})",
                n.host,
                n.device,
                n.device_problem().unwrap_or_default()
            ));
            None
        }
        (Some(n), Network::Nat) => {
            let addr = resolve(&n.host)?;
            let prefix = match addr {
                IpAddr::V4(_) => cfg
                    .nat_nmask
                    .map(|m| m.prefix_len())
                    .filter(|&p| p > 0)
                    .unwrap_or(32),
                IpAddr::V6(_) => 128,
            };
            Some(Vip {
                addr,
                prefix,
                device: n.device.clone(),
                base: n.base_device().to_string(),
            })
        }
        _ => None,
    };
    Ok(Settings {
        role,
        own,
        partner,
        private,
        port: cfg.heartbeat_port,
        timing: Timing {
            keepalive: cfg.keepalive,
            deadtime: cfg.deadtime,
        },
        sends_heartbeats: cfg.backup_active && backup.is_some(),
        service,
        vips,
        nat,
        key_path: cfg.heartbeat_key.clone(),
        auth_mode: match cfg.heartbeat_auth {
            Some(HeartbeatAuth::ReceiveOnly) => AuthMode::ReceiveOnly,
            Some(HeartbeatAuth::Permissive) => AuthMode::Permissive,
            Some(HeartbeatAuth::Enforce) | None => AuthMode::Enforce,
        },
        active_cmd: cfg.active_cmd.clone(),
        inactive_cmd: cfg.inactive_cmd.clone(),
        syncdaemon: cfg.syncdaemon,
        syncd_iface: cfg.syncd_iface.clone(),
        syncd_id: cfg.syncd_id,
        monitor_links: cfg.monitor_links,
        not_brought_up,
    })
}

/// Sub-second timers below this are refused (the loop cannot honour them).
pub const MIN_KEEPALIVE: Duration = Duration::from_millis(10);

/// Which addresses a crashed run may have left: on the configured device,
/// equal to a configured VIP or NAT address, with our label (IPv4) and never
/// one of our own role addresses.
pub fn leftovers(
    settings: &Settings,
    addrs: &[IfAddr],
    index_of: impl Fn(&str) -> Option<u32>,
) -> Vec<(Vip, IfAddr)> {
    let own = settings.own_addresses();
    let mut out = Vec::new();
    for vip in settings.floating() {
        if own.contains(&vip.addr) {
            continue;
        }
        let Some(idx) = index_of(&vip.base) else {
            continue;
        };
        for a in addrs {
            if a.index != idx || a.addr != vip.addr {
                continue;
            }
            let ours = match a.addr {
                IpAddr::V4(_) => a.label.as_deref() == Some(vip.device.as_str()),
                IpAddr::V6(_) => true,
            };
            if ours {
                out.push((vip.clone(), a.clone()));
            }
        }
    }
    out
}

/// `true` if `ip` is 0.0.0.0.
pub fn is_zero(ip: IpAddr) -> bool {
    ip == IpAddr::V4(Ipv4Addr::UNSPECIFIED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvscf_parser::{AddressOnDevice, Netmask};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cfg() -> Config {
        let mut c = Config {
            primary: Some(Host::Ip(ip("192.0.2.1"))),
            backup: Some(Host::Ip(ip("192.0.2.2"))),
            backup_active: true,
            ..Config::default()
        };
        let mut v = VirtualServer::new("web");
        v.active = true;
        v.address = Some(AddressOnDevice {
            host: Host::Ip(ip("192.0.2.100")),
            device: "eth0:1".into(),
        });
        v.vip_nmask = Netmask::from_prefix(24);
        c.virtuals.push(v.clone());
        // same VIP again, other port: one address only
        let mut v2 = v.clone();
        v2.name = "web2".into();
        v2.port = 443;
        v2.address = Some(AddressOnDevice {
            host: Host::Ip(ip("192.0.2.100")),
            device: "eth0:9".into(),
        });
        c.virtuals.push(v2);
        let mut v3 = VirtualServer::new("off");
        v3.address = Some(AddressOnDevice {
            host: Host::Ip(ip("192.0.2.101")),
            device: "eth0:2".into(),
        });
        c.virtuals.push(v3);
        let mut v6 = VirtualServer::new("six");
        v6.active = true;
        v6.address = Some(AddressOnDevice {
            host: Host::Ip(ip("2001:db8::10")),
            device: "eth0".into(),
        });
        c.virtuals.push(v6);
        c.nat_router = Some(AddressOnDevice {
            host: Host::Ip(ip("10.9.0.1")),
            device: "eth1:1".into(),
        });
        c
    }

    fn addr(index: u32, a: &str, label: &str, flags: u8) -> IfAddr {
        IfAddr {
            index,
            addr: ip(a),
            prefix: 24,
            label: Some(label.into()),
            flags,
        }
    }

    #[test]
    fn role_detection_uses_primary_address_only() {
        let names = |i: u32| {
            Some(if i == 2 {
                "eth0".to_string()
            } else {
                "lo".to_string()
            })
        };
        let p = ip("192.0.2.1");
        assert!(is_master(p, &[addr(2, "192.0.2.1", "eth0", 0)], names));
        // secondary address: not master
        assert!(!is_master(
            p,
            &[addr(2, "192.0.2.1", "eth0", IFA_SECONDARY)],
            names
        ));
        // an alias label: not master
        assert!(!is_master(p, &[addr(2, "192.0.2.1", "eth0:1", 0)], names));
        assert!(!is_master(p, &[addr(2, "192.0.2.7", "eth0", 0)], names));
    }

    use crate::netlink::IFA_F_SECONDARY as IFA_SECONDARY;

    /// I15 part 3: a VIP on a device that cannot be an interface name
    /// loads (Piranha's ifconfig failed for it and the rest ran): it is not
    /// brought up, with a line saying why; the other VIPs are.
    #[test]
    fn a_vip_on_an_impossible_device_is_skipped_with_a_line() {
        let text = "primary = 192.0.2.1\nnetwork = nat\nnat_router = 192.0.2.254 eth1;rm\n\
             virtual a {\n active = 1\n address = 192.0.2.100 abcdefghijklmnop\n}\n\
             virtual b {\n active = 1\n address = 192.0.2.101 eth0:2\n}\n";
        let loaded = lvscf_parser::parse("lvs.cf", text.as_bytes()).expect("loads");
        assert_eq!(
            loaded
                .warnings
                .iter()
                .filter(|d| d.code == lvscf_parser::Code::InvalidDevice)
                .count(),
            2
        );
        let s = settings_from(&loaded.config, true, &resolve_host).unwrap();
        assert_eq!(
            s.vips.iter().map(|v| v.addr).collect::<Vec<_>>(),
            [ip("192.0.2.101")]
        );
        assert_eq!(s.nat, None);
        assert_eq!(s.not_brought_up.len(), 2, "{:?}", s.not_brought_up);
        assert!(s.not_brought_up[0]
            .contains("virtual a: not bringing up VIP 192.0.2.100: device `abcdefghijklmnop`"));
        assert!(s.not_brought_up[1].contains("NAT router address 192.0.2.254"));
    }

    #[test]
    fn settings_master_and_backup() {
        let c = cfg();
        let s = settings_from(&c, true, &resolve_host).unwrap();
        assert_eq!(s.role, Role::Master);
        assert_eq!(s.own, ip("192.0.2.1"));
        assert_eq!(s.partner, Some(ip("192.0.2.2")));
        assert_eq!(s.vips.len(), 2);
        assert_eq!(
            s.vips[0],
            Vip {
                addr: ip("192.0.2.100"),
                prefix: 24,
                device: "eth0:1".into(),
                base: "eth0".into()
            }
        );
        assert_eq!(s.vips[1].prefix, 128);
        assert_eq!(s.nat.as_ref().map(|n| n.prefix), Some(32));
        assert!(s.sends_heartbeats);
        let b = settings_from(&c, false, &resolve_host).unwrap();
        assert_eq!(b.role, Role::Backup);
        assert_eq!(b.own, ip("192.0.2.2"));
        assert_eq!(b.partner, Some(ip("192.0.2.1")));
    }

    /// `service = fos`: the addresses are those of the active failover
    /// blocks, not of the virtual servers.
    #[test]
    fn fos_addresses_come_from_failover_blocks() {
        let mut c = cfg();
        let lvs = settings_from(&c, true, &resolve_host).unwrap();
        assert_eq!(lvs.service, ServiceMode::Lvs);
        c.service = ServiceKind::Fos;
        let mut f = c.virtuals[0].clone();
        f.name = "web".into();
        f.address = Some(lvscf_parser::AddressOnDevice {
            host: Host::Ip(ip("192.0.2.150")),
            device: "eth0:5".into(),
        });
        c.failovers = vec![f.clone()];
        f.active = false;
        f.name = "off".into();
        c.failovers.push(f);
        let s = settings_from(&c, true, &resolve_host).unwrap();
        assert_eq!(s.service, ServiceMode::Fos);
        assert_eq!(
            s.vips
                .iter()
                .map(|v| (v.addr, v.device.as_str()))
                .collect::<Vec<_>>(),
            vec![(ip("192.0.2.150"), "eth0:5")]
        );
    }

    #[test]
    fn heartbeat_auth_defaults_to_enforce() {
        let mut c = cfg();
        let mode = |c: &Config| settings_from(c, true, &resolve_host).unwrap().auth_mode;
        assert_eq!(mode(&c), AuthMode::Enforce);
        for (k, m) in [
            (HeartbeatAuth::ReceiveOnly, AuthMode::ReceiveOnly),
            (HeartbeatAuth::Permissive, AuthMode::Permissive),
            (HeartbeatAuth::Enforce, AuthMode::Enforce),
        ] {
            c.heartbeat_auth = Some(k);
            assert_eq!(mode(&c), m);
        }
    }

    #[test]
    fn zero_backup_clears_backup_active() {
        let mut c = cfg();
        c.backup = Some(Host::Ip(ip("0.0.0.0")));
        let s = settings_from(&c, true, &resolve_host).unwrap();
        assert!(!s.sends_heartbeats);
        assert_eq!(s.partner, None);
        assert!(settings_from(&c, false, &resolve_host).is_err());
    }

    #[test]
    fn private_channel() {
        let mut c = cfg();
        c.primary_private = Some(Host::Ip(ip("198.51.100.1")));
        assert!(settings_from(&c, false, &resolve_host).is_err());
        c.backup_private = Some(Host::Ip(ip("198.51.100.2")));
        let m = settings_from(&c, true, &resolve_host).unwrap();
        assert_eq!(
            m.private,
            Some((ip("198.51.100.1"), Some(ip("198.51.100.2"))))
        );
        let b = settings_from(&c, false, &resolve_host).unwrap();
        assert_eq!(
            b.private,
            Some((ip("198.51.100.2"), Some(ip("198.51.100.1"))))
        );
    }

    #[test]
    fn leftover_detection() {
        let c = cfg();
        let s = settings_from(&c, true, &resolve_host).unwrap();
        let addrs = vec![
            addr(2, "192.0.2.1", "eth0", 0),
            addr(2, "192.0.2.100", "eth0:1", IFA_SECONDARY),
            addr(2, "192.0.2.100", "eth0:7", IFA_SECONDARY), // not our label
            addr(3, "192.0.2.100", "eth1", 0),               // other device
            IfAddr {
                index: 2,
                addr: ip("2001:db8::10"),
                prefix: 128,
                label: None,
                flags: 0,
            },
        ];
        let idx = |n: &str| match n {
            "eth0" => Some(2),
            "eth1" => Some(3),
            _ => None,
        };
        let l = leftovers(&s, &addrs, idx);
        let found: Vec<_> = l.iter().map(|(_, a)| a.addr).collect();
        assert_eq!(found, vec![ip("192.0.2.100"), ip("2001:db8::10")]);
    }
}
