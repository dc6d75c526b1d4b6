//! The parents' portal 家长端, the desk's side (`centredesk_protocol::portal` is the wire,
//! the server's `portal` module the parents' pages). Offline-first: the desk works the
//! same with no network; when online it publishes what families may read and applies
//! what they asked for.
//!
//! - **Documents** are computed with the desk's own read code (`member_get`,
//!   `points_account`, `leave_choices`, `session_list`), so a family reads exactly what
//!   the member page says, cut to the fields a parent may see (no birthday, school,
//!   address or full phone number, nobody else's child).
//! - **Requests** from the inbox are applied in inbox order, each exactly once, in one
//!   transaction with its row in `requests` (`inbox_number`, the desk's cursor): a crash
//!   or a restored backup pulls again from the cursor the database itself holds. The
//!   answer travels back in the ordinary push (the `request` row), where the parent
//!   reads it. No staff member is behind a portal request: the change log has no staff
//!   for it, and the request row names the guardian.
//! - **Invites** are single-use tokens for one guardian, 14 days, kept only as SHA-256
//!   (`portal_invites`, which head office folds from the log and checks on sign-in).

use crate::attendance::{self, LeaveInput};
use crate::auth::{Action, Role, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Result, Rule};
use crate::settings::{get, put};
use crate::validate;
use centredesk_protocol::phone::mask_phone;
use centredesk_protocol::portal::{desk_request_id, AttendanceLine, CentreDoc, ChildDoc, ChildRef, ContractLine, Doc, GuardianDoc, InboxItem, PointsLine, SessionLine, TrialLine, UpcomingLine};
use centredesk_protocol::requests::{Accepted, Outcome, Request, RequestBody};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

/// An invite link's life.
pub const INVITE_DAYS: i64 = 14;
/// How far ahead the timetable and a child's classes are published.
pub const AHEAD_DAYS: i64 = 28;
/// Roll-call lines per child.
pub const ATTENDANCE_LINES: usize = 30;
/// Points entries per child.
pub const POINTS_LINES: usize = 10;

/// Changes that can alter every family's documents (the timetable, names shown on every
/// page, the portal's own settings): after one of these a publish carries everything.
const EVERYONES: &[&str] = &["class_group", "class_session", "closure", "timetable_slot", "season", "room", "staff", "package", "setting", "member", "import", "database", "sync_epoch"];

/// What a publish carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// Every document (the first publish, a new log epoch or business day, a change that
    /// touches everyone).
    All,
    /// The centre's and every guardian's document (small), and these children's.
    Children(std::collections::BTreeSet<String>),
}

/// What the manager sets in Settings → 家长端.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct PortalSettings {
    pub enabled: bool,
    /// The privacy notice parents accept before any child's data is shown.
    pub privacy_notice: String,
    /// Raised by the desk whenever the notice's text changes (parents are asked again).
    #[serde(default)]
    pub notice_version: i64,
    pub centre_address: String,
    pub centre_phone: String,
}

/// A new invite: the token is shown (QR, print, SMS) and never kept.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct PortalInvite {
    pub guardian_id: String,
    pub token: String,
    pub expires_at: String,
    /// The link the guardian opens (None before the desk is registered with a server).
    pub url: Option<String>,
}

/// One guardian's portal as the desk knows it (the member page's 家长端 dialog): whether an
/// invite is open, their answer to the privacy notice, and the last sign-out.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct PortalGuardian {
    pub guardian_id: String,
    /// The newest invite not revoked and not expired (the desk cannot tell whether it was
    /// used: head office knows).
    pub invite_expires_at: Option<String>,
    pub consent_accepted: Option<bool>,
    pub consent_at: Option<String>,
    /// Every session opened before this instant is refused by head office.
    pub signed_out_at: Option<String>,
    /// `desk`, or `parent` (the guardian deleted their portal account).
    pub signed_out_by: Option<String>,
}

fn guardian_exists(c: &rusqlite::Connection, guardian_id: &str) -> Result<()> {
    c.query_row("SELECT 1 FROM guardians WHERE id = ?1", [guardian_id], |_| Ok(())).optional()?.ok_or(CoreError::NotFound(Field::Guardian))
}

