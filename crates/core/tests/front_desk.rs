//! The clerk's day, end to end through the service API on a real database file.

use crate::common;

use centredesk_core::contracts::{EnrolInput, PauseInput, RefundInput, RefundRule};
use centredesk_core::leads::{ConvertInput, FollowUpInput, LeadFilter, LeadInput};
use centredesk_core::members::{GuardianInput, GuardianLinkInput, MemberApplication, MemberApproval};
use centredesk_core::payments::PaymentInput;
use centredesk_core::Money;
use chrono::Duration;
use crate::common::*;

fn enrol(c: &Centre, member_id: &str, package_id: &str, discount: &str) -> centredesk_core::contracts::ContractView {
    c.core
        .contract_enrol(
            &c.clerk,
            EnrolInput {
                member_id: member_id.into(),
                package_id: package_id.into(),
                discount: discount.into(),
                start_date: None,
                consultant_id: Some(c.consultant.staff_id.clone()),
                renewal_of: None,
                notes: String::new(),
            },
        )
        .unwrap()
}

fn pay(c: &Centre, contract_id: &str, amount: &str) -> centredesk_core::Result<centredesk_core::payments::Receipt> {
    c.core.payment_take(&c.clerk, PaymentInput { contract_id: contract_id.into(), amount: amount.into(), method: "wechat".into(), note: String::new() }, centredesk_core::Lang::ZhCn)
}

#[test]
fn application_approval_assigns_numbers_in_order() {
    let c = common::centre();
    let a = c.member("张三", "13800000001");
    let b = c.member("李四", "13800000002");
    assert_eq!(a.member_no.as_deref(), Some("M00001"));
    assert_eq!(b.member_no.as_deref(), Some("M00002"));
    assert_eq!(a.status, "active");
    assert_eq!(a.birthday.as_deref(), Some("2017-03-07"));
    // Approving twice is refused and assigns nothing.
    let again = c.core.member_approve(&c.clerk, &a.id, MemberApproval { birthday: "2017-03-07".into(), school: String::new(), course_interest: String::new() });
    assert_eq!(again.unwrap_err().code(), "conflict.member_not_applicant");
    assert_eq!(c.count("SELECT value FROM counters WHERE name = 'member_no'"), 2);
}

#[test]
fn one_guardian_with_two_children_and_two_guardians_for_one_child() {
    let c = common::centre();
    let elder = c.member("王小明", "13911112222");
    let mother = c.core.member_get(&c.clerk, &elder.id).unwrap().guardians[0].guardian.clone();
    let younger = c
        .core
        .member_apply(&c.clerk, MemberApplication { name: "王小红".into(), gender: "女".into(), guardian: None, referred_by: Some(elder.id.clone()), notes: String::new() })
        .unwrap();
    c.core
        .guardian_link(&c.clerk, &younger.id, GuardianLinkInput { existing_guardian_id: Some(mother.id.clone()), new_guardian: None, relation: "妈妈".into(), is_primary: true })
        .unwrap();
    let detail = c
        .core
        .guardian_link(
            &c.clerk,
            &younger.id,
            GuardianLinkInput {
                existing_guardian_id: None,
                new_guardian: Some(GuardianInput { name: "王大伟".into(), relation: "爸爸".into(), phone: "13922223333".into(), wechat: "wdw88".into() }),
                relation: "爸爸".into(),
                is_primary: false,
            },
        )
        .unwrap();
    assert_eq!(detail.guardians.len(), 2);
    assert!(detail.guardians[0].is_primary && detail.guardians[0].guardian.id == mother.id);
    assert_eq!(detail.guardians[0].other_children[0].name, "王小明");
    assert_eq!(detail.referrer.unwrap().id, elder.id);
    let g = c.core.guardian_get(&c.clerk, &mother.id).unwrap();
    assert_eq!(g.children.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), vec!["王小明", "王小红"]);
    // Linking the same guardian twice is refused.
    let twice = c.core.guardian_link(&c.clerk, &younger.id, GuardianLinkInput { existing_guardian_id: Some(mother.id.clone()), new_guardian: None, relation: "妈妈".into(), is_primary: false });
    assert_eq!(twice.unwrap_err().code(), "conflict.guardian_already_linked");
}

