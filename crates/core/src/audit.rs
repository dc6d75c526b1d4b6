//! Reading the change log: the audit trail (who did what, when) that the manager
//! supervises and the outbox that head-office sync will drain.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::Result;
use serde::Serialize;
use ts_rs::TS;

pub use centredesk_protocol::changes::{declared, ChangeKind, CHANGES};
use centredesk_protocol::changes::kind;

/// "会员 · 登记申请" / "member: applied" — what staff activity shows for a kind of change.
pub fn change_label(entity: &str, op: &str, lang: crate::Lang) -> String {
    match kind(entity) {
        Some(k) => {
            let what = lang.pick(k.zh, k.en);
            match k.ops.iter().find(|o| o.0 == op) {
                Some(o) => match lang {
                    crate::Lang::ZhCn => format!("{what} · {}", o.1),
                    crate::Lang::En => format!("{what}: {}", o.2),
                },
                None => format!("{what} · {op}"),
            }
        }
        None => format!("{entity} · {op}"),
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ChangeEntry {
    pub seq: i64,
    pub op_id: String,
    pub at: String,
    pub staff_id: Option<String>,
    pub staff_name: Option<String>,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub subject_id: Option<String>,
    #[ts(type = "Record<string, unknown>")]
    pub payload: serde_json::Value,
}

impl Core {
    /// The newest `limit` entries, newest first (manager only: it is staff supervision).
    pub fn change_log_tail(&self, session: &Session, limit: i64) -> Result<Vec<ChangeEntry>> {
        session.require(Action::ViewStaffReports)?;
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT l.seq, l.op_id, l.at, l.staff_id, s.display_name, l.entity, l.entity_id, l.op, l.subject_id, l.payload
                 FROM change_log l LEFT JOIN staff s ON s.id = l.staff_id ORDER BY l.seq DESC LIMIT ?1",
            )?;
            let rows = stmt
                .query_map([limit.clamp(1, 10_000)], |r| {
                    let payload: String = r.get("payload")?;
                    Ok(ChangeEntry {
                        seq: r.get("seq")?,
                        op_id: r.get("op_id")?,
                        at: r.get("at")?,
                        staff_id: r.get("staff_id")?,
                        staff_name: r.get("display_name")?,
                        entity: r.get("entity")?,
                        entity_id: r.get("entity_id")?,
                        op: r.get("op")?,
                        subject_id: r.get("subject_id")?,
                        payload: serde_json::from_str(&payload).unwrap_or_default(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }
}

/// Staff activity 员工工作: what each staff member did in a period (counted by kind of
/// change), and the changes themselves — for one staff member, or one record's own
/// history when `entity_id` is given.
#[derive(Debug, Clone, serde::Deserialize, TS)]
#[ts(export)]
pub struct ActivityFilter {
    /// Business dates in the centre's time zone, inclusive.
    pub from_date: String,
    pub to_date: String,
    #[serde(default)]
    #[ts(optional)]
    pub staff_id: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub entity_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ActivityCount {
    pub staff_id: Option<String>,
    pub staff_name: Option<String>,
    pub entity: String,
    pub op: String,
    /// The kind of change in words (`change_label`), in the desk's language.
    pub label: String,
    pub count: i64,
}

/// One change, shaped like a timeline line (so the UI words it the same way).
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ActivityEntry {
    pub seq: i64,
    pub at: String,
    pub staff_name: Option<String>,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub label: String,
    pub subject_id: Option<String>,
    #[ts(type = "Record<string, unknown>")]
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct StaffActivity {
    pub counts: Vec<ActivityCount>,
    /// Newest first, at most ACTIVITY_LIMIT.
    pub entries: Vec<ActivityEntry>,
    pub total: i64,
}

pub const ACTIVITY_LIMIT: i64 = 500;

impl Core {
    pub fn staff_activity(&self, session: &Session, filter: &ActivityFilter, lang: crate::Lang) -> Result<StaffActivity> {
        session.require(Action::ViewStaffReports)?;
        let (from, to) = crate::validate::date_range(&filter.from_date, &filter.to_date)?;
        // The centre's days as UTC instants: [from 00:00, to+1 00:00).
        let tz = self.timezone();
        let text = crate::db::instant_text;
        let (start_at, end_at) = (crate::db::day_start(tz, from), crate::db::day_start(tz, to + chrono::Duration::days(1)));
        // Whole UTC hours inside the period are counted from `activity_hours` (migration
        // 0012); the odd minutes at either end (a centre whose offset is not whole hours)
        // from the log itself.
        let hour = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H").to_string();
        let floor = |t: chrono::DateTime<chrono::Utc>| {
            use chrono::{DurationRound, TimeDelta};
            t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t)
        };
        let first_full = if floor(start_at) == start_at { start_at } else { floor(start_at) + chrono::Duration::hours(1) };
        let last_full = floor(end_at).max(first_full);
        let (start, end) = (text(start_at), text(end_at));
        let (full_from, full_to) = (text(first_full), text(last_full));
        let (hour_from, hour_to) = (hour(first_full), hour(last_full));
        let staff = filter.staff_id.clone().filter(|s| !s.is_empty());
        let entity_id = filter.entity_id.clone().filter(|s| !s.is_empty());
        self.read(|c| {
            let scope = "l.at >= ?1 AND l.at < ?2 AND (?3 IS NULL OR l.staff_id = ?3) AND (?4 IS NULL OR l.entity_id = ?4 OR l.subject_id = ?4)";
            let counted = if entity_id.is_some() {
                format!("SELECT COALESCE(l.staff_id, '') AS staff_id, l.entity, l.op, COUNT(*) AS n FROM change_log l WHERE {scope} GROUP BY 1, 2, 3")
            } else {
                "SELECT staff_id, entity, op, n FROM activity_hours WHERE hour >= ?5 AND hour < ?6 AND (?3 IS NULL OR staff_id = ?3)
                 UNION ALL SELECT COALESCE(l.staff_id, ''), l.entity, l.op, 1 FROM change_log l WHERE l.at >= ?1 AND l.at < ?7 AND (?3 IS NULL OR l.staff_id = ?3)
                 UNION ALL SELECT COALESCE(l.staff_id, ''), l.entity, l.op, 1 FROM change_log l WHERE l.at >= ?8 AND l.at < ?2 AND (?3 IS NULL OR l.staff_id = ?3)"
                    .to_string()
            };
            let args: [&dyn rusqlite::ToSql; 8] = [&start, &end, &staff, &entity_id, &hour_from, &hour_to, &full_from, &full_to];
            let mut stmt = c.prepare(&format!(
                "SELECT NULLIF(g.staff_id, '') AS staff_id, s.display_name, g.entity, g.op, g.n
                 FROM (SELECT staff_id, entity, op, SUM(n) AS n FROM ({counted}) GROUP BY 1, 2, 3) g LEFT JOIN staff s ON s.id = g.staff_id
                 ORDER BY 2, 5 DESC"
            ))?;
            let counts: Vec<ActivityCount> = stmt
                .query_map(rusqlite::params_from_iter(if entity_id.is_some() { &args[..4] } else { &args[..] }), |r| {
                    {
                        let (entity, op): (String, String) = (r.get("entity")?, r.get("op")?);
                        Ok(ActivityCount { staff_id: r.get("staff_id")?, staff_name: r.get("display_name")?, label: change_label(&entity, &op, lang), entity, op, count: r.get("n")? })
                    }
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut stmt = c.prepare(&format!(
                "SELECT l.seq, l.at, s.display_name, l.entity, l.entity_id, l.op, l.subject_id, l.payload
                 FROM change_log l LEFT JOIN staff s ON s.id = l.staff_id WHERE {scope} ORDER BY l.at DESC, l.seq DESC LIMIT ?5"
            ))?;
            let entries: Vec<ActivityEntry> = stmt
                .query_map(rusqlite::params![start, end, staff, entity_id, ACTIVITY_LIMIT], |r| {
                    let payload: String = r.get("payload")?;
                    let data = serde_json::from_str::<serde_json::Value>(&payload).ok().and_then(|v| v.get("data").cloned()).unwrap_or_default();
                    {
                        let (entity, op): (String, String) = (r.get("entity")?, r.get("op")?);
                        Ok(ActivityEntry { seq: r.get("seq")?, at: r.get("at")?, staff_name: r.get("display_name")?, label: change_label(&entity, &op, lang), entity, entity_id: r.get("entity_id")?, op, subject_id: r.get("subject_id")?, data })
                    }
                })?
                .collect::<rusqlite::Result<_>>()?;
            let total = counts.iter().map(|x| x.count).sum();
            Ok(StaffActivity { counts, entries, total })
        })
    }
}
