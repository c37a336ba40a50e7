//! Gratuitous ARP and IPv6 unsolicited neighbour advertisements.
//!
//! Owns building those frames and sending them on an AF_PACKET socket.
//! It decides nothing about when to send: pulse does.
//!
//! Frame building ([`arp_reply_frame`], [`arp_request_frame`],
//! [`unsolicited_na_frame`]) is pure and byte-exact; [`Sender`] is a thin
//! AF_PACKET layer around it.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    bind, sendto, socket, AddressFamily, LinkAddr, MsgFlags, SockFlag, SockType, SockaddrLike,
};

/// A 48-bit Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Mac = Mac([0xff; 6]);
    /// 00:00:00:00:00:00.
    pub const ZERO: Mac = Mac([0; 6]);

    /// The bytes.
    pub fn octets(self) -> [u8; 6] {
        self.0
    }

    /// Twelve upper-case hex digits without separators, as pulse passed MACs
    /// to Piranha's send_arp.
    pub fn to_plain_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02X}")).collect()
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// The error for a MAC that is neither 12 hex digits nor 6 colon-separated
/// pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMac;

impl fmt::Display for InvalidMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Invalid hardware address")
    }
}

impl std::error::Error for InvalidMac {}

impl std::str::FromStr for Mac {
    type Err = InvalidMac;

