//! Each panel's form applied to lvs.cf (pure: no I/O): the fields,
//! buttons and ADD defaults of Piranha's pages, made of the field edits of
//! [`Editor`], so only the lines of changed fields change and every error
//! lands on its field.

use crate::forms::{
    clean_name, global_shown, param, shown, virtual_shown, Editor, FieldErrors, Params, SCHEDULERS,
};
use lvscf_parser::{Document, EditError, Target};
use std::collections::BTreeMap;

#[cfg(test)]
mod tests;

/// GLOBAL SETTINGS (Piranha's `global_settings.php`). Returns whether
/// anything changed.
pub fn apply_global(
    doc: &mut Document,
    p: &Params,
    policy: &exec_policy::Policy,
) -> Result<bool, FieldErrors> {
    let g = Target::Global;
    let mut ed = Editor::checking(doc, policy);
    ed.text("PriLVSIP", &g, "primary", param(p, "PriLVSIP"));
    if let Some(pp) = param(p, "primary_private") {
        if pp.trim().is_empty() && !global_shown(ed.before(), "primary_private").is_empty() {
            ed.unset("primary_private", &g, "primary_private");
            ed.unset("primary_private", &g, "backup_private");
        } else {
            ed.text("primary_private", &g, "primary_private", Some(pp));
        }
    }
    for k in ["tcp_timeout", "tcpfin_timeout", "udp_timeout"] {
        ed.text(k, &g, k, param(p, k));
    }
    ed.text("rsh_command", &g, "rsh_command", param(p, "rsh_command"));
    ed.text("active_cmd", &g, "active_cmd", param(p, "active_cmd"));
    ed.text("inactive_cmd", &g, "inactive_cmd", param(p, "inactive_cmd"));
    let network = param(p, "network").map(|n| match n {
        "NAT" => "nat",
        "Direct Routing" => "direct",
        "Tunneling" => "tunnel",
        other => other,
    });
    if let Some(n) = network {
        if !["nat", "direct", "tunnel"].contains(&n) {
            ed.errors.field("network", "choose nat, direct or tunnel");
        } else {
            ed.text("network", &g, "network", Some(n));
        }
    }
    let effective_network = network
        .map(str::to_string)
        .unwrap_or_else(|| global_shown(ed.before(), "network"));
    if effective_network == "nat" {
        if let (Some(ip), Some(dev)) = (param(p, "NATRtrIP"), param(p, "NATRtrDev")) {
            let (ip, dev) = (ip.trim(), dev.trim());
            if ed.check_chars("NATRtrIP", ip) && ed.check_chars("NATRtrDev", dev) {
                match (ip.is_empty(), dev.is_empty()) {
                    (true, true) => ed.text("NATRtrIP", &g, "nat_router", Some("")),
                    (false, false) => {
                        if dev.contains([' ', '\t']) {
                            ed.errors.field("NATRtrDev", "a device name has no blanks");
                        } else if ip.contains([' ', '\t']) {
                            ed.errors.field("NATRtrIP", "one address, without blanks");
                        } else {
                            ed.text("NATRtrIP", &g, "nat_router", Some(&format!("{ip} {dev}")));
                        }
                    }
                    (true, false) => ed
                        .errors
                        .field("NATRtrIP", "the NAT router needs an address"),
                    (false, true) => ed
                        .errors
                        .field("NATRtrDev", "the NAT router needs a device"),
                }
            }
        }
        select_mask(&mut ed, "nat_nmask", &g, "nat_nmask", param(p, "nat_nmask"));
    }
    // Direct routing and tunnelling use no NAT router, but it stays in the
    // file (the daemons ignore it there), so switching back to NAT finds
    // it again. Piranha removed it.
    ed.finish()
}

/// A netmask select: `Unused` (or empty) removes the keyword.
fn select_mask(ed: &mut Editor<'_>, field: &str, t: &Target, key: &str, v: Option<&str>) {
    if let Some(v) = v {
        let v = if v == "Unused" { "" } else { v };
        ed.text(field, t, key, Some(v));
    }
}

