//! Head-office sync 总部同步 (off by default): the change log is the outbox, pushed in
//! `seq` order to `centredesk-server` (crates/server, protocol in its `http.rs`).
//!
//! - Nothing about sync lives in the synced data. Next to `centre.db` sit
//!   `centre.sync.json` (server URL, on/off, the acked seq, last push and last error:
//!   what the sync panel shows). The device token goes to the OS keyring (Windows
//!   Credential Manager, macOS Keychain, Linux Secret Service) under a `token_key` kept
//!   in `centre.sync.json`, or, when no keyring answers, to `centre.sync-token`, created
//!   readable by the user only (on Windows the file inherits the profile folder's
//!   user-only ACL) — see [`crate::token_store`]. Restoring a database backup therefore
//!   does not restore a token.
//! - The protocol's types are `centredesk_protocol::sync` (shared with the server).
//! - The pusher asks the server where it stands (`status`) before it sends, so a crash,
//!   a reinstall or weeks offline resume exactly at `acked + 1`; it then sends batches of
//!   at most [`BATCH_OPS`] ops and [`BATCH_BYTES`] of JSON, gzipped. A 409 gap makes it
//!   resend from the seq the server expects. Ops are never skipped or reordered.
//! - A rewound log (a restored backup, a power cut that lost the newest commits) is
//!   found before any push: the op the server holds at its acknowledged seq is not the
//!   one this log has there, or the server names another log epoch. The desk then raises
//!   its number counters past what head office has seen, starts a new epoch (a restore
//!   has already started one) and pushes its whole log again from seq 1 with `rebase`, so
//!   head office's rows become exactly this desk's; the panel says so in plain words.
//! - Network failures and 5xx are transient: the background loop ([`run_pusher`])
//!   retries with exponential backoff and full jitter. Any other 4xx is permanent: it is
//!   shown in plain words and retried only slowly (an administrator can fix the server
//!   side) or when the desk presses "sync now".
//! - Clock skew against the server is measured and shown as a warning; it never stops
//!   a push (ops are ordered by `seq`, never by time).
//! - Blocking HTTP (`ureq`): the core stays synchronous; the shell runs
//!   [`run_pusher`] on a thread of its own, so the desk never waits for the network.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{CoreError, ErrorDto, Lang};
use crate::token_store::{self, KeyringError, TokenStore};
use centredesk_protocol::sync::{self as wire, ErrorBody, PushRequest, StatusResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use ts_rs::TS;

/// Ops per push (the server takes up to 1000).
pub const BATCH_OPS: usize = 500;
/// JSON bytes per push before gzip; one op bigger than this still goes, alone.
pub const BATCH_BYTES: usize = 1 << 20;
/// A clock further than this from the server's is worth a warning.
pub const SKEW_WARNING_SECS: i64 = 300;

/// What the sync panel edits. Stored in `<db>.sync.json`, not in the database.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[ts(export)]
pub struct SyncSettings {
    pub enabled: bool,
    /// `https://head-office.example.com` (no trailing slash).
    pub server_url: String,
    /// The centre code this desk registered as.
    pub centre: String,
    pub device_id: Option<i64>,
}

/// A failure in words the desk can read, kept for the panel after a restart.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
#[ts(export)]
pub struct SyncProblem {
    pub code: String,
    pub zh: String,
    pub en: String,
    /// Transient problems fix themselves (retried with backoff); permanent ones need a person.
    pub transient: bool,
    pub at: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct SyncFile {
    #[serde(default)]
    settings: SyncSettings,
    /// The server's last answer for this device.
    #[serde(default)]
    acked_through_seq: i64,
    #[serde(default)]
    last_success_at: Option<String>,
    #[serde(default)]
    last_attempt_at: Option<String>,
    #[serde(default)]
    last_error: Option<SyncProblem>,
    #[serde(default)]
    clock_skew_secs: Option<i64>,
    /// The last time the whole log was pushed again (a rewound log), for the panel.
    #[serde(default)]
    last_resync: Option<SyncProblem>,
    /// The keyring entry's user name when registration put the token in the OS keyring;
    /// `None` when it is in the file (or from a version before the keyring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_key: Option<String>,
    /// The parents' portal's last round and its last problem (Settings → 家长端).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    portal_last_round_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    portal_last_error: Option<SyncProblem>,
    /// What the last publish was computed at: (log epoch, seq, business date). The next
    /// one carries only what changed since (`portal::Scope`), or nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    portal_published: Option<(String, i64, String)>,
}

/// The panel at a glance.
#[derive(Debug, Clone, Serialize, PartialEq, TS)]
#[ts(export)]
pub struct SyncState {
    pub enabled: bool,
    pub registered: bool,
    pub server_url: String,
    pub centre: String,
    pub last_success_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub acked_through_seq: i64,
    /// Ops written here and not yet acknowledged by the server.
    pub ops_waiting: i64,
    pub last_error: Option<SyncProblem>,
    /// This desk's clock minus the server's, in seconds, from the last status call.
    pub clock_skew_secs: Option<i64>,
    /// Set when the skew is large: a warning only, sync goes on.
    pub clock_warning: Option<String>,
    /// Where the device token is kept (`None` when not registered).
    pub token_store: Option<TokenStore>,
    /// When this desk last pushed its whole log again because it had been rewound (a
    /// restored backup, or the newest records lost in a power cut), in plain words.
    pub last_resync: Option<SyncProblem>,
}

#[derive(Debug, Clone, Serialize, PartialEq, TS)]
#[ts(export)]
pub struct PushReport {
    pub sent: usize,
    pub applied: usize,
    pub duplicates: usize,
    pub batches: usize,
    pub acked_through_seq: i64,
    /// The whole log went again from seq 1 (it had been rewound); head office's rows
    /// are now this desk's.
    pub rebased: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("not registered with a head-office server")]
    NotRegistered,
    #[error("network: {0}")]
    Network(String),
    #[error("server error {status}: {message}")]
    Server { status: u16, message: String },
    #[error("wrong head-office username or password")]
    BadCredentials,
    #[error("the device token was refused")]
    Unauthorized,
    #[error("head office revoked this desk's registration")]
    Revoked,
    #[error("the head-office account belongs to another centre: {0}")]
    NotYourCentre(String),
    #[error("too many tries; wait {0} s")]
    RateLimited(u64),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("the server needs a newer CentreDesk: {0}")]
    TooOld(String),
    #[error("the log diverged from what the server holds: {0}")]
    Diverged(String),
    #[error("refused ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("local file: {0}")]
    Io(String),
    #[error("the device token is in the system keyring, which does not answer: {0}")]
    Keyring(String),
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl SyncError {
    /// Network trouble and server errors pass; everything else needs a person.
    pub fn is_transient(&self) -> bool {
        // A keyring that does not answer now may after the manager unlocks it or logs in.
        matches!(self, SyncError::Network(_) | SyncError::Server { .. } | SyncError::Keyring(_) | SyncError::RateLimited(_))
    }

    pub fn code(&self) -> &'static str {
        match self {
            SyncError::NotRegistered => "sync_not_registered",
            SyncError::Network(_) => "sync_network",
            SyncError::Server { .. } => "sync_server_error",
            SyncError::BadCredentials => "sync_bad_credentials",
            SyncError::Unauthorized => "sync_unauthorized",
            SyncError::Revoked => "sync_revoked",
            SyncError::NotYourCentre(_) => "sync_not_your_centre",
            SyncError::RateLimited(_) => "sync_rate_limited",
            SyncError::Forbidden(_) => "sync_forbidden",
            SyncError::TooOld(_) => "sync_too_old",
            SyncError::Diverged(_) => "sync_diverged",
            SyncError::Rejected { .. } => "sync_rejected",
            SyncError::Io(_) => "sync_io",
            SyncError::Keyring(_) => "sync_keyring",
            SyncError::Core(_) => "sync_local",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let (zh, en) = match self {
            SyncError::NotRegistered => ("这台电脑还没有登记到总部服务器。".into(), "This desk is not registered with the head-office server.".into()),
            SyncError::Network(d) => (
                format!("连不上总部服务器（{d}），会自动重试。"),
                format!("Cannot reach the head-office server ({d}); retrying automatically."),
            ),
            SyncError::Server { status, .. } => {
                (format!("总部服务器出错（{status}），会自动重试。"), format!("The head-office server had an error ({status}); retrying automatically."))
            }
            SyncError::BadCredentials => ("总部账号或密码不对。".into(), "Wrong head-office username or password.".into()),
            SyncError::Unauthorized => (
                "总部不再认可这台电脑的登记，请重新登记。".into(),
                "Head office no longer accepts this desk's registration; please register again.".into(),
            ),
            SyncError::Revoked => (
                "总部已注销这台电脑的登记（设备被吊销），数据不再上传；如需继续同步，请经理用总部账号重新登记。".into(),
                "Head office revoked this desk's registration, so nothing is uploaded; to sync again, the manager registers it again with a head-office account.".into(),
            ),
            SyncError::NotYourCentre(_) => (
                "这个总部账号只属于另一个校区，不能登记本校区的电脑；请用本校区的账号或总部管理员账号。".into(),
                "This head-office account belongs to another centre and cannot register this centre's desk; use this centre's account or an administrator's.".into(),
            ),
            SyncError::RateLimited(wait) => (
                format!("尝试次数过多，总部服务器要求等待 {wait} 秒后再试。"),
                format!("Too many tries: the head-office server asks to wait {wait} s before trying again."),
            ),
            SyncError::Forbidden(d) => (format!("总部拒收：数据属于另一个校区（{d}）。"), format!("Head office refused: the data belongs to another centre ({d}).")),
            SyncError::TooOld(_) => ("总部服务器需要更新版本的 CentreDesk，请升级本软件。".into(), "The head-office server needs a newer CentreDesk; please update.".into()),
            SyncError::Diverged(d) => (
                format!("本机记录与总部已收到的不一致（可能恢复过备份）：{d}。请联系总部。"),
                format!("This desk's records differ from what head office received (a restored backup?): {d}. Please contact head office."),
            ),
            SyncError::Rejected { status, message } => (format!("总部拒收了这批数据（{status}：{message}）。"), format!("Head office refused the batch ({status}: {message}).")),
            SyncError::Io(d) => (format!("同步设置文件读写失败：{d}"), format!("Cannot read or write the sync settings file: {d}")),
            SyncError::Keyring(d) => (
                format!("读不到系统钥匙串里的登记凭据（{d}），会自动重试；请确认已登录并解锁钥匙串。"),
                format!("Cannot read the registration from the system keyring ({d}); retrying. Make sure the keyring is unlocked."),
            ),
            SyncError::Core(e) => (e.message(Lang::ZhCn), e.message(Lang::En)),
        };
        match lang {
            Lang::ZhCn => zh,
            Lang::En => en,
        }
    }

    /// What crosses to the UI, like [`CoreError::to_dto`].
    pub fn to_dto(&self, lang: Lang) -> ErrorDto {
        match self {
            SyncError::Core(e) => e.to_dto(lang),
            e => ErrorDto { code: e.code().into(), field: None, message: e.message(lang), problems: vec![] },
        }
    }

    fn problem(&self, at: String) -> SyncProblem {
        SyncProblem { code: self.code().into(), zh: self.message(Lang::ZhCn), en: self.message(Lang::En), transient: self.is_transient(), at }
    }
}

pub type SyncResult<T> = std::result::Result<T, SyncError>;

fn io(e: std::io::Error) -> SyncError {
    SyncError::Io(e.to_string())
}

pub(crate) fn file_path(db: &Path, ext: &str) -> PathBuf {
    let mut name = db.file_stem().unwrap_or_default().to_os_string();
    name.push(ext);
    db.with_file_name(name)
}

/// `centre.db` → `centre.sync.json`.
pub fn settings_path(db: &Path) -> PathBuf {
    file_path(db, ".sync.json")
}

/// `centre.db` → `centre.sync-token` (user-only permissions): the device token when no
/// OS keyring took it, or one written by a version before the keyring.
pub fn token_path(db: &Path) -> PathBuf {
    file_path(db, ".sync-token")
}

fn load(db: &Path) -> SyncResult<SyncFile> {
    match std::fs::read(settings_path(db)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| SyncError::Io(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SyncFile::default()),
        Err(e) => Err(io(e)),
    }
}

/// Write-then-rename, so a crash never leaves half a file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> SyncResult<()> {
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn save(db: &Path, file: &SyncFile) -> SyncResult<()> {
    write_atomically(&settings_path(db), &serde_json::to_vec_pretty(file).expect("plain data"), false)
}

fn read_token_file(db: &Path) -> SyncResult<Option<String>> {
    match std::fs::read_to_string(token_path(db)) {
        Ok(t) if !t.trim().is_empty() => Ok(Some(t.trim().to_string())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
    }
}

/// This database's device token and where it was found: the OS keyring first (when
/// registration put it there), then the user-only file (a fallback, or an older version's).
pub fn device_token(db: &Path) -> SyncResult<Option<(String, TokenStore)>> {
    find_token(db, load(db)?.token_key.as_deref())
}

fn find_token(db: &Path, token_key: Option<&str>) -> SyncResult<Option<(String, TokenStore)>> {
    let mut unreachable = None;
    if let Some(key) = token_key {
        match token_store::keyring_get(key, true) {
            Ok(Some(t)) => return Ok(Some((t, TokenStore::Keyring))),
            Ok(None) => {}
            Err(e) => unreachable = Some(e),
        }
    }
    match read_token_file(db)? {
        Some(t) => Ok(Some((t, TokenStore::File))),
        None => match unreachable {
            // Registered into a keyring that is switched off now: as good as no token.
            Some(KeyringError::Off) | None => Ok(None),
            Some(e) => Err(SyncError::Keyring(e.to_string())),
        },
    }
}

/// Keeps a freshly issued token: in the OS keyring when it takes it (and reads it back),
/// else in the user-only file. Returns the keyring key, `None` for the file.
fn keep_token(db: &Path, token: &str) -> SyncResult<Option<String>> {
    let key = uuid::Uuid::now_v7().to_string();
    match token_store::keyring_set(&key, token) {
        Ok(()) => Ok(Some(key)),
        Err(_) => {
            write_atomically(&token_path(db), token.as_bytes(), true)?;
            Ok(None)
        }
    }
}

/// One pusher at a time per process (the background loop and "sync now" may race).
static PUSH_LOCK: Mutex<()> = Mutex::new(());

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(10)).timeout(Duration::from_secs(60)).build()
}

