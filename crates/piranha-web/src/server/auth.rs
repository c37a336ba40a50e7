//! Who may do what: the guard in front of every route (allow-list, request
//! limits, the cross-site check, then a session cookie or HTTP Basic),
//! login and logout, the failed-login throttle, and the CSRF checks of
//! state-changing forms.
//!
//! Every route and every method needs a login except the login page and the
//! stylesheet.

use super::app::{App, Credentials};
use super::listener::ConnInfo;
use super::reply::{
    self, header_str, html, parse_params, plain, see_other, MAX_HEAD, MAX_PARAMS, MAX_URI,
};
use crate::forms::{self, Params};
use crate::pages::{self, Ctx};
use crate::store::Snapshot;
use crate::{credential, session};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Who the request is from (set by the guard).
#[derive(Debug, Clone)]
pub struct Auth {
    /// The CSRF token this client's forms carry.
    pub csrf: String,
    /// The session id, for cookie logins.
    pub session: Option<String>,
    /// Logged in with HTTP Basic on this request.
    pub basic: bool,
    /// The client's address.
    pub client: IpAddr,
}

impl Auth {
    /// Who saves, for the history and the log.
    pub fn author(&self) -> crate::store::Author {
        crate::store::Author {
            who: if self.basic {
                "web user piranha (HTTP Basic)".into()
            } else {
                "web user piranha".into()
            },
            from: self.client.to_string(),
            why: String::new(),
        }
    }

    /// What every page of this logged-in client needs.
    pub fn page_ctx(&self) -> Ctx {
        Ctx {
            csrf: self.csrf.clone(),
            logged_in: true,
            ..Ctx::default()
        }
    }

    /// [`Auth::page_ctx`] with the "saved" banner when the URL says a save
    /// just happened (`?saved=1`, where a save redirects).
    pub fn saved_ctx(&self, uri: &Uri, snap: &Snapshot) -> Ctx {
        let mut c = self.page_ctx();
        if forms::param(&reply::query_params(uri), "saved").is_some() {
            c.saved_serial = Some(snap.serial());
        }
        c
    }

    /// The parameters of a state-changing form, once its CSRF token checks.
    pub fn checked_form(&self, body: &Bytes) -> Result<Params, Response> {
        let p = parse_params(body)?;
        self.check_csrf(&p)?;
        Ok(p)
    }

    fn check_csrf(&self, p: &Params) -> Result<(), Response> {
        if session::csrf_ok(&self.csrf, forms::param(p, "csrf")) {
            Ok(())
        } else {
            Err(plain(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token; reload the page\n",
            ))
        }
    }
}

fn unauthorized(app: &App, path: &str, message: Option<&str>) -> Response {
    let no_file = app.passwd_entries().is_none();
    if path.starts_with("/api/") || path == "/metrics" {
        let mut r = plain(
            StatusCode::UNAUTHORIZED,
            if no_file {
                "no password is set: run piranha-passwd as root\n"
            } else {
                "authentication required\n"
            },
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"access to the piranha web GUI\""),
        );
        return r;
    }
    html(
        StatusCode::UNAUTHORIZED,
        pages::login(message, no_file, &app.passwd_path()),
    )
}

fn too_many(wait: Duration) -> Response {
    let mut r = plain(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "Too many failed logins; try again in {} s.\n",
            wait.as_secs().max(1)
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Checks a password off the async threads; counts failures.
async fn check_password(
    app: &App,
    client: IpAddr,
    entries: Vec<crate::htpasswd::Entry>,
    user: String,
    password: String,
) -> Result<(), Response> {
    // Counted before the check: parallel attempts see each other.
    let attempt = app
        .throttle()
        .begin(client, Instant::now())
        .map_err(too_many)?;
    let ok = tokio::task::spawn_blocking(move || {
        crate::htpasswd::check_login(&entries, &user, &password)
    })
    .await
    .unwrap_or(false);
    if ok {
        app.throttle().succeeded(client, attempt);
        Ok(())
    } else {
        tracing::warn!(%client, "failed login");
        Err(StatusCode::UNAUTHORIZED.into_response())
    }
}

/// An `Authorization: Basic` header: accepted at once when the same header
/// was verified against the current password entry a moment ago, else
/// checked (and throttled) like a login and remembered when right.
async fn check_basic(
    app: &App,
    client: IpAddr,
    creds: Credentials,
    header_value: &str,
) -> Result<(), Response> {
    let key = credential::keyed_hex(app.secret(), header_value.as_bytes());
    if app
        .basic_cache()
        .check(&key, &creds.fingerprint, Instant::now())
    {
        return Ok(());
    }
    let Some((user, password)) = session::parse_basic(header_value) else {
        return Err(StatusCode::UNAUTHORIZED.into_response());
    };
    check_password(app, client, creds.entries, user, password).await?;
    app.basic_cache()
        .insert(key, creds.fingerprint, Instant::now());
    Ok(())
}

fn client_of(conn: Option<ConnInfo>) -> IpAddr {
    conn.map(|c| c.peer.ip())
        .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED))
}

