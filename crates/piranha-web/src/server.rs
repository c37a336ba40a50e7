//! The axum wiring: routes, the guard (allow-list, limits, login, CSRF),
//! strict headers, and the accept loop (plain TCP or rustls).

// Handlers return early with a ready response; boxing it gains nothing.
#![allow(clippy::result_large_err)]

use crate::forms::{self, FieldErrors, Params};
use crate::pages::{self, Ctx, FormState};
use crate::session::{self, Cidr, Sessions, Throttle};
use crate::status;
use crate::store::{Expect, SaveError, Snapshot, Store};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use lvscf_parser::keypath::KeyPath;
use lvscf_parser::{Document, Target};
use maud::Markup;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Largest request body accepted (413 above).
pub const MAX_BODY: usize = 256 * 1024;
/// Most form or query parameters accepted (413 above).
pub const MAX_PARAMS: usize = 256;
/// Longest request target accepted (414 above).
pub const MAX_URI: usize = 8 * 1024;
/// Longest request head (431 above).
pub const MAX_HEAD: usize = 32 * 1024;

/// Where things are and who may connect.
#[derive(Debug, Clone)]
pub struct Options {
    /// lvs.cf.
    pub config: PathBuf,
    /// The htpasswd file.
    pub passwd_file: PathBuf,
    /// pulse's status socket.
    pub pulse_socket: PathBuf,
    /// lvsd's status socket.
    pub lvsd_socket: PathBuf,
    /// Client networks allowed (empty = all).
    pub allow: Vec<Cidr>,
    /// Time allowed for the copy to the backup.
    pub copy_timeout: Duration,
    /// The daemons' exec-policy allowlist (`/etc/sysconfig/lvs-programs`):
    /// read to refuse, at save time, programs the daemons would not run,
    /// and to show which ones they would.
    pub programs: PathBuf,
}

struct Inner {
    opts: Options,
    store: Store,
    sessions: Mutex<Sessions>,
    throttle: Mutex<Throttle>,
    secret: String,
}

/// The shared application state.
#[derive(Clone)]
pub struct App(Arc<Inner>);

/// Per-connection facts the accept loop attaches to each request.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    /// The client.
    pub peer: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// Who the request is from (set by the guard).
#[derive(Debug, Clone)]
pub struct Auth {
    /// The CSRF token this client's forms carry.
    pub csrf: String,
    /// The session id, for cookie logins.
    pub session: Option<String>,
    /// Logged in with HTTP Basic on this request.
    pub basic: bool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl App {
    /// Builds the state.
    pub fn new(opts: Options) -> App {
        let store = Store::new(opts.config.clone());
        App(Arc::new(Inner {
            store,
            opts,
            sessions: Mutex::new(Sessions::default()),
            throttle: Mutex::new(Throttle::default()),
            secret: session::random_hex(32),
        }))
    }

    /// The store of lvs.cf.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The daemons' exec policy as it stands now (the allowlist is read
    /// again for every request that needs it, so an edit shows at once).
    pub fn policy(&self) -> exec_policy::Policy {
        exec_policy::Policy::load_from(&self.0.opts.programs)
    }

    fn passwd_entries(&self) -> Option<Vec<crate::htpasswd::Entry>> {
        let text = std::fs::read_to_string(&self.0.opts.passwd_file).ok()?;
        let entries = crate::htpasswd::parse(&text);
        crate::htpasswd::lookup(&entries, crate::htpasswd::USER)?;
        Some(entries)
    }

    fn passwd_path(&self) -> String {
        self.0.opts.passwd_file.display().to_string()
    }
}

/// The router with every route, the guard and the headers.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/login", get(login_page).post(login_post))
        .route("/logout", post(logout))
        .route("/static/{name}", get(static_asset))
        .route("/control", get(control))
        .route("/passwd", get(passwd_help))
        .route("/global", panel(|_| Some(Panel::Global)))
        .route("/redundancy", panel(|_| Some(Panel::Redundancy)))
        .route("/virtual", panel(|_| Some(Panel::VirtualList)))
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
        .route("/apply", post(apply))
        .route("/sync", post(sync))
        .route("/metrics", get(metrics))
        .route("/api/v1/config", get(api_config))
        .route("/api/v1/status", get(api_status))
        .route("/api/v1/set", post(api_set))
        .route("/api/v1/unset", post(api_unset))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .layer(middleware::from_fn(strict_headers))
        .with_state(app)
}