/// Turns an HTTP outcome into JSON or the right [`SyncError`].
fn answer(result: std::result::Result<ureq::Response, ureq::Error>) -> SyncResult<Value> {
    match result {
        Ok(resp) => {
            let text = resp.into_string().map_err(|e| SyncError::Network(e.to_string()))?;
            serde_json::from_str(&text).map_err(|e| SyncError::Server { status: 200, message: format!("unreadable answer: {e}") })
        }
        Err(ureq::Error::Status(status, resp)) => {
            let body: ErrorBody = resp.into_string().ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
            let message = body.message.clone();
            let code = body.code.as_str();
            Err(match status {
                401 if code == wire::code::BAD_CREDENTIALS => SyncError::BadCredentials,
                401 if code == wire::code::DEVICE_REVOKED => SyncError::Revoked,
                401 => SyncError::Unauthorized,
                403 if code == wire::code::NOT_YOUR_CENTRE => SyncError::NotYourCentre(message),
                403 => SyncError::Forbidden(message),
                // Too many tries (per address or username): wait, not a verdict on the data.
                429 => SyncError::RateLimited(body.retry_after.unwrap_or(60)),
                426 => SyncError::TooOld(message),
                409 if code == wire::code::GAP => return Ok(serde_json::json!({ "gap": true, "expected_seq": body.expected_seq })),
                409 if code == wire::code::DIVERGED || code == wire::code::EPOCH => SyncError::Diverged(message),
                s if s >= 500 => SyncError::Server { status: s, message },
                // 408 is the server asking for patience, not a verdict on the data.
                408 => SyncError::Server { status, message },
                s => SyncError::Rejected { status: s, message },
            })
        }
        Err(ureq::Error::Transport(t)) => Err(SyncError::Network(t.to_string())),
    }
}

