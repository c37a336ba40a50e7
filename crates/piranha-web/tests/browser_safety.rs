//! The web tool's safety in a real browser (headless Chromium through
//! chromedriver, see tests/common/chromium.rs): Enter never adds, deletes
//! or (de)activates (I16 item 2), destructive actions ask first and show
//! the change, the history restores (I16 item 1).

mod common;

use common::chromium::*;
use common::*;
use fantoccini::key::Key;
use fantoccini::Locator;
use std::time::Duration;

/// Presses Enter in the element `css` and gives the browser time to send
/// whatever it would send.
async fn enter_in(c: &fantoccini::Client, css: &str) {
    let e = find(c, Locator::Css(css)).await;
    e.send_keys(&char::from(Key::Enter).to_string())
        .await
        .expect("Enter");
    tokio::time::sleep(Duration::from_millis(800)).await;
}

/// I16 item 2: on the lists, Enter on a selected radio button or in the
/// ADD name field submits nothing (it used to submit ADD: a junk virtual
/// `[server_name]` at 0.0.0.0 was saved).
#[test]
fn enter_never_adds_deletes_or_toggles() {
    run("enter", EnvBuilder::new("browser-enter"), |c, env, base| {
        Box::pin(async move {
            log_in(c, &base).await;
            let before = std::fs::read_to_string(&env.config).expect("read");
            for page in ["/virtual", "/virtual/web/real"] {
                c.goto(&format!("{base}{page}")).await.expect("goto");
                pick(c, if page == "/virtual" { "web" } else { "r1" }).await;
                enter_in(c, "input[name='selected']:checked").await;
                assert_eq!(
                    std::fs::read_to_string(&env.config).expect("read"),
                    before,
                    "{page}: Enter on a selected row changed lvs.cf"
                );
                enter_in(c, "input[name='name']").await;
                find(c, Locator::Css("input[name='name']"))
                    .await
                    .send_keys("junk")
                    .await
                    .expect("type");
                enter_in(c, "input[name='name']").await;
                assert_eq!(
                    std::fs::read_to_string(&env.config).expect("read"),
                    before,
                    "{page}: Enter in the name field changed lvs.cf"
                );
                let typed = find(c, Locator::Css("input[name='name']"))
                    .await
                    .prop("value")
                    .await
                    .expect("value");
                assert_eq!(
                    typed.as_deref(),
                    Some("junk"),
                    "{page}: the typed name was lost"
                );
                let url = c.current_url().await.expect("url");
                assert_eq!(url.path(), page, "Enter navigated away");
            }
            // The buttons themselves still work: EDIT by click.
            c.goto(&format!("{base}/virtual")).await.expect("goto");
            pick(c, "web").await;
            press(c, "virtual_service", "EDIT").await;
            wait_title(c, "Piranha (Virtual server: web)").await;
        })
    });
}

/// I16 item 1: DELETE shows the lvs.cf diff and writes nothing until
/// CONFIRM; Enter on the confirmation does not confirm, CANCEL goes back;
/// the HISTORY panel lists the save with its diff, and RESTORE (confirmed
/// too) puts the virtual server back.
#[test]
fn delete_asks_first_and_history_restores() {
    run(
        "confirm",
        EnvBuilder::new("browser-confirm"),
        |c, env, base| {
            Box::pin(async move {
                log_in(c, &base).await;
                let before = std::fs::read_to_string(&env.config).expect("read");
                c.goto(&format!("{base}/virtual")).await.expect("goto");
                pick(c, "web").await;
                press(c, "virtual_service", "DELETE").await;
                let t = wait_confirmation(c).await;
                assert_eq!(t, "Piranha (Confirm: DELETE virtual server web)");
                let diff = find(c, Locator::Css("pre.diff"))
                    .await
                    .text()
                    .await
                    .expect("text");
                assert!(diff.contains("-virtual web {"), "{diff}");
                shot(c, "20-confirm-delete").await;
                // Enter on the page confirms nothing: the focus starts on
                // CANCEL, so Enter goes back to the list.
                let focused = c.active_element().await.expect("focus");
                assert_eq!(focused.text().await.expect("text"), "CANCEL");
                enter_in(c, "body").await;
                focused
                    .send_keys(&char::from(Key::Enter).to_string())
                    .await
                    .expect("Enter");
                wait_title(c, "Piranha (Virtual Servers)").await;
                assert_eq!(
                    std::fs::read_to_string(&env.config).expect("read"),
                    before,
                    "Enter confirmed"
                );
                // Again, and CONFIRM.
                pick(c, "web").await;
                press(c, "virtual_service", "DELETE").await;
                confirm(c).await;
                wait_title(c, "Piranha (Virtual Servers)").await;
                let after = std::fs::read_to_string(&env.config).expect("read");
                assert!(!after.contains("virtual web {"), "{after}");

                // HISTORY lists the save; its diff opens without JavaScript.
                find(c, Locator::LinkText("HISTORY"))
                    .await
                    .click()
                    .await
                    .expect("tab");
                wait_title(c, "Piranha (History)").await;
                let h = find(c, Locator::Css("section.save h2"))
                    .await
                    .text()
                    .await
                    .expect("text");
                assert_eq!(h, "Save 1: virtual web deleted");
                find(c, Locator::Css("section.save summary"))
                    .await
                    .click()
                    .await
                    .expect("open");
                shot(c, "21-history").await;
                press(c, "restore", "1").await;
                let t = wait_confirmation(c).await;
                assert_eq!(t, "Piranha (Confirm: RESTORE serial_no 7)");
                shot(c, "22-confirm-restore").await;
                confirm(c).await;
                wait_title(c, "Piranha (History)").await;
                let now = std::fs::read_to_string(&env.config).expect("read");
                assert_eq!(now, before.replace("serial_no = 7", "serial_no = 9"));
                let h = find(c, Locator::Css("section.save h2"))
                    .await
                    .text()
                    .await
                    .expect("text");
                assert!(h.starts_with("Save 2: restore of serial_no 7"), "{h}");
            })
        },
    );
}

