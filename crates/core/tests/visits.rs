//! Return visits 回访: the planner's rules at their boundary days, who sees which visit,
//! a visit answering the week's plans with its CSAT counted, the rules the manager sets,
//! and every write in the change log.

use crate::common::{self, Centre};
use centredesk_core::attendance::{MarkInput, RollCallInput};
use centredesk_core::contracts::EnrolInput;
use centredesk_core::feedback::{ComplaintInput, ConfirmInput, StepInput, STEPS};
use centredesk_core::payments::PaymentInput;
use centredesk_core::tiers::{TierConfig, TierDef};
use centredesk_core::timetable::SessionFilter;
use centredesk_core::visits::{VisitInput, VisitPlan, VisitRule};
use centredesk_core::vocab::{VisitAssignee, VisitRuleKind};
use centredesk_core::{CoreError, Lang, Session};
use chrono::{NaiveDate, TimeZone, Utc};

/// The clock at 10:00 Beijing on `date`.
fn on(c: &Centre, date: &str) {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    c.clock.set(Utc.from_utc_datetime(&d.and_hms_opt(2, 0, 0).unwrap()));
    assert_eq!(c.core.today(), d);
}

fn due(c: &Centre, s: &Session) -> Vec<VisitPlan> {
    c.core.visits_due(s, Lang::ZhCn, 100).unwrap()
}

fn of_rule(plans: &[VisitPlan], rule: &str) -> Vec<VisitPlan> {
    plans.iter().filter(|p| p.rule == rule).cloned().collect()
}

/// Only `kind` on (with `days`), so each test sees its own rule's plans.
fn only_rule(c: &Centre, kind: VisitRuleKind, days: i64, assign_to: VisitAssignee) {
    let rules = c.core.visit_rules(&c.admin).unwrap().into_iter().map(|r| VisitRule { enabled: r.kind == kind, days: if r.kind == kind { days } else { r.days }, assign_to: if r.kind == kind { assign_to } else { r.assign_to }, ..r }).collect();
    c.core.visit_rules_update(&c.admin, rules).unwrap();
}

fn enrol(c: &Centre, member: &str, lessons: i64, start: &str, consultant: Option<&Session>) -> String {
    let pkg = c.lesson_package(lessons, "2400");
    c.core
        .contract_enrol(
            &c.clerk,
            EnrolInput {
                member_id: member.into(),
                package_id: pkg.id,
                discount: String::new(),
                start_date: Some(start.into()),
                consultant_id: consultant.map(|s| s.staff_id.clone()),
                renewal_of: None,
                notes: String::new(),
            },
        )
        .unwrap()
        .contract
        .id
}

fn visit(content: &str) -> VisitInput {
    VisitInput { channel: "phone".into(), content: content.into(), mood: "happy".into(), ..Default::default() }
}

#[test]
fn the_first_lesson_visit_is_due_on_day_7_in_the_week_on_day_6_and_overdue_on_day_8() {
    let c = common::centre();
    only_rule(&c, VisitRuleKind::FirstLesson, 7, VisitAssignee::Consultant);
    let group = c.weekly_class("周三初级班", 3, "2026-11-01", "2026-12-31");
    let m = c.member("首课", "13700000001");
    c.core.group_add_member(&c.admin, &group, &m.id, Some("2026-11-01".into()), false).unwrap();
    enrol(&c, &m.id, 24, "2026-11-25", Some(&c.consultant));

    // No lesson yet: nothing to plan.
    assert_eq!(c.core.plan_visits().unwrap().planned, 0);
    let session = c.core.session_list(&c.admin, SessionFilter { from_date: "2026-11-25".into(), to_date: "2026-11-25".into(), ..Default::default() }).unwrap().remove(0).id;
    c.to_class(&session);
    c.core.roll_call(&c.coach, &session, RollCallInput { marks: vec![MarkInput { member_id: m.id.clone(), mark: "present".into(), ..Default::default() }], ..Default::default() }).unwrap();
    // The next Wednesday's lesson is not a first lesson.
    let next = c.core.session_list(&c.admin, SessionFilter { from_date: "2026-12-02".into(), to_date: "2026-12-02".into(), ..Default::default() }).unwrap().remove(0).id;

    // Day 0 (the lesson's day): the visit is 7 days away, beyond the week: not planned yet.
    assert_eq!(c.core.plan_visits().unwrap().planned, 0);
    // Day 1: day 7 is within the week: planned, for the member's consultant.
    on(&c, "2026-11-26");
    assert_eq!(c.core.plan_visits().unwrap().planned, 1);
    assert_eq!(c.core.plan_visits().unwrap().planned, 0, "a second run plans nothing");
    // Day 6: in the consultant's week, not due yet; not the clerk's; the manager sees all.
    on(&c, "2026-12-01");
    let mine = of_rule(&due(&c, &c.consultant), "first_lesson");
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].due_date.as_str(), mine[0].overdue, mine[0].assignee_name.as_str()), ("2026-12-02", false, "张敏"));
    assert!(of_rule(&due(&c, &c.clerk), "first_lesson").is_empty());
    assert_eq!(of_rule(&due(&c, &c.admin), "first_lesson").len(), 1);
    // Day 7: due today, not overdue. A lesson that day changes nothing.
    on(&c, "2026-12-02");
    c.to_class(&next);
    c.core.roll_call(&c.coach, &next, RollCallInput { marks: vec![MarkInput { member_id: m.id.clone(), mark: "present".into(), ..Default::default() }], ..Default::default() }).unwrap();
    on(&c, "2026-12-02");
    assert_eq!(c.core.plan_visits().unwrap().planned, 0);
    let mine = of_rule(&due(&c, &c.consultant), "first_lesson");
    assert_eq!((mine[0].due_date.as_str(), mine[0].overdue), ("2026-12-02", false));
    // Day 8: overdue.
    on(&c, "2026-12-03");
    assert!(of_rule(&due(&c, &c.consultant), "first_lesson")[0].overdue);
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'visit_plan' AND op = 'plan' AND staff_id IS NULL"), 1);
}

