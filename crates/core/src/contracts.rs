//! Contracts / enrolments 报名: a member buys a package. Renewals 续费, pauses 停课
//! (which extend the end date) and refunds 退费 pro-rata by lessons or days left, with
//! the rule and the arithmetic shown.

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Result, Rule};
use crate::members::load_member;
use crate::money::Money;
use crate::payments::{self, Payment};
use crate::{packages, validate};
use chrono::{Datelike, Months, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Contract {
    pub id: String,
    pub contract_no: String,
    pub member_id: String,
    pub package_id: String,
    pub package_name: String,
    #[ts(as = "crate::vocab::PackageKind")]
    pub kind: String,
    pub list_price: Money,
    pub discount: Money,
    pub amount_due: Money,
    pub consultant_id: Option<String>,
    pub start_date: String,
    pub end_date: String,
    pub lessons_total: Option<i64>,
    pub lessons_used: i64,
    /// `active`, `ended` or `refunded`.
    #[ts(as = "crate::vocab::ContractStatus")]
    pub status: String,
    pub renewal_of: Option<String>,
    pub notes: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Pause {
    pub id: String,
    pub contract_id: String,
    pub from_date: String,
    pub to_date: String,
    pub reason: String,
}

/// Where a contract stands on a date: one rule, used by every screen, report, notice,
/// and the parents' portal. Never stored (a stored status goes stale the day after).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ContractState {
    /// Starts later (a renewal bought ahead).
    NotStarted,
    /// Running: lessons can be taken (or the term covers the day).
    Valid,
    /// A lesson package with no lessons left, before its end date.
    UsedUp,
    /// Past its end date.
    Expired,
    /// Paused 停课 today.
    Paused,
    Refunded,
}

impl ContractState {
    pub const ALL: [ContractState; 6] =
        [ContractState::NotStarted, ContractState::Valid, ContractState::UsedUp, ContractState::Expired, ContractState::Paused, ContractState::Refunded];

    pub fn as_str(self) -> &'static str {
        match self {
            ContractState::NotStarted => "not_started",
            ContractState::Valid => "valid",
            ContractState::UsedUp => "used_up",
            ContractState::Expired => "expired",
            ContractState::Paused => "paused",
            ContractState::Refunded => "refunded",
        }
    }

    pub fn label(self, lang: crate::Lang) -> String {
        let (zh, en) = match self {
            ContractState::NotStarted => ("未开始", "not started"),
            ContractState::Valid => ("有效", "valid"),
            ContractState::UsedUp => ("已用完", "used up"),
            ContractState::Expired => ("已到期", "expired"),
            ContractState::Paused => ("已暂停", "paused"),
            ContractState::Refunded => ("已退费", "refunded"),
        };
        lang.pick(zh, en)
    }

    /// Whether the member is still enrolled by this contract (it runs now or later).
    pub fn keeps_member(self) -> bool {
        matches!(self, ContractState::NotStarted | ContractState::Valid | ContractState::Paused)
    }
}

/// The state of `k` on `on`: refunded, else used up (no lessons left), else expired
/// (after its end date), else not started (before its start), else paused (a pause
/// covers the day), else valid.
pub fn state_on(k: &Contract, pauses: &[Pause], on: NaiveDate) -> ContractState {
    let day = on.to_string();
    if k.status == "refunded" {
        ContractState::Refunded
    } else if k.lessons_total.is_some_and(|total| k.lessons_used >= total) {
        ContractState::UsedUp
    } else if day > k.end_date {
        ContractState::Expired
    } else if day < k.start_date {
        ContractState::NotStarted
    } else if pauses.iter().any(|p| p.from_date <= day && day <= p.to_date) {
        ContractState::Paused
    } else {
        ContractState::Valid
    }
}

