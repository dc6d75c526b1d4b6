//! Goods, stock and points on a real database: stock always equals its ledger and never
//! goes below zero whatever the desk does (property), a sale in points spends the
//! member's points, earnings follow payments and roll calls and are taken back with them,
//! and every write is in the change log.

use crate::common;

use centredesk_core::contracts::EnrolInput;
use centredesk_core::goods::{GoodsInput, SaleInput, StockInput};
use centredesk_core::payments::PaymentInput;
use centredesk_core::points::PointsAward;
use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn water(c: &Centre) -> String {
    c.core
        .goods_create(&c.admin, GoodsInput { name: "矿泉水".into(), category: "饮料".into(), price: "2".into(), points_price: Some(30) })
        .unwrap()
        .id
}

fn sale(goods: &str, quantity: i64, member: Option<&str>, method: &str) -> SaleInput {
    SaleInput { goods_id: goods.into(), quantity, member_id: member.map(String::from), method: method.into(), delivered: false, note: String::new() }
}

fn stock_in(goods: &str, kind: &str, quantity: i64, reason: &str) -> StockInput {
    StockInput { goods_id: goods.into(), kind: kind.into(), quantity, reason: reason.into() }
}

#[derive(Debug, Clone)]
enum Step {
    Purchase(i64),
    Sell(i64),
    Adjust(i64),
    Return(i64),
    /// Take back `n` of the `i`-th sale made so far (modulo), maybe more than is left.
    ReturnSale(usize, i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (1i64..20).prop_map(Step::Purchase),
        3 => (1i64..8).prop_map(Step::Sell),
        1 => (-10i64..10).prop_map(Step::Adjust),
        1 => (1i64..3).prop_map(Step::Return),
        2 => (0usize..8, 1i64..5).prop_map(|(i, n)| Step::ReturnSale(i, n)),
    ]
}

