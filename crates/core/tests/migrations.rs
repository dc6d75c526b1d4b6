//! A database made by any earlier version opens in this one; a newer one is refused
//! rather than damaged.

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
