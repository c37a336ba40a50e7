//! Property tests (catalogue CFG-P01, P02): round trips, edit locality,
//! and totality on arbitrary bytes.

use lvscf_parser::write::write_config;
use lvscf_parser::*;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

// ----- generators ---------------------------------------------------------

/// Characters chosen to break tokenizers: quotes, braces, comment and
/// assignment signs, blanks, backslashes, line and paragraph separators.
fn adversarial_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        1 => proptest::sample::select(vec![
            ' ', '\t', '"', '\'', '\\', '{', '}', '#', '=', '[', ']', '%', '/', '.',
            '\n', '\r', '\0', '\u{2028}', '\u{85}', 'é', '€',
        ]),
    ]
}

fn adversarial_string(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(adversarial_char(), 0..max).prop_map(|v| v.into_iter().collect())
}

fn word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_\\[\\]][A-Za-z0-9_.:\\[\\]-]{0,12}"
}

fn device() -> impl Strategy<Value = String> {
    "[a-z]{2,4}[0-9](:[0-9]{1,2})?"
}

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        3 => ipv4().prop_map(IpAddr::V4),
        1 => any::<[u16; 8]>().prop_map(|s| IpAddr::V6(Ipv6Addr::from(s))),
    ]
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        4 => ip().prop_map(Host::Ip),
        1 => "[a-z][a-z0-9-]{0,8}[a-z0-9](\\.[a-z]{2,5}){0,2}".prop_map(Host::Name),
    ]
}

fn router_host() -> impl Strategy<Value = Host> {
    host().prop_filter(
        "0.0.0.0 is refused",
        |h| !matches!(h, Host::Ip(ip) if ip.is_unspecified()),
    )
}

fn netmask() -> impl Strategy<Value = Netmask> {
    (0u8..=32).prop_filter_map("valid prefix", Netmask::from_prefix)
}

fn pmask() -> impl Strategy<Value = Pmask> {
    prop_oneof![
        (0u8..=31).prop_filter_map("valid prefix", |p| Netmask::from_prefix(p).map(Pmask::Mask)),
        (0u8..=128).prop_map(Pmask::Prefix),
    ]
}

fn addr_dev() -> impl Strategy<Value = AddressOnDevice> {
    (host(), device()).prop_map(|(host, device)| AddressOnDevice { host, device })
}

fn command() -> impl Strategy<Value = CommandLine> {
    ("/[a-z/]{1,20}", adversarial_string(30))
        .prop_map(|(p, a)| CommandLine::new(format!("{p} {a}")))
}

fn seconds() -> impl Strategy<Value = Duration> {
    (1u64..=600_000).prop_map(Duration::from_millis)
}

fn server() -> impl Strategy<Value = RealServer> {
    (
        word(),
        proptest::option::of(host()),
        any::<bool>(),
        0u32..=65535,
        proptest::option::of(1u16..),
    )
        .prop_map(|(name, address, active, weight, port)| RealServer {
            name,
            address,
            active,
            weight,
            port,
            unusable_port: None,
            unusable_weight: None,
        })
}

/// The extension keywords (native checks, quorum), each absent or set.
fn health() -> impl Strategy<Value = Health> {
    let status = proptest::collection::vec((100u16..600, 0u16..50), 1..4).prop_map(|r| {
        let text: Vec<String> = r
            .iter()
            .map(|(lo, n)| format!("{lo}-{}", (lo + n).min(599)))
            .collect();
        StatusSet::parse(&text.join(",")).expect("valid ranges")
    });
    let query = (
        "[a-z]{1,10}(\\.[a-z]{1,10}){0,2}\\.?",
        proptest::sample::select(lvscf_parser::native::DNS_TYPES.to_vec()),
    )
        .prop_map(|(name, t)| DnsQuery {
            name,
            qtype: t.to_string(),
        });
    (
        proptest::option::of(proptest::sample::select(vec![
            CheckType::Http,
            CheckType::Https,
            CheckType::Dns,
        ])),
        proptest::option::of("/[a-z0-9/?=&.-]{0,20}"),
        proptest::option::of(status),
        proptest::option::of("[a-z]{1,10}(\\.[a-z]{1,10}){0,2}"),
        proptest::option::of("/[a-z/]{1,20}"),
        proptest::option::of(any::<u32>()),
        proptest::option::of(query),
        proptest::option::of(1u32..),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|h| Health {
            check: h.0,
            check_url: h.1,
            check_status: h.2,
            check_host: h.3,
            check_ca: h.4,
            check_cert_days: h.5,
            check_query: h.6,
            quorum: h.7,
            hysteresis: h.8,
        })
}

