//! The desktop shell: a window over the core. The UI calls one Tauri command, `call`,
//! with a command name and its arguments; `commands.rs` declares every command once
//! (one core call each). The shell itself only holds who is logged in and the UI
//! language, and hands files to the system (printing.rs). When the database will not
//! open, the window shows the recovery screen instead (recovery.rs); what goes wrong in
//! the background is written to a log file in the OS log directory.

mod background;
mod commands;
mod phone;
mod portal;
mod printing;
mod recovery;
mod single_instance;

use centredesk_core::error::AuthFailure;
use centredesk_core::sync::{PusherControl, SyncError, SyncSettings};
use centredesk_core::backup::BackupInfo;
use centredesk_core::{Core, CoreError, ErrorDto, Lang, Session};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Manager};
use ts_rs::TS;

pub use commands::NAMES as COMMANDS;

pub struct AppState {
    core: Arc<Core>,
    session: Mutex<Option<Session>>,
    /// The desk locked itself when idle: the session stays (and the screen behind the
    /// lock keeps its state) but every staff call is refused until `desk_unlock`.
    locked: Mutex<bool>,
    lang: Mutex<Lang>,
    prefs_path: PathBuf,
    /// Wakes or stops the background head-office pusher.
    pusher: Arc<PusherControl>,
    /// The coach's phone server, when Settings → 手机点名 has it on (phone.rs).
    phone: phone::PhoneServer,
}

type CmdResult<T> = Result<T, ErrorDto>;

impl AppState {
    fn lang(&self) -> Lang {
        *self.lang.lock().unwrap()
    }

    fn fail(&self, e: CoreError) -> ErrorDto {
        e.to_dto(self.lang())
    }

    /// Runs a core call as the logged-in staff member.
    /// Refused while the desk is locked, and once the staff member has been disabled
    /// (which also ends the session: the window goes back to the login screen).
    fn as_staff<T>(&self, f: impl FnOnce(&Core, &Session) -> centredesk_core::Result<T>) -> CmdResult<T> {
        let session = self.session.lock().unwrap().clone();
        let session = session.ok_or_else(|| self.fail(CoreError::Auth(AuthFailure::NotLoggedIn)))?;
        if *self.locked.lock().unwrap() {
            return Err(self.fail(CoreError::Auth(AuthFailure::Locked)));
        }
        if let Err(e) = self.core.session_check(&session) {
            if matches!(e, CoreError::Auth(_)) {
                self.logout();
            }
            return Err(self.fail(e));
        }
        f(&self.core, &session).map_err(|e| self.fail(e))
    }

    fn lock_desk(&self) -> CmdResult<()> {
        if self.session.lock().unwrap().is_some() {
            *self.locked.lock().unwrap() = true;
        }
        Ok(())
    }

    /// Only the locked session's own password opens the desk (another staff member
    /// logs out and in instead); wrong passwords count as at the login screen.
    fn unlock_desk(&self, password: &str) -> CmdResult<Session> {
        let session = self.session.lock().unwrap().clone();
        let session = session.ok_or_else(|| self.fail(CoreError::Auth(AuthFailure::NotLoggedIn)))?;
        let fresh = self.core.login(&session.username, password).map_err(|e| self.fail(e))?;
        *self.session.lock().unwrap() = Some(fresh.clone());
        *self.locked.lock().unwrap() = false;
        Ok(fresh)
    }

    /// Runs a sync call as the logged-in staff member.
    fn sync_as_staff<T>(&self, f: impl FnOnce(&Core, &Session) -> Result<T, SyncError>) -> CmdResult<T> {
        self.as_staff(|core, session| Ok(f(core, session)))?.map_err(|e| e.to_dto(self.lang()))
    }

    fn start_session(&self, result: centredesk_core::Result<Session>) -> CmdResult<Session> {
        let session = result.map_err(|e| self.fail(e))?;
        *self.session.lock().unwrap() = Some(session.clone());
        *self.locked.lock().unwrap() = false;
        Ok(session)
    }

    fn logout(&self) {
        *self.session.lock().unwrap() = None;
        *self.locked.lock().unwrap() = false;
    }

