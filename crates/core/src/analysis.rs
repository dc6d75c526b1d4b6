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
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{HashMap, HashSet};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const KINDS: [&str; 5] = ["renewals", "sales", "customers", "referrals", "goods"];

/// Rows of a member list sent to the screen: a page the manager can read and click
/// through; the CSV export has every row.
pub const SCREEN_ROWS: usize = 1000;

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct AnalysisFilter {
    /// `renewals`, `sales`, `customers`, `referrals` (see `referrals.rs`) or `goods` (in/out, see `goods.rs`).
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
    /// `text`, `int`, `money` (a money string), `permille` (tenths of a percent) or `date`.
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

fn column(key: &str, lang: Lang, zh: &str, en: &str, kind: &str) -> ReportColumn {
    ReportColumn {
        key: key.into(),
        label: lang.pick(zh, en),
        kind: kind.into(),
    }
}

fn permille(part: i64, whole: i64) -> String {
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

    fn analysis_tables(&self, session: &Session, filter: &AnalysisFilter, lang: Lang, limit: usize) -> Result<Vec<ReportTable>> {
        session.require(Action::ViewReports)?;
        let from = validate::date(Field::FromDate, &filter.from_date)?;
        let to = validate::date(Field::ToDate, &filter.to_date)?;
        if to < from {
            return Err(CoreError::invalid(
                Field::ToDate,
                Rule::NotBefore {
                    other: Field::FromDate,
                },
            ));
        }
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
        let (from, to) = (from.to_string(), to.to_string());
        match filter.report.as_str() {
            "renewals" => {
                let days = range(filter.days_ahead, 30, 366)?;
                let lessons = range(filter.lessons_left, 3, 100)?;
                self.read(|c| renewals(c, lang, &today, &from, &to, days, lessons))
            }
            "sales" => self.read(|c| sales(c, lang, &from, &to, &today)),
            "customers" => {
                let a = range(filter.a_percent, 20, 100)?;
                let b = range(filter.b_percent, 30, 100 - a)?;
                self.read(|c| customers(c, lang, &today, a, b, limit))
            }
            "referrals" => {
                let tz = self.timezone();
                let (from, to) = (validate::date(Field::FromDate, &from)?, validate::date(Field::ToDate, &to)?);
                self.read(|c| crate::referrals::report(c, lang, tz, from, to))
            }
            "goods" => {
                let tz = self.timezone();
                let (from, to) = (validate::date(Field::FromDate, &from)?, validate::date(Field::ToDate, &to)?);
                self.read(|c| crate::goods::stats(c, lang, tz, from, to))
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
                        "int" | "money" => Cell::Number(v.clone()),
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
        let bytes = csv_bytes(&header, &rows, bom)?;
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
    days: i64,
    lessons: i64,
) -> Result<Vec<ReportTable>> {
    let horizon = (chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap_or_default()
        + chrono::Duration::days(days))
    .to_string();
    let mut stmt = c.prepare(
        "SELECT m.id, m.member_no, m.name,
            (SELECT g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id WHERE mg.member_id = m.id ORDER BY mg.is_primary DESC LIMIT 1),
            k.package_name, k.end_date, CASE WHEN k.kind = 'lessons' THEN k.lessons_total - k.lessons_used END, s.display_name
         FROM contracts k JOIN members m ON m.id = k.member_id LEFT JOIN staff s ON s.id = k.consultant_id
         WHERE k.status = 'active' AND m.status IN ('active', 'paused') AND k.start_date <= ?1 AND k.end_date >= ?1
           AND (k.end_date <= ?2 OR (k.kind = 'lessons' AND k.lessons_total - k.lessons_used <= ?3))
           AND NOT EXISTS (SELECT 1 FROM contracts r WHERE r.renewal_of = k.id)
         ORDER BY k.end_date, m.member_no",
    )?;
    let mut ids = Vec::new();
    let due: Vec<Vec<String>> = stmt
        .query_map(params![today, horizon, lessons], |r| {
            ids.push(r.get::<_, String>(0)?);
            Ok(vec![
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                r.get(2)?,
                r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                r.get(4)?,
                r.get(5)?,
                opt(r.get(6)?),
                r.get::<_, Option<String>>(7)?.unwrap_or_default(),
            ])
        })?
        .collect::<rusqlite::Result<_>>()?;
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
        total_rows: due.len() as i64,
        rows: due,
        chart: None,
        member_ids: ids,
    };
    // A contract "ends" in the month of its end date, or of its last lesson when a lesson
    // package was used up earlier (that date kept by `contract_consumed`, migration 0012).
    // Two index ranges, one per case, so only the period's contracts are read.
    let first_day = format!("{}-01", &from[..7.min(from.len())]);
    let last_month = if to[..7.min(to.len())] <= today[..7.min(today.len())] { &to[..7.min(to.len())] } else { &today[..7.min(today.len())] };
    let last_day = format!("{last_month}-31");
    let mut stmt = c.prepare(
        "WITH ended AS (
            SELECT k.id, substr(k.end_date, 1, 7) AS month FROM contracts k LEFT JOIN contract_consumed u ON u.contract_id = k.id
            WHERE k.status IN ('active', 'ended') AND k.end_date BETWEEN ?1 AND ?2
              AND NOT COALESCE(k.kind = 'lessons' AND k.lessons_used >= k.lessons_total AND u.last_date < k.end_date, 0)
            UNION ALL
            SELECT k.id, substr(u.last_date, 1, 7) FROM contract_consumed u JOIN contracts k ON k.id = u.contract_id
            WHERE u.last_date BETWEEN ?1 AND ?2 AND k.status <> 'refunded'
              AND k.kind = 'lessons' AND k.lessons_used >= k.lessons_total AND u.last_date < k.end_date)
         SELECT month, COUNT(*), SUM(EXISTS (SELECT 1 FROM contracts r WHERE r.renewal_of = ended.id)) FROM ended
         GROUP BY month ORDER BY month",
    )?;
    let rate: Vec<Vec<String>> = stmt
        .query_map(params![first_day, last_day], |r| {
            let (ended, renewed): (i64, i64) = (r.get(1)?, r.get(2)?);
            Ok(vec![
                r.get(0)?,
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

const STAGE_RANK: &str = "CASE {s} WHEN 'new' THEN 0 WHEN 'contacted' THEN 1 WHEN 'visit_booked' THEN 2 WHEN 'visited' THEN 3 WHEN 'trial' THEN 4 WHEN 'enrolled' THEN 5 ELSE -1 END";

fn sales(
    c: &Connection,
    lang: Lang,
    from: &str,
    to: &str,
    today: &str,
) -> Result<Vec<ReportTable>> {
    let rank = |s: &str| STAGE_RANK.replace("{s}", s);
    // The furthest stage each lead of the period reached, over its whole history (kept by
    // `lead_reach`, migration 0012, from every status the lead has had).
    let reached = format!(
        "WITH reach AS MATERIALIZED (
            SELECT p.id, p.source, p.status, p.lost_reason, p.consultant_id, p.converted_member_id, p.created_at,
                   MAX({cur}, COALESCE(r.stage, -1),
                       CASE WHEN EXISTS (SELECT 1 FROM trial_requests t WHERE t.lead_id = p.id AND t.attended = 1) THEN 4 ELSE -1 END) AS stage
            FROM leads p LEFT JOIN lead_reach r ON r.lead_id = p.id WHERE substr(p.created_at, 1, 10) BETWEEN ?1 AND ?2)",
        cur = rank("p.status"),
    );
    let mut stmt = c.prepare(&format!(
        "{reached} SELECT source, COUNT(*), SUM(stage >= 3), SUM(stage >= 4), SUM(stage >= 5), SUM(status = 'lost') FROM reach GROUP BY source ORDER BY 2 DESC"
    ))?;
    let funnel: Vec<Vec<String>> = stmt
        .query_map(params![from, to], |r| {
            let (leads, visited, trial, enrolled, lost): (i64, i64, i64, i64, i64) =
                (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
            Ok(vec![
                r.get(0)?,
                leads.to_string(),
                visited.to_string(),
                trial.to_string(),
                enrolled.to_string(),
                lost.to_string(),
                permille(enrolled, leads),
            ])
        })?
        .collect::<rusqlite::Result<_>>()?;
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
    let mut stmt = c.prepare(&format!(
        "{reached} SELECT CASE WHEN lost_reason = '' THEN ?3 ELSE lost_reason END, COUNT(*), MAX(stage) FROM reach WHERE status = 'lost' GROUP BY 1 ORDER BY 2 DESC"
    ))?;
    let unspecified = lang.pick("（未填写）", "(not given)");
    let lost: Vec<Vec<String>> = stmt
        .query_map(params![from, to, unspecified], |r| {
            Ok(vec![r.get(0)?, r.get::<_, i64>(1)?.to_string()])
        })?
        .collect::<rusqlite::Result<_>>()?;
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
    // Per consultant: leads of the period, follow-ups done in the period, conversions of
    // those leads, days from lead to first contract, and revenue on the contracts they sold.
    // Each figure grouped once (the period's leads, the follow-ups, the ledger by day, the
    // open leads), then joined to the staff list.
    let mut stmt = c.prepare(&format!(
        "{reached},
         per AS (SELECT consultant_id, COUNT(*) AS leads, SUM(stage >= 5) AS conversions,
                    CAST(AVG(CASE WHEN converted_member_id IS NOT NULL THEN
                        julianday((SELECT MIN(k.created_at) FROM contracts k WHERE k.member_id = reach.converted_member_id)) - julianday(reach.created_at) END) AS INTEGER) AS days
                 FROM reach GROUP BY consultant_id),
         fu AS (SELECT f.staff_id, COUNT(*) AS n FROM lead_follow_ups f WHERE substr(f.at, 1, 10) BETWEEN ?1 AND ?2 GROUP BY 1),
         rev AS (SELECT d.consultant_id, SUM(d.received + d.refunded + d.reversed) AS net FROM payment_days d WHERE d.business_date BETWEEN ?1 AND ?2 GROUP BY 1),
         late AS (SELECT l.consultant_id, COUNT(*) AS n FROM leads l WHERE l.status NOT IN ('enrolled','lost') AND l.next_follow_up < ?3 GROUP BY 1)
         SELECT s.display_name, COALESCE(per.leads, 0), COALESCE(fu.n, 0), COALESCE(per.conversions, 0), per.days, COALESCE(rev.net, 0), COALESCE(late.n, 0)
         FROM staff s LEFT JOIN per ON per.consultant_id = s.id LEFT JOIN fu ON fu.staff_id = s.id
              LEFT JOIN rev ON rev.consultant_id = s.id LEFT JOIN late ON late.consultant_id = s.id
         WHERE s.role IN ('consultant','manager') AND s.active = 1 ORDER BY 6 DESC, 1"
    ))?;
    let people: Vec<Vec<String>> = stmt
        .query_map(params![from, to, today], |r| {
            let (leads, conversions): (i64, i64) = (r.get(1)?, r.get(3)?);
            Ok(vec![
                r.get(0)?,
                leads.to_string(),
                r.get::<_, i64>(2)?.to_string(),
                conversions.to_string(),
                permille(conversions, leads),
                opt(r.get(4)?),
                money(r.get(5)?),
                r.get::<_, i64>(6)?.to_string(),
            ])
        })?
        .collect::<rusqlite::Result<_>>()?;
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

/// The NTILE(5) of each row (by index) in the order `cmp` gives: the first `n % 5` tiles
/// hold one row more, as SQLite's window function deals them.
fn quintiles(n: usize, cmp: impl Fn(usize, usize) -> std::cmp::Ordering) -> Vec<i64> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| cmp(i, j));
    let (base, extra) = (n / 5, n % 5);
    let mut tile = vec![0; n];
    let mut pos = 0;
    for t in 0..5 {
        let size = base + usize::from(t < extra);
        for &i in &order[pos..pos + size] {
            tile[i] = t as i64 + 1;
        }
        pos += size;
    }
    tile
}

fn customers(
    c: &Connection,
    lang: Lang,
    today: &str,
    a_percent: i64,
    b_percent: i64,
    limit: usize,
) -> Result<Vec<ReportTable>> {
    let year_ago = (chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap_or_default()
        - chrono::Duration::days(365))
    .to_string();
    // Each table is ranked from one read of a narrow source (the year's ledger off its
    // covering index, `member_spend`), sorted by SQLite; names, phones and dates are looked
    // up only for the rows shown. The old joins probed the members table per row and took
    // 1–2 s at 100,000 members. A merged record's money counts for its survivor.
    let merged: HashMap<String, String> = c
        .prepare("SELECT id, merged_into FROM members WHERE merged_into IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut member = c.prepare("SELECT member_no, name, status FROM members WHERE id = ?1")?;
    let mut member = |id: &str| -> Result<(Option<String>, String, String)> { Ok(member.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?) };
    let today_date = chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap_or_default();
    // Quintiles over members who paid in the last year, as SQL's NTILE(5) would give
    // them (ties in member order); 5 is best (recent, frequent, much).
    let mut payers: Vec<(String, String, i64, i64)> = c
        .prepare(
            "SELECT member_id, MAX(business_date), SUM(kind = 'payment'), SUM(amount) FROM payments
             WHERE business_date BETWEEN ?2 AND ?1 GROUP BY member_id",
        )?
        .query_map(params![today, year_ago], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if !merged.is_empty() {
        let mut folded: HashMap<String, (String, i64, i64)> = HashMap::new();
        for (id, last, freq, spent) in payers {
            let e = folded.entry(merged.get(&id).cloned().unwrap_or(id)).or_insert((String::new(), 0, 0));
            if last > e.0 {
                e.0 = last;
            }
            e.1 += freq;
            e.2 += spent;
        }
        payers = folded.into_iter().map(|(id, (last, freq, spent))| (id, last, freq, spent)).collect();
    }
    payers.retain(|p| p.3 > 0);
    payers.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| a.0.cmp(&b.0)));
    let n = payers.len();
    let recency = quintiles(n, |i, j| payers[i].1.cmp(&payers[j].1).then_with(|| payers[i].0.cmp(&payers[j].0)));
    let frequency = quintiles(n, |i, j| payers[i].2.cmp(&payers[j].2).then_with(|| payers[i].0.cmp(&payers[j].0)));
    let monetary = quintiles(n, |i, j| payers[i].3.cmp(&payers[j].3).then_with(|| payers[i].0.cmp(&payers[j].0)));
    let mut rfm_ids = Vec::new();
    let mut rfm: Vec<Vec<String>> = Vec::new();
    for (i, (id, last, freq, spent)) in payers.into_iter().enumerate().take(limit) {
        let (member_no, name, _) = member(&id)?;
        let days = chrono::NaiveDate::parse_from_str(&last, "%Y-%m-%d").map(|d| (today_date - d).num_days()).unwrap_or_default();
        let (rs, fs, ms) = (recency[i], frequency[i], monetary[i]);
        rfm.push(vec![member_no.unwrap_or_default(), name, last, days.to_string(), freq.to_string(), money(spent), format!("{rs}{fs}{ms}"), segment(rs, fs, ms, lang)]);
        rfm_ids.push(id);
    }
    let rfm_table = ReportTable {
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
    };
    // ABC over lifetime revenue: rank members by what they have paid in total.
    let mut spend: Vec<(String, i64)> = c
        .prepare("SELECT member_id, spent FROM member_spend ORDER BY spent DESC, member_id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if !merged.is_empty() {
        let mut folded: HashMap<String, i64> = HashMap::new();
        for (id, spent) in spend {
            *folded.entry(merged.get(&id).cloned().unwrap_or(id)).or_default() += spent;
        }
        spend = folded.into_iter().collect();
        spend.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    let total = spend.iter().take_while(|x| x.1 > 0).count() as i64;
    let mut dates = c.prepare(
        "SELECT MIN(first_date), MAX(last_date) FROM member_spend WHERE member_id = ?1 OR member_id IN (SELECT id FROM members WHERE merged_into = ?1)",
    )?;
    let mut abc_ids = Vec::new();
    let mut abc: Vec<Vec<String>> = Vec::new();
    for ((id, spent), rank) in spend.iter().take_while(|x| x.1 > 0).zip(1i64..).take(limit) {
        let (member_no, name, status) = member(id)?;
        let (first, last): (String, String) = dates.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
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
    let ids = |sql: &str| -> Result<HashSet<String>> { Ok(c.prepare(sql)?.query_map([today], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?) };
    let covered = ids("SELECT member_id FROM contracts WHERE status = 'active' AND end_date >= ?1 AND (kind = 'term' OR lessons_used < lessons_total)")?;
    let eligible = ids("SELECT id FROM members WHERE merged_into IS NULL AND status IN ('active','paused','expired','left') AND ?1 = ?1")?;
    let lapsed: Vec<&(String, i64)> = spend.iter().filter(|(id, _)| eligible.contains(id) && !covered.contains(id)).collect();
    let churn_total = lapsed.len() as i64;
    let mut phone = c.prepare(
        "SELECT g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id WHERE mg.member_id = ?1 ORDER BY mg.is_primary DESC LIMIT 1",
    )?;
    let mut ended = c.prepare("SELECT MAX(k.end_date) FROM contracts k WHERE k.member_id = ?1")?;
    let mut attended = c.prepare("SELECT last_date FROM member_attended WHERE member_id = ?1")?;
    let mut churn_ids = Vec::new();
    let mut churn = Vec::new();
    for (id, spent) in lapsed.into_iter().take(limit) {
        let (member_no, name, status) = member(id)?;
        let phone: Option<String> = phone.query_row([id], |r| r.get(0)).optional()?;
        let ended: Option<String> = ended.query_row([id], |r| r.get(0))?;
        let last_lesson: Option<String> = attended.query_row([id], |r| r.get(0)).optional()?;
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
    Ok(vec![rfm_table, abc_table, churn_table])
}
