//! Helpers shared by the integration tests: real listeners on loopback,
//! test scripts, and a driver for `nanny --lvsd`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh loopback address 127.77.X.Y for this test process.
pub fn addr() -> Ipv4Addr {
    let n = NEXT.fetch_add(1, Ordering::Relaxed) + (std::process::id() % 200) * 256;
    Ipv4Addr::new(127, 77, ((n >> 8) % 250) as u8 + 1, (n % 250) as u8 + 1)
}

/// An address and port where nothing listens (connect is refused).
pub fn refused() -> SocketAddr {
    let l = TcpListener::bind((addr(), 0)).unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a
}

/// A TCP server running `handler` for each connection in a thread, until
/// stopped (dropping it closes the listening socket: later connects are refused).
pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    pub accepts: Arc<AtomicU32>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    pub fn start<F>(handler: F) -> Server
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        Server::start_on(TcpListener::bind((addr(), 0)).unwrap(), handler)
    }

    /// A hanging server on a given address (to bring a server back).
    pub fn start_at(a: SocketAddr) -> Server {
        Server::start_on(TcpListener::bind(a).unwrap(), |c| {
            thread::sleep(Duration::from_secs(30));
            drop(c);
        })
    }

    pub fn start_on<F>(l: TcpListener, handler: F) -> Server
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        l.set_nonblocking(true).unwrap();
        let a = l.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepts = Arc::new(AtomicU32::new(0));
        let (s2, a2) = (stop.clone(), accepts.clone());
        let handler = Arc::new(handler);
        let t = thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((c, _)) => {
                        a2.fetch_add(1, Ordering::Relaxed);
                        c.set_nonblocking(false).unwrap();
                        let h = handler.clone();
                        thread::spawn(move || h(c));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            addr: a,
            stop,
            accepts,
            thread: Some(t),
        }
    }

    /// Accept and keep the connection open, never sending.
    pub fn hang() -> Server {
        Server::start(|c| {
            thread::sleep(Duration::from_secs(30));
            drop(c);
        })
    }

    /// Accept and send `reply`, then close.
    pub fn reply(reply: &'static [u8]) -> Server {
        Server::start(move |mut c| {
            let _ = c.write_all(reply);
            thread::sleep(Duration::from_millis(50));
        })
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.halt();
    }
}

/// UDP server: replies `reply` (if any) to every datagram.
pub fn udp_server(reply: Option<&'static [u8]>) -> (SocketAddr, Arc<AtomicBool>) {
    let s = UdpSocket::bind((addr(), 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let a = s.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !st.load(Ordering::Relaxed) {
            if let Ok((_, from)) = s.recv_from(&mut buf) {
                if let Some(r) = reply {
                    let _ = s.send_to(r, from);
                }
            }
        }
    });
    (a, stop)
}

/// A directory for test scripts that passes nanny's ownership rule when the
/// tests run as root (root-owned, mode 0755 all the way up). The target
/// directory may sit below a world-writable /tmp (a CI clone), so root uses
/// a directory under /run, which is root's own.
pub fn script_dir() -> PathBuf {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let base = if root && Path::new("/run").is_dir() {
        PathBuf::from("/run")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
    };
    let d = base.join(format!("nanny-test-scripts-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// Write an executable script and return its path.
pub fn script(name: &str, body: &str) -> String {
    let p = script_dir().join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.to_string_lossy().into_owned()
}

/// Writes an exec-policy allowlist `name` (in the root-owned script
/// directory when root) with `lines`, and returns its path for
/// `LVS_PROGRAMS_FILE`.
pub fn allow_programs(name: &str, lines: &[String]) -> PathBuf {
    let p = script_dir().join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    p
}

/// Processes whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<u32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(c) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            if c.contains(needle) {
                v.push(pid);
            }
        }
    }
    v
}

pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// `nanny --lvsd` with pipes, its reports collected by a thread.
pub struct Nanny {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub reports: Receiver<serde_json::Value>,
    pub stderr: Arc<std::sync::Mutex<String>>,
}

impl Nanny {
    pub fn spawn(args: &[&str]) -> Nanny {
        Nanny::spawn_env(args, &[])
    }

    /// `spawn` with extra environment variables (e.g. a PATH with stand-ins).
    pub fn spawn_env(args: &[&str], env: &[(&str, String)]) -> Nanny {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nanny"))
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let v: serde_json::Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(std::sync::Mutex::new(String::new()));
        let s2 = stderr.clone();
        thread::spawn(move || {
            let mut r = BufReader::new(err);
            let mut line = String::new();
            while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                s2.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Nanny {
            child,
            stdin,
            reports: rx,
            stderr,
        }
    }

    pub fn lvsd() -> Nanny {
        Nanny::spawn(&["--lvsd", "-v"])
    }

    /// `nanny --lvsd -v` with the exec-policy allowlist `programs`.
    pub fn lvsd_with_programs(programs: &Path) -> Nanny {
        Nanny::spawn_env(
            &["--lvsd", "-v"],
            &[("LVS_PROGRAMS_FILE", programs.display().to_string())],
        )
    }

    pub fn send(&mut self, job: &serde_json::Value) {
        let s = self.stdin.as_mut().unwrap();
        writeln!(s, "{job}").unwrap();
        s.flush().unwrap();
    }

    /// Next report matching `pred` within `within`; panics with the stderr otherwise.
    pub fn wait_for(
        &self,
        within: Duration,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let end = Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.reports.recv_timeout(left) {
                Ok(v) if pred(&v) => return v,
                Ok(_) => continue,
                Err(_) => panic!(
                    "no report '{what}' within {within:?}; stderr:\n{}",
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// All reports arriving within `d`.
    pub fn collect(&self, d: Duration) -> Vec<serde_json::Value> {
        let end = Instant::now() + d;
        let mut v = Vec::new();
        while let Ok(r) = self
            .reports
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            v.push(r);
        }
        v
    }

    pub fn signal(&self, sig: i32) {
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Nanny {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const SIGHUP: i32 = 1;
pub const SIGTERM: i32 = 15;
pub const SIGUSR1: i32 = 10;
pub const SIGUSR2: i32 = 12;

pub fn is(v: &serde_json::Value, server: &str, state: &str) -> bool {
    v["server"] == server && v["state"] == state
}

/// Read everything from a stream (helper for servers).
pub fn drain(c: &mut TcpStream) {
    let mut b = [0u8; 1024];
    let _ = c.set_read_timeout(Some(Duration::from_millis(100)));
    let _ = c.read(&mut b);
}
