//! The daemons' status sockets, pulse's reload request, and the copy of
//! lvs.cf to the backup router.
//!
//! The exchange and the documents are the `lvs-status` crate's, shared
//! with the daemons. An absent socket means the daemon is not running;
//! that is not an error for the pages, which say so.

use lvscf_parser::{Config, Host};
use std::path::Path;
use std::time::Duration;

pub use lvs_status::lvsd::{LvsdStatus, Server as RealStatus, Service as ServiceStatus, Stats};
pub use lvs_status::{ClientError, PulseStatus, ReloadResult};

/// Time allowed for a whole socket exchange.
pub const SOCKET_TIMEOUT: Duration = Duration::from_secs(2);

/// lvsd's status, or why it is unavailable.
pub async fn lvsd_status(socket: &Path) -> Result<LvsdStatus, ClientError> {
    lvs_status::client::request_within(socket, lvs_status::Request::Status, SOCKET_TIMEOUT).await
}

/// pulse's status, or why it is unavailable.
pub async fn pulse_status(socket: &Path) -> Result<PulseStatus, ClientError> {
    lvs_status::client::request_within(socket, lvs_status::Request::Status, SOCKET_TIMEOUT).await
}

/// Asks lvsd to drain a real server, or to end its drain; the answer is
/// where the server stands (`ok: false` with lvsd's reason when it
/// refused). lvsd reprograms the table before it answers, so this gets
/// more time than a status.
pub async fn lvsd_drain(
    socket: &Path,
    request: lvs_status::DrainRequest,
) -> Result<lvs_status::DrainResult, ClientError> {
    lvs_status::client::request_within(
        socket,
        lvs_status::Request::Drain(request),
        4 * SOCKET_TIMEOUT,
    )
    .await
}

/// Asks pulse to reload lvs.cf; the answer is the reload's result. A
/// reload takes longer than a status (pulse parses the file and forwards
/// SIGHUP), so it gets more time.
pub async fn pulse_reload(socket: &Path) -> Result<ReloadResult, ClientError> {
    lvs_status::client::request_within(socket, lvs_status::Request::Reload, 4 * SOCKET_TIMEOUT)
        .await
}

/// The backup's copy differs from ours, according to pulse's digests.
pub fn backup_differs(pulse: &PulseStatus) -> bool {
    pulse.partner_config_differs()
}

/// The digest pulse reports for the lvs.cf it runs (`config_digest.ours`):
/// the first 8 bytes of the SHA-256 of the file, in hex.
pub fn config_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// lvs.cf on disk (`disk`, its bytes) is not the file pulse runs: it was
/// saved since pulse last loaded it, and APPLY would put it in force.
pub fn disk_differs_from_running(disk: &[u8], pulse: &PulseStatus) -> bool {
    !pulse
        .config_digest
        .ours
        .eq_ignore_ascii_case(&config_digest(disk))
}

/// Why lvs.cf was not copied to the backup router. The messages are what
/// the page shows; a failed copy carries the command's output.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// `backup` is missing or 0.0.0.0.
    #[error("no backup router is configured (REDUNDANCY)")]
    NoBackup,
    /// `backup` is a host name: only a literal address is ever used.
    #[error("the backup router `{0}` is a host name; configure its address")]
    HostName(String),
    /// lvs.cf's path is relative or not UTF-8.
    #[error("the configuration path must be absolute")]
    RelativePath,
    /// scp or rcp could not be started.
    #[error("{program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why it did not start.
        source: std::io::Error,
    },
    /// The copy took longer than allowed (it was killed).
    #[error("{command} did not finish within {secs} s")]
    Timeout {
        /// The command line.
        command: String,
        /// The time allowed.
        secs: u64,
    },
    /// Waiting for the copy failed.
    #[error("{0}")]
    Wait(std::io::Error),
    /// The copy ran and failed.
    #[error("{output}\nexit status: {status}")]
    Failed {
        /// The command line and its output.
        output: String,
        /// How it ended.
        status: std::process::ExitStatus,
    },
}

