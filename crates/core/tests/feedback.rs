//! Feedback on a real database: complaint steps in order and only by the handler or a
//! manager, deadlines by severity and overdue against the clock in the centre's time zone
//! (the manager's home screen lists them), statistics by category and coach, votes one per
//! member, NPS and CSAT arithmetic exact, and every write in the change log.

use crate::common::csv_table;
use crate::common;

use centredesk_core::error::Field;
use centredesk_core::feedback::{nps_tenths, ComplaintFilter, ComplaintInput, ConfirmInput, ScoreInput, StepInput, SuggestionInput, VoteInput, STEPS};
use centredesk_core::timetable::ClassGroupInput;
use centredesk_core::Lang;
use chrono::{Duration, TimeZone, Utc};

fn complaint(member: &str, severity: &str, category: &str, about: Option<&str>, handler: Option<&str>) -> ComplaintInput {
    ComplaintInput {
        member_id: Some(member.into()),
        guardian_id: None,
        category: category.into(),
        about_staff_id: about.map(String::from),
        group_id: None,
        body: "教练上课迟到二十分钟".into(),
        severity: severity.into(),
        handler_id: handler.map(String::from),
        deadline: None,
    }
}

fn step(id: &str, kind: &str) -> StepInput {
    StepInput { complaint_id: id.into(), kind: kind.into(), notes: format!("{kind} 已完成") }
}

fn score(member: &str, kind: &str, value: i64, group: Option<&str>) -> ScoreInput {
    ScoreInput { member_id: member.into(), kind: kind.into(), score: value, occasion: "term".into(), group_id: group.map(String::from), coach_id: None, comment: String::new(), date: None }
}

