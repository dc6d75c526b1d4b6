//! The revenue report on a real ledger: by day, ISO week and month, by method, package
//! and consultant; every total equal to the ledger to the fen; the CSV is the same rows.

use crate::common;

use centredesk_core::contracts::{EnrolInput, RefundInput, RefundRule};
use centredesk_core::payments::PaymentInput;
use centredesk_core::reports::RevenueFilter;
use centredesk_core::{Lang, Money};
use chrono::{TimeZone, Utc};
use crate::common::*;

fn on(c: &Centre, y: i32, m: u32, d: u32) {
    // 10:00 in Beijing.
    c.clock.set(Utc.with_ymd_and_hms(y, m, d, 2, 0, 0).unwrap());
}

fn filter(period: &str) -> RevenueFilter {
    RevenueFilter { from_date: "2026-12-01".into(), to_date: "2027-01-31".into(), period: period.into(), consultant_id: None }
}

/// Payments across the turn of the year (ISO week 53 of 2026), a refund and a reversal.
fn ledger() -> Centre {
    let c = common::centre();
    let m = c.member("王小明", "13800000001");
    let n = c.member("李小红", "13800000002");
    let lessons = c.lesson_package(10, "1000");
    let term = c.term_package(3, "1880");
    let enrol = |member: &str, package: &str, consultant: Option<String>| {
        c.core
            .contract_enrol(&c.admin, EnrolInput { member_id: member.into(), package_id: package.into(), discount: String::new(), start_date: None, consultant_id: consultant, renewal_of: None, notes: String::new() })
            .unwrap()
            .contract
            .id
    };
    let pay = |k: &str, amount: &str, method: &str| {
        c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.into(), amount: amount.into(), method: method.into(), note: String::new() }, centredesk_core::Lang::ZhCn).unwrap().payment.id
    };
    on(&c, 2026, 12, 28); // Monday, 2026-W53
    let k1 = enrol(&m.id, &lessons.id, Some(c.consultant.staff_id.clone()));
    pay(&k1, "600.10", "wechat");
    on(&c, 2027, 1, 3); // Sunday, still 2026-W53
    let wrong = pay(&k1, "399.90", "cash");
    c.core.payment_reverse(&c.admin, &wrong, "录错").unwrap();
    pay(&k1, "399.90", "alipay");
    on(&c, 2027, 1, 4); // Monday, 2027-W01
    let k2 = enrol(&n.id, &term.id, None);
    pay(&k2, "1880", "wechat");
    on(&c, 2027, 1, 10);
    c.core.contract_refund(&c.admin, &k2, RefundInput { rule: RefundRule::Days, method: "wechat".into(), reason: "搬家".into() }).unwrap();
    c
}

#[test]
fn totals_equal_the_ledger_and_each_breakdown_adds_up() {
    let c = ledger();
    let ledger = Money::from_fen(c.count("SELECT SUM(amount) FROM payments WHERE business_date BETWEEN '2026-12-01' AND '2027-01-31'"));
    for period in ["day", "week", "month"] {
        let r = c.core.revenue(&c.admin, &filter(period), Lang::ZhCn).unwrap();
        assert_eq!(r.total.net, ledger, "{period}");
        for rows in [&r.by_period, &r.by_method, &r.by_package, &r.by_consultant] {
            assert_eq!(rows.iter().map(|x| x.net).sum::<Money>(), ledger, "{period}");
            assert_eq!(rows.iter().map(|x| x.entries).sum::<i64>(), 6);
        }
        assert_eq!(r.total.received + r.total.refunded + r.total.reversed, r.total.net);
    }
}

