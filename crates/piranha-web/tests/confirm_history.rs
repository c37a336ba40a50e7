//! Issue 16 item 1 over HTTP: destructive and disruptive actions show what
//! will change and wait for CONFIRM (nothing written before; the CSRF
//! token and the version carry through), every save is kept in the
//! history with who, from where and what, and HISTORY restores a kept
//! version as a confirmed save that is recorded too.

mod common;

use common::*;

fn history(env: &Env) -> Vec<lvscf_store::history::Entry> {
    lvscf_store::history::list(&env.config).expect("history")
}

#[test]
fn delete_and_deactivate_show_the_diff_and_wait_for_confirm() {
    let env = EnvBuilder::new("confirm-list").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let before = file_state(&env.config);

    let page = c.submit(
        "/virtual",
        &[("virtual_service", "DELETE"), ("selected", "web")],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Confirm: DELETE virtual server web"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("virtual web deleted"),
        "the summary: {}",
        page.body
    );
    assert!(
        page.body.contains("-virtual web {"),
        "the diff: {}",
        page.body
    );
    assert!(
        page.body.contains("+serial_no = 8"),
        "the serial the save will give: {}",
        page.body
    );
    assert_eq!(
        file_state(&env.config),
        before,
        "nothing written before CONFIRM"
    );
    assert!(history(&env).is_empty());

    // The CONFIRM form needs the session's CSRF token.
    let (action, fields) = confirm_form(&page.body).expect("form");
    assert_eq!(action, "/virtual");
    let forged: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), if k == "csrf" { "forged" } else { v.as_str() }))
        .chain([("confirm", "1")])
        .collect();
    assert_eq!(c.post_pairs("/virtual", &forged).status, 403);
    assert_eq!(file_state(&env.config), before);

    // CANCEL is a link back to the list, at the row.
    assert!(
        page.body
            .contains(r#"<a class="button" href="/virtual?at=web#row-web" autofocus>CANCEL</a>"#),
        "{}",
        page.body
    );

    // (DE)ACTIVATE of a real server asks too; CONFIRM saves.
    let page = c.submit(
        "/virtual/web/real",
        &[("real_service", "(DE)ACTIVATE"), ("selected", "r1")],
    );
    assert!(
        page.body.contains("virtual web: server r1 active 1 → 0"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("-         active = 1\n+         active = 0"),
        "{}",
        page.body
    );
    assert_eq!(file_state(&env.config), before);
    let r = c.confirm(&page);
    assert_eq!(r.status, 303, "{}", r.body);
    let text = std::fs::read_to_string(&env.config).expect("read");
    assert!(
        text.contains("         active = 0\n") && text.contains("serial_no = 8"),
        "{text}"
    );
    let h = history(&env);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].change.who, "web user piranha");
    assert_eq!(h[0].change.from, "127.0.0.1");
    assert_eq!(h[0].change.summary, "virtual web: server r1 active 1 → 0");

    // A confirmation shown before somebody else's save is stale: its
    // CONFIRM saves nothing.
    let page = c.submit(
        "/virtual",
        &[("virtual_service", "DELETE"), ("selected", "web")],
    );
    std::fs::write(&env.config, text.replace("port = 80", "port = 81")).expect("edit by hand");
    let r = c.confirm(&page);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(std::fs::read_to_string(&env.config)
        .expect("read")
        .contains("virtual web {"));
}