// ----- responses -----------------------------------------------------------

fn html_response(status: StatusCode, m: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        pages::render(m),
    )
        .into_response()
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.into(),
    )
        .into_response()
}

fn json(status: StatusCode, v: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// A 303 to a path we built ourselves (names percent-encoded: no header
/// splitting is possible).
fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => plain(StatusCode::BAD_REQUEST, "bad redirect target"),
    }
}

async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "not found")
}

async fn strict_headers(req: Request, next: Next) -> Response {
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

// ----- the guard -------------------------------------------------------------

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
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
    html_response(
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
    user: String,
    password: String,
) -> Result<(), Response> {
    if let Some(wait) = lock(&app.0.throttle).locked(client, Instant::now()) {
        return Err(too_many(wait));
    }
    let entries = app.passwd_entries().unwrap_or_default();
    let ok = tokio::task::spawn_blocking(move || {
        crate::htpasswd::check_login(&entries, &user, &password)
    })
    .await
    .unwrap_or(false);
    let mut t = lock(&app.0.throttle);
    if ok {
        t.succeeded(client);
        Ok(())
    } else {
        t.failed(client, Instant::now());
        tracing::warn!(%client, "failed login");
        Err(StatusCode::UNAUTHORIZED.into_response())
    }
}

async fn guard(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let conn = req.extensions().get::<ConnInfo>().copied();
    let client = conn
        .map(|c| c.peer.ip())
        .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
    if !session::allowed(&app.0.opts.allow, client) {
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
    let cookie = header_str(h, header::COOKIE)
        .and_then(|c| session::cookie_value(c, session::COOKIE))
        .map(str::to_string);
    let auth = match cookie.and_then(|id| lock(&app.0.sessions).get(&id, now).map(|s| (id, s))) {
        Some((id, s)) => Some(Auth {
            csrf: s.csrf,
            session: Some(id),
            basic: false,
        }),
        None => None,
    };
    let auth = match auth {
        Some(a) => a,
        None => {
            let basic = header_str(h, header::AUTHORIZATION).and_then(session::parse_basic);
            match basic {
                Some((user, password)) => {
                    if app.passwd_entries().is_none() {
                        return unauthorized(&app, &path, None);
                    }
                    match check_password(&app, client, user, password).await {
                        Ok(()) => Auth {
                            csrf: session::basic_csrf(&app.0.secret),
                            session: None,
                            basic: true,
                        },
                        Err(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => return r,
                        Err(_) => return unauthorized(&app, &path, Some("Login failed.")),
                    }
                }
                None => return unauthorized(&app, &path, None),
            }
        }
    };
    req.extensions_mut().insert(auth);
    next.run(req).await
}

// ----- helpers for handlers ---------------------------------------------------

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

fn query_params(req_uri: &axum::http::Uri) -> Params {
    req_uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// The parameters of a state-changing form, once its CSRF token checks.
fn csrf_checked_form(auth: &Auth, body: &Bytes) -> Result<Params, Response> {
    let p = parse_params(body)?;
    check_csrf(auth, &p)?;
    Ok(p)
}

fn check_csrf(auth: &Auth, p: &Params) -> Result<(), Response> {
    if session::csrf_ok(&auth.csrf, forms::param(p, "csrf")) {
        Ok(())
    } else {
        Err(plain(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token; reload the page\n",
        ))
    }
}

fn ctx(auth: &Auth) -> Ctx {
    Ctx {
        csrf: auth.csrf.clone(),
        logged_in: true,
        ..Ctx::default()
    }
}

fn read_snapshot(app: &App) -> Result<Snapshot, Response> {
    app.store().read().map_err(|e| {
        plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "cannot read {}: {e}\nAs root: touch it, chmod 660 it and chown root:piranha it.\n",
                app.store().path().display()
            ),
        )
    })
}

fn saved_ctx(auth: &Auth, uri: &axum::http::Uri, snap: &Snapshot) -> Ctx {
    let mut c = ctx(auth);
    if forms::param(&query_params(uri), "saved").is_some() {
        c.saved_serial = Some(snap.serial());
    }
    c
}

/// One of the editing panels.
#[derive(Debug, Clone)]
enum Panel {
    Global,
    Redundancy,
    VirtualList,
    VirtualEdit(String),
    RealList(String),
    RealEdit(String, String),
    Scripts(String),
    FailoverList,
    FailoverEdit(String),
    FailoverScripts(String),
}

impl Panel {
    fn exists(&self, doc: &Document) -> bool {
        match self {
            Panel::VirtualEdit(v) | Panel::RealList(v) | Panel::Scripts(v) => {
                doc.config().virtual_named(v).is_some()
            }
            Panel::RealEdit(v, s) => doc
                .config()
                .virtual_named(v)
                .map(|x| x.servers.iter().any(|r| r.name == *s))
                .unwrap_or(false),
            Panel::FailoverEdit(f) | Panel::FailoverScripts(f) => {
                doc.config().failovers.iter().any(|x| x.name == *f)
            }
            _ => true,
        }
    }

    /// Where to go when the block a panel shows has gone.
    fn fallback(&self) -> Panel {
        match self {
            Panel::FailoverEdit(_) | Panel::FailoverScripts(_) => Panel::FailoverList,
            _ => Panel::VirtualList,
        }
    }

    fn render(&self, c: &Ctx, snap: &Snapshot, fs: &FormState) -> Markup {
        let (d, h) = (&snap.doc, snap.hash.as_str());
        match self {
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
}

async fn show_panel(app: &App, auth: &Auth, uri: &axum::http::Uri, panel: Panel) -> Response {
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
    let mut c = saved_ctx(auth, uri, &snap);
    c.programs = panel.programs_note(app);
    html_response(
        StatusCode::OK,
        panel.render(&c, &snap, &FormState::default()),
    )
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

/// GET and POST of an editing panel, whose route's path parameters make the
/// panel with `of`. Every panel is shown by [`show_panel`] and saved by
/// [`post_panel`] with what [`Panel::decide`] asks for.
fn panel(of: fn(Vec<String>) -> Option<Panel>) -> axum::routing::MethodRouter<App> {
    get(
        move |State(app): State<App>,
              Extension(auth): Extension<Auth>,
              UrlPath(params): UrlPath<Vec<String>>,
              uri: axum::http::Uri| async move {
            match of(params) {
                Some(panel) => show_panel(&app, &auth, &uri, panel).await,
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
                Some(panel) => {
                    let decide = panel.clone();
                    let policy = app.policy();
                    post_panel(&app, &auth, &body, panel, move |p| {
                        decide.decide(p, &policy)
                    })
                    .await
                }
                None => not_found().await.into_response(),
            }
        },
    )
}

/// The ADD, DELETE, (DE)ACTIVATE and EDIT buttons of a list of blocks (the
/// virtual servers, the real servers of one, the failover services).
struct ListActions<T, A, E> {
    /// The form field that names the button.
    button: &'static str,
    /// What the list holds, for messages.
    noun: &'static str,
    /// The list's own URL, where a change returns.
    back: String,
    /// The target of a selected name.
    target: T,
    /// ADD with an optional requested name.
    add: A,
    /// The edit page of a selected name.
    edit_url: E,
}

impl<T, A, E> ListActions<T, A, E>
where
    T: Fn(String) -> Target,
    A: FnOnce(&mut Document, Option<&str>) -> Result<String, FieldErrors> + Send + 'static,
    E: Fn(&str) -> String,
{
    fn decide(self, p: &Params) -> Result<Outcome, FieldErrors> {
        let back = self.back;
        match forms::param(p, self.button).unwrap_or("") {
            "ADD" => {
                let name = forms::param(p, "name").map(str::to_string);
                let add = self.add;
                save(move |d| add(d, name.as_deref()).map(|_| back))
            }
            "DELETE" => {
                let t = (self.target)(selected(p, self.noun)?);
                save(move |d| forms::delete(d, &t).map(|_| back))
            }
            "(DE)ACTIVATE" => {
                let t = (self.target)(selected(p, self.noun)?);
                save(move |d| forms::toggle_active(d, &t).map(|_| back))
            }
            "EDIT" => Ok(Outcome::Redirect((self.edit_url)(&selected(p, self.noun)?))),
            _ => Err(FieldErrors::general("unknown action")),
        }
    }
}

impl Panel {
    /// The allowlist note of the pages with program fields.
    fn programs_note(&self, app: &App) -> Option<pages::ProgramsNote> {
        match self {
            Panel::Global | Panel::Scripts(_) | Panel::FailoverScripts(_) => {
                Some(pages::ProgramsNote::of(&app.policy(), &app.0.opts.programs))
            }
            _ => None,
        }
    }

    /// What a POST of this panel's form asks for; `policy` judges the
    /// programs it names.
    fn decide(&self, p: &Params, policy: &exec_policy::Policy) -> Result<Outcome, FieldErrors> {
        let form = p.clone();
        let policy = policy.clone();
        match self.clone() {
            Panel::Global => {
                save(move |d| forms::apply_global(d, &form, &policy).map(|_| "/global".to_string()))
            }
            Panel::Redundancy => {
                save(move |d| forms::apply_redundancy(d, &form).map(|_| "/redundancy".to_string()))
            }
            Panel::VirtualList => ListActions {
                button: "virtual_service",
                noun: "virtual server",
                back: "/virtual".to_string(),
                target: Target::Virtual,
                add: forms::add_virtual,
                edit_url: |v: &str| pages::virtual_url(v, "edit"),
            }
            .decide(p),
            Panel::VirtualEdit(v) => save(move |d| {
                forms::apply_virtual_edit(d, &v, &form, &policy)
                    .map(|n| pages::virtual_url(&n, "edit"))
            }),
            Panel::RealList(v) => {
                let vname = v.clone();
                ListActions {
                    button: "real_service",
                    noun: "real server",
                    back: pages::virtual_url(&v, "real"),
                    target: |server| Target::Server {
                        virtual_name: v.clone(),
                        server,
                    },
                    add: move |d: &mut Document, name: Option<&str>| {
                        forms::add_server(d, &vname, name)
                    },
                    edit_url: |s: &str| pages::server_url(&v, s),
                }
                .decide(p)
            }
            Panel::RealEdit(v, s) => save(move |d| {
                forms::apply_server_edit(d, &v, &s, &form).map(|n| pages::server_url(&v, &n))
            }),
            Panel::Scripts(v) => save(move |d| {
                forms::apply_scripts(d, &v, &form, &policy)
                    .map(|_| pages::virtual_url(&v, "scripts"))
            }),
            Panel::FailoverList => ListActions {
                button: "failover_service",
                noun: "failover service",
                back: "/failover".to_string(),
                target: Target::Failover,
                add: forms::add_failover,
                edit_url: |f: &str| pages::failover_url(f, "edit"),
            }
            .decide(p),
            Panel::FailoverEdit(f) => save(move |d| {
                forms::apply_failover_edit(d, &f, &form).map(|n| pages::failover_url(&n, "edit"))
            }),
            Panel::FailoverScripts(f) => save(move |d| {
                forms::apply_service_scripts(d, &Target::Failover(f.clone()), &form, &policy)
                    .map(|_| pages::failover_url(&f, "scripts"))
            }),
        }
    }
}

/// An edit of a panel; returns the URL to go to after saving.
type PanelEdit = Box<dyn FnOnce(&mut Document) -> Result<String, FieldErrors> + Send>;

/// What a panel's POST asks for after the CSRF check.
enum Outcome {
    /// Redirect without saving (EDIT buttons).
    Redirect(String),
    /// Save with this edit, then go to the URL the edit returns.
    Save(PanelEdit),
}

async fn post_panel(
    app: &App,
    auth: &Auth,
    body: &Bytes,
    panel: Panel,
    decide: impl FnOnce(&Params) -> Result<Outcome, FieldErrors>,
) -> Response {
    let p = match csrf_checked_form(auth, body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let version = forms::param(&p, "version").unwrap_or("").to_string();
    let rerender = |status: StatusCode, snap: &Snapshot, fs: FormState, alert: Option<String>| {
        let mut c = ctx(auth);
        c.alerts.extend(alert);
        let panel = if panel.exists(&snap.doc) {
            panel.clone()
        } else {
            panel.fallback()
        };
        c.programs = panel.programs_note(app);
        html_response(status, panel.render(&c, snap, &fs))
    };
    let outcome = match decide(&p) {
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
        Outcome::Save(edit) => edit,
    };
    match app.store().save(Expect::Hash(version), edit).await {
        Ok(saved) => {
            if saved.written {
                tracing::info!(serial = saved.snapshot.serial(), "lvs.cf saved");
                see_other(&format!("{}?saved=1", saved.value))
            } else {
                see_other(&saved.value)
            }
        }
        Err(SaveError::Conflict(snap)) => rerender(
            StatusCode::CONFLICT,
            &snap,
            FormState::default(),
            Some(format!(
                "lvs.cf changed since this page was loaded (it is now serial_no {}). Nothing was saved; these are the current values: make your change again.",
                snap.serial()
            )),
        ),
        Err(SaveError::Invalid(errors)) => {
            let snap = match read_snapshot(app) {
                Ok(s) => s,
                Err(r) => return r,
            };
            let fs = FormState { submitted: Some(p.clone()), errors };
            rerender(StatusCode::BAD_REQUEST, &snap, fs, None)
        }
        Err(SaveError::Io(e)) => {
            tracing::error!(error = %e, "saving lvs.cf failed");
            let (status, msg) = crate::store::describe_save_failure(app.store().path(), &e);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match read_snapshot(app) {
                Ok(snap) => {
                    let fs = FormState { submitted: Some(p.clone()), errors: FieldErrors::default() };
                    rerender(status, &snap, fs, Some(msg))
                }
                Err(_) => plain(status, msg),
            }
        }
    }
}

fn save<F>(f: F) -> Result<Outcome, FieldErrors>
where
    F: FnOnce(&mut Document) -> Result<String, FieldErrors> + Send + 'static,
{
    Ok(Outcome::Save(Box::new(f)))
}

// ----- handlers ---------------------------------------------------------------

async fn root() -> Response {
    see_other("/control")
}

async fn login_page(State(app): State<App>) -> Response {
    let no_file = app.passwd_entries().is_none();
    html_response(
        StatusCode::OK,
        pages::login(None, no_file, &app.passwd_path()),
    )
}

async fn login_post(
    State(app): State<App>,
    conn: Option<Extension<ConnInfo>>,
    body: Bytes,
) -> Response {
    if app.passwd_entries().is_none() {
        return unauthorized(&app, "/login", None);
    }
    let p = match parse_params(&body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let client = conn
        .map(|c| c.peer.ip())
        .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
    let user = forms::param(&p, "user")
        .unwrap_or(crate::htpasswd::USER)
        .to_string();
    let password = forms::param(&p, "password").unwrap_or("").to_string();
    match check_password(&app, client, user, password).await {
        Ok(()) => {
            let (id, _) = lock(&app.0.sessions).create(Instant::now());
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

async fn logout(State(app): State<App>, Extension(auth): Extension<Auth>, body: Bytes) -> Response {
    if let Err(r) = csrf_checked_form(&auth, &body) {
        return r;
    }
    if let Some(id) = &auth.session {
        lock(&app.0.sessions).remove(id);
    }
    let mut r = see_other("/login");
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("piranha_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

/// The embedded assets: the only files ever served.
const ASSETS: &[(&str, &str, &str)] = &[("style.css", "text/css; charset=utf-8", pages::STYLE)];

async fn static_asset(UrlPath(name): UrlPath<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, ctype, body)) => ([(header::CONTENT_TYPE, *ctype)], *body).into_response(),
        None => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

async fn control(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    uri: axum::http::Uri,
) -> Response {
    let q = query_params(&uri);
    let auto_update = forms::param(&q, "auto_update").is_some();
    let rate = forms::param(&q, "rate")
        .and_then(|r| r.trim().parse::<u32>().ok())
        .unwrap_or(10)
        .clamp(10, 3600);
    let snap = match read_snapshot(&app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (pulse, lvsd) = tokio::join!(
        status::pulse_status(&app.0.opts.pulse_socket),
        status::lvsd_status(&app.0.opts.lvsd_socket)
    );
    let mut c = saved_ctx(&auth, &uri, &snap);
    if auto_update {
        c.refresh = Some((rate, format!("/control?auto_update=1&rate={rate}")));
    }
    html_response(
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

async fn passwd_help(State(app): State<App>, Extension(auth): Extension<Auth>) -> Response {
    html_response(
        StatusCode::OK,
        pages::passwd_help(&ctx(&auth), &app.passwd_path()),
    )
}

fn selected(p: &Params, what: &str) -> Result<String, FieldErrors> {
    match forms::param(p, "selected") {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(FieldErrors {
            fields: [("selected".to_string(), format!("select a {what} first"))].into(),
            general: vec![],
        }),
    }
}

async fn apply(State(app): State<App>, Extension(auth): Extension<Auth>, body: Bytes) -> Response {
    if let Err(r) = csrf_checked_form(&auth, &body) {
        return r;
    }
    let c = ctx(&auth);
    // pulse answers once the reload was tried: its result, not a receipt.
    match status::pulse_reload(&app.0.opts.pulse_socket).await {
        Ok(r) if r.ok => html_response(
            StatusCode::OK,
            pages::message(
                &c,
                "Apply",
                "pulse reloaded lvs.cf: the new configuration is in force.",
                "",
            ),
        ),
        Ok(r) => html_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::message(
                &c,
                "Apply",
                "pulse did not reload lvs.cf and keeps running the previous configuration:",
                r.error.as_deref().unwrap_or("no reason given"),
            ),
        ),
        Err(e) => html_response(
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

async fn sync(State(app): State<App>, Extension(auth): Extension<Auth>, body: Bytes) -> Response {
    if let Err(r) = csrf_checked_form(&auth, &body) {
        return r;
    }
    let c = ctx(&auth);
    let snap = match read_snapshot(&app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let result = status::copy_to_backup(
        snap.doc.config(),
        app.store().path(),
        app.0.opts.copy_timeout,
    )
    .await;
    match result {
        Ok(out) => html_response(
            StatusCode::OK,
            pages::message(
                &c,
                "Copy to backup",
                "lvs.cf was copied to the backup router.",
                &out,
            ),
        ),
        Err(e) => html_response(
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

async fn metrics(State(app): State<App>) -> Response {
    let (pulse, lvsd) = tokio::join!(
        status::pulse_status(&app.0.opts.pulse_socket),
        status::lvsd_status(&app.0.opts.lvsd_socket)
    );
    let serial = app
        .store()
        .read()
        .ok()
        .filter(|s| !s.doc.has_errors())
        .map(|s| s.serial());
    let text = crate::metrics::render(lvsd.as_ref().ok(), pulse.as_ref().ok(), serial);
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

async fn api_config(State(app): State<App>) -> Response {
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

async fn api_status(State(app): State<App>) -> Response {
    let (pulse, lvsd) = tokio::join!(
        status::pulse_status(&app.0.opts.pulse_socket),
        status::lvsd_status(&app.0.opts.lvsd_socket)
    );
    let pulse = pulse
        .map(|p| serde_json::to_value(p).unwrap_or_default())
        .unwrap_or_else(|e| serde_json::json!({"error": format!("pulse is not running: {e}")}));
    let lvsd = lvsd
        .map(|l| serde_json::to_value(l).unwrap_or_default())
        .unwrap_or_else(|e| serde_json::json!({"error": format!("lvsd is not running: {e}")}));
    json(
        StatusCode::OK,
        serde_json::json!({"pulse": pulse, "lvsd": lvsd}),
    )
}

#[derive(serde::Deserialize)]
struct ApiEdit {
    key: String,
    #[serde(default)]
    value: Option<String>,
    serial: Option<u64>,
}

fn api_prelude(auth: &Auth, headers: &HeaderMap, body: &Bytes) -> Result<ApiEdit, Response> {
    let ctype = header_str(headers, header::CONTENT_TYPE).unwrap_or("");
    if !ctype.starts_with("application/json") {
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
    serde_json::from_slice::<ApiEdit>(body).map_err(|e| {
        json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": e.to_string()}),
        )
    })
}

async fn api_edit(app: App, edit: ApiEdit, unset: bool) -> Response {
    let Some(serial) = edit.serial else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "`serial` (the serial_no you read) is required"}),
        );
    };
    let key = edit.key;
    let value = edit.value.unwrap_or_default();
    let policy = app.policy();
    let result = app
        .store()
        .save(Expect::Serial(serial), move |doc| {
            let path =
                KeyPath::parse(&key, doc).map_err(|e| FieldErrors::general(e.to_string()))?;
            if path.key.as_deref() == Some("serial_no") {
                return Err(FieldErrors::general("serial_no is managed by the tool"));
            }
            let mut ed = forms::Editor::checking(doc, &policy);
            match (&path.key, unset) {
                (Some(k), false) => ed.set("value", &path.target, k, &value),
                (Some(k), true) => ed.unset("value", &path.target, k),
                (None, true) => {
                    if let Err(e) = ed.doc.remove(&path.target) {
                        ed.errors.general.push(e.to_string());
                    }
                    ed.changed = true;
                }
                (None, false) => {
                    let r = match &path.target {
                        Target::Virtual(n) => ed.doc.add_virtual(n),
                        Target::Failover(n) => ed.doc.add_failover(n),
                        Target::Server {
                            virtual_name,
                            server,
                        } => ed.doc.add_server(virtual_name, server),
                        Target::Global => Ok(()),
                    };
                    if let Err(e) = r {
                        ed.errors.general.push(e.to_string());
                    }
                    ed.changed = true;
                }
            }
            ed.finish()
        })
        .await;
    match result {
        Ok(saved) => json(
            StatusCode::OK,
            serde_json::json!({"ok": true, "changed": saved.written, "serial": saved.snapshot.serial()}),
        ),
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

async fn api_set(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match api_prelude(&auth, &headers, &body) {
        Ok(e) => api_edit(app, e, false).await,
        Err(r) => r,
    }
}

async fn api_unset(
    State(app): State<App>,
    Extension(auth): Extension<Auth>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match api_prelude(&auth, &headers, &body) {
        Ok(e) => api_edit(app, e, true).await,
        Err(r) => r,
    }
}

// ----- serving ------------------------------------------------------------------

/// Serves `router` on `listener` until the process ends. With `tls`, every
/// connection is a TLS one (handshakes run off the accept loop with a
/// timeout). Slow clients are cut off after a header timeout.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let limit = Arc::new(tokio::sync::Semaphore::new(1024));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            let info = ConnInfo {
                peer,
                tls: acceptor.is_some(),
            };
            let svc = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(info);
                    let mut router = router.clone();
                    async move {
                        use tower_service::Service as _;
                        router.call(req.map(Body::new)).await
                    }
                },
            );
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .max_buf_size(MAX_HEAD.max(8192) + MAX_URI)
                .keep_alive(true);
            let result = match acceptor {
                Some(acceptor) => {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => builder.serve_connection(TokioIo::new(tls), svc).await,
                        _ => return,
                    }
                }
                None => builder.serve_connection(TokioIo::new(stream), svc).await,
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("{}: {source}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file has no certificate.
    #[error("{}: no certificate found", .0.display())]
    NoCertificate(PathBuf),
    /// rustls refused the certificate or key.
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
}

/// Loads a PEM certificate chain and key into a rustls server config.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let pem = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Pem { path, source }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(pem(cert))?
        .collect::<Result<_, _>>()
        .map_err(pem(cert))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cert.to_path_buf()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(pem(key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}
