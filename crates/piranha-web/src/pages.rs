//! The HTML pages (maud: every interpolated value is HTML-escaped).
//!
//! Plain server-rendered forms, no JavaScript, usable in a text browser.
//! Titles start with `Piranha (` as Piranha's did.

use crate::forms::{self, FieldErrors, Params};
use crate::status::{LvsdStatus, PulseStatus, ServiceStatus};
use lvscf_parser::{Document, Target};
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The embedded stylesheet.
pub const STYLE: &str = include_str!("../assets/style.css");

pub use crate::urls::{failover_url, seg, server_url, virtual_url};

/// Which top tab is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// CONTROL/MONITORING.
    Control,
    /// GLOBAL SETTINGS.
    Global,
    /// REDUNDANCY.
    Redundancy,
    /// VIRTUAL SERVERS.
    Virtual,
    /// No tab (login, help).
    None,
}

/// What every page of a logged-in user needs.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// CSRF token for forms.
    pub csrf: String,
    /// Messages shown on top (already plain text).
    pub notices: Vec<String>,
    /// Error messages shown on top.
    pub alerts: Vec<String>,
    /// Show the "saved: apply / copy to backup" banner with this serial.
    pub saved_serial: Option<u64>,
    /// Whether the user is logged in (shows the tabs).
    pub logged_in: bool,
    /// Meta refresh (seconds, url).
    pub refresh: Option<(u32, String)>,
    /// What the daemons' exec policy allows, for pages with program fields.
    pub programs: Option<ProgramsNote>,
}

/// The allowlist as the program fields' pages show it.
#[derive(Debug, Clone)]
pub struct ProgramsNote {
    /// The allowlist file.
    pub path: String,
    /// Its command lines, or why the daemons use none.
    pub entries: Result<Vec<String>, exec_policy::ListError>,
}

impl ProgramsNote {
    /// The note for `policy`.
    pub fn of(policy: &exec_policy::Policy, path: &std::path::Path) -> ProgramsNote {
        ProgramsNote {
            path: path.display().to_string(),
            entries: match policy.allowlist() {
                Ok(l) => Ok(l.entries().iter().map(|e| e.to_string()).collect()),
                Err(e) => Err(e.clone()),
            },
        }
    }
}

/// Which command lines the daemons may run: the program fields may name
/// only these (root edits the list; the web tool cannot).
fn programs_note(ctx: &Ctx) -> Markup {
    let Some(n) = &ctx.programs else {
        return html! {};
    };
    html! {
        div.programs id="allowed-programs" {
            p { strong { "Programs the daemons may run" } " (root-owned list " code { (n.path) } "; only root can change it):" }
            @match &n.entries {
                Ok(e) if e.is_empty() => p { "none: the list is empty, so any program named here will not run." }
                Ok(e) => ul { @for l in e { li { code { (l) } } } }
                Err(why) => p.alert { (why) }
            }
            p { small { "A command runs only if it is one of these lines word for word (a final * allows any further arguments)." } }
        }
    }
}

/// Submitted values and errors to show again in a form.
#[derive(Debug, Clone, Default)]
pub struct FormState {
    /// The values the user submitted (shown instead of the file's).
    pub submitted: Option<Params>,
    /// Errors per field and general.
    pub errors: FieldErrors,
}

impl FormState {
    fn value(&self, field: &str, current: String) -> String {
        match &self.submitted {
            Some(p) => forms::param(p, field)
                .map(str::to_string)
                .unwrap_or(current),
            None => current,
        }
    }
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.fields.get(field).map(String::as_str)
    }
}

/// The page frame.
pub fn layout(title: &str, tab: Tab, ctx: &Ctx, body: Markup) -> Markup {
    let tabs = [
        (Tab::Control, "/control", "CONTROL/MONITORING"),
        (Tab::Global, "/global", "GLOBAL SETTINGS"),
        (Tab::Redundancy, "/redundancy", "REDUNDANCY"),
        (Tab::Virtual, "/virtual", "VIRTUAL SERVERS"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                @if let Some((secs, url)) = &ctx.refresh {
                    meta http-equiv="refresh" content=(format!("{secs};url={url}"));
                }
                title { "Piranha (" (title) ")" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                div.banner {
                    span.logo { "PIRANHA" } " CONFIGURATION TOOL"
                    @if ctx.logged_in {
                        form.logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(ctx.csrf);
                            a href="/passwd" { "CHANGE PASSWORD" } " "
                            button type="submit" { "LOGOUT" }
                        }
                    }
                }
                @if ctx.logged_in {
                    nav.tabs {
                        @for (t, href, label) in tabs {
                            @if t == tab {
                                a.current href=(href) { (label) }
                            } @else {
                                a href=(href) { (label) }
                            }
                            " "
                        }
                    }
                }
                main {
                    h1 { (title) }
                    @for a in &ctx.alerts { p.alert role="alert" { (a) } }
                    @for n in &ctx.notices { p.notice { (n) } }
                    @if let Some(serial) = ctx.saved_serial {
                        div.saved {
                            p { "Changes saved to lvs.cf (serial_no " (serial) "). They take effect when pulse reloads the file, and the backup router needs the same file." }
                            (action_buttons(ctx))
                        }
                    }
                    (body)
                }
            }
        }
    }
}

