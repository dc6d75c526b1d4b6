//! The manager's analysis tables: renewals 续费, sales 招生 and customer value 客户价值.
//! Each report is a few tables of typed cells; the screen, its chart and the CSV are all
//! drawn from the same `ReportTable`, so they cannot disagree.
//!
//! - Renewals: members due (expiring within N days or with ≤ k lessons left, both
//!   settable), and per month the contracts that ended and how many were renewed.
//! - Sales: the funnel per lead source (lead → visit → trial → enrolled, each stage counted
//!   by the furthest status the lead ever reached, read from the change log so lost leads
//!   still count for the stages they passed), days to convert, lost reasons, and each
//!   consultant's leads, follow-ups, conversions and revenue.
//! - Customer value: RFM (recency of the last payment, frequency and money paid over the
//!   last year, each scored 1–5 by quintile) with a segment, ABC classes by lifetime
//!   revenue (A = the top `a_percent` of paying members, B the next `b_percent`), lifetime
//!   value, and the win-back list of members who left or lapsed.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{CoreError, Field, Lang, Result, Rule};
use crate::export::{csv_bytes, Cell, CsvFile};
use crate::money::Money;
use crate::validate;
use chrono::Datelike;
use rusqlite::{params, Connection};
use std::collections::{HashMap, HashSet};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const KINDS: [&str; 7] = ["renewals", "sales", "customers", "referrals", "goods", "arrears", "scorecard"];