/// The same rule in SQL, for queries over many contracts: `{k}` is the contracts alias
/// and `?{d}` the date parameter. "Valid on a date" is the one roll call consumes from.
pub fn valid_on_sql(k: &str, d: &str) -> String {
    format!(
        "({k}.status = 'active' AND {k}.start_date <= {d} AND {k}.end_date >= {d}
          AND ({k}.kind = 'term' OR {k}.lessons_used < {k}.lessons_total)
          AND NOT EXISTS (SELECT 1 FROM contract_pauses p WHERE p.contract_id = {k}.id AND p.from_date <= {d} AND p.to_date >= {d}))"
    )
}

/// "Keeps the member enrolled on a date" in SQL: not refunded, lessons left, not ended
/// (valid, paused or not started yet).
pub fn keeps_member_sql(k: &str, d: &str) -> String {
    format!("({k}.status = 'active' AND {k}.end_date >= {d} AND ({k}.kind = 'term' OR {k}.lessons_used < {k}.lessons_total))")
}

/// A contract with what the desk needs to see next to it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ContractView {
    pub contract: Contract,
    /// Where it stands today (the one rule: `state_on`).
    pub state: ContractState,
    pub consultant_name: Option<String>,
    pub paid: Money,
    pub balance_due: Money,
    pub lessons_remaining: Option<i64>,
    pub paused_today: bool,
    pub pauses: Vec<Pause>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct EnrolInput {
    pub member_id: String,
    pub package_id: String,
    /// Amount off the list price, e.g. "200" (empty = none).
    #[serde(default)]
    pub discount: String,
    /// Defaults to today, or for a renewal to the day after the renewed contract ends.
    pub start_date: Option<String>,
    pub consultant_id: Option<String>,
    pub renewal_of: Option<String>,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct PauseInput {
    pub from_date: String,
    pub to_date: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RefundRule {
    /// Pro-rata by lessons left (lesson-count packages).
    Lessons,
    /// Pro-rata by days left, pause days excluded.
    Days,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct RefundQuote {
    pub contract_id: String,
    pub rule: RefundRule,
    pub as_of: String,
    pub amount_due: Money,
    pub paid: Money,
    pub used_units: i64,
    pub total_units: i64,
    pub used_value: Money,
    /// What the member gets back: paid − used value, never below zero.
    pub refund: Money,
    pub explanation_zh: String,
    pub explanation_en: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct RefundInput {
    pub rule: RefundRule,
    #[ts(as = "crate::vocab::PaymentMethod")]
    pub method: String,
    pub reason: String,
}

const COLUMNS: &str = "id, contract_no, member_id, package_id, package_name, kind, list_price, discount, amount_due, consultant_id,
    start_date, end_date, lessons_total, lessons_used, status, renewal_of, notes, created_at, updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Contract> {
    Ok(Contract {
        id: r.get("id")?,
        contract_no: r.get("contract_no")?,
        member_id: r.get("member_id")?,
        package_id: r.get("package_id")?,
        package_name: r.get("package_name")?,
        kind: r.get("kind")?,
        list_price: r.get("list_price")?,
        discount: r.get("discount")?,
        amount_due: r.get("amount_due")?,
        consultant_id: r.get("consultant_id")?,
        start_date: r.get("start_date")?,
        end_date: r.get("end_date")?,
        lessons_total: r.get("lessons_total")?,
        lessons_used: r.get("lessons_used")?,
        status: r.get("status")?,
        renewal_of: r.get("renewal_of")?,
        notes: r.get("notes")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

pub(crate) fn load(c: &Connection, id: &str) -> Result<Contract> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM contracts WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::Contract))
}

fn pauses_of(c: &Connection, contract_id: &str) -> Result<Vec<Pause>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, contract_id, from_date, to_date, reason FROM contract_pauses WHERE contract_id = ?1 ORDER BY from_date",
    )?;
    let rows = stmt
        .query_map([contract_id], |r| Ok(Pause { id: r.get("id")?, contract_id: r.get("contract_id")?, from_date: r.get("from_date")?, to_date: r.get("to_date")?, reason: r.get("reason")? }))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(crate) fn view(c: &Connection, contract: Contract, today: NaiveDate) -> Result<ContractView> {
    let paid = payments::paid_on_contract(c, &contract.id)?;
    let pauses = pauses_of(c, &contract.id)?;
    let today_text = today.to_string();
    let paused_today = pauses.iter().any(|p| p.from_date <= today_text && today_text <= p.to_date);
    let consultant_name = match &contract.consultant_id {
        Some(id) => c.query_row("SELECT display_name FROM staff WHERE id = ?1", [id], |r| r.get(0)).optional()?,
        None => None,
    };
    let balance_due = if contract.status == "refunded" { Money::ZERO } else { contract.amount_due - paid };
    Ok(ContractView {
        state: state_on(&contract, &pauses, today),
        lessons_remaining: contract.lessons_total.map(|t| t - contract.lessons_used),
        consultant_name,
        paid,
        balance_due,
        paused_today,
        pauses,
        contract,
    })
}

pub(crate) fn contracts_of(c: &Connection, member_id: &str, today: NaiveDate) -> Result<Vec<ContractView>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM contracts WHERE member_id = ?1 ORDER BY status = 'active' DESC, start_date DESC"
    ))?;
    let contracts: Vec<Contract> = stmt.query_map([member_id], from_row)?.collect::<rusqlite::Result<_>>()?;
    let mut views = contracts.into_iter().map(|k| view(c, k, today)).collect::<Result<Vec<_>>>()?;
    // Running ones first (valid, paused, starting later), then the ended, newest first.
    let rank = |s: ContractState| ContractState::ALL.iter().position(|x| *x == s).map(|i| [1, 0, 3, 4, 2, 5][i]).unwrap_or(9);
    views.sort_by(|a, b| rank(a.state).cmp(&rank(b.state)).then_with(|| b.contract.start_date.cmp(&a.contract.start_date)));
    Ok(views)
}