/// APPLY and COPY TO BACKUP buttons.
pub fn action_buttons(ctx: &Ctx) -> Markup {
    html! {
        form.inline method="post" action="/apply" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            button type="submit" name="apply" value="1" { "APPLY (reload pulse)" }
        }
        " "
        form.inline method="post" action="/sync" {
            input type="hidden" name="csrf" value=(ctx.csrf);
            button type="submit" name="sync" value="1" { "COPY lvs.cf TO BACKUP" }
        }
    }
}

fn hidden(ctx: &Ctx, version: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(ctx.csrf);
        input type="hidden" name="version" value=(version);
    }
}

fn err(fs: &FormState, field: &str) -> Markup {
    html! {
        @if let Some(e) = fs.error(field) {
            span.err id=(format!("err-{field}")) { (e) }
        }
    }
}

fn general_errors(fs: &FormState) -> Markup {
    html! {
        @for e in &fs.errors.general { p.alert role="alert" { (e) } }
        @if !fs.errors.fields.is_empty() {
            p.alert role="alert" { "Nothing was saved: correct the fields marked below." }
        }
    }
}

fn text_row(fs: &FormState, label: &str, field: &str, current: String, help: &str) -> Markup {
    let v = fs.value(field, current);
    html! {
        tr {
            td { label for=(field) { (label) ":" } }
            td {
                input type="text" id=(field) name=(field) value=(v) size="30";
                @if !help.is_empty() { " " small { (help) } }
                (err(fs, field))
            }
        }
    }
}

fn select_row(
    fs: &FormState,
    label: &str,
    field: &str,
    current: String,
    options: &[(String, String)],
) -> Markup {
    let v = fs.value(field, current);
    let known = options.iter().any(|(k, _)| *k == v);
    html! {
        tr {
            td { label for=(field) { (label) ":" } }
            td {
                select id=(field) name=(field) {
                    @if !known {
                        option value=(v) selected { (v) " (current)" }
                    }
                    @for (k, l) in options {
                        @if *k == v { option value=(k) selected { (l) } } @else { option value=(k) { (l) } }
                    }
                }
                (err(fs, field))
            }
        }
    }
}

fn checkbox_row(fs: &FormState, label: &str, field: &str, current: bool) -> Markup {
    let on = match &fs.submitted {
        Some(p) => forms::param(p, field).is_some(),
        None => current,
    };
    html! {
        tr {
            td { label for=(field) { (label) ":" } }
            td {
                @if on { input type="checkbox" id=(field) name=(field) value="1" checked; }
                @else { input type="checkbox" id=(field) name=(field) value="1"; }
                (err(fs, field))
            }
        }
    }
}

fn masks(unused: bool) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    if unused {
        v.push(("Unused".into(), "Unused".into()));
    }
    for (i, m) in forms::netmask_choices().into_iter().enumerate() {
        v.push((m.clone(), format!("{m} /{}", 32 - i)));
    }
    v
}

/// The persistence mask choices: Piranha's IPv4 netmasks, then prefix
/// lengths for IPv6 virtual servers (`pmask = 64`). The parser refuses a
/// choice of the wrong family, and the error shows next to the field.
fn persistence_masks() -> Vec<(String, String)> {
    let mut v = masks(true);
    for p in forms::IPV6_PERSISTENCE_PREFIXES {
        v.push((p.to_string(), format!("/{p} (IPv6)")));
    }
    v
}

fn mask_current(s: String) -> String {
    if s.is_empty() {
        "Unused".into()
    } else {
        s
    }
}

/// Diagnostics of the file, when it does not load cleanly.
pub fn diagnostics(doc: &Document) -> Markup {
    let items: Vec<_> = doc.diagnostics().iter().collect();
    html! {
        @if !items.is_empty() {
            div.diag {
                @if doc.has_errors() {
                    p.alert { "lvs.cf does not load: the daemons refuse it. Fix these lines (edits are refused until the file loads):" }
                } @else {
                    p { "lvs.cf loads with warnings:" }
                }
                pre { @for d in items { (d.render(doc.name())) "\n" } }
            }
        }
    }
}

