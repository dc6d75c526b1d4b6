//! The protocol, version 1 (`/api/v1`): its requests, answers, errors and the log-epoch
//! rule are `centredesk_protocol::sync` (shared with the desk). Here:
//!
//! - `POST /api/v1/devices/register`, `GET /api/v1/sync/status[?numbers=1]`,
//!   `POST /api/v1/sync/push` — the desk's side of sync;
//! - Head office (HTTP Basic with a head-office user): `GET /api/v1/centres`,
//!   `/api/v1/centres/{code}/members`, `/api/v1/centres/{code}/contracts`,
//!   `/api/v1/reports/monthly[?centre=CODE]`; each takes `?format=csv`.
//!
//! The device, and so the centre, comes from the token, never from the body.

use crate::auth::{hash_password, new_token, token_hash, verify_password};
use crate::reports::{csv_bytes, monthly};
use crate::store::{Device, PushError, Store, StoreError};
use centredesk_protocol::sync::{code, ErrorBody, PushRequest, RegisterRequest, RegisterResponse, StatusResponse};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

/// Compressed request bodies above this are refused before they are read (413).
pub const MAX_BODY: usize = 4 << 20;
/// A gzip body may not inflate beyond this (a small bomb must not fill memory).
pub const MAX_INFLATED: u64 = 16 << 20;
/// Ops per push; the client sends 100–500.
pub const MAX_OPS: usize = 1000;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
}

/// An error answer: its status and the protocol's body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, body: ErrorBody { code: code.into(), message: message.into(), ..Default::default() } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
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
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())))
}

pub fn router(store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/api/v1/devices/register", post(register))
        .route("/api/v1/sync/push", post(push))
        .route("/api/v1/sync/status", get(status))
        .route("/api/v1/centres", get(centres))
        .route("/api/v1/centres/{code}/members", get(members))
        .route("/api/v1/centres/{code}/contracts", get(contracts))
        .route("/api/v1/reports/monthly", get(report_monthly))
        .route("/", get(overview_page))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(AppState { store })
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(store)).with_graceful_shutdown(shutdown).await
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
    axum_server::from_tcp_rustls(listener, config).handle(handle).serve(router(store).into_make_service()).await
}

async fn register(State(st): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let req: RegisterRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string()))?;
    blocking(move || {
        let user = st.store.user(&req.username)?;
        // Verify against a real hash even for an unknown user, so timing does not tell.
        let (user_id, hash) = user.unwrap_or((0, hash_password("unknown-user")));
        if !verify_password(&req.password, &hash) || user_id == 0 {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "bad_credentials", "wrong head-office username or password"));
        }
        let centre_id = st.store.centre_id(&req.centre)?.ok_or_else(|| StoreError::NotFound(format!("centre {}", req.centre)))?;
        let token = new_token();
        let device_id = st.store.add_device(centre_id, user_id, &req.device_name, &token_hash(&token))?;
        Ok(Json(RegisterResponse { device_id, centre: req.centre, token }).into_response())
    })
    .await
}

async fn device(st: &AppState, headers: &HeaderMap) -> Result<Device, ApiError> {
    let unauthorized = || ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or invalid device token");
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthorized)?
        .to_string();
    let store = st.store.clone();
    blocking(move || store.device_by_token(&token_hash(&token))?.ok_or_else(unauthorized)).await
}

fn inflate(headers: &HeaderMap, body: Bytes) -> Result<Vec<u8>, ApiError> {
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
/// transaction.
fn check_batch(device: &Device, req: &PushRequest) -> Result<(), ApiError> {
    if req.centre.as_deref().is_some_and(|c| c != device.centre_code) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "other_centre", "this device belongs to another centre"));
    }
    if req.ops.len() > MAX_OPS {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_many_ops", format!("at most {MAX_OPS} ops per push")));
    }
    for (i, op) in req.ops.iter().enumerate() {
        if op.seq < 1 || (i > 0 && op.seq != req.ops[i - 1].seq + 1) {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "malformed", "seqs in a batch must be consecutive and start at 1 or later"));
        }
        if op.op_id.is_empty() || op.entity.is_empty() || op.entity_id.is_empty() || op.op.is_empty() {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "malformed", format!("op {} lacks an id, entity or op", op.seq)));
        }
        match op.version() {
            None => return Err(ApiError::new(StatusCode::BAD_REQUEST, "malformed", format!("op {} has no payload version", op.seq))),
            Some(v) if !crate::PAYLOAD_VERSIONS.contains(&v) => {
                let mut e = ApiError::new(
                    StatusCode::UPGRADE_REQUIRED,
                    "payload_version",
                    format!("payload version {v} is not supported (server folds {:?}); update CentreDesk", crate::PAYLOAD_VERSIONS),
                );
                e.body.supported = Some([*crate::PAYLOAD_VERSIONS.start(), *crate::PAYLOAD_VERSIONS.end()]);
                return Err(e);
            }
            Some(_) => {}
        }
    }
    Ok(())
}

