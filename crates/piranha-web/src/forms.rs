//! From submitted form fields to edits of lvs.cf (pure: no I/O).
//!
//! The [`Editor`] applies one field at a time to a [`Document`] through the
//! parser's edit API, so only the lines of changed fields change. A field
//! whose submitted value equals what the form showed is left alone (its
//! line keeps its bytes); an emptied field removes its line (the keyword
//! goes back to its default). After the edits the document must load: every
//! error is mapped back to the field that caused it, and a value that would
//! not read back exactly as typed is refused. The panels' forms, made of
//! these field edits, are in the `edits` module.

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
    /// Warnings per form field: the edit loads, but the parser warns
    /// (shown before saving, with SAVE ANYWAY).
    pub warnings: BTreeMap<String, String>,
    /// Warnings that belong to no field.
    pub general_warnings: Vec<String>,
}

impl FieldErrors {
    /// Whether there is any error.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    /// An error on form field `name` (the first one a field gets stays).
    pub fn field(&mut self, name: &str, msg: impl Into<String>) {
        self.fields
            .entry(name.to_string())
            .or_insert_with(|| msg.into());
    }

    /// A general error.
    pub fn general(msg: impl Into<String>) -> FieldErrors {
        FieldErrors {
            general: vec![msg.into()],
            ..FieldErrors::default()
        }
    }

    /// Whether there are warnings and nothing else.
    pub fn only_warnings(&self) -> bool {
        self.is_empty() && !(self.warnings.is_empty() && self.general_warnings.is_empty())
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

    /// The parser refused an edit made for `field`.
    pub fn edit_error(&mut self, field: &str, e: EditError) {
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
            for d in self.doc.diagnostics().iter().filter(|d| d.is_error()) {
                let line0 = d.line.saturating_sub(1);
                // The last edit first: a real server's block lies inside its
                // virtual server's, so the innermost edit of the key wins.
                let owner = self.touched.iter().rev().find(|t| {
                    let block = self.doc.block_index(&t.target).ok();
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
                    // Of a field the form does not show: named by its
                    // keyword, never by a line of the file.
                    None => self.errors.general.push(match &d.keyword {
                        Some(k) => format!("{k}: {msg}"),
                        None => msg,
                    }),
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

/// Piranha turns blanks typed into names into `_`.
pub fn clean_name(name: &str) -> String {
    name.trim().replace([' ', '\t'], "_")
}
