//! A database made by any earlier version opens in this one; a newer one is refused
//! rather than damaged. The released migrations are pinned: their order and content.

use centredesk_core::{Core, ManualClock};

fn open(path: &std::path::Path) -> centredesk_core::Result<Core> {
    Core::open_with_clock(path, ManualClock::new(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 25, 2, 0, 0).unwrap()))
}

#[test]
fn the_schema_1_fixture_opens_and_keeps_its_data() {
    // fixtures/db/schema-1.db was made by the first release's demo generator; it must
    // open (and migrate) in every later version with nothing lost.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/db/schema-1.db");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    std::fs::copy(&src, &path).unwrap();
    let core = open(&path).unwrap();
    let admin = core.login("admin", centredesk_core::demo::DEMO_PASSWORD).unwrap();
    let page = core.member_list(&admin, Default::default()).unwrap();
    assert!(page.total >= 20, "members survived: {}", page.total);
    assert!(!core.search(&admin, "M00001", 5).unwrap().is_empty());
    // Migration 0002 filled in the label search ranks on: a Han name finds its member.
    let name = page.rows.iter().find(|r| r.member_no.is_some()).unwrap().name.clone();
    let hits = core.search(&admin, &name, 5).unwrap();
    assert!(hits.iter().any(|h| h.name == name), "{name} not found after migration: {hits:?}");
    let raw = rusqlite::Connection::open(&path).unwrap();
    // Migration 0003's hook rebuilt the terms: whole Han names are tokens now.
    let (label, terms): (String, String) = raw
        .query_row("SELECT label, terms FROM search_doc WHERE entity = 'member' AND length(label) > 1 LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert!(terms.split(' ').any(|t| t == label), "{label} not a whole token in {terms}");
    let version: i64 = raw.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version as usize, centredesk_core::db::schema_version());
}

