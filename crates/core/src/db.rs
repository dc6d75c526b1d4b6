//! The SQLite file: opening, migrations, and the one write path.
//!
//! Every mutation runs inside [`Core::write`]: one `BEGIN IMMEDIATE` transaction in
//! which the domain code changes its tables and appends to `change_log`. A commit that
//! changed rows but logged nothing is refused, so no write can slip around the log.

use crate::auth::Session;
use crate::error::{CoreError, Result};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use serde::Serialize;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// Append-only, in the order they apply (file numbers are names, not the order): a
/// database made by any earlier version must open in this one. `tests/migrations.rs`
/// pins each file's content and this order, so a released migration is never edited.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_foundation.sql", include_str!("../migrations/0001_foundation.sql")),
    ("0002_search_label.sql", include_str!("../migrations/0002_search_label.sql")),
    ("0003_search_whole_names.sql", include_str!("../migrations/0003_search_whole_names.sql")),
    ("0004_timetable.sql", include_str!("../migrations/0004_timetable.sql")),
    ("0005_member_merge.sql", include_str!("../migrations/0005_member_merge.sql")),
    ("0008_goods_points.sql", include_str!("../migrations/0008_goods_points.sql")),
    ("0006_report_indexes.sql", include_str!("../migrations/0006_report_indexes.sql")),
    ("0010_notify_delivery.sql", include_str!("../migrations/0010_notify_delivery.sql")),
    ("0009_feedback.sql", include_str!("../migrations/0009_feedback.sql")),
    ("0011_recent_payments_index.sql", include_str!("../migrations/0011_recent_payments_index.sql")),
    ("0012_report_caches.sql", include_str!("../migrations/0012_report_caches.sql")),
    ("0013_tiers.sql", include_str!("../migrations/0013_tiers.sql")),
    ("0014_cash_handins.sql", include_str!("../migrations/0014_cash_handins.sql")),
    ("0015_contract_ends.sql", include_str!("../migrations/0015_contract_ends.sql")),
    ("0016_leave_withdrawn.sql", include_str!("../migrations/0016_leave_withdrawn.sql")),
    ("0017_sync_epochs.sql", include_str!("../migrations/0017_sync_epochs.sql")),
    ("0018_notice_resends.sql", include_str!("../migrations/0018_notice_resends.sql")),
    ("0019_return_visits.sql", include_str!("../migrations/0019_return_visits.sql")),
    ("0020_churn_flags.sql", include_str!("../migrations/0020_churn_flags.sql")),
    ("0021_group_messages.sql", include_str!("../migrations/0021_group_messages.sql")),
    ("0022_member_consultants.sql", include_str!("../migrations/0022_member_consultants.sql")),
    ("0023_phones_and_requests.sql", include_str!("../migrations/0023_phones_and_requests.sql")),
    ("0024_portal.sql", include_str!("../migrations/0024_portal.sql")),
    ("0025_portal_trials.sql", include_str!("../migrations/0025_portal_trials.sql")),
    ("0026_portal_signouts.sql", include_str!("../migrations/0026_portal_signouts.sql")),
];

fn migrations() -> Vec<M<'static>> {
    MIGRATIONS
        .iter()
        .map(|(name, sql)| match *name {
            // 0003 rebuilds the search terms in Rust.
            "0003_search_whole_names.sql" => M::up_with_hook(sql, |tx: &rusqlite::Transaction| {
                crate::search::reindex_all(tx).map_err(|e| rusqlite_migration::HookError::Hook(e.to_string()))
            }),
            _ => M::up(sql),
        })
        .collect()
}

