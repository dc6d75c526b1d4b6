//! Payments 缴费: the append-only money ledger. Partial payments leave a balance due;
//! a mistake is corrected by a reversing entry with a reason, never by an edit (the
//! table refuses UPDATE and DELETE).

use crate::auth::{Action, Session};
use crate::contracts;
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Lang, Result, Rule};
use crate::money::Money;
use crate::validate;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const METHODS: &[&str] = crate::vocab::PaymentMethod::CODES;

/// How a payment method reads on paper.
pub fn method_label(method: &str, lang: crate::Lang) -> String {
    crate::vocab::PaymentMethod::label_of(method, lang)
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Payment {
    pub id: String,
    pub receipt_no: String,
    pub member_id: String,
    pub contract_id: Option<String>,
    /// `payment`, `refund` or `reversal`.
    #[ts(as = "crate::vocab::PaymentKind")]
    pub kind: String,
    /// Negative for refunds and reversals.
    pub amount: Money,
    #[ts(as = "crate::vocab::PaymentMethod")]
    pub method: String,
    pub reverses_id: Option<String>,
    pub reason: String,
    pub staff_id: String,
    pub staff_name: String,
    pub taken_at: String,
    pub business_date: String,
    /// Whether a later entry reverses this one.
    pub reversed: bool,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct PaymentInput {
    pub contract_id: String,
    pub amount: String,
    #[ts(as = "crate::vocab::PaymentMethod")]
    pub method: String,
    #[serde(default)]
    pub note: String,
}

/// What the on-screen (and later printed) receipt shows.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Receipt {
    pub payment: Payment,
    pub centre_name: String,
    pub member_name: String,
    pub member_no: Option<String>,
    /// Who paid (or was paid back): the member's primary guardian, with the relation.
    pub payer: Option<String>,
    pub contract_no: Option<String>,
    pub package_name: Option<String>,
    pub amount_due: Option<Money>,
    pub paid_total: Option<Money>,
    pub balance_due: Option<Money>,
    /// The receipt's lines (label, value) in the desk's language, in order: what the
    /// screen shows and the PDF prints, from this one list.
    pub lines: Vec<ReceiptLine>,
    /// The heading: 收据 / 退款凭证 / 冲正凭证.
    pub title: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct ReceiptLine {
    /// `time`, `member`, `payer`, `package`, `contract`, `method`, `amount_due`,
    /// `paid_total`, `balance_due`, `note`, `reason`, `staff`.
    pub key: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct PaymentRow {
    pub payment: Payment,
    pub member_name: String,
    pub member_no: Option<String>,
    pub package_name: Option<String>,
}

const COLUMNS: &str = "p.id, p.receipt_no, p.member_id, p.contract_id, p.kind, p.amount, p.method, p.reverses_id, p.reason,
    p.staff_id, COALESCE(s.display_name, '') AS staff_name, p.taken_at, p.business_date,
    EXISTS(SELECT 1 FROM payments r WHERE r.reverses_id = p.id) AS reversed";

fn from_row(r: &Row) -> rusqlite::Result<Payment> {
    Ok(Payment {
        id: r.get("id")?,
        receipt_no: r.get("receipt_no")?,
        member_id: r.get("member_id")?,
        contract_id: r.get("contract_id")?,
        kind: r.get("kind")?,
        amount: r.get("amount")?,
        method: r.get("method")?,
        reverses_id: r.get("reverses_id")?,
        reason: r.get("reason")?,
        staff_id: r.get("staff_id")?,
        staff_name: r.get("staff_name")?,
        taken_at: r.get("taken_at")?,
        business_date: r.get("business_date")?,
        reversed: r.get("reversed")?,
    })
}

fn load(c: &Connection, id: &str) -> Result<Payment> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM payments p LEFT JOIN staff s ON s.id = p.staff_id WHERE p.id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::Payment))
}

pub(crate) fn check_method(method: &str) -> Result<&'static str> {
    METHODS
        .iter()
        .copied()
        .find(|m| *m == method)
        .ok_or_else(|| CoreError::invalid(Field::Method, Rule::OneOf { allowed: METHODS.iter().map(|s| s.to_string()).collect() }))
}

/// Net money received on a contract: payments less refunds and reversals. Summed in
/// SQL over INTEGER fen, so exact.
pub(crate) fn paid_on_contract(c: &Connection, contract_id: &str) -> Result<Money> {
    Ok(c.prepare_cached("SELECT COALESCE(SUM(amount), 0) FROM payments WHERE contract_id = ?1 AND kind <> 'refund'")?
        .query_row([contract_id], |r| r.get(0))?)
}

