//! Roll call 点名, leave 请假 and trial classes 试课.
//!
//! The roster of a session is pre-filled with the group's members on that date, marks
//! who asked for leave and which trial students are booked. Saving a roll call is one
//! transaction: the marks, the lessons consumed (消课) or given back, coach comments,
//! and the notices queued for parents.
//!
//! Lesson rule: present, late and make-up 补课 take one lesson; absent, leave and trial
//! take none. The lesson comes from the member's contract that is valid on the
//! session's date (`contracts::valid_on_sql`: active, started, not ended, not paused; a
//! lesson package with lessons left) and **expires first**; a term card covers the day
//! without a deduction. A package used up by a roll call ends the member's enrolment
//! in that transaction when nothing else keeps them (`members::follow_contracts`).
//!
//! Leave and attendance exclude each other: leave is refused for a session whose roll
//! call already has the child (the mark and the lesson used are said), and marking a
//! child who is on leave anything but 请假 needs the desk's confirmation, which
//! withdraws the leave (kept, with who and when) and tells the family what happened.
//!
//! Times in notices are real: roll call opens 30 minutes before the class (earlier only
//! with the desk's confirmation — the coach's phone never confirms); the arrival notice
//! says the time only when the child was marked during the class window (30 minutes
//! before its start to 30 minutes after its end), otherwise it says the class was
//! attended; departure notices go out from the class's start to an hour after its end,
//! with the time they are sent.

use crate::auth::{Action, Role, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Result, Rule};
use crate::notify::{self, templates, NewNotice};
use crate::timetable::{load_session, ClassSession};
use crate::validate;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A roll-call mark 考勤.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Mark {
    Present,
    Late,
    Absent,
    Leave,
    Trial,
    Makeup,
}

impl Mark {
    pub const ALL: [Mark; 6] = [Mark::Present, Mark::Late, Mark::Absent, Mark::Leave, Mark::Trial, Mark::Makeup];

    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Present => "present",
            Mark::Late => "late",
            Mark::Absent => "absent",
            Mark::Leave => "leave",
            Mark::Trial => "trial",
            Mark::Makeup => "makeup",
        }
    }

    pub fn parse(s: &str) -> Option<Mark> {
        Mark::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self, lang: crate::Lang) -> String {
        let (zh, en) = match self {
            Mark::Present => ("出勤", "present"),
            Mark::Late => ("迟到", "late"),
            Mark::Absent => ("缺勤", "absent"),
            Mark::Leave => ("请假", "on leave"),
            Mark::Trial => ("试课", "trial"),
            Mark::Makeup => ("补课", "make-up"),
        };
        lang.pick(zh, en)
    }

    /// Present, late and make-up take a lesson (and mean the child came).
    pub fn consumes(self) -> bool {
        matches!(self, Mark::Present | Mark::Late | Mark::Makeup)
    }
}

/// Roll call opens this long before a class starts (earlier only when the desk confirms).
pub const EARLY_MINUTES: i64 = 30;
/// A mark made this long after the class ended still says the arrival time.
pub const LIVE_AFTER_MINUTES: i64 = 30;
/// Departure notices can be sent until this long after the class ends.
pub const DISMISS_AFTER_MINUTES: i64 = 60;

fn consumes(mark: &str) -> bool {
    Mark::parse(mark).is_some_and(Mark::consumes)
}