/// Rows of a member list sent to the screen: a page the manager can read and click
/// through; the CSV export has every row.
pub const SCREEN_ROWS: usize = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct AnalysisFilter {
    /// `renewals`, `sales`, `customers`, `referrals` (see `referrals.rs`), `goods` (in/out, see
    /// `goods.rs`), `arrears` or `scorecard` (see `scorecard.rs`).
    pub report: String,
    pub from_date: String,
    pub to_date: String,
    /// Renewals: expiring within this many days (default 30).
    #[serde(default)]
    #[ts(optional)]
    pub days_ahead: Option<i64>,
    /// Renewals: this many lessons left or fewer (default 3).
    #[serde(default)]
    #[ts(optional)]
    pub lessons_left: Option<i64>,
    /// Customers: class A is this top share of paying members (default 20).
    #[serde(default)]
    #[ts(optional)]
    pub a_percent: Option<i64>,
    /// Customers: class B is the next share (default 30).
    #[serde(default)]
    #[ts(optional)]
    pub b_percent: Option<i64>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ReportColumn {
    pub key: String,
    pub label: String,
    /// `text`, `int`, `money` (a money string), `permille` (tenths of a percent), `decimal`
    /// (a number with its places, e.g. `4.25`) or `date`.
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ReportTable {
    pub key: String,
    pub title: String,
    pub columns: Vec<ReportColumn>,
    /// Cells as strings in the column's kind (money `1234.50`, permille `875`, dates
    /// `YYYY-MM-DD`); empty for none.
    pub rows: Vec<Vec<String>>,
    /// How many rows the table has in full; the screen gets at most `SCREEN_ROWS` of the
    /// longest member lists (the CSV gets them all).
    pub total_rows: i64,
    /// The column to draw as bars against the first column, if any.
    pub chart: Option<String>,
    /// A member id per row, when rows are members (for opening the member page).
    pub member_ids: Vec<String>,
}

pub(crate) fn column(key: &str, lang: Lang, zh: &str, en: &str, kind: &str) -> ReportColumn {
    ReportColumn {
        key: key.into(),
        label: lang.pick(zh, en),
        kind: kind.into(),
    }
}

pub(crate) fn permille(part: i64, whole: i64) -> String {
    if whole == 0 {
        String::new()
    } else {
        ((part * 2000 + whole) / (whole * 2)).to_string()
    }
}

fn opt(v: Option<i64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn money(fen: i64) -> String {
    Money::from_fen(fen).to_string()
}

impl Core {
    pub fn analysis(&self, session: &Session, filter: &AnalysisFilter, lang: Lang) -> Result<Vec<ReportTable>> {
        self.analysis_tables(session, filter, lang, SCREEN_ROWS)
    }

    pub(crate) fn analysis_tables(&self, session: &Session, filter: &AnalysisFilter, lang: Lang, limit: usize) -> Result<Vec<ReportTable>> {
        session.require(Action::ViewReports)?;
        let (from_date, to_date) = validate::date_range(&filter.from_date, &filter.to_date)?;
        let range = |v: Option<i64>, default: i64, max: i64| -> Result<i64> {
            let v = v.unwrap_or(default);
            if (0..=max).contains(&v) {
                Ok(v)
            } else {
                Err(CoreError::invalid(
                    Field::Period,
                    Rule::IntRange { min: 0, max },
                ))
            }
        };
        let today = self.today().to_string();
        let (from, to) = (from_date.to_string(), to_date.to_string());
        match filter.report.as_str() {
            "renewals" => {
                let days = range(filter.days_ahead, 30, 366)?;
                let lessons = range(filter.lessons_left, 3, 100)?;
                self.read(|c| renewals(c, lang, &today, &from, &to, (days, lessons), limit))
            }
            "sales" => self.read(|c| sales(c, lang, &from, &to, &today)),
            "customers" => {
                let a = range(filter.a_percent, 20, 100)?;
                let b = range(filter.b_percent, 30, 100 - a)?;
                customers(self, lang, &today, a, b, limit)
            }
            "referrals" => {
                let tz = self.timezone();
                self.read(|c| crate::referrals::report(c, lang, tz, from_date, to_date))
            }
            "goods" => {
                let tz = self.timezone();
                self.read(|c| crate::goods::stats(c, lang, tz, from_date, to_date))
            }
            "arrears" => self.read(|c| arrears(c, lang, limit)),
            "scorecard" => {
                let today = self.today();
                self.read(|c| crate::scorecard::report(c, lang, today, from_date, to_date))
            }
            _ => Err(CoreError::invalid(
                Field::Report,
                Rule::OneOf {
                    allowed: KINDS.iter().map(|s| s.to_string()).collect(),
                },
            )),
        }
    }

    /// One table of an analysis as CSV: the same rows as the screen.
    pub fn analysis_csv(
        &self,
        session: &Session,
        filter: &AnalysisFilter,
        table: &str,
        lang: Lang,
        bom: bool,
    ) -> Result<CsvFile> {
        let tables = self.analysis_tables(session, filter, lang, usize::MAX)?;
        let t = tables
            .into_iter()
            .find(|t| t.key == table)
            .ok_or(CoreError::NotFound(Field::Report))?;
        let header: Vec<String> = t.columns.iter().map(|c| c.label.clone()).collect();
        let rows: Vec<Vec<Cell>> = t
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&t.columns)
                    .map(|(v, c)| match c.kind.as_str() {
                        "int" | "money" | "decimal" => Cell::Number(v.clone()),
                        "permille" => Cell::Number(
                            v.parse::<i64>()
                                .map(|p| format!("{}.{}", p / 10, p % 10))
                                .unwrap_or_default(),
                        ),
                        _ => Cell::Text(v.clone()),
                    })
                    .collect()
            })
            .collect();
        let bytes = csv_bytes(&header, &rows, bom, &self.csv_footer(lang))?;
        Ok(CsvFile {
            file_name: format!("{}-{}_{}.csv", t.title, filter.from_date, filter.to_date),
            bytes,
            rows: rows.len() as i64,
        })
    }
}

