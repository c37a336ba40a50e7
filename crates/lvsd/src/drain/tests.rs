use super::*;
use crate::desired::{desired, Monitor};
use crate::table::Table;
use ipvs::ServiceKey;

const CF: &str = "serial_no = 1
service = lvs
network = direct
virtual web {
    active = 1
    address = 10.0.0.100 eth0:1
    port = 80
    server s1 {
        address = 10.0.1.11
        active = 1
        weight = 3
    }
    server s2 {
        address = 10.0.1.12
        active = 1
        weight = 5
    }
    server off {
        address = 10.0.1.13
        active = 0
    }
}
virtual idle {
    active = 0
    address = 10.0.0.101 eth0:2
    port = 80
    server s1 {
        address = 10.0.1.11
        active = 1
    }
}
";

fn config(text: &str) -> Config {
    match lvscf_parser::parse("lvs.cf", text.as_bytes()) {
        Ok(l) => l.config,
        Err(e) => panic!("test file does not parse: {e}"),
    }
}

fn key() -> ServiceKey {
    ServiceKey::Tcp("10.0.0.100".parse().expect("ip"), 80)
}

fn weights(d: &Desired) -> Vec<(String, i32)> {
    let e = &d.table.services[&key()];
    d.info[&key()]
        .servers
        .iter()
        .map(|s| (s.name.clone(), e.dests[&(s.addr, s.port)].weight))
        .collect()
}

fn live(d: &Desired, conns: &[(&str, u32)]) -> LvsdStatus {
    let mut st = crate::status::status(
        &d.table,
        d,
        None,
        &["web".to_string()],
        std::time::Instant::now(),
    );
    for s in st.services.iter_mut().flat_map(|v| v.servers.iter_mut()) {
        if let Some((_, n)) = conns.iter().find(|(name, _)| *name == s.server) {
            s.active_conns = *n;
        }
    }
    st
}

#[test]
fn a_drained_server_keeps_its_entry_at_weight_zero() {
    let c = config(CF);
    let now = Instant::now();
    let mut drains = Drains::new();
    assert_eq!(drains.start(&c, "web", "s2", now), Ok(true));
    assert_eq!(
        drains.start(&c, "web", "s2", now),
        Ok(false),
        "twice is one drain"
    );
    let mut d = desired(&c, Monitor::AssumeUp, &Table::new());
    assert_eq!(weights(&d), [("s1".into(), 3), ("s2".into(), 5)]);
    drains.apply(&mut d);
    assert_eq!(weights(&d), [("s1".into(), 3), ("s2".into(), 0)]);
    let st = live(&d, &[]);
    let s2 = &st.services[0].servers[1];
    assert!(s2.draining && s2.weight == 0, "{s2:?}");
    assert!(!st.services[0].servers[0].draining);
    // Cancelled: the weight comes back.
    assert!(drains.cancel("web", "s2"));
    assert!(!drains.cancel("web", "s2"));
    let mut d = desired(&c, Monitor::AssumeUp, &Table::new());
    drains.apply(&mut d);
    assert_eq!(weights(&d), [("s1".into(), 3), ("s2".into(), 5)]);
}

#[test]
fn only_active_servers_of_active_virtuals_can_drain() {
    let c = config(CF);
    let now = Instant::now();
    let mut drains = Drains::new();
    assert_eq!(
        drains.start(&c, "nope", "s1", now),
        Err(DrainError::NoVirtual("nope".into()))
    );
    assert_eq!(
        drains.start(&c, "idle", "s1", now),
        Err(DrainError::VirtualInactive("idle".into()))
    );
    assert_eq!(
        drains.start(&c, "web", "s9", now),
        Err(DrainError::NoServer("web".into(), "s9".into()))
    );
    assert_eq!(
        drains.start(&c, "web", "off", now),
        Err(DrainError::ServerInactive("web".into(), "off".into()))
    );
    assert!(drains.is_empty());
}

#[test]
fn a_drain_is_over_when_no_active_connection_is_left() {
    let c = config(CF);
    let now = Instant::now();
    let mut drains = Drains::new();
    drains.start(&c, "web", "s2", now).expect("drain");
    let mut d = desired(&c, Monitor::AssumeUp, &Table::new());
    drains.apply(&mut d);
    assert!(drains
        .finished(&live(&d, &[("s2", 4), ("s1", 0)]))
        .is_empty());
    let key = ("web".to_string(), "s2".to_string());
    assert_eq!(
        drains.finished(&live(&d, &[("s2", 0), ("s1", 9)])),
        std::slice::from_ref(&key)
    );
    assert_eq!(connections(&live(&d, &[("s2", 4)]), "web", "s2"), (4, 0));
    // Written to lvs.cf: not reported again; the reload ends it.
    drains.mark_deactivated(&key);
    assert!(drains.finished(&live(&d, &[])).is_empty());
    let later = now + Duration::from_secs(7);
    let after = config(&CF.replace(
        "address = 10.0.1.12\n        active = 1",
        "address = 10.0.1.12\n        active = 0",
    ));
    assert_eq!(
        drains.retain_configured(&after, later),
        [(key, Duration::from_secs(7))]
    );
    assert!(drains.is_empty());
}

#[test]
fn a_reload_keeps_the_drains_of_servers_still_active() {
    let c = config(CF);
    let now = Instant::now();
    let mut drains = Drains::new();
    drains.start(&c, "web", "s1", now).expect("drain");
    let edited = config(&CF.replace("weight = 5", "weight = 6"));
    assert!(drains.retain_configured(&edited, now).is_empty());
    assert!(drains.get("web", "s1").is_some());
    let removed = config(&CF.replace(
        "virtual web {\n    active = 1",
        "virtual web {\n    active = 0",
    ));
    assert_eq!(drains.retain_configured(&removed, now).len(), 1);
}