/// The login page (also the body of every 401 for a browser).
pub fn login(message: Option<&str>, no_password_file: bool, passwd_path: &str) -> Markup {
    let ctx = Ctx::default();
    layout(
        "Login",
        Tab::None,
        &ctx,
        html! {
            @if no_password_file {
                p.alert role="alert" {
                    "No password is set, so nobody can log in. As root, run "
                    code { "piranha-passwd" }
                    " to set the password of the user piranha (it is stored in "
                    code { (passwd_path) } ")."
                }
            } @else {
                p { "Welcome to Piranha, the LVS web configuration tool. You are required to login to use this tool's features." }
                @if let Some(m) = message { p.alert role="alert" { (m) } }
                form method="post" action="/login" {
                    table {
                        tr { td { label for="user" { "Username:" } } td { input type="text" id="user" name="user" value="piranha" autocomplete="username"; } }
                        tr { td { label for="password" { "Password:" } } td { input type="password" id="password" name="password" autocomplete="current-password"; } }
                    }
                    button type="submit" id="login" { "Login" }
                }
                p { small { "The user is piranha; its password is set with piranha-passwd, as root." } }
            }
        },
    )
}

/// The CHANGE PASSWORD help page.
pub fn passwd_help(ctx: &Ctx, passwd_path: &str) -> Markup {
    layout(
        "Change password",
        Tab::Control,
        ctx,
        html! {
            p { "The login user is " code { "piranha" } ". Its password cannot be changed from the web: as root on this router, run" }
            pre { "/usr/sbin/piranha-passwd" }
            p { "which stores a bcrypt hash in " code { (passwd_path) } "." }
        },
    )
}

fn pulse_summary(pulse: &Result<PulseStatus, String>) -> Markup {
    html! {
        @match pulse {
            Ok(st) => {
                @let v = serde_json::to_value(st).unwrap_or_default();
                @let role = v.get("role").and_then(|x| x.as_str()).unwrap_or("?");
                @let state = v.get("state").and_then(|x| x.as_str()).unwrap_or("?");
                p { "Daemon: " span.up { "running" } " (role " b { (role) } ", state " b { (state) } ")" }
                table.list {
                    tr { th { "pulse status" } th { "value" } }
                    @for (k, val) in crate::status::flatten(&v) {
                        tr { td { (k) } td { (val) } }
                    }
                }
            }
            Err(e) => {
                p { "Daemon: " span.down { "stopped" } " - pulse is not running (" (e) ")" }
            }
        }
    }
}

fn service_table(s: &ServiceStatus) -> Markup {
    let what = match (s.fwmark, s.address) {
        (Some(fw), _) if fw != 0 => format!("FWM {fw}"),
        (_, Some(a)) => format!(
            "{} {}",
            s.protocol.to_uppercase(),
            std::net::SocketAddr::new(a, s.port)
        ),
        (_, None) => format!("{} port {}", s.protocol.to_uppercase(), s.port),
    };
    html! {
        table.list {
            tr {
                th colspan="7" {
                    (s.name) ": " (what) " " (s.scheduler)
                    @if s.persistent > 0 { " persistent " (s.persistent) }
                    " - " (s.stats.conns) " conns, " (s.stats.inpkts) "/" (s.stats.outpkts) " pkts, " (s.stats.inbytes) "/" (s.stats.outbytes) " bytes"
                }
            }
            tr { th { "real server" } th { "address" } th { "state (nanny)" } th { "weight" } th { "active" } th { "inactive" } th { "conns" } }
            @for r in &s.servers {
                tr {
                    td { (r.server) }
                    td { (std::net::SocketAddr::new(r.address, r.port)) }
                    td { @if r.state == lvs_status::lvsd::ServerState::Up { span.up { (r.state.as_str()) } } @else { span.down { (r.state.as_str()) } } }
                    td { (r.weight) }
                    td { (r.active_conns) }
                    td { (r.inactive_conns) }
                    td { (r.stats.conns) }
                }
            }
        }
    }
}

