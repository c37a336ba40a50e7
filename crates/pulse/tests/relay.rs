//! FLT-P06: heartbeats through a relay that loses and delays them.
//!
//! The heartbeat path of this test runs through a third namespace, `rel`:
//!
//! ```text
//!   r1 eth3 10.9.1.1/24 ── rel 10.9.1.254 | 10.9.2.254 ── r2 eth3 10.9.2.2/24
//! ```
//!
//! `rel` does not forward (ip_forward = 0): every heartbeat reaches it and
//! stops there, and a userspace relay in this test (a packet socket that
//! sees each datagram, a raw socket that sends it on unchanged, source
//! address and all) passes on a share of them, each after a random delay.
//! The service side (VIP, client) is the usual topology of `common`.
//!
//! Expectation (documented in the catalogue's sense): with a loss share `p`
//! and a delay of up to `j`, the partner is declared dead when the `n`
//! heartbeats of a deadtime window are all lost, `n = floor((D - j) / K)`,
//! about `T / K * p^n * (1 - p)` times in `T` seconds. At 30 % loss and a
//! delay of up to 2·K: D = 3·K gives n = 1, a failover every few seconds (so
//! "D ≥ 3·K" does not suffice at this loss); the D = 15·K used here gives
//! n = 13, 1.6e-7 per heartbeat, about 0.001 failovers in 10 minutes at
//! K = 0.1 s, so the test asserts none.

mod common;
use common::*;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REL_R1: &str = "10.9.1.1";
const REL_R2: &str = "10.9.2.2";

fn sec(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

/// The relay's knobs and counters.
#[derive(Default)]
struct Knobs {
    /// Share of heartbeats dropped, in per mille.
    loss_permille: AtomicU32,
    /// Largest delay, in ms (each heartbeat waits a uniform 0..=this).
    jitter_ms: AtomicU32,
    passed: AtomicU64,
    dropped: AtomicU64,
    stop: AtomicBool,
}

/// The namespace `rel` and the relay thread; removed on drop.
struct Relay {
    ns: String,
    knobs: Arc<Knobs>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    fn new(t: &Topo) -> Relay {
        let ns = format!("{}-rel", t.id);
        must(&["ip", "netns", "add", &ns]);
        let relay = Relay {
            ns: ns.clone(),
            knobs: Arc::new(Knobs::default()),
            thread: None,
        };
        must(&["ip", "-n", &ns, "link", "set", "dev", "lo", "up"]);
        must(&[
            "ip",
            "netns",
            "exec",
            &ns,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=0",
        ]);
        for (router, mine, theirs, other_net) in [
            (&t.r1, "10.9.1.254/24", "10.9.1.1/24", "10.9.2.0/24"),
            (&t.r2, "10.9.2.254/24", "10.9.2.2/24", "10.9.1.0/24"),
        ] {
            let dev = if router == &t.r1 { "rel1" } else { "rel2" };
            must(&[
                "ip", "-n", &ns, "link", "add", "name", dev, "type", "veth", "peer", "name",
                "eth3", "netns", router,
            ]);
            must(&["ip", "-n", &ns, "addr", "add", mine, "dev", dev]);
            must(&["ip", "-n", &ns, "link", "set", "dev", dev, "up"]);
            must(&["ip", "-n", router, "addr", "add", theirs, "dev", "eth3"]);
            must(&["ip", "-n", router, "link", "set", "dev", "eth3", "up"]);
            let via = mine.split('/').next().unwrap_or_default();
            must(&["ip", "-n", router, "route", "add", other_net, "via", via]);
        }
        relay
    }

    /// Starts the relay thread in `rel`.
    fn start(&mut self) {
        let path = format!("/run/netns/{}", self.ns);
        let knobs = self.knobs.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        self.thread = Some(std::thread::spawn(move || {
            let file = File::open(&path).expect("open netns");
            // SAFETY: setns affects only this thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns");
            relay_loop(&knobs, &ready_tx);
        }));
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("relay did not start");
    }

    fn set(&self, loss_permille: u32, jitter_ms: u32) {
        self.knobs
            .loss_permille
            .store(loss_permille, Ordering::SeqCst);
        self.knobs.jitter_ms.store(jitter_ms, Ordering::SeqCst);
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.knobs.passed.load(Ordering::SeqCst),
            self.knobs.dropped.load(Ordering::SeqCst),
        )
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.knobs.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        sh(&["ip", "netns", "del", &self.ns]);
    }
}

