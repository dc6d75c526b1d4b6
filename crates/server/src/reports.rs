//! Head office's consolidated figures, computed from the folded rows (so both stores
//! give the same answer without store-specific SQL): per centre and month, net revenue
//! (payments, refunds and reversals by business date), active members (a contract that
//! is not refunded covers part of the month) and attendances (present, late, make-up).

use crate::store::{Store, StoreError};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MonthFigures {
    pub centre: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Yuan with two decimals, as a string (money is never a float).
    pub revenue: String,
    pub payments: i64,
    pub active_members: i64,
    pub attendances: i64,
}

/// `"-12.30"` → -1230 fen; what the centre's `Money` serializes to. Anything else
/// (signs inside, letters, more than two decimals, beyond an i64 of fen) is None.
pub fn fen(text: &str) -> Option<i64> {
    let (neg, t) = text.strip_prefix('-').map_or((false, text), |t| (true, t));
    let (yuan, frac) = t.split_once('.').unwrap_or((t, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(yuan) || !(frac.is_empty() || digits(frac)) {
        return None;
    }
    let frac = format!("{frac:0<2}");
    if frac.len() != 2 {
        return None;
    }
    let v = yuan.parse::<i64>().ok()?.checked_mul(100)?.checked_add(frac.parse::<i64>().ok()?)?;
    Some(if neg { -v } else { v })
}

/// Fen as yuan text (`-1230` → `"-12.30"`); wide, so that a month's sum never overflows.
pub fn yuan(fen: i128) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.unsigned_abs() / 100, fen.unsigned_abs() % 100)
}

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// `(year, month)` of a `YYYY-MM…` date; None for anything else (a month 13, letters,
/// a date cut inside a character).
fn year_month(date: &str) -> Option<(i32, u32)> {
    let (y, m) = (date.get(..4)?, date.get(5..7)?);
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if date.as_bytes()[4] != b'-' || !digits(y) || !digits(m) {
        return None;
    }
    let month: u32 = m.parse().ok()?;
    (1..=12).contains(&month).then_some((y.parse().ok()?, month))
}

fn month_of(date: &str) -> Option<String> {
    year_month(date).map(|(y, m)| format!("{y:04}-{m:02}"))
}

/// Months from `start` to `end` inclusive (`YYYY-MM-DD` dates), at most 240.
fn months_between(start: &str, end: &str) -> Vec<String> {
    let (Some((mut y, mut m)), Some((ey, em))) = (year_month(start), year_month(end)) else { return vec![] };
    let mut out = vec![];
    while (y, m) <= (ey, em) && out.len() < 240 {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

/// The month (`YYYY-MM`, UTC) of the server's clock: the last month the figures show
/// unless a later one already has payments or attendance.
pub fn this_month() -> String {
    crate::clock::now().format("%Y-%m").to_string()
}

/// Figures per centre per month up to `this_month` (a parameter so that tests and
/// reports of a given day never read the machine's clock).
pub fn monthly(store: &dyn Store, centre: Option<&str>, this_month: &str) -> Result<Vec<MonthFigures>, StoreError> {
    let mut out = vec![];
    for c in store.centres()? {
        if centre.is_some_and(|want| want != c.code) {
            continue;
        }
        let id = store.centre_id(&c.code)?.ok_or_else(|| StoreError::NotFound(c.code.clone()))?;
        #[derive(Default)]
        struct Acc {
            revenue: i128,
            payments: i64,
            members: BTreeSet<String>,
            attendances: i64,
        }
        let mut by_month: BTreeMap<String, Acc> = BTreeMap::new();
        for (_, p) in store.rows(id, "payment")? {
            if let Some(m) = month_of(text(&p, "business_date")) {
                let a = by_month.entry(m).or_default();
                a.revenue += i128::from(fen(text(&p, "amount")).unwrap_or(0));
                a.payments += 1;
            }
        }
        for (_, k) in store.rows(id, "contract")? {
            if text(&k, "status") == "refunded" {
                continue;
            }
            for m in months_between(text(&k, "start_date"), text(&k, "end_date")) {
                by_month.entry(m).or_default().members.insert(text(&k, "member_id").to_string());
            }
        }
        for (_, a) in store.rows(id, "attendance")? {
            if matches!(text(&a, "mark"), "present" | "late" | "makeup") {
                if let Some(m) = month_of(text(&a, "date")) {
                    by_month.entry(m).or_default().attendances += 1;
                }
            }
        }
        // Contracts run into the future; head office wants months that happened.
        for (month, a) in by_month {
            if month.as_str() > this_month && a.payments == 0 && a.attendances == 0 {
                continue;
            }
            out.push(MonthFigures {
                centre: c.code.clone(),
                month,
                revenue: yuan(a.revenue),
                payments: a.payments,
                active_members: a.members.len() as i64,
                attendances: a.attendances,
            });
        }
    }
    Ok(out)
}

/// A CSV for a person opening it in Excel: BOM first, and cells that Excel would run
/// as a formula neutralised (numbers like `-12.30` are left alone).
pub fn csv_bytes(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(header).expect("writing to memory");
    for row in rows {
        let row: Vec<String> = row
            .into_iter()
            .map(|cell| {
                let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && fen(&cell).is_none();
                if risky { format!("'{cell}") } else { cell }
            })
            .collect();
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_text_round_trips_through_fen() {
        for (t, f) in [("0.00", 0), ("12.30", 1230), ("-12.30", -1230), ("4800", 480000), ("0.5", 50), ("7.", 700)] {
            assert_eq!(fen(t), Some(f), "{t}");
        }
        for t in ["", "-", ".5", "1.-5", "+1", "1.234", "12,30", "92233720368547758.08", "99999999999999999999"] {
            assert_eq!(fen(t), None, "{t}");
        }
        assert_eq!(yuan(i128::from(i64::MAX) * 3), "276701161105643274.21");
        assert_eq!(month_of("2026-1é-01"), None);
        assert_eq!(month_of("2026-13-01"), None);
        assert_eq!(month_of("２０２６-１１-２０"), None);
        assert_eq!(yuan(-1230), "-12.30");
        assert_eq!(months_between("2026-11-20", "2027-02-01"), ["2026-11", "2026-12", "2027-01", "2027-02"]);
    }

    #[test]
    fn csv_has_a_bom_and_no_formulas() {
        let b = csv_bytes(&["a", "b"], [vec!["=SUM(A1)".into(), "-12.30".into()]]);
        assert!(b.starts_with(b"\xEF\xBB\xBF"));
        let s = String::from_utf8(b[3..].to_vec()).unwrap();
        assert!(s.contains("'=SUM(A1)") && s.contains(",-12.30"), "{s}");
    }
}
