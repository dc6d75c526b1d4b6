//! A consultant's hand-over 移交客户: when a consultant leaves (or changes post), the
//! manager hands all of their families to another staff member in one step:
//! - their members — those whose consultant is theirs today (a hand-over's owner, else
//!   the newest contract's consultant, else the lead's; members who left or were merged
//!   stay as they are) — get the new one as their own consultant (`member_consultants`),
//!   which then counts for return visits and the churn list whatever later contracts
//!   name, until the next hand-over. The sales already made stay the old consultant's:
//!   no contract is rewritten;
//! - their open leads (not enrolled, not lost) move to the new consultant;
//! - the return visits planned for them and not yet made move too;
//! - the tiers whose care plan names them as owner 专属顾问 name the new one.
//! All in one transaction, each row logged; the preview counts the same rows.

use crate::auth::{Action, Role, Session};
use crate::db::{Core, WriteTx};
use crate::error::{CoreError, Field, Result, Rule};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct HandOverInput {
    pub from_staff_id: String,
    pub to_staff_id: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq, Default)]
#[ts(export)]
pub struct HandOverCounts {
    pub members: i64,
    pub leads: i64,
    pub visits: i64,
    /// Tiers whose care plan names the leaver as owner.
    pub tiers: i64,
}

/// Whose member a member is, disabled staff included (the hand-over takes over from them;
/// the scorecard's consultant table folds the same order in Rust).
const OWNER_SQL: &str = "COALESCE((SELECT mc.consultant_id FROM member_consultants mc WHERE mc.member_id = m.id),
    (SELECT k.consultant_id FROM contracts k WHERE k.member_id = m.id AND k.status <> 'refunded' AND k.consultant_id IS NOT NULL
        ORDER BY k.start_date DESC, k.created_at DESC LIMIT 1),
    (SELECT l.consultant_id FROM leads l WHERE l.id = m.lead_id))";

struct Rows {
    members: Vec<String>,
    leads: Vec<String>,
    visits: Vec<String>,
    tiers: i64,
}

impl Rows {
    fn counts(&self) -> HandOverCounts {
        HandOverCounts { members: self.members.len() as i64, leads: self.leads.len() as i64, visits: self.visits.len() as i64, tiers: self.tiers }
    }
}

fn rows(c: &Connection, from: &str) -> Result<Rows> {
    let ids = |sql: &str| -> Result<Vec<String>> { Ok(c.prepare(sql)?.query_map([from], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?) };
    Ok(Rows {
        members: ids(&format!("SELECT m.id FROM members m WHERE m.merged_into IS NULL AND m.status NOT IN ('applicant', 'left') AND {OWNER_SQL} = ?1 ORDER BY m.id"))?,
        leads: ids("SELECT id FROM leads WHERE consultant_id = ?1 AND status NOT IN ('enrolled', 'lost') ORDER BY id")?,
        visits: ids("SELECT id FROM visit_plans WHERE assignee_id = ?1 AND status = 'open' ORDER BY id")?,
        tiers: crate::tiers::load_config(c)?.tiers.iter().filter(|t| t.owner_id.as_deref() == Some(from)).count() as i64,
    })
}

/// Both ends checked: two different staff members, the receiver active and able to own families.
fn check(c: &Connection, input: &HandOverInput) -> Result<()> {
    let role_of = |id: &str, field: Field| -> Result<(Role, bool)> {
        c.query_row("SELECT role, active FROM staff WHERE id = ?1", [id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))
            .optional()?
            .map(|(role, active)| (Role::parse(&role).unwrap_or(Role::Coach), active))
            .ok_or(CoreError::NotFound(field))
    };
    role_of(&input.from_staff_id, Field::Staff)?;
    let (role, active) = role_of(&input.to_staff_id, Field::Consultant)?;
    if input.from_staff_id == input.to_staff_id {
        return Err(CoreError::invalid(Field::Consultant, Rule::Duplicate { value: input.to_staff_id.clone() }));
    }
    if !active || !matches!(role, Role::Consultant | Role::Manager) {
        return Err(CoreError::invalid(Field::Consultant, Rule::OneOf { allowed: vec![Role::Consultant.as_str().into(), Role::Manager.as_str().into()] }));
    }
    Ok(())
}

impl Core {
    /// What a hand-over would move; nothing is saved.
    pub fn hand_over_preview(&self, session: &Session, input: &HandOverInput) -> Result<HandOverCounts> {
        session.require(Action::ManageStaff)?;
        self.read(|c| {
            check(c, input)?;
            Ok(rows(c, &input.from_staff_id)?.counts())
        })
    }

    /// Hands every family of one staff member to another (see the module doc).
    pub fn hand_over(&self, session: &Session, input: HandOverInput) -> Result<HandOverCounts> {
        session.require(Action::ManageStaff)?;
        self.write(session, |w| {
            check(w, &input)?;
            let r = rows(w, &input.from_staff_id)?;
            let (from, to) = (input.from_staff_id.as_str(), input.to_staff_id.as_str());
            for m in &r.members {
                set_owner(w, m, to, from)?;
            }
            let now = w.now_text();
            for l in &r.leads {
                w.execute("UPDATE leads SET consultant_id = ?2, updated_at = ?3 WHERE id = ?1", params![l, to, now])?;
                crate::leads::log_lead(w, l, "hand_over")?;
            }
            for v in &r.visits {
                w.execute("UPDATE visit_plans SET assignee_id = ?2, updated_at = ?3 WHERE id = ?1", params![v, to, now])?;
                crate::visits::log_plan(w, v, "hand_over")?;
            }
            if r.tiers > 0 {
                let mut cfg = crate::tiers::load_config(w)?;
                for t in cfg.tiers.iter_mut().filter(|t| t.owner_id.as_deref() == Some(from)) {
                    t.owner_id = Some(to.to_string());
                }
                crate::settings::put(w, "tiers", &serde_json::to_string(&cfg).unwrap_or_default())?;
            }
            Ok(r.counts())
        })
    }
}

fn set_owner(w: &mut WriteTx, member_id: &str, to: &str, from: &str) -> Result<()> {
    let (today, now) = (w.today().to_string(), w.now_text());
    w.execute(
        "INSERT INTO member_consultants (member_id, consultant_id, previous_id, since, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(member_id) DO UPDATE SET consultant_id = excluded.consultant_id, previous_id = excluded.previous_id, since = excluded.since, updated_at = excluded.updated_at",
        params![member_id, to, from, today, now],
    )?;
    let row: serde_json::Value = w.query_row(
        "SELECT json_object('member_id', mc.member_id, 'consultant_id', mc.consultant_id, 'consultant_name', s.display_name, 'previous_id', mc.previous_id,
            'previous_name', p.display_name, 'since', mc.since)
         FROM member_consultants mc JOIN staff s ON s.id = mc.consultant_id LEFT JOIN staff p ON p.id = mc.previous_id WHERE mc.member_id = ?1",
        [member_id],
        |r| Ok(serde_json::from_str(&r.get::<_, String>(0)?).unwrap_or_default()),
    )?;
    w.log("member_consultant", member_id, "hand_over", Some(member_id), &row)
}
