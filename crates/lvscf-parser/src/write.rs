//! Writing values and whole files the way Piranha's GUI (`secure/parse.php`)
//! lays them out, so that old daemons and the old GUI still read every file
//! we write: `serial_no` first, then the globals at column 0 in the GUI's
//! order, then the `failover` blocks, then the `virtual` blocks with their
//! keywords indented by five spaces and their servers' by nine, `}` lines
//! closing each, no blank lines. A value is quoted only where the tokenizer
//! needs it, except that `send` and `expect` are always in double quotes,
//! and a command line with blanks is too, as the GUI wrote them (Piranha's
//! lvsd strips only double quotes).

use crate::keywords::{self, Keyword, Level, ValueKind};
use crate::model::*;

/// A value or name that cannot be written as lvs.cf text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unwritable {
    /// A line break or another control character (a tab is fine): lvs.cf
    /// has no escapes, so it would end or break the line.
    #[error("line breaks and control characters cannot be written in lvs.cf")]
    ControlCharacter,
    /// A value with blanks needs quotes, and lvs.cf quotes cannot be
    /// escaped: one that holds both `"` and `'` has no quote left.
    #[error("a value with blanks cannot hold both kinds of quote")]
    BothQuotes,
    /// A word of a multi-word value (`address`, `nat_router`, `dirs`) that
    /// starts with a quote would be read back as a quoted word.
    #[error("`{0}` cannot start with a quote")]
    LeadingQuote(String),
    /// Not one word that reads back as itself.
    #[error("`{0}` is not a valid block name: one word, without blanks or leading quotes")]
    BlockName(String),
}

fn has_blank(s: &str) -> bool {
    s.contains([' ', '\t'])
}

fn check_line_safe(s: &str) -> Result<(), Unwritable> {
    if s.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Unwritable::ControlCharacter);
    }
    Ok(())
}

/// One word: bare when possible, else quoted with a quote it does not hold.
fn word(s: &str, prefer_double_quotes: bool) -> Result<String, Unwritable> {
    check_line_safe(s)?;
    let bare_ok = !s.is_empty() && !has_blank(s) && !s.starts_with(['"', '\'']);
    if prefer_double_quotes && !s.contains('"') {
        return Ok(format!("\"{s}\""));
    }
    if bare_ok {
        return Ok(s.to_string());
    }
    if !s.contains('"') {
        return Ok(format!("\"{s}\""));
    }
    if !s.contains('\'') {
        return Ok(format!("'{s}'"));
    }
    Err(Unwritable::BothQuotes)
}

/// Formats `value` (the words after `=`, as a user would type them without
/// quotes) for `keyword`. Multi-word keywords (`address`, `nat_router`,
/// `dirs`) split `value` on blanks.
pub fn format_value(keyword: &Keyword, value: &str) -> Result<String, Unwritable> {
    check_line_safe(value)?;
    match keyword.kind {
        ValueKind::HostDevice | ValueKind::List | ValueKind::Words(_) => {
            let words: Vec<&str> = value.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
            for w in &words {
                if w.starts_with(['"', '\'']) {
                    return Err(Unwritable::LeadingQuote(w.to_string()));
                }
            }
            if keyword.kind == ValueKind::List {
                let inner: Vec<&str> = words
                    .into_iter()
                    .filter(|w| *w != "[" && *w != "]")
                    .collect();
                Ok(format!("[ {} ]", inner.join(" ")))
            } else {
                Ok(words.join(" "))
            }
        }
        // The GUI writes send, expect and send_program in double quotes, and
        // Piranha's lvsd strips only double quotes.
        ValueKind::Text => word(value, true),
        ValueKind::Command => word(value, has_blank(value)),
        _ => word(value, false),
    }
}

/// Checks a block name: one word the tokenizer reads back as itself.
pub fn check_block_name(name: &str) -> Result<(), Unwritable> {
    check_line_safe(name)?;
    if name.is_empty()
        || has_blank(name)
        || name.starts_with(['"', '\''])
        || name == "{"
        || name == "}"
    {
        return Err(Unwritable::BlockName(name.to_string()));
    }
    Ok(())
}

