//! Process-level I/O: the `--lvsd` loop (jobs on stdin, reports on stdout),
//! signals, and the runtime.

use crate::engine::{self, Engine, Shared, Sink};
use crate::log;
use crate::protocol::{EventReport, Job, Report, JOB_REJECTED};
use crate::state::Force;
use std::io::Write;
use tokio::signal::unix::{signal, SignalKind};

/// Longest accepted job line (a job with 10,000 servers is about 1 MB).
pub const MAX_JOB_LINE: usize = 64 * 1024 * 1024;

/// A sink writing JSON lines to stdout; lvsd gone (EPIPE) = exit 0.
pub fn stdout_sink() -> Sink {
    Box::new(|r: &Report| {
        let mut line = r.to_line();
        line.push('\n');
        let mut out = std::io::stdout().lock();
        if out
            .write_all(line.as_bytes())
            .and_then(|_| out.flush())
            .is_err()
        {
            log::info("stdout closed: lvsd is gone, exiting");
            crate::program::kill_all();
            std::process::exit(0);
        }
    })
}

/// Raise RLIMIT_NOFILE's soft limit to the hard limit (thousands of checks
/// can be in flight at once).
pub fn raise_nofile() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

fn terminate(sig: i32) -> ! {
    log::info(&format!("Terminating due to signal {sig}"));
    for pg in crate::program::kill_all() {
        log::info(&format!("Killing child {pg}"));
    }
    let _ = std::io::stdout().flush();
    std::process::exit(0);
}

/// Spawn the signal handlers (SIGUSR1/2, SIGHUP, SIGTERM, SIGINT).
pub fn spawn_signals(engine: Shared) -> std::io::Result<()> {
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::task::spawn_local(async move {
        loop {
            tokio::select! {
                _ = usr1.recv() => engine.borrow_mut().force(Force::Down),
                _ = usr2.recv() => engine.borrow_mut().force(Force::Up),
                _ = hup.recv() => engine.borrow_mut().unforce(),
                _ = term.recv() => terminate(libc::SIGTERM),
                _ = int.recv() => terminate(libc::SIGINT),
            }
        }
    });
    Ok(())
}

/// Build the runtime used by both modes.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()
        .expect("cannot build the tokio runtime")
}

/// Run in `--lvsd` mode until stdin reaches EOF. Returns the exit status.
pub fn run_lvsd() -> i32 {
    // Die with lvsd even if it forgot PR_SET_PDEATHSIG. (If lvsd died before
    // this call, stdin is already at EOF, which ends the loop below; no
    // getppid() == 1 test, which would be wrong when lvsd is PID 1.)
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
    raise_nofile();
    let rt = runtime();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let engine = Engine::new(stdout_sink());
        if let Err(e) = spawn_signals(engine.clone()) {
            log::info(&format!("cannot install signal handlers: {e}"));
            return 1;
        }
        let mut stdin = stdin_chunks();
        let mut buf: Vec<u8> = Vec::new();
        let mut skipping = false;
        while let Some(chunk) = stdin.recv().await {
            let mut rest = &chunk[..];
            while let Some(pos) = rest.iter().position(|&c| c == b'\n') {
                if !skipping {
                    buf.extend_from_slice(&rest[..pos]);
                    handle_line(&engine, &buf);
                }
                skipping = false;
                buf.clear();
                rest = &rest[pos + 1..];
            }
            if !skipping {
                buf.extend_from_slice(rest);
                if buf.len() > MAX_JOB_LINE {
                    log::info(&format!(
                        "job line longer than {MAX_JOB_LINE} bytes: ignored"
                    ));
                    reject(&engine, "line too long".into());
                    buf = Vec::new();
                    skipping = true;
                }
            }
        }
        if !buf.is_empty() && !skipping {
            handle_line(&engine, &buf);
        }
        log::verbose("end of input: lvsd is gone, exiting");
        crate::program::kill_all();
        0
    })
}

/// Read stdin on a small thread (works for pipes, files and ttys alike) and
/// hand the chunks to the runtime. The channel closes at EOF or error.
fn stdin_chunks() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let spawned = std::thread::Builder::new()
        .name("stdin".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            use std::io::Read;
            let mut stdin = std::io::stdin().lock();
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                match stdin.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.blocking_send(chunk[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        log::info(&format!("reading stdin: {e}"));
                        break;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        log::info(&format!("cannot start the stdin reader: {e}"));
    }
    rx
}

fn reject(engine: &Shared, error: String) {
    let mut e = engine.borrow_mut();
    let seq = e.next_job_seq();
    e.emit(&Report::Event(EventReport {
        event: JOB_REJECTED.into(),
        job: Some(seq),
        error: Some(error),
    }));
}

fn handle_line(engine: &Shared, line: &[u8]) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    match serde_json::from_str::<Job>(text) {
        Ok(job) => {
            engine::reconcile(engine, &job);
            drop(job);
            // Parsing a big job leaves freed memory in the heap: give it back.
            #[cfg(target_env = "gnu")]
            // SAFETY: malloc_trim is a glibc call with no nix or std
            // binding; it takes no pointer and only returns free pages.
            unsafe {
                libc::malloc_trim(0);
            }
            let e = engine.borrow();
            log::verbose(&format!(
                "job applied: {} servers, {} distinct checks",
                e.server_count(),
                e.check_count()
            ));
        }
        Err(err) => {
            log::info(&format!("bad job line (previous job kept): {err}"));
            reject(engine, err.to_string());
        }
    }
}
