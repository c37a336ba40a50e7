//! Replies as values: netlink framing, acknowledgements and errors, and the
//! services, destinations, sync daemons, timeouts and version the kernel
//! sends.
//!
//! Services and destinations (the bulk of every dump) are read in place by
//! a small attribute walker; the rarer replies go through neli.

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::attr::Attribute;
use neli::consts::genl::NlAttrType;
use neli::genl::{Genlmsghdr, Nlattr};
use neli::types::Buffer;
use neli::FromBytesWithInput;

use crate::codec::netlink::*;
use crate::consts::*;
use crate::error::{Error, ProtocolError};
use crate::types::*;

fn de(e: impl std::fmt::Display) -> Error {
    Error::Protocol(ProtocolError::Decoding(e.to_string()))
}

/// What one received netlink message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `NLMSG_ERROR` with error 0.
    Ack,
    /// `NLMSG_ERROR` with a (positive) errno and the kernel's extended-ack
    /// message, if any.
    Error { errno: i32, message: Option<String> },
    /// `NLMSG_DONE` (end of a dump); a dump error arrives as `Error`.
    Done,
    /// A family message: `genlmsghdr` and attributes.
    Data(Vec<u8>),
    /// `NLMSG_NOOP`, `NLMSG_OVERRUN` or anything else.
    Other,
}

/// One received netlink message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
    pub body: Body,
}

fn rd_u16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn rd_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Splits a datagram from the kernel into netlink messages. Errors carry
/// the errno and, with `NETLINK_EXT_ACK`, the kernel's message; it copes
/// with both capped (`NETLINK_CAP_ACK`) and full echoes of the request.
pub fn parse_messages(buf: &[u8]) -> Result<Vec<Message>, Error> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let len = rd_u32(buf, off) as usize;
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            return Err(Error::Protocol(ProtocolError::MessageLength {
                len,
                offset: off,
                total: buf.len(),
            }));
        }
        let ty = rd_u16(buf, off + 4);
        let flags = rd_u16(buf, off + 6);
        let seq = rd_u32(buf, off + 8);
        let pid = rd_u32(buf, off + 12);
        let payload = &buf[off + NLMSG_HDRLEN..off + len];
        let body = match ty {
            NLMSG_ERROR => parse_error(payload, flags)?,
            NLMSG_DONE => {
                // A dump can end with an error code in DONE.
                let code = if payload.len() >= 4 {
                    rd_u32(payload, 0) as i32
                } else {
                    0
                };
                if code < 0 {
                    Body::Error {
                        errno: -code,
                        message: None,
                    }
                } else {
                    Body::Done
                }
            }
            NLMSG_NOOP | NLMSG_OVERRUN => Body::Other,
            _ => Body::Data(payload.to_vec()),
        };
        out.push(Message {
            ty,
            flags,
            seq,
            pid,
            body,
        });
        off += align4(len);
    }
    Ok(out)
}

fn parse_error(p: &[u8], flags: u16) -> Result<Body, Error> {
    if p.len() < 4 {
        return Err(Error::Protocol(ProtocolError::ShortError));
    }
    let code = rd_u32(p, 0) as i32;
    if code == 0 {
        return Ok(Body::Ack);
    }
    let mut message = None;
    if flags & NLM_F_ACK_TLVS != 0 && p.len() >= 4 + NLMSG_HDRLEN {
        let orig_len = rd_u32(p, 4) as usize;
        let mut off = 4 + if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            align4(orig_len)
        };
        while off + 4 <= p.len() {
            let alen = rd_u16(p, off) as usize;
            let aty = rd_u16(p, off + 2) & 0x3fff;
            if alen < 4 || off + alen > p.len() {
                break;
            }
            if aty == NLMSGERR_ATTR_MSG {
                let s = &p[off + 4..off + alen];
                let s = s.split(|b| *b == 0).next().unwrap_or(&[]);
                message = Some(String::from_utf8_lossy(s).into_owned());
            }
            off += align4(alen);
        }
    }
    Ok(Body::Error {
        errno: -code,
        message,
    })
}

type RawGenl = Genlmsghdr<u8, u16>;

fn parse_genl(payload: &[u8]) -> Result<RawGenl, Error> {
    RawGenl::from_bytes_with_input(&mut Cursor::new(payload), payload.len()).map_err(de)
}

fn payload_u8<T: NlAttrType>(a: &Nlattr<T, Buffer>) -> Result<u8, Error> {
    a.get_payload_as::<u8>().map_err(de)
}

fn payload_u16<T: NlAttrType>(a: &Nlattr<T, Buffer>) -> Result<u16, Error> {
    a.get_payload_as::<u16>().map_err(de)
}

