//! From submitted forms to edits of lvs.cf (pure: no I/O).
//!
//! Each panel's form is applied to a [`Document`] through the parser's edit
//! API, so only the lines of changed fields change. A field whose submitted
//! value equals what the form showed is left alone (its line keeps its
//! bytes); an emptied field removes its line (the keyword goes back to its
//! default). After the edits the document must load: every error is mapped
//! back to the field that caused it, and a value that would not read back
//! exactly as typed is refused.

use lvscf_parser::keywords::{self, Level, ValueKind};
use lvscf_parser::write::{global_value, server_value, virtual_value};
use lvscf_parser::{Config, Document, EditError, Target};
use std::collections::BTreeMap;

/// Decoded form or query parameters, in order.
pub type Params = Vec<(String, String)>;

/// The first value of a parameter.
pub fn param<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Netmasks offered in select lists: /32 down to /16, as Piranha.
pub fn netmask_choices() -> Vec<String> {
    (16..=32u32)
        .rev()
        .map(|p| {
            let bits = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            std::net::Ipv4Addr::from(bits).to_string()
        })
        .collect()
}

/// Persistence prefix lengths offered for IPv6 virtual servers (the kernel
/// groups clients by this many leading bits; /64 is one customer's network).
pub const IPV6_PERSISTENCE_PREFIXES: &[u8] = &[128, 120, 112, 96, 80, 64, 56, 48];

/// Schedulers with their labels: Piranha's eight, then the newer kernel ones.
pub const SCHEDULERS: &[(&str, &str)] = &[
    ("rr", "Round robin"),
    ("wlc", "Weighted least-connections"),
    ("wrr", "Weighted round robin"),
    ("lc", "Least-connection"),
    ("lblc", "Locality-Based Least-Connection Scheduling"),
    ("lblcr", "Locality-Based Least-Connection Scheduling (R)"),
    ("dh", "Destination Hash Scheduling"),
    ("sh", "Source Hash Scheduling"),
    ("sed", "Shortest Expected Delay"),
    ("nq", "Never Queue"),
    ("fo", "Weighted Failover"),
    ("ovf", "Weighted Overflow"),
    ("mh", "Maglev Hashing"),
    ("twos", "Weighted Random Twos Choice"),
];

/// Errors of one submission: per form field, and general ones.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors {
    /// Form field name -> message.
    pub fields: BTreeMap<String, String>,
    /// Errors that belong to no field.
    pub general: Vec<String>,
}

impl FieldErrors {
    /// Whether there is any error.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    fn field(&mut self, name: &str, msg: impl Into<String>) {
        self.fields
            .entry(name.to_string())
            .or_insert_with(|| msg.into());
    }

    /// A general error.
    pub fn general(msg: impl Into<String>) -> FieldErrors {
        FieldErrors {
            fields: BTreeMap::new(),
            general: vec![msg.into()],
        }
    }
}

/// Characters that can never be part of an lvs.cf line.
pub fn bad_chars(value: &str) -> Option<&'static str> {
    if value.contains(['\r', '\n']) {
        Some("line breaks cannot be stored in lvs.cf")
    } else if value.contains('\0') {
        Some("NUL characters cannot be stored in lvs.cf")
    } else if value.chars().any(|c| c.is_control() && c != '\t') {
        Some("control characters cannot be stored in lvs.cf")
    } else if value.contains(['\u{2028}', '\u{2029}', '\u{85}']) {
        Some("Unicode line separators cannot be stored in lvs.cf")
    } else {
        None
    }
}

/// Longest value accepted in a field.
pub const MAX_FIELD_BYTES: usize = 4000;

/// The value a form shows for a global keyword.
pub fn global_shown(c: &Config, key: &str) -> String {
    global_value(c, key).unwrap_or_default()
}

/// The value a form shows for a virtual keyword.
pub fn virtual_shown(c: &Config, name: &str, key: &str) -> String {
    c.virtual_named(name)
        .and_then(|v| virtual_value(v, key))
        .unwrap_or_default()
}

