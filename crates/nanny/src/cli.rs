//! Piranha's single-server command line (its option letters), kept for people who run
//! nanny by hand. It runs the same checker and state machine for one server,
//! logs Piranha's lines on stderr and writes the JSON reports on stdout. It
//! never runs ipvsadm: lvsd programs the kernel. With `--test-start`/`--norun`
//! or `-v`, the ipvsadm command Piranha would have run is logged instead.

use crate::check;
use crate::engine::{self, Engine};
use crate::log;
use crate::protocol::{Job, Protocol, Report, ServerCheck, State, VirtualCheck};
use crate::service;
use crate::state::Outcome;
use clap::Parser;
use std::net::IpAddr;
use std::time::Duration;

/// Piranha nanny options (popt letters kept).
#[derive(Parser, Debug, Default)]
#[command(name = "nanny", disable_help_flag = true, disable_version_flag = true)]
pub struct Cli {
    /// Real server address.
    #[arg(short = 'h', long = "server")]
    pub server: Option<String>,
    /// Virtual service port.
    #[arg(short = 'p', long = "port", default_value_t = 80)]
    pub port: u16,
    /// Real server port (default: --port).
    #[arg(short = 'r', long = "rport")]
    pub rport: Option<u16>,
    /// Virtual address.
    #[arg(short = 'V', long = "virtaddress")]
    pub virtaddress: Option<String>,
    /// Firewall mark.
    #[arg(short = 'f', long = "fwmark")]
    pub fwmark: Option<u32>,
    /// Seconds between checks; also the check timeout.
    #[arg(short = 't', long = "interval", default_value_t = 10)]
    pub interval: u32,
    /// Readmission delay (0 = 180 in LVS mode, = interval in FOS mode).
    #[arg(short = 'a', long = "reentrytime", default_value_t = 0)]
    pub reentry: u32,
    /// Configured weight.
    #[arg(short = 'w', long = "weight", default_value_t = 1)]
    pub weight: u32,
    /// Max load-based weight multiplier.
    #[arg(short = 'S', long = "scale", default_value_t = 10)]
    pub scale: u32,
    /// Load command: none, rup, ruptime, rsh, ssh or a command.
    #[arg(short = 'U', long = "loadcmd")]
    pub loadcmd: Option<String>,
    /// Forwarding method m, g or i (informational).
    #[arg(short = 'M', long = "method")]
    pub method: Option<String>,
    /// ipvsadm path (informational: never run).
    #[arg(short = 'I', long = "ipvsadm", default_value = "/sbin/ipvsadm")]
    pub ipvsadm: String,
    /// Data to send.
    #[arg(short = 's', long = "send_string", allow_hyphen_values = true)]
    pub send: Option<String>,
    /// Expected reply.
    #[arg(short = 'x', long = "expect_string", allow_hyphen_values = true)]
    pub expect: Option<String>,
    /// External check program (%h, %p).
    #[arg(short = 'e', long = "send_program", allow_hyphen_values = true)]
    pub program: Option<String>,
    /// expect is a regular expression.
    #[arg(long = "regex")]
    pub regex: bool,
    /// No backslash-escape translation.
    #[arg(short = 'T', long = "suppress")]
    pub suppress: bool,
    /// Quiesce instead of delete.
    #[arg(short = 'q', long = "quiesce_server")]
    pub quiesce: bool,
    /// UDP.
    #[arg(short = 'u', long = "udp")]
    pub udp: bool,
    /// Foreground (we always are; without it logs also go to syslog).
    #[arg(short = 'n', long = "nodaemon")]
    pub nodaemon: bool,
    /// Log to syslog only (ident nanny, facility daemon), not to stderr.
    #[arg(long = "syslog")]
    pub syslog: bool,
    /// Accepted and ignored.
    #[arg(short = 'c', long = "nofork")]
    pub nofork: bool,
    /// Verbose.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Log the ipvsadm commands (never run anyway).
    #[arg(long = "test-start")]
    pub test_start: bool,
    /// Same as --test-start.
    #[arg(long = "norun")]
    pub norun: bool,
    /// LVS service type.
    #[arg(long = "lvs")]
    pub lvs: bool,
    /// FOS service type.
    #[arg(long = "fos")]
    pub fos: bool,
    /// Version.
    #[arg(long = "version")]
    pub version: bool,
    /// Help.
    #[arg(long = "help")]
    pub help: bool,
    /// Run under lvsd: jobs on stdin, reports on stdout.
    #[arg(long = "lvsd")]
    pub lvsd: bool,
}

