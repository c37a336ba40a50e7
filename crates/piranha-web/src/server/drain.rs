//! DRAIN of a real server: `GET /virtual/{v}/real/{s}/drain` (the
//! confirmation page; `?cancel=1` for END DRAIN), its `POST` (the form's
//! CSRF token, then lvsd is asked), and `POST /api/v1/drain` for scripts
//! (`{"virtual": V, "server": S, "cancel": false}`, the API's JSON and
//! CSRF rules; the answer is lvsd's `DrainResult`).
//!
//! lvsd does the drain (weight 0, then `active = 0` in lvs.cf when no
//! active connection is left); lvsd's socket lets only root and the group
//! piranha ask, which the web tool's user is in.

use super::app::App;
use super::auth::Auth;
use super::reply::{html, json, plain, query_params, read_snapshot};
use crate::forms;
use crate::pages;
use crate::status;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::Extension;
use lvs_status::{DrainRequest, DrainResult};

/// Asks lvsd, logs who asked, and drops the pages' copy of lvsd's status
/// so that the next page shows the drain.
async fn ask(app: &App, auth: &Auth, request: DrainRequest) -> Result<DrainResult, String> {
    let author = auth.author();
    let (v, s, cancel) = (
        request.virtual_name.clone(),
        request.server.clone(),
        request.cancel,
    );
    let answer = status::lvsd_drain(&app.options().lvsd_socket, request)
        .await
        .map_err(|e| e.to_string());
    app.live_cache().invalidate().await;
    let what = if cancel { "end of drain" } else { "drain" };
    match &answer {
        Ok(r) if r.ok => tracing::info!(
            who = %author.who, from = %author.from,
            "{what} of virtual {v} server {s}: {} active connection(s) left", r.active_conns
        ),
        Ok(r) => tracing::warn!(
            who = %author.who, from = %author.from,
            "{what} of virtual {v} server {s} refused by lvsd: {}", r.error.as_deref().unwrap_or("")
        ),
        Err(e) => tracing::warn!(
            who = %author.who, from = %author.from,
            "{what} of virtual {v} server {s}: lvsd not reached: {e}"
        ),
    }
    answer
}

/// GET: what DRAIN (or END DRAIN) will do, and the button that does it.
pub async fn confirm_page(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    UrlPath((vname, sname)): UrlPath<(String, String)>,
    uri: Uri,
) -> Response {
    let cancel = forms::param(&query_params(&uri), "cancel").is_some_and(|v| v == "1");
    let snap = match read_snapshot(&app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let config = snap.doc.config();
    let Some(server) = config
        .virtual_named(&vname)
        .and_then(|v| v.servers.iter().find(|s| s.name == sname))
    else {
        return plain(StatusCode::NOT_FOUND, "no such real server\n");
    };
    let live = app.lvsd_live().await;
    let running = live.status.as_ref().ok().and_then(|st| {
        st.services
            .iter()
            .find(|v| v.name == vname)
            .and_then(|v| v.servers.iter().find(|r| r.server == sname))
    });
    html(
        StatusCode::OK,
        pages::drain_confirm(&auth.page_ctx(), &vname, server, running, cancel),
    )
}

/// POST of the confirmation page.
pub async fn drain_post(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    UrlPath((vname, sname)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    let p = match auth.checked_form(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let cancel = forms::param(&p, "cancel").is_some_and(|v| v == "1");
    let answer = ask(
        &app,
        &auth,
        DrainRequest {
            virtual_name: vname.clone(),
            server: sname.clone(),
            cancel,
        },
    )
    .await;
    let code = match &answer {
        Ok(r) if r.ok => StatusCode::OK,
        Ok(_) => StatusCode::CONFLICT,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    html(
        code,
        pages::drain_done(&auth.page_ctx(), &vname, &sname, cancel, &answer),
    )
}

/// POST /api/v1/drain.
pub async fn api_drain(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match super::api::json_request::<DrainRequest>(&auth, &headers, &body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    match ask(&app, &auth, request).await {
        Ok(r) => {
            let code = if r.ok {
                StatusCode::OK
            } else {
                StatusCode::CONFLICT
            };
            json(code, serde_json::to_value(&r).unwrap_or_default())
        }
        Err(e) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"ok": false, "error": format!("lvsd is not running: {e}")}),
        ),
    }
}
