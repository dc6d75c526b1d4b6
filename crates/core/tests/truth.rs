//! What the desk says is true: one rule for each derived fact, tested at its boundaries.
//! Contract states on the day a contract ends, the day after, and the lesson that uses
//! a package up; a member's status following their contracts; leave and attendance
//! excluding each other; times in notices; one renewals list; arrears against the
//! ledger; a full class; and the invariant checker, which finds each seeded
//! inconsistency and nothing in the demo or in randomised centres.

use crate::common::{self, Centre};
use centredesk_core::attendance::{LeaveInput, MarkInput, RollCallInput};
use centredesk_core::contracts::{ContractState, EnrolInput, PauseInput, RefundInput, RefundRule};
use centredesk_core::goods::{GoodsInput, SaleInput, StockInput};
use centredesk_core::members::{GuardianInput, MemberApplication, MemberFilter};
use centredesk_core::payments::PaymentInput;
use centredesk_core::timetable::{ClassGroupInput, RoomInput, SessionFilter, SlotInput};
use centredesk_core::{CoreError, Lang};
use chrono::TimeZone;
use rand::{Rng, SeedableRng};

struct Class {
    c: Centre,
    group: String,
}

/// A Wednesday class 17:00–18:00 for November and December 2026 (today is Wednesday
/// 2026-11-25, 10:00 in Beijing).
fn class(capacity: i64) -> Class {
    let c = common::centre();
    let room = c.core.room_create(&c.admin, RoomInput { name: "一号道馆".into(), capacity: 40 }).unwrap().id;
    let group = c
        .core
        .group_create(&c.admin, ClassGroupInput { name: "周三初级班".into(), course: "跆拳道".into(), level: "白带".into(), coach_id: Some(c.coach.staff_id.clone()), capacity })
        .unwrap()
        .id;
    c.core
        .slot_create(
            &c.admin,
            SlotInput { season_id: None, weekday: 3, start_time: "17:00".into(), end_time: "18:00".into(), room_id: room, coach_id: c.coach.staff_id.clone(), group_id: group.clone() },
        )
        .unwrap();
    c.core.sessions_generate(&c.admin, "2026-11-01", "2026-12-31").unwrap();
    Class { c, group }
}

impl Class {
    fn session(&self, date: &str) -> String {
        self.c.core.session_list(&self.c.admin, SessionFilter { from_date: date.into(), to_date: date.into(), ..Default::default() }).unwrap().remove(0).id
    }

    fn pupil(&self, name: &str, phone: &str) -> String {
        let m = self.c.member(name, phone);
        self.c.core.group_add_member(&self.c.admin, &self.group, &m.id, Some("2026-11-01".into()), false).unwrap();
        m.id
    }

    fn enrol(&self, member: &str, package: &str, start: &str) -> String {
        self.c
            .core
            .contract_enrol(
                &self.c.clerk,
                EnrolInput { member_id: member.into(), package_id: package.into(), discount: String::new(), start_date: Some(start.into()), consultant_id: None, renewal_of: None, notes: String::new() },
            )
            .unwrap()
            .contract
            .id
    }

    fn mark(&self, session: &str, member: &str, mark: &str) -> centredesk_core::Result<centredesk_core::attendance::RollCallResult> {
        self.c.core.roll_call(&self.c.coach, session, RollCallInput { marks: vec![MarkInput { member_id: member.into(), mark: mark.into(), ..Default::default() }], ..Default::default() })
    }

    fn state(&self, contract: &str) -> ContractState {
        self.c.core.contract_get(&self.c.clerk, contract).unwrap().state
    }

    fn status(&self, member: &str) -> String {
        self.c.core.member_get(&self.c.clerk, member).unwrap().member.status
    }

    /// The clock at `hh:mm` of `date` in Beijing.
    fn at(&self, date: &str, hh: u32, mm: u32) {
        let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        let local = d.and_hms_opt(hh, mm, 0).unwrap();
        self.c.clock.set(chrono_tz::Asia::Shanghai.from_local_datetime(&local).unwrap().with_timezone(&chrono::Utc));
    }