async fn push(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let device = device(&st, &headers).await?;
    let raw = inflate(&headers, body)?;
    let req: PushRequest = serde_json::from_slice(&raw).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string()))?;
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
            Err(ApiError::new(StatusCode::FORBIDDEN, "other_centre", format!("{entity} {entity_id} belongs to another centre")))
        }
        Err(PushError::Store(e)) => Err(e.into()),
    })
    .await
}

async fn status(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let d = device(&st, &headers).await?;
    let with_numbers = q.get("numbers").is_some_and(|v| v == "1");
    blocking(move || {
        let acked_op_id = if d.acked_through_seq > 0 { st.store.op_id_at(d.id, d.acked_through_seq)? } else { None };
        let numbers = if with_numbers { st.store.numbers(d.centre_id)? } else { Default::default() };
        Ok(Json(StatusResponse {
            acked_through_seq: d.acked_through_seq,
            acked_op_id,
            epoch: d.epoch,
            centre: d.centre_code,
            device_id: d.id,
            server_time: crate::clock::now_text(),
            numbers,
        })
        .into_response())
    })
    .await
}

/// Head office reads: HTTP Basic with a head-office user (checked with argon2 on every
/// request; head office reads rarely).
async fn head_office(st: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    use base64::Engine;
    let unauthorized = || ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "head-office credentials required");
    let creds = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(unauthorized)?;
    let (user, password) = creds.split_once(':').ok_or_else(unauthorized)?;
    let (user, password) = (user.to_string(), password.to_string());
    let store = st.store.clone();
    blocking(move || match store.user(&user)? {
        Some((_, hash)) if verify_password(&password, &hash) => Ok(()),
        _ => Err(unauthorized()),
    })
    .await

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
    head_office(&st, &headers).await?;
    let list = blocking(move || Ok(st.store.centres()?)).await?;
    if wants_csv(&q) {
        let rows = list.iter().map(|c| {
            vec![c.code.clone(), c.name.clone(), c.devices.to_string(), c.last_push_at.clone().unwrap_or_default(), c.acked_through_seq.to_string()]
        });
        return Ok(csv_response("centres", csv_bytes(&["code", "name", "devices", "last_push_at", "acked_through_seq"], rows)));
    }
    Ok(Json(list).into_response())
}

async fn entity_rows(st: AppState, code: String, entity: &'static str) -> Result<Vec<(String, Value)>, ApiError> {
    blocking(move || {
        let id = st.store.centre_id(&code)?.ok_or_else(|| StoreError::NotFound(format!("centre {code}")))?;
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
    head_office(&st, &headers).await?;
    let rows = entity_rows(st, code.clone(), "member").await?;
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
    head_office(&st, &headers).await?;
    let rows = entity_rows(st, code.clone(), "contract").await?;
    if wants_csv(&q) {
        return Ok(csv_response(&format!("{code}-contracts"), csv_bytes(CONTRACT_COLUMNS, table(&rows, CONTRACT_COLUMNS))));
    }
    Ok(Json(rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>()).into_response())
}

async fn report_monthly(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    head_office(&st, &headers).await?;
    let csv = wants_csv(&q);
    let centre = q.get("centre").cloned();
    let figures = blocking(move || Ok(monthly(st.store.as_ref(), centre.as_deref(), &crate::reports::this_month())?)).await?;
    if csv {
        let rows = figures.iter().map(|f| {
            vec![f.centre.clone(), f.month.clone(), f.revenue.clone(), f.payments.to_string(), f.active_members.to_string(), f.attendances.to_string()]
        });
        return Ok(csv_response("monthly", csv_bytes(&["centre", "month", "revenue", "payments", "active_members", "attendances"], rows)));
    }
    Ok(Json(figures).into_response())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Head office's page in a browser: every centre with its last push, and the
/// consolidated figures per centre per month (the same numbers as the JSON and CSV reads).
async fn overview_page(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if head_office(&st, &headers).await.is_err() {
        // The browser asks for the head-office username and password.
        return Ok((StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Basic realm=\"CentreDesk head office\", charset=\"UTF-8\"")], "head-office credentials required")
            .into_response());
    }
    let (centres, months) = blocking(move || Ok((st.store.centres()?, crate::reports::monthly(st.store.as_ref(), None, &crate::reports::this_month())?))).await?;
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