#[test]
fn a_visit_answers_the_weeks_plans_counts_its_csat_and_plans_the_next_one() {
    let c = common::centre();
    only_rule(&c, VisitRuleKind::Enrolment, 30, VisitAssignee::Clerk);
    let m = c.member("回访", "13700000002");
    enrol(&c, &m.id, 24, "2026-10-28", None);
    on(&c, "2026-11-27");
    assert_eq!(c.core.plan_visits().unwrap().planned, 1);
    let plan = of_rule(&due(&c, &c.clerk), "enrolment").remove(0);
    assert_eq!((plan.due_date.as_str(), plan.assignee_name.as_str()), ("2026-11-27", "前台"));
    // A consultant sees the desk's visit neither; anyone may still record a visit.
    assert!(due(&c, &c.consultant).is_empty());

    // Every wrong field at once, nothing saved.
    let before = c.snapshot();
    let e = c
        .core
        .visit_record(&c.clerk, &m.id, VisitInput { channel: "fax".into(), content: " ".into(), mood: "angry".into(), satisfaction: Some(6), next_visit: Some("2026-13-01".into()), ..Default::default() })
        .unwrap_err();
    let CoreError::Validations(problems) = &e else { panic!("{e:?}") };
    let fields: Vec<String> = problems.iter().map(|(f, _)| format!("{f:?}")).collect();
    assert_eq!(fields, ["Channel", "Mood", "VisitContent", "Score", "NextVisit"], "{}", e.message(Lang::ZhCn));
    assert!(c.core.visit_record(&c.clerk, &m.id, VisitInput { next_visit: Some("2026-11-27".into()), ..visit("x") }).is_err(), "the next visit is after today");
    assert_eq!(c.snapshot(), before);

    let log = c.log_len();
    let v = c
        .core
        .visit_record(
            &c.clerk,
            &m.id,
            VisitInput { satisfaction: Some(4), plan_id: Some(plan.id.clone()), next_visit: Some("2026-12-10".into()), next_step: "考级前再联系".into(), ..visit("家长很满意，孩子想参加考级") },
        )
        .unwrap();
    assert_eq!((v.satisfaction, v.staff_name.as_str(), v.business_date.as_str()), (Some(4), "李娜", "2026-11-27"));
    // One transaction: the visit, its CSAT answer, the plan done, the next one planned.
    let ops: Vec<String> = {
        let raw = c.raw();
        let mut stmt = raw.prepare("SELECT entity || '.' || op FROM change_log WHERE seq > ?1 ORDER BY seq").unwrap();
        stmt.query_map([log], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    };
    assert_eq!(ops, ["satisfaction.record", "return_visit.record", "visit_plan.done", "visit_plan.plan"]);
    assert!(due(&c, &c.clerk).is_empty());
    assert_eq!(
        c.core.visit_record(&c.clerk, &m.id, VisitInput { plan_id: Some(plan.id.clone()), ..visit("again") }).unwrap_err().code(),
        "conflict.visit_plan_closed"
    );
    // The answer counts in the CSAT results, with the others.
    let rows = c.core.satisfaction_results(&c.admin, "2026-11-01", "2026-11-30", "all", Lang::ZhCn).unwrap();
    assert_eq!((rows[0].csat_count, rows[0].csat_avg.as_str()), (1, "4.00"));
    // The next visit is the recorder's, on the day named.
    let mine = of_rule(&c.core.member_visits(&c.clerk, &m.id, Lang::ZhCn).unwrap().open_plans, "next_step");
    assert_eq!((mine[0].due_date.as_str(), mine[0].assignee_id.as_deref()), ("2026-12-10", Some(c.clerk.staff_id.as_str())));
    on(&c, "2026-12-04");
    assert_eq!(of_rule(&due(&c, &c.clerk), "next_step").len(), 1);
    // On the timeline, for every role (a coach may record one too).
    let timeline = c.core.member_timeline(&c.coach, &m.id, 50).unwrap();
    assert!(timeline.iter().any(|t| t.entity == "return_visit" && t.data["content"] == "家长很满意，孩子想参加考级"));
    c.core.visit_record(&c.coach, &m.id, visit("课后和家长聊了几句")).unwrap();
    let visits = c.core.member_visits(&c.coach, &m.id, Lang::En).unwrap();
    assert_eq!(visits.visits.len(), 2);
    assert!(visits.open_plans.is_empty(), "a visit answers every plan due this week: {:?}", visits.open_plans);
}

#[test]
fn a_renewal_visit_comes_30_days_before_the_end_and_goes_when_the_family_renews() {
    let c = common::centre();
    only_rule(&c, VisitRuleKind::ContractEnding, 30, VisitAssignee::Consultant);
    let m = c.member("续费", "13700000003");
    let pkg = c.term_package(1, "680");
    let k = c
        .core
        .contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id.clone(), discount: String::new(), start_date: Some("2026-11-20".into()), consultant_id: Some(c.consultant.staff_id.clone()), renewal_of: None, notes: String::new() })
        .unwrap()
        .contract;
    assert_eq!(k.end_date, "2026-12-19");
    // Due 2026-11-19 — already past on 11-25, within the 30 days looked back: planned.
    assert_eq!(c.core.plan_visits().unwrap().planned, 1);
    let plan = of_rule(&due(&c, &c.consultant), "contract_ending").remove(0);
    assert_eq!((plan.due_date.as_str(), plan.overdue), ("2026-11-19", true));
    // A renewal answers it: the next run cancels the visit.
    c.core
        .contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id, discount: String::new(), start_date: None, consultant_id: None, renewal_of: Some(k.id.clone()), notes: String::new() })
        .unwrap();
    let run = c.core.plan_visits().unwrap();
    assert_eq!((run.planned, run.cancelled), (0, 1));
    assert!(due(&c, &c.consultant).is_empty());
    assert_eq!(c.count("SELECT COUNT(*) FROM visit_plans WHERE status = 'cancelled' AND note = 'renewed'"), 1);
}

