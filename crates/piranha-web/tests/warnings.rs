//! Issue 16 item 5 over HTTP: a value that loads but makes the daemons
//! warn is not saved at once: the form comes back with the warning on its
//! field (aria-invalid, aria-describedby, focus), in words of fields, and
//! SAVE ANYWAY saves it; NAT → Direct → NAT keeps the NAT router.

mod common;

use common::*;

#[test]
fn deadtime_below_keepalive_asks_before_saving() {
    let env = EnvBuilder::new("warnings").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let before = file_state(&env.config);
    let v = c.version("/redundancy");
    let r = c.post_form(
        "/redundancy",
        &v,
        &[
            ("redundancy_action", "ACCEPT"),
            ("hb_interval", "6"),
            ("dead_after", "5"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(file_state(&env.config), before, "not saved");
    let b = &r.body;
    assert!(!b.contains("Changes saved"), "{b}");
    assert!(
        b.contains(r#"id="dead_after" name="dead_after" value="5" size="30" aria-invalid="true" aria-describedby="err-dead_after" autofocus"#),
        "{b}"
    );
    assert!(b.contains(r#"<span class="err warn" id="err-dead_after">Warning: deadtime (5 s) is not above keepalive (6 s)"#), "{b}");
    assert!(
        !b.contains("line "),
        "messages speak of fields, not lines: {b}"
    );
    assert!(
        b.contains(r#"name="save_anyway" value="1">SAVE ANYWAY</button>"#),
        "{b}"
    );
    // SAVE ANYWAY: the same form with save_anyway.
    let v = extract(b, "version").expect("version");
    let r = c.post_form(
        "/redundancy",
        &v,
        &[
            ("redundancy_action", "ACCEPT"),
            ("hb_interval", "6"),
            ("dead_after", "5"),
            ("save_anyway", "1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(std::fs::read_to_string(&env.config)
        .expect("read")
        .contains("deadtime = 5"));
    // A field error is tied to its field too.
    let r = c.submit("/virtual/web/edit", &[("port", "notaport")]);
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .contains(r#"aria-invalid="true" aria-describedby="err-port" autofocus"#),
        "{}",
        r.body
    );
}

#[test]
fn nat_direct_nat_keeps_the_nat_router() {
    let env = EnvBuilder::new("nat-mode").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let r = c.submit(
        "/global",
        &[
            ("network", "nat"),
            ("NATRtrIP", "192.168.1.254"),
            ("NATRtrDev", "eth1:1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = c.submit("/global", &[("network", "direct")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let text = std::fs::read_to_string(&env.config).expect("read");
    assert!(
        text.contains("network = direct") && text.contains("nat_router = 192.168.1.254 eth1:1"),
        "{text}"
    );
    let r = c.submit("/global", &[("network", "nat")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let page = c.get("/global");
    assert!(
        page.body
            .contains(r#"id="NATRtrIP" name="NATRtrIP" value="192.168.1.254""#),
        "{}",
        page.body
    );
}
