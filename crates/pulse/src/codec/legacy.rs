//! Piranha's heartbeat: one native-endian `u32` magic per datagram.
//!
//! Each service type has its own pair of magics: LVS routers
//! send `LVS_RUNNING`/`LVS_STOPPED`, failover-service routers
//! `FOS_RUNNING`/`FOS_STOPPED`, and only an FOS router sends "stop me"
//! (it took over after the partner's service failed and asks the partner
//! to let go). A magic of the other service type is `Incompatible`, so an
//! LVS router and an FOS router never pair.

use super::{DropReason, PeerState};

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

/// Legacy encoding: the native-endian magic of our state (leaving is sent
/// as "stopped").
pub fn encode_legacy(state: PeerState) -> [u8; 4] {
    match state {
        PeerState::Active => LVS_RUNNING.to_ne_bytes(),
        PeerState::Inactive | PeerState::Leaving => LVS_STOPPED.to_ne_bytes(),
    }
}

/// Which set of magics a router uses (lvs.cf `service`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ServiceMode {
    /// `service = lvs` (the default).
    #[default]
    Lvs,
    /// `service = fos`: failover services.
    Fos,
}

/// What a legacy heartbeat says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyBeat {
    /// The sender announces its state.
    State(PeerState),
    /// FOS "stop me": the sender took over and asks us to become inactive.
    StopMe,
}

/// Legacy encoding for `mode`: the native-endian magic of our state
/// (leaving is sent as "stopped"); `stop_me` (FOS only) replaces an
/// "active" announcement by the "stop me" magic.
pub fn encode_legacy_for(mode: ServiceMode, state: PeerState, stop_me: bool) -> [u8; 4] {
    match mode {
        ServiceMode::Lvs => encode_legacy(state),
        ServiceMode::Fos => match state {
            PeerState::Active if stop_me => STOP_ME.to_ne_bytes(),
            PeerState::Active => FOS_RUNNING.to_ne_bytes(),
            PeerState::Inactive | PeerState::Leaving => FOS_STOPPED.to_ne_bytes(),
        },
    }
}

/// Legacy decoding for `mode`: the magics of the other service type are
/// `Incompatible`; "stop me" is meaningful in FOS mode only.
pub fn decode_legacy_for(mode: ServiceMode, buf: &[u8]) -> Result<LegacyBeat, DropReason> {
    if mode == ServiceMode::Lvs {
        return decode_legacy(buf).map(LegacyBeat::State);
    }
    let Ok(bytes) = <[u8; 4]>::try_from(buf) else {
        return Err(DropReason::BadLength);
    };
    match u32::from_ne_bytes(bytes) {
        FOS_RUNNING => Ok(LegacyBeat::State(PeerState::Active)),
        FOS_STOPPED => Ok(LegacyBeat::State(PeerState::Inactive)),
        STOP_ME => Ok(LegacyBeat::StopMe),
        HOLD | HELD => Err(DropReason::SpecialIgnored),
        _ => Err(DropReason::Incompatible),
    }
}

/// Legacy decoding (Piranha's LVS mode).
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Reliability catalogue HB-01 (docs/RELIABILITY.md).
    #[test]
    fn legacy_golden() {
        // x86: little-endian bytes of the magics, as Piranha sends them.
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
        assert_eq!(
            decode_legacy_for(ServiceMode::Lvs, &[0xda, 0xdb, 0xad, 0xbd]),
            Ok(LegacyBeat::State(PeerState::Active))
        );
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

    /// Spec 2.4: the three FOS magics on the wire, native byte order
    /// (x86: little-endian), and the LVS magics refused by an FOS router.
    #[test]
    fn fos_golden() {
        use ServiceMode::Fos;
        let running = encode_legacy_for(Fos, PeerState::Active, false);
        let stopped = encode_legacy_for(Fos, PeerState::Inactive, false);
        let leaving = encode_legacy_for(Fos, PeerState::Leaving, false);
        let stop_me = encode_legacy_for(Fos, PeerState::Active, true);
        assert_eq!(running, 0xbeef_babe_u32.to_ne_bytes());
        assert_eq!(stopped, 0xdead_beef_u32.to_ne_bytes());
        assert_eq!(leaving, stopped);
        assert_eq!(stop_me, 0xdead_dada_u32.to_ne_bytes());
        // "stop me" only replaces "active"
        assert_eq!(encode_legacy_for(Fos, PeerState::Inactive, true), stopped);
        if cfg!(target_endian = "little") {
            assert_eq!(running, [0xbe, 0xba, 0xef, 0xbe]);
            assert_eq!(stopped, [0xef, 0xbe, 0xad, 0xde]);
            assert_eq!(stop_me, [0xda, 0xda, 0xad, 0xde]);
        }
        assert_eq!(
            decode_legacy_for(Fos, &running),
            Ok(LegacyBeat::State(PeerState::Active))
        );
        assert_eq!(
            decode_legacy_for(Fos, &stopped),
            Ok(LegacyBeat::State(PeerState::Inactive))
        );
        assert_eq!(decode_legacy_for(Fos, &stop_me), Ok(LegacyBeat::StopMe));
        // an LVS router and an FOS router never pair
        for m in [LVS_RUNNING, LVS_STOPPED] {
            assert_eq!(
                decode_legacy_for(Fos, &m.to_ne_bytes()),
                Err(DropReason::Incompatible)
            );
        }
        for m in [FOS_RUNNING, FOS_STOPPED] {
            assert_eq!(
                decode_legacy_for(ServiceMode::Lvs, &m.to_ne_bytes()),
                Err(DropReason::Incompatible)
            );
        }
        // an LVS router never sends the FOS magics, even asked to force
        assert_eq!(
            encode_legacy_for(ServiceMode::Lvs, PeerState::Active, true),
            LVS_RUNNING.to_ne_bytes()
        );
        for m in [HOLD, HELD] {
            assert_eq!(
                decode_legacy_for(Fos, &m.to_ne_bytes()),
                Err(DropReason::SpecialIgnored)
            );
        }
        assert_eq!(decode_legacy_for(Fos, &[0; 3]), Err(DropReason::BadLength));
    }
}
