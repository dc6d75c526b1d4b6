//! Timetable and roll call on a real database: sessions generated across a year of
//! Chinese public holidays, regeneration, one-off changes, clashes, lesson consumption
//! and undo, the contract-choice rule, leave, trials, notices, and the change log.

use crate::common;

use centredesk_core::attendance::{LeaveInput, MarkInput, RollCallInput, TrialInput, TrialMark};
use centredesk_core::contracts::{EnrolInput, PauseInput};
use centredesk_core::leads::LeadInput;
use centredesk_core::timetable::{ClassGroupInput, ClosureInput, RoomInput, Season, SessionChange, SessionFilter, SlotInput};
use chrono::{Datelike, NaiveDate};
use crate::common::*;

struct Setup {
    c: Centre,
    room: String,
    room2: String,
    group: String,
}

fn setup() -> Setup {
    let c = common::centre();
    let room = c.core.room_create(&c.admin, RoomInput { name: "一号道馆".into(), capacity: 40 }).unwrap().id;
    let room2 = c.core.room_create(&c.admin, RoomInput { name: "二号道馆".into(), capacity: 20 }).unwrap().id;
    let group = c
        .core
        .group_create(&c.admin, ClassGroupInput { name: "周一三初级班".into(), course: "跆拳道".into(), level: "白带".into(), coach_id: Some(c.coach.staff_id.clone()), capacity: 30 })
        .unwrap()
        .id;
    Setup { c, room, room2, group }
}

fn slot(s: &Setup, weekday: i64, start: &str, end: &str, season: Option<String>) -> centredesk_core::Result<centredesk_core::timetable::Slot> {
    s.c.core.slot_create(
        &s.c.admin,
        SlotInput { season_id: season, weekday, start_time: start.into(), end_time: end.into(), room_id: s.room.clone(), coach_id: s.c.coach.staff_id.clone(), group_id: s.group.clone() },
    )
}

fn holidays() -> Vec<(String, NaiveDate, NaiveDate)> {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/calendar/cn-holidays-2026.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect()
}

fn sessions(s: &Setup, from: &str, to: &str) -> Vec<centredesk_core::timetable::ClassSession> {
    s.c.core.session_list(&s.c.admin, SessionFilter { from_date: from.into(), to_date: to.into(), ..Default::default() }).unwrap()
}

#[test]
fn a_year_of_sessions_skips_every_public_holiday_and_follows_the_summer_timetable() {
    let s = setup();
    slot(&s, 1, "18:00", "19:00", None).unwrap(); // Monday
    slot(&s, 3, "18:00", "19:00", None).unwrap(); // Wednesday
    slot(&s, 6, "9:30", "10:30", None).unwrap(); // Saturday
    let holidays = holidays();
    for (name, from, to) in &holidays {
        s.c.core.closure_create(&s.c.admin, ClosureInput { name: name.clone(), from_date: from.to_string(), to_date: to.to_string(), notify: false }).unwrap();
    }
    let summer = s.c.core.season_create(&s.c.admin, Season { id: String::new(), name: "暑期班".into(), from_date: "2026-07-01".into(), to_date: "2026-08-31".into() }).unwrap();
    // In summer: weekday mornings instead (Tue and Thu, 10:00).
    slot(&s, 2, "10:00", "11:30", Some(summer.id.clone())).unwrap();
    slot(&s, 4, "10:00", "11:30", Some(summer.id.clone())).unwrap();

    let summary = s.c.core.sessions_generate(&s.c.admin, "2026-01-01", "2026-12-31").unwrap();

    // The oracle, computed here from the calendar alone.
    let closed = |d: NaiveDate| holidays.iter().any(|(_, f, t)| *f <= d && d <= *t);
    let in_summer = |d: NaiveDate| d >= NaiveDate::from_ymd_opt(2026, 7, 1).unwrap() && d <= NaiveDate::from_ymd_opt(2026, 8, 31).unwrap();
    let mut expected = vec![];
    let mut d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    while d.year() == 2026 {
        let wd = d.weekday().number_from_monday();
        let days: &[u32] = if in_summer(d) { &[2, 4] } else { &[1, 3, 6] };
        if !closed(d) && days.contains(&wd) {
            expected.push(d.to_string());
        }
        d = d.succ_opt().unwrap();
    }
    let got: Vec<String> = sessions(&s, "2026-01-01", "2026-12-31").into_iter().map(|x| x.date).collect();
    assert_eq!(got, expected);
    assert_eq!(summary.created as usize, expected.len());
    assert!(!got.contains(&"2026-10-05".to_string()), "National Day week is closed");
    let july: Vec<_> = sessions(&s, "2026-07-06", "2026-07-12").into_iter().map(|x| (x.date, x.start_time)).collect();
    assert_eq!(july, vec![("2026-07-07".into(), "10:00".into()), ("2026-07-09".into(), "10:00".into())]);

    // Regenerating changes nothing.
    let again = s.c.core.sessions_generate(&s.c.admin, "2026-01-01", "2026-12-31").unwrap();
    assert_eq!((again.created, again.updated, again.removed), (0, 0, 0));
    assert_eq!(sessions(&s, "2026-01-01", "2026-12-31").len(), expected.len());
}

