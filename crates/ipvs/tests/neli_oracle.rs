//! The in-place decoders of `ipvs::codec` against neli's decoding of the
//! same bytes: the decoders they replaced, kept here as the oracle (they
//! are not in the library). On every reply neli accepts, and every byte
//! mutation of one, both must give the same value.

use ipvs::codec::{decode_dest, decode_service};
use ipvs::consts::*;
use ipvs::*;
use neli::attr::Attribute;
use neli::consts::genl::NlAttrType;
use neli::genl::{Genlmsghdr, Nlattr};
use neli::types::Buffer;
use neli::FromBytesWithInput;
use proptest::prelude::*;
use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The oracle's errors only need to say that something failed.
type Error = String;

fn de(e: impl std::fmt::Display) -> Error {
    format!("decoding: {e}")
}

fn rd_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

type RawGenl = Genlmsghdr<u8, u16>;

fn parse_genl(payload: &[u8]) -> Result<RawGenl, Error> {
    RawGenl::from_bytes_with_input(&mut Cursor::new(payload), payload.len()).map_err(de)
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

fn decode_stats(a: &Nlattr<impl NlAttrType, Buffer>) -> Result<Stats, Error> {
    let h = a.get_attr_handle::<StatsAttr>().map_err(de)?;
    let mut s = Stats::default();
    for x in h.iter() {
        let b = x.payload().as_ref();
        let v = match b.len() {
            4 => u64::from(rd_u32(b, 0)),
            8 => u64::from_ne_bytes(b.try_into().expect("8 bytes")),
            _ => continue,
        };
        match x.nla_type().nla_type() {
            StatsAttr::Conns => s.conns = v,
            StatsAttr::InPkts => s.in_pkts = v,
            StatsAttr::OutPkts => s.out_pkts = v,
            StatsAttr::InBytes => s.in_bytes = v,
            StatsAttr::OutBytes => s.out_bytes = v,
            StatsAttr::Cps => s.cps = v,
            StatsAttr::InPps => s.in_pps = v,
            StatsAttr::OutPps => s.out_pps = v,
            StatsAttr::InBps => s.in_bps = v,
            StatsAttr::OutBps => s.out_bps = v,
            _ => {}
        }
    }
    Ok(s)
}

/// The neli decoder the in-place one replaced.
fn decode_service_neli(payload: &[u8]) -> Result<Service, Error> {
    let g = parse_genl(payload)?;
    let a = top_attr(&g, CmdAttr::Service).ok_or_else(|| de("reply without a service"))?;
    let h = a.get_attr_handle::<SvcAttr>().map_err(de)?;
    let get = |t: SvcAttr| h.get_attribute(t);
    let af = get(SvcAttr::Af)
        .ok_or_else(|| de("service without family"))
        .and_then(payload_u16)?;
    let family = Family::from_raw(af).ok_or_else(|| de(format!("service family {af}")))?;
    let key = if let Some(m) = get(SvcAttr::Fwmark)
        .map(payload_u32)
        .transpose()?
        .filter(|m| *m != 0)
    {
        ServiceKey::Fwmark { mark: m, family }
    } else {
        let proto = get(SvcAttr::Protocol)
            .ok_or_else(|| de("service without protocol"))
            .and_then(payload_u16)?;
        let addr = get(SvcAttr::Addr)
            .ok_or_else(|| de("service without address"))
            .and_then(|x| payload_addr(x, family))?;
        let port = get(SvcAttr::Port)
            .ok_or_else(|| de("service without port"))
            .and_then(payload_be16)?;
        match proto as i32 {
            libc::IPPROTO_TCP => ServiceKey::Tcp(addr, port),
            libc::IPPROTO_UDP => ServiceKey::Udp(addr, port),
            libc::IPPROTO_SCTP => ServiceKey::Sctp(addr, port),
            p => return Err(de(format!("service protocol {p}"))),
        }
    };
    let scheduler = get(SvcAttr::SchedName).map(payload_str).unwrap_or_default();
    let pe_name = get(SvcAttr::PeName)
        .map(payload_str)
        .filter(|s| !s.is_empty());
    let flags = match get(SvcAttr::Flags) {
        Some(f) => ServiceFlags(payload_u32(f)? & !IP_VS_SVC_F_HASHED),
        None => ServiceFlags::empty(),
    };
    let timeout = get(SvcAttr::Timeout)
        .map(payload_u32)
        .transpose()?
        .unwrap_or(0);
    let netmask = match (family, get(SvcAttr::Netmask).map(payload_u32).transpose()?) {
        (Family::Inet, Some(m)) => Netmask::V4(Ipv4Addr::from(m.to_ne_bytes())),
        (Family::Inet6, Some(m)) => Netmask::V6(m.min(128) as u8),
        (f, None) => Netmask::host(f),
    };
    let stats = match get(SvcAttr::Stats64).or_else(|| get(SvcAttr::Stats)) {
        Some(s) => decode_stats(s)?,
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

/// The neli decoder the in-place one replaced.
fn decode_dest_neli(payload: &[u8], service_family: Family) -> Result<Destination, Error> {
    let g = parse_genl(payload)?;
    let a = top_attr(&g, CmdAttr::Dest).ok_or_else(|| de("reply without a destination"))?;
    let h = a.get_attr_handle::<DestAttr>().map_err(de)?;
    let get = |t: DestAttr| h.get_attribute(t);
    let family = match get(DestAttr::AddrFamily).map(payload_u16).transpose()? {
        Some(af) => Family::from_raw(af).ok_or_else(|| de(format!("destination family {af}")))?,
        None => service_family,
    };
    let addr = get(DestAttr::Addr)
        .ok_or_else(|| de("destination without address"))
        .and_then(|x| payload_addr(x, family))?;
    let port = get(DestAttr::Port)
        .ok_or_else(|| de("destination without port"))
        .and_then(payload_be16)?;
    let fwd = get(DestAttr::FwdMethod)
        .map(payload_u32)
        .transpose()?
        .unwrap_or(0);
    let forward = Forward::from_raw(fwd).ok_or_else(|| de(format!("forwarding method {fwd}")))?;
    let u32_of = |t: DestAttr| -> Result<u32, Error> {
        Ok(get(t).map(payload_u32).transpose()?.unwrap_or(0))
    };
    let stats = match get(DestAttr::Stats64).or_else(|| get(DestAttr::Stats)) {
        Some(s) => decode_stats(s)?,
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

fn unhex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|x| u8::from_str_radix(x, 16).unwrap())
        .collect()
}

/// A service reply as the kernel sends it (hand-built): 16-byte
/// address, HASHED flag, both stats sets.
fn kernel_service_reply() -> Vec<u8> {
    unhex(
        "01 01 00 00
         bc 00 01 00
           06 00 01 00  02 00 00 00
           06 00 02 00  06 00 00 00
           14 00 03 00  0a 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
           06 00 04 00  00 50 00 00
           07 00 06 00  72 72 00 00
           0c 00 07 00  03 00 00 00  ff ff ff ff
           08 00 08 00  2c 01 00 00
           08 00 09 00  ff ff ff 00
           34 00 0a 00
             08 00 01 00  05 00 00 00
             08 00 02 00  06 00 00 00
             0c 00 04 00  e8 03 00 00 00 00 00 00
             08 00 06 00  01 00 00 00
             0c 00 05 00  d0 07 00 00 00 00 00 00
           34 00 0c 00
             0c 00 01 00  05 00 00 00 01 00 00 00
             0c 00 02 00  06 00 00 00 00 00 00 00
             0c 00 04 00  e8 03 00 00 00 00 00 00
             0c 00 06 00  01 00 00 00 00 00 00 00",
    )
}

#[test]
fn decodes_service_reply() {
    let s = decode_service(&kernel_service_reply()).unwrap();
    assert_eq!(s, decode_service_neli(&kernel_service_reply()).unwrap());
    assert_eq!(s.key, ServiceKey::Tcp("10.0.0.1".parse().unwrap(), 80));
    assert_eq!(s.scheduler, "rr");
    assert_eq!(s.flags, ServiceFlags::PERSISTENT);
    assert!(s.is_persistent());
    assert_eq!(s.timeout, 300);
    assert_eq!(s.netmask, Netmask::V4("255.255.255.0".parse().unwrap()));
    // STATS64 wins over STATS.
    assert_eq!(s.stats.conns, (1 << 32) | 5);
    assert_eq!(s.stats.in_pkts, 6);
    assert_eq!(s.stats.in_bytes, 1000);
    assert_eq!(s.stats.out_bytes, 0);
    assert_eq!(s.stats.cps, 1);
}

#[test]
fn decodes_dest_reply() {
    let p = unhex(
        "01 01 00 00
         64 00 02 00
           14 00 01 00  fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02
           06 00 02 00  00 50 00 00
           08 00 03 00  00 00 00 00
           08 00 04 00  03 00 00 00
           08 00 05 00  00 00 00 00
           08 00 06 00  00 00 00 00
           08 00 07 00  02 00 00 00
           08 00 08 00  09 00 00 00
           08 00 09 00  00 00 00 00
           06 00 0b 00  0a 00 00 00
           04 00 0c 00",
    );
    let d = decode_dest(&p, Family::Inet).unwrap();
    assert_eq!(d, decode_dest_neli(&p, Family::Inet).unwrap());
    assert_eq!(d.addr, "fd00::2".parse::<IpAddr>().unwrap());
    assert_eq!(d.port, 80);
    assert_eq!(d.forward, Forward::Masq);
    assert_eq!(d.weight, 3);
    assert_eq!((d.active_conns, d.inactive_conns), (2, 9));
}

proptest! {
    /// The in-place decoders agree with neli's on every byte
    /// mutation of kernel replies that neli accepts, and never
    /// panic.
    #[test]
    fn fast_decoders_agree_with_neli(
        svc in proptest::bool::ANY,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let mut p = if svc {
            kernel_service_reply()
        } else {
            let mut d = kernel_service_reply();
            // The same reply as a destination (type 2) of the same
            // size: its attributes mean other things, which is the
            // point.
            d[6] = 2;
            d
        };
        for (at, b) in edits {
            let n = p.len();
            p[at % n] = b;
        }
        if let Some(c) = cut {
            let n = p.len() + 1;
            p.truncate(c % n);
        }
        if let Ok(want) = decode_service_neli(&p) {
            prop_assert_eq!(decode_service(&p).ok(), Some(want));
        } else {
            let _ = decode_service(&p);
        }
        for fam in [Family::Inet, Family::Inet6] {
            if let Ok(want) = decode_dest_neli(&p, fam) {
                prop_assert_eq!(decode_dest(&p, fam).ok(), Some(want));
            } else {
                let _ = decode_dest(&p, fam);
            }
        }
    }
}
