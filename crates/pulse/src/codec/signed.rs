//! The signed heartbeat (with `heartbeat_key`): a fixed 84-byte packet,
//! wire version 4, all integers big-endian:
//!
//! | offset | len | field |
//! |---|---|---|
//! | 0  | 4  | magic `b"PLHB"` |
//! | 4  | 1  | version, 4 |
//! | 5  | 1  | state: 1 active, 2 inactive, 3 leaving |
//! | 6  | 1  | sender role: 1 primary, 2 backup |
//! | 7  | 1  | flags: bit 0 = unwilling (link or child failure); bit 1 = `service = fos`; bit 2 = FOS "stop me"; others 0 |
//! | 8  | 4  | key id (which key of the key file signed the packet) |
//! | 12 | 8  | boot id: the sender's boot counter, larger at every start |
//! | 20 | 8  | sequence (starts at 1, +1 per packet, per boot id) |
//! | 28 | 8  | sender uptime in milliseconds (monotonic) |
//! | 36 | 8  | config digest: first 8 bytes of SHA-256 of the sender's lvs.cf |
//! | 44 | 8  | echo: the receiver's boot id as the sender last heard it (0: not yet) |
//! | 52 | 32 | HMAC-SHA256(key, bytes 0..52 ‖ source address ‖ destination address) |
//!
//! Addresses enter the MAC as 16 bytes (IPv4 as `::ffff:a.b.c.d`), so a packet
//! cannot be reflected to another router or replayed from another address.
//! The echo binds the packet to the receiver's current run: a packet signed
//! before the receiver started cannot carry its boot id (see
//! [`super::freshness`]). Versions 2 (72 bytes) and 3 (76 bytes, no echo) of
//! earlier builds are refused as incompatible.
//!
//! Decoding is total: any byte string yields a packet or one
//! [`DropReason`], never a panic, and nothing is allocated.

use super::{DropReason, PeerState, Role};
use crate::keys::Keyring;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// The signed packet's magic.
pub const SIGNED_MAGIC: [u8; 4] = *b"PLHB";
/// The signed packet's version byte.
pub const SIGNED_VERSION: u8 = 4;
/// Exact length of a signed packet.
pub const SIGNED_LEN: usize = 84;
const SIGNED_BODY: usize = 52;

/// The fields of a signed heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedPacket {
    /// Sender state.
    pub state: PeerState,
    /// Sender role.
    pub role: Role,
    /// Sender cannot take over (link or child failure).
    pub unwilling: bool,
    /// The id of the key that signed it.
    pub key_id: u32,
    /// The sender's boot counter: larger at each start of the sender.
    pub boot_id: u64,
    /// Per boot id, strictly increasing.
    pub seq: u64,
    /// Milliseconds since the sender started.
    pub uptime_ms: u64,
    /// First 8 bytes of SHA-256 of the sender's lvs.cf.
    pub digest: [u8; 8],
    /// The receiver's boot id as the sender last heard it; 0 before it
    /// heard the receiver at all.
    pub echo: u64,
}

impl Role {
    fn wire(self) -> u8 {
        match self {
            Role::Master => 1,
            Role::Backup => 2,
        }
    }
}

type HmacSha256 = Hmac<Sha256>;

fn addr16(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn mac_over(key: &[u8], body: &[u8], src: IpAddr, dst: IpAddr) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(body);
    mac.update(&addr16(src));
    mac.update(&addr16(dst));
    Some(mac)
}

/// Flag bit 1: the sender runs failover services (`service = fos`). A
/// router of the other service type refuses the packet as incompatible,
/// as Piranha's FOS and LVS magics never pair.
pub const FLAG_FOS: u8 = 0b010;
/// Flag bit 2 (with [`FLAG_FOS`]): "stop me", the sender took over after
/// our service failed and asks us to become inactive.
pub const FLAG_STOP_ME: u8 = 0b100;
const SERVICE_FLAGS: u8 = FLAG_FOS | FLAG_STOP_ME;

/// Encodes a signed heartbeat sent from `src` to `dst` with `key` (whose id
/// is `p.key_id`).
pub fn encode_signed(p: &SignedPacket, key: &[u8], src: IpAddr, dst: IpAddr) -> [u8; SIGNED_LEN] {
    encode_signed_flags(p, 0, key, src, dst)
}

