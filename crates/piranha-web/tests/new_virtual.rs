//! Issue 16 item 6 over HTTP: one form for a new virtual server with its
//! check and any number of real servers ("add another real server" works
//! without JavaScript), saved once with one history entry.

mod common;

use common::*;

#[test]
fn one_form_one_save_one_history_entry() {
    let env = EnvBuilder::new("new-virtual").start();
    let c = login(env.addr, PASSWORD).expect("login");
    let list = c.get("/virtual");
    assert!(
        list.body
            .contains(r#"<a href="/virtual/new">NEW VIRTUAL SERVER</a>"#),
        "{}",
        list.body
    );
    let form = c.get("/virtual/new");
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains(r#"name="server_name_1""#)
            && !form.body.contains(r#"name="server_name_2""#)
    );
    let v = extract(&form.body, "version").expect("version");
    let mut fields = vec![
        ("name", "shop"),
        ("address", "10.0.0.50"),
        ("device", "eth0:5"),
        ("port", "8080"),
        ("protocol", "tcp"),
        ("sched", "wrr"),
        ("active", "1"),
        ("check", "http"),
        ("check_url", "/healthz"),
        ("rows", "2"),
        ("server_name_0", "a"),
        ("server_address_0", "10.0.1.1"),
        ("server_weight_0", "2"),
        ("server_name_1", "b"),
        ("server_address_1", "10.0.1.2"),
        ("server_weight_1", "1"),
    ];
    // "Add another real server": the form again, with what was typed and
    // one more row; nothing saved.
    let before = file_state(&env.config);
    let mut more = fields.clone();
    more.push(("more", "1"));
    let r = c.post_form("/virtual/new", &v, &more);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(file_state(&env.config), before);
    assert!(r.body.contains(r#"name="rows" value="3""#), "{}", r.body);
    assert!(
        r.body
            .contains(r#"id="server_name_2" name="server_name_2" value="""#),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(r#"id="server_address_1" name="server_address_1" value="10.0.1.2""#),
        "{}",
        r.body
    );
    fields.retain(|(k, _)| *k != "rows");
    fields.extend([
        ("rows", "3"),
        ("server_name_2", "c"),
        ("server_address_2", "10.0.1.3"),
        ("server_weight_2", "5"),
        ("create", "1"),
    ]);
    let r = c.post_form("/virtual/new", &v, &fields);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/virtual/shop/real?saved=1"));
    let doc = lvscf_parser::Document::parse("lvs.cf", std::fs::read(&env.config).expect("read"));
    assert!(!doc.has_errors());
    let c2 = doc.config();
    assert_eq!(c2.serial_no, 8, "one save");
    let shop = c2.virtual_named("shop").expect("shop");
    assert!(shop.active);
    assert_eq!(shop.port, 8080);
    let servers: Vec<(&str, u32)> = shop
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.weight))
        .collect();
    assert_eq!(servers, [("a", 2), ("b", 1), ("c", 5)]);
    let h = lvscf_store::history::list(&env.config).expect("history");
    assert_eq!(h.len(), 1, "one history entry");
    assert_eq!(h[0].change.summary, "virtual shop added");

    // A bad row: refused on its field, the input kept, nothing saved.
    let before = file_state(&env.config);
    let v = c.version("/virtual/new");
    let r = c.post_form(
        "/virtual/new",
        &v,
        &[
            ("name", "ftp"),
            ("address", "10.0.0.60"),
            ("device", "eth0:6"),
            ("rows", "1"),
            ("server_name_0", "x"),
            ("server_address_0", "not an address"),
            ("create", "1"),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .contains(r#"aria-describedby="err-server_address_0""#),
        "{}",
        r.body
    );
    assert!(r.body.contains(r#"value="not an address""#), "{}", r.body);
    assert_eq!(file_state(&env.config), before);
    // A taken name is refused on the name field.
    let r = c.post_form(
        "/virtual/new",
        &v,
        &[
            ("name", "web"),
            ("address", "10.0.0.61"),
            ("device", "eth0:7"),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains(r#"id="err-name""#), "{}", r.body);
}