/// Usage text.
pub const USAGE: &str = "Usage: nanny --lvsd [-v]
   or: nanny [OPTION...] --lvs|--fos
  -h, --server=IP            real server address (required)
  -p, --port=N               virtual service port (default 80)
  -r, --rport=N              real server port (default: --port)
  -V, --virtaddress=IP       virtual address
  -f, --fwmark=N             firewall mark
  -t, --interval=N           seconds between checks, and check timeout (10)
  -a, --reentrytime=N        readmission delay (180)
  -w, --weight=N             server weight (1)
  -S, --scale=N              maximum load weight multiplier (10)
  -U, --loadcmd=CMD          none, rup, ruptime, rsh, ssh
  -M, --method=m|g|i         forwarding method (informational)
  -I, --ipvsadm=PATH         ipvsadm path (informational: lvsd programs the kernel)
  -s, --send_string=S        data to send
  -x, --expect_string=S      expected reply (\"*\" = anything)
  -e, --send_program=CMD     external check program (%h, %p)
      --regex                expect is a regular expression
  -T, --suppress             no backslash escape translation
  -q, --quiesce_server       weight 0 instead of removal on failure
  -u, --udp                  UDP service
  -n, --nodaemon             log to stderr only (else stderr and syslog)
  -c, --nofork               ignored
  -v, --verbose              verbose
      --test-start, --norun  log the ipvsadm commands Piranha would run
      --lvs | --fos          service type
      --lvsd                 run under lvsd (JSON jobs on stdin, reports on stdout)
      --version              version
      --help                 this text
";

/// Print a Piranha-style error and return exit status 1.
fn fail(msg: &str) -> i32 {
    eprintln!("nanny: {msg}");
    1
}

/// Entry point of the binary. Returns the exit status.
pub fn main_with(args: Vec<String>) -> i32 {
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("bad argument")
                .trim_start_matches("error: ")
                .to_string();
            return fail(&format!("{first}. Use '--help' for help."));
        }
    };
    if cli.help {
        print!("{USAGE}");
        return 0;
    }
    if cli.version {
        println!("Program Version:\t{}", env!("CARGO_PKG_VERSION"));
        println!("Built:\t\t\t-");
        println!("A component of:\t\tlvs-suite-{}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    if cli.lvsd {
        if cli.syslog {
            log::init_syslog_only(cli.verbose);
        } else {
            log::init(cli.verbose, false);
        }
        return service::run_lvsd();
    }
    let Some(server) = cli.server.as_deref() else {
        return fail("No address supplied. Use '--help' for help.");
    };
    let Ok(address) = server.parse::<IpAddr>() else {
        return fail(&format!("bad IP address -- {server}"));
    };
    let vip = match cli.virtaddress.as_deref() {
        None => None,
        Some(v) => match v.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => return fail(&format!("bad IP address -- {v}")),
        },
    };
    if cli.lvs == cli.fos {
        return fail("unknown service type");
    }
    log::init(cli.verbose, !cli.nodaemon);
    let job = job_from(&cli, address, vip);
    if cli.fos {
        run_fos(job)
    } else {
        run_lvs(&cli, job)
    }
}