    fn app_info(&self) -> CmdResult<AppInfo> {
        Ok(AppInfo {
            needs_first_run: self.core.needs_first_run().map_err(|e| self.fail(e))?,
            centre_name: self.core.settings().map_err(|e| self.fail(e))?.centre_name,
            lang: self.lang(),
            db_path: self.core.path().display().to_string(),
            version: centredesk_core::VERSION.to_string(),
            session: self.session.lock().unwrap().clone(),
            locked: *self.locked.lock().unwrap(),
            now: centredesk_core::db::instant_text(self.core.now()),
            clock_start: self.core.clock_start().map(centredesk_core::db::instant_text),
            timezone: self.core.timezone().name().to_string(),
        })
    }

    /// Opens the database's folder (its backups beside it) or the log folder in the
    /// system's file manager, for support: what a clerk is asked to send.
    fn open_folder(&self, app: &AppHandle, which: SupportFolder) -> CmdResult<String> {
        use tauri_plugin_opener::OpenerExt;
        let dir = match which {
            SupportFolder::Data => self.core.path().parent().map(std::path::Path::to_path_buf).unwrap_or_default(),
            SupportFolder::Logs => app.path().app_log_dir().map_err(|e| self.fail(CoreError::Internal(e.to_string())))?,
        };
        let _ = std::fs::create_dir_all(&dir);
        let shown = dir.display().to_string();
        // No file manager (a bare test machine) is not an error: the path is shown.
        let _ = app.opener().open_path(&shown, None::<&str>);
        Ok(shown)
    }

    fn set_language(&self, lang: Lang) -> Lang {
        *self.lang.lock().unwrap() = lang;
        // A device preference, not centre data: kept beside the app's config, not synced.
        let _ = std::fs::create_dir_all(self.prefs_path.parent().unwrap_or(&self.prefs_path));
        let _ = std::fs::write(&self.prefs_path, serde_json::json!({ "lang": lang }).to_string());
        lang
    }

    fn sync_set_enabled(&self, enabled: bool) -> CmdResult<SyncSettings> {
        let settings = self.sync_as_staff(|core, s| core.sync_set_enabled(s, enabled))?;
        self.pusher.wake();
        Ok(settings)
    }

    /// Restores a backup; everyone logs in again afterwards.
    fn restore_backup(&self, file_name: &str) -> CmdResult<BackupInfo> {
        let kept_aside = self.as_staff(|core, s| core.restore_backup(s, file_name))?;
        self.logout();
        Ok(kept_aside)
    }
}

/// The folders support asks for.
#[derive(Debug, Clone, Copy, serde::Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub(crate) enum SupportFolder {
    Data,
    Logs,
}

/// What the window needs before anyone logs in.
#[derive(Serialize, TS)]
#[ts(export)]
pub(crate) struct AppInfo {
    needs_first_run: bool,
    centre_name: String,
    lang: Lang,
    db_path: String,
    version: String,
    session: Option<Session>,
    /// The desk is locked (idle): the window shows the lock screen over its page.
    locked: bool,
    /// The core's "now" (UTC): the UI reads dates from the core's clock, never the
    /// machine's, so "today" in a form is the desk's today.
    now: String,
    /// Set when the app was started with `--clock`: the header shows it.
    clock_start: Option<String>,
    timezone: String,
}

/// The one command the UI invokes: `command` by name from the table in commands.rs.
/// Before a database is open (the recovery screen) every command is refused with
/// `shell.recovery`, which is how the window knows to show that screen.
#[tauri::command(async)]
fn call(app: AppHandle, command: String, args: Option<serde_json::Value>) -> CmdResult<serde_json::Value> {
    let Some(state) = app.try_state::<AppState>() else { return Err(recovery::refusal(&app)) };
    let started = std::time::Instant::now();
    let out = commands::dispatch(&commands::Ctx { app: &app, state: &state }, &command, args.unwrap_or_default());
    // For support and for the benchmarks: which screens wait on the core, and how long.
    let took = started.elapsed();
    if took >= std::time::Duration::from_millis(100) {
        log::warn!("slow command {command}: {} ms", took.as_millis());
    }
    out
}

