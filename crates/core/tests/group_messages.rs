//! Messages to a group 群发消息: who a message reaches for each kind of audience (a class
//! on the day, a tag, a status, a report's list), the guardian who opted out and the
//! child with nobody to tell counted, one message per guardian, roles, and nothing saved
//! when it is refused.

use crate::common::{self, Centre};
use centredesk_core::analysis::AnalysisFilter;
use centredesk_core::contracts::EnrolInput;
use centredesk_core::members::{GuardianUpdate, MemberUpdate};
use centredesk_core::notify::group_messages::{Audience, GroupMessageDraft};
use centredesk_core::vocab::MemberStatus;
use centredesk_core::{CoreError, Lang};

const BODY: &str = "{guardian}您好：{member}所在班级下周六加课一次，请准时到馆。";

fn draft(audience: Audience) -> GroupMessageDraft {
    GroupMessageDraft { audience, body: BODY.into() }
}

/// The guardian of a member (each member of `common` has one).
fn guardian(c: &Centre, member_id: &str) -> centredesk_core::members::Guardian {
    c.core.member_get(&c.clerk, member_id).unwrap().guardians.remove(0).guardian
}

fn opt_out(c: &Centre, member_id: &str) {
    let g = guardian(c, member_id);
    c.core.guardian_update(&c.clerk, &g.id, GuardianUpdate { name: g.name, phone: g.phone, wechat: g.wechat, email: g.email, no_group_messages: true }).unwrap();
}

fn tag(c: &Centre, member_id: &str, tags: &[&str]) {
    let m = c.core.member_get(&c.clerk, member_id).unwrap().member;
    let input = MemberUpdate {
        name: m.name,
        gender: m.gender,
        birthday: m.birthday,
        school: m.school,
        course_interest: m.course_interest,
        notes: m.notes,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        rank: m.rank,
        referred_by: m.referred_by,
    };
    c.core.member_update(&c.clerk, member_id, input).unwrap();
}

