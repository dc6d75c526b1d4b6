//! Return visits 回访: the contact log with enrolled families (a call, a visit, WeChat, a
//! message — who, when, what was said, the family's mood, the next step), shared by every
//! role and on the member's timeline; and the visits planned for them.
//!
//! Plans come from the manager's rules (Settings → 回访规则), each with a number of days
//! and an owner (the member's consultant, or anyone of a role):
//! - `first_lesson`: N days after the member's first lesson attended;
//! - `enrolment`: N days after a new (not renewal) contract starts;
//! - `complaint_closed`: N days after a complaint about the family is closed;
//! - `contract_ending`: N days before a contract ends, unless renewed by then;
//! - `top_tier` (tier care 等级关怀): every N days for members of a tier, N from the tier's
//!   care plan (Settings → 会员等级 → 关怀计划), the top tier falling back to the rule's days;
//! - `next_step`: the date a visit named for the next one (its recorder's).
//!
//! The planner (`Core::plan_visits`, run by the upkeep round and after the demo is made)
//! plans what falls due within the coming week (`AHEAD` days) and what fell due within
//! the last `BEHIND` days — so a rule switched on does not bury the desk under years of
//! visits, and a desk switched off for a fortnight still plans what it missed. Each rule
//! plans once per source (UNIQUE in SQL): running it again plans nothing. It cancels open
//! plans that no longer make sense (the member left or was merged; a contract ending has
//! been renewed or refunded).
//!
//! A visit answers every open plan of the member due by the end of the week (one call to
//! a family covers the 7th-day visit and the renewal visit alike). "The member's
//! consultant" is the named owner 专属顾问 of their tier's care plan if it has an active one,
//! else the one a hand-over named, else the consultant of their newest contract that names
//! one, else the lead's; without one, the front desk (clerks) owns the visit.

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Lang, Result, Rule};
use crate::vocab::{FollowUpChannel, VisitAssignee, VisitMood, VisitRuleKind};
use crate::{settings, validate};
use chrono::{Duration, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The planner looks this many days ahead: the home screen's "this week".
pub const AHEAD: i64 = 6;
/// …and plans what fell due this many days ago at most.
pub const BEHIND: i64 = 30;

/// One of the manager's rules.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct VisitRule {
    pub kind: VisitRuleKind,
    pub enabled: bool,
    /// Days after (before, for `contract_ending`; every, for `top_tier`).
    pub days: i64,
    pub assign_to: VisitAssignee,
}

/// The rules a new centre starts with (each may be switched off or changed).
pub fn default_rules() -> Vec<VisitRule> {
    use VisitAssignee::Consultant;
    let rule = |kind, days, assign_to| VisitRule { kind, enabled: true, days, assign_to };
    vec![
        // The front desk knows how the first class went; the consultant owns the sale.
        rule(VisitRuleKind::FirstLesson, 7, VisitAssignee::Clerk),
        rule(VisitRuleKind::Enrolment, 30, Consultant),
        rule(VisitRuleKind::ComplaintClosed, 3, VisitAssignee::Manager),
        rule(VisitRuleKind::ContractEnding, 30, Consultant),
        rule(VisitRuleKind::TopTier, 28, Consultant),
    ]
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ReturnVisit {
    pub id: String,
    pub member_id: String,
    pub channel: String,
    pub content: String,
    pub mood: String,
    pub next_step: String,
    /// The CSAT answer (1–5) given on this visit.
    pub satisfaction: Option<i64>,
    pub staff_id: String,
    pub staff_name: String,
    pub at: String,
    pub business_date: String,
}

#[derive(Debug, Clone, Deserialize, TS, Default)]
#[ts(export)]
pub struct VisitInput {
    pub channel: String,
    pub content: String,
    pub mood: String,
    #[serde(default)]
    pub next_step: String,
    /// CSAT 1–5, when the family gave one.
    pub satisfaction: Option<i64>,
    /// The planned visit this answers (from a due list); any other due this week is answered too.
    pub plan_id: Option<String>,
    /// A date for the next visit: planned for whoever records this one.
    pub next_visit: Option<String>,
}

/// A planned visit as the lists show it.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct VisitPlan {
    pub id: String,
    pub member_id: String,
    pub member_name: String,
    pub member_no: Option<String>,
    pub guardian_phone: Option<String>,
    pub rule: String,
    pub due_date: String,
    pub assignee_id: Option<String>,
    /// Anyone of this role makes it (when no one is named).
    pub assignee_role: Option<String>,
    /// The owner's name, or (none named) the role's label.
    pub assignee_name: String,
    pub status: String,
    pub overdue: bool,
}

