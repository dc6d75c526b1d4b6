//! The protocol, version 1 (`/api/v1`): its requests, answers, errors and the log-epoch
//! rule are `centredesk_protocol::sync` (shared with the desk). Here:
//!
//! - `POST /api/v1/devices/register`, `GET /api/v1/sync/status[?numbers=1]`,
//!   `POST /api/v1/sync/push` — the desk's side of sync;
//! - Head office (HTTP Basic with a head-office account): `GET /api/v1/centres`,
//!   `/api/v1/centres/{code}/members`, `/api/v1/centres/{code}/contracts`,
//!   `/api/v1/reports/monthly[?centre=CODE]`, `/api/v1/devices[?centre=CODE]` (each takes
//!   `?format=csv`), `POST /api/v1/devices/{id}/revoke`, and the overview page at `/`.
//!
//! Who may do what: an administrator reaches every centre; a centre's account registers
//! and reads its own centre only (403 `not_your_centre`), and the overview page is an
//! administrator's (403 `admin_only`). Register and every Basic-auth request are
//! rate-limited per client address ([`Limits`], `tower_governor`) and per username (5
//! wrong passwords in a row lock it, 1 s doubling to 15 min, counted in the store): 429
//! `rate_limited` with `Retry-After`.
//!
//! The device, and so the centre, comes from the token, never from the body; a revoked
//! device's token is 401 `device_revoked`.

use crate::auth::{hash_password, new_token, token_hash, verify_password};
use crate::clock::Clock;
use crate::fold::effects;
use crate::reports::{csv_bytes, monthly};
use crate::store::{Device, DeviceInfo, PushError, Role, Store, StoreError, User};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use centredesk_protocol::sync::{code, ErrorBody, PushRequest, RegisterRequest, RegisterResponse, StatusResponse};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

/// Compressed request bodies above this are refused before they are read (413).
pub const MAX_BODY: usize = 4 << 20;
/// A gzip body may not inflate beyond this (a small bomb must not fill memory).
pub const MAX_INFLATED: u64 = 16 << 20;
/// Ops per push; the client sends 100–500.
pub const MAX_OPS: usize = 1000;
/// The longest id, entity or op name, timestamp or device name an op or a registration
/// may carry, in bytes (PostgreSQL indexes them; real ones are UUIDs and short names).
pub const MAX_KEY: usize = 200;
/// Longer usernames or passwords are wrong without a look (nor a row in the store).
const MAX_USERNAME: usize = 128;
const MAX_PASSWORD: usize = 1024;

/// Per-address rate limits (a token bucket per client IP: `burst` requests at once, then
/// one more every `every`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// `POST /api/v1/devices/register` (a username and password each time).
    pub register_burst: u32,
    pub register_every: Duration,
    /// Every head-office request (HTTP Basic: a username and password each time).
    pub reads_burst: u32,
    pub reads_every: Duration,
}

impl Default for Limits {
    /// Register: 10 at once, then one every 6 s. Head-office reads: 60 at once, then 4 a
    /// second. Behind a reverse proxy every client is the proxy's address: the limits
    /// are then the whole server's.
    fn default() -> Self {
        Limits { register_burst: 10, register_every: Duration::from_secs(6), reads_burst: 60, reads_every: Duration::from_millis(250) }
    }
}

/// How a server is made: its clock (tests move theirs) and its rate limits.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub clock: Clock,
    pub limits: Limits,
    /// Served over TLS (or behind a TLS proxy): the portal's cookies are `Secure`.
    pub secure_cookies: bool,
    /// The reverse proxies in front of this server. A request from one of them is keyed
    /// for the rate limits by the client address the proxy put in `X-Forwarded-For`; from
    /// anyone else the header is ignored, so a client cannot pick its own bucket.
    pub trusted_proxies: Vec<IpAddr>,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    logins: Arc<LoginLocks>,
    /// Rung when a parent's request is stored: the desks' long polls answer at once.
    pub(crate) inbox_bell: Arc<tokio::sync::Notify>,
    pub(crate) secure_cookies: bool,
}

/// One password check at a time per username (striped): many parallel guesses at one
/// account are counted one after the other, so none slips past the lockout.
struct LoginLocks {
    stripes: Vec<Mutex<()>>,
    hasher: std::collections::hash_map::RandomState,
}

impl LoginLocks {
    fn new() -> LoginLocks {
        LoginLocks { stripes: (0..64).map(|_| Mutex::new(())).collect(), hasher: Default::default() }
    }