fn payload_u32<T: NlAttrType>(a: &Nlattr<T, Buffer>) -> Result<u32, Error> {
    a.get_payload_as::<u32>().map_err(de)
}

fn payload_be16<T: NlAttrType>(a: &Nlattr<T, Buffer>) -> Result<u16, Error> {
    let b = a.payload().as_ref();
    if b.len() < 2 {
        return Err(de("short port"));
    }
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

fn payload_str<T: NlAttrType>(a: &Nlattr<T, Buffer>) -> String {
    let b = a.payload().as_ref();
    let b = b.split(|c| *c == 0).next().unwrap_or(&[]);
    String::from_utf8_lossy(b).into_owned()
}

fn payload_addr<T: NlAttrType>(a: &Nlattr<T, Buffer>, fam: Family) -> Result<IpAddr, Error> {
    let b = a.payload().as_ref();
    match fam {
        Family::Inet if b.len() >= 4 => Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        Family::Inet6 if b.len() >= 16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[..16]);
            Ok(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => Err(de(format!("address of {} bytes for {fam:?}", b.len()))),
    }
}

fn top_attr(g: &RawGenl, t: CmdAttr) -> Option<&Nlattr<u16, Buffer>> {
    let n: u16 = t.into();
    g.attrs().iter().find(|a| *a.nla_type().nla_type() == n)
}

// Dumps are decoded without neli: a large table is thousands of replies,
// and a reload reads the whole service list, so the decoding below walks
// the attributes in place (no copies, no allocation but the scheduler
// name) instead of building neli's attribute trees. The neli decoders they
// replaced are the oracle they are compared with (tests/neli_oracle.rs).

/// `NLA_TYPE_MASK`: the attribute type without the nested and byte-order
/// flags.
const NLA_TYPE_MASK: u16 = !(0x8000 | 0x4000);

/// The attributes of a netlink attribute stream, in place: (type, payload).
/// A header that does not fit is an error; fewer than 4 trailing bytes are
/// padding.
struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.rest;
        if b.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        let ty = u16::from_ne_bytes([b[2], b[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > b.len() {
            self.rest = &[];
            return Some(Err(de(format!(
                "attribute of length {len} in {} bytes",
                b.len()
            ))));
        }
        self.rest = &b[align4(len).min(b.len())..];
        Some(Ok((ty, &b[4..len])))
    }
}

/// The first payload of each attribute type below `N` (the kernel sends each
/// once; later duplicates are ignored).
fn attr_table<const N: usize>(b: &[u8]) -> Result<[Option<&[u8]>; N], Error> {
    let mut t = [None; N];
    for a in (Attrs { rest: b }) {
        let (ty, p) = a?;
        if let Some(slot) = t.get_mut(usize::from(ty)) {
            if slot.is_none() {
                *slot = Some(p);
            }
        }
    }
    Ok(t)
}

/// The payload of the first top-level attribute `ty` of a generic netlink
/// message (after its 4-byte `genlmsghdr`).
fn genl_top<'a>(payload: &'a [u8], ty: CmdAttr, what: &str) -> Result<&'a [u8], Error> {
    let attrs = payload
        .get(4..)
        .ok_or_else(|| de("message shorter than its genl header"))?;
    let want: u16 = ty.into();
    for a in (Attrs { rest: attrs }) {
        let (t, p) = a?;
        if t == want {
            return Ok(p);
        }
    }
    Err(de(format!("reply without a {what}")))
}

fn raw_u16(b: &[u8]) -> Result<u16, Error> {
    match b {
        [x, y, ..] => Ok(u16::from_ne_bytes([*x, *y])),
        _ => Err(de(format!("u16 attribute of {} bytes", b.len()))),
    }
}

fn raw_u32(b: &[u8]) -> Result<u32, Error> {
    match b {
        [a, b2, c, d, ..] => Ok(u32::from_ne_bytes([*a, *b2, *c, *d])),
        _ => Err(de(format!("u32 attribute of {} bytes", b.len()))),
    }
}

fn raw_be16(b: &[u8]) -> Result<u16, Error> {
    match b {
        [x, y, ..] => Ok(u16::from_be_bytes([*x, *y])),
        _ => Err(de("short port")),
    }
}

fn raw_addr(b: &[u8], fam: Family) -> Result<IpAddr, Error> {
    match fam {
        Family::Inet if b.len() >= 4 => Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        Family::Inet6 if b.len() >= 16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[..16]);
            Ok(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => Err(de(format!("address of {} bytes for {fam:?}", b.len()))),
    }
}

fn raw_str(b: &[u8]) -> String {
    let b = b.split(|c| *c == 0).next().unwrap_or(&[]);
    String::from_utf8_lossy(b).into_owned()
}