/// Version of the JSON payloads in `change_log` (declared in the protocol crate, which
/// head office folds by). Bump there when a payload's shape changes.
pub const PAYLOAD_VERSION: u64 = centredesk_protocol::PAYLOAD_VERSION;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Where a clock set with `--clock` started (None for the system clock): the window
    /// shows it so a desk never runs on a simulated clock unnoticed.
    fn fixed_start(&self) -> Option<DateTime<Utc>> {
        None
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved: tests and the demo generator (which writes a
/// year of history through the ordinary service API) use it.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Arc<ManualClock> {
        Arc::new(ManualClock(Mutex::new(at)))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A clock that starts at a chosen instant and then runs at the real rate. The app and
/// the CLI use it only when started with `--clock INSTANT` (an explicit command-line
/// option, never an environment variable, so an installed app cannot pick it up by
/// accident; the window then shows a "模拟时钟" badge). The end-to-end suite runs the real
/// binary this way so that it passes at any hour, on any date, in any machine time zone.
pub struct OffsetClock {
    start: DateTime<Utc>,
    since: std::time::Instant,
}

impl OffsetClock {
    pub fn starting_at(start: DateTime<Utc>) -> Arc<OffsetClock> {
        Arc::new(OffsetClock { start, since: std::time::Instant::now() })
    }

    /// Parses the `--clock` option: an RFC 3339 instant (`2026-12-02T19:30:00Z`,
    /// `2026-12-03T03:30:00+08:00`).
    pub fn parse_instant(text: &str) -> std::result::Result<DateTime<Utc>, String> {
        DateTime::parse_from_rfc3339(text.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("--clock wants an RFC 3339 instant such as 2026-12-02T19:30:00Z ({text:?}: {e})"))
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.since.elapsed()).unwrap_or_default();
        self.start + elapsed
    }

    fn fixed_start(&self) -> Option<DateTime<Utc>> {
        Some(self.start)
    }
}

pub fn instant_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The first instant of a business date in the centre's time zone, in UTC: a range of
/// business dates [from, to] is the instants [day_start(from), day_start(to + 1)).
pub fn day_start(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone;
    let local = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| local.and_utc())
}

/// The core: one writer connection, a few readers, the clock and the centre's time zone.
pub struct Core {
    path: PathBuf,
    // Readers before the writer: fields drop in this order, and only the last connection
    // to close checkpoints the WAL into the file and deletes it — a read-only reader
    // cannot, so closing the writer last leaves one self-contained file on exit.
    readers: Mutex<Vec<Connection>>,
    writer: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    timezone: RwLock<chrono_tz::Tz>,
    /// Wrong passwords in a row per username (see `auth::login`). In memory: a restart
    /// forgets them, which costs an attacker a restart per five tries at the desk itself.
    pub(crate) login_failures: Mutex<std::collections::HashMap<String, crate::auth::LoginFailures>>,
    /// The phone pairing code the desk shows, if one is open (devices.rs). In memory: a
    /// restart closes it.
    pub(crate) phone_pairing: Mutex<Option<crate::devices::PairingCode>>,
    /// Whether the file has passed its full check since it was opened (see `open_desk`).
    integrity: Mutex<Integrity>,
    /// `<db>.in-use` while the desk has the file open (see `open_desk`); removed when it
    /// closes cleanly.
    in_use_marker: Option<PathBuf>,
    /// When a desk window opened the file (`open_desk`): its own daily backup runs
    /// `QUIET_START` later, so an old newest backup is not yet a warning.
    pub(crate) desk_opened_at: Option<DateTime<Utc>>,
}

/// How long after the desk window opens its background work starts (the deferred full
/// check, the daily backup, the upkeep, the notices): the first login and screens have
/// the disk and the CPU (src-tauri/src/background.rs).
pub const QUIET_START: std::time::Duration = std::time::Duration::from_secs(20);

/// How far the open file is known to be sound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    /// Opened after a clean close; `Core::check_integrity` has not finished yet.
    Unchecked,
    /// `PRAGMA quick_check` passed.
    Sound,
    /// The check failed: every read and write is refused from then on.
    Damaged(String),
}

/// Each connection's page cache, in KiB (SQLite's default is 2 MB). It is the app's
/// memory: on a 100,000-member centre an hour of searching and opening members filled
/// five 32 MB caches (the app process at 226 MiB PSS, issue 20's target 50). 8 MB holds a
/// report's hot index pages; the rest come from the OS's file cache, a copy each.
/// Measured in the window (README → Performance); the reports' figures there are from
/// the 32 MB caches and still to be re-measured (`bench reports`).
const CACHE_KIB: i64 = 8 * 1024;
/// Readers kept open between reads (each with its cache); more are opened when reads
/// overlap and closed after.
const POOLED_READERS: usize = 2;