/// Has the guardian accepted the centre's current privacy notice?
fn has_consented(c: &rusqlite::Connection, guardian_id: &str) -> Result<bool> {
    let version = load_settings(c)?.notice_version;
    Ok(c.query_row("SELECT 1 FROM portal_consents WHERE guardian_id = ?1 AND version = ?2 AND accepted = 1", params![guardian_id, version], |_| Ok(())).optional()?.is_some())
}

/// Guardians with their children as the portal lists them (a merged-away member is
/// nobody's child any more), by guardian id: every linked guardian, or only `only`.
fn guardian_docs(c: &rusqlite::Connection, only: Option<&str>) -> Result<Vec<GuardianDoc>> {
    let mut stmt = c.prepare(
        "SELECT g.id AS guardian_id, g.name AS guardian_name, g.phone, m.id AS member_id, m.name AS member_name FROM guardians g
         JOIN member_guardians mg ON mg.guardian_id = g.id JOIN members m ON m.id = mg.member_id
         WHERE m.merged_into IS NULL AND (?1 IS NULL OR g.id = ?1) ORDER BY g.id, m.name, m.id",
    )?;
    let mut rows = stmt.query([only])?;
    let mut guardians: Vec<GuardianDoc> = vec![];
    while let Some(r) = rows.next()? {
        let gid: String = r.get("guardian_id")?;
        if guardians.last().is_none_or(|g| g.guardian_id != gid) {
            let phone: String = r.get("phone")?;
            guardians.push(GuardianDoc { guardian_id: gid, name: r.get("guardian_name")?, phone: mask_phone(&phone), children: vec![] });
        }
        if let Some(g) = guardians.last_mut() {
            g.children.push(ChildRef { member_id: r.get("member_id")?, name: r.get("member_name")? });
        }
    }
    Ok(guardians)
}

fn portal_guardian_in(c: &rusqlite::Connection, guardian_id: &str, now: &str) -> Result<PortalGuardian> {
    guardian_exists(c, guardian_id)?;
    let invite_expires_at = c
        .query_row(
            "SELECT MAX(expires_at) FROM portal_invites WHERE guardian_id = ?1 AND revoked_at IS NULL AND expires_at > ?2",
            params![guardian_id, now],
            |r| r.get("MAX(expires_at)"),
        )
        .optional()?
        .flatten();
    let consent: Option<(bool, String)> =
        c.query_row("SELECT accepted, at FROM portal_consents WHERE guardian_id = ?1", [guardian_id], |r| Ok((r.get("accepted")?, r.get("at")?))).optional()?;
    let signout: Option<(String, String)> = c
        .query_row("SELECT signed_out_at, by_whom FROM portal_signouts WHERE guardian_id = ?1", [guardian_id], |r| Ok((r.get("signed_out_at")?, r.get("by_whom")?)))
        .optional()?;
    Ok(PortalGuardian {
        guardian_id: guardian_id.to_string(),
        invite_expires_at,
        consent_accepted: consent.as_ref().map(|c| c.0),
        consent_at: consent.map(|c| c.1),
        signed_out_by: signout.as_ref().map(|s| s.1.clone()),
        signed_out_at: signout.map(|s| s.0),
    })
}

