//! Requests from a coach's phone (and, with the portal, from parents): exactly once, the
//! same answer again, never a default mark over a real one; pairing and devices.

use crate::common::{self, Centre, PASSWORD};
use centredesk_core::attendance::{LeaveInput, MarkInput, RollCallInput};
use centredesk_core::contracts::EnrolInput;
use centredesk_core::requests::RequestSource;
use centredesk_core::timetable::SessionFilter;
use centredesk_protocol::requests::{MarkChange, Outcome, Request, RequestBody, RollCallRequest};

/// A Wednesday class of `n` children (each with a 10-lesson package) on 2026-11-25, the
/// clock five minutes into it: the session id and the members' ids in roster order.
fn class_of(c: &Centre, n: usize) -> (String, Vec<String>) {
    let group = c.weekly_class("周三班", 3, "2026-11-25", "2026-11-25");
    let pkg = c.lesson_package(10, "1000");
    let mut members = vec![];
    for i in 0..n {
        const NAMES: [&str; 6] = ["安一", "白二", "陈三", "丁四", "方五", "高六"];
        let m = c.member(NAMES[i], &format!("1390000{i:04}"));
        let enrol = EnrolInput { member_id: m.id.clone(), package_id: pkg.id.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() };
        c.core.contract_enrol(&c.admin, enrol).unwrap();
        c.core.group_add_member(&c.admin, &group, &m.id, None, false).unwrap();
        members.push(m.id);
    }
    let sid = c.core.session_list(&c.admin, SessionFilter { from_date: "2026-11-25".into(), to_date: "2026-11-25".into(), ..Default::default() }).unwrap()[0].id.clone();
    c.to_class(&sid);
    (sid, members)
}

/// A paired phone: its device id and token.
fn paired(c: &Centre) -> (String, String) {
    let offer = c.core.phone_pairing_open(&c.admin).unwrap();
    let p = c.core.phone_pair(&offer.code, "教练的手机").unwrap();
    (p.device_id, p.token)
}

fn roll_call(id: &str, session_id: &str, marks: Vec<MarkChange>) -> Request {
    Request { request_id: id.into(), body: RequestBody::RollCall(RollCallRequest { session_id: session_id.into(), marks, trials: vec![], confirm_early: false }) }
}

fn change(member_id: &str, mark: &str, seen: &str) -> MarkChange {
    MarkChange { member_id: member_id.into(), mark: mark.into(), comment: String::new(), seen: seen.into(), withdraw_leave: false }
}

fn accepted(o: Outcome) -> centredesk_protocol::requests::Accepted {
    match o {
        Outcome::Accepted(a) => a,
        other => panic!("expected accepted, got {other:?}"),
    }
}

#[test]
fn the_same_request_again_changes_nothing_and_gets_the_same_answer() {
    let c = common::centre();
    let (sid, kids) = class_of(&c, 3);
    let (device, _) = paired(&c);
    let roster = c.core.phone_roster(&c.coach, &sid).unwrap();
    let marks = roster.children.iter().map(|k| change(k.member_id.as_deref().unwrap(), "present", &k.version)).collect();
    let request = roll_call("0193a1b2-0000-7000-8000-000000000001", &sid, marks);
    let first = c.core.apply_request(&c.coach, RequestSource::Phone(&device), &request).unwrap();
    let done = accepted(first.clone());
    assert_eq!((done.saved, done.lessons_consumed), (3, 3));
    assert!(done.notices_queued >= 3, "arrival notices: {done:?}");
    let (log, notices, used) = (c.log_len(), c.count("SELECT COUNT(*) FROM notices"), c.count("SELECT SUM(lessons_used) FROM contracts"));
    for _ in 0..3 {
        assert_eq!(c.core.apply_request(&c.coach, RequestSource::Phone(&device), &request).unwrap(), first);
    }
    assert_eq!((c.log_len(), c.count("SELECT COUNT(*) FROM notices"), c.count("SELECT SUM(lessons_used) FROM contracts")), (log, notices, used));
    assert_eq!(used, 3);
    assert_eq!(c.count("SELECT COUNT(*) FROM requests"), 1);
    // The same id with another body is refused, and changes nothing.
    let other = roll_call(&request.request_id, &sid, vec![change(&kids[0], "absent", &roster.children[0].version)]);
    let e = c.core.apply_request(&c.coach, RequestSource::Phone(&device), &other).unwrap_err();
    assert_eq!(e.code(), "conflict.request_reused");
    assert_eq!(c.log_len(), log);
    // The device was seen, by the coach.
    let d = c.core.phone_devices(&c.admin).unwrap();
    assert_eq!((d[0].last_staff.as_deref(), d[0].last_seen_at.is_some()), (Some("陈刚"), true));
}

