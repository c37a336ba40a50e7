//! `service = fos` between two routers in network namespaces (the
//! topology of `common`): a real TCP service started by `start_cmd` on the
//! active router and watched by the backup's `fos --monitor` (real nanny);
//! the service killed, the backup takes over (its own `start_cmd`, the
//! VIP moves, "stop me" makes the primary run its `stop_cmd`); a clean stop
//! of the active router runs `stop_cmd` and hands over. Also Piranha's FOS
//! magics on the wire and an LVS router refused as incompatible.
//!
//! This test binary is also `fos`, `nanny` and the service (`FOS_TEST_AS`),
//! so that one `cargo test -p pulse --test fos` builds everything it runs.
//! Needs root (namespaces; programs must be root-owned): fails under CI.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PORT: u16 = 8081;

fn sec(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match std::env::var("FOS_TEST_AS").as_deref() {
        Ok("fos") => std::process::exit(fos::main_with_args(&args[1..])),
        Ok("nanny") => std::process::exit(nanny::cli::main_with(args)),
        Ok("server") => serve(),
        _ => {}
    }
    let tests: [(&str, fn()); 3] = [
        (
            "own_network_fault_stops_the_takeover",
            own_network_fault_stops_the_takeover,
        ),
        (
            "service_failure_moves_the_service",
            service_failure_moves_the_service,
        ),
        ("fos_heartbeats_on_the_wire", fos_heartbeats_on_the_wire),
    ];
    let filters: Vec<&String> = args[1..].iter().filter(|a| !a.starts_with('-')).collect();
    let mut failed = Vec::new();
    for (name, f) in tests {
        if !filters.is_empty() && !filters.iter().any(|x| name.contains(x.as_str())) {
            continue;
        }
        eprintln!("test {name} ...");
        match std::panic::catch_unwind(f) {
            Ok(()) => eprintln!("test {name} ... ok"),
            Err(_) => {
                eprintln!("test {name} ... FAILED");
                failed.push(name);
            }
        }
    }
    if !failed.is_empty() {
        eprintln!("failed: {failed:?}");
        std::process::exit(1);
    }
}

/// The failover service: answers the router's name on VIP:8081.
fn serve() -> ! {
    let name = std::env::var("FOS_TEST_ROUTER").unwrap_or_default();
    let addr: SocketAddr = format!("{VIP}:{PORT}").parse().expect("addr");
    let end = Instant::now() + sec(5.0);
    let l = loop {
        match TcpListener::bind(addr) {
            Ok(l) => break l,
            Err(_) if Instant::now() < end => std::thread::sleep(sec(0.05)),
            Err(e) => {
                eprintln!("service: cannot bind {addr}: {e}");
                std::process::exit(1)
            }
        }
    };
    for mut s in l.incoming().map_while(Result::ok) {
        let _ = s.write_all(format!("{name}\n").as_bytes());
    }
    std::process::exit(0)
}

fn ask(t: &Topo) -> Option<String> {
    let addr: SocketAddr = format!("{VIP}:{PORT}").parse().ok()?;
    in_ns(&t.client, || {
        let mut s = TcpStream::connect_timeout(&addr, sec(0.2)).ok()?;
        s.set_read_timeout(Some(sec(0.3))).ok()?;
        let mut txt = String::new();
        s.read_to_string(&mut txt).ok()?;
        Some(txt.trim().to_string())
    })
}

