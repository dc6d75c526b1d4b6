//! Requests 请求: what someone away from the desk asks it to do — a coach's phone over
//! the centre's Wi-Fi (`crates/lan`) and, with the parents' portal, a parent through
//! head office. One envelope for both: `{request_id, kind, payload}`. The desk is the
//! only authority: it applies each request exactly once, in its own transaction, keeps
//! the answer with the request id, and gives the same answer to the same request again
//! (a retry after a lost answer, a double tap). The same id with another body is
//! refused: an id names one request, not a slot to fill.

use serde::{Deserialize, Serialize};

/// The longest request id a desk keeps (a UUID is 36 characters).
pub const MAX_REQUEST_ID: usize = 64;

/// One request: an id made by the sender when the form opens (or the save is built), and
/// what it asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub request_id: String,
    #[serde(flatten)]
    pub body: RequestBody,
}

/// What a request asks for, by kind. The payloads are wire types of their own, not the
/// desk's screen structs: the desk turns each into its core call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum RequestBody {
    /// Marks for one class, only the children the sender changed.
    RollCall(RollCallRequest),
    /// Class over: the departure notices for everyone who came.
    Dismiss { session_id: String },
    /// A coach approves or declines a trial class.
    TrialDecision {
        trial_id: String,
        approve: bool,
        #[serde(default)]
        note: String,
    },
    /// Goods sold to a child handed over at the mat.
    GoodsHandOver { sale_id: String },
    /// Goods sold to a child by the sender (a coach at the mat): in points, or in money
    /// taken by the sender as at the desk.
    GoodsSale(GoodsSaleRequest),
    /// A parent asks for leave 请假 for one or more classes of their child (the portal).
    Leave(LeaveRequest),
    /// A parent accepts (or refuses) the centre's privacy notice of `version`.
    Consent { version: i64, accepted: bool },
    /// A parent asks for a trial class 试课 for their child in another class (the portal);
    /// the coach decides at the desk.
    Trial(TrialAsk),
    /// A parent deleted their portal account ("删除我的家长端账户"): head office has
    /// already ended their sessions and deleted their consent and document; the desk
    /// revokes their invites, forgets the consent and says so on each child's timeline.
    LeavePortal {},
}

impl RequestBody {
    /// The kind's name as it travels (`roll_call`, …): what the desk's request table keeps.
    pub fn kind(&self) -> &'static str {
        match self {
            RequestBody::RollCall(_) => "roll_call",
            RequestBody::Dismiss { .. } => "dismiss",
            RequestBody::TrialDecision { .. } => "trial_decision",
            RequestBody::GoodsHandOver { .. } => "goods_hand_over",
            RequestBody::GoodsSale(_) => "goods_sale",
            RequestBody::Leave(_) => "leave",
            RequestBody::Consent { .. } => "consent",
            RequestBody::Trial(_) => "trial",
            RequestBody::LeavePortal {} => "leave_portal",
        }
    }

    /// A kind a parent may send through the portal (the others are staff's, from a phone).
    pub fn is_parents(&self) -> bool {
        matches!(self, RequestBody::Leave(_) | RequestBody::Consent { .. } | RequestBody::Trial(_) | RequestBody::LeavePortal {})
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaveRequest {
    pub member_id: String,
    pub session_ids: Vec<String>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialAsk {
    pub member_id: String,
    pub session_id: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollCallRequest {
    pub session_id: String,
    pub marks: Vec<MarkChange>,
    #[serde(default)]
    pub trials: Vec<TrialAttendance>,
    /// The sender confirmed a roll call more than 30 minutes before the class starts.
    #[serde(default)]
    pub confirm_early: bool,
}

/// One child's mark as the sender wants it, with the version of the child's line the
/// sender's roster showed: if the desk changed that child since, this change is refused
/// and the others are saved (never a list of default marks over real ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkChange {
    pub member_id: String,
    /// `present`, `late`, `absent`, `leave`, `makeup`, `trial`, or "" to clear the mark.
    pub mark: String,
    #[serde(default)]
    pub comment: String,
    /// The line's `version` in the roster the change was made on.
    pub seen: String,
    /// The child is on leave and the sender confirmed they came after all.
    #[serde(default)]
    pub withdraw_leave: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoodsSaleRequest {
    pub goods_id: String,
    pub member_id: String,
    pub quantity: i64,
    /// `points`, or a payment method the sender took (`cash`, `wechat`, …).
    pub method: String,
    /// Handed over to the child at once.
    pub delivered: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialAttendance {
    pub trial_id: String,
    pub attended: bool,
}

/// The desk's answer to a request, kept with it: the same request again gets this again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Accepted(Accepted),
    /// Refused by a rule of the desk, said in both languages (`code` and `field` as the
    /// desk's own errors name them).
    Refused { code: String, field: Option<String>, message_zh: String, message_en: String },
}

/// What an accepted request did. Each kind fills what it is about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    /// Marks (and trial attendances) saved.
    #[serde(default)]
    pub saved: i64,
    #[serde(default)]
    pub lessons_consumed: i64,
    #[serde(default)]
    pub lessons_restored: i64,
    /// Notices queued for families.
    #[serde(default)]
    pub notices_queued: i64,
    /// Children marked as attending with no valid contract (their names).
    #[serde(default)]
    pub no_contract: Vec<String>,
    /// Children whose line the desk changed after the sender loaded it: their changes
    /// were not saved (member ids; the sender reloads and sees the desk's marks).
    #[serde(default)]
    pub changed_at_desk: Vec<String>,
    /// The number of the record the request made (a sale's `S000123`), to tell the family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_no: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_id_kind_and_payload() {
        let r = Request {
            request_id: "r1".into(),
            body: RequestBody::Dismiss { session_id: "s1".into() },
        };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json, serde_json::json!({"request_id": "r1", "kind": "dismiss", "payload": {"session_id": "s1"}}));
        assert_eq!(serde_json::from_value::<Request>(json).unwrap(), r);
        assert_eq!(r.body.kind(), "dismiss");
        let roll: Request = serde_json::from_str(
            r#"{"request_id":"r2","kind":"roll_call","payload":{"session_id":"s","marks":[{"member_id":"m","mark":"late","seen":"v"}]}}"#,
        )
        .unwrap();
        let RequestBody::RollCall(call) = roll.body else { panic!("a roll call") };
        assert_eq!(call.marks[0].mark, "late");
        assert!(!call.confirm_early && call.trials.is_empty() && !call.marks[0].withdraw_leave);
        assert!(serde_json::from_str::<Request>(r#"{"request_id":"r3","kind":"pay_me","payload":{}}"#).is_err());
    }

    #[test]
    fn outcomes_say_accepted_or_refused() {
        let ok = serde_json::to_value(Outcome::Accepted(Accepted { saved: 2, ..Default::default() })).unwrap();
        assert_eq!(ok["status"], "accepted");
        assert_eq!(ok["saved"], 2);
        let no = Outcome::Refused { code: "conflict.x".into(), field: None, message_zh: "不行".into(), message_en: "No".into() };
        let json = serde_json::to_string(&no).unwrap();
        assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), no);
    }
}