#[test]
fn a_line_the_desk_changed_after_the_phone_loaded_it_is_not_overwritten() {
    let c = common::centre();
    let (sid, kids) = class_of(&c, 3);
    let (device, _) = paired(&c);
    let loaded = c.core.phone_roster(&c.coach, &sid).unwrap();
    // The clerk marks the first child late at the desk meanwhile.
    let desk = RollCallInput { marks: vec![MarkInput { member_id: kids[0].clone(), mark: "late".into(), ..Default::default() }], ..Default::default() };
    c.core.roll_call(&c.clerk, &sid, desk).unwrap();
    // The phone, from its older list, sends the first child absent and the second present.
    let v = |i: usize| loaded.children[i].version.clone();
    let out = accepted(
        c.core.apply_request(&c.coach, RequestSource::Phone(&device), &roll_call("stale-1", &sid, vec![change(&kids[0], "absent", &v(0)), change(&kids[1], "present", &v(1))])).unwrap(),
    );
    assert_eq!(out.changed_at_desk, vec![kids[0].clone()]);
    assert_eq!(out.saved, 1);
    let mark = |m: &str| c.raw().query_row("SELECT mark FROM attendance WHERE session_id = ?1 AND member_id = ?2", [&sid, m], |r| r.get::<_, String>(0)).unwrap();
    assert_eq!((mark(&kids[0]), mark(&kids[1])), ("late".to_string(), "present".to_string()));
    // The fresh roster has the desk's mark and a new version: a change on it is saved.
    let fresh = c.core.phone_roster(&c.coach, &sid).unwrap();
    assert_eq!(fresh.children[0].mark.as_deref(), Some("late"));
    assert_ne!(fresh.children[0].version, v(0));
    let out = accepted(c.core.apply_request(&c.coach, RequestSource::Phone(&device), &roll_call("stale-2", &sid, vec![change(&kids[0], "absent", &fresh.children[0].version)])).unwrap());
    assert!(out.changed_at_desk.is_empty());
    assert_eq!(mark(&kids[0]), "absent");
    // A comment changed at the desk changes the version too.
    let before = c.core.phone_roster(&c.coach, &sid).unwrap().children[1].version.clone();
    let desk = RollCallInput { marks: vec![MarkInput { member_id: kids[1].clone(), mark: "present".into(), comment: "很认真".into(), ..Default::default() }], ..Default::default() };
    c.core.roll_call(&c.clerk, &sid, desk).unwrap();
    assert_ne!(c.core.phone_roster(&c.coach, &sid).unwrap().children[1].version, before);
}

