//! The routes for scripts: the JSON API (`/api/v1/config`, `/api/v1/status`,
//! `/api/v1/set`, `/api/v1/unset`) and `/metrics` (Prometheus). Scripts may
//! log in with HTTP Basic on each request; a cookie session must send its
//! CSRF token in `X-CSRF-Token` to change anything. Edits carry the
//! `serial_no` they read and are refused (409) when the file moved on.

use super::app::App;
use super::auth::Auth;
use super::reply::{header_str, json, read_snapshot};
use crate::panel;
use crate::session;
use crate::status;
use crate::store::{Expect, SaveError};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use lvscf_parser::Document;

/// GET /metrics.
pub async fn metrics(State(app): State<App>) -> Response {
    let (pulse, lvsd) = tokio::join!(
        status::pulse_status(&app.options().pulse_socket),
        app.lvsd_live()
    );
    let serial = app
        .snapshot()
        .ok()
        .filter(|s| !s.doc.has_errors())
        .map(|s| s.serial());
    let text = crate::metrics::render(lvsd.status.as_deref().ok(), pulse.as_ref().ok(), serial);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

fn diag_json(doc: &Document) -> serde_json::Value {
    serde_json::Value::Array(
        doc.diagnostics()
            .iter()
            .map(|d| {
                serde_json::json!({
                    "severity": d.severity.to_string(),
                    "code": d.code.as_str(),
                    "line": d.line,
                    "column": d.column,
                    "keyword": d.keyword,
                    "message": d.message,
                    "hint": d.hint,
                })
            })
            .collect(),
    )
}

/// GET /api/v1/config: the configuration as the daemons read it.
pub async fn config(State(app): State<App>) -> Response {
    let snap = match read_snapshot(&app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match snap.doc.load() {
        Ok((config, _)) => match serde_json::to_value(config) {
            Ok(v) => json(StatusCode::OK, v),
            Err(e) => json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"error": e.to_string()}),
            ),
        },
        Err(_) => json(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"error": "lvs.cf does not load", "diagnostics": diag_json(&snap.doc)}),
        ),
    }
}

/// GET /api/v1/status: the daemons' documents, or why each is missing;
/// `lvsd_age_ms`: how old lvsd's is (shared between requests for a short
/// while, [`crate::live_cache`]).
pub async fn status(State(app): State<App>) -> Response {
    let (pulse, live) = tokio::join!(
        status::pulse_status(&app.options().pulse_socket),
        app.lvsd_live()
    );
    let pulse = pulse
        .map(|p| serde_json::to_value(p).unwrap_or_default())
        .unwrap_or_else(|e| serde_json::json!({"error": format!("pulse is not running: {e}")}));
    // Written straight from the shared document: lvsd's is several MiB
    // with thousands of servers, too big to copy into a `Value` first.
    let answer = StatusAnswer {
        pulse,
        lvsd: match &live.status {
            Ok(l) => LvsdAnswer::Status(l),
            Err(e) => LvsdAnswer::Error {
                error: format!("lvsd is not running: {e}"),
            },
        },
        lvsd_age_ms: u64::try_from(live.age().as_millis()).unwrap_or(u64::MAX),
    };
    match serde_json::to_vec(&answer) {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"error": e.to_string()}),
        ),
    }
}

/// The body of /api/v1/status.
#[derive(serde::Serialize)]
struct StatusAnswer<'a> {
    pulse: serde_json::Value,
    lvsd: LvsdAnswer<'a>,
    lvsd_age_ms: u64,
}

/// lvsd's document, or why there is none.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum LvsdAnswer<'a> {
    Status(&'a lvs_status::LvsdStatus),
    Error { error: String },
}

/// The body of /api/v1/set and /api/v1/unset.
#[derive(serde::Deserialize)]
struct ApiEdit {
    key: String,
    #[serde(default)]
    value: Option<String>,
    serial: Option<u64>,
}

/// Whether a `Content-Type` names JSON: the media type before any
/// parameter, in any case (media types are case-insensitive).
fn is_json(ctype: &str) -> bool {
    let essence = ctype.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// The rules of every API call that changes something: a JSON body, and
/// a cookie session's CSRF token in `X-CSRF-Token` (HTTP Basic clients
/// need none); the body as `T`.
pub(super) fn json_request<T: serde::de::DeserializeOwned>(
    auth: &Auth,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Response> {
    if !is_json(header_str(headers, header::CONTENT_TYPE).unwrap_or("")) {
        return Err(json(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            serde_json::json!({"error": "send application/json"}),
        ));
    }
    if !auth.basic {
        let token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
        if !session::csrf_ok(&auth.csrf, token) {
            return Err(json(
                StatusCode::FORBIDDEN,
                serde_json::json!({"error": "cookie sessions must send X-CSRF-Token"}),
            ));
        }
    }
    serde_json::from_slice::<T>(body).map_err(|e| {
        json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": e.to_string()}),
        )
    })
}

async fn edit(app: App, auth: &Auth, edit: ApiEdit, unset: bool) -> Response {
    let Some(serial) = edit.serial else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "`serial` (the serial_no you read) is required"}),
        );
    };
    let key = edit.key;
    let value = edit.value.unwrap_or_default();
    let policy = app.policy();
    let author = auth.author();
    let result = app
        .store()
        .save(Expect::Serial(serial), author.clone(), move |doc| {
            panel::api_edit(doc, &key, &value, unset, &policy)
        })
        .await;
    match result {
        Ok(saved) => {
            if saved.written {
                super::panels::log_saved(&author, &saved);
            }
            json(
                StatusCode::OK,
                serde_json::json!({"ok": true, "changed": saved.written, "serial": saved.snapshot.serial(), "summary": saved.summary}),
            )
        }
        Err(SaveError::Conflict(snap)) => json(
            StatusCode::CONFLICT,
            serde_json::json!({"error": "lvs.cf changed since you read it", "serial": snap.serial()}),
        ),
        Err(SaveError::Invalid(e)) => json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "refused", "fields": e.fields, "general": e.general}),
        ),
        Err(SaveError::Io(e)) => {
            tracing::error!(error = %e, "saving lvs.cf failed");
            let (status, msg) = crate::store::describe_save_failure(app.store().path(), &e);
            json(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                serde_json::json!({ "error": msg }),
            )
        }
    }
}

/// POST /api/v1/set.
pub async fn set(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match json_request::<ApiEdit>(&auth, &headers, &body) {
        Ok(e) => edit(app, &auth, e, false).await,
        Err(r) => r,
    }
}

/// POST /api/v1/unset.
pub async fn unset(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match json_request::<ApiEdit>(&auth, &headers, &body) {
        Ok(e) => edit(app, &auth, e, true).await,
        Err(r) => r,
    }
}