#[test]
fn one_off_changes_survive_and_attended_sessions_are_never_deleted() {
    let s = setup();
    let monday = slot(&s, 1, "18:00", "19:00", None).unwrap();
    s.c.core.sessions_generate(&s.c.admin, "2026-11-30", "2026-12-27").unwrap();
    let all = sessions(&s, "2026-11-30", "2026-12-27");
    assert_eq!(all.len(), 4);
    // Move the first to Tuesday, cancel the second, substitute the coach on the third.
    let moved = s.c.core.session_change(&s.c.admin, &all[0].id, SessionChange { notify: false, date: Some("2026-12-01".into()), start_time: None, end_time: None, room_id: None, coach_id: None, cancel: false, note: "教练比赛".into() }).unwrap();
    assert_eq!((moved.date.as_str(), moved.is_override), ("2026-12-01", true));
    s.c.core.session_change(&s.c.admin, &all[1].id, SessionChange { notify: false, date: None, start_time: None, end_time: None, room_id: None, coach_id: None, cancel: true, note: "停电".into() }).unwrap();
    s.c.core.session_change(&s.c.admin, &all[2].id, SessionChange { notify: false, date: None, start_time: None, end_time: None, room_id: None, coach_id: Some(s.c.admin.staff_id.clone()), cancel: false, note: String::new() }).unwrap();
    let regen = s.c.core.sessions_generate(&s.c.admin, "2026-11-30", "2026-12-27").unwrap();
    assert_eq!((regen.created, regen.removed), (0, 0), "no duplicate for the moved session");
    let after = sessions(&s, "2026-11-30", "2026-12-27");
    assert_eq!(after.iter().map(|x| (x.date.as_str(), x.status.as_str())).collect::<Vec<_>>(), vec![("2026-12-01", "scheduled"), ("2026-12-07", "cancelled"), ("2026-12-14", "scheduled"), ("2026-12-21", "scheduled")]);
    assert_eq!(after[2].coach_name, "王校长");

    // The slot is retired: only the untouched session without attendance goes.
    let m = s.c.member("点名一", "13800000101");
    s.c.core.group_add_member(&s.c.admin, &s.group, &m.id, Some("2026-11-01".into()), false).unwrap();
    s.c.clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 21, 10, 0, 0).unwrap());
    s.c.to_class(&after[3].id);
    s.c.core.roll_call(&s.c.coach, &after[3].id, RollCallInput { marks: vec![MarkInput { member_id: m.id.clone(), mark: "absent".into(), comment: String::new(), ..Default::default() }], trials: vec![], ..Default::default() }).unwrap();
    s.c.core.slot_deactivate(&s.c.admin, &monday.id).unwrap();
    let regen = s.c.core.sessions_generate(&s.c.admin, "2026-11-30", "2026-12-27").unwrap();
    assert_eq!((regen.removed, regen.kept), (0, 4), "changed by hand or attended: all kept");
}

#[test]
fn clashes_are_refused_with_the_class_named() {
    let s = setup();
    slot(&s, 1, "18:00", "19:00", None).unwrap();
    let e = slot(&s, 1, "18:30", "19:30", None).unwrap_err();
    assert_eq!(e.code(), "conflict.room_busy");
    assert_eq!(e.message(centredesk_core::Lang::ZhCn), "教室在 周一 18:00–19:00 已被“周一三初级班”占用");
    let other_room = s.c.core.slot_create(
        &s.c.admin,
        SlotInput { season_id: None, weekday: 1, start_time: "18:30".into(), end_time: "19:30".into(), room_id: s.room2.clone(), coach_id: s.c.coach.staff_id.clone(), group_id: s.group.clone() },
    );
    assert_eq!(other_room.unwrap_err().code(), "conflict.coach_busy");
    // Back to back is fine.
    slot(&s, 1, "19:00", "20:00", None).unwrap();
    assert_eq!(slot(&s, 1, "20:00", "19:00", None).unwrap_err().code(), "validation.not_before");
    assert_eq!(slot(&s, 8, "20:00", "21:00", None).unwrap_err().code(), "validation.int_range");
    s.c.core.sessions_generate(&s.c.admin, "2026-11-30", "2026-11-30").unwrap();
    let day = sessions(&s, "2026-11-30", "2026-11-30");
    let moved = s.c.core.session_change(&s.c.admin, &day[1].id, SessionChange { notify: false, date: None, start_time: Some("18:30".into()), end_time: Some("19:30".into()), room_id: None, coach_id: None, cancel: false, note: String::new() });
    assert_eq!(moved.unwrap_err().code(), "conflict.room_busy");
}

fn enrol(c: &Centre, member: &str, package: &str, start: &str) -> String {
    c.core
        .contract_enrol(&c.admin, EnrolInput { member_id: member.into(), package_id: package.into(), discount: String::new(), start_date: Some(start.into()), consultant_id: None, renewal_of: None, notes: String::new() })
        .unwrap()
        .contract
        .id
}

fn used(c: &Centre, contract: &str) -> i64 {
    c.raw().query_row("SELECT lessons_used FROM contracts WHERE id = ?1", [contract], |r| r.get(0)).unwrap()
}

fn mark(member: &str, mark: &str) -> MarkInput {
    MarkInput { member_id: member.into(), mark: mark.into(), comment: String::new(), ..Default::default() }
}

#[test]
fn a_lesson_package_used_up_is_renewed_from_today_not_from_its_end_date() {
    let s = setup();
    let c = &s.c;
    slot(&s, 3, "18:00", "19:00", None).unwrap();
    c.core.sessions_generate(&c.admin, "2026-11-25", "2026-11-25").unwrap();
    let session = sessions(&s, "2026-11-25", "2026-11-25").remove(0);
    let one = c.lesson_package(1, "100");
    let m = c.member("丙同学", "13800000203");
    let first = enrol(c, &m.id, &one.id, "2026-11-01");
    c.to_class(&session.id);
    c.to_class(&session.id);
    c.core.roll_call(&c.coach, &session.id, RollCallInput { marks: vec![mark(&m.id, "present")], trials: vec![], ..Default::default() }).unwrap();
    assert_eq!(used(c, &first), 1);
    let renewal = c
        .core
        .contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: one.id.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: Some(first.clone()), notes: String::new() })
        .unwrap();
    assert_eq!(renewal.contract.start_date, "2026-11-25");
    // A lesson package renewed early also starts today: both are valid and the one that
    // expires first is used first, so the child is never without lessons in between.
    let left = enrol(c, &m.id, &c.lesson_package(10, "900").id, "2026-11-01");
    let early = c
        .core
        .contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: c.lesson_package(20, "1700").id, discount: String::new(), start_date: None, consultant_id: None, renewal_of: Some(left.clone()), notes: String::new() })
        .unwrap();
    assert_eq!(early.contract.start_date, "2026-11-25");
    c.core.roll_call(&c.coach, &session.id, RollCallInput { marks: vec![mark(&m.id, "")], trials: vec![], ..Default::default() }).unwrap();
    c.core.roll_call(&c.coach, &session.id, RollCallInput { marks: vec![mark(&m.id, "present")], trials: vec![], ..Default::default() }).unwrap();
    // `first` and `left` both end 2027-10-31; the renewals end later and are untouched.
    assert_eq!(used(c, &first) + used(c, &left), 1);
    assert_eq!((used(c, &renewal.contract.id), used(c, &early.contract.id)), (0, 0), "the earliest expiring is used first");
}