fn configure_reader(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    Ok(())
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is on the disk when it returns (with WAL, NORMAL may lose the newest
    // commits in a power cut — a printed receipt whose payment is gone). Measured in the
    // roll-call and payment benchmarks (README → Performance).
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Room for every write statement of a roll call, a payment or a merge (see
    // `WriteTx::execute`).
    conn.set_prepared_statement_cache_capacity(128);
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    Ok(())
}

impl Core {
    pub fn open(path: &Path) -> Result<Core> {
        Core::open_with_clock(path, Arc::new(SystemClock))
    }

    /// Opens and checks the whole file first (`PRAGMA quick_check`): the CLI, the
    /// tests, the demo, a recovery. The desk window uses `open_desk`.
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Core> {
        Core::open_checking(path, clock, true)
    }

    /// Opens the database for the desk window. The full check reads every page (seconds
    /// on a large centre, before the window could show its login form), so it runs
    /// before opening only when the last session did not close cleanly — a crash, a
    /// power cut, a killed process, or damage found then: `<db>.in-use` is still there.
    /// After a clean close, damage can only come from the disk or another program; the
    /// desk then opens at once and runs `check_integrity` on a background thread, and
    /// a failed check refuses every read and write from that moment (and leaves the
    /// marker, so the next start checks first and offers the backups).
    pub fn open_desk(path: &Path, clock: Arc<dyn Clock>) -> Result<Core> {
        let marker = in_use_marker(path);
        let mut core = Core::open_checking(path, clock, marker.exists())?;
        std::fs::write(&marker, format!("CentreDesk {} opened this database at {}\n", crate::VERSION, core.now().to_rfc3339()))
            .map_err(|e| CoreError::Internal(format!("cannot write {}: {e}", marker.display())))?;
        core.in_use_marker = Some(marker);
        core.desk_opened_at = Some(core.now());
        Ok(core)
    }

    /// The full check `open_desk` left for later; safe beside the desk's reads and
    /// writes (its own read-only connection, a WAL snapshot, a small page cache).
    pub fn check_integrity(&self) -> Result<()> {
        let verdict = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                c.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
                quick_check(&c)
            });
        let mut integrity = self.integrity.lock().unwrap_or_else(|p| p.into_inner());
        match verdict {
            Ok(()) => {
                *integrity = Integrity::Sound;
                Ok(())
            }
            Err(verdict) => {
                *integrity = Integrity::Damaged(verdict.clone());
                Err(damaged(&self.path, &verdict))
            }
        }
    }

    pub fn integrity(&self) -> Integrity {
        self.integrity.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn refuse_if_damaged(&self) -> Result<()> {
        match &*self.integrity.lock().unwrap_or_else(|p| p.into_inner()) {
            Integrity::Damaged(verdict) => Err(damaged(&self.path, verdict)),
            _ => Ok(()),
        }
    }

    /// The desk is closing (the window's exit): the WAL folded into the file, and — if
    /// nothing was found damaged — the in-use marker removed, so the next start opens at
    /// once. The shell calls it because the process exits without dropping the core.
    pub fn close_cleanly(&self) {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
            log::warn!("closing: checkpoint failed: {e}");
        }
        drop(conn);
        self.release_marker();
    }

    fn release_marker(&self) {
        if let (Some(marker), false) = (&self.in_use_marker, matches!(self.integrity(), Integrity::Damaged(_))) {
            let _ = std::fs::remove_file(marker);
        }
    }

    fn open_checking(path: &Path, clock: Arc<dyn Clock>, check_first: bool) -> Result<Core> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| CoreError::Internal(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
        let mut writer = Connection::open(path).map_err(|e| damaged(path, &e.to_string()))?;
        configure(&writer).map_err(|e| match e {
            CoreError::Db(e) if is_not_a_database(&e) => damaged(path, &e.to_string()),
            e => e,
        })?;
        // A damaged file is said as such before anything touches it. (Reading the schema
        // below still refuses a file that is not a database at all.)
        if check_first {
            quick_check(&writer).map_err(|verdict| damaged(path, &verdict))?;
        }
        // Before an upgrade changes the schema, a copy of the file as it was (kept like a
        // backup, `before-upgrade-v<N>-….db`), so a failed or regretted upgrade loses nothing.
        let current: i64 = writer.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > 0 && (current as usize) < migrations().len() {
            let stamp = clock.now().format("%Y%m%d-%H%M%S");
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default().join("backups");
            crate::backup::copy_to_dir(&writer, &dir, &format!("before-upgrade-v{current}-{stamp}.db"))?;
        }
        migrate(&mut writer)?;
        let core = Core {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            clock,
            timezone: RwLock::new(chrono_tz::Asia::Shanghai),
            login_failures: Mutex::new(Default::default()),
            phone_pairing: Mutex::new(None),
            integrity: Mutex::new(if check_first { Integrity::Sound } else { Integrity::Unchecked }),
            in_use_marker: None,
            desk_opened_at: None,
        };
        core.reload_timezone()?;
        Ok(core)
    }

    /// For the benchmarks only: `centredesk bench rollcall` times the same writes under
    /// `synchronous=NORMAL` next to the shipped `FULL` to show what the durability costs,
    /// and `bench search` writes its generated dataset this way. Nothing else calls it: a
    /// desk that used it could lose a printed receipt's payment in a power cut.
    #[doc(hidden)]
    pub fn benchmark_relax_durability(&self, relaxed: bool) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        conn.pragma_update(None, "synchronous", if relaxed { "NORMAL" } else { "FULL" })?;
        Ok(())
    }

    /// For the benchmarks only: `bench reports` writes its years of history with direct
    /// SQL and no search documents; the window benchmark reaches members through the
    /// search box, so it builds them once here (derived rows, as the migration that
    /// changed the terms did: no change-log entries). Returns the members indexed.
    #[doc(hidden)]
    pub fn benchmark_search_docs(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM search_doc", [], |r| r.get(0))?))
    }

    /// Builds every search document (see `benchmark_search_docs`).
    #[doc(hidden)]
    pub fn benchmark_rebuild_search(&self) -> Result<i64> {
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = Transaction::new(&mut conn, TransactionBehavior::Immediate)?;
        crate::search::reindex_all(&tx)?;
        let members: i64 = tx.query_row("SELECT COUNT(*) FROM members", [], |r| r.get(0))?;
        tx.commit()?;
        Ok(members)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies a database file into the open database (SQLite's backup API in reverse),
    /// brings it to the current schema, and drops pooled readers so every later read
    /// sees it. Used by `restore_backup`, which keeps the current data aside first.
    pub(crate) fn restore_from(&self, src: &Path) -> Result<()> {
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        conn.restore(rusqlite::MAIN_DB, src, None::<fn(rusqlite::backup::Progress)>)?;
        migrate(&mut conn)?;
        drop(conn);
        self.readers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        self.reload_timezone()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The clock this core runs on (for a second core over the same file).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The instant a `--clock` clock started at, if the core runs on one.
    pub fn clock_start(&self) -> Option<DateTime<Utc>> {
        self.clock.fixed_start()
    }

    pub fn timezone(&self) -> chrono_tz::Tz {
        *self.timezone.read().unwrap()
    }

    /// Today's business date in the centre's time zone.
    pub fn today(&self) -> NaiveDate {
        self.business_date(self.now())
    }

    /// Now, to the minute, in the centre's time zone ("2026-12-03 09:30"): what printed
    /// sheets and exported files say about when they were made.
    pub(crate) fn local_minute(&self) -> String {
        self.now().with_timezone(&self.timezone()).format("%Y-%m-%d %H:%M").to_string()
    }

    pub fn business_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone()).date_naive()
    }

    pub(crate) fn reload_timezone(&self) -> Result<()> {
        let name: Option<String> = self.read(|c| {
            Ok(c.query_row("SELECT value FROM settings WHERE key = 'timezone'", [], |r| r.get(0))
                .ok())
        })?;
        if let Some(tz) = name.and_then(|n| n.parse::<chrono_tz::Tz>().ok()) {
            *self.timezone.write().unwrap() = tz;
        }
        Ok(())
    }

    /// Runs `f` on a read connection (WAL lets reads proceed beside the writer).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.refuse_if_damaged()?;
        let conn = match self.readers.lock().unwrap().pop() {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
                )?;
                configure_reader(&c)?;
                c
            }
        };
        let out = f(&conn);
        let mut pool = self.readers.lock().unwrap();
        if pool.len() < POOLED_READERS {
            pool.push(conn);
        }
        out
    }

    /// The one write path: `f` runs in a single immediate transaction together with its
    /// change-log entries, attributed to `session`'s staff member.
    pub(crate) fn write<T>(&self, session: &Session, f: impl FnOnce(&mut WriteTx) -> Result<T>) -> Result<T> {
        self.transact(Some(session.staff_id.clone()), true, f)
    }

    /// A write attributed to `staff_id` without a session (first run creating the
    /// manager, the background upkeep): nobody's account is checked.
    pub(crate) fn write_as<T>(&self, staff_id: Option<String>, f: impl FnOnce(&mut WriteTx) -> Result<T>) -> Result<T> {
        self.transact(staff_id, false, f)
    }

    fn transact<T>(&self, staff_id: Option<String>, check_staff: bool, f: impl FnOnce(&mut WriteTx) -> Result<T>) -> Result<T> {
        self.refuse_if_damaged()?;
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = conn.total_changes();
        let tx = Transaction::new(&mut conn, TransactionBehavior::Immediate)?;
        if let (true, Some(id)) = (check_staff, &staff_id) {
            // A staff member disabled while logged in writes nothing more (checked inside
            // the transaction, so no write slips between the check and the commit).
            crate::auth::require_session_staff(&tx, id)?;
        }
        let mut w = WriteTx { tx, staff_id, now: self.now(), today: NaiveDate::MIN, logged: 0, moved: Moved::default() };
        w.today = self.business_date(w.now);
        let out = f(&mut w)?;
        w.run_follow_ups()?;
        let changed = w.tx.total_changes() > before;
        if changed && w.logged == 0 {
            return Err(CoreError::Internal("a write changed rows without a change-log entry".into()));
        }
        w.tx.commit()?;
        Ok(out)
    }

    /// Caps the database at its current size plus `spare_pages` (SQLite's
    /// `max_page_count`): a write that needs more fails as a full disk does, with
    /// SQLITE_FULL. For the tests and for support reproducing a full disk; not a staff
    /// action. Returns the cap.
    #[doc(hidden)]
    pub fn cap_file_pages(&self, spare_pages: i64) -> Result<i64> {
        let conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now: i64 = conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
        // `PRAGMA max_page_count = N` answers with the cap it set.
        Ok(conn.pragma_update_and_check(None, "max_page_count", now + spare_pages, |r| r.get(0))?)
    }
}