#[test]
fn complaint_steps_go_in_order_and_the_confirmation_closes_it() {
    let c = common::centre();
    let m = c.member("王小明", "13800001111");
    let k = c.core.complaint_create(&c.clerk, complaint(&m.id, "serious", "coach", Some(&c.coach.staff_id), Some(&c.clerk.staff_id))).unwrap();
    assert_eq!((k.deadline.as_str(), k.steps_done, k.next_step.as_deref(), k.overdue), ("2026-11-27", 0, Some("accept"), false));
    assert_eq!(k.complaint_no, "T00001");
    assert_eq!(k.about_staff_name.as_deref(), Some("陈刚"));

    // No skipping: the second step first is refused, naming the expected one.
    let before = c.log_len();
    let e = c.core.complaint_step(&c.clerk, step(&k.id, "calm")).unwrap_err();
    assert_eq!(e.code(), "conflict.complaint_step_out_of_order");
    assert_eq!(e.message(Lang::ZhCn), "处理步骤须按顺序进行，下一步应为“受理”");
    assert_eq!(c.log_len(), before, "nothing half-saved");
    // A step that is not a step at all names the field.
    assert_eq!(c.core.complaint_step(&c.clerk, step(&k.id, "ignore")).unwrap_err().field(), Some(Field::Step));
    // Notes are required.
    let e = c.core.complaint_step(&c.clerk, StepInput { complaint_id: k.id.clone(), kind: "accept".into(), notes: " ".into() }).unwrap_err();
    assert_eq!((e.code().as_str(), e.field()), ("validation.required", Some(Field::Notes)));
    // Only the handler or a manager: the coach (not the handler) is refused.
    assert_eq!(c.core.complaint_step(&c.coach, step(&k.id, "accept")).unwrap_err().code(), "forbidden");

    // Confirmation before the steps are done is refused.
    let confirm = |yes: bool| ConfirmInput { complaint_id: k.id.clone(), resolution: "调换教练并补课两节".into(), confirmed: yes, note: "家长满意".into() };
    assert_eq!(c.core.complaint_confirm(&c.clerk, confirm(true)).unwrap_err().code(), "conflict.complaint_step_out_of_order");

    let follow_ups = || c.count("SELECT COUNT(*) FROM notices WHERE kind = 'complaint_follow_up'");
    for (i, kind) in STEPS.iter().enumerate() {
        // The handler records most steps; the manager may record one for them.
        let who = if i == 2 { &c.admin } else { &c.clerk };
        assert_eq!(follow_ups(), 0, "no follow-up notice before 致谢回访");
        let k2 = c.core.complaint_step(who, step(&k.id, kind)).unwrap();
        assert_eq!(k2.steps_done, i as i64 + 1);
        c.clock.advance(Duration::hours(1));
    }
    // 致谢回访 tells the family, once, in the notice language, naming what and who.
    assert_eq!(follow_ups(), 1);
    let (text, phone): (String, String) =
        c.raw().query_row("SELECT text, recipient_phone FROM notices WHERE kind = 'complaint_follow_up'", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(phone, "13800001111");
    assert!(text.contains("「教练（陈刚）」") && text.contains("T00001") && text.contains(&k.handler_name), "{text}");
    assert_eq!(c.core.complaint_step(&c.clerk, step(&k.id, "thank")).unwrap_err().code(), "conflict.complaint_steps_done");
    let got = c.core.complaint_get(&c.clerk, &k.id).unwrap();
    assert_eq!(got.steps.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(), STEPS.to_vec());
    assert_eq!(got.steps[2].staff_name, "王校长");
    assert!(got.steps.windows(2).all(|w| w[0].at < w[1].at), "steps are timed in order");

    let e = c.core.complaint_confirm(&c.clerk, ConfirmInput { resolution: "".into(), ..confirm(true) }).unwrap_err();
    assert_eq!(e.field(), Some(Field::Resolution));
    let closed = c.core.complaint_confirm(&c.clerk, confirm(true)).unwrap();
    assert_eq!((closed.confirmed, closed.closed_date.as_deref(), closed.resolution.as_str()), (Some(true), Some("2026-11-25"), "调换教练并补课两节"));
    assert_eq!(c.core.complaint_confirm(&c.clerk, confirm(false)).unwrap_err().code(), "conflict.complaint_closed");
    assert_eq!(c.core.complaint_step(&c.admin, step(&k.id, "thank")).unwrap_err().code(), "conflict.complaint_closed");

    // Every write is in the change log, on the member's timeline.
    assert_eq!(c.count(&format!("SELECT COUNT(*) FROM change_log WHERE entity = 'complaint' AND entity_id = '{}'", k.id)), 1 + 5 + 1);
    assert_eq!(c.count(&format!("SELECT COUNT(*) FROM change_log WHERE entity = 'complaint' AND subject_id = '{}'", m.id)), 7);
    let last: String = c.raw().query_row("SELECT payload FROM change_log ORDER BY seq DESC LIMIT 1", [], |r| r.get(0)).unwrap();
    assert!(last.contains("\"closed_at\"") && last.contains("调换教练"), "{last}");
}

#[test]
fn overdue_is_computed_against_the_clock_in_the_centres_time_zone() {
    let c = common::centre();
    let m = c.member("李小华", "13800002222");
    let serious = c.core.complaint_create(&c.clerk, complaint(&m.id, "serious", "facility", None, None)).unwrap();
    let minor = c.core.complaint_create(&c.clerk, complaint(&m.id, "minor", "class", None, None)).unwrap();
    assert_eq!((serious.deadline.as_str(), minor.deadline.as_str()), ("2026-11-27", "2026-12-02"));
    assert_eq!(serious.handler_id, c.clerk.staff_id, "the recorder handles it by default");
    let overdue_on_home = |s: &centredesk_core::Session| c.core.home(s, centredesk_core::Lang::ZhCn).unwrap().overdue_complaints.iter().map(|k| k.id.clone()).collect::<Vec<_>>();

    // 2026-11-27 23:59 in Beijing (15:59 UTC): the deadline day itself is not overdue.
    c.clock.set(Utc.with_ymd_and_hms(2026, 11, 27, 15, 59, 0).unwrap());
    assert!(overdue_on_home(&c.admin).is_empty());
    assert!(!c.core.complaint_get(&c.clerk, &serious.id).unwrap().overdue);
    // One minute later it is 2026-11-28 in Beijing (still the 27th in UTC): overdue.
    c.clock.set(Utc.with_ymd_and_hms(2026, 11, 27, 16, 0, 0).unwrap());
    assert_eq!(overdue_on_home(&c.admin), vec![serious.id.clone()], "the manager sees it");
    assert_eq!(overdue_on_home(&c.clerk), vec![serious.id.clone()], "its handler sees it");
    assert!(overdue_on_home(&c.coach).is_empty(), "others do not");
    let listed = c.core.complaint_list(&c.clerk, ComplaintFilter { status: "overdue".into(), ..Default::default() }).unwrap();
    assert_eq!(listed.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), vec![serious.id.as_str()]);
    assert!(listed[0].overdue);

    // Walked through to the confirmation, it leaves the overdue list.
    for kind in STEPS {
        c.core.complaint_step(&c.clerk, step(&serious.id, kind)).unwrap();
    }
    assert_eq!(overdue_on_home(&c.admin).len(), 1, "not closed until the customer confirms");
    c.core.complaint_confirm(&c.clerk, ConfirmInput { complaint_id: serious.id.clone(), resolution: "已修好".into(), confirmed: false, note: "仍不满意".into() }).unwrap();
    assert!(overdue_on_home(&c.admin).is_empty());

    // The minor one becomes overdue on 2026-12-03.
    c.clock.set(Utc.with_ymd_and_hms(2026, 12, 2, 15, 59, 0).unwrap());
    assert!(overdue_on_home(&c.admin).is_empty());
    c.clock.advance(Duration::minutes(1));
    assert_eq!(overdue_on_home(&c.admin), vec![minor.id.clone()]);

    // Statistics for the filing period (manager only).
    let stats = c.core.complaint_stats(&c.admin, "2026-11-01", "2026-11-30", Lang::ZhCn).unwrap();
    let facility = stats.by_category.iter().find(|r| r.key == "facility").unwrap();
    assert_eq!((facility.total, facility.open, facility.closed, facility.overdue, facility.avg_days_to_close.as_str()), (1, 0, 1, 0, "3.0"), "filed on the 25th, closed on the 28th");
    assert_eq!(facility.label, "设施");
    let class = stats.by_category.iter().find(|r| r.key == "class").unwrap();
    assert_eq!((class.total, class.open, class.overdue, class.avg_days_to_close_tenths), (1, 1, 1, None));
    assert_eq!(c.core.complaint_stats(&c.clerk, "2026-11-01", "2026-11-30", Lang::ZhCn).unwrap_err().code(), "forbidden");
}

