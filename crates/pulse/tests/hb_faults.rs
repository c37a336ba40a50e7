//! Heartbeat faults with two real pulses (T1; root only): HB-11 (migration
//! from Piranha's unsigned heartbeats to signed ones and a key rotation,
//! router by router, with SIGHUP), HB-05, HB-06 and HB-07 (forged
//! heartbeats from an attacker in a third namespace that spoofs the
//! partner's address with a raw socket), and FLT-P04 (asymmetric partition).

mod common;
use common::*;
use pulse::codec::{self, PeerState, Role, SignedPacket, LVS_RUNNING, LVS_STOPPED};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const K: &str = "0.1";
const D: &str = "0.4";
/// For tests that assert that nothing happens: a scheduling stall on a
/// loaded box must not be mistaken for a failure.
const D_SAFE: &str = "1.0";
const SECRET_A: &str = "the first shared heartbeat secret of the test";
const SECRET_B: &str = "the second shared heartbeat secret, after rotation";

fn sec(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

fn write_0600(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    // write then rename, so a reload never reads half a file
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write key");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::rename(&tmp, path).expect("rename key");
}

fn drops(st: &Value) -> u64 {
    st["heartbeat"]["drops"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(u64::MAX)
}

fn counter(p: &Pulse, name: &str) -> u64 {
    p.status()
        .and_then(|s| s["heartbeat"]["drops"][name].as_u64())
        .unwrap_or(u64::MAX)
}

/// Starts r1 and r2 on their own config files; waits for r1 active.
fn pair_on(t: &Topo, cfg1: &Path, cfg2: &Path) -> (Pulse, Pulse) {
    let standin = t.standin("lvsd", true, None);
    let p1 = t.pulse(&t.r1, "r1", cfg1, &standin, &[]);
    let p2 = t.pulse(&t.r2, "r2", cfg2, &standin, &[]);
    assert!(
        p1.wait_state("active", sec(5.0)),
        "r1 not active: {:?}",
        p1.log()
    );
    assert!(
        wait_until(sec(3.0), || p2.state().as_deref() == Some("inactive")
            && p2
                .status()
                .is_some_and(|s| s["partner"]["state"] == "active"))
        .is_some(),
        "r2 not settled: {:?}",
        p2.log()
    );
    (p1, p2)
}

// ---------------------------------------------------------------------------
// HB-11: receive-only -> permissive -> enforce, then a key rotation
// ---------------------------------------------------------------------------

/// One status sample of both routers.
struct Sample {
    at: Instant,
    r1: Option<Value>,
    r2: Option<Value>,
}

/// Samples both status sockets every 50 ms until stopped.
fn sampler(p1: &Pulse, p2: &Pulse) -> (Arc<AtomicBool>, std::thread::JoinHandle<Vec<Sample>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (s1, s2) = (p1.sock.clone(), p2.sock.clone());
    let st = stop.clone();
    let h = std::thread::spawn(move || {
        let read = |p: &PathBuf| -> Option<Value> { status_of(p) };
        let mut v = Vec::new();
        while !st.load(Ordering::SeqCst) {
            v.push(Sample {
                at: Instant::now(),
                r1: read(&s1),
                r2: read(&s2),
            });
            std::thread::sleep(sec(0.05));
        }
        v
    });
    (stop, h)
}

#[test]
fn hb11_migration_and_key_rotation_without_failover() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let (key1, key2) = (t.path("r1.key"), t.path("r2.key"));
    let (cfg1, cfg2) = (t.path("r1.cf"), t.path("r2.cf"));
    // lvs.cf of one router: Piranha's unsigned heartbeats, or a key and a mode
    let write_cfg = |cfg: &Path, key: &Path, mode: Option<&str>| {
        let extra = match mode {
            None => String::new(),
            Some(m) => format!("heartbeat_key = {}\nheartbeat_auth = {m}\n", key.display()),
        };
        let name = cfg.file_name().and_then(|n| n.to_str()).unwrap_or("x.cf");
        let written = t.config(name, K, D_SAFE, &extra);
        assert_eq!(written, cfg);
    };
    write_cfg(&cfg1, &key1, None);
    write_cfg(&cfg2, &key2, None);
    // the one-key layout of the original key file (key id 0)
    write_0600(&key1, &format!("{SECRET_A}\n"));
    write_0600(&key2, &format!("{SECRET_A}\n"));
    let (p1, p2) = pair_on(&t, &cfg1, &cfg2);
    let (stop, sampling) = sampler(&p1, &p2);

    // Each step changes one router and reloads it with SIGHUP; then both
    // must keep exchanging heartbeats for a while (0.6 s = 6 keepalives).
    let mut steps: Vec<String> = Vec::new();
    let step = |steps: &mut Vec<String>, p: &Pulse, what: &str, want_mode: &str| {
        let before = p.count("configuration reloaded");
        p.signal(libc::SIGHUP);
        assert!(
            wait_until(sec(2.0), || p.count("configuration reloaded") > before).is_some(),
            "{what}: no reload: {:?}",
            p.log()
        );
        let st = p.status().expect("status");
        assert_eq!(st["heartbeat"]["mode"], want_mode, "{what}: {st}");
        std::thread::sleep(sec(0.6));
        steps.push(what.to_string());
    };
    write_cfg(&cfg1, &key1, Some("receive-only"));
    step(&mut steps, &p1, "r1 receive-only", "receive-only");
    write_cfg(&cfg2, &key2, Some("receive-only"));
    step(&mut steps, &p2, "r2 receive-only", "receive-only");
    let signed_so_far = p2
        .status()
        .and_then(|s| s["heartbeat"]["accepted_signed"].as_u64())
        .unwrap_or(u64::MAX);
    assert_eq!(signed_so_far, 0, "nothing is signed yet");
    write_cfg(&cfg1, &key1, Some("permissive"));
    step(&mut steps, &p1, "r1 permissive", "permissive");
    // r2 (receive-only) now accepts r1's signed heartbeats
    assert!(
        p2.status()
            .and_then(|s| s["heartbeat"]["accepted_signed"].as_u64())
            .unwrap_or(0)
            > 0,
        "r2 accepted no signed heartbeat"
    );
    write_cfg(&cfg2, &key2, Some("permissive"));
    step(&mut steps, &p2, "r2 permissive", "permissive");
    write_cfg(&cfg1, &key1, Some("enforce"));
    step(&mut steps, &p1, "r1 enforce", "enforce");
    write_cfg(&cfg2, &key2, Some("enforce"));
    step(&mut steps, &p2, "r2 enforce", "enforce");

    // rotation, make-before-break: add key 1 (the old secret stays key 0)
    let both = |send: u32| {
        format!("pulse-heartbeat-keys 1\nkey 0 {SECRET_A}\nkey 1 {SECRET_B}\nsend {send}\n")
    };
    write_0600(&key1, &both(0));
    step(&mut steps, &p1, "r1 adds key 1", "enforce");
    write_0600(&key2, &both(0));
    step(&mut steps, &p2, "r2 adds key 1", "enforce");
    write_0600(&key1, &both(1));
    step(&mut steps, &p1, "r1 signs with key 1", "enforce");
    write_0600(&key2, &both(1));
    step(&mut steps, &p2, "r2 signs with key 1", "enforce");
    // a bad key file on reload is refused and the keys in force are kept
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key1, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let before = p1.count("heartbeat keys not reloaded");
        p1.signal(libc::SIGHUP);
        assert!(
            wait_until(sec(2.0), || p1.count("heartbeat keys not reloaded")
                > before)
            .is_some(),
            "{:?}",
            p1.log()
        );
        std::thread::sleep(sec(0.3));
    }
    let only_new = format!("pulse-heartbeat-keys 1\nkey 1 {SECRET_B}\n");
    write_0600(&key1, &only_new);
    step(&mut steps, &p1, "r1 drops key 0", "enforce");
    write_0600(&key2, &only_new);
    step(&mut steps, &p2, "r2 drops key 0", "enforce");
    stop.store(true, Ordering::SeqCst);
    let samples = sampling.join().expect("sampler");

    // no failover and no dropped heartbeat at any step
    assert!(samples.len() > 50, "only {} samples", samples.len());
    let mut last_acc = (0, 0);
    let mut worst_age = 0u64;
    for s in &samples {
        let (Some(a), Some(b)) = (&s.r1, &s.r2) else {
            panic!("a status socket did not answer at {:?}", s.at);
        };
        assert_eq!(a["state"], "active", "r1 changed state: {a}");
        assert_eq!(b["state"], "inactive", "r2 changed state: {b}");
        assert_eq!(drops(a), 0, "r1 dropped a heartbeat: {a}");
        assert_eq!(drops(b), 0, "r2 dropped a heartbeat: {b}");
        for x in [a, b] {
            let age = x["partner"]["last_heartbeat_age_ms"]
                .as_u64()
                .unwrap_or(u64::MAX);
            worst_age = worst_age.max(age);
        }
        let acc = (
            a["heartbeat"]["accepted"].as_u64().unwrap_or(0),
            b["heartbeat"]["accepted"].as_u64().unwrap_or(0),
        );
        assert!(acc.0 >= last_acc.0 && acc.1 >= last_acc.1);
        last_acc = acc;
    }
    // a missed heartbeat would show as an age above 2 keepalives
    assert!(
        (worst_age as f64) < 200.0 + slack() * 1000.0,
        "partner silent for {worst_age} ms during the migration"
    );
    assert_eq!(p1.count("activating lvs"), 1, "{:?}", p1.log());
    assert_eq!(p2.count("activating lvs"), 0, "{:?}", p2.log());
    assert_eq!(p1.count("deactivating"), 0, "{:?}", p1.log());
    let st = p2.status().expect("status");
    assert_eq!(st["heartbeat"]["key_ids"], serde_json::json!([1]));
    assert_eq!(st["heartbeat"]["send_key"], 1);
    eprintln!(
        "HB-11: {} steps, {} samples, worst partner silence {worst_age} ms, accepted r1 {} r2 {}",
        steps.len(),
        samples.len(),
        last_acc.0,
        last_acc.1
    );

    // enforce refuses an unsigned heartbeat, and a packet signed with the
    // retired key, and counts them
    let s = udp_in(&t.r1, "192.0.2.1:6000");
    s.send_to(&LVS_RUNNING.to_ne_bytes(), "192.0.2.2:539")
        .expect("send");
    let old = forged(PeerState::Active, SECRET_A.as_bytes(), 0, 1, R1, R2);
    s.send_to(&old, "192.0.2.2:539").expect("send");
    assert!(
        wait_until(sec(2.0), || counter(&p2, "legacy_or_malformed") == 1
            && counter(&p2, "unknown_key") == 1)
        .is_some(),
        "{:?}",
        p2.status()
    );
    assert_eq!(p2.state().as_deref(), Some("inactive"));
    assert_eq!(p1.state().as_deref(), Some("active"));
}

