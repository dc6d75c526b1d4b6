//! Feedback 反馈: suggestions 意见 (public or hidden, up/down votes recorded by staff on
//! behalf of members, one per member per suggestion), complaints 投诉 (category, severity,
//! handler, deadline, the five handling steps in order, resolution and the customer's
//! confirmation, which closes it) and satisfaction 满意度 (CSAT 1–5, NPS 0–10).
//!
//! Rules:
//! - Steps go 受理 accept → 安抚 calm → 协商方案 agree → 执行 act → 致谢回访 thank; the
//!   next step must be the one named, none can be skipped or repeated. Only the handler
//!   or a manager records steps and the confirmation; a confirmation needs all five.
//! - The deadline defaults to the complaint's business date plus [`SERIOUS_DAYS`] or
//!   [`MINOR_DAYS`]; a complaint is overdue when it is not closed and today (in the
//!   centre's time zone) is after its deadline.
//! - NPS = % promoters (9–10) − % detractors (0–6), in tenths of a point, rounded half
//!   away from zero from the exact fraction; CSAT averages in hundredths. No floats.

use crate::auth::{Action, Role, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Result, Rule};
use crate::{members, validate};
use chrono::Duration;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Days to handle a serious complaint (from the day it was filed).
pub const SERIOUS_DAYS: i64 = 2;
/// Days to handle a minor complaint.
pub const MINOR_DAYS: i64 = 7;

pub const CATEGORIES: &[&str] = crate::vocab::ComplaintCategory::CODES;
pub const SEVERITIES: &[&str] = crate::vocab::ComplaintSeverity::CODES;
/// The handling steps, in order.
pub const STEPS: &[&str] = crate::vocab::HandlingStep::CODES;
pub const SCORE_KINDS: &[&str] = crate::vocab::ScoreKind::CODES;
pub const OCCASIONS: [&str; 3] = ["", "term", "event"];

pub fn step_label(kind: &str, lang: crate::Lang) -> String {
    crate::vocab::HandlingStep::label_of(kind, lang)
}