#[test]
fn stock_always_equals_its_ledger_and_never_goes_below_zero() {
    let c = common::centre();
    let mut runner = TestRunner::new(Config { cases: 40, ..Config::default() });
    runner
        .run(&proptest::collection::vec(step(), 1..25), |steps| {
            let g = water(&c);
            let mut expected = 0i64;
            // Each sale made so far: (id, sold, returned).
            let mut sales: Vec<(String, i64, i64)> = vec![];
            for s in steps {
                let before = c.log_len();
                let (result, delta) = match s {
                    Step::Purchase(n) => (c.core.goods_stock(&c.admin, stock_in(&g, "purchase", n, "")).map(drop), n),
                    Step::Return(n) => (c.core.goods_stock(&c.admin, stock_in(&g, "return", n, "退回")).map(drop), n),
                    Step::Adjust(n) => (c.core.goods_stock(&c.admin, stock_in(&g, "adjust", n, "盘点")).map(drop), n),
                    Step::Sell(n) => {
                        let sold = c.core.goods_sell(&c.clerk, sale(&g, n, None, "cash"));
                        if let Ok(s) = &sold {
                            sales.push((s.id.clone(), n, 0));
                        }
                        (sold.map(drop), -n)
                    }
                    Step::ReturnSale(_, _) if sales.is_empty() => continue,
                    Step::ReturnSale(i, n) => {
                        let k = i % sales.len();
                        let (id, sold, returned) = sales[k].clone();
                        let back = c.core.goods_return(&c.clerk, centredesk_core::goods::ReturnInput { sale_id: id, quantity: n, reason: "退货".into() });
                        match &back {
                            Ok(_) => sales[k].2 += n,
                            Err(e) => {
                                prop_assert!(n > sold - returned, "a return within what is left was refused: {}", e.code());
                                prop_assert!(e.code() == "validation.at_most" || e.code() == "conflict.sale_fully_returned", "{}", e.code());
                                prop_assert_eq!(c.log_len(), before, "nothing half-saved");
                                continue;
                            }
                        }
                        prop_assert!(n <= sold - returned, "returned more than was left");
                        (back.map(drop), n)
                    }
                };
                match result {
                    Ok(()) => {
                        expected += delta;
                        prop_assert!(c.log_len() > before, "a stock change is logged");
                    }
                    Err(e) => {
                        // Refused only when it would go below zero (or a zero adjustment).
                        prop_assert!(expected + delta < 0 || delta == 0, "{s:?} refused with {}", e.code());
                        prop_assert!(e.code() == "conflict.not_enough_stock" || delta == 0, "{}", e.code());
                        prop_assert_eq!(c.log_len(), before, "nothing half-saved");
                    }
                }
                let (stock, ledger): (i64, i64) = c
                    .raw()
                    .query_row("SELECT stock, (SELECT COALESCE(SUM(quantity), 0) FROM stock_moves WHERE goods_id = ?1) FROM goods WHERE id = ?1", [&g], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .unwrap();
                prop_assert_eq!(stock, expected);
                prop_assert_eq!(ledger, expected);
                prop_assert!(stock >= 0);
                // Never more back than sold, and the money paid back never more than taken.
                let (over, refunds_over): (i64, i64) = c
                    .raw()
                    .query_row(
                        "SELECT (SELECT COUNT(*) FROM goods_sales WHERE goods_id = ?1 AND returned > quantity),
                                (SELECT COUNT(*) FROM goods_sales s WHERE goods_id = ?1 AND (SELECT COALESCE(SUM(amount), 0) FROM goods_returns r WHERE r.sale_id = s.id) <> s.amount * s.returned / s.quantity)",
                        [&g],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                prop_assert_eq!((over, refunds_over), (0, 0));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_bottle_of_water_for_points_spends_points_and_stock() {
    let c = common::centre();
    let g = water(&c);
    c.core.goods_stock(&c.admin, stock_in(&g, "purchase", 24, "")).unwrap();
    let m = c.member("小明", "13800001234");
    // Points come from a payment (1 a yuan) and a manual award with its reason.
    let pkg = c.lesson_package(10, "100");
    let k = c
        .core
        .contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id, discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
        .unwrap();
    let paid = c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.contract.id.clone(), amount: "20.50".into(), method: "cash".into(), note: String::new() }, centredesk_core::Lang::ZhCn).unwrap();
    assert_eq!(c.core.points_account(&c.clerk, &m.id).unwrap().balance, 20, "whole yuan only");
    assert_eq!(c.core.points_award(&c.clerk, PointsAward { member_id: m.id.clone(), points: 50, reason: "比赛获奖".into() }).unwrap_err().code(), "forbidden");
    c.core.points_award(&c.admin, PointsAward { member_id: m.id.clone(), points: 50, reason: "比赛获奖".into() }).unwrap();

    // 70 points buy two bottles at 30; a third is refused with the balance named.
    let sold = c.core.goods_sell(&c.coach, sale(&g, 2, Some(&m.id), "points")).unwrap();
    assert_eq!((sold.points, sold.amount.to_string().as_str(), sold.delivered_at.is_none()), (60, "0.00", true));
    let refused = c.core.goods_sell(&c.coach, sale(&g, 1, Some(&m.id), "points")).unwrap_err();
    assert_eq!(refused.code(), "conflict.not_enough_points");
    assert!(refused.message(centredesk_core::Lang::ZhCn).contains("10"), "{}", refused.message(centredesk_core::Lang::ZhCn));
    let account = c.core.points_account(&c.clerk, &m.id).unwrap();
    assert_eq!(account.balance, 10);
    assert_eq!(account.balance, account.entries.iter().map(|e| e.delta).sum::<i64>(), "balance is the ledger's sum");
    assert_eq!(c.core.goods_list(&c.clerk, false).unwrap()[0].stock, 22);

    // A points sale needs a member and a points price; money sales earn points.
    let e = c.core.goods_sell(&c.clerk, sale(&g, 1, None, "points")).unwrap_err();
    assert_eq!((e.code(), e.field()), ("validation.required".to_string(), Some(centredesk_core::error::Field::Member)));
    c.core.goods_sell(&c.clerk, sale(&g, 5, Some(&m.id), "wechat")).unwrap();
    assert_eq!(c.core.points_account(&c.clerk, &m.id).unwrap().balance, 20);

    // Handed over later by the coach; listed as undelivered until then, once only.
    let undelivered = c.core.goods_sales(&c.clerk, "2026-11-25", "2026-11-25", true).unwrap();
    assert_eq!(undelivered.len(), 2);
    let done = c.core.goods_deliver(&c.coach, &sold.id).unwrap();
    assert_eq!(done.delivered_by_name.as_deref(), Some("陈刚"));
    assert_eq!(c.core.goods_deliver(&c.clerk, &sold.id).unwrap_err().code(), "conflict.sale_already_delivered");
    assert_eq!(c.core.goods_sales(&c.clerk, "2026-11-25", "2026-11-25", true).unwrap().len(), 1);

    // A reversed payment takes its points back.
    c.core.payment_reverse(&c.admin, &paid.payment.id, "收错金额").unwrap();
    assert_eq!(c.core.points_account(&c.clerk, &m.id).unwrap().balance, 0);
    // Every points entry and stock move is in the change log.
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'points'"), c.count("SELECT COUNT(*) FROM points_ledger"));
    assert_eq!(c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'stock_move'"), c.count("SELECT COUNT(*) FROM stock_moves"));
}

#[test]
fn bad_goods_input_names_the_field() {
    let c = common::centre();
    let g = water(&c);
    let field = |e: centredesk_core::CoreError| (e.code(), e.field());
    use centredesk_core::error::Field;
    let bad = c.core.goods_create(&c.admin, GoodsInput { name: "  ".into(), category: String::new(), price: "1".into(), points_price: None }).unwrap_err();
    assert_eq!(field(bad), ("validation.required".to_string(), Some(Field::Name)));
    let bad = c.core.goods_create(&c.admin, GoodsInput { name: "道服".into(), category: String::new(), price: "-5".into(), points_price: None }).unwrap_err();
    assert_eq!(field(bad), ("validation.not_negative".to_string(), Some(Field::Price)));
    let bad = c.core.goods_stock(&c.admin, stock_in(&g, "adjust", -1, "")).unwrap_err();
    assert_eq!(field(bad), ("validation.required".to_string(), Some(Field::Reason)));
    assert_eq!(c.core.goods_stock(&c.clerk, stock_in(&g, "purchase", 1, "")).unwrap_err().code(), "forbidden");
    assert!(c.core.goods_stock(&c.admin, stock_in(&g, "adjust", -1, "盘点")).unwrap_err().message(centredesk_core::Lang::En).contains("0 on hand"));
}