#[test]
fn a_refusal_is_kept_and_changes_nothing_else() {
    let c = common::centre();
    let (sid, kids) = class_of(&c, 2);
    let (device, _) = paired(&c);
    let roster = c.core.phone_roster(&c.coach, &sid).unwrap();
    // Two hours before the class: roll call is refused until confirmed early.
    c.clock.set(common::test_now());
    let snapshot = c.count("SELECT COUNT(*) FROM attendance");
    let request = roll_call("early-1", &sid, vec![change(&kids[0], "present", &roster.children[0].version)]);
    let out = c.core.apply_request(&c.coach, RequestSource::Phone(&device), &request).unwrap();
    let Outcome::Refused { code, message_zh, message_en, .. } = &out else { panic!("refused: {out:?}") };
    assert_eq!(code, "conflict.not_started_yet");
    assert!(!message_zh.is_empty() && !message_en.is_empty() && message_zh != message_en);
    assert_eq!(c.core.apply_request(&c.coach, RequestSource::Phone(&device), &request).unwrap(), out);
    assert_eq!(c.count("SELECT COUNT(*) FROM attendance"), snapshot);
    assert_eq!(c.count("SELECT COUNT(*) FROM requests WHERE outcome LIKE '%refused%'"), 1);
    // Not allowed at all: refused before anything is kept.
    let consultant = c.core.apply_request(&c.consultant, RequestSource::Phone(&device), &roll_call("early-2", &sid, vec![])).unwrap_err();
    assert_eq!(consultant.code(), "forbidden");
    assert_eq!(c.count("SELECT COUNT(*) FROM requests"), 1);
    // A request id that is not one.
    let long = "x".repeat(65);
    for (bad, rule) in [("", "validation.required"), ("  ", "validation.required"), (" x", "validation.printable_ascii"), ("座位", "validation.printable_ascii"), (long.as_str(), "validation.too_long")] {
        let e = c.core.apply_request(&c.coach, RequestSource::Phone(&device), &roll_call(bad, &sid, vec![])).unwrap_err();
        assert_eq!((e.field(), e.code()), (Some(centredesk_core::error::Field::Request), rule.to_string()), "{bad:?}");
    }
}

