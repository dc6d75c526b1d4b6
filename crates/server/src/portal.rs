//! The parents' portal 家长端 (`centredesk_protocol::portal`): a mobile page under
//! `/p/<centre-code>/`, built into this binary (`crates/server/portal`), and the two
//! endpoints a desk uses to feed it.
//!
//! - Desk (device token): `POST /api/v1/portal/publish` stores the desk's documents
//!   (only newer ones, and only under the device's current log epoch: push first);
//!   `GET /api/v1/portal/inbox?after=N&wait=S` answers the inbox after `N`, waiting up to
//!   `S` seconds for a first item (a long poll, woken when a parent's request is stored).
//! - Parents (a session cookie, opened once with the desk's invite): `GET api/me`, `GET
//!   api/child/{id}`, `GET|POST api/requests`, `POST api/invite`, `POST api/logout`.
//!
//! The desk decides everything: the server only stores what parents sent (once per
//! request id, numbered gap-free per centre) and shows what the desk published and
//! answered (the desk's `request` rows, folded from its change log). A child is reached
//! only through the signed-in guardian's published document, after the current privacy
//! notice was accepted; a child who is not theirs is the same 404 as one that does not
//! exist. Off (the same 404 for every page and call) unless the desk publishes its
//! centre document with the portal turned on.

use crate::auth::{new_token, token_hash};
use crate::http::{blocking, device, inflate, limiter, storable, ApiError, AppState};
use crate::store::{PortalSession, Posted};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use centredesk_protocol::portal::{
    self as wire, code, desk_request_id, CentreDoc, ConsentState, Doc, GuardianDoc, InboxItem, InboxResponse, PortalMe, Publish, PublishResponse, Redeem, RequestView,
    DESK_OFFLINE_SECS, INBOX_BATCH, MAX_INBOX_WAIT_SECS,
};
use centredesk_protocol::requests::{Outcome, Request, RequestBody, MAX_REQUEST_ID};
use centredesk_protocol::sync::code as sync_code;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Duration;

pub(crate) const COOKIE: &str = "cd_portal";
/// A parent's session lasts this long unless revoked (then a new invite or code).
const SESSION_DAYS: i64 = 180;
/// A guardian's requests the page lists.
const REQUESTS_LISTED: usize = 50;

/// The phone kit's page with the portal's app.js and its own stylesheet over the kit's.
static INDEX_HTML: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| centredesk_phone_kit::page_html("家长端", Some("app.css")));
const APP_JS: &str = include_str!("../portal/app.js");
const APP_CSS: &str = include_str!("../portal/app.css");
const ZH_CN: &str = include_str!("../portal/i18n/zh-CN.json");
const EN: &str = include_str!("../portal/i18n/en.json");

pub fn routes(peer: &crate::http::PeerIp) -> Router<AppState> {
    let parents = Router::new()
        .route("/p/{code}/api/me", get(me))
        .route("/p/{code}/api/child/{id}", get(child))
        .route("/p/{code}/api/requests", get(requests).post(send))
        .route("/p/{code}/api/logout", post(logout))
        .route("/p/{code}/api/sessions", get(sessions))
        .route("/p/{code}/api/sessions/{id}/revoke", post(revoke_session))
        // A page load makes a few calls; a person does not make hundreds a minute.
        .route_layer(limiter(peer, 120, Duration::from_millis(500)));
    Router::new()
        .route(wire::PUBLISH, post(publish))
        .route(wire::INBOX, get(inbox))
        .route("/p/{code}", get(|Path(code): Path<String>| async move { Redirect::permanent(&format!("/p/{code}/")) }))
        .route("/p/{code}/", get(page))
        .route("/p/{code}/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/p/{code}/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/p/{code}/kit.js", get(|| async { asset("text/javascript; charset=utf-8", centredesk_phone_kit::KIT_JS) }))
        .route("/p/{code}/kit.css", get(|| async { asset("text/css; charset=utf-8", centredesk_phone_kit::KIT_CSS) }))
        .route("/p/{code}/i18n/{file}", get(catalogue))
        // Guessing invites is slow: 10 at once, then one every 6 s per address.
        .route("/p/{code}/api/invite", post(redeem).layer(limiter(peer, 10, Duration::from_secs(6))))
        .merge(parents)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn off() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, code::PORTAL_OFF, "no parents' portal here")
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, sync_code::NOT_FOUND, "not found")
}

