//! Freshness of signed heartbeats: why no captured packet can move a
//! router, whatever restarts happened since it was captured.
//!
//! The rule:
//!
//! 1. Every start of pulse takes a **boot id larger than any before**: a
//!    counter kept in pulse's state directory, and never below the wall
//!    clock's seconds (so losing the file does not go back either); see
//!    [`crate::bootid`].
//! 2. Every signed packet **echoes the receiver's boot id** as the sender
//!    last heard it (0 before it heard the receiver at all), under the MAC.
//! 3. With `heartbeat_auth = enforce`, a packet counts only if its echo is
//!    the receiver's **current** boot id (it was signed after the partner
//!    heard this run of ours: nothing captured before we started can say
//!    so), its boot id is **not below** the partner's latest on that channel
//!    (a capture of an earlier run of the partner, even one made during our
//!    run, cannot displace the current one), and its sequence is above the
//!    last one of that boot id on that channel.
//! 4. Anything else is dropped and changes no state: not the partner's
//!    state, not the replay windows. The only thing a MAC-valid packet
//!    always does is tell us the partner's highest boot id, which is what we
//!    echo; an old capture has a lower one, so it cannot change the echo.
//!
//! A restarted router is heard again after one round trip: the first
//! packets of a new run carry an old or no echo and are dropped, the
//! partner answers at once when it sees a new boot id, and that answer's
//! echo confirms it. In `receive-only` and `permissive` modes unsigned
//! packets are accepted anyway, so a signed packet whose echo does not
//! confirm it is accepted like an unsigned one (but still never goes back
//! to an older boot id or sequence).

use super::DropReason;

/// What one router knows about the partner's runs.
#[derive(Debug, Default, Clone)]
pub struct Freshness {
    /// The highest boot id seen in a packet whose MAC verified.
    peer_latest: u64,
    /// Per channel: the boot id and sequence of the last admitted packet.
    windows: Vec<Option<(u64, u64)>>,
}

impl Freshness {
    /// A packet whose MAC verified came from the partner's run `boot_id`.
    /// Returns true when that run is newer than any seen (the partner
    /// restarted, or we did and hear it for the first time): answer at once
    /// so that its next packet can confirm itself.
    pub fn saw(&mut self, boot_id: u64) -> bool {
        if boot_id > self.peer_latest {
            self.peer_latest = boot_id;
            true
        } else {
            false
        }
    }

    /// What our packets echo: the partner's latest boot id (0: none yet).
    pub fn echo(&self) -> u64 {
        self.peer_latest
    }

