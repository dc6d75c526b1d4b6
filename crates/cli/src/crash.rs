//! The crash test's two halves (hidden subcommands; `scripts/crash-test.sh` drives them):
//! `crash-child` takes payments and roll calls on a demo database, printing a line
//! before each write and one after its commit returned (an acknowledged commit: the
//! receipt a clerk would have printed); the script kills it with SIGKILL at a random
//! moment. `crash-verify` then opens the database as the desk would and checks it
//! against every line all the trials printed.

use centredesk_core::attendance::{MarkInput, RollCallInput};
use centredesk_core::contracts::EnrolInput;
use centredesk_core::members::MemberFilter;
use centredesk_core::payments::PaymentInput;
use centredesk_core::timetable::SessionFilter;
use centredesk_core::{Core, CoreError, Lang};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

/// The roll calls toggle these sessions (after the demo's last day, confirmed early).
const ROLL_CALL_SESSIONS: usize = 4;

fn sessions(core: &Core, s: &centredesk_core::Session) -> Result<Vec<String>, CoreError> {
    let from = core.today() + chrono::Duration::days(1);
    let to = from + chrono::Duration::days(13);
    let filter = SessionFilter { from_date: from.to_string(), to_date: to.to_string(), ..Default::default() };
    Ok(core.session_list(s, filter)?.into_iter().filter(|x| x.status != "cancelled").take(ROLL_CALL_SESSIONS).map(|x| x.id).collect())
}