fn malformed(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, sync_code::MALFORMED, format!("malformed: {e}"))
}

// ---- the desk's side ----

async fn publish(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let device = device(&st, &headers).await?;
    let bytes = inflate(&headers, body)?;
    let p: Publish = serde_json::from_slice(&bytes).map_err(malformed)?;
    // Documents from another epoch than the device's would outlive what a restore undid.
    if device.epoch.as_deref() != Some(p.epoch.as_str()) {
        return Err(ApiError::new(StatusCode::CONFLICT, sync_code::EPOCH, "documents from another log epoch: push first"));
    }
    let mut docs = Vec::with_capacity(p.docs.len());
    for d in &p.docs {
        let key = d.key();
        if !storable(&key, crate::http::MAX_KEY) {
            return Err(malformed("a document key"));
        }
        docs.push((key, serde_json::to_string(d).map_err(malformed)?));
    }
    let store = st.store.clone();
    let now = st.clock.now_text();
    let (stored, kept) = blocking(move || Ok(store.portal_publish(device.centre_id, &p.epoch, p.seq, &docs, &now)?)).await?;
    Ok(Json(PublishResponse { stored, kept }).into_response())
}

async fn inbox(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let device = device(&st, &headers).await?;
    let after: i64 = q.get("after").and_then(|v| v.parse().ok()).unwrap_or(0).max(0);
    let wait = q.get("wait").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0).min(MAX_INBOX_WAIT_SECS);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        // Listen before looking, so a request stored in between still wakes this poll.
        let bell = st.inbox_bell.clone();
        let rung = bell.notified();
        tokio::pin!(rung);
        rung.as_mut().enable();
        let store = st.store.clone();
        let now = st.clock.now_text();
        let centre = device.centre_id;
        let rows = blocking(move || {
            store.portal_desk_seen(centre, Some(&now))?;
            Ok(store.portal_inbox(centre, after, INBOX_BATCH)?)
        })
        .await?;
        if !rows.is_empty() || tokio::time::Instant::now() >= deadline {
            let mut items = Vec::with_capacity(rows.len());
            for r in rows {
                let request: Request = serde_json::from_str(&r.body).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, sync_code::INTERNAL, e.to_string()))?;
                items.push(InboxItem { number: r.number, guardian_id: r.guardian_id, received_at: r.received_at, request });
            }
            return Ok(Json(InboxResponse { items }).into_response());
        }
        let _ = tokio::time::timeout_at(deadline, rung).await;
    }
}

// ---- the parents' side ----

/// The centre's published document, when its portal is on.
async fn centre_on(st: &AppState, code: &str) -> Result<(i64, CentreDoc), ApiError> {
    if !storable(code, 64) {
        return Err(off());
    }
    let store = st.store.clone();
    let code = code.to_string();
    blocking(move || {
        let id = store.centre_id(&code)?.ok_or_else(off)?;
        let doc = store.portal_doc(id, "centre")?.ok_or_else(off)?;
        match serde_json::from_str::<Doc>(&doc) {
            Ok(Doc::Centre(c)) if c.enabled => Ok((id, c)),
            _ => Err(off()),
        }
    })
    .await
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE).and_then(|rest| rest.strip_prefix('=')))
        .map(str::to_string)
        .find(|t| !t.is_empty() && t.len() <= 128)
}

/// The signed-in parent: the session, the centre's document, the guardian's document
/// (None when the desk has not published one, or unlinked every child) and consent.
struct Parent {
    session: PortalSession,
    centre: CentreDoc,
    guardian: Option<GuardianDoc>,
    consent: Option<ConsentState>,
}

impl Parent {
    fn consented(&self) -> bool {
        self.consent.is_some_and(|c| c.accepted && c.version == self.centre.notice_version)
    }