/// The argv that copies lvs.cf to the backup router: `scp` when
/// `rsh_command` is ssh, else `rcp`. Only a literal IP address is used as
/// the destination, so nothing in lvs.cf can become an option.
pub fn copy_argv(config: &Config, path: &Path) -> Result<Vec<String>, CopyError> {
    let backup = match &config.backup {
        Some(Host::Ip(ip)) if !ip.is_unspecified() => *ip,
        Some(Host::Ip(_)) | None => return Err(CopyError::NoBackup),
        Some(Host::Name(n)) => return Err(CopyError::HostName(n.clone())),
    };
    let file = path
        .to_str()
        .filter(|p| p.starts_with('/'))
        .ok_or(CopyError::RelativePath)?;
    let host = match backup {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let dest = format!("{host}:{file}");
    let ssh = config.rsh_command.trim().ends_with("ssh");
    Ok(if ssh {
        vec![
            "scp".into(),
            "-q".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "ConnectTimeout=10".into(),
            file.to_string(),
            dest,
        ]
    } else {
        vec!["rcp".into(), file.to_string(), dest]
    })
}

/// Most bytes of a copy's output kept for the page.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// Runs the copy without a shell, with a timeout; returns its output.
pub async fn copy_to_backup(
    config: &Config,
    path: &Path,
    timeout: Duration,
) -> Result<String, CopyError> {
    let argv = copy_argv(config, path)?;
    run_copy(&argv[0], &argv[1..], timeout).await
}

/// Runs `program` with `args` (no shell) within `timeout`: the command
/// line and its output, at most [`MAX_OUTPUT`] bytes of it.
async fn run_copy(program: &str, args: &[String], timeout: Duration) -> Result<String, CopyError> {
    let command = std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|source| CopyError::Spawn {
        program: program.to_string(),
        source,
    })?;
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| CopyError::Timeout {
            command: command.clone(),
            secs: timeout.as_secs(),
        })?
        .map_err(CopyError::Wait)?;
    let mut text = format!("$ {command}\n");
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    clip(&mut text, MAX_OUTPUT);
    if out.status.success() {
        Ok(text)
    } else {
        Err(CopyError::Failed {
            output: text,
            status: out.status,
        })
    }
}

/// Cuts `text` to at most `max` bytes, on a character boundary.
fn clip(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_argv_uses_scp_or_rcp_and_only_addresses() {
        let doc = lvscf_parser::Document::parse("t", "backup = 10.0.0.2\nrsh_command = ssh\n");
        let c = doc.config().clone();
        let argv = copy_argv(&c, Path::new("/etc/sysconfig/ha/lvs.cf")).expect("argv");
        assert_eq!(argv[0], "scp");
        assert_eq!(
            argv.last().map(String::as_str),
            Some("10.0.0.2:/etc/sysconfig/ha/lvs.cf")
        );
        let doc = lvscf_parser::Document::parse("t", "backup = 10.0.0.2\n");
        let argv = copy_argv(doc.config(), Path::new("/x/lvs.cf")).expect("argv");
        assert_eq!(argv, vec!["rcp", "/x/lvs.cf", "10.0.0.2:/x/lvs.cf"]);
        let doc = lvscf_parser::Document::parse("t", "primary = 10.0.0.1\n");
        assert!(copy_argv(doc.config(), Path::new("/x/lvs.cf")).is_err());
    }

    #[test]
    fn digests_compare() {
        let status = |partner: Option<&str>| -> PulseStatus {
            serde_json::from_value(serde_json::json!({
                "daemon": "pulse", "pid": 1, "role": "master", "state": "active",
                "link_failure": false, "child_failure": false,
                "partner": {"state": "inactive", "last_heartbeat_age_ms": 10, "unwilling": false},
                "heartbeat": {"mode": "enforce", "key_ids": [0], "send_key": 0, "keepalive": 1.0,
                    "deadtime": 3.0, "accepted": 5, "accepted_signed": 5, "accepted_unsigned": 0,
                    "boot_id": 7, "partner_boot_id": 8, "drops": {"replay": 0}, "channels": []},
                "config_digest": {"ours": "a", "partner": partner,
                    "match": partner.map(|p| p == "a")},
                "lvsd_pid": null
            }))
            .expect("a pulse status")
        };
        assert!(backup_differs(&status(Some("b"))));
        // "a" is no digest of anything: the file on disk is not pulse's.
        assert!(disk_differs_from_running(b"x", &status(None)));
        // SHA-256("abc") starts ba7816bf8f01cfea.
        assert_eq!(config_digest(b"abc"), "ba7816bf8f01cfea");
        assert!(!backup_differs(&status(Some("a"))));
        assert!(!backup_differs(&status(None)));
    }

    /// scp's and rcp's messages may be in the user's language: a long
    /// output cut at [`MAX_OUTPUT`] in the middle of a character used to
    /// panic (`String::truncate`), which killed the request.
    #[test]
    fn long_output_is_cut_on_a_character_boundary() {
        let dir = std::env::temp_dir().join(format!("piranha-web-clip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("out");
        let file_arg = file.display().to_string();
        // "$ cat FILE\n" then the file: make the cut fall inside an "é".
        let prefix = format!("$ cat {file_arg}\n").len();
        let pad = if (MAX_OUTPUT - prefix) % 2 == 0 {
            "a"
        } else {
            ""
        };
        std::fs::write(&file, format!("{pad}{}", "é".repeat(MAX_OUTPUT))).expect("write");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let out = rt
            .block_on(run_copy("cat", &[file_arg], Duration::from_secs(10)))
            .expect("cat runs");
        assert_eq!(out.len(), MAX_OUTPUT - 1);
        assert!(out.ends_with('é'), "{}", &out[out.len() - 8..]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