// ---------------------------------------------------------------------------
// The attacker: a third namespace on the heartbeat bridge, spoofing r1
// ---------------------------------------------------------------------------

/// A namespace plugged into the heartbeat bridge as 192.0.2.66, deleted on
/// drop, with a raw socket that sends UDP datagrams from any source address
/// (IP_HDRINCL) so it can claim to be r1 without taking r1's address (no
/// ARP poisoning: the kernel answers and asks ARP with .66).
struct Attacker {
    ns: String,
    raw: OwnedFd,
}

impl Attacker {
    fn new(t: &Topo) -> Attacker {
        let ns = format!("{}-a", t.id);
        must(&["ip", "netns", "add", &ns]);
        must(&[
            "ip", "-n", &t.hub, "link", "add", "name", "ahb", "type", "veth", "peer", "name",
            "eth0", "netns", &ns,
        ]);
        must(&[
            "ip", "-n", &t.hub, "link", "set", "dev", "ahb", "master", "hb",
        ]);
        must(&["ip", "-n", &t.hub, "link", "set", "dev", "ahb", "up"]);
        must(&[
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            "192.0.2.66/24",
            "dev",
            "eth0",
        ]);
        must(&["ip", "-n", &ns, "link", "set", "dev", "eth0", "up"]);
        must(&["ip", "-n", &ns, "link", "set", "dev", "lo", "up"]);
        let raw = in_ns(&ns, || {
            // SAFETY: socket(2); the descriptor is owned at once.
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
            assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
            // SAFETY: a fresh descriptor we own.
            unsafe { OwnedFd::from_raw_fd(fd) }
        });
        Attacker { ns, raw }
    }

