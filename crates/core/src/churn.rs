//! Churn warnings 流失预警: members at risk of leaving, each with the reasons in words.
//!
//! A current member (not left, not an applicant, not merged) is at risk on a day when
//! any of these holds (the thresholds are the constants below):
//! - `attendance_drop`: lessons attended in the last 4 weeks are at most half their usual
//!   rate — the 12 weeks before those 4, at least `USUAL_MIN` lessons then;
//! - `no_lesson`: no lesson for `NO_LESSON_DAYS` days while a contract runs (started that
//!   long ago, not ended, lessons left, not paused today);
//! - `frequent_leave`: `LEAVE_MIN` or more leaves (that stand) in the last 4 weeks;
//! - `complaint`: a complaint from the family open, or closed within `COMPLAINT_DAYS`;
//! - `low_score`: a CSAT of 2 or less, or an NPS of 6 or less, within `SCORE_DAYS`;
//! - `renewal`: due for renewal (`renewals::due`, the desk's window) and not renewed.
//!
//! `Core::churn_scan` (the upkeep round; the demo) keeps one flag per member at risk in
//! `churn_flags`, writing only changes: a new flag, changed reasons, a flag cleared when
//! no reason is left, a hidden flag back on the list when its time is up and a reason
//! remains. Staff act on a flag (a return visit planned for them today, off the list for
//! `ACTED_DAYS`), dismiss it with a reason (off for `DISMISS_DAYS`) or snooze it to a
//! date. The worklist: all for the manager and the front desk, a consultant's own members
//! for a consultant (`visits::CONSULTANT_SQL`), none for coaches. "Warned and renewed":
//! flags raised in the last 90 days whose member has bought a contract since.