    /// A child of this guardian's, or the 404 a missing child gets.
    fn own_child(&self, member_id: &str) -> Result<(), ApiError> {
        match &self.guardian {
            Some(g) if g.children.iter().any(|c| c.member_id == member_id) => Ok(()),
            _ => Err(not_found()),
        }
    }
}

async fn parent(st: &AppState, headers: &HeaderMap, code: &str) -> Result<Parent, ApiError> {
    let (centre_id, centre) = centre_on(st, code).await?;
    let signed_out = || ApiError::new(StatusCode::UNAUTHORIZED, code::SIGNED_OUT, "not signed in");
    let token = cookie_token(headers).ok_or_else(signed_out)?;
    let store = st.store.clone();
    let now_ms = st.clock.now_ms();
    blocking(move || {
        let session = store.portal_session(&token_hash(&token))?.ok_or_else(signed_out)?;
        let expired = now_ms - session.created_ms > SESSION_DAYS * 86_400_000;
        if session.centre_id != centre_id || session.revoked_ms.is_some() || expired {
            return Err(signed_out());
        }
        if signed_out_at_desk(store.as_ref(), &session)? {
            store.portal_session_revoke(&session.token_hash, now_ms)?;
            return Err(signed_out());
        }
        store.portal_session_seen(&session.token_hash, now_ms)?;
        let guardian = match store.portal_doc(centre_id, &format!("guardian:{}", session.guardian_id))?.map(|d| serde_json::from_str::<Doc>(&d)) {
            Some(Ok(Doc::Guardian(g))) => Some(g),
            _ => None,
        };
        let consent = store.portal_consent(centre_id, &session.guardian_id)?.map(|(version, accepted)| ConsentState { version, accepted });
        Ok(Parent { session, centre, guardian, consent })
    })
    .await
}

/// The desk signed the guardian out (`portal_signout`, folded from its log) after this
/// session was opened. The two clocks are the desk's and the server's: a desk running
/// minutes slow leaves a session opened in those minutes alive, never ends a later one
/// wrongly by more than the skew — and the desk's sign-out also revokes every open
/// invite, so no new session can start from an old link.
fn signed_out_at_desk(store: &dyn crate::store::Store, session: &PortalSession) -> Result<bool, crate::store::StoreError> {
    Ok(desk_sign_out_ms(store, session.centre_id, &session.guardian_id)?.is_some_and(|at| at >= session.created_ms))
}

/// The guardian's last sign-out at the desk, in milliseconds since the epoch.
fn desk_sign_out_ms(store: &dyn crate::store::Store, centre_id: i64, guardian_id: &str) -> Result<Option<i64>, crate::store::StoreError> {
    Ok(store
        .row(centre_id, "portal_signout", guardian_id)?
        .and_then(|r| r.get("signed_out_at").and_then(|v| v.as_str()).and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()))
        .map(|at| at.timestamp_millis()))
}

/// A session as its parent sees it in 登录设备: never its token or hash, only a short
/// handle to revoke it by.
#[derive(serde::Serialize)]
struct SessionView {
    id: String,
    device: String,
    created_at: String,
    seen_at: Option<String>,
    /// The session this list was asked from.
    current: bool,
}

/// The handle of a session: a prefix of a hash of its token's hash, so the list gives
/// out nothing the cookie check would accept.
fn session_handle(token_hash: &str) -> String {
    sha256(&format!("session:{token_hash}"))[..16].to_string()
}

fn ms_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default()
}

async fn sessions(State(st): State<AppState>, headers: HeaderMap, Path(code): Path<String>) -> Result<Response, ApiError> {
    let p = parent(&st, &headers, &code).await?;
    let store = st.store.clone();
    let now_ms = st.clock.now_ms();
    let (centre_id, guardian_id, mine) = (p.session.centre_id, p.session.guardian_id.clone(), p.session.token_hash.clone());
    let list = blocking(move || {
        // One sign-out row for all of the guardian's sessions.
        let signed_out = desk_sign_out_ms(store.as_ref(), centre_id, &guardian_id)?;
        let mut out = vec![];
        for s in store.portal_sessions_of(centre_id, &guardian_id)? {
            if now_ms - s.created_ms > SESSION_DAYS * 86_400_000 || signed_out.is_some_and(|at| at >= s.created_ms) {
                continue;
            }
            out.push(SessionView { id: session_handle(&s.token_hash), device: s.device, created_at: ms_text(s.created_ms), seen_at: s.seen_ms.map(ms_text), current: s.token_hash == mine });
        }
        Ok(out)
    })
    .await?;
    Ok(Json(list).into_response())
}