/// Writes until killed (or `iterations` writes): `seed` varies what it does per trial.
pub fn child(core: &Core, seed: u64, iterations: usize) -> Result<(), CoreError> {
    // As the demo's manager, without the password: argon2 in a debug build would make
    // each trial spend most of its life logging in instead of writing.
    let s = {
        let raw = rusqlite::Connection::open_with_flags(core.path(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        raw.query_row("SELECT id, username, display_name FROM staff WHERE role = 'manager' AND active = 1 ORDER BY created_at LIMIT 1", [], |r| {
            Ok(centredesk_core::Session::new(r.get(0)?, r.get(1)?, r.get(2)?, centredesk_core::Role::Manager))
        })?
    };
    let members = core.member_list(&s, MemberFilter { status: Some("active".into()), limit: 50, ..Default::default() })?.rows;
    let package = core.package_list(&s, false)?.into_iter().find(|p| p.kind == "lessons").ok_or(CoreError::Internal("no lesson package".into()))?;
    let sessions = sessions(core, &s)?;
    let out = std::io::stdout();
    let mut rng = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for i in 0..iterations {
        let line = |text: String| {
            let mut o = out.lock();
            let _ = writeln!(o, "{text}");
            let _ = o.flush();
        };
        if next() % 3 == 0 && !sessions.is_empty() {
            let session_id = &sessions[(next() as usize) % sessions.len()];
            let mark = if next() % 2 == 0 { "present" } else { "absent" };
            let roster = core.roster(&s, session_id)?;
            let marks: Vec<MarkInput> = roster
                .entries
                .iter()
                .filter_map(|e| e.member_id.clone())
                .map(|member_id| MarkInput { member_id, mark: mark.into(), ..Default::default() })
                .collect();
            line(format!("roll-begin {session_id} {mark}"));
            core.roll_call(&s, session_id, RollCallInput { marks, trials: vec![], confirm_early: Some(true) })?;
            line(format!("roll-ack {session_id} {mark}"));
        } else {
            let member = &members[(next() as usize) % members.len()];
            let tag = format!("{seed}-{i}");
            line(format!("pay-begin {tag}"));
            let k = core.contract_enrol(&s, EnrolInput {
                member_id: member.id.clone(),
                package_id: package.id.clone(),
                discount: String::new(),
                start_date: None,
                consultant_id: None,
                renewal_of: None,
                notes: tag.clone(),
            })?;
            let receipt = core.payment_take(&s, PaymentInput { contract_id: k.contract.id.clone(), amount: k.balance_due.to_string(), method: "cash".into(), note: tag.clone() }, Lang::ZhCn)?;
            line(format!("pay-ack {tag} {} {}", receipt.payment.id, receipt.payment.receipt_no));
        }
    }
    Ok(())
}

/// Checks the database against the journal of every trial; returns the findings (empty
/// when all is well) and prints the counts.
/// Payments are looked up from line `since_line` on (earlier trials were checked after
/// their own kill); roll calls always from the whole journal (their state carries over).
pub fn verify(core: &Core, db: &Path, journal: &Path, since_line: usize) -> Result<Vec<String>, CoreError> {
    let text = std::fs::read_to_string(journal).map_err(|e| CoreError::Internal(format!("{}: {e}", journal.display())))?;
    let raw = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut problems = vec![];
    let integrity: String = raw.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if integrity != "ok" {
        problems.push(format!("integrity_check: {integrity}"));
    }
    // Every acknowledged payment is there, with the receipt number it was given.
    let (mut acked, mut lost) = (0, 0);
    // The last acknowledged roll call of each session, and every one begun after it
    // (each of those may have committed before its process was killed).
    let mut rolls: BTreeMap<String, (Option<String>, BTreeSet<String>)> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["pay-ack", ..] if n < since_line => acked += 1,
            ["pay-ack", _tag, id, receipt_no] => {
                acked += 1;
                let found: Option<String> = raw
                    .query_row("SELECT receipt_no FROM payments WHERE id = ?1", [id], |r| r.get(0))
                    .map(Some)
                    .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })?;
                match found {
                    None => {
                        lost += 1;
                        problems.push(format!("acknowledged payment {id} ({receipt_no}) is gone"));
                    }
                    Some(no) if no != *receipt_no => problems.push(format!("payment {id} was acknowledged as {receipt_no}, now reads {no}")),
                    Some(_) => {}
                }
            }
            ["roll-begin", session, mark] => {
                rolls.entry(session.to_string()).or_default().1.insert(mark.to_string());
            }
            ["roll-ack", session, mark] => *rolls.entry(session.to_string()).or_default() = (Some(mark.to_string()), BTreeSet::new()),
            _ => {}
        }
    }
    // A roll call reads as the last acknowledged one, or as any begun after it (a
    // commit may have landed before the kill, its acknowledgement not).
    for (session, (ack, begun)) in &rolls {
        let mut stmt = raw.prepare("SELECT DISTINCT mark FROM attendance WHERE session_id = ?1")?;
        let marks: BTreeSet<String> = stmt.query_map([session], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        let allowed: BTreeSet<&String> = ack.iter().chain(begun.iter()).collect();
        let ok = marks.len() <= 1 && marks.iter().all(|m| allowed.contains(m)) && (ack.is_none() || marks.len() == 1);
        if !ok {
            problems.push(format!("session {session}: marks {marks:?}, expected one of {allowed:?}"));
        }
    }
    let duplicates: i64 = raw.query_row("SELECT COUNT(*) FROM (SELECT receipt_no FROM payments GROUP BY receipt_no HAVING COUNT(*) > 1)", [], |r| r.get(0))?;
    if duplicates > 0 {
        problems.push(format!("{duplicates} receipt numbers used twice"));
    }
    // The change log matches the tables: a row for every payment and contract, and no
    // entry for one that is not there.
    for (table, entity) in [("payments", "payment"), ("contracts", "contract")] {
        let unlogged: i64 = raw.query_row(
            &format!("SELECT COUNT(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM change_log l WHERE l.entity = '{entity}' AND l.entity_id = t.id)"),
            [],
            |r| r.get(0),
        )?;
        let orphans: i64 = raw.query_row(
            &format!("SELECT COUNT(DISTINCT entity_id) FROM change_log l WHERE l.entity = '{entity}' AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = l.entity_id)"),
            [],
            |r| r.get(0),
        )?;
        if unlogged + orphans > 0 {
            problems.push(format!("{table}: {unlogged} rows without a change-log entry, {orphans} logged ids without a row"));
        }
    }
    let gaps: i64 = raw.query_row("SELECT COUNT(*) FROM change_log a WHERE a.seq > 1 AND NOT EXISTS (SELECT 1 FROM change_log b WHERE b.seq = a.seq - 1)", [], |r| r.get(0))?;
    if gaps > 0 {
        problems.push(format!("the change log has {gaps} gaps in its seq"));
    }
    // And the desk's own invariants (lessons, caches, statuses) hold.
    let report = core.check_unattended(Lang::En)?;
    for f in &report.findings {
        problems.push(format!("check: {f:?}"));
    }
    println!("{acked} acknowledged payments, {lost} lost, {duplicates} duplicate receipts, {} roll-called sessions", rolls.len());
    Ok(problems)
}