/// REDUNDANCY (Piranha's `redundancy.php`); `redundancy_action` is ACCEPT,
/// ENABLE, DISABLE or RESET (Piranha's ENABLE button was `full_enable`).
pub fn apply_redundancy(doc: &mut Document, p: &Params) -> Result<bool, FieldErrors> {
    let g = Target::Global;
    let mut ed = Editor::new(doc);
    let action = param(p, "redundancy_action")
        .or(param(p, "full_enable"))
        .unwrap_or("ACCEPT");
    match action {
        "ENABLE" => {
            ed.text("backup_active", &g, "backup_active", Some("1"));
            if global_shown(ed.before(), "heartbeat") != "1" {
                ed.set("backup_active", &g, "heartbeat", "1");
            }
        }
        "DISABLE" => ed.text("backup_active", &g, "backup_active", Some("0")),
        "RESET" => {
            ed.text("redundant", &g, "backup", Some("0.0.0.0"));
            ed.text("redundant_private", &g, "backup_private", Some(""));
            ed.text("hb_interval", &g, "keepalive", Some("6"));
            ed.text("dead_after", &g, "deadtime", Some("18"));
            ed.text("hb_port", &g, "heartbeat_port", Some("539"));
        }
        "ACCEPT" => {
            ed.text("redundant", &g, "backup", param(p, "redundant"));
            ed.text(
                "redundant_private",
                &g,
                "backup_private",
                param(p, "redundant_private"),
            );
            ed.text("hb_interval", &g, "keepalive", param(p, "hb_interval"));
            ed.text("dead_after", &g, "deadtime", param(p, "dead_after"));
            ed.text("hb_port", &g, "heartbeat_port", param(p, "hb_port"));
            ed.checkbox("monitor_links", &g, "monitor_links", p);
            ed.checkbox("syncdaemon", &g, "syncdaemon", p);
            ed.text("syncd_iface", &g, "syncd_iface", param(p, "syncd_iface"));
            ed.text("syncd_id", &g, "syncd_id", param(p, "syncd_id"));
        }
        _ => ed.errors.general.push("unknown action".into()),
    }
    ed.finish()
}

/// The first free name `base`, `base_2`, `base_3`, ...
fn free_name(taken: &[&str], base: &str) -> String {
    if !taken.contains(&base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}_{i}"))
        .find(|n| !taken.contains(&n.as_str()))
        .unwrap_or_else(|| base.to_string())
}

/// The keys and values Piranha's ADD (`virtual_main.php`) gives a new
/// virtual server.
pub const VIRTUAL_DEFAULTS: &[(&str, &str)] = &[
    ("active", "0"),
    ("address", "0.0.0.0 eth0:1"),
    ("port", "80"),
    ("send", "GET / HTTP/1.0\\r\\n\\r\\n"),
    ("expect", "HTTP"),
    ("use_regex", "0"),
    ("load_monitor", "none"),
    ("scheduler", "wlc"),
    ("protocol", "tcp"),
    ("timeout", "6"),
    ("reentry", "15"),
    ("quiesce_server", "0"),
];

/// The keys and values Piranha's ADD (`virtual_edit_real.php`) gives a new
/// real server (no port: it defaults to the virtual server's).
pub const SERVER_DEFAULTS: &[(&str, &str)] =
    &[("address", "0.0.0.0"), ("active", "0"), ("weight", "1")];

/// The name for a new block: the requested one (blanks made `_`) when it is
/// free and clean, else the first free `base`, `base_2`, ...
fn new_block_name(
    ed: &mut Editor<'_>,
    taken: &[String],
    requested: Option<&str>,
    base: &str,
    noun: &str,
) -> Result<String, FieldErrors> {
    let taken: Vec<&str> = taken.iter().map(String::as_str).collect();
    match requested.map(clean_name).filter(|n| !n.is_empty()) {
        Some(n) if taken.contains(&n.as_str()) => Err(FieldErrors {
            fields: BTreeMap::from([(
                "name".to_string(),
                format!("a {noun} `{n}` exists already"),
            )]),
            ..FieldErrors::default()
        }),
        Some(n) if !ed.check_chars("name", &n) => Err(std::mem::take(&mut ed.errors)),
        Some(n) => Ok(n),
        None => Ok(free_name(&taken, base)),
    }
}

