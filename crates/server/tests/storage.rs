//! One storage suite, run on every backend: SQLite always, PostgreSQL when
//! `CENTREDESK_TEST_PG` points at a server (scripts/with-postgres.sh starts
//! a throwaway cluster and runs this file with it).


use crate::common::*;
use serde_json::{json, Value};

fn suite(backend: Backend) {
    let mut server = Server::start_on(backend);
    let a_id = server.add_centre("A");
    let b_id = server.add_centre("B");
    assert!(matches!(server.store.add_centre("A", "again"), Err(centredesk_server::store::StoreError::Exists(_))));
    let a = demo_centre(12, 21);
    let b = demo_centre(4, 22);
    a.register(&server, "A");
    b.register(&server, "B");

    // A lost answer: the server applied 1..=100, the client never heard.
    let (s, v) = post(&format!("{}/api/v1/sync/push", server.url), Some(&a.token()), &[], &push_body(&a.ops(1, 100)));
    assert_eq!(s, 200, "{backend:?}: {v}");
    // Full push resumes at 101; the server equals the fold of the log.
    let report = a.core.sync_now(&a.admin).unwrap();
    assert_eq!(report.sent as i64, a.log_len() - 100, "{backend:?}");
    assert_eq!(server.rows(a_id), a.fold(), "{backend:?}: rows = fold");

    // Replay: harmless.
    let before = server.rows(a_id);
    let (s, v) = post(&format!("{}/api/v1/sync/push", server.url), Some(&a.token()), &[], &push_body(&a.ops(1, 30)));
    assert_eq!((s, v["applied"].clone(), v["duplicates"].clone()), (200, json!(0), json!(30)), "{backend:?}");
    // Diverged, gap, cross-centre: refused, nothing applied.
    let mut ops = a.ops(5, 5);
    ops[0]["op_id"] = "00000000-0000-7000-8000-000000000001".into();
    assert_eq!(post(&format!("{}/api/v1/sync/push", server.url), Some(&a.token()), &[], &push_body(&ops)).0, 409);
    let (s, v) = post(&format!("{}/api/v1/sync/push", server.url), Some(&b.token()), &[], &push_body(&b.ops(3, 9)));
    assert_eq!((s, v["expected_seq"].clone()), (409, json!(1)), "{backend:?}");
    let a_member = server.store.rows(a_id, "member").unwrap()[0].0.clone();
    let mut ops = b.ops(1, 3);
    ops[2]["entity"] = "member".into();
    ops[2]["entity_id"] = a_member.clone().into();
    ops[2]["payload"] = json!({"v": 1, "data": {"id": a_member, "name": "x"}});
    assert_eq!(post(&format!("{}/api/v1/sync/push", server.url), Some(&b.token()), &[], &push_body(&ops)).0, 403);
    assert_eq!(server.rows(a_id), before, "{backend:?}");
    assert!(server.rows(b_id).is_empty(), "{backend:?}");

    // Server restart (store reopened), more writes, incremental push.
    server.restart();
    let m = a.core.member_list_first_id();
    a.core.member_set_status(&a.admin, &m, "left").unwrap();
    b.core.sync_now(&b.admin).unwrap();
    let report = a.core.sync_now(&a.admin).unwrap();
    assert!(report.sent >= 1 && report.duplicates == 0, "{backend:?}: {report:?}");
    assert_eq!(server.rows(a_id), a.fold(), "{backend:?}");
    assert_eq!(server.rows(b_id), b.fold(), "{backend:?}");

    // Consolidated figures agree with the ledgers.
    for (code, c) in [("A", &a), ("B", &b)] {
        let ledger: i64 = c.raw().query_row("SELECT COALESCE(SUM(amount), 0) FROM payments", [], |r| r.get(0)).unwrap();
        let figures = centredesk_server::reports::monthly(server.store.as_ref(), Some(code), "2026-11").unwrap();
        assert_eq!(figures.iter().map(|f| centredesk_server::reports::fen(&f.revenue).unwrap()).sum::<i64>(), ledger, "{backend:?} {code}");
    }
    let centres = server.store.centres().unwrap();
    assert_eq!(centres.iter().map(|c| c.acked_through_seq).collect::<Vec<_>>(), vec![a.log_len(), b.log_len()]);
    let _: Value = json!(null);
}

trait FirstMember {
    fn member_list_first_id(&self) -> String;
}

impl FirstMember for centredesk_core::Core {
    fn member_list_first_id(&self) -> String {
        rusqlite::Connection::open(self.path()).unwrap().query_row("SELECT id FROM members WHERE status <> 'left' LIMIT 1", [], |r| r.get(0)).unwrap()
    }
}

#[test]
fn storage_suite_on_sqlite() {
    suite(Backend::Sqlite);
}

#[test]
fn storage_suite_on_postgres() {
    if pg_base().is_none() {
        eprintln!("CENTREDESK_TEST_PG is not set: skipped (run scripts/with-postgres.sh)");
        return;
    }
    suite(Backend::Postgres);
}
