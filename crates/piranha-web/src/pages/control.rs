//! CONTROL/MONITORING, a dashboard: the two routers (roles, states,
//! heartbeat age, whether their lvs.cf match), whether lvs.cf on disk is
//! the file that runs (APPLY), the buttons, summary counts, then each
//! virtual server lvsd runs and its real servers: state, nanny's latest
//! result and its age, time in state, connections and rates. Searchable,
//! filtered to problems on request, paged.

use super::layout::{action_buttons, layout, Ctx, Tab};
use super::list::pager;
use super::widgets::diagnostics;
use crate::live::{self, ago, rate, LiveState, VirtualState};
use crate::view::ListView;
use lvs_status::lvsd::{Server, ServerState, Service, Stats};
use lvs_status::pulse::{PartnerState, Role, RouterState};
use lvs_status::{LvsdStatus, PulseStatus};
use lvscf_parser::Document;
use maud::{html, Markup};

fn role_word(r: Role) -> &'static str {
    match r {
        Role::Master => "primary",
        Role::Backup => "backup",
    }
}

fn partner_role(r: Role) -> &'static str {
    match r {
        Role::Master => "backup",
        Role::Backup => "primary",
    }
}

fn routers(doc: &Document, pulse: &Result<PulseStatus, String>) -> Markup {
    let st = match pulse {
        Ok(st) => st,
        Err(e) => {
            return html! {
                p { "pulse: " span.live-down { "not running" } " (" (e) "). This router takes no part in failover until pulse is started." }
            }
        }
    };
    let (state_class, state_word) = match st.state {
        RouterState::Active => ("live-up", "active: holds the VIPs and runs lvsd"),
        RouterState::Inactive => ("live-none", "inactive: standing by"),
    };
    let (partner_class, partner_word) = match st.partner.state {
        PartnerState::Active => ("live-up", "active"),
        PartnerState::Inactive => ("live-none", "inactive: standing by"),
        PartnerState::Leaving => ("live-warn", "leaving (stopping cleanly)"),
        PartnerState::Unknown => ("live-down", "not heard"),
    };
    let hb = &st.heartbeat;
    let up_channels = hb.channels.iter().filter(|c| c.up).count();
    html! {
        table.list.routers {
            caption { "Routers (pulse)" }
            tr { th scope="col" { span.vh { "what" } } th scope="col" { "this router" } th scope="col" { "partner" } }
            tr {
                th scope="row" { "role" }
                td { (role_word(st.role)) }
                td { (partner_role(st.role)) }
            }
            tr {
                th scope="row" { "state" }
                td {
                    span class=(state_class) { (state_word) }
                    @if st.link_failure { " " span.live-down { "link failure" } }
                    @if st.child_failure { " " span.live-down { "lvsd failed" } }
                }
                td {
                    span class=(partner_class) { (partner_word) }
                    @if st.partner.unwilling { " " span.live-warn { "cannot take over" } }
                }
            }
            tr {
                th scope="row" { "heartbeat" }
                td { "every " (hb.keepalive) " s, dead after " (hb.deadtime) " s; " (hb.mode) }
                td {
                    @match st.partner.last_heartbeat_age_ms {
                        Some(ms) => { "last heard " (ago(ms)) " ago" }
                        None => { span.live-down { "never heard" } }
                    }
                    @if !hb.channels.is_empty() { "; " (up_channels) " of " (hb.channels.len()) " paths up" }
                    @if hb.total_drops() > 0 { "; " (hb.total_drops()) " datagrams dropped" }
                }
            }
            tr {
                th scope="row" { "lvs.cf" }
                td { "serial_no " (doc.config().serial_no) " on disk" }
                td {
                    @match st.config_digest.matches {
                        Some(true) => span.live-up { "the same file" },
                        Some(false) => span.live-down { "differs: copy lvs.cf to the backup" },
                        None => span.live-none { "not compared (heartbeats are signed only with heartbeat_key)" },
                    }
                }
            }
        }
    }
}

