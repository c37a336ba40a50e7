//! keepalived's quorum, in live weight. Pure.
//!
//! A virtual server with `quorum = Q` and `hysteresis = H` has its quorum
//! while the live weight (the configured weights of its real servers that
//! are up) stays at `Q - H` or above; once lost, it comes back when the
//! live weight reaches `Q + H`. The first decision (no state yet) is
//! `live >= Q`. Below quorum the sorry server, if there is one, serves
//! alone ([`crate::desired`]).

/// Whether the service has its quorum now, given whether it had it.
pub fn decide(before: Option<bool>, live: u64, quorum: u32, hysteresis: u32) -> bool {
    let q = u64::from(quorum);
    let h = u64::from(hysteresis);
    match before {
        None => live >= q,
        Some(true) => live >= q.saturating_sub(h),
        Some(false) => live >= q + h,
    }
}

#[cfg(test)]
mod tests {
    use super::decide;

    #[test]
    fn hysteresis_both_ways() {
        // quorum 4, hysteresis 1: lost below 3, regained at 5.
        assert!(decide(None, 4, 4, 1));
        assert!(!decide(None, 3, 4, 1));
        assert!(decide(Some(true), 3, 4, 1));
        assert!(!decide(Some(true), 2, 4, 1));
        assert!(!decide(Some(false), 4, 4, 1));
        assert!(decide(Some(false), 5, 4, 1));
        // Without hysteresis the threshold is the quorum itself.
        assert!(decide(Some(false), 4, 4, 0));
        assert!(!decide(Some(true), 3, 4, 0));
        // A hysteresis above the quorum never loses it (lvscf warns).
        assert!(decide(Some(true), 0, 2, 5));
    }
}

#[cfg(test)]
mod table_tests {
    use crate::desired::{desired, Monitor, ShownState};
    use crate::health::Health;
    use crate::table::Table;
    use nanny::protocol::Report;
    use std::net::IpAddr;

    const FILE: &str = "network = direct\nvirtual web {\n active = 1\n address = 10.0.0.100 eth0:1\n sorry_server = 10.0.9.9\n quorum = 4\n hysteresis = 1\n server a {\n  address = 10.0.1.1\n  active = 1\n  weight = 2\n }\n server b {\n  address = 10.0.1.2\n  active = 1\n  weight = 2\n }\n server c {\n  address = 10.0.1.3\n  active = 1\n  weight = 1\n }\n}\n";

    fn report(h: &mut Health, c: &lvscf_parser::Config, server: &str, up: bool) {
        let n = server.as_bytes()[0] - b'a' + 1;
        let line = format!(
            r#"{{"virtual":"web","server":"{server}","address":"10.0.1.{n}","port":80,"state":"{}","weight":{}}}"#,
            if up { "up" } else { "down" },
            if up { 2 } else { 0 }
        );
        let r = Report::from_line(&line).unwrap();
        h.apply(&r, &["web".to_string()], c);
    }

