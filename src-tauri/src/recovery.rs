//! The recovery screen: what the window shows when the database will not open (a
//! damaged file, a schema newer than this version, a folder it may not write), instead
//! of a window that just disappears. It says what is wrong in both languages, where the
//! file and the log are, and — for a damaged file — offers the good backups beside it;
//! choosing one keeps the damaged file aside and starts the desk on the backup
//! (`centredesk_core::backup::recover`). Three commands of its own: the desk's command
//! table needs an open database, this screen exists because there is none. It also
//! comes up when the background check (background.rs) finds the open file damaged;
//! then it asks for a restart instead of restoring under the open connections.

use centredesk_core::backup::BackupInfo;
use centredesk_core::{Clock, CoreError, ErrorDto, Lang};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Manager, State};
use ts_rs::TS;

pub(crate) struct Recovery {
    db_path: PathBuf,
    clock: Arc<dyn Clock>,
    problem: Mutex<CoreError>,
}

/// What the recovery screen shows.
#[derive(Serialize, TS)]
#[ts(export)]
pub(crate) struct RecoveryInfo {
    /// `database.damaged`, `internal.database`, …
    code: String,
    message_zh: String,
    message_en: String,
    db_path: String,
    /// Where the log file is, for support.
    log_dir: String,
    /// Good backups to restore from, newest first (only for a damaged file: an older
    /// backup is no answer to a database from a newer version).
    backups: Vec<BackupInfo>,
    /// The damage was found while the desk had the file open (the background check):
    /// nothing is restored under open connections; the next start checks first and
    /// offers the backups.
    restart_needed: bool,
}

#[derive(Serialize, TS)]
#[ts(export)]
pub(crate) struct RecoveryOutcome {
    /// The name the damaged file was kept under, beside the database.
    kept_as: String,
}

pub(crate) fn manage(app: &AppHandle, db_path: PathBuf, clock: Arc<dyn Clock>, problem: CoreError) {
    app.manage(Recovery { db_path, clock, problem: Mutex::new(problem) });
}

/// What `call` answers while there is no open database.
pub(crate) fn refusal(app: &AppHandle) -> ErrorDto {
    let message = app
        .try_state::<Recovery>()
        .map(|r| r.problem.lock().unwrap_or_else(|p| p.into_inner()).message(Lang::En))
        .unwrap_or_else(|| "the database is not open".into());
    ErrorDto { code: "shell.recovery".into(), field: None, message, problems: vec![] }
}

#[tauri::command]
pub(crate) fn recovery_info(app: AppHandle, state: State<'_, Recovery>) -> RecoveryInfo {
    let problem = state.problem.lock().unwrap_or_else(|p| p.into_inner());
    let damaged = matches!(*problem, CoreError::Damaged(_));
    let restart_needed = app.try_state::<crate::AppState>().is_some();
    RecoveryInfo {
        code: problem.code(),
        message_zh: problem.message(Lang::ZhCn),
        message_en: problem.message(Lang::En),
        db_path: state.db_path.display().to_string(),
        log_dir: app.path().app_log_dir().map(|p| p.display().to_string()).unwrap_or_default(),
        backups: if damaged && !restart_needed { centredesk_core::backup::recovery_candidates(&state.db_path) } else { vec![] },
        restart_needed,
    }
}

/// Restores the chosen backup in place of the damaged file and starts the desk on it;
/// the window then goes on to the login screen.
#[tauri::command]
pub(crate) fn recovery_restore(app: AppHandle, state: State<'_, Recovery>, file_name: String) -> Result<RecoveryOutcome, ErrorDto> {
    if app.try_state::<crate::AppState>().is_some() {
        return Err(ErrorDto { code: "shell.already_open".into(), field: None, message: "the desk is already open".into(), problems: vec![] });
    }
    let (core, kept_as) = centredesk_core::backup::recover(&state.db_path, &file_name, state.clock.clone()).map_err(|e| {
        log::error!("recovery from {file_name} failed: {}", e.message(Lang::En));
        // The screen shows both languages, so does its error.
        let dto = ErrorDto { message: format!("{} / {}", e.message(Lang::ZhCn), e.message(Lang::En)), ..e.to_dto(Lang::ZhCn) };
        *state.problem.lock().unwrap_or_else(|p| p.into_inner()) = e;
        dto
    })?;
    log::warn!("recovered {} from backup {file_name}; the damaged file is kept as {kept_as}", state.db_path.display());
    crate::start_desk(&app, core).map_err(|e| ErrorDto { code: "internal".into(), field: None, message: e, problems: vec![] })?;
    Ok(RecoveryOutcome { kept_as })
}

#[tauri::command]
pub(crate) fn recovery_quit(app: AppHandle) {
    app.exit(0);
}