#[test]
fn roll_call_consumes_the_earliest_expiring_lesson_and_undo_gives_it_back() {
    let s = setup();
    let c = &s.c;
    slot(&s, 3, "18:00", "19:00", None).unwrap();
    c.core.sessions_generate(&c.admin, "2026-11-25", "2026-11-25").unwrap();
    let session = sessions(&s, "2026-11-25", "2026-11-25").remove(0);
    let small = c.lesson_package(10, "1000");
    let big = c.lesson_package(48, "4800");
    let term = c.term_package(3, "1880");
    let a = c.member("甲同学", "13800000201");
    let b = c.member("乙同学", "13800000202");
    let l = c.member("丙同学", "13800000203");
    let t = c.member("丁同学", "13800000204");
    let p = c.member("戊同学", "13800000205");
    let none = c.member("己同学", "13800000206");
    for m in [&a, &b, &l, &t, &p, &none] {
        c.core.group_add_member(&c.admin, &s.group, &m.id, Some("2026-11-01".into()), false).unwrap();
    }
    // A has two packages: the 10-lesson one bought later but ending sooner... by validity.
    let a_big = enrol(c, &a.id, &big.id, "2026-01-01"); // ends 2026-12-31
    let a_small = enrol(c, &a.id, &small.id, "2026-11-01"); // ends 2027-10-31
    let b_k = enrol(c, &b.id, &small.id, "2026-11-01");
    let l_k = enrol(c, &l.id, &small.id, "2026-11-01");
    let t_k = enrol(c, &t.id, &term.id, "2026-11-01");
    let p_k = enrol(c, &p.id, &small.id, "2026-11-01");
    c.core.contract_pause(&c.admin, &p_k, PauseInput { from_date: "2026-11-20".into(), to_date: "2026-11-30".into(), reason: "生病".into() }).unwrap();
    // L asked for leave; one outsider comes for a make-up.
    let outsider = c.member("补课生", "13800000207");
    let o_k = enrol(c, &outsider.id, &small.id, "2026-11-01");
    c.core.leave_request(&c.clerk, LeaveInput { member_id: l.id.clone(), session_ids: vec![session.id.clone()], via: "wechat".into(), note: String::new() }).unwrap();

    let roster = c.core.roster(&c.coach, &session.id).unwrap();
    let names: Vec<(&str, bool, bool)> = roster.entries.iter().map(|e| (e.name.as_str(), e.expected, e.on_leave)).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(names.contains(&("丙同学", true, true)));
    assert_eq!(roster.entries.iter().find(|e| e.name == "己同学").unwrap().covered, false);
    assert_eq!(roster.entries.iter().find(|e| e.name == "戊同学").unwrap().covered, false, "paused that day");

    c.to_class(&session.id);
    let r = c
        .core
        .roll_call(&c.coach, &session.id, RollCallInput {
            marks: vec![mark(&a.id, "present"), mark(&b.id, "late"), mark(&l.id, "leave"), mark(&t.id, "present"), mark(&p.id, "absent"), mark(&none.id, "present"), mark(&outsider.id, "makeup")],
            trials: vec![], ..Default::default() })
        .unwrap();
    assert_eq!((r.saved, r.lessons_consumed, r.lessons_restored), (7, 3, 0));
    assert_eq!(r.no_contract, vec!["己同学"]);
    assert_eq!((used(c, &a_big), used(c, &a_small)), (1, 0), "the contract that expires first is used");
    assert_eq!((used(c, &b_k), used(c, &l_k), used(c, &t_k), used(c, &p_k), used(c, &o_k)), (1, 0, 0, 0, 1));
    let detail = c.core.member_get(&c.clerk, &a.id).unwrap();
    assert_eq!(detail.lessons_remaining, Some(57));

    // Saving the same roll call again changes nothing; undoing gives lessons back.
    let again = c.core.roll_call(&c.coach, &session.id, RollCallInput { marks: vec![mark(&a.id, "present"), mark(&b.id, "present")], trials: vec![], ..Default::default() }).unwrap();
    assert_eq!((again.lessons_consumed, again.lessons_restored), (0, 0));
    let undo = c.core.roll_call(&c.coach, &session.id, RollCallInput { marks: vec![mark(&a.id, "absent"), mark(&b.id, ""), mark(&outsider.id, "leave")], trials: vec![], ..Default::default() }).unwrap();
    assert_eq!(undo.lessons_restored, 3);
    assert_eq!((used(c, &a_big), used(c, &b_k), used(c, &o_k)), (0, 0, 0));
    assert_eq!(c.count(&format!("SELECT COUNT(*) FROM attendance WHERE session_id = '{}'", session.id)), 6);

    // Notices: arrivals for those who came, a leave confirmation, nothing for absences.
    let kinds: Vec<String> = c.core.notices(&c.clerk, Some(session.id.clone()), 100).unwrap().into_iter().map(|n| n.kind).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "arrival").count(), 5, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "leave_confirmed").count(), 1);
    // A coach cannot take roll call for another coach's class; a consultant not at all.
    let other = c.core.session_change(&c.admin, &session.id, SessionChange { notify: false, date: None, start_time: None, end_time: None, room_id: None, coach_id: Some(c.admin.staff_id.clone()), cancel: false, note: String::new() }).unwrap();
    assert_eq!(c.core.roll_call(&c.coach, &other.id, RollCallInput::default()).unwrap_err().code(), "conflict.not_your_session");
    assert_eq!(c.core.roll_call(&c.consultant, &other.id, RollCallInput::default()).unwrap_err().code(), "forbidden");
}