/// Adds a block with `add`, then gives it `defaults` (what Piranha's ADD
/// wrote); returns its name.
fn add_block(
    doc: &mut Document,
    taken: &[String],
    requested: Option<&str>,
    (base, noun): (&str, &str),
    add: impl FnOnce(&mut Document, &str) -> Result<Target, EditError>,
    defaults: &[(&str, &str)],
) -> Result<String, FieldErrors> {
    let mut ed = Editor::new(doc);
    let name = new_block_name(&mut ed, taken, requested, base, noun)?;
    let t = match add(ed.doc, &name) {
        Ok(t) => t,
        Err(e) => {
            ed.edit_error("name", e);
            return Err(ed.errors);
        }
    };
    ed.changed = true;
    for (k, v) in defaults {
        ed.set("name", &t, k, v);
    }
    ed.finish().map(|_| name)
}

/// Adds a virtual server as Piranha's ADD did; returns its name.
pub fn add_virtual(doc: &mut Document, requested: Option<&str>) -> Result<String, FieldErrors> {
    let taken: Vec<String> = doc
        .config()
        .virtuals
        .iter()
        .map(|v| v.name.clone())
        .collect();
    add_block(
        doc,
        &taken,
        requested,
        ("[server_name]", "virtual server"),
        |d, n| d.add_virtual(n).map(|()| Target::Virtual(n.to_string())),
        VIRTUAL_DEFAULTS,
    )
}

/// Adds a real server as Piranha's ADD did; returns its name.
pub fn add_server(
    doc: &mut Document,
    vname: &str,
    requested: Option<&str>,
) -> Result<String, FieldErrors> {
    let Some(v) = doc.config().virtual_named(vname) else {
        return Err(FieldErrors::general(format!(
            "there is no virtual server `{vname}`"
        )));
    };
    let taken: Vec<String> = v.servers.iter().map(|s| s.name.clone()).collect();
    add_block(
        doc,
        &taken,
        requested,
        ("[unnamed]", "real server"),
        |d, n| {
            d.add_server(vname, n).map(|()| Target::Server {
                virtual_name: vname.to_string(),
                server: n.to_string(),
            })
        },
        SERVER_DEFAULTS,
    )
}

/// The keys and values a new failover service gets: Piranha's failover ADD
/// wrote the fields of its failover page (Name, Address, Netmask, Port,
/// Device, Timeout) and the monitoring defaults.
pub const FAILOVER_DEFAULTS: &[(&str, &str)] = &[
    ("active", "0"),
    ("address", "0.0.0.0 eth0:1"),
    ("port", "80"),
    ("send", "GET / HTTP/1.0\\r\\n\\r\\n"),
    ("expect", "HTTP"),
    ("timeout", "6"),
];

/// Adds a failover service (the unlinked failover pages); returns its name.
pub fn add_failover(doc: &mut Document, requested: Option<&str>) -> Result<String, FieldErrors> {
    let taken: Vec<String> = doc
        .config()
        .failovers
        .iter()
        .map(|f| f.name.clone())
        .collect();
    add_block(
        doc,
        &taken,
        requested,
        ("[service_name]", "failover service"),
        |d, n| d.add_failover(n).map(|()| Target::Failover(n.to_string())),
        FAILOVER_DEFAULTS,
    )
}

/// Removes a block.
pub fn delete(doc: &mut Document, target: &Target) -> Result<bool, FieldErrors> {
    let mut ed = Editor::new(doc);
    if let Err(e) = ed.doc.remove(target) {
        ed.edit_error("selected", e);
    }
    ed.changed = true;
    ed.finish()
}

/// (DE)ACTIVATE: toggles `active`.
pub fn toggle_active(doc: &mut Document, target: &Target) -> Result<bool, FieldErrors> {
    let mut ed = Editor::new(doc);
    if !ed.doc.has_block(target) {
        return Err(FieldErrors::general(format!("there is no {target}")));
    }
    let now = shown(ed.before(), target, "active");
    let next = if now == "1" { "0" } else { "1" };
    ed.set("selected", target, "active", next);
    ed.finish()
}

/// A Name field: renames the block when the cleaned name differs; returns
/// the name the block has afterwards.
fn rename_from(ed: &mut Editor<'_>, field: &str, t: &Target, current: &str, p: &Params) -> String {
    if let Some(h) = param(p, field) {
        let new = clean_name(h);
        if !new.is_empty() && new != current && ed.check_chars(field, &new) {
            match ed.doc.rename(t, &new) {
                Ok(()) => {
                    ed.changed = true;
                    return new;
                }
                Err(e) => ed.edit_error(field, e),
            }
        }
    }
    current.to_string()
}