    /// Sends `payload` as UDP 539 -> 539 from `src` to `dst`.
    fn send(&self, src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) {
        let total = 20 + 8 + payload.len();
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[6] = 0x40; // DF
        p[8] = 64; // TTL
        p[9] = 17; // UDP
        p[12..16].copy_from_slice(&src.octets());
        p[16..20].copy_from_slice(&dst.octets());
        let csum = ip_checksum(&p[..20]);
        p[10..12].copy_from_slice(&csum.to_be_bytes());
        p[20..22].copy_from_slice(&539u16.to_be_bytes());
        p[22..24].copy_from_slice(&539u16.to_be_bytes());
        p[24..26].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        // UDP checksum 0: "none", valid for IPv4
        p[28..].copy_from_slice(payload);
        // SAFETY: zeroed sockaddr_in is valid; fields set below.
        let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        sa.sin_family = libc::AF_INET as u16;
        sa.sin_addr.s_addr = u32::from_ne_bytes(dst.octets());
        // SAFETY: valid buffer and address.
        unsafe {
            libc::sendto(
                self.raw.as_raw_fd(),
                p.as_ptr() as *const libc::c_void,
                p.len(),
                0,
                &sa as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as u32,
            );
        }
    }

    /// One round of forged heartbeats announcing `state` "from r1" to r2:
    /// Piranha's magic, a signed packet with a wrong key (it reaches the
    /// HMAC check: key id 0 exists) and one with a key id r2 does not have.
    fn forge_round(&self, state: PeerState, seq: u64) {
        let (r1, r2) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
        let magic = match state {
            PeerState::Active => LVS_RUNNING,
            _ => LVS_STOPPED,
        };
        self.send(r1, r2, &magic.to_ne_bytes());
        let wrong = b"the attacker does not know the key";
        self.send(r1, r2, &forged(state, wrong, 0, seq, R1, R2));
        self.send(r1, r2, &forged(state, wrong, 9, seq, R1, R2));
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        sh(&["ip", "netns", "del", &self.ns]);
    }
}

