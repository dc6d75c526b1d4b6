//! Backups 备份: copies of the database made with SQLite's online backup API while the
//! desk keeps working — on demand, and automatically once a day (the shell asks every
//! hour whether one is due), keeping the newest N. Every copy is checked with
//! `integrity_check` before it counts, and is one file (a failed copy leaves nothing).
//! A second destination (a USB stick, a network folder) can be set: every copy is
//! written there too. Each outcome is kept in `<db>.backup.json` (beside the database,
//! never in it: a path on this PC is not centre data) so a failed or overdue backup is
//! shown on the manager's home screen. Restoring first keeps the current data aside as
//! a backup of its own, then copies the chosen backup into the open database; before a
//! schema upgrade the file is copied aside too (`before-upgrade-…`).

use crate::auth::{Action, Session};
use crate::db::Core;
use crate::error::{Conflict, CoreError, Field, Result};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use ts_rs::TS;

/// Scheduled and on-demand copies: `centredesk-YYYYMMDD-HHMMSS.db`.
const PREFIX: &str = "centredesk-";
/// The data as it was just before a restore: `before-restore-YYYYMMDD-HHMMSS.db`.
const BEFORE_RESTORE: &str = "before-restore-";
/// The data as it was just before a schema upgrade: `before-upgrade-vN-YYYYMMDD-HHMMSS.db`.
const BEFORE_UPGRADE: &str = "before-upgrade-";
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

/// Where and how backups go, and how the last ones went (`<db>.backup.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct BackupSettings {
    /// A second folder every copy is written to as well (empty: none).
    #[serde(default)]
    pub second_dir: String,
}

/// The last outcomes, for the panel and the home screen.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct BackupStatus {
    pub settings: BackupSettings,
    /// Where the copies are kept.
    pub folder: String,
    pub last_ok_at: Option<String>,
    /// The last failure (in both languages), cleared by the next success.
    pub last_error: Option<BackupProblem>,
    /// The second destination's last failure, cleared by its next success.
    pub second_error: Option<BackupProblem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct BackupProblem {
    pub at: String,
    pub zh: String,
    pub en: String,
}

/// A backup older than this is overdue (the schedule makes one a day).
pub const OVERDUE_HOURS: i64 = 48;

fn status_path(db: &Path) -> PathBuf {
    crate::sync::file_path(db, ".backup.json")
}

fn load_status(db: &Path) -> BackupStatus {
    std::fs::read(status_path(db)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn save_status(db: &Path, status: &BackupStatus) {
    let bytes = serde_json::to_vec_pretty(status).unwrap_or_default();
    let _ = crate::sync::write_atomically(&status_path(db), &bytes, false);
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

/// Keeps the newest `keep` automatic and manual copies in `dir` (copies kept aside
/// before a restore or an upgrade are never pruned).
fn prune(dir: &Path, keep: i64) -> Result<()> {
    // Only the kind matters here; the sort is by name, whose stamp orders the copies.
    let tz = chrono_tz::UTC;
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    let mut copies: Vec<BackupInfo> = entries.filter_map(|e| e.ok()).filter_map(|e| info(&e.path(), tz)).filter(|b| b.kind == "auto" || b.kind == "manual").collect();
    copies.sort_by(|a, b| b.file_name.cmp(&a.file_name));
    for old in copies.iter().skip(keep.max(1) as usize) {
        std::fs::remove_file(&old.path).map_err(io)?;
    }
    Ok(())
}

/// A backup folder that cannot be written, said as such.
fn folder_error(dir: &Path, e: std::io::Error) -> CoreError {
    CoreError::Conflict(Conflict::BackupFolder { dir: dir.display().to_string(), detail: e.to_string() })
}

/// A checked copy of the database behind `src` as `dir/name` (the folder made if needed).
pub(crate) fn copy_to_dir(src: &Connection, dir: &Path, name: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| folder_error(dir, e))?;
    let dest = dir.join(name);
    copy_checked(src, &dest)?;
    Ok(dest)
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

/// When a copy was made: the stamp in its name (written by the desk's clock, in the
/// centre's zone) rather than the file's time, which a copy to a stick or a wrong PC
/// clock changes. A name without one falls back to the file's time.
fn stamped_at(file_name: &str, tz: chrono_tz::Tz) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    let bytes = file_name.as_bytes();
    (0..bytes.len().saturating_sub(14)).find_map(|i| {
        let w = &bytes[i..i + 15];
        let shaped = w.iter().enumerate().all(|(k, b)| if k == 8 { *b == b'-' } else { b.is_ascii_digit() });
        if !shaped {
            return None;
        }
        let local = chrono::NaiveDateTime::parse_from_str(std::str::from_utf8(w).ok()?, "%Y%m%d-%H%M%S").ok()?;
        tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&chrono::Utc))
    })
}

