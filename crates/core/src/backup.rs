//! Backups 备份: copies of the database made with SQLite's online backup API while the
//! desk keeps working — on demand, and automatically once a day (the shell asks every
//! hour whether one is due), keeping the newest N. Every copy is checked with
//! `integrity_check` before it counts. Restoring first keeps the current data aside as
//! a backup of its own, then copies the chosen backup into the open database.

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{Conflict, CoreError, Field, Result};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use ts_rs::TS;

/// Scheduled and on-demand copies: `centredesk-YYYYMMDD-HHMMSS.db`.
const PREFIX: &str = "centredesk-";
/// The data as it was just before a restore: `before-restore-YYYYMMDD-HHMMSS.db`.
const BEFORE_RESTORE: &str = "before-restore-";
pub const DEFAULT_KEEP: i64 = 14;

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct BackupInfo {
    pub file_name: String,
    pub path: String,
    /// When the copy was made (UTC instant).
    pub made_at: String,
    pub bytes: i64,
    /// Made automatically (`auto`), on request (`manual`) or kept aside before a restore.
    pub kind: String,
}

fn io(e: std::io::Error) -> CoreError {
    CoreError::Internal(e.to_string())
}

/// Copies the database behind `src` into a new file at `dest` in one step (a consistent
/// snapshot even while others write), then checks the copy.
fn copy_checked(src: &Connection, dest: &Path) -> Result<()> {
    let partial = dest.with_extension("partial");
    remove_with_sidecars(&partial);
    let made = (|| -> Result<()> {
        {
            let mut out = Connection::open(&partial)?;
            {
                let backup = Backup::new(src, &mut out)?;
                match backup.step(-1)? {
                    StepResult::Done => {}
                    _ => return Err(CoreError::Internal("the backup did not finish (database busy)".into())),
                }
            }
            // The copy is one self-contained file: out of WAL mode, so neither this
            // connection nor the check leaves `-wal` / `-shm` files beside it.
            out.pragma_update(None, "journal_mode", "DELETE")?;
        }
        check(&partial)
    })();
    if let Err(e) = made {
        remove_with_sidecars(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, dest).map_err(io)?;
    remove_with_sidecars(&partial);
    Ok(())
}

/// Removes a database file and any journal SQLite left beside it.
fn remove_with_sidecars(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// `PRAGMA integrity_check` on a database file.
pub fn check(path: &Path) -> Result<()> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let verdict: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict != "ok" {
        return Err(CoreError::Internal(format!("{} failed its integrity check: {verdict}", path.display())));
    }
    Ok(())
}

fn info(path: &Path) -> Option<BackupInfo> {
    let file_name = path.file_name()?.to_str()?.to_string();
    let kind = if file_name.starts_with(BEFORE_RESTORE) {
        "before_restore"
    } else if file_name.starts_with(PREFIX) && file_name.ends_with("-auto.db") {
        "auto"
    } else if file_name.starts_with(PREFIX) {
        "manual"
    } else {
        return None;
    };
    if !file_name.ends_with(".db") {
        return None;
    }
    let meta = std::fs::metadata(path).ok()?;
    let made: chrono::DateTime<chrono::Utc> = meta.modified().ok()?.into();
    Some(BackupInfo {
        file_name,
        path: path.display().to_string(),
        made_at: made.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        bytes: meta.len() as i64,
        kind: kind.to_string(),
    })
}

impl Core {
    /// A `backups` folder beside the database file.
    pub fn backup_dir(&self) -> PathBuf {
        self.path().parent().map(Path::to_path_buf).unwrap_or_default().join("backups")
    }

    fn keep(&self) -> Result<i64> {
        Ok(self.settings()?.backup_keep)
    }

    fn stamp(&self) -> String {
        self.now().with_timezone(&self.timezone()).format("%Y%m%d-%H%M%S").to_string()
    }

    /// Copies the database to `dest` (the snapshot comes from a reader, so the desk is
    /// never blocked).
    fn backup_to(&self, dest: &Path) -> Result<()> {
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        self.read(|c| copy_checked(c, dest))
    }

    fn make_backup(&self, label: &str) -> Result<BackupInfo> {
        let dir = self.backup_dir();
        let mut dest = dir.join(format!("{PREFIX}{}{label}.db", self.stamp()));
        // Two in the same second (a click after the hourly check) get distinct names.
        let mut n = 1;
        while dest.exists() {
            n += 1;
            dest = dir.join(format!("{PREFIX}{}{label}-{n}.db", self.stamp()));
        }
        self.backup_to(&dest)?;
        self.prune()?;
        info(&dest).ok_or_else(|| CoreError::Internal("backup written but not found".into()))
    }

    /// Keeps the newest N automatic and manual copies (copies kept aside before a restore
    /// are never pruned).
    fn prune(&self) -> Result<()> {
        let keep = self.keep()?.max(1) as usize;
        let mut copies: Vec<BackupInfo> = self.list_backups()?.into_iter().filter(|b| b.kind != "before_restore").collect();
        copies.sort_by(|a, b| b.file_name.cmp(&a.file_name));
        for old in copies.iter().skip(keep) {
            std::fs::remove_file(&old.path).map_err(io)?;
        }
        Ok(())
    }

    fn list_backups(&self) -> Result<Vec<BackupInfo>> {
        let dir = self.backup_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
        let mut out: Vec<BackupInfo> = entries.filter_map(|e| e.ok()).filter_map(|e| info(&e.path())).collect();
        out.sort_by(|a, b| b.file_name.cmp(&a.file_name));
        Ok(out)
    }

    /// Backups on disk, newest first.
    pub fn backups(&self, session: &Session) -> Result<Vec<BackupInfo>> {
        session.require(Action::ManageBackups)?;
        self.list_backups()
    }

    /// Where the backups are kept (the panel shows it, so the manager can find them).
    pub fn backup_folder(&self, session: &Session) -> Result<String> {
        session.require(Action::ManageBackups)?;
        Ok(self.backup_dir().display().to_string())
    }

    /// "立即备份".
    pub fn backup_now(&self, session: &Session) -> Result<BackupInfo> {
        session.require(Action::ManageBackups)?;
        self.make_backup("")
    }

    /// The schedule: makes a backup when the newest automatic or manual one is older
    /// than `every` (or there is none). Called by the shell at start and hourly; not a
    /// staff action, so no session.
    pub fn backup_if_due(&self, every: Duration) -> Result<Option<BackupInfo>> {
        let newest = self.list_backups()?.into_iter().filter(|b| b.kind != "before_restore").map(|b| PathBuf::from(b.path)).next();
        let due = match newest.and_then(|p| std::fs::metadata(p).ok()).and_then(|m| m.modified().ok()) {
            Some(made) => SystemTime::now().duration_since(made).unwrap_or_default() >= every,
            None => true,
        };
        if due {
            self.make_backup("-auto").map(Some)
        } else {
            Ok(None)
        }
    }

    /// The whole database as one file where the manager chooses ("导出整个数据库").
    pub fn export_database(&self, session: &Session, dest: &Path) -> Result<()> {
        session.require(Action::ManageBackups)?;
        if dest == self.path() {
            return Err(CoreError::Conflict(Conflict::WouldOverwriteDatabase));
        }
        self.backup_to(dest)
    }

    /// Replaces the centre's data with a backup from the backup folder. The current data
    /// is first kept aside as `before-restore-….db` (returned). The restore itself is
    /// recorded in the (restored) change log.
    pub fn restore_backup(&self, session: &Session, file_name: &str) -> Result<BackupInfo> {
        session.require(Action::ManageBackups)?;
        let chosen = self
            .list_backups()?
            .into_iter()
            .find(|b| b.file_name == file_name)
            .ok_or(CoreError::NotFound(Field::Backup))?;
        check(Path::new(&chosen.path))?;
        let aside = self.backup_dir().join(format!("{BEFORE_RESTORE}{}.db", self.stamp()));
        self.backup_to(&aside)?;
        // The numbers issued up to now: they may have left the desk (printed receipts,
        // head office), so the restored counters are raised past them.
        let issued = self.read(crate::history::counters)?;
        self.restore_from(Path::new(&chosen.path))?;
        let record = serde_json::json!({ "from": chosen.file_name, "kept_aside": aside.file_name().map(|n| n.to_string_lossy().into_owned()) });
        // The log rewound: a new line of history (pushed again from seq 1 under a new
        // epoch), and counters that never go back. Attributed to the manager when their
        // account exists in the restored data (it may not in an older backup).
        let known: bool = self.read(|c| Ok(c.query_row("SELECT EXISTS (SELECT 1 FROM staff WHERE id = ?1)", [&session.staff_id], |r| r.get(0))?))?;
        self.write_as(known.then(|| session.staff_id.clone()), |w| {
            crate::history::raise_counters(w, &issued)?;
            crate::history::start_epoch(w, "restore")?;
            w.log("database", "main", "restore", None, &record)
        })?;
        info(&aside).ok_or_else(|| CoreError::Internal("kept-aside copy not found".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_files_count_as_backups() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["centredesk-20261125-101500.db", "centredesk-20261125-111500-auto.db", "before-restore-20261125-120000.db", "notes.txt", "centredesk-x.partial"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let mut kinds: Vec<(String, String)> =
            std::fs::read_dir(dir.path()).unwrap().filter_map(|e| info(&e.unwrap().path())).map(|b| (b.file_name, b.kind)).collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                ("before-restore-20261125-120000.db".to_string(), "before_restore".to_string()),
                ("centredesk-20261125-101500.db".to_string(), "manual".to_string()),
                ("centredesk-20261125-111500-auto.db".to_string(), "auto".to_string()),
            ]
        );
    }
}
