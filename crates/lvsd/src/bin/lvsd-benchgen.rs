//! Helper of `tests/vm/scripts/lvsd-bench.sh` (runs in the guest).
//!
//! - `gen N M DIR`: writes `DIR/lvs.cf` (N virtual servers with M real
//!   servers each, nat), `DIR/lvs-w.cf` (the same with one weight changed)
//!   and `DIR/rules` (the same table as `ipvsadm -R` input).
//! - `start LOG LVSD ARGS...`: starts `LVSD ARGS... --ready-fd 3` (stdout and
//!   stderr to LOG), prints `ready_ms=T pid=P` once it wrote `ready`.
//! - `time CMD ARGS...`: runs a command, prints `ms=T`.
//! - `per-entry IPVSADM RULES`: one `IPVSADM <line>` process per line of
//!   RULES, prints `ms=T n=N`.
//! - `reload PID LOG`: SIGHUP to PID, waits for the next `configuration
//!   reloaded` line in LOG, prints `ms=T` and the line, after
//!   `early_ms=T` and the line saying a block re-read alone was applied
//!   (`early_ms=none` when the reload took the full path).
//! - `status SOCKET`: asks lvsd's status socket, prints the answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use lvsd::desired::{desired, Monitor};
use lvsd::diff::diff;
use lvsd::ipvsadm::format_plan;
use lvsd::table::Table;

/// The benchmark's file; the VIPs are labels of the guest's `lvs-dummy`.
fn conf(n: usize, m: usize, changed: bool) -> String {
    lvsd::synth::lvs_cf(n, m, "lvs-dummy", changed)
}

fn gen(n: usize, m: usize, dir: &Path) -> Result<(), String> {
    let a = conf(n, m, false);
    std::fs::write(dir.join("lvs.cf"), &a).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("lvs-w.cf"), conf(n, m, true)).map_err(|e| e.to_string())?;
    let loaded = lvscf_parser::parse("lvs.cf", a.as_bytes()).map_err(|e| e.to_string())?;
    let d = desired(&loaded.config, Monitor::AssumeUp, &Table::new());
    let ops = diff(&Table::new(), &d.table, |_| true);
    std::fs::write(dir.join("rules"), format_plan(&ops)).map_err(|e| e.to_string())?;
    println!("virtuals={n} servers_each={m} operations={}", ops.len());
    Ok(())
}

fn start(log: &str, argv: &[String]) -> Result<(), String> {
    let (prog, rest) = argv.split_first().ok_or("start: no command")?;
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| e.to_string())?;
    let logf = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| e.to_string())?;
    let logf2 = logf.try_clone().map_err(|e| e.to_string())?;
    let wfd = w.as_raw_fd();
    let mut cmd = Command::new(prog);
    cmd.args(rest)
        .args(["--ready-fd", "3"])
        .stdin(Stdio::null())
        .stdout(logf)
        .stderr(logf2);
    // SAFETY: std's Command cannot place a descriptor at a chosen number in
    // the child, so a pre_exec hook (unsafe by nature: it runs in the forked
    // child) does it; the hook only calls dup2, which is async-signal-safe
    // and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let t = Instant::now();
    let child = cmd.spawn().map_err(|e| format!("{prog}: {e}"))?;
    drop(w);
    let mut f = std::fs::File::from(r);
    let mut buf = String::new();
    let _ = f.read_to_string(&mut buf);
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    if buf.trim() != "ready" {
        return Err(format!("lvsd did not say ready (got {buf:?})"));
    }
    println!("ready_ms={ms:.1} pid={}", child.id());
    Ok(())
}

fn time(argv: &[String]) -> Result<(), String> {
    let (prog, rest) = argv.split_first().ok_or("time: no command")?;
    let t = Instant::now();
    let st = Command::new(prog)
        .args(rest)
        .status()
        .map_err(|e| format!("{prog}: {e}"))?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    println!("ms={ms:.1}");
    if st.success() {
        Ok(())
    } else {
        Err(format!("{prog} failed: {st}"))
    }
}

