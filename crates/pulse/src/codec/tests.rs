//! The codec's acceptance rules, mode by mode, and its decoder under
//! random and mutated input.

use super::signed::tests::{ring, sample, DST, KEY, SRC};
use super::*;

fn enforce() -> Auth {
    Auth::Keyed(ring(), AuthMode::Enforce)
}

/// HB-01: every outcome class of the keyed decoder has a vector.
#[test]
fn every_outcome_class() {
    let mut c = Codec::new(enforce(), Role::Backup, 7);
    // Signed by a partner that has heard our boot id 7.
    let sample = || SignedPacket {
        echo: 7,
        ..sample()
    };
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
    assert_eq!(c.decode(&good[..83], SRC, DST), Err(DropReason::BadLength));
    let mut long = good.to_vec();
    long.push(0);
    assert_eq!(c.decode(&long, SRC, DST), Err(DropReason::BadLength));
    // bad version; earlier builds' version 2 (72 bytes) and 3 (76 bytes)
    let mut v = good;
    v[4] = 5;
    assert_eq!(c.decode(&v, SRC, DST), Err(DropReason::Incompatible));
    let mut old = good[..72].to_vec();
    old[4] = 2;
    assert_eq!(c.decode(&old, SRC, DST), Err(DropReason::Incompatible));
    let mut v3 = good[..76].to_vec();
    v3[4] = 3;
    assert_eq!(c.decode(&v3, SRC, DST), Err(DropReason::Incompatible));
    // signed before the partner heard us (no echo, or an earlier run's)
    for echo in [0, 6] {
        let early = encode_signed(
            &SignedPacket {
                seq: 200 + echo,
                echo,
                ..sample()
            },
            KEY,
            SRC,
            DST,
        );
        assert_eq!(c.decode(&early, SRC, DST), Err(DropReason::Unconfirmed));
    }
    // a key id we do not have
    let mut k = good;
    k[11] = 6;
    assert_eq!(c.decode(&k, SRC, DST), Err(DropReason::UnknownKey));
    // flipped HMAC bit / body bit / wrong key / other address
    let mut h = good;
    h[83] ^= 1;
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
    assert_eq!(c.counters.get(DropReason::Incompatible), 4);
    assert_eq!(c.counters.get(DropReason::UnknownKey), 1);
    assert_eq!(c.counters.get(DropReason::Unconfirmed), 2);
    assert_eq!(c.accepted, 1);
    assert_eq!(c.accepted_signed, 1);
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

/// `service = fos`: Piranha's FOS magics unsigned, the FOS flags signed;
/// "stop me" reaches the partner in both; an LVS router refuses both.
#[test]
fn fos_codec_roundtrip_and_never_pairs_with_lvs() {
    for auth in [Auth::Legacy, Auth::Keyed(ring(), AuthMode::Permissive)] {
        let mut tx = Codec::new(auth.clone(), Role::Master, 3).with_service(ServiceMode::Fos);
        let mut rx = Codec::new(auth.clone(), Role::Backup, 4).with_service(ServiceMode::Fos);
        let mut lvs = Codec::new(auth.clone(), Role::Backup, 5);
        for (st, stop_me) in [
            (PeerState::Inactive, false),
            (PeerState::Active, false),
            (PeerState::Active, true),
        ] {
            tx.set_stop_me(stop_me);
            let b = tx.encode(st, false, 0, [0; 8], SRC, DST);
            if auth == Auth::Legacy {
                let want = encode_legacy_for(ServiceMode::Fos, st, stop_me);
                assert_eq!(b, want.to_vec());
            }
            let i = rx.decode(&b, SRC, DST).expect("fos pairs with fos");
            assert_eq!((i.state, i.stop_me), (st, stop_me));
            // Piranha's LVS pulse also took "stop me" as a special magic
            // without meaning for LVS
            let lvs_drop = if stop_me && auth == Auth::Legacy {
                DropReason::SpecialIgnored
            } else {
                DropReason::Incompatible
            };
            assert_eq!(lvs.decode(&b, SRC, DST), Err(lvs_drop));
        }
        // and the other way round
        let b = lvs.encode(PeerState::Active, false, 0, [0; 8], SRC, DST);
        assert_eq!(rx.decode(&b, SRC, DST), Err(DropReason::Incompatible));
        // an LVS codec cannot be made to send "stop me"
        lvs.set_stop_me(true);
        let b = lvs.encode(PeerState::Active, false, 0, [0; 8], DST, SRC);
        let mut lvs_rx = Codec::new(auth.clone(), Role::Master, 6);
        let i = lvs_rx.decode(&b, DST, SRC).expect("lvs pairs with lvs");
        assert!(!i.stop_me);
    }
}

#[test]
fn keyed_codec_roundtrip_and_sequence() {
    let mut tx = Codec::new(enforce(), Role::Master, 99);
    let mut rx = Codec::new(enforce(), Role::Backup, 5);
    // rx speaks first, so tx's packets echo rx's boot id
    let hello = rx.encode(PeerState::Inactive, false, 0, [0; 8], DST, SRC);
    let _ = tx.decode(&hello, DST, SRC);
    assert_eq!(tx.partner_boot_id(), 5);
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
        // as heard by the receiver, whose boot id is 1
        tx.fresh.saw(1);
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
    let hello = rx.encode(PeerState::Inactive, false, 0, [0; 8], DST, SRC);
    let _ = tx.decode(&hello, DST, SRC);
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
    /// Reliability catalogue HB-02 and HB-03 (docs/RELIABILITY.md).
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let mut c = Codec::new(enforce(), Role::Master, 3);
        let _ = c.decode(&bytes, SRC, DST);
        let _ = decode_legacy(&bytes);
    }
}
