//! Test traffic for the systemd lab (`tests/os/README.md`), run inside the
//! world guest. Not part of the product.
//!
//! `lab-traffic serve --name s1 [--listen 0.0.0.0:80]`: a real server. HTTP
//! with keep-alive (HTTP/1.1 unless the request says `Connection: close`;
//! HTTP/1.0 requests, like nanny's check, are answered and closed); every
//! answer is `hello from real server NAME`.
//!
//! `lab-traffic client --target VIP:80 --rate 20 --long 4 --control ADDR`:
//! the client. It sends `rate` short requests a second (one connection
//! each) and keeps `long` keep-alive connections open, asking on each every
//! 250 ms. It counts what a user would notice: a short request that got no
//! answer within 3 s (connection refused or reset, timeout, wrong answer),
//! a long-lived connection that was reset or closed (it reconnects), and
//! the longest time without a successful short request. A TCP stall that
//! recovers (retransmission during a failover) is not a failure; it shows in
//! `gap_ms`.
//!
//! `lab-traffic switch --dir DIR --lan NAME --ports a,b,c`: the virtual LAN
//! NAME, an Ethernet switch for qemu's `-netdev dgram` (Unix datagram
//! sockets): it listens on `DIR/NAME.sock` and each guest's card sends
//! from `DIR/PORT-NAME.sock`. It learns which port each MAC address is
//! behind and floods the rest, never back to the sender (qemu's multicast
//! sockets echo every frame to its sender, which confuses a bridge in the
//! world guest into learning its own servers behind its uplink).
//!
//! The control port speaks lines: `mark STEP` answers the figures since
//! the previous mark as `FIGURE step=STEP failed_requests=N resets=N
//! gap_ms=N requests=N long_requests=N failures=...` and starts a new
//! period; `conns` answers `CONNS PORT...`, the local ports of the open
//! long-lived connections (the test looks them up in the backup's
//! connection table).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const ANSWER: &str = "hello from real server ";
/// A short request that takes longer than this has failed.
const REQUEST_DEADLINE: Duration = Duration::from_secs(3);
/// Pause between two requests on a long-lived connection.
const LONG_INTERVAL: Duration = Duration::from_millis(250);
/// A long-lived connection that answers nothing for this long is given up
/// (counted as reset): TCP would have recovered from a failover long before.
const LONG_STALL: Duration = Duration::from_secs(20);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| -> Option<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    match args.first().map(String::as_str) {
        Some("serve") => {
            let name = opt("--name").unwrap_or_else(|| "?".into());
            let listen = opt("--listen").unwrap_or_else(|| "0.0.0.0:80".into());
            serve(&name, &listen)
        }
        Some("switch") => {
            let dir = opt("--dir").unwrap_or_else(|| usage());
            let lan = opt("--lan").unwrap_or_else(|| usage());
            let ports: Vec<String> = opt("--ports")
                .unwrap_or_else(|| usage())
                .split(',')
                .map(str::to_string)
                .collect();
            switch(std::path::Path::new(&dir), &lan, &ports)
        }
        Some("client") => {
            let target: SocketAddr = opt("--target")
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| usage());
            let rate: u32 = opt("--rate").and_then(|r| r.parse().ok()).unwrap_or(20);
            let long: u32 = opt("--long").and_then(|r| r.parse().ok()).unwrap_or(4);
            let control = opt("--control").unwrap_or_else(|| "0.0.0.0:7000".into());
            client(target, rate.max(1), long, &control)
        }
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: lab-traffic serve --name NAME [--listen ADDR]");
    eprintln!("       lab-traffic switch --dir DIR --lan NAME --ports A,B,...");
    eprintln!("       lab-traffic client --target IP:PORT [--rate N] [--long N] [--control ADDR]");
    std::process::exit(2)
}

// ------------------------------------------------------------------ server

