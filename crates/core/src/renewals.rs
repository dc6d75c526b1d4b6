//! Renewals due 待续费: the one rule behind the home screen's panel, the renewals report
//! and the automatic reminder scan, so the three lists cannot disagree.
//!
//! A contract is due for renewal on a date when:
//! - it is not refunded and has not ended (its end date is today or later) — a lesson
//!   package used up before its end date counts (0 lessons left: the family must renew
//!   to keep coming);
//! - it has started;
//! - its member is current: not 流失 (left), not merged into another record (a lapsed
//!   member, 已过期 because this very contract ran out, is still due);
//! - it ends within the window's days, or (a lesson package) has at most the window's
//!   lessons left;
//! - nothing has replaced it yet: no other contract of the member (not refunded) ends
//!   later — a renewal, or any new package bought, answers it.
//!
//! The window is the centre's (home panel and report: `Window::DESK`, 30 days / 3
//! lessons) or the reminder's own (Settings → 家长通知, usually narrower).

use crate::error::Lang;
use rusqlite::{params, Connection};
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Ending within this many days from today (0: the date alone never makes it due).
    pub days: i64,
    /// A lesson package with this many lessons left or fewer.
    pub lessons: i64,
}

impl Window {
    /// The desk's window: the home panel and the renewals report.
    pub const DESK: Window = Window { days: 30, lessons: 3 };

    /// The rule in words, shown where the list is.
    pub fn rule(self, lang: Lang) -> String {
        match lang {
            Lang::ZhCn => format!(
                "{} 天内到期或剩余课时 ≤ {}（含今天到期、课时已用完但未到期的；已续费或另购了更晚结束的套餐、已退费、已流失的不列）",
                self.days, self.lessons
            ),
            Lang::En => format!(
                "ending within {} days or with {} lessons or fewer left (including those ending today and lesson packages used up before their end; not those renewed or followed by a later package, refunded, or left)",
                self.days, self.lessons
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
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
    pub consultant_name: Option<String>,
}

/// The contracts due on `today` under `window`, soonest end first; `limit` rows at most
/// (the count of all is returned too). The guardian phone is looked up only for the rows
/// returned (a large centre has thousands due within a month).
pub(crate) fn due(c: &Connection, today: &str, window: Window, limit: usize) -> crate::Result<(Vec<RenewalDue>, i64)> {
    due_rows(c, today, window, limit, true)
}

/// `due` without the phones (the reminder scan, every minute, needs none).
pub(crate) fn due_rows(c: &Connection, today: &str, window: Window, limit: usize, with_phone: bool) -> crate::Result<(Vec<RenewalDue>, i64)> {
    let mut stmt = c.prepare_cached(
        "SELECT m.id AS member_id, m.name, m.member_no, k.id AS contract_id, k.package_name, k.end_date,
            CAST(julianday(k.end_date) - julianday(?1) AS INTEGER) AS days_left,
            CASE WHEN k.kind = 'lessons' THEN k.lessons_total - k.lessons_used END AS left_,
            s.display_name
         FROM contracts k JOIN members m ON m.id = k.member_id LEFT JOIN staff s ON s.id = k.consultant_id
         WHERE k.status <> 'refunded' AND k.start_date <= ?1 AND k.end_date >= ?1
           AND m.status <> 'left' AND m.merged_into IS NULL
           AND ((?3 > 0 AND k.end_date <= date(?1, '+' || ?3 || ' days'))
                OR (k.kind = 'lessons' AND k.lessons_total - k.lessons_used <= ?2))
           AND NOT EXISTS (SELECT 1 FROM contracts n WHERE n.member_id = k.member_id AND n.id <> k.id
                             AND n.status <> 'refunded' AND n.end_date > k.end_date)
         ORDER BY k.end_date, left_, m.member_no",
    )?;
    let mut rows = stmt.query(params![today, window.lessons, window.days])?;
    let (mut out, mut total) = (Vec::new(), 0i64);
    while let Some(r) = rows.next()? {
        total += 1;
        if out.len() >= limit {
            continue;
        }
        let member_id: String = r.get("member_id")?;
        out.push(RenewalDue {
            guardian_phone: if with_phone { crate::members::primary_phone(c, &member_id)? } else { None },
            member_id,
            member_name: r.get("name")?,
            member_no: r.get("member_no")?,
            contract_id: r.get("contract_id")?,
            package_name: r.get("package_name")?,
            end_date: r.get("end_date")?,
            days_left: r.get("days_left")?,
            lessons_remaining: r.get("left_")?,
            consultant_name: r.get("display_name")?,
        });
    }
    Ok((out, total))
}