fn ip_checksum(h: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A signed heartbeat "from the primary".
fn forged(state: PeerState, key: &[u8], key_id: u32, seq: u64, src: &str, dst: &str) -> Vec<u8> {
    let (s, d): (IpAddr, IpAddr) = (src.parse().expect("ip"), dst.parse().expect("ip"));
    codec::encode_signed(
        &SignedPacket {
            state,
            role: Role::Master,
            unwilling: false,
            key_id,
            boot_id: 0x6666,
            seq,
            uptime_ms: 1,
            digest: [0; 8],
            echo: 0,
        },
        key,
        s,
        d,
    )
    .to_vec()
}

/// "The master is dead": its pulse is killed and its links go down, as at a
/// power cut (a bare kill -9 would leave its kernel answering ARP for the
/// VIP it still carries).
fn power_off(t: &Topo, p: &Pulse) {
    p.signal(libc::SIGKILL);
    for dev in ["eth0", "eth1"] {
        must(&["ip", "-n", &t.r1, "link", "set", "dev", dev, "down"]);
    }
}

/// Keyed configuration shared by both routers (the one-key layout).
fn keyed_cfg(t: &Topo, name: &str, d: &str) -> PathBuf {
    let key = t.path("hb.key");
    write_0600(&key, &format!("{SECRET_A}\n"));
    t.config(name, K, d, &format!("heartbeat_key = {}\n", key.display()))
}

// ---------------------------------------------------------------------------
// ARP on the client segment
// ---------------------------------------------------------------------------

const CLIENT_IP: [u8; 4] = [203, 0, 113, 3];

fn vip_octets() -> [u8; 4] {
    VIP.parse::<Ipv4Addr>().expect("vip").octets()
}

/// An AF_PACKET ARP socket on `dev` in `ns`, with a 10 ms receive timeout.
fn arp_socket(ns: &str, dev: &str) -> (OwnedFd, i32) {
    in_ns(ns, || {
        let idx = send_arp::ifindex(dev).expect("ifindex") as i32;
        let proto = (libc::ETH_P_ARP as u16).to_be();
        // SAFETY: socket(2).
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
        assert!(
            raw >= 0,
            "packet socket: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: zeroed sockaddr_ll is valid; fields set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = idx;
        // SAFETY: valid address of the right size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sll as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(rc, 0, "bind packet socket");
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 10_000,
        };
        // SAFETY: valid option and size.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as u32,
            );
        }
        (fd, idx)
    })
}