fn serve(name: &str, listen: &str) -> ! {
    let listener = TcpListener::bind(listen).unwrap_or_else(|e| {
        eprintln!("lab-traffic: bind {listen}: {e}");
        std::process::exit(1)
    });
    let body = format!("{ANSWER}{name}\n");
    for conn in listener.incoming().flatten() {
        let body = body.clone();
        thread::spawn(move || {
            let _ = serve_conn(conn, &body);
        });
    }
    std::process::exit(1)
}

fn serve_conn(conn: TcpStream, body: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(600)))?;
    let mut out = conn.try_clone()?;
    let mut rd = BufReader::new(conn);
    loop {
        let mut request = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            if rd.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            request.push_str(&line);
        }
        let lower = request.to_ascii_lowercase();
        let keep = lower.contains("http/1.1") && !lower.contains("connection: close");
        write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n{body}",
            body.len(),
            if keep { "keep-alive" } else { "close" }
        )?;
        if !keep {
            let _ = out.shutdown(Shutdown::Write);
            return Ok(());
        }
    }
}

// ------------------------------------------------------------------ switch

fn switch(dir: &std::path::Path, lan: &str, ports: &[String]) -> ! {
    use std::os::unix::net::UnixDatagram;
    let hub = dir.join(format!("{lan}.sock"));
    let _ = std::fs::remove_file(&hub);
    let sock = UnixDatagram::bind(&hub).unwrap_or_else(|e| {
        eprintln!("lab-traffic: bind {}: {e}", hub.display());
        std::process::exit(1)
    });
    let peers: Vec<std::path::PathBuf> = ports
        .iter()
        .map(|p| dir.join(format!("{p}-{lan}.sock")))
        .collect();
    // Non-blocking: a guest that does not read its socket (a machine
    // booting, before its card is up; a stopped qemu) fills its queue, and
    // a blocking send would stall the whole LAN. Its frames are dropped,
    // as a switch port with a full buffer drops them.
    if let Err(e) = sock.set_nonblocking(true) {
        eprintln!("lab-traffic: {e}");
        std::process::exit(1)
    }
    let mut where_is: std::collections::HashMap<[u8; 6], usize> = Default::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                use std::os::fd::AsRawFd;
                let mut pfd = libc::pollfd {
                    fd: sock.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd for the duration of the call.
                unsafe { libc::poll(&mut pfd, 1, -1) };
                continue;
            }
            Err(_) => continue,
        };
        let Some(src) = from
            .as_pathname()
            .and_then(|p| peers.iter().position(|q| q == p))
        else {
            continue;
        };
        if n < 14 {
            continue;
        }
        let frame = &buf[..n];
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&frame[6..12]);
        if mac[0] & 1 == 0 {
            where_is.insert(mac, src);
        }
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&frame[..6]);
        match where_is.get(&dst) {
            Some(&port) if dst[0] & 1 == 0 => {
                if port != src {
                    let _ = sock.send_to(frame, &peers[port]);
                }
            }
            _ => {
                for (i, p) in peers.iter().enumerate() {
                    if i != src {
                        // A guest that is down has no socket: its frames
                        // are lost, as on a real wire.
                        let _ = sock.send_to(frame, p);
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------------ client

#[derive(Default)]
struct Period {
    requests: u64,
    failed: u64,
    failures: BTreeMap<&'static str, u64>,
    resets: u64,
    long_requests: u64,
    max_gap: Duration,
}

struct Stats {
    period: Period,
    last_ok: Instant,
    long_ports: BTreeMap<u32, u16>,
}

type Shared = Arc<Mutex<Stats>>;

fn client(target: SocketAddr, rate: u32, long: u32, control: &str) -> ! {
    let stats: Shared = Arc::new(Mutex::new(Stats {
        period: Period::default(),
        last_ok: Instant::now(),
        long_ports: BTreeMap::new(),
    }));
    let listener = TcpListener::bind(control).unwrap_or_else(|e| {
        eprintln!("lab-traffic: bind {control}: {e}");
        std::process::exit(1)
    });
    for id in 0..long {
        let stats = stats.clone();
        thread::spawn(move || long_lived(id, target, &stats));
    }
    {
        let stats = stats.clone();
        thread::spawn(move || {
            let every = Duration::from_secs(1) / rate;
            let mut next = Instant::now();
            loop {
                let stats = stats.clone();
                thread::spawn(move || {
                    let r = short_request(target);
                    let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                    s.period.requests += 1;
                    match r {
                        Ok(()) => {
                            let now = Instant::now();
                            // The time since the previous answer.
                            let gap = now.saturating_duration_since(s.last_ok);
                            s.period.max_gap = s.period.max_gap.max(gap);
                            s.last_ok = s.last_ok.max(now);
                        }
                        Err(why) => {
                            s.period.failed += 1;
                            *s.period.failures.entry(why).or_default() += 1;
                        }
                    }
                });
                next += every;
                let now = Instant::now();
                if next > now {
                    thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
        });
    }
    for conn in listener.incoming().flatten() {
        let stats = stats.clone();
        thread::spawn(move || {
            let _ = control_conn(conn, &stats);
        });
    }
    std::process::exit(1)
}

fn classify(e: &std::io::Error) -> &'static str {
    match e.kind() {
        ErrorKind::ConnectionRefused => "refused",
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            "reset"
        }
        ErrorKind::TimedOut | ErrorKind::WouldBlock => "timeout",
        _ if e.raw_os_error() == Some(113) || e.raw_os_error() == Some(101) => "unreachable",
        _ => "error",
    }
}

fn short_request(target: SocketAddr) -> Result<(), &'static str> {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let mut c = TcpStream::connect_timeout(&target, REQUEST_DEADLINE).map_err(|e| classify(&e))?;
    c.write_all(b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n")
        .map_err(|e| classify(&e))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timeout");
        }
        c.set_read_timeout(Some(left)).map_err(|e| classify(&e))?;
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(classify(&e)),
        }
    }
    if String::from_utf8_lossy(&got).contains(ANSWER) {
        Ok(())
    } else {
        Err("bad-answer")
    }
}

/// One long-lived connection: requests every LONG_INTERVAL; a reset or a
/// close counts, then it reconnects.
fn long_lived(id: u32, target: SocketAddr, stats: &Shared) {
    loop {
        let conn = match TcpStream::connect_timeout(&target, Duration::from_secs(3)) {
            Ok(c) => c,
            Err(_) => {
                thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        let _ = conn.set_nodelay(true);
        if let Ok(local) = conn.local_addr() {
            lock(stats).long_ports.insert(id, local.port());
        }
        let end = run_long(conn, stats);
        let mut s = lock(stats);
        s.long_ports.remove(&id);
        s.period.resets += 1;
        *s.period.failures.entry(end).or_default() += 1;
        drop(s);
        thread::sleep(Duration::from_millis(200));
    }
}

fn run_long(conn: TcpStream, stats: &Shared) -> &'static str {
    let mut out = match conn.try_clone() {
        Ok(o) => o,
        Err(_) => return "long-error",
    };
    let mut rd = BufReader::new(conn);
    loop {
        if out
            .write_all(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
            .is_err()
        {
            return "long-reset";
        }
        let started = Instant::now();
        match read_response(&mut rd, started + LONG_STALL) {
            Ok(()) => lock(stats).period.long_requests += 1,
            Err(e) => return e,
        }
        thread::sleep(LONG_INTERVAL);
    }
}

/// Reads one HTTP/1.1 response with a Content-Length body. Read timeouts
/// below the stall limit are waited out (retransmissions).
fn read_response(rd: &mut BufReader<TcpStream>, deadline: Instant) -> Result<(), &'static str> {
    let _ = rd
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(500)));
    let mut length = None;
    let mut line = String::new();
    loop {
        line.clear();
        match read_line(rd, &mut line, deadline)? {
            0 => return Err("long-closed"),
            _ if line == "\r\n" => break,
            _ => {
                let l = line.to_ascii_lowercase();
                if let Some(v) = l.strip_prefix("content-length:") {
                    length = v.trim().parse::<usize>().ok();
                }
            }
        }
    }
    let mut body = vec![0u8; length.ok_or("long-bad-answer")?];
    let mut got = 0;
    while got < body.len() {
        match rd.read(&mut body[got..]) {
            Ok(0) => return Err("long-closed"),
            Ok(n) => got += n,
            Err(e) if retryable(&e) && Instant::now() < deadline => {}
            Err(e) if retryable(&e) => return Err("long-stalled"),
            Err(_) => return Err("long-reset"),
        }
    }
    if String::from_utf8_lossy(&body).contains(ANSWER) {
        Ok(())
    } else {
        Err("long-bad-answer")
    }
}