/// CONTROL/MONITORING.
pub fn control(
    ctx: &Ctx,
    doc: &Document,
    pulse: &Result<PulseStatus, String>,
    lvsd: &Result<LvsdStatus, String>,
    auto_update: bool,
    rate: u32,
) -> Markup {
    let differs = pulse
        .as_ref()
        .map(crate::status::backup_differs)
        .unwrap_or(false);
    layout(
        "Control/Monitoring",
        Tab::Control,
        ctx,
        html! {
            @if differs {
                p.alert role="alert" { "The backup router's lvs.cf differs from this one (pulse compared their digests). Copy it to the backup." }
            }
            h2 { "CONTROL" }
            (pulse_summary(pulse))
            p { "lvs.cf serial_no: " (doc.config().serial_no) }
            (action_buttons(ctx))
            h2 { "MONITOR" }
            form method="get" action="/control" {
                @if auto_update { input type="checkbox" id="auto_update" name="auto_update" value="1" checked; }
                @else { input type="checkbox" id="auto_update" name="auto_update" value="1"; }
                label for="auto_update" { " Auto update" } " "
                label for="rate" { "Update Interval:" } " "
                input type="text" id="rate" name="rate" size="4" value=(rate);
                " seconds (at least 10) "
                button type="submit" name="refresh" value="1" { "Update information now" }
            }
            h2 { "CURRENT LVS ROUTING TABLE" }
            @match lvsd {
                Ok(l) if l.services.is_empty() => p { "lvsd is running; the IPVS table has no services." },
                Ok(l) => { @for s in &l.services { (service_table(s)) } },
                Err(e) => p { "lvsd is not running (" (e) ")" },
            }
            (diagnostics(doc))
        },
    )
}

/// GLOBAL SETTINGS.
pub fn global(ctx: &Ctx, doc: &Document, hash: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let g = |k: &str| forms::global_shown(c, k);
    let nat = fs.value("network", g("network")) == "nat";
    let (nat_ip, nat_dev) = match &c.nat_router {
        Some(a) => (a.host.to_string(), a.device.clone()),
        None => (String::new(), String::new()),
    };
    let networks = vec![
        ("nat".to_string(), "NAT".to_string()),
        ("direct".to_string(), "Direct Routing".to_string()),
        ("tunnel".to_string(), "Tunneling".to_string()),
    ];
    let rsh = vec![
        ("rsh".to_string(), "rsh (copy with rcp)".to_string()),
        ("ssh".to_string(), "ssh (copy with scp)".to_string()),
    ];
    layout(
        "Global Settings",
        Tab::Global,
        ctx,
        html! {
            (general_errors(fs))
            form method="post" action="/global" {
                (hidden(ctx, hash))
                table.form {
                    (text_row(fs, "Primary server public IP", "PriLVSIP", g("primary"), ""))
                    (text_row(fs, "Primary server private IP", "primary_private", g("primary_private"), "(May be blank)"))
                    (text_row(fs, "TCP timeout (seconds)", "tcp_timeout", g("tcp_timeout"), "0 keeps the kernel's"))
                    (text_row(fs, "TCP FIN timeout (seconds)", "tcpfin_timeout", g("tcpfin_timeout"), ""))
                    (text_row(fs, "UDP timeout (seconds)", "udp_timeout", g("udp_timeout"), ""))
                    (select_row(fs, "Use network type", "network", g("network"), &networks))
                    @if nat {
                        (text_row(fs, "NAT Router IP", "NATRtrIP", nat_ip, ""))
                        (select_row(fs, "NAT Router netmask", "nat_nmask", mask_current(g("nat_nmask")), &masks(true)))
                        (text_row(fs, "NAT Router device", "NATRtrDev", nat_dev, "for example eth1:1"))
                    }
                    (select_row(fs, "Remote shell", "rsh_command", g("rsh_command"), &rsh))
                    (text_row(fs, "Command run on becoming active", "active_cmd", g("active_cmd"), "one of the programs listed below"))
                    (text_row(fs, "Command run on becoming inactive", "inactive_cmd", g("inactive_cmd"), ""))
                }
                button type="submit" name="global_action" value="ACCEPT" { "ACCEPT" }
                " -- Click here to apply changes on this page"
            }
            (programs_note(ctx))
            (diagnostics(doc))
        },
    )
}