fn virtual_server() -> impl Strategy<Value = VirtualServer> {
    let addressing = (
        word(),
        any::<bool>(),
        proptest::option::of(addr_dev()),
        proptest::option::of(ip()),
        proptest::option::of(netmask()),
        proptest::option::of(1u32..),
        proptest::sample::select(Protocol::ALL.to_vec()),
        1u16..,
        proptest::sample::select(Scheduler::ALL.to_vec()),
        any::<u32>(),
        proptest::option::of(pmask()),
    );
    let checks = (
        "/[a-z/]{1,20}",
        proptest::option::of(command()),
        proptest::option::of(adversarial_string(40)),
        proptest::option::of(adversarial_string(40)),
        any::<bool>(),
        1u32..,
        any::<u32>(),
        proptest::sample::select(vec![
            LoadMonitor::None,
            LoadMonitor::Rup,
            LoadMonitor::Ruptime,
            LoadMonitor::Uptime,
            // Piranha's nanny ran any other value as a command.
            LoadMonitor::Command("ssh".into()),
            LoadMonitor::Command("/usr/local/bin/load-of".into()),
        ]),
        any::<bool>(),
    );
    let legacy = (
        proptest::option::of(adversarial_string(30)),
        proptest::option::of(adversarial_string(30)),
        proptest::option::of(host()),
        proptest::option::of(proptest::collection::vec("[a-z/]{1,8}", 0..4)),
        proptest::collection::vec(server(), 0..4),
    );
    (addressing, checks, legacy, health()).prop_map(|(a, c, l, health)| VirtualServer {
        name: a.0,
        active: a.1,
        address: a.2,
        sorry_server: a.3,
        vip_nmask: a.4,
        vip_nmask_noncontiguous: None,
        fwmark: a.5,
        protocol: a.6,
        port: a.7,
        unusable_port: None,
        scheduler: a.8,
        persistent: a.9,
        pmask: a.10,
        client_monitor: c.0,
        send_program: c.1,
        send: c.2,
        expect: c.3,
        use_regex: c.4,
        timeout: c.5,
        reentry: c.6,
        load_monitor: c.7,
        quiesce_server: c.8,
        start_cmd: l.0.map(|s| format!("/sbin/start {s}")),
        stop_cmd: l.1.map(|s| format!("/sbin/stop {s}")),
        master: l.2,
        dirs: l.3,
        health,
        servers: l.4,
    })
}

fn config() -> impl Strategy<Value = Config> {
    let routers = (
        any::<u64>(),
        proptest::option::of(router_host()),
        proptest::option::of(router_host()),
        proptest::option::of(word()),
        proptest::sample::select(ServiceKind::ALL.to_vec()),
        adversarial_string(12),
        any::<bool>(),
        proptest::option::of(host()),
        proptest::option::of(router_host()),
        proptest::option::of(word()),
        any::<bool>(),
        1u16..,
    );
    let timing = (
        proptest::option::of("/[a-z/]{1,20}"),
        seconds(),
        seconds(),
        proptest::sample::select(Network::ALL.to_vec()),
        proptest::option::of(addr_dev()),
        proptest::option::of(netmask()),
        proptest::option::of(proptest::sample::select(
            ReservationConflictAction::ALL.to_vec(),
        )),
        word(),
        any::<bool>(),
        any::<bool>(),
        device(),
        any::<u8>(),
    );
    let rest = (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of(command()),
        proptest::option::of(command()),
        any::<bool>(),
        word(),
        any::<bool>(),
        proptest::collection::vec(virtual_server(), 0..4),
        proptest::collection::vec(virtual_server(), 0..2),
        proptest::option::of(proptest::sample::select(HeartbeatAuth::ALL.to_vec())),
    );
    (routers, timing, rest).prop_map(|(r, t, x)| {
        let has_primary_private = r.2.is_some();
        Config {
            serial_no: r.0,
            primary: r.1,
            primary_private: r.2,
            primary_shared: r.3,
            service: r.4,
            rsh_command: r.5,
            backup_active: r.6,
            backup: r.7,
            // Piranha ignored backup_private without primary_private.
            backup_private: r.8.filter(|_| has_primary_private),
            backup_shared: r.9,
            heartbeat: r.10,
            heartbeat_port: r.11,
            heartbeat_key: t.0,
            heartbeat_auth: x.10,
            keepalive: t.1,
            deadtime: t.2,
            network: t.3,
            nat_router: t.4,
            nat_nmask: t.5,
            nat_nmask_noncontiguous: None,
            reservation_conflict_action: t.6,
            debug_level: t.7,
            monitor_links: t.8,
            syncdaemon: t.9,
            syncd_iface: t.10,
            syncd_id: t.11,
            tcp_timeout: x.0,
            tcpfin_timeout: x.1,
            udp_timeout: x.2,
            active_cmd: x.3,
            inactive_cmd: x.4,
            hard_shutdown: x.5,
            ipvsadm: x.6,
            sync: x.7,
            router_mode: RouterMode::Pair,
            anycast_interface: None,
            virtuals: x.8,
            failovers: x.9,
        }
    })
}

