//! Running the plan: the commands of `--active`, the nannies of
//! `--monitor`, signals, and the exit that tells pulse.

use crate::cli::{Mode, Options};
use crate::plan::{self, NannyMode, Service};
use daemon_kit::log::{Console, Level, Logger};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// How long a `stop_cmd` may take before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// The line pulse's log tooling knows from Piranha's fos.
pub const NOTIFY: &str = "will now exit to notify pulse...";

/// Loads lvs.cf, detaches unless asked not to, runs `mode`; the exit code.
pub fn run(mode: Mode, opts: &Options) -> i32 {
    let loaded = match lvscf_store::load_file(&opts.config) {
        Ok(l) => l,
        Err(lvscf_store::LoadError::Io { path, .. }) => {
            eprintln!("fos: failed to open {}", path.display());
            return 1;
        }
        Err(lvscf_store::LoadError::Invalid(d)) => {
            for e in d.errors() {
                eprintln!(
                    "fos: {}:{}:{}: error: {}",
                    d.file, e.line, e.column, e.message
                );
            }
            return 1;
        }
    };
    let nanny_mode = NannyMode {
        nodaemon: opts.nodaemon,
        verbose: opts.verbose,
        syslog: opts.syslog,
    };
    let resolve = |n: &str| daemon_kit::host::lookup(n).map_err(|e| e.to_string());
    let services = plan::services(&loaded.config, &opts.nanny, nanny_mode, &resolve);
    if services.is_empty() {
        eprintln!(
            "fos: no active fos services defined in {}",
            opts.config.display()
        );
        return 1;
    }
    if !opts.nodaemon && !opts.nofork {
        if let Err(e) = daemon_kit::process::daemonize() {
            eprintln!("fos: cannot daemonize: {e}");
            return 1;
        }
    }
    let log = if opts.nodaemon && !opts.syslog {
        Logger::console("fos", "fos", Console::Stdout)
    } else {
        Logger::syslog_only("fos")
    };
    let log = Arc::new(log.verbose(opts.verbose));
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log.log(Level::Err, &format!("cannot start the runtime: {e}"));
            return 1;
        }
    };
    match mode {
        Mode::Active => rt.block_on(active(services, log)),
        Mode::Monitor => rt.block_on(monitor(services, log)),
    }
}

/// How a child ended, in Piranha's words.
pub fn describe(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("terminated with signal {s}"),
        _ => "exited".to_string(),
    }
}

/// A child that dies with fos (PR_SET_PDEATHSIG): a `kill -9` of fos, or
/// of pulse above it, leaves no nanny or foreground service behind.
fn command(program: &std::path::Path, argv: &[String]) -> Command {
    let mut c = Command::new(program);
    if let Some(a0) = argv.first() {
        c.arg0(a0);
    }
    c.args(argv.iter().skip(1));
    c.stdin(Stdio::null());
    // SAFETY: std's Command has no option for a parent-death signal, so a
    // pre_exec hook (unsafe by nature: it runs in the forked child) sets
    // it; the closure only makes the prctl system call, which is
    // async-signal-safe, and allocates nothing.
    unsafe {
        c.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                .map_err(std::io::Error::from)
        });
    }
    c
}

/// Spawns a `start_cmd` or `stop_cmd` if the exec policy allows it; a
/// refusal is logged with its reason.
fn spawn_configured(log: &Logger, service: &str, key: &str, text: &str) -> Option<Child> {
    let approved = match exec_policy::Policy::load().check(text) {
        Ok(a) => a,
        Err(refusal) => {
            log.log(
                Level::Warning,
                &format!("failover `{service}`: {key} '{text}' not run: {refusal}"),
            );
            return None;
        }
    };
    log.log(Level::Debug, &format!("DEBUG -- Executing '{text}'"));
    match command(&approved.program, &approved.argv).spawn() {
        Ok(c) => Some(c),
        Err(e) => {
            log.log(
                Level::Warning,
                &format!("failover `{service}`: {key} '{text}' failed to start: {e}"),
            );
            None
        }
    }
}

