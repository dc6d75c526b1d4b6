//! The coach's phone 教练手机端: a small HTTP server the desk app runs over its own
//! `Core` (off by default), so coaches take roll call on the mat over the centre's Wi-Fi
//! — with the internet down too. The pages are built into the binary (`web/`).
//!
//! Who gets in (the core decides everything else, as at the desk):
//! 1. A phone pairs with the 8-digit code the desk shows (`Core::phone_pair`) and gets a
//!    device token in an HttpOnly, SameSite=Strict cookie; the desk keeps only its hash
//!    and may revoke it (refused at the next request).
//! 2. A staff member signs in on the paired phone with their own account
//!    (`Core::phone_sign_in`); the phone session lives in memory here and ends at the
//!    centre's next midnight, when the device is revoked, or when the staff member is
//!    disabled (`Core::session_check` before every call).
//!
//! Network hygiene, for plain HTTP on a LAN (no public certificate can name a LAN
//! address): the Host must be an IP address or `localhost` on our port (a DNS-rebinding
//! page carries its own name: 421); every POST must carry an Origin equal to the Host
//! (403); no CORS headers at all; nothing may be cached (`no-store`); guardians' phones
//! arrive masked from the core (`centredesk_core::phone`).
//!
//! Writes go through the one request envelope (`centredesk_protocol::requests`) to
//! `Core::apply_request`: exactly once per request id, stale lines refused.
//! Blocking core calls run on tokio's blocking pool, never on the async workers.

use axum::extract::{Path, Query, Request as HttpRequest, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use centredesk_core::requests::RequestSource;
use centredesk_core::error::AuthFailure;
use centredesk_core::{Core, CoreError, Lang, Session};
use centredesk_protocol::requests::Request;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

mod tls;
pub use tls::{tls_identity, TlsIdentity};

const DEVICE_COOKIE: &str = "cd_device";
const SESSION_COOKIE: &str = "cd_session";
/// Phone sessions kept at once (each sign-in makes one; old ones go first).
const MAX_SESSIONS: usize = 200;

/// The page and its parts, built into the binary: offline means offline.
/// The kit's page with the coach's app.js (its look is all the kit's).
static INDEX_HTML: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| centredesk_phone_kit::page_html("CentreDesk", None));
const APP_JS: &str = include_str!("../web/app.js");
const ZH_CN: &str = include_str!("../web/i18n/zh-CN.json");
const EN: &str = include_str!("../web/i18n/en.json");

struct PhoneSession {
    device_id: String,
    session: Session,
    ends_at: DateTime<Utc>,
}

#[derive(Clone)]
struct Lan {
    core: Arc<Core>,
    port: u16,
    /// Served over HTTPS: cookies are `Secure` and writes come from `https://` pages.
    secure: bool,
    sessions: Arc<Mutex<HashMap<String, PhoneSession>>>,
}

/// A running phone server; stops when dropped (or with `stop`).
pub struct LanServer {
    addr: SocketAddr,
    /// The certificate's SHA-256 fingerprint when serving HTTPS.
    fingerprint: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LanServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serving HTTPS.
    pub fn secure(&self) -> bool {
        self.fingerprint.is_some()
    }

    /// The fingerprint of the certificate it serves (HTTPS only), for the pairing screen.
    pub fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// Stops serving and waits for the server's thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LanServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Starts serving plain HTTP on `addr` (port 0: any free port) on a thread of its own.
pub fn start(core: Arc<Core>, addr: SocketAddr) -> std::io::Result<LanServer> {
    serve(core, addr, None)
}

/// Starts serving HTTPS with the desk's own certificate (`tls_identity`).
pub fn start_tls(core: Arc<Core>, addr: SocketAddr, identity: &TlsIdentity) -> std::io::Result<LanServer> {
    serve(core, addr, Some((tls::server_config(identity)?, identity.fingerprint.clone())))
}

fn serve(core: Arc<Core>, addr: SocketAddr, tls: Option<(rustls::ServerConfig, String)>) -> std::io::Result<LanServer> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (tls, fingerprint) = tls.unzip();
    let app = router(core, addr.port(), fingerprint.is_some());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("phone-server").enable_all().build()?;
    let thread = std::thread::Builder::new().name("phone-server".into()).spawn(move || {
        runtime.block_on(async move {
            let served = match tls {
                None => match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => axum::serve(l, app).with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await,
                    Err(e) => Err(e),
                },
                Some(config) => {
                    let handle = axum_server::Handle::new();
                    let stopper = handle.clone();
                    tokio::spawn(async move {
                        let _ = rx.await;
                        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(2)));
                    });
                    let config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config));
                    axum_server::from_tcp_rustls(listener, config).handle(handle).serve(app.into_make_service()).await
                }
            };
            if let Err(e) = served {
                log::error!("phone server stopped: {e}");
            }
        });
    })?;
    Ok(LanServer { addr, fingerprint, stop: Some(tx), thread: Some(thread) })
}

