//! Failover between two pulses in network namespaces (T1; root only).

mod common;
use common::*;
use std::time::{Duration, Instant};

const K: &str = "0.1";
const D: &str = "0.4";

fn sec(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

/// Brings r1 (master) and r2 up and waits until r1 holds the VIP and the
/// client reaches it.
fn pair(t: &Topo, extra_cfg: &str) -> (Pulse, Pulse) {
    pair_with(t, extra_cfg, K, D)
}

/// Tests that assert that something never happens use a longer deadtime, so
/// that a scheduling stall on a loaded box is not mistaken for a failure.
const D_SAFE: &str = "1.0";

fn pair_with(t: &Topo, extra_cfg: &str, k: &str, d: &str) -> (Pulse, Pulse) {
    let cfg = t.config("lvs.cf", k, d, extra_cfg);
    let standin = t.standin("lvsd", true, None);
    let p1 = t.pulse(&t.r1, "r1", &cfg, &standin, &[]);
    let p2 = t.pulse(&t.r2, "r2", &cfg, &standin, &[]);
    assert!(
        p1.wait_state("active", sec(5.0)),
        "r1 not active: {:?}",
        p1.log()
    );
    assert!(
        wait_until(sec(3.0), || t.ask().as_deref() == Some("r1")).is_some(),
        "client cannot reach r1"
    );
    assert_eq!(p2.state().as_deref(), Some("inactive"));
    (p1, p2)
}

#[test]
fn startup_takeover_and_vip_is_labelled_secondary() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let (p1, p2) = pair(&t, "");
    assert!(
        p1.log()
            .iter()
            .any(|l| l == "pulse: STARTING PULSE AS MASTER"),
        "{:?}",
        p1.log()
    );
    assert!(p2
        .log()
        .iter()
        .any(|l| l == "pulse: STARTING PULSE AS BACKUP"));
    let line = t.vip_line(&t.r1);
    assert!(
        line.contains("secondary") && line.contains("eth1:1") && line.contains("/24"),
        "{line}"
    );
    // the interface's primary address is untouched
    let all = out(&["ip", "-n", &t.r1, "-o", "addr", "show", "dev", "eth1"]);
    assert!(all.contains("203.0.113.1/24"), "{all}");
    assert!(!t.has_vip(&t.r2));
    assert!(p1
        .wait_log("gratuitous lvs arps finished", sec(7.0))
        .is_some());
    // the client's neighbour entry is r1's MAC
    assert_eq!(t.client_neigh(), t.mac(&t.r1, "eth1"));
    // backup never activated
    assert_eq!(p2.count("activating lvs"), 0, "{:?}", p2.log());
    // status socket
    let st = p1.status().expect("status");
    assert_eq!(st["role"], "master");
    assert_eq!(st["state"], "active");
    assert_eq!(st["partner"]["state"], "inactive");
    assert_eq!(st["heartbeat"]["mode"], "legacy");
    assert!(st["lvsd_pid"].as_i64().is_some());
    let st2 = p2.status().expect("status");
    assert_eq!(st2["role"], "backup");
    assert_eq!(st2["partner"]["state"], "active");
    assert!(
        st2["partner"]["last_heartbeat_age_ms"]
            .as_u64()
            .unwrap_or(9999)
            < 500
    );
}

#[test]
fn kill9_active_fails_over_and_restart_cleans_up() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let (mut p1, p2) = pair(&t, "");
    let lvsd_pid = p1
        .status()
        .and_then(|s| s["lvsd_pid"].as_i64())
        .expect("lvsd pid") as i32;
    let killed = Instant::now();
    p1.signal(libc::SIGKILL);
    p1.wait_exit(sec(2.0));
    // K05: the orphaned lvsd goes away within 1 s
    let gone = wait_until(sec(1.0), || {
        std::fs::read_to_string(format!("/proc/{lvsd_pid}/stat"))
            .map(|s| s.contains(") Z"))
            .unwrap_or(true)
    });
    assert!(gone.is_some(), "lvsd stand-in survived pulse");
    // K01: backup owns the VIP within D + K + 1 s
    let took = wait_until(sec(3.0), || t.has_vip(&t.r2)).expect("r2 never took the VIP");
    assert!(
        took - killed <= sec(0.4 + 0.1 + 1.0 + slack()),
        "{:?}",
        took - killed
    );
    assert!(p2
        .wait_log("partner dead: activating lvs", sec(1.0))
        .is_some());
    assert!(
        wait_until(sec(3.0), || t.ask().as_deref() == Some("r2")).is_some(),
        "client never reached r2"
    );
    // r1's VIP is still there (pulse was killed, nothing cleaned up) ...
    assert!(t.has_vip(&t.r1));
    // ... until pulse restarts: leftovers removed before any role is taken,
    // and no failback
    let cfg = t.path("lvs.cf");
    let standin = t.path("lvsd");
    let p1b = t.pulse(&t.r1, "r1b", &cfg, &standin, &[]);
    assert!(
        p1b.wait_log("removing leftover address 203.0.113.100/24", sec(3.0))
            .is_some(),
        "{:?}",
        p1b.log()
    );
    // removed before the role is taken (the line is logged just before)
    assert!(wait_until(sec(0.5), || !t.has_vip(&t.r1)).is_some());
    assert_never_dual_active(&t, "after the restart");
    assert_eq!(p1b.state().as_deref(), Some("inactive"));
    assert_eq!(p2.state().as_deref(), Some("active"));
    assert!(!t.has_vip(&t.r1));
}