#[test]
fn a_closed_complaint_brings_the_managers_visit_and_a_left_member_has_none() {
    let c = common::centre();
    only_rule(&c, VisitRuleKind::ComplaintClosed, 3, VisitAssignee::Manager);
    let m = c.member("投诉", "13700000004");
    let k = c
        .core
        .complaint_create(
            &c.clerk,
            ComplaintInput { member_id: Some(m.id.clone()), guardian_id: None, category: "class".into(), about_staff_id: None, group_id: None, body: "上课人太多".into(), severity: "minor".into(), handler_id: None, deadline: None },
        )
        .unwrap();
    for kind in STEPS {
        c.core.complaint_step(&c.clerk, StepInput { complaint_id: k.id.clone(), kind: kind.to_string(), notes: "已沟通".into() }).unwrap();
    }
    assert_eq!(c.core.plan_visits().unwrap().planned, 0, "not closed yet");
    c.core.complaint_confirm(&c.clerk, ConfirmInput { complaint_id: k.id, resolution: "已分班".into(), confirmed: true, note: String::new() }).unwrap();
    assert_eq!(c.core.plan_visits().unwrap().planned, 1);
    assert!(due(&c, &c.clerk).is_empty(), "the manager's");
    let plan = of_rule(&due(&c, &c.admin), "complaint_closed").remove(0);
    assert_eq!((plan.due_date.as_str(), plan.assignee_name.as_str()), ("2026-11-28", "店长"));
    // The family leaves: the visit is cancelled and off every list.
    c.core.member_set_status(&c.clerk, &m.id, "left").unwrap();
    assert!(due(&c, &c.admin).is_empty());
    assert_eq!(c.core.plan_visits().unwrap().cancelled, 1);
}

