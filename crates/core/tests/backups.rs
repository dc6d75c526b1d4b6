//! Backups on real files: made while the desk writes, checked, pruned to N, due once a
//! day; restore keeps the current data aside and brings an older schema up to date;
//! the manager only.

use crate::common;

use centredesk_core::backup::check;
use centredesk_core::{Core, ManualClock};
use std::path::Path;
use std::time::Duration;

fn members_in(path: &Path) -> i64 {
    rusqlite::Connection::open(path).unwrap().query_row("SELECT COUNT(*) FROM members", [], |r| r.get(0)).unwrap()
}

#[test]
fn a_backup_made_while_the_desk_writes_is_whole_and_checked() {
    let c = common::centre();
    c.member("王一", "13800000001");
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..40 {
                c.member(&format!("并发{}", "甲乙丙丁戊己庚辛壬癸".chars().nth(i % 10).unwrap()), &format!("139{:08}", i));
            }
        });
        for _ in 0..3 {
            let b = c.core.backup_now(&c.admin).unwrap();
            check(Path::new(&b.path)).unwrap();
            assert!(members_in(Path::new(&b.path)) >= 1);
            assert_eq!(b.kind, "manual");
        }
    });
    assert_eq!(c.core.backups(&c.admin).unwrap().len(), 3);
    // Each backup is one file: no `-partial`, `-wal` or `-shm` left beside the copies.
    let folder = c.core.backup_folder(&c.admin).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("centredesk-") && n.ends_with(".db")), "{names:?}");
    assert_eq!(c.core.backup_folder(&c.clerk).unwrap_err().code(), "forbidden");
}

#[test]
fn backups_are_pruned_to_the_setting_and_made_once_a_day() {
    let c = common::centre();
    let mut settings = c.core.settings().unwrap();
    settings.backup_keep = 0;
    assert_eq!(c.core.settings_update(&c.admin, settings.clone()).unwrap_err().code(), "validation.int_range");
    settings.backup_keep = 3;
    c.core.settings_update(&c.admin, settings).unwrap();

    let first = c.core.backup_if_due(Duration::from_secs(24 * 3600)).unwrap().expect("none yet: due");
    assert_eq!(first.kind, "auto");
    assert!(c.core.backup_if_due(Duration::from_secs(24 * 3600)).unwrap().is_none(), "made an hour's check ago");
    for _ in 0..4 {
        c.clock.advance(chrono::Duration::seconds(1));
        c.core.backup_if_due(Duration::ZERO).unwrap().expect("due");
    }
    let left = c.core.backups(&c.admin).unwrap();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(!left.iter().any(|b| b.file_name == first.file_name), "the oldest went first");
}

#[test]
fn restore_keeps_the_current_data_aside_and_brings_back_the_backup() {
    let c = common::centre();
    c.member("留下", "13800000001");
    let backup = c.core.backup_now(&c.admin).unwrap();
    c.member("后来", "13800000002");
    assert_eq!(c.count("SELECT COUNT(*) FROM members"), 2);

    c.clock.advance(chrono::Duration::seconds(1));
    let aside = c.core.restore_backup(&c.admin, &backup.file_name).unwrap();
    assert_eq!(aside.kind, "before_restore");
    assert_eq!(members_in(Path::new(&aside.path)), 2, "nothing is lost: the current data is kept aside");
    assert_eq!(c.count("SELECT COUNT(*) FROM members"), 1);
    // Reads through the core see the restored data, and the restore is in the log.
    assert_eq!(c.core.search(&c.admin, "后来", 5).unwrap().len(), 0);
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'database' AND op = 'restore'"), 1);
    // Only files from the backup folder, by name.
    assert_eq!(c.core.restore_backup(&c.admin, "../centredesk.db").unwrap_err().code(), "not_found");
}

#[test]
fn a_backup_from_an_older_version_is_restored_to_the_current_schema() {
    let c = common::centre();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/db/schema-1.db");
    std::fs::create_dir_all(c.core.backup_dir()).unwrap();
    std::fs::copy(&fixture, c.core.backup_dir().join("centredesk-20250101-090000.db")).unwrap();
    c.core.restore_backup(&c.admin, "centredesk-20250101-090000.db").unwrap();
    let version: i64 = c.raw().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let fresh: i64 = {
        let dir = tempfile::tempdir().unwrap();
        Core::open_with_clock(&dir.path().join("new.db"), ManualClock::new(common::test_now())).unwrap();
        rusqlite::Connection::open(dir.path().join("new.db")).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(version, fresh);
    // The fixture's own accounts work again.
    assert!(c.core.login("admin", centredesk_core::demo::DEMO_PASSWORD).is_ok());
}

#[test]
fn only_the_manager_backs_up_restores_or_exports_the_database() {
    let c = common::centre();
    let b = c.core.backup_now(&c.admin).unwrap();
    for s in [&c.clerk, &c.coach, &c.consultant] {
        assert_eq!(c.core.backup_now(s).unwrap_err().code(), "forbidden");
        assert_eq!(c.core.backups(s).unwrap_err().code(), "forbidden");
        assert_eq!(c.core.restore_backup(s, &b.file_name).unwrap_err().code(), "forbidden");
        assert_eq!(c.core.export_database(s, &c.dir.path().join("x.db")).unwrap_err().code(), "forbidden");
    }
    assert_eq!(c.core.export_database(&c.admin, &c.db_path()).unwrap_err().code(), "conflict.would_overwrite_database");
    let out = c.dir.path().join("export").join("whole.db");
    c.core.export_database(&c.admin, &out).unwrap();
    check(&out).unwrap();
}