/// An ARP frame as seen on the wire.
#[derive(Debug, Clone)]
struct ArpSeen {
    at: Instant,
    op: u16,
    sender_mac: String,
    sender_ip: [u8; 4],
    target_ip: [u8; 4],
}

fn recv_arp(fd: &OwnedFd) -> Option<ArpSeen> {
    let mut buf = [0u8; 128];
    // SAFETY: valid buffer.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
            0,
        )
    };
    if n < 42 {
        return None;
    }
    let f = &buf[..n as usize];
    if f[12..14] != [0x08, 0x06] {
        return None;
    }
    let mac = f[22..28]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    Some(ArpSeen {
        at: Instant::now(),
        op: u16::from_be_bytes([f[20], f[21]]),
        sender_mac: mac,
        sender_ip: [f[28], f[29], f[30], f[31]],
        target_ip: [f[38], f[39], f[40], f[41]],
    })
}

/// Records every ARP frame on the client's eth0 until stopped.
fn arp_capture(t: &Topo) -> (Arc<AtomicBool>, std::thread::JoinHandle<Vec<ArpSeen>>) {
    let (fd, _) = arp_socket(&t.client, "eth0");
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let h = std::thread::spawn(move || {
        let mut v = Vec::new();
        while !st.load(Ordering::SeqCst) {
            if let Some(a) = recv_arp(&fd) {
                v.push(a);
            }
        }
        v
    });
    (stop, h)
}

/// From the client, asks "who has the VIP" every 100 ms and records who
/// answers, until stopped.
fn arp_prober(t: &Topo) -> (Arc<AtomicBool>, std::thread::JoinHandle<Vec<ArpSeen>>) {
    let (fd, idx) = arp_socket(&t.client, "eth0");
    let mac: Vec<u8> = t
        .mac(&t.client, "eth0")
        .split(':')
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    assert_eq!(mac.len(), 6, "client MAC");
    let mut req = [0u8; 60];
    req[0..6].copy_from_slice(&[0xff; 6]);
    req[6..12].copy_from_slice(&mac);
    req[12..14].copy_from_slice(&[0x08, 0x06]);
    req[14..22].copy_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]);
    req[22..28].copy_from_slice(&mac);
    req[28..32].copy_from_slice(&CLIENT_IP);
    req[38..42].copy_from_slice(&vip_octets());
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let h = std::thread::spawn(move || {
        // SAFETY: zeroed sockaddr_ll is valid; fields set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = idx;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&[0xff; 6]);
        let mut v = Vec::new();
        let mut next = Instant::now();
        while !st.load(Ordering::SeqCst) {
            if Instant::now() >= next {
                // SAFETY: valid frame and address.
                unsafe {
                    libc::sendto(
                        fd.as_raw_fd(),
                        req.as_ptr() as *const libc::c_void,
                        req.len(),
                        0,
                        &sll as *const _ as *const libc::sockaddr,
                        std::mem::size_of::<libc::sockaddr_ll>() as u32,
                    );
                }
                next += sec(0.1);
            }
            if let Some(a) = recv_arp(&fd) {
                if a.op == 2 && a.sender_ip == vip_octets() && a.target_ip == CLIENT_IP {
                    v.push(a);
                }
            }
        }
        v
    });
    (stop, h)
}

/// The longest interval without an answer from `mac` between `from` and
/// `to` (answers from anybody else do not count).
fn longest_gap(answers: &[ArpSeen], mac: &str, from: Instant, to: Instant) -> Duration {
    let mut last = from;
    let mut worst = Duration::ZERO;
    for a in answers.iter().filter(|a| a.sender_mac == mac) {
        if a.at < from || a.at > to {
            continue;
        }
        worst = worst.max(a.at - last);
        last = a.at;
    }
    worst.max(to.saturating_duration_since(last))
}

// ---------------------------------------------------------------------------
// HB-05, HB-06, HB-07
// ---------------------------------------------------------------------------

