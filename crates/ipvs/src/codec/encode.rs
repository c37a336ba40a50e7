//! Requests as bytes: `nlmsghdr`, `genlmsghdr` and the attributes of one
//! IPVS command, built with neli.
//!
//! Wire details the kernel expects (the golden tests pin them down): ports
//! are big-endian 16-bit; addresses are the raw 4 or 16 bytes; an IPv4
//! persistence netmask is the mask's bytes in network order, an IPv6 one a
//! prefix length; service flags travel as `struct ip_vs_flags { flags,
//! mask }` with every bit in the mask, so that an edit replaces them all.

use std::io::Cursor;
use std::net::IpAddr;

use neli::consts::genl::NlAttrType;
use neli::consts::nl::NlmF;
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, Nlattr, NlattrBuilder};
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::types::{Buffer, GenlBuffer};
use neli::{Size, ToBytes};

use crate::codec::netlink::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use crate::consts::*;
use crate::error::{Error, InvalidRequest, ProtocolError};
use crate::types::*;

fn ser(e: impl std::fmt::Display) -> Error {
    Error::Protocol(ProtocolError::Encoding(e.to_string()))
}

fn attr<T, P>(t: T, payload: P) -> Result<Nlattr<T, Buffer>, Error>
where
    T: NlAttrType,
    P: Size + ToBytes,
{
    NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(t)
                .build()
                .map_err(ser)?,
        )
        .nla_payload(payload)
        .build()
        .map_err(ser)
}

fn nested<T, C>(t: T, children: &[Nlattr<C, Buffer>]) -> Result<Nlattr<T, Buffer>, Error>
where
    T: NlAttrType,
    C: NlAttrType,
{
    let mut a = NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(t)
                .nla_nested(true)
                .build()
                .map_err(ser)?,
        )
        .nla_payload(Buffer::new())
        .build()
        .map_err(ser)?;
    for c in children {
        a = a.nest(c).map_err(ser)?;
    }
    Ok(a)
}

fn addr_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn name_attr<T: NlAttrType>(
    t: T,
    what: &'static str,
    s: &str,
    max: usize,
) -> Result<Nlattr<T, Buffer>, Error> {
    if s.is_empty() || s.len() >= max || s.contains('\0') {
        return Err(Error::Invalid(InvalidRequest::Name {
            what,
            name: s.to_string(),
            longest: max - 1,
        }));
    }
    attr(t, s)
}

/// The attributes that identify a service (`IPVS_CMD_ATTR_SERVICE` for
/// delete, destination and dump requests).
fn service_key_attrs(key: &ServiceKey) -> Result<Vec<Nlattr<SvcAttr, Buffer>>, Error> {
    let mut v = vec![attr(SvcAttr::Af, key.family().raw())?];
    match key {
        ServiceKey::Fwmark { mark, .. } => v.push(attr(SvcAttr::Fwmark, *mark)?),
        ServiceKey::Tcp(a, p) | ServiceKey::Udp(a, p) | ServiceKey::Sctp(a, p) => {
            v.push(attr(SvcAttr::Protocol, key.protocol())?);
            v.push(attr(SvcAttr::Addr, Buffer::from(addr_bytes(a)))?);
            v.push(attr(SvcAttr::Port, Buffer::from(p.to_be_bytes().to_vec()))?);
        }
    }
    Ok(v)
}

fn netmask_raw(key: &ServiceKey, m: &Netmask) -> Result<u32, Error> {
    match (key.family(), m) {
        (Family::Inet, Netmask::V4(mask)) => Ok(u32::from_ne_bytes(mask.octets())),
        (Family::Inet6, Netmask::V6(plen)) if (1..=128).contains(plen) => Ok(u32::from(*plen)),
        (Family::Inet6, Netmask::V6(plen)) => {
            Err(Error::Invalid(InvalidRequest::Ipv6Prefix(*plen)))
        }
        _ => Err(Error::Invalid(InvalidRequest::NetmaskFamily {
            netmask: *m,
            service: *key,
        })),
    }
}

fn service_attrs(s: &Service) -> Result<Nlattr<CmdAttr, Buffer>, Error> {
    let mut v = service_key_attrs(&s.key)?;
    v.push(name_attr(
        SvcAttr::SchedName,
        "scheduler",
        &s.scheduler,
        IP_VS_SCHEDNAME_MAXLEN,
    )?);
    if let Some(pe) = &s.pe_name {
        v.push(name_attr(
            SvcAttr::PeName,
            "persistence engine",
            pe,
            IP_VS_SCHEDNAME_MAXLEN,
        )?);
    }
    // struct ip_vs_flags { __u32 flags; __u32 mask; }: replace every flag.
    let mut flags = Vec::with_capacity(8);
    flags.extend_from_slice(&(s.flags.0 & !IP_VS_SVC_F_HASHED).to_ne_bytes());
    flags.extend_from_slice(&u32::MAX.to_ne_bytes());
    v.push(attr(SvcAttr::Flags, Buffer::from(flags))?);
    v.push(attr(SvcAttr::Timeout, s.timeout)?);
    v.push(attr(SvcAttr::Netmask, netmask_raw(&s.key, &s.netmask)?)?);
    nested(CmdAttr::Service, &v)
}