/// A nested stats attribute: 4- or 8-byte counters by type; other sizes
/// and unknown types are skipped.
fn raw_stats(b: &[u8]) -> Result<Stats, Error> {
    let mut s = Stats::default();
    for a in (Attrs { rest: b }) {
        let (ty, p) = a?;
        let v = match p.len() {
            4 => u64::from(rd_u32(p, 0)),
            8 => u64::from_ne_bytes([p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]),
            _ => continue,
        };
        let field = match StatsAttr::from(ty) {
            StatsAttr::Conns => &mut s.conns,
            StatsAttr::InPkts => &mut s.in_pkts,
            StatsAttr::OutPkts => &mut s.out_pkts,
            StatsAttr::InBytes => &mut s.in_bytes,
            StatsAttr::OutBytes => &mut s.out_bytes,
            StatsAttr::Cps => &mut s.cps,
            StatsAttr::InPps => &mut s.in_pps,
            StatsAttr::OutPps => &mut s.out_pps,
            StatsAttr::InBps => &mut s.in_bps,
            StatsAttr::OutBps => &mut s.out_bps,
            _ => continue,
        };
        *field = v;
    }
    Ok(s)
}

/// Decodes the service in a `GET_SERVICE` reply (the `genlmsghdr` and
/// attributes of one [`Body::Data`]).
pub fn decode_service(payload: &[u8]) -> Result<Service, Error> {
    let svc = genl_top(payload, CmdAttr::Service, "service")?;
    let a = attr_table::<13>(svc)?;
    let get = |t: SvcAttr| a[usize::from(u16::from(t))];
    let af = get(SvcAttr::Af)
        .ok_or_else(|| de("service without family"))
        .and_then(raw_u16)?;
    let family = Family::from_raw(af).ok_or_else(|| de(format!("service family {af}")))?;
    let key = if let Some(m) = get(SvcAttr::Fwmark)
        .map(raw_u32)
        .transpose()?
        .filter(|m| *m != 0)
    {
        ServiceKey::Fwmark { mark: m, family }
    } else {
        let proto = get(SvcAttr::Protocol)
            .ok_or_else(|| de("service without protocol"))
            .and_then(raw_u16)?;
        let addr = get(SvcAttr::Addr)
            .ok_or_else(|| de("service without address"))
            .and_then(|x| raw_addr(x, family))?;
        let port = get(SvcAttr::Port)
            .ok_or_else(|| de("service without port"))
            .and_then(raw_be16)?;
        match proto as i32 {
            libc::IPPROTO_TCP => ServiceKey::Tcp(addr, port),
            libc::IPPROTO_UDP => ServiceKey::Udp(addr, port),
            libc::IPPROTO_SCTP => ServiceKey::Sctp(addr, port),
            p => return Err(de(format!("service protocol {p}"))),
        }
    };
    let scheduler = get(SvcAttr::SchedName).map(raw_str).unwrap_or_default();
    let pe_name = get(SvcAttr::PeName).map(raw_str).filter(|s| !s.is_empty());
    let flags = match get(SvcAttr::Flags) {
        Some(f) => ServiceFlags(raw_u32(f)? & !IP_VS_SVC_F_HASHED),
        None => ServiceFlags::empty(),
    };
    let timeout = get(SvcAttr::Timeout).map(raw_u32).transpose()?.unwrap_or(0);
    let netmask = match (family, get(SvcAttr::Netmask).map(raw_u32).transpose()?) {
        (Family::Inet, Some(m)) => Netmask::V4(Ipv4Addr::from(m.to_ne_bytes())),
        (Family::Inet6, Some(m)) => Netmask::V6(m.min(128) as u8),
        (f, None) => Netmask::host(f),
    };
    let stats = match get(SvcAttr::Stats64).or_else(|| get(SvcAttr::Stats)) {
        Some(s) => raw_stats(s)?,
        None => Stats::default(),
    };
    Ok(Service {
        key,
        scheduler,
        flags,
        timeout,
        netmask,
        pe_name,
        stats,
    })
}

