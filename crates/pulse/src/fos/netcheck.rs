//! Before taking over from a partner whose service failed, an FOS router
//! checks that the fault is not its own, as Piranha's pulse did: it pings its default
//! gateway up to 3 times, 1 s each. An answer means the fault is remote
//! (take over); no answer means our own network is broken (stay inactive,
//! `I SEEM TO HAVE A NETWORK FAULT!`, until a heartbeat arrives on the
//! public channel). Piranha ran `/sbin/ip route show` and `/bin/ping`; we
//! read `/proc/net/route` and send the echo requests ourselves.
//!
//! Without a default route there is nothing to ask: we take over (logged),
//! as the failure of the partner's service is then the only fact known.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The gateway answered: the fault is the partner's.
    RemoteFault(Ipv4Addr),
    /// No default route: nothing to check.
    NoGateway,
    /// The gateway did not answer (or could not be asked).
    OwnFault(Ipv4Addr, String),
}

/// The default gateway in `/proc/net/route` text (the first default route
/// with a gateway; addresses are in host byte order of the kernel,
/// little-endian hex on x86).
pub fn default_gateway(route: &str) -> Option<Ipv4Addr> {
    route.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 8 || f[1] != "00000000" || f[7] != "00000000" {
            return None;
        }
        let gw = u32::from_str_radix(f[2], 16).ok()?;
        let flags = u32::from_str_radix(f[3], 16).ok()?;
        // RTF_UP | RTF_GATEWAY
        if gw == 0 || flags & 0x3 != 0x3 {
            return None;
        }
        // The kernel prints the address word as stored (network order)
        // with %08X, so its bytes in host order are the octets.
        Some(Ipv4Addr::from(gw.to_ne_bytes()))
    })
}

/// The ICMP checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with `id` and `seq` (8 bytes of header, 8 of payload).
pub fn echo_request(id: u16, seq: u16) -> [u8; 16] {
    let mut p = [0u8; 16];
    p[0] = 8;
    p[4..6].copy_from_slice(&id.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    p[8..16].copy_from_slice(b"pulsefos");
    let c = checksum(&p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// Whether a raw-socket datagram (IPv4 header + ICMP) is the echo reply
/// to (`id`, `seq`) from `from`.
pub fn is_reply(packet: &[u8], from: Ipv4Addr, id: u16, seq: u16) -> bool {
    let Some(&first) = packet.first() else {
        return false;
    };
    let ihl = usize::from(first & 0x0f) * 4;
    if packet.len() < ihl + 8 || ihl < 20 || packet[12..16] != from.octets() {
        return false;
    }
    let icmp = &packet[ihl..];
    icmp[0] == 0 && icmp[4..6] == id.to_be_bytes() && icmp[6..8] == seq.to_be_bytes()
}

fn ping_once(gw: Ipv4Addr, id: u16, seq: u16, wait: Duration) -> Result<bool, String> {
    use nix::sys::socket::{
        recvfrom, sendto, socket, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType,
        SockaddrIn,
    };
    let fd = socket(
        AddressFamily::Inet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::Icmp,
    )
    .map_err(|e| format!("cannot open an ICMP socket: {e}"))?;
    let to = SockaddrIn::from(std::net::SocketAddrV4::new(gw, 0));
    use std::os::fd::AsRawFd;
    sendto(
        fd.as_raw_fd(),
        &echo_request(id, seq),
        &to,
        MsgFlags::empty(),
    )
    .map_err(|e| format!("sendto {gw}: {e}"))?;
    let end = Instant::now() + wait;
    let mut buf = [0u8; 1500];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut pfd = [nix::poll::PollFd::new(
            std::os::fd::AsFd::as_fd(&fd),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        match nix::poll::poll(&mut pfd, nix::poll::PollTimeout::from(ms)) {
            Ok(0) => return Ok(false),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("poll: {e}")),
        }
        if let Ok((n, _)) = recvfrom::<SockaddrIn>(fd.as_raw_fd(), &mut buf) {
            if is_reply(&buf[..n], gw, id, seq) {
                return Ok(true);
            }
        }
    }
}

/// The network fault check described above (blocking: run it off the event loop).
pub fn check(route: &str) -> Verdict {
    let Some(gw) = default_gateway(route) else {
        return Verdict::NoGateway;
    };
    let id = (std::process::id() & 0xffff) as u16;
    let mut why = String::from("no answer");
    for seq in 1..=3 {
        match ping_once(gw, id, seq, Duration::from_secs(1)) {
            Ok(true) => return Verdict::RemoteFault(gw),
            Ok(false) => why = "no answer".into(),
            Err(e) => why = e,
        }
    }
    Verdict::OwnFault(gw, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
        eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";

    #[test]
    fn default_gateway_from_proc_net_route() {
        if cfg!(target_endian = "little") {
            assert_eq!(default_gateway(ROUTE), Some(Ipv4Addr::new(192, 0, 2, 1)));
        }
        let no_default = ROUTE.lines().take(2).collect::<Vec<_>>().join("\n");
        assert_eq!(default_gateway(&no_default), None);
        assert_eq!(default_gateway(""), None);
        assert_eq!(default_gateway("Iface\nbroken line\n"), None);
        // a default route without a gateway (a point-to-point device)
        let direct = "h\nppp0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n";
        assert_eq!(default_gateway(direct), None);
    }

    #[test]
    fn echo_request_and_reply() {
        let p = echo_request(0x1234, 2);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to 0");
        assert_eq!(&p[..8], &[8, 0, p[2], p[3], 0x12, 0x34, 0, 2]);
        let gw = Ipv4Addr::new(192, 0, 2, 1);
        let mut reply = vec![0x45u8; 20];
        reply[12..16].copy_from_slice(&gw.octets());
        reply.extend_from_slice(&p);
        reply[20] = 0;
        assert!(is_reply(&reply, gw, 0x1234, 2));
        assert!(!is_reply(&reply, gw, 0x1234, 3));
        assert!(!is_reply(&reply, Ipv4Addr::new(192, 0, 2, 9), 0x1234, 2));
        assert!(!is_reply(&reply[..25], gw, 0x1234, 2));
        assert!(!is_reply(&[], gw, 0x1234, 2));
        assert_eq!(check("Iface\n"), Verdict::NoGateway);
    }
}
