//! FLT-K04: kill -9 of the GUI during a save, at a random point, 1000 times.
//!
//! Each trial forks a child that runs the GUI's own save path
//! ([`Store::save_blocking_with`]: lock, read, edit, serial bump, atomic
//! write) with the real filesystem calls wrapped by [`KillAt`], which sends
//! the child SIGKILL just before or just after one chosen step, or half-way
//! through writing the temporary file. The hook exists only in this test
//! binary: the server is built with the plain [`OsSave`] calls.
//!
//! After each kill, lvs.cf must be exactly the old or the new version (the
//! old one when the kill came before the rename, the new one after), and
//! after the "next start" ([`Store::clean_stale_temps`], what `main` runs
//! before serving) no temporary file may remain. Finally the real
//! `piranha-web` binary is started next to a killed save's leftover and must
//! remove it. One test in this file: forking is only safe while no other
//! test thread of this binary is running.

mod common;

use lvscf_parser::{Document, Target};
use lvscf_store::{is_temp_name, Existing, OsSave, SaveOps, SaveStep};
use piranha_web::store::{Expect, Store};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TRIALS: usize = 1000;

/// The writer's steps, in order ([`write_atomic_with`]'s sequence).
const STEPS: [SaveStep; 8] = SaveStep::ALL;

/// Kill points: before step i (2i), after step i (2i+1), and half-way
/// through the write.
const POINTS: usize = 2 * STEPS.len() + 1;
const MID_WRITE: usize = 2 * STEPS.len();

fn describe(point: usize) -> String {
    match point {
        MID_WRITE => "half-way through write".into(),
        p if p % 2 == 0 => format!("before {:?}", STEPS[p / 2]),
        p => format!("after {:?}", STEPS[p / 2]),
    }
}

/// Whether a kill at `point` comes after the rename (so the new file is in
/// place).
fn after_rename(point: usize) -> bool {
    let rename = STEPS
        .iter()
        .position(|s| *s == SaveStep::Rename)
        .unwrap_or(0);
    point != MID_WRITE && point > 2 * rename
}

/// The real filesystem calls, with SIGKILL at one point.
struct KillAt {
    point: usize,
    step: usize,
}

fn die() -> ! {
    // SAFETY: signals ourselves; no memory is involved. SIGKILL cannot be
    // caught, so nothing of ours runs after it: exactly kill -9.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
        libc::_exit(99)
    }
}

impl KillAt {
    fn around<T>(&mut self, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        let i = self.step;
        self.step += 1;
        if self.point == 2 * i {
            die();
        }
        let r = f();
        if self.point == 2 * i + 1 {
            die();
        }
        r
    }
}

impl SaveOps for KillAt {
    type File = std::fs::File;
    fn inspect(&mut self, p: &Path) -> io::Result<Existing> {
        self.around(|| OsSave.inspect(p))
    }
    fn create_temp(&mut self, p: &Path) -> io::Result<std::fs::File> {
        self.around(|| OsSave.create_temp(p))
    }
    fn write_all(&mut self, f: &mut std::fs::File, b: &[u8]) -> io::Result<()> {
        if self.point == MID_WRITE {
            OsSave.write_all(f, &b[..b.len() / 2])?;
            die();
        }
        self.around(|| OsSave.write_all(f, b))
    }
    fn set_owner(&mut self, f: &mut std::fs::File, u: u32, g: u32) -> io::Result<()> {
        self.around(|| OsSave.set_owner(f, u, g))
    }
    fn set_mode(&mut self, f: &mut std::fs::File, m: u32) -> io::Result<()> {
        self.around(|| OsSave.set_mode(f, m))
    }
    fn sync_file(&mut self, f: &mut std::fs::File) -> io::Result<()> {
        self.around(|| OsSave.sync_file(f))
    }
    fn rename(&mut self, a: &Path, b: &Path) -> io::Result<()> {
        self.around(|| OsSave.rename(a, b))
    }
    fn sync_dir(&mut self, d: &Path) -> io::Result<()> {
        self.around(|| OsSave.sync_dir(d))
    }
    fn remove(&mut self, p: &Path) -> io::Result<()> {
        OsSave.remove(p)
    }
}

/// xorshift64*: reproducible trials from a printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// The GUI's edit of one trial: the port of virtual `web`.
fn edit(doc: &mut Document, port: u16) -> Result<(), piranha_web::forms::FieldErrors> {
    doc.set(&Target::Virtual("web".into()), "port", &port.to_string())
        .map_err(|e| piranha_web::forms::FieldErrors::general(e.to_string()))
}