/// The value a form shows for a server keyword (`port` only when set).
pub fn server_shown(c: &Config, vname: &str, sname: &str, key: &str) -> String {
    let Some(v) = c.virtual_named(vname) else {
        return String::new();
    };
    let Some(s) = v.servers.iter().find(|s| s.name == sname) else {
        return String::new();
    };
    if key == "port" {
        return s.port.map(|p| p.to_string()).unwrap_or_default();
    }
    server_value(v, s, key).unwrap_or_default()
}

fn level_of(t: &Target) -> Level {
    match t {
        Target::Global => Level::Global,
        Target::Virtual(_) | Target::Failover(_) => Level::Virtual,
        Target::Server { .. } => Level::Server,
    }
}

/// The effective value of `key` in `target` of `c`, as a form shows it.
pub fn shown(c: &Config, target: &Target, key: &str) -> String {
    match target {
        Target::Global => global_shown(c, key),
        Target::Virtual(n) => virtual_shown(c, n, key),
        Target::Failover(n) => c
            .failovers
            .iter()
            .find(|v| v.name == *n)
            .and_then(|v| virtual_value(v, key))
            .unwrap_or_default(),
        Target::Server {
            virtual_name,
            server,
        } => server_shown(c, virtual_name, server, key),
    }
}

/// Whether a keyword's value must read back exactly as typed (free text and
/// commands), rather than in a normalised form (numbers, addresses).
fn exact_round_trip(target: &Target, key: &str) -> bool {
    keywords::lookup(level_of(target), key)
        .map(|k| {
            matches!(
                k.kind,
                ValueKind::Text | ValueKind::Command | ValueKind::Word | ValueKind::Path
            )
        })
        .unwrap_or(false)
}

/// Keywords whose value is a whole command line root runs (checked as the
/// field is set; the load monitor's command, made of two keywords, is
/// checked on the edited file).
const PROGRAM_KEYS: &[&str] = &[
    "send_program",
    "active_cmd",
    "inactive_cmd",
    "start_cmd",
    "stop_cmd",
];

/// One edit made for a form field, remembered to map errors back.
#[derive(Debug, Clone)]
struct Touched {
    field: String,
    target: Target,
    key: String,
    value: Option<String>,
}

/// Applies field edits to a document and checks the result.
pub struct Editor<'d> {
    /// The document being edited.
    pub doc: &'d mut Document,
    before: Config,
    touched: Vec<Touched>,
    /// Errors so far.
    pub errors: FieldErrors,
    /// Whether any line changed.
    pub changed: bool,
    /// The daemons' exec policy, when program fields are to be checked
    /// against it (forms that can name a program).
    policy: Option<exec_policy::Policy>,
}