/// Codes that judge the file as a whole rather than its syntax.
fn is_semantic(code: Code) -> bool {
    matches!(
        code,
        Code::DuplicateService
            | Code::DuplicateRealServer
            | Code::AddressFamilyMismatch
            | Code::MissingAddress
            | Code::PrimaryIsBackup
            | Code::SorryServerIsVip
            | Code::InvalidRegex
            | Code::InvalidCheck
    )
}

fn has_unwritable_text(c: &Config) -> bool {
    let bad = |s: &str| {
        s.chars().any(|ch| ch.is_control() && ch != '\t')
            || (s.contains(['"'])
                && s.contains('\'')
                && (s.contains([' ', '\t']) || s.starts_with(['"', '\''])))
    };
    let mut texts: Vec<&str> = vec![&c.rsh_command];
    texts.extend(c.active_cmd.iter().map(|x| x.text.as_str()));
    texts.extend(c.inactive_cmd.iter().map(|x| x.text.as_str()));
    for v in c.virtuals.iter().chain(&c.failovers) {
        texts.extend(v.send.as_deref());
        texts.extend(v.expect.as_deref());
        texts.extend(v.send_program.iter().map(|x| x.text.as_str()));
        texts.extend(v.start_cmd.as_deref());
        texts.extend(v.stop_cmd.as_deref());
    }
    texts.into_iter().any(bad)
}

// ----- properties ---------------------------------------------------------

fn document_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        adversarial_string(20).prop_map(|s| format!("# {s}")),
        (word(), adversarial_string(20)).prop_map(|(k, v)| format!("\t{k} =  {v}")),
        Just("virtual v {".to_string()),
        Just("     server s {".to_string()),
        Just("}".to_string()),
        Just("     port = 80".to_string()),
        adversarial_string(30),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// P01: any document, good or bad, writes back byte for byte.
    #[test]
    fn documents_round_trip(lines in proptest::collection::vec(document_line(), 0..30),
                            endings in proptest::collection::vec(prop_oneof![Just("\n"), Just("\r\n"), Just("")], 0..30)) {
        let mut text = String::new();
        for (i, line) in lines.iter().enumerate() {
            text.push_str(line);
            text.push_str(endings.get(i).copied().unwrap_or("\n"));
        }
        let doc = Document::parse("x.cf", text.clone());
        prop_assert_eq!(doc.as_bytes(), text.as_bytes());
    }

    /// P01: parse(write(config)) == config, or the writer refuses a value
    /// that lvs.cf cannot hold (line breaks, control characters, both
    /// quote kinds with blanks).
    #[test]
    fn typed_configs_round_trip(c in config()) {
        match write_config(&c) {
            Err(e) => prop_assert!(has_unwritable_text(&c), "writer refused a writable config: {e}"),
            Ok(text) => {
                let doc = Document::parse("w.cf", text.clone());
                let syntax: Vec<_> = doc.diagnostics().iter()
                    .filter(|d| d.is_error() && !is_semantic(d.code)).collect();
                prop_assert!(syntax.is_empty(), "{text}\n{syntax:#?}");
                prop_assert_eq!(doc.config(), &c, "{}", text);
            }
        }
    }

    /// P02: arbitrary bytes never panic and every diagnostic is located.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let doc = Document::parse("r.cf", bytes.clone());
        prop_assert_eq!(doc.as_bytes(), &bytes[..]);
        for d in doc.diagnostics() {
            prop_assert!(d.line >= 1 && d.column >= 1);
            let _ = d.render("r.cf");
        }
    }
}