fn b(v: bool) -> Option<String> {
    Some(if v { "1" } else { "0" }.to_string())
}

fn s<T: ToString>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(ToString::to_string)
}

fn addr(v: &Option<AddressOnDevice>) -> Option<String> {
    v.as_ref().map(|a| format!("{} {}", a.host, a.device))
}

/// The effective value of a global keyword, as the words after `=`
/// (unquoted). `None` when it is not set and has no default.
pub fn global_value(c: &Config, key: &str) -> Option<String> {
    match key {
        "serial_no" => Some(c.serial_no.to_string()),
        "primary" => s(&c.primary),
        "primary_private" => s(&c.primary_private),
        "primary_shared" => c.primary_shared.clone(),
        "service" => Some(c.service.to_string()),
        "rsh_command" => Some(c.rsh_command.clone()),
        "backup_active" => b(c.backup_active),
        "backup" => s(&c.backup),
        "backup_private" => s(&c.backup_private),
        "backup_shared" => c.backup_shared.clone(),
        "heartbeat" => b(c.heartbeat),
        "heartbeat_port" => Some(c.heartbeat_port.to_string()),
        "heartbeat_key" => c.heartbeat_key.clone(),
        "heartbeat_auth" => s(&c.heartbeat_auth),
        "keepalive" => Some(format_seconds(c.keepalive)),
        "deadtime" => Some(format_seconds(c.deadtime)),
        "network" => Some(c.network.to_string()),
        "nat_router" => addr(&c.nat_router),
        "nat_nmask" => s(&c.nat_nmask),
        "reservation_conflict_action" => s(&c.reservation_conflict_action),
        "debug_level" => Some(c.debug_level.clone()),
        "monitor_links" => b(c.monitor_links),
        "syncdaemon" => b(c.syncdaemon),
        "syncd_iface" => Some(c.syncd_iface.clone()),
        "syncd_id" => Some(c.syncd_id.to_string()),
        "tcp_timeout" => Some(c.tcp_timeout.to_string()),
        "tcpfin_timeout" => Some(c.tcpfin_timeout.to_string()),
        "udp_timeout" => Some(c.udp_timeout.to_string()),
        "active_cmd" => c.active_cmd.as_ref().map(|x| x.text.clone()),
        "inactive_cmd" => c.inactive_cmd.as_ref().map(|x| x.text.clone()),
        "hard_shutdown" => b(c.hard_shutdown),
        "ipvsadm" => Some(c.ipvsadm.clone()),
        "sync" => b(c.sync),
        // Extensions: absent unless set, so that pair-mode dumps read as before.
        "router_mode" => (!c.router_mode.is_pair()).then(|| c.router_mode.to_string()),
        "anycast_interface" => c.anycast_interface.clone(),
        _ => None,
    }
}

/// The effective value of a virtual (or failover) keyword.
pub fn virtual_value(v: &VirtualServer, key: &str) -> Option<String> {
    match key {
        "active" => b(v.active),
        "address" => addr(&v.address),
        "sorry_server" => s(&v.sorry_server),
        "vip_nmask" => s(&v.vip_nmask),
        "fwmark" => Some(v.fwmark.unwrap_or(0).to_string()),
        "port" => Some(v.port.to_string()),
        "persistent" => Some(v.persistent.to_string()),
        "pmask" => s(&v.pmask),
        "send" => v.send.clone(),
        "expect" => v.expect.clone(),
        "use_regex" => b(v.use_regex),
        "send_program" => v.send_program.as_ref().map(|x| x.text.clone()),
        "load_monitor" => Some(v.load_monitor.to_string()),
        "scheduler" => Some(v.scheduler.to_string()),
        "protocol" => Some(v.protocol.to_string()),
        "timeout" => Some(v.timeout.to_string()),
        "reentry" => Some(v.reentry.to_string()),
        "quiesce_server" => b(v.quiesce_server),
        "client_monitor" => Some(v.client_monitor.clone()),
        "start_cmd" => v.start_cmd.clone(),
        "stop_cmd" => v.stop_cmd.clone(),
        "master" => s(&v.master),
        "dirs" => v.dirs.as_ref().map(|d| d.join(" ")),
        _ => v.health.value(key),
    }
}

