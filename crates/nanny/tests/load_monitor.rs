//! `load_monitor` end to end: the real `nanny --lvsd` binary,
//! stand-in `ssh`, `rup` and `ruptime` programs that pass the exec policy
//! (root-owned directory under /run when run as root), whose output the test
//! changes between load runs; the weights nanny reports must follow
//! Piranha's formula (W = 100, so W/2 = 50 and the W/4 threshold is 25):
//!
//! * L < 1: + 50 * cbrt(1 - L), capped at scale * W;
//! * L > 1: - 50 * cbrt(L - 1), floored at W;
//! * L = 1, or a change under 25: nothing;
//!
//! and a failing, garbled or hanging load command changes nothing: logged,
//! the hanging one killed at `timeout` with its process group, the server
//! kept up and still probed.
//!
//! Load runs happen at Piranha's weight-adjustment points, every 20 s worth
//! of probes. To step quickly the virtuals use timeout 1 and reentry 19
//! (threshold 19): SIGHUP resets the count to the threshold and probes at
//! once, so the next good probe reaches count 20, an adjustment point, and
//! runs the load command once. `natural_cadence` checks the 20 s rhythm
//! without signals.

mod common;

use common::*;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Stand-in remote shell / rup / ruptime: logs its arguments, then behaves
/// as `DIR/<tag>-mode` says, printing the load in `DIR/<tag>-load` in the
/// output format `fmt` (a printf format with one %s).
fn stand_in(name: &str, tag: &str, fmt: &str) -> (String, PathBuf) {
    let dir = script_dir();
    let d = dir.display();
    let path = script(
        name,
        &format!(
            "echo \"$*\" >> \"{d}/{tag}-calls\"
trap 'echo end >> \"{d}/{tag}-done\"' EXIT
case \"$(cat \"{d}/{tag}-mode\")\" in
  hang) sleep 3607 ;;
  fail) echo \"connect to host $1 port 22: Connection refused\"; exit 255 ;;
  garbage) echo \" 10:15:01 up 3 days, load average: n/a\" ;;
  *) printf '{fmt}\\n' \"$(cat \"{d}/{tag}-load\")\" ;;
esac"
        ),
    );
    (path, dir)
}

struct Remote {
    dir: PathBuf,
    tag: String,
}