/// HB-05: the master is dead and the backup active; an attacker forges
/// "running" from the master's address. Signed mode: every forgery is
/// dropped and counted, the backup stays active and keeps answering ARP for
/// the VIP (no gap over 1 s). Legacy mode (shown at the end, after a reload
/// without the key): the first forged "running" makes the backup yield, so
/// the VIP is left unserved.
#[test]
fn hb05_forged_running_to_the_active_backup() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = keyed_cfg(&t, "lvs.cf", D);
    let (p1, p2) = pair_on(&t, &cfg, &cfg);
    let att = Attacker::new(&t);
    power_off(&t, &p1);
    assert!(
        wait_until(sec(3.0), || t.has_vip(&t.r2)).is_some(),
        "no failover"
    );
    assert!(p2.wait_state("active", sec(2.0)));
    let r2_mac = t.mac(&t.r2, "eth1");
    let (stop, probe) = arp_prober(&t);
    std::thread::sleep(sec(0.3));
    let from = Instant::now();
    let mut seq = 1;
    let mut samples = 0;
    while from.elapsed() < sec(3.0) {
        for _ in 0..10 {
            att.forge_round(PeerState::Active, seq);
            seq += 1;
            std::thread::sleep(sec(0.01));
        }
        assert!(t.has_vip(&t.r2), "VIP left the active backup");
        assert_eq!(p2.state().as_deref(), Some("active"));
        samples += 1;
    }
    let to = Instant::now();
    stop.store(true, Ordering::SeqCst);
    let answers = probe.join().expect("prober");
    let gap = longest_gap(&answers, &r2_mac, from, to);
    eprintln!(
        "HB-05: {} forged rounds, {samples} samples, {} ARP answers from r2, longest gap {gap:?}",
        seq - 1,
        answers.len()
    );
    assert!(gap <= sec(1.0), "VIP did not answer ARP for {gap:?}");
    assert!(
        answers.iter().all(|a| a.sender_mac == r2_mac),
        "another MAC answered"
    );
    let forged = seq - 1;
    assert!(
        wait_until(sec(2.0), || counter(&p2, "legacy_or_malformed") == forged
            && counter(&p2, "bad_hmac") == forged
            && counter(&p2, "unknown_key") == forged)
        .is_some(),
        "{:?}",
        p2.status()
    );
    assert_eq!(p2.count("deactivating"), 0, "{:?}", p2.log());

    // the same forgery against Piranha's unsigned heartbeats
    t.config("lvs.cf", K, D, "");
    p2.signal(libc::SIGHUP);
    assert!(wait_until(sec(2.0), || p2
        .status()
        .is_some_and(|s| s["heartbeat"]["mode"] == "legacy"))
    .is_some());
    att.forge_round(PeerState::Active, seq);
    assert!(
        p2.wait_log("partner active: deactivating LVS", sec(2.0))
            .is_some(),
        "legacy mode: the forged running was not taken: {:?}",
        p2.log()
    );
    assert!(wait_until(sec(2.0), || !t.has_vip(&t.r2)).is_some());
}

/// HB-06: the master is healthy and active; an attacker forges "stopped"
/// (and a signed "leaving") to the inactive backup. Signed mode: the backup
/// stays inactive and the VIP is never on both routers (sampled every
/// 100 ms). Legacy mode: a forged "stopped" after the master's "running" is
/// exactly a Piranha relinquish, so the backup takes over and both hold the
/// VIP until the master's next heartbeat makes the backup yield.
#[test]
fn hb06_forged_stopped_to_the_inactive_backup() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = keyed_cfg(&t, "lvs.cf", D);
    let (p1, p2) = pair_on(&t, &cfg, &cfg);
    let att = Attacker::new(&t);
    let stop = AtomicBool::new(false);
    // (r1 has the VIP, r2 has it), every 100 ms on its own thread, while the
    // forgery runs on this one
    let (samples, rounds) = std::thread::scope(|sc| {
        let sampler = sc.spawn(|| {
            let mut v = Vec::new();
            let mut next = Instant::now();
            while !stop.load(Ordering::SeqCst) {
                v.push((t.has_vip(&t.r1), t.has_vip(&t.r2)));
                next += sec(0.1);
                if let Some(w) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(w);
                }
            }
            v
        });
        let start = Instant::now();
        let mut seq = 1;
        while start.elapsed() < sec(3.0) {
            att.forge_round(PeerState::Inactive, seq);
            att.send(
                Ipv4Addr::new(192, 0, 2, 1),
                Ipv4Addr::new(192, 0, 2, 2),
                &forged(PeerState::Leaving, b"not the key, either", 0, seq, R1, R2),
            );
            seq += 1;
            std::thread::sleep(sec(0.01));
        }
        stop.store(true, Ordering::SeqCst);
        (sampler.join().expect("sampler"), seq - 1)
    });
    let both = samples.iter().filter(|s| s.0 && s.1).count();
    let master_lost = samples.iter().filter(|s| !s.0).count();
    assert_eq!(both, 0, "VIP on both routers in {both} samples");
    assert_eq!(
        master_lost, 0,
        "the master lost the VIP in {master_lost} samples"
    );
    let samples = samples.len();
    eprintln!("HB-06: {rounds} forged rounds, {samples} samples of both routers");
    // 3 s at 100 ms; a loaded box may stretch a few periods
    assert!(samples >= 25, "only {samples} samples");
    assert_eq!(p2.state().as_deref(), Some("inactive"));
    assert_eq!(p2.count("activating lvs"), 0, "{:?}", p2.log());
    assert_eq!(p1.count("resending arps"), 0, "{:?}", p1.log());
    assert!(
        wait_until(sec(2.0), || counter(&p2, "legacy_or_malformed") == rounds
            && counter(&p2, "bad_hmac") == 2 * rounds
            && counter(&p2, "unknown_key") == rounds)
        .is_some(),
        "{:?}",
        p2.status()
    );
}

