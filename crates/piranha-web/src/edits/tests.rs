//! The panels' forms applied to documents.

use super::*;
use crate::forms::{global_shown, virtual_shown, Params};

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
        ("port", "0x"),
        ("timeout", "x"),
        ("address", "1.2.3.4.5"),
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

/// Reliability catalogue WEB-06 (docs/RELIABILITY.md).
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
        let e = apply_virtual_edit(&mut d, "web", &p(&[("port", v)]), &no_programs()).expect_err(v);
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

/// I16 item 5: NAT → Direct → NAT keeps the NAT router (the other mode's
/// values stay in the file; Piranha dropped them).
#[test]
fn switching_the_network_mode_keeps_the_nat_router() {
    let mut d = doc();
    let nat = p(&[
        ("network", "nat"),
        ("NATRtrIP", "192.168.1.254"),
        ("NATRtrDev", "eth1:1"),
        ("nat_nmask", "255.255.255.0"),
    ]);
    apply_global(&mut d, &nat, &no_programs()).expect("nat");
    // The page in Direct mode shows no NAT fields, so they are not sent.
    apply_global(&mut d, &p(&[("network", "Direct Routing")]), &no_programs()).expect("direct");
    assert_eq!(global_shown(d.config(), "network"), "direct");
    assert_eq!(
        global_shown(d.config(), "nat_router"),
        "192.168.1.254 eth1:1"
    );
    apply_global(&mut d, &p(&[("network", "NAT")]), &no_programs()).expect("nat again");
    let c = d.config();
    assert_eq!(global_shown(c, "network"), "nat");
    assert_eq!(global_shown(c, "nat_router"), "192.168.1.254 eth1:1");
    assert_eq!(global_shown(c, "nat_nmask"), "255.255.255.0");
}
