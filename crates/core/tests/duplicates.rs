//! Duplicate members found and merged on a real database: what moves, what a clash of
//! roll calls gives back, what the reports then say, and that a refused merge changes
//! nothing.

use crate::common;

use centredesk_core::analysis::AnalysisFilter;
use centredesk_core::attendance::{MarkInput, RollCallInput};
use centredesk_core::contracts::EnrolInput;
use centredesk_core::members::{MemberApplication, MemberFilter};
use centredesk_core::payments::PaymentInput;
use centredesk_core::timetable::{ClassGroupInput, RoomInput, SessionFilter, SlotInput};
use centredesk_core::Lang;
use crate::common::*;

struct Twins {
    c: Centre,
    keep: String,
    dup: String,
    keep_contract: String,
    dup_contract: String,
    sessions: Vec<String>,
}

fn present(member: &str) -> MarkInput {
    MarkInput { member_id: member.into(), mark: "present".into(), comment: String::new(), ..Default::default() }
}

/// 王小明 registered twice (once by each parent's phone), each record with a contract, a
/// payment and roll calls on two Wednesdays — the first Wednesday marked on both.
fn twins() -> Twins {
    let c = common::centre();
    let keep = c.member("王小明", "13800001111");
    let dup = c.member("王小明", "13900002222");
    let pkg = c.lesson_package(10, "1000");
    let enrol = |m: &str| {
        let k = c
            .core
            .contract_enrol(&c.admin, EnrolInput { member_id: m.into(), package_id: pkg.id.clone(), discount: String::new(), start_date: Some("2026-11-01".into()), consultant_id: None, renewal_of: None, notes: String::new() })
            .unwrap()
            .contract
            .id;
        c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.clone(), amount: "600".into(), method: "wechat".into(), note: String::new() }, centredesk_core::Lang::ZhCn).unwrap();
        k
    };
    let (keep_contract, dup_contract) = (enrol(&keep.id), enrol(&dup.id));
    let room = c.core.room_create(&c.admin, RoomInput { name: "道馆".into(), capacity: 30 }).unwrap().id;
    let group = c
        .core
        .group_create(&c.admin, ClassGroupInput { name: "周三班".into(), course: String::new(), level: String::new(), coach_id: Some(c.coach.staff_id.clone()), capacity: 30 })
        .unwrap()
        .id;
    c.core
        .slot_create(&c.admin, SlotInput { season_id: None, weekday: 3, start_time: "18:00".into(), end_time: "19:00".into(), room_id: room, coach_id: c.coach.staff_id.clone(), group_id: group.clone() })
        .unwrap();
    c.core.sessions_generate(&c.admin, "2026-11-18", "2026-11-25").unwrap();
    let sessions: Vec<String> = c
        .core
        .session_list(&c.admin, SessionFilter { from_date: "2026-11-18".into(), to_date: "2026-11-25".into(), ..Default::default() })
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(sessions.len(), 2);
    for m in [&keep.id, &dup.id] {
        c.core.group_add_member(&c.admin, &group, m, Some("2026-11-01".into()), false).unwrap();
    }
    c.to_class(&sessions[0]);
    c.core.roll_call(&c.coach, &sessions[0], RollCallInput { marks: vec![present(&keep.id), present(&dup.id)], trials: vec![], ..Default::default() }).unwrap();
    c.to_class(&sessions[1]);
    c.core.roll_call(&c.coach, &sessions[1], RollCallInput { marks: vec![present(&dup.id)], trials: vec![], ..Default::default() }).unwrap();
    Twins { c, keep: keep.id, dup: dup.id, keep_contract, dup_contract, sessions }
}

fn used(c: &Centre, contract: &str) -> i64 {
    c.raw().query_row("SELECT lessons_used FROM contracts WHERE id = ?1", [contract], |r| r.get(0)).unwrap()
}

#[test]
fn duplicates_are_the_same_name_with_the_same_birthday_or_a_shared_phone() {
    let t = twins();
    let c = &t.c;
    // A sibling on the same phone is not a duplicate; a namesake born another day with
    // another phone is not either; an unapproved namesake on the keep's phone is.
    let sibling = c.member("王小红", "13800001111");
    let other = c.core.member_apply(&c.clerk, MemberApplication { name: "王小明".into(), gender: "M".into(), guardian: None, referred_by: None, notes: String::new() }).unwrap();
    let _ = (sibling, other);
    let same_phone = c
        .core
        .member_apply(
            &c.clerk,
            MemberApplication {
                name: "王小明".into(),
                gender: "M".into(),
                guardian: Some(centredesk_core::members::GuardianInput { name: "王爸爸".into(), relation: "爸爸".into(), phone: "13800001111".into(), wechat: String::new() }),
                referred_by: None,
                notes: String::new(),
            },
        )
        .unwrap();
    let pairs = c.core.member_duplicates(&c.admin).unwrap();
    let mut found: Vec<(String, String, Vec<String>)> = pairs.iter().map(|p| (p.keep.id.clone(), p.duplicate.id.clone(), p.reasons.clone())).collect();
    found.sort();
    let mut expected = vec![
        (t.keep.clone(), t.dup.clone(), vec!["same_birthday".to_string()]),
        (t.keep.clone(), same_phone.id.clone(), vec!["same_phone".to_string()]),
    ];
    // The approved record with the older number is suggested as the one to keep.
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(c.core.member_duplicates(&c.clerk).unwrap_err().code(), "forbidden");
}