#[test]
fn comments_reach_the_timeline_and_the_parents() {
    let s = setup();
    let c = &s.c;
    slot(&s, 3, "18:00", "19:00", None).unwrap();
    c.core.sessions_generate(&c.admin, "2026-11-25", "2026-11-25").unwrap();
    let session = sessions(&s, "2026-11-25", "2026-11-25").remove(0);
    let m = c.member("点评生", "13800000301");
    c.core.group_add_member(&c.admin, &s.group, &m.id, None, false).unwrap();
    c.to_class(&session.id);
    c.core
        .roll_call(&c.coach, &session.id, RollCallInput { marks: vec![MarkInput { member_id: m.id.clone(), mark: "present".into(), comment: "横踢进步很大".into(), ..Default::default() }], trials: vec![], ..Default::default() })
        .unwrap();
    let timeline = c.core.member_timeline(&c.clerk, &m.id, 50).unwrap();
    let att = timeline.iter().find(|e| e.entity == "attendance").unwrap();
    assert_eq!(att.data["comment"], "横踢进步很大");
    assert_eq!(att.staff_name.as_deref(), Some("陈刚"));
    let notices = c.core.notices(&c.clerk, Some(session.id.clone()), 10).unwrap();
    let comment = notices.iter().find(|n| n.kind == "comment").unwrap();
    assert_eq!(comment.text, "【测试跆拳道馆】点评生 2026-11-25 课堂点评（陈刚教练）：横踢进步很大");
    assert_eq!(comment.recipient_phone, "13800000301");
    assert_eq!(c.core.session_dismiss(&c.coach, &session.id).unwrap(), 1);
    assert_eq!(c.core.session_dismiss(&c.coach, &session.id).unwrap(), 0, "departure notices go once");
}

#[test]
fn a_members_sessions_are_those_of_the_groups_they_are_in_on_each_date() {
    let s = setup();
    let c = &s.c;
    slot(&s, 3, "18:00", "19:00", None).unwrap();
    let other = c
        .core
        .group_create(&c.admin, ClassGroupInput { name: "周二高级班".into(), course: "跆拳道".into(), level: "红带".into(), coach_id: Some(c.coach.staff_id.clone()), capacity: 20 })
        .unwrap();
    c.core
        .slot_create(&c.admin, SlotInput { season_id: None, weekday: 2, start_time: "18:00".into(), end_time: "19:00".into(), room_id: s.room.clone(), coach_id: c.coach.staff_id.clone(), group_id: other.id.clone() })
        .unwrap();
    c.core.sessions_generate(&c.admin, "2026-11-23", "2026-12-13").unwrap();
    let m = c.member("丁同学", "13800000204");
    // In the Wednesday class from the start, the Tuesday class from December.
    c.core.group_add_member(&c.admin, &s.group, &m.id, Some("2026-11-01".into()), false).unwrap();
    c.core.group_add_member(&c.admin, &other.id, &m.id, Some("2026-12-01".into()), false).unwrap();
    let mine = c
        .core
        .session_list(&c.clerk, SessionFilter { from_date: "2026-11-23".into(), to_date: "2026-12-13".into(), member_id: Some(m.id.clone()), ..Default::default() })
        .unwrap();
    let dates: Vec<&str> = mine.iter().map(|x| x.date.as_str()).collect();
    assert_eq!(dates, ["2026-11-25", "2026-12-01", "2026-12-02", "2026-12-08", "2026-12-09"]);
}

#[test]
fn a_trial_is_approved_attended_and_moves_the_lead_along() {
    let s = setup();
    let c = &s.c;
    slot(&s, 3, "18:00", "19:00", None).unwrap();
    c.core.sessions_generate(&c.admin, "2026-11-25", "2026-12-02").unwrap();
    let list = sessions(&s, "2026-11-25", "2026-12-02");
    let lead = c
        .core
        .lead_create(&c.consultant, LeadInput {
            name: "试课宝".into(), contact_name: "试妈妈".into(), phone: "13900000401".into(), wechat: String::new(), gender: None, birthday: None,
            source: "电话".into(), consultant_id: None, man_money: true, man_authority: true, man_need: true, needs: String::new(), notes: String::new(), next_follow_up: None,
        })
        .unwrap();
    let t = c.core.trial_request(&c.consultant, TrialInput { session_id: list[0].id.clone(), lead_id: Some(lead.id.clone()), member_id: None, note: String::new() }).unwrap();
    assert_eq!((t.status.as_str(), t.booked, t.capacity), ("requested", 0, 30));
    assert_eq!((t.session.id.as_str(), t.session.date.as_str()), (list[0].id.as_str(), "2026-11-25"));
    assert_eq!(c.core.trials_pending(&c.coach).unwrap().len(), 1);
    assert_eq!(c.core.trial_decide(&c.consultant, &t.id, true, "").unwrap_err().code(), "forbidden");
    let approved = c.core.trial_decide(&c.coach, &t.id, true, "").unwrap();
    assert_eq!(approved.status, "approved");
    assert_eq!(c.core.trial_decide(&c.coach, &t.id, false, "").unwrap_err().code(), "conflict.trial_already_decided");
    let notice = c.core.notices(&c.clerk, Some(list[0].id.clone()), 5).unwrap().remove(0);
    assert_eq!((notice.kind.as_str(), notice.recipient_name.as_str()), ("trial_approved", "试妈妈"));
    assert!(notice.text.contains("2026-11-25 18:00–19:00「周一三初级班」"), "{}", notice.text);
    let roster = c.core.roster(&c.coach, &list[0].id).unwrap();
    assert!(roster.entries.iter().any(|e| e.trial && e.lead_id.as_deref() == Some(lead.id.as_str())));
    c.to_class(&list[0].id);
    c.core.roll_call(&c.coach, &list[0].id, RollCallInput { marks: vec![], trials: vec![TrialMark { trial_id: t.id.clone(), attended: true }], ..Default::default() }).unwrap();
    assert_eq!(c.core.lead_get(&c.consultant, &lead.id).unwrap().lead.status, "trial");
    // A declined trial is told too.
    let t2 = c.core.trial_request(&c.clerk, TrialInput { session_id: list[1].id.clone(), lead_id: Some(lead.id.clone()), member_id: None, note: String::new() }).unwrap();
    c.core.trial_decide(&c.coach, &t2.id, false, "满员").unwrap();
    assert_eq!(c.core.notices(&c.clerk, Some(list[1].id.clone()), 5).unwrap()[0].kind, "trial_declined");
}

