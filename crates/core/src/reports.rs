//! Reports 报表 for the manager. Each report's rows are computed once (from the report
//! caches, folded in Rust where a breakdown needs it) and feed the screen's table, its
//! chart and the CSV alike, so they can never disagree.
//!
//! Revenue 营收: the payments ledger summed by day, ISO week or month, by payment
//! method, by package and by consultant, with refunds and reversals apart and the net.
//! Sums are INTEGER fen throughout, so every total equals the ledger to the fen. Goods
//! sold for money (less what returns paid back) are their own line, with the totals
//! without goods (the payments ledger, tuition) and with them; points sales are not money.
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
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const PERIODS: &[&str] = crate::vocab::ReportPeriod::CODES;

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
    /// Tuition: the payments ledger (contracts' payments, refunds, reversals).
    pub total: RevenueRow,
    /// Goods sold for money in the period; returns paid back count as refunded.
    pub goods: RevenueRow,
    /// Tuition and goods together.
    pub total_with_goods: RevenueRow,
}

/// The revenue report's tables, each exportable as CSV.
pub const REVENUE_TABLES: [&str; 5] = ["by_period", "by_method", "by_package", "by_consultant", "totals"];

/// The period a business date falls in: the day itself, its ISO week (`2026-W48`, Monday
/// first, named by the year its Thursday falls in) or its month.
#[derive(Clone, Copy)]
enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    fn parse(period: &str) -> Result<Period> {
        Ok(match period {
            "day" => Period::Day,
            "week" => Period::Week,
            "month" => Period::Month,
            _ => return Err(CoreError::invalid(Field::Period, Rule::OneOf { allowed: PERIODS.iter().map(|s| s.to_string()).collect() })),
        })
    }

    fn key(self, date: &str) -> Result<String> {
        Ok(match self {
            Period::Day => date.to_string(),
            Period::Week => {
                let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|e| CoreError::Internal(format!("ledger date {date}: {e}")))?;
                let w = chrono::Datelike::iso_week(&d);
                format!("{}-W{:02}", w.year(), w.week())
            }
            Period::Month => date.get(..7).unwrap_or(date).to_string(),
        })
    }
}

/// Sums of one breakdown line, in fen, while folding.
#[derive(Default, Clone, Copy)]
struct Sums {
    received: i64,
    refunded: i64,
    reversed: i64,
    entries: i64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.received += o.received;
        self.refunded += o.refunded;
        self.reversed += o.reversed;
        self.entries += o.entries;
    }
    fn row(&self, key: String, label: String) -> RevenueRow {
        RevenueRow {
            key,
            label,
            received: Money::from_fen(self.received),
            refunded: Money::from_fen(self.refunded),
            reversed: Money::from_fen(self.reversed),
            net: Money::from_fen(self.received + self.refunded + self.reversed),
            entries: self.entries,
        }
    }
}

/// Lines keyed by the breakdown's key, with its label; periods in order, the other
/// breakdowns by net, largest first.
fn lines(map: std::collections::HashMap<String, (String, Sums)>, by_key: bool) -> Vec<RevenueRow> {
    let mut rows: Vec<RevenueRow> = map.into_iter().map(|(k, (label, s))| s.row(k, label)).collect();
    if by_key {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
    } else {
        rows.sort_by(|a, b| b.net.cmp(&a.net).then_with(|| a.key.cmp(&b.key)));
    }
    rows
}