/// The value after `--name` on the command line.
fn arg_value(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// The database file: `--db PATH`, else `CENTREDESK_DB`, else the OS data directory.
fn db_path_from_args() -> PathBuf {
    arg_value("--db").map(PathBuf::from).unwrap_or_else(centredesk_core::default_db_path)
}

/// `--clock INSTANT` (tests and demos of a given day; see `OffsetClock`), else the
/// system clock. Only an explicit command-line option sets it.
fn clock_from_args() -> Result<Arc<dyn centredesk_core::Clock>, String> {
    match arg_value("--clock") {
        Some(text) => Ok(centredesk_core::OffsetClock::starting_at(centredesk_core::OffsetClock::parse_instant(&text)?)),
        None => Ok(Arc::new(centredesk_core::SystemClock)),
    }
}

/// The UI language the window was last set to (a device preference beside the app's
/// config), Chinese by default.
fn saved_lang(prefs_path: &std::path::Path) -> Lang {
    std::fs::read_to_string(prefs_path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("lang").and_then(|l| l.as_str()).map(Lang::parse))
        .unwrap_or_default()
}

/// Starts the desk over an open core: the state the commands use, and the background
/// work (background.rs).
pub(crate) fn start_desk(app: &AppHandle, core: Core) -> Result<(), String> {
    let prefs_path = app.path().app_config_dir().map_err(|e| e.to_string())?.join("prefs.json");
    let lang = saved_lang(&prefs_path);
    let pusher = Arc::new(PusherControl::default());
    log::info!(
        "CentreDesk {} opened {} (schema {}, checked {}) {} ms after start",
        centredesk_core::VERSION,
        core.path().display(),
        centredesk_core::db::schema_version(),
        if core.integrity() == centredesk_core::Integrity::Sound { "first" } else { "after opening" },
        since_start_ms()
    );
    let core = Arc::new(core);
    app.manage(AppState { core, session: Mutex::new(None), locked: Mutex::new(false), lang: Mutex::new(lang), prefs_path, pusher: pusher.clone(), phone: Default::default() });
    let state = app.state::<AppState>();
    state.phone.apply(&state.core);
    background::start(app, pusher);
    Ok(())
}

/// The log file: `centredesk.log` in the OS log directory (on Windows
/// `%LOCALAPPDATA%\<identifier>\logs`), rotated at 1 MB, five kept; also on stderr.
fn log_plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    use tauri_plugin_log::{RotationStrategy, Target, TargetKind};
    tauri_plugin_log::Builder::new()
        .clear_targets()
        .target(Target::new(TargetKind::LogDir { file_name: Some("centredesk".into()) }))
        .target(Target::new(TargetKind::Stderr))
        .level(log::LevelFilter::Info)
        .max_file_size(1_000_000)
        .rotation_strategy(RotationStrategy::KeepSome(5))
        .build()
}

/// When `run` began: the log says how long the start took, for support and the bench.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

fn since_start_ms() -> u128 {
    STARTED.get().map(|t| t.elapsed().as_millis()).unwrap_or(0)
}

pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
    // Some GPU drivers give WebKitGTK a blank window with the DMA-BUF renderer.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
    let db_path = db_path_from_args();
    let clock = match clock_from_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // One window per database: a second start brings the first one forward and ends.
    // Should the machinery itself fail (an unwritable folder), the desk still opens.
    let instance = match single_instance::claim(&db_path) {
        Ok(single_instance::Claim::First(instance)) => Some(instance),
        Ok(single_instance::Claim::AlreadyOpen) => {
            println!("CentreDesk is already open on {}: its window was brought to the front.", db_path.display());
            return;
        }
        Err(e) => {
            eprintln!("one window per database: {e} (starting anyway)");
            None
        }
    };
    // A panic anywhere goes to the log file as well as stderr.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        log::error!("panic: {info}");
        default_hook(info);
    }));
    tauri::Builder::default()
        .plugin(log_plugin())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            if let Some(instance) = instance {
                single_instance::serve(instance, app.handle().clone());
            }
            match Core::open_desk(&db_path, clock.clone()) {
                Ok(core) => start_desk(app.handle(), core)?,
                // Never a window that just disappears: the recovery screen says what is
                // wrong, in both languages, and offers the newest good backup.
                Err(e) => {
                    log::error!("cannot open {}: {}", db_path.display(), e.message(Lang::En));
                    recovery::manage(app.handle(), db_path.clone(), clock.clone(), e);
                }
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![call, recovery::recovery_info, recovery::recovery_restore, recovery::recovery_quit])
        .build(tauri::generate_context!())
        .expect("error while running CentreDesk")
        .run(|app, event| {
            // The process ends without dropping the core: close it here, so the next
            // start knows this one ended cleanly (see `Core::open_desk`).
            if let tauri::RunEvent::Exit = event {
                if let Some(state) = app.try_state::<AppState>() {
                    state.core.close_cleanly();
                    log::info!("closed {} cleanly", state.core.path().display());
                }
            }
        });
}