pub(crate) fn payments_of_member(c: &Connection, member_id: &str) -> Result<Vec<Payment>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM payments p LEFT JOIN staff s ON s.id = p.staff_id WHERE p.member_id IN {family} ORDER BY p.taken_at DESC, p.receipt_no DESC",
        family = self_and_merged!()
    ))?;
    let rows = stmt.query_map([member_id], from_row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_entry(
    w: &mut WriteTx,
    member_id: &str,
    contract_id: Option<&str>,
    kind: &str,
    amount: Money,
    method: &str,
    reverses_id: Option<&str>,
    reason: &str,
) -> Result<Payment> {
    let id = crate::new_id();
    let receipt_no = format!("R{:06}", w.next_counter("receipt_no")?);
    let staff_id = w.staff_id().ok_or(CoreError::Internal("a payment needs a staff member".into()))?.to_string();
    w.execute(
        "INSERT INTO payments (id, receipt_no, member_id, contract_id, kind, amount, method, reverses_id, reason, staff_id, taken_at, business_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![id, receipt_no, member_id, contract_id, kind, amount, method, reverses_id, reason, staff_id, w.now_text(), w.today().to_string()],
    )?;
    let p = load(w, &id)?;
    w.log("payment", &id, kind, Some(member_id), &p)?;
    w.money_moved(member_id, contract_id, reason);
    Ok(p)
}

impl Core {
    /// Takes a payment on a contract: any amount up to the balance due.
    pub fn payment_take(&self, session: &Session, input: PaymentInput, lang: Lang) -> Result<Receipt> {
        session.require(Action::TakePayments)?;
        let mut v = crate::validate::Checks::new();
        let amount = v.take(validate::positive_money(Field::Amount, &input.amount));
        let method = v.take(check_method(&input.method));
        let note = v.take(validate::optional_text(Field::Notes, &input.note, 200));
        v.finish()?;
        let id = self.write(session, |w| {
            let k = contracts::load(w, &input.contract_id)?;
            if k.status != "active" {
                return Err(CoreError::Conflict(Conflict::ContractNotActive));
            }
            let balance = k.amount_due - paid_on_contract(w, &k.id)?;
            if !balance.is_positive() {
                return Err(CoreError::Conflict(Conflict::ContractFullyPaid));
            }
            if amount > balance {
                return Err(CoreError::invalid(Field::Amount, Rule::NotMoreThan { limit: balance }));
            }
            let id = insert_entry(w, &k.member_id, Some(&k.id), "payment", amount, method, None, &note)?.id;
            crate::points::earn_for_payment(w, &k.member_id, amount, &id)?;
            // Referral rewards and the tier follow by themselves (WriteTx::run_follow_ups).
            Ok(id)
        })?;
        self.receipt(session, &id, lang)
    }

    /// Corrects a payment by a reversing entry (manager only); the original stays.
    pub fn payment_reverse(&self, session: &Session, payment_id: &str, reason: &str) -> Result<Payment> {
        session.require(Action::ReversePayments)?;
        let reason = validate::required_text(Field::Reason, reason, 200)?;
        self.write(session, |w| {
            let original = load(w, payment_id)?;
            match original.kind.as_str() {
                "payment" => {}
                "reversal" => return Err(CoreError::Conflict(Conflict::CannotReverseReversal)),
                _ => return Err(CoreError::Conflict(Conflict::CannotReverseRefund)),
            }
            if original.reversed {
                return Err(CoreError::Conflict(Conflict::PaymentAlreadyReversed));
            }
            crate::points::take_back(w, &original.id, &reason)?;
            let reversal = insert_entry(
                w,
                &original.member_id,
                original.contract_id.as_deref(),
                "reversal",
                -original.amount,
                &original.method,
                Some(&original.id),
                &reason,
            )?;
            // A contract no longer paid in full gives back its referral rewards, and the
            // tier drops, by themselves (WriteTx::run_follow_ups).
            Ok(reversal)
        })
    }

    pub fn receipt(&self, session: &Session, payment_id: &str, lang: Lang) -> Result<Receipt> {
        session.require(Action::ViewMembers)?;
        let tz = self.timezone();
        self.read(|c| {
            let payment = load(c, payment_id)?;
            let (member_name, member_no): (String, Option<String>) =
                c.query_row("SELECT name, member_no FROM members WHERE id = ?1", [&payment.member_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let centre_name = crate::settings::get(c, "centre_name")?.unwrap_or_default();
            let contract = match &payment.contract_id {
                Some(id) => Some(contracts::load(c, id)?),
                None => None,
            };
            let paid_total = match &contract {
                Some(k) => Some(paid_on_contract(c, &k.id)?),
                None => None,
            };
            let payer: Option<String> = c
                .query_row(
                    "SELECT g.name, mg.relation FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id
                     WHERE mg.member_id = ?1 ORDER BY mg.is_primary DESC, mg.created_at LIMIT 1",
                    [&payment.member_id],
                    |r| Ok(format!("{}（{}）", r.get::<_, String>("name")?, r.get::<_, String>("relation")?)),
                )
                .optional()?;
            let mut r = Receipt {
                centre_name,
                member_name,
                member_no,
                payer,
                contract_no: contract.as_ref().map(|k| k.contract_no.clone()),
                package_name: contract.as_ref().map(|k| k.package_name.clone()),
                amount_due: contract.as_ref().map(|k| k.amount_due),
                balance_due: contract.as_ref().zip(paid_total).map(|(k, p)| if k.status == "refunded" { Money::ZERO } else { k.amount_due - p }),
                paid_total,
                payment,
                lines: vec![],
                title: String::new(),
            };
            r.title = match r.payment.kind.as_str() {
                "refund" => lang.pick("退款凭证", "Refund voucher"),
                "reversal" => lang.pick("冲正凭证", "Reversal voucher"),
                _ => lang.pick("收据", "Receipt"),
            };
            r.lines = receipt_lines(&r, tz, lang);
            Ok(r)
        })
    }

    pub fn payments_recent(&self, session: &Session, limit: i64) -> Result<Vec<PaymentRow>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| recent(c, limit))
    }
}

/// The receipt's lines, in order, in one language: the screen and the PDF both show
/// these. A payment's free text is its note (备注); a refund's or reversal's is its
/// reason (原因).
fn receipt_lines(r: &Receipt, tz: chrono_tz::Tz, lang: Lang) -> Vec<ReceiptLine> {
    let p = &r.payment;
    let mut lines = vec![];
    let mut line = |key: &str, zh: &str, en: &str, value: String| lines.push(ReceiptLine { key: key.into(), label: lang.pick(zh, en), value });
    let taken = chrono::DateTime::parse_from_rfc3339(&p.taken_at)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| p.taken_at.clone());
    line("time", "时间", "Time", taken);
    line("member", "会员", "Member", match &r.member_no {
        Some(no) => format!("{}（{no}）", r.member_name),
        None => r.member_name.clone(),
    });
    if let Some(payer) = &r.payer {
        line("payer", if p.kind == "payment" { "付款人" } else { "收款人" }, if p.kind == "payment" { "Paid by" } else { "Paid to" }, payer.clone());
    }
    if let Some(name) = &r.package_name {
        line("package", "套餐", "Package", name.clone());
    }
    if let Some(no) = &r.contract_no {
        line("contract", "合同号", "Contract", no.clone());
    }
    line("method", "支付方式", "Method", method_label(&p.method, lang));
    if let (Some(due), Some(paid), Some(balance)) = (r.amount_due, r.paid_total, r.balance_due) {
        line("amount_due", "应收", "Amount due", due.display_yuan());
        line("paid_total", "已收合计", "Paid in total", paid.display_yuan());
        line("balance_due", "尚欠", "Balance due", balance.display_yuan());
    }
    if !p.reason.is_empty() {
        if p.kind == "payment" {
            line("note", "备注", "Note", p.reason.clone());
        } else {
            line("reason", "原因", "Reason", p.reason.clone());
        }
    }
    line("staff", "经办人", "Staff", p.staff_name.clone());
    lines
}

pub(crate) fn recent(c: &Connection, limit: i64) -> Result<Vec<PaymentRow>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS}, m.name, m.member_no, k.package_name FROM payments p
         LEFT JOIN staff s ON s.id = p.staff_id
         JOIN members m ON m.id = p.member_id
         LEFT JOIN contracts k ON k.id = p.contract_id
         ORDER BY p.taken_at DESC, p.receipt_no DESC LIMIT ?1"
    ))?;
    let rows = stmt
        .query_map([limit.clamp(1, 500)], |r| {
            Ok(PaymentRow { payment: from_row(r)?, member_name: r.get("name")?, member_no: r.get("member_no")?, package_name: r.get("package_name")? })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
