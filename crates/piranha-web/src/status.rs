//! The daemons' status sockets, pulse's reload request, and the copy of
//! lvs.cf to the backup router.
//!
//! Each socket takes one JSON request line and answers one JSON document.
//! An absent socket means the daemon is not running; that is not an error
//! for the pages, which say so.

use lvscf_parser::{Config, Host};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest answer read from a socket.
pub const MAX_ANSWER: usize = 1 << 20;
/// Time allowed for a whole socket exchange.
pub const SOCKET_TIMEOUT: Duration = Duration::from_secs(2);

/// Packet and byte counters of a service or destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets in.
    pub inpkts: u64,
    /// Packets out.
    pub outpkts: u64,
    /// Bytes in.
    pub inbytes: u64,
    /// Bytes out.
    pub outbytes: u64,
}

/// One real server as lvsd reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RealStatus {
    /// Its name in lvs.cf.
    pub server: String,
    /// Address.
    pub address: String,
    /// Port.
    pub port: u16,
    /// `up`, `down`, ... as nanny reported it.
    pub state: String,
    /// Weight in the kernel table.
    pub weight: i64,
    /// Active connections.
    pub active_conns: u64,
    /// Inactive connections.
    pub inactive_conns: u64,
    /// Counters.
    pub stats: Stats,
}

/// One virtual service as lvsd reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceStatus {
    /// Its name in lvs.cf.
    #[serde(rename = "virtual")]
    pub name: String,
    /// tcp, udp, sctp.
    pub protocol: String,
    /// VIP.
    pub address: String,
    /// Port.
    pub port: u16,
    /// Firewall mark, if the service is one.
    pub fwmark: Option<u32>,
    /// Scheduler.
    pub scheduler: String,
    /// Persistence timeout.
    pub persistent: u64,
    /// Counters.
    pub stats: Stats,
    /// Real servers.
    pub servers: Vec<RealStatus>,
}

/// lvsd's answer to `{"cmd":"status"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LvsdStatus {
    /// The services in the kernel table.
    pub services: Vec<ServiceStatus>,
}

/// Sends one request line to a Unix socket and reads one JSON answer.
pub async fn query(socket: &Path, request: &str) -> Result<serde_json::Value, String> {
    let exchange = async {
        let mut stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| format!("{}: {e}", socket.display()))?;
        stream
            .write_all(format!("{request}\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() > MAX_ANSWER {
                return Err("answer too long".to_string());
            }
            if serde_json::from_slice::<serde_json::Value>(&buf).is_ok() {
                break;
            }
        }
        serde_json::from_slice::<serde_json::Value>(&buf).map_err(|e| format!("bad answer: {e}"))
    };
    tokio::time::timeout(SOCKET_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err("no answer in time".to_string()))
}

/// lvsd's status, or why it is unavailable.
pub async fn lvsd_status(socket: &Path) -> Result<LvsdStatus, String> {
    let v = query(socket, r#"{"cmd":"status"}"#).await?;
    serde_json::from_value(v).map_err(|e| format!("unexpected answer from lvsd: {e}"))
}

/// pulse's status (rendered generically), or why it is unavailable.
pub async fn pulse_status(socket: &Path) -> Result<serde_json::Value, String> {
    query(socket, r#"{"cmd":"status"}"#).await
}

/// Asks pulse to reload lvs.cf.
pub async fn pulse_reload(socket: &Path) -> Result<serde_json::Value, String> {
    query(socket, r#"{"cmd":"reload"}"#).await
}

/// Flattens a JSON document into `a.b.c = value` rows, for display.
pub fn flatten(v: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&p, x, out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), x, out);
                }
            }
            serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
        if out.len() > 1000 {
            out.truncate(1000);
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out
}

/// A string field of pulse's status, looked up by a dotted path.
pub fn pulse_field<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

/// The backup's copy differs from ours, according to pulse's digests.
pub fn backup_differs(pulse: &serde_json::Value) -> bool {
    match (
        pulse_field(pulse, "config_digest").and_then(|v| v.as_str()),
        pulse_field(pulse, "partner_config_digest").and_then(|v| v.as_str()),
    ) {
        (Some(a), Some(b)) => !a.is_empty() && !b.is_empty() && a != b,
        _ => false,
    }
}

/// The argv that copies lvs.cf to the backup router: `scp` when
/// `rsh_command` is ssh, else `rcp`. Only a literal IP address is used as
/// the destination, so nothing in lvs.cf can become an option.
pub fn copy_argv(config: &Config, path: &Path) -> Result<Vec<String>, String> {
    let backup = match &config.backup {
        Some(Host::Ip(ip)) if !ip.is_unspecified() => *ip,
        Some(Host::Ip(_)) | None => {
            return Err("no backup router is configured (REDUNDANCY)".into())
        }
        Some(Host::Name(n)) => {
            return Err(format!(
                "the backup router `{n}` is a host name; configure its address"
            ))
        }
    };
    let file = path
        .to_str()
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| "the configuration path must be absolute".to_string())?;
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

/// Runs the copy without a shell, with a timeout; returns its output.
pub async fn copy_to_backup(
    config: &Config,
    path: &Path,
    timeout: Duration,
) -> Result<String, String> {
    let argv = copy_argv(config, path)?;
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| format!("{}: {e}", argv[0]))?;
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| {
            format!(
                "{} did not finish within {} s",
                argv.join(" "),
                timeout.as_secs()
            )
        })?
        .map_err(|e| e.to_string())?;
    let mut text = format!("$ {}\n", argv.join(" "));
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if text.len() > 64 * 1024 {
        text.truncate(64 * 1024);
    }
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{text}\nexit status: {}", out.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lvsd_answer_parses_tolerantly() {
        let v = serde_json::json!({"services":[{"virtual":"web","protocol":"tcp","address":"10.0.0.100","port":80,"fwmark":null,"scheduler":"wlc","persistent":0,"stats":{"conns":1,"inpkts":2,"outpkts":3,"inbytes":4,"outbytes":5},"servers":[{"server":"r1","address":"10.0.1.11","port":80,"state":"up","weight":1,"active_conns":0,"inactive_conns":0,"extra":true}]}]});
        let s: LvsdStatus = serde_json::from_value(v).expect("parse");
        assert_eq!(s.services[0].servers[0].state, "up");
        assert_eq!(s.services[0].stats.outbytes, 5);
        let empty: LvsdStatus = serde_json::from_value(serde_json::json!({})).expect("parse");
        assert!(empty.services.is_empty());
    }

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
        assert!(backup_differs(
            &serde_json::json!({"config_digest":"a","partner_config_digest":"b"})
        ));
        assert!(!backup_differs(
            &serde_json::json!({"config_digest":"a","partner_config_digest":"a"})
        ));
        assert!(!backup_differs(&serde_json::json!({"config_digest":"a"})));
        let rows = flatten(&serde_json::json!({"role":"master","partner":{"state":"x"},"l":[1]}));
        assert!(rows.contains(&("partner.state".to_string(), "x".to_string())));
        assert!(rows.contains(&("l[0]".to_string(), "1".to_string())));
    }
}
