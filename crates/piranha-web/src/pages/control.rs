//! CONTROL/MONITORING: pulse's state, the buttons, auto update and
//! lvsd's table as the kernel has it.

use super::layout::{action_buttons, layout, Ctx, Tab};
use super::widgets::diagnostics;
use lvs_status::lvsd::Service as ServiceStatus;
use lvs_status::{LvsdStatus, PulseStatus};
use lvscf_parser::Document;
use maud::{html, Markup};

fn pulse_summary(pulse: &Result<PulseStatus, String>) -> Markup {
    html! {
        @match pulse {
            Ok(st) => {
                @let v = serde_json::to_value(st).unwrap_or_default();
                @let role = v.get("role").and_then(|x| x.as_str()).unwrap_or("?");
                @let state = v.get("state").and_then(|x| x.as_str()).unwrap_or("?");
                p { "Daemon: " span.up { "running" } " (role " b { (role) } ", state " b { (state) } ")" }
                table.list {
                    tr { th { "pulse status" } th { "value" } }
                    @for (k, val) in crate::status::flatten(&v) {
                        tr { td { (k) } td { (val) } }
                    }
                }
            }
            Err(e) => {
                p { "Daemon: " span.down { "stopped" } " - pulse is not running (" (e) ")" }
            }
        }
    }
}

fn service_table(s: &ServiceStatus) -> Markup {
    let what = match (s.fwmark, s.address) {
        (Some(fw), _) if fw != 0 => format!("FWM {fw}"),
        (_, Some(a)) => format!(
            "{} {}",
            s.protocol.to_uppercase(),
            std::net::SocketAddr::new(a, s.port)
        ),
        (_, None) => format!("{} port {}", s.protocol.to_uppercase(), s.port),
    };
    html! {
        table.list {
            tr {
                th colspan="7" {
                    (s.name) ": " (what) " " (s.scheduler)
                    @if s.persistent > 0 { " persistent " (s.persistent) }
                    " - " (s.stats.conns) " conns, " (s.stats.inpkts) "/" (s.stats.outpkts) " pkts, " (s.stats.inbytes) "/" (s.stats.outbytes) " bytes"
                }
            }
            tr { th { "real server" } th { "address" } th { "state (nanny)" } th { "weight" } th { "active" } th { "inactive" } th { "conns" } }
            @for r in &s.servers {
                tr {
                    td { (r.server) }
                    td { (std::net::SocketAddr::new(r.address, r.port)) }
                    td { @if r.state == lvs_status::lvsd::ServerState::Up { span.up { (r.state.as_str()) } } @else { span.down { (r.state.as_str()) } } }
                    td { (r.weight) }
                    td { (r.active_conns) }
                    td { (r.inactive_conns) }
                    td { (r.stats.conns) }
                }
            }
        }
    }
}

/// CONTROL/MONITORING.
pub fn control(
    ctx: &Ctx,
    doc: &Document,
    pulse: &Result<PulseStatus, String>,
    lvsd: &Result<LvsdStatus, String>,
    auto_update: bool,
    rate: u32,
) -> Markup {
    let differs = pulse
        .as_ref()
        .map(crate::status::backup_differs)
        .unwrap_or(false);
    layout(
        "Control/Monitoring",
        Tab::Control,
        ctx,
        html! {
            @if differs {
                p.alert role="alert" { "The backup router's lvs.cf differs from this one (pulse compared their digests). Copy it to the backup." }
            }
            h2 { "CONTROL" }
            (pulse_summary(pulse))
            p { "lvs.cf serial_no: " (doc.config().serial_no) }
            (action_buttons(ctx))
            h2 { "MONITOR" }
            form method="get" action="/control" {
                @if auto_update { input type="checkbox" id="auto_update" name="auto_update" value="1" checked; }
                @else { input type="checkbox" id="auto_update" name="auto_update" value="1"; }
                label for="auto_update" { " Auto update" } " "
                label for="rate" { "Update Interval:" } " "
                input type="text" id="rate" name="rate" size="4" value=(rate);
                " seconds (at least 10) "
                button type="submit" name="refresh" value="1" { "Update information now" }
            }
            h2 { "CURRENT LVS ROUTING TABLE" }
            @match lvsd {
                Ok(l) if l.services.is_empty() => p { "lvsd is running; the IPVS table has no services." },
                Ok(l) => { @for s in &l.services { (service_table(s)) } },
                Err(e) => p { "lvsd is not running (" (e) ")" },
            }
            (diagnostics(doc))
        },
    )
}
