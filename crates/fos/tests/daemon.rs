//! The fos binary against real programs: the order of stop_cmd and
//! start_cmd, the exit that notifies pulse, SIGTERM running stop_cmd, the
//! exec policy refusing an unlisted command, and the monitor exiting when
//! a nanny ends. Needs root: programs run for lvs.cf must be root-owned,
//! in root-owned directories (`/run` here).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Option<Dir> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            test_support::skip(tag, "needs root (programs must be root-owned)");
            return None;
        }
        let d = PathBuf::from(format!("/run/fos-test-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Some(Dir(d))
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    fn marks(&self) -> String {
        std::fs::read_to_string(self.0.join("marks")).unwrap_or_default()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(d: &Dir, blocks: &str) -> PathBuf {
    d.file(
        "lvs.cf",
        &format!(
            "serial_no = 1\nprimary = 192.0.2.1\nbackup = 192.0.2.2\nbackup_active = 1\nservice = fos\n{blocks}"
        ),
    )
}

fn block(name: &str, start: &Path, stop: &Path) -> String {
    format!(
        "failover {name} {{\n active = 1\n address = 192.0.2.100 eth0:1\n port = 8081\n timeout = 1\n\
         start_cmd = \"{} {name}\"\n stop_cmd = \"{} {name}\"\n}}\n",
        start.display(),
        stop.display()
    )
}

struct Fos {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Fos {
    fn start(d: &Dir, args: &[&str], programs: &Path) -> Fos {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fos"))
            .args(args)
            .arg("-n")
            .arg("-c")
            .arg(d.0.join("lvs.cf"))
            .env("LVS_PROGRAMS_FILE", programs)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fos");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for s in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for l in BufReader::new(s).lines().map_while(Result::ok) {
                    if let Ok(mut v) = lines.lock() {
                        v.push(l);
                    }
                }
            });
        }
        Fos { child, lines }
    }

    fn log(&self) -> Vec<String> {
        self.lines.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn wait_log(&self, needle: &str, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if self.log().iter().any(|l| l.contains(needle)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our child.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Fos {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// stop_cmd then start_cmd per service; SIGTERM runs stop_cmd and ends
/// the foreground service; a service that dies makes fos exit 1 with
/// Piranha's "will now exit to notify pulse...".
#[test]
fn active_runs_stop_then_start_and_stop_on_sigterm() {
    let Some(d) = Dir::new("active") else { return };
    let marks = d.0.join("marks");
    let start = d.script(
        "start.sh",
        &format!("echo start $1 >> {0}\nexec sleep 60", marks.display()),
    );
    let stop = d.script("stop.sh", &format!("echo stop $1 >> {}", marks.display()));
    config(
        &d,
        &(block("a", &start, &stop) + &block("b", &start, &stop)),
    );
    let programs = d.file(
        "lvs-programs",
        &format!("{0} *\n{1} *\n", start.display(), stop.display()),
    );
    let mut f = Fos::start(&d, &["--active"], &programs);
    assert!(
        wait_for(Duration::from_secs(5), || d.marks().lines().count() == 4),
        "{:?} {:?}",
        d.marks(),
        f.log()
    );
    assert_eq!(d.marks(), "stop a\nstart a\nstop b\nstart b\n");
    f.signal(libc::SIGTERM);
    assert_eq!(
        f.wait_exit(Duration::from_secs(8)),
        Some(0),
        "{:?}",
        f.log()
    );
    assert_eq!(
        d.marks(),
        "stop a\nstart a\nstop b\nstart b\nstop a\nstop b\n"
    );
    assert!(f
        .log()
        .iter()
        .any(|l| l == "fos: Terminating due to signal 15"));

    // a foreground service killed: fos exits to notify pulse
    std::fs::remove_file(&marks).expect("rm marks");
    let mut f = Fos::start(&d, &["--active"], &programs);
    assert!(wait_for(Duration::from_secs(5), || d
        .marks()
        .lines()
        .count()
        == 4));
    let pids = String::from_utf8_lossy(
        &Command::new("pgrep")
            .args(["-P", &f.child.id().to_string()])
            .output()
            .expect("pgrep")
            .stdout,
    )
    .into_owned();
    let first: i32 = pids
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a start_cmd child");
    // SAFETY: kill(2) on a child of our child.
    unsafe { libc::kill(first, libc::SIGKILL) };
    assert_eq!(
        f.wait_exit(Duration::from_secs(5)),
        Some(1),
        "{:?}",
        f.log()
    );
    assert!(
        f.log()
            .iter()
            .any(|l| l.contains("terminated with signal 9: will now exit to notify pulse...")),
        "{:?}",
        f.log()
    );
}

/// Issue 18 item 1 for failover services: a command that the root-owned
/// allowlist does not list is not run, and the log says why.
#[test]
fn active_refuses_unlisted_commands() {
    let Some(d) = Dir::new("refuse") else { return };
    let marks = d.0.join("marks");
    let start = d.script("start.sh", &format!("echo start $1 >> {}", marks.display()));
    let stop = d.script("stop.sh", &format!("echo stop $1 >> {}", marks.display()));
    config(&d, &block("web", &start, &stop));
    // only stop is listed
    let programs = d.file("lvs-programs", &format!("{} web\n", stop.display()));
    let mut f = Fos::start(&d, &["--active"], &programs);
    let want = format!(
        "failover `web`: start_cmd '{} web' not run: ",
        start.display()
    );
    assert!(f.wait_log(&want, Duration::from_secs(5)), "{:?}", f.log());
    assert!(f.log().iter().any(|l| l.contains("is not listed in")));
    assert_eq!(d.marks(), "stop web\n");
    f.signal(libc::SIGTERM);
    assert_eq!(f.wait_exit(Duration::from_secs(5)), Some(0));
    assert_eq!(d.marks(), "stop web\nstop web\n");
}

/// The monitor runs one nanny per service (here a stand-in that records its
/// argv) and exits 0 when one ends; SIGTERM ends the nannies.
#[test]
fn monitor_exits_when_a_nanny_ends() {
    let Some(d) = Dir::new("monitor") else { return };
    let marks = d.0.join("marks");
    let start = d.script("start.sh", "true");
    let nanny = d.script(
        "nanny.sh",
        &format!(
            "echo \"$@\" >> {}\ncase \"$*\" in *8082*) sleep 1; exit 0;; esac\nexec sleep 60",
            marks.display()
        ),
    );
    let b2 = block("b", &start, &start).replace("8081", "8082");
    config(&d, &(block("a", &start, &start) + &b2));
    let none = d.0.join("no-programs");
    let nanny_arg = format!("--nanny={}", nanny.display());
    let mut f = Fos::start(&d, &["--monitor", &nanny_arg], &none);
    assert_eq!(
        f.wait_exit(Duration::from_secs(6)),
        Some(0),
        "{:?}",
        f.log()
    );
    let m = d.marks();
    assert!(
        m.contains("--nodaemon -h 192.0.2.100 -p 8081 -t 1 --fos"),
        "{m}"
    );
    assert!(m.contains("-p 8082"), "{m}");
    assert!(
        f.log()
            .iter()
            .any(|l| l.contains("nanny for failover `b`") && l.contains("exited with status 0")),
        "{:?}",
        f.log()
    );
    // the other nanny was ended with fos
    assert!(wait_for(Duration::from_secs(3), || {
        !String::from_utf8_lossy(
            &Command::new("pgrep")
                .args(["-f", &nanny.display().to_string()])
                .output()
                .expect("pgrep")
                .stdout,
        )
        .contains(char::is_numeric)
    }));

    // SIGTERM: nannies ended, exit 0, nothing reported as a failure
    let b2 = block("b", &start, &start).replace("8081", "8083");
    config(&d, &(block("a", &start, &start) + &b2));
    let mut f = Fos::start(&d, &["--monitor", &nanny_arg], &none);
    assert!(wait_for(Duration::from_secs(3), || d
        .marks()
        .contains("8083")));
    f.signal(libc::SIGTERM);
    assert_eq!(f.wait_exit(Duration::from_secs(8)), Some(0));
    assert!(
        !f.log().iter().any(|l| l.contains("notify pulse")),
        "{:?}",
        f.log()
    );
}

#[test]
fn no_active_failover_is_refused() {
    let Some(d) = Dir::new("none") else { return };
    config(&d, "failover x {\n active = 0\n}\n");
    let mut f = Fos::start(&d, &["--active"], &d.0.join("none"));
    assert_eq!(f.wait_exit(Duration::from_secs(5)), Some(1));
    assert!(f
        .log()
        .iter()
        .any(|l| l.starts_with("fos: no active fos services defined in")));
}