#[test]
fn sigstop_fails_over_and_sigcont_converges_to_master() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let (p1, p2) = pair(&t, "");
    p1.signal(libc::SIGSTOP);
    let stopped = Instant::now();
    let took = wait_until(sec(3.0), || t.has_vip(&t.r2)).expect("r2 never took over");
    assert!(took - stopped <= sec(0.4 + 0.1 + 1.0 + slack()));
    p1.signal(libc::SIGCONT);
    // dual-active resolved: the backup yields, the master re-announces
    assert!(
        p2.wait_log("partner active: deactivating LVS", sec(2.0))
            .is_some(),
        "{:?}",
        p2.log()
    );
    assert!(
        p1.wait_log("partner active: resending arps", sec(2.0))
            .is_some(),
        "{:?}",
        p1.log()
    );
    assert!(wait_until(sec(1.0), || !t.has_vip(&t.r2)).is_some());
    assert!(t.has_vip(&t.r1));
    assert!(wait_until(sec(3.0), || t.client_neigh() == t.mac(&t.r1, "eth1")).is_some());
}

#[test]
fn link_down_fails_over() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let (p1, p2) = pair(&t, "monitor_links = 1\n");
    let down = Instant::now();
    must(&["ip", "-n", &t.r1, "link", "set", "dev", "eth0", "down"]);
    assert!(
        p1.wait_log("Local NIC link failure: Pulse disabled", sec(2.0))
            .is_some(),
        "{:?}",
        p1.log()
    );
    assert!(p1
        .wait_log("local link failure: deactivating LVS", sec(1.0))
        .is_some());
    assert!(wait_until(sec(2.0), || !t.has_vip(&t.r1)).is_some());
    let took = wait_until(sec(3.0), || t.has_vip(&t.r2)).expect("r2 never took over");
    assert!(
        took - down <= sec(0.4 + 0.1 + 1.0 + slack()),
        "{:?}",
        took - down
    );
    assert!(wait_until(sec(3.0), || t.ask().as_deref() == Some("r2")).is_some());
    must(&["ip", "-n", &t.r1, "link", "set", "dev", "eth0", "up"]);
    assert!(p1
        .wait_log("Local NIC link(s) restored: Pulse enabled", sec(2.0))
        .is_some());
    // no failback
    std::thread::sleep(sec(1.0));
    assert_eq!(p1.state().as_deref(), Some("inactive"));
    assert_eq!(p2.state().as_deref(), Some("active"));
}

#[test]
fn clean_stop_hands_over_at_once() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let (mut p1, p2) = pair(&t, "");
    let pidfile = p1.pidfile.clone();
    assert!(pidfile.exists());
    let sent = Instant::now();
    p1.signal(libc::SIGTERM);
    let took = wait_until(sec(2.0), || t.has_vip(&t.r2)).expect("r2 never took over");
    assert_eq!(p1.wait_exit(sec(3.0)), Some(0));
    assert!(
        p1.log()
            .iter()
            .any(|l| l == "pulse: Terminating due to signal 15"),
        "{:?}",
        p1.log()
    );
    // legacy mode: "leaving" is sent as "stopped" from a partner that was active
    assert!(
        p2.log()
            .iter()
            .any(|l| l.contains("primary inactive: activating lvs")),
        "{:?}",
        p2.log()
    );
    assert!(
        took - sent < sec(0.1 + slack()),
        "handover took {:?}",
        took - sent
    );
    assert!(!t.has_vip(&t.r1));
    assert!(!pidfile.exists(), "stale pid file");
    assert!(!p1.sock.exists(), "stale status socket");
}

/// Reliability catalogue FLT-P01 and FLT-P03 (docs/RELIABILITY.md).
#[test]
fn partition_and_heal_one_active_and_client_follows() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let (p1, p2) = pair(&t, "");
    // cut the heartbeat network only; the client still sees both routers
    must(&["ip", "-n", &t.hub, "link", "set", "dev", "r2hb", "down"]);
    assert!(wait_until(sec(3.0), || t.has_vip(&t.r2)).is_some());
    // during the partition both are active (documented 2-node limitation);
    // r2's ARPs move the client to r2
    assert!(wait_until(sec(3.0), || t.client_neigh() == t.mac(&t.r2, "eth1")).is_some());
    std::thread::sleep(sec(1.2));
    let healed = Instant::now();
    must(&["ip", "-n", &t.hub, "link", "set", "dev", "r2hb", "up"]);
    // exactly one active within 2 K (+ scheduling slack)
    let one = wait_until(sec(2.0), || !t.has_vip(&t.r2)).expect("r2 never stepped down");
    assert!(one - healed <= sec(0.2 + slack()), "{:?}", one - healed);
    assert!(t.has_vip(&t.r1));
    assert!(p1
        .wait_log("partner active: resending arps", sec(1.0))
        .is_some());
    // the client's neighbour entry follows the winner within 2 s
    assert!(
        wait_until(sec(2.0), || t.client_neigh() == t.mac(&t.r1, "eth1")).is_some(),
        "neigh {}",
        t.client_neigh()
    );
    assert!(wait_until(sec(2.0), || t.ask().as_deref() == Some("r1")).is_some());
    // no overlap after convergence
    assert_never_dual_active(&t, "after the heal");
    assert_eq!(p2.state().as_deref(), Some("inactive"));
}

