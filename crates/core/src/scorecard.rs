//! The manager's monthly scorecard 经营月报: how well the centre keeps its families, by
//! month, and per consultant and per coach over the period. Three `ReportTable`s of the
//! analysis screen, so the screen, its charts and the CSV are the same rows.
//!
//! The measures, for a span of days [a, b] (a month of the period, or the period itself,
//! never past today):
//! - **active** 在读: members (not merged) with a contract running on b — started on or
//!   before b, not refunded, and not ended before b (its end date, or the last lesson of
//!   a package used up early: `contract_ends`). The same "running" as a member's 在读.
//! - **retained / lost** 留存 / 流失: of the members active the day before a (at the close
//!   of the month before), those still active on b and those not; **retention** 留存率 =
//!   retained ÷ active the day before a. A family whose last contract ran to 31 October
//!   is lost in November.
//! - **new** 新增: members whose first contract (not refunded) started within [a, b].
//! - **renewed** 续费: contracts that ended within [a, b] and were renewed (the renewals
//!   report's rule: another contract names them in `renewal_of`).
//! - **return visits due / made** 应回访 / 已回访: planned visits due within [a, b] and
//!   not cancelled, and how many of them were made.
//! - **interactions per member** 人均互动: return visits logged within [a, b] ÷ active on b.
//! - **complaints closed / on time** 投诉结案 / 按时: complaints closed within [a, b], and
//!   of those the ones closed by their deadline.
//! - **CSAT** (average 1–5) and **NPS** (promoters − detractors, per answer × 100) of
//!   the answers given within [a, b] — the feedback screen's formulas.
//!
//! Who a row belongs to:
//! - per consultant: a member is their consultant's (a hand-over's owner, else the
//!   newest contract's consultant, else the lead's — disabled staff included, so a
//!   leaver's members show under them until handed over); members with none are
//!   "unassigned". Member measures, answers and interactions follow the member; visits
//!   follow whom they were assigned to; complaints whom they were handled by.
//! - per coach: a member is the coach's of their class group (the one they were in at the
//!   period's end, else the one they joined last in the period); answers that name a
//!   coach count for that coach.
//!
//! Months are cut to the period, so the months' new, renewed, visits, complaints and
//! answers add up to the period's; one pass loads the facts, the rest is counting.

use crate::analysis::{column, permille, ReportColumn, ReportTable};
use crate::error::{CoreError, Field, Lang, Result, Rule};
use crate::feedback::{fixed_text, nps_tenths, ratio_rounded};
use chrono::{Datelike, Months, NaiveDate};
use rusqlite::{params, Connection};
use std::collections::HashMap;

/// The longest period the scorecard takes, in months (a month table of five years).
pub const MAX_MONTHS: i64 = 60;

/// A business date as the integer YYYYMMDD: it orders as the date, and comparing two is one
/// instruction (the months' tallies compare a hundred thousand members' dates each).
type Day = i32;

fn day(text: &str) -> Day {
    text.bytes().filter(u8::is_ascii_digit).take(8).fold(0, |n, b| n * 10 + Day::from(b - b'0'))
}