/// A member's return visits, newest first, and the visits planned for them.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct MemberVisits {
    pub visits: Vec<ReturnVisit>,
    pub open_plans: Vec<VisitPlan>,
}

/// What one planner run did.
#[derive(Debug, Clone, Default, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct PlanRun {
    pub planned: i64,
    pub cancelled: i64,
}

const VISIT_SELECT: &str = "SELECT v.id, v.member_id, v.channel, v.content, v.mood, v.next_step, sc.score AS satisfaction, v.staff_id,
    COALESCE(s.display_name, '') AS staff_name, v.at, v.business_date
    FROM return_visits v LEFT JOIN staff s ON s.id = v.staff_id LEFT JOIN satisfaction_scores sc ON sc.id = v.satisfaction_id";

fn visit_from_row(r: &Row) -> rusqlite::Result<ReturnVisit> {
    Ok(ReturnVisit {
        id: r.get("id")?,
        member_id: r.get("member_id")?,
        channel: r.get("channel")?,
        content: r.get("content")?,
        mood: r.get("mood")?,
        next_step: r.get("next_step")?,
        satisfaction: r.get("satisfaction")?,
        staff_id: r.get("staff_id")?,
        staff_name: r.get("staff_name")?,
        at: r.get("at")?,
        business_date: r.get("business_date")?,
    })
}

fn plan_select() -> String {
    format!(
        "SELECT p.id, p.member_id, m.name AS member_name, m.member_no, ({phone}) AS guardian_phone, p.rule, p.due_date, p.assignee_id,
            s.display_name AS assignee_name, p.assignee_role, p.status
         FROM visit_plans p JOIN members m ON m.id = p.member_id LEFT JOIN staff s ON s.id = p.assignee_id",
        phone = crate::members::PRIMARY_PHONE_SQL
    )
}

fn plan_from_row(r: &Row, today: &str, lang: Lang) -> rusqlite::Result<VisitPlan> {
    let due_date: String = r.get("due_date")?;
    let status: String = r.get("status")?;
    let role: Option<String> = r.get("assignee_role")?;
    let assignee_name = match r.get::<_, Option<String>>("assignee_name")? {
        Some(n) => n,
        None => role.as_deref().map(|x| VisitAssignee::label_of(x, lang)).unwrap_or_default(),
    };
    Ok(VisitPlan {
        id: r.get("id")?,
        member_id: r.get("member_id")?,
        member_name: r.get("member_name")?,
        member_no: r.get("member_no")?,
        guardian_phone: r.get("guardian_phone")?,
        rule: r.get("rule")?,
        overdue: status == "open" && due_date.as_str() < today,
        due_date,
        assignee_id: r.get("assignee_id")?,
        assignee_role: role,
        assignee_name,
        status,
    })
}

/// The rules as saved, with any rule not saved yet at its default.
fn load_rules(c: &Connection) -> Result<Vec<VisitRule>> {
    let saved: Vec<VisitRule> = settings::get(c, "visit_rules")?.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    Ok(default_rules().into_iter().map(|d| saved.iter().find(|s| s.kind == d.kind).cloned().unwrap_or(d)).collect())
}

/// "The plan is mine": mine by name, or my role's when no one is named; a manager's are all.
const MINE_SQL: &str = "(?1 = 'manager' OR p.assignee_id = ?2 OR (p.assignee_id IS NULL AND p.assignee_role = ?1))";

impl Core {
    pub fn visit_rules(&self, session: &Session) -> Result<Vec<VisitRule>> {
        session.require(Action::ViewMembers)?;
        self.read(load_rules)
    }

