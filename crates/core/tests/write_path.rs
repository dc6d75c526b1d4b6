//! The one write path: every mutation is in the change log, in the same transaction;
//! a failed call leaves nothing behind, and `seq` stays gap-free.

use crate::common;

use centredesk_core::contracts::EnrolInput;
use centredesk_core::members::{GuardianInput, MemberApplication};
use centredesk_core::payments::PaymentInput;

fn application(phone: &str) -> MemberApplication {
    MemberApplication {
        name: "林一一".into(),
        gender: "F".into(),
        guardian: Some(GuardianInput { name: "林妈妈".into(), relation: "妈妈".into(), phone: phone.into(), wechat: String::new() }),
        referred_by: None,
        notes: String::new(),
    }
}

#[test]
fn each_mutation_appends_attributed_versioned_entries() {
    let c = common::centre();
    let before = c.log_len();
    let m = c.core.member_apply(&c.clerk, application("13700000000")).unwrap();
    let rows: Vec<(i64, String, String, String, Option<String>, String, String)> = c
        .raw()
        .prepare("SELECT seq, op_id, entity, op, staff_id, payload, at FROM change_log WHERE seq > ?1 ORDER BY seq")
        .unwrap()
        .query_map([before], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let ops: Vec<String> = rows.iter().map(|r| format!("{}.{}", r.2, r.3)).collect();
    assert_eq!(ops, ["member.apply", "guardian.create", "member_guardian.link"]);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.0, before + 1 + i as i64, "seq is gap-free");
        assert_eq!(uuid::Uuid::parse_str(&r.1).unwrap().get_version_num(), 7, "op_id is a UUIDv7");
        assert_eq!(r.4.as_deref(), Some(c.clerk.staff_id.as_str()), "attributed to the clerk");
        let payload: serde_json::Value = serde_json::from_str(&r.5).unwrap();
        assert_eq!(payload["v"], 1);
        assert_eq!(r.6, "2026-11-25T02:00:00.000Z");
    }
    let first: serde_json::Value = serde_json::from_str(&rows[0].5).unwrap();
    assert_eq!(first["data"]["id"], m.id.as_str());
    assert_eq!(first["data"]["name"], "林一一");
    assert_eq!(uuid::Uuid::parse_str(&m.id).unwrap().get_version_num(), 7, "row ids are UUIDv7");
}

#[test]
fn a_refused_call_saves_nothing_and_leaves_no_gap() {
    let c = common::centre();
    let before = c.snapshot();
    let e = c.core.member_apply(&c.clerk, application("1380000")).unwrap_err();
    assert_eq!(e.code(), "validation.phone_format");
    assert_eq!(e.field(), Some(centredesk_core::error::Field::GuardianPhone));
    assert_eq!(c.snapshot(), before);

    // A failure discovered deep inside the transaction (after rows were written)
    // rolls everything back: the discount check runs after the member is loaded.
    let m = c.member("林二二", "13700000001");
    let pkg = c.lesson_package(10, "1000");
    let before = c.snapshot();
    let e = c
        .core
        .contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id.clone(), discount: "1000.01".into(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
        .unwrap_err();
    assert_eq!(e.code(), "validation.not_more_than");
    assert_eq!(c.snapshot(), before);

    let seq_before: i64 = c.count("SELECT MAX(seq) FROM change_log");
    let k = c
        .core
        .contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
        .unwrap();
    let bad = c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.contract.id.clone(), amount: "-5".into(), method: "cash".into(), note: String::new() }, centredesk_core::Lang::ZhCn);
    assert_eq!(bad.unwrap_err().message(centredesk_core::Lang::En), "Amount cannot be negative");
    c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.contract.id.clone(), amount: "5".into(), method: "cash".into(), note: String::new() }, centredesk_core::Lang::ZhCn).unwrap();
    let seqs: Vec<i64> = c.raw().prepare("SELECT seq FROM change_log WHERE seq > ?1 ORDER BY seq").unwrap().query_map([seq_before], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(seqs, (seq_before + 1..=seq_before + seqs.len() as i64).collect::<Vec<_>>(), "no gaps after failures");
}

#[test]
fn every_table_row_written_is_covered_by_the_log() {
    // After a busy demo year, each member, guardian, lead, package, contract and payment
    // has at least one log entry for its id, and every log payload is versioned JSON.
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let (_dir, path) = crate::common::demo_file(60, 3, today);
    let raw = rusqlite::Connection::open(&path).unwrap();
    for table in ["members", "guardians", "member_guardians", "leads", "lead_follow_ups", "packages", "contracts", "payments", "staff"] {
        let orphans: i64 = raw
            .query_row(&format!("SELECT COUNT(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM change_log l WHERE l.entity_id = t.id)"), [], |r| r.get(0))
            .unwrap();
        let total: i64 = raw.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap();
        assert!(total > 0, "{table} is empty in the demo");
        assert_eq!(orphans, 0, "{table} rows written without a change-log entry");
    }
    let unversioned: i64 = raw.query_row("SELECT COUNT(*) FROM change_log WHERE json_extract(payload, '$.v') IS NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(unversioned, 0);
    let (min, max, n): (i64, i64, i64) = raw.query_row("SELECT MIN(seq), MAX(seq), COUNT(*) FROM change_log", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    assert_eq!((min, max), (1, n), "seq is gap-free over the whole demo");
}
