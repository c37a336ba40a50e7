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