#[test]
fn the_top_tier_gets_a_visit_every_n_days_counted_from_the_last_one() {
    let c = common::centre();
    only_rule(&c, VisitRuleKind::TopTier, 28, VisitAssignee::Clerk);
    let def = |zh: &str, en: &str, threshold: &str| TierDef { name_zh: zh.into(), name_en: en.into(), threshold: threshold.into(), discount_percent: "0".into(), birthday_zh: String::new(), birthday_en: String::new(), holiday_greetings: false, visit_days: 0, owner_id: None };
    c.core.tier_config_update(&c.admin, TierConfig { basis: "spend".into(), period_months: 12, tiers: vec![def("银卡", "Silver", "1000"), def("金卡", "Gold", "5000")] }).unwrap();
    let (gold, silver) = (c.member("金卡", "13700000005"), c.member("银卡", "13700000006"));
    for (m, amount) in [(&gold, "6000"), (&silver, "2000")] {
        let pkg = c.lesson_package(100, amount);
        let k = c.core.contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id, discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() }).unwrap().contract;
        c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.id, amount: amount.into(), method: "wechat".into(), note: String::new() }, Lang::ZhCn).unwrap();
    }
    c.core.tiers_evaluate(&c.admin).unwrap();
    // Never visited: due today, the top tier only.
    assert_eq!(c.core.plan_visits().unwrap().planned, 1);
    let plan = of_rule(&due(&c, &c.clerk), "top_tier").remove(0);
    assert_eq!((plan.member_id.as_str(), plan.due_date.as_str()), (gold.id.as_str(), "2026-11-25"));
    c.core.visit_record(&c.clerk, &gold.id, visit("金卡家长，问候近况")).unwrap();
    // Next due 28 days after the visit: planned once it is within the week (day 22), not before.
    on(&c, "2026-12-16");
    assert_eq!(c.core.plan_visits().unwrap().planned, 0);
    on(&c, "2026-12-17");
    assert_eq!(c.core.plan_visits().unwrap().planned, 1);
    assert_eq!(of_rule(&due(&c, &c.clerk), "top_tier")[0].due_date, "2026-12-23");
    assert_eq!(c.core.plan_visits().unwrap().planned, 0);
}

#[test]
fn the_manager_sets_the_rules_and_a_rule_switched_off_plans_nothing() {
    let c = common::centre();
    let rules = c.core.visit_rules(&c.clerk).unwrap();
    assert_eq!(rules.len(), 5);
    assert!(matches!(c.core.visit_rules_update(&c.clerk, rules.clone()), Err(CoreError::Forbidden(_))));
    let mut bad = rules.clone();
    bad[0].days = 0;
    let e = c.core.visit_rules_update(&c.admin, bad).unwrap_err();
    assert_eq!(e.field(), Some(centredesk_core::error::Field::VisitDays), "{}", e.message(Lang::ZhCn));
    let off: Vec<VisitRule> = rules.into_iter().map(|r| VisitRule { enabled: false, ..r }).collect();
    c.core.visit_rules_update(&c.admin, off.clone()).unwrap();
    assert_eq!(c.core.visit_rules(&c.admin).unwrap(), off);
    let m = c.member("关闭", "13700000007");
    enrol(&c, &m.id, 24, "2026-10-26", None);
    assert_eq!(c.core.plan_visits().unwrap().planned, 0);
    // Saving the same rules again writes nothing.
    let log = c.log_len();
    c.core.visit_rules_update(&c.admin, off).unwrap();
    assert_eq!(c.log_len(), log);
}

