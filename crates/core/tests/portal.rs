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
    "trials[].session_id", "trials[].date", "trials[].start_time", "trials[].end_time", "trials[].group_name", "trials[].status",
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
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let (dir, path) = crate::common::demo_file(60, 5, today);
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

#[test]
fn view_as_a_guardian_shows_their_children_with_the_member_pages_numbers_and_is_logged() {
    let (_dir, core) = demo();
    let admin = core.login("admin", centredesk_core::demo::DEMO_PASSWORD).unwrap();
    let docs = core.portal_documents().unwrap();
    let g = docs
        .iter()
        .find_map(|d| match d {
            Doc::Guardian(g) if g.children.len() >= 2 => Some(g.clone()),
            _ => None,
        })
        .expect("a guardian with two children");
    let logged = |core: &centredesk_core::Core| -> i64 {
        rusqlite::Connection::open(core.path()).unwrap().query_row("SELECT COUNT(*) FROM change_log WHERE entity = 'portal_view' AND entity_id = ?1", [&g.guardian_id], |r| r.get(0)).unwrap()
    };
    let view = core.portal_view_as(&admin, &g.guardian_id).unwrap();
    assert_eq!(view.phone, g.phone);
    assert!(!view.consented, "nobody accepted the notice in the demo");
    let mut shown: Vec<&str> = view.children.iter().map(|k| k.member_id.as_str()).collect();
    let mut linked: Vec<&str> = g.children.iter().map(|k| k.member_id.as_str()).collect();
    shown.sort();
    linked.sort();
    assert_eq!(shown, linked, "exactly the guardian's children");
    for k in &view.children {
        let page = core.member_get(&admin, &k.member_id).unwrap();
        assert_eq!(k.lessons_left, page.lessons_remaining, "{}", k.name);
        assert_eq!(k.points, core.points_account(&admin, &k.member_id).unwrap().balance, "{}", k.name);
    }
    assert_eq!(logged(&core), 1);
    assert!(core.portal_view_as(&admin, "no-such-guardian").is_err());
    assert_eq!(logged(&core), 1, "a refused look is not logged");
}

#[test]
fn a_parents_trial_request_reaches_the_coachs_pending_list_and_the_decision_comes_back() {
    use centredesk_protocol::portal::InboxItem;
    use centredesk_protocol::requests::{Outcome, Request, RequestBody, TrialAsk};
    let (dir, core) = demo();
    let admin = core.login("admin", centredesk_core::demo::DEMO_PASSWORD).unwrap();
    let raw = rusqlite::Connection::open(dir.path().join("demo.db")).unwrap();
    let (guardian, child): (String, String) = raw.query_row("SELECT guardian_id, member_id FROM member_guardians ORDER BY guardian_id, member_id LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    let stranger: String = raw.query_row("SELECT member_id FROM member_guardians WHERE member_id NOT IN (SELECT member_id FROM member_guardians WHERE guardian_id = ?1) LIMIT 1", [&guardian], |r| r.get(0)).unwrap();
    // Tomorrow's classes: one of another group, one of the child's own.
    let filter = |member_id: Option<String>| centredesk_core::timetable::SessionFilter { from_date: "2026-11-21".into(), to_date: "2026-11-27".into(), member_id, ..Default::default() };
    let own: Vec<_> = core.session_list(&admin, filter(Some(child.clone()))).unwrap().into_iter().filter(|s| s.status == "scheduled").collect();
    let own_groups: BTreeSet<String> = own.iter().map(|s| s.group_id.clone()).collect();
    let other = core.session_list(&admin, filter(None)).unwrap().into_iter().find(|s| s.status == "scheduled" && !own_groups.contains(&s.group_id)).unwrap();
    let ask = |member_id: &str, session_id: &str| RequestBody::Trial(TrialAsk { member_id: member_id.into(), session_id: session_id.into(), note: "想试试".into() });
    let mut bodies = vec![
        ask(&child, &other.id), // before consent
        RequestBody::Consent { version: core.portal_settings().unwrap().notice_version, accepted: true },
        ask(&child, &other.id),
        ask(&child, &other.id), // the same trial again
        ask(&stranger, &other.id),
    ];
    if let Some(mine) = own.first() {
        bodies.push(ask(&child, &mine.id));
    }
    let items: Vec<InboxItem> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| InboxItem { number: i as i64 + 1, guardian_id: guardian.clone(), received_at: "2026-11-20T01:00:00Z".into(), request: Request { request_id: format!("r{i}"), body } })
        .collect();
    let out = core.portal_apply(&items).unwrap();
    let codes: Vec<String> = out
        .iter()
        .map(|(_, o)| match o {
            Outcome::Accepted(_) => "accepted".to_string(),
            Outcome::Refused { code, .. } => code.clone(),
        })
        .collect();
    let mut expected = vec!["conflict.consent_needed", "accepted", "accepted", "conflict.trial_already_asked", "conflict.not_your_child"];
    if !own.is_empty() {
        expected.push("conflict.already_in_group");
    }
    assert_eq!(codes, expected);
    // The coach's pending list has it, marked as the family's own.
    let pending: Vec<_> = core.trials_pending(&admin).unwrap().into_iter().filter(|t| t.member_id.as_deref() == Some(child.as_str())).collect();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].via.as_str(), pending[0].session_id.as_str(), pending[0].note.as_str()), ("portal", other.id.as_str(), "想试试"));
    let child_doc = |core: &centredesk_core::Core| {
        core.portal_documents().unwrap().into_iter().find_map(|d| match d {
            Doc::Child(k) if k.member_id == child => Some(k),
            _ => None,
        })
    };
    assert_eq!(child_doc(&core).unwrap().trials.iter().map(|t| (t.session_id.clone(), t.status.clone())).collect::<Vec<_>>(), vec![(other.id.clone(), "requested".to_string())]);
    // No staff member asked for it: the change log names none.
    let staff: Option<String> = raw.query_row("SELECT staff_id FROM change_log WHERE entity = 'trial_request' AND entity_id = ?1", [&pending[0].id], |r| r.get(0)).unwrap();
    assert_eq!(staff, None);
    // The coach approves: the family's document says so and the guardians are told.
    core.trial_decide(&admin, &pending[0].id, true, "").unwrap();
    assert_eq!(child_doc(&core).unwrap().trials[0].status, "approved");
    let told: i64 = raw.query_row("SELECT COUNT(*) FROM notices WHERE kind = 'trial_approved' AND member_id = ?1", [&child], |r| r.get(0)).unwrap();
    assert!(told >= 1);
}