/// Counts of the whole table, whatever page is shown.
fn summary(doc: &Document, lvsd: &LvsdStatus) -> Markup {
    let c = doc.config();
    let active = c.virtuals.iter().filter(|v| v.active).count();
    let mut virt = [0usize; 4];
    for s in &lvsd.services {
        let i = match live::virtual_state(s) {
            VirtualState::Serving => 0,
            VirtualState::Degraded => 1,
            VirtualState::NoServer => 2,
            VirtualState::NotInKernel | VirtualState::NotRunning => 3,
        };
        virt[i] += 1;
    }
    let mut real = std::collections::BTreeMap::new();
    let mut conns = (0u64, 0u64);
    for r in lvsd.services.iter().flat_map(|s| &s.servers) {
        *real.entry(live::server_state(r)).or_insert(0usize) += 1;
        conns.0 += u64::from(r.active_conns);
        conns.1 += u64::from(r.inactive_conns);
    }
    html! {
        ul.summary {
            li { b { (c.virtuals.len()) } " virtual servers in lvs.cf, " (active) " active; lvsd runs " b { (lvsd.services.len()) } ": "
                (virt[0]) " serving, " (virt[1]) " degraded, " (virt[2]) " with no real server up, " (virt[3]) " not in the kernel" }
            li { b { (real.values().sum::<usize>()) } " real servers: "
                @for (i, st) in LiveState::ALL.iter().filter(|s| real.contains_key(s)).enumerate() {
                    @if i > 0 { ", " }
                    (real[st]) " " span class=(st.class()) { (st.word()) }
                }
            }
            li { (conns.0) " active and " (conns.1) " inactive connections" }
        }
    }
}

fn service_title(s: &Service) -> String {
    match (s.fwmark, s.address) {
        (Some(fw), _) if fw != 0 => format!("{} fwmark {fw}", s.protocol.to_uppercase()),
        (_, Some(a)) => format!(
            "{} {}",
            s.protocol.to_uppercase(),
            std::net::SocketAddr::new(a, s.port)
        ),
        (_, None) => format!("{} port {}", s.protocol.to_uppercase(), s.port),
    }
}

fn rates(st: &Stats) -> Markup {
    html! {
        td.num { (rate(st.cps)) }
        td.num { (rate(st.inpps)) " / " (rate(st.outpps)) }
        td.num { (rate(st.inbps)) " / " (rate(st.outbps)) }
    }
}

fn server_row(r: &Server) -> Markup {
    let st = live::server_state(r);
    html! {
        tr.srow {
            th scope="row" { (r.server) }
            td { (std::net::SocketAddr::new(r.address, r.port)) }
            td {
                span class=(st.class()) { (st.word()) }
                @if r.draining { " " small { (r.active_conns) " active left" } }
                @if let Some(c) = &r.certificate { br; span.live-warn { (live::certificate_text(c)) } }
            }
            td {
                @match (&r.reason, r.report_age_ms) {
                    (Some(why), Some(ms)) => { span.reason { (why) } " " small { (ago(ms)) " ago" } }
                    (None, Some(ms)) if r.state == ServerState::Up => { "passed " small { (ago(ms)) " ago" } }
                    _ => { @if r.state == ServerState::Sorry { "in use: every real server is down" } @else { "-" } }
                }
            }
            td { @match r.since_ms { Some(ms) => (ago(ms)), None => "-" } }
            td.num { @if r.in_kernel { (r.weight) } @else { "-" } }
            td.num { (r.active_conns) }
            td.num { (r.inactive_conns) }
            (rates(&r.stats))
        }
    }
}

fn server_text(r: &Server) -> String {
    format!("{} {}", r.server, r.address)
}

/// The rows of one virtual server the view keeps: all of them when the
/// virtual itself matches, else those that match; with "only problems",
/// only the problem ones.
fn kept_servers<'a>(view: &ListView, s: &'a Service) -> Vec<&'a Server> {
    let own = view.matches(&format!("{} {}", s.name, service_title(s)));
    s.servers
        .iter()
        .filter(|r| own || view.matches(&server_text(r)))
        .filter(|r| !view.problems || live::server_state(r).is_problem() || r.certificate.is_some())
        .collect()
}

fn service_kept(view: &ListView, s: &Service) -> bool {
    let own = view.matches(&format!("{} {}", s.name, service_title(s)));
    let any = !kept_servers(view, s).is_empty();
    let problem = live::service_needs_look(s);
    (own || any) && (!view.problems || problem || any)
}

fn table(view: &ListView, lvsd: &LvsdStatus) -> Markup {
    let kept: Vec<&Service> = lvsd
        .services
        .iter()
        .filter(|s| service_kept(view, s))
        .collect();
    let paged = view.page_of(kept.len(), None);
    html! {
        (pager("/control", view, &paged, "virtual server"))
        div.scroll role="region" aria-label="live table" tabindex="0" {
            table.list.monitor {
                tr {
                    th scope="col" { "name" } th scope="col" { "address" } th scope="col" { "state" }
                    th scope="col" { "last check" } th scope="col" { "in state for" } th scope="col" { "weight" }
                    th scope="col" { "active" } th scope="col" { "inactive" } th scope="col" { "conn/s" }
                    th scope="col" { "packets/s in / out" } th scope="col" { "bytes/s in / out" }
                }
                @for s in &kept[paged.start..paged.end] {
                    @let st = live::virtual_state(s);
                    @let (act, inact) = s.servers.iter().fold((0u64, 0u64), |a, r| (a.0 + u64::from(r.active_conns), a.1 + u64::from(r.inactive_conns)));
                    tr.vrow id=(crate::view::row_anchor(&s.name)) {
                        th scope="row" { a href=(crate::urls::virtual_url(&s.name, "real")) { (s.name) } }
                        td { (service_title(s)) " " (s.scheduler) @if s.persistent > 0 { " persistent " (s.persistent) " s" } }
                        td {
                            span class=(st.class()) { (st.word()) }
                            @if let Some(q) = &s.quorum {
                                @let (class, words) = live::quorum_text(q);
                                br; span class=(class) { (words) }
                            }
                        }
                        td { "-" } td { "-" } td { "-" }
                        td.num { (act) } td.num { (inact) }
                        (rates(&s.stats))
                    }
                    @for r in kept_servers(view, s) { (server_row(r)) }
                }
            }
        }
    }
}