/// [`encode_signed`] with service flags ([`FLAG_FOS`], [`FLAG_STOP_ME`]).
pub fn encode_signed_flags(
    p: &SignedPacket,
    service_flags: u8,
    key: &[u8],
    src: IpAddr,
    dst: IpAddr,
) -> [u8; SIGNED_LEN] {
    let mut out = [0u8; SIGNED_LEN];
    out[0..4].copy_from_slice(&SIGNED_MAGIC);
    out[4] = SIGNED_VERSION;
    out[5] = match p.state {
        PeerState::Active => 1,
        PeerState::Inactive => 2,
        PeerState::Leaving => 3,
    };
    out[6] = p.role.wire();
    out[7] = u8::from(p.unwilling) | (service_flags & SERVICE_FLAGS);
    out[8..12].copy_from_slice(&p.key_id.to_be_bytes());
    out[12..20].copy_from_slice(&p.boot_id.to_be_bytes());
    out[20..28].copy_from_slice(&p.seq.to_be_bytes());
    out[28..36].copy_from_slice(&p.uptime_ms.to_be_bytes());
    out[36..44].copy_from_slice(&p.digest);
    out[44..52].copy_from_slice(&p.echo.to_be_bytes());
    if let Some(mac) = mac_over(key, &out[..SIGNED_BODY], src, dst) {
        out[SIGNED_BODY..].copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

fn be64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

/// Whether `buf` claims to be a signed packet (starts with the magic).
pub fn is_signed(buf: &[u8]) -> bool {
    buf.len() >= 4 && buf[0..4] == SIGNED_MAGIC
}

/// Stateless decoding of a signed packet: framing, key, HMAC, fields.
/// Freshness is judged by [`super::freshness::Freshness`]. Checks run in
/// this order: magic (else `LegacyOrMalformed`), version, length, key id,
/// HMAC, field values.
pub fn decode_signed(
    buf: &[u8],
    keys: &Keyring,
    src: IpAddr,
    dst: IpAddr,
) -> Result<SignedPacket, DropReason> {
    match decode_signed_flags(buf, keys, src, dst)? {
        (p, 0) => Ok(p),
        _ => Err(DropReason::Incompatible),
    }
}

/// [`decode_signed`] that also accepts the service flags and returns them
/// (the caller decides whether they match its service type). A "stop me"
/// without the FOS flag is incompatible.
pub fn decode_signed_flags(
    buf: &[u8],
    keys: &Keyring,
    src: IpAddr,
    dst: IpAddr,
) -> Result<(SignedPacket, u8), DropReason> {
    if !is_signed(buf) {
        return Err(DropReason::LegacyOrMalformed);
    }
    if buf.len() > 4 && buf[4] != SIGNED_VERSION {
        return Err(DropReason::Incompatible);
    }
    if buf.len() != SIGNED_LEN {
        return Err(DropReason::BadLength);
    }
    let mut id = [0u8; 4];
    id.copy_from_slice(&buf[8..12]);
    let key_id = u32::from_be_bytes(id);
    let Some(key) = keys.get(key_id) else {
        return Err(DropReason::UnknownKey);
    };
    let Some(mac) = mac_over(key, &buf[..SIGNED_BODY], src, dst) else {
        return Err(DropReason::BadHmac);
    };
    if mac.verify_slice(&buf[SIGNED_BODY..]).is_err() {
        return Err(DropReason::BadHmac);
    }
    let state = match buf[5] {
        1 => PeerState::Active,
        2 => PeerState::Inactive,
        3 => PeerState::Leaving,
        _ => return Err(DropReason::Incompatible),
    };
    let role = match buf[6] {
        1 => Role::Master,
        2 => Role::Backup,
        _ => return Err(DropReason::Incompatible),
    };
    let service_flags = buf[7] & SERVICE_FLAGS;
    if buf[7] & !(1 | SERVICE_FLAGS) != 0 || service_flags == FLAG_STOP_ME {
        return Err(DropReason::Incompatible);
    }
    let mut digest = [0u8; 8];
    digest.copy_from_slice(&buf[36..44]);
    let p = SignedPacket {
        state,
        role,
        unwilling: buf[7] & 1 != 0,
        key_id,
        boot_id: be64(&buf[12..20]),
        seq: be64(&buf[20..28]),
        uptime_ms: be64(&buf[28..36]),
        digest,
        echo: be64(&buf[44..52]),
    };
    Ok((p, service_flags))
}

/// First 8 bytes of SHA-256 of `bytes` (the config digest).
pub fn config_digest(bytes: &[u8]) -> [u8; 8] {
    let full = Sha256::digest(bytes);
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    out
}

/// Hex of a digest, for logs and the status socket.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    pub const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    pub const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    pub const DST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    pub fn ring() -> Keyring {
        Keyring::single(5, KEY.to_vec())
    }

    pub fn sample() -> SignedPacket {
        SignedPacket {
            state: PeerState::Active,
            role: Role::Master,
            unwilling: false,
            key_id: 5,
            boot_id: 0x0102_0304_0506_0708,
            seq: 42,
            uptime_ms: 123_456,
            digest: [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11],
            echo: 0x1112_1314_1516_1718,
        }
    }

    /// HB-01: golden vector. The HMAC was computed independently
    /// (Python `hmac.new(KEY, body + src16 + dst16, sha256)`).
    #[test]
    fn golden_signed_vector() {
        let bytes = encode_signed(&sample(), KEY, SRC, DST);
        let body = "504c48420401010000000005\
                    0102030405060708000000000000002a000000000001e240aabbccddeeff0011\
                    1112131415161718";
        assert_eq!(hex(&bytes[..52]), body);
        assert_eq!(hex(&bytes[52..]), GOLDEN_HMAC);
        assert_eq!(decode_signed(&bytes, &ring(), SRC, DST), Ok(sample()));
    }

    /// The FOS flags: byte 7 carries them under the HMAC; a router that
    /// does not expect them (the plain decoder, an LVS router) refuses the
    /// packet as incompatible, and "stop me" without FOS is refused too.
    #[test]
    fn golden_fos_flags() {
        let p = sample();
        let fos = encode_signed_flags(&p, FLAG_FOS, KEY, SRC, DST);
        let stop = encode_signed_flags(&p, FLAG_FOS | FLAG_STOP_ME, KEY, SRC, DST);
        assert_eq!(hex(&fos[..8]), "504c484204010102");
        assert_eq!(hex(&stop[..8]), "504c484204010106");
        assert_eq!(fos[8..52], encode_signed(&p, KEY, SRC, DST)[8..52]);
        assert_eq!(
            decode_signed_flags(&fos, &ring(), SRC, DST),
            Ok((p, FLAG_FOS))
        );
        assert_eq!(
            decode_signed_flags(&stop, &ring(), SRC, DST),
            Ok((p, FLAG_FOS | FLAG_STOP_ME))
        );
        assert_eq!(
            decode_signed(&fos, &ring(), SRC, DST),
            Err(DropReason::Incompatible)
        );
        let bad = encode_signed_flags(&p, FLAG_STOP_ME, KEY, SRC, DST);
        assert_eq!(
            decode_signed_flags(&bad, &ring(), SRC, DST),
            Err(DropReason::Incompatible)
        );
        // flipping the flag breaks the HMAC
        let mut flipped = fos;
        flipped[7] ^= FLAG_FOS;
        assert_eq!(
            decode_signed_flags(&flipped, &ring(), SRC, DST),
            Err(DropReason::BadHmac)
        );
    }

    const GOLDEN_HMAC: &str = "0de2e48a44435e99e8933c732322dd13fbb75ca134b23cac260106b76a434af8";

    proptest::proptest! {
        #[test]
        fn v4_roundtrip(state in 0u8..3, unw in proptest::prelude::any::<bool>(), boot in proptest::prelude::any::<u64>(),
                        seq in proptest::prelude::any::<u64>(), up in proptest::prelude::any::<u64>(), dg in proptest::prelude::any::<[u8; 8]>(),
                        echo in proptest::prelude::any::<u64>()) {
            let p = SignedPacket {
                state: [PeerState::Active, PeerState::Inactive, PeerState::Leaving][state as usize],
                role: Role::Backup, unwilling: unw, key_id: 5, boot_id: boot, seq, uptime_ms: up, digest: dg, echo,
            };
            let b = encode_signed(&p, KEY, SRC, DST);
            proptest::prop_assert_eq!(decode_signed(&b, &ring(), SRC, DST), Ok(p));
        }
    }
}
