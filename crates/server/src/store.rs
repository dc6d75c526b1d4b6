//! Storage behind a trait so the embedded SQLite file and a head office's PostgreSQL
//! answer the same protocol. Every method is blocking; the HTTP layer calls it on
//! tokio's blocking pool.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub use centredesk_protocol::sync::DeviceInfo;
pub use centredesk_protocol::sync::Op;
/// What a push reports (the protocol's answer).
pub use centredesk_protocol::sync::PushResponse as PushOutcome;

#[derive(Debug, Clone)]
pub struct Device {
    pub id: i64,
    pub centre_id: i64,
    pub centre_code: String,
    pub acked_through_seq: i64,
    /// The log epoch of the device's current stream (None before its desk sent one).
    pub epoch: Option<String>,
    /// Head office revoked it: its token is refused.
    pub revoked: bool,
}

/// What a head-office account may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Every centre: the overview, the reports across centres, any centre's desk.
    Admin,
    /// One centre's account (its manager): that centre's desk and data only.
    Centre { id: i64, code: String },
    /// Neither (a row no release writes): may do nothing.
    None,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
}

/// A username's wrong passwords in a row (see [`lockout_ms`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginThrottle {
    pub failures: i64,
    /// Milliseconds since the Unix epoch (the server's clock); 0 when not locked.
    pub locked_until_ms: i64,
}

/// Wrong passwords for one username before it is locked.
pub const MAX_LOGIN_FAILURES: i64 = 5;
/// The longest lockout.
pub const MAX_LOCKOUT_MS: i64 = 15 * 60 * 1000;
/// A username whose last wrong password is older than this starts counting again.
pub const FAILURES_FORGOTTEN_MS: i64 = 24 * 60 * 60 * 1000;

