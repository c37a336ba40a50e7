//! Pure encoding and decoding of IPVS generic netlink messages.
//!
//! Nothing here touches a socket: requests become byte buffers
//! ([`encode_operation`], [`encode_query`], [`encode_get_family`]), received
//! byte buffers become typed values ([`parse_messages`], then
//! [`decode_service`], [`decode_dest`], ...). The socket code in
//! [`crate::Ipvs`] only moves these bytes, so everything here is
//! unit-tested without root, against hand-computed bytes.
//!
//! Layout: `netlink.rs` (the framing numbers both directions share),
//! `encode.rs` (requests), `decode.rs` (replies), `explain.rs` (errnos in
//! words). The decoders are compared with neli's own decoding, kept as an
//! oracle in `tests/neli_oracle.rs` and not in the library.

mod decode;
mod encode;
mod explain;
mod netlink;
#[cfg(test)]
mod tests;

pub use decode::{
    decode_daemon, decode_dest, decode_family_id, decode_info, decode_service, decode_timeouts,
    parse_messages, Body, Message,
};
pub use encode::{
    encode, encode_get_family, encode_operation, encode_query, operation_parts, Query,
};
pub use explain::explain;
pub use netlink::{
    NLMSGERR_ATTR_MSG, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK,
    NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI, NLM_F_REQUEST,
};
