//! CONTROL/MONITORING and its buttons: APPLY (pulse reloads lvs.cf) and
//! COPY lvs.cf TO BACKUP; the CHANGE PASSWORD help page.

use super::app::App;
use super::auth::Auth;
use super::reply::{html, query_params, read_snapshot};
use crate::forms;
use crate::pages;
use crate::status;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::Extension;

/// Auto update never refreshes faster than this (Piranha's floor).
pub const MIN_RATE: u32 = 10;
/// Nor slower than this.
pub const MAX_RATE: u32 = 3600;

/// The auto-update rate a query asks for: `rate` in seconds, from
/// [`MIN_RATE`] to [`MAX_RATE`], [`MIN_RATE`] when absent or not a number.
pub fn rate(q: &forms::Params) -> u32 {
    forms::param(q, "rate")
        .and_then(|r| r.trim().parse::<u32>().ok())
        .unwrap_or(MIN_RATE)
        .clamp(MIN_RATE, MAX_RATE)
}

/// GET /control.
pub async fn control(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    uri: Uri,
) -> Response {
    let q = query_params(&uri);
    let auto_update = forms::param(&q, "auto_update").is_some();
    let rate = rate(&q);
    let snap = match read_snapshot(&app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (pulse, lvsd) = tokio::join!(
        status::pulse_status(&app.options().pulse_socket),
        status::lvsd_status(&app.options().lvsd_socket)
    );
    let mut c = auth.saved_ctx(&uri, &snap);
    c.view = crate::view::ListView::from_query(&q);
    if auto_update {
        c.refresh = Some((rate, pages::control_refresh_url(&c.view, rate)));
    }
    html(
        StatusCode::OK,
        pages::control(
            &c,
            &snap.doc,
            &pulse.map_err(|e| e.to_string()),
            &lvsd.map_err(|e| e.to_string()),
            auto_update,
            rate,
        ),
    )
}

/// GET /passwd: how to change the password (never from the web).
pub async fn passwd_help(State(app): State<App>, Extension(auth): Extension<Auth>) -> Response {
    html(
        StatusCode::OK,
        pages::passwd_help(&auth.page_ctx(), &app.passwd_path()),
    )
}

/// POST /apply: pulse reloads lvs.cf and says how it went.
pub async fn apply(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    body: Bytes,
) -> Response {
    let p = match auth.checked_form(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let c = auth.page_ctx();
    if !crate::confirm::confirmed(&p) {
        let serial = app.snapshot().map(|s| s.serial()).unwrap_or(0);
        let confirmation = pages::Confirmation {
            title: "APPLY (reload pulse)".into(),
            tab: pages::Tab::Control,
            summary: format!(
                "pulse will reload lvs.cf (serial_no {serial}) on this router now."
            ),
            detail: "lvsd then programs the kernel's table from it at once: virtual servers and real servers added, changed or removed in the file are added, changed or removed in service, and their connections with them. A file that does not load is refused and the running configuration stays.".into(),
            diff: String::new(),
            action: "/apply".into(),
            carry: p.clone(),
            version: None,
            cancel: "/control".into(),
        };
        return html(StatusCode::OK, pages::confirm(&c, &confirmation));
    }
    // pulse answers once the reload was tried: its result, not a receipt.
    match status::pulse_reload(&app.options().pulse_socket).await {
        Ok(r) if r.ok => html(
            StatusCode::OK,
            pages::message(
                &c,
                "Apply",
                "pulse reloaded lvs.cf: the new configuration is in force.",
                "",
            ),
        ),
        Ok(r) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::message(
                &c,
                "Apply",
                "pulse did not reload lvs.cf and keeps running the previous configuration:",
                r.error.as_deref().unwrap_or("no reason given"),
            ),
        ),
        Err(e) => html(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::message(
                &c,
                "Apply",
                "pulse is not running, so nothing was reloaded:",
                &e.to_string(),
            ),
        ),
    }
}

/// POST /sync: copies lvs.cf to the backup router (scp or rcp, no shell).
pub async fn sync(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    body: Bytes,
) -> Response {
    let p = match auth.checked_form(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let c = auth.page_ctx();
    let snap = match read_snapshot(&app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !crate::confirm::confirmed(&p) {
        let command = match status::copy_argv(snap.doc.config(), app.store().path()) {
            Ok(argv) => argv.join(" "),
            Err(e) => format!("(it cannot be copied: {e})"),
        };
        let confirmation = pages::Confirmation {
            title: "COPY lvs.cf TO BACKUP".into(),
            tab: pages::Tab::Control,
            summary: format!(
                "lvs.cf (serial_no {}) will replace the backup router's lvs.cf.",
                snap.serial()
            ),
            detail: format!(
                "The command run (no shell): {command}. The backup's pulse uses the copy when it next reloads or takes over."
            ),
            diff: String::new(),
            action: "/sync".into(),
            carry: p.clone(),
            version: None,
            cancel: "/control".into(),
        };
        return html(StatusCode::OK, pages::confirm(&c, &confirmation));
    }
    let result = status::copy_to_backup(
        snap.doc.config(),
        app.store().path(),
        app.options().copy_timeout,
    )
    .await;
    match result {
        Ok(out) => html(
            StatusCode::OK,
            pages::message(
                &c,
                "Copy to backup",
                "lvs.cf was copied to the backup router.",
                &out,
            ),
        ),
        Err(e) => html(
            StatusCode::BAD_GATEWAY,
            pages::message(
                &c,
                "Copy to backup",
                "Copying lvs.cf to the backup router failed:",
                &e.to_string(),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> forms::Params {
        form_urlencoded::parse(s.as_bytes()).into_owned().collect()
    }

    #[test]
    fn the_rate_stays_between_its_bounds() {
        assert_eq!(rate(&q("")), 10);
        assert_eq!(rate(&q("rate=1")), 10);
        assert_eq!(rate(&q("rate=%2030%20")), 30);
        assert_eq!(rate(&q("rate=99999")), 3600);
        assert_eq!(rate(&q("rate=%3Cscript%3E")), 10);
    }
}
