//! The heartbeat wire formats and the acceptance rules.
//!
//! * **Legacy** (default, Piranha-compatible): one native-endian `u32` magic
//!   per datagram (spec 2.4).
//! * **Signed** (when `heartbeat_key` is configured): a fixed 76-byte packet,
//!   wire version 3, all integers big-endian:
//!
//! | offset | len | field |
//! |---|---|---|
//! | 0  | 4  | magic `b"PLHB"` |
//! | 4  | 1  | version, 3 |
//! | 5  | 1  | state: 1 active, 2 inactive, 3 leaving |
//! | 6  | 1  | sender role: 1 primary, 2 backup |
//! | 7  | 1  | flags: bit 0 = unwilling (link or child failure); others 0 |
//! | 8  | 4  | key id (which key of the key file signed the packet) |
//! | 12 | 8  | boot id (random per start) |
//! | 20 | 8  | sequence (starts at 1, +1 per packet, per boot id) |
//! | 28 | 8  | sender uptime in milliseconds (monotonic) |
//! | 36 | 8  | config digest: first 8 bytes of SHA-256 of the sender's lvs.cf |
//! | 44 | 32 | HMAC-SHA256(key, bytes 0..44 ‖ source address ‖ destination address) |
//!
//! Addresses enter the MAC as 16 bytes (IPv4 as `::ffff:a.b.c.d`), so a packet
//! cannot be reflected to another router or replayed from another address.
//! Version 2 (72 bytes, no key id; an earlier build of this pulse) is
//! refused as incompatible.
//!
//! Which format is sent and which is accepted is the [`Auth`] policy
//! (`heartbeat_key` and `heartbeat_auth`): see [`Codec`].
//!
//! Every decoding function is total: any byte string yields either a
//! heartbeat or one [`DropReason`], never a panic, and nothing is allocated.

use crate::keys::Keyring;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::fmt;
use std::net::IpAddr;

/// LVS: the sender is active ("running").
pub const LVS_RUNNING: u32 = 0xbdad_dbda;
/// LVS: the sender is inactive ("stopped").
pub const LVS_STOPPED: u32 = 0xadbd_dabd;
/// FOS running.
pub const FOS_RUNNING: u32 = 0xbeef_babe;
/// FOS stopped.
pub const FOS_STOPPED: u32 = 0xdead_beef;
/// FOS "stop me".
pub const STOP_ME: u32 = 0xdead_dada;
/// HOLD (accepted, logic disabled in Piranha).
pub const HOLD: u32 = 0xdeaf_babe;
/// HELD (accepted, logic disabled in Piranha).
pub const HELD: u32 = 0xdeaf_dada;

/// All seven legacy magics.
pub const LEGACY_MAGICS: [u32; 7] = [
    LVS_RUNNING,
    LVS_STOPPED,
    FOS_RUNNING,
    FOS_STOPPED,
    STOP_ME,
    HOLD,
    HELD,
];

/// The signed packet's magic.
pub const SIGNED_MAGIC: [u8; 4] = *b"PLHB";
/// The signed packet's version byte.
pub const SIGNED_VERSION: u8 = 3;
/// Exact length of a signed packet.
pub const SIGNED_LEN: usize = 76;
const SIGNED_BODY: usize = 44;
/// How many earlier boot ids of the partner are remembered (and refused).
pub const RETIRED_BOOT_IDS: usize = 16;

/// What a heartbeat says about its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerState {
    /// Active ("running"): holds the VIPs.
    Active,
    /// Inactive ("stopped").
    Inactive,
    /// Shutting down cleanly: take over now.
    Leaving,
}

/// The configured role of a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The `primary` router.
    Master,
    /// The `backup` router.
    Backup,
}

impl Role {
    fn wire(self) -> u8 {
        match self {
            Role::Master => 1,
            Role::Backup => 2,
        }
    }
}

