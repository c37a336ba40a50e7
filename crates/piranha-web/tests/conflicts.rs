//! Issue 16 item 3 over HTTP, two browser sessions: a form records what
//! it loaded; a save after somebody else's is refused (409) only when they
//! changed one of those keys, and then the form comes back with the
//! user's input and their change; any other change merges.

mod common;

use common::*;

const TWO: &str = "virtual ftp {\n     active = 1\n     address = 10.0.0.101 eth0:2\n     port = 21\n     timeout = 6\n}\n";

/// Loads a form page: its version and what it loaded.
fn open(c: &Client, path: &str) -> (String, String) {
    let r = c.get(path);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = extract(&r.body, "version").expect("version");
    let l = unescape(&extract(&r.body, "loaded").expect("the form records what it loaded"));
    (v, l)
}

fn post(c: &Client, path: &str, (v, l): &(String, String), pairs: &[(&str, &str)]) -> Resp {
    let mut all = vec![("loaded", l.as_str())];
    all.extend_from_slice(pairs);
    c.post_form(path, v, &all)
}

#[test]
fn changes_elsewhere_merge_and_the_same_key_conflicts() {
    let mut b = EnvBuilder::new("conflicts");
    b.config_text = Some(format!("{LVS_CF}{TWO}"));
    let env = b.start();
    let alice = login(env.addr, PASSWORD).expect("login");
    let bob = login(env.addr, PASSWORD).expect("login");
    assert_ne!(alice.cookie, bob.cookie, "two sessions");

    // Alice opens ftp's form; Bob changes a weight of web's server.
    let ftp = open(&alice, "/virtual/ftp/edit");
    let web = open(&alice, "/virtual/web/edit");
    let r = bob.submit("/virtual/web/real/r1/edit", &[("weight", "3")]);
    assert_eq!(r.status, 303, "{}", r.body);
    // Alice's timeout of ftp is saved, Bob's weight kept.
    let r = post(&alice, "/virtual/ftp/edit", &ftp, &[("timeout", "12")]);
    assert_eq!(r.status, 303, "merged, not refused: {}", r.body);
    let text = std::fs::read_to_string(&env.config).expect("read");
    assert!(
        text.contains("         weight = 3\n"),
        "Bob's weight lost: {text}"
    );
    assert!(
        text.contains("     timeout = 12\n}"),
        "Alice's timeout: {text}"
    );
    assert!(text.contains("serial_no = 9"), "{text}");
    // A form of web (whose server Bob changed) merges too: the virtual's
    // form does not show its servers.
    let r = post(&alice, "/virtual/web/edit", &web, &[("reentry", "20")]);
    assert_eq!(r.status, 303, "{}", r.body);

    // The same key: both open web's form, Bob saves timeout 9 first.
    let a = open(&alice, "/virtual/web/edit");
    let r = bob.submit("/virtual/web/edit", &[("timeout", "9")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let before = std::fs::read_to_string(&env.config).expect("read");
    let r = post(
        &alice,
        "/virtual/web/edit",
        &a,
        &[("timeout", "7"), ("port", "8080")],
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        std::fs::read_to_string(&env.config).expect("read"),
        before,
        "nothing saved"
    );
    assert!(
        r.body
            .contains("timeout: 6 when you loaded this page, now 9"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("by web user piranha from 127.0.0.1"),
        "{}",
        r.body
    );
    // Alice's input is still in the form.
    assert!(
        r.body.contains(r#"id="timeout" name="timeout" value="7""#),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#"id="port" name="port" value="8080""#),
        "{}",
        r.body
    );
    // Pressing ACCEPT again saves over Bob's change (the form now records
    // the file as it is).
    let again = (
        extract(&r.body, "version").expect("version"),
        unescape(&extract(&r.body, "loaded").expect("loaded")),
    );
    let r = post(
        &alice,
        "/virtual/web/edit",
        &again,
        &[("timeout", "7"), ("port", "8080")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let text = std::fs::read_to_string(&env.config).expect("read");
    assert!(
        text.contains("timeout = 7") && text.contains("port = 8080"),
        "{text}"
    );

    // ADD from a list loaded before another save merges too.
    let v = alice.version("/virtual");
    assert_eq!(
        bob.submit("/virtual/web/real/r1/edit", &[("weight", "5")])
            .status,
        303
    );
    let r = alice.post_form(
        "/virtual",
        &v,
        &[("virtual_service", "ADD"), ("name", "new1")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let text = std::fs::read_to_string(&env.config).expect("read");
    assert!(
        text.contains("virtual new1 {") && text.contains("weight = 5"),
        "{text}"
    );

    // A form without the record (an old page) is refused as before.
    let v = alice.version("/virtual/ftp/edit");
    let r = bob.submit("/virtual/web/real/r1/edit", &[("weight", "4")]);
    assert_eq!(r.status, 303);
    let r = alice.post_form("/virtual/ftp/edit", &v, &[("timeout", "13")]);
    assert_eq!(r.status, 409, "{}", r.body);
}
