//! Money follow-ups run by themselves: whatever moved money or points — a payment, its
//! reversal, a refund, goods sold for money, goods returned — the write path settles
//! the referral rewards and re-evaluates the tiers before commit. No operation calls
//! them; this walks every kind and looks at points, referral rewards and tiers after each.

use crate::common::*;
use centredesk_core::contracts::{EnrolInput, RefundInput, RefundRule};
use centredesk_core::goods::{GoodsInput, ReturnInput, SaleInput, StockInput};
use centredesk_core::members::Member;
use centredesk_core::payments::PaymentInput;
use centredesk_core::tiers::{TierConfig, TierDef};
use centredesk_core::Lang;

fn def(name_zh: &str, name_en: &str, threshold: &str) -> TierDef {
    TierDef { name_zh: name_zh.into(), name_en: name_en.into(), threshold: threshold.into(), discount_percent: "0".into(), birthday_zh: String::new(), birthday_en: String::new(), holiday_greetings: false, visit_days: 0, owner_id: None }
}

fn points(c: &Centre, m: &Member) -> i64 {
    c.core.points_account(&c.clerk, &m.id).unwrap().balance
}

fn tier(c: &Centre, m: &Member) -> String {
    c.core.member_tier(&c.clerk, &m.id).unwrap().tier.map(|t| t.name_en).unwrap_or_default()
}

/// (points, tier) of the member and of their referrer.
fn state(c: &Centre, child: &Member, referrer: &Member) -> ((i64, String), (i64, String)) {
    ((points(c, child), tier(c, child)), (points(c, referrer), tier(c, referrer)))
}

fn none() -> String {
    String::new()
}

#[test]
fn every_kind_of_money_movement_settles_referrals_and_tiers_by_itself() {
    let c = centre();
    // Points basis: 1 point per yuan paid (courses and goods); the referrer of a member
    // whose first contract is paid in full gets 200 points.
    c.core.tier_config_update(&c.admin, TierConfig { basis: "points".into(), period_months: 12, tiers: vec![def("银卡", "Silver", "150"), def("金卡", "Gold", "900")] }).unwrap();
    let s = c.core.settings().unwrap();
    c.core.settings_update(&c.admin, centredesk_core::settings::Settings { points_per_yuan: 1, points_per_attendance: 0, referral_rewards: vec![200], ..s }).unwrap();
    let referrer = c.member("推荐人", "13900000001");
    let child = c.member_referred("被推荐", "13900000002", Some(&referrer.id));
    assert_eq!(state(&c, &child, &referrer), ((0, none()), (0, none())));

    // 1. A payment in full: the child earns 1,000 points (gold), the referrer 200 (silver).
    let pkg = c.lesson_package(10, "1000");
    let enrol = |c: &Centre| {
        c.core
            .contract_enrol(&c.clerk, EnrolInput { member_id: child.id.clone(), package_id: pkg.id.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
            .unwrap()
            .contract
            .id
    };
    let first = enrol(&c);
    let pay = |c: &Centre, k: &str| c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.into(), amount: "1000".into(), method: "cash".into(), note: String::new() }, Lang::ZhCn).unwrap().payment.id;
    let paid = pay(&c, &first);
    assert_eq!(state(&c, &child, &referrer), ((1000, "Gold".into()), (200, "Silver".into())), "after the payment");

    // 2. Its reversal: both sets of points are taken back, both tiers drop.
    c.core.payment_reverse(&c.admin, &paid, "收错了").unwrap();
    assert_eq!(state(&c, &child, &referrer), ((0, none()), (0, none())), "after the reversal");

    // 3. Paid again, then refunded by lessons left (none used: all of it back).
    pay(&c, &first);
    assert_eq!(state(&c, &child, &referrer), ((1000, "Gold".into()), (200, "Silver".into())), "paid again");
    c.core.contract_refund(&c.admin, &first, RefundInput { rule: RefundRule::Lessons, method: "cash".into(), reason: "搬家".into() }).unwrap();
    assert_eq!(state(&c, &child, &referrer), ((0, none()), (0, none())), "after the refund");

    // 4. Goods for money: 300 yuan of goods, 300 points, silver — no referral (no contract).
    let goods = c.core.goods_create(&c.admin, GoodsInput { name: "道服".into(), category: "装备".into(), price: "150".into(), points_price: None }).unwrap().id;
    c.core.goods_stock(&c.admin, StockInput { goods_id: goods.clone(), kind: "purchase".into(), quantity: 10, reason: String::new() }).unwrap();
    let sale = c.core
        .goods_sell(&c.clerk, SaleInput { goods_id: goods.clone(), quantity: 2, member_id: Some(child.id.clone()), method: "cash".into(), delivered: true, note: String::new() })
        .unwrap();
    assert_eq!(state(&c, &child, &referrer), ((300, "Silver".into()), (0, none())), "after the goods sale");

    // 5. Both returned: the points go back, and the tier with them.
    c.core.goods_return(&c.clerk, ReturnInput { sale_id: sale.id.clone(), quantity: 2, reason: "尺码不对".into() }).unwrap();
    assert_eq!(state(&c, &child, &referrer), ((0, none()), (0, none())), "after the goods return");

    // And the desk's invariant checker agrees with every figure.
    assert!(c.core.check_unattended(Lang::En).unwrap().findings.is_empty());
}
