//! The codec against hand-computed bytes, and encode/decode round trips.
//! The comparison of the in-place decoders with neli's is in
//! `tests/neli_oracle.rs`.

use super::*;
use crate::consts::*;
use crate::error::Error;
use crate::types::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn unhex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|x| u8::from_str_radix(x, 16).unwrap())
        .collect()
}

#[test]
fn golden_get_family() {
    let b = encode_get_family(7, "IPVS").unwrap();
    // nlmsghdr: len 32, type 0x10, flags REQUEST|ACK, seq 7, pid 0
    // genlmsghdr: cmd 3, version 2, reserved 0
    // nlattr: len 9, type 2, "IPVS\0", 3 bytes padding
    let want = unhex(
        "20 00 00 00  10 00  05 00  07 00 00 00  00 00 00 00
         03 02 00 00
         09 00 02 00  49 50 56 53 00  00 00 00",
    );
    assert_eq!(hex(&b), hex(&want));
}

#[test]
fn golden_add_service_tcp_v4() {
    let s = Service::new(ServiceKey::Tcp("10.0.0.1".parse().unwrap(), 80), "rr");
    let b = encode_operation(0x22, 1, &Operation::AddService(s)).unwrap();
    let want = unhex(
        // nlmsghdr: len 96, type 0x22, REQUEST|ACK, seq 1, pid 0
        "5c 00 00 00  22 00  05 00  01 00 00 00  00 00 00 00
         01 01 00 00
         48 00 01 80
           06 00 01 00  02 00 00 00
           06 00 02 00  06 00 00 00
           08 00 03 00  0a 00 00 01
           06 00 04 00  00 50 00 00
           07 00 06 00  72 72 00 00
           0c 00 07 00  00 00 00 00  ff ff ff ff
           08 00 08 00  00 00 00 00
           08 00 09 00  ff ff ff ff",
    );
    assert_eq!(hex(&b), hex(&want));
}

#[test]
fn golden_persistent_v6_and_fwmark() {
    let s = Service::new(ServiceKey::Udp("2001:db8::1".parse().unwrap(), 53), "wlc")
        .persistent(300)
        .netmask(Netmask::V6(64));
    let b = encode_operation(0x22, 2, &Operation::EditService(s)).unwrap();
    let want = unhex(
        "68 00 00 00  22 00  05 00  02 00 00 00  00 00 00 00
         02 01 00 00
         54 00 01 80
           06 00 01 00  0a 00 00 00
           06 00 02 00  11 00 00 00
           14 00 03 00  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
           06 00 04 00  00 35 00 00
           08 00 06 00  77 6c 63 00
           0c 00 07 00  01 00 00 00  ff ff ff ff
           08 00 08 00  2c 01 00 00
           08 00 09 00  40 00 00 00",
    );
    assert_eq!(hex(&b), hex(&want));

    let k = ServiceKey::Fwmark {
        mark: 7,
        family: Family::Inet,
    };
    let b = encode_operation(0x22, 3, &Operation::DelService(k)).unwrap();
    let want = unhex(
        "28 00 00 00  22 00  05 00  03 00 00 00  00 00 00 00
         03 01 00 00
         14 00 01 80  06 00 01 00  02 00 00 00  08 00 05 00  07 00 00 00",
    );
    assert_eq!(hex(&b), hex(&want));
}

#[test]
fn golden_add_dest() {
    let k = ServiceKey::Tcp("10.0.0.1".parse().unwrap(), 80);
    let d = Destination::new("192.168.1.2".parse().unwrap(), 8080, Forward::Route)
        .weight(5)
        .thresholds(100, 10);
    let b = encode_operation(0x22, 9, &Operation::AddDest(k, d)).unwrap();
    let want = unhex(
        "74 00 00 00  22 00  05 00  09 00 00 00  00 00 00 00
         05 01 00 00
         24 00 01 80
           06 00 01 00  02 00 00 00
           06 00 02 00  06 00 00 00
           08 00 03 00  0a 00 00 01
           06 00 04 00  00 50 00 00
         3c 00 02 80
           06 00 0b 00  02 00 00 00
           08 00 01 00  c0 a8 01 02
           06 00 02 00  1f 90 00 00
           08 00 03 00  03 00 00 00
           08 00 04 00  05 00 00 00
           08 00 05 00  64 00 00 00
           08 00 06 00  0a 00 00 00",
    );
    assert_eq!(hex(&b), hex(&want));
}