impl Core {
    /// Read from `payment_days` (migration 0012: the ledger summed per day, method,
    /// package and consultant by a trigger), folded here into the four breakdowns; the
    /// sums are integers in fen all the way, so the totals still equal the ledger.
    pub fn revenue(&self, session: &Session, filter: &RevenueFilter, lang: Lang) -> Result<RevenueReport> {
        session.require(Action::ViewReports)?;
        let (from, to) = validate::date_range(&filter.from_date, &filter.to_date)?;
        let period_of = Period::parse(&filter.period)?;
        let consultant = filter.consultant_id.clone().filter(|s| !s.is_empty());
        let (from, to) = (from.to_string(), to.to_string());
        let cells = self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT d.business_date, d.method, d.package_name, d.consultant_id, COALESCE(s.display_name, '') AS consultant_name,
                        d.received, d.refunded, d.reversed, d.entries
                 FROM payment_days d LEFT JOIN staff s ON s.id = d.consultant_id
                 WHERE d.business_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR d.consultant_id = ?3)",
            )?;
            let rows = stmt
                .query_map(params![from, to, consultant], |r| {
                    let sums = Sums { received: r.get("received")?, refunded: r.get("refunded")?, reversed: r.get("reversed")?, entries: r.get("entries")? };
                    Ok((r.get::<_, String>("business_date")?, r.get::<_, String>("method")?, r.get::<_, String>("package_name")?, r.get::<_, String>("consultant_id")?, r.get::<_, String>("consultant_name")?, sums))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })?;
        let goods = self.read(|c| {
            let sold: (i64, i64) = c.query_row(
                "SELECT COALESCE(SUM(amount), 0) AS fen, COUNT(*) AS entries FROM goods_sales WHERE method <> 'points' AND business_date BETWEEN ?1 AND ?2",
                params![from, to],
                |r| Ok((r.get("fen")?, r.get("entries")?)),
            )?;
            let back: (i64, i64) = c.query_row(
                "SELECT COALESCE(SUM(amount), 0) AS fen, COUNT(*) AS entries FROM goods_returns WHERE method <> 'points' AND amount > 0 AND business_date BETWEEN ?1 AND ?2",
                params![from, to],
                |r| Ok((r.get("fen")?, r.get("entries")?)),
            )?;
            Ok(Sums { received: sold.0, refunded: -back.0, reversed: 0, entries: sold.1 + back.1 })
        })?;
        type Lines = std::collections::HashMap<String, (String, Sums)>;
        let (mut period, mut method, mut package, mut by_consultant): (Lines, Lines, Lines, Lines) = Default::default();
        let mut last_day = (String::new(), String::new());
        let mut total = Sums::default();
        for (day, m, pkg, cons, cons_name, sums) in cells {
            if day != last_day.0 {
                last_day = (period_of.key(&day)?, day);
            }
            period.entry(last_day.0.clone()).or_insert_with(|| (last_day.0.clone(), Sums::default())).1.add(&sums);
            method.entry(m.clone()).or_insert_with(|| (crate::payments::method_label(&m, lang), Sums::default())).1.add(&sums);
            let pkg_label = if pkg.is_empty() { lang.pick("（未关联合同）", "(no contract)") } else { pkg.clone() };
            package.entry(pkg).or_insert_with(|| (pkg_label, Sums::default())).1.add(&sums);
            let cons_label = if cons.is_empty() { lang.pick("（无顾问）", "(no consultant)") } else { cons_name };
            by_consultant.entry(cons).or_insert_with(|| (cons_label, Sums::default())).1.add(&sums);
            total.add(&sums);
        }
        Ok(RevenueReport {
            by_period: lines(period, true),
            by_method: lines(method, false),
            by_package: lines(package, false),
            by_consultant: lines(by_consultant, false),
            total: total.row("total".into(), lang.pick("学费合计（不含商品）", "Tuition total (without goods)")),
            goods: goods.row("goods".into(), lang.pick("商品销售", "Goods sold")),
            total_with_goods: {
                let mut all = total;
                all.add(&goods);
                all.row("total_with_goods".into(), lang.pick("合计（含商品）", "Total with goods"))
            },
        })
    }

    /// One table of the revenue report as CSV (the same rows as the screen): `by_period`
    /// (with the tuition total), `by_method`, `by_package`, `by_consultant`, or `totals`
    /// (tuition, goods, both).
    pub fn revenue_csv(&self, session: &Session, filter: &RevenueFilter, table: &str, lang: Lang, bom: bool) -> Result<crate::export::CsvFile> {
        let report = self.revenue(session, filter, lang)?;
        let (first, lines, title): (String, Vec<&RevenueRow>, String) = match table {
            "by_period" => (lang.pick("期间", "Period"), report.by_period.iter().chain([&report.total]).collect(), lang.pick("营收", "revenue")),
            "by_method" => (lang.pick("支付方式", "Method"), report.by_method.iter().chain([&report.total]).collect(), lang.pick("营收-支付方式", "revenue-methods")),
            "by_package" => (lang.pick("套餐", "Package"), report.by_package.iter().chain([&report.total]).collect(), lang.pick("营收-套餐", "revenue-packages")),
            "by_consultant" => (lang.pick("课程顾问", "Consultant"), report.by_consultant.iter().chain([&report.total]).collect(), lang.pick("营收-顾问", "revenue-consultants")),
            "totals" => (lang.pick("项目", "Line"), vec![&report.total, &report.goods, &report.total_with_goods], lang.pick("营收-合计", "revenue-totals")),
            _ => return Err(CoreError::invalid(Field::Report, Rule::OneOf { allowed: REVENUE_TABLES.iter().map(|s| s.to_string()).collect() })),
        };
        let header = [
            first,
            lang.pick("收款", "Received"),
            lang.pick("退费", "Refunded"),
            lang.pick("冲正", "Reversed"),
            lang.pick("净收入", "Net"),
            lang.pick("笔数", "Entries"),
        ];
        let rows: Vec<Vec<Cell>> = lines
            .into_iter()
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
        let bytes = csv_bytes(&header, &rows, bom, &self.csv_footer(lang))?;
        let name = format!("{title}-{}_{}.csv", filter.from_date, filter.to_date);
        Ok(crate::export::CsvFile { file_name: name, bytes, rows: rows.len() as i64 })
    }
}