    fn in_table(h: &Health, c: &lvscf_parser::Config) -> (Vec<IpAddr>, Option<(u64, bool)>) {
        let d = desired(c, Monitor::Reports(h), &Table::default());
        let (key, entry) = d.table.services.iter().next().unwrap();
        let info = &d.info[key];
        let q = info.quorum.map(|q| (q.live_weight, q.up));
        (entry.dests.keys().map(|(a, _)| *a).collect(), q)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn below_quorum_the_sorry_server_serves_alone() {
        let c = lvscf_parser::parse("lvs.cf", FILE.as_bytes())
            .unwrap()
            .config;
        let mut h = Health::new();
        report(&mut h, &c, "a", true);
        report(&mut h, &c, "b", true);
        // c not decided yet: no quorum decision, no sorry server.
        assert_eq!(
            in_table(&h, &c),
            (vec![ip("10.0.1.1"), ip("10.0.1.2")], None)
        );
        report(&mut h, &c, "c", true);
        assert_eq!(
            in_table(&h, &c),
            (
                vec![ip("10.0.1.1"), ip("10.0.1.2"), ip("10.0.1.3")],
                Some((5, true))
            )
        );
        // Live weight 3 = quorum - hysteresis: still up.
        report(&mut h, &c, "b", false);
        assert_eq!(
            in_table(&h, &c),
            (vec![ip("10.0.1.1"), ip("10.0.1.3")], Some((3, true)))
        );
        // 2 < 3: lost; the sorry server alone.
        report(&mut h, &c, "c", false);
        assert_eq!(in_table(&h, &c), (vec![ip("10.0.9.9")], Some((2, false))));
        // 4 is not yet quorum + hysteresis (5): still the sorry server.
        report(&mut h, &c, "b", true);
        assert_eq!(in_table(&h, &c), (vec![ip("10.0.9.9")], Some((4, false))));
        // 5: back.
        report(&mut h, &c, "c", true);
        assert_eq!(
            in_table(&h, &c),
            (
                vec![ip("10.0.1.1"), ip("10.0.1.2"), ip("10.0.1.3")],
                Some((5, true))
            )
        );
        // The status document carries it.
        let d = desired(&c, Monitor::Reports(&h), &Table::default());
        let st = crate::status::status(
            &Table::default(),
            &d,
            None,
            &["web".to_string()],
            std::time::Instant::now(),
        );
        let q = st.services[0].quorum.expect("quorum in the status");
        assert_eq!(
            (q.quorum, q.hysteresis, q.live_weight, q.up),
            (4, 1, 5, true)
        );
        let json = serde_json::to_string(&st).unwrap();
        assert!(
            json.contains(r#""quorum":{"quorum":4,"hysteresis":1,"live_weight":5,"up":true}"#),
            "{json}"
        );
        assert!(d
            .info
            .values()
            .all(|i| i.servers.iter().all(|s| s.state != ShownState::Sorry)));
    }

    #[test]
    fn without_quorum_nothing_changes() {
        let text = FILE.replace(" quorum = 4\n hysteresis = 1\n", "");
        let c = lvscf_parser::parse("lvs.cf", text.as_bytes())
            .unwrap()
            .config;
        let mut h = Health::new();
        for s in ["a", "b", "c"] {
            report(&mut h, &c, s, true);
        }
        report(&mut h, &c, "a", false);
        report(&mut h, &c, "b", false);
        assert_eq!(in_table(&h, &c), (vec![ip("10.0.1.3")], None));
        let st = crate::status::status(
            &Table::default(),
            &desired(&c, Monitor::Reports(&h), &Table::default()),
            None,
            &["web".to_string()],
            std::time::Instant::now(),
        );
        assert!(!serde_json::to_string(&st).unwrap().contains("quorum"));
    }
}

#[cfg(test)]
mod certificate_tests {
    use crate::desired::{desired, Monitor};
    use crate::health::Health;
    use crate::table::Table;
    use nanny::protocol::Report;

    #[test]
    fn a_certificate_warning_reaches_the_status_and_ends() {
        let text = "virtual tls {\n active = 1\n address = 10.0.0.100 eth0:1\n port = 443\n check = https\n server a {\n  address = 10.0.1.1\n  active = 1\n }\n}\n";
        let c = lvscf_parser::parse("lvs.cf", text.as_bytes())
            .unwrap()
            .config;
        let watched = ["tls".to_string()];
        let mut h = Health::new();
        let up = r#"{"virtual":"tls","server":"a","address":"10.0.1.1","port":443,"state":"up","weight":1}"#;
        h.apply(&Report::from_line(up).unwrap(), &watched, &c);
        let warn = r#"{"virtual":"tls","server":"a","address":"10.0.1.1","port":443,"certificate":{"not_after":1900000000,"days_left":3}}"#;
        h.apply(&Report::from_line(warn).unwrap(), &watched, &c);
        let status = |h: &Health| {
            let d = desired(&c, Monitor::Reports(h), &Table::default());
            crate::status::status(
                &Table::default(),
                &d,
                None,
                &watched,
                std::time::Instant::now(),
            )
            .services[0]
                .servers[0]
                .certificate
        };
        assert_eq!(status(&h).map(|c| c.days_left), Some(3));
        let renewed = r#"{"virtual":"tls","server":"a","address":"10.0.1.1","port":443}"#;
        h.apply(&Report::from_line(renewed).unwrap(), &watched, &c);
        assert_eq!(status(&h), None);
    }
}