#[test]
fn statistics_by_coach_use_the_person_named_or_the_groups_coach() {
    let c = common::centre();
    let m = c.member("赵小天", "13800003333");
    let group = c
        .core
        .group_create(&c.admin, ClassGroupInput { name: "初级班".into(), course: String::new(), level: String::new(), coach_id: Some(c.coach.staff_id.clone()), capacity: 20 })
        .unwrap();
    c.core.complaint_create(&c.clerk, complaint(&m.id, "minor", "coach", Some(&c.coach.staff_id), None)).unwrap();
    c.core.complaint_create(&c.clerk, ComplaintInput { group_id: Some(group.id.clone()), ..complaint(&m.id, "minor", "class", None, None) }).unwrap();
    c.core.complaint_create(&c.clerk, complaint(&m.id, "minor", "staff", Some(&c.consultant.staff_id), None)).unwrap();
    c.core.complaint_create(&c.clerk, complaint(&m.id, "serious", "facility", None, None)).unwrap();
    let stats = c.core.complaint_stats(&c.admin, "2026-11-25", "2026-11-25", Lang::En).unwrap();
    let by: Vec<(String, i64)> = stats.by_coach.iter().map(|r| (r.label.clone(), r.total)).collect();
    assert_eq!(by, vec![("陈刚".to_string(), 2), ("(no one named)".to_string(), 1), ("张敏".to_string(), 1)]);
    assert_eq!(stats.by_category.iter().map(|r| r.total).sum::<i64>(), 4);
    assert!(c.core.complaint_stats(&c.admin, "2026-11-26", "2026-11-30", Lang::En).unwrap().by_category.is_empty(), "outside the range");
    let e = c.core.complaint_stats(&c.admin, "2026-11-30", "2026-11-01", Lang::En).unwrap_err();
    assert_eq!(e.field(), Some(Field::ToDate));

    // The same rows as CSV for Excel: BOM, the header in the chosen language, one line per
    // category and per coach, the numbers as numbers.
    let csv = c.core.feedback_stats_csv(&c.admin, "complaints", "2026-11-25", "2026-11-25", "", Lang::ZhCn, true).unwrap();
    assert!(csv.bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    let text = csv_table(&csv.bytes);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "分组,项目,投诉数,处理中,已结案,已逾期,平均结案天数");
    assert_eq!(csv.rows as usize, stats.by_category.len() + stats.by_coach.len());
    assert_eq!(lines.len(), 1 + csv.rows as usize);
    assert!(lines.contains(&"按教练,陈刚,2,2,0,0,"), "{text}");
    assert_eq!(c.core.feedback_stats_csv(&c.clerk, "complaints", "2026-11-25", "2026-11-25", "", Lang::ZhCn, true).unwrap_err().code(), "forbidden");
    assert_eq!(c.core.feedback_stats_csv(&c.admin, "votes", "2026-11-25", "2026-11-25", "", Lang::ZhCn, true).unwrap_err().field(), Some(Field::Report));
}

