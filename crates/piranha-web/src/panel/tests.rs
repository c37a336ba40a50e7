//! The panels' decisions, applied to documents directly.

use super::*;

const FILE: &str = "serial_no = 3\nprimary = 10.0.0.1\nvirtual web {\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port = 80\n     server r1 {\n         address = 10.0.1.11\n         active = 1\n         weight = 1\n     }\n}\nfailover fo {\n     active = 0\n     address = 10.0.0.200 eth0:2\n     port = 21\n}\n";

fn doc() -> Document {
    let d = Document::parse("lvs.cf", FILE);
    assert!(!d.has_errors(), "{:?}", d.diagnostics());
    d
}

fn form(pairs: &[(&str, &str)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A policy with no allowlist: no program may run.
fn no_programs() -> exec_policy::Policy {
    exec_policy::Policy::load_from(std::path::Path::new("/nonexistent/lvs-programs"))
}

/// Decides and, for a save, runs the edit on `d`: the URL it goes to.
fn run(panel: &Panel, d: &mut Document, pairs: &[(&str, &str)]) -> Result<String, FieldErrors> {
    match panel.decide(&form(pairs), &no_programs())? {
        Outcome::Redirect(url) => Ok(format!("redirect {url}")),
        Outcome::Save(edit) => edit(d),
        Outcome::Nothing => Ok("nothing".to_string()),
    }
}

#[test]
fn enter_in_a_list_does_nothing() {
    let mut d = doc();
    let before = d.as_bytes().to_vec();
    for list in [Panel::VirtualList, Panel::RealList("web".into())] {
        let r = run(
            &list,
            &mut d,
            &[("enter", "1"), ("selected", "web"), ("name", "x")],
        );
        assert_eq!(r, Ok("nothing".to_string()));
    }
    assert_eq!(d.as_bytes(), &before[..]);
}

#[test]
fn list_buttons_add_delete_toggle_and_edit() {
    let mut d = doc();
    let v = Panel::VirtualList;
    assert_eq!(
        run(&v, &mut d, &[("virtual_service", "ADD"), ("name", "ftp")]),
        Ok("/virtual?at=ftp#row-ftp".to_string())
    );
    assert!(d.config().virtual_named("ftp").is_some());
    assert_eq!(
        run(
            &v,
            &mut d,
            &[("virtual_service", "(DE)ACTIVATE"), ("selected", "web")]
        ),
        Ok("/virtual?at=web#row-web".to_string())
    );
    assert_eq!(
        d.config().virtual_named("web").map(|v| v.active),
        Some(false)
    );
    assert_eq!(
        run(
            &v,
            &mut d,
            &[("virtual_service", "EDIT"), ("selected", "a b")]
        ),
        Ok("redirect /virtual/a%20b/edit".to_string())
    );
    assert_eq!(
        run(
            &v,
            &mut d,
            &[("virtual_service", "DELETE"), ("selected", "ftp")]
        ),
        Ok("/virtual?at=ftp#row-ftp".to_string())
    );
    assert!(d.config().virtual_named("ftp").is_none());

    let r = Panel::RealList("web".into());
    assert_eq!(
        run(&r, &mut d, &[("real_service", "ADD")]),
        Ok("/virtual/web/real?at=%5Bunnamed%5D#row-%5Bunnamed%5D".to_string())
    );
    assert_eq!(d.config().virtuals[0].servers.len(), 2);
    assert_eq!(
        run(&r, &mut d, &[("real_service", "EDIT"), ("selected", "r1")]),
        Ok("redirect /virtual/web/real/r1/edit".to_string())
    );
    run(
        &r,
        &mut d,
        &[("real_service", "DELETE"), ("selected", "r1")],
    )
    .expect("delete");
    assert!(d.config().virtuals[0]
        .servers
        .iter()
        .all(|s| s.name != "r1"));

    let f = Panel::FailoverList;
    run(
        &f,
        &mut d,
        &[("failover_service", "(DE)ACTIVATE"), ("selected", "fo")],
    )
    .expect("toggle");
    assert!(d.config().failovers[0].active);
    assert_eq!(
        run(
            &f,
            &mut d,
            &[("failover_service", "EDIT"), ("selected", "fo")]
        ),
        Ok("redirect /failover/fo/edit".to_string())
    );
}

/// An action returns to the page and search it was pressed on, at the row
/// it acted on (the list's form carries the view in hidden fields).
#[test]
fn list_actions_return_to_the_view_and_row() {
    let mut d = doc();
    let view = [
        ("list_q", "we b"),
        ("list_problems", "1"),
        ("list_page", "3"),
    ];
    let mut pairs = vec![("virtual_service", "(DE)ACTIVATE"), ("selected", "web")];
    pairs.extend(view);
    assert_eq!(
        run(&Panel::VirtualList, &mut d, &pairs),
        Ok("/virtual?q=we+b&problems=1&page=3&at=web#row-web".to_string())
    );
    let mut pairs = vec![("real_service", "ADD"), ("name", "r 2")];
    pairs.extend(view);
    assert_eq!(
        run(&Panel::RealList("web".into()), &mut d, &pairs),
        Ok("/virtual/web/real?q=we+b&problems=1&page=3&at=r_2#row-r_2".to_string())
    );
}

#[test]
fn list_buttons_need_a_selection_and_a_known_button() {
    let mut d = doc();
    for (panel, field, noun) in [
        (Panel::VirtualList, "virtual_service", "virtual server"),
        (Panel::RealList("web".into()), "real_service", "real server"),
        (Panel::FailoverList, "failover_service", "failover service"),
    ] {
        for button in ["DELETE", "EDIT", "(DE)ACTIVATE"] {
            let e = run(&panel, &mut d, &[(field, button), ("selected", "")]).expect_err(button);
            assert_eq!(e.fields["selected"], format!("select a {noun} first"));
        }
        let e = run(&panel, &mut d, &[(field, "PURGE")]).expect_err("unknown");
        assert_eq!(e.general, vec!["unknown action".to_string()]);
        // Another list's button field is not this list's button.
        let e = run(&panel, &mut d, &[("other_service", "ADD")]).expect_err("field");
        assert_eq!(e.general, vec!["unknown action".to_string()]);
    }
    assert_eq!(d.as_bytes(), FILE.as_bytes());
}

#[test]
fn edit_panels_save_and_go_to_the_renamed_block() {
    let mut d = doc();
    assert_eq!(
        run(&Panel::Global, &mut d, &[("PriLVSIP", "10.0.0.9")]),
        Ok("/global".to_string())
    );
    assert_eq!(
        run(
            &Panel::Redundancy,
            &mut d,
            &[("redundancy_action", "ENABLE")]
        ),
        Ok("/redundancy".to_string())
    );
    assert_eq!(
        run(
            &Panel::VirtualEdit("web".into()),
            &mut d,
            &[("hostname", "w 2")]
        ),
        Ok("/virtual/w_2/edit".to_string())
    );
    assert_eq!(
        run(
            &Panel::RealEdit("w_2".into(), "r1".into()),
            &mut d,
            &[("name", "r 9"), ("weight", "3")]
        ),
        Ok("/virtual/w_2/real/r_9/edit".to_string())
    );
    assert_eq!(
        run(&Panel::Scripts("w_2".into()), &mut d, &[("expect", "OK")]),
        Ok("/virtual/w_2/scripts".to_string())
    );
    assert_eq!(
        run(
            &Panel::FailoverEdit("fo".into()),
            &mut d,
            &[("name", "fo2")]
        ),
        Ok("/failover/fo2/edit".to_string())
    );
    assert_eq!(
        run(
            &Panel::FailoverScripts("fo2".into()),
            &mut d,
            &[("expect", "220")]
        ),
        Ok("/failover/fo2/scripts".to_string())
    );
    let c = d.config();
    assert_eq!(c.virtuals[0].name, "w_2");
    assert_eq!(c.failovers[0].name, "fo2");
    assert!(c.backup_active);
}

#[test]
fn program_fields_are_judged_by_the_policy() {
    let mut d = doc();
    let e = run(
        &Panel::FailoverScripts("fo".into()),
        &mut d,
        &[("start_cmd", "/nonexistent/start")],
    )
    .expect_err("unlisted");
    assert!(
        e.fields["start_cmd"].starts_with("the daemons would not run this: "),
        "{e:?}"
    );
    assert!(Panel::Global.names_programs());
    assert!(Panel::Scripts("web".into()).names_programs());
    assert!(Panel::FailoverScripts("fo".into()).names_programs());
    assert!(!Panel::VirtualEdit("web".into()).names_programs());
    assert!(!Panel::RealList("web".into()).names_programs());
}

#[test]
fn panels_exist_only_with_their_blocks() {
    let d = doc();
    for (panel, exists) in [
        (Panel::Global, true),
        (Panel::VirtualList, true),
        (Panel::FailoverList, true),
        (Panel::VirtualEdit("web".into()), true),
        (Panel::VirtualEdit("nope".into()), false),
        (Panel::RealList("web".into()), true),
        (Panel::RealList("nope".into()), false),
        (Panel::RealEdit("web".into(), "r1".into()), true),
        (Panel::RealEdit("web".into(), "r2".into()), false),
        (Panel::Scripts("nope".into()), false),
        (Panel::FailoverEdit("fo".into()), true),
        (Panel::FailoverScripts("nope".into()), false),
    ] {
        assert_eq!(panel.exists(&d), exists, "{panel:?}");
    }
    assert_eq!(
        Panel::FailoverEdit("x".into()).fallback(),
        Panel::FailoverList
    );
    assert_eq!(
        Panel::RealEdit("x".into(), "y".into()).fallback(),
        Panel::VirtualList
    );
}

#[test]
fn list_buttons_round_trip_their_labels() {
    for b in ListButton::ALL {
        assert_eq!(ListButton::parse(b.label()), Some(b));
    }
    assert_eq!(ListButton::parse("add"), None);
    assert_eq!(List::Servers("a/b".into()).url(), "/virtual/a%2Fb/real");
    assert_eq!(
        List::Servers("v".into()).target("s".into()),
        Target::Server {
            virtual_name: "v".into(),
            server: "s".into()
        }
    );
}

#[test]
fn api_edits_set_unset_add_and_remove() {
    let policy = no_programs();
    let mut d = doc();
    assert_eq!(
        api_edit(&mut d, "virtual.web.port", "8080", false, &policy),
        Ok(true)
    );
    assert_eq!(d.config().virtuals[0].port, 8080);
    assert_eq!(
        api_edit(&mut d, "virtual.web.port", "", true, &policy),
        Ok(true)
    );
    assert_eq!(d.config().virtuals[0].port, 80, "back to the default");
    assert_eq!(
        api_edit(&mut d, "virtual.new", "", false, &policy),
        Ok(true)
    );
    assert!(d.config().virtual_named("new").is_some());
    assert_eq!(
        api_edit(&mut d, "virtual.web.server.r1", "", true, &policy),
        Ok(true)
    );
    assert!(d.config().virtuals[0].servers.is_empty());
    let e = api_edit(&mut d, "serial_no", "9", false, &policy).expect_err("serial");
    assert_eq!(
        e.general,
        vec!["serial_no is managed by the tool".to_string()]
    );
    let e = api_edit(&mut d, "nosuch.x", "1", false, &policy).expect_err("path");
    assert!(e.general[0].starts_with("bad key path"), "{e:?}");
    let e = api_edit(&mut d, "active_cmd", "/nonexistent/x", false, &policy).expect_err("cmd");
    assert!(
        e.fields["value"].starts_with("the daemons would not run this: "),
        "{e:?}"
    );
    let e = api_edit(
        &mut d,
        "virtual.web.port",
        "80\nactive_cmd = /bin/sh",
        false,
        &policy,
    )
    .expect_err("injection");
    assert!(e.fields.contains_key("value"), "{e:?}");
}