// ----- edit locality --------------------------------------------------------

const BASE: &str = "# keep me\nserial_no = 3\nprimary = 10.0.0.1\n\n# web\nvirtual web {\n\t# tabbed comment\n     active = 1\n     address = 10.0.0.100 eth0:1\n     port   =   80\n     server r1 {\n         address = 10.0.1.1\n         active = 1\n     }\n}\nvirtual dns {\n     active = 0\n     address = 10.0.0.53 eth0:2\n     protocol = udp\n     port = 53\n}\n";

fn edit_target() -> impl Strategy<Value = (Target, &'static str, String)> {
    prop_oneof![
        (1u32..4000).prop_map(|n| (Target::Global, "keepalive", n.to_string())),
        (1u32..9999).prop_map(|n| (Target::Global, "serial_no", n.to_string())),
        (1u16..).prop_map(|p| (Target::Virtual("web".into()), "port", p.to_string())),
        adversarial_string(20).prop_map(|s| (Target::Virtual("dns".into()), "send", s)),
        proptest::sample::select(vec!["rr", "wlc", "sh"]).prop_map(|s| (
            Target::Virtual("web".into()),
            "scheduler",
            s.to_string()
        )),
        (0u32..1000).prop_map(|w| (
            Target::Server {
                virtual_name: "web".into(),
                server: "r1".into()
            },
            "weight",
            w.to_string()
        )),
        (0u32..1000).prop_map(|w| (
            Target::Server {
                virtual_name: "web".into(),
                server: "new".into()
            },
            "weight",
            w.to_string()
        )),
    ]
}

fn lines(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .split_inclusive('\n')
        .map(str::to_string)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Edits change only the edited lines: every line of the original stays,
    /// in order, except the one rewritten in place.
    /// Reliability catalogue CFG-P01 (docs/RELIABILITY.md).
    #[test]
    fn edits_touch_only_their_lines((target, key, value) in edit_target()) {
        let mut doc = Document::parse("e.cf", BASE);
        let before = lines(doc.as_bytes());
        match doc.set(&target, key, &value) {
            Err(EditError::Unwritable(_)) => {
                prop_assert!(value.chars().any(|c| c.is_control() && c != '\t')
                    || (value.contains('"') && value.contains('\'')));
                prop_assert_eq!(doc.as_bytes(), BASE.as_bytes());
            }
            Err(e) => prop_assert!(false, "{e}"),
            Ok(()) => {
                let after = lines(doc.as_bytes());
                // Lines of `before` that survive unchanged, in order.
                let mut kept = 0;
                let mut j = 0;
                for line in &before {
                    if let Some(k) = after[j..].iter().position(|a| a == line) {
                        kept += 1;
                        j += k + 1;
                    }
                }
                let changed = before.len() - kept;
                prop_assert!(changed <= 1, "{} lines changed:\n{}", changed, String::from_utf8_lossy(doc.as_bytes()));
                prop_assert!(after.len() <= before.len() + 3, "at most a new block (2 lines) and its key");
                let got = keypath::KeyPath { target: target.clone(), key: Some(key.to_string()) }
                    .get(doc.config()).ok().flatten();
                prop_assert_eq!(got.as_deref(), Some(value.as_str()));
            }
        }
    }
}

// ----- a million mutations (P02) -------------------------------------------

