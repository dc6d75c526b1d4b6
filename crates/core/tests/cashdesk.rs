//! Goods returns 退货 and the per-staff cash reconciliation 对账 on a real database:
//! a return puts stock back through the ledger and pays back exactly what the sale took
//! (money by its method, or points), never more than was sold; the reconciliation equals
//! an oracle folded here from the raw rows for several staff and days with refunds,
//! reversals, returns and a voided hand-in; CSV; permissions; every write logged.

use crate::common;

use centredesk_core::cash::{CashFilter, CashReport, HandinInput};
use centredesk_core::contracts::{EnrolInput, RefundInput, RefundRule};
use centredesk_core::error::Field;
use centredesk_core::goods::{GoodsInput, ReturnInput, SaleInput, StockInput};
use centredesk_core::payments::PaymentInput;
use centredesk_core::{Lang, Session};
use crate::common::*;
use std::collections::BTreeMap;

fn item(c: &Centre, name: &str, price: &str, points: Option<i64>, stock: i64) -> String {
    let g = c.core.goods_create(&c.admin, GoodsInput { name: name.into(), category: "测试".into(), price: price.into(), points_price: points }).unwrap().id;
    c.core.goods_stock(&c.admin, StockInput { goods_id: g.clone(), kind: "purchase".into(), quantity: stock, reason: String::new() }).unwrap();
    g
}

fn sell(c: &Centre, who: &Session, goods: &str, quantity: i64, member: Option<&str>, method: &str, delivered: bool) -> String {
    c.core
        .goods_sell(who, SaleInput { goods_id: goods.into(), quantity, member_id: member.map(String::from), method: method.into(), delivered, note: String::new() })
        .unwrap()
        .id
}

fn back(sale: &str, quantity: i64, reason: &str) -> ReturnInput {
    ReturnInput { sale_id: sale.into(), quantity, reason: reason.into() }
}

fn stock_and_ledger(c: &Centre, goods: &str) -> (i64, i64) {
    c.raw()
        .query_row("SELECT stock, (SELECT SUM(quantity) FROM stock_moves WHERE goods_id = ?1) FROM goods WHERE id = ?1", [goods], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

fn balance(c: &Centre, member: &str) -> i64 {
    c.core.points_account(&c.admin, member).unwrap().balance
}

fn paid_member(c: &Centre, name: &str, phone: &str) -> String {
    let m = c.member(name, phone);
    let pkg = c.lesson_package(10, "1000");
    let k = c
        .core
        .contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id, discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
        .unwrap();
    c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.contract.id, amount: "1000".into(), method: "wechat".into(), note: String::new() }, centredesk_core::Lang::ZhCn).unwrap();
    m.id
}