#[test]
fn golden_timeouts_daemon_flush() {
    let b = encode_operation(
        0x22,
        4,
        &Operation::SetTimeouts(Timeouts {
            tcp: 900,
            tcpfin: 0,
            udp: 300,
        }),
    )
    .unwrap();
    let want = unhex(
        "24 00 00 00  22 00  05 00  04 00 00 00  00 00 00 00
         0c 01 00 00
         08 00 04 00  84 03 00 00
         08 00 06 00  2c 01 00 00",
    );
    assert_eq!(hex(&b), hex(&want));

    let b = encode_operation(
        0x22,
        5,
        &Operation::StartDaemon(SyncDaemon::new(SyncState::Master, "eth0", 3)),
    )
    .unwrap();
    let want = unhex(
        "34 00 00 00  22 00  05 00  05 00 00 00  00 00 00 00
         09 01 00 00
         20 00 03 80
           08 00 01 00  01 00 00 00
           09 00 02 00  65 74 68 30 00 00 00 00
           08 00 03 00  03 00 00 00",
    );
    assert_eq!(hex(&b), hex(&want));

    let b = encode_operation(0x22, 6, &Operation::Flush).unwrap();
    assert_eq!(
        hex(&b),
        hex(&unhex(
            "14 00 00 00 22 00 05 00 06 00 00 00 00 00 00 00 11 01 00 00"
        ))
    );
}

#[test]
fn golden_dump_query() {
    let b = encode_query(0x22, 8, Query::Services).unwrap();
    assert_eq!(
        hex(&b),
        hex(&unhex(
            "14 00 00 00 22 00 01 03 08 00 00 00 00 00 00 00 04 01 00 00"
        ))
    );
}

