//! Members 会员 and their guardians 家长: application → approval (member number) →
//! record, status, guardians (one guardian with several children, several guardians
//! per child), and the timeline every staff member shares.

use crate::auth::{Action, Session};
use crate::contracts::ContractView;
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Result, Rule};
use crate::payments::Payment;
use crate::{search, settings, validate};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const STATUSES: &[&str] = crate::vocab::MemberStatus::CODES;

/// Statuses staff set by hand: 停课 (paused) and 流失 (left), and `active` to undo
/// them. 在读 (active) and 已过期 (expired) otherwise follow the contracts
/// (`follow_contracts`).
pub const STAFF_STATUSES: &[&str] = crate::vocab::StaffSetStatus::CODES;

/// How long a lapsed member stays on their class's roll call (flagged "no lessons left —
/// renew") after their last contract ended or was used up.
pub const LAPSED_ON_ROLL_DAYS: i64 = 30;

/// The one rule for a member's status from their contracts: 在读 while a contract keeps
/// them enrolled (valid, paused or starting later), 已过期 once the last one has ended
/// or is used up. Applied in the transaction that ends or starts a contract (roll call,
/// refund, enrolment, merge) and by the daily sweep (`member_status_sweep`) for the end
/// dates that pass at midnight. Applicants, paused (停课) and left (流失) members are
/// staff decisions and are left alone, and so is a member who never had a contract.
/// Returns the member when their status changed (logged as `auto_status`).
pub(crate) fn follow_contracts(w: &mut WriteTx, member_id: &str) -> Result<Option<Member>> {
    let m = load_member(w, member_id)?;
    if m.merged_into.is_some() || !matches!(m.status.as_str(), "active" | "expired") {
        return Ok(None);
    }
    let today = w.today().to_string();
    let (any, keeps): (bool, bool) = w.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM contracts k WHERE k.member_id = ?1) AS has_contract,
                    EXISTS (SELECT 1 FROM contracts k WHERE k.member_id = ?1 AND {}) AS keeps",
            crate::contracts::keeps_member_sql("k", "?2")
        ),
        params![member_id, today],
        |r| Ok((r.get("has_contract")?, r.get("keeps")?)),
    )?;
    let wanted = match (any, keeps) {
        (_, true) => "active",
        (true, false) => "expired",
        (false, false) => return Ok(None),
    };
    if m.status == wanted {
        return Ok(None);
    }
    w.execute("UPDATE members SET status = ?2, updated_at = ?3 WHERE id = ?1", params![member_id, wanted, w.now_text()])?;
    let m = load_member(w, member_id)?;
    w.log("member", member_id, "auto_status", Some(member_id), &m)?;
    Ok(Some(m))
}

/// SQL: members whose status the contracts say should change today (`?1` = today).
pub(crate) fn status_drift_sql() -> String {
    let keeps = crate::contracts::keeps_member_sql("k", "?1");
    format!(
        "SELECT m.id FROM members m WHERE m.merged_into IS NULL AND (
            (m.status = 'active' AND EXISTS (SELECT 1 FROM contracts k WHERE k.member_id = m.id)
                AND NOT EXISTS (SELECT 1 FROM contracts k WHERE k.member_id = m.id AND {keeps}))
         OR (m.status = 'expired' AND EXISTS (SELECT 1 FROM contracts k WHERE k.member_id = m.id AND {keeps})))"
    )
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Member {
    pub id: String,
    pub member_no: Option<String>,
    pub name: String,
    /// `M` or `F`.
    pub gender: String,
    pub birthday: Option<String>,
    pub school: String,
    pub course_interest: String,
    pub notes: String,
    pub tags: Vec<String>,
    pub rank: String,
    #[ts(as = "crate::vocab::MemberStatus")]
    pub status: String,
    pub referred_by: Option<String>,
    pub lead_id: Option<String>,
    pub approved_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Set when this record was merged into another (it is then `left`).
    pub merged_into: Option<String>,
}

const MEMBER_COLUMNS: &str = "id, member_no, name, gender, birthday, school, course_interest, notes, tags, rank, status, referred_by, lead_id, approved_at, created_at, updated_at, merged_into";