fn parse_instant(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&chrono::Utc))
}

impl Core {
    pub fn sync_settings(&self) -> SyncResult<SyncSettings> {
        Ok(load(self.path())?.settings)
    }

    /// Registers this desk with head office (the manager types head-office credentials
    /// once; only the device token is kept) and turns sync on.
    pub fn sync_register(
        &self,
        session: &Session,
        server_url: &str,
        centre: &str,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> SyncResult<SyncSettings> {
        session.require(Action::EditSettings)?;
        let url = crate::validate::secure_url(crate::error::Field::Url, server_url)?.trim_end_matches('/').to_string();
        let body = wire::RegisterRequest { username: username.into(), password: password.into(), centre: centre.into(), device_name: device_name.into() };
        let v = answer(agent().post(&format!("{url}{}", wire::REGISTER)).send_json(body))?;
        let token = v.get("token").and_then(Value::as_str).ok_or(SyncError::Server { status: 200, message: "no token in the answer".into() })?;
        // The pusher loads and saves `<db>.sync.json` too: not while it is being replaced.
        let _guard = PUSH_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let old_key = load(self.path()).ok().and_then(|f| f.token_key);
        let token_key = keep_token(self.path(), token)?;
        // A new device starts from seq 1 on the server: forget the old device's progress.
        let file = SyncFile {
            settings: SyncSettings { enabled: true, server_url: url, centre: centre.into(), device_id: v.get("device_id").and_then(Value::as_i64) },
            token_key: token_key.clone(),
            ..SyncFile::default()
        };
        save(self.path(), &file)?;
        // Only now that the new token is found is the previous one dropped: the file (an
        // older version's token, or the last fallback) once the keyring holds the new one,
        // and the previous registration's keyring entry. Failures here leave a stale,
        // unread copy behind, never the desk without its token.
        if token_key.is_some() {
            match std::fs::remove_file(token_path(self.path())) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    let _ = write_atomically(&token_path(self.path()), b"", true);
                }
                _ => {}
            }
        }
        if let Some(old) = old_key.filter(|k| Some(k) != token_key.as_ref()) {
            let _ = token_store::keyring_delete(&old);
        }
        // The log's first epoch, written now so that pushing never has to write.
        self.epoch_or_first()?;
        Ok(file.settings)
    }

    pub fn sync_set_enabled(&self, session: &Session, enabled: bool) -> SyncResult<SyncSettings> {
        session.require(Action::EditSettings)?;
        let _guard = PUSH_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = load(self.path())?;
        file.settings.enabled = enabled;
        save(self.path(), &file)?;
        Ok(file.settings)
    }

    pub fn sync_state(&self) -> SyncResult<SyncState> {
        let file = load(self.path())?;
        let last_seq = self.last_seq()?;
        // A keyring that does not answer still holds a registration; the pusher's error says why it waits.
        let token_store = match find_token(self.path(), file.token_key.as_deref()) {
            Ok(found) => found.map(|(_, s)| s),
            Err(_) => Some(TokenStore::Keyring),
        };
        let registered = token_store.is_some() && !file.settings.server_url.is_empty();
        let clock_warning = file.clock_skew_secs.filter(|s| s.abs() > SKEW_WARNING_SECS).map(|s| {
            let minutes = s.abs() / 60;
            let (zh_dir, en_dir) = if s > 0 { ("快", "ahead of") } else { ("慢", "behind") };
            format!("本机时钟比总部服务器{zh_dir}约 {minutes} 分钟，请校准电脑时间（同步照常进行）。 / This computer's clock is about {minutes} min {en_dir} the server's; please correct it (sync goes on).")
        });
        Ok(SyncState {
            enabled: file.settings.enabled,
            registered,
            server_url: file.settings.server_url.clone(),
            centre: file.settings.centre.clone(),
            last_success_at: file.last_success_at.clone(),
            last_attempt_at: file.last_attempt_at.clone(),
            acked_through_seq: file.acked_through_seq,
            ops_waiting: (last_seq - file.acked_through_seq).max(0),
            last_error: file.last_error.clone(),
            clock_skew_secs: file.clock_skew_secs,
            clock_warning,
            token_store: if registered { token_store } else { None },
            last_resync: file.last_resync.clone(),
        })
    }

    /// "Sync now": pushes everything waiting, right away (no backoff), and records the
    /// outcome for the panel. Any logged-in staff member may press it.
    pub fn sync_now(&self, _session: &Session) -> SyncResult<PushReport> {
        self.sync_push_pending()
    }

    fn last_seq(&self) -> SyncResult<i64> {
        Ok(self.read(|c| Ok(c.query_row("SELECT COALESCE(MAX(seq), 0) FROM change_log", [], |r| r.get(0))?))?)
    }

    /// Drains the change log to the server; what the background loop and "sync now" call.
    pub fn sync_push_pending(&self) -> SyncResult<PushReport> {
        let _guard = PUSH_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = load(self.path())?;
        file.last_attempt_at = Some(crate::db::instant_text(self.now()));
        let outcome = self.push_inner(&mut file);
        match &outcome {
            Ok(_) => {
                file.last_success_at = file.last_attempt_at.clone();
                file.last_error = None;
            }
            Err(e) => file.last_error = Some(e.problem(crate::db::instant_text(self.now()))),
        }
        save(self.path(), &file)?;
        outcome
    }

    fn push_inner(&self, file: &mut SyncFile) -> SyncResult<PushReport> {
        let (token, _) = find_token(self.path(), file.token_key.as_deref())?.ok_or(SyncError::NotRegistered)?;
        if file.settings.server_url.is_empty() {
            return Err(SyncError::NotRegistered);
        }
        // Registered before plain http was refused: the token is not sent in clear now.
        let base = crate::validate::secure_url(crate::error::Field::Url, &file.settings.server_url)?;
        let agent = agent();
        let bearer = format!("Bearer {token}");
        let status = |numbers: bool| -> SyncResult<StatusResponse> {
            let url = format!("{base}{}{}", wire::STATUS, if numbers { "?numbers=1" } else { "" });
            let v = answer(agent.get(&url).set("Authorization", &bearer).call())?;
            serde_json::from_value(v).map_err(|e| SyncError::Server { status: 200, message: format!("unreadable status: {e}") })
        };
        let mut epoch = self.epoch_or_first()?;
        // Ask first: after a crash, a reinstall or a lost answer the server knows best.
        let st = status(false)?;
        if let Some(server) = parse_instant(&st.server_time) {
            file.clock_skew_secs = Some((self.now() - server).num_seconds());
        }
        let mut acked = st.acked_through_seq;
        // Is the server's stream this log's? The op it holds at its acknowledged seq must
        // be the one this log has there, under the same epoch.
        let same_line = acked == 0 || (self.op_id_at(acked)?.is_some() && self.op_id_at(acked)? == st.acked_op_id);
        let same_epoch = st.epoch.as_deref().is_none_or(|e| e == epoch);
        // A stream that starts at seq 1 replaces whatever head office holds for the centre
        // (a re-registered desk, a new server): the desk's log is the truth.
        let mut rebase = acked == 0;
        let mut rewind_found = false;
        if !same_line || !same_epoch {
            // Rewound (a restored backup starts its own epoch; a lost tail is found here):
            // numbers head office has seen are never issued again, then the whole log goes.
            let numbers = status(true)?.numbers;
            if same_epoch {
                epoch = self.start_over("rewound", &numbers)?;
            } else {
                self.start_over_counters(&numbers)?;
            }
            acked = 0;
            rebase = true;
            rewind_found = true;
        }
        file.acked_through_seq = acked;
        let mut report = PushReport { sent: 0, applied: 0, duplicates: 0, batches: 0, acked_through_seq: acked, rebased: false };
        let mut gaps_in_a_row = 0;
        loop {
            let (ops, json) = self.batch_after(acked, &epoch, rebase)?;
            if ops == 0 {
                break;
            }
            let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(json.len() / 4), flate2::Compression::fast());
            gz.write_all(&json).map_err(io)?;
            let body = gz.finish().map_err(io)?;
            let v = answer(
                agent
                    .post(&format!("{base}{}", wire::PUSH))
                    .set("Authorization", &bearer)
                    .set("Content-Type", "application/json")
                    .set("Content-Encoding", "gzip")
                    .send_bytes(&body),
            )?;
            if v.get("gap").is_some() {
                // The server holds less than we thought (its store was restored?): resend from there.
                gaps_in_a_row += 1;
                let expected = v.get("expected_seq").and_then(Value::as_i64).unwrap_or(1);
                if gaps_in_a_row > 3 {
                    return Err(SyncError::Server { status: 409, message: format!("the server keeps expecting seq {expected}") });
                }
                acked = (expected - 1).max(0);
                continue;
            }
            gaps_in_a_row = 0;
            let answer: wire::PushResponse =
                serde_json::from_value(v).map_err(|e| SyncError::Server { status: 200, message: format!("unreadable answer: {e}") })?;
            if answer.acked_through_seq <= acked {
                return Err(SyncError::Server { status: 200, message: format!("the server did not advance past seq {acked}") });
            }
            if rebase {
                rebase = false;
                report.rebased = true;
            }
            if std::mem::take(&mut rewind_found) {
                file.last_resync = Some(SyncProblem {
                    code: "sync_resynced".into(),
                    zh: "本机的记录比总部已收到的旧（恢复过备份，或断电丢失了最新的记录）：已把本机的全部记录重新发给总部，总部的数据已换成本机的版本。收据号、会员号等编号从已用过的最大号往后接，不会重复。".into(),
                    en: "This desk's records were older than what head office had received (a restored backup, or the newest records lost in a power cut): the whole log was sent again and head office's data is now this desk's. Receipt, member and contract numbers continue after the highest already used, so none is issued twice.".into(),
                    transient: false,
                    at: crate::db::instant_text(self.now()),
                });
            }
            acked = answer.acked_through_seq;
            file.acked_through_seq = acked;
            report.sent += ops;
            report.batches += 1;
            report.applied += answer.applied;
            report.duplicates += answer.duplicates;
            report.acked_through_seq = acked;
            // Progress survives a crash in the middle of a long drain.
            save(self.path(), file)?;
        }
        Ok(report)
    }

    fn op_id_at(&self, seq: i64) -> SyncResult<Option<String>> {
        Ok(self.read(|c| Ok(rusqlite::OptionalExtension::optional(c.query_row("SELECT op_id FROM change_log WHERE seq = ?1", [seq], |r| r.get(0)))?))?)
    }

    /// The next batch after `acked` as the push body, cut at [`BATCH_OPS`] ops or
    /// [`BATCH_BYTES`] bytes.
    fn batch_after(&self, acked: i64, epoch: &str, rebase: bool) -> SyncResult<(usize, Vec<u8>)> {
        let ops = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, op_id, at, staff_id, entity, entity_id, op, subject_id, payload FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let mut rows = stmt.query(rusqlite::params![acked, BATCH_OPS as i64])?;
            let (mut ops, mut bytes) = (Vec::new(), 0usize);
            while let Some(r) = rows.next()? {
                let payload: String = r.get("payload")?;
                let size = payload.len() + 200;
                if !ops.is_empty() && bytes + size > BATCH_BYTES {
                    break;
                }
                bytes += size;
                ops.push(wire::Op {
                    seq: r.get("seq")?,
                    op_id: r.get("op_id")?,
                    at: r.get("at")?,
                    staff_id: r.get("staff_id")?,
                    entity: r.get("entity")?,
                    entity_id: r.get("entity_id")?,
                    op: r.get("op")?,
                    subject_id: r.get("subject_id")?,
                    payload: serde_json::from_str::<Value>(&payload).unwrap_or(Value::Null),
                });
            }
            Ok(ops)
        })?;
        let n = ops.len();
        let body = PushRequest { centre: None, epoch: Some(epoch.to_string()), rebase, ops };
        Ok((n, serde_json::to_vec(&body).map_err(|e| SyncError::Io(e.to_string()))?))
    }

    /// After a restore (which started its epoch already): raise the counters only.
    fn start_over_counters(&self, numbers: &std::collections::BTreeMap<String, i64>) -> SyncResult<()> {
        self.write_as(None, |w| crate::history::raise_counters(w, numbers).map(drop))?;
        Ok(())
    }
}