/// Silver every 14 days (no owner), gold on the rule's days with a named owner 专属顾问 and
/// holiday greetings; the 等级关怀 rule assigned to the front desk, enrolment visits to the consultant.
fn care_tiers(c: &Centre, gold_owner: Option<String>) -> centredesk_core::Result<TierConfig> {
    let def = |zh: &str, threshold: &str, greet: bool, days: i64, owner: Option<String>| TierDef {
        name_zh: zh.into(),
        name_en: String::new(),
        threshold: threshold.into(),
        discount_percent: "0".into(),
        birthday_zh: String::new(),
        birthday_en: String::new(),
        holiday_greetings: greet,
        visit_days: days,
        owner_id: owner,
    };
    c.core.tier_config_update(&c.admin, TierConfig { basis: "spend".into(), period_months: 12, tiers: vec![def("银卡", "1000", false, 14, None), def("金卡", "5000", true, 0, gold_owner)] })
}

fn paid(c: &Centre, name: &str, phone: &str, amount: &str, start: &str) -> centredesk_core::members::Member {
    let m = c.member(name, phone);
    let pkg = c.lesson_package(100, amount);
    let k = c.core.contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id, discount: String::new(), start_date: Some(start.into()), consultant_id: None, renewal_of: None, notes: String::new() }).unwrap().contract;
    c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.id, amount: amount.into(), method: "wechat".into(), note: String::new() }, Lang::ZhCn).unwrap();
    m
}

#[test]
fn each_tier_has_its_own_visit_frequency_and_a_named_owner_takes_its_families_visits() {
    let c = common::centre();
    let rules = c.core.visit_rules(&c.admin).unwrap().into_iter().map(|r| VisitRule {
        enabled: matches!(r.kind, VisitRuleKind::TopTier | VisitRuleKind::Enrolment),
        days: if r.kind == VisitRuleKind::TopTier { 28 } else { 30 },
        assign_to: if r.kind == VisitRuleKind::TopTier { VisitAssignee::Clerk } else { VisitAssignee::Consultant },
        ..r
    });
    c.core.visit_rules_update(&c.admin, rules.collect()).unwrap();
    // The owner must be an active staff member; the days 0–365.
    let e = care_tiers(&c, Some("no-such-staff".into())).unwrap_err();
    assert_eq!(e.field(), Some(centredesk_core::error::Field::TierOwner), "{}", e.message(Lang::ZhCn));
    let mut cfg = care_tiers(&c, None).unwrap();
    cfg.tiers[0].visit_days = 366;
    assert_eq!(c.core.tier_config_update(&c.admin, cfg).unwrap_err().field(), Some(centredesk_core::error::Field::VisitDays));
    let saved = care_tiers(&c, Some(c.consultant.staff_id.clone())).unwrap();
    assert_eq!((saved.tiers[0].visit_days, saved.tiers[1].owner_id.as_deref()), (14, Some(c.consultant.staff_id.as_str())));

    // Enrolled 30 days ago (the enrolment visit is due today), and paid into their tiers.
    let (gold, silver, none) = (paid(&c, "金卡", "13700000011", "6000", "2026-10-26"), paid(&c, "银卡", "13700000012", "2000", "2026-10-26"), paid(&c, "无卡", "13700000013", "500", "2026-10-26"));
    c.core.tiers_evaluate(&c.admin).unwrap();
    assert_eq!(c.core.member_tier(&c.clerk, &gold.id).unwrap().owner_name.as_deref(), Some("张敏"));
    assert_eq!(c.core.member_tier(&c.clerk, &silver.id).unwrap().owner_name, None);
    assert_eq!(c.core.plan_visits().unwrap().planned, 2 + 3, "a tier visit each for gold and silver, an enrolment visit each for all three");
    let plans = due(&c, &c.admin);
    let plan = |member: &str, rule: &str| plans.iter().find(|p| p.member_id == member && p.rule == rule).cloned();
    let gold_care = plan(&gold.id, "top_tier").unwrap();
    assert_eq!((gold_care.due_date.as_str(), gold_care.assignee_id.as_deref()), ("2026-11-25", Some(c.consultant.staff_id.as_str())), "the owner, not the rule's front desk");
    assert_eq!(plan(&silver.id, "top_tier").unwrap().assignee_role.as_deref(), Some("clerk"), "no owner: as the rule assigns");
    assert_eq!(plan(&gold.id, "enrolment").unwrap().assignee_id.as_deref(), Some(c.consultant.staff_id.as_str()), "the family's consultant is the tier's owner");
    assert!(plan(&none.id, "top_tier").is_none(), "no tier, no tier care");

    // Silver: the next visit 14 days after the last — planned on day 8 (within the week), not day 7.
    c.core.visit_record(&c.clerk, &silver.id, visit("银卡家长，问候近况")).unwrap();
    on(&c, "2026-12-02");
    c.core.plan_visits().unwrap();
    assert!(of_rule(&due(&c, &c.admin), "top_tier").iter().all(|p| p.member_id != silver.id));
    on(&c, "2026-12-03");
    c.core.plan_visits().unwrap();
    assert_eq!(of_rule(&due(&c, &c.admin), "top_tier").iter().find(|p| p.member_id == silver.id).unwrap().due_date, "2026-12-09");

    // The owner is disabled: the family's new plans go back to the rule, and the desk no longer names them.
    c.core.visit_record(&c.clerk, &gold.id, visit("金卡家长，问候近况")).unwrap();
    c.core.staff_set_active(&c.admin, &c.consultant.staff_id, false).unwrap();
    assert_eq!(c.core.member_tier(&c.clerk, &gold.id).unwrap().owner_name, None);
    on(&c, "2026-12-25"); // 28 days after 3 Dec is 31 Dec: within the week
    c.core.plan_visits().unwrap();
    let next = of_rule(&due(&c, &c.admin), "top_tier").into_iter().find(|p| p.member_id == gold.id).unwrap();
    assert_eq!((next.due_date.as_str(), next.assignee_id, next.assignee_role.as_deref()), ("2026-12-31", None, Some("clerk")));
}

