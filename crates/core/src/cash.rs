//! Cash reconciliation 对账 per staff member: the cash the system says each person took
//! at the desk on a business date, against what they handed in 交款, with the difference.
//!
//! Cash per the system, for a staff member and business date, counts only method `cash`:
//!
//! - **in**: contract payments they took, goods sales they made — less reversing entries
//!   (冲正) of their cash payments: a reversal corrects what the *taker* took, so it counts
//!   against the staff member of the payment it reverses, on the reversal's own date
//!   (whoever recorded it);
//! - **out**: contract refunds they paid out in cash and goods returns/cancellations they
//!   paid back in cash;
//! - **net** = in − out: what they should hand in.
//!
//! Hand-ins are recorded by the manager, who receives and counts the cash (`received_by`
//! defaults to them; another receiver can be named): a centre's cash goes to the manager at
//! the end of the day, and the person counting is the one who vouches for the amount. The
//! clerk does not record her own. A mistaken entry is voided with a reason, never edited.
//! **difference** = handed in − net: positive is over 长款, negative short 短款.
//! Sums are INTEGER fen in SQL and i64 in Rust, so every figure is exact.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{Conflict, CoreError, Field, Lang, Result, Rule};
use crate::export::{csv_bytes, Cell, CsvFile};
use crate::money::Money;
use crate::validate;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