#[test]
fn enrol_with_discount_pay_in_parts_and_see_the_balance() {
    let c = common::centre();
    let m = c.member("赵六", "13800000003");
    let pkg = c.lesson_package(48, "4800");
    let k = enrol(&c, &m.id, &pkg.id, "300");
    assert_eq!(k.contract.amount_due, Money::from_yuan(4500));
    assert_eq!(k.contract.end_date, "2027-11-24");
    assert_eq!(k.lessons_remaining, Some(48));
    let r = pay(&c, &k.contract.id, "1000").unwrap();
    assert_eq!(r.balance_due, Some(Money::from_yuan(3500)));
    assert_eq!(r.payment.receipt_no, "R000001");
    assert_eq!(r.payment.staff_name, "李娜");
    // More than the balance is refused with the limit named.
    let e = pay(&c, &k.contract.id, "3500.01").unwrap_err();
    assert_eq!(e.message(centredesk_core::Lang::ZhCn), "金额：不能超过 ¥3,500.00");
    pay(&c, &k.contract.id, "3499.99").unwrap();
    let detail = c.core.member_get(&c.clerk, &m.id).unwrap();
    assert_eq!(detail.balance_due, Money::from_fen(1));
    assert_eq!(detail.contracts[0].paid, Money::from_fen(449_999));
    pay(&c, &k.contract.id, "0.01").unwrap();
    assert_eq!(pay(&c, &k.contract.id, "1").unwrap_err().code(), "conflict.contract_fully_paid");
    // The ledger sums to what was paid, exactly.
    assert_eq!(c.count("SELECT SUM(amount) FROM payments"), 450_000);
}

#[test]
fn a_payment_is_corrected_by_a_reversal_never_an_edit() {
    let c = common::centre();
    let m = c.member("钱七", "13800000004");
    let pkg = c.lesson_package(24, "2580");
    let k = enrol(&c, &m.id, &pkg.id, "");
    let r = pay(&c, &k.contract.id, "2580").unwrap();
    // Clerks cannot reverse; the manager can, once, with a reason.
    assert_eq!(c.core.payment_reverse(&c.clerk, &r.payment.id, "录错").unwrap_err().code(), "forbidden");
    assert_eq!(c.core.payment_reverse(&c.admin, &r.payment.id, " ").unwrap_err().code(), "validation.required");
    let rev = c.core.payment_reverse(&c.admin, &r.payment.id, "金额录错").unwrap();
    assert_eq!(rev.amount, -Money::from_yuan(2580));
    assert_eq!(rev.reverses_id.as_deref(), Some(r.payment.id.as_str()));
    assert_eq!(c.core.payment_reverse(&c.admin, &r.payment.id, "again").unwrap_err().code(), "conflict.payment_already_reversed");
    assert_eq!(c.core.payment_reverse(&c.admin, &rev.id, "undo").unwrap_err().code(), "conflict.cannot_reverse_reversal");
    let detail = c.core.member_get(&c.clerk, &m.id).unwrap();
    assert_eq!(detail.balance_due, Money::from_yuan(2580));
    assert!(detail.payments.iter().any(|p| p.id == r.payment.id && p.reversed));
    // The database itself refuses edits and deletes of the ledger.
    let raw = c.raw();
    assert!(raw.execute("UPDATE payments SET amount = 1", []).is_err());
    assert!(raw.execute("DELETE FROM payments", []).is_err());
    assert!(raw.execute("DELETE FROM change_log", []).is_err());
}

#[test]
fn refund_by_lessons_left_is_exact_and_closes_the_contract() {
    let c = common::centre();
    let m = c.member("孙八", "13800000005");
    let pkg = c.lesson_package(48, "4800");
    let k = enrol(&c, &m.id, &pkg.id, "");
    pay(&c, &k.contract.id, "4800").unwrap();
    // Attendance arrives with the timetable; here 7 lessons have been used.
    c.raw().execute("UPDATE contracts SET lessons_used = 7 WHERE id = ?1", [&k.contract.id]).unwrap();
    assert_eq!(c.core.refund_quote(&c.clerk, &k.contract.id, RefundRule::Lessons).unwrap_err().code(), "forbidden");
    let q = c.core.refund_quote(&c.admin, &k.contract.id, RefundRule::Lessons).unwrap();
    // 4800 − 4800 × 7/48 = 4800 − 700 = 4100
    assert_eq!(q.refund, Money::from_yuan(4100));
    assert!(q.explanation_en.contains("7/48"), "{}", q.explanation_en);
    let p = c
        .core
        .contract_refund(&c.admin, &k.contract.id, RefundInput { rule: RefundRule::Lessons, method: "wechat".into(), reason: "搬家".into() })
        .unwrap()
        .unwrap();
    assert_eq!(p.amount, -Money::from_yuan(4100));
    assert!(p.reason.contains("按剩余课时退费"));
    // The points the 4800 earned go back in the refund's share, 4100/4800, rounded down.
    let rate = c.core.settings().unwrap().points_per_yuan;
    assert!(rate > 0);
    let account = c.core.points_account(&c.admin, &m.id).unwrap();
    assert_eq!(account.balance, 4800 * rate - 4100 * rate);
    assert_eq!(account.entries[0].delta, -4100 * rate);
    let view = c.core.contract_get(&c.clerk, &k.contract.id).unwrap();
    assert_eq!(view.contract.status, "refunded");
    assert_eq!(view.balance_due, Money::ZERO);
    assert_eq!(pay(&c, &k.contract.id, "1").unwrap_err().code(), "conflict.contract_not_active");
}

