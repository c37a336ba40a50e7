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
