//! Notices nobody has to remember 自动提醒: a renewal reminder for each contract that
//! ends within N days or has at most k lessons left (one per contract, unless it is
//! renewed first), a birthday greeting on the day, and — if the centre wants them —
//! class reminders (`class_reminders.rs`). The scan is idempotent: each
//! notice carries a key (`renewal_due:<contract>`, `birthday:<member>:<year>`) and is
//! queued once per guardian however often the scan runs.

use super::{class_reminders, guardians_of, queue, templates, NewNotice};
use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{CoreError, Field, Lang, Result, Rule};
use crate::settings::{get, put};
use crate::validate;
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct NotifySettings {
    /// The language notices go out in.
    pub lang: Lang,
    /// Remind when a contract ends within this many days (0: never by date).
    pub renewal_days: i64,
    /// Remind when a lesson package has this many lessons left or fewer.
    pub renewal_lessons: i64,
    pub birthdays: bool,
    /// Class reminders: `off`, `evening` (the day before, from 19:00) or `hours` (N hours before).
    pub class_reminder: String,
    /// With `hours`: how many hours before the class (1–48).
    pub class_reminder_hours: i64,
    /// Only for trial classes.
    pub class_reminder_trials_only: bool,
}

fn load(c: &rusqlite::Connection) -> Result<NotifySettings> {
    Ok(NotifySettings {
        lang: templates::notice_lang(c)?,
        renewal_days: get(c, "notice_renewal_days")?.and_then(|v| v.parse().ok()).unwrap_or(14),
        renewal_lessons: get(c, "notice_renewal_lessons")?.and_then(|v| v.parse().ok()).unwrap_or(2),
        birthdays: get(c, "notice_birthdays")?.map(|v| v == "1").unwrap_or(true),
        class_reminder: get(c, "notice_class_reminder")?.filter(|v| class_reminders::MODES.contains(&v.as_str())).unwrap_or_else(|| "off".into()),
        class_reminder_hours: get(c, "notice_class_reminder_hours")?.and_then(|v| v.parse().ok()).unwrap_or(3),
        class_reminder_trials_only: get(c, "notice_class_reminder_trials")?.map(|v| v == "1").unwrap_or(false),
    })
}

impl Core {
    pub fn notify_settings(&self, session: &Session) -> Result<NotifySettings> {
        session.require(Action::ViewMembers)?;
        self.read(load)
    }

    pub fn notify_settings_set(&self, session: &Session, input: NotifySettings) -> Result<NotifySettings> {
        session.require(Action::EditSettings)?;
        validate::int_in(Field::ValidityDays, input.renewal_days, 0, 90)?;
        validate::int_in(Field::Lessons, input.renewal_lessons, 0, 50)?;
        if !class_reminders::MODES.contains(&input.class_reminder.as_str()) {
            return Err(CoreError::invalid(Field::ClassReminder, Rule::OneOf { allowed: class_reminders::MODES.iter().map(|m| m.to_string()).collect() }));
        }
        validate::int_in(Field::ReminderHours, input.class_reminder_hours, 1, class_reminders::MAX_HOURS)?;
        self.write(session, |w| {
            let old = load(w)?;
            if old.lang != input.lang {
                put(w, "notice_lang", if input.lang == Lang::En { "en" } else { "zh-CN" })?;
            }
            if old.renewal_days != input.renewal_days {
                put(w, "notice_renewal_days", &input.renewal_days.to_string())?;
            }
            if old.renewal_lessons != input.renewal_lessons {
                put(w, "notice_renewal_lessons", &input.renewal_lessons.to_string())?;
            }
            if old.birthdays != input.birthdays {
                put(w, "notice_birthdays", if input.birthdays { "1" } else { "0" })?;
            }
            if old.class_reminder != input.class_reminder {
                put(w, "notice_class_reminder", &input.class_reminder)?;
            }
            if old.class_reminder_hours != input.class_reminder_hours {
                put(w, "notice_class_reminder_hours", &input.class_reminder_hours.to_string())?;
            }
            if old.class_reminder_trials_only != input.class_reminder_trials_only {
                put(w, "notice_class_reminder_trials", if input.class_reminder_trials_only { "1" } else { "0" })?;
            }
            load(w)
        })
    }

