//! The heartbeat wire formats and the acceptance rules.
//!
//! * **Legacy** (default, Piranha-compatible): one native-endian `u32` magic
//!   per datagram ([`legacy`]).
//! * **Signed** (when `heartbeat_key` is configured): a fixed 84-byte packet
//!   with an HMAC, the sender's boot id and sequence, and an echo of the
//!   receiver's boot id ([`signed`]), judged by the freshness rule
//!   ([`freshness`]) so that no captured packet can move a router.
//!
//! Which format is sent and which is accepted is the [`Auth`] policy
//! (`heartbeat_key` and `heartbeat_auth`): see [`Codec`].
//!
//! Every decoding function is total: any byte string yields either a
//! heartbeat or one [`DropReason`], never a panic, and nothing is allocated.

pub mod freshness;
pub mod legacy;
pub mod signed;
#[cfg(test)]
mod tests;

pub use freshness::Freshness;
pub use legacy::*;
pub use signed::{
    config_digest, decode_signed, decode_signed_flags, encode_signed, encode_signed_flags, hex,
    is_signed, SignedPacket, FLAG_FOS, FLAG_STOP_ME, SIGNED_LEN, SIGNED_MAGIC, SIGNED_VERSION,
};

use crate::keys::Keyring;
use std::fmt;
use std::net::IpAddr;

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

/// Why a datagram was not accepted as a heartbeat. Each has a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Enforce mode: a legacy 4-byte magic, or bytes that are not a signed
    /// packet.
    LegacyOrMalformed,
    /// Legacy: not 4 bytes. Signed: the magic and version are right but the
    /// length is not 76.
    BadLength,
    /// Legacy: an unknown magic (or one of the other service type); signed:
    /// the other service type, an unknown version, state,
    /// role or flags, or a sender claiming our own role.
    Incompatible,
    /// Signed: the HMAC does not verify.
    BadHmac,
    /// Signed: sequence not above the last one seen for this boot id, or a
    /// boot id older than the partner's latest.
    Replay,
    /// The source address is not the partner's.
    WrongSource,
    /// Legacy "stop me", HOLD and HELD: valid in Piranha, meaningless for LVS.
    SpecialIgnored,
    /// Signed: the key id is not in our key file.
    UnknownKey,
    /// Signed, `enforce`: the packet does not echo our current boot id, so
    /// nothing shows it was signed after the partner heard this run of ours
    /// (a capture from before we started, or the partner's first packets
    /// before it heard us: those are confirmed one round trip later).
    Unconfirmed,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 9] = [
        DropReason::LegacyOrMalformed,
        DropReason::BadLength,
        DropReason::Incompatible,
        DropReason::BadHmac,
        DropReason::Replay,
        DropReason::WrongSource,
        DropReason::SpecialIgnored,
        DropReason::UnknownKey,
        DropReason::Unconfirmed,
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
            DropReason::Unconfirmed => "unconfirmed",
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
            DropReason::Unconfirmed => 8,
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
            DropReason::Unconfirmed => {
                "heartbeat signed before the partner heard this pulse start dropped (a restart of either router, or a replay)"
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
    /// FOS "stop me": the partner took over after our service failed and
    /// asks us to become inactive (`state` is then `Active`).
    pub stop_me: bool,
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
/// counters, so a mode change or a key rotation drops no heartbeat. Signed
/// packets are judged by the freshness rule of [`freshness`].
pub struct Codec {
    auth: Auth,
    service: ServiceMode,
    stop_me: bool,
    role: Role,
    boot_id: u64,
    seq: u64,
    fresh: Freshness,
    reply_now: bool,
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
            service: ServiceMode::Lvs,
            stop_me: false,
            role,
            boot_id,
            seq: 0,
            fresh: Freshness::default(),
            reply_now: false,
            counters: Counters::default(),
            accepted: 0,
            accepted_signed: 0,
        }
    }

    /// The same codec for `service`'s magics (and, signed, its flags).
    pub fn with_service(mut self, service: ServiceMode) -> Codec {
        self.service = service;
        self
    }

    /// The service type whose heartbeats are sent and accepted.
    pub fn service(&self) -> ServiceMode {
        self.service
    }

    /// FOS: while set, "active" is sent as "stop me" (we took over after the
    /// partner's service failed, until the partner says it stopped).
    pub fn set_stop_me(&mut self, on: bool) {
        self.stop_me = on && self.service == ServiceMode::Fos;
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

    /// The partner's latest boot id seen in a valid signed packet (0: none).
    pub fn partner_boot_id(&self) -> u64 {
        self.fresh.echo()
    }

    /// Whether a new run of the partner was just seen, so a heartbeat should
    /// go out now rather than at the next keepalive (it confirms the
    /// partner's next packet; see [`freshness`]). Cleared by the call.
    pub fn take_reply_request(&mut self) -> bool {
        std::mem::take(&mut self.reply_now)
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
                    echo: self.fresh.echo(),
                };
                let flags = match self.service {
                    ServiceMode::Lvs => 0,
                    ServiceMode::Fos if self.stop_me && state == PeerState::Active => {
                        FLAG_FOS | FLAG_STOP_ME
                    }
                    ServiceMode::Fos => FLAG_FOS,
                };
                encode_signed_flags(&p, flags, key, src, dst).to_vec()
            }
            Auth::Legacy | Auth::Keyed(_, AuthMode::ReceiveOnly) => {
                encode_legacy_for(self.service, state, self.stop_me).to_vec()
            }
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
        let service = self.service;
        let unsigned = |buf: &[u8]| {
            decode_legacy_for(service, buf).map(|beat| {
                let (state, stop_me) = match beat {
                    LegacyBeat::State(s) => (s, false),
                    LegacyBeat::StopMe => (PeerState::Active, true),
                };
                Incoming {
                    state,
                    digest: None,
                    unwilling: false,
                    key_id: None,
                    stop_me,
                }
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
        let (p, flags) = decode_signed_flags(buf, keys, src, dst)?;
        let fos = flags & FLAG_FOS != 0;
        if p.role == self.role || fos != (self.service == ServiceMode::Fos) {
            return Err(DropReason::Incompatible);
        }
        self.reply_now |= self.fresh.saw(p.boot_id);
        let confirmed = p.echo == self.boot_id;
        if !confirmed && mode == AuthMode::Enforce {
            return Err(DropReason::Unconfirmed);
        }
        self.fresh.admit(ch, p.boot_id, p.seq)?;
        Ok(Incoming {
            state: p.state,
            digest: Some(p.digest),
            unwilling: p.unwilling,
            key_id: Some(p.key_id),
            stop_me: flags & FLAG_STOP_ME != 0 && p.state == PeerState::Active,
        })
    }

    /// Counts a drop decided outside the codec (wrong source).
    pub fn count(&mut self, r: DropReason) {
        self.counters.bump(r);
    }
}
