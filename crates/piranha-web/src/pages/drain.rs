//! DRAIN of a real server (`lvscf drain` from the web): the confirmation
//! page that says what will happen, and the page of lvsd's answer.
//!
//! A drain is lvsd's (crates/lvsd/src/drain.rs): weight 0 in the kernel at
//! once, the server's connections go on, and when no active one is left
//! lvsd sets `active = 0` on it in lvs.cf. The web tool only asks.

use super::layout::{layout, Ctx, Tab};
use super::virtuals::subnav;
use crate::urls::{seg, virtual_url};
use crate::view::{row_anchor, with_query};
use lvs_status::lvsd::Server as LiveServer;
use lvs_status::DrainResult;
use lvscf_parser::RealServer;
use maud::{html, Markup};

/// The URL of a real server's DRAIN page (`cancel`: the page that ends a
/// drain).
pub fn drain_url(vname: &str, sname: &str, cancel: bool) -> String {
    let url = format!("/virtual/{}/real/{}/drain", seg(vname), seg(sname));
    if cancel {
        with_query(&url, "cancel=1")
    } else {
        url
    }
}

/// Back to the REAL SERVER list, at the row of `sname`.
pub fn back_url(vname: &str, sname: &str) -> String {
    let at = form_urlencoded::Serializer::new(String::new())
        .append_pair("at", sname)
        .finish();
    format!(
        "{}#{}",
        with_query(&virtual_url(vname, "real"), &at),
        row_anchor(sname)
    )
}

/// The DRAIN (or END DRAIN) link of a real server's row in the list:
/// only for a server lvs.cf has active and lvsd runs.
pub fn drain_cell(vname: &str, server: &RealServer, live: Option<&LiveServer>) -> Markup {
    html! {
        @match live {
            Some(l) if l.draining => {
                a.button href=(drain_url(vname, &server.name, true)) aria-label=(format!("end the drain of {}", server.name)) { "END DRAIN" }
            }
            Some(_) if server.active => {
                a.button href=(drain_url(vname, &server.name, false)) aria-label=(format!("drain {}", server.name)) { "DRAIN" }
            }
            _ => { "-" }
        }
    }
}

/// "3 active and 5 inactive connections".
fn connections(active: u32, inactive: u32) -> String {
    let s = |n: u32| if n == 1 { "" } else { "s" };
    format!(
        "{active} active connection{} and {inactive} inactive connection{}",
        s(active),
        s(inactive)
    )
}

/// The confirmation page: what DRAIN (or END DRAIN) will do to `server`.
pub fn drain_confirm(
    ctx: &Ctx,
    vname: &str,
    server: &RealServer,
    live: Option<&LiveServer>,
    cancel: bool,
) -> Markup {
    let sname = server.name.as_str();
    let address = server
        .address
        .as_ref()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let title = if cancel {
        format!("End the drain of real server {sname}")
    } else {
        format!("Drain real server {sname}")
    };
    html! {
        (layout(&title, Tab::Virtual, ctx, html! {
            (subnav(vname, "real"))
            p { "Virtual server " b { (vname) } ", real server " b { (sname) } " (" (address) "), weight " (server.weight) " in lvs.cf." }
            @if let Some(l) = live {
                p { "Now: weight " (l.weight) " in the kernel, " (connections(l.active_conns, l.inactive_conns)) "." }
            } @else {
                p.alert { "lvsd does not run this server now: it cannot be drained." }
            }
            @if cancel {
                h2 { "What END DRAIN does" }
                ol {
                    li { "lvsd gives the server its weight again (" (server.weight) ") at once: it gets new connections." }
                    li { "lvs.cf is not changed." }
                }
            } @else {
                h2 { "What DRAIN does" }
                ol {
                    li { "lvsd sets the server's weight to " b { "0" } " in the kernel at once: it gets no new connection, whatever its health." }
                    li { "Its existing connections continue; this list shows how many active connections are left." }
                    li { "When no active connection is left, lvsd sets " code { "active = 0" } " on the server in lvs.cf (a save, with a new serial_no) and the server is deactivated: it leaves the table." }
                }
                p.note { "The drain lives in lvsd's memory: if lvsd restarts or the backup router takes over first, the server is back at its weight. END DRAIN stops it." }
            }
            form method="post" action=(drain_url(vname, sname, false)) {
                input type="hidden" name="csrf" value=(ctx.csrf);
                @if cancel {
                    input type="hidden" name="cancel" value="1";
                    button type="submit" name="drain_action" value="END DRAIN" { "END DRAIN" }
                } @else {
                    button type="submit" name="drain_action" value="DRAIN" { "DRAIN" }
                }
                " "
                a href=(back_url(vname, sname)) { "CANCEL" }
            }
        }))
    }
}

