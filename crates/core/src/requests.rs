//! Requests from away from the desk (`centredesk_protocol::requests`): a paired phone's
//! roll call, dismissal, trial decision or hand-over now, a parent's requests through the
//! portal next. Each is applied exactly once: in one transaction the request's effect
//! and its row in `requests` (with the answer) are written together, so a retry of the
//! same request — a lost answer, a double tap — finds the row and gets the same answer
//! without doing anything again; the same id with another body is refused.
//!
//! A request refused by a rule of the desk (a validation, a conflict, a missing record)
//! is kept with its refusal, so it too answers the same way again. A role that may not
//! do the kind at all is refused before anything is written, and anything else (the
//! database busy, a disabled account) is not kept either: the sender may try again.

use crate::attendance::{self, MarkInput, RollCallInput};
use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Lang, Result};
use centredesk_protocol::requests::{Accepted, Outcome, Request, RequestBody, MAX_REQUEST_ID};
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSource<'a> {
    /// A phone paired with this desk (its device id).
    Phone(&'a str),
    /// A parent, through head office's inbox: the item's number and the guardian the
    /// server signed in (`portal.rs`).
    Portal { inbox_number: i64, guardian_id: &'a str },
}

impl RequestSource<'_> {
    fn name(self) -> &'static str {
        match self {
            RequestSource::Phone(_) => "phone",
            RequestSource::Portal { .. } => "portal",
        }
    }
    fn device(self) -> Option<String> {
        match self {
            RequestSource::Phone(d) => Some(d.to_string()),
            RequestSource::Portal { .. } => None,
        }
    }
}

/// The answer of a refusal, in both languages, as it is kept.
pub fn refusal(e: &CoreError) -> Outcome {
    Outcome::Refused {
        code: e.code(),
        field: e.field().and_then(|f| serde_json::to_value(f).ok()).and_then(|v| v.as_str().map(str::to_string)),
        message_zh: e.message(Lang::ZhCn),
        message_en: e.message(Lang::En),
    }
}

/// A rule of the desk said no: kept as the request's answer.
fn is_refusal(e: &CoreError) -> bool {
    match e {
        CoreError::Conflict(Conflict::RequestReused | Conflict::Busy) => false,
        CoreError::Validation { .. } | CoreError::Validations(_) | CoreError::NotFound(_) | CoreError::Conflict(_) => true,
        _ => false,
    }
}