#[test]
fn goods_are_a_line_of_their_own_with_totals_with_and_without_them() {
    use centredesk_core::goods::{GoodsInput, ReturnInput, SaleInput, StockInput};
    let c = ledger();
    on(&c, 2027, 1, 5);
    let suit = c.core.goods_create(&c.admin, GoodsInput { name: "道服".into(), category: "服装".into(), price: "180".into(), points_price: Some(2000) }).unwrap();
    c.core.goods_stock(&c.admin, StockInput { goods_id: suit.id.clone(), kind: "purchase".into(), quantity: 5, reason: String::new() }).unwrap();
    let sale = c.core.goods_sell(&c.clerk, SaleInput { goods_id: suit.id.clone(), quantity: 2, member_id: None, method: "cash".into(), delivered: true, note: String::new() }).unwrap();
    c.core.goods_return(&c.clerk, ReturnInput { sale_id: sale.id, quantity: 1, reason: "尺码".into() }).unwrap();
    let r = c.core.revenue(&c.admin, &filter("month"), Lang::ZhCn).unwrap();
    assert_eq!((r.goods.received, r.goods.refunded, r.goods.net), (Money::from_fen(36_000), Money::from_fen(-18_000), Money::from_fen(18_000)));
    assert_eq!(r.total_with_goods.net, r.total.net + r.goods.net);
    let ledger = Money::from_fen(c.count("SELECT SUM(amount) FROM payments WHERE business_date BETWEEN '2026-12-01' AND '2027-01-31'"));
    assert_eq!(r.total.net, ledger, "tuition is still the payments ledger");
    let csv = c.core.revenue_csv(&c.admin, &filter("month"), "totals", Lang::ZhCn, true).unwrap();
    let text = csv_table(&csv.bytes);
    assert!(text.contains("商品销售,360.00,-180.00,0.00,180.00,2"), "{text}");
}

#[test]
fn iso_weeks_and_months_group_across_the_new_year() {
    let c = ledger();
    let weeks = c.core.revenue(&c.admin, &filter("week"), Lang::ZhCn).unwrap().by_period;
    let keys: Vec<&str> = weeks.iter().map(|r| r.key.as_str()).collect();
    // 2027-01-10 is a Sunday: the refund is still in 2027-W01.
    assert_eq!(keys, ["2026-W53", "2027-W01"]);
    assert_eq!(weeks[0].received, Money::from_fen(139_990), "600.10 + 399.90 + 399.90 in week 53");
    assert_eq!(weeks[0].reversed, Money::from_fen(-39_990));
    assert_eq!(weeks[0].net, Money::from_fen(100_000));
    let months = c.core.revenue(&c.admin, &filter("month"), Lang::ZhCn).unwrap().by_period;
    assert_eq!(months.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["2026-12", "2027-01"]);
    assert_eq!(months[0].net, Money::from_fen(60_010));
}

#[test]
fn methods_are_named_and_a_consultants_sales_can_be_picked_out() {
    let c = ledger();
    let r = c.core.revenue(&c.admin, &filter("month"), Lang::ZhCn).unwrap();
    let wechat = r.by_method.iter().find(|x| x.key == "wechat").unwrap();
    assert_eq!(wechat.label, "微信支付");
    let mine = RevenueFilter { consultant_id: Some(c.consultant.staff_id.clone()), ..filter("month") };
    let only = c.core.revenue(&c.admin, &mine, Lang::ZhCn).unwrap();
    assert_eq!(only.total.net, Money::from_fen(100_000), "only the lesson package she sold");
    assert!(r.by_consultant.iter().any(|x| x.key.is_empty() && x.label == "（无顾问）"));
}

#[test]
fn the_csv_is_the_same_rows_and_bad_filters_are_named() {
    let c = ledger();
    let csv = c.core.revenue_csv(&c.admin, &filter("week"), "by_period", Lang::ZhCn, true).unwrap();
    let text = csv_table(&csv.bytes);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "期间,收款,退费,冲正,净收入,笔数");
    assert_eq!(lines[1], "2026-W53,1399.90,0.00,-399.90,1000.00,4");
    assert!(lines.last().unwrap().starts_with("学费合计（不含商品）,"));
    // Every table of the report exports.
    for table in centredesk_core::reports::REVENUE_TABLES {
        let csv = c.core.revenue_csv(&c.admin, &filter("week"), table, Lang::ZhCn, true).unwrap();
        assert!(csv.rows >= 1, "{table}");
    }
    assert_eq!(c.core.revenue_csv(&c.admin, &filter("week"), "nope", Lang::ZhCn, true).unwrap_err().code(), "validation.one_of");
    let bad = RevenueFilter { period: "year".into(), ..filter("day") };
    let e = c.core.revenue(&c.admin, &bad, Lang::En).unwrap_err();
    assert_eq!(e.code(), "validation.one_of");
    assert!(e.message(Lang::ZhCn).contains("统计周期"));
    assert_eq!(c.core.revenue(&c.clerk, &filter("day"), Lang::ZhCn).unwrap_err().code(), "forbidden");
}