/// The facts of the period, loaded once.
struct Facts {
    /// Per member: the days each contract ran, (start, last day).
    running: Vec<Vec<(Day, Day)>>,
    first_start: Vec<Option<Day>>,
    consultant: Vec<Option<String>>,
    coach: Vec<Option<String>>,
    /// (ended on, renewed, member)
    ends: Vec<(Day, bool, usize)>,
    /// (due date, assignee, made)
    plans: Vec<(Day, Option<String>, bool)>,
    /// (date, member)
    visits: Vec<(Day, usize)>,
    /// (closed on, on time, handler)
    closed: Vec<(Day, bool, String)>,
    /// (date, member, kind is csat, score, coach named)
    answers: Vec<(Day, Option<usize>, bool, i64, Option<String>)>,
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Tally {
    active_start: i64,
    active_end: i64,
    retained: i64,
    new: i64,
    renewed: i64,
    visits_due: i64,
    visits_made: i64,
    interactions: i64,
    closed: i64,
    on_time: i64,
    csat_n: i64,
    csat_sum: i64,
    nps_n: i64,
    promoters: i64,
    detractors: i64,
}

#[derive(Clone, Copy, PartialEq)]
enum By {
    Centre,
    Consultant,
    Coach,
}

fn load(c: &Connection, before: &str, from: &str, to: &str) -> Result<Facts> {
    let mut index: HashMap<String, usize> = HashMap::new();
    // The owner is `handover::OWNER_SQL`'s order — a hand-over's owner, else the newest
    // contract's consultant, else the lead's — folded here from rows read once, because
    // that SQL's correlated subqueries per member cost a quarter of a second at 100,000.
    let (mut handed, mut lead_consultant) = (Vec::new(), Vec::new());
    {
        let mut stmt = c.prepare(
            "SELECT m.id, (SELECT mc.consultant_id FROM member_consultants mc WHERE mc.member_id = m.id), l.consultant_id
             FROM members m LEFT JOIN leads l ON l.id = m.lead_id WHERE m.merged_into IS NULL AND m.status <> 'applicant'",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            index.insert(r.get(0)?, handed.len());
            handed.push(r.get::<_, Option<String>>(1)?);
            lead_consultant.push(r.get::<_, Option<String>>(2)?);
        }
    }
    let n = handed.len();
    let mut running = vec![Vec::new(); n];
    let mut first_start: Vec<Option<Day>> = vec![None; n];
    let (before_day, to_day) = (day(before), day(to));
    // Per member the newest contract naming a consultant: ((start, created), consultant).
    let mut newest: Vec<Option<((String, String), String)>> = vec![None; n];
    {
        let mut stmt = c.prepare("SELECT k.member_id, k.start_date, e.ended_on, k.consultant_id, k.created_at FROM contracts k JOIN contract_ends e ON e.contract_id = k.id")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let Some(&m) = index.get(&r.get::<_, String>(0)?) else { continue };
            let (start_text, end): (String, Day) = (r.get(1)?, day(&r.get::<_, String>(2)?));
            let start = day(&start_text);
            if first_start[m].is_none_or(|f| start < f) {
                first_start[m] = Some(start);
            }
            if let Some(consultant) = r.get::<_, Option<String>>(3)? {
                let key = (start_text, r.get::<_, String>(4)?);
                if newest[m].as_ref().is_none_or(|(k, _)| key > *k) {
                    newest[m] = Some((key, consultant));
                }
            }
            // Only the contracts that touch the period decide who was active in it.
            if start <= to_day && end >= before_day {
                running[m].push((start, end));
            }
        }
    }
    let consultant: Vec<Option<String>> =
        (0..n).map(|m| handed[m].clone().or_else(|| newest[m].as_ref().map(|(_, id)| id.clone())).or_else(|| lead_consultant[m].clone())).collect();
    let member = |id: Option<String>| id.and_then(|id| index.get(&id).copied());
    let mut coach: Vec<Option<String>> = vec![None; n];
    {
        // Per member the coach of their class: the class they were in at the period's end,
        // else the one they joined last of those in the period. (Counting who taught each
        // attended lesson read a year of attendance: 0.3 s at 20,000 members.)
        let mut stmt = c.prepare(
            "SELECT gm.member_id, g.coach_id, gm.start_date, gm.end_date IS NULL OR gm.end_date >= ?2
             FROM group_members gm JOIN class_groups g ON g.id = gm.group_id
             WHERE gm.start_date <= ?2 AND (gm.end_date IS NULL OR gm.end_date >= ?1)",
        )?;
        let mut best: Vec<Option<(bool, String)>> = vec![None; n];
        let mut rows = stmt.query(params![from, to])?;
        while let Some(r) = rows.next()? {
            let Some(m) = member(r.get(0)?) else { continue };
            let key = (r.get::<_, bool>(3)?, r.get::<_, String>(2)?);
            if best[m].as_ref().is_none_or(|b| key > *b) {
                best[m] = Some(key);
                coach[m] = r.get(1)?;
            }
        }
    }
    let collect = |sql: &str| -> Result<Vec<(String, Option<String>, i64, i64, Option<String>)>> {
        let mut stmt = c.prepare(sql)?;
        let rows = stmt.query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    let ends = collect(
        "SELECT e.ended_on, k.member_id, e.renewed, 0, NULL FROM contract_ends e JOIN contracts k ON k.id = e.contract_id WHERE e.ended_on BETWEEN ?1 AND ?2",
    )?
    .into_iter()
    .filter_map(|(d, m, renewed, _, _)| member(m).map(|m| (day(&d), renewed == 1, m)))
    .collect();
    let plans = collect("SELECT due_date, assignee_id, status = 'done', 0, NULL FROM visit_plans WHERE due_date BETWEEN ?1 AND ?2 AND status <> 'cancelled'")?
        .into_iter()
        .map(|(d, who, made, _, _)| (day(&d), who, made == 1))
        .collect();
    let visits = collect("SELECT business_date, member_id, 0, 0, NULL FROM return_visits WHERE business_date BETWEEN ?1 AND ?2")?
        .into_iter()
        .filter_map(|(d, m, _, _, _)| member(m).map(|m| (day(&d), m)))
        .collect();
    let closed = collect(
        "SELECT closed_date, handler_id, closed_date <= deadline, 0, NULL FROM complaints WHERE closed_date BETWEEN ?1 AND ?2",
    )?
    .into_iter()
    .map(|(d, handler, on_time, _, _)| (day(&d), on_time == 1, handler.unwrap_or_default()))
    .collect();
    let answers = collect("SELECT business_date, member_id, kind = 'csat', score, coach_id FROM satisfaction_scores WHERE business_date BETWEEN ?1 AND ?2")?
        .into_iter()
        .map(|(d, m, csat, score, coach)| (day(&d), member(m), csat == 1, score, coach))
        .collect();
    Ok(Facts { running, first_start, consultant, coach, ends, plans, visits, closed, answers })
}

fn active_on(contracts: &[(Day, Day)], on: Day) -> bool {
    contracts.iter().any(|&(s, e)| s <= on && on <= e)
}

impl Facts {
    fn owner(&self, by: By, m: usize) -> Option<String> {
        match by {
            By::Centre => Some(String::new()),
            By::Consultant => self.consultant[m].clone(),
            By::Coach => self.coach[m].clone(),
        }
    }

