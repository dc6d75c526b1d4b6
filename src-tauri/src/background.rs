//! The desk's background work, each on a thread of its own so the window never waits for
//! it. After a quiet start (the first login and the first screens have the disk and the
//! CPU), at a lower priority: the file's full check (when `Core::open_desk` left it for
//! later), then the daily backup and the hourly upkeep (statuses, tiers); and the
//! notices. Head-office sync starts at once (it sends little). On a 100,000-member centre
//! the check and the backup each read the whole file and the upkeep walks every member:
//! seconds, not to be spent while the clerk logs in (measured: README → Performance).

use crate::AppState;
use centredesk_core::db::QUIET_START;
use centredesk_core::{Integrity, Lang};
use std::sync::Arc;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

pub(crate) fn start(app: &AppHandle, pusher: Arc<centredesk_core::sync::PusherControl>) {
    let handle = app.clone();
    std::thread::spawn(move || {
        let core = &handle.state::<AppState>().core;
        // The check waits too: a clean close came before it (see `Core::open_desk`), and
        // reading the whole file beside the first login made that login seconds long.
        std::thread::sleep(QUIET_START);
        lower_priority();
        if core.integrity() == Integrity::Unchecked {
            if let Err(e) = core.check_integrity() {
                damaged(&handle, e);
                return;
            }
        }
        loop {
            if let Err(e) = core.backup_if_due(DAY) {
                log::error!("automatic backup failed: {}", e.message(Lang::En));
            }
            // Member statuses for contracts that ended, member tiers.
            centredesk_core::upkeep::round(core);
            std::thread::sleep(HOUR);
        }
    });
    let handle = app.clone();
    let portal = pusher.clone();
    std::thread::spawn(move || centredesk_core::sync::run_pusher(&handle.state::<AppState>().core, &pusher, Duration::from_secs(30)));
    // The parents' portal: its own thread, since each round waits on head office's inbox.
    let handle = app.clone();
    std::thread::spawn(move || centredesk_core::sync::run_portal(&handle.state::<AppState>().core, &portal, Duration::from_secs(30)));
    let handle = app.clone();
    std::thread::spawn(move || {
        std::thread::sleep(QUIET_START);
        centredesk_core::notify::delivery::run_notifier(&handle.state::<AppState>().core, Duration::from_secs(60))
    });
}

/// The background check found the file damaged: the core now refuses every call, and the
/// window goes to the recovery screen, which says to start the desk again (the next
/// start checks first and offers the good backups).
fn damaged(app: &AppHandle, e: centredesk_core::CoreError) {
    let core = &app.state::<AppState>().core;
    log::error!("{} failed its check: {}", core.path().display(), e.message(Lang::En));
    crate::recovery::manage(app, core.path().to_path_buf(), core.clock(), e);
    if let Err(e) = app.emit("database-damaged", ()) {
        log::error!("cannot tell the window: {e}");
    }
}

/// This thread yields the CPU to the window's (nice 10). Linux only, where a thread has a
/// priority of its own; on Windows and macOS the thread keeps the normal priority (the
/// same call there would lower the whole app; not measured on either).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with who = 0 changes only the calling thread on Linux (each
    // thread is its own task); no memory is touched.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}