fn one_of(field: Field, value: &str, allowed: &[&'static str]) -> Result<&'static str> {
    allowed
        .iter()
        .copied()
        .find(|a| *a == value)
        .ok_or_else(|| CoreError::invalid(field, Rule::OneOf { allowed: allowed.iter().filter(|a| !a.is_empty()).map(|s| s.to_string()).collect() }))
}

/// `part / whole` scaled by `scale`, rounded half away from zero; `None` when `whole` is 0.
pub fn ratio_rounded(part: i64, whole: i64, scale: i64) -> Option<i64> {
    if whole <= 0 {
        return None;
    }
    let n = part * scale * 2;
    let d = whole * 2;
    Some(if n >= 0 { (n + whole) / d } else { -((-n + whole) / d) })
}

/// NPS in tenths of a point (−1000 … 1000): (promoters − detractors) / answers × 1000.
pub fn nps_tenths(promoters: i64, detractors: i64, answers: i64) -> Option<i64> {
    ratio_rounded(promoters - detractors, answers, 1000)
}

/// `-333` → `"-33.3"`, `425` (hundredths, 2 places) → `"4.25"`.
pub fn fixed_text(value: Option<i64>, places: u32) -> String {
    match value {
        None => String::new(),
        Some(v) => {
            let unit = 10i64.pow(places);
            let sign = if v < 0 { "-" } else { "" };
            let a = v.abs();
            format!("{sign}{}.{:0width$}", a / unit, a % unit, width = places as usize)
        }
    }
}

// ---------------------------------------------------------------- suggestions

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct SuggestionInput {
    pub body: String,
    pub member_id: Option<String>,
    pub guardian_id: Option<String>,
    /// A name typed by staff when the author is neither a member nor a guardian on file.
    #[serde(default)]
    pub author_name: String,
    /// Visible to members; otherwise hidden (staff only).
    pub public: bool,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Suggestion {
    pub id: String,
    pub body: String,
    pub member_id: Option<String>,
    pub guardian_id: Option<String>,
    /// Who said it: the member's, the guardian's or the typed name (staff see it).
    pub author: String,
    pub public: bool,
    pub up: i64,
    pub down: i64,
    pub staff_name: String,
    pub created_at: String,
    pub business_date: String,
}

/// A member's vote, recorded by staff: `1` up, `-1` down, `0` takes the vote back.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct VoteInput {
    pub suggestion_id: String,
    pub member_id: String,
    pub vote: i64,
}

const SUGGESTION_SELECT: &str = "SELECT s.id, s.body, s.member_id, s.guardian_id,
        COALESCE(m.name, g.name, s.author_name) AS author, s.public,
        (SELECT COUNT(*) FROM suggestion_votes v WHERE v.suggestion_id = s.id AND v.vote = 1) AS up,
        (SELECT COUNT(*) FROM suggestion_votes v WHERE v.suggestion_id = s.id AND v.vote = -1) AS down,
        st.display_name, s.created_at, s.business_date
     FROM suggestions s JOIN staff st ON st.id = s.staff_id
     LEFT JOIN members m ON m.id = s.member_id LEFT JOIN guardians g ON g.id = s.guardian_id";

fn suggestion_from_row(r: &rusqlite::Row) -> rusqlite::Result<Suggestion> {
    Ok(Suggestion {
        id: r.get("id")?,
        body: r.get("body")?,
        member_id: r.get("member_id")?,
        guardian_id: r.get("guardian_id")?,
        author: r.get("author")?,
        public: r.get("public")?,
        up: r.get("up")?,
        down: r.get("down")?,
        staff_name: r.get("display_name")?,
        created_at: r.get("created_at")?,
        business_date: r.get("business_date")?,
    })
}

fn load_suggestion(c: &Connection, id: &str) -> Result<Suggestion> {
    c.query_row(&format!("{SUGGESTION_SELECT} WHERE s.id = ?1"), [id], suggestion_from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::Suggestion))
}

fn require_guardian(c: &Connection, id: &str) -> Result<()> {
    let ok: bool = c.query_row("SELECT EXISTS(SELECT 1 FROM guardians WHERE id = ?1)", [id], |r| r.get(0))?;
    if ok { Ok(()) } else { Err(CoreError::NotFound(Field::Guardian)) }
}

fn require_group(c: &Connection, id: &str) -> Result<Option<String>> {
    c.query_row("SELECT coach_id FROM class_groups WHERE id = ?1", [id], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .ok_or(CoreError::invalid(Field::ClassGroup, Rule::Unknown))
}

/// Who a complaint or suggestion is from: a member (not merged away) and/or a guardian.
fn check_author(c: &Connection, member_id: &Option<String>, guardian_id: &Option<String>) -> Result<()> {
    if let Some(id) = member_id {
        let m = members::load_member(c, id)?;
        if m.merged_into.is_some() {
            return Err(CoreError::Conflict(Conflict::MemberAlreadyMerged));
        }
    }
    if let Some(id) = guardian_id {
        require_guardian(c, id)?;
    }
    Ok(())
}

fn blank_none(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------- complaints

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ComplaintInput {
    pub member_id: Option<String>,
    pub guardian_id: Option<String>,
    /// `class`, `coach`, `staff`, `facility` or `other`.
    pub category: String,
    /// The coach or staff member it is about, if any.
    pub about_staff_id: Option<String>,
    pub group_id: Option<String>,
    pub body: String,
    /// `serious` or `minor`.
    pub severity: String,
    /// Defaults to whoever records it.
    pub handler_id: Option<String>,
    /// YYYY-MM-DD; defaults by severity.
    pub deadline: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ComplaintStep {
    pub step: i64,
    pub kind: String,
    pub notes: String,
    pub staff_name: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Complaint {
    pub id: String,
    pub complaint_no: String,
    pub member_id: Option<String>,
    pub guardian_id: Option<String>,
    /// The member's name, else the guardian's.
    pub from_name: String,
    pub category: String,
    pub about_staff_id: Option<String>,
    pub about_staff_name: Option<String>,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub body: String,
    pub severity: String,
    pub handler_id: String,
    pub handler_name: String,
    pub deadline: String,
    pub steps_done: i64,
    /// The step to record next (`None` once all five are done).
    pub next_step: Option<String>,
    pub resolution: String,
    pub confirmed: Option<bool>,
    pub confirm_note: String,
    pub closed_at: Option<String>,
    pub closed_date: Option<String>,
    /// Not closed and today is after the deadline.
    pub overdue: bool,
    pub staff_name: String,
    pub created_at: String,
    pub business_date: String,
    /// Filled by `complaint_get`; empty in lists.
    pub steps: Vec<ComplaintStep>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct StepInput {
    pub complaint_id: String,
    /// Must be the complaint's next step (no skipping).
    pub kind: String,
    pub notes: String,
}

/// The customer's answer after the last step; closes the complaint either way.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ConfirmInput {
    pub complaint_id: String,
    pub resolution: String,
    pub confirmed: bool,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export)]
pub struct ComplaintFilter {
    /// `open`, `overdue`, `closed` or empty for all.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub handler_id: Option<String>,
    #[serde(default)]
    pub member_id: Option<String>,
}

const COMPLAINT_SELECT: &str = "SELECT c.id, c.complaint_no, c.member_id, c.guardian_id, COALESCE(m.name, g.name, '') AS from_name, c.category,
        c.about_staff_id, a.display_name AS about_staff_name, c.group_id, cg.name, c.body, c.severity, c.handler_id, h.display_name AS handler_name, c.deadline,
        c.steps_done, c.resolution, c.confirmed, c.confirm_note, c.closed_at, c.closed_date, st.display_name AS staff_name, c.created_at, c.business_date
     FROM complaints c JOIN staff h ON h.id = c.handler_id JOIN staff st ON st.id = c.staff_id
     LEFT JOIN staff a ON a.id = c.about_staff_id LEFT JOIN class_groups cg ON cg.id = c.group_id
     LEFT JOIN members m ON m.id = c.member_id LEFT JOIN guardians g ON g.id = c.guardian_id";

fn complaint_from_row(r: &rusqlite::Row, today: &str) -> rusqlite::Result<Complaint> {
    let steps_done: i64 = r.get("steps_done")?;
    let deadline: String = r.get("deadline")?;
    let closed_at: Option<String> = r.get("closed_at")?;
    Ok(Complaint {
        id: r.get("id")?,
        complaint_no: r.get("complaint_no")?,
        member_id: r.get("member_id")?,
        guardian_id: r.get("guardian_id")?,
        from_name: r.get("from_name")?,
        category: r.get("category")?,
        about_staff_id: r.get("about_staff_id")?,
        about_staff_name: r.get("about_staff_name")?,
        group_id: r.get("group_id")?,
        group_name: r.get("name")?,
        body: r.get("body")?,
        severity: r.get("severity")?,
        handler_id: r.get("handler_id")?,
        handler_name: r.get("handler_name")?,
        overdue: closed_at.is_none() && today > deadline.as_str(),
        deadline,
        steps_done,
        next_step: STEPS.get(steps_done as usize).map(|s| s.to_string()),
        resolution: r.get("resolution")?,
        confirmed: r.get("confirmed")?,
        confirm_note: r.get("confirm_note")?,
        closed_at,
        closed_date: r.get("closed_date")?,
        staff_name: r.get("staff_name")?,
        created_at: r.get("created_at")?,
        business_date: r.get("business_date")?,
        steps: vec![],
    })
}

fn load_complaint(c: &Connection, id: &str, today: &str) -> Result<Complaint> {
    c.query_row(&format!("{COMPLAINT_SELECT} WHERE c.id = ?1"), [id], |r| complaint_from_row(r, today))
        .optional()?
        .ok_or(CoreError::NotFound(Field::Complaint))
}

fn load_steps(c: &Connection, id: &str) -> Result<Vec<ComplaintStep>> {
    let mut stmt = c.prepare(
        "SELECT p.step, p.kind, p.notes, s.display_name, p.at FROM complaint_steps p JOIN staff s ON s.id = p.staff_id
         WHERE p.complaint_id = ?1 ORDER BY p.step",
    )?;
    let rows = stmt
        .query_map([id], |r| Ok(ComplaintStep { step: r.get("step")?, kind: r.get("kind")?, notes: r.get("notes")?, staff_name: r.get("display_name")?, at: r.get("at")? }))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn full_complaint(c: &Connection, id: &str, today: &str) -> Result<Complaint> {
    let mut k = load_complaint(c, id, today)?;
    k.steps = load_steps(c, id)?;
    Ok(k)
}

/// Open complaints past their deadline (all for a manager, one's own otherwise).
pub(crate) fn overdue(c: &Connection, session: &Session, today: &str) -> Result<Vec<Complaint>> {
    let mine = if session.role == Role::Manager { None } else { Some(session.staff_id.clone()) };
    let mut stmt = c.prepare(&format!(
        "{COMPLAINT_SELECT} WHERE c.closed_at IS NULL AND c.deadline < ?1 AND (?2 IS NULL OR c.handler_id = ?2) ORDER BY c.deadline, c.created_at LIMIT 200"
    ))?;
    let rows = stmt.query_map(params![today, mine], |r| complaint_from_row(r, today))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Only the handler, or someone who may handle any complaint (the manager).
fn require_handler(session: &Session, k: &Complaint) -> Result<()> {
    if k.handler_id == session.staff_id { Ok(()) } else { session.require(Action::HandleAnyComplaint) }
}

/// 致谢回访: when the handler records the thank-and-follow-up step, the family hears
/// from the centre (the member's guardians, or the guardian who complained) in the
/// notice language; a complaint from no one on record (walk-in, anonymous) sends nothing.
fn queue_follow_up(w: &mut WriteTx, k: &Complaint) -> Result<()> {
    let recipients = match (&k.member_id, &k.guardian_id) {
        (Some(member), _) => crate::notify::guardians_of(w, member)?,
        (None, Some(guardian)) => w
            .query_row("SELECT id, name, phone FROM guardians WHERE id = ?1", [guardian], |r| {
                Ok(crate::notify::Recipient { guardian_id: Some(r.get("id")?), name: r.get("name")?, phone: r.get("phone")? })
            })
            .optional()?
            .into_iter()
            .collect(),
        (None, None) => vec![],
    };
    if recipients.is_empty() {
        return Ok(());
    }
    let lang = crate::notify::templates::notice_lang(w)?;
    let centre = crate::settings::get(w, "centre_name")?.unwrap_or_default();
    let topic = match (&k.about_staff_name, &k.group_name) {
        (Some(name), _) => format!("{}（{name}）", category_label(&k.category, lang)),
        (None, Some(group)) => format!("{}（{group}）", category_label(&k.category, lang)),
        _ => category_label(&k.category, lang),
    };
    let text = crate::notify::templates::render(
        w,
        "complaint_follow_up",
        &[("centre", centre), ("member", k.from_name.clone()), ("complaint_no", k.complaint_no.clone()), ("topic", topic), ("handler", k.handler_name.clone())],
    )?;
    crate::notify::queue(
        w,
        &crate::notify::NewNotice { kind: "complaint_follow_up", member_id: k.member_id.as_deref(), lead_id: None, session_id: None, text, dedupe_key: Some(format!("complaint:{}", k.id)) },
        &recipients,
    )?;
    Ok(())
}

fn log_complaint(w: &mut WriteTx, id: &str, op: &str) -> Result<Complaint> {
    let today = w.today().to_string();
    let k = full_complaint(w, id, &today)?;
    w.log("complaint", id, op, k.member_id.as_deref(), &k)?;
    Ok(k)
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ComplaintStatRow {
    /// The category, or the coach's staff id (empty: about no one in particular).
    pub key: String,
    pub label: String,
    pub total: i64,
    pub open: i64,
    pub closed: i64,
    pub overdue: i64,
    /// Average days from filing to closing, in tenths of a day (closed ones only).
    pub avg_days_to_close_tenths: Option<i64>,
    pub avg_days_to_close: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ComplaintStats {
    pub from_date: String,
    pub to_date: String,
    pub by_category: Vec<ComplaintStatRow>,
    /// By the coach or staff member complained about, else the class group's coach.
    pub by_coach: Vec<ComplaintStatRow>,
}

// ---------------------------------------------------------------- satisfaction

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ScoreInput {
    pub member_id: String,
    /// `csat` (1–5) or `nps` (0–10).
    pub kind: String,
    pub score: i64,
    /// `term`, `event` or empty.
    #[serde(default)]
    pub occasion: String,
    pub group_id: Option<String>,
    /// Defaults to the class group's coach.
    pub coach_id: Option<String>,
    #[serde(default)]
    pub comment: String,
    /// Business date answered (YYYY-MM-DD); defaults to today.
    #[serde(default)]
    pub date: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct SatisfactionScore {
    pub id: String,
    pub member_id: String,
    pub member_name: String,
    pub kind: String,
    pub score: i64,
    pub occasion: String,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub coach_id: Option<String>,
    pub coach_name: Option<String>,
    pub comment: String,
    pub staff_name: String,
    pub created_at: String,
    pub business_date: String,
}

/// One month × (class group or coach).
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct SatisfactionRow {
    /// YYYY-MM.
    pub month: String,
    /// The group's or coach's id; empty for answers without one.
    pub key: String,
    pub label: String,
    pub csat_count: i64,
    /// CSAT average in hundredths (1.00–5.00 → 100–500).
    pub csat_avg_hundredths: Option<i64>,
    pub csat_avg: String,
    pub nps_count: i64,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
    /// NPS in tenths of a point (−1000 … 1000).
    pub nps_tenths: Option<i64>,
    pub nps: String,
}

const SCORE_SELECT: &str = "SELECT s.id, s.member_id, m.name AS member_name, s.kind, s.score, s.occasion, s.group_id, g.name AS group_name, s.coach_id, co.display_name AS coach_name, s.comment,
        st.display_name AS staff_name, s.created_at, s.business_date
     FROM satisfaction_scores s JOIN members m ON m.id = s.member_id JOIN staff st ON st.id = s.staff_id
     LEFT JOIN class_groups g ON g.id = s.group_id LEFT JOIN staff co ON co.id = s.coach_id";

fn score_from_row(r: &rusqlite::Row) -> rusqlite::Result<SatisfactionScore> {
    Ok(SatisfactionScore {
        id: r.get("id")?,
        member_id: r.get("member_id")?,
        member_name: r.get("member_name")?,
        kind: r.get("kind")?,
        score: r.get("score")?,
        occasion: r.get("occasion")?,
        group_id: r.get("group_id")?,
        group_name: r.get("group_name")?,
        coach_id: r.get("coach_id")?,
        coach_name: r.get("coach_name")?,
        comment: r.get("comment")?,
        staff_name: r.get("staff_name")?,
        created_at: r.get("created_at")?,
        business_date: r.get("business_date")?,
    })
}

fn date_range(from_date: &str, to_date: &str) -> Result<(String, String)> {
    let (from, to) = validate::date_range(from_date, to_date)?;
    Ok((from.to_string(), to.to_string()))
}

impl Core {
    // ------------------------------------------------------------ suggestions

    pub fn suggestion_create(&self, session: &Session, input: SuggestionInput) -> Result<Suggestion> {
        session.require(Action::RecordFeedback)?;
        let body = validate::required_text(Field::Content, &input.body, 1000)?;
        let author_name = validate::optional_text(Field::Author, &input.author_name, 40)?;
        let (member_id, guardian_id) = (blank_none(&input.member_id), blank_none(&input.guardian_id));
        if member_id.is_none() && guardian_id.is_none() && author_name.is_empty() {
            return Err(CoreError::invalid(Field::Author, Rule::Required));
        }
        self.write(session, |w| {
            check_author(w, &member_id, &guardian_id)?;
            let id = crate::new_id();
            let now = w.now_text();
            w.execute(
                "INSERT INTO suggestions (id, body, member_id, guardian_id, author_name, public, staff_id, created_at, business_date, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8)",
                params![id, body, member_id, guardian_id, author_name, input.public, session.staff_id, now, w.today().to_string()],
            )?;
            let s = load_suggestion(w, &id)?;
            w.log("suggestion", &id, "create", member_id.as_deref(), &s)?;
            Ok(s)
        })
    }

    /// Shows a suggestion to members or hides it.
    pub fn suggestion_set_public(&self, session: &Session, suggestion_id: &str, public: bool) -> Result<Suggestion> {
        session.require(Action::RecordFeedback)?;
        self.write(session, |w| {
            load_suggestion(w, suggestion_id)?;
            w.execute("UPDATE suggestions SET public = ?2, updated_at = ?3 WHERE id = ?1", params![suggestion_id, public, w.now_text()])?;
            let s = load_suggestion(w, suggestion_id)?;
            w.log("suggestion", suggestion_id, if public { "show" } else { "hide" }, s.member_id.as_deref(), &s)?;
            Ok(s)
        })
    }

    /// Records (or changes, or with `0` takes back) a member's vote.
    pub fn suggestion_vote(&self, session: &Session, input: VoteInput) -> Result<Suggestion> {
        session.require(Action::RecordFeedback)?;
        validate::int_in(Field::Vote, input.vote, -1, 1)?;
        self.write(session, |w| {
            load_suggestion(w, &input.suggestion_id)?;
            check_author(w, &Some(input.member_id.clone()), &None)?;
            let now = w.now_text();
            let changed = if input.vote == 0 {
                w.execute("DELETE FROM suggestion_votes WHERE suggestion_id = ?1 AND member_id = ?2", params![input.suggestion_id, input.member_id])?
            } else {
                w.execute(
                    "INSERT INTO suggestion_votes (suggestion_id, member_id, vote, staff_id, at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (suggestion_id, member_id) DO UPDATE SET vote = excluded.vote, staff_id = excluded.staff_id, at = excluded.at
                     WHERE vote <> excluded.vote",
                    params![input.suggestion_id, input.member_id, input.vote, session.staff_id, now],
                )?
            };
            let s = load_suggestion(w, &input.suggestion_id)?;
            if changed > 0 {
                w.log(
                    "suggestion_vote",
                    &format!("{}:{}", input.suggestion_id, input.member_id),
                    if input.vote == 0 { "withdraw" } else { "vote" },
                    Some(&input.member_id),
                    &serde_json::json!({ "suggestion_id": input.suggestion_id, "member_id": input.member_id, "vote": input.vote, "up": s.up, "down": s.down }),
                )?;
            }
            Ok(s)
        })
    }

    /// Suggestions, newest first; hidden ones too when `include_hidden`.
    pub fn suggestion_list(&self, session: &Session, include_hidden: bool) -> Result<Vec<Suggestion>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{SUGGESTION_SELECT} WHERE ?1 OR s.public = 1 ORDER BY s.created_at DESC, s.id DESC LIMIT 1000"))?;
            let rows = stmt.query_map([include_hidden], suggestion_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    // ------------------------------------------------------------ complaints

    pub fn complaint_create(&self, session: &Session, input: ComplaintInput) -> Result<Complaint> {
        session.require(Action::RecordFeedback)?;
        let category = one_of(Field::Category, &input.category, CATEGORIES)?;
        let severity = one_of(Field::Severity, &input.severity, SEVERITIES)?;
        let body = validate::required_text(Field::Content, &input.body, 1000)?;
        let (member_id, guardian_id) = (blank_none(&input.member_id), blank_none(&input.guardian_id));
        if member_id.is_none() && guardian_id.is_none() {
            return Err(CoreError::invalid(Field::Member, Rule::Required));
        }
        let (about, group) = (blank_none(&input.about_staff_id), blank_none(&input.group_id));
        let handler = blank_none(&input.handler_id).unwrap_or_else(|| session.staff_id.clone());
        let deadline = match blank_none(&input.deadline) {
            Some(d) => {
                let d = validate::date(Field::Deadline, &d)?;
                if d < self.today() {
                    return Err(CoreError::invalid(Field::Deadline, Rule::NotInPast));
                }
                Some(d)
            }
            None => None,
        };
        self.write(session, |w| {
            check_author(w, &member_id, &guardian_id)?;
            if let Some(a) = &about {
                let ok: bool = w.query_row("SELECT EXISTS(SELECT 1 FROM staff WHERE id = ?1)", [a], |r| r.get(0))?;
                if !ok {
                    return Err(CoreError::invalid(Field::Coach, Rule::Unknown));
                }
            }
            if let Some(g) = &group {
                require_group(w, g)?;
            }
            crate::auth::require_active_staff(w, &handler, Field::Handler)?;
            let today = w.today();
            let days = if severity == "serious" { SERIOUS_DAYS } else { MINOR_DAYS };
            let deadline = deadline.unwrap_or(today + Duration::days(days));
            let id = crate::new_id();
            let no = format!("T{:05}", w.next_counter("complaint_no")?);
            let now = w.now_text();
            w.execute(
                "INSERT INTO complaints (id, complaint_no, member_id, guardian_id, category, about_staff_id, group_id, body, severity, handler_id, deadline,
                                         staff_id, created_at, business_date, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?13)",
                params![id, no, member_id, guardian_id, category, about, group, body, severity, handler, deadline.to_string(), session.staff_id, now, today.to_string()],
            )?;
            log_complaint(w, &id, "create")
        })
    }

    pub fn complaint_get(&self, session: &Session, complaint_id: &str) -> Result<Complaint> {
        session.require(Action::ViewMembers)?;
        let today = self.today().to_string();
        self.read(|c| full_complaint(c, complaint_id, &today))
    }

    /// Complaints, the overdue and nearest deadlines first, then the closed ones newest first.
    pub fn complaint_list(&self, session: &Session, filter: ComplaintFilter) -> Result<Vec<Complaint>> {
        session.require(Action::ViewMembers)?;
        let status = one_of(Field::Status, &filter.status, &["", "open", "overdue", "closed"])?;
        let today = self.today().to_string();
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "{COMPLAINT_SELECT}
                 WHERE (?1 = '' OR (?1 = 'open' AND c.closed_at IS NULL) OR (?1 = 'closed' AND c.closed_at IS NOT NULL)
                        OR (?1 = 'overdue' AND c.closed_at IS NULL AND c.deadline < ?2))
                   AND (?3 IS NULL OR c.handler_id = ?3) AND (?4 IS NULL OR c.member_id = ?4)
                 ORDER BY c.closed_at IS NOT NULL, CASE WHEN c.closed_at IS NULL THEN c.deadline END, c.closed_at DESC, c.created_at DESC LIMIT 1000"
            ))?;
            let rows = stmt
                .query_map(params![status, today, blank_none(&filter.handler_id), blank_none(&filter.member_id)], |r| complaint_from_row(r, &today))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// Records the next handling step; it must be the one named in `kind`.
    pub fn complaint_step(&self, session: &Session, input: StepInput) -> Result<Complaint> {
        session.require(Action::RecordFeedback)?;
        let notes = validate::required_text(Field::Notes, &input.notes, 1000)?;
        self.write(session, |w| {
            let today = w.today().to_string();
            let k = load_complaint(w, &input.complaint_id, &today)?;
            require_handler(session, &k)?;
            if k.closed_at.is_some() {
                return Err(CoreError::Conflict(Conflict::ComplaintClosed));
            }
            let expected = k.next_step.clone().ok_or(CoreError::Conflict(Conflict::ComplaintStepsDone))?;
            if input.kind != expected {
                one_of(Field::Step, &input.kind, STEPS)?;
                return Err(CoreError::Conflict(Conflict::ComplaintStepOutOfOrder { expected }));
            }
            let step = k.steps_done + 1;
            let now = w.now_text();
            w.execute(
                "INSERT INTO complaint_steps (id, complaint_id, step, kind, notes, staff_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![crate::new_id(), k.id, step, expected, notes, session.staff_id, now],
            )?;
            w.execute("UPDATE complaints SET steps_done = ?2, updated_at = ?3 WHERE id = ?1", params![k.id, step, now])?;
            let done = log_complaint(w, &k.id, &format!("step_{expected}"))?;
            if expected == "thank" {
                queue_follow_up(w, &done)?;
            }
            Ok(done)
        })
    }

    /// The customer's confirmation after all five steps, with the resolution; closes it.
    pub fn complaint_confirm(&self, session: &Session, input: ConfirmInput) -> Result<Complaint> {
        session.require(Action::RecordFeedback)?;
        let resolution = validate::required_text(Field::Resolution, &input.resolution, 1000)?;
        let note = validate::optional_text(Field::Notes, &input.note, 500)?;
        self.write(session, |w| {
            let today = w.today().to_string();
            let k = load_complaint(w, &input.complaint_id, &today)?;
            require_handler(session, &k)?;
            if k.closed_at.is_some() {
                return Err(CoreError::Conflict(Conflict::ComplaintClosed));
            }
            if let Some(expected) = k.next_step.clone() {
                return Err(CoreError::Conflict(Conflict::ComplaintStepOutOfOrder { expected }));
            }
            let now = w.now_text();
            w.execute(
                "UPDATE complaints SET resolution = ?2, confirmed = ?3, confirm_note = ?4, closed_at = ?5, closed_date = ?6, updated_at = ?5 WHERE id = ?1",
                params![k.id, resolution, input.confirmed, note, now, today],
            )?;
            log_complaint(w, &k.id, "close")
        })
    }

    /// Hands a complaint to another staff member (manager).
    pub fn complaint_assign(&self, session: &Session, complaint_id: &str, handler_id: &str) -> Result<Complaint> {
        session.require(Action::HandleAnyComplaint)?;
        self.write(session, |w| {
            let today = w.today().to_string();
            let k = load_complaint(w, complaint_id, &today)?;
            if k.closed_at.is_some() {
                return Err(CoreError::Conflict(Conflict::ComplaintClosed));
            }
            crate::auth::require_active_staff(w, handler_id, Field::Handler)?;
            w.execute("UPDATE complaints SET handler_id = ?2, updated_at = ?3 WHERE id = ?1", params![k.id, handler_id, w.now_text()])?;
            log_complaint(w, &k.id, "assign")
        })
    }

    /// Counts by category and by coach for complaints filed in a date range (manager).
    pub fn complaint_stats(&self, session: &Session, from_date: &str, to_date: &str, lang: crate::Lang) -> Result<ComplaintStats> {
        session.require(Action::ViewReports)?;
        let (from, to) = date_range(from_date, to_date)?;
        let today = self.today().to_string();
        self.read(|c| {
            let run = |key_sql: &str| -> Result<Vec<(String, String, i64, i64, i64, i64, i64)>> {
                let mut stmt = c.prepare(&format!(
                    "SELECT {key_sql} AS k, COUNT(*) AS total,
                        SUM(c.closed_at IS NULL) AS open, SUM(c.closed_at IS NOT NULL) AS closed, SUM(c.closed_at IS NULL AND c.deadline < ?3) AS overdue,
                        COALESCE(SUM(CASE WHEN c.closed_at IS NOT NULL THEN CAST(julianday(c.closed_date) - julianday(c.business_date) AS INTEGER) END), 0) AS days_to_close
                     FROM complaints c LEFT JOIN class_groups cg ON cg.id = c.group_id
                     WHERE c.business_date BETWEEN ?1 AND ?2 GROUP BY k ORDER BY COUNT(*) DESC, k"
                ))?;
                let rows = stmt
                    .query_map(params![from, to, today], |r| {
                        Ok((r.get::<_, Option<String>>("k")?.unwrap_or_default(), String::new(), r.get("total")?, r.get("open")?, r.get("closed")?, r.get("overdue")?, r.get("days_to_close")?))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                Ok(rows)
            };
            let to_row = |(key, label, total, open, closed, overdue, days): (String, String, i64, i64, i64, i64, i64)| {
                let avg = ratio_rounded(days, closed, 10);
                ComplaintStatRow { key, label, total, open, closed, overdue, avg_days_to_close_tenths: avg, avg_days_to_close: fixed_text(avg, 1) }
            };
            let by_category = run("c.category")?
                .into_iter()
                .map(|mut r| {
                    r.1 = category_label(&r.0, lang);
                    to_row(r)
                })
                .collect();
            let mut by_coach = vec![];
            for mut r in run("COALESCE(c.about_staff_id, cg.coach_id)")? {
                r.1 = if r.0.is_empty() {
                    lang.pick("（未指明）", "(no one named)")
                } else {
                    c.query_row("SELECT display_name FROM staff WHERE id = ?1", [&r.0], |x| x.get(0))?
                };
                by_coach.push(to_row(r));
            }
            Ok(ComplaintStats { from_date: from.clone(), to_date: to.clone(), by_category, by_coach })
        })
    }

    // ------------------------------------------------------------ satisfaction

    pub fn satisfaction_record(&self, session: &Session, input: ScoreInput) -> Result<SatisfactionScore> {
        session.require(Action::RecordFeedback)?;
        let kind = one_of(Field::ScoreKind, &input.kind, SCORE_KINDS)?;
        let (min, max) = if kind == "csat" { (1, 5) } else { (0, 10) };
        validate::int_in(Field::Score, input.score, min, max)?;
        let occasion = one_of(Field::Occasion, &input.occasion, &OCCASIONS)?;
        let comment = validate::optional_text(Field::Notes, &input.comment, 500)?;
        let (group, coach) = (blank_none(&input.group_id), blank_none(&input.coach_id));
        let date = match blank_none(&input.date) {
            Some(d) => {
                let d = validate::date(Field::Date, &d)?;
                if d > self.today() {
                    return Err(CoreError::invalid(Field::Date, Rule::NotInFuture));
                }
                Some(d)
            }
            None => None,
        };
        self.write(session, |w| {
            check_author(w, &Some(input.member_id.clone()), &None)?;
            let group_coach = match &group {
                Some(g) => require_group(w, g)?,
                None => None,
            };
            if let Some(co) = &coach {
                let ok: bool = w.query_row("SELECT EXISTS(SELECT 1 FROM staff WHERE id = ?1)", [co], |r| r.get(0))?;
                if !ok {
                    return Err(CoreError::invalid(Field::Coach, Rule::Unknown));
                }
            }
            let coach = coach.clone().or(group_coach);
            let date = date.unwrap_or(w.today()).to_string();
            insert_score(w, &input.member_id, kind, input.score, occasion, group.as_deref(), coach.as_deref(), &comment, &session.staff_id, &date)
        })
    }

    /// Answers recorded in a date range, newest first.
    pub fn satisfaction_list(&self, session: &Session, from_date: &str, to_date: &str) -> Result<Vec<SatisfactionScore>> {
        session.require(Action::ViewMembers)?;
        let (from, to) = date_range(from_date, to_date)?;
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{SCORE_SELECT} WHERE s.business_date BETWEEN ?1 AND ?2 ORDER BY s.business_date DESC, s.created_at DESC LIMIT 1000"))?;
            let rows = stmt.query_map(params![from, to], score_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// CSAT and NPS per month and class group (`by` = `group`) or coach (`coach`), or per
    /// month alone (`all`), for answers in a date range (manager).
    pub fn satisfaction_results(&self, session: &Session, from_date: &str, to_date: &str, by: &str, lang: crate::Lang) -> Result<Vec<SatisfactionRow>> {
        session.require(Action::ViewReports)?;
        let by = one_of(Field::Report, by, &["group", "coach", "all"])?;
        let (from, to) = date_range(from_date, to_date)?;
        let (key, label) = match by {
            "group" => ("s.group_id", "g.name"),
            "coach" => ("s.coach_id", "co.display_name"),
            _ => ("NULL", "NULL"),
        };
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT substr(s.business_date, 1, 7) AS month, {key} AS k, MAX({label}) AS label,
                    SUM(s.kind = 'csat') AS csat_count, SUM(CASE WHEN s.kind = 'csat' THEN s.score ELSE 0 END) AS csat_sum,
                    SUM(s.kind = 'nps') AS nps_count, SUM(s.kind = 'nps' AND s.score >= 9) AS promoters, SUM(s.kind = 'nps' AND s.score BETWEEN 7 AND 8) AS passives,
                    SUM(s.kind = 'nps' AND s.score <= 6) AS detractors
                 FROM satisfaction_scores s LEFT JOIN class_groups g ON g.id = s.group_id LEFT JOIN staff co ON co.id = s.coach_id
                 WHERE s.business_date BETWEEN ?1 AND ?2
                 GROUP BY month, k ORDER BY month, k IS NULL, MAX({label})"
            ))?;
            let none = match by {
                "all" => lang.pick("全部", "All"),
                "group" => lang.pick("（未指定班级）", "(no class)"),
                _ => lang.pick("（未指定教练）", "(no coach)"),
            };
            let rows = stmt
                .query_map(params![from, to], |r| {
                    let csat_count: i64 = r.get("csat_count")?;
                    let csat_sum: i64 = r.get("csat_sum")?;
                    let (nps_count, promoters, passives, detractors): (i64, i64, i64, i64) = (r.get("nps_count")?, r.get("promoters")?, r.get("passives")?, r.get("detractors")?);
                    let csat = ratio_rounded(csat_sum, csat_count, 100);
                    let nps = nps_tenths(promoters, detractors, nps_count);
                    Ok(SatisfactionRow {
                        month: r.get("month")?,
                        key: r.get::<_, Option<String>>("k")?.unwrap_or_default(),
                        label: r.get::<_, Option<String>>("label")?.unwrap_or_else(|| none.clone()),
                        csat_count,
                        csat_avg_hundredths: csat,
                        csat_avg: fixed_text(csat, 2),
                        nps_count,
                        promoters,
                        passives,
                        detractors,
                        nps_tenths: nps,
                        nps: fixed_text(nps, 1),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }
}

impl Core {
    /// The manager's feedback statistics as CSV, the same rows as the screen: `complaints`
    /// (by category, then by coach, one section column) or `satisfaction` (CSAT and NPS per
    /// month by class group or coach, as `by` picks).
    pub fn feedback_stats_csv(&self, session: &Session, table: &str, from_date: &str, to_date: &str, by: &str, lang: crate::Lang, bom: bool) -> Result<crate::export::CsvFile> {
        use crate::export::Cell;
        let num = |n: i64| Cell::Number(n.to_string());
        let (what, header, rows): (String, Vec<String>, Vec<Vec<Cell>>) = match table {
            "complaints" => {
                let stats = self.complaint_stats(session, from_date, to_date, lang)?;
                let header = [("分组", "Section"), ("项目", "Item"), ("投诉数", "Complaints"), ("处理中", "Open"), ("已结案", "Closed"), ("已逾期", "Overdue"), ("平均结案天数", "Average days to close")]
                    .map(|(zh, en)| lang.pick(zh, en))
                    .to_vec();
                let sections = [(lang.pick("按分类", "By category"), &stats.by_category), (lang.pick("按教练", "By coach"), &stats.by_coach)];
                let rows = sections
                    .iter()
                    .flat_map(|(section, rows)| {
                        rows.iter().map(move |r| {
                            vec![Cell::Text(section.clone()), Cell::Text(r.label.clone()), num(r.total), num(r.open), num(r.closed), num(r.overdue), Cell::Number(r.avg_days_to_close.clone())]
                        })
                    })
                    .collect();
                (lang.pick("投诉统计", "complaints"), header, rows)
            }
            "satisfaction" => {
                let results = self.satisfaction_results(session, from_date, to_date, by, lang)?;
                let header = [("月份", "Month"), ("班级/教练", "Class or coach"), ("CSAT 份数", "CSAT answers"), ("CSAT 平均", "CSAT average"), ("NPS 份数", "NPS answers"), ("推荐者", "Promoters"), ("中立者", "Passives"), ("贬损者", "Detractors"), ("NPS", "NPS")]
                    .map(|(zh, en)| lang.pick(zh, en))
                    .to_vec();
                let rows = results
                    .iter()
                    .map(|r| {
                        vec![Cell::Text(r.month.clone()), Cell::Text(r.label.clone()), num(r.csat_count), Cell::Number(r.csat_avg.clone()), num(r.nps_count), num(r.promoters), num(r.passives), num(r.detractors), Cell::Number(r.nps.clone())]
                    })
                    .collect();
                (lang.pick("满意度", "satisfaction"), header, rows)
            }
            _ => return Err(CoreError::invalid(Field::Report, Rule::OneOf { allowed: vec!["complaints".into(), "satisfaction".into()] })),
        };
        let bytes = crate::export::csv_bytes(&header, &rows, bom, &self.csv_footer(lang))?;
        Ok(crate::export::CsvFile { file_name: format!("{what}-{from_date}_{to_date}.csv"), bytes, rows: rows.len() as i64 })
    }
}

pub fn category_label(category: &str, lang: crate::Lang) -> String {
    crate::vocab::ComplaintCategory::label_of(category, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(ratio_rounded(1, 16, 1000), Some(63));
        assert_eq!(ratio_rounded(-1, 16, 1000), Some(-63));
        assert_eq!(ratio_rounded(1, 3, 1000), Some(333));
        assert_eq!(ratio_rounded(2, 3, 1000), Some(667));
        assert_eq!(ratio_rounded(5, 0, 1000), None);
        assert_eq!(fixed_text(Some(-333), 1), "-33.3");
        assert_eq!(fixed_text(Some(-3), 1), "-0.3");
        assert_eq!(fixed_text(Some(425), 2), "4.25");
        assert_eq!(fixed_text(None, 1), "");
    }
}

/// One answer, logged. Every answer is written here (the survey form and a return visit's).
#[allow(clippy::too_many_arguments)]
fn insert_score(
    w: &mut WriteTx, member_id: &str, kind: &str, score: i64, occasion: &str, group: Option<&str>, coach: Option<&str>, comment: &str, staff_id: &str, date: &str,
) -> Result<SatisfactionScore> {
    let id = crate::new_id();
    w.execute(
        "INSERT INTO satisfaction_scores (id, member_id, kind, score, occasion, group_id, coach_id, comment, staff_id, created_at, business_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![id, member_id, kind, score, occasion, group, coach, comment, staff_id, w.now_text(), date],
    )?;
    let s = w.query_row(&format!("{SCORE_SELECT} WHERE s.id = ?1"), [&id], score_from_row)?;
    w.log("satisfaction", &id, "record", Some(member_id), &s)?;
    Ok(s)
}

/// The CSAT answer a family gave on a return visit (`visits.rs`), counted with the others;
/// its id. The comment is what was said, cut to the survey's 500 characters.
pub(crate) fn record_visit_score(w: &mut WriteTx, member_id: &str, score: i64, said: &str, staff_id: &str) -> Result<String> {
    let comment: String = said.chars().take(500).collect();
    let date = w.today().to_string();
    Ok(insert_score(w, member_id, "csat", score, "", None, None, &comment, staff_id, &date)?.id)
}