/// `PRAGMA quick_check` on `conn`'s file: Ok, or what SQLite found (or why it could not
/// read the file).
fn quick_check(conn: &Connection) -> std::result::Result<(), String> {
    match conn.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0)) {
        Ok(verdict) if verdict == "ok" => Ok(()),
        Ok(verdict) => Err(verdict),
        Err(e) => Err(e.to_string()),
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        self.release_marker();
    }
}

/// `<db>.in-use`: present while a desk has the file open, and after it did not close
/// cleanly.
pub fn in_use_marker(db_path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.in-use", db_path.display()))
}

fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt))
}

/// The file and the start of what SQLite said (a failed check lists up to a hundred
/// problems: the whole list goes to the log, the screen shows the first).
fn damaged(path: &Path, detail: &str) -> CoreError {
    const SHOWN: usize = 160;
    let detail = detail.trim_start_matches("*** in database main ***").trim();
    let shown: String = detail.chars().take(SHOWN).collect();
    if shown.len() < detail.len() {
        log::error!("{} is damaged: {detail}", path.display());
        return CoreError::Damaged(format!("{}: {shown}…", path.display()));
    }
    CoreError::Damaged(format!("{}: {detail}", path.display()))
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let known = migrations().len();
    let migrations = Migrations::new(migrations());
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > known as i64 {
        return Err(CoreError::Internal(format!(
            "this database was made by a newer CentreDesk (schema {current}, this version knows {known})"
        )));
    }
    migrations
        .to_latest(conn)
        .map_err(|e| CoreError::Internal(format!("migration failed, database unchanged: {e}")))
}