/// A small xorshift generator (the test needs no crate for dice).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(n.max(1))) as u32
    }
}

/// IPv4/UDP to the heartbeat port: the destination address.
fn heartbeat_dst(pkt: &[u8]) -> Option<std::net::Ipv4Addr> {
    if pkt.len() < 28 || pkt[0] >> 4 != 4 || pkt[9] != 17 {
        return None;
    }
    let ihl = usize::from(pkt[0] & 0x0f) * 4;
    let port = u16::from_be_bytes([*pkt.get(ihl + 2)?, *pkt.get(ihl + 3)?]);
    (port == 539).then(|| std::net::Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]))
}

fn relay_loop(k: &Knobs, ready: &std::sync::mpsc::Sender<()>) {
    use nix::sys::socket::{
        recvfrom, sendto, setsockopt, socket, sockopt::ReceiveTimeout, AddressFamily, LinkAddr,
        MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn,
    };
    use nix::sys::time::TimeVal;
    let tap = socket(
        AddressFamily::Packet,
        SockType::Datagram,
        SockFlag::empty(),
        SockProtocol::EthIp,
    )
    .expect("packet socket");
    setsockopt(&tap, ReceiveTimeout, &TimeVal::new(0, 2_000)).expect("SO_RCVTIMEO");
    let out = socket(
        AddressFamily::Inet,
        SockType::Raw,
        SockFlag::empty(),
        SockProtocol::Raw,
    )
    .expect("raw socket");
    let _ = ready.send(());
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut dice = Dice(seed);
    let mut pending: Vec<(Instant, Vec<u8>, std::net::Ipv4Addr)> = Vec::new();
    let mut buf = [0u8; 2048];
    while !k.stop.load(Ordering::SeqCst) {
        if let Ok((n, from)) = recvfrom::<LinkAddr>(tap.as_raw_fd(), &mut buf) {
            let outgoing = from.is_some_and(|a| a.pkttype() == libc::PACKET_OUTGOING);
            if let (false, Some(dst)) = (outgoing, heartbeat_dst(&buf[..n])) {
                if dice.below(1000) < k.loss_permille.load(Ordering::SeqCst) {
                    k.dropped.fetch_add(1, Ordering::SeqCst);
                } else {
                    let jitter = k.jitter_ms.load(Ordering::SeqCst);
                    let delay = Duration::from_millis(u64::from(dice.below(jitter + 1)));
                    let mut pkt = buf[..n].to_vec();
                    // A veth hands the packet over with the UDP checksum
                    // left to offload (only the pseudo-header sum is in
                    // it): send it with none (0 is "no checksum" in IPv4).
                    let ihl = usize::from(pkt[0] & 0x0f) * 4;
                    if let Some(sum) = pkt.get_mut(ihl + 6..ihl + 8) {
                        sum.copy_from_slice(&[0, 0]);
                    }
                    pending.push((Instant::now() + delay, pkt, dst));
                }
            }
        }
        let now = Instant::now();
        let mut i = 0;
        while i < pending.len() {
            if pending[i].0 <= now {
                let (_, pkt, dst) = pending.swap_remove(i);
                let to = SockaddrIn::from(std::net::SocketAddrV4::new(dst, 0));
                if sendto(out.as_raw_fd(), &pkt, &to, MsgFlags::empty()).is_ok() {
                    k.passed.fetch_add(1, Ordering::SeqCst);
                }
            } else {
                i += 1;
            }
        }
    }
}

