//! `lvscf drain virtual.NAME.server.NAME [--wait] [--cancel]`: asks lvsd
//! (its status socket) to drain one real server — weight 0 at once, the
//! established connections go on — and reports its active connections.
//! lvsd itself sets `active = 0` on the server in lvs.cf when none is left
//! and has the table reloaded, so the drain completes whether or not this
//! command waits; `--wait` follows it to that point.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use lvs_status::{DrainRequest, DrainResult, LvsdStatus, Request};
use lvscf_parser::keypath::KeyPath;
use lvscf_parser::{Document, Target};

/// What `lvscf drain` was asked.
pub struct DrainArgs<'a> {
    /// The server's block path (`virtual.web.server.s2`).
    pub path: &'a str,
    /// Follow the drain until lvs.cf says `active = 0`.
    pub wait: bool,
    /// End a drain instead.
    pub cancel: bool,
    /// Give up waiting after this long (the drain goes on).
    pub timeout: Option<Duration>,
    /// lvsd's status socket.
    pub socket: &'a Path,
    /// lvs.cf (re-read while waiting).
    pub config: &'a Path,
}

/// How often `--wait` looks.
const POLL: Duration = Duration::from_millis(500);

/// The virtual and server names of a block path of `doc`.
pub fn server_of(path: &str, doc: &Document) -> Result<(String, String), String> {
    let p = KeyPath::parse(path, doc).map_err(|e| e.to_string())?;
    match (p.target, p.key) {
        (
            Target::Server {
                virtual_name,
                server,
            },
            None,
        ) => {
            let known = doc
                .config()
                .virtuals
                .iter()
                .find(|v| v.name == virtual_name)
                .is_some_and(|v| v.servers.iter().any(|s| s.name == server));
            if known {
                Ok((virtual_name, server))
            } else {
                Err(format!(
                    "{}: virtual server `{virtual_name}` has no real server `{server}`",
                    doc.name()
                ))
            }
        }
        _ => Err(format!(
            "`{path}` is not a real server's block path (virtual.NAME.server.NAME)"
        )),
    }
}

/// Whether lvs.cf at `config` says `active = 0` for the server (or no
/// longer has it).
fn deactivated_in_file(config: &Path, virtual_name: &str, server: &str) -> Result<bool, String> {
    let bytes = lvscf_store::read_config_file(config)
        .map_err(|e| format!("failed to open {}: {e}", config.display()))?;
    let doc = Document::parse(config.display().to_string(), bytes);
    let active = doc
        .config()
        .virtuals
        .iter()
        .find(|v| v.name == virtual_name)
        .and_then(|v| v.servers.iter().find(|s| s.name == server))
        .is_some_and(|s| s.active);
    Ok(!active)
}

/// The server's line in lvsd's status: (draining, active, inactive).
fn in_status(st: &LvsdStatus, virtual_name: &str, server: &str) -> Option<(bool, u32, u32)> {
    st.services
        .iter()
        .filter(|v| v.name == virtual_name)
        .flat_map(|v| v.servers.iter())
        .find(|s| s.server == server)
        .map(|s| (s.draining, s.active_conns, s.inactive_conns))
}

/// Runs `lvscf drain`.
pub fn run(doc: &Document, args: &DrainArgs<'_>) -> Result<ExitCode, String> {
    let (virtual_name, server) = server_of(args.path, doc)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    let socket = PathBuf::from(args.socket);
    let ask = |req: Request| {
        rt.block_on(lvs_status::client::request::<serde_json::Value>(
            &socket, req,
        ))
        .map_err(|e| match e {
            lvs_status::ClientError::NotRunning { .. } => {
                format!("{e} (lvsd runs on the active router: drain there)")
            }
            e => e.to_string(),
        })
    };
    let answer = ask(Request::Drain(DrainRequest {
        virtual_name: virtual_name.clone(),
        server: server.clone(),
        cancel: args.cancel,
    }))?;
    let result: DrainResult =
        serde_json::from_value(answer).map_err(|e| format!("lvsd's answer: {e}"))?;
    if !result.ok {
        return Err(result.error.unwrap_or_else(|| "lvsd refused".into()));
    }
    let who = format!("virtual {virtual_name}: server {server}");
    if args.cancel {
        println!("{who}: drain cancelled; back at its weight");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{who}: draining (weight 0): {} active, {} inactive connection(s); lvsd sets active = 0 in {} when no active one is left",
        result.active_conns,
        result.inactive_conns,
        args.config.display()
    );
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let start = Instant::now();
    let mut shown = (result.active_conns, result.inactive_conns);
    loop {
        std::thread::sleep(POLL);
        if let Some(limit) = args.timeout {
            if start.elapsed() >= limit {
                eprintln!(
                    "lvscf: {who}: still {} active connection(s) after {} s; the drain goes on (`lvscf drain --cancel {}` ends it)",
                    shown.0,
                    limit.as_secs(),
                    args.path
                );
                return Ok(ExitCode::from(2));
            }
        }
        let st: LvsdStatus = ask(Request::Status)
            .and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()))?;
        let here = in_status(&st, &virtual_name, &server);
        if deactivated_in_file(args.config, &virtual_name, &server)? {
            // lvs.cf says so; done once the reload has taken it out.
            if here.is_none() {
                println!(
                    "{who}: drained and deactivated after {:.1} s: it can be stopped",
                    start.elapsed().as_secs_f64()
                );
                return Ok(ExitCode::SUCCESS);
            }
            continue;
        }
        match here {
            Some((true, active, inactive)) => {
                if (active, inactive) != shown {
                    println!("{who}: {active} active, {inactive} inactive connection(s)");
                    shown = (active, inactive);
                }
            }
            Some((false, ..)) | None => {
                return Err(format!(
                    "{who}: the drain ended before the server was deactivated (cancelled, or lvsd restarted)"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CF: &str = "serial_no = 1\nservice = lvs\nnetwork = nat\nvirtual web {\n    active = 1\n    address = 10.0.0.100 eth0:1\n    port = 80\n    server s2 {\n        address = 10.0.1.12\n        active = 1\n    }\n}\n";

    #[test]
    fn the_path_must_name_a_real_server() {
        let doc = Document::parse("lvs.cf", CF);
        assert_eq!(
            server_of("virtual.web.server.s2", &doc),
            Ok(("web".to_string(), "s2".to_string()))
        );
        for bad in ["virtual.web", "virtual.web.server.s2.weight", "keepalive"] {
            let e = server_of(bad, &doc).expect_err(bad);
            assert!(e.contains("not a real server"), "{bad}: {e}");
        }
        let e = server_of("virtual.web.server.s9", &doc).expect_err("s9");
        assert!(e.contains("has no real server `s9`"), "{e}");
    }

    #[test]
    fn a_server_set_inactive_or_removed_counts_as_deactivated() {
        let dir = std::env::temp_dir().join(format!("lvscf-drain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("lvs.cf");
        std::fs::write(&path, CF).expect("write");
        assert_eq!(deactivated_in_file(&path, "web", "s2"), Ok(false));
        std::fs::write(&path, CF.replace("active = 1\n    }", "active = 0\n    }")).expect("write");
        assert_eq!(deactivated_in_file(&path, "web", "s2"), Ok(true));
        assert_eq!(deactivated_in_file(&path, "web", "gone"), Ok(true));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