/// Reliability catalogue FLT-P05 (docs/RELIABILITY.md).
#[test]
fn simultaneous_start_converges_to_primary() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = t.config("lvs.cf", K, D_SAFE, "");
    let standin = t.standin("lvsd", true, None);
    for round in 0..3 {
        let p2 = t.pulse(&t.r2, &format!("r2-{round}"), &cfg, &standin, &[]);
        let p1 = t.pulse(&t.r1, &format!("r1-{round}"), &cfg, &standin, &[]);
        // The dual-active gate's 10 s after a (re)start.
        let start = Instant::now();
        while start.elapsed() < sec(10.0) {
            assert!(
                !t.has_vip(&t.r2),
                "backup took the VIP at a simultaneous start (round {round})"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(t.has_vip(&t.r1), "round {round}: {:?}", p1.log());
        assert_eq!(p2.count("activating lvs"), 0, "{:?}", p2.log());
        p1.signal(libc::SIGKILL);
        p2.signal(libc::SIGKILL);
        drop(p1);
        drop(p2);
        sh(&[
            "ip",
            "-n",
            &t.r1,
            "addr",
            "del",
            &format!("{VIP}/24"),
            "dev",
            "eth1",
        ]);
    }
}

/// Reliability catalogue FLT-K02 (docs/RELIABILITY.md).
#[test]
fn lvsd_death_relinquishes_with_childfail() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = t.config("lvs.cf", K, D, "");
    let dying = t.standin("lvsd-dies", true, Some((1, 3)));
    let fine = t.standin("lvsd", true, None);
    let p1 = t.pulse(&t.r1, "r1", &cfg, &dying, &[]);
    assert!(p1.wait_state("active", sec(3.0)));
    let p2 = t.pulse(&t.r2, "r2", &cfg, &fine, &[]);
    assert!(
        p1.wait_log("exited with status 3", sec(3.0)).is_some(),
        "{:?}",
        p1.log()
    );
    let line = p1
        .log()
        .into_iter()
        .find(|l| l.contains("exited with status 3"))
        .unwrap_or_default();
    assert!(
        line.starts_with("pulse: Child process ") && line.ends_with(" exited with status 3"),
        "{line}"
    );
    assert!(
        p2.wait_log("primary inactive: activating lvs", sec(2.0))
            .is_some(),
        "{:?}",
        p2.log()
    );
    assert!(wait_until(sec(2.0), || t.has_vip(&t.r2) && !t.has_vip(&t.r1)).is_some());
    std::thread::sleep(sec(1.0));
    assert_eq!(p1.state().as_deref(), Some("inactive"));
    let st = p1.status().expect("status");
    // the partner answered "running": CHILDFAIL is cleared, but no failback
    assert_eq!(st["child_failure"], false);
    assert_eq!(p2.state().as_deref(), Some("active"));
}

/// Reliability catalogue FLT-K05 (docs/RELIABILITY.md).
#[test]
fn lvsd_never_ready_relinquishes() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = t.config("lvs.cf", K, D, "");
    let mute = t.standin("lvsd-mute", false, None);
    let p1 = t.pulse(&t.r1, "r1", &cfg, &mute, &["--lvsd-ready-timeout=0.5"]);
    assert!(
        p1.wait_log("did not report ready", sec(3.0)).is_some(),
        "{:?}",
        p1.log()
    );
    assert!(!t.has_vip(&t.r1), "VIP brought up without a ready lvsd");
    assert_eq!(p1.state().as_deref(), Some("inactive"));
}