/// Mutates the corpus files byte-wise with a fixed-seed generator and parses
/// every mutant. `LVSCF_MUTATIONS` sets the count (the test script runs
/// 1,000,000 in release mode; the default keeps `cargo test` quick).
#[test]
fn corpus_mutations_never_panic() {
    let count: u64 = std::env::var("LVSCF_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/lvs_cf");
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for sub in ["good", "bad"] {
        for entry in std::fs::read_dir(dir.join(sub)).expect("corpus").flatten() {
            if entry.path().extension().is_some_and(|e| e == "cf") {
                let bytes = std::fs::read(entry.path()).expect("read");
                if bytes.len() < 16 * 1024 {
                    seeds.push(bytes);
                }
            }
        }
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const INTERESTING: &[u8] = b" \t\n\r\"'{}#=[]0\x00\xff";
    for _ in 0..count {
        let mut bytes = seeds[(next() % seeds.len() as u64) as usize].clone();
        for _ in 0..1 + next() % 4 {
            let at = if bytes.is_empty() {
                0
            } else {
                (next() % bytes.len() as u64) as usize
            };
            let byte = if next() % 2 == 0 {
                INTERESTING[(next() % INTERESTING.len() as u64) as usize]
            } else {
                next() as u8
            };
            match next() % 3 {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if !bytes.is_empty() => {
                    bytes.remove(at);
                }
                _ => bytes.push(byte),
            }
        }
        let doc = Document::parse("m.cf", bytes.clone());
        assert_eq!(doc.as_bytes(), &bytes[..]);
        if !doc.has_errors() {
            // Whatever loads can be edited and still loads or says why.
            let mut edited = doc.clone();
            let _ = edited.set(&Target::Global, "serial_no", "1");
        }
    }
}

// ----- specific properties of the catalogue ---------------------------------

/// L08: tabs, several spaces and single spaces read identically.
#[test]
fn blank_spellings_parse_identically() {
    let spaces =
        "primary = 10.0.0.1\nvirtual web {\n active = 1\n address = 10.0.0.100 eth0:1\n}\n";
    let tabs = "primary\t=\t10.0.0.1\nvirtual\tweb\t{\n\tactive\t=\t1\n\taddress\t=\t10.0.0.100\teth0:1\n}\n";
    let wide = "primary   =    10.0.0.1\nvirtual   web   {\n      active   =   1\n   address  =  10.0.0.100     eth0:1\n}\n";
    let a = parse("a", spaces.as_bytes()).expect("spaces");
    let b = parse("b", tabs.as_bytes()).expect("tabs");
    let c = parse("c", wide.as_bytes()).expect("wide");
    assert_eq!(a.config, b.config);
    assert_eq!(a.config, c.config);
}

/// S06: a blank line or comment right after an opening brace is not a
/// phantom block.
#[test]
fn comments_after_braces_make_no_phantom_blocks() {
    let text = "virtual x {\n\n# c\n     active = 0\n     server y {\n\n         # c\n         address = 10.0.0.1\n     }\n}\n";
    let loaded = parse("s06", text.as_bytes()).expect("loads");
    assert_eq!(loaded.config.virtuals.len(), 1);
    assert_eq!(loaded.config.virtuals[0].servers.len(), 1);
}

/// S02: an error in the second block leaves no partial object list: the
/// file is refused as a whole.
#[test]
fn an_error_in_one_block_refuses_the_whole_file() {
    let text = "virtual a {\n active = 0\n}\nvirtual b {\n bogus = 1\n}\n";
    let err = parse("s02", text.as_bytes()).expect_err("refused");
    let errors: Vec<_> = err.errors().collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 5);
}

/// L07: a file over the limit is refused with a size error, without
/// reading it all.
#[test]
fn oversized_files_are_refused() {
    let text = vec![b'#'; syntax::MAX_FILE_BYTES + 1];
    let doc = Document::parse("big", text);
    assert_eq!(doc.diagnostics()[0].code, Code::FileTooLarge);
    let long_comment = format!("# {}\nprimary = 10.0.0.1\n", "x".repeat(1 << 20));
    assert!(parse("long", long_comment.as_bytes()).is_ok());
}

/// Piranha's server-port rule: a server takes the virtual's port as it was
/// when the server block was read.
#[test]
fn server_port_follows_piranha() {
    let text = "virtual v {\n port = 8080\n server a {\n  address = 10.0.0.1\n }\n port = 80\n server b {\n  address = 10.0.0.2\n }\n}\n";
    let loaded = parse("p", text.as_bytes()).expect("loads");
    let v = &loaded.config.virtuals[0];
    assert_eq!(v.server_port(&v.servers[0]), 8080);
    assert_eq!(v.server_port(&v.servers[1]), 80);
    assert!(loaded
        .warnings
        .iter()
        .any(|w| w.code == Code::PortAfterServers));
}

