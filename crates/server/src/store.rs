//! Storage behind a trait so the embedded SQLite file and a head office's PostgreSQL
//! answer the same protocol. Every method is blocking; the HTTP layer calls it on
//! tokio's blocking pool.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

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
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for PushError {
    fn from(e: rusqlite::Error) -> Self {
        PushError::Store(StoreError::Backend(e.to_string()))
    }
}

pub trait Store: Send + Sync + 'static {
    fn add_user(&self, username: &str, password_hash: &str) -> Result<(), StoreError>;
    /// `(user id, argon2 hash)`.
    fn user(&self, username: &str) -> Result<Option<(i64, String)>, StoreError>;
    fn add_centre(&self, code: &str, name: &str) -> Result<(), StoreError>;
    fn centre_id(&self, code: &str) -> Result<Option<i64>, StoreError>;
    fn add_device(&self, centre_id: i64, user_id: i64, name: &str, token_hash: &str) -> Result<i64, StoreError>;
    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>, StoreError>;
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