    /// Saves the manager's rules. Plans already made stay; the next run plans by the new rules.
    pub fn visit_rules_update(&self, session: &Session, rules: Vec<VisitRule>) -> Result<Vec<VisitRule>> {
        session.require(Action::EditSettings)?;
        let mut v = validate::Checks::new();
        let settable: Vec<VisitRuleKind> = default_rules().iter().map(|d| d.kind).collect();
        for r in &rules {
            v.add_result(validate::int_in(Field::VisitDays, r.days, 1, 365).map(drop));
            // A visit's next step and a churn warning's visit are planned by staff, not by a rule.
            if !settable.contains(&r.kind) {
                v.add(CoreError::invalid(Field::VisitRule, Rule::OneOf { allowed: settable.iter().map(|k| k.as_str().to_string()).collect() }));
            }
        }
        v.finish()?;
        self.write(session, |w| {
            let saved = load_rules(w)?;
            let mut merged = saved.clone();
            for r in rules {
                if let Some(slot) = merged.iter_mut().find(|m| m.kind == r.kind) {
                    *slot = r;
                }
            }
            if merged != saved {
                settings::put(w, "visit_rules", &serde_json::to_string(&merged).unwrap_or_default())?;
            }
            load_rules(w)
        })
    }

    /// Records a return visit (any staff member).
    pub fn visit_record(&self, session: &Session, member_id: &str, input: VisitInput) -> Result<ReturnVisit> {
        session.require(Action::RecordVisits)?;
        let mut v = validate::Checks::new();
        let channel = v.take(FollowUpChannel::parse(&input.channel).map(|c| c.as_str()));
        let mood = v.take(VisitMood::parse(&input.mood).map(|c| c.as_str()));
        let content = v.take(validate::required_text(Field::VisitContent, &input.content, 500));
        let next_step = v.take(validate::optional_text(Field::NextStep, &input.next_step, 200));
        if let Some(score) = input.satisfaction {
            v.add_result(validate::int_in(Field::Score, score, 1, 5).map(drop));
        }
        let next_visit = v.take(validate::optional_date(Field::NextVisit, &input.next_visit));
        v.finish()?;
        let plan_id = input.plan_id.filter(|p| !p.trim().is_empty());
        self.write(session, |w| {
            let member = crate::members::load_member(w, member_id)?;
            if member.merged_into.is_some() {
                return Err(CoreError::Conflict(Conflict::MemberAlreadyMerged));
            }
            if member.status == "applicant" {
                return Err(CoreError::Conflict(Conflict::MemberNotApproved));
            }
            let today = w.today();
            if next_visit.is_some_and(|d| d <= today) {
                return Err(CoreError::invalid(Field::NextVisit, Rule::NotInPast));
            }
            if let Some(p) = &plan_id {
                let status: Option<String> =
                    w.query_row("SELECT status FROM visit_plans WHERE id = ?1 AND member_id = ?2", [p, member_id], |r| r.get(0)).optional()?;
                match status.as_deref() {
                    None => return Err(CoreError::NotFound(Field::VisitPlan)),
                    Some("open") => {}
                    Some(_) => return Err(CoreError::Conflict(Conflict::VisitPlanClosed)),
                }
            }
            let id = crate::new_id();
            let now = w.now_text();
            let satisfaction_id = match input.satisfaction {
                Some(score) => Some(
                    crate::feedback::record_visit_score(w, member_id, score, &content, &session.staff_id)?,
                ),
                None => None,
            };
            w.execute(
                "INSERT INTO return_visits (id, member_id, channel, content, mood, next_step, satisfaction_id, staff_id, at, business_date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![id, member_id, channel, content, mood, next_step, satisfaction_id, session.staff_id, now, today.to_string()],
            )?;
            let visit = w.query_row(&format!("{VISIT_SELECT} WHERE v.id = ?1"), [&id], visit_from_row)?;
            w.log("return_visit", &id, "record", Some(member_id), &visit)?;

            let week_end = (today + Duration::days(AHEAD)).to_string();
            let answered: Vec<String> = w
                .prepare("SELECT id FROM visit_plans WHERE member_id = ?1 AND status = 'open' AND (due_date <= ?2 OR id = ?3) ORDER BY due_date")?
                .query_map(params![member_id, week_end, plan_id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for p in answered {
                w.execute("UPDATE visit_plans SET status = 'done', visit_id = ?2, updated_at = ?3 WHERE id = ?1", params![p, id, now])?;
                log_plan(w, &p, "done")?;
            }
            if let Some(d) = next_visit {
                insert_plan(w, member_id, VisitRuleKind::NextStep, &id, d, Some(&session.staff_id), None)?;
            }
            Ok(visit)
        })
    }

    /// A member's visits and open plans (anyone who may see members).
    pub fn member_visits(&self, session: &Session, member_id: &str, lang: Lang) -> Result<MemberVisits> {
        session.require(Action::ViewMembers)?;
        let today = self.today().to_string();
        self.read(|c| {
            crate::members::load_member(c, member_id)?;
            let visits = c
                .prepare(&format!("{VISIT_SELECT} WHERE v.member_id = ?1 ORDER BY v.at DESC LIMIT 200"))?
                .query_map([member_id], visit_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            let open_plans = c
                .prepare(&format!("{} WHERE p.member_id = ?1 AND p.status = 'open' ORDER BY p.due_date", plan_select()))?
                .query_map([member_id], |r| plan_from_row(r, &today, lang))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(MemberVisits { visits, open_plans })
        })
    }

    /// The visits due by the end of the week (`AHEAD` days) that are `session`'s to make
    /// (a manager: everyone's), overdue first; at most `limit`.
    pub fn visits_due(&self, session: &Session, lang: Lang, limit: i64) -> Result<Vec<VisitPlan>> {
        session.require(Action::ViewMembers)?;
        let today = self.today();
        self.read(|c| due(c, session, today, lang, limit))
    }

    /// One planner run (the upkeep round; the demo). Attributed to no one: the system.
    pub fn plan_visits(&self) -> Result<PlanRun> {
        self.write_as(None, plan)
    }
}

pub(crate) fn due(c: &Connection, session: &Session, today: NaiveDate, lang: Lang, limit: i64) -> Result<Vec<VisitPlan>> {
    let today_text = today.to_string();
    let week_end = (today + Duration::days(AHEAD)).to_string();
    let rows = c
        .prepare(&format!(
            "{} WHERE p.status = 'open' AND p.due_date <= ?3 AND m.merged_into IS NULL AND m.status <> 'left' AND {MINE_SQL} ORDER BY p.due_date, m.name LIMIT ?4",
            plan_select()
        ))?
        .query_map(params![session.role.as_str(), session.staff_id, week_end, limit.clamp(1, 1000)], |r| plan_from_row(r, &today_text, lang))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(crate) fn log_plan(w: &mut WriteTx, id: &str, op: &str) -> Result<()> {
    let (plan, member_id): (serde_json::Value, String) = w.query_row(
        "SELECT json_object('id', id, 'member_id', member_id, 'rule', rule, 'source_id', source_id, 'due_date', due_date, 'assignee_id', assignee_id,
            'assignee_role', assignee_role, 'status', status, 'visit_id', visit_id, 'note', note), member_id FROM visit_plans WHERE id = ?1",
        [id],
        |r| Ok((serde_json::from_str(&r.get::<_, String>(0)?).unwrap_or_default(), r.get(1)?)),
    )?;
    w.log("visit_plan", id, op, Some(&member_id), &plan)
}

/// Plans one visit unless this rule already planned one for this source: the new plan's id.
pub(crate) fn insert_plan(w: &mut WriteTx, member_id: &str, rule: VisitRuleKind, source: &str, due: NaiveDate, assignee: Option<&str>, role: Option<&str>) -> Result<Option<String>> {
    let id = crate::new_id();
    let now = w.now_text();
    let n = w.execute(
        "INSERT INTO visit_plans (id, member_id, rule, source_id, due_date, assignee_id, assignee_role, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8, ?8) ON CONFLICT (rule, member_id, source_id) DO NOTHING",
        params![id, member_id, rule.as_str(), source, due.to_string(), assignee, role, now],
    )?;
    if n == 0 {
        return Ok(None);
    }
    log_plan(w, &id, "plan")?;
    Ok(Some(id))
}

/// "Current" members: visits are for families still with the centre.
const CURRENT: &str = "m.status NOT IN ('left','applicant') AND m.merged_into IS NULL";

/// The member's consultant (SQL over `m`, active staff only): the one a hand-over named, else the
/// newest contract's that names one, else the lead's.
pub(crate) const CONSULTANT_SQL: &str = "COALESCE((SELECT mc.consultant_id FROM member_consultants mc JOIN staff cs ON cs.id = mc.consultant_id AND cs.active = 1 WHERE mc.member_id = m.id),
    (SELECT k.consultant_id FROM contracts k JOIN staff ks ON ks.id = k.consultant_id AND ks.active = 1
        WHERE k.member_id = m.id AND k.status <> 'refunded' ORDER BY k.start_date DESC, k.created_at DESC LIMIT 1),
    (SELECT l.consultant_id FROM leads l JOIN staff ls ON ls.id = l.consultant_id AND ls.active = 1 WHERE l.id = m.lead_id))";

fn plan(w: &mut WriteTx) -> Result<PlanRun> {
    let today = w.today();
    let mut run = PlanRun::default();
    run.cancelled = cancel_moot(w)?;
    let (lo, hi) = (today - Duration::days(BEHIND), today + Duration::days(AHEAD));
    let rules = load_rules(w)?;
    for rule in rules.iter().filter(|r| r.enabled) {
        let n = rule.days;
        let shift = |d: NaiveDate, days: i64| (d + Duration::days(days)).to_string();
        // (member, source, due date) for every candidate of the rule in the window.
        let sql = match rule.kind {
            VisitRuleKind::FirstLesson => format!(
                "SELECT a.member_id, a.member_id, date(MIN(s.date), '+{n} days')
                 FROM class_sessions s JOIN attendance a ON a.session_id = s.id JOIN members m ON m.id = a.member_id
                 WHERE s.date BETWEEN ?1 AND ?2 AND a.mark IN ('present','late','makeup') AND {CURRENT}
                   AND NOT EXISTS (SELECT 1 FROM attendance a2 JOIN class_sessions s2 ON s2.id = a2.session_id
                                   WHERE a2.member_id = a.member_id AND s2.date < ?1 AND a2.mark IN ('present','late','makeup'))
                 GROUP BY a.member_id"
            ),
            VisitRuleKind::Enrolment => format!(
                "SELECT k.member_id, k.id, date(k.start_date, '+{n} days') FROM contracts k JOIN members m ON m.id = k.member_id
                 WHERE k.renewal_of IS NULL AND k.status <> 'refunded' AND k.start_date BETWEEN ?1 AND ?2 AND {CURRENT}"
            ),
            VisitRuleKind::ComplaintClosed => format!(
                "SELECT k.member_id, k.id, date(k.closed_date, '+{n} days') FROM complaints k JOIN members m ON m.id = k.member_id
                 WHERE k.closed_date BETWEEN ?1 AND ?2 AND {CURRENT}"
            ),
            VisitRuleKind::ContractEnding => format!(
                "SELECT k.member_id, k.id, date(k.end_date, '-{n} days') FROM contracts k JOIN members m ON m.id = k.member_id
                 WHERE k.status = 'active' AND k.end_date BETWEEN ?1 AND ?2 AND {CURRENT}
                   AND NOT EXISTS (SELECT 1 FROM contracts r WHERE r.member_id = k.member_id AND r.id <> k.id AND r.status <> 'refunded' AND r.end_date > k.end_date)"
            ),
            VisitRuleKind::TopTier => {
                run.planned += plan_tier_care(w, rule, today)?;
                continue;
            }
            VisitRuleKind::NextStep | VisitRuleKind::Churn => continue,
        };
        // The trigger dates whose visit falls due within [lo, hi].
        let (from, to) = match rule.kind {
            VisitRuleKind::ContractEnding => (shift(lo, n), shift(hi, n)),
            _ => (shift(lo, -n), shift(hi, -n)),
        };
        let candidates: Vec<(String, String, String)> = {
            let mut stmt = w.prepare(&sql)?;
            let mut rows = stmt.query([&from, &to])?;
            let mut out = vec![];
            while let Some(r) = rows.next()? {
                out.push((r.get(0)?, r.get(1)?, r.get(2)?));
            }
            out
        };
        for (member_id, source, due_text) in candidates {
            let Ok(due) = NaiveDate::parse_from_str(&due_text, "%Y-%m-%d") else { continue };
            if due < lo || due > hi {
                continue;
            }
            let (assignee, role) = owner(w, &member_id, rule.assign_to)?;
            if insert_plan(w, &member_id, rule.kind, &source, due, assignee.as_deref(), role)?.is_some() {
                run.planned += 1;
            }
        }
    }
    Ok(run)
}

/// Tier care 等级关怀: each tier whose care plan has days between visits (the top tier
/// falls back to the rule's days) plans a visit that many days after the member's last
/// one, or today if none — never in the past — for its named owner if it has one, else
/// as the rule assigns. One open plan per member at a time. Returns how many it planned.
fn plan_tier_care(w: &mut WriteTx, rule: &VisitRule, today: NaiveDate) -> Result<i64> {
    let hi = today + Duration::days(AHEAD);
    let mut planned = 0;
    for (tier, days, tier_owner) in crate::tiers::care_plans(w, rule.days)? {
        if days <= 0 {
            continue;
        }
        let candidates: Vec<(String, String)> = {
            let mut stmt = w.prepare(&format!(
                "SELECT m.id, COALESCE(date((SELECT MAX(v.business_date) FROM return_visits v WHERE v.member_id = m.id), '+{days} days'), ?2)
                 FROM member_tiers t JOIN members m ON m.id = t.member_id
                 WHERE t.level > 0 AND t.name_zh = ?1 AND m.status = 'active' AND m.merged_into IS NULL
                   AND NOT EXISTS (SELECT 1 FROM visit_plans p WHERE p.member_id = m.id AND p.rule = 'top_tier' AND p.status = 'open')"
            ))?;
            let rows = stmt.query_map(params![tier, today.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (member_id, due_text) in candidates {
            let Ok(due) = NaiveDate::parse_from_str(&due_text, "%Y-%m-%d") else { continue };
            // Overdue since the last visit: due today (the week's work), not in the past.
            let due = due.max(today);
            if due > hi {
                continue;
            }
            let (assignee, role) = match &tier_owner {
                Some(id) => (Some(id.clone()), None),
                None => owner(w, &member_id, rule.assign_to)?,
            };
            if insert_plan(w, &member_id, rule.kind, &due.to_string(), due, assignee.as_deref(), role)?.is_some() {
                planned += 1;
            }
        }
    }
    Ok(planned)
}

/// Who makes a visit planned by a rule: a named staff member, or anyone of a role. "The
/// consultant" of a family whose tier names an owner 专属顾问 is that owner.
fn owner(c: &Connection, member_id: &str, assign_to: VisitAssignee) -> Result<(Option<String>, Option<&'static str>)> {
    Ok(match assign_to {
        VisitAssignee::Consultant => {
            let id = match crate::tiers::owner_of(c, member_id)? {
                Some(id) => Some(id),
                None => c.query_row(&format!("SELECT {CONSULTANT_SQL} FROM members m WHERE m.id = ?1"), [member_id], |r| r.get(0))?,
            };
            match id {
                Some(id) => (Some(id), None),
                None => (None, Some("clerk")),
            }
        }
        VisitAssignee::Clerk => (None, Some("clerk")),
        VisitAssignee::Manager => (None, Some("manager")),
        VisitAssignee::Coach => (None, Some("coach")),
    })
}

/// Cancels open plans that no longer make sense; returns how many.
fn cancel_moot(w: &mut WriteTx) -> Result<i64> {
    let moot: Vec<(String, String)> = {
        let mut out = vec![];
        let mut stmt = w.prepare(
            "SELECT p.id, CASE WHEN m.merged_into IS NOT NULL OR m.status = 'left' THEN 'member_left' ELSE 'renewed' END
             FROM visit_plans p JOIN members m ON m.id = p.member_id
             WHERE p.status = 'open' AND (m.merged_into IS NOT NULL OR m.status = 'left'
                OR (p.rule = 'contract_ending' AND EXISTS (
                    SELECT 1 FROM contracts k WHERE k.id = p.source_id AND (k.status = 'refunded' OR EXISTS (
                        SELECT 1 FROM contracts r WHERE r.member_id = k.member_id AND r.id <> k.id AND r.status <> 'refunded' AND r.end_date > k.end_date)))))",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            out.push((r.get(0)?, r.get(1)?));
        }
        out
    };
    let now = w.now_text();
    for (id, why) in &moot {
        w.execute("UPDATE visit_plans SET status = 'cancelled', note = ?2, updated_at = ?3 WHERE id = ?1", params![id, why, now])?;
        log_plan(w, id, "cancel")?;
    }
    Ok(moot.len() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_default_and_the_plans_staff_make_are_not_rules() {
        let kinds: Vec<_> = default_rules().iter().map(|r| r.kind).collect();
        for k in VisitRuleKind::ALL {
            assert_eq!(kinds.contains(k), !matches!(k, VisitRuleKind::NextStep | VisitRuleKind::Churn), "{k:?}");
        }
    }
}
