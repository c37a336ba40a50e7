//! HB-12: the frames on the wire, captured on the peer of a veth pair inside
//! a network namespace this test creates. Needs root; skipped otherwise.

use send_arp::{arp_reply_frame, arp_request_frame, unsolicited_na_frame, Mac, Sender};
use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip");
    assert!(st.success(), "ip {args:?} failed");
}

/// A namespace with a veth pair `a`/`b`, both up; deleted on drop.
struct Ns {
    name: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Ns {
    fn new() -> Ns {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("sarp-{}-{n}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(std::process::Stdio::null())
            .status();
        ip(&["netns", "add", &name]);
        let ns = Ns { name };
        ns.exec(&[
            "ip", "link", "add", "name", "a", "type", "veth", "peer", "name", "b",
        ]);
        ns.exec(&[
            "ip",
            "link",
            "set",
            "dev",
            "a",
            "address",
            "52:54:00:12:34:56",
        ]);
        ns.exec(&["ip", "link", "set", "dev", "a", "up"]);
        ns.exec(&["ip", "link", "set", "dev", "b", "up"]);
        ns
    }

    fn exec(&self, args: &[&str]) {
        let st = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .status()
            .expect("run ip netns exec");
        assert!(st.success(), "{args:?} failed in {}", self.name);
    }

    /// Runs `f` on a thread that has entered this namespace.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).expect("open netns");
                // SAFETY: setns on a valid namespace fd affects this thread only.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .expect("netns thread")
        })
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A capture socket on interface `dev` (opened in the current thread's
/// namespace).
fn capture(dev: &str) -> OwnedFd {
    let idx = send_arp::ifindex(dev).expect("ifindex") as i32;
    // SAFETY: plain socket(2) call.
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            (libc::ETH_P_ALL as u16).to_be() as i32,
        )
    };
    assert!(raw >= 0);
    // SAFETY: fresh descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: zeroed sockaddr_ll is valid.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = idx;
    // SAFETY: valid sockaddr_ll.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &sll as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    assert_eq!(rc, 0);
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 200_000,
    };
    // SAFETY: valid timeval option.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as u32,
        );
    }
    fd
}

/// Frames received within `wait` that satisfy `keep`.
fn collect(fd: &OwnedFd, wait: Duration, keep: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
    let end = Instant::now() + wait;
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while Instant::now() < end {
        // SAFETY: buf is valid for its length.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
            )
        };
        if n > 0 {
            let frame = &buf[..n as usize];
            if keep(frame) {
                out.push(frame.to_vec());
            }
        }
    }
    out
}

fn is_arp(f: &[u8]) -> bool {
    f.len() >= 14 && f[12..14] == [0x08, 0x06]
}

fn is_na(f: &[u8]) -> bool {
    f.len() >= 55 && f[12..14] == [0x86, 0xdd] && f[20] == 58 && f[54] == 136
}

const MAC: Mac = Mac([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

#[test]
fn binary_sends_piranha_frame_on_the_wire() {
    if !is_root() {
        test_support::skip(module_path!(), "needs root for network namespaces");
        return;
    }
    let ns = Ns::new();
    let bin = env!("CARGO_BIN_EXE_send_arp");
    let frames = ns.run(|| {
        let cap = capture("b");
        let st = Command::new(bin)
            .args([
                "-i",
                "a",
                "192.0.2.10",
                "525400123456",
                "192.0.2.255",
                "ff:ff:ff:ff:ff:ff",
            ])
            .status()
            .expect("run send_arp");
        assert!(st.success());
        collect(&cap, Duration::from_millis(400), is_arp)
    });
    assert_eq!(frames.len(), 1, "{frames:?}");
    let expected = arp_reply_frame(Ipv4Addr::new(192, 0, 2, 10), MAC, Mac::BROADCAST);
    assert_eq!(frames[0].len(), 60);
    assert_eq!(frames[0][..], expected[..]);
}

#[test]
fn library_announcements_on_the_wire() {
    if !is_root() {
        test_support::skip(module_path!(), "needs root for network namespaces");
        return;
    }
    let ns = Ns::new();
    let v6: Ipv6Addr = "2001:db8::10".parse().unwrap();
    let (arps, nas) = ns.run(|| {
        let cap = capture("b");
        let mac = send_arp::interface_mac("a").expect("mac");
        assert_eq!(mac, MAC);
        let s = Sender::open("a").expect("open");
        s.announce_v4(Ipv4Addr::new(192, 0, 2, 11), mac)
            .expect("v4");
        s.announce_v6(v6, mac).expect("v6");
        let all = collect(&cap, Duration::from_millis(400), |f| is_arp(f) || is_na(f));
        let arps: Vec<_> = all.iter().filter(|f| is_arp(f)).cloned().collect();
        let nas: Vec<_> = all.iter().filter(|f| is_na(f)).cloned().collect();
        (arps, nas)
    });
    assert_eq!(arps.len(), 2);
    assert_eq!(
        arps[0][..],
        arp_request_frame(Ipv4Addr::new(192, 0, 2, 11), MAC)[..]
    );
    assert_eq!(
        arps[1][..],
        arp_reply_frame(Ipv4Addr::new(192, 0, 2, 11), MAC, Mac::BROADCAST)[..]
    );
    assert_eq!(nas.len(), 1);
    assert_eq!(nas[0][..], unsolicited_na_frame(v6, v6, MAC)[..]);
}

#[test]
fn binary_usage_and_errors() {
    let bin = env!("CARGO_BIN_EXE_send_arp");
    let out = Command::new(bin).args(["1.2.3.4"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("usage: send_arp [-i <device>]"));
    let out = Command::new(bin)
        .args([
            "-x",
            "eth0",
            "1.2.3.4",
            "001122334455",
            "1.2.3.255",
            "ffffffffffff",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("usage:"));
    let out = Command::new(bin)
        .args([
            "-i",
            "lo",
            "1.2.3.4",
            "00112233445",
            "1.2.3.255",
            "ffffffffffff",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Invalid hardware address\n"
    );
    let out = Command::new(bin)
        .args([
            "-i",
            "lo",
            "1.2.3.4",
            "001122334455",
            "1.2.3.255",
            "ff:ff:ff:ff:ff",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Invalid hardware address\n"
    );
}
