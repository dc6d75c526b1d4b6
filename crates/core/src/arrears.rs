//! Arrears 欠费: money a family still owes on a contract. One rule behind the home
//! screen's panel, the members list's filter and the report (with its CSV):
//!
//! - a contract owes when it is not refunded and its amount due is more than what was
//!   paid on it (payments less their reversals; refunds do not count: a refunded
//!   contract owes nothing);
//! - owed = amount due − paid, in fen; "since" is the contract's start date;
//! - the total owed is Σ(due − paid) over those contracts, from the ledger itself.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{Lang, Result};
use crate::money::Money;
use rusqlite::Connection;
use serde::Serialize;
use ts_rs::TS;

/// What has been paid on contract `k` (payments less reversals, not refunds).
const PAID_SQL: &str = "(SELECT COALESCE(SUM(p.amount), 0) FROM payments p WHERE p.contract_id = k.id AND p.kind <> 'refund')";

/// The ids of members who owe on a contract (for `IN (…)` filters).
pub(crate) const OWING_MEMBERS: &str = "SELECT k.member_id FROM contracts k WHERE k.status <> 'refunded'
    AND k.amount_due > (SELECT COALESCE(SUM(p.amount), 0) FROM payments p WHERE p.contract_id = k.id AND p.kind <> 'refund')";

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Arrear {
    pub member_id: String,
    pub member_no: Option<String>,
    pub member_name: String,
    pub guardian_phone: Option<String>,
    pub contract_id: String,
    pub contract_no: String,
    pub package_name: String,
    pub amount_due: Money,
    pub paid: Money,
    pub owed: Money,
    /// The contract's start date: owed since then.
    pub since: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Arrears {
    /// Largest amount owed first.
    pub rows: Vec<Arrear>,
    /// Contracts owing (all of them, whatever `rows` holds).
    pub count: i64,
    pub total_owed: Money,
    /// The rule in the desk's language.
    pub rule: String,
}

pub(crate) fn rule(lang: Lang) -> String {
    lang.pick(
        "应付金额大于已付金额（缴费减冲正）的合同；已退费的合同不计",
        "contracts whose amount due is more than what was paid on them (payments less reversals); refunded contracts do not count",
    )
}

/// Every contract owing, largest first; `limit` rows at most.
pub(crate) fn owing(c: &Connection, lang: Lang, limit: usize) -> Result<Arrears> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT m.id AS member_id, m.member_no, m.name, k.id AS contract_id, k.contract_no, k.package_name, k.amount_due, {PAID_SQL} AS paid, k.start_date
         FROM contracts k JOIN members m ON m.id = k.member_id
         WHERE k.status <> 'refunded' AND k.amount_due > {PAID_SQL}
         ORDER BY k.amount_due - paid DESC, k.start_date, k.contract_no"
    ))?;
    let mut rows = stmt.query([])?;
    let (mut out, mut count, mut total) = (Vec::new(), 0i64, Money::ZERO);
    while let Some(r) = rows.next()? {
        let (due, paid): (Money, Money) = (r.get("amount_due")?, r.get("paid")?);
        count += 1;
        total = total + (due - paid);
        if out.len() >= limit {
            continue;
        }
        let member_id: String = r.get("member_id")?;
        out.push(Arrear {
            guardian_phone: crate::members::primary_phone(c, &member_id)?,
            member_id,
            member_no: r.get("member_no")?,
            member_name: r.get("name")?,
            contract_id: r.get("contract_id")?,
            contract_no: r.get("contract_no")?,
            package_name: r.get("package_name")?,
            amount_due: due,
            paid,
            owed: due - paid,
            since: r.get("start_date")?,
        });
    }
    Ok(Arrears { rows: out, count, total_owed: total, rule: rule(lang) })
}

impl Core {
    /// Who owes money, largest first (the desk: whoever takes payments).
    pub fn arrears(&self, session: &Session, lang: Lang) -> Result<Arrears> {
        session.require(Action::TakePayments)?;
        self.read(|c| owing(c, lang, usize::MAX))
    }
}