/// The guard in front of every route: refuses what is not allowed and
/// attaches [`Auth`] to what is.
pub async fn guard(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let client = client_of(req.extensions().get::<ConnInfo>().copied());
    if !session::allowed(&app.options().allow, client) {
        return plain(
            StatusCode::FORBIDDEN,
            "your address is not allowed to use this tool\n",
        );
    }
    let uri_len = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().len())
        .unwrap_or(0);
    if uri_len > MAX_URI {
        return plain(StatusCode::URI_TOO_LONG, "request target too long\n");
    }
    let head: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if head > MAX_HEAD {
        return plain(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request headers too large\n",
        );
    }
    if let Some(q) = req.uri().query() {
        if q.split('&').count() > MAX_PARAMS {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "too many parameters\n");
        }
    }
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let safe = method == Method::GET || method == Method::HEAD;
    let h = req.headers();
    if !safe
        && session::cross_site(
            header_str(h, header::HOST),
            header_str(h, header::ORIGIN),
            h.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        )
    {
        return plain(StatusCode::FORBIDDEN, "cross-site request refused\n");
    }
    if path.starts_with("/static/") {
        return next.run(req).await;
    }
    if path == "/login" {
        if method != Method::GET && method != Method::HEAD && method != Method::POST {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        }
        return next.run(req).await;
    }
    let now = Instant::now();
    let Some(creds) = app.credentials() else {
        return unauthorized(&app, &path, None);
    };
    let cookie = header_str(h, header::COOKIE)
        .and_then(|c| session::cookie_value(c, session::COOKIE))
        .map(str::to_string);
    let live = cookie.and_then(|id| {
        app.sessions()
            .get(&id, &creds.fingerprint, now)
            .map(|s| (id, s))
    });
    let auth = match live {
        Some((id, s)) => Auth {
            csrf: s.csrf,
            session: Some(id),
            basic: false,
            client,
        },
        None => {
            let Some(value) = header_str(h, header::AUTHORIZATION).map(str::to_string) else {
                return unauthorized(&app, &path, None);
            };
            match check_basic(&app, client, creds, &value).await {
                Ok(()) => Auth {
                    csrf: session::basic_csrf(app.secret()),
                    session: None,
                    basic: true,
                    client,
                },
                Err(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => return r,
                Err(_) => return unauthorized(&app, &path, Some("Login failed.")),
            }
        }
    };
    req.extensions_mut().insert(auth);
    next.run(req).await
}

/// GET /login.
pub async fn login_page(State(app): State<App>) -> Response {
    let no_file = app.passwd_entries().is_none();
    html(
        StatusCode::OK,
        pages::login(None, no_file, &app.passwd_path()),
    )
}

/// POST /login: a fresh session (never one the client brought).
pub async fn login_post(
    State(app): State<App>,
    conn: Option<Extension<ConnInfo>>,
    body: Bytes,
) -> Response {
    let Some(creds) = app.credentials() else {
        return unauthorized(&app, "/login", None);
    };
    let p = match parse_params(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let conn = conn.map(|Extension(c)| c);
    let client = client_of(conn);
    let user = forms::param(&p, "user")
        .unwrap_or(crate::htpasswd::USER)
        .to_string();
    let password = forms::param(&p, "password").unwrap_or("").to_string();
    match check_password(&app, client, creds.entries, user, password).await {
        Ok(()) => {
            let (id, _) = app.sessions().create(Instant::now(), &creds.fingerprint);
            let secure = if conn.map(|c| c.tls).unwrap_or(false) {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                session::COOKIE,
                session::IDLE_TIMEOUT.as_secs()
            );
            let mut r = see_other("/control");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => r,
        Err(_) => unauthorized(
            &app,
            "/login",
            Some("Login failed: wrong user or password."),
        ),
    }
}

/// POST /logout: ends the session and clears the cookie.
pub async fn logout(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    body: Bytes,
) -> Response {
    if let Err(r) = auth.checked_form(&body) {
        return r;
    }
    if let Some(id) = &auth.session {
        app.sessions().remove(id);
    }
    let mut r = see_other("/login");
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("piranha_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}