#[test]
fn a_return_puts_stock_back_and_pays_back_exactly_what_the_sale_took() {
    let c = common::centre();
    let m = paid_member(&c, "小明", "13800001234");
    let points_start = balance(&c, &m);
    assert_eq!(points_start, 1000, "1 point a yuan");
    let belt = item(&c, "腰带", "33.33", Some(300), 10);

    // Five belts for cash: ¥166.65, 166 points earned.
    let sale = sell(&c, &c.clerk, &belt, 5, Some(&m), "cash", true);
    assert_eq!((stock_and_ledger(&c, &belt), balance(&c, &m)), ((5, 5), 1166));

    // More than sold is refused with the field and the limit, in both languages; nothing changes.
    let before = c.log_len();
    let e = c.core.goods_return(&c.clerk, back(&sale, 6, "太多")).unwrap_err();
    assert_eq!((e.code().as_str(), e.field()), ("validation.at_most", Some(Field::Quantity)));
    assert_eq!(e.message(Lang::ZhCn), "数量：不能超过 5");
    assert_eq!(e.message(Lang::En), "Quantity cannot be more than 5");
    let e = c.core.goods_return(&c.clerk, back(&sale, 1, "  ")).unwrap_err();
    assert_eq!((e.code().as_str(), e.field()), ("validation.required", Some(Field::Reason)));
    assert_eq!(c.log_len(), before, "nothing half-saved");

    // Two, then three: the amounts add up to the sale's to the fen, points follow.
    let r1 = c.core.goods_return(&c.clerk, back(&sale, 2, "尺码不合适")).unwrap();
    assert_eq!((r1.kind.as_str(), r1.method.as_str(), r1.amount.to_string().as_str(), r1.points), ("return", "cash", "66.66", 0));
    assert_eq!(stock_and_ledger(&c, &belt), (7, 7));
    assert_eq!(balance(&c, &m), 1000 + 99, "166 × 3/5 = 99 points kept");
    let e = c.core.goods_return(&c.clerk, back(&sale, 4, "再退")).unwrap_err();
    assert_eq!(e.message(Lang::ZhCn), "数量：不能超过 3", "only what is left can come back");
    let r2 = c.core.goods_return(&c.consultant, back(&sale, 3, "不要了")).unwrap();
    assert_eq!(r2.amount.to_string(), "99.99");
    assert_eq!(r1.amount + r2.amount, c.core.goods_sales(&c.admin, "2026-11-25", "2026-11-25", false).unwrap()[0].amount);
    assert_eq!((stock_and_ledger(&c, &belt), balance(&c, &m)), ((10, 10), points_start));
    let e = c.core.goods_return(&c.clerk, back(&sale, 1, "再退")).unwrap_err();
    assert_eq!(e.code(), "conflict.sale_fully_returned");

    // A points sale gives the points back, not money.
    let by_points = sell(&c, &c.coach, &belt, 2, Some(&m), "points", true);
    assert_eq!(balance(&c, &m), points_start - 600);
    let r = c.core.goods_return(&c.clerk, back(&by_points, 1, "断了")).unwrap();
    assert_eq!((r.method.as_str(), r.amount.to_string().as_str(), r.points), ("points", "0.00", 300));
    assert_eq!(balance(&c, &m), points_start - 300);
    let account = c.core.points_account(&c.admin, &m).unwrap();
    assert_eq!(account.balance, account.entries.iter().map(|e| e.delta).sum::<i64>(), "balance is its ledger's sum");

    // An undelivered sale is cancelled the same way and leaves the undelivered list.
    let pending = sell(&c, &c.clerk, &belt, 1, None, "wechat", false);
    assert_eq!(c.core.goods_sales(&c.clerk, "2026-11-25", "2026-11-25", true).unwrap().len(), 1);
    let cancelled = c.core.goods_return(&c.clerk, back(&pending, 1, "家长改主意")).unwrap();
    assert_eq!((cancelled.kind.as_str(), cancelled.amount.to_string().as_str()), ("cancel", "33.33"));
    assert!(c.core.goods_sales(&c.clerk, "2026-11-25", "2026-11-25", true).unwrap().is_empty());
    assert_eq!(c.core.goods_deliver(&c.clerk, &pending).unwrap_err().code(), "conflict.sale_fully_returned");

    // Coaches sell but do not pay money back (they hold no cash box).
    let other = sell(&c, &c.clerk, &belt, 1, None, "cash", true);
    assert_eq!(c.core.goods_return(&c.coach, back(&other, 1, "x")).unwrap_err().code(), "forbidden");

    // Every write is in the change log: each return, its sale's new state, its stock move.
    assert_eq!(c.count("SELECT COUNT(*) FROM goods_returns"), 4);
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'goods_return'"), 4);
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'goods_sale' AND op = 'return'"), 4);
    assert_eq!(c.count("SELECT COUNT(*) FROM stock_moves WHERE kind = 'return' AND sale_id IS NOT NULL"), 4);
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'stock_move'"), c.count("SELECT COUNT(*) FROM stock_moves"));
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'points'"), c.count("SELECT COUNT(*) FROM points_ledger"));
    // The last stock move's payload carries the stock it left (head office's fold sets it).
    let last: String = c.raw().query_row("SELECT payload FROM change_log WHERE entity = 'stock_move' AND op = 'return' ORDER BY seq DESC LIMIT 1", [], |r| r.get(0)).unwrap();
    assert!(last.contains("\"stock\":9") && last.contains("\"kind\":\"return\""), "{last}");
    // The returns ledger is append-only.
    assert!(c.raw().execute("UPDATE goods_returns SET amount = 0", []).is_err());
    assert!(c.raw().execute("DELETE FROM goods_returns", []).is_err());
    assert_eq!(c.core.goods_returns(&c.clerk, "2026-11-25", "2026-11-25").unwrap().len(), 4);

    // Goods in/out for the day: 10 in, 7 back, 9 sold, ending at the stock on hand.
    let f = centredesk_core::analysis::AnalysisFilter {
        report: "goods".into(), from_date: "2026-11-25".into(), to_date: "2026-11-25".into(), days_ahead: None, lessons_left: None, a_percent: None, b_percent: None,
    };
    let t = &c.core.analysis(&c.admin, &f, Lang::ZhCn).unwrap()[0];
    assert_eq!(t.rows[0][..8].to_vec(), ["腰带", "测试", "0", "10", "7", "9", "0", "8"].map(String::from).to_vec());
    assert_eq!(stock_and_ledger(&c, &belt), (8, 8));
    assert_eq!(t.rows[0][10], "199.98", "money paid back: 66.66 + 99.99 + 33.33");
    assert_eq!(c.core.analysis(&c.clerk, &f, Lang::ZhCn).unwrap_err().code(), "forbidden");
    // The next day opens with yesterday's closing stock.
    let f = centredesk_core::analysis::AnalysisFilter { from_date: "2026-11-26".into(), to_date: "2026-11-26".into(), ..f };
    assert_eq!(c.core.analysis(&c.admin, &f, Lang::En).unwrap()[0].rows[0][2], "8");
}