/// The same marks on twin centres, at the desk and from the phone: the same rows.
#[test]
fn a_roll_call_from_the_phone_equals_one_at_the_desk() {
    let twins = [common::centre(), common::centre()];
    let mut states = vec![];
    for (i, c) in twins.iter().enumerate() {
        let (sid, kids) = class_of(c, 5);
        c.core.leave_request(&c.clerk, LeaveInput { member_id: kids[4].clone(), session_ids: vec![sid.clone()], via: "phone".into(), note: String::new() }).unwrap();
        let seq: i64 = c.count("SELECT MAX(seq) FROM change_log");
        let wanted = [("present", "专注"), ("late", ""), ("absent", ""), ("present", "")];
        if i == 0 {
            let marks = wanted.iter().zip(&kids).map(|((m, note), id)| MarkInput { member_id: id.clone(), mark: m.to_string(), comment: note.to_string(), ..Default::default() }).collect();
            c.core.roll_call(&c.coach, &sid, RollCallInput { marks, ..Default::default() }).unwrap();
            c.core.session_dismiss(&c.coach, &sid).unwrap();
        } else {
            let (device, _) = paired(c);
            let roster = c.core.phone_roster(&c.coach, &sid).unwrap();
            let marks = wanted
                .iter()
                .zip(&roster.children)
                .map(|((m, note), k)| MarkChange { member_id: k.member_id.clone().unwrap(), mark: m.to_string(), comment: note.to_string(), seen: k.version.clone(), withdraw_leave: false })
                .collect();
            accepted(c.core.apply_request(&c.coach, RequestSource::Phone(&device), &roll_call("twin-1", &sid, marks)).unwrap());
            accepted(c.core.apply_request(&c.coach, RequestSource::Phone(&device), &Request { request_id: "twin-2".into(), body: RequestBody::Dismiss { session_id: sid.clone() } }).unwrap());
        }
        let rows = |sql: &str| -> Vec<String> {
            let raw = c.raw();
            let mut stmt = raw.prepare(sql).unwrap();
            let out = stmt.query_map([seq], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect();
            out
        };
        states.push((
            rows("SELECT m.name || ' ' || a.mark || ' ' || a.consumed || ' ' || a.comment || ' ' || a.marked_at FROM attendance a JOIN members m ON m.id = a.member_id WHERE ?1 > 0 ORDER BY m.name"),
            rows("SELECT m.name || ' ' || k.lessons_used FROM contracts k JOIN members m ON m.id = k.member_id WHERE ?1 > 0 ORDER BY m.name"),
            rows("SELECT kind || ' ' || recipient_phone || ' ' || text FROM notices WHERE ?1 > 0 ORDER BY kind, recipient_phone, text"),
            rows("SELECT entity || '.' || op || ' ' || COUNT(*) FROM change_log WHERE seq > ?1 AND entity NOT IN ('request', 'phone_device') GROUP BY entity, op ORDER BY entity, op"),
        ));
    }
    assert!(!states[0].0.is_empty() && !states[0].2.is_empty());
    assert_eq!(states[0], states[1]);
}

#[test]
fn pairing_is_once_within_ten_minutes_and_five_tries() {
    let c = common::centre();
    // Nothing open: refused.
    assert_eq!(c.core.phone_pair("12345678", "x").unwrap_err().code(), "auth.pairing_closed");
    let offer = c.core.phone_pairing_open(&c.admin).unwrap();
    assert_eq!(offer.code.len(), 8);
    assert!(offer.code.chars().all(|d| d.is_ascii_digit()));
    let wrong = if offer.code == "00000000" { "11111111" } else { "00000000" };
    for left in (1..5).rev() {
        let e = c.core.phone_pair(wrong, "x").unwrap_err();
        assert_eq!(e.code(), "auth.pairing_code_wrong");
        assert!(e.message(centredesk_core::Lang::En).contains(&format!("{left} tries")), "{}", e.message(centredesk_core::Lang::En));
    }
    // The fifth wrong try kills the code: the right one no longer works.
    assert_eq!(c.core.phone_pair(wrong, "x").unwrap_err().code(), "auth.pairing_closed");
    assert_eq!(c.core.phone_pair(&offer.code, "x").unwrap_err().code(), "auth.pairing_closed");
    // Single use.
    let offer = c.core.phone_pairing_open(&c.admin).unwrap();
    let p = c.core.phone_pair(&offer.code, "前台平板").unwrap();
    assert_eq!(c.core.phone_pair(&offer.code, "y").unwrap_err().code(), "auth.pairing_closed");
    assert_eq!(p.token.len(), 64);
    assert_eq!(c.core.phone_device_check(&p.token).unwrap(), p.device_id);
    // Expired after ten minutes.
    let offer = c.core.phone_pairing_open(&c.admin).unwrap();
    c.clock.advance(chrono::Duration::minutes(10));
    assert_eq!(c.core.phone_pair(&offer.code, "x").unwrap_err().code(), "auth.pairing_closed");
    // The raw token is nowhere in the database or its change log.
    let raw = c.raw();
    let dump: String = raw
        .query_row("SELECT group_concat(payload, ' ') FROM change_log", [], |r| r.get::<_, String>(0))
        .unwrap();
    assert!(!dump.contains(&p.token));
    assert_eq!(c.count(&format!("SELECT COUNT(*) FROM phone_devices WHERE token_sha256 = '{}'", p.token)), 0);
    assert_eq!(c.count("SELECT COUNT(*) FROM phone_devices"), 1);
}

#[test]
fn a_revoked_device_and_a_disabled_coach_are_refused_at_the_next_call() {
    let c = common::centre();
    let (device, token) = paired(&c);
    let (coach, on) = c.core.phone_sign_in(&token, "coach", PASSWORD).unwrap();
    assert_eq!(coach.staff_id, c.coach.staff_id);
    assert_eq!(on, device);
    assert_eq!(c.core.phone_sign_in(&token, "coach", "wrong").unwrap_err().code(), "auth.bad_credentials");
    c.core.phone_device_revoke(&c.admin, &device).unwrap();
    assert_eq!(c.core.phone_device_check(&token).unwrap_err().code(), "auth.device_unknown");
    assert_eq!(c.core.phone_sign_in(&token, "coach", PASSWORD).unwrap_err().code(), "auth.device_unknown");
    assert!(c.core.phone_devices(&c.admin).unwrap()[0].revoked_at.is_some());
    // A staff member disabled while signed in on a phone writes nothing more.
    let (_, token) = paired(&c);
    let (coach, _) = c.core.phone_sign_in(&token, "coach", PASSWORD).unwrap();
    c.core.staff_set_active(&c.admin, &coach.staff_id, false).unwrap();
    assert_eq!(c.core.session_check(&coach).unwrap_err().code(), "auth.account_disabled");
    let e = c.core.apply_request(&coach, RequestSource::Phone(&device), &Request { request_id: "d-1".into(), body: RequestBody::Dismiss { session_id: "s".into() } }).unwrap_err();
    assert_eq!(e.code(), "auth.account_disabled");
    assert_eq!(c.count("SELECT COUNT(*) FROM requests"), 0);
}

#[test]
fn the_phone_shows_a_coach_their_own_classes_with_masked_phones() {
    let c = common::centre();
    let (sid, _) = class_of(&c, 2);
    let today = c.core.phone_today(&c.coach).unwrap();
    assert_eq!(today.date, "2026-11-25");
    assert_eq!(today.classes.len(), 1);
    assert_eq!((today.classes[0].expected, today.classes[0].marked), (2, 0));
    assert_eq!(today.read_at, "17:05");
    let roster = c.core.phone_roster(&c.coach, &sid).unwrap();
    assert_eq!(roster.children[0].guardian_phone.as_deref(), Some("****0000"));
    assert_eq!(roster.children[1].guardian_phone.as_deref(), Some("****0001"));
    assert!(roster.children.iter().all(|k| !k.birthday_today && k.lessons_left == Some(10)));
    // Another coach's class: not theirs.
    let other = c.core.staff_create(&c.admin, centredesk_core::auth::NewStaff { username: "coach2".into(), display_name: "赵强".into(), role: centredesk_core::Role::Coach, password: PASSWORD.into() }).unwrap();
    let other = c.core.login(&other.username, PASSWORD).unwrap();
    assert!(c.core.phone_today(&other).unwrap().classes.is_empty());
    assert_eq!(c.core.phone_roster(&other, &sid).unwrap_err().code(), "conflict.not_your_session");
    // Make-ups found by phone tail, masked.
    let found = c.core.phone_find_member(&c.coach, "0001").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].guardian_phone.as_deref(), Some("****0001"));
}