/// Ends one of the guardian's own sessions (a phone they no longer have); another
/// guardian's handle is the same 404 as an unknown one.
async fn revoke_session(State(st): State<AppState>, headers: HeaderMap, Path((code, id)): Path<(String, String)>) -> Result<Response, ApiError> {
    let p = parent(&st, &headers, &code).await?;
    let store = st.store.clone();
    let now_ms = st.clock.now_ms();
    let (centre_id, guardian_id) = (p.session.centre_id, p.session.guardian_id.clone());
    let own = p.session.token_hash.clone();
    let ended_own = blocking(move || {
        let target = store.portal_sessions_of(centre_id, &guardian_id)?.into_iter().find(|s| session_handle(&s.token_hash) == id).ok_or_else(not_found)?;
        store.portal_session_revoke(&target.token_hash, now_ms)?;
        Ok(target.token_hash == own)
    })
    .await?;
    let mut resp = Json(serde_json::json!({ "revoked": true, "signed_in": !ended_own })).into_response();
    if ended_own {
        resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&st, &code, "", 0));
    }
    Ok(resp)
}

async fn page(State(st): State<AppState>, Path(code): Path<String>) -> Result<Response, ApiError> {
    centre_on(&st, &code).await?;
    let mut r = asset("text/html; charset=utf-8", INDEX_HTML.as_str());
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(r)
}

async fn catalogue(Path((_code, file)): Path<(String, String)>) -> Result<Response, ApiError> {
    match file.as_str() {
        "zh-CN.json" => Ok(asset("application/json", ZH_CN)),
        "en.json" => Ok(asset("application/json", EN)),
        _ => Err(not_found()),
    }
}

fn session_cookie(st: &AppState, code: &str, token: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if st.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={token}; Path=/p/{code}/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What a parent can recognise a phone by: the system and browser its User-Agent names
/// (`iPhone · WeChat`), or its first 60 characters when none is known.
pub fn device_name(user_agent: &str) -> String {
    let ua = user_agent.to_ascii_lowercase();
    let system = [("iphone", "iPhone"), ("ipad", "iPad"), ("harmonyos", "HarmonyOS"), ("android", "Android"), ("windows", "Windows"), ("mac os", "Mac"), ("linux", "Linux")]
        .iter()
        .find(|(k, _)| ua.contains(k))
        .map(|(_, v)| *v);
    let browser = [("micromessenger", "WeChat"), ("alipayclient", "Alipay"), ("edg/", "Edge"), ("chrome/", "Chrome"), ("firefox/", "Firefox"), ("safari/", "Safari")]
        .iter()
        .find(|(k, _)| ua.contains(k))
        .map(|(_, v)| *v);
    match (system, browser) {
        (Some(s), Some(b)) => format!("{s} · {b}"),
        (Some(x), None) | (None, Some(x)) => x.to_string(),
        (None, None) => user_agent.chars().filter(|c| !c.is_control()).take(60).collect(),
    }
}

/// An invite opens one session, once: unknown, used, revoked and expired invites get one
/// answer. Only the SHA-256 of the invite and of the session token is stored.
async fn redeem(State(st): State<AppState>, headers: HeaderMap, Path(code): Path<String>, Json(r): Json<Redeem>) -> Result<Response, ApiError> {
    let (centre_id, _) = centre_on(&st, &code).await?;
    let invalid = || ApiError::new(StatusCode::FORBIDDEN, code::INVITE_INVALID, "this invite link is not valid: ask the centre for a new one");
    if !storable(&r.token, 128) {
        return Err(invalid());
    }
    let invite_hash = sha256(&r.token);
    let token = new_token();
    let session = PortalSession {
        token_hash: token_hash(&token),
        centre_id,
        guardian_id: String::new(),
        invite_hash: Some(invite_hash.clone()),
        created_ms: st.clock.now_ms(),
        revoked_ms: None,
        device: device_name(headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("")),
        seen_ms: Some(st.clock.now_ms()),
    };
    let store = st.store.clone();
    let now = st.clock.now();
    blocking(move || {
        let invite = store.row(centre_id, "portal_invite", &invite_hash)?.ok_or_else(invalid)?;
        let text = |k: &str| invite.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let expires = text("expires_at").and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok());
        let guardian_id = text("guardian_id").ok_or_else(invalid)?;
        if invite.get("revoked_at").is_some_and(|v| !v.is_null()) || expires.is_none_or(|e| e <= now) {
            return Err(invalid());
        }
        match store.portal_session_create(&PortalSession { guardian_id, ..session }) {
            Err(crate::store::StoreError::Exists(_)) => Err(invalid()),
            other => Ok(other?),
        }
    })
    .await?;
    let mut resp = Json(serde_json::json!({ "signed_in": true })).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&st, &code, &token, SESSION_DAYS * 86_400));
    Ok(resp)
}