/// Reliability catalogue FLT-R02 (docs/RELIABILITY.md).
#[test]
fn signals_reload_and_status_socket() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let (p1, p2) = pair(&t, "");
    // SIGUSR1/2: logged, ignored
    p1.signal(libc::SIGUSR1);
    p2.signal(libc::SIGUSR2);
    assert!(p1.wait_log("SIGUSR1 received: ignored", sec(1.0)).is_some());
    assert!(p2.wait_log("SIGUSR2 received: ignored", sec(1.0)).is_some());
    // SIGHUP on the active node: forwarded to lvsd
    p1.signal(libc::SIGHUP);
    assert!(
        p1.wait_log("lvsd-standin got HUP", sec(2.0)).is_some(),
        "{:?}",
        p1.log()
    );
    assert!(p1.wait_log("configuration reloaded", sec(1.0)).is_some());
    // SIGHUP on the inactive node: no storm
    p2.signal(libc::SIGHUP);
    assert!(p2.wait_log("configuration reloaded", sec(1.0)).is_some());
    std::thread::sleep(sec(0.5));
    assert_eq!(p2.count("configuration reloaded"), 1);
    // an invalid file: error with line and column, old config kept
    let cfg = t.path("lvs.cf");
    let good = std::fs::read_to_string(&cfg).unwrap_or_default();
    std::fs::write(&cfg, format!("{good}bogus_keyword = 1\n")).expect("write");
    p1.signal(libc::SIGHUP);
    assert!(
        p1.wait_log("keeping the previous one", sec(2.0)).is_some(),
        "{:?}",
        p1.log()
    );
    let err = p1
        .log()
        .into_iter()
        .find(|l| l.contains("error:"))
        .unwrap_or_default();
    assert!(err.contains("lvs.cf:") && err.contains(":1:"), "{err}");
    assert_eq!(p1.state().as_deref(), Some("active"));
    // The socket's reload answers with the reload's result (security
    // review 6: it used to say nothing of a refused file).
    let ans = p1.request(r#"{"cmd":"reload"}"#).expect("answer");
    assert_eq!(ans["ok"], false, "{ans}");
    let why = ans["error"].as_str().unwrap_or_default();
    assert!(why.contains("lvs.cf:") && why.contains("error:"), "{ans}");
    // reload over the status socket (we are root)
    std::fs::write(&cfg, &good).expect("write");
    let ans = p1.request(r#"{"cmd":"reload"}"#).expect("answer");
    assert_eq!(ans["ok"], true, "{ans}");
    let st = p1.request(r#"{"cmd":"status"}"#).expect("answer");
    assert_eq!(st["state"], "active");
    let bad = p1.request(r#"{"cmd":"shutdown"}"#).expect("answer");
    assert_eq!(bad["ok"], false);
    // The socket is 0660, group piranha (root's group where there is no
    // piranha group): a peer of that group may read; only root or the group
    // piranha may reload; anybody else cannot even connect.
    if std::process::Command::new("python3")
        .arg("-V")
        .output()
        .is_ok()
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        use std::os::unix::process::CommandExt;
        let meta = std::fs::metadata(&p1.sock).expect("socket");
        assert_eq!(meta.mode() & 0o777, 0o660);
        let group = meta.gid();
        let piranha = nix::unistd::Group::from_name("piranha")
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw());
        let script = format!(
            "import socket\ndef ask(req):\n    s=socket.socket(socket.AF_UNIX)\n    s.connect({:?})\n    f=s.makefile('rw')\n    f.write(req+'\\n'); f.flush()\n    return f.readline().strip()\nprint(ask('{{\"cmd\":\"status\"}}')); print(ask('{{\"cmd\":\"reload\"}}'))\n",
            p1.sock.display().to_string()
        );
        let _ = std::fs::set_permissions(&t.dir, std::fs::Permissions::from_mode(0o755));
        let run = |gid: u32| {
            std::process::Command::new("python3")
                .arg("-c")
                .arg(&script)
                .uid(65534)
                .gid(gid)
                .output()
                .expect("python3")
        };
        let o = run(group);
        let text = String::from_utf8_lossy(&o.stdout);
        let mut lines = text.lines();
        let st: serde_json::Value =
            serde_json::from_str(lines.next().unwrap_or("")).unwrap_or_default();
        assert_eq!(
            st["state"],
            "active",
            "{text} {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let ans: serde_json::Value =
            serde_json::from_str(lines.next().unwrap_or("")).unwrap_or_default();
        if piranha == Some(group) {
            assert_eq!(ans["ok"], true, "{text}");
        } else {
            assert_eq!(ans["ok"], false, "{text}");
            assert_eq!(ans["error"], "permission denied");
        }
        let outsider = run(65534);
        assert!(
            String::from_utf8_lossy(&outsider.stderr).contains("PermissionError"),
            "a peer outside the group connected: {}",
            String::from_utf8_lossy(&outsider.stdout)
        );
    }
    assert!(p1.status().is_some(), "still alive");
}

fn channel_up(p: &Pulse, name: &str) -> Option<bool> {
    let st = p.status()?;
    st["heartbeat"]["channels"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["up"].as_bool())
}

#[test]
fn p02_one_heartbeat_path_down_no_failover() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    t.add_private();
    let (p1, p2) = pair_with(
        &t,
        "primary_private = 198.51.100.1\nbackup_private = 198.51.100.2\n",
        K,
        D_SAFE,
    );
    assert!(
        wait_until(sec(1.0), || channel_up(&p2, "private") == Some(true)
            && channel_up(&p2, "public") == Some(true))
        .is_some()
    );
    // private path down: the public one carries on; the status shows it
    must(&["ip", "-n", &t.r1, "link", "set", "dev", "eth2", "down"]);
    assert!(
        wait_until(sec(2.0), || channel_up(&p2, "private") == Some(false)).is_some(),
        "{:?}",
        p2.status()
    );
    std::thread::sleep(sec(1.0));
    assert_eq!(channel_up(&p2, "public"), Some(true));
    must(&["ip", "-n", &t.r1, "link", "set", "dev", "eth2", "up"]);
    assert!(wait_until(sec(2.0), || channel_up(&p2, "private") == Some(true)).is_some());
    // the reverse: public path down, private carries on
    must(&["ip", "-n", &t.hub, "link", "set", "dev", "r2hb", "down"]);
    assert!(wait_until(sec(2.0), || channel_up(&p2, "public") == Some(false)).is_some());
    std::thread::sleep(sec(1.0));
    must(&["ip", "-n", &t.hub, "link", "set", "dev", "r2hb", "up"]);
    assert_eq!(p1.state().as_deref(), Some("active"));
    assert_eq!(p2.state().as_deref(), Some("inactive"));
    assert_eq!(p2.count("activating"), 0, "{:?}", p2.log());
    assert!(!t.has_vip(&t.r2));
}

#[test]
fn reload_while_active_moves_the_vip() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let (p1, _p2) = pair(&t, "");
    let cfg = t.path("lvs.cf");
    let text = std::fs::read_to_string(&cfg).unwrap_or_default();
    std::fs::write(
        &cfg,
        text.replace("203.0.113.100 eth1:1", "203.0.113.101 eth1:2"),
    )
    .expect("write");
    p1.signal(libc::SIGHUP);
    assert!(p1.wait_log("configuration reloaded", sec(2.0)).is_some());
    assert!(
        wait_until(sec(2.0), || {
            let a = out(&["ip", "-n", &t.r1, "-o", "addr", "show", "dev", "eth1"]);
            a.contains("203.0.113.101/24") && a.contains("eth1:2") && !a.contains("203.0.113.100/")
        })
        .is_some(),
        "{}",
        out(&["ip", "-n", &t.r1, "-o", "addr", "show", "dev", "eth1"])
    );
    assert_eq!(p1.state().as_deref(), Some("active"));
}