fn member_from_row(r: &Row) -> rusqlite::Result<Member> {
    let tags: String = r.get("tags")?;
    Ok(Member {
        id: r.get("id")?,
        member_no: r.get("member_no")?,
        name: r.get("name")?,
        gender: r.get("gender")?,
        birthday: r.get("birthday")?,
        school: r.get("school")?,
        course_interest: r.get("course_interest")?,
        notes: r.get("notes")?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        rank: r.get("rank")?,
        status: r.get("status")?,
        referred_by: r.get("referred_by")?,
        lead_id: r.get("lead_id")?,
        approved_at: r.get("approved_at")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        merged_into: r.get("merged_into")?,
    })
}

pub(crate) fn load_member(c: &Connection, id: &str) -> Result<Member> {
    c.prepare_cached(&format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = ?1"))?
        .query_row([id], member_from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::Member))
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Guardian {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub wechat: String,
    /// For notices by e-mail; empty when not given.
    pub email: String,
    /// Asked not to receive messages to a group (notices about their child still come).
    pub no_group_messages: bool,
    pub created_at: String,
    pub updated_at: String,
}

fn guardian_from_row(r: &Row) -> rusqlite::Result<Guardian> {
    Ok(Guardian { id: r.get("id")?, name: r.get("name")?, phone: r.get("phone")?, wechat: r.get("wechat")?, created_at: r.get("created_at")?, updated_at: r.get("updated_at")?, email: r.get("email")?, no_group_messages: r.get("no_group_messages")? })
}

fn load_guardian(c: &Connection, id: &str) -> Result<Guardian> {
    c.query_row("SELECT id, name, phone, wechat, created_at, updated_at, email, no_group_messages FROM guardians WHERE id = ?1", [id], guardian_from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::Guardian))
}