async fn logout(State(st): State<AppState>, headers: HeaderMap, Path(code): Path<String>) -> Result<Response, ApiError> {
    let p = parent(&st, &headers, &code).await?;
    let store = st.store.clone();
    let now_ms = st.clock.now_ms();
    blocking(move || Ok(store.portal_session_revoke(&p.session.token_hash, now_ms)?)).await?;
    let mut resp = Json(serde_json::json!({ "signed_in": false })).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&st, &code, "", 0));
    Ok(resp)
}

async fn me(State(st): State<AppState>, headers: HeaderMap, Path(code): Path<String>) -> Result<Response, ApiError> {
    let p = parent(&st, &headers, &code).await?;
    let store = st.store.clone();
    let centre_id = p.session.centre_id;
    let seen = blocking(move || Ok(store.portal_desk_seen(centre_id, None)?)).await?;
    let seen_at = seen.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let desk_offline = seen_at.is_none_or(|t| (st.clock.now() - t.with_timezone(&chrono::Utc)).num_seconds() > DESK_OFFLINE_SECS);
    let consented = p.consented();
    let Parent { centre, guardian, consent, .. } = p;
    Ok(Json(PortalMe {
        guardian_name: guardian.as_ref().map(|g| g.name.clone()).unwrap_or_default(),
        children: if consented { guardian.map(|g| g.children).unwrap_or_default() } else { vec![] },
        needs_consent: !consented,
        consent,
        centre,
        desk_seen_at: seen,
        desk_offline,
    })
    .into_response())
}

fn consent_required() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code::CONSENT_REQUIRED, "accept the centre's privacy notice first")
}

async fn child(State(st): State<AppState>, headers: HeaderMap, Path((code, id)): Path<(String, String)>) -> Result<Response, ApiError> {
    let p = parent(&st, &headers, &code).await?;
    if !p.consented() {
        return Err(consent_required());
    }
    p.own_child(&id)?;
    let store = st.store.clone();
    let centre_id = p.session.centre_id;
    let doc = blocking(move || Ok(store.portal_doc(centre_id, &format!("child:{id}"))?)).await?;
    match doc.map(|d| serde_json::from_str::<Doc>(&d)) {
        Some(Ok(Doc::Child(c))) => Ok(Json(c).into_response()),
        _ => Err(not_found()),
    }
}

/// The desk's answer to inbox item `number`, once its push brought the `request` row.
fn outcome_of(store: &dyn crate::store::Store, centre_id: i64, number: i64) -> Result<Option<Outcome>, crate::store::StoreError> {
    Ok(store.row(centre_id, "request", &desk_request_id(number))?.and_then(|v| v.get("outcome").cloned()).and_then(|o| serde_json::from_value(o).ok()))
}

