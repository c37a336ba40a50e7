//! Request limits, the shapes of answers (HTML, plain text, JSON, 303),
//! the strict headers every answer carries, and parameter decoding.

use super::app::App;
use crate::forms::Params;
use crate::store::Snapshot;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::Markup;

/// Largest request body accepted (413 above).
pub const MAX_BODY: usize = 256 * 1024;
/// Most form or query parameters accepted (413 above).
pub const MAX_PARAMS: usize = 256;
/// Longest request target accepted (414 above).
pub const MAX_URI: usize = 8 * 1024;
/// Longest request head (431 above).
pub const MAX_HEAD: usize = 32 * 1024;

/// An HTML page.
pub fn html(status: StatusCode, m: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        crate::pages::render(m),
    )
        .into_response()
}

/// Plain text.
pub fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.into(),
    )
        .into_response()
}

/// A JSON document.
pub fn json(status: StatusCode, v: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// A 303 to a path we built ourselves (names percent-encoded: no header
/// splitting is possible).
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => plain(StatusCode::BAD_REQUEST, "bad redirect target"),
    }
}

/// 404.
pub async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "not found")
}

/// The headers of every answer: no framing, no sniffing, no caching, only
/// our own scripts and forms.
pub async fn strict_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// A header's value, when it is text.
pub fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Decodes a urlencoded body or query, bounded in parameter count.
pub fn parse_params(bytes: &[u8]) -> Result<Params, Response> {
    if bytes.split(|b| *b == b'&').count() > MAX_PARAMS {
        return Err(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too many parameters\n",
        ));
    }
    Ok(form_urlencoded::parse(bytes).into_owned().collect())
}

/// The query's parameters (their number was bounded by the guard).
pub fn query_params(uri: &Uri) -> Params {
    uri.query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// lvs.cf as it is now, or the page that says how to make it readable.
pub fn read_snapshot(app: &App) -> Result<Snapshot, Response> {
    app.snapshot().map_err(|e| {
        plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "cannot read {}: {e}\nAs root: touch it, chmod 660 it and chown root:piranha it.\n",
                app.store().path().display()
            ),
        )
    })
}
