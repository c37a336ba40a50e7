//! The netlink framing numbers both directions share
//! (`include/uapi/linux/netlink.h`).

/// `NLMSG_NOOP`: a message to ignore.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`: an acknowledgement (error 0) or an error.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`: data lost.
pub const NLMSG_OVERRUN: u16 = 4;
/// `NLM_F_REQUEST`: a request.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_MULTI`: one part of a multi-part reply.
pub const NLM_F_MULTI: u16 = 0x2;
/// `NLM_F_ACK`: asks for an acknowledgement.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_DUMP_INTR`: the dump was interrupted by a change; it is
/// inconsistent and must be repeated.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`): asks for a dump.
pub const NLM_F_DUMP: u16 = 0x300;
/// `NLM_F_CAPPED` (on an error): the request is not echoed in full.
pub const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS` (on an error): extended-ack attributes follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLMSGERR_ATTR_MSG`: the kernel's extended-ack text.
pub const NLMSGERR_ATTR_MSG: u16 = 1;

/// Size of `struct nlmsghdr`.
pub(crate) const NLMSG_HDRLEN: usize = 16;

/// Netlink's 4-byte alignment.
pub(crate) const fn align4(n: usize) -> usize {
    (n + 3) & !3
}