/// Starts, stops and wakes the background pusher.
#[derive(Default)]
pub struct PusherControl {
    stop: AtomicBool,
    wake: (Mutex<bool>, Condvar),
}

impl PusherControl {
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake();
    }
    /// Makes the loop try now (after a local write, or when the network comes back).
    pub fn wake(&self) {
        *self.wake.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.1.notify_all();
    }
    fn sleep(&self, d: Duration) {
        let guard = self.wake.0.lock().unwrap_or_else(|p| p.into_inner());
        let (mut woken, _) = self.wake.1.wait_timeout_while(guard, d, |w| !*w && !self.stop.load(Ordering::SeqCst)).unwrap_or_else(|p| p.into_inner());
        *woken = false;
    }
    /// Waits `d` or until stopped, leaving a wake-up to the pusher it is meant for.
    fn pause(&self, d: Duration) {
        let guard = self.wake.0.lock().unwrap_or_else(|p| p.into_inner());
        let _ = self.wake.1.wait_timeout_while(guard, d, |_| !self.stop.load(Ordering::SeqCst));
    }
}

/// The delay before retry number `failures` (1, 2, …): exponential from 2 s, capped at
/// 5 min, with full jitter so thirty centres coming back online do not knock together.
pub fn backoff(failures: u32) -> Duration {
    use rand::Rng;
    let cap = 300_000u64;
    let ceiling = (2_000u64 << failures.saturating_sub(1).min(16)).min(cap);
    Duration::from_millis(rand::thread_rng().gen_range(ceiling / 2..=ceiling))
}