/// REDUNDANCY.
pub fn redundancy(ctx: &Ctx, doc: &Document, hash: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let g = |k: &str| forms::global_shown(c, k);
    layout(
        "Redundancy",
        Tab::Redundancy,
        ctx,
        html! {
            (general_errors(fs))
            p { "Backup: " @if c.backup_active { span.up { "active" } } @else { span.down { "inactive" } } }
            form method="post" action="/redundancy" {
                (hidden(ctx, hash))
                @if !c.backup_active {
                    button type="submit" name="redundancy_action" value="ENABLE" { "ENABLE" }
                } @else {
                    table.form {
                        (text_row(fs, "Redundant server public IP", "redundant", g("backup"), ""))
                        @if c.primary_private.is_some() {
                            (text_row(fs, "Redundant server private IP", "redundant_private", g("backup_private"), ""))
                        }
                        (text_row(fs, "Heartbeat interval (seconds)", "hb_interval", g("keepalive"), ""))
                        (text_row(fs, "Assume dead after (seconds)", "dead_after", g("deadtime"), ""))
                        (text_row(fs, "Heartbeat runs on port", "hb_port", g("heartbeat_port"), ""))
                        (checkbox_row(fs, "Monitor NIC links for failures", "monitor_links", c.monitor_links))
                        (checkbox_row(fs, "Use sync daemon", "syncdaemon", c.syncdaemon))
                        (text_row(fs, "Sync daemon interface", "syncd_iface", g("syncd_iface"), ""))
                        (text_row(fs, "Sync daemon ID", "syncd_id", g("syncd_id"), ""))
                    }
                    button type="submit" name="redundancy_action" value="ACCEPT" { "ACCEPT" } " "
                    button type="submit" name="redundancy_action" value="DISABLE" { "DISABLE" } " "
                    button type="submit" name="redundancy_action" value="RESET" { "RESET" }
                }
            }
            (diagnostics(doc))
        },
    )
}

fn status_word(active: bool) -> Markup {
    html! { @if active { span.up { "up" } } @else { span.down { "down" } } }
}

/// VIRTUAL SERVERS list.
pub fn virtual_list(ctx: &Ctx, doc: &Document, hash: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    layout(
        "Virtual Servers",
        Tab::Virtual,
        ctx,
        html! {
            (general_errors(fs))
            form method="post" action="/virtual" {
                (hidden(ctx, hash))
                table.list {
                    tr { th {} th { "STATUS" } th { "NAME" } th { "VIP" } th { "NETMASK" } th { "PORT" } th { "PROTOCOL" } th { "INTERFACE" } }
                    @for (i, v) in c.virtuals.iter().enumerate() {
                        tr {
                            td {
                                @let id = format!("sel-{i}");
                                input type="radio" id=(id) name="selected" value=(v.name);
                            }
                            td { (status_word(v.active)) }
                            td { a href=(virtual_url(&v.name, "edit")) { (v.name) } }
                            td { (v.address.as_ref().map(|a| a.host.to_string()).unwrap_or_default()) }
                            td { (v.vip_nmask.map(|m| m.to_string()).unwrap_or_else(|| "Unused".into())) }
                            td { @if v.fwmark.unwrap_or(0) != 0 { "fwmark " (v.fwmark.unwrap_or(0)) } @else { (v.port) } }
                            td { (v.protocol) }
                            td { (v.address.as_ref().map(|a| a.device.clone()).unwrap_or_default()) }
                        }
                    }
                }
                (err(fs, "selected"))
                p {
                    label for="name" { "Name for ADD (optional): " }
                    input type="text" id="name" name="name" value=(fs.value("name", String::new())) size="20";
                    (err(fs, "name"))
                }
                button type="submit" name="virtual_service" value="ADD" { "ADD" } " "
                button type="submit" name="virtual_service" value="DELETE" { "DELETE" } " "
                button type="submit" name="virtual_service" value="EDIT" { "EDIT" } " "
                button type="submit" name="virtual_service" value="(DE)ACTIVATE" { "(DE)ACTIVATE" }
            }
            (diagnostics(doc))
        },
    )
}

fn subnav(vname: &str, current: &str) -> Markup {
    let items = [
        ("edit", "VIRTUAL SERVER"),
        ("real", "REAL SERVER"),
        ("scripts", "MONITORING SCRIPTS"),
    ];
    html! {
        nav.sub {
            @for (page, label) in items {
                @if page == current { a.current href=(virtual_url(vname, page)) { (label) } }
                @else { a href=(virtual_url(vname, page)) { (label) } }
                " | "
            }
            a href="/virtual" { "back to the list" }
        }
    }
}