    fn lock(&self, username: &str) -> MutexGuard<'_, ()> {
        use std::hash::BuildHasher;
        let i = (self.hasher.hash_one(username) % self.stripes.len() as u64) as usize;
        self.stripes[i].lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An error answer: its status and the protocol's body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, body: ErrorBody { code: code.into(), message: message.into(), ..Default::default() } }
    }

    pub(crate) fn rate_limited(retry_after: u64, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, code::RATE_LIMITED, message);
        e.body.retry_after = Some(retry_after.max(1));
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.body.retry_after;
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::new(StatusCode::NOT_FOUND, code::NOT_FOUND, format!("{what} not found")),
            StoreError::Exists(what) => ApiError::new(StatusCode::CONFLICT, code::EXISTS, format!("{what} already exists")),
            StoreError::Backend(m) => {
                eprintln!("storage error: {m}");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code::STORAGE, "storage error")
            }
        }
    }
}

/// Runs a blocking store call off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, e.to_string())))
}

/// The rate limiters' key: the client's address, from the connection (so the server must
/// be made with `into_make_service_with_connect_info::<SocketAddr>()`, as [`serve_with`]
/// and [`serve_tls`] do) — or, when the connection is from a trusted proxy, the address
/// that proxy saw.
#[derive(Debug, Clone, Default)]
pub struct PeerIp {
    trusted_proxies: Arc<[IpAddr]>,
}

impl PeerIp {
    pub fn new(trusted_proxies: &[IpAddr]) -> PeerIp {
        PeerIp { trusted_proxies: trusted_proxies.into() }
    }

    /// The client behind `peer`: each proxy appends the address it was connected from to
    /// `X-Forwarded-For`, so reading from the right, the first address that is not one of
    /// our proxies is the client's (anything to its left the client may have written
    /// itself). A header that does not parse counts as absent: the proxy is the client.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for.iter().flat_map(|h| h.split(',')).map(str::trim).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusted_proxies.contains(&ip) => client = ip,
                Ok(ip) => return ip,
                Err(_) => return client,
            }
        }
        client
    }
}

impl KeyExtractor for PeerIp {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).ok_or(GovernorError::UnableToExtractKey)?;
        let forwarded: Vec<&str> = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        Ok(self.client(peer, &forwarded))
    }
}

fn too_many(e: GovernorError) -> Response<Body> {
    match e {
        GovernorError::TooManyRequests { wait_time, .. } => {
            ApiError::rate_limited(wait_time, format!("too many requests from this address; try again in {} s", wait_time.max(1))).into_response()
        }
        GovernorError::UnableToExtractKey => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "the server cannot see the client's address (it must be served with connect info)",
        )
        .into_response(),
        GovernorError::Other { code: status, msg, .. } => {
            ApiError::new(status, code::INTERNAL, msg.unwrap_or_else(|| "refused".into())).into_response()
        }
    }
}

pub(crate) fn limiter(peer: &PeerIp, burst: u32, every: Duration) -> GovernorLayer<PeerIp, governor::middleware::NoOpMiddleware, Body> {
    let config = GovernorConfigBuilder::default()
        .key_extractor(peer.clone())
        .period(every.max(Duration::from_millis(1)))
        .burst_size(burst.max(1))
        .finish()
        .expect("a burst and a period above zero");
    // Addresses not seen for a while are forgotten, so the table does not grow forever.
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        let limiter = Arc::downgrade(config.limiter());
        rt.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                match limiter.upgrade() {
                    Some(l) => l.retain_recent(),
                    None => break,
                }
            }
        });
    }
    GovernorLayer::new(config).error_handler(too_many)
}

pub fn router(store: Arc<dyn Store>) -> Router {
    router_with(store, Options::default())
}