    /// Admits and records `(boot_id, seq)` on `channel`, or refuses it as a
    /// replay: an older run than the last admitted one, or a sequence not
    /// above the last one of the same run.
    pub fn admit(&mut self, channel: usize, boot_id: u64, seq: u64) -> Result<(), DropReason> {
        if self.windows.len() <= channel {
            self.windows.resize(channel + 1, None);
        }
        match self.windows[channel] {
            Some((boot, _)) if boot_id < boot => return Err(DropReason::Replay),
            Some((boot, last)) if boot_id == boot && seq <= last => return Err(DropReason::Replay),
            _ => {}
        }
        self.windows[channel] = Some((boot_id, seq));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::signed::tests::{DST, SRC};
    use super::super::*;
    use super::*;
    use crate::keys::Keyring;

    /// Reliability catalogue HB-08 (docs/RELIABILITY.md).
    #[test]
    fn windows_go_forward_only() {
        let mut f = Freshness::default();
        assert_eq!(f.admit(0, 10, 5), Ok(()));
        assert_eq!(f.admit(0, 10, 5), Err(DropReason::Replay));
        assert_eq!(f.admit(0, 10, 4), Err(DropReason::Replay));
        assert_eq!(f.admit(0, 10, 6), Ok(()));
        assert_eq!(f.admit(0, 10, u64::MAX), Ok(()));
        assert_eq!(f.admit(0, 10, u64::MAX), Err(DropReason::Replay));
        // a newer run: any sequence; the older run never again
        assert_eq!(f.admit(0, 11, 1), Ok(()));
        assert_eq!(f.admit(0, 10, u64::MAX), Err(DropReason::Replay));
        assert_eq!(f.admit(0, 11, 2), Ok(()));
        // channels are independent (reordering across paths is not a replay)
        assert_eq!(f.admit(1, 10, 7), Ok(()));
        assert!(f.saw(3) && !f.saw(3) && !f.saw(2) && f.saw(4));
        assert_eq!(f.echo(), 4);
    }

    fn keys() -> Keyring {
        Keyring::single(1, b"the shared key of both routers".to_vec())
    }

    /// One router's codec in `enforce`, started with `boot`.
    fn router(role: Role, boot: u64) -> Codec {
        Codec::new(Auth::Keyed(keys(), AuthMode::Enforce), role, boot)
    }

    struct Pair {
        a: Codec,
        b: Codec,
        a_boot: u64,
        b_boot: u64,
        /// Everything A ever sent to B, and B to A, in every run.
        a_sent: Vec<Vec<u8>>,
        b_sent: Vec<Vec<u8>>,
    }

    impl Pair {
        fn new() -> Pair {
            Pair {
                a: router(Role::Master, 1_000),
                b: router(Role::Backup, 2_000),
                a_boot: 1_000,
                b_boot: 2_000,
                a_sent: Vec::new(),
                b_sent: Vec::new(),
            }
        }

        fn a_to_b(&mut self) -> Result<Incoming, DropReason> {
            let p = self.a.encode(PeerState::Active, false, 0, [0; 8], SRC, DST);
            self.a_sent.push(p.clone());
            self.b.decode(&p, SRC, DST)
        }

        fn b_to_a(&mut self) -> Result<Incoming, DropReason> {
            let p = self
                .b
                .encode(PeerState::Inactive, false, 0, [0; 8], DST, SRC);
            self.b_sent.push(p.clone());
            self.a.decode(&p, DST, SRC)
        }

        /// Both routers talk until each accepts the other: at most two
        /// rounds after a restart (one when the first packet is answered).
        fn converge(&mut self) {
            for _ in 0..2 {
                let _ = self.a_to_b();
                let _ = self.b_to_a();
            }
            assert!(self.a_to_b().is_ok(), "B does not hear A after a handshake");
            assert!(self.b_to_a().is_ok(), "A does not hear B after a handshake");
        }

        fn restart_a(&mut self) {
            self.a_boot += 1;
            self.a = router(Role::Master, self.a_boot);
        }

        fn restart_b(&mut self) {
            self.b_boot += 1;
            self.b = router(Role::Backup, self.b_boot);
        }

        /// Replays every packet ever captured to both routers; none may be
        /// accepted, and afterwards the genuine exchange still works.
        fn replay_everything(&mut self, when: &str) {
            for p in self.a_sent.clone() {
                assert!(
                    self.b.decode(&p, SRC, DST).is_err(),
                    "{when}: B accepted a replay"
                );
            }
            for p in self.b_sent.clone() {
                assert!(
                    self.a.decode(&p, DST, SRC).is_err(),
                    "{when}: A accepted a replay"
                );
            }
            assert!(self.a_to_b().is_ok(), "{when}: replays displaced A at B");
            assert!(self.b_to_a().is_ok(), "{when}: replays displaced B at A");
        }
    }

    /// The security review's attack: capture one of A's heartbeats, restart
    /// A, restart B, replay the capture to B. B must drop it and keep no
    /// state from it; A's genuine packets must still be accepted.
    #[test]
    fn a_capture_replayed_after_both_restarted_is_dropped() {
        let mut p = Pair::new();
        p.converge();
        let captured = p.a_sent.last().cloned().expect("a packet");
        p.restart_a();
        p.restart_b();
        // B has just started: it has heard nothing yet.
        assert_eq!(
            p.b.decode(&captured, SRC, DST),
            Err(DropReason::Unconfirmed)
        );
        assert_eq!(p.b.accepted, 0);
        p.converge();
        assert_eq!(
            p.b.decode(&captured, SRC, DST).map(|_| ()),
            Err(DropReason::Unconfirmed)
        );
        assert!(p.a_to_b().is_ok());
    }

    /// A capture of A's earlier run made while B was running (so it echoes
    /// B's current boot id) cannot displace A's current run.
    #[test]
    fn an_earlier_run_of_the_partner_cannot_displace_the_current_one() {
        let mut p = Pair::new();
        p.converge();
        let before_restart = p.a_sent.last().cloned().expect("a packet");
        p.restart_a();
        p.converge();
        assert_eq!(
            p.b.decode(&before_restart, SRC, DST),
            Err(DropReason::Replay)
        );
        assert!(p.a_to_b().is_ok());
    }

    /// Twenty restarts of either side, each followed by a replay of every
    /// packet either router ever sent: nothing old is ever accepted, and
    /// the pair always converges again.
    /// Reliability catalogue HB-08 (docs/RELIABILITY.md).
    #[test]
    fn replays_across_twenty_restarts_of_either_side() {
        let mut p = Pair::new();
        p.converge();
        for i in 0..20 {
            match i % 3 {
                0 => p.restart_a(),
                1 => p.restart_b(),
                _ => {
                    p.restart_b();
                    p.restart_a();
                }
            }
            // Replays before the new run heard the partner...
            for pkt in p.a_sent.clone() {
                assert!(
                    p.b.decode(&pkt, SRC, DST).is_err(),
                    "restart {i}: early replay to B"
                );
            }
            for pkt in p.b_sent.clone() {
                assert!(
                    p.a.decode(&pkt, DST, SRC).is_err(),
                    "restart {i}: early replay to A"
                );
            }
            // ... change nothing: the genuine handshake still converges.
            p.converge();
            p.replay_everything(&format!("restart {i}"));
        }
        assert!(p.a_sent.len() >= 80, "{}", p.a_sent.len());
    }

    /// Permissive mode accepts an unconfirmed signed packet (it accepts
    /// unsigned ones anyway), but still never an older run or sequence.
    #[test]
    fn permissive_accepts_unconfirmed_but_never_goes_back() {
        let mut tx = router(Role::Master, 50);
        let mut rx = Codec::new(Auth::Keyed(keys(), AuthMode::Permissive), Role::Backup, 60);
        let first = tx.encode(PeerState::Active, false, 0, [0; 8], SRC, DST);
        assert!(rx.decode(&first, SRC, DST).is_ok());
        assert_eq!(rx.decode(&first, SRC, DST), Err(DropReason::Replay));
        let mut newer = router(Role::Master, 51);
        let p = newer.encode(PeerState::Active, false, 0, [0; 8], SRC, DST);
        assert!(rx.decode(&p, SRC, DST).is_ok());
        let old = tx.encode(PeerState::Active, false, 0, [0; 8], SRC, DST);
        assert_eq!(rx.decode(&old, SRC, DST), Err(DropReason::Replay));
    }

    /// A router answers at once when it sees a new run of the partner, so
    /// a restart is heard again after one round trip.
    #[test]
    fn a_new_run_is_answered_at_once() {
        let mut a = router(Role::Master, 7);
        let mut b = router(Role::Backup, 9);
        let hello = a.encode(PeerState::Inactive, false, 0, [0; 8], SRC, DST);
        assert_eq!(b.decode(&hello, SRC, DST), Err(DropReason::Unconfirmed));
        assert!(b.take_reply_request());
        assert!(!b.take_reply_request());
        let answer = b.encode(PeerState::Inactive, false, 0, [0; 8], DST, SRC);
        // A heard nothing before: B's answer echoes A, so A accepts it.
        assert!(a.decode(&answer, DST, SRC).is_ok());
        assert!(a.take_reply_request());
        let confirmed = a.encode(PeerState::Inactive, false, 0, [0; 8], SRC, DST);
        assert!(b.decode(&confirmed, SRC, DST).is_ok());
    }
}
