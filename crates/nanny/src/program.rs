//! Running external programs (send_program, load monitor) without a shell,
//! bounded in time and output, killed with their whole process group.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Process groups of programs currently running (for SIGTERM cleanup).
static RUNNING: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Exited with this status.
    Code(i32),
    /// Killed by this signal (not by us).
    Signal(i32),
    /// Still running at the deadline: killed with its process group.
    TimedOut,
    /// Could not be started.
    SpawnFailed(String),
    /// Refused by the ownership rule ([`exec_policy::trust`]).
    Untrusted(String),
}

/// Result of [`run`].
#[derive(Debug, Clone)]
pub struct Run {
    /// How it ended.
    pub exit: Exit,
    /// The first `max_output` bytes of its stdout.
    pub output: Vec<u8>,
    /// More output than `max_output` was produced (and discarded).
    pub truncated: bool,
}

struct Group(i32);

impl Drop for Group {
    fn drop(&mut self) {
        kill_group(self.0);
        if let Ok(mut g) = RUNNING.lock() {
            if let Some(s) = g.as_mut() {
                s.remove(&self.0);
            }
        }
    }
}

fn kill_group(pgid: i32) {
    if pgid > 1 {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Kill every running program's process group (at termination). Returns the
/// process group ids that were signalled.
pub fn kill_all() -> Vec<i32> {
    let pg: Vec<i32> = RUNNING
        .lock()
        .ok()
        .and_then(|g| g.as_ref().map(|s| s.iter().copied().collect()))
        .unwrap_or_default();
    for p in &pg {
        kill_group(*p);
    }
    pg
}

/// The exec policy for one set of checks: the allowlist read once (when
/// the checks are set up), one decision per distinct command line.
pub struct Programs {
    policy: exec_policy::Policy,
    decided: HashMap<String, Result<PathBuf, exec_policy::Refusal>>,
}

impl Programs {
    /// Reads the allowlist in force ([`exec_policy::allowlist_path`]).
    pub fn load() -> Programs {
        Programs::with_policy(exec_policy::Policy::load())
    }

    /// Decisions against `policy`.
    pub fn with_policy(policy: exec_policy::Policy) -> Programs {
        Programs {
            policy,
            decided: HashMap::new(),
        }
    }

    /// The real path to execute for `template` (a command line as
    /// configured), or why it may not run.
    pub fn decide(&mut self, template: &str) -> Result<PathBuf, exec_policy::Refusal> {
        if let Some(d) = self.decided.get(template) {
            return d.clone();
        }
        let d = self.policy.check(template).map(|a| a.program);
        self.decided.insert(template.to_string(), d.clone());
        d
    }
}

/// Run `program` (approved by [`Programs`]) with `argv` (`argv[0]` as
/// configured) with no shell, stdin and stderr on /dev/null, stdout
/// captured up to `max_output` bytes and drained beyond that, in its own
/// process group. The ownership rule is checked again just before (the file
/// may have changed since it was approved). At `timeout` the whole group is
/// SIGKILLed; when the program exits, whatever it left behind in its group
/// is killed too.
pub async fn run(program: &Path, argv: &[String], timeout: Duration, max_output: usize) -> Run {
    let deadline = tokio::time::Instant::now() + timeout;
    let fail = |exit| Run {
        exit,
        output: Vec::new(),
        truncated: false,
    };
    let Some(arg0) = argv.first() else {
        return fail(Exit::SpawnFailed("empty command".into()));
    };
    let real = match exec_policy::trust::trusted_program(program) {
        Ok(p) => p,
        Err(why) => return fail(Exit::Untrusted(format!("refusing to run {arg0}: {why}"))),
    };
    let mut cmd = tokio::process::Command::new(&real);
    cmd.arg0(arg0)
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return fail(Exit::SpawnFailed(format!("{arg0}: {e}"))),
    };
    let pgid = child.id().map(|p| p as i32).unwrap_or(0);
    if let Ok(mut g) = RUNNING.lock() {
        g.get_or_insert_with(HashSet::new).insert(pgid);
    }
    let _group = Group(pgid);
    let mut out = child.stdout.take();
    let mut output = Vec::new();
    let mut truncated = false;
    let mut buf = vec![0u8; 8192];
    let mut status = None;
    let mut eof = out.is_none();
    loop {
        if status.is_some() && eof {
            break;
        }
        tokio::select! {
            r = async { out.as_mut().unwrap().read(&mut buf).await }, if !eof => {
                match r {
                    Ok(0) | Err(_) => eof = true,
                    Ok(n) => {
                        let room = max_output.saturating_sub(output.len());
                        output.extend_from_slice(&buf[..n.min(room)]);
                        truncated |= n > room;
                    }
                }
            }
            s = child.wait(), if status.is_none() => {
                // The leader is gone: kill anything it left in its group so
                // the pipe closes and nothing survives the check.
                kill_group(pgid);
                status = Some(s);
            }
            _ = tokio::time::sleep_until(deadline) => {
                if status.is_some() {
                    // Exited, but something outside its group holds stdout.
                    break;
                }
                kill_group(pgid);
                let _ = child.wait().await;
                return Run { exit: Exit::TimedOut, output, truncated };
            }
        }
    }
    use std::os::unix::process::ExitStatusExt;
    let exit = match status {
        Some(Ok(s)) => match (s.code(), s.signal()) {
            (Some(c), _) => Exit::Code(c),
            (None, Some(sig)) => Exit::Signal(sig),
            _ => Exit::Code(-1),
        },
        Some(Err(e)) => Exit::SpawnFailed(e.to_string()),
        None => Exit::Code(-1),
    };
    Run {
        exit,
        output,
        truncated,
    }
}