fn info(path: &Path, tz: chrono_tz::Tz) -> Option<BackupInfo> {
    let file_name = path.file_name()?.to_str()?.to_string();
    let kind = if file_name.starts_with(BEFORE_RESTORE) {
        "before_restore"
    } else if file_name.starts_with(BEFORE_UPGRADE) {
        "before_upgrade"
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
    let made: chrono::DateTime<chrono::Utc> = match stamped_at(&file_name, tz) {
        Some(t) => t,
        None => meta.modified().ok()?.into(),
    };
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
            std::fs::create_dir_all(dir).map_err(|e| folder_error(dir, e))?;
        }
        self.read(|c| copy_checked(c, dest))
    }

    /// Makes a copy, then writes it to the second destination too; the outcome of
    /// each is recorded for the panel and the home screen.
    fn make_backup(&self, label: &str) -> Result<BackupInfo> {
        let mut status = load_status(self.path());
        let now = crate::db::instant_text(self.now());
        let problem = |e: &CoreError| BackupProblem { at: now.clone(), zh: e.message(crate::Lang::ZhCn), en: e.message(crate::Lang::En) };
        let made = self.make_copy(label);
        match &made {
            Ok(b) => {
                status.last_ok_at = Some(now.clone());
                status.last_error = None;
                if !status.settings.second_dir.trim().is_empty() {
                    match self.copy_to_second(Path::new(&b.path), Path::new(status.settings.second_dir.trim())) {
                        Ok(()) => status.second_error = None,
                        Err(e) => status.second_error = Some(problem(&e)),
                    }
                }
            }
            Err(e) => status.last_error = Some(problem(e)),
        }
        save_status(self.path(), &status);
        made
    }

    fn make_copy(&self, label: &str) -> Result<BackupInfo> {
        let dir = self.backup_dir();
        let mut dest = dir.join(format!("{PREFIX}{}{label}.db", self.stamp()));
        // Two in the same second (a click after the hourly check) get distinct names.
        let mut n = 1;
        while dest.exists() {
            n += 1;
            dest = dir.join(format!("{PREFIX}{}{label}-{n}.db", self.stamp()));
        }
        self.backup_to(&dest)?;
        prune(&dir, self.keep()?)?;
        info(&dest, self.timezone()).ok_or_else(|| CoreError::Internal("backup written but not found".into()))
    }

    /// Copies a checked backup into the second folder (through a temporary name, so a
    /// pulled-out USB stick leaves no half file), checks it there, prunes there.
    fn copy_to_second(&self, made: &Path, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| folder_error(dir, e))?;
        let name = made.file_name().ok_or_else(|| CoreError::Internal("backup without a name".into()))?;
        let partial = dir.join(name).with_extension("partial");
        let copied = std::fs::copy(made, &partial).map_err(|e| folder_error(dir, e)).and_then(|_| check(&partial));
        if let Err(e) = copied {
            remove_with_sidecars(&partial);
            return Err(e);
        }
        std::fs::rename(&partial, dir.join(name)).map_err(|e| folder_error(dir, e))?;
        prune(dir, self.keep()?)
    }

    /// How backups stand: settings, the folder (shown so the manager can find the
    /// copies), the last outcomes.
    pub fn backup_status(&self, session: &Session) -> Result<BackupStatus> {
        session.require(Action::ManageBackups)?;
        let mut s = load_status(self.path());
        s.folder = self.backup_dir().display().to_string();
        Ok(s)
    }

    /// Sets the second destination (empty to stop writing one). The folder must exist.
    pub fn backup_settings_set(&self, session: &Session, input: BackupSettings) -> Result<BackupStatus> {
        session.require(Action::ManageBackups)?;
        let dir = input.second_dir.trim().to_string();
        if !dir.is_empty() && !Path::new(&dir).is_dir() {
            return Err(CoreError::invalid(Field::BackupSecondDir, crate::error::Rule::Unknown));
        }
        let mut s = load_status(self.path());
        s.settings = BackupSettings { second_dir: dir };
        save_status(self.path(), &s);
        self.backup_status(session)
    }

    /// What the manager's home screen should say about backups, if anything: the last
    /// one failed, the second destination failed, or none is newer than 48 hours.
    pub(crate) fn backup_warning(&self, lang: crate::Lang) -> Option<String> {
        let s = load_status(self.path());
        if let Some(p) = &s.last_error {
            return Some(lang.pick(&format!("最近一次备份失败：{}", p.zh), &format!("The last backup failed: {}", p.en)));
        }
        if let Some(p) = &s.second_error {
            return Some(lang.pick(&format!("备份没能写到第二个位置：{}", p.zh), &format!("The backup could not be written to the second place: {}", p.en)));
        }
        let newest = self.list_backups().ok()?.into_iter().filter(|b| b.kind == "auto" || b.kind == "manual").map(|b| b.made_at).max();
        let overdue = match newest.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
            Some(t) => self.now() - t.with_timezone(&chrono::Utc) > chrono::Duration::hours(OVERDUE_HOURS),
            None => true,
        };
        // A desk that has just opened makes its day's backup after the quiet start: the
        // old newest backup is a warning only if that did not happen within minutes.
        let starting = self.desk_opened_at.is_some_and(|at| {
            self.now() - at < chrono::Duration::from_std(crate::db::QUIET_START).unwrap_or_default() + chrono::Duration::minutes(5)
        });
        (overdue && !starting).then(|| lang.pick("已超过两天没有备份：请在 设置 → 备份 立即备份，并检查自动备份。", "No backup for more than two days: back up now in Settings → Backups, and check the automatic backup."))
    }

    fn list_backups(&self) -> Result<Vec<BackupInfo>> {
        let dir = self.backup_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
        let tz = self.timezone();
        let mut out: Vec<BackupInfo> = entries.filter_map(|e| e.ok()).filter_map(|e| info(&e.path(), tz)).collect();
        // Newest first, whatever the kind.
        out.sort_by(|a, b| b.made_at.cmp(&a.made_at).then_with(|| b.file_name.cmp(&a.file_name)));
        Ok(out)
    }

    /// Backups on disk, newest first.
    pub fn backups(&self, session: &Session) -> Result<Vec<BackupInfo>> {
        session.require(Action::ManageBackups)?;
        self.list_backups()
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
        // The desk's clock, not the file system's: and a copy dated in the future (a PC
        // clock that was wrong once) does not count, or it would stop the schedule.
        let now = self.now();
        let newest = self
            .list_backups()?
            .into_iter()
            .filter(|b| b.kind == "auto" || b.kind == "manual")
            .filter_map(|b| chrono::DateTime::parse_from_rfc3339(&b.made_at).ok().map(|t| t.with_timezone(&chrono::Utc)))
            .filter(|made| *made <= now + chrono::Duration::minutes(5))
            .max();
        let due = match newest {
            Some(made) => (now - made).to_std().unwrap_or_default() >= every,
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
        info(&aside, self.timezone()).ok_or_else(|| CoreError::Internal("kept-aside copy not found".into()))
    }
}