    fn notices(&self, member: &str, kind: &str) -> Vec<String> {
        let raw = self.c.raw();
        let mut stmt = raw.prepare("SELECT text FROM notices WHERE member_id = ?1 AND kind = ?2 ORDER BY created_at").unwrap();
        stmt.query_map([member, kind], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }
}

fn conflict(e: CoreError) -> (String, String) {
    (e.code(), e.message(Lang::ZhCn))
}

#[test]
fn a_contract_is_valid_on_its_last_day_expired_the_next_and_used_up_by_the_lesson_that_empties_it() {
    let k = class(30);
    let c = &k.c;
    let two = c.lesson_package(2, "200");
    let month = c.term_package(1, "680");
    let a = k.pupil("甲同学", "13800000001");
    let lessons = k.enrol(&a, &two.id, "2026-11-01");
    assert_eq!(k.state(&lessons), ContractState::Valid);

    // The lesson that uses the package up ends it, and the member's enrolment with it,
    // in the roll call's own transaction.
    for date in ["2026-11-18", "2026-11-25"] {
        let s = k.session(date);
        c.to_class(&s);
        k.mark(&s, &a, "present").unwrap();
    }
    assert_eq!(k.state(&lessons), ContractState::UsedUp);
    assert_eq!(k.status(&a), "expired", "the last lesson ended the enrolment");
    let auto: i64 = c.count(&format!("SELECT COUNT(*) FROM change_log WHERE entity = 'member' AND entity_id = '{a}' AND op = 'auto_status'"));
    assert_eq!(auto, 1, "on the timeline");
    // Giving the lesson back (the mark cleared) restores both.
    let s = k.session("2026-11-25");
    k.mark(&s, &a, "").unwrap();
    assert_eq!((k.state(&lessons), k.status(&a).as_str()), (ContractState::Valid, "active"));

    // A term card: valid on its last day, expired the day after; the daily run then
    // makes the member 已过期, and buying again makes them 在读.
    let b = k.pupil("乙同学", "13800000002");
    let term = k.enrol(&b, &month.id, "2026-11-01");
    k.at("2026-11-30", 21, 0);
    assert_eq!(k.state(&term), ContractState::Valid, "the last day is still covered");
    assert_eq!(c.core.member_status_sweep().unwrap(), 0);
    k.at("2026-12-01", 8, 0);
    assert_eq!(k.state(&term), ContractState::Expired);
    assert_eq!(k.status(&b), "active", "until the daily run");
    assert_eq!(c.core.member_status_sweep().unwrap(), 1);
    assert_eq!(k.status(&b), "expired");
    assert_eq!(c.core.member_status_sweep().unwrap(), 0, "idempotent");
    let next = k.enrol(&b, &month.id, "2026-12-10");
    assert_eq!((k.state(&next), k.status(&b).as_str()), (ContractState::NotStarted, "active"), "a package bought ahead keeps them enrolled");

    // Paused today, and refunded.
    let cc = k.pupil("丙同学", "13800000003");
    let term3 = k.enrol(&cc, &month.id, "2026-11-20");
    c.core.contract_pause(&c.clerk, &term3, PauseInput { from_date: "2026-11-28".into(), to_date: "2026-12-05".into(), reason: "出差".into() }).unwrap();
    assert_eq!(k.state(&term3), ContractState::Paused);
    c.core.contract_refund(&c.admin, &term3, RefundInput { rule: RefundRule::Days, method: "cash".into(), reason: "搬家".into() }).unwrap();
    assert_eq!((k.state(&term3), k.status(&cc).as_str()), (ContractState::Refunded, "expired"));

    // 已过期 is never set by hand; 停课 and 流失 are.
    assert_eq!(c.core.member_set_status(&c.clerk, &cc, "expired").unwrap_err().code(), "conflict.status_follows_contracts");
    assert_eq!(c.core.member_set_status(&c.clerk, &cc, "left").unwrap().status, "left");
    assert_eq!(c.core.member_status_sweep().unwrap(), 0, "a staff decision is left alone");
    assert!(c.core.check_unattended(Lang::ZhCn).unwrap().healthy());
}

#[test]
fn leave_is_refused_after_a_mark_and_a_mark_over_leave_needs_the_desk_and_withdraws_it() {
    let k = class(30);
    let c = &k.c;
    let pkg = c.lesson_package(10, "1000");
    let a = k.pupil("甲同学", "13800000011");
    k.enrol(&a, &pkg.id, "2026-11-01");
    let today = k.session("2026-11-25");
    let next = k.session("2026-12-02");
    c.to_class(&today);
    k.mark(&today, &a, "present").unwrap();
    let leave = |session: &str| c.core.leave_request(&c.clerk, LeaveInput { member_id: a.clone(), session_ids: vec![session.into()], via: "phone".into(), note: String::new() });
    let (code, message) = conflict(leave(&today).unwrap_err());
    assert_eq!((code.as_str(), message.as_str()), ("conflict.already_marked", "该课已点名：出勤，已扣 1 课时，不能再请假"));
    assert_eq!(k.notices(&a, "leave_confirmed").len(), 0, "nobody was told 本次不扣课时");

    // Leave for next week, then the child comes after all.
    leave(&next).unwrap();
    assert_eq!(k.notices(&a, "leave_confirmed").len(), 1);
    c.to_class(&next);
    let before = c.snapshot();
    let (code, message) = conflict(k.mark(&next, &a, "present").unwrap_err());
    assert_eq!(code, "conflict.on_leave");
    assert!(message.starts_with("甲同学 已请假"), "{message}");
    assert_eq!(c.snapshot(), before, "nothing saved without the desk's confirmation");
    let r = c
        .core
        .roll_call(&c.clerk, &next, RollCallInput { marks: vec![MarkInput { member_id: a.clone(), mark: "present".into(), withdraw_leave: Some(true), ..Default::default() }], ..Default::default() })
        .unwrap();
    assert_eq!(r.lessons_consumed, 1);
    let (withdrawn_at, by): (Option<String>, Option<String>) =
        c.raw().query_row("SELECT withdrawn_at, withdrawn_by FROM leave_requests WHERE member_id = ?1", [&a], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert!(withdrawn_at.is_some() && by.as_deref() == Some(c.clerk.staff_id.as_str()), "kept, with who and when");
    let told = k.notices(&a, "leave_withdrawn");
    assert_eq!(told.len(), 1);
    assert!(told[0].contains("请假已取消") && told[0].contains("本次扣 1 课时"), "{}", told[0]);
    assert_eq!(k.notices(&a, "arrival").len(), 1, "only the first class's arrival: the second said what happened instead");
    let roster = c.core.roster(&c.clerk, &next).unwrap();
    assert!(!roster.entries.iter().find(|e| e.member_id.as_deref() == Some(a.as_str())).unwrap().on_leave);
    // The leave dialog's choices say the same.
    let choices = c.core.leave_choices(&c.clerk, &a, 28).unwrap();
    let marked = choices.iter().find(|x| x.session.id == next).unwrap();
    assert_eq!((marked.mark, marked.lesson_used, marked.on_leave), (Some(centredesk_core::attendance::Mark::Present), true, false));
    assert!(c.core.check_unattended(Lang::ZhCn).unwrap().healthy());
}

#[test]
fn roll_call_opens_before_the_class_and_notices_say_the_time_only_when_it_is_true() {
    let k = class(30);
    let c = &k.c;
    let pkg = c.lesson_package(10, "1000");
    let (a, b) = (k.pupil("甲同学", "13800000021"), k.pupil("乙同学", "13800000022"));
    k.enrol(&a, &pkg.id, "2026-11-01");
    k.enrol(&b, &pkg.id, "2026-11-01");
    let s = k.session("2026-11-25");
    // 10:00, the class is at 17:00: refused, unless the desk confirms.
    let (code, message) = conflict(k.mark(&s, &a, "present").unwrap_err());
    assert_eq!((code.as_str(), message.as_str()), ("conflict.not_started_yet", "这节课 2026-11-25 17:00 才开始，还不能点名"));
    k.at("2026-11-25", 16, 29);
    assert_eq!(k.mark(&s, &a, "present").unwrap_err().code(), "conflict.not_started_yet", "31 minutes early");
    k.at("2026-11-25", 10, 0);
    c.core
        .roll_call(&c.clerk, &s, RollCallInput { marks: vec![MarkInput { member_id: a.clone(), mark: "present".into(), ..Default::default() }], confirm_early: Some(true), ..Default::default() })
        .unwrap();
    let said = k.notices(&a, "attended");
    assert_eq!((said.len(), k.notices(&a, "arrival").len()), (1, 0), "no arrival time that was not true");
    assert!(said[0].contains("已出勤") && !said[0].contains("到馆"), "{}", said[0]);
    // During the class: the time.
    k.at("2026-11-25", 17, 3);
    k.mark(&s, &b, "late").unwrap();
    assert!(k.notices(&b, "arrival")[0].contains("已于 17:03 到馆"), "{:?}", k.notices(&b, "arrival"));
    // Departure notices: not before the class, not the next morning; during it, the time.
    k.at("2026-11-25", 16, 50);
    assert_eq!(c.core.session_dismiss(&c.coach, &s).unwrap_err().code(), "conflict.dismiss_outside_class");
    k.at("2026-11-25", 18, 4);
    assert_eq!(c.core.session_dismiss(&c.coach, &s).unwrap(), 2);
    assert!(k.notices(&b, "departure")[0].contains("18:04"));
    k.at("2026-11-26", 9, 0);
    assert_eq!(c.core.session_dismiss(&c.coach, &s).unwrap_err().code(), "conflict.dismiss_outside_class");
    // Marked the next morning: attended, no time.
    let cc = k.pupil("丙同学", "13800000023");
    k.enrol(&cc, &pkg.id, "2026-11-01");
    k.mark(&s, &cc, "present").unwrap();
    assert_eq!((k.notices(&cc, "attended").len(), k.notices(&cc, "arrival").len()), (1, 0));
}

#[test]
fn the_home_list_the_report_and_the_reminders_are_one_renewals_list() {
    let k = class(30);
    let c = &k.c;
    let month = c.term_package(1, "680");
    let ten = c.lesson_package(10, "1000");
    let three = c.lesson_package(3, "300");
    let one = c.lesson_package(1, "100");
    let m = |n: usize| c.member(&format!("学员{}", "零一二三四五六七八九".chars().nth(n).unwrap()), &format!("1380000{:04}", 100 + n)).id;
    // Ends today (2026-11-25), within 30 days, in 31 days; ≤ 3 lessons, 4 lessons, used up.
    let ends_today = m(1);
    k.enrol(&ends_today, &month.id, "2026-10-26");
    let in30 = m(2);
    k.enrol(&in30, &month.id, "2026-11-25"); // ends 2026-12-24
    let in31 = m(3);
    let far = k.enrol(&in31, &ten.id, "2026-11-25"); // a year, 10 lessons
    let low = m(4);
    k.enrol(&low, &three.id, "2026-11-01");
    let used_up = m(5);
    let gone = k.enrol(&used_up, &one.id, "2026-11-01");
    c.core.group_add_member(&c.admin, &k.group, &used_up, Some("2026-11-01".into()), false).unwrap();
    let s = k.session("2026-11-25");
    c.to_class(&s);
    k.mark(&s, &used_up, "present").unwrap();
    assert_eq!(k.state(&gone), ContractState::UsedUp);
    k.at("2026-11-25", 10, 0);
    // Renewed (a later package), refunded, left: not due.
    let renewed = m(6);
    k.enrol(&renewed, &month.id, "2026-10-26");
    k.enrol(&renewed, &month.id, "2026-11-26");
    let refunded = m(7);
    let r = k.enrol(&refunded, &month.id, "2026-10-26");
    c.core.contract_refund(&c.admin, &r, RefundInput { rule: RefundRule::Days, method: "cash".into(), reason: "搬家".into() }).unwrap();
    let left = m(8);
    k.enrol(&left, &month.id, "2026-10-26");
    c.core.member_set_status(&c.clerk, &left, "left").unwrap();
    let _ = far;

    let home: Vec<String> = c.core.home(&c.clerk, Lang::ZhCn).unwrap().renewals_due.into_iter().map(|d| d.member_id).collect();
    let mut expected = vec![ends_today.clone(), in30.clone(), low.clone(), used_up.clone()];
    let mut got = home.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "ending today and used up are due; 31 days, renewed, refunded and left are not");
    let dash = c.core.home(&c.clerk, Lang::ZhCn).unwrap();
    assert!(dash.renewals_rule.contains("30 天内到期或剩余课时 ≤ 3"), "{}", dash.renewals_rule);
    let report = c
        .core
        .analysis(&c.admin, &centredesk_core::analysis::AnalysisFilter { report: "renewals".into(), from_date: "2026-01-01".into(), to_date: "2026-11-25".into(), days_ahead: None, lessons_left: None, a_percent: None, b_percent: None }, Lang::ZhCn)
        .unwrap();
    assert_eq!(report[0].member_ids, home, "the report lists the same members in the same order");
    // The reminders, with the same window, remind exactly these contracts.
    c.core.notify_settings_set(&c.admin, centredesk_core::notify::automatic::NotifySettings { lang: Lang::ZhCn, renewal_days: 30, renewal_lessons: 3, birthdays: false, class_reminder: "off".into(), class_reminder_hours: 3, class_reminder_trials_only: false }).unwrap();
    c.core.notify_scan().unwrap();
    let mut reminded: Vec<String> = {
        let raw = c.raw();
        let mut stmt = raw.prepare("SELECT DISTINCT member_id FROM notices WHERE kind = 'renewal_due'").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    };
    reminded.sort();
    assert_eq!(reminded, expected);
}

#[test]
fn arrears_list_every_contract_owing_and_their_total_is_the_ledgers() {
    let c = common::centre();
    let big = c.lesson_package(48, "4800");
    let pay = |k: &str, amount: &str| c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.into(), amount: amount.into(), method: "cash".into(), note: String::new() }, centredesk_core::Lang::ZhCn).unwrap();
    let enrol = |m: &str| {
        c.core
            .contract_enrol(&c.clerk, EnrolInput { member_id: m.into(), package_id: big.id.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
            .unwrap()
            .contract
            .id
    };
    let (a, b, d, e) = (c.member("甲", "13800000031"), c.member("乙", "13800000032"), c.member("丁", "13800000033"), c.member("戊", "13800000034"));
    let ka = enrol(&a.id);
    pay(&ka, "1000"); // owes 3800
    let kb = enrol(&b.id);
    let p = pay(&kb, "4800"); // paid in full, then the payment reversed: owes 4800
    c.core.payment_reverse(&c.admin, &p.payment.id, "录错").unwrap();
    let kd = enrol(&d.id);
    pay(&kd, "4800"); // paid: owes nothing
    let ke = enrol(&e.id);
    pay(&ke, "500");
    c.core.contract_refund(&c.admin, &ke, RefundInput { rule: RefundRule::Lessons, method: "cash".into(), reason: "退学".into() }).unwrap(); // refunded: owes nothing

    let arrears = c.core.arrears(&c.clerk, Lang::ZhCn).unwrap();
    let owing: Vec<(&str, String)> = arrears.rows.iter().map(|r| (r.member_name.as_str(), r.owed.to_string())).collect();
    assert_eq!(owing, [("乙", "4800.00".to_string()), ("甲", "3800.00".to_string())], "largest first");
    let ledger: i64 = c.count(
        "SELECT SUM(k.amount_due - COALESCE((SELECT SUM(amount) FROM payments p WHERE p.contract_id = k.id AND p.kind <> 'refund'), 0))
         FROM contracts k WHERE k.status <> 'refunded' AND k.amount_due > COALESCE((SELECT SUM(amount) FROM payments p WHERE p.contract_id = k.id AND p.kind <> 'refund'), 0)",
    );
    assert_eq!((arrears.total_owed.fen(), arrears.count), (ledger, 2));
    assert_eq!(arrears.total_owed.to_string(), "8600.00");
    let home = c.core.home(&c.clerk, Lang::ZhCn).unwrap().arrears.unwrap();
    assert_eq!(home.total_owed, arrears.total_owed);
    let listed = c.core.member_list(&c.clerk, MemberFilter { owing: Some(true), ..Default::default() }).unwrap();
    let mut names: Vec<String> = listed.rows.into_iter().map(|r| r.name).collect();
    names.sort();
    assert_eq!((names, listed.total), (vec!["乙".to_string(), "甲".to_string()], 2));
    assert!(c.core.home(&c.coach, Lang::ZhCn).unwrap().arrears.is_none(), "coaches take no money");
    assert_eq!(c.core.arrears(&c.coach, Lang::ZhCn).unwrap_err().code(), "forbidden");
    let _ = (kb, kd);
}

#[test]
fn a_full_class_needs_the_desks_confirmation_and_says_so_in_the_log() {
    let k = class(2);
    let c = &k.c;
    k.pupil("甲同学", "13800000041");
    k.pupil("乙同学", "13800000042");
    let third = c.member("丙同学", "13800000043");
    let (code, message) = conflict(c.core.group_add_member(&c.clerk, &k.group, &third.id, None, false).unwrap_err());
    assert_eq!((code.as_str(), message.as_str()), ("conflict.group_full", "该班已满（2/2 人），确认后仍可加入"));
    c.core.group_add_member(&c.clerk, &k.group, &third.id, None, true).unwrap();
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'group_member' AND op = 'join_over_capacity'"), 1);
    assert_eq!(c.core.group_list(&c.clerk).unwrap()[0].size, 3);
}

#[test]
fn a_form_with_several_wrong_fields_names_them_all_and_saves_nothing() {
    let c = common::centre();
    let before = c.snapshot();
    let e = c
        .core
        .member_apply(
            &c.clerk,
            MemberApplication {
                name: "".into(),
                gender: "x".into(),
                guardian: Some(GuardianInput { name: "王".into(), relation: "妈妈".into(), phone: "1.38001E+10".into(), wechat: String::new() }),
                referred_by: None,
                notes: String::new(),
            },
        )
        .unwrap_err();
    let dto = e.to_dto(Lang::ZhCn);
    let fields: Vec<_> = dto.problems.iter().map(|p| p.field).collect();
    use centredesk_core::error::Field;
    assert_eq!(fields, [Field::Name, Field::Gender, Field::GuardianPhone]);
    assert!(dto.problems[2].message.contains("Excel 把号码变成了科学计数法"), "{}", dto.problems[2].message);
    assert_eq!(c.snapshot(), before);
}

#[test]
fn every_kind_of_change_has_a_label_in_both_languages_and_an_undeclared_one_is_refused() {
    for k in centredesk_core::audit::CHANGES {
        assert!(!k.zh.is_empty() && !k.en.is_empty() && k.zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{}", k.entity);
        assert!(!k.ops.is_empty(), "{}", k.entity);
        for (op, zh, en) in k.ops {
            assert!(!zh.is_empty() && !en.is_empty() && zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{}/{op}", k.entity);
            for lang in [Lang::ZhCn, Lang::En] {
                let label = centredesk_core::audit::change_label(k.entity, op, lang);
                assert!(!label.contains('_'), "{label}: a code, not words");
            }
        }
    }
    assert_eq!(centredesk_core::audit::change_label("complaint", "step_accept", Lang::ZhCn), "投诉 · 受理");
    assert_eq!(centredesk_core::audit::change_label("satisfaction", "record", Lang::En), "satisfaction: score recorded");
    assert!(!centredesk_core::audit::declared("member", "teleport"));
    // Staff activity shows the words, not the codes.
    let c = common::centre();
    c.member("甲", "13800000051");
    let a = c
        .core
        .staff_activity(&c.admin, &centredesk_core::audit::ActivityFilter { from_date: "2026-11-25".into(), to_date: "2026-11-25".into(), staff_id: None, entity_id: None }, Lang::ZhCn)
        .unwrap();
    assert!(a.counts.iter().any(|x| x.label == "会员 · 登记申请"), "{:?}", a.counts.iter().map(|x| &x.label).collect::<Vec<_>>());
    assert!(a.counts.iter().all(|x| !x.label.contains('_')), "no codes shown");
}

#[test]
fn the_checker_finds_each_seeded_inconsistency_and_nothing_in_the_demo() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let (_dir, path) = crate::common::demo_file(80, 9, today);
    let clock = centredesk_core::ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 11, 25, 14, 0, 0).unwrap());
    let core = centredesk_core::Core::open_with_clock(&path, clock).unwrap();
    let report = core.check_unattended(Lang::ZhCn).unwrap();
    assert!(report.healthy(), "{:#?}", report.findings);
    assert_eq!(report.rules.len(), 8);

    let raw = rusqlite::Connection::open(&path).unwrap();
    let one = |sql: &str| -> String { raw.query_row(sql, [], |r| r.get(0)).unwrap() };
    // A member marked 已过期 by hand while a contract runs.
    let active = one("SELECT m.id FROM members m JOIN contracts k ON k.member_id = m.id WHERE m.status = 'active' AND k.status = 'active' AND k.end_date > '2026-12-31' LIMIT 1");
    raw.execute("UPDATE members SET status = 'expired' WHERE id = ?1", [&active]).unwrap();
    // A leave on a session whose roll call marks the child present.
    let (sid, mid): (String, String) =
        raw.query_row("SELECT session_id, member_id FROM attendance WHERE mark = 'present' AND member_id NOT IN (SELECT member_id FROM leave_requests) LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    raw.execute("INSERT INTO leave_requests (id, member_id, session_id, asked_at, via) VALUES ('x-leave', ?1, ?2, '2026-11-25T01:00:00.000Z', 'desk')", [&mid, &sid]).unwrap();
    // Lessons used that no mark consumed, stock off its ledger, a cache off its rows.
    raw.execute("UPDATE contracts SET lessons_used = lessons_used + 1 WHERE id = (SELECT id FROM contracts WHERE kind = 'lessons' AND lessons_used < lessons_total LIMIT 1)", []).unwrap();
    raw.execute("UPDATE goods SET stock = stock + 5 WHERE id = (SELECT id FROM goods LIMIT 1)", []).unwrap();
    raw.execute("DELETE FROM member_attended WHERE member_id = (SELECT member_id FROM member_attended LIMIT 1)", []).unwrap();
    // Points given back for a sale paid in points that was never returned.
    let sale = one("SELECT id FROM goods_sales WHERE method = 'points' AND member_id IS NOT NULL AND returned = 0 LIMIT 1");
    raw.execute(
        "INSERT INTO points_ledger (id, member_id, delta, kind, reason, ref_id, at, business_date)
         SELECT 'x-points', member_id, points, 'reversal', '', id, '2026-11-25T02:00:00.000Z', '2026-11-25' FROM goods_sales WHERE id = ?1",
        [&sale],
    )
    .unwrap();
    // A payment written around the change log.
    let (member, contract, staff): (String, String, String) = raw
        .query_row("SELECT member_id, contract_id, staff_id FROM payments WHERE kind = 'payment' LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    raw.execute(
        "INSERT INTO payments (id, receipt_no, member_id, contract_id, kind, amount, method, staff_id, taken_at, business_date)
         VALUES ('x-pay', 'RX', ?1, ?2, 'payment', 100, 'cash', ?3, '2026-11-25T02:00:00.000Z', '2026-11-25')",
        [&member, &contract, &staff],
    )
    .unwrap();
    let report = core.check_unattended(Lang::En).unwrap();
    let mut found: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    found.sort();
    found.dedup();
    assert_eq!(found, ["caches", "leave_and_mark", "lessons_used", "logged", "member_status", "points", "stock"], "{:#?}", report.findings);
    assert!(report.findings.iter().any(|f| f.rule == "caches" && f.subject == "member_attended"));
}

#[test]
fn the_demo_fits_its_classes_and_its_guardians_names_fit_their_relation() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let (_dir, path) = crate::common::demo_file(300, 1, today);
    let raw = rusqlite::Connection::open(&path).unwrap();
    // Every class on the demo's day holds no more children than its capacity (a full
    // class's amber number means something), and the classes are not empty either.
    let classes: Vec<(String, i64, i64)> = raw
        .prepare(
            "SELECT g.name, g.capacity, (SELECT COUNT(*) FROM group_members gm JOIN members m ON m.id = gm.member_id WHERE m.status = 'active' AND gm.group_id = g.id AND gm.start_date <= '2026-11-25'
                AND (gm.end_date IS NULL OR gm.end_date >= '2026-11-25')) FROM class_groups g ORDER BY g.name",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(classes.len() >= 5, "{classes:?}");
    assert!(classes.iter().all(|(_, capacity, on_roll)| on_roll <= capacity), "over capacity: {classes:?}");
    assert!(classes.iter().filter(|(_, _, on_roll)| *on_roll > 0).count() >= classes.len() / 2, "{classes:?}");
    // 马霞 is nobody's 爸爸: characters given to girls never stand in a father's name, and
    // the other way round (lists independent of the demo's own pools).
    const WOMENS: &str = "霞丽芳娟敏静婷燕红梅玲秀艳娜";
    const MENS: &str = "伟强军勇刚杰涛斌鹏磊峰建";
    let guardians: Vec<(String, String)> = raw
        .prepare("SELECT g.name, mg.relation FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(guardians.len() > 250);
    for (name, relation) in &guardians {
        let given: String = name.chars().skip(1).collect();
        match relation.as_str() {
            "爸爸" => assert!(!given.chars().any(|c| WOMENS.contains(c)), "{name} is a 爸爸"),
            "妈妈" => assert!(!given.chars().any(|c| MENS.contains(c)), "{name} is a 妈妈"),
            _ => {}
        }
    }
    assert!(guardians.iter().any(|g| g.1 == "爸爸") && guardians.iter().any(|g| g.1 == "妈妈"));
}

#[test]
fn randomised_centres_stay_consistent() {
    // A few centres of random front-desk days: enrolments, payments and reversals,
    // roll calls with leave withdrawn or not, refunds, goods sold and returned, time
    // passing and the daily run. The checker finds nothing after each.
    for seed in 0..4u64 {
        let k = class(6);
        let c = &k.c;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let pkgs = [c.lesson_package(2, "200"), c.lesson_package(5, "500"), c.term_package(1, "680")];
        let water = c.core.goods_create(&c.admin, GoodsInput { name: "矿泉水".into(), category: "饮料".into(), price: "2".into(), points_price: None }).unwrap();
        c.core.goods_stock(&c.admin, StockInput { goods_id: water.id.clone(), kind: "purchase".into(), quantity: 50, reason: String::new() }).unwrap();
        let kids: Vec<String> = (0..8)
            .map(|i| {
                let m = c.member(&format!("随机{}", "甲乙丙丁戊己庚辛".chars().nth(i).unwrap()), &format!("139{seed:02}{i:06}"));
                let _ = c.core.group_add_member(&c.admin, &k.group, &m.id, Some("2026-11-01".into()), rng.gen_bool(0.5));
                m.id
            })
            .collect();
        let mut contracts = vec![];
        let dates = ["2026-11-04", "2026-11-11", "2026-11-18", "2026-11-25", "2026-12-02", "2026-12-09"];
        for date in dates {
            k.at(date, 11, 0);
            for kid in &kids {
                if rng.gen_bool(0.3) {
                    let p = &pkgs[rng.gen_range(0..pkgs.len())];
                    let view = c
                        .core
                        .contract_enrol(&c.clerk, EnrolInput { member_id: kid.clone(), package_id: p.id.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
                        .unwrap();
                    let amount = if rng.gen_bool(0.5) { view.balance_due.to_string() } else { "50".into() };
                    let paid = c.core.payment_take(&c.clerk, PaymentInput { contract_id: view.contract.id.clone(), amount, method: "cash".into(), note: String::new() }, centredesk_core::Lang::ZhCn).unwrap();
                    if rng.gen_bool(0.15) {
                        c.core.payment_reverse(&c.admin, &paid.payment.id, "录错").unwrap();
                    }
                    contracts.push(view.contract.id);
                }
            }
            let s = k.session(date);
            for kid in &kids {
                if rng.gen_bool(0.2) {
                    let _ = c.core.leave_request(&c.clerk, LeaveInput { member_id: kid.clone(), session_ids: vec![s.clone()], via: "desk".into(), note: String::new() });
                }
            }
            c.to_class(&s);
            let marks = kids
                .iter()
                .map(|kid| MarkInput { member_id: kid.clone(), mark: ["present", "late", "absent", "leave", ""][rng.gen_range(0..5)].into(), withdraw_leave: Some(true), ..Default::default() })
                .collect();
            c.core.roll_call(&c.coach, &s, RollCallInput { marks, ..Default::default() }).unwrap();
            if rng.gen_bool(0.5) {
                let sale = c.core.goods_sell(&c.clerk, SaleInput { goods_id: water.id.clone(), quantity: 2, member_id: None, method: "cash".into(), delivered: true, note: String::new() }).unwrap();
                if rng.gen_bool(0.3) {
                    c.core.goods_return(&c.clerk, centredesk_core::goods::ReturnInput { sale_id: sale.id, quantity: 1, reason: "多买了".into() }).unwrap();
                }
            }
            if !contracts.is_empty() && rng.gen_bool(0.2) {
                let k2 = contracts.remove(rng.gen_range(0..contracts.len()));
                let _ = c.core.contract_refund(&c.admin, &k2, RefundInput { rule: RefundRule::Days, method: "cash".into(), reason: "退学".into() });
            }
            k.at(date, 23, 0);
            c.core.member_status_sweep().unwrap();
            let report = c.core.check_unattended(Lang::ZhCn).unwrap();
            assert!(report.healthy(), "seed {seed} on {date}: {:#?}", report.findings);
        }
    }
}