pub const ATTENDANCE_BY: &[&str] = crate::vocab::AttendanceBy::CODES;

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
    /// By class or coach every row, by name; by member the lowest rates first (most
    /// absences first among equals), at most `SCREEN_ROWS` of them on the screen.
    pub rows: Vec<AttendanceRow>,
    /// How many rows the report has in full (the CSV has them all).
    pub total_rows: i64,
    pub total: AttendanceRow,
    pub stopped_coming: Vec<StoppedComing>,
    pub inactive_days: i64,
}

fn rate(attended: i64, absent: i64) -> Option<i64> {
    let expected = attended + absent;
    // Rounded half up, in integers.
    (expected > 0).then(|| (attended * 1000 * 2 + expected) / (expected * 2))
}

/// By class group or coach: the per-session counts of `session_marks` (migration 0012),
/// reached from the period's sessions (CROSS JOIN keeps SQLite from scanning every mark);
/// every row, with the count and the sums, as `rows_by_member` gives them.
fn rows_by_session(c: &rusqlite::Connection, from: &str, to: &str, key: &str, label: &str) -> Result<(Vec<AttendanceRow>, i64, [i64; 6])> {
    let mut stmt = c.prepare(&format!(
        "SELECT {key} AS row_key, MAX({label}) AS row_label, COUNT(*) AS sessions, SUM(k.present) AS present, SUM(k.late) AS late,
                SUM(k.absent) AS absent, SUM(k.leave) AS leave, SUM(k.makeup) AS makeup
         FROM class_sessions s CROSS JOIN session_marks k ON k.session_id = s.id
         JOIN class_groups g ON g.id = s.group_id JOIN staff c ON c.id = s.coach_id
         WHERE s.date BETWEEN ?1 AND ?2 AND k.present + k.late + k.absent + k.leave + k.makeup > 0
         GROUP BY 1 ORDER BY 2"
    ))?;
    let mut sums = [0; 6];
    let rows: Vec<AttendanceRow> = stmt
        .query_map(params![from, to], |r| Ok((r.get("row_key")?, r.get("row_label")?, [r.get("sessions")?, r.get("present")?, r.get("late")?, r.get("absent")?, r.get("leave")?, r.get("makeup")?])))?
        .map(|x| {
            x.map(|(key, label, counts): (String, String, [i64; 6])| {
                for (s, n) in sums.iter_mut().zip(counts) {
                    *s += n;
                }
                attendance_row(key, label, counts)
            })
        })
        .collect::<rusqlite::Result<_>>()?;
    let n = rows.len() as i64;
    Ok((rows, n, sums))
}

