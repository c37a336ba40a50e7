//! `BlockMap::reparse` against the full parser: whenever it answers, the
//! configuration, the warnings and the map it leaves are exactly what a
//! full parse of the new text gives; it answers for the edits lvsd's
//! reload is meant to be fast for, and declines the ones that cross blocks.

use lvscf_parser::{BlockMap, Config, Diagnostic, Document};
use proptest::prelude::*;
use std::fmt::Write;

/// A file of `virtuals` blocks with `servers` real servers each; `seed`
/// varies the layout (comments, blank lines, inactive blocks, a failover
/// block, CRLF).
fn generate(virtuals: usize, servers: usize, seed: u64, crlf: bool) -> String {
    let mut s = String::from(
        "serial_no = 7\nprimary = 10.0.0.1\nservice = lvs\nbackup = 10.0.0.2\nbackup_active = 1\nheartbeat = 1\nkeepalive = 2\ndeadtime = 6\nnetwork = nat\n",
    );
    for v in 0..virtuals {
        let bit = |n: u64| (seed >> ((v as u64 * 3 + n) % 64)) & 1 == 1;
        if bit(0) {
            s.push_str("# a comment between blocks\n\n");
        }
        let _ = write!(
            s,
            "virtual web{v} {{\n    active = {}\n    address = 10.{}.{}.1 eth0:{}\n    port = {}\n    send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n    expect = \"HTTP\"\n    scheduler = wlc\n    protocol = tcp\n    timeout = 6\n",
            u8::from(v == 0 || !bit(1)),
            1 + v / 250,
            v % 250,
            v % 100,
            80 + v
        );
        if bit(2) {
            s.push_str("    persistent = 300\n    # inside the block\n");
        }
        for r in 0..servers {
            let _ = write!(
                s,
                "    server r{r} {{\n        address = 172.{}.{}.{}\n        active = 1\n        weight = {}\n    }}\n",
                16 + v / 250,
                v % 250,
                r + 1,
                r + 1
            );
        }
        s.push_str("}\n");
    }
    if seed % 5 == 0 {
        s.push_str(
            "failover ftp {\n    active = 0\n    address = 10.9.9.9 eth0:9\n    port = 21\n}\n",
        );
    }
    if crlf {
        s = s.replace('\n', "\r\n");
    }
    s
}

#[derive(Debug, Clone)]
enum Edit {
    /// The n-th `weight = ` gets `value`.
    Weight(prop::sample::Index, u32),
    /// What the web tool saves: a weight and a new `serial_no`.
    GuiSave(prop::sample::Index, u32, u64),
    /// `serial_no` alone.
    Serial(u64),
    /// The n-th `scheduler = wlc` becomes `rr`.
    Scheduler(prop::sample::Index),
    /// A new server before the n-th `    }` closing a virtual.
    AddServer(prop::sample::Index),
    /// The n-th server block goes.
    RemoveServer(prop::sample::Index),
    /// The n-th `address = 10.` (a VIP) changes.
    Vip(prop::sample::Index),
    /// The n-th `virtual web` is renamed.
    Rename(prop::sample::Index),
    /// A global line changes.
    Global,
    /// A weight in two blocks.
    TwoBlocks(prop::sample::Index),
    /// Arbitrary text inserted at a byte offset.
    Insert(prop::sample::Index, String),
    /// A few bytes deleted.
    Delete(prop::sample::Index, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let text = prop::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            1 => prop::sample::select(vec![' ', '\n', '{', '}', '#', '=', '"', '\r', '1']),
        ],
        1..12,
    )
    .prop_map(|v| v.into_iter().collect::<String>());
    prop_oneof![
        4 => (any::<prop::sample::Index>(), 0u32..70000).prop_map(|(i, w)| Edit::Weight(i, w)),
        3 => (any::<prop::sample::Index>(), 0u32..70000, any::<u64>()).prop_map(|(i, w, n)| Edit::GuiSave(i, w, n)),
        1 => any::<u64>().prop_map(Edit::Serial),
        2 => any::<prop::sample::Index>().prop_map(Edit::Scheduler),
        2 => any::<prop::sample::Index>().prop_map(Edit::AddServer),
        2 => any::<prop::sample::Index>().prop_map(Edit::RemoveServer),
        1 => any::<prop::sample::Index>().prop_map(Edit::Vip),
        1 => any::<prop::sample::Index>().prop_map(Edit::Rename),
        1 => Just(Edit::Global),
        1 => any::<prop::sample::Index>().prop_map(Edit::TwoBlocks),
        3 => (any::<prop::sample::Index>(), text).prop_map(|(i, t)| Edit::Insert(i, t)),
        3 => (any::<prop::sample::Index>(), 1usize..20).prop_map(|(i, n)| Edit::Delete(i, n)),
    ]
}