/// VIRTUAL SERVER subsection.
pub fn virtual_edit(ctx: &Ctx, doc: &Document, hash: &str, vname: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let v = |k: &str| forms::virtual_shown(c, vname, k);
    let (ip, dev) = match c.virtual_named(vname).and_then(|x| x.address.clone()) {
        Some(a) => (a.host.to_string(), a.device),
        None => (String::new(), String::new()),
    };
    let fw = match v("fwmark").as_str() {
        "0" => String::new(),
        x => x.to_string(),
    };
    let protos: Vec<(String, String)> = ["tcp", "udp", "sctp"]
        .iter()
        .map(|p| (p.to_string(), p.to_string()))
        .collect();
    let yesno = vec![
        ("1".to_string(), "Yes".to_string()),
        ("0".to_string(), "No".to_string()),
    ];
    let loads: Vec<(String, String)> = ["none", "rup", "ruptime", "uptime"]
        .iter()
        .map(|p| (p.to_string(), p.to_string()))
        .collect();
    let scheds: Vec<(String, String)> = forms::SCHEDULERS
        .iter()
        .map(|(k, l)| (k.to_string(), format!("{l} ({k})")))
        .collect();
    layout(
        &format!("Virtual server: {vname}"),
        Tab::Virtual,
        ctx,
        html! {
            (subnav(vname, "edit"))
            (general_errors(fs))
            form method="post" action=(virtual_url(vname, "edit")) {
                (hidden(ctx, hash))
                table.form {
                    (text_row(fs, "Name", "hostname", vname.to_string(), ""))
                    (text_row(fs, "Application port", "port", v("port"), ""))
                    (select_row(fs, "Protocol", "protocol", v("protocol"), &protos))
                    (text_row(fs, "Virtual IP Address", "address", ip, "IPv4 or IPv6"))
                    (select_row(fs, "Virtual IP Network Mask", "vip_nmask", mask_current(v("vip_nmask")), &masks(true)))
                    (text_row(fs, "Sorry Server", "sorry_server", v("sorry_server"), ""))
                    (text_row(fs, "Firewall Mark", "fwmark", fw, ""))
                    (text_row(fs, "Device", "device", dev, "for example eth0:1"))
                    (text_row(fs, "Re-entry Time", "reentry", v("reentry"), "seconds"))
                    (text_row(fs, "Service timeout", "timeout", v("timeout"), "seconds"))
                    (select_row(fs, "Quiesce server", "quiesce_server", v("quiesce_server"), &yesno))
                    (select_row(fs, "Load monitoring tool", "load", v("load_monitor"), &loads))
                    (select_row(fs, "Scheduling", "sched", v("scheduler"), &scheds))
                    (text_row(fs, "Persistence", "persistent", v("persistent"), "seconds, 0 = off"))
                    (select_row(fs, "Persistence Network Mask", "pmask", mask_current(v("pmask")), &persistence_masks()))
                }
                button type="submit" name="vev_action" value="ACCEPT" { "ACCEPT" } " "
                a href="/virtual" { "CANCEL" }
            }
        },
    )
}

/// REAL SERVER list of a virtual server.
pub fn real_list(ctx: &Ctx, doc: &Document, hash: &str, vname: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let servers = c
        .virtual_named(vname)
        .map(|v| v.servers.clone())
        .unwrap_or_default();
    layout(
        &format!("Real servers of {vname}"),
        Tab::Virtual,
        ctx,
        html! {
            (subnav(vname, "real"))
            (general_errors(fs))
            form method="post" action=(virtual_url(vname, "real")) {
                (hidden(ctx, hash))
                table.list {
                    tr { th {} th { "STATUS" } th { "NAME" } th { "ADDRESS" } th { "PORT" } th { "WEIGHT" } }
                    @for (i, s) in servers.iter().enumerate() {
                        tr {
                            td { input type="radio" id=(format!("sel-{i}")) name="selected" value=(s.name); }
                            td { (status_word(s.active)) }
                            td { a href=(server_url(vname, &s.name)) { (s.name) } }
                            td { (s.address.as_ref().map(|a| a.to_string()).unwrap_or_default()) }
                            td { (s.port.map(|p| p.to_string()).unwrap_or_default()) }
                            td { (s.weight) }
                        }
                    }
                }
                (err(fs, "selected"))
                p {
                    label for="name" { "Name for ADD (optional): " }
                    input type="text" id="name" name="name" value=(fs.value("name", String::new())) size="20";
                    (err(fs, "name"))
                }
                button type="submit" name="real_service" value="ADD" { "ADD" } " "
                button type="submit" name="real_service" value="DELETE" { "DELETE" } " "
                button type="submit" name="real_service" value="EDIT" { "EDIT" } " "
                button type="submit" name="real_service" value="(DE)ACTIVATE" { "(DE)ACTIVATE" }
            }
        },
    )
}

/// Edit one real server.
pub fn real_edit(
    ctx: &Ctx,
    doc: &Document,
    hash: &str,
    vname: &str,
    sname: &str,
    fs: &FormState,
) -> Markup {
    let c = doc.config();
    let s = |k: &str| forms::server_shown(c, vname, sname, k);
    layout(
        &format!("Real server {sname} of {vname}"),
        Tab::Virtual,
        ctx,
        html! {
            (subnav(vname, "real"))
            (general_errors(fs))
            form method="post" action=(server_url(vname, sname)) {
                (hidden(ctx, hash))
                table.form {
                    (text_row(fs, "Name", "name", sname.to_string(), ""))
                    (text_row(fs, "Address", "address", s("address"), ""))
                    (text_row(fs, "Port", "port", s("port"), "Leave blank to default to Virtual Server's Application Port"))
                    (text_row(fs, "Weight", "weight", s("weight"), ""))
                }
                button type="submit" name="edit_action" value="ACCEPT" { "ACCEPT" } " "
                a href=(virtual_url(vname, "real")) { "CANCEL" }
            }
        },
    )
}

