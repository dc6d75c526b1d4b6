//! Notices to parents 通知: queued in an outbox with their text (from a template, see
//! [`templates`]) in the same transaction as what caused them; delivered in the
//! background by e-mail or an SMS/WeChat gateway's webhook ([`delivery`]) with retries;
//! renewal reminders and birthday greetings are queued by a scan ([`automatic`]).
//! Without a channel (or offline) notices wait; the desk can read, copy or resend them.

pub mod automatic;
pub mod delivery;
pub mod class_reminders;
pub mod closures;
pub mod group_messages;
pub mod holidays;
pub mod seasons;
pub mod session_changes;
pub mod templates;

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::Result;
use rusqlite::params;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Notice {
    pub id: String,
    /// `arrival`, `departure`, `comment`, `leave_confirmed`, `trial_approved`, `trial_declined`.
    pub kind: String,
    pub member_id: Option<String>,
    pub lead_id: Option<String>,
    pub guardian_id: Option<String>,
    pub recipient_name: String,
    pub recipient_phone: String,
    pub session_id: Option<String>,
    pub text: String,
    /// `queued` (waiting or retrying), `sent`, `failed` (gave up; the desk may resend).
    #[ts(as = "crate::vocab::NoticeStatus")]
    pub status: String,
    pub created_at: String,
    /// `email` or `webhook` once a delivery was tried; empty before.
    pub channel: String,
    pub attempts: i64,
    pub last_error: String,
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    /// How many times the desk sent it again by hand (each one a new message).
    pub resends: i64,
}

impl Notice {
    /// The idempotency key a gateway sees: the same for every automatic retry of one
    /// sending, new for each deliberate resend.
    pub fn send_key(&self) -> String {
        if self.resends == 0 { self.id.clone() } else { format!("{}-r{}", self.id, self.resends) }
    }
}

pub(crate) const NOTICE_COLUMNS: &str =
    "id, kind, member_id, lead_id, guardian_id, recipient_name, recipient_phone, session_id, text, status, created_at, channel, attempts, last_error, next_attempt_at, sent_at, resends";

pub(crate) fn notice_from_row(r: &rusqlite::Row) -> rusqlite::Result<Notice> {
    Ok(Notice {
        id: r.get("id")?,
        kind: r.get("kind")?,
        member_id: r.get("member_id")?,
        lead_id: r.get("lead_id")?,
        guardian_id: r.get("guardian_id")?,
        recipient_name: r.get("recipient_name")?,
        recipient_phone: r.get("recipient_phone")?,
        session_id: r.get("session_id")?,
        text: r.get("text")?,
        status: r.get("status")?,
        created_at: r.get("created_at")?,
        channel: r.get("channel")?,
        attempts: r.get("attempts")?,
        last_error: r.get("last_error")?,
        next_attempt_at: r.get("next_attempt_at")?,
        sent_at: r.get("sent_at")?,
        resends: r.get("resends")?,
    })
}

pub(crate) fn load(c: &rusqlite::Connection, id: &str) -> Result<Notice> {
    use rusqlite::OptionalExtension;
    c.query_row(&format!("SELECT {NOTICE_COLUMNS} FROM notices WHERE id = ?1"), [id], notice_from_row)
        .optional()?
        .ok_or(crate::error::CoreError::NotFound(crate::error::Field::Notice))
}

pub(crate) struct Recipient {
    pub guardian_id: Option<String>,
    pub name: String,
    pub phone: String,
}