/// FLT-P06: 30 % loss and 0-2·K delay for `PULSE_RELAY_SECONDS` (default
/// 30; the catalogue's run is 600) at K 0.1 / D 1.5: no failover, the VIP
/// sampled every 100 ms on the primary only. Then total loss: the backup
/// takes over within D + K (+ slack). Then the loss goes back to 30 %: one
/// router keeps the VIP, and the VIP is never on both for 10 s.
#[test]
fn flt_p06_heartbeats_through_a_lossy_relay() {
    if !can_run() {
        return;
    }
    let seconds: u64 = std::env::var("PULSE_RELAY_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let t = Topo::new();
    let mut relay = Relay::new(&t);
    relay.start();
    let (k, d) = (0.1, 1.5);
    let cfg = t.config("lvs-relay.cf", &k.to_string(), &d.to_string(), "");
    let text = std::fs::read_to_string(&cfg)
        .expect("read config")
        .replace(&format!("primary = {R1}"), &format!("primary = {REL_R1}"))
        .replace(&format!("backup = {R2}"), &format!("backup = {REL_R2}"));
    std::fs::write(&cfg, text).expect("write config");
    let standin = t.standin("lvsd", true, None);
    let p1 = t.pulse(&t.r1, "r1", &cfg, &standin, &[]);
    assert!(p1.wait_state("active", sec(10.0)), "{:?}", p1.log());
    let p2 = t.pulse(&t.r2, "r2", &cfg, &standin, &[]);
    let seen = wait_until(sec(10.0), || {
        p2.status()
            .is_some_and(|s| s["state"] == "inactive" && s["partner"]["state"] == "active")
    });
    assert!(
        seen.is_some(),
        "no heartbeats through the relay (passed, dropped: {:?}): {:?} / {:?}",
        relay.counts(),
        p1.log(),
        p2.log()
    );

    // 1. 30 % loss, 0-2·K delay: no failover
    let (passed0, dropped0) = relay.counts();
    relay.set(300, (2.0 * k * 1000.0) as u32);
    let start = Instant::now();
    let mut samples = 0;
    while start.elapsed() < Duration::from_secs(seconds) {
        assert!(
            t.has_vip(&t.r1) && !t.has_vip(&t.r2),
            "failover at 30 % loss after {:?}: {:?} / {:?}",
            start.elapsed(),
            p1.log(),
            p2.log()
        );
        samples += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(p2.count("activating lvs"), 0, "{:?}", p2.log());
    let (passed, dropped) = relay.counts();
    let (passed, dropped) = (passed - passed0, dropped - dropped0);
    let share = dropped as f64 / (passed + dropped).max(1) as f64;
    assert!(
        (0.25..0.35).contains(&share),
        "the relay dropped {dropped} of {}",
        passed + dropped
    );

    // 2. total loss: the backup takes over
    relay.set(1000, 0);
    let cut = Instant::now();
    let took = wait_until(sec(d + k + 1.0 + slack()), || t.has_vip(&t.r2))
        .map(|at| (at - cut).as_secs_f64());
    assert!(took.is_some(), "no takeover at total loss: {:?}", p2.log());

    // 3. heal to 30 % loss: the backup yields, never both again
    relay.set(300, (2.0 * k * 1000.0) as u32);
    let healed = wait_until(sec(d + 2.0 * k + 1.0 + slack()), || {
        !(t.has_vip(&t.r1) && t.has_vip(&t.r2))
    });
    assert!(healed.is_some(), "still dual-active after the heal");
    let after = assert_never_dual_active(&t, "after the heal of the relay");
    assert!(
        t.has_vip(&t.r1) || t.has_vip(&t.r2),
        "nobody holds the VIP after the heal"
    );
    println!(
        "FIGURE FLT-P06 K {k} D {d}: 30 % loss ({dropped} of {} heartbeats dropped), 0-{:.0} ms delay, {seconds} s: 0 failovers, {samples} VIP samples; total loss: takeover after {:.0} ms; after the heal {after} dual-active samples, 0 overlaps",
        passed + dropped,
        2.0 * k * 1000.0,
        took.unwrap_or(f64::NAN) * 1000.0
    );
}