/// Why a datagram was not accepted as a heartbeat. Each has a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Enforce mode: a legacy 4-byte magic, or bytes that are not a signed
    /// packet.
    LegacyOrMalformed,
    /// Legacy: not 4 bytes. Signed: the magic and version are right but the
    /// length is not 76.
    BadLength,
    /// Legacy: an unknown magic (or FOS's); signed: unknown version, state,
    /// role or flags, or a sender claiming our own role.
    Incompatible,
    /// Signed: the HMAC does not verify.
    BadHmac,
    /// Signed: sequence not above the last one seen for this boot id, or a
    /// boot id the partner has already replaced.
    Replay,
    /// The source address is not the partner's.
    WrongSource,
    /// Legacy "stop me", HOLD and HELD: valid in Piranha, meaningless for LVS.
    SpecialIgnored,
    /// Signed: the key id is not in our key file.
    UnknownKey,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 8] = [
        DropReason::LegacyOrMalformed,
        DropReason::BadLength,
        DropReason::Incompatible,
        DropReason::BadHmac,
        DropReason::Replay,
        DropReason::WrongSource,
        DropReason::SpecialIgnored,
        DropReason::UnknownKey,
    ];

    /// The counter name.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::LegacyOrMalformed => "legacy_or_malformed",
            DropReason::BadLength => "bad_length",
            DropReason::Incompatible => "incompatible",
            DropReason::BadHmac => "bad_hmac",
            DropReason::Replay => "replay",
            DropReason::WrongSource => "wrong_source",
            DropReason::SpecialIgnored => "special_ignored",
            DropReason::UnknownKey => "unknown_key",
        }
    }

    /// The index in [`DropReason::ALL`].
    pub fn index(self) -> usize {
        match self {
            DropReason::LegacyOrMalformed => 0,
            DropReason::BadLength => 1,
            DropReason::Incompatible => 2,
            DropReason::BadHmac => 3,
            DropReason::Replay => 4,
            DropReason::WrongSource => 5,
            DropReason::SpecialIgnored => 6,
            DropReason::UnknownKey => 7,
        }
    }

    /// The log line (Piranha's wording where Piranha had one).
    pub fn message(self) -> &'static str {
        match self {
            DropReason::LegacyOrMalformed => "unauthenticated or malformed heartbeat dropped",
            DropReason::BadLength => "bad heartbeat packet",
            DropReason::Incompatible => {
                "Incompatible heartbeat received -- other system not using identical services"
            }
            DropReason::BadHmac => "heartbeat with a bad HMAC dropped",
            DropReason::Replay => "replayed or stale heartbeat dropped",
            DropReason::WrongSource => "Unexpected heartbeat",
            DropReason::SpecialIgnored => "ignored special heartbeat",
            DropReason::UnknownKey => {
                "heartbeat signed with a key id that is not in our key file dropped"
            }
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `heartbeat_auth`: the steps from unsigned to signed heartbeats, taken
/// router by router without a failover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMode {
    /// Send unsigned; accept unsigned and valid signed.
    ReceiveOnly,
    /// Send signed; accept unsigned and valid signed.
    Permissive,
    /// Send signed; accept only valid signed (the default with a key).
    Enforce,
}

impl AuthMode {
    /// The lvs.cf spelling, also used on the status socket.
    pub fn name(self) -> &'static str {
        match self {
            AuthMode::ReceiveOnly => "receive-only",
            AuthMode::Permissive => "permissive",
            AuthMode::Enforce => "enforce",
        }
    }
}

/// The heartbeat authentication policy in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No `heartbeat_key`: Piranha's 4-byte heartbeats only.
    Legacy,
    /// `heartbeat_key` with its keys and the `heartbeat_auth` mode.
    Keyed(Keyring, AuthMode),
}

impl Auth {
    /// `legacy`, `receive-only`, `permissive` or `enforce`.
    pub fn mode_name(&self) -> &'static str {
        match self {
            Auth::Legacy => "legacy",
            Auth::Keyed(_, m) => m.name(),
        }
    }

    /// Whether we send signed packets.
    pub fn sends_signed(&self) -> bool {
        matches!(
            self,
            Auth::Keyed(_, AuthMode::Permissive | AuthMode::Enforce)
        )
    }

    /// Whether unsigned (Piranha) packets are accepted.
    pub fn accepts_unsigned(&self) -> bool {
        !matches!(self, Auth::Keyed(_, AuthMode::Enforce))
    }

    /// The keys, when there are any.
    pub fn keys(&self) -> Option<&Keyring> {
        match self {
            Auth::Legacy => None,
            Auth::Keyed(k, _) => Some(k),
        }
    }
}

/// Legacy encoding: the native-endian magic of our state (leaving is sent
/// as "stopped").
pub fn encode_legacy(state: PeerState) -> [u8; 4] {
    match state {
        PeerState::Active => LVS_RUNNING.to_ne_bytes(),
        PeerState::Inactive | PeerState::Leaving => LVS_STOPPED.to_ne_bytes(),
    }
}

/// Legacy decoding (spec 2.4, LVS mode).
pub fn decode_legacy(buf: &[u8]) -> Result<PeerState, DropReason> {
    let Ok(bytes) = <[u8; 4]>::try_from(buf) else {
        return Err(DropReason::BadLength);
    };
    match u32::from_ne_bytes(bytes) {
        LVS_RUNNING => Ok(PeerState::Active),
        LVS_STOPPED => Ok(PeerState::Inactive),
        STOP_ME | HOLD | HELD => Err(DropReason::SpecialIgnored),
        _ => Err(DropReason::Incompatible),
    }
}

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
    /// Random per start of the sender.
    pub boot_id: u64,
    /// Per boot id, strictly increasing.
    pub seq: u64,
    /// Milliseconds since the sender started.
    pub uptime_ms: u64,
    /// First 8 bytes of SHA-256 of the sender's lvs.cf.
    pub digest: [u8; 8],
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

