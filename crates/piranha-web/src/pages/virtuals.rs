//! VIRTUAL SERVERS (the list) and VIRTUAL SERVER (one), with the
//! sub-bar of a virtual server's pages.

use super::layout::{layout, Ctx, Tab};
use super::list;
use super::widgets::{
    config_word, diagnostics, general_errors, hidden, live_note, live_virtual_cell, mask_current,
    masks, persistence_masks, select_row, text_row, FormState,
};
use crate::forms;
use crate::panel::List;
use crate::urls::virtual_url;
use lvscf_parser::Document;
use maud::{html, Markup};

/// VIRTUAL SERVERS list.
pub fn virtual_list(ctx: &Ctx, doc: &Document, hash: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let live = ctx.live_index();
    let mut form = list::ListForm::new(&List::Virtuals, &c.virtuals, |v| &v.name)
        .column("CONFIGURED", |v| config_word(v.active));
    if let Some(ix) = &live {
        form = form
            .column("LIVE (lvsd)", |v| live_virtual_cell(ix.service(&v.name)))
            .problems(|v| {
                ix.service(&v.name)
                    .is_some_and(crate::live::service_needs_look)
            });
    }
    let form = form
        .search(|v| {
            format!(
                "{} {} {} {} {}",
                v.name,
                v.address.as_ref().map(|a| format!("{} {}", a.host, a.device)).unwrap_or_default(),
                v.port,
                v.protocol,
                v.fwmark.map(|m| format!("fwmark {m}")).unwrap_or_default()
            )
        })
        .column("NAME", |v| html! { a href=(virtual_url(&v.name, "edit")) { (v.name) } })
        .column("VIP", |v| html! { (v.address.as_ref().map(|a| a.host.to_string()).unwrap_or_default()) })
        .column("NETMASK", |v| html! { (v.vip_nmask.map(|m| m.to_string()).unwrap_or_else(|| "Unused".into())) })
        .column("PORT", |v| html! { @if v.fwmark.unwrap_or(0) != 0 { "fwmark " (v.fwmark.unwrap_or(0)) } @else { (v.port) } })
        .column("PROTOCOL", |v| html! { (v.protocol) })
        .column("INTERFACE", |v| html! { (v.address.as_ref().map(|a| a.device.clone()).unwrap_or_default()) });
    layout(
        "Virtual Servers",
        Tab::Virtual,
        ctx,
        html! {
            (general_errors(fs))
            (live_note(ctx))
            p { a href=(crate::newvirtual::URL) { "NEW VIRTUAL SERVER" } " (one form: address, check and real servers, saved at once)" }
            (list::render(ctx, hash, fs, &form))
            (diagnostics(doc))
        },
    )
}

/// The sub-bar of a virtual server's pages.
pub fn subnav(vname: &str, current: &str) -> Markup {
    let items = [
        ("edit", "VIRTUAL SERVER"),
        ("real", "REAL SERVER"),
        ("scripts", "MONITORING SCRIPTS"),
    ];
    html! {
        nav.sub {
            @for (page, label) in items {
                @if page == current { a.current href=(virtual_url(vname, page)) { (label) } }
                @else { a href=(virtual_url(vname, page)) { (label) } }
                " | "
            }
            a href="/virtual" { "back to the list" }
        }
    }
}

