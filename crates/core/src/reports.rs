//! Reports 报表 for the manager. Each report is one query whose rows feed both the
//! screen (table and chart) and the CSV, so the two can never disagree.
//!
//! Revenue 营收: the payments ledger summed by day, ISO week or month, by payment
//! method, by package and by consultant, with refunds and reversals apart and the net.
//! Sums run in SQL over INTEGER fen, so every total equals the ledger to the fen.
//!
//! Attendance 出勤: marks per class group, coach or member, and the rate
//! attended / (attended + absent), where attended is present, late or make-up and leave
//! is excused (it counts neither way); and the members who stopped coming: a valid
//! contract today but no lesson attended in N days.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{CoreError, Field, Lang, Result, Rule};
use crate::export::{csv_bytes, Cell};
use crate::money::Money;
use crate::validate;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const PERIODS: [&str; 3] = ["day", "week", "month"];

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct RevenueFilter {
    pub from_date: String,
    pub to_date: String,
    /// `day`, `week` (ISO, Monday first) or `month`.
    pub period: String,
    /// Only contracts sold by this consultant.
    #[serde(default)]
    #[ts(optional)]
    pub consultant_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct RevenueRow {
    /// `2026-11-25`, `2026-W48` or `2026-11`; for the breakdowns, the method, package or
    /// consultant.
    pub key: String,
    pub label: String,
    pub received: Money,
    pub refunded: Money,
    /// Corrections (reversing entries), negative when they took money back.
    pub reversed: Money,
    pub net: Money,
    pub entries: i64,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct RevenueReport {
    pub by_period: Vec<RevenueRow>,
    pub by_method: Vec<RevenueRow>,
    pub by_package: Vec<RevenueRow>,
    pub by_consultant: Vec<RevenueRow>,
    pub total: RevenueRow,
}

/// The grouping expression over `p.business_date` for a period.
fn period_sql(period: &str) -> Result<&'static str> {
    Ok(match period {
        "day" => "p.business_date",
        // strftime('%W') is not ISO; the Thursday of the entry's week names its ISO year
        // and week: year of that Thursday, and (day-of-year of that Thursday + 6) / 7.
        "week" => {
            "strftime('%Y', p.business_date, '-3 days', 'weekday 4') || '-W' ||
             printf('%02d', (CAST(strftime('%j', p.business_date, '-3 days', 'weekday 4') AS INTEGER) + 6) / 7)"
        }
        "month" => "substr(p.business_date, 1, 7)",
        _ => return Err(CoreError::invalid(Field::Period, Rule::OneOf { allowed: PERIODS.iter().map(|s| s.to_string()).collect() })),
    })
}

impl Core {
    pub fn revenue(&self, session: &Session, filter: &RevenueFilter, lang: Lang) -> Result<RevenueReport> {
        session.require(Action::ViewReports)?;
        let from = validate::date(Field::FromDate, &filter.from_date)?;
        let to = validate::date(Field::ToDate, &filter.to_date)?;
        if to < from {
            return Err(CoreError::invalid(Field::ToDate, Rule::NotBefore { other: Field::FromDate }));
        }
        let period = period_sql(&filter.period)?;
        let consultant = filter.consultant_id.clone().filter(|s| !s.is_empty());
        let (from, to) = (from.to_string(), to.to_string());
        self.read(|c| {
            let group = |key: &str, label: &str| -> Result<Vec<RevenueRow>> {
                let sql = format!(
                    "SELECT {key}, {label},
                        SUM(CASE WHEN p.kind = 'payment' THEN p.amount ELSE 0 END),
                        SUM(CASE WHEN p.kind = 'refund' THEN p.amount ELSE 0 END),
                        SUM(CASE WHEN p.kind = 'reversal' THEN p.amount ELSE 0 END),
                        SUM(p.amount), COUNT(*)
                     FROM payments p
                     LEFT JOIN contracts k ON k.id = p.contract_id
                     LEFT JOIN staff s ON s.id = k.consultant_id
                     WHERE p.business_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR k.consultant_id = ?3)
                     GROUP BY 1 ORDER BY {order}",
                    order = if key == period { "1" } else { "6 DESC, 1" }
                );
                let mut stmt = c.prepare(&sql)?;
                let rows = stmt
                    .query_map(params![from, to, consultant], |r| {
                        Ok(RevenueRow {
                            key: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                            label: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                            received: Money::from_fen(r.get(2)?),
                            refunded: Money::from_fen(r.get(3)?),
                            reversed: Money::from_fen(r.get(4)?),
                            net: Money::from_fen(r.get(5)?),
                            entries: r.get(6)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            };
            let mut by_method = group("p.method", "p.method")?;
            for row in &mut by_method {
                row.label = crate::payments::method_label(&row.key, lang);
            }
            let by_package = group("COALESCE(k.package_name, '')", "COALESCE(k.package_name, '')")?
                .into_iter()
                .map(|mut r| {
                    if r.key.is_empty() {
                        r.label = lang.pick("（未关联合同）", "(no contract)");
                    }
                    r
                })
                .collect();
            let by_consultant = group("COALESCE(k.consultant_id, '')", "COALESCE(s.display_name, '')")?
                .into_iter()
                .map(|mut r| {
                    if r.key.is_empty() {
                        r.label = lang.pick("（无顾问）", "(no consultant)");
                    }
                    r
                })
                .collect();
            let by_period: Vec<RevenueRow> = group(period, period)?;
            let sum = |f: fn(&RevenueRow) -> Money| by_period.iter().map(f).sum::<Money>();
            let total = RevenueRow {
                key: "total".into(),
                label: lang.pick("合计", "Total"),
                received: sum(|r| r.received),
                refunded: sum(|r| r.refunded),
                reversed: sum(|r| r.reversed),
                net: sum(|r| r.net),
                entries: by_period.iter().map(|r| r.entries).sum(),
            };
            Ok(RevenueReport { by_period, by_method, by_package, by_consultant, total })
        })
    }

    /// The revenue report by period as CSV (the same rows as the screen), with the total.
    pub fn revenue_csv(&self, session: &Session, filter: &RevenueFilter, lang: Lang, bom: bool) -> Result<crate::export::CsvFile> {
        let report = self.revenue(session, filter, lang)?;
        let header = [
            lang.pick("期间", "Period"),
            lang.pick("收款", "Received"),
            lang.pick("退费", "Refunded"),
            lang.pick("冲正", "Reversed"),
            lang.pick("净收入", "Net"),
            lang.pick("笔数", "Entries"),
        ];
        let rows: Vec<Vec<Cell>> = report
            .by_period
            .iter()
            .chain(std::iter::once(&report.total))
            .map(|r| {
                vec![
                    Cell::Text(r.label.clone()),
                    Cell::Number(r.received.to_string()),
                    Cell::Number(r.refunded.to_string()),
                    Cell::Number(r.reversed.to_string()),
                    Cell::Number(r.net.to_string()),
                    Cell::Number(r.entries.to_string()),
                ]
            })
            .collect();
        let bytes = csv_bytes(&header, &rows, bom)?;
        let name = format!("{}-{}_{}.csv", lang.pick("营收", "revenue"), filter.from_date, filter.to_date);
        Ok(crate::export::CsvFile { file_name: name, bytes, rows: rows.len() as i64 })
    }
}

pub const ATTENDANCE_BY: [&str; 3] = ["group", "coach", "member"];

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct AttendanceFilter {
    pub from_date: String,
    pub to_date: String,
    /// `group`, `coach` or `member`.
    pub by: String,
    /// "Stopped coming" after this many days without a lesson (default 21).
    #[serde(default)]
    #[ts(optional)]
    pub inactive_days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct AttendanceRow {
    pub key: String,
    pub label: String,
    pub sessions: i64,
    pub present: i64,
    pub late: i64,
    pub absent: i64,
    pub leave: i64,
    pub makeup: i64,
    /// attended / (attended + absent) in tenths of a percent (1000 = 100 %); None when
    /// nobody was expected.
    pub rate_permille: Option<i64>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct StoppedComing {
    pub member_id: String,
    pub member_no: Option<String>,
    pub name: String,
    pub guardian_phone: Option<String>,
    /// The last lesson attended, if any.
    pub last_attended: Option<String>,
    pub days_since: i64,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct AttendanceReport {
    pub rows: Vec<AttendanceRow>,
    pub total: AttendanceRow,
    pub stopped_coming: Vec<StoppedComing>,
    pub inactive_days: i64,
}

fn rate(attended: i64, absent: i64) -> Option<i64> {
    let expected = attended + absent;
    // Rounded half up, in integers.
    (expected > 0).then(|| (attended * 1000 * 2 + expected) / (expected * 2))
}

impl Core {
    pub fn attendance_report(&self, session: &Session, filter: &AttendanceFilter, lang: Lang) -> Result<AttendanceReport> {
        session.require(Action::ViewReports)?;
        let from = validate::date(Field::FromDate, &filter.from_date)?;
        let to = validate::date(Field::ToDate, &filter.to_date)?;
        if to < from {
            return Err(CoreError::invalid(Field::ToDate, Rule::NotBefore { other: Field::FromDate }));
        }
        let (key, label) = match filter.by.as_str() {
            "group" => ("s.group_id", "g.name"),
            "coach" => ("s.coach_id", "c.display_name"),
            "member" => ("a.member_id", "m.name || COALESCE(' ' || m.member_no, '')"),
            _ => return Err(CoreError::invalid(Field::Period, Rule::OneOf { allowed: ATTENDANCE_BY.iter().map(|s| s.to_string()).collect() })),
        };
        let inactive_days = filter.inactive_days.unwrap_or(21);
        if !(1..=365).contains(&inactive_days) {
            return Err(CoreError::invalid(Field::Period, Rule::IntRange { min: 1, max: 365 }));
        }
        let today = self.today();
        let since = (today - chrono::Duration::days(inactive_days)).to_string();
        let (from, to, today) = (from.to_string(), to.to_string(), today.to_string());
        self.read(|c| {
            let sql = format!(
                "SELECT {key}, {label}, COUNT(DISTINCT a.session_id),
                    SUM(a.mark = 'present'), SUM(a.mark = 'late'), SUM(a.mark = 'absent'), SUM(a.mark = 'leave'), SUM(a.mark = 'makeup')
                 FROM attendance a JOIN class_sessions s ON s.id = a.session_id JOIN class_groups g ON g.id = s.group_id
                 JOIN staff c ON c.id = s.coach_id JOIN members m ON m.id = a.member_id
                 WHERE s.date BETWEEN ?1 AND ?2 AND a.mark <> 'trial'
                 GROUP BY 1 ORDER BY 2"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows: Vec<AttendanceRow> = stmt
                .query_map(params![from, to], |r| {
                    let (present, late, absent, leave, makeup): (i64, i64, i64, i64, i64) = (r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?);
                    Ok(AttendanceRow {
                        key: r.get(0)?,
                        label: r.get(1)?,
                        sessions: r.get(2)?,
                        present,
                        late,
                        absent,
                        leave,
                        makeup,
                        rate_permille: rate(present + late + makeup, absent),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let sessions: i64 = c.query_row(
                "SELECT COUNT(DISTINCT a.session_id) FROM attendance a JOIN class_sessions s ON s.id = a.session_id WHERE s.date BETWEEN ?1 AND ?2",
                params![from, to],
                |r| r.get(0),
            )?;
            let sum = |f: fn(&AttendanceRow) -> i64| rows.iter().map(f).sum::<i64>();
            let (present, late, absent, leave, makeup) = (sum(|r| r.present), sum(|r| r.late), sum(|r| r.absent), sum(|r| r.leave), sum(|r| r.makeup));
            let total = AttendanceRow {
                key: "total".into(),
                label: lang.pick("合计", "Total"),
                sessions,
                present,
                late,
                absent,
                leave,
                makeup,
                rate_permille: rate(present + late + makeup, absent),
            };
            let mut stmt = c.prepare(
                "SELECT m.id, m.member_no, m.name,
                    (SELECT g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id WHERE mg.member_id = m.id ORDER BY mg.is_primary DESC LIMIT 1),
                    (SELECT MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id
                      WHERE a.member_id = m.id AND a.mark IN ('present','late','makeup') AND s.date <= ?1),
                    (SELECT MIN(k.start_date) FROM contracts k WHERE k.member_id = m.id AND k.status = 'active' AND k.start_date <= ?1 AND k.end_date >= ?1
                       AND (k.kind = 'term' OR k.lessons_used < k.lessons_total))
                 FROM members m
                 WHERE m.status = 'active'
                   AND EXISTS (SELECT 1 FROM contracts k WHERE k.member_id = m.id AND k.status = 'active' AND k.start_date <= ?1 AND k.end_date >= ?1
                                 AND (k.kind = 'term' OR k.lessons_used < k.lessons_total))
                   AND NOT EXISTS (SELECT 1 FROM attendance a JOIN class_sessions s ON s.id = a.session_id
                                    WHERE a.member_id = m.id AND a.mark IN ('present','late','makeup') AND s.date > ?2 AND s.date <= ?1)",
            )?;
            let today_date = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap_or_default();
            let mut stopped: Vec<StoppedComing> = stmt
                .query_map(params![today, since], |r| {
                    let last: Option<String> = r.get(4)?;
                    let covered_from: Option<String> = r.get(5)?;
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, last, covered_from))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .filter_map(|(member_id, member_no, name, guardian_phone, last, covered_from)| {
                    // Counted from the last lesson, or from when the contract began.
                    let reference = last.clone().or(covered_from)?;
                    let days_since = (today_date - chrono::NaiveDate::parse_from_str(&reference, "%Y-%m-%d").ok()?).num_days();
                    (days_since >= inactive_days).then_some(StoppedComing { member_id, member_no, name, guardian_phone, last_attended: last, days_since })
                })
                .collect();
            stopped.sort_by(|a, b| b.days_since.cmp(&a.days_since).then(a.name.cmp(&b.name)));
            Ok(AttendanceReport { rows, total, stopped_coming: stopped, inactive_days })
        })
    }
}

impl Core {
    /// The attendance report's rows as CSV (the same rows as the screen), with the total.
    pub fn attendance_csv(&self, session: &Session, filter: &AttendanceFilter, lang: Lang, bom: bool) -> Result<crate::export::CsvFile> {
        let report = self.attendance_report(session, filter, lang)?;
        let header = [
            match filter.by.as_str() {
                "coach" => lang.pick("教练", "Coach"),
                "member" => lang.pick("会员", "Member"),
                _ => lang.pick("班级", "Class"),
            },
            lang.pick("课节", "Sessions"),
            lang.pick("到课", "Present"),
            lang.pick("迟到", "Late"),
            lang.pick("缺勤", "Absent"),
            lang.pick("请假", "Leave"),
            lang.pick("补课", "Make-up"),
            lang.pick("出勤率%", "Rate %"),
        ];
        let percent = |p: Option<i64>| p.map(|p| format!("{}.{}", p / 10, p % 10)).unwrap_or_default();
        let rows: Vec<Vec<Cell>> = report
            .rows
            .iter()
            .chain(std::iter::once(&report.total))
            .map(|r| {
                let mut cells = vec![Cell::Text(r.label.clone())];
                cells.extend([r.sessions, r.present, r.late, r.absent, r.leave, r.makeup].map(|n| Cell::Number(n.to_string())));
                cells.push(Cell::Number(percent(r.rate_permille)));
                cells
            })
            .collect();
        let bytes = csv_bytes(&header, &rows, bom)?;
        let name = format!("{}-{}_{}.csv", lang.pick("出勤", "attendance"), filter.from_date, filter.to_date);
        Ok(crate::export::CsvFile { file_name: name, bytes, rows: rows.len() as i64 })
    }
}
