//! GLOBAL SETTINGS and REDUNDANCY.

use super::layout::{layout, Ctx, Tab};
use super::widgets::{
    checkbox_row, diagnostics, general_errors, hidden, mask_current, masks, programs_note,
    select_row, text_row, FormState,
};
use crate::forms;
use lvscf_parser::Document;
use maud::{html, Markup};

/// GLOBAL SETTINGS.
pub fn global(ctx: &Ctx, doc: &Document, hash: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let g = |k: &str| forms::global_shown(c, k);
    let nat = fs.value("network", g("network")) == "nat";
    let (nat_ip, nat_dev) = match &c.nat_router {
        Some(a) => (a.host.to_string(), a.device.clone()),
        None => (String::new(), String::new()),
    };
    let networks = vec![
        ("nat".to_string(), "NAT".to_string()),
        ("direct".to_string(), "Direct Routing".to_string()),
        ("tunnel".to_string(), "Tunneling".to_string()),
    ];
    let rsh = vec![
        ("rsh".to_string(), "rsh (copy with rcp)".to_string()),
        ("ssh".to_string(), "ssh (copy with scp)".to_string()),
    ];
    layout(
        "Global Settings",
        Tab::Global,
        ctx,
        html! {
            (general_errors(fs))
            form method="post" action="/global" {
                (hidden(ctx, hash))
                table.form {
                    (text_row(fs, "Primary server public IP", "PriLVSIP", g("primary"), ""))
                    (text_row(fs, "Primary server private IP", "primary_private", g("primary_private"), "(May be blank)"))
                    (text_row(fs, "TCP timeout (seconds)", "tcp_timeout", g("tcp_timeout"), "0 keeps the kernel's"))
                    (text_row(fs, "TCP FIN timeout (seconds)", "tcpfin_timeout", g("tcpfin_timeout"), ""))
                    (text_row(fs, "UDP timeout (seconds)", "udp_timeout", g("udp_timeout"), ""))
                    (select_row(fs, "Use network type", "network", g("network"), &networks))
                    @if nat {
                        (text_row(fs, "NAT Router IP", "NATRtrIP", nat_ip, ""))
                        (select_row(fs, "NAT Router netmask", "nat_nmask", mask_current(g("nat_nmask")), &masks(true)))
                        (text_row(fs, "NAT Router device", "NATRtrDev", nat_dev, "for example eth1:1"))
                    }
                    (select_row(fs, "Remote shell", "rsh_command", g("rsh_command"), &rsh))
                    (text_row(fs, "Command run on becoming active", "active_cmd", g("active_cmd"), "one of the programs listed below"))
                    (text_row(fs, "Command run on becoming inactive", "inactive_cmd", g("inactive_cmd"), ""))
                }
                button type="submit" name="global_action" value="ACCEPT" { "ACCEPT" }
                " -- Click here to apply changes on this page"
            }
            (programs_note(ctx))
            (diagnostics(doc))
        },
    )
}

/// REDUNDANCY.
pub fn redundancy(ctx: &Ctx, doc: &Document, hash: &str, fs: &FormState) -> Markup {
    let c = doc.config();
    let g = |k: &str| forms::global_shown(c, k);
    layout(
        "Redundancy",
        Tab::Redundancy,
        ctx,
        html! {
            (general_errors(fs))
            p { "Backup: " @if c.backup_active { span.up { "active" } } @else { span.down { "inactive" } } }
            form method="post" action="/redundancy" {
                (hidden(ctx, hash))
                @if !c.backup_active {
                    button type="submit" name="redundancy_action" value="ENABLE" { "ENABLE" }
                } @else {
                    table.form {
                        (text_row(fs, "Redundant server public IP", "redundant", g("backup"), ""))
                        @if c.primary_private.is_some() {
                            (text_row(fs, "Redundant server private IP", "redundant_private", g("backup_private"), ""))
                        }
                        (text_row(fs, "Heartbeat interval (seconds)", "hb_interval", g("keepalive"), ""))
                        (text_row(fs, "Assume dead after (seconds)", "dead_after", g("deadtime"), ""))
                        (text_row(fs, "Heartbeat runs on port", "hb_port", g("heartbeat_port"), ""))
                        (checkbox_row(fs, "Monitor NIC links for failures", "monitor_links", c.monitor_links))
                        (checkbox_row(fs, "Use sync daemon", "syncdaemon", c.syncdaemon))
                        (text_row(fs, "Sync daemon interface", "syncd_iface", g("syncd_iface"), ""))
                        (text_row(fs, "Sync daemon ID", "syncd_id", g("syncd_id"), ""))
                    }
                    button type="submit" name="redundancy_action" value="ACCEPT" { "ACCEPT" } " "
                    button type="submit" name="redundancy_action" value="DISABLE" { "DISABLE" } " "
                    button type="submit" name="redundancy_action" value="RESET" { "RESET" }
                }
            }
            (diagnostics(doc))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::render;

    #[test]
    fn forms_carry_csrf_and_version() {
        let doc = Document::parse("lvs.cf", "primary = 10.0.0.1\n");
        let ctx = Ctx {
            csrf: "tok".into(),
            logged_in: true,
            ..Ctx::default()
        };
        let html = render(global(&ctx, &doc, "hash1", &FormState::default()));
        assert!(html.contains(r#"name="csrf" value="tok""#));
        assert!(html.contains(r#"name="version" value="hash1""#));
        assert!(html.contains(r#"value="10.0.0.1""#));
    }
}
