//! Kernel constants of the IPVS generic netlink family
//! (`include/uapi/linux/ip_vs.h`), as neli enums.
//!
//! Values are the kernel's; every enum also has neli's
//! `UnrecognizedConst` variant so that attributes from a newer kernel are
//! carried (and ignored) instead of failing a dump.

#![allow(missing_docs)]

use neli::neli_enum;

/// `IPVS_GENL_NAME`.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const IPVS_GENL_VERSION: u8 = 1;

/// `IP_VS_SVC_F_*` service flags.
pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x0001;
pub const IP_VS_SVC_F_HASHED: u32 = 0x0002;
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x0004;
pub const IP_VS_SVC_F_SCHED1: u32 = 0x0008;
pub const IP_VS_SVC_F_SCHED2: u32 = 0x0010;
pub const IP_VS_SVC_F_SCHED3: u32 = 0x0020;

/// `IP_VS_CONN_F_*` forwarding methods (`conn_flags & IP_VS_CONN_F_FWD_MASK`).
pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;
pub const IP_VS_CONN_F_MASQ: u32 = 0x0000;
pub const IP_VS_CONN_F_LOCALNODE: u32 = 0x0001;
pub const IP_VS_CONN_F_TUNNEL: u32 = 0x0002;
pub const IP_VS_CONN_F_DROUTE: u32 = 0x0003;
pub const IP_VS_CONN_F_BYPASS: u32 = 0x0004;

/// `IP_VS_STATE_*` sync daemon states.
pub const IP_VS_STATE_NONE: u32 = 0;
pub const IP_VS_STATE_MASTER: u32 = 1;
pub const IP_VS_STATE_BACKUP: u32 = 2;

/// `IP_VS_IFNAME_MAXLEN` (including the terminating NUL).
pub const IP_VS_IFNAME_MAXLEN: usize = 16;
/// `IP_VS_SCHEDNAME_MAXLEN` (including the terminating NUL).
pub const IP_VS_SCHEDNAME_MAXLEN: usize = 16;

/// Generic netlink controller (`GENL_ID_CTRL`, `CTRL_CMD_GETFAMILY`,
/// `CTRL_ATTR_FAMILY_ID`, `CTRL_ATTR_FAMILY_NAME`).
pub const GENL_ID_CTRL: u16 = 0x10;
pub const CTRL_CMD_GETFAMILY: u8 = 3;
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// `IPVS_CMD_*`.
#[neli_enum(serialized_type = "u8")]
pub enum IpvsCmd {
    Unspec = 0,
    NewService = 1,
    SetService = 2,
    DelService = 3,
    GetService = 4,
    NewDest = 5,
    SetDest = 6,
    DelDest = 7,
    GetDest = 8,
    NewDaemon = 9,
    DelDaemon = 10,
    GetDaemon = 11,
    SetConfig = 12,
    GetConfig = 13,
    SetInfo = 14,
    GetInfo = 15,
    Zero = 16,
    Flush = 17,
}
impl neli::consts::genl::Cmd for IpvsCmd {}

/// `IPVS_CMD_ATTR_*` (top level attributes of a request or reply).
#[neli_enum(serialized_type = "u16")]
pub enum CmdAttr {
    Unspec = 0,
    Service = 1,
    Dest = 2,
    Daemon = 3,
    TimeoutTcp = 4,
    TimeoutTcpFin = 5,
    TimeoutUdp = 6,
}
impl neli::consts::genl::NlAttrType for CmdAttr {}

/// `IPVS_SVC_ATTR_*` (nested in [`CmdAttr::Service`]).
#[neli_enum(serialized_type = "u16")]
pub enum SvcAttr {
    Unspec = 0,
    Af = 1,
    Protocol = 2,
    Addr = 3,
    Port = 4,
    Fwmark = 5,
    SchedName = 6,
    Flags = 7,
    Timeout = 8,
    Netmask = 9,
    Stats = 10,
    PeName = 11,
    Stats64 = 12,
}
impl neli::consts::genl::NlAttrType for SvcAttr {}

/// `IPVS_DEST_ATTR_*` (nested in [`CmdAttr::Dest`]).
#[neli_enum(serialized_type = "u16")]
pub enum DestAttr {
    Unspec = 0,
    Addr = 1,
    Port = 2,
    FwdMethod = 3,
    Weight = 4,
    UThresh = 5,
    LThresh = 6,
    ActiveConns = 7,
    InactConns = 8,
    PersistConns = 9,
    Stats = 10,
    AddrFamily = 11,
    Stats64 = 12,
    TunType = 13,
    TunPort = 14,
    TunFlags = 15,
}
impl neli::consts::genl::NlAttrType for DestAttr {}

/// `IPVS_DAEMON_ATTR_*` (nested in [`CmdAttr::Daemon`]).
#[neli_enum(serialized_type = "u16")]
pub enum DaemonAttr {
    Unspec = 0,
    State = 1,
    McastIfn = 2,
    SyncId = 3,
    SyncMaxlen = 4,
    McastGroup = 5,
    McastGroup6 = 6,
    McastPort = 7,
    McastTtl = 8,
}
impl neli::consts::genl::NlAttrType for DaemonAttr {}

/// `IPVS_STATS_ATTR_*` (nested in the `*_STATS` and `*_STATS64` attributes).
#[neli_enum(serialized_type = "u16")]
pub enum StatsAttr {
    Unspec = 0,
    Conns = 1,
    InPkts = 2,
    OutPkts = 3,
    InBytes = 4,
    OutBytes = 5,
    Cps = 6,
    InPps = 7,
    OutPps = 8,
    InBps = 9,
    OutBps = 10,
    Pad = 11,
}
impl neli::consts::genl::NlAttrType for StatsAttr {}

/// `IPVS_INFO_ATTR_*` (top level attributes of a `GET_INFO` reply; they
/// share numbers with [`CmdAttr`]).
#[neli_enum(serialized_type = "u16")]
pub enum InfoAttr {
    Unspec = 0,
    Version = 1,
    ConnTabSize = 2,
}
impl neli::consts::genl::NlAttrType for InfoAttr {}