mod attendance {
    use super::*;
    use centredesk_core::attendance::{MarkInput, RollCallInput};
    use centredesk_core::reports::AttendanceFilter;
    use centredesk_core::timetable::{ClassGroupInput, RoomInput, SessionFilter, SlotInput};

    fn mark(member: &str, mark: &str) -> MarkInput {
        MarkInput { member_id: member.into(), mark: mark.into(), comment: String::new(), ..Default::default() }
}

    #[test]
    fn rates_per_group_count_leave_as_excused_and_list_who_stopped_coming() {
        let c = common::centre();
        on(&c, 2026, 10, 1);
        let room = c.core.room_create(&c.admin, RoomInput { name: "一号道场".into(), capacity: 30 }).unwrap().id;
        let group = c
            .core
            .group_create(&c.admin, ClassGroupInput { name: "周三班".into(), course: String::new(), level: String::new(), coach_id: Some(c.coach.staff_id.clone()), capacity: 20 })
            .unwrap()
            .id;
        c.core
            .slot_create(&c.admin, SlotInput { season_id: None, weekday: 3, start_time: "18:00".into(), end_time: "19:00".into(), room_id: room, coach_id: c.coach.staff_id.clone(), group_id: group.clone() })
            .unwrap();
        let pkg = c.lesson_package(48, "4800");
        let kids: Vec<String> = ["甲", "乙", "丙"]
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let m = c.member(&format!("{n}同学"), &format!("1380000010{i}"));
                c.core.group_add_member(&c.admin, &group, &m.id, Some("2026-10-01".into()), false).unwrap();
                c.core
                    .contract_enrol(&c.admin, EnrolInput { member_id: m.id.clone(), package_id: pkg.id.clone(), discount: String::new(), start_date: Some("2026-10-01".into()), consultant_id: None, renewal_of: None, notes: String::new() })
                    .unwrap();
                m.id
            })
            .collect();
        c.core.sessions_generate(&c.admin, "2026-10-01", "2026-11-30").unwrap();
        let sessions = c.core.session_list(&c.admin, SessionFilter { from_date: "2026-10-01".into(), to_date: "2026-11-25".into(), ..Default::default() }).unwrap();
        // 甲 always comes (late once); 乙 is absent once and on leave once; 丙 stops after October.
        for (i, s) in sessions.iter().enumerate() {
            let mut marks = vec![mark(&kids[0], if i == 0 { "late" } else { "present" })];
            marks.push(mark(&kids[1], match i { 1 => "absent", 2 => "leave", _ => "present" }));
            if s.date.as_str() < "2026-11-01" {
                marks.push(mark(&kids[2], "present"));
            }
            c.to_class(&s.id);
            c.core.roll_call(&c.coach, &s.id, RollCallInput { marks, trials: vec![], ..Default::default() }).unwrap();
        }
        on(&c, 2026, 11, 25);
        let f = AttendanceFilter { from_date: "2026-10-01".into(), to_date: "2026-11-25".into(), by: "member".into(), inactive_days: Some(21) };
        let r = c.core.attendance_report(&c.admin, &f, Lang::ZhCn).unwrap();
        let n = sessions.len() as i64;
        let row = |name: &str| r.rows.iter().find(|x| x.label.starts_with(name)).unwrap().clone();
        assert_eq!((row("甲").present, row("甲").late, row("甲").rate_permille), (n - 1, 1, Some(1000)));
        // 乙: one absence counts against, the leave counts neither way.
        assert_eq!((row("乙").absent, row("乙").leave), (1, 1));
        assert_eq!(row("乙").rate_permille, Some(((n - 2) * 2000 + (n - 1)) / ((n - 1) * 2)));
        assert_eq!(r.total.sessions, n);
        // Lowest rate first; equal rates by name.
        let order: Vec<String> = r.rows.iter().map(|x| x.label.chars().take(1).collect()).collect();
        assert_eq!((order.join(""), r.total_rows), ("乙丙甲".to_string(), 3));
        let stopped: Vec<&str> = r.stopped_coming.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(stopped, ["丙同学"]);
        assert_eq!(r.stopped_coming[0].last_attended.as_deref(), Some("2026-10-28"));
        assert_eq!(r.stopped_coming[0].days_since, 28);

        let by_group = c.core.attendance_report(&c.admin, &AttendanceFilter { by: "group".into(), ..f.clone() }, Lang::ZhCn).unwrap();
        assert_eq!(by_group.rows.len(), 1);
        assert_eq!(by_group.rows[0].present + by_group.rows[0].late + by_group.rows[0].absent + by_group.rows[0].leave, c.count("SELECT COUNT(*) FROM attendance"));
        assert_eq!(c.core.attendance_report(&c.coach, &f, Lang::ZhCn).unwrap_err().code(), "forbidden");
        let csv = c.core.attendance_csv(&c.admin, &AttendanceFilter { by: "group".into(), ..f.clone() }, Lang::ZhCn, false).unwrap();
        let text = csv_table(&csv.bytes);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "班级,课节,到课,迟到,缺勤,请假,补课,出勤率%");
        assert!(lines[1].starts_with(&format!("周三班,{n},")), "{}", lines[1]);
        assert!(lines[2].starts_with("合计,"));
    }
}