fn body_hash(body: &RequestBody) -> Result<String> {
    let bytes = serde_json::to_vec(body).map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// The answer kept for `request_id`, if it was seen; the same id with another body is
/// refused.
fn kept(w: &WriteTx, request_id: &str, hash: &str) -> Result<Option<Outcome>> {
    let row: Option<(String, String)> =
        w.query_row("SELECT body_sha256, outcome FROM requests WHERE request_id = ?1", [request_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    match row {
        None => Ok(None),
        Some((h, _)) if h != hash => Err(CoreError::Conflict(Conflict::RequestReused)),
        Some((_, outcome)) => serde_json::from_str(&outcome).map(Some).map_err(|e| CoreError::Internal(format!("request {request_id}: {e}"))),
    }
}

fn keep(w: &mut WriteTx, request: &Request, hash: &str, source: RequestSource, outcome: &Outcome) -> Result<()> {
    let staff = w.staff_id().map(str::to_string);
    let text = serde_json::to_string(outcome).map_err(|e| CoreError::Internal(e.to_string()))?;
    let (inbox_number, guardian_id) = match source {
        RequestSource::Portal { inbox_number, guardian_id } => (Some(inbox_number), Some(guardian_id.to_string())),
        RequestSource::Phone(_) => (None, None),
    };
    w.execute(
        "INSERT INTO requests (request_id, source, device_id, kind, body_sha256, staff_id, outcome, applied_at, inbox_number, guardian_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![request.request_id, source.name(), source.device(), request.body.kind(), hash, staff, text, w.now_text(), inbox_number, guardian_id],
    )?;
    if let RequestSource::Phone(device) = source {
        crate::devices::touch(w, device, staff.as_deref())?;
    }
    let op = if matches!(outcome, Outcome::Accepted(_)) { "accept" } else { "refuse" };
    let mut row = serde_json::json!({ "request_id": request.request_id, "kind": request.body.kind(), "source": source.name(), "device_id": source.device(), "outcome": outcome });
    if let (Some(n), Some(g)) = (inbox_number, guardian_id) {
        row["inbox_number"] = n.into();
        row["guardian_id"] = g.into();
    }
    w.log("request", &request.request_id, op, None, &row)
}

/// What a staff member must be allowed to send a request of this kind.
fn action_of(body: &RequestBody) -> Result<Action> {
    match body {
        RequestBody::RollCall(_) | RequestBody::Dismiss { .. } => Ok(Action::TakeRollCall),
        RequestBody::TrialDecision { .. } => Ok(Action::DecideTrials),
        RequestBody::GoodsHandOver { .. } | RequestBody::GoodsSale(_) => Ok(Action::SellGoods),
        // A parent's kinds come through the portal's inbox (`portal.rs`), never a phone.
        RequestBody::Leave(_) | RequestBody::Consent { .. } | RequestBody::Trial(_) | RequestBody::LeavePortal {} => Err(CoreError::Conflict(Conflict::NotForParents)),
    }
}

/// Does what the request asks, in the caller's transaction.
fn apply_body(w: &mut WriteTx, session: &Session, tz: chrono_tz::Tz, body: &RequestBody) -> Result<Accepted> {
    match body {
        RequestBody::RollCall(r) => {
            let mut marks = vec![];
            let mut changed_at_desk = vec![];
            let fresh_line = attendance::empty_line_version();
            for m in &r.marks {
                let now = attendance::member_line_version(w, &r.session_id, &m.member_id)?;
                let seen = if m.seen.is_empty() { fresh_line.as_str() } else { m.seen.as_str() };
                if now != seen {
                    changed_at_desk.push(m.member_id.clone());
                    continue;
                }
                marks.push(MarkInput { member_id: m.member_id.clone(), mark: m.mark.clone(), comment: m.comment.clone(), withdraw_leave: Some(m.withdraw_leave) });
            }
            let trials = r.trials.iter().map(|t| attendance::TrialMark { trial_id: t.trial_id.clone(), attended: t.attended }).collect();
            let input = RollCallInput { marks, trials, confirm_early: Some(r.confirm_early) };
            let done = attendance::roll_call_in(w, session, tz, &r.session_id, &input)?;
            Ok(Accepted {
                saved: done.saved,
                lessons_consumed: done.lessons_consumed,
                lessons_restored: done.lessons_restored,
                notices_queued: done.notices_queued,
                no_contract: done.no_contract,
                changed_at_desk,
                record_no: None,
            })
        }
        RequestBody::Dismiss { session_id } => {
            let queued = attendance::session_dismiss_in(w, session, tz, session_id)?;
            Ok(Accepted { notices_queued: queued, ..Default::default() })
        }
        RequestBody::TrialDecision { trial_id, approve, note } => {
            attendance::trial_decide_in(w, session, trial_id, *approve, note)?;
            Ok(Accepted { saved: 1, notices_queued: 1, ..Default::default() })
        }
        RequestBody::GoodsHandOver { sale_id } => {
            crate::goods::goods_deliver_in(w, session, sale_id)?;
            Ok(Accepted { saved: 1, ..Default::default() })
        }
        RequestBody::GoodsSale(sale) => {
            let input = crate::goods::SaleInput {
                goods_id: sale.goods_id.clone(),
                quantity: sale.quantity,
                member_id: Some(sale.member_id.clone()),
                method: sale.method.clone(),
                delivered: sale.delivered,
                note: String::new(),
            };
            let sold = crate::goods::goods_sell_in(w, &input)?;
            Ok(Accepted { saved: 1, notices_queued: sold.notices_queued, record_no: Some(sold.sale_no), ..Default::default() })
        }
        RequestBody::Leave(_) | RequestBody::Consent { .. } | RequestBody::Trial(_) | RequestBody::LeavePortal {} => Err(CoreError::Conflict(Conflict::NotForParents)),
    }
}

/// Applies `request` exactly once with `apply` (in one transaction with its row and
/// answer), or answers it as it was answered before. A refusal by a rule of the desk is
/// kept too, in a transaction of its own after the attempt rolled back. Writes as
/// `session`'s staff member, or with no staff member (a parent's request).
pub(crate) fn apply_once(
    core: &Core,
    session: Option<&Session>,
    source: RequestSource,
    request: &Request,
    apply: impl Fn(&mut WriteTx) -> Result<Accepted>,
) -> Result<Outcome> {
    let hash = body_hash(&request.body)?;
    let write = |f: &dyn Fn(&mut WriteTx) -> Result<Outcome>| match session {
        Some(s) => core.write(s, f),
        None => core.write_as(None, f),
    };
    let attempt = write(&|w| {
        if let Some(o) = kept(w, &request.request_id, &hash)? {
            return Ok(o);
        }
        let outcome = Outcome::Accepted(apply(w)?);
        keep(w, request, &hash, source, &outcome)?;
        Ok(outcome)
    });
    match attempt {
        Err(e) if is_refusal(&e) => {
            // Rolled back: nothing of it stays but the refusal.
            let refused = refusal(&e);
            write(&|w| {
                if let Some(o) = kept(w, &request.request_id, &hash)? {
                    return Ok(o);
                }
                keep(w, request, &hash, source, &refused)?;
                Ok(refused.clone())
            })
        }
        other => other,
    }
}

impl Core {
    /// Applies a request from a paired phone exactly once as `session`'s staff member and
    /// answers it (the kept answer, for a request seen before).
    pub fn apply_request(&self, session: &Session, source: RequestSource, request: &Request) -> Result<Outcome> {
        let id = request.request_id.as_str();
        if id.trim().is_empty() {
            return Err(CoreError::invalid(Field::Request, crate::error::Rule::Required));
        }
        if id.len() > MAX_REQUEST_ID {
            return Err(CoreError::invalid(Field::Request, crate::error::Rule::TooLong { max: MAX_REQUEST_ID }));
        }
        if !id.chars().all(|c| c.is_ascii_graphic()) {
            return Err(CoreError::invalid(Field::Request, crate::error::Rule::PrintableAscii));
        }
        // `portal-<n>` names the portal's inbox items (`portal.rs`): taken.
        if id.starts_with(PORTAL_PREFIX) {
            return Err(CoreError::Conflict(Conflict::RequestReused));
        }
        session.require(action_of(&request.body)?)?;
        let tz = self.timezone();
        apply_once(self, Some(session), source, request, |w| apply_body(w, session, tz, &request.body))
    }
}

/// The start of every request id the portal's inbox items get at the desk.
const PORTAL_PREFIX: &str = "portal-";
