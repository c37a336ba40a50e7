//! A small synchronous rtnetlink client: address dumps, link flags, address
//! add/delete. Requests are a few hundred bytes and answered in
//! microseconds, so they run inline.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFLA_IFNAME: u16 = 3;
/// The address is a secondary one.
pub const IFA_F_SECONDARY: u8 = 0x01;
const IFA_F_NODAD: u8 = 0x02;

/// One interface address, as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface index.
    pub index: u32,
    /// The address (IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// IFA_LABEL (IPv4 only; the interface name or an alias `eth0:1`).
    pub label: Option<String>,
    /// `IFA_F_*` flags.
    pub flags: u8,
}

impl IfAddr {
    /// Not a secondary address.
    pub fn is_primary(&self) -> bool {
        self.flags & IFA_F_SECONDARY == 0
    }
}

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// `IFF_*` flags.
    pub flags: u32,
}

impl Link {
    /// IFF_UP and IFF_RUNNING (administratively up with carrier).
    pub fn is_up(&self) -> bool {
        let f = self.flags;
        f & (libc::IFF_UP as u32) != 0 && f & (libc::IFF_RUNNING as u32) != 0
    }
}

struct Socket {
    fd: OwnedFd,
    seq: u32,
}

fn push_attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(data);
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    b.get(off..off + 2)
        .map(|s| u16::from_ne_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// Iterates over `(type, payload)` of the rtattrs in `b`.
fn attrs(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(u16_at(b, 0)?);
        let kind = u16_at(b, 2)?;
        if len < 4 || len > b.len() {
            return None;
        }
        let data = &b[4..len];
        let adv = (len + 3) & !3;
        b = b.get(adv..).unwrap_or(&[]);
        Some((kind & 0x3fff, data))
    })
}

fn ip_from(family: u8, data: &[u8]) -> Option<IpAddr> {
    match family as i32 {
        libc::AF_INET => <[u8; 4]>::try_from(data)
            .ok()
            .map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        libc::AF_INET6 => <[u8; 16]>::try_from(data)
            .ok()
            .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        _ => None,
    }
}

fn cstr(data: &[u8]) -> String {
    let end = data.iter().position(|&c| c == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

impl Socket {
    fn open() -> io::Result<Socket> {
        // SAFETY: plain socket(2) call.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let tv = libc::timeval {
            tv_sec: 2,
            tv_usec: 0,
        };
        // SAFETY: valid option value.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as u32,
            );
        }
        Ok(Socket { fd, seq: 1 })
    }

    fn send(&mut self, kind: u16, flags: u16, body: &[u8]) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut msg = Vec::with_capacity(16 + body.len());
        msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        // SAFETY: zeroed sockaddr_nl addresses the kernel.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: msg and sa are valid for their lengths.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                msg.as_ptr() as *const libc::c_void,
                msg.len(),
                0,
                &sa as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(self.seq)
    }

    /// Receives replies to `seq` until DONE (dump) or the ACK/error; calls
    /// `each` with (type, payload) of every data message.
    fn recv_all(&mut self, seq: u32, mut each: impl FnMut(u16, &[u8])) -> io::Result<()> {
        let mut buf = vec![0u8; 65536];
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut b = &buf[..n as usize];
            while b.len() >= 16 {
                let len = u32_at(b, 0).unwrap_or(0) as usize;
                let kind = u16_at(b, 4).unwrap_or(0);
                let mseq = u32_at(b, 8).unwrap_or(0);
                if len < 16 || len > b.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "bad netlink message",
                    ));
                }
                let payload = &b[16..len];
                if mseq == seq {
                    match kind {
                        NLMSG_DONE => return Ok(()),
                        NLMSG_ERROR => {
                            let code = u32_at(payload, 0).unwrap_or(0) as i32;
                            if code == 0 {
                                return Ok(());
                            }
                            return Err(io::Error::from_raw_os_error(-code));
                        }
                        _ => each(kind, payload),
                    }
                }
                let adv = (len + 3) & !3;
                b = b.get(adv..).unwrap_or(&[]);
            }
        }
    }
}

/// All addresses of all interfaces (IPv4 and IPv6).
pub fn addresses() -> io::Result<Vec<IfAddr>> {
    let mut s = Socket::open()?;
    let body = [0u8; 8]; // ifaddrmsg, family AF_UNSPEC
    let seq = s.send(RTM_GETADDR, NLM_F_DUMP, &body)?;
    let mut out = Vec::new();
    s.recv_all(seq, |kind, p| {
        if kind != RTM_NEWADDR || p.len() < 8 {
            return;
        }
        let family = p[0];
        let prefix = p[1];
        let mut flags = p[2];
        let index = u32_at(p, 4).unwrap_or(0);
        let mut local = None;
        let mut address = None;
        let mut label = None;
        for (t, d) in attrs(&p[8..]) {
            match t {
                IFA_LOCAL => local = ip_from(family, d),
                IFA_ADDRESS => address = ip_from(family, d),
                IFA_LABEL => label = Some(cstr(d)),
                8 => {
                    // IFA_FLAGS (u32): the low byte mirrors ifa_flags
                    if let Some(f) = u32_at(d, 0) {
                        flags = f as u8;
                    }
                }
                _ => {}
            }
        }
        if let Some(addr) = local.or(address) {
            out.push(IfAddr {
                index,
                addr,
                prefix,
                label,
                flags,
            });
        }
    })?;
    Ok(out)
}

