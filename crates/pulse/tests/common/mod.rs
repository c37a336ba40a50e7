//! Test topology for pulse: network namespaces made by the test.
//!
//! ```text
//!   hb bridge (192.0.2.0/24): heartbeats      svc bridge (203.0.113.0/24): VIP + client
//!   r1 eth0 192.0.2.1  r2 eth0 192.0.2.2      r1 eth1 .1  r2 eth1 .2  client eth0 .3
//!                                             VIP 203.0.113.100/24 on eth1:1
//! ```
//! Both bridges live in a hub namespace; deleting the namespaces removes
//! everything. Pulses run under `ip netns exec` with `-n`, their stdout
//! collected with timestamps. Every namespace is deleted on drop, even on
//! panic. Topologies are serialized (a 2-core box and sub-second timers).

#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const VIP: &str = "203.0.113.100";
pub const R1: &str = "192.0.2.1";
pub const R2: &str = "192.0.2.2";

static SERIAL: Mutex<()> = Mutex::new(());
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Scheduling slack added to the timing bounds of integration tests (the
/// exact bounds are proven by the unit simulations; a loaded 2-core CI box
/// adds latency). `PULSE_TEST_SLACK=SECS` overrides the default 0.5 s.
pub fn slack() -> f64 {
    std::env::var("PULSE_TEST_SLACK")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.5)
}

pub fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Returns false (and prints why) when the test cannot run here.
pub fn can_run() -> bool {
    if !is_root() {
        test_support::skip(module_path!(), "needs root for network namespaces");
        return false;
    }
    if Command::new("ip").arg("-V").output().is_err() {
        test_support::skip(module_path!(), "iproute2 `ip` not found");
        return false;
    }
    true
}

