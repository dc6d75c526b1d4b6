//! The clerk's home screen: who is about to expire or run out of lessons, whose
//! follow-up is due, the latest payments, and overdue complaints.

use crate::auth::{Action, Role, Session};
use crate::db::Core;
use crate::error::Result;
use crate::leads::{LeadFilter, LeadRow};
use crate::payments::{self, PaymentRow};
use chrono::Duration;
use rusqlite::params;
use serde::Serialize;
use ts_rs::TS;

/// Members expiring within this many days are listed.
pub const EXPIRY_WINDOW_DAYS: i64 = 30;
/// Members with this many lessons left or fewer are listed.
pub const FEW_LESSONS: i64 = 3;

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct RenewalDue {
    pub member_id: String,
    pub member_name: String,
    pub member_no: Option<String>,
    pub guardian_phone: Option<String>,
    pub contract_id: String,
    pub package_name: String,
    pub end_date: String,
    pub days_left: i64,
    pub lessons_remaining: Option<i64>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct HomeDashboard {
    pub today: String,
    pub centre_name: String,
    pub active_members: i64,
    pub applicants: i64,
    pub open_leads: i64,
    /// Today's classes (a coach sees his own).
    pub today_sessions: Vec<crate::timetable::ClassSession>,
    pub renewals_due: Vec<RenewalDue>,
    pub follow_ups_due: Vec<LeadRow>,
    pub recent_payments: Vec<PaymentRow>,
    /// Open complaints past their deadline: all of them for a manager, one's own otherwise.
    pub overdue_complaints: Vec<crate::feedback::Complaint>,
}

impl Core {
    pub fn home(&self, session: &Session) -> Result<HomeDashboard> {
        session.require(Action::ViewMembers)?;
        let today = self.today();
        let horizon = today + Duration::days(EXPIRY_WINDOW_DAYS);
        let follow_ups_due = if session.can(Action::ViewLeads) {
            self.lead_list(session, LeadFilter { due: Some("today".into()), limit: 100, ..Default::default() })?
        } else {
            vec![]
        };
        let today_sessions = self.session_list(
            session,
            crate::timetable::SessionFilter { from_date: today.to_string(), to_date: today.to_string(), ..Default::default() },
        )?;
        self.read(|c| {
            let count = |sql: &str| -> Result<i64> { Ok(c.query_row(sql, [], |r| r.get(0))?) };
            let mut stmt = c.prepare(
                "SELECT m.id, m.name, m.member_no,
                    (SELECT g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id
                      WHERE mg.member_id = m.id ORDER BY mg.is_primary DESC LIMIT 1),
                    k.id, k.package_name, k.end_date, CAST(julianday(k.end_date) - julianday(?1) AS INTEGER),
                    CASE WHEN k.kind = 'lessons' THEN k.lessons_total - k.lessons_used END AS left_
                 FROM contracts k JOIN members m ON m.id = k.member_id
                 WHERE k.status = 'active' AND k.end_date >= ?1
                   AND (k.end_date <= ?2 OR (k.kind = 'lessons' AND k.lessons_total - k.lessons_used <= ?3))
                   -- a member who already renewed is not due
                   AND NOT EXISTS (SELECT 1 FROM contracts n WHERE n.renewal_of = k.id AND n.status = 'active')
                 ORDER BY k.end_date, left_ LIMIT 200",
            )?;
            let renewals_due = stmt
                .query_map(params![today.to_string(), horizon.to_string(), FEW_LESSONS], |r| {
                    Ok(RenewalDue {
                        member_id: r.get(0)?,
                        member_name: r.get(1)?,
                        member_no: r.get(2)?,
                        guardian_phone: r.get(3)?,
                        contract_id: r.get(4)?,
                        package_name: r.get(5)?,
                        end_date: r.get(6)?,
                        days_left: r.get(7)?,
                        lessons_remaining: r.get(8)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let recent_payments = if session.role == Role::Coach { vec![] } else { payments::recent(c, 10)? };
            let overdue_complaints = crate::feedback::overdue(c, session, &today.to_string())?;
            Ok(HomeDashboard {
                today: today.to_string(),
                centre_name: crate::settings::get(c, "centre_name")?.unwrap_or_default(),
                active_members: count("SELECT COUNT(*) FROM members WHERE status = 'active'")?,
                applicants: count("SELECT COUNT(*) FROM members WHERE status = 'applicant'")?,
                open_leads: count("SELECT COUNT(*) FROM leads WHERE status NOT IN ('enrolled','lost')")?,
                today_sessions,
                renewals_due,
                follow_ups_due,
                recent_payments,
                overdue_complaints,
            })
        })
    }
}
