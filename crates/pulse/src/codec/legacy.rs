//! Piranha's heartbeat: one native-endian `u32` magic per datagram.

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
}
