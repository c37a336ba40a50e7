//! The confirmation page of a destructive or disruptive action (DELETE,
//! (DE)ACTIVATE, disabling redundancy, APPLY, COPY TO BACKUP, RESTORE):
//! what will change (the lvs.cf diff, or what will happen), then CONFIRM
//! and CANCEL. The form carries the request it confirms, its CSRF token
//! and the version of lvs.cf the diff was made from, so what is confirmed
//! is what was shown. Nothing is written before CONFIRM.

use super::layout::{layout, Ctx, Tab};
use super::list::enter_does_nothing;
use crate::confirm::CONFIRM;
use crate::forms::Params;
use maud::{html, Markup};

/// What a confirmation page shows and where its CONFIRM goes.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// The page title (the action: "Delete virtual server ftp").
    pub title: String,
    /// The tab it belongs to.
    pub tab: Tab,
    /// One line: what will change or happen.
    pub summary: String,
    /// More about it (what APPLY does...), may be empty.
    pub detail: String,
    /// The unified diff of lvs.cf, empty when the action writes nothing.
    pub diff: String,
    /// Where CONFIRM posts.
    pub action: String,
    /// The request's own fields, posted again with CONFIRM.
    pub carry: Params,
    /// The version (SHA-256) of lvs.cf the diff was made from, if any.
    pub version: Option<String>,
    /// Where CANCEL goes.
    pub cancel: String,
}

/// The fields a confirmation never carries from the request (it sets its
/// own).
const OWN: &[&str] = &["csrf", "version", CONFIRM, crate::panel::ENTER];

/// The confirmation page.
pub fn confirm(ctx: &Ctx, c: &Confirmation) -> Markup {
    layout(
        &format!("Confirm: {}", c.title),
        c.tab,
        ctx,
        html! {
            p.confirm { strong { (c.summary) } }
            @if !c.detail.is_empty() { p { (c.detail) } }
            @if !c.diff.is_empty() {
                p { "lvs.cf after this change (lines starting with - go, + come):" }
                pre.diff aria-label="lvs.cf diff" { (c.diff) }
            } @else if c.version.is_some() {
                p { "lvs.cf does not change." }
            }
            form method="post" action=(c.action) {
                (enter_does_nothing())
                input type="hidden" name="csrf" value=(ctx.csrf);
                @if let Some(v) = &c.version { input type="hidden" name="version" value=(v); }
                @for (k, v) in c.carry.iter().filter(|(k, _)| !OWN.contains(&k.as_str())) {
                    input type="hidden" name=(k) value=(v);
                }
                p { "Nothing has been done yet." }
                button type="submit" name=(CONFIRM) value="1" { "CONFIRM" }
                " "
                // The focus starts on CANCEL: Enter as the page opens
                // goes back, and never confirms.
                a.button href=(c.cancel) autofocus { "CANCEL" }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::render;

    #[test]
    fn the_form_carries_the_request_token_and_version() {
        let ctx = Ctx {
            csrf: "tok".into(),
            logged_in: true,
            ..Ctx::default()
        };
        let c = Confirmation {
            title: "DELETE".into(),
            tab: Tab::Virtual,
            summary: "virtual ftp deleted".into(),
            detail: String::new(),
            diff: "--- a\n+++ b\n-virtual ftp {\n".into(),
            action: "/virtual".into(),
            carry: vec![
                ("virtual_service".into(), "DELETE".into()),
                ("selected".into(), "<ftp>".into()),
                ("csrf".into(), "old".into()),
                ("version".into(), "stale".into()),
                (CONFIRM.into(), "1".into()),
            ],
            version: Some("h1".into()),
            cancel: "/virtual#row-ftp".into(),
        };
        let html = render(confirm(&ctx, &c));
        assert!(html.contains(r#"name="csrf" value="tok""#), "{html}");
        assert!(html.contains(r#"name="version" value="h1""#), "{html}");
        assert!(
            !html.contains("stale") && !html.contains(r#"value="old""#),
            "{html}"
        );
        assert!(
            html.contains(r#"name="selected" value="&lt;ftp&gt;""#),
            "{html}"
        );
        assert!(html.contains("-virtual ftp {"), "{html}");
        // Enter presses the hidden button that does nothing, never CONFIRM.
        let form = html
            .find(r#"<form method="post" action="/virtual""#)
            .expect("form");
        let first = form + html[form..].find("<button").expect("button");
        assert!(
            html[first..].starts_with(r#"<button type="submit" name="enter""#),
            "{html}"
        );
        assert_eq!(
            html.matches(r#"name="confirm" value="1""#).count(),
            1,
            "{html}"
        );
    }
}
