//! The failover services (`service = fos`): the list and one of them.
//! As in Piranha since 0.7.4 the tabs do not link these pages; they live
//! under the VIRTUAL SERVERS tab.

use super::layout::{layout, Ctx, Tab};
use super::list;
use super::widgets::{
    config_word, diagnostics, general_errors, hidden, mask_current, masks, select_row, text_row,
    FormState,
};
use crate::forms;
use crate::panel::List;
use crate::urls::failover_url;
use lvscf_parser::{Document, Target};
use maud::{html, Markup};

/// The sub-bar of a failover service's pages.
pub fn failover_subnav(fname: &str, current: &str) -> Markup {
    let items = [
        ("edit", "FAILOVER SERVICE"),
        ("scripts", "MONITORING SCRIPTS"),
    ];
    html! {
        nav.sub {
            @for (page, label) in items {
                @if page == current { a.current href=(failover_url(fname, page)) { (label) } }
                @else { a href=(failover_url(fname, page)) { (label) } }
                " | "
            }
            a href="/failover" { "back to the list" }
        }
    }
}

/// FAILOVER SERVICES list (Piranha's `failover_main.php`).
pub fn failover_list(ctx: &Ctx, doc: &Document, hash: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let form = list::ListForm::new(&List::Failovers, &c.failovers, |f| &f.name)
        .column("CONFIGURED", |f| config_word(f.active))
        .search(|f| {
            format!(
                "{} {}",
                f.name,
                f.address
                    .as_ref()
                    .map(|a| format!("{} {}", a.host, a.device))
                    .unwrap_or_default()
            )
        })
        .column(
            "NAME",
            |f| html! { a href=(failover_url(&f.name, "edit")) { (f.name) } },
        )
        .column(
            "ADDRESS",
            |f| html! { (f.address.as_ref().map(|a| a.host.to_string()).unwrap_or_default()) },
        )
        .column(
            "NETMASK",
            |f| html! { (f.vip_nmask.map(|m| m.to_string()).unwrap_or_else(|| "Unused".into())) },
        )
        .column("PORT", |f| html! { (f.port) })
        .column(
            "DEVICE",
            |f| html! { (f.address.as_ref().map(|a| a.device.clone()).unwrap_or_default()) },
        )
        .column("TIMEOUT", |f| html! { (f.timeout) });
    layout(
        "Failover Services",
        Tab::Virtual,
        ctx,
        html! {
            (general_errors(fs))
            p { small { "Failover services (service = fos) are not linked from the tabs, as in Piranha since 0.7.4." } }
            (list::render(ctx, hash, fs, &form))
            (diagnostics(doc))
        },
    )
}

/// One failover service: Name, Address, Netmask, Port, Device, Timeout.
pub fn failover_edit(ctx: &Ctx, doc: &Document, hash: &str, fname: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let t = Target::Failover(fname.to_string());
    let v = |k: &str| forms::shown(c, &t, k);
    let (ip, dev) = match c
        .failovers
        .iter()
        .find(|f| f.name == fname)
        .and_then(|f| f.address.clone())
    {
        Some(a) => (a.host.to_string(), a.device),
        None => (String::new(), String::new()),
    };
    layout(
        &format!("Failover service: {fname}"),
        Tab::Virtual,
        ctx,
        html! {
            (failover_subnav(fname, "edit"))
            (general_errors(fs))
            form method="post" action=(failover_url(fname, "edit")) {
                (hidden(ctx, hash))
                table.form {
                    (text_row(fs, "Name", "name", fname.to_string(), ""))
                    (text_row(fs, "Address", "address", ip, "IPv4 or IPv6"))
                    (select_row(fs, "Netmask", "vip_nmask", mask_current(v("vip_nmask")), &masks(true)))
                    (text_row(fs, "Port", "port", v("port"), ""))
                    (text_row(fs, "Device", "device", dev, "for example eth0:1"))
                    (text_row(fs, "Timeout", "timeout", v("timeout"), "seconds"))
                }
                button type="submit" name="fev_action" value="ACCEPT" { "ACCEPT" } " "
                a href="/failover" { "CANCEL" }
            }
        },
    )
}
