//! NEW VIRTUAL SERVER (pure): one form for a virtual server with its
//! check and any number of real servers, saved once (one history entry).
//! Rows are `server_name_N`, `server_address_N`, `server_weight_N` for N
//! below `rows`; "add another real server" is a submit that shows the form
//! again with one more row, so it needs no JavaScript.

use crate::edits::{add_virtual, address_and_device, SERVER_DEFAULTS};
use crate::forms::{param, Editor, FieldErrors, Params};
use lvscf_parser::{Document, Target};

/// The URL of the form.
pub const URL: &str = "/virtual/new";
/// The most real server rows one form takes.
pub const MAX_ROWS: usize = 64;
/// The rows an empty form shows.
pub const FIRST_ROWS: usize = 2;
/// The checks the form offers: send/expect (nanny's), the native ones,
/// or none.
pub const CHECKS: &[(&str, &str)] = &[
    ("send", "send / expect (TCP)"),
    ("http", "HTTP (native)"),
    ("https", "HTTPS (native)"),
    ("dns", "DNS (native)"),
];

/// How many real server rows the form has (`rows`, bounded), one more when
/// "add another real server" was pressed.
pub fn rows(p: &Params) -> usize {
    let n = param(p, "rows")
        .and_then(|r| r.trim().parse::<usize>().ok())
        .unwrap_or(FIRST_ROWS);
    let more = usize::from(param(p, "more").is_some());
    (n + more).clamp(1, MAX_ROWS)
}

/// Whether the POST asks for one more row rather than the save.
pub fn wants_more(p: &Params) -> bool {
    param(p, "more").is_some()
}

/// Adds the virtual server the form describes, with its check and real
/// servers; returns its name.
pub fn apply(
    doc: &mut Document,
    p: &Params,
    policy: &exec_policy::Policy,
) -> Result<String, FieldErrors> {
    let requested = param(p, "name").map(str::trim).filter(|n| !n.is_empty());
    if requested.is_none() {
        let mut e = FieldErrors::default();
        e.field("name", "a virtual server needs a name");
        return Err(e);
    }
    let name = add_virtual(doc, requested)?;
    let t = Target::Virtual(name.clone());
    let mut ed = Editor::checking(doc, policy);
    address_and_device(&mut ed, &t, p);
    if param(p, "address").is_some_and(|a| a.trim().is_empty()) {
        ed.errors
            .field("address", "one virtual IP address is required");
    }
    ed.text("port", &t, "port", param(p, "port"));
    if let Some(proto) = param(p, "protocol") {
        if ["tcp", "udp", "sctp"].contains(&proto) {
            ed.text("protocol", &t, "protocol", Some(proto));
        } else {
            ed.errors.field("protocol", "choose tcp, udp or sctp");
        }
    }
    ed.text("sched", &t, "scheduler", param(p, "sched"));
    ed.checkbox("active", &t, "active", p);
    match param(p, "check").unwrap_or("send") {
        "send" => {
            ed.text("send", &t, "send", param(p, "send"));
            ed.text("expect", &t, "expect", param(p, "expect"));
        }
        kind @ ("http" | "https" | "dns") => {
            ed.unset("check", &t, "send");
            ed.unset("check", &t, "expect");
            ed.set("check", &t, "check", kind);
            if kind == "dns" {
                ed.text("check_query", &t, "check_query", param(p, "check_query"));
            } else {
                ed.text("check_url", &t, "check_url", param(p, "check_url"));
                ed.text("check_status", &t, "check_status", param(p, "check_status"));
            }
        }
        _ => ed.errors.field("check", "choose one of the checks offered"),
    }
    let active = if param(p, "active").is_some() {
        "1"
    } else {
        "0"
    };
    let mut names: Vec<String> = Vec::new();
    for i in 0..rows(&without_more(p)) {
        let (nf, af, wf) = (
            format!("server_name_{i}"),
            format!("server_address_{i}"),
            format!("server_weight_{i}"),
        );
        let sname = param(p, &nf).map(str::trim).unwrap_or("");
        let addr = param(p, &af).map(str::trim).unwrap_or("");
        if sname.is_empty() && addr.is_empty() {
            continue;
        }
        if sname.is_empty() {
            ed.errors.field(&nf, "a real server needs a name");
            continue;
        }
        if names.iter().any(|n| n == sname) {
            ed.errors.field(
                &nf,
                format!("a real server `{sname}` is already in this form"),
            );
            continue;
        }
        if addr.is_empty() {
            ed.errors.field(&af, "a real server needs an address");
            continue;
        }
        if !ed.check_chars(&nf, sname) {
            continue;
        }
        if let Err(e) = ed.doc.add_server(&name, sname) {
            ed.edit_error(&nf, e);
            continue;
        }
        ed.changed = true;
        names.push(sname.to_string());
        let st = Target::Server {
            virtual_name: name.clone(),
            server: sname.to_string(),
        };
        for (k, v) in SERVER_DEFAULTS {
            ed.set(&nf, &st, k, v);
        }
        ed.set(&af, &st, "address", addr);
        ed.set(&nf, &st, "active", active);
        match param(p, &wf).map(str::trim) {
            Some(w) if !w.is_empty() => ed.set(&wf, &st, "weight", w),
            _ => {}
        }
    }
    ed.finish().map(|_| name)
}