/// MONITORING SCRIPTS.
pub fn scripts(ctx: &Ctx, doc: &Document, hash: &str, vname: &str, fs: &FormState) -> Markup {
    service_scripts(ctx, doc, hash, &Target::Virtual(vname.to_string()), fs)
}

/// MONITORING SCRIPTS of a failover service.
pub fn failover_scripts(
    ctx: &Ctx,
    doc: &Document,
    hash: &str,
    fname: &str,
    fs: &FormState,
) -> Markup {
    service_scripts(ctx, doc, hash, &Target::Failover(fname.to_string()), fs)
}

fn service_scripts(ctx: &Ctx, doc: &Document, hash: &str, t: &Target, fs: &FormState) -> Markup {
    let c = doc.config();
    let (name, nav, action, back) = match t {
        Target::Failover(f) => (
            f.as_str(),
            failover_subnav(f, "scripts"),
            failover_url(f, "scripts"),
            "/failover",
        ),
        Target::Virtual(v) => (
            v.as_str(),
            subnav(v, "scripts"),
            virtual_url(v, "scripts"),
            "/virtual",
        ),
        _ => ("", html! {}, String::new(), "/"),
    };
    let use_regex = forms::shown(c, t, "use_regex") == "1";
    let labels = [
        ("send_program", "Sending Program"),
        ("send", "Send"),
        ("expect", "Expect"),
        ("start_cmd", "Start command"),
        ("stop_cmd", "Stop command"),
    ];
    let row = |field: &str| {
        let label = labels
            .iter()
            .find(|(k, _)| *k == field)
            .map(|(_, l)| *l)
            .unwrap_or(field);
        let current = forms::shown(c, t, field);
        let shown = fs.value(field, String::new());
        html! {
            tr {
                td { label for=(field) { (label) ":" } }
                td.current { "Current: " code { (current) } }
                td {
                    input type="text" id=(field) name=(field) value=(shown) size="40" maxlength="4000";
                    (err(fs, field))
                }
            }
        }
    };
    layout(
        &format!("Monitoring scripts of {name}"),
        Tab::Virtual,
        ctx,
        html! {
            (nav)
            (general_errors(fs))
            form method="post" action=(action) {
                (hidden(ctx, hash))
                table.form {
                    @for f in crate::edits::script_fields(t) { (row(f)) }
                    (checkbox_row(fs, "Treat expect string as a regular expression", "use_regex", use_regex))
                }
                p { small { "Empty fields keep their current value. The sending program takes priority over Send; %h is replaced by the real server's address, %p by its port. Programs must be listed below." } }
                button type="submit" name="gen_service" value="ACCEPT" { "ACCEPT" } " "
                button type="submit" name="gen_service" value="NO SEND PROGRAM" { "NO SEND PROGRAM" } " "
                button type="submit" name="gen_service" value="BLANK SEND" { "BLANK SEND" } " "
                button type="submit" name="gen_service" value="BLANK EXPECT" { "BLANK EXPECT" } " "
                a href=(back) { "CANCEL" }
            }
            (programs_note(ctx))
        },
    )
}

fn failover_subnav(fname: &str, current: &str) -> Markup {
    let items = [
        ("edit", "FAILOVER SERVICE"),
        ("scripts", "MONITORING SCRIPTS"),
    ];
    html! {
        nav.sub {
            @for (page, label) in items {
                @if page == current { a.current href=(failover_url(fname, page)) { (label) } }
                @else { a href=(failover_url(fname, page)) { (label) } }
                " | "
            }
            a href="/failover" { "back to the list" }
        }
    }
}