#[test]
fn a_class_message_reaches_each_guardian_of_the_class_on_the_day_once_and_counts_who_is_left_out() {
    let c = common::centre();
    let group = c.weekly_class("周六班", 6, "2026-11-01", "2026-12-31");
    let other = c.weekly_class("周日班", 7, "2026-11-01", "2026-12-31");
    // Two brothers with one mother; a child whose guardian opted out; one with no guardian;
    // one who left the class last week; one who joins next month; one in another class.
    let brother = c.member("王一", "13800000001");
    let brother2 = c.member("王二", "13800000001");
    let opted = c.member("李三", "13800000003");
    let alone = c.member("赵四", "13800000004");
    let gone = c.member("钱五", "13800000005");
    let later = c.member("孙六", "13800000006");
    let elsewhere = c.member("周七", "13800000007");
    assert_eq!(guardian(&c, &brother.id).id, guardian(&c, &brother2.id).id, "one mother of two");
    for m in [&brother, &brother2, &opted, &alone, &gone] {
        c.core.group_add_member(&c.admin, &group, &m.id, Some("2026-11-01".into()), false).unwrap();
    }
    let place = c.core.group_members(&c.admin, &group, None).unwrap().into_iter().find(|p| p.member_id == gone.id).unwrap();
    c.core.group_remove_member(&c.admin, &place.id, Some("2026-11-20".into())).unwrap();
    c.core.group_add_member(&c.admin, &group, &later.id, Some("2026-12-01".into()), false).unwrap();
    c.core.group_add_member(&c.admin, &other, &elsewhere.id, Some("2026-11-01".into()), false).unwrap();
    opt_out(&c, &opted.id);
    let alone_guardian = guardian(&c, &alone.id);
    c.core.guardian_unlink(&c.clerk, &alone.id, &alone_guardian.id).unwrap();

    let audience = Audience::Group { group_id: group.clone() };
    let before = c.log_len();
    let p = c.core.group_message_preview(&c.clerk, &draft(audience.clone())).unwrap();
    assert_eq!(c.log_len(), before, "a preview saves nothing");
    assert_eq!(p.audience_label, "班级：周六班");
    assert_eq!((p.members, p.families, p.notices, p.opted_out, p.unreachable), (4, 2, 1, 1, 1));
    assert_eq!(p.sample.as_deref(), Some("家长您好：王一、王二所在班级下周六加课一次，请准时到馆。"));

    let sent = c.core.group_message_send(&c.clerk, draft(audience)).unwrap();
    assert_eq!((sent.families, sent.notices, sent.opted_out, sent.unreachable), (2, 1, 1, 1));
    assert_eq!(sent.staff_name, "李娜");
    let queued: Vec<(String, String, String)> = c
        .raw()
        .prepare("SELECT guardian_id, member_id, text FROM notices WHERE kind = 'group_message'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(queued, vec![(guardian(&c, &brother.id).id, brother.id.clone(), p.sample.clone().unwrap())]);
    // Written through the one write path: the message and its notice in the log.
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'group_message' AND op = 'send'"), 1);
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'notice' AND op = 'queue'"), 1);
    assert_eq!(c.core.group_messages(&c.admin, 10).unwrap(), vec![sent]);
}

#[test]
fn tags_statuses_and_report_lists_choose_their_members() {
    let c = common::centre();
    let a = c.member("甲", "13900000001");
    let b = c.member("乙", "13900000002");
    let left = c.member("丙", "13900000003");
    tag(&c, &a.id, &["竞赛队"]);
    tag(&c, &left.id, &["竞赛队"]);
    c.core.member_set_status(&c.admin, &left.id, "left").unwrap();
    // One contract owing money: the arrears report lists its member.
    let pkg = c.lesson_package(10, "1000");
    c.core
        .contract_enrol(&c.clerk, EnrolInput { member_id: b.id.clone(), package_id: pkg.id, discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
        .unwrap();

    let families = |audience: Audience| c.core.group_message_preview(&c.admin, &draft(audience)).unwrap();
    let p = families(Audience::Tag { tag: "竞赛队".into() });
    assert_eq!((p.members, p.families), (1, 1), "a member who left is not in the tag's group");
    assert_eq!(p.audience_label, "标签：竞赛队");
    let p = families(Audience::Status { status: MemberStatus::Left });
    assert_eq!((p.members, p.families), (1, 1), "…but is when asked for by status");
    assert!(p.sample.unwrap().contains("丙"));
    let filter = AnalysisFilter { report: "arrears".into(), from_date: "2026-11-01".into(), to_date: "2026-11-25".into(), days_ahead: None, lessons_left: None, a_percent: None, b_percent: None };
    let p = families(Audience::Report { filter: filter.clone(), table: "owing".into() });
    assert_eq!((p.members, p.families), (1, 1));
    assert!(p.sample.unwrap().contains("乙"));
    // A report's list is the manager's (the clerk does not see reports).
    assert!(matches!(c.core.group_message_preview(&c.clerk, &draft(Audience::Report { filter, table: "owing".into() })), Err(CoreError::Forbidden(_))));
    assert!(matches!(c.core.group_message_preview(&c.admin, &draft(Audience::Group { group_id: "nope".into() })), Err(CoreError::NotFound(_))));
}

#[test]
fn a_refused_message_saves_nothing_and_says_why() {
    let c = common::centre();
    let group = c.weekly_class("周六班", 6, "2026-11-01", "2026-12-31");
    let m = c.member("吴八", "13700000001");
    c.core.group_add_member(&c.admin, &group, &m.id, Some("2026-11-01".into()), false).unwrap();
    let audience = Audience::Group { group_id: group.clone() };
    let before = c.snapshot();

    let e = c.core.group_message_send(&c.clerk, GroupMessageDraft { audience: audience.clone(), body: "  ".into() }).unwrap_err();
    assert_eq!(e.field(), Some(centredesk_core::error::Field::MessageBody));
    assert!(e.message(Lang::ZhCn).contains("消息内容"), "{}", e.message(Lang::ZhCn));
    let long = "好".repeat(301);
    assert!(c.core.group_message_send(&c.clerk, GroupMessageDraft { audience: audience.clone(), body: long }).is_err());
    assert!(matches!(c.core.group_message_send(&c.coach, draft(audience.clone())), Err(CoreError::Forbidden(_))), "coaches do not message groups");
    assert!(matches!(c.core.group_message_send(&c.consultant, draft(audience.clone())), Err(CoreError::Forbidden(_))));
    opt_out(&c, &m.id);
    let e = c.core.group_message_send(&c.clerk, draft(audience)).unwrap_err();
    assert_eq!(e.code(), "conflict.nobody_to_message");
    assert!(e.message(Lang::En).contains("asked not to receive"));
    let after_opt_out: Vec<_> = c.snapshot().into_iter().filter(|(t, _)| t != "change_log" && t != "guardians").collect();
    let expected: Vec<_> = before.into_iter().filter(|(t, _)| t != "change_log" && t != "guardians").collect();
    assert_eq!(after_opt_out, expected);
    assert_eq!(c.count("SELECT COUNT(*) FROM group_messages"), 0);
    assert_eq!(c.count("SELECT COUNT(*) FROM notices WHERE kind = 'group_message'"), 0);
}