#[test]
fn reopening_is_idempotent_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    drop(open(&path).unwrap());
    drop(open(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    let mode: String = raw.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    raw.pragma_update(None, "user_version", 999).unwrap();
    drop(raw);
    let err = open(&path).err().expect("a newer schema must be refused");
    assert!(err.message(centredesk_core::Lang::En).contains("newer CentreDesk"), "{}", err.message(centredesk_core::Lang::En));
}

/// Every migration in the order it applies, with the SHA-256 of its file. A released
/// migration is never edited or reordered (databases out there ran it as it was): a new
/// schema change is a new file appended here and to `db::MIGRATIONS`.
const PINNED: &[(&str, &str)] = &[
    ("0001_foundation.sql", "7aeac5b6a15af56d62d120d6738a5815fcb623a3e16a182e99eaa3dd3cd1189e"),
    ("0002_search_label.sql", "73a47568a45440c13cc8dd847ff98e4367a19744d27e89dbc7c8ec90eb8b10f1"),
    ("0003_search_whole_names.sql", "e2e3b8e14c71056e7256cbc77338dbe0f1a6e37e60f588a630e048bd4f69b3a1"),
    ("0004_timetable.sql", "c2d5c8461ec3e2a27c4989ad7b84df19368d4b9fd9a558d1c6a50ec1258b3bf7"),
    ("0005_member_merge.sql", "7f9e1412bd198502465c922a844dcc996d9da63a63f55c7c222256ff6034824d"),
    ("0008_goods_points.sql", "2d86cad597fad46c4a152fb2cfa66545ee63e4d9c0f6f9bc89e04655ea7146ba"),
    ("0006_report_indexes.sql", "e80559dae8ac77ab064041782bfd3c92bd2eb49e078e3044df7aebb41f0436b9"),
    ("0010_notify_delivery.sql", "681af280e582b5d04d8de16da68c43a4093b8d57e0a593bbc17aad32d5512f65"),
    ("0009_feedback.sql", "b09fe7442fb0da4da4a8d3a4d4c583efae4314f143c610a994e3ab8e972c2338"),
    ("0011_recent_payments_index.sql", "87b2b21503932945e8c95a3d1e0b516864329c7ea5c172a79ea4652286c7b9fd"),
    ("0012_report_caches.sql", "2f0c05ebaac0fe6c3de9977b16ea78c58fab2826724ac5c8f2de6d325021440e"),
    ("0013_tiers.sql", "360906837e724d5c88cdb75d49bd1110ab3ef0e71c9be171edd97c4122ce25e0"),
    ("0014_cash_handins.sql", "6b13c24837863b397fc0901e36fd8a79d67954680a409a2d1acc26a508556e26"),
    ("0015_contract_ends.sql", "a48bd7efb56bbcc6e9304def98e4ba40946f09e10a569770cb021c750d26dd0b"),
    ("0016_leave_withdrawn.sql", "543eec251bd813dc990dfbabd148932d0c4069b8becf8bb57911d4b07b184dce"),
    ("0017_sync_epochs.sql", "bc34057012d8ccbe0975c36ec1825912a3a2d7fd13fecad500a303ee1fd88dea"),
    ("0018_notice_resends.sql", "c14585c3af6b19b2d0acf11f0b5aff4438e5639ba8d83630bc06b7bd5745d8d2"),
    ("0019_return_visits.sql", "ab16a01aacb152be75551eac749731e3f79a3fbbc12aa6dfe7488d3d4d387d33"),
    ("0020_churn_flags.sql", "c803c85b379bebf3230b5e76a6231087af7004e7d6de3b1cacc3a7aaff2a7e36"),
    ("0021_group_messages.sql", "b0b544a436b17201376ca09ea37a8c12357f6fec0b367f22de2c70bc2a8efae9"),
    ("0022_member_consultants.sql", "2dd9cccb37ff87a85429215e4f8fdc66fd5037ec8e7f1ad71e07e9e1a3c64191"),
    ("0023_phones_and_requests.sql", "cefa5eccfc486cb8e8d03630a9c99c21cde8c46c5b26767d00d82ae448ae7fc2"),
    ("0024_portal.sql", "ab19797a012594daae042478e14bfb3efef2154f1d430e4b61eaa8f1f591b155"),
    ("0025_portal_trials.sql", "076a80fa82348c9f2dabb8925383f21141537c9792e4a199467c643982054f02"),
    ("0026_portal_signouts.sql", "6a6b4cdc4348fbacd1509d8637082ffc445083668af841f6d923683de8ec59db"),
];

#[test]
fn the_released_migrations_keep_their_order_and_their_content() {
    use sha2::Digest;
    let actual: Vec<(&str, String)> = centredesk_core::db::MIGRATIONS.iter().map(|(name, sql)| (*name, hex::encode(sha2::Sha256::digest(sql.as_bytes())))).collect();
    for (i, (name, hash)) in PINNED.iter().enumerate() {
        let Some((got_name, got_hash)) = actual.get(i) else { panic!("migration {name} (number {}) is gone", i + 1) };
        assert_eq!(got_name, name, "migration number {} is {got_name}, it was {name}: never reorder", i + 1);
        assert_eq!(got_hash, hash, "{name} was edited after release: add a new migration instead");
    }
    assert_eq!(actual.len(), PINNED.len(), "a new migration: pin it here once it is final (its name and sha256sum)");
    // Every file in migrations/ is in the list (a file written but not listed would never run).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    let mut listed: Vec<String> = PINNED.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
}

/// Copies a fixture (unpacking a `.xz` one) into a fresh folder.
fn fixture(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/db").join(name);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("centre.db");
    if name.ends_with(".xz") {
        let mut input = std::io::BufReader::new(std::fs::File::open(&src).unwrap());
        let mut out = std::fs::File::create(&path).unwrap();
        lzma_rs::xz_decompress(&mut input, &mut out).unwrap_or_else(|e| panic!("{}: {e:?}", src.display()));
    } else {
        std::fs::copy(&src, &path).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    }
    (dir, path)
}

fn count(path: &std::path::Path, sql: &str) -> i64 {
    rusqlite::Connection::open(path).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_database_from_every_released_schema_opens_migrates_and_keeps_its_data() {
    // fixtures/db/schema-<N>.db[.xz]: the demo centre made by the release that had N
    // migrations (fixtures/db/README.md says how each was made), so each upgrade path
    // that a centre out there can take is walked once.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/db");
    let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with("schema-") && (n.ends_with(".db") || n.ends_with(".db.xz"))).collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for name in &names {
        let released: i64 = name.trim_start_matches("schema-").trim_end_matches(".xz").trim_end_matches(".db").parse().unwrap();
        let (folder, path) = fixture(name);
        assert_eq!(count(&path, "PRAGMA user_version"), released, "{name} is schema {released}");
        let members = count(&path, "SELECT COUNT(*) FROM members");
        let payments = count(&path, "SELECT COUNT(*) FROM payments");
        let core = open(&path).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(count(&path, "PRAGMA user_version") as usize, centredesk_core::db::schema_version(), "{name}");
        assert_eq!(count(&path, "SELECT COUNT(*) FROM members"), members, "{name}: members");
        assert_eq!(count(&path, "SELECT COUNT(*) FROM payments"), payments, "{name}: payments");
        let admin = core.login("admin", centredesk_core::demo::DEMO_PASSWORD).unwrap();
        assert!(core.member_list(&admin, Default::default()).unwrap().total > 0, "{name}");
        core.home(&admin, centredesk_core::Lang::ZhCn).unwrap_or_else(|e| panic!("{name}: home: {e:?}"));
        // After the first hourly upkeep (statuses follow contracts, tiers), the old data
        // keeps every rule the desk states today.
        centredesk_core::upkeep::round(&core);
        let report = core.check(&admin, centredesk_core::Lang::En).unwrap();
        assert!(report.healthy(), "{name}: {:#?}", report.findings.iter().take(5).collect::<Vec<_>>());
        // The current release's own file has nothing to upgrade (and nothing to copy aside).
        if released as usize == centredesk_core::db::schema_version() {
            continue;
        }
        // Before the upgrade the file was copied aside as it was.
        let aside: Vec<std::path::PathBuf> = std::fs::read_dir(folder.path().join("backups"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("before-upgrade-v{released}-")))
            .collect();
        assert_eq!(aside.len(), 1, "{name}: {aside:?}");
        assert_eq!(count(&aside[0], "PRAGMA user_version"), released, "{name}: the copy is the old schema");
        assert_eq!(count(&aside[0], "SELECT COUNT(*) FROM members"), members);
        assert!(core.backups(&admin).unwrap().iter().any(|b| b.kind == "before_upgrade"), "{name}: listed for a restore");
    }
}