#[test]
fn complaint_input_is_checked_field_by_field() {
    let c = common::centre();
    let m = c.member("钱小雨", "13800004444");
    let field = |i: ComplaintInput| {
        let e = c.core.complaint_create(&c.clerk, i).unwrap_err();
        (e.code(), e.field())
    };
    assert_eq!(field(complaint(&m.id, "awful", "class", None, None)), ("validation.one_of".into(), Some(Field::Severity)));
    assert_eq!(field(complaint(&m.id, "minor", "food", None, None)), ("validation.one_of".into(), Some(Field::Category)));
    assert_eq!(field(ComplaintInput { member_id: None, ..complaint(&m.id, "minor", "class", None, None) }), ("validation.required".into(), Some(Field::Member)));
    assert_eq!(field(ComplaintInput { body: "".into(), ..complaint(&m.id, "minor", "class", None, None) }), ("validation.required".into(), Some(Field::Content)));
    assert_eq!(field(ComplaintInput { deadline: Some("2026-11-24".into()), ..complaint(&m.id, "minor", "class", None, None) }), ("validation.not_in_past".into(), Some(Field::Deadline)));
    assert_eq!(field(complaint(&m.id, "minor", "class", None, Some("no-such-staff"))), ("validation.unknown".into(), Some(Field::Handler)));
    let e = c.core.complaint_create(&c.clerk, complaint(&m.id, "awful", "class", None, None)).unwrap_err();
    assert!(e.message(Lang::ZhCn).starts_with("严重程度：只能是："), "{}", e.message(Lang::ZhCn));
    // An explicit deadline wins over the default; the manager may hand it over.
    let k = c.core.complaint_create(&c.clerk, ComplaintInput { deadline: Some("2026-11-26".into()), ..complaint(&m.id, "minor", "class", None, None) }).unwrap();
    assert_eq!(k.deadline, "2026-11-26");
    assert_eq!(c.core.complaint_assign(&c.clerk, &k.id, &c.coach.staff_id).unwrap_err().code(), "forbidden");
    let k = c.core.complaint_assign(&c.admin, &k.id, &c.coach.staff_id).unwrap();
    assert_eq!(k.handler_name, "陈刚");
    c.core.complaint_step(&c.coach, step(&k.id, "accept")).unwrap();
    assert_eq!(c.core.complaint_step(&c.clerk, step(&k.id, "calm")).unwrap_err().code(), "forbidden", "the recorder is no longer the handler");
}