/// The Address and Device fields, written together as `address = IP DEV`.
pub(crate) fn address_and_device(ed: &mut Editor<'_>, t: &Target, p: &Params) {
    if let (Some(ip), Some(dev)) = (param(p, "address"), param(p, "device")) {
        let (ip, dev) = (ip.trim(), dev.trim());
        if ed.check_chars("address", ip) && ed.check_chars("device", dev) {
            if ip.is_empty() && dev.is_empty() {
                ed.text("address", t, "address", Some(""));
            } else if ip.is_empty() || ip.contains([' ', '\t']) {
                ed.errors
                    .field("address", "one virtual IP address is required");
            } else if dev.is_empty() {
                ed.errors
                    .field("device", "the device (for example eth0:1) is required");
            } else if dev.contains([' ', '\t']) {
                ed.errors.field("device", "a device name has no blanks");
            } else {
                ed.text("address", t, "address", Some(&format!("{ip} {dev}")));
            }
        }
    }
}

/// VIRTUAL SERVER subsection (Piranha's `virtual_edit_virt.php`). Returns
/// the (possibly new) name.
pub fn apply_virtual_edit(
    doc: &mut Document,
    vname: &str,
    p: &Params,
    policy: &exec_policy::Policy,
) -> Result<String, FieldErrors> {
    let t = Target::Virtual(vname.to_string());
    let mut ed = Editor::checking(doc, policy);
    if ed.before().virtual_named(vname).is_none() || !ed.doc.has_block(&t) {
        return Err(FieldErrors::general(format!(
            "there is no single virtual server `{vname}`"
        )));
    }
    ed.text("port", &t, "port", param(p, "port"));
    if let Some(proto) = param(p, "protocol") {
        if !["tcp", "udp", "sctp"].contains(&proto) {
            ed.errors.field("protocol", "choose tcp, udp or sctp");
        } else {
            ed.text("protocol", &t, "protocol", Some(proto));
        }
    }
    address_and_device(&mut ed, &t, p);
    select_mask(&mut ed, "vip_nmask", &t, "vip_nmask", param(p, "vip_nmask"));
    ed.text("sorry_server", &t, "sorry_server", param(p, "sorry_server"));
    if let Some(fw) = param(p, "fwmark") {
        // An empty field and 0 both mean "no firewall mark".
        let fw = if fw.trim().is_empty() { "0" } else { fw };
        if fw.trim() == "0" && virtual_shown(ed.before(), vname, "fwmark") != "0" {
            ed.unset("fwmark", &t, "fwmark");
        } else {
            ed.text("fwmark", &t, "fwmark", Some(fw));
        }
    }
    ed.text("reentry", &t, "reentry", param(p, "reentry"));
    ed.text("timeout", &t, "timeout", param(p, "timeout"));
    if let Some(q) = param(p, "quiesce_server") {
        if q != "0" && q != "1" {
            ed.errors.field("quiesce_server", "choose Yes or No");
        } else {
            ed.text("quiesce_server", &t, "quiesce_server", Some(q));
        }
    }
    if let Some(l) = param(p, "load") {
        // The command already in the file (Piranha's nanny ran any value
        // as one) may be kept; a new one is typed in lvs.cf, not chosen.
        let kept = l == virtual_shown(ed.before(), vname, "load_monitor");
        if !kept && !["none", "rup", "ruptime", "uptime"].contains(&l) {
            ed.errors
                .field("load", "choose none, rup, ruptime or uptime");
        } else {
            ed.text("load", &t, "load_monitor", Some(l));
        }
    }
    if let Some(s) = param(p, "sched") {
        if !SCHEDULERS.iter().any(|(k, _)| *k == s) {
            ed.errors.field("sched", "choose a scheduler from the list");
        } else {
            ed.text("sched", &t, "scheduler", Some(s));
        }
    }
    ed.text("persistent", &t, "persistent", param(p, "persistent"));
    select_mask(&mut ed, "pmask", &t, "pmask", param(p, "pmask"));
    let name = rename_from(&mut ed, "hostname", &t, vname, p);
    ed.finish().map(|_| name)
}