/// This machine's IPv4 addresses a phone on the same network can reach (not loopback),
/// private ones (the centre's Wi-Fi) first: what the pairing URL and QR code name.
pub fn lan_addresses() -> Vec<std::net::IpAddr> {
    let mut found: Vec<std::net::Ipv4Addr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i.is_loopback())
        .filter_map(|i| match i.ip() {
            std::net::IpAddr::V4(v4) if !v4.is_link_local() && !v4.is_unspecified() => Some(v4),
            _ => None,
        })
        .collect();
    found.sort_by_key(|ip| (!ip.is_private(), *ip));
    found.dedup();
    found.into_iter().map(std::net::IpAddr::V4).collect()
}

/// The addresses a phone reaches a server bound to `bind` at: this machine's LAN
/// addresses for `0.0.0.0`, else `bind` itself. What the URLs and the certificate name.
pub fn reachable_at(bind: std::net::IpAddr) -> Vec<std::net::IpAddr> {
    if bind.is_unspecified() {
        lan_addresses()
    } else {
        vec![bind]
    }
}

fn router(core: Arc<Core>, port: u16, secure: bool) -> Router {
    let lan = Lan { core, port, secure, sessions: Arc::new(Mutex::new(HashMap::new())) };
    Router::new()
        .route("/", get(|| async { page(INDEX_HTML.as_str(), "text/html; charset=utf-8") }))
        .route("/pair", get(|| async { page(INDEX_HTML.as_str(), "text/html; charset=utf-8") }))
        .route("/app.js", get(|| async { page(APP_JS, "text/javascript; charset=utf-8") }))
        .route("/kit.js", get(|| async { page(centredesk_phone_kit::KIT_JS, "text/javascript; charset=utf-8") }))
        .route("/kit.css", get(|| async { page(centredesk_phone_kit::KIT_CSS, "text/css; charset=utf-8") }))
        .route("/i18n/zh-CN.json", get(|| async { page(ZH_CN, "application/json") }))
        .route("/i18n/en.json", get(|| async { page(EN, "application/json") }))
        .route("/api/pair", post(pair))
        .route("/api/me", get(me))
        .route("/api/sign-in", post(sign_in))
        .route("/api/sign-out", post(sign_out))
        .route("/api/today", get(today))
        .route("/api/roster/{session_id}", get(roster))
        .route("/api/members", get(members))
        .route("/api/trials", get(trials))
        .route("/api/hand-overs", get(hand_overs))
        .route("/api/shop", get(shop))
        .route("/api/requests", post(request))
        .layer(middleware::from_fn_with_state(lan.clone(), guard))
        .with_state(lan)
}