/// Byte offsets of `pat` in `s`.
fn find_all(s: &str, pat: &str) -> Vec<usize> {
    s.match_indices(pat).map(|(i, _)| i).collect()
}

/// Replaces the end of the line starting at `at + pat.len()` with `value`.
fn set_value(s: &mut String, at: usize, pat: &str, value: &str) {
    let from = at + pat.len();
    let to = from + s[from..].find(['\r', '\n']).unwrap_or(s.len() - from);
    s.replace_range(from..to, value);
}

fn apply(s: &str, e: &Edit) -> String {
    let mut out = s.to_string();
    let eol = if s.contains("\r\n") { "\r\n" } else { "\n" };
    match e {
        Edit::Weight(i, w) => {
            let all = find_all(s, "weight = ");
            if !all.is_empty() {
                set_value(&mut out, *i.get(&all), "weight = ", &w.to_string());
            }
        }
        Edit::GuiSave(i, w, serial) => {
            out = apply(s, &Edit::Weight(*i, *w));
            let at = out.find("serial_no = ").unwrap_or(0);
            set_value(&mut out, at, "serial_no = ", &serial.to_string());
        }
        Edit::Serial(serial) => {
            let at = s.find("serial_no = ").unwrap_or(0);
            set_value(&mut out, at, "serial_no = ", &serial.to_string());
        }
        Edit::Scheduler(i) => {
            let all = find_all(s, "scheduler = ");
            if !all.is_empty() {
                set_value(&mut out, *i.get(&all), "scheduler = ", "rr");
            }
        }
        Edit::AddServer(i) => {
            let closes = find_all(s, &format!("{eol}}}{eol}"));
            if !closes.is_empty() {
                let at = *i.get(&closes) + eol.len();
                let block = format!(
                    "    server extra {{{eol}        address = 192.168.7.7{eol}        active = 1{eol}    }}{eol}"
                );
                out.insert_str(at, &block);
            }
        }
        Edit::RemoveServer(i) => {
            let all = find_all(s, "    server r");
            if !all.is_empty() {
                let at = *i.get(&all);
                let close = format!("    }}{eol}");
                // Only a server block that closes inside its virtual.
                if let Some(len) = s[at..].find(&close) {
                    if !s[at..at + len].contains(&format!("{eol}}}")) {
                        out.replace_range(at..at + len + close.len(), "");
                    }
                }
            }
        }
        Edit::Vip(i) => {
            let all = find_all(s, "address = 10.");
            if !all.is_empty() {
                set_value(&mut out, *i.get(&all), "address = ", "10.200.0.1 eth0:1");
            }
        }
        Edit::Rename(i) => {
            let all = find_all(s, "virtual web");
            if !all.is_empty() {
                out.insert(*i.get(&all) + "virtual web".len(), 'x');
            }
        }
        Edit::Global => out = out.replacen("keepalive = 2", "keepalive = 3", 1),
        Edit::TwoBlocks(i) => {
            let all = find_all(s, "weight = ");
            let Some(&first) = (!all.is_empty()).then(|| i.get(&all)) else {
                return out;
            };
            if let Some(second) = all.iter().rev().find(|a| **a > first + 400) {
                for at in [*second, first] {
                    let from = at + "weight = ".len();
                    let digits = s[from..].bytes().take_while(u8::is_ascii_digit).count();
                    let now: u32 = s[from..from + digits].parse().unwrap_or(0);
                    set_value(&mut out, at, "weight = ", &(now + 1).to_string());
                }
            }
        }
        Edit::Insert(i, text) => {
            let mut at = i.index(s.len() + 1);
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            out.insert_str(at, text);
        }
        Edit::Delete(i, n) => {
            let at = i.index(s.len());
            let end = (at + n).min(s.len());
            out.replace_range(at..end, "");
        }
    }
    out
}

/// Where an edit lands: the start of the text it changes first.
fn edit_offset(old: &str, new: &str) -> usize {
    old.bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count()
}

/// Whether byte `at` lies in a `virtual` block (not the failover one).
fn in_virtual(s: &str, at: usize) -> bool {
    let before = &s[..at.min(s.len())];
    before.rfind("virtual ") > before.rfind("failover ")
}

fn key(d: &Diagnostic) -> (usize, usize, &'static str, String) {
    (d.line, d.column, d.code.as_str(), d.message.clone())
}