impl Remote {
    fn new(dir: &Path, tag: &str) -> Remote {
        let r = Remote {
            dir: dir.to_path_buf(),
            tag: tag.into(),
        };
        let _ = std::fs::remove_file(r.file("calls"));
        let _ = std::fs::remove_file(r.file("done"));
        r.mode("normal");
        r
    }
    fn file(&self, what: &str) -> PathBuf {
        self.dir.join(format!("{}-{what}", self.tag))
    }
    fn mode(&self, m: &str) {
        std::fs::write(self.file("mode"), m).unwrap();
    }
    fn load(&self, l: &str) {
        std::fs::write(self.file("load"), l).unwrap();
    }
    /// Load runs that have finished (killed ones never do).
    fn done(&self) -> usize {
        std::fs::read_to_string(self.file("done"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.file("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

fn virt(name: &str, load_monitor: &str, rsh: &str, scale: u32, server: SocketAddr) -> Value {
    json!({"name": name, "port": 7000, "protocol": "tcp", "timeout": 1, "reentry": 19,
           "load_monitor": load_monitor, "rsh_command": rsh, "scale": scale,
           "servers": [{"name": "r1", "address": server.ip().to_string(), "port": server.port(),
                        "weight": 100, "kernel_weight": 100}]})
}

fn weight_of(v: &Value, virt: &str) -> Option<u64> {
    (v["virtual"] == virt && v["server"] == "r1" && v["state"] == "up")
        .then(|| v["weight"].as_u64())
        .flatten()
}

/// SIGHUP, then wait until the load command ran once more and finished,
/// and return the weight reports of `virt` that followed (nanny reads the
/// output when the program exits; 500 ms is ample to report it).
fn step(n: &Nanny, r: &Remote, virt: &str) -> Vec<u64> {
    let (calls, done) = (r.calls().len(), r.done());
    n.signal(SIGHUP);
    let t = Instant::now();
    while r.done() == done {
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "no finished load run within 4 s of SIGHUP; log:\n{}",
            n.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(r.calls().len(), calls + 1, "one load run per step");
    let got = n.collect(Duration::from_millis(500));
    for v in &got {
        assert!(
            v["virtual"] != virt || v["state"] == "up",
            "a load step took the server down: {v}"
        );
    }
    got.iter().filter_map(|v| weight_of(v, virt)).collect()
}

#[test]
fn uptime_through_rsh_command_follows_piranhas_formula() {
    let s = Server::hang();
    let (ssh, dir) = stand_in(
        "ssh",
        "ssh",
        " 10:15:01 up 3 days,  2:01,  1 user,  load average: %s, 0.58, 0.59",
    );
    let r = Remote::new(&dir, "ssh");
    r.load("0.00");
    let programs = allow_programs(
        "ssh-programs",
        &[format!("{ssh} -o BatchMode=yes %h uptime")],
    );
    let mut n = Nanny::lvsd_with_programs(&programs);
    n.send(&json!({"virtuals": [virt("web", "uptime", &format!("{ssh} -o BatchMode=yes"), 3, s.addr)]}));
    // Resumed at the programmed weight, no ramp, no load run yet.
    let v = n.wait_for(Duration::from_secs(3), "up", |v| is(v, "r1", "up"));
    assert_eq!(v["weight"], 100, "{v}");
    assert!(r.calls().is_empty(), "{:?}", r.calls());

    // Idle server: + 50 * cbrt(1) = +50 per run, up to scale * W = 300.
    for want in [150, 200, 250, 300] {
        assert_eq!(step(&n, &r, "web"), vec![want]);
    }
    assert_eq!(step(&n, &r, "web"), Vec::<u64>::new(), "capped at 3 W");
    assert_eq!(
        r.calls()[0],
        format!("-o BatchMode=yes {} uptime", s.addr.ip()),
        "argv of the remote shell"
    );
    // L = 9: - 50 * cbrt(8) = -100 per run, floored at W.
    r.load("9.00");
    assert_eq!(step(&n, &r, "web"), vec![200]);
    assert_eq!(step(&n, &r, "web"), vec![100]);
    assert_eq!(step(&n, &r, "web"), Vec::<u64>::new(), "floored at W");
    // L = 0.8: + 50 * cbrt(0.2) = 29.2 -> 129 (truncated); then
    // L = 0.9: + 23.2 < W/4 -> unchanged; L = 1: unchanged; L = 2: -50 -> 100.
    r.load("0.80");
    assert_eq!(step(&n, &r, "web"), vec![129]);
    r.load("0.90");
    assert_eq!(step(&n, &r, "web"), Vec::<u64>::new(), "|delta| < W/4");
    r.load("1.00");
    assert_eq!(step(&n, &r, "web"), Vec::<u64>::new(), "L = 1");
    r.load("2.00");
    assert_eq!(step(&n, &r, "web"), vec![100]);

    // A failing remote shell, and one whose output has no number: logged,
    // weight and state unchanged.
    r.load("0.00");
    assert_eq!(step(&n, &r, "web"), vec![150]);
    r.mode("fail");
    assert_eq!(step(&n, &r, "web"), Vec::<u64>::new());
    r.mode("garbage");
    assert_eq!(step(&n, &r, "web"), Vec::<u64>::new());
    let log = n.stderr_text();
    assert!(log.contains("failed to read remote load"), "{log}");
    assert!(log.contains("bad load average returned: n/a"), "{log}");

    // A hanging remote shell is killed with its group at the timeout (1 s)
    // and changes nothing; probing goes on.
    r.mode("hang");
    let before = r.calls().len();
    n.signal(SIGHUP);
    let t = Instant::now();
    while r.calls().len() == before {
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "no load run after SIGHUP"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        processes_with("sleep 3607").is_empty(),
        "the hanging load command survived its timeout"
    );
    let log = n.stderr_text();
    assert!(
        log.contains(&format!(
            "timeout running the following: {ssh} -o BatchMode=yes {} uptime",
            s.addr.ip()
        )),
        "{log}"
    );
    assert!(n.collect(Duration::from_millis(100)).is_empty());
    // Back to normal: the next run applies again; a dead server is still
    // detected within one probe cycle.
    r.mode("normal");
    assert_eq!(step(&n, &r, "web"), vec![200]);
    let addr = s.addr;
    s.stop();
    let t = Instant::now();
    let v = n.wait_for(Duration::from_secs(3), "down", |v| is(v, "r1", "down"));
    assert_eq!(v["weight"], 0);
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?} for {addr}",
        t.elapsed()
    );
}

#[test]
fn rup_and_ruptime_from_path() {
    let s = Server::hang();
    // Linux netkit rup and BSD-style ruptime output ("load" without a
    // colon, which Piranha could not read).
    let (_, dir) = stand_in(
        "rup",
        "rup",
        "10.0.1.11         up  2 days, 23:12,  load average: %s, 0.01, 0.05",
    );
    stand_in(
        "ruptime",
        "ruptime",
        "web1          up  3+02:01,     1 user,   load %s, 0.58, 0.59",
    );
    let rup = Remote::new(&dir, "rup");
    let ruptime = Remote::new(&dir, "ruptime");
    rup.load("0.00");
    ruptime.load("9.00");
    // Bare names are found on the daemons' search path ($LVS_PROGRAM_PATH
    // here, /usr/sbin:/usr/bin:/sbin:/bin by default), and the list names what they
    // resolve to.
    let path = format!("{}:/usr/bin:/bin", dir.display());
    let programs = allow_programs(
        "rup-programs",
        &[
            format!("{}/rup %h", dir.display()),
            format!("{}/ruptime %h", dir.display()),
        ],
    );
    let mut n = Nanny::spawn_env(
        &["--lvsd", "-v"],
        &[
            ("LVS_PROGRAM_PATH", path),
            ("LVS_PROGRAMS_FILE", programs.display().to_string()),
        ],
    );
    let a = virt("a", "rup", "rsh", 10, s.addr);
    let mut b = virt("b", "ruptime", "rsh", 10, s.addr);
    // b starts above W so that a high load has room to lower it.
    b["servers"][0]["kernel_weight"] = json!(400);
    n.send(&json!({"virtuals": [a, b]}));
    let mut first = Vec::new();
    while first.len() < 2 {
        let v = n.wait_for(Duration::from_secs(3), "up", |v| v["state"] == "up");
        first.push(v);
    }
    // One SIGHUP steps both virtuals (one shared probe, two load runs).
    let before = (rup.done(), ruptime.done());
    n.signal(SIGHUP);
    let t = Instant::now();
    while rup.done() == before.0 || ruptime.done() == before.1 {
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "no load runs; log:\n{}",
            n.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let got = n.collect(Duration::from_millis(500));
    let wa: Vec<u64> = got.iter().filter_map(|v| weight_of(v, "a")).collect();
    let wb: Vec<u64> = got.iter().filter_map(|v| weight_of(v, "b")).collect();
    assert_eq!(wa, vec![150], "rup, load 0: {got:?}");
    assert_eq!(wb, vec![300], "ruptime, load 9: {got:?}");
    assert_eq!(rup.calls(), vec![s.addr.ip().to_string()]);
    assert_eq!(ruptime.calls(), vec![s.addr.ip().to_string()]);
    let log = n.stderr_text();
    assert!(
        log.contains(&format!("Loadavg of {} is 9", s.addr.ip())),
        "{log}"
    );
}

#[test]
fn natural_cadence() {
    // No signals: with timeout 1 the load command runs every 20 good probes
    // (Piranha's adjustment points), i.e. about every 20 s.
    let s = Server::hang();
    let (ssh, dir) = stand_in("ssh-cadence", "cadence", "load average: %s, 0.58, 0.59");
    let r = Remote::new(&dir, "cadence");
    r.load("0.00");
    let programs = allow_programs("cadence-programs", &[format!("{ssh} %h uptime")]);
    let mut n = Nanny::lvsd_with_programs(&programs);
    let mut v = virt("web", "uptime", &ssh, 10, s.addr);
    v["reentry"] = json!(1);
    n.send(&json!({"virtuals": [v]}));
    n.wait_for(Duration::from_secs(3), "up", |v| is(v, "r1", "up"));
    let t = Instant::now();
    n.wait_for(Duration::from_secs(30), "load-based weight", |v| {
        weight_of(v, "web") == Some(150)
    });
    let took = t.elapsed();
    assert!(
        took > Duration::from_secs(15) && took < Duration::from_secs(25),
        "first load run {took:?} after up"
    );
    assert_eq!(r.calls().len(), 1, "{:?}", r.calls());
}
