//! The status socket's answer: the live table with names and per-server
//! state, as the document [`lvs_status::lvsd::LvsdStatus`] defines it (the
//! exchange is [`lvs_status::wire`]'s).

use std::time::Instant;

use lvs_status::lvsd::{LvsdStatus, Server, Service, Stats};

use crate::desired::Desired;
use crate::health::{Health, ServerId};
use crate::table::Table;

fn stats(s: &ipvs::Stats) -> Stats {
    Stats {
        conns: s.conns,
        inpkts: s.in_pkts,
        outpkts: s.out_pkts,
        inbytes: s.in_bytes,
        outbytes: s.out_bytes,
        cps: s.cps,
        inpps: s.in_pps,
        outpps: s.out_pps,
        inbps: s.in_bps,
        outbps: s.out_bps,
    }
}

fn millis(now: Instant, then: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(then).as_millis()).unwrap_or(u64::MAX)
}

/// Builds the answer from the live table (with counters), the desired
/// table's description and nanny's reports (`health`: when and why, aged
/// at `now`; none without health checks), in lvs.cf order (`order` =
/// virtual names).
pub fn status(
    live: &Table,
    desired: &Desired,
    health: Option<&Health>,
    order: &[String],
    now: Instant,
) -> LvsdStatus {
    let mut infos: Vec<_> = desired.info.iter().collect();
    infos.sort_by_key(|(_, i)| {
        order
            .iter()
            .position(|n| *n == i.name)
            .unwrap_or(usize::MAX)
    });
    let mut out = LvsdStatus::default();
    for (key, info) in infos {
        let kernel = live.services.get(key);
        let want = desired.table.services.get(key);
        let scheduler = kernel
            .map(|e| e.service.scheduler.clone())
            .or_else(|| want.map(|e| e.service.scheduler.clone()))
            .unwrap_or_default();
        let mut servers = Vec::new();
        for s in &info.servers {
            let d = kernel.and_then(|e| e.dests.get(&(s.addr, s.port)));
            let note = health.and_then(|h| {
                h.note(&ServerId {
                    virtual_name: info.name.clone(),
                    server: s.name.clone(),
                    addr: s.addr,
                    port: s.port,
                })
            });
            servers.push(Server {
                server: s.name.clone(),
                address: s.addr,
                port: s.port,
                state: s.state,
                weight: d.map(|d| d.weight).unwrap_or(0),
                in_kernel: d.is_some(),
                reason: note.and_then(|n| n.reason.clone()),
                since_ms: note.map(|n| millis(now, n.since)),
                report_age_ms: note.map(|n| millis(now, n.reported)),
                active_conns: d.map(|d| d.active_conns).unwrap_or(0),
                inactive_conns: d.map(|d| d.inactive_conns).unwrap_or(0),
                stats: d.map(|d| stats(&d.stats)).unwrap_or_default(),
                certificate: s.certificate,
                draining: s.draining,
            });
        }
        out.services.push(Service {
            name: info.name.clone(),
            protocol: info.protocol.as_str().to_string(),
            address: info.vip,
            port: info.port,
            fwmark: info.fwmark,
            scheduler,
            persistent: kernel
                .map(|e| {
                    if e.service.is_persistent() {
                        e.service.timeout
                    } else {
                        0
                    }
                })
                .unwrap_or(info.persistent),
            in_kernel: kernel.is_some(),
            stats: kernel.map(|e| stats(&e.service.stats)).unwrap_or_default(),
            servers,
            quorum: info.quorum,
        });
    }
    out
}