/// The one-server job equivalent to the command line.
pub fn job_from(cli: &Cli, address: IpAddr, vip: Option<IpAddr>) -> Job {
    let reentry = match (cli.reentry, cli.fos) {
        (0, true) => cli.interval.max(1),
        (0, false) => 180,
        (r, _) => r,
    };
    let name = match (vip, cli.fwmark) {
        (_, Some(m)) if m > 0 => format!("fwmark{m}"),
        (Some(v), _) => std::net::SocketAddr::new(v, cli.port).to_string(),
        (None, _) => format!("port{}", cli.port),
    };
    Job {
        virtuals: vec![VirtualCheck {
            name,
            vip,
            port: cli.port,
            protocol: if cli.udp {
                Protocol::Udp
            } else {
                Protocol::Tcp
            },
            fwmark: cli.fwmark,
            timeout: cli.interval,
            reentry,
            quiesce: cli.quiesce,
            load_monitor: cli.loadcmd.clone().unwrap_or_else(|| "none".into()),
            rsh_command: "rsh".into(),
            scale: cli.scale,
            send: cli.send.clone(),
            expect: cli.expect.clone(),
            use_regex: cli.regex,
            suppress_escapes: cli.suppress,
            send_program: cli.program.clone(),
            check: None,
            servers: vec![ServerCheck {
                name: address.to_string(),
                address,
                port: Some(cli.rport.unwrap_or(cli.port)),
                weight: cli.weight,
                kernel_weight: None,
            }],
        }],
    }
}

fn ipvsadm_line(cli: &Cli, job: &Job, state: State, weight: u32, was_up: bool) -> String {
    let v = &job.virtuals[0];
    let s = &v.servers[0];
    let svc = match (v.fwmark, v.vip) {
        (Some(m), _) if m > 0 => format!("-f {m}"),
        (_, vip) => {
            let vip = vip
                .map(|a| std::net::SocketAddr::new(a, v.port).to_string())
                .unwrap_or_else(|| format!("?:{}", v.port));
            format!("{} {vip}", if cli.udp { "-u" } else { "-t" })
        }
    };
    let method = match cli.method.as_deref().map(|m| m.trim_start_matches('-')) {
        Some("g") => "-g",
        Some("i") => "-i",
        _ => "-m",
    };
    let rs = std::net::SocketAddr::new(s.address, s.port.unwrap_or(v.port));
    let ipvsadm = &cli.ipvsadm;
    match (state, was_up, cli.quiesce) {
        (State::Up, false, false) => format!("{ipvsadm} -a {svc} -r {rs} {method} -w {weight}"),
        (State::Up, _, _) => format!("{ipvsadm} -e {svc} -r {rs} {method} -w {weight}"),
        (State::Down, _, true) => format!("{ipvsadm} -e {svc} -r {rs} {method} -w 0"),
        (State::Down, _, false) => format!("{ipvsadm} -d {svc} -r {rs}"),
    }
}

fn run_lvs(cli: &Cli, job: Job) -> i32 {
    service::raise_nofile();
    let show_ipvsadm = cli.test_start || cli.norun || cli.verbose;
    let rt = service::runtime();
    let local = tokio::task::LocalSet::new();
    let jc = job.clone();
    let cli_for_sink = Cli {
        udp: cli.udp,
        quiesce: cli.quiesce,
        method: cli.method.clone(),
        ipvsadm: cli.ipvsadm.clone(),
        ..Default::default()
    };
    let mut was_up = false;
    let mut out = service::stdout_sink();
    let sink = Box::new(move |r: &Report| {
        if let Report::Server(s) = r {
            if show_ipvsadm && (s.state == State::Up || was_up) {
                log::info(&format!(
                    "not run (lvsd programs the kernel): {}",
                    ipvsadm_line(&cli_for_sink, &jc, s.state, s.weight, was_up)
                ));
            }
            was_up = s.state == State::Up;
        }
        out(r)
    });
    local.block_on(&rt, async move {
        let engine = Engine::new(sink);
        if let Err(e) = service::spawn_signals(engine.clone()) {
            log::info(&format!("cannot install signal handlers: {e}"));
            return 1;
        }
        engine::reconcile(&engine, &job);
        std::future::pending::<i32>().await
    })
}