/// Runs one `stop_cmd` to its end (killed after [`STOP_TIMEOUT`]).
async fn run_stop(log: &Logger, s: &Service) {
    let Some(text) = &s.stop else {
        log.log(
            Level::Warning,
            &format!("failover `{}` has no stop_cmd: nothing to stop", s.name),
        );
        return;
    };
    let Some(mut child) = spawn_configured(log, &s.name, "stop_cmd", text) else {
        return;
    };
    match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
        Ok(Ok(st)) if st.success() => {}
        Ok(Ok(st)) => log.log(
            Level::Info,
            &format!("failover `{}`: stop_cmd {}", s.name, describe(&st)),
        ),
        Ok(Err(e)) => log.log(
            Level::Info,
            &format!("failover `{}`: stop_cmd not waited for: {e}", s.name),
        ),
        Err(_) => {
            log.log(
                Level::Info,
                &format!(
                    "failover `{}`: stop_cmd still running after {} s: killing it",
                    s.name,
                    STOP_TIMEOUT.as_secs()
                ),
            );
            let _ = child.kill().await;
        }
    }
}

struct Ended {
    index: usize,
    pid: u32,
    status: std::io::Result<ExitStatus>,
}

/// Waits for `child` in the background; its end arrives on `tx`.
fn watch(index: usize, mut child: Child, tx: &mpsc::UnboundedSender<Ended>) -> u32 {
    let pid = child.id().unwrap_or(0);
    let tx = tx.clone();
    tokio::spawn(async move {
        let status = child.wait().await;
        let _ = tx.send(Ended { index, pid, status });
    });
    pid
}

fn kill_all(pids: &[u32], sig: nix::sys::signal::Signal) {
    for &p in pids {
        if p > 0 {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p as i32), sig);
        }
    }
}

/// Waits (at most `limit`) for the children in `pids` to end.
async fn reap(rx: &mut mpsc::UnboundedReceiver<Ended>, pids: &mut Vec<u32>, limit: Duration) {
    let _ = tokio::time::timeout(limit, async {
        while !pids.is_empty() {
            match rx.recv().await {
                Some(e) => pids.retain(|p| *p != e.pid),
                None => return,
            }
        }
    })
    .await;
}

/// `fos --active`.
pub async fn active(services: Vec<Service>, log: Arc<Logger>) -> i32 {
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        log.log(Level::Err, "cannot install signal handlers");
        return 1;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut running: Vec<u32> = Vec::new();
    for (i, s) in services.iter().enumerate() {
        // stop first: a crashed run may have left the service half up
        run_stop(&log, s).await;
        match &s.start {
            None => log.log(
                Level::Warning,
                &format!("failover `{}` has no start_cmd: nothing started", s.name),
            ),
            Some(text) => {
                if let Some(child) = spawn_configured(&log, &s.name, "start_cmd", text) {
                    running.push(watch(i, child, &tx));
                }
            }
        }
        log.log(
            Level::Info,
            &format!("Starting failover service `{}`", s.name),
        );
    }
    let stop_all = |log: Arc<Logger>, services: Vec<Service>| async move {
        for s in &services {
            run_stop(&log, s).await;
        }
    };
    loop {
        tokio::select! {
            Some(e) = rx.recv() => {
                running.retain(|p| *p != e.pid);
                let name = services.get(e.index).map(|s| s.name.as_str()).unwrap_or("?");
                match e.status {
                    Ok(st) if st.success() => log.log(
                        Level::Debug,
                        &format!("DEBUG -- start_cmd of failover `{name}` (pid {}) finished", e.pid),
                    ),
                    st => {
                        let how = match &st {
                            Ok(st) => describe(st),
                            Err(err) => format!("could not be waited for: {err}"),
                        };
                        log.log(
                            Level::Info,
                            &format!("start_cmd of failover `{name}` (pid {}) {how}: {NOTIFY}", e.pid),
                        );
                        return 1;
                    }
                }
            }
            _ = term.recv() => return shutdown(&log, libc::SIGTERM, &mut running, &mut rx, stop_all(log.clone(), services.clone())).await,
            _ = int.recv() => return shutdown(&log, libc::SIGINT, &mut running, &mut rx, stop_all(log.clone(), services.clone())).await,
            _ = hup.recv() => {
                // pulse forwards its SIGHUP (a reload): exit, and pulse
                // starts the services again with the new lvs.cf.
                log.log(Level::Info, &format!("SIGHUP received: {NOTIFY}"));
                return 0;
            }
        }
    }
}