/// FAILOVER SERVICES list (Piranha's `failover_main.php`).
pub fn failover_list(ctx: &Ctx, doc: &Document, hash: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    layout(
        "Failover Services",
        Tab::Virtual,
        ctx,
        html! {
            (general_errors(fs))
            p { small { "Failover services (service = fos) are not linked from the tabs, as in Piranha since 0.7.4." } }
            form method="post" action="/failover" {
                (hidden(ctx, hash))
                table.list {
                    tr { th {} th { "STATUS" } th { "NAME" } th { "ADDRESS" } th { "NETMASK" } th { "PORT" } th { "DEVICE" } th { "TIMEOUT" } }
                    @for (i, f) in c.failovers.iter().enumerate() {
                        tr {
                            td { input type="radio" id=(format!("sel-{i}")) name="selected" value=(f.name); }
                            td { (status_word(f.active)) }
                            td { a href=(failover_url(&f.name, "edit")) { (f.name) } }
                            td { (f.address.as_ref().map(|a| a.host.to_string()).unwrap_or_default()) }
                            td { (f.vip_nmask.map(|m| m.to_string()).unwrap_or_else(|| "Unused".into())) }
                            td { (f.port) }
                            td { (f.address.as_ref().map(|a| a.device.clone()).unwrap_or_default()) }
                            td { (f.timeout) }
                        }
                    }
                }
                (err(fs, "selected"))
                p {
                    label for="name" { "Name for ADD (optional): " }
                    input type="text" id="name" name="name" value=(fs.value("name", String::new())) size="20";
                    (err(fs, "name"))
                }
                button type="submit" name="failover_service" value="ADD" { "ADD" } " "
                button type="submit" name="failover_service" value="DELETE" { "DELETE" } " "
                button type="submit" name="failover_service" value="EDIT" { "EDIT" } " "
                button type="submit" name="failover_service" value="(DE)ACTIVATE" { "(DE)ACTIVATE" }
            }
            (diagnostics(doc))
        },
    )
}

/// One failover service: Name, Address, Netmask, Port, Device, Timeout.
pub fn failover_edit(ctx: &Ctx, doc: &Document, hash: &str, fname: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let t = Target::Failover(fname.to_string());
    let v = |k: &str| forms::shown(c, &t, k);
    let (ip, dev) = match c
        .failovers
        .iter()
        .find(|f| f.name == fname)
        .and_then(|f| f.address.clone())
    {
        Some(a) => (a.host.to_string(), a.device),
        None => (String::new(), String::new()),
    };
    layout(
        &format!("Failover service: {fname}"),
        Tab::Virtual,
        ctx,
        html! {
            (failover_subnav(fname, "edit"))
            (general_errors(fs))
            form method="post" action=(failover_url(fname, "edit")) {
                (hidden(ctx, hash))
                table.form {
                    (text_row(fs, "Name", "name", fname.to_string(), ""))
                    (text_row(fs, "Address", "address", ip, "IPv4 or IPv6"))
                    (select_row(fs, "Netmask", "vip_nmask", mask_current(v("vip_nmask")), &masks(true)))
                    (text_row(fs, "Port", "port", v("port"), ""))
                    (text_row(fs, "Device", "device", dev, "for example eth0:1"))
                    (text_row(fs, "Timeout", "timeout", v("timeout"), "seconds"))
                }
                button type="submit" name="fev_action" value="ACCEPT" { "ACCEPT" } " "
                a href="/failover" { "CANCEL" }
            }
        },
    )
}

/// A page with a message and a preformatted output.
pub fn message(ctx: &Ctx, title: &str, text: &str, output: &str) -> Markup {
    layout(
        title,
        Tab::Control,
        ctx,
        html! {
            p { (text) }
            @if !output.is_empty() { pre { (output) } }
            p { a href="/control" { "Back to CONTROL/MONITORING" } }
        },
    )
}

/// Renders markup to a string.
pub fn render(m: Markup) -> String {
    let PreEscaped(s) = m;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_urls_and_html() {
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
        assert_eq!(virtual_url("w?x", "edit"), "/virtual/w%3Fx/edit");
        let doc = Document::parse(
            "lvs.cf",
            "virtual \"><svg/onload=alert(1)> {\n     active = 1\n}\n",
        );
        let html = render(virtual_list(
            &Ctx::default(),
            &doc,
            "h",
            &FormState::default(),
        ));
        assert!(!html.contains("<svg"), "{html}");
        assert!(html.contains("&lt;svg"));
        assert!(html.contains("<title>Piranha (Virtual Servers)</title>"));
    }

    #[test]
    fn forms_carry_csrf_and_version() {
        let doc = Document::parse("lvs.cf", "primary = 10.0.0.1\n");
        let ctx = Ctx {
            csrf: "tok".into(),
            logged_in: true,
            ..Ctx::default()
        };
        let html = render(global(&ctx, &doc, "hash1", &FormState::default()));
        assert!(html.contains(r#"name="csrf" value="tok""#));
        assert!(html.contains(r#"name="version" value="hash1""#));
        assert!(html.contains(r#"value="10.0.0.1""#));
    }
}
