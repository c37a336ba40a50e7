//! GET and POST of the editing panels. A GET shows the panel's page from
//! the file as it is; a POST checks the CSRF token, asks
//! [`Panel::decide`] what the form means, and saves the edit with the
//! stale-edit check (409 with the current values when somebody saved in
//! between), showing the form again with its errors when the edit is
//! refused.

use super::app::App;
use super::auth::Auth;
use super::reply::{html, not_found, plain, read_snapshot, see_other};
use crate::forms::{self, FieldErrors};
use crate::pages::{self, Ctx, FormState, ProgramsNote};
use crate::panel::{Outcome, Panel};
use crate::store::{Expect, SaveError, Snapshot};
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Extension;
use maud::Markup;

/// The page of `panel`.
fn render(panel: &Panel, c: &Ctx, snap: &Snapshot, fs: &FormState) -> Markup {
    let (d, h) = (&snap.doc, snap.hash.as_str());
    match panel {
        Panel::Global => pages::global(c, d, h, fs),
        Panel::Redundancy => pages::redundancy(c, d, h, fs),
        Panel::VirtualList => pages::virtual_list(c, d, h, fs),
        Panel::VirtualEdit(v) => pages::virtual_edit(c, d, h, v, fs),
        Panel::RealList(v) => pages::real_list(c, d, h, v, fs),
        Panel::RealEdit(v, s) => pages::real_edit(c, d, h, v, s, fs),
        Panel::Scripts(v) => pages::scripts(c, d, h, v, fs),
        Panel::FailoverList => pages::failover_list(c, d, h, fs),
        Panel::FailoverEdit(f) => pages::failover_edit(c, d, h, f, fs),
        Panel::FailoverScripts(f) => pages::failover_scripts(c, d, h, f, fs),
    }
}

/// The allowlist note of the pages with program fields.
fn programs_note(app: &App, panel: &Panel) -> Option<ProgramsNote> {
    panel
        .names_programs()
        .then(|| ProgramsNote::of(&app.policy(), &app.options().programs))
}