mod staff_activity {
    use super::*;
    use centredesk_core::audit::ActivityFilter;

    #[test]
    fn who_did_what_on_which_day_and_a_records_own_history() {
        let c = common::centre();
        on(&c, 2026, 11, 24);
        let m = c.member("王小明", "13800000001"); // the clerk: apply + approve
        on(&c, 2026, 11, 25);
        c.member("李小红", "13800000002");
        let pkg = c.lesson_package(10, "1000"); // the manager
        let day = |d: &str| ActivityFilter { from_date: d.into(), to_date: d.into(), staff_id: None, entity_id: None };
        let today = c.core.staff_activity(&c.admin, &day("2026-11-25"), centredesk_core::Lang::ZhCn).unwrap();
        let clerk: i64 = today.counts.iter().filter(|x| x.staff_id.as_deref() == Some(c.clerk.staff_id.as_str())).map(|x| x.count).sum();
        assert!(clerk >= 2, "{:?}", today.counts);
        assert!(today.counts.iter().any(|x| x.entity == "package" && x.staff_id.as_deref() == Some(c.admin.staff_id.as_str())));
        assert_eq!(today.total, today.entries.len() as i64);
        assert!(today.entries.iter().all(|e| e.entity_id != m.id), "yesterday's member is not in today");
        // A record's own history, across days, whoever did it.
        let history = c.core.staff_activity(&c.admin, &ActivityFilter { entity_id: Some(m.id.clone()), ..day("2026-11-01") }.with_to("2026-11-30"), centredesk_core::Lang::ZhCn).unwrap();
        assert!(history.entries.iter().all(|e| e.entity_id == m.id || e.subject_id.as_deref() == Some(m.id.as_str())));
        assert!(history.entries.iter().any(|e| e.op == "approve"));
        assert_eq!(c.core.staff_activity(&c.clerk, &day("2026-11-25"), centredesk_core::Lang::ZhCn).unwrap_err().code(), "forbidden");
        let _ = pkg;
    }

    trait WithTo {
        fn with_to(self, to: &str) -> Self;
    }
    impl WithTo for ActivityFilter {
        fn with_to(mut self, to: &str) -> Self {
            self.to_date = to.into();
            self
        }
    }
}