pub fn router_with(store: Arc<dyn Store>, options: Options) -> Router {
    let state = AppState {
        store,
        clock: options.clock,
        logins: Arc::new(LoginLocks::new()),
        inbox_bell: Arc::new(tokio::sync::Notify::new()),
        secure_cookies: options.secure_cookies,
    };
    let limits = options.limits;
    let peer = PeerIp::new(&options.trusted_proxies);
    let head_office = Router::new()
        .route("/api/v1/centres", get(centres))
        .route("/api/v1/centres/{code}/members", get(members))
        .route("/api/v1/centres/{code}/contracts", get(contracts))
        .route("/api/v1/reports/monthly", get(report_monthly))
        .route("/api/v1/devices", get(devices))
        .route("/api/v1/devices/{id}/revoke", post(revoke))
        .route("/", get(overview_page))
        .route_layer(limiter(&peer, limits.reads_burst, limits.reads_every));
    Router::new()
        .route("/api/v1/devices/register", post(register).layer(limiter(&peer, limits.register_burst, limits.register_every)))
        .route("/api/v1/sync/push", post(push))
        .route("/api/v1/sync/status", get(status))
        .merge(head_office)
        .merge(crate::portal::routes(&peer))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router(store), shutdown).await
}

/// Serves `app` (from [`router_with`]) with each request's peer address known to the
/// rate limiters.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await
}

/// Serves over HTTPS with a certificate chain and private key (PEM files), for a head
/// office without a reverse proxy in front.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    store: Arc<dyn Store>,
    cert_pem: std::path::PathBuf,
    key_pem: std::path::PathBuf,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Several servers in one process (the tests) install it once; the error is "already".
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert_pem, key_pem).await?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    listener.set_nonblocking(true)?;
    axum_server::from_tcp_rustls(listener, config)
        .handle(handle)
        .serve(router_with(store, Options { secure_cookies: true, ..Options::default() }).into_make_service_with_connect_info::<SocketAddr>())
        .await
}

/// A text from a client that the stores can keep and look up: not empty, at most `max`
/// bytes, no NUL (PostgreSQL refuses it in text).
pub(crate) fn storable(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && !text.contains('\0')
}

fn not_your_centre(user: &User, own: &str, code: &str, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        code::NOT_YOUR_CENTRE,
        format!("account {} belongs to centre {own}: it cannot {what} centre {code}", user.username),
    )
}

fn no_role(user: &User) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code::FORBIDDEN, format!("account {} is neither an administrator nor a centre's account", user.username))
}

/// May `user` reach centre `code` (to `what` it)?
fn may_reach(user: &User, code: &str, what: &str) -> Result<(), ApiError> {
    match &user.role {
        Role::Admin => Ok(()),
        Role::Centre { code: own, .. } if own == code => Ok(()),
        Role::Centre { code: own, .. } => Err(not_your_centre(user, own, code, what)),
        Role::None => Err(no_role(user)),
    }
}

/// A hash to check a password against when the username is unknown, so that answering
/// takes as long as for a real account.
fn stand_in_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password("no account has this password"))
}

/// Checks a username and password (blocking: argon2 and the store). A username with
/// [`crate::store::MAX_LOGIN_FAILURES`] wrong passwords in a row is locked for a while:
/// 429 without looking at the password. Unknown usernames are counted the same way, so
/// the answers never tell which accounts exist.
fn authenticate(st: &AppState, username: &str, password: &str) -> Result<User, ApiError> {
    let wrong = || ApiError::new(StatusCode::UNAUTHORIZED, code::BAD_CREDENTIALS, "wrong head-office username or password");
    if !storable(username, MAX_USERNAME) || password.len() > MAX_PASSWORD {
        return Err(wrong());
    }
    let _one_at_a_time = st.logins.lock(username);
    let now = st.clock.now_ms();
    let throttle = st.store.login_throttle(username, now)?;
    if throttle.locked_until_ms > now {
        let wait = ((throttle.locked_until_ms - now) as u64).div_ceil(1000);
        return Err(ApiError::rate_limited(wait, format!("too many wrong passwords for {username}; try again in {} s", wait.max(1))));
    }
    let user = st.store.user(username)?;
    let right = verify_password(password, user.as_ref().map_or(stand_in_hash(), |u| u.password_hash.as_str()));
    match user {
        Some(user) if right => {
            if throttle.failures > 0 {
                st.store.login_succeeded(username)?;
            }
            Ok(user)
        }
        _ => {
            st.store.login_failed(username, now)?;
            Err(wrong())
        }
    }
}

