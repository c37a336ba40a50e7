//! The router: which handler answers which route, behind the guard and the
//! strict headers.

use super::app::App;
use super::auth::{self, guard};
use super::reply::{not_found, plain, see_other, strict_headers, MAX_BODY};
use super::{api, control, history, newvirtual, panels::panel};
use crate::panel::Panel;
use axum::extract::{DefaultBodyLimit, Path as UrlPath};
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

/// The router with every route, the guard and the headers.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/login", get(auth::login_page).post(auth::login_post))
        .route("/logout", post(auth::logout))
        .route("/static/{name}", get(static_asset))
        .route("/control", get(control::control))
        .route("/passwd", get(control::passwd_help))
        .route("/global", panel(|_| Some(Panel::Global)))
        .route("/redundancy", panel(|_| Some(Panel::Redundancy)))
        .route("/virtual", panel(|_| Some(Panel::VirtualList)))
        .route("/virtual/new", get(newvirtual::show).post(newvirtual::post))
        .route(
            "/virtual/{v}/edit",
            panel(|p| one(p).map(Panel::VirtualEdit)),
        )
        .route("/virtual/{v}/real", panel(|p| one(p).map(Panel::RealList)))
        .route(
            "/virtual/{v}/real/{s}/edit",
            panel(|p| two(p).map(|(v, s)| Panel::RealEdit(v, s))),
        )
        .route(
            "/virtual/{v}/scripts",
            panel(|p| one(p).map(Panel::Scripts)),
        )
        .route("/failover", panel(|_| Some(Panel::FailoverList)))
        .route(
            "/failover/{f}/edit",
            panel(|p| one(p).map(Panel::FailoverEdit)),
        )
        .route(
            "/failover/{f}/scripts",
            panel(|p| one(p).map(Panel::FailoverScripts)),
        )
        .route("/history", get(history::list))
        .route("/history/{seq}/restore", post(history::restore))
        .route("/apply", post(control::apply))
        .route("/sync", post(control::sync))
        .route("/metrics", get(api::metrics))
        .route("/api/v1/config", get(api::config))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/set", post(api::set))
        .route("/api/v1/unset", post(api::unset))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .layer(middleware::from_fn(strict_headers))
        .with_state(app)
}

/// The one path parameter of a route.
fn one(mut params: Vec<String>) -> Option<String> {
    (params.len() == 1).then(|| params.remove(0))
}

/// The two path parameters of a route.
fn two(params: Vec<String>) -> Option<(String, String)> {
    let [a, b]: [String; 2] = params.try_into().ok()?;
    Some((a, b))
}

async fn root() -> Response {
    see_other("/control")
}

/// The embedded assets: the only files ever served.
const ASSETS: &[(&str, &str, &str)] =
    &[("style.css", "text/css; charset=utf-8", crate::pages::STYLE)];

async fn static_asset(UrlPath(name): UrlPath<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, ctype, body)) => ([(header::CONTENT_TYPE, *ctype)], *body).into_response(),
        None => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}
