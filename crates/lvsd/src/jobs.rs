//! The nanny jobs built from lvs.cf: what each nanny is told to check
//! (the job line of the nanny protocol, `crates/nanny/PROTOCOL.md`). Pure.

use lvscf_parser::{Config, Protocol, VirtualServer};
use nanny::protocol::{self, Job, ServerCheck, VirtualCheck};

use crate::desired::service_key;
use crate::table::Table;

fn proto(p: Protocol) -> protocol::Protocol {
    match p {
        Protocol::Tcp => protocol::Protocol::Tcp,
        Protocol::Udp => protocol::Protocol::Udp,
        Protocol::Sctp => protocol::Protocol::Sctp,
    }
}

/// The check of one virtual server, as nanny's job line describes it.
/// `kernel_weight` is left unset (see [`with_kernel_weights`]).
pub fn virtual_check(config: &Config, v: &VirtualServer) -> VirtualCheck {
    VirtualCheck {
        name: v.name.clone(),
        vip: v.vip(),
        port: v.port,
        protocol: proto(v.protocol),
        fwmark: v.fwmark.filter(|m| *m != 0),
        timeout: v.timeout,
        reentry: v.reentry,
        quiesce: v.quiesce_server,
        load_monitor: v.load_monitor.as_str().to_string(),
        rsh_command: config.rsh_command.clone(),
        scale: 10,
        send: v.send.clone(),
        expect: v.expect.clone(),
        use_regex: v.use_regex,
        suppress_escapes: false,
        send_program: v.send_program.as_ref().map(|c| c.text.clone()),
        check: native_check(v),
        servers: v
            .active_servers()
            .filter(|s| s.kernel_refusal().is_none())
            .filter_map(|s| {
                Some(ServerCheck {
                    name: s.name.clone(),
                    address: s.ip()?,
                    port: Some(v.server_port(s)),
                    weight: s.weight,
                    kernel_weight: None,
                })
            })
            .collect(),
    }
}

/// The native check of lvs.cf's `check = ...` keywords, for nanny.
fn native_check(v: &VirtualServer) -> Option<nanny::protocol::NativeCheck> {
    use lvscf_parser::CheckType;
    use nanny::protocol::{NativeCheck, NativeKind};
    let h = &v.health;
    let kind = match h.check? {
        CheckType::Http => NativeKind::Http,
        CheckType::Https => NativeKind::Https,
        CheckType::Dns => NativeKind::Dns,
    };
    Some(NativeCheck {
        kind,
        url: h.url().to_string(),
        status: h.status().ranges().iter().map(|&(a, b)| [a, b]).collect(),
        host: h.check_host.clone(),
        ca: h.check_ca.clone(),
        cert_days: h.cert_days(),
        query: h.check_query.as_ref().map(|q| q.name.clone()),
        query_type: h.check_query.as_ref().map(|q| q.qtype.clone()),
    })
}

/// The job with each server's weight as programmed now (`kernel_weight`),
/// so that a restarted nanny resumes at it instead of ramping up again.
pub fn with_kernel_weights(job: &Job, config: &Config, kernel: &Table) -> Job {
    let mut job = job.clone();
    for vc in &mut job.virtuals {
        let Some(v) = config.active_virtuals().find(|v| v.name == vc.name) else {
            continue;
        };
        let Some(key) = service_key(v) else {
            continue;
        };
        let Some(entry) = kernel.services.get(&key) else {
            continue;
        };
        for s in &mut vc.servers {
            let port = s.port.unwrap_or(vc.port);
            if let Some(d) = entry.dests.get(&(s.address, port)) {
                if d.weight > 0 {
                    s.kernel_weight = Some(d.weight as u32);
                }
            }
        }
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_checks_reach_nanny() {
        let text = "virtual web {\n active = 1\n address = 10.0.0.100 eth0:1\n port = 443\n check = https\n check_status = 200,301-302\n check_host = www.example.com\n check_ca = /etc/ca.pem\n server r1 {\n  address = 10.0.1.1\n  active = 1\n }\n}\nvirtual plain {\n active = 1\n address = 10.0.0.101 eth0:1\n server r1 {\n  address = 10.0.1.1\n  active = 1\n }\n}\n";
        let c = lvscf_parser::parse("lvs.cf", text.as_bytes())
            .unwrap()
            .config;
        let n = virtual_check(&c, &c.virtuals[0]).check.unwrap();
        assert_eq!(n.kind, nanny::protocol::NativeKind::Https);
        assert_eq!(n.url, "/");
        assert_eq!(n.status, vec![[200, 200], [301, 302]]);
        assert_eq!(n.host.as_deref(), Some("www.example.com"));
        assert_eq!(n.ca.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(n.cert_days, 14);
        // Without `check`, the job line is what it always was.
        let plain = virtual_check(&c, &c.virtuals[1]);
        assert_eq!(plain.check, None);
        assert!(!Job {
            virtuals: vec![plain]
        }
        .to_line()
        .contains("check"));
    }

    /// I15 part 3: a `load_monitor` value Piranha passed to nanny -U as a
    /// command reaches nanny as it is; nanny builds `VALUE ADDRESS`
    /// (`rsh`/`ssh`: `VALUE ADDRESS uptime`, exec-policy's
    /// `load_monitor_template`) and asks the allowlist.
    #[test]
    fn a_load_monitor_command_reaches_nanny_as_written() {
        let text = "virtual web {\n active = 1\n address = 10.0.0.100 eth0:1\n load_monitor = ssh\n server r1 {\n  address = 10.0.1.1\n  active = 1\n }\n}\n";
        let parsed = lvscf_parser::parse("lvs.cf", text.as_bytes()).unwrap();
        assert!(parsed
            .warnings
            .iter()
            .any(|d| d.code == lvscf_parser::Code::LoadMonitorCommand));
        let c = parsed.config;
        let v = virtual_check(&c, &c.virtuals[0]);
        assert_eq!(v.load_monitor, "ssh");
    }
}
