//! MONITORING SCRIPTS of a virtual server or a failover service.

use super::failover::failover_subnav;
use super::layout::{layout, Ctx, Tab};
use super::virtuals::subnav;
use super::widgets::{checkbox_row, err, general_errors, hidden, programs_note, FormState};
use crate::edits;
use crate::forms;
use crate::urls::{failover_url, virtual_url};
use lvscf_parser::{Document, Target};
use maud::{html, Markup};

/// MONITORING SCRIPTS.
pub fn scripts(ctx: &Ctx, doc: &Document, hash: &str, vname: &str, fs: &FormState) -> Markup {
    service_scripts(ctx, doc, hash, &Target::Virtual(vname.to_string()), fs)
}

/// MONITORING SCRIPTS of a failover service.
pub fn failover_scripts(
    ctx: &Ctx,
    doc: &Document,
    hash: &str,
    fname: &str,
    fs: &FormState,
) -> Markup {
    service_scripts(ctx, doc, hash, &Target::Failover(fname.to_string()), fs)
}

fn service_scripts(ctx: &Ctx, doc: &Document, hash: &str, t: &Target, fs: &FormState) -> Markup {
    let c = doc.config();
    let (name, nav, action, back) = match t {
        Target::Failover(f) => (
            f.as_str(),
            failover_subnav(f, "scripts"),
            failover_url(f, "scripts"),
            "/failover",
        ),
        Target::Virtual(v) => (
            v.as_str(),
            subnav(v, "scripts"),
            virtual_url(v, "scripts"),
            "/virtual",
        ),
        _ => ("", html! {}, String::new(), "/"),
    };
    let use_regex = forms::shown(c, t, "use_regex") == "1";
    let labels = [
        ("send_program", "Sending Program"),
        ("send", "Send"),
        ("expect", "Expect"),
        ("start_cmd", "Start command"),
        ("stop_cmd", "Stop command"),
    ];
    let row = |field: &str| {
        let label = labels
            .iter()
            .find(|(k, _)| *k == field)
            .map(|(_, l)| *l)
            .unwrap_or(field);
        let current = forms::shown(c, t, field);
        let shown = fs.value(field, String::new());
        html! {
            tr {
                td { label for=(field) { (label) ":" } }
                td.current { "Current: " code { (current) } }
                td {
                    input type="text" id=(field) name=(field) value=(shown) size="40" maxlength="4000" aria-invalid=[fs.invalid(field)] aria-describedby=[fs.described_by(field)] autofocus[fs.marked(field)];
                    (err(fs, field))
                }
            }
        }
    };
    layout(
        &format!("Monitoring scripts of {name}"),
        Tab::Virtual,
        ctx,
        html! {
            (nav)
            (general_errors(fs))
            form method="post" action=(action) {
                (hidden(ctx, hash))
                table.form {
                    @for f in edits::script_fields(t) { (row(f)) }
                    (checkbox_row(fs, "Treat expect string as a regular expression", "use_regex", use_regex))
                }
                p { small { "Empty fields keep their current value. The sending program takes priority over Send; %h is replaced by the real server's address, %p by its port. Programs must be listed below." } }
                button type="submit" name="gen_service" value="ACCEPT" { "ACCEPT" } " "
                button type="submit" name="gen_service" value="NO SEND PROGRAM" { "NO SEND PROGRAM" } " "
                button type="submit" name="gen_service" value="BLANK SEND" { "BLANK SEND" } " "
                button type="submit" name="gen_service" value="BLANK EXPECT" { "BLANK EXPECT" } " "
                a href=(back) { "CANCEL" }
            }
            (programs_note(ctx))
        },
    )
}
