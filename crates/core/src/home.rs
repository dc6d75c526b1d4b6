//! The clerk's home screen: who is about to expire or run out of lessons, whose
//! follow-up is due, the latest payments, and overdue complaints.

use crate::arrears::Arrears;
use crate::auth::{Action, Role, Session};
use crate::db::Core;
use crate::error::{Lang, Result};
use crate::leads::{LeadFilter, LeadRow};
use crate::payments::{self, PaymentRow};
use crate::renewals::{self, RenewalDue, Window};
use serde::Serialize;
use ts_rs::TS;

/// Rows of each home list (the report and the members list have them all).
pub const HOME_ROWS: usize = 200;

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
    /// How many are due in all (the list holds the first `HOME_ROWS`).
    pub renewals_total: i64,
    /// The rule the list follows, in words (the same rule as the report's and the reminders').
    pub renewals_rule: String,
    /// Who owes money (for those who take payments; None otherwise).
    pub arrears: Option<Arrears>,
    pub follow_ups_due: Vec<LeadRow>,
    /// Return visits due this week that are the staff member's to make (a manager: all), overdue first.
    pub visits_due: Vec<crate::visits::VisitPlan>,
    /// Members at risk of leaving (not for coaches; a consultant's own).
    pub churn: Option<crate::churn::ChurnList>,
    pub recent_payments: Vec<PaymentRow>,
    /// Open complaints past their deadline: all of them for a manager, one's own otherwise.
    pub overdue_complaints: Vec<crate::feedback::Complaint>,
    /// For a manager: the last backup failed, or none is recent (None when all is well).
    pub backup_warning: Option<String>,
}

impl Core {
    pub fn home(&self, session: &Session, lang: Lang) -> Result<HomeDashboard> {
        session.require(Action::ViewMembers)?;
        let today = self.today();
        let follow_ups_due = if session.can(Action::ViewLeads) {
            self.lead_list(session, LeadFilter { due: Some("today".into()), limit: 100, ..Default::default() })?
        } else {
            vec![]
        };
        let today_sessions = self.session_list(
            session,
            crate::timetable::SessionFilter { from_date: today.to_string(), to_date: today.to_string(), ..Default::default() },
        )?;
        let backup_warning = if session.can(Action::ManageBackups) { self.backup_warning(lang) } else { None };
        self.read(|c| {
            let count = |sql: &str| -> Result<i64> { Ok(c.query_row(sql, [], |r| r.get(0))?) };
            let (renewals_due, renewals_total) = renewals::due(c, &today.to_string(), Window::DESK, HOME_ROWS)?;
            let recent_payments = if session.role == Role::Coach { vec![] } else { payments::recent(c, 10)? };
            let overdue_complaints = crate::feedback::overdue(c, session, &today.to_string())?;
            let visits_due = crate::visits::due(c, session, today, lang, HOME_ROWS as i64)?;
            let churn = if session.can(Action::WorkChurnList) { Some(crate::churn::list(c, session, today, lang, HOME_ROWS as i64)?) } else { None };
            let arrears = if session.can(Action::TakePayments) { Some(crate::arrears::owing(c, lang, HOME_ROWS)?) } else { None };
            Ok(HomeDashboard {
                today: today.to_string(),
                centre_name: crate::settings::get(c, "centre_name")?.unwrap_or_default(),
                active_members: count("SELECT COUNT(*) FROM members WHERE status = 'active'")?,
                applicants: count("SELECT COUNT(*) FROM members WHERE status = 'applicant'")?,
                open_leads: count("SELECT COUNT(*) FROM leads WHERE status NOT IN ('enrolled','lost')")?,
                today_sessions,
                renewals_due,
                renewals_total,
                renewals_rule: Window::DESK.rule(lang),
                arrears,
                follow_ups_due,
                visits_due,
                churn,
                recent_payments,
                overdue_complaints,
                backup_warning,
            })
        })
    }
}
