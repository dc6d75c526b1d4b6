//! The real pusher (centredesk-core's sync module) against the real server on port 0.


use centredesk_core::members::{GuardianInput, MemberApplication};
use centredesk_core::sync::SyncError;
use crate::common::*;
use serde_json::Value;

fn apply(c: &Centre, name: &str, phone: &str) -> String {
    let app = MemberApplication {
        name: name.into(),
        gender: "F".into(),
        guardian: Some(GuardianInput { name: "家长".into(), relation: "妈妈".into(), phone: phone.into(), wechat: String::new() }),
        referred_by: None,
        notes: String::new(),
    };
    c.core.member_apply(&c.admin, app).unwrap().id
}

#[test]
fn first_full_push_then_incremental_leaves_the_server_equal_to_the_fold_of_the_log() {
    let server = Server::start();
    let sh = server.add_centre("SH01");
    let c = demo_centre(30, 7);
    assert!(!c.core.sync_state().unwrap().enabled, "sync is off until registered");
    c.register(&server, "SH01");
    let total = c.log_len();
    assert!(total > centredesk_core::sync::BATCH_OPS as i64, "the demo needs several batches");
    assert_eq!(c.core.sync_state().unwrap().ops_waiting, total);

    let report = c.core.sync_now(&c.admin).unwrap();
    assert_eq!(report.sent as i64, total);
    assert_eq!(report.acked_through_seq, total);
    assert!(report.batches >= (total as usize).div_ceil(centredesk_core::sync::BATCH_OPS));
    assert_eq!(server.rows(sh), c.fold(), "server rows = fold of the change log");

    // The server's members and contracts are the centre's, row for row.
    let conn = c.raw();
    let centre_members: Vec<(String, String, String)> = conn
        .prepare("SELECT id, name, status FROM members ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let server_members: Vec<(String, String, String)> = server
        .store
        .rows(sh, "member")
        .unwrap()
        .into_iter()
        .map(|(id, v)| (id, v["name"].as_str().unwrap().to_string(), v["status"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(server_members, centre_members);
    let contracts: i64 = conn.query_row("SELECT COUNT(*) FROM contracts", [], |r| r.get(0)).unwrap();
    assert_eq!(server.store.rows(sh, "contract").unwrap().len() as i64, contracts);
    let centre_contracts: Vec<(String, i64, String, String)> = conn
        .prepare("SELECT id, lessons_used, status, end_date FROM contracts ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let server_contracts: Vec<(String, i64, String, String)> = server
        .store
        .rows(sh, "contract")
        .unwrap()
        .into_iter()
        .map(|(id, v)| (id, v["lessons_used"].as_i64().unwrap(), v["status"].as_str().unwrap().into(), v["end_date"].as_str().unwrap().into()))
        .collect();
    assert_eq!(server_contracts, centre_contracts, "lessons used, status and paused end dates follow the centre");
    let stock: Vec<(String, i64)> =
        conn.prepare("SELECT id, stock FROM goods ORDER BY id").unwrap().query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    let server_stock: Vec<(String, i64)> =
        server.store.rows(sh, "goods").unwrap().into_iter().map(|(id, v)| (id, v["stock"].as_i64().unwrap())).collect();
    assert_eq!(server_stock, stock);
    let reversed: Vec<String> = conn
        .prepare("SELECT reverses_id FROM payments WHERE reverses_id IS NOT NULL ORDER BY reverses_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let server_reversed: Vec<String> =
        server.store.rows(sh, "payment").unwrap().into_iter().filter(|(_, v)| v["reversed"] == Value::Bool(true)).map(|(id, _)| id).collect();
    assert_eq!(server_reversed, reversed, "a reversal marks the entry it reverses");
    let attendance: i64 = conn.query_row("SELECT COUNT(*) FROM attendance", [], |r| r.get(0)).unwrap();
    assert_eq!(server.store.rows(sh, "attendance").unwrap().len() as i64, attendance);
    // Goods returns (stock back through the same `stock_move` special case), each sale's
    // returned count, and the cash hand-ins with the voided one follow the centre.
    let returned: Vec<(String, i64)> =
        conn.prepare("SELECT id, returned FROM goods_sales ORDER BY id").unwrap().query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert!(returned.iter().any(|(_, n)| *n > 0), "the demo takes goods back");
    let server_returned: Vec<(String, i64)> =
        server.store.rows(sh, "goods_sale").unwrap().into_iter().map(|(id, v)| (id, v["returned"].as_i64().unwrap())).collect();
    assert_eq!(server_returned, returned);
    let returns: i64 = conn.query_row("SELECT COUNT(*) FROM goods_returns", [], |r| r.get(0)).unwrap();
    assert_eq!(server.store.rows(sh, "goods_return").unwrap().len() as i64, returns);
    let handins: Vec<(String, i64, bool)> = conn
        .prepare("SELECT id, amount, voided_at IS NOT NULL FROM cash_handins ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(handins.iter().any(|h| h.2), "the demo voids a hand-in");
    let server_handins: Vec<(String, i64, bool)> = server
        .store
        .rows(sh, "cash_handin")
        .unwrap()
        .into_iter()
        .map(|(id, v)| (id, centredesk_server::reports::fen(v["amount"].as_str().unwrap()).unwrap(), !v["voided_at"].is_null()))
        .collect();
    assert_eq!(server_handins, handins);

    // Head office's monthly revenue adds up to the centre's ledger.
    let ledger: i64 = conn.query_row("SELECT COALESCE(SUM(amount), 0) FROM payments", [], |r| r.get(0)).unwrap();
    let figures = centredesk_server::reports::monthly(server.store.as_ref(), Some("SH01"), "2026-11").unwrap();
    let revenue: i64 = figures.iter().map(|f| centredesk_server::reports::fen(&f.revenue).unwrap()).sum();
    assert_eq!(revenue, ledger);
    assert!(figures.iter().any(|f| f.active_members > 0 && f.attendances > 0));

    let state = c.core.sync_state().unwrap();
    assert_eq!(state.ops_waiting, 0);
    assert!(state.last_success_at.is_some() && state.last_error.is_none());
    assert!(state.clock_warning.is_none(), "same machine, same clock");

    // Incremental: new writes, including a merge (rows move on the server too).
    let a = apply(&c, "林小雨", "13911112222");
    let b = apply(&c, "林小雨", "13911112222");
    c.core.member_merge(&c.admin, &a, &b).unwrap();
    c.core.member_set_status(&c.admin, &a, "left").ok();
    let paid: String = conn.query_row("SELECT id FROM payments p WHERE kind = 'payment' AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.reverses_id = p.id) LIMIT 1", [], |r| r.get(0)).unwrap();
    c.core.payment_reverse(&c.admin, &paid, "录错了").unwrap();
    let before = total;
    let waiting = c.core.sync_state().unwrap().ops_waiting;
    assert_eq!(waiting, c.log_len() - before);
    let report = c.core.sync_now(&c.admin).unwrap();
    assert_eq!(report.sent as i64, waiting);
    assert_eq!(report.duplicates, 0);
    assert_eq!(server.rows(sh), c.fold());
    assert_eq!(server.store.rows(sh, "member").unwrap().iter().find(|(id, _)| *id == b).unwrap().1["merged_into"], Value::String(a.clone()));
    assert_eq!(server.store.rows(sh, "payment").unwrap().iter().find(|(id, _)| *id == paid).unwrap().1["reversed"], Value::Bool(true));

    // Nothing waiting: nothing sent.
    assert_eq!(c.core.sync_now(&c.admin).unwrap().sent, 0);
}

#[test]
fn a_lost_answer_and_a_forgotten_state_file_resume_exactly_at_the_servers_seq() {
    let mut server = Server::start();
    let sh = server.add_centre("SH01");
    let c = demo_centre(10, 3);
    c.register(&server, "SH01");
    // The server applied ops 1..=40 but the client never heard (a dropped response).
    let (status, v) = post(&format!("{}/api/v1/sync/push", server.url), Some(&c.token()), &[], &push_body(&c.ops(1, 40)));
    assert_eq!(status, 200, "{v}");
    // The client crashes and loses its state file's progress (its settings survive).
    let settings = centredesk_core::sync::settings_path(c.core.path());
    let mut file: Value = serde_json::from_slice(&std::fs::read(&settings).unwrap()).unwrap();
    file["acked_through_seq"] = 0.into();
    std::fs::write(&settings, file.to_string()).unwrap();
    // The server restarts too.
    server.restart();
    let report = c.core.sync_now(&c.admin).unwrap();
    assert_eq!(report.sent as i64, c.log_len() - 40, "resumed at 41, nothing resent");
    assert_eq!(report.duplicates, 0);
    assert_eq!(server.rows(sh), c.fold());
}

#[test]
fn a_server_that_is_down_is_a_transient_error_in_plain_words_and_nothing_is_lost() {
    let server = Server::start();
    let sh = server.add_centre("SH01");
    let c = demo_centre(5, 1);
    c.register(&server, "SH01");
    let url = server.url.clone();
    let store = server.store.clone();
    drop(server);
    let err = c.core.sync_now(&c.admin).unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    let state = c.core.sync_state().unwrap();
    let problem = state.last_error.unwrap();
    assert!(problem.transient && problem.zh.contains("连不上总部服务器") && problem.en.contains("Cannot reach"), "{problem:?}");
    assert_eq!(state.ops_waiting, c.log_len());
    assert!(store.all_rows(sh).unwrap().is_empty());
    let _ = url;
}

#[test]
fn registration_needs_head_office_credentials_and_a_known_centre() {
    let server = Server::start();
    server.add_centre("SH01");
    let c = demo_centre(3, 2);
    let wrong = c.core.sync_register(&c.admin, &server.url, "SH01", HO_USER, "nope", "desk").unwrap_err();
    assert!(matches!(wrong, SyncError::BadCredentials), "{wrong:?}");
    let unknown = c.core.sync_register(&c.admin, &server.url, "BJ99", HO_USER, HO_PASSWORD, "desk").unwrap_err();
    assert!(matches!(unknown, SyncError::Rejected { status: 404, .. }), "{unknown:?}");
    assert!(!centredesk_core::sync::token_path(c.core.path()).exists(), "no token kept after a failed registration");
    assert!(matches!(c.core.sync_now(&c.admin).unwrap_err(), SyncError::NotRegistered));
    c.register(&server, "SH01");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(centredesk_core::sync::token_path(c.core.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the token file is the user's alone");
    }
    let clerk = {
        c.core
            .staff_create(
                &c.admin,
                centredesk_core::auth::NewStaff {
                    username: "desk2".into(),
                    display_name: "前台二".into(),
                    role: centredesk_core::Role::Clerk,
                    password: "password-2".into(),
                },
            )
            .unwrap();
        c.core.login("desk2", "password-2").unwrap()
    };
    assert!(matches!(c.core.sync_register(&clerk, &server.url, "SH01", HO_USER, HO_PASSWORD, "x"), Err(SyncError::Core(_))), "managers only");
    assert!(c.core.sync_now(&clerk).is_ok(), "anyone may press sync now");
}

/// A payment on the centre's first contract that still owes money; its receipt number.
fn pay_something(c: &Centre) -> (String, String) {
    let conn = c.raw();
    let contract: String = conn
        .query_row(
            "SELECT k.id FROM contracts k WHERE k.status = 'active' AND k.amount_due > (SELECT COALESCE(SUM(amount), 0) FROM payments p WHERE p.contract_id = k.id AND p.kind <> 'refund') ORDER BY k.id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let input = centredesk_core::payments::PaymentInput { contract_id: contract, amount: "1".into(), method: "cash".into(), note: String::new() };
    let r = c.core.payment_take(&c.admin, input, centredesk_core::Lang::ZhCn).unwrap();
    (r.payment.id, r.payment.receipt_no)
}

fn server_receipts(server: &Server, centre: i64) -> std::collections::BTreeMap<String, String> {
    server.store.rows(centre, "payment").unwrap().into_iter().map(|(id, v)| (v["receipt_no"].as_str().unwrap().to_string(), id)).collect()
}

#[test]
fn a_restored_desk_replaces_head_offices_rows_and_never_reissues_a_number_that_left_it() {
    let server = Server::start();
    let sh = server.add_centre("SH01");
    let c = demo_centre(8, 41);
    c.register(&server, "SH01");
    c.core.sync_now(&c.admin).unwrap();
    let backup = c.core.backup_now(&c.admin).unwrap();
    // After the backup: a new member and a payment, both pushed to head office.
    let phantom = apply(&c, "林晓晓", "13911119999");
    let (paid, receipt) = pay_something(&c);
    c.core.sync_now(&c.admin).unwrap();
    assert!(server.store.rows(sh, "member").unwrap().iter().any(|(id, _)| *id == phantom));
    let acked_before = server.store.centres().unwrap()[0].acked_through_seq;

    // The manager restores the backup, and the desk writes more than it lost before the
    // next push (today's bug: the reused seqs were never sent and the light turned green).
    c.core.restore_backup(&c.admin, &backup.file_name).unwrap();
    let admin = c.core.login("admin", centredesk_core::demo::DEMO_PASSWORD).unwrap();
    for i in 0..8 {
        c.core
            .member_apply(&admin, MemberApplication { name: "恢复后".into(), gender: "M".into(), guardian: None, referred_by: None, notes: format!("{i}") })
            .unwrap();
    }
    let (paid_again, receipt_again) = pay_something(&c);
    assert!(c.log_len() > acked_before, "the log has grown past the old acknowledged seq");
    assert_ne!(receipt_again, receipt, "the restored desk did not reissue {receipt}");
    let report = c.core.sync_now(&c.admin).unwrap();
    assert!(report.rebased && report.acked_through_seq == c.log_len(), "{report:?}");
    assert_eq!(server.rows(sh), c.fold(), "head office holds exactly the desk's truth");
    assert!(!server.store.rows(sh, "member").unwrap().iter().any(|(id, _)| *id == phantom), "no phantom member");
    let receipts = server_receipts(&server, sh);
    assert!(!receipts.values().any(|id| *id == paid), "the lost payment is gone from head office");
    assert_eq!(receipts.get(&receipt_again), Some(&paid_again));
    let state = c.core.sync_state().unwrap();
    let said = state.last_resync.expect("the panel says what happened");
    assert!(said.zh.contains("恢复过备份") && said.en.contains("restored backup"), "{said:?}");
    assert!(state.last_error.is_none());
    // And the next push is an ordinary one.
    apply(&c, "再来一个", "13911118888");
    let report = c.core.sync_now(&c.admin).unwrap();
    assert!(!report.rebased && report.sent == 3, "{report:?}: the new member, its guardian and their link");
    assert_eq!(server.rows(sh), c.fold());
}

#[test]
fn a_log_that_lost_its_newest_commits_is_found_before_any_push_and_sent_again() {
    let server = Server::start();
    let sh = server.add_centre("SH01");
    let c = demo_centre(8, 43);
    c.register(&server, "SH01");
    c.core.sync_now(&c.admin).unwrap();
    let copy = c.core.backup_now(&c.admin).unwrap();
    let (_, receipt) = pay_something(&c);
    c.core.sync_now(&c.admin).unwrap();
    // Power cut on a disk that lied about flushing: the file is the older copy again.
    let path = c.core.path().to_path_buf();
    let clock = desk_clock();
    drop(c.core);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::copy(&copy.path, &path).unwrap();
    let core = centredesk_core::Core::open_with_clock(&path, clock).unwrap();
    let c = Centre { admin: core.login("admin", centredesk_core::demo::DEMO_PASSWORD).unwrap(), core, dir: c.dir };
    for i in 0..4 {
        apply(&c, "断电后", &format!("1391111{:04}", 7000 + i));
    }
    let report = c.core.sync_now(&c.admin).unwrap();
    assert!(report.rebased, "{report:?}");
    assert_eq!(server.rows(sh), c.fold());
    // The number the server had seen is skipped from now on.
    let (_, next) = pay_something(&c);
    assert!(centredesk_protocol::sync::number_of(&next) > centredesk_protocol::sync::number_of(&receipt), "{next} after {receipt}");
    c.core.sync_now(&c.admin).unwrap();
    assert_eq!(server.rows(sh), c.fold());
}
