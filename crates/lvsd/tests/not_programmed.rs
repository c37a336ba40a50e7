//! Entries the kernel cannot take, and second virtual servers for one
//! service, as the corpus files that Piranha ran have them: they load
//! (with the parser's warnings), lvsd reports each one as not programmed,
//! gives it no nanny, and programs the rest of the file.

use std::path::{Path, PathBuf};

use ipvs::ServiceKey;
use lvsd::desired::{desired, programmed, Monitor};
use lvsd::diff::diff;
use lvsd::group::groups;
use lvsd::ipvsadm::format_op;
use lvsd::plan::{wanted, Scope};
use lvsd::table::Table;

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus/lvs_cf/good")
        .join(name)
}

fn load(name: &str) -> lvscf_parser::Config {
    let path = corpus(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match lvscf_parser::parse(name, &bytes) {
        Ok(l) => {
            assert!(!l.warnings.is_empty(), "{name} should load with warnings");
            l.config
        }
        Err(e) => panic!("{name} must load: {e}"),
    }
}

fn plan(c: &lvscf_parser::Config) -> Vec<String> {
    let d = desired(c, Monitor::AssumeUp, &Table::new());
    let mut ops: Vec<String> = diff(&Table::new(), &d.table, |_| true)
        .iter()
        .map(format_op)
        .collect();
    ops.sort();
    ops
}

fn group_names(c: &lvscf_parser::Config) -> Vec<Vec<String>> {
    groups(c).into_iter().map(|g| g.virtuals).collect()
}

#[test]
fn ports_and_weights_the_kernel_cannot_take_are_reported_and_the_rest_runs() {
    let c = load("kernel-refuses.cf");
    let d = desired(&c, Monitor::AssumeUp, &Table::new());
    assert_eq!(
        plan(&c),
        vec![
            "-A -t 10.0.0.100:80 -s wlc".to_string(),
            "-a -t 10.0.0.100:80 -r 10.0.1.4:80 -m -w 3".to_string(),
        ]
    );
    let expected = [
        "virtual zero: port 0 is not a port the kernel takes (1 to 65535); not programmed",
        "virtual big: port 65536 is not a port the kernel takes (1 to 65535); not programmed",
        "virtual negative: port -1 is not a port the kernel takes (1 to 65535); not programmed",
        "virtual web: server low: weight -5 is not a weight the kernel takes (0 to 65535); not programmed",
        "virtual web: server high: weight 65536 is not a weight the kernel takes (0 to 65535); not programmed",
        "virtual web: server noport: port 0 is not a port the kernel takes (1 to 65535); not programmed",
    ];
    assert_eq!(d.warnings, expected);
    // Nothing checks what is not programmed: one nanny job, for `fine`.
    let g = groups(&c);
    assert_eq!(group_names(&c), vec![vec!["web".to_string()]]);
    let servers: Vec<&str> = g[0].job.virtuals[0]
        .servers
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(servers, ["fine"]);
    // A re-read of the refused block alone leaves it to the full comparison.
    let zero = c.virtuals.iter().position(|v| v.name == "zero");
    assert!(zero.is_some());
    let zero = zero.unwrap_or_default();
    assert!(wanted(&c, Monitor::AssumeUp, &Table::new(), Scope::Virtual(zero)).is_none());
}

#[test]
fn a_second_virtual_for_one_service_is_reported_and_the_first_is_programmed() {
    let c = load("duplicate-services.cf");
    let (programmed, warnings) = programmed(&c);
    let names: Vec<&str> = programmed.iter().map(|(v, _)| v.name.as_str()).collect();
    assert_eq!(names, ["http", "web", "web-udp"]);
    assert_eq!(
        warnings,
        [
            "virtual https: same service FWM 80 as virtual http; not programmed",
            "virtual web-again: same service TCP 10.0.0.101:80 as virtual web; not programmed",
        ],
        "{warnings:?}"
    );
    assert_eq!(
        plan(&c),
        vec![
            "-A -f 80 -s wlc".to_string(),
            "-A -t 10.0.0.101:80 -s wlc".to_string(),
            "-A -u 10.0.0.101:80 -s wlc".to_string(),
            "-a -f 80 -r 10.0.1.1:80 -m -w 1".to_string(),
            "-a -t 10.0.0.101:80 -r 10.0.1.2:80 -m -w 1".to_string(),
            "-a -u 10.0.0.101:80 -r 10.0.1.4:80 -m -w 1".to_string(),
        ]
    );
    let d = desired(&c, Monitor::AssumeUp, &Table::new());
    assert_eq!(
        d.info
            .get(&ServiceKey::Tcp(
                std::net::Ipv4Addr::new(10, 0, 0, 101).into(),
                80
            ))
            .map(|i| i.name.as_str()),
        Some("web")
    );
    let all: Vec<String> = group_names(&c).into_iter().flatten().collect();
    assert_eq!(all, ["http", "web", "web-udp"]);
}

#[test]
fn a_repeated_real_server_is_programmed_once() {
    let c = load("duplicate-real-servers.cf");
    let d = desired(&c, Monitor::AssumeUp, &Table::new());
    assert!(
        d.warnings
            .iter()
            .any(|w| w
                == "virtual web: server b repeats 10.0.1.1 port 80; not programmed a second time"),
        "{:?}",
        d.warnings
    );
    assert!(plan(&c).contains(&"-a -t 10.0.0.100:80 -r 10.0.1.1:80 -m -w 1".to_string()));
}

#[test]
fn unaddressed_entries_and_a_sorry_server_on_the_vip_are_not_programmed() {
    // Piranha's GUI writes new blocks at 0.0.0.0; a file where one was
    // activated before its address was set ran under Piranha.
    let c = load("piranha-unaddressed.cf");
    let d = desired(&c, Monitor::AssumeUp, &Table::new());
    assert_eq!(
        plan(&c),
        vec![
            "-A -t 10.0.0.100:80 -s wlc".to_string(),
            "-a -t 10.0.0.100:80 -r 10.0.1.11:80 -g -w 1".to_string(),
        ]
    );
    let expected = [
        "virtual noaddr: it has no address; not programmed",
        "virtual zero: its address is 0.0.0.0; not programmed",
        "virtual web: server unset: it has no address; not programmed",
        "virtual web: server zero: its address is 0.0.0.0; not programmed",
    ];
    let mut got = d.warnings.clone();
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(group_names(&c), vec![vec!["web".to_string()]]);
    // With every real server down the sorry server, the VIP itself, is
    // never added.
    let mut h = lvsd::health::Health::new();
    let line = r#"{"virtual":"web","server":"r1","address":"10.0.1.11","port":80,"state":"down","weight":0}"#;
    let report = nanny::protocol::Report::from_line(line).expect("report");
    h.apply(&report, &["web".to_string()], &c);
    h.set_initial_done("web");
    let down = desired(&c, Monitor::Reports(&h), &Table::new());
    let web = down.table.services.values().next().map(|e| e.dests.len());
    assert_eq!(web, Some(0), "{:?}", down.table);
}