/// HB-07: the master is killed and an attacker streams forged "running" at
/// 1,000 packets a second to suppress the failover. Signed mode: the backup
/// takes over within D + K + 1 s regardless. (Legacy mode: each forged
/// "running" re-arms the backup's dead-partner timer, so the failover never
/// happens while the stream lasts; `legacy_stream_suppresses_failover`
/// shows it.)
#[test]
fn hb07_forged_running_stream_does_not_suppress_failover() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = keyed_cfg(&t, "lvs.cf", D);
    let (p1, p2) = pair_on(&t, &cfg, &cfg);
    let att = Attacker::new(&t);
    let (took, sent) = kill_and_stream(&t, &att, &p1, 3.0);
    eprintln!("HB-07: {sent} forged packets at about 1 kpps; failover after {took:?}");
    let bound = sec(0.4 + 0.1 + 1.0);
    assert!(took.is_some_and(|d| d <= bound), "failover after {took:?}");
    assert_eq!(p2.state().as_deref(), Some("active"));
    assert!(counter(&p2, "bad_hmac") > 0 && counter(&p2, "legacy_or_malformed") > 0);
}

/// Kills r1 and streams forged "running" (Piranha's magic and signed with a
/// wrong key, alternately) at about 1 kpps for `secs`; returns how long r2
/// took to hold the VIP (None: not within the stream) and the packets sent.
fn kill_and_stream(t: &Topo, att: &Attacker, p1: &Pulse, secs: f64) -> (Option<Duration>, u64) {
    let (r1, r2) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
    let wrong = b"the attacker does not know the key";
    power_off(t, p1);
    let killed = Instant::now();
    let mut took = None;
    let mut sent = 0u64;
    let mut next_check = killed;
    while killed.elapsed() < sec(secs) {
        if sent % 2 == 0 {
            att.send(r1, r2, &LVS_RUNNING.to_ne_bytes());
        } else {
            att.send(r1, r2, &forged(PeerState::Active, wrong, 0, sent, R1, R2));
        }
        sent += 1;
        // pace at 1 kpps
        let due = killed + sec(sent as f64 / 1000.0);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if took.is_none() && Instant::now() >= next_check {
            if t.has_vip(&t.r2) {
                took = Some(killed.elapsed());
            }
            next_check = Instant::now() + sec(0.02);
        }
    }
    (took, sent)
}

