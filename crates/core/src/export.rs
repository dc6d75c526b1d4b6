//! CSV export 导出 of the main lists (members, leads, contracts, payments, attendance) as
//! Excel and WPS on a Chinese Windows PC open them: UTF-8 with a BOM (an option leaves it
//! out for pipelines), the header in the clerk's language or stable machine names, dates
//! `YYYY-MM-DD`, money with two decimals, and text cells that Excel would run as a
//! formula (`=`, `+`, `-`, `@`, tab, CR first) neutralised with a leading `'`.
//! Exports carry every family's personal data, so they are the manager's.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{CoreError, Field, Lang, Result, Rule};
use crate::money::Money;
use crate::validate;
use rusqlite::types::Value;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The lists that export, by their stable names (also the CLI's).
pub const LISTS: [&str; 5] = ["members", "leads", "contracts", "payments", "attendance"];

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ExportRequest {
    /// One of LISTS.
    pub list: String,
    /// Inclusive business-date range (payments, attendance, contracts and leads by the
    /// date they were taken, held, signed or recorded); empty for everything.
    #[serde(default)]
    pub from_date: String,
    #[serde(default)]
    pub to_date: String,
    /// Start with a UTF-8 BOM (what Excel on Windows needs to read Chinese).
    #[serde(default = "yes")]
    pub bom: bool,
    /// Header row of machine names (`member_no`, `amount` …) instead of the language's.
    #[serde(default)]
    pub machine_headers: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct CsvFile {
    pub file_name: String,
    #[serde(skip)]
    #[ts(skip)]
    pub bytes: Vec<u8>,
    pub rows: i64,
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    /// Integer fen → `1234.50`.
    Money,
    Int,
    /// A UTC instant → the centre's local `YYYY-MM-DD HH:MM`.
    Instant,
    /// A stored code shown in words (status, method, mark …).
    Code(fn(&str, Lang) -> String),
}

struct Column {
    key: &'static str,
    zh: &'static str,
    en: &'static str,
    kind: Kind,
}

const fn col(key: &'static str, zh: &'static str, en: &'static str, kind: Kind) -> Column {
    Column { key, zh, en, kind }
}

fn pick(lang: Lang, zh: &str, en: &str) -> String {
    lang.pick(zh, en)
}

fn gender_label(code: &str, lang: Lang) -> String {
    match code {
        "M" => pick(lang, "男", "M"),
        "F" => pick(lang, "女", "F"),
        other => other.to_string(),
    }
}

pub(crate) fn member_status_label(code: &str, lang: Lang) -> String {
    crate::vocab::MemberStatus::label_of(code, lang)
}

// The labels of stored codes are the vocabularies' (`vocab.rs`), the words the desk's
// screens show.
fn contract_status_label(code: &str, lang: Lang) -> String {
    crate::vocab::ContractStatus::label_of(code, lang)
}

fn package_kind_label(code: &str, lang: Lang) -> String {
    crate::vocab::PackageKind::label_of(code, lang)
}

fn payment_kind_label(code: &str, lang: Lang) -> String {
    crate::vocab::PaymentKind::label_of(code, lang)
}

fn mark_label(code: &str, lang: Lang) -> String {
    crate::attendance::Mark::parse(code).map_or_else(|| code.to_string(), |m| m.label(lang))
}

fn yes_no(code: &str, lang: Lang) -> String {
    match code {
        "1" => pick(lang, "是", "yes"),
        _ => pick(lang, "否", "no"),
    }
}

const MEMBERS: &[Column] = &[
    col("member_no", "会员号", "Member no.", Kind::Text),
    col("name", "姓名", "Name", Kind::Text),
    col("gender", "性别", "Gender", Kind::Code(gender_label)),
    col("birthday", "生日", "Birthday", Kind::Text),
    col("status", "状态", "Status", Kind::Code(member_status_label)),
    col("school", "学校", "School", Kind::Text),
    col("rank", "级别", "Rank", Kind::Text),
    col("guardian", "家长", "Guardian", Kind::Text),
    col("relation", "关系", "Relation", Kind::Text),
    col("guardian_phone", "家长电话", "Guardian phone", Kind::Text),
    col("wechat", "微信", "WeChat", Kind::Text),
    col("referred_by", "推荐人", "Referred by", Kind::Text),
    col("lessons_left", "剩余课时", "Lessons left", Kind::Int),
    col("valid_until", "有效期至", "Valid until", Kind::Text),
    col("notes", "备注", "Notes", Kind::Text),
    col("registered", "登记时间", "Registered", Kind::Instant),
];

const MEMBERS_SQL: &str = "
SELECT m.member_no, m.name, m.gender, m.birthday, m.status, m.school, m.rank, g.name, mg.relation, g.phone, g.wechat,
       r.name,
       (SELECT SUM(k.lessons_total - k.lessons_used) FROM contracts k WHERE k.member_id = m.id AND k.status = 'active' AND k.kind = 'lessons' AND k.end_date >= ?3),
       (SELECT MAX(k.end_date) FROM contracts k WHERE k.member_id = m.id AND k.status = 'active'),
       m.notes, m.created_at
FROM members m
LEFT JOIN member_guardians mg ON mg.id = (SELECT x.id FROM member_guardians x WHERE x.member_id = m.id ORDER BY x.is_primary DESC, x.created_at LIMIT 1)
LEFT JOIN guardians g ON g.id = mg.guardian_id
LEFT JOIN members r ON r.id = m.referred_by
ORDER BY m.member_no IS NULL, m.member_no, m.created_at";

const LEADS: &[Column] = &[
    col("name", "姓名", "Name", Kind::Text),
    col("contact", "联系人", "Contact", Kind::Text),
    col("phone", "电话", "Phone", Kind::Text),
    col("wechat", "微信", "WeChat", Kind::Text),
    col("source", "来源", "Source", Kind::Text),
    col("status", "状态", "Status", Kind::Code(crate::leads::status_label)),
    col("consultant", "课程顾问", "Consultant", Kind::Text),
    col("man_money", "有预算", "Money", Kind::Code(yes_no)),
    col("man_authority", "能做主", "Authority", Kind::Code(yes_no)),
    col("man_need", "有需求", "Need", Kind::Code(yes_no)),
    col("needs", "需求", "Needs", Kind::Text),
    col("next_follow_up", "下次跟进", "Next follow-up", Kind::Text),
    col("lost_reason", "丢单原因", "Lost reason", Kind::Text),
    col("recorded", "登记时间", "Recorded", Kind::Instant),
];

const LEADS_SQL: &str = "
SELECT l.name, l.contact_name, l.phone, l.wechat, l.source, l.status, s.display_name, l.man_money, l.man_authority, l.man_need,
       l.needs, l.next_follow_up, l.lost_reason, l.created_at
FROM leads l LEFT JOIN staff s ON s.id = l.consultant_id
WHERE (?1 = '' OR substr(l.created_at, 1, 10) >= ?1) AND (?2 = '' OR substr(l.created_at, 1, 10) <= ?2)
ORDER BY l.created_at";

const CONTRACTS: &[Column] = &[
    col("contract_no", "合同号", "Contract no.", Kind::Text),
    col("member_no", "会员号", "Member no.", Kind::Text),
    col("member", "会员", "Member", Kind::Text),
    col("package", "套餐", "Package", Kind::Text),
    col("kind", "类型", "Kind", Kind::Code(package_kind_label)),
    col("list_price", "标价", "List price", Kind::Money),
    col("discount", "优惠", "Discount", Kind::Money),
    col("amount_due", "应收", "Amount due", Kind::Money),
    col("paid", "已收", "Paid", Kind::Money),
    col("balance_due", "欠费", "Balance due", Kind::Money),
    col("start_date", "开始日期", "Start", Kind::Text),
    col("end_date", "结束日期", "End", Kind::Text),
    col("lessons_total", "总课时", "Lessons", Kind::Int),
    col("lessons_used", "已用课时", "Used", Kind::Int),
    col("status", "状态", "Status", Kind::Code(contract_status_label)),
    col("renewal", "续费", "Renewal", Kind::Code(yes_no)),
    col("consultant", "课程顾问", "Consultant", Kind::Text),
    col("signed", "签约时间", "Signed", Kind::Instant),
];

const CONTRACTS_SQL: &str = "
SELECT k.contract_no, m.member_no, m.name, k.package_name, k.kind, k.list_price, k.discount, k.amount_due,
       COALESCE((SELECT SUM(p.amount) FROM payments p WHERE p.contract_id = k.id), 0),
       CASE WHEN k.status = 'refunded' THEN 0 ELSE k.amount_due - COALESCE((SELECT SUM(p.amount) FROM payments p WHERE p.contract_id = k.id), 0) END,
       k.start_date, k.end_date, k.lessons_total, k.lessons_used, k.status, k.renewal_of IS NOT NULL, s.display_name, k.created_at
FROM contracts k JOIN members m ON m.id = k.member_id LEFT JOIN staff s ON s.id = k.consultant_id
WHERE (?1 = '' OR substr(k.created_at, 1, 10) >= ?1) AND (?2 = '' OR substr(k.created_at, 1, 10) <= ?2)
ORDER BY k.contract_no";

const PAYMENTS: &[Column] = &[
    col("receipt_no", "收据号", "Receipt no.", Kind::Text),
    col("date", "日期", "Date", Kind::Text),
    col("time", "时间", "Time", Kind::Instant),
    col("member_no", "会员号", "Member no.", Kind::Text),
    col("member", "会员", "Member", Kind::Text),
    col("contract_no", "合同号", "Contract no.", Kind::Text),
    col("package", "套餐", "Package", Kind::Text),
    col("kind", "类型", "Kind", Kind::Code(payment_kind_label)),
    col("method", "支付方式", "Method", Kind::Code(crate::payments::method_label)),
    col("amount", "金额", "Amount", Kind::Money),
    col("reason", "原因", "Reason", Kind::Text),
    col("staff", "经办人", "Staff", Kind::Text),
];

const PAYMENTS_SQL: &str = "
SELECT p.receipt_no, p.business_date, p.taken_at, m.member_no, m.name, k.contract_no, k.package_name, p.kind, p.method, p.amount, p.reason, s.display_name
FROM payments p JOIN members m ON m.id = p.member_id LEFT JOIN contracts k ON k.id = p.contract_id JOIN staff s ON s.id = p.staff_id
WHERE (?1 = '' OR p.business_date >= ?1) AND (?2 = '' OR p.business_date <= ?2)
ORDER BY p.taken_at, p.receipt_no";

const ATTENDANCE: &[Column] = &[
    col("date", "日期", "Date", Kind::Text),
    col("start", "开始", "Start", Kind::Text),
    col("end", "结束", "End", Kind::Text),
    col("class_group", "班级", "Class", Kind::Text),
    col("room", "教室", "Room", Kind::Text),
    col("coach", "教练", "Coach", Kind::Text),
    col("member_no", "会员号", "Member no.", Kind::Text),
    col("member", "会员", "Member", Kind::Text),
    col("mark", "出勤", "Mark", Kind::Code(mark_label)),
    col("lesson_used", "消课", "Lesson used", Kind::Code(yes_no)),
    col("no_lessons_left", "无有效课时", "No lessons left", Kind::Code(yes_no)),
    col("comment", "点评", "Comment", Kind::Text),
    col("marked_by", "点名人", "Marked by", Kind::Text),
];

const ATTENDANCE_SQL: &str = "
SELECT s.date, s.start_time, s.end_time, g.name, r.name, c.display_name, m.member_no, m.name, a.mark, a.consumed, a.no_contract, a.comment, b.display_name
FROM attendance a JOIN class_sessions s ON s.id = a.session_id JOIN class_groups g ON g.id = s.group_id JOIN rooms r ON r.id = s.room_id
JOIN staff c ON c.id = s.coach_id JOIN members m ON m.id = a.member_id JOIN staff b ON b.id = a.marked_by
WHERE (?1 = '' OR s.date >= ?1) AND (?2 = '' OR s.date <= ?2)
ORDER BY s.date, s.start_time, g.name, m.member_no";

fn spec(list: &str) -> Option<(&'static [Column], &'static str, &'static str, &'static str)> {
    Some(match list {
        "members" => (MEMBERS, MEMBERS_SQL, "会员", "members"),
        "leads" => (LEADS, LEADS_SQL, "潜在客户", "leads"),
        "contracts" => (CONTRACTS, CONTRACTS_SQL, "报名合同", "contracts"),
        "payments" => (PAYMENTS, PAYMENTS_SQL, "缴费记录", "payments"),
        "attendance" => (ATTENDANCE, ATTENDANCE_SQL, "出勤记录", "attendance"),
        _ => return None,
    })
}

/// A cell of a report's CSV: text is neutralised, numbers are written as they are.
pub enum Cell {
    Text(String),
    Number(String),
}

/// A report's rows as CSV bytes, written the same way as the list exports, with the
/// footer line (see `Core::csv_footer`).
pub fn csv_bytes(header: &[String], rows: &[Vec<Cell>], bom: bool, footer: &str) -> Result<Vec<u8>> {
    let fail = |e: csv::Error| CoreError::Internal(e.to_string());
    let mut out: Vec<u8> = if bom { vec![0xEF, 0xBB, 0xBF] } else { Vec::new() };
    {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut out);
        w.write_record(header).map_err(fail)?;
        for row in rows {
            w.write_record(row.iter().map(|c| match c {
                Cell::Text(t) => neutralise(t),
                Cell::Number(n) => n.clone(),
            }))
            .map_err(fail)?;
        }
        w.flush().map_err(|e| CoreError::Internal(e.to_string()))?;
    }
    append_footer(&mut out, footer)?;
    Ok(out)
}

/// The footer after an empty line: Excel's table (sort, filter, the current region) stops
/// at the empty row, so the line never sorts into the data. Appended once the table's
/// writer is done (its own empty record would be `""`, not an empty line).
fn append_footer(out: &mut Vec<u8>, footer: &str) -> Result<()> {
    if footer.is_empty() {
        return Ok(());
    }
    out.extend_from_slice(b"\r\n");
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
    w.write_record([neutralise(footer)]).map_err(|e| CoreError::Internal(e.to_string()))?;
    w.flush().map_err(|e| CoreError::Internal(e.to_string()))
}

/// Splits a CSV the desk wrote into its table and its footer line (if any): what a reader
/// of the file (a re-import, a test) takes as data. Either line ending, as an editor may
/// have saved it again.
pub fn strip_footer(text: &str) -> (&str, Option<&str>) {
    let body = text.trim_end_matches(['\r', '\n']);
    let Some(cut) = body.rfind('\n') else { return (text, None) };
    let last = body[cut + 1..].trim_matches('"');
    let before = body[..cut].trim_end_matches('\r');
    if last.starts_with(crate::MADE_BY) && before.ends_with('\n') {
        (before.trim_end_matches(['\r', '\n']), Some(last))
    } else {
        (text, None)
    }
}

/// A text cell Excel would run as a formula gets a leading `'`.
pub fn neutralise(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(_) => String::new(),
        Value::Text(t) => t.clone(),
        Value::Blob(_) => String::new(),
    }
}