/// Reliability catalogue FLT-K05 (docs/RELIABILITY.md).
#[test]
fn sigterm_while_waiting_for_lvsd_exits_at_once() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = t.config("lvs.cf", K, D, "");
    let mute = t.standin("lvsd-mute", false, None);
    let mut p1 = t.pulse(&t.r1, "r1", &cfg, &mute, &[]);
    assert!(
        p1.wait_log("lvsd-standin", sec(3.0)).is_some(),
        "{:?}",
        p1.log()
    );
    let sent = Instant::now();
    p1.signal(libc::SIGTERM);
    assert_eq!(p1.wait_exit(sec(3.0)), Some(0));
    assert!(sent.elapsed() < sec(0.5 + slack()), "{:?}", sent.elapsed());
    assert!(!t.has_vip(&t.r1));
}

#[test]
fn test_start_runs_without_lvsd() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = t.config("lvs.cf", K, D, "");
    let missing = t.path("no-such-lvsd");
    let p1 = t.pulse(&t.r1, "r1", &cfg, &missing, &["-t"]);
    assert!(
        wait_until(sec(3.0), || t.has_vip(&t.r1)).is_some(),
        "{:?}",
        p1.log()
    );
    assert_eq!(p1.status().and_then(|s| s["lvsd_pid"].as_i64()), None);
}

#[test]
fn daemon_mode_pidfile_and_clean_exit() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = t.config("lvs.cf", K, D, "");
    let standin = t.standin("lvsd", true, None);
    let pidfile = t.path("d.pid");
    let sock = t.path("d.sock");
    let state = t.path("d-state");
    let st = std::process::Command::new("ip")
        .args(["netns", "exec", &t.r1, env!("CARGO_BIN_EXE_pulse"), "-c"])
        .arg(&cfg)
        .arg(format!("--lvsd={}", standin.display()))
        .arg(format!("--pidfile={}", pidfile.display()))
        .arg(format!("--status-socket={}", sock.display()))
        .arg(format!("--state-dir={}", state.display()))
        .env("LVS_PROGRAMS_FILE", t.path("no-lvs-programs"))
        .status()
        .expect("run pulse");
    assert!(st.success(), "the launching process exits 0");
    let pid = wait_until(sec(2.0), || pidfile.exists())
        .and_then(|_| std::fs::read_to_string(&pidfile).ok())
        .and_then(|s| s.trim().parse::<i32>().ok())
        .expect("pid file");
    assert!(wait_until(sec(3.0), || t.has_vip(&t.r1)).is_some());
    // the daemon is its own session leader's child, detached from us
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(stat.contains("(pulse)"), "{stat}");
    // PRIV-04: the pid file and the state are root's, mode <= 0644, the
    // state in a root-only directory; the status socket 0660.
    use std::os::unix::fs::MetadataExt;
    let mode = |p: &std::path::Path| {
        let m = std::fs::metadata(p).expect("stat");
        (m.uid(), m.mode() & 0o7777)
    };
    assert_eq!(mode(&pidfile), (0, 0o644));
    assert_eq!(mode(&state), (0, 0o700));
    assert_eq!(mode(&state.join("boot-counter")), (0, 0o644));
    assert_eq!(mode(&sock).1, 0o660);
    // SAFETY: kill(2).
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert!(
        wait_until(sec(3.0), || !pidfile.exists()).is_some(),
        "stale pid file"
    );
    assert!(wait_until(sec(2.0), || !t.has_vip(&t.r1)).is_some());
    assert!(!sock.exists());
}