fn time_stdin(argv: &[String]) -> Result<(), String> {
    // time-stdin FILE CMD ARGS...: CMD < FILE
    let (file, cmd) = argv.split_first().ok_or("time-stdin: no file")?;
    let (prog, rest) = cmd.split_first().ok_or("time-stdin: no command")?;
    let input = std::fs::File::open(file).map_err(|e| format!("{file}: {e}"))?;
    let t = Instant::now();
    let st = Command::new(prog)
        .args(rest)
        .stdin(input)
        .status()
        .map_err(|e| format!("{prog}: {e}"))?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    println!("ms={ms:.1}");
    if st.success() {
        Ok(())
    } else {
        Err(format!("{prog} failed: {st}"))
    }
}

fn per_entry(ipvsadm: &str, rules: &str) -> Result<(), String> {
    let f = std::fs::File::open(rules).map_err(|e| format!("{rules}: {e}"))?;
    let lines: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
    let t = Instant::now();
    let mut n = 0;
    for l in &lines {
        let args: Vec<&str> = l.split_whitespace().collect();
        if args.is_empty() {
            continue;
        }
        let st = Command::new(ipvsadm)
            .args(&args)
            .status()
            .map_err(|e| format!("{ipvsadm}: {e}"))?;
        if !st.success() {
            return Err(format!("ipvsadm {l}: {st}"));
        }
        n += 1;
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    println!("ms={ms:.1} n={n}");
    Ok(())
}

/// What LOG gained after byte `from`.
fn log_since(log: &str, from: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut out = String::new();
    if let Ok(mut f) = std::fs::File::open(log) {
        if f.seek(SeekFrom::Start(from)).is_ok() {
            let _ = f.read_to_string(&mut out);
        }
    }
    out
}

fn reload(pid: &str, log: &str) -> Result<(), String> {
    let pid: i32 = pid.parse().map_err(|_| format!("bad pid {pid}"))?;
    let (done, early) = ("configuration reloaded", "re-read alone");
    // Only the new part of the log is read at each poll: the log of a
    // large table is megabytes, and reading it all every 2 ms would take
    // the CPU lvsd is being timed on.
    let from = std::fs::metadata(log).map(|m| m.len()).unwrap_or(0);
    let t = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .map_err(|e| e.to_string())?;
    let mut early_ms = None;
    let text = loop {
        let text = log_since(log, from);
        let elapsed = t.elapsed().as_secs_f64() * 1000.0;
        if early_ms.is_none() && text.contains(early) {
            early_ms = Some(elapsed);
        }
        if text.contains(done) {
            break text;
        }
        if t.elapsed() > Duration::from_secs(120) {
            return Err("reload not logged".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let line_with = |pat: &str| {
        text.lines()
            .find(|l| l.contains(pat))
            .unwrap_or("")
            .to_string()
    };
    match early_ms {
        Some(e) => println!("early_ms={e:.1} {}", line_with(early)),
        None => println!("early_ms=none"),
    }
    println!("ms={ms:.1} {}", line_with(done));
    Ok(())
}

fn status(sock: &str) -> Result<(), String> {
    let mut s =
        std::os::unix::net::UnixStream::connect(sock).map_err(|e| format!("{sock}: {e}"))?;
    s.write_all(b"{\"cmd\":\"status\"}\n")
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    print!("{out}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("gen") if args.len() == 4 => match (args[1].parse(), args[2].parse()) {
            (Ok(n), Ok(m)) => gen(n, m, Path::new(&args[3])),
            _ => Err("gen N M DIR".into()),
        },
        Some("start") if args.len() >= 3 => start(&args[1], &args[2..]),
        Some("time") => time(&args[1..]),
        Some("time-stdin") => time_stdin(&args[1..]),
        Some("per-entry") if args.len() == 3 => per_entry(&args[1], &args[2]),
        Some("reload") if args.len() == 3 => reload(&args[1], &args[2]),
        Some("status") if args.len() == 2 => status(&args[1]),
        _ => Err("usage: lvsd-benchgen gen|start|time|time-stdin|per-entry|reload ...".into()),
    };
    let _ = std::io::stdout().flush();
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lvsd-benchgen: {e}");
            ExitCode::FAILURE
        }
    }
}