    /// Queues the renewal reminders, birthday and holiday greetings due today and the class
    /// reminders due now; returns how many notices it queued. Safe to run any number of times.
    pub fn notify_scan(&self) -> Result<i64> {
        let (now, tz) = (self.now(), self.timezone());
        let today = self.today();
        let (settings, renewals, birthdays, reminders, holidays) = self.read(|c| {
            let s = load(c)?;
            // The one rule of renewals.rs, with the reminder's own window; each contract
            // is reminded once (its dedupe key).
            let window = crate::renewals::Window { days: s.renewal_days, lessons: s.renewal_lessons };
            let (due, _) = crate::renewals::due_rows(c, &today.to_string(), window, usize::MAX, false)?;
            let mut reminded = c.prepare_cached("SELECT EXISTS (SELECT 1 FROM notices WHERE dedupe_key = 'renewal_due:' || ?1)")?;
            let mut renewals = vec![];
            for d in due {
                if !reminded.query_row([&d.contract_id], |r| r.get::<_, bool>(0))? {
                    renewals.push((d.contract_id, d.member_id, d.member_name, d.package_name, d.end_date, d.lessons_remaining.unwrap_or(-1)));
                }
            }
            let md = today.format("-%m-%d").to_string();
            // A child born on 29 February is greeted on the 28th when the year has no 29th.
            let leap_day_on_28th = today.month() == 2 && today.day() == 28 && today.with_day(29).is_none();
            let key = |id: &str| format!("birthday:{id}:{}", today.format("%Y"));
            // Greeted already this year: skipped here, so a scan every minute writes nothing.
            let mut stmt = c.prepare(
                "SELECT id, name FROM members m WHERE status = 'active' AND (birthday LIKE '%' || ?1 OR (?3 AND birthday LIKE '%-02-29'))
                   AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.dedupe_key = 'birthday:' || m.id || ':' || ?2)",
            )?;
            let birthdays = stmt
                .query_map(rusqlite::params![md, today.format("%Y").to_string(), leap_day_on_28th], |r| Ok((r.get::<_, String>("id")?, r.get::<_, String>("name")?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .map(|(id, name)| (key(&id), id, name))
                .collect::<Vec<_>>();
            let rule = class_reminders::Rule { mode: &s.class_reminder, hours: s.class_reminder_hours, trials_only: s.class_reminder_trials_only };
            let reminders = class_reminders::due(c, tz, now, &rule)?;
            let holidays = super::holidays::due(c, today, templates::notice_lang(c)?)?;
            Ok((s, renewals, birthdays, reminders, holidays))
        })?;
        let birthdays = if settings.birthdays { birthdays } else { vec![] };
        if renewals.is_empty() && birthdays.is_empty() && reminders.is_empty() && holidays.is_empty() {
            return Ok(0);
        }
        self.write_as(None, |w| {
            let centre = get(w, "centre_name")?.unwrap_or_default();
            let mut queued = 0;
            for (contract, member, name, package, end_date, left) in &renewals {
                let lessons_left = if *left < 0 { "—".to_string() } else { left.to_string() };
                let text = templates::render(
                    w,
                    "renewal_due",
                    &[("centre", centre.clone()), ("member", name.clone()), ("package", package.clone()), ("end_date", end_date.clone()), ("lessons_left", lessons_left)],
                )?;
                let recipients = guardians_of(w, member)?;
                queued += queue(
                    w,
                    &NewNotice { kind: "renewal_due", member_id: Some(member), lead_id: None, session_id: None, text, dedupe_key: Some(format!("renewal_due:{contract}")) },
                    &recipients,
                )?;
            }
            for (key, member, name) in &birthdays {
                // The greeting by tier: `{tier}` and `{tier_wish}` (see tiers.rs).
                let (tier, tier_wish) = crate::tiers::birthday_values(w, member, templates::notice_lang(w)?)?;
                let text = templates::render(w, "birthday", &[("centre", centre.clone()), ("member", name.clone()), ("tier", tier), ("tier_wish", tier_wish)])?;
                let recipients = guardians_of(w, member)?;
                queued += queue(w, &NewNotice { kind: "birthday", member_id: Some(member), lead_id: None, session_id: None, text, dedupe_key: Some(key.clone()) }, &recipients)?;
            }
            for g in &holidays {
                let values = [("centre", centre.clone()), ("member", g.member.clone()), ("holiday", g.holiday.clone()), ("tier", g.tier.clone())];
                let text = templates::render(w, "holiday", &values)?;
                let recipients = guardians_of(w, &g.member_id)?;
                let notice = NewNotice { kind: "holiday", member_id: Some(&g.member_id), lead_id: None, session_id: None, text, dedupe_key: Some(g.key.clone()) };
                queued += queue(w, &notice, &recipients)?;
            }
            for r in &reminders {
                let s = &r.session;
                let text = templates::render(w, "class_reminder", &templates::lesson_values(&centre, &r.name, s))?;
                let recipients = match (&r.member_id, &r.lead_id) {
                    (Some(member), _) => guardians_of(w, member)?,
                    (None, Some(lead)) => super::lead_recipient(w, lead)?,
                    _ => vec![],
                };
                let notice = NewNotice { kind: "class_reminder", member_id: r.member_id.as_deref(), lead_id: r.lead_id.as_deref(), session_id: Some(&s.id), text, dedupe_key: Some(r.key.clone()) };
                queued += queue(w, &notice, &recipients)?;
            }
            Ok(queued)
        })
    }
}
