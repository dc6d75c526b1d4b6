//! Phones paired with the desk 手机设备: how a coach's phone on the centre's Wi-Fi
//! becomes a known device before anyone signs in on it (`crates/lan` serves the pages).
//!
//! - The manager opens a pairing code at the desk (Settings → 手机点名): 8 digits, valid
//!   for `PAIRING_MINUTES`, single use, `PAIRING_TRIES` tries; a new code replaces the
//!   last. It lives in memory only: a restarted desk has no open code.
//! - The phone sends the code and gets a 256-bit token, which it keeps in an HttpOnly
//!   cookie; the desk keeps only its SHA-256 (`phone_devices`). The device is then known
//!   until the desk revokes it, refused at its next request.
//! - Then a staff member signs in on the device with their own account
//!   (`phone_sign_in`): every permission is the core's, as at the desk.

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{AuthFailure, CoreError, Field, Result};
use crate::validate;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use ts_rs::TS;

pub const PAIRING_MINUTES: i64 = 10;
pub const PAIRING_TRIES: u32 = 5;
const CODE_DIGITS: usize = 8;

/// The open pairing code (in memory, see the module comment).
pub(crate) struct PairingCode {
    code: String,
    expires_at: DateTime<Utc>,
    tries_left: u32,
    opened_by: String,
}

/// A pairing code as the desk shows it (with the QR code of the pairing address).
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct PairingOffer {
    pub code: String,
    pub expires_at: String,
}

/// A paired phone as the desk lists it.
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct PhoneDevice {
    pub id: String,
    pub name: String,
    pub paired_at: String,
    pub paired_by: Option<String>,
    pub last_seen_at: Option<String>,
    /// Who signed in on it last (display name).
    pub last_staff: Option<String>,
    pub revoked_at: Option<String>,
}

/// What the phone gets when pairing succeeds: its device id and the raw token (shown
/// once, to the phone; the desk keeps only the hash).
#[derive(Debug, Clone)]
pub struct Paired {
    pub device_id: String,
    pub token: String,
}

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// 256 random bits as hex: a device token, a portal invite.
pub(crate) fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn random_code() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..CODE_DIGITS).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect()
}

/// The active device with this token, if any.
pub(crate) fn device_by_token(c: &Connection, token: &str) -> Result<Option<String>> {
    Ok(c.query_row("SELECT id FROM phone_devices WHERE token_sha256 = ?1 AND revoked_at IS NULL", [token_hash(token)], |r| r.get(0)).optional()?)
}

/// Marks the device as seen now, by `staff_id` (in the transaction of what it did).
pub(crate) fn touch(w: &WriteTx, device_id: &str, staff_id: Option<&str>) -> Result<()> {
    w.execute(
        "UPDATE phone_devices SET last_seen_at = ?2, last_staff_id = COALESCE(?3, last_staff_id) WHERE id = ?1",
        params![device_id, w.now_text(), staff_id],
    )?;
    Ok(())
}

/// A device as the desk lists it, with who paired it and who signed in last.
const DEVICE_SELECT: &str = "SELECT d.id, d.name, d.paired_at, p.display_name AS paired_by, d.last_seen_at, s.display_name AS last_staff, d.revoked_at
     FROM phone_devices d LEFT JOIN staff p ON p.id = d.paired_by LEFT JOIN staff s ON s.id = d.last_staff_id";

