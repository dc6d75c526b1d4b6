//! Sync protocol v1 (`/api/v1`), what the desk's pusher and the server both speak.
//!
//! - `POST /api/v1/devices/register` [`RegisterRequest`] → [`RegisterResponse`]: a
//!   centre's manager (or a head-office administrator) registers a desk once; the
//!   device then authenticates with `Authorization: Bearer <token>`. The device, and so
//!   the centre, always comes from the token, never from a body.
//! - `GET /api/v1/sync/status[?numbers=1]` → [`StatusResponse`]: where the server stands
//!   for this device (its acknowledged seq, the op id it holds at that seq, the log epoch),
//!   and with `numbers=1` the highest human numbers it has seen for the centre.
//! - `POST /api/v1/sync/push` [`PushRequest`] (JSON, optionally `Content-Encoding: gzip`)
//!   → [`PushResponse`]. Seqs in a batch are consecutive; the batch may start at or before
//!   `acked + 1` (a resend) but not after (409 `gap` with `expected_seq`). One
//!   transaction: nothing is applied on any error.
//!
//! **The log epoch** keeps a restored desk from forking head office's copy. A desk's
//! change log is a line of history named by an epoch (a UUID the desk writes into its own
//! log, entity `sync_epoch`). When the desk's log is rewound — a backup restored, or a
//! power cut that lost the newest commits — the seqs after the rewind point are reused by
//! new ops, so the desk checks before every push that the op the server holds at its
//! acknowledged seq is the op its own log has there (`acked_op_id`). If it is not (or the
//! server names another epoch), the desk starts a new epoch and pushes its whole log from
//! seq 1 with `rebase: true`; the server then, in the push's transaction, sets the
//! device's old ops aside and replaces the centre's rows with the fold of the new stream:
//! head office ends up with exactly the desk's truth, never a merge of two histories.
//! Before rebasing, the desk raises its number counters to the highest numbers the
//! server has seen ([`NUMBERED`]), so a receipt number that left the desk is never
//! issued again.
//!
//! **Who may do what.** A head-office account is either an administrator (every centre)
//! or a centre's account (its own centre only): registering a desk for another centre is
//! 403 [`code::NOT_YOUR_CENTRE`]. Head office lists devices (`GET /api/v1/devices`,
//! [`DeviceInfo`]) and revokes one (`POST /api/v1/devices/{id}/revoke`); a revoked
//! device's token is then 401 [`code::DEVICE_REVOKED`] at its next status or push, and
//! the desk must be registered again. Register and the head-office reads are rate-limited
//! per address and per username: 429 [`code::RATE_LIMITED`] with `retry_after` (seconds,
//! also the `Retry-After` header).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const REGISTER: &str = "/api/v1/devices/register";
pub const STATUS: &str = "/api/v1/sync/status";
pub const PUSH: &str = "/api/v1/sync/push";
/// Head office: the registered devices (`GET`, `?centre=CODE`), and
/// `POST {DEVICES}/{id}/revoke`.
pub const DEVICES: &str = "/api/v1/devices";

/// One change-log entry as the desk sends it (the columns of its `change_log`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Op {
    pub seq: i64,
    pub op_id: String,
    pub at: String,
    #[serde(default)]
    pub staff_id: Option<String>,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    #[serde(default)]
    pub subject_id: Option<String>,
    /// `{"v": …, "data": …}`.
    pub payload: Value,
}