#[test]
fn disabling_redundancy_apply_and_copy_ask_first() {
    let env = EnvBuilder::new("confirm-global").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let before = file_state(&env.config);
    let page = c.submit("/redundancy", &[("redundancy_action", "DISABLE")]);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Confirm: DISABLE redundancy"),
        "{}",
        page.body
    );
    assert!(page.body.contains("backup_active 1 → 0"), "{}", page.body);
    assert_eq!(file_state(&env.config), before);
    // ACCEPT on the same page saves at once.
    let r = c.submit(
        "/redundancy",
        &[("redundancy_action", "ACCEPT"), ("hb_interval", "5")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = c.submit_confirmed("/redundancy", &[("redundancy_action", "DISABLE")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(std::fs::read_to_string(&env.config)
        .expect("read")
        .contains("backup_active = 0"));

    // APPLY and COPY say what will happen; no pulse runs here, so a
    // request that reached pulse would answer 503, and a copy 502.
    let apply = c.post_pairs("/apply", &[("csrf", &c.csrf)]);
    assert_eq!(apply.status, 200, "{}", apply.body);
    assert!(
        apply
            .body
            .contains("pulse will reload lvs.cf (serial_no 9)"),
        "{}",
        apply.body
    );
    let done = c.confirm(&apply);
    assert_eq!(done.status, 503, "confirmed, it asks pulse: {}", done.body);
    let copy = c.post_pairs("/sync", &[("csrf", &c.csrf)]);
    assert_eq!(copy.status, 200, "{}", copy.body);
    assert!(
        copy.body.contains("will replace the backup router"),
        "{}",
        copy.body
    );
    assert!(
        copy.body.contains("10.0.0.2"),
        "the command names the backup: {}",
        copy.body
    );
    assert_eq!(
        c.post_pairs("/apply", &[("csrf", "x"), ("confirm", "1")])
            .status,
        403
    );
}

#[test]
fn history_lists_saves_and_restores_one_with_a_confirmed_save() {
    let env = EnvBuilder::new("history").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let original = std::fs::read_to_string(&env.config).expect("read");
    assert!(c.get("/history").body.contains("No save has been recorded"));
    for t in ["7", "8"] {
        let r = c.submit("/virtual/web/edit", &[("timeout", t)]);
        assert_eq!(r.status, 303, "{}", r.body);
    }
    let page = c.get("/history");
    assert_eq!(page.status, 200);
    let b = &page.body;
    let newest = b.find("Save 2: virtual web: timeout 7 → 8").expect(b);
    let older = b.find("Save 1: virtual web: timeout 6 → 7").expect(b);
    assert!(newest < older, "newest first");
    assert!(b.contains("by web user piranha from 127.0.0.1"), "{b}");
    assert!(
        b.contains("-     timeout = 6\n+     timeout = 7"),
        "the diff of save 1: {b}"
    );
    assert!(
        b.contains("-     timeout = 7\n+     timeout = 8"),
        "the diff of save 2: {b}"
    );
    assert!(
        b.contains(r#"<a class="current" href="/history" aria-current="page">HISTORY</a>"#),
        "{b}"
    );

    // RESTORE the file before save 1: first the diff, nothing written.
    let before = file_state(&env.config);
    let confirm = c.post_pairs("/history/1/restore", &[("csrf", &c.csrf)]);
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm
            .body
            .contains("-     timeout = 8\n+     timeout = 6"),
        "{}",
        confirm.body
    );
    assert!(
        confirm.body.contains("restore of serial_no 7"),
        "{}",
        confirm.body
    );
    assert_eq!(file_state(&env.config), before);
    let r = c.confirm(&confirm);
    assert_eq!(r.status, 303, "{}", r.body);
    let now = std::fs::read_to_string(&env.config).expect("read");
    assert_eq!(now, original.replace("serial_no = 7", "serial_no = 10"));
    let h = history(&env);
    assert_eq!(h.len(), 3);
    assert!(
        h[0].change
            .summary
            .starts_with("restore of serial_no 7 (kept by save 1): virtual web: timeout 8 → 6"),
        "{:?}",
        h[0]
    );
    assert_eq!(
        c.post_pairs("/history/99/restore", &[("csrf", &c.csrf)])
            .status,
        404
    );
    assert_eq!(
        c.post_pairs("/history/1/restore", &[("csrf", "bad")])
            .status,
        403
    );
}

#[test]
fn the_history_is_paged_and_keeps_100() {
    let env = EnvBuilder::new("history-pages").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let base = std::fs::read_to_string(&env.config).expect("read");
    let change = lvscf_store::history::Change {
        who: "test".into(),
        from: "here".into(),
        summary: "s".into(),
    };
    for i in 0..105 {
        lvscf_store::history::record(&env.config, base.as_bytes(), i, i + 1, &change)
            .expect("record");
    }
    let p1 = c.get("/history");
    assert!(p1.body.contains("Saves 1-20 of 100"), "{}", p1.body);
    assert!(p1.body.contains("Save 105: s"), "{}", p1.body);
    let p5 = c.get("/history?page=5");
    assert!(p5.body.contains("Saves 81-100 of 100"), "{}", p5.body);
    assert!(
        p5.body.contains("Save 6: s") && !p5.body.contains("Save 5: s"),
        "{}",
        p5.body
    );
    assert!(c.get("/history?page=99").body.contains("page 5 of 5"));
}
