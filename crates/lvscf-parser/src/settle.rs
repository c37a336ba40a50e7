//! What Piranha derived once every line was read, where that differs
//! from the lines taken one by one: the prefix a VIP or the NAT router
//! address really got when its netmask was not contiguous, and a
//! `backup_private` that Piranha overwrote because `primary_private` was
//! absent. Each loads with a warning that says what happens instead of
//! what the file seems to say.

use crate::creading::classful_prefix;
use crate::diag::{Code, Diagnostic, Severity};
use crate::model::*;
use crate::structure::Structure;
use crate::syntax::Lexed;
use crate::validate::Reporter;
use std::net::{IpAddr, Ipv4Addr};

/// Settles `config` after the line-by-line reading, appending warnings.
pub(crate) fn settle(
    text: &[u8],
    lexed: &Lexed,
    config: &mut Config,
    structure: &Structure,
    diags: &mut Vec<Diagnostic>,
) {
    let mut r = Reporter::new(text, lexed, structure, diags);
    if let Some(mask) = config.nat_nmask_noncontiguous {
        let addr = config.nat_router.as_ref().and_then(|a| a.host.ip());
        let (effective, message) = noncontiguous(mask, addr, "nat_nmask", "NAT router address");
        config.nat_nmask = effective;
        r.at(
            Severity::Warning,
            Code::NoncontiguousNetmask,
            None,
            "nat_nmask",
            message,
            Some("write the netmask you mean, e.g. 255.255.255.0".into()),
        );
    }
    for (failover, list) in [(false, &mut config.virtuals), (true, &mut config.failovers)] {
        for (index, v) in list.iter_mut().enumerate() {
            let Some(mask) = v.vip_nmask_noncontiguous else {
                continue;
            };
            let (effective, message) = noncontiguous(mask, v.vip(), "vip_nmask", "VIP");
            v.vip_nmask = effective;
            r.at(
                Severity::Warning,
                Code::NoncontiguousNetmask,
                structure.virtual_block(failover, index),
                "vip_nmask",
                message,
                Some("write the netmask you mean, e.g. 255.255.255.0".into()),
            );
        }
    }
    if config.primary_private.is_none() && config.backup_private.is_some() {
        // Piranha set both private addresses to the public ones whenever
        // primary_private was absent, overwriting backup_private.
        config.backup_private = None;
        r.at(
            Severity::Warning,
            Code::BackupPrivateIgnored,
            None,
            "backup_private",
            "backup_private is ignored without primary_private: as in Piranha, both routers use their public addresses only (primary, backup) for heartbeats".into(),
            Some("set `primary_private` too for a private heartbeat link, or remove `backup_private`".into()),
        );
    }
}

/// The mask the kernel kept for an address added with the netmask `mask`,
/// whose one bits are not contiguous, and the warning that says so.
fn noncontiguous(
    mask: Ipv4Addr,
    addr: Option<IpAddr>,
    key: &str,
    what: &str,
) -> (Option<Netmask>, String) {
    let head = format!("{key} {mask} is not a netmask (its one bits are not contiguous)");
    match addr {
        Some(IpAddr::V4(ip)) => {
            let prefix = classful_prefix(ip);
            let effective = Netmask::from_prefix(prefix);
            let shown = effective.map(|m| m.to_string()).unwrap_or_default();
            (
                effective,
                format!(
                    "{head}: Piranha's ifconfig added the {what} {ip} with the prefix of its address class, /{prefix} ({shown}), and the kernel refused the mask; it is added the same way"
                ),
            )
        }
        _ => (
            None,
            format!("{head}: the {what} is not a known IPv4 address here, so it is added as /32"),
        ),
    }
}