impl Op {
    pub fn version(&self) -> Option<u64> {
        self.payload.get("v").and_then(Value::as_u64)
    }
    pub fn data(&self) -> &Value {
        self.payload.get("data").unwrap_or(&Value::Null)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegisterRequest {
    pub username: String,
    pub password: String,
    pub centre: String,
    #[serde(default)]
    pub device_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegisterResponse {
    pub device_id: i64,
    pub centre: String,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Optional and only checked: the centre is the token's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub centre: Option<String>,
    /// The desk's log epoch (absent from desks older than the epoch rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    /// This batch starts the device's stream again at seq 1, under `epoch`: the server
    /// sets the old stream aside and replaces the centre's rows with the new fold.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rebase: bool,
    pub ops: Vec<Op>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PushResponse {
    pub acked_through_seq: i64,
    /// Ops stored and applied by this call.
    pub applied: usize,
    /// Ops already acknowledged before (a replayed batch or a resend after a lost answer).
    pub duplicates: usize,
    /// The centre's rows were replaced by this batch's stream (a rebase).
    #[serde(default)]
    pub rebased: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusResponse {
    pub acked_through_seq: i64,
    /// The op id the server holds at `acked_through_seq` (None when it holds nothing).
    #[serde(default)]
    pub acked_op_id: Option<String>,
    /// The log epoch of the device's current stream (None before the desk sent one).
    #[serde(default)]
    pub epoch: Option<String>,
    pub centre: String,
    pub device_id: i64,
    pub server_time: String,
    /// With `?numbers=1`: counter name → the highest number seen for the centre.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub numbers: BTreeMap<String, i64>,
}

/// A registered device as head office lists it (`GET /api/v1/devices`, and the answer of
/// a revoke).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeviceInfo {
    pub id: i64,
    /// The centre's code.
    pub centre: String,
    pub name: String,
    /// The head-office account that registered it.
    #[serde(default)]
    pub registered_by: Option<String>,
    pub registered_at: String,
    #[serde(default)]
    pub last_push_at: Option<String>,
    pub acked_through_seq: i64,
    /// When head office revoked it (its token is refused from then on).
    #[serde(default)]
    pub revoked_at: Option<String>,
}

/// Every error answer: `{code, message, …}`; `expected_seq` with [`code::GAP`], `seq` with
/// [`code::DIVERGED`], `supported` with [`code::PAYLOAD_VERSION`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported: Option<[u64; 2]>,
    /// With 429: seconds to wait (also in the `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// The error codes, as the server sends them and the desk matches them.
pub mod code {
    pub const MALFORMED: &str = "malformed";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const BAD_CREDENTIALS: &str = "bad_credentials";
    pub const FORBIDDEN: &str = "forbidden";
    /// A device writing rows of another centre (or naming another centre in its body).
    pub const OTHER_CENTRE: &str = "other_centre";
    /// A centre's account asking for another centre (registering its desk, reading its data).
    pub const NOT_YOUR_CENTRE: &str = "not_your_centre";
    /// Only a head-office administrator may (the overview page across centres).
    pub const ADMIN_ONLY: &str = "admin_only";
    /// The device's token was revoked by head office: register the desk again.
    pub const DEVICE_REVOKED: &str = "device_revoked";
    /// An op head office cannot store or fold as sent (text with NUL, an over-long id, …):
    /// the whole batch is refused (400) and nothing applied.
    pub const INVALID_OP: &str = "invalid_op";
    pub const NOT_FOUND: &str = "not_found";
    pub const EXISTS: &str = "exists";
    pub const GAP: &str = "gap";
    pub const DIVERGED: &str = "diverged";
    /// A push under another epoch than the device's without `rebase`: start again at 1.
    pub const EPOCH: &str = "epoch";
    pub const TOO_LARGE: &str = "too_large";
    pub const TOO_MANY_OPS: &str = "too_many_ops";
    pub const ENCODING: &str = "encoding";
    pub const PAYLOAD_VERSION: &str = "payload_version";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const STORAGE: &str = "storage";
    pub const INTERNAL: &str = "internal";
}

/// A human number the desk issues from a counter, and where it shows in the rows the
/// server folds: `(counter, entity, field)`.
pub struct Numbered {
    pub counter: &'static str,
    pub entity: &'static str,
    pub field: &'static str,
}

pub const NUMBERED: &[Numbered] = &[
    Numbered { counter: "receipt_no", entity: "payment", field: "receipt_no" },
    Numbered { counter: "member_no", entity: "member", field: "member_no" },
    Numbered { counter: "contract_no", entity: "contract", field: "contract_no" },
    Numbered { counter: "goods_sale_no", entity: "goods_sale", field: "sale_no" },
    Numbered { counter: "goods_return_no", entity: "goods_return", field: "return_no" },
    Numbered { counter: "complaint_no", entity: "complaint", field: "complaint_no" },
];

/// The counter value behind a number: its trailing digits (`R000123` → 123, `M00042`
/// with any prefix → 42).
pub fn number_of(text: &str) -> Option<i64> {
    let digits: String = text.chars().rev().take_while(|c| c.is_ascii_digit()).collect::<Vec<_>>().into_iter().rev().collect();
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_their_trailing_digits() {
        assert_eq!(number_of("R000123"), Some(123));
        assert_eq!(number_of("FY-M00042"), Some(42));
        assert_eq!(number_of("C1"), Some(1));
        assert_eq!(number_of("none"), None);
        assert_eq!(number_of("R99999999999999999999"), None);
    }

    #[test]
    fn a_push_from_an_older_desk_still_reads() {
        let old: PushRequest = serde_json::from_str(r#"{"ops":[]}"#).unwrap();
        assert_eq!((old.epoch, old.rebase), (None, false));
        assert!(serde_json::from_str::<PushRequest>(r#"{"ops":[],"extra":1}"#).is_err(), "unknown fields are refused");
        let body = serde_json::to_value(PushRequest { centre: None, epoch: Some("e".into()), rebase: false, ops: vec![] }).unwrap();
        assert_eq!(body, serde_json::json!({"epoch": "e", "ops": []}));
    }
}