/// VIRTUAL SERVER subsection.
pub fn virtual_edit(ctx: &Ctx, doc: &Document, hash: &str, vname: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let v = |k: &str| forms::virtual_shown(c, vname, k);
    let (ip, dev) = match c.virtual_named(vname).and_then(|x| x.address.clone()) {
        Some(a) => (a.host.to_string(), a.device),
        None => (String::new(), String::new()),
    };
    let fw = match v("fwmark").as_str() {
        "0" => String::new(),
        x => x.to_string(),
    };
    let protos: Vec<(String, String)> = ["tcp", "udp", "sctp"]
        .iter()
        .map(|p| (p.to_string(), p.to_string()))
        .collect();
    let yesno = vec![
        ("1".to_string(), "Yes".to_string()),
        ("0".to_string(), "No".to_string()),
    ];
    let mut loads: Vec<(String, String)> = ["none", "rup", "ruptime", "uptime"]
        .iter()
        .map(|p| (p.to_string(), p.to_string()))
        .collect();
    // A command Piranha's nanny ran (`load_monitor = ssh`) stays selected,
    // so saving the page does not turn it into `none`.
    let current_load = v("load_monitor");
    if !loads.iter().any(|(k, _)| *k == current_load) {
        loads.push((current_load.clone(), format!("{current_load} (command)")));
    }
    let scheds: Vec<(String, String)> = forms::SCHEDULERS
        .iter()
        .map(|(k, l)| (k.to_string(), format!("{l} ({k})")))
        .collect();
    layout(
        &format!("Virtual server: {vname}"),
        Tab::Virtual,
        ctx,
        html! {
            (subnav(vname, "edit"))
            (general_errors(fs))
            form method="post" action=(virtual_url(vname, "edit")) {
                (hidden(ctx, hash))
                table.form {
                    (text_row(fs, "Name", "hostname", vname.to_string(), ""))
                    (text_row(fs, "Application port", "port", v("port"), ""))
                    (select_row(fs, "Protocol", "protocol", v("protocol"), &protos))
                    (text_row(fs, "Virtual IP Address", "address", ip, "IPv4 or IPv6"))
                    (select_row(fs, "Virtual IP Network Mask", "vip_nmask", mask_current(v("vip_nmask")), &masks(true)))
                    (text_row(fs, "Sorry Server", "sorry_server", v("sorry_server"), ""))
                    (text_row(fs, "Firewall Mark", "fwmark", fw, ""))
                    (text_row(fs, "Device", "device", dev, "for example eth0:1"))
                    (text_row(fs, "Re-entry Time", "reentry", v("reentry"), "seconds"))
                    (text_row(fs, "Service timeout", "timeout", v("timeout"), "seconds"))
                    (select_row(fs, "Quiesce server", "quiesce_server", v("quiesce_server"), &yesno))
                    (select_row(fs, "Load monitoring tool", "load", v("load_monitor"), &loads))
                    (select_row(fs, "Scheduling", "sched", v("scheduler"), &scheds))
                    (text_row(fs, "Persistence", "persistent", v("persistent"), "seconds, 0 = off"))
                    (select_row(fs, "Persistence Network Mask", "pmask", mask_current(v("pmask")), &persistence_masks()))
                }
                button type="submit" name="vev_action" value="ACCEPT" { "ACCEPT" } " "
                a href="/virtual" { "CANCEL" }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::render;
    use crate::urls::seg;

    #[test]
    fn names_are_escaped_in_urls_and_html() {
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
        assert_eq!(virtual_url("w?x", "edit"), "/virtual/w%3Fx/edit");
        let doc = Document::parse(
            "lvs.cf",
            "virtual \"><svg/onload=alert(1)> {\n     active = 1\n}\n",
        );
        let html = render(virtual_list(
            &Ctx::default(),
            &doc,
            "h",
            &FormState::default(),
        ));
        assert!(!html.contains("<svg"), "{html}");
        assert!(html.contains("&lt;svg"));
        assert!(html.contains("<title>Piranha (Virtual Servers)</title>"));
    }

    #[test]
    fn the_list_shows_quorum_and_certificate_warnings() {
        use lvs_status::lvsd as l;
        let doc = Document::parse(
            "lvs.cf",
            "virtual web {\n     active = 1\n     quorum = 4\n     server r1 {\n         address = 10.0.1.11\n         active = 1\n     }\n}\nvirtual ok {\n     active = 1\n}\n",
        );
        let server = l::Server {
            server: "r1".into(),
            address: "10.0.1.11".parse().expect("ip"),
            port: 80,
            state: l::ServerState::Up,
            weight: 1,
            in_kernel: true,
            reason: None,
            since_ms: None,
            report_age_ms: None,
            active_conns: 0,
            inactive_conns: 0,
            stats: l::Stats::default(),
            certificate: Some(l::Certificate {
                not_after: 0,
                days_left: 6,
            }),
            draining: false,
        };
        let service = |name: &str, servers: Vec<l::Server>, quorum| l::Service {
            name: name.into(),
            protocol: "tcp".into(),
            address: None,
            port: 80,
            fwmark: None,
            scheduler: "wlc".into(),
            persistent: 0,
            in_kernel: true,
            stats: l::Stats::default(),
            servers,
            quorum,
        };
        let status = l::LvsdStatus {
            services: vec![
                service(
                    "web",
                    vec![server.clone()],
                    Some(l::Quorum {
                        quorum: 4,
                        hysteresis: 0,
                        live_weight: 1,
                        up: false,
                    }),
                ),
                service(
                    "ok",
                    vec![l::Server {
                        certificate: None,
                        ..server
                    }],
                    None,
                ),
            ],
        };
        let ctx = Ctx {
            live: Some(Ok(std::sync::Arc::new(status))),
            ..Ctx::default()
        };
        let html = render(virtual_list(&ctx, &doc, "h", &FormState::default()));
        assert!(
            html.contains(
                r#"<span class="live-down">quorum lost: live weight 1 of 4 needed</span>"#
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"<span class="live-warn">1 certificate expires soon</span>"#),
            "{html}"
        );
        // "Only problems" keeps the virtual whose quorum is lost.
        let only = Ctx {
            view: crate::view::ListView {
                problems: true,
                ..Default::default()
            },
            ..ctx
        };
        let html = render(virtual_list(&only, &doc, "h", &FormState::default()));
        assert!(html.contains(r#"<tr id="row-web">"#), "{html}");
        assert!(!html.contains(r#"<tr id="row-ok">"#), "{html}");
    }
}