fn renewals(
    c: &Connection,
    lang: Lang,
    today: &str,
    from: &str,
    to: &str,
    (days, lessons): (i64, i64),
    limit: usize,
) -> Result<Vec<ReportTable>> {
    // The same rule as the home panel and the reminders (renewals.rs).
    let (due_rows, total) = crate::renewals::due(c, today, crate::renewals::Window { days, lessons }, limit)?;
    let ids: Vec<String> = due_rows.iter().map(|d| d.member_id.clone()).collect();
    let due: Vec<Vec<String>> = due_rows
        .into_iter()
        .map(|d| {
            vec![
                d.member_no.unwrap_or_default(),
                d.member_name,
                d.guardian_phone.unwrap_or_default(),
                d.package_name,
                d.end_date,
                opt(d.lessons_remaining),
                d.consultant_name.unwrap_or_default(),
            ]
        })
        .collect();
    let due_table = ReportTable {
        key: "due".into(),
        title: lang.pick("待续费", "Renewals due"),
        columns: vec![
            column("member_no", lang, "会员号", "Member no.", "text"),
            column("name", lang, "会员", "Member", "text"),
            column("phone", lang, "家长电话", "Guardian phone", "text"),
            column("package", lang, "套餐", "Package", "text"),
            column("end_date", lang, "到期日", "Ends", "date"),
            column("lessons_left", lang, "剩余课时", "Lessons left", "int"),
            column("consultant", lang, "课程顾问", "Consultant", "text"),
        ],
        total_rows: total,
        rows: due,
        chart: None,
        member_ids: ids,
    };
    // Per month from the first of `from`'s month: the contracts that ended (their end
    // date, or their last lesson when a lesson package was used up earlier; kept by
    // `contract_ends`, migration 0015) up to today, and how many of them were renewed.
    let first_day = format!("{}-01", &from[..7.min(from.len())]);
    let last_day = format!("{}-31", &to[..7.min(to.len())]).min(today.to_string());
    let mut stmt = c.prepare(
        "SELECT substr(ended_on, 1, 7) AS month, COUNT(*) AS ended, SUM(renewed) AS renewals FROM contract_ends WHERE ended_on BETWEEN ?1 AND ?2 GROUP BY 1 ORDER BY 1",
    )?;
    let rate: Vec<Vec<String>> = stmt
        .query_map(params![first_day, last_day], |r| {
            let (ended, renewed): (i64, i64) = (r.get("ended")?, r.get("renewals")?);
            Ok(vec![
                r.get("month")?,
                ended.to_string(),
                renewed.to_string(),
                (ended - renewed).to_string(),
                permille(renewed, ended),
            ])
        })?
        .collect::<rusqlite::Result<_>>()?;
    let rate_table = ReportTable {
        key: "rate".into(),
        title: lang.pick("续费率", "Renewal rate"),
        columns: vec![
            column("month", lang, "月份", "Month", "text"),
            column("ended", lang, "到期合同", "Ended", "int"),
            column("renewed", lang, "已续费", "Renewed", "int"),
            column("not_renewed", lang, "未续费", "Not renewed", "int"),
            column("rate", lang, "续费率", "Rate", "permille"),
        ],
        total_rows: rate.len() as i64,
        rows: rate,
        chart: Some("rate".into()),
        member_ids: vec![],
    };
    Ok(vec![due_table, rate_table])
}

/// Who owes money (arrears.rs): each contract owing, and the total against the ledger.
fn arrears(c: &Connection, lang: Lang, limit: usize) -> Result<Vec<ReportTable>> {
    let a = crate::arrears::owing(c, lang, limit)?;
    let ids = a.rows.iter().map(|r| r.member_id.clone()).collect();
    let rows = a
        .rows
        .into_iter()
        .map(|r| {
            vec![
                r.member_no.unwrap_or_default(),
                r.member_name,
                r.guardian_phone.unwrap_or_default(),
                r.contract_no,
                r.package_name,
                r.amount_due.to_string(),
                r.paid.to_string(),
                r.owed.to_string(),
                r.since,
            ]
        })
        .collect();
    let list = ReportTable {
        key: "owing".into(),
        title: lang.pick("欠费名单", "Who owes money"),
        columns: vec![
            column("member_no", lang, "会员号", "Member no.", "text"),
            column("name", lang, "会员", "Member", "text"),
            column("phone", lang, "家长电话", "Guardian phone", "text"),
            column("contract_no", lang, "合同号", "Contract", "text"),
            column("package", lang, "套餐", "Package", "text"),
            column("due", lang, "应付", "Due", "money"),
            column("paid", lang, "已付", "Paid", "money"),
            column("owed", lang, "欠费", "Owed", "money"),
            column("since", lang, "欠费起始", "Since", "date"),
        ],
        total_rows: a.count,
        rows,
        chart: None,
        member_ids: ids,
    };
    let total = ReportTable {
        key: "owing_total".into(),
        title: lang.pick("欠费合计", "Total owed"),
        columns: vec![
            column("rule", lang, "口径", "Rule", "text"),
            column("contracts", lang, "合同数", "Contracts", "int"),
            column("owed", lang, "欠费合计", "Total owed", "money"),
        ],
        total_rows: 1,
        rows: vec![vec![a.rule, a.count.to_string(), a.total_owed.to_string()]],
        chart: None,
        member_ids: vec![],
    };
    Ok(vec![list, total])
}

pub(crate) const STAGE_RANK: &str = "CASE {s} WHEN 'new' THEN 0 WHEN 'contacted' THEN 1 WHEN 'visit_booked' THEN 2 WHEN 'visited' THEN 3 WHEN 'trial' THEN 4 WHEN 'enrolled' THEN 5 ELSE -1 END";

