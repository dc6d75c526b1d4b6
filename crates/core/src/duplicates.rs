//! Duplicate members 重复会员: finding records that are the same child (same name and
//! birthday, or same name and a guardian phone in common) and merging one into the
//! other. The survivor takes the duplicate's contracts, attendance, leave, trials,
//! group places, guardians, referrals and notices; the duplicate stays as `left` with
//! `merged_into` set, so its member number and the receipts issued to it stay true.
//! Payments are append-only and cannot be re-pointed: they follow their contracts (every
//! balance is by contract) and are read as the survivor's through `merged_into`.

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Result};
use crate::members::{load_member, Member, MemberDetail};
use crate::search;
use rusqlite::{params, Connection};
use serde::Serialize;
use ts_rs::TS;

/// One side of a possible duplicate, with what the desk needs to tell them apart.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct DuplicateSide {
    pub id: String,
    pub member_no: Option<String>,
    pub name: String,
    pub birthday: Option<String>,
    pub status: String,
    pub phones: Vec<String>,
    pub contracts: i64,
    pub attendances: i64,
    pub created_at: String,
}

/// Two records that look like one child. `keep` is the suggested survivor: the one with
/// a member number, still current, with more contracts, then the older record.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct DuplicatePair {
    pub keep: DuplicateSide,
    pub duplicate: DuplicateSide,
    /// `same_birthday` and/or `same_phone` (the names are always the same).
    pub reasons: Vec<String>,
}

/// What a merge moved, as logged (ids of the rows now pointing at the survivor, and the
/// duplicate's rows dropped because the survivor already had the same thing).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct MergeSummary {
    pub contracts: Vec<String>,
    pub attendance: Vec<String>,
    /// The duplicate's marks for sessions the survivor was already marked in: removed,
    /// with any lesson they had deducted given back to its contract.
    pub attendance_dropped: Vec<String>,
    pub leave_requests: Vec<String>,
    pub trial_requests: Vec<String>,
    pub return_visits: Vec<String>,
    pub group_places: Vec<String>,
    pub guardian_links: Vec<String>,
    pub referred_members: Vec<String>,
    pub leads: Vec<String>,
    pub notices: Vec<String>,
    /// Receipts issued to the duplicate, now read as the survivor's.
    pub payments: Vec<String>,
}

/// Flat fields first, for the timeline's one-line description; the rows after.
#[derive(Serialize)]
struct MergeRecord<'a> {
    kept_no: Option<&'a str>,
    merged_no: Option<&'a str>,
    contracts: usize,
    attendances: usize,
    payments: usize,
    survivor: &'a Member,
    duplicate: &'a Member,
    moved: &'a MergeSummary,
}

fn side(c: &Connection, id: &str) -> Result<DuplicateSide> {
    let m = load_member(c, id)?;
    let mut stmt = c.prepare_cached(
        "SELECT g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id
         WHERE mg.member_id = ?1 AND g.phone <> '' ORDER BY mg.is_primary DESC, mg.created_at",
    )?;
    let phones = stmt.query_map([id], |r| r.get("phone"))?.collect::<rusqlite::Result<_>>()?;
    let count = |sql: &str| -> Result<i64> { Ok(c.query_row(sql, [id], |r| r.get(0))?) };
    Ok(DuplicateSide {
        contracts: count("SELECT COUNT(*) FROM contracts WHERE member_id = ?1")?,
        attendances: count("SELECT COUNT(*) FROM attendance WHERE member_id = ?1")?,
        id: m.id,
        member_no: m.member_no,
        name: m.name,
        birthday: m.birthday,
        status: m.status,
        phones,
        created_at: m.created_at,
    })
}

fn keep_first(a: DuplicateSide, b: DuplicateSide) -> (DuplicateSide, DuplicateSide) {
    let rank = |s: &DuplicateSide| (s.member_no.is_some(), s.status != "left", s.contracts);
    if rank(&b) > rank(&a) || (rank(&b) == rank(&a) && b.created_at < a.created_at) {
        (b, a)
    } else {
        (a, b)
    }
}

