//! HISTORY and RESTORE: the kept versions of lvs.cf with their diffs, and
//! putting one back (a save like any other, confirmed first, recorded in
//! the history with the restore named in its summary).

use super::app::App;
use super::auth::Auth;
use super::panels::log_saved;
use super::reply::{html, plain, query_params, read_snapshot, see_other};
use crate::confirm;
use crate::forms;
use crate::pages::{self, history::Row, Confirmation, Tab};
use crate::store::{Expect, SaveError};
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::Extension;
use lvscf_parser::{Document, Target};
use lvscf_store::history;

/// GET /history: a page of the kept versions, newest first.
pub async fn list(State(app): State<App>, Extension(auth): Extension<Auth>, uri: Uri) -> Response {
    let page: usize = forms::param(&query_params(&uri), "page")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(1)
        .max(1);
    let snap = match read_snapshot(&app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let config = app.store().path().to_path_buf();
    let built = tokio::task::spawn_blocking(move || rows(&config, page)).await;
    match built {
        Ok(Ok((rows, page, pages, total))) => html(
            StatusCode::OK,
            pages::history::history(&auth.saved_ctx(&uri, &snap), &rows, page, pages, total),
        ),
        Ok(Err(e)) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "cannot read the history {}: {e}\n",
                history::dir_for(app.store().path()).display()
            ),
        ),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The page `page` of the history (clamped), its number, the number of
/// pages and of saves.
fn rows(config: &std::path::Path, page: usize) -> std::io::Result<(Vec<Row>, usize, usize, usize)> {
    let all = history::list(config)?;
    let per = pages::history::PER_PAGE;
    let pages_count = all.len().div_ceil(per).max(1);
    let page = page.min(pages_count);
    let start = (page - 1) * per;
    let mut out = Vec::new();
    for (i, e) in all.iter().enumerate().skip(start).take(per) {
        let before = history::read_version(config, e.seq).unwrap_or_default();
        // What replaced it: the next kept version, or lvs.cf for the
        // newest (all is newest first).
        let after = match i.checked_sub(1).and_then(|n| all.get(n)) {
            Some(newer) => history::read_version(config, newer.seq).unwrap_or_default(),
            None => lvscf_store::read_config_file(config).unwrap_or_default(),
        };
        let diff = history::diff(
            &before,
            &after,
            &format!("lvs.cf serial_no {}", e.serial_before),
            &format!("lvs.cf serial_no {}", e.serial_after),
        );
        out.push(Row {
            entry: e.clone(),
            diff,
        });
    }
    Ok((out, page, pages_count, all.len()))
}

/// POST /history/{seq}/restore: first the confirmation with the diff from
/// lvs.cf now to the kept version; with CONFIRM, the save.
pub async fn restore(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    UrlPath(seq): UrlPath<String>,
    body: Bytes,
) -> Response {
    let p = match auth.checked_form(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(seq) = seq.parse::<u64>() else {
        return plain(StatusCode::NOT_FOUND, "no such save in the history\n");
    };
    let config = app.store().path().to_path_buf();
    let found = tokio::task::spawn_blocking(move || {
        let entry = history::list(&config)?.into_iter().find(|e| e.seq == seq);
        let bytes = history::read_version(&config, seq)?;
        Ok::<_, std::io::Error>((entry, bytes))
    })
    .await;
    let (entry, bytes) = match found {
        Ok(Ok((Some(e), b))) => (e, b),
        _ => return plain(StatusCode::NOT_FOUND, "no such save in the history\n"),
    };
    let snap = match read_snapshot(&app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let name = app.store().path().display().to_string();
    let restored = Document::parse(name.clone(), bytes);
    if restored.has_errors() {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::message(
                &auth.page_ctx(),
                "Restore",
                "This version of lvs.cf does not load, so it cannot be restored from the web:",
                &restored
                    .diagnostics()
                    .iter()
                    .map(|d| d.render(&name))
                    .collect::<String>(),
            ),
        );
    }
    let why = format!(
        "restore of serial_no {} (kept by save {seq})",
        entry.serial_before
    );
    if !confirm::confirmed(&p) {
        let mut preview = restored.clone();
        let next = snap.serial().saturating_add(1).to_string();
        let _ = preview.set(&Target::Global, "serial_no", &next);
        let summary = history::summarize(&snap.doc, &preview);
        let c = Confirmation {
            title: format!("RESTORE serial_no {}", entry.serial_before),
            tab: Tab::History,
            summary: format!("{why}: {summary}"),
            detail: format!(
                "The file as it was before save {seq} ({} by {} from {}) replaces lvs.cf (serial_no {}), as a new save (serial_no {next}) that is kept in the history too.",
                pages::history::utc(entry.when),
                entry.change.who,
                entry.change.from,
                snap.serial()
            ),
            diff: history::diff(
                snap.doc.as_bytes(),
                preview.as_bytes(),
                &format!("lvs.cf now (serial_no {})", snap.serial()),
                &format!("lvs.cf restored (serial_no {next})"),
            ),
            action: format!("/history/{seq}/restore"),
            carry: p.clone(),
            version: Some(snap.hash.clone()),
            cancel: "/history".into(),
        };
        return html(StatusCode::OK, pages::confirm(&auth.page_ctx(), &c));
    }
    let version = forms::param(&p, "version").unwrap_or("").to_string();
    let mut author = auth.author();
    author.why = why;
    let text = restored.as_bytes().to_vec();
    let edit = move |d: &mut Document| {
        *d = Document::parse(name, text);
        Ok(())
    };
    match app.store().save(Expect::Hash(version), author.clone(), edit).await {
        Ok(saved) => {
            if saved.written {
                log_saved(&author, &saved);
            }
            see_other("/history?saved=1")
        }
        Err(SaveError::Conflict(now)) => html(
            StatusCode::CONFLICT,
            pages::message(
                &auth.page_ctx(),
                "Restore",
                &format!(
                    "lvs.cf changed since the confirmation was shown (it is now serial_no {}). Nothing was restored: look at the history again.",
                    now.serial()
                ),
                "",
            ),
        ),
        Err(SaveError::Invalid(e)) => html(
            StatusCode::BAD_REQUEST,
            pages::message(
                &auth.page_ctx(),
                "Restore",
                "Nothing was restored:",
                &e.general.join("\n"),
            ),
        ),
        Err(SaveError::Io(e)) => {
            let (status, msg) = crate::store::describe_save_failure(app.store().path(), &e);
            plain(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                msg,
            )
        }
    }
}