async fn register(State(st): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let req: RegisterRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, code::MALFORMED, e.to_string()))?;
    blocking(move || {
        let user = authenticate(&st, &req.username, &req.password)?;
        match &user.role {
            Role::Admin => {}
            Role::Centre { code: own, .. } if *own == req.centre => {}
            Role::Centre { code: own, .. } => return Err(not_your_centre(&user, own, &req.centre, "register a desk of")),
            Role::None => return Err(no_role(&user)),
        }
        if req.device_name.len() > MAX_KEY || req.device_name.contains('\0') {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, code::MALFORMED, format!("a device name is at most {MAX_KEY} bytes, without NUL")));
        }
        let centre_id = storable(&req.centre, MAX_KEY)
            .then(|| st.store.centre_id(&req.centre))
            .transpose()?
            .flatten()
            .ok_or_else(|| StoreError::NotFound(format!("centre {}", req.centre)))?;
        let token = new_token();
        let device_id = st.store.add_device(centre_id, user.id, &req.device_name, &token_hash(&token))?;
        Ok(Json(RegisterResponse { device_id, centre: req.centre, token }).into_response())
    })
    .await
}

pub(crate) async fn device(st: &AppState, headers: &HeaderMap) -> Result<Device, ApiError> {
    let unauthorized = || ApiError::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, "missing or invalid device token");
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthorized)?
        .to_string();
    let store = st.store.clone();
    let device = blocking(move || store.device_by_token(&token_hash(&token))?.ok_or_else(unauthorized)).await?;
    if device.revoked {
        return Err(revoked());
    }
    Ok(device)
}

fn revoked() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code::DEVICE_REVOKED, "head office revoked this device: register the desk again")
}

pub(crate) fn inflate(headers: &HeaderMap, body: Bytes) -> Result<Vec<u8>, ApiError> {
    match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase()) {
        None => Ok(body.to_vec()),
        Some(e) if e == "identity" => Ok(body.to_vec()),
        Some(e) if e == "gzip" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .take(MAX_INFLATED + 1)
                .read_to_end(&mut out)
                .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", format!("bad gzip body: {e}")))?;
            if out.len() as u64 > MAX_INFLATED {
                return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the inflated body is too large"));
            }
            Ok(out)
        }
        Some(e) => Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "encoding", format!("unsupported content-encoding {e}"))),
    }
}

/// Everything that can be checked without the store, so a bad batch never opens a
/// transaction: the order of the seqs, the payload versions, and that every text can be
/// stored as sent (no NUL, which PostgreSQL refuses; ids short enough to index, the ids
/// the fold takes from payloads too). Whatever the payload holds otherwise is folded as
/// data: a wrong type or an absurd value is a row head office shows as it came.
fn check_batch(device: &Device, req: &PushRequest) -> Result<(), ApiError> {
    if req.centre.as_deref().is_some_and(|c| c != device.centre_code) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, code::OTHER_CENTRE, "this device belongs to another centre"));
    }
    if req.ops.len() > MAX_OPS {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, code::TOO_MANY_OPS, format!("at most {MAX_OPS} ops per push")));
    }
    if req.epoch.as_deref().is_some_and(|e| !storable(e, MAX_KEY)) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, code::INVALID_OP, format!("the epoch must be 1 to {MAX_KEY} bytes without NUL")));
    }
    let invalid = |seq: i64, what: String| {
        ApiError::new(StatusCode::BAD_REQUEST, code::INVALID_OP, format!("op {seq}: {what}; the batch was refused and nothing of it applied"))
    };
    for (i, op) in req.ops.iter().enumerate() {
        if op.seq < 1 || (i > 0 && req.ops[i - 1].seq.checked_add(1) != Some(op.seq)) {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, code::MALFORMED, "seqs in a batch must be consecutive and start at 1 or later"));
        }
        if op.op_id.is_empty() || op.entity.is_empty() || op.entity_id.is_empty() || op.op.is_empty() {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, code::MALFORMED, format!("op {} lacks an id, entity or op", op.seq)));
        }
        match op.version() {
            None => return Err(ApiError::new(StatusCode::BAD_REQUEST, code::MALFORMED, format!("op {} has no payload version", op.seq))),
            Some(v) if !crate::PAYLOAD_VERSIONS.contains(&v) => {
                let mut e = ApiError::new(
                    StatusCode::UPGRADE_REQUIRED,
                    code::PAYLOAD_VERSION,
                    format!("payload version {v} is not supported (server folds {:?}); update CentreDesk", crate::PAYLOAD_VERSIONS),
                );
                e.body.supported = Some([*crate::PAYLOAD_VERSIONS.start(), *crate::PAYLOAD_VERSIONS.end()]);
                return Err(e);
            }
            Some(_) => {}
        }
        let fields = [("op_id", Some(&op.op_id)), ("entity", Some(&op.entity)), ("entity_id", Some(&op.entity_id)), ("op", Some(&op.op)), ("at", Some(&op.at))];
        let optional = [("staff_id", op.staff_id.as_ref()), ("subject_id", op.subject_id.as_ref())];
        for (name, text) in fields.into_iter().chain(optional) {
            match text {
                Some(t) if t.contains('\0') => return Err(invalid(op.seq, format!("{name} contains a NUL character"))),
                Some(t) if t.len() > MAX_KEY => return Err(invalid(op.seq, format!("{name} is longer than {MAX_KEY} bytes"))),
                _ => {}
            }
        }
        if has_nul(&op.payload) {
            return Err(invalid(op.seq, "the payload contains a NUL character (\\u0000), which head office cannot store".into()));
        }
        for e in effects(&op.entity, &op.entity_id, &op.op, op.data()) {
            let (entity, id) = e.key();
            if id.len() > MAX_KEY {
                return Err(invalid(op.seq, format!("the payload names a {entity} id longer than {MAX_KEY} bytes")));
            }
        }
    }
    Ok(())
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