/// By member: every mark of the period's sessions (read off the covering index
/// `attendance_session_member`) counted here rather than by SQLite's GROUP BY, which
/// sorted 170,000 marks for four weeks of a large centre. Rows come lowest rate first
/// (most absences first among equals, then by name): the `limit` with the most lessons
/// missed, named by one lookup each, with the sums and the count of all members.
fn rows_by_member(c: &rusqlite::Connection, from: &str, to: &str, limit: usize) -> Result<(Vec<AttendanceRow>, i64, [i64; 6])> {
    let mut counts: std::collections::HashMap<String, [i64; 6]> = std::collections::HashMap::new();
    let mut stmt = c.prepare(
        "SELECT a.member_id, a.mark FROM class_sessions s CROSS JOIN attendance a ON a.session_id = s.id
         WHERE s.date BETWEEN ?1 AND ?2 AND a.mark <> 'trial'",
    )?;
    let mut marks = stmt.query(params![from, to])?;
    while let Some(r) = marks.next()? {
        let at = match r.get_ref("mark")?.as_bytes().map_err(rusqlite::Error::from)? {
            b"present" => 0,
            b"late" => 1,
            b"absent" => 2,
            b"leave" => 3,
            b"makeup" => 4,
            _ => continue,
        };
        let id = r.get_ref("member_id")?.as_str().map_err(rusqlite::Error::from)?;
        let entry = match counts.get_mut(id) {
            Some(e) => e,
            None => counts.entry(id.to_string()).or_default(),
        };
        entry[0] += 1;
        entry[at + 1] += 1;
    }
    let mut sums = [0; 6];
    for n in counts.values() {
        for (s, x) in sums.iter_mut().zip(n) {
            *s += x;
        }
    }
    let total_rows = counts.len() as i64;
    let order = |n: &[i64; 6]| (rate(n[1] + n[2] + n[5], n[3]).unwrap_or(i64::MAX), std::cmp::Reverse(n[3]));
    let mut members: Vec<(String, [i64; 6])> = counts.into_iter().collect();
    members.sort_unstable_by(|a, b| order(&a.1).cmp(&order(&b.1)).then_with(|| a.0.cmp(&b.0)));
    members.truncate(limit);
    let mut label = c.prepare("SELECT name || COALESCE(' ' || member_no, '') FROM members WHERE id = ?1")?;
    let mut rows = Vec::with_capacity(members.len());
    for (id, n) in members {
        let name: String = label.query_row([&id], |r| r.get(0)).optional()?.unwrap_or_default();
        rows.push(attendance_row(id, name, n));
    }
    rows.sort_by(|a, b| (a.rate_permille.unwrap_or(i64::MAX), std::cmp::Reverse(a.absent), &a.label).cmp(&(b.rate_permille.unwrap_or(i64::MAX), std::cmp::Reverse(b.absent), &b.label)));
    Ok((rows, total_rows, sums))
}

fn attendance_row(key: String, label: String, [sessions, present, late, absent, leave, makeup]: [i64; 6]) -> AttendanceRow {
    AttendanceRow { key, label, sessions, present, late, absent, leave, makeup, rate_permille: rate(present + late + makeup, absent) }
}

impl Core {
    /// The report as the screen gets it: by member, the `SCREEN_ROWS` lowest rates.
    pub fn attendance_report(&self, session: &Session, filter: &AttendanceFilter, lang: Lang) -> Result<AttendanceReport> {
        self.attendance(session, filter, lang, crate::analysis::SCREEN_ROWS)
    }

    fn attendance(&self, session: &Session, filter: &AttendanceFilter, lang: Lang, limit: usize) -> Result<AttendanceReport> {
        session.require(Action::ViewReports)?;
        let (from, to) = validate::date_range(&filter.from_date, &filter.to_date)?;
        // By class or coach: the key and label of `rows_by_session`; by member: None.
        let by_session = match filter.by.as_str() {
            "group" => Some(("s.group_id", "g.name")),
            "coach" => Some(("s.coach_id", "c.display_name")),
            "member" => None,
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
            let (rows, total_rows, [_, present, late, absent, leave, makeup]) = match by_session {
                None => rows_by_member(c, &from, &to, limit)?,
                Some((key, label)) => rows_by_session(c, &from, &to, key, label)?,
            };
            let sessions: i64 = c.query_row(
                "SELECT COUNT(*) FROM class_sessions s CROSS JOIN session_marks k ON k.session_id = s.id
                 WHERE s.date BETWEEN ?1 AND ?2 AND k.present + k.late + k.absent + k.leave + k.makeup + k.trial > 0",
                params![from, to],
                |r| r.get(0),
            )?;
            let total = attendance_row("total".into(), lang.pick("合计", "Total"), [sessions, present, late, absent, leave, makeup]);
            let stopped_coming = stopped_coming(c, &today, &since, inactive_days)?;
            Ok(AttendanceReport { rows, total_rows, total, stopped_coming, inactive_days })
        })
    }
}