/// Counts per key, listed most first (ties by key).
fn most_first<T>(map: HashMap<String, T>, count: impl Fn(&T) -> i64) -> Vec<(String, T)> {
    let mut v: Vec<(String, T)> = map.into_iter().collect();
    v.sort_by(|a, b| count(&b.1).cmp(&count(&a.1)).then_with(|| a.0.cmp(&b.0)));
    v
}

/// The first instant of the day after a business date, for a half-open range over
/// instants stored as text (`created_at < next_day(to)` is "on or before `to`").
fn next_day(date: &str) -> String {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map(|d| d + chrono::Duration::days(1)).unwrap_or_default().to_string()
}

#[derive(Default)]
struct ConsultantLeads {
    leads: i64,
    conversions: i64,
    /// Milliseconds from each converted lead to its member's first contract.
    to_convert_ms: Vec<i64>,
}

fn sales(
    c: &Connection,
    lang: Lang,
    from: &str,
    to: &str,
    today: &str,
) -> Result<Vec<ReportTable>> {
    // The period's leads, read once (range over `leads_created`, migration 0015), each
    // with the furthest stage it reached over its whole history (kept by `lead_reach`,
    // migration 0012, from every status the lead has had) and its member's first
    // contract; the funnel, the lost reasons and the consultants are counted from them.
    let mut stmt = c.prepare(&format!(
        "SELECT p.source, p.status = 'lost' AS is_lost, p.lost_reason, p.consultant_id, p.created_at,
            MAX({cur}, COALESCE(r.stage, -1),
                CASE WHEN EXISTS (SELECT 1 FROM trial_requests t WHERE t.lead_id = p.id AND t.attended = 1) THEN 4 ELSE -1 END) AS stage,
            (SELECT MIN(k.created_at) FROM contracts k WHERE k.member_id = p.converted_member_id) AS first_contract_at
         FROM leads p LEFT JOIN lead_reach r ON r.lead_id = p.id WHERE p.created_at >= ?1 AND p.created_at < ?2",
        cur = STAGE_RANK.replace("{s}", "p.status"),
    ))?;
    let ms = |t: &str| chrono::DateTime::parse_from_rfc3339(t).map(|t| t.timestamp_millis()).ok();
    let mut funnel: HashMap<String, [i64; 5]> = HashMap::new();
    let mut lost: HashMap<String, i64> = HashMap::new();
    let mut by_consultant: HashMap<String, ConsultantLeads> = HashMap::new();
    let mut leads = stmt.query(params![from, next_day(to)])?;
    while let Some(r) = leads.next()? {
        let (source, is_lost, stage): (String, bool, i64) = (r.get("source")?, r.get("is_lost")?, r.get("stage")?);
        let f = funnel.entry(source).or_default();
        for (i, reached) in [true, stage >= 3, stage >= 4, stage >= 5, is_lost].into_iter().enumerate() {
            f[i] += i64::from(reached);
        }
        if is_lost {
            *lost.entry(r.get("lost_reason")?).or_default() += 1;
        }
        if let Some(consultant) = r.get::<_, Option<String>>("consultant_id")? {
            let p = by_consultant.entry(consultant).or_default();
            p.leads += 1;
            p.conversions += i64::from(stage >= 5);
            let created: String = r.get("created_at")?;
            if let (Some(first), Some(created)) = (r.get::<_, Option<String>>("first_contract_at")?.as_deref().and_then(ms), ms(&created)) {
                p.to_convert_ms.push(first - created);
            }
        }
    }
    let funnel: Vec<Vec<String>> = most_first(funnel, |f| f[0])
        .into_iter()
        .map(|(source, [leads, visited, trial, enrolled, lost])| {
            let mut row = vec![source];
            row.extend([leads, visited, trial, enrolled, lost].map(|n| n.to_string()));
            row.push(permille(enrolled, leads));
            row
        })
        .collect();
    let funnel_table = ReportTable {
        key: "funnel".into(),
        title: lang.pick("招生漏斗（按来源）", "Funnel by source"),
        columns: vec![
            column("source", lang, "来源", "Source", "text"),
            column("leads", lang, "潜客", "Leads", "int"),
            column("visited", lang, "到访", "Visited", "int"),
            column("trial", lang, "试课", "Trial", "int"),
            column("enrolled", lang, "报名", "Enrolled", "int"),
            column("lost", lang, "丢单", "Lost", "int"),
            column("conversion", lang, "转化率", "Conversion", "permille"),
        ],
        total_rows: funnel.len() as i64,
        rows: funnel,
        chart: Some("conversion".into()),
        member_ids: vec![],
    };
    let unspecified = lang.pick("（未填写）", "(not given)");
    let lost: Vec<Vec<String>> = most_first(lost, |n| *n)
        .into_iter()
        .map(|(reason, n)| vec![if reason.is_empty() { unspecified.clone() } else { reason }, n.to_string()])
        .collect();
    let lost_table = ReportTable {
        key: "lost".into(),
        title: lang.pick("丢单原因", "Lost reasons"),
        columns: vec![
            column("reason", lang, "原因", "Reason", "text"),
            column("leads", lang, "潜客", "Leads", "int"),
        ],
        total_rows: lost.len() as i64,
        rows: lost,
        chart: Some("leads".into()),
        member_ids: vec![],
    };
    // Per consultant: leads of the period (above), follow-ups done in the period,
    // revenue on the contracts they sold (the ledger by day) and open leads overdue, each
    // grouped once and read off an index.
    let grouped = |sql: &str, args: &[&str]| -> Result<HashMap<String, i64>> {
        Ok(c.prepare(sql)?.query_map(rusqlite::params_from_iter(args), |r| Ok((r.get("staff_id")?, r.get("n")?)))?.collect::<rusqlite::Result<_>>()?)
    };
    let follow_ups = grouped("SELECT staff_id, COUNT(*) AS n FROM lead_follow_ups WHERE at >= ?1 AND at < ?2 GROUP BY 1", &[from, &next_day(to)])?;
    let revenue = grouped(
        "SELECT consultant_id AS staff_id, SUM(received + refunded + reversed) AS n FROM payment_days WHERE business_date BETWEEN ?1 AND ?2 GROUP BY 1",
        &[from, to],
    )?;
    let overdue = grouped(
        "SELECT consultant_id AS staff_id, COUNT(*) AS n FROM leads WHERE status IN ('new','contacted','visit_booked','visited','trial') AND next_follow_up < ?1
         AND consultant_id IS NOT NULL GROUP BY 1",
        &[today],
    )?;
    let mut people: Vec<(String, i64, Vec<String>)> = c
        .prepare("SELECT id, display_name FROM staff WHERE role IN ('consultant','manager') AND active = 1")?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|(id, name)| {
            let p = by_consultant.remove(&id).unwrap_or_default();
            let revenue = revenue.get(&id).copied().unwrap_or(0);
            let days = (!p.to_convert_ms.is_empty()).then(|| p.to_convert_ms.iter().sum::<i64>() / p.to_convert_ms.len() as i64 / 86_400_000);
            let row = vec![
                name.clone(),
                p.leads.to_string(),
                follow_ups.get(&id).copied().unwrap_or(0).to_string(),
                p.conversions.to_string(),
                permille(p.conversions, p.leads),
                opt(days),
                money(revenue),
                overdue.get(&id).copied().unwrap_or(0).to_string(),
            ];
            (name, revenue, row)
        })
        .collect();
    people.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let people: Vec<Vec<String>> = people.into_iter().map(|(_, _, row)| row).collect();
    let people_table = ReportTable {
        key: "consultants".into(),
        title: lang.pick("顾问业绩", "Consultants"),
        columns: vec![
            column("consultant", lang, "课程顾问", "Consultant", "text"),
            column("leads", lang, "潜客", "Leads", "int"),
            column("follow_ups", lang, "跟进次数", "Follow-ups", "int"),
            column("conversions", lang, "转化", "Converted", "int"),
            column("conversion", lang, "转化率", "Conversion", "permille"),
            column(
                "days_to_convert",
                lang,
                "平均转化天数",
                "Days to convert",
                "int",
            ),
            column("revenue", lang, "业绩", "Revenue", "money"),
            column("overdue", lang, "逾期未跟进", "Overdue follow-ups", "int"),
        ],
        total_rows: people.len() as i64,
        rows: people,
        chart: Some("revenue".into()),
        member_ids: vec![],
    };
    Ok(vec![funnel_table, lost_table, people_table])
}

