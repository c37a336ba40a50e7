//! nanny child processes: `nanny --lvsd [-v]` with stdin/stdout pipes and
//! `PR_SET_PDEATHSIG(SIGTERM)`, a writer task for job lines, a reader task
//! turning stdout lines into events, and (when lvsd is a daemon) a task
//! forwarding nanny's stderr log lines to lvsd's log. [`Nannies`] holds
//! the running ones by slot for the supervisor's actions.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use nanny::protocol::Report;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::health::{parse_report, UnreadableLine};

/// Longest report line accepted from nanny.
const MAX_LINE: usize = 64 * 1024;

/// What a nanny child said or did.
#[derive(Debug)]
pub enum NannyEvent {
    /// A stdout line (parsed, or why it is not a report).
    Line {
        /// The nanny's slot (see `daemon`: one per group of virtuals).
        slot: u64,
        /// Its generation (restarts bump it).
        gen: u64,
        /// The report.
        report: Result<Report, UnreadableLine>,
    },
    /// The process ended.
    Exited {
        /// Slot.
        slot: u64,
        /// Generation.
        gen: u64,
        /// How it ended, in words.
        status: String,
    },
}

/// A running nanny.
#[derive(Debug)]
pub struct NannyChild {
    /// Process id.
    pub pid: u32,
    /// Generation.
    pub gen: u64,
    lines: mpsc::UnboundedSender<String>,
}

impl NannyChild {
    /// Sends a job line (without the newline).
    pub fn send_job(&self, line: &str) {
        let _ = self.lines.send(line.to_string());
    }

    /// Asks the nanny to end: closes its stdin (nanny exits on EOF) and
    /// sends SIGTERM.
    pub fn stop(self) {
        drop(self.lines);
        // (pid 0 would signal lvsd's whole process group.)
        if let Ok(pid @ 1..) = i32::try_from(self.pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
    }
}

/// How a nanny logs.
#[derive(Debug, Clone, Copy)]
pub struct Logging {
    /// Pass `-v`.
    pub verbose: bool,
    /// Pass `--syslog` (nanny then logs to syslog only).
    pub syslog: bool,
    /// Read nanny's stderr and log it as lvsd (lvsd is a daemon).
    pub forward_stderr: bool,
}

/// The running nannies by slot, and how to start one.
pub struct Nannies {
    program: PathBuf,
    logging: Logging,
    events: mpsc::UnboundedSender<NannyEvent>,
    children: BTreeMap<u64, NannyChild>,
}

impl Nannies {
    /// None running yet; `events` receives what they say and do.
    pub fn new(
        program: &Path,
        logging: Logging,
        events: mpsc::UnboundedSender<NannyEvent>,
    ) -> Nannies {
        Nannies {
            program: program.to_path_buf(),
            logging,
            events,
            children: BTreeMap::new(),
        }
    }

    /// The nanny binary.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Starts the nanny of `slot` (generation `gen`) with its job line;
    /// its pid.
    pub fn spawn(&mut self, slot: u64, gen: u64, job_line: &str) -> io::Result<u32> {
        let child = spawn(
            &self.program,
            self.logging,
            slot,
            gen,
            job_line,
            self.events.clone(),
        )?;
        let pid = child.pid;
        // A handle left for the slot belongs to a process that ended.
        self.children.insert(slot, child);
        Ok(pid)
    }

    /// Sends a job line to the nanny of `slot`, if it is generation `gen`.
    pub fn send(&self, slot: u64, gen: u64, job_line: &str) {
        if let Some(c) = self.children.get(&slot).filter(|c| c.gen == gen) {
            c.send_job(job_line);
        }
    }

    /// Stops the nanny of `slot`, if it is generation `gen`.
    pub fn stop(&mut self, slot: u64, gen: u64) {
        if self.children.get(&slot).is_some_and(|c| c.gen == gen) {
            if let Some(c) = self.children.remove(&slot) {
                c.stop();
            }
        }
    }

    /// Forgets the nanny of `slot` that ended (generation `gen`).
    pub fn ended(&mut self, slot: u64, gen: u64) {
        if self.children.get(&slot).is_some_and(|c| c.gen == gen) {
            self.children.remove(&slot);
        }
    }

    /// Stops every nanny.
    pub fn stop_all(&mut self) {
        for (_, c) in std::mem::take(&mut self.children) {
            c.stop();
        }
    }
}

/// Starts a nanny for `slot`, sends it `job_line`, and reports on `events`.
pub fn spawn(
    path: &Path,
    logging: Logging,
    slot: u64,
    gen: u64,
    job_line: &str,
    events: mpsc::UnboundedSender<NannyEvent>,
) -> io::Result<NannyChild> {
    let mut cmd = Command::new(path);
    cmd.arg("--lvsd");
    if logging.verbose {
        cmd.arg("-v");
    }
    if logging.syslog {
        cmd.arg("--syslog");
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    if logging.forward_stderr {
        cmd.stderr(Stdio::piped());
    } else {
        cmd.stderr(Stdio::inherit());
    }
    // SAFETY: std's Command has no option for a parent-death signal or the
    // child's signal mask, so a pre_exec hook (unsafe by nature) sets them.
    // The closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed: it makes two system calls
    // (prctl, sigprocmask) through nix, allocates nothing and takes no
    // lock. Errors become io::Error from the errno alone (no allocation).
    unsafe {
        cmd.pre_exec(|| {
            // nanny ends with lvsd, however lvsd ends (even by SIGKILL).
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
            // The child inherits lvsd's signal mask; lvsd blocks nothing,
            // but nanny must start with an empty mask whatever the runtime
            // does.
            nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();

    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let _ = tx.send(job_line.to_string());
    if let Some(mut stdin) = stdin {
        tokio::spawn(async move {
            while let Some(mut line) = rx.recv().await {
                line.push('\n');
                if stdin.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
                let _ = stdin.flush().await;
            }
            // Dropping stdin closes the pipe: nanny exits on EOF.
        });
    }
    if let Some(stderr) = stderr {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                crate::info!("{l}");
            }
        });
    }
    tokio::spawn(async move {
        if let Some(stdout) = stdout {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match read_line_bounded(&mut reader, &mut buf).await {
                    Ok(0) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buf);
                        let Some(report) = parse_report(&text) else {
                            continue;
                        };
                        let ev = NannyEvent::Line { slot, gen, report };
                        if events.send(ev).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        let status = match child.wait().await {
            Ok(s) => describe(s),
            Err(e) => format!("wait failed: {e}"),
        };
        let _ = events.send(NannyEvent::Exited { slot, gen, status });
    });
    Ok(NannyChild {
        pid,
        gen,
        lines: tx,
    })
}

/// Reads one line (up to [`MAX_LINE`] bytes; longer lines are cut and the
/// rest discarded). Returns the bytes consumed (0 at EOF).
async fn read_line_bounded<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    let mut total = 0;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(total);
        }
        let (take, done) = match chunk.iter().position(|&c| c == b'\n') {
            Some(p) => (p + 1, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take);
        total += take;
        if done {
            return Ok(total);
        }
    }
}

fn describe(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = s.code() {
        format!("exit status {code}")
    } else if let Some(sig) = s.signal() {
        format!("killed by signal {sig}")
    } else {
        "ended".to_string()
    }
}