/// FOS mode (`--fos`): watch the partner's service; exit 0 when it fails
/// after having been available, exit 1 when it never becomes available
/// (two consecutive failed probes).
fn run_fos(job: Job) -> i32 {
    let v = &job.virtuals[0];
    let mut programs = crate::program::Programs::load();
    let r = check::resolve(v, &v.servers[0], &mut |t: &str| programs.decide(t));
    let hp = r.spec.addr.to_string();
    let rt = service::runtime();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let engine = Engine::new(Box::new(|_| {}));
        if let Err(e) = service::spawn_signals(engine) {
            log::info(&format!("cannot install signal handlers: {e}"));
            return 1;
        }
        log::info(&format!("Failover service monitor for {hp} started"));
        for n in &r.notes {
            log::info(n);
        }
        let mut seen_up = false;
        let mut fails = 0;
        loop {
            match crate::probe::probe(&r.spec).await {
                Outcome::Good => {
                    if !seen_up {
                        log::info(&format!("Remote service {hp} is available"));
                    }
                    seen_up = true;
                    fails = 0;
                }
                Outcome::Bad(reason) => {
                    log::verbose(&format!("{hp}: {reason}"));
                    if seen_up {
                        log::info(&format!("Exiting due to connection failure of {hp}"));
                        return 0;
                    }
                    fails += 1;
                    if fails >= 2 {
                        log::info("No service active & available...");
                        log::info("Timeout waiting for remote service -- triggering failover!");
                        return 1;
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(r.params.interval as u64)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("nanny").chain(a.iter().copied())).unwrap()
    }

    #[test]
    fn lvsd_style_argv() {
        // the order lvsd passes them in (docs/ARCHITECTURE.md, "lvsd: the nanny command line")
        let c = parse(&[
            "-c",
            "-h",
            "10.0.1.11",
            "-p",
            "80",
            "-r",
            "8080",
            "-s",
            "GET / HTTP/1.0\\r\\n\\r\\n",
            "-x",
            "HTTP",
            "-q",
            "--regex",
            "-v",
            "-a",
            "15",
            "-I",
            "/sbin/ipvsadm",
            "-t",
            "6",
            "-w",
            "100",
            "-V",
            "10.0.0.100",
            "-M",
            "g",
            "-U",
            "none",
            "--nodaemon",
            "--lvs",
        ]);
        assert_eq!(c.server.as_deref(), Some("10.0.1.11"));
        assert_eq!(
            (c.port, c.rport, c.interval, c.reentry, c.weight),
            (80, Some(8080), 6, 15, 100)
        );
        assert!(c.quiesce && c.regex && c.verbose && c.nodaemon && c.lvs && c.nofork);
        let job = job_from(
            &c,
            "10.0.1.11".parse().unwrap(),
            Some("10.0.0.100".parse().unwrap()),
        );
        let v = &job.virtuals[0];
        assert_eq!(v.servers[0].port, Some(8080));
        assert_eq!(v.send.as_deref(), Some("GET / HTTP/1.0\\r\\n\\r\\n"));
        assert_eq!(
            ipvsadm_line(&c, &job, State::Up, 3, false),
            "/sbin/ipvsadm -e -t 10.0.0.100:80 -r 10.0.1.11:8080 -g -w 3"
        );
    }

    #[test]
    fn popt_spellings() {
        let c = parse(&["--server=10.0.0.1", "--port=443", "-t3", "--udp", "--fos"]);
        assert_eq!((c.port, c.interval, c.udp, c.fos), (443, 3, true, true));
        let job = job_from(&c, "10.0.0.1".parse().unwrap(), None);
        assert_eq!(job.virtuals[0].reentry, 3);
        assert_eq!(job.virtuals[0].protocol, Protocol::Udp);
    }

    #[test]
    fn errors_like_piranha() {
        assert_eq!(main_with(vec!["nanny".into(), "--lvs".into()]), 1);
        assert_eq!(
            main_with(vec![
                "nanny".into(),
                "-h".into(),
                "10.0.0.300".into(),
                "--lvs".into()
            ]),
            1
        );
        assert_eq!(
            main_with(vec!["nanny".into(), "-h".into(), "10.0.0.3".into()]),
            1
        );
        assert_eq!(main_with(vec!["nanny".into(), "--bogus".into()]), 1);
    }
}
