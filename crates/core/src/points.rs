//! Points 积分: an append-only ledger per member; the balance is always its sum. Points
//! are earned by the centre's rules (per ¥ paid, per lesson attended — see settings), by
//! a manual award with a reason, and spent on goods. Earnings follow what earned them:
//! a reversed payment or an undone roll call takes its points back by another entry.
//! Entries of a record merged into another count for the survivor (the ledger, like the
//! payments, is never re-pointed).

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Result, Rule};
use crate::members::load_member;
use crate::money::Money;
use crate::{settings, validate};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct PointsEntry {
    pub id: String,
    pub member_id: String,
    pub delta: i64,
    /// payment, attendance, referral, manual, redeem, goods, reversal
    pub kind: String,
    pub reason: String,
    pub ref_id: Option<String>,
    pub staff_name: Option<String>,
    pub at: String,
    pub business_date: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct PointsAccount {
    pub member_id: String,
    pub balance: i64,
    /// Newest first.
    pub entries: Vec<PointsEntry>,
}

/// A manual award (positive) or deduction (negative), always with a reason.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct PointsAward {
    pub member_id: String,
    pub points: i64,
    pub reason: String,
}

const OWNED: &str = concat!("member_id IN ", self_and_merged!());

pub(crate) fn balance(c: &Connection, member_id: &str) -> Result<i64> {
    Ok(c.query_row(&format!("SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE {OWNED}"), [member_id], |r| r.get(0))?)
}

fn load_entry(c: &Connection, id: &str) -> Result<PointsEntry> {
    Ok(c.query_row(
        "SELECT p.id, p.member_id, p.delta, p.kind, p.reason, p.ref_id, s.display_name, p.at, p.business_date
         FROM points_ledger p LEFT JOIN staff s ON s.id = p.staff_id WHERE p.id = ?1",
        [id],
        entry_from_row,
    )?)
}

fn entry_from_row(r: &rusqlite::Row) -> rusqlite::Result<PointsEntry> {
    Ok(PointsEntry {
        id: r.get("id")?,
        member_id: r.get("member_id")?,
        delta: r.get("delta")?,
        kind: r.get("kind")?,
        reason: r.get("reason")?,
        ref_id: r.get("ref_id")?,
        staff_name: r.get("display_name")?,
        at: r.get("at")?,
        business_date: r.get("business_date")?,
    })
}

/// Adds one entry. Spending (a negative redeem or manual entry) never takes the balance
/// below zero; taking back earnings may, since what was earned was already spent.
pub(crate) fn add(w: &mut WriteTx, member_id: &str, delta: i64, kind: &str, reason: &str, ref_id: Option<&str>) -> Result<Option<PointsEntry>> {
    if delta == 0 {
        return Ok(None);
    }
    if delta < 0 && matches!(kind, "redeem" | "manual") {
        let have = balance(w, member_id)?;
        if have + delta < 0 {
            return Err(CoreError::Conflict(Conflict::NotEnoughPoints { balance: have }));
        }
    }
    let id = crate::new_id();
    w.execute(
        "INSERT INTO points_ledger (id, member_id, delta, kind, reason, ref_id, staff_id, at, business_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![id, member_id, delta, kind, reason, ref_id, w.staff_id(), w.now_text(), w.today().to_string()],
    )?;
    let entry = load_entry(w, &id)?;
    w.log("points", &id, kind, Some(member_id), &entry)?;
    // Points can move a tier (the points basis).
    w.points_moved(member_id);
    Ok(Some(entry))
}

/// Points earned by a payment of `amount` (whole yuan × the centre's rate).
pub(crate) fn earn_for_payment(w: &mut WriteTx, member_id: &str, amount: Money, ref_id: &str) -> Result<()> {
    let rate = settings::load(w)?.points_per_yuan;
    let points = amount.fen() / 100 * rate;
    if points > 0 {
        add(w, member_id, points, "payment", "", Some(ref_id))?;
    }
    Ok(())
}

pub(crate) fn earn_for_attendance(w: &mut WriteTx, member_id: &str, attendance_id: &str) -> Result<()> {
    let points = settings::load(w)?.points_per_attendance;
    if points > 0 {
        add(w, member_id, points, "attendance", "", Some(attendance_id))?;
    }
    Ok(())
}

/// A contract refunded: the points its payments earned (less what was already taken
/// back) are taken back in the share the refund is of what was paid, rounded down, as
/// one entry against the refund. The balance may go below zero when the points were
/// already spent: they were spent on money that has now come back.
pub(crate) fn take_back_refunded_share(w: &mut WriteTx, member_id: &str, contract_id: &str, refund: Money, paid: Money, refund_id: &str, reason: &str) -> Result<()> {
    if !refund.is_positive() || !paid.is_positive() {
        return Ok(());
    }
    let earned: i64 = w.query_row(
        "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE kind IN ('payment', 'reversal')
           AND ref_id IN (SELECT id FROM payments WHERE contract_id = ?1 AND kind = 'payment')",
        [contract_id],
        |r| r.get(0),
    )?;
    let share = (i128::from(earned) * i128::from(refund.fen().min(paid.fen())) / i128::from(paid.fen())) as i64;
    if share > 0 {
        add(w, member_id, -share, "reversal", reason, Some(refund_id))?;
    }
    Ok(())
}

/// Takes back what `ref_id` earned and has not yet been taken back (a reversed payment,
/// an undone mark). Idempotent: a second call finds nothing left to take.
pub(crate) fn take_back(w: &mut WriteTx, ref_id: &str, reason: &str) -> Result<()> {
    let left: Option<(String, i64)> = w
        .query_row(
            "SELECT member_id, SUM(delta) AS earned FROM points_ledger WHERE ref_id = ?1 GROUP BY member_id HAVING SUM(delta) <> 0",
            [ref_id],
            |r| Ok((r.get("member_id")?, r.get("earned")?)),
        )
        .optional()?;
    if let Some((member_id, earned)) = left {
        add(w, &member_id, -earned, "reversal", reason, Some(ref_id))?;
    }
    Ok(())
}

impl Core {
    pub fn points_account(&self, session: &Session, member_id: &str) -> Result<PointsAccount> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            load_member(c, member_id)?;
            let mut stmt = c.prepare(&format!(
                "SELECT p.id, p.member_id, p.delta, p.kind, p.reason, p.ref_id, s.display_name, p.at, p.business_date
                 FROM points_ledger p LEFT JOIN staff s ON s.id = p.staff_id WHERE p.member_id IN {family} ORDER BY p.at DESC, p.rowid DESC LIMIT 200",
                family = self_and_merged!()
            ))?;
            let entries = stmt.query_map([member_id], entry_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(PointsAccount { member_id: member_id.to_string(), balance: balance(c, member_id)?, entries })
        })
    }

    /// A manual award or deduction (manager), with its reason.
    pub fn points_award(&self, session: &Session, input: PointsAward) -> Result<PointsAccount> {
        session.require(Action::AwardPoints)?;
        if input.points == 0 {
            return Err(CoreError::invalid(Field::Points, Rule::Required));
        }
        validate::int_in(Field::Points, input.points, -100_000, 100_000)?;
        let reason = validate::required_text(Field::Reason, &input.reason, 100)?;
        self.write(session, |w| {
            let m = load_member(w, &input.member_id)?;
            if m.merged_into.is_some() {
                return Err(CoreError::Conflict(Conflict::MemberAlreadyMerged));
            }
            add(w, &m.id, input.points, "manual", &reason, None)
        })?;
        self.points_account(session, &input.member_id)
    }
}