impl Core {
    /// One list as CSV bytes, ready to save.
    pub fn export_csv(&self, session: &Session, req: &ExportRequest, lang: Lang) -> Result<CsvFile> {
        session.require(Action::ExportData)?;
        let (columns, sql, zh_name, en_name) = spec(&req.list)
            .ok_or_else(|| CoreError::invalid(Field::Report, Rule::OneOf { allowed: LISTS.iter().map(|s| s.to_string()).collect() }))?;
        let from = validate::optional_date(Field::FromDate, &Some(req.from_date.clone()))?;
        let to = validate::optional_date(Field::ToDate, &Some(req.to_date.clone()))?;
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                return Err(CoreError::invalid(Field::ToDate, Rule::NotBefore { other: Field::FromDate }));
            }
        }
        let (from, to) = (from.map(|d| d.to_string()).unwrap_or_default(), to.map(|d| d.to_string()).unwrap_or_default());
        let tz = self.timezone();
        let today = self.today().to_string();
        let mut out: Vec<u8> = if req.bom { vec![0xEF, 0xBB, 0xBF] } else { Vec::new() };
        // Machine headers are for programs, which would read a footer as a row.
        let footer = if req.machine_headers { String::new() } else { self.csv_footer(lang) };
        let rows = self.read(|c| write_csv(c, &mut out, columns, sql, [&from, &to, &today], req.machine_headers, lang, tz))?;
        append_footer(&mut out, &footer)?;
        let range = match (from.as_str(), to.as_str()) {
            ("", "") => String::new(),
            (f, t) => format!("-{f}_{t}"),
        };
        Ok(CsvFile { file_name: format!("{}{range}.csv", lang.pick(zh_name, en_name)), bytes: out, rows })
    }

    /// The last line of every CSV the desk writes for people: the version that wrote it
    /// and when (the centre's time), so support can tell which build made a file.
    pub fn csv_footer(&self, lang: Lang) -> String {
        crate::made_by(&lang.pick("导出于", "Exported"), &self.local_minute())
    }
}

