//! A closure tells the families: declaring days closed 停课 (a holiday, the hall under
//! repair) cancels every class session still to come in those days — from today on, and
//! not one already held (it has a roll call) — and, when the desk chooses after seeing how
//! many families and the text (`Core::closure_preview`), queues one notice per child
//! expected in any of them (the class group on the day and approved trials, not those on
//! leave), to each guardian, naming the days and the lessons missed. Once per closure: the
//! key is the closure and the child. Regenerating the timetable afterwards keeps the
//! cancelled sessions as they are (changed by hand) and tells nobody.

use super::templates;
use super::{guardians_of, NewNotice};
use crate::db::WriteTx;
use crate::error::Result;
use crate::timetable::ClassSession;
use chrono::NaiveDate;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::BTreeMap;
use ts_rs::TS;

/// What declaring the days closed means: the sessions it cancels and a text per child.
pub(crate) struct Affected {
    pub sessions: Vec<ClassSession>,
    /// (member, text), in the order of the children's first missed lesson.
    pub texts: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq, Default)]
#[ts(export)]
pub struct ClosurePreview {
    /// Class sessions from today on in the days, not yet held: they are cancelled.
    pub sessions: i64,
    /// Children expected in them whose guardians will be told, and how many guardians.
    pub families: i64,
    pub guardians: i64,
    /// Children expected who have no guardian on record: nobody can be told.
    pub unreachable: i64,
    /// What the first family gets.
    pub sample: Option<String>,
}

/// The sessions in [from, to] still to come (from `today`), with no roll call yet.
pub(crate) fn affected(c: &Connection, today: NaiveDate, name: &str, from: NaiveDate, to: NaiveDate) -> Result<Affected> {
    let first = from.max(today).to_string();
    let ids: Vec<String> = c
        .prepare(
            "SELECT s.id FROM class_sessions s WHERE s.status = 'scheduled' AND s.date BETWEEN ?1 AND ?2
               AND NOT EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = s.id)
             ORDER BY s.date, s.start_time, s.id",
        )?
        .query_map([first, to.to_string()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut sessions = Vec::with_capacity(ids.len());
    // Per child, in the order first met: their name and the lessons they miss.
    let mut order: Vec<String> = vec![];
    let mut missed: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for id in ids {
        let s = crate::timetable::load_session(c, &id)?;
        let roster = crate::attendance::roster_on(c, s.clone())?;
        for e in roster.entries.iter().filter(|e| (e.expected || e.trial) && !e.on_leave) {
            let Some(member_id) = &e.member_id else { continue };
            let entry = missed.entry(member_id.clone()).or_insert_with(|| {
                order.push(member_id.clone());
                (e.name.clone(), vec![])
            });
            entry.1.push(format!("{} {}「{}」", s.date.get(5..).unwrap_or(&s.date), s.start_time, s.group_name));
        }
        sessions.push(s);
    }
    let centre = crate::settings::get(c, "centre_name")?.unwrap_or_default();
    let days = if from == to { from.to_string() } else { format!("{from}–{to}") };
    let mut texts = Vec::with_capacity(order.len());
    for member_id in order {
        let (member, lessons) = &missed[&member_id];
        let values = [
            ("centre", centre.clone()),
            ("member", member.clone()),
            ("name", name.to_string()),
            ("days", days.clone()),
            ("count", lessons.len().to_string()),
            ("lessons", lessons.join("、")),
        ];
        texts.push((member_id, templates::render(c, "closure", &values)?));
    }
    Ok(Affected { sessions, texts })
}

pub(crate) fn preview(c: &Connection, affected: &Affected) -> Result<ClosurePreview> {
    let r = super::reach(c, &affected.texts)?;
    Ok(ClosurePreview { sessions: affected.sessions.len() as i64, families: r.families, guardians: r.guardians, unreachable: r.unreachable, sample: r.sample })
}

/// Queues one notice per child to each guardian; how many were queued.
pub(crate) fn queue(w: &mut WriteTx, closure_id: &str, affected: &Affected) -> Result<i64> {
    let mut n = 0;
    for (member_id, text) in &affected.texts {
        let recipients = guardians_of(w, member_id)?;
        let key = format!("closure:{closure_id}:{member_id}");
        n += super::queue(
            w,
            &NewNotice { kind: "closure", member_id: Some(member_id), lead_id: None, session_id: None, text: text.clone(), dedupe_key: Some(key) },
            &recipients,
        )?;
    }
    Ok(n)
}