/// Decodes the destination in a `GET_DEST` reply. `service_family` is used
/// when the kernel does not say the destination's own family.
pub fn decode_dest(payload: &[u8], service_family: Family) -> Result<Destination, Error> {
    let dest = genl_top(payload, CmdAttr::Dest, "destination")?;
    let a = attr_table::<16>(dest)?;
    let get = |t: DestAttr| a[usize::from(u16::from(t))];
    let family = match get(DestAttr::AddrFamily).map(raw_u16).transpose()? {
        Some(af) => Family::from_raw(af).ok_or_else(|| de(format!("destination family {af}")))?,
        None => service_family,
    };
    let addr = get(DestAttr::Addr)
        .ok_or_else(|| de("destination without address"))
        .and_then(|x| raw_addr(x, family))?;
    let port = get(DestAttr::Port)
        .ok_or_else(|| de("destination without port"))
        .and_then(raw_be16)?;
    let fwd = get(DestAttr::FwdMethod)
        .map(raw_u32)
        .transpose()?
        .unwrap_or(0);
    let forward = Forward::from_raw(fwd).ok_or_else(|| de(format!("forwarding method {fwd}")))?;
    let u32_of =
        |t: DestAttr| -> Result<u32, Error> { Ok(get(t).map(raw_u32).transpose()?.unwrap_or(0)) };
    let stats = match get(DestAttr::Stats64).or_else(|| get(DestAttr::Stats)) {
        Some(s) => raw_stats(s)?,
        None => Stats::default(),
    };
    Ok(Destination {
        addr,
        port,
        forward,
        weight: u32_of(DestAttr::Weight)? as i32,
        upper_threshold: u32_of(DestAttr::UThresh)?,
        lower_threshold: u32_of(DestAttr::LThresh)?,
        active_conns: u32_of(DestAttr::ActiveConns)?,
        inactive_conns: u32_of(DestAttr::InactConns)?,
        persist_conns: u32_of(DestAttr::PersistConns)?,
        stats,
    })
}

/// Decodes one sync daemon of a `GET_DAEMON` dump.
pub fn decode_daemon(payload: &[u8]) -> Result<SyncDaemon, Error> {
    let g = parse_genl(payload)?;
    let a = top_attr(&g, CmdAttr::Daemon).ok_or_else(|| de("reply without a daemon"))?;
    let h = a.get_attr_handle::<DaemonAttr>().map_err(de)?;
    let get = |t: DaemonAttr| h.get_attribute(t);
    let st = get(DaemonAttr::State)
        .ok_or_else(|| de("daemon without state"))
        .and_then(payload_u32)?;
    let state = SyncState::from_raw(st).ok_or_else(|| de(format!("daemon state {st}")))?;
    let mcast_group = match (get(DaemonAttr::McastGroup), get(DaemonAttr::McastGroup6)) {
        (Some(g4), _) => Some(payload_addr(g4, Family::Inet)?),
        (None, Some(g6)) => Some(payload_addr(g6, Family::Inet6)?),
        _ => None,
    };
    Ok(SyncDaemon {
        state,
        mcast_ifn: get(DaemonAttr::McastIfn)
            .map(payload_str)
            .unwrap_or_default(),
        syncid: get(DaemonAttr::SyncId)
            .map(payload_u32)
            .transpose()?
            .unwrap_or(0),
        sync_maxlen: get(DaemonAttr::SyncMaxlen).map(payload_u16).transpose()?,
        mcast_group,
        mcast_port: get(DaemonAttr::McastPort).map(payload_be16).transpose()?,
        mcast_ttl: get(DaemonAttr::McastTtl).map(payload_u8).transpose()?,
    })
}

/// Decodes a `GET_CONFIG` reply.
pub fn decode_timeouts(payload: &[u8]) -> Result<Timeouts, Error> {
    let g = parse_genl(payload)?;
    let v = |t: CmdAttr| -> Result<u32, Error> {
        Ok(top_attr(&g, t).map(payload_u32).transpose()?.unwrap_or(0))
    };
    Ok(Timeouts {
        tcp: v(CmdAttr::TimeoutTcp)?,
        tcpfin: v(CmdAttr::TimeoutTcpFin)?,
        udp: v(CmdAttr::TimeoutUdp)?,
    })
}

/// Decodes a `GET_INFO` reply.
pub fn decode_info(payload: &[u8]) -> Result<Info, Error> {
    let g = parse_genl(payload)?;
    let h = g.attrs().get_typed_attr_handle::<InfoAttr>().map_err(de)?;
    Ok(Info {
        version: h
            .get_attribute(InfoAttr::Version)
            .map(payload_u32)
            .transpose()?
            .unwrap_or(0),
        conn_tab_size: h
            .get_attribute(InfoAttr::ConnTabSize)
            .map(payload_u32)
            .transpose()?
            .unwrap_or(0),
    })
}

/// The family id in a controller `GETFAMILY` reply.
pub fn decode_family_id(payload: &[u8]) -> Result<u16, Error> {
    let g = parse_genl(payload)?;
    g.attrs()
        .iter()
        .find(|a| *a.nla_type().nla_type() == CTRL_ATTR_FAMILY_ID)
        .ok_or_else(|| de("controller reply without family id"))
        .and_then(payload_u16)
}
