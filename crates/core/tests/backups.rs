//! Backups on real files: made while the desk writes, checked, pruned to N, due once a
//! day; restore keeps the current data aside and brings an older schema up to date;
//! the manager only.

use crate::common;

use centredesk_core::backup::check;
use centredesk_core::{Core, ManualClock};
use common::Centre;
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
    let folder = c.core.backup_status(&c.admin).unwrap().folder;
    let mut names: Vec<String> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("centredesk-") && n.ends_with(".db")), "{names:?}");
    assert_eq!(c.core.backup_status(&c.clerk).unwrap_err().code(), "forbidden");
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

#[test]
fn every_copy_is_written_to_the_second_folder_too_and_a_failure_there_reaches_the_home_screen() {
    let c = common::centre();
    let usb = c.dir.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    let set = |dir: &Path| c.core.backup_settings_set(&c.admin, centredesk_core::backup::BackupSettings { second_dir: dir.display().to_string() });
    // A folder that is not there is refused, naming the field.
    let err = set(&c.dir.path().join("no-such-stick")).unwrap_err();
    assert_eq!(err.code(), "validation.unknown");
    assert_eq!(err.field(), Some(centredesk_core::error::Field::BackupSecondDir));
    assert_eq!(c.core.backup_settings_set(&c.clerk, Default::default()).unwrap_err().code(), "forbidden");
    set(&usb).unwrap();

    let b = c.core.backup_now(&c.admin).unwrap();
    let copy = usb.join(&b.file_name);
    check(&copy).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&usb).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, [b.file_name.clone()], "one whole file, no partial copy beside it");
    let home = |s| c.core.home(s, centredesk_core::Lang::En).unwrap().backup_warning;
    assert_eq!(home(&c.admin), None, "all is well");

    // The stick is pulled out and something else takes its name: the desk's own copy is
    // still made, and the manager (only) is told on the home screen.
    std::fs::remove_dir_all(&usb).unwrap();
    std::fs::write(&usb, b"not a folder").unwrap();
    c.clock.advance(chrono::Duration::seconds(1));
    c.core.backup_now(&c.admin).unwrap();
    let status = c.core.backup_status(&c.admin).unwrap();
    assert!(status.second_error.is_some() && status.last_error.is_none(), "{status:?}");
    let warning = home(&c.admin).expect("the manager is told");
    assert!(warning.contains("second place"), "{warning}");
    assert_eq!(home(&c.clerk), None, "the front desk is not the one to fix it");

    // The stick is back: the next copy clears the warning.
    std::fs::remove_file(&usb).unwrap();
    std::fs::create_dir(&usb).unwrap();
    c.clock.advance(chrono::Duration::seconds(1));
    c.core.backup_now(&c.admin).unwrap();
    assert_eq!(home(&c.admin), None);
    assert_eq!(std::fs::read_dir(&usb).unwrap().count(), 1);
}

#[test]
fn a_failed_backup_leaves_no_file_and_is_shown_to_the_manager_as_is_an_overdue_one() {
    let c = common::centre();
    let home = || c.core.home(&c.admin, centredesk_core::Lang::ZhCn).unwrap().backup_warning;
    assert!(home().expect("no backup yet").contains("没有备份"));
    c.core.backup_now(&c.admin).unwrap();
    assert_eq!(home(), None);

    // The backup folder cannot be written (a file took its name): the copy fails, no
    // partial file is left anywhere, and the home screen says so.
    let folder = c.core.backup_dir();
    std::fs::rename(&folder, c.dir.path().join("moved")).unwrap();
    std::fs::write(&folder, b"x").unwrap();
    c.clock.advance(chrono::Duration::seconds(1));
    let err = c.core.backup_now(&c.admin).unwrap_err();
    assert_eq!(err.code(), "conflict.backup_folder", "{err:?}");
    let left: Vec<String> = std::fs::read_dir(c.dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!left.iter().any(|n| n.contains("partial")), "{left:?}");
    assert!(home().expect("the failure is shown").contains("备份失败"));
    std::fs::remove_file(&folder).unwrap();
    std::fs::rename(c.dir.path().join("moved"), &folder).unwrap();
    c.core.backup_now(&c.admin).unwrap();
    assert_eq!(home(), None, "a success clears it");

    // Two days and more without one: overdue.
    c.clock.advance(chrono::Duration::hours(49));
    assert!(home().expect("overdue").contains("两天"));

    // The desk window opening after the long weekend makes the day's backup after its
    // quiet start: not a warning for its first minutes, then one if it did not happen.
    let desk = Core::open_desk(&c.db_path(), c.clock.clone()).unwrap();
    let admin = desk.login("admin", common::PASSWORD).unwrap();
    let desk_home = || desk.home(&admin, centredesk_core::Lang::ZhCn).unwrap().backup_warning;
    assert_eq!(desk_home(), None, "the day's backup is minutes away");
    c.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(desk_home(), None);
    c.clock.advance(chrono::Duration::seconds(21));
    assert!(desk_home().expect("the backup did not happen").contains("两天"));
}