fn date_of(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
}

/// The last day of a package bought on `start`.
pub fn end_date_for(kind: &str, start: NaiveDate, validity_days: Option<i64>, term_months: Option<i64>) -> NaiveDate {
    match kind {
        "term" => {
            // Jan 1 + 1 month ends Jan 31; Jan 31 + 1 month ends Feb 28 (the month is
            // shorter, so the clamped date is itself the last day).
            let Some(same_day_next) = start.checked_add_months(Months::new(term_months.unwrap_or(1) as u32)) else {
                return start;
            };
            if same_day_next.day() == start.day() { same_day_next.pred_opt().unwrap_or(start) } else { same_day_next }
        }
        _ => start + chrono::Duration::days(validity_days.unwrap_or(365) - 1),
    }
}

fn days_inclusive(from: NaiveDate, to: NaiveDate) -> i64 {
    if to < from { 0 } else { (to - from).num_days() + 1 }
}

/// Works out a refund. Value used = amount due × used / total; refund = paid − value
/// used (not below zero). Days: pause days count as neither used nor usable.
pub fn quote(contract: &Contract, pauses: &[Pause], paid: Money, rule: RefundRule, as_of: NaiveDate) -> Result<RefundQuote> {
    let (used, total) = match rule {
        RefundRule::Lessons => {
            let total = contract
                .lessons_total
                .ok_or(CoreError::invalid(Field::RefundRule, Rule::OneOf { allowed: vec!["days".into()] }))?;
            (contract.lessons_used, total)
        }
        RefundRule::Days => {
            let start = date_of(&contract.start_date);
            let end = date_of(&contract.end_date);
            let paused_total: i64 = pauses.iter().map(|p| days_inclusive(date_of(&p.from_date), date_of(&p.to_date))).sum();
            let total = (days_inclusive(start, end) - paused_total).max(1);
            // Days strictly before `as_of` are used; pause days among them are not.
            let last_used = as_of.pred_opt().unwrap_or(as_of).min(end);
            let elapsed = days_inclusive(start, last_used);
            let paused_elapsed: i64 = pauses
                .iter()
                .map(|p| days_inclusive(date_of(&p.from_date), date_of(&p.to_date).min(last_used)))
                .sum();
            ((elapsed - paused_elapsed).clamp(0, total), total)
        }
    };
    let used_value = contract.amount_due.mul_ratio(used, total);
    let refund = if paid > used_value { paid - used_value } else { Money::ZERO };
    let (unit_zh, unit_en) = match rule {
        RefundRule::Lessons => ("课时", "lessons"),
        RefundRule::Days => ("天", "days"),
    };
    let explanation_zh = format!(
        "按剩余{rule_zh}退费：实付 {paid} − 已用 {used}/{total} {unit_zh} × 应付 {due}（{uv}）= 应退 {refund}",
        rule_zh = if rule == RefundRule::Lessons { "课时" } else { "天数" },
        paid = paid.display_yuan(),
        due = contract.amount_due.display_yuan(),
        uv = used_value.display_yuan(),
        refund = refund.display_yuan(),
    );
    let explanation_en = format!(
        "Pro-rata by {unit_en} left: paid {paid} − used {used}/{total} {unit_en} × amount due {due} ({uv}) = refund {refund}",
        paid = paid.display_yuan(),
        due = contract.amount_due.display_yuan(),
        uv = used_value.display_yuan(),
        refund = refund.display_yuan(),
    );
    Ok(RefundQuote {
        contract_id: contract.id.clone(),
        rule,
        as_of: as_of.to_string(),
        amount_due: contract.amount_due,
        paid,
        used_units: used,
        total_units: total,
        used_value,
        refund,
        explanation_zh,
        explanation_en,
    })
}

