//! Class reminders 上课提醒 — optional, per centre (Settings → 家长通知): the families of
//! the children expected in a class are reminded the evening before (from 19:00 the day
//! before, in the centre's time zone) or N hours before it starts; a centre may keep them
//! to trial classes (a lead's trial reaches the lead's phone). The notifier's scan queues
//! them once per child and session as it stands — a moved session is reminded again at
//! its new time — and never for a cancelled session, a class already begun, a child on
//! leave or already marked. A reminder whose time came while the desk was off still goes
//! if the class has not begun.

use crate::error::Result;
use crate::timetable::ClassSession;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use rusqlite::Connection;

pub const MODES: [&str; 3] = ["off", "evening", "hours"];
/// The evening reminder's hour, the day before the class.
pub const EVENING_HOUR: u32 = 19;
pub const MAX_HOURS: i64 = 48;

/// The centre's choice (part of `NotifySettings`).
pub(crate) struct Rule<'a> {
    pub mode: &'a str,
    pub hours: i64,
    pub trials_only: bool,
}

/// One reminder to queue: who (a member, or a lead for a trial), the session, its key.
pub(crate) struct Reminder {
    pub key: String,
    pub member_id: Option<String>,
    pub lead_id: Option<String>,
    pub name: String,
    pub session: ClassSession,
}

fn instant(tz: chrono_tz::Tz, date: &str, time: &str) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M").ok()?;
    Some(tz.from_local_datetime(&local).earliest()?.with_timezone(&Utc))
}

/// The reminders due at `now` and not queued yet.
pub(crate) fn due(c: &Connection, tz: chrono_tz::Tz, now: DateTime<Utc>, rule: &Rule) -> Result<Vec<Reminder>> {
    if !matches!(rule.mode, "evening" | "hours") {
        return Ok(vec![]);
    }
    let today = now.with_timezone(&tz).date_naive();
    // A class begins at most two days after its reminder (48 hours, or the evening before).
    let ids: Vec<String> = c
        .prepare_cached("SELECT id FROM class_sessions WHERE status = 'scheduled' AND date BETWEEN ?1 AND ?2 ORDER BY date, start_time, id")?
        .query_map([today.to_string(), (today + Duration::days(2)).to_string()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut sent = c.prepare_cached("SELECT EXISTS (SELECT 1 FROM notices WHERE dedupe_key = ?1)")?;
    let mut out = vec![];
    for id in ids {
        let s = crate::timetable::load_session(c, &id)?;
        let Some(start) = instant(tz, &s.date, &s.start_time) else { continue };
        let remind_at = match rule.mode {
            "evening" => {
                let day_before = chrono::NaiveDate::parse_from_str(&s.date, "%Y-%m-%d").ok().and_then(|d| d.pred_opt());
                match day_before.and_then(|d| instant(tz, &d.to_string(), &format!("{EVENING_HOUR:02}:00"))) {
                    Some(at) => at,
                    None => continue,
                }
            }
            _ => start - Duration::hours(rule.hours),
        };
        if now < remind_at || now >= start {
            continue;
        }
        let roster = crate::attendance::roster_on(c, s.clone())?;
        for e in roster.entries {
            if e.on_leave || e.mark.is_some() || !(e.expected || e.trial) || (rule.trials_only && !e.trial) {
                continue;
            }
            let who = match (&e.member_id, &e.lead_id) {
                (Some(m), _) => m.clone(),
                (None, Some(l)) => l.clone(),
                _ => continue,
            };
            let key = format!("class_reminder:{}:{who}:{}:{}", s.id, s.date, s.start_time);
            if sent.query_row([&key], |r| r.get::<_, bool>(0))? {
                continue;
            }
            out.push(Reminder { key, member_id: e.member_id.clone(), lead_id: if e.member_id.is_none() { e.lead_id.clone() } else { None }, name: e.name.clone(), session: s.clone() });
        }
    }
    Ok(out)
}
