//! A planned stop of the active router hands over make-before-break: pulse
//! says "leaving" at once and keeps its VIPs until the partner announces
//! them (the partner's gratuitous ARP for one of them arrives), at most
//! `deadtime`; only then it takes them down and stops lvsd. The partner's
//! takeover (lvsd, its first round of checks, the VIPs) takes hundreds of
//! milliseconds; relinquishing first would leave the VIPs unserved for all
//! of it. IPv6-only VIP sets (no ARP) are not waited for.

use nix::sys::socket::sockopt::ReceiveTimeout;
use nix::sys::socket::{recvfrom, setsockopt, LinkAddr};
use nix::sys::time::TimeVal;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// The sender protocol address of an Ethernet/IPv4 ARP packet (as a
/// `SOCK_DGRAM` packet socket delivers it, without the Ethernet header).
pub fn arp_sender(pkt: &[u8]) -> Option<Ipv4Addr> {
    // htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4.
    if pkt.len() < 28 || pkt[0..6] != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    Some(Ipv4Addr::new(pkt[14], pkt[15], pkt[16], pkt[17]))
}

/// A packet socket that sees every ARP packet arriving on this host.
/// Opened before "leaving" goes out: the partner can announce the VIPs
/// within a few milliseconds of hearing it, and an announcement that
/// arrives before the socket exists is missed (the next round comes one
/// second later), which kept both routers holding the VIPs until the
/// hand-over's `deadtime` bound.
pub struct ArpWatch {
    fd: OwnedFd,
}

impl ArpWatch {
    /// Opens the socket (root only).
    pub fn open() -> std::io::Result<ArpWatch> {
        let proto = (libc::ETH_P_ARP as u16).to_be();
        // SAFETY: nix's socket() takes only the protocols its SockProtocol
        // names, and ETH_P_ARP is not one of them (ETH_P_ALL would see every
        // packet), so socket(2) is called directly; it takes no pointer, and
        // a descriptor it returns is new and owned by nothing else.
        let fd = unsafe {
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, i32::from(proto));
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            OwnedFd::from_raw_fd(fd)
        };
        setsockopt(&fd, ReceiveTimeout, &TimeVal::new(0, 50_000)).map_err(std::io::Error::from)?;
        Ok(ArpWatch { fd })
    }

    /// Waits until an ARP packet from another host (not one this host
    /// sent) names one of `vips` as its sender, or `timeout` passes. True
    /// when one did. Packets queued since [`ArpWatch::open`] count.
    /// Blocking: run it off the event loop.
    pub fn wait_announce(&self, vips: &[Ipv4Addr], timeout: Duration) -> bool {
        if vips.is_empty() || timeout.is_zero() {
            return false;
        }
        let end = Instant::now() + timeout;
        let mut buf = [0u8; 128];
        while Instant::now() < end {
            let Ok((n, from)) = recvfrom::<LinkAddr>(self.fd.as_raw_fd(), &mut buf) else {
                continue;
            };
            let outgoing = from.is_some_and(|a| a.pkttype() == libc::PACKET_OUTGOING);
            if n == 0 || outgoing {
                continue;
            }
            if arp_sender(&buf[..n]).is_some_and(|ip| vips.contains(&ip)) {
                return true;
            }
        }
        false
    }
}

/// [`ArpWatch::wait_announce`] on a socket opened now.
pub fn wait_announce(vips: &[Ipv4Addr], timeout: Duration) -> bool {
    if vips.is_empty() || timeout.is_zero() {
        return false;
    }
    ArpWatch::open().is_ok_and(|w| w.wait_announce(vips, timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arp_sender_of_a_gratuitous_request() {
        let mut p = vec![0, 1, 8, 0, 6, 4, 0, 1];
        p.extend([0x52, 0x54, 0, 0, 1, 2]);
        p.extend([192, 168, 100, 100]);
        p.extend([0; 6]);
        p.extend([192, 168, 100, 100]);
        assert_eq!(arp_sender(&p), Some(Ipv4Addr::new(192, 168, 100, 100)));
        p[2] = 0x86;
        assert_eq!(arp_sender(&p), None);
        assert_eq!(arp_sender(&[0, 1]), None);
        assert!(!wait_announce(&[], Duration::from_secs(1)));
    }
}