fn page(body: &'static str, kind: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// Whether `host` (a Host header) names this server by address: an IP literal or
/// `localhost`, on our port. Any other name is a page that rebound its DNS to us.
pub fn host_allowed(host: &str, port: u16) -> bool {
    let (name, given_port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(':') && (n.starts_with('[') || !n.contains(':')) => (n, p.parse::<u16>().ok()),
        _ => (host, Some(80)),
    };
    if given_port != Some(port) {
        return false;
    }
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

/// Host and Origin checks on every request, and the headers every answer carries.
async fn guard(State(lan): State<Lan>, request: HttpRequest, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("").to_string();
    let lang = lang_of(request.headers());
    if !host_allowed(&host, lan.port) {
        return refusal(StatusCode::MISDIRECTED_REQUEST, "host", lang.pick("请用前台电脑显示的地址打开", "Open the address the desk shows"));
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let origin = request.headers().get(header::ORIGIN).and_then(|h| h.to_str().ok()).unwrap_or("");
        let scheme = if lan.secure { "https" } else { "http" };
        if origin != format!("{scheme}://{host}") {
            return refusal(StatusCode::FORBIDDEN, "origin", lang.pick("请求来源不对，已拒绝", "Refused: the request came from another site"));
        }
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"));
    response
}

fn refusal(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(serde_json::json!({ "code": code, "field": null, "message": message }))).into_response()
}

/// The page's language (it sends `X-Lang`), else 简体中文.
fn lang_of(headers: &HeaderMap) -> Lang {
    match headers.get("x-lang").and_then(|h| h.to_str().ok()) {
        Some(l) if l.starts_with("en") => Lang::En,
        _ => Lang::ZhCn,
    }
}

fn status_of(e: &CoreError) -> StatusCode {
    match e {
        CoreError::Auth(AuthFailure::TooManyAttempts { .. }) => StatusCode::TOO_MANY_REQUESTS,
        CoreError::Auth(_) => StatusCode::UNAUTHORIZED,
        CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
        CoreError::NotFound(_) => StatusCode::NOT_FOUND,
        CoreError::Validation { .. } | CoreError::Validations(_) => StatusCode::UNPROCESSABLE_ENTITY,
        CoreError::Conflict(_) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn core_error(e: CoreError, lang: Lang) -> Response {
    let mut r = (status_of(&e), Json(e.to_dto(lang))).into_response();
    if let CoreError::Auth(AuthFailure::TooManyAttempts { retry_after_secs }) = e {
        if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

fn set_cookie(secure: bool, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    let only_tls = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/{age}{only_tls}")).unwrap_or(HeaderValue::from_static(""))
}

fn random_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Runs a blocking core call off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(|_| refusal(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error".into()))
}

impl Lan {
    /// The signed-in staff member on this paired device, checked again now.
    async fn signed_in(&self, headers: &HeaderMap) -> Result<(String, Session), Response> {
        let lang = lang_of(headers);
        let token = cookie(headers, DEVICE_COOKIE).ok_or_else(|| core_error(CoreError::Auth(AuthFailure::DeviceUnknown), lang))?;
        let key = cookie(headers, SESSION_COOKIE);
        let core = self.core.clone();
        let device = blocking(move || core.phone_device_check(&token)).await?.map_err(|e| core_error(e, lang))?;
        let session = {
            let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            let now = self.core.now();
            sessions.retain(|_, s| s.ends_at > now);
            key.and_then(|k| sessions.get(&k)).filter(|s| s.device_id == device).map(|s| s.session.clone())
        };
        let session = session.ok_or_else(|| core_error(CoreError::Auth(AuthFailure::NotLoggedIn), lang))?;
        let core = self.core.clone();
        let checked = session.clone();
        blocking(move || core.session_check(&checked)).await?.map_err(|e| core_error(e, lang))?;
        Ok((device, session))
    }

    /// The centre's next local midnight: when a phone session ends.
    fn next_midnight(&self) -> DateTime<Utc> {
        let tomorrow = self.core.today().succ_opt().unwrap_or(self.core.today());
        centredesk_core::db::day_start(self.core.timezone(), tomorrow)
    }
}

#[derive(Deserialize)]
struct PairBody {
    code: String,
    #[serde(default)]
    device_name: String,
}

async fn pair(State(lan): State<Lan>, headers: HeaderMap, Json(body): Json<PairBody>) -> Response {
    let lang = lang_of(&headers);
    let core = lan.core.clone();
    match blocking(move || core.phone_pair(&body.code, &body.device_name)).await {
        Ok(Ok(p)) => {
            let mut r = Json(serde_json::json!({ "device_id": p.device_id })).into_response();
            r.headers_mut().append(header::SET_COOKIE, set_cookie(lan.secure, DEVICE_COOKIE, &p.token, Some(400 * 24 * 3600)));
            r
        }
        Ok(Err(e)) => core_error(e, lang),
        Err(r) => r,
    }
}

async fn me(State(lan): State<Lan>, headers: HeaderMap) -> Response {
    let paired = match cookie(&headers, DEVICE_COOKIE) {
        Some(token) => {
            let core = lan.core.clone();
            matches!(blocking(move || core.phone_device_check(&token)).await, Ok(Ok(_)))
        }
        None => false,
    };
    let session = if paired { lan.signed_in(&headers).await.ok().map(|(_, s)| s) } else { None };
    Json(serde_json::json!({
        "paired": paired,
        "signed_in": session.is_some(),
        "staff_name": session.as_ref().map(|s| s.display_name.clone()),
        "role": session.as_ref().map(|s| s.role),
        "actions": session.as_ref().map(|s| s.actions.clone()).unwrap_or_default(),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct SignInBody {
    username: String,
    password: String,
}

async fn sign_in(State(lan): State<Lan>, headers: HeaderMap, Json(body): Json<SignInBody>) -> Response {
    let lang = lang_of(&headers);
    let Some(token) = cookie(&headers, DEVICE_COOKIE) else { return core_error(CoreError::Auth(AuthFailure::DeviceUnknown), lang) };
    let core = lan.core.clone();
    let device = token.clone();
    let (session, device_id) = match blocking(move || core.phone_sign_in(&device, &body.username, &body.password)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return core_error(e, lang),
        Err(r) => return r,
    };
    let key = random_hex();
    let ends_at = lan.next_midnight();
    {
        let mut sessions = lan.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.ends_at).map(|(k, _)| k.clone()) {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(key.clone(), PhoneSession { device_id, session: session.clone(), ends_at });
    }
    let mut r = Json(serde_json::json!({ "staff_name": session.display_name, "role": session.role })).into_response();
    r.headers_mut().append(header::SET_COOKIE, set_cookie(lan.secure, SESSION_COOKIE, &key, None));
    r
}

async fn sign_out(State(lan): State<Lan>, headers: HeaderMap) -> Response {
    if let Some(key) = cookie(&headers, SESSION_COOKIE) {
        lan.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
    }
    let mut r = Json(serde_json::json!({})).into_response();
    r.headers_mut().append(header::SET_COOKIE, set_cookie(lan.secure, SESSION_COOKIE, "", Some(0)));
    r
}

/// Answers with a core read as the signed-in staff member.
async fn read<T: serde::Serialize + Send + 'static>(
    lan: Lan,
    headers: HeaderMap,
    f: impl FnOnce(&Core, &Session) -> centredesk_core::Result<T> + Send + 'static,
) -> Response {
    let lang = lang_of(&headers);
    let (_, session) = match lan.signed_in(&headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let core = lan.core.clone();
    match blocking(move || f(&core, &session)).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => core_error(e, lang),
        Err(r) => r,
    }
}

async fn today(State(lan): State<Lan>, headers: HeaderMap) -> Response {
    read(lan, headers, |core, s| core.phone_today(s)).await
}

async fn roster(State(lan): State<Lan>, headers: HeaderMap, Path(session_id): Path<String>) -> Response {
    read(lan, headers, move |core, s| core.phone_roster(s, &session_id)).await
}

async fn trials(State(lan): State<Lan>, headers: HeaderMap) -> Response {
    read(lan, headers, |core, s| core.phone_trials(s)).await
}

async fn hand_overs(State(lan): State<Lan>, headers: HeaderMap) -> Response {
    read(lan, headers, |core, s| core.phone_hand_overs(s)).await
}

async fn shop(State(lan): State<Lan>, headers: HeaderMap) -> Response {
    read(lan, headers, |core, s| core.phone_shop(s)).await
}

#[derive(Deserialize)]
struct MemberQuery {
    q: String,
}

async fn members(State(lan): State<Lan>, headers: HeaderMap, Query(q): Query<MemberQuery>) -> Response {
    read(lan, headers, move |core, s| core.phone_find_member(s, &q.q)).await
}

async fn request(State(lan): State<Lan>, headers: HeaderMap, Json(request): Json<Request>) -> Response {
    let lang = lang_of(&headers);
    let (device, session) = match lan.signed_in(&headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let core = lan.core.clone();
    match blocking(move || core.apply_request(&session, RequestSource::Phone(&device), &request)).await {
        Ok(Ok(outcome)) => Json(outcome).into_response(),
        Ok(Err(e)) => core_error(e, lang),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn only_addresses_on_our_port_are_allowed_hosts() {
        for ok in ["192.168.1.20:8765", "127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST:8765"] {
            assert!(host_allowed(ok, 8765), "{ok}");
        }
        for bad in ["evil.example:8765", "192.168.1.20:80", "192.168.1.20", "", "127.0.0.1.nip.io:8765", "[::1]", "::1"] {
            assert!(!host_allowed(bad, 8765), "{bad}");
        }
        assert!(host_allowed("192.168.1.20", 80));
    }
}
