//! Leads 潜在客户: source channel, consultant, MAN qualification, the status pipeline
//! (new → contacted → visit booked → visited → trial → enrolled / lost with a reason),
//! follow-ups 跟进 with next dates, and conversion into a member that keeps the history.

use crate::auth::{Action, Role, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Lang, Result, Rule};
use crate::members::{self, Member};
use crate::{search, settings, validate};
use chrono::{Datelike, Duration, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const STATUSES: &[&str] = crate::vocab::LeadStatus::CODES;
const OPEN: [&str; 5] = ["new", "contacted", "visit_booked", "visited", "trial"];
pub const CHANNELS: &[&str] = crate::vocab::FollowUpChannel::CODES;

pub fn status_label(status: &str, lang: Lang) -> String {
    crate::vocab::LeadStatus::label_of(status, lang)
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Lead {
    pub id: String,
    pub name: String,
    pub contact_name: String,
    pub phone: String,
    pub wechat: String,
    pub gender: Option<String>,
    pub birthday: Option<String>,
    pub source: String,
    pub consultant_id: Option<String>,
    pub man_money: bool,
    pub man_authority: bool,
    pub man_need: bool,
    pub needs: String,
    pub notes: String,
    #[ts(as = "crate::vocab::LeadStatus")]
    pub status: String,
    pub lost_reason: String,
    pub next_follow_up: Option<String>,
    pub converted_member_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct LeadInput {
    pub name: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub wechat: String,
    pub gender: Option<String>,
    pub birthday: Option<String>,
    pub source: String,
    pub consultant_id: Option<String>,
    #[serde(default)]
    pub man_money: bool,
    #[serde(default)]
    pub man_authority: bool,
    #[serde(default)]
    pub man_need: bool,
    #[serde(default)]
    pub needs: String,
    #[serde(default)]
    pub notes: String,
    pub next_follow_up: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct FollowUp {
    pub id: String,
    pub lead_id: String,
    pub staff_id: String,
    pub staff_name: String,
    pub at: String,
    pub channel: String,
    pub content: String,
    pub next_follow_up: Option<String>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct FollowUpInput {
    pub channel: String,
    pub content: String,
    pub next_follow_up: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct LeadDetail {
    pub lead: Lead,
    pub consultant_name: Option<String>,
    pub follow_ups: Vec<FollowUp>,
    pub timeline: Vec<members::TimelineEntry>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct LeadRow {
    pub lead: Lead,
    pub consultant_name: Option<String>,
    pub overdue: bool,
}

#[derive(Debug, Clone, Deserialize, TS, Default)]
#[ts(export)]
pub struct LeadFilter {
    #[ts(as = "Option<crate::vocab::LeadStatus>")]
    pub status: Option<String>,
    /// `today`, `week`, `month` or `overdue`: follow-ups due in that window.
    pub due: Option<String>,
    /// Only this consultant's leads (consultants always see only their own).
    pub consultant_id: Option<String>,
    #[serde(default)]
    pub limit: i64,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ConvertInput {
    pub gender: String,
    /// Relation of the lead's contact to the child, e.g. 妈妈.
    #[serde(default)]
    pub relation: String,
}

const COLUMNS: &str = "l.id, l.name, l.contact_name, l.phone, l.wechat, l.gender, l.birthday, l.source, l.consultant_id, l.man_money,
    l.man_authority, l.man_need, l.needs, l.notes, l.status, l.lost_reason, l.next_follow_up, l.converted_member_id, l.created_at, l.updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Lead> {
    Ok(Lead {
        id: r.get("id")?,
        name: r.get("name")?,
        contact_name: r.get("contact_name")?,
        phone: r.get("phone")?,
        wechat: r.get("wechat")?,
        gender: r.get("gender")?,
        birthday: r.get("birthday")?,
        source: r.get("source")?,
        consultant_id: r.get("consultant_id")?,
        man_money: r.get("man_money")?,
        man_authority: r.get("man_authority")?,
        man_need: r.get("man_need")?,
        needs: r.get("needs")?,
        notes: r.get("notes")?,
        status: r.get("status")?,
        lost_reason: r.get("lost_reason")?,
        next_follow_up: r.get("next_follow_up")?,
        converted_member_id: r.get("converted_member_id")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

fn load(c: &Connection, id: &str) -> Result<Lead> {
    c.query_row(&format!("SELECT {COLUMNS} FROM leads l WHERE l.id = ?1"), [id], from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::Lead))
}

pub(crate) fn log_lead(w: &mut WriteTx, id: &str, op: &str) -> Result<Lead> {
    let lead = load(w, id)?;
    w.log("lead", id, op, Some(id), &lead)?;
    Ok(lead)
}

struct CheckedLead {
    name: String,
    contact_name: String,
    phone: String,
    wechat: String,
    gender: Option<&'static str>,
    needs: String,
    notes: String,
}

/// The whole form checked at once: every wrong field is reported together.
fn check(input: &LeadInput) -> Result<CheckedLead> {
    let mut v = validate::Checks::new();
    let name = v.take(validate::person_name(Field::Name, &input.name));
    let contact_name =
        if input.contact_name.trim().is_empty() { String::new() } else { v.take(validate::person_name(Field::ContactName, &input.contact_name)) };
    let phone = v.take(validate::optional_mobile(Field::Phone, &input.phone));
    let wechat = v.take(validate::optional_text(Field::Wechat, &input.wechat, 40));
    if input.phone.trim().is_empty() && input.wechat.trim().is_empty() {
        v.add(CoreError::invalid(Field::Phone, Rule::PhoneOrWechat));
    }
    let gender = match input.gender.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(g) => Some(v.take(validate::gender(Field::Gender, g))),
    };
    let needs = v.take(validate::optional_text(Field::Needs, &input.needs, 300));
    let notes = v.take(validate::optional_text(Field::Notes, &input.notes, 500));
    v.add_result(validate::optional_date(Field::NextFollowUp, &input.next_follow_up));
    v.finish()?;
    Ok(CheckedLead { name, contact_name, phone, wechat, gender, needs, notes })
}

pub(crate) fn check_source(c: &Connection, source: &str) -> Result<String> {
    let source = validate::required_text(Field::Source, source, 12)?;
    let allowed = settings::load(c)?.lead_sources;
    if !allowed.contains(&source) {
        return Err(CoreError::invalid(Field::Source, Rule::OneOf { allowed }));
    }
    Ok(source)
}

fn check_consultant(c: &Connection, session: &Session, id: &Option<String>) -> Result<Option<String>> {
    match id.as_deref().map(str::trim) {
        None | Some("") => Ok(if session.role == Role::Consultant { Some(session.staff_id.clone()) } else { None }),
        Some(id) => {
            let ok: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM staff WHERE id = ?1 AND active = 1 AND role IN ('consultant','manager','clerk'))",
                [id],
                |r| r.get(0),
            )?;
            if ok { Ok(Some(id.into())) } else { Err(CoreError::invalid(Field::Consultant, Rule::Unknown)) }
        }
    }
}

/// The window `[from, to]` of next-follow-up dates a filter selects.
fn due_window(due: &str, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let long_ago = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    match due {
        "overdue" => Some((long_ago, today.pred_opt()?)),
        "today" => Some((long_ago, today)),
        "week" => Some((long_ago, today + Duration::days(6 - today.weekday().num_days_from_monday() as i64))),
        "month" => {
            let next_month = if today.month() == 12 {
                NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(today.year(), today.month() + 1, 1)?
            };
            Some((long_ago, next_month.pred_opt()?))
        }
        _ => None,
    }
}

/// Creates a lead inside the caller's transaction (the form and the import both come
/// here): checks, inserts, logs and indexes it.
pub(crate) fn create(w: &mut WriteTx, session: &Session, input: &LeadInput) -> Result<Lead> {
    let l = check(input)?;
    let next = validate::optional_date(Field::NextFollowUp, &input.next_follow_up)?;
    let birthday = validate::birthday(&input.birthday, w.today())?;
    let source = check_source(w, &input.source)?;
    let consultant = check_consultant(w, session, &input.consultant_id)?;
    let id = crate::new_id();
    w.execute(
        "INSERT INTO leads (id, name, contact_name, phone, wechat, gender, birthday, source, consultant_id, man_money, man_authority,
            man_need, needs, notes, status, next_follow_up, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'new', ?15, ?16, ?16)",
        params![
            id, l.name, l.contact_name, l.phone, l.wechat, l.gender, birthday.map(|d| d.to_string()), source, consultant,
            input.man_money, input.man_authority, input.man_need, l.needs, l.notes, next.map(|d| d.to_string()), w.now_text()
        ],
    )?;
    let lead = log_lead(w, &id, "create")?;
    search::index_lead(w, &id)?;
    Ok(lead)
}

impl Core {
    pub fn lead_create(&self, session: &Session, input: LeadInput) -> Result<Lead> {
        session.require(Action::EditLeads)?;
        check(&input)?;
        validate::optional_date(Field::NextFollowUp, &input.next_follow_up)?;
        self.write(session, |w| create(w, session, &input))
    }

    pub fn lead_update(&self, session: &Session, lead_id: &str, input: LeadInput) -> Result<Lead> {
        session.require(Action::EditLeads)?;
        let l = check(&input)?;
        let next = validate::optional_date(Field::NextFollowUp, &input.next_follow_up)?;
        self.write(session, |w| {
            load(w, lead_id)?;
            let birthday = validate::birthday(&input.birthday, w.today())?;
            let source = check_source(w, &input.source)?;
            let consultant = check_consultant(w, session, &input.consultant_id)?;
            w.execute(
                "UPDATE leads SET name = ?2, contact_name = ?3, phone = ?4, wechat = ?5, gender = ?6, birthday = ?7, source = ?8,
                    consultant_id = ?9, man_money = ?10, man_authority = ?11, man_need = ?12, needs = ?13, notes = ?14,
                    next_follow_up = ?15, updated_at = ?16 WHERE id = ?1",
                params![
                    lead_id, l.name, l.contact_name, l.phone, l.wechat, l.gender, birthday.map(|d| d.to_string()), source, consultant,
                    input.man_money, input.man_authority, input.man_need, l.needs, l.notes, next.map(|d| d.to_string()), w.now_text()
                ],
            )?;
            let lead = log_lead(w, lead_id, "update")?;
            search::index_lead(w, lead_id)?;
            Ok(lead)
        })
    }

    /// Moves a lead along the pipeline. Any open stage may move to any other or to
    /// lost (with a reason); a lost lead may be reopened; enrolled comes only from
    /// conversion and is final.
    pub fn lead_set_status(&self, session: &Session, lead_id: &str, status: &str, lost_reason: &str) -> Result<Lead> {
        session.require(Action::EditLeads)?;
        if !STATUSES.contains(&status) {
            return Err(CoreError::invalid(Field::Status, Rule::OneOf { allowed: STATUSES.iter().map(|s| s.to_string()).collect() }));
        }
        let reason = validate::optional_text(Field::LostReason, lost_reason, 100)?;
        if status == "lost" && reason.is_empty() {
            return Err(CoreError::invalid(Field::LostReason, Rule::Required));
        }
        self.write(session, |w| {
            let lead = load(w, lead_id)?;
            if lead.status == status {
                return Ok(lead);
            }
            if status == "enrolled" || lead.status == "enrolled" {
                return Err(CoreError::Conflict(Conflict::InvalidLeadTransition { from: lead.status, to: status.into() }));
            }
            w.execute(
                "UPDATE leads SET status = ?2, lost_reason = ?3, updated_at = ?4 WHERE id = ?1",
                params![lead_id, status, if status == "lost" { reason.as_str() } else { "" }, w.now_text()],
            )?;
            log_lead(w, lead_id, "set_status")
        })
    }

    /// Records a follow-up 跟进 and sets (or clears) the next follow-up date.
    pub fn lead_follow_up(&self, session: &Session, lead_id: &str, input: FollowUpInput) -> Result<FollowUp> {
        session.require(Action::EditLeads)?;
        let content = validate::required_text(Field::FollowUpContent, &input.content, 500)?;
        if !CHANNELS.contains(&input.channel.as_str()) {
            return Err(CoreError::invalid(Field::Channel, Rule::OneOf { allowed: CHANNELS.iter().map(|s| s.to_string()).collect() }));
        }
        let next = validate::optional_date(Field::NextFollowUp, &input.next_follow_up)?;
        self.write(session, |w| {
            let lead = load(w, lead_id)?;
            if let Some(n) = next {
                if n < w.today() {
                    return Err(CoreError::invalid(Field::NextFollowUp, Rule::NotInPast));
                }
            }
            let id = crate::new_id();
            w.execute(
                "INSERT INTO lead_follow_ups (id, lead_id, staff_id, at, channel, content, next_follow_up) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, lead_id, session.staff_id, w.now_text(), input.channel, content, next.map(|d| d.to_string())],
            )?;
            let fu = follow_up(w, &id)?;
            w.log("lead_follow_up", &id, "create", Some(lead_id), &fu)?;
            let new_status = if lead.status == "new" { "contacted" } else { lead.status.as_str() };
            w.execute(
                "UPDATE leads SET next_follow_up = ?2, status = ?3, updated_at = ?4 WHERE id = ?1",
                params![lead_id, next.map(|d| d.to_string()), new_status, w.now_text()],
            )?;
            log_lead(w, lead_id, "follow_up")?;
            Ok(fu)
        })
    }

    /// Converts a lead into a member (an application awaiting approval). The lead's
    /// contact becomes the guardian, and the lead's history shows on the member's
    /// timeline.
    pub fn lead_convert(&self, session: &Session, lead_id: &str, input: ConvertInput) -> Result<Member> {
        session.require(Action::EditLeads)?;
        session.require(Action::EditMembers)?;
        self.write(session, |w| {
            let lead = load(w, lead_id)?;
            if lead.converted_member_id.is_some() || lead.status == "enrolled" {
                return Err(CoreError::Conflict(Conflict::LeadAlreadyConverted));
            }
            let gender = match lead.gender.as_deref() {
                Some(g) if input.gender.trim().is_empty() => g,
                _ => validate::gender(Field::Gender, &input.gender)?,
            };
            let member_id = members::insert_member(w, &lead.name, gender, None, &lead.notes, Some(lead_id), lead.birthday.clone())?;
            if !lead.phone.is_empty() {
                let guardian_name = if lead.contact_name.is_empty() { lead.name.clone() } else { lead.contact_name.clone() };
                let relation = if input.relation.trim().is_empty() { "家长".to_string() } else { validate::required_text(Field::Relation, &input.relation, 10)? };
                let gid = members::insert_guardian(w, &guardian_name, &lead.phone, &lead.wechat)?;
                members::link_guardian(w, &member_id, &gid, &relation, true)?;
            }
            w.execute(
                "UPDATE leads SET status = 'enrolled', converted_member_id = ?2, next_follow_up = NULL, updated_at = ?3 WHERE id = ?1",
                params![lead_id, member_id, w.now_text()],
            )?;
            log_lead(w, lead_id, "convert")?;
            members::load_member(w, &member_id)
        })
    }

    pub fn lead_get(&self, session: &Session, lead_id: &str) -> Result<LeadDetail> {
        session.require(Action::ViewLeads)?;
        self.read(|c| {
            let lead = load(c, lead_id)?;
            let consultant_name = staff_name(c, &lead.consultant_id)?;
            let mut stmt = c.prepare(
                "SELECT f.id FROM lead_follow_ups f WHERE f.lead_id = ?1 ORDER BY f.at DESC",
            )?;
            let ids: Vec<String> = stmt.query_map([lead_id], |r| r.get("id"))?.collect::<rusqlite::Result<_>>()?;
            let follow_ups = ids.iter().map(|id| follow_up(c, id)).collect::<Result<_>>()?;
            let timeline = members::timeline(c, &[Some(lead_id)], 100)?;
            Ok(LeadDetail { lead, consultant_name, follow_ups, timeline })
        })
    }

    pub fn lead_list(&self, session: &Session, filter: LeadFilter) -> Result<Vec<LeadRow>> {
        session.require(Action::ViewLeads)?;
        let today = self.today();
        let consultant = if session.role == Role::Consultant { Some(session.staff_id.clone()) } else { filter.consultant_id.filter(|s| !s.is_empty()) };
        let window = match filter.due.as_deref().filter(|s| !s.is_empty()) {
            Some(d) => Some(due_window(d, today).ok_or_else(|| {
                CoreError::invalid(Field::NextFollowUp, Rule::OneOf { allowed: vec!["today".into(), "week".into(), "month".into(), "overdue".into()] })
            })?),
            None => None,
        };
        let limit = if filter.limit <= 0 { 200 } else { filter.limit.min(1000) };
        let status = filter.status.filter(|s| !s.is_empty());
        self.read(|c| {
            let open = format!("'{}'", OPEN.join("','"));
            let sql = format!(
                "SELECT {COLUMNS}, s.display_name FROM leads l LEFT JOIN staff s ON s.id = l.consultant_id
                 WHERE (?1 IS NULL OR l.status = ?1)
                   AND (?2 IS NULL OR l.consultant_id = ?2)
                   AND (?3 IS NULL OR (l.status IN ({open}) AND l.next_follow_up BETWEEN ?3 AND ?4))
                 ORDER BY CASE WHEN ?3 IS NULL THEN l.created_at END DESC, l.next_follow_up, l.created_at DESC
                 LIMIT ?5"
            );
            let mut stmt = c.prepare(&sql)?;
            let (from, to) = match window {
                Some((f, t)) => (Some(f.to_string()), Some(t.to_string())),
                None => (None, None),
            };
            let today_text = today.to_string();
            let rows = stmt
                .query_map(params![status, consultant, from, to, limit], |r| {
                    let lead = from_row(r)?;
                    let overdue = OPEN.contains(&lead.status.as_str()) && lead.next_follow_up.as_deref().is_some_and(|d| d < today_text.as_str());
                    Ok(LeadRow { consultant_name: r.get("display_name")?, lead, overdue })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }
}

fn staff_name(c: &Connection, id: &Option<String>) -> Result<Option<String>> {
    match id {
        Some(id) => Ok(c.query_row("SELECT display_name FROM staff WHERE id = ?1", [id], |r| r.get(0)).optional()?),
        None => Ok(None),
    }
}

fn follow_up(c: &Connection, id: &str) -> Result<FollowUp> {
    Ok(c.query_row(
        "SELECT f.id, f.lead_id, f.staff_id, COALESCE(s.display_name, '') AS staff_name, f.at, f.channel, f.content, f.next_follow_up
         FROM lead_follow_ups f LEFT JOIN staff s ON s.id = f.staff_id WHERE f.id = ?1",
        [id],
        |r| {
            Ok(FollowUp {
                id: r.get("id")?,
                lead_id: r.get("lead_id")?,
                staff_id: r.get("staff_id")?,
                staff_name: r.get("staff_name")?,
                at: r.get("at")?,
                channel: r.get("channel")?,
                content: r.get("content")?,
                next_follow_up: r.get("next_follow_up")?,
            })
        },
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_up_windows() {
        let wed = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(due_window("today", wed).unwrap().1, wed);
        assert_eq!(due_window("overdue", wed).unwrap().1, NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
        assert_eq!(due_window("week", wed).unwrap().1, NaiveDate::from_ymd_opt(2026, 11, 29).unwrap());
        assert_eq!(due_window("month", wed).unwrap().1, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        let dec = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(due_window("month", dec).unwrap().1, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        assert!(due_window("someday", wed).is_none());
    }
}