#[test]
fn holiday_greetings_go_on_the_day_to_the_tiers_whose_care_plan_has_them_once() {
    let c = common::centre();
    care_tiers(&c, None).unwrap();
    // A new centre starts with the list of 2027 and 2028 (lunar holidays as dates).
    let list = c.core.holidays(&c.clerk).unwrap();
    assert!(list.iter().any(|h| h.date == "2027-02-06" && h.name_zh == "春节"), "{list:?}");
    use centredesk_core::notify::holidays::Holiday;
    let h = |date: &str, zh: &str, en: &str| Holiday { date: date.into(), name_zh: zh.into(), name_en: en.into() };
    assert!(matches!(c.core.holidays_set(&c.clerk, vec![]), Err(CoreError::Forbidden(_))));
    let e = c.core.holidays_set(&c.admin, vec![h("2026-11-26", "感恩节", ""), h("2026-11-26", "重复", "")]).unwrap_err();
    assert_eq!(e.field(), Some(centredesk_core::error::Field::Holiday));
    assert_eq!(c.core.holidays_set(&c.admin, vec![h("2026-13-01", "坏日期", "")]).unwrap_err().field(), Some(centredesk_core::error::Field::Holiday));
    assert_eq!(c.core.holidays_set(&c.admin, vec![h("2026-12-01", " ", "")]).unwrap_err().field(), Some(centredesk_core::error::Field::HolidayName));
    let log = c.log_len();
    let saved = c.core.holidays_set(&c.admin, vec![h("2026-12-31", "元旦前夕", "New Year's Eve"), h("2026-11-26", "感恩节", "Thanksgiving")]).unwrap();
    assert_eq!(saved.iter().map(|x| x.date.as_str()).collect::<Vec<_>>(), ["2026-11-26", "2026-12-31"], "kept in date order");
    assert_eq!(c.log_len() - log, 1, "one setting, logged");

    let (gold, _silver) = (paid(&c, "金卡", "13700000011", "6000", "2026-10-26"), paid(&c, "银卡", "13700000012", "2000", "2026-10-26"));
    c.core.tiers_evaluate(&c.admin).unwrap();
    let greetings = || c.count("SELECT COUNT(*) FROM notices WHERE kind = 'holiday'");
    c.core.notify_scan().unwrap();
    assert_eq!(greetings(), 0, "the day before: nothing");
    on(&c, "2026-11-26");
    c.core.notify_scan().unwrap();
    c.core.notify_scan().unwrap();
    let rows: Vec<(String, String)> = c.raw().prepare("SELECT member_id, text FROM notices WHERE kind = 'holiday'").unwrap().query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap();
    assert_eq!(rows.len(), 1, "gold only (silver's plan has no greetings), once however often the scan runs: {rows:?}");
    assert_eq!(rows[0].0, gold.id);
    assert!(rows[0].1.contains("值此感恩节之际") && rows[0].1.contains("金卡和家人"), "{}", rows[0].1);
    // A desk off on the day does not greet late.
    c.core.holidays_set(&c.admin, vec![h("2026-11-25", "昨天", "")]).unwrap();
    c.core.notify_scan().unwrap();
    assert_eq!(greetings(), 1);
}
