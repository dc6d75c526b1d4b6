//! Printed sheets from a real database, checked with poppler: the roster of a session
//! (names with rare characters, leave and make-up marks, guardian phones), a group's
//! week, the notice-board timetable and a receipt; and who may print what.

use crate::common;

use centredesk_core::attendance::{LeaveInput, MarkInput, RollCallInput};
use centredesk_core::contracts::EnrolInput;
use centredesk_core::payments::PaymentInput;
use centredesk_core::print::{PrintedPdf, WeekLayout};
use centredesk_core::timetable::{ClassGroupInput, RoomInput, SessionFilter, SlotInput};
use centredesk_core::Lang;
use crate::common::*;
use std::process::Command;

struct Class {
    c: Centre,
    group: String,
    contracts: Vec<String>,
    saturday: String,
}

/// A Wednesday and a Saturday class with three members (rare-character names), the week
/// of 2026-11-23 generated, one member on leave on Saturday.
fn class() -> Class {
    let c = common::centre();
    let room = c.core.room_create(&c.admin, RoomInput { name: "一号道场".into(), capacity: 40 }).unwrap().id;
    let group = c
        .core
        .group_create(&c.admin, ClassGroupInput { name: "黄带周六班".into(), course: "跆拳道".into(), level: "黄带".into(), coach_id: Some(c.coach.staff_id.clone()), capacity: 20 })
        .unwrap()
        .id;
    for (weekday, start, end) in [(3, "18:00", "19:00"), (6, "09:00", "10:30")] {
        c.core
            .slot_create(&c.admin, SlotInput { season_id: None, weekday, start_time: start.into(), end_time: end.into(), room_id: room.clone(), coach_id: c.coach.staff_id.clone(), group_id: group.clone() })
            .unwrap();
    }
    let package = c.lesson_package(48, "3280");
    let mut members = Vec::new();
    let mut contracts = Vec::new();
    for (i, name) in ["王堃", "李喆", "刘䶮"].iter().enumerate() {
        let m = c.member(name, &format!("1390000000{i}"));
        c.core.group_add_member(&c.admin, &group, &m.id, Some("2026-11-01".into()), false).unwrap();
        let k = c
            .core
            .contract_enrol(&c.admin, EnrolInput { member_id: m.id.clone(), package_id: package.id.clone(), discount: String::new(), start_date: Some("2026-11-01".into()), consultant_id: None, renewal_of: None, notes: String::new() })
            .unwrap();
        contracts.push(k.contract.id);
        members.push(m.id);
    }
    c.core.sessions_generate(&c.admin, "2026-11-23", "2026-11-29").unwrap();
    let week = c.core.session_list(&c.admin, SessionFilter { from_date: "2026-11-23".into(), to_date: "2026-11-29".into(), ..Default::default() }).unwrap();
    assert_eq!(week.len(), 2);
    let saturday = week[1].id.clone();
    c.core.leave_request(&c.clerk, LeaveInput { member_id: members[1].clone(), session_ids: vec![saturday.clone()], via: "phone".into(), note: String::new() }).unwrap();
    Class { c, group, contracts, saturday }
}