impl<'d> Editor<'d> {
    /// Starts editing `doc`.
    pub fn new(doc: &'d mut Document) -> Editor<'d> {
        let before = doc.config().clone();
        Editor {
            doc,
            before,
            touched: Vec::new(),
            errors: FieldErrors::default(),
            changed: false,
            policy: None,
        }
    }

    /// Starts editing `doc` with the commands it names checked against
    /// `policy`, as the daemons will check them.
    pub fn checking(doc: &'d mut Document, policy: &exec_policy::Policy) -> Editor<'d> {
        let mut ed = Editor::new(doc);
        ed.policy = Some(policy.clone());
        ed
    }

    /// The configuration as it was before any edit.
    pub fn before(&self) -> &Config {
        &self.before
    }

    fn edit_error(&mut self, field: &str, e: EditError) {
        self.errors.field(field, e.to_string());
    }

    /// Validates a submitted value's characters and length.
    pub fn check_chars(&mut self, field: &str, value: &str) -> bool {
        if let Some(why) = bad_chars(value) {
            self.errors.field(field, why);
            return false;
        }
        if value.len() > MAX_FIELD_BYTES {
            self.errors.field(
                field,
                format!("at most {MAX_FIELD_BYTES} bytes are accepted"),
            );
            return false;
        }
        true
    }

    /// Sets `key` to `value` unconditionally.
    pub fn set(&mut self, field: &str, target: &Target, key: &str, value: &str) {
        if !self.check_chars(field, value) {
            return;
        }
        if let (Some(policy), true) = (&self.policy, PROGRAM_KEYS.contains(&key)) {
            if let Err(why) = policy.check(value) {
                self.errors
                    .field(field, format!("the daemons would not run this: {why}"));
                return;
            }
        }
        match self.doc.set(target, key, value) {
            Ok(()) => {
                self.changed = true;
                self.touched.push(Touched {
                    field: field.to_string(),
                    target: target.clone(),
                    key: key.to_string(),
                    value: Some(value.to_string()),
                });
            }
            Err(e) => self.edit_error(field, e),
        }
    }

    /// Removes `key` (back to its default).
    pub fn unset(&mut self, field: &str, target: &Target, key: &str) {
        match self.doc.unset(target, key) {
            Ok(removed) => {
                self.changed |= removed;
                self.touched.push(Touched {
                    field: field.to_string(),
                    target: target.clone(),
                    key: key.to_string(),
                    value: None,
                });
            }
            Err(e) => self.edit_error(field, e),
        }
    }

    /// A text field: unchanged -> nothing; empty -> unset; else set.
    /// `None` (field not submitted) changes nothing.
    pub fn text(&mut self, field: &str, target: &Target, key: &str, submitted: Option<&str>) {
        let Some(raw) = submitted else { return };
        if !self.check_chars(field, raw) {
            return;
        }
        let value = if exact_round_trip(target, key) && matches!(key, "send" | "expect") {
            raw
        } else {
            raw.trim()
        };
        let current = shown(&self.before, target, key);
        if value == current {
            return;
        }
        if value.is_empty() {
            self.unset(field, target, key);
        } else {
            self.set(field, target, key, value);
        }
    }

    /// A checkbox: present (any value) = 1, absent = 0; set only on change.
    pub fn checkbox(&mut self, field: &str, target: &Target, key: &str, p: &Params) {
        let value = if param(p, field).is_some() { "1" } else { "0" };
        if shown(&self.before, target, key) != value {
            self.set(field, target, key, value);
        }
    }

    /// Checks the edited document: it must load, and every free-text value
    /// must read back exactly as submitted.
    pub fn finish(mut self) -> Result<bool, FieldErrors> {
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        if self.doc.has_errors() {
            let structure = self.doc.structure().clone();
            let config = self.doc.config().clone();
            for d in self.doc.diagnostics().iter().filter(|d| d.is_error()) {
                let line0 = d.line.saturating_sub(1);
                let owner = self.touched.iter().find(|t| {
                    let block = block_index(&structure, &config, &t.target);
                    let in_block = match (&t.target, block) {
                        (Target::Global, _) => structure.blocks.iter().all(|b| {
                            !(b.header <= line0 && line0 <= b.close.unwrap_or(usize::MAX))
                        }),
                        (_, Some(b)) => {
                            let info = &structure.blocks[b];
                            info.header <= line0 && line0 <= info.close.unwrap_or(usize::MAX)
                        }
                        _ => false,
                    };
                    d.keyword.as_deref() == Some(t.key.as_str()) && in_block
                });
                let msg = match &d.hint {
                    Some(h) => format!("{} ({h})", d.message),
                    None => d.message.clone(),
                };
                match owner {
                    Some(t) => {
                        let f = t.field.clone();
                        self.errors.field(&f, msg);
                    }
                    None => self.errors.general.push(format!("line {}: {msg}", d.line)),
                }
            }
            if self.errors.is_empty() {
                self.errors.general.push("the file would not load".into());
            }
            return Err(self.errors);
        }
        let after = self.doc.config().clone();
        self.refuse_unrunnable_programs(&after);
        for t in &self.touched {
            let Some(v) = &t.value else { continue };
            if !exact_round_trip(&t.target, &t.key) {
                continue;
            }
            let back = shown(&after, &t.target, &t.key);
            if back != *v {
                self.errors.field(
                    &t.field,
                    format!("this value cannot be stored exactly (it would read back as {back:?})"),
                );
            }
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        Ok(self.changed)
    }
}

impl Editor<'_> {
    /// The daemons decide what root runs (the exec policy); a save that
    /// would name a program they refuse is refused here with their reason,
    /// on the field that named it.
    fn refuse_unrunnable_programs(&mut self, after: &Config) {
        let refused = match &self.policy {
            Some(p) => p.newly_refused(&self.before, after),
            None => Vec::new(),
        };
        for (c, why) in refused {
            let target = match &c.origin {
                exec_policy::Origin::Global => Target::Global,
                exec_policy::Origin::Virtual { name, .. } => Target::Virtual(name.clone()),
                exec_policy::Origin::Failover { name, .. } => Target::Failover(name.clone()),
            };
            // The load monitor's command is made of load_monitor (its
            // block) and rsh_command (global): blame whichever was edited.
            let keys: &[&str] = match c.key {
                "load_monitor" => &["load_monitor", "rsh_command"],
                k => &[k][..],
            };
            let field = self
                .touched
                .iter()
                .find(|t| {
                    keys.contains(&t.key.as_str()) && (t.target == target || t.key == "rsh_command")
                })
                .map(|t| t.field.clone());
            let msg = format!("the daemons would not run this: {why}");
            match field {
                Some(f) => self.errors.field(&f, msg),
                None => self
                    .errors
                    .general
                    .push(format!("{} {}: {msg}", c.origin, c.key)),
            }
        }
    }
}

fn block_index(
    s: &lvscf_parser::analyze::Structure,
    config: &lvscf_parser::Config,
    t: &Target,
) -> Option<usize> {
    use lvscf_parser::analyze::BlockKind;
    let named = |b: usize, n: &str| s.block_name(config, b) == n;
    match t {
        Target::Global => None,
        Target::Virtual(n) => s
            .blocks
            .iter()
            .enumerate()
            .position(|(i, b)| b.kind == BlockKind::Virtual && named(i, n)),
        Target::Failover(n) => s
            .blocks
            .iter()
            .enumerate()
            .position(|(i, b)| b.kind == BlockKind::Failover && named(i, n)),
        Target::Server {
            virtual_name,
            server,
        } => {
            let parent = s
                .blocks
                .iter()
                .enumerate()
                .position(|(i, b)| b.kind == BlockKind::Virtual && named(i, virtual_name))?;
            s.blocks.iter().enumerate().position(|(i, b)| {
                b.kind == BlockKind::Server && b.parent == Some(parent) && named(i, server)
            })
        }
    }
}

/// Piranha turns blanks typed into names into `_`.
pub fn clean_name(name: &str) -> String {
    name.trim().replace([' ', '\t'], "_")
}

// ----- panels -------------------------------------------------------------

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
    } else if network.is_some() && !global_shown(ed.before(), "nat_router").is_empty() {
        // Direct routing and tunnelling have no NAT router (as Piranha).
        ed.unset("network", &g, "nat_router");
    }
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
            general: vec![],
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
fn address_and_device(ed: &mut Editor<'_>, t: &Target, p: &Params) {
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
        if !["none", "rup", "ruptime", "uptime"].contains(&l) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A policy with no allowlist: no program may run.
    fn no_programs() -> exec_policy::Policy {
        exec_policy::Policy::load_from(std::path::Path::new("/nonexistent/lvs-programs"))
    }

    const BASE: &str = "# site comment\nserial_no = 3\nprimary = 10.0.0.1\nservice = lvs\nnetwork = direct\n# before the virtual\nvirtual web {\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port = 80\n     send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n     expect = \"HTTP\"\n     scheduler = wlc\n     server r1 {\n         address = 10.0.1.11\n         active = 1\n         weight = 1\n     }\n}\n";

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn doc() -> Document {
        let d = Document::parse("lvs.cf", BASE);
        assert!(!d.has_errors(), "{:?}", d.diagnostics());
        d
    }

    #[test]
    fn unchanged_form_changes_nothing() {
        let mut d = doc();
        let c = d.config().clone();
        let form = p(&[
            ("hostname", "web"),
            ("port", &virtual_shown(&c, "web", "port")),
            ("protocol", "tcp"),
            ("address", "10.0.0.100"),
            ("device", "eth0:1"),
            ("vip_nmask", "Unused"),
            ("sorry_server", ""),
            ("fwmark", ""),
            ("reentry", &virtual_shown(&c, "web", "reentry")),
            ("timeout", &virtual_shown(&c, "web", "timeout")),
            ("quiesce_server", "0"),
            ("load", "none"),
            ("sched", "wlc"),
            ("persistent", "0"),
            ("pmask", "Unused"),
        ]);
        assert_eq!(
            apply_virtual_edit(&mut d, "web", &form, &no_programs()),
            Ok("web".to_string())
        );
        assert_eq!(d.as_bytes(), BASE.as_bytes());
    }

    #[test]
    fn one_field_changes_one_line() {
        let mut d = doc();
        apply_virtual_edit(&mut d, "web", &p(&[("port", "8080")]), &no_programs()).expect("edit");
        assert_eq!(
            String::from_utf8_lossy(d.as_bytes()),
            BASE.replace("port = 80\n", "port = 8080\n")
        );
    }

    #[test]
    fn bad_values_map_to_their_field() {
        for (field, value) in [
            ("port", "http-nope"),
            ("port", "70000"),
            ("timeout", "x"),
            ("address", "1.2.3"),
        ] {
            let mut d = doc();
            let mut form = p(&[(field, value)]);
            if field == "address" {
                form.push(("device".into(), "eth0:1".into()));
            }
            let e = apply_virtual_edit(&mut d, "web", &form, &no_programs()).expect_err(value);
            assert!(e.fields.contains_key(field), "{field}={value}: {e:?}");
        }
        let mut d = doc();
        let e = apply_virtual_edit(
            &mut d,
            "web",
            &p(&[("address", "10.0.0.5"), ("device", "")]),
            &no_programs(),
        )
        .expect_err("device");
        assert!(e.fields.contains_key("device"));
    }

    #[test]
    fn injection_is_refused() {
        for v in [
            "80\nactive_cmd = /bin/sh",
            "80\r",
            "8\u{0}0",
            "a\u{2028}b",
            "x\u{85}",
        ] {
            let mut d = doc();
            let e =
                apply_virtual_edit(&mut d, "web", &p(&[("port", v)]), &no_programs()).expect_err(v);
            assert!(e.fields.contains_key("port"));
            let mut d = doc();
            let e = apply_scripts(&mut d, "web", &p(&[("send", v)]), &no_programs()).expect_err(v);
            assert!(e.fields.contains_key("send"));
        }
    }

    #[test]
    fn text_round_trips_or_is_refused() {
        for v in [
            "GET /x HTTP/1.0\\r\\n",
            "a'b c",
            "{ } # =",
            "\"quoted\"",
            "tab\there",
            "x",
        ] {
            let mut d = doc();
            match apply_scripts(
                &mut d,
                "web",
                &p(&[("gen_service", "ACCEPT"), ("send", v)]),
                &no_programs(),
            ) {
                Ok(_) => assert_eq!(virtual_shown(d.config(), "web", "send"), v, "{v}"),
                Err(e) => assert!(e.fields.contains_key("send"), "{v}: {e:?}"),
            }
            // Structure unchanged either way.
            assert_eq!(d.config().virtuals.len(), 1);
            assert_eq!(d.config().virtuals[0].servers.len(), 1);
        }
    }

    #[test]
    fn add_defaults_as_piranha() {
        let mut d = doc();
        let name = add_virtual(&mut d, None).expect("add");
        assert_eq!(name, "[server_name]");
        let v = d.config().virtual_named(&name).expect("added").clone();
        assert_eq!(v.port, 80);
        assert_eq!(v.timeout, 6);
        assert_eq!(v.reentry, 15);
        assert!(!v.active);
        let second = add_virtual(&mut d, None).expect("add");
        assert_eq!(second, "[server_name]_2");
        let s1 = add_server(&mut d, "web", Some("r 2")).expect("server");
        assert_eq!(s1, "r_2");
        let s2 = add_server(&mut d, "web", None).expect("server");
        let s3 = add_server(&mut d, "web", None).expect("server");
        assert_ne!(s2, s3);
        assert!(String::from_utf8_lossy(d.as_bytes()).starts_with("# site comment\n"));
    }

    #[test]
    fn toggle_delete_rename() {
        let mut d = doc();
        toggle_active(&mut d, &Target::Virtual("web".into())).expect("toggle");
        assert!(!d.config().virtuals[0].active);
        toggle_active(&mut d, &Target::Virtual("web".into())).expect("toggle");
        assert!(d.config().virtuals[0].active);
        let n = apply_virtual_edit(
            &mut d,
            "web",
            &p(&[("hostname", "new web")]),
            &no_programs(),
        )
        .expect("rename");
        assert_eq!(n, "new_web");
        delete(
            &mut d,
            &Target::Server {
                virtual_name: n.clone(),
                server: "r1".into(),
            },
        )
        .expect("del");
        assert!(d.config().virtuals[0].servers.is_empty());
        delete(&mut d, &Target::Virtual(n)).expect("del");
        assert!(d.config().virtuals.is_empty());
        assert!(String::from_utf8_lossy(d.as_bytes()).contains("# before the virtual\n"));
    }

    #[test]
    fn global_and_redundancy() {
        let mut d = doc();
        apply_global(
            &mut d,
            &p(&[
                ("PriLVSIP", "10.0.0.9"),
                ("network", "nat"),
                ("NATRtrIP", "192.168.1.254"),
                ("NATRtrDev", "eth1:1"),
                ("nat_nmask", "255.255.255.0"),
            ]),
            &no_programs(),
        )
        .expect("global");
        let c = d.config();
        assert_eq!(global_shown(c, "primary"), "10.0.0.9");
        assert_eq!(global_shown(c, "nat_router"), "192.168.1.254 eth1:1");
        let e = apply_global(
            &mut d,
            &p(&[
                ("network", "nat"),
                ("NATRtrIP", "192.168.1.254"),
                ("NATRtrDev", ""),
            ]),
            &no_programs(),
        )
        .expect_err("dev");
        assert!(e.fields.contains_key("NATRtrDev"));
        let e = apply_global(
            &mut d,
            &p(&[("active_cmd", "relative/cmd")]),
            &no_programs(),
        )
        .expect_err("cmd");
        assert!(e.fields.contains_key("active_cmd"));
        apply_redundancy(&mut d, &p(&[("redundancy_action", "ENABLE")])).expect("enable");
        assert!(d.config().backup_active);
        apply_redundancy(
            &mut d,
            &p(&[
                ("redundancy_action", "ACCEPT"),
                ("redundant", "10.0.0.2"),
                ("hb_interval", "2"),
                ("dead_after", "10"),
                ("hb_port", "539"),
                ("monitor_links", "1"),
            ]),
        )
        .expect("accept");
        assert!(d.config().monitor_links);
        let e = apply_redundancy(
            &mut d,
            &p(&[("redundancy_action", "ACCEPT"), ("hb_interval", "x")]),
        )
        .expect_err("x");
        assert!(e.fields.contains_key("hb_interval"));
    }

    #[test]
    fn send_program_must_be_runnable() {
        // Refused whether or not this machine has an allowlist: nothing
        // lists a program that does not exist. (The allowed path is tested
        // over HTTP with a list of the test's own.)
        let mut d = doc();
        let e = apply_scripts(
            &mut d,
            "web",
            &p(&[("send_program", "/nonexistent/check %h")]),
            &no_programs(),
        )
        .expect_err("prog");
        let msg = &e.fields["send_program"];
        assert!(msg.starts_with("the daemons would not run this: "), "{msg}");
    }
}