fn read_line(
    rd: &mut BufReader<TcpStream>,
    line: &mut String,
    deadline: Instant,
) -> Result<usize, &'static str> {
    loop {
        match rd.read_line(line) {
            Ok(n) => return Ok(n),
            Err(e) if retryable(&e) && Instant::now() < deadline => {}
            Err(e) if retryable(&e) => return Err("long-stalled"),
            Err(_) => return Err("long-reset"),
        }
    }
}

fn retryable(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

fn lock(stats: &Shared) -> std::sync::MutexGuard<'_, Stats> {
    stats.lock().unwrap_or_else(|e| e.into_inner())
}

/// The ARP caches of this namespace and of the real servers (their pids
/// in /run/lab-servers, `NAME PID` lines, written by lab-world.sh), one
/// line: `NEIGH client: IP MAC FLAGS, ... | s1: ...`.
fn neighbours() -> String {
    let arp = |path: &str| -> String {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                format!(
                    "{} {} {}",
                    f.first().unwrap_or(&"?"),
                    f.get(3).unwrap_or(&"?"),
                    f.get(2).unwrap_or(&"?")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = format!("NEIGH client: {}", arp("/proc/net/arp"));
    for l in std::fs::read_to_string("/run/lab-servers")
        .unwrap_or_default()
        .lines()
    {
        if let Some((name, pid)) = l.split_once(' ') {
            out.push_str(&format!(
                " | {name}: {}",
                arp(&format!("/proc/{}/net/arp", pid.trim()))
            ));
        }
    }
    out
}

fn control_conn(conn: TcpStream, stats: &Shared) -> std::io::Result<()> {
    let mut out = conn.try_clone()?;
    for line in BufReader::new(conn).lines() {
        let line = line?;
        let mut words = line.split_whitespace();
        let reply = match words.next() {
            Some("mark") => {
                let step = words.next().unwrap_or("-");
                let mut s = lock(stats);
                let now = Instant::now();
                let p = std::mem::take(&mut s.period);
                // An outage still going on at the mark counts up to now.
                let gap = p.max_gap.max(now.duration_since(s.last_ok));
                let failures: Vec<String> =
                    p.failures.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!(
                    "FIGURE step={step} failed_requests={} resets={} gap_ms={} requests={} long_requests={} failures={}",
                    p.failed,
                    p.resets,
                    gap.as_millis(),
                    p.requests,
                    p.long_requests,
                    if failures.is_empty() { "-".to_string() } else { failures.join(",") }
                )
            }
            Some("neigh") => neighbours(),
            Some("conns") => {
                let s = lock(stats);
                let ports: Vec<String> = s.long_ports.values().map(|p| p.to_string()).collect();
                format!("CONNS {}", ports.join(" "))
            }
            _ => "ERR unknown command".to_string(),
        };
        writeln!(out, "{reply}")?;
    }
    Ok(())
}