/// "View as this guardian" 家长视角: what the portal shows them, computed now by the same
/// code that publishes it (read-only; the opening is logged).
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct PortalView {
    pub guardian_name: String,
    /// Their phone as the portal shows it (the last four digits).
    pub phone: String,
    /// They accepted the current privacy notice: without it the portal shows no child.
    pub consented: bool,
    pub children: Vec<PortalViewChild>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct PortalViewChild {
    pub member_id: String,
    pub name: String,
    pub member_no: Option<String>,
    pub lessons_left: Option<i64>,
    pub valid_until: Option<String>,
    pub points: i64,
    pub upcoming: Vec<PortalViewClass>,
    pub attendance: Vec<PortalViewAttendance>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct PortalViewClass {
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub group_name: String,
    /// `cancelled`, `on_leave`, `marked`, or `open` (the parent may ask for leave).
    pub state: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct PortalViewAttendance {
    pub date: String,
    pub start_time: String,
    pub group_name: String,
    #[ts(as = "crate::attendance::Mark")]
    pub mark: String,
    pub consumed: bool,
}

/// The guardian's children, for a change that stands on each child's timeline.
fn children_of(c: &rusqlite::Connection, guardian_id: &str) -> Result<Vec<String>> {
    Ok(c.prepare("SELECT member_id FROM member_guardians WHERE guardian_id = ?1 ORDER BY member_id")?.query_map([guardian_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)
}

/// Logs one change of a guardian's portal on each of their children's timelines (once,
/// with no child, when none is linked: the log still carries it to head office).
fn log_on_children(w: &mut WriteTx, entity: &str, guardian_id: &str, op: &str, row: &serde_json::Value) -> Result<()> {
    let children = children_of(w, guardian_id)?;
    if children.is_empty() {
        return w.log(entity, guardian_id, op, None, row);
    }
    for m in &children {
        w.log(entity, guardian_id, op, Some(m), row)?;
    }
    Ok(())
}

/// Every invite of the guardian's still open stops working.
fn revoke_invites_in(w: &mut WriteTx, guardian_id: &str) -> Result<()> {
    let at = w.now_text();
    let open: Vec<(String, String, String)> = w
        .prepare("SELECT id, created_at, expires_at FROM portal_invites WHERE guardian_id = ?1 AND revoked_at IS NULL ORDER BY id")?
        .query_map([guardian_id], |r| Ok((r.get("id")?, r.get("created_at")?, r.get("expires_at")?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, created_at, expires_at) in open {
        w.execute("UPDATE portal_invites SET revoked_at = ?2 WHERE id = ?1", params![id, at])?;
        let row = serde_json::json!({ "id": id, "guardian_id": guardian_id, "created_at": created_at, "expires_at": expires_at, "revoked_at": at });
        w.log("portal_invite", &id, "revoke", None, &row)?;
    }
    Ok(())
}

/// Signs the guardian out of the portal everywhere: head office refuses their sessions
/// opened before now (it reads this row from the log), and their open invites stop
/// working, so a lost phone or a forwarded link gets nothing more.
fn sign_out_in(w: &mut WriteTx, guardian_id: &str, by_whom: &str) -> Result<()> {
    revoke_invites_in(w, guardian_id)?;
    let at = w.now_text();
    let staff_id = w.staff_id().map(str::to_string);
    w.execute(
        "INSERT INTO portal_signouts (guardian_id, signed_out_at, by_whom, staff_id) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(guardian_id) DO UPDATE SET signed_out_at = excluded.signed_out_at, by_whom = excluded.by_whom, staff_id = excluded.staff_id",
        params![guardian_id, at, by_whom, staff_id],
    )?;
    let row = serde_json::json!({ "guardian_id": guardian_id, "signed_out_at": at, "by_whom": by_whom });
    log_on_children(w, "portal_signout", guardian_id, if by_whom == "parent" { "account_deleted" } else { "desk" }, &row)
}

/// The notice a centre starts with: what is shown, why, where, how long, how to delete.
pub const DEFAULT_NOTICE: &str = "家长端向您展示孩子的课时、合同有效期、积分、考勤和课表，便于您请假和了解上课情况。\
数据由本中心保存在中心电脑上，并同步到总部服务器，仅本中心及其总部可以查看；不显示生日、学校、住址等信息。\
孩子离开本中心后两年内删除。您可以随时退出登录，或联系前台删除您的家长端账号和数据。";

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Reads for documents are the desk's own, not a staff member's: an in-memory session
/// that may read what every screen reads, never used for a write.
fn reader() -> Session {
    Session::new(String::new(), "portal".into(), "家长端".into(), Role::Manager)
}

fn load_settings(c: &rusqlite::Connection) -> Result<PortalSettings> {
    Ok(PortalSettings {
        enabled: get(c, "portal_enabled")?.as_deref() == Some("1"),
        privacy_notice: get(c, "portal_privacy_notice")?.unwrap_or_else(|| DEFAULT_NOTICE.to_string()),
        notice_version: get(c, "portal_notice_version")?.and_then(|v| v.parse().ok()).unwrap_or(1),
        centre_address: get(c, "centre_address")?.unwrap_or_default(),
        centre_phone: get(c, "centre_phone")?.unwrap_or_default(),
    })
}

/// Is `member_id` linked to `guardian_id` now?
fn linked(c: &rusqlite::Connection, member_id: &str, guardian_id: &str) -> Result<bool> {
    Ok(c.query_row("SELECT 1 FROM member_guardians WHERE member_id = ?1 AND guardian_id = ?2", [member_id, guardian_id], |_| Ok(())).optional()?.is_some())
}

/// A parent may ask for a child only after accepting the centre's current privacy notice
/// (head office shows no child before it; the desk holds the same rule, so a request
/// sent around the page is refused too), and only for a child linked to them now.
fn consented_parent_of(c: &rusqlite::Connection, guardian_id: &str, member_id: &str) -> Result<()> {
    if !has_consented(c, guardian_id)? {
        return Err(CoreError::Conflict(Conflict::ConsentNeeded));
    }
    if !linked(c, member_id, guardian_id)? {
        return Err(CoreError::Conflict(Conflict::NotYourChild));
    }
    Ok(())
}

/// A class a parent may still ask about: not cancelled, not started.
fn class_ahead(w: &WriteTx, tz: chrono_tz::Tz, session_id: &str) -> Result<crate::timetable::ClassSession> {
    let s = crate::timetable::load_session(w, session_id)?;
    if s.status == "cancelled" {
        return Err(CoreError::Conflict(Conflict::SessionCancelled));
    }
    if attendance::session_window(&s, tz).0 <= w.now() {
        return Err(CoreError::Conflict(Conflict::SessionStarted { date: s.date.clone(), start: s.start_time.clone() }));
    }
    Ok(s)
}

/// Is the child in the class's group on the class's date?
fn in_class_group(c: &rusqlite::Connection, s: &crate::timetable::ClassSession, member_id: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT 1 FROM group_members WHERE group_id = ?1 AND member_id = ?2 AND start_date <= ?3 AND (end_date IS NULL OR end_date >= ?3)",
        params![s.group_id, member_id, s.date],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// A parent's request, in the caller's transaction.
fn apply_parents(w: &mut WriteTx, tz: chrono_tz::Tz, guardian_id: &str, body: &RequestBody) -> Result<Accepted> {
    match body {
        RequestBody::Leave(l) => {
            consented_parent_of(w, guardian_id, &l.member_id)?;
            if l.session_ids.is_empty() {
                return Err(CoreError::invalid(Field::Session, Rule::Required));
            }
            let note = validate::optional_text(Field::Notes, &l.note, 200)?;
            for sid in &l.session_ids {
                let s = class_ahead(w, tz, sid)?;
                if !in_class_group(w, &s, &l.member_id)? {
                    return Err(CoreError::Conflict(Conflict::NotTheChildsClass));
                }
            }
            let input = LeaveInput { member_id: l.member_id.clone(), session_ids: l.session_ids.clone(), via: "portal".into(), note: note.clone() };
            let (made, notices_queued) = attendance::leave_request_in(w, None, &input, &note)?;
            Ok(Accepted { saved: made.len() as i64, notices_queued, ..Default::default() })
        }
        RequestBody::Trial(ask) => {
            consented_parent_of(w, guardian_id, &ask.member_id)?;
            let note = validate::optional_text(Field::Notes, &ask.note, 200)?;
            let s = class_ahead(w, tz, &ask.session_id)?;
            if in_class_group(w, &s, &ask.member_id)? {
                return Err(CoreError::Conflict(Conflict::AlreadyInGroup));
            }
            let asked = w
                .query_row(
                    "SELECT 1 FROM trial_requests WHERE session_id = ?1 AND member_id = ?2 AND status IN ('requested','approved')",
                    params![s.id, ask.member_id],
                    |_| Ok(()),
                )
                .optional()?;
            if asked.is_some() {
                return Err(CoreError::Conflict(Conflict::TrialAlreadyAsked));
            }
            attendance::trial_request_in(w, &s, attendance::TrialFrom::Parent { guardian_id }, None, Some(&ask.member_id), &note)?;
            Ok(Accepted { saved: 1, ..Default::default() })
        }
        RequestBody::Consent { version, accepted } => {
            let at = w.now_text();
            w.execute(
                "INSERT INTO portal_consents (guardian_id, version, accepted, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(guardian_id) DO UPDATE SET version = excluded.version, accepted = excluded.accepted, at = excluded.at",
                params![guardian_id, version, accepted, at],
            )?;
            let row = serde_json::json!({ "guardian_id": guardian_id, "version": version, "accepted": accepted, "at": at });
            log_on_children(w, "portal_consent", guardian_id, if *accepted { "accept" } else { "refuse" }, &row)?;
            Ok(Accepted { saved: 1, ..Default::default() })
        }
        RequestBody::LeavePortal {} => {
            // Head office has already ended the sessions and dropped the consent and the
            // guardian's document; the desk forgets the consent too and says so.
            let gone = w.execute("DELETE FROM portal_consents WHERE guardian_id = ?1", [guardian_id])?;
            if gone > 0 {
                let row = serde_json::json!({ "guardian_id": guardian_id, "version": null, "accepted": null, "at": w.now_text() });
                w.log("portal_consent", guardian_id, "withdraw", None, &row)?;
            }
            sign_out_in(w, guardian_id, "parent")?;
            Ok(Accepted { saved: 1, ..Default::default() })
        }
        _ => Err(CoreError::Conflict(Conflict::NotForParents)),
    }
}

impl Core {
    pub fn portal_settings(&self) -> Result<PortalSettings> {
        self.read(load_settings)
    }

    /// Settings → 家长端. A changed notice text gets the next version, so every parent is
    /// asked again.
    pub fn portal_settings_update(&self, session: &Session, input: PortalSettings) -> Result<PortalSettings> {
        session.require(Action::EditSettings)?;
        let notice = validate::required_text(Field::PrivacyNotice, &input.privacy_notice, 4000)?;
        let address = validate::optional_text(Field::CentreAddress, &input.centre_address, 200)?;
        let phone = validate::optional_text(Field::Phone, &input.centre_phone, 40)?;
        self.write(session, |w| {
            let before = load_settings(w)?;
            put(w, "portal_enabled", if input.enabled { "1" } else { "0" })?;
            if notice != before.privacy_notice {
                put(w, "portal_privacy_notice", &notice)?;
                put(w, "portal_notice_version", &(before.notice_version + 1).to_string())?;
            }
            put(w, "centre_address", &address)?;
            put(w, "centre_phone", &phone)?;
            load_settings(w)
        })
    }

    /// A single-use invite for one guardian, valid [`INVITE_DAYS`]; the guardian's earlier
    /// invites stop working.
    pub fn portal_invite(&self, session: &Session, guardian_id: &str) -> Result<PortalInvite> {
        session.require(Action::EditMembers)?;
        let token = crate::devices::random_token();
        let id = token_hash(&token);
        self.write(session, |w| {
            guardian_exists(w, guardian_id)?;
            let now = w.now();
            let at = w.now_text();
            revoke_invites_in(w, guardian_id)?;
            let expires_at = crate::db::instant_text(now + chrono::Duration::days(INVITE_DAYS));
            w.execute(
                "INSERT INTO portal_invites (id, guardian_id, created_at, expires_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, guardian_id, at, expires_at, w.staff_id()],
            )?;
            let row = serde_json::json!({ "id": id, "guardian_id": guardian_id, "created_at": at, "expires_at": expires_at, "revoked_at": null });
            w.log("portal_invite", &id, "create", None, &row)?;
            Ok(PortalInvite { guardian_id: guardian_id.to_string(), token: token.clone(), expires_at, url: None })
        })
        .map(|mut invite| {
            // The token travels in the fragment, which no server sees in a request line or log.
            invite.url = self
                .sync_settings()
                .ok()
                .filter(|s| !s.server_url.is_empty() && !s.centre.is_empty())
                .map(|s| format!("{}/p/{}/#invite={}", s.server_url.trim_end_matches('/'), s.centre, invite.token));
            invite
        })
    }

    /// The member page's 家长端 dialog: the guardian's invite, consent and last sign-out.
    pub fn portal_guardian(&self, session: &Session, guardian_id: &str) -> Result<PortalGuardian> {
        session.require(Action::ViewMembers)?;
        let now = crate::db::instant_text(self.now());
        self.read(|c| portal_guardian_in(c, guardian_id, &now))
    }

    /// 退出家长端登录: ends every portal session of the guardian at head office's next
    /// look at this row (after the next push) and revokes their open invites; a new
    /// invite lets them in again.
    pub fn portal_sign_out(&self, session: &Session, guardian_id: &str) -> Result<PortalGuardian> {
        session.require(Action::EditMembers)?;
        self.write(session, |w| {
            guardian_exists(w, guardian_id)?;
            sign_out_in(w, guardian_id, "desk")?;
            portal_guardian_in(w, guardian_id, &w.now_text())
        })
    }

    /// 家长视角: the guardian's portal as it would show now (the published copy may be a
    /// round older). Read-only, and logged (`portal_view`), as staff reading a family's
    /// view of its children is something a manager may want to see in staff activity.
    pub fn portal_view_as(&self, session: &Session, guardian_id: &str) -> Result<PortalView> {
        session.require(Action::ViewMembers)?;
        let (guardian, consented) = self.read(|c| {
            guardian_exists(c, guardian_id)?;
            Ok((guardian_docs(c, Some(guardian_id))?.pop(), has_consented(c, guardian_id)?))
        })?;
        let me = reader();
        // No child linked: no document of theirs, and the portal shows them nothing.
        let (guardian_name, phone, linked) = guardian.map(|g| (g.name, g.phone, g.children)).unwrap_or_default();
        let mut children = vec![];
        for k in &linked {
            let doc = self.portal_child(&me, &k.member_id)?;
            children.push(PortalViewChild {
                member_id: doc.member_id,
                name: doc.name,
                member_no: doc.member_no,
                lessons_left: doc.lessons_left,
                valid_until: doc.valid_until,
                points: doc.points,
                upcoming: doc
                    .upcoming
                    .into_iter()
                    .map(|u| PortalViewClass {
                        state: (if u.cancelled { "cancelled" } else if u.on_leave { "on_leave" } else if u.marked { "marked" } else { "open" }).into(),
                        date: u.date,
                        start_time: u.start_time,
                        end_time: u.end_time,
                        group_name: u.group_name,
                    })
                    .collect(),
                attendance: doc
                    .attendance
                    .into_iter()
                    .map(|a| PortalViewAttendance { date: a.date, start_time: a.start_time, group_name: a.group_name, mark: a.mark, consumed: a.consumed })
                    .collect(),
            });
        }
        let view = PortalView { guardian_name, phone, consented, children };
        self.write(session, |w| {
            let row = serde_json::json!({ "guardian_id": guardian_id, "children": view.children.len(), "at": w.now_text() });
            w.log("portal_view", guardian_id, "view_as", None, &row)
        })?;
        Ok(view)
    }

    /// A guardian named by id or by phone number (the CLI's handle).
    pub fn guardian_by_phone_or_id(&self, session: &Session, key: &str) -> Result<String> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            c.query_row("SELECT id FROM guardians WHERE id = ?1 OR phone = ?1 ORDER BY created_at, id LIMIT 1", [key], |r| r.get(0)).optional()?.ok_or(CoreError::NotFound(Field::Guardian))
        })
    }

    /// The highest inbox number applied: the next pull starts after it.
    pub fn portal_cursor(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("SELECT COALESCE(MAX(inbox_number), 0) FROM requests", [], |r| r.get(0))?))
    }

    /// Applies inbox items in order, each exactly once: items at or below the cursor were
    /// applied before (a pull repeated after a lost answer or a crash) and are skipped; a
    /// gap stops the run (the missing item comes first next time). Returns each applied
    /// item's number and answer.
    pub fn portal_apply(&self, items: &[InboxItem]) -> Result<Vec<(i64, Outcome)>> {
        let mut out = vec![];
        let mut cursor = self.portal_cursor()?;
        for item in items {
            if item.number <= cursor {
                continue;
            }
            if item.number != cursor + 1 {
                break;
            }
            out.push((item.number, self.portal_apply_one(item)?));
            cursor = item.number;
        }
        Ok(out)
    }

    fn portal_apply_one(&self, item: &InboxItem) -> Result<Outcome> {
        let request = Request { request_id: desk_request_id(item.number), body: item.request.body.clone() };
        let from = crate::requests::RequestSource::Portal { inbox_number: item.number, guardian_id: &item.guardian_id };
        let tz = self.timezone();
        crate::requests::apply_once(self, None, from, &request, |w| apply_parents(w, tz, &item.guardian_id, &request.body))
    }

    /// What changed since `seq` (exclusive) asks a publish to carry: everything after a
    /// change that touches everyone, else the children the changes were about.
    pub fn portal_scope_since(&self, seq: i64) -> Result<Scope> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT DISTINCT entity, subject_id FROM change_log WHERE seq > ?1")?;
            let rows = stmt.query_map([seq], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))?;
            let mut children = std::collections::BTreeSet::new();
            for row in rows {
                let (entity, subject) = row?;
                if EVERYONES.contains(&entity.as_str()) {
                    return Ok(Scope::All);
                }
                children.extend(subject);
            }
            Ok(Scope::Children(children))
        })
    }

    /// Every document the portal shows, computed now: the centre's, and each guardian's
    /// and child's among the guardians linked to a child (a child with no guardian is not
    /// published; one who was is told gone).
    pub fn portal_documents(&self) -> Result<Vec<Doc>> {
        self.portal_documents_in(&Scope::All)
    }

    /// The documents of `scope` (the centre's and the guardians' always).
    pub fn portal_documents_in(&self, scope: &Scope) -> Result<Vec<Doc>> {
        let wanted = |id: &str| match scope {
            Scope::All => true,
            Scope::Children(ids) => ids.contains(id),
        };
        let me = reader();
        let settings = self.portal_settings()?;
        let centre_name = self.settings()?.centre_name;
        let today = self.today();
        let ahead = today + chrono::Duration::days(AHEAD_DAYS - 1);
        let filter = crate::timetable::SessionFilter { from_date: today.to_string(), to_date: ahead.to_string(), ..Default::default() };
        let timetable = self
            .session_list(&me, filter)?
            .into_iter()
            .map(|s| SessionLine {
                session_id: s.id,
                group_id: s.group_id,
                group_name: s.group_name,
                date: s.date,
                start_time: s.start_time,
                end_time: s.end_time,
                coach_name: s.coach_name,
                status: s.status,
                change_note: if s.is_override { s.note } else { String::new() },
            })
            .collect();
        let now = self.now().with_timezone(&self.timezone());
        let mut docs = vec![Doc::Centre(CentreDoc {
            enabled: settings.enabled,
            name: centre_name,
            address: settings.centre_address,
            phone: settings.centre_phone,
            privacy_notice: settings.privacy_notice,
            notice_version: settings.notice_version,
            today: today.to_string(),
            published_at: now.format("%Y-%m-%d %H:%M").to_string(),
            timetable,
        })];
        let guardians = self.read(|c| guardian_docs(c, None))?;
        let mut children: Vec<String> = guardians.iter().flat_map(|g| g.children.iter().map(|k| k.member_id.clone())).collect();
        children.sort();
        children.dedup();
        // Guardians and children published before who have no link any more.
        let (gone_guardians, gone_children): (Vec<String>, Vec<String>) = self.read(|c| {
            let g = c
                .prepare("SELECT id FROM guardians WHERE id NOT IN (SELECT guardian_id FROM member_guardians) ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let m = c
                .prepare("SELECT id FROM members WHERE merged_into IS NOT NULL OR id NOT IN (SELECT member_id FROM member_guardians) ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok((g, m))
        })?;
        docs.extend(guardians.into_iter().map(Doc::Guardian));
        docs.extend(gone_guardians.into_iter().map(|guardian_id| Doc::GuardianGone { guardian_id }));
        for id in children.iter().filter(|id| wanted(id)) {
            docs.push(Doc::Child(self.portal_child(&me, id)?));
        }
        docs.extend(gone_children.into_iter().filter(|id| wanted(id)).map(|member_id| Doc::ChildGone { member_id }));
        Ok(docs)
    }

    /// One child's document: the member page's numbers, the points account, the roll
    /// call's lines and the leave dialog's classes.
    fn portal_child(&self, me: &Session, member_id: &str) -> Result<ChildDoc> {
        use crate::contracts::ContractState;
        let d = self.member_get(me, member_id)?;
        let points = self.points_account(me, member_id)?;
        let upcoming = self
            .leave_choices(me, member_id, AHEAD_DAYS)?
            .into_iter()
            .map(|c| UpcomingLine {
                session_id: c.session.id,
                date: c.session.date,
                start_time: c.session.start_time,
                end_time: c.session.end_time,
                group_name: c.session.group_name,
                cancelled: c.session.status == "cancelled",
                on_leave: c.on_leave,
                marked: c.mark.is_some(),
            })
            .collect();
        let attendance = self.read(|c| {
            Ok(c.prepare(
                "SELECT s.date, s.start_time, g.name AS group_name, a.mark, a.consumed FROM attendance a
                 JOIN class_sessions s ON s.id = a.session_id JOIN class_groups g ON g.id = s.group_id
                 WHERE a.member_id = ?1 ORDER BY s.date DESC, s.start_time DESC LIMIT ?2",
            )?
            .query_map(params![member_id, ATTENDANCE_LINES as i64], |r| {
                Ok(AttendanceLine { date: r.get("date")?, start_time: r.get("start_time")?, group_name: r.get("group_name")?, mark: r.get("mark")?, consumed: r.get("consumed")? })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let week_ago = (self.today() - chrono::Duration::days(7)).to_string();
        let trials = self.read(|c| {
            Ok(c.prepare(
                "SELECT s.id AS session_id, s.date, s.start_time, s.end_time, g.name AS group_name, t.status FROM trial_requests t
                 JOIN class_sessions s ON s.id = t.session_id JOIN class_groups g ON g.id = s.group_id
                 WHERE t.member_id = ?1 AND s.date >= ?2 ORDER BY s.date, s.start_time, t.created_at",
            )?
            .query_map(params![member_id, week_ago], |r| {
                Ok(TrialLine {
                    session_id: r.get("session_id")?,
                    date: r.get("date")?,
                    start_time: r.get("start_time")?,
                    end_time: r.get("end_time")?,
                    group_name: r.get("group_name")?,
                    status: r.get("status")?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let running = |s: ContractState| matches!(s, ContractState::Valid | ContractState::Paused | ContractState::NotStarted);
        let active: Vec<_> = d.contracts.iter().filter(|k| k.contract.status == "active").collect();
        let valid_until = active.iter().filter(|k| running(k.state)).map(|k| k.contract.end_date.clone()).max();
        let state_word = |s: ContractState| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        Ok(ChildDoc {
            member_id: d.member.id.clone(),
            name: d.member.name.clone(),
            member_no: d.member.member_no.clone(),
            status: d.member.status.clone(),
            lessons_left: d.lessons_remaining,
            valid_until,
            contracts: active
                .iter()
                .map(|k| ContractLine {
                    package_name: k.contract.package_name.clone(),
                    start_date: k.contract.start_date.clone(),
                    end_date: k.contract.end_date.clone(),
                    lessons_total: k.contract.lessons_total,
                    lessons_left: k.lessons_remaining,
                    status: state_word(k.state),
                })
                .collect(),
            points: points.balance,
            points_entries: points.entries.into_iter().take(POINTS_LINES).map(|e| PointsLine { at: e.business_date, delta: e.delta, reason: e.reason }).collect(),
            attendance,
            upcoming,
            trials,
        })
    }
}
