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