/// Real server edit (Piranha's `virtual_edit_real_edit.php`). Returns the
/// (possibly new) name.
pub fn apply_server_edit(
    doc: &mut Document,
    vname: &str,
    sname: &str,
    p: &Params,
) -> Result<String, FieldErrors> {
    let t = Target::Server {
        virtual_name: vname.to_string(),
        server: sname.to_string(),
    };
    let mut ed = Editor::new(doc);
    if !ed.doc.has_block(&t) {
        return Err(FieldErrors::general(format!("there is no single {t}")));
    }
    ed.text("address", &t, "address", param(p, "address"));
    ed.text("port", &t, "port", param(p, "port"));
    ed.text("weight", &t, "weight", param(p, "weight"));
    let name = rename_from(&mut ed, "name", &t, sname, p);
    ed.finish().map(|_| name)
}

/// MONITORING SCRIPTS (Piranha's `virtual_edit_services.php`);
/// `gen_service` is ACCEPT, NO SEND PROGRAM, BLANK SEND or BLANK EXPECT. On
/// ACCEPT empty fields keep their value.
pub fn apply_scripts(
    doc: &mut Document,
    vname: &str,
    p: &Params,
    policy: &exec_policy::Policy,
) -> Result<bool, FieldErrors> {
    apply_service_scripts(doc, &Target::Virtual(vname.to_string()), p, policy)
}

/// The program fields of a monitoring-scripts page: a failover service
/// also has the commands that start and stop it.
pub fn script_fields(t: &Target) -> &'static [&'static str] {
    match t {
        Target::Failover(_) => &["send_program", "send", "expect", "start_cmd", "stop_cmd"],
        _ => &["send_program", "send", "expect"],
    }
}

/// The native-check and quorum keywords of a virtual server's MONITORING
/// SCRIPTS (our extension, lvscf-parser's `native` module), in the order
/// the panel shows them and writes them to lvs.cf. Unlike the program
/// fields, the form shows their values, so an empty field removes the
/// keyword (and `check` = none removes `check`).
pub const NATIVE_FIELDS: &[&str] = &[
    "check",
    "check_url",
    "check_status",
    "check_host",
    "check_ca",
    "check_cert_days",
    "check_query",
    "quorum",
    "hysteresis",
];

/// [`apply_scripts`] for a virtual or failover block.
pub fn apply_service_scripts(
    doc: &mut Document,
    t: &Target,
    p: &Params,
    policy: &exec_policy::Policy,
) -> Result<bool, FieldErrors> {
    let mut ed = Editor::checking(doc, policy);
    if !ed.doc.has_block(t) {
        return Err(FieldErrors::general(format!("there is no single {t}")));
    }
    match param(p, "gen_service").unwrap_or("ACCEPT") {
        "NO SEND PROGRAM" => ed.unset("send_program", t, "send_program"),
        "BLANK SEND" => ed.unset("send", t, "send"),
        "BLANK EXPECT" => ed.unset("expect", t, "expect"),
        "ACCEPT" => {
            for k in script_fields(t) {
                if let Some(v) = param(p, k) {
                    if !v.is_empty() {
                        ed.text(k, t, k, Some(v));
                    }
                }
            }
            ed.checkbox("use_regex", t, "use_regex", p);
            if matches!(t, Target::Virtual(_)) {
                for k in NATIVE_FIELDS {
                    ed.text(k, t, k, param(p, k));
                }
            }
        }
        _ => ed.errors.general.push("unknown action".into()),
    }
    ed.finish()
}

/// The failover page (Piranha's `failover_edit_virt.php`: Name, Address,
/// Netmask, Port, Device, Timeout). Returns the (possibly new) name.
pub fn apply_failover_edit(
    doc: &mut Document,
    fname: &str,
    p: &Params,
) -> Result<String, FieldErrors> {
    let t = Target::Failover(fname.to_string());
    let mut ed = Editor::new(doc);
    if !ed.before().failovers.iter().any(|f| f.name == fname) || !ed.doc.has_block(&t) {
        return Err(FieldErrors::general(format!(
            "there is no single failover service `{fname}`"
        )));
    }
    address_and_device(&mut ed, &t, p);
    select_mask(&mut ed, "vip_nmask", &t, "vip_nmask", param(p, "vip_nmask"));
    ed.text("port", &t, "port", param(p, "port"));
    ed.text("timeout", &t, "timeout", param(p, "timeout"));
    let name = rename_from(&mut ed, "name", &t, fname, p);
    ed.finish().map(|_| name)
}