/// A guardian as linked to one member.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct LinkedGuardian {
    pub link_id: String,
    pub guardian: Guardian,
    pub relation: String,
    pub is_primary: bool,
    /// Other children of this guardian (brothers and sisters at the centre).
    pub other_children: Vec<MemberRef>,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct MemberRef {
    pub id: String,
    pub name: String,
    pub member_no: Option<String>,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct GuardianInput {
    pub name: String,
    pub relation: String,
    pub phone: String,
    #[serde(default)]
    pub wechat: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct MemberApplication {
    pub name: String,
    pub gender: String,
    #[serde(default)]
    pub guardian: Option<GuardianInput>,
    #[serde(default)]
    pub referred_by: Option<String>,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct MemberApproval {
    pub birthday: String,
    #[serde(default)]
    pub school: String,
    #[serde(default)]
    pub course_interest: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct MemberUpdate {
    pub name: String,
    pub gender: String,
    pub birthday: Option<String>,
    pub school: String,
    pub course_interest: String,
    pub notes: String,
    pub tags: Vec<String>,
    pub rank: String,
    pub referred_by: Option<String>,
}

/// Link a guardian to a member: an existing one (by id) or a new one.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct GuardianLinkInput {
    pub existing_guardian_id: Option<String>,
    pub new_guardian: Option<GuardianInput>,
    pub relation: String,
    #[serde(default)]
    pub is_primary: bool,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct GuardianUpdate {
    pub name: String,
    pub phone: String,
    pub wechat: String,
    #[serde(default)]
    pub email: String,
    /// Leave this guardian out of messages to a group.
    #[serde(default)]
    pub no_group_messages: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct MemberDetail {
    pub member: Member,
    pub referrer: Option<MemberRef>,
    pub guardians: Vec<LinkedGuardian>,
    pub contracts: Vec<ContractView>,
    pub payments: Vec<Payment>,
    pub lessons_remaining: Option<i64>,
    pub balance_due: crate::money::Money,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct MemberRow {
    pub id: String,
    pub member_no: Option<String>,
    pub name: String,
    pub gender: String,
    pub birthday: Option<String>,
    #[ts(as = "crate::vocab::MemberStatus")]
    pub status: String,
    pub guardian_phone: Option<String>,
    pub lessons_remaining: Option<i64>,
    pub expires_on: Option<String>,
}

#[derive(Debug, Clone, Deserialize, TS, Default)]
#[ts(export)]
pub struct MemberFilter {
    #[ts(as = "Option<crate::vocab::MemberStatus>")]
    pub status: Option<String>,
    /// Only members who owe money on a contract (欠费; `arrears::OWING`).
    #[serde(default)]
    #[ts(optional)]
    pub owing: Option<bool>,
    #[serde(default)]
    pub offset: i64,
    #[serde(default)]
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct MemberPage {
    pub rows: Vec<MemberRow>,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct GuardianDetail {
    pub guardian: Guardian,
    pub children: Vec<MemberRef>,
}

/// One line of a member's (or lead's) shared timeline: every change anyone made,
/// with who and when, straight from the change log.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct TimelineEntry {
    pub seq: i64,
    pub at: String,
    pub staff_name: Option<String>,
    pub entity: String,
    pub op: String,
    /// "满意度 · 登记评分" / "satisfaction: score recorded", from the change vocabulary:
    /// what the timeline says of a change it has no sentence for.
    pub label_zh: String,
    pub label_en: String,
    #[ts(type = "Record<string, unknown>")]
    pub data: serde_json::Value,
}

fn relation(value: &str) -> Result<String> {
    validate::required_text(Field::Relation, value, 10)
}

fn check_guardian(input: &GuardianInput) -> Result<(String, String, String, String)> {
    let mut v = validate::Checks::new();
    let checked = guardian_checks(&mut v, input);
    v.finish()?;
    Ok(checked)
}

/// A guardian's fields, each checked (every wrong one reported with the others).
fn guardian_checks(v: &mut validate::Checks, input: &GuardianInput) -> (String, String, String, String) {
    (
        v.take(validate::person_name(Field::GuardianName, &input.name)),
        v.take(relation(&input.relation)),
        v.take(validate::mobile(Field::GuardianPhone, &input.phone)),
        v.take(validate::optional_text(Field::Wechat, &input.wechat, 40)),
    )
}

fn check_referrer(c: &Connection, referred_by: &Option<String>, member_id: Option<&str>) -> Result<Option<String>> {
    match referred_by.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(id) => {
            if Some(id) == member_id {
                return Err(CoreError::invalid(Field::ReferredBy, Rule::Unknown));
            }
            let exists: bool = c.query_row("SELECT EXISTS(SELECT 1 FROM members WHERE id = ?1)", [id], |r| r.get(0))?;
            if !exists {
                return Err(CoreError::invalid(Field::ReferredBy, Rule::Unknown));
            }
            Ok(Some(id.to_string()))
        }
    }
}

/// Inserts a guardian (or reuses the one with the same name and phone) and logs it.
pub(crate) fn insert_guardian(w: &mut WriteTx, name: &str, phone: &str, wechat: &str) -> Result<String> {
    let existing: Option<String> = w
        .query_row("SELECT id FROM guardians WHERE phone = ?1 AND name = ?2", [phone, name], |r| r.get(0))
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = crate::new_id();
    let now = w.now_text();
    w.execute(
        "INSERT INTO guardians (id, name, phone, wechat, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![id, name, phone, wechat, now],
    )?;
    let g = load_guardian(w, &id)?;
    w.log("guardian", &id, "create", None, &g)?;
    search::index_guardian(w, &id)?;
    Ok(id)
}

pub(crate) fn link_guardian(w: &mut WriteTx, member_id: &str, guardian_id: &str, relation: &str, is_primary: bool) -> Result<()> {
    let linked: bool = w.query_row(
        "SELECT EXISTS(SELECT 1 FROM member_guardians WHERE member_id = ?1 AND guardian_id = ?2)",
        [member_id, guardian_id],
        |r| r.get(0),
    )?;
    if linked {
        return Err(CoreError::Conflict(Conflict::GuardianAlreadyLinked));
    }
    let has_any: bool = w.query_row("SELECT EXISTS(SELECT 1 FROM member_guardians WHERE member_id = ?1)", [member_id], |r| r.get(0))?;
    let primary = is_primary || !has_any;
    if primary {
        w.execute("UPDATE member_guardians SET is_primary = 0 WHERE member_id = ?1 AND is_primary = 1", [member_id])?;
    }
    let (g_name, g_phone): (String, String) = w.query_row("SELECT name, phone FROM guardians WHERE id = ?1", [guardian_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let id = crate::new_id();
    w.execute(
        "INSERT INTO member_guardians (id, member_id, guardian_id, relation, is_primary, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, member_id, guardian_id, relation, primary, w.now_text()],
    )?;
    w.log(
        "member_guardian",
        &id,
        "link",
        Some(member_id),
        &serde_json::json!({
            "member_id": member_id, "guardian_id": guardian_id, "relation": relation, "is_primary": primary,
            "guardian_name": g_name, "guardian_phone": g_phone,
        }),
    )?;
    search::index_member(w, member_id)?;
    Ok(())
}

pub(crate) fn insert_member(
    w: &mut WriteTx,
    name: &str,
    gender: &str,
    referred_by: Option<String>,
    notes: &str,
    lead_id: Option<&str>,
    birthday: Option<String>,
) -> Result<String> {
    let id = crate::new_id();
    let now = w.now_text();
    w.execute(
        "INSERT INTO members (id, name, gender, birthday, notes, status, referred_by, lead_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'applicant', ?6, ?7, ?8, ?8)",
        params![id, name, gender, birthday, notes, referred_by, lead_id, now],
    )?;
    let m = load_member(w, &id)?;
    w.log("member", &id, "apply", Some(&id), &m)?;
    search::index_member(w, &id)?;
    Ok(id)
}

/// Approves an applicant inside the caller's transaction: completes the details and
/// takes the next member number (the desk's approval and the import both come here).
pub(crate) fn approve(w: &mut WriteTx, member_id: &str, birthday: chrono::NaiveDate, school: &str, interest: &str) -> Result<Member> {
    let m = load_member(w, member_id)?;
    if m.status != "applicant" {
        return Err(CoreError::Conflict(Conflict::MemberNotApplicant));
    }
    let prefix = settings::get(w, "member_no_prefix")?.unwrap_or_else(|| "M".into());
    let number = format!("{prefix}{:05}", w.next_counter("member_no")?);
    w.execute(
        "UPDATE members SET member_no = ?2, birthday = ?3, school = ?4, course_interest = ?5, status = 'active',
                approved_at = ?6, updated_at = ?6 WHERE id = ?1",
        params![member_id, number, birthday.to_string(), school, interest, w.now_text()],
    )?;
    let m = load_member(w, member_id)?;
    w.log("member", member_id, "approve", Some(member_id), &m)?;
    search::index_member(w, member_id)?;
    Ok(m)
}

/// Sets an applicant's school and course interest inside the caller's transaction (an
/// imported applicant has them before approval), logged as an update.
pub(crate) fn set_school_and_interest(w: &mut WriteTx, member_id: &str, school: &str, interest: &str) -> Result<Member> {
    w.execute(
        "UPDATE members SET school = ?2, course_interest = ?3, updated_at = ?4 WHERE id = ?1",
        params![member_id, school, interest, w.now_text()],
    )?;
    let m = load_member(w, member_id)?;
    w.log("member", member_id, "update", Some(member_id), &m)?;
    Ok(m)
}

impl Core {
    /// Membership application 入会申请: minimal fields; the record waits for approval.
    pub fn member_apply(&self, session: &Session, input: MemberApplication) -> Result<Member> {
        session.require(Action::EditMembers)?;
        // The whole form is checked: the clerk sees every field to fix at once.
        let mut v = validate::Checks::new();
        let name = v.take(validate::person_name(Field::Name, &input.name));
        let gender = v.take(validate::gender(Field::Gender, &input.gender));
        let notes = v.take(validate::optional_text(Field::Notes, &input.notes, 500));
        let guardian = input.guardian.as_ref().map(|g| guardian_checks(&mut v, g));
        v.finish()?;
        self.write(session, |w| {
            let referred_by = check_referrer(w, &input.referred_by, None)?;
            let id = insert_member(w, &name, gender, referred_by, &notes, None, None)?;
            if let Some((gname, rel, phone, wechat)) = &guardian {
                let gid = insert_guardian(w, gname, phone, wechat)?;
                link_guardian(w, &id, &gid, rel, true)?;
            }
            load_member(w, &id)
        })
    }

    /// Approval 审核: completes the details and assigns the next member number.
    pub fn member_approve(&self, session: &Session, member_id: &str, input: MemberApproval) -> Result<Member> {
        session.require(Action::EditMembers)?;
        let today = self.today();
        let mut v = validate::Checks::new();
        let birthday = v.take(validate::birthday(&Some(input.birthday.clone()), today).and_then(|b| b.ok_or(CoreError::invalid(Field::Birthday, Rule::Required))).map(Some));
        let school = v.take(validate::optional_text(Field::School, &input.school, 40));
        let interest = v.take(validate::optional_text(Field::CourseInterest, &input.course_interest, 60));
        v.finish()?;
        let birthday = birthday.ok_or(CoreError::invalid(Field::Birthday, Rule::Required))?;
        self.write(session, |w| approve(w, member_id, birthday, &school, &interest))
    }

    pub fn member_update(&self, session: &Session, member_id: &str, input: MemberUpdate) -> Result<Member> {
        session.require(Action::EditMembers)?;
        let name = validate::person_name(Field::Name, &input.name)?;
        let gender = validate::gender(Field::Gender, &input.gender)?;
        let school = validate::optional_text(Field::School, &input.school, 40)?;
        let interest = validate::optional_text(Field::CourseInterest, &input.course_interest, 60)?;
        let notes = validate::optional_text(Field::Notes, &input.notes, 500)?;
        let rank = validate::optional_text(Field::Rank, &input.rank, 20)?;
        let tags = validate::tags(&input.tags)?;
        self.write(session, |w| {
            let birthday = validate::birthday(&input.birthday, w.today())?;
            let before = load_member(w, member_id)?;
            let referred_by = check_referrer(w, &input.referred_by, Some(member_id))?;
            let proposed = Member {
                name: name.clone(),
                gender: gender.to_string(),
                birthday: birthday.map(|d| d.to_string()),
                school: school.clone(),
                course_interest: interest.clone(),
                notes: notes.clone(),
                tags: tags.clone(),
                rank: rank.clone(),
                referred_by,
                ..before.clone()
            };
            if proposed == before {
                return Ok(before);
            }
            w.execute(
                "UPDATE members SET name = ?2, gender = ?3, birthday = ?4, school = ?5, course_interest = ?6, notes = ?7,
                        tags = ?8, rank = ?9, referred_by = ?10, updated_at = ?11 WHERE id = ?1",
                params![
                    member_id,
                    proposed.name,
                    proposed.gender,
                    proposed.birthday,
                    proposed.school,
                    proposed.course_interest,
                    proposed.notes,
                    serde_json::to_string(&proposed.tags).unwrap_or_else(|_| "[]".into()),
                    proposed.rank,
                    proposed.referred_by,
                    w.now_text()
                ],
            )?;
            let after = load_member(w, member_id)?;
            w.log("member", member_id, "update", Some(member_id), &after)?;
            search::index_member(w, member_id)?;
            Ok(after)
        })
    }

    /// Status: active, paused 停课, expired, left 流失 (applicant is only set by applying).
    /// Sets a staff-decided status: 停课 (paused), 流失 (left), or back to current
    /// (`active`), which the contracts then make 在读 or 已过期. 已过期 cannot be set by
    /// hand: it follows the contracts.
    pub fn member_set_status(&self, session: &Session, member_id: &str, status: &str) -> Result<Member> {
        session.require(Action::EditMembers)?;
        if status == "expired" {
            return Err(CoreError::Conflict(Conflict::StatusFollowsContracts));
        }
        if !STAFF_STATUSES.contains(&status) {
            return Err(CoreError::invalid(Field::Status, Rule::OneOf { allowed: STAFF_STATUSES.iter().map(|s| s.to_string()).collect() }));
        }
        self.write(session, |w| {
            let m = load_member(w, member_id)?;
            if m.status == "applicant" {
                return Err(CoreError::Conflict(Conflict::MemberNotApproved));
            }
            if m.status == status || (status == "active" && m.status == "expired") {
                return Ok(m);
            }
            w.execute("UPDATE members SET status = ?2, updated_at = ?3 WHERE id = ?1", params![member_id, status, w.now_text()])?;
            let m = load_member(w, member_id)?;
            w.log("member", member_id, "set_status", Some(member_id), &m)?;
            Ok(follow_contracts(w, member_id)?.unwrap_or(m))
        })
    }

    /// The daily run of the status rule: members whose last contract ended since the
    /// last run become 已过期, and lapsed members with a running contract 在读 again.
    /// Attributed to the system (no staff member), 500 members a transaction. Returns
    /// how many changed. Safe to run any number of times.
    pub fn member_status_sweep(&self) -> Result<usize> {
        let today = self.today().to_string();
        let ids: Vec<String> = self.read(|c| {
            Ok(c.prepare(&status_drift_sql())?.query_map([&today], |r| r.get("id"))?.collect::<rusqlite::Result<_>>()?)
        })?;
        let mut changed = 0;
        for chunk in ids.chunks(500) {
            changed += self.write_as(None, |w| {
                let mut n = 0;
                for id in chunk {
                    n += usize::from(follow_contracts(w, id)?.is_some());
                }
                Ok(n)
            })?;
        }
        Ok(changed)
    }

    pub fn guardian_link(&self, session: &Session, member_id: &str, input: GuardianLinkInput) -> Result<MemberDetail> {
        session.require(Action::EditMembers)?;
        let rel = relation(&input.relation)?;
        let new = match (&input.existing_guardian_id, &input.new_guardian) {
            (Some(_), _) => None,
            (None, Some(g)) => Some(check_guardian(&GuardianInput { relation: rel.clone(), ..g.clone() })?),
            (None, None) => return Err(CoreError::invalid(Field::GuardianName, Rule::Required)),
        };
        self.write(session, |w| {
            load_member(w, member_id)?;
            let gid = match (&input.existing_guardian_id, new) {
                (Some(id), _) => load_guardian(w, id)?.id,
                (None, Some((name, _, phone, wechat))) => insert_guardian(w, &name, &phone, &wechat)?,
                (None, None) => unreachable!("checked above"),
            };
            link_guardian(w, member_id, &gid, &rel, input.is_primary)?;
            Ok(())
        })?;
        self.member_get(session, member_id)
    }

    pub fn guardian_update(&self, session: &Session, guardian_id: &str, input: GuardianUpdate) -> Result<Guardian> {
        session.require(Action::EditMembers)?;
        let name = validate::person_name(Field::GuardianName, &input.name)?;
        let phone = validate::mobile(Field::GuardianPhone, &input.phone)?;
        let wechat = validate::optional_text(Field::Wechat, &input.wechat, 40)?;
        let email = validate::email(Field::Email, &input.email)?;
        self.write(session, |w| {
            load_guardian(w, guardian_id)?;
            w.execute(
                "UPDATE guardians SET name = ?2, phone = ?3, wechat = ?4, email = ?5, no_group_messages = ?6, updated_at = ?7 WHERE id = ?1",
                params![guardian_id, name, phone, wechat, email, input.no_group_messages, w.now_text()],
            )?;
            let g = load_guardian(w, guardian_id)?;
            // Shown on each child's timeline.
            let children: Vec<String> = w
                .prepare("SELECT member_id FROM member_guardians WHERE guardian_id = ?1")?
                .query_map([guardian_id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            w.log("guardian", guardian_id, "update", children.first().map(String::as_str), &g)?;
            search::index_guardian(w, guardian_id)?;
            Ok(g)
        })
    }

    pub fn guardian_unlink(&self, session: &Session, member_id: &str, guardian_id: &str) -> Result<MemberDetail> {
        session.require(Action::EditMembers)?;
        self.write(session, |w| {
            let link: Option<(String, bool)> = w
                .query_row(
                    "SELECT id, is_primary FROM member_guardians WHERE member_id = ?1 AND guardian_id = ?2",
                    [member_id, guardian_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (link_id, was_primary) = link.ok_or(CoreError::NotFound(Field::Guardian))?;
            w.execute("DELETE FROM member_guardians WHERE id = ?1", [&link_id])?;
            if was_primary {
                w.execute(
                    "UPDATE member_guardians SET is_primary = 1 WHERE id =
                       (SELECT id FROM member_guardians WHERE member_id = ?1 ORDER BY created_at LIMIT 1)",
                    [member_id],
                )?;
            }
            let g = load_guardian(w, guardian_id)?;
            w.log(
                "member_guardian",
                &link_id,
                "unlink",
                Some(member_id),
                &serde_json::json!({ "member_id": member_id, "guardian_id": guardian_id, "guardian_name": g.name, "guardian_phone": g.phone }),
            )?;
            search::index_member(w, member_id)?;
            Ok(())
        })?;
        self.member_get(session, member_id)
    }

    pub fn member_get(&self, session: &Session, member_id: &str) -> Result<MemberDetail> {
        session.require(Action::ViewMembers)?;
        let today = self.today();
        self.read(|c| {
            let member = load_member(c, member_id)?;
            let referrer = match &member.referred_by {
                Some(id) => Some(member_ref(c, id)?),
                None => None,
            };
            let guardians = linked_guardians(c, member_id)?;
            let contracts = crate::contracts::contracts_of(c, member_id, today)?;
            let payments = crate::payments::payments_of_member(c, member_id)?;
            let active: Vec<&ContractView> = contracts.iter().filter(|k| k.contract.status == "active").collect();
            let lessons_remaining = active.iter().filter_map(|k| k.lessons_remaining).reduce(|a, b| a + b);
            let balance_due = active.iter().map(|k| k.balance_due).sum();
            Ok(MemberDetail { member, referrer, guardians, contracts, payments, lessons_remaining, balance_due })
        })
    }

    pub fn member_list(&self, session: &Session, filter: MemberFilter) -> Result<MemberPage> {
        session.require(Action::ViewMembers)?;
        let limit = if filter.limit <= 0 { 50 } else { filter.limit.min(500) };
        let status = filter.status.filter(|s| !s.is_empty());
        let owing = filter.owing.unwrap_or(false);
        let today = self.today().to_string();
        let valid = crate::contracts::valid_on_sql("k", "?4");
        self.read(|c| {
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM members m WHERE (?1 IS NULL OR m.status = ?1) AND (?2 = 0 OR m.id IN ({}))", crate::arrears::OWING_MEMBERS),
                params![status, owing],
                |r| r.get(0),
            )?;
            // Page the ids first (a plain sort), then fetch the page's details, so a
            // page costs the same on row 20 as on row 90,000.
            // Lessons left and expiry count only the contracts valid today (the rule of
            // `contracts::state_on`), so an ended package's unused lessons are not shown.
            let mut stmt = c.prepare_cached(&format!(
                "SELECT m.id, m.member_no, m.name, m.gender, m.birthday, m.status, ({phone}) AS guardian_phone,
                   (SELECT SUM(k.lessons_total - k.lessons_used) FROM contracts k WHERE k.member_id = m.id AND k.kind = 'lessons' AND {valid}) AS lessons_remaining,
                   (SELECT MAX(k.end_date) FROM contracts k WHERE k.member_id = m.id AND {valid}) AS expires_on
                 FROM (SELECT id FROM members WHERE (?1 IS NULL OR status = ?1) AND (?5 = 0 OR id IN ({owing_members}))
                       ORDER BY member_no IS NULL DESC, member_no DESC, created_at DESC LIMIT ?2 OFFSET ?3) page
                 JOIN members m ON m.id = page.id
                 ORDER BY m.member_no IS NULL DESC, m.member_no DESC, m.created_at DESC",
                phone = PRIMARY_PHONE_SQL,
                owing_members = crate::arrears::OWING_MEMBERS,
            ))?;
            let rows = stmt
                .query_map(params![status, limit, filter.offset.max(0), today, owing], |r| {
                    Ok(MemberRow {
                        id: r.get("id")?,
                        member_no: r.get("member_no")?,
                        name: r.get("name")?,
                        gender: r.get("gender")?,
                        birthday: r.get("birthday")?,
                        status: r.get("status")?,
                        guardian_phone: r.get("guardian_phone")?,
                        lessons_remaining: r.get("lessons_remaining")?,
                        expires_on: r.get("expires_on")?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(MemberPage { rows, total })
        })
    }

    pub fn guardian_get(&self, session: &Session, guardian_id: &str) -> Result<GuardianDetail> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let guardian = load_guardian(c, guardian_id)?;
            let children = c
                .prepare("SELECT m.id, m.name, m.member_no FROM member_guardians mg JOIN members m ON m.id = mg.member_id WHERE mg.guardian_id = ?1 ORDER BY m.name")?
                .query_map([guardian_id], |r| Ok(MemberRef { id: r.get("id")?, name: r.get("name")?, member_no: r.get("member_no")? }))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(GuardianDetail { guardian, children })
        })
    }

    /// The member's timeline, newest first, including the history of the lead they
    /// were converted from.
    pub fn member_timeline(&self, session: &Session, member_id: &str, limit: i64) -> Result<Vec<TimelineEntry>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let m = load_member(c, member_id)?;
            timeline(c, &[Some(m.id.as_str()), m.lead_id.as_deref()], limit)
        })
    }
}

pub(crate) fn timeline(c: &Connection, subjects: &[Option<&str>], limit: i64) -> Result<Vec<TimelineEntry>> {
    let ids: Vec<&str> = subjects.iter().flatten().copied().collect();
    let a = ids.first().copied().unwrap_or("");
    let b = ids.get(1).copied().unwrap_or(a);
    let mut stmt = c.prepare(
        "SELECT l.seq, l.at, s.display_name, l.entity, l.op, l.payload FROM change_log l
         LEFT JOIN staff s ON s.id = l.staff_id
         WHERE l.subject_id IN (?1, ?2) ORDER BY l.seq DESC LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![a, b, if limit <= 0 { 200 } else { limit }], |r| {
            let payload: String = r.get("payload")?;
            let value: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
            let (entity, op): (String, String) = (r.get("entity")?, r.get("op")?);
            Ok(TimelineEntry {
                seq: r.get("seq")?,
                at: r.get("at")?,
                staff_name: r.get("display_name")?,
                label_zh: crate::audit::change_label(&entity, &op, crate::Lang::ZhCn),
                label_en: crate::audit::change_label(&entity, &op, crate::Lang::En),
                entity,
                op,
                data: value.get("data").cloned().unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The phone of a member's primary guardian (or of another guardian when none is marked).
/// "The primary guardian's phone" of the member `m` (a correlated subquery): the
/// primary guardian's, else any guardian's.
pub(crate) const PRIMARY_PHONE_SQL: &str =
    "SELECT g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id WHERE mg.member_id = m.id ORDER BY mg.is_primary DESC LIMIT 1";

pub(crate) fn primary_phone(c: &Connection, member_id: &str) -> Result<Option<String>> {
    Ok(c.prepare_cached(&format!("SELECT ({PRIMARY_PHONE_SQL}) FROM members m WHERE m.id = ?1"))?
        .query_row([member_id], |r| r.get(0))
        .optional()?
        .flatten())
}

pub(crate) fn member_ref(c: &Connection, id: &str) -> Result<MemberRef> {
    c.query_row("SELECT id, name, member_no FROM members WHERE id = ?1", [id], |r| {
        Ok(MemberRef { id: r.get("id")?, name: r.get("name")?, member_no: r.get("member_no")? })
    })
    .optional()?
    .ok_or(CoreError::NotFound(Field::Member))
}

fn linked_guardians(c: &Connection, member_id: &str) -> Result<Vec<LinkedGuardian>> {
    let mut stmt = c.prepare(
        "SELECT mg.id AS link_id, mg.relation, mg.is_primary, g.id, g.name, g.phone, g.wechat, g.created_at, g.updated_at, g.email, g.no_group_messages
         FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id
         WHERE mg.member_id = ?1 ORDER BY mg.is_primary DESC, mg.created_at",
    )?;
    let rows: Vec<(String, String, bool, Guardian)> = stmt
        .query_map([member_id], |r| {
            Ok((
                r.get("link_id")?,
                r.get("relation")?,
                r.get("is_primary")?,
                guardian_from_row(r)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = vec![];
    for (link_id, relation, is_primary, guardian) in rows {
        let other_children = c
            .prepare_cached(
                "SELECT m.id, m.name, m.member_no FROM member_guardians mg JOIN members m ON m.id = mg.member_id
                 WHERE mg.guardian_id = ?1 AND mg.member_id <> ?2 ORDER BY m.name",
            )?
            .query_map([&guardian.id, member_id], |r| Ok(MemberRef { id: r.get("id")?, name: r.get("name")?, member_no: r.get("member_no")? }))?
            .collect::<rusqlite::Result<_>>()?;
        out.push(LinkedGuardian { link_id, guardian, relation, is_primary, other_children });
    }
    Ok(out)
}