    /// Each member's row under `by`, as an index into the row keys (worked out once per
    /// table: the months reuse it).
    fn slots(&self, by: By) -> Slots {
        let (mut keys, mut at) = (Vec::new(), HashMap::new());
        let of_member = (0..self.running.len()).map(|m| slot(&mut keys, &mut at, self.owner(by, m))).collect();
        Slots { keys, at, of_member }
    }

    /// The measures of [a, b] per row key (`None`: members nobody owns); `before` is the day before a.
    fn tally(&self, by: By, slots: &Slots, before: &str, a: &str, b: &str) -> Vec<(Option<String>, Tally)> {
        let (before, a, b) = (day(before), day(a), day(b));
        let (mut keys, mut at) = (slots.keys.clone(), slots.at.clone());
        let mut out = vec![Tally::default(); keys.len()];
        let inside = |d: Day| a <= d && d <= b;
        for (m, contracts) in self.running.iter().enumerate() {
            let (start, end) = (active_on(contracts, before), active_on(contracts, b));
            let new = self.first_start[m].is_some_and(inside);
            let t = &mut out[slots.of_member[m]];
            t.active_start += start as i64;
            t.active_end += end as i64;
            t.retained += (start && end) as i64;
            t.new += new as i64;
        }
        for (d, renewed, m) in &self.ends {
            if *renewed && inside(*d) {
                out[slots.of_member[*m]].renewed += 1;
            }
        }
        for (d, m) in &self.visits {
            if inside(*d) {
                out[slots.of_member[*m]].interactions += 1;
            }
        }
        // Facts that follow a staff member (or, for the centre, the one row).
        let mut row = |key: Option<String>, out: &mut Vec<Tally>| -> usize {
            let key = if by == By::Centre { Some(String::new()) } else { key };
            let i = slot(&mut keys, &mut at, key);
            if i == out.len() {
                out.push(Tally::default());
            }
            i
        };
        for (d, who, made) in &self.plans {
            if inside(*d) {
                let i = row(who.clone(), &mut out);
                out[i].visits_due += 1;
                out[i].visits_made += *made as i64;
            }
        }
        for (d, on_time, handler) in &self.closed {
            if inside(*d) {
                let i = row(Some(handler.clone()), &mut out);
                out[i].closed += 1;
                out[i].on_time += *on_time as i64;
            }
        }
        for (d, m, csat, score, named) in &self.answers {
            if !inside(*d) {
                continue;
            }
            let i = match (by, named, m) {
                (By::Coach, Some(coach), _) => row(Some(coach.clone()), &mut out),
                (By::Centre, _, _) | (_, _, None) => row(None, &mut out),
                (_, _, Some(m)) => slots.of_member[*m],
            };
            let t = &mut out[i];
            if *csat {
                t.csat_n += 1;
                t.csat_sum += score;
            } else {
                t.nps_n += 1;
                t.promoters += (*score >= 9) as i64;
                t.detractors += (*score <= 6) as i64;
            }
        }
        drop(row);
        keys.into_iter().zip(out).collect()
    }
}

/// Row keys of a table and each member's row.
struct Slots {
    keys: Vec<Option<String>>,
    at: HashMap<Option<String>, usize>,
    of_member: Vec<usize>,
}

/// The row of `key`, added when new.
fn slot(keys: &mut Vec<Option<String>>, at: &mut HashMap<Option<String>, usize>, key: Option<String>) -> usize {
    if let Some(&i) = at.get(&key) {
        return i;
    }
    keys.push(key.clone());
    at.insert(key, keys.len() - 1);
    keys.len() - 1
}

fn cells(label: String, t: &Tally) -> Vec<String> {
    vec![
        label,
        t.active_end.to_string(),
        t.new.to_string(),
        t.renewed.to_string(),
        (t.active_start - t.retained).to_string(),
        permille(t.retained, t.active_start),
        t.visits_due.to_string(),
        t.visits_made.to_string(),
        fixed_text(ratio_rounded(t.interactions, t.active_end, 100), 2),
        t.closed.to_string(),
        t.on_time.to_string(),
        fixed_text(ratio_rounded(t.csat_sum, t.csat_n, 100), 2),
        fixed_text(nps_tenths(t.promoters, t.detractors, t.nps_n), 1),
    ]
}

fn columns(lang: Lang, first: ReportColumn) -> Vec<ReportColumn> {
    vec![
        first,
        column("active", lang, "在读会员", "Active members", "int"),
        column("new", lang, "新增", "New", "int"),
        column("renewed", lang, "续费", "Renewed", "int"),
        column("lost", lang, "流失", "Lost", "int"),
        column("retention", lang, "留存率", "Retention", "permille"),
        column("visits_due", lang, "应回访", "Visits due", "int"),
        column("visits_made", lang, "已回访", "Visits made", "int"),
        column("interactions", lang, "人均互动", "Interactions per member", "decimal"),
        column("complaints_closed", lang, "投诉结案", "Complaints closed", "int"),
        column("closed_on_time", lang, "按时结案", "Closed on time", "int"),
        column("csat", lang, "CSAT", "CSAT", "decimal"),
        column("nps", lang, "NPS", "NPS", "decimal"),
    ]
}

/// The months of [from, to] cut to the period and to today: (label, first day, last day).
fn months(from: NaiveDate, to: NaiveDate) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut first = from.with_day(1).unwrap_or(from);
    while first <= to {
        let next = first.checked_add_months(Months::new(1)).unwrap_or(NaiveDate::MAX);
        let last = next.pred_opt().unwrap_or(next).min(to);
        out.push((first.format("%Y-%m").to_string(), first.max(from), last));
        first = next;
    }
    out
}

