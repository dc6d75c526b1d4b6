//! Delivery of queued notices 通知发送: by e-mail over SMTP (to guardians who gave an
//! address) and through a generic HTTPS webhook an SMS/WeChat gateway listens on (every
//! guardian has a phone). Runs in the background ([`run_notifier`]); offline or without a
//! channel, notices wait and nothing blocks the desk.
//!
//! - The channel settings (server, password, webhook secret) live in `<db>.notify.json`
//!   beside the database, readable by the user only: never in the synced data.
//! - The network is never touched inside a write transaction: the due notices are read,
//!   sent one by one, and each outcome is written (and logged) on its own.
//! - A failure is retried with backoff ([`RETRY_AFTER_MINUTES`]); after the last attempt,
//!   or at once when the failure is permanent (a refused address, a 4xx from the
//!   gateway), the notice is `failed` and waits for someone to resend it.
//! - The webhook body is JSON; `X-CentreDesk-Signature: sha256=<hex HMAC-SHA256 of the
//!   body with the secret>` lets the gateway check it came from this desk.

use super::{load, notice_from_row, Notice, NOTICE_COLUMNS};
use crate::auth::{Action, Session};
use crate::db::{instant_text, Core};
use crate::error::{CoreError, Field, Result, Rule};
use crate::validate;
use hmac::{Hmac, KeyInit, Mac};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use ts_rs::TS;

/// Minutes to wait after failure number 1, 2, …; one more failure after the last is final.
pub const RETRY_AFTER_MINUTES: [i64; 5] = [1, 5, 15, 60, 240];
/// Notices handled per round, oldest first.
const BATCH: i64 = 50;
/// A notice never tried within this many hours is not sent at all: "arrived at 18:02"
/// three days late (or a backlog from before the channels were set up) misleads parents.
/// It is marked failed; the desk can still resend it.
pub const STALE_AFTER_HOURS: i64 = 48;