pub fn schema_version() -> usize {
    migrations().len()
}

/// A transaction on the writer. Domain code reads and writes through it (it derefs to
/// the connection) and must [`log`](WriteTx::log) each change it makes.
pub struct WriteTx<'c> {
    tx: Transaction<'c>,
    staff_id: Option<String>,
    now: DateTime<Utc>,
    today: NaiveDate,
    logged: u32,
    /// What this transaction did to money and points, for the follow-ups run just
    /// before it commits (`WriteTx::run_follow_ups`).
    moved: Moved,
}

/// Contracts whose paid amount (or standing) changed, with the reason a take-back of
/// their referral rewards records; members whose money or points changed.
#[derive(Default)]
struct Moved {
    contracts: std::collections::BTreeMap<String, String>,
    members: std::collections::BTreeSet<String>,
    /// Members whose points (and nothing else) moved: only a points-basis tier follows.
    points: std::collections::BTreeSet<String>,
}

impl Deref for WriteTx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.tx
    }
}

impl WriteTx<'_> {
    /// Runs a write statement prepared once per connection: preparing an insert into a
    /// table with triggers (the report caches of migration 0012; `activity_hours` on every
    /// change-log row) compiles each trigger's program, which made a roll call of 40
    /// two to three times slower when every statement was prepared afresh.
    pub fn execute<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.tx.prepare_cached(sql)?.execute(params)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }
    pub fn now_text(&self) -> String {
        instant_text(self.now)
    }
    pub fn today(&self) -> NaiveDate {
        self.today
    }
    /// Marks money moved on a member (and a contract): called by the one function that
    /// writes payment ledger rows and the one that writes points, so no operation can
    /// forget what follows from it.
    pub(crate) fn money_moved(&mut self, member_id: &str, contract_id: Option<&str>, reason: &str) {
        self.moved.members.insert(member_id.to_string());
        if let Some(k) = contract_id {
            self.moved.contracts.insert(k.to_string(), reason.to_string());
        }
    }

    /// Marks points moved on a member: called by the one function that writes points.
    /// Only a tier on the points basis depends on them, so a roll call's attendance
    /// points do not re-evaluate 40 spend-basis tiers.
    pub(crate) fn points_moved(&mut self, member_id: &str) {
        self.moved.points.insert(member_id.to_string());
    }

    /// What follows from money and points moving, run once just before commit, whatever
    /// the operation was (payment, reversal, refund, goods sold or returned, points
    /// earned): the referral rewards of each contract touched are settled, then every
    /// member touched (the referrers paid included) has their tier re-evaluated. Both
    /// are idempotent; settling may touch referrers, so it repeats until nothing new.
    fn run_follow_ups(&mut self) -> Result<()> {
        for _ in 0..8 {
            let mut moved = std::mem::take(&mut self.moved);
            if !moved.points.is_empty() && crate::tiers::follows_points(self)? {
                moved.members.append(&mut moved.points);
            }
            if moved.contracts.is_empty() && moved.members.is_empty() {
                return Ok(());
            }
            for (contract_id, reason) in &moved.contracts {
                crate::referrals::settle(self, contract_id, reason)?;
            }
            let members: Vec<String> = moved.members.into_iter().collect();
            crate::tiers::evaluate_members(self, &members)?;
            // Tiers write no money; what settling touched comes round once more.
            if self.moved.contracts.is_empty() {
                self.moved.members.retain(|m| !members.contains(m));
            }
        }
        Err(CoreError::Internal("money follow-ups did not settle".into()))
    }

    pub fn staff_id(&self) -> Option<&str> {
        self.staff_id.as_deref()
    }

    /// Appends one entry to the change log. `data` is the row as it now stands (or the
    /// facts of the operation); it is stored as `{"v": PAYLOAD_VERSION, "data": …}`.
    pub fn log(&mut self, entity: &str, entity_id: &str, op: &str, subject: Option<&str>, data: &impl Serialize) -> Result<()> {
        // Every kind of change is declared once, with its labels (audit::CHANGES): what
        // staff activity, the timeline and head office read. An undeclared one is a bug.
        if !crate::audit::declared(entity, op) {
            return Err(CoreError::Internal(format!("change {entity}/{op} is not declared in audit::CHANGES")));
        }
        let payload = serde_json::json!({ "v": PAYLOAD_VERSION, "data": data });
        self.execute(
            "INSERT INTO change_log (seq, op_id, at, staff_id, entity, entity_id, op, subject_id, payload)
             VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM change_log), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                crate::new_id(),
                self.now_text(),
                self.staff_id,
                entity,
                entity_id,
                op,
                subject,
                payload.to_string()
            ],
        )?;
        self.logged += 1;
        Ok(())
    }

    /// Takes the next value of a local counter (member numbers, receipts, contracts).
    /// Runs inside the immediate transaction, so two writers never get the same value.
    pub fn next_counter(&self, name: &str) -> Result<i64> {
        let value: i64 = self.tx.query_row(
            "INSERT INTO counters (name, value) VALUES (?1, 1)
             ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
            [name],
            |r| r.get(0),
        )?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_logs_nothing_is_refused_and_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::open_with_clock(&dir.path().join("t.db"), ManualClock::new(DateTime::<Utc>::UNIX_EPOCH)).unwrap();
        let sneaky = core.write_as(None, |w| {
            w.execute("INSERT INTO settings (key, value) VALUES ('x', 'y')", [])?;
            Ok(())
        });
        assert!(matches!(sneaky, Err(CoreError::Internal(_))));
        let n: i64 = core.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM settings", [], |r| r.get(0))?)).unwrap();
        assert_eq!(n, 0, "the unlogged row was rolled back");
        // A read-only transaction needs no log entry.
        core.write_as(None, |w| Ok(w.query_row("SELECT COUNT(*) FROM members", [], |r| r.get::<_, i64>(0))?)).unwrap();
    }
}