    /// Accepts `001122AABBCC`, `00:11:22:aa:bb:cc` (either case). Colons, when
    /// present, must separate all six pairs.
    fn from_str(s: &str) -> Result<Mac, InvalidMac> {
        let bytes = s.as_bytes();
        let digits: Vec<u8> = match bytes.len() {
            12 => bytes.to_vec(),
            17 => {
                let mut out = Vec::with_capacity(12);
                for (i, &c) in bytes.iter().enumerate() {
                    if i % 3 == 2 {
                        if c != b':' {
                            return Err(InvalidMac);
                        }
                    } else {
                        out.push(c);
                    }
                }
                out
            }
            _ => return Err(InvalidMac),
        };
        let mut mac = [0u8; 6];
        for (i, pair) in digits.chunks(2).enumerate() {
            let hi = hex_val(pair[0]).ok_or(InvalidMac)?;
            let lo = hex_val(pair[1]).ok_or(InvalidMac)?;
            mac[i] = hi << 4 | lo;
        }
        Ok(Mac(mac))
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Ethertype of ARP.
pub const ETH_P_ARP: u16 = 0x0806;
/// Ethertype of IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// Length of an ARP frame as Piranha sent it (14 + 28 + 18 bytes of padding).
pub const ARP_FRAME_LEN: usize = 60;
/// Length of the unsolicited neighbour advertisement frame
/// (14 Ethernet + 40 IPv6 + 24 NA + 8 option).
pub const NA_FRAME_LEN: usize = 86;

/// ARP opcode: request.
pub const ARPOP_REQUEST: u16 = 1;
/// ARP opcode: reply.
pub const ARPOP_REPLY: u16 = 2;

fn arp_frame(
    eth_dst: Mac,
    eth_src: Mac,
    op: u16,
    sender_mac: Mac,
    sender_ip: Ipv4Addr,
    target_mac: Mac,
    target_ip: Ipv4Addr,
) -> [u8; ARP_FRAME_LEN] {
    let mut f = [0u8; ARP_FRAME_LEN];
    f[0..6].copy_from_slice(&eth_dst.0);
    f[6..12].copy_from_slice(&eth_src.0);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // htype Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // ptype IPv4
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&op.to_be_bytes());
    f[22..28].copy_from_slice(&sender_mac.0);
    f[28..32].copy_from_slice(&sender_ip.octets());
    f[32..38].copy_from_slice(&target_mac.0);
    f[38..42].copy_from_slice(&target_ip.octets());
    // 42..60 stay zero: padding to the Ethernet minimum.
    f
}

/// Piranha's frame: a gratuitous ARP *reply* (opcode 2) sent to `eth_dst`
/// (pulse passes the broadcast address), with sender and target both set to
/// `src_ip`/`src_mac`. Piranha's `targ_ip_addr` argument is not used.
pub fn arp_reply_frame(src_ip: Ipv4Addr, src_mac: Mac, eth_dst: Mac) -> [u8; ARP_FRAME_LEN] {
    arp_frame(
        eth_dst,
        src_mac,
        ARPOP_REPLY,
        src_mac,
        src_ip,
        src_mac,
        src_ip,
    )
}

/// A gratuitous ARP *request* (RFC 5227 announcement style): broadcast,
/// opcode 1, sender IP = target IP = `ip`, target MAC all zero.
pub fn arp_request_frame(ip: Ipv4Addr, mac: Mac) -> [u8; ARP_FRAME_LEN] {
    arp_frame(Mac::BROADCAST, mac, ARPOP_REQUEST, mac, ip, Mac::ZERO, ip)
}

/// The all-nodes multicast address ff02::1.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// An unsolicited neighbour advertisement (RFC 4861 7.2.6) for `target`:
/// Ethernet to 33:33:00:00:00:01, IPv6 from `src` (usually `target` itself)
/// to ff02::1 with hop limit 255, ICMPv6 type 136 with the Override flag and
/// a target link-layer address option carrying `mac`.
pub fn unsolicited_na_frame(target: Ipv6Addr, src: Ipv6Addr, mac: Mac) -> [u8; NA_FRAME_LEN] {
    let mut f = [0u8; NA_FRAME_LEN];
    let dst = ALL_NODES;
    f[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&mac.0);
    f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    let ip = &mut f[14..54];
    ip[0] = 0x60; // version 6, traffic class 0, flow label 0
    let payload_len: u16 = 32;
    ip[4..6].copy_from_slice(&payload_len.to_be_bytes());
    ip[6] = 58; // ICMPv6
    ip[7] = 255; // hop limit
    ip[8..24].copy_from_slice(&src.octets());
    ip[24..40].copy_from_slice(&dst.octets());
    let icmp = &mut f[54..86];
    icmp[0] = 136; // neighbour advertisement
    icmp[1] = 0;
    // checksum at 2..4, filled below
    icmp[4] = 0x20; // R=0 S=0 O=1
    icmp[8..24].copy_from_slice(&target.octets());
    icmp[24] = 2; // option: target link-layer address
    icmp[25] = 1; // length in units of 8 bytes
    icmp[26..32].copy_from_slice(&mac.0);
    let sum = icmpv6_checksum(&src, &dst, &f[54..86]);
    f[56..58].copy_from_slice(&sum.to_be_bytes());
    f
}

/// The ICMPv6 checksum (RFC 4443 2.3) of `msg` (whose checksum field must be
/// zero), over the IPv6 pseudo-header.
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for chunk in bytes.chunks(2) {
            let word = if chunk.len() == 2 {
                u16::from_be_bytes([chunk[0], chunk[1]])
            } else {
                u16::from_be_bytes([chunk[0], 0])
            };
            sum = sum.wrapping_add(u32::from(word));
        }
    };
    add(&src.octets());
    add(&dst.octets());
    let len = msg.len() as u32;
    add(&len.to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(msg);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An AF_PACKET raw socket bound to one interface.
#[derive(Debug)]
pub struct Sender {
    fd: OwnedFd,
    ifindex: i32,
}

/// The index of interface `dev`.
pub fn ifindex(dev: &str) -> io::Result<u32> {
    if dev.as_bytes().contains(&0) {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    Ok(nix::net::if_::if_nametoindex(dev)?)
}

/// The hardware address of interface `dev` (its link-layer entry in
/// getifaddrs(3); all zeros for an interface without one, as SIOCGIFHWADDR
/// reports it).
pub fn interface_mac(dev: &str) -> io::Result<Mac> {
    if dev.is_empty() || dev.len() >= libc::IFNAMSIZ {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    for ifa in nix::ifaddrs::getifaddrs()? {
        if ifa.interface_name != dev {
            continue;
        }
        if let Some(link) = ifa.address.as_ref().and_then(|a| a.as_link_addr()) {
            return Ok(Mac(link.addr().unwrap_or([0; 6])));
        }
    }
    Err(io::Error::from_raw_os_error(libc::ENODEV))
}

impl Sender {
    /// Opens an AF_PACKET/SOCK_RAW socket bound to `dev`.
    pub fn open(dev: &str) -> io::Result<Sender> {
        let ifindex = ifindex(dev)? as i32;
        // Protocol 0: this socket only sends, it receives nothing.
        let fd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        bind(fd.as_raw_fd(), &link_addr(ifindex, 0, Mac::ZERO)?)?;
        Ok(Sender { fd, ifindex })
    }

    /// Sends one complete Ethernet frame (destination and ethertype are read
    /// from the frame itself).
    pub fn send_frame(&self, frame: &[u8]) -> io::Result<()> {
        if frame.len() < 14 {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&frame[0..6]);
        let proto = u16::from_be_bytes([frame[12], frame[13]]);
        let to = link_addr(self.ifindex, proto, Mac(dst))?;
        let n = sendto(self.fd.as_raw_fd(), frame, &to, MsgFlags::empty())?;
        if n != frame.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
        }
        Ok(())
    }

    /// Sends the gratuitous ARP request then Piranha's gratuitous reply for
    /// `ip` (both broadcast).
    pub fn announce_v4(&self, ip: Ipv4Addr, mac: Mac) -> io::Result<()> {
        self.send_frame(&arp_request_frame(ip, mac))?;
        self.send_frame(&arp_reply_frame(ip, mac, Mac::BROADCAST))
    }

    /// Sends an unsolicited neighbour advertisement for `ip`.
    pub fn announce_v6(&self, ip: Ipv6Addr, mac: Mac) -> io::Result<()> {
        self.send_frame(&unsolicited_na_frame(ip, ip, mac))
    }
}

/// The AF_PACKET address of `addr` on interface `ifindex` for protocol
/// `proto`.
fn link_addr(ifindex: i32, proto: u16, addr: Mac) -> io::Result<LinkAddr> {
    let mut sll_addr = [0u8; 8];
    sll_addr[..6].copy_from_slice(&addr.0);
    let sll = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: proto.to_be(),
        sll_ifindex: ifindex,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr,
    };
    // SAFETY: nix's LinkAddr has no constructor from an index, protocol and
    // hardware address, only from a raw sockaddr_ll; `sll` is a complete
    // sockaddr_ll (family AF_PACKET) that lives across the call, passed
    // with its own size.
    let link = unsafe {
        LinkAddr::from_raw(
            &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
            Some(std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t),
        )
    };
    link.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parsing() {
        let m: Mac = "0011229AbBcC".parse().unwrap();
        assert_eq!(m.0, [0x00, 0x11, 0x22, 0x9a, 0xbb, 0xcc]);
        let m2: Mac = "00:11:22:9a:bb:cc".parse().unwrap();
        assert_eq!(m, m2);
        assert_eq!(m.to_plain_hex(), "0011229ABBCC");
        assert_eq!(m.to_string(), "00:11:22:9a:bb:cc");
        for bad in [
            "",
            "0011229abbc",
            "0011229abbccd",
            "00:11:22:9a:bb:c",
            "00-11-22-9a-bb-cc",
            "00:11:22:9a:bb:cg",
            "001122:9abbcc",
            "0x1122aabbcc",
            "ééééé",
        ] {
            assert_eq!(bad.parse::<Mac>(), Err(InvalidMac), "{bad}");
        }
    }

    const MAC: Mac = Mac([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

    #[test]
    fn golden_arp_reply() {
        let f = arp_reply_frame(Ipv4Addr::new(192, 0, 2, 10), MAC, Mac::BROADCAST);
        #[rustfmt::skip]
        let expected: [u8; 60] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // eth dst
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // eth src
            0x08, 0x06,                         // ARP
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // Ethernet/IPv4, 6, 4
            0x00, 0x02,                         // reply
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 192, 0, 2, 10, // sender
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 192, 0, 2, 10, // target
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // padding
        ];
        assert_eq!(f, expected);
    }

    #[test]
    fn golden_arp_reply_unicast_dst() {
        let dst = Mac([1, 2, 3, 4, 5, 6]);
        let f = arp_reply_frame(Ipv4Addr::new(10, 1, 2, 3), MAC, dst);
        assert_eq!(&f[0..6], &[1, 2, 3, 4, 5, 6]);
        assert_eq!(&f[22..28], &MAC.0);
        assert_eq!(&f[32..38], &MAC.0);
    }

    /// Reliability catalogue HB-12 (docs/RELIABILITY.md).
    #[test]
    fn golden_arp_request() {
        let f = arp_request_frame(Ipv4Addr::new(192, 0, 2, 10), MAC);
        #[rustfmt::skip]
        let expected: [u8; 60] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
            0x08, 0x06,
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
            0x00, 0x01,                         // request
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 192, 0, 2, 10,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 192, 0, 2, 10,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(f, expected);
    }

    #[test]
    fn golden_unsolicited_na() {
        let ip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let f = unsolicited_na_frame(ip, ip, MAC);
        #[rustfmt::skip]
        let expected: [u8; 86] = [
            0x33, 0x33, 0x00, 0x00, 0x00, 0x01,
            0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
            0x86, 0xdd,
            // IPv6 header
            0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 58, 255,
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
            // ICMPv6 NA
            136, 0, 0x74, 0x51, 0x20, 0, 0, 0,
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
            2, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
        ];
        assert_eq!(f, expected);
        // The checksum over the pseudo-header and message verifies to zero.
        let mut sum: u32 = 0;
        let src = ip.octets();
        let dst = ALL_NODES.octets();
        let mut words: Vec<u8> = Vec::new();
        words.extend_from_slice(&src);
        words.extend_from_slice(&dst);
        words.extend_from_slice(&32u32.to_be_bytes());
        words.extend_from_slice(&[0, 0, 0, 58]);
        words.extend_from_slice(&f[54..86]);
        for c in words.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff);
    }
}