/// The background loop the shell runs on its own thread until `control.stop()`.
/// While sync is off or unregistered it only sleeps.
pub fn run_pusher(core: &Core, control: &PusherControl, idle: Duration) {
    let mut failures = 0u32;
    while !control.stop.load(Ordering::SeqCst) {
        let on = core.sync_settings().map(|s| s.enabled).unwrap_or(false);
        let wait = if !on {
            idle
        } else {
            match core.sync_push_pending() {
                Ok(_) => {
                    failures = 0;
                    idle
                }
                Err(e) if e.is_transient() => {
                    failures += 1;
                    if failures == 1 {
                        log::warn!("head-office sync: {}", e.message(crate::Lang::En));
                    }
                    backoff(failures)
                }
                // A person must act; try again now and then in case they did.
                Err(e) => {
                    log::error!("head-office sync stopped: {}", e.message(crate::Lang::En));
                    Duration::from_secs(600).max(idle)
                }
            }
        };
        control.sleep(wait);
    }
}

/// One round of the parents' portal, as the CLI prints it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, TS)]
#[ts(export)]
pub struct PortalReport {
    /// Inbox items applied this round (accepted or refused) and of them refused.
    pub applied: usize,
    pub refused: usize,
    /// The highest inbox number applied, after the round.
    pub cursor: i64,
    /// Documents head office stored (newer than it had) and already had.
    pub published: usize,
    pub unchanged: usize,
}