pub(crate) fn find_pairs(c: &Connection) -> Result<Vec<DuplicatePair>> {
    let mut stmt = c.prepare(
        "WITH live AS (SELECT id, name, birthday FROM members WHERE merged_into IS NULL),
              phones AS (SELECT mg.member_id, g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id WHERE g.phone <> '')
         SELECT a.id AS a_id, b.id AS b_id,
                COALESCE(a.birthday = b.birthday, 0) AS same_birthday,
                EXISTS (SELECT 1 FROM phones pa JOIN phones pb ON pb.phone = pa.phone WHERE pa.member_id = a.id AND pb.member_id = b.id) AS same_phone
         FROM live a JOIN live b ON b.name = a.name AND b.id > a.id
         ORDER BY a.name, a.id, b.id",
    )?;
    let candidates: Vec<(String, String, bool, bool)> =
        stmt.query_map([], |r| Ok((r.get("a_id")?, r.get("b_id")?, r.get("same_birthday")?, r.get("same_phone")?)))?.collect::<rusqlite::Result<_>>()?;
    let mut pairs = vec![];
    for (a, b, same_birthday, same_phone) in candidates {
        if !same_birthday && !same_phone {
            continue;
        }
        let (keep, duplicate) = keep_first(side(c, &a)?, side(c, &b)?);
        let reasons = [(same_birthday, "same_birthday"), (same_phone, "same_phone")]
            .into_iter()
            .filter(|(yes, _)| *yes)
            .map(|(_, r)| r.to_string())
            .collect();
        pairs.push(DuplicatePair { keep, duplicate, reasons });
    }
    Ok(pairs)
}