#[test]
fn pausing_extends_the_end_date_and_renewal_starts_after_it() {
    let c = common::centre();
    let m = c.member("周九", "13800000006");
    let pkg = c.term_package(3, "1880");
    let k = enrol(&c, &m.id, &pkg.id, "");
    assert_eq!((k.contract.start_date.as_str(), k.contract.end_date.as_str()), ("2026-11-25", "2027-02-24"));
    let paused = c
        .core
        .contract_pause(&c.clerk, &k.contract.id, PauseInput { from_date: "2026-12-01".into(), to_date: "2026-12-10".into(), reason: "生病".into() })
        .unwrap();
    assert_eq!(paused.contract.end_date, "2027-03-06");
    let overlap = c.core.contract_pause(&c.clerk, &k.contract.id, PauseInput { from_date: "2026-12-10".into(), to_date: "2026-12-12".into(), reason: String::new() });
    assert_eq!(overlap.unwrap_err().code(), "conflict.pause_overlaps");
    let backwards = c.core.contract_pause(&c.clerk, &k.contract.id, PauseInput { from_date: "2027-01-10".into(), to_date: "2027-01-01".into(), reason: String::new() });
    assert_eq!(backwards.unwrap_err().code(), "validation.not_before");
    c.clock.advance(Duration::days(7));
    assert!(c.core.contract_get(&c.clerk, &k.contract.id).unwrap().paused_today);
    let renewal = c
        .core
        .contract_enrol(
            &c.clerk,
            EnrolInput {
                member_id: m.id.clone(),
                package_id: pkg.id.clone(),
                discount: String::new(),
                start_date: None,
                consultant_id: None,
                renewal_of: Some(k.contract.id.clone()),
                notes: String::new(),
            },
        )
        .unwrap();
    assert_eq!(renewal.contract.start_date, "2027-03-07");
    assert_eq!(renewal.contract.renewal_of.as_deref(), Some(k.contract.id.as_str()));
}

#[test]
fn home_lists_renewals_due_follow_ups_and_recent_payments() {
    let c = common::centre();
    let soon = c.member("吴一", "13800000007");
    let later = c.member("郑二", "13800000008");
    let month = c.term_package(1, "680");
    let year = c.term_package(12, "6800");
    let k = enrol(&c, &soon.id, &month.id, "");
    enrol(&c, &later.id, &year.id, "");
    pay(&c, &k.contract.id, "680").unwrap();
    let lead = c
        .core
        .lead_create(&c.consultant, LeadInput {
            name: "冯三".into(), contact_name: "冯妈妈".into(), phone: "13800000009".into(), wechat: String::new(), gender: None, birthday: None,
            source: "电话".into(), consultant_id: None, man_money: true, man_authority: true, man_need: false, needs: String::new(), notes: String::new(),
            next_follow_up: Some("2026-11-25".into()),
        })
        .unwrap();
    let home = c.core.home(&c.clerk, centredesk_core::Lang::ZhCn).unwrap();
    assert_eq!(home.today, "2026-11-25");
    assert_eq!(home.renewals_due.iter().map(|r| r.member_name.as_str()).collect::<Vec<_>>(), vec!["吴一"]);
    assert_eq!((home.renewals_due[0].end_date.as_str(), home.renewals_due[0].days_left), ("2026-12-24", 29));
    assert_eq!(home.follow_ups_due[0].lead.id, lead.id);
    assert_eq!(home.recent_payments[0].member_name, "吴一");
    assert_eq!((home.active_members, home.applicants, home.open_leads), (2, 0, 1));
}