pub fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub fn must(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn out(args: &[&str]) -> String {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("spawn");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub struct Topo {
    pub id: String,
    pub hub: String,
    pub r1: String,
    pub r2: String,
    pub client: String,
    pub dir: PathBuf,
    _guard: MutexGuard<'static, ()>,
    stop: Arc<AtomicBool>,
}

impl Topo {
    pub fn new() -> Topo {
        let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = format!("pt{}x{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("pulse-test-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let t = Topo {
            hub: format!("{id}-hub"),
            r1: format!("{id}-r1"),
            r2: format!("{id}-r2"),
            client: format!("{id}-c"),
            id,
            dir,
            _guard: guard,
            stop: Arc::new(AtomicBool::new(false)),
        };
        for ns in [&t.hub, &t.r1, &t.r2, &t.client] {
            must(&["ip", "netns", "add", ns]);
            must(&["ip", "-n", ns, "link", "set", "dev", "lo", "up"]);
        }
        must(&[
            "ip", "-n", &t.hub, "link", "add", "name", "hb", "type", "bridge",
        ]);
        must(&[
            "ip", "-n", &t.hub, "link", "add", "name", "svc", "type", "bridge",
        ]);
        // bridges forward at once (no STP delay)
        must(&[
            "ip",
            "-n",
            &t.hub,
            "link",
            "set",
            "dev",
            "hb",
            "type",
            "bridge",
            "forward_delay",
            "0",
        ]);
        must(&["ip", "-n", &t.hub, "link", "set", "dev", "hb", "up"]);
        must(&["ip", "-n", &t.hub, "link", "set", "dev", "svc", "up"]);
        let plug = |ns: &str, hubname: &str, nsdev: &str, bridge: &str, addr: &str| {
            must(&[
                "ip", "-n", &t.hub, "link", "add", "name", hubname, "type", "veth", "peer", "name",
                nsdev, "netns", ns,
            ]);
            must(&[
                "ip", "-n", &t.hub, "link", "set", "dev", hubname, "master", bridge,
            ]);
            must(&["ip", "-n", &t.hub, "link", "set", "dev", hubname, "up"]);
            must(&["ip", "-n", ns, "addr", "add", addr, "dev", nsdev]);
            must(&["ip", "-n", ns, "link", "set", "dev", nsdev, "up"]);
        };
        plug(&t.r1, "r1hb", "eth0", "hb", "192.0.2.1/24");
        plug(&t.r2, "r2hb", "eth0", "hb", "192.0.2.2/24");
        plug(&t.r1, "r1svc", "eth1", "svc", "203.0.113.1/24");
        plug(&t.r2, "r2svc", "eth1", "svc", "203.0.113.2/24");
        plug(&t.client, "csvc", "eth0", "svc", "203.0.113.3/24");
        // responders on both routers: answer with the router's name
        t.responder(&t.r1.clone(), "r1");
        t.responder(&t.r2.clone(), "r2");
        t
    }

    /// A direct private heartbeat link r1 eth2 198.51.100.1 <-> r2 eth2 198.51.100.2.
    pub fn add_private(&self) {
        must(&[
            "ip", "-n", &self.r1, "link", "add", "name", "eth2", "type", "veth", "peer", "name",
            "eth2", "netns", &self.r2,
        ]);
        must(&[
            "ip",
            "-n",
            &self.r1,
            "addr",
            "add",
            "198.51.100.1/24",
            "dev",
            "eth2",
        ]);
        must(&[
            "ip",
            "-n",
            &self.r2,
            "addr",
            "add",
            "198.51.100.2/24",
            "dev",
            "eth2",
        ]);
        must(&["ip", "-n", &self.r1, "link", "set", "dev", "eth2", "up"]);
        must(&["ip", "-n", &self.r2, "link", "set", "dev", "eth2", "up"]);
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A TCP responder on 0.0.0.0:8080 in `ns`, answering `name`.
    fn responder(&self, ns: &str, name: &'static str) {
        let l = in_ns(ns, || {
            TcpListener::bind("0.0.0.0:8080").expect("bind responder")
        });
        l.set_nonblocking(true).expect("nonblocking");
        let stop = self.stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.write_all(format!("{name}\n").as_bytes());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
    }

    /// Who answers on VIP:8080 from the client namespace (None: nobody).
    pub fn ask(&self) -> Option<String> {
        self.ask_within(Duration::from_millis(150))
    }

    /// Like [`Topo::ask`] with a given connect timeout.
    pub fn ask_within(&self, timeout: Duration) -> Option<String> {
        let addr: SocketAddr = format!("{VIP}:8080").parse().ok()?;
        in_ns(&self.client, || {
            let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
            s.set_read_timeout(Some(Duration::from_millis(300))).ok()?;
            let mut txt = String::new();
            s.read_to_string(&mut txt).ok()?;
            Some(txt.trim().to_string())
        })
    }

    pub fn has_vip(&self, ns: &str) -> bool {
        out(&["ip", "-n", ns, "-o", "addr", "show", "dev", "eth1"]).contains(&format!("{VIP}/"))
    }

    pub fn vip_line(&self, ns: &str) -> String {
        out(&["ip", "-n", ns, "-o", "addr", "show", "dev", "eth1"])
            .lines()
            .find(|l| l.contains(VIP))
            .unwrap_or("")
            .to_string()
    }

    pub fn mac(&self, ns: &str, dev: &str) -> String {
        let o = out(&["ip", "-n", ns, "-o", "link", "show", "dev", dev]);
        o.split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .unwrap_or("")
            .to_string()
    }

    /// The client's neighbour entry for the VIP (MAC or "").
    pub fn client_neigh(&self) -> String {
        let o = out(&["ip", "-n", &self.client, "neigh", "show", VIP]);
        o.split_whitespace()
            .skip_while(|w| *w != "lladdr")
            .nth(1)
            .unwrap_or("")
            .to_string()
    }

    /// Writes lvs.cf; `extra` lines go in the global section.
    pub fn config(&self, name: &str, keepalive: &str, deadtime: &str, extra: &str) -> PathBuf {
        let text = format!(
            "serial_no = 1\nprimary = {R1}\nbackup = {R2}\nbackup_active = 1\nheartbeat = 1\nheartbeat_port = 539\n\
             keepalive = {keepalive}\ndeadtime = {deadtime}\nnetwork = direct\n{extra}\
             virtual web {{\n     active = 1\n     address = {VIP} eth1:1\n     vip_nmask = 255.255.255.0\n     port = 8080\n\
             \x20    server s1 {{\n         address = 203.0.113.50\n         active = 1\n     }}\n}}\n"
        );
        let p = self.path(name);
        std::fs::write(&p, text).expect("write config");
        p
    }

    /// A stand-in lvsd script: reports ready (unless `ready` is false),
    /// then sleeps or exits with `exit_after`.
    pub fn standin(&self, name: &str, ready: bool, exit_after: Option<(u32, i32)>) -> PathBuf {
        let tail = match exit_after {
            Some((secs, code)) => format!("sleep {secs}\nexit {code}\n"),
            None => "while :; do sleep 0.2; done\n".to_string(),
        };
        let report = if ready {
            "[ -n \"$fd\" ] && eval \"echo ready >&$fd\" && eval \"exec $fd>&-\"\n"
        } else {
            ""
        };
        let text = format!(
            "#!/bin/sh\nfd=\"\"\nwhile [ $# -gt 0 ]; do case \"$1\" in --ready-fd) fd=\"$2\"; shift;; esac; shift; done\n\
             echo \"lvsd-standin $$ started\"\n{report}trap 'echo lvsd-standin got HUP' HUP\n{tail}"
        );
        let p = self.path(name);
        std::fs::write(&p, text).expect("write standin");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }

    /// A pulse whose exec-policy allowlist is a file of this test that does
    /// not exist (so it runs no program and never reads the host's list).
    pub fn pulse(&self, ns: &str, name: &str, config: &Path, lvsd: &Path, extra: &[&str]) -> Pulse {
        let none = self.path("no-lvs-programs");
        self.pulse_with_programs(ns, name, config, lvsd, extra, &none)
    }

    /// A pulse that reads the exec-policy allowlist `programs`.
    pub fn pulse_with_programs(
        &self,
        ns: &str,
        name: &str,
        config: &Path,
        lvsd: &Path,
        extra: &[&str],
        programs: &Path,
    ) -> Pulse {
        Pulse::start(self, ns, name, config, lvsd, extra, programs, &[])
    }

    /// [`Topo::pulse_with_programs`] with environment variables (inherited
    /// by everything pulse starts).
    #[allow(clippy::too_many_arguments)]
    pub fn pulse_with_env(
        &self,
        ns: &str,
        name: &str,
        config: &Path,
        lvsd: &Path,
        extra: &[&str],
        programs: &Path,
        env: &[(&str, &str)],
    ) -> Pulse {
        Pulse::start(self, ns, name, config, lvsd, extra, programs, env)
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for ns in [&self.r1, &self.r2, &self.client, &self.hub] {
            // kill whatever still runs in the namespace
            let pids = out(&["ip", "netns", "pids", ns]);
            for p in pids.split_whitespace() {
                if let Ok(pid) = p.parse::<i32>() {
                    // SAFETY: kill(2).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
            sh(&["ip", "netns", "del", ns]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `f` on a thread inside namespace `ns`.
pub fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::scope(|s| {
        s.spawn(|| {
            let file = File::open(&path).expect("open netns");
            // SAFETY: setns affects only this thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns");
            f()
        })
        .join()
        .expect("ns thread")
    })
}

pub struct Pulse {
    pub child: Child,
    pub name: String,
    pub lines: Arc<Mutex<Vec<(Instant, String)>>>,
    pub sock: PathBuf,
    pub pidfile: PathBuf,
}

impl Pulse {
    #[allow(clippy::too_many_arguments)]
    fn start(
        t: &Topo,
        ns: &str,
        name: &str,
        config: &Path,
        lvsd: &Path,
        extra: &[&str],
        programs: &Path,
        env: &[(&str, &str)],
    ) -> Pulse {
        let sock = t.path(&format!("{name}.sock"));
        let pidfile = t.path(&format!("{name}.pid"));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_pulse"), "-n", "-c"]);
        cmd.arg(config);
        cmd.arg(format!("--lvsd={}", lvsd.display()));
        cmd.arg(format!("--pidfile={}", pidfile.display()));
        cmd.arg(format!("--status-socket={}", sock.display()));
        cmd.arg(format!(
            "--state-dir={}",
            t.path(&format!("{name}-state")).display()
        ));
        cmd.args(extra);
        cmd.env("LVS_PROGRAMS_FILE", programs);
        cmd.envs(env.iter().copied());
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn pulse");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            let tag = name.to_string();
            std::thread::spawn(move || {
                for l in BufReader::new(stream).lines().map_while(Result::ok) {
                    if std::env::var_os("PULSE_TEST_ECHO").is_some() {
                        eprintln!("[{tag}] {l}");
                    }
                    if let Ok(mut v) = lines.lock() {
                        v.push((Instant::now(), l));
                    }
                }
            });
        }
        Pulse {
            child,
            name: name.to_string(),
            lines,
            sock,
            pidfile,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn log(&self) -> Vec<String> {
        self.lines
            .lock()
            .map(|v| v.iter().map(|x| x.1.clone()).collect())
            .unwrap_or_default()
    }

    pub fn count(&self, needle: &str) -> usize {
        self.log().iter().filter(|l| l.contains(needle)).count()
    }

    /// When a line containing `needle` appeared (waits up to `timeout`).
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> Option<Instant> {
        let end = Instant::now() + timeout;
        loop {
            if let Ok(v) = self.lines.lock() {
                if let Some(x) = v.iter().find(|x| x.1.contains(needle)) {
                    return Some(x.0);
                }
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our child.
        unsafe { libc::kill(self.pid(), sig) };
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let end = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                use std::os::unix::process::ExitStatusExt;
                return Some(st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)));
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The status JSON (None if the socket does not answer).
    pub fn status(&self) -> Option<serde_json::Value> {
        status_of(&self.sock)
    }

    /// Sends a request line; returns the answer.
    pub fn request(&self, req: &str) -> Option<serde_json::Value> {
        request_to(&self.sock, req, Duration::from_secs(5))
    }

    pub fn state(&self) -> Option<String> {
        self.status()
            .and_then(|v| v["state"].as_str().map(str::to_string))
    }

    pub fn wait_state(&self, want: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.state().as_deref() == Some(want) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` every 10 ms until it is true; returns when, or None.
pub fn wait_until(timeout: Duration, f: impl FnMut() -> bool) -> Option<Instant> {
    wait_until_every(timeout, Duration::from_millis(10), f)
}

/// [`wait_until`] with a given polling period.
pub fn wait_until_every(
    timeout: Duration,
    period: Duration,
    mut f: impl FnMut() -> bool,
) -> Option<Instant> {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return Some(Instant::now());
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(period);
    }
}

/// A UDP socket in `ns` bound to `addr` (for fake peers and attackers).
/// The dual-active gate: after a heal or a
/// restart, the VIP is never on both routers, sampled every 100 ms for
/// 10 s. Returns the number of samples.
pub fn assert_never_dual_active(t: &Topo, what: &str) -> usize {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(10) {
        assert!(
            !(t.has_vip(&t.r1) && t.has_vip(&t.r2)),
            "VIP on both routers {:?} {what}",
            start.elapsed()
        );
        n += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    n
}

/// One request line to a status socket, one answer line back (the
/// exchange of the `lvs-status` crate).
pub fn request_to(sock: &Path, req: &str, timeout: Duration) -> Option<serde_json::Value> {
    let mut s = std::os::unix::net::UnixStream::connect(sock).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.write_all(format!("{req}\n").as_bytes()).ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    serde_json::from_str(&line).ok()
}

/// pulse's status document.
pub fn status_of(sock: &Path) -> Option<serde_json::Value> {
    request_to(sock, r#"{"cmd":"status"}"#, Duration::from_secs(2))
}

pub fn udp_in(ns: &str, addr: &str) -> std::net::UdpSocket {
    let a: SocketAddr = addr.parse().expect("addr");
    in_ns(ns, || std::net::UdpSocket::bind(a).expect("bind udp"))
}

pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    if v.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (v.len() as f64 - 1.0)).round() as usize;
    v[idx.min(v.len() - 1)]
}