fn monitor_form(view: &ListView, auto_update: bool, rate: u32) -> Markup {
    html! {
        form.search method="get" action="/control" role="search" {
            label for="q" { "Search virtual and real servers: " }
            input type="search" id="q" name="q" value=(view.q) size="24";
            " "
            @if view.problems { input type="checkbox" id="problems" name="problems" value="1" checked; }
            @else { input type="checkbox" id="problems" name="problems" value="1"; }
            label for="problems" { " only problems" }
            " "
            @if auto_update { input type="checkbox" id="auto_update" name="auto_update" value="1" checked; }
            @else { input type="checkbox" id="auto_update" name="auto_update" value="1"; }
            label for="auto_update" { " Auto update" } " "
            label for="rate" { "Update Interval:" } " "
            input type="text" id="rate" name="rate" size="4" value=(rate) inputmode="numeric";
            " seconds (at least 10) "
            button type="submit" name="refresh" value="1" { "Update information now" }
            @if view.filtered() { " " a href="/control" { "show all" } }
        }
    }
}

/// The auto-update URL: the same view, refreshed every `rate` seconds.
pub fn refresh_url(view: &ListView, rate: u32) -> String {
    crate::view::with_query(
        &format!("/control?auto_update=1&rate={rate}"),
        &view.query_for_page(view.page),
    )
}