/// Documents per publish call.
const PUBLISH_DOCS: usize = 200;

/// Settings → 家长端 at a glance.
#[derive(Debug, Clone, Serialize, PartialEq, TS)]
#[ts(export)]
pub struct PortalState {
    pub settings: crate::portal::PortalSettings,
    /// Head-office sync is registered and on (the portal travels with it).
    pub sync_on: bool,
    /// The address parents open (None before the desk is registered).
    pub portal_url: Option<String>,
    /// The last inbox item applied.
    pub cursor: i64,
    pub last_round_at: Option<String>,
    pub last_error: Option<SyncProblem>,
}

impl Core {
    /// One round of the parents' portal 家长端 (`portal.rs`): push what waits (head office
    /// must know this log's epoch and newest seq), take in the inbox after the desk's own
    /// cursor — waiting up to `wait_secs` for a first item (a long poll) — apply it in
    /// order, push the answers, and publish the documents.
    pub fn portal_sync(&self, wait_secs: u64) -> SyncResult<PortalReport> {
        let outcome = self.portal_round(wait_secs);
        let at = crate::db::instant_text(self.now());
        let _guard = PUSH_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = load(self.path())?;
        match &outcome {
            Ok(_) => {
                file.portal_last_round_at = Some(at);
                file.portal_last_error = None;
            }
            Err(e) => file.portal_last_error = Some(e.problem(at)),
        }
        save(self.path(), &file)?;
        outcome
    }

