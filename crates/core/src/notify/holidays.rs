//! Holiday greetings 节日问候, part of a tier's care plan: on each date of the centre's
//! holiday list, every current member of a tier whose care plan has holiday greetings on
//! (`TierDef::holiday_greetings`) gets one greeting, to each guardian, through the outbox.
//!
//! Dates are data, not rules: Spring Festival and Mid-Autumn move with the lunar calendar,
//! so the list holds each occurrence as a date (the manager keeps it in Settings → 会员等级 →
//! 节日问候日期; a centre that never edited it has `DEFAULT`). The notifier's scan queues a
//! day's greetings on that day only — a desk switched off on the day does not send them
//! late — and once per holiday and member (key `holiday:<date>:<member>`). A centre that
//! wants to greet every member gives its first tier a threshold of 0.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{CoreError, Field, Result, Rule};
use crate::{settings, validate};
use chrono::NaiveDate;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// At most this many dates in the list.
pub const MAX_HOLIDAYS: usize = 60;

/// One date of the list.
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct Holiday {
    /// YYYY-MM-DD, the centre's business date.
    pub date: String,
    pub name_zh: String,
    /// Empty: the Chinese name is used in English notices.
    #[serde(default)]
    pub name_en: String,
}

/// The list a centre starts with: the holidays families are greeted on, 2027 and 2028
/// (Spring Festival and Mid-Autumn from the published lunar calendar).
pub const DEFAULT: &[(&str, &str, &str)] = &[
    ("2027-01-01", "元旦", "New Year's Day"),
    ("2027-02-06", "春节", "Spring Festival"),
    ("2027-06-01", "儿童节", "Children's Day"),
    ("2027-09-10", "教师节", "Teachers' Day"),
    ("2027-09-15", "中秋节", "Mid-Autumn Festival"),
    ("2027-10-01", "国庆节", "National Day"),
    ("2028-01-01", "元旦", "New Year's Day"),
    ("2028-01-26", "春节", "Spring Festival"),
    ("2028-06-01", "儿童节", "Children's Day"),
    ("2028-09-10", "教师节", "Teachers' Day"),
    ("2028-10-01", "国庆节", "National Day"),
    ("2028-10-03", "中秋节", "Mid-Autumn Festival"),
];

pub(crate) fn load(c: &Connection) -> Result<Vec<Holiday>> {
    Ok(match settings::get(c, "holidays")? {
        Some(v) => serde_json::from_str(&v).unwrap_or_default(),
        None => DEFAULT.iter().map(|(d, zh, en)| Holiday { date: d.to_string(), name_zh: zh.to_string(), name_en: en.to_string() }).collect(),
    })
}

/// Checks the list as typed; returns it trimmed and in date order.
fn check(input: &[Holiday]) -> Result<Vec<Holiday>> {
    if input.len() > MAX_HOLIDAYS {
        return Err(CoreError::invalid(Field::Holiday, Rule::TooMany { max: MAX_HOLIDAYS }));
    }
    let mut out: Vec<Holiday> = vec![];
    for h in input {
        let date = validate::date(Field::Holiday, &h.date)?.to_string();
        let name_zh = validate::required_text(Field::HolidayName, &h.name_zh, 12)?;
        let name_en = validate::optional_text(Field::HolidayName, &h.name_en, 30)?;
        if out.iter().any(|o| o.date == date) {
            return Err(CoreError::invalid(Field::Holiday, Rule::Duplicate { value: date }));
        }
        out.push(Holiday { date, name_zh, name_en });
    }
    out.sort_by(|a, b| a.date.cmp(&b.date));
    Ok(out)
}

/// A greeting due today and not yet queued.
pub(crate) struct Greeting {
    pub key: String,
    pub member_id: String,
    pub member: String,
    /// The holiday's and the member's tier's names in the notice language.
    pub holiday: String,
    pub tier: String,
}

/// Today's greetings not yet queued, named in `lang`.
pub(crate) fn due(c: &Connection, today: NaiveDate, lang: crate::error::Lang) -> Result<Vec<Greeting>> {
    let today_text = today.to_string();
    let Some(holiday) = load(c)?.into_iter().find(|h| h.date == today_text) else { return Ok(vec![]) };
    let name = if holiday.name_en.is_empty() { holiday.name_zh.clone() } else { lang.pick(&holiday.name_zh, &holiday.name_en) };
    let greeted: Vec<String> = crate::tiers::load_config(c)?.tiers.into_iter().filter(|t| t.holiday_greetings).map(|t| t.name_zh).collect();
    let mut out = vec![];
    // The tier's names as stored with the member (what the member page and the birthday
    // greeting's `{tier}` show).
    let mut stmt = c.prepare_cached(
        "SELECT m.id, m.name, t.name_zh, t.name_en FROM member_tiers t JOIN members m ON m.id = t.member_id
          WHERE t.level > 0 AND t.name_zh = ?1 AND m.status = 'active' AND m.merged_into IS NULL
            AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.dedupe_key = 'holiday:' || ?2 || ':' || m.id)
          ORDER BY m.member_no, m.id",
    )?;
    for tier in &greeted {
        let rows = stmt.query_map([tier, &today_text], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?)))?;
        for row in rows {
            let (id, member, tier_zh, tier_en) = row?;
            out.push(Greeting { key: format!("holiday:{today_text}:{id}"), member_id: id, member, holiday: name.clone(), tier: lang.pick(&tier_zh, &tier_en) });
        }
    }
    Ok(out)
}

impl Core {
    /// The holiday list (every staff member may read it).
    pub fn holidays(&self, session: &Session) -> Result<Vec<Holiday>> {
        session.require(Action::ViewMembers)?;
        self.read(load)
    }

    /// Replaces the holiday list (manager).
    pub fn holidays_set(&self, session: &Session, input: Vec<Holiday>) -> Result<Vec<Holiday>> {
        session.require(Action::EditSettings)?;
        let list = check(&input)?;
        self.write(session, |w| {
            if load(w)? != list || settings::get(w, "holidays")?.is_none() {
                settings::put(w, "holidays", &serde_json::to_string(&list).unwrap_or_default())?;
            }
            load(w)
        })
    }
}
