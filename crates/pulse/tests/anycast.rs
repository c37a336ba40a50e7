//! Anycast mode (lvs.cf `router_mode = anycast`, docs/ANYCAST.md) against a
//! real BIRD 2, in network namespaces (root only; fails instead of skipping
//! when CI is set).
//!
//! ```text
//!   upstream ns: br0 192.0.2.1/24, BIRD 2 with packaging/anycast/bird-upstream.conf
//!        |                      |
//!   d1 eth0 192.0.2.11     d2 eth0 192.0.2.12
//!   BIRD 2 (bird-director.conf), pulse in anycast mode, a stand-in lvsd
//!   whose status (served by this test) says what the test wants
//! ```
//!
//! The upstream's kernel table must hold an ECMP route to the VIP via both
//! directors, and lose d2's next hop when d2's lvsd reports the virtual
//! below quorum, when d2's pulse is stopped (SIGTERM), when it is killed
//! (SIGKILL: the kernel deletes pulse's TUN interface with the VIP, BIRD
//! withdraws), and when d2's link goes dead (BFD).

mod common;
use common::*;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const VIP: &str = "198.51.100.80";
const D1: &str = "192.0.2.11";
const D2: &str = "192.0.2.12";

fn sec(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

fn packaging(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging/anycast")
        .join(name)
}

/// The namespaces and processes of one run; everything goes on drop.
struct Lab {
    id: String,
    dir: PathBuf,
    stop: Arc<AtomicBool>,
    children: Vec<Child>,
}

impl Lab {
    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.id)
    }

    fn new() -> Lab {
        let id = format!("ac{}", std::process::id());
        let dir = std::env::temp_dir().join(format!("pulse-anycast-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let lab = Lab {
            id,
            dir,
            stop: Arc::new(AtomicBool::new(false)),
            children: Vec::new(),
        };
        let up = lab.ns("up");
        for n in ["up", "d1", "d2"] {
            must(&["ip", "netns", "add", &lab.ns(n)]);
            must(&["ip", "-n", &lab.ns(n), "link", "set", "dev", "lo", "up"]);
        }
        must(&["ip", "-n", &up, "link", "add", "br0", "type", "bridge"]);
        must(&[
            "ip",
            "-n",
            &up,
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "forward_delay",
            "0",
        ]);
        must(&["ip", "-n", &up, "addr", "add", "192.0.2.1/24", "dev", "br0"]);
        must(&["ip", "-n", &up, "link", "set", "br0", "up"]);
        must(&[
            "ip",
            "netns",
            "exec",
            &up,
            "sysctl",
            "-qw",
            "net.ipv4.fib_multipath_hash_policy=1",
        ]);
        for (n, addr) in [("d1", D1), ("d2", D2)] {
            let ns = lab.ns(n);
            must(&[
                "ip", "-n", &up, "link", "add", n, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ]);
            must(&["ip", "-n", &up, "link", "set", n, "master", "br0"]);
            must(&["ip", "-n", &up, "link", "set", n, "up"]);
            must(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ]);
            must(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
        }
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Starts BIRD 2 in namespace `n` with a shipped configuration.
    fn bird(&mut self, n: &str, conf: &str) {
        let log = std::fs::File::create(self.path(&format!("bird-{n}.log"))).expect("log");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns(n), "bird", "-f", "-c"])
            .arg(packaging(conf))
            .arg("-s")
            .arg(self.path(&format!("bird-{n}.ctl")))
            .arg("-P")
            .arg(self.path(&format!("bird-{n}.pid")))
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn bird");
        self.children.push(child);
    }

    fn bird_log(&self, n: &str) -> String {
        std::fs::read_to_string(self.path(&format!("bird-{n}.log"))).unwrap_or_default()
    }

    /// The next hops of the upstream's kernel route to the VIP.
    fn next_hops(&self) -> BTreeSet<String> {
        let text = out(&["ip", "-n", &self.ns("up"), "-4", "route", "show", VIP]);
        let words: Vec<&str> = text.split_whitespace().collect();
        words
            .windows(2)
            .filter(|w| w[0] == "via")
            .map(|w| w[1].to_string())
            .collect()
    }

    fn route_text(&self) -> String {
        out(&["ip", "-n", &self.ns("up"), "route", "show", VIP])
    }

    /// Waits until the upstream's next hops are `want`; returns when.
    fn wait_hops(&self, want: &[&str], timeout: Duration) -> Option<Instant> {
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        wait_until_every(timeout, Duration::from_millis(5), || {
            self.next_hops() == want
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in ["d1", "d2", "up"] {
            let ns = self.ns(n);
            for p in out(&["ip", "netns", "pids", &ns]).split_whitespace() {
                if let Ok(pid) = p.parse::<i32>() {
                    // SAFETY: kill(2) on a process of our namespace.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
            sh(&["ip", "netns", "del", &ns]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// lvsd's status document for `web` with real servers up of these weights.
fn status(weights: &[i32]) -> String {
    let servers: Vec<serde_json::Value> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            serde_json::json!({
                "server": format!("r{}", i + 1), "address": format!("10.0.1.{}", i + 1),
                "port": 80, "state": if *w > 0 { "up" } else { "down" }, "weight": w,
                "in_kernel": *w > 0, "reason": null, "since_ms": 1000, "report_age_ms": 1000,
                "active_conns": 0, "inactive_conns": 0, "stats": stats(), "draining": false
            })
        })
        .collect();
    serde_json::json!({"services": [{
        "virtual": "web", "protocol": "tcp", "address": VIP, "port": 80, "fwmark": null,
        "scheduler": "mh", "persistent": 0, "in_kernel": true, "stats": stats(),
        "servers": servers
    }]})
    .to_string()
}

fn stats() -> serde_json::Value {
    serde_json::json!({"conns":0,"inpkts":0,"outpkts":0,"inbytes":0,"outbytes":0,
        "cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0})
}

/// Serves `doc` on `sock` as lvsd's status socket would, until `stop`.
fn serve_status(sock: &Path, doc: Arc<Mutex<String>>, stop: Arc<AtomicBool>) {
    let _ = std::fs::remove_file(sock);
    let listener = UnixListener::bind(sock).expect("bind lvsd status socket");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                    let mut line = String::new();
                    let mut r = BufReader::new(&s);
                    if r.read_line(&mut line).is_ok() {
                        let text = doc.lock().map(|d| d.clone()).unwrap_or_default();
                        let _ = (&s).write_all(format!("{text}\n").as_bytes());
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
}

struct Director {
    name: &'static str,
    doc: Arc<Mutex<String>>,
    pulse: Option<Child>,
}

impl Director {
    fn log(&self, lab: &Lab) -> String {
        std::fs::read_to_string(lab.path(&format!("pulse-{}.log", self.name))).unwrap_or_default()
    }
}

fn start_pulse(lab: &Lab, d: &mut Director) {
    let dir = lab.path(d.name);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(lab.path(&format!("pulse-{}.log", d.name)))
        .expect("log");
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ns(d.name),
            env!("CARGO_BIN_EXE_pulse"),
            "-n",
            "-c",
        ])
        .arg(lab.path("lvs.cf"))
        .arg(format!("--lvsd={}", lab.path("lvsd").display()))
        .arg(format!("--pidfile={}", dir.join("pulse.pid").display()))
        .arg(format!(
            "--status-socket={}",
            dir.join("pulse.sock").display()
        ))
        .arg(format!("--state-dir={}", dir.join("state").display()))
        .env("LVS_PROGRAMS_FILE", lab.path("no-lvs-programs"))
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn pulse");
    d.pulse = Some(child);
}

fn signal_pulse(d: &mut Director, sig: i32) -> Option<i32> {
    let child = d.pulse.as_mut()?;
    // SAFETY: kill(2) on our child (ip netns exec execs pulse).
    unsafe { libc::kill(child.id() as i32, sig) };
    let end = Instant::now() + sec(15.0);
    while Instant::now() < end {
        if let Ok(Some(st)) = child.try_wait() {
            use std::os::unix::process::ExitStatusExt;
            d.pulse = None;
            return Some(st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

fn has_interface(lab: &Lab, n: &str) -> bool {
    sh(&["ip", "-n", &lab.ns(n), "link", "show", "dev", "lvs-anycast"])
}

#[test]
fn upstream_ecmp_follows_each_directors_pulse() {
    if !can_run() {
        return;
    }
    if Command::new("bird").arg("--version").output().is_err() {
        test_support::skip(module_path!(), "BIRD 2 (Debian package bird2) not found");
        return;
    }
    let mut lab = Lab::new();
    std::fs::write(
        lab.path("lvs.cf"),
        format!(
            "router_mode = anycast\nnetwork = direct\nvirtual web {{\n     active = 1\n     address = {VIP} eth0\n\
             \x20    scheduler = mh\n     quorum = 2\n     server r1 {{\n         address = 10.0.1.1\n         active = 1\n     }}\n\
             \x20    server r2 {{\n         address = 10.0.1.2\n         active = 1\n     }}\n}}\n"
        ),
    )
    .expect("lvs.cf");
    let standin = lab.path("lvsd");
    std::fs::write(
        &standin,
        "#!/bin/sh\nfd=\"\"\nwhile [ $# -gt 0 ]; do case \"$1\" in --ready-fd) fd=\"$2\"; shift;; esac; shift; done\n\
         [ -n \"$fd\" ] && eval \"echo ready >&$fd\" && eval \"exec $fd>&-\"\nwhile :; do sleep 0.2; done\n",
    )
    .expect("standin");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&standin, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    lab.bird("up", "bird-upstream.conf");
    lab.bird("d1", "bird-director.conf");
    lab.bird("d2", "bird-director.conf");
    let mut ds = Vec::new();
    for name in ["d1", "d2"] {
        std::fs::create_dir_all(lab.path(name)).expect("dir");
        let doc = Arc::new(Mutex::new(status(&[1, 1])));
        serve_status(
            &lab.path(name).join("lvsd.sock"),
            doc.clone(),
            lab.stop.clone(),
        );
        let mut d = Director {
            name,
            doc,
            pulse: None,
        };
        start_pulse(&lab, &mut d);
        ds.push(d);
    }
    let diag = |lab: &Lab, ds: &[Director]| {
        format!(
            "route: {:?}\nup bird: {}\nd2 bird: {}\nd1 pulse: {}\nd2 pulse: {}",
            lab.route_text(),
            lab.bird_log("up"),
            lab.bird_log("d2"),
            ds[0].log(lab),
            ds[1].log(lab)
        )
    };
    let both = [D1, D2];
    assert!(
        lab.wait_hops(&both, sec(40.0)).is_some(),
        "no ECMP route via both directors\n{}",
        diag(&lab, &ds)
    );
    assert!(has_interface(&lab, "d2"));

    // 1. d2's lvsd reports the virtual below quorum (live weight 1 of 2).
    let t = Instant::now();
    *ds[1].doc.lock().expect("doc") = status(&[1, 0]);
    let at = lab.wait_hops(&[D1], sec(3.0) + sec(slack()));
    assert!(
        at.is_some(),
        "below quorum: d2 not withdrawn\n{}",
        diag(&lab, &ds)
    );
    let ms = at.map_or(0.0, |a| a.duration_since(t).as_secs_f64() * 1000.0);
    println!("FIGURE anycast withdrawal, lvsd below quorum (200 ms status poll): {ms:.0} ms");
    assert!(ds[1]
        .log(&lab)
        .contains(&format!("withdrawing {VIP}: web: live weight 1, needs 2")));
    *ds[1].doc.lock().expect("doc") = status(&[1, 1]);
    assert!(
        lab.wait_hops(&both, sec(10.0)).is_some(),
        "quorum back: d2 not announced again\n{}",
        diag(&lab, &ds)
    );

    // 2. SIGTERM: pulse withdraws, stops lvsd, exits 0.
    let t = Instant::now();
    let code = signal_pulse(&mut ds[1], libc::SIGTERM);
    let at = lab.wait_hops(&[D1], sec(3.0) + sec(slack()));
    assert_eq!(code, Some(0), "{}", ds[1].log(&lab));
    assert!(
        at.is_some(),
        "SIGTERM: d2 not withdrawn\n{}",
        diag(&lab, &ds)
    );
    let ms = at.map_or(0.0, |a| a.duration_since(t).as_secs_f64() * 1000.0);
    println!("FIGURE anycast withdrawal, pulse SIGTERM: {ms:.0} ms");
    assert!(ds[1]
        .log(&lab)
        .contains(&format!("withdrawing {VIP}: pulse is stopping")));
    assert!(!has_interface(&lab, "d2"), "interface left after SIGTERM");
    start_pulse(&lab, &mut ds[1]);
    assert!(
        lab.wait_hops(&both, sec(10.0)).is_some(),
        "restarted pulse: d2 not announced again\n{}",
        diag(&lab, &ds)
    );

    // 3. SIGKILL: pulse does nothing; the kernel deletes its TUN interface
    // with the VIP, and BIRD withdraws the route.
    let t = Instant::now();
    let code = signal_pulse(&mut ds[1], libc::SIGKILL);
    assert_eq!(code, Some(128 + libc::SIGKILL));
    let at = lab.wait_hops(&[D1], sec(3.0) + sec(slack()));
    assert!(
        at.is_some(),
        "SIGKILL: d2 not withdrawn\n{}",
        diag(&lab, &ds)
    );
    let ms = at.map_or(0.0, |a| a.duration_since(t).as_secs_f64() * 1000.0);
    println!(
        "FIGURE anycast withdrawal, pulse SIGKILL (kernel removes its TUN interface): {ms:.0} ms"
    );
    assert!(!has_interface(&lab, "d2"), "interface left after SIGKILL");
    start_pulse(&lab, &mut ds[1]);
    assert!(
        lab.wait_hops(&both, sec(10.0)).is_some(),
        "restarted pulse after SIGKILL: d2 not announced again\n{}",
        diag(&lab, &ds)
    );

    // 4. d2's link dies with everything on it running: only BFD notices
    // (the upstream's br0 stays up).
    let t = Instant::now();
    must(&["ip", "-n", &lab.ns("d2"), "link", "set", "eth0", "down"]);
    let at = lab.wait_hops(&[D1], sec(3.0) + sec(slack()));
    assert!(
        at.is_some(),
        "link down: d2 not dropped\n{}",
        diag(&lab, &ds)
    );
    let ms = at.map_or(0.0, |a| a.duration_since(t).as_secs_f64() * 1000.0);
    println!(
        "FIGURE anycast director link dead, dropped by the upstream's BFD (3 x 100 ms): {ms:.0} ms"
    );
    assert!(
        ms < 1000.0 + slack() * 1000.0,
        "BFD took {ms:.0} ms\n{}",
        diag(&lab, &ds)
    );
    must(&["ip", "-n", &lab.ns("d2"), "link", "set", "eth0", "up"]);
    assert!(
        lab.wait_hops(&both, sec(30.0)).is_some(),
        "link back: d2 not in ECMP again\n{}",
        diag(&lab, &ds)
    );
    // d1 kept its announcement all along.
    assert!(
        !ds[0].log(&lab).contains("withdrawing"),
        "{}",
        ds[0].log(&lab)
    );
}
