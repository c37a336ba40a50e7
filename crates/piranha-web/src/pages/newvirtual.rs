//! NEW VIRTUAL SERVER: the one form for a virtual server, its check and
//! its real servers (see [`crate::newvirtual`]).

use super::layout::{layout, Ctx, Tab};
use super::widgets::{checkbox_row, err, general_errors, hidden, select_row, text_row, FormState};
use crate::forms;
use crate::newvirtual::{rows, CHECKS, URL};
use maud::{html, Markup};

/// The form, with `rows` real server rows (from what was submitted).
pub fn new_virtual(ctx: &Ctx, hash: &str, fs: &FormState) -> Markup {
    let submitted = fs.submitted.clone().unwrap_or_default();
    let n = rows(&submitted);
    let opts = |l: &[(&str, &str)]| -> Vec<(String, String)> {
        l.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let protos = opts(&[("tcp", "tcp"), ("udp", "udp"), ("sctp", "sctp")]);
    let scheds: Vec<(String, String)> = forms::SCHEDULERS
        .iter()
        .map(|(k, l)| (k.to_string(), format!("{l} ({k})")))
        .collect();
    let d = |k: &str| {
        crate::edits::VIRTUAL_DEFAULTS
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    };
    layout(
        "New virtual server",
        Tab::Virtual,
        ctx,
        html! {
            p { "A virtual server with its check and its real servers, saved at once (one save, one entry in the history). Empty rows are left out." }
            (general_errors(fs))
            form method="post" action=(URL) {
                // Enter in a field saves (never adds a row).
                button type="submit" name="create" value="1" hidden aria-hidden="true" tabindex="-1" { "CREATE" }
                (hidden(ctx, hash))
                input type="hidden" name="rows" value=(n);
                table.form {
                    (text_row(fs, "Name", "name", String::new(), ""))
                    (text_row(fs, "Virtual IP Address", "address", String::new(), "IPv4 or IPv6"))
                    (text_row(fs, "Device", "device", "eth0:1".into(), "for example eth0:1"))
                    (text_row(fs, "Application port", "port", d("port"), ""))
                    (select_row(fs, "Protocol", "protocol", d("protocol"), &protos))
                    (select_row(fs, "Scheduling", "sched", d("scheduler"), &scheds))
                    (checkbox_row(fs, "Active", "active", false))
                    (select_row(fs, "Check", "check", "send".into(), &opts(CHECKS)))
                    (text_row(fs, "Send (send/expect)", "send", d("send"), ""))
                    (text_row(fs, "Expect (send/expect)", "expect", d("expect"), ""))
                    (text_row(fs, "URL path (HTTP, HTTPS)", "check_url", String::new(), "default /"))
                    (text_row(fs, "Status codes (HTTP, HTTPS)", "check_status", String::new(), "default 200-299"))
                    (text_row(fs, "Question (DNS)", "check_query", String::new(), "NAME [TYPE]"))
                }
                h2 { "Real servers" }
                div.scroll role="region" aria-label="real servers" tabindex="0" {
                table.list {
                    tr { th scope="col" { "NAME" } th scope="col" { "ADDRESS" } th scope="col" { "WEIGHT" } }
                    @for i in 0..n {
                        @let (nf, af, wf) = (format!("server_name_{i}"), format!("server_address_{i}"), format!("server_weight_{i}"));
                        tr {
                            @for (f, label, default) in [(&nf, "name", ""), (&af, "address", ""), (&wf, "weight", "1")] {
                                td {
                                    label.vh for=(f) { "real server " (i + 1) " " (label) }
                                    input type="text" id=(f) name=(f) value=(fs.value(f, default.to_string())) size="12"
                                        aria-invalid=[fs.invalid(f)] aria-describedby=[fs.described_by(f)] autofocus[fs.marked(f)];
                                    (err(fs, f))
                                }
                            }
                        }
                    }
                }
                }
                p { button type="submit" name="more" value="1" { "ADD ANOTHER REAL SERVER" } }
                button type="submit" name="create" value="1" { "CREATE" } " "
                a href="/virtual" { "CANCEL" }
            }
        },
    )
}