fn poppler(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The text of the PDF without spaces (pdftotext spaces CJK its own way), after checking
/// the font is embedded and subset.
fn text_of(c: &Centre, pdf: &PrintedPdf) -> String {
    let path = c.dir.path().join(&pdf.file_name);
    std::fs::write(&path, &pdf.bytes).unwrap();
    let p = path.to_str().unwrap();
    let fonts = poppler("pdffonts", &[p]);
    assert!(fonts.lines().any(|l| l.contains("+NotoSansCJKsc") && l.contains(" yes yes ")), "{fonts}");
    // Every sheet says which build printed it, at its foot and in its properties.
    let version = format!("CentreDesk {}", centredesk_core::VERSION);
    let info = poppler("pdfinfo", &[p]);
    assert!(info.lines().any(|l| l.starts_with("Creator:") && l.contains(&version)), "{info}");
    let text = poppler("pdftotext", &["-layout", p, "-"]).replace(' ', "");
    assert!(text.contains(&version.replace(' ', "")), "{version} not printed in\n{text}");
    text
}

#[test]
fn the_roster_lists_the_class_with_marks_phones_and_the_session_details() {
    let k = class();
    let c = &k.c;
    // A make-up student from elsewhere, marked at the roll call.
    let visitor = c.member("张昇", "13900000009");
    c.to_class(&k.saturday);
    c.core
        .roll_call(&c.coach, &k.saturday, RollCallInput { marks: vec![MarkInput { member_id: visitor.id.clone(), mark: "makeup".into(), comment: String::new(), ..Default::default() }], trials: vec![], ..Default::default() })
        .unwrap();

    let pdf = c.core.print_roster(&c.coach, &k.saturday, Lang::ZhCn).unwrap();
    assert_eq!(pdf.pages, 1);
    assert!(pdf.missing_glyphs.is_empty());
    assert_eq!(pdf.file_name, "点名表-黄带周六班-2026-11-28-0900.pdf");
    let text = text_of(c, &pdf);
    for needle in ["点名表·黄带周六班", "2026-11-28周六", "09:00–10:30", "一号道场", "王堃", "李喆", "刘䶮", "张昇", "13900000000", "请假", "补课", "第1/1页"] {
        assert!(text.contains(needle), "{needle} not in\n{text}");
    }
    // No contract for the visitor: the coach sees it on paper too.
    assert!(text.contains("无有效课时，请续费"));

    let english = c.core.print_roster(&c.clerk, &k.saturday, Lang::En).unwrap();
    let text = text_of(c, &english);
    assert!(text.contains("Classroster·黄带周六班") && text.contains("Leave") && text.contains("Page1/1"), "{text}");
}

#[test]
fn a_groups_week_prints_one_roster_per_session_and_a_week_without_classes_is_refused() {
    let k = class();
    let c = &k.c;
    let pdf = c.core.print_group_week(&c.clerk, &k.group, "2026-11-26", Lang::ZhCn).unwrap();
    assert_eq!(pdf.pages, 2);
    let text = text_of(c, &pdf);
    let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert!(pages[0].contains("2026-11-25周三") && pages[0].contains("第1/2页"));
    assert!(pages[1].contains("2026-11-28周六") && pages[1].contains("第2/2页"));
    assert!(pages.iter().all(|p| p.contains("王堃") && p.contains("刘䶮")));

    let none = c.core.print_group_week(&c.clerk, &k.group, "2026-12-10", Lang::ZhCn).unwrap_err();
    assert_eq!(none.code(), "conflict.nothing_to_print");
    // A date in the right form that the calendar does not have is said as such.
    let e = c.core.print_group_week(&c.clerk, &k.group, "2026-02-30", Lang::ZhCn).unwrap_err();
    assert_eq!((e.code().as_str(), e.message(Lang::ZhCn).as_str()), ("validation.no_such_day", "日期：2026 年 2 月没有 30 日"));
    assert_eq!(e.message(Lang::En), "Date is not a day of the calendar: February 2026 has no 30th");
    assert_eq!(c.core.print_group_week(&c.clerk, &k.group, "2026-13-40", Lang::ZhCn).unwrap_err().code(), "validation.date_format");
}

#[test]
fn the_notice_board_timetable_shows_rooms_days_and_classes() {
    let k = class();
    let c = &k.c;
    let text = text_of(c, &c.core.print_timetable_week(&c.clerk, "2026-11-23", WeekLayout::ByRoom, Lang::ZhCn).unwrap());
    for needle in ["课表2026-11-23至2026-11-29", "教室", "一号道场", "周三11-25", "周六11-28", "18:00–19:00", "黄带周六班"] {
        assert!(text.contains(needle), "{needle} not in\n{text}");
    }
    let by_coach = text_of(c, &c.core.print_timetable_week(&c.clerk, "2026-11-23", WeekLayout::ByCoach, Lang::En).unwrap());
    assert!(by_coach.contains("Coach") && by_coach.contains("Sat11-28"), "{by_coach}");
}

#[test]
fn the_receipt_carries_the_amount_in_figures_and_capitals_and_a_reversal_voids_it() {
    let k = class();
    let c = &k.c;
    let receipt = c
        .core
        .payment_take(&c.clerk, PaymentInput { contract_id: k.contracts[0].clone(), amount: "3280".into(), method: "wechat".into(), note: "家长转账".into() }, centredesk_core::Lang::ZhCn)
        .unwrap();
    let id = receipt.payment.id.clone();
    let text = text_of(c, &c.core.print_receipt(&c.clerk, &id, Lang::ZhCn).unwrap());
    for needle in ["收据", &receipt.payment.receipt_no, "王堃", "¥3,280.00", "人民币叁仟贰佰捌拾元整", "微信支付", "48课时包"] {
        assert!(text.contains(needle), "{needle} not in\n{text}");
    }
    // The sheet says what the screen says, label for label, with who paid; a payment's
    // free text is its note (备注), not a reason.
    let keys: Vec<&str> = receipt.lines.iter().map(|l| l.key.as_str()).collect();
    assert!(keys.contains(&"payer") && keys.contains(&"note") && !keys.contains(&"reason"), "{keys:?}");
    for l in &receipt.lines {
        assert!(text.contains(&l.label.replace(' ', "")) && text.contains(&l.value.replace(' ', "")), "{} {} not on the sheet\n{text}", l.label, l.value);
    }
    assert!(text.contains("付款人") && text.contains("家长（妈妈）") && text.contains("备注"), "{text}");
    assert!(!text.contains("作废"));
    c.core.payment_reverse(&c.admin, &id, "录错金额").unwrap();
    assert!(text_of(c, &c.core.print_receipt(&c.clerk, &id, Lang::ZhCn).unwrap()).contains("已冲正作废"));
}

#[test]
fn printing_follows_the_same_permissions_as_the_screens() {
    let k = class();
    let c = &k.c;
    // A coach prints his own classes, not another coach's.
    let other = c.core.staff_create(&c.admin, centredesk_core::auth::NewStaff { username: "coach2".into(), display_name: "王教练".into(), role: centredesk_core::Role::Coach, password: PASSWORD.into() }).unwrap();
    let other = c.core.login(&other.username, PASSWORD).unwrap();
    assert_eq!(c.core.print_roster(&other, &k.saturday, Lang::ZhCn).unwrap_err().code(), "conflict.not_your_session");
    // Printing changes nothing.
    let before = c.log_len();
    c.core.print_roster(&c.clerk, &k.saturday, Lang::ZhCn).unwrap();
    assert_eq!(c.log_len(), before);
}