#[test]
fn refuses_bad_names() {
    let s = Service::new(
        ServiceKey::Tcp("10.0.0.1".parse().unwrap(), 80),
        "a-very-long-scheduler",
    );
    assert!(matches!(
        encode_operation(1, 1, &Operation::AddService(s)),
        Err(Error::Invalid(_))
    ));
    let d = SyncDaemon::new(SyncState::Backup, "interface-name-too-long", 1);
    assert!(matches!(
        encode_operation(1, 1, &Operation::StartDaemon(d)),
        Err(Error::Invalid(_))
    ));
    let s = Service::new(ServiceKey::Tcp("10.0.0.1".parse().unwrap(), 80), "rr")
        .netmask(Netmask::V6(64));
    assert!(matches!(
        encode_operation(1, 1, &Operation::AddService(s)),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn decodes_daemon_timeouts_info_family() {
    let p = unhex(
        "0b 01 00 00
         40 00 03 00
           08 00 01 00  02 00 00 00
           09 00 02 00  65 74 68 31 00 00 00 00
           08 00 03 00  2a 00 00 00
           06 00 04 00  a8 05 00 00
           08 00 05 00  e0 00 00 51
           06 00 07 00  22 90 00 00
           05 00 08 00  01 00 00 00",
    );
    let d = decode_daemon(&p).unwrap();
    assert_eq!(d.state, SyncState::Backup);
    assert_eq!(d.mcast_ifn, "eth1");
    assert_eq!(d.syncid, 42);
    assert_eq!(d.sync_maxlen, Some(1448));
    assert_eq!(d.mcast_group, Some("224.0.0.81".parse().unwrap()));
    assert_eq!(d.mcast_port, Some(8848));
    assert_eq!(d.mcast_ttl, Some(1));

    let p = unhex(
        "0d 01 00 00 08 00 04 00 84 03 00 00 08 00 05 00 78 00 00 00 08 00 06 00 2c 01 00 00",
    );
    assert_eq!(
        decode_timeouts(&p).unwrap(),
        Timeouts {
            tcp: 900,
            tcpfin: 120,
            udp: 300
        }
    );

    let p = unhex("0f 01 00 00 08 00 01 00 01 02 01 00 08 00 02 00 00 10 00 00");
    let i = decode_info(&p).unwrap();
    assert_eq!(i.version_string(), "1.2.1");
    assert_eq!(i.conn_tab_size, 4096);

    let p = unhex("01 02 00 00 09 00 02 00 49 50 56 53 00 00 00 00 06 00 01 00 22 00 00 00");
    assert_eq!(decode_family_id(&p).unwrap(), 0x22);
}

#[test]
fn parses_acks_errors_and_done() {
    let mut buf = Vec::new();
    // ack for seq 1 (full echo of a 20-byte request)
    buf.extend(unhex(
        "24 00 00 00 02 00 00 01 01 00 00 00 aa 00 00 00 00 00 00 00
                      14 00 00 00 22 00 05 00 01 00 00 00 00 00 00 00",
    ));
    // error -ENOENT for seq 2, capped, with an ext-ack message
    buf.extend(unhex(
        "2c 00 00 00 02 00 00 03 02 00 00 00 aa 00 00 00 fe ff ff ff
                      60 00 00 00 22 00 05 00 02 00 00 00 00 00 00 00
                      08 00 01 00 6e 6f 70 00",
    ));
    // DONE of a dump with error code 0
    buf.extend(unhex(
        "14 00 00 00 03 00 02 00 03 00 00 00 aa 00 00 00 00 00 00 00",
    ));
    // a data message
    buf.extend(unhex(
        "18 00 00 00 22 00 02 00 03 00 00 00 aa 00 00 00 04 01 00 00 04 00 01 00",
    ));
    let m = parse_messages(&buf).unwrap();
    assert_eq!(m.len(), 4);
    assert_eq!((m[0].seq, &m[0].body), (1, &Body::Ack));
    assert_eq!(m[1].seq, 2);
    assert_eq!(
        m[1].body,
        Body::Error {
            errno: libc::ENOENT,
            message: Some("nop".into())
        }
    );
    assert_eq!(m[2].body, Body::Done);
    assert_eq!(m[3].body, Body::Data(unhex("04 01 00 00 04 00 01 00")));
    assert!(parse_messages(&buf[..30]).is_err());
}

#[test]
fn explains_errors_per_operation() {
    let s = Service::new(ServiceKey::Tcp("10.0.0.1".parse().unwrap(), 80), "xyz");
    assert_eq!(
        explain(&Operation::AddService(s.clone()), libc::ENOENT),
        "scheduler 'xyz' is not available (module ip_vs_xyz not loaded?)"
    );
    assert_eq!(
        explain(&Operation::AddService(s), libc::EEXIST),
        "service already exists"
    );
    assert_eq!(
        explain(
            &Operation::DelService(ServiceKey::Fwmark {
                mark: 1,
                family: Family::Inet
            }),
            libc::ESRCH
        ),
        "no such service"
    );
}

/// Every request the encoder makes is a well-formed netlink message
/// that the decoder's framing accepts, and service round trips through
/// the same attribute layout the kernel replies with.

#[test]
fn service_round_trip() {
    let keys = [
        ServiceKey::Tcp("10.1.2.3".parse().unwrap(), 443),
        ServiceKey::Udp("2001:db8::5".parse().unwrap(), 53),
        ServiceKey::Sctp("192.0.2.1".parse().unwrap(), 9),
        ServiceKey::Fwmark {
            mark: 99,
            family: Family::Inet6,
        },
    ];
    for k in keys {
        let mut s = Service::new(k, "sh").persistent(60);
        s.flags = s.flags | ServiceFlags::SCHED1;
        let b = encode_operation(0x30, 1, &Operation::AddService(s.clone())).unwrap();
        let m = parse_messages(&b).unwrap();
        assert_eq!(m.len(), 1);
        let Body::Data(p) = &m[0].body else { panic!() };
        assert_eq!(decode_service(p).unwrap(), s);
    }
}

#[test]
fn dest_round_trip() {
    for fwd in [
        Forward::Masq,
        Forward::Route,
        Forward::Tunnel,
        Forward::Local,
        Forward::Bypass,
    ] {
        let d = Destination::new("fd00::9".parse().unwrap(), 8443, fwd)
            .weight(7)
            .thresholds(50, 5);
        let k = ServiceKey::Tcp("fd00::1".parse().unwrap(), 443);
        let b = encode_operation(0x30, 1, &Operation::AddDest(k, d.clone())).unwrap();
        let m = parse_messages(&b).unwrap();
        let Body::Data(p) = &m[0].body else { panic!() };
        assert_eq!(decode_dest(p, Family::Inet6).unwrap(), d);
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
            any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
        ]
    }

    fn key() -> impl Strategy<Value = ServiceKey> {
        prop_oneof![
            (addr(), any::<u16>()).prop_map(|(a, p)| ServiceKey::Tcp(a, p)),
            (addr(), any::<u16>()).prop_map(|(a, p)| ServiceKey::Udp(a, p)),
            (addr(), any::<u16>()).prop_map(|(a, p)| ServiceKey::Sctp(a, p)),
            (1u32.., any::<bool>()).prop_map(|(m, v6)| ServiceKey::Fwmark {
                mark: m,
                family: if v6 { Family::Inet6 } else { Family::Inet },
            }),
        ]
    }

    fn service() -> impl Strategy<Value = Service> {
        (
            key(),
            "[a-z]{1,15}",
            0u32..0x40,
            any::<u32>(),
            any::<[u8; 4]>(),
            1u8..=128,
            proptest::option::of("[a-z]{1,15}"),
        )
            .prop_map(|(k, sched, flags, timeout, m4, m6, pe)| Service {
                key: k,
                scheduler: sched,
                flags: ServiceFlags(flags & !IP_VS_SVC_F_HASHED),
                timeout,
                netmask: match k.family() {
                    Family::Inet => Netmask::V4(Ipv4Addr::from(m4)),
                    Family::Inet6 => Netmask::V6(m6),
                },
                pe_name: pe,
                stats: Stats::default(),
            })
    }

    proptest! {
        #[test]
        fn service_encode_decode(s in service(), seq in any::<u32>()) {
            let b = encode_operation(0x2a, seq, &Operation::AddService(s.clone())).unwrap();
            prop_assert_eq!(b.len() % 4, 0);
            let m = parse_messages(&b).unwrap();
            prop_assert_eq!(m.len(), 1);
            prop_assert_eq!(m[0].seq, seq);
            let Body::Data(p) = &m[0].body else { panic!("not data") };
            prop_assert_eq!(decode_service(p).unwrap(), s);
        }

        #[test]
        fn dest_encode_decode(a in addr(), port in any::<u16>(), fwd in 0u32..5, w in 0i32.., u in any::<u32>(), l in any::<u32>()) {
            let d = Destination::new(a, port, Forward::from_raw(fwd).unwrap()).weight(w).thresholds(u, l);
            let k = ServiceKey::Fwmark { mark: 1, family: Family::Inet };
            let b = encode_operation(0x2a, 1, &Operation::AddDest(k, d.clone())).unwrap();
            let m = parse_messages(&b).unwrap();
            let Body::Data(p) = &m[0].body else { panic!("not data") };
            prop_assert_eq!(decode_dest(p, Family::Inet).unwrap(), d);
        }



        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(msgs) = parse_messages(&bytes) {
                for m in msgs {
                    if let Body::Data(p) = m.body {
                        let _ = decode_service(&p);
                        let _ = decode_dest(&p, Family::Inet6);
                        let _ = decode_daemon(&p);
                        let _ = decode_timeouts(&p);
                        let _ = decode_info(&p);
                    }
                }
            }
        }
    }
}

/// The words of the typed errors are those of the strings they replaced.
#[test]
fn error_messages_keep_their_words() {
    let s = Service::new(ServiceKey::Tcp("10.0.0.1".parse().unwrap(), 80), "");
    let e = encode_operation(1, 1, &Operation::AddService(s)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid request: scheduler '' must be 1 to 15 bytes without NUL"
    );
    let d = SyncDaemon::new(SyncState::Backup, "interface-name-too-long", 1);
    let e = encode_operation(1, 1, &Operation::StartDaemon(d)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid request: interface 'interface-name-too-long' must be 1 to 15 bytes without NUL"
    );
    let s = Service::new(ServiceKey::Udp("2001:db8::1".parse().unwrap(), 53), "rr")
        .netmask(Netmask::V6(0));
    let e = encode_operation(1, 1, &Operation::AddService(s)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid request: IPv6 persistence prefix length 0 is not in 1..=128"
    );
    let s = Service::new(ServiceKey::Tcp("10.0.0.1".parse().unwrap(), 80), "rr")
        .netmask(Netmask::V6(64));
    let e = encode_operation(1, 1, &Operation::AddService(s)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid request: netmask V6(64) does not match the family of service TCP 10.0.0.1:80"
    );
    let e = parse_messages(&unhex("40 00 00 00 02 00 00 00 01 00 00 00 00 00 00 00")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "netlink protocol: bad netlink message length 64 at offset 0 of 16"
    );
    let e = parse_messages(&unhex(
        "12 00 00 00 02 00 00 00 01 00 00 00 00 00 00 00 00 00",
    ))
    .unwrap_err();
    assert_eq!(e.to_string(), "netlink protocol: short NLMSG_ERROR");
    let e = decode_service(&unhex("01 01 00 00")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "netlink protocol: decoding: reply without a service"
    );
    assert!(matches!(
        e,
        Error::Protocol(crate::ProtocolError::Decoding(_))
    ));
}