/// Block edits: add, rename, move, remove, and the layout of new blocks.
#[test]
fn block_edits_follow_the_gui_layout() {
    let mut doc = Document::parse("b.cf", BASE);
    doc.add_server("dns", "ns1").expect("add server");
    doc.set(
        &Target::Server {
            virtual_name: "dns".into(),
            server: "ns1".into(),
        },
        "address",
        "10.0.1.53",
    )
    .expect("set");
    doc.set(
        &Target::Server {
            virtual_name: "dns".into(),
            server: "ns1".into(),
        },
        "active",
        "1",
    )
    .expect("set");
    doc.set(
        &Target::Server {
            virtual_name: "dns".into(),
            server: "ns1".into(),
        },
        "weight",
        "1",
    )
    .expect("set");
    let text = String::from_utf8_lossy(doc.as_bytes()).to_string();
    assert!(text.contains("     port = 53\n     server ns1 {\n         address = 10.0.1.53\n         active = 1\n         weight = 1\n     }\n}\n"), "{text}");
    doc.rename(&Target::Virtual("dns".into()), "named")
        .expect("rename");
    doc.move_to(&Target::Virtual("named".into()), 0)
        .expect("move");
    let order: Vec<&str> = doc
        .config()
        .virtuals
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(order, ["named", "web"]);
    assert!(String::from_utf8_lossy(doc.as_bytes()).starts_with("# keep me\n"));
    doc.remove(&Target::Virtual("web".into())).expect("remove");
    assert_eq!(doc.config().virtuals.len(), 1);
    let kinds: Vec<BlockKind> = doc.structure().blocks.iter().map(|b| b.kind).collect();
    assert_eq!(kinds, [BlockKind::Virtual, BlockKind::Server]);
    assert!(doc.add_virtual("named").is_err());
    assert!(doc.add_virtual("two words").is_err());
    assert!(doc
        .set(&Target::Global, "keepalive", "1\nactive_cmd = /bin/sh")
        .is_err());
}

/// A new key goes where the GUI puts it, with its neighbours' indentation.
#[test]
fn new_keys_land_in_gui_order() {
    let mut doc = Document::parse("o.cf", BASE);
    doc.set(&Target::Virtual("web".into()), "scheduler", "rr")
        .expect("set");
    doc.set(&Target::Global, "backup", "10.0.0.2").expect("set");
    let text = String::from_utf8_lossy(doc.as_bytes()).to_string();
    assert!(
        text.contains("primary = 10.0.0.1\nbackup = 10.0.0.2\n"),
        "{text}"
    );
    assert!(
        text.contains("     port   =   80\n     scheduler = rr\n     server r1 {"),
        "{text}"
    );
    let mut crlf = Document::parse("c.cf", BASE.replace('\n', "\r\n"));
    crlf.set(&Target::Global, "keepalive", "1").expect("set");
    let text = String::from_utf8_lossy(crlf.as_bytes()).to_string();
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "new line keeps CRLF"
    );
}

// ----- spellings Piranha read ------------------------------------------------

/// A number in one of the spellings C's `strtol(s, &end, 0)` reads as `n`.
fn spell_number(n: u32, style: u8) -> String {
    match style % 6 {
        0 => n.to_string(),
        1 => format!("+{n}"),
        2 => format!("0{n:o}"),
        3 => format!("0x{n:x}"),
        4 => format!("0X{n:X}"),
        _ => format!("+0x{n:x}"),
    }
}

/// An address in one of the spellings `inet_aton` reads as `a`.
fn spell_address(a: Ipv4Addr, style: u8) -> String {
    let [w, x, y, z] = a.octets();
    let v = u32::from(a);
    match style % 7 {
        0 => a.to_string(),
        1 => format!("{w}.{x}.{}", (u32::from(y) << 8) | u32::from(z)),
        2 => format!("{w}.{}", v & 0x00ff_ffff),
        3 => v.to_string(),
        4 => format!("0x{w:x}.0x{x:x}.0x{y:x}.0x{z:x}"),
        5 => format!("0{w:o}.0{x:o}.0{y:o}.0{z:o}"),
        _ => format!("0x{v:08x}"),
    }
}