/// What a desk whose database will not open can offer: the copies in the backup folder
/// beside it that pass the integrity check, newest first (the copies' times read in the
/// zone the newest of them names; Beijing time if none does).
pub fn recovery_candidates(db_path: &Path) -> Vec<BackupInfo> {
    let dir = db_path.parent().map(Path::to_path_buf).unwrap_or_default().join("backups");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    paths.reverse();
    let good: Vec<PathBuf> = paths.into_iter().filter(|p| info(p, chrono_tz::UTC).is_some() && check(p).is_ok()).collect();
    let tz = good
        .iter()
        .find_map(|p| {
            let c = Connection::open_with_flags(p, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
            let name: String = c.query_row("SELECT value FROM settings WHERE key = 'timezone'", [], |r| r.get(0)).ok()?;
            name.parse::<chrono_tz::Tz>().ok()
        })
        .unwrap_or(chrono_tz::Asia::Shanghai);
    let mut out: Vec<BackupInfo> = good.iter().filter_map(|p| info(p, tz)).collect();
    out.sort_by(|a, b| b.made_at.cmp(&a.made_at).then_with(|| b.file_name.cmp(&a.file_name)));
    out
}

/// Puts a good backup in the place of a database that will not open, and opens it. The
/// damaged file (and its journal) is kept as `<name>.damaged-<stamp>` for support. As
/// after any restore the log starts a new epoch (head office replaces its copy) and the
/// receipt and member numbers are raised past those the damaged file had issued, when
/// it can still be read that far (head office's numbers raise them again at the next
/// push). Returns the opened core and the name the damaged file was kept as.
pub fn recover(db_path: &Path, file_name: &str, clock: std::sync::Arc<dyn crate::Clock>) -> Result<(Core, String)> {
    let chosen = recovery_candidates(db_path).into_iter().find(|b| b.file_name == file_name).ok_or(CoreError::NotFound(Field::Backup))?;
    let issued = Connection::open_with_flags(db_path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ok()
        .and_then(|c| crate::history::counters(&c).ok())
        .unwrap_or_default();
    let stamp = clock.now().format("%Y%m%d-%H%M%S");
    let kept = format!("{}.damaged-{stamp}", db_path.file_name().and_then(|n| n.to_str()).unwrap_or("centredesk.db"));
    let kept_path = db_path.with_file_name(&kept);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let from = PathBuf::from(format!("{}{suffix}", db_path.display()));
        if from.exists() {
            std::fs::rename(&from, format!("{}{suffix}", kept_path.display())).map_err(io)?;
        }
    }
    let partial = db_path.with_extension("restoring");
    std::fs::copy(&chosen.path, &partial).map_err(io)?;
    std::fs::rename(&partial, db_path).map_err(io)?;
    // As the desk opens (the marker the damaged session left makes it check first).
    let core = Core::open_desk(db_path, clock)?;
    let record = serde_json::json!({ "from": chosen.file_name, "damaged_kept_as": kept });
    core.write_as(None, |w| {
        crate::history::raise_counters(w, &issued)?;
        crate::history::start_epoch(w, "restore")?;
        w.log("database", "main", "restore", None, &record)
    })?;
    Ok((core, kept))
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
            std::fs::read_dir(dir.path()).unwrap().filter_map(|e| info(&e.unwrap().path(), chrono_tz::UTC)).map(|b| (b.file_name, b.kind)).collect();
        kinds.sort();
        let at = |name: &str| stamped_at(name, chrono_tz::Asia::Shanghai).map(|t| t.to_rfc3339());
        assert_eq!(at("centredesk-20261125-101500-auto-2.db").as_deref(), Some("2026-11-25T02:15:00+00:00"));
        assert_eq!(at("before-upgrade-v14-20261125-101500.db").as_deref(), Some("2026-11-25T02:15:00+00:00"));
        assert_eq!(at("centredesk-2026-x.db"), None);
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