/// Every guardian of a member: each one gets the notice.
pub(crate) fn guardians_of(w: &WriteTx, member_id: &str) -> Result<Vec<Recipient>> {
    let mut stmt = w.prepare_cached(
        "SELECT g.id, g.name, g.phone FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id
         WHERE mg.member_id = ?1 ORDER BY mg.is_primary DESC, mg.created_at",
    )?;
    let rows = stmt
        .query_map([member_id], |r| Ok(Recipient { guardian_id: Some(r.get("id")?), name: r.get("name")?, phone: r.get("phone")? }))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// A lead (a trial not yet a member): their contact at the lead's phone, if any.
pub(crate) fn lead_recipient(w: &WriteTx, lead_id: &str) -> Result<Vec<Recipient>> {
    let (name, contact, phone): (String, String, String) =
        w.query_row("SELECT name, contact_name, phone FROM leads WHERE id = ?1", [lead_id], |r| Ok((r.get("name")?, r.get("contact_name")?, r.get("phone")?)))?;
    Ok(if phone.is_empty() { vec![] } else { vec![Recipient { guardian_id: None, name: if contact.is_empty() { name } else { contact }, phone }] })
}

/// Whom per-child texts would reach: children with a guardian (families), their
/// guardians, children with none (nobody can be told), and the first text that goes.
pub(crate) struct Reach {
    pub families: i64,
    pub guardians: i64,
    pub unreachable: i64,
    pub sample: Option<String>,
}

pub(crate) fn reach(c: &rusqlite::Connection, texts: &[(String, String)]) -> Result<Reach> {
    let mut r = Reach { families: 0, guardians: 0, unreachable: 0, sample: None };
    for (member_id, text) in texts {
        let n = c.query_row("SELECT COUNT(*) FROM member_guardians WHERE member_id = ?1", [member_id], |row| row.get::<_, i64>(0))?;
        if n == 0 {
            r.unreachable += 1;
            continue;
        }
        r.families += 1;
        r.guardians += n;
        r.sample.get_or_insert_with(|| text.clone());
    }
    Ok(r)
}

pub(crate) struct NewNotice<'a> {
    pub kind: &'a str,
    pub member_id: Option<&'a str>,
    pub lead_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub text: String,
    /// Automatic notices: queued once per key and recipient.
    pub dedupe_key: Option<String>,
}

/// Queues one notice per recipient; returns how many were queued (a recipient who
/// already has the notice of this `dedupe_key` is skipped).
pub(crate) fn queue(w: &mut WriteTx, notice: &NewNotice, recipients: &[Recipient]) -> Result<i64> {
    let mut queued = 0;
    for r in recipients {
        let id = crate::new_id();
        let now = w.now_text();
        let inserted = w.execute(
            "INSERT INTO notices (id, kind, member_id, lead_id, guardian_id, recipient_name, recipient_phone, session_id, text, status, created_at, dedupe_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', ?10, ?11) ON CONFLICT DO NOTHING",
            params![id, notice.kind, notice.member_id, notice.lead_id, r.guardian_id, r.name, r.phone, notice.session_id, notice.text, now, notice.dedupe_key],
        )?;
        if inserted == 0 {
            continue;
        }
        queued += 1;
        let n = Notice {
            id: id.clone(),
            kind: notice.kind.into(),
            member_id: notice.member_id.map(str::to_string),
            lead_id: notice.lead_id.map(str::to_string),
            guardian_id: r.guardian_id.clone(),
            recipient_name: r.name.clone(),
            recipient_phone: r.phone.clone(),
            session_id: notice.session_id.map(str::to_string),
            text: notice.text.clone(),
            status: "queued".into(),
            created_at: now,
            channel: String::new(),
            attempts: 0,
            last_error: String::new(),
            next_attempt_at: None,
            sent_at: None,
            resends: 0,
        };
        w.log("notice", &id, "queue", notice.member_id.or(notice.lead_id), &n)?;
    }
    Ok(queued)
}

impl Core {
    /// One session's notices (or all), newest first.
    pub fn notices(&self, session: &Session, session_id: Option<String>, limit: i64) -> Result<Vec<Notice>> {
        self.notices_where(session, session_id, None, limit)
    }

    /// The outbox, newest first, optionally one status (`queued`, `sent`, `failed`).
    pub fn outbox(&self, session: &Session, status: Option<String>, limit: i64) -> Result<Vec<Notice>> {
        self.notices_where(session, None, status.filter(|s| !s.is_empty()), limit)
    }

    fn notices_where(&self, session: &Session, session_id: Option<String>, status: Option<String>, limit: i64) -> Result<Vec<Notice>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {NOTICE_COLUMNS} FROM notices WHERE (?1 IS NULL OR session_id = ?1) AND (?3 IS NULL OR status = ?3)
                 ORDER BY created_at DESC, rowid DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![session_id, limit.clamp(1, 1000), status], notice_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }
}