/// The values of a file that loads, and the spelling of each slot.
#[derive(Debug, Clone)]
struct Spelled {
    numbers: Vec<u32>,
    addresses: Vec<Ipv4Addr>,
}

fn spelled_values() -> impl Strategy<Value = Spelled> {
    (
        (1u8..=250, 1u8..=250, 1u8..=223, 0u8..=255, 0u8..=255),
        (
            1u32..=100,
            1u32..=65535,
            0u32..=65535,
            1u32..=600,
            0u32..=255,
        ),
        (0u32..=1, 0u32..=1, 0u32..=100_000, 0u32..=3600, 0u32..=1),
        (1u8..=99, 0u32..=u32::MAX, 0u8..=32),
    )
        .prop_map(|((a, b, c, d, e), n1, n2, (f, mark, prefix))| Spelled {
            numbers: vec![
                n1.0,     // keepalive
                n1.0 * 3, // deadtime
                n1.1,     // heartbeat_port, virtual port
                n1.2,     // weight
                n1.3,     // timeout
                n1.4,     // syncd_id
                n2.0,     // booleans
                n2.1,     // booleans
                n2.2,     // serial_no, tcp_timeout
                n2.3,     // persistent, reentry
                n2.4,     // use_regex
                mark,     // fwmark
            ],
            addresses: vec![
                Ipv4Addr::new(10, a, b, 1),      // primary
                Ipv4Addr::new(10, a, b, 2),      // backup
                Ipv4Addr::new(192, 168, a, 254), // nat_router
                Netmask::from_prefix(prefix).map_or(Ipv4Addr::UNSPECIFIED, Netmask::addr),
                Ipv4Addr::new(c, d, e, 100), // VIP
                Ipv4Addr::new(c, d, e, 101), // sorry_server
                Ipv4Addr::new(c, d, e, f),   // real server
            ],
        })
}

fn spelled_file(v: &Spelled, number_style: &[u8], address_style: &[u8]) -> String {
    let n =
        |i: usize, slot: usize| spell_number(v.numbers[i], number_style[slot % number_style.len()]);
    let a = |i: usize, slot: usize| {
        spell_address(v.addresses[i], address_style[slot % address_style.len()])
    };
    format!(
        "serial_no = {}\nprimary = {}\nbackup = {}\nbackup_active = {}\nheartbeat = {}\n\
         heartbeat_port = {}\nkeepalive = {}\ndeadtime = {}\nsyncdaemon = {}\nsyncd_id = {}\n\
         tcp_timeout = {}\nmonitor_links = {}\nnetwork = nat\nnat_router = {} eth1:1\nnat_nmask = {}\n\
         virtual web {{\n     active = 1\n     address = {} eth0:1\n     sorry_server = {}\n\
         \x20    vip_nmask = {}\n     fwmark = {}\n     port = {}\n     persistent = {}\n\
         \x20    timeout = {}\n     reentry = {}\n     use_regex = {}\n     quiesce_server = {}\n\
         \x20    server r1 {{\n         address = {}\n         active = {}\n         weight = {}\n\
         \x20        port = {}\n     }}\n}}\n",
        n(8, 0), a(0, 0), a(1, 1), n(6, 1), n(7, 2), n(2, 3), n(0, 4), n(1, 5), n(7, 6), n(5, 7),
        n(8, 8), n(6, 9), a(2, 2), a(3, 3), a(4, 4), a(5, 5), a(3, 6), n(11, 10), n(2, 11),
        n(9, 12), n(4, 13), n(9, 14), n(10, 15), n(6, 16), a(6, 7), n(7, 17), n(3, 18), n(2, 19),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// I15: a file that differs from one that loads only in how its numbers
    /// (`8`, `+8`, `010`, `0x8`) and addresses (`10.0.0.1`, `10.1`,
    /// `167772161`, hexadecimal or octal parts) are spelled loads too, with
    /// the same configuration: Piranha read every one of these spellings.
    #[test]
    fn number_and_address_spellings_are_never_refused(
        v in spelled_values(),
        numbers in proptest::collection::vec(any::<u8>(), 20),
        addresses in proptest::collection::vec(any::<u8>(), 8),
    ) {
        let plain = spelled_file(&v, &[0], &[0]);
        let base = Document::parse("plain.cf", plain.clone());
        prop_assert!(!base.has_errors(), "{plain}\n{:#?}", base.diagnostics());
        let text = spelled_file(&v, &numbers, &addresses);
        let doc = Document::parse("spelled.cf", text.clone());
        let errors: Vec<_> = doc.diagnostics().iter().filter(|d| d.is_error()).collect();
        prop_assert!(errors.is_empty(), "{text}\n{errors:#?}");
        prop_assert_eq!(doc.config(), base.config(), "{}", text);
    }
}

// ----- values Piranha ran that read oddly ------------------------------------

/// One spelling of each slot Piranha loaded and we once refused: a program
/// without its full path, a `load_monitor` command, a device that cannot
/// be an interface name, a control character, a quote glued inside a
/// quoted word. `(lvs.cf text, what the model must hold)`.
fn odd_program(style: u8) -> (&'static str, &'static str) {
    match style % 4 {
        0 => ("/usr/sbin/notify --up", "/usr/sbin/notify --up"),
        1 => ("notify --up", "notify --up"),
        2 => ("sbin/notify --up", "sbin/notify --up"),
        _ => ("./notify", "./notify"),
    }
}

fn odd_load_monitor(style: u8) -> &'static str {
    [
        "none",
        "uptime",
        "ssh",
        "rsh",
        "/usr/local/bin/load-of",
        "NONE",
    ][style as usize % 6]
}

