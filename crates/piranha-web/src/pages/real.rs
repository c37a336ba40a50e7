//! REAL SERVER: the real servers of a virtual server, and one of them.

use super::layout::{layout, Ctx, Tab};
use super::list;
use super::virtuals::subnav;
use super::widgets::{
    config_word, general_errors, hidden, live_note, live_server_cell, text_row, FormState,
};
use crate::forms;
use crate::panel::List;
use crate::urls::{server_url, virtual_url};
use lvscf_parser::Document;
use maud::{html, Markup};

/// REAL SERVER list of a virtual server.
pub fn real_list(ctx: &Ctx, doc: &Document, hash: &str, vname: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let servers = c
        .virtual_named(vname)
        .map(|v| v.servers.as_slice())
        .unwrap_or_default();
    let which = List::Servers(vname.to_string());
    let live = ctx.live_index();
    let mut form = list::ListForm::new(&which, servers, |s| &s.name)
        .column("CONFIGURED", |s| config_word(s.active));
    if let Some(ix) = &live {
        form = form
            .column("LIVE (lvsd, nanny)", |s| {
                live_server_cell(ix.server(vname, &s.name))
            })
            .column("WEIGHT NOW", |s| {
                html! { @match ix.server(vname, &s.name) { Some(r) if r.in_kernel => (r.weight), _ => "-" } }
            })
            .column("CONNECTIONS", |s| {
                html! { @match ix.server(vname, &s.name) { Some(r) => { (r.active_conns) " active, " (r.inactive_conns) " inactive" } None => "-" } }
            })
            .column("DRAIN", |s| {
                super::drain::drain_cell(vname, s, ix.server(vname, &s.name))
            })
            .problems(|s| {
                ix.server_state(vname, &s.name).is_problem()
                    || ix.server(vname, &s.name).is_some_and(|r| r.certificate.is_some())
            });
    }
    let form = form
        .search(|s| {
            format!(
                "{} {}",
                s.name,
                s.address
                    .as_ref()
                    .map(|a| a.to_string())
                    .unwrap_or_default()
            )
        })
        .column(
            "NAME",
            |s| html! { a href=(server_url(vname, &s.name)) { (s.name) } },
        )
        .column(
            "ADDRESS",
            |s| html! { (s.address.as_ref().map(|a| a.to_string()).unwrap_or_default()) },
        )
        .column(
            "PORT",
            |s| html! { (s.port.map(|p| p.to_string()).unwrap_or_default()) },
        )
        .column("WEIGHT", |s| html! { (s.weight) });
    layout(
        &format!("Real servers of {vname}"),
        Tab::Virtual,
        ctx,
        html! {
            (subnav(vname, "real"))
            (general_errors(fs))
            (live_note(ctx))
            (list::render(ctx, hash, fs, &form))
        },
    )
}

/// Edit one real server.
pub fn real_edit(
    ctx: &Ctx,
    doc: &Document,
    hash: &str,
    vname: &str,
    sname: &str,
    fs: &FormState,
) -> Markup {
    let c = doc.config();
    let s = |k: &str| forms::server_shown(c, vname, sname, k);
    layout(
        &format!("Real server {sname} of {vname}"),
        Tab::Virtual,
        ctx,
        html! {
            (subnav(vname, "real"))
            (general_errors(fs))
            form method="post" action=(server_url(vname, sname)) {
                (hidden(ctx, hash))
                table.form {
                    (text_row(fs, "Name", "name", sname.to_string(), ""))
                    (text_row(fs, "Address", "address", s("address"), ""))
                    (text_row(fs, "Port", "port", s("port"), "Leave blank to default to Virtual Server's Application Port"))
                    (text_row(fs, "Weight", "weight", s("weight"), ""))
                }
                button type="submit" name="edit_action" value="ACCEPT" { "ACCEPT" } " "
                a href=(virtual_url(vname, "real")) { "CANCEL" }
            }
        },
    )
}
