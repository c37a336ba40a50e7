//! The status socket's answer: the live table with names and per-server
//! state, as the document [`lvs_status::lvsd::LvsdStatus`] defines it (the
//! exchange is [`lvs_status::wire`]'s).

use lvs_status::lvsd::{LvsdStatus, Server, Service, Stats};

use crate::desired::Desired;
use crate::table::Table;

fn stats(s: &ipvs::Stats) -> Stats {
    Stats {
        conns: s.conns,
        inpkts: s.in_pkts,
        outpkts: s.out_pkts,
        inbytes: s.in_bytes,
        outbytes: s.out_bytes,
    }
}

/// Builds the answer from the live table (with counters) and the desired
/// table's description, in lvs.cf order (`order` = virtual names).
pub fn status(live: &Table, desired: &Desired, order: &[String]) -> LvsdStatus {
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
            servers.push(Server {
                server: s.name.clone(),
                address: s.addr,
                port: s.port,
                state: s.state,
                weight: d.map(|d| d.weight).unwrap_or(0),
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