/// The oracle: cash per staff and day folded from the raw rows, in fen:
/// `(date, staff) → (in, out, handed in)`.
fn oracle(c: &Centre) -> BTreeMap<(String, String), (i64, i64, i64)> {
    let conn = c.raw();
    let mut out: BTreeMap<(String, String), (i64, i64, i64)> = BTreeMap::new();
    let payments: Vec<(String, String, i64, String, String, String, Option<String>)> = conn
        .prepare("SELECT id, kind, amount, method, staff_id, business_date, reverses_id FROM payments")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let taker: BTreeMap<String, String> = payments.iter().map(|p| (p.0.clone(), p.4.clone())).collect();
    for (_, kind, amount, method, staff, date, reverses) in &payments {
        if method != "cash" {
            continue;
        }
        let who = match reverses {
            Some(original) => taker[original].clone(),
            None => staff.clone(),
        };
        let e = out.entry((date.clone(), who)).or_default();
        match kind.as_str() {
            "refund" => e.1 += -amount,
            _ => e.0 += amount,
        }
    }
    let mut sales = conn.prepare("SELECT business_date, staff_id, amount FROM goods_sales WHERE method = 'cash'").unwrap();
    for row in sales.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))).unwrap() {
        let (d, s, a) = row.unwrap();
        out.entry((d, s)).or_default().0 += a;
    }
    let mut returns = conn.prepare("SELECT business_date, staff_id, amount FROM goods_returns WHERE method = 'cash'").unwrap();
    for row in returns.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))).unwrap() {
        let (d, s, a) = row.unwrap();
        out.entry((d, s)).or_default().1 += a;
    }
    let mut handins = conn.prepare("SELECT business_date, staff_id, amount FROM cash_handins WHERE voided_at IS NULL").unwrap();
    for row in handins.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))).unwrap() {
        let (d, s, a) = row.unwrap();
        out.entry((d, s)).or_default().2 += a;
    }
    out
}

fn fen(m: centredesk_core::Money) -> i64 {
    m.fen()
}

fn handin(staff: &Session, date: &str, amount: &str) -> HandinInput {
    HandinInput { staff_id: staff.staff_id.clone(), business_date: date.into(), amount: amount.into(), received_by: None, note: String::new() }
}