/// What the save must produce from `old` (the oracle, computed here from
/// the parser's edit API rather than by the code under test).
fn expected_new(old: &[u8], port: u16) -> Vec<u8> {
    let mut doc = Document::parse("lvs.cf", old.to_vec());
    let serial = doc.config().serial_no;
    edit(&mut doc, port).expect("edit");
    doc.set(&Target::Global, "serial_no", &(serial + 1).to_string())
        .expect("serial");
    doc.as_bytes().to_vec()
}

/// Runs one save in a forked child killed at `point`; returns how it ended.
fn author() -> piranha_web::store::Author {
    piranha_web::store::Author {
        who: "test".into(),
        from: "kill_during_save".into(),
        why: String::new(),
    }
}

fn killed_save(path: &Path, serial: u64, port: u16, point: usize) -> libc::c_int {
    // SAFETY: fork in a process whose only other thread is the test
    // harness's, which is blocked waiting for this test; the child only
    // runs the save (glibc's malloc is fork-safe) and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
    if pid == 0 {
        let code = std::panic::catch_unwind(|| {
            let store = Store::new(path);
            let mut ops = KillAt { point, step: 0 };
            match store.save_blocking_with(&mut ops, &Expect::Serial(serial), &author(), |d| {
                edit(d, port)
            }) {
                Ok(_) => 0,
                Err(_) => 1,
            }
        })
        .unwrap_or(2);
        // SAFETY: leaves the child without running the harness's code.
        unsafe { libc::_exit(code) }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut status = 0;
        // SAFETY: waits for our own child.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            return status;
        }
        assert!(rc == 0, "waitpid: {}", io::Error::last_os_error());
        if Instant::now() > deadline {
            // SAFETY: our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the save at {} hung", describe(point));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn temps(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("list")
        .flatten()
        .filter(|e| is_temp_name("lvs.cf", &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect()
}

#[test]
fn fltk04_kill_9_during_saves() {
    let dir = common::tempdir("kill9");
    let path = dir.join("lvs.cf");
    std::fs::write(&path, common::LVS_CF).expect("write lvs.cf");
    let seed = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    eprintln!("fltk04: seed {seed} (KILL_SEED={seed} repeats this run)");
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut hits = [0usize; POINTS];
    let (mut olds, mut news, mut leftovers) = (0, 0, 0);
    for trial in 0..TRIALS {
        let old = std::fs::read(&path).expect("read lvs.cf");
        let serial = Document::parse("lvs.cf", old.clone()).config().serial_no;
        let port = 1000 + (trial % 60000) as u16;
        let new = expected_new(&old, port);
        let point = rng.below(POINTS);
        hits[point] += 1;
        let status = killed_save(&path, serial, port, point);
        let what = describe(point);
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL,
            "trial {trial} ({what}): the child was not killed (status {status:#x})"
        );
        let now = std::fs::read(&path).expect("lvs.cf exists after the kill");
        let want = if after_rename(point) { &new } else { &old };
        assert!(
            now == *want,
            "trial {trial}, kill {what}: lvs.cf is {} (old: {}, new: {})",
            String::from_utf8_lossy(&now),
            now == old,
            now == new
        );
        if now == old {
            olds += 1;
        } else {
            news += 1;
        }
        // The next start removes what the killed save left.
        if !temps(&dir).is_empty() {
            leftovers += 1;
        }
        Store::new(&path).clean_stale_temps().expect("clean");
        assert_eq!(temps(&dir), Vec::<PathBuf>::new(), "trial {trial}");
    }
    let took = started.elapsed();
    eprintln!(
        "fltk04: {TRIALS} kills in {took:?}: {olds} left the old file, {news} the new one, {leftovers} left a temporary file that the next start removed"
    );
    for (p, n) in hits.iter().enumerate() {
        assert!(*n > 0, "no trial killed the save {}", describe(p));
    }
    assert!(olds > 0 && news > 0 && leftovers > 0);

    // The real binary removes a killed save's leftover when it starts.
    let point = 2 * STEPS
        .iter()
        .position(|s| *s == SaveStep::Rename)
        .unwrap_or(0);
    let old = std::fs::read(&path).expect("read");
    let serial = Document::parse("lvs.cf", old.clone()).config().serial_no;
    killed_save(&path, serial, 4242, point);
    let left = temps(&dir);
    assert_eq!(left.len(), 1, "{left:?}");
    let none = dir.join("none");
    let args = [
        "--config".as_ref(),
        path.as_os_str(),
        "--passwd-file".as_ref(),
        none.as_os_str(),
    ];
    // Started means it listens: the clean-up comes before.
    let log = common::Gui::start(&args, None, true)
        .expect("piranha-web starts")
        .stop();
    assert!(log.contains("interrupted save"), "{log}");
    assert_eq!(temps(&dir), Vec::<PathBuf>::new(), "{log}");
    assert_eq!(std::fs::read(&path).expect("read"), old);
    let _ = std::fs::remove_dir_all(&dir);
}