/// Checks one reparse against the full parser; returns whether it answered.
fn check(map: &mut BlockMap, config: &mut Config, new: &str) -> Result<bool, TestCaseError> {
    let full = Document::parse("lvs.cf", new.as_bytes().to_vec());
    match map.reparse("lvs.cf", config, new.as_bytes().to_vec()) {
        Err(back) => {
            prop_assert_eq!(back.as_slice(), new.as_bytes());
            if let Some(m) = BlockMap::of(&full) {
                *map = m;
                *config = full.config().clone();
            }
            Ok(false)
        }
        Ok(changed) => {
            prop_assert!(
                !full.has_errors(),
                "reparse accepted a file the full parser refuses: {:?}",
                full.diagnostics()
            );
            config.virtuals[changed.index] = changed.virtual_server.clone();
            if let Some(n) = changed.serial_no {
                config.serial_no = n;
            }
            prop_assert_eq!(&*config, full.config());
            let (from, to) = changed.lines;
            let in_block: Vec<_> = full
                .diagnostics()
                .iter()
                .filter(|d| d.line >= from && d.line <= to)
                .map(key)
                .collect();
            prop_assert!(in_block.is_empty(), "the full parse warns: {:?}", in_block);
            let fresh = BlockMap::of(&full);
            prop_assert_eq!(Some(&*map), fresh.as_ref());
            Ok(true)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn reparse_agrees_with_the_full_parser(
        virtuals in 1usize..6,
        servers in 0usize..4,
        seed in any::<u64>(),
        crlf in any::<bool>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let mut text = generate(virtuals, servers, seed, crlf);
        let (mut map, mut config) = mapped(&text);
        for e in &edits {
            let next = apply(&text, e);
            if next == text {
                continue;
            }
            // After a file that does not load, the map stays at the last
            // one that did, as lvsd keeps the running configuration.
            let current = map.text() == text.as_bytes();
            let answered = check(&mut map, &mut config, &next)?;
            // The edits meant to be fast must be, on a file that loads without
            // a warning.
            let must = match e {
                Edit::Weight(..) | Edit::Scheduler(_) | Edit::AddServer(_) | Edit::RemoveServer(_) => {
                    in_virtual(&text, edit_offset(&text, &next))
                }
                // The weight's block, if the weight changed.
                Edit::GuiSave(i, w, _) => {
                    let weighted = apply(&text, &Edit::Weight(*i, *w));
                    weighted != text && in_virtual(&text, edit_offset(&text, &weighted))
                }
                _ => false,
            };
            let loads = Document::parse("x", next.as_bytes().to_vec()).diagnostics().is_empty();
            if current && must && loads && BlockMap::of(&Document::parse("x", text.as_bytes().to_vec())).is_some() {
                prop_assert!(answered, "{e:?} was not re-read alone");
            }
            if current && matches!(e, Edit::Vip(_) | Edit::Rename(_) | Edit::Global | Edit::TwoBlocks(_)) {
                prop_assert!(!answered, "{e:?} was re-read alone");
            }
            text = next;
        }
    }
}

/// A loaded text's map and configuration.
fn mapped(text: &str) -> (BlockMap, Config) {
    let doc = Document::parse("lvs.cf", text.as_bytes().to_vec());
    let map = BlockMap::of(&doc).expect("generated files have a map");
    (map, doc.config().clone())
}

#[test]
fn an_unchanged_text_finds_no_block() {
    let text = generate(3, 1, 0, false);
    let (mut map, config) = mapped(&text);
    assert!(map.reparse("lvs.cf", &config, text.into_bytes()).is_err());
}

#[test]
fn a_weight_in_a_large_file_is_reread_alone() {
    let text = generate(1000, 10, 0, false);
    let (mut map, config) = mapped(&text);
    let at = text.find("virtual web500 ").expect("block");
    let w = at + text[at..].find("weight = 3").expect("weight");
    let mut new = text.clone();
    new.replace_range(w..w + "weight = 3".len(), "weight = 7");
    let changed = map
        .reparse("lvs.cf", &config, new.into_bytes())
        .expect("re-read alone");
    assert_eq!(changed.index, 500);
    assert_eq!(changed.virtual_server.servers[2].weight, 7);
}

#[test]
fn a_warning_in_the_block_is_left_to_the_full_parser() {
    let text = generate(3, 1, 0, false);
    let (mut map, config) = mapped(&text);
    let new = text.replacen(
        "virtual web2 {\n",
        "virtual web2 {\n    send_program = \"/bin/check %h\"\n",
        1,
    );
    assert!(!Document::parse("lvs.cf", new.as_bytes().to_vec())
        .diagnostics()
        .is_empty());
    assert!(map.reparse("lvs.cf", &config, new.into_bytes()).is_err());
}

#[test]
fn an_error_is_left_to_the_full_parser() {
    let text = generate(3, 1, 0, false);
    let (mut map, config) = mapped(&text);
    let new = text.replacen("weight = 1", "weight = -1", 1);
    assert!(map.reparse("lvs.cf", &config, new.into_bytes()).is_err());
}