#[test]
fn a_lead_becomes_a_member_and_keeps_its_history() {
    let c = common::centre();
    let lead = c
        .core
        .lead_create(&c.consultant, LeadInput {
            name: "曾小凡".into(), contact_name: "曾先生".into(), phone: "139 0000 1111".into(), wechat: String::new(), gender: Some("男".into()),
            birthday: Some("2018年5月1日".into()), source: "转介绍".into(), consultant_id: None, man_money: true, man_authority: false, man_need: true,
            needs: "周末班".into(), notes: String::new(), next_follow_up: None,
        })
        .unwrap();
    assert_eq!(lead.consultant_id.as_deref(), Some(c.consultant.staff_id.as_str()), "a consultant's lead is theirs");
    assert_eq!(lead.phone, "13900001111");
    c.core.lead_follow_up(&c.consultant, &lead.id, FollowUpInput { channel: "phone".into(), content: "约周六到访".into(), next_follow_up: Some("2026-11-28".into()) }).unwrap();
    let past = c.core.lead_follow_up(&c.consultant, &lead.id, FollowUpInput { channel: "phone".into(), content: "x".into(), next_follow_up: Some("2026-11-01".into()) });
    assert_eq!(past.unwrap_err().code(), "validation.not_in_past");
    let week = c.core.lead_list(&c.consultant, LeadFilter { due: Some("week".into()), ..Default::default() }).unwrap();
    assert_eq!(week.len(), 1);
    assert_eq!(week[0].lead.status, "contacted");
    assert!(c.core.lead_list(&c.consultant, LeadFilter { due: Some("today".into()), ..Default::default() }).unwrap().is_empty());
    c.core.lead_set_status(&c.consultant, &lead.id, "visited", "").unwrap();
    assert_eq!(c.core.lead_set_status(&c.consultant, &lead.id, "lost", "").unwrap_err().code(), "validation.required");
    assert_eq!(c.core.lead_set_status(&c.consultant, &lead.id, "enrolled", "").unwrap_err().code(), "conflict.invalid_lead_transition");
    let m = c.core.lead_convert(&c.consultant, &lead.id, ConvertInput { gender: String::new(), relation: "爸爸".into() }).unwrap();
    assert_eq!((m.status.as_str(), m.gender.as_str(), m.birthday.as_deref()), ("applicant", "M", Some("2018-05-01")));
    let detail = c.core.member_get(&c.clerk, &m.id).unwrap();
    assert_eq!(detail.guardians[0].guardian.phone, "13900001111");
    assert_eq!(detail.guardians[0].relation, "爸爸");
    let timeline = c.core.member_timeline(&c.clerk, &m.id, 100).unwrap();
    let ops: Vec<String> = timeline.iter().map(|e| format!("{}.{}", e.entity, e.op)).collect();
    for expected in ["lead.create", "lead_follow_up.create", "lead.set_status", "lead.convert", "member.apply", "member_guardian.link"] {
        assert!(ops.contains(&expected.to_string()), "{expected} missing from {ops:?}");
    }
    assert!(timeline.iter().all(|e| e.staff_name.is_some()));
    assert_eq!(c.core.lead_convert(&c.consultant, &lead.id, ConvertInput { gender: "M".into(), relation: String::new() }).unwrap_err().code(), "conflict.lead_already_converted");
}

#[test]
fn applicants_cannot_enrol_and_archived_packages_cannot_be_sold() {
    let c = common::centre();
    let m = c
        .core
        .member_apply(&c.clerk, MemberApplication { name: "陈十".into(), gender: "F".into(), guardian: None, referred_by: None, notes: String::new() })
        .unwrap();
    let pkg = c.lesson_package(24, "2580");
    let input = || EnrolInput { member_id: m.id.clone(), package_id: pkg.id.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() };
    assert_eq!(c.core.contract_enrol(&c.clerk, input()).unwrap_err().code(), "conflict.member_not_approved");
    c.core.member_approve(&c.clerk, &m.id, MemberApproval { birthday: "2016-1-2".into(), school: String::new(), course_interest: String::new() }).unwrap();
    c.core.package_set_archived(&c.admin, &pkg.id, true).unwrap();
    assert_eq!(c.core.contract_enrol(&c.clerk, input()).unwrap_err().code(), "conflict.package_archived");
    let discount_too_big = EnrolInput { discount: "2580.01".into(), ..input() };
    c.core.package_set_archived(&c.admin, &pkg.id, false).unwrap();
    assert_eq!(c.core.contract_enrol(&c.clerk, discount_too_big).unwrap_err().code(), "validation.not_more_than");
}
