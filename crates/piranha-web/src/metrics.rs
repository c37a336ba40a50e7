//! `/metrics`: Prometheus text exposition (format 0.0.4) of lvsd's table,
//! pulse's role and counters, and the configuration serial.

use lvs_status::lvsd::ServerState;
use lvs_status::pulse::{Role, RouterState};
use lvs_status::{LvsdStatus, PulseStatus};
use std::fmt::Write as _;

/// Escapes a label value (backslash, quote, newline).
pub fn label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    push_label(&mut s, v);
    s
}

/// Appends `v` escaped as a label value (no copy: /metrics of 20,000 real
/// servers writes about 14 MiB of labels).
fn push_label(s: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
}

/// A metric name made of `[a-zA-Z0-9_]` from arbitrary text.
pub fn metric_name(v: &str) -> String {
    let mut s: String = v
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) || s.is_empty() {
        s.insert(0, '_');
    }
    s
}

struct Out {
    text: String,
    declared: Vec<&'static str>,
}

impl Out {
    fn family(&mut self, name: &'static str, kind: &str, help: &str) {
        if !self.declared.contains(&name) {
            self.declared.push(name);
            let _ = writeln!(self.text, "# HELP {name} {help}");
            let _ = writeln!(self.text, "# TYPE {name} {kind}");
        }
    }
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(k);
                self.text.push_str("=\"");
                push_label(&mut self.text, v);
                self.text.push('"');
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// Renders every metric. `lvsd`/`pulse` are `None` when the daemon is not
/// reachable (then only its `*_up` gauge, 0, is written).
pub fn render(
    lvsd: Option<&LvsdStatus>,
    pulse: Option<&PulseStatus>,
    serial: Option<u64>,
) -> String {
    let mut o = Out {
        text: String::new(),
        declared: Vec::new(),
    };
    o.family(
        "piranha_daemon_up",
        "gauge",
        "Whether the daemon answered on its status socket.",
    );
    o.sample(
        "piranha_daemon_up",
        &[("daemon", "lvsd")],
        u8::from(lvsd.is_some()),
    );
    o.sample(
        "piranha_daemon_up",
        &[("daemon", "pulse")],
        u8::from(pulse.is_some()),
    );
    if let Some(serial) = serial {
        o.family("piranha_config_serial", "gauge", "serial_no of lvs.cf.");
        o.sample("piranha_config_serial", &[], serial);
    }
    if let Some(l) = lvsd {
        for s in &l.services {
            let port = s.port.to_string();
            let fw = s.fwmark.map(|f| f.to_string()).unwrap_or_default();
            let vip = s.address.map(|a| a.to_string()).unwrap_or_default();
            let vl = [
                ("virtual", s.name.as_str()),
                ("protocol", s.protocol.as_str()),
                ("address", vip.as_str()),
                ("port", port.as_str()),
                ("fwmark", fw.as_str()),
                ("scheduler", s.scheduler.as_str()),
            ];
            o.family(
                "piranha_virtual_info",
                "gauge",
                "A virtual service in the IPVS table.",
            );
            o.sample("piranha_virtual_info", &vl, 1);
            let v = [("virtual", s.name.as_str())];
            for (name, help, value) in [
                (
                    "piranha_virtual_connections_total",
                    "Connections scheduled.",
                    s.stats.conns,
                ),
                (
                    "piranha_virtual_in_packets_total",
                    "Packets in.",
                    s.stats.inpkts,
                ),
                (
                    "piranha_virtual_out_packets_total",
                    "Packets out.",
                    s.stats.outpkts,
                ),
                (
                    "piranha_virtual_in_bytes_total",
                    "Bytes in.",
                    s.stats.inbytes,
                ),
                (
                    "piranha_virtual_out_bytes_total",
                    "Bytes out.",
                    s.stats.outbytes,
                ),
            ] {
                o.family(name, "counter", help);
                o.sample(name, &v, value);
            }
            for r in &s.servers {
                let rport = r.port.to_string();
                let raddr = r.address.to_string();
                let rl = [
                    ("virtual", s.name.as_str()),
                    ("server", r.server.as_str()),
                    ("address", raddr.as_str()),
                    ("port", rport.as_str()),
                ];
                o.family(
                    "piranha_real_server_up",
                    "gauge",
                    "1 when nanny reports the real server up.",
                );
                o.sample(
                    "piranha_real_server_up",
                    &rl,
                    u8::from(r.state == ServerState::Up),
                );
                let sl = [
                    ("virtual", s.name.as_str()),
                    ("server", r.server.as_str()),
                    ("state", r.state.as_str()),
                ];
                o.family(
                    "piranha_real_server_state",
                    "gauge",
                    "The real server's state as a label.",
                );
                o.sample("piranha_real_server_state", &sl, 1);
                let rl2 = [("virtual", s.name.as_str()), ("server", r.server.as_str())];
                o.family(
                    "piranha_real_server_weight",
                    "gauge",
                    "Weight in the IPVS table.",
                );
                o.sample("piranha_real_server_weight", &rl2, r.weight);
                for (name, kind, help, value) in [
                    (
                        "piranha_real_server_active_connections",
                        "gauge",
                        "Active connections.",
                        u64::from(r.active_conns),
                    ),
                    (
                        "piranha_real_server_inactive_connections",
                        "gauge",
                        "Inactive connections.",
                        u64::from(r.inactive_conns),
                    ),
                    (
                        "piranha_real_server_connections_total",
                        "counter",
                        "Connections scheduled.",
                        r.stats.conns,
                    ),
                    (
                        "piranha_real_server_in_packets_total",
                        "counter",
                        "Packets in.",
                        r.stats.inpkts,
                    ),
                    (
                        "piranha_real_server_out_packets_total",
                        "counter",
                        "Packets out.",
                        r.stats.outpkts,
                    ),
                    (
                        "piranha_real_server_in_bytes_total",
                        "counter",
                        "Bytes in.",
                        r.stats.inbytes,
                    ),
                    (
                        "piranha_real_server_out_bytes_total",
                        "counter",
                        "Bytes out.",
                        r.stats.outbytes,
                    ),
                ] {
                    o.family(name, kind, help);
                    o.sample(name, &rl2, value);
                }
            }
        }
    }
    if let Some(p) = pulse {
        let role = match p.role {
            Role::Master => "master",
            Role::Backup => "backup",
        };
        let active = p.state == RouterState::Active;
        let state = if active { "active" } else { "inactive" };
        o.family(
            "piranha_pulse_info",
            "gauge",
            "pulse's configured role and current state.",
        );
        o.sample("piranha_pulse_info", &[("role", role), ("state", state)], 1);
        o.family(
            "piranha_pulse_active",
            "gauge",
            "1 when this router is the active LVS router.",
        );
        o.sample("piranha_pulse_active", &[], u8::from(active));
        if let Some(ms) = p.partner.last_heartbeat_age_ms {
            o.family(
                "piranha_pulse_partner_last_heartbeat_seconds",
                "gauge",
                "Seconds since the partner's last heartbeat.",
            );
            o.sample(
                "piranha_pulse_partner_last_heartbeat_seconds",
                &[],
                ms as f64 / 1000.0,
            );
        }
        o.family(
            "piranha_pulse_heartbeats_accepted_total",
            "counter",
            "Heartbeats accepted from the partner.",
        );
        o.sample(
            "piranha_pulse_heartbeats_accepted_total",
            &[],
            p.heartbeat.accepted,
        );
        for (reason, n) in &p.heartbeat.drops {
            o.family(
                "piranha_pulse_heartbeat_drops_total",
                "counter",
                "Datagrams on the heartbeat port that were dropped, by reason.",
            );
            o.sample(
                "piranha_pulse_heartbeat_drops_total",
                &[("reason", &metric_name(reason))],
                *n,
            );
        }
        if let Some(m) = p.config_digest.matches {
            o.family(
                "piranha_pulse_partner_config_match",
                "gauge",
                "1 when the partner's lvs.cf is the same file as ours.",
            );
            o.sample("piranha_pulse_partner_config_match", &[], u8::from(m));
        }
    }
    o.text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_services_servers_and_pulse() {
        // Documents of the real daemons' shape (the lvs-status types).
        let stats = |conns: u64, inbytes: u64| serde_json::json!({"conns":conns,"inpkts":0,"outpkts":0,"inbytes":inbytes,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0});
        let l: LvsdStatus = serde_json::from_value(serde_json::json!({"services":[{"virtual":"we\"b","protocol":"tcp","address":"10.0.0.100","port":80,"fwmark":null,"scheduler":"wlc","persistent":0,"in_kernel":true,"stats":stats(7,100),"servers":[
            {"server":"r1","address":"10.0.1.11","port":80,"state":"up","weight":3,"in_kernel":true,"reason":null,"since_ms":1000,"report_age_ms":1000,"active_conns":2,"inactive_conns":1,"stats":stats(5,0),"draining":false},
            {"server":"r2","address":"10.0.1.12","port":80,"state":"down","weight":0,"in_kernel":false,"reason":"connection refused","since_ms":1000,"report_age_ms":1000,"active_conns":0,"inactive_conns":0,"stats":stats(0,0),"draining":false}]}]})).expect("parse");
        let p: PulseStatus = serde_json::from_value(serde_json::json!({
            "daemon":"pulse","pid":1,"role":"master","state":"active","link_failure":false,"child_failure":false,
            "partner":{"state":"inactive","last_heartbeat_age_ms":120,"unwilling":false},
            "heartbeat":{"mode":"legacy","key_ids":[],"send_key":null,"keepalive":1.0,"deadtime":3.0,
                "accepted":10,"accepted_signed":0,"accepted_unsigned":10,"boot_id":5,"partner_boot_id":null,
                "drops":{"bad_hmac":2,"replay":0},"channels":[]},
            "config_digest":{"ours":"aa","partner":"bb","match":false},"lvsd_pid":7})).expect("pulse");
        let t = render(Some(&l), Some(&p), Some(9));
        assert!(t.contains("piranha_daemon_up{daemon=\"lvsd\"} 1"), "{t}");
        assert!(
            t.contains("piranha_virtual_connections_total{virtual=\"we\\\"b\"} 7"),
            "{t}"
        );
        assert!(t.contains("piranha_real_server_up{virtual=\"we\\\"b\",server=\"r1\",address=\"10.0.1.11\",port=\"80\"} 1"));
        assert!(t.contains("piranha_real_server_weight{virtual=\"we\\\"b\",server=\"r1\"} 3"));
        assert!(t.contains(
            "piranha_real_server_up{virtual=\"we\\\"b\",server=\"r2\",address=\"10.0.1.12\",port=\"80\"} 0"
        ));
        assert!(t.contains("piranha_pulse_active 1"));
        assert!(t.contains("piranha_pulse_partner_last_heartbeat_seconds 0.12"));
        assert!(t.contains("piranha_pulse_heartbeat_drops_total{reason=\"bad_hmac\"} 2"));
        assert!(t.contains("piranha_pulse_heartbeats_accepted_total 10"));
        assert!(t.contains("piranha_pulse_partner_config_match 0"));
        assert!(t.contains("piranha_config_serial 9"));
        // Each family is declared once.
        assert_eq!(t.matches("# TYPE piranha_real_server_weight ").count(), 1);
        let none = render(None, None, None);
        assert!(none.contains("piranha_daemon_up{daemon=\"pulse\"} 0"));
    }

    #[test]
    fn label_escaping() {
        assert_eq!(label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(metric_name("9x-y"), "_9x_y");
    }
}