/// The page of lvsd's answer to a DRAIN or END DRAIN.
pub fn drain_done(
    ctx: &Ctx,
    vname: &str,
    sname: &str,
    cancel: bool,
    answer: &Result<DrainResult, String>,
) -> Markup {
    let what = if cancel { "END DRAIN" } else { "DRAIN" };
    html! {
        (layout(&format!("{what} {sname}"), Tab::Virtual, ctx, html! {
            (subnav(vname, "real"))
            @match answer {
                Ok(r) if r.ok && r.draining => {
                    p role="status" { "Real server " b { (sname) } " of " b { (vname) } " is draining: weight 0, " (connections(r.active_conns, r.inactive_conns)) " left. lvsd deactivates it in lvs.cf when no active connection is left." }
                }
                Ok(r) if r.ok => {
                    p role="status" { "The drain of real server " b { (sname) } " of " b { (vname) } " has ended: it is back at its weight (" (connections(r.active_conns, r.inactive_conns)) ")." }
                }
                Ok(r) => {
                    p.alert role="alert" { "lvsd refused " (what) ": " (r.error.as_deref().unwrap_or("no reason given")) }
                }
                Err(e) => {
                    p.alert role="alert" { "lvsd is not running, so nothing was drained: " (e) }
                }
            }
            p { a href=(back_url(vname, sname)) { "Back to the real servers of " (vname) } }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::render;

    fn config_server(active: bool) -> RealServer {
        RealServer {
            name: "s/2".into(),
            address: Some(lvscf_parser::Host::Ip("10.0.1.12".parse().expect("ip"))),
            active,
            weight: 3,
            port: None,
            unusable_port: None,
            unusable_weight: None,
        }
    }

    fn live(draining: bool, active_conns: u32) -> LiveServer {
        LiveServer {
            server: "s/2".into(),
            address: "10.0.1.12".parse().expect("ip"),
            port: 80,
            state: lvs_status::lvsd::ServerState::Up,
            weight: if draining { 0 } else { 3 },
            in_kernel: true,
            reason: None,
            since_ms: None,
            report_age_ms: None,
            active_conns,
            inactive_conns: 1,
            stats: Default::default(),
            certificate: None,
            draining,
        }
    }

    #[test]
    fn the_row_offers_drain_or_its_end() {
        let l = live(false, 2);
        let drain = render(drain_cell("web", &config_server(true), Some(&l)));
        assert!(
            drain.contains(r#"href="/virtual/web/real/s%2F2/drain""#) && drain.contains(">DRAIN<"),
            "{drain}"
        );
        let d = live(true, 2);
        let end = render(drain_cell("web", &config_server(true), Some(&d)));
        assert!(
            end.contains(r#"href="/virtual/web/real/s%2F2/drain?cancel=1""#)
                && end.contains(">END DRAIN<"),
            "{end}"
        );
        // Not run by lvsd, or inactive in lvs.cf: nothing to drain.
        assert_eq!(render(drain_cell("web", &config_server(true), None)), "-");
        assert_eq!(
            render(drain_cell("web", &config_server(false), Some(&l))),
            "-"
        );
    }

    #[test]
    fn the_confirmation_says_what_will_happen() {
        let ctx = Ctx {
            csrf: "T".into(),
            ..Ctx::default()
        };
        let l = live(false, 2);
        let html = render(drain_confirm(
            &ctx,
            "web",
            &config_server(true),
            Some(&l),
            false,
        ));
        for want in [
            "weight to <b>0</b>",
            "existing connections continue",
            "<code>active = 0</code>",
            "2 active connections and 1 inactive connection.",
            r#"action="/virtual/web/real/s%2F2/drain""#,
            r#"name="csrf" value="T""#,
            r#"value="DRAIN""#,
            r#"href="/virtual/web/real?at=s%2F2#row-s%2F2""#,
        ] {
            assert!(html.contains(want), "{want}: {html}");
        }
        let end = render(drain_confirm(
            &ctx,
            "web",
            &config_server(true),
            Some(&l),
            true,
        ));
        assert!(end.contains(r#"name="cancel" value="1""#), "{end}");
        assert!(end.contains("its weight again (3)"), "{end}");
        let gone = render(drain_confirm(
            &ctx,
            "web",
            &config_server(true),
            None,
            false,
        ));
        assert!(gone.contains("cannot be drained"), "{gone}");
    }

    #[test]
    fn the_answer_page_says_where_the_server_stands() {
        let ctx = Ctx::default();
        let draining = DrainResult {
            ok: true,
            error: None,
            draining: true,
            active_conns: 4,
            inactive_conns: 0,
        };
        let html = render(drain_done(&ctx, "web", "s2", false, &Ok(draining)));
        assert!(
            html.contains(
                "is draining: weight 0, 4 active connections and 0 inactive connections left"
            ),
            "{html}"
        );
        let refused = render(drain_done(
            &ctx,
            "web",
            "s2",
            false,
            &Ok(DrainResult::failed(
                "real server `s2` of virtual server `web` is not active",
            )),
        ));
        assert!(
            refused.contains("lvsd refused DRAIN: real server"),
            "{refused}"
        );
        let down = render(drain_done(
            &ctx,
            "web",
            "s2",
            true,
            &Err("no socket".into()),
        ));
        assert!(down.contains("lvsd is not running"), "{down}");
    }
}
