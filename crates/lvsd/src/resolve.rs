//! Host names in lvs.cf (VIPs and real servers) resolved once per load,
//! all in parallel, within a deadline. A name that does not resolve in
//! time stays a name: the virtual or server is then left out of the table
//! with a warning. Never called on the report path.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lvscf_parser::{Config, Host, VirtualServer};

/// How long all names together may take.
pub const DEADLINE: Duration = Duration::from_secs(3);

/// The host names a configuration uses where addresses go (sorted, once
/// each).
pub fn names(config: &Config) -> Vec<String> {
    let mut out: Vec<String> = config
        .virtuals
        .iter()
        .flat_map(virtual_names)
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The host names one virtual server uses (its VIP, its real servers).
pub fn virtual_names(v: &VirtualServer) -> impl Iterator<Item = &str> {
    let vip = match v.address.as_ref().map(|a| &a.host) {
        Some(Host::Name(n)) => Some(n.as_str()),
        _ => None,
    };
    vip.into_iter()
        .chain(v.servers.iter().filter_map(|s| match &s.address {
            Some(Host::Name(n)) => Some(n.as_str()),
            _ => None,
        }))
}

/// Resolves every host name in `config` in place. Returns log lines.
pub fn resolve(config: &mut Config) -> Vec<String> {
    let names = names(config);
    let mut logs = Vec::new();
    if names.is_empty() {
        return logs;
    }
    let (tx, rx) = mpsc::channel();
    for n in &names {
        let tx = tx.clone();
        let n = n.clone();
        // Detached: a lookup that outlives the deadline is abandoned.
        std::thread::spawn(move || {
            // The suite's one rule for names (IPv4 first).
            let r = daemon_kit::host::lookup(&n);
            let _ = tx.send((n, r));
        });
    }
    drop(tx);
    let end = Instant::now() + DEADLINE;
    let mut found: BTreeMap<String, IpAddr> = BTreeMap::new();
    // Counted apart from `found` and `logs`: a name that resolves adds to
    // both, so their sum would end the wait before every name answered.
    let mut answered = 0;
    while answered < names.len() {
        let left = end.saturating_duration_since(Instant::now());
        let answer = rx.recv_timeout(left);
        answered += 1;
        match answer {
            Ok((n, Ok(ip))) => {
                logs.push(format!("resolved host name {n} to {ip}"));
                found.insert(n, ip);
            }
            Ok((n, Err(daemon_kit::host::LookupError::NoAddress(_)))) => {
                logs.push(format!("host name {n} has no address"))
            }
            Ok((n, Err(daemon_kit::host::LookupError::Failed { why, .. }))) => {
                logs.push(format!("cannot resolve host name {n}: {why}"))
            }
            Err(_) => {
                logs.push(format!(
                    "host name lookups did not finish within {} s",
                    DEADLINE.as_secs()
                ));
                break;
            }
        }
    }
    let fix = |h: &mut Host| {
        if let Host::Name(n) = h {
            if let Some(ip) = found.get(n.as_str()) {
                *h = Host::Ip(*ip);
            }
        }
    };
    for v in &mut config.virtuals {
        if let Some(a) = v.address.as_mut() {
            fix(&mut a.host);
        }
        for s in &mut v.servers {
            if let Some(h) = s.address.as_mut() {
                fix(h);
            }
        }
    }
    logs
}