fn load(c: &Connection, device_id: &str) -> Result<PhoneDevice> {
    c.query_row(&format!("{DEVICE_SELECT} WHERE d.id = ?1"), [device_id], row)
    .optional()?
    .ok_or(CoreError::NotFound(Field::Device))
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<PhoneDevice> {
    Ok(PhoneDevice {
        id: r.get("id")?,
        name: r.get("name")?,
        paired_at: r.get("paired_at")?,
        paired_by: r.get("paired_by")?,
        last_seen_at: r.get("last_seen_at")?,
        last_staff: r.get("last_staff")?,
        revoked_at: r.get("revoked_at")?,
    })
}

/// What a device's change-log entry says about it: never the token or its hash.
fn logged(d: &PhoneDevice) -> serde_json::Value {
    serde_json::json!({ "id": d.id, "name": d.name, "paired_at": d.paired_at, "revoked_at": d.revoked_at })
}

impl Core {
    /// Opens a new pairing code (replacing any open one).
    pub fn phone_pairing_open(&self, session: &Session) -> Result<PairingOffer> {
        session.require(Action::EditSettings)?;
        self.session_check(session)?;
        let expires_at = self.now() + chrono::Duration::minutes(PAIRING_MINUTES);
        let code = random_code();
        *self.phone_pairing.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(PairingCode { code: code.clone(), expires_at, tries_left: PAIRING_TRIES, opened_by: session.staff_id.clone() });
        Ok(PairingOffer { code, expires_at: crate::db::instant_text(expires_at) })
    }

    /// Closes the open pairing code, if any (the desk left the pairing screen).
    pub fn phone_pairing_close(&self, session: &Session) -> Result<()> {
        session.require(Action::EditSettings)?;
        *self.phone_pairing.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    /// A phone offers a pairing code: the open code, once, within its time and tries.
    pub fn phone_pair(&self, code: &str, device_name: &str) -> Result<Paired> {
        let name = validate::optional_text(Field::DeviceName, device_name, 60)?;
        let name = if name.is_empty() { "手机".to_string() } else { name };
        let opened_by = {
            let mut open = self.phone_pairing.lock().unwrap_or_else(|p| p.into_inner());
            let now = self.now();
            match open.as_mut() {
                Some(p) if p.expires_at > now && p.tries_left > 0 => {
                    if p.code != code.trim() {
                        p.tries_left -= 1;
                        let left = p.tries_left;
                        if left == 0 {
                            *open = None;
                            return Err(CoreError::Auth(AuthFailure::PairingClosed));
                        }
                        return Err(CoreError::Auth(AuthFailure::PairingCodeWrong { tries_left: left }));
                    }
                    // Single use: taken before the device is written.
                    open.take().map(|p| p.opened_by).unwrap_or_default()
                }
                _ => {
                    *open = None;
                    return Err(CoreError::Auth(AuthFailure::PairingClosed));
                }
            }
        };
        let token = random_token();
        let device_id = crate::new_id();
        self.write_as(Some(opened_by.clone()), |w| {
            w.execute(
                "INSERT INTO phone_devices (id, name, token_sha256, paired_at, paired_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![device_id, name, token_hash(&token), w.now_text(), opened_by],
            )?;
            let d = load(w, &device_id)?;
            w.log("phone_device", &device_id, "pair", None, &logged(&d))
        })?;
        Ok(Paired { device_id, token })
    }

    /// The paired, not revoked, device holding `token`: refused otherwise.
    pub fn phone_device_check(&self, token: &str) -> Result<String> {
        self.read(|c| device_by_token(c, token))?.ok_or(CoreError::Auth(AuthFailure::DeviceUnknown))
    }

    /// A staff member signs in on a paired device with their own account (the desk's
    /// login rules, wrong-password delays included): the session and the device's id.
    pub fn phone_sign_in(&self, token: &str, username: &str, password: &str) -> Result<(Session, String)> {
        let device_id = self.phone_device_check(token)?;
        let session = self.login(username, password)?;
        self.write(&session, |w| {
            touch(w, &device_id, Some(&session.staff_id))?;
            let d = load(w, &device_id)?;
            w.log("phone_device", &device_id, "sign_in", None, &serde_json::json!({ "id": d.id, "name": d.name, "staff_id": session.staff_id }))
        })?;
        Ok((session, device_id))
    }

    pub fn phone_devices(&self, session: &Session) -> Result<Vec<PhoneDevice>> {
        session.require(Action::EditSettings)?;
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{DEVICE_SELECT} ORDER BY d.revoked_at IS NOT NULL, d.paired_at DESC"))?;
            let rows = stmt.query_map([], row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// Revokes a device at once: its next request is refused.
    pub fn phone_device_revoke(&self, session: &Session, device_id: &str) -> Result<PhoneDevice> {
        session.require(Action::EditSettings)?;
        self.write(session, |w| {
            load(w, device_id)?;
            w.execute(
                "UPDATE phone_devices SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_at IS NULL",
                params![device_id, w.now_text(), session.staff_id],
            )?;
            let d = load(w, device_id)?;
            w.log("phone_device", device_id, "revoke", None, &logged(&d))?;
            Ok(d)
        })
    }
}

/// The port the phone server listens on unless the manager picks another.
pub const DEFAULT_PORT: i64 = 8765;

/// Whether the desk app runs its phone server, and on which port (Settings → 手机点名).
/// Off by default: phones on the same Wi-Fi reach it once it is on.
#[derive(Debug, Clone, Serialize, serde::Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct PhoneServerSettings {
    pub enabled: bool,
    pub port: i64,
    /// HTTPS with the desk's own certificate (its fingerprint on the pairing screen).
    #[serde(default)]
    pub https: bool,
}

fn load_server_settings(c: &Connection) -> Result<PhoneServerSettings> {
    Ok(PhoneServerSettings {
        enabled: crate::settings::get(c, "phone_server_enabled")?.as_deref() == Some("true"),
        port: crate::settings::get(c, "phone_server_port")?.and_then(|p| p.parse().ok()).unwrap_or(DEFAULT_PORT),
        https: crate::settings::get(c, "phone_server_https")?.as_deref() == Some("true"),
    })
}

impl Core {
    /// What the shell reads at start (no session: the server starts with the app).
    pub fn phone_server_settings(&self) -> Result<PhoneServerSettings> {
        self.read(load_server_settings)
    }

    pub fn phone_server_settings_set(&self, session: &Session, input: PhoneServerSettings) -> Result<PhoneServerSettings> {
        session.require(Action::EditSettings)?;
        validate::int_in(Field::Port, input.port, 1024, 65535)?;
        self.write(session, |w| {
            let old = load_server_settings(w)?;
            if old.enabled != input.enabled {
                crate::settings::put(w, "phone_server_enabled", if input.enabled { "true" } else { "false" })?;
            }
            if old.port != input.port {
                crate::settings::put(w, "phone_server_port", &input.port.to_string())?;
            }
            if old.https != input.https {
                crate::settings::put(w, "phone_server_https", if input.https { "true" } else { "false" })?;
            }
            load_server_settings(w)
        })
    }
}