    /// Settings → 家长端: the settings, where parents go, and how the last round went.
    pub fn portal_state(&self, session: &Session) -> SyncResult<PortalState> {
        session.require(Action::EditSettings)?;
        let file = load(self.path())?;
        let s = &file.settings;
        let registered = !s.server_url.is_empty() && !s.centre.is_empty();
        Ok(PortalState {
            settings: self.portal_settings()?,
            sync_on: registered && s.enabled,
            portal_url: registered.then(|| format!("{}/p/{}/", s.server_url.trim_end_matches('/'), s.centre)),
            cursor: self.portal_cursor()?,
            last_round_at: file.portal_last_round_at.clone(),
            last_error: file.portal_last_error.clone(),
        })
    }

    fn portal_round(&self, wait_secs: u64) -> SyncResult<PortalReport> {
        use centredesk_protocol::portal::{InboxResponse, Publish, PublishResponse, INBOX, MAX_INBOX_WAIT_SECS, PUBLISH};
        self.sync_push_pending()?;
        let file = load(self.path())?;
        let (token, _) = find_token(self.path(), file.token_key.as_deref())?.ok_or(SyncError::NotRegistered)?;
        let base = crate::validate::secure_url(crate::error::Field::Url, &file.settings.server_url)?;
        let wait = wait_secs.min(MAX_INBOX_WAIT_SECS);
        let agent = ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(10)).timeout(Duration::from_secs(60 + wait)).build();
        let bearer = format!("Bearer {token}");
        let unreadable = |what: &str, e: serde_json::Error| SyncError::Server { status: 200, message: format!("unreadable {what}: {e}") };
        let mut report = PortalReport::default();
        let publish = |report: &mut PortalReport| -> SyncResult<()> {
            let epoch = self.epoch_or_first()?;
            let seq = self.last_seq()?;
            let today = self.today().to_string();
            let enabled = self.portal_settings()?.enabled;
            let last = load(self.path())?.portal_published;
            let scope = match last {
                // A new epoch (a restore) or a new day: everything again.
                Some((e, s, d)) if e == epoch && d == today && s <= seq => {
                    if s == seq {
                        return Ok(());
                    }
                    self.portal_scope_since(s)?
                }
                _ => crate::portal::Scope::All,
            };
            let mut docs = self.portal_documents_in(&scope)?;
            // Off: only the centre's document (saying so) leaves the desk.
            if !enabled {
                docs.truncate(1);
            }
            for chunk in docs.chunks(PUBLISH_DOCS) {
                let body = Publish { epoch: epoch.clone(), seq, docs: chunk.to_vec() };
                let v = answer(agent.post(&format!("{base}{PUBLISH}")).set("Authorization", &bearer).send_json(&body))?;
                let r: PublishResponse = serde_json::from_value(v).map_err(|e| unreadable("publish answer", e))?;
                report.published += r.stored;
                report.unchanged += r.kept;
            }
            let _guard = PUSH_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            let mut file = load(self.path())?;
            file.portal_published = Some((epoch, seq, today));
            save(self.path(), &file)
        };
        // Publish first, so parents read fresh documents while the poll waits.
        publish(&mut report)?;
        let cursor = self.portal_cursor()?;
        let v = answer(agent.get(&format!("{base}{INBOX}?after={cursor}&wait={wait}")).set("Authorization", &bearer).call())?;
        let inbox: InboxResponse = serde_json::from_value(v).map_err(|e| unreadable("inbox", e))?;
        let done = self.portal_apply(&inbox.items)?;
        report.applied = done.len();
        report.refused = done.iter().filter(|(_, o)| matches!(o, centredesk_protocol::requests::Outcome::Refused { .. })).count();
        report.cursor = self.portal_cursor()?;
        if !done.is_empty() {
            // The answers go back, and the documents they changed (a leave on the child's page).
            self.sync_push_pending()?;
            publish(&mut report)?;
        }
        Ok(report)
    }
}

