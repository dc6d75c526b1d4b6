//! The report caches of migrations 0012 and 0015 (per-session marks, each member's last
//! lesson, each contract's last consumed lesson, the ledger per day, each member's spend,
//! the change log per hour, each lead's furthest stage, when each contract ended and
//! whether it was renewed) equal a recomputation from the rows they summarise: after a
//! year of demo history, and again after contracts are used up, refunded, extended and
//! renewed, marks are changed, undone and moved, sessions moved to another day, members
//! merged and a payment reversed.

use centredesk_core::Core;
use rusqlite::Connection;

/// Each cache next to its recomputation: the same rules as the invariant checker's
/// (`check::caches`), so the test and the checker cannot disagree.
fn assert_caches_match(c: &Connection, when: &str) {
    for (name, cached, recomputed) in centredesk_core::check::caches(c).unwrap() {
        assert!(!recomputed.is_empty(), "{when}: {name} has nothing to check");
        assert_eq!(cached.len(), recomputed.len(), "{when}: {name} row count");
        for (a, b) in cached.iter().zip(&recomputed) {
            assert_eq!(a, b, "{when}: {name}");
        }
    }
}

#[test]
fn the_report_caches_follow_every_change_to_their_rows() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let (_dir, path) = crate::common::demo_file(80, 11, today);
    let core = Core::open_with_clock(&path, centredesk_core::ManualClock::new(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 25, 2, 0, 0).unwrap())).unwrap();
    let admin = core.login("admin", centredesk_core::demo::DEMO_PASSWORD).unwrap();
    let raw = Connection::open(&path).unwrap();
    raw.pragma_update(None, "foreign_keys", true).unwrap();
    assert_caches_match(&raw, "after the demo");

    // Two members who both came to lessons and paid: merge the second into the first
    // (attendance moves to the survivor by UPDATE; payments stay where they are).
    let pair: Vec<String> = raw
        .prepare(
            "SELECT m.id FROM members m WHERE m.status = 'active' AND EXISTS (SELECT 1 FROM member_attended a WHERE a.member_id = m.id)
               AND EXISTS (SELECT 1 FROM payments p WHERE p.member_id = m.id) ORDER BY m.member_no LIMIT 2",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(pair.len(), 2);
    core.member_merge(&admin, &pair[0], &pair[1]).unwrap();
    assert_caches_match(&raw, "after a merge");

    // Contracts: lesson packages used up (some before their end date, so they end on
    // their last lesson), one refunded, end dates moved, a renewal made and one re-pointed
    // to another contract (the first loses its "renewed").
    raw.execute_batch(
        "UPDATE contracts SET lessons_used = lessons_total WHERE rowid IN (
           SELECT k.rowid FROM contracts k WHERE k.kind = 'lessons' AND k.status = 'active' AND k.lessons_used < k.lessons_total
             AND EXISTS (SELECT 1 FROM contract_consumed u WHERE u.contract_id = k.id) ORDER BY k.id LIMIT 6);
         UPDATE contracts SET status = 'refunded' WHERE rowid IN (SELECT rowid FROM contracts WHERE status = 'active' ORDER BY id DESC LIMIT 2);
         UPDATE contracts SET end_date = date(end_date, '+30 days') WHERE rowid IN (SELECT rowid FROM contracts WHERE status = 'active' ORDER BY id LIMIT 3);
         UPDATE contracts SET renewal_of = (SELECT id FROM contracts WHERE renewal_of IS NULL ORDER BY id LIMIT 1 OFFSET 7)
           WHERE id = (SELECT id FROM contracts WHERE renewal_of IS NULL ORDER BY id DESC LIMIT 1);
         UPDATE contracts SET renewal_of = (SELECT id FROM contracts ORDER BY id LIMIT 1 OFFSET 9)
           WHERE id = (SELECT id FROM contracts WHERE renewal_of IS NOT NULL ORDER BY id LIMIT 1);",
    )
    .unwrap();
    assert!(raw.query_row("SELECT COUNT(*) FROM contract_ends e JOIN contracts k ON k.id = e.contract_id WHERE e.ended_on < k.end_date", [], |r| r.get::<_, i64>(0)).unwrap() > 0, "a package used up before its end date");
    assert_caches_match(&raw, "after contracts used up, refunded, extended and renewed");

    // Marks changed in place, removed (the latest mark of some member, so his last lesson
    // goes back) and a session with marks moved to another day.
    raw.execute_batch(
        "UPDATE attendance SET mark = CASE mark WHEN 'present' THEN 'absent' WHEN 'absent' THEN 'makeup' ELSE 'present' END
           WHERE rowid IN (SELECT rowid FROM attendance ORDER BY rowid DESC LIMIT 40);
         UPDATE attendance SET consumed = 1 - consumed WHERE contract_id IS NOT NULL AND rowid IN (SELECT rowid FROM attendance ORDER BY rowid LIMIT 25);
         DELETE FROM attendance WHERE rowid IN (
           SELECT a.rowid FROM attendance a JOIN class_sessions s ON s.id = a.session_id JOIN member_attended la ON la.member_id = a.member_id AND la.last_date = s.date
           WHERE a.mark IN ('present','late','makeup') LIMIT 30);
         UPDATE class_sessions SET date = date(date, '+3 days') WHERE id IN (SELECT session_id FROM attendance GROUP BY session_id ORDER BY session_id DESC LIMIT 5);
         UPDATE class_sessions SET date = date(date, '-200 days') WHERE id IN (SELECT session_id FROM attendance GROUP BY session_id ORDER BY session_id LIMIT 5);
         UPDATE leads SET status = 'visited' WHERE rowid IN (SELECT rowid FROM leads WHERE status IN ('new', 'contacted') LIMIT 3);
         UPDATE leads SET status = 'lost', lost_reason = '价格' WHERE rowid IN (SELECT rowid FROM leads WHERE status IN ('visited', 'trial') LIMIT 3);",
    )
    .unwrap();
    assert_caches_match(&raw, "after marks changed, removed and moved, and leads moved on or lost");

    // Money through the app: a payment reversed (the demo already holds refunds).
    let payment: String = raw
        .query_row(
            "SELECT p.id FROM payments p WHERE p.kind = 'payment' AND p.contract_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.reverses_id = p.id) ORDER BY p.taken_at DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    core.payment_reverse(&admin, &payment, "收错金额").unwrap();
    assert_caches_match(&raw, "after a reversal");
}