fn segment(r: i64, f: i64, m: i64, lang: Lang) -> String {
    let (zh, en) = match (r >= 3, f >= 3, m >= 3) {
        (true, true, true) => ("重要价值客户", "Champions"),
        (false, true, true) => ("重要唤回客户", "Win back (valuable)"),
        (true, false, true) => ("重要发展客户", "Grow (big spenders)"),
        (false, false, true) => ("重要挽留客户", "Keep (big spenders)"),
        (true, true, false) => ("一般价值客户", "Loyal"),
        (true, false, false) => ("一般发展客户", "New or light"),
        (false, true, false) => ("一般保持客户", "Slipping"),
        (false, false, false) => ("一般挽留客户", "Lapsed"),
    };
    lang.pick(zh, en)
}

/// The NTILE(5) of each row (by index) ordered by its key, ties in row order, as SQLite's
/// window function deals them: the first `n % 5` tiles hold one row more.
fn quintiles(keys: &[i64]) -> Vec<i64> {
    let n = keys.len();
    let mut order: Vec<(i64, usize)> = keys.iter().copied().zip(0..).collect();
    order.sort_unstable();
    let (base, extra) = (n / 5, n % 5);
    let mut tile = vec![0; n];
    let mut pos = 0;
    for t in 0..5 {
        let size = base + usize::from(t < extra);
        for &(_, i) in &order[pos..pos + size] {
            tile[i] = t as i64 + 1;
        }
        pos += size;
    }
    tile
}