async fn show(app: &App, auth: &Auth, uri: &Uri, panel: Panel) -> Response {
    let snap = match read_snapshot(app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !panel.exists(&snap.doc) {
        return plain(
            StatusCode::NOT_FOUND,
            "no such virtual server, real server or failover service\n",
        );
    }
    let mut c = auth.saved_ctx(uri, &snap);
    c.programs = programs_note(app, &panel);
    c.loaded = crate::conflict::loaded(&panel, &snap.doc);
    if panel.list().is_some() {
        c.view = crate::view::ListView::from_query(&super::reply::query_params(uri));
        if panel != Panel::FailoverList {
            c.live = Some(
                crate::status::lvsd_status(&app.options().lvsd_socket)
                    .await
                    .map_err(|e| e.to_string()),
            );
        }
    }
    html(
        StatusCode::OK,
        render(&panel, &c, &snap, &FormState::default()),
    )
}

async fn post(app: &App, auth: &Auth, body: &Bytes, panel: Panel) -> Response {
    let p = match auth.checked_form(body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let version = forms::param(&p, "version").unwrap_or("").to_string();
    let rerender = |status: StatusCode, snap: &Snapshot, fs: FormState, alert: Option<String>| {
        let mut c = auth.page_ctx();
        c.alerts.extend(alert);
        let panel = if panel.exists(&snap.doc) {
            panel.clone()
        } else {
            panel.fallback()
        };
        c.programs = programs_note(app, &panel);
        c.loaded = crate::conflict::loaded(&panel, &snap.doc);
        html(status, render(&panel, &c, snap, &fs))
    };
    let outcome = match panel.decide(&p, &app.policy()) {
        Ok(o) => o,
        Err(errors) => {
            let snap = match read_snapshot(app) {
                Ok(s) => s,
                Err(r) => return r,
            };
            let fs = FormState {
                submitted: Some(p.clone()),
                errors,
            };
            return rerender(StatusCode::BAD_REQUEST, &snap, fs, None);
        }
    };
    let edit = match outcome {
        Outcome::Redirect(url) => return see_other(&url),
        Outcome::Nothing => return StatusCode::NO_CONTENT.into_response(),
        Outcome::Save(edit) => edit,
    };
    if let Some(title) = crate::confirm::question(&panel, &p) {
        if !crate::confirm::confirmed(&p) {
            return preview(app, auth, &panel, &p, edit, title);
        }
    }
    let author = auth.author();
    // A form that says what it loaded merges with changes elsewhere; so
    // does ADD. The confirmed DELETE and (DE)ACTIVATE do not: what is
    // written must be the diff their confirmation showed.
    let loaded = crate::conflict::submitted(&p).map(str::to_string);
    let expect = match (&loaded, panel.list()) {
        (Some(l), None) => {
            let (panel, l) = (panel.clone(), l.clone());
            Expect::Loaded(
                version,
                std::sync::Arc::new(move |d| {
                    crate::conflict::changes(&panel, Some(&l), d).is_empty()
                }),
            )
        }
        // ADD merges with any change (a name taken meanwhile is refused
        // on the name field).
        (_, Some(list))
            if crate::forms::param(&p, list.button_field())
                .and_then(crate::panel::ListButton::parse)
                == Some(crate::panel::ListButton::Add) =>
        {
            Expect::Loaded(version, std::sync::Arc::new(|_| true))
        }
        _ => Expect::Hash(version),
    };
    match app.store().save(expect, author.clone(), edit).await {
        Ok(saved) => {
            if saved.written {
                log_saved(&author, &saved);
                see_other(&crate::view::with_query(&saved.value, "saved=1"))
            } else {
                see_other(&saved.value)
            }
        }
        Err(SaveError::Conflict(snap)) => {
            let changed = crate::conflict::changes(&panel, loaded.as_deref(), &snap.doc);
            if panel.list().is_none() && panel.exists(&snap.doc) && loaded.is_some() {
                // Keep what the user typed; say what somebody else changed.
                let others = changed
                    .iter()
                    .map(|k| {
                        format!(
                            "{}: {} when you loaded this page, now {}",
                            k.key, k.was, k.now
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let by = lvscf_store::history::list(app.store().path())
                    .ok()
                    .and_then(|h| h.into_iter().next())
                    .map(|e| format!(" (last saved by {} from {})", e.change.who, e.change.from))
                    .unwrap_or_default();
                let fs = FormState {
                    submitted: Some(p.clone()),
                    errors: FieldErrors::default(),
                };
                return rerender(
                    StatusCode::CONFLICT,
                    &snap,
                    fs,
                    Some(format!(
                        "Somebody else changed what this form shows since you loaded it{by}: {others}. Nothing was saved; your input is kept below: check it against their change and press the button again to save it over theirs."
                    )),
                );
            }
            rerender(
                StatusCode::CONFLICT,
                &snap,
                FormState::default(),
                Some(format!(
                    "lvs.cf changed since this page was loaded (it is now serial_no {}). Nothing was saved; these are the current values: make your change again.",
                    snap.serial()
                )),
            )
        }
        Err(SaveError::Invalid(errors)) => {
            let snap = match read_snapshot(app) {
                Ok(s) => s,
                Err(r) => return r,
            };
            let warned = errors.only_warnings();
            let fs = FormState {
                submitted: Some(p.clone()),
                errors,
            };
            if warned {
                let mut c = auth.page_ctx();
                c.programs = programs_note(app, &panel);
                c.loaded = crate::conflict::loaded(&panel, &snap.doc);
                c.warned = true;
                return html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    render(&panel, &c, &snap, &fs),
                );
            }
            rerender(StatusCode::BAD_REQUEST, &snap, fs, None)
        }
        Err(SaveError::Io(e)) => {
            tracing::error!(error = %e, "saving lvs.cf failed");
            let (status, msg) = crate::store::describe_save_failure(app.store().path(), &e);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match read_snapshot(app) {
                Ok(snap) => {
                    let fs = FormState {
                        submitted: Some(p.clone()),
                        errors: FieldErrors::default(),
                    };
                    rerender(status, &snap, fs, Some(msg))
                }
                Err(_) => plain(status, msg),
            }
        }
    }
}

/// The confirmation of a destructive or disruptive edit: the edit made on
/// a copy of lvs.cf as it is now, its diff, and CONFIRM / CANCEL. Nothing
/// is written; the CONFIRM form carries the request and the version the
/// diff was made from.
fn preview(
    app: &App,
    auth: &Auth,
    panel: &Panel,
    p: &crate::forms::Params,
    edit: crate::panel::PanelEdit,
    title: String,
) -> Response {
    let snap = match read_snapshot(app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut doc = snap.doc.clone();
    let back = match edit(&mut doc) {
        Ok(back) => back,
        Err(errors) => {
            let mut c = auth.page_ctx();
            c.programs = programs_note(app, panel);
            let fs = FormState {
                submitted: Some(p.clone()),
                errors,
            };
            return html(StatusCode::BAD_REQUEST, render(panel, &c, &snap, &fs));
        }
    };
    let next = snap.serial().saturating_add(1);
    if doc.as_bytes() != snap.doc.as_bytes() {
        let _ = doc.set(
            &lvscf_parser::Target::Global,
            "serial_no",
            &next.to_string(),
        );
    }
    let action = match panel.list() {
        Some(list) => list.url(),
        None => match panel {
            Panel::Redundancy => "/redundancy".to_string(),
            _ => "/global".to_string(),
        },
    };
    let c = pages::Confirmation {
        title,
        tab: match panel {
            Panel::Redundancy => pages::Tab::Redundancy,
            _ => pages::Tab::Virtual,
        },
        summary: lvscf_store::history::summarize(&snap.doc, &doc),
        detail: String::new(),
        diff: lvscf_store::history::diff(
            snap.doc.as_bytes(),
            doc.as_bytes(),
            &format!("lvs.cf now (serial_no {})", snap.serial()),
            &format!("lvs.cf after (serial_no {next})"),
        ),
        action,
        carry: p.clone(),
        version: Some(snap.hash.clone()),
        cancel: back,
    };
    html(StatusCode::OK, pages::confirm(&auth.page_ctx(), &c))
}

/// The log line of a save: who, from where, and what changed.
pub fn log_saved<T>(author: &crate::store::Author, saved: &crate::store::Saved<T>) {
    tracing::info!(
        serial = saved.snapshot.serial(),
        who = %author.who,
        from = %author.from,
        "lvs.cf saved: {}",
        saved.summary
    );
}

/// GET and POST of an editing panel, whose route's path parameters make the
/// panel with `of` (`None`: 404).
pub fn panel(of: fn(Vec<String>) -> Option<Panel>) -> MethodRouter<App> {
    get(
        move |State(app): State<App>,
              Extension(auth): Extension<Auth>,
              UrlPath(params): UrlPath<Vec<String>>,
              uri: Uri| async move {
            match of(params) {
                Some(panel) => show(&app, &auth, &uri, panel).await,
                None => not_found().await.into_response(),
            }
        },
    )
    .post(
        move |State(app): State<App>,
              Extension(auth): Extension<Auth>,
              UrlPath(params): UrlPath<Vec<String>>,
              body: Bytes| async move {
            match of(params) {
                Some(panel) => post(&app, &auth, &body, panel).await,
                None => not_found().await.into_response(),
            }
        },
    )
}