async fn push(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let device = device(&st, &headers).await?;
    let raw = inflate(&headers, body)?;
    let req: PushRequest = serde_json::from_slice(&raw).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, code::MALFORMED, e.to_string()))?;
    check_batch(&device, &req)?;
    blocking(move || match st.store.push(&device, req.epoch.as_deref(), req.rebase, &req.ops) {
        Ok(out) => Ok(Json(out).into_response()),
        Err(PushError::Gap { expected }) => {
            let mut e = ApiError::new(StatusCode::CONFLICT, code::GAP, format!("expected seq {expected}; resend from there"));
            e.body.expected_seq = Some(expected);
            Err(e)
        }
        Err(PushError::Diverged { seq }) => {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                code::DIVERGED,
                format!("seq {seq} was already received with another op id: this centre's log was rewound (restored backup?)"),
            );
            e.body.seq = Some(seq);
            Err(e)
        }
        Err(PushError::Epoch) => Err(ApiError::new(
            StatusCode::CONFLICT,
            code::EPOCH,
            "this push is not in the device's log epoch: send the whole log again from seq 1 with rebase",
        )),
        Err(PushError::Forbidden { entity, entity_id }) => {
            Err(ApiError::new(StatusCode::FORBIDDEN, code::OTHER_CENTRE, format!("{entity} {entity_id} belongs to another centre")))
        }
        Err(PushError::Revoked) => Err(revoked()),
        Err(PushError::Store(e)) => Err(e.into()),
    })
    .await
}

async fn status(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let d = device(&st, &headers).await?;
    let with_numbers = q.get("numbers").is_some_and(|v| v == "1");
    let server_time = st.clock.now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    blocking(move || {
        let acked_op_id = if d.acked_through_seq > 0 { st.store.op_id_at(d.id, d.acked_through_seq)? } else { None };
        let numbers = if with_numbers { st.store.numbers(d.centre_id)? } else { Default::default() };
        Ok(Json(StatusResponse {
            acked_through_seq: d.acked_through_seq,
            acked_op_id,
            epoch: d.epoch,
            centre: d.centre_code,
            device_id: d.id,
            server_time,
            numbers,
        })
        .into_response())
    })
    .await
}

/// Head office: HTTP Basic with a head-office account, checked on every request (argon2,
/// the per-username lockout; head office reads rarely). The account, whatever its role.
async fn head_office(st: &AppState, headers: &HeaderMap) -> Result<User, ApiError> {
    use base64::Engine;
    let unauthorized = || ApiError::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, "head-office credentials required");
    let creds = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(unauthorized)?;
    let (user, password) = creds.split_once(':').ok_or_else(unauthorized)?;
    let (user, password) = (user.to_string(), password.to_string());
    let st = st.clone();
    let user = blocking(move || authenticate(&st, &user, &password)).await?;
    if user.role == Role::None {
        return Err(no_role(&user));
    }
    Ok(user)
}

/// The centre a request names (`{code}` or `?centre=`), as its store id: 404 when there
/// is none (after the account was found allowed to ask).
fn centre_named(store: &dyn Store, code: &str) -> Result<i64, ApiError> {
    let id = if storable(code, MAX_KEY) { store.centre_id(code)? } else { None };
    Ok(id.ok_or_else(|| StoreError::NotFound(format!("centre {code}")))?)
}