fn ids(w: &WriteTx, sql: &str, args: impl rusqlite::Params) -> Result<Vec<String>> {
    let mut stmt = w.prepare(sql)?;
    let rows = stmt.query_map(args, |r| r.get("id"))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn merge(w: &mut WriteTx, keep_id: &str, dup_id: &str) -> Result<MergeSummary> {
    if keep_id == dup_id {
        return Err(CoreError::Conflict(Conflict::MergeSameMember));
    }
    let keep = load_member(w, keep_id)?;
    let dup = load_member(w, dup_id)?;
    if dup.merged_into.is_some() {
        return Err(CoreError::Conflict(Conflict::MemberAlreadyMerged));
    }
    if keep.merged_into.is_some() || keep.status == "left" {
        return Err(CoreError::Conflict(Conflict::MergeIntoInactive));
    }
    if keep.status == "applicant" && dup.status != "applicant" {
        return Err(CoreError::Conflict(Conflict::MemberNotApproved));
    }
    let now = w.now_text();
    let mut moved = MergeSummary::default();
    let both = params![keep_id, dup_id];

    moved.contracts = ids(w, "SELECT id FROM contracts WHERE member_id = ?1 ORDER BY created_at", [dup_id])?;
    w.execute("UPDATE contracts SET member_id = ?1, updated_at = ?3 WHERE member_id = ?2", params![keep_id, dup_id, now])?;

    // The same child cannot be marked twice in one session: the survivor's mark stands,
    // and a lesson the duplicate's mark deducted goes back to its contract.
    moved.attendance_dropped = ids(
        w,
        "SELECT d.id FROM attendance d JOIN attendance k ON k.session_id = d.session_id AND k.member_id = ?1 WHERE d.member_id = ?2",
        both,
    )?;
    for id in &moved.attendance_dropped {
        crate::points::take_back(w, id, "")?;
        w.execute(
            "UPDATE contracts SET lessons_used = lessons_used - 1, updated_at = ?2
             WHERE id = (SELECT contract_id FROM attendance WHERE id = ?1 AND consumed = 1)",
            params![id, now],
        )?;
        w.execute("DELETE FROM attendance WHERE id = ?1", [id])?;
    }
    moved.attendance = ids(w, "SELECT id FROM attendance WHERE member_id = ?1", [dup_id])?;
    w.execute("UPDATE attendance SET member_id = ?1 WHERE member_id = ?2", both)?;

    // A leave asked for both records for the same session is one leave.
    w.execute(
        "DELETE FROM leave_requests WHERE member_id = ?2 AND session_id IN (SELECT session_id FROM leave_requests WHERE member_id = ?1)",
        both,
    )?;
    moved.leave_requests = ids(w, "SELECT id FROM leave_requests WHERE member_id = ?1", [dup_id])?;
    w.execute("UPDATE leave_requests SET member_id = ?1 WHERE member_id = ?2", both)?;

    moved.trial_requests = ids(w, "SELECT id FROM trial_requests WHERE member_id = ?1", [dup_id])?;
    w.execute("UPDATE trial_requests SET member_id = ?1 WHERE member_id = ?2", both)?;
    // The contact log follows the child; the duplicate's open plans are cancelled by the
    // next planner run and the survivor's rules plan its own.
    moved.return_visits = ids(w, "SELECT id FROM return_visits WHERE member_id = ?1", [dup_id])?;
    w.execute("UPDATE return_visits SET member_id = ?1 WHERE member_id = ?2", both)?;
    moved.group_places = ids(w, "SELECT id FROM group_members WHERE member_id = ?1", [dup_id])?;
    w.execute("UPDATE group_members SET member_id = ?1 WHERE member_id = ?2", both)?;
    moved.notices = ids(w, "SELECT id FROM notices WHERE member_id = ?1", [dup_id])?;
    w.execute("UPDATE notices SET member_id = ?1 WHERE member_id = ?2", both)?;
    moved.leads = ids(w, "SELECT id FROM leads WHERE converted_member_id = ?1", [dup_id])?;
    w.execute("UPDATE leads SET converted_member_id = ?1 WHERE converted_member_id = ?2", both)?;
    moved.referred_members = ids(w, "SELECT id FROM members WHERE referred_by = ?2 AND id <> ?1", both)?;
    w.execute("UPDATE members SET referred_by = ?1 WHERE referred_by = ?2 AND id <> ?1", both)?;
    moved.payments = ids(w, "SELECT id FROM payments WHERE member_id = ?1 ORDER BY taken_at", [dup_id])?;

    // Guardians: the survivor keeps its own links (and its primary) and gains the others.
    w.execute(
        "DELETE FROM member_guardians WHERE member_id = ?2 AND guardian_id IN (SELECT guardian_id FROM member_guardians WHERE member_id = ?1)",
        both,
    )?;
    moved.guardian_links = ids(w, "SELECT id FROM member_guardians WHERE member_id = ?1", [dup_id])?;
    w.execute(
        "UPDATE member_guardians SET member_id = ?1,
            is_primary = is_primary AND NOT EXISTS (SELECT 1 FROM member_guardians p WHERE p.member_id = ?1 AND p.is_primary = 1)
         WHERE member_id = ?2",
        both,
    )?;

    // What the survivor lacks, the duplicate may know; the survivor's own values win.
    let mut tags = keep.tags.clone();
    tags.extend(dup.tags.iter().filter(|t| !keep.tags.contains(t)).cloned());
    let notes = match (keep.notes.trim(), dup.notes.trim()) {
        (k, "") => k.to_string(),
        ("", d) => d.to_string(),
        (k, d) if k == d => k.to_string(),
        (k, d) => format!("{k}\n{d}"),
    };
    w.execute(
        "UPDATE members SET birthday = COALESCE(birthday, ?2), school = CASE WHEN school = '' THEN ?3 ELSE school END,
            course_interest = CASE WHEN course_interest = '' THEN ?4 ELSE course_interest END,
            rank = CASE WHEN rank = '' THEN ?5 ELSE rank END, referred_by = COALESCE(referred_by, ?6),
            lead_id = COALESCE(lead_id, ?7), notes = ?8, tags = ?9, updated_at = ?10
         WHERE id = ?1",
        params![
            keep_id,
            dup.birthday,
            dup.school,
            dup.course_interest,
            dup.rank,
            dup.referred_by.as_deref().filter(|r| *r != keep_id),
            dup.lead_id,
            notes,
            serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
            now,
        ],
    )?;
    // Records merged into the duplicate earlier now point straight at the survivor.
    w.execute("UPDATE members SET merged_into = ?1 WHERE merged_into = ?2", both)?;
    w.execute("UPDATE members SET status = 'left', merged_into = ?1, updated_at = ?3 WHERE id = ?2", params![keep_id, dup_id, now])?;
    // The survivor's status follows the contracts it now holds (a lapsed one that gained
    // a running contract is current again).
    crate::members::follow_contracts(w, keep_id)?;

    search::index_member(w, keep_id)?;
    search::index_member(w, dup_id)?;
    let survivor = load_member(w, keep_id)?;
    let duplicate = load_member(w, dup_id)?;
    let record = MergeRecord {
        kept_no: survivor.member_no.as_deref(),
        merged_no: duplicate.member_no.as_deref(),
        contracts: moved.contracts.len(),
        attendances: moved.attendance.len(),
        payments: moved.payments.len(),
        survivor: &survivor,
        duplicate: &duplicate,
        moved: &moved,
    };
    w.log("member", dup_id, "merged_into", Some(dup_id), &record)?;
    w.log("member", keep_id, "merge", Some(keep_id), &record)?;
    // One child, one referral reward: a second one the duplicate brought is taken back.
    crate::referrals::after_merge(w, keep_id)?;
    // The duplicate's payments now count for the record kept: its tier at once.
    crate::tiers::evaluate(w, keep_id)?;
    Ok(moved)
}

impl Core {
    /// Pairs of current member records that look like the same child.
    pub fn member_duplicates(&self, session: &Session) -> Result<Vec<DuplicatePair>> {
        session.require(Action::MergeMembers)?;
        self.read(find_pairs)
    }

    /// Merges `duplicate_id` into `keep_id` in one transaction (see the module note) and
    /// returns the survivor as it now stands.
    pub fn member_merge(&self, session: &Session, keep_id: &str, duplicate_id: &str) -> Result<MemberDetail> {
        session.require(Action::MergeMembers)?;
        self.write(session, |w| merge(w, keep_id, duplicate_id))?;
        self.member_get(session, keep_id)
    }
}