#[test]
fn merging_moves_contracts_attendance_and_payments_and_gives_back_a_double_lesson() {
    let t = twins();
    let c = &t.c;
    let paid_before = c.count("SELECT SUM(amount) FROM payments");
    assert_eq!((used(c, &t.keep_contract), used(c, &t.dup_contract)), (1, 2));
    let log_before = c.log_len();

    let detail = c.core.member_merge(&c.admin, &t.keep, &t.dup).unwrap();

    // Contracts, and their payments, are the survivor's: two contracts, two receipts.
    assert_eq!(detail.contracts.len(), 2);
    assert_eq!(detail.payments.len(), 2);
    assert_eq!(detail.balance_due.to_string(), "800.00");
    assert_eq!(c.count("SELECT SUM(amount) FROM payments"), paid_before, "the ledger is untouched");
    // The first Wednesday was marked on both records: one mark stays, and the lesson the
    // duplicate's mark deducted goes back. The second Wednesday moves over.
    assert_eq!(c.count(&format!("SELECT COUNT(*) FROM attendance WHERE member_id = '{}'", t.keep)), 2);
    assert_eq!(c.count(&format!("SELECT COUNT(*) FROM attendance WHERE member_id = '{}'", t.dup)), 0);
    assert_eq!(used(c, &t.keep_contract) + used(c, &t.dup_contract), 2, "one lesson per Wednesday");
    let marked: i64 = c.raw().query_row("SELECT COUNT(*) FROM attendance WHERE session_id = ?1", [&t.sessions[0]], |r| r.get(0)).unwrap();
    assert_eq!(marked, 1);
    // Both parents' phones now reach the child; the duplicate's record is kept as left.
    let phones: Vec<String> = detail.guardians.iter().map(|g| g.guardian.phone.clone()).collect();
    assert_eq!(phones, ["13800001111", "13900002222"]);
    assert_eq!(detail.guardians.iter().filter(|g| g.is_primary).count(), 1);
    let dup = c.core.member_get(&c.admin, &t.dup).unwrap();
    assert_eq!((dup.member.status.as_str(), dup.member.merged_into.as_deref()), ("left", Some(t.keep.as_str())));
    assert!(dup.contracts.is_empty());
    // The merge is in the change log, on both records' timelines, in one transaction.
    // (and the points the dropped mark had earned are taken back by a third entry).
    assert_eq!(c.log_len(), log_before + 3);
    // Points: 600 + 600 yuan paid at 1 a yuan, and two Wednesdays attended at 5 each.
    assert_eq!(c.core.points_account(&c.admin, &t.keep).unwrap().balance, 1210);
    let ops: Vec<String> = c.core.member_timeline(&c.admin, &t.keep, 1).unwrap().into_iter().map(|e| e.op).collect();
    assert_eq!(ops, ["merge"]);
    let moved = &c.core.member_timeline(&c.admin, &t.dup, 1).unwrap()[0];
    assert_eq!(moved.op, "merged_into");
    assert_eq!(moved.data["moved"]["attendance_dropped"].as_array().unwrap().len(), 1);
    assert_eq!(moved.data["moved"]["contracts"][0], t.dup_contract.as_str());

    // The reports count the duplicate's payments for the survivor.
    let filter = AnalysisFilter {
        report: "customers".into(),
        from_date: "2026-01-01".into(),
        to_date: "2026-11-30".into(),
        days_ahead: None,
        lessons_left: None,
        a_percent: None,
        b_percent: None,
    };
    let tables = c.core.analysis(&c.admin, &filter, Lang::ZhCn).unwrap();
    let abc = tables.iter().find(|t| t.key == "abc").unwrap();
    assert_eq!(abc.member_ids, [t.keep.clone()]);
    assert_eq!(abc.rows[0][3], "1200.00");
    // Nothing is listed twice any more, and the search finds one 王小明 who is current.
    assert!(c.core.member_duplicates(&c.admin).unwrap().is_empty());
    let active = c.core.member_list(&c.admin, MemberFilter { status: Some("active".into()), ..Default::default() }).unwrap();
    assert_eq!(active.rows.iter().filter(|r| r.name == "王小明").count(), 1);
}

#[test]
fn a_refused_merge_changes_nothing() {
    let t = twins();
    let c = &t.c;
    let before = c.snapshot();
    assert_eq!(c.core.member_merge(&c.clerk, &t.keep, &t.dup).unwrap_err().code(), "forbidden");
    assert_eq!(c.core.member_merge(&c.admin, &t.keep, &t.keep).unwrap_err().code(), "conflict.merge_same_member");
    assert_eq!(c.core.member_merge(&c.admin, &t.keep, "no-such-member").unwrap_err().code(), "not_found");
    assert_eq!(c.snapshot(), before);
    c.core.member_merge(&c.admin, &t.keep, &t.dup).unwrap();
    let after = c.snapshot();
    assert_eq!(c.core.member_merge(&c.admin, &t.keep, &t.dup).unwrap_err().code(), "conflict.member_already_merged");
    assert_eq!(c.core.member_merge(&c.admin, &t.dup, &t.keep).unwrap_err().code(), "conflict.merge_into_inactive");
    assert_eq!(c.snapshot(), after);
}