#[test]
fn the_phone_server_is_off_by_default_and_its_port_is_checked() {
    use centredesk_core::devices::PhoneServerSettings;
    let c = common::centre();
    assert_eq!(c.core.phone_server_settings().unwrap(), PhoneServerSettings { enabled: false, port: 8765, https: false });
    for port in [0, 80, 1023, 65536] {
        let e = c.core.phone_server_settings_set(&c.admin, PhoneServerSettings { enabled: true, port, https: false }).unwrap_err();
        assert_eq!(e.field(), Some(centredesk_core::error::Field::Port), "{port}");
    }
    assert_eq!(c.core.phone_server_settings().unwrap().enabled, false);
    let on = c.core.phone_server_settings_set(&c.admin, PhoneServerSettings { enabled: true, port: 9000, https: true }).unwrap();
    assert_eq!(on, PhoneServerSettings { enabled: true, port: 9000, https: true });
    assert_eq!(c.core.phone_server_settings().unwrap(), on);
}

/// A coach sells at the mat: in points (the child's balance shown, spent once however
/// often the request comes) or in cash the coach took, which is the coach's to hand in.
#[test]
fn a_sale_from_the_phone_is_the_desks_sale_made_once() {
    use centredesk_core::goods::{GoodsInput, StockInput};
    use centredesk_core::points::PointsAward;
    use centredesk_protocol::requests::GoodsSaleRequest;
    let c = common::centre();
    let (_, kids) = class_of(&c, 1);
    let (device, _) = paired(&c);
    let belt = c.core.goods_create(&c.admin, GoodsInput { name: "黄带".into(), category: "道具".into(), price: "25".into(), points_price: Some(40) }).unwrap();
    let empty = c.core.goods_create(&c.admin, GoodsInput { name: "护具".into(), category: "道具".into(), price: "180".into(), points_price: None }).unwrap();
    c.core.goods_stock(&c.admin, StockInput { goods_id: belt.id.clone(), kind: "purchase".into(), quantity: 5, reason: String::new() }).unwrap();
    c.core.points_award(&c.admin, PointsAward { member_id: kids[0].clone(), points: 100, reason: "比赛获奖".into() }).unwrap();
    let shop = c.core.phone_shop(&c.coach).unwrap();
    assert_eq!(shop.goods.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["黄带"], "nothing out of stock is offered");
    assert_eq!((shop.goods[0].price.as_str(), shop.goods[0].points_price), ("25.00", Some(40)));
    assert!(shop.methods.iter().any(|m| m.code == "wechat" && m.label_zh == "微信支付"));
    assert_eq!(c.core.phone_find_member(&c.coach, "0000").unwrap()[0].points, 100);

    let sale = |id: &str, method: &str, quantity: i64| Request {
        request_id: id.into(),
        body: RequestBody::GoodsSale(GoodsSaleRequest { goods_id: belt.id.clone(), member_id: kids[0].clone(), quantity, method: method.into(), delivered: true }),
    };
    let by_points = sale("sale-1", "points", 2);
    let first = accepted(c.core.apply_request(&c.coach, RequestSource::Phone(&device), &by_points).unwrap());
    assert_eq!((first.saved, first.record_no.as_deref()), (1, Some("S000001")));
    assert_eq!(c.core.apply_request(&c.coach, RequestSource::Phone(&device), &by_points).unwrap(), Outcome::Accepted(first.clone()));
    assert_eq!(c.core.points_account(&c.admin, &kids[0]).unwrap().balance, 20);
    assert_eq!(c.count("SELECT stock FROM goods WHERE name = '黄带'"), 3);
    assert_eq!(c.count("SELECT COUNT(*) FROM goods_sales WHERE delivered_by IS NOT NULL"), 1);
    assert_eq!(c.count("SELECT COUNT(*) FROM notices WHERE kind = 'goods_sale'"), first.notices_queued);
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'goods_sale'"), 1);

    // 20 points left, a belt costs 40: refused, kept, nothing spent.
    let Outcome::Refused { code, .. } = c.core.apply_request(&c.coach, RequestSource::Phone(&device), &sale("sale-2", "points", 1)).unwrap() else { panic!("refused") };
    assert_eq!(code, "conflict.not_enough_points");
    assert_eq!(c.count("SELECT stock FROM goods WHERE name = '黄带'"), 3);
    // In cash, taken by the coach.
    let cash = accepted(c.core.apply_request(&c.coach, RequestSource::Phone(&device), &sale("sale-3", "cash", 1)).unwrap());
    assert_eq!(cash.record_no.as_deref(), Some("S000002"));
    assert_eq!(c.count("SELECT amount FROM goods_sales WHERE sale_no = 'S000002' AND staff_id = (SELECT id FROM staff WHERE username = 'coach')"), 2500);
    // Nothing in stock, and a method the desk does not know: refused with the field.
    let none = Request { request_id: "sale-4".into(), body: RequestBody::GoodsSale(GoodsSaleRequest { goods_id: empty.id.clone(), member_id: kids[0].clone(), quantity: 1, method: "cash".into(), delivered: true }) };
    assert!(matches!(c.core.apply_request(&c.coach, RequestSource::Phone(&device), &none).unwrap(), Outcome::Refused { .. }));
    let Outcome::Refused { field, .. } = c.core.apply_request(&c.coach, RequestSource::Phone(&device), &sale("sale-5", "bitcoin", 1)).unwrap() else { panic!("refused") };
    assert_eq!(field.as_deref(), Some("method"));
    assert_eq!(c.count("SELECT COUNT(*) FROM goods_sales"), 2);
}