#[test]
fn takeover_and_relinquish_order_with_commands() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    // commands must live in root-owned directories nobody else can write
    let dir = std::path::PathBuf::from(format!("/run/{}-cmds", t.id));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let marks = dir.join("marks");
    for name in ["active", "inactive"] {
        let p = dir.join(format!("{name}.sh"));
        std::fs::write(
            &p,
            format!("#!/bin/sh\necho {name} \"$@\" >> {}\n", marks.display()),
        )
        .expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let cfg = t.config(
        "lvs.cf",
        K,
        D,
        &format!(
            "active_cmd = \"{0}/active.sh a1\"\ninactive_cmd = \"{0}/inactive.sh i1\"\n",
            dir.display()
        ),
    );
    let programs = dir.join("lvs-programs");
    std::fs::write(
        &programs,
        format!(
            "# the two commands of this test\n{0}/active.sh a1\n{0}/inactive.sh i1\n",
            dir.display()
        ),
    )
    .expect("write allowlist");
    let standin = t.standin("lvsd", true, None);
    let mut p1 = t.pulse_with_programs(&t.r1, "r1", &cfg, &standin, &["-v"], &programs);
    assert!(
        p1.wait_log("gratuitous lvs arps finished", sec(8.0))
            .is_some(),
        "{:?}",
        p1.log()
    );
    let log = p1.log();
    let pos = |needle: &str| {
        log.iter()
            .position(|l| l.contains(needle))
            .unwrap_or(usize::MAX)
    };
    let order = [
        pos("Executing '"),
        pos("backup inactive: activating lvs").min(pos("partner dead: activating lvs")),
        pos(&format!("Executing '{}/active.sh a1'", dir.display())),
        pos("lvsd-standin"),
        pos("DEBUG -- added 203.0.113.100/24 on eth1:1"),
        pos("gratuitous lvs arps finished"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?} {log:#?}");
    p1.signal(libc::SIGTERM);
    assert_eq!(p1.wait_exit(sec(3.0)), Some(0));
    std::thread::sleep(sec(0.3));
    let m = std::fs::read_to_string(&marks).unwrap_or_default();
    assert_eq!(m, "inactive i1\nactive a1\ninactive i1\n");
    // a listed command in a world-writable directory is still refused
    std::fs::write(&programs, "/tmp/whatever.sh\n").expect("write allowlist");
    let cfg2 = t.config("lvs2.cf", K, D, "active_cmd = /tmp/whatever.sh\n");
    let p2 = t.pulse_with_programs(&t.r2, "r2", &cfg2, &standin, &[], &programs);
    assert!(
        p2.wait_log("active_cmd '/tmp/whatever.sh' not run:", sec(3.0))
            .is_some(),
        "{:?}",
        p2.log()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Security review, HIGH 1: the web tool's user writes lvs.cf (here by
/// hand, as uid 65534) naming a root-owned launcher followed by its own
/// program, or a shell with its own script. pulse runs as root and must
/// run neither, whatever the allowlist lists besides; a list that the user
/// could have edited allows nothing at all.
/// Reliability catalogue PRIV-02 (docs/RELIABILITY.md).
#[test]
fn lvs_cf_cannot_make_root_run_its_own_program() {
    if !can_run() {
        return;
    }
    use std::os::unix::fs::{chown, PermissionsExt};
    let t = Topo::new();
    let root_dir = std::path::PathBuf::from(format!("/run/{}-root", t.id));
    let user_dir = std::path::PathBuf::from(format!("/run/{}-user", t.id));
    for d in [&root_dir, &user_dir] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).expect("dir");
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    chown(&user_dir, Some(65534), Some(65534)).expect("chown");
    let evil = user_dir.join("evil.sh");
    let evil_mark = user_dir.join("evil-ran");
    let id_mark = user_dir.join("id-ran");
    std::fs::write(&evil, format!("#!/bin/sh\nid > {}\n", evil_mark.display())).expect("write");
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    chown(&evil, Some(65534), Some(65534)).expect("chown");
    let env = ["/usr/bin/env", "/bin/env"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("env");
    // The administrator allowed one fixed command line of env.
    let programs = root_dir.join("lvs-programs");
    std::fs::write(&programs, format!("{env} true\n")).expect("allowlist");
    let cfg = t.config(
        "lvs.cf",
        K,
        D,
        &format!(
            "active_cmd = \"{env} {}\"\ninactive_cmd = \"/bin/sh -c id>>{}\"\n",
            evil.display(),
            id_mark.display()
        ),
    );
    chown(&cfg, Some(65534), Some(65534)).expect("chown lvs.cf");
    let standin = t.standin("lvsd", true, None);
    let mut p1 = t.pulse_with_programs(&t.r1, "r1", &cfg, &standin, &[], &programs);
    assert!(
        p1.wait_log("gratuitous lvs arps finished", sec(8.0))
            .is_some(),
        "{:?}",
        p1.log()
    );
    p1.signal(libc::SIGTERM);
    assert_eq!(p1.wait_exit(sec(3.0)), Some(0));
    std::thread::sleep(sec(0.3));
    let log = p1.log();
    let refused = |key: &str| {
        log.iter().any(|l| {
            l.contains(&format!("{key} '"))
                && l.contains("not run:")
                && l.contains("is not listed in")
                && l.contains(&programs.display().to_string())
        })
    };
    assert!(refused("active_cmd"), "{log:#?}");
    assert!(refused("inactive_cmd"), "{log:#?}");
    assert!(!evil_mark.exists(), "evil.sh ran as root");
    assert!(!id_mark.exists(), "the shell ran as root");

    // The same file with a list the user owns: not even the listed
    // command runs.
    std::fs::write(&programs, format!("{env} {}\n", evil.display())).expect("allowlist");
    chown(&programs, Some(65534), Some(65534)).expect("chown list");
    let mut p2 = t.pulse_with_programs(&t.r2, "r2", &cfg, &standin, &[], &programs);
    assert!(
        p2.wait_log("is not trusted", sec(8.0)).is_some(),
        "{:?}",
        p2.log()
    );
    p2.signal(libc::SIGTERM);
    assert_eq!(p2.wait_exit(sec(3.0)), Some(0));
    assert!(!evil_mark.exists(), "evil.sh ran as root");
    let _ = std::fs::remove_dir_all(&root_dir);
    let _ = std::fs::remove_dir_all(&user_dir);
}

#[test]
fn ipv6_vip_added_and_removed() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let extra = "";
    let cfg = t.config("lvs.cf", K, D, extra);
    let text = std::fs::read_to_string(&cfg).unwrap_or_default();
    let six = "virtual six {\n     active = 1\n     address = 2001:db8::100 eth1\n     port = 8080\n     server s6 {\n         address = 2001:db8::50\n         active = 1\n     }\n}\n";
    std::fs::write(&cfg, format!("{text}{six}")).expect("write");
    let standin = t.standin("lvsd", true, None);
    let mut p1 = t.pulse(&t.r1, "r1", &cfg, &standin, &[]);
    let has6 = || {
        out(&["ip", "-n", &t.r1, "-6", "-o", "addr", "show", "dev", "eth1"])
            .contains("2001:db8::100/128")
    };
    assert!(wait_until(sec(3.0), has6).is_some(), "{:?}", p1.log());
    assert!(t.has_vip(&t.r1));
    p1.signal(libc::SIGTERM);
    assert_eq!(p1.wait_exit(sec(3.0)), Some(0));
    assert!(!has6());
    assert!(!t.has_vip(&t.r1));
}

#[test]
fn nat_router_address_follows_the_active_router() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = t.config("lvs.cf", K, D, "");
    let text = std::fs::read_to_string(&cfg).unwrap_or_default();
    std::fs::write(
        &cfg,
        text.replace(
            "network = direct",
            "network = nat\nnat_router = 203.0.113.254 eth1:9\nnat_nmask = 255.255.255.0",
        ),
    )
    .expect("write");
    let standin = t.standin("lvsd", true, None);
    let mut p1 = t.pulse(&t.r1, "r1", &cfg, &standin, &[]);
    let line = || {
        out(&["ip", "-n", &t.r1, "-o", "addr", "show", "dev", "eth1"])
            .lines()
            .find(|l| l.contains("203.0.113.254/24"))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        wait_until(sec(3.0), || !line().is_empty()).is_some(),
        "{:?}",
        p1.log()
    );
    assert!(
        line().contains("eth1:9") && line().contains("secondary"),
        "{}",
        line()
    );
    p1.signal(libc::SIGTERM);
    assert_eq!(p1.wait_exit(sec(3.0)), Some(0));
    assert!(line().is_empty());
}

/// K02: a real `kill -9` of lvsd on the active router (the process pulse
/// started, found through the status socket), timed: pulse notices within
/// 1 s (at once: it waits on the child), logs Piranha's line and
/// relinquishes with CHILDFAIL, and the backup serves within D + K + 1 s
/// (at once, in fact: a relinquish is not a silence).
#[test]
fn k02_lvsd_killed_is_noticed_within_a_second() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = t.config("lvs.cf", K, D, "");
    let standin = t.standin("lvsd", true, None);
    let p1 = t.pulse(&t.r1, "r1", &cfg, &standin, &[]);
    assert!(p1.wait_state("active", sec(3.0)), "{:?}", p1.log());
    let p2 = t.pulse(&t.r2, "r2", &cfg, &standin, &[]);
    assert!(
        wait_until(sec(3.0), || p2.status().is_some_and(|s| s["state"]
            == "inactive"
            && s["partner"]["state"] == "active"))
        .is_some()
    );
    let pid = wait_until(sec(3.0), || {
        p1.status().and_then(|s| s["lvsd_pid"].as_i64()).is_some()
    })
    .and_then(|_| p1.status())
    .and_then(|s| s["lvsd_pid"].as_i64())
    .expect("lvsd pid on the status socket") as i32;
    let t0 = std::time::Instant::now();
    // SAFETY: kill(2) on the pid pulse reported for its own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let noticed = p1
        .wait_log("terminated with signal 9", sec(2.0))
        .map(|at| at.saturating_duration_since(t0));
    let served = wait_until(sec(2.0), || t.has_vip(&t.r2) && !t.has_vip(&t.r1))
        .map(|at| at.saturating_duration_since(t0));
    println!(
        "FIGURE K02 lvsd kill -9: noticed after {noticed:?}, backup holds the VIP after {served:?}"
    );
    let noticed = noticed.unwrap_or_else(|| panic!("not noticed: {:?}", p1.log()));
    assert!(noticed < sec(1.0), "noticed after {noticed:?}");
    let served = served.expect("the backup did not take over");
    // The backup takes over on the relinquish, at the primary's next
    // heartbeat (no deadtime wait): well within D + K + 1 s.
    assert!(served < sec(0.4 + 0.1 + 1.0), "backup after {served:?}");
    let line = p1
        .log()
        .into_iter()
        .find(|l| l.contains("terminated with signal 9"))
        .unwrap_or_default();
    assert!(
        line.starts_with(&format!("pulse: Child process {pid} ")),
        "{line}"
    );
    assert_eq!(p1.state().as_deref(), Some("inactive"));
}

/// Reliability catalogue CFG-V10 (docs/RELIABILITY.md): a value of lvs.cf
/// long enough to make a log line over 8 KiB (an `active_cmd` of 8,000
/// bytes of two-byte characters that root did not list, so pulse logs it
/// whole in its refusal) is cut safely at a character boundary with a note
/// of what was cut, and pulse goes on to take over and stops cleanly.
#[test]
fn a_log_line_from_a_huge_lvs_cf_value_is_cut_and_pulse_runs_on() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let long = "é".repeat(4000);
    let cfg = t.config(
        "lvs-long.cf",
        K,
        D,
        &format!("active_cmd = \"/bin/true {long}\"\n"),
    );
    let standin = t.standin("lvsd", true, None);
    let mut p1 = t.pulse(&t.r1, "r1", &cfg, &standin, &[]);
    assert!(
        p1.wait_log("gratuitous lvs arps finished", sec(8.0))
            .is_some(),
        "{:?}",
        p1.log().iter().map(|l| l.len()).collect::<Vec<_>>()
    );
    let log = p1.log();
    let refusal = log
        .iter()
        .find(|l| l.contains("active_cmd '/bin/true é"))
        .unwrap_or_else(|| {
            panic!(
                "no refusal logged: {:?}",
                log.iter()
                    .map(|l| &l[..l.len().min(120)])
                    .collect::<Vec<_>>()
            )
        });
    assert!(
        refusal.contains("more bytes not logged]"),
        "the refusal was not cut: {} bytes",
        refusal.len()
    );
    // The harness reads the lines as UTF-8: a cut inside a character would
    // have shown as U+FFFD.
    assert!(!refusal.contains('\u{FFFD}'), "cut inside a character");
    let longest = log.iter().map(|l| l.len()).max().unwrap_or(0);
    assert!(
        longest <= daemon_kit::log::MAX_MESSAGE + 200,
        "a log line of {longest} bytes"
    );
    p1.signal(libc::SIGTERM);
    assert_eq!(p1.wait_exit(sec(3.0)), Some(0));
}

