//! A planned stop of the active router hands over make-before-break: pulse
//! says "leaving" at once and keeps its VIPs until the partner announces
//! them (the partner's gratuitous ARP for one of them arrives), at most
//! `deadtime`; only then it takes them down and stops lvsd. The partner's
//! takeover (lvsd, its first round of checks, the VIPs) takes hundreds of
//! milliseconds; relinquishing first would leave the VIPs unserved for all
//! of it. IPv6-only VIP sets (no ARP) are not waited for.

use std::net::Ipv4Addr;
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

/// Waits until an ARP packet from another host (not one this host sent)
/// names one of `vips` as its sender, or `timeout` passes. True when one
/// did. Blocking: run it off the event loop.
pub fn wait_announce(vips: &[Ipv4Addr], timeout: Duration) -> bool {
    if vips.is_empty() || timeout.is_zero() {
        return false;
    }
    let proto = (libc::ETH_P_ARP as u16).to_be();
    // SAFETY: plain socket(2) call; the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, proto as i32) };
    if fd < 0 {
        return false;
    }
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 50_000,
    };
    // SAFETY: fd is ours; tv outlives the call.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    let end = Instant::now() + timeout;
    let mut buf = [0u8; 128];
    let mut seen = false;
    while !seen && Instant::now() < end {
        // SAFETY: zeroed sockaddr_ll is valid; buf and addr outlive the call.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        let n = unsafe {
            libc::recvfrom(
                fd,
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
                &mut addr as *mut _ as *mut libc::sockaddr,
                &mut len,
            )
        };
        if n <= 0 || addr.sll_pkttype == libc::PACKET_OUTGOING {
            continue;
        }
        seen = arp_sender(&buf[..n as usize]).is_some_and(|ip| vips.contains(&ip));
    }
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    seen
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