pub const BY: [&str; 2] = ["day", "staff"];

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct HandinInput {
    /// Whose cash it is.
    pub staff_id: String,
    pub business_date: String,
    pub amount: String,
    /// Who received and counted it; the recording manager when empty.
    #[serde(default)]
    #[ts(optional)]
    pub received_by: Option<String>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct CashHandin {
    pub id: String,
    pub staff_id: String,
    pub staff_name: String,
    pub business_date: String,
    pub amount: Money,
    pub received_by: String,
    pub received_by_name: String,
    pub note: String,
    pub recorded_by_name: String,
    pub recorded_at: String,
    pub voided_at: Option<String>,
    pub void_reason: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct CashFilter {
    pub from_date: String,
    pub to_date: String,
    /// `day`: a line per staff member per business date; `staff`: one per staff member
    /// for the whole period.
    pub by: String,
    #[serde(default)]
    #[ts(optional)]
    pub staff_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct CashRow {
    /// The business date (`by = day`), empty for a period line and the total.
    pub date: String,
    pub staff_id: String,
    pub staff_name: String,
    pub cash_in: Money,
    pub cash_out: Money,
    /// What the system says should be handed in: in − out.
    pub net: Money,
    pub handed_in: Money,
    /// Handed in − net: positive over, negative short.
    pub difference: Money,
    /// Cash entries (payments, refunds, reversals, sales, returns).
    pub entries: i64,
    pub handins: i64,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct CashReport {
    pub rows: Vec<CashRow>,
    pub total: CashRow,
    /// The period's hand-ins (voided ones too, marked), newest first.
    pub handins: Vec<CashHandin>,
}

const HANDIN_SELECT: &str = "SELECT h.id, h.staff_id, s.display_name AS staff_name, h.business_date, h.amount, h.received_by, r.display_name AS received_by_name, h.note, b.display_name AS recorded_by_name, h.recorded_at,
        h.voided_at, h.void_reason
     FROM cash_handins h JOIN staff s ON s.id = h.staff_id JOIN staff r ON r.id = h.received_by JOIN staff b ON b.id = h.recorded_by";

fn handin_from_row(r: &rusqlite::Row) -> rusqlite::Result<CashHandin> {
    Ok(CashHandin {
        id: r.get("id")?,
        staff_id: r.get("staff_id")?,
        staff_name: r.get("staff_name")?,
        business_date: r.get("business_date")?,
        amount: r.get("amount")?,
        received_by: r.get("received_by")?,
        received_by_name: r.get("received_by_name")?,
        note: r.get("note")?,
        recorded_by_name: r.get("recorded_by_name")?,
        recorded_at: r.get("recorded_at")?,
        voided_at: r.get("voided_at")?,
        void_reason: r.get("void_reason")?,
    })
}

fn load_handin(c: &Connection, id: &str) -> Result<CashHandin> {
    c.query_row(&format!("{HANDIN_SELECT} WHERE h.id = ?1"), [id], handin_from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::HandIn))
}

fn staff_exists(c: &Connection, field: Field, id: &str) -> Result<()> {
    let found: Option<i64> = c.query_row("SELECT 1 FROM staff WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    found.map(drop).ok_or(CoreError::invalid(field, Rule::Unknown))
}

/// Cash per the system, `(date, staff) → (in, out, entries)` in fen.
const CASH_SQL: &str = "
SELECT d, staff, SUM(cin) AS cash_in, SUM(cout) AS cash_out, COUNT(*) AS entries FROM (
    SELECT p.business_date AS d, CASE WHEN p.kind = 'reversal' THEN COALESCE(o.staff_id, p.staff_id) ELSE p.staff_id END AS staff,
           CASE WHEN p.kind = 'refund' THEN 0 ELSE p.amount END AS cin,
           CASE WHEN p.kind = 'refund' THEN -p.amount ELSE 0 END AS cout
    FROM payments p LEFT JOIN payments o ON o.id = p.reverses_id
    WHERE p.method = 'cash' AND p.business_date BETWEEN ?1 AND ?2
    UNION ALL
    SELECT business_date, staff_id, amount, 0 FROM goods_sales WHERE method = 'cash' AND business_date BETWEEN ?1 AND ?2
    UNION ALL
    SELECT business_date, staff_id, 0, amount FROM goods_returns WHERE method = 'cash' AND business_date BETWEEN ?1 AND ?2
) GROUP BY d, staff";

#[derive(Default, Clone, Copy)]
struct Sums {
    cin: i64,
    cout: i64,
    handed: i64,
    entries: i64,
    handins: i64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.cin += o.cin;
        self.cout += o.cout;
        self.handed += o.handed;
        self.entries += o.entries;
        self.handins += o.handins;
    }
    fn row(&self, date: String, staff_id: String, staff_name: String) -> CashRow {
        let net = self.cin - self.cout;
        CashRow {
            date,
            staff_id,
            staff_name,
            cash_in: Money::from_fen(self.cin),
            cash_out: Money::from_fen(self.cout),
            net: Money::from_fen(net),
            handed_in: Money::from_fen(self.handed),
            difference: Money::from_fen(self.handed - net),
            entries: self.entries,
            handins: self.handins,
        }
    }
}

impl Core {
    /// Records cash handed in by a staff member for a business date (manager).
    pub fn cash_handin_record(&self, session: &Session, input: HandinInput) -> Result<CashHandin> {
        session.require(Action::ReconcileCash)?;
        let date = validate::date(Field::Date, &input.business_date)?;
        if date > self.today() {
            return Err(CoreError::invalid(Field::Date, Rule::NotInFuture));
        }
        let amount = validate::non_negative_money(Field::Amount, &input.amount)?;
        let note = validate::optional_text(Field::Notes, &input.note, 100)?;
        if input.staff_id.trim().is_empty() {
            return Err(CoreError::invalid(Field::Staff, Rule::Required));
        }
        let received_by = input.received_by.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| session.staff_id.clone());
        self.write(session, |w| {
            staff_exists(w, Field::Staff, &input.staff_id)?;
            staff_exists(w, Field::ReceivedBy, &received_by)?;
            let id = crate::new_id();
            w.execute(
                "INSERT INTO cash_handins (id, staff_id, business_date, amount, received_by, note, recorded_by, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![id, input.staff_id, date.to_string(), amount, received_by, note, session.staff_id, w.now_text()],
            )?;
            let h = load_handin(w, &id)?;
            w.log("cash_handin", &id, "record", None, &h)?;
            Ok(h)
        })
    }

    /// Voids a mistaken hand-in, with the reason (manager); the row stays.
    pub fn cash_handin_void(&self, session: &Session, handin_id: &str, reason: &str) -> Result<CashHandin> {
        session.require(Action::ReconcileCash)?;
        let reason = validate::required_text(Field::Reason, reason, 100)?;
        self.write(session, |w| {
            let h = load_handin(w, handin_id)?;
            if h.voided_at.is_some() {
                return Err(CoreError::Conflict(Conflict::HandinVoided));
            }
            w.execute(
                "UPDATE cash_handins SET voided_at = ?2, voided_by = ?3, void_reason = ?4 WHERE id = ?1",
                params![handin_id, w.now_text(), session.staff_id, reason],
            )?;
            let h = load_handin(w, handin_id)?;
            w.log("cash_handin", handin_id, "void", None, &h)?;
            Ok(h)
        })
    }

    /// The reconciliation per staff member, per day or for the period (manager).
    pub fn cash_report(&self, session: &Session, filter: &CashFilter) -> Result<CashReport> {
        session.require(Action::ViewReports)?;
        let (from, to) = validate::date_range(&filter.from_date, &filter.to_date)?;
        let by_day = match filter.by.as_str() {
            "day" => true,
            "staff" => false,
            _ => return Err(CoreError::invalid(Field::Period, Rule::OneOf { allowed: BY.iter().map(|s| s.to_string()).collect() })),
        };
        let only = filter.staff_id.clone().filter(|s| !s.is_empty());
        let (from, to) = (from.to_string(), to.to_string());
        self.read(|c| {
            let mut cells: BTreeMap<(String, String), Sums> = BTreeMap::new();
            let mut stmt = c.prepare(CASH_SQL)?;
            let mut rows = stmt.query(params![from, to])?;
            while let Some(r) = rows.next()? {
                let key: (String, String) = (r.get("d")?, r.get("staff")?);
                let s = cells.entry(key).or_default();
                s.cin += r.get::<_, i64>("cash_in")?;
                s.cout += r.get::<_, i64>("cash_out")?;
                s.entries += r.get::<_, i64>("entries")?;
            }
            let mut stmt = c.prepare(
                "SELECT business_date, staff_id, SUM(amount) AS handed, COUNT(*) AS handins FROM cash_handins
                 WHERE voided_at IS NULL AND business_date BETWEEN ?1 AND ?2 GROUP BY business_date, staff_id",
            )?;
            let mut rows = stmt.query(params![from, to])?;
            while let Some(r) = rows.next()? {
                let key: (String, String) = (r.get("business_date")?, r.get("staff_id")?);
                let s = cells.entry(key).or_default();
                s.handed += r.get::<_, i64>("handed")?;
                s.handins += r.get::<_, i64>("handins")?;
            }
            let names: BTreeMap<String, String> = c
                .prepare("SELECT id, display_name FROM staff")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let name = |id: &str| names.get(id).cloned().unwrap_or_default();
            let mut total = Sums::default();
            let mut lines: BTreeMap<(String, String, String), Sums> = BTreeMap::new();
            for ((date, staff), s) in cells {
                if only.as_deref().is_some_and(|o| o != staff) {
                    continue;
                }
                total.add(&s);
                let date = if by_day { date } else { String::new() };
                lines.entry((date, name(&staff), staff)).or_default().add(&s);
            }
            let rows = lines.into_iter().map(|((date, staff_name, staff_id), s)| s.row(date, staff_id, staff_name)).collect();
            let mut stmt = c.prepare(&format!(
                "{HANDIN_SELECT} WHERE h.business_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR h.staff_id = ?3) ORDER BY h.business_date DESC, h.recorded_at DESC LIMIT 1000"
            ))?;
            let handins = stmt.query_map(params![from, to, only], handin_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(CashReport { rows, total: total.row(String::new(), String::new(), String::new()), handins })
        })
    }

    /// The reconciliation as CSV: the same lines as the screen, then the total.
    pub fn cash_report_csv(&self, session: &Session, filter: &CashFilter, lang: Lang, bom: bool) -> Result<CsvFile> {
        let report = self.cash_report(session, filter)?;
        let header = [
            lang.pick("日期", "Date"),
            lang.pick("员工", "Staff"),
            lang.pick("现金收入", "Cash in"),
            lang.pick("现金支出", "Cash out"),
            lang.pick("应交（系统）", "Due (system)"),
            lang.pick("实交", "Handed in"),
            lang.pick("差额", "Difference"),
            lang.pick("笔数", "Entries"),
        ];
        let total_label = lang.pick("合计", "Total");
        let rows: Vec<Vec<Cell>> = report
            .rows
            .iter()
            .map(|r| (r, r.staff_name.clone()))
            .chain(std::iter::once((&report.total, total_label)))
            .map(|(r, who)| {
                vec![
                    Cell::Text(r.date.clone()),
                    Cell::Text(who),
                    Cell::Number(r.cash_in.to_string()),
                    Cell::Number(r.cash_out.to_string()),
                    Cell::Number(r.net.to_string()),
                    Cell::Number(r.handed_in.to_string()),
                    Cell::Number(r.difference.to_string()),
                    Cell::Number(r.entries.to_string()),
                ]
            })
            .collect();
        let bytes = csv_bytes(&header, &rows, bom, &self.csv_footer(lang))?;
        let name = format!("{}-{}_{}.csv", lang.pick("现金对账", "cash-reconciliation"), filter.from_date, filter.to_date);
        Ok(CsvFile { file_name: name, bytes, rows: rows.len() as i64 })
    }
}
