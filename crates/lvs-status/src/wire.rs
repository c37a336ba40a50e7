//! The request and answer lines.

use serde::{Deserialize, Serialize};

/// Longest request line a daemon reads.
pub const MAX_REQUEST: usize = 4096;
/// Longest answer a client reads (a table of 2,000 x 10 is about 1.3 MB).
pub const MAX_ANSWER: usize = 16 << 20;

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase")]
pub enum Request {
    /// The daemon's status document.
    Status,
    /// Re-read lvs.cf (pulse only; root or the group piranha).
    Reload,
    /// Drain one real server, or end its drain (lvsd only; root or the
    /// group piranha). The answer is a [`DrainResult`].
    Drain(DrainRequest),
}

/// Which real server to drain: weight 0 at once (its connections go on),
/// then, when it has no active connection left, `active = 0` in lvs.cf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainRequest {
    /// `virtual NAME`.
    #[serde(rename = "virtual")]
    pub virtual_name: String,
    /// `server NAME`.
    pub server: String,
    /// End the drain instead: the server's weight comes back.
    #[serde(default)]
    pub cancel: bool,
}

impl Request {
    /// The request line, without its newline.
    pub fn line(&self) -> String {
        match serde_json::to_string(self) {
            Ok(s) => s,
            // Strings and booleans always serialize; keep the fallback exact.
            Err(_) => match self {
                Request::Status => r#"{"cmd":"status"}"#.into(),
                Request::Reload => r#"{"cmd":"reload"}"#.into(),
                Request::Drain(d) => serde_json::json!({
                    "cmd": "drain", "virtual": d.virtual_name, "server": d.server, "cancel": d.cancel
                })
                .to_string(),
            },
        }
    }

    /// Parses a request line; the error is the answer to send.
    pub fn parse(line: &str) -> Result<Request, ErrorAnswer> {
        let v: serde_json::Value = serde_json::from_str(line.trim())
            .map_err(|e| ErrorAnswer::new(format!("bad request: {e}")))?;
        match v.get("cmd").and_then(serde_json::Value::as_str) {
            Some("status") => Ok(Request::Status),
            Some("reload") => Ok(Request::Reload),
            Some("drain") => serde_json::from_value::<DrainRequest>(v)
                .map(Request::Drain)
                .map_err(|e| ErrorAnswer::new(format!("bad drain request: {e}"))),
            Some(other) => Err(ErrorAnswer::new(format!("unknown command {other:?}"))),
            None => Err(ErrorAnswer::new("bad request: no \"cmd\"")),
        }
    }
}

/// The answer to a request a daemon does not serve, or cannot answer:
/// `{"ok":false,"error":"..."}` (the shape of a failed reload, so that a
/// client asking for a reload reads either the same way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    /// What was wrong.
    pub error: String,
}

impl ErrorAnswer {
    /// An answer saying `error`.
    pub fn new(error: impl Into<String>) -> ErrorAnswer {
        ErrorAnswer {
            error: error.into(),
        }
    }

    /// The answer line.
    pub fn line(&self) -> String {
        serde_json::json!({ "ok": false, "error": self.error }).to_string()
    }
}

/// The answer to `reload`: whether the new lvs.cf is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadResult {
    /// The reload happened.
    pub ok: bool,
    /// Why not (the parser's messages for an invalid file, "permission
    /// denied", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ReloadResult {
    /// A reload that happened.
    pub fn done() -> ReloadResult {
        ReloadResult {
            ok: true,
            error: None,
        }
    }

    /// A reload that did not happen, and why.
    pub fn failed(why: impl Into<String>) -> ReloadResult {
        ReloadResult {
            ok: false,
            error: Some(why.into()),
        }
    }

    /// The answer line.
    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| ErrorAnswer::new(e.to_string()).line())
    }
}

/// The answer to `drain`: the server's state after the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainResult {
    /// The request was carried out.
    pub ok: bool,
    /// Why not (no such server, not active, permission denied, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the server is now draining.
    #[serde(default)]
    pub draining: bool,
    /// Its active connections in the kernel now.
    #[serde(default)]
    pub active_conns: u32,
    /// Its inactive connections in the kernel now.
    #[serde(default)]
    pub inactive_conns: u32,
}

impl DrainResult {
    /// A request that could not be carried out, and why.
    pub fn failed(why: impl Into<String>) -> DrainResult {
        DrainResult {
            ok: false,
            error: Some(why.into()),
            draining: false,
            active_conns: 0,
            inactive_conns: 0,
        }
    }

    /// The answer line.
    pub fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| ErrorAnswer::new(e.to_string()).line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(Request::Status.line(), r#"{"cmd":"status"}"#);
        assert_eq!(Request::Reload.line(), r#"{"cmd":"reload"}"#);
        assert_eq!(
            Request::parse(" {\"cmd\":\"status\"}\n"),
            Ok(Request::Status)
        );
        assert_eq!(
            Request::parse(r#"{"cmd":"reload","x":1}"#),
            Ok(Request::Reload)
        );
        assert_eq!(
            Request::parse(r#"{"cmd":"flush"}"#).map_err(|e| e.line()),
            Err(r#"{"error":"unknown command \"flush\"","ok":false}"#.to_string())
        );
        let drain = Request::Drain(DrainRequest {
            virtual_name: "web".into(),
            server: "s2".into(),
            cancel: false,
        });
        assert_eq!(
            drain.line(),
            r#"{"cmd":"drain","virtual":"web","server":"s2","cancel":false}"#
        );
        assert_eq!(
            Request::parse(r#"{"cmd":"drain","virtual":"web","server":"s2"}"#),
            Ok(drain)
        );
        assert!(Request::parse(r#"{"cmd":"drain","virtual":"web"}"#).is_err());
        assert!(Request::parse("status").is_err());
        assert!(Request::parse("{}").is_err());
    }

    #[test]
    fn reload_results() {
        assert_eq!(ReloadResult::done().line(), r#"{"ok":true}"#);
        assert_eq!(
            ReloadResult::failed("lvs.cf:3:1: error").line(),
            r#"{"ok":false,"error":"lvs.cf:3:1: error"}"#
        );
        let back: ReloadResult = serde_json::from_str(r#"{"ok":true}"#).expect("parse");
        assert_eq!(back, ReloadResult::done());
    }
}