/// Active members with a contract running today (begun, not used up) and no lesson in
/// the last `inactive_days` (counted from the contract's start when they never came),
/// longest absent first. The last lesson each member attended is kept by
/// `member_attended` (0012).
fn stopped_coming(c: &rusqlite::Connection, today: &str, since: &str, inactive_days: i64) -> Result<Vec<StoppedComing>> {
    // Each active member (off the covering `members_status_label`, migration 0015) and
    // his last lesson first, then the running contract only for those not seen lately
    // (as an EXISTS, SQLite probed the contracts of every active member).
    let mut stmt = c.prepare(
        "SELECT m.id, m.member_no, m.name, la.last_date,
            (SELECT MIN(k.start_date) FROM contracts k WHERE k.member_id = m.id AND k.status = 'active' AND k.start_date <= ?1 AND k.end_date >= ?1
               AND (k.kind = 'term' OR k.lessons_used < k.lessons_total)) AS covered_from
         FROM members m LEFT JOIN member_attended la ON la.member_id = m.id
         WHERE m.status = 'active' AND (la.last_date IS NULL OR la.last_date <= ?2)",
    )?;
    let today_date = chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap_or_default();
    let mut stopped = Vec::new();
    let mut rows = stmt.query(params![today, since])?;
    while let Some(r) = rows.next()? {
        let Some(covered_from) = r.get::<_, Option<String>>("covered_from")? else { continue };
        let last: Option<String> = r.get("last_date")?;
        // Counted from the last lesson, or from when the contract began.
        let reference = last.as_deref().unwrap_or(&covered_from);
        let Ok(reference) = chrono::NaiveDate::parse_from_str(reference, "%Y-%m-%d") else { continue };
        let days_since = (today_date - reference).num_days();
        if days_since >= inactive_days {
            let member_id: String = r.get("id")?;
            let guardian_phone = crate::members::primary_phone(c, &member_id)?;
            stopped.push(StoppedComing { member_id, member_no: r.get("member_no")?, name: r.get("name")?, guardian_phone, last_attended: last, days_since });
        }
    }
    stopped.sort_by(|a, b| b.days_since.cmp(&a.days_since).then(a.name.cmp(&b.name)));
    Ok(stopped)
}

impl Core {
    /// The attendance report's rows as CSV (the same rows as the screen), with the total.
    pub fn attendance_csv(&self, session: &Session, filter: &AttendanceFilter, lang: Lang, bom: bool) -> Result<crate::export::CsvFile> {
        let report = self.attendance(session, filter, lang, usize::MAX)?;
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
        let bytes = csv_bytes(&header, &rows, bom, &self.csv_footer(lang))?;
        let name = format!("{}-{}_{}.csv", lang.pick("出勤", "attendance"), filter.from_date, filter.to_date);
        Ok(crate::export::CsvFile { file_name: name, bytes, rows: rows.len() as i64 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of members is the lowest rates of the whole list, with the sums and the
    /// count of every member, whatever the page size.
    #[test]
    fn a_page_of_members_holds_the_lowest_rates_and_the_sums_of_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.db");
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        crate::demo::generate(&path, &crate::demo::DemoOptions::through_day(60, 5, today)).unwrap();
        let core = Core::open_with_clock(&path, crate::ManualClock::new(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 25, 2, 0, 0).unwrap())).unwrap();
        let (from, to) = ("2026-08-01", "2026-11-25");
        let (all, all_total, all_sums) = core.read(|c| rows_by_member(c, from, to, usize::MAX)).unwrap();
        let (page, page_total, page_sums) = core.read(|c| rows_by_member(c, from, to, 5)).unwrap();
        assert!(all.len() > 20, "the demo's members came to lessons");
        assert_eq!((all_total, page_total, page.len()), (all.len() as i64, all.len() as i64, 5));
        assert_eq!(all_sums, page_sums);
        let marks: i64 = all.iter().map(|r| r.sessions).sum();
        assert_eq!(all_sums[0], marks);
        let key = |r: &AttendanceRow| (r.rate_permille.unwrap_or(i64::MAX), std::cmp::Reverse(r.absent));
        assert!(all.windows(2).all(|w| key(&w[0]) <= key(&w[1])), "lowest rate first");
        let worst_shown = page.iter().map(key).max().unwrap();
        for r in all.iter().filter(|r| !page.iter().any(|p| p.key == r.key)) {
            assert!(key(r) >= worst_shown, "{} left out of the page", r.label);
        }
        assert!(page.iter().all(|r| !r.label.is_empty()), "every row shown is named");
    }
}