/// SIGTERM/SIGINT in active mode: every `stop_cmd`, then what the
/// `start_cmd`s left in the foreground is ended.
async fn shutdown(
    log: &Logger,
    sig: i32,
    running: &mut Vec<u32>,
    rx: &mut mpsc::UnboundedReceiver<Ended>,
    stops: impl std::future::Future<Output = ()>,
) -> i32 {
    log.log(Level::Info, &format!("Terminating due to signal {sig}"));
    stops.await;
    // a service that stop_cmd ended is reaped here
    reap(rx, running, Duration::from_millis(200)).await;
    kill_all(running, nix::sys::signal::Signal::SIGTERM);
    reap(rx, running, Duration::from_secs(5)).await;
    kill_all(running, nix::sys::signal::Signal::SIGKILL);
    0
}

/// `fos --monitor`.
pub async fn monitor(services: Vec<Service>, log: Arc<Logger>) -> i32 {
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        log.log(Level::Err, "cannot install signal handlers");
        return 1;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut nannies: Vec<u32> = Vec::new();
    for (i, s) in services.iter().enumerate() {
        let argv = match &s.monitor {
            Ok(a) => a,
            Err(e) => {
                log.log(Level::Warning, &format!("{e}: not watched"));
                continue;
            }
        };
        log.log(
            Level::Debug,
            &format!("DEBUG -- Executing '{}'", argv.join(" ")),
        );
        match command(std::path::Path::new(&argv[0]), argv).spawn() {
            Ok(c) => nannies.push(watch(i, c, &tx)),
            Err(e) => log.log(
                Level::Warning,
                &format!("failover `{}`: cannot start {}: {e}", s.name, argv[0]),
            ),
        }
    }
    if nannies.is_empty() {
        // Exiting would tell pulse the partner's services failed.
        log.log(
            Level::Warning,
            "no failover service could be watched: waiting for pulse to stop fos",
        );
    }
    let sig = loop {
        tokio::select! {
            Some(e) = rx.recv() => {
                nannies.retain(|p| *p != e.pid);
                let name = services.get(e.index).map(|s| s.name.as_str()).unwrap_or("?");
                let how = match &e.status {
                    Ok(st) => describe(st),
                    Err(err) => format!("could not be waited for: {err}"),
                };
                log.log(
                    Level::Info,
                    &format!("nanny for failover `{name}` (pid {}) {how}: {NOTIFY}", e.pid),
                );
                kill_all(&nannies, nix::sys::signal::Signal::SIGTERM);
                reap(&mut rx, &mut nannies, Duration::from_secs(5)).await;
                return 0;
            }
            _ = term.recv() => break libc::SIGTERM,
            _ = int.recv() => break libc::SIGINT,
            // A reload reaches the nannies when pulse starts fos again;
            // exiting here would read as the partner's failure.
            _ = hup.recv() => log.log(Level::Info, "SIGHUP received: ignored by the monitor"),
        }
    };
    log.log(Level::Info, &format!("Terminating due to signal {sig}"));
    kill_all(&nannies, nix::sys::signal::Signal::SIGTERM);
    reap(&mut rx, &mut nannies, Duration::from_secs(5)).await;
    kill_all(&nannies, nix::sys::signal::Signal::SIGKILL);
    0
}
