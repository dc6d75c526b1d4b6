//! The parents' portal 家长端: what a desk publishes for families to read, and the inbox
//! of what families asked for, between a desk and `centredesk-server` (its `portal`
//! module). The desk stays the only authority:
//!
//! - **Read side.** The desk computes small documents with its own read code and sends
//!   them after a push ([`Publish`]); the server keeps, per document, only the newest
//!   version under the device's current log epoch (a restored desk, in a new epoch,
//!   replaces every document it republishes). Nothing else of the centre's data reaches
//!   a parent: `crates/core/tests/portal.rs` holds every document's keys to a whitelist.
//! - **Write side.** A parent's request is the one envelope of [`crate::requests`]; the
//!   server stores it once per request id and gives it a gap-free inbox number per
//!   centre ([`InboxItem`]). The desk pulls the inbox in order and applies each item
//!   exactly once as request `portal-<number>` ([`desk_request_id`]); its answer comes
//!   back to head office in the ordinary push (the `request` rows), where the parent
//!   reads it.

use crate::requests::Request;
use serde::{Deserialize, Serialize};

/// The request id a desk keeps for inbox item `number`: the inbox number names the
/// request at the desk (a parent's own id names it at the server), so no id a parent
/// picks can collide with a phone's, and head office finds the answer by number.
pub fn desk_request_id(number: i64) -> String {
    format!("portal-{number}")
}

/// The desk's endpoints (device token, as for sync).
pub const PUBLISH: &str = "/api/v1/portal/publish";
pub const INBOX: &str = "/api/v1/portal/inbox";

/// The portal's own error codes (the body is `sync::ErrorBody`, as everywhere).
pub mod code {
    /// No session cookie, or one that was revoked or expired.
    pub const SIGNED_OUT: &str = "signed_out";
    /// An invite that is unknown, used, revoked or expired: one answer for all four.
    pub const INVITE_INVALID: &str = "invite_invalid";
    /// The guardian has not accepted the current privacy notice.
    pub const CONSENT_REQUIRED: &str = "consent_required";
    /// A request id already used for another request.
    pub const REQUEST_REUSED: &str = "request_reused";
    /// A kind a parent may not send.
    pub const NOT_FOR_PARENTS: &str = "not_for_parents";
    /// The portal is off for this centre (or the centre unknown): the same answer.
    pub const PORTAL_OFF: &str = "portal_off";
}

/// Longest wait of the desk's long poll on the inbox, in seconds.
pub const MAX_INBOX_WAIT_SECS: u64 = 25;
/// Items per inbox answer.
pub const INBOX_BATCH: usize = 200;
/// A desk silent for longer than this is shown to parents as offline.
pub const DESK_OFFLINE_SECS: i64 = 30 * 60;

/// `POST /api/v1/portal/publish`: documents computed at `seq` of the desk's log under
/// `epoch` (the device's current epoch: push first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publish {
    pub epoch: String,
    pub seq: i64,
    pub docs: Vec<Doc>,
}

/// One document: the centre's, a guardian's or a child's. Its key is [`Doc::key`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Doc {
    Centre(CentreDoc),
    Guardian(GuardianDoc),
    Child(ChildDoc),
    /// A guardian with no child linked any more (or deleted): their document is gone.
    GuardianGone { guardian_id: String },
    /// A child who left the portal (unlinked from everyone, or merged away).
    ChildGone { member_id: String },
}

