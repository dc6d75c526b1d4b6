//! Where the head-office device token is kept: the OS keyring first, a user-only file
//! beside the database as the fallback. Never in the database, never in `<db>.sync.json`.
//!
//! - The keyring: Windows Credential Manager, the macOS Keychain, or on Linux/BSD the
//!   Secret Service over D-Bus (GNOME Keyring, KWallet; spoken in pure Rust by zbus).
//!   The entry is service [`KEYRING_SERVICE`], user = a random `token_key` that
//!   registration writes into `<db>.sync.json`: each registration of each database has
//!   its own entry, so two centres' databases on one PC never share a token, and moving
//!   the database folder keeps it.
//! - Writing (registration) tries the keyring and reads the token back; only when that
//!   worked is the token file removed. Any keyring failure — none on this machine, a
//!   locked keychain, no secret service in the session, a timeout — writes the
//!   user-only file instead (`write_atomically(.., private = true)`), exactly as before.
//!   Registration never fails because of the keyring.
//! - Reading tries the keyring (when `<db>.sync.json` has a `token_key`), then the file.
//!   A token file from an older version (no `token_key`) keeps being read as it is; it is
//!   moved into the keyring at the next registration, not silently at a read, so a desk
//!   whose keyring stops answering later still has the file it pushed with.
//! - A keyring that does not answer within [`KEYRING_TIMEOUT`] counts as unreachable (a
//!   Secret Service waiting on an unlock prompt nobody sees must not hang the pusher).
//! - A token read from the keyring is remembered for the process, so the sync panel's
//!   15-second poll and the minute pusher do not call the keyring each time.
//! - `CENTREDESK_TOKEN_STORE=file` in the environment, or [`set_keyring_service`]`(None)`,
//!   keeps tokens in the file only (tests, or an administrator who wants that).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use ts_rs::TS;

/// The keyring service name; the user is the database's `token_key`.
pub const KEYRING_SERVICE: &str = "CentreDesk sync";
/// How long a keyring call may take before it counts as unreachable.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(10);

/// Where this desk's device token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum TokenStore {
    /// The OS keyring (Credential Manager, Keychain, Secret Service).
    Keyring,
    /// The user-only file `<db>.sync-token`.
    File,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    #[error("the system keyring is switched off (CENTREDESK_TOKEN_STORE=file)")]
    Off,
    #[error("no system keyring is supported on this platform")]
    Unsupported,
    #[error("the system keyring did not answer within {0} s")]
    TimedOut(u64),
    #[error("system keyring: {0}")]
    Failed(String),
}

enum Service {
    Default,
    Named(String),
    Off,
}

static SERVICE: Mutex<Service> = Mutex::new(Service::Default);
static CACHE: Mutex<Option<HashMap<(String, String), String>>> = Mutex::new(None);

/// Sets the keyring service name for this process (`None`: keep tokens in files only).
/// Tests use a unique name, or none, so they never touch the user's real entries.
pub fn set_keyring_service(service: Option<&str>) {
    *SERVICE.lock().unwrap_or_else(|p| p.into_inner()) = match service {
        Some(s) => Service::Named(s.to_string()),
        None => Service::Off,
    };
    forget_cached();
}

/// The service name in use, or `None` when the keyring is off.
pub fn keyring_service() -> Option<String> {
    match &*SERVICE.lock().unwrap_or_else(|p| p.into_inner()) {
        Service::Off => None,
        Service::Named(s) => Some(s.clone()),
        Service::Default => match std::env::var("CENTREDESK_TOKEN_STORE") {
            Ok(v) if v.eq_ignore_ascii_case("file") => None,
            _ => Some(KEYRING_SERVICE.to_string()),
        },
    }
}

/// Drops the tokens remembered from the keyring (the next read asks the keyring again).
pub fn forget_cached() {
    *CACHE.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

fn cached(service: &str, key: &str) -> Option<String> {
    CACHE.lock().unwrap_or_else(|p| p.into_inner()).as_ref().and_then(|m| m.get(&(service.to_string(), key.to_string())).cloned())
}

fn remember(service: &str, key: &str, token: Option<&str>) {
    let mut guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    let k = (service.to_string(), key.to_string());
    match token {
        Some(t) => map.insert(k, t.to_string()),
        None => map.remove(&k),
    };
}

#[cfg(windows)]
fn os_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn os_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn os_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(not(any(windows, target_os = "macos", target_os = "linux", target_os = "freebsd", target_os = "openbsd")))]
fn os_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Err(keyring_core::Error::NotSupportedByStore("no keyring on this platform".into()))
}

enum Op {
    Set(String),
    Get,
    Delete,
}

/// One keyring call on a thread of its own, given up after [`KEYRING_TIMEOUT`].
/// `Ok(None)`: no such entry (get) or nothing to delete.
fn call(service: &str, key: &str, op: Op) -> Result<Option<String>, KeyringError> {
    let (service_owned, key_owned) = (service.to_string(), key.to_string());
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("keyring".into()).spawn(move || {
        let run = || -> keyring_core::Result<Option<String>> {
            let store = os_store()?;
            let entry = keyring_core::Entry::new_in_store(&store, &service_owned, &key_owned)?;
            match op {
                Op::Set(token) => entry.set_password(&token).map(|_| None),
                Op::Get => entry.get_password().map(Some),
                Op::Delete => entry.delete_credential().map(|_| None),
            }
        };
        let outcome = match run() {
            Ok(v) => Ok(v),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(keyring_core::Error::NotSupportedByStore(_)) => Err(KeyringError::Unsupported),
            Err(e) => Err(KeyringError::Failed(e.to_string())),
        };
        let _ = tx.send(outcome);
    });
    if let Err(e) = spawned {
        return Err(KeyringError::Failed(e.to_string()));
    }
    match rx.recv_timeout(KEYRING_TIMEOUT) {
        Ok(outcome) => outcome,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(KeyringError::TimedOut(KEYRING_TIMEOUT.as_secs())),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(KeyringError::Failed("the keyring call stopped without an answer".into())),
    }
}

/// Puts the token under `key` and reads it back; `Ok` only when the keyring holds it.
pub fn keyring_set(key: &str, token: &str) -> Result<(), KeyringError> {
    let service = keyring_service().ok_or(KeyringError::Off)?;
    call(&service, key, Op::Set(token.to_string()))?;
    match call(&service, key, Op::Get)? {
        Some(back) if back == token => {
            remember(&service, key, Some(token));
            Ok(())
        }
        _ => Err(KeyringError::Failed("the token read back differs from the one written".into())),
    }
}

/// The token under `key`: remembered from an earlier read when `use_cache`, else from the keyring itself.
pub fn keyring_get(key: &str, use_cache: bool) -> Result<Option<String>, KeyringError> {
    let service = keyring_service().ok_or(KeyringError::Off)?;
    if use_cache {
        if let Some(t) = cached(&service, key) {
            return Ok(Some(t));
        }
    }
    let token = call(&service, key, Op::Get)?.filter(|t| !t.trim().is_empty());
    remember(&service, key, token.as_deref());
    Ok(token)
}

/// Removes the entry under `key` (absent is fine).
pub fn keyring_delete(key: &str) -> Result<(), KeyringError> {
    let service = keyring_service().ok_or(KeyringError::Off)?;
    remember(&service, key, None);
    call(&service, key, Op::Delete).map(|_| ())
}