/// Which centre a list is for: the one named, else every centre for an administrator
/// and the account's own for a centre's account.
fn centre_scope(store: &dyn Store, user: &User, named: Option<&String>, what: &str) -> Result<Option<(i64, String)>, ApiError> {
    match (named, &user.role) {
        (Some(code), _) => {
            may_reach(user, code, what)?;
            Ok(Some((centre_named(store, code)?, code.clone())))
        }
        (None, Role::Centre { id, code }) => Ok(Some((*id, code.clone()))),
        (None, Role::Admin) => Ok(None),
        (None, Role::None) => Err(no_role(user)),
    }
}

fn wants_csv(q: &HashMap<String, String>) -> bool {
    q.get("format").is_some_and(|f| f == "csv")
}

fn csv_response(name: &str, bytes: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\""))],
        bytes,
    )
        .into_response()
}

fn cell(v: &Value, k: &str) -> String {
    match v.get(k) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn table(rows: &[(String, Value)], columns: &[&str]) -> Vec<Vec<String>> {
    rows.iter().map(|(_, v)| columns.iter().map(|c| cell(v, c)).collect()).collect()
}

async fn centres(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let user = head_office(&st, &headers).await?;
    let mut list = blocking(move || Ok(st.store.centres()?)).await?;
    // A centre's account sees its own centre only.
    if let Role::Centre { code, .. } = &user.role {
        list.retain(|c| c.code == *code);
    }
    if wants_csv(&q) {
        let rows = list.iter().map(|c| {
            vec![c.code.clone(), c.name.clone(), c.devices.to_string(), c.last_push_at.clone().unwrap_or_default(), c.acked_through_seq.to_string()]
        });
        return Ok(csv_response("centres", csv_bytes(&["code", "name", "devices", "last_push_at", "acked_through_seq"], rows)));
    }
    Ok(Json(list).into_response())
}

async fn entity_rows(st: AppState, user: User, code: String, entity: &'static str) -> Result<Vec<(String, Value)>, ApiError> {
    may_reach(&user, &code, "read")?;
    blocking(move || {
        let id = centre_named(st.store.as_ref(), &code)?;
        Ok(st.store.rows(id, entity)?)
    })
    .await
}

const MEMBER_COLUMNS: &[&str] = &["id", "member_no", "name", "gender", "birthday", "school", "status", "approved_at", "created_at", "merged_into"];
const CONTRACT_COLUMNS: &[&str] = &[
    "id", "contract_no", "member_id", "package_name", "kind", "amount_due", "start_date", "end_date", "lessons_total", "lessons_used", "status",
];

async fn members(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let user = head_office(&st, &headers).await?;
    let rows = entity_rows(st, user, code.clone(), "member").await?;
    if wants_csv(&q) {
        return Ok(csv_response(&format!("{code}-members"), csv_bytes(MEMBER_COLUMNS, table(&rows, MEMBER_COLUMNS))));
    }
    Ok(Json(rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>()).into_response())
}

async fn contracts(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let user = head_office(&st, &headers).await?;
    let rows = entity_rows(st, user, code.clone(), "contract").await?;
    if wants_csv(&q) {
        return Ok(csv_response(&format!("{code}-contracts"), csv_bytes(CONTRACT_COLUMNS, table(&rows, CONTRACT_COLUMNS))));
    }
    Ok(Json(rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>()).into_response())
}

/// Every centre's figures for an administrator (or `?centre=`); a centre's account gets
/// its own centre's.
async fn report_monthly(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let user = head_office(&st, &headers).await?;
    let csv = wants_csv(&q);
    let this_month = st.clock.now().format("%Y-%m").to_string();
    let figures = blocking(move || {
        let scope = centre_scope(st.store.as_ref(), &user, q.get("centre"), "read the report of")?;
        Ok(monthly(st.store.as_ref(), scope.as_ref().map(|(_, code)| code.as_str()), &this_month)?)
    })
    .await?;
    if csv {
        let rows = figures.iter().map(|f| {
            vec![f.centre.clone(), f.month.clone(), f.revenue.clone(), f.payments.to_string(), f.active_members.to_string(), f.attendances.to_string()]
        });
        return Ok(csv_response("monthly", csv_bytes(&["centre", "month", "revenue", "payments", "active_members", "attendances"], rows)));
    }
    Ok(Json(figures).into_response())
}

const DEVICE_COLUMNS: &[&str] = &["id", "centre", "name", "registered_by", "registered_at", "last_push_at", "acked_through_seq", "revoked_at"];

/// The registered devices: every centre's for an administrator (or `?centre=`), its own
/// centre's for a centre's account.
async fn devices(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let user = head_office(&st, &headers).await?;
    let csv = wants_csv(&q);
    let list = blocking(move || {
        let scope = centre_scope(st.store.as_ref(), &user, q.get("centre"), "list the devices of")?;
        Ok(st.store.devices(scope.map(|(id, _)| id))?)
    })
    .await?;
    if csv {
        let rows = list.iter().map(|d| {
            vec![
                d.id.to_string(),
                d.centre.clone(),
                d.name.clone(),
                d.registered_by.clone().unwrap_or_default(),
                d.registered_at.clone(),
                d.last_push_at.clone().unwrap_or_default(),
                d.acked_through_seq.to_string(),
                d.revoked_at.clone().unwrap_or_default(),
            ]
        });
        return Ok(csv_response("devices", csv_bytes(DEVICE_COLUMNS, rows)));
    }
    Ok(Json(list).into_response())
}

/// Revokes a device (its token is refused from its next request on). A JSON request
/// only: a browser holding head office's Basic credentials cannot be made to send one
/// from another site's form.
async fn revoke(State(st): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = head_office(&st, &headers).await?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "content_type", "send the revoke with Content-Type: application/json"));
    }
    let info: DeviceInfo = blocking(move || {
        let not_found = || StoreError::NotFound(format!("device {id}"));
        let id: i64 = id.parse().map_err(|_| not_found())?;
        let device = st.store.device_info(id)?.ok_or_else(not_found)?;
        may_reach(&user, &device.centre, "revoke a device of")?;
        Ok(st.store.revoke_device(id, Some(user.id))?.ok_or_else(not_found)?)
    })
    .await?;
    Ok(Json(info).into_response())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Head office's page in a browser: every centre with its last push, and the