#[test]
fn votes_are_one_per_member_and_changeable() {
    let c = common::centre();
    let (a, b) = (c.member("孙一", "13800005555"), c.member("孙二", "13800006666"));
    let s = c
        .core
        .suggestion_create(&c.clerk, SuggestionInput { body: "希望周末增加早班课".into(), member_id: Some(a.id.clone()), guardian_id: None, author_name: String::new(), public: true })
        .unwrap();
    assert_eq!((s.author.as_str(), s.up, s.down), ("孙一", 0, 0));
    let vote = |m: &str, v: i64| c.core.suggestion_vote(&c.clerk, VoteInput { suggestion_id: s.id.clone(), member_id: m.into(), vote: v }).unwrap();
    assert_eq!((vote(&a.id, 1).up, vote(&a.id, 1).up), (1, 1), "voting twice counts once");
    let logged = c.log_len();
    vote(&a.id, 1);
    assert_eq!(c.log_len(), logged, "an unchanged vote writes nothing");
    let v = vote(&b.id, -1);
    assert_eq!((v.up, v.down), (1, 1));
    let v = vote(&a.id, -1);
    assert_eq!((v.up, v.down), (0, 2), "a vote can change");
    let v = vote(&b.id, 0);
    assert_eq!((v.up, v.down), (0, 1), "and be taken back");
    assert_eq!(c.count("SELECT COUNT(*) FROM suggestion_votes"), 1);
    let e = c.core.suggestion_vote(&c.clerk, VoteInput { suggestion_id: s.id.clone(), member_id: a.id.clone(), vote: 2 }).unwrap_err();
    assert_eq!(e.field(), Some(Field::Vote));
    assert_eq!(c.core.suggestion_vote(&c.clerk, VoteInput { suggestion_id: s.id.clone(), member_id: "nobody".into(), vote: 1 }).unwrap_err().code(), "not_found");

    // Hidden ones are left out unless asked for; a staff-typed author is kept.
    let hidden = c
        .core
        .suggestion_create(&c.coach, SuggestionInput { body: "更衣室太挤".into(), member_id: None, guardian_id: None, author_name: "路过的家长".into(), public: false })
        .unwrap();
    assert_eq!(hidden.author, "路过的家长");
    assert_eq!(c.core.suggestion_list(&c.clerk, false).unwrap().len(), 1);
    assert_eq!(c.core.suggestion_list(&c.clerk, true).unwrap().len(), 2);
    c.core.suggestion_set_public(&c.clerk, &hidden.id, true).unwrap();
    assert_eq!(c.core.suggestion_list(&c.clerk, false).unwrap().len(), 2);
    let e = c.core.suggestion_create(&c.clerk, SuggestionInput { body: "x".into(), member_id: None, guardian_id: None, author_name: " ".into(), public: true }).unwrap_err();
    assert_eq!(e.field(), Some(Field::Author));

    // Every change is logged: 2 suggestions, 1 show, 4 vote changes (a+, b−, a−, b withdrawn).
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'suggestion'"), 3);
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'suggestion_vote'"), 4);
}

#[test]
fn nps_arithmetic_is_exact() {
    assert_eq!(nps_tenths(0, 0, 0), None, "no answers, no score");
    assert_eq!(nps_tenths(5, 0, 5), Some(1000));
    assert_eq!(nps_tenths(0, 5, 5), Some(-1000));
    assert_eq!(nps_tenths(0, 0, 4), Some(0), "all passives");
    assert_eq!(nps_tenths(1, 1, 2), Some(0));
    assert_eq!(nps_tenths(2, 1, 3), Some(333));
    assert_eq!(nps_tenths(1, 2, 3), Some(-333));
    assert_eq!(nps_tenths(1, 0, 16), Some(63), "6.25 rounds half away from zero");
    assert_eq!(nps_tenths(0, 1, 16), Some(-63));
    assert_eq!(nps_tenths(5, 2, 6), Some(500));
}