fn odd_device(style: u8) -> &'static str {
    [
        "eth0:1",
        "abcdefghijklmnop",
        "eth0;rm",
        "-eth0",
        "../x",
        "$(x)",
        "bond0.100:7",
    ][style as usize % 7]
}

fn odd_send(style: u8) -> (&'static str, &'static str) {
    match style % 4 {
        0 => (
            "\"GET / HTTP/1.0\\r\\n\\r\\n\"",
            "GET / HTTP/1.0\\r\\n\\r\\n",
        ),
        1 => ("\"GET \u{1} /\"", "GET \u{1} /"),
        2 => ("\"a\\\"b\"", "a\\\"b"),
        _ => ("\"x\u{1b}[0m\"", "x\u{1b}[0m"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// I15 part 3: files that differ from one that loads only in these
    /// spellings load too (warnings, never errors), holding what Piranha
    /// read.
    #[test]
    fn values_piranha_ran_are_never_refused(styles in proptest::collection::vec(any::<u8>(), 7)) {
        let (active, active_read) = odd_program(styles[0]);
        let (program, program_read) = odd_program(styles[1]);
        let load = odd_load_monitor(styles[2]);
        let vip_device = odd_device(styles[3]);
        let nat_device = odd_device(styles[4]);
        let (send, send_read) = odd_send(styles[5]);
        let (expect, expect_read) = odd_send(styles[6]);
        let text = format!(
            "primary = 10.0.0.1\nnetwork = nat\nnat_router = 10.0.0.254 {nat_device}\n\
             active_cmd = \"{active}\"\n\
             virtual web {{\n     active = 1\n     address = 10.0.0.100 {vip_device}\n\
             \x20    send_program = \"{program} %h\"\n     send = {send}\n     expect = {expect}\n\
             \x20    load_monitor = {load}\n\
             \x20    server r1 {{\n         address = 10.0.1.1\n         active = 1\n     }}\n}}\n"
        );
        let doc = Document::parse("odd.cf", text.clone());
        let errors: Vec<_> = doc.diagnostics().iter().filter(|d| d.is_error()).collect();
        prop_assert!(errors.is_empty(), "{text}\n{errors:#?}");
        let c = doc.config();
        prop_assert_eq!(c.active_cmd.as_ref().map(|a| a.text.as_str()), Some(active_read));
        let v = &c.virtuals[0];
        prop_assert_eq!(
            v.send_program.as_ref().map(|p| p.text.clone()),
            Some(format!("{program_read} %h"))
        );
        prop_assert_eq!(v.send.as_deref(), Some(send_read));
        prop_assert_eq!(v.expect.as_deref(), Some(expect_read));
        prop_assert_eq!(&v.load_monitor, &LoadMonitor::from_value(load));
        prop_assert_eq!(v.address.as_ref().map(|a| a.device.as_str()), Some(vip_device));
        prop_assert_eq!(c.nat_router.as_ref().map(|a| a.device.as_str()), Some(nat_device));
    }
}