async fn requests(State(st): State<AppState>, headers: HeaderMap, Path(code): Path<String>) -> Result<Response, ApiError> {
    let p = parent(&st, &headers, &code).await?;
    let store = st.store.clone();
    let (centre_id, guardian_id) = (p.session.centre_id, p.session.guardian_id.clone());
    let views = blocking(move || {
        let mut out = vec![];
        for r in store.portal_requests_of(centre_id, &guardian_id, REQUESTS_LISTED)? {
            let Ok(request) = serde_json::from_str::<Request>(&r.body) else { continue };
            out.push(RequestView { number: r.number, received_at: r.received_at, outcome: outcome_of(store.as_ref(), centre_id, r.number)?, request });
        }
        Ok(out)
    })
    .await?;
    Ok(Json(views).into_response())
}

/// A parent's request: stored once per request id and numbered for the desk, which
/// decides. Only a parent's kinds; a child only the guardian's own, after consent.
async fn send(State(st): State<AppState>, headers: HeaderMap, Path(code): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let p = parent(&st, &headers, &code).await?;
    let request: Request = serde_json::from_slice(&body).map_err(malformed)?;
    let id = &request.request_id;
    if id.is_empty() || id.len() > MAX_REQUEST_ID || !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(malformed("request_id: 1 to 64 printable ASCII characters"));
    }
    if !request.body.is_parents() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, code::NOT_FOR_PARENTS, "parents cannot send this kind of request"));
    }
    match &request.body {
        RequestBody::Leave(l) => {
            if !p.consented() {
                return Err(consent_required());
            }
            p.own_child(&l.member_id)?;
            if l.session_ids.is_empty() || l.session_ids.len() > 20 || l.session_ids.iter().any(|s| !storable(s, 64)) || l.note.chars().count() > 200 {
                return Err(malformed("leave: 1 to 20 classes and a note of at most 200 characters"));
            }
        }
        RequestBody::Trial(ask) => {
            if !p.consented() {
                return Err(consent_required());
            }
            p.own_child(&ask.member_id)?;
            if !storable(&ask.session_id, 64) || ask.note.chars().count() > 200 {
                return Err(malformed("trial: a class and a note of at most 200 characters"));
            }
        }
        RequestBody::Consent { version, .. } if *version != p.centre.notice_version => {
            return Err(malformed("consent: not the current notice"));
        }
        _ => {}
    }
    let hash = sha256(&serde_json::to_string(&request.body).map_err(malformed)?);
    let text = serde_json::to_string(&request).map_err(malformed)?;
    let store = st.store.clone();
    let now = st.clock.now_text();
    let (centre_id, guardian_id) = (p.session.centre_id, p.session.guardian_id.clone());
    let consent = match &request.body {
        RequestBody::Consent { version, accepted } => Some((*version, *accepted)),
        _ => None,
    };
    let forget = matches!(request.body, RequestBody::LeavePortal {});
    let now_ms = st.clock.now_ms();
    let req_id = request.request_id.clone();
    let (posted, outcome) = blocking(move || {
        let posted = store.portal_post(centre_id, &guardian_id, &req_id, &hash, &text, &now)?;
        if let (Posted::New(_), Some((version, accepted))) = (posted, consent) {
            // The portal's own gate opens (or closes) now; the desk hears of it in order.
            store.portal_consent_set(centre_id, &guardian_id, version, accepted, &now)?;
        }
        if forget && posted != Posted::Reused {
            // "Delete my portal account" takes effect here and now, desk online or not:
            // every session ends, the consent and the list of children go; the desk
            // hears of it in order and revokes its side.
            store.portal_forget(centre_id, &guardian_id, now_ms)?;
        }
        let outcome = match posted {
            Posted::Again(n) => outcome_of(store.as_ref(), centre_id, n)?,
            _ => None,
        };
        Ok((posted, outcome))
    })
    .await?;
    let number = match posted {
        Posted::New(n) => {
            st.inbox_bell.notify_waiters();
            n
        }
        Posted::Again(n) => n,
        Posted::Reused => return Err(ApiError::new(StatusCode::CONFLICT, code::REQUEST_REUSED, "this request id was used for another request")),
    };
    let now = st.clock.now_text();
    let mut resp = Json(RequestView { number, received_at: now, request, outcome }).into_response();
    if forget {
        resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&st, &code, "", 0));
    }
    Ok(resp)
}