#[allow(clippy::too_many_arguments)]
fn write_csv(
    c: &Connection,
    out: &mut Vec<u8>,
    columns: &[Column],
    sql: &str,
    params: [&String; 3],
    machine_headers: bool,
    lang: Lang,
    tz: chrono_tz::Tz,
) -> Result<i64> {
    let io = |e: csv::Error| CoreError::Internal(e.to_string());
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
    let header: Vec<String> = columns.iter().map(|k| if machine_headers { k.key.to_string() } else { lang.pick(k.zh, k.en) }).collect();
    w.write_record(&header).map_err(io)?;
    // Only the parameters a query names are bound (members use the date as "today").
    let mut stmt = c.prepare(sql)?;
    let count = stmt.parameter_count();
    let bound: Vec<&String> = params.iter().copied().take(count).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(bound))?;
    let mut n = 0;
    while let Some(row) = rows.next()? {
        let mut record = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let v: Value = row.get(i)?;
            let cell = match (column.kind, &v) {
                (_, Value::Null) => String::new(),
                (Kind::Money, Value::Integer(fen)) => Money::from_fen(*fen).to_string(),
                (Kind::Int, Value::Integer(x)) => x.to_string(),
                (Kind::Instant, Value::Text(t)) => chrono::DateTime::parse_from_rfc3339(t)
                    .map(|at| at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|_| neutralise(t)),
                (Kind::Code(label), _) => neutralise(&label(&text_of(&v), lang)),
                _ => neutralise(&text_of(&v)),
            };
            record.push(cell);
        }
        w.write_record(&record).map_err(io)?;
        n += 1;
    }
    w.flush().map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_footer_follows_an_empty_line_and_comes_off_again() {
        const FOOT: &str = "CentreDesk 0.1.0 · 导出于 2026-12-03 16:20";
        let bytes = csv_bytes(&["姓名".into(), "欠费".into()], &[vec![Cell::Text("王小明".into()), Cell::Number("12.50".into())]], true, FOOT).unwrap();
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert_eq!(text, format!("姓名,欠费\r\n王小明,12.50\r\n\r\n{FOOT}\r\n"));
        assert_eq!(strip_footer(text), ("姓名,欠费\r\n王小明,12.50", Some(FOOT)));
        // Saved again by an editor with other line endings, or quoted.
        assert_eq!(strip_footer(&text.replace("\r\n", "\n")).1, Some(FOOT));
        assert_eq!(strip_footer(&format!("a\n\n\"{FOOT}\"\n")), ("a", Some(FOOT)));
        // Without the empty line it is a row like any other; no footer, no change.
        assert_eq!(strip_footer(&format!("a\r\n{FOOT}\r\n")).1, None);
        assert_eq!(strip_footer("a,b\r\n1,2\r\n"), ("a,b\r\n1,2\r\n", None));
        let plain = csv_bytes(&["a".into()], &[], false, "").unwrap();
        assert_eq!(plain, b"a\r\n");
    }

    #[test]
    fn formula_starts_are_neutralised_and_nothing_else() {
        for bad in ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad:?}");
        }
        for fine in ["王小明", "138 0000 0000", "a=b", ""] {
            assert_eq!(neutralise(fine), fine);
        }
    }

    #[test]
    fn every_list_has_its_query_columns_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::open_with_clock(&dir.path().join("x.db"), crate::ManualClock::new(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)).unwrap();
        core.read(|c| {
            for list in LISTS {
                let (columns, sql, _, _) = spec(list).unwrap();
                let stmt = c.prepare(sql).unwrap_or_else(|e| panic!("{list}: {e}"));
                assert_eq!(stmt.column_count(), columns.len(), "{list}");
            }
            Ok(())
        })
        .unwrap();
    }
}
