//! GET and POST of NEW VIRTUAL SERVER: the form; "add another real
//! server" shows it again with one more row; CREATE saves it all at once.

use super::app::App;
use super::auth::Auth;
use super::panels::log_saved;
use super::reply::{html, read_snapshot, see_other};
use crate::forms::FieldErrors;
use crate::pages::{self, FormState};
use crate::store::{Expect, SaveError};
use crate::urls::virtual_url;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;

fn page(
    app: &App,
    auth: &Auth,
    status: StatusCode,
    fs: FormState,
    warned: bool,
    alert: Option<String>,
) -> Response {
    let snap = match read_snapshot(app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut c = auth.page_ctx();
    c.warned = warned;
    c.alerts.extend(alert);
    html(status, pages::new_virtual(&c, &snap.hash, &fs))
}

/// GET /virtual/new.
pub async fn show(State(app): State<App>, Extension(auth): Extension<Auth>) -> Response {
    page(
        &app,
        &auth,
        StatusCode::OK,
        FormState::default(),
        false,
        None,
    )
}

/// POST /virtual/new.
pub async fn post(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    body: Bytes,
) -> Response {
    let p = match auth.checked_form(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let keep = |errors: FieldErrors| FormState {
        submitted: Some(p.clone()),
        errors,
    };
    if crate::newvirtual::wants_more(&p) {
        return page(
            &app,
            &auth,
            StatusCode::OK,
            keep(FieldErrors::default()),
            false,
            None,
        );
    }
    let version = crate::forms::param(&p, "version").unwrap_or("").to_string();
    let (form, policy) = (p.clone(), app.policy());
    let edit = crate::warnings::checked(&p, move |d| {
        crate::newvirtual::apply(d, &form, &policy).map(|n| virtual_url(&n, "real"))
    });
    let author = auth.author();
    // An addition merges with any other change (a name taken meanwhile is
    // refused on the name field).
    let expect = Expect::Loaded(version, std::sync::Arc::new(|_| true));
    match app.store().save(expect, author.clone(), edit).await {
        Ok(saved) => {
            if saved.written {
                log_saved(&author, &saved);
            }
            see_other(&crate::view::with_query(&saved.value, "saved=1"))
        }
        Err(SaveError::Invalid(e)) if e.only_warnings() => page(
            &app,
            &auth,
            StatusCode::UNPROCESSABLE_ENTITY,
            keep(e),
            true,
            None,
        ),
        Err(SaveError::Invalid(e)) => {
            page(&app, &auth, StatusCode::BAD_REQUEST, keep(e), false, None)
        }
        Err(SaveError::Conflict(_)) => page(
            &app,
            &auth,
            StatusCode::CONFLICT,
            keep(FieldErrors::default()),
            false,
            Some("lvs.cf does not load now; nothing was saved.".into()),
        ),
        Err(SaveError::Io(e)) => {
            let (status, msg) = crate::store::describe_save_failure(app.store().path(), &e);
            page(
                &app,
                &auth,
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                keep(FieldErrors::default()),
                false,
                Some(msg),
            )
        }
    }
}