/// HB-06 and HB-07 against Piranha's unsigned heartbeats: what the key
/// prevents. A forged "stopped" makes the backup take over while the master
/// holds the VIP; a forged "running" stream after the master's death keeps
/// the backup from taking over for as long as it lasts.
#[test]
fn legacy_mode_is_open_to_forgery() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = t.config("lvs.cf", K, D, "");
    let (p1, p2) = pair_on(&t, &cfg, &cfg);
    let att = Attacker::new(&t);
    {
        att.send(
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 2),
            &LVS_STOPPED.to_ne_bytes(),
        );
        assert!(
            p2.wait_log("primary inactive: activating lvs", sec(2.0))
                .is_some(),
            "{:?}",
            p2.log()
        );
        // the master's next "running" makes it yield again
        assert!(p2
            .wait_log("partner active: deactivating LVS", sec(2.0))
            .is_some());
        assert!(wait_until(sec(2.0), || !t.has_vip(&t.r2)).is_some());
    }
    assert!(wait_until(sec(2.0), || p2.state().as_deref() == Some("inactive")).is_some());
    let (took, sent) = kill_and_stream(&t, &att, &p1, 2.0);
    eprintln!("legacy: {sent} forged packets; failover during the stream: {took:?}");
    assert_eq!(took, None, "legacy mode failed over despite the stream");
    // once the stream stops, the backup takes over after deadtime
    assert!(wait_until(sec(2.0), || t.has_vip(&t.r2)).is_some());
}

// ---------------------------------------------------------------------------
// FLT-P04: asymmetric partition
// ---------------------------------------------------------------------------

/// r1 -> r2 dropped (a blackhole route to r2 in r1's namespace), r2 -> r1
/// intact. r2 hears nothing and takes over; r1 keeps hearing r2 "running"
/// and re-announces once (not once per heartbeat: no ARP war). After the
/// heal, one active within D + 2K.
#[test]
fn p04_asymmetric_partition() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = t.config("lvs.cf", K, D, "");
    let (p1, p2) = pair_on(&t, &cfg, &cfg);
    std::thread::sleep(sec(0.2));
    let (stop, capture) = arp_capture(&t);
    let cut = Instant::now();
    must(&[
        "ip",
        "-n",
        &t.r1,
        "route",
        "add",
        "blackhole",
        "192.0.2.2/32",
    ]);
    let partition = sec(8.0);
    while cut.elapsed() < partition {
        assert_eq!(
            p1.state().as_deref(),
            Some("active"),
            "the master stepped down"
        );
        std::thread::sleep(sec(0.1));
    }
    assert!(t.has_vip(&t.r2), "r2 never took over: {:?}", p2.log());
    let healed = Instant::now();
    must(&[
        "ip",
        "-n",
        &t.r1,
        "route",
        "del",
        "blackhole",
        "192.0.2.2/32",
    ]);
    let one = wait_until(sec(3.0), || !t.has_vip(&t.r2) && t.has_vip(&t.r1))
        .expect("no convergence after the heal");
    stop.store(true, Ordering::SeqCst);
    let frames = capture.join().expect("capture");
    let garp: Vec<&ArpSeen> = frames
        .iter()
        .filter(|a| a.sender_ip == vip_octets() && a.target_ip == vip_octets())
        .filter(|a| a.at >= cut && a.at < healed)
        .collect();
    let late = garp
        .iter()
        .filter(|a| a.at >= cut + partition - sec(2.5))
        .count();
    let converge = one - healed;
    eprintln!(
        "P04: {} gratuitous ARP frames for the VIP during the {partition:?} partition ({} from r1, {} from r2; each announcement round is a request and a reply), {late} in its last 2.5 s; one active {converge:?} after the heal",
        garp.len(),
        garp.iter().filter(|a| a.sender_mac == t.mac(&t.r1, "eth1")).count(),
        garp.iter().filter(|a| a.sender_mac == t.mac(&t.r2, "eth1")).count(),
    );
    // One takeover by r2 (5 rounds) and one re-announce by r1 (2 rounds),
    // each round a request and a reply, then quiet: 7 announcements per VIP
    // in the episode, under FLT-P04's 10 per minute.
    let rounds = garp.len().div_ceil(2);
    assert!(
        rounds < 10,
        "{rounds} gratuitous ARP rounds ({} frames)",
        garp.len()
    );
    assert!(garp.len() <= 14, "{} gratuitous ARP frames", garp.len());
    assert_eq!(late, 0, "gratuitous ARPs still going on: an ARP war");
    assert_eq!(
        p1.count("partner active: resending arps"),
        1,
        "{:?}",
        p1.log()
    );
    assert!(
        converge <= sec(0.4 + 0.2 + slack()),
        "one active only after {converge:?}"
    );
    assert_never_dual_active(&t, "after the heal");
    assert_eq!(p2.state().as_deref(), Some("inactive"));
}