/// The class's start and end instants (its date and times in the centre's zone).
pub(crate) fn session_window(s: &ClassSession, tz: chrono_tz::Tz) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    use chrono::TimeZone;
    let at = |time: &str| {
        let local = chrono::NaiveDate::parse_from_str(&s.date, "%Y-%m-%d")
            .ok()
            .and_then(|d| chrono::NaiveTime::parse_from_str(time, "%H:%M").ok().map(|t| d.and_time(t)))
            .unwrap_or_default();
        tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&chrono::Utc)).unwrap_or_else(|| local.and_utc())
    };
    (at(&s.start_time), at(&s.end_time))
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct RosterEntry {
    pub member_id: Option<String>,
    /// A lead booked for a trial (not yet a member).
    pub lead_id: Option<String>,
    pub trial_id: Option<String>,
    pub name: String,
    pub member_no: Option<String>,
    pub guardian_phone: Option<String>,
    /// In the class group on this date (others are make-ups or trials).
    pub expected: bool,
    pub on_leave: bool,
    pub trial: bool,
    pub trial_attended: bool,
    pub mark: Option<String>,
    pub comment: String,
    /// Lessons left on the contracts valid that day (lesson packages).
    pub lessons_remaining: Option<i64>,
    /// Whether any contract (lessons or term) covers this date.
    pub covered: bool,
    /// What the line was read as (its mark, when marked, its leave): a phone's change
    /// carries it back, and a line the desk changed since is not overwritten.
    pub version: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Roster {
    pub session: ClassSession,
    pub capacity: i64,
    pub entries: Vec<RosterEntry>,
}

#[derive(Debug, Clone, Deserialize, TS, Default)]
#[ts(export)]
pub struct MarkInput {
    pub member_id: String,
    /// A `Mark` (`present`, `late` …), or "" to clear the mark (the lesson is given back).
    pub mark: String,
    #[serde(default)]
    pub comment: String,
    /// The desk confirmed that this child, on leave, came after all (or is marked
    /// otherwise): the leave is withdrawn.
    #[serde(default)]
    #[ts(optional)]
    pub withdraw_leave: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct TrialMark {
    pub trial_id: String,
    pub attended: bool,
}

#[derive(Debug, Clone, Deserialize, TS, Default)]
#[ts(export)]
pub struct RollCallInput {
    pub marks: Vec<MarkInput>,
    #[serde(default)]
    pub trials: Vec<TrialMark>,
    /// The desk confirmed a roll call more than 30 minutes before the class starts.
    #[serde(default)]
    #[ts(optional)]
    pub confirm_early: Option<bool>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq, Default)]
#[ts(export)]
pub struct RollCallResult {
    pub saved: i64,
    pub lessons_consumed: i64,
    pub lessons_restored: i64,
    /// Members marked present with no valid contract: "no lessons left — renew".
    pub no_contract: Vec<String>,
    pub notices_queued: i64,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct LeaveInput {
    pub member_id: String,
    pub session_ids: Vec<String>,
    /// `desk`, `phone`, `wechat`, `coach` (or `portal`, a parent's own request).
    pub via: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct LeaveRequest {
    pub id: String,
    pub member_id: String,
    pub session_id: String,
    pub asked_at: String,
    /// The staff member who recorded it (none for a parent's own request).
    pub asked_by: Option<String>,
    pub via: String,
    pub note: String,
}

/// A session of the member's classes as the leave dialog offers it: already marked,
/// already on leave, or open for leave.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct LeaveChoice {
    pub session: ClassSession,
    /// The roll call's mark for the child, if taken (leave is then refused).
    pub mark: Option<Mark>,
    pub lesson_used: bool,
    pub on_leave: bool,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct TrialInput {
    pub session_id: String,
    pub lead_id: Option<String>,
    pub member_id: Option<String>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct TrialRequest {
    pub id: String,
    pub session_id: String,
    pub lead_id: Option<String>,
    pub member_id: Option<String>,
    pub name: String,
    /// `requested`, `approved` or `declined`.
    pub status: String,
    pub attended: bool,
    pub note: String,
    /// `desk`, or `portal` when a parent asked for it (no staff member behind it).
    pub via: String,
    /// Members expected in the session and approved trials, against the group's capacity.
    pub booked: i64,
    pub capacity: i64,
    /// The class it is for (when, which group, which coach).
    pub session: ClassSession,
}

struct Valid {
    contract_id: String,
    lessons_left: Option<i64>,
}

/// Contracts covering `member` on `date`, the one that expires first first.
fn valid_contracts(c: &Connection, member_id: &str, date: &str) -> Result<Vec<Valid>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT k.id, CASE WHEN k.kind = 'lessons' THEN k.lessons_total - k.lessons_used END AS lessons_left
         FROM contracts k
         WHERE k.member_id = ?1 AND {}
         ORDER BY k.end_date, k.start_date, k.contract_no",
        crate::contracts::valid_on_sql("k", "?2")
    ))?;
    let rows = stmt
        .query_map(params![member_id, date], |r| Ok(Valid { contract_id: r.get("id")?, lessons_left: r.get("lessons_left")? }))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn own_session(session: &Session, s: &ClassSession) -> Result<()> {
    if session.role == Role::Coach && s.coach_id != session.staff_id {
        return Err(CoreError::Conflict(Conflict::NotYourSession));
    }
    Ok(())
}

fn centre_name(c: &Connection) -> Result<String> {
    Ok(crate::settings::get(c, "centre_name")?.unwrap_or_default())
}

fn log_contract(w: &mut WriteTx, contract_id: &str, op: &str) -> Result<()> {
    let k = crate::contracts::load(w, contract_id)?;
    w.log("contract", contract_id, op, Some(&k.member_id.clone()), &k)
}

/// "Expected at the group's classes on `?3`" for the member `mm` of group `?2`: in the
/// group that day, and current (在读), or lapsed (已过期) within `LAPSED_ON_ROLL_DAYS` of
/// their last contract's end — still on the roll call, flagged "no lessons left — renew".
/// `group` and `date` are the SQL for the group id and the date (parameters or columns);
/// `gm` is the group_members alias. A class's size against its capacity counts the same.
pub(crate) fn on_roll_sql(mm: &str, group: &str, date: &str) -> String {
    format!(
        "(gm.group_id = {group} AND gm.member_id = {mm}.id AND gm.start_date <= {date} AND (gm.end_date IS NULL OR gm.end_date >= {date})
          AND {mm}.merged_into IS NULL
          AND ({mm}.status = 'active' OR ({mm}.status = 'expired' AND EXISTS (
              SELECT 1 FROM contracts lk JOIN contract_ends ce ON ce.contract_id = lk.id
               WHERE lk.member_id = {mm}.id AND ce.ended_on >= date({date}, '-{days} days')))))",
        days = crate::members::LAPSED_ON_ROLL_DAYS
    )
}

/// A roster line's version: its mark, when it was marked, its comment (a short hash)
/// and its leave. Any change at the desk changes it.
fn line_version(mark: Option<&str>, marked_at: Option<&str>, comment: &str, leave_id: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let comment = hex::encode(&Sha256::digest(comment.as_bytes())[..4]);
    format!("{}|{}|{comment}|{}", mark.unwrap_or(""), marked_at.unwrap_or(""), leave_id.unwrap_or(""))
}

/// The version of a line nobody has marked (a make-up added on the phone).
pub(crate) fn empty_line_version() -> String {
    line_version(None, None, "", None)
}

/// The version of `member_id`'s line in the roll call of `session_id` now (as
/// `roster_on` reads it).
pub(crate) fn member_line_version(c: &Connection, session_id: &str, member_id: &str) -> Result<String> {
    let (mark, marked_at, comment, leave_id): (Option<String>, Option<String>, Option<String>, Option<String>) = c.query_row(
        "SELECT a.mark, a.marked_at, a.comment,
                (SELECT id FROM leave_requests WHERE session_id = ?1 AND member_id = ?2 AND withdrawn_at IS NULL)
         FROM (SELECT 1) LEFT JOIN attendance a ON a.session_id = ?1 AND a.member_id = ?2",
        params![session_id, member_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Ok(line_version(mark.as_deref(), marked_at.as_deref(), comment.as_deref().unwrap_or(""), leave_id.as_deref()))
}

pub(crate) fn roster_on(c: &Connection, s: ClassSession) -> Result<Roster> {
    let capacity: i64 = c.query_row("SELECT capacity FROM class_groups WHERE id = ?1", [&s.group_id], |r| r.get(0))?;
    // The group on that date, plus anyone already marked or on leave, plus member trials.
    let mut stmt = c.prepare_cached(&format!(
        "SELECT m.id, m.name, m.member_no, ({phone}) AS guardian_phone,
            EXISTS(SELECT 1 FROM group_members gm WHERE {roll_m}) AS expected,
            (SELECT l.id FROM leave_requests l WHERE l.session_id = ?1 AND l.member_id = m.id AND l.withdrawn_at IS NULL) AS leave_id,
            (SELECT t.id FROM trial_requests t WHERE t.session_id = ?1 AND t.member_id = m.id AND t.status = 'approved') AS trial_id,
            a.mark, a.marked_at, COALESCE(a.comment, '') AS comment
         FROM members m LEFT JOIN attendance a ON a.session_id = ?1 AND a.member_id = m.id
         WHERE m.id IN (
             SELECT gm.member_id FROM group_members gm JOIN members mm ON mm.id = gm.member_id WHERE {roll_mm}
             UNION SELECT member_id FROM attendance WHERE session_id = ?1
             UNION SELECT member_id FROM leave_requests WHERE session_id = ?1
             UNION SELECT member_id FROM trial_requests WHERE session_id = ?1 AND status = 'approved' AND member_id IS NOT NULL)
         ORDER BY m.member_no IS NULL, m.member_no, m.name",
        phone = crate::members::PRIMARY_PHONE_SQL,
        roll_m = on_roll_sql("m", "?2", "?3"),
        roll_mm = on_roll_sql("mm", "?2", "?3"),
    ))?;
    type Line = (String, String, Option<String>, Option<String>, bool, Option<String>, Option<String>, Option<String>, Option<String>, String);
    let rows: Vec<Line> = stmt
        .query_map(params![s.id, s.group_id, s.date], |r| {
            Ok((
                r.get("id")?,
                r.get("name")?,
                r.get("member_no")?,
                r.get("guardian_phone")?,
                r.get("expected")?,
                r.get("leave_id")?,
                r.get("trial_id")?,
                r.get("mark")?,
                r.get("marked_at")?,
                r.get("comment")?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut entries = vec![];
    for (id, name, no, phone, expected, leave_id, trial_id, mark, marked_at, comment) in rows {
        let valid = valid_contracts(c, &id, &s.date)?;
        let lessons: Vec<i64> = valid.iter().filter_map(|v| v.lessons_left).collect();
        entries.push(RosterEntry {
            member_id: Some(id),
            lead_id: None,
            trial: trial_id.is_some(),
            trial_id,
            name,
            member_no: no,
            guardian_phone: phone,
            expected,
            on_leave: leave_id.is_some(),
            trial_attended: false,
            version: line_version(mark.as_deref(), marked_at.as_deref(), &comment, leave_id.as_deref()),
            mark,
            comment,
            lessons_remaining: if lessons.is_empty() { None } else { Some(lessons.iter().sum()) },
            covered: !valid.is_empty(),
        });
    }
    let mut stmt = c.prepare_cached(
        "SELECT t.id AS trial_id, l.id AS lead_id, l.name, l.phone, t.attended FROM trial_requests t JOIN leads l ON l.id = t.lead_id
         WHERE t.session_id = ?1 AND t.status = 'approved' ORDER BY l.name",
    )?;
    let trials = stmt.query_map([&s.id], |r| {
        let attended: bool = r.get("attended")?;
        Ok(RosterEntry {
            member_id: None,
            lead_id: Some(r.get("lead_id")?),
            trial_id: Some(r.get("trial_id")?),
            name: r.get("name")?,
            member_no: None,
            guardian_phone: Some(r.get("phone")?),
            expected: false,
            on_leave: false,
            trial: true,
            trial_attended: attended,
            mark: None,
            comment: String::new(),
            lessons_remaining: None,
            covered: false,
            version: format!("trial|{attended}"),
        })
    })?;
    for t in trials {
        entries.push(t?);
    }
    Ok(Roster { session: s, capacity, entries })
}

fn hhmm(core_now: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
    core_now.with_timezone(&tz).format("%H:%M").to_string()
}

impl Core {
    pub fn roster(&self, session: &Session, session_id: &str) -> Result<Roster> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let s = load_session(c, session_id)?;
            own_session(session, &s)?;
            roster_on(c, s)
        })
    }

    /// Saves a roll call in one go: marks, lessons consumed or given back, comments,
    /// notices to parents.
    pub fn roll_call(&self, session: &Session, session_id: &str, input: RollCallInput) -> Result<RollCallResult> {
        let tz = self.timezone();
        self.write(session, |w| roll_call_in(w, session, tz, session_id, &input))
    }

    /// Class over: departure notices for everyone who came.
    pub fn session_dismiss(&self, session: &Session, session_id: &str) -> Result<i64> {
        let tz = self.timezone();
        self.write(session, |w| session_dismiss_in(w, session, tz, session_id))
    }

    /// Records leave 请假 for one or more sessions. Leave is never refused; a
    /// confirmation is queued for the parents.
    pub fn leave_request(&self, session: &Session, input: LeaveInput) -> Result<Vec<LeaveRequest>> {
        session.require(Action::RecordLeave)?;
        if !LEAVE_VIA.contains(&input.via.as_str()) {
            return Err(CoreError::invalid(Field::Channel, Rule::OneOf { allowed: LEAVE_VIA.iter().map(|s| s.to_string()).collect() }));
        }
        if input.session_ids.is_empty() {
            return Err(CoreError::invalid(Field::Session, Rule::Required));
        }
        let note = validate::optional_text(Field::Notes, &input.note, 200)?;
        self.write(session, |w| leave_request_in(w, Some(session.staff_id.clone()), &input, &note).map(|(made, _)| made))
    }

    /// Books a trial class 试课 for a lead or a member; the coach decides.
    pub fn trial_request(&self, session: &Session, input: TrialInput) -> Result<TrialRequest> {
        session.require(Action::RequestTrials)?;
        let note = validate::optional_text(Field::Notes, &input.note, 200)?;
        let lead = input.lead_id.filter(|s| !s.is_empty());
        let member = input.member_id.filter(|s| !s.is_empty());
        if lead.is_some() == member.is_some() {
            return Err(CoreError::invalid(Field::Trial, Rule::Required));
        }
        self.write(session, |w| {
            let s = load_session(w, &input.session_id)?;
            if s.status == "cancelled" {
                return Err(CoreError::Conflict(Conflict::SessionCancelled));
            }
            if let Some(l) = &lead {
                w.query_row("SELECT id FROM leads WHERE id = ?1", [l], |r| r.get::<_, String>(0)).optional()?.ok_or(CoreError::NotFound(Field::Lead))?;
            }
            if let Some(m) = &member {
                crate::members::load_member(w, m)?;
            }
            trial_request_in(w, &s, TrialFrom::Staff(&session.staff_id), lead.as_deref(), member.as_deref(), &note)
        })
    }

    /// The coach approves or declines a trial (capacity shown in the request); a
    /// notice goes to the family either way.
    pub fn trial_decide(&self, session: &Session, trial_id: &str, approve: bool, note: &str) -> Result<TrialRequest> {
        self.write(session, |w| trial_decide_in(w, session, trial_id, approve, note))
    }

    /// The member's classes from today on for `days` days (cancelled ones left out), each
    /// as the leave dialog offers it: marked already (leave refused), on leave, or open.
    pub fn leave_choices(&self, session: &Session, member_id: &str, days: i64) -> Result<Vec<LeaveChoice>> {
        session.require(Action::RecordLeave)?;
        let today = self.today();
        let to = today + chrono::Duration::days(days.clamp(1, 90) - 1);
        let filter = crate::timetable::SessionFilter {
            from_date: today.to_string(),
            to_date: to.to_string(),
            member_id: Some(member_id.to_string()),
            ..Default::default()
        };
        let sessions = self.session_list(session, filter)?;
        self.read(|c| {
            let mut marks = c.prepare_cached("SELECT mark, consumed FROM attendance WHERE member_id = ?1 AND session_id = ?2")?;
            let mut out = vec![];
            for s in sessions.into_iter().filter(|s| s.status != "cancelled") {
                let marked: Option<(String, bool)> = marks.query_row(params![member_id, s.id], |r| Ok((r.get("mark")?, r.get("consumed")?))).optional()?;
                let on_leave = active_leave(c, member_id, &s.id)?.is_some();
                out.push(LeaveChoice {
                    mark: marked.as_ref().and_then(|m| Mark::parse(&m.0)),
                    lesson_used: marked.is_some_and(|m| m.1),
                    on_leave,
                    session: s,
                });
            }
            Ok(out)
        })
    }

    /// Trial requests waiting for a decision (a coach sees those for his sessions).
    pub fn trials_pending(&self, session: &Session) -> Result<Vec<TrialRequest>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let ids: Vec<String> = c
                .prepare(
                    "SELECT t.id FROM trial_requests t JOIN class_sessions s ON s.id = t.session_id
                     WHERE t.status = 'requested' AND (?1 IS NULL OR s.coach_id = ?1) ORDER BY s.date, s.start_time",
                )?
                .query_map([if session.role == Role::Coach { Some(session.staff_id.clone()) } else { None }], |r| r.get("id"))?
                .collect::<rusqlite::Result<_>>()?;
            ids.iter().map(|id| trial(c, id)).collect()
        })
    }
}

/// Who asked for a trial: a staff member at the desk, or a guardian through the portal.
pub(crate) enum TrialFrom<'a> {
    Staff(&'a str),
    Parent { guardian_id: &'a str },
}

/// Writes a requested trial (the caller checked the session and the person).
pub(crate) fn trial_request_in(w: &mut WriteTx, s: &ClassSession, from: TrialFrom, lead: Option<&str>, member: Option<&str>, note: &str) -> Result<TrialRequest> {
    let (requested_by, via, guardian) = match from {
        TrialFrom::Staff(staff_id) => (Some(staff_id), "desk", None),
        TrialFrom::Parent { guardian_id } => (None, "portal", Some(guardian_id)),
    };
    let id = crate::new_id();
    w.execute(
        "INSERT INTO trial_requests (id, session_id, lead_id, member_id, status, attended, note, requested_by, created_at, via, guardian_id)
         VALUES (?1, ?2, ?3, ?4, 'requested', 0, ?5, ?6, ?7, ?8, ?9)",
        params![id, s.id, lead, member, note, requested_by, w.now_text(), via, guardian],
    )?;
    let t = trial(w, &id)?;
    w.log("trial_request", &id, "create", lead.or(member), &t)?;
    Ok(t)
}

pub(crate) fn trial_decide_in(w: &mut WriteTx, session: &Session, trial_id: &str, approve: bool, note: &str) -> Result<TrialRequest> {
    session.require(Action::DecideTrials)?;
    let note = validate::optional_text(Field::Notes, note, 200)?;
    let t = trial(w, trial_id)?;
    let s = load_session(w, &t.session_id)?;
    own_session(session, &s)?;
    if t.status != "requested" {
        return Err(CoreError::Conflict(Conflict::TrialAlreadyDecided));
    }
    let status = if approve { "approved" } else { "declined" };
    w.execute(
        "UPDATE trial_requests SET status = ?2, decided_by = ?3, decided_at = ?4, note = CASE WHEN ?5 = '' THEN note ELSE ?5 END WHERE id = ?1",
        params![trial_id, status, session.staff_id, w.now_text(), note],
    )?;
    let t = trial(w, trial_id)?;
    let subject = t.lead_id.clone().or(t.member_id.clone());
    w.log("trial_request", trial_id, status, subject.as_deref(), &t)?;
    let centre = centre_name(w)?;
    let recipients = match (&t.lead_id, &t.member_id) {
        (Some(lead), _) => notify::lead_recipient(w, lead)?,
        (None, Some(member)) => notify::guardians_of(w, member)?,
        _ => vec![],
    };
    let kind = if approve { "trial_approved" } else { "trial_declined" };
    let text = templates::render(w, kind, &templates::lesson_values(&centre, &t.name, &s))?;
    notify::queue(w, &NewNotice { kind, member_id: t.member_id.as_deref(), lead_id: t.lead_id.as_deref(), session_id: Some(&s.id), text, dedupe_key: None }, &recipients)?;
    Ok(t)
}

pub(crate) fn session_dismiss_in(w: &mut WriteTx, session: &Session, tz: chrono_tz::Tz, session_id: &str) -> Result<i64> {
    session.require(Action::TakeRollCall)?;
    let s = load_session(w, session_id)?;
    own_session(session, &s)?;
    // "Left at 18:05" must be true: from the class's start to an hour after it.
    let (starts, ends) = session_window(&s, tz);
    if w.now() < starts || w.now() > ends + chrono::Duration::minutes(DISMISS_AFTER_MINUTES) {
        return Err(CoreError::Conflict(Conflict::DismissOutsideClass { date: s.date.clone(), start: s.start_time.clone(), end: s.end_time.clone() }));
    }
    let centre = centre_name(w)?;
    let clock = hhmm(w.now(), tz);
    let came: Vec<(String, String)> = w
        .prepare("SELECT a.member_id, m.name FROM attendance a JOIN members m ON m.id = a.member_id WHERE a.session_id = ?1 AND a.mark IN ('present','late','makeup','trial')")?
        .query_map([session_id], |r| Ok((r.get("member_id")?, r.get("name")?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut queued = 0;
    for (member_id, name) in came {
        let already: bool = w.query_row(
            "SELECT EXISTS(SELECT 1 FROM notices WHERE kind = 'departure' AND session_id = ?1 AND member_id = ?2)",
            params![session_id, member_id],
            |r| r.get(0),
        )?;
        if already {
            continue;
        }
        let recipients = notify::guardians_of(w, &member_id)?;
        let text = templates::render(w, "departure", &[("centre", centre.clone()), ("member", name.clone()), ("time", clock.clone()), ("group", s.group_name.clone())])?;
        queued += notify::queue(w, &NewNotice { kind: "departure", member_id: Some(&member_id), lead_id: None, session_id: Some(session_id), text, dedupe_key: None }, &recipients)?;
    }
    Ok(queued)
}

pub(crate) fn roll_call_in(w: &mut WriteTx, session: &Session, tz: chrono_tz::Tz, session_id: &str, input: &RollCallInput) -> Result<RollCallResult> {
    session.require(Action::TakeRollCall)?;
    for m in &input.marks {
        if !m.mark.is_empty() && Mark::parse(&m.mark).is_none() {
            return Err(CoreError::invalid(Field::Mark, Rule::OneOf { allowed: Mark::ALL.iter().map(|m| m.as_str().to_string()).collect() }));
        }
        validate::optional_text(Field::Comment, &m.comment, 300)?;
    }
    let s = load_session(w, session_id)?;
    own_session(session, &s)?;
    if s.status == "cancelled" {
        return Err(CoreError::Conflict(Conflict::SessionCancelled));
    }
    let (starts, ends) = session_window(&s, tz);
    let now = w.now();
    let marks_something = input.marks.iter().any(|m| !m.mark.is_empty()) || !input.trials.is_empty();
    if marks_something && now < starts - chrono::Duration::minutes(EARLY_MINUTES) && input.confirm_early != Some(true) {
        return Err(CoreError::Conflict(Conflict::NotStartedYet { date: s.date.clone(), start: s.start_time.clone() }));
    }
    // Marked during the class window: the arrival notice may say when.
    let live = now >= starts - chrono::Duration::minutes(EARLY_MINUTES) && now <= ends + chrono::Duration::minutes(LIVE_AFTER_MINUTES);
    // A child on leave marked anything else: the desk must have confirmed it.
    let mut unconfirmed = vec![];
    for m in &input.marks {
        if m.mark.is_empty() || m.mark == "leave" || m.withdraw_leave == Some(true) {
            continue;
        }
        if active_leave(w, &m.member_id, session_id)?.is_some() {
            unconfirmed.push(crate::members::load_member(w, &m.member_id)?.name);
        }
    }
    if !unconfirmed.is_empty() {
        return Err(CoreError::Conflict(Conflict::OnLeave { names: unconfirmed }));
    }
    let centre = centre_name(w)?;
    let clock = hhmm(now, tz);
    let lang = templates::notice_lang(w)?;
    let mut result = RollCallResult::default();
    let mut lessons_moved = vec![];
    for m in &input.marks {
        let member = crate::members::load_member(w, &m.member_id)?;
        // The leave the desk confirmed is withdrawn (kept, with who and when).
        let withdrawn = if m.mark.is_empty() || m.mark == "leave" { None } else { withdraw_leave(w, &m.member_id, session_id)? };
        let before: Option<(String, String, Option<String>, bool, String)> = w
            .query_row(
                "SELECT id, mark, contract_id, consumed, comment FROM attendance WHERE session_id = ?1 AND member_id = ?2",
                params![session_id, m.member_id],
                |r| Ok((r.get("id")?, r.get("mark")?, r.get("contract_id")?, r.get("consumed")?, r.get("comment")?)),
            )
            .optional()?;
        let comment = m.comment.trim().to_string();
        // Give back a lesson taken by a mark that no longer takes one.
        let mut keep_consumed = None;
        if let Some((_, old_mark, Some(contract), true, _)) = &before {
            if consumes(&m.mark) && consumes(old_mark) {
                keep_consumed = Some(contract.clone());
            } else {
                w.execute("UPDATE contracts SET lessons_used = lessons_used - 1, updated_at = ?2 WHERE id = ?1", params![contract, w.now_text()])?;
                log_contract(w, contract, "restore_lesson")?;
                result.lessons_restored += 1;
                lessons_moved.push(m.member_id.clone());
            }
        }
        let attended_before = before.as_ref().is_some_and(|b| consumes(&b.1));
        if m.mark.is_empty() {
            if let Some((id, ..)) = &before {
                if attended_before {
                    crate::points::take_back(w, id, "")?;
                }
                w.execute("DELETE FROM attendance WHERE id = ?1", [id])?;
                w.log("attendance", id, "clear", Some(&m.member_id), &serde_json::json!({ "session_id": session_id, "member_id": m.member_id }))?;
                result.saved += 1;
            }
            continue;
        }
        let (contract_id, consumed, no_contract) = match keep_consumed {
            Some(k) => (Some(k), true, false),
            None if consumes(&m.mark) => match valid_contracts(w, &m.member_id, &s.date)?.into_iter().next() {
                Some(v) if v.lessons_left.is_some() => {
                    w.execute("UPDATE contracts SET lessons_used = lessons_used + 1, updated_at = ?2 WHERE id = ?1", params![v.contract_id, w.now_text()])?;
                    log_contract(w, &v.contract_id, "consume_lesson")?;
                    result.lessons_consumed += 1;
                    lessons_moved.push(m.member_id.clone());
                    (Some(v.contract_id), true, false)
                }
                Some(v) => (Some(v.contract_id), false, false),
                None => {
                    result.no_contract.push(member.name.clone());
                    (None, false, true)
                }
            },
            None => (None, false, false),
        };
        let id = before.as_ref().map(|b| b.0.clone()).unwrap_or_else(crate::new_id);
        w.execute(
            "INSERT INTO attendance (id, session_id, member_id, mark, contract_id, consumed, no_contract, comment, marked_by, marked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT(session_id, member_id) DO UPDATE SET mark = excluded.mark, contract_id = excluded.contract_id,
                consumed = excluded.consumed, no_contract = excluded.no_contract, comment = excluded.comment,
                marked_by = excluded.marked_by, marked_at = excluded.marked_at",
            params![id, session_id, m.member_id, m.mark, contract_id, consumed, no_contract, comment, session.staff_id, w.now_text()],
        )?;
        let row = serde_json::json!({
            "id": id, "session_id": session_id, "member_id": m.member_id, "mark": m.mark, "contract_id": contract_id,
            "consumed": consumed, "no_contract": no_contract, "comment": comment, "date": s.date, "group_name": s.group_name,
        });
        w.log("attendance", &id, "mark", Some(&m.member_id), &row)?;
        result.saved += 1;
        match (attended_before, consumes(&m.mark)) {
            (false, true) => crate::points::earn_for_attendance(w, &m.member_id, &id)?,
            (true, false) => crate::points::take_back(w, &id, "")?,
            _ => {}
        }
        let arrived_now = consumes(&m.mark) && !before.as_ref().is_some_and(|b| consumes(&b.1));
        let recipients = notify::guardians_of(w, &m.member_id)?;
        if let Some(leave_id) = &withdrawn {
            // The family was told "no lesson is used": say what really happened.
            let outcome = match (consumes(&m.mark), lang) {
                (true, crate::Lang::ZhCn) => "已按出勤记录，本次扣 1 课时".to_string(),
                (true, crate::Lang::En) => "marked as attended; one lesson is used".to_string(),
                (false, _) => Mark::parse(&m.mark).map(|x| x.label(lang)).unwrap_or_default(),
            };
            let mut values = templates::lesson_values(&centre, &member.name, &s);
            values.push(("outcome", outcome));
            let text = templates::render(w, "leave_withdrawn", &values)?;
            let key = format!("leave_withdrawn:{leave_id}");
            result.notices_queued += notify::queue(
                w,
                &NewNotice { kind: "leave_withdrawn", member_id: Some(&m.member_id), lead_id: None, session_id: Some(session_id), text, dedupe_key: Some(key) },
                &recipients,
            )?;
        } else if arrived_now {
            // The time only when it is the time the child was there.
            let kind = if live { "arrival" } else { "attended" };
            let mut values = templates::lesson_values(&centre, &member.name, &s);
            values.push(("time", clock.clone()));
            let text = templates::render(w, kind, &values)?;
            result.notices_queued += notify::queue(w, &NewNotice { kind, member_id: Some(&m.member_id), lead_id: None, session_id: Some(session_id), text, dedupe_key: None }, &recipients)?;
        }
        if !comment.is_empty() && before.as_ref().map(|b| b.4.as_str()) != Some(comment.as_str()) {
            let mut values = templates::lesson_values(&centre, &member.name, &s);
            values.push(("comment", comment.clone()));
            let text = templates::render(w, "comment", &values)?;
            result.notices_queued += notify::queue(w, &NewNotice { kind: "comment", member_id: Some(&m.member_id), lead_id: None, session_id: Some(session_id), text, dedupe_key: None }, &recipients)?;
        }
    }
    for t in &input.trials {
        let (lead_id, status): (Option<String>, String) = w
            .query_row("SELECT lead_id, status FROM trial_requests WHERE id = ?1 AND session_id = ?2", params![t.trial_id, session_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or(CoreError::NotFound(Field::Trial))?;
        if status != "approved" {
            return Err(CoreError::Conflict(Conflict::TrialAlreadyDecided));
        }
        w.execute("UPDATE trial_requests SET attended = ?2 WHERE id = ?1", params![t.trial_id, t.attended])?;
        let subject = lead_id.clone();
        w.log("trial_request", &t.trial_id, if t.attended { "attended" } else { "missed" }, subject.as_deref(), &serde_json::json!({ "id": t.trial_id, "attended": t.attended }))?;
        // Attending a trial moves the lead along the pipeline.
        if let (Some(lead), true) = (lead_id, t.attended) {
            let moved = w.execute(
                "UPDATE leads SET status = 'trial', updated_at = ?2 WHERE id = ?1 AND status IN ('new','contacted','visit_booked','visited')",
                params![lead, w.now_text()],
            )?;
            if moved > 0 {
                let l: serde_json::Value = w.query_row("SELECT json_object('id', id, 'status', status) FROM leads WHERE id = ?1", [&lead], |r| {
                    r.get::<_, String>(0).map(|s| serde_json::from_str(&s).unwrap_or_default())
                })?;
                w.log("lead", &lead, "set_status", Some(&lead), &l)?;
            }
        }
        result.saved += 1;
    }
    // A package used up (or given a lesson back) may end (or restore) the
    // member's enrolment: the status rule, in this transaction.
    lessons_moved.sort();
    lessons_moved.dedup();
    for member_id in &lessons_moved {
        crate::members::follow_contracts(w, member_id)?;
    }
    Ok(result)
}

/// Leave for the input's sessions in the caller's transaction (the desk's dialog, a
/// parent's request from the portal with no staff member: `asked_by` None). Input
/// checked by the caller.
/// The leave asked for, and how many notices it queued for the family.
pub(crate) fn leave_request_in(w: &mut WriteTx, asked_by: Option<String>, input: &LeaveInput, note: &str) -> Result<(Vec<LeaveRequest>, i64)> {
    let note = note.to_string();
    let member = crate::members::load_member(w, &input.member_id)?;
    let centre = centre_name(w)?;
    let mut out = vec![];
    let mut queued = 0;
    for sid in &input.session_ids {
        let s = load_session(w, sid)?;
        if s.status == "cancelled" {
            return Err(CoreError::Conflict(Conflict::SessionCancelled));
        }
        // Leave and attendance exclude each other: a child already marked (other
        // than 请假) cannot be on leave for that class.
        let marked: Option<(String, bool)> = w
            .query_row("SELECT mark, consumed FROM attendance WHERE member_id = ?1 AND session_id = ?2", params![member.id, sid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((mark, lesson_used)) = marked.filter(|(mark, _)| mark != "leave") {
            return Err(CoreError::Conflict(Conflict::AlreadyMarked { mark, lesson_used }));
        }
        let existing: Option<(String, Option<String>)> = w
            .query_row("SELECT id, withdrawn_at FROM leave_requests WHERE member_id = ?1 AND session_id = ?2", params![member.id, sid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if matches!(existing, Some((_, None))) {
            continue;
        }
        let req = LeaveRequest {
            id: existing.map(|e| e.0).unwrap_or_else(crate::new_id),
            member_id: member.id.clone(),
            session_id: sid.clone(),
            asked_at: w.now_text(),
            asked_by: asked_by.clone(),
            via: input.via.clone(),
            note: note.clone(),
        };
        // A leave withdrawn earlier and asked again is the same row, current again.
        w.execute(
            "INSERT INTO leave_requests (id, member_id, session_id, asked_at, asked_by, via, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(member_id, session_id) DO UPDATE SET asked_at = excluded.asked_at, asked_by = excluded.asked_by,
                via = excluded.via, note = excluded.note, withdrawn_at = NULL, withdrawn_by = NULL",
            params![req.id, req.member_id, req.session_id, req.asked_at, req.asked_by, req.via, req.note],
        )?;
        w.log("leave_request", &req.id, "create", Some(&member.id), &req)?;
        let recipients = notify::guardians_of(w, &member.id)?;
        let text = templates::render(w, "leave_confirmed", &templates::lesson_values(&centre, &member.name, &s))?;
        queued += notify::queue(w, &NewNotice { kind: "leave_confirmed", member_id: Some(&member.id), lead_id: None, session_id: Some(sid), text, dedupe_key: None }, &recipients)?;
        out.push(req);
    }
    Ok((out, queued))
}

/// Where leave can come from: the desk, by phone, on WeChat, the coach, or a parent's
/// own request in the portal.
pub const LEAVE_VIA: &[&str] = crate::vocab::LeaveVia::CODES;

/// The member's current (not withdrawn) leave for a session.
fn active_leave(c: &Connection, member_id: &str, session_id: &str) -> Result<Option<String>> {
    Ok(c.prepare_cached("SELECT id FROM leave_requests WHERE member_id = ?1 AND session_id = ?2 AND withdrawn_at IS NULL")?
        .query_row(params![member_id, session_id], |r| r.get(0))
        .optional()?)
}

/// Withdraws the member's leave for a session (the desk confirmed they came, or are
/// marked otherwise); returns its id when there was one.
fn withdraw_leave(w: &mut WriteTx, member_id: &str, session_id: &str) -> Result<Option<String>> {
    let Some(id) = active_leave(w, member_id, session_id)? else { return Ok(None) };
    w.execute(
        "UPDATE leave_requests SET withdrawn_at = ?2, withdrawn_by = ?3 WHERE id = ?1",
        params![id, w.now_text(), w.staff_id().map(str::to_string)],
    )?;
    let row: serde_json::Value = w.query_row(
        "SELECT json_object('id', id, 'member_id', member_id, 'session_id', session_id, 'asked_at', asked_at, 'asked_by', asked_by,
            'via', via, 'note', note, 'withdrawn_at', withdrawn_at, 'withdrawn_by', withdrawn_by) FROM leave_requests WHERE id = ?1",
        [&id],
        |r| r.get::<_, String>(0).map(|t| serde_json::from_str(&t).unwrap_or_default()),
    )?;
    w.log("leave_request", &id, "withdraw", Some(member_id), &row)?;
    Ok(Some(id))
}

fn trial(c: &Connection, id: &str) -> Result<TrialRequest> {
    let session_id: String = c
        .query_row("SELECT session_id FROM trial_requests WHERE id = ?1", [id], |r| r.get(0))
        .optional()?
        .ok_or(CoreError::NotFound(Field::Trial))?;
    let session = load_session(c, &session_id)?;
    c.query_row(
        &format!("SELECT t.id, t.session_id, t.lead_id, t.member_id, COALESCE(l.name, m.name) AS name, t.status, t.attended, t.note, t.via,
            (SELECT COUNT(*) FROM group_members gm JOIN members mm ON mm.id = gm.member_id WHERE {roll})
            + (SELECT COUNT(*) FROM trial_requests t2 WHERE t2.session_id = s.id AND t2.status = 'approved') AS booked,
            g.capacity
         FROM trial_requests t JOIN class_sessions s ON s.id = t.session_id JOIN class_groups g ON g.id = s.group_id
         LEFT JOIN leads l ON l.id = t.lead_id LEFT JOIN members m ON m.id = t.member_id WHERE t.id = ?1",
            roll = on_roll_sql("mm", "s.group_id", "s.date")),
        [id],
        |r| {
            Ok(TrialRequest {
                id: r.get("id")?,
                session_id: r.get("session_id")?,
                lead_id: r.get("lead_id")?,
                member_id: r.get("member_id")?,
                name: r.get("name")?,
                status: r.get("status")?,
                attended: r.get("attended")?,
                note: r.get("note")?,
                via: r.get("via")?,
                booked: r.get("booked")?,
                capacity: r.get("capacity")?,
                session: session.clone(),
            })
        },
    )
    .optional()?
    .ok_or(CoreError::NotFound(Field::Trial))
}