fn dest_key_attrs(addr: &IpAddr, port: u16) -> Result<Vec<Nlattr<DestAttr, Buffer>>, Error> {
    Ok(vec![
        attr(DestAttr::AddrFamily, Family::of(addr).raw())?,
        attr(DestAttr::Addr, Buffer::from(addr_bytes(addr)))?,
        attr(DestAttr::Port, Buffer::from(port.to_be_bytes().to_vec()))?,
    ])
}

fn dest_attrs(d: &Destination) -> Result<Nlattr<CmdAttr, Buffer>, Error> {
    let mut v = dest_key_attrs(&d.addr, d.port)?;
    v.push(attr(DestAttr::FwdMethod, d.forward.raw())?);
    v.push(attr(DestAttr::Weight, d.weight as u32)?);
    v.push(attr(DestAttr::UThresh, d.upper_threshold)?);
    v.push(attr(DestAttr::LThresh, d.lower_threshold)?);
    nested(CmdAttr::Dest, &v)
}

fn daemon_attrs(d: &SyncDaemon) -> Result<Nlattr<CmdAttr, Buffer>, Error> {
    let mut v = vec![
        attr(DaemonAttr::State, d.state.raw())?,
        name_attr(
            DaemonAttr::McastIfn,
            "interface",
            &d.mcast_ifn,
            IP_VS_IFNAME_MAXLEN,
        )?,
        attr(DaemonAttr::SyncId, d.syncid)?,
    ];
    if let Some(len) = d.sync_maxlen {
        v.push(attr(DaemonAttr::SyncMaxlen, len)?);
    }
    match d.mcast_group {
        Some(IpAddr::V4(g)) => v.push(attr(
            DaemonAttr::McastGroup,
            Buffer::from(g.octets().to_vec()),
        )?),
        Some(IpAddr::V6(g)) => v.push(attr(
            DaemonAttr::McastGroup6,
            Buffer::from(g.octets().to_vec()),
        )?),
        None => {}
    }
    if let Some(p) = d.mcast_port {
        v.push(attr(
            DaemonAttr::McastPort,
            Buffer::from(p.to_be_bytes().to_vec()),
        )?);
    }
    if let Some(ttl) = d.mcast_ttl {
        v.push(attr(DaemonAttr::McastTtl, ttl)?);
    }
    nested(CmdAttr::Daemon, &v)
}

/// Serialises one IPVS request: `nlmsghdr` + `genlmsghdr` + attributes.
pub fn encode(
    family: u16,
    seq: u32,
    flags: u16,
    cmd: IpvsCmd,
    attrs: Vec<Nlattr<CmdAttr, Buffer>>,
) -> Result<Vec<u8>, Error> {
    let genl: Genlmsghdr<IpvsCmd, CmdAttr> = GenlmsghdrBuilder::default()
        .cmd(cmd)
        .version(IPVS_GENL_VERSION)
        .attrs(attrs.into_iter().collect::<GenlBuffer<CmdAttr, Buffer>>())
        .build()
        .map_err(ser)?;
    let msg = NlmsghdrBuilder::default()
        .nl_type(family)
        .nl_flags(NlmF::from_bits_retain(flags))
        .nl_seq(seq)
        .nl_pid(0)
        .nl_payload(NlPayload::Payload(genl))
        .build()
        .map_err(ser)?;
    let mut c = Cursor::new(Vec::with_capacity(msg.padded_size()));
    msg.to_bytes(&mut c).map_err(ser)?;
    Ok(c.into_inner())
}