/// How this desk reaches parents. Empty host / URL: that channel is off.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct NotifyChannels {
    pub email: EmailChannel,
    pub webhook: WebhookChannel,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct EmailChannel {
    /// SMTP server host; empty turns e-mail off.
    pub host: String,
    pub port: u16,
    /// `tls` (implicit TLS, usually 465), `starttls` (usually 587) or `none` (a relay on
    /// the local network only).
    pub security: String,
    pub username: String,
    /// Write-only: sent to the UI empty; an empty value on save keeps the stored one.
    pub password: String,
    /// The sender, e.g. `某某跆拳道 <desk@example.com>`.
    pub from: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct WebhookChannel {
    /// The gateway's HTTPS URL; empty turns the webhook off.
    pub url: String,
    /// Write-only, like the SMTP password.
    pub secret: String,
}

impl NotifyChannels {
    fn masked(mut self) -> NotifyChannels {
        self.email.password.clear();
        self.webhook.secret.clear();
        self
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct DeliveryReport {
    pub sent: i64,
    /// Failed this round and will be tried again later.
    pub retrying: i64,
    /// Failed for good this round.
    pub failed: i64,
}

/// `centre.db` → `centre.notify.json`.
pub fn channels_path(db: &Path) -> PathBuf {
    crate::sync::file_path(db, ".notify.json")
}

fn internal(e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(e.to_string())
}

fn load_channels(db: &Path) -> Result<NotifyChannels> {
    match std::fs::read_to_string(channels_path(db)) {
        Ok(text) => serde_json::from_str(&text).map_err(internal),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(NotifyChannels::default()),
        Err(e) => Err(internal(e)),
    }
}

enum Failure {
    /// Worth another try later (network, 5xx, a busy server).
    Transient(String),
    /// Will not work by trying again (a refused address, a 4xx).
    Permanent(String),
}

struct Due {
    notice: Notice,
    email: String,
    wechat: String,
}

/// `send_key` becomes the Message-ID: a retry after a crash between sending and
/// recording carries the same one, which mail systems use to drop the duplicate.
fn send_email(ch: &EmailChannel, centre: &str, send_key: &str, to_name: &str, to_addr: &str, text: &str) -> std::result::Result<(), Failure> {
    use lettre::message::{header::ContentType, Mailbox};
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{Message, SmtpTransport, Transport};
    let from: Mailbox = ch.from.parse().map_err(|e| Failure::Permanent(format!("from {}: {e}", ch.from)))?;
    let to = Mailbox::new(Some(to_name.to_string()), to_addr.parse().map_err(|e| Failure::Permanent(format!("to {to_addr}: {e}")))?);
    let subject = if centre.is_empty() { "通知".to_string() } else { format!("【{centre}】通知") };
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{send_key}@centredesk.invalid>")))
        .header(ContentType::TEXT_PLAIN)
        .body(text.to_string())
        .map_err(|e| Failure::Permanent(e.to_string()))?;
    let builder = match ch.security.as_str() {
        "tls" => SmtpTransport::relay(&ch.host),
        "starttls" => SmtpTransport::starttls_relay(&ch.host),
        _ => Ok(SmtpTransport::builder_dangerous(&ch.host)),
    }
    .map_err(|e| Failure::Permanent(e.to_string()))?;
    let mut builder = builder.port(ch.port).timeout(Some(Duration::from_secs(20)));
    if !ch.username.is_empty() {
        builder = builder.credentials(Credentials::new(ch.username.clone(), ch.password.clone()));
    }
    match builder.build().send(&message) {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(Failure::Permanent(e.to_string())),
        Err(e) => Err(Failure::Transient(e.to_string())),
    }
}

fn send_webhook(agent: &ureq::Agent, ch: &WebhookChannel, due: &Due) -> std::result::Result<(), Failure> {
    let n = &due.notice;
    let body = serde_json::json!({
        "id": n.id,
        "kind": n.kind,
        "to": { "name": n.recipient_name, "phone": n.recipient_phone, "wechat": due.wechat },
        "text": n.text,
        "member_id": n.member_id,
        "created_at": n.created_at,
    })
    .to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(ch.secret.as_bytes()).map_err(|e| Failure::Permanent(e.to_string()))?;
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    match agent
        .post(&ch.url)
        .set("Content-Type", "application/json; charset=utf-8")
        .set("X-CentreDesk-Signature", &signature)
        .set("Idempotency-Key", &n.send_key())
        .send_string(&body)
    {
        Ok(_) => Ok(()),
        Err(ureq::Error::Status(status, resp)) => {
            let detail: String = resp.into_string().unwrap_or_default().chars().take(200).collect();
            let text = format!("HTTP {status} {detail}").trim().to_string();
            if status == 408 || status == 429 || status >= 500 {
                Err(Failure::Transient(text))
            } else {
                Err(Failure::Permanent(text))
            }
        }
        Err(e) => Err(Failure::Transient(e.to_string())),
    }
}

impl Core {
    /// The channels as the settings screen shows them (password and secret blanked).
    pub fn notify_channels(&self, session: &Session) -> Result<NotifyChannels> {
        session.require(Action::EditSettings)?;
        Ok(load_channels(self.path())?.masked())
    }

    /// Saves the channels. A blank password or secret keeps the stored one.
    pub fn notify_channels_set(&self, session: &Session, input: NotifyChannels) -> Result<NotifyChannels> {
        session.require(Action::EditSettings)?;
        let old = load_channels(self.path())?;
        let mut ch = input;
        ch.email.host = validate::optional_text(Field::Host, &ch.email.host, 200)?;
        if !ch.email.host.is_empty() {
            if ch.email.port == 0 {
                return Err(CoreError::invalid(Field::Port, Rule::IntRange { min: 1, max: 65535 }));
            }
            if !["tls", "starttls", "none"].contains(&ch.email.security.as_str()) {
                return Err(CoreError::invalid(Field::Channel, Rule::OneOf { allowed: vec!["tls".into(), "starttls".into(), "none".into()] }));
            }
            // A password and parents' messages in plain text only to a relay on this PC.
            if ch.email.security == "none" && !validate::is_loopback_host(&ch.email.host) {
                return Err(CoreError::invalid(Field::Channel, Rule::TlsRequired));
            }
            if ch.email.from.parse::<lettre::message::Mailbox>().is_err() {
                return Err(CoreError::invalid(Field::Email, Rule::EmailFormat));
            }
            if ch.email.password.is_empty() {
                ch.email.password = old.email.password.clone();
            }
        }
        ch.webhook.url = ch.webhook.url.trim().to_string();
        if !ch.webhook.url.is_empty() {
            ch.webhook.url = validate::secure_url(Field::Url, &ch.webhook.url)?;
            if ch.webhook.secret.is_empty() {
                ch.webhook.secret = old.webhook.secret.clone();
            }
            if ch.webhook.secret.chars().count() < 16 {
                return Err(CoreError::invalid(Field::Password, Rule::PasswordTooShort { min: 16 }));
            }
        }
        let bytes = serde_json::to_vec_pretty(&ch).map_err(internal)?;
        crate::sync::write_atomically(&channels_path(self.path()), &bytes, true).map_err(|e| internal(e.message(crate::Lang::En)))?;
        Ok(ch.masked())
    }

    /// The desk's "send again": back in the queue, due now, attempts from zero.
    pub fn notice_resend(&self, session: &Session, id: &str) -> Result<Notice> {
        session.require(Action::SendNotices)?;
        self.write(session, |w| {
            let n = w.execute(
                "UPDATE notices SET status = 'queued', attempts = 0, last_error = '', next_attempt_at = NULL, resends = resends + 1 WHERE id = ?1",
                [id],
            )?;
            if n == 0 {
                return Err(CoreError::NotFound(Field::Notice));
            }
            let notice = load(w, id)?;
            w.log("notice", id, "resend", notice.member_id.as_deref().or(notice.lead_id.as_deref()), &notice)?;
            Ok(notice)
        })
    }

    /// The outbox's "send now": one delivery round right away, for the desk (after the
    /// round already running, if any, has finished).
    pub fn deliver_notices_now(&self, session: &Session) -> Result<DeliveryReport> {
        session.require(Action::SendNotices)?;
        self.deliver_notices()
    }

    /// One round of delivery: every due notice a configured channel can reach.
    /// What `centredesk notify deliver` calls. Waits while another round runs — in this
    /// process or in any other on the same database — so no notice is sent twice by two
    /// rounds overlapping.
    pub fn deliver_notices(&self) -> Result<DeliveryReport> {
        let lock = self.delivery_lock_file()?;
        lock.lock().map_err(|e| internal(format!("delivery lock: {e}")))?;
        self.deliver_round()
    }

    /// The background loop's round: skipped (None) while another round runs.
    pub fn deliver_notices_if_free(&self) -> Result<Option<DeliveryReport>> {
        let lock = self.delivery_lock_file()?;
        match lock.try_lock() {
            Ok(()) => self.deliver_round().map(Some),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(internal(format!("delivery lock: {e}"))),
        }
    }

    /// `<db>.delivery.lock`: an OS file lock, held for one round by one open handle. The
    /// OS drops it when the handle closes or the process dies, so a crash never leaves
    /// a stale lock behind (unlike a lease row in the database).
    fn delivery_lock_file(&self) -> Result<std::fs::File> {
        let mut name = self.path().as_os_str().to_owned();
        name.push(".delivery.lock");
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(std::path::PathBuf::from(name))
            .map_err(|e| internal(format!("delivery lock: {e}")))
    }

    fn deliver_round(&self) -> Result<DeliveryReport> {
        let ch = load_channels(self.path())?;
        let mut report = DeliveryReport::default();
        if ch.email.host.is_empty() && ch.webhook.url.is_empty() {
            return Ok(report);
        }
        report.failed += self.fail_stale_notices()?;
        // One client for the round: its TLS set-up (the root store) is not redone per notice.
        let agent = ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(10)).timeout(Duration::from_secs(30)).build();
        // Batch after batch until nothing due is left (a backlog after a day offline goes
        // out in one round), bounded so one round never runs for ever.
        for _ in 0..100 {
            let (handled, selected) = self.deliver_batch(&agent, &ch, &mut report)?;
            if handled == 0 || selected < BATCH {
                break;
            }
        }
        Ok(report)
    }

    /// Marks failed, without sending, every notice never tried within [`STALE_AFTER_HOURS`].
    fn fail_stale_notices(&self) -> Result<i64> {
        let stale_before = instant_text(self.now() - chrono::Duration::hours(STALE_AFTER_HOURS));
        let ids: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare("SELECT id FROM notices WHERE status = 'queued' AND attempts = 0 AND created_at < ?1")?;
            let ids = stmt.query_map([&stale_before], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(ids)
        })?;
        if ids.is_empty() {
            return Ok(0);
        }
        self.write_as(None, |w| {
            let error = format!("stale: queued more than {STALE_AFTER_HOURS} h before the first try, not sent");
            for id in &ids {
                w.execute("UPDATE notices SET status = 'failed', last_error = ?2, next_attempt_at = NULL WHERE id = ?1", params![id, error])?;
                let n = load(w, id)?;
                w.log("notice", id, "failed", n.member_id.as_deref().or(n.lead_id.as_deref()), &n)?;
            }
            Ok(ids.len() as i64)
        })
    }

    /// Sends one batch of due notices; returns (handled, selected).
    fn deliver_batch(&self, agent: &ureq::Agent, ch: &NotifyChannels, report: &mut DeliveryReport) -> Result<(i64, i64)> {
        let (email_on, webhook_on) = (!ch.email.host.is_empty(), !ch.webhook.url.is_empty());
        let now = instant_text(self.now());
        let (due, centre) = self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {cols}, COALESCE(g.email, '') AS guardian_email, COALESCE(g.wechat, '') AS guardian_wechat FROM notices n LEFT JOIN guardians g ON g.id = n.guardian_id
                 WHERE n.status = 'queued' AND (n.next_attempt_at IS NULL OR n.next_attempt_at <= ?1)
                   AND (?2 OR COALESCE(g.email, '') <> '')
                 ORDER BY n.created_at, n.rowid LIMIT ?3",
                cols = NOTICE_COLUMNS.split(", ").map(|c| format!("n.{c}")).collect::<Vec<_>>().join(", ")
            ))?;
            let due = stmt
                .query_map(params![now, webhook_on, BATCH], |r| Ok(Due { notice: notice_from_row(r)?, email: r.get("guardian_email")?, wechat: r.get("guardian_wechat")? }))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((due, crate::settings::get(c, "centre_name")?.unwrap_or_default()))
        })?;
        let (selected, mut handled) = (due.len() as i64, 0);
        for d in due {
            // The gateway reaches every phone; e-mail only those who gave an address.
            let (channel, outcome) = if webhook_on && !d.notice.recipient_phone.is_empty() {
                ("webhook", send_webhook(agent, &ch.webhook, &d))
            } else if email_on && !d.email.is_empty() {
                ("email", send_email(&ch.email, &centre, &d.notice.send_key(), &d.notice.recipient_name, &d.email, &d.notice.text))
            } else {
                continue;
            };
            let notice = self.write_as(None, |w| {
                let at = w.now_text();
                match &outcome {
                    Ok(()) => {
                        w.execute(
                            "UPDATE notices SET status = 'sent', channel = ?2, attempts = attempts + 1, last_error = '', next_attempt_at = NULL, sent_at = ?3 WHERE id = ?1",
                            params![d.notice.id, channel, at],
                        )?;
                    }
                    Err(failure) => {
                        let attempts = d.notice.attempts + 1;
                        let (error, give_up) = match failure {
                            Failure::Permanent(e) => (e.clone(), true),
                            Failure::Transient(e) => (e.clone(), attempts as usize > RETRY_AFTER_MINUTES.len()),
                        };
                        let next = (!give_up).then(|| instant_text(w.now() + chrono::Duration::minutes(RETRY_AFTER_MINUTES[(attempts - 1) as usize])));
                        w.execute(
                            "UPDATE notices SET status = ?2, channel = ?3, attempts = ?4, last_error = ?5, next_attempt_at = ?6 WHERE id = ?1",
                            params![d.notice.id, if give_up { "failed" } else { "queued" }, channel, attempts, error.chars().take(300).collect::<String>(), next],
                        )?;
                    }
                }
                let n = load(w, &d.notice.id)?;
                let op = match &outcome {
                    Ok(()) => "sent",
                    Err(_) if n.status == "failed" => "failed",
                    Err(_) => "retry",
                };
                w.log("notice", &n.id, op, n.member_id.as_deref().or(n.lead_id.as_deref()), &n)?;
                Ok(n)
            })?;
            match notice.status.as_str() {
                "sent" => report.sent += 1,
                "failed" => report.failed += 1,
                _ => report.retrying += 1,
            }
            handled += 1;
        }
        Ok((handled, selected))
    }
}

/// The background loop the shell runs on a thread of its own: the automatic notices
/// (renewals due, birthdays) and a delivery round every `every`.
pub fn run_notifier(core: &Core, every: Duration) -> ! {
    loop {
        if let Err(e) = core.notify_scan() {
            log::error!("automatic notices: {}", e.message(crate::Lang::En));
        }
        // Another round (the desk's "send now", a second app on this database) has it.
        if let Err(e) = core.deliver_notices_if_free() {
            log::error!("notice delivery: {}", e.message(crate::Lang::En));
        }
        std::thread::sleep(every);
    }
}
