//! Timetable changes tell the families: a cancelled session, a moved one (another day,
//! time or room) or a substitute coach queues a notice to the guardians of every child
//! expected in it — the class group on the session's date and approved member trials,
//! not those on leave for it — through the ordinary outbox. The desk sees how many
//! families and the text before it saves (`Core::session_change_preview`), and chooses
//! whether to send (`SessionChange::notify`). A notice is queued once per change: its
//! key is the session as changed, so saving the same change again tells nobody twice;
//! a note-only edit and a timetable regeneration tell nobody.

use super::templates;
use super::{guardians_of, NewNotice};
use crate::db::WriteTx;
use crate::error::Result;
use crate::timetable::ClassSession;
use rusqlite::Connection;
use serde::Serialize;
use ts_rs::TS;

/// The notices one change means: its kind, and (member, text) for each child expected.
pub(crate) struct Planned {
    pub kind: &'static str,
    pub texts: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq, Default)]
#[ts(export)]
pub struct ChangePreview {
    /// `session_cancelled`, `session_moved` or `session_coach`; None when the change tells nobody.
    pub kind: Option<String>,
    /// Children whose guardians will be told, and how many notices that is (one per guardian and child).
    pub families: i64,
    pub guardians: i64,
    /// Children expected who have no guardian on record: nobody can be told.
    pub unreachable: i64,
    /// What the first family gets.
    pub sample: Option<String>,
}

fn kind(before: &ClassSession, after: &ClassSession) -> Option<&'static str> {
    if after.status == "cancelled" {
        return (before.status != "cancelled").then_some("session_cancelled");
    }
    if (&before.date, &before.start_time, &before.end_time, &before.room_id) != (&after.date, &after.start_time, &after.end_time, &after.room_id)
        || before.status == "cancelled"
    {
        return Some("session_moved");
    }
    (before.coach_id != after.coach_id).then_some("session_coach")
}

/// The notices the change means; None when it tells nobody.
pub(crate) fn planned(c: &Connection, before: &ClassSession, after: &ClassSession) -> Result<Option<Planned>> {
    let Some(kind) = kind(before, after) else { return Ok(None) };
    let roster = crate::attendance::roster_on(c, before.clone())?;
    let centre = crate::settings::get(c, "centre_name")?.unwrap_or_default();
    let mut texts = vec![];
    for e in roster.entries.iter().filter(|e| (e.expected || e.trial) && !e.on_leave) {
        let Some(member_id) = &e.member_id else { continue };
        // The lesson as it is now, and when it was before.
        let mut values = templates::lesson_values(&centre, &e.name, after);
        values.extend([("old_date", before.date.clone()), ("old_start", before.start_time.clone()), ("note", after.note.clone())]);
        texts.push((member_id.clone(), templates::render(c, kind, &values)?));
    }
    Ok(Some(Planned { kind, texts }))
}

pub(crate) fn preview(c: &Connection, planned: &Option<Planned>) -> Result<ChangePreview> {
    let Some(p) = planned else { return Ok(ChangePreview::default()) };
    let r = super::reach(c, &p.texts)?;
    Ok(ChangePreview { kind: Some(p.kind.into()), families: r.families, guardians: r.guardians, unreachable: r.unreachable, sample: r.sample })
}

/// Queues the planned notices; how many were queued.
pub(crate) fn queue(w: &mut WriteTx, after: &ClassSession, planned: &Option<Planned>) -> Result<i64> {
    let mut n = 0;
    if let Some(p) = planned {
        for (member_id, text) in &p.texts {
            // Per child: a guardian of two children in the class gets one notice for each.
            let key = format!("{}:{}:{member_id}:{}:{}:{}:{}:{}:{}", p.kind, after.id, after.status, after.date, after.start_time, after.end_time, after.room_id, after.coach_id);
            let recipients = guardians_of(w, member_id)?;
            n += super::queue(
                w,
                &NewNotice { kind: p.kind, member_id: Some(member_id), lead_id: None, session_id: Some(&after.id), text: text.clone(), dedupe_key: Some(key.clone()) },
                &recipients,
            )?;
        }
    }
    Ok(n)
}
