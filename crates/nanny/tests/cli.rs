//! Piranha's single-server command line (nanny's option letters).

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn nanny(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nanny"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn errors_like_piranha() {
    let o = nanny(&["--lvs"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "nanny: No address supplied. Use '--help' for help.\n"
    );
    let o = nanny(&["-h", "10.0.0.300", "--lvs"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "nanny: bad IP address -- 10.0.0.300\n"
    );
    let o = nanny(&["-h", "10.0.0.3"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "nanny: unknown service type\n"
    );
    let o = nanny(&["-h", "10.0.0.3", "--lvs", "--bogus"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("nanny: "));
    assert!(o.stdout.is_empty());
    let o = nanny(&["--version"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("Program Version:\t"));
    let o = nanny(&["--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("--send_program"));
}

#[test]
fn single_server_run_prints_piranha_lines_and_json() {
    let s = Server::reply(b"HTTP/1.0 200 OK\r\n\r\n");
    let port = s.addr.port().to_string();
    let ip = s.addr.ip().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nanny"))
        .args([
            "-c",
            "-h",
            &ip,
            "-p",
            "80",
            "-r",
            &port,
            "-a",
            "1",
            "-I",
            "/sbin/ipvsadm",
            "-t",
            "1",
            "-w",
            "3",
            "-V",
            "10.0.0.100",
            "-M",
            "m",
            "--nodaemon",
            "--test-start",
            "--lvs",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["state"], "up");
    assert_eq!(v["weight"], 1);
    assert_eq!(v["server"], ip.as_str());
    // server goes away: down within a timeout
    s.stop();
    let t = Instant::now();
    let v = loop {
        line.clear();
        out.read_line(&mut line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["event"].is_null() {
            break v;
        }
        assert_eq!(v["event"], "initial-round-done");
    };
    assert_eq!(v["state"], "down");
    assert!(t.elapsed() < Duration::from_millis(2500));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    assert!(st.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let hp = format!("{ip}:{port}");
    for want in [
        format!("nanny: starting LVS client monitor for 10.0.0.100:80 -> {hp}"),
        "nanny: no monitor configured, assuming web service on port 80".to_string(),
        format!("nanny: [ active ] making {hp} available"),
        format!("nanny: not run (lvsd programs the kernel): /sbin/ipvsadm -a -t 10.0.0.100:80 -r {hp} -m -w 1"),
        format!("nanny: [inactive] shutting down {hp} due to connection failure"),
        format!("nanny: not run (lvsd programs the kernel): /sbin/ipvsadm -d -t 10.0.0.100:80 -r {hp}"),
        "nanny: Terminating due to signal 15".to_string(),
    ] {
        assert!(err.contains(&want), "missing {want:?} in:\n{err}");
    }
}

#[test]
fn fos_mode_exits_like_piranha() {
    // never available: two failed probes -> exit 1
    let dead = refused();
    let t = Instant::now();
    let o = nanny(&[
        "-h",
        &dead.ip().to_string(),
        "-p",
        &dead.port().to_string(),
        "-t",
        "1",
        "-n",
        "--fos",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(t.elapsed() < Duration::from_secs(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Timeout waiting for remote service -- triggering failover!"),
        "{err}"
    );
    // available then gone: exit 0
    let s = Server::hang();
    let a = s.addr;
    let child = Command::new(env!("CARGO_BIN_EXE_nanny"))
        .args([
            "-h",
            &a.ip().to_string(),
            "-p",
            &a.port().to_string(),
            "-t",
            "1",
            "-n",
            "--fos",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    s.stop();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("Remote service {a} is available")),
        "{err}"
    );
    assert!(
        err.contains(&format!("Exiting due to connection failure of {a}")),
        "{err}"
    );
}