#[test]
fn every_timetable_and_attendance_row_is_in_the_change_log() {
    let s = setup();
    let c = &s.c;
    slot(&s, 3, "18:00", "19:00", None).unwrap();
    c.core.closure_create(&c.admin, ClosureInput { name: "元旦".into(), from_date: "2027-01-01".into(), to_date: "2027-01-03".into(), notify: false }).unwrap();
    c.core.season_create(&c.admin, Season { id: String::new(), name: "寒假".into(), from_date: "2027-01-20".into(), to_date: "2027-02-20".into() }).unwrap();
    c.core.sessions_generate(&c.admin, "2026-11-25", "2026-12-31").unwrap();
    let session = sessions(&s, "2026-11-25", "2026-11-25").remove(0);
    let m = c.member("日志生", "13800000501");
    let pkg = c.lesson_package(10, "1000");
    enrol(c, &m.id, &pkg.id, "2026-11-01");
    c.core.group_add_member(&c.admin, &s.group, &m.id, None, false).unwrap();
    c.core.leave_request(&c.clerk, LeaveInput { member_id: m.id.clone(), session_ids: vec![sessions(&s, "2026-12-02", "2026-12-02")[0].id.clone()], via: "phone".into(), note: String::new() }).unwrap();
    c.to_class(&session.id);
    c.core.roll_call(&c.coach, &session.id, RollCallInput { marks: vec![mark(&m.id, "present")], trials: vec![], ..Default::default() }).unwrap();
    let raw = c.raw();
    for table in ["rooms", "class_groups", "group_members", "timetable_slots", "seasons", "closures", "class_sessions", "attendance", "leave_requests", "notices"] {
        let orphans: i64 = raw
            .query_row(&format!("SELECT COUNT(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM change_log l WHERE l.entity_id = t.id)"), [], |r| r.get(0))
            .unwrap();
        let total: i64 = raw.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap();
        assert!(total > 0, "{table} is empty");
        assert_eq!(orphans, 0, "{table} rows without a change-log entry");
    }
}