fn without_more(p: &Params) -> Params {
    p.iter().filter(|(k, _)| k != "more").cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn policy() -> exec_policy::Policy {
        exec_policy::Policy::load_from(std::path::Path::new("/nonexistent"))
    }

    #[test]
    fn one_form_makes_a_virtual_with_its_check_and_servers() {
        let mut d = Document::parse("lvs.cf", "serial_no = 1\nprimary = 10.0.0.1\n");
        let form = p(&[
            ("name", "shop"),
            ("address", "10.0.0.50"),
            ("device", "eth0:5"),
            ("port", "443"),
            ("protocol", "tcp"),
            ("sched", "wrr"),
            ("active", "1"),
            ("check", "https"),
            ("check_url", "/healthz"),
            ("check_status", "200"),
            ("rows", "3"),
            ("server_name_0", "a"),
            ("server_address_0", "10.0.1.1"),
            ("server_weight_0", "3"),
            ("server_name_1", ""),
            ("server_address_1", ""),
            ("server_name_2", "b"),
            ("server_address_2", "10.0.1.2"),
        ]);
        assert_eq!(apply(&mut d, &form, &policy()).expect("saved"), "shop");
        let c = d.config();
        let v = c.virtual_named("shop").expect("virtual");
        assert!(v.active);
        assert_eq!(v.port, 443);
        assert_eq!(v.scheduler.to_string(), "wrr");
        assert_eq!(v.send, None, "a native check replaces send/expect");
        let text = String::from_utf8_lossy(d.as_bytes()).to_string();
        assert!(
            text.contains("check = https") && text.contains("check_url = /healthz"),
            "{text}"
        );
        let names: Vec<(&str, u32, bool)> = v
            .servers
            .iter()
            .map(|s| (s.name.as_str(), s.weight, s.active))
            .collect();
        assert_eq!(names, [("a", 3, true), ("b", 1, true)]);
        assert!(text.contains("address = 10.0.0.50 eth0:5"), "{text}");
    }

    #[test]
    fn errors_land_on_the_row_and_nothing_is_half_made() {
        let mut d = Document::parse("lvs.cf", "serial_no = 1\nprimary = 10.0.0.1\n");
        let form = p(&[
            ("name", "shop"),
            ("address", "10.0.0.50"),
            ("device", "eth0:5"),
            ("rows", "2"),
            ("server_name_0", "a"),
            ("server_address_0", "10.0.1.1"),
            ("server_name_1", "b"),
            ("server_address_1", ""),
        ]);
        let e = apply(&mut d, &form, &policy()).expect_err("refused");
        assert!(e.fields.contains_key("server_address_1"), "{e:?}");
        let e = apply(&mut d, &p(&[("address", "10.0.0.1")]), &policy()).expect_err("no name");
        assert!(e.fields.contains_key("name"));
        assert_eq!(rows(&p(&[])), FIRST_ROWS);
        assert_eq!(rows(&p(&[("rows", "3"), ("more", "1")])), 4);
        assert_eq!(rows(&p(&[("rows", "9999")])), MAX_ROWS);
    }
}