/// All interfaces.
pub fn links() -> io::Result<Vec<Link>> {
    let mut s = Socket::open()?;
    let body = [0u8; 16]; // ifinfomsg
    let seq = s.send(RTM_GETLINK, NLM_F_DUMP, &body)?;
    let mut out = Vec::new();
    s.recv_all(seq, |kind, p| {
        if kind != RTM_NEWLINK || p.len() < 16 {
            return;
        }
        let index = u32_at(p, 4).unwrap_or(0);
        let flags = u32_at(p, 8).unwrap_or(0);
        let name = attrs(&p[16..])
            .find(|(t, _)| *t == IFLA_IFNAME)
            .map(|(_, d)| cstr(d))
            .unwrap_or_default();
        out.push(Link { index, name, flags });
    })?;
    Ok(out)
}

/// An address to add or remove.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddrSpec {
    /// Interface index of the base device.
    pub index: u32,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// IPv4 label (`eth0:1`); ignored for IPv6.
    pub label: Option<String>,
}

fn addr_body(spec: &AddrSpec, with_extras: bool) -> Vec<u8> {
    let (family, bytes): (u8, Vec<u8>) = match spec.addr {
        IpAddr::V4(a) => (libc::AF_INET as u8, a.octets().to_vec()),
        IpAddr::V6(a) => (libc::AF_INET6 as u8, a.octets().to_vec()),
    };
    let mut flags = 0u8;
    if spec.addr.is_ipv6() && with_extras {
        flags |= IFA_F_NODAD;
    }
    let mut body = vec![family, spec.prefix, flags, 0];
    body.extend_from_slice(&spec.index.to_ne_bytes());
    push_attr(&mut body, IFA_LOCAL, &bytes);
    push_attr(&mut body, IFA_ADDRESS, &bytes);
    if let IpAddr::V4(a) = spec.addr {
        if with_extras && spec.prefix < 31 {
            let mask = if spec.prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(spec.prefix))
            };
            let brd = (u32::from(a) & mask) | !mask;
            push_attr(&mut body, IFA_BROADCAST, &brd.to_be_bytes());
        }
        if let Some(label) = &spec.label {
            let mut l = label.as_bytes().to_vec();
            l.truncate(15);
            l.push(0);
            push_attr(&mut body, IFA_LABEL, &l);
        }
    }
    body
}

/// Adds an address; an address already present is not an error.
pub fn add_address(spec: &AddrSpec) -> io::Result<()> {
    let mut s = Socket::open()?;
    let seq = s.send(
        RTM_NEWADDR,
        NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK,
        &addr_body(spec, true),
    )?;
    match s.recv_all(seq, |_, _| {}) {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        r => r,
    }
}

/// Removes an address; an address already absent is not an error.
pub fn del_address(spec: &AddrSpec) -> io::Result<()> {
    let mut s = Socket::open()?;
    let seq = s.send(RTM_DELADDR, NLM_F_ACK, &addr_body(spec, false))?;
    match s.recv_all(seq, |_, _| {}) {
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EADDRNOTAVAIL) | Some(libc::ENOENT)
            ) =>
        {
            Ok(())
        }
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_iteration_is_total() {
        let mut b = Vec::new();
        push_attr(&mut b, 3, b"eth0\0");
        push_attr(&mut b, 2, &[1, 2, 3, 4]);
        let v: Vec<_> = attrs(&b).collect();
        assert_eq!(v, vec![(3, &b"eth0\0"[..]), (2, &[1u8, 2, 3, 4][..])]);
        // truncated / garbage never panics
        for cut in 0..b.len() {
            let _ = attrs(&b[..cut]).count();
        }
        let _ = attrs(&[0xff, 0xff, 0, 0]).count();
        let _ = attrs(&[0, 0, 0, 0]).count();
    }

    #[test]
    fn loopback_is_listed() {
        let Ok(addrs) = addresses() else { return };
        assert!(addrs
            .iter()
            .any(|a| a.addr == IpAddr::V4(Ipv4Addr::LOCALHOST)));
        let links = links().unwrap();
        assert!(links.iter().any(|l| l.name == "lo"));
    }
}