/// How long a username is locked after `failures` wrong passwords in a row: not before
/// [`MAX_LOGIN_FAILURES`], then 1 s, doubling with each further failure, at most
/// [`MAX_LOCKOUT_MS`].
pub fn lockout_ms(failures: i64) -> i64 {
    if failures < MAX_LOGIN_FAILURES {
        return 0;
    }
    let doublings = (failures - MAX_LOGIN_FAILURES).min(20) as u32;
    (1000i64 << doublings).min(MAX_LOCKOUT_MS)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CentreInfo {
    pub code: String,
    pub name: String,
    pub devices: i64,
    pub last_push_at: Option<String>,
    /// The highest seq acknowledged over the centre's devices.
    pub acked_through_seq: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Backend(String),
    #[error("{0} already exists")]
    Exists(String),
    #[error("{0} not found")]
    NotFound(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::ConstraintViolation {
                return StoreError::Exists(e.to_string());
            }
        }
        StoreError::Backend(e.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The batch starts after a hole: the client must resend from `expected`.
    #[error("gap: expected seq {expected}")]
    Gap { expected: i64 },
    /// A seq already acknowledged arrives with another op_id: the centre's log was
    /// rewound (a restored backup) — refusing beats silently keeping two histories.
    #[error("seq {seq} was acknowledged with another op_id")]
    Diverged { seq: i64 },
    /// The op names a row that belongs to another centre.
    #[error("{entity} {entity_id} belongs to another centre")]
    Forbidden { entity: String, entity_id: String },
    /// A push under another epoch than the device's, without `rebase`; or a rebase that
    /// does not start at seq 1.
    #[error("the push is not in the device's log epoch")]
    Epoch,
    /// The device was revoked (after its token was looked up).
    #[error("the device was revoked")]
    Revoked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for PushError {
    fn from(e: rusqlite::Error) -> Self {
        PushError::Store(StoreError::Backend(e.to_string()))
    }
}

/// The parents' portal's tables (`crate::portal`), the same DDL on SQLite and PostgreSQL
/// (BIGINT is an integer on both). Tokens are kept only as SHA-256.
pub const PORTAL_SCHEMA: &str = "
CREATE TABLE portal_docs (
    centre_id BIGINT NOT NULL REFERENCES centres(id),
    doc_key   TEXT NOT NULL,
    epoch     TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    body      TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    PRIMARY KEY (centre_id, doc_key)
);
CREATE TABLE portal_desks (
    centre_id BIGINT PRIMARY KEY REFERENCES centres(id),
    seen_at   TEXT NOT NULL
);
CREATE TABLE portal_inbox (
    centre_id   BIGINT NOT NULL REFERENCES centres(id),
    number      BIGINT NOT NULL,
    request_id  TEXT NOT NULL,
    guardian_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (centre_id, number),
    UNIQUE (centre_id, request_id)
);
CREATE INDEX portal_inbox_guardian ON portal_inbox(centre_id, guardian_id, number);
CREATE TABLE portal_sessions (
    token_hash  TEXT PRIMARY KEY,
    centre_id   BIGINT NOT NULL REFERENCES centres(id),
    guardian_id TEXT NOT NULL,
    invite_hash TEXT UNIQUE,
    created_ms  BIGINT NOT NULL,
    revoked_ms  BIGINT
);
CREATE TABLE portal_consents (
    centre_id   BIGINT NOT NULL REFERENCES centres(id),
    guardian_id TEXT NOT NULL,
    version     BIGINT NOT NULL,
    accepted    BIGINT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (centre_id, guardian_id)
);
";

/// A parent signed in to the portal (the cookie's token kept as SHA-256).
#[derive(Debug, Clone, PartialEq)]
pub struct PortalSession {
    pub token_hash: String,
    pub centre_id: i64,
    pub guardian_id: String,
    /// The invite it was opened with: an invite opens one session, once.
    pub invite_hash: Option<String>,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
    /// What the phone said it is (its browser's User-Agent, shortened), so a parent can
    /// tell their sessions apart.
    pub device: String,
    /// The session's last request, to the minute ([`SEEN_EVERY_MS`]).
    pub seen_ms: Option<i64>,
}

/// A session's `seen_ms` is written at most this often (a page load makes several calls).
pub const SEEN_EVERY_MS: i64 = 60_000;

/// The columns of `portal_sessions` in [`PortalSession`]'s order (both stores).
pub const PORTAL_SESSION_COLUMNS: &str = "token_hash, centre_id, guardian_id, invite_hash, created_ms, revoked_ms, device, seen_ms";

/// Migration 5 (both stores): what a parent sees in their list of sessions.
pub const PORTAL_SESSIONS_LISTED: &str = "
ALTER TABLE portal_sessions ADD COLUMN device TEXT NOT NULL DEFAULT '';
ALTER TABLE portal_sessions ADD COLUMN seen_ms BIGINT;
CREATE INDEX portal_sessions_guardian ON portal_sessions(centre_id, guardian_id);
";

/// What storing a parent's request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// Stored as inbox item `n`.
    New(i64),
    /// The same request again: it is item `n`.
    Again(i64),
    /// The id was used by another request (another body or another guardian).
    Reused,
}

/// One stored request of a centre's inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxRow {
    pub number: i64,
    pub request_id: String,
    pub guardian_id: String,
    /// The envelope as JSON (`centredesk_protocol::requests::Request`).
    pub body: String,
    pub received_at: String,
}

pub trait Store: Send + Sync + 'static {
    /// A head-office administrator.
    fn add_user(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        self.add_account(username, password_hash, None)
    }
    /// An account: an administrator (`centre_id` None) or one centre's.
    fn add_account(&self, username: &str, password_hash: &str, centre_id: Option<i64>) -> Result<(), StoreError>;
    fn user(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Every account, by username (`password_hash` left empty).
    fn users(&self) -> Result<Vec<User>, StoreError>;
    fn add_centre(&self, code: &str, name: &str) -> Result<(), StoreError>;
    fn centre_id(&self, code: &str) -> Result<Option<i64>, StoreError>;
    fn add_device(&self, centre_id: i64, user_id: i64, name: &str, token_hash: &str) -> Result<i64, StoreError>;
    /// The device a token belongs to, revoked or not (the caller tells them apart).
    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>, StoreError>;
    /// Registered devices, of one centre or all, by id.
    fn devices(&self, centre_id: Option<i64>) -> Result<Vec<DeviceInfo>, StoreError>;
    fn device_info(&self, id: i64) -> Result<Option<DeviceInfo>, StoreError>;
    /// Revokes a device (its token is refused from then on); revoking it again keeps the
    /// first time. None when there is no such device.
    fn revoke_device(&self, id: i64, by_user: Option<i64>) -> Result<Option<DeviceInfo>, StoreError>;
    /// The username's wrong passwords in a row (forgotten after [`FAILURES_FORGOTTEN_MS`]).
    fn login_throttle(&self, username: &str, now_ms: i64) -> Result<LoginThrottle, StoreError>;
    /// Counts one more wrong password and locks the username per [`lockout_ms`].
    fn login_failed(&self, username: &str, now_ms: i64) -> Result<LoginThrottle, StoreError>;
    /// A right password: the count starts again.
    fn login_succeeded(&self, username: &str) -> Result<(), StoreError>;
    /// One transaction: store the ops not seen yet, fold them into the centre's rows,
    /// advance the device's `acked_through_seq`. `ops` have consecutive seqs. With
    /// `rebase` (the batch starts at seq 1 under `epoch`), first set the device's stream
    /// aside and drop the centre's rows, so they become the fold of the new stream; a push
    /// under another epoch than the device's without `rebase` is refused (the protocol's
    /// epoch rule); a device without an epoch adopts the first one sent.
    fn push(&self, device: &Device, epoch: Option<&str>, rebase: bool, ops: &[Op]) -> Result<PushOutcome, PushError>;
    /// The op id the device's current stream holds at `seq`.
    fn op_id_at(&self, device_id: i64, seq: i64) -> Result<Option<String>, StoreError>;
    fn centres(&self) -> Result<Vec<CentreInfo>, StoreError>;
    /// The centre's current rows of one entity, `(entity_id, data)` in id order.
    fn rows(&self, centre_id: i64, entity: &str) -> Result<Vec<(String, Value)>, StoreError>;
    /// Every row of the centre (tests compare it with the fold of the log).
    fn all_rows(&self, centre_id: i64) -> Result<Vec<((String, String), Value)>, StoreError>;

    /// One of the centre's current rows.
    fn row(&self, centre_id: i64, entity: &str, entity_id: &str) -> Result<Option<Value>, StoreError>;

    // The parents' portal (`crate::portal`).
    /// Stores each `(key, body)` computed at `seq` under `epoch` when its body differs
    /// from what the server holds and is not older: a newer seq of the same epoch, or the
    /// same seq (a new business day moves a child's classes with no change logged), or
    /// another epoch (a restored desk replaces everything). An unchanged body is not
    /// written again. Returns (stored, kept).
    fn portal_publish(&self, centre_id: i64, epoch: &str, seq: i64, docs: &[(String, String)], now: &str) -> Result<(usize, usize), StoreError>;
    fn portal_doc(&self, centre_id: i64, key: &str) -> Result<Option<String>, StoreError>;
    /// The desk was in touch (a publish, an inbox pull): records `now` when given, and
    /// answers the last time.
    fn portal_desk_seen(&self, centre_id: i64, now: Option<&str>) -> Result<Option<String>, StoreError>;
    /// Stores a parent's request once per `(centre, request_id)` with the next inbox number
    /// (gap-free: numbered in the same transaction that stores it).
    fn portal_post(&self, centre_id: i64, guardian_id: &str, request_id: &str, body_sha256: &str, body: &str, now: &str) -> Result<Posted, StoreError>;
    /// Items after `after`, in order, at most `limit`.
    fn portal_inbox(&self, centre_id: i64, after: i64, limit: usize) -> Result<Vec<InboxRow>, StoreError>;
    /// A guardian's newest requests, newest first.
    fn portal_requests_of(&self, centre_id: i64, guardian_id: &str, limit: usize) -> Result<Vec<InboxRow>, StoreError>;
    /// A new session; `Exists` when its invite opened one already.
    fn portal_session_create(&self, session: &PortalSession) -> Result<(), StoreError>;
    fn portal_session(&self, token_hash: &str) -> Result<Option<PortalSession>, StoreError>;
    fn portal_session_revoke(&self, token_hash: &str, now_ms: i64) -> Result<(), StoreError>;
    /// The guardian's sessions not revoked, newest first (the caller drops expired ones).
    fn portal_sessions_of(&self, centre_id: i64, guardian_id: &str) -> Result<Vec<PortalSession>, StoreError>;
    /// Records the session's latest request when the last record is [`SEEN_EVERY_MS`] old.
    fn portal_session_seen(&self, token_hash: &str, now_ms: i64) -> Result<(), StoreError>;
    /// "Delete my portal account": in one transaction, every session of the guardian
    /// revoked, their consent and their document (which children they see) deleted.
    fn portal_forget(&self, centre_id: i64, guardian_id: &str, now_ms: i64) -> Result<(), StoreError>;
    /// The guardian's answer to the privacy notice: (version, accepted).
    fn portal_consent(&self, centre_id: i64, guardian_id: &str) -> Result<Option<(i64, bool)>, StoreError>;
    fn portal_consent_set(&self, centre_id: i64, guardian_id: &str, version: i64, accepted: bool, now: &str) -> Result<(), StoreError>;

    /// The highest human number seen in the centre's rows per counter
    /// (`centredesk_protocol::sync::NUMBERED`), for a desk starting its log over.
    fn numbers(&self, centre_id: i64) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut out = BTreeMap::new();
        for n in centredesk_protocol::sync::NUMBERED {
            let max = self
                .rows(centre_id, n.entity)?
                .iter()
                .filter_map(|(_, v)| v.get(n.field).and_then(Value::as_str).and_then(centredesk_protocol::sync::number_of))
                .max();
            if let Some(max) = max {
                out.insert(n.counter.to_string(), max);
            }
        }
        Ok(out)
    }
}

/// Ids the centre makes are UUIDs, unique across centres: such an id already held by
/// another centre means a device is writing outside its own centre. Other ids (setting
/// keys such as `centre_name`) are per centre by nature and never collide.
pub fn is_global_id(id: &str) -> bool {
    id.len() == 36 && id.bytes().filter(|b| *b == b'-').count() == 4 && id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
}