#[test]
fn satisfaction_results_by_group_and_coach_per_month() {
    let c = common::centre();
    let group = c
        .core
        .group_create(&c.admin, ClassGroupInput { name: "初级班".into(), course: String::new(), level: String::new(), coach_id: Some(c.coach.staff_id.clone()), capacity: 20 })
        .unwrap();
    let members: Vec<_> = (0..6).map(|i| c.member(&format!("周{}", ["一", "二", "三", "四", "五", "六"][i]), &format!("1390000000{i}"))).collect();
    // November: NPS 10, 9, 8, 7, 6, 0 → 2 promoters, 2 passives, 2 detractors → 0.0.
    for (m, s) in members.iter().zip([10, 9, 8, 7, 6, 0]) {
        let rec = c.core.satisfaction_record(&c.clerk, score(&m.id, "nps", s, Some(&group.id))).unwrap();
        assert_eq!(rec.coach_name.as_deref(), Some("陈刚"), "the group's coach by default");
    }
    // CSAT 5, 4, 4 → 4.33.
    for (m, s) in members.iter().zip([5, 4, 4]) {
        c.core.satisfaction_record(&c.coach, score(&m.id, "csat", s, Some(&group.id))).unwrap();
    }
    // December: 2 promoters and 1 detractor of 3, without a group → 33.3.
    c.clock.set(Utc.with_ymd_and_hms(2026, 12, 3, 2, 0, 0).unwrap());
    for (m, s) in members.iter().zip([9, 10, 3]) {
        c.core.satisfaction_record(&c.clerk, score(&m.id, "nps", s, None)).unwrap();
    }
    let rows = c.core.satisfaction_results(&c.admin, "2026-11-01", "2026-12-31", "group", Lang::ZhCn).unwrap();
    let brief: Vec<_> = rows
        .iter()
        .map(|r| (r.month.as_str(), r.label.as_str(), r.nps_count, r.promoters, r.passives, r.detractors, r.nps.as_str(), r.csat_count, r.csat_avg.as_str()))
        .collect();
    assert_eq!(
        brief,
        vec![("2026-11", "初级班", 6, 2, 2, 2, "0.0", 3, "4.33"), ("2026-12", "（未指定班级）", 3, 2, 0, 1, "33.3", 0, "")]
    );
    let by_coach = c.core.satisfaction_results(&c.admin, "2026-11-01", "2026-11-30", "coach", Lang::En).unwrap();
    assert_eq!((by_coach.len(), by_coach[0].label.as_str(), by_coach[0].nps_tenths), (1, "陈刚", Some(0)));
    let all = c.core.satisfaction_results(&c.admin, "2026-12-01", "2026-12-31", "all", Lang::En).unwrap();
    assert_eq!((all[0].label.as_str(), all[0].nps_tenths), ("All", Some(333)));
    let csv = c.core.feedback_stats_csv(&c.admin, "satisfaction", "2026-12-01", "2026-12-31", "all", Lang::En, false).unwrap();
    let text = csv_table(&csv.bytes);
    assert_eq!(text.lines().next(), Some("Month,Class or coach,CSAT answers,CSAT average,NPS answers,Promoters,Passives,Detractors,NPS"), "no BOM asked, none given");
    assert_eq!(csv.rows as usize, all.len());
    assert_eq!(text.lines().nth(1), Some("2026-12,All,0,,3,2,0,1,33.3"));

    // Scores out of range name the field; the results are the manager's.
    let e = c.core.satisfaction_record(&c.clerk, score(&members[0].id, "nps", 11, None)).unwrap_err();
    assert_eq!((e.code().as_str(), e.field()), ("validation.int_range", Some(Field::Score)));
    assert_eq!(e.message(Lang::En), "Score must be between 0 and 10");
    let e = c.core.satisfaction_record(&c.clerk, score(&members[0].id, "csat", 0, None)).unwrap_err();
    assert_eq!(e.message(Lang::ZhCn), "评分：应在 1 到 5 之间");
    assert_eq!(c.core.satisfaction_record(&c.clerk, score(&members[0].id, "ces", 3, None)).unwrap_err().field(), Some(Field::ScoreKind));
    assert_eq!(c.core.satisfaction_results(&c.clerk, "2026-11-01", "2026-11-30", "group", Lang::En).unwrap_err().code(), "forbidden");
    assert_eq!(c.core.satisfaction_list(&c.coach, "2026-11-01", "2026-12-31").unwrap().len(), 12);
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'satisfaction'"), c.count("SELECT COUNT(*) FROM satisfaction_scores"));
}