#[test]
fn a_moved_or_cancelled_session_tells_exactly_the_families_expected_once_and_a_regeneration_tells_nobody() {
    let s = setup();
    slot(&s, 1, "18:00", "19:00", None).unwrap();
    s.c.core.sessions_generate(&s.c.admin, "2026-11-30", "2026-12-27").unwrap();
    let all = sessions(&s, "2026-11-30", "2026-12-27");
    let (a, b, away, late) = (s.c.member("甲同学", "13711110001"), s.c.member("乙同学", "13711110002"), s.c.member("请假", "13711110003"), s.c.member("晚来", "13711110004"));
    for m in [&a, &b, &away] {
        s.c.core.group_add_member(&s.c.admin, &s.group, &m.id, Some("2026-11-01".into()), false).unwrap();
    }
    // Joins only after the first session: not expected in it.
    s.c.core.group_add_member(&s.c.admin, &s.group, &late.id, Some("2026-12-02".into()), false).unwrap();
    s.c.core.leave_request(&s.c.clerk, LeaveInput { member_id: away.id.clone(), session_ids: vec![all[0].id.clone()], via: "phone".into(), note: String::new() }).unwrap();
    let notices = |kind: &str| s.c.count(&format!("SELECT COUNT(*) FROM notices WHERE kind = '{kind}'"));
    let recipients = |kind: &str| -> Vec<String> {
        let raw = s.c.raw();
        let mut stmt = raw.prepare("SELECT member_id FROM notices WHERE kind = ?1 ORDER BY member_id").unwrap();
        stmt.query_map([kind], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    };
    let mut expected = vec![a.id.clone(), b.id.clone()];
    expected.sort();

    let move_it = SessionChange { notify: true, date: Some("2026-12-01".into()), start_time: Some("18:30".into()), end_time: Some("19:30".into()), room_id: Some(s.room2.clone()), coach_id: None, cancel: false, note: "场地维修".into() };
    // The preview: two families (the one on leave and the one not yet in the class are not told), and the text.
    let preview = s.c.core.session_change_preview(&s.c.admin, &all[0].id, move_it.clone()).unwrap();
    assert_eq!((preview.kind.as_deref(), preview.families, preview.guardians), (Some("session_moved"), 2, 2));
    assert!(preview.sample.as_deref().unwrap().contains("调整为 2026-12-01 18:30–19:30，地点二号道馆。场地维修"), "{:?}", preview.sample);
    assert_eq!(notices("session_moved"), 0, "a preview queues nothing");
    s.c.core.session_change(&s.c.admin, &all[0].id, move_it.clone()).unwrap();
    assert_eq!(recipients("session_moved"), expected);
    // Saved again unchanged: nobody is told twice. A note-only edit tells nobody.
    s.c.core.session_change(&s.c.admin, &all[0].id, move_it.clone()).unwrap();
    s.c.core.session_change(&s.c.admin, &all[0].id, SessionChange { note: "场地维修，请走侧门".into(), ..move_it.clone() }).unwrap();
    assert_eq!(notices("session_moved"), 2);
    // Regenerating the timetable tells nobody.
    let before = s.c.count("SELECT COUNT(*) FROM notices");
    s.c.core.sessions_generate(&s.c.admin, "2026-11-30", "2026-12-27").unwrap();
    assert_eq!(s.c.count("SELECT COUNT(*) FROM notices"), before);

    // Cancel the second (everyone in the class by then, the late joiner too); a substitute on the third.
    let cancel = SessionChange { notify: true, date: None, start_time: None, end_time: None, room_id: None, coach_id: None, cancel: true, note: String::new() };
    s.c.core.session_change(&s.c.admin, &all[1].id, cancel).unwrap();
    assert_eq!(recipients("session_cancelled").len(), 4);
    let texts: Vec<String> = s.c.raw().prepare("SELECT text FROM notices WHERE kind = 'session_cancelled'").unwrap().query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap();
    assert!(texts.iter().all(|t| t.contains("2026-12-07 18:00–19:00「周一三初级班」停课")), "{texts:?}");
    let coach = SessionChange { notify: true, date: None, start_time: None, end_time: None, room_id: None, coach_id: Some(s.c.admin.staff_id.clone()), cancel: false, note: String::new() };
    s.c.core.session_change(&s.c.admin, &all[2].id, coach).unwrap();
    assert!(s.c.raw().query_row("SELECT text FROM notices WHERE kind = 'session_coach' LIMIT 1", [], |r| r.get::<_, String>(0)).unwrap().contains("由王校长教练代课"));
    // Without `notify`, the desk changes the session and tells nobody.
    let n = s.c.count("SELECT COUNT(*) FROM notices");
    s.c.core.session_change(&s.c.admin, &all[3].id, SessionChange { notify: false, date: None, start_time: None, end_time: None, room_id: None, coach_id: None, cancel: true, note: String::new() }).unwrap();
    assert_eq!(s.c.count("SELECT COUNT(*) FROM notices"), n);
}

#[test]
fn a_closure_cancels_the_sessions_to_come_and_tells_each_family_once_with_the_lessons_missed() {
    let s = setup();
    slot(&s, 1, "18:00", "19:00", None).unwrap(); // Mondays
    slot(&s, 3, "18:00", "19:00", None).unwrap(); // Wednesdays
    // Today is Wednesday 2026-11-25: today's class is held (roll call) before the closure is entered.
    s.c.core.sessions_generate(&s.c.admin, "2026-11-23", "2026-12-13").unwrap();
    let (a, b, away) = (s.c.member("甲同学", "13722220001"), s.c.member("乙同学", "13722220002"), s.c.member("请假", "13722220003"));
    for m in [&a, &b, &away] {
        s.c.core.group_add_member(&s.c.admin, &s.group, &m.id, Some("2026-11-01".into()), false).unwrap();
    }
    let today = sessions(&s, "2026-11-25", "2026-11-25").remove(0);
    s.c.to_class(&today.id);
    s.c.core.roll_call(&s.c.coach, &today.id, RollCallInput { marks: vec![mark(&a.id, "present")], ..Default::default() }).unwrap();
    s.c.clock.set(common::test_now());
    // On leave for every session of the closure: nobody expects them, nobody tells them.
    let closed = sessions(&s, "2026-11-30", "2026-12-02");
    assert_eq!(closed.len(), 2, "Monday 30 Nov and Wednesday 2 Dec");
    s.c.core.leave_request(&s.c.clerk, LeaveInput { member_id: away.id.clone(), session_ids: closed.iter().map(|x| x.id.clone()).collect(), via: "phone".into(), note: String::new() }).unwrap();

    // The past (23 Nov), today's held class, and the days closed.
    let input = ClosureInput { name: "场馆维修".into(), from_date: "2026-11-23".into(), to_date: "2026-12-02".into(), notify: true };
    let p = s.c.core.closure_preview(&s.c.admin, &input).unwrap();
    assert_eq!((p.sessions, p.families, p.guardians, p.unreachable), (2, 2, 2, 0), "23 Nov is past and today's was held: the two to come");
    let sample = p.sample.unwrap();
    assert!(sample.contains("2026-11-23–2026-12-02（场馆维修）本馆停课") && sample.contains("2 节课不上：11-30 18:00「周一三初级班」、12-02 18:00「周一三初级班」"), "{sample}");
    assert_eq!(s.c.count("SELECT COUNT(*) FROM notices WHERE kind = 'closure'"), 0, "a preview queues nothing");
    assert_eq!(s.c.core.closure_preview(&s.c.clerk, &input).unwrap_err().code(), "forbidden");

    let log = s.c.log_len();
    s.c.core.closure_create(&s.c.admin, input.clone()).unwrap();
    let status = |id: &str| -> (String, i64) { s.c.raw().query_row("SELECT status, is_override FROM class_sessions WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?))).unwrap() };
    assert!(closed.iter().all(|x| status(&x.id) == ("cancelled".into(), 1)));
    assert_eq!(status(&today.id).0, "scheduled", "a class already held stays as it was");
    assert_eq!(status(&sessions(&s, "2026-11-23", "2026-11-23")[0].id).0, "scheduled", "the past is not rewritten");
    assert_eq!(sessions(&s, "2026-12-07", "2026-12-07")[0].status, "scheduled", "after the closure");
    let told: Vec<String> = s.c.raw().prepare("SELECT member_id FROM notices WHERE kind = 'closure' ORDER BY member_id").unwrap().query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap();
    let mut expected = vec![a.id.clone(), b.id.clone()];
    expected.sort();
    assert_eq!(told, expected, "one notice per child, the one on leave left out");
    assert_eq!(s.c.log_len() - log, 1 + 2 + 2, "the closure, two cancelled sessions and two notices, all logged");

    // Regenerating tells nobody and keeps the cancelled sessions cancelled; a second closure
    // over the same days finds nothing left to cancel.
    s.c.core.sessions_generate(&s.c.admin, "2026-11-23", "2026-12-13").unwrap();
    assert!(closed.iter().all(|x| status(&x.id).0 == "cancelled"));
    let again = ClosureInput { name: "再次".into(), ..input.clone() };
    assert_eq!(s.c.core.closure_preview(&s.c.admin, &again).unwrap().sessions, 0);
    s.c.core.closure_create(&s.c.admin, again).unwrap();
    assert_eq!(s.c.count("SELECT COUNT(*) FROM notices WHERE kind = 'closure'"), 2);

    // Without `notify`: the sessions are cancelled, nobody is told.
    let quiet = ClosureInput { name: "元旦".into(), from_date: "2026-12-07".into(), to_date: "2026-12-07".into(), notify: false };
    s.c.core.closure_create(&s.c.admin, quiet).unwrap();
    assert_eq!(sessions(&s, "2026-12-07", "2026-12-07")[0].status, "cancelled");
    assert_eq!(s.c.count("SELECT COUNT(*) FROM notices WHERE kind = 'closure'"), 2);
    let e = s.c.core.closure_preview(&s.c.admin, &ClosureInput { name: " ".into(), from_date: "2026-12-09".into(), to_date: "2026-12-08".into(), notify: true }).unwrap_err();
    assert_eq!(e.code(), "validation.required");
}

#[test]
fn class_reminders_go_once_at_their_time_to_the_children_expected() {
    use centredesk_core::notify::automatic::NotifySettings;
    let s = setup();
    let c = &s.c;
    slot(&s, 3, "18:00", "19:00", None).unwrap(); // Wednesdays, 18:00 in Shanghai = 10:00 UTC
    c.core.sessions_generate(&c.admin, "2026-11-25", "2026-12-09").unwrap();
    let (a, away) = (c.member("提醒生", "13733330001"), c.member("请假生", "13733330002"));
    for m in [&a, &away] {
        c.core.group_add_member(&c.admin, &s.group, &m.id, Some("2026-11-01".into()), false).unwrap();
    }
    let next = sessions(&s, "2026-12-02", "2026-12-02").remove(0);
    c.core.leave_request(&c.clerk, LeaveInput { member_id: away.id.clone(), session_ids: vec![next.id.clone()], via: "phone".into(), note: String::new() }).unwrap();
    let at = |utc: &str| c.clock.set(chrono::DateTime::parse_from_rfc3339(utc).unwrap().with_timezone(&chrono::Utc));
    let reminders = || c.count("SELECT COUNT(*) FROM notices WHERE kind = 'class_reminder'");
    let set = |mode: &str, hours: i64, trials_only: bool| -> centredesk_core::Result<NotifySettings> {
        let now = c.core.notify_settings(&c.admin).unwrap();
        c.core.notify_settings_set(&c.admin, NotifySettings { class_reminder: mode.into(), class_reminder_hours: hours, class_reminder_trials_only: trials_only, ..now })
    };

    // Off unless the centre turns them on.
    at("2026-12-02T09:00:00Z");
    c.core.notify_scan().unwrap();
    assert_eq!(reminders(), 0);
    // Three hours before: 15:00 in Shanghai. A minute early, nothing; then once, not to the child on leave.
    set("hours", 3, false).unwrap();
    at("2026-12-02T06:59:00Z");
    c.core.notify_scan().unwrap();
    assert_eq!(reminders(), 0);
    at("2026-12-02T07:00:00Z");
    c.core.notify_scan().unwrap();
    c.core.notify_scan().unwrap();
    let (member, text): (String, String) = c.raw().query_row("SELECT member_id, text FROM notices WHERE kind = 'class_reminder'", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!((reminders(), member), (1, a.id.clone()), "once, to the child expected");
    assert!(text.contains("提醒生 2026-12-02 18:00–19:00 有「周一三初级班」，地点一号道馆"), "{text}");
    // Moved to 18:30: reminded again for the new time, at 15:30.
    c.core.session_change(&c.admin, &next.id, SessionChange { notify: false, date: None, start_time: Some("18:30".into()), end_time: Some("19:30".into()), room_id: None, coach_id: None, cancel: false, note: String::new() }).unwrap();
    at("2026-12-02T07:29:00Z");
    c.core.notify_scan().unwrap();
    assert_eq!(reminders(), 1);
    at("2026-12-02T07:30:00Z");
    c.core.notify_scan().unwrap();
    assert_eq!(reminders(), 2);

    // The evening before: from 19:00 on Tuesday 8 December for Wednesday's class; both children.
    set("evening", 3, false).unwrap();
    at("2026-12-08T10:59:00Z");
    c.core.notify_scan().unwrap();
    assert_eq!(reminders(), 2);
    at("2026-12-08T11:00:00Z");
    c.core.notify_scan().unwrap();
    assert_eq!(reminders(), 4);
    // Only trials: nobody in this class is on a trial. A class already begun is not reminded.
    let dec9 = sessions(&s, "2026-12-09", "2026-12-09").remove(0);
    let late = c.member("晚到生", "13733330003");
    c.core.group_add_member(&c.admin, &s.group, &late.id, Some("2026-12-01".into()), false).unwrap();
    set("evening", 3, true).unwrap();
    c.core.notify_scan().unwrap();
    assert_eq!(reminders(), 4, "trials only");
    set("evening", 3, false).unwrap();
    at("2026-12-09T10:01:00Z");
    c.core.notify_scan().unwrap();
    assert_eq!(reminders(), 4, "the class has begun: {}", dec9.id);

    // The settings are checked, naming the field.
    assert_eq!(set("weekly", 3, false).unwrap_err().code(), "validation.one_of");
    let e = set("hours", 0, false).unwrap_err();
    assert_eq!((e.code().as_str(), e.field()), ("validation.int_range", Some(centredesk_core::error::Field::ReminderHours)));
}

#[test]
fn a_winter_timetable_tells_the_families_of_the_groups_it_changes_once_per_change() {
    let s = setup();
    slot(&s, 1, "18:00", "19:00", None).unwrap(); // Mondays
    slot(&s, 3, "18:00", "19:00", None).unwrap(); // Wednesdays
    let group = |name: &str| s.c.core.group_create(&s.c.admin, ClassGroupInput { name: name.into(), course: String::new(), level: String::new(), coach_id: None, capacity: 30 }).unwrap().id;
    let (same, paused) = (group("周六同上班"), group("周五暂停班"));
    let base_slot = |g: &str, weekday: i64, season: Option<String>| {
        s.c.core.slot_create(&s.c.admin, SlotInput { season_id: season, weekday, start_time: "09:00".into(), end_time: "10:00".into(), room_id: s.room2.clone(), coach_id: s.c.coach.staff_id.clone(), group_id: g.into() }).unwrap()
    };
    base_slot(&same, 6, None);
    base_slot(&paused, 5, None);
    let winter = s.c.core.season_create(&s.c.admin, Season { id: String::new(), name: "寒假".into(), from_date: "2027-01-20".into(), to_date: "2027-02-20".into() }).unwrap();
    slot(&s, 2, "10:00", "11:30", Some(winter.id.clone())).unwrap();
    let thursday = slot(&s, 4, "10:00", "11:30", Some(winter.id.clone())).unwrap();
    base_slot(&same, 6, Some(winter.id.clone())); // the same Saturday class: nothing changes for it

    let (a, b, left) = (s.c.member("甲同学", "13722220001"), s.c.member("乙同学", "13722220002"), s.c.member("退班", "13722220003"));
    let (sat, fri) = (s.c.member("周六", "13722220004"), s.c.member("周五", "13722220005"));
    for m in [&a, &b, &left] {
        s.c.core.group_add_member(&s.c.admin, &s.group, &m.id, Some("2026-11-01".into()), false).unwrap();
    }
    s.c.core.group_add_member(&s.c.admin, &same, &sat.id, Some("2026-11-01".into()), false).unwrap();
    s.c.core.group_add_member(&s.c.admin, &paused, &fri.id, Some("2026-11-01".into()), false).unwrap();
    let gm = s.c.core.group_members(&s.c.admin, &s.group, None).unwrap().into_iter().find(|g| g.member_id == left.id).unwrap();
    s.c.core.group_remove_member(&s.c.admin, &gm.id, Some("2027-01-19".into())).unwrap(); // leaves the day before

    let p = s.c.core.season_notice_preview(&s.c.admin, &winter.id).unwrap();
    assert_eq!((p.groups, p.families, p.guardians, p.unreachable, p.already), (2, 3, 3, 0, 0), "the Monday–Wednesday and the Friday group; not Saturday's");
    let sample = p.sample.unwrap();
    assert!(sample.contains("寒假（2027-01-20–2027-02-20）实行寒假课表") && sample.contains("「周一三初级班」周二 10:00–11:30 一号道馆、周四 10:00–11:30 一号道馆"), "{sample}");
    assert_eq!(s.c.count("SELECT COUNT(*) FROM notices WHERE kind = 'season_timetable'"), 0, "a preview queues nothing");
    assert_eq!(s.c.core.season_notice_preview(&s.c.clerk, &winter.id).unwrap_err().code(), "forbidden");
    assert_eq!(s.c.core.season_notify(&s.c.clerk, &winter.id).unwrap_err().code(), "forbidden");
    assert_eq!(s.c.core.season_notice_preview(&s.c.admin, "no-such-season").unwrap_err().code(), "not_found");

    let log = s.c.log_len();
    assert_eq!(s.c.core.season_notify(&s.c.admin, &winter.id).unwrap(), 3);
    assert_eq!(s.c.log_len() - log, 3, "every notice logged");
    let text_of = |m: &str| -> String { s.c.raw().query_row("SELECT text FROM notices WHERE kind = 'season_timetable' AND member_id = ?1", [m], |r| r.get(0)).unwrap() };
    assert!(text_of(&fri.id).contains("「周五暂停班」暂停上课"), "{}", text_of(&fri.id));
    // Sending again tells nobody twice.
    assert_eq!(s.c.core.season_notify(&s.c.admin, &winter.id).unwrap(), 0);
    let p = s.c.core.season_notice_preview(&s.c.admin, &winter.id).unwrap();
    assert_eq!((p.families, p.already, p.sample), (0, 3, None));

    // The Thursday class is dropped from the winter timetable: only its families hear again,
    // and the notice language does not make old notices look new.
    s.c.core.slot_deactivate(&s.c.admin, &thursday.id).unwrap();
    let p = s.c.core.season_notice_preview(&s.c.admin, &winter.id).unwrap();
    assert_eq!((p.families, p.already), (2, 1));
    assert_eq!(s.c.core.season_notify(&s.c.admin, &winter.id).unwrap(), 2);
    let latest: String = s.c.raw().query_row("SELECT text FROM notices WHERE kind = 'season_timetable' AND member_id = ?1 ORDER BY rowid DESC LIMIT 1", [&a.id], |r| r.get(0)).unwrap();
    assert!(latest.contains("「周一三初级班」周二 10:00–11:30 一号道馆。"), "{latest}");
    s.c.raw().execute("INSERT INTO settings (key, value) VALUES ('notice_lang', 'en') ON CONFLICT (key) DO UPDATE SET value = 'en'", []).unwrap();
    assert_eq!(s.c.core.season_notice_preview(&s.c.admin, &winter.id).unwrap().families, 0);

    // A season that is over tells nobody.
    s.c.clock.set(chrono::DateTime::parse_from_rfc3339("2027-02-21T02:00:00Z").unwrap().with_timezone(&chrono::Utc));
    let p = s.c.core.season_notice_preview(&s.c.admin, &winter.id).unwrap();
    assert_eq!((p.groups, p.families, p.already), (0, 0, 0));
}
