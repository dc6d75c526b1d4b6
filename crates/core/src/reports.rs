//! Reports 报表 for the manager. Each report is one query whose rows feed both the
//! screen (table and chart) and the CSV, so the two can never disagree.
//!
//! Revenue 营收: the payments ledger summed by day, ISO week or month, by payment
//! method, by package and by consultant, with refunds and reversals apart and the net.
//! Sums run in SQL over INTEGER fen, so every total equals the ledger to the fen.

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