#[test]
fn a_backup_dated_in_the_future_does_not_stop_the_daily_schedule() {
    let c = common::centre();
    // Made once when the PC's clock was years ahead.
    std::fs::create_dir_all(c.core.backup_dir()).unwrap();
    c.core.backup_now(&c.admin).unwrap();
    let made = c.core.backups(&c.admin).unwrap().remove(0);
    std::fs::rename(&made.path, c.core.backup_dir().join("centredesk-20301231-235959-auto.db")).unwrap();
    let today = c.core.backup_if_due(Duration::from_secs(24 * 3600)).unwrap();
    assert!(today.is_some(), "the schedule goes on");
    assert!(c.core.backup_if_due(Duration::from_secs(24 * 3600)).unwrap().is_none(), "and once a day");
}

#[test]
fn a_damaged_database_is_said_to_be_damaged_and_nothing_touches_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(common::test_now());
    // Not a database at all (a file overwritten by something else).
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x5a; 8192]).unwrap();
    let err = Core::open_with_clock(&junk, clock.clone()).err().expect("refused");
    assert_eq!(err.code(), "database.damaged");
    assert!(err.message(centredesk_core::Lang::ZhCn).contains("损坏"), "{}", err.message(centredesk_core::Lang::ZhCn));
    assert_eq!(std::fs::read(&junk).unwrap(), vec![0x5a; 8192], "left as it was, for support");

    // A real database whose pages were scribbled over: quick_check fails.
    let path = dir.path().join("centre.db");
    centredesk_core::demo::generate(&path, &centredesk_core::demo::DemoOptions::ending(30, 3, common::test_now())).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(bytes.len() > 40 * page);
    for b in &mut bytes[20 * page + 100..36 * page] {
        *b = 0xa5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Core::open_with_clock(&path, clock).err().expect("refused");
    assert_eq!(err.code(), "database.damaged", "{err:?}");
}

/// The desk window's open (`Core::open_desk`): after a clean close it opens without
/// reading every page and checks on the side; damage found then refuses everything and
/// makes the next start check first. After an unclean end it checks before opening.
#[test]
fn the_desk_checks_a_cleanly_closed_file_after_opening_and_an_uncleanly_closed_one_before() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(common::test_now());
    let path = dir.path().join("centre.db");
    centredesk_core::demo::generate(&path, &centredesk_core::demo::DemoOptions::ending(30, 3, common::test_now())).unwrap();
    let marker = centredesk_core::db::in_use_marker(&path);
    assert!(!marker.exists());

    // A clean start and a clean close.
    let core = Core::open_desk(&path, clock.clone()).unwrap();
    assert!(marker.exists(), "the marker says the desk has the file open");
    assert_eq!(core.integrity(), centredesk_core::Integrity::Unchecked);
    core.check_integrity().unwrap();
    assert_eq!(core.integrity(), centredesk_core::Integrity::Sound);
    core.close_cleanly();
    assert!(!marker.exists(), "a clean close removes it");
    drop(core);

    // The process ended without closing (a crash, a power cut): the next start checks first.
    std::fs::write(&marker, "left by a crash").unwrap();
    let core = Core::open_desk(&path, clock.clone()).unwrap();
    assert_eq!(core.integrity(), centredesk_core::Integrity::Sound, "checked before opening");
    drop(core);
    assert!(!marker.exists(), "dropping the core is a clean close too");

    // Pages scribbled over while the desk was closed (the file's last ones, which opening
    // does not read): it opens, the check finds it, and from then on nothing is read or
    // written.
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    let end = bytes.len();
    for b in &mut bytes[end - 8 * page + 100..end] {
        *b = 0xa5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let core = Core::open_desk(&path, clock.clone()).unwrap();
    let admin = core.login("admin", centredesk_core::demo::DEMO_PASSWORD).ok();
    assert_eq!(core.check_integrity().unwrap_err().code(), "database.damaged");
    assert!(matches!(core.integrity(), centredesk_core::Integrity::Damaged(_)));
    assert_eq!(core.login("admin", centredesk_core::demo::DEMO_PASSWORD).unwrap_err().code(), "database.damaged");
    if let Some(admin) = admin {
        let err = core.member_apply(&admin, centredesk_core::members::MemberApplication { name: "损坏后".into(), gender: "M".into(), guardian: None, referred_by: None, notes: String::new() }).unwrap_err();
        assert_eq!(err.code(), "database.damaged", "no write after the damage was found");
    }
    drop(core);
    assert!(marker.exists(), "the damage is remembered: the next start checks first");
    assert_eq!(Core::open_desk(&path, clock).err().unwrap().code(), "database.damaged");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "left as it was, for support");
}

