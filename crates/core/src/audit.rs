//! Reading the change log: the audit trail (who did what, when) that the manager
//! supervises and the outbox that head-office sync will drain.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::Result;
use serde::Serialize;
use ts_rs::TS;

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
                    let payload: String = r.get(9)?;
                    Ok(ChangeEntry {
                        seq: r.get(0)?,
                        op_id: r.get(1)?,
                        at: r.get(2)?,
                        staff_id: r.get(3)?,
                        staff_name: r.get(4)?,
                        entity: r.get(5)?,
                        entity_id: r.get(6)?,
                        op: r.get(7)?,
                        subject_id: r.get(8)?,
                        payload: serde_json::from_str(&payload).unwrap_or_default(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }
}
