//! Referral rewards 转介绍 on a real database: a referred member's first contract paid in
//! full rewards each referrer up the chain per the table, once; a changed table applies
//! to later rewards; a refund (or a reversal that un-pays the contract) takes back exactly
//! that contract's rewards; cycles stop; a merged referrer is rewarded on the survivor,
//! and a merged duplicate's second reward is taken back;
//! the balance is always the ledger's sum; every write is in the change log; only the
//! manager changes the table, with errors in both languages.

use crate::common;

use centredesk_core::analysis::AnalysisFilter;
use centredesk_core::contracts::{EnrolInput, RefundInput, RefundRule};
use centredesk_core::members::{Member, MemberUpdate};
use centredesk_core::payments::PaymentInput;
use centredesk_core::Lang;
use crate::common::*;

static PHONE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn member(c: &Centre, name: &str, referred_by: Option<&Member>) -> Member {
    let n = PHONE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    c.member_referred(name, &format!("1390000{n:04}"), referred_by.map(|r| r.id.as_str()))
}

fn enrol(c: &Centre, m: &Member, package_id: &str) -> String {
    c.core
        .contract_enrol(
            &c.clerk,
            EnrolInput { member_id: m.id.clone(), package_id: package_id.into(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() },
        )
        .unwrap()
        .contract
        .id
}

fn pay(c: &Centre, contract_id: &str, amount: &str) -> String {
    c.core
        .payment_take(&c.clerk, PaymentInput { contract_id: contract_id.into(), amount: amount.into(), method: "wechat".into(), note: String::new() }, centredesk_core::Lang::ZhCn)
        .unwrap()
        .payment
        .id
}

/// Net referral points held by `m` (referral rewards and their reversals).
fn referral_points(c: &Centre, m: &Member) -> i64 {
    c.raw()
        .query_row(
            "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE member_id = ?1 AND kind IN ('referral', 'reversal') AND ref_id IN (SELECT id FROM contracts)",
            [&m.id],
            |r| r.get(0),
        )
        .unwrap()
}

/// (referrer, delta, kind) of the entries pointing at a contract, in order.
fn entries_for(c: &Centre, contract_id: &str) -> Vec<(String, i64, String)> {
    let raw = c.raw();
    let mut stmt = raw.prepare("SELECT member_id, delta, kind FROM points_ledger WHERE ref_id = ?1 ORDER BY rowid").unwrap();
    stmt.query_map([contract_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

fn set_table(c: &Centre, table: Vec<i64>) {
    let mut s = c.core.settings().unwrap();
    s.referral_rewards = table;
    c.core.settings_update(&c.admin, s).unwrap();
}

fn assert_balances_are_ledger_sums(c: &Centre, members: &[&Member]) {
    for m in members {
        let sum: i64 = c.raw().query_row("SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE member_id = ?1 OR member_id IN (SELECT id FROM members WHERE merged_into = ?1)", [&m.id], |r| r.get(0)).unwrap();
        assert_eq!(c.core.points_account(&c.clerk, &m.id).unwrap().balance, sum, "{}'s balance is the ledger's sum (with records merged into it)", m.name);
    }
}

fn assert_every_points_entry_logged(c: &Centre) {
    let unlogged = c.count(
        "SELECT COUNT(*) FROM points_ledger p WHERE NOT EXISTS (SELECT 1 FROM change_log l WHERE l.entity = 'points' AND l.entity_id = p.id)",
    );
    assert_eq!(unlogged, 0, "every points entry has its change-log entry");
}

#[test]
fn rewards_per_level_once_a_changed_table_later_and_a_refund_reverses_exactly_its_own() {
    let c = common::centre();
    let pkg = c.lesson_package(48, "4800").id;
    let a = member(&c, "王一", None);
    let b = member(&c, "李二", Some(&a));
    let cc = member(&c, "张三", Some(&b));
    assert_eq!(c.core.settings().unwrap().referral_rewards, vec![200, 50], "the default table");

    // The first instalment is not "paid": nothing yet.
    let k1 = enrol(&c, &cc, &pkg);
    pay(&c, &k1, "2000");
    assert_eq!((referral_points(&c, &b), referral_points(&c, &a)), (0, 0));
    // The payment that completes it rewards level 1 and level 2 per the table.
    let before = c.log_len();
    pay(&c, &k1, "2800");
    assert_eq!((referral_points(&c, &b), referral_points(&c, &a)), (200, 50));
    assert_eq!(entries_for(&c, &k1), vec![(b.id.clone(), 200, "referral".into()), (a.id.clone(), 50, "referral".into())]);
    assert!(c.log_len() >= before + 4, "payment, its points and two rewards logged");
    let reason: String = c.raw().query_row("SELECT reason FROM points_ledger WHERE ref_id = ?1 AND member_id = ?2", [&k1, &b.id], |r| r.get(0)).unwrap();
    assert!(reason.starts_with("L1 · 张三"), "{reason}");

    // A second contract, paid in two instalments, pays nothing more.
    let k2 = enrol(&c, &cc, &pkg);
    pay(&c, &k2, "1000");
    pay(&c, &k2, "3800");
    assert!(entries_for(&c, &k2).iter().all(|e| e.2 != "referral"), "no reward on the second contract");
    assert_eq!((referral_points(&c, &b), referral_points(&c, &a)), (200, 50));

    // A changed table applies to later rewards, not to those already given.
    set_table(&c, vec![300, 80, 10]);
    let d = member(&c, "赵四", Some(&cc));
    let kd = enrol(&c, &d, &pkg);
    pay(&c, &kd, "4800");
    assert_eq!(referral_points(&c, &cc), 300);
    assert_eq!((referral_points(&c, &b), referral_points(&c, &a)), (200 + 80, 50 + 10));

    // Refunding C's rewarded contract takes back exactly its rewards: D's stay.
    c.core.contract_refund(&c.admin, &k1, RefundInput { rule: RefundRule::Lessons, method: "cash".into(), reason: "家长搬家".into() }).unwrap();
    assert_eq!(
        entries_for(&c, &k1).into_iter().filter(|e| e.2 != "payment").collect::<Vec<_>>(),
        vec![
            (b.id.clone(), 200, "referral".into()),
            (a.id.clone(), 50, "referral".into()),
            (b.id.clone(), -200, "reversal".into()),
            (a.id.clone(), -50, "reversal".into()),
        ]
    );
    assert_eq!((referral_points(&c, &cc), referral_points(&c, &b), referral_points(&c, &a)), (300, 80, 10));
    let reversal_reason: String =
        c.raw().query_row("SELECT reason FROM points_ledger WHERE ref_id = ?1 AND kind = 'reversal' AND member_id = ?2", [&k1, &b.id], |r| r.get(0)).unwrap();
    assert_eq!(reversal_reason, "家长搬家");

    assert_balances_are_ledger_sums(&c, &[&a, &b, &cc, &d]);
    assert_every_points_entry_logged(&c);

    // The tree from A's side: B, C under B, D under C, with what each earned A.
    let tree = c.core.referral_tree(&c.clerk, &a.id).unwrap();
    let rows: Vec<(String, i64, i64, bool)> = tree.downline.iter().map(|n| (n.name.clone(), n.depth, n.points, n.enrolled)).collect();
    assert_eq!(rows, vec![("李二".into(), 1, 0, false), ("张三".into(), 2, 0, true), ("赵四".into(), 3, 10, true)]);
    assert_eq!(tree.points_total, 10);
    assert!(tree.upline.is_empty());
    // And from D's: C, B, A above, with what D's contract earned each.
    let up: Vec<(String, i64, i64)> = c.core.referral_tree(&c.clerk, &d.id).unwrap().upline.iter().map(|n| (n.name.clone(), n.depth, n.points)).collect();
    assert_eq!(up, vec![("张三".into(), 1, 300), ("李二".into(), 2, 80), ("王一".into(), 3, 10)]);

    // The report ranks referrers by members referred, then enrolled, then points.
    let today = c.core.today().to_string();
    let filter = AnalysisFilter { report: "referrals".into(), from_date: today.clone(), to_date: today.clone(), days_ahead: None, lessons_left: None, a_percent: None, b_percent: None };
    let tables = c.core.analysis(&c.admin, &filter, Lang::ZhCn).unwrap();
    let ranked: Vec<Vec<String>> = tables[0].rows.clone();
    assert_eq!(tables[0].columns.iter().map(|x| x.label.as_str()).collect::<Vec<_>>(), vec!["推荐人", "会员号", "推荐人数", "已报名", "获得积分"]);
    assert_eq!(ranked.iter().map(|r| (r[0].as_str(), r[2].as_str(), r[3].as_str(), r[4].as_str())).collect::<Vec<_>>(), vec![
        ("张三", "1", "1", "300"),
        ("李二", "1", "1", "80"),
        ("王一", "1", "0", "10"),
    ]);
    assert_eq!(tables[1].rows.len(), 3, "B, C and D were referred today");
    let csv = c.core.analysis_csv(&c.admin, &filter, "referrers", Lang::En, true).unwrap();
    let text = String::from_utf8(csv.bytes).unwrap();
    assert!(text.starts_with("\u{feff}Referrer,Member no.,Referred,Enrolled,Points earned\r\n"), "{text}");
    // A clerk does not see reports.
    assert_eq!(c.core.analysis(&c.clerk, &filter, Lang::ZhCn).unwrap_err().code(), "forbidden");
}

#[test]
fn a_reversed_payment_that_unpays_the_contract_takes_the_reward_back_and_paying_again_rewards_once() {
    let c = common::centre();
    let pkg = c.lesson_package(24, "2400").id;
    let a = member(&c, "王一", None);
    let e = member(&c, "钱五", Some(&a));
    let k = enrol(&c, &e, &pkg);
    pay(&c, &k, "400");
    let second = pay(&c, &k, "2000");
    assert_eq!(referral_points(&c, &a), 200);
    // Reversing the instalment that completed it un-pays it.
    c.core.payment_reverse(&c.admin, &second, "金额录错").unwrap();
    assert_eq!(referral_points(&c, &a), 0);
    pay(&c, &k, "2000");
    assert_eq!(referral_points(&c, &a), 200, "paid again: rewarded again, net once");
    let kinds: Vec<(i64, String)> = entries_for(&c, &k).into_iter().map(|e| (e.1, e.2)).collect();
    assert_eq!(kinds, vec![(200, "referral".into()), (-200, "reversal".into()), (200, "referral".into())]);
    // A refund reverses what stands, once.
    c.core.contract_refund(&c.admin, &k, RefundInput { rule: RefundRule::Lessons, method: "cash".into(), reason: "退学".into() }).unwrap();
    assert_eq!(referral_points(&c, &a), 0);
    // With nothing standing, the member's next contract paid in full rewards the chain.
    let k2 = enrol(&c, &e, &pkg);
    pay(&c, &k2, "2400");
    assert_eq!(referral_points(&c, &a), 200);
    assert_balances_are_ledger_sums(&c, &[&a, &e]);
    assert_every_points_entry_logged(&c);
}

#[test]
fn a_cycle_in_referred_by_stops_and_a_merged_referrer_is_rewarded_on_the_survivor() {
    let c = common::centre();
    let pkg = c.lesson_package(24, "2400").id;
    set_table(&c, vec![200, 50, 20]);
    // X referred by Y, Y referred by X.
    let y = member(&c, "孙六", None);
    let x = member(&c, "周七", Some(&y));
    c.core
        .member_update(
            &c.clerk,
            &y.id,
            MemberUpdate {
                name: y.name.clone(),
                gender: y.gender.clone(),
                birthday: y.birthday.clone(),
                school: y.school.clone(),
                course_interest: y.course_interest.clone(),
                notes: String::new(),
                tags: vec![],
                rank: String::new(),
                referred_by: Some(x.id.clone()),
            },
        )
        .unwrap();
    let kx = enrol(&c, &x, &pkg);
    pay(&c, &kx, "2400");
    assert_eq!(entries_for(&c, &kx).into_iter().filter(|e| e.2 == "referral").map(|e| (e.0, e.1)).collect::<Vec<_>>(), vec![(y.id.clone(), 200)]);
    assert_eq!(referral_points(&c, &x), 0, "X is not its own level-2 referrer");
    let tree = c.core.referral_tree(&c.clerk, &x.id).unwrap();
    assert_eq!(tree.upline.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), vec!["孙六"]);
    assert_eq!(tree.downline.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), vec!["孙六"]);

    // R2 is a duplicate of R1; F was referred by R2 before the merge, G named R2 after it.
    let r1 = member(&c, "吴八", None);
    let r2 = member(&c, "吴八", None);
    let f = member(&c, "郑九", Some(&r2));
    c.core.member_merge(&c.admin, &r1.id, &r2.id).unwrap();
    let g = member(&c, "冯十", Some(&r2));
    for who in [&f, &g] {
        let k = enrol(&c, who, &pkg);
        pay(&c, &k, "2400");
        assert_eq!(entries_for(&c, &k).into_iter().filter(|e| e.2 == "referral").map(|e| (e.0, e.1)).collect::<Vec<_>>(), vec![(r1.id.clone(), 200)]);
    }
    assert_eq!(referral_points(&c, &r1), 400);
    assert_eq!(c.core.points_account(&c.clerk, &r1.id).unwrap().balance, 400);
    let tree = c.core.referral_tree(&c.clerk, &r2.id).unwrap();
    assert_eq!(tree.member.id, r1.id, "a merged record's tree is its survivor's");
    let mut down: Vec<(&str, i64, i64)> = tree.downline.iter().map(|n| (n.name.as_str(), n.depth, n.points)).collect();
    down.sort();
    assert_eq!(down, vec![("冯十", 1, 200), ("郑九", 1, 200)]);

    // The same child registered and paid twice under one referrer: two rewards until the
    // records are merged, then one.
    let p = member(&c, "陈十一", None);
    let q1 = member(&c, "褚十二", Some(&p));
    let q2 = member(&c, "褚十二", Some(&p));
    let kq1 = enrol(&c, &q1, &pkg);
    pay(&c, &kq1, "2400");
    let kq2 = enrol(&c, &q2, &pkg);
    pay(&c, &kq2, "2400");
    assert_eq!(referral_points(&c, &p), 400);
    c.core.member_merge(&c.admin, &q1.id, &q2.id).unwrap();
    assert_eq!(referral_points(&c, &p), 200);
    assert_eq!(entries_for(&c, &kq1).into_iter().filter(|e| e.0 == p.id).map(|e| e.1).sum::<i64>(), 200, "the earlier reward stands");
    assert_eq!(entries_for(&c, &kq2).into_iter().filter(|e| e.0 == p.id).map(|e| e.1).sum::<i64>(), 0);
    assert_eq!(c.core.referral_tree(&c.clerk, &p.id).unwrap().points_total, 200);
    assert_balances_are_ledger_sums(&c, &[&x, &y, &r1, &r2, &f, &g, &p, &q1, &q2]);
    assert_every_points_entry_logged(&c);
}

#[test]
fn only_the_manager_changes_the_table_and_bad_tables_are_refused_in_both_languages() {
    let c = common::centre();
    let mut s = c.core.settings().unwrap();
    s.referral_rewards = vec![100];
    assert_eq!(c.core.settings_update(&c.clerk, s.clone()).unwrap_err().code(), "forbidden");
    assert_eq!(c.core.settings_update(&c.consultant, s.clone()).unwrap_err().code(), "forbidden");
    assert_eq!(c.core.settings().unwrap().referral_rewards, vec![200, 50], "unchanged");

    let before = c.snapshot();
    s.referral_rewards = vec![200, -5];
    let e = c.core.settings_update(&c.admin, s.clone()).unwrap_err();
    assert_eq!(e.code(), "validation.int_range");
    assert_eq!(e.message(Lang::ZhCn), "转介绍奖励积分：应在 0 到 100000 之间");
    assert_eq!(e.message(Lang::En), "Referral reward points must be between 0 and 100000");
    let dto = serde_json::to_value(e.to_dto(Lang::ZhCn)).unwrap();
    assert_eq!(dto["field"], "referral_rewards");
    s.referral_rewards = vec![1, 1, 1, 1, 1, 1];
    let e = c.core.settings_update(&c.admin, s.clone()).unwrap_err();
    assert_eq!(e.code(), "validation.too_many");
    assert_eq!(e.message(Lang::ZhCn), "转介绍奖励积分：最多 5 项");
    assert_eq!(e.message(Lang::En), "Referral reward points must have at most 5 entries");
    assert_eq!(c.snapshot(), before, "nothing half-saved");

    let before = c.log_len();
    s.referral_rewards = vec![150, 0, 30];
    assert_eq!(c.core.settings_update(&c.admin, s.clone()).unwrap().referral_rewards, vec![150, 0, 30]);
    assert_eq!(c.log_len(), before + 1, "the change is logged");
    let (entity, payload): (String, String) = c.raw().query_row("SELECT entity, payload FROM change_log ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(entity, "setting");
    assert!(payload.contains("referral_rewards") && payload.contains("[150,0,30]"), "{payload}");
    // An empty table turns rewards off.
    s.referral_rewards = vec![];
    c.core.settings_update(&c.admin, s).unwrap();
    let pkg = c.lesson_package(24, "2400").id;
    let a = member(&c, "王一", None);
    let b = member(&c, "李二", Some(&a));
    let k = enrol(&c, &b, &pkg);
    pay(&c, &k, "2400");
    assert_eq!(referral_points(&c, &a), 0);
}