fn report(c: &Centre, from: &str, to: &str, by: &str) -> CashReport {
    c.core.cash_report(&c.admin, &CashFilter { from_date: from.into(), to_date: to.into(), by: by.into(), staff_id: None }).unwrap()
}

#[test]
fn the_reconciliation_equals_the_raw_rows_for_every_staff_member_and_day() {
    let c = common::centre();
    let pkg = c.lesson_package(10, "1000");
    let water = item(&c, "矿泉水", "2.50", Some(30), 500);
    let day = |n: i64| c.clock.set(test_now() + chrono::Duration::days(n));
    let enrol = |name: &str, phone: &str| {
        let m = c.member(name, phone);
        c.core
            .contract_enrol(&c.clerk, EnrolInput { member_id: m.id, package_id: pkg.id.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
            .unwrap()
            .contract
            .id
    };
    let pay = |who: &Session, k: &str, amount: &str, method: &str| {
        c.core.payment_take(who, PaymentInput { contract_id: k.into(), amount: amount.into(), method: method.into(), note: String::new() }, centredesk_core::Lang::ZhCn).unwrap().payment.id
    };
    // Day 0 (2026-11-25): the clerk takes cash and WeChat, sells water; the consultant takes cash.
    let k1 = enrol("一号", "13800000001");
    let k2 = enrol("二号", "13800000002");
    let k3 = enrol("三号", "13800000003");
    let wrong = pay(&c.clerk, &k1, "500", "cash");
    pay(&c.clerk, &k2, "300", "wechat");
    pay(&c.consultant, &k3, "1000", "cash");
    let s1 = sell(&c, &c.clerk, &water, 4, None, "cash", true);
    sell(&c, &c.coach, &water, 2, None, "cash", true);
    sell(&c, &c.clerk, &water, 3, None, "wechat", true);
    c.core.cash_handin_record(&c.admin, handin(&c.clerk, "2026-11-25", "60")).unwrap();
    c.core.cash_handin_record(&c.admin, handin(&c.consultant, "2026-11-25", "1000")).unwrap();
    // Day 1: the manager reverses the clerk's 500 (it was 50); a return paid back by the
    // consultant; the clerk refunds contract 3 in cash; a hand-in recorded twice is voided.
    day(1);
    c.core.payment_reverse(&c.admin, &wrong, "金额录错").unwrap();
    pay(&c.clerk, &k1, "50", "cash");
    c.core.goods_return(&c.consultant, back(&s1, 2, "多拿了")).unwrap();
    c.core.contract_refund(&c.admin, &k3, RefundInput { rule: RefundRule::Lessons, method: "cash".into(), reason: "搬家".into() }).unwrap();
    let twice = c.core.cash_handin_record(&c.admin, handin(&c.clerk, "2026-11-26", "40")).unwrap();
    c.core.cash_handin_record(&c.admin, handin(&c.clerk, "2026-11-26", "40")).unwrap();
    c.core.cash_handin_void(&c.admin, &twice.id, "重复登记").unwrap();
    // Day 2: only the coach sells; nobody hands in.
    day(2);
    sell(&c, &c.coach, &water, 1, None, "cash", true);

    let expected = oracle(&c);
    assert!(expected.len() >= 5, "several staff and days: {expected:?}");
    let by_day = report(&c, "2026-11-25", "2026-11-27", "day");
    let got: BTreeMap<(String, String), (i64, i64, i64)> =
        by_day.rows.iter().map(|r| ((r.date.clone(), r.staff_id.clone()), (fen(r.cash_in), fen(r.cash_out), fen(r.handed_in)))).collect();
    assert_eq!(got, expected);
    for r in &by_day.rows {
        assert_eq!(fen(r.net), fen(r.cash_in) - fen(r.cash_out));
        assert_eq!(fen(r.difference), fen(r.handed_in) - fen(r.net), "difference = handed in − system");
    }
    // The known figures: day 0 the system says the clerk took 500 + 10 but she handed in 60:
    // short, a negative difference. Day 1 the −500 correction counts against her (she took
    // the payment it corrects) with the 50 re-entered: −450, 40 handed in → 490 over.
    let line = |date: &str, staff: &Session| by_day.rows.iter().find(|r| r.date == date && r.staff_id == staff.staff_id).unwrap().clone();
    assert_eq!(line("2026-11-25", &c.clerk).difference.to_string(), "-450.00");
    let clerk_d1 = line("2026-11-26", &c.clerk);
    assert_eq!((clerk_d1.net.to_string(), clerk_d1.handed_in.to_string(), clerk_d1.difference.to_string()), ("-450.00".into(), "40.00".into(), "490.00".into()));
    // The consultant paid 5.00 back on day 1 from her cash and handed in nothing: the system
    // owes her 5.00, shown as 5.00 over.
    let cons_d1 = line("2026-11-26", &c.consultant);
    assert_eq!((cons_d1.cash_out.to_string(), cons_d1.net.to_string(), cons_d1.difference.to_string()), ("5.00".into(), "-5.00".into(), "5.00".into()));
    // The coach sold for cash and handed nothing in: short, a negative difference.
    let coach_d2 = line("2026-11-27", &c.coach);
    assert_eq!((coach_d2.net.to_string(), coach_d2.difference.to_string()), ("2.50".into(), "-2.50".into()));
    // The manager paid the refund out: cash out on the manager's line.
    let refund: i64 = c.count("SELECT -amount FROM payments WHERE kind = 'refund'");
    assert!(refund > 0);
    assert_eq!(fen(line("2026-11-26", &c.admin).cash_out), refund);

    // Per staff member over the period: the days summed; the total is the sum of the lines.
    let by_staff = report(&c, "2026-11-25", "2026-11-27", "staff");
    let mut per_staff: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for ((_, s), (i, o, h)) in &expected {
        let e = per_staff.entry(s.clone()).or_default();
        e.0 += i;
        e.1 += o;
        e.2 += h;
    }
    let got: BTreeMap<String, (i64, i64, i64)> = by_staff.rows.iter().map(|r| (r.staff_id.clone(), (fen(r.cash_in), fen(r.cash_out), fen(r.handed_in)))).collect();
    assert_eq!(got, per_staff);
    assert!(by_staff.rows.iter().all(|r| r.date.is_empty()));
    let sum = |f: fn(&centredesk_core::cash::CashRow) -> i64| by_staff.rows.iter().map(f).sum::<i64>();
    assert_eq!(fen(by_staff.total.net), sum(|r| r.net.fen()));
    assert_eq!(fen(by_staff.total.difference), sum(|r| r.difference.fen()));
    assert_eq!(by_staff.total, by_day.total);
    // One day alone and one staff member alone.
    let d0 = report(&c, "2026-11-25", "2026-11-25", "day");
    assert!(d0.rows.iter().all(|r| r.date == "2026-11-25"));
    let clerk_only = c
        .core
        .cash_report(&c.admin, &CashFilter { from_date: "2026-11-25".into(), to_date: "2026-11-27".into(), by: "day".into(), staff_id: Some(c.clerk.staff_id.clone()) })
        .unwrap();
    assert_eq!(clerk_only.rows.len(), 2);
    assert_eq!(clerk_only.handins.len(), 3, "the voided one is listed too");
    assert_eq!(clerk_only.handins.iter().filter(|h| h.voided_at.is_some()).count(), 1);

    // CSV: BOM, the header in the chosen language, the lines and the total.
    let filter = CashFilter { from_date: "2026-11-25".into(), to_date: "2026-11-27".into(), by: "day".into(), staff_id: None };
    let csv = c.core.cash_report_csv(&c.admin, &filter, Lang::ZhCn, true).unwrap();
    assert!(csv.bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    let text = csv_table(&csv.bytes);
    assert!(text.starts_with("日期,员工,现金收入,现金支出,应交（系统）,实交,差额,笔数\r\n"), "{text}");
    assert!(text.contains("2026-11-26,李娜,-450.00,0.00,-450.00,40.00,490.00,2\r\n"), "{text}");
    assert_eq!(csv.rows as usize, by_day.rows.len() + 1);
    assert!(text.trim_end().ends_with(&format!("合计,{},{},{},{},{},{}", by_day.total.cash_in, by_day.total.cash_out, by_day.total.net, by_day.total.handed_in, by_day.total.difference, by_day.total.entries)), "{text}");
    let en = c.core.cash_report_csv(&c.admin, &filter, Lang::En, false).unwrap();
    assert!(String::from_utf8(en.bytes).unwrap().starts_with("Date,Staff,Cash in,Cash out,Due (system),Handed in,Difference,Entries\r\n"));

    // Hand-ins are in the change log, and are voided, never edited.
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'cash_handin' AND op = 'record'"), 4);
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'cash_handin' AND op = 'void'"), 1);
    assert!(c.raw().execute("UPDATE cash_handins SET amount = 1", []).is_err());
    assert!(c.raw().execute("DELETE FROM cash_handins", []).is_err());
    assert_eq!(c.core.cash_handin_void(&c.admin, &twice.id, "再作废").unwrap_err().code(), "conflict.handin_voided");
}

#[test]
fn hand_ins_are_the_managers_and_bad_input_names_the_field() {
    let c = common::centre();
    for s in [&c.clerk, &c.coach, &c.consultant] {
        assert_eq!(c.core.cash_handin_record(s, handin(s, "2026-11-25", "10")).unwrap_err().code(), "forbidden");
        let f = CashFilter { from_date: "2026-11-25".into(), to_date: "2026-11-25".into(), by: "day".into(), staff_id: None };
        assert_eq!(c.core.cash_report(s, &f).unwrap_err().code(), "forbidden");
    }
    let e = c.core.cash_handin_record(&c.clerk, handin(&c.clerk, "2026-11-25", "10")).unwrap_err();
    assert_eq!(e.message(Lang::ZhCn), "您的角色无权登记交款");
    let field = |input: HandinInput| {
        let e = c.core.cash_handin_record(&c.admin, input).unwrap_err();
        (e.code(), e.field(), e.message(Lang::ZhCn), e.message(Lang::En))
    };
    let (code, f, zh, en) = field(handin(&c.clerk, "2026-11-25", "十块"));
    assert_eq!((code.as_str(), f), ("validation.money_format", Some(Field::Amount)));
    assert!(zh.starts_with("金额") && en.starts_with("Amount"), "{zh} / {en}");
    assert_eq!(field(handin(&c.clerk, "2026-11-25", "-1")).1, Some(Field::Amount));
    let (code, f, zh, _) = field(handin(&c.clerk, "2026-11-26", "10"));
    assert_eq!((code.as_str(), f, zh.as_str()), ("validation.not_in_future", Some(Field::Date), "日期：不能晚于今天"));
    let (code, f, _, _) = field(HandinInput { staff_id: "nobody".into(), ..handin(&c.clerk, "2026-11-25", "10") });
    assert_eq!((code.as_str(), f), ("validation.unknown", Some(Field::Staff)));
    let (code, f, _, _) = field(HandinInput { received_by: Some("nobody".into()), ..handin(&c.clerk, "2026-11-25", "10") });
    assert_eq!((code.as_str(), f), ("validation.unknown", Some(Field::ReceivedBy)));
    let bad = c.core.cash_report(&c.admin, &CashFilter { from_date: "2026-11-25".into(), to_date: "2026-11-24".into(), by: "day".into(), staff_id: None }).unwrap_err();
    assert_eq!(bad.field(), Some(Field::ToDate));
    assert_eq!(c.count("SELECT COUNT(*) FROM cash_handins"), 0, "nothing was recorded");
    // Recorded by the manager, received by the manager unless another receiver is named.
    let h = c.core.cash_handin_record(&c.admin, handin(&c.clerk, "2026-11-25", "12.30")).unwrap();
    assert_eq!((h.staff_name.as_str(), h.received_by_name.as_str(), h.amount.to_string().as_str()), ("李娜", "王校长", "12.30"));
}