/// The effective value of a server keyword (`port` falls back to the
/// virtual's).
pub fn server_value(v: &VirtualServer, sv: &RealServer, key: &str) -> Option<String> {
    match key {
        "address" => s(&sv.address),
        "active" => b(sv.active),
        "port" => Some(v.server_port(sv).to_string()),
        "weight" => Some(sv.weight.to_string()),
        _ => None,
    }
}

/// Keywords Piranha's GUI always writes, even at their default.
const GUI_ALWAYS: &[&str] = &[
    "serial_no",
    "service",
    "backup_active",
    "heartbeat",
    "heartbeat_port",
    "keepalive",
    "deadtime",
    "network",
    "debug_level",
    "monitor_links",
    "syncdaemon",
    "active",
    "address",
    "port",
    "use_regex",
    "load_monitor",
    "scheduler",
    "protocol",
    "timeout",
    "reentry",
    "quiesce_server",
    "weight",
];

fn order(level: Level, failover: bool) -> Vec<&'static Keyword> {
    let mut keys: Vec<&'static Keyword> = keywords::KEYWORDS
        .iter()
        .filter(|k| k.level == level)
        .collect();
    keys.sort_by_key(|k| keywords::gui_rank(level, failover, k.name));
    keys
}

fn emit(
    out: &mut String,
    indent: &str,
    keyword: &Keyword,
    value: Option<String>,
    default: Option<String>,
    all: bool,
) -> Result<(), Unwritable> {
    let Some(value) = value else {
        return Ok(());
    };
    if !all && !GUI_ALWAYS.contains(&keyword.name) && Some(&value) == default.as_ref() {
        return Ok(());
    }
    out.push_str(indent);
    out.push_str(keyword.name);
    out.push_str(" = ");
    out.push_str(&format_value(keyword, &value)?);
    out.push('\n');
    Ok(())
}

/// Writes a whole configuration in the GUI's layout: globals, then
/// `failover` blocks, then `virtual` blocks; five-space indentation for
/// block keywords, nine for server keywords, no blank lines.
pub fn write_config(c: &Config) -> Result<String, Unwritable> {
    write_layout(c, false)
}

/// Like [`write_config`], but every keyword that has a value is written,
/// defaults included: the effective configuration, for `lvscf dump`.
pub fn write_config_full(c: &Config) -> Result<String, Unwritable> {
    write_layout(c, true)
}

fn write_layout(c: &Config, all: bool) -> Result<String, Unwritable> {
    let mut out = String::new();
    let defaults = Config::default();
    for k in order(Level::Global, false) {
        emit(
            &mut out,
            "",
            k,
            global_value(c, k.name),
            global_value(&defaults, k.name),
            all,
        )?;
    }
    for (kind, list) in [("failover", &c.failovers), ("virtual", &c.virtuals)] {
        let failover = kind == "failover";
        for v in list.iter() {
            check_block_name(&v.name)?;
            out.push_str(&format!("{kind} {} {{\n", v.name));
            let vdefault = VirtualServer::new(v.name.clone());
            for k in order(Level::Virtual, failover) {
                emit(
                    &mut out,
                    "     ",
                    k,
                    virtual_value(v, k.name),
                    virtual_value(&vdefault, k.name),
                    all,
                )?;
            }
            for sv in &v.servers {
                check_block_name(&sv.name)?;
                out.push_str(&format!("     server {} {{\n", sv.name));
                for k in order(Level::Server, false) {
                    let value = if k.name == "port" {
                        sv.port.map(|p| p.to_string())
                    } else {
                        server_value(v, sv, k.name)
                    };
                    emit(&mut out, "         ", k, value, None, all)?;
                }
                out.push_str("     }\n");
            }
            out.push_str("}\n");
        }
    }
    Ok(out)
}