fn check_consultant(c: &Connection, id: &Option<String>) -> Result<Option<String>> {
    match id.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(id) => {
            crate::auth::require_active_staff(c, id, Field::Consultant)?;
            Ok(Some(id.to_string()))
        }
    }
}

fn log_contract(w: &mut WriteTx, id: &str, op: &str) -> Result<Contract> {
    let k = load(w, id)?;
    w.log("contract", id, op, Some(&k.member_id.clone()), &k)?;
    Ok(k)
}

impl Core {
    /// Enrols a member in a package (a renewal when `renewal_of` is set). Payments are
    /// taken separately, so part-payment leaves a balance due.
    pub fn contract_enrol(&self, session: &Session, input: EnrolInput) -> Result<ContractView> {
        session.require(Action::EditContracts)?;
        let mut v = validate::Checks::new();
        let discount = v.take(validate::non_negative_money(Field::Discount, &input.discount));
        let notes = v.take(validate::optional_text(Field::Notes, &input.notes, 200));
        let explicit_start = v.take(validate::optional_date(Field::StartDate, &input.start_date));
        v.finish()?;
        let today = self.today();
        let id = self.write(session, |w| {
            let member = load_member(w, &input.member_id)?;
            if member.status == "applicant" {
                return Err(CoreError::Conflict(Conflict::MemberNotApproved));
            }
            let pkg = packages::load(w, &input.package_id)?;
            if pkg.archived {
                return Err(CoreError::Conflict(Conflict::PackageArchived));
            }
            if discount > pkg.price {
                return Err(CoreError::invalid(Field::Discount, Rule::NotMoreThan { limit: pkg.price }));
            }
            let consultant = check_consultant(w, &input.consultant_id)?;
            let renewal_of = match input.renewal_of.as_deref().filter(|s| !s.is_empty()) {
                Some(prev_id) => {
                    let prev = load(w, prev_id)?;
                    if prev.member_id != member.id {
                        return Err(CoreError::NotFound(Field::Contract));
                    }
                    Some(prev)
                }
                None => None,
            };
            // A term renewal follows on from the term it renews, so no paid days overlap.
            // A lesson package starts today: roll call takes the earliest-expiring valid
            // contract first, so the old lessons are used before the new ones, and the
            // child is never left uncovered between the two.
            let used_up = |k: &Contract| k.lessons_total.is_some_and(|total| k.lessons_used >= total);
            let start = explicit_start.unwrap_or_else(|| match &renewal_of {
                Some(prev) if pkg.kind == "term" && prev.status == "active" && !used_up(prev) => {
                    date_of(&prev.end_date).succ_opt().unwrap_or(today).max(today)
                }
                _ => today,
            });
            let end = end_date_for(&pkg.kind, start, pkg.validity_days, pkg.term_months);
            let id = crate::new_id();
            let number = format!("C{:06}", w.next_counter("contract_no")?);
            let now = w.now_text();
            w.execute(
                "INSERT INTO contracts (id, contract_no, member_id, package_id, package_name, kind, list_price, discount, amount_due,
                    consultant_id, start_date, end_date, lessons_total, lessons_used, status, renewal_of, notes, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, 'active', ?14, ?15, ?16, ?16)",
                params![
                    id,
                    number,
                    member.id,
                    pkg.id,
                    pkg.name,
                    pkg.kind,
                    pkg.price,
                    discount,
                    pkg.price - discount,
                    consultant,
                    start.to_string(),
                    end.to_string(),
                    pkg.lessons,
                    renewal_of.as_ref().map(|p| p.id.clone()),
                    notes,
                    now
                ],
            )?;
            log_contract(w, &id, if renewal_of.is_some() { "renew" } else { "enrol" })?;
            // Buying again wins back a lost member (流失 was the desk's decision, and the
            // family has come back); then the contracts say 在读 or 已过期.
            if member.status == "left" && member.merged_into.is_none() {
                w.execute("UPDATE members SET status = 'active', updated_at = ?2 WHERE id = ?1", params![member.id, now])?;
                let m = load_member(w, &member.id)?;
                w.log("member", &member.id, "set_status", Some(&member.id), &m)?;
            }
            crate::members::follow_contracts(w, &member.id)?;
            Ok(id)
        })?;
        self.contract_get(session, &id)
    }

    pub fn contract_get(&self, session: &Session, contract_id: &str) -> Result<ContractView> {
        session.require(Action::ViewMembers)?;
        let today = self.today();
        self.read(|c| view(c, load(c, contract_id)?, today))
    }

    /// Pauses 停课 a contract for a period; the end date moves out by as many days.
    pub fn contract_pause(&self, session: &Session, contract_id: &str, input: PauseInput) -> Result<ContractView> {
        session.require(Action::EditContracts)?;
        let from = validate::date(Field::PauseFrom, &input.from_date)?;
        let to = validate::date(Field::PauseTo, &input.to_date)?;
        if to < from {
            return Err(CoreError::invalid(Field::PauseTo, Rule::NotBefore { other: Field::PauseFrom }));
        }
        validate::int_in(Field::PauseTo, days_inclusive(from, to), 1, 366)?;
        let reason = validate::optional_text(Field::Reason, &input.reason, 100)?;
        self.write(session, |w| {
            let k = load(w, contract_id)?;
            if k.status != "active" {
                return Err(CoreError::Conflict(Conflict::ContractNotActive));
            }
            if from < date_of(&k.start_date) {
                return Err(CoreError::invalid(Field::PauseFrom, Rule::NotBefore { other: Field::StartDate }));
            }
            let overlaps: bool = w.query_row(
                "SELECT EXISTS(SELECT 1 FROM contract_pauses WHERE contract_id = ?1 AND from_date <= ?3 AND to_date >= ?2)",
                params![contract_id, from.to_string(), to.to_string()],
                |r| r.get(0),
            )?;
            if overlaps {
                return Err(CoreError::Conflict(Conflict::PauseOverlaps));
            }
            let pause_id = crate::new_id();
            w.execute(
                "INSERT INTO contract_pauses (id, contract_id, from_date, to_date, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![pause_id, contract_id, from.to_string(), to.to_string(), reason, w.now_text()],
            )?;
            let new_end = date_of(&k.end_date) + chrono::Duration::days(days_inclusive(from, to));
            w.execute(
                "UPDATE contracts SET end_date = ?2, updated_at = ?3 WHERE id = ?1",
                params![contract_id, new_end.to_string(), w.now_text()],
            )?;
            w.log(
                "contract_pause",
                &pause_id,
                "create",
                Some(&k.member_id),
                &Pause { id: pause_id.clone(), contract_id: contract_id.into(), from_date: from.to_string(), to_date: to.to_string(), reason: reason.clone() },
            )?;
            log_contract(w, contract_id, "pause")?;
            Ok(())
        })?;
        self.contract_get(session, contract_id)
    }

    pub fn refund_quote(&self, session: &Session, contract_id: &str, rule: RefundRule) -> Result<RefundQuote> {
        session.require(Action::RefundContracts)?;
        let today = self.today();
        self.read(|c| {
            let k = load(c, contract_id)?;
            let paid = payments::paid_on_contract(c, contract_id)?;
            quote(&k, &pauses_of(c, contract_id)?, paid, rule, today)
        })
    }

    /// Refunds 退费 a contract: a negative ledger entry of the quoted amount, the rule
    /// kept in its reason; the contract is closed.
    pub fn contract_refund(&self, session: &Session, contract_id: &str, input: RefundInput) -> Result<Option<Payment>> {
        session.require(Action::RefundContracts)?;
        let method = payments::check_method(&input.method)?;
        let reason = validate::required_text(Field::Reason, &input.reason, 200)?;
        self.write(session, |w| {
            let k = load(w, contract_id)?;
            if k.status != "active" {
                return Err(CoreError::Conflict(Conflict::ContractNotActive));
            }
            let paid = payments::paid_on_contract(w, contract_id)?;
            let q = quote(&k, &pauses_of(w, contract_id)?, paid, input.rule, w.today())?;
            let payment = if q.refund.is_positive() {
                let refund = payments::insert_entry(
                    w,
                    &k.member_id,
                    Some(contract_id),
                    "refund",
                    -q.refund,
                    method,
                    None,
                    &format!("{reason}｜{}", q.explanation_zh),
                )?;
                crate::points::take_back_refunded_share(w, &k.member_id, contract_id, q.refund, paid, &refund.id, &reason)?;
                Some(refund)
            } else {
                None
            };
            w.execute("UPDATE contracts SET status = 'refunded', updated_at = ?2 WHERE id = ?1", params![contract_id, w.now_text()])?;
            log_contract(w, contract_id, "refund")?;
            // Refunded, even with nothing paid back: its referral rewards are taken back and
            // the tier re-evaluated before commit (WriteTx::run_follow_ups).
            w.money_moved(&k.member_id, Some(contract_id), &reason);
            // A refunded last contract ends the member's enrolment (the status rule).
            crate::members::follow_contracts(w, &k.member_id)?;
            // None: nothing to pay back (all used), the contract is closed all the same.
            Ok(payment)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(kind: &str, due: i64, total: Option<i64>, used: i64, start: &str, end: &str) -> Contract {
        Contract {
            id: "k".into(),
            contract_no: "C1".into(),
            member_id: "m".into(),
            package_id: "p".into(),
            package_name: "48课时".into(),
            kind: kind.into(),
            list_price: Money::from_fen(due),
            discount: Money::ZERO,
            amount_due: Money::from_fen(due),
            consultant_id: None,
            start_date: start.into(),
            end_date: end.into(),
            lessons_total: total,
            lessons_used: used,
            status: "active".into(),
            renewal_of: None,
            notes: String::new(),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn refund_by_lessons_left() {
        let k = contract("lessons", 480_000, Some(48), 36, "2026-01-01", "2026-12-31");
        let q = quote(&k, &[], Money::from_fen(480_000), RefundRule::Lessons, d("2026-06-01")).unwrap();
        assert_eq!(q.used_value, Money::from_fen(360_000));
        assert_eq!(q.refund, Money::from_fen(120_000));
        assert_eq!(q.explanation_zh, "按剩余课时退费：实付 ¥4,800.00 − 已用 36/48 课时 × 应付 ¥4,800.00（¥3,600.00）= 应退 ¥1,200.00");
    }

    #[test]
    fn refund_of_a_part_paid_contract_never_goes_negative() {
        let k = contract("lessons", 480_000, Some(48), 36, "2026-01-01", "2026-12-31");
        let q = quote(&k, &[], Money::from_fen(100_000), RefundRule::Lessons, d("2026-06-01")).unwrap();
        assert_eq!(q.refund, Money::ZERO);
        let q = quote(&k, &[], Money::from_fen(400_000), RefundRule::Lessons, d("2026-06-01")).unwrap();
        assert_eq!(q.refund, Money::from_fen(40_000));
    }

    #[test]
    fn refund_by_days_excludes_pause_days() {
        // A 90-day term (Jan–Mar 2026 = 90 days), refunded on day 31 (Jan 31 used up).
        let k = contract("term", 90_000, None, 0, "2026-01-01", "2026-03-31");
        let q = quote(&k, &[], Money::from_fen(90_000), RefundRule::Days, d("2026-02-01")).unwrap();
        assert_eq!((q.used_units, q.total_units), (31, 90));
        assert_eq!(q.refund, Money::from_fen(90_000 - 31_000));
        // Paused 10 days in January, end moved out by 10 days: still 90 usable days,
        // and only 21 of January's days were used.
        let k = contract("term", 90_000, None, 0, "2026-01-01", "2026-04-10");
        let pause = Pause { id: "p".into(), contract_id: "k".into(), from_date: "2026-01-11".into(), to_date: "2026-01-20".into(), reason: String::new() };
        let q = quote(&k, &[pause], Money::from_fen(90_000), RefundRule::Days, d("2026-02-01")).unwrap();
        assert_eq!((q.used_units, q.total_units), (21, 90));
        assert_eq!(q.refund, Money::from_fen(69_000));
    }

    #[test]
    fn refund_by_days_before_start_and_after_end() {
        let k = contract("term", 90_000, None, 0, "2026-01-01", "2026-03-31");
        let before = quote(&k, &[], Money::from_fen(90_000), RefundRule::Days, d("2025-12-20")).unwrap();
        assert_eq!(before.refund, Money::from_fen(90_000));
        let after = quote(&k, &[], Money::from_fen(90_000), RefundRule::Days, d("2026-05-01")).unwrap();
        assert_eq!(after.refund, Money::ZERO);
    }

    #[test]
    fn lesson_rule_needs_a_lesson_package() {
        let k = contract("term", 90_000, None, 0, "2026-01-01", "2026-03-31");
        assert!(quote(&k, &[], Money::from_fen(1), RefundRule::Lessons, d("2026-02-01")).is_err());
    }

    #[test]
    fn end_dates() {
        assert_eq!(end_date_for("term", d("2026-01-31"), None, Some(1)), d("2026-02-28"));
        assert_eq!(end_date_for("term", d("2026-01-30"), None, Some(1)), d("2026-02-28"));
        assert_eq!(end_date_for("term", d("2026-03-01"), None, Some(1)), d("2026-03-31"));
        assert_eq!(end_date_for("term", d("2026-01-01"), None, Some(12)), d("2026-12-31"));
        assert_eq!(end_date_for("lessons", d("2026-01-01"), Some(365), None), d("2026-12-31"));
    }
}