impl Doc {
    pub fn key(&self) -> String {
        match self {
            Doc::Centre(_) => "centre".into(),
            Doc::Guardian(g) => format!("guardian:{}", g.guardian_id),
            Doc::GuardianGone { guardian_id } => format!("guardian:{guardian_id}"),
            Doc::Child(c) => format!("child:{}", c.member_id),
            Doc::ChildGone { member_id } => format!("child:{member_id}"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PublishResponse {
    /// Documents stored (newer than what the server had).
    pub stored: usize,
    /// Documents the server already had at this version or newer.
    pub kept: usize,
}

/// What every parent of the centre may read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CentreDoc {
    /// The manager turned the portal on (Settings → 家长端). Off: the server answers 404.
    pub enabled: bool,
    pub name: String,
    pub address: String,
    pub phone: String,
    /// The privacy notice a parent accepts before any child's data is shown.
    pub privacy_notice: String,
    /// Bumped by the desk when the notice changes: a parent is asked again.
    pub notice_version: i64,
    /// The centre's business date and time of publishing, in its time zone.
    pub today: String,
    pub published_at: String,
    /// The next 4 weeks of the timetable, with cancellations and moves.
    pub timetable: Vec<SessionLine>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionLine {
    pub session_id: String,
    pub group_id: String,
    pub group_name: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub coach_name: String,
    /// `scheduled` or `cancelled`.
    pub status: String,
    /// A moved or changed class says so (`moved`), with the desk's note.
    #[serde(default)]
    pub change_note: String,
}

/// One guardian: who they are to the portal and which children they see.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardianDoc {
    pub guardian_id: String,
    pub name: String,
    /// Masked to its last four digits.
    pub phone: String,
    pub children: Vec<ChildRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChildRef {
    pub member_id: String,
    pub name: String,
}

/// One child, as their family sees them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChildDoc {
    pub member_id: String,
    pub name: String,
    pub member_no: Option<String>,
    /// The member's status as the desk shows it (`active`, `expired`, …).
    pub status: String,
    /// Lessons left over the valid contracts (None: unlimited or no lesson count).
    pub lessons_left: Option<i64>,
    /// The latest end date of a valid contract.
    pub valid_until: Option<String>,
    pub contracts: Vec<ContractLine>,
    pub points: i64,
    pub points_entries: Vec<PointsLine>,
    /// The last 30 roll-call lines, newest first.
    pub attendance: Vec<AttendanceLine>,
    /// The child's classes from today for 4 weeks.
    pub upcoming: Vec<UpcomingLine>,
    /// Trial classes 试课 asked for the child (by the family or at the desk), from a
    /// week ago on, with the coach's decision.
    #[serde(default)]
    pub trials: Vec<TrialLine>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialLine {
    pub session_id: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub group_name: String,
    /// `requested`, `approved` or `declined`.
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContractLine {
    pub package_name: String,
    pub start_date: String,
    pub end_date: String,
    pub lessons_total: Option<i64>,
    pub lessons_left: Option<i64>,
    /// The desk's status word (`valid`, `ended`, `used_up`, `paused`, `refunded`, …).
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PointsLine {
    pub at: String,
    pub delta: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttendanceLine {
    pub date: String,
    pub start_time: String,
    pub group_name: String,
    /// `present`, `late`, `absent`, `leave`, `makeup`, `trial`.
    pub mark: String,
    /// A lesson was used 扣课时.
    pub consumed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpcomingLine {
    pub session_id: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub group_name: String,
    pub cancelled: bool,
    pub on_leave: bool,
    /// Marked already (leave would be refused).
    pub marked: bool,
}

/// One request in a centre's inbox: its number (gap-free per centre), the guardian the
/// server signed it in as, and the envelope as the parent sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxItem {
    pub number: i64,
    pub guardian_id: String,
    pub received_at: String,
    pub request: Request,
}

/// `GET /api/v1/portal/inbox?after=N&wait=S`: items after `N`, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InboxResponse {
    pub items: Vec<InboxItem>,
}

/// `GET /p/<centre>/api/me`: the signed-in guardian's page header. Children are listed
/// only after the current privacy notice was accepted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortalMe {
    pub centre: CentreDoc,
    pub guardian_name: String,
    /// The guardian's answer to the notice: (version, accepted).
    pub consent: Option<ConsentState>,
    pub needs_consent: bool,
    pub children: Vec<ChildRef>,
    /// When the desk was last in touch (the server's clock, UTC), and whether that is
    /// longer ago than [`DESK_OFFLINE_SECS`]: requests still go in and wait.
    pub desk_seen_at: Option<String>,
    pub desk_offline: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ConsentState {
    pub version: i64,
    pub accepted: bool,
}

/// One of a guardian's requests as the portal lists it, with the desk's answer once it
/// came back (None: waiting for the desk).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestView {
    pub number: i64,
    pub received_at: String,
    pub request: Request,
    pub outcome: Option<crate::requests::Outcome>,
}

/// `POST /p/<centre>/api/invite`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Redeem {
    pub token: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::RequestBody;

    #[test]
    fn documents_have_one_key_each_and_say_their_type() {
        let c = Doc::Child(ChildDoc { member_id: "m1".into(), ..Default::default() });
        assert_eq!(c.key(), "child:m1");
        assert_eq!(Doc::ChildGone { member_id: "m1".into() }.key(), c.key());
        assert_eq!(serde_json::to_value(&c).unwrap()["type"], "child");
        assert_eq!(Doc::GuardianGone { guardian_id: "g".into() }.key(), "guardian:g");
        assert_eq!(desk_request_id(7), "portal-7");
    }

    #[test]
    fn an_inbox_item_carries_the_one_envelope() {
        let item = InboxItem {
            number: 3,
            guardian_id: "g".into(),
            received_at: "2026-12-06T10:00:00Z".into(),
            request: Request { request_id: "r".into(), body: RequestBody::Consent { version: 1, accepted: true } },
        };
        let json = serde_json::to_value(&item).unwrap();
        assert_eq!(json["request"]["kind"], "consent");
        assert_eq!(serde_json::from_value::<InboxItem>(json).unwrap(), item);
    }
}
