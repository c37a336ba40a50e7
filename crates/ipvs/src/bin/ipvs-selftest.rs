//! In-guest integration test of the `ipvs` crate against the real kernel,
//! cross-checked with Debian's `ipvsadm`. Needs root and IPVS; run it with
//! `tests/vm/run tests/vm/scripts/ipvs.sh`. It flushes the IPVS table.
//!
//! Prints `ok NAME` / `FAIL NAME: why` per check and ends with the line
//! `ipvs-selftest: N passed, M failed`; exits 1 when anything failed.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::Instant;

use ipvs::*;

type R = Result<(), String>;
type Test = (&'static str, Box<dyn Fn(&mut Ipvs) -> R>);

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn ipvsadm(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ipvsadm")
        .args(args)
        .output()
        .map_err(|e| format!("ipvsadm: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ipvsadm {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check(cond: bool, what: impl FnOnce() -> String) -> R {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

fn hostport(a: &IpAddr, p: u16) -> String {
    match a {
        IpAddr::V4(a) => format!("{a}:{p}"),
        IpAddr::V6(a) => format!("[{a}]:{p}"),
    }
}

/// What `ipvsadm -Ln` should print for our dump (independent rendering
/// from the library's view; compared as normalised, sorted lines).
fn render(ipvs: &mut Ipvs) -> Result<BTreeSet<String>, String> {
    let mut lines = BTreeSet::new();
    for s in ipvs.services().map_err(|e| e.to_string())? {
        let mut l = match s.key {
            ServiceKey::Tcp(a, p) => format!("TCP {}", hostport(&a, p)),
            ServiceKey::Udp(a, p) => format!("UDP {}", hostport(&a, p)),
            ServiceKey::Sctp(a, p) => format!("SCTP {}", hostport(&a, p)),
            ServiceKey::Fwmark {
                mark,
                family: Family::Inet,
            } => format!("FWM {mark}"),
            ServiceKey::Fwmark {
                mark,
                family: Family::Inet6,
            } => format!("FWM {mark} IPv6"),
        };
        l.push(' ');
        l.push_str(&s.scheduler);
        if s.is_persistent() {
            l.push_str(&format!(" persistent {}", s.timeout));
            match s.netmask {
                Netmask::V4(m) if m != Ipv4Addr::BROADCAST => l.push_str(&format!(" mask {m}")),
                Netmask::V6(p) if p != 128 => l.push_str(&format!(" mask {p}")),
                _ => {}
            }
        }
        lines.insert(l.clone());
        for d in ipvs.destinations(&s.key).map_err(|e| e.to_string())? {
            let fwd = match d.forward {
                Forward::Masq => "Masq",
                Forward::Route => "Route",
                Forward::Tunnel => "Tunnel",
                Forward::Local => "Local",
                Forward::Bypass => "Bypass",
            };
            lines.insert(format!(
                "{l} -> {} {fwd} {} {} {}",
                hostport(&d.addr, d.port),
                d.weight,
                d.active_conns,
                d.inactive_conns
            ));
        }
    }
    Ok(lines)
}

/// `ipvsadm -Ln`, each destination line prefixed with its service line.
fn oracle() -> Result<BTreeSet<String>, String> {
    let out = ipvsadm(&["-Ln"])?;
    let mut lines = BTreeSet::new();
    let mut svc = String::new();
    for raw in out.lines().skip(3) {
        let l = norm(raw);
        if let Some(rest) = l.strip_prefix("-> ") {
            lines.insert(format!("{svc} -> {rest}"));
        } else if !l.is_empty() {
            svc = l.clone();
            lines.insert(l);
        }
    }
    Ok(lines)
}

fn cross_check(ipvs: &mut Ipvs) -> R {
    let ours = render(ipvs)?;
    let theirs = oracle()?;
    if ours == theirs {
        return Ok(());
    }
    let only_ours: Vec<_> = ours.difference(&theirs).collect();
    let only_theirs: Vec<_> = theirs.difference(&ours).collect();
    Err(format!(
        "library and ipvsadm -Ln differ: only in library {only_ours:?}; only in ipvsadm {only_theirs:?}"
    ))
}

fn flush(ipvs: &mut Ipvs) -> R {
    ipvs.flush().map_err(|e| e.to_string())
}

fn t_info(ipvs: &mut Ipvs) -> R {
    let i = ipvs.info().map_err(|e| e.to_string())?;
    let head = ipvsadm(&["-Ln"])?;
    let want = format!(
        "IP Virtual Server version {} (size={})",
        i.version_string(),
        i.conn_tab_size
    );
    check(head.lines().next() == Some(want.as_str()), || {
        format!("{want:?} vs {:?}", head.lines().next())
    })
}

fn t_services(ipvs: &mut Ipvs) -> R {
    flush(ipvs)?;
    check(
        ipvs.services().map_err(|e| e.to_string())?.is_empty(),
        || "not empty after flush".into(),
    )?;
    let mut keys = vec![
        ServiceKey::Tcp(ip("10.0.0.1"), 80),
        ServiceKey::Udp(ip("10.0.0.1"), 53),
        ServiceKey::Tcp(ip("2001:db8::1"), 443),
        ServiceKey::Udp(ip("2001:db8::1"), 53),
        ServiceKey::Fwmark {
            mark: 7,
            family: Family::Inet,
        },
        ServiceKey::Fwmark {
            mark: 8,
            family: Family::Inet6,
        },
    ];
    if std::path::Path::new("/proc/net/sctp").exists() || has_module("sctp") {
        keys.push(ServiceKey::Sctp(ip("10.0.0.1"), 9));
        keys.push(ServiceKey::Sctp(ip("2001:db8::1"), 9));
    } else {
        println!("note: no sctp module, SCTP services skipped");
    }
    for k in &keys {
        ipvs.add_service(&Service::new(*k, "rr"))
            .map_err(|e| e.to_string())?;
    }
    for k in &keys {
        let s = ipvs
            .service(k)
            .map_err(|e| e.to_string())?
            .ok_or(format!("{k} missing"))?;
        check(
            s.key == *k && s.scheduler == "rr" && s.flags == ServiceFlags::empty(),
            || format!("{s:?}"),
        )?;
        check(s.netmask == Netmask::host(k.family()), || {
            format!("netmask {:?}", s.netmask)
        })?;
    }
    let n = ipvs.services().map_err(|e| e.to_string())?.len();
    check(n == keys.len(), || {
        format!("{n} services listed, {} added", keys.len())
    })?;
    check(
        ipvs.service(&ServiceKey::Tcp(ip("10.9.9.9"), 1))
            .map_err(|e| e.to_string())?
            .is_none(),
        || "absent service found".into(),
    )?;
    cross_check(ipvs)
}

fn has_module(name: &str) -> bool {
    std::fs::read_to_string("/proc/modules")
        .map(|m| m.lines().any(|l| l.split_whitespace().next() == Some(name)))
        .unwrap_or(false)
}

fn module_file_exists(name: &str) -> bool {
    let out = Command::new("find")
        .args(["/lib/modules", "-name", &format!("{name}.ko*")])
        .output();
    matches!(out, Ok(o) if !o.stdout.is_empty())
}

fn t_schedulers(ipvs: &mut Ipvs) -> R {
    flush(ipvs)?;
    let all = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
        "twos",
    ];
    let mut tested = vec![];
    for (i, s) in all.iter().enumerate() {
        let key = ServiceKey::Tcp(ip("10.0.1.1"), 1000 + i as u16);
        match ipvs.add_service(&Service::new(key, *s)) {
            Ok(()) => tested.push(*s),
            Err(e)
                if e.errno() == Some(libc::ENOENT)
                    && !module_file_exists(&format!("ip_vs_{s}")) =>
            {
                println!("note: scheduler {s} not in this kernel: {e}");
                continue;
            }
            Err(e) => return Err(e.to_string()),
        }
        let got = ipvs
            .service(&key)
            .map_err(|e| e.to_string())?
            .ok_or("missing")?;
        check(got.scheduler == *s, || {
            format!("scheduler {} read back as {}", s, got.scheduler)
        })?;
    }
    println!("note: schedulers tested: {}", tested.join(" "));
    check(tested.len() >= 12, || {
        format!("only {} schedulers", tested.len())
    })?;
    cross_check(ipvs)
}

fn t_persistence_and_edit(ipvs: &mut Ipvs) -> R {
    flush(ipvs)?;
    let k4 = ServiceKey::Tcp(ip("10.0.0.5"), 443);
    let s4 = Service::new(k4, "rr")
        .persistent(300)
        .netmask(Netmask::V4("255.255.255.0".parse().unwrap()));
    ipvs.add_service(&s4).map_err(|e| e.to_string())?;
    let k6 = ServiceKey::Tcp(ip("2001:db8::5"), 443);
    let s6 = Service::new(k6, "wlc")
        .persistent(120)
        .netmask(Netmask::V6(64));
    ipvs.add_service(&s6).map_err(|e| e.to_string())?;
    let kf = ServiceKey::Fwmark {
        mark: 42,
        family: Family::Inet,
    };
    ipvs.add_service(&Service::new(kf, "sh").persistent(60))
        .map_err(|e| e.to_string())?;
    for s in [&s4, &s6] {
        let got = ipvs
            .service(&s.key)
            .map_err(|e| e.to_string())?
            .ok_or("missing")?;
        check(
            got.scheduler == s.scheduler
                && got.flags == s.flags
                && got.timeout == s.timeout
                && got.netmask == s.netmask,
            || format!("{got:?} != {s:?}"),
        )?;
    }
    cross_check(ipvs)?;
    // Edit: scheduler and persistence of a running service.
    let e4 = Service::new(k4, "wlc")
        .persistent(600)
        .netmask(Netmask::V4("255.255.0.0".parse().unwrap()));
    ipvs.edit_service(&e4).map_err(|e| e.to_string())?;
    let got = ipvs
        .service(&k4)
        .map_err(|e| e.to_string())?
        .ok_or("missing")?;
    check(
        got.scheduler == "wlc" && got.timeout == 600 && got.netmask == e4.netmask,
        || format!("after edit: {got:?}"),
    )?;
    // Edit away persistence.
    ipvs.edit_service(&Service::new(k6, "lc"))
        .map_err(|e| e.to_string())?;
    let got = ipvs
        .service(&k6)
        .map_err(|e| e.to_string())?
        .ok_or("missing")?;
    check(got.scheduler == "lc" && !got.is_persistent(), || {
        format!("after edit: {got:?}")
    })?;
    let out = norm(&ipvsadm(&["-Ln"])?);
    check(
        out.contains("TCP 10.0.0.5:443 wlc persistent 600 mask 255.255.0.0"),
        || out.clone(),
    )?;
    cross_check(ipvs)
}

fn t_destinations(ipvs: &mut Ipvs) -> R {
    flush(ipvs)?;
    let k = ServiceKey::Tcp(ip("10.0.0.1"), 80);
    ipvs.add_service(&Service::new(k, "wrr"))
        .map_err(|e| e.to_string())?;
    let dests = [
        Destination::new(ip("192.168.1.2"), 80, Forward::Masq).weight(3),
        Destination::new(ip("192.168.1.3"), 8080, Forward::Masq)
            .weight(1)
            .thresholds(100, 10),
        Destination::new(ip("192.168.1.4"), 80, Forward::Route).weight(0),
        Destination::new(ip("192.168.1.5"), 80, Forward::Tunnel)
            .weight(7)
            .thresholds(5, 0),
    ];
    for d in &dests {
        ipvs.add_destination(&k, d).map_err(|e| e.to_string())?;
    }
    let got = ipvs.destinations(&k).map_err(|e| e.to_string())?;
    check(got.len() == dests.len(), || {
        format!("{} destinations", got.len())
    })?;
    for d in &dests {
        let g = got
            .iter()
            .find(|g| g.addr == d.addr)
            .ok_or(format!("{} missing", d.addr))?;
        check(
            g.port == d.port
                && g.forward == d.forward
                && g.weight == d.weight
                && g.upper_threshold == d.upper_threshold
                && g.lower_threshold == d.lower_threshold,
            || format!("{g:?} != {d:?}"),
        )?;
    }
    let thr = norm(&ipvsadm(&["-Ln", "--thresholds"])?);
    check(thr.contains("-> 192.168.1.3:8080 100 10"), || {
        format!("thresholds: {thr}")
    })?;
    cross_check(ipvs)?;
    // IPv6 service with IPv6 masq and route destinations.
    let k6 = ServiceKey::Udp(ip("2001:db8::1"), 53);
    ipvs.add_service(&Service::new(k6, "lc"))
        .map_err(|e| e.to_string())?;
    ipvs.add_destination(
        &k6,
        &Destination::new(ip("fd00::2"), 53, Forward::Masq).weight(2),
    )
    .map_err(|e| e.to_string())?;
    ipvs.add_destination(&k6, &Destination::new(ip("fd00::3"), 53, Forward::Route))
        .map_err(|e| e.to_string())?;
    // fwmark service with a tunnel destination.
    let kf = ServiceKey::Fwmark {
        mark: 9,
        family: Family::Inet,
    };
    ipvs.add_service(&Service::new(kf, "rr"))
        .map_err(|e| e.to_string())?;
    ipvs.add_destination(
        &kf,
        &Destination::new(ip("192.168.2.9"), 0, Forward::Tunnel),
    )
    .map_err(|e| e.to_string())?;
    cross_check(ipvs)?;
    // Edit weight, method, thresholds.
    let e = Destination::new(ip("192.168.1.2"), 80, Forward::Route)
        .weight(9)
        .thresholds(7, 2);
    ipvs.edit_destination(&k, &e).map_err(|e| e.to_string())?;
    let g = ipvs.destinations(&k).map_err(|e| e.to_string())?;
    let g = g
        .iter()
        .find(|g| g.addr == e.addr)
        .ok_or("edited missing")?;
    check(
        g.weight == 9
            && g.forward == Forward::Route
            && g.upper_threshold == 7
            && g.lower_threshold == 2,
        || format!("after edit {g:?}"),
    )?;
    cross_check(ipvs)?;
    // Delete one destination, then a service.
    ipvs.del_destination(&k, ip("192.168.1.3"), 8080)
        .map_err(|e| e.to_string())?;
    check(
        ipvs.destinations(&k).map_err(|e| e.to_string())?.len() == 3,
        || "delete dest".into(),
    )?;
    ipvs.del_service(&k6).map_err(|e| e.to_string())?;
    check(
        ipvs.service(&k6).map_err(|e| e.to_string())?.is_none(),
        || "delete service".into(),
    )?;
    cross_check(ipvs)?;
    ipvs.zero(None).map_err(|e| e.to_string())?;
    ipvs.zero(Some(&k)).map_err(|e| e.to_string())?;
    Ok(())
}

fn t_timeouts(ipvs: &mut Ipvs) -> R {
    let before = ipvs.timeouts().map_err(|e| e.to_string())?;
    ipvs.set_timeouts(&Timeouts {
        tcp: 901,
        tcpfin: 121,
        udp: 301,
    })
    .map_err(|e| e.to_string())?;
    let t = ipvs.timeouts().map_err(|e| e.to_string())?;
    check(
        t == Timeouts {
            tcp: 901,
            tcpfin: 121,
            udp: 301,
        },
        || format!("{t:?}"),
    )?;
    let out = norm(&ipvsadm(&["-Ln", "--timeout"])?);
    check(
        out.contains("Timeout (tcp tcpfin udp): 901 121 301"),
        || out.clone(),
    )?;
    // 0 leaves a value unchanged.
    ipvs.set_timeouts(&Timeouts {
        tcp: 0,
        tcpfin: 0,
        udp: 42,
    })
    .map_err(|e| e.to_string())?;
    let t = ipvs.timeouts().map_err(|e| e.to_string())?;
    check(
        t == Timeouts {
            tcp: 901,
            tcpfin: 121,
            udp: 42,
        },
        || format!("{t:?}"),
    )?;
    ipvs.set_timeouts(&before).map_err(|e| e.to_string())
}

fn t_daemons(ipvs: &mut Ipvs) -> R {
    check(
        ipvs.daemons().map_err(|e| e.to_string())?.is_empty(),
        || "daemons running at start".into(),
    )?;
    ipvs.start_daemon(&SyncDaemon::new(SyncState::Master, "sync0", 7))
        .map_err(|e| e.to_string())?;
    ipvs.start_daemon(&SyncDaemon::new(SyncState::Backup, "sync0", 7))
        .map_err(|e| e.to_string())?;
    let d = ipvs.daemons().map_err(|e| e.to_string())?;
    check(d.len() == 2, || format!("{d:?}"))?;
    for st in [SyncState::Master, SyncState::Backup] {
        let x = d.iter().find(|x| x.state == st).ok_or(format!("no {st}"))?;
        check(x.mcast_ifn == "sync0" && x.syncid == 7, || format!("{x:?}"))?;
    }
    let out = norm(&ipvsadm(&["-L", "--daemon"])?);
    check(
        out.contains("master sync daemon (mcast=sync0, syncid=7")
            && out.contains("backup sync daemon (mcast=sync0, syncid=7"),
        || out.clone(),
    )?;
    // A second master is refused, mapped to its operation.
    let e = ipvs
        .start_daemon(&SyncDaemon::new(SyncState::Master, "sync0", 8))
        .err()
        .ok_or("second master accepted")?;
    check(e.errno() == Some(libc::EEXIST), || e.to_string())?;
    println!("note: second master refused: {e}");
    ipvs.stop_daemon(SyncState::Master)
        .map_err(|e| e.to_string())?;
    ipvs.stop_daemon(SyncState::Backup)
        .map_err(|e| e.to_string())?;
    check(
        ipvs.daemons().map_err(|e| e.to_string())?.is_empty(),
        || "daemons left".into(),
    )?;
    let e = ipvs
        .stop_daemon(SyncState::Backup)
        .err()
        .ok_or("stopping a stopped daemon succeeded")?;
    println!("note: stop of a stopped daemon: {e}");
    Ok(())
}

fn t_errors(ipvs: &mut Ipvs) -> R {
    flush(ipvs)?;
    let a = ServiceKey::Tcp(ip("10.0.0.1"), 80);
    let b = ServiceKey::Tcp(ip("10.0.0.2"), 80);
    let ops = vec![
        Operation::AddService(Service::new(a, "rr")),
        Operation::AddService(Service::new(a, "rr")),
        Operation::AddService(Service::new(b, "xyz")),
        Operation::AddDest(b, Destination::new(ip("192.168.1.2"), 80, Forward::Masq)),
        Operation::AddDest(a, Destination::new(ip("192.168.1.2"), 80, Forward::Masq)),
        Operation::AddDest(a, Destination::new(ip("192.168.1.2"), 80, Forward::Masq)),
        Operation::DelService(b),
        Operation::AddService(Service::new(
            ServiceKey::Tcp(ip("10.0.0.3"), 80),
            "scheduler-name-too-long",
        )),
        Operation::DelDest {
            service: a,
            addr: ip("192.168.1.99"),
            port: 80,
        },
    ];
    let err = ipvs
        .apply(&ops)
        .err()
        .ok_or("batch with errors succeeded")?;
    println!("note: batch error: {err}");
    let idx: Vec<usize> = err.failures.iter().map(|f| f.index).collect();
    check(idx == vec![1, 2, 3, 5, 6, 7, 8], || {
        format!("failed entries {idx:?}")
    })?;
    let msg = |i: usize| {
        err.failures
            .iter()
            .find(|f| f.index == i)
            .map(|f| f.error.to_string())
            .unwrap_or_default()
    };
    check(msg(1).contains("service already exists"), || msg(1))?;
    check(
        msg(2).contains("scheduler 'xyz' is not available (module ip_vs_xyz not loaded?)"),
        || msg(2),
    )?;
    check(msg(3).contains("no such service"), || msg(3))?;
    check(msg(5).contains("already exists"), || msg(5))?;
    check(msg(6).contains("no such service"), || msg(6))?;
    check(msg(7).contains("invalid request"), || msg(7))?;
    check(msg(8).contains("no such real server"), || msg(8))?;
    check(err.transport.is_none(), || "transport error".into())?;
    // Entries 0 and 4 were applied.
    check(
        ipvs.destinations(&a).map_err(|e| e.to_string())?.len() == 1,
        || "entry 4 not applied".into(),
    )?;
    let e = ipvs
        .add_service(&Service::new(a, "rr"))
        .err()
        .ok_or("duplicate accepted")?;
    check(
        e.to_string() == "add service TCP 10.0.0.1:80 (rr): service already exists",
        || e.to_string(),
    )?;
    cross_check(ipvs)
}

fn t_batch(ipvs: &mut Ipvs, services: usize, per: usize) -> R {
    flush(ipvs)?;
    let ops = ipvs::synth::batch(services, per, 1, 8080, true);
    let t0 = Instant::now();
    ipvs.apply(&ops).map_err(|e| e.to_string())?;
    let dt = t0.elapsed();
    println!(
        "note: batch of {} operations applied in {:.3} s ({:.0} ops/s, window {})",
        ops.len(),
        dt.as_secs_f64(),
        ops.len() as f64 / dt.as_secs_f64(),
        ipvs.window()
    );
    let t0 = Instant::now();
    let (svcs, n) = ipvs::synth::dump_all(ipvs).map_err(|e| e.to_string())?;
    println!(
        "note: dump of {} services / {n} destinations in {:.3} s",
        svcs.len(),
        t0.elapsed().as_secs_f64()
    );
    check(svcs.len() == services && n == services * per, || {
        format!("{} services, {n} destinations", svcs.len())
    })?;
    let lines = ipvsadm(&["-Ln"])?.lines().count();
    check(lines == 3 + services * (per + 1), || {
        format!("ipvsadm -Ln has {lines} lines")
    })?;
    cross_check(ipvs)?;
    // The same with a tiny window (many rounds), deleting everything.
    let dels: Vec<Operation> = svcs.iter().map(|s| Operation::DelService(s.key)).collect();
    ipvs.set_window(7);
    let r = ipvs.apply(&dels);
    ipvs.set_window(256);
    r.map_err(|e| e.to_string())?;
    check(
        ipvs.services().map_err(|e| e.to_string())?.is_empty(),
        || "services left after batch delete".into(),
    )
}

fn main() {
    let t_all = Instant::now();
    let mut ipvs = match Ipvs::connect() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("ipvs-selftest: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "ipvs family id {}, window {}",
        ipvs.family_id(),
        ipvs.window()
    );
    let tests: Vec<Test> = vec![
        ("info", Box::new(t_info)),
        ("services", Box::new(t_services)),
        ("schedulers", Box::new(t_schedulers)),
        ("persistence_and_edit", Box::new(t_persistence_and_edit)),
        ("destinations", Box::new(t_destinations)),
        ("timeouts", Box::new(t_timeouts)),
        ("daemons", Box::new(t_daemons)),
        ("errors", Box::new(t_errors)),
        ("batch_10000", Box::new(|i: &mut Ipvs| t_batch(i, 100, 99))),
    ];
    let (mut pass, mut fail) = (0, 0);
    for (name, f) in &tests {
        let t0 = Instant::now();
        match f(&mut ipvs) {
            Ok(()) => {
                pass += 1;
                println!("ok {name} ({:.2} s)", t0.elapsed().as_secs_f64());
            }
            Err(e) => {
                fail += 1;
                println!("FAIL {name}: {e}");
            }
        }
    }
    let _ = ipvs.flush();
    println!(
        "ipvs-selftest: {pass} passed, {fail} failed ({:.1} s)",
        t_all.elapsed().as_secs_f64()
    );
    std::process::exit(if fail == 0 { 0 } else { 1 });
}