pub(crate) fn report(c: &Connection, lang: Lang, today: NaiveDate, from: NaiveDate, to: NaiveDate) -> Result<Vec<ReportTable>> {
    let span = (to.year() as i64 - from.year() as i64) * 12 + to.month() as i64 - from.month() as i64 + 1;
    if span > MAX_MONTHS {
        return Err(CoreError::invalid(Field::ReportMonths, Rule::IntRange { min: 1, max: MAX_MONTHS }));
    }
    // Nothing is counted past today: the month under way is counted so far.
    let to = to.min(today);
    let day_before = |d: NaiveDate| d.pred_opt().unwrap_or(d).to_string();
    let (before, a, b) = (day_before(from), from.to_string(), to.to_string());
    let facts = if from <= to { Some(load(c, &before, &a, &b)?) } else { None };

    let mut month_rows = Vec::new();
    if let Some(f) = &facts {
        let slots = f.slots(By::Centre);
        for (label, first, last) in months(from, to) {
            let rows = f.tally(By::Centre, &slots, &day_before(first), &first.to_string(), &last.to_string());
            let t = rows.into_iter().find(|(k, _)| k.as_deref() == Some("")).map(|(_, t)| t).unwrap_or_default();
            month_rows.push(cells(label, &t));
        }
    }
    let names: HashMap<String, (String, String, bool)> = c
        .prepare("SELECT id, display_name, role, active FROM staff")?
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))?
        .collect::<rusqlite::Result<_>>()?;
    let per_staff = |by: By, roles: &[&str]| -> Vec<Vec<String>> {
        let Some(f) = &facts else { return Vec::new() };
        let mut rows: Vec<(String, Vec<String>)> = Vec::new();
        let mut unassigned = None;
        for (key, t) in f.tally(by, &f.slots(by), &before, &a, &b) {
            let owns = t.active_start + t.active_end + t.new > 0;
            match key.and_then(|k| names.get(&k)) {
                None if owns => unassigned = Some(cells(lang.pick("（未分配）", "(unassigned)"), &t)),
                None => {}
                Some((name, role, active)) if owns || roles.contains(&role.as_str()) => {
                    let label = if *active { name.clone() } else { format!("{name}{}", lang.pick("（已停用）", " (disabled)")) };
                    rows.push((label.clone(), cells(label, &t)));
                }
                Some(_) => {}
            }
        }
        rows.sort_by(|x, y| x.0.cmp(&y.0));
        rows.into_iter().map(|(_, r)| r).chain(unassigned).collect()
    };
    let consultants = per_staff(By::Consultant, &["consultant", "manager"]);
    let coaches = per_staff(By::Coach, &["coach"]);
    let table = |key: &str, title: String, first: ReportColumn, rows: Vec<Vec<String>>, chart: &str| ReportTable {
        key: key.into(),
        title,
        columns: columns(lang, first),
        total_rows: rows.len() as i64,
        rows,
        chart: Some(chart.into()),
        member_ids: vec![],
    };
    Ok(vec![
        table("months", lang.pick("按月", "By month"), column("month", lang, "月份", "Month", "text"), month_rows, "retention"),
        table("consultants", lang.pick("按课程顾问", "By consultant"), column("consultant", lang, "课程顾问", "Consultant", "text"), consultants, "active"),
        table("coaches", lang.pick("按教练", "By coach"), column("coach", lang, "教练", "Coach", "text"), coaches, "retention"),
    ])
}
