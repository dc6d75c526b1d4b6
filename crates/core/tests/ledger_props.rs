//! Property: whatever sequence of payments, refused over-payments and reversals the
//! desk makes, the ledger and the balance agree to the fen, the balance never goes
//! below zero, and the change log holds one entry per ledger row.

use crate::common;

use centredesk_core::contracts::EnrolInput;
use centredesk_core::payments::PaymentInput;
use centredesk_core::Money;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[derive(Debug, Clone)]
enum Step {
    Pay(i64),
    ReverseNth(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1i64..300_000).prop_map(Step::Pay),
        1 => (0usize..8).prop_map(Step::ReverseNth),
    ]
}

#[test]
fn ledger_and_balance_always_agree() {
    let c = common::centre();
    let pkg = c.lesson_package(48, "4800");
    let mut runner = TestRunner::new(Config { cases: 48, ..Config::default() });
    let counter = std::cell::Cell::new(0usize);
    runner
        .run(&proptest::collection::vec(step(), 1..12), |steps| {
            counter.set(counter.get() + 1);
            let case = counter.get();
            let m = c.member(&format!("属性{}", "甲乙丙丁戊己庚辛壬癸".chars().nth(case % 10).unwrap()), &format!("138{:08}", case));
            let k = c
                .core
                .contract_enrol(&c.clerk, EnrolInput { member_id: m.id.clone(), package_id: pkg.id.clone(), discount: String::new(), start_date: None, consultant_id: None, renewal_of: None, notes: String::new() })
                .unwrap();
            let due = k.contract.amount_due;
            let mut accepted: Vec<(String, Money)> = vec![];
            let mut reversed = std::collections::HashSet::new();
            let mut model_paid = Money::ZERO;
            for s in steps {
                match s {
                    Step::Pay(fen) => {
                        let amount = Money::from_fen(fen);
                        let r = c.core.payment_take(&c.clerk, PaymentInput { contract_id: k.contract.id.clone(), amount: amount.to_string(), method: "cash".into(), note: String::new() }, centredesk_core::Lang::ZhCn);
                        if model_paid + amount <= due {
                            let r = r.unwrap();
                            model_paid += amount;
                            prop_assert_eq!(r.balance_due, Some(due - model_paid));
                            accepted.push((r.payment.id, amount));
                        } else {
                            prop_assert!(r.is_err(), "over-payment accepted");
                        }
                    }
                    Step::ReverseNth(n) => {
                        if let Some((id, amount)) = accepted.get(n).cloned() {
                            let r = c.core.payment_reverse(&c.admin, &id, "测试冲正");
                            if reversed.insert(id) {
                                r.unwrap();
                                model_paid = model_paid - amount;
                            } else {
                                prop_assert!(r.is_err(), "double reversal accepted");
                            }
                        }
                    }
                }
            }
            let view = c.core.contract_get(&c.clerk, &k.contract.id).unwrap();
            prop_assert_eq!(view.paid, model_paid);
            prop_assert_eq!(view.balance_due, due - model_paid);
            prop_assert!(!view.balance_due.is_negative());
            let ledger: i64 = c.raw().query_row("SELECT COALESCE(SUM(amount), 0) FROM payments WHERE contract_id = ?1", [&k.contract.id], |r| r.get(0)).unwrap();
            prop_assert_eq!(ledger, model_paid.fen());
            let rows: i64 = c.raw().query_row("SELECT COUNT(*) FROM payments WHERE contract_id = ?1", [&k.contract.id], |r| r.get(0)).unwrap();
            let logged: i64 = c
                .raw()
                .query_row("SELECT COUNT(*) FROM change_log WHERE entity = 'payment' AND json_extract(payload, '$.data.contract_id') = ?1", [&k.contract.id], |r| r.get(0))
                .unwrap();
            prop_assert_eq!(rows, logged);
            Ok(())
        })
        .unwrap();
}