/// I16 item 6: NEW VIRTUAL SERVER in the browser: "add another real
/// server" (a submit, no JavaScript) keeps what was typed and adds a row;
/// CREATE saves the virtual server and its three real servers at once.
#[test]
fn one_form_for_a_new_virtual_server() {
    run(
        "new-virtual",
        EnvBuilder::new("browser-new-virtual"),
        |c, env, base| {
            Box::pin(async move {
                log_in(c, &base).await;
                c.goto(&format!("{base}/virtual")).await.expect("goto");
                find(c, Locator::LinkText("NEW VIRTUAL SERVER"))
                    .await
                    .click()
                    .await
                    .expect("link");
                wait_title(c, "Piranha (New virtual server)").await;
                fill(c, "name", "shop").await;
                fill(c, "address", "10.0.0.50").await;
                fill(c, "device", "eth0:5").await;
                for (i, (n, a)) in [("a", "10.0.1.1"), ("b", "10.0.1.2")].iter().enumerate() {
                    fill(c, &format!("server_name_{i}"), n).await;
                    fill(c, &format!("server_address_{i}"), a).await;
                }
                let before = std::fs::read_to_string(&env.config).expect("read");
                press(c, "more", "1").await;
                fill(c, "server_name_2", "c").await;
                fill(c, "server_address_2", "10.0.1.3").await;
                fill(c, "server_weight_2", "4").await;
                assert_eq!(std::fs::read_to_string(&env.config).expect("read"), before);
                let kept = find(c, Locator::Id("server_address_1"))
                    .await
                    .prop("value")
                    .await
                    .expect("value");
                assert_eq!(kept.as_deref(), Some("10.0.1.2"), "typed rows kept");
                shot(c, "23-new-virtual").await;
                find(c, Locator::Css("button[name='create']:not([hidden])"))
                    .await
                    .click()
                    .await
                    .expect("create");
                wait_title(c, "Piranha (Real servers of shop)").await;
                let doc = lvscf_parser::Document::parse(
                    "lvs.cf",
                    std::fs::read(&env.config).expect("read"),
                );
                let v = doc.config().virtual_named("shop").expect("shop").clone();
                let s: Vec<(String, u32)> = v
                    .servers
                    .iter()
                    .map(|s| (s.name.clone(), s.weight))
                    .collect();
                assert_eq!(
                    s,
                    [
                        ("a".to_string(), 1),
                        ("b".to_string(), 1),
                        ("c".to_string(), 4)
                    ]
                );
                assert_eq!(doc.config().serial_no, 8, "one save");
            })
        },
    );
}

/// I16 item 5 in the browser: deadtime below keepalive is not saved with
/// "Changes saved": the page comes back with the warning on the field,
/// the focus on it, and SAVE ANYWAY saves it.
#[test]
fn a_warning_is_shown_focused_and_saved_anyway() {
    run("warn", EnvBuilder::new("browser-warn"), |c, env, base| {
        Box::pin(async move {
            log_in(c, &base).await;
            c.goto(&format!("{base}/redundancy")).await.expect("goto");
            fill(c, "dead_after", "5").await;
            let before = std::fs::read_to_string(&env.config).expect("read");
            press(c, "redundancy_action", "ACCEPT").await;
            let w = find(c, Locator::Id("err-dead_after"))
                .await
                .text()
                .await
                .expect("text");
            assert!(
                w.contains("deadtime (5 s) is not above keepalive (6 s)"),
                "{w}"
            );
            assert_eq!(std::fs::read_to_string(&env.config).expect("read"), before);
            let focused = c.active_element().await.expect("focus");
            assert_eq!(
                focused.attr("id").await.expect("id").as_deref(),
                Some("dead_after")
            );
            assert_eq!(
                focused
                    .attr("aria-describedby")
                    .await
                    .expect("attr")
                    .as_deref(),
                Some("err-dead_after")
            );
            shot(c, "24-warning").await;
            press(c, "save_anyway", "1").await;
            wait_title(c, "Piranha (Redundancy)").await;
            let end = std::time::Instant::now() + Duration::from_secs(10);
            while !std::fs::read_to_string(&env.config)
                .expect("read")
                .contains("deadtime = 5")
            {
                assert!(std::time::Instant::now() < end, "SAVE ANYWAY saved nothing");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });
}