/// Encodes a signed heartbeat sent from `src` to `dst` with `key` (whose id
/// is `p.key_id`).
pub fn encode_signed(p: &SignedPacket, key: &[u8], src: IpAddr, dst: IpAddr) -> [u8; SIGNED_LEN] {
    let mut out = [0u8; SIGNED_LEN];
    out[0..4].copy_from_slice(&SIGNED_MAGIC);
    out[4] = SIGNED_VERSION;
    out[5] = match p.state {
        PeerState::Active => 1,
        PeerState::Inactive => 2,
        PeerState::Leaving => 3,
    };
    out[6] = p.role.wire();
    out[7] = u8::from(p.unwilling);
    out[8..12].copy_from_slice(&p.key_id.to_be_bytes());
    out[12..20].copy_from_slice(&p.boot_id.to_be_bytes());
    out[20..28].copy_from_slice(&p.seq.to_be_bytes());
    out[28..36].copy_from_slice(&p.uptime_ms.to_be_bytes());
    out[36..44].copy_from_slice(&p.digest);
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
/// Replay is checked by [`ReplayGuard`]. Checks run in this order: magic
/// (else `LegacyOrMalformed`), version, length, key id, HMAC, field values.
pub fn decode_signed(
    buf: &[u8],
    keys: &Keyring,
    src: IpAddr,
    dst: IpAddr,
) -> Result<SignedPacket, DropReason> {
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
    if buf[7] & !1 != 0 {
        return Err(DropReason::Incompatible);
    }
    let mut digest = [0u8; 8];
    digest.copy_from_slice(&buf[36..44]);
    Ok(SignedPacket {
        state,
        role,
        unwilling: buf[7] & 1 != 0,
        key_id,
        boot_id: be64(&buf[12..20]),
        seq: be64(&buf[20..28]),
        uptime_ms: be64(&buf[28..36]),
        digest,
    })
}

/// Replay protection: per boot id, the sequence must increase; a new boot id
/// (the partner restarted) is accepted and the previous one is retired, and
/// packets of retired boot ids are refused.
#[derive(Debug, Default, Clone)]
pub struct ReplayGuard {
    current: Option<(u64, u64)>,
    retired: VecDeque<u64>,
}

impl ReplayGuard {
    /// Accepts (and records) or refuses `(boot_id, seq)`.
    pub fn check(&mut self, boot_id: u64, seq: u64) -> Result<(), DropReason> {
        match self.current {
            Some((boot, last)) if boot == boot_id && seq <= last => {
                return Err(DropReason::Replay);
            }
            Some((boot, _)) if boot == boot_id => {}
            Some((boot, _)) => {
                if self.retired.contains(&boot_id) {
                    return Err(DropReason::Replay);
                }
                if self.retired.len() >= RETIRED_BOOT_IDS {
                    self.retired.pop_front();
                }
                self.retired.push_back(boot);
            }
            None => {}
        }
        self.current = Some((boot_id, seq));
        Ok(())
    }
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

/// An accepted heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    /// The partner's state.
    pub state: PeerState,
    /// Signed only: the partner's config digest.
    pub digest: Option<[u8; 8]>,
    /// Signed only: the partner says it cannot take over.
    pub unwilling: bool,
    /// Signed only: the key id that signed it.
    pub key_id: Option<u32>,
}

/// Drop counters, one per [`DropReason`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters(pub [u64; DropReason::ALL.len()]);

impl Counters {
    /// Counts one drop.
    pub fn bump(&mut self, r: DropReason) {
        self.0[r.index()] += 1;
    }

    /// The count for `r`.
    pub fn get(&self, r: DropReason) -> u64 {
        self.0[r.index()]
    }
}

/// Heartbeat encoder/decoder for one router.
///
/// Acceptance rules (pure, unit-tested):
///
/// | policy | sends | accepts |
/// |---|---|---|
/// | legacy (no key) | 4-byte magic | 4-byte magic |
/// | receive-only | 4-byte magic | 4-byte magic, or signed with any listed key |
/// | permissive | signed with the `send` key | 4-byte magic, or signed with any listed key |
/// | enforce | signed with the `send` key | signed with any listed key; anything else is `legacy_or_malformed` |
///
/// A datagram starting with the signed magic is always judged as a signed
/// packet when we have keys (a bad signature is never retried as legacy).
/// The policy can be replaced at run time ([`Codec::set_auth`], on SIGHUP)
/// without losing the boot id, the sequence, the replay windows or the
/// counters, so a mode change or a key rotation drops no heartbeat.
pub struct Codec {
    auth: Auth,
    role: Role,
    boot_id: u64,
    seq: u64,
    guards: Vec<ReplayGuard>,
    /// Drop counters.
    pub counters: Counters,
    /// Accepted heartbeats.
    pub accepted: u64,
    /// Of which signed.
    pub accepted_signed: u64,
}

impl Codec {
    /// A codec with policy `auth`.
    pub fn new(auth: Auth, role: Role, boot_id: u64) -> Codec {
        Codec {
            auth,
            role,
            boot_id,
            seq: 0,
            guards: Vec::new(),
            counters: Counters::default(),
            accepted: 0,
            accepted_signed: 0,
        }
    }

    /// The policy in force.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// Replaces the policy (reload); everything else is kept.
    pub fn set_auth(&mut self, auth: Auth) {
        self.auth = auth;
    }

    /// Our boot id.
    pub fn boot_id(&self) -> u64 {
        self.boot_id
    }

    /// Builds one heartbeat (each signed one takes a new sequence number).
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &mut self,
        state: PeerState,
        unwilling: bool,
        uptime_ms: u64,
        digest: [u8; 8],
        src: IpAddr,
        dst: IpAddr,
    ) -> Vec<u8> {
        match &self.auth {
            Auth::Keyed(keys, AuthMode::Permissive | AuthMode::Enforce) => {
                self.seq += 1;
                let (key_id, key) = keys.sending();
                let p = SignedPacket {
                    state,
                    role: self.role,
                    unwilling,
                    key_id,
                    boot_id: self.boot_id,
                    seq: self.seq,
                    uptime_ms,
                    digest,
                };
                encode_signed(&p, key, src, dst).to_vec()
            }
            Auth::Legacy | Auth::Keyed(_, AuthMode::ReceiveOnly) => encode_legacy(state).to_vec(),
        }
    }

    /// Decodes one datagram from `src` (already checked to be the partner)
    /// received on our address `dst`. Drops are counted.
    pub fn decode(&mut self, buf: &[u8], src: IpAddr, dst: IpAddr) -> Result<Incoming, DropReason> {
        self.decode_on(0, buf, src, dst)
    }

    /// [`Codec::decode`] for channel `ch`: each channel has its own replay
    /// window (the HMAC covers both addresses, so a packet cannot be moved
    /// from one channel to another), so reordering between the paths is not
    /// a replay.
    pub fn decode_on(
        &mut self,
        ch: usize,
        buf: &[u8],
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<Incoming, DropReason> {
        let r = self.decode_inner(ch.min(7), buf, src, dst);
        match r {
            Ok(inc) => {
                self.accepted += 1;
                if inc.key_id.is_some() {
                    self.accepted_signed += 1;
                }
            }
            Err(reason) => self.counters.bump(reason),
        }
        r
    }

    fn decode_inner(
        &mut self,
        ch: usize,
        buf: &[u8],
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<Incoming, DropReason> {
        let unsigned = |buf: &[u8]| {
            decode_legacy(buf).map(|state| Incoming {
                state,
                digest: None,
                unwilling: false,
                key_id: None,
            })
        };
        let (keys, mode) = match &self.auth {
            Auth::Legacy => return unsigned(buf),
            Auth::Keyed(keys, mode) => (keys, *mode),
        };
        if !is_signed(buf) {
            return match mode {
                AuthMode::Enforce => Err(DropReason::LegacyOrMalformed),
                AuthMode::ReceiveOnly | AuthMode::Permissive => unsigned(buf),
            };
        }
        let p = decode_signed(buf, keys, src, dst)?;
        if p.role == self.role {
            return Err(DropReason::Incompatible);
        }
        if self.guards.len() <= ch {
            self.guards.resize_with(ch + 1, ReplayGuard::default);
        }
        self.guards[ch].check(p.boot_id, p.seq)?;
        Ok(Incoming {
            state: p.state,
            digest: Some(p.digest),
            unwilling: p.unwilling,
            key_id: Some(p.key_id),
        })
    }

    /// Counts a drop decided outside the codec (wrong source).
    pub fn count(&mut self, r: DropReason) {
        self.counters.bump(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn ring() -> Keyring {
        Keyring::single(5, KEY.to_vec())
    }

    fn enforce() -> Auth {
        Auth::Keyed(ring(), AuthMode::Enforce)
    }
    const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const DST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    fn sample() -> SignedPacket {
        SignedPacket {
            state: PeerState::Active,
            role: Role::Master,
            unwilling: false,
            key_id: 5,
            boot_id: 0x0102_0304_0506_0708,
            seq: 42,
            uptime_ms: 123_456,
            digest: [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11],
        }
    }

    /// HB-01: golden vector. The HMAC was computed independently
    /// (Python `hmac.new(KEY, body + src16 + dst16, sha256)`).
    #[test]
    fn golden_signed_vector() {
        let bytes = encode_signed(&sample(), KEY, SRC, DST);
        let body = "504c48420301010000000005\
                    0102030405060708000000000000002a000000000001e240aabbccddeeff0011";
        assert_eq!(hex(&bytes[..44]), body);
        assert_eq!(hex(&bytes[44..]), GOLDEN_HMAC);
        assert_eq!(decode_signed(&bytes, &ring(), SRC, DST), Ok(sample()));
    }

    const GOLDEN_HMAC: &str = "274df8abee52f2d4b826478790819278d010b366ba5fddee34fb46a63d8b9c69";

    #[test]
    fn legacy_golden() {
        // x86: little-endian bytes of the magics, as spec 2.4's table.
        if cfg!(target_endian = "little") {
            assert_eq!(encode_legacy(PeerState::Active), [0xda, 0xdb, 0xad, 0xbd]);
            assert_eq!(encode_legacy(PeerState::Inactive), [0xbd, 0xda, 0xbd, 0xad]);
            assert_eq!(encode_legacy(PeerState::Leaving), [0xbd, 0xda, 0xbd, 0xad]);
            assert_eq!(
                decode_legacy(&[0xda, 0xdb, 0xad, 0xbd]),
                Ok(PeerState::Active)
            );
            assert_eq!(
                decode_legacy(&[0xbd, 0xda, 0xbd, 0xad]),
                Ok(PeerState::Inactive)
            );
            assert_eq!(
                decode_legacy(&[0xbe, 0xba, 0xef, 0xbe]),
                Err(DropReason::Incompatible)
            );
            assert_eq!(
                decode_legacy(&[0xef, 0xbe, 0xad, 0xde]),
                Err(DropReason::Incompatible)
            );
            assert_eq!(
                decode_legacy(&[0xda, 0xda, 0xad, 0xde]),
                Err(DropReason::SpecialIgnored)
            );
        }
        assert_eq!(decode_legacy(&[]), Err(DropReason::BadLength));
        assert_eq!(decode_legacy(&[0; 5]), Err(DropReason::BadLength));
        assert_eq!(
            decode_legacy(&HOLD.to_ne_bytes()),
            Err(DropReason::SpecialIgnored)
        );
        assert_eq!(
            decode_legacy(&HELD.to_ne_bytes()),
            Err(DropReason::SpecialIgnored)
        );
    }

    /// HB-01: every outcome class of the keyed decoder has a vector.
    #[test]
    fn every_outcome_class() {
        let mut c = Codec::new(enforce(), Role::Backup, 7);
        let good = encode_signed(&sample(), KEY, SRC, DST);
        assert!(c.decode(&good, SRC, DST).is_ok());
        // replay of the same packet
        assert_eq!(c.decode(&good, SRC, DST), Err(DropReason::Replay));
        // legacy magics
        for m in LEGACY_MAGICS {
            assert_eq!(
                c.decode(&m.to_ne_bytes(), SRC, DST),
                Err(DropReason::LegacyOrMalformed)
            );
        }
        // truncated
        assert_eq!(c.decode(&good[..75], SRC, DST), Err(DropReason::BadLength));
        let mut long = good.to_vec();
        long.push(0);
        assert_eq!(c.decode(&long, SRC, DST), Err(DropReason::BadLength));
        // bad version; an earlier build's version 2 packet (72 bytes)
        let mut v = good;
        v[4] = 4;
        assert_eq!(c.decode(&v, SRC, DST), Err(DropReason::Incompatible));
        let mut old = good[..72].to_vec();
        old[4] = 2;
        assert_eq!(c.decode(&old, SRC, DST), Err(DropReason::Incompatible));
        // a key id we do not have
        let mut k = good;
        k[11] = 6;
        assert_eq!(c.decode(&k, SRC, DST), Err(DropReason::UnknownKey));
        // flipped HMAC bit / body bit / wrong key / other address
        let mut h = good;
        h[75] ^= 1;
        assert_eq!(c.decode(&h, SRC, DST), Err(DropReason::BadHmac));
        let mut b = good;
        b[20] ^= 0x80;
        assert_eq!(c.decode(&b, SRC, DST), Err(DropReason::BadHmac));
        let wrong = encode_signed(
            &SignedPacket {
                seq: 100,
                ..sample()
            },
            b"another key",
            SRC,
            DST,
        );
        assert_eq!(c.decode(&wrong, SRC, DST), Err(DropReason::BadHmac));
        let other: IpAddr = "192.0.2.9".parse().unwrap();
        let p = encode_signed(
            &SignedPacket {
                seq: 101,
                ..sample()
            },
            KEY,
            other,
            DST,
        );
        assert_eq!(c.decode(&p, SRC, DST), Err(DropReason::BadHmac));
        // authenticated but our own role
        let same = encode_signed(
            &SignedPacket {
                role: Role::Backup,
                seq: 102,
                ..sample()
            },
            KEY,
            SRC,
            DST,
        );
        assert_eq!(c.decode(&same, SRC, DST), Err(DropReason::Incompatible));
        assert_eq!(c.counters.get(DropReason::LegacyOrMalformed), 7);
        assert_eq!(c.counters.get(DropReason::Replay), 1);
        assert_eq!(c.counters.get(DropReason::BadLength), 2);
        assert_eq!(c.counters.get(DropReason::BadHmac), 4);
        assert_eq!(c.counters.get(DropReason::Incompatible), 3);
        assert_eq!(c.counters.get(DropReason::UnknownKey), 1);
        assert_eq!(c.accepted, 1);
        assert_eq!(c.accepted_signed, 1);
    }

    #[test]
    fn replay_rules() {
        let mut g = ReplayGuard::default();
        assert_eq!(g.check(1, 5), Ok(()));
        assert_eq!(g.check(1, 5), Err(DropReason::Replay));
        assert_eq!(g.check(1, 4), Err(DropReason::Replay));
        assert_eq!(g.check(1, 6), Ok(()));
        assert_eq!(g.check(1, u64::MAX), Ok(()));
        assert_eq!(g.check(1, u64::MAX), Err(DropReason::Replay));
        // restart: new boot id, any sequence
        assert_eq!(g.check(2, 1), Ok(()));
        // the old boot is retired for good
        assert_eq!(g.check(1, u64::MAX), Err(DropReason::Replay));
        assert_eq!(g.check(2, 2), Ok(()));
    }

    #[test]
    fn legacy_codec_roundtrip() {
        let mut c = Codec::new(Auth::Legacy, Role::Master, 1);
        for st in [PeerState::Active, PeerState::Inactive] {
            let b = c.encode(st, false, 0, [0; 8], SRC, DST);
            assert_eq!(b.len(), 4);
            assert_eq!(c.decode(&b, SRC, DST).map(|i| i.state), Ok(st));
        }
    }

    #[test]
    fn keyed_codec_roundtrip_and_sequence() {
        let mut tx = Codec::new(enforce(), Role::Master, 99);
        let mut rx = Codec::new(enforce(), Role::Backup, 5);
        let mut last = Vec::new();
        for st in [PeerState::Inactive, PeerState::Active, PeerState::Leaving] {
            let b = tx.encode(st, true, 10, [1; 8], SRC, DST);
            assert_eq!(b.len(), SIGNED_LEN);
            let i = rx.decode(&b, SRC, DST).unwrap();
            assert_eq!(i.state, st);
            assert_eq!(i.digest, Some([1; 8]));
            assert!(i.unwilling);
            last = b;
        }
        assert_eq!(rx.decode(&last, SRC, DST), Err(DropReason::Replay));
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    /// HB-02: 10^6 random datagrams plus mutations of valid packets; never a
    /// panic, always one accepted heartbeat or one drop reason. Decode time
    /// p99 < 10 us is asserted in release builds.
    #[test]
    fn decoder_fuzz_random_and_mutations() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut keyed = Codec::new(enforce(), Role::Backup, 1);
        let mut legacy = Codec::new(Auth::Legacy, Role::Backup, 1);
        let mut permissive = Codec::new(Auth::Keyed(ring(), AuthMode::Permissive), Role::Backup, 1);
        let mut buf = vec![0u8; 65_507];
        let mut times = Vec::with_capacity(1_000_000);
        for i in 0..1_000_000u32 {
            let len = if i % 1000 == 0 {
                (rng.next() % 65_508) as usize
            } else {
                (rng.next() % 100) as usize
            };
            for b in buf[..len].iter_mut() {
                *b = rng.next() as u8;
            }
            if i % 3 == 0 && len >= 4 {
                buf[..4].copy_from_slice(&SIGNED_MAGIC);
                if i % 6 == 0 && len >= 12 {
                    // reach the HMAC: right version and key id
                    buf[4] = SIGNED_VERSION;
                    buf[8..12].copy_from_slice(&5u32.to_be_bytes());
                }
            }
            let t = std::time::Instant::now();
            let r = keyed.decode(&buf[..len], SRC, DST);
            times.push(t.elapsed());
            assert!(r.is_err());
            let _ = legacy.decode(&buf[..len], SRC, DST);
            let _ = permissive.decode(&buf[..len], SRC, DST);
        }
        // mutations of a valid packet: every single-byte change is refused
        let good = encode_signed(
            &SignedPacket {
                seq: 1_000,
                ..sample()
            },
            KEY,
            SRC,
            DST,
        );
        for pos in 0..SIGNED_LEN {
            for _ in 0..8 {
                let mut m = good;
                let x = (rng.next() as u8) | 1;
                m[pos] ^= x;
                let t = std::time::Instant::now();
                let r = keyed.decode(&m, SRC, DST);
                times.push(t.elapsed());
                assert!(r.is_err(), "mutation at {pos} accepted");
            }
        }
        for cut in 0..SIGNED_LEN {
            assert!(keyed.decode(&good[..cut], SRC, DST).is_err());
        }
        let total: u64 = keyed.counters.0.iter().sum();
        assert_eq!(total as usize, times.len() + SIGNED_LEN);
        assert_eq!(keyed.accepted, 0);
        times.sort();
        let p99 = times[times.len() * 99 / 100];
        eprintln!("decode p99 = {p99:?}");
        if !cfg!(debug_assertions) {
            assert!(p99 < std::time::Duration::from_micros(10), "p99 {p99:?}");
        }
    }

    fn ring_of(ids: &[u32], send: u32) -> Keyring {
        let keys = ids
            .iter()
            .map(|&id| (id, format!("secret number {id} of the test").into_bytes()))
            .collect();
        Keyring::new(keys, send).expect("valid ring")
    }

    /// HB-11: the acceptance rules, policy by policy, for an unsigned
    /// heartbeat, a signed one with a listed key, one with an unlisted key
    /// and one with a bad signature.
    #[test]
    fn acceptance_rules_per_mode() {
        let keys = ring_of(&[1, 2], 1);
        let signed = |id: u32, seq: u64| {
            let mut tx = Codec::new(
                Auth::Keyed(ring_of(&[id], id), AuthMode::Enforce),
                Role::Master,
                9,
            );
            tx.seq = seq - 1;
            tx.encode(PeerState::Active, false, 0, [0; 8], SRC, DST)
        };
        let unsigned = encode_legacy(PeerState::Active).to_vec();
        let policies = [
            Auth::Legacy,
            Auth::Keyed(keys.clone(), AuthMode::ReceiveOnly),
            Auth::Keyed(keys.clone(), AuthMode::Permissive),
            Auth::Keyed(keys.clone(), AuthMode::Enforce),
        ];
        // (unsigned, signed with key 2, signed with key 3 (unlisted), tampered)
        let want: [[Result<(), DropReason>; 4]; 4] = [
            [
                Ok(()),
                Err(DropReason::BadLength),
                Err(DropReason::BadLength),
                Err(DropReason::BadLength),
            ],
            [
                Ok(()),
                Ok(()),
                Err(DropReason::UnknownKey),
                Err(DropReason::BadHmac),
            ],
            [
                Ok(()),
                Ok(()),
                Err(DropReason::UnknownKey),
                Err(DropReason::BadHmac),
            ],
            [
                Err(DropReason::LegacyOrMalformed),
                Ok(()),
                Err(DropReason::UnknownKey),
                Err(DropReason::BadHmac),
            ],
        ];
        for (auth, want) in policies.into_iter().zip(want) {
            let name = auth.mode_name();
            let mut rx = Codec::new(auth, Role::Backup, 1);
            let mut tampered = signed(2, 3);
            tampered[5] = 2;
            let got = [
                rx.decode(&unsigned, SRC, DST).map(|_| ()),
                rx.decode(&signed(2, 1), SRC, DST).map(|_| ()),
                rx.decode(&signed(3, 2), SRC, DST).map(|_| ()),
                rx.decode(&tampered, SRC, DST).map(|_| ()),
            ];
            assert_eq!(got, want, "policy {name}");
        }
    }

    /// HB-11: what each policy sends.
    #[test]
    fn what_each_mode_sends() {
        for (auth, signed) in [
            (Auth::Legacy, false),
            (Auth::Keyed(ring_of(&[1], 1), AuthMode::ReceiveOnly), false),
            (Auth::Keyed(ring_of(&[1], 1), AuthMode::Permissive), true),
            (Auth::Keyed(ring_of(&[1, 2], 2), AuthMode::Enforce), true),
        ] {
            assert_eq!(auth.sends_signed(), signed);
            let send_id = auth.keys().map(Keyring::send_id);
            let mut c = Codec::new(auth, Role::Master, 1);
            let b = c.encode(PeerState::Inactive, true, 0, [0; 8], SRC, DST);
            if signed {
                assert_eq!(b.len(), SIGNED_LEN);
                assert_eq!(
                    Some(u32::from_be_bytes([b[8], b[9], b[10], b[11]])),
                    send_id
                );
            } else {
                assert_eq!(b, encode_legacy(PeerState::Inactive));
            }
        }
    }

    /// HB-11: the migration legacy -> receive-only -> permissive -> enforce
    /// and a make-before-break key rotation, router by router, drop no
    /// heartbeat: at every step each router accepts what the other sends.
    #[test]
    fn migration_and_rotation_drop_nothing() {
        let k1 = ring_of(&[1], 1);
        let k12_1 = ring_of(&[1, 2], 1);
        let k12_2 = ring_of(&[1, 2], 2);
        let k2 = ring_of(&[2], 2);
        use AuthMode::*;
        // (r1's policy, r2's policy) after each step; one router changes per step
        let steps = [
            (Auth::Legacy, Auth::Legacy),
            (Auth::Keyed(k1.clone(), ReceiveOnly), Auth::Legacy),
            (
                Auth::Keyed(k1.clone(), ReceiveOnly),
                Auth::Keyed(k1.clone(), ReceiveOnly),
            ),
            (
                Auth::Keyed(k1.clone(), Permissive),
                Auth::Keyed(k1.clone(), ReceiveOnly),
            ),
            (
                Auth::Keyed(k1.clone(), Permissive),
                Auth::Keyed(k1.clone(), Permissive),
            ),
            (
                Auth::Keyed(k1.clone(), Enforce),
                Auth::Keyed(k1.clone(), Permissive),
            ),
            (
                Auth::Keyed(k1.clone(), Enforce),
                Auth::Keyed(k1.clone(), Enforce),
            ),
            (
                Auth::Keyed(k12_1.clone(), Enforce),
                Auth::Keyed(k1.clone(), Enforce),
            ),
            (
                Auth::Keyed(k12_1.clone(), Enforce),
                Auth::Keyed(k12_1.clone(), Enforce),
            ),
            (
                Auth::Keyed(k12_2.clone(), Enforce),
                Auth::Keyed(k12_1.clone(), Enforce),
            ),
            (
                Auth::Keyed(k12_2.clone(), Enforce),
                Auth::Keyed(k12_2.clone(), Enforce),
            ),
            (
                Auth::Keyed(k2.clone(), Enforce),
                Auth::Keyed(k12_2.clone(), Enforce),
            ),
            (
                Auth::Keyed(k2.clone(), Enforce),
                Auth::Keyed(k2.clone(), Enforce),
            ),
        ];
        let mut r1 = Codec::new(Auth::Legacy, Role::Master, 11);
        let mut r2 = Codec::new(Auth::Legacy, Role::Backup, 22);
        let a: IpAddr = SRC;
        let b: IpAddr = DST;
        let mut sent = 0;
        for (i, (p1, p2)) in steps.into_iter().enumerate() {
            r1.set_auth(p1);
            r2.set_auth(p2);
            for st in [PeerState::Active, PeerState::Inactive, PeerState::Active] {
                let x = r1.encode(st, false, 0, [0; 8], a, b);
                assert_eq!(
                    r2.decode(&x, a, b).map(|i| i.state),
                    Ok(st),
                    "step {i}: r1 -> r2"
                );
                let y = r2.encode(st, false, 0, [0; 8], b, a);
                assert_eq!(
                    r1.decode(&y, b, a).map(|i| i.state),
                    Ok(st),
                    "step {i}: r2 -> r1"
                );
                sent += 1;
            }
        }
        assert_eq!(r1.counters, Counters::default());
        assert_eq!(r2.counters, Counters::default());
        assert_eq!((r1.accepted, r2.accepted), (sent, sent));
        // enforce now refuses an unsigned heartbeat, and a retired key
        let unsigned = encode_legacy(PeerState::Active);
        assert_eq!(
            r2.decode(&unsigned, a, b),
            Err(DropReason::LegacyOrMalformed)
        );
        let mut old = Codec::new(Auth::Keyed(k1, Enforce), Role::Master, 33);
        let x = old.encode(PeerState::Active, false, 0, [0; 8], a, b);
        assert_eq!(r2.decode(&x, a, b), Err(DropReason::UnknownKey));
    }

    /// A policy change keeps the sequence and the replay windows: a packet
    /// captured before the change is still a replay after it.
    #[test]
    fn set_auth_keeps_sequence_and_replay_window() {
        let mut tx = Codec::new(
            Auth::Keyed(ring_of(&[1, 2], 1), AuthMode::Enforce),
            Role::Master,
            5,
        );
        let mut rx = Codec::new(
            Auth::Keyed(ring_of(&[1, 2], 1), AuthMode::Enforce),
            Role::Backup,
            6,
        );
        let first = tx.encode(PeerState::Active, false, 0, [0; 8], SRC, DST);
        assert!(rx.decode(&first, SRC, DST).is_ok());
        tx.set_auth(Auth::Keyed(ring_of(&[1, 2], 2), AuthMode::Enforce));
        rx.set_auth(Auth::Keyed(ring_of(&[2], 2), AuthMode::Permissive));
        let second = tx.encode(PeerState::Active, false, 0, [0; 8], SRC, DST);
        assert_eq!(u64::from_be_bytes(second[20..28].try_into().unwrap()), 2);
        assert!(rx.decode(&second, SRC, DST).is_ok());
        rx.set_auth(Auth::Keyed(ring_of(&[1, 2], 2), AuthMode::Enforce));
        assert_eq!(rx.decode(&first, SRC, DST), Err(DropReason::Replay));
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let mut c = Codec::new(enforce(), Role::Master, 3);
            let _ = c.decode(&bytes, SRC, DST);
            let _ = decode_legacy(&bytes);
        }

        #[test]
        fn v2_roundtrip(state in 0u8..3, unw in proptest::prelude::any::<bool>(), boot in proptest::prelude::any::<u64>(),
                        seq in proptest::prelude::any::<u64>(), up in proptest::prelude::any::<u64>(), dg in proptest::prelude::any::<[u8; 8]>()) {
            let p = SignedPacket {
                state: [PeerState::Active, PeerState::Inactive, PeerState::Leaving][state as usize],
                role: Role::Backup, unwilling: unw, key_id: 5, boot_id: boot, seq, uptime_ms: up, digest: dg,
            };
            let b = encode_signed(&p, KEY, SRC, DST);
            proptest::prop_assert_eq!(decode_signed(&b, &ring(), SRC, DST), Ok(p));
        }
    }
}
