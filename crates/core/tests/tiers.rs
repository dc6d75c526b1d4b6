//! Member tiers 会员等级 on real database files: thresholds reached exactly, the period
//! window's edges, refunds and reversals lowering a tier at once, merged
//! records counting for the survivor, only changes written (each in the change log, whole),
//! the desk's discount arithmetic on a contract, the birthday greeting by tier, the
//! manager's table checked field by field in both languages, and who may do what.


use centredesk_core::contracts::{EnrolInput, RefundInput, RefundRule};
use centredesk_core::members::Member;
use centredesk_core::payments::PaymentInput;
use centredesk_core::tiers::{TierConfig, TierDef};
use centredesk_core::error::Field;
use centredesk_core::{CoreError, Lang, Money};
use chrono::{NaiveDate, TimeZone, Utc};
use crate::common::*;

static PHONE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn member(c: &Centre, name: &str) -> Member {
    let n = PHONE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    c.member(name, &format!("1370000{n:04}"))
}

fn enrol(c: &Centre, m: &Member, package_id: &str, discount: &str) -> centredesk_core::contracts::ContractView {
    c.core
        .contract_enrol(
            &c.clerk,
            EnrolInput { member_id: m.id.clone(), package_id: package_id.into(), discount: discount.into(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() },
        )
        .unwrap()
}

/// A contract big enough for any test's payments.
fn contract(c: &Centre, m: &Member) -> String {
    let pkg = c.lesson_package(100, "50000");
    enrol(c, m, &pkg.id, "").contract.id
}

fn pay(c: &Centre, contract_id: &str, amount: &str) -> String {
    c.core
        .payment_take(&c.clerk, PaymentInput { contract_id: contract_id.into(), amount: amount.into(), method: "wechat".into(), note: String::new() }, centredesk_core::Lang::ZhCn)
        .unwrap()
        .payment
        .id
}

/// Sets the clock to 10:00 Beijing on `date`.
fn on(c: &Centre, date: &str) {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    c.clock.set(Utc.from_utc_datetime(&d.and_hms_opt(2, 0, 0).unwrap()));
    assert_eq!(c.core.today(), d);
}

fn def(name_zh: &str, name_en: &str, threshold: &str, discount: &str) -> TierDef {
    TierDef { name_zh: name_zh.into(), name_en: name_en.into(), threshold: threshold.into(), discount_percent: discount.into(), birthday_zh: String::new(), birthday_en: String::new(), holiday_greetings: false, visit_days: 0, owner_id: None }
}

/// Bronze ¥1,000, silver ¥5,000 (3 %), gold ¥10,000 (5 %), platinum ¥20,000 (7.5 %), 12 months.
fn spend_table() -> TierConfig {
    let mut gold = def("金卡", "Gold", "10000", "5");
    gold.birthday_zh = "金卡会员本月到店可领取生日礼物一份。".into();
    gold.birthday_en = "As a Gold member, collect a birthday gift at the desk this month.".into();
    TierConfig {
        basis: "spend".into(),
        period_months: 12,
        tiers: vec![def("铜卡", "Bronze", "1000", "0"), def("银卡", "Silver", "5000", "3"), gold, def("铂金卡", "Platinum", "20000", "7.5")],
    }
}

fn configure(c: &Centre, cfg: TierConfig) {
    c.core.tier_config_update(&c.admin, cfg).unwrap();
}

/// The stored tier's Chinese name, "" for none.
fn tier(c: &Centre, m: &Member) -> String {
    c.core.member_tier(&c.clerk, &m.id).unwrap().tier.map(|t| t.name_zh).unwrap_or_default()
}

fn tier_log(c: &Centre) -> i64 {
    c.count("SELECT COUNT(*) FROM change_log WHERE entity = 'member_tier'")
}

#[test]
fn a_threshold_is_reached_exactly_and_a_fen_below_is_not() {
    let c = centre();
    configure(&c, spend_table());
    let m = member(&c, "边界");
    let k = contract(&c, &m);
    pay(&c, &k, "999.99");
    assert_eq!(tier(&c, &m), "", "¥999.99 is below bronze");
    pay(&c, &k, "0.01");
    assert_eq!(tier(&c, &m), "铜卡", "¥1,000.00 exactly is bronze, at once when the payment lands");
    pay(&c, &k, "3999.99");
    assert_eq!(tier(&c, &m), "铜卡", "¥4,999.99");
    let view = c.core.member_tier(&c.clerk, &m.id).unwrap();
    assert_eq!((view.value, view.next.as_ref().unwrap().name_zh.as_str(), view.next_missing), (499_999, "银卡", Some(1)));
    pay(&c, &k, "0.01");
    assert_eq!(tier(&c, &m), "银卡", "¥5,000.00");
    pay(&c, &k, "15000");
    let view = c.core.member_tier(&c.clerk, &m.id).unwrap();
    let t = view.tier.unwrap();
    assert_eq!((t.name_zh.as_str(), t.name_en.as_str(), t.level, t.discount_permille, t.discount_percent.as_str()), ("铂金卡", "Platinum", 4, 75, "7.5"));
    assert_eq!(view.value_money, Some(Money::from_fen(2_000_000)));
    assert!(view.next.is_none() && !view.pending_change);
    // Evaluating the whole centre finds nothing else to do.
    let run = c.core.tiers_evaluate(&c.admin).unwrap();
    assert_eq!((run.evaluated, run.changed), (1, 0));
    assert_eq!(run.per_level, vec![0, 0, 0, 0, 1]);
}

#[test]
fn a_payment_one_day_outside_the_period_does_not_count() {
    let c = centre();
    configure(&c, spend_table());
    let m = member(&c, "窗口");
    let k = contract(&c, &m);
    on(&c, "2025-11-25");
    pay(&c, &k, "3000");
    on(&c, "2025-11-26");
    pay(&c, &k, "2000");
    assert_eq!(tier(&c, &m), "银卡", "¥5,000 within a year");
    // On 2026-11-24 both count (the period is 2025-11-25 … 2026-11-24).
    on(&c, "2026-11-24");
    let run = c.core.tiers_evaluate_scheduled().unwrap();
    assert_eq!((run.period_from.as_str(), run.period_to.as_str(), run.changed), ("2025-11-25", "2026-11-24", 0));
    assert_eq!(tier(&c, &m), "银卡");
    // On 2026-11-25 the period starts 2025-11-26: the ¥3,000 of 2025-11-25 is one day out.
    on(&c, "2026-11-25");
    assert!(c.core.member_tier(&c.clerk, &m.id).unwrap().pending_change, "the desk sees a change is due");
    let run = c.core.tiers_evaluate_scheduled().unwrap();
    assert_eq!((run.period_from.as_str(), run.changed, run.lowered), ("2025-11-26", 1, 1));
    assert_eq!(tier(&c, &m), "铜卡");
    // The scheduled run is the system's: no staff member on the log entry.
    let staff: Option<String> = c.raw().query_row("SELECT staff_id FROM change_log WHERE entity = 'member_tier' ORDER BY seq DESC LIMIT 1", [], |r| r.get(0)).unwrap();
    assert_eq!(staff, None);
    // A year after the last payment, nothing is left: no tier, and the row says so.
    on(&c, "2026-11-26");
    c.core.tiers_evaluate_scheduled().unwrap();
    assert_eq!(tier(&c, &m), "");
    assert_eq!(c.count("SELECT level FROM member_tiers"), 0);
    assert_eq!(c.count("SELECT previous_level FROM member_tiers"), 1);
}

#[test]
fn refunds_and_reversals_lower_the_tier_at_once() {
    let c = centre();
    configure(&c, spend_table());
    let m = member(&c, "退费");
    let pkg = c.lesson_package(10, "10000");
    let k = enrol(&c, &m, &pkg.id, "").contract.id;
    pay(&c, &k, "10000");
    assert_eq!(tier(&c, &m), "金卡");
    c.core.contract_refund(&c.admin, &k, RefundInput { rule: RefundRule::Lessons, method: "cash".into(), reason: "搬家".into() }).unwrap();
    assert_eq!(tier(&c, &m), "", "¥10,000 paid and ¥10,000 refunded: nothing, at once");
    assert!(!c.core.member_tier(&c.clerk, &m.id).unwrap().pending_change);
    let run = c.core.tiers_evaluate(&c.admin).unwrap();
    assert_eq!(run.changed, 0, "nothing left for the hourly run");

    // A reversal: ¥6,000 paid (silver), ¥2,000 of it reversed → ¥4,000, bronze.
    let k2 = contract(&c, &m);
    pay(&c, &k2, "4000");
    let p = pay(&c, &k2, "2000");
    assert_eq!(tier(&c, &m), "银卡");
    c.core.payment_reverse(&c.admin, &p, "收错了").unwrap();
    assert_eq!(tier(&c, &m), "铜卡");
}

#[test]
fn a_merged_duplicates_payments_count_for_the_record_kept() {
    let c = centre();
    configure(&c, spend_table());
    let keep = member(&c, "合并甲");
    let dup = member(&c, "合并甲");
    pay(&c, &contract(&c, &keep), "3000");
    pay(&c, &contract(&c, &dup), "3000");
    assert_eq!((tier(&c, &keep), tier(&c, &dup)), ("铜卡".to_string(), "铜卡".to_string()));
    c.core.member_merge(&c.admin, &keep.id, &dup.id).unwrap();
    assert_eq!(tier(&c, &keep), "银卡", "¥3,000 + ¥3,000 of the merged record, in the merge's transaction");
    let op: String = c.raw().query_row("SELECT op FROM change_log WHERE entity = 'member_tier' ORDER BY seq DESC LIMIT 1", [], |r| r.get(0)).unwrap();
    assert_eq!(op, "raise");
    let run = c.core.tiers_evaluate(&c.admin).unwrap();
    assert_eq!((run.evaluated, run.changed), (1, 0), "the duplicate is not evaluated itself, the survivor is up to date");
    assert_eq!(c.count(&format!("SELECT level FROM member_tiers WHERE member_id = '{}'", dup.id)), 1, "the duplicate's last tier stays as history");
    let v = c.core.member_tier(&c.clerk, &dup.id).unwrap();
    assert_eq!((v.member_id.as_str(), v.value), (keep.id.as_str(), 600_000), "the duplicate's page shows the record kept");
    // A payment on the moved contract (now the survivor's) evaluates the survivor.
    let moved = c.raw().query_row("SELECT id FROM contracts WHERE member_id = ?1 ORDER BY created_at DESC LIMIT 1", [&keep.id], |r| r.get::<_, String>(0)).unwrap();
    pay(&c, &moved, "4000");
    assert_eq!(tier(&c, &keep), "金卡");
}

#[test]
fn only_changes_are_written_each_whole_in_the_change_log() {
    let c = centre();
    let a = member(&c, "日志甲");
    let b = member(&c, "日志乙");
    let ka = contract(&c, &a);
    pay(&c, &ka, "6000");
    // Tiers off: paying and evaluating write no tier.
    let before = c.log_len();
    let run = c.core.tiers_evaluate(&c.admin).unwrap();
    assert_eq!((run.evaluated, run.changed), (2, 0));
    assert_eq!(c.log_len(), before);
    configure(&c, spend_table());
    assert_eq!(c.log_len(), before + 1, "the table is one setting");
    configure(&c, spend_table());
    assert_eq!(c.log_len(), before + 1, "the same table again writes nothing");
    // a becomes silver; b (nothing paid) has no tier and gets no row.
    let before = c.log_len();
    let run = c.core.tiers_evaluate(&c.admin).unwrap();
    assert_eq!((run.evaluated, run.changed, run.raised), (2, 1, 1));
    assert_eq!(c.log_len(), before + 1);
    assert_eq!(c.count("SELECT COUNT(*) FROM member_tiers"), 1);
    let (entity_id, op, subject, payload): (String, String, String, String) = c
        .raw()
        .query_row("SELECT entity_id, op, subject_id, payload FROM change_log WHERE entity = 'member_tier'", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap();
    assert_eq!((entity_id.as_str(), op.as_str(), subject.as_str()), (a.id.as_str(), "raise", a.id.as_str()));
    let data: serde_json::Value = serde_json::from_str::<serde_json::Value>(&payload).unwrap()["data"].clone();
    // The whole row as it now stands: every column of member_tiers.
    let columns: Vec<String> = c.raw().prepare("SELECT name FROM pragma_table_info('member_tiers')").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    for col in &columns {
        assert!(data.get(col).is_some(), "payload lacks {col}: {data}");
    }
    assert_eq!((data["level"].as_i64(), data["name_zh"].as_str(), data["value"].as_i64(), data["discount_permille"].as_i64()), (Some(2), Some("银卡"), Some(600_000), Some(30)));
    // Again: nothing changes, nothing is written (and a payment within the tier writes none).
    let before = c.log_len();
    assert_eq!(c.core.tiers_evaluate(&c.admin).unwrap().changed, 0);
    assert_eq!(c.core.tiers_evaluate_scheduled().unwrap().changed, 0);
    assert_eq!(c.log_len(), before);
    let before_tiers = tier_log(&c);
    pay(&c, &ka, "100");
    assert_eq!(tier_log(&c), before_tiers, "still silver: no tier entry");
    // Editing the table (silver's discount) changes its members at the next evaluation.
    let mut cfg = spend_table();
    cfg.tiers[1].discount_percent = "4".into();
    configure(&c, cfg);
    let run = c.core.tiers_evaluate(&c.admin).unwrap();
    assert_eq!((run.changed, run.raised, run.lowered), (1, 0, 0));
    assert_eq!(c.core.member_tier(&c.clerk, &a.id).unwrap().tier.unwrap().discount_permille, 40);
    let op: String = c.raw().query_row("SELECT op FROM change_log WHERE entity = 'member_tier' ORDER BY seq DESC LIMIT 1", [], |r| r.get(0)).unwrap();
    assert_eq!(op, "update");
    // The stored rows are exactly what the log's last payload per member says.
    let logged: String = c.raw().query_row("SELECT payload FROM change_log WHERE entity = 'member_tier' ORDER BY seq DESC LIMIT 1", [], |r| r.get(0)).unwrap();
    let logged: serde_json::Value = serde_json::from_str::<serde_json::Value>(&logged).unwrap()["data"].clone();
    let stored: (i64, i64, String) = c.raw().query_row("SELECT level, discount_permille, since FROM member_tiers WHERE member_id = ?1", [&a.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    assert_eq!((logged["level"].as_i64().unwrap(), logged["discount_permille"].as_i64().unwrap(), logged["since"].as_str().unwrap().to_string()), stored);
    let _ = b;
}

#[test]
fn the_tier_discount_is_suggested_on_a_contract_half_up_to_the_fen() {
    let c = centre();
    configure(&c, spend_table());
    let m = member(&c, "折扣");
    pay(&c, &contract(&c, &m), "20000");
    assert_eq!(tier(&c, &m), "铂金卡");
    // ¥1,999.90 × 7.5 % = ¥149.9925 → ¥149.99; due ¥1,849.91.
    let pkg = c.lesson_package(24, "1999.90");
    let q = c.core.tier_discount(&c.clerk, &m.id, &pkg.id).unwrap();
    assert_eq!((q.list_price, q.discount, q.amount_due), (Money::from_fen(199_990), Money::from_fen(14_999), Money::from_fen(184_991)));
    // The clerk keeps the suggestion: the contract is sold at it and paid in full.
    let k = enrol(&c, &m, &pkg.id, &q.discount.to_string());
    assert_eq!((k.contract.discount, k.contract.amount_due), (q.discount, q.amount_due));
    pay(&c, &k.contract.id, &q.amount_due.to_string());
    assert_eq!(c.core.contract_get(&c.clerk, &k.contract.id).unwrap().balance_due, Money::ZERO);
    // Half a fen rounds up: ¥10.10 at 5 % (gold) is 50.5 fen → ¥0.51.
    let mut cfg = spend_table();
    cfg.tiers[3].discount_percent = "5".into();
    configure(&c, cfg);
    c.core.tiers_evaluate(&c.admin).unwrap();
    let small = c.lesson_package(1, "10.10");
    let q = c.core.tier_discount(&c.clerk, &m.id, &small.id).unwrap();
    assert_eq!((q.discount, q.amount_due), (Money::from_fen(51), Money::from_fen(959)));
    // No tier: no discount.
    let n = member(&c, "无等级");
    let q = c.core.tier_discount(&c.clerk, &n.id, &pkg.id).unwrap();
    assert_eq!((q.tier, q.discount, q.amount_due), (None, Money::ZERO, Money::from_fen(199_990)));
}

#[test]
fn the_birthday_greeting_differs_by_tier_and_old_templates_stay_valid() {
    let c = centre();
    configure(&c, spend_table());
    let gold = member(&c, "金宝");
    let plain = member(&c, "普通");
    pay(&c, &contract(&c, &gold), "12000");
    for m in [&gold, &plain] {
        c.raw().execute("UPDATE members SET birthday = '2016-11-25' WHERE id = ?1", [&m.id]).unwrap();
    }
    assert_eq!(c.core.notify_scan().unwrap(), 2);
    let texts: Vec<(String, String)> = c.core.outbox(&c.clerk, None, 10).unwrap().into_iter().filter(|n| n.kind == "birthday").map(|n| (n.member_id.unwrap_or_default(), n.text)).collect();
    let text_of = |m: &Member| texts.iter().find(|(id, _)| *id == m.id).unwrap().1.clone();
    assert_eq!(text_of(&gold), "【测试跆拳道馆】金宝，生日快乐！测试跆拳道馆全体老师祝你新的一岁健康成长、天天进步！金卡会员本月到店可领取生日礼物一份。");
    assert_eq!(text_of(&plain), "【测试跆拳道馆】普通，生日快乐！测试跆拳道馆全体老师祝你新的一岁健康成长、天天进步！", "no tier: the greeting as before");

    // A manager's template may name the tier; one written before tiers still saves.
    c.core.notice_template_set(&c.admin, "birthday", Lang::ZhCn, "{member}生日快乐！").unwrap();
    c.core.notice_template_set(&c.admin, "birthday", Lang::ZhCn, "尊敬的{tier}会员{member}，生日快乐！{tier_wish}").unwrap();
    assert!(c.core.notice_template_set(&c.admin, "birthday", Lang::ZhCn, "{level}").is_err(), "unknown placeholders are still refused");
    // In English, next year: the tier's English name and wish.
    c.core.notice_template_set(&c.admin, "birthday", Lang::En, "Dear {tier} member {member}: happy birthday!{tier_wish}").unwrap();
    c.raw().execute("INSERT INTO settings (key, value) VALUES ('notice_lang', 'en') ON CONFLICT(key) DO UPDATE SET value = excluded.value", []).unwrap();
    on(&c, "2027-11-25");
    pay(&c, &contract(&c, &gold), "10000");
    assert_eq!(c.core.notify_scan().unwrap(), 2);
    let en = c.core.outbox(&c.clerk, None, 10).unwrap().into_iter().find(|n| n.kind == "birthday" && n.member_id.as_deref() == Some(&gold.id)).unwrap().text;
    assert_eq!(en, "Dear Gold member 金宝: happy birthday! As a Gold member, collect a birthday gift at the desk this month.");
}

#[test]
fn the_table_is_checked_field_by_field_in_both_languages() {
    let c = centre();
    let bad = |cfg: TierConfig| match c.core.tier_config_update(&c.admin, cfg).unwrap_err() {
        e @ CoreError::Validation { .. } => (e.field(), e.message(Lang::ZhCn), e.message(Lang::En)),
        other => panic!("{other:?}"),
    };
    let with = |f: &dyn Fn(&mut TierConfig)| {
        let mut cfg = spend_table();
        f(&mut cfg);
        cfg
    };
    let (field, zh, en) = bad(with(&|t| t.tiers[2].threshold = "5000".into()));
    assert_eq!(field, Some(Field::TierThreshold));
    assert_eq!(zh, "等级门槛：「金卡」的门槛应高于下一级「银卡」");
    assert_eq!(en, "Tier threshold of \"金卡\" must be higher than that of \"银卡\" below it");
    assert_eq!(bad(with(&|t| t.tiers[1].discount_percent = "60".into())).1, "等级折扣（%）：应在 0 到 50 之间");
    assert_eq!(bad(with(&|t| t.tiers[1].discount_percent = "7.55".into())).0, Some(Field::TierDiscount));
    assert_eq!(bad(with(&|t| t.tiers[1].threshold = "abc".into())).0, Some(Field::TierThreshold));
    assert_eq!(bad(with(&|t| t.tiers[1].threshold = "-1".into())).0, Some(Field::TierThreshold));
    assert_eq!(bad(with(&|t| t.tiers[1].name_zh = " ".into())).1, "等级名称：必填");
    assert_eq!(bad(with(&|t| t.tiers[1].name_zh = "铜卡".into())).2, "Tier name has \"铜卡\" twice");
    assert_eq!(bad(with(&|t| t.period_months = 0)).1, "统计周期（月）：应在 1 到 36 之间");
    assert_eq!(bad(with(&|t| t.basis = "visits".into())).0, Some(Field::TierBasis));
    assert_eq!(bad(with(&|t| t.tiers = (0..9).map(|i| def(&format!("级{i}"), "", &(i * 100).to_string(), "")).collect())).1, "会员等级：最多 8 项");
    // Points thresholds are whole points.
    assert_eq!(bad(with(&|t| { t.basis = "points".into(); t.tiers[0].threshold = "10.5".into(); })).0, Some(Field::TierThreshold));
    assert_eq!(c.count("SELECT COUNT(*) FROM settings WHERE key = 'tiers'"), 0, "nothing half-saved");
    // Saved normalised: full-width digits, trailing zeros, a percent sign.
    let saved = c.core.tier_config_update(&c.admin, with(&|t| { t.tiers[1].threshold = "５０００.00".into(); t.tiers[3].discount_percent = "7.5%".into(); t.tiers[0].name_zh = " 铜卡 ".into(); })).unwrap();
    assert_eq!((saved.tiers[1].threshold.as_str(), saved.tiers[3].discount_percent.as_str(), saved.tiers[0].name_zh.as_str()), ("5000.00", "7.5", "铜卡"));
    assert_eq!(c.core.tier_config(&c.clerk).unwrap(), saved);
}

#[test]
fn points_earned_not_spent_count_on_the_points_basis() {
    let c = centre();
    configure(
        &c,
        TierConfig { basis: "points".into(), period_months: 6, tiers: vec![def("一星", "1 star", "100", "2"), def("二星", "2 stars", "500", "5")] },
    );
    let m = member(&c, "积分");
    c.core.points_award(&c.admin, centredesk_core::points::PointsAward { member_id: m.id.clone(), points: 500, reason: "比赛获奖".into() }).unwrap();
    c.core.tiers_evaluate(&c.admin).unwrap();
    assert_eq!(tier(&c, &m), "二星");
    // Spending points on goods does not lower the tier; a manual deduction does.
    c.raw()
        .execute(
            "INSERT INTO points_ledger (id, member_id, delta, kind, reason, ref_id, staff_id, at, business_date) VALUES ('x1', ?1, -300, 'redeem', '水', NULL, NULL, '2026-11-25T02:00:00.000Z', '2026-11-25')",
            [&m.id],
        )
        .unwrap();
    assert_eq!(c.core.tiers_evaluate(&c.admin).unwrap().changed, 0);
    c.core.points_award(&c.admin, centredesk_core::points::PointsAward { member_id: m.id.clone(), points: -100, reason: "录错".into() }).unwrap();
    c.core.tiers_evaluate(&c.admin).unwrap();
    assert_eq!(tier(&c, &m), "一星");
    // Six months on, the points have left the period.
    on(&c, "2027-05-25");
    c.core.tiers_evaluate_scheduled().unwrap();
    assert_eq!(tier(&c, &m), "");
}

#[test]
fn only_the_manager_sets_and_re_evaluates_tiers_and_every_role_sees_them() {
    let c = centre();
    let m = member(&c, "权限");
    let pkg = c.lesson_package(10, "1000");
    for s in [&c.clerk, &c.coach, &c.consultant] {
        assert_eq!(c.core.tier_config_update(s, spend_table()).unwrap_err().code(), "forbidden");
        assert_eq!(c.core.tiers_evaluate(s).unwrap_err().code(), "forbidden");
        c.core.tier_config(s).unwrap();
        c.core.member_tier(s, &m.id).unwrap();
        c.core.tier_discount(s, &m.id, &pkg.id).unwrap();
    }
    assert_eq!(c.count("SELECT COUNT(*) FROM settings WHERE key = 'tiers'"), 0);
    assert_eq!(c.core.member_tier(&c.clerk, "no-such-member").unwrap_err().code(), "not_found");
}