/// The shell's second background loop: while sync is on and the portal is turned on, a
/// portal round after another, each waiting on head office's inbox for up to
/// `MAX_INBOX_WAIT_SECS`, so a parent's request lands in seconds; otherwise it sleeps.
pub fn run_portal(core: &Core, control: &PusherControl, idle: Duration) {
    let mut failures = 0u32;
    // Turned off: one more round tells head office (the centre's document says off).
    let mut was_on = true;
    while !control.stop.load(Ordering::SeqCst) {
        let sync_on = core.sync_settings().map(|s| s.enabled).unwrap_or(false);
        let on = sync_on && core.portal_settings().map(|p| p.enabled).unwrap_or(false);
        let wait = if !on && !(sync_on && was_on) {
            // Cheap to look: the manager turning the portal on is seen within seconds.
            idle.min(Duration::from_secs(2))
        } else {
            let wait_secs = if on { centredesk_protocol::portal::MAX_INBOX_WAIT_SECS } else { 0 };
            match core.portal_sync(wait_secs) {
                Ok(_) => {
                    failures = 0;
                    was_on = on;
                    Duration::from_millis(200)
                }
                Err(e) => {
                    failures += 1;
                    if failures == 1 {
                        log::warn!("parents' portal: {}", e.message(crate::Lang::En));
                    }
                    backoff(failures).max(Duration::from_secs(5))
                }
            }
        };
        if !sync_on {
            was_on = false;
        }
        control.pause(wait);
    }
}