/// CONTROL/MONITORING.
pub fn control(
    ctx: &Ctx,
    doc: &Document,
    pulse: &Result<PulseStatus, String>,
    lvsd: Result<&LvsdStatus, &str>,
    auto_update: bool,
    rate: u32,
) -> Markup {
    let differs = pulse
        .as_ref()
        .map(crate::status::backup_differs)
        .unwrap_or(false);
    let stale = pulse
        .as_ref()
        .map(|p| crate::status::disk_differs_from_running(doc.as_bytes(), p))
        .unwrap_or(false);
    let view = &ctx.view;
    layout(
        "Control/Monitoring",
        Tab::Control,
        ctx,
        html! {
            @if differs {
                p.alert role="alert" { "The backup router's lvs.cf differs from this one (pulse compared their digests). Copy it to the backup." }
            }
            @if stale {
                div.stale role="status" {
                    p { strong { "lvs.cf on disk (serial_no " (doc.config().serial_no) ") is newer than the configuration that runs." } " It was saved since pulse last loaded it; APPLY puts it in force." }
                }
            }
            h2 { "CONTROL" }
            (routers(doc, pulse))
            (action_buttons(ctx))
            h2 { "MONITOR" }
            (monitor_form(view, auto_update, rate))
            @match lvsd {
                Ok(l) if l.services.is_empty() => p { "lvsd is running; it programs no virtual server." },
                Ok(l) => { (summary(doc, l)) (super::widgets::live_age_note(ctx)) (table(view, l)) },
                Err(e) => p { "lvsd is not running on this router (" (e) "): nothing to monitor here. A backup router runs no lvsd." },
            }
            (diagnostics(doc))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::render;
    use std::time::Duration;

    fn server(name: &str, state: ServerState, in_kernel: bool, reason: Option<&str>) -> Server {
        Server {
            server: name.into(),
            address: "10.0.1.11".parse().expect("ip"),
            port: 80,
            state,
            weight: if in_kernel { 1 } else { 0 },
            in_kernel,
            reason: reason.map(str::to_string),
            since_ms: Some(125_000),
            report_age_ms: Some(5_000),
            active_conns: 3,
            inactive_conns: 4,
            stats: Stats {
                cps: 12_500,
                ..Stats::default()
            },
            certificate: None,
            draining: false,
        }
    }

    fn service(name: &str, servers: Vec<Server>) -> Service {
        Service {
            name: name.into(),
            protocol: "tcp".into(),
            address: Some("10.0.0.100".parse().expect("ip")),
            port: 80,
            fwmark: None,
            scheduler: "wlc".into(),
            persistent: 0,
            in_kernel: true,
            stats: Stats::default(),
            servers,
            quorum: None,
        }
    }

    fn page(view: ListView, lvsd: LvsdStatus) -> String {
        let doc = Document::parse("lvs.cf", "serial_no = 4\n");
        let ctx = Ctx {
            view,
            ..Ctx::default()
        };
        render(control(
            &ctx,
            &doc,
            &Err("no pulse".into()),
            Ok(&lvsd),
            false,
            10,
        ))
    }

    #[test]
    fn rows_say_state_last_check_time_and_rates() {
        let l = LvsdStatus {
            services: vec![
                service(
                    "web",
                    vec![
                        server("r1", ServerState::Up, true, None),
                        server("r2", ServerState::Down, false, Some("connection refused")),
                    ],
                ),
                service("ok", vec![server("s1", ServerState::Up, true, None)]),
            ],
        };
        let html = page(ListView::default(), l.clone());
        assert!(html.contains("connection refused"), "{html}");
        assert!(html.contains("passed <small>5 s ago</small>"), "{html}");
        assert!(html.contains("<td>2 min</td>"), "{html}");
        assert!(html.contains("12.5k"), "{html}");
        assert!(
            html.contains(r#"<span class="live-warn">degraded</span>"#),
            "{html}"
        );
        assert!(
            html.contains("2 virtual servers") || html.contains("lvsd runs <b>2</b>"),
            "{html}"
        );
        // Only problems: the degraded virtual and its down server.
        let bad = page(
            ListView {
                problems: true,
                ..ListView::default()
            },
            l.clone(),
        );
        assert!(bad.contains(">r2<") && !bad.contains(">r1<"), "{bad}");
        assert!(!bad.contains(">s1<"), "{bad}");
        // Search by a real server's name.
        let found = page(
            ListView {
                q: "s1".into(),
                ..ListView::default()
            },
            l,
        );
        assert!(found.contains(">s1<") && !found.contains(">r2<"), "{found}");
    }

    #[test]
    fn the_dashboard_shows_quorum_and_certificates() {
        let mut r1 = server("r1", ServerState::Up, true, None);
        r1.certificate = Some(lvs_status::lvsd::Certificate {
            not_after: 0,
            days_left: 0,
        });
        let mut web = service("web", vec![r1, server("r2", ServerState::Up, true, None)]);
        web.quorum = Some(lvs_status::lvsd::Quorum {
            quorum: 2,
            hysteresis: 1,
            live_weight: 2,
            up: true,
        });
        let l = LvsdStatus {
            services: vec![
                web,
                service("ok", vec![server("s1", ServerState::Up, true, None)]),
            ],
        };
        let html = page(ListView::default(), l.clone());
        assert!(
            html.contains(
                r#"<span class="live-up">quorum up: live weight 2 of 2 needed, hysteresis 1</span>"#
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"<span class="live-warn">certificate expires today</span>"#),
            "{html}"
        );
        // Only problems: the server whose certificate expires, not the rest.
        let bad = page(
            ListView {
                problems: true,
                ..ListView::default()
            },
            l,
        );
        assert!(bad.contains(">r1<") && !bad.contains(">r2<"), "{bad}");
        assert!(!bad.contains(">s1<"), "{bad}");
    }

    #[test]
    fn the_page_says_how_old_the_live_state_is() {
        let doc = Document::parse("lvs.cf", "serial_no = 4\n");
        let l = LvsdStatus {
            services: vec![service(
                "web",
                vec![server("r1", ServerState::Up, true, None)],
            )],
        };
        let ctx = Ctx {
            live_age: Some((Duration::from_millis(1540), Duration::from_secs(2))),
            ..Ctx::default()
        };
        let html = render(control(
            &ctx,
            &doc,
            &Err("no pulse".into()),
            Ok(&l),
            false,
            10,
        ));
        assert!(
            html.contains("Live state as lvsd reported it 1.5 s ago (the pages share lvsd's answer for at most 2 s)."),
            "{html}"
        );
        let none = render(control(
            &Ctx::default(),
            &doc,
            &Err("no pulse".into()),
            Ok(&l),
            false,
            10,
        ));
        assert!(!none.contains("Live state as lvsd reported it"), "{none}");
    }

    #[test]
    fn the_refresh_keeps_the_view() {
        let v = ListView {
            q: "web".into(),
            page: 2,
            ..ListView::default()
        };
        assert_eq!(
            refresh_url(&v, 30),
            "/control?auto_update=1&rate=30&q=web&page=2"
        );
    }
}