#[test]
fn a_full_disk_is_a_clear_error_and_nothing_is_half_saved() {
    let c = common::centre();
    let m = c.member("满盘", "13800000009");
    let package = c.lesson_package(10, "1000.00");
    let contract = c
        .core
        .contract_enrol(
            &c.clerk,
            centredesk_core::contracts::EnrolInput { member_id: m.id.clone(), package_id: package.id.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() },
        )
        .unwrap()
        .contract;
    c.core.cap_file_pages(0).unwrap();
    let before = c.snapshot();
    let mut refused = None;
    // Each payment adds rows; with no spare page the file must grow before long.
    for i in 0..200 {
        let r = c.core.payment_take(
            &c.clerk,
            centredesk_core::payments::PaymentInput { contract_id: contract.id.clone(), amount: "1.00".into(), method: "cash".into(), note: format!("第{i}笔{}", "备注".repeat(90)) },
            centredesk_core::Lang::ZhCn,
        );
        if let Err(e) = r {
            refused = Some(e);
            break;
        }
    }
    let err = refused.expect("the disk filled");
    assert_eq!(err.code(), "conflict.disk_full", "{err:?}");
    assert!(err.message(centredesk_core::Lang::En).contains("disk is full"));
    // Every row and its change-log entry are there together, or neither.
    let paid = c.count("SELECT COUNT(*) FROM payments");
    let logged = c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'payment'");
    assert_eq!(paid, logged, "a payment without its log entry, or the reverse");
    assert!(c.snapshot().iter().zip(&before).all(|(a, b)| a.1 >= b.1));
    let verdict: String = c.raw().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(verdict, "ok");
}

#[test]
fn a_desk_whose_database_is_damaged_recovers_from_its_newest_good_backup() {
    let c = common::centre();
    c.member("备份前", "13800000001");
    let good = c.core.backup_now(&c.admin).unwrap();
    // A copy that is itself damaged is not offered.
    c.clock.advance(chrono::Duration::seconds(1));
    let bad = c.core.backup_dir().join("centredesk-20261202-235959.db");
    std::fs::write(&bad, vec![7u8; 4096]).unwrap();
    c.member("备份后", "13800000002");
    let numbered_before: i64 = c.count("SELECT value FROM counters WHERE name = 'member_no'");
    let path = c.db_path();
    let Centre { core, clock, dir, .. } = c;
    drop(core);
    // Closed, the desk is one file: the WAL went into it.
    assert!(!dir.path().join("centre.db-wal").exists());
    // The file is overwritten by something else.
    std::fs::write(&path, vec![0x33; 16384]).unwrap();

    assert_eq!(Core::open_with_clock(&path, clock.clone()).err().unwrap().code(), "database.damaged");

    let offered = centredesk_core::backup::recovery_candidates(&path);
    assert_eq!(offered.iter().map(|b| b.file_name.as_str()).collect::<Vec<_>>(), [good.file_name.as_str()], "only copies that pass the check");
    assert_eq!(centredesk_core::backup::recover(&path, "centredesk-20261202-235959.db", clock.clone()).err().unwrap().code(), "not_found");

    let (core, kept) = centredesk_core::backup::recover(&path, &good.file_name, clock.clone()).unwrap();
    assert!(dir.path().join(&kept).exists(), "the damaged file is kept for support: {kept}");
    let admin = core.login("admin", common::PASSWORD).unwrap();
    let names: Vec<String> = core.member_list(&admin, Default::default()).unwrap().rows.into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["备份前"]);
    // A new line of history for head office; the restore is in the log.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let restores: i64 = raw.query_row("SELECT COUNT(*) FROM change_log WHERE entity = 'database' AND op = 'restore'", [], |r| r.get(0)).unwrap();
    assert_eq!(restores, 1);
    let epochs: i64 = raw.query_row("SELECT COUNT(*) FROM sync_epochs WHERE reason = 'restore'", [], |r| r.get(0)).unwrap();
    assert_eq!(epochs, 1);
    // The damaged file could not be read, so its numbers are not known here (head office's
    // raise them at the next push); the backup's own are kept.
    let member_no: i64 = raw.query_row("SELECT value FROM counters WHERE name = 'member_no'", [], |r| r.get(0)).unwrap();
    assert!(member_no >= 1 && member_no <= numbered_before);
}