struct Setup {
    dir: PathBuf,
    cfg: PathBuf,
    programs: PathBuf,
    fos: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Setup {
    fn marks(&self) -> String {
        std::fs::read_to_string(self.dir.join("marks")).unwrap_or_default()
    }

    fn service_pid(&self, router: &str) -> Option<i32> {
        std::fs::read_to_string(self.dir.join(format!("{router}.pid")))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Scripts in a root-owned directory (the exec policy's ownership rule),
/// the allowlist naming start and stop, lvs.cf with one failover service.
fn setup(t: &Topo, keepalive: &str, deadtime: &str) -> Setup {
    let dir = PathBuf::from(format!("/run/{}-fos", t.id));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let exe = std::env::current_exe().expect("current exe");
    let d = dir.display();
    let marks = dir.join("marks");
    let m = marks.display();
    // start_cmd starts a daemon and returns, as init scripts do
    script(
        &dir.join("start.sh"),
        &format!(
            "echo start $FOS_TEST_ROUTER >> {m}\n\
             FOS_TEST_AS=server {exe} </dev/null >/dev/null 2>&1 &\n\
             echo $! > {d}/$FOS_TEST_ROUTER.pid",
            exe = exe.display()
        ),
    );
    script(
        &dir.join("stop.sh"),
        &format!(
            "echo stop $FOS_TEST_ROUTER >> {m}\n\
             [ -f {d}/$FOS_TEST_ROUTER.pid ] && kill $(cat {d}/$FOS_TEST_ROUTER.pid) 2>/dev/null\n\
             rm -f {d}/$FOS_TEST_ROUTER.pid\nexit 0"
        ),
    );
    let nanny = dir.join("nanny");
    script(
        &nanny,
        &format!("FOS_TEST_AS=nanny exec {} \"$@\"", exe.display()),
    );
    let fos = dir.join("fos");
    script(
        &fos,
        &format!(
            "FOS_TEST_AS=fos exec {} \"$@\" --nanny={}",
            exe.display(),
            nanny.display()
        ),
    );
    let programs = dir.join("lvs-programs");
    std::fs::write(&programs, format!("{d}/start.sh\n{d}/stop.sh\n")).expect("allowlist");
    let cfg = dir.join("lvs.cf");
    std::fs::write(
        &cfg,
        format!(
            "serial_no = 1\nprimary = {R1}\nbackup = {R2}\nbackup_active = 1\nheartbeat = 1\n\
             heartbeat_port = 539\nkeepalive = {keepalive}\ndeadtime = {deadtime}\nservice = fos\n\
             failover web {{\n     active = 1\n     address = {VIP} eth1:1\n     vip_nmask = 255.255.255.0\n\
             \x20    port = {PORT}\n     timeout = 1\n     start_cmd = \"{d}/start.sh\"\n     stop_cmd = \"{d}/stop.sh\"\n}}\n"
        ),
    )
    .expect("lvs.cf");
    Setup {
        dir,
        cfg,
        programs,
        fos,
    }
}

fn start(t: &Topo, s: &Setup, ns: &str, name: &str) -> Pulse {
    let fos = format!("--fos={}", s.fos.display());
    let unused_lvsd = s.dir.join("no-lvsd");
    t.pulse_with_env(
        ns,
        name,
        &s.cfg,
        &unused_lvsd,
        &[&fos],
        &s.programs,
        &[("FOS_TEST_ROUTER", name)],
    )
}

fn service_failure_moves_the_service() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let s = setup(&t, "0.2", "1");
    let p1 = start(&t, &s, &t.r1, "r1");
    assert!(
        p1.wait_log("gratuitous fos arps finished", sec(10.0))
            .is_some(),
        "{:#?}",
        p1.log()
    );
    assert!(t.has_vip(&t.r1));
    assert!(
        wait_until(sec(5.0), || ask(&t).as_deref() == Some("r1")).is_some(),
        "{:?} {:#?}",
        s.marks(),
        p1.log()
    );
    assert_eq!(s.marks(), "stop r1\nstart r1\n");
    // the backup watches the primary's service with nanny --fos
    let mut p2 = start(&t, &s, &t.r2, "r2");
    assert!(
        p2.wait_log("Remote service 203.0.113.100:8081 is available", sec(10.0))
            .is_some(),
        "{:#?}",
        p2.log()
    );
    assert!(!t.has_vip(&t.r2));
    assert!(p2.log().iter().all(|l| !l.contains("Incompatible")));

    // the service dies on the primary: the backup takes over
    let pid = s.service_pid("r1").expect("r1 service pid");
    // SAFETY: kill(2) on the service this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let killed = Instant::now();
    assert!(
        p2.wait_log(
            "Exiting due to connection failure of 203.0.113.100:8081",
            sec(6.0)
        )
        .is_some(),
        "{:#?}",
        p2.log()
    );
    assert!(
        p2.wait_log("performing service failover", sec(5.0))
            .is_some(),
        "{:#?}",
        p2.log()
    );
    assert!(
        wait_until(sec(5.0), || ask(&t).as_deref() == Some("r2")).is_some(),
        "{:?} {:#?} {:#?}",
        s.marks(),
        p1.log(),
        p2.log()
    );
    let moved = killed.elapsed();
    // "stop me": the primary relinquishes and runs its stop_cmd
    assert!(
        p1.wait_log(
            "partner took over our failed services: deactivating fos",
            sec(3.0)
        )
        .is_some(),
        "{:#?}",
        p1.log()
    );
    assert!(wait_until(sec(5.0), || !t.has_vip(&t.r1)).is_some());
    assert!(t.has_vip(&t.r2));
    assert!(
        wait_until(sec(5.0), || s.marks().matches("stop r1").count() == 2).is_some(),
        "{:?}",
        s.marks()
    );
    let m = s.marks();
    assert!(m.contains("stop r2\nstart r2\n"), "{m}");
    eprintln!("service killed -> answered by the backup after {moved:?}");
    // the primary, now inactive, watches the backup's service
    assert!(
        wait_until(sec(8.0), || p1
            .count("Remote service 203.0.113.100:8081 is available")
            > 0)
        .is_some(),
        "{:#?}",
        p1.log()
    );
    // no flapping back: the primary stays inactive
    std::thread::sleep(sec(1.5));
    assert_eq!(ask(&t).as_deref(), Some("r2"));
    assert!(!t.has_vip(&t.r1));

    // a clean stop of the active backup: stop_cmd, and the primary takes over
    let before = s.marks();
    p2.signal(libc::SIGTERM);
    assert_eq!(p2.wait_exit(sec(10.0)), Some(0), "{:#?}", p2.log());
    let after = s.marks();
    // make-before-break: the primary starts on "leaving" while the backup
    // keeps the VIP until it is announced, then runs its stop_cmd
    let new = &after[before.len()..];
    assert!(new.contains("stop r2\n"), "{before:?} -> {after:?}");
    assert!(s.service_pid("r2").is_none());
    assert!(
        wait_until(sec(6.0), || ask(&t).as_deref() == Some("r1")).is_some(),
        "{:?} {:#?}",
        s.marks(),
        p1.log()
    );
    assert!(t.has_vip(&t.r1) && !t.has_vip(&t.r2));
    assert!(s.marks()[before.len()..].contains("start r1\n"));
    assert!(p1.count("fos process exited -- restarting it") == 0);
}

/// Spec 2.11: before taking over, the backup pings its default gateway. A
/// gateway that does not answer means our own network is broken: no
/// takeover. Once the gateway answers, the takeover happens.
fn own_network_fault_stops_the_takeover() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let s = setup(&t, "0.2", "1");
    let p1 = start(&t, &s, &t.r1, "r1");
    assert!(p1
        .wait_log("gratuitous fos arps finished", sec(10.0))
        .is_some());
    let p2 = start(&t, &s, &t.r2, "r2");
    assert!(
        p2.wait_log("Remote service 203.0.113.100:8081 is available", sec(10.0))
            .is_some(),
        "{:#?}",
        p2.log()
    );
    // a gateway nobody answers for
    must(&[
        "ip",
        "-n",
        &t.r2,
        "route",
        "add",
        "default",
        "via",
        "203.0.113.77",
        "dev",
        "eth1",
    ]);
    let pid = s.service_pid("r1").expect("r1 service pid");
    // SAFETY: kill(2) on the service this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert!(
        p2.wait_log(
            "I SEEM TO HAVE A NETWORK FAULT! (gateway 203.0.113.77: no answer)",
            sec(10.0)
        )
        .is_some(),
        "{:#?}",
        p2.log()
    );
    // heartbeats still arrive on the public channel: the monitor is tried
    // again, and again the gateway does not answer
    assert!(
        p2.wait_log("Network fault seems to be fixed", sec(3.0))
            .is_some(),
        "{:#?}",
        p2.log()
    );
    let quiet = Instant::now();
    while quiet.elapsed() < sec(4.0) {
        assert!(!t.has_vip(&t.r2), "took over despite its own fault");
        std::thread::sleep(sec(0.1));
    }
    assert_eq!(
        p2.count("performing service failover"),
        0,
        "{:#?}",
        p2.log()
    );
    // the client's address answers pings: the fault is the partner's
    must(&[
        "ip",
        "-n",
        &t.r2,
        "route",
        "replace",
        "default",
        "via",
        "203.0.113.3",
        "dev",
        "eth1",
    ]);
    assert!(
        p2.wait_log(
            "gateway 203.0.113.3 answers: seems like a remote network fault; performing service failover",
            sec(12.0)
        )
        .is_some(),
        "{:#?}",
        p2.log()
    );
    assert!(
        wait_until(sec(5.0), || ask(&t).as_deref() == Some("r2")).is_some(),
        "{:#?}",
        p2.log()
    );
}

/// Spec 2.4: an FOS pulse sends Piranha's FOS magics in native byte order
/// (running once active), and drops an LVS router's heartbeats as
/// incompatible.
fn fos_heartbeats_on_the_wire() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let s = setup(&t, "0.2", "1");
    // a fake partner on r2's address
    let peer = udp_in(&t.r2, &format!("{R2}:539"));
    peer.set_read_timeout(Some(sec(2.0))).expect("timeout");
    let p1 = start(&t, &s, &t.r1, "r1");
    let mut buf = [0u8; 128];
    let (n, _) = peer.recv_from(&mut buf).expect("first heartbeat");
    assert_eq!(&buf[..n], &0xdead_beef_u32.to_ne_bytes(), "stopped");
    if cfg!(target_endian = "little") {
        assert_eq!(&buf[..n], &[0xef, 0xbe, 0xad, 0xde]);
    }
    // an LVS partner: refused, and r1 (alone) takes over after deadtime
    let to: SocketAddr = format!("{R1}:539").parse().expect("addr");
    let lvs_running = 0xbdad_dbda_u32.to_ne_bytes();
    peer.send_to(&lvs_running, to).expect("send");
    assert!(
        p1.wait_log(
            "Incompatible heartbeat received -- other system not using identical services",
            sec(3.0)
        )
        .is_some(),
        "{:#?}",
        p1.log()
    );
    let end = Instant::now() + sec(6.0);
    let mut saw_running = false;
    while Instant::now() < end && !saw_running {
        if let Ok((n, _)) = peer.recv_from(&mut buf) {
            saw_running = buf[..n] == 0xbeef_babe_u32.to_ne_bytes();
        }
    }
    assert!(saw_running, "{:#?}", p1.log());
    if cfg!(target_endian = "little") {
        assert_eq!(&buf[..4], &[0xbe, 0xba, 0xef, 0xbe]);
    }
    // "stop me" from the partner: r1 lets go and runs its stop_cmd
    assert!(wait_until(sec(3.0), || ask(&t).as_deref() == Some("r1")).is_some());
    let stop_me = 0xdead_dada_u32.to_ne_bytes();
    peer.send_to(&stop_me, to).expect("send");
    assert!(
        p1.wait_log(
            "partner took over our failed services: deactivating fos",
            sec(3.0)
        )
        .is_some(),
        "{:#?}",
        p1.log()
    );
    assert!(wait_until(sec(5.0), || !t.has_vip(&t.r1)).is_some());
    assert!(wait_until(sec(5.0), || s.marks().ends_with("stop r1\n")).is_some());
    // it announces "stopped" again (until the silent partner's deadtime)
    let end = Instant::now() + sec(1.0);
    let mut stopped = false;
    while Instant::now() < end && !stopped {
        if let Ok((n, _)) = peer.recv_from(&mut buf) {
            stopped = buf[..n] == 0xdead_beef_u32.to_ne_bytes();
        }
    }
    assert!(stopped, "{:#?}", p1.log());
}