/// Customer value in two halves on two reader connections (the RFM table; ABC and
/// win-back), which a desk PC's second core runs side by side: together they read a year
/// of the ledger, every member's lifetime spend and every running contract. Each table is
/// ranked from one read of a narrow source and sorted in Rust.
fn customers(core: &Core, lang: Lang, today: &str, a_percent: i64, b_percent: i64, limit: usize) -> Result<Vec<ReportTable>> {
    std::thread::scope(|scope| {
        let rfm = scope.spawn(|| core.read(|c| rfm(c, lang, today, limit)));
        let [abc, churn] = core.read(|c| value_and_win_back(c, lang, today, a_percent, b_percent, limit))?;
        let rfm = rfm.join().map_err(|_| CoreError::Internal("the RFM table's thread panicked".into()))??;
        Ok(vec![rfm, abc, churn])
    })
}

/// A merged record's money counts for its survivor.
fn merged_records(c: &Connection) -> Result<HashMap<String, String>> {
    Ok(c.prepare("SELECT id, merged_into FROM members WHERE merged_into IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

fn rfm(c: &Connection, lang: Lang, today: &str, limit: usize) -> Result<ReportTable> {
    let year_ago = (chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap_or_default()
        - chrono::Duration::days(365))
    .to_string();
    // Names are looked up only for the rows shown (as in the other two tables): joins
    // that probed the members table per row took 1–2 s at 100,000 members.
    let merged = merged_records(c)?;
    let mut member = c.prepare("SELECT member_no, name FROM members WHERE id = ?1")?;
    let today_date = chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap_or_default();
    // Quintiles over members who paid in the last year, as SQL's NTILE(5) would give
    // them (ties in member order); 5 is best (recent, frequent, much). The year's ledger
    // is read off its covering index and summed here: SQLite's GROUP BY sorted it first.
    let mut by_member: HashMap<String, (String, i64, i64)> = HashMap::new();
    let mut stmt = c.prepare("SELECT member_id, business_date, kind = 'payment' AS is_payment, amount FROM payments WHERE business_date BETWEEN ?2 AND ?1")?;
    let mut entries = stmt.query(params![today, year_ago])?;
    while let Some(r) = entries.next()? {
        let id = r.get_ref("member_id")?.as_str().map_err(rusqlite::Error::from)?;
        let id = merged.get(id).map(String::as_str).unwrap_or(id);
        let e = match by_member.get_mut(id) {
            Some(e) => e,
            None => by_member.entry(id.to_string()).or_default(),
        };
        let date = r.get_ref("business_date")?.as_str().map_err(rusqlite::Error::from)?;
        if date > e.0.as_str() {
            e.0.clear();
            e.0.push_str(date);
        }
        e.1 += r.get::<_, i64>("is_payment")?;
        e.2 += r.get::<_, i64>("amount")?;
    }
    let mut payers: Vec<(String, String, i64, i64)> = by_member.into_iter().map(|(id, (last, freq, spent))| (id, last, freq, spent)).collect();
    payers.retain(|p| p.3 > 0);
    // In member order, so that ties fall in row order and the keys compare as integers.
    payers.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let n = payers.len();
    let day = |date: &str| chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map(|d| d.num_days_from_ce() as i64).unwrap_or_default();
    let recency = quintiles(&payers.iter().map(|p| day(&p.1)).collect::<Vec<_>>());
    let frequency = quintiles(&payers.iter().map(|p| p.2).collect::<Vec<_>>());
    let monetary = quintiles(&payers.iter().map(|p| p.3).collect::<Vec<_>>());
    // Shown by money paid, most first.
    let mut shown: Vec<usize> = (0..n).collect();
    shown.sort_unstable_by_key(|&i| (std::cmp::Reverse(payers[i].3), i));
    let mut rfm_ids = Vec::new();
    let mut rfm: Vec<Vec<String>> = Vec::new();
    for &i in shown.iter().take(limit) {
        let (id, last, freq, spent) = std::mem::take(&mut payers[i]);
        let (member_no, name): (Option<String>, String) = member.query_row([&id], |r| Ok((r.get("member_no")?, r.get("name")?)))?;
        let days = chrono::NaiveDate::parse_from_str(&last, "%Y-%m-%d").map(|d| (today_date - d).num_days()).unwrap_or_default();
        let (rs, fs, ms) = (recency[i], frequency[i], monetary[i]);
        rfm.push(vec![member_no.unwrap_or_default(), name, last, days.to_string(), freq.to_string(), money(spent), format!("{rs}{fs}{ms}"), segment(rs, fs, ms, lang)]);
        rfm_ids.push(id);
    }
    Ok(ReportTable {
        key: "rfm".into(),
        title: lang.pick("RFM 客户分层（近一年）", "RFM (last 12 months)"),
        columns: vec![
            column("member_no", lang, "会员号", "Member no.", "text"),
            column("name", lang, "会员", "Member", "text"),
            column("last_payment", lang, "最近缴费", "Last payment", "date"),
            column("recency_days", lang, "距今天数", "Days ago", "int"),
            column("frequency", lang, "缴费次数", "Payments", "int"),
            column("monetary", lang, "金额", "Paid", "money"),
            column("rfm", lang, "RFM 分", "RFM score", "text"),
            column("segment", lang, "分层", "Segment", "text"),
        ],
        rows: rfm,
        total_rows: n as i64,
        chart: None,
        member_ids: rfm_ids,
    })
}

fn value_and_win_back(c: &Connection, lang: Lang, today: &str, a_percent: i64, b_percent: i64, limit: usize) -> Result<[ReportTable; 2]> {
    let merged = merged_records(c)?;
    // ABC over lifetime revenue: members by what they have paid in total, most first
    // (read in that order off `member_spend_spent`, migration 0015).
    let mut folded: HashMap<String, i64> = HashMap::new();
    let mut spend: Vec<(String, i64)> = Vec::new();
    let mut stmt = c.prepare("SELECT member_id, spent FROM member_spend ORDER BY spent DESC, member_id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (id, spent): (String, i64) = (r.get("member_id")?, r.get("spent")?);
        match merged.get(&id) {
            Some(survivor) => *folded.entry(survivor.clone()).or_default() += spent,
            None => spend.push((id, spent)),
        }
    }
    if !folded.is_empty() {
        for (id, spent) in spend.iter_mut() {
            *spent += folded.remove(id.as_str()).unwrap_or(0);
        }
        spend.extend(folded);
        spend.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    let total = spend.iter().take_while(|x| x.1 > 0).count() as i64;
    let mut details = c.prepare(concat!(
        "SELECT m.member_no, m.name, m.status, d.first, d.last FROM members m,
            (SELECT MIN(first_date) AS first, MAX(last_date) AS last FROM member_spend
             WHERE member_id IN ",
        self_and_merged!(),
        ") d WHERE m.id = ?1"
    ))?;
    let mut abc_ids = Vec::new();
    let mut abc: Vec<Vec<String>> = Vec::new();
    for ((id, spent), rank) in spend.iter().take_while(|x| x.1 > 0).zip(1i64..).take(limit) {
        let (member_no, name, status, first, last): (Option<String>, String, String, String, String) =
            details.query_row([id], |r| Ok((r.get("member_no")?, r.get("name")?, r.get("status")?, r.get("first")?, r.get("last")?)))?;
        // The top share rounded up, so a small centre still has an A.
        let class = if rank * 100 <= a_percent * total + 99 {
            "A"
        } else if rank * 100 <= (a_percent + b_percent) * total + 99 {
            "B"
        } else {
            "C"
        };
        abc.push(vec![class.to_string(), member_no.unwrap_or_default(), name, money(*spent), first, last, crate::export::member_status_label(&status, lang)]);
        abc_ids.push(id.clone());
    }
    let abc_table = ReportTable {
        key: "abc".into(),
        title: lang.pick("ABC 分类与终身价值", "ABC classes and lifetime value"),
        columns: vec![
            column("class", lang, "类别", "Class", "text"),
            column("member_no", lang, "会员号", "Member no.", "text"),
            column("name", lang, "会员", "Member", "text"),
            column(
                "lifetime_value",
                lang,
                "累计缴费",
                "Lifetime value",
                "money",
            ),
            column("first_payment", lang, "首次缴费", "First payment", "date"),
            column("last_payment", lang, "最近缴费", "Last payment", "date"),
            column("status", lang, "状态", "Status", "text"),
        ],
        rows: abc,
        total_rows: total,
        chart: None,
        member_ids: abc_ids,
    };
    // Win back: members who left or lapsed (no valid contract today) after paying, by
    // lifetime value (the order `spend` is already in).
    // Off a member's-contracts index, which holds every column asked for: by status and
    // end date SQLite would read each of the 40,000 running contracts from the table.
    let covered: HashSet<String> = c
        .prepare("SELECT member_id FROM contracts INDEXED BY contracts_member_status WHERE status = 'active' AND end_date >= ?1 AND (kind = 'term' OR lessons_used < lessons_total)")?
        .query_map([today], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    // The few who cannot be won back (applicants, merged records) rather than the many who can.
    let excluded: HashSet<String> = c
        .prepare("SELECT id FROM members WHERE merged_into IS NOT NULL UNION ALL SELECT id FROM members WHERE status = 'applicant'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let lapsed: Vec<&(String, i64)> = spend.iter().filter(|(id, _)| !excluded.contains(id) && !covered.contains(id)).collect();
    let churn_total = lapsed.len() as i64;
    // One statement per row shown: the member, the primary guardian's phone, the last
    // contract's end and the last lesson.
    let mut details = c.prepare(
        "SELECT m.member_no, m.name, m.status,
            (SELECT g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id WHERE mg.member_id = m.id ORDER BY mg.is_primary DESC LIMIT 1) AS phone,
            (SELECT MAX(k.end_date) FROM contracts k WHERE k.member_id = m.id) AS ended,
            (SELECT a.last_date FROM member_attended a WHERE a.member_id = m.id) AS last_lesson
         FROM members m WHERE m.id = ?1",
    )?;
    let mut churn_ids = Vec::new();
    let mut churn = Vec::new();
    for (id, spent) in lapsed.into_iter().take(limit) {
        type Details = (Option<String>, String, String, Option<String>, Option<String>, Option<String>);
        let (member_no, name, status, phone, ended, last_lesson): Details =
            details.query_row([id], |r| Ok((r.get("member_no")?, r.get("name")?, r.get("status")?, r.get("phone")?, r.get("ended")?, r.get("last_lesson")?)))?;
        churn.push(vec![
            member_no.unwrap_or_default(),
            name,
            phone.unwrap_or_default(),
            ended.unwrap_or_default(),
            last_lesson.unwrap_or_default(),
            money(*spent),
            crate::export::member_status_label(&status, lang),
        ]);
        churn_ids.push(id.clone());
    }
    let churn_table = ReportTable {
        key: "churned".into(),
        title: lang.pick("流失会员（挽回名单）", "Lapsed members (win-back list)"),
        columns: vec![
            column("member_no", lang, "会员号", "Member no.", "text"),
            column("name", lang, "会员", "Member", "text"),
            column("phone", lang, "家长电话", "Guardian phone", "text"),
            column("contract_ended", lang, "合同到期", "Contract ended", "date"),
            column("last_lesson", lang, "最后上课", "Last lesson", "date"),
            column(
                "lifetime_value",
                lang,
                "累计缴费",
                "Lifetime value",
                "money",
            ),
            column("status", lang, "状态", "Status", "text"),
        ],
        rows: churn,
        total_rows: churn_total,
        chart: None,
        member_ids: churn_ids,
    };
    Ok([abc_table, churn_table])
}