/// consolidated figures per centre per month (the same numbers as the JSON and CSV reads).
/// An administrator's only.
async fn overview_page(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    match head_office(&st, &headers).await {
        Ok(user) if user.role == Role::Admin => {}
        Ok(user) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                code::ADMIN_ONLY,
                format!("the overview of every centre is for head-office administrators; account {} is a centre's", user.username),
            ))
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            // The browser asks for the head-office username and password.
            let mut answer = e.into_response();
            answer.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"CentreDesk head office\", charset=\"UTF-8\""));
            return Ok(answer);
        }
        Err(e) => return Err(e),
    }
    let this_month = st.clock.now().format("%Y-%m").to_string();
    let (centres, months) = blocking(move || Ok((st.store.centres()?, crate::reports::monthly(st.store.as_ref(), None, &this_month)?))).await?;
    let mut html = String::from(
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>CentreDesk 总部 · Head office</title>\
         <style>body{font:14px 'Microsoft YaHei','Noto Sans CJK SC',sans-serif;margin:16px;color:#1f2933}\
         table{border-collapse:collapse;margin-bottom:20px}th,td{border-bottom:1px solid #d9dee5;padding:3px 10px;text-align:left}\
         td.n{text-align:right;font-variant-numeric:tabular-nums}h2{font-size:16px}</style>\
         <h1>CentreDesk 总部汇总 · Head office</h1><h2>校区 · Centres</h2><table><tr><th>代码 Code</th><th>名称 Name</th>\
         <th>设备 Devices</th><th>最近推送 Last push (UTC)</th><th>已收到 Ops received</th></tr>",
    );
    for c in &centres {
        html += &format!(
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&c.code),
            escape(&c.name),
            c.devices,
            escape(c.last_push_at.as_deref().unwrap_or("—")),
            c.acked_through_seq
        );
    }
    html += "</table><h2>每月汇总 · By month</h2><table><tr><th>校区 Centre</th><th>月份 Month</th><th>营收 Revenue (¥)</th>\
             <th>缴费笔数 Payments</th><th>在读会员 Active members</th><th>出勤人次 Attendances</th></tr>";
    for m in &months {
        html += &format!(
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&m.centre),
            escape(&m.month),
            escape(&m.revenue),
            m.payments,
            m.active_members,
            m.attendances
        );
    }
    html += "</table><p>JSON / CSV: <code>/api/v1/centres</code>, <code>/api/v1/reports/monthly?format=csv</code></p></html>";
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}