/// The command and attributes of a change.
pub fn operation_parts(op: &Operation) -> Result<(IpvsCmd, Vec<Nlattr<CmdAttr, Buffer>>), Error> {
    Ok(match op {
        Operation::AddService(s) => (IpvsCmd::NewService, vec![service_attrs(s)?]),
        Operation::EditService(s) => (IpvsCmd::SetService, vec![service_attrs(s)?]),
        Operation::DelService(k) => (
            IpvsCmd::DelService,
            vec![nested(CmdAttr::Service, &service_key_attrs(k)?)?],
        ),
        Operation::AddDest(k, d) => (
            IpvsCmd::NewDest,
            vec![
                nested(CmdAttr::Service, &service_key_attrs(k)?)?,
                dest_attrs(d)?,
            ],
        ),
        Operation::EditDest(k, d) => (
            IpvsCmd::SetDest,
            vec![
                nested(CmdAttr::Service, &service_key_attrs(k)?)?,
                dest_attrs(d)?,
            ],
        ),
        Operation::DelDest {
            service,
            addr,
            port,
        } => (
            IpvsCmd::DelDest,
            vec![
                nested(CmdAttr::Service, &service_key_attrs(service)?)?,
                nested(CmdAttr::Dest, &dest_key_attrs(addr, *port)?)?,
            ],
        ),
        Operation::Flush => (IpvsCmd::Flush, vec![]),
        Operation::SetTimeouts(t) => {
            // 0 means "leave unchanged": such a timeout is not sent.
            let mut v = vec![];
            for (a, val) in [
                (CmdAttr::TimeoutTcp, t.tcp),
                (CmdAttr::TimeoutTcpFin, t.tcpfin),
                (CmdAttr::TimeoutUdp, t.udp),
            ] {
                if val != 0 {
                    v.push(attr(a, val)?);
                }
            }
            (IpvsCmd::SetConfig, v)
        }
        Operation::StartDaemon(d) => (IpvsCmd::NewDaemon, vec![daemon_attrs(d)?]),
        Operation::StopDaemon(s) => (
            IpvsCmd::DelDaemon,
            vec![nested(
                CmdAttr::Daemon,
                &[attr(DaemonAttr::State, s.raw())?],
            )?],
        ),
        Operation::Zero(None) => (IpvsCmd::Zero, vec![]),
        Operation::Zero(Some(k)) => (
            IpvsCmd::Zero,
            vec![nested(CmdAttr::Service, &service_key_attrs(k)?)?],
        ),
    })
}

/// A change as a request that asks for an acknowledgement.
pub fn encode_operation(family: u16, seq: u32, op: &Operation) -> Result<Vec<u8>, Error> {
    let (cmd, attrs) = operation_parts(op)?;
    encode(family, seq, NLM_F_REQUEST | NLM_F_ACK, cmd, attrs)
}

/// A read request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query<'a> {
    /// Dump of all services.
    Services,
    /// One service.
    Service(&'a ServiceKey),
    /// Dump of the destinations of a service.
    Dests(&'a ServiceKey),
    /// Dump of the running sync daemons.
    Daemons,
    /// The timeouts.
    Timeouts,
    /// Version and connection table size.
    Info,
}

impl Query<'_> {
    /// Whether the reply is a multi-part dump ending in `NLMSG_DONE`.
    pub fn is_dump(&self) -> bool {
        matches!(self, Query::Services | Query::Dests(_) | Query::Daemons)
    }
}

/// Serialises a read request (dumps with `NLM_F_DUMP`, others with
/// `NLM_F_ACK`).
pub fn encode_query(family: u16, seq: u32, q: Query<'_>) -> Result<Vec<u8>, Error> {
    let (cmd, attrs) = match q {
        Query::Services => (IpvsCmd::GetService, vec![]),
        Query::Service(k) => (
            IpvsCmd::GetService,
            vec![nested(CmdAttr::Service, &service_key_attrs(k)?)?],
        ),
        Query::Dests(k) => (
            IpvsCmd::GetDest,
            vec![nested(CmdAttr::Service, &service_key_attrs(k)?)?],
        ),
        Query::Daemons => (IpvsCmd::GetDaemon, vec![]),
        Query::Timeouts => (IpvsCmd::GetConfig, vec![]),
        Query::Info => (IpvsCmd::GetInfo, vec![]),
    };
    let flags = if q.is_dump() {
        NLM_F_REQUEST | NLM_F_DUMP
    } else {
        NLM_F_REQUEST | NLM_F_ACK
    };
    encode(family, seq, flags, cmd, attrs)
}

/// `CTRL_CMD_GETFAMILY` for a family name, to the generic netlink
/// controller.
pub fn encode_get_family(seq: u32, name: &str) -> Result<Vec<u8>, Error> {
    let genl: Genlmsghdr<u8, u16> = GenlmsghdrBuilder::default()
        .cmd(CTRL_CMD_GETFAMILY)
        .version(2)
        .attrs(
            std::iter::once(attr(CTRL_ATTR_FAMILY_NAME, name)?)
                .collect::<GenlBuffer<u16, Buffer>>(),
        )
        .build()
        .map_err(ser)?;
    let msg = NlmsghdrBuilder::default()
        .nl_type(GENL_ID_CTRL)
        .nl_flags(NlmF::from_bits_retain(NLM_F_REQUEST | NLM_F_ACK))
        .nl_seq(seq)
        .nl_pid(0)
        .nl_payload(NlPayload::Payload(genl))
        .build()
        .map_err(ser)?;
    let mut c = Cursor::new(Vec::new());
    msg.to_bytes(&mut c).map_err(ser)?;
    Ok(c.into_inner())
}
