//! What the parents' portal publishes: only the fields a parent may see (every document's
//! keys held to a whitelist, no other family's child), and the same numbers as the desk's
//! member page for every child of a demo centre.

use centredesk_protocol::portal::Doc;
use std::collections::BTreeSet;

/// Every key path a document may hold (`timetable[].group_name`, …). Adding one is a
/// decision about what families see: look at it here.
const ALLOWED: &[&str] = &[
    "type",
    // centre
    "enabled", "name", "address", "phone", "privacy_notice", "notice_version", "today", "published_at",
    "timetable[].session_id", "timetable[].group_id", "timetable[].group_name", "timetable[].date", "timetable[].start_time", "timetable[].end_time",
    "timetable[].coach_name", "timetable[].status", "timetable[].change_note",
    // guardian
    "guardian_id", "children[].member_id", "children[].name",
    // child
    "member_id", "member_no", "status", "lessons_left", "valid_until",
    "contracts[].package_name", "contracts[].start_date", "contracts[].end_date", "contracts[].lessons_total", "contracts[].lessons_left", "contracts[].status",
    "points", "points_entries[].at", "points_entries[].delta", "points_entries[].reason",
    "attendance[].date", "attendance[].start_time", "attendance[].group_name", "attendance[].mark", "attendance[].consumed",
    "upcoming[].session_id", "upcoming[].date", "upcoming[].start_time", "upcoming[].end_time", "upcoming[].group_name", "upcoming[].cancelled",
    "upcoming[].on_leave", "upcoming[].marked",
];

fn paths(prefix: &str, v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if v.is_object() || v.is_array() {
                    paths(&p, v, out);
                } else {
                    out.insert(p);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for i in items {
                paths(&format!("{prefix}[]"), i, out);
            }
            if items.is_empty() {
                out.insert(prefix.to_string());
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

fn demo() -> (tempfile::TempDir, centredesk_core::Core) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    centredesk_core::demo::generate(&path, &centredesk_core::demo::DemoOptions::through_day(60, 5, today)).unwrap();
    let clock = centredesk_core::ManualClock::new(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 20, 1, 0, 0).unwrap());
    let core = centredesk_core::Core::open_with_clock(&path, clock).unwrap();
    (dir, core)
}

#[test]
fn documents_hold_only_what_a_parent_may_see() {
    let (_dir, core) = demo();
    let docs = core.portal_documents().unwrap();
    let allowed: BTreeSet<&str> = ALLOWED.iter().copied().collect();
    let mut seen = BTreeSet::new();
    for d in &docs {
        paths("", &serde_json::to_value(d).unwrap(), &mut seen);
    }
    let extra: Vec<&String> = seen.iter().filter(|p| !allowed.contains(p.as_str()) && !ALLOWED.iter().any(|a| a.starts_with(&format!("{p}[]")) || a.starts_with(&format!("{p}.")))).collect();
    assert!(extra.is_empty(), "keys no parent was meant to see: {extra:?}");
    let raw = rusqlite::Connection::open(core.path()).unwrap();
    let text = serde_json::to_string(&docs).unwrap();
    // No birthday, school or full phone number appears anywhere.
    let mut stmt = raw.prepare("SELECT COALESCE(birthday, ''), COALESCE(school, '') FROM members").unwrap();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap() {
        let (birthday, school) = row.unwrap();
        assert!(school.is_empty() || !text.contains(&format!("\"{school}\"")), "a school in a document: {school}");
        assert!(birthday.is_empty() || !text.contains(&format!("\"{birthday}\"")), "a birthday in a document: {birthday}");
    }
    let phones: Vec<String> = raw.prepare("SELECT phone FROM guardians").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert!(phones.len() > 10);
    for p in phones {
        assert!(!text.contains(&p), "a full phone number in a document: {p}");
    }
    // A guardian's document lists exactly their own children.
    for d in &docs {
        let Doc::Guardian(g) = d else { continue };
        let linked: BTreeSet<String> =
            raw.prepare("SELECT member_id FROM member_guardians WHERE guardian_id = ?1").unwrap().query_map([&g.guardian_id], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        assert_eq!(g.children.iter().map(|c| c.member_id.clone()).collect::<BTreeSet<_>>(), linked);
    }
}

#[test]
fn every_childs_published_numbers_are_the_member_pages() {
    let (_dir, core) = demo();
    let admin = core.login("admin", centredesk_core::demo::DEMO_PASSWORD).unwrap();
    let mut children = 0;
    for d in core.portal_documents().unwrap() {
        let Doc::Child(k) = d else { continue };
        let page = core.member_get(&admin, &k.member_id).unwrap();
        assert_eq!(k.lessons_left, page.lessons_remaining, "{}", k.name);
        let running = page.contracts.iter().filter(|c| c.contract.status == "active" && matches!(c.state, centredesk_core::contracts::ContractState::Valid | centredesk_core::contracts::ContractState::Paused | centredesk_core::contracts::ContractState::NotStarted));
        assert_eq!(k.valid_until, running.map(|c| c.contract.end_date.clone()).max(), "{}", k.name);
        assert_eq!(k.points, core.points_account(&admin, &k.member_id).unwrap().balance, "{}", k.name);
        assert_eq!(k.status, page.member.status);
        children += 1;
    }
    assert!(children > 40, "{children} children published");
}