use crate::auth::{Action, Role, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Lang, Result, Rule};
use crate::validate;
use crate::vocab::VisitRuleKind;
use chrono::{Duration, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use ts_rs::TS;

pub const RECENT_DAYS: i64 = 28;
pub const USUAL_DAYS: i64 = 84;
pub const USUAL_MIN: i64 = 6;
pub const NO_LESSON_DAYS: i64 = 21;
pub const LEAVE_MIN: i64 = 3;
pub const COMPLAINT_DAYS: i64 = 30;
pub const SCORE_DAYS: i64 = 60;
pub const ACTED_DAYS: i64 = 14;
pub const DISMISS_DAYS: i64 = 90;
pub const MAX_SNOOZE_DAYS: i64 = 60;
/// "Warned and renewed" counts the flags raised in this many days.
pub const REPORT_DAYS: i64 = 90;

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ChurnRow {
    pub flag_id: String,
    pub member_id: String,
    pub member_name: String,
    pub member_no: Option<String>,
    pub guardian_phone: Option<String>,
    pub consultant_name: Option<String>,
    pub first_warned: String,
    pub reason_codes: Vec<String>,
    /// Each reason in words, with its figures.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ChurnList {
    pub rows: Vec<ChurnRow>,
    /// How many are on the list in all (`rows` holds the first ones).
    pub total: i64,
    /// Members warned in the last `REPORT_DAYS` days, and how many of them renewed since.
    pub warned: i64,
    pub renewed: i64,
}

#[derive(Debug, Clone, Default, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ChurnScan {
    pub raised: i64,
    pub changed: i64,
    pub cleared: i64,
    pub reopened: i64,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ChurnDecision {
    pub flag_id: String,
    /// `act`, `dismiss` or `snooze`.
    pub decision: String,
    /// Why it is dismissed (required then).
    #[serde(default)]
    pub reason: String,
    /// Snoozed until (after today, at most `MAX_SNOOZE_DAYS` ahead).
    pub until: Option<String>,
}

/// Every current member at risk on `today`, with their reasons (codes and figures), in
/// member-id order.
pub(crate) fn at_risk(c: &Connection, today: NaiveDate) -> Result<BTreeMap<String, Vec<Value>>> {
    let d = |days: i64| (today - Duration::days(days)).to_string();
    let today_text = today.to_string();
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let current = "m.status NOT IN ('left','applicant') AND m.merged_into IS NULL";
    let attended = "a.mark IN ('present','late','makeup')";

    let mut stmt = c.prepare(&format!(
        "SELECT a.member_id, SUM(s.date >= ?2), SUM(s.date < ?2) FROM class_sessions s JOIN attendance a ON a.session_id = s.id
         JOIN members m ON m.id = a.member_id
         WHERE s.date >= ?1 AND s.date < ?3 AND {attended} AND {current} GROUP BY a.member_id"
    ))?;
    let mut rows = stmt.query(params![d(RECENT_DAYS + USUAL_DAYS), d(RECENT_DAYS), today_text])?;
    while let Some(r) = rows.next()? {
        let (id, recent, usual): (String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        // Usual lessons per 4 weeks = usual × 28 / 84; at most half of it recently.
        if usual >= USUAL_MIN && recent * 2 * USUAL_DAYS <= usual * RECENT_DAYS {
            out.entry(id).or_default().push(json!({"code": "attendance_drop", "recent": recent, "usual": usual * RECENT_DAYS / USUAL_DAYS}));
        }
    }

    let mut stmt = c.prepare(&format!(
        "SELECT k.member_id, (SELECT MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id WHERE a.member_id = k.member_id AND {attended} AND s.date < ?2)
         FROM contracts k JOIN members m ON m.id = k.member_id
         WHERE k.status = 'active' AND k.start_date <= ?1 AND k.end_date >= ?2 AND (k.lessons_total IS NULL OR k.lessons_used < k.lessons_total) AND {current}
           AND NOT EXISTS (SELECT 1 FROM contract_pauses p WHERE p.contract_id = k.id AND ?2 BETWEEN p.from_date AND p.to_date)
           AND NOT EXISTS (SELECT 1 FROM attendance a JOIN class_sessions s ON s.id = a.session_id WHERE a.member_id = k.member_id AND {attended} AND s.date > ?1 AND s.date <= ?2)
         GROUP BY k.member_id"
    ))?;
    let mut rows = stmt.query(params![d(NO_LESSON_DAYS), today_text])?;
    while let Some(r) = rows.next()? {
        let (id, last): (String, Option<String>) = (r.get(0)?, r.get(1)?);
        out.entry(id).or_default().push(json!({"code": "no_lesson", "days": NO_LESSON_DAYS, "last": last}));
    }

    let mut stmt = c.prepare(&format!(
        "SELECT l.member_id, COUNT(*) FROM leave_requests l JOIN class_sessions s ON s.id = l.session_id JOIN members m ON m.id = l.member_id
         WHERE l.withdrawn_at IS NULL AND s.date > ?1 AND s.date <= ?2 AND {current} GROUP BY l.member_id HAVING COUNT(*) >= ?3"
    ))?;
    let mut rows = stmt.query(params![d(RECENT_DAYS), today_text, LEAVE_MIN])?;
    while let Some(r) = rows.next()? {
        let (id, n): (String, i64) = (r.get(0)?, r.get(1)?);
        out.entry(id).or_default().push(json!({"code": "frequent_leave", "leaves": n, "days": RECENT_DAYS}));
    }

    let mut stmt = c.prepare(&format!(
        "SELECT k.member_id, k.complaint_no, k.closed_date FROM complaints k JOIN members m ON m.id = k.member_id
         WHERE (k.closed_at IS NULL OR k.closed_date >= ?1) AND {current} ORDER BY k.member_id, k.business_date DESC"
    ))?;
    let mut rows = stmt.query(params![d(COMPLAINT_DAYS)])?;
    let mut seen = String::new();
    while let Some(r) = rows.next()? {
        let (id, no, closed): (String, String, Option<String>) = (r.get(0)?, r.get(1)?, r.get(2)?);
        if id != seen {
            out.entry(id.clone()).or_default().push(json!({"code": "complaint", "no": no, "closed": closed}));
            seen = id;
        }
    }

    let mut stmt = c.prepare(&format!(
        "SELECT s.member_id, s.kind, s.score FROM satisfaction_scores s JOIN members m ON m.id = s.member_id
         WHERE s.business_date >= ?1 AND ((s.kind = 'csat' AND s.score <= 2) OR (s.kind = 'nps' AND s.score <= 6)) AND {current}
         ORDER BY s.member_id, s.business_date DESC"
    ))?;
    let mut rows = stmt.query(params![d(SCORE_DAYS)])?;
    let mut seen = String::new();
    while let Some(r) = rows.next()? {
        let (id, kind, score): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        if id != seen {
            out.entry(id.clone()).or_default().push(json!({"code": "low_score", "kind": kind, "score": score}));
            seen = id;
        }
    }

    let (due, _) = crate::renewals::due_rows(c, &today_text, crate::renewals::Window::DESK, usize::MAX >> 1, false)?;
    let mut seen = std::collections::HashSet::new();
    for r in due {
        if seen.insert(r.member_id.clone()) {
            out.entry(r.member_id).or_default().push(json!({"code": "renewal", "end_date": r.end_date, "lessons_left": r.lessons_remaining}));
        }
    }
    Ok(out)
}

/// A reason in words.
pub fn describe(reason: &Value, lang: Lang) -> String {
    let n = |k: &str| reason.get(k).and_then(Value::as_i64).unwrap_or(0);
    let s = |k: &str| reason.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match (reason.get("code").and_then(Value::as_str).unwrap_or(""), lang) {
        ("attendance_drop", Lang::ZhCn) => format!("出勤下降：近 4 周上课 {} 次，平时每 4 周约 {} 次", n("recent"), n("usual")),
        ("attendance_drop", Lang::En) => format!("Coming less: {} lessons in the last 4 weeks, usually about {}", n("recent"), n("usual")),
        ("no_lesson", Lang::ZhCn) => match s("last").as_str() {
            "" => format!("合同在期，{} 天以上没来上课（从未上过课）", n("days")),
            last => format!("合同在期，{} 天以上没来上课（最后一次 {last}）", n("days")),
        },
        ("no_lesson", Lang::En) => match s("last").as_str() {
            "" => format!("No lesson for {}+ days while a contract runs (never came)", n("days")),
            last => format!("No lesson for {}+ days while a contract runs (last on {last})", n("days")),
        },
        ("frequent_leave", Lang::ZhCn) => format!("请假频繁：近 {} 天请假 {} 次", n("days"), n("leaves")),
        ("frequent_leave", Lang::En) => format!("Frequent leave: {} in the last {} days", n("leaves"), n("days")),
        ("complaint", Lang::ZhCn) => match s("closed").as_str() {
            "" => format!("有未结案的投诉 {}", s("no")),
            closed => format!("近期投诉 {}（{closed} 结案）", s("no")),
        },
        ("complaint", Lang::En) => match s("closed").as_str() {
            "" => format!("Complaint {} still open", s("no")),
            closed => format!("Recent complaint {} (closed {closed})", s("no")),
        },
        ("low_score", Lang::ZhCn) => format!("评分偏低：{} {} 分", if s("kind") == "nps" { "推荐度" } else { "满意度" }, n("score")),
        ("low_score", Lang::En) => format!("Low score: {} {}", if s("kind") == "nps" { "NPS" } else { "CSAT" }, n("score")),
        // Due by its lessons (the desk's window: 3 or fewer) or by its end date.
        ("renewal", Lang::ZhCn) => match reason.get("lessons_left").and_then(Value::as_i64).filter(|l| *l <= crate::renewals::Window::DESK.lessons) {
            Some(l) => format!("只剩 {l} 课时，尚未续费"),
            None => format!("合同 {} 到期，尚未续费", s("end_date")),
        },
        ("renewal", Lang::En) => match reason.get("lessons_left").and_then(Value::as_i64).filter(|l| *l <= crate::renewals::Window::DESK.lessons) {
            Some(l) => format!("{l} lessons left, not renewed"),
            None => format!("Contract ends {}, not renewed", s("end_date")),
        },
        (code, _) => code.to_string(),
    }
}

fn log_flag(w: &mut WriteTx, id: &str, op: &str) -> Result<()> {
    let (flag, member_id): (Value, String) = w.query_row(
        "SELECT json_object('id', id, 'member_id', member_id, 'warned_at', warned_at, 'first_warned', first_warned, 'reasons', json(reasons),
            'status', status, 'hidden_until', hidden_until, 'note', note, 'visit_plan_id', visit_plan_id, 'staff_id', staff_id,
            'cleared_date', cleared_date), member_id FROM churn_flags WHERE id = ?1",
        [id],
        |r| Ok((serde_json::from_str(&r.get::<_, String>(0)?).unwrap_or_default(), r.get(1)?)),
    )?;
    w.log("churn_flag", id, op, Some(&member_id), &flag)
}

fn scan(w: &mut WriteTx) -> Result<ChurnScan> {
    let today = w.today();
    let today_text = today.to_string();
    let now = w.now_text();
    let risk = at_risk(w, today)?;
    let mut run = ChurnScan::default();
    let current: Vec<(String, String, String, String, Option<String>)> = w
        .prepare("SELECT id, member_id, reasons, status, hidden_until FROM churn_flags WHERE status <> 'cleared'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut flagged = std::collections::HashSet::new();
    for (id, member_id, reasons, status, hidden_until) in current {
        flagged.insert(member_id.clone());
        match risk.get(&member_id) {
            None => {
                w.execute("UPDATE churn_flags SET status = 'cleared', cleared_date = ?2, hidden_until = NULL, updated_at = ?3 WHERE id = ?1", params![id, today_text, now])?;
                log_flag(w, &id, "clear")?;
                run.cleared += 1;
            }
            Some(now_reasons) => {
                let text = serde_json::to_string(now_reasons).unwrap_or_default();
                if status != "open" && hidden_until.as_deref().is_some_and(|h| h < today_text.as_str()) {
                    w.execute("UPDATE churn_flags SET status = 'open', hidden_until = NULL, reasons = ?2, updated_at = ?3 WHERE id = ?1", params![id, text, now])?;
                    log_flag(w, &id, "reopen")?;
                    run.reopened += 1;
                } else if text != reasons {
                    w.execute("UPDATE churn_flags SET reasons = ?2, updated_at = ?3 WHERE id = ?1", params![id, text, now])?;
                    log_flag(w, &id, "reasons")?;
                    run.changed += 1;
                }
            }
        }
    }
    for (member_id, reasons) in risk.iter().filter(|(m, _)| !flagged.contains(*m)) {
        let id = crate::new_id();
        w.execute(
            "INSERT INTO churn_flags (id, member_id, warned_at, first_warned, reasons, status, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?3)",
            params![id, member_id, now, today_text, serde_json::to_string(reasons).unwrap_or_default()],
        )?;
        log_flag(w, &id, "raise")?;
        run.raised += 1;
    }
    Ok(run)
}

impl Core {
    /// One scan (the upkeep round; the demo), attributed to no one: the system.
    pub fn churn_scan(&self) -> Result<ChurnScan> {
        self.write_as(None, scan)
    }

    /// The worklist: flags on the list today, longest-warned first; at most `limit`.
    pub fn churn_list(&self, session: &Session, lang: Lang, limit: i64) -> Result<ChurnList> {
        session.require(Action::WorkChurnList)?;
        let today = self.today();
        self.read(|c| list(c, session, today, lang, limit))
    }

    /// Acts on, dismisses or snoozes a flag (anyone who may see it).
    pub fn churn_decide(&self, session: &Session, input: ChurnDecision) -> Result<()> {
        session.require(Action::WorkChurnList)?;
        let today = self.today();
        let decision = match input.decision.as_str() {
            d @ ("act" | "dismiss" | "snooze") => d,
            _ => return Err(CoreError::invalid(Field::Decision, Rule::OneOf { allowed: vec!["act".into(), "dismiss".into(), "snooze".into()] })),
        };
        let reason = if decision == "dismiss" { validate::required_text(Field::Reason, &input.reason, 200)? } else { String::new() };
        let until = if decision == "snooze" {
            let d = validate::date(Field::SnoozeUntil, input.until.as_deref().unwrap_or(""))?;
            if d <= today || d > today + Duration::days(MAX_SNOOZE_DAYS) {
                return Err(CoreError::invalid(Field::SnoozeUntil, Rule::IntRange { min: 1, max: MAX_SNOOZE_DAYS }));
            }
            Some(d)
        } else {
            None
        };
        self.write(session, |w| {
            let (member_id, status): (String, String) = w
                .query_row("SELECT member_id, status FROM churn_flags WHERE id = ?1", [&input.flag_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .ok_or(CoreError::NotFound(Field::ChurnFlag))?;
            if status != "open" {
                return Err(CoreError::Conflict(Conflict::ChurnFlagClosed));
            }
            if session.role == Role::Consultant && !is_theirs(w, &member_id, &session.staff_id)? {
                return Err(CoreError::NotFound(Field::ChurnFlag));
            }
            let now = w.now_text();
            let (new_status, hidden, plan) = match decision {
                "act" => {
                    // Source: the flag and the day, so a flag back on the list and acted on again plans a new visit.
                    let source = format!("{}:{today}", input.flag_id);
                    let plan = crate::visits::insert_plan(w, &member_id, VisitRuleKind::Churn, &source, today, Some(&session.staff_id), None)?;
                    ("acted", today + Duration::days(ACTED_DAYS), plan)
                }
                "dismiss" => ("dismissed", today + Duration::days(DISMISS_DAYS), None),
                _ => ("snoozed", until.unwrap_or(today), None),
            };
            w.execute(
                "UPDATE churn_flags SET status = ?2, hidden_until = ?3, note = ?4, visit_plan_id = COALESCE(?5, visit_plan_id), staff_id = ?6, updated_at = ?7 WHERE id = ?1",
                params![input.flag_id, new_status, hidden.to_string(), reason, plan, session.staff_id, now],
            )?;
            log_flag(w, &input.flag_id, decision)
        })
    }
}

fn is_theirs(c: &Connection, member_id: &str, staff_id: &str) -> Result<bool> {
    let id: Option<String> = c.query_row(&format!("SELECT {} FROM members m WHERE m.id = ?1", crate::visits::CONSULTANT_SQL), [member_id], |r| r.get(0))?;
    Ok(id.as_deref() == Some(staff_id))
}

pub(crate) fn list(c: &Connection, session: &Session, today: NaiveDate, lang: Lang, limit: i64) -> Result<ChurnList> {
    let today_text = today.to_string();
    let theirs = if session.role == Role::Consultant { Some(session.staff_id.as_str()) } else { None };
    // The member's consultant and guardian's phone are looked up per row only where they
    // are needed — every row for a consultant's own list, the rows shown for the manager's
    // (13,000 flags at 100,000 members: the lookups were most of its time).
    let mut consultant_of = c.prepare_cached(&format!("SELECT {} FROM members m WHERE m.id = ?1", crate::visits::CONSULTANT_SQL))?;
    let mut phone_of = c.prepare_cached(&format!("SELECT ({}) FROM members m WHERE m.id = ?1", crate::members::PRIMARY_PHONE_SQL))?;
    let mut stmt = c.prepare(
        "SELECT f.id AS flag_id, f.member_id, m.name AS member_name, m.member_no, f.first_warned, f.reasons
         FROM churn_flags f JOIN members m ON m.id = f.member_id
         WHERE (f.status = 'open' OR (f.status IN ('acted','dismissed','snoozed') AND f.hidden_until < ?1))
           AND m.status NOT IN ('left','applicant') AND m.merged_into IS NULL
         ORDER BY f.first_warned, m.name",
    )?;
    let mut rows = stmt.query([&today_text])?;
    let mut out = vec![];
    let mut total = 0;
    let limit = limit.clamp(1, 1000);
    while let Some(r) = rows.next()? {
        let member_id: String = r.get("member_id")?;
        let shown = (out.len() as i64) < limit;
        let consultant_id: Option<String> =
            if theirs.is_some() || shown { consultant_of.query_row([&member_id], |x| x.get(0)).optional()?.flatten() } else { None };
        if theirs.is_some() && consultant_id.as_deref() != theirs {
            continue;
        }
        total += 1;
        if !shown {
            continue;
        }
        let reasons: Vec<Value> = serde_json::from_str(&r.get::<_, String>("reasons")?).unwrap_or_default();
        let consultant_name = match &consultant_id {
            Some(id) => c.query_row("SELECT display_name FROM staff WHERE id = ?1", [id], |x| x.get(0)).optional()?,
            None => None,
        };
        out.push(ChurnRow {
            flag_id: r.get("flag_id")?,
            guardian_phone: phone_of.query_row([&member_id], |x| x.get(0)).optional()?.flatten(),
            member_id,
            member_name: r.get("member_name")?,
            member_no: r.get("member_no")?,
            consultant_name,
            first_warned: r.get("first_warned")?,
            reason_codes: reasons.iter().map(|x| x.get("code").and_then(Value::as_str).unwrap_or("").to_string()).collect(),
            reasons: reasons.iter().map(|x| describe(x, lang)).collect(),
        });
    }
    let from = (today - Duration::days(REPORT_DAYS)).to_string();
    let (warned, renewed): (i64, i64) = c.query_row(
        "SELECT COUNT(DISTINCT f.member_id),
            COUNT(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM contracts k WHERE k.member_id = f.member_id AND k.status <> 'refunded' AND k.created_at > f.warned_at) THEN f.member_id END)
         FROM churn_flags f WHERE f.first_warned >= ?1",
        [&from],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(ChurnList { rows: out, total, warned, renewed })
}