/// One request line to the Unix socket `sock` sent by a process running as
/// uid and gid 65534 (nobody); its answer, or the error of the connect.
fn request_as_nobody(sock: &std::path::Path, line: &str) -> String {
    let script = "import socket,sys\n\
s=socket.socket(socket.AF_UNIX)\n\
try:\n  s.connect(sys.argv[1])\n\
except OSError as e:\n  print('connect:', e.strerror); sys.exit(0)\n\
s.sendall((sys.argv[2]+'\\n').encode()); s.settimeout(5)\n\
print(s.makefile().readline().strip())\n";
    // setpriv (util-linux) drops root's supplementary groups too.
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            script,
        ])
        .arg(sock)
        .arg(line)
        .output()
        .expect("setpriv and python3");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Reliability catalogue PRIV-06 (docs/RELIABILITY.md), with the real
/// pulse: its status socket (mode 0660) refuses a connection from a user
/// outside the group piranha; and even through a socket an administrator
/// opened to everyone (mode 0666) such a user gets the status but its
/// reload is refused ("permission denied", decided on the peer's
/// credentials) and pulse does not reload, while root's reload is done.
#[test]
fn a_user_outside_the_group_cannot_reload_pulse() {
    if !can_run() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let t = Topo::new();
    std::fs::set_permissions(&t.dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let cfg = t.config("lvs.cf", K, D, "");
    let standin = t.standin("lvsd", true, None);
    let p1 = t.pulse(&t.r1, "r1", &cfg, &standin, &[]);
    assert!(p1.wait_state("active", sec(8.0)), "{:?}", p1.log());
    let mode = std::fs::metadata(&p1.sock)
        .expect("stat")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o660);
    let refused = request_as_nobody(&p1.sock, r#"{"cmd":"reload"}"#);
    assert!(refused.starts_with("connect:"), "{refused}");
    std::fs::set_permissions(&p1.sock, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let status = request_as_nobody(&p1.sock, r#"{"cmd":"status"}"#);
    assert!(status.contains(r#""state":"active""#), "{status}");
    let reload = request_as_nobody(&p1.sock, r#"{"cmd":"reload"}"#);
    assert!(reload.contains("permission denied"), "{reload}");
    std::thread::sleep(sec(0.3));
    assert_eq!(p1.count("configuration reloaded"), 0, "{:?}", p1.log());
    let root = p1.request(r#"{"cmd":"reload"}"#);
    assert!(
        root.as_ref()
            .is_some_and(|v| v.to_string().contains("done") || v["ok"] == true),
        "{root:?}"
    );
    assert!(p1.wait_log("configuration reloaded", sec(2.0)).is_some());
}

/// Reliability catalogue FLT-P05, the reload during the election: both
/// routers start at once and both get SIGHUP three times while they are
/// still deciding (within the first deadtime; the first one 50 ms after
/// the start, before pulse's handlers exist: it used to kill pulse by
/// SIGHUP's default action); they converge to the primary, the backup
/// never takes the VIP in the 10 s after, and both reloaded.
#[test]
fn a_reload_during_the_election_changes_nothing() {
    if !can_run() {
        return;
    }
    let t = Topo::new();
    let cfg = t.config("lvs.cf", K, D_SAFE, "");
    let standin = t.standin("lvsd", true, None);
    let p2 = t.pulse(&t.r2, "r2", &cfg, &standin, &[]);
    let p1 = t.pulse(&t.r1, "r1", &cfg, &standin, &[]);
    let start = Instant::now();
    for at in [0.05, 0.2, 0.5] {
        let wait = sec(at).saturating_sub(start.elapsed());
        std::thread::sleep(wait);
        p1.signal(libc::SIGHUP);
        p2.signal(libc::SIGHUP);
    }
    while start.elapsed() < sec(10.5) {
        assert!(
            !t.has_vip(&t.r2),
            "the backup took the VIP after a reload during the election: {:?}",
            p2.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(t.has_vip(&t.r1), "{:?}", p1.log());
    assert_eq!(p1.state().as_deref(), Some("active"));
    assert_eq!(p2.state().as_deref(), Some("inactive"));
    assert_eq!(p2.count("activating lvs"), 0, "{:?}", p2.log());
    // SIGHUPs that come before the loop's handlers wait and coalesce (one
    // pending of each kind): at least one reload, never a death.
    for p in [&p1, &p2] {
        let n = p.count("configuration reloaded");
        assert!((1..=3).contains(&n), "{n} reloads: {:?}", p.log());
    }
}
